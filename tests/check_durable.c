/*
 * Durability of the store under late data, restarts, kill -9 and failed
 * writes: rollups of samples older than the rollup watermark (a backfill,
 * a new series with old samples), recomputed exactly after a restart or a
 * kill at any point, and flushes killed or failed at each of their
 * transactions (store_opts.fault).  Each kill happens in a child forked
 * for it, which raises SIGKILL from the fault hook or after its appends;
 * the test then reopens the store and checks it.  Tier contents are
 * checked bucket by bucket (min, max, sum, count, last) against a model
 * of the samples computed here, or against the raw samples the store
 * kept when a kill makes what was kept depend on the moment.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tcheck.h"
#include "tmpdir.h"
#include "sample.h"
#include "xmalloc.h"
#include "storage/keys.h"
#include "storage/kv.h"
#include "storage/store.h"

#define MIN		60000LL		/* one raw sample a minute */
#define DAY		86400000LL
#define B5M		300000LL
#define B1H		3600000LL
#define NOW		(9 * DAY + 10 * MIN)	/* 5m done at 9d, 1h at 7d */

static char *
tmpdir_new(void)
{
	char *d = tmpdir_make("check_durable");

	ck_assert_ptr_nonnull(d);
	return d;
}

static void
tmpdir_free(char *d)
{
	tmpdir_remove(d);
	free(d);
}

/* Nothing in the background, raw data kept, both tiers on. */
static void
test_opts(struct store_opts *o, const char *dir)
{
	store_opts_default(o);
	o->dir = dir;
	o->flush_interval_ms = 0;
	o->maint_interval_ms = 0;
	o->retention_ms = 0;
	o->retention_5m_ms = 365 * DAY;
	o->retention_1h_ms = 730 * DAY;
	o->map_size_max = 256ULL << 20;
	o->chunk_max_bytes = 0;
}

