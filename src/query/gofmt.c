/*
 * gofmt: shortest round-trip formatting of doubles in Go's 'f' notation
 * (see gofmt.h).
 *
 * Integers below 2^53 are printed directly.  Other values from about
 * 1e-14 up to 2^53 get their digits by exact integer arithmetic, with no
 * table but the powers of five: the value and the two ends of the
 * interval of reals that read back as it (half-way to each neighbouring
 * double, a quarter of an ulp below a power of two) are scaled by 10^m so
 * that the value has 18 or 19 digits before the point.  Since the
 * double's denominator is a power of two, scaling is one multiplication by
 * 5^m (at most 2^73, so that mantissa * 5^m fits in 128 bits) and a shift,
 * and the shifted-out bits say whether each quantity is an exact integer.
 * Then digits are dropped from the right while the interval still holds a
 * number ending in zeros at that position, tracking whether the value and
 * the lower end stayed exact; the last dropped digit rounds the result,
 * half-way cases to even.  That gives the shortest digit string that
 * reads back as the value and, of several, the one nearest to it: what
 * Go's strconv.FormatFloat(v, 'f', -1, 64) prints (the even mantissa's
 * ends belong to its interval, as Go's round-to-even parser reads them).
 * Other values take the slow path below, in big integers.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "query/gofmt.h"

typedef unsigned __int128 u128;

/* 5^0 .. 5^27: the powers of five below 2^64. */
static const uint64_t pow5[28] = {
	1ULL, 5ULL, 25ULL, 125ULL, 625ULL, 3125ULL, 15625ULL, 78125ULL,
	390625ULL, 1953125ULL, 9765625ULL, 48828125ULL, 244140625ULL,
	1220703125ULL, 6103515625ULL, 30517578125ULL, 152587890625ULL,
	762939453125ULL, 3814697265625ULL, 19073486328125ULL,
	95367431640625ULL, 476837158203125ULL, 2384185791015625ULL,
	11920928955078125ULL, 59604644775390625ULL, 298023223876953125ULL,
	1490116119384765625ULL, 7450580596923828125ULL,
};

static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233"
    "34353637383940414243444546474849505152535455565758596061626364656667"
    "6869707172737475767778798081828384858687888990919293949596979899";

static const uint64_t pow10_tab[20] = {
	1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL,
	10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL,
	100000000000ULL, 1000000000000ULL, 10000000000000ULL,
	100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
	100000000000000000ULL, 1000000000000000000ULL,
	10000000000000000000ULL,
};

/* How many decimal digits U has. */
static inline int
count_digits(uint64_t u)
{
	int t;

	if (u == 0)
		return 1;
	/* 1233 / 4096 is just above log10(2). */
	t = (64 - __builtin_clzll(u)) * 1233 >> 12;
	return t + (u >= pow10_tab[t]);
}

/* Exactly 8 digits of U (< 10^8) at DST, in two independent halves. */
static inline void
put8(char *dst, uint32_t u)
{
	uint32_t hi = u / 10000, lo = u % 10000;

	memcpy(dst, digit_pairs + 2 * (hi / 100), 2);
	memcpy(dst + 2, digit_pairs + 2 * (hi % 100), 2);
	memcpy(dst + 4, digit_pairs + 2 * (lo / 100), 2);
	memcpy(dst + 6, digit_pairs + 2 * (lo % 100), 2);
}

/* U's N digits (N <= 8) at DST. */
static inline void
put_small(char *dst, uint32_t u, int n)
{
	char *p = dst + n;

	while (u >= 100) {
		p -= 2;
		memcpy(p, digit_pairs + 2 * (u % 100), 2);
		u /= 100;
	}
	if (u >= 10) {
		p -= 2;
		memcpy(p, digit_pairs + 2 * u, 2);
	} else
		*--p = (char)('0' + u);
}

/* The N decimal digits of U at DST: 8 at a time from the right. */
static inline void
put_digits(char *dst, uint64_t u, int n)
{
	if (n <= 8) {
		put_small(dst, (uint32_t)u, n);
		return;
	}
	put8(dst + n - 8, (uint32_t)(u % 100000000));
	u /= 100000000;
	n -= 8;
	if (n <= 8) {
		put_small(dst, (uint32_t)u, n);
		return;
	}
	put8(dst + n - 8, (uint32_t)(u % 100000000));
	put_small(dst, (uint32_t)(u / 100000000), n - 8);
}

size_t
gofmt_uint(char *dst, uint64_t u)
{
	int n = count_digits(u);

	put_digits(dst, u, n);
	return (size_t)n;
}

/* X * 5^M, which the caller knows fits. */
static inline u128
mul_pow5(uint64_t x, int m)
{
	if (m < 28)
		return (u128)x * pow5[m];
	return (u128)x * pow5[27] * pow5[m - 27];
}

