/*
 * Tests of the PromQL evaluator on a store filled in a temporary
 * directory: lookback and staleness markers, rate/increase/irate and
 * counter resets, regression, the *_over_time family, aggregations,
 * vector matching and its errors, histogram_quantile, offset, @,
 * subqueries, the functions, result order, the limits, and the Go float
 * formatting of the API.  Expected values are worked out by hand from
 * Prometheus's definitions (the arithmetic is noted where it is not
 * obvious); the differential test against a real Prometheus covers the
 * same ground on more data.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tcheck.h"
#include "api_query.h"
#include "buf.h"
#include "query/engine.h"
#include "query/gofmt.h"
#include "sample.h"
#include "storage/store.h"

/* All sample times are seconds after B. */
#define B	1000020		/* a multiple of 60 s */

static char		 dir[256];
static struct store	*st;
static struct engine	*eng;

static double
stale(void)
{
	uint64_t	u = STALE_NAN_BITS;
	double		v;

	memcpy(&v, &u, sizeof(v));
	return v;
}

/* NAME{LABELS...} = V at B + T seconds; labels as "k", "v", ..., NULL. */
static void
add(struct batch *b, const char *name, double t, double v, ...)
{
	struct label	 l[8];
	size_t		 n = 0;
	va_list		 ap;
	const char	*k;

	va_start(ap, v);
	while ((k = va_arg(ap, const char *)) != NULL && n < 8) {
		l[n].name = k;
		l[n++].value = va_arg(ap, const char *);
	}
	va_end(ap);
	ck_assert_int_eq(batch_add(b, name, l, n, (int64_t)((B + t) * 1000),
	    v), 0);
}

static void
fill(void)
{
	struct batch	*b = batch_new();
	char		 err[256];
	int		 i;

	/* g: 1, 2, then a staleness marker; h: one sample. */
	add(b, "g", 0, 1, NULL);
	add(b, "g", 60, 2, NULL);
	add(b, "g", 120, stale(), NULL);
	add(b, "h", 0, 5, NULL);
	/* c: a counter every 15 s; c2 resets at 30 s. */
	for (i = 0; i <= 4; i++)
		add(b, "c", 15 * i, 10 * i, "job", "a", NULL);
	add(b, "c2", 0, 10, NULL);
	add(b, "c2", 15, 20, NULL);
	add(b, "c2", 30, 5, NULL);
	add(b, "c2", 45, 15, NULL);
	/* lin: 2 per second. */
	for (i = 0; i <= 4; i++)
		add(b, "lin", 15 * i, 30 * i, NULL);
	/* m: four series in two groups. */
	add(b, "m", 0, 1, "a", "1", "b", "x", NULL);
	add(b, "m", 0, 2, "a", "2", "b", "x", NULL);
	add(b, "m", 0, 4, "a", "3", "b", "y", NULL);
	add(b, "m", 0, 8, "a", "4", "b", "y", NULL);
	/* n: the "one" side of a match on b. */
	add(b, "n", 0, 10, "b", "x", NULL);
	add(b, "n", 0, 100, "b", "y", NULL);
	add(b, "info", 0, 1, "b", "x", "version", "1.0", NULL);
	/* Two metrics that collide without their names. */
	add(b, "ca", 0, 1, "x", "1", NULL);
	add(b, "ca", 15, 2, "x", "1", NULL);
	add(b, "cb", 0, 1, "x", "1", NULL);
	add(b, "cb", 15, 3, "x", "1", NULL);
	/* A classic histogram: 10 below 1, 10 more below 2, none above. */
	add(b, "hist_bucket", 0, 10, "le", "1", NULL);
	add(b, "hist_bucket", 0, 20, "le", "2", NULL);
	add(b, "hist_bucket", 0, 20, "le", "+Inf", NULL);
	add(b, "noinf_bucket", 0, 10, "le", "1", NULL);
	/* A gauge with a NaN. */
	add(b, "w", 0, NAN, "k", "nan", NULL);
	add(b, "w", 0, -3.5, "k", "neg", NULL);
	/* sum's steps two at a time: -0 kept first, NaN, gaps, a tail. */
	add(b, "sz", 0, -0.0, "k", "a", NULL);
	add(b, "sz", 75, stale(), "k", "a", NULL);
	add(b, "sz", 90, -0.0, "k", "a", NULL);
	add(b, "sz", 15, 1, "k", "b", NULL);
	add(b, "sz", 30, NAN, "k", "b", NULL);
	add(b, "sz", 45, stale(), "k", "b", NULL);
	add(b, "sz", 60, 2, "k", "b", NULL);
	add(b, "sz", 75, 3, "k", "b", NULL);
	add(b, "sz", 90, 4, "k", "b", NULL);
	ck_assert_int_eq(store_append_batch_sync(st, b, NULL, err,
	    sizeof(err)), 0);
	batch_free(b);
}