static struct store *
open_ok(const struct store_opts *o)
{
	char		 err[256] = "";
	struct store	*st = store_open(o, err, sizeof(err));
	struct store_stats ss;

	ck_assert_msg(st != NULL, "store_open: %s", err);
	/* Opened clean: no damaged checkpoint, nothing dropped. */
	store_stats(st, &ss);
	ck_assert_msg(ss.last_error[0] == '\0', "open: %s", ss.last_error);
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
rollup_ok(struct store *st, int64_t now)
{
	char err[256] = "";

	ck_assert_msg(store_rollup_run(st, now, err, sizeof(err)) == 0,
	    "rollup: %s", err);
}

static void
retention_ok(struct store *st, int64_t now)
{
	char err[256] = "";

	ck_assert_msg(store_retention_run(st, now, err, sizeof(err)) == 0,
	    "retention: %s", err);
}

/* 0 when there is no such series. */
static uint64_t
series_id(struct store *st, const char *name)
{
	struct store_matcher	 m = { "__name__", name, STORE_MATCH_EQ };
	struct store_set	*set;
	char			 err[256];
	uint64_t		 id = 0;

	ck_assert_int_eq(store_select(st, &m, 1, INT64_MIN, INT64_MAX,
	    STORE_TIER_RAW, &set, err, sizeof(err)), 0);
	if (store_set_len(set) == 1)
		id = store_set_id(set, 0);
	store_set_free(set);
	return id;
}

/*
 * A series of the model: samples at minutes of its spans, value val(k, i)
 * (halves and small integers: every sum is exact, in any order), a
 * staleness marker every 97 minutes for k 0.
 */
struct span {
	int64_t	lo, hi;		/* minutes, inclusive */
};

struct model {
	char		name[32];
	int		k;
	struct span	sp[4];
	int		nsp;
};

static double
val(int k, int64_t i)
{
	return (double)(i % 7) + (double)(i % 3) * 0.5 - (double)(i % 11) + k;
}

static int
is_stale_min(int k, int64_t i)
{
	return k == 0 && i % 97 == 13;
}

static int
model_has(const struct model *m, int64_t i)
{
	int s;

	for (s = 0; s < m->nsp; s++)
		if (i >= m->sp[s].lo && i <= m->sp[s].hi)
			return 1;
	return 0;
}

static void
model_span(struct model *m, int64_t lo, int64_t hi)
{
	ck_assert_int_lt(m->nsp, 4);
	m->sp[m->nsp].lo = lo;
	m->sp[m->nsp].hi = hi;
	m->nsp++;
}

/* Append minutes [lo, hi] of M (and add them to the model). */
static void
append_span(struct store *st, struct model *m, int64_t lo, int64_t hi,
    int sync)
{
	struct batch	*b = batch_new();
	uint64_t	 bits = STALE_NAN_BITS;
	double		 stale;
	char		 err[256] = "";
	int64_t		 i;

	memcpy(&stale, &bits, sizeof(stale));
	for (i = lo; i <= hi; i++) {
		batch_addl(b, m->name, i * MIN, is_stale_min(m->k, i) ? stale :
		    val(m->k, i), "job", "d", NULL);
		if (batch_len(b) == 4096 || i == hi) {
			if (sync)
				ck_assert_msg(store_append_batch_sync(st, b,
				    NULL, err, sizeof(err)) == 0, "append: %s",
				    err);
			else
				ck_assert_int_eq(store_append_batch(st, b,
				    NULL), 0);
			batch_reset(b);
		}
	}
	batch_free(b);
	model_span(m, lo, hi);
}

static void
agg_add(struct store_agg *e, int *have, double v)
{
	if (!*have) {
		e->min = e->max = e->sum = e->last = v;
		e->count = 1;
		*have = 1;
		return;
	}
	e->min = v < e->min ? v : e->min;
	e->max = v > e->max ? v : e->max;
	e->sum += v;
	e->count++;
	e->last = v;
}

static int
model_bucket(const struct model *m, int64_t b, int64_t size,
    struct store_agg *e)
{
	int64_t	i;
	int	have = 0;

	for (i = b / MIN; i * MIN < b + size; i++)
		if (model_has(m, i) && !is_stale_min(m->k, i))
			agg_add(e, &have, val(m->k, i));
	return have;
}

/* The buckets of [t0, t1) computed from the raw samples the store has. */
static size_t
raw_buckets(struct store *st, uint64_t id, int64_t bsize, int64_t t0,
    int64_t t1, int64_t *ts, struct store_agg *as, size_t max)
{
	struct store_iter	*it = store_iter_new(st, id, t0, t1 - 1,
				    STORE_TIER_RAW);
	int64_t			 t, b;
	double			 v;
	uint64_t		 bits;
	size_t			 n = 0;
	int			 rc, have = 0;

	while ((rc = store_iter_next(it, &t, &v)) == 1) {
		memcpy(&bits, &v, sizeof(bits));
		if (bits == STALE_NAN_BITS)
			continue;
		b = t - t % bsize;
		if (have && ts[n - 1] != b)
			have = 0;
		if (!have) {
			ck_assert_uint_lt(n, max);
			ts[n++] = b;
		}
		agg_add(&as[n - 1], &have, v);
	}
	ck_assert_msg(rc == 0, "raw: %s", store_iter_error(it));
	store_iter_free(it);
	return n;
}

#define MAXB	4096

static void
agg_eq(int64_t t, const struct store_agg *got, const struct store_agg *want,
    const char *what)
{
	ck_assert_msg(got->min == want->min && got->max == want->max &&
	    got->sum == want->sum && got->count == want->count &&
	    got->last == want->last, "%s bucket %lld: got %g %g %g %g %g, "
	    "want %g %g %g %g %g", what, (long long)t, got->min, got->max,
	    got->sum, got->count, got->last, want->min, want->max, want->sum,
	    want->count, want->last);
}

/* The tier's buckets of [t0, t1): exactly WANT (N of them). */
static void
tier_is(struct store *st, uint64_t id, enum store_tier tier, int64_t t0,
    int64_t t1, const int64_t *wt, const struct store_agg *wa, size_t n,
    const char *what)
{
	struct store_iter	*it = store_iter_new(st, id, t0, t1 - 1, tier);
	struct store_agg	 a;
	int64_t			 t;
	size_t			 k = 0;
	int			 rc;

	while ((rc = store_iter_next_agg(it, &t, &a)) == 1) {
		ck_assert_msg(k < n, "%s: extra bucket %lld", what,
		    (long long)t);
		ck_assert_msg(t == wt[k], "%s: bucket %lld, want %lld", what,
		    (long long)t, (long long)wt[k]);
		agg_eq(t, &a, &wa[k], what);
		k++;
	}
	ck_assert_msg(rc == 0, "%s: %s", what, store_iter_error(it));
	store_iter_free(it);
	ck_assert_msg(k == n, "%s: %zu buckets, want %zu", what, k, n);
}

/* The tier of series ID against the model over [t0, t1). */
static void
check_model_id(struct store *st, uint64_t id, const struct model *m,
    enum store_tier tier, int64_t t0, int64_t t1)
{
	static int64_t		wt[MAXB];
	static struct store_agg	wa[MAXB];
	int64_t			bsize = tier == STORE_TIER_5M ? B5M : B1H, b;
	size_t			n = 0;
	char			what[64];

	for (b = t0; b < t1; b += bsize)
		if (model_bucket(m, b, bsize, &wa[n])) {
			ck_assert_uint_lt(n, MAXB);
			wt[n++] = b;
		}
	snprintf(what, sizeof(what), "%s %s", m->name,
	    tier == STORE_TIER_5M ? "5m" : "1h");
	tier_is(st, id, tier, t0, t1, wt, wa, n, what);
}

static void
check_model(struct store *st, const struct model *m, enum store_tier tier,
    int64_t t0, int64_t t1)
{
	check_model_id(st, series_id(st, m->name), m, tier, t0, t1);
}

/* The tier against the store's own raw samples over [t0, t1). */
static void
check_raw(struct store *st, uint64_t id, enum store_tier tier, int64_t t0,
    int64_t t1)
{
	static int64_t		wt[MAXB];
	static struct store_agg	wa[MAXB];
	int64_t			bsize = tier == STORE_TIER_5M ? B5M : B1H;
	size_t			n;
	char			what[64];

	n = raw_buckets(st, id, bsize, t0, t1, wt, wa, MAXB);
	snprintf(what, sizeof(what), "series %llu %s",
	    (unsigned long long)id, tier == STORE_TIER_5M ? "5m" : "1h");
	tier_is(st, id, tier, t0, t1, wt, wa, n, what);
}

static void
model_init(struct model *m, const char *name, int k)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->k = k;
}

