/*
 * tiers: reading a series across its raw samples and its rollup tiers,
 * for queries over ranges older than the raw retention (store.h,
 * "Reading across tiers").
 *
 * Raw data is deleted oldest first and whole chunks at a time, so what
 * is left of a series is everything from its oldest raw sample on (the
 * series' mint, kept in memory).  Before that the tiers hold what
 * retention took: the 5m tier back to its oldest block, the 1h tier
 * before that.  A store_titer is a raw store_iter plus the bucket points
 * in front of it, read whole at creation (a day of 5m buckets is 288
 * points, so even a year of them is small next to the raw samples they
 * replace).  Only a query reaching back before a series' oldest raw
 * sample and before the raw cutoff reads the tiers: a bucket stands in for
 * deleted samples, so it starts before the cutoff of a retention run.
 * Otherwise this costs one lookup of the mint.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "kv.h"
#include "store_int.h"
#include "xmalloc.h"

struct store_titer {
	struct store_iter	*raw;
	struct rollup_point	*pts;
	size_t			 npts, cap, pi;
	size_t			 nhour;		/* 1h buckets, the first */
	char			 err[192];
};

/* A - B, clamped to the int64_t range (B >= 0). */
static int64_t
sat_sub(int64_t a, int64_t b)
{
	return a < INT64_MIN + b ? INT64_MIN : a - b;
}

/* The time of series ID's oldest raw sample, INT64_MAX when none. */
static int64_t
series_mint(struct store *st, uint64_t id)
{
	struct series	*s;
	int64_t		 m = INT64_MAX;

	pthread_rwlock_rdlock(&st->ilock);
	if ((s = series_find_id(&st->idx, id)) != NULL) {
		pthread_mutex_lock(store_stripe(st, id));
		m = s->mint;
		pthread_mutex_unlock(store_stripe(st, id));
	}
	pthread_rwlock_unlock(&st->ilock);
	return m;
}

/* The start of series ID's oldest block of TIER (INT64_MAX: none). */
static int
oldest_block(struct kv_txn *txn, int tier, uint64_t id, int64_t *start)
{
	struct kv_cursor	*cur;
	struct kv_val		 k, v;
	uint8_t			 key[KEY_ROLLUP_LEN];
	int			 rc;

	*start = INT64_MAX;
	if ((rc = kv_cursor_open(txn, KV_DB_ROLLUP, &cur)) < 0)
		return rc;
	key_rollup(key, tier, id, INT64_MIN);
	k.data = key;
	k.len = sizeof(key);
	rc = kv_cursor_get(cur, KV_SET_RANGE, &k, &v);
	if (rc == 0 && k.len == KEY_ROLLUP_LEN &&
	    memcmp(k.data, key, 9) == 0)
		*start = key_get_time((const uint8_t *)k.data + 9);
	kv_cursor_close(cur);
	return rc == KV_NOTFOUND ? 0 : rc;
}

/*
 * Where the buckets of TIER end at the latest for series ID whose oldest
 * raw sample is at MINT: the 5m tier reaches up to the raw data, the 1h
 * tier up to the 5m tier's oldest block.  -1 with ERR set on a read
 * failure.
 */
static int
tier_limit(struct store *st, int tier, uint64_t id, int64_t mint,
    int64_t *lim, char *err, size_t errlen)
{
	struct kv_txn	*txn;
	int64_t		 first;
	int		 rc;

	*lim = mint;
	if (tier != STORE_TIER_1H || !rollup_tier_on(st, STORE_TIER_5M))
		return 0;
	if (kv_read_begin(st->kv, &txn, err, errlen) < 0)
		return -1;
	if ((rc = oldest_block(txn, STORE_TIER_5M, id, &first)) < 0)
		snprintf(err, errlen, "series %llu: %s",
		    (unsigned long long)id, kv_txn_error(txn));
	kv_read_end(txn);
	if (rc < 0)
		return -1;
	if (first < *lim)
		*lim = first;
	return 0;
}

/*
 * Append the buckets of TIER whose point (start + width - 1) falls in
 * [t0, t1] and that end at or before LIM (INT64_MAX: no limit) and start
 * before CUT.
 */