static void
setup(void)
{
	struct store_opts	o;
	struct engine_opts	eo;
	char			err[256];

	snprintf(dir, sizeof(dir), "/tmp/check_engine.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	store_opts_default(&o);
	o.dir = dir;
	o.flush_interval_ms = 0;
	o.retention_ms = 0;
	st = store_open(&o, err, sizeof(err));
	ck_assert_msg(st != NULL, "%s", err);
	engine_opts_default(&eo);
	eng = engine_new(st, &eo);
	fill();
}

static void
teardown(void)
{
	char	err[256], cmd[300];

	engine_free(eng);
	store_close(st, err, sizeof(err));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/*
 * The result as text: "{labels} v" per series for an instant query,
 * "{labels} v@t v@t" for a range (t in seconds after B), "error: msg".
 */
static char *
run(const char *q, double start, double end, double step)
{
	struct engine_result	*res;
	struct engine_error	 err;
	struct buf		 out = BUF_INIT;
	size_t			 i, k, l;

	if (engine_query(eng, q, strlen(q), (int64_t)((B + start) * 1000),
	    (int64_t)((B + end) * 1000), (int64_t)(step * 1000), 0, &res,
	    &err) == -1) {
		buf_printf(&out, "error: %s", err.msg);
		return buf_detach(&out);
	}
	if (res->type == Q_TYPE_SCALAR) {
		gofmt_float(&out, res->scalar);
		engine_result_free(res);
		return buf_detach(&out);
	}
	if (res->type == Q_TYPE_STRING) {
		buf_adds(&out, res->string);
		engine_result_free(res);
		return buf_detach(&out);
	}
	for (i = 0; i < res->nseries; i++) {
		const struct engine_series *s = &res->series[i];

		if (i > 0)
			buf_adds(&out, "; ");
		buf_addc(&out, '{');
		for (l = 0; l < s->nlabels; l++)
			buf_printf(&out, "%s%s=\"%s\"", l ? ", " : "",
			    s->labels[l].name, s->labels[l].value);
		buf_addc(&out, '}');
		for (k = 0; k < s->n; k++) {
			buf_addc(&out, ' ');
			gofmt_float(&out, s->v[k]);
			if (step > 0 || res->type == Q_TYPE_MATRIX)
				buf_printf(&out, "@%g",
				    (double)s->t[k] / 1000 - B);
		}
	}
	engine_result_free(res);
	return buf_detach(&out);
}

#define EXPECT_AT(q, t, want) do {					\
	char *got_ = run((q), (t), (t), 0);				\
	ck_assert_msg(strcmp(got_, (want)) == 0,			\
	    "%s at %g: got [%s], want [%s]", (q), (double)(t), got_,	\
	    (want));							\
	free(got_);							\
} while (0)

#define EXPECT_RANGE(q, s, e, st_, want) do {				\
	char *got_ = run((q), (s), (e), (st_));				\
	ck_assert_msg(strcmp(got_, (want)) == 0,			\
	    "%s over %g..%g: got [%s], want [%s]", (q), (double)(s),	\
	    (double)(e), got_, (want));					\
	free(got_);							\
} while (0)

START_TEST(test_lookback_and_staleness)
{
	EXPECT_AT("g", 30, "{__name__=\"g\"} 1");
	EXPECT_AT("g", 60, "{__name__=\"g\"} 2");
	EXPECT_AT("g", 119.999, "{__name__=\"g\"} 2");
	/* The staleness marker ends the series at once. */
	EXPECT_AT("g", 120, "");
	EXPECT_AT("g", 200, "");
	/* The 5 minute lookback includes its lower end. */
	EXPECT_AT("h", 300, "{__name__=\"h\"} 5");
	EXPECT_AT("h", 300.001, "");
	EXPECT_AT("h", -0.001, "");
	EXPECT_RANGE("g", 0, 180, 60, "{__name__=\"g\"} 1@0 2@60");
	/* Windows leave markers out. */
	EXPECT_AT("count_over_time(g[5m])", 180, "{} 2");
	EXPECT_AT("last_over_time(g[5m])", 180, "{__name__=\"g\"} 2");
}
END_TEST

START_TEST(test_rate_and_resets)
{
	/* Window [10, 70] holds 15..60: 30 over 45 s, extrapolated by 5 s
	   at the start and 10 s at the end (both within 1.1 x 15 s). */
	EXPECT_AT("rate(c[1m])", 70, "{job=\"a\"} 0.6666666666666666");
	EXPECT_AT("increase(c[1m])", 70, "{job=\"a\"} 40");
	EXPECT_AT("delta(c[1m])", 70, "{job=\"a\"} 40");
	/* Fewer than two samples: nothing. */
	EXPECT_AT("rate(c[1m])", 150, "");
	/* c2 at 45: 15 - 10 + 20 (the reset) = 25 over [-15, 45]; the zero
	   point is 18 s before the first sample, further than the window
	   start (15 s), so 25 * 60 / 45. */
	EXPECT_AT("increase(c2[1m])", 45, "{} 33.33333333333333");
	EXPECT_AT("irate(c2[1m])", 45, "{} 0.6666666666666666");
	EXPECT_AT("irate(c2[1m])", 30, "{} 0.3333333333333333");
	EXPECT_AT("idelta(c2[1m])", 30, "{} -15");
	EXPECT_AT("resets(c2[1m])", 45, "{} 1");
	EXPECT_AT("changes(c2[1m])", 45, "{} 3");
	/* Sliding: at 75 the window [15, 75] opens on the sample before the
	   reset, 15 - 20 + 20 over 30 s, extrapolated by half an interval
	   at the end only: 15 * 37.5 / 30. */
	EXPECT_RANGE("increase(c2[1m])", 45, 75, 15,
	    "{} 33.33333333333333@45 33.33333333333333@60 18.75@75");
	/* A rate over a subquery of the counter itself gives the same. */
	EXPECT_AT("rate(c[1m:15s])", 60, "{job=\"a\"} 0.6666666666666666");
	EXPECT_RANGE("increase(c[30s])", 30, 60, 15,
	    "{job=\"a\"} 20@30 20@45 20@60");
}
END_TEST

START_TEST(test_regression)
{
	EXPECT_AT("deriv(lin[1m])", 60, "{} 2");
	/* Intercept at the evaluation time: 120 + 2 * 10. */
	EXPECT_AT("predict_linear(lin[1m], 10)", 60, "{} 140");
	EXPECT_AT("predict_linear(lin[1m], 10)", 70, "{} 160");
	EXPECT_AT("deriv(h[1m])", 10, "");
}
END_TEST

START_TEST(test_over_time)
{
	EXPECT_AT("avg_over_time(c[1m])", 60, "{job=\"a\"} 20");
	EXPECT_AT("sum_over_time(c[1m])", 60, "{job=\"a\"} 100");
	EXPECT_AT("min_over_time(c[1m])", 60, "{job=\"a\"} 0");
	EXPECT_AT("max_over_time(c[1m])", 60, "{job=\"a\"} 40");
	EXPECT_AT("count_over_time(c[1m])", 60, "{job=\"a\"} 5");
	/* 0 10 20 30 40: rank 0.9 * 4 = 3.6, 30 * 0.4 + 40 * 0.6. */
	EXPECT_AT("quantile_over_time(0.9, c[1m])", 60, "{job=\"a\"} 36");
	EXPECT_AT("stdvar_over_time(c[1m])", 60, "{job=\"a\"} 200");
	EXPECT_AT("present_over_time(c[1m])", 60, "{job=\"a\"} 1");
	EXPECT_AT("absent_over_time(c[1m])", 60, "");
	EXPECT_AT("absent_over_time(nope{a=\"b\"}[1m])", 60, "{a=\"b\"} 1");
	/* Both ends of a window are included. */
	EXPECT_AT("count_over_time(c[15s])", 30, "{job=\"a\"} 2");
}
END_TEST