/* Every tier of M over the days rolled up at NOW. */
static void
check_all(struct store *st, const struct model *m)
{
	check_model(st, m, STORE_TIER_5M, 0, 9 * DAY);
	check_model(st, m, STORE_TIER_1H, 0, 7 * DAY);
}

/*
 * The steady series that moves the watermarks: nine days, rolled up at
 * NOW (5m to 9d, 1h to 7d).
 */
static void
steady(struct store *st, struct model *m)
{
	struct store_stats ss;

	model_init(m, "steady", 0);
	append_span(st, m, 0, 9 * 1440 - 1, 0);
	flush_ok(st);
	rollup_ok(st, NOW);
	store_stats(st, &ss);
	ck_assert_int_eq(ss.rollup_done[STORE_TIER_5M], 9 * DAY);
	ck_assert_int_eq(ss.rollup_done[STORE_TIER_1H], 7 * DAY);
}

START_TEST(test_late_new_series)
{
	struct store_opts	 o;
	struct store		*st;
	struct store_stats	 ss;
	struct model		 s, f;
	char			*dir = tmpdir_new();

	test_opts(&o, dir);
	st = open_ok(&o);
	steady(st, &s);
	check_all(st, &s);

	/* A new series whose samples are all below both watermarks. */
	model_init(&f, "fresh", 1);
	append_span(st, &f, 1440 + 3, 1440 + 180, 0);
	append_span(st, &f, 3 * 1440 + 122, 3 * 1440 + 129, 0);
	flush_ok(st);
	/* Not rolled up before the next run. */
	check_model(st, &(struct model){ "fresh", 1, { { 0, 0 } }, 0 },
	    STORE_TIER_5M, 0, 9 * DAY);
	rollup_ok(st, NOW);
	check_all(st, &f);
	check_all(st, &s);
	store_stats(st, &ss);
	ck_assert_int_eq(ss.rollup_done[STORE_TIER_5M], 9 * DAY);
	/* Two 5m blocks (days 1 and 3), one 1h block (week 0); 37 + 2 5m
	 * buckets, 4 + 1 1h ones. */
	ck_assert_uint_eq(ss.rollup_blocks_written, 9 + 1 + 2 + 1);
	ck_assert_uint_eq(ss.rollup_buckets_recomputed, 39 + 5);
	/* A second run has nothing left to do. */
	rollup_ok(st, NOW);
	store_stats(st, &ss);
	ck_assert_uint_eq(ss.rollup_blocks_written, 9 + 1 + 2 + 1);
	close_ok(st);
	tmpdir_free(dir);
}
END_TEST

/*
 * A series that paused at 2d 2m, its bucket rolled up with three samples,
 * then resumed with samples into that bucket and on: the bucket is merged
 * (five samples), never counted twice.  MODE 0: all in one process; 1: a
 * clean restart between the backfill and the run; 2: the backfill not
 * flushed by hand, the close does it.
 */
static void
late_merge(int mode)
{
	struct store_opts	 o;
	struct store		*st;
	struct store_stats	 ss;
	struct model		 s, p;
	struct store_iter	*it;
	struct store_agg	 a;
	char			*dir = tmpdir_new();
	int64_t			 t;

	test_opts(&o, dir);
	st = open_ok(&o);
	model_init(&p, "paused", 2);
	append_span(st, &p, 0, 2 * 1440 + 2, 0);
	steady(st, &s);
	check_all(st, &p);

	append_span(st, &p, 2 * 1440 + 3, 5 * 1440, mode != 2);
	/* The rollup still has the bucket as it was. */
	it = store_iter_new(st, series_id(st, "paused"), 2 * DAY, 2 * DAY,
	    STORE_TIER_5M);
	ck_assert_int_eq(store_iter_next_agg(it, &t, &a), 1);
	ck_assert_int_eq(t, 2 * DAY);
	ck_assert(a.count == 3);
	store_iter_free(it);
	if (mode != 0) {
		close_ok(st);
		st = open_ok(&o);
	}
	rollup_ok(st, NOW);
	check_all(st, &p);
	check_all(st, &s);
	it = store_iter_new(st, series_id(st, "paused"), 2 * DAY, 2 * DAY,
	    STORE_TIER_5M);
	ck_assert_int_eq(store_iter_next_agg(it, &t, &a), 1);
	ck_assert(a.count == 5);
	store_iter_free(it);
	store_stats(st, &ss);
	/* Days 2 to 5 of 5m, week 0 of 1h, rewritten. */
	ck_assert_uint_eq(ss.rollup_blocks_written, (mode != 0 ? 0 : 14) + 5);
	close_ok(st);

	/* The marks are gone: a run after a reopen writes nothing. */
	st = open_ok(&o);
	rollup_ok(st, NOW);
	store_stats(st, &ss);
	ck_assert_uint_eq(ss.rollup_blocks_written, 0);
	check_all(st, &p);
	close_ok(st);
	tmpdir_free(dir);
}

