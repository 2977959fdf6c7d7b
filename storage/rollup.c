/*
 * rollup: the downsampled tiers (5m buckets from raw samples, 1h buckets
 * from the 5m tier), each bucket holding min, max, sum, count and last.
 *
 * A tier is made of blocks aligned to its span (5m: one day, 288 buckets;
 * 1h: a week, 168 buckets), one LMDB record per (tier, series, block):
 *
 *	'R' 1 5, length (u32 BE), timestamp column,
 *	then five times: length (u32 BE), values chunk
 *
 * where the five chunks are the min, max, sum, count and last columns,
 * each a codec chunk of (bucket start, value) in the shared encoding,
 * reading the bucket starts from the one column.  Blocks are written once,
 * whole: a run covers [done, target) where target is the end of the last
 * block complete at `now` (raw data is taken as complete one bucket after
 * its end; the 1h tier follows the 5m tier's watermark).  Progress -- the
 * tier's start, done and target watermarks and the last series id whose
 * blocks are written -- is committed with each batch of blocks, so a
 * crash repeats at most one batch.  Samples that arrive after their block
 * was rolled up (a backfill of old data) are not rolled up.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "keys.h"
#include "kv.h"
#include "meta.h"
#include "sample.h"
#include "store_int.h"
#include "xmalloc.h"

#define ROLLUP_BATCH	256
#define ROLLUP_COLS	5

static const struct {
	const char	*meta;
	int64_t		 bucket, span;
} tiers[STORE_TIER_COUNT] = {
	[STORE_TIER_RAW] = { NULL, 1, 1 },
	[STORE_TIER_5M] = { "rollup.5m", 300000, 86400000 },
	[STORE_TIER_1H] = { "rollup.1h", 3600000, 7 * 86400000LL },
};

int64_t
rollup_bucket(int tier)
{
	return tiers[tier].bucket;
}

int64_t
rollup_span(int tier)
{
	return tiers[tier].span;
}

int64_t
rollup_align(int64_t t, int64_t span)
{
	int64_t q;

	if (t < INT64_MIN + span)
		return INT64_MIN;
	q = t / span;
	if (t % span != 0 && t < 0)
		q--;
	return q * span;
}

int
rollup_tier_on(const struct store *st, int tier)
{
	return tier == STORE_TIER_5M ? st->opts.retention_5m_ms > 0 :
	    tier == STORE_TIER_1H ? st->opts.retention_1h_ms > 0 : 0;
}

static void
state_encode(const struct rollup_state *rs, uint8_t b[32])
{
	key_put64(b, (uint64_t)rs->start);
	key_put64(b + 8, (uint64_t)rs->done);
	key_put64(b + 16, (uint64_t)rs->target);
	key_put64(b + 24, rs->cursor);
}

int
rollup_load(struct store *st, char *err, size_t errlen)
{
	struct kv_txn	*txn;
	uint8_t		 b[32];
	int		 i;

	for (i = 0; i < STORE_TIER_COUNT; i++) {
		st->rollup[i].start = st->rollup[i].done = INT64_MIN;
		st->rollup[i].target = INT64_MIN;
		st->rollup[i].cursor = 0;
	}
	if (kv_read_begin(st->kv, &txn, err, errlen) < 0)
		return -1;
	for (i = STORE_TIER_5M; i < STORE_TIER_COUNT; i++)
		if (meta_get_raw(txn, tiers[i].meta, b, sizeof(b)) == 0) {
			st->rollup[i].start = (int64_t)key_get64(b);
			st->rollup[i].done = (int64_t)key_get64(b + 8);
			st->rollup[i].target = (int64_t)key_get64(b + 16);
			st->rollup[i].cursor = key_get64(b + 24);
		}
	kv_read_end(txn);
	return 0;
}

int
rollup_has_data(struct kv_txn *txn, int tier, uint64_t id, int64_t t0,
    int64_t t1)
{
	struct kv_cursor	*cur;
	struct kv_val		 k, v;
	uint8_t			 key[KEY_ROLLUP_LEN];
	int			 rc, found = 0;

	if ((rc = kv_cursor_open(txn, KV_DB_ROLLUP, &cur)) < 0)
		return rc;
	key_rollup(key, tier, id, rollup_align(t0, tiers[tier].span));
	k.data = key;
	k.len = sizeof(key);
	rc = kv_cursor_get(cur, KV_SET_RANGE, &k, &v);
	if (rc == 0)
		found = k.len == KEY_ROLLUP_LEN && memcmp(k.data, key, 9) == 0 &&
		    key_get_time((const uint8_t *)k.data + 9) <= t1;
	kv_cursor_close(cur);
	return rc < 0 ? rc : found;
}

static int
get_len(const uint8_t *p, size_t len, size_t *off, size_t *out)
{
	if (len - *off < 4)
		return -1;
	*out = (size_t)p[*off] << 24 | (size_t)p[*off + 1] << 16 |
	    (size_t)p[*off + 2] << 8 | p[*off + 3];
	*off += 4;
	return len - *off < *out ? -1 : 0;
}

int
rollup_decode(const void *data, size_t len, struct rollup_point **out,
    size_t *n, char *err, size_t errlen)
{
	const uint8_t		*p = data, *times;
	struct chunk_iter	 it[ROLLUP_COLS];
	struct rollup_point	*pts = NULL;
	size_t			 off = 3, np = 0, cap = 0, clen, tlen;
	int64_t			 t[ROLLUP_COLS];
	double			 v[ROLLUP_COLS];
	int			 c, rc[ROLLUP_COLS];

	*out = NULL;
	*n = 0;
	if (len < 3 || p[0] != 'R' || p[1] != 1 || p[2] != ROLLUP_COLS) {
		snprintf(err, errlen, "bad rollup block header");
		return -1;
	}
	if (get_len(p, len, &off, &tlen) != 0)
		goto trunc;
	times = p + off;
	off += tlen;
	for (c = 0; c < ROLLUP_COLS; c++) {
		if (get_len(p, len, &off, &clen) != 0)
			goto trunc;
		if (chunk_iter_init_shared(&it[c], p + off, clen, times,
		    tlen) != 0) {
			snprintf(err, errlen, "rollup column %d: %s", c,
			    it[c].errmsg);
			return -1;
		}
		off += clen;
	}
	if (off != len) {
		snprintf(err, errlen, "rollup block has trailing data");
		return -1;
	}
	for (;;) {
		for (c = 0; c < ROLLUP_COLS; c++)
			rc[c] = chunk_iter_next(&it[c], &t[c], &v[c]);
		for (c = 0; c < ROLLUP_COLS; c++) {
			if (rc[c] < 0) {
				snprintf(err, errlen, "rollup column %d: %s",
				    c, it[c].errmsg);
				free(pts);
				return -1;
			}
			if (rc[c] != rc[0] || (rc[c] == 1 && t[c] != t[0])) {
				snprintf(err, errlen, "rollup columns "
				    "disagree");
				free(pts);
				return -1;
			}
		}
		if (rc[0] == 0)
			break;
		if (np == cap) {
			cap = cap ? cap * 2 : 64;
			pts = xreallocarray(pts, cap, sizeof(*pts));
		}
		pts[np].t = t[0];
		pts[np].a.min = v[0];
		pts[np].a.max = v[1];
		pts[np].a.sum = v[2];
		pts[np].a.count = v[3];
		pts[np].a.last = v[4];
		np++;
	}
	*out = pts;
	*n = np;
	return 0;
trunc:
	snprintf(err, errlen, "truncated rollup block");
	return -1;
}

/* Blocks being built for one batch of series. */
struct record {
	uint8_t		 key[KEY_ROLLUP_LEN];
	uint8_t		*data;
	size_t		 len;
};

