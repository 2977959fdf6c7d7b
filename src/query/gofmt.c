/*
 * gofmt: shortest round-trip formatting of doubles in Go's 'f' notation
 * (see gofmt.h).
 *
 * Integers below 2^53 are printed directly.  Other values between 1e-15
 * and 2^53 get their digits from the free-format algorithm: with the
 * value, and half the distance to each neighbouring double, as integers
 * over a common denominator, digits are produced until the number they
 * spell lies strictly inside (or, for an even mantissa, on the edge of)
 * the interval of decimals that read back as the value; the last digit
 * is then rounded to the nearer of the two candidates, ties to even, as
 * Go does.  Within that range every quantity fits in 128 bits.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "query/gofmt.h"

typedef unsigned __int128 u128;

static void
add_uint(struct buf *b, uint64_t u)
{
	char	tmp[24];
	int	i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	buf_add(b, tmp + i, sizeof(tmp) - (size_t)i);
}

/* Digits of V (> 0) into D; returns their count, *K the decimal point. */
static int
shortest_digits(double v, char *d, int *k)
{
	uint64_t	bits, f;
	int		e, be, n = 0, even, lowc, highc;
	u128		r, s, mp, mm;

	memcpy(&bits, &v, sizeof(bits));
	be = (int)((bits >> 52) & 0x7ff);
	f = bits & ((1ULL << 52) - 1);
	f |= 1ULL << 52;
	e = be - 1075;
	even = (f & 1) == 0;
	/* v = f * 2^e with e < 0 here. */
	if (f == (1ULL << 52) && be > 1) {
		r = (u128)f << 2;
		s = (u128)1 << (2 - e);
		mp = 2;
		mm = 1;
	} else {
		r = (u128)f << 1;
		s = (u128)1 << (1 - e);
		mp = 1;
		mm = 1;
	}
	*k = (int)ceil(log10(v) - 1e-10);
	if (*k >= 0) {
		int i;

		for (i = 0; i < *k; i++)
			s *= 10;
	} else {
		int i;

		for (i = 0; i < -*k; i++) {
			r *= 10;
			mp *= 10;
			mm *= 10;
		}
	}
	/* Fix the estimate: the high end must be below 1, at least 0.1. */
	while (even ? r + mp >= s : r + mp > s) {
		s *= 10;
		(*k)++;
	}
	while (even ? (r + mp) * 10 < s : (r + mp) * 10 <= s) {
		r *= 10;
		mp *= 10;
		mm *= 10;
		(*k)--;
	}
	for (;;) {
		int dig;

		r *= 10;
		mp *= 10;
		mm *= 10;
		dig = (int)(r / s);
		r %= s;
		lowc = even ? r <= mm : r < mm;
		highc = even ? r + mp >= s : r + mp > s;
		if (!lowc && !highc) {
			d[n++] = (char)('0' + dig);
			if (n >= 20)
				return -1;
			continue;
		}
		if (lowc && highc) {
			/* Both fit: the nearer, ties to even. */
			if (r * 2 > s || (r * 2 == s && (dig & 1)))
				dig++;
		} else if (highc)
			dig++;
		d[n++] = (char)('0' + dig);
		break;
	}
	return n;
}

void
gofmt_float(struct buf *b, double v)
{
	char	d[24];
	int	n, k, i;
	double	a;

	if (isnan(v)) {
		buf_adds(b, "NaN");
		return;
	}
	if (isinf(v)) {
		buf_adds(b, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	a = fabs(v);
	if (signbit(v))
		buf_addc(b, '-');
	if (a < 9007199254740992.0 && a == floor(a)) {
		add_uint(b, (uint64_t)a);
		return;
	}
	if (a < 1e-15 || a >= 9007199254740992.0 ||
	    (n = shortest_digits(a, d, &k)) <= 0) {
		if (signbit(v))
			b->len--;
		buf_add_double_fixed(b, v);
		return;
	}
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
