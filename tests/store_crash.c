/*
 * store_crash: kill -9 a process in the middle of appends and flushes,
 * many times, and check what the store keeps.
 *
 * Each round forks a child that opens the store and appends forever to a
 * set of series that live across rounds plus a few new ones of its own,
 * alternating synchronous appends with plain appends and flushes.  After
 * every append_sync or flush that returned 0 the child reports through a
 * pipe the newest time it covers.  The parent kills the child with
 * SIGKILL at a random moment, then opens the store itself and checks, for
 * every round so far, that every reported sample is there, that what is
 * there has no hole and the right values, and that reading finds no
 * damage.  Output is TAP, one case per round.  STORE_CRASH_SEED replays a
 * run; STORE_CRASH_ROUNDS changes the count (default 40).
 *
 * The rollup tiers are on and the child runs rollups now and then; from
 * the second round on it also backfills a series into the previous
 * round's time range, below the 5m watermark, so kills land in regular
 * runs, in the marks of late samples and in their recomputation too.  The
 * check runs a rollup as the next child would and compares both tiers,
 * bucket by bucket, with the raw samples kept.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sample.h"
#include "tmpdir.h"
#include "storage/store.h"

#define NFIXED		16	/* series appended to in every round */
#define NROUND		4	/* series new in each round */
#define STEP		1000	/* ms between samples */
#define ROUND_SPAN	1000000000LL
#define MAX_ROUNDS	200

struct ack {
	int64_t	t;	/* every sample at or before t is acknowledged */
};

static double
value_of(int k, int64_t t)
{
	return (double)(((int64_t)k * 1000003 + t / STEP) % 1000) / 4;
}

static void
opts_for(struct store_opts *o, const char *dir)
{
	store_opts_default(o);
	o->dir = dir;
	o->flush_interval_ms = 0;
	o->retention_ms = 0;
	o->retention_5m_ms = 1000LL * ROUND_SPAN;
	o->retention_1h_ms = 1000LL * ROUND_SPAN;
	o->chunk_max_samples = 32;
	/* Four segments a chunk: killed while segments are written, merged
	 * and deleted too. */
	o->head_segment_samples = 8;
	o->map_size_initial = 1 << 20;	/* grow the map under fire too */
	o->map_size_max = 1ULL << 30;
}

static void
add_step(struct batch *b, int round, int64_t t)
{
	char	name[32];
	int	k;

	for (k = 0; k < NFIXED; k++) {
		snprintf(name, sizeof(name), "%d", k);
		batch_addl(b, "crash_fixed", t, value_of(k, t), "k", name,
		    NULL);
	}
	for (k = 0; k < NROUND; k++) {
		snprintf(name, sizeof(name), "%d", round * NROUND + k);
		batch_addl(b, "crash_round", t, value_of(round * NROUND + k,
		    t), "k", name, NULL);
	}
	/* Late: the previous round's range, rolled up by now. */
	if (round > 0) {
		snprintf(name, sizeof(name), "%d", round);
		batch_addl(b, "crash_late", t - ROUND_SPAN, value_of(round,
		    t - ROUND_SPAN), "k", name, NULL);
	}
}

