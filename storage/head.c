/*
 * head: the open chunk of every series, its sealing, and its durability.
 *
 * Each series appends to one chunk_app in memory, kept Gorilla-encoded:
 * that form costs nothing to copy out, so checkpoints and readers use it.
 * A chunk is sealed when its next sample crosses a time boundary, at
 * chunk_max_samples, or when its Gorilla size nears chunk_max_bytes.  The
 * boundaries are multiples (from the epoch) of a span picked from a fixed
 * ladder so that a chunk holds at least chunk_target_samples at the
 * series' own rate (at most chunk_max_span_ms): series scraped together
 * have the same timestamps, hence the same spans and boundaries, and seal
 * together, which lets them share one timestamp column on disk.  Sealing
 * encodes the chunk for good (packed values, shared timestamps; see
 * storage/FORMAT.md) into the series' pending list, which the next flush
 * writes: first every sealed chunk, in few large transactions, then a
 * checkpoint of each changed open chunk to HEAD (or its deletion when the
 * chunk was just sealed).  A crash between the two leaves old checkpoints
 * whose samples the new sealed chunks already hold, which the restore
 * skips, so on disk a series is at one flush or the next, never between.
 * At open the checkpoints are decoded into fresh appenders.
 *
 * Every change to a series' head fields happens under its stripe lock,
 * which readers take to copy the head out.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "keys.h"
#include "kv.h"
#include "store_int.h"
#include "xmalloc.h"

/*
 * Bound one flush transaction, in bytes and in series.  LMDB copies every
 * page a transaction touches into memory and keeps those copies on a free
 * list for the environment's lifetime (it never gives them back), so the
 * largest transaction sets memory held for good: a page or three per
 * series written.  Series beyond go into the next transaction; each costs
 * a synchronous commit, which is why the bound is not smaller.
 */
#define FLUSH_TXN_BYTES		(256u << 10)
#define FLUSH_TXN_SERIES	128
/*
 * Sealed chunks go first, in transactions of their own that may be much
 * larger: their bytes live in overflow pages, which LMDB frees after the
 * commit instead of keeping them, and the more chunks a transaction has,
 * the fewer and fuller the groups it packs them in (chunkdb.c).
 */
#define SEAL_TXN_BYTES		(8u << 20)
#define SEAL_TXN_SERIES		4096
/* Most bytes one more sample may add to a chunk (a Gorilla sample with
 * both fields in full takes 4 + 64 + 13 + 64 bits). */
#define HEAD_SAMPLE_MAX		20

/* Chunk spans; each divides a day, so boundaries fall on the same
 * instants whatever the span. */
static const int64_t span_ladder[] = {
	60000, 120000, 300000, 600000, 900000, 1800000, 3600000, 7200000,
	10800000, 14400000, 21600000, 28800000, 43200000, 86400000,
};

static struct chunk_app *
head_new(void)
{
	struct chunk_app *app = chunk_app_new();

	chunk_app_set_encoding(app, CHUNK_ENC_GORILLA);
	return app;
}

/* The span of the series' chunks: at least the target count of samples
 * at the rate seen so far. */
static int64_t
head_span(const struct store *st, const struct chunk_app *app)
{
	size_t	n = chunk_app_count(app), i;
	int64_t	step, want, max = st->opts.chunk_max_span_ms, target;

	target = st->opts.chunk_target_samples < st->opts.chunk_max_samples ?
	    st->opts.chunk_target_samples : st->opts.chunk_max_samples;
	if (n < 2)
		return max;
	step = (chunk_app_last(app) - chunk_app_first(app)) / (int64_t)(n - 1);
	if (step <= 0 || step > max / target)
		return max;
	want = step * target;
	for (i = 0; i < sizeof(span_ladder) / sizeof(span_ladder[0]); i++)
		if (span_ladder[i] >= want)
			return span_ladder[i] < max ? span_ladder[i] : max;
	return max;
}

/* Whether the open chunk must be sealed before T goes in. */
static int
head_full(const struct store *st, const struct chunk_app *app, int64_t t)
{
	int64_t span;

	if (chunk_app_count(app) >= st->opts.chunk_max_samples)
		return 1;
	if (st->opts.chunk_max_bytes > 0 && chunk_app_bytes(app) +
	    HEAD_SAMPLE_MAX > st->opts.chunk_max_bytes)
		return 1;
	span = head_span(st, app);
	return rollup_align(t, span) != rollup_align(chunk_app_first(app),
	    span);
}

void
head_free(struct series *s)
{
	struct sealed *p, *next;

	chunk_app_free(s->head);
	s->head = NULL;
	for (p = s->pending; p != NULL; p = next) {
		next = p->next;
		free(p);
	}
	s->pending = NULL;
	s->npending = 0;
}