/*
 * The shortest digits of A (a positive normal double) as an integer *OUT
 * times 10^*E10; 0 when A is outside the range this handles.
 */
static int
shortest(double a, uint64_t *out, int *e10)
{
	uint64_t	bits, f, frac, vr, vp, vm;
	u128		p5, xr, xp, xm, mask;
	int		be, e2, b, p0, m, s, removed = 0;
	int		even, vm_exact, vr_exact, vp_exact, last = 0;

	memcpy(&bits, &a, sizeof(bits));
	be = (int)(bits >> 52);
	frac = bits & ((1ULL << 52) - 1);
	if (be == 0 || be == 0x7ff)
		return 0;
	f = frac | (1ULL << 52);
	e2 = be - 1075;
	even = (f & 1) == 0;
	/*
	 * A lies in [2^b, 2^(b+1)) and 10^p0 <= 2^b < 10^(p0+1), p0 being
	 * floor(b * log10(2)) (78913 / 2^18 gives it exactly for |b| < 1000;
	 * the bias keeps the shift on a non-negative number).  With
	 * m = 17 - p0, A * 10^m lies in [10^17, 2 * 10^18): 64 bits, and an
	 * ulp of A is more than 11 units there.
	 */
	b = e2 + 52;
	if (b < -60 || b > 52)
		return 0;
	p0 = ((b * 78913 + (64 << 18)) >> 18) - 64;
	m = 17 - p0;
	if (m > 31)
		return 0;
	/* In units of 2^(e2 - 2): the value 4f, the ends 4f + 2 and 4f - 2
	   (4f - 1 below a power of two, whose lower neighbour is closer). */
	s = 2 - e2 - m;
	if (s < 1 || s > 127)
		return 0;
	p5 = mul_pow5(1, m);
	xr = p5 * (4 * f);
	xp = xr + 2 * p5;
	xm = xr - (frac == 0 && be > 1 ? p5 : 2 * p5);
	mask = ((u128)1 << s) - 1;
	vr_exact = (xr & mask) == 0;
	vp_exact = (xp & mask) == 0;
	vm_exact = (xm & mask) == 0;
	vr = (uint64_t)(xr >> s);
	vp = (uint64_t)(xp >> s);
	vm = (uint64_t)(xm >> s);
	/*
	 * From here the candidates are the integers in (vm, vp], and vm too
	 * when it is exactly the lower end and that end belongs (even).
	 */
	if (!even && vp_exact)
		vp--;
	vm_exact = vm_exact && even;
	if (!vm_exact && !vr_exact) {
		/*
		 * The common case: neither the lower end nor the value is a
		 * short decimal, so there is no tie and no end to include.
		 * Whether k digits can go is monotonic in k: drop 16, 8, 4,
		 * 2 and 1 at a time where they can; the first digit of the
		 * last part dropped rounds.
		 */
		int up = 0;

#define DROP(n, p10) do {						\
		if (vp / (p10) > vm / (p10)) {				\
			up = vr % (p10) >= (p10) / 2;			\
			vr /= (p10);					\
			vp /= (p10);					\
			vm /= (p10);					\
			removed += (n);					\
		}							\
	} while (0)
		/* Values of 16 and 17 digits, the most common (rates,
		   ratios), stop at the first test. */
		if (vp / 10 > vm / 10) {
			DROP(16, 10000000000000000ULL);
			DROP(8, 100000000ULL);
			DROP(4, 10000ULL);
			DROP(2, 100ULL);
			DROP(1, 10ULL);
		}
#undef DROP
		*out = vr + (vr == vm || up);
	} else {
		while (vp / 10 > vm / 10) {
			vm_exact = vm_exact && vm % 10 == 0;
			vr_exact = vr_exact && last == 0;
			last = (int)(vr % 10);
			vr /= 10;
			vp /= 10;
			vm /= 10;
			removed++;
		}
		/* The lower end itself, when it ends in zeros. */
		if (vm_exact) {
			while (vm % 10 == 0) {
				vr_exact = vr_exact && last == 0;
				last = (int)(vr % 10);
				vr /= 10;
				vp /= 10;
				vm /= 10;
				removed++;
			}
		}
		/* Exactly half-way: to even. */
		if (vr_exact && last == 5 && vr % 2 == 0)
			last = 4;
		*out = vr + ((vr == vm && !vm_exact) || last >= 5);
	}
	*e10 = removed - m;
	return 1;
}

