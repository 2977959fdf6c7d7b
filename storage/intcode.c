/*
 * intcode: planning, writing and reading the parameters of the bucket
 * prefix code (the per-value read is inline in intcode.h).
 *
 * The planner works on the histogram of bit lengths: only the distinct
 * lengths present can be useful bucket bounds and the last bucket must
 * end at the longest.  For a choice of bounds the prefix lengths are the
 * Huffman code of the bucket counts, limited to five bits, and the cost
 * is exact (values, prefixes and parameters).  icode_plan tries every
 * choice of up to four buckets, which is cheap enough to compare many
 * candidate streams; icode_refine starts from one bucket per bit length
 * and merges neighbours greedily down to eight or fewer symbols, for the
 * streams that are finally written.
 */
#include "config.h"

#include <string.h>

#include "storage/bitstream.h"
#include "storage/intcode.h"

/* Beyond this many distinct lengths, four buckets are not searched. */
#define ICODE_MAX_D4	12

static unsigned
bitlen(uint64_t v)
{
	return v == 0 ? 0 : 64 - (unsigned)__builtin_clzll(v);
}

/* Bucket (a, b] of bit lengths, a < 0 for the first. */
static void
bucket_shape(int a, unsigned b, uint64_t *lo, uint8_t *width)
{
	uint64_t	maxv = b == 64 ? ~(uint64_t)0 : ((uint64_t)1 << b) - 1;

	*lo = a < 0 ? 0 : (uint64_t)1 << a;
	*width = (uint8_t)bitlen(maxv - *lo);
}

/*
 * Huffman code lengths of up to four counts, in closed form (the only
 * optimal shapes are 1; 1,1; 1,2,2; 2,2,2,2 and 1,2,3,3).
 */