/*
 * Move the open chunk to the pending list, encoded for good: packed values
 * with their timestamp column apart.  Stripe lock held.
 */
static int
seal_locked(struct series *s)
{
	const uint8_t	*data, *times;
	size_t		 len, tlen;
	struct sealed	*p, **pp;

	if (s->head == NULL)
		return 0;
	if (chunk_app_count(s->head) == 0) {
		chunk_app_free(s->head);
		s->head = NULL;
		return 0;
	}
	chunk_app_set_encoding(s->head, 0);
	if (chunk_app_bytes_out_shared(s->head, &data, &len, &times,
	    &tlen) != 0) {
		chunk_app_set_encoding(s->head, CHUNK_ENC_GORILLA);
		return -1;
	}
	p = xmalloc(sizeof(*p) + len + tlen);
	p->next = NULL;
	p->first = chunk_app_first(s->head);
	p->last = chunk_app_last(s->head);
	p->len = len;
	p->tlen = tlen;
	memcpy(p->data, data, len);
	memcpy(p->data + len, times, tlen);
	for (pp = &s->pending; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = p;
	s->npending++;
	chunk_app_free(s->head);
	s->head = NULL;
	return 0;
}

int
head_seal(struct store *st, struct series *s)
{
	pthread_mutex_t	*lk = store_stripe(st, s->id);
	int		 rc;

	pthread_mutex_lock(lk);
	rc = seal_locked(s);
	pthread_mutex_unlock(lk);
	if (rc == 0)
		store_dirty(st, s);
	return rc;
}

int
head_append(struct store *st, struct series *s, int64_t t, double v,
    struct store_append_stats *a)
{
	pthread_mutex_t	*lk = store_stripe(st, s->id);
	uint64_t	 bits;
	int		 rc = 0;

	memcpy(&bits, &v, sizeof(bits));
	pthread_mutex_lock(lk);
	if (s->last_t != INT64_MIN && t <= s->last_t) {
		if (t < s->last_t)
			a->out_of_order++;
		else if (bits != s->last_vbits)
			a->duplicate++;
		goto out;
	}
	if (s->head != NULL && head_full(st, s->head, t)) {
		if (s->npending >= STORE_MAX_PENDING) {
			rc = HEAD_BACKLOG;
			goto out;
		}
		if (seal_locked(s) != 0)
			goto fail;
	}
	if (s->head == NULL)
		s->head = head_new();
	if (chunk_app_add(s->head, t, v) != 0) {
		/* The codec's own limit: seal and start afresh. */
		if (s->npending >= STORE_MAX_PENDING) {
			rc = HEAD_BACKLOG;
			goto out;
		}
		if (seal_locked(s) != 0)
			goto fail;
		s->head = head_new();
		if (chunk_app_add(s->head, t, v) != 0)
			goto fail;
	}
	s->last_t = t;
	s->last_vbits = bits;
	if (s->mint == INT64_MAX)
		s->mint = t;
	a->appended++;
	pthread_mutex_unlock(lk);
	store_dirty(st, s);
	return 0;
fail:
	a->write_error++;
	rc = -1;
out:
	pthread_mutex_unlock(lk);
	return rc;
}

struct flush_ctx {
	struct store	 *st;
	struct series	**v;
	size_t		  n;
	uint64_t	  chunks, columns;
};

/* The writer lock keeps every pending chunk as it is. */
static int
seal_txn(struct kv_txn *txn, void *arg)
{
	struct flush_ctx	*fc = arg;
	struct chunkdb_batch	*cb = chunkdb_batch_new();
	struct sealed		*p;
	size_t			 i;
	int			 rc;

	fc->chunks = fc->columns = 0;
	for (i = 0; i < fc->n; i++)
		for (p = fc->v[i]->pending; p != NULL; p = p->next) {
			chunkdb_batch_add(cb, fc->v[i]->id, p);
			fc->chunks++;
		}
	rc = chunkdb_batch_write(txn, cb, &fc->columns);
	chunkdb_batch_free(cb);
	return rc;
}

/*
 * Write the sealed chunks of every dirty series, then forget them.  Their
 * checkpoints follow in flush_txn: a crash in between leaves checkpoints
 * whose samples the sealed chunks hold, which head_restore skips.
 */
static int
flush_sealed(struct store *st, char *err, size_t errlen)
{
	struct flush_ctx	 fc;
	struct series		**v;
	struct sealed		*p, *next;
	pthread_mutex_t		*lk;
	size_t			 n = 0, start, end, i, bytes;
	int			 rc = 0;

	v = xcalloc(st->ndirty + 1, sizeof(*v));
	for (i = 0; i < st->ndirty; i++)
		if (st->dirty[i]->pending != NULL)
			v[n++] = st->dirty[i];
	for (start = 0; start < n && rc == 0; start = end) {
		for (end = start, bytes = 0; end < n && (end == start ||
		    (bytes < SEAL_TXN_BYTES && end - start < SEAL_TXN_SERIES));
		    end++)
			for (p = v[end]->pending; p != NULL; p = p->next)
				bytes += p->len + p->tlen;
		fc.st = st;
		fc.v = v + start;
		fc.n = end - start;
		if ((rc = kv_write(st->kv, seal_txn, &fc, err, errlen)) < 0)
			break;
		for (i = start; i < end; i++) {
			lk = store_stripe(st, v[i]->id);
			pthread_mutex_lock(lk);
			for (p = v[i]->pending; p != NULL; p = next) {
				next = p->next;
				free(p);
			}
			v[i]->pending = NULL;
			v[i]->npending = 0;
			pthread_mutex_unlock(lk);
		}
		pthread_mutex_lock(&st->statlock);
		st->st.chunks_written += fc.chunks;
		st->st.columns_written += fc.columns;
		pthread_mutex_unlock(&st->statlock);
	}
	free(v);
	return rc;
}

/* Checkpoints of open chunks (their sealed chunks are on disk). */
static int
flush_txn(struct kv_txn *txn, void *arg)
{
	struct flush_ctx	*fc = arg;
	struct series		*s;
	pthread_mutex_t		*lk;
	const uint8_t		*data;
	uint8_t			 k[8];
	size_t			 i, len;
	int			 rc = 0;

	for (i = 0; i < fc->n && rc == 0; i++) {
		s = fc->v[i];
		lk = store_stripe(fc->st, s->id);
		pthread_mutex_lock(lk);
		key_put64(k, s->id);
		if (s->head != NULL) {
			if (chunk_app_bytes_out(s->head, &data, &len) != 0)
				rc = KV_EFAIL;
			else
				rc = kv_put(txn, KV_DB_HEAD, k, 8, data, len);
			/* LMDB has copied the bytes: keeping them would
			 * double the memory of every open chunk. */
			chunk_app_trim(s->head);
		} else if (s->has_ckpt) {
			rc = kv_del(txn, KV_DB_HEAD, k, 8, NULL, 0);
			if (rc == KV_NOTFOUND)
				rc = 0;
		}
		pthread_mutex_unlock(lk);
	}
	return rc;
}

/* The checkpoints are on disk. */
static void
flush_done(struct store *st, struct series **v, size_t n)
{
	pthread_mutex_t	*lk;
	size_t		 i;

	for (i = 0; i < n; i++) {
		lk = store_stripe(st, v[i]->id);
		pthread_mutex_lock(lk);
		v[i]->has_ckpt = v[i]->head != NULL;
		v[i]->dirty = 0;
		pthread_mutex_unlock(lk);
	}
}

static size_t
flush_bytes(struct series *s)
{
	size_t n = 64;

	if (s->head != NULL)
		n += chunk_app_bytes(s->head) + 32;
	return n;
}

/*
 * Write every dirty series.  Writer lock held.  On failure the series not
 * yet written stay dirty (and their data in memory) for the next attempt.
 */
int
head_flush(struct store *st, char *err, size_t errlen)
{
	struct flush_ctx	 fc;
	size_t			 start = 0, end, bytes, left;
	int			 rc;

	if ((rc = flush_sealed(st, err, errlen)) < 0)
		return -1;
	while (start < st->ndirty) {
		for (end = start, bytes = 0; end < st->ndirty &&
		    (end == start || (bytes < FLUSH_TXN_BYTES &&
		    end - start < FLUSH_TXN_SERIES)); end++)
			bytes += flush_bytes(st->dirty[end]);
		fc.st = st;
		fc.v = st->dirty + start;
		fc.n = end - start;
		rc = kv_write(st->kv, flush_txn, &fc, err, errlen);
		if (rc < 0)
			break;
		flush_done(st, fc.v, fc.n);
		start = end;
	}
	left = st->ndirty - start;
	if (left > 0 && start > 0)
		memmove(st->dirty, st->dirty + start, left *
		    sizeof(*st->dirty));
	st->ndirty = left;
	return rc < 0 ? -1 : 0;
}

/* The newest sample of a chunk: the series' last time and value. */
static int
restore_last(void *arg, int64_t first, const uint8_t *data, size_t len,
    const uint8_t *times, size_t tlen)
{
	struct series		*s = arg;
	struct chunk_iter	 it;
	int64_t			 t;
	double			 v;

	(void)first;
	/* A damaged chunk is the reader's to report. */
	if ((times != NULL ? chunk_iter_init_shared(&it, data, len, times,
	    tlen) : chunk_iter_init(&it, data, len)) != 0)
		return 0;
	while (chunk_iter_next(&it, &t, &v) == 1) {
		s->last_t = t;
		memcpy(&s->last_vbits, &v, sizeof(v));
	}
	return 0;
}

/* Rebuild an appender from checkpoint bytes, keeping samples after the
 * sealed chunks.  -1 when the bytes do not decode. */
static int
restore_head(struct series *s, const void *data, size_t len)
{
	struct chunk_iter	 it;
	struct chunk_app	*app;
	int64_t			 t;
	double			 v;
	int			 rc;

	if (chunk_iter_init(&it, data, len) != 0)
		return -1;
	app = head_new();
	while ((rc = chunk_iter_next(&it, &t, &v)) == 1) {
		if (s->last_t != INT64_MIN && t <= s->last_t)
			continue;
		if (chunk_app_add(app, t, v) != 0)
			break;
		s->last_t = t;
		memcpy(&s->last_vbits, &v, sizeof(v));
		if (s->mint == INT64_MAX || t < s->mint)
			s->mint = t;
	}
	if (rc < 0) {
		chunk_app_free(app);
		return -1;
	}
	if (chunk_app_count(app) == 0)
		chunk_app_free(app);
	else
		s->head = app;
	s->has_ckpt = 1;
	return 0;
}

/*
 * At open: the time bounds of every series from its chunks, then the
 * checkpoints.  A checkpoint that does not decode is dropped (and
 * reported); one of a series that no longer exists is ignored.
 */
int
head_restore(struct store *st, char *err, size_t errlen)
{
	struct kv_txn		*txn;
	struct kv_cursor	*cur = NULL;
	struct kv_val		 k, v;
	struct series		*s;
	size_t			 i, bad = 0;
	int			 rc;

	if (kv_read_begin(st->kv, &txn, err, errlen) < 0)
		return -1;
	rc = 0;
	for (i = 0; i < st->idx.nbuckets && rc >= 0; i++)
		for (s = st->idx.byid[i]; s != NULL && rc >= 0; s = s->inext)
			rc = chunkdb_bounds(txn, s->id, &s->mint,
			    restore_last, s);
	if (rc < 0 || (rc = kv_cursor_open(txn, KV_DB_HEAD, &cur)) < 0)
		goto out;
	for (rc = kv_cursor_get(cur, KV_FIRST, &k, &v); rc == 0;
	    rc = kv_cursor_get(cur, KV_NEXT, &k, &v)) {
		if (k.len != 8 || (s = series_find_id(&st->idx,
		    key_get64(k.data))) == NULL)
			continue;
		if (restore_head(s, v.data, v.len) != 0) {
			bad++;
			s->has_ckpt = 1;
			store_dirty(st, s);
		}
	}
	if (rc == KV_NOTFOUND)
		rc = 0;
out:
	if (rc < 0)
		snprintf(err, errlen, "restoring head chunks: %s",
		    kv_txn_error(txn));
	kv_cursor_close(cur);
	kv_read_end(txn);
	if (rc == 0 && bad > 0) {
		char msg[128];

		snprintf(msg, sizeof(msg), "%zu damaged head checkpoints "
		    "dropped at open", bad);
		store_set_error(st, 0, msg);
	}
	return rc < 0 ? -1 : 0;
}

/*
 * Retention of the head: drop the open chunk and the pending chunks whose
 * samples are all before CUT, and seal an open chunk whose newest sample
 * is before IDLE so that a series that went quiet ages out like the rest.
 * Writer lock held.
 */
void
head_trim(struct store *st, struct series *s, int64_t cut, int64_t idle)
{
	pthread_mutex_t	*lk = store_stripe(st, s->id);
	struct sealed	*p;
	int		 changed = 0;

	pthread_mutex_lock(lk);
	while ((p = s->pending) != NULL && p->last < cut) {
		s->pending = p->next;
		s->npending--;
		free(p);
		changed = 1;
	}
	if (s->head != NULL && chunk_app_count(s->head) > 0 &&
	    chunk_app_last(s->head) < cut) {
		chunk_app_free(s->head);
		s->head = NULL;
		changed = 1;
	} else if (s->head != NULL && s->last_t < idle) {
		(void)seal_locked(s);
		changed = 1;
	}
	pthread_mutex_unlock(lk);
	if (changed)
		store_dirty(st, s);
}

/* Oldest sample in memory, or INT64_MAX.  Stripe lock held. */
int64_t
head_mint_locked(const struct series *s)
{
	if (s->pending != NULL)
		return s->pending->first;
	if (s->head != NULL && chunk_app_count(s->head) > 0)
		return chunk_app_first(s->head);
	return INT64_MAX;
}
