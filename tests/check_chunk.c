/*
 * Conformance tests of the chunk codec: every encoding must round-trip
 * every sample bit-exact (NaN payloads, -0.0, infinities), keep to the
 * timestamp buckets at their edges, refuse out-of-order input and reject
 * every corrupt or truncated chunk with an error instead of a crash.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcheck.h"
#include "storage/bitstream.h"
#include "storage/chunk.h"
#include "storage/intcode.h"

#define STALE_NAN	UINT64_C(0x7ff0000000000002)

struct series {
	size_t		 n;
	int64_t		*t;
	double		*v;
};

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t	x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
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

static void
series_init(struct series *s, size_t n)
{
	s->n = n;
	s->t = calloc(n, sizeof(*s->t));
	s->v = calloc(n, sizeof(*s->v));
	ck_assert_ptr_nonnull(s->t);
	ck_assert_ptr_nonnull(s->v);
}

static void
series_free(struct series *s)
{
	free(s->t);
	free(s->v);
}

/*
 * Encode s with an encoding forced (or 0: the smallest), returning a
 * malloc'd copy of the chunk's bytes.
 */
static uint8_t *
encode(const struct series *s, int enc, size_t *len)
{
	struct chunk_app	*a = chunk_app_new();
	const uint8_t		*p;
	uint8_t			*copy;
	size_t			 i;

	chunk_app_set_encoding(a, enc);
	for (i = 0; i < s->n; i++)
		ck_assert_int_eq(chunk_app_add(&a, s->t[i], s->v[i]), 0);
	ck_assert_uint_eq(chunk_app_count(a), s->n);
	ck_assert_int_eq(chunk_app_first(a), s->t[0]);
	ck_assert_int_eq(chunk_app_last(a), s->t[s->n - 1]);
	ck_assert_int_eq(chunk_app_bytes_out(a, &p, len), 0);
	if (enc != 0)
		ck_assert_uint_eq(p[3], enc);
	copy = malloc(*len);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, p, *len);
	chunk_app_free(a);
	return copy;
}

/* TT: the column decoded apart (chunk_times_decode), or NULL. */
static int
init_any(struct chunk_iter *it, const uint8_t *p, size_t len,
    const uint8_t *tp, size_t tlen, const int64_t *tt)
{
	if (tt != NULL)
		return chunk_iter_init_decoded(it, p, len, tp, tlen, tt);
	if (tp != NULL)
		return chunk_iter_init_shared(it, p, len, tp, tlen);
	return chunk_iter_init(it, p, len);
}

static void
same_sample(const struct series *s, size_t i, int64_t t, double v)
{
	ck_assert_int_eq(t, s->t[i]);
	ck_assert_msg(dbits(v) == dbits(s->v[i]),
	    "sample %zu: %016llx != %016llx", i, (unsigned long long)dbits(v),
	    (unsigned long long)dbits(s->v[i]));
}

/*
 * Decode (with its timestamp column, if any) and compare bit for bit,
 * sample by sample, then in batches of several sizes mixed with single
 * samples.
 */
static void
check_decode2(const uint8_t *p, size_t len, const uint8_t *tp, size_t tlen,
    const int64_t *tt, const struct series *s)
{
	static const size_t	 maxes[] = { 1, 2, 5, 64, CHUNK_MAX_SAMPLES };
	struct chunk_iter	 it;
	int64_t			 t, first, last, *bt;
	uint32_t		 count;
	double			 v, *bv;
	size_t			 i, m, k;
	int			 r;

	ck_assert_int_eq(chunk_peek(p, len, &count, &first, &last), 0);
	ck_assert_uint_eq(count, s->n);
	ck_assert_int_eq(first, s->t[0]);
	ck_assert_int_eq(last, s->t[s->n - 1]);
	ck_assert_msg(init_any(&it, p, len, tp, tlen, tt) == 0, "init: %s",
	    it.errmsg);
	for (i = 0; i < s->n; i++) {
		r = chunk_iter_next(&it, &t, &v);
		ck_assert_msg(r == 1, "sample %zu: r=%d %s", i, r, it.errmsg);
		same_sample(s, i, t, v);
	}
	ck_assert_int_eq(chunk_iter_next(&it, &t, &v), 0);
	ck_assert_int_eq(chunk_iter_next(&it, &t, &v), 0);

	bt = calloc(CHUNK_MAX_SAMPLES, sizeof(*bt));
	bv = calloc(CHUNK_MAX_SAMPLES, sizeof(*bv));
	ck_assert_ptr_nonnull(bt);
	ck_assert_ptr_nonnull(bv);
	for (m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++) {
		ck_assert_int_eq(init_any(&it, p, len, tp, tlen, tt), 0);
		i = 0;
		for (;;) {
			r = chunk_iter_batch(&it, bt, bv, maxes[m]);
			ck_assert_msg(r >= 0, "batch: %s", it.errmsg);
			ck_assert_uint_le((size_t)r, maxes[m]);
			if (r == 0)
				break;
			for (k = 0; k < (size_t)r; k++)
				same_sample(s, i + k, bt[k], bv[k]);
			i += (size_t)r;
			/* a single sample between batches */
			r = chunk_iter_next(&it, &t, &v);
			ck_assert_int_ge(r, 0);
			if (r == 0)
				break;
			same_sample(s, i++, t, v);
		}
		ck_assert_uint_eq(i, s->n);
		ck_assert_int_eq(chunk_iter_batch(&it, bt, bv, maxes[m]), 0);
	}
	free(bt);
	free(bv);
}

static void
check_decode(const uint8_t *p, size_t len, const struct series *s)
{
	uint32_t	ref;

	ck_assert_int_eq(chunk_times_ref(p, len, &ref), 0);
	check_decode2(p, len, NULL, 0, NULL, s);
}

/* The shared form: a values chunk and its timestamp column. */
static void
check_shared(const struct series *s)
{
	struct chunk_app	*a = chunk_app_new();
	struct chunk_iter	 it;
	const uint8_t		*p, *tp;
	size_t			 i, len, tlen;
	uint32_t		 ref, crc;
	int64_t			*tt;
	char			 err[96];

	for (i = 0; i < s->n; i++)
		ck_assert_int_eq(chunk_app_add(&a, s->t[i], s->v[i]), 0);
	ck_assert_int_eq(chunk_app_bytes_out_shared(a, &p, &len, &tp, &tlen),
	    0);
	ck_assert_uint_eq(p[3], CHUNK_ENC_SHARED);
	ck_assert_uint_eq(tp[3], CHUNK_ENC_TIMES);
	ck_assert_int_eq(chunk_times_ref(p, len, &ref), 1);
	memcpy(&crc, tp + 4, 4);
	ck_assert_uint_eq(ref, crc);
	ck_assert_int_eq(chunk_times_ref(tp, tlen, &ref), 0);
	check_decode2(p, len, tp, tlen, NULL, s);
	/* the column decoded once, then the values alone: the same */
	tt = calloc(CHUNK_MAX_SAMPLES, sizeof(*tt));
	ck_assert_ptr_nonnull(tt);
	ck_assert_int_eq(chunk_times_decode(tp, tlen, tt, err, sizeof(err)),
	    (int)s->n);
	for (i = 0; i < s->n; i++)
		ck_assert_int_eq(tt[i], s->t[i]);
	check_decode2(p, len, tp, tlen, tt, s);
	ck_assert_int_eq(chunk_times_decode(p, len, tt, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "not a timestamp column");
	free(tt);
	/* on its own the chunk cannot be read, nor the column as samples */
	ck_assert_int_eq(chunk_iter_init(&it, p, len), -1);
	ck_assert_str_eq(it.errmsg, "chunk needs its timestamp column");
	ck_assert_int_eq(chunk_iter_init(&it, tp, tlen), -1);
	ck_assert_str_eq(it.errmsg, "a timestamp column is not a chunk of "
	    "samples");
	chunk_app_free(a);
}

static const int encodings[] = { CHUNK_ENC_GORILLA, CHUNK_ENC_PACKED };
#define NENC	(sizeof(encodings) / sizeof(encodings[0]))

/*
 * Every encoding must round-trip s; the default picks the smallest.
 * Returns the default's size.
 */
static size_t
roundtrip(const struct series *s)
{
	uint8_t	*p;
	size_t	 len, e, best = SIZE_MAX;

	for (e = 0; e < NENC; e++) {
		p = encode(s, encodings[e], &len);
		check_decode(p, len, s);
		free(p);
		if (len < best)
			best = len;
	}
	p = encode(s, 0, &len);
	check_decode(p, len, s);
	free(p);
	ck_assert_uint_eq(len, best);
	check_shared(s);
	return len;
}

static void
regular_times(struct series *s, int64_t start, int64_t step)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		s->t[i] = start + (int64_t)i * step;
}