START_TEST(test_late_merge)
{
	late_merge(0);
}
END_TEST

START_TEST(test_late_restart)
{
	late_merge(1);
}
END_TEST

START_TEST(test_late_close_flushes)
{
	late_merge(2);
}
END_TEST

/*
 * The fault hook of a child: SIGKILL at the Nth time POINT is reached
 * (counting from 1; 0: never).
 */
struct killer {
	const char	*point;
	int		 at, seen;
	int		 fail;		/* return -1 instead of dying */
	int		 wait;		/* not counting while set */
};

static int
killer_hook(void *arg, const char *point)
{
	struct killer *k = arg;

	if (k->point == NULL || k->wait || strcmp(point, k->point) != 0)
		return 0;
	if (++k->seen != k->at)
		return 0;
	if (k->fail)
		return -1;
	raise(SIGKILL);
	return 0;
}

/* Wait for the child: it must have died of SIGKILL. */
static void
reap_killed(pid_t pid, const char *what)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	    "%s: the child was not killed (status %d)", what, status);
}

#define NFRESH	100		/* new old series: two batches of marks */

static void
fresh_name(char *buf, size_t len, int k)
{
	snprintf(buf, len, "fresh%03d", k);
}

/*
 * Kill -9 with late samples between: the child backfills (synchronously:
 * acknowledged), appends more without a flush (lost), and is killed at
 * POINT's Nth passage, or after its appends when POINT is NULL.  After a
 * reopen and a run, every tier equals what the raw samples say, and the
 * acknowledged samples are all there.
 */
static void
late_kill(const char *point, int at)
{
	struct store_opts	 o;
	struct store		*st;
	struct model		 s, p, f[NFRESH];
	struct killer		 k = { point, at, 0, 0, 0 };
	char			*dir = tmpdir_new(), name[32], what[64];
	pid_t			 pid;
	uint64_t		 id;
	int			 i, fds[2], step, acked = -1;
	int64_t			 tier;

	test_opts(&o, dir);
	st = open_ok(&o);
	model_init(&p, "paused", 2);
	append_span(st, &p, 0, 2 * 1440 + 2, 0);
	steady(st, &s);
	close_ok(st);
	for (i = 0; i < NFRESH; i++) {
		fresh_name(name, sizeof(name), i);
		model_init(&f[i], name, 3 + i);
	}

	ck_assert_int_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		o.fault = killer_hook;
		o.fault_arg = &k;
		st = store_open(&o, what, sizeof(what));
		if (st == NULL)
			_exit(2);
		/* Acknowledged (flushed before the call returns), and
		 * reported: 0 the backfill, i + 1 fresh series i. */
		append_span(st, &p, 2 * 1440 + 3, 3 * 1440, 1);
		step = 0;
		if (write(fds[1], &step, sizeof(step)) != sizeof(step))
			_exit(4);
		for (i = 0; i < NFRESH; i++) {
			append_span(st, &f[i], (i % 5) * 1440 + 7,
			    (i % 5) * 1440 + 100, 1);
			step = i + 1;
			if (write(fds[1], &step, sizeof(step)) !=
			    sizeof(step))
				_exit(4);
		}
		/* Not acknowledged. */
		append_span(st, &p, 3 * 1440 + 1, 4 * 1440, 0);
		if (point != NULL && strncmp(point, "rollup.", 7) == 0)
			(void)store_rollup_run(st, NOW, what, sizeof(what));
		raise(SIGKILL);
		_exit(3);
	}
	ck_assert_int_gt(pid, 0);
	close(fds[1]);
	while (read(fds[0], &step, sizeof(step)) == sizeof(step))
		acked = step;
	close(fds[0]);
	reap_killed(pid, point != NULL ? point : "after the appends");

	st = open_ok(&o);
	/* What a run recomputes after the kill matches the raw data. */
	rollup_ok(st, NOW);
	for (tier = STORE_TIER_5M; tier <= STORE_TIER_1H; tier++) {
		check_raw(st, series_id(st, "paused"), tier, 0,
		    tier == STORE_TIER_5M ? 9 * DAY : 7 * DAY);
		check_raw(st, series_id(st, "steady"), tier, 0,
		    tier == STORE_TIER_5M ? 9 * DAY : 7 * DAY);
	}
	/*
	 * Acknowledged samples: the tiers are exactly the model's, up to
	 * where unacknowledged samples may have come (the backfill past
	 * day 3); the others are as the raw data says.
	 */
	if (acked >= 0) {
		p.sp[0].hi = 3 * 1440;
		check_model(st, &p, STORE_TIER_5M, 0, 3 * DAY);
	}
	for (i = 0; i < NFRESH; i++) {
		if (i < acked) {
			model_span(&f[i], (i % 5) * 1440 + 7,
			    (i % 5) * 1440 + 100);
			check_all(st, &f[i]);
		} else if ((id = series_id(st, f[i].name)) != 0) {
			check_raw(st, id, STORE_TIER_5M, 0, 9 * DAY);
			check_raw(st, id, STORE_TIER_1H, 0, 7 * DAY);
		}
	}
	ck_assert_int_ge(acked, point == NULL ||
	    strncmp(point, "rollup.", 7) == 0 ? NFRESH : 0);
	check_all(st, &s);
	close_ok(st);
	tmpdir_free(dir);
}

