/*
 * Unit tests of the store: matchers and series sets, reads across the
 * head, sealed chunks and a reopen, the drop rules, limits, retention,
 * rollups, checkpoints, the format record, a full disk, and readers
 * running beside the writer.  Every read also checks store_iter_read, the
 * batch read, against store_iter_next; a corrupt chunk checks both.
 * Every store lives in a fresh temp dir.
 */
#include "config.h"

#include <sys/stat.h>

#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tcheck.h"
#include "tmpdir.h"
#include "buf.h"
#include "sample.h"
#include "xmalloc.h"
#include "storage/chunk.h"
#include "storage/kv.h"
#include "storage/meta.h"
#include "storage/store.h"

static char *
tmpdir_new(void)
{
	char *d = tmpdir_make("check_store");

	ck_assert_ptr_nonnull(d);
	return d;
}

static void
tmpdir_free(char *d)
{
	tmpdir_remove(d);
	free(d);
}

/* Test options: nothing in the background, nothing expires. */
static void
test_opts(struct store_opts *o, const char *dir)
{
	store_opts_default(o);
	o->dir = dir;
	o->flush_interval_ms = 0;
	o->maint_interval_ms = 0;
	o->retention_ms = 0;
	o->retention_5m_ms = 0;
	o->retention_1h_ms = 0;
	o->map_size_max = 256ULL << 20;
	o->chunk_max_bytes = 0;		/* tests seal by count and span */
}

static struct store *
open_ok(const struct store_opts *o)
{
	char		 err[256] = "";
	struct store	*st = store_open(o, err, sizeof(err));

	ck_assert_msg(st != NULL, "store_open: %s", err);
	return st;
}

static void
close_ok(struct store *st)
{
	char err[256] = "";

	ck_assert_msg(store_close(st, err, sizeof(err)) == 0, "close: %s",
	    err);
}

static void
flush_ok(struct store *st)
{
	char err[256] = "";

	ck_assert_msg(store_flush(st, err, sizeof(err)) == 0, "flush: %s",
	    err);
}

static void
append_ok(struct store *st, struct batch *b, struct store_append_stats *a)
{
	ck_assert_int_eq(store_append_batch(st, b, a), 0);
	batch_reset(b);
}

/* The selected series as `name{a="1",b="2"}` separated by spaces. */
static char *
select_str(struct store *st, const struct store_matcher *m, size_t n,
    int64_t t0, int64_t t1, enum store_tier tier)
{
	struct store_set	*set;
	const struct label	*l;
	struct buf		 b = BUF_INIT;
	char			 err[256] = "";
	size_t			 i, j, nl;

	ck_assert_msg(store_select(st, m, n, t0, t1, tier, &set, err,
	    sizeof(err)) == 0, "select: %s", err);
	buf_adds(&b, "");
	for (i = 0; i < store_set_len(set); i++) {
		l = store_set_labels(set, i, &nl);
		if (i > 0)
			buf_addc(&b, ' ');
		buf_adds(&b, l[0].value);
		buf_addc(&b, '{');
		for (j = 1; j < nl; j++)
			buf_printf(&b, "%s%s=\"%s\"", j > 1 ? "," : "",
			    l[j].name, l[j].value);
		buf_addc(&b, '}');
	}
	store_set_free(set);
	return buf_detach(&b);
}

#define SEL(st, ...) select_all(st, (const struct store_matcher[]){ \
	__VA_ARGS__ }, sizeof((const struct store_matcher[]){ __VA_ARGS__ }) / \
	sizeof(struct store_matcher))

static char *
select_all(struct store *st, const struct store_matcher *m, size_t n)
{
	return select_str(st, m, n, INT64_MIN, INT64_MAX, STORE_TIER_RAW);
}

static void
check_sel(char *got, const char *want)
{
	ck_assert_str_eq(got, want);
	free(got);
}

/* Id of the one series matching __name__=NAME. */
static uint64_t
series_id(struct store *st, const char *name)
{
	struct store_matcher	 m = { "__name__", name, STORE_MATCH_EQ };
	struct store_set	*set;
	char			 err[256];
	uint64_t		 id;

	ck_assert_int_eq(store_select(st, &m, 1, INT64_MIN, INT64_MAX,
	    STORE_TIER_RAW, &set, err, sizeof(err)), 0);
	ck_assert_uint_eq(store_set_len(set), 1);
	id = store_set_id(set, 0);
	store_set_free(set);
	return id;
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* How many series have a metric name matching the regex RE. */
static size_t
select_count(struct store *st, const char *re)
{
	struct store_matcher	 m = { "__name__", re, STORE_MATCH_RE };
	struct store_set	*set;
	char			 err[256];
	size_t			 n;

	ck_assert_int_eq(store_select(st, &m, 1, INT64_MIN, INT64_MAX,
	    STORE_TIER_RAW, &set, err, sizeof(err)), 0);
	n = store_set_len(set);
	store_set_free(set);
	return n;
}

/* How many series have NAME="VALUE"; their ids are distinct. */
static size_t
select_ids_sorted(struct store *st, const char *name, const char *value)
{
	struct store_matcher	 m = { name, value, STORE_MATCH_EQ };
	struct store_set	*set;
	char			 err[256];
	uint64_t		*ids;
	size_t			 n, i;

	ck_assert_int_eq(store_select(st, &m, 1, INT64_MIN, INT64_MAX,
	    STORE_TIER_RAW, &set, err, sizeof(err)), 0);
	n = store_set_len(set);
	ids = xcalloc(n + 1, sizeof(*ids));
	for (i = 0; i < n; i++)
		ids[i] = store_set_id(set, i);
	qsort(ids, n, sizeof(*ids), u64_cmp);
	for (i = 1; i < n; i++)
		ck_assert_uint_lt(ids[i - 1], ids[i]);
	free(ids);
	store_set_free(set);
	return n;
}

/*
 * store_iter_read, a batch of CAP at a time, as a point at a time (the
 * readers beside the writer use it to check it under concurrent flushes).
 */
struct rbuf {
	struct store_iter	*it;
	size_t			 cap, n, i;
	int64_t			 t[64];
	double			 v[64];
};

static int
rbuf_next(struct rbuf *r, int64_t *t, double *v)
{
	int rc;

	if (r->i == r->n) {
		if ((rc = store_iter_read(r->it, r->t, r->v, r->cap)) <= 0)
			return rc;
		r->n = (size_t)rc;
		r->i = 0;
	}
	*t = r->t[r->i];
	*v = r->v[r->i++];
	return 1;
}

/*
 * store_iter_read must give what store_iter_next gives, bit for bit,
 * whatever the batch size, and mixed with store_iter_next.  REF holds
 * the N points store_iter_next gave.
 */
static void
read_check(struct store *st, uint64_t id, int64_t t0, int64_t t1,
    enum store_tier tier, const int64_t *ref_t, const double *ref_v,
    size_t n)
{
	static const size_t	 sizes[] = { 1, 2, 5, 64, 4095, 4096,
	    100000 };
	struct store_iter	*it;
	int64_t			*t = xcalloc(n + 1, sizeof(*t)), tt;
	double			*v = xcalloc(n + 1, sizeof(*v)), vv;
	size_t			 k, got, want;
	int			 rc, mode;

	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		it = store_iter_new(st, id, t0, t1, tier);
		got = 0;
		for (;;) {
			want = n + 1 - got < sizes[k] ? n + 1 - got : sizes[k];
			if (want == 0)
				break;
			if ((rc = store_iter_read(it, t + got, v + got,
			    want)) <= 0)
				break;
			ck_assert_uint_le((size_t)rc, want);
			got += (size_t)rc;
		}
		ck_assert_msg(rc == 0, "read: %s", store_iter_error(it));
		ck_assert_uint_eq(got, n);
		ck_assert(memcmp(t, ref_t, n * sizeof(*t)) == 0);
		ck_assert(memcmp(v, ref_v, n * sizeof(*v)) == 0);
		/* At the end it stays at the end. */
		ck_assert_int_eq(store_iter_read(it, t, v, 8), 0);
		store_iter_free(it);
	}
	/* Alternating: one point with next, then three with read. */
	it = store_iter_new(st, id, t0, t1, tier);
	got = 0;
	for (mode = 0;; mode = !mode) {
		if (mode == 0) {
			if ((rc = store_iter_next(it, &tt, &vv)) != 1)
				break;
			t[got] = tt;
			v[got++] = vv;
		} else {
			if ((rc = store_iter_read(it, t + got, v + got,
			    n + 1 - got < 3 ? n + 1 - got : 3)) <= 0)
				break;
			got += (size_t)rc;
		}
		ck_assert_uint_le(got, n);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(got, n);
	ck_assert(memcmp(t, ref_t, n * sizeof(*t)) == 0);
	ck_assert(memcmp(v, ref_v, n * sizeof(*v)) == 0);
	store_iter_free(it);
	free(t);
	free(v);
}

/*
 * Points of a series in [t0, t1]; returns the count.  Every read is
 * checked against store_iter_read too.
 */
static size_t
collect(struct store *st, uint64_t id, int64_t t0, int64_t t1,
    enum store_tier tier, int64_t *ts, struct store_agg *as, size_t max)
{
	struct store_iter	*it = store_iter_new(st, id, t0, t1, tier);
	struct store_agg	 a;
	int64_t			 t;
	size_t			 n = 0;
	int			 rc;

	double			*vs = xcalloc(max, sizeof(*vs));

	while ((rc = store_iter_next_agg(it, &t, &a)) == 1) {
		ck_assert_uint_lt(n, max);
		ts[n] = t;
		as[n] = a;
		vs[n] = a.last;
		n++;
	}
	ck_assert_msg(rc == 0, "iter: %s", store_iter_error(it));
	store_iter_free(it);
	read_check(st, id, t0, t1, tier, ts, vs, n);
	free(vs);
	return n;
}

static void
strings_check(struct store_strings *s, const char *want)
{
	struct buf	b = BUF_INIT;
	size_t		i;

	buf_adds(&b, "");
	for (i = 0; i < s->n; i++) {
		if (i > 0)
			buf_addc(&b, ',');
		buf_adds(&b, s->v[i]);
	}
	ck_assert_str_eq(b.data, want);
	buf_free(&b);
	store_strings_free(s);
}

static void
add_matcher_fixture(struct store *st)
{
	struct batch *b = batch_new();

	batch_addl(b, "up", 1000, 1, "job", "a", "instance", "1", NULL);
	batch_addl(b, "up", 1000, 1, "job", "a", "instance", "2", NULL);
	batch_addl(b, "up", 1000, 0, "job", "b", "instance", "1", NULL);
	batch_addl(b, "http_requests_total", 1000, 5, "job", "a", "code",
	    "200", NULL);
	batch_addl(b, "http_requests_total", 1000, 1, "job", "a", "code",
	    "500", NULL);
	batch_addl(b, "http_requests_total", 1000, 2, "job", "b", NULL);
	batch_addl(b, "node_load1", 1000, 0.5, NULL);
	append_ok(st, b, NULL);
	batch_free(b);
}

#define EQ	STORE_MATCH_EQ
#define NE	STORE_MATCH_NE
#define RE	STORE_MATCH_RE
#define NRE	STORE_MATCH_NRE

START_TEST(test_matchers)
{
	struct store_opts	 o;
	struct store		*st;
	char			*dir = tmpdir_new();

	test_opts(&o, dir);
	st = open_ok(&o);
	add_matcher_fixture(st);

	check_sel(SEL(st, { "__name__", "up", EQ }),
	    "up{instance=\"1\",job=\"a\"} up{instance=\"1\",job=\"b\"} "
	    "up{instance=\"2\",job=\"a\"}");
	check_sel(SEL(st, { "__name__", "up", EQ }, { "job", "a", EQ }),
	    "up{instance=\"1\",job=\"a\"} up{instance=\"2\",job=\"a\"}");
	check_sel(SEL(st, { "__name__", "up", EQ }, { "job", "a", NE }),
	    "up{instance=\"1\",job=\"b\"}");
	check_sel(SEL(st, { "__name__", "up|node_load1", RE },
	    { "instance", "2", NE }),
	    "node_load1{} up{instance=\"1\",job=\"a\"} "
	    "up{instance=\"1\",job=\"b\"}");
	check_sel(SEL(st, { "__name__", "http.*", RE }, { "code", "5..", RE }),
	    "http_requests_total{code=\"500\",job=\"a\"}");
	check_sel(SEL(st, { "__name__", "http.*", RE },
	    { "code", "5..", NRE }),
	    "http_requests_total{code=\"200\",job=\"a\"} "
	    "http_requests_total{job=\"b\"}");
	check_sel(SEL(st, { "__name__", "http_requests_total", EQ },
	    { "code", "", EQ }), "http_requests_total{job=\"b\"}");
	check_sel(SEL(st, { "__name__", "http_requests_total", EQ },
	    { "code", "", NE }),
	    "http_requests_total{code=\"200\",job=\"a\"} "
	    "http_requests_total{code=\"500\",job=\"a\"}");
	check_sel(SEL(st, { "job", "a|b", RE }, { "__name__", "up", NE },
	    { "code", "200", NE }),
	    "http_requests_total{code=\"500\",job=\"a\"} "
	    "http_requests_total{job=\"b\"}");
	/* An absent label is "", which .* matches and .+ does not. */
	check_sel(SEL(st, { "job", ".*", RE }, { "__name__", "node_load1",
	    EQ }), "node_load1{}");
	check_sel(SEL(st, { "job", ".+", NRE }), "node_load1{}");
	check_sel(SEL(st, { "job", "c", EQ }), "");
	check_sel(SEL(st, { "nosuchlabel", "x", EQ }), "");
	/* Anchored at both ends, case-sensitive unless asked. */
	check_sel(SEL(st, { "__name__", "u", RE }), "");
	check_sel(SEL(st, { "__name__", "p", RE }), "");
	check_sel(SEL(st, { "__name__", "UP", RE }), "");
	check_sel(SEL(st, { "__name__", "(?i)UP", RE }, { "job", "b", EQ }),
	    "up{instance=\"1\",job=\"b\"}");
	check_sel(SEL(st, { "__name__", "up|node_load1|http_requests_total",
	    NRE }), "");
	close_ok(st);
	tmpdir_free(dir);
}
END_TEST

/* store_select_max: -2 and no set past the limit, the set within it. */
START_TEST(test_select_max)
{
	struct store_matcher	 m = { "__name__", "up", EQ };
	struct store_opts	 o;
	struct store		*st;
	struct store_set	*set = (struct store_set *)&o;
	char			*dir = tmpdir_new(), err[256] = "";
	size_t			 max;

	test_opts(&o, dir);
	st = open_ok(&o);
	add_matcher_fixture(st);
	ck_assert_int_eq(store_select_max(st, &m, 1, INT64_MIN, INT64_MAX,
	    STORE_TIER_RAW, 2, &set, err, sizeof(err)), -2);
	ck_assert_ptr_null(set);
	ck_assert_str_eq(err, "");
	for (max = 0; max <= 4; max += max == 0 ? 3 : 1) {
		ck_assert_int_eq(store_select_max(st, &m, 1, INT64_MIN,
		    INT64_MAX, STORE_TIER_RAW, max, &set, err, sizeof(err)), 0);
		ck_assert_uint_eq(store_set_len(set), 3);
		store_set_free(set);
	}
	/* A bad regex is still -1 with its message. */
	m.value = "(";
	m.op = STORE_MATCH_RE;
	ck_assert_int_eq(store_select_max(st, &m, 1, INT64_MIN, INT64_MAX,
	    STORE_TIER_RAW, 1, &set, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "missing closing )"));
	close_ok(st);
	tmpdir_free(dir);
}
END_TEST

START_TEST(test_matcher_errors_and_labels)
{
	static const struct { const char *re, *msg; } bad[] = {
		{ "(", "error parsing regexp: missing closing ): `^(?:()$`" },
		{ "[a-", "error parsing regexp: invalid character class "
		    "range: `a-)`" },
		{ "*x", "error parsing regexp: missing argument to repetition "
		    "operator: `*`" },
		{ "a{2,1}", "error parsing regexp: invalid repeat count: "
		    "`{2,1}`" },
	};
	struct store_opts	 o;
	struct store		*st;
	struct store_set	*set = NULL;
	struct store_strings	 s;
	struct store_matcher	 m;
	char			*dir = tmpdir_new(), err[256];
	size_t			 i;

	test_opts(&o, dir);
	st = open_ok(&o);
	add_matcher_fixture(st);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m.name = "job";
		m.value = bad[i].re;
		m.op = i % 2 ? NRE : RE;
		ck_assert_int_eq(store_select(st, &m, 1, INT64_MIN, INT64_MAX,
		    STORE_TIER_RAW, &set, err, sizeof(err)), -1);
		ck_assert_ptr_null(set);
		ck_assert_str_eq(err, bad[i].msg);
	}
	ck_assert_int_eq(store_label_names(st, NULL, 0, INT64_MIN, INT64_MAX,
	    &s, err, sizeof(err)), 0);
	strings_check(&s, "__name__,code,instance,job");
	ck_assert_int_eq(store_label_values(st, "job", NULL, 0, INT64_MIN,
	    INT64_MAX, &s, err, sizeof(err)), 0);
	strings_check(&s, "a,b");
	ck_assert_int_eq(store_label_values(st, "__name__", NULL, 0,
	    INT64_MIN, INT64_MAX, &s, err, sizeof(err)), 0);
	strings_check(&s, "http_requests_total,node_load1,up");
	m.name = "__name__";
	m.value = "http_requests_total";
	m.op = EQ;
	ck_assert_int_eq(store_label_values(st, "code", &m, 1, INT64_MIN,
	    INT64_MAX, &s, err, sizeof(err)), 0);
	strings_check(&s, "200,500");
	ck_assert_int_eq(store_label_names(st, &m, 1, INT64_MIN, INT64_MAX,
	    &s, err, sizeof(err)), 0);
	strings_check(&s, "__name__,code,job");
	/* A time range outside every sample selects nothing. */
	ck_assert_int_eq(store_label_names(st, NULL, 0, 2000, 3000, &s, err,
	    sizeof(err)), 0);
	strings_check(&s, "");
	ck_assert_int_eq(store_label_values(st, "nosuch", NULL, 0, INT64_MIN,
	    INT64_MAX, &s, err, sizeof(err)), 0);
	strings_check(&s, "");
	close_ok(st);
	tmpdir_free(dir);
}
END_TEST

