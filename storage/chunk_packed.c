/*
 * chunk_packed: the packed encoding (CHUNK_ENC_PACKED), planned for each
 * chunk from its samples.
 *
 * Timestamps: monitoring samples arrive on a schedule, so each timestamp
 * is predicted, either from the previous one plus a typical delta or from
 * a grid (first + i * step), and only the residuals are coded; the plan
 * keeps whichever is smaller.  The first and last timestamps are in the
 * header and cost nothing here.
 *
 * Values: most monitoring values are integers or short decimals.  When a
 * chunk's values are k / 10^e for one e, they become integers, coded raw,
 * as deltas or as deltas of deltas (divided by their common divisor:
 * byte counts move in pages), again the smallest of the three; values
 * that are not such decimals (NaN, -0.0, long fractions) are exceptions,
 * XOR-coded among themselves behind an escape code.  When that does not
 * pay, values are XOR-coded as Gorilla does.  Decoding a decimal is the
 * IEEE division m / 10^e, correctly rounded, which is what strtod makes
 * of the decimal text, so the bits come back exact; the planner checks
 * every value with that very division.
 *
 * Residual streams use the bucket prefix code of intcode.h; timestamp and
 * value codes of a sample are interleaved so that one bit reader walks
 * the chunk.  storage/FORMAT.md draws the layout.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"
#include "storage/bitstream.h"
#include "storage/intcode.h"
#include "storage/chunk.h"
#include "storage/chunk_int.h"

#define TMODE_DELTA	0
#define TMODE_GRID	1
#define VMODE_XOR	0
#define VMODE_DEC	1
#define VMODE_BITS	2
#define VXF_RAW		0
#define VXF_DELTA	1
#define VXF_DOD		2
#define DEC_EMAX	18
#define DEC_LIMIT	9007199254740992.0	/* 2^53 */

static const double p10[DEC_EMAX + 1] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
	1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
};

struct tplan {
	int		 mode;
	uint64_t	 step, base;
	struct icode	 ic;
	uint64_t	 bits;
};

struct vplan {
	int		 mode;
	unsigned	 e;
	int		 xf;
	uint64_t	 g;
	int64_t		 base, minit, dinit;
	struct icode	 ic;
	uint64_t	 bits;
};

struct packed_plan {
	const int64_t	*t;
	const double	*v;
	size_t		 n, cap;

	struct tplan	 tp;
	struct vplan	 vp;
	uint64_t	*tz, *tzc;	/* timestamp codes: best, candidate */
	uint64_t	*vz, *vzc;	/* value codes of non-exceptions */
	uint8_t		*vesc, *vescc;	/* exception flags */
	int8_t		*ve;		/* smallest exponent of each value */
	int64_t		*vm;		/* integers at the exponent tried */
	int64_t		*sx;		/* scratch: residuals */
	int64_t		*sq;		/* scratch: median */
};