START_TEST(test_late_kill_after_appends)
{
	late_kill(NULL, 0);
}
END_TEST

/* Killed after the first batch of recomputed blocks committed. */
START_TEST(test_late_kill_in_redo)
{
	late_kill("rollup.redo", 1);
}
END_TEST

/* Killed once the marks of the backfill are on disk, not its samples. */
START_TEST(test_late_kill_after_marks)
{
	late_kill("flush.marks", 3);
}
END_TEST

/*
 * Samples older than where the tiers started, before the 1h tier's
 * first run: its first run starts where the 5m tier started, so the 1h
 * buckets of the backfill are recomputed on their own.
 */
START_TEST(test_late_before_start)
{
	struct store_opts	 o;
	struct store		*st;
	struct store_stats	 ss;
	struct model		 s, old;
	char			*dir = tmpdir_new();

	test_opts(&o, dir);
	st = open_ok(&o);
	model_init(&s, "steady", 0);
	append_span(st, &s, 10 * 1440, 12 * 1440 + 20, 0);
	flush_ok(st);
	rollup_ok(st, 12 * DAY + 10 * MIN);
	store_stats(st, &ss);
	ck_assert_int_eq(ss.rollup_done[STORE_TIER_5M], 12 * DAY);
	ck_assert_int_eq(ss.rollup_done[STORE_TIER_1H], INT64_MIN);

	model_init(&old, "old", 1);
	append_span(st, &old, 1440 + 30, 1440 + 90, 1);
	rollup_ok(st, 12 * DAY + 10 * MIN);
	check_model(st, &old, STORE_TIER_5M, 0, 12 * DAY);
	check_model(st, &old, STORE_TIER_1H, 0, 7 * DAY);
	/* The 1h tier's first run, from day 7 on. */
	append_span(st, &s, 12 * 1440 + 21, 15 * 1440, 0);
	flush_ok(st);
	rollup_ok(st, 15 * DAY + 10 * MIN);
	store_stats(st, &ss);
	ck_assert_int_eq(ss.rollup_done[STORE_TIER_1H], 14 * DAY);
	check_model(st, &old, STORE_TIER_1H, 0, 14 * DAY);
	check_model(st, &s, STORE_TIER_1H, 0, 14 * DAY);
	check_model(st, &s, STORE_TIER_5M, 0, 15 * DAY);
	close_ok(st);
	tmpdir_free(dir);
}
END_TEST

/*
 * A regular run reads samples still in memory: it writes them before its
 * blocks, so a kill right after a batch of blocks leaves no bucket that
 * counts a sample the raw data lost.
 */
START_TEST(test_rollup_kill_unflushed)
{
	struct store_opts	 o;
	struct store		*st;
	struct model		 s, n;
	struct killer		 k = { "rollup.batch", 2, 0, 0, 0 };
	char			 err[256];
	char			*dir = tmpdir_new();
	pid_t			 pid;

	test_opts(&o, dir);
	st = open_ok(&o);
	steady(st, &s);
	close_ok(st);
	if ((pid = fork()) == 0) {
		o.fault = killer_hook;
		o.fault_arg = &k;
		if ((st = store_open(&o, err, sizeof(err))) == NULL)
			_exit(2);
		/* Day 9, not late, not flushed; then the run of day 9. */
		model_init(&n, "next", 1);
		append_span(st, &n, 9 * 1440, 9 * 1440 + 100, 0);
		(void)store_rollup_run(st, 10 * DAY + 10 * MIN, err,
		    sizeof(err));
		_exit(3);
	}
	ck_assert_int_gt(pid, 0);
	reap_killed(pid, "rollup.batch");
	st = open_ok(&o);
	/* The samples the blocks count are on disk. */
	ck_assert_uint_ne(series_id(st, "next"), 0);
	check_raw(st, series_id(st, "next"), STORE_TIER_5M, 9 * DAY,
	    10 * DAY);
	model_init(&n, "next", 1);
	model_span(&n, 9 * 1440, 9 * 1440 + 100);
	check_model(st, &n, STORE_TIER_5M, 9 * DAY, 10 * DAY);
	close_ok(st);
	tmpdir_free(dir);
}
END_TEST

/*
 * Backfill and rollup runs at once: one thread appends late samples to
 * twenty series, half of them synchronously, while another runs rollups
 * in a loop; marks made while a batch is recomputed must survive it.  At
 * the end one more run makes every tier exactly the model.
 */
#define NBF	20
#define BF_MIN	600		/* minutes backfilled per series */

struct runner {
	struct store	*st;
	atomic_int	 stop;
	int		 runs, fails;
};

static void *
run_rollups(void *arg)
{
	struct runner	*r = arg;
	char		 err[256];

	while (!atomic_load(&r->stop)) {
		if (store_rollup_run(r->st, NOW, err, sizeof(err)) != 0)
			r->fails++;
		r->runs++;
	}
	return NULL;
}