START_TEST(test_aggregations)
{
	EXPECT_AT("sum by (b) (m)", 0, "{b=\"x\"} 3; {b=\"y\"} 12");
	EXPECT_AT("sum without (a) (m)", 0, "{b=\"x\"} 3; {b=\"y\"} 12");
	EXPECT_AT("avg by (b) (m)", 0, "{b=\"x\"} 1.5; {b=\"y\"} 6");
	EXPECT_AT("count(m)", 0, "{} 4");
	EXPECT_AT("min by (b) (m)", 0, "{b=\"x\"} 1; {b=\"y\"} 4");
	EXPECT_AT("max(m)", 0, "{} 8");
	EXPECT_AT("group by (b) (m)", 0, "{b=\"x\"} 1; {b=\"y\"} 1");
	EXPECT_AT("stddev by (b) (m)", 0, "{b=\"x\"} 0.5; {b=\"y\"} 2");
	EXPECT_AT("stdvar by (b) (m)", 0, "{b=\"x\"} 0.25; {b=\"y\"} 4");
	EXPECT_AT("topk(2, m)", 0, "{__name__=\"m\", a=\"4\", b=\"y\"} 8; "
	    "{__name__=\"m\", a=\"3\", b=\"y\"} 4");
	EXPECT_AT("bottomk by (b) (1, m)", 0, "{__name__=\"m\", a=\"1\", "
	    "b=\"x\"} 1; {__name__=\"m\", a=\"3\", b=\"y\"} 4");
	EXPECT_AT("topk(0, m)", 0, "");
	/* 1 2 4 8: rank 1.5, 2 * 0.5 + 4 * 0.5. */
	EXPECT_AT("quantile(0.5, m)", 0, "{} 3");
	EXPECT_AT("quantile(2, m)", 0, "{} +Inf");
	EXPECT_AT("count_values(\"v\", n)", 0, "{v=\"10\"} 1; {v=\"100\"} 1");
	EXPECT_AT("count_values(\"a-b\", n)", 0,
	    "error: invalid label name \"a-b\"");
	EXPECT_AT("max(w)", 0, "{} -3.5");
	EXPECT_AT("sum(w)", 0, "{} NaN");
	/* b alone at 75, where a is stale: its 3 first, not -0 + 3 */
	EXPECT_RANGE("sum(sz)", 0, 90, 15,
	    "{} -0@0 1@15 NaN@30 -0@45 2@60 3@75 4@90");
	EXPECT_RANGE("sum(sz)", 0, 75, 15,
	    "{} -0@0 1@15 NaN@30 -0@45 2@60 3@75");
	EXPECT_AT("topk(1e100, m)", 0,
	    "error: Scalar value 1e+100 overflows int64");
}
END_TEST

START_TEST(test_binops)
{
	EXPECT_AT("1 + 2 * 3", 0, "7");
	EXPECT_AT("2 ^ 3 ^ 2", 0, "512");
	EXPECT_AT("-7 % 3", 0, "-1");
	EXPECT_AT("1 < bool 2", 0, "1");
	EXPECT_AT("n * 2", 0, "{b=\"x\"} 20; {b=\"y\"} 200");
	EXPECT_AT("n > 50", 0, "{__name__=\"n\", b=\"y\"} 100");
	EXPECT_AT("50 < n", 0, "{__name__=\"n\", b=\"y\"} 100");
	EXPECT_AT("n > bool 50", 0, "{b=\"x\"} 0; {b=\"y\"} 1");
	EXPECT_AT("m / on (b) group_left n", 0,
	    "{a=\"1\", b=\"x\"} 0.1; {a=\"2\", b=\"x\"} 0.2; "
	    "{a=\"3\", b=\"y\"} 0.04; {a=\"4\", b=\"y\"} 0.08");
	EXPECT_AT("n + on (b) group_right m", 0,
	    "{a=\"1\", b=\"x\"} 11; {a=\"2\", b=\"x\"} 12; "
	    "{a=\"3\", b=\"y\"} 104; {a=\"4\", b=\"y\"} 108");
	EXPECT_AT("n * on (b) group_left (version) info", 0,
	    "{b=\"x\", version=\"1.0\"} 10");
	EXPECT_AT("m / on (b) n", 0, "error: multiple matches for labels: "
	    "many-to-one matching must be explicit (group_left/group_right)");
	EXPECT_AT("n / on (b) group_right m", 0,
	    "{a=\"1\", b=\"x\"} 10; {a=\"2\", b=\"x\"} 5; "
	    "{a=\"3\", b=\"y\"} 25; {a=\"4\", b=\"y\"} 12.5");
	EXPECT_AT("n / on (b) m", 0, "error: found duplicate series for the "
	    "match group {b=\"x\"} on the right hand-side of the operation: "
	    "[{__name__=\"m\", a=\"2\", b=\"x\"}, {__name__=\"m\", a=\"1\", "
	    "b=\"x\"}];many-to-many matching not allowed: matching labels "
	    "must be unique on one side");
	EXPECT_AT("m and on (b) n{b=\"x\"}", 0,
	    "{__name__=\"m\", a=\"1\", b=\"x\"} 1; "
	    "{__name__=\"m\", a=\"2\", b=\"x\"} 2");
	EXPECT_AT("n or m{a=\"1\"}", 0, "{__name__=\"n\", b=\"x\"} 10; "
	    "{__name__=\"n\", b=\"y\"} 100; {__name__=\"m\", a=\"1\", "
	    "b=\"x\"} 1");
	EXPECT_AT("n or on (b) m", 0, "{__name__=\"n\", b=\"x\"} 10; "
	    "{__name__=\"n\", b=\"y\"} 100");
	EXPECT_AT("m unless on (b) n{b=\"y\"}", 0,
	    "{__name__=\"m\", a=\"1\", b=\"x\"} 1; "
	    "{__name__=\"m\", a=\"2\", b=\"x\"} 2");
	EXPECT_AT("-n", 0, "{b=\"x\"} -10; {b=\"y\"} -100");
	/* Matching ignores the names. */
	EXPECT_AT("ca + cb", 15, "{x=\"1\"} 5");
	EXPECT_AT("ca + ignoring (x) cb", 15, "{} 5");
	EXPECT_AT("{__name__=~\"c[ab]\"} + on () n{b=\"x\"}", 15,
	    "error: multiple matches for labels: many-to-one matching must be "
	    "explicit (group_left/group_right)");
}
END_TEST