START_TEST(test_long_label_values)
{
	struct store_opts	 o;
	struct store		*st;
	struct batch		*b = batch_new();
	struct store_strings	 s;
	char			*dir = tmpdir_new(), err[256], *got;
	char			 v1[1001], v2[1001], want[2200];

	/* Same first 500 bytes: only the hashed tail tells them apart. */
	memset(v1, 'x', 1000);
	v1[1000] = '\0';
	memcpy(v2, v1, sizeof(v1));
	v2[999] = 'y';
	test_opts(&o, dir);
	st = open_ok(&o);
	batch_addl(b, "m", 1000, 1, "url", v1, NULL);
	batch_addl(b, "m", 1000, 2, "url", v2, NULL);
	batch_addl(b, "m", 1000, 3, "url", "short", NULL);
	append_ok(st, b, NULL);
	snprintf(want, sizeof(want), "m{url=\"%s\"}", v2);
	check_sel(SEL(st, { "url", v2, EQ }), want);
	check_sel(SEL(st, { "url", "x*y", RE }), want);
	got = SEL(st, { "url", "x+", RE });
	ck_assert_uint_eq(strlen(got), 1000 + 9);
	free(got);
	check_sel(SEL(st, { "url", "x.*", NRE }), "m{url=\"short\"}");
	ck_assert_int_eq(store_label_values(st, "url", NULL, 0, INT64_MIN,
	    INT64_MAX, &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_str_eq(s.v[0], "short");
	ck_assert_str_eq(s.v[1], v1);
	ck_assert_str_eq(s.v[2], v2);
	store_strings_free(&s);
	close_ok(st);

	/* Reopened, the labels are rebuilt from the postings (the long
	 * values from long_values): the same series, the same answers. */
	st = open_ok(&o);
	check_sel(SEL(st, { "url", v2, EQ }), want);
	check_sel(SEL(st, { "url", "x*y", RE }), want);
	check_sel(SEL(st, { "url", "x.*", NRE }), "m{url=\"short\"}");
	batch_addl(b, "m", 2000, 4, "url", v2, NULL);
	append_ok(st, b, NULL);
	ck_assert_uint_eq(select_count(st, "m"), 3);
	close_ok(st);
	batch_free(b);
	tmpdir_free(dir);
}
END_TEST

/*
 * Postings lists longer than a segment (480 bytes), written by several
 * batches, with ids taken out in the middle by retention: every list
 * stays whole and sorted, also reopened.
 */
START_TEST(test_postings_segments)
{
	struct store_opts		 o;
	struct store			*st;
	struct batch			*b = batch_new();
	struct store_append_stats	 a;
	struct store_stats		 ss;
	char				*dir = tmpdir_new(), err[256];
	char				 name[32];
	int				 i, k, round;

	test_opts(&o, dir);
	o.retention_ms = 100 * 1000;
	st = open_ok(&o);
	/* 1500 series in three batches; every third one stops early. */
	for (k = 0; k < 3; k++) {
		for (i = k * 500; i < (k + 1) * 500; i++) {
			snprintf(name, sizeof(name), "m%d", i);
			batch_addl(b, name, 1000, 1, "job", "a", "odd",
			    i % 2 ? "1" : "0", NULL);
			if (i % 3 != 0)
				batch_addl(b, name, 200000, 2, "job", "a",
				    "odd", i % 2 ? "1" : "0", NULL);
		}
		append_ok(st, b, &a);
		ck_assert_uint_eq(a.series_created, 500);
	}
	flush_ok(st);
	ck_assert_uint_eq(select_count(st, ".+"), 1500);
	/* Cutoff 150 s: the series that stopped at 1 s go. */
	ck_assert_int_eq(store_retention_run(st, 250000, err, sizeof(err)), 0);
	store_stats(st, &ss);
	ck_assert_uint_eq(ss.series_removed, 500);
	for (round = 0; round < 2; round++) {
		ck_assert_uint_eq(select_count(st, ".+"), 1000);
		ck_assert_uint_eq(select_ids_sorted(st, "job", "a"), 1000);
		ck_assert_uint_eq(select_ids_sorted(st, "odd", "1"), 500);
		check_sel(SEL(st, { "__name__", "m3", EQ }), "");
		check_sel(SEL(st, { "__name__", "m4", EQ }),
		    "m4{job=\"a\",odd=\"0\"}");
		check_sel(SEL(st, { "__name__", "m1499", EQ }),
		    "m1499{job=\"a\",odd=\"1\"}");
		close_ok(st);
		st = open_ok(&o);
	}
	/* New series extend the lists after the gaps. */
	batch_addl(b, "m3", 300000, 1, "job", "a", "odd", "1", NULL);
	append_ok(st, b, &a);
	ck_assert_uint_eq(a.series_created, 1);
	ck_assert_uint_eq(select_ids_sorted(st, "job", "a"), 1001);
	ck_assert_uint_eq(select_ids_sorted(st, "odd", "1"), 501);
	close_ok(st);
	batch_free(b);
	tmpdir_free(dir);
}
END_TEST

static double
val_of(int64_t i)
{
	return (double)(i % 7) + (double)(i % 3) * 0.5 + (double)(i / 1000);
}

static void
check_range(struct store *st, uint64_t id, int64_t t0, int64_t t1,
    int64_t first, int64_t last)
{
	static int64_t		ts[20000];
	static struct store_agg	as[20000];
	size_t			n, i;

	n = collect(st, id, t0, t1, STORE_TIER_RAW, ts, as, 20000);
	ck_assert_int_eq((int64_t)n, last >= first ? last - first + 1 : 0);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(ts[i], (first + (int64_t)i) * 1000);
		ck_assert(as[i].last == val_of(first + (int64_t)i));
		ck_assert(as[i].count == 1);
	}
}

START_TEST(test_ranges_head_sealed_reopen)
{
	struct store_opts	 o;
	struct store		*st;
	struct batch		*b = batch_new();
	struct store_stats	 ss;
	char			*dir = tmpdir_new();
	uint64_t		 id;
	int64_t			 i;

	test_opts(&o, dir);
	o.chunk_max_samples = 10;
	st = open_ok(&o);
	for (i = 0; i < 95; i++)
		batch_addl(b, "m", i * 1000, val_of(i), "job", "x", NULL);
	append_ok(st, b, NULL);
	id = series_id(st, "m");
	/* Nine sealed chunks wait in memory, five samples are open. */
	store_stats(st, &ss);
	ck_assert_uint_eq(ss.pending_chunks, 9);
	ck_assert_uint_eq(ss.head_chunks, 1);
	ck_assert_uint_eq(ss.head_samples, 5);
	check_range(st, id, 5500, 42000, 6, 42);
	check_range(st, id, 85000, 1000000, 85, 94);
	flush_ok(st);
	store_stats(st, &ss);
	ck_assert_uint_eq(ss.pending_chunks, 0);
	ck_assert_uint_eq(ss.chunks_written, 9);
	check_range(st, id, INT64_MIN, INT64_MAX, 0, 94);
	check_range(st, id, 5500, 42000, 6, 42);
	check_range(st, id, 9000, 10000, 9, 10);
	check_range(st, id, 9001, 9999, 0, -1);
	check_range(st, id, 87000, 92000, 87, 92);
	check_range(st, id, 94000, 94000, 94, 94);
	check_range(st, id, -5000, -1, 0, -1);
	check_range(st, id, 50000, 40000, 0, -1);
	close_ok(st);

	st = open_ok(&o);
	ck_assert_uint_eq(series_id(st, "m"), id);
	check_range(st, id, INT64_MIN, INT64_MAX, 0, 94);
	check_range(st, id, 33000, 91500, 33, 91);
	/* Appending goes on after the restored head. */
	for (i = 95; i < 130; i++)
		batch_addl(b, "m", i * 1000, val_of(i), "job", "x", NULL);
	append_ok(st, b, NULL);
	check_range(st, id, 80000, INT64_MAX, 80, 129);
	close_ok(st);
	st = open_ok(&o);
	check_range(st, id, INT64_MIN, INT64_MAX, 0, 129);
	close_ok(st);
	batch_free(b);
	tmpdir_free(dir);
}
END_TEST

START_TEST(test_drop_rules)
{
	struct store_opts		 o;
	struct store			*st;
	struct batch			*b = batch_new();
	struct store_append_stats	 a;
	struct store_stats		 ss;
	int64_t				 ts[16];
	struct store_agg		 as[16];
	char				*dir = tmpdir_new();
	uint64_t			 bits = STALE_NAN_BITS, got;
	double				 stale;
	size_t				 n;

	memcpy(&stale, &bits, sizeof(stale));
	test_opts(&o, dir);
	st = open_ok(&o);
	batch_addl(b, "m", 1000, 1, NULL);
	batch_addl(b, "m", 2000, 2, NULL);
	batch_addl(b, "m", 1500, 9, NULL);	/* out of order */
	batch_addl(b, "m", 2000, 2, NULL);	/* same value: accepted */
	batch_addl(b, "m", 2000, 3, NULL);	/* duplicate */
	batch_addl(b, "m", 3000, stale, NULL);
	batch_addl(b, "m", 3000, stale, NULL);	/* same bits */
	batch_addl(b, "m", 3000, NAN, NULL);	/* another NaN: duplicate */
	batch_addl(b, "m", 4000, 4, NULL);
	append_ok(st, b, &a);
	ck_assert_uint_eq(a.appended, 4);
	ck_assert_uint_eq(a.out_of_order, 1);
	ck_assert_uint_eq(a.duplicate, 2);
	ck_assert_uint_eq(a.too_old, 0);
	ck_assert_uint_eq(a.series_created, 1);
	close_ok(st);

	st = open_ok(&o);
	batch_addl(b, "m", 4000, 4, NULL);
	batch_addl(b, "m", 4000, 5, NULL);
	batch_addl(b, "m", 3999, 5, NULL);
	append_ok(st, b, &a);
	ck_assert_uint_eq(a.appended, 0);
	ck_assert_uint_eq(a.duplicate, 1);
	ck_assert_uint_eq(a.out_of_order, 1);
	store_stats(st, &ss);
	ck_assert_uint_eq(ss.samples_appended, 0);
	ck_assert_uint_eq(ss.dropped.duplicate, 1);
	ck_assert_uint_eq(ss.dropped.out_of_order, 1);
	{
		struct buf	 mb = BUF_INIT;
		static const char *const want[] = {
			"\nmonitord_store_series 1\n",
			"\nmonitord_store_samples_appended_total 0\n",
			"\n# TYPE monitord_store_samples_dropped_total counter\n"
			"monitord_store_samples_dropped_total{reason="
			"\"out_of_order\"} 1\n"
			"monitord_store_samples_dropped_total{reason="
			"\"duplicate\"} 1\n"
			"monitord_store_samples_dropped_total{reason="
			"\"too_old\"} 0\n",
			"\nmonitord_store_head_samples 0\n",
			"\nmonitord_store_disk_full 0\n",
			"\nmonitord_store_size_limit_bytes 2.68435456e+08\n",
		};
		size_t		 k;

		store_metrics_write(st, &mb);
		for (k = 0; k < sizeof(want) / sizeof(want[0]); k++)
			ck_assert_msg(strstr(mb.data, want[k]) != NULL,
			    "no %s in the metrics", want[k]);
		ck_assert_ptr_null(strstr(mb.data, "rollup_watermark_seconds{"));
		buf_free(&mb);
	}
	n = collect(st, series_id(st, "m"), INT64_MIN, INT64_MAX,
	    STORE_TIER_RAW, ts, as, 16);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(ts[0], 1000);
	ck_assert(as[0].last == 1);
	ck_assert_int_eq(ts[1], 2000);
	ck_assert(as[1].last == 2);
	ck_assert_int_eq(ts[2], 3000);
	memcpy(&got, &as[2].last, sizeof(got));
	ck_assert_uint_eq(got, STALE_NAN_BITS);
	ck_assert_int_eq(ts[3], 4000);
	ck_assert(as[3].last == 4);
	close_ok(st);
	batch_free(b);
	tmpdir_free(dir);
}
END_TEST

START_TEST(test_series_limits)
{
	struct store_opts		 o;
	struct store			*st;
	struct batch			*b = batch_new();
	struct store_append_stats	 a;
	struct store_stats		 ss;
	char				*dir = tmpdir_new();

	test_opts(&o, dir);
	o.max_series = 4;
	o.max_series_per_job = 2;
	st = open_ok(&o);
	batch_addl(b, "m1", 1000, 1, "job", "a", NULL);
	batch_addl(b, "m2", 1000, 1, "job", "a", NULL);
	batch_addl(b, "m3", 1000, 1, "job", "a", NULL);	/* job a full */
	batch_addl(b, "m3", 2000, 1, "job", "a", NULL);	/* still */
	batch_addl(b, "m1", 2000, 1, "job", "a", NULL);	/* existing: fine */
	batch_addl(b, "m1", 1000, 1, "job", "b", NULL);
	batch_addl(b, "nojob", 1000, 1, NULL);
	batch_addl(b, "m9", 1000, 1, "job", "c", NULL);	/* total full */
	append_ok(st, b, &a);
	ck_assert_uint_eq(a.series_created, 4);
	ck_assert_uint_eq(a.series_limit, 3);
	ck_assert_uint_eq(a.appended, 5);
	close_ok(st);

	/* The counts come back with the index. */
	o.max_series = 5;
	st = open_ok(&o);
	batch_addl(b, "m4", 1000, 1, "job", "a", NULL);
	batch_addl(b, "m4", 1000, 1, "job", "b", NULL);
	batch_addl(b, "m5", 1000, 1, "job", "b", NULL);
	append_ok(st, b, &a);
	ck_assert_uint_eq(a.series_created, 1);
	ck_assert_uint_eq(a.series_limit, 2);
	store_stats(st, &ss);
	ck_assert_uint_eq(ss.series, 5);
	ck_assert_uint_eq(ss.dropped.series_limit, 2);
	check_sel(SEL(st, { "job", "b", EQ }), "m1{job=\"b\"} m4{job=\"b\"}");
	close_ok(st);
	batch_free(b);
	tmpdir_free(dir);
}
END_TEST

START_TEST(test_retention)
{
	struct store_opts		 o;
	struct store			*st;
	struct batch			*b = batch_new();
	struct store_append_stats	 a;
	struct store_stats		 ss;
	struct store_strings		 s;
	char				*dir = tmpdir_new(), err[256];
	uint64_t			 id;
	int64_t				 i;

	test_opts(&o, dir);
	o.chunk_max_samples = 10;
	o.chunk_max_span_ms = 3600 * 1000;
	o.retention_ms = 100 * 1000;
	st = open_ok(&o);
	for (i = 0; i < 50; i++)
		batch_addl(b, "m", i * 1000, val_of(i), "job", "x", NULL);
	/* A series that stopped early: only an open chunk, all old. */
	for (i = 0; i < 5; i++)
		batch_addl(b, "gone", i * 1000, 1, "job", "y", NULL);
	append_ok(st, b, NULL);
	flush_ok(st);
	id = series_id(st, "m");

	/* Cutoff 35s: chunks ending at 9s, 19s and 29s go, 30-39s stays. */
	ck_assert_int_eq(store_retention_run(st, 135000, err, sizeof(err)), 0);
	store_stats(st, &ss);
	ck_assert_uint_eq(ss.chunks_deleted, 3);
	ck_assert_uint_eq(ss.series_removed, 1);
	ck_assert_uint_eq(ss.series, 1);
	check_range(st, id, INT64_MIN, INT64_MAX, 30, 49);
	check_sel(SEL(st, { "__name__", "gone", EQ }), "");
	check_sel(SEL(st, { "job", "y", EQ }), "");
	ck_assert_int_eq(store_label_values(st, "job", NULL, 0, INT64_MIN,
	    INT64_MAX, &s, err, sizeof(err)), 0);
	strings_check(&s, "x");

	/* Older than the cutoff is too old now, even for a new series. */
	batch_addl(b, "m", 34999, 1, "job", "x", NULL);
	batch_addl(b, "new", 34999, 1, "job", "x", NULL);
	batch_addl(b, "new", 35000, 1, "job", "x", NULL);
	append_ok(st, b, &a);
	ck_assert_uint_eq(a.too_old, 2);
	ck_assert_uint_eq(a.out_of_order, 0);
	ck_assert_uint_eq(a.appended, 1);
	close_ok(st);

	/* The cutoff survives a reopen; nothing more is old yet. */
	st = open_ok(&o);
	batch_addl(b, "new2", 34999, 1, NULL);
	append_ok(st, b, &a);
	ck_assert_uint_eq(a.too_old, 1);
	ck_assert_int_eq(store_retention_run(st, 135000, err, sizeof(err)), 0);
	store_stats(st, &ss);
	ck_assert_uint_eq(ss.chunks_deleted, 0);
	check_range(st, id, INT64_MIN, INT64_MAX, 30, 49);
	close_ok(st);

	/* With a longer retention, an open chunk quiet for a chunk span
	 * (1h) is sealed, then ages out like any chunk.  (Closing sealed
	 * m's open chunk already.) */
	o.retention_ms = 2 * 3600 * 1000;
	st = open_ok(&o);
	batch_addl(b, "new", 3000000, 1, "job", "x", NULL);
	for (i = 40; i < 50; i++)
		batch_addl(b, "quiet", i * 1000, 1, "job", "x", NULL);
	append_ok(st, b, NULL);
	ck_assert_int_eq(store_retention_run(st, 49000 + 3600 * 1000 + 1, err,
	    sizeof(err)), 0);
	store_stats(st, &ss);
	ck_assert_uint_eq(ss.chunks_deleted, 0);
	ck_assert_uint_eq(ss.chunks_written, 1);
	ck_assert_uint_eq(ss.head_chunks, 1);	/* "new" */
	check_range(st, id, INT64_MIN, INT64_MAX, 30, 49);
	ck_assert_int_eq(store_retention_run(st, 49000 + 2 * 3600 * 1000 + 1,
	    err, sizeof(err)), 0);
	store_stats(st, &ss);
	/* m: 30-39 and 40-49 s; quiet; new: 35 s (sealed at close) */
	ck_assert_uint_eq(ss.chunks_deleted, 4);
	ck_assert_uint_eq(ss.series, 1);	/* "new" at 35s */
	check_sel(SEL(st, { "job", ".+", RE }), "new{job=\"x\"}");
	close_ok(st);
	batch_free(b);
	tmpdir_free(dir);
}
END_TEST

#define ROLL_STEP	60000		/* one raw sample a minute */
#define ROLL_DAYS	9
#define DAY		86400000LL

static double
roll_val(int64_t i)
{
	/* Halves and small integers: every sum is exact in a double. */
	return (double)(i % 7) + (double)(i % 3) * 0.5 - (double)(i % 11);
}

static int
roll_stale(int64_t i)
{
	return i % 97 == 13;
}

/* The aggregate of raw samples in [b, b + size), computed directly. */
static int
expect_bucket(int64_t b, int64_t size, struct store_agg *e)
{
	int64_t	i;
	int	have = 0;
	double	v;

	for (i = b / ROLL_STEP; i * ROLL_STEP < b + size; i++) {
		if (i >= ROLL_DAYS * DAY / ROLL_STEP || roll_stale(i))
			continue;
		v = roll_val(i);
		if (!have) {
			e->min = e->max = e->sum = e->last = v;
			e->count = 1;
			have = 1;
			continue;
		}
		e->min = v < e->min ? v : e->min;
		e->max = v > e->max ? v : e->max;
		e->sum += v;
		e->count++;
		e->last = v;
	}
	return have;
}

static void
check_tier(struct store *st, uint64_t id, enum store_tier tier,
    int64_t bsize, int64_t t0, int64_t t1, size_t want)
{
	static int64_t		ts[4096];
	static struct store_agg	as[4096];
	struct store_agg	e = { 0, 0, 0, 0, 0 };
	size_t			n, i;

	n = collect(st, id, t0, t1, tier, ts, as, 4096);
	ck_assert_uint_eq(n, want);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(ts[i], t0 + (int64_t)i * bsize);
		ck_assert(expect_bucket(ts[i], bsize, &e));
		ck_assert_msg(as[i].min == e.min && as[i].max == e.max &&
		    as[i].sum == e.sum && as[i].count == e.count &&
		    as[i].last == e.last, "bucket %lld: got %g %g %g %g %g, "
		    "want %g %g %g %g %g", (long long)ts[i], as[i].min,
		    as[i].max, as[i].sum, as[i].count, as[i].last, e.min,
		    e.max, e.sum, e.count, e.last);
	}
}

