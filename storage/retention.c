/*
 * retention: deleting data that aged out, and series left with none.
 *
 * Data goes in whole chunks and whole rollup blocks, never by rewriting
 * one.  A raw chunk goes when its newest sample is older than the raw
 * retention and, with the 5m tier on, already rolled up; a 5m block when
 * it ended before the 5m retention and, with the 1h tier on, was rolled
 * into it; a 1h block when it ended before the 1h retention.
 *
 * A run first trims the heads in memory (head_trim) and flushes, then
 * deletes on disk in batches of series, one transaction each, taking the
 * writer lock per batch so appends go on in between.  A series with
 * nothing left anywhere (no chunk, no block, no head, nothing waiting for
 * a flush) is removed from the index in the same transaction, which frees
 * its place under the series limits.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "keys.h"
#include "kv.h"
#include "meta.h"
#include "store_int.h"
#include "xmalloc.h"

#define RETENTION_BATCH		1024
#define RETENTION_KEYS		64	/* deletions collected per scan */

struct ret_result {
	struct series	*s;
	int64_t		 first_disk;	/* oldest remaining chunk */
	int		 gc;
};

struct ret_ctx {
	struct store		*st;
	int64_t			 cut[STORE_TIER_COUNT];
	struct ret_result	*r;
	size_t			 n;
	uint64_t		 chunks, blocks, removed;
};

/* Delete TIER's blocks of ID that ended before CUT; 1 if any is left. */
static int
trim_tier(struct kv_txn *txn, struct ret_ctx *c, int tier, uint64_t id,
    int64_t cut)
{
	struct kv_cursor	*cur;
	struct kv_val		 k, v;
	uint8_t			 key[KEY_ROLLUP_LEN];
	int64_t			 del[RETENTION_KEYS], start;
	int64_t			 span = rollup_span(tier);
	size_t			 nd, i;
	int			 rc, more, left;

	do {
		if ((rc = kv_cursor_open(txn, KV_DB_ROLLUP, &cur)) < 0)
			return rc;
		key_rollup(key, tier, id, INT64_MIN);
		k.data = key;
		k.len = sizeof(key);
		nd = 0;
		more = left = 0;
		for (rc = kv_cursor_get(cur, KV_SET_RANGE, &k, &v); rc == 0;
		    rc = kv_cursor_get(cur, KV_NEXT, &k, &v)) {
			if (k.len != KEY_ROLLUP_LEN || memcmp(k.data, key, 9))
				break;
			start = key_get_time((const uint8_t *)k.data + 9);
			if (cut < INT64_MIN + span || start > cut - span) {
				left = 1;
				break;
			}
			if (nd == RETENTION_KEYS) {
				more = 1;
				break;
			}
			del[nd++] = start;
		}
		kv_cursor_close(cur);
		if (rc < 0 && rc != KV_NOTFOUND)
			return rc;
		for (i = 0; i < nd; i++) {
			key_rollup(key, tier, id, del[i]);
			if ((rc = kv_del(txn, KV_DB_ROLLUP, key, sizeof(key),
			    NULL, 0)) < 0)
				return rc;
		}
		c->blocks += nd;
	} while (more);
	return left;
}

/* Whether TIER holds any block of ID (a tier switched off keeps its
 * blocks until it is switched on again and they age out). */
static int
tier_any(struct kv_txn *txn, int tier, uint64_t id)
{
	return rollup_has_data(txn, tier, id, INT64_MIN, INT64_MAX);
}

