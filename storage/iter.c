/*
 * iter: one series' points in a time range, raw or from a rollup tier.
 *
 * At creation the iterator copies the compressed chunks it needs: first
 * what the head holds in memory (the open chunk's tail and segments not
 * yet flushed, chunks closed and not yet merged) under the series' stripe
 * lock, then from a short LMDB read transaction the head's segments on
 * disk and the sealed chunks.  In that order nothing can be missed: what
 * a concurrent flush moves from memory to disk is in the copy of memory
 * or, when the flush committed first, in the later snapshot of the disk,
 * as a segment or merged into a sealed chunk.  It may be in both, so
 * chunks with the same start are kept once (the fullest) and decoding
 * skips any time not after the last one returned.  Decoding is lazy, a chunk or
 * rollup block at a time.  store_iter_read decodes a batch at a time with
 * the codec's fast path (chunk_iter_batch) and clips in place, which costs
 * a few nanoseconds a sample where the point-at-a-time path costs twenty.
 *
 * The series of a target share the timestamp column of their sealed
 * chunks.  A reader given a column cache (store_cols, one per query
 * thread) decodes a column once and then only the values of every chunk
 * that uses it.  The cache is keyed by the column's bytes, compared whole
 * (the CRC in its header only picks the chain): the same bytes always
 * decode to the same timestamps, so an entry is right for any
 * transaction that reads those bytes, and one that reads other bytes
 * (a group rewritten, deleted and its key reused, another store) misses.
 * Nothing needs invalidating.  The chunk a reader is decoding pins its
 * entry, so that another reader on the same thread cannot evict it.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "keys.h"
#include "kv.h"
#include "store_int.h"
#include "xmalloc.h"

struct ichunk {
	int64_t		 first;
	uint32_t	 count;		/* 0 when the header does not read */
	size_t		 len, tlen;
	size_t		 off;		/* in the iterator's arena */
	uint8_t		*data;		/* chunk, then its timestamp column
					   (set once the copies are done) */
};

/* A decoded column. */
struct col {
	uint8_t			*bytes;		/* NULL: a free slot */
	size_t			 len;
	int64_t			*t;
	uint32_t		 crc;
	unsigned		 pins;
	int			 next;		/* in its chain, or -1 */
};

/* The most of an iterator's arrays a cache keeps for the next one. */
#define ITER_KEEP_BYTES	(256u << 10)

#define COLS_CHAINS	256
#define COLS_SLOTS	1024

struct store_cols {
	struct col		*c;
	int			 nc;		/* slots in use or freed */
	size_t			 bytes, max;
	int			 chain[COLS_CHAINS];
	uint64_t		 rnd;
	uint64_t		 hits, misses;
	int64_t			*scratch;	/* CHUNK_MAX_SAMPLES */
	/* An iterator's arrays, lent to one reader at a time: a series
	   after another reuses them instead of growing its own. */
	struct ichunk		*ic;
	size_t			 iccap;
	uint8_t			*arena;
	size_t			 acap;
	struct chunkdb_scratch	 scan;
	int			 lent;
};

struct store_iter {
	uint64_t		 id;
	struct store_cols	*cols;
	int			 pin;		/* the active chunk's column,
						   or -1 */
	int			 tier;
	int64_t			 t0, t1;
	struct ichunk		*c;
	size_t			 n, cap, i;
	uint8_t			*arena;		/* the chunks' copies */
	size_t			 alen, acap;
	int			 lent;		/* c and arena are cols' */
	int			 active, done, started;
	int64_t			 last;
	struct chunk_iter	 ci;
	struct rollup_point	*pts;
	size_t			 npts, pi;
	char			 err[192];
};

static void
iter_add(struct store_iter *it, int64_t first, const void *data, size_t len,
    const void *times, size_t tlen)
{
	struct ichunk	*c;
	int64_t		 f, l;

	if (it->n == it->cap) {
		it->cap = it->cap ? it->cap * 2 : 8;
		it->c = xreallocarray(it->c, it->cap, sizeof(*it->c));
	}
	c = &it->c[it->n++];
	c->first = first;
	if (chunk_peek(data, len, &c->count, &f, &l) != 0)
		c->count = 0;
	c->len = len;
	c->tlen = times != NULL ? tlen : 0;
	c->data = NULL;
	/* One buffer for all the copies: a malloc a chunk cost more than
	   the copy. */
	if (it->acap - it->alen < len + c->tlen) {
		while (it->acap - it->alen < len + c->tlen)
			it->acap = it->acap ? it->acap * 2 : 4096;
		it->arena = xreallocarray(it->arena, it->acap, 1);
	}
	c->off = it->alen;
	memcpy(it->arena + it->alen, data, len);
	if (c->tlen > 0)
		memcpy(it->arena + it->alen + len, times, c->tlen);
	it->alen += len + c->tlen;
}