static void
fill_rollup_data(struct store *st, const char *name)
{
	struct batch	*b = batch_new();
	uint64_t	 bits = STALE_NAN_BITS;
	double		 stale;
	int64_t		 i;

	memcpy(&stale, &bits, sizeof(stale));
	for (i = 0; i < ROLL_DAYS * DAY / ROLL_STEP; i++) {
		batch_addl(b, name, i * ROLL_STEP, roll_stale(i) ? stale :
		    roll_val(i), "job", "r", NULL);
		if (batch_len(b) == 4096)
			append_ok(st, b, NULL);
	}
	append_ok(st, b, NULL);
	batch_free(b);
}

START_TEST(test_rollups)
{
	struct store_opts	 o;
	struct store		*st;
	struct store_stats	 ss;
	char			*dir = tmpdir_new(), err[256];
	uint64_t		 id;
	int64_t			 now = ROLL_DAYS * DAY + 600000;

	test_opts(&o, dir);
	o.retention_ms = DAY;
	o.retention_5m_ms = 30 * DAY;
	o.retention_1h_ms = 365 * DAY;
	st = open_ok(&o);
	fill_rollup_data(st, "r");
	flush_ok(st);
	id = series_id(st, "r");
	check_sel(select_str(st, NULL, 0, INT64_MIN, INT64_MAX,
	    STORE_TIER_5M), "");
	ck_assert_int_eq(store_rollup_run(st, now, err, sizeof(err)), 0);
	store_stats(st, &ss);
	/* 5m: the nine whole days; 1h: the first whole week. */
	ck_assert_int_eq(ss.rollup_done[STORE_TIER_5M], ROLL_DAYS * DAY);
	ck_assert_int_eq(ss.rollup_done[STORE_TIER_1H], 7 * DAY);
	ck_assert_uint_eq(ss.rollup_blocks_written, ROLL_DAYS + 1);
	check_tier(st, id, STORE_TIER_5M, 300000, 0, ROLL_DAYS * DAY,
	    ROLL_DAYS * 288);
	check_tier(st, id, STORE_TIER_5M, 300000, 3 * DAY + 300000,
	    3 * DAY + 3600000, 12);
	check_tier(st, id, STORE_TIER_1H, 3600000, 0, 10 * DAY, 7 * 24);
	check_tier(st, id, STORE_TIER_1H, 3600000, DAY, DAY + 7200000, 3);
	check_sel(select_str(st, NULL, 0, 8 * DAY, 9 * DAY, STORE_TIER_5M),
	    "r{job=\"r\"}");
	check_sel(select_str(st, NULL, 0, 8 * DAY, 9 * DAY, STORE_TIER_1H),
	    "");

	/* Raw data older than a day goes, the tiers keep it. */
	ck_assert_int_eq(store_retention_run(st, now, err, sizeof(err)), 0);
	{
		/* Chunks are 2h (120 samples); the one holding the cutoff
		 * (8d 10m) starts at 8d and stays whole. */
		int64_t			ts[2];
		struct store_agg	as[2];

		ck_assert_uint_eq(collect(st, id, 0, 8 * DAY - 1,
		    STORE_TIER_RAW, ts, as, 2), 0);
		ck_assert_uint_eq(collect(st, id, 0, 8 * DAY, STORE_TIER_RAW,
		    ts, as, 2), 1);
		ck_assert_int_eq(ts[0], 8 * DAY);
	}
	check_tier(st, id, STORE_TIER_5M, 300000, 0, DAY, 289);
	close_ok(st);

	/* A second run has nothing to do, also after a reopen. */
	st = open_ok(&o);
	ck_assert_int_eq(store_rollup_run(st, now, err, sizeof(err)), 0);
	store_stats(st, &ss);
	ck_assert_uint_eq(ss.rollup_blocks_written, 0);
	ck_assert_int_eq(ss.rollup_done[STORE_TIER_5M], ROLL_DAYS * DAY);
	check_tier(st, id, STORE_TIER_1H, 3600000, 0, 10 * DAY, 7 * 24);
	close_ok(st);
	tmpdir_free(dir);
}
END_TEST

