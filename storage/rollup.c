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
 * reading the bucket starts from the one column.  Blocks are written
 * whole: a run covers [done, target) where target is the end of the last
 * block complete at `now` (raw data is taken as complete one bucket after
 * its end; the 1h tier follows the 5m tier's watermark).  Progress -- the
 * tier's start, done and target watermarks and the last series id whose
 * blocks are written -- is committed with each batch of blocks, so a
 * crash repeats at most one batch; a batch of 5m blocks follows a flush,
 * as the samples it counts may have been read from memory.
 *
 * Samples that arrive late, before the 5m tier's watermark (a backfill,
 * or a new series with old samples), are noted as marks: per series and
 * block, a bitmap of the buckets to recompute.  The marks of a flush go
 * to disk in a transaction before its samples (so a sample on disk always
 * has its mark), under the rollup key with 0x80 added to the tier.  A run
 * recomputes each marked bucket from the tier below in full, so that the
 * bucket is exact whether or not it held data before (merged, never
 * counted twice), rewrites the block with it and deletes the mark in one
 * transaction; a recomputed 5m bucket marks its 1h bucket in turn when
 * the 1h tier is past it.  Retention keeps the raw chunks and 5m blocks
 * that marked buckets still need.
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
/* Marks: key tier byte, bitmap bytes (a bit a bucket of the block). */
#define MARK_TIER	0x80
#define MARK_WORDS	5		/* 288 bits */
#define MARK_BYTES(tier) \
	((size_t)((tiers[tier].span / tiers[tier].bucket + 7) / 8))
/* Marked blocks recomputed per transaction (the writer lock is held
 * throughout, see rollup_redo). */
#define REDO_BATCH	64

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

/*
 * The watermark under which a bucket is late for TIER: the end of the
 * run in progress, or what is done (INT64_MIN: the tier is off).  Before
 * its first run the 1h tier will start where the 5m tier started: a 5m
 * bucket recomputed before that is late for it already.
 */
static int64_t
late_limit(const struct store *st, int tier)
{
	const struct rollup_state *rs = &st->rollup[tier];

	if (!rollup_tier_on(st, tier))
		return INT64_MIN;
	if (rs->target != INT64_MIN)
		return rs->target;
	if (rs->done == INT64_MIN && tier == STORE_TIER_1H &&
	    st->rollup[STORE_TIER_5M].start != INT64_MIN)
		return rollup_align(st->rollup[STORE_TIER_5M].start,
		    tiers[tier].span);
	return rs->done;
}

