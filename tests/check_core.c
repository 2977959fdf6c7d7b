/*
 * Unit tests of the core utilities: buf, units, sample batches, dynlib.
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "tcheck.h"
#include "buf.h"
#include "dynlib.h"
#include "sample.h"
#include "units.h"
#include "worker.h"

START_TEST(test_duration_ok)
{
	static const struct { const char *s; int64_t ms; } cases[] = {
		{ "500ms", 500 }, { "15s", 15000 }, { "5m", 300000 },
		{ "2h", 7200000 }, { "30d", 2592000000LL }, { "1w", 604800000LL },
		{ "1h30m", 5400000 }, { "0s", 0 }, { "1m1s1ms", 61001 },
	};
	char	err[128];
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t ms = -1;

		ck_assert_int_eq(units_parse_duration(cases[i].s, &ms, err,
		    sizeof(err)), 0);
		ck_assert_int_eq(ms, cases[i].ms);
	}
}
END_TEST

START_TEST(test_duration_bad)
{
	static const struct { const char *s, *msg; } cases[] = {
		{ "", "empty duration" },
		{ "30", "invalid duration \"30\": missing or unknown unit (use ms, s, m, h, d, w or y)" },
		{ "5x", "invalid duration \"5x\": missing or unknown unit (use ms, s, m, h, d, w or y)" },
		{ "s", "invalid duration \"s\": expected a number followed by ms, s, m, h, d, w or y" },
		{ "-5s", "invalid duration \"-5s\": expected a number followed by ms, s, m, h, d, w or y" },
		{ "30m1h", "invalid duration \"30m1h\": units out of order" },
		{ "99999999999999999999s", "duration \"99999999999999999999s\" is too large" },
		{ "9999999999999999y", "duration \"9999999999999999y\" is too large" },
	};
	char	err[128];
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t ms;

		ck_assert_int_eq(units_parse_duration(cases[i].s, &ms, err,
		    sizeof(err)), -1);
		ck_assert_str_eq(err, cases[i].msg);
	}
}
END_TEST

START_TEST(test_duration_format)
{
	char out[64];

	units_format_duration(90000, out, sizeof(out));
	ck_assert_str_eq(out, "1m30s");
	units_format_duration(0, out, sizeof(out));
	ck_assert_str_eq(out, "0s");
	units_format_duration(86400000LL * 30 + 1, out, sizeof(out));
	ck_assert_str_eq(out, "4w2d1ms");
}
END_TEST

START_TEST(test_size)
{
	char		err[128];
	uint64_t	b;

	ck_assert_int_eq(units_parse_size("64MB", &b, err, sizeof(err)), 0);
	ck_assert_uint_eq(b, 64ULL << 20);
	ck_assert_int_eq(units_parse_size("1GiB", &b, err, sizeof(err)), 0);
	ck_assert_uint_eq(b, 1ULL << 30);
	ck_assert_int_eq(units_parse_size("512B", &b, err, sizeof(err)), 0);
	ck_assert_uint_eq(b, 512);
	ck_assert_int_eq(units_parse_size("10", &b, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "invalid size \"10\": missing or unknown unit (use B, KB, MB, GB or TB)");
	ck_assert_int_eq(units_parse_size("99999999999TB", &b, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "size \"99999999999TB\" is too large");
}
END_TEST

START_TEST(test_buf_double)
{
	struct buf b = BUF_INIT;

	buf_add_double(&b, 0.1);
	buf_addc(&b, ' ');
	buf_add_double(&b, NAN);
	buf_addc(&b, ' ');
	buf_add_double(&b, -INFINITY);
	buf_addc(&b, ' ');
	buf_add_double(&b, 1e21);
	buf_addc(&b, ' ');
	buf_add_double(&b, 123456789);
	buf_addc(&b, ' ');
	buf_add_double(&b, 10);
	buf_addc(&b, ' ');
	buf_add_double(&b, 1500);
	buf_addc(&b, ' ');
	buf_add_double(&b, 999999);
	buf_addc(&b, ' ');
	buf_add_double(&b, 1e6);
	buf_addc(&b, ' ');
	buf_add_double(&b, 0.0001);
	buf_addc(&b, ' ');
	buf_add_double(&b, 0.00001234);
	buf_addc(&b, ' ');
	buf_add_double(&b, -0.0);
	buf_addc(&b, ' ');
	buf_add_double(&b, 2.5218646016e10);
	ck_assert_str_eq(b.data, "0.1 NaN -Inf 1e+21 1.23456789e+08 10 1500 "
	    "999999 1e+06 0.0001 1.234e-05 -0 2.5218646016e+10");
	buf_reset(&b);
	buf_add_double_fixed(&b, 123456789);
	buf_addc(&b, ' ');
	buf_add_double_fixed(&b, 1e21);
	buf_addc(&b, ' ');
	buf_add_double_fixed(&b, 0.00001234);
	buf_addc(&b, ' ');
	buf_add_double_fixed(&b, 1.5);
	buf_addc(&b, ' ');
	buf_add_double_fixed(&b, INFINITY);
	ck_assert_str_eq(b.data, "123456789 1000000000000000000000 0.00001234 "
	    "1.5 +Inf");
	buf_free(&b);
}
END_TEST

START_TEST(test_batch)
{
	struct batch		*b = batch_new();
	const struct sample	*s;

	ck_assert_int_eq(batch_addl(b, "node_cpu_seconds_total", 1000, 2.5,
	    "mode", "idle", "cpu", "0", "empty", "", NULL), 0);
	ck_assert_int_eq(batch_addl(b, "bad-name", 0, 1, NULL), -1);
	ck_assert_int_eq(batch_addl(b, "x", 0, 1, "a", "1", "a", "2", NULL), -1);
	ck_assert_int_eq(batch_addl(b, "x", 0, 1, "__name__", "y", NULL), -1);
	ck_assert_int_eq(batch_addl(b, "up", 0, 1, "job", "scraped", NULL), 0);
	ck_assert_uint_eq(batch_len(b), 2);
	s = batch_at(b, 0);
	ck_assert_uint_eq(s->nlabels, 3);
	ck_assert_str_eq(s->labels[0].value, "node_cpu_seconds_total");
	ck_assert_str_eq(s->labels[1].name, "cpu");
	ck_assert_str_eq(s->labels[2].name, "mode");

	batch_set_label(b, "job", "host", 0);
	batch_default_time(b, 5000);
	s = batch_at(b, 0);
	ck_assert_str_eq(labels_get(s->labels, s->nlabels, "job"), "host");
	ck_assert_int_eq(s->t, 1000);
	s = batch_at(b, 1);
	ck_assert_str_eq(labels_get(s->labels, s->nlabels, "job"), "host");
	ck_assert_str_eq(labels_get(s->labels, s->nlabels, "exported_job"), "scraped");
	ck_assert_int_eq(s->t, 5000);

	batch_reset(b);
	ck_assert_uint_eq(batch_len(b), 0);
	batch_free(b);
}
END_TEST

/* Samples of one series share their labels; others do not, and relabeling
 * a shared set gives each sample the right result. */