static int
retention_txn(struct kv_txn *txn, void *arg)
{
	struct ret_ctx		*c = arg;
	struct ret_result	*r;
	struct series		*s;
	size_t			 i;
	int			 tier, rc, left;

	c->chunks = c->blocks = c->removed = 0;
	for (i = 0; i < c->n; i++) {
		r = &c->r[i];
		s = r->s;
		r->gc = 0;
		if ((rc = chunkdb_trim(txn, s->id, c->cut[STORE_TIER_RAW],
		    &r->first_disk, &c->chunks)) < 0)
			return rc;
		left = 0;
		for (tier = STORE_TIER_5M; tier < STORE_TIER_COUNT; tier++) {
			if (rollup_tier_on(c->st, tier))
				rc = trim_tier(txn, c, tier, s->id,
				    c->cut[tier]);
			else
				rc = tier_any(txn, tier, s->id);
			if (rc < 0)
				return rc;
			left |= rc;
		}
		/* The writer lock is held: these fields are stable. */
		if (left || r->first_disk != INT64_MAX || s->dirty ||
		    s->open != NULL || s->closed != NULL)
			continue;
		if ((rc = series_delete(txn, s)) < 0)
			return rc;
		r->gc = 1;
		c->removed++;
	}
	return 0;
}

static void
retention_apply(struct store *st, struct ret_ctx *c)
{
	struct ret_result	*r;
	int64_t			 m;
	size_t			 i;

	pthread_rwlock_wrlock(&st->ilock);
	for (i = 0; i < c->n; i++)
		if (c->r[i].gc)
			series_remove(&st->idx, c->r[i].s);
	pthread_rwlock_unlock(&st->ilock);
	for (i = 0; i < c->n; i++) {
		r = &c->r[i];
		if (r->gc) {
			series_free(r->s);
			continue;
		}
		pthread_mutex_lock(store_stripe(st, r->s->id));
		m = head_mint_locked(r->s);
		r->s->mint = r->first_disk < m ? r->first_disk : m;
		pthread_mutex_unlock(store_stripe(st, r->s->id));
	}
	pthread_mutex_lock(&st->statlock);
	st->st.chunks_deleted += c->chunks;
	st->st.rollup_blocks_deleted += c->blocks;
	st->st.series_removed += c->removed;
	pthread_mutex_unlock(&st->statlock);
}

static int64_t
cutoff(int64_t now, int64_t keep)
{
	return keep > 0 && now > INT64_MIN + keep ? now - keep : INT64_MIN;
}

static int
save_cutoff(struct kv_txn *txn, void *arg)
{
	return meta_put_i64(txn, "cutoff", *(int64_t *)arg);
}

/* Trim heads and flush; the new too_old limit.  Writer lock held. */
static int
retention_heads(struct store *st, int64_t now, int64_t cut, char *err,
    size_t errlen)
{
	struct series	*s;
	int64_t		 idle, valid;
	size_t		 i;

	idle = now - st->opts.chunk_max_span_ms;
	for (i = 0; i < st->idx.nbuckets; i++)
		for (s = st->idx.byid[i]; s != NULL; s = s->inext)
			head_trim(st, s, cut, idle);
	if (store_flush_locked(st, err, errlen) != 0)
		return -1;
	valid = cutoff(now, st->opts.retention_ms);
	if (valid > st->min_valid_t) {
		if (kv_write(st->kv, save_cutoff, &valid, err, errlen) < 0)
			return -1;
		/* Before any chunk goes: readers take it as a bound. */
		__atomic_store_n(&st->min_valid_t, valid, __ATOMIC_RELEASE);
	}
	return 0;
}

struct col_ctx {
	int64_t		cut;
	uint64_t	deleted;
};

static int
columns_txn(struct kv_txn *txn, void *arg)
{
	struct col_ctx *cc = arg;

	uint64_t groups = 0;

	cc->deleted = 0;
	return chunkdb_trim_groups(txn, cc->cut, &groups, &cc->deleted);
}

/* Groups of chunks and timestamp columns go with the last chunks using
 * them, whose references every batch above has deleted by now. */