START_TEST(test_late_concurrent)
{
	struct store_opts	 o;
	struct store		*st;
	struct model		 s, m[NBF];
	struct runner		 r;
	struct batch		*b = batch_new();
	pthread_t		 th;
	char			*dir = tmpdir_new(), name[32], err[256];
	int64_t			 i;
	int			 k;

	test_opts(&o, dir);
	st = open_ok(&o);
	steady(st, &s);
	for (k = 0; k < NBF; k++) {
		snprintf(name, sizeof(name), "bf%02d", k);
		model_init(&m[k], name, 10 + k);
		/* Into days 1 and 2, across their boundary. */
		model_span(&m[k], 2 * 1440 - BF_MIN / 2 + k,
		    2 * 1440 + BF_MIN / 2 + k - 1);
	}
	memset(&r, 0, sizeof(r));
	r.st = st;
	ck_assert_int_eq(pthread_create(&th, NULL, run_rollups, &r), 0);
	for (i = 0; i < BF_MIN; i++) {
		for (k = 0; k < NBF; k++)
			batch_addl(b, m[k].name, (m[k].sp[0].lo + i) * MIN,
			    val(m[k].k, m[k].sp[0].lo + i), "job", "d", NULL);
		if (i % 2 == 0)
			ck_assert_msg(store_append_batch_sync(st, b, NULL, err,
			    sizeof(err)) == 0, "append: %s", err);
		else
			ck_assert_int_eq(store_append_batch(st, b, NULL), 0);
		batch_reset(b);
	}
	atomic_store(&r.stop, 1);
	pthread_join(th, NULL);
	batch_free(b);
	ck_assert_int_eq(r.fails, 0);
	ck_assert_int_gt(r.runs, 0);
	rollup_ok(st, NOW);
	for (k = 0; k < NBF; k++)
		check_all(st, &m[k]);
	check_all(st, &s);
	close_ok(st);
	tmpdir_free(dir);
}
END_TEST

struct garbage {
	uint64_t	id;
	int64_t		block;
};

static int
put_garbage(struct kv_txn *txn, void *arg)
{
	struct garbage	*g = arg;
	uint8_t		 key[KEY_ROLLUP_LEN];

	key_rollup(key, STORE_TIER_5M, g->id, g->block);
	return kv_put(txn, KV_DB_ROLLUP, key, sizeof(key), "R\1\5junk", 7);
}

/*
 * A 5m block that no longer decodes, under a mark: the run replaces it
 * with the buckets it recomputes, says so, and goes on (stopping would
 * hold the mark, and the raw data it keeps, for good).
 */
START_TEST(test_late_damaged_block)
{
	struct store_opts	 o;
	struct store		*st;
	struct store_stats	 ss;
	struct model		 s, p, only;
	struct kv_opts		 ko;
	struct kv		*kv;
	struct garbage		 g;
	char			*dir = tmpdir_new(), err[256], want[160];

	test_opts(&o, dir);
	st = open_ok(&o);
	model_init(&p, "paused", 2);
	append_span(st, &p, 2 * 1440, 2 * 1440 + 30, 0);
	steady(st, &s);
	g.id = series_id(st, "paused");
	g.block = 2 * DAY;
	close_ok(st);

	memset(&ko, 0, sizeof(ko));
	ko.dir = dir;
	ko.map_max = o.map_size_max;
	ck_assert_ptr_nonnull(kv = kv_open(&ko, err, sizeof(err)));
	ck_assert_int_eq(kv_write(kv, put_garbage, &g, err, sizeof(err)), 0);
	kv_close(kv);

	st = open_ok(&o);
	append_span(st, &p, 2 * 1440 + 31, 2 * 1440 + 40, 1);
	rollup_ok(st, NOW);
	store_stats(st, &ss);
	snprintf(want, sizeof(want), "rollup: damaged block of series %llu "
	    "at %lld replaced: ", (unsigned long long)g.id,
	    (long long)(2 * DAY));
	ck_assert_msg(strncmp(ss.last_error, want, strlen(want)) == 0,
	    "last error: %s", ss.last_error);
	/* The block holds the recomputed buckets (minutes 30 to 40) only. */
	model_init(&only, "paused", 2);
	model_span(&only, 2 * 1440 + 30, 2 * 1440 + 40);
	check_model(st, &only, STORE_TIER_5M, 0, 9 * DAY);
	close_ok(st);
	tmpdir_free(dir);
}
END_TEST

/*
 * Retention keeps the raw chunks a marked bucket needs: the bucket at
 * 6d 10m, rolled up with three samples, gets two more; retention at a
 * time whose cutoff is past the bucket runs before the rollup; the run
 * then finds all five.
 */