size_t
gofmt_float_fast(char *dst, double v)
{
	char		*p = dst;
	uint64_t	 u, digits;
	double		 a;
	int		 n, e10, point, i;

	if (isnan(v) || isinf(v))
		return 0;
	a = fabs(v);
	if (signbit(v))
		*p++ = '-';
	if (a < 9007199254740992.0 && (double)(u = (uint64_t)a) == a)
		return (size_t)(p - dst) + gofmt_uint(p, u);
	if (a < 1e-14 || a >= 9007199254740992.0 ||
	    !shortest(a, &digits, &e10))
		return 0;
	while (digits % 10 == 0) {
		digits /= 10;
		e10++;
	}
	n = count_digits(digits);
	/* The value is digits * 10^e10, not an integer: e10 < 0. */
	point = n + e10;
	if (point > 0) {
		/* The digits one place right, then the integer part back
		   over the gap, and the point. */
		put_digits(p + 1, digits, n);
		for (i = 0; i < point; i++)
			p[i] = p[i + 1];
		p[point] = '.';
		p += n + 1;
	} else {
		*p++ = '0';
		*p++ = '.';
		for (i = 0; i < -point; i++)
			*p++ = '0';
		put_digits(p, digits, n);
		p += n;
	}
	return (size_t)(p - dst);
}

/*
 * The slow path: Steele & White's free-format digit generation in big
 * integers, for any finite double.  The value, the distance to each end
 * of its rounding interval and the denominator are integers (the value is
 * r/s, the ends (r - mm)/s and (r + mp)/s), scaled by a power of ten so
 * that the first digit comes out of r * 10 / s; digits are produced until
 * the number they spell, or the next one up, falls inside the interval,
 * and the last one is rounded to the nearer, ties to even.  1280 bits hold
 * every quantity: the largest is about 2^1081.
 */
#define BIG_WORDS	40

struct big {
	uint32_t	w[BIG_WORDS];	/* little-endian */
	int		n;		/* words in use */
};

static void
big_set(struct big *b, uint64_t u)
{
	b->w[0] = (uint32_t)u;
	b->w[1] = (uint32_t)(u >> 32);
	b->n = b->w[1] != 0 ? 2 : b->w[0] != 0 ? 1 : 0;
}

static void
big_mul(struct big *b, uint32_t m)
{
	uint64_t	carry = 0;
	int		i;

	for (i = 0; i < b->n; i++) {
		carry += (uint64_t)b->w[i] * m;
		b->w[i] = (uint32_t)carry;
		carry >>= 32;
	}
	if (carry != 0)
		b->w[b->n++] = (uint32_t)carry;
}

static void
big_mul_pow10(struct big *b, int k)
{
	for (; k >= 9; k -= 9)
		big_mul(b, 1000000000);
	if (k > 0)
		big_mul(b, (uint32_t)pow10_tab[k]);
}

static void
big_shl(struct big *b, int k)
{
	int	words = k / 32, bits = k % 32, i;

	if (b->n == 0)
		return;
	if (bits != 0) {
		uint32_t carry = 0;

		for (i = 0; i < b->n; i++) {
			uint32_t w = b->w[i];

			b->w[i] = w << bits | carry;
			carry = w >> (32 - bits);
		}
		if (carry != 0)
			b->w[b->n++] = carry;
	}
	if (words > 0) {
		memmove(b->w + words, b->w, (size_t)b->n * sizeof(b->w[0]));
		memset(b->w, 0, (size_t)words * sizeof(b->w[0]));
		b->n += words;
	}
}

static int
big_cmp(const struct big *a, const struct big *b)
{
	int i;

	if (a->n != b->n)
		return a->n < b->n ? -1 : 1;
	for (i = a->n - 1; i >= 0; i--)
		if (a->w[i] != b->w[i])
			return a->w[i] < b->w[i] ? -1 : 1;
	return 0;
}

static void
big_add(struct big *d, const struct big *a, const struct big *b)
{
	uint64_t	carry = 0;
	int		i, n = a->n > b->n ? a->n : b->n;

	for (i = 0; i < n; i++) {
		carry += (uint64_t)(i < a->n ? a->w[i] : 0) +
		    (i < b->n ? b->w[i] : 0);
		d->w[i] = (uint32_t)carry;
		carry >>= 32;
	}
	d->n = n;
	if (carry != 0)
		d->w[d->n++] = (uint32_t)carry;
}

/* A -= B, with A >= B. */
static void
big_sub(struct big *a, const struct big *b)
{
	int64_t	borrow = 0;
	int	i;

	for (i = 0; i < a->n; i++) {
		borrow += (int64_t)a->w[i] - (i < b->n ? b->w[i] : 0);
		a->w[i] = (uint32_t)borrow;
		borrow = borrow < 0 ? -1 : 0;
	}
	while (a->n > 0 && a->w[a->n - 1] == 0)
		a->n--;
}

/* Whether R + MP reaches past S: beyond it, or onto it when EVEN. */
static int
big_high(const struct big *r, const struct big *mp, const struct big *s,
    int even)
{
	struct big	t;
	int		c;

	big_add(&t, r, mp);
	c = big_cmp(&t, s);
	return even ? c >= 0 : c > 0;
}