START_TEST(test_name_collisions)
{
	EXPECT_AT("rate({__name__=~\"c[ab]\"}[1m])", 15,
	    "error: vector cannot contain metrics with the same labelset");
	EXPECT_AT("-{__name__=~\"c[ab]\"}", 15,
	    "error: vector cannot contain metrics with the same labelset");
	EXPECT_AT("abs({__name__=~\"c[ab]\"})", 15,
	    "error: vector cannot contain metrics with the same labelset");
	EXPECT_AT("last_over_time({__name__=~\"c[ab]\"}[1m])", 15,
	    "{__name__=\"ca\", x=\"1\"} 2; {__name__=\"cb\", x=\"1\"} 3");
}
END_TEST

START_TEST(test_histogram_quantile)
{
	/* Buckets 1: 10, 2: 20, +Inf: 20. */
	EXPECT_AT("histogram_quantile(0.5, hist_bucket)", 0, "{} 1");
	EXPECT_AT("histogram_quantile(0.75, hist_bucket)", 0, "{} 1.5");
	EXPECT_AT("histogram_quantile(0.99, hist_bucket)", 0, "{} 1.98");
	EXPECT_AT("histogram_quantile(1, hist_bucket)", 0, "{} 2");
	EXPECT_AT("histogram_quantile(0, hist_bucket)", 0, "{} 0");
	EXPECT_AT("histogram_quantile(-1, hist_bucket)", 0, "{} -Inf");
	EXPECT_AT("histogram_quantile(0.5, noinf_bucket)", 0, "{} NaN");
	EXPECT_AT("histogram_quantile(0.5, m)", 0, "");
}
END_TEST

START_TEST(test_offset_at_subquery)
{
	EXPECT_AT("g offset 1m", 90, "{__name__=\"g\"} 1");
	EXPECT_AT("g @ 1000080", 500, "{__name__=\"g\"} 2");
	EXPECT_RANGE("g @ start()", 60, 100, 20,
	    "{__name__=\"g\"} 2@60 2@80 2@100");
	EXPECT_RANGE("g @ end()", 30, 90, 30,
	    "{__name__=\"g\"} 2@30 2@60 2@90");
	EXPECT_AT("timestamp(g)", 90, "{} 1000080");
	EXPECT_AT("timestamp(g @ 1000050)", 90, "{} 1000020");
	/* Subquery steps are multiples of the step: 0 15 30 45 60, both
	   ends of the window included. */
	EXPECT_AT("count_over_time(c[1m:15s])", 60, "{job=\"a\"} 5");
	EXPECT_AT("max_over_time(c[1m:15s] offset 15s)", 60, "{job=\"a\"} 30");
	EXPECT_AT("c[30s]", 60,
	    "{__name__=\"c\", job=\"a\"} 20@30 30@45 40@60");
}
END_TEST

START_TEST(test_functions)
{
	EXPECT_AT("abs(w{k=\"neg\"})", 0, "{k=\"neg\"} 3.5");
	EXPECT_AT("clamp(m, 2, 4)", 0, "{a=\"1\", b=\"x\"} 2; {a=\"2\", "
	    "b=\"x\"} 2; {a=\"3\", b=\"y\"} 4; {a=\"4\", b=\"y\"} 4");
	EXPECT_AT("clamp(n, 5, 1)", 0, "");
	EXPECT_AT("clamp_min(w, 0)", 0, "{k=\"nan\"} NaN; {k=\"neg\"} 0");
	EXPECT_AT("round(w{k=\"neg\"})", 0, "{k=\"neg\"} -3");
	EXPECT_AT("round(n, 30)", 0, "{b=\"x\"} 0; {b=\"y\"} 90");
	EXPECT_AT("sort_desc(m)", 0, "{__name__=\"m\", a=\"4\", b=\"y\"} 8; "
	    "{__name__=\"m\", a=\"3\", b=\"y\"} 4; {__name__=\"m\", a=\"2\", "
	    "b=\"x\"} 2; {__name__=\"m\", a=\"1\", b=\"x\"} 1");
	EXPECT_AT("sort(w)", 0, "{__name__=\"w\", k=\"neg\"} -3.5; "
	    "{__name__=\"w\", k=\"nan\"} NaN");
	EXPECT_AT("label_replace(n, \"c\", \"<$1>\", \"b\", \"(.)\")", 0,
	    "{__name__=\"n\", b=\"x\", c=\"<x>\"} 10; "
	    "{__name__=\"n\", b=\"y\", c=\"<y>\"} 100");
	EXPECT_AT("label_replace(n, \"b\", \"z\", \"b\", \".*\")", 0,
	    "error: vector cannot contain metrics with the same labelset");
	EXPECT_AT("label_replace(n, \"1x\", \"z\", \"b\", \".*\")", 0,
	    "error: invalid destination label name in label_replace(): 1x");
	EXPECT_AT("label_join(info, \"j\", \"/\", \"b\", \"version\")", 0,
	    "{__name__=\"info\", b=\"x\", j=\"x/1.0\", version=\"1.0\"} 1");
	EXPECT_AT("absent(nope{a=\"b\", c=~\"d\"})", 0, "{a=\"b\"} 1");
	EXPECT_AT("absent(n)", 0, "");
	EXPECT_AT("vector(3)", 0, "{} 3");
	EXPECT_AT("scalar(n)", 0, "NaN");
	EXPECT_AT("scalar(n{b=\"x\"})", 0, "10");
	EXPECT_AT("time()", 12.5, "1000032.5");
	/* Unix 0 was a Thursday; 2024-03-01 is day 61 of a leap year. */
	EXPECT_AT("day_of_week(vector(0))", 0, "{} 4");
	EXPECT_AT("day_of_year(vector(1709251200))", 0, "{} 61");
	EXPECT_AT("days_in_month(vector(1706745600))", 0, "{} 29");
	EXPECT_AT("hour(vector(1709251200 + 3 * 3600 + 59))", 0, "{} 3");
	EXPECT_AT("year()", 0, "{} 1970");
	EXPECT_AT("histogram_count(n)", 0, "");
}
END_TEST