static int
tier_add(struct store *st, struct store_titer *it, uint64_t id, int tier,
    int64_t t0, int64_t t1, int64_t lim, int64_t cut)
{
	struct store_iter	*ti;
	struct store_agg	 a;
	int64_t			 w = rollup_bucket(tier), lo, hi, t;
	int			 rc;

	lo = sat_sub(t0, w - 1);
	hi = sat_sub(t1, w - 1);
	if (lim != INT64_MAX && sat_sub(lim, w) < hi)
		hi = sat_sub(lim, w);
	if (cut - 1 < hi)
		hi = cut - 1;
	if (lo > hi)
		return 0;
	ti = store_iter_new(st, id, lo, hi, tier);
	while ((rc = store_iter_next_agg(ti, &t, &a)) == 1) {
		if (it->npts == it->cap) {
			it->cap = it->cap ? it->cap * 2 : 64;
			it->pts = xreallocarray(it->pts, it->cap,
			    sizeof(*it->pts));
		}
		it->pts[it->npts].t = t + (w - 1);
		it->pts[it->npts++].a = a;
	}
	if (rc < 0)
		snprintf(it->err, sizeof(it->err), "%s",
		    store_iter_error(ti));
	store_iter_free(ti);
	return rc;
}

struct store_titer *
store_titer_new(struct store *st, uint64_t id, int64_t t0, int64_t t1)
{
	return store_titer_new_cols(st, id, t0, t1, NULL);
}

struct store_titer *
store_titer_new_cols(struct store *st, uint64_t id, int64_t t0, int64_t t1,
    struct store_cols *cols)
{
	struct store_titer	*it = xcalloc(1, sizeof(*it));
	int64_t			 mint, cut, lim;

	/*
	 * The mint before the raw samples are copied: retention running in
	 * between only makes a gap, never a bucket after a raw sample.  The
	 * cutoff after the mint: every raw sample deleted before the mint was
	 * read is older than it (and it only grows).
	 */
	mint = series_mint(st, id);
	cut = store_raw_cutoff(st);
	it->raw = store_iter_new_cols(st, id, t0, t1, STORE_TIER_RAW, cols);
	/*
	 * A bucket starts before the cutoff, so none has its point at t0 or
	 * later past store_tier_end: a range that starts after it (a query
	 * over recent data once retention has run) has no bucket to find,
	 * and needs no transaction to look for one (tier_limit's).
	 */
	if (t0 > t1 || t0 >= mint || cut == INT64_MIN ||
	    t0 > cut - 1 + rollup_bucket(STORE_TIER_1H) - 1)
		return it;
	/* The older tier first: its buckets all come before the other's. */
	if (rollup_tier_on(st, STORE_TIER_1H) &&
	    (tier_limit(st, STORE_TIER_1H, id, mint, &lim, it->err,
	    sizeof(it->err)) < 0 ||
	    tier_add(st, it, id, STORE_TIER_1H, t0, t1, lim, cut) < 0))
		return it;
	it->nhour = it->npts;
	if (rollup_tier_on(st, STORE_TIER_5M))
		tier_add(st, it, id, STORE_TIER_5M, t0, t1, mint, cut);
	return it;
}

size_t
store_titer_ntier(const struct store_titer *it)
{
	return it->npts;
}

size_t
store_titer_nhour(const struct store_titer *it)
{
	return it->nhour;
}

int64_t
store_tier_width(enum store_tier tier)
{
	return rollup_bucket(tier);
}

int64_t
store_tier_end(struct store *st)
{
	int64_t cut = store_raw_cutoff(st);

	/* A bucket starts before the cutoff: its point is at most a
	   widest bucket's width - 1 after the cutoff's millisecond. */
	if (cut == INT64_MIN)
		return INT64_MIN;
	return cut - 1 + rollup_bucket(STORE_TIER_1H) - 1;
}

int
store_titer_read(struct store_titer *it, int64_t *t, double *v,
    struct store_agg *a, size_t max)
{
	size_t	k, n;

	if (it->err[0] != '\0')
		return -1;
	if (it->pi == it->npts)
		return store_iter_read(it->raw, t, v, max);
	n = it->npts - it->pi;
	if (n > max)
		n = max;
	if (n > INT32_MAX)
		n = INT32_MAX;
	for (k = 0; k < n; k++) {
		const struct rollup_point *p = &it->pts[it->pi + k];

		t[k] = p->t;
		v[k] = p->a.last;
		if (a != NULL)
			a[k] = p->a;
	}
	it->pi += n;
	return (int)n;
}

const char *
store_titer_error(const struct store_titer *it)
{
	return it->err[0] != '\0' ? it->err : store_iter_error(it->raw);
}

void
store_titer_free(struct store_titer *it)
{
	if (it == NULL)
		return;
	store_iter_free(it->raw);
	free(it->pts);
	free(it);
}