struct rollup_resume {
	uint8_t		state[32];
	uint64_t	id;
};

static int
put_state(struct kv_txn *txn, void *arg)
{
	struct rollup_resume	*r = arg;
	uint8_t			 k[17];
	int			 i;

	/* Forget the second series' 5m blocks, as if the run had crashed
	 * after the first batch. */
	for (i = 0; i < ROLL_DAYS; i++) {
		int64_t t = (int64_t)i * DAY;

		k[0] = STORE_TIER_5M;
		for (int j = 0; j < 8; j++)
			k[1 + j] = (uint8_t)(r->id >> (56 - 8 * j));
		for (int j = 0; j < 8; j++)
			k[9 + j] = (uint8_t)(((uint64_t)t ^ (1ULL << 63)) >>
			    (56 - 8 * j));
		if (kv_del(txn, KV_DB_ROLLUP, k, sizeof(k), NULL, 0) < 0)
			return -1;
	}
	return meta_put_raw(txn, "rollup.5m", r->state, sizeof(r->state));
}

static void
be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

START_TEST(test_rollup_resume)
{
	struct store_opts	 o;
	struct store		*st;
	struct store_stats	 ss;
	struct kv_opts		 ko;
	struct kv		*kv;
	struct rollup_resume	 r;
	char			*dir = tmpdir_new(), err[256];
	uint64_t		 id1, id2;
	int64_t			 now = ROLL_DAYS * DAY + 600000;

	test_opts(&o, dir);
	o.retention_5m_ms = 30 * DAY;
	st = open_ok(&o);
	fill_rollup_data(st, "a");
	fill_rollup_data(st, "b");
	id1 = series_id(st, "a");
	id2 = series_id(st, "b");
	ck_assert_uint_lt(id1, id2);
	ck_assert_int_eq(store_rollup_run(st, now, err, sizeof(err)), 0);
	close_ok(st);

	memset(&ko, 0, sizeof(ko));
	ko.dir = dir;
	ko.map_max = o.map_size_max;
	ck_assert_ptr_nonnull(kv = kv_open(&ko, err, sizeof(err)));
	be64(r.state, 0);			/* start */
	be64(r.state + 8, 0);			/* done */
	be64(r.state + 16, ROLL_DAYS * DAY);	/* target */
	be64(r.state + 24, id1);		/* cursor */
	r.id = id2;
	ck_assert_int_eq(kv_write(kv, put_state, &r, err, sizeof(err)), 0);
	kv_close(kv);

	st = open_ok(&o);
	check_tier(st, id2, STORE_TIER_5M, 300000, 0, ROLL_DAYS * DAY, 0);
	ck_assert_int_eq(store_rollup_run(st, now, err, sizeof(err)), 0);
	store_stats(st, &ss);
	ck_assert_uint_eq(ss.rollup_blocks_written, ROLL_DAYS);
	ck_assert_int_eq(ss.rollup_done[STORE_TIER_5M], ROLL_DAYS * DAY);
	check_tier(st, id1, STORE_TIER_5M, 300000, 0, ROLL_DAYS * DAY,
	    ROLL_DAYS * 288);
	check_tier(st, id2, STORE_TIER_5M, 300000, 0, ROLL_DAYS * DAY,
	    ROLL_DAYS * 288);
	close_ok(st);
	tmpdir_free(dir);
}
END_TEST

static void
copy_file(const char *from, const char *to)
{
	FILE	*in = fopen(from, "rb"), *out = fopen(to, "wb");
	char	 buf[65536];
	size_t	 n;

	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
}

/* What a kill -9 would leave: the data file as it is on disk now. */
static char *
snapshot(const char *dir)
{
	char	*copy = tmpdir_new(), from[512], to[512];

	snprintf(from, sizeof(from), "%s/data.mdb", dir);
	snprintf(to, sizeof(to), "%s/data.mdb", copy);
	copy_file(from, to);
	return copy;
}

/* What HEAD holds: "S first count last" for a segment, "T first count
 * last" for a tail, one line each in key order, all of series ID. */
static char *
head_keys(const char *dir, uint64_t id)
{
	struct kv_opts		 ko;
	struct kv		*kv;
	struct kv_txn		*txn;
	struct kv_cursor	*cur;
	struct kv_val		 k, v;
	struct buf		 out = BUF_INIT;
	const uint8_t		*p;
	uint64_t		 kid;
	uint32_t		 n;
	int64_t			 f, l;
	char			 err[256];
	int			 rc, i;

	memset(&ko, 0, sizeof(ko));
	ko.dir = dir;
	ko.map_max = 256ULL << 20;
	kv = kv_open(&ko, err, sizeof(err));
	ck_assert_msg(kv != NULL, "kv_open: %s", err);
	ck_assert_int_eq(kv_read_begin(kv, &txn, err, sizeof(err)), 0);
	ck_assert_int_eq(kv_cursor_open(txn, KV_DB_HEAD, &cur), 0);
	buf_adds(&out, "");
	for (rc = kv_cursor_get(cur, KV_FIRST, &k, &v); rc == 0;
	    rc = kv_cursor_get(cur, KV_NEXT, &k, &v)) {
		p = k.data;
		ck_assert(k.len == 17 || k.len == 9);
		for (kid = 0, i = 1; i < 9; i++)
			kid = kid << 8 | p[i];
		if (kid != id)
			continue;
		ck_assert_int_eq(chunk_peek(v.data, v.len, &n, &f, &l), 0);
		if (k.len == 17) {
			uint64_t kt = 0;

			ck_assert_uint_eq(p[0], 1);
			for (i = 9; i < 17; i++)
				kt = kt << 8 | p[i];
			ck_assert_int_eq((int64_t)(kt ^ (1ULL << 63)), f);
		} else
			ck_assert_uint_eq(p[0], 2);
		buf_printf(&out, "%c %lld %u %lld\n", k.len == 17 ? 'S' : 'T',
		    (long long)f, n, (long long)l);
	}
	ck_assert_int_eq(rc, KV_NOTFOUND);
	kv_cursor_close(cur);
	kv_read_end(txn);
	kv_close(kv);
	return buf_detach(&out);
}