START_TEST(test_batch_shared_labels)
{
	struct batch		*b = batch_new();
	const struct sample	*s0, *s1, *s2, *s3;
	char			 name[16];
	int			 i;

	ck_assert_int_eq(batch_addl(b, "up", 1, 1, "job", "a", "i", "x",
	    NULL), 0);
	ck_assert_int_eq(batch_addl(b, "up", 2, 0, "i", "x", "job", "a",
	    NULL), 0);
	ck_assert_int_eq(batch_addl(b, "up", 3, 1, "job", "a", "i", "y",
	    NULL), 0);
	ck_assert_int_eq(batch_addl(b, "up", 4, 1, "job", "a", "i", "x",
	    "e", "", NULL), 0);
	s0 = batch_at(b, 0);
	s1 = batch_at(b, 1);
	s2 = batch_at(b, 2);
	s3 = batch_at(b, 3);
	ck_assert_ptr_eq(s0->labels, s1->labels);
	ck_assert_ptr_eq(s0->labels, s3->labels);
	ck_assert_ptr_ne(s0->labels, s2->labels);
	ck_assert_str_eq(labels_get(s2->labels, s2->nlabels, "i"), "y");
	ck_assert_int_eq(s1->t, 2);
	ck_assert(s1->v == 0);

	batch_set_label(b, "i", "z", 0);
	s0 = batch_at(b, 0);
	s1 = batch_at(b, 1);
	s2 = batch_at(b, 2);
	ck_assert_ptr_eq(s0->labels, s1->labels);
	ck_assert_uint_eq(s1->nlabels, 4);
	ck_assert_str_eq(labels_get(s1->labels, 4, "i"), "z");
	ck_assert_str_eq(labels_get(s1->labels, 4, "exported_i"), "x");
	ck_assert_str_eq(labels_get(s2->labels, 4, "exported_i"), "y");

	/* Past the first table size, and again after a reset. */
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "m%d", i % 300);
		ck_assert_int_eq(batch_addl(b, name, i, i, "k", "v", NULL), 0);
	}
	ck_assert_ptr_eq(batch_at(b, 4)->labels, batch_at(b, 904)->labels);
	ck_assert_str_eq(batch_at(b, 903)->labels[0].value, "m299");
	batch_reset(b);
	ck_assert_int_eq(batch_addl(b, "up", 1, 1, NULL), 0);
	ck_assert_int_eq(batch_addl(b, "up", 2, 1, NULL), 0);
	ck_assert_uint_eq(batch_at(b, 1)->nlabels, 1);
	ck_assert_ptr_eq(batch_at(b, 0)->labels, batch_at(b, 1)->labels);
	batch_free(b);
}
END_TEST

