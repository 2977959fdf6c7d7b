/*
 * Tests of the text exposition writer: exact output for escapes, special
 * values, timestamps and the grouping of batches into families.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "tcheck.h"
#include "buf.h"
#include "expo.h"
#include "metric.h"
#include "sample.h"

START_TEST(test_help_type)
{
	struct buf b = BUF_INIT;

	expo_help_type(&b, "m_total", METRIC_COUNTER,
	    "Back\\slash, \"quotes\" and a\nnewline.");
	expo_help_type(&b, "g", METRIC_GAUGE, NULL);
	expo_help_type(&b, "h", METRIC_HISTOGRAM, "");
	expo_help_type(&b, "s", METRIC_SUMMARY, "x");
	expo_help_type(&b, "u", METRIC_UNTYPED, "y");
	ck_assert_str_eq(b.data,
	    "# HELP m_total Back\\\\slash, \"quotes\" and a\\nnewline.\n"
	    "# TYPE m_total counter\n"
	    "# TYPE g gauge\n"
	    "# HELP h \n"
	    "# TYPE h histogram\n"
	    "# HELP s x\n"
	    "# TYPE s summary\n"
	    "# HELP u y\n"
	    "# TYPE u untyped\n");
	buf_free(&b);
}
END_TEST

START_TEST(test_sample)
{
	struct buf		b = BUF_INIT;
	const struct label	esc[] = {
		{ "__name__", "m" }, { "a", "back\\slash" },
		{ "b", "say \"hi\"" }, { "c", "two\nlines" }, { "d", "" },
		{ "e", "\\\"\n" },
	};
	const struct label	bare[] = { { "__name__", "up" } };
	const struct label	late[] = { { "job", "x" }, { "__name__", "up" } };
	const struct label	noname[] = { { "job", "x" } };

	expo_sample(&b, esc, 6, 1, 0);
	expo_sample(&b, bare, 1, NAN, 0);
	expo_sample(&b, bare, 1, INFINITY, 1700000000123LL);
	expo_sample(&b, bare, 1, -INFINITY, -5);
	expo_sample(&b, late, 2, 0.1, 0);
	expo_sample(&b, noname, 1, 1, 0);
	expo_sample(&b, bare, 1, 10, 0);
	expo_sample(&b, bare, 1, 1e-7, 0);
	expo_sample(&b, bare, 1, 123456789, 0);
	expo_sample(&b, bare, 1, -0.0, 0);
	expo_sample(&b, bare, 1, 1e21, 0);
	ck_assert_str_eq(b.data,
	    "m{a=\"back\\\\slash\",b=\"say \\\"hi\\\"\",c=\"two\\nlines\","
	    "e=\"\\\\\\\"\\n\"} 1\n"
	    "up NaN\n"
	    "up +Inf 1700000000123\n"
	    "up -Inf -5\n"
	    "up{job=\"x\"} 0.1\n"
	    "up 10\n"
	    "up 1e-07\n"
	    "up 1.23456789e+08\n"
	    "up -0\n"
	    "up 1e+21\n");
	buf_free(&b);
}
END_TEST

/* The stale-marker NaN is still written as NaN. */
START_TEST(test_stale_nan)
{
	struct buf		b = BUF_INIT;
	const struct label	l[] = { { "__name__", "up" } };
	union { uint64_t u; double d; } stale = { STALE_NAN_BITS };

	expo_sample(&b, l, 1, stale.d, 0);
	ck_assert_str_eq(b.data, "up NaN\n");
	buf_free(&b);
}
END_TEST

static struct batch *
mixed_batch(void)
{
	struct batch *bt = batch_new();

	ck_assert_int_eq(batch_addl(bt, "b_total", 1000, 1, NULL), 0);
	ck_assert_int_eq(batch_addl(bt, "a_seconds_bucket", 1000, 1,
	    "le", "0.1", "job", "x", NULL), 0);
	ck_assert_int_eq(batch_addl(bt, "a_seconds_bucket", 1000, 2,
	    "le", "+Inf", "job", "x", NULL), 0);
	ck_assert_int_eq(batch_addl(bt, "a_seconds_sum", 1000, 0.5,
	    "job", "x", NULL), 0);
	ck_assert_int_eq(batch_addl(bt, "a_seconds_count", 1000, 2,
	    "job", "x", NULL), 0);
	ck_assert_int_eq(batch_addl(bt, "rpc_duration", 2000, 0.01,
	    "quantile", "0.5", NULL), 0);
	ck_assert_int_eq(batch_addl(bt, "rpc_duration_sum", 2000, 1.5, NULL),
	    0);
	ck_assert_int_eq(batch_addl(bt, "rpc_duration_count", 2000, 10, NULL),
	    0);
	ck_assert_int_eq(batch_addl(bt, "b_total", 0, 3, "code", "500", NULL),
	    0);
	ck_assert_int_eq(batch_addl(bt, "x_count", 1000, 7, NULL), 0);
	ck_assert_int_eq(batch_addl(bt, "pg_stat_activity_count", 1000, 3,
	    "datname", "shop", NULL), 0);
	ck_assert_int_eq(batch_addl(bt, "q_bucket", 1000, 4, "le", "1", NULL),
	    0);
	ck_assert_int_eq(batch_addl(bt, "a_seconds_bucket", 1000, 5,
	    "le", "+Inf", "job", "y", NULL), 0);
	return bt;
}