START_TEST(test_errors_and_types)
{
	EXPECT_AT("sum(", 0, "error: 1:5: parse error: unclosed left "
	    "parenthesis");
	EXPECT_RANGE("c[1m]", 0, 60, 15, "error: invalid expression type "
	    "\"range vector\" for range query, must be Scalar or instant "
	    "Vector");
	EXPECT_RANGE("1 + 1", 0, 30, 15, "{} 2@0 2@15 2@30");
	EXPECT_AT("\"text\"", 0, "text");
	EXPECT_AT("holt_winters(c[1m], 2, 0.5)", 60, "error: invalid "
	    "smoothing factor. Expected: 0 < sf < 1, got: 2.000000");
}
END_TEST

/*
 * Store batch B (freed), and open two engines on the store: ONE reads on
 * one thread, MANY splits every selection over four.
 */
static void
engines_on(struct batch *b, struct engine **one, struct engine **many)
{
	struct engine_opts	o;
	char			ebuf[256];

	ck_assert_int_eq(store_append_batch_sync(st, b, NULL, ebuf,
	    sizeof(ebuf)), 0);
	batch_free(b);
	engine_opts_default(&o);
	o.threads = 1;
	*one = engine_new(st, &o);
	o.threads = 4;
	o.parallel_samples = 1;
	*many = engine_new(st, &o);
}

START_TEST(test_sample_limit)
{
	struct engine_opts	 o;
	struct engine		*small;
	struct engine_result	*res;
	struct engine_error	 err;
	const char		*q = "count_over_time(c[1m:1ms])";

	engine_opts_default(&o);
	o.max_samples = 1000;
	small = engine_new(st, &o);
	ck_assert_int_eq(engine_query(small, q, strlen(q), (int64_t)B * 1000 +
	    60000, (int64_t)B * 1000 + 60000, 0, 0, &res, &err), -1);
	ck_assert_int_eq(err.kind, ENGINE_EXECUTION);
	ck_assert_str_eq(err.msg, "query processing would load too many "
	    "samples into memory in query execution");
	/* Within the limit the same engine answers. */
	ck_assert_int_eq(engine_query(small, "c", 1, (int64_t)B * 1000,
	    (int64_t)B * 1000, 0, 0, &res, &err), 0);
	ck_assert_uint_eq(res->nseries, 1);
	engine_result_free(res);
	engine_free(small);
}
END_TEST

/*
 * max_series fails a selector matching more series before reading them,
 * whichever way the selector is read (instant, range function, matrix);
 * a selector within it is answered.
 */
START_TEST(test_series_limit)
{
	static const char *const over[] = { "hist_bucket",
	    "max_over_time(hist_bucket[1m])", "hist_bucket[1m]",
	    "w + on() group_left count(hist_bucket)" };
	struct engine_opts	 o;
	struct engine		*lim;
	struct engine_result	*res;
	struct engine_error	 err;
	int64_t			 t = (int64_t)B * 1000 + 15000;
	size_t			 i;

	engine_opts_default(&o);
	o.max_series = 2;
	lim = engine_new(st, &o);
	for (i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
		ck_assert_int_eq(engine_query(lim, over[i], strlen(over[i]),
		    t, t, 0, 0, &res, &err), -1);
		ck_assert_ptr_null(res);
		ck_assert_int_eq(err.kind, ENGINE_EXECUTION);
		ck_assert_str_eq(err.msg, "query selects more than 2 series");
	}
	ck_assert_int_eq(engine_query(lim, "w", 1, t, t, 0, 0, &res, &err),
	    0);
	ck_assert_uint_eq(res->nseries, 2);
	engine_result_free(res);
	/* The same query over a range: one selection, still 2 series. */
	ck_assert_int_eq(engine_query(lim, "max_over_time(w[1m])", 20, t,
	    t + 60000, 15000, 0, &res, &err), 0);
	ck_assert_uint_eq(res->nseries, 2);
	engine_result_free(res);
	engine_free(lim);
}
END_TEST

/*
 * Series read by several threads give what one thread gives, in the same
 * order; a budget blown on another thread fails the query.
 */
START_TEST(test_parallel_load)
{
	static const char *const qs[] = { "par", "rate(par[1m])",
	    "sum by (odd) (par)", "max_over_time(par[30s])",
	    "quantile_over_time(0.3, par[1m])", "last_over_time(par[20s])",
	    "avg_over_time(par[1m] @ 1000620)" };
	struct engine_opts	 o;
	struct engine		*one, *many, *orig = eng;
	struct engine_result	*res;
	struct engine_error	 err;
	struct batch		*b = batch_new();
	char			 name[8], odd[2];
	char			*want, *got;
	size_t			 i, t;

	/* 40 series of 100 samples, each series a little longer than the
	   one before so that guessed sizes are wrong both ways. */
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "%zu", i);
		snprintf(odd, sizeof(odd), "%zu", i % 2);
		for (t = 0; t < 100 + i; t++)
			add(b, "par", (double)t * 5, (double)(t * (i + 1)),
			    "i", name, "odd", odd, NULL);
	}
	engines_on(b, &one, &many);
	/* Over the whole range, and from 600 s on, where the first 21
	   series have ended: their windows are empty, the others' not. */
	for (i = 0; i < 2 * sizeof(qs) / sizeof(qs[0]); i++) {
		const char	*q = qs[i / 2];
		double		 from = i % 2 ? 600 : 0, step = i % 2 ? 5 : 7;

		eng = one;
		want = run(q, from, 700, step);
		eng = many;
		got = run(q, from, 700, step);
		ck_assert_msg(strcmp(want, got) == 0, "%s: [%s] != [%s]", q,
		    got, want);
		ck_assert_ptr_null(strstr(got, "error"));
		ck_assert_msg(strlen(got) > 100, "%s from %g: [%s]", q, from,
		    got);
		free(want);
		free(got);
	}
	engine_free(many);
	/* The first series fits, the others' share does not. */
	engine_opts_default(&o);
	o.threads = 4;
	o.parallel_samples = 1;
	o.max_samples = 300;
	many = engine_new(st, &o);
	ck_assert_int_eq(engine_query(many, "par", 3, (int64_t)B * 1000,
	    (int64_t)(B + 700) * 1000, 7000, 0, &res, &err), -1);
	ck_assert_str_eq(err.msg, "query processing would load too many "
	    "samples into memory in query execution");
	engine_free(many);
	engine_free(one);
	eng = orig;
}
END_TEST