static int
trim_groups(struct store *st, int64_t cut, char *err, size_t errlen)
{
	struct col_ctx	cc = { cut, 0 };
	int		rc;

	pthread_mutex_lock(&st->wlock);
	rc = kv_write(st->kv, columns_txn, &cc, err, errlen);
	pthread_mutex_unlock(&st->wlock);
	if (rc < 0) {
		store_set_error(st, 0, err);
		return -1;
	}
	pthread_mutex_lock(&st->statlock);
	st->st.columns_deleted += cc.deleted;
	pthread_mutex_unlock(&st->statlock);
	return 0;
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * What may go at NOW.  Marked buckets (late samples, rollup.c) are
 * recomputed from the tier below: it keeps what they need.  With the 5m
 * tier on, the raw cut is also a 5m bucket boundary, so that a bucket
 * with a sample accepted after this run (at or after the new too_old
 * limit) has lost none of its raw chunks.  Writer lock held.
 */
static int
retention_cuts(struct store *st, int64_t now, int64_t *cut, char *err,
    size_t errlen)
{
	int64_t	m5 = INT64_MAX, m1 = INT64_MAX;

	if (rollup_tier_on(st, STORE_TIER_5M) && rollup_marks_min(st,
	    STORE_TIER_5M, &m5, err, errlen) != 0)
		return -1;
	if (rollup_tier_on(st, STORE_TIER_1H) && rollup_marks_min(st,
	    STORE_TIER_1H, &m1, err, errlen) != 0)
		return -1;
	cut[STORE_TIER_RAW] = cutoff(now, st->opts.retention_ms);
	if (rollup_tier_on(st, STORE_TIER_5M)) {
		if (st->rollup[STORE_TIER_5M].done < cut[STORE_TIER_RAW])
			cut[STORE_TIER_RAW] = st->rollup[STORE_TIER_5M].done;
		if (m5 < cut[STORE_TIER_RAW])
			cut[STORE_TIER_RAW] = m5;
		cut[STORE_TIER_RAW] = rollup_align(cut[STORE_TIER_RAW],
		    rollup_bucket(STORE_TIER_5M));
	}
	cut[STORE_TIER_5M] = cutoff(now, st->opts.retention_5m_ms);
	if (rollup_tier_on(st, STORE_TIER_1H)) {
		if (st->rollup[STORE_TIER_1H].done < cut[STORE_TIER_5M])
			cut[STORE_TIER_5M] = st->rollup[STORE_TIER_1H].done;
		/* A 5m mark makes a 1h one, which needs its hour. */
		if (m5 < cut[STORE_TIER_5M])
			cut[STORE_TIER_5M] = m5;
		if (m1 < cut[STORE_TIER_5M])
			cut[STORE_TIER_5M] = m1;
	}
	cut[STORE_TIER_1H] = cutoff(now, st->opts.retention_1h_ms);
	return 0;
}

int
store_retention_run(struct store *st, int64_t now, char *err, size_t errlen)
{
	struct ret_ctx	 c;
	struct series	*s;
	uint64_t	*ids;
	size_t		 n = 0, i, j;
	int		 rc = 0;

	memset(&c, 0, sizeof(c));
	c.st = st;
	pthread_mutex_lock(&st->mlock);
	pthread_mutex_lock(&st->wlock);
	rc = retention_cuts(st, now, c.cut, err, errlen);
	if (rc == 0)
		rc = retention_heads(st, now, c.cut[STORE_TIER_RAW], err,
		    errlen);
	ids = xcalloc(st->idx.count + 1, sizeof(*ids));
	for (i = 0; i < st->idx.nbuckets; i++)
		for (s = st->idx.byid[i]; s != NULL; s = s->inext)
			ids[n++] = s->id;
	pthread_mutex_unlock(&st->wlock);
	qsort(ids, n, sizeof(*ids), u64_cmp);

	c.r = xcalloc(RETENTION_BATCH, sizeof(*c.r));
	for (i = 0; i < n && rc == 0; i += RETENTION_BATCH) {
		pthread_mutex_lock(&st->wlock);
		for (c.n = 0, j = i; j < n && j < i + RETENTION_BATCH; j++)
			if ((s = series_find_id(&st->idx, ids[j])) != NULL)
				c.r[c.n++].s = s;
		if (kv_write(st->kv, retention_txn, &c, err, errlen) < 0) {
			store_set_error(st, 0, err);
			rc = -1;
		} else
			retention_apply(st, &c);
		pthread_mutex_unlock(&st->wlock);
	}
	free(c.r);
	free(ids);
	if (rc == 0)
		rc = trim_groups(st, c.cut[STORE_TIER_RAW], err, errlen);
	pthread_mutex_unlock(&st->mlock);
	return rc;
}
