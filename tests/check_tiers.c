/*
 * Tests of queries over the rollup tiers: a store in a temporary
 * directory gets a sample a minute, rolls it up and applies a short raw
 * retention at a given now, then the engine answers over ranges that only
 * the tiers cover and ranges that span tier buckets and raw samples
 * (storage/store.h, "Reading across tiers").  Expected values are worked
 * out by hand below each query.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcheck.h"
#include "tmpdir.h"
#include "buf.h"
#include "query/engine.h"
#include "query/gofmt.h"
#include "sample.h"
#include "storage/store.h"

#define MIN		60000LL
#define HOUR		(60 * MIN)
#define DAY		(24 * HOUR)
/* Week-aligned, so every 5m and 1h block starts on a round time. */
#define B		(2900 * 7 * DAY)

static char		*dir;
static struct store	*st;
static struct engine	*eng;

/*
 * g at minute i: a spike 10000 - i in the third minute of each 5m
 * bucket, else i mod 5: a bucket's max (its spike) is not its last value
 * (4), and the spikes fall over time, so the oldest bucket of a window
 * holds its max.  c counts the minutes.
 */
static double
g_at(long i)
{
	return i % 5 == 2 ? 10000.0 - (double)i : (double)(i % 5);
}

static void
add(struct batch *b, const char *name, int64_t t, double v)
{
	ck_assert_int_eq(batch_add(b, name, NULL, 0, t, v), 0);
}

/*
 * A store with retention RAW (and the 5m tier kept for KEEP_5M), chunks
 * of an hour; g and c a sample a minute for MINUTES from B, sp (its
 * value the minute) every ten minutes, and "old" for the first two hours
 * only; rolled up and trimmed at NOW.
 */