/*
 * rate, increase and delta over many windows against Prometheus's
 * extrapolatedRate written out plainly here: counters with resets, one
 * starting near zero (the zero-point clamp), one starting below zero, a
 * gauge, jittered scrape times, a gap where windows hold fewer than two
 * samples; on one thread and on several, value for value (bit for bit).
 * changes and resets over the same windows, against a count of the pairs.
 */
#define RR_SERIES	6
#define RR_N		300

static int64_t	rr_t[RR_SERIES][RR_N];
static double	rr_v[RR_SERIES][RR_N];

static int
rr_ref(int i, int64_t ref, int64_t range, int counter, int is_rate,
    double *out)
{
	double	result, last = 0, dstart, dend, sampled, avg, thresh, iv;
	double	factor;
	size_t	lo, hi, j;

	for (lo = 0; lo < RR_N && rr_t[i][lo] < ref - range; lo++)
		;
	for (hi = lo; hi < RR_N && rr_t[i][hi] <= ref; hi++)
		;
	if (hi - lo < 2)
		return 0;
	result = rr_v[i][hi - 1] - rr_v[i][lo];
	if (counter)
		for (j = lo; j < hi; j++) {
			if (rr_v[i][j] < last)
				result += last;
			last = rr_v[i][j];
		}
	dstart = (double)(rr_t[i][lo] - (ref - range)) / 1000;
	dend = (double)(ref - rr_t[i][hi - 1]) / 1000;
	sampled = (double)(rr_t[i][hi - 1] - rr_t[i][lo]) / 1000;
	avg = sampled / (double)(hi - lo - 1);
	if (counter && result > 0 && rr_v[i][lo] >= 0) {
		double dzero = sampled * (rr_v[i][lo] / result);

		if (dzero < dstart)
			dstart = dzero;
	}
	thresh = avg * 1.1;
	iv = sampled;
	iv += dstart < thresh ? dstart : avg / 2;
	iv += dend < thresh ? dend : avg / 2;
	factor = iv / sampled;
	if (is_rate)
		factor /= (double)range / 1000;
	*out = result * factor;
	return 1;
}

static uint64_t
rr_jitter(size_t pair, size_t j)
{
	uint64_t h = (uint64_t)(pair + 1) * 0x9e3779b97f4a7c15ULL ^
	    (uint64_t)(j + 1) * 0xc2b2ae3d27d4eb4fULL;

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 32);
}

START_TEST(test_rate_reference)
{
	static const char *const fns[] = { "rate", "increase", "delta" };
	static const int ranges[] = { 20, 60, 95, 300 };
	struct engine		*one, *many, *orig = eng;
	struct batch		*b = batch_new();
	char			 name[8], q[64];
	uint64_t		 x = 88172645463325252ULL;
	size_t			 i, j, f, r, k, e;
	int64_t			 t0 = (int64_t)B * 1000;

	for (i = 0; i < RR_SERIES; i++) {
		double v = i == 1 ? 0.5 : i == 2 ? -40 : 1000 * (double)i;

		snprintf(name, sizeof(name), "%zu", i);
		for (j = 0; j < RR_N; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* 15 s apart, +-40 ms, with a gap now and then;
			   series 2k and 2k + 1 are scraped together (the
			   engine slides their windows once). */
			rr_t[i][j] = t0 + (int64_t)j * 15000 +
			    (int64_t)(rr_jitter(i / 2, j) % 81) - 40 +
			    (j >= 150 ? 200000 : 0);
			if (i == 5)
				v = (double)(x % 1000) / 7;	/* a gauge */
			else if (x % 37 == 0)
				v = (double)(x % 5);	/* a reset */
			else
				v += (double)(x % 1000) / 3;
			rr_v[i][j] = v;
			ck_assert_int_eq(batch_add(b, "rr", &(struct label){
			    "i", name }, 1, rr_t[i][j], v), 0);
		}
	}
	engines_on(b, &one, &many);
	for (f = 0; f < 3; f++)
		for (r = 0; r < 4; r++)
			for (e = 0; e < 2; e++) {
				struct engine_result	*res;
				struct engine_error	 err;
				int64_t			 range = ranges[r] * 1000;
				int64_t			 step = 7000 + 6000 * r;
				size_t			 got = 0, want = 0;

				snprintf(q, sizeof(q), "%s(rr[%ds])", fns[f],
				    ranges[r]);
				ck_assert_int_eq(engine_query(e ? many : one, q,
				    strlen(q), t0, t0 + 6500000, step, 0, &res,
				    &err), 0);
				ck_assert_uint_eq(res->nseries, RR_SERIES);
				for (i = 0; i < res->nseries; i++) {
					const struct engine_series *s =
					    &res->series[i];
					int id = atoi(s->labels[0].value);

					for (k = 0; k < s->n; k++) {
						double w;

						ck_assert(rr_ref(id, s->t[k], range,
						    f < 2, f == 0, &w));
						ck_assert_msg(memcmp(&w, &s->v[k],
						    sizeof(w)) == 0, "%s {i=%d} at "
						    "%lld: %.17g, want %.17g", q,
						    id, (long long)s->t[k], s->v[k],
						    w);
					}
					got += s->n;
				}
				/* No step without a point that should have
				   one. */
				for (i = 0; i < RR_SERIES; i++) {
					int64_t ts;
					double	w;

					for (ts = t0; ts <= t0 + 6500000;
					    ts += step)
						want += (size_t)rr_ref((int)i, ts,
						    range, f < 2, f == 0, &w);
				}
				ck_assert_uint_eq(got, want);
				engine_result_free(res);
			}
	/* changes() and resets(): the window's pairs counted one by one. */
	for (f = 0; f < 2; f++)
		for (r = 0; r < 4; r++) {
			struct engine_result	*res;
			struct engine_error	 err;
			int64_t			 range = ranges[r] * 1000;

			snprintf(q, sizeof(q), "%s(rr[%ds])", f ? "resets" :
			    "changes", ranges[r]);
			ck_assert_int_eq(engine_query(many, q, strlen(q), t0,
			    t0 + 6500000, 5000 + 4000 * r, 0, &res, &err), 0);
			ck_assert_uint_eq(res->nseries, RR_SERIES);
			for (i = 0; i < res->nseries; i++) {
				const struct engine_series *s = &res->series[i];
				int id = atoi(s->labels[0].value);

				for (k = 0; k < s->n; k++) {
					size_t	lo, hi, c = 0;

					for (lo = 0; lo < RR_N && rr_t[id][lo] <
					    s->t[k] - range; lo++)
						;
					for (hi = lo; hi < RR_N && rr_t[id][hi] <=
					    s->t[k]; hi++)
						;
					ck_assert_uint_gt(hi, lo);
					for (j = lo + 1; j < hi; j++)
						c += f ? rr_v[id][j] <
						    rr_v[id][j - 1] :
						    rr_v[id][j] != rr_v[id][j - 1];
					ck_assert_msg(s->v[k] == (double)c,
					    "%s {i=%d} at %lld: %g, want %zu", q,
					    id, (long long)s->t[k], s->v[k], c);
				}
			}
			engine_result_free(res);
		}
	engine_free(many);
	engine_free(one);
	eng = orig;
}
END_TEST