/* dynlib on zlib, which this program links: the table gets the very
   functions the linker resolved. */
struct ztable {
	__typeof__(zlibVersion)	*zlibVersion;
	__typeof__(crc32)	*crc32;
};

START_TEST(test_dynlib)
{
	static const struct dynlib_sym syms[] = {
		{ "zlibVersion", offsetof(struct ztable, zlibVersion) },
		{ "crc32", offsetof(struct ztable, crc32) },
	};
	struct ztable	 t = { NULL, NULL };
	char		 err[256];
	void		*h;

	h = dynlib_open("libz.so.1", syms, 2, &t, err, sizeof(err));
	ck_assert_ptr_nonnull(h);
	ck_assert(t.zlibVersion == zlibVersion);
	ck_assert(t.crc32 == crc32);
	ck_assert_str_eq(t.zlibVersion(), zlibVersion());
	ck_assert_uint_eq(t.crc32(0, (const Bytef *)"monitord", 8),
	    crc32(0, (const Bytef *)"monitord", 8));
	dynlib_close(h);
	dynlib_close(NULL);
}
END_TEST

START_TEST(test_dynlib_errors)
{
	static const struct dynlib_sym syms[] = {
		{ "zlibVersion", offsetof(struct ztable, zlibVersion) },
		{ "monitord_no_such_function", offsetof(struct ztable, crc32) },
	};
	struct ztable	 t = { NULL, NULL };
	char		 err[256];
	const char	*tail = ": undefined symbol: monitord_no_such_function";

	/* A library that lacks one function is refused whole. */
	ck_assert_ptr_null(dynlib_open("libz.so.1", syms, 2, &t, err,
	    sizeof(err)));
	ck_assert_msg(strncmp(err, "libz.so.1 could not be loaded: ", 31) ==
	    0, "%s", err);
	ck_assert_msg(strlen(err) > strlen(tail) && strcmp(err + strlen(err) -
	    strlen(tail), tail) == 0, "%s", err);
	ck_assert_ptr_null(t.zlibVersion);
	ck_assert_ptr_null(t.crc32);

	ck_assert_ptr_null(dynlib_open("libmonitord-nosuch.so.0", syms, 1, &t,
	    err, sizeof(err)));
	ck_assert_str_eq(err, "libmonitord-nosuch.so.0 could not be loaded: "
	    "libmonitord-nosuch.so.0: cannot open shared object file: No such "
	    "file or directory");
	ck_assert_ptr_null(t.zlibVersion);
}
END_TEST