static void
open_filled(int64_t raw, int64_t keep_5m, long minutes, int64_t now)
{
	struct store_opts	 o;
	struct engine_opts	 eo;
	struct batch		*b;
	char			 err[256];
	long			 i;

	ck_assert_ptr_nonnull(dir = tmpdir_make("check_tiers"));
	store_opts_default(&o);
	o.dir = dir;
	o.flush_interval_ms = 0;
	o.retention_ms = raw;
	o.retention_5m_ms = keep_5m;
	o.chunk_target_samples = 60;
	o.chunk_max_span_ms = HOUR;
	st = store_open(&o, err, sizeof(err));
	ck_assert_msg(st != NULL, "%s", err);
	for (i = 0; i < minutes; i += 1000) {
		long j;

		b = batch_new();
		for (j = i; j < minutes && j < i + 1000; j++) {
			add(b, "g", B + j * MIN, g_at(j));
			add(b, "c", B + j * MIN, (double)j);
			if (j < 120)
				add(b, "old", B + j * MIN, (double)j);
			if (j % 10 == 0)
				add(b, "sp", B + j * MIN, (double)j);
		}
		ck_assert_int_eq(store_append_batch_sync(st, b, NULL, err,
		    sizeof(err)), 0);
		batch_free(b);
	}
	ck_assert_msg(store_rollup_run(st, now, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_msg(store_retention_run(st, now, err, sizeof(err)) == 0,
	    "%s", err);
	engine_opts_default(&eo);
	eng = engine_new(st, &eo);
}

static void
teardown(void)
{
	char err[256];

	engine_free(eng);
	eng = NULL;
	if (st != NULL)
		store_close(st, err, sizeof(err));
	st = NULL;
	if (dir != NULL)
		tmpdir_remove(dir);
	free(dir);
	dir = NULL;
}

/* The oldest raw sample of the only series named NAME. */
static int64_t
raw_oldest(const char *name)
{
	struct store_matcher	 m = { "__name__", name, STORE_MATCH_EQ };
	struct store_set	*set;
	struct store_iter	*it;
	int64_t			 t = INT64_MAX;
	double			 v;
	char			 err[256];

	ck_assert_int_eq(store_select(st, &m, 1, INT64_MIN, INT64_MAX,
	    STORE_TIER_ALL, &set, err, sizeof(err)), 0);
	ck_assert_uint_eq(store_set_len(set), 1);
	it = store_iter_new(st, store_set_id(set, 0), INT64_MIN, INT64_MAX,
	    STORE_TIER_RAW);
	if (store_iter_next(it, &t, &v) != 1)
		t = INT64_MAX;
	store_iter_free(it);
	store_set_free(set);
	return t;
}

/*
 * The result as text: "v" per series of an instant query, "v@m" per
 * point of a range query or a range vector, m the time in minutes after
 * B; series separated by "; ".
 */
static char *
run(const char *q, int64_t start, int64_t end, int64_t step)
{
	struct engine_result	*res;
	struct engine_error	 err;
	struct buf		 out = BUF_INIT;
	size_t			 i, k;

	if (engine_query(eng, q, strlen(q), start, end, step, 0, &res,
	    &err) == -1) {
		buf_printf(&out, "error: %s", err.msg);
		return buf_detach(&out);
	}
	if (res->type == Q_TYPE_SCALAR) {
		gofmt_float(&out, res->scalar);
		engine_result_free(res);
		return buf_detach(&out);
	}
	for (i = 0; i < res->nseries; i++) {
		const struct engine_series *s = &res->series[i];

		if (i > 0)
			buf_adds(&out, "; ");
		for (k = 0; k < s->n; k++) {
			if (k > 0)
				buf_addc(&out, ' ');
			gofmt_float(&out, s->v[k]);
			if (step > 0 || res->type == Q_TYPE_MATRIX)
				buf_printf(&out, "@%.5f",
				    (double)(s->t[k] - B) / MIN);
		}
	}
	engine_result_free(res);
	buf_addc(&out, '\0');
	return buf_detach(&out);
}

#define EXPECT_AT(q, t, want) do {					\
	char *got_ = run((q), (t), (t), 0);				\
	ck_assert_msg(strcmp(got_, (want)) == 0,			\
	    "%s at %lld: got [%s], want [%s]", (q),			\
	    (long long)((t) - B) / MIN, got_, (want));			\
	free(got_);							\
} while (0)

#define EXPECT_RANGE(q, s, e, st_, want) do {				\
	char *got_ = run((q), (s), (e), (st_));				\
	ck_assert_msg(strcmp(got_, (want)) == 0,			\
	    "%s: got [%s], want [%s]", (q), got_, (want));		\
	free(got_);							\
} while (0)

static char *
fmt(double v)
{
	struct buf b = BUF_INIT;

	gofmt_float(&b, v);
	buf_addc(&b, '\0');
	return buf_detach(&b);
}

/*
 * Append to OUT the points "v@m" of a range query with a step of a
 * minute, V at every minute of [FROM, TO] after B.
 */
static void
steps(struct buf *out, long v, long from, long to)
{
	long m;

	for (m = from; m <= to; m++)
		buf_printf(out, "%s%ld@%ld.00000", out->len > 0 ? " " : "",
		    v, m);
}

#define EXPECT_AT_V(q, t, v) do {					\
	char *want_ = fmt(v);						\
	EXPECT_AT((q), (t), want_);					\
	free(want_);							\
} while (0)

/*
 * 26 hours of samples, rolled up at B + 26h (the first day's 5m block
 * is complete) with a raw retention of 3h: the raw chunks before 23h go,
 * the 5m buckets stand in for them.
 */