/* The digits of A (> 0, finite) into D; returns their count, *K the
   position of the point (the value is 0.D * 10^K). */
static int
exact_digits(double a, char *d, int *k)
{
	struct big	r, s, mp, mm, t;
	uint64_t	bits, f;
	int		be, e, n = 0, even, lowc, highc, c;

	memcpy(&bits, &a, sizeof(bits));
	be = (int)(bits >> 52);
	f = bits & ((1ULL << 52) - 1);
	if (be == 0)
		e = -1074;
	else {
		f |= 1ULL << 52;
		e = be - 1075;
	}
	even = (f & 1) == 0;
	/* Below a power of two the lower neighbour is half as far. */
	if (f == (1ULL << 52) && be > 1) {
		big_set(&r, f * 4);
		big_set(&s, 4);
		big_set(&mp, 2);
		big_set(&mm, 1);
	} else {
		big_set(&r, f * 2);
		big_set(&s, 2);
		big_set(&mp, 1);
		big_set(&mm, 1);
	}
	if (e >= 0) {
		big_shl(&r, e);
		big_shl(&mp, e);
		big_shl(&mm, e);
	} else
		big_shl(&s, -e);
	*k = (int)ceil(log10(a) - 1e-10);
	if (*k >= 0)
		big_mul_pow10(&s, *k);
	else {
		big_mul_pow10(&r, -*k);
		big_mul_pow10(&mp, -*k);
		big_mul_pow10(&mm, -*k);
	}
	/* Fix the estimate: the high end below 1, at least 0.1. */
	while (big_high(&r, &mp, &s, even)) {
		big_mul(&s, 10);
		(*k)++;
	}
	for (;;) {
		big_add(&t, &r, &mp);
		big_mul(&t, 10);
		c = big_cmp(&t, &s);
		if (even ? c >= 0 : c > 0)
			break;
		big_mul(&r, 10);
		big_mul(&mp, 10);
		big_mul(&mm, 10);
		(*k)--;
	}
	for (;;) {
		int dig = 0;

		big_mul(&r, 10);
		big_mul(&mp, 10);
		big_mul(&mm, 10);
		while (big_cmp(&r, &s) >= 0) {
			big_sub(&r, &s);
			dig++;
		}
		c = big_cmp(&r, &mm);
		lowc = even ? c <= 0 : c < 0;
		highc = big_high(&r, &mp, &s, even);
		if (!lowc && !highc) {
			d[n++] = (char)('0' + dig);
			if (n >= 20)
				break;
			continue;
		}
		if (lowc && highc) {
			/* Both fit: the nearer, ties to even. */
			big_add(&t, &r, &r);
			c = big_cmp(&t, &s);
			if (c > 0 || (c == 0 && (dig & 1)))
				dig++;
		} else if (highc)
			dig++;
		d[n++] = (char)('0' + dig);
		break;
	}
	return n;
}

void
gofmt_float_exact(struct buf *b, double v)
{
	char	d[24];
	int	n, k, i;

	if (isnan(v)) {
		buf_adds(b, "NaN");
		return;
	}
	if (isinf(v)) {
		buf_adds(b, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (signbit(v))
		buf_addc(b, '-');
	if (v == 0) {
		buf_addc(b, '0');
		return;
	}
	n = exact_digits(fabs(v), d, &k);
	/* A carry from the last digit ("9" rounded up) propagates. */
	for (i = n - 1; i > 0 && d[i] > '9'; i--) {
		d[i] = '0';
		d[i - 1]++;
	}
	if (d[0] > '9') {
		memmove(d + 1, d, (size_t)n);
		d[0] = '1';
		d[1] = '0';
		n++;
		k++;
	}
	while (n > 1 && d[n - 1] == '0')
		n--;
	if (k <= 0) {
		buf_adds(b, "0.");
		for (i = 0; i < -k; i++)
			buf_addc(b, '0');
		buf_add(b, d, (size_t)n);
	} else if (k >= n) {
		buf_add(b, d, (size_t)n);
		for (i = n; i < k; i++)
			buf_addc(b, '0');
	} else {
		buf_add(b, d, (size_t)k);
		buf_addc(b, '.');
		buf_add(b, d + k, (size_t)(n - k));
	}
}

void
gofmt_float(struct buf *b, double v)
{
	size_t n;

	if (isnan(v)) {
		buf_adds(b, "NaN");
		return;
	}
	if (isinf(v)) {
		buf_adds(b, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	buf_reserve(b, GOFMT_FAST_MAX);
	if ((n = gofmt_float_fast(b->data + b->len, v)) > 0) {
		b->len += n;
		b->data[b->len] = '\0';
		return;
	}
	gofmt_float_exact(b, v);
}