START_TEST(test_late_retention)
{
	struct store_opts	 o;
	struct store		*st;
	struct model		 s, p;
	struct store_iter	*it;
	struct store_agg	 a;
	char			*dir = tmpdir_new();
	int64_t			 t, later = 9 * DAY + 30 * MIN;
	uint64_t		 id;
	double			 v;
	int			 n;

	test_opts(&o, dir);
	o.retention_ms = 3 * DAY;
	st = open_ok(&o);
	model_init(&p, "paused", 2);
	append_span(st, &p, 6 * 1440 + 10, 6 * 1440 + 12, 0);
	steady(st, &s);
	retention_ok(st, NOW);
	append_span(st, &p, 6 * 1440 + 13, 6 * 1440 + 14, 1);
	id = series_id(st, "paused");
	retention_ok(st, later);
	/* The raw samples of the bucket are all still there. */
	it = store_iter_new(st, id, INT64_MIN, INT64_MAX, STORE_TIER_RAW);
	for (n = 0; store_iter_next(it, &t, &v) == 1; n++)
		ck_assert_int_eq(t, 6 * DAY + (10 + n) * MIN);
	ck_assert_int_eq(n, 5);
	store_iter_free(it);
	rollup_ok(st, later);
	it = store_iter_new(st, id, 0, INT64_MAX, STORE_TIER_5M);
	ck_assert_int_eq(store_iter_next_agg(it, &t, &a), 1);
	ck_assert_int_eq(t, 6 * DAY + 10 * MIN);
	ck_assert(a.count == 5);
	ck_assert_int_eq(store_iter_next_agg(it, &t, &a), 0);
	store_iter_free(it);
	check_model(st, &p, STORE_TIER_5M, 0, 9 * DAY);
	/* With the bucket done, the raw chunks age out; the tier stays. */
	retention_ok(st, later);
	it = store_iter_new(st, id, INT64_MIN, INT64_MAX, STORE_TIER_RAW);
	ck_assert_int_eq(store_iter_next(it, &t, &v), 0);
	store_iter_free(it);
	check_model_id(st, id, &p, STORE_TIER_5M, 0, 9 * DAY);
	close_ok(st);
	tmpdir_free(dir);
}
END_TEST

/*
 * Flushes killed or failed at each of their transactions.  NSER series
 * (more than one segment-and-tail transaction of 128) whose chunks seal
 * every 24 samples, written 10 samples a round, so that most flushes
 * seal chunks and write segments and tails; one series in ten is late
 * for the 5m tier, so the marks are written too.
 */
#define NSER		300
#define ROUND		10

static void
flush_round(struct store *st, int r, int sync, int *ok)
{
	struct batch	*b = batch_new();
	char		 name[32], err[256];
	int		 k, j;
	int64_t		 t;

	for (k = 0; k < NSER; k++) {
		snprintf(name, sizeof(name), "s%03d", k);
		for (j = 0; j < ROUND; j++) {
			t = (int64_t)(r * ROUND + j) * 1000;
			/* Late ones sit a day back. */
			if (k % 10 == 0)
				t += 9 * DAY;
			else
				t += 11 * DAY;
			batch_addl(b, name, t, val(k, r * ROUND + j), "job",
			    "f", NULL);
		}
	}
	*ok = sync ? store_append_batch_sync(st, b, NULL, err,
	    sizeof(err)) == 0 : store_append_batch(st, b, NULL) == 0;
	batch_free(b);
}

/* Also moves the 5m watermark to 10d: the late series are below it. */
static void
flush_opts(struct store_opts *o, const char *dir)
{
	struct store	*st;
	struct batch	*b = batch_new();

	test_opts(o, dir);
	o->chunk_max_samples = 24;
	o->head_segment_samples = 8;
	st = open_ok(o);
	batch_addl(b, "seed", 9 * DAY, 1, "job", "f", NULL);
	batch_addl(b, "seed", 10 * DAY + B1H, 1, "job", "f", NULL);
	ck_assert_int_eq(store_append_batch(st, b, NULL), 0);
	batch_free(b);
	flush_ok(st);
	rollup_ok(st, 10 * DAY + 10 * MIN);
	close_ok(st);
}

/* Every series holds rounds [0, rounds) exactly once, nothing more. */
static void
check_rounds(struct store *st, int rounds, int maybe)
{
	struct store_iter	*it;
	char			 name[32];
	int64_t			 t, want, base;
	double			 v;
	int			 k, n, rc;

	for (k = 0; k < NSER; k++) {
		snprintf(name, sizeof(name), "s%03d", k);
		base = k % 10 == 0 ? 9 * DAY : 11 * DAY;
		it = store_iter_new(st, series_id(st, name), INT64_MIN,
		    INT64_MAX, STORE_TIER_RAW);
		for (n = 0; (rc = store_iter_next(it, &t, &v)) == 1; n++) {
			want = base + (int64_t)n * 1000;
			ck_assert_msg(t == want && v == val(k, n),
			    "%s: sample %d at %lld (%g), want %lld (%g)", name,
			    n, (long long)t, v, (long long)want, val(k, n));
		}
		ck_assert_msg(rc == 0, "%s: %s", name, store_iter_error(it));
		store_iter_free(it);
		/*
		 * Of the round a kill interrupted, a series has none or all,
		 * or the part of it sealed in a chunk: the sealing committed,
		 * its open chunk was as of the last flush.
		 */
		ck_assert_msg(n == rounds * ROUND || (maybe &&
		    n > rounds * ROUND && n <= (rounds + 1) * ROUND),
		    "%s: %d samples, want %d%s", name, n, rounds * ROUND,
		    maybe ? " to one round more" : "");
	}
}

/*
 * The child runs rounds (sync, then plain appends with a flush) until
 * the hook kills it at POINT's Nth passage; it reports each round it
 * acknowledged through a pipe.
 */