START_TEST(test_batch_inferred)
{
	struct batch	*bt = mixed_batch();
	struct buf	 b = BUF_INIT;

	expo_write_batch(&b, bt, NULL, 0);
	ck_assert_str_eq(b.data,
	    "# TYPE a_seconds histogram\n"
	    "a_seconds_bucket{job=\"x\",le=\"0.1\"} 1\n"
	    "a_seconds_bucket{job=\"x\",le=\"+Inf\"} 2\n"
	    "a_seconds_sum{job=\"x\"} 0.5\n"
	    "a_seconds_count{job=\"x\"} 2\n"
	    "a_seconds_bucket{job=\"y\",le=\"+Inf\"} 5\n"
	    "# TYPE b_total untyped\n"
	    "b_total 1\n"
	    "b_total{code=\"500\"} 3\n"
	    "# TYPE pg_stat_activity_count untyped\n"
	    "pg_stat_activity_count{datname=\"shop\"} 3\n"
	    "# TYPE q histogram\n"
	    "q_bucket{le=\"1\"} 4\n"
	    "# TYPE rpc_duration summary\n"
	    "rpc_duration{quantile=\"0.5\"} 0.01\n"
	    "rpc_duration_sum 1.5\n"
	    "rpc_duration_count 10\n"
	    "# TYPE x_count untyped\n"
	    "x_count 7\n");
	buf_free(&b);
	batch_free(bt);
}
END_TEST

START_TEST(test_batch_catalog)
{
	static const struct metric_def catalog[] = {
		{ "b_total", METRIC_COUNTER, "code", "Requests.\nBy code \\ path." },
		{ "a_seconds", METRIC_HISTOGRAM, "job", "Latency." },
		{ "pg_stat_activity_count", METRIC_GAUGE, "datname",
		  "Connections." },
		{ "q", METRIC_COUNTER, "", "A counter, whatever the batch says." },
		{ "x", METRIC_SUMMARY, "", "Only _sum and _count join x." },
		{ "unused", METRIC_GAUGE, "", "Not in the batch." },
		{ NULL, 0, NULL, NULL },
	};
	struct batch	*bt = mixed_batch();
	struct buf	 b = BUF_INIT;

	ck_assert_int_eq(batch_addl(bt, "x_bucket", 1000, 8, NULL), 0);
	expo_write_batch(&b, bt, catalog, 1);
	ck_assert_str_eq(b.data,
	    "# HELP a_seconds Latency.\n"
	    "# TYPE a_seconds histogram\n"
	    "a_seconds_bucket{job=\"x\",le=\"0.1\"} 1 1000\n"
	    "a_seconds_bucket{job=\"x\",le=\"+Inf\"} 2 1000\n"
	    "a_seconds_sum{job=\"x\"} 0.5 1000\n"
	    "a_seconds_count{job=\"x\"} 2 1000\n"
	    "a_seconds_bucket{job=\"y\",le=\"+Inf\"} 5 1000\n"
	    "# HELP b_total Requests.\\nBy code \\\\ path.\n"
	    "# TYPE b_total counter\n"
	    "b_total 1 1000\n"
	    "b_total{code=\"500\"} 3\n"
	    "# HELP pg_stat_activity_count Connections.\n"
	    "# TYPE pg_stat_activity_count gauge\n"
	    "pg_stat_activity_count{datname=\"shop\"} 3 1000\n"
	    "# TYPE q_bucket untyped\n"
	    "q_bucket{le=\"1\"} 4 1000\n"
	    "# TYPE rpc_duration summary\n"
	    "rpc_duration{quantile=\"0.5\"} 0.01 2000\n"
	    "rpc_duration_sum 1.5 2000\n"
	    "rpc_duration_count 10 2000\n"
	    "# HELP x Only _sum and _count join x.\n"
	    "# TYPE x summary\n"
	    "x_count 7 1000\n"
	    "# TYPE x_bucket untyped\n"
	    "x_bucket 8 1000\n");
	buf_free(&b);
	batch_free(bt);
}
END_TEST

START_TEST(test_batch_empty)
{
	struct batch	*bt = batch_new();
	struct buf	 b = BUF_INIT;

	expo_write_batch(&b, bt, NULL, 1);
	ck_assert_uint_eq(b.len, 0);
	batch_free(bt);
}
END_TEST

/* Families sort bytewise; "a" comes before "a_b" before "ab". */
START_TEST(test_batch_order)
{
	struct batch	*bt = batch_new();
	struct buf	 b = BUF_INIT;

	ck_assert_int_eq(batch_addl(bt, "ab", 0, 1, NULL), 0);
	ck_assert_int_eq(batch_addl(bt, "a_b", 0, 2, NULL), 0);
	ck_assert_int_eq(batch_addl(bt, "a", 0, 3, "z", "1", NULL), 0);
	ck_assert_int_eq(batch_addl(bt, "A", 0, 4, NULL), 0);
	ck_assert_int_eq(batch_addl(bt, "a", 0, 5, "y", "1", NULL), 0);
	expo_write_batch(&b, bt, NULL, 1);
	ck_assert_str_eq(b.data,
	    "# TYPE A untyped\nA 4\n"
	    "# TYPE a untyped\na{z=\"1\"} 3\na{y=\"1\"} 5\n"
	    "# TYPE a_b untyped\na_b 2\n"
	    "# TYPE ab untyped\nab 1\n");
	buf_free(&b);
	batch_free(bt);
}
END_TEST

static Suite *
expo_suite(void)
{
	Suite	*s = suite_create("expo");
	TCase	*tc = tcase_create("expo");

	tcase_add_test(tc, test_help_type);
	tcase_add_test(tc, test_sample);
	tcase_add_test(tc, test_stale_nan);
	tcase_add_test(tc, test_batch_inferred);
	tcase_add_test(tc, test_batch_catalog);
	tcase_add_test(tc, test_batch_empty);
	tcase_add_test(tc, test_batch_order);
	suite_add_tcase(s, tc);
	return s;
}

TCHECK_MAIN(expo_suite)