static void
late_update(struct store *st)
{
	st->late_before = late_limit(st, STORE_TIER_5M);
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
	late_update(st);
	return 0;
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

/*
 * A block's header and its timestamp column: *times, *tlen, and *off just
 * after them.  -1: not a block of this format; -2: truncated.
 */
static int
block_times(const uint8_t *p, size_t len, size_t *off,
    const uint8_t **times, size_t *tlen)
{
	if (len < 3 || p[0] != 'R' || p[1] != 1 || p[2] != ROLLUP_COLS)
		return -1;
	*off = 3;
	if (get_len(p, len, off, tlen) != 0)
		return -2;
	*times = p + *off;
	*off += *tlen;
	return 0;
}

/*
 * Whether a block holds a bucket starting in [t0, t1]: 1, 0, or 2 when
 * its buckets all start after t1.  A block that does not decode counts
 * as holding one: reading it reports the damage.
 */
static int
block_has_bucket(const uint8_t *p, size_t len, int64_t t0, int64_t t1)
{
	struct chunk_iter	 it;
	const uint8_t		*times;
	size_t			 off, tlen, clen;
	int64_t			 t;
	double			 v;
	int			 rc;

	if (block_times(p, len, &off, &times, &tlen) != 0 ||
	    get_len(p, len, &off, &clen) != 0 ||
	    chunk_iter_init_shared(&it, p + off, clen, times, tlen) != 0)
		return 1;
	while ((rc = chunk_iter_next(&it, &t, &v)) == 1) {
		if (t > t1)
			return 2;
		if (t >= t0)
			return 1;
	}
	return rc < 0 ? 1 : 0;
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
	/* The blocks from the one holding t0 on, until one starts past
	 * t1 or a bucket is in range. */
	for (rc = kv_cursor_get(cur, KV_SET_RANGE, &k, &v); rc == 0;
	    rc = kv_cursor_get(cur, KV_NEXT, &k, &v)) {
		if (k.len != KEY_ROLLUP_LEN || memcmp(k.data, key, 9) != 0 ||
		    key_get_time((const uint8_t *)k.data + 9) > t1)
			break;
		if ((found = block_has_bucket(v.data, v.len, t0, t1)) != 0)
			break;
	}
	kv_cursor_close(cur);
	return rc < 0 ? rc : found == 1;
}

int
rollup_decode(const void *data, size_t len, struct rollup_point **out,
    size_t *n, char *err, size_t errlen)
{
	const uint8_t		*p = data, *times;
	struct chunk_iter	 it[ROLLUP_COLS];
	struct rollup_point	*pts = NULL;
	size_t			 off, np = 0, cap = 0, clen, tlen;
	int64_t			 t[ROLLUP_COLS];
	double			 v[ROLLUP_COLS];
	int			 c, rc[ROLLUP_COLS];

	*out = NULL;
	*n = 0;
	switch (block_times(p, len, &off, &times, &tlen)) {
	case -1:
		snprintf(err, errlen, "bad rollup block header");
		return -1;
	case -2:
		goto trunc;
	}
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
		if (chunk_app_add(&b->col[c], t, v[c]) != 0)
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
	/*
	 * The blocks may hold samples read from memory: they go to disk
	 * first, so that a crash never leaves a bucket counting a sample the
	 * raw data lost.
	 */
	rc = tier == STORE_TIER_5M ? store_flush_locked(st, err, errlen) : 0;
	if (rc == 0)
		rc = kv_write(st->kv, write_batch, &w, err, errlen);
	if (rc == 0) {
		st->rollup[tier] = *rs;
		late_update(st);
		pthread_mutex_lock(&st->statlock);
		st->st.rollup_blocks_written += b->nrec;
		pthread_mutex_unlock(&st->statlock);
		rc = store_fault(st, "rollup.batch", err, errlen);
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

/*
 * Marks of late samples.  In memory, those of the samples since the last
 * flush, one per (series, 5m block), found by hashing; on disk under
 * (MARK_TIER | tier, id, block start), a bitmap of MARK_BYTES(tier) bytes,
 * bucket i of the block in byte i / 8, bit i % 8.
 */
struct mark {
	uint64_t	id;
	int64_t		block;
	uint64_t	bits[MARK_WORDS];
};

struct rollup_marks {
	struct mark	*v;
	size_t		 n, cap;
	uint32_t	*slot;		/* index + 1 into v; 0: empty */
	size_t		 nslot;		/* a power of two */
};

void
rollup_marks_free(struct rollup_marks *m)
{
	if (m == NULL)
		return;
	free(m->v);
	free(m->slot);
	free(m);
}

static size_t
mark_hash(uint64_t id, int64_t block, size_t mask)
{
	uint64_t h = id * 0x9e3779b97f4a7c15ULL ^ (uint64_t)block;

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	return (size_t)(h ^ h >> 32) & mask;
}

static void
marks_rehash(struct rollup_marks *m, size_t nslot)
{
	size_t i, h;

	free(m->slot);
	m->nslot = nslot;
	m->slot = xcalloc(nslot, sizeof(*m->slot));
	for (i = 0; i < m->n; i++) {
		h = mark_hash(m->v[i].id, m->v[i].block, nslot - 1);
		while (m->slot[h] != 0)
			h = (h + 1) & (nslot - 1);
		m->slot[h] = (uint32_t)(i + 1);
	}
}

void
rollup_note(struct store *st, uint64_t id, int64_t t)
{
	struct rollup_marks	*m;
	struct mark		*k;
	int64_t			 block, i;
	size_t			 h;

	if ((m = st->marks) == NULL)
		m = st->marks = xcalloc(1, sizeof(*m));
	if ((m->n + 1) * 2 > m->nslot)
		marks_rehash(m, m->nslot ? m->nslot * 2 : 64);
	block = rollup_align(t, tiers[STORE_TIER_5M].span);
	h = mark_hash(id, block, m->nslot - 1);
	for (;; h = (h + 1) & (m->nslot - 1)) {
		if (m->slot[h] == 0) {
			if (m->n == m->cap) {
				m->cap = m->cap ? m->cap * 2 : 64;
				m->v = xreallocarray(m->v, m->cap,
				    sizeof(*m->v));
			}
			k = &m->v[m->n++];
			memset(k, 0, sizeof(*k));
			k->id = id;
			k->block = block;
			m->slot[h] = (uint32_t)m->n;
			break;
		}
		k = &m->v[m->slot[h] - 1];
		if (k->id == id && k->block == block)
			break;
	}
	i = (t - block) / tiers[STORE_TIER_5M].bucket;
	k->bits[i / 64] |= 1ULL << (i % 64);
}

/* OR the bitmap BITS into the mark of (tier, id, block) on disk. */
static int
mark_merge(struct kv_txn *txn, int tier, uint64_t id, int64_t block,
    const uint8_t *bits)
{
	struct kv_val	v;
	uint8_t		key[KEY_ROLLUP_LEN], b[MARK_WORDS * 8];
	size_t		i, len = MARK_BYTES(tier);
	int		rc;

	key_rollup(key, MARK_TIER | tier, id, block);
	memcpy(b, bits, len);
	if ((rc = kv_get(txn, KV_DB_ROLLUP, key, sizeof(key), &v)) < 0)
		return rc;
	if (rc == 0)
		for (i = 0; i < len && i < v.len; i++)
			b[i] |= ((const uint8_t *)v.data)[i];
	return kv_put(txn, KV_DB_ROLLUP, key, sizeof(key), b, len);
}

static void
bits_to_bytes(const uint64_t *w, uint8_t *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (uint8_t)(w[i / 8] >> (8 * (i % 8)));
}

static int
marks_txn(struct kv_txn *txn, void *arg)
{
	struct rollup_marks	*m = arg;
	uint8_t			 b[MARK_WORDS * 8];
	size_t			 i;
	int			 rc;

	for (i = 0; i < m->n; i++) {
		bits_to_bytes(m->v[i].bits, b, MARK_BYTES(STORE_TIER_5M));
		if ((rc = mark_merge(txn, STORE_TIER_5M, m->v[i].id,
		    m->v[i].block, b)) < 0)
			return rc;
	}
	return 0;
}

int
rollup_marks_write(struct store *st, char *err, size_t errlen)
{
	struct rollup_marks *m = st->marks;

	if (m == NULL || m->n == 0)
		return 0;
	if (kv_write(st->kv, marks_txn, m, err, errlen) < 0)
		return -1;
	m->n = 0;
	memset(m->slot, 0, m->nslot * sizeof(*m->slot));
	return 0;
}

/* The first bucket marked in a bitmap of LEN bytes (-1: none). */
static int
bits_first(const uint8_t *b, size_t len)
{
	size_t i;
	int j;

	for (i = 0; i < len; i++)
		if (b[i] != 0)
			for (j = 0; j < 8; j++)
				if (b[i] & 1u << j)
					return (int)(i * 8) + j;
	return -1;
}

/*
 * Call FN(ARG, id, block, bitmap, len) for each mark of TIER on disk, in
 * key order, until FN returns non-zero.  0, or -1 with ERR set.
 */
static int
marks_each(struct store *st, int tier, int (*fn)(void *, uint64_t, int64_t,
    const uint8_t *, size_t), void *arg, char *err, size_t errlen)
{
	struct kv_txn		*txn;
	struct kv_cursor	*cur;
	struct kv_val		 k, v;
	uint8_t			 key[KEY_ROLLUP_LEN];
	int			 rc;

	if (kv_read_begin(st->kv, &txn, err, errlen) < 0)
		return -1;
	if ((rc = kv_cursor_open(txn, KV_DB_ROLLUP, &cur)) == 0) {
		key_rollup(key, MARK_TIER | tier, 0, INT64_MIN);
		k.data = key;
		k.len = sizeof(key);
		for (rc = kv_cursor_get(cur, KV_SET_RANGE, &k, &v); rc == 0;
		    rc = kv_cursor_get(cur, KV_NEXT, &k, &v)) {
			const uint8_t *p = k.data;

			if (k.len != KEY_ROLLUP_LEN || p[0] != (MARK_TIER | tier) ||
			    fn(arg, key_get64(p + 1), key_get_time(p + 9),
			    v.data, v.len) != 0)
				break;
		}
		kv_cursor_close(cur);
	}
	if (rc < 0 && rc != KV_NOTFOUND) {
		snprintf(err, errlen, "rollup marks: %s", kv_txn_error(txn));
		kv_read_end(txn);
		return -1;
	}
	kv_read_end(txn);
	return 0;
}

struct marks_min {
	int64_t		bucket;
	int64_t		min;
};

static int
marks_min_one(void *arg, uint64_t id, int64_t block, const uint8_t *bits,
    size_t len)
{
	struct marks_min	*mm = arg;
	int64_t			 t;
	int			 j;

	(void)id;
	if ((j = bits_first(bits, len)) >= 0) {
		t = block + j * mm->bucket;
		mm->min = t < mm->min ? t : mm->min;
	}
	return 0;
}

int
rollup_marks_min(struct store *st, int tier, int64_t *min, char *err,
    size_t errlen)
{
	struct marks_min	 mm = { tiers[tier].bucket, INT64_MAX };
	uint8_t			 b[MARK_WORDS * 8];
	size_t			 i;

	if (tier == STORE_TIER_5M && st->marks != NULL)
		for (i = 0; i < st->marks->n; i++) {
			bits_to_bytes(st->marks->v[i].bits, b, sizeof(b));
			marks_min_one(&mm, st->marks->v[i].id,
			    st->marks->v[i].block, b, sizeof(b));
		}
	if (marks_each(st, tier, marks_min_one, &mm, err, errlen) != 0)
		return -1;
	*min = mm.min;
	return 0;
}

/* A marked block being recomputed. */
struct redo {
	uint64_t	 id;
	int64_t		 block;
	uint8_t		 bits[MARK_WORDS * 8];
	uint8_t		 up[MARK_WORDS * 8];	/* 1h marks it makes */
	int64_t		 upblock;		/* INT64_MIN: none */
	int		 del;			/* the block has no bucket */
	uint64_t	 nbuckets;		/* marked */
};

struct redo_batch {
	int		 tier;
	struct redo	 r[REDO_BATCH];
	size_t		 n;
	struct builder	*b;
};

static int
bit_isset(const uint8_t *b, int64_t i)
{
	return (b[i / 8] >> (i % 8)) & 1;
}

static int
redo_load_one(void *arg, uint64_t id, int64_t block, const uint8_t *bits,
    size_t len)
{
	struct redo_batch	*rb = arg;
	struct redo		*r;
	size_t			 want = MARK_BYTES(rb->tier);

	if (rb->n == REDO_BATCH)
		return 1;
	r = &rb->r[rb->n++];
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->block = block;
	r->upblock = INT64_MIN;
	memcpy(r->bits, bits, len < want ? len : want);
	return 0;
}

/* The first marks of TIER on disk, up to REDO_BATCH of them. */
static int
redo_load(struct store *st, struct redo_batch *rb, char *err, size_t errlen)
{
	rb->n = 0;
	return marks_each(st, rb->tier, redo_load_one, rb, err, errlen);
}

/*
 * The buckets of a block on disk.  A damaged one is replaced by what the
 * recomputation gives (reported): stopping would keep its marks, and the
 * raw data they hold back from retention, for good.  Buckets outside the
 * block or out of order are damage too.
 */
static void
old_load(struct store *st, const struct redo *r, int tier,
    const struct kv_val *v, struct rollup_point **old, size_t *nold)
{
	char	msg[256], err[160];
	size_t	i;
	int64_t	t, prev = INT64_MIN;

	if (rollup_decode(v->data, v->len, old, nold, err,
	    sizeof(err)) == 0) {
		for (i = 0; i < *nold; i++, prev = t) {
			t = (*old)[i].t;
			if (t < r->block || t >= r->block + tiers[tier].span ||
			    (t - r->block) % tiers[tier].bucket != 0 ||
			    t <= prev)
				break;
		}
		if (i == *nold)
			return;
		snprintf(err, sizeof(err), "buckets out of place");
	}
	free(*old);
	*old = NULL;
	*nold = 0;
	snprintf(msg, sizeof(msg), "rollup: damaged block of series %llu "
	    "at %lld replaced: %s", (unsigned long long)r->id,
	    (long long)r->block, err);
	store_set_error(st, 0, msg);
}

/*
 * One marked block: its unmarked buckets as they are, its marked ones
 * recomputed in full from the tier below, into RB's builder.
 */
static int
redo_block(struct store *st, struct redo_batch *rb, struct redo *r,
    char *err, size_t errlen)
{
	struct builder		*b = rb->b;
	struct store_iter	*it;
	struct kv_txn		*txn;
	struct kv_val		 v;
	struct rollup_point	*old = NULL;
	struct store_agg	 p, acc;
	uint8_t			 key[KEY_ROLLUP_LEN];
	int64_t			 bsize = tiers[rb->tier].bucket, t, bucket;
	int64_t			 nb = tiers[rb->tier].span / bsize, first, last;
	int64_t			 i, up = INT64_MIN, uplim, hb;
	size_t			 nold = 0, oi = 0, nrec = b->nrec;
	int			 rc, have = 0;

	for (i = 0; i < nb; i++)
		r->nbuckets += (uint64_t)bit_isset(r->bits, i);
	for (first = 0; first < nb && !bit_isset(r->bits, first); first++)
		;
	for (last = nb - 1; last >= first && !bit_isset(r->bits, last);
	    last--)
		;
	if (first > last)
		return 0;
	if (kv_read_begin(st->kv, &txn, err, errlen) < 0)
		return -1;
	key_rollup(key, rb->tier, r->id, r->block);
	rc = kv_get(txn, KV_DB_ROLLUP, key, sizeof(key), &v);
	if (rc == 0)
		old_load(st, r, rb->tier, &v, &old, &nold);
	else if (rc < 0)
		snprintf(err, errlen, "rollup: %s", kv_txn_error(txn));
	kv_read_end(txn);
	if (rc < 0)
		return -1;

	b->id = r->id;
	it = store_iter_new(st, r->id, r->block + first * bsize,
	    r->block + (last + 1) * bsize - 1, rb->tier - 1);
	bucket = INT64_MIN;
	for (;;) {
		rc = store_iter_next_agg(it, &t, &p);
		if (rc == 1 && (rb->tier == STORE_TIER_5M && is_stale(p.last)))
			continue;
		if (rc == 1 && !bit_isset(r->bits, (t - r->block) / bsize))
			continue;
		if (have && (rc != 1 || rollup_align(t, bsize) != bucket)) {
			/* The old buckets before this one, unless marked. */
			for (; oi < nold && old[oi].t < bucket; oi++)
				if (!bit_isset(r->bits, (old[oi].t -
				    r->block) / bsize))
					builder_add(b, old[oi].t, &old[oi].a);
			builder_add(b, bucket, &acc);
			have = 0;
		}
		if (rc != 1)
			break;
		bucket = rollup_align(t, bsize);
		acc_add(&acc, &have, &p);
	}
	if (rc < 0)
		snprintf(err, errlen, "rollup: %s", store_iter_error(it));
	store_iter_free(it);
	if (rc < 0) {
		free(old);
		return -1;
	}
	for (; oi < nold; oi++)
		if (!bit_isset(r->bits, (old[oi].t - r->block) / bsize))
			builder_add(b, old[oi].t, &old[oi].a);
	free(old);
	builder_finish(b);
	if (b->failed) {
		snprintf(err, errlen, "rollup: series %llu: cannot encode "
		    "a block", (unsigned long long)r->id);
		return -1;
	}
	r->del = b->nrec == nrec;

	/* The 1h buckets of these, where the 1h tier is past them. */
	if (rb->tier != STORE_TIER_5M || (uplim = late_limit(st,
	    STORE_TIER_1H)) == INT64_MIN)
		return 0;
	for (i = first; i <= last; i++) {
		if (!bit_isset(r->bits, i))
			continue;
		hb = rollup_align(r->block + i * bsize,
		    tiers[STORE_TIER_1H].bucket);
		if (hb >= uplim)
			break;
		if (up == INT64_MIN) {
			up = rollup_align(hb, tiers[STORE_TIER_1H].span);
			r->upblock = up;
		}
		/* A day is within one week: one 1h block. */
		t = (hb - up) / tiers[STORE_TIER_1H].bucket;
		r->up[t / 8] |= (uint8_t)(1u << (t % 8));
	}
	return 0;
}

static int
redo_txn(struct kv_txn *txn, void *arg)
{
	struct redo_batch	*rb = arg;
	struct builder		*b = rb->b;
	uint8_t			 key[KEY_ROLLUP_LEN];
	size_t			 i;
	int			 rc;

	for (i = 0; i < b->nrec; i++)
		if ((rc = kv_put(txn, KV_DB_ROLLUP, b->rec[i].key,
		    KEY_ROLLUP_LEN, b->rec[i].data, b->rec[i].len)) < 0)
			return rc;
	for (i = 0; i < rb->n; i++) {
		if (rb->r[i].del) {
			key_rollup(key, rb->tier, rb->r[i].id,
			    rb->r[i].block);
			rc = kv_del(txn, KV_DB_ROLLUP, key, sizeof(key), NULL,
			    0);
			if (rc < 0 && rc != KV_NOTFOUND)
				return rc;
		}
		key_rollup(key, MARK_TIER | rb->tier, rb->r[i].id,
		    rb->r[i].block);
		if ((rc = kv_del(txn, KV_DB_ROLLUP, key, sizeof(key), NULL,
		    0)) < 0 && rc != KV_NOTFOUND)
			return rc;
		if (rb->r[i].upblock != INT64_MIN &&
		    (rc = mark_merge(txn, STORE_TIER_1H, rb->r[i].id,
		    rb->r[i].upblock, rb->r[i].up)) < 0)
			return rc;
	}
	return 0;
}

/*
 * Recompute the marked buckets of TIER, a batch of marks at a time.  The
 * writer lock is held from reading a batch to committing it: no sample
 * can arrive meanwhile whose mark the commit would delete.  Samples still
 * in memory are flushed first so that a bucket never counts a sample that
 * a crash would lose.
 */
static int
rollup_redo(struct store *st, int tier, char *err, size_t errlen)
{
	struct redo_batch	*rb = xcalloc(1, sizeof(*rb));
	struct builder		 b;
	size_t			 i;
	int			 rc = 0;

	memset(&b, 0, sizeof(b));
	b.tier = tier;
	b.block = INT64_MIN;
	rb->tier = tier;
	rb->b = &b;
	for (;;) {
		pthread_mutex_lock(&st->wlock);
		if (tier == STORE_TIER_5M && st->marks != NULL &&
		    st->marks->n > 0 && store_flush_locked(st, err,
		    errlen) != 0)
			rc = -1;
		if (rc == 0)
			rc = redo_load(st, rb, err, errlen);
		if (rc != 0 || rb->n == 0) {
			pthread_mutex_unlock(&st->wlock);
			break;
		}
		for (i = 0; i < rb->n && rc == 0; i++)
			rc = redo_block(st, rb, &rb->r[i], err, errlen);
		if (rc == 0 && kv_write(st->kv, redo_txn, rb, err,
		    errlen) < 0)
			rc = -1;
		if (rc == 0) {
			pthread_mutex_lock(&st->statlock);
			st->st.rollup_blocks_written += b.nrec;
			for (i = 0; i < rb->n; i++)
				st->st.rollup_buckets_recomputed +=
				    rb->r[i].nbuckets;
			pthread_mutex_unlock(&st->statlock);
			rc = store_fault(st, "rollup.redo", err, errlen);
		}
		pthread_mutex_unlock(&st->wlock);
		builder_clear(&b);
		if (rc != 0)
			break;
	}
	builder_clear(&b);
	free(b.rec);
	free(rb);
	return rc;
}

int
store_rollup_run(struct store *st, int64_t now, char *err, size_t errlen)
{
	int tier;

	pthread_mutex_lock(&st->mlock);
	for (tier = STORE_TIER_5M; tier < STORE_TIER_COUNT; tier++)
		if (rollup_tier_on(st, tier) &&
		    (rollup_tier(st, tier, now, err, errlen) != 0 ||
		    rollup_redo(st, tier, err, errlen) != 0)) {
			pthread_mutex_unlock(&st->mlock);
			return -1;
		}
	pthread_mutex_unlock(&st->mlock);
	return 0;
}