START_TEST(test_constant)
{
	struct series	s;
	size_t		i, len;

	series_init(&s, 120);
	regular_times(&s, 1795615778000LL, 15000);
	for (i = 0; i < s.n; i++)
		s.v[i] = 42.5;
	len = roundtrip(&s);
	/* Gorilla bound: 8-byte value, then 2 bits a sample after the first
	 * delta, in a header of at most 8 + 2 + 6 + 3 + 2 bytes */
	ck_assert_uint_le(len, 21 + 8 + 3 + (119 * 2 + 7) / 8);
	for (i = 0; i < s.n; i++)
		s.v[i] = 0;
	roundtrip(&s);
	series_free(&s);
}
END_TEST

START_TEST(test_counters)
{
	struct series	s;
	uint64_t	seed = 7;
	double		c = 0;
	size_t		i;

	series_init(&s, 1000);
	regular_times(&s, 1795615778000LL, 1000);
	for (i = 0; i < s.n; i++) {
		c += (double)(rng_next(&seed) % 100);
		if (i == 500)
			c = 3;	/* a restart */
		s.v[i] = c;
	}
	roundtrip(&s);
	/* a float counter: seconds with two decimals */
	for (i = 0; i < s.n; i++)
		s.v[i] = 12345.67 + (double)i * 0.01;
	roundtrip(&s);
	series_free(&s);
}
END_TEST

START_TEST(test_random_doubles)
{
	struct series	s;
	uint64_t	seed = 12345;
	size_t		i, round;

	series_init(&s, 500);
	for (round = 0; round < 20; round++) {
		regular_times(&s, (int64_t)round * 1000000, 997);
		for (i = 0; i < s.n; i++) {
			switch (round % 4) {
			case 0:	/* any bit pattern, NaNs included */
				s.v[i] = bitsd(rng_next(&seed));
				break;
			case 1:
				s.v[i] = (double)(rng_next(&seed) % 1000000) /
				    1000.0;
				break;
			case 2:
				s.v[i] = (double)(int64_t)rng_next(&seed);
				break;
			default:
				s.v[i] = (double)(rng_next(&seed) >> 11) /
				    9007199254740992.0;
				break;
			}
		}
		roundtrip(&s);
	}
	series_free(&s);
}
END_TEST

START_TEST(test_special_values)
{
	static const uint64_t specials[] = {
		STALE_NAN,
		UINT64_C(0x7ff8000000000000),	/* quiet NaN */
		UINT64_C(0xfff8000000000001),	/* negative NaN, payload */
		UINT64_C(0x7ff0000000000001),	/* signalling NaN */
		UINT64_C(0x7ff0000000000000),	/* +Inf */
		UINT64_C(0xfff0000000000000),	/* -Inf */
		UINT64_C(0x8000000000000000),	/* -0.0 */
		UINT64_C(0x0000000000000000),	/* +0.0 */
		UINT64_C(0x0000000000000001),	/* smallest subnormal */
		UINT64_C(0x7fefffffffffffff),	/* largest finite */
		UINT64_C(0xffffffffffffffff),
	};
	const size_t	ns = sizeof(specials) / sizeof(specials[0]);
	struct series	s;
	size_t		i;

	series_init(&s, ns * 3);
	regular_times(&s, 1795615778000LL, 1000);
	for (i = 0; i < s.n; i++) {
		/* each special between ordinary values and next to another */
		if (i % 3 == 1)
			s.v[i] = 1.5;
		else
			s.v[i] = bitsd(specials[(i / 3 + i % 3) % ns]);
	}
	roundtrip(&s);
	/* a chunk of only stale markers, and one that starts with -0.0 */
	for (i = 0; i < s.n; i++)
		s.v[i] = bitsd(STALE_NAN);
	roundtrip(&s);
	s.v[0] = -0.0;
	s.v[1] = 0.0;
	s.v[2] = -0.0;
	roundtrip(&s);
	series_free(&s);
}
END_TEST

/* The payload length field of a chunk, checked against its size. */
static size_t
payload_len(const uint8_t *p, size_t len)
{
	uint64_t	v = 0;
	size_t		off = 8;
	int		i;

	for (i = 0; i < 4; i++) {
		unsigned shift = 0;

		v = 0;
		do {
			ck_assert_uint_lt(off, len);
			v |= (uint64_t)(p[off] & 0x7f) << shift;
			shift += 7;
		} while (p[off++] & 0x80);
	}
	ck_assert_uint_eq(v, len - off);
	return (size_t)v;
}

/* Payload bits of the dod bucket a value falls in (Prometheus's edges). */
static size_t
dod_bits(int64_t dod)
{
	if (dod == 0)
		return 1;
	if (dod >= -8191 && dod <= 8192)
		return 16;
	if (dod >= -65535 && dod <= 65536)
		return 20;
	if (dod >= -524287 && dod <= 524288)
		return 24;
	return 68;
}

START_TEST(test_bucket_edges)
{
	static const int64_t dods[] = {
		0, 1, -1, 8191, -8191, 8192, -8192, 8193,
		65535, -65535, 65536, -65536, 65537,
		524287, -524287, 524288, -524288, 524289,
		999999, -999999,
	};
	const int64_t	D = 1000000;
	struct series	s;
	uint8_t		*p;
	size_t		 i, len, bits;

	series_init(&s, 3);
	for (i = 0; i < sizeof(dods) / sizeof(dods[0]); i++) {
		s.t[0] = 1795615778000LL;
		s.t[1] = s.t[0] + D;
		s.t[2] = s.t[1] + D + dods[i];
		s.v[0] = s.v[1] = s.v[2] = 1;
		roundtrip(&s);
		p = encode(&s, CHUNK_ENC_GORILLA, &len);
		/* value, first delta, xor 0, dod, xor 0 */
		bits = 64 + dod_bits(D) + 1 + dod_bits(dods[i]) + 1;
		ck_assert_msg(payload_len(p, len) == (bits + 7) / 8,
		    "dod %lld", (long long)dods[i]);
		free(p);
	}
	series_free(&s);
}
END_TEST

START_TEST(test_int64_extremes)
{
	static const int64_t sets[][5] = {
		{ INT64_MIN, INT64_MIN + 1, 0, INT64_MAX - 1, INT64_MAX },
		{ INT64_MIN, -1, 0, 1, INT64_MAX },
		{ -5, -4, -3, -2, -1 },
		{ 0, 1, 2, 3, 4 },
		{ INT64_MIN, INT64_MIN + 1, INT64_MIN + 2, INT64_MIN + 4,
		  INT64_MIN + 1000000000000LL },
		{ INT64_MAX - 1000000000000LL, INT64_MAX - 3, INT64_MAX - 2,
		  INT64_MAX - 1, INT64_MAX },
	};
	struct series	s;
	size_t		i, j;

	series_init(&s, 5);
	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		for (j = 0; j < 5; j++) {
			s.t[j] = sets[i][j];
			s.v[j] = (double)j;
		}
		roundtrip(&s);
	}
	/* a single sample at either extreme */
	s.n = 1;
	s.t[0] = INT64_MIN;
	roundtrip(&s);
	s.t[0] = INT64_MAX;
	roundtrip(&s);
	s.n = 5;
	series_free(&s);
}
END_TEST