static void
child(const char *dir, int round, int fd)
{
	struct store_opts	 o;
	struct store		*st;
	struct batch		*b = batch_new();
	struct ack		 a;
	char			 err[256];
	int64_t			 t = round * ROUND_SPAN;
	unsigned		 n;
	int			 i, rc;

	opts_for(&o, dir);
	if ((st = store_open(&o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "child open: %s\n", err);
		_exit(2);
	}
	for (n = 0;; n++) {
		for (i = 0; i < 8; i++, t += STEP)
			add_step(b, round, t);
		if (n % 2 == 0)
			rc = store_append_batch_sync(st, b, NULL, err,
			    sizeof(err));
		else {
			rc = store_append_batch(st, b, NULL);
			if (rc == 0 && n % 3 == 1)
				rc = store_flush(st, err, sizeof(err));
			else if (rc == 0)
				rc = 1;		/* appended, not durable */
		}
		batch_reset(b);
		if (rc < 0) {
			fprintf(stderr, "child write: %s\n", err);
			_exit(3);
		}
		if (n % 16 == 3 && store_rollup_run(st, t, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "child rollup: %s\n", err);
			_exit(3);
		}
		if (rc == 0) {
			a.t = t - STEP;
			if (write(fd, &a, sizeof(a)) != sizeof(a))
				_exit(4);
		}
	}
}

/*
 * Series K of round R: samples from the round start with no hole, the
 * right values, at least up to ACKED.  Returns a message or NULL.
 */
static const char *
check_series(struct store *st, const char *name, int k, int round,
    int64_t acked, size_t *count, char *msg, size_t msglen)
{
	struct store_matcher	 m[2];
	struct store_set	*set;
	struct store_iter	*it;
	char			 kv[32], err[256];
	int64_t			 t, want = round * ROUND_SPAN;
	double			 v;
	int			 rc;

	snprintf(kv, sizeof(kv), "%d", k);
	m[0].name = "__name__";
	m[0].value = name;
	m[0].op = STORE_MATCH_EQ;
	m[1].name = "k";
	m[1].value = kv;
	m[1].op = STORE_MATCH_EQ;
	if (store_select(st, m, 2, INT64_MIN, INT64_MAX, STORE_TIER_RAW, &set,
	    err, sizeof(err)) != 0) {
		snprintf(msg, msglen, "select: %s", err);
		return msg;
	}
	if (store_set_len(set) == 0) {
		store_set_free(set);
		if (acked >= round * ROUND_SPAN) {
			snprintf(msg, msglen, "%s{k=%d} lost", name, k);
			return msg;
		}
		return NULL;
	}
	it = store_iter_new(st, store_set_id(set, 0), round * ROUND_SPAN,
	    (round + 1) * ROUND_SPAN - 1, STORE_TIER_RAW);
	store_set_free(set);
	while ((rc = store_iter_next(it, &t, &v)) == 1) {
		if (t != want || v != value_of(k, t)) {
			snprintf(msg, msglen, "%s{k=%d}: t=%lld v=%g, want "
			    "t=%lld v=%g", name, k, (long long)t, v,
			    (long long)want, value_of(k, want));
			store_iter_free(it);
			return msg;
		}
		want += STEP;
		(*count)++;
	}
	if (rc < 0) {
		snprintf(msg, msglen, "%s{k=%d}: %s", name, k,
		    store_iter_error(it));
		store_iter_free(it);
		return msg;
	}
	store_iter_free(it);
	if (want <= acked) {
		snprintf(msg, msglen, "%s{k=%d}: ends at %lld, %lld was "
		    "acknowledged", name, k, (long long)want - STEP,
		    (long long)acked);
		return msg;
	}
	return NULL;
}

struct agg {
	int64_t	b;
	double	min, max, sum, count, last;
};

/*
 * The buckets of TIER (of BSIZE ms) of series ID in [t0, t1) are those
 * the raw samples give.  Returns a message or NULL.
 */
static const char *
check_tier(struct store *st, uint64_t id, enum store_tier tier,
    int64_t bsize, int64_t t0, int64_t t1, char *msg, size_t msglen)
{
	static struct agg	 want[65536];
	struct store_iter	*it;
	struct store_agg	 a;
	size_t			 n = 0, k = 0;
	int64_t			 t, b;
	double			 v;
	uint64_t		 bits;
	int			 rc;

	if (t1 <= t0)
		return NULL;
	it = store_iter_new(st, id, t0, t1 - 1, STORE_TIER_RAW);
	while ((rc = store_iter_next(it, &t, &v)) == 1) {
		memcpy(&bits, &v, sizeof(bits));
		if (bits == STALE_NAN_BITS)
			continue;
		b = t - t % bsize;
		if (n > 0 && want[n - 1].b == b) {
			struct agg *w = &want[n - 1];

			w->min = v < w->min ? v : w->min;
			w->max = v > w->max ? v : w->max;
			w->sum += v;
			w->count++;
			w->last = v;
			continue;
		}
		if (n == sizeof(want) / sizeof(want[0]))
			break;
		want[n].b = b;
		want[n].min = want[n].max = want[n].sum = want[n].last = v;
		want[n++].count = 1;
	}
	store_iter_free(it);
	it = store_iter_new(st, id, t0, t1 - 1, tier);
	while ((rc = store_iter_next_agg(it, &t, &a)) == 1) {
		if (k == n || t != want[k].b || a.min != want[k].min ||
		    a.max != want[k].max || a.sum != want[k].sum ||
		    a.count != want[k].count || a.last != want[k].last) {
			if (k == n)
				snprintf(msg, msglen, "series %llu tier %d: "
				    "bucket %lld, the raw samples have none",
				    (unsigned long long)id, (int)tier,
				    (long long)t);
			else
				snprintf(msg, msglen, "series %llu tier %d: "
				    "bucket %lld is %g %g %g %g %g, the raw "
				    "samples make %lld: %g %g %g %g %g",
				    (unsigned long long)id, (int)tier,
				    (long long)t, a.min, a.max, a.sum, a.count,
				    a.last, (long long)want[k].b, want[k].min,
				    want[k].max, want[k].sum, want[k].count,
				    want[k].last);
			store_iter_free(it);
			return msg;
		}
		k++;
	}
	if (rc < 0) {
		snprintf(msg, msglen, "series %llu tier %d: %s",
		    (unsigned long long)id, (int)tier, store_iter_error(it));
		store_iter_free(it);
		return msg;
	}
	store_iter_free(it);
	if (k != n) {
		snprintf(msg, msglen, "series %llu tier %d: %zu buckets, the "
		    "raw samples make %zu", (unsigned long long)id, (int)tier,
		    k, n);
		return msg;
	}
	return NULL;
}

/* Both tiers of every series over the last two rounds. */
static const char *
check_tiers(struct store *st, int round, char *msg, size_t msglen)
{
	struct store_stats	 ss;
	struct store_set	*set;
	const char		*fail = NULL;
	char			 err[256];
	int64_t			 t0 = (round - 1) * ROUND_SPAN;
	size_t			 i;

	/* Whole buckets: rounds do not start on one. */
	t0 -= t0 % (7 * 86400000LL);

	/* As the next child's first run will. */
	if (store_rollup_run(st, (round + 1) * ROUND_SPAN - 1, err,
	    sizeof(err)) != 0) {
		snprintf(msg, msglen, "rollup: %s", err);
		return msg;
	}
	store_stats(st, &ss);
	if (store_select(st, NULL, 0, INT64_MIN, INT64_MAX, STORE_TIER_RAW,
	    &set, err, sizeof(err)) != 0) {
		snprintf(msg, msglen, "select: %s", err);
		return msg;
	}
	for (i = 0; i < store_set_len(set) && fail == NULL; i++) {
		fail = check_tier(st, store_set_id(set, i), STORE_TIER_5M,
		    300000, t0, ss.rollup_done[STORE_TIER_5M], msg, msglen);
		if (fail == NULL)
			fail = check_tier(st, store_set_id(set, i),
			    STORE_TIER_1H, 3600000, t0, ss.rollup_done[STORE_TIER_1H], msg, msglen);
	}
	store_set_free(set);
	return fail;
}

static const char *
verify(const char *dir, int rounds, const int64_t *acked, size_t *count,
    char *msg, size_t msglen)
{
	struct store_opts	 o;
	struct store		*st;
	const char		*fail = NULL;
	char			 err[256];
	int			 r, k;

	opts_for(&o, dir);
	if ((st = store_open(&o, err, sizeof(err))) == NULL) {
		snprintf(msg, msglen, "reopen: %s", err);
		return msg;
	}
	*count = 0;
	for (r = 0; r < rounds && fail == NULL; r++) {
		for (k = 0; k < NFIXED && fail == NULL; k++)
			fail = check_series(st, "crash_fixed", k, r, acked[r],
			    count, msg, msglen);
		for (k = 0; k < NROUND && fail == NULL; k++)
			fail = check_series(st, "crash_round", r * NROUND + k,
			    r, acked[r], count, msg, msglen);
		if (r > 0 && fail == NULL)
			fail = check_series(st, "crash_late", r, r - 1,
			    acked[r] == INT64_MIN ? INT64_MIN :
			    acked[r] - ROUND_SPAN, count, msg, msglen);
	}
	if (fail == NULL)
		fail = check_tiers(st, rounds - 1, msg, msglen);
	if (store_close(st, err, sizeof(err)) != 0 && fail == NULL) {
		snprintf(msg, msglen, "close: %s", err);
		fail = msg;
	}
	return fail;
}

int
main(void)
{
	char		 dir[] = "/tmp/store_crash.XXXXXX", msg[512];
	const char	*fail, *env;
	int64_t		 acked[MAX_ROUNDS];
	struct ack	 a;
	struct timespec	 ts;
	unsigned	 seed;
	size_t		 count;
	pid_t		 pid;
	int		 fds[2], rounds = 40, r, status, failed = 0;
	long		 delay_us;

	seed = (env = getenv("STORE_CRASH_SEED")) != NULL ?
	    (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
	if ((env = getenv("STORE_CRASH_ROUNDS")) != NULL)
		rounds = atoi(env);
	if (rounds < 1 || rounds > MAX_ROUNDS)
		rounds = 40;
	srandom(seed);
	if (mkdtemp(dir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	printf("1..%d\n# seed %u, store in %s\n", rounds, seed, dir);
	fflush(stdout);
	for (r = 0; r < rounds; r++) {
		acked[r] = INT64_MIN;
		if (pipe(fds) == -1 || (pid = fork()) == -1) {
			printf("Bail out! %s\n", strerror(errno));
			return 1;
		}
		if (pid == 0) {
			close(fds[0]);
			child(dir, r, fds[1]);
		}
		close(fds[1]);
		/* From right after the start to deep into the appends. */
		delay_us = 1000 + random() % 250000;
		ts.tv_sec = delay_us / 1000000;
		ts.tv_nsec = (delay_us % 1000000) * 1000;
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		while (read(fds[0], &a, sizeof(a)) == sizeof(a))
			acked[r] = a.t;
		close(fds[0]);
		if (!WIFSIGNALED(status)) {
			printf("not ok %d - round %d: the child exited (status "
			    "%d) before the kill\n", r + 1, r,
			    WEXITSTATUS(status));
			failed++;
			continue;
		}
		fail = verify(dir, r + 1, acked, &count, msg, sizeof(msg));
		if (fail != NULL) {
			printf("not ok %d - round %d (killed after %ld us): "
			    "%s\n", r + 1, r, delay_us, fail);
			failed++;
		} else
			printf("ok %d - round %d (killed after %ld us): "
			    "reopened clean, %zu samples present, last "
			    "acknowledged t=%lld\n", r + 1, r, delay_us, count,
			    acked[r] == INT64_MIN ? -1LL :
			    (long long)(acked[r] - r * ROUND_SPAN));
		fflush(stdout);
	}
	if (failed == 0)
		tmpdir_remove(dir);
	else
		printf("# store kept in %s\n", dir);
	return failed == 0 ? 0 : 1;
}