static void
flush_kill(const char *point, int at)
{
	struct store_opts	 o;
	struct store		*st;
	struct killer		 k = { point, at, 0, 0, 1 };
	char			*dir = tmpdir_new(), err[256];
	pid_t			 pid;
	int			 fds[2], r, ok, acked = 0, got;

	flush_opts(&o, dir);
	ck_assert_int_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		o.fault = killer_hook;
		o.fault_arg = &k;
		if ((st = store_open(&o, err, sizeof(err))) == NULL)
			_exit(2);
		for (r = 0; r < 200; r++) {
			/* Counted from the fourth round: flushes seal
			 * chunks from the third. */
			k.wait = r < 3;
			if (r % 2 == 0)
				flush_round(st, r, 1, &ok);
			else {
				flush_round(st, r, 0, &ok);
				ok = ok && store_flush(st, err,
				    sizeof(err)) == 0;
			}
			if (!ok)
				_exit(3);
			got = r + 1;
			if (write(fds[1], &got, sizeof(got)) != sizeof(got))
				_exit(4);
		}
		_exit(5);
	}
	ck_assert_int_gt(pid, 0);
	close(fds[1]);
	while (read(fds[0], &got, sizeof(got)) == sizeof(got))
		acked = got;
	close(fds[0]);
	reap_killed(pid, point);
	ck_assert_msg(acked >= 3, "%s %d: killed in round %d", point, at,
	    acked);

	st = open_ok(&o);
	check_rounds(st, acked, 1);
	/* The late series' buckets are rolled up from what is there. */
	rollup_ok(st, 11 * DAY + 10 * MIN);
	for (r = 0; r < NSER; r += 10) {
		char name[32];

		snprintf(name, sizeof(name), "s%03d", r);
		check_raw(st, series_id(st, name), STORE_TIER_5M, 9 * DAY,
		    10 * DAY);
	}
	close_ok(st);
	tmpdir_free(dir);
}

START_TEST(test_flush_kill)
{
	static const char *points[] = { "flush.marks", "flush.sealed",
	    "flush.head" };
	static const int at[] = { 1, 2, 3, 4, 5 };
	size_t i, j;

	/* A round's flush makes about five segment-and-tail transactions:
	 * the first, middle and last are hit. */
	for (i = 0; i < sizeof(points) / sizeof(points[0]); i++)
		for (j = 0; j < sizeof(at) / sizeof(at[0]); j++)
			flush_kill(points[i], at[j]);
}
END_TEST

/*
 * A flush that fails at a point (as a full disk would) keeps the rest in
 * memory; the next one writes it; nothing is lost or doubled, in the
 * process and after a reopen.
 */
START_TEST(test_flush_fail)
{
	static const char *points[] = { "flush.marks", "flush.sealed",
	    "flush.head" };
	struct store_opts	 o;
	struct store		*st;
	struct store_stats	 ss;
	struct killer		 k;
	char			 err[256], want[64];
	char			*dir;
	size_t			 i;
	int			 r, ok;

	for (i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		dir = tmpdir_new();
		flush_opts(&o, dir);
		memset(&k, 0, sizeof(k));
		k.fail = 1;
		o.fault = killer_hook;
		o.fault_arg = &k;
		st = open_ok(&o);
		for (r = 0; r < 4; r++) {
			flush_round(st, r, 0, &ok);
			ck_assert(ok);
			if (r == 2) {
				k.point = points[i];
				/* The second of three segment-and-tail
				 * transactions; the only one of the others. */
				k.at = i == 2 ? 2 : 1;
				k.seen = 0;
				ck_assert_int_eq(store_flush(st, err,
				    sizeof(err)), -1);
				snprintf(want, sizeof(want), "fault injected "
				    "at %s", points[i]);
				ck_assert_str_eq(err, want);
				store_stats(st, &ss);
				ck_assert_str_eq(ss.last_error, want);
				k.point = NULL;
			}
			flush_ok(st);
		}
		check_rounds(st, 4, 0);
		close_ok(st);
		st = open_ok(&o);
		check_rounds(st, 4, 0);
		close_ok(st);
		tmpdir_free(dir);
	}
}
END_TEST

static Suite *
durable_suite(void)
{
	Suite	*s = suite_create("durable");
	TCase	*tc = tcase_create("durable");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_late_new_series);
	tcase_add_test(tc, test_late_merge);
	tcase_add_test(tc, test_late_restart);
	tcase_add_test(tc, test_late_close_flushes);
	tcase_add_test(tc, test_late_kill_after_appends);
	tcase_add_test(tc, test_late_kill_in_redo);
	tcase_add_test(tc, test_late_kill_after_marks);
	tcase_add_test(tc, test_late_before_start);
	tcase_add_test(tc, test_late_damaged_block);
	tcase_add_test(tc, test_rollup_kill_unflushed);
	tcase_add_test(tc, test_late_concurrent);
	tcase_add_test(tc, test_late_retention);
	tcase_add_test(tc, test_flush_kill);
	tcase_add_test(tc, test_flush_fail);
	suite_add_tcase(s, tc);
	return s;
}

TCHECK_MAIN(durable_suite)