static void
head_chunk(void *arg, int64_t first, const uint8_t *data, size_t len)
{
	iter_add(arg, first, data, len, NULL, 0);
}

static void
copy_head(struct store *st, struct store_iter *it, struct head_disk *disk)
{
	struct series	*s;

	disk->n = 0;
	pthread_rwlock_rdlock(&st->ilock);
	if ((s = series_find_id(&st->idx, it->id)) != NULL) {
		pthread_mutex_lock(store_stripe(st, it->id));
		head_copy_locked(s, it->t0, it->t1, head_chunk, it, disk);
		pthread_mutex_unlock(store_stripe(st, it->id));
	}
	pthread_rwlock_unlock(&st->ilock);
}

static int
disk_chunk(void *arg, int64_t first, const uint8_t *data, size_t len,
    const uint8_t *times, size_t tlen)
{
	iter_add(arg, first, data, len, times, tlen);
	return 0;
}

/* By start, and of two with the same start the fuller first. */
static int
ichunk_cmp(const void *a, const void *b)
{
	const struct ichunk *x = a, *y = b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->count > y->count ? -1 : x->count < y->count;
}

/*
 * The same chunk may come from memory and from disk, and the copy of an
 * open chunk taken before a concurrent seal and flush has fewer samples
 * than the sealed one read after: keep the fullest of those that start
 * together, or samples between them would be lost.
 */
static void
sort_unique(struct store_iter *it)
{
	size_t i, j;

	if (it->n == 0)
		return;
	qsort(it->c, it->n, sizeof(*it->c), ichunk_cmp);
	for (i = j = 0; i < it->n; i++) {
		if (j == 0 || it->c[j - 1].first != it->c[i].first)
			it->c[j++] = it->c[i];
	}
	it->n = j;
	/* The arena no longer moves. */
	for (i = 0; i < it->n; i++)
		it->c[i].data = it->arena + it->c[i].off;
}

static int
copy_rollup(struct kv_txn *txn, struct store_iter *it)
{
	struct kv_cursor	*cur;
	struct kv_val		 k, v;
	uint8_t			 key[KEY_ROLLUP_LEN];
	int64_t			 start;
	int			 rc;

	if ((rc = kv_cursor_open(txn, KV_DB_ROLLUP, &cur)) < 0)
		return rc;
	key_rollup(key, it->tier, it->id, rollup_align(it->t0,
	    rollup_span(it->tier)));
	k.data = key;
	k.len = sizeof(key);
	for (rc = kv_cursor_get(cur, KV_SET_RANGE, &k, &v); rc == 0;
	    rc = kv_cursor_get(cur, KV_NEXT, &k, &v)) {
		if (k.len != KEY_ROLLUP_LEN || memcmp(k.data, key, 9) != 0)
			break;
		start = key_get_time((const uint8_t *)k.data + 9);
		if (start > it->t1)
			break;
		iter_add(it, start, v.data, v.len, NULL, 0);
	}
	kv_cursor_close(cur);
	return rc == KV_NOTFOUND ? 0 : rc;
}

struct store_cols *
store_cols_new(size_t max)
{
	struct store_cols	*cc = xcalloc(1, sizeof(*cc));
	int			 i;

	cc->max = max > 0 ? max : STORE_COLS_DEFAULT;
	for (i = 0; i < COLS_CHAINS; i++)
		cc->chain[i] = -1;
	cc->rnd = 0x9e3779b97f4a7c15ULL;
	return cc;
}

void
store_cols_free(struct store_cols *cc)
{
	int	i;

	if (cc == NULL)
		return;
	for (i = 0; i < cc->nc; i++) {
		free(cc->c[i].bytes);
		free(cc->c[i].t);
	}
	free(cc->c);
	free(cc->scratch);
	free(cc->ic);
	free(cc->arena);
	chunkdb_scratch_free(&cc->scan);
	free(cc);
}

void
store_cols_stats(const struct store_cols *cc, uint64_t *hits,
    uint64_t *misses)
{
	*hits = cc->hits;
	*misses = cc->misses;
}