START_TEST(test_5m_tier)
{
	int64_t	now = B + 26 * HOUR;
	double	sampled, interval;

	open_filled(3 * HOUR, 180 * DAY, 26 * 60, now);
	/* Retention kept the chunks from 23h on (the cutoff, 23h). */
	ck_assert_int_eq(raw_oldest("c"), B + 23 * HOUR);
	ck_assert_int_eq(raw_oldest("old"), INT64_MAX);

	/*
	 * A plain selector at 10h02 sees the bucket [9h55, 10h), at its
	 * last millisecond, with its last value (minute 599).
	 */
	EXPECT_AT("c", B + 10 * HOUR + 2 * MIN, "599");
	EXPECT_AT("g", B + 10 * HOUR + 2 * MIN, "4");
	/* Its timestamp: the bucket's last millisecond. */
	EXPECT_AT("timestamp(c)", B + 10 * HOUR + 2 * MIN, "1753955999.999");
	/* At 10h05 the bucket [10h, 10h05). */
	EXPECT_AT("c", B + 10 * HOUR + 5 * MIN, "604");
	/*
	 * Across the switch: buckets up to the one ending at 23h, then the
	 * raw samples (23h itself is raw: minute 1380).
	 */
	EXPECT_RANGE("c", B + 22 * HOUR + 50 * MIN, B + 23 * HOUR + 10 * MIN,
	    5 * MIN, "1369@1370.00000 1374@1375.00000 1380@1380.00000 "
	    "1385@1385.00000 1390@1390.00000");
	/* As a range vector: one point per bucket, then the samples. */
	EXPECT_AT("c[4m]", B + 23 * HOUR + 1 * MIN,
	    "1379@1379.99998 1380@1380.00000 1381@1381.00000");

	/*
	 * max_over_time over [22h30, 23h30]: the buckets of 22h30 to 22h55
	 * and the samples 23h00 to 23h30.  The highest spike is the oldest,
	 * minute 1352 in the bucket of 22h30: 10000 - 1352.  The last values
	 * alone would give the spike of minute 1382.
	 */
	EXPECT_AT("max_over_time(g[1h])", B + 23 * HOUR + 30 * MIN, "8648");
	/* min over the 4 buckets of [21h40, 22h): 0, their last values 4. */
	EXPECT_AT("min_over_time(g[20m])", B + 22 * HOUR, "0");
	/* count: 6 buckets of 5 and 31 samples. */
	EXPECT_AT("count_over_time(g[1h])", B + 23 * HOUR + 30 * MIN, "61");
	/*
	 * sum and avg over minutes 1350..1410: 12 spikes (1352..1407, step
	 * 5) of 10000 - i sum to 120000 - 16554 = 103446; the other minutes
	 * 12 times 0+1+3+4 = 96, and minute 1410 is 0.  61 in all.
	 */
	EXPECT_AT("sum_over_time(g[1h])", B + 23 * HOUR + 30 * MIN, "103542");
	EXPECT_AT_V("avg_over_time(g[1h])", B + 23 * HOUR + 30 * MIN,
	    103542.0 / 61);
	/* Only buckets: 12 of them, [10h, 11h). */
	EXPECT_AT("count_over_time(c[1h])", B + 11 * HOUR, "60");
	EXPECT_AT("last_over_time(g[1h])", B + 11 * HOUR, "4");
	/* Other functions see the last values: 12 of them. */
	EXPECT_AT("quantile_over_time(1, g[1h])", B + 11 * HOUR, "4");

	/*
	 * rate over [22h34m59.999, 23h34m59.999]: the bucket points from
	 * 22h34m59.999 (minute 1354) to 22h59m59.999, then the samples of
	 * 23h00 to 23h34 (minute 1414): 41 points, an increase of 60 over
	 * 3540.001 s.  Extrapolation (Prometheus's extrapolatedRate): the
	 * window starts at the first point; it ends 59.999 s after the last,
	 * less than 1.1 times the average gap (3540.001 / 40), so all of it
	 * is added.
	 */
	sampled = 3540001 / 1e3;
	interval = sampled + 0.0 + 59999 / 1e3;
	EXPECT_AT_V("rate(c[1h])", B + 23 * HOUR + 35 * MIN - 1,
	    60 * (interval / sampled / 3600));
	EXPECT_AT_V("increase(c[1h])", B + 23 * HOUR + 35 * MIN - 1,
	    60 * (interval / sampled));

	/*
	 * A series whose raw data is all gone is still selected where its
	 * buckets are, and only there.
	 */
	EXPECT_AT("old", B + HOUR, "59");
	EXPECT_AT("count_over_time(old[30m])", B + 2 * HOUR, "30");
	EXPECT_AT("old", B + 3 * HOUR, "");
	/* Its last 5m point (2h - 1ms) is looked back to for 5 minutes. */
	EXPECT_AT("old", B + 2 * HOUR + 5 * MIN - 1, "119");
	EXPECT_AT("old", B + 2 * HOUR + 5 * MIN, "");
	/* Raw data alone: as before. */
	EXPECT_AT("max_over_time(g[20m])", B + 25 * HOUR, "8518");
	EXPECT_AT("count_over_time(c[20m])", B + 25 * HOUR, "21");
}
END_TEST