/* The bytes of the segment of ID starting at FIRST in HEAD. */
static char *
head_seg_bytes(const char *dir, uint64_t id, int64_t first, size_t *len)
{
	struct kv_opts	 ko;
	struct kv	*kv;
	struct kv_txn	*txn;
	struct kv_val	 v;
	uint8_t		 key[17];
	uint64_t	 t = (uint64_t)first ^ (1ULL << 63);
	char		 err[256], *copy;
	int		 i;

	key[0] = 1;
	for (i = 0; i < 8; i++) {
		key[1 + i] = (uint8_t)(id >> (56 - 8 * i));
		key[9 + i] = (uint8_t)(t >> (56 - 8 * i));
	}
	memset(&ko, 0, sizeof(ko));
	ko.dir = dir;
	ko.map_max = 256ULL << 20;
	ck_assert_ptr_nonnull(kv = kv_open(&ko, err, sizeof(err)));
	ck_assert_int_eq(kv_read_begin(kv, &txn, err, sizeof(err)), 0);
	ck_assert_int_eq(kv_get(txn, KV_DB_HEAD, key, sizeof(key), &v), 0);
	copy = xmalloc(v.len);
	memcpy(copy, v.data, v.len);
	*len = v.len;
	kv_read_end(txn);
	kv_close(kv);
	return copy;
}

/*
 * An open chunk in segments: each full segment is written to HEAD once,
 * the tail alone is rewritten, sealing merges them and leaves only the
 * next chunk's, and a copy of the disk taken at any flush reopens with
 * every sample flushed and goes on appending.
 */
START_TEST(test_head_segments)
{
	struct store_opts	 o, oc;
	struct store		*st, *sc;
	struct store_stats	 ss;
	struct batch		*b = batch_new();
	char			*dir = tmpdir_new(), *copy, *copy2, *keys;
	char			*seg0, *again;
	size_t			 len0, len1;
	uint64_t		 id;
	int64_t			 i;

	test_opts(&o, dir);
	o.head_segment_samples = 10;
	o.chunk_max_samples = 100;
	st = open_ok(&o);
	for (i = 0; i < 25; i++)
		batch_addl(b, "m", i * 1000, val_of(i), NULL);
	append_ok(st, b, NULL);
	flush_ok(st);
	id = series_id(st, "m");
	copy = snapshot(dir);
	keys = head_keys(copy, id);
	ck_assert_str_eq(keys,
	    "S 0 10 9000\n"
	    "S 10000 10 19000\n"
	    "T 20000 5 24000\n");
	free(keys);
	seg0 = head_seg_bytes(copy, id, 0, &len0);
	tmpdir_free(copy);

	for (i = 25; i < 35; i++)
		batch_addl(b, "m", i * 1000, val_of(i), NULL);
	append_ok(st, b, NULL);
	store_stats(st, &ss);
	ck_assert_uint_eq(ss.head_chunks, 1);
	ck_assert_uint_eq(ss.head_samples, 35);
	ck_assert_uint_eq(ss.chunks_written, 0);
	/* Before the flush: segments from disk, one from memory, the tail. */
	check_range(st, id, INT64_MIN, INT64_MAX, 0, 34);
	check_range(st, id, 12000, 27000, 12, 27);
	flush_ok(st);
	check_range(st, id, INT64_MIN, INT64_MAX, 0, 34);
	copy = snapshot(dir);
	keys = head_keys(copy, id);
	ck_assert_str_eq(keys,
	    "S 0 10 9000\n"
	    "S 10000 10 19000\n"
	    "S 20000 10 29000\n"
	    "T 30000 5 34000\n");
	free(keys);
	again = head_seg_bytes(copy, id, 0, &len1);
	ck_assert_uint_eq(len1, len0);
	ck_assert(memcmp(again, seg0, len0) == 0);
	free(again);
	free(seg0);
	/* What a kill -9 now would leave. */
	test_opts(&oc, copy);
	oc.head_segment_samples = 10;
	oc.chunk_max_samples = 100;
	sc = open_ok(&oc);
	check_range(sc, id, INT64_MIN, INT64_MAX, 0, 34);
	store_stats(sc, &ss);
	ck_assert_uint_eq(ss.head_samples, 35);
	for (i = 35; i < 42; i++)
		batch_addl(b, "m", i * 1000, val_of(i), NULL);
	append_ok(sc, b, NULL);
	flush_ok(sc);
	copy2 = snapshot(copy);
	keys = head_keys(copy2, id);
	ck_assert_str_eq(keys,
	    "S 0 10 9000\n"
	    "S 10000 10 19000\n"
	    "S 20000 10 29000\n"
	    "S 30000 10 39000\n"
	    "T 40000 2 41000\n");
	free(keys);
	tmpdir_free(copy2);
	check_range(sc, id, INT64_MIN, INT64_MAX, 0, 41);
	close_ok(sc);
	tmpdir_free(copy);

	/* 100 samples seal the first chunk, the 2-minute span the second
	 * (100..119); the open one has a full segment and no tail. */
	for (i = 35; i < 130; i++)
		batch_addl(b, "m", i * 1000, val_of(i), NULL);
	append_ok(st, b, NULL);
	store_stats(st, &ss);
	ck_assert_uint_eq(ss.pending_chunks, 2);
	ck_assert_uint_eq(ss.head_samples, 10);
	check_range(st, id, INT64_MIN, INT64_MAX, 0, 129);
	flush_ok(st);
	store_stats(st, &ss);
	ck_assert_uint_eq(ss.pending_chunks, 0);
	ck_assert_uint_eq(ss.chunks_written, 2);
	check_range(st, id, INT64_MIN, INT64_MAX, 0, 129);
	copy = snapshot(dir);
	keys = head_keys(copy, id);
	ck_assert_str_eq(keys, "S 120000 10 129000\n");
	free(keys);
	oc.dir = copy;
	sc = open_ok(&oc);
	check_range(sc, id, INT64_MIN, INT64_MAX, 0, 129);
	check_range(sc, id, 95000, 125000, 95, 125);
	close_ok(sc);
	keys = head_keys(copy, id);
	ck_assert_str_eq(keys, "");
	free(keys);
	tmpdir_free(copy);
	close_ok(st);
	batch_free(b);
	tmpdir_free(dir);
}
END_TEST

/* Flip a byte in the payload of the segment of ID at FIRST. */
struct seg_damage {
	uint64_t	id;
	int64_t		first;
};

static int
damage_seg(struct kv_txn *txn, void *arg)
{
	struct seg_damage	*d = arg;
	struct kv_val		 v;
	uint8_t			 key[17], *copy;
	uint64_t		 t = (uint64_t)d->first ^ (1ULL << 63);
	int			 i, rc;

	key[0] = 1;
	for (i = 0; i < 8; i++) {
		key[1 + i] = (uint8_t)(d->id >> (56 - 8 * i));
		key[9 + i] = (uint8_t)(t >> (56 - 8 * i));
	}
	if ((rc = kv_get(txn, KV_DB_HEAD, key, sizeof(key), &v)) != 0)
		return -1;
	copy = xmalloc(v.len);
	memcpy(copy, v.data, v.len);
	copy[v.len - 1] ^= 0x40;
	rc = kv_put(txn, KV_DB_HEAD, key, sizeof(key), copy, v.len);
	free(copy);
	return rc;
}

/* A damaged segment drops the open chunk at open, reported, and the next
 * flush deletes what it left in HEAD; the sealed chunks stay. */
START_TEST(test_head_damaged)
{
	struct store_opts	 o;
	struct store		*st;
	struct store_stats	 ss;
	struct batch		*b = batch_new();
	struct seg_damage	 d;
	struct kv_opts		 ko;
	struct kv		*kv;
	char			*dir = tmpdir_new(), *copy, *keys, err[256];
	int64_t			 i;

	test_opts(&o, dir);
	o.head_segment_samples = 10;
	o.chunk_max_samples = 100;
	st = open_ok(&o);
	for (i = 0; i < 145; i++)
		batch_addl(b, "m", i * 1000, val_of(i), NULL);
	append_ok(st, b, NULL);
	flush_ok(st);
	d.id = series_id(st, "m");
	d.first = 130000;
	copy = snapshot(dir);
	close_ok(st);
	keys = head_keys(copy, d.id);
	ck_assert_str_eq(keys,
	    "S 120000 10 129000\n"
	    "S 130000 10 139000\n"
	    "T 140000 5 144000\n");
	free(keys);
	memset(&ko, 0, sizeof(ko));
	ko.dir = copy;
	ko.map_max = 256ULL << 20;
	kv = kv_open(&ko, err, sizeof(err));
	ck_assert_msg(kv != NULL, "kv_open: %s", err);
	ck_assert_int_eq(kv_write(kv, damage_seg, &d, err, sizeof(err)), 0);
	kv_close(kv);

	o.dir = copy;
	st = open_ok(&o);
	store_stats(st, &ss);
	ck_assert_str_eq(ss.last_error, "1 damaged head checkpoints dropped "
	    "at open");
	ck_assert_uint_eq(ss.head_chunks, 0);
	ck_assert_uint_eq(ss.pending_chunks, 1);
	check_range(st, d.id, INT64_MIN, INT64_MAX, 0, 119);
	for (i = 145; i < 151; i++)
		batch_addl(b, "m", i * 1000, val_of(i), NULL);
	append_ok(st, b, NULL);
	flush_ok(st);
	store_stats(st, &ss);
	ck_assert_uint_eq(ss.pending_chunks, 0);
	ck_assert_uint_eq(ss.head_samples, 6);
	{
		char *copy2 = snapshot(copy);

		keys = head_keys(copy2, d.id);
		ck_assert_str_eq(keys, "T 145000 6 150000\n");
		free(keys);
		tmpdir_free(copy2);
	}
	close_ok(st);
	tmpdir_free(copy);
	batch_free(b);
	tmpdir_free(dir);
}
END_TEST

START_TEST(test_flush_checkpoints)
{
	struct store_opts	 o, oc;
	struct store		*st, *sc;
	struct batch		*b = batch_new();
	char			*dir = tmpdir_new(), *copy;
	uint64_t		 id;
	int64_t			 i;

	test_opts(&o, dir);
	o.chunk_max_samples = 100;
	st = open_ok(&o);
	for (i = 0; i < 5; i++)
		batch_addl(b, "m", i * 1000, val_of(i), NULL);
	append_ok(st, b, NULL);
	flush_ok(st);
	for (i = 5; i < 8; i++)
		batch_addl(b, "m", i * 1000, val_of(i), NULL);
	append_ok(st, b, NULL);

	copy = snapshot(dir);
	test_opts(&oc, copy);
	sc = open_ok(&oc);
	id = series_id(sc, "m");
	check_range(sc, id, INT64_MIN, INT64_MAX, 0, 4);
	close_ok(sc);
	tmpdir_free(copy);

	flush_ok(st);
	copy = snapshot(dir);
	oc.dir = copy;
	sc = open_ok(&oc);
	check_range(sc, id, INT64_MIN, INT64_MAX, 0, 7);
	close_ok(sc);
	tmpdir_free(copy);

	/* A sync append is on disk when it returns. */
	for (i = 8; i < 300; i++)
		batch_addl(b, "m", i * 1000, val_of(i), NULL);
	{
		char err[256];

		ck_assert_int_eq(store_append_batch_sync(st, b, NULL, err,
		    sizeof(err)), 0);
		batch_reset(b);
	}
	copy = snapshot(dir);
	oc.dir = copy;
	sc = open_ok(&oc);
	check_range(sc, id, INT64_MIN, INT64_MAX, 0, 299);
	close_ok(sc);
	tmpdir_free(copy);
	close_ok(st);
	batch_free(b);
	tmpdir_free(dir);
}
END_TEST

static int
put_meta(struct kv_txn *txn, void *arg)
{
	const uint8_t *rec = arg;

	if (rec == NULL)
		return kv_del(txn, KV_DB_META, META_FORMAT_KEY,
		    strlen(META_FORMAT_KEY), NULL, 0);
	return meta_put_raw(txn, META_FORMAT_KEY, rec, META_FORMAT_LEN);
}