static uint32_t
col_crc(const uint8_t *col)
{
	return (uint32_t)col[4] | (uint32_t)col[5] << 8 |
	    (uint32_t)col[6] << 16 | (uint32_t)col[7] << 24;
}

static size_t
col_size(const struct col *e)
{
	uint32_t	n;
	int64_t		f, l;

	if (chunk_peek(e->bytes, e->len, &n, &f, &l) != 0)
		n = 0;
	return e->len + (size_t)n * sizeof(int64_t);
}

static void
cols_evict(struct store_cols *cc, int i)
{
	struct col	*e = &cc->c[i];
	int		*p;

	for (p = &cc->chain[e->crc % COLS_CHAINS]; *p != i;
	    p = &cc->c[*p].next)
		;
	*p = e->next;
	cc->bytes -= col_size(e);
	free(e->bytes);
	free(e->t);
	e->bytes = NULL;
	e->t = NULL;
}

/*
 * Room for NEED more bytes and a slot, evicting unpinned columns from a
 * random one on: the slot, or -1 when what is pinned leaves no room.
 */
static int
cols_room(struct store_cols *cc, size_t need)
{
	int	i, k, start, slot = -1;

	if (need > cc->max)
		return -1;
	for (i = 0; i < cc->nc && slot == -1; i++) {
		if (cc->c[i].bytes == NULL)
			slot = i;
	}
	if (slot == -1 && cc->nc < COLS_SLOTS)
		slot = cc->nc;
	if (slot != -1 && cc->bytes + need <= cc->max)
		return slot;
	cc->rnd ^= cc->rnd << 13;
	cc->rnd ^= cc->rnd >> 7;
	cc->rnd ^= cc->rnd << 17;
	start = (int)(cc->rnd % (uint64_t)cc->nc);
	for (k = 0; k < cc->nc; k++) {
		i = (start + k) % cc->nc;
		if (cc->c[i].bytes == NULL || cc->c[i].pins > 0)
			continue;
		cols_evict(cc, i);
		if (slot == -1)
			slot = i;
		if (cc->bytes + need <= cc->max)
			return slot;
	}
	return -1;
}

/*
 * The timestamps of column COL, decoded at most once while it stays in
 * the cache; its entry pinned in *PIN.  NULL when the column does not
 * decode (the reader then reads it as it would without a cache, and
 * reports what is wrong) or does not fit.
 */
static const int64_t *
cols_get(struct store_cols *cc, const uint8_t *col, size_t len, int *pin)
{
	struct col	*e;
	uint32_t	 crc;
	int		 i, n;
	char		 err[96];

	if (len < 8)
		return NULL;
	crc = col_crc(col);
	for (i = cc->chain[crc % COLS_CHAINS]; i != -1; i = cc->c[i].next) {
		e = &cc->c[i];
		if (e->len == len && memcmp(e->bytes, col, len) == 0) {
			cc->hits++;
			e->pins++;
			*pin = i;
			return e->t;
		}
	}
	cc->misses++;
	if (cc->scratch == NULL)
		cc->scratch = xreallocarray(NULL, CHUNK_MAX_SAMPLES,
		    sizeof(*cc->scratch));
	if ((n = chunk_times_decode(col, len, cc->scratch, err,
	    sizeof(err))) < 0)
		return NULL;
	if ((i = cols_room(cc, len + (size_t)n * sizeof(int64_t))) < 0)
		return NULL;
	if (i == cc->nc) {
		cc->c = xreallocarray(cc->c, (size_t)cc->nc + 1,
		    sizeof(*cc->c));
		cc->nc++;
	}
	e = &cc->c[i];
	e->bytes = xmalloc(len);
	memcpy(e->bytes, col, len);
	e->len = len;
	e->t = xreallocarray(NULL, (size_t)n, sizeof(*e->t));
	memcpy(e->t, cc->scratch, (size_t)n * sizeof(*e->t));
	e->crc = crc;
	e->pins = 1;
	e->next = cc->chain[crc % COLS_CHAINS];
	cc->chain[crc % COLS_CHAINS] = i;
	cc->bytes += len + (size_t)n * sizeof(int64_t);
	*pin = i;
	return e->t;
}

static void	chunk_close(struct store_iter *);