struct builder {
	int			 tier;
	uint64_t		 id;
	int64_t			 block;		/* INT64_MIN: none open */
	struct chunk_app	*col[ROLLUP_COLS];
	struct record		*rec;
	size_t			 nrec, caprec;
	int			 failed;
};

static void
put_len(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The five columns share their timestamps: the block keeps them once. */
static void
builder_finish(struct builder *b)
{
	const uint8_t	*data[ROLLUP_COLS], *times[ROLLUP_COLS];
	size_t		 len[ROLLUP_COLS], tlen[ROLLUP_COLS], total, off;
	struct record	*r;
	int		 c;

	if (b->block == INT64_MIN)
		return;
	for (c = 0; c < ROLLUP_COLS; c++)
		if (chunk_app_bytes_out_shared(b->col[c], &data[c], &len[c],
		    &times[c], &tlen[c]) != 0 || tlen[c] != tlen[0] ||
		    memcmp(times[c], times[0], tlen[0]) != 0)
			b->failed = 1;
	if (!b->failed) {
		total = 3 + 4 + tlen[0];
		for (c = 0; c < ROLLUP_COLS; c++)
			total += 4 + len[c];
		if (b->nrec == b->caprec) {
			b->caprec = b->caprec ? b->caprec * 2 : 64;
			b->rec = xreallocarray(b->rec, b->caprec,
			    sizeof(*b->rec));
		}
		r = &b->rec[b->nrec++];
		key_rollup(r->key, b->tier, b->id, b->block);
		r->data = xmalloc(total);
		r->len = total;
		r->data[0] = 'R';
		r->data[1] = 1;
		r->data[2] = ROLLUP_COLS;
		put_len(r->data + 3, tlen[0]);
		memcpy(r->data + 7, times[0], tlen[0]);
		off = 7 + tlen[0];
		for (c = 0; c < ROLLUP_COLS; c++) {
			put_len(r->data + off, len[c]);
			memcpy(r->data + off + 4, data[c], len[c]);
			off += 4 + len[c];
		}
	}
	for (c = 0; c < ROLLUP_COLS; c++) {
		chunk_app_free(b->col[c]);
		b->col[c] = NULL;
	}
	b->block = INT64_MIN;
}

static void
builder_add(struct builder *b, int64_t t, const struct store_agg *a)
{
	int64_t	block = rollup_align(t, tiers[b->tier].span);
	double	v[ROLLUP_COLS] = { a->min, a->max, a->sum, a->count, a->last };
	int	c;

	if (block != b->block) {
		builder_finish(b);
		b->block = block;
		for (c = 0; c < ROLLUP_COLS; c++)
			b->col[c] = chunk_app_new();
	}
	for (c = 0; c < ROLLUP_COLS; c++)
		if (chunk_app_add(b->col[c], t, v[c]) != 0)
			b->failed = 1;
}

/* Fold a point into a bucket; NaN gives way to numbers as in
 * Prometheus's min_over_time and max_over_time. */
static void
acc_add(struct store_agg *acc, int *have, const struct store_agg *p)
{
	if (!*have) {
		*acc = *p;
		*have = 1;
		return;
	}
	if (p->min < acc->min || isnan(acc->min))
		acc->min = p->min;
	if (p->max > acc->max || isnan(acc->max))
		acc->max = p->max;
	acc->sum += p->sum;
	acc->count += p->count;
	acc->last = p->last;
}

static int
is_stale(double v)
{
	uint64_t b;

	memcpy(&b, &v, sizeof(b));
	return b == STALE_NAN_BITS;
}

/* Buckets of one series over [from, to) into B's records. */
static int
rollup_series(struct store *st, struct builder *b, uint64_t id,
    int64_t from, int64_t to, char *err, size_t errlen)
{
	struct store_iter	*it;
	struct store_agg	 p, acc;
	int64_t			 t, bucket = INT64_MIN, bsize;
	int			 rc, have = 0;

	bsize = tiers[b->tier].bucket;
	b->id = id;
	it = store_iter_new(st, id, from, to - 1, b->tier - 1);
	while ((rc = store_iter_next_agg(it, &t, &p)) == 1) {
		if (b->tier == STORE_TIER_5M && is_stale(p.last))
			continue;
		if (have && rollup_align(t, bsize) != bucket) {
			builder_add(b, bucket, &acc);
			have = 0;
		}
		bucket = rollup_align(t, bsize);
		acc_add(&acc, &have, &p);
	}
	if (rc < 0)
		snprintf(err, errlen, "rollup: %s", store_iter_error(it));
	store_iter_free(it);
	if (rc < 0)
		return -1;
	if (have)
		builder_add(b, bucket, &acc);
	builder_finish(b);
	if (b->failed) {
		snprintf(err, errlen, "rollup: series %llu: cannot encode "
		    "a block", (unsigned long long)id);
		return -1;
	}
	return 0;
}

struct batch_write {
	struct builder		*b;
	int			 tier;
	struct rollup_state	 rs;
};

static int
write_batch(struct kv_txn *txn, void *arg)
{
	struct batch_write	*w = arg;
	uint8_t			 state[32];
	size_t			 i;
	int			 rc;

	for (i = 0; i < w->b->nrec; i++)
		if ((rc = kv_put(txn, KV_DB_ROLLUP, w->b->rec[i].key,
		    KEY_ROLLUP_LEN, w->b->rec[i].data, w->b->rec[i].len)) < 0)
			return rc;
	state_encode(&w->rs, state);
	return meta_put_raw(txn, tiers[w->tier].meta, state, sizeof(state));
}

static void
builder_clear(struct builder *b)
{
	size_t i;

	for (i = 0; i < b->nrec; i++)
		free(b->rec[i].data);
	b->nrec = 0;
}

/* Commit blocks (may be none) and the state RS under the writer lock. */
static int
commit(struct store *st, struct builder *b, int tier,
    const struct rollup_state *rs, char *err, size_t errlen)
{
	struct batch_write	w = { b, tier, *rs };
	int			rc;

	pthread_mutex_lock(&st->wlock);
	rc = kv_write(st->kv, write_batch, &w, err, errlen);
	if (rc == 0) {
		st->rollup[tier] = *rs;
		pthread_mutex_lock(&st->statlock);
		st->st.rollup_blocks_written += b->nrec;
		pthread_mutex_unlock(&st->statlock);
	}
	pthread_mutex_unlock(&st->wlock);
	builder_clear(b);
	return rc < 0 ? -1 : 0;
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorted ids above CURSOR, and the oldest raw time, under the writer lock. */
static uint64_t *
snapshot_ids(struct store *st, uint64_t cursor, size_t *n, int64_t *mint)
{
	struct series	*s;
	uint64_t	*ids;
	size_t		 i, k = 0;

	pthread_mutex_lock(&st->wlock);
	ids = xcalloc(st->idx.count + 1, sizeof(*ids));
	*mint = INT64_MAX;
	for (i = 0; i < st->idx.nbuckets; i++)
		for (s = st->idx.byid[i]; s != NULL; s = s->inext) {
			if (s->id > cursor)
				ids[k++] = s->id;
			if (s->mint < *mint)
				*mint = s->mint;
		}
	pthread_mutex_unlock(&st->wlock);
	qsort(ids, k, sizeof(*ids), u64_cmp);
	*n = k;
	return ids;
}

static int
rollup_tier(struct store *st, int tier, int64_t now, char *err,
    size_t errlen)
{
	struct rollup_state	 rs = st->rollup[tier];
	struct builder		 b;
	uint64_t		*ids;
	size_t			 n, i;
	int64_t			 span = tiers[tier].span, limit, mint;
	int			 rc = 0;

	ids = snapshot_ids(st, rs.target == INT64_MIN ? 0 : rs.cursor, &n,
	    &mint);
	if (rs.target == INT64_MIN) {
		if (tier == STORE_TIER_5M)
			limit = now - tiers[tier].bucket;
		else
			limit = st->rollup[STORE_TIER_5M].done;
		if (rs.start == INT64_MIN) {
			if (tier == STORE_TIER_5M && mint == INT64_MAX)
				goto out;
			if (tier != STORE_TIER_5M &&
			    st->rollup[STORE_TIER_5M].start == INT64_MIN)
				goto out;
			rs.start = rollup_align(tier == STORE_TIER_5M ? mint :
			    st->rollup[STORE_TIER_5M].start, span);
			rs.done = rs.start;
		}
		if (limit == INT64_MIN || rollup_align(limit, span) <= rs.done)
			goto out;
		rs.target = rollup_align(limit, span);
		rs.cursor = 0;
		if ((rc = commit(st, &(struct builder){ .nrec = 0 }, tier, &rs,
		    err, errlen)) != 0)
			goto out;
	}
	memset(&b, 0, sizeof(b));
	b.tier = tier;
	b.block = INT64_MIN;
	for (i = 0; i < n && rc == 0; i++) {
		if ((rc = rollup_series(st, &b, ids[i], rs.done, rs.target, err,
		    errlen)) != 0)
			break;
		if ((i + 1) % ROLLUP_BATCH == 0 || i + 1 == n) {
			rs.cursor = ids[i];
			rc = commit(st, &b, tier, &rs, err, errlen);
		}
	}
	if (rc == 0) {
		rs.done = rs.target;
		rs.target = INT64_MIN;
		rs.cursor = 0;
		rc = commit(st, &b, tier, &rs, err, errlen);
	}
	builder_clear(&b);
	free(b.rec);
out:
	free(ids);
	return rc;
}

int
store_rollup_run(struct store *st, int64_t now, char *err, size_t errlen)
{
	int tier;

	pthread_mutex_lock(&st->mlock);
	for (tier = STORE_TIER_5M; tier < STORE_TIER_COUNT; tier++)
		if (rollup_tier_on(st, tier) &&
		    rollup_tier(st, tier, now, err, errlen) != 0) {
			pthread_mutex_unlock(&st->mlock);
			return -1;
		}
	pthread_mutex_unlock(&st->mlock);
	return 0;
}