/*
 * Staleness markers and NaNs deep in a series (where batches are checked
 * several samples at once): a marker ends the series for the lookback,
 * is never a sample of a range, and a NaN stays a sample.
 */
START_TEST(test_stale_in_batch)
{
	struct batch	*b = batch_new();
	char		 ebuf[256];
	int		 i;

	for (i = 0; i < 50; i++)
		add(b, "sb", 2000 + 10 * i, i == 37 ? stale() : i == 41 ?
		    NAN : (double)i, NULL);
	ck_assert_int_eq(store_append_batch_sync(st, b, NULL, ebuf,
	    sizeof(ebuf)), 0);
	batch_free(b);
	EXPECT_AT("sb", 2365, "{__name__=\"sb\"} 36");
	EXPECT_AT("sb", 2375, "");
	EXPECT_AT("sb", 2410, "{__name__=\"sb\"} NaN");
	/* 2000..2490 every 10 s: 50 samples less the marker. */
	EXPECT_AT("count_over_time(sb[600s])", 2490, "{} 49");
	EXPECT_AT("last_over_time(sb[25s])", 2375, "{__name__=\"sb\"} 36");
	EXPECT_AT("sum_over_time(sb[15s])", 2415, "{} NaN");
}
END_TEST

START_TEST(test_json)
{
	struct engine_result	*res;
	struct engine_error	 err;
	struct buf		 b = BUF_INIT;

	ck_assert_int_eq(engine_query(eng, "n{b=\"x\"} / 3", 12,
	    (int64_t)B * 1000 + 123, (int64_t)B * 1000 + 123, 0, 0, &res,
	    &err), 0);
	api_query_write_result(res, &b);
	ck_assert_str_eq(b.data, "{\"resultType\":\"vector\",\"result\":[{"
	    "\"metric\":{\"b\":\"x\"},\"value\":[1000020.123,"
	    "\"3.3333333333333335\"]}]}");
	engine_result_free(res);
	buf_reset(&b);
	api_json_string(&b, "a<b>&\"\\\n\x01");
	ck_assert_str_eq(b.data,
	    "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\n\\u0001\"");
	buf_free(&b);
}
END_TEST

/*
 * gofmt's fast path agrees with its big-integer one, which agrees with
 * buf.h's trial-and-error formatter where that one is right: below 2^53
 * (above, %f prints the binary value's digits where Go pads the shortest
 * with zeros) and off powers of two (whose nearest short decimal may lie
 * on the narrow side, outside the interval, while one on the wide side
 * reads back: Go prints that one).
 */
START_TEST(test_gofmt)
{
	struct buf	a = BUF_INIT, b = BUF_INIT, c = BUF_INIT;
	uint64_t	x = 88172645463325252ULL, bits;
	int		i, e;
	static const double fixed[] = { 0, -0.0, 1, 0.1, 1e-5, 1.5e15,
	    123456789012345678.0, 5e-324, 0.1 + 0.2, 1.0 / 3, 2.0 / 3,
	    9007199254740993.0, 1e21, 1e-15, 99.99, 0.000123 };
	const int nfixed = (int)(sizeof(fixed) / sizeof(fixed[0]));

	for (i = 0; i < nfixed + 200000; i++) {
		double v;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (i < nfixed)
			v = fixed[i];
		else if (i % 5 == 0)
			memcpy(&v, &x, sizeof(v));
		else if (i % 5 == 1)
			v = (double)(x % 1000000) / (double)(x % 997 + 1);
		else if (i % 5 == 2) {
			/* Any mantissa, exponents around the fast range
			   (1e-14 .. 2^53) and a little beyond. */
			e = (int)(x >> 52) % 130 - 60;
			bits = (uint64_t)(1023 + e) << 52 |
			    (x & ((1ULL << 52) - 1));
			memcpy(&v, &bits, sizeof(v));
		} else if (i % 5 == 3)
			/* Short decimals, as gauges are. */
			v = (double)(x % 100000000) /
			    ((x >> 32) % 3 == 0 ? 100.0 :
			    (x >> 32) % 3 == 1 ? 1000.0 : 10.0);
		else {
			/* Powers of two and their neighbours: the lower
			   gap is half the upper one. */
			e = (int)(x % 120) - 60;
			v = ldexp(1, e);
			memcpy(&bits, &v, sizeof(bits));
			bits += (x >> 32) % 3 - 1;
			memcpy(&v, &bits, sizeof(v));
		}
		if (x & (1ULL << 33))
			v = -v;
		buf_reset(&a);
		buf_reset(&b);
		gofmt_float(&a, v);
		gofmt_float_exact(&b, v);
		ck_assert_msg(strcmp(a.data, b.data) == 0, "%.17g: %s != %s",
		    v, a.data, b.data);
		memcpy(&bits, &v, sizeof(bits));
		if (fabs(v) >= 9007199254740992.0 ||
		    (bits & ((1ULL << 52) - 1)) == 0)
			continue;
		buf_reset(&c);
		buf_add_double_fixed(&c, v);
		ck_assert_msg(strcmp(a.data, c.data) == 0, "%.17g: %s != %s",
		    v, a.data, c.data);
	}
	buf_free(&a);
	buf_free(&b);
	buf_free(&c);
}
END_TEST