/*
 * An appender keeps its bits in its own allocation and moves as it
 * grows: samples that each take the most bits Gorilla can spend (a
 * delta-of-delta past every bucket, a value XOR with no zero bits at
 * either end) must never find it short of room mid-sample, up to a
 * full chunk, and its copy must read back exactly.
 */
START_TEST(test_app_grows)
{
	struct series		 s;
	struct chunk_app	*a = chunk_app_new();
	uint64_t		 seed = 7, b = 0;
	uint8_t			*p;
	size_t			 i, len;

	series_init(&s, CHUNK_MAX_SAMPLES);
	for (i = 0; i < s.n; i++) {
		s.t[i] = i == 0 ? 0 : s.t[i - 1] + (i % 2 ?
		    INT64_C(1) << 40 : 1);
		b ^= UINT64_C(0x8000000000000001) |
		    (rng_next(&seed) & UINT64_C(0x0ffffffffffffffe));
		memcpy(&s.v[i], &b, sizeof(b));
		ck_assert_int_eq(chunk_app_add(&a, s.t[i], s.v[i]), 0);
	}
	/* At least 4 + 64 + 2 + 64 bits a sample after the first. */
	ck_assert_uint_ge(chunk_app_bytes(a), 8 + (s.n - 1) * 134 / 8);
	ck_assert_int_eq(chunk_app_add(&a, s.t[s.n - 1] + 1, 0), -1);
	len = chunk_app_copy(a, NULL, 0);
	p = malloc(len);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(chunk_app_copy(a, p, len), len);
	check_decode(p, len, &s);
	free(p);
	chunk_app_free(a);
	series_free(&s);
}
END_TEST

START_TEST(test_irregular_times)
{
	struct series	s;
	uint64_t	seed = 99;
	size_t		i;

	series_init(&s, 2000);
	s.t[0] = 1795615778000LL;
	s.v[0] = 0;
	for (i = 1; i < s.n; i++) {
		uint64_t	r = rng_next(&seed);
		int64_t		gap;

		switch (r % 5) {
		case 0:	gap = 15000 + (int64_t)(r >> 8) % 7 - 3; break;
		case 1:	gap = 1 + (int64_t)(r >> 8) % 3; break;
		case 2:	gap = 1 + (int64_t)((r >> 8) % 100000000); break;
		case 3:	gap = 86400000LL * 365; break;
		default: gap = 1000; break;
		}
		s.t[i] = s.t[i - 1] + gap;
		s.v[i] = (double)(r % 7);
	}
	roundtrip(&s);
	series_free(&s);
}
END_TEST

START_TEST(test_max_samples)
{
	struct chunk_app	*a = chunk_app_new();
	struct series		 s;
	const uint8_t		*p;
	size_t			 i, len;

	series_init(&s, CHUNK_MAX_SAMPLES);
	regular_times(&s, 1795615778000LL, 15000);
	for (i = 0; i < s.n; i++)
		s.v[i] = (double)i * 0.25;
	roundtrip(&s);

	for (i = 0; i < s.n; i++)
		ck_assert_int_eq(chunk_app_add(&a, s.t[i], s.v[i]), 0);
	/* full: the next sample is refused and the chunk is unchanged */
	ck_assert_int_eq(chunk_app_add(&a, s.t[s.n - 1] + 1, 1), -1);
	ck_assert_uint_eq(chunk_app_count(a), CHUNK_MAX_SAMPLES);
	ck_assert_int_eq(chunk_app_bytes_out(a, &p, &len), 0);
	check_decode(p, len, &s);
	chunk_app_free(a);
	series_free(&s);
}
END_TEST

START_TEST(test_out_of_order)
{
	struct chunk_app	*a = chunk_app_new();
	struct series		 s;
	const uint8_t		*p;
	size_t			 len;

	ck_assert_int_eq(chunk_app_bytes_out(a, &p, &len), -1);
	ck_assert_uint_eq(chunk_app_bytes(a), 0);
	ck_assert_int_eq(chunk_app_add(&a, 1000, 1), 0);
	ck_assert_int_eq(chunk_app_add(&a, 2000, 2), 0);
	ck_assert_int_eq(chunk_app_add(&a, 2000, 3), -1);	/* duplicate */
	ck_assert_int_eq(chunk_app_add(&a, 1500, 3), -1);	/* earlier */
	ck_assert_int_eq(chunk_app_add(&a, INT64_MIN, 3), -1);
	ck_assert_uint_eq(chunk_app_count(a), 2);
	ck_assert_int_eq(chunk_app_last(a), 2000);
	ck_assert_int_eq(chunk_app_add(&a, 2001, 4), 0);
	ck_assert_uint_gt(chunk_app_bytes(a), 0);

	series_init(&s, 3);
	s.t[0] = 1000; s.t[1] = 2000; s.t[2] = 2001;
	s.v[0] = 1; s.v[1] = 2; s.v[2] = 4;
	ck_assert_int_eq(chunk_app_bytes_out(a, &p, &len), 0);
	check_decode(p, len, &s);
	chunk_app_free(a);
	chunk_app_free(NULL);
	series_free(&s);
}
END_TEST

/* bytes_out does not end the appender: checkpoints of open chunks. */
START_TEST(test_checkpoint)
{
	struct chunk_app	*a = chunk_app_new();
	struct series		 s;
	const uint8_t		*p;
	size_t			 i, len;

	series_init(&s, 300);
	regular_times(&s, 1795615778000LL, 1000);
	for (i = 0; i < s.n; i++) {
		s.v[i] = (double)(i % 17) * 1.25;
		ck_assert_int_eq(chunk_app_add(&a, s.t[i], s.v[i]), 0);
		if (i % 37 == 0 || i == s.n - 1) {
			size_t n = s.n;

			ck_assert_int_eq(chunk_app_bytes_out(a, &p, &len), 0);
			s.n = i + 1;
			check_decode(p, len, &s);
			s.n = n;
		}
	}
	chunk_app_free(a);
	series_free(&s);
}
END_TEST

static void
unhex(const char *hex, uint8_t *out, size_t *len)
{
	size_t	i, n = strlen(hex) / 2;

	for (i = 0; i < n; i++) {
		unsigned int	b;

		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &b), 1);
		out[i] = (uint8_t)b;
	}
	*len = n;
}

/* Hex digits to bytes, an odd last digit padded with zero bits. */
static void
unhex_bits(const char *hex, uint8_t *out, size_t *len)
{
	size_t	i, n = strlen(hex);

	memset(out, 0, (n + 1) / 2);
	for (i = 0; i < n; i++) {
		unsigned d = (unsigned)(hex[i] <= '9' ? hex[i] - '0' :
		    hex[i] - 'a' + 10);

		out[i / 2] |= (uint8_t)(i % 2 == 0 ? d << 4 : d);
	}
	*len = (n + 1) / 2;
}