static uint64_t
huff4(const uint64_t *cnt, unsigned k, uint8_t *len)
{
	unsigned	order[4], i, j, t;
	uint64_t	a, b;

	if (k == 2) {
		len[0] = len[1] = 1;
		return cnt[0] + cnt[1];
	}
	for (i = 0; i < k; i++)
		order[i] = i;
	for (i = 1; i < k; i++) {
		for (j = i; j > 0 && cnt[order[j]] > cnt[order[j - 1]]; j--) {
			t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	}
	if (k == 3) {
		len[order[0]] = 1;
		len[order[1]] = len[order[2]] = 2;
		return cnt[order[0]] + 2 * (cnt[order[1]] + cnt[order[2]]);
	}
	a = 2 * (cnt[0] + cnt[1] + cnt[2] + cnt[3]);
	b = cnt[order[0]] + 2 * cnt[order[1]] +
	    3 * (cnt[order[2]] + cnt[order[3]]);
	if (a <= b) {
		len[0] = len[1] = len[2] = len[3] = 2;
		return a;
	}
	len[order[0]] = 1;
	len[order[1]] = 2;
	len[order[2]] = len[order[3]] = 3;
	return b;
}

/* Huffman depths of n <= 8 weights; returns the deepest. */
static unsigned
huff_depths(const uint64_t *f, unsigned n, uint8_t *len)
{
	uint64_t	w[2 * ICODE_MAXSYM];
	int		parent[2 * ICODE_MAXSYM], alive[2 * ICODE_MAXSYM];
	unsigned	m = n, i, it, d, maxd = 0;
	int		a, b, j;

	for (i = 0; i < n; i++) {
		w[i] = f[i];
		alive[i] = 1;
		parent[i] = -1;
	}
	for (it = 0; it + 1 < n; it++) {
		a = b = -1;
		for (i = 0; i < m; i++) {
			if (!alive[i])
				continue;
			if (a < 0 || w[i] < w[a]) {
				b = a;
				a = (int)i;
			} else if (b < 0 || w[i] < w[b])
				b = (int)i;
		}
		w[m] = w[a] + w[b];
		alive[m] = 1;
		parent[m] = -1;
		alive[a] = alive[b] = 0;
		parent[a] = parent[b] = (int)m;
		m++;
	}
	for (i = 0; i < n; i++) {
		d = 0;
		for (j = (int)i; parent[j] >= 0; j = parent[j])
			d++;
		len[i] = (uint8_t)d;
		if (d > maxd)
			maxd = d;
	}
	return maxd;
}

/*
 * Prefix lengths (1..ICODE_MAXLEN) for n >= 2 counts: Huffman, with rare
 * symbols made less rare until no code is longer than the limit.
 */
static uint64_t
huff_limited(const uint64_t *cnt, unsigned n, uint8_t *len)
{
	uint64_t	f[ICODE_MAXSYM], total = 0, floor, bits = 0;
	unsigned	i, j, round, order[ICODE_MAXSYM], k, nshort, t;

	for (i = 0; i < n; i++) {
		f[i] = cnt[i];
		total += cnt[i];
	}
	for (round = 0; round < 6; round++) {
		if (huff_depths(f, n, len) <= ICODE_MAXLEN)
			goto done;
		floor = (total >> (ICODE_MAXLEN - 1 - (round > 3 ? 3 : round)))
		    + 1;
		for (i = 0; i < n; i++) {
			if (f[i] < floor)
				f[i] = floor;
		}
	}
	/* balanced: the most frequent symbols get the shorter length */
	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = 1; i < n; i++) {
		for (j = i; j > 0 && cnt[order[j]] > cnt[order[j - 1]]; j--) {
			t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	}
	for (k = 1; (1u << k) < n; k++)
		;
	nshort = (1u << k) - n;
	for (i = 0; i < n; i++)
		len[order[i]] = (uint8_t)(i < nshort ? k - 1 : k);
done:
	for (i = 0; i < n; i++)
		bits += cnt[i] * len[i];
	return bits;
}

static unsigned
param_bits(const struct icode *c)
{
	unsigned	normals = c->nsym - (unsigned)c->esc;

	return 4 + 7 * normals + (c->nsym > 1 ? 3 * c->nsym : 0);
}

/* Canonical codes from the lengths. */
static void
assign_codes(struct icode *c)
{
	unsigned	i, l, code = 0, prev = 0;

	c->code[0] = 0;
	for (l = 1; l <= ICODE_MAXLEN; l++) {
		for (i = 0; i < c->nsym; i++) {
			if (c->len[i] != l)
				continue;
			code <<= (l - prev);
			prev = l;
			c->code[i] = (uint8_t)code++;
		}
	}
}

/*
 * The exact cost of buckets ending at ub[0..k-1] (ascending bit lengths;
 * pc[b] counts the values of bit length <= b) plus nesc escapes.
 */
static uint64_t
cost(const unsigned *ub, unsigned k, const uint64_t *pc, size_t nesc,
    struct icode *out)
{
	uint64_t	cnt[ICODE_MAXSYM], bits = 0;
	unsigned	i;
	int		a = -1;

	out->nsym = k + (nesc > 0);
	out->esc = nesc > 0;
	for (i = 0; i < k; i++) {
		cnt[i] = pc[ub[i]] - (a < 0 ? 0 : pc[a]);
		out->ub[i] = (uint8_t)ub[i];
		bucket_shape(a, ub[i], &out->lo[i], &out->width[i]);
		bits += cnt[i] * out->width[i];
		a = (int)ub[i];
	}
	if (nesc > 0) {
		cnt[k] = nesc;
		out->ub[k] = out->width[k] = 0;
		out->lo[k] = 0;
	}
	if (out->nsym == 1)
		out->len[0] = 0;
	else if (out->nsym <= 4)
		bits += huff4(cnt, out->nsym, out->len);
	else
		bits += huff_limited(cnt, out->nsym, out->len);
	return bits + param_bits(out);
}

/* Distinct bit lengths d[] and the cumulative counts pc[0..64]. */
static unsigned
histogram(const uint64_t *z, size_t n, unsigned *d, uint64_t *pc)
{
	uint64_t	hist[65];
	unsigned	i, nd = 0;
	size_t		j;

	memset(hist, 0, sizeof(hist));
	for (j = 0; j < n; j++)
		hist[bitlen(z[j])]++;
	for (i = 0; i <= 64; i++) {
		pc[i] = (i > 0 ? pc[i - 1] : 0) + hist[i];
		if (hist[i] > 0)
			d[nd++] = i;
	}
	return nd;
}

static uint64_t
plan_lone(struct icode *c, size_t nesc)
{
	memset(c, 0, sizeof(*c));
	c->nsym = 1;
	c->esc = nesc > 0;
	return param_bits(c);
}

uint64_t
icode_plan(struct icode *c, const uint64_t *z, size_t n, size_t nesc)
{
	uint64_t	pc[65], best, bits;
	unsigned	d[65], nd, ub[4], a, b, e;
	struct icode	tmp;

	if ((nd = histogram(z, n, d, pc)) == 0)
		return plan_lone(c, nesc);
	ub[0] = d[nd - 1];
	best = cost(ub, 1, pc, nesc, c);
	for (a = 0; a + 1 < nd; a++) {
		ub[0] = d[a];
		ub[1] = d[nd - 1];
		if ((bits = cost(ub, 2, pc, nesc, &tmp)) < best) {
			best = bits;
			*c = tmp;
		}
	}
	for (a = 0; a + 2 < nd; a++) {
		for (b = a + 1; b + 1 < nd; b++) {
			ub[0] = d[a];
			ub[1] = d[b];
			ub[2] = d[nd - 1];
			if ((bits = cost(ub, 3, pc, nesc, &tmp)) < best) {
				best = bits;
				*c = tmp;
			}
		}
	}
	if (nd <= ICODE_MAX_D4) {
		for (a = 0; a + 3 < nd; a++) {
			for (b = a + 1; b + 2 < nd; b++) {
				for (e = b + 1; e + 1 < nd; e++) {
					ub[0] = d[a];
					ub[1] = d[b];
					ub[2] = d[e];
					ub[3] = d[nd - 1];
					bits = cost(ub, 4, pc, nesc, &tmp);
					if (bits < best) {
						best = bits;
						*c = tmp;
					}
				}
			}
		}
	}
	assign_codes(c);
	return best;
}

uint64_t
icode_refine(struct icode *c, const uint64_t *z, size_t n, size_t nesc,
    uint64_t *before)
{
	uint64_t	pc[65], best, bits, cnt, bestcnt;
	unsigned	ub[65], k, i, j, t[65], pick, maxk;
	struct icode	tmp;

	if ((k = histogram(z, n, ub, pc)) == 0)
		return *before = plan_lone(c, nesc);
	for (i = 0; i < c->nsym - (unsigned)c->esc; i++)
		t[i] = c->ub[i];
	best = *before = cost(t, c->nsym - (unsigned)c->esc, pc, nesc, c);
	maxk = ICODE_MAXSYM - (nesc > 0);
	/* down to eight symbols by merging the lightest neighbours */
	while (k > maxk) {
		pick = 0;
		bestcnt = ~(uint64_t)0;
		for (i = 0; i + 1 < k; i++) {
			cnt = pc[ub[i + 1]] - (i > 0 ? pc[ub[i - 1]] : 0);
			if (cnt < bestcnt) {
				bestcnt = cnt;
				pick = i;
			}
		}
		memmove(ub + pick, ub + pick + 1, (k - pick - 1) * sizeof(*ub));
		k--;
	}
	/* then merge greedily, keeping the cheapest code seen */
	for (;;) {
		if ((bits = cost(ub, k, pc, nesc, &tmp)) < best) {
			best = bits;
			*c = tmp;
		}
		if (k == 1)
			break;
		pick = 0;
		bestcnt = ~(uint64_t)0;
		for (i = 0; i + 1 < k; i++) {
			for (j = 0; j < i; j++)
				t[j] = ub[j];
			for (j = i + 1; j < k; j++)
				t[j - 1] = ub[j];
			bits = cost(t, k - 1, pc, nesc, &tmp);
			if (bits < bestcnt) {
				bestcnt = bits;
				pick = i;
			}
		}
		memmove(ub + pick, ub + pick + 1, (k - pick - 1) * sizeof(*ub));
		k--;
	}
	assign_codes(c);
	return best;
}

void
icode_put_params(struct bitw *w, const struct icode *c)
{
	unsigned	i, normals = c->nsym - (unsigned)c->esc;

	bitw_write(w, ((uint64_t)(c->nsym - 1) << 1) | (unsigned)c->esc, 4);
	for (i = 0; i < normals; i++)
		bitw_write(w, c->ub[i], 7);
	if (c->nsym > 1) {
		for (i = 0; i < c->nsym; i++)
			bitw_write(w, c->len[i], 3);
	}
}

void
icode_put(struct bitw *w, const struct icode *c, uint64_t z)
{
	unsigned	i, normals = c->nsym - (unsigned)c->esc;
	unsigned	bl = bitlen(z);

	for (i = 0; i + 1 < normals && c->ub[i] < bl; i++)
		;
	z -= c->lo[i];
	if (c->len[i] + c->width[i] <= 64 && c->width[i] < 64) {
		bitw_write(w, ((uint64_t)c->code[i] << c->width[i]) | z,
		    c->len[i] + c->width[i]);
		return;
	}
	bitw_write(w, c->code[i], c->len[i]);
	bitw_write(w, z, c->width[i]);
}

void
icode_put_esc(struct bitw *w, const struct icode *c)
{
	bitw_write(w, c->code[c->nsym - 1], c->len[c->nsym - 1]);
}

int
icode_get_params(struct bitr *r, struct icode_dec *d)
{
	unsigned	nsym, esc, normals, i, j, l, code, prev, span, idx;
	unsigned	kraft = 0;
	uint8_t		ub[ICODE_MAXSYM], width[ICODE_MAXSYM];
	uint8_t		len[ICODE_MAXSYM];
	uint64_t	x, lo[ICODE_MAXSYM];
	int		a = -1;

	x = bitr_read(r, 4);
	nsym = (unsigned)(x >> 1) + 1;
	esc = (unsigned)(x & 1);
	if (r->err)
		return -1;
	normals = nsym - esc;
	for (i = 0; i < normals; i++) {
		ub[i] = (uint8_t)bitr_read(r, 7);
		if (ub[i] > 64 || (i > 0 && ub[i] <= ub[i - 1]))
			return -1;
		bucket_shape(a, ub[i], &lo[i], &width[i]);
		a = ub[i];
	}
	if (esc) {
		width[nsym - 1] = ICODE_ESC;
		lo[nsym - 1] = 0;
	}
	memset(d, 0, sizeof(*d));
	if (nsym == 1) {
		len[0] = 0;
		d->peek = 0;
	} else {
		for (i = 0; i < nsym; i++) {
			len[i] = (uint8_t)bitr_read(r, 3);
			if (len[i] == 0 || len[i] > ICODE_MAXLEN)
				return -1;
			kraft += (1u << ICODE_MAXLEN) >> len[i];
			if (len[i] > d->peek)
				d->peek = len[i];
		}
		/* complete: every peeked pattern decodes */
		if (kraft != 1u << ICODE_MAXLEN)
			return -1;
	}
	if (r->err)
		return -1;
	code = 0;
	prev = 0;
	for (l = 0; l <= ICODE_MAXLEN; l++) {
		for (i = 0; i < nsym; i++) {
			if (len[i] != l)
				continue;
			code <<= (l - prev);
			prev = l;
			span = 1u << (d->peek - l);
			for (j = 0; j < span; j++) {
				idx = (code << (d->peek - l)) + j;
				d->len[idx] = len[i];
				d->width[idx] = width[i];
				d->lo[idx] = lo[i];
				d->tot[idx] = (uint8_t)(len[i] +
				    (width[i] == ICODE_ESC ? 0 : width[i]));
				if (d->tot[idx] > d->maxtot)
					d->maxtot = d->tot[idx];
			}
			code++;
		}
	}
	return 0;
}