/*
 * The store's side: store_titer gives the buckets (with their
 * aggregates) before the oldest raw sample, then the raw samples.
 */
START_TEST(test_titer)
{
	struct store_matcher	 m = { "__name__", "g", STORE_MATCH_EQ };
	struct store_set	*set;
	struct store_titer	*it;
	struct store_agg	 a[300];
	int64_t			 t[300];
	double			 v[300];
	char			 err[256];
	int			 n;

	open_filled(3 * HOUR, 180 * DAY, 26 * 60, B + 26 * HOUR);
	ck_assert_int_eq(store_select(st, &m, 1, B, B + HOUR, STORE_TIER_RAW,
	    &set, err, sizeof(err)), 0);
	ck_assert_uint_eq(store_set_len(set), 0);
	store_set_free(set);
	ck_assert_int_eq(store_select(st, &m, 1, B, B + HOUR, STORE_TIER_ALL,
	    &set, err, sizeof(err)), 0);
	ck_assert_uint_eq(store_set_len(set), 1);

	/* [B, 23h + 1m]: 23 hours of 12 buckets, then two samples. */
	it = store_titer_new(st, store_set_id(set, 0), B, B + 23 * HOUR + MIN);
	ck_assert_uint_eq(store_titer_ntier(it), 276);
	ck_assert_int_eq(store_titer_read(it, t, v, a, 10), 10);
	/* Minutes 0 to 4: 0, 1, 9998, 3, 4. */
	ck_assert_int_eq(t[0], B + 5 * MIN - 1);
	ck_assert(v[0] == 4 && a[0].min == 0 && a[0].max == 9998 &&
	    a[0].sum == 10006 && a[0].count == 5 && a[0].last == 4);
	ck_assert_int_eq(t[9], B + 50 * MIN - 1);
	ck_assert_int_eq(store_titer_read(it, t, v, a, 300), 266);
	ck_assert_int_eq(t[265], B + 23 * HOUR - 1);
	/* A call never mixes buckets and samples. */
	n = store_titer_read(it, t, v, NULL, 300);
	ck_assert_int_eq(n, 2);
	ck_assert(t[0] == B + 23 * HOUR && v[0] == g_at(23 * 60));
	ck_assert(t[1] == B + 23 * HOUR + MIN && v[1] == g_at(23 * 60 + 1));
	ck_assert_int_eq(store_titer_read(it, t, v, NULL, 300), 0);
	store_titer_free(it);

	/* Only the buckets whose point is in the range: [10h, 10h05). */
	it = store_titer_new(st, store_set_id(set, 0), B + 10 * HOUR,
	    B + 10 * HOUR + 5 * MIN - 1);
	ck_assert_uint_eq(store_titer_ntier(it), 1);
	ck_assert_int_eq(store_titer_read(it, t, v, a, 300), 1);
	ck_assert(t[0] == B + 10 * HOUR + 5 * MIN - 1 && a[0].count == 5);
	ck_assert_int_eq(store_titer_read(it, t, v, a, 300), 0);
	store_titer_free(it);
	/* A range after the oldest raw sample reads no tier. */
	it = store_titer_new(st, store_set_id(set, 0), B + 23 * HOUR,
	    B + 24 * HOUR);
	ck_assert_uint_eq(store_titer_ntier(it), 0);
	store_titer_free(it);
	store_titer_free(NULL);
	store_set_free(set);
}
END_TEST