static void
tohex(const uint8_t *p, size_t len, char *out)
{
	size_t	i;

	for (i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/*
 * Golden chunks: the exact bytes of a few small chunks, fixed so that a
 * change of the format cannot go unnoticed (and old chunks keep decoding).
 */
START_TEST(test_golden)
{
	static const struct {
		int		 enc;
		const char	*hex;
		size_t		 n;
		int64_t		 t[5];
		uint64_t	 v[5];
	} cases[] = {
		/* one sample: 1000 ms, 1.0 */
		{ CHUNK_ENC_GORILLA, "4d430101a5b3e7a801d00f00083ff0000000000000", 1,
		  { 1000 }, { UINT64_C(0x3ff0000000000000) } },
		/* 15 s apart, constant 0 */
		{ CHUNK_ENC_GORILLA, "4d43010182d67c0204d00fc8df020c0000000000000000c3a98000", 4,
		  { 1000, 16000, 31000, 46000 }, { 0, 0, 0, 0 } },
		/* jittered, 1, 2, stale, -0.0 */
		{ CHUNK_ENC_GORILLA, "4d430101ad6a170304d00fc8df02253ff0000000000000c3a99c25fffbffdc5effe0000000000006000f07fffe00000000000040", 4,
		  { 1000, 16001, 30999, 46000 },
		  { UINT64_C(0x3ff0000000000000), UINT64_C(0x4000000000000000),
		    STALE_NAN, UINT64_C(0x8000000000000000) } },
		/* packed: delta times, decimals (e 2, raw, gcd 25), stale */
		{ CHUNK_ENC_PACKED, "4d430102015965c705d00fe2d4031a0607f532006280"
		  "4405c85c1842565e1fbff80000000000010080", 5,
		  { 1000, 16001, 30999, 46000, 61002 },
		  { UINT64_C(0x3ff8000000000000), UINT64_C(0x4002000000000000),
		    STALE_NAN, UINT64_C(0x4008000000000000),
		    UINT64_C(0x400a000000000000) } },
	};
	uint8_t		buf[256];
	char		hex[600];
	size_t		i, j, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct series	s;
		uint8_t		*p;

		series_init(&s, cases[i].n);
		for (j = 0; j < s.n; j++) {
			s.t[j] = cases[i].t[j];
			s.v[j] = bitsd(cases[i].v[j]);
		}
		p = encode(&s, cases[i].enc, &len);
		tohex(p, len, hex);
		ck_assert_str_eq(hex, cases[i].hex);
		free(p);
		unhex(cases[i].hex, buf, &len);
		check_decode(buf, len, &s);
		if (cases[i].enc == CHUNK_ENC_PACKED) {
			struct chunk_app	*a = chunk_app_new();
			const uint8_t		*q, *tq;
			size_t			 qlen, tqlen;

			/* the shared form: values chunk, then its column */
			for (j = 0; j < s.n; j++)
				chunk_app_add(&a, s.t[j], s.v[j]);
			ck_assert_int_eq(chunk_app_bytes_out_shared(a, &q,
			    &qlen, &tq, &tqlen), 0);
			tohex(q, qlen, hex);
			ck_assert_str_eq(hex, "4d430103e766e61905d00fe2d40317"
			    "69d691424405c85c1842565e1fbff80000000000010080");
			tohex(tq, tqlen, hex);
			ck_assert_str_eq(hex, "4d43010469d6914205d00fe2d40306"
			    "07f532006280");
			chunk_app_free(a);
		}
		series_free(&s);
	}
}
END_TEST

/* A small chunk with a bit of everything, for the corruption tests. */
static uint8_t *
small_chunk(int enc, size_t *len, struct series *s)
{
	static const double vals[] = { 1, 2, 2, 2.5, -0.0, 1e300, 3, 3 };
	size_t	i;

	series_init(s, 8);
	for (i = 0; i < s->n; i++) {
		s->t[i] = 1795615778000LL + (int64_t)i * 15000 +
		    (int64_t)(i % 3);
		s->v[i] = vals[i];
	}
	s->v[6] = bitsd(STALE_NAN);
	return encode(s, enc, len);
}

/* Decode all of p; -1 on error.  Must never crash nor loop. */
static int
decode_all(const uint8_t *p, size_t len, int checked, size_t *nout)
{
	struct chunk_iter	it;
	int64_t			t;
	double			v;
	int			r;

	*nout = 0;
	r = checked ? chunk_iter_init(&it, p, len) :
	    chunk_iter_init_unchecked(&it, p, len);
	if (r == -1) {
		ck_assert_int_ne(it.errmsg[0], '\0');
		return -1;
	}
	while ((r = chunk_iter_next(&it, &t, &v)) == 1) {
		(*nout)++;
		ck_assert_uint_le(*nout, CHUNK_MAX_SAMPLES);
	}
	if (r == -1)
		ck_assert_int_ne(it.errmsg[0], '\0');
	return r;
}

START_TEST(test_bit_flips)
{
	struct series	 s;
	uint8_t		*p;
	size_t		 len, bit, n, e;

	for (e = 0; e < NENC; e++) {
		p = small_chunk(encodings[e], &len, &s);
		ck_assert_int_eq(decode_all(p, len, 1, &n), 0);
		ck_assert_uint_eq(n, 8);
		for (bit = 0; bit < len * 8; bit++) {
			p[bit / 8] ^= (uint8_t)(1 << (bit % 8));
			/* the CRC (or the header check) catches every flip */
			ck_assert_msg(decode_all(p, len, 1, &n) == -1,
			    "enc %d bit %zu", encodings[e], bit);
			/* and the decoder without the CRC survives it */
			(void)decode_all(p, len, 0, &n);
			p[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		}
		free(p);
		series_free(&s);
	}
}
END_TEST

/*
 * Scrapes on a 15 s grid with up to 3 ms of jitter, the batch loops' main
 * case: constant values (a loop without a value reader), decimal
 * counters, doubles that are not decimals and stale markers (exceptions),
 * each decoded in batches of every size check_decode2 tries, then with
 * every bit of the packed chunk flipped and the CRC bypassed: an error or
 * samples, in batches of 64, never more than the header's count.
 */
START_TEST(test_batch_paths)
{
	struct chunk_iter	 it;
	struct series		 s;
	uint64_t		 seed = 11;
	int64_t			 bt[64];
	double			 bv[64], c = 1e6;
	uint8_t			*p;
	size_t			 i, len, bit, kind, n;
	int			 r;

	series_init(&s, 480);
	for (i = 0; i < s.n; i++)
		s.t[i] = 1795615778000LL + (int64_t)i * 15000 +
		    (int64_t)(rng_next(&seed) % 7) - 3;
	for (kind = 0; kind < 4; kind++) {
		for (i = 0; i < s.n; i++) {
			switch (kind) {
			case 0:
				s.v[i] = 8589934592.0;
				break;
			case 1:
				c += (double)(rng_next(&seed) % 1000) / 100;
				s.v[i] = c;
				break;
			case 2:
				s.v[i] = 1.0 / (double)(i + 3);
				break;
			default:
				s.v[i] = i % 50 == 7 ? bitsd(STALE_NAN) :
				    (double)(rng_next(&seed) % 90);
				break;
			}
		}
		roundtrip(&s);
		p = encode(&s, CHUNK_ENC_PACKED, &len);
		for (bit = 64; bit < len * 8; bit++) {
			p[bit / 8] ^= (uint8_t)(1 << (bit % 8));
			n = 0;
			if (chunk_iter_init_unchecked(&it, p, len) == 0) {
				while ((r = chunk_iter_batch(&it, bt, bv,
				    64)) > 0) {
					ck_assert_int_le(r, 64);
					n += (size_t)r;
				}
				ck_assert_uint_le(n, CHUNK_MAX_SAMPLES);
				if (r == -1)
					ck_assert_int_ne(it.errmsg[0], '\0');
			}
			p[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		}
		free(p);
	}
	series_free(&s);
}
END_TEST

/*
 * A Gorilla chunk (the head's open chunks are) read in batches gives what
 * reading it a sample at a time gives, sample for sample, and fails at
 * the same sample with the same message, also with any one of its bits
 * flipped and the CRC bypassed: timestamps on every width of the
 * delta-of-delta code (the 64-bit escape included), values in every case
 * of the XOR code.  A batch that fails returns none of its samples, so
 * the batches may stop short of the samples read one at a time.
 */
START_TEST(test_gorilla_batch_same)
{
	static const int64_t	 gaps[] = { 15000, 15001, 14000, 24000,
				    85000, 615000, 5015000 };
	struct chunk_iter	 a, b;
	struct series		 s;
	uint64_t		 seed = 5;
	int64_t			 t, bt[64], *at;
	double			 v, bv[64], *av;
	uint8_t			*p;
	size_t			 i, len, bit, na, nb, flips = 0;
	int			 ra, rb;
	char			 msg[sizeof(a.errmsg)];

	series_init(&s, 300);
	/* a flip in the header's count may promise more samples */
	at = calloc(CHUNK_MAX_SAMPLES + 1, sizeof(*at));
	av = calloc(CHUNK_MAX_SAMPLES + 1, sizeof(*av));
	ck_assert_ptr_nonnull(at);
	ck_assert_ptr_nonnull(av);
	t = 1795615778000LL;
	for (i = 0; i < s.n; i++) {
		s.t[i] = t;
		t += gaps[rng_next(&seed) % 7];
		if (i % 3 == 0 && i > 0)
			s.v[i] = s.v[i - 1];
		else if (i % 3 == 1 && i > 0)
			s.v[i] = s.v[i - 1] + 1;
		else
			s.v[i] = (double)(rng_next(&seed) % 1000000) / 7;
	}
	p = encode(&s, CHUNK_ENC_GORILLA, &len);
	check_decode(p, len, &s);
	for (bit = 0; bit <= len * 8; bit++) {
		/* bit len * 8: none flipped */
		if (bit < len * 8)
			p[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		ra = chunk_iter_init_unchecked(&a, p, len);
		rb = chunk_iter_init_unchecked(&b, p, len);
		ck_assert_int_eq(ra, rb);
		if (ra == -1)
			goto next;
		/* (few assertions: each costs Check a write) */
		na = 0;
		while (na <= CHUNK_MAX_SAMPLES &&
		    (ra = chunk_iter_next(&a, &t, &v)) == 1) {
			at[na] = t;
			av[na++] = v;
		}
		ck_assert_uint_le(na, CHUNK_MAX_SAMPLES);
		snprintf(msg, sizeof(msg), "%s", a.errmsg);
		nb = 0;
		while ((rb = chunk_iter_batch(&b, bt, bv, 64)) > 0) {
			ck_assert_msg(nb + (size_t)rb <= na &&
			    memcmp(bt, at + nb, (size_t)rb * sizeof(*bt)) ==
			    0 && memcmp(bv, av + nb, (size_t)rb *
			    sizeof(*bv)) == 0, "bit %zu: batch at %zu differs",
			    bit, nb);
			nb += (size_t)rb;
		}
		ck_assert_msg(ra == rb, "bit %zu: %d %d", bit, ra, rb);
		ck_assert_str_eq(b.errmsg, msg);
		if (ra == 0)
			ck_assert_uint_eq(nb, na);
		else
			flips++;
		if (bit == len * 8) {
			ck_assert_int_eq(ra, 0);
			ck_assert_uint_eq(na, s.n);
		}
next:
		if (bit < len * 8)
			p[bit / 8] ^= (uint8_t)(1 << (bit % 8));
	}
	/* most flips show without the CRC too */
	ck_assert_uint_gt(flips, len * 4);
	free(p);
	free(at);
	free(av);
	series_free(&s);
}
END_TEST

START_TEST(test_crc_error)
{
	struct chunk_iter	 it;
	struct series		 s;
	uint8_t			*p;
	size_t			 len, e;

	for (e = 0; e < NENC; e++) {
		p = small_chunk(encodings[e], &len, &s);
		p[len - 1] ^= 0x10;
		ck_assert_int_eq(chunk_iter_init(&it, p, len), -1);
		ck_assert_str_eq(it.errmsg, "chunk checksum mismatch");
		free(p);
		series_free(&s);
	}
	ck_assert_uint_eq(chunk_crc32c(0, "123456789", 9), 0xe3069283);
}
END_TEST

START_TEST(test_truncations)
{
	struct series	 s;
	uint8_t		*p, *q;
	size_t		 len, cut, n, e;

	for (e = 0; e < NENC; e++) {
		p = small_chunk(encodings[e], &len, &s);
		for (cut = 0; cut < len; cut++) {
			/* a private copy: ASan sees any read past the cut */
			q = malloc(cut == 0 ? 1 : cut);
			ck_assert_ptr_nonnull(q);
			memcpy(q, p, cut);
			ck_assert_msg(decode_all(q, cut, 1, &n) == -1,
			    "cut %zu", cut);
			ck_assert_int_eq(decode_all(q, cut, 0, &n), -1);
			free(q);
		}
		free(p);
		series_free(&s);
	}
}
END_TEST

/* Payloads cut short, with the length field fixed to match. */
START_TEST(test_payload_truncated)
{
	struct chunk_iter	 it;
	struct series		 s;
	uint8_t			*p;
	size_t			 len, hlen, n, e;
	int64_t			 t;
	double			 v;

	for (e = 0; e < NENC; e++) {
		p = small_chunk(encodings[e], &len, &s);
		hlen = len - payload_len(p, len);
		ck_assert_uint_lt(p[hlen - 1], 128);	/* a 1-byte varint */
		while (p[hlen - 1] > 0) {
			p[hlen - 1]--;
			len--;
			ck_assert_int_eq(decode_all(p, len, 0, &n), -1);
			ck_assert_uint_lt(n, 8);
		}
		if (encodings[e] == CHUNK_ENC_GORILLA) {
			ck_assert_int_eq(chunk_iter_init_unchecked(&it, p, len),
			    0);
			ck_assert_int_eq(chunk_iter_next(&it, &t, &v), -1);
			/* once failed, the iterator stays failed */
			ck_assert_int_eq(chunk_iter_next(&it, &t, &v), -1);
		} else
			ck_assert_int_eq(chunk_iter_init_unchecked(&it, p, len),
			    -1);
		ck_assert_str_eq(it.errmsg, "chunk data truncated");
		free(p);
		series_free(&s);
	}
}
END_TEST

START_TEST(test_header_errors)
{
	static const struct {
		const char	*hex;
		const char	*msg;
	} cases[] = {
		{ "", "chunk too short (0 bytes)" },
		{ "4d43010100000000", "chunk header truncated" },
		{ "4d4401010000000001000000", "bad chunk magic" },
		{ "4d43020100000000010000000000", "unsupported chunk version 2" },
		{ "4d4301090000000001000000", "unknown chunk encoding 9" },
		{ "4d430101000000000000000000", "chunk sample count 0 out of range" },
		{ "4d43010100000000812000000000", "chunk sample count 4097 out of range" },
		{ "4d4301010000000001000100", "chunk time span inconsistent" },
		{ "4d4301010000000003000100", "chunk time span inconsistent" },
		/* first = INT64_MAX - 1 (zigzag fffffffffffffffffd..), span 2 */
		{ "4d4301010000000003fcffffffffffffffff010200", "chunk time span inconsistent" },
		{ "4d43010100000000010000050000", "chunk length mismatch: header says 5 payload bytes, have 2" },
		{ "4d43010100000000010000ffffffffffffffffff7f", "chunk header truncated" },
	};
	struct chunk_iter	it;
	uint8_t			buf[64];
	size_t			i, len;
	uint32_t		count;
	int64_t			first, last;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unhex(cases[i].hex, buf, &len);
		ck_assert_int_eq(chunk_iter_init_unchecked(&it, buf, len), -1);
		ck_assert_str_eq(it.errmsg, cases[i].msg);
		ck_assert_int_eq(chunk_peek(buf, len, &count, &first, &last),
		    -1);
	}
}
END_TEST

START_TEST(test_bitstream)
{
	struct bitw	w;
	struct bitr	r;
	uint8_t		buf[64];
	uint64_t	seed = 3, vals[200];
	unsigned	widths[200];
	size_t		i, bits = 0;

	bitw_init(&w);
	for (i = 0; i < 200; i++) {
		widths[i] = (unsigned)(rng_next(&seed) % 65);
		vals[i] = rng_next(&seed);
		if (widths[i] < 64)
			vals[i] &= (UINT64_C(1) << widths[i]) - 1;
		bitw_write(&w, vals[i], widths[i]);
		bits += widths[i];
	}
	ck_assert_uint_eq(bitw_nbits(&w), bits);
	ck_assert_uint_eq(bitw_nbytes(&w), (bits + 7) / 8);
	{
		uint8_t	*out = malloc(bitw_nbytes(&w));

		bitw_copy(&w, out);
		bitr_init(&r, out, bitw_nbytes(&w));
		for (i = 0; i < 200; i++)
			ck_assert_uint_eq(bitr_readn(&r, widths[i]), vals[i]);
		ck_assert_int_eq(r.err, 0);
		ck_assert_uint_eq(bitr_left(&r), bitw_nbytes(&w) * 8 - bits);
		free(out);
	}
	bitw_free(&w);

	/* exact bytes, MSB first; then reading past the end fails */
	bitw_init(&w);
	bitw_write(&w, 1, 1);
	bitw_write(&w, 0, 2);
	bitw_write(&w, 0x1f, 5);
	bitw_write(&w, 0xabc, 12);
	bitw_copy(&w, buf);
	ck_assert_uint_eq(bitw_nbytes(&w), 3);
	ck_assert_uint_eq(buf[0], 0x9f);
	ck_assert_uint_eq(buf[1], 0xab);
	ck_assert_uint_eq(buf[2], 0xc0);
	bitw_free(&w);
	bitr_init(&r, buf, 3);
	ck_assert_uint_eq(bitr_read(&r, 20), 0x9fabc);
	ck_assert_uint_eq(bitr_peek(&r, 8), 0);
	ck_assert_uint_eq(bitr_read(&r, 4), 0);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(bitr_read(&r, 1), 0);
	ck_assert_int_eq(r.err, 1);
	ck_assert_uint_eq(bitr_read(&r, 1), 0);
	ck_assert_int_eq(r.err, 1);
}
END_TEST


/* Two series scraped together share a column, byte for byte. */
START_TEST(test_shared_columns)
{
	struct chunk_app	*a = chunk_app_new(), *b = chunk_app_new();
	struct chunk_app	*c = chunk_app_new();
	struct chunk_iter	 it;
	const uint8_t		*pa, *ta, *pb, *tb, *pc, *tc;
	uint8_t			*col;
	size_t			 i, la, lta, lb, ltb, lc, ltc, bit, n;
	struct series		 s;
	int64_t			 t, *tt;
	double			 v;
	char			 err[96];

	series_init(&s, 200);
	for (i = 0; i < s.n; i++) {
		s.t[i] = 1795615778000LL + (int64_t)i * 15000 +
		    (int64_t)(i * 7 % 5) - 2;
		s.v[i] = (double)i * 0.5;
		ck_assert_int_eq(chunk_app_add(&a, s.t[i], s.v[i]), 0);
		ck_assert_int_eq(chunk_app_add(&b, s.t[i], 1e6 - (double)i), 0);
		ck_assert_int_eq(chunk_app_add(&c, s.t[i] + (i == 100), 1), 0);
	}
	ck_assert_int_eq(chunk_app_bytes_out_shared(a, &pa, &la, &ta, &lta),
	    0);
	ck_assert_int_eq(chunk_app_bytes_out_shared(b, &pb, &lb, &tb, &ltb),
	    0);
	ck_assert_int_eq(chunk_app_bytes_out_shared(c, &pc, &lc, &tc, &ltc),
	    0);
	ck_assert_uint_eq(lta, ltb);
	ck_assert_int_eq(memcmp(ta, tb, lta), 0);
	/* a's values with b's column: the same timestamps */
	check_decode2(pa, la, tb, ltb, NULL, &s);
	/* b's column decoded once serves a and b */
	tt = calloc(CHUNK_MAX_SAMPLES, sizeof(*tt));
	ck_assert_ptr_nonnull(tt);
	ck_assert_int_eq(chunk_times_decode(tb, ltb, tt, err, sizeof(err)),
	    200);
	check_decode2(pa, la, tb, ltb, tt, &s);
	/* the column's bytes are still checked against the chunk */
	ck_assert_int_eq(chunk_iter_init_decoded(&it, pa, la, tc, ltc, tt),
	    -1);
	ck_assert_str_eq(it.errmsg, "timestamp column does not match the "
	    "chunk");
	/* c's timestamps differ in one sample: its column is another */
	ck_assert_int_eq(chunk_iter_init_shared(&it, pa, la, tc, ltc), -1);
	ck_assert_str_eq(it.errmsg, "timestamp column does not match the "
	    "chunk");
	ck_assert_int_eq(chunk_iter_init_shared(&it, pa, la, pb, lb), -1);
	ck_assert_str_eq(it.errmsg, "timestamp column does not match the "
	    "chunk");
	ck_assert_int_eq(chunk_iter_init_shared(&it, pa, la, ta, 5), -1);
	ck_assert_str_eq(it.errmsg, "timestamp column: chunk too short "
	    "(5 bytes)");
	/* every flip of the column is caught; unchecked, none crashes */
	col = malloc(lta);
	ck_assert_ptr_nonnull(col);
	memcpy(col, ta, lta);
	for (bit = 0; bit < lta * 8; bit++) {
		col[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		ck_assert_int_eq(chunk_iter_init_shared(&it, pa, la, col, lta),
		    -1);
		ck_assert_int_eq(chunk_times_decode(col, lta, tt, err,
		    sizeof(err)), -1);
		if (chunk_iter_init_shared_unchecked(&it, pa, la, col,
		    lta) == 0) {
			n = 0;
			while (chunk_iter_next(&it, &t, &v) == 1)
				ck_assert_uint_le(++n, s.n);
		}
		col[bit / 8] ^= (uint8_t)(1 << (bit % 8));
	}
	free(col);
	/* and every flip or cut of the values chunk */
	col = malloc(la);
	ck_assert_ptr_nonnull(col);
	memcpy(col, pa, la);
	for (bit = 0; bit < la * 8; bit++) {
		col[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		ck_assert_int_eq(chunk_iter_init_shared(&it, col, la, ta, lta),
		    -1);
		if (chunk_iter_init_shared_unchecked(&it, col, la, ta,
		    lta) == 0) {
			n = 0;
			while (chunk_iter_next(&it, &t, &v) == 1)
				ck_assert_uint_le(++n, s.n);
		}
		col[bit / 8] ^= (uint8_t)(1 << (bit % 8));
	}
	for (i = 0; i < la; i++) {
		ck_assert_int_eq(chunk_iter_init_shared(&it, col, i, ta, lta),
		    -1);
		ck_assert_int_eq(chunk_iter_init_shared_unchecked(&it, col, i,
		    ta, lta), -1);
	}
	free(col);
	/* a flipped byte of the column's payload: its checksum says so */
	col = malloc(lta);
	ck_assert_ptr_nonnull(col);
	memcpy(col, ta, lta);
	col[lta - 1] ^= 0x10;
	ck_assert_int_eq(chunk_times_decode(col, lta, tt, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "timestamp column checksum mismatch");
	free(col);
	free(tt);
	chunk_app_free(a);
	chunk_app_free(b);
	chunk_app_free(c);
	series_free(&s);
}
END_TEST

/* The parameters a packed chunk starts with (storage/FORMAT.md). */
struct modes {
	int	tmode, vmode, e, xf;
};

static unsigned
bits_at(const uint8_t *p, size_t *bitpos, unsigned n)
{
	unsigned	v = 0;

	while (n-- > 0) {
		v = v << 1 | ((p[*bitpos / 8] >> (7 - *bitpos % 8)) & 1);
		(*bitpos)++;
	}
	return v;
}

static void
packed_modes(const uint8_t *p, size_t len, struct modes *m)
{
	size_t		off = len - payload_len(p, len), tlen = 0, pos;
	unsigned	shift = 0;
	uint32_t	count;
	int64_t		first, last;

	ck_assert_uint_eq(p[3], CHUNK_ENC_PACKED);
	ck_assert_int_eq(chunk_peek(p, len, &count, &first, &last), 0);
	m->tmode = -1;
	if (count >= 3) {
		do {
			tlen |= (size_t)(p[off] & 0x7f) << shift;
			shift += 7;
		} while (p[off++] & 0x80);
		pos = off * 8;
		m->tmode = (int)bits_at(p, &pos, 2);
		off += tlen;
	}
	pos = off * 8;
	m->vmode = (int)bits_at(p, &pos, 2);
	m->e = m->xf = -1;
	if (m->vmode == 1)
		m->e = (int)bits_at(p, &pos, 5);
	if (m->vmode != 0)
		m->xf = (int)bits_at(p, &pos, 2);
}

/*
 * The planner picks what suits the data: grid or delta timestamps,
 * decimals at the smallest exponent, raw, delta or delta-of-delta
 * integers, bit patterns for non-decimals, XOR for noise.
 */
/*
 * The stripped form keeps the CRC and the payload; rebuilt from the
 * column's fields it is the same chunk byte for byte.  Another encoding,
 * or fields that are not the chunk's, are refused.
 */
START_TEST(test_strip)
{
	struct chunk_app	*a = chunk_app_new(), *b = chunk_app_new();
	const uint8_t		*p, *tp, *g, *bp, *btp;
	uint8_t			 st[4096], out[4096 + CHUNK_HDR_MAX];
	size_t			 i, len, tlen, glen, sl, blen, btlen;

	for (i = 0; i < 300; i++) {
		ck_assert_int_eq(chunk_app_add(&a, 1795615778000LL +
		    (int64_t)i * 15000, (double)(i % 17)), 0);
		ck_assert_int_eq(chunk_app_add(&b, 1795615778000LL +
		    (int64_t)i * 15000 + (i == 7), 1), 0);
	}
	ck_assert_int_eq(chunk_app_bytes_out_shared(a, &p, &len, &tp, &tlen),
	    0);
	ck_assert_uint_le(len, sizeof(st));
	sl = chunk_strip(p, len, tp, tlen, st);
	/* header: magic, version, encoding, CRC, count (2 bytes), first (6),
	 * span (3), payload length (2), and the column's CRC: all but the
	 * chunk's CRC go */
	ck_assert_uint_eq(sl, len - 21);
	ck_assert_int_eq(memcmp(st, p + 4, 4), 0);
	ck_assert_uint_eq(chunk_unstrip(st, sl, tp, tlen, out, sizeof(out)),
	    len);
	ck_assert_int_eq(memcmp(out, p, len), 0);
	ck_assert_uint_eq(chunk_unstrip(st, sl, tp, tlen, out,
	    sl + CHUNK_HDR_MAX - 1), 0);
	ck_assert_uint_eq(chunk_unstrip(st, 3, tp, tlen, out, sizeof(out)), 0);
	ck_assert_uint_eq(chunk_unstrip(st, sl, p, len, out, sizeof(out)), 0);
	/* another column (one timestamp differs), or not a shared-values
	 * chunk */
	ck_assert_int_eq(chunk_app_bytes_out_shared(b, &bp, &blen, &btp,
	    &btlen), 0);
	ck_assert_uint_eq(chunk_strip(p, len, btp, btlen, st), 0);
	ck_assert_uint_eq(chunk_strip(tp, tlen, tp, tlen, st), 0);
	ck_assert_int_eq(chunk_app_bytes_out(a, &g, &glen), 0);
	ck_assert_uint_eq(chunk_strip(g, glen, tp, tlen, st), 0);
	chunk_app_free(a);
	chunk_app_free(b);
}
END_TEST

START_TEST(test_planner)
{
	static const struct {
		const char	*what;
		int		 tmode, vmode, e, xf;
		size_t		 maxlen;
	} want[] = {
		{ "constant", 0, 1, 1, 0, 32 },
		{ "counter", 1, 1, 0, 1, 190 },
		{ "gauge 2 decimals", 1, 1, 2, 1, 205 },
		{ "accelerating float counter", 1, 1, 2, 2, 84 },
		{ "irregular times, page multiples", 0, 1, 0, 1, 340 },
		{ "sevenths", 1, 2, -1, 1, 115 },
		{ "noise with stale markers", 1, 2, -1, 1, 1050 },
	};
	struct series	 s;
	struct modes	 m;
	uint64_t	 seed = 5;
	uint8_t		*p;
	size_t		 i, k, len;
	double		 g = 50;

	series_init(&s, 120);
	for (k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		for (i = 0; i < s.n; i++) {
			uint64_t r = rng_next(&seed);

			/* 15 s with +-3 ms jitter, or irregular */
			s.t[i] = 1795615778000LL + (int64_t)i * 15000 +
			    (int64_t)(r % 7) - 3;
			switch (k) {
			case 0:
				s.t[i] = 1795615778000LL + (int64_t)i * 15000;
				s.v[i] = 42.5;
				break;
			case 1:
				s.v[i] = (double)(1000000 + i * 1200 +
				    (r >> 8) % 60);
				break;
			case 2:
				g += (double)((int64_t)((r >> 8) % 201) - 100) /
				    100;
				s.v[i] = round(g * 100) / 100;
				break;
			case 3:
				s.v[i] = (double)(123456 + (int64_t)(i * i) *
				    3) / 100;
				break;
			case 4:
				s.t[i] = (i == 0 ? 1795615778000LL :
				    s.t[i - 1]) + 1000 + (int64_t)((r >> 4) %
				    50000);
				s.v[i] = 4096.0 * (double)(250000 + i * 3 +
				    (r >> 20) % 5);
				break;
			case 5:
				s.v[i] = (double)(1000000 + i * 100) / 7;
				break;
			default:
				s.v[i] = i % 10 == 0 ? bitsd(STALE_NAN) :
				    bitsd(r >> 2);
				break;
			}
		}
		p = encode(&s, CHUNK_ENC_PACKED, &len);
		check_decode(p, len, &s);
		packed_modes(p, len, &m);
		ck_assert_msg(m.tmode == want[k].tmode &&
		    m.vmode == want[k].vmode && m.e == want[k].e &&
		    m.xf == want[k].xf, "%s: tmode %d vmode %d e %d xf %d",
		    want[k].what, m.tmode, m.vmode, m.e, m.xf);
		ck_assert_msg(len <= want[k].maxlen, "%s: %zu bytes",
		    want[k].what, len);
		free(p);
	}
	/* one sample that is not a decimal: XOR from zero */
	s.n = 1;
	s.v[0] = 1.0 / 3;
	p = encode(&s, CHUNK_ENC_PACKED, &len);
	check_decode(p, len, &s);
	packed_modes(p, len, &m);
	ck_assert_int_eq(m.vmode, 0);
	free(p);
	s.n = 120;
	series_free(&s);
}
END_TEST

/*
 * The bucket code: what the planner counts is what is written, every
 * value comes back, and impossible parameters are refused.
 */
START_TEST(test_icode)
{
	static const char *bad[] = {
		"20",		/* nsym 2: ub 0, ub 0 (not ascending) */
		"3f8",		/* nsym 2: ub 127 */
		"2000",		/* lengths 0 */
		"20020c0",	/* nsym 2, ub 0, 1; lengths 1, 2: incomplete */
	};
	struct icode	 c;
	struct icode_dec d;
	struct bitw	 w;
	struct bitr	 r;
	uint64_t	 z[500], seed = 11, bits, before, x;
	uint8_t		*buf, raw[8];
	size_t		 i, k, nesc, n = 500, rawlen;
	int		 esc;

	for (k = 0; k < 8; k++) {
		for (i = 0; i < n; i++) {
			uint64_t rr = rng_next(&seed);

			switch (k) {
			case 0: z[i] = 0; break;
			case 1: z[i] = rr % 8; break;
			case 2: z[i] = i % 10 == 0 ? rr % 1000 : 0; break;
			case 3: z[i] = rr >> (rr % 64); break;
			case 4: z[i] = rr; break;
			case 5: z[i] = ~(uint64_t)0 - rr % 3; break;
			case 6: z[i] = (uint64_t)1 << (rr % 64); break;
			default: z[i] = rr % 5 == 0 ? rr : rr % 40; break;
			}
		}
		nesc = k % 3 == 2 ? (n + 70) / 71 : 0;
		bits = icode_plan(&c, z, n, nesc);
		if (k % 2 == 1) {
			bits = icode_refine(&c, z, n, nesc, &before);
			ck_assert_uint_le(bits, before);
		}
		bitw_init(&w);
		icode_put_params(&w, &c);
		for (i = 0; i < n; i++) {
			icode_put(&w, &c, z[i]);
			if (nesc > 0 && i % 71 == 0)
				icode_put_esc(&w, &c);
		}
		ck_assert_uint_eq(bitw_nbits(&w), bits);
		buf = malloc(bitw_nbytes(&w) + 1);
		ck_assert_ptr_nonnull(buf);
		bitw_copy(&w, buf);
		bitr_init(&r, buf, bitw_nbytes(&w));
		ck_assert_int_eq(icode_get_params(&r, &d), 0);
		for (i = 0; i < n; i++) {
			ck_assert_int_eq(icode_get(&r, &d, &x), 0);
			ck_assert_uint_eq(x, z[i]);
			if (nesc > 0 && i % 71 == 0)
				ck_assert_int_eq(icode_get(&r, &d, &x), 1);
		}
		ck_assert_int_eq(r.err, 0);
		ck_assert_uint_lt(bitr_left(&r), 8);
		/* past the end: an error, not a read */
		(void)icode_get(&r, &d, &x);
		if (bitr_left(&r) == 0 && d.maxtot > 0)
			ck_assert_int_eq(r.err, 1);
		free(buf);
		bitw_free(&w);
		(void)esc;
	}
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		unhex_bits(bad[k], raw, &rawlen);
		bitr_init(&r, raw, rawlen);
		ck_assert_msg(icode_get_params(&r, &d) == -1, "%s", bad[k]);
	}
}
END_TEST

/*
 * chunk_app_load: samples handed in decoded give bytes_out_shared the same
 * bytes as the same samples appended one by one; bad input loads nothing,
 * and a loaded appender refuses what needs its Gorilla stream.
 */
START_TEST(test_load)
{
	struct chunk_app	*a = chunk_app_new(), *b = chunk_app_new();
	const uint8_t		*pa, *pb, *ta, *tb;
	size_t			 la, lb, lta, ltb, i, n = 500;
	int64_t			 t[501];
	double			 v[501];
	uint8_t			 buf[64];

	for (i = 0; i < n; i++) {
		t[i] = 1700000000000 + (int64_t)i * 15000 + (int64_t)(i % 3);
		v[i] = (double)(i * i % 977) / 8.0;
		ck_assert_int_eq(chunk_app_add(&a, t[i], v[i]), 0);
	}
	ck_assert_int_eq(chunk_app_load(b, t, v, 0), -1);
	ck_assert_int_eq(chunk_app_load(b, t, v, CHUNK_MAX_SAMPLES + 1), -1);
	t[n] = t[n - 1];
	v[n] = 0;
	ck_assert_int_eq(chunk_app_load(b, t, v, n + 1), -1);
	ck_assert_uint_eq(chunk_app_count(b), 0);
	ck_assert_int_eq(chunk_app_load(b, t, v, n), 0);
	ck_assert_int_eq(chunk_app_load(b, t, v, n), -1);
	ck_assert_uint_eq(chunk_app_count(b), n);
	ck_assert_int_eq(chunk_app_first(b), t[0]);
	ck_assert_int_eq(chunk_app_last(b), t[n - 1]);
	ck_assert_int_eq(chunk_app_add(&b, t[n - 1] + 1000, 1.0), -1);
	ck_assert_uint_eq(chunk_app_copy(b, buf, sizeof(buf)), 0);
	ck_assert_int_eq(chunk_app_bytes_out(b, &pb, &lb), -1);
	ck_assert_int_eq(chunk_app_bytes_out_shared(a, &pa, &la, &ta, &lta),
	    0);
	ck_assert_int_eq(chunk_app_bytes_out_shared(b, &pb, &lb, &tb, &ltb),
	    0);
	ck_assert_uint_eq(la, lb);
	ck_assert_uint_eq(lta, ltb);
	ck_assert_mem_eq(pa, pb, la);
	ck_assert_mem_eq(ta, tb, lta);
	/* Once trimmed, the loaded samples are gone. */
	chunk_app_trim(b);
	ck_assert_int_eq(chunk_app_bytes_out_shared(b, &pb, &lb, &tb, &ltb),
	    -1);
	chunk_app_reset(b);
	ck_assert_int_eq(chunk_app_add(&b, t[0], v[0]), 0);
	chunk_app_free(a);
	chunk_app_free(b);
}
END_TEST

static Suite *
chunk_suite(void)
{
	Suite	*s = suite_create("chunk");
	TCase	*tc = tcase_create("chunk");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_bitstream);
	tcase_add_test(tc, test_strip);
	tcase_add_test(tc, test_constant);
	tcase_add_test(tc, test_counters);
	tcase_add_test(tc, test_random_doubles);
	tcase_add_test(tc, test_special_values);
	tcase_add_test(tc, test_bucket_edges);
	tcase_add_test(tc, test_int64_extremes);
	tcase_add_test(tc, test_app_grows);
	tcase_add_test(tc, test_irregular_times);
	tcase_add_test(tc, test_max_samples);
	tcase_add_test(tc, test_out_of_order);
	tcase_add_test(tc, test_checkpoint);
	tcase_add_test(tc, test_golden);
	tcase_add_test(tc, test_bit_flips);
	tcase_add_test(tc, test_crc_error);
	tcase_add_test(tc, test_truncations);
	tcase_add_test(tc, test_payload_truncated);
	tcase_add_test(tc, test_header_errors);
	tcase_add_test(tc, test_shared_columns);
	tcase_add_test(tc, test_planner);
	tcase_add_test(tc, test_icode);
	tcase_add_test(tc, test_batch_paths);
	tcase_add_test(tc, test_gorilla_batch_same);
	tcase_add_test(tc, test_load);
	suite_add_tcase(s, tc);
	return s;
}

TCHECK_MAIN(chunk_suite)