static uint64_t
zz(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t
unzz(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static unsigned
bitlen(uint64_t v)
{
	return v == 0 ? 0 : 64 - (unsigned)__builtin_clzll(v);
}

/* A length-prefixed integer: 7 bits of length, then the bits. */
static unsigned
bl_bits(uint64_t v)
{
	return 7 + bitlen(v);
}

static void
bl_put(struct bitw *w, uint64_t v)
{
	bitw_write(w, bitlen(v), 7);
	bitw_write(w, v, bitlen(v));
}

static uint64_t
bl_get(struct bitr *r, int *bad)
{
	unsigned	n = (unsigned)bitr_read(r, 7);

	if (n > 64) {
		*bad = 1;
		return 0;
	}
	return bitr_readn(r, n);
}

static uint64_t
dbits(double v)
{
	uint64_t	b;

	memcpy(&b, &v, sizeof(b));
	return b;
}

static double
bitsd(uint64_t b)
{
	double	v;

	memcpy(&v, &b, sizeof(v));
	return v;
}

/* Quickselect: the median of a[0..n-1], which it reorders; n >= 1. */
static int64_t
median(int64_t *a, size_t n)
{
	size_t	lo = 0, hi = n - 1, k = n / 2, i, j;
	int64_t	pivot, tmp;

	while (lo < hi) {
		pivot = a[lo + (hi - lo) / 2];
		i = lo;
		j = hi;
		while (i <= j) {
			while (a[i] < pivot)
				i++;
			while (a[j] > pivot)
				j--;
			if (i <= j) {
				tmp = a[i];
				a[i] = a[j];
				a[j] = tmp;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return a[k];
}

static uint64_t
gcd64(uint64_t a, uint64_t b)
{
	unsigned	shift;

	if (a == 0)
		return b;
	if (b == 0)
		return a;
	shift = (unsigned)__builtin_ctzll(a | b);
	a >>= __builtin_ctzll(a);
	do {
		b >>= __builtin_ctzll(b);
		if (a > b) {
			uint64_t t = a;

			a = b;
			b = t;
		}
		b -= a;
	} while (b != 0);
	return a << shift;
}

static uint64_t
mag(int64_t x)
{
	return x < 0 ? -(uint64_t)x : (uint64_t)x;
}

/*
 * The smallest e for which v is exactly m / 10^e with |m| < 2^53, with m;
 * -1 when there is none (NaN, infinities, -0.0, long fractions).
 */
static int
dec_exp(double v, int64_t *m)
{
	double		x;
	int64_t		k;
	unsigned	e;

	if (v == 0) {
		*m = 0;
		return signbit(v) ? -1 : 0;
	}
	if (!isfinite(v))
		return -1;
	for (e = 0; e <= DEC_EMAX; e++) {
		x = v * p10[e];
		if (!(fabs(x) < DEC_LIMIT))
			return -1;
		k = (int64_t)nearbyint(x);
		if ((double)k / p10[e] == v) {
			*m = k;
			return (int)e;
		}
	}
	return -1;
}

/* v as m / 10^e exactly, at a given e. */
static int
dec_at(double v, unsigned e, int64_t *m)
{
	double	x;
	int64_t	k;

	if (v == 0) {
		*m = 0;
		return signbit(v) ? -1 : 0;
	}
	x = v * p10[e];
	if (!(fabs(x) < DEC_LIMIT))
		return -1;
	k = (int64_t)nearbyint(x);
	if ((double)k / p10[e] != v)
		return -1;
	*m = k;
	return 0;
}

struct packed_plan *
packed_plan_new(void)
{
	return xcalloc(1, sizeof(struct packed_plan));
}

void
packed_plan_free(struct packed_plan *p)
{
	if (p == NULL)
		return;
	free(p->tz);
	free(p->tzc);
	free(p->vz);
	free(p->vzc);
	free(p->vesc);
	free(p->vescc);
	free(p->ve);
	free(p->vm);
	free(p->sx);
	free(p->sq);
	free(p);
}

static void
plan_grow(struct packed_plan *p, size_t n)
{
	if (p->cap >= n)
		return;
	p->cap = n;
	p->tz = xreallocarray(p->tz, n, sizeof(*p->tz));
	p->tzc = xreallocarray(p->tzc, n, sizeof(*p->tzc));
	p->vz = xreallocarray(p->vz, n, sizeof(*p->vz));
	p->vzc = xreallocarray(p->vzc, n, sizeof(*p->vzc));
	p->vesc = xreallocarray(p->vesc, n, 1);
	p->vescc = xreallocarray(p->vescc, n, 1);
	p->ve = xreallocarray(p->ve, n, 1);
	p->vm = xreallocarray(p->vm, n, sizeof(*p->vm));
	p->sx = xreallocarray(p->sx, n, sizeof(*p->sx));
	p->sq = xreallocarray(p->sq, n, sizeof(*p->sq));
}

static void
swap_u64(uint64_t **a, uint64_t **b)
{
	uint64_t	*t = *a;

	*a = *b;
	*b = t;
}

/*
 * Timestamps 1 .. n-2 as residuals x[] against a prediction; base is
 * their median and the codes zigzag(x - base).  Keeps the candidate when
 * it beats p->tp.
 */
static void
plan_times_try(struct packed_plan *p, int mode, uint64_t step)
{
	size_t		i, m = p->n - 2;
	struct tplan	c;
	int64_t		base;
	uint64_t	first = (uint64_t)p->t[0];

	for (i = 1; i <= m; i++) {
		if (mode == TMODE_DELTA)
			p->sx[i - 1] = (int64_t)((uint64_t)p->t[i] -
			    (uint64_t)p->t[i - 1]);
		else
			p->sx[i - 1] = (int64_t)((uint64_t)p->t[i] - first -
			    (uint64_t)i * step);
	}
	memcpy(p->sq, p->sx, m * sizeof(*p->sq));
	base = median(p->sq, m);
	for (i = 0; i < m; i++)
		p->tzc[i] = zz((int64_t)((uint64_t)p->sx[i] - (uint64_t)base));
	c.mode = mode;
	c.step = step;
	c.base = (uint64_t)base;
	c.bits = icode_plan(&c.ic, p->tzc, m, 0);
	c.bits += 2 + bl_bits(zz(base));
	if (mode == TMODE_GRID)
		c.bits += bl_bits(step);
	if (p->tp.bits == 0 || c.bits < p->tp.bits) {
		p->tp = c;
		swap_u64(&p->tz, &p->tzc);
	}
}

static void
plan_times(struct packed_plan *p)
{
	size_t		n = p->n, m, i;
	uint64_t	span, step;

	p->tp.bits = 0;
	if (n < 3)
		return;
	/* the median delta (over 1..n-1) is the natural grid step */
	for (i = 1; i < n; i++)
		p->sq[i - 1] = (int64_t)((uint64_t)p->t[i] -
		    (uint64_t)p->t[i - 1]);
	step = (uint64_t)median(p->sq, n - 1);
	plan_times_try(p, TMODE_DELTA, 0);
	plan_times_try(p, TMODE_GRID, step);
	/* and the slope from first to last, for clocks that drift */
	span = (uint64_t)p->t[n - 1] - (uint64_t)p->t[0];
	m = n - 1;
	span = span / m + ((span % m) * 2 >= m);
	if (span != step)
		plan_times_try(p, TMODE_GRID, span);
}

/* Bits of the XOR coding of every value, from 0. */
static uint64_t
xor_bits(const double *v, size_t n)
{
	struct chunk_xor	st;
	uint64_t		bits = 0;
	size_t			i;

	xor_init(&st, 0);
	for (i = 0; i < n; i++)
		bits += xor_cost(&st, dbits(v[i]));
	return bits;
}

/*
 * With the integers of the non-exceptions in vm[0..nn-1] (exception
 * flags in vescc, escbits the cost of their XOR chain), try one
 * transform and keep it when it beats p->vp.
 */
static void
plan_values_xf(struct packed_plan *p, int mode, unsigned e, int xf,
    size_t nn, size_t nesc, uint64_t escbits)
{
	struct vplan	c;
	size_t		j, k0 = xf == VXF_RAW ? 0 : (xf == VXF_DELTA ? 1 : 2);
	uint64_t	g = 0, bg, d0, d1;
	int64_t		base = 0;
	const uint64_t	*m = (const uint64_t *)p->vm;

	/*
	 * Arithmetic modulo 2^64 throughout, as the decoder's: raw bit
	 * patterns (VMODE_BITS) overflow int64 differences.
	 */
	if (nn < k0 + 1 && xf != VXF_RAW)
		return;
	for (j = k0; j < nn; j++) {
		switch (xf) {
		case VXF_RAW:
			p->sx[j] = (int64_t)m[j];
			break;
		case VXF_DELTA:
			p->sx[j] = (int64_t)(m[j] - m[j - 1]);
			break;
		default:
			p->sx[j] = (int64_t)((m[j] - m[j - 1]) -
			    (m[j - 1] - m[j - 2]));
			break;
		}
		/* cheap cases first: runs of equal or zero residuals */
		if (g != 1 && p->sx[j] != 0 && mag(p->sx[j]) != g)
			g = gcd64(g, mag(p->sx[j]));
	}
	if (g == 0)
		g = 1;
	if (g > 1) {
		/* exact: g divides every residual (2^63 only INT64_MIN) */
		for (j = k0; j < nn; j++) {
			if (g == (uint64_t)1 << 63)
				p->sx[j] = p->sx[j] != 0;
			else
				p->sx[j] /= (int64_t)g;
		}
	}
	if (nn > k0) {
		memcpy(p->sq, p->sx + k0, (nn - k0) * sizeof(*p->sq));
		base = median(p->sq, nn - k0);
	}
	for (j = 0; j < k0 && j < nn; j++)
		p->vzc[j] = 0;
	for (j = k0; j < nn; j++)
		p->vzc[j] = zz((int64_t)((uint64_t)p->sx[j] - (uint64_t)base));
	c.mode = mode;
	c.e = e;
	c.xf = xf;
	c.g = g;
	c.base = base;
	c.minit = c.dinit = 0;
	bg = (uint64_t)base * g;
	if (xf == VXF_DELTA && nn > 0)
		c.minit = (int64_t)(m[0] - bg);
	if (xf == VXF_DOD && nn > 1) {
		d1 = m[1] - m[0];
		d0 = d1 - bg;
		c.dinit = (int64_t)(d0 - bg);
		c.minit = (int64_t)(m[0] - d0);
	}
	c.bits = icode_plan(&c.ic, p->vzc, nn, nesc);
	c.bits += 2 + 2 + bl_bits(g) + bl_bits(zz(base)) + escbits;
	if (mode == VMODE_DEC)
		c.bits += 5;
	if (xf >= VXF_DELTA)
		c.bits += bl_bits(zz(c.minit));
	if (xf == VXF_DOD)
		c.bits += bl_bits(zz(c.dinit));
	if (c.bits < p->vp.bits) {
		uint8_t *t = p->vesc;

		p->vp = c;
		swap_u64(&p->vz, &p->vzc);
		p->vesc = p->vescc;
		p->vescc = t;
		/* the other transforms of this e need the same flags */
		memcpy(p->vescc, p->vesc, p->n);
	}
}

static void
plan_values_e(struct packed_plan *p, unsigned e)
{
	struct chunk_xor	st;
	size_t			i, nn = 0, nesc = 0;
	uint64_t		escbits = 0;
	int64_t			m;

	xor_init(&st, 0);
	for (i = 0; i < p->n; i++) {
		if (p->ve[i] >= 0 && (unsigned)p->ve[i] <= e &&
		    dec_at(p->v[i], e, &m) == 0) {
			p->vescc[i] = 0;
			p->vm[nn++] = m;
		} else {
			p->vescc[i] = 1;
			nesc++;
			escbits += xor_cost(&st, dbits(p->v[i]));
		}
	}
	plan_values_xf(p, VMODE_DEC, e, VXF_RAW, nn, nesc, escbits);
	plan_values_xf(p, VMODE_DEC, e, VXF_DELTA, nn, nesc, escbits);
	plan_values_xf(p, VMODE_DEC, e, VXF_DOD, nn, nesc, escbits);
}

/*
 * Values that are not decimals (sums of durations, ratios): their bit
 * patterns as integers.  Close doubles of one sign have close patterns,
 * so a slowly moving series has small deltas where XOR would spend the
 * changing low bits of the mantissa.
 */
static void
plan_values_bits(struct packed_plan *p)
{
	size_t	i;

	for (i = 0; i < p->n; i++) {
		p->vm[i] = (int64_t)dbits(p->v[i]);
		p->vescc[i] = 0;
	}
	plan_values_xf(p, VMODE_BITS, 0, VXF_DELTA, p->n, 0, 0);
	plan_values_xf(p, VMODE_BITS, 0, VXF_DOD, p->n, 0, 0);
}

static void	plan_values_dec(struct packed_plan *);

static void
plan_values(struct packed_plan *p)
{
	p->vp.mode = VMODE_XOR;
	p->vp.bits = 2 + xor_bits(p->v, p->n);
	plan_values_dec(p);
	/* when some values are not decimals, try their bit patterns */
	if (p->vp.mode == VMODE_XOR || p->vp.ic.esc)
		plan_values_bits(p);
}

static void
plan_values_dec(struct packed_plan *p)
{
	size_t		i, ndec = 0, hist[DEC_EMAX + 1], cum;
	unsigned	emax = 0, e90 = 0, e;
	int64_t		m;

	memset(hist, 0, sizeof(hist));
	for (i = 0; i < p->n; i++) {
		p->ve[i] = (int8_t)dec_exp(p->v[i], &m);
		if (p->ve[i] >= 0) {
			hist[p->ve[i]]++;
			ndec++;
			if ((unsigned)p->ve[i] > emax)
				emax = (unsigned)p->ve[i];
		} else if (i == 15 && ndec == 0) {
			/* not decimals: spare the search on the rest */
			return;
		}
	}
	if (ndec == 0)
		return;
	for (e = 0, cum = 0; e <= DEC_EMAX; e++) {
		cum += hist[e];
		if (cum * 10 >= ndec * 9) {
			e90 = e;
			break;
		}
	}
	plan_values_e(p, emax);
	if (e90 != emax)
		plan_values_e(p, e90);
}

/* Search the codes of the streams chosen harder. */
static void
refine(struct packed_plan *p)
{
	uint64_t	before, after;
	size_t		i, nn = 0, nesc = 0;

	if (p->n >= 3) {
		after = icode_refine(&p->tp.ic, p->tz, p->n - 2, 0, &before);
		p->tp.bits -= before - after;
	}
	if (p->vp.mode != VMODE_XOR) {
		for (i = 0; i < p->n; i++) {
			if (p->vesc[i])
				nesc++;
			else
				nn++;
		}
		after = icode_refine(&p->vp.ic, p->vz, nn, nesc, &before);
		p->vp.bits -= before - after;
	}
}

/* The timestamp section: its byte length, then its bytes. */
static uint64_t
tsec_bits(const struct packed_plan *p)
{
	uint64_t	bytes = (p->tp.bits + 7) / 8, lenbytes = 1;

	if (p->n < 3)
		return 0;
	while (bytes >> (7 * lenbytes) != 0)
		lenbytes++;
	return 8 * (lenbytes + bytes);
}

uint64_t
packed_plan(struct packed_plan *p, const int64_t *t, const double *v,
    size_t n)
{
	plan_grow(p, n);
	p->t = t;
	p->v = v;
	p->n = n;
	plan_times(p);
	plan_values(p);
	refine(p);
	return tsec_bits(p) + p->vp.bits;
}

static void
write_times(const struct packed_plan *p, struct bitw *w)
{
	size_t	i;

	bitw_write(w, (uint64_t)p->tp.mode, 2);
	if (p->tp.mode == TMODE_GRID)
		bl_put(w, p->tp.step);
	bl_put(w, zz((int64_t)p->tp.base));
	icode_put_params(w, &p->tp.ic);
	for (i = 0; i + 2 < p->n; i++)
		icode_put(w, &p->tp.ic, p->tz[i]);
}

void
packed_write(struct packed_plan *p, struct bitw *w, int part)
{
	struct chunk_xor	 vx, ex;
	const struct vplan	*vp = &p->vp;
	struct bitw		 tw;
	uint8_t			*tb;
	size_t			 i, j = 0, tlen;

	if (part == PACKED_TIMES) {
		if (p->n >= 3)
			write_times(p, w);
		return;
	}
	if (part == PACKED_FULL && p->n >= 3) {
		bitw_init(&tw);
		write_times(p, &tw);
		tlen = bitw_nbytes(&tw);
		while (tlen >= 0x80) {
			bitw_write(w, (tlen & 0x7f) | 0x80, 8);
			tlen >>= 7;
		}
		bitw_write(w, tlen, 8);
		tb = xmalloc(bitw_nbytes(&tw) + 1);
		bitw_copy(&tw, tb);
		bitw_append(w, tb, bitw_nbytes(&tw));
		free(tb);
		bitw_free(&tw);
	}
	bitw_write(w, (uint64_t)vp->mode, 2);
	if (vp->mode != VMODE_XOR) {
		if (vp->mode == VMODE_DEC)
			bitw_write(w, vp->e, 5);
		bitw_write(w, (uint64_t)vp->xf, 2);
		bl_put(w, vp->g);
		bl_put(w, zz(vp->base));
		if (vp->xf >= VXF_DELTA)
			bl_put(w, zz(vp->minit));
		if (vp->xf == VXF_DOD)
			bl_put(w, zz(vp->dinit));
		icode_put_params(w, &vp->ic);
	}
	xor_init(&vx, 0);
	xor_init(&ex, 0);
	for (i = 0; i < p->n; i++) {
		if (vp->mode == VMODE_XOR)
			xor_put(w, &vx, dbits(p->v[i]));
		else if (p->vesc[i]) {
			icode_put_esc(w, &vp->ic);
			xor_put(w, &ex, dbits(p->v[i]));
		} else
			icode_put(w, &vp->ic, p->vz[j++]);
	}
}

/* The timestamp section's parameters, from it->tbr: 0, or -1. */
static int
times_params(struct chunk_iter *it)
{
	struct bitr	*tr = &it->tbr;
	int		 bad = 0;
	unsigned	 k;

	it->tmode = (uint8_t)bitr_read(tr, 2);
	if (it->tmode == TMODE_GRID)
		it->tstep = bl_get(tr, &bad);
	it->tbase = (uint64_t)unzz(bl_get(tr, &bad));
	if (bad || it->tmode > TMODE_GRID ||
	    icode_get_params(tr, &it->tdec) == -1)
		return -1;
	for (k = 0; k < 8; k++) {
		if (it->tdec.width[k] == ICODE_ESC)
			return -1;
	}
	return 0;
}

int
packed_iter_init(struct chunk_iter *it, const uint8_t *times, size_t tbytes)
{
	struct bitr	*br = &it->br, *tr = &it->tbr;
	int		 bad = 0;
	unsigned	 shift = 0;
	uint64_t	 tlen = 0, b;

	if (it->enc == CHUNK_ENC_SHARED && it->tt == NULL)
		bitr_init(tr, times, tbytes);
	if (it->n >= 3 && it->enc == CHUNK_ENC_PACKED) {
		/* the timestamp section's length, a varint at the start */
		do {
			b = bitr_read(br, 8);
			if (shift > 14)
				goto corrupt;
			tlen |= (b & 0x7f) << shift;
			shift += 7;
		} while ((b & 0x80) && !br->err);
		if (br->err || tlen > bitr_left(br) / 8)
			goto corrupt;
		/* the value section follows: split the byte range */
		bitr_init(tr, br->end - bitr_left(br) / 8, (size_t)tlen);
		bitr_init(br, tr->end, (size_t)(br->end - tr->end));
	}
	if (it->n >= 3 && it->tt == NULL && times_params(it) == -1)
		goto corrupt;
	it->vmode = (uint8_t)bitr_read(br, 2);
	xor_init(&it->vx, 0);
	xor_init(&it->ex, 0);
	if (it->vmode == VMODE_DEC || it->vmode == VMODE_BITS) {
		it->vexp = 0;
		if (it->vmode == VMODE_DEC)
			it->vexp = (uint8_t)bitr_read(br, 5);
		it->vxf = (uint8_t)bitr_read(br, 2);
		it->vgcd = bl_get(br, &bad);
		it->vbase = (uint64_t)unzz(bl_get(br, &bad));
		it->m = it->d = 0;
		if (it->vxf >= VXF_DELTA)
			it->m = (uint64_t)unzz(bl_get(br, &bad));
		if (it->vxf == VXF_DOD)
			it->d = (uint64_t)unzz(bl_get(br, &bad));
		if (bad || it->vexp > DEC_EMAX || it->vxf > VXF_DOD ||
		    it->vgcd == 0 || icode_get_params(br, &it->vdec) == -1)
			goto corrupt;
		it->vscale = p10[it->vexp];
	} else if (it->vmode != VMODE_XOR)
		goto corrupt;
	if (br->err || tr->err)
		return chunk_iter_fail(it, "chunk data truncated");
	return 0;
corrupt:
	if (br->err || tr->err)
		return chunk_iter_fail(it, "chunk data truncated");
	return chunk_iter_fail(it, "corrupt chunk parameters");
}

/* After the last sample: the timestamp section is used up too. */
int
packed_end(struct chunk_iter *it)
{
	size_t	left;

	if (it->n < 3 || it->tt != NULL)
		return 0;
	left = bitr_left(&it->tbr);
	if (left >= 8)
		return chunk_iter_fail(it, "chunk has trailing data");
	if (left > 0 && bitr_read(&it->tbr, (unsigned)left) != 0)
		return chunk_iter_fail(it, "chunk has nonzero padding");
	return 0;
}

/* The next timestamp, checked: 0, or -1. */
static int
times_next(struct chunk_iter *it, int64_t *t)
{
	uint64_t	 z, x;
	int64_t		 nt;

	if (it->tt != NULL)
		nt = it->tt[it->i];
	else if (it->i == 0)
		nt = it->first;
	else if (it->i + 1 == it->n)
		nt = it->last;
	else {
		icode_get(&it->tbr, &it->tdec, &z);
		if (it->tbr.err)
			return chunk_iter_fail(it, "chunk data truncated");
		x = (uint64_t)unzz(z) + it->tbase;
		if (it->tmode == TMODE_GRID)
			nt = (int64_t)((uint64_t)it->first +
			    (uint64_t)it->i * it->tstep + x);
		else
			nt = (int64_t)((uint64_t)it->t + x);
	}
	if (it->i > 0 && nt <= it->t && !it->br.err)
		return chunk_iter_fail(it, "chunk timestamps not increasing");
	*t = nt;
	return 0;
}

int
packed_next(struct chunk_iter *it, int64_t *t, double *v)
{
	struct bitr	*br = &it->br;
	uint64_t	 z, x;
	int64_t		 nt;

	if (times_next(it, &nt) == -1)
		return -1;
	it->t = nt;
	if (it->vmode == VMODE_XOR) {
		if (xor_get(br, &it->vx) == -1)
			return chunk_iter_fail(it, "corrupt chunk value window");
		*v = bitsd(it->vx.prev);
	} else if (icode_get(br, &it->vdec, &z) == 1) {
		if (xor_get(br, &it->ex) == -1)
			return chunk_iter_fail(it, "corrupt chunk value window");
		*v = bitsd(it->ex.prev);
	} else {
		x = ((uint64_t)unzz(z) + it->vbase) * it->vgcd;
		switch (it->vxf) {
		case VXF_RAW:
			it->m = x;
			break;
		case VXF_DELTA:
			it->m += x;
			break;
		default:
			it->d += x;
			it->m += it->d;
			break;
		}
		if (it->vmode == VMODE_BITS)
			*v = bitsd(it->m);
		else
			*v = (double)(int64_t)it->m / it->vscale;
	}
	if (br->err)
		return chunk_iter_fail(it, "chunk data truncated");
	*t = nt;
	return 1;
}

/*
 * A timestamp code of one symbol at most TAB_BITS wide: each of its
 * patterns as the residual it stands for, so that a timestamp costs a
 * shift and a load.
 */
#define TAB_BITS	6

static void
times_table(const struct icode_dec *td, uint64_t *tab)
{
	uint64_t	j, n = (uint64_t)1 << td->width[0];

	for (j = 0; j < n; j++)
		tab[j] = (uint64_t)unzz(j + td->lo[0]);
}

/*
 * What the scan loop leaves to the checked reader: an XOR-coded value
 * (VMODE_XOR) or exception, and codes wider than one refill.  Out of line
 * and on a copy of the reader, so that the loop's own reader never has
 * its address taken and stays in registers.
 */
static __attribute__((noinline)) uint64_t
slow_xor(struct bitr *vr, struct chunk_xor *st, int *badv)
{
	struct bitr	sr = *vr;

	*badv |= xor_get(&sr, st);
	*vr = sr;
	return st->prev;
}

static __attribute__((noinline)) int
slow_code(struct bitr *vr, const struct icode_dec *vd, uint64_t *z)
{
	struct bitr	sr = *vr;
	int		esc;

	esc = icode_get(&sr, vd, z);
	*vr = sr;
	return esc;
}

/*
 * The scan loop: samples strictly between the first and the last.  Each
 * iteration makes sure both readers hold a sample's worth of bits and
 * then reads codes unchecked, with the readers' state in locals (in
 * registers, not in the iterator).  It is instantiated for each timestamp
 * mode and kind, value mode and transform, and for codes wider than a
 * refill (wide), so that the compiler drops the untaken branches: the
 * fewer live values, the more of the readers' state and the integer the
 * compiler keeps in registers, which is most of the speed.  Returns how
 * many samples it stored; the chunk's ends are left to packed_next.
 */
static inline __attribute__((always_inline)) size_t
fast_loop(struct chunk_iter *it, int64_t *t, double *v, size_t max,
    const int grid, const int vm, const int xf, const int t1, const int wide,
    const int tc)
{
	struct bitr	 tr = it->tbr, vr = it->br, sr;
	const struct icode_dec *td = &it->tdec, *vd = &it->vdec;
	const unsigned	 tneed = td->maxtot, vneed = vd->maxtot;
	const unsigned	 tpeek = td->peek, vpeek = vd->peek;
	unsigned	 ti, vi, tot;
	uint64_t	 z, x, m = it->m, d = it->d;
	const uint64_t	 g = it->vgcd, tb = it->tbase, vb = it->vbase;
	const uint64_t	 step = it->tstep;
	/* grid: the next prediction, first + i * step + base */
	uint64_t	 gb = (uint64_t)it->first + it->i * step + tb;
	int64_t		 nt, pt = it->t;
	const double	 scale = it->vscale;
	size_t		 k, kmax = it->n - 1 - it->i;
	int		 bad = 0, badv = 0, esc;
	const int	 scaled = it->vexp != 0;
	/*
	 * A one-symbol timestamp code (t1) is plain bit-packing: the shift
	 * and the offset are the same for every sample, so the reader's next
	 * position does not wait for a table lookup.
	 */
	const unsigned	 tsh = 63 - td->width[0], ttot = td->tot[0];
	uint64_t	 r, ttab[1 << TAB_BITS];

	if (kmax > max)
		kmax = max;
	if (t1)
		times_table(td, ttab);
	for (k = 0; k < kmax; k++) {
		if (!tc && tr.n < tneed) {
			bitr_refill(&tr);
			if (tr.n < tneed)
				break;
		}
		if (vm != VMODE_XOR && !wide && vr.n < vneed) {
			bitr_refill(&vr);
			if (vr.n < vneed)
				break;
		}
		/*
		 * An exception ends the run before anything of its sample is
		 * read: packed_next takes it, so that no call (which would
		 * want the loop's state out of registers) is left here.
		 */
		vi = (unsigned)((vr.acc >> 1) >> (63 - vpeek));
		if (vm != VMODE_XOR && !wide &&
		    __builtin_expect(vd->width[vi] == ICODE_ESC, 0))
			break;
		if (!tc) {
			if (t1) {
				r = ttab[(tr.acc >> 1) >> tsh];
				tot = ttot;
			} else {
				ti = (unsigned)((tr.acc >> 1) >> (63 - tpeek));
				z = (((tr.acc << td->len[ti]) >> 1) >>
				    (63 - td->width[ti])) + td->lo[ti];
				tot = td->tot[ti];
				r = (uint64_t)unzz(z);
			}
			tr.acc <<= tot;
			tr.n -= tot;
			if (grid) {
				nt = (int64_t)(gb + r);
				gb += step;
			} else
				nt = (int64_t)((uint64_t)pt + tb + r);
			bad |= nt <= pt;
			t[k] = nt;
			pt = nt;
		}
		if (vm == VMODE_XOR) {
			sr = vr;
			v[k] = bitsd(slow_xor(&sr, &it->vx, &badv));
			vr = sr;
			continue;
		}
		esc = 0;
		if (wide) {
			sr = vr;
			esc = slow_code(&sr, vd, &z);
			vr = sr;
		} else {
			z = (((vr.acc << vd->len[vi]) >> 1) >>
			    (63 - vd->width[vi])) + vd->lo[vi];
			tot = vd->tot[vi];
			vr.acc <<= tot;
			vr.n -= tot;
		}
		if (wide && esc) {
			sr = vr;
			v[k] = bitsd(slow_xor(&sr, &it->ex, &badv));
			vr = sr;
			continue;
		}
		x = ((uint64_t)unzz(z) + vb) * g;
		if (xf == VXF_RAW)
			m = x;
		else if (xf == VXF_DELTA)
			m += x;
		else {
			d += x;
			m += d;
		}
		if (vm == VMODE_BITS)
			v[k] = bitsd(m);
		else if (scaled)
			v[k] = (double)(int64_t)m / scale;
		else
			v[k] = (double)(int64_t)m;
	}
	/* A decoded column: its timestamps were checked when it was. */
	if (tc && k > 0) {
		memcpy(t, it->tt + it->i, k * sizeof(*t));
		pt = t[k - 1];
	}
	it->tbr = tr;
	it->br = vr;
	it->m = m;
	it->d = d;
	it->t = pt;
	it->i += (uint32_t)k;
	if (bad)
		chunk_iter_fail(it, "chunk timestamps not increasing");
	else if (badv || vr.err)
		chunk_iter_fail(it, vr.err ? "chunk data truncated" :
		    "corrupt chunk value window");
	return k;
}

/*
 * Constant values (one symbol of no bits, raw integers: a third of
 * node_real's chunks) need no value reader at all: the loop decodes
 * timestamps and stores the one value.
 */
static inline __attribute__((always_inline)) size_t
const_loop(struct chunk_iter *it, int64_t *t, double *v, size_t max,
    const int grid, const int t1, const int tc, const int nov)
{
	struct bitr	 tr = it->tbr;
	const struct icode_dec *td = &it->tdec;
	const unsigned	 tneed = td->maxtot, tpeek = td->peek;
	const unsigned	 tsh = 63 - td->width[0], ttot = td->tot[0];
	const uint64_t	 tb = it->tbase, step = it->tstep;
	uint64_t	 z, r, m, gb = (uint64_t)it->first + it->i * step + tb;
	uint64_t	 ttab[1 << TAB_BITS];
	unsigned	 ti, tot;
	int64_t		 nt, pt = it->t;
	size_t		 k, kmax = it->n - 1 - it->i;
	double		 c;
	int		 bad = 0;

	m = ((uint64_t)unzz(it->vdec.lo[0]) + it->vbase) * it->vgcd;
	if (it->vmode == VMODE_BITS)
		c = bitsd(m);
	else
		c = (double)(int64_t)m / it->vscale;
	if (kmax > max)
		kmax = max;
	if (tc) {
		/* checked when the column was decoded */
		for (k = 0; k < kmax; k++)
			v[k] = c;
		if (kmax > 0) {
			memcpy(t, it->tt + it->i, kmax * sizeof(*t));
			it->t = t[kmax - 1];
		}
		it->m = m;
		it->i += (uint32_t)kmax;
		return kmax;
	}
	if (t1)
		times_table(td, ttab);
	for (k = 0; k < kmax; k++) {
		if (tr.n < tneed) {
			bitr_refill(&tr);
			if (tr.n < tneed)
				break;
		}
		if (t1) {
			r = ttab[(tr.acc >> 1) >> tsh];
			tot = ttot;
		} else {
			ti = (unsigned)((tr.acc >> 1) >> (63 - tpeek));
			z = (((tr.acc << td->len[ti]) >> 1) >>
			    (63 - td->width[ti])) + td->lo[ti];
			tot = td->tot[ti];
			r = (uint64_t)unzz(z);
		}
		tr.acc <<= tot;
		tr.n -= tot;
		if (grid) {
			nt = (int64_t)(gb + r);
			gb += step;
		} else
			nt = (int64_t)((uint64_t)pt + tb + r);
		bad |= nt <= pt;
		t[k] = nt;
		if (!nov)
			v[k] = c;
		pt = nt;
	}
	it->tbr = tr;
	it->m = m;
	it->t = pt;
	it->i += (uint32_t)k;
	if (bad)
		chunk_iter_fail(it, "chunk timestamps not increasing");
	return k;
}

#define FAST_G(m, x) do {						\
	if (tc && wide)							\
		return fast_loop(it, t, v, max, 0, m, x, 0, 1, 1);	\
	if (tc)								\
		return fast_loop(it, t, v, max, 0, m, x, 0, 0, 1);	\
	if (wide)							\
		return fast_loop(it, t, v, max, grid, m, x, 0, 1, 0);	\
	if (grid && t1)							\
		return fast_loop(it, t, v, max, 1, m, x, 1, 0, 0);	\
	if (grid)							\
		return fast_loop(it, t, v, max, 1, m, x, 0, 0, 0);	\
	return fast_loop(it, t, v, max, 0, m, x, 0, 0, 0);		\
} while (0)

static size_t
packed_fast(struct chunk_iter *it, int64_t *t, double *v, size_t max)
{
	const int	grid = it->tmode == TMODE_GRID;
	/* timestamps of one width: only worth a loop of their own on a grid */
	const int	t1 = it->tdec.peek == 0 && it->tdec.width[0] <= TAB_BITS;
	const int	wide = it->vmode != VMODE_XOR && it->vdec.maxtot > 56;
	const int	tc = it->tt != NULL;

	if (!tc && it->tdec.maxtot > 56)
		return 0;
	if (it->vmode != VMODE_XOR && it->vxf == VXF_RAW &&
	    it->vdec.peek == 0 && it->vdec.tot[0] == 0 &&
	    it->vdec.width[0] != ICODE_ESC) {
		if (tc)
			return const_loop(it, t, v, max, 0, 0, 1, 0);
		if (grid)
			return t1 ? const_loop(it, t, v, max, 1, 1, 0, 0) :
			    const_loop(it, t, v, max, 1, 0, 0, 0);
		return const_loop(it, t, v, max, 0, 0, 0, 0);
	}
	if (it->vmode == VMODE_XOR)
		FAST_G(VMODE_XOR, 0);
	switch (it->vmode * 4 + it->vxf) {
	case VMODE_DEC * 4 + VXF_RAW:
		FAST_G(VMODE_DEC, VXF_RAW);
	case VMODE_DEC * 4 + VXF_DELTA:
		FAST_G(VMODE_DEC, VXF_DELTA);
	case VMODE_DEC * 4 + VXF_DOD:
		FAST_G(VMODE_DEC, VXF_DOD);
	case VMODE_BITS * 4 + VXF_RAW:
		FAST_G(VMODE_BITS, VXF_RAW);
	case VMODE_BITS * 4 + VXF_DELTA:
		FAST_G(VMODE_BITS, VXF_DELTA);
	case VMODE_BITS * 4 + VXF_DOD:
		FAST_G(VMODE_BITS, VXF_DOD);
	}
	return 0;
}
#undef FAST_G

int
packed_batch(struct chunk_iter *it, int64_t *t, double *v, size_t max)
{
	size_t	k = 0, got;
	int	r;

	while (k < max) {
		if (it->i > 0 && it->i + 1 < it->n) {
			got = packed_fast(it, t + k, v + k, max - k);
			if (it->err)
				return -1;
			k += got;
			if (got > 0)
				continue;
		}
		r = chunk_iter_next(it, t + k, v + k);
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		k++;
	}
	return (int)k;
}

/*
 * A column alone: the same reads and checks as the timestamps of its
 * chunks' samples get from packed_next and packed_fast, without values
 * (const_loop with nov writes no value).
 */
static size_t
times_fast(struct chunk_iter *it, int64_t *t, size_t max)
{
	const int	grid = it->tmode == TMODE_GRID;
	const int	t1 = it->tdec.peek == 0 && it->tdec.width[0] <= TAB_BITS;

	if (it->tdec.maxtot > 56)
		return 0;
	if (grid)
		return t1 ? const_loop(it, t, NULL, max, 1, 1, 0, 1) :
		    const_loop(it, t, NULL, max, 1, 0, 0, 1);
	return const_loop(it, t, NULL, max, 0, 0, 0, 1);
}

int
packed_times(struct chunk_iter *it, const uint8_t *times, size_t tlen,
    int64_t *t)
{
	int64_t	nt;
	size_t	got;

	bitr_init(&it->tbr, times, tlen);
	if (it->n >= 3 && times_params(it) == -1)
		return chunk_iter_fail(it, it->tbr.err ? "chunk data truncated" :
		    "corrupt chunk parameters");
	/* const_loop reads these for a value it does not write */
	it->vgcd = 1;
	it->vscale = 1;
	t[0] = it->first;
	it->i = 1;
	while (it->i < it->n) {
		if (it->i + 1 < it->n) {
			got = times_fast(it, t + it->i, it->n - 1 - it->i);
			if (it->err)
				return -1;
			if (got > 0)
				continue;
		}
		if (times_next(it, &nt) == -1)
			return -1;
		it->t = t[it->i++] = nt;
	}
	return packed_end(it);
}