/*
 * Eight days, rolled up at 8d + 1h: the 5m blocks of days 0 to 7 and the
 * 1h block of the first week are complete.  Raw data is kept for a day
 * (from 7d + 1h on), the 5m tier for two (its blocks from 6d on): the 1h
 * buckets stand in before 6d, the 5m ones from 6d to 7d + 1h.
 */
START_TEST(test_1h_tier)
{
	struct engine_opts	eo;
	int64_t			now = B + 8 * DAY + HOUR;
	double			dstart, dend, interval;
	struct buf		want, want2;
	long			m;

	open_filled(DAY, 2 * DAY, 8 * 24 * 60, now);
	ck_assert_int_eq(raw_oldest("c"), B + 7 * DAY + HOUR);

	/* The 1h bucket [2d23h, 3d) at 3d - 1ms: minute 4319. */
	EXPECT_AT("c", B + 3 * DAY + 2 * MIN, "4319");
	/*
	 * An hour's point is looked back to for an hour: found until the
	 * next one, as last_over_time over the bucket width finds it.
	 */
	EXPECT_AT("c", B + 3 * DAY + 30 * MIN, "4319");
	EXPECT_AT("last_over_time(c[1h])", B + 3 * DAY + 30 * MIN, "4319");
	EXPECT_AT("c", B + 3 * DAY + HOUR - 2, "4319");
	EXPECT_AT("c", B + 3 * DAY + HOUR - 1, "4379");
	/* Where the buckets stop, an hour after the last point. */
	EXPECT_AT("old", B + 3 * HOUR - 1, "119");
	EXPECT_AT("old", B + 3 * HOUR, "");
	/* A lookback longer than the bucket applies to buckets too. */
	engine_free(eng);
	engine_opts_default(&eo);
	eo.lookback_ms = 2 * HOUR;
	eng = engine_new(st, &eo);
	EXPECT_AT("old", B + 4 * HOUR - 1, "119");
	EXPECT_AT("old", B + 4 * HOUR, "");
	engine_free(eng);
	engine_opts_default(&eo);
	eng = engine_new(st, &eo);

	/*
	 * Steps of 7 minutes from 2d0h03 to 2d6h03, not aligned to the
	 * hour: each finds the hour bucket ending at or before it (its
	 * point at the hour H - 1 ms, its last value minute H - 1), plain,
	 * summed and in a binary operator alike.
	 */
	want = (struct buf)BUF_INIT;
	want2 = (struct buf)BUF_INIT;
	for (m = 2 * 1440 + 3; m <= 2 * 1440 + 6 * 60 + 3; m += 7) {
		long h = m / 60 * 60;

		buf_printf(&want, "%s%ld@%ld.00000", want.len > 0 ? " " : "",
		    h - 1, m);
		buf_printf(&want2, "%s%ld@%ld.00000", want2.len > 0 ? " " :
		    "", 2 * (h - 1), m);
	}
	buf_addc(&want, '\0');
	buf_addc(&want2, '\0');
	EXPECT_RANGE("c", B + 2 * DAY + 3 * MIN, B + 2 * DAY + 6 * HOUR +
	    3 * MIN, 7 * MIN, want.data);
	EXPECT_RANGE("sum(c)", B + 2 * DAY + 3 * MIN, B + 2 * DAY +
	    6 * HOUR + 3 * MIN, 7 * MIN, want.data);
	EXPECT_RANGE("c * 2", B + 2 * DAY + 3 * MIN, B + 2 * DAY +
	    6 * HOUR + 3 * MIN, 7 * MIN, want2.data);
	buf_free(&want);
	buf_free(&want2);

	/*
	 * sp (every ten minutes) from 5d23h55 to 6d0h15, a minute a step,
	 * across the switch from hour buckets to 5m ones at 6d (minute
	 * 8640).  The hour point of 5d23h - 1ms (its last sample 8570) until
	 * the next, 6d - 1ms (8630), which holds until the first 5m point,
	 * 6d0h05 - 1ms (8640).  That one holds for 5 minutes only: the
	 * bucket [6d0h05, 6d0h10) holds no sample, so 8650 to 8654 have
	 * nothing, then the bucket of 8650 at 8655 - 1ms.
	 */
	want = (struct buf)BUF_INIT;
	steps(&want, 8570, 8635, 8639);
	steps(&want, 8630, 8640, 8644);
	steps(&want, 8640, 8645, 8649);
	steps(&want, 8650, 8655, 8655);
	buf_addc(&want, '\0');
	EXPECT_RANGE("sp", B + 8635 * MIN, B + 8655 * MIN, MIN, want.data);
	buf_free(&want);
	/*
	 * From the 5m buckets to the raw samples at 7d1h (minute 10140):
	 * the bucket of 10130 from 10135 - 1ms to 10140 - 1ms, then the raw
	 * sample of 10140 with Prometheus's lookback again: 5 minutes to
	 * the millisecond.
	 */
	want = (struct buf)BUF_INIT;
	steps(&want, 10130, 10135, 10139);
	steps(&want, 10140, 10140, 10145);
	steps(&want, 10150, 10150, 10150);
	buf_addc(&want, '\0');
	EXPECT_RANGE("sp", B + 10130 * MIN, B + 10150 * MIN, MIN, want.data);
	buf_free(&want);
	EXPECT_AT("sp", B + 10140 * MIN - 1, "10130");
	EXPECT_AT("sp", B + 10140 * MIN, "10140");
	EXPECT_AT("sp", B + 10145 * MIN, "10140");
	EXPECT_AT("sp", B + 10145 * MIN + 1, "");
	/* Hourly steps across the switch from the 1h to the 5m tier. */
	EXPECT_RANGE("c", B + 5 * DAY + 22 * HOUR, B + 6 * DAY + HOUR, HOUR,
	    "8519@8520.00000 8579@8580.00000 8639@8640.00000 "
	    "8699@8700.00000");
	/*
	 * [5d1h, 6d1h]: 23 hour buckets (5d1h to 5d23h) of 60 samples,
	 * then 12 of the 5m buckets of 6d, of 5.
	 */
	EXPECT_AT("count_over_time(c[1d])", B + 6 * DAY + HOUR, "1440");
	/* The oldest spike, minute 7262 in the hour bucket of 5d1h. */
	EXPECT_AT("max_over_time(g[1d])", B + 6 * DAY + HOUR, "2738");
	EXPECT_AT("min_over_time(g[1d])", B + 6 * DAY + HOUR, "0");
	/*
	 * rate over [2d21h, 3d]: the hour points at 2d22h - 1ms (minute
	 * 4199), 2d23h - 1ms and 3d - 1ms (4319): 120 over 7200 s,
	 * extrapolated by the 3599.999 s before the first (under 1.1
	 * times the average gap of 3600 s) and the 0.001 s after the last.
	 */
	dstart = 3599999 / 1e3;
	dend = 1 / 1e3;
	interval = 7200 + dstart + dend;
	EXPECT_AT_V("rate(c[3h])", B + 3 * DAY, 120 * (interval / 7200 /
	    10800));
}
END_TEST

static Suite *
tiers_suite(void)
{
	Suite	*s = suite_create("tiers");
	TCase	*tc = tcase_create("tiers");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_5m_tier);
	tcase_add_test(tc, test_1h_tier);
	tcase_add_test(tc, test_titer);
	suite_add_tcase(s, tc);
	return s;
}

TCHECK_MAIN(tiers_suite)