/* Series texts of an import body: the label set of the first line again. */
START_TEST(test_batch_refs)
{
	struct batch		*b = batch_new();
	const struct label	*l;
	char			 raw[32];
	size_t			 n = 0;
	int			 i;

	ck_assert_ptr_null(batch_ref(b, "up{i=\"x\"}", 9, &n));
	ck_assert_int_eq(batch_addl(b, "up", 1, 1, "i", "x", "e", "", NULL),
	    0);
	batch_ref_set(b, "up{i=\"x\",e=\"\"}", 14);
	ck_assert_ptr_null(batch_ref(b, "up{i=\"x\"}", 9, &n));
	l = batch_ref(b, "up{i=\"x\",e=\"\"}", 14, &n);
	ck_assert_ptr_eq(l, batch_at(b, 0)->labels);
	ck_assert_uint_eq(n, 2);
	batch_add_ref(b, l, n, 2, 5);
	ck_assert_uint_eq(batch_len(b), 2);
	ck_assert_ptr_eq(batch_at(b, 1)->labels, l);
	ck_assert_uint_eq(batch_at(b, 1)->nlabels, 2);
	ck_assert_int_eq(batch_at(b, 1)->t, 2);
	ck_assert(batch_at(b, 1)->v == 5);
	/* Past the first table size, each text finds its own set. */
	for (i = 0; i < 600; i++) {
		snprintf(raw, sizeof(raw), "m%d", i);
		ck_assert_int_eq(batch_addl(b, raw, i, i, NULL), 0);
		batch_ref_set(b, raw, strlen(raw));
	}
	for (i = 0; i < 600; i++) {
		snprintf(raw, sizeof(raw), "m%d", i);
		l = batch_ref(b, raw, strlen(raw), &n);
		ck_assert_ptr_nonnull(l);
		ck_assert_uint_eq(n, 1);
		ck_assert_str_eq(l[0].value, raw);
	}
	batch_reset(b);
	ck_assert_ptr_null(batch_ref(b, "m1", 2, &n));
	batch_free(b);
}
END_TEST

/*
 * Worker jobs that meet: each waits (up to 10 s) until `want` jobs have
 * arrived.  With fewer threads than `want` they cannot all meet.
 */
struct meet {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 arrived, want, met, done, order[8], norder;
};

struct meet_job {
	struct meet	*m;
	int		 id;
};

static void
meet_run(void *arg)
{
	struct meet_job	*j = arg;
	struct meet	*m = j->m;
	struct timespec	 until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&m->mu);
	m->order[m->norder++] = j->id;
	if (++m->arrived >= m->want)
		pthread_cond_broadcast(&m->cv);
	while (m->arrived < m->want &&
	    pthread_cond_timedwait(&m->cv, &m->mu, &until) == 0)
		;
	if (m->arrived >= m->want)
		m->met++;
	pthread_mutex_unlock(&m->mu);
}

static void
meet_done(void *arg)
{
	struct meet_job *j = arg;

	j->m->done++;		/* on the loop's thread */
}

static struct event_base *
loop_new(void)
{
	ck_assert_int_eq(evthread_use_pthreads(), 0);
	return event_base_new();
}

static void
loop_until(struct event_base *base, struct meet *m, int done)
{
	while (m->done < done)
		event_base_loop(base, EVLOOP_ONCE);
}