/* Start decoding the current chunk: 0, or -1 (it->ci.errmsg). */
static int
chunk_open(struct store_iter *it)
{
	struct ichunk	*c = &it->c[it->i];
	const int64_t	*tt;

	if (c->tlen == 0)
		return chunk_iter_init(&it->ci, c->data, c->len);
	if (it->cols != NULL && (tt = cols_get(it->cols, c->data + c->len,
	    c->tlen, &it->pin)) != NULL) {
		if (chunk_iter_init_decoded(&it->ci, c->data, c->len,
		    c->data + c->len, c->tlen, tt) == 0)
			return 0;
		chunk_close(it);
		return -1;
	}
	return chunk_iter_init_shared(&it->ci, c->data, c->len,
	    c->data + c->len, c->tlen);
}

/* Done with the current chunk's column. */
static void
chunk_close(struct store_iter *it)
{
	if (it->pin >= 0) {
		it->cols->c[it->pin].pins--;
		it->pin = -1;
	}
}

struct store_iter *
store_iter_new(struct store *st, uint64_t id, int64_t t0, int64_t t1,
    enum store_tier tier)
{
	return store_iter_new_cols(st, id, t0, t1, tier, NULL);
}

struct store_iter *
store_iter_new_cols(struct store *st, uint64_t id, int64_t t0, int64_t t1,
    enum store_tier tier, struct store_cols *cols)
{
	struct store_iter	*it = xcalloc(1, sizeof(*it));
	struct head_disk	 disk;
	struct kv_txn		*txn;
	int			 rc;

	it->cols = cols;
	it->pin = -1;
	it->id = id;
	if (cols != NULL && !cols->lent) {
		cols->lent = 1;
		it->lent = 1;
		it->c = cols->ic;
		it->cap = cols->iccap;
		it->arena = cols->arena;
		it->acap = cols->acap;
	}
	it->tier = tier;
	it->t0 = t0;
	it->t1 = t1;
	if (tier < STORE_TIER_RAW || tier >= STORE_TIER_COUNT) {
		snprintf(it->err, sizeof(it->err), "unknown tier %d",
		    (int)tier);
		return it;
	}
	if (t0 > t1) {
		it->done = 1;
		return it;
	}
	disk.n = 0;
	if (tier == STORE_TIER_RAW)
		copy_head(st, it, &disk);
	if (kv_read_begin(st->kv, &txn, it->err, sizeof(it->err)) < 0) {
		sort_unique(it);
		return it;
	}
	if (tier != STORE_TIER_RAW)
		rc = copy_rollup(txn, it);
	else if ((rc = head_copy_disk(txn, id, &disk, t0, t1, head_chunk,
	    it)) >= 0)
		rc = chunkdb_scan(txn, id, t0, t1, disk_chunk, it,
		    it->lent ? &cols->scan : NULL);
	if (rc < 0)
		snprintf(it->err, sizeof(it->err), "series %llu: %s",
		    (unsigned long long)id, kv_txn_error(txn));
	kv_read_end(txn);
	sort_unique(it);
	return it;
}

static int
iter_fail(struct store_iter *it, const char *msg)
{
	snprintf(it->err, sizeof(it->err), "series %llu, chunk at %lld: %s",
	    (unsigned long long)it->id, (long long)it->c[it->i].first, msg);
	return -1;
}

/* Keep a point when it is in range and after the last one returned. */
static int
iter_take(struct store_iter *it, int64_t t)
{
	if (t < it->t0 || (it->started && t <= it->last))
		return 0;
	if (t > it->t1) {
		it->done = 1;
		return 0;
	}
	it->started = 1;
	it->last = t;
	return 1;
}

static int
next_raw(struct store_iter *it, int64_t *t, struct store_agg *a)
{
	double	v;
	int	rc;

	while (!it->done && it->i < it->n) {
		if (!it->active) {
			if (chunk_open(it) != 0)
				return iter_fail(it, it->ci.errmsg);
			it->active = 1;
		}
		rc = chunk_iter_next(&it->ci, t, &v);
		if (rc < 0)
			return iter_fail(it, it->ci.errmsg);
		if (rc == 0) {
			chunk_close(it);
			it->active = 0;
			it->i++;
			continue;
		}
		if (iter_take(it, *t)) {
			a->min = a->max = a->sum = a->last = v;
			a->count = 1;
			return 1;
		}
	}
	return 0;
}