static void
expect_gofmt(double v, const char *want)
{
	struct buf	b = BUF_INIT;
	char		fast[GOFMT_FAST_MAX];
	size_t		n;

	gofmt_float(&b, v);
	ck_assert_msg(strcmp(b.data, want) == 0, "%.17g: got %s, want %s", v,
	    b.data, want);
	/* The fast path, where it answers, says the same. */
	if ((n = gofmt_float_fast(fast, v)) > 0)
		ck_assert_msg(n == b.len && memcmp(fast, want, n) == 0,
		    "%.17g: fast path %.*s", v, (int)n, fast);
	buf_free(&b);
}

/* What Go's strconv.FormatFloat(v, 'f', -1, 64) prints, to the byte. */
START_TEST(test_gofmt_exact)
{
	char	want[400];
	size_t	n;

	expect_gofmt(0, "0");
	expect_gofmt(-0.0, "-0");
	expect_gofmt(NAN, "NaN");
	expect_gofmt(INFINITY, "+Inf");
	expect_gofmt(-INFINITY, "-Inf");
	expect_gofmt(1e21, "1000000000000000000000");
	expect_gofmt(1e22, "10000000000000000000000");
	expect_gofmt(1e-7, "0.0000001");
	expect_gofmt(1e-6, "0.000001");
	expect_gofmt(2.5e-5, "0.000025");
	expect_gofmt(0.1, "0.1");
	expect_gofmt(-0.001, "-0.001");
	expect_gofmt(4.35, "4.35");
	expect_gofmt(123456789012345680.0, "123456789012345680");
	/* %.15g and %.17g differ: only 16 or 17 digits read back. */
	expect_gofmt(0.1 + 0.2, "0.30000000000000004");
	expect_gofmt(1.0 / 3, "0.3333333333333333");
	expect_gofmt(2.0 / 3, "0.6666666666666666");
	expect_gofmt(100.0 / 3, "33.333333333333336");
	expect_gofmt(12.345833333333333, "12.345833333333333");
	/* 2^53 + 1 is not a double: it reads as 2^53. */
	expect_gofmt(9007199254740993.0, "9007199254740992");
	expect_gofmt(4503599627370495.5, "4503599627370495.5");
	expect_gofmt(1e15 + 0.3, "1000000000000000.2");
	/* Around the lower end of the fast range. */
	expect_gofmt(1e-14, "0.00000000000001");
	expect_gofmt(1.5e-14, "0.000000000000015");
	expect_gofmt(9.999999999999998e-15,
	    "0.000000000000009999999999999998");
	/* A power of two: its lower neighbour is nearer than the upper. */
	expect_gofmt(ldexp(1, -44), "0.00000000000005684341886080802");
	/* Beyond 2^53: the shortest digits, then zeros. */
	expect_gofmt(123456789012345678901.0, "123456789012345680000");
	expect_gofmt(ldexp(1, 70), "1180591620717411300000");
	/* The largest double: 17 digits and 292 zeros. */
	n = (size_t)snprintf(want, sizeof(want), "17976931348623157");
	memset(want + n, '0', 309 - n);
	want[309] = '\0';
	expect_gofmt(1.7976931348623157e308, want);
	/* The smallest: 323 zeros after the point, then 5. */
	memcpy(want, "0.", 2);
	memset(want + 2, '0', 323);
	memcpy(want + 325, "5", 2);
	expect_gofmt(5e-324, want);
	want[0] = '-';
	memcpy(want + 1, "0.", 2);
	memset(want + 3, '0', 323);
	memcpy(want + 326, "5", 2);
	expect_gofmt(-5e-324, want);
	/* The smallest normal double: 307 zeros, then 17 digits. */
	memcpy(want, "0.", 2);
	memset(want + 2, '0', 307);
	memcpy(want + 309, "22250738585072014", 18);
	expect_gofmt(2.2250738585072014e-308, want);
	/* 1e300 / 3: 17 digits and 283 zeros. */
	n = (size_t)snprintf(want, sizeof(want), "33333333333333335");
	memset(want + n, '0', 300 - n);
	want[300] = '\0';
	expect_gofmt(1e300 / 3, want);
}
END_TEST

static Suite *
engine_suite(void)
{
	Suite	*s = suite_create("engine");
	TCase	*tc = tcase_create("eval");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_lookback_and_staleness);
	tcase_add_test(tc, test_rate_and_resets);
	tcase_add_test(tc, test_regression);
	tcase_add_test(tc, test_over_time);
	tcase_add_test(tc, test_aggregations);
	tcase_add_test(tc, test_binops);
	tcase_add_test(tc, test_name_collisions);
	tcase_add_test(tc, test_histogram_quantile);
	tcase_add_test(tc, test_offset_at_subquery);
	tcase_add_test(tc, test_functions);
	tcase_add_test(tc, test_errors_and_types);
	tcase_add_test(tc, test_sample_limit);
	tcase_add_test(tc, test_series_limit);
	tcase_add_test(tc, test_parallel_load);
	tcase_add_test(tc, test_rate_reference);
	tcase_add_test(tc, test_stale_in_batch);
	tcase_add_test(tc, test_json);
	suite_add_tcase(s, tc);
	tc = tcase_create("format");
	/* 200,000 values through both paths: seconds under ASan. */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_gofmt);
	tcase_add_test(tc, test_gofmt_exact);
	suite_add_tcase(s, tc);
	return s;
}

TCHECK_MAIN(engine_suite)