START_TEST(test_worker_pool_runs_jobs_at_once)
{
	struct event_base	*base = loop_new();
	struct worker		*w = worker_new(base, 8, 3);
	struct meet		 m = { .want = 3 };
	struct meet_job		 j[3];
	int			 i;

	pthread_mutex_init(&m.mu, NULL);
	pthread_cond_init(&m.cv, NULL);
	for (i = 0; i < 3; i++) {
		j[i] = (struct meet_job){ &m, i };
		ck_assert_int_eq(worker_submit(w, meet_run, meet_done, &j[i]), 0);
	}
	loop_until(base, &m, 3);
	/* All three ran at the same time: each saw the other two arrive. */
	ck_assert_int_eq(m.met, 3);
	ck_assert_uint_eq(worker_queued(w), 0);
	worker_free(w);
	event_base_free(base);
}
END_TEST

START_TEST(test_worker_one_thread_in_order)
{
	struct event_base	*base = loop_new();
	struct worker		*w = worker_new(base, 8, 1);
	struct meet		 m = { .want = 1 };
	struct meet_job		 j[5];
	int			 i;

	pthread_mutex_init(&m.mu, NULL);
	pthread_cond_init(&m.cv, NULL);
	for (i = 0; i < 5; i++) {
		j[i] = (struct meet_job){ &m, i };
		ck_assert_int_eq(worker_submit(w, meet_run, meet_done, &j[i]), 0);
	}
	loop_until(base, &m, 5);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(m.order[i], i);
	worker_free(w);
	event_base_free(base);
}
END_TEST

START_TEST(test_worker_queue_bound)
{
	struct event_base	*base = loop_new();
	struct worker		*w = worker_new(base, 2, 2);
	/* Three never arrive here: the two jobs wait until released. */
	struct meet		 m = { .want = 3 };
	struct meet_job		 j[3];
	int			 i;

	pthread_mutex_init(&m.mu, NULL);
	pthread_cond_init(&m.cv, NULL);
	for (i = 0; i < 3; i++)
		j[i] = (struct meet_job){ &m, i };
	/* Two jobs, running or waiting, fill a queue of two. */
	ck_assert_int_eq(worker_full(w), 0);
	ck_assert_int_eq(worker_submit(w, meet_run, meet_done, &j[0]), 0);
	ck_assert_int_eq(worker_full(w), 0);
	ck_assert_int_eq(worker_submit(w, meet_run, meet_done, &j[1]), 0);
	ck_assert_int_eq(worker_full(w), 1);
	ck_assert_int_eq(worker_submit(w, meet_run, meet_done, &j[2]), -1);
	pthread_mutex_lock(&m.mu);
	m.want = 2;
	pthread_cond_broadcast(&m.cv);
	pthread_mutex_unlock(&m.mu);
	loop_until(base, &m, 2);
	ck_assert_int_eq(m.met, 2);
	/* Room again once they are done; worker_free runs what is queued. */
	ck_assert_int_eq(worker_full(w), 0);
	m.want = 3;
	ck_assert_int_eq(worker_submit(w, meet_run, meet_done, &j[2]), 0);
	worker_free(w);
	ck_assert_int_eq(m.done, 3);
	ck_assert_int_eq(m.norder, 3);
	event_base_free(base);
}
END_TEST

static Suite *
core_suite(void)
{
	Suite	*s = suite_create("core");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_duration_ok);
	tcase_add_test(tc, test_duration_bad);
	tcase_add_test(tc, test_duration_format);
	tcase_add_test(tc, test_size);
	tcase_add_test(tc, test_buf_double);
	tcase_add_test(tc, test_batch);
	tcase_add_test(tc, test_batch_shared_labels);
	tcase_add_test(tc, test_dynlib);
	tcase_add_test(tc, test_dynlib_errors);
	tcase_add_test(tc, test_batch_refs);
	tcase_add_test(tc, test_worker_pool_runs_jobs_at_once);
	tcase_add_test(tc, test_worker_one_thread_in_order);
	tcase_add_test(tc, test_worker_queue_bound);
	suite_add_tcase(s, tc);
	return s;
}

TCHECK_MAIN(core_suite)