static int
next_rollup(struct store_iter *it, int64_t *t, struct store_agg *a)
{
	char msg[128];

	while (!it->done) {
		if (it->pi < it->npts) {
			struct rollup_point *p = &it->pts[it->pi++];

			if (iter_take(it, p->t)) {
				*t = p->t;
				*a = p->a;
				return 1;
			}
			continue;
		}
		if (it->active) {
			it->active = 0;
			it->i++;
		}
		if (it->i >= it->n)
			break;
		free(it->pts);
		it->pts = NULL;
		it->npts = it->pi = 0;
		if (rollup_decode(it->c[it->i].data, it->c[it->i].len,
		    &it->pts, &it->npts, msg, sizeof(msg)) != 0)
			return iter_fail(it, msg);
		it->active = 1;
	}
	return 0;
}

/*
 * Decode up to MAX samples, chunk after chunk, straight into the caller's
 * arrays, keeping those in range and after the last one returned by
 * moving them down over the dropped ones.
 */
static int
read_raw(struct store_iter *it, int64_t *t, double *v, size_t max)
{
	size_t	k = 0, j, m;
	int	rc;

	while (k < max && !it->done && it->i < it->n) {
		if (!it->active) {
			if (chunk_open(it) != 0)
				goto fail;
			it->active = 1;
		}
		rc = chunk_iter_batch(&it->ci, t + k, v + k, max - k);
		if (rc < 0)
			goto fail;
		if (rc == 0) {
			chunk_close(it);
			it->active = 0;
			it->i++;
			continue;
		}
		m = k + (size_t)rc;
		/*
		 * Most batches lie wholly in range and after the last point:
		 * checked at both ends, they are kept whole, without the test
		 * per point.  A batch is one chunk's, whose times the codec
		 * has checked to increase (it fails the chunk otherwise).
		 */
		if (t[k] >= it->t0 && t[m - 1] <= it->t1 &&
		    (!it->started || t[k] > it->last)) {
			it->started = 1;
			it->last = t[m - 1];
			k = m;
			continue;
		}
		for (j = k; j < m; j++) {
			if (!iter_take(it, t[j])) {
				if (it->done)
					break;
				continue;
			}
			t[k] = t[j];
			v[k] = v[j];
			k++;
		}
	}
	return (int)k;

fail:
	/* Points read before the error go out now, the error next time. */
	iter_fail(it, it->ci.errmsg);
	return k > 0 ? (int)k : -1;
}

int
store_iter_read(struct store_iter *it, int64_t *t, double *v, size_t max)
{
	struct store_agg	a;
	size_t			k;
	int			rc;

	if (it->err[0] != '\0')
		return -1;
	if (max > INT32_MAX)
		max = INT32_MAX;
	if (it->tier == STORE_TIER_RAW)
		return read_raw(it, t, v, max);
	for (k = 0; k < max; k++) {
		if ((rc = next_rollup(it, &t[k], &a)) != 1) {
			if (rc < 0 && k == 0)
				return -1;
			break;
		}
		v[k] = a.last;
	}
	return (int)k;
}

int
store_iter_next_agg(struct store_iter *it, int64_t *t, struct store_agg *a)
{
	if (it->err[0] != '\0')
		return -1;
	if (it->tier == STORE_TIER_RAW)
		return next_raw(it, t, a);
	return next_rollup(it, t, a);
}

int
store_iter_next(struct store_iter *it, int64_t *t, double *v)
{
	struct store_agg	a;
	int			rc;

	if ((rc = store_iter_next_agg(it, t, &a)) == 1)
		*v = a.last;
	return rc;
}

const char *
store_iter_error(const struct store_iter *it)
{
	return it->err;
}

void
store_iter_free(struct store_iter *it)
{
	if (it == NULL)
		return;
	chunk_close(it);
	/* What a long range grew the arrays to is not kept for good (a
	   pooled cache lives as long as the store). */
	if (it->lent && it->acap <= ITER_KEEP_BYTES &&
	    it->cap * sizeof(*it->c) <= ITER_KEEP_BYTES) {
		it->cols->ic = it->c;
		it->cols->iccap = it->cap;
		it->cols->arena = it->arena;
		it->cols->acap = it->acap;
		it->cols->lent = 0;
	} else {
		if (it->lent) {
			it->cols->ic = NULL;
			it->cols->iccap = 0;
			it->cols->arena = NULL;
			it->cols->acap = 0;
			it->cols->lent = 0;
		}
		free(it->arena);
		free(it->c);
	}
	free(it->pts);
	free(it);
}