static void
rewrite_format(const char *dir, const uint8_t *rec)
{
	struct kv_opts	 ko;
	struct kv	*kv;
	char		 err[256];

	memset(&ko, 0, sizeof(ko));
	ko.dir = dir;
	ko.map_max = 64ULL << 20;
	kv = kv_open(&ko, err, sizeof(err));
	ck_assert_msg(kv != NULL, "kv_open: %s", err);
	ck_assert_int_eq(kv_write(kv, put_meta, (void *)rec, err,
	    sizeof(err)), 0);
	kv_close(kv);
}

START_TEST(test_format_record)
{
	struct store_opts	 o;
	struct store		*st;
	struct batch		*b = batch_new();
	char			*dir = tmpdir_new(), err[512], want[512];
	uint8_t			 rec[META_FORMAT_LEN];

	test_opts(&o, dir);
	st = open_ok(&o);
	batch_addl(b, "m", 1000, 1, NULL);
	append_ok(st, b, NULL);
	/* One process, one store per directory. */
	ck_assert_ptr_null(store_open(&o, err, sizeof(err)));
	snprintf(want, sizeof(want), "data directory %s is in use by "
	    "another monitord", dir);
	ck_assert_str_eq(err, want);
	close_ok(st);

	meta_format_record(rec, 2);
	rewrite_format(dir, rec);
	ck_assert_ptr_null(store_open(&o, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: storage format version 2 is not "
	    "supported (this monitord reads version 1)", dir);
	ck_assert_str_eq(err, want);

	meta_format_record(rec, 1);
	rec[0] = 'M';
	rewrite_format(dir, rec);
	ck_assert_ptr_null(store_open(&o, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: not a monitord store (bad format "
	    "record)", dir);
	ck_assert_str_eq(err, want);

	rewrite_format(dir, NULL);
	ck_assert_ptr_null(store_open(&o, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: not a monitord store (no format "
	    "record)", dir);
	ck_assert_str_eq(err, want);

	meta_format_record(rec, 1);
	rewrite_format(dir, rec);
	st = open_ok(&o);
	check_sel(SEL(st, { "__name__", "m", EQ }), "m{}");
	close_ok(st);
	batch_free(b);
	tmpdir_free(dir);
}
END_TEST

/* Values with no pattern, so chunks do not compress. */
static double
noise(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return (double)(*x >> 11) / 9007199254740992.0;
}

START_TEST(test_disk_full)
{
	struct store_opts	 o;
	struct store		*st;
	struct batch		*b = batch_new();
	struct store_stats	 ss;
	char			*dir = tmpdir_new(), err[256];
	uint64_t		 x = 88172645463325252ULL, id;
	int64_t			 i, acked = -1;
	int			 k, rc = 0;

	test_opts(&o, dir);
	o.map_size_initial = 1 << 20;
	o.map_size_max = 1 << 20;
	o.chunk_max_samples = 120;
	st = open_ok(&o);
	for (i = 0; rc == 0 && i < 400000; i += 100) {
		for (k = 0; k < 100; k++)
			batch_addl(b, "m", (i + k) * 1000, noise(&x), NULL);
		rc = store_append_batch_sync(st, b, NULL, err, sizeof(err));
		batch_reset(b);
		if (rc == 0)
			acked = i + 99;
	}
	ck_assert_int_eq(rc, -1);
	ck_assert_str_eq(err, "database full: it reached its size limit "
	    "of 1 MB");
	ck_assert_int_gt(acked, 1000);
	store_stats(st, &ss);
	ck_assert_int_eq(ss.disk_full, 1);
	ck_assert_str_eq(ss.last_error, err);
	ck_assert_uint_eq(ss.map_size, 1 << 20);
	/* Reads go on, and see even what could not be written. */
	id = series_id(st, "m");
	{
		static int64_t		ts[400000];
		static struct store_agg	as[400000];

		ck_assert_int_eq((int64_t)collect(st, id, INT64_MIN, INT64_MAX,
		    STORE_TIER_RAW, ts, as, 400000), i);
	}
	/* More in memory than the disk has room for: the close cannot
	 * write it all. */
	for (k = 0; k < 2000; k++)
		batch_addl(b, "m", (i + k) * 1000, noise(&x), NULL);
	(void)store_append_batch(st, b, NULL);
	batch_reset(b);
	ck_assert_int_eq(store_close(st, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "database full: it reached its size limit "
	    "of 1 MB");

	/* With room again, every acknowledged sample is there. */
	o.map_size_max = 64 << 20;
	st = open_ok(&o);
	{
		struct store_iter	*it = store_iter_new(st, id, INT64_MIN,
		    INT64_MAX, STORE_TIER_RAW);
		int64_t			 t, n = 0;
		double			 v;

		while (store_iter_next(it, &t, &v) == 1) {
			ck_assert_int_eq(t, n * 1000);
			n++;
		}
		ck_assert_str_eq(store_iter_error(it), "");
		ck_assert_int_ge(n, acked + 1);
		store_iter_free(it);
	}
	close_ok(st);
	batch_free(b);
	tmpdir_free(dir);
}
END_TEST

START_TEST(test_chunk_limits)
{
	struct store_opts		 o;
	struct store			*st;
	struct batch			*b = batch_new();
	struct store_stats		 ss;
	struct store_append_stats	 a;
	char				*dir = tmpdir_new(), name[300];
	uint64_t			 x = 7;
	int64_t				 i;

	test_opts(&o, dir);
	o.chunk_max_bytes = 200;
	o.chunk_max_span_ms = 50 * 1000;
	st = open_ok(&o);
	/* Noise takes some 9 bytes a sample: the byte limit seals. */
	for (i = 0; i < 100; i++)
		batch_addl(b, "noise", i, noise(&x), NULL);
	/* A constant costs bits: the span limit seals, every 50 s. */
	for (i = 0; i < 100; i++)
		batch_addl(b, "flat", i * 1000, 1, NULL);
	/* A label name over 128 bytes is refused. */
	memset(name, 'l', 129);
	name[129] = '\0';
	batch_addl(b, "long", 0, 1, name, "v", NULL);
	append_ok(st, b, &a);
	ck_assert_uint_eq(a.appended, 200);
	ck_assert_uint_eq(a.invalid, 1);
	ck_assert_uint_eq(a.series_created, 2);
	store_stats(st, &ss);
	ck_assert_uint_ge(ss.pending_chunks, 4 + 1);
	ck_assert_uint_le(ss.pending_chunks, 8 + 1);
	flush_ok(st);
	{
		int64_t			ts[128];
		struct store_agg	as[128];

		ck_assert_uint_eq(collect(st, series_id(st, "flat"), INT64_MIN,
		    INT64_MAX, STORE_TIER_RAW, ts, as, 128), 100);
		ck_assert_uint_eq(collect(st, series_id(st, "noise"),
		    INT64_MIN, INT64_MAX, STORE_TIER_RAW, ts, as, 128), 100);
	}
	close_ok(st);
	batch_free(b);
	tmpdir_free(dir);
}
END_TEST

/* Records in database DB of the (closed) store in DIR. */
static uint64_t
db_entries(const char *dir, enum kv_db db)
{
	struct kv_opts	 ko;
	struct kv	*kv;
	char		 err[256];
	uint64_t	 n = UINT64_MAX;

	memset(&ko, 0, sizeof(ko));
	ko.dir = dir;
	ko.map_max = 1ULL << 30;
	ck_assert_ptr_nonnull(kv = kv_open(&ko, err, sizeof(err)));
	(void)kv_db_bytes(kv, db, &n);
	kv_close(kv);
	return n;
}

START_TEST(test_shared_columns)
{
	struct store_opts	 o;
	struct store		*st;
	struct batch		*b = batch_new();
	struct store_stats	 ss;
	static const char	*names[] = { "a", "b", "c" };
	char			*dir = tmpdir_new(), err[256];
	int64_t			 i, ts[256];
	struct store_agg	 as[256];
	size_t			 k, n;
	int			 round;

	test_opts(&o, dir);
	o.chunk_target_samples = 10;	/* 1 s apart: chunks of a minute */
	o.retention_ms = 100 * 1000;
	st = open_ok(&o);
	/* a and b are scraped together; c half a second later. */
	for (i = 0; i < 200; i++) {
		batch_addl(b, "a", i * 1000, (double)i, NULL);
		batch_addl(b, "b", i * 1000, (double)(i * 2), NULL);
		batch_addl(b, "c", i * 1000 + 500, (double)(i * 3), NULL);
	}
	append_ok(st, b, NULL);
	flush_ok(st);
	store_stats(st, &ss);
	ck_assert_uint_eq(ss.chunks_written, 9);
	ck_assert_uint_eq(ss.columns_written, 6);
	for (round = 0; round < 2; round++) {
		for (k = 0; k < 3; k++) {
			n = collect(st, series_id(st, names[k]), INT64_MIN,
			    INT64_MAX, STORE_TIER_RAW, ts, as, 256);
			ck_assert_uint_eq(n, 200);
			for (i = 0; i < 200; i++) {
				ck_assert_int_eq(ts[i], i * 1000 +
				    (k == 2 ? 500 : 0));
				ck_assert(as[i].last == (double)(i *
				    (int64_t)(k + 1)));
			}
		}
		close_ok(st);
		st = open_ok(&o);
	}
	/* Everything is older than 200 s: chunks (the open ones were sealed
	 * at close) and series go; their groups and the columns in them
	 * when the cutoff passes the end of their bucket of 2^22 ms. */
	ck_assert_int_eq(store_retention_run(st, 300000, err, sizeof(err)), 0);
	store_stats(st, &ss);
	ck_assert_uint_eq(ss.chunks_deleted, 12);
	ck_assert_uint_eq(ss.columns_deleted, 0);
	ck_assert_uint_eq(ss.series, 0);
	ck_assert_int_eq(store_retention_run(st, (1 << 22) + 100000 - 1, err,
	    sizeof(err)), 0);
	store_stats(st, &ss);
	ck_assert_uint_eq(ss.columns_deleted, 0);
	ck_assert_int_eq(store_retention_run(st, (1 << 22) + 100000, err,
	    sizeof(err)), 0);
	store_stats(st, &ss);
	ck_assert_uint_eq(ss.chunks_deleted, 12);
	ck_assert_uint_eq(ss.columns_deleted, 8);
	close_ok(st);
	ck_assert_uint_eq(db_entries(dir, KV_DB_CHUNKS), 0);
	ck_assert_uint_eq(db_entries(dir, KV_DB_CINDEX), 0);
	batch_free(b);
	tmpdir_free(dir);
}
END_TEST

/*
 * Reads series ID whole through the column cache CC (NULL: none), seven
 * points at a time, into T and V: how many.
 */
static size_t
read_cols(struct store *st, uint64_t id, int64_t t0, int64_t t1,
    struct store_cols *cc, int64_t *t, double *v, size_t cap)
{
	struct store_iter	*it;
	size_t			 n = 0;
	int			 rc;

	it = store_iter_new_cols(st, id, t0, t1, STORE_TIER_RAW, cc);
	while ((rc = store_iter_read(it, t + n, v + n, cap - n < 7 ?
	    cap - n : 7)) > 0)
		n += (size_t)rc;
	ck_assert_msg(rc == 0, "read: %s", store_iter_error(it));
	store_iter_free(it);
	return n;
}

static void
cols_stats_are(const struct store_cols *cc, uint64_t hits, uint64_t misses)
{
	uint64_t h, m;

	store_cols_stats(cc, &h, &m);
	ck_assert_uint_eq(h, hits);
	ck_assert_uint_eq(m, misses);
}

/*
 * a, b and d scraped together, c half a second later, 200 samples a
 * second, sealed at close: four chunks each (a minute, the last 20 s),
 * eight columns (a, b and d share theirs).  OFF shifts every time,
 * SCALE every value.
 */
static void
cols_store(const char *dir, int64_t off, double scale)
{
	static const char	*names[] = { "a", "b", "c", "d" };
	struct store_opts	 o;
	struct store		*st;
	struct batch		*b = batch_new();
	int64_t			 i;
	size_t			 k;

	test_opts(&o, dir);
	o.chunk_target_samples = 10;	/* 1 s apart: chunks of a minute */
	st = open_ok(&o);
	for (i = 0; i < 200; i++) {
		for (k = 0; k < 4; k++)
			batch_addl(b, names[k], off + i * 1000 + (k == 2 ?
			    500 : 0), scale * (double)(i * (int64_t)(k + 1)),
			    NULL);
	}
	append_ok(st, b, NULL);
	close_ok(st);
	batch_free(b);
}

/* Series NAME of cols_store read through CC is exactly what was stored. */
static void
cols_check(struct store *st, const char *name, struct store_cols *cc,
    int64_t off, double scale)
{
	int64_t	t[256], i, k = name[0] - 'a';
	double	v[256];

	ck_assert_uint_eq(read_cols(st, series_id(st, name), INT64_MIN,
	    INT64_MAX, cc, t, v, 256), 200);
	for (i = 0; i < 200; i++) {
		ck_assert_int_eq(t[i], off + i * 1000 + (k == 2 ? 500 : 0));
		ck_assert(v[i] == scale * (double)(i * (k + 1)));
	}
}

/* Reads series d on from its Nth sample with IT (then freed): 200
   samples, i s and 4i. */
static void
finish_d(struct store_iter *it, int64_t *t, double *v, size_t n)
{
	int64_t	i;
	int	rc;

	while ((rc = store_iter_read(it, t + n, v + n, 256 - n)) > 0)
		n += (size_t)rc;
	ck_assert_int_eq(rc, 0);
	store_iter_free(it);
	ck_assert_uint_eq(n, 200);
	for (i = 0; i < 200; i++) {
		ck_assert_int_eq(t[i], i * 1000);
		ck_assert(v[i] == (double)(i * 4));
	}
}

/*
 * A column read once serves every chunk that uses it: a misses its four
 * columns, b and d find them, c has its own; each read gives exactly
 * what was stored, and what a read without the cache gives.
 */
START_TEST(test_cols_shared)
{
	struct store_opts	 o;
	struct store		*st;
	struct store_cols	*cc = store_cols_new(0);
	struct store_iter	*it;
	char			*dir = tmpdir_new();
	int64_t			 t[256], t2[256], i;
	double			 v[256], v2[256];
	size_t			 n;

	cols_store(dir, 0, 1);
	test_opts(&o, dir);
	st = open_ok(&o);
	cols_check(st, "a", cc, 0, 1);
	cols_stats_are(cc, 0, 4);
	cols_check(st, "b", cc, 0, 1);
	cols_stats_are(cc, 4, 4);
	cols_check(st, "d", cc, 0, 1);
	cols_stats_are(cc, 8, 4);
	cols_check(st, "c", cc, 0, 1);
	cols_stats_are(cc, 8, 8);
	cols_check(st, "a", cc, 0, 1);
	cols_check(st, "c", cc, 0, 1);
	cols_stats_are(cc, 16, 8);
	/* a range inside: two chunks and parts of two more */
	n = read_cols(st, series_id(st, "b"), 30000, 150000, cc, t, v, 256);
	ck_assert_uint_eq(n, 121);
	ck_assert_uint_eq(read_cols(st, series_id(st, "b"), 30000, 150000,
	    NULL, t2, v2, 256), n);
	for (i = 0; i < (int64_t)n; i++) {
		ck_assert_int_eq(t[i], 30000 + i * 1000);
		ck_assert(v[i] == (double)(2 * (30 + i)));
	}
	ck_assert(memcmp(t, t2, n * sizeof(*t)) == 0);
	ck_assert(memcmp(v, v2, n * sizeof(*v)) == 0);
	cols_stats_are(cc, 19, 8);
	/* a point at a time, with the cache too */
	it = store_iter_new_cols(st, series_id(st, "d"), INT64_MIN,
	    INT64_MAX, STORE_TIER_RAW, cc);
	for (i = 0; i < 200; i++) {
		ck_assert_int_eq(store_iter_next(it, &t[0], &v[0]), 1);
		ck_assert_int_eq(t[0], i * 1000);
		ck_assert(v[0] == (double)(4 * i));
	}
	ck_assert_int_eq(store_iter_next(it, &t[0], &v[0]), 0);
	store_iter_free(it);
	cols_stats_are(cc, 23, 8);
	/*
	 * One reader midway while others read whole, then the first on:
	 * the first borrows the cache's arrays, the others have their own,
	 * and the arrays go back to the cache for the next.
	 */
	it = store_iter_new_cols(st, series_id(st, "d"), INT64_MIN,
	    INT64_MAX, STORE_TIER_RAW, cc);
	ck_assert_int_eq(store_iter_read(it, t, v, 5), 5);
	cols_check(st, "c", cc, 0, 1);
	cols_check(st, "a", cc, 0, 1);
	finish_d(it, t, v, 5);
	cols_check(st, "d", cc, 0, 1);
	cols_stats_are(cc, 39, 8);
	close_ok(st);
	store_cols_free(cc);
	store_cols_free(NULL);
	tmpdir_free(dir);
}
END_TEST

/*
 * A cache with room for one column: each new column replaces the one
 * before, except the one a reader still decodes, whose chunk pins it;
 * then the other reader decodes without the cache.  Every read stays
 * exact.
 */
START_TEST(test_cols_bounded)
{
	struct store_opts	 o;
	struct store		*st;
	struct store_cols	*cc;
	struct store_iter	*it;
	char			*dir = tmpdir_new();
	int64_t			 t[256];
	double			 v[256];
	size_t			 n = 0;

	cols_store(dir, 0, 1);
	test_opts(&o, dir);
	st = open_ok(&o);
	/*
	 * A column of 60 samples takes about 20 bytes and 480 of
	 * timestamps, the last one of 20 about 180: one fits, not two.
	 */
	cc = store_cols_new(600);
	cols_check(st, "a", cc, 0, 1);
	cols_stats_are(cc, 0, 4);
	/* the last column stayed */
	ck_assert_uint_eq(read_cols(st, series_id(st, "b"), 180000,
	    INT64_MAX, cc, t, v, 256), 20);
	cols_stats_are(cc, 1, 4);
	/* b's first columns were replaced by a's next ones */
	cols_check(st, "b", cc, 0, 1);
	cols_stats_are(cc, 1, 8);
	/* a reader in its first chunk holds the column; c reads beside */
	it = store_iter_new_cols(st, series_id(st, "d"), INT64_MIN,
	    INT64_MAX, STORE_TIER_RAW, cc);
	ck_assert_int_eq(store_iter_read(it, t, v, 5), 5);
	n = 5;
	cols_stats_are(cc, 1, 9);
	cols_check(st, "c", cc, 0, 1);
	cols_stats_are(cc, 1, 13);
	finish_d(it, t, v, n);
	cols_stats_are(cc, 1, 16);
	/* c's last column is as long as d's, held now, but other bytes */
	ck_assert_uint_eq(read_cols(st, series_id(st, "c"), 180000,
	    INT64_MAX, cc, t, v, 256), 20);
	ck_assert_int_eq(t[0], 180500);
	cols_stats_are(cc, 1, 17);
	store_cols_free(cc);
	/* no room for any column: every chunk decodes its own */
	cc = store_cols_new(100);
	cols_check(st, "a", cc, 0, 1);
	cols_check(st, "b", cc, 0, 1);
	cols_stats_are(cc, 0, 8);
	store_cols_free(cc);
	close_ok(st);
	tmpdir_free(dir);
}
END_TEST

/*
 * Between two reads the store changes under the same keys: another
 * store made in its place, the same series ids, groups and column
 * indexes, one millisecond later and other values.  A cache that knew
 * columns by where they are would serve the old timestamps; this one
 * knows them by their bytes, misses and reads the new ones.
 */
START_TEST(test_cols_changed_between_txns)
{
	struct store_opts	 o;
	struct store		*st;
	struct store_cols	*cc = store_cols_new(0);
	char			*dir = tmpdir_new();

	test_opts(&o, dir);
	cols_store(dir, 0, 1);
	st = open_ok(&o);
	cols_check(st, "a", cc, 0, 1);
	cols_check(st, "b", cc, 0, 1);
	cols_stats_are(cc, 4, 4);
	close_ok(st);
	tmpdir_remove(dir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	cols_store(dir, 1, 3);
	st = open_ok(&o);
	cols_check(st, "a", cc, 1, 3);
	cols_stats_are(cc, 4, 8);
	cols_check(st, "b", cc, 1, 3);
	cols_check(st, "d", cc, 1, 3);
	cols_stats_are(cc, 12, 8);
	close_ok(st);
	/* and back: the first store's columns, still cached, are right */
	tmpdir_remove(dir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	cols_store(dir, 0, 2);
	st = open_ok(&o);
	cols_check(st, "b", cc, 0, 2);
	cols_stats_are(cc, 16, 8);
	close_ok(st);
	store_cols_free(cc);
	tmpdir_free(dir);
}
END_TEST

/*
 * Many columns, each its own (series k is scraped k ms late): their
 * CRCs share the cache's chains, and only the bytes tell them apart.
 */
START_TEST(test_cols_many)
{
	struct store_opts	 o;
	struct store		*st;
	struct store_cols	*cc = store_cols_new(0);
	struct batch		*b = batch_new();
	char			*dir = tmpdir_new(), name[16];
	int64_t			 t[128], i;
	double			 v[128];
	int			 k, round;

	test_opts(&o, dir);
	o.chunk_target_samples = 10;	/* 1 s apart: chunks of a minute */
	st = open_ok(&o);
	for (i = 0; i < 100; i++) {
		for (k = 0; k < 64; k++) {
			snprintf(name, sizeof(name), "s%d", k);
			batch_addl(b, name, i * 1000 + k, (double)(i + k),
			    NULL);
		}
	}
	append_ok(st, b, NULL);
	close_ok(st);
	st = open_ok(&o);
	for (round = 0; round < 2; round++) {
		for (k = 0; k < 64; k++) {
			snprintf(name, sizeof(name), "s%d", k);
			ck_assert_uint_eq(read_cols(st, series_id(st, name),
			    INT64_MIN, INT64_MAX, cc, t, v, 128), 100);
			for (i = 0; i < 100; i++) {
				ck_assert_int_eq(t[i], i * 1000 + k);
				ck_assert(v[i] == (double)(i + k));
			}
		}
	}
	cols_stats_are(cc, 128, 128);
	close_ok(st);
	store_cols_free(cc);
	batch_free(b);
	tmpdir_free(dir);
}
END_TEST

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/*
 * Flip the last byte (chunk payload: the CRC fails) of the second chunk,
 * found as LAYOUT.md draws a group: count u32, base id u64, columns u16,
 * the end of each column u32, the columns, then per chunk (flags and
 * id - base u32, end u32), then the chunks.
 */
static int
corrupt_second_chunk(struct kv_txn *txn, void *arg)
{
	struct kv_cursor	*cur;
	struct kv_val		 k, v;
	uint8_t			 key[8], *val;
	size_t			 len, at, dir, nc;
	uint32_t		 n;
	int			 rc;

	(void)arg;
	if ((rc = kv_cursor_open(txn, KV_DB_CHUNKS, &cur)) < 0)
		return rc;
	ck_assert_int_eq(kv_cursor_get(cur, KV_FIRST, &k, &v), 0);
	ck_assert_uint_eq(k.len, 8);
	memcpy(key, k.data, 8);
	len = v.len;
	val = xmalloc(len);
	memcpy(val, v.data, len);
	kv_cursor_close(cur);
	n = be32(val);
	ck_assert_uint_eq(n, 4);
	nc = (size_t)val[12] << 8 | val[13];
	ck_assert_uint_gt(nc, 0);
	dir = 14 + 4 * nc + be32(val + 14 + 4 * (nc - 1));
	/* One series, chunks in time order: the second ends here. */
	ck_assert_uint_eq(be32(val + dir + 8) & 0x3fffffff, 0);
	at = dir + 8 * (size_t)n + be32(val + dir + 8 + 4) - 1;
	ck_assert_uint_lt(at, len);
	val[at] ^= 0x55;
	rc = kv_put(txn, KV_DB_CHUNKS, key, 8, val, len);
	free(val);
	return rc;
}

/*
 * A corrupt chunk on disk: store_iter_read gives the points before it,
 * then -1 with store_iter_next's message, and stays at -1.
 */
START_TEST(test_iter_read_corrupt)
{
	static const size_t	 sizes[] = { 1, 7, 4096 };
	struct store_opts	 o;
	struct store		*st;
	struct store_iter	*it;
	struct batch		*b = batch_new();
	struct kv_opts		 ko;
	struct kv		*kv;
	char			*dir = tmpdir_new(), err[256], msg[256];
	int64_t			 i, t, ts[512];
	double			 v, vs[512];
	size_t			 n = 0, k, got;
	uint64_t		 id;
	int			 rc;

	test_opts(&o, dir);
	o.chunk_target_samples = 10;	/* 1 s apart: chunks of a minute */
	st = open_ok(&o);
	for (i = 0; i < 200; i++)
		batch_addl(b, "m", i * 1000, (double)i / 4, NULL);
	append_ok(st, b, NULL);
	id = series_id(st, "m");
	close_ok(st);

	memset(&ko, 0, sizeof(ko));
	ko.dir = dir;
	ko.map_max = o.map_size_max;
	ck_assert_ptr_nonnull(kv = kv_open(&ko, err, sizeof(err)));
	ck_assert_int_eq(kv_write(kv, corrupt_second_chunk, NULL, err,
	    sizeof(err)), 0);
	kv_close(kv);

	st = open_ok(&o);
	it = store_iter_new(st, id, INT64_MIN, INT64_MAX, STORE_TIER_RAW);
	while ((rc = store_iter_next(it, &t, &v)) == 1) {
		ck_assert_uint_lt(n, 512);
		ts[n] = t;
		vs[n++] = v;
	}
	ck_assert_int_eq(rc, -1);
	snprintf(msg, sizeof(msg), "%s", store_iter_error(it));
	store_iter_free(it);
	/* The first chunk, a minute of samples, came out whole. */
	ck_assert_uint_eq(n, 60);
	ck_assert_str_eq(msg, "series 1, chunk at 60000: "
	    "chunk checksum mismatch");
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		int64_t	rt[512];
		double	rv[512];

		it = store_iter_new(st, id, INT64_MIN, INT64_MAX,
		    STORE_TIER_RAW);
		got = 0;
		while ((rc = store_iter_read(it, rt + got, rv + got,
		    sizes[k] < 512 - got ? sizes[k] : 512 - got)) > 0)
			got += (size_t)rc;
		ck_assert_int_eq(rc, -1);
		ck_assert_uint_eq(got, n);
		ck_assert(memcmp(rt, ts, n * sizeof(*ts)) == 0);
		ck_assert(memcmp(rv, vs, n * sizeof(*vs)) == 0);
		ck_assert_str_eq(store_iter_error(it), msg);
		ck_assert_int_eq(store_iter_read(it, rt, rv, 8), -1);
		store_iter_free(it);
	}
	close_ok(st);
	batch_free(b);
	tmpdir_free(dir);
}
END_TEST

START_TEST(test_background_flush)
{
	struct store_opts	 o, oc;
	struct store		*st, *sc;
	struct batch		*b = batch_new();
	struct store_stats	 ss;
	struct timespec		 ts = { 0, 10 * 1000 * 1000 };
	char			*dir = tmpdir_new(), *copy;
	int			 i;

	test_opts(&o, dir);
	o.flush_interval_ms = 20;
	st = open_ok(&o);
	for (i = 0; i < 5; i++)
		batch_addl(b, "m", i * 1000, val_of(i), NULL);
	append_ok(st, b, NULL);
	/* Wait for the store's thread (bounded: 30 s). */
	for (i = 0; i < 3000; i++) {
		store_stats(st, &ss);
		if (ss.flushes > 0 && ss.last_flush_time > 0)
			break;
		nanosleep(&ts, NULL);
	}
	ck_assert_uint_gt(ss.flushes, 0);
	copy = snapshot(dir);
	test_opts(&oc, copy);
	sc = open_ok(&oc);
	check_range(sc, series_id(sc, "m"), INT64_MIN, INT64_MAX, 0, 4);
	close_ok(sc);
	tmpdir_free(copy);
	close_ok(st);
	batch_free(b);
	tmpdir_free(dir);
}
END_TEST

START_TEST(test_close_compacts)
{
	struct store_opts	 o;
	struct store		*st;
	struct batch		*b = batch_new();
	struct store_stats	 ss;
	struct stat		 sb;
	char			*dir = tmpdir_new(), name[32], path[512];
	uint64_t		 x = 3, before;
	int64_t			 i;
	int			 k;

	test_opts(&o, dir);
	/* Segments as long as chunks: every flush rewrites 300 whole open
	 * chunks, and at the close they all go at once, merged into sealed
	 * chunks a fraction of their size: more than half the file is free
	 * pages then. */
	o.head_segment_samples = CHUNK_MAX_SAMPLES;
	st = open_ok(&o);
	for (i = 0; i < 300; i++) {
		for (k = 0; k < 300; k++) {
			snprintf(name, sizeof(name), "s%d", k);
			batch_addl(b, name, i * 1000, k == 7 ? (double)i :
			    noise(&x), NULL);
		}
		append_ok(st, b, NULL);
		flush_ok(st);
	}
	store_stats(st, &ss);
	before = ss.bytes_on_disk;
	close_ok(st);
	snprintf(path, sizeof(path), "%s/data.mdb.compact", dir);
	ck_assert_int_eq(stat(path, &sb), -1);
	/* What a crash in the middle of the rewrite would leave. */
	{
		FILE *f = fopen(path, "w");

		ck_assert_ptr_nonnull(f);
		fputs("half a copy", f);
		fclose(f);
	}
	st = open_ok(&o);
	ck_assert_int_eq(stat(path, &sb), -1);
	store_stats(st, &ss);
	ck_assert_uint_le(ss.bytes_on_disk, ss.bytes_used + (64 << 10));
	ck_assert_uint_lt(ss.bytes_on_disk, before / 2);
	check_sel(SEL(st, { "__name__", "s299", EQ }), "s299{}");
	{
		int64_t			ts[300];
		struct store_agg	as[300];

		ck_assert_uint_eq(collect(st, series_id(st, "s7"), INT64_MIN,
		    INT64_MAX, STORE_TIER_RAW, ts, as, 300), 300);
		ck_assert(as[299].last == 299.0);
	}
	close_ok(st);
	batch_free(b);
	tmpdir_free(dir);
}
END_TEST

START_TEST(test_map_grows)
{
	struct store_opts	 o;
	struct store		*st;
	struct batch		*b = batch_new();
	struct store_stats	 ss;
	char			*dir = tmpdir_new();
	uint64_t		 x = 1;
	int64_t			 i;

	test_opts(&o, dir);
	o.map_size_initial = 1 << 20;
	o.map_size_max = 64 << 20;
	st = open_ok(&o);
	for (i = 0; i < 400000; i++) {
		batch_addl(b, "m", i * 1000, noise(&x), "job", i % 2 ? "a" :
		    "b", NULL);
		if (batch_len(b) == 10000) {
			append_ok(st, b, NULL);
			flush_ok(st);
		}
	}
	store_stats(st, &ss);
	ck_assert_uint_gt(ss.map_size, 2 << 20);
	ck_assert_uint_gt(ss.bytes_used, 1 << 20);
	ck_assert_int_eq(ss.disk_full, 0);
	ck_assert_uint_eq(ss.errors, 0);
	close_ok(st);
	st = open_ok(&o);
	check_sel(SEL(st, { "job", "a", EQ }), "m{job=\"a\"}");
	close_ok(st);
	batch_free(b);
	tmpdir_free(dir);
}
END_TEST

struct reader {
	struct store	*st;
	atomic_int	*stop;
	int		 rounds;
	char		 fail[256];
};

/*
 * Read every series over and over while the writer appends: each must
 * show t = 0, 1000, ... with no gap and no repeat, whatever the moment.
 */
static void *
reader_main(void *arg)
{
	struct reader		*r = arg;
	struct store_matcher	 m = { "job", "w", STORE_MATCH_EQ };
	struct store_set	*set;
	struct store_iter	*it;
	struct rbuf		 rb;
	char			 err[200];
	int64_t			 t, want;
	double			 v;
	size_t			 i;
	int			 rc;

	while (!*r->stop && r->fail[0] == '\0') {
		if (store_select(r->st, &m, 1, INT64_MIN, INT64_MAX,
		    STORE_TIER_RAW, &set, err, sizeof(err)) != 0) {
			snprintf(r->fail, sizeof(r->fail), "select: %s", err);
			break;
		}
		for (i = 0; i < store_set_len(set); i++) {
			it = store_iter_new(r->st, store_set_id(set, i),
			    INT64_MIN, INT64_MAX, STORE_TIER_RAW);
			want = 0;
			rb.it = it;
			rb.cap = 1 + (size_t)r->rounds % 64;
			rb.n = rb.i = 0;
			while ((rc = r->rounds % 2 ? rbuf_next(&rb, &t, &v) :
			    store_iter_next(it, &t, &v)) == 1) {
				if (t != want || v != (double)(t / 1000)) {
					snprintf(r->fail, sizeof(r->fail),
					    "got t=%lld v=%g, want t=%lld",
					    (long long)t, v, (long long)want);
					break;
				}
				want += 1000;
			}
			if (rc < 0)
				snprintf(r->fail, sizeof(r->fail), "iter: %s",
				    store_iter_error(it));
			store_iter_free(it);
		}
		store_set_free(set);
		r->rounds++;
	}
	return NULL;
}

START_TEST(test_readers_beside_writer)
{
	struct store_opts	 o;
	struct store		*st;
	struct batch		*b = batch_new();
	struct reader		 r[2];
	pthread_t		 th[2];
	atomic_int		 stop = 0;
	char			*dir = tmpdir_new(), name[32];
	int64_t			 i;
	int			 k;

	test_opts(&o, dir);
	o.chunk_max_samples = 16;
	o.map_size_initial = 1 << 20;
	st = open_ok(&o);
	for (k = 0; k < 2; k++) {
		memset(&r[k], 0, sizeof(r[k]));
		r[k].st = st;
		r[k].stop = &stop;
		ck_assert_int_eq(pthread_create(&th[k], NULL, reader_main,
		    &r[k]), 0);
	}
	for (i = 0; i < 4000; i++) {
		for (k = 0; k < 50; k++) {
			snprintf(name, sizeof(name), "s%d", k);
			batch_addl(b, name, i * 1000, (double)i, "job", "w",
			    NULL);
		}
		append_ok(st, b, NULL);
		if (i % 50 == 49)
			flush_ok(st);
	}
	stop = 1;
	for (k = 0; k < 2; k++) {
		pthread_join(th[k], NULL);
		ck_assert_msg(r[k].fail[0] == '\0', "reader %d: %s", k,
		    r[k].fail);
		ck_assert_int_gt(r[k].rounds, 0);
	}
	close_ok(st);
	batch_free(b);
	tmpdir_free(dir);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite	*s = suite_create("store");
	TCase	*tc = tcase_create("store");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_matchers);
	tcase_add_test(tc, test_select_max);
	tcase_add_test(tc, test_matcher_errors_and_labels);
	tcase_add_test(tc, test_long_label_values);
	tcase_add_test(tc, test_postings_segments);
	tcase_add_test(tc, test_ranges_head_sealed_reopen);
	tcase_add_test(tc, test_drop_rules);
	tcase_add_test(tc, test_series_limits);
	tcase_add_test(tc, test_retention);
	tcase_add_test(tc, test_rollups);
	tcase_add_test(tc, test_rollup_resume);
	tcase_add_test(tc, test_flush_checkpoints);
	tcase_add_test(tc, test_format_record);
	tcase_add_test(tc, test_disk_full);
	tcase_add_test(tc, test_chunk_limits);
	tcase_add_test(tc, test_shared_columns);
	tcase_add_test(tc, test_cols_shared);
	tcase_add_test(tc, test_cols_bounded);
	tcase_add_test(tc, test_cols_changed_between_txns);
	tcase_add_test(tc, test_cols_many);
	tcase_add_test(tc, test_iter_read_corrupt);
	tcase_add_test(tc, test_background_flush);
	tcase_add_test(tc, test_close_compacts);
	tcase_add_test(tc, test_head_segments);
	tcase_add_test(tc, test_head_damaged);
	tcase_add_test(tc, test_map_grows);
	tcase_add_test(tc, test_readers_beside_writer);
	suite_add_tcase(s, tc);
	return s;
}

TCHECK_MAIN(store_suite)
