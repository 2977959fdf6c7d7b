/*
 * head: the open chunk of every series, its sealing, and its durability.
 *
 * A chunk is sealed when its next sample crosses a time boundary, at
 * chunk_max_samples, or when its Gorilla size nears chunk_max_bytes.  The
 * boundaries are multiples (from the epoch) of a span picked from a fixed
 * ladder so that a chunk holds at least chunk_target_samples at the
 * series' own rate (at most chunk_max_span_ms): series scraped together
 * have the same timestamps, hence the same spans and boundaries, and seal
 * together, which lets them share one timestamp column on disk.
 *
 * An open chunk keeps only its newest samples in memory: an appender
 * (the tail) that becomes a segment, a Gorilla chunk of its own, every
 * head_segment_samples samples.  A flush writes the segments made since
 * the last one to HEAD, keyed by (series id, first time), and forgets
 * them; it also writes the tail there as it is, under a key of its own,
 * so that on disk a series is always at one flush or the next.  A
 * sealed chunk is first closed; the next flush begins by reading its
 * segments back, encoding the sealed chunk for good (packed values,
 * shared timestamps; see storage/FORMAT.md), writing it and deleting
 * the segments, in one transaction for all of a series' closed chunks.
 * Those transactions are few and large (up to thousands of series), so
 * that the sealed chunks pack into few, full groups (chunkdb.c); the
 * new segments and tails follow in smaller ones.  A crash in between
 * finds a series' closed chunks sealed and its open chunk as of the
 * last flush: nothing the last flush wrote is lost, nothing is there
 * twice.  So a flush writes each sample about twice (in a segment, then
 * in the sealed chunk) plus the small tail, where rewriting whole open
 * chunks at every flush wrote it up to a few hundred times, and memory
 * holds at most a segment's worth of an open chunk.  At open the
 * segments on disk become the open chunks again.
 *
 * Every change to a series' head fields happens under its stripe lock,
 * which readers take to copy the head out.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/mman.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

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
 * Closed chunks are sealed first, in transactions of their own that may
 * be much larger: the sealed chunks' bytes live in overflow pages, which
 * LMDB frees after the commit instead of keeping them, and the more
 * chunks a transaction has, the fewer and fuller the groups it packs them
 * in (chunkdb.c).  The segments it deletes do touch a HEAD page or so a
 * series, which LMDB keeps.
 */
#define SEAL_TXN_BYTES		(8u << 20)
#define SEAL_TXN_SERIES		4096
/* Sealing at least this many bytes of segments hands memory back after. */
#define SEAL_TRIM_BYTES		(256u << 10)
/* Most bytes one more sample may add to a chunk (a Gorilla sample with
 * both fields in full takes 4 + 64 + 13 + 64 bits). */
#define HEAD_SAMPLE_MAX		20
/*
 * HEAD keys.  Segments: 01, series id, first time; tails: 02, series id.
 * Tails apart, because a flush rewrites the tail of every series written
 * since the last one: those of neighbouring series share pages instead of
 * each sitting among its own segments, which would make a flush copy and
 * write a page for every two or three series.
 */
#define SEG_KEY_LEN		17
#define TAIL_KEY_LEN		9
#define KEY_SEG			0x01
#define KEY_TAIL		0x02

/* Chunk spans; each divides a day, so boundaries fall on the same
 * instants whatever the span. */
static const int64_t span_ladder[] = {
	60000, 120000, 300000, 600000, 900000, 1800000, 3600000, 7200000,
	10800000, 14400000, 21600000, 28800000, 43200000, 86400000,
};

static void
seg_key(uint8_t *k, uint64_t id, int64_t first)
{
	k[0] = KEY_SEG;
	key_put64(k + 1, id);
	key_put_time(k + 9, first);
}

static void
tail_key(uint8_t *k, uint64_t id)
{
	k[0] = KEY_TAIL;
	key_put64(k + 1, id);
}

/* Whether K is a segment key of ID (any when ID is 0). */
static int
is_seg_key(const struct kv_val *k, uint64_t id)
{
	const uint8_t *p = k->data;

	return k->len == SEG_KEY_LEN && p[0] == KEY_SEG &&
	    (id == 0 || key_get64(p + 1) == id);
}

static size_t
tail_count(const struct series *s)
{
	return s->tail != NULL ? chunk_app_count(s->tail) : 0;
}

/* The span of the series' chunks: at least the target count of samples
 * at the rate seen so far. */
static int64_t
head_span(const struct store *st, const struct hchunk *o)
{
	size_t	n = o->count, i;
	int64_t	step, want, max = st->opts.chunk_max_span_ms, target;

	target = st->opts.chunk_target_samples < st->opts.chunk_max_samples ?
	    st->opts.chunk_target_samples : st->opts.chunk_max_samples;
	if (n < 2)
		return max;
	step = (o->last - o->first) / (int64_t)(n - 1);
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
head_full(const struct store *st, const struct series *s, int64_t t)
{
	const struct hchunk	*o = s->open;
	int64_t			 span;

	if (o->count >= st->opts.chunk_max_samples)
		return 1;
	if (st->opts.chunk_max_bytes > 0 && o->bytes +
	    (s->tail != NULL ? chunk_app_bytes(s->tail) : 0) +
	    HEAD_SAMPLE_MAX > st->opts.chunk_max_bytes)
		return 1;
	span = head_span(st, o);
	return rollup_align(t, span) != rollup_align(o->first, span);
}

/*
 * Segments live from the moment a tail fills until the next flush has
 * written them (or, for a closed chunk, sealed them): seconds, where the
 * tails, appenders and series around them live for hours.  Taken from
 * malloc, they would leave a hole at every flush among those long-lived
 * objects, which the next tails then spread into: pages that stay
 * resident for a few live bytes each.  So they are cut from blocks of
 * their own, mapped apart from malloc's heap and unmapped as soon as
 * their last segment is gone.  A block is cut in order; the current one
 * starts over when it empties.  All under the writer lock (appends,
 * flushes, retention and close hold it).
 */
#define SEG_BLOCK	(64u << 10)
#define SEG_ALIGN	16

struct segblock {
	size_t		 size;		/* mapped, this header included */
	size_t		 used;		/* cut, this header included */
	size_t		 live;		/* segments not freed */
	int		 current;	/* the store's segblk */
};

static size_t
seg_round(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

static void
segblock_unmap(struct segblock *b)
{
	munmap(b, b->size);
}

static struct seg *
seg_alloc(struct store *st, size_t len)
{
	struct segblock	*b = st->segblk;
	struct seg	*g;
	size_t		 need = seg_round(sizeof(*g) + len, SEG_ALIGN);
	size_t		 hdr = seg_round(sizeof(*b), SEG_ALIGN), size;
	void		*p;

	if (b != NULL && b->live == 0)
		b->used = hdr;
	if (b == NULL || b->size - b->used < need) {
		if (b != NULL) {
			b->current = 0;
			if (b->live == 0)
				segblock_unmap(b);
		}
		size = seg_round(hdr + need, SEG_BLOCK);
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANON, -1, 0);
		if (p == MAP_FAILED) {
			fprintf(stderr, "monitord: out of memory mapping %zu "
			    "bytes\n", size);
			abort();
		}
		b = p;
		b->size = size;
		b->used = hdr;
		b->live = 0;
		b->current = 1;
		st->segblk = b;
	}
	g = (struct seg *)((uint8_t *)b + b->used);
	b->used += need;
	b->live++;
	g->blk = b;
	return g;
}

static void
segs_free(struct seg *g)
{
	struct seg	*next;
	struct segblock	*b;

	for (; g != NULL; g = next) {
		next = g->next;
		b = g->blk;
		if (--b->live == 0 && !b->current)
			segblock_unmap(b);
	}
}

void
head_pool_free(struct store *st)
{
	struct segblock	*b = st->segblk;

	st->segblk = NULL;
	if (b == NULL)
		return;
	b->current = 0;
	if (b->live == 0)
		segblock_unmap(b);
}

static void
hchunk_free(struct hchunk *c)
{
	if (c == NULL)
		return;
	segs_free(c->mem);
	free(c);
}

void
head_free(struct series *s)
{
	struct hchunk *c, *next;

	if (s->open != NULL)
		segs_free(s->open->mem);
	s->open = NULL;
	chunk_app_free(s->tail);
	s->tail = NULL;
	for (c = s->closed; c != NULL; c = next) {
		next = c->next;
		hchunk_free(c);
	}
	s->closed = NULL;
	s->npending = 0;
}

/* The tail becomes a segment of the open chunk.  Stripe lock held. */
static void
tail_to_seg(struct store *st, struct series *s)
{
	struct seg	*g, **gp;
	size_t		 len = chunk_app_copy(s->tail, NULL, 0);

	g = seg_alloc(st, len);
	g->next = NULL;
	g->first = chunk_app_first(s->tail);
	g->len = (uint32_t)len;
	(void)chunk_app_copy(s->tail, g->data, len);
	for (gp = &s->open->mem; *gp != NULL; gp = &(*gp)->next)
		;
	*gp = g;
	s->open->bytes = s->open->bytes + g->len > HCHUNK_BYTES_MAX ?
	    HCHUNK_BYTES_MAX : s->open->bytes + g->len;
	/*
	 * Freed, not reset: its buffer grew to a segment's size, which every
	 * series would otherwise keep; the next tail grows again as it fills.
	 */
	chunk_app_free(s->tail);
	s->tail = NULL;
}

/* Close the open chunk: the next flush merges it.  Stripe lock held. */
static void
close_locked(struct store *st, struct series *s)
{
	struct hchunk **cp, *c;

	if (s->open == NULL)
		return;
	if (tail_count(s) > 0)
		tail_to_seg(st, s);
	chunk_app_free(s->tail);
	s->tail = NULL;
	for (cp = &s->closed; *cp != NULL; cp = &(*cp)->next)
		;
	c = xmalloc(sizeof(*c));
	*c = *s->open;
	c->next = NULL;
	*cp = c;
	s->open = NULL;
	s->npending++;
}

int
head_seal(struct store *st, struct series *s)
{
	pthread_mutex_t	*lk = store_stripe(st, s->id);

	pthread_mutex_lock(lk);
	close_locked(st, s);
	pthread_mutex_unlock(lk);
	store_dirty(st, s);
	return 0;
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
	if (s->open != NULL && head_full(st, s, t)) {
		if (s->npending >= STORE_MAX_PENDING) {
			rc = HEAD_BACKLOG;
			goto out;
		}
		close_locked(st, s);
	}
	if (s->tail == NULL)
		s->tail = chunk_app_new();
	/* Cannot fail: T is after the tail's last, which is not full. */
	if (chunk_app_add(&s->tail, t, v) != 0) {
		a->write_error++;
		rc = -1;
		goto out;
	}
	if (s->open == NULL) {
		memset(&s->ochunk, 0, sizeof(s->ochunk));
		s->open = &s->ochunk;
		s->open->first = t;
	}
	s->open->count++;
	s->open->last = t;
	if (tail_count(s) >= st->opts.head_segment_samples)
		tail_to_seg(st, s);
	s->last_t = t;
	s->last_vbits = bits;
	if (s->mint == INT64_MAX)
		s->mint = t;
	a->appended++;
	pthread_mutex_unlock(lk);
	store_dirty(st, s);
	return 0;
out:
	pthread_mutex_unlock(lk);
	return rc;
}

struct flush_ctx {
	struct store	 *st;
	struct series	**v;
	size_t		  n;
	uint64_t	  chunks, columns, bad;
	/* The sealed chunks of a seal transaction, newest first. */
	struct sealed	 *sealed;
	/* Scratch: a closed chunk's samples, its keys, the tail's bytes. */
	int64_t		 *t;
	double		 *val;
	size_t		  ns, cap;
	int64_t		 *keys;
	size_t		  nkeys, keycap;
	uint8_t		 *buf;
	size_t		  bufcap;
};

static void
flush_ctx_free(struct flush_ctx *fc)
{
	free(fc->t);
	free(fc->val);
	free(fc->keys);
	free(fc->buf);
}

/* Add the samples of a segment after those already there; -1 when it
 * does not decode (what came before the damage is kept). */
static int
merge_add(struct flush_ctx *fc, const uint8_t *data, size_t len)
{
	struct chunk_iter	it;
	int64_t			t;
	double			v;
	int			rc;

	if (chunk_iter_init(&it, data, len) != 0)
		return -1;
	while ((rc = chunk_iter_next(&it, &t, &v)) == 1) {
		/* A tail written before it filled is the start of the
		 * segment it became. */
		if (fc->ns > 0 && t <= fc->t[fc->ns - 1])
			continue;
		if (fc->ns == fc->cap) {
			fc->cap = fc->cap ? fc->cap * 2 : 512;
			fc->t = xreallocarray(fc->t, fc->cap, sizeof(*fc->t));
			fc->val = xreallocarray(fc->val, fc->cap,
			    sizeof(*fc->val));
		}
		fc->t[fc->ns] = t;
		fc->val[fc->ns++] = v;
	}
	return rc < 0 ? -1 : 0;
}

/* FN(ARG, first, value) for each segment of ID whose first time is in
 * [lo, hi], in time order. */
static int
seg_walk(struct kv_txn *txn, uint64_t id, int64_t lo, int64_t hi,
    void (*fn)(void *, int64_t, const struct kv_val *), void *arg)
{
	struct kv_cursor	*cur;
	struct kv_val		 k, v;
	uint8_t			 key[SEG_KEY_LEN];
	int64_t			 first;
	int			 rc;

	if ((rc = kv_cursor_open(txn, KV_DB_HEAD, &cur)) < 0)
		return rc;
	seg_key(key, id, lo);
	k.data = key;
	k.len = sizeof(key);
	for (rc = kv_cursor_get(cur, KV_SET_RANGE, &k, &v); rc == 0;
	    rc = kv_cursor_get(cur, KV_NEXT, &k, &v)) {
		if (!is_seg_key(&k, id))
			break;
		first = key_get_time((const uint8_t *)k.data + 9);
		if (first > hi)
			break;
		fn(arg, first, &v);
	}
	kv_cursor_close(cur);
	return rc == KV_NOTFOUND ? 0 : rc;
}

struct scan_ctx {
	struct flush_ctx	*fc;
	int			 merge;
};

static void
scan_one(void *arg, int64_t first, const struct kv_val *v)
{
	struct scan_ctx		*sc = arg;
	struct flush_ctx	*fc = sc->fc;

	if (fc->nkeys == fc->keycap) {
		fc->keycap = fc->keycap ? fc->keycap * 2 : 64;
		fc->keys = xreallocarray(fc->keys, fc->keycap,
		    sizeof(*fc->keys));
	}
	fc->keys[fc->nkeys++] = first;
	if (sc->merge && merge_add(fc, v->data, v->len) != 0)
		fc->bad++;
}

/*
 * The keys of the segments of ID in [lo, hi] into fc->keys, and with
 * MERGE their samples into fc->t and fc->val.
 */
static int
seg_scan(struct kv_txn *txn, struct flush_ctx *fc, uint64_t id, int64_t lo,
    int64_t hi, int merge)
{
	struct scan_ctx	sc = { fc, merge };

	fc->nkeys = 0;
	return seg_walk(txn, id, lo, hi, scan_one, &sc);
}

/*
 * The tail on disk of ID when its first time is in [lo, hi]: with MERGE
 * its samples go after those there; it is deleted.
 */
static int
tail_take(struct kv_txn *txn, struct flush_ctx *fc, uint64_t id, int64_t lo,
    int64_t hi, int merge)
{
	struct kv_val	v;
	uint8_t		key[TAIL_KEY_LEN];
	uint32_t	n;
	int64_t		first, last;
	int		rc;

	tail_key(key, id);
	if ((rc = kv_get(txn, KV_DB_HEAD, key, sizeof(key), &v)) != 0)
		return rc == KV_NOTFOUND ? 0 : rc;
	/* One that does not read is of no chunk: it goes too. */
	if (chunk_peek(v.data, v.len, &n, &first, &last) == 0 &&
	    (first < lo || first > hi))
		return 0;
	if (merge && merge_add(fc, v.data, v.len) != 0)
		fc->bad++;
	return kv_del(txn, KV_DB_HEAD, key, sizeof(key), NULL, 0);
}

/* Delete the segments seg_scan found. */
static int
seg_del_found(struct kv_txn *txn, struct flush_ctx *fc, uint64_t id)
{
	uint8_t	key[SEG_KEY_LEN];
	size_t	i;
	int	rc;

	for (i = 0; i < fc->nkeys; i++) {
		seg_key(key, id, fc->keys[i]);
		if ((rc = kv_del(txn, KV_DB_HEAD, key, sizeof(key), NULL,
		    0)) < 0)
			return rc;
	}
	return 0;
}

/*
 * A closed chunk becomes a sealed one: its segments from disk and memory
 * are merged and encoded for good, added to the batch, and deleted from
 * HEAD.
 */
static int
merge_closed(struct kv_txn *txn, struct flush_ctx *fc,
    struct chunkdb_batch *cb, struct series *s, struct hchunk *c)
{
	struct chunk_app	*app;
	struct sealed		*p;
	struct seg		*g;
	const uint8_t		*data, *times;
	size_t			 len, tlen, i;
	int			 rc;

	fc->ns = 0;
	if ((rc = seg_scan(txn, fc, s->id, c->first, c->last, 1)) < 0 ||
	    (rc = tail_take(txn, fc, s->id, c->first, c->last, 1)) < 0)
		return rc;
	for (g = c->mem; g != NULL; g = g->next)
		if (merge_add(fc, g->data, g->len) != 0)
			fc->bad++;
	if ((rc = seg_del_found(txn, fc, s->id)) < 0 || fc->ns == 0)
		return rc;
	app = chunk_app_new();
	/* The merged samples as they are; one by one (up to what does
	 * not go in) only if they do not make a chunk. */
	if (chunk_app_load(app, fc->t, fc->val, fc->ns) != 0)
		for (i = 0; i < fc->ns; i++)
			if (chunk_app_add(&app, fc->t[i], fc->val[i]) != 0) {
				fc->bad++;
				break;
			}
	if (chunk_app_bytes_out_shared(app, &data, &len, &times,
	    &tlen) != 0) {
		chunk_app_free(app);
		return KV_EFAIL;
	}
	p = xmalloc(sizeof(*p) + len + tlen);
	p->next = NULL;
	p->first = chunk_app_first(app);
	p->last = chunk_app_last(app);
	p->len = len;
	p->tlen = tlen;
	memcpy(p->data, data, len);
	memcpy(p->data + len, times, tlen);
	chunk_app_free(app);
	/* The batch refers to P until the transaction ends. */
	p->next = fc->sealed;
	fc->sealed = p;
	chunkdb_batch_add(cb, s->id, p);
	fc->chunks++;
	return 0;
}

static void
sealed_free(struct flush_ctx *fc)
{
	struct sealed *p, *next;

	for (p = fc->sealed; p != NULL; p = next) {
		next = p->next;
		free(p);
	}
	fc->sealed = NULL;
}

/*
 * The closed chunks of a group of series: merged, written as groups of
 * chunks, and their segments deleted, in this one transaction, so a crash
 * finds each chunk either in its segments or sealed, never both.
 */
static int
seal_txn(struct kv_txn *txn, void *arg)
{
	struct flush_ctx	*fc = arg;
	struct chunkdb_batch	*cb = chunkdb_batch_new();
	struct series		*s;
	struct hchunk		*c;
	pthread_mutex_t		*lk;
	size_t			 i;
	int			 rc = 0;

	/* kv_write may run this again after growing the map. */
	sealed_free(fc);
	fc->chunks = fc->columns = fc->bad = 0;
	for (i = 0; i < fc->n && rc >= 0; i++) {
		s = fc->v[i];
		lk = store_stripe(fc->st, s->id);
		pthread_mutex_lock(lk);
		for (c = s->closed; c != NULL && rc >= 0; c = c->next) {
			if (!c->drop)
				rc = merge_closed(txn, fc, cb, s, c);
			else if ((rc = seg_scan(txn, fc, s->id, c->first,
			    c->last, 0)) >= 0 && (rc = seg_del_found(txn, fc,
			    s->id)) >= 0)
				rc = tail_take(txn, fc, s->id, c->first,
				    c->last, 0);
		}
		pthread_mutex_unlock(lk);
	}
	/* The writer lock keeps the closed chunks as they are. */
	if (rc >= 0)
		rc = chunkdb_batch_write(txn, cb, &fc->columns);
	chunkdb_batch_free(cb);
	sealed_free(fc);
	return rc < 0 ? rc : 0;
}

/* The closed chunks are on disk, sealed: forget them. */
static void
seal_done(struct store *st, struct series **v, size_t n)
{
	struct hchunk	*c, *next;
	pthread_mutex_t	*lk;
	size_t		 i;

	for (i = 0; i < n; i++) {
		lk = store_stripe(st, v[i]->id);
		pthread_mutex_lock(lk);
		for (c = v[i]->closed; c != NULL; c = next) {
			next = c->next;
			hchunk_free(c);
		}
		v[i]->closed = NULL;
		v[i]->npending = 0;
		pthread_mutex_unlock(lk);
	}
}

/*
 * Seal the closed chunks of every dirty series.  On failure those not yet
 * sealed stay closed, and the flush stops there: a series' new segments
 * and tail must not go to disk before its closed chunks are sealed, whose
 * tail on disk the new one would replace.
 */
static int
flush_sealed(struct store *st, struct flush_ctx *fc, uint64_t *bad,
    char *err, size_t errlen)
{
	struct series		**v;
	struct hchunk		*c;
	size_t			 n = 0, start, end, i, bytes, total = 0;
	int			 rc = 0;

	v = xcalloc(st->ndirty + 1, sizeof(*v));
	for (i = 0; i < st->ndirty; i++)
		if (st->dirty[i]->closed != NULL)
			v[n++] = st->dirty[i];
	for (start = 0; start < n; start = end) {
		for (end = start, bytes = 0; end < n && (end == start ||
		    (bytes < SEAL_TXN_BYTES && end - start < SEAL_TXN_SERIES));
		    end++)
			for (c = v[end]->closed; c != NULL; c = c->next)
				bytes += c->bytes + 64;
		total += bytes;
		fc->v = v + start;
		fc->n = end - start;
		if ((rc = kv_write(st->kv, seal_txn, fc, err, errlen)) < 0)
			break;
		seal_done(st, fc->v, fc->n);
		*bad += fc->bad;
		pthread_mutex_lock(&st->statlock);
		st->st.chunks_written += fc->chunks;
		st->st.columns_written += fc->columns;
		pthread_mutex_unlock(&st->statlock);
		if ((rc = store_fault(st, "flush.sealed", err, errlen)) < 0)
			break;
	}
	free(v);
	/*
	 * Sealing takes a few times the sealed bytes in short-lived buffers
	 * (merged samples, encoded chunks, groups, LMDB's pages for them);
	 * malloc would keep those pages resident until it reuses them, and
	 * sealing comes in bursts (series scraped together seal together).
	 */
	if (total >= SEAL_TRIM_BYTES) {
		if (st->opts.trim != NULL)
			st->opts.trim(st->opts.trim_arg);
#ifdef __GLIBC__
		else
			malloc_trim(0);
#endif
	}
	return rc < 0 ? -1 : 0;
}

static int
seg_put(struct kv_txn *txn, uint64_t id, int64_t first, const uint8_t *data,
    size_t len)
{
	uint8_t	key[SEG_KEY_LEN];

	seg_key(key, id, first);
	return kv_put(txn, KV_DB_HEAD, key, sizeof(key), data, len);
}

static int
tail_del(struct kv_txn *txn, uint64_t id)
{
	uint8_t	key[TAIL_KEY_LEN];
	int	rc;

	tail_key(key, id);
	rc = kv_del(txn, KV_DB_HEAD, key, sizeof(key), NULL, 0);
	return rc == KV_NOTFOUND ? 0 : rc;
}

/* One series: the open chunk's new segments and its tail (its closed
 * chunks are sealed by now).  Stripe lock held. */
static int
flush_series(struct kv_txn *txn, struct flush_ctx *fc, struct series *s)
{
	struct seg	*g;
	uint8_t		 key[TAIL_KEY_LEN];
	size_t		 len;
	int		 rc = 0;

	if (s->open == NULL)
		return 0;
	for (g = s->open->mem; g != NULL && rc >= 0; g = g->next)
		rc = seg_put(txn, s->id, g->first, g->data, g->len);
	/* A tail that just became a segment is in it now. */
	if (rc < 0 || tail_count(s) == 0)
		return rc < 0 || s->open->mem == NULL ? rc :
		    tail_del(txn, s->id);
	len = chunk_app_copy(s->tail, NULL, 0);
	if (len > fc->bufcap) {
		fc->bufcap = len;
		fc->buf = xreallocarray(fc->buf, len, 1);
	}
	(void)chunk_app_copy(s->tail, fc->buf, len);
	tail_key(key, s->id);
	return kv_put(txn, KV_DB_HEAD, key, sizeof(key), fc->buf, len);
}

static int
flush_txn(struct kv_txn *txn, void *arg)
{
	struct flush_ctx	*fc = arg;
	pthread_mutex_t		*lk;
	size_t			 i;
	int			 rc = 0;

	for (i = 0; i < fc->n && rc >= 0; i++) {
		lk = store_stripe(fc->st, fc->v[i]->id);
		pthread_mutex_lock(lk);
		rc = flush_series(txn, fc, fc->v[i]);
		pthread_mutex_unlock(lk);
	}
	return rc < 0 ? rc : 0;
}

/* The writes are on disk: forget the segments.  Nothing changed
 * meanwhile: the writer lock is held throughout. */
static void
flush_done(struct store *st, struct series **v, size_t n)
{
	pthread_mutex_t	*lk;
	size_t		 i;

	for (i = 0; i < n; i++) {
		lk = store_stripe(st, v[i]->id);
		pthread_mutex_lock(lk);
		if (v[i]->open != NULL) {
			if (v[i]->open->mem != NULL)
				v[i]->open->ondisk = 1;
			segs_free(v[i]->open->mem);
			v[i]->open->mem = NULL;
		}
		v[i]->dirty = 0;
		pthread_mutex_unlock(lk);
	}
}

static size_t
flush_bytes(const struct series *s)
{
	const struct seg	*g;
	size_t			 n = 64;

	/*
	 * What a transaction holds is pages: a new segment lands among the
	 * series' own, a page at least.  Only tails, apart and side by
	 * side, share pages.
	 */
	if (s->open != NULL)
		for (g = s->open->mem; g != NULL; g = g->next)
			n += g->len + 4096;
	if (tail_count(s) > 0)
		n += chunk_app_bytes(s->tail) + 32;
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
	uint64_t		 bad = 0;
	int			 rc = 0;

	memset(&fc, 0, sizeof(fc));
	fc.st = st;
	rc = flush_sealed(st, &fc, &bad, err, errlen);
	while (rc >= 0 && start < st->ndirty) {
		for (end = start, bytes = 0; end < st->ndirty &&
		    (end == start || (bytes < FLUSH_TXN_BYTES &&
		    end - start < FLUSH_TXN_SERIES)); end++)
			bytes += flush_bytes(st->dirty[end]);
		fc.v = st->dirty + start;
		fc.n = end - start;
		rc = kv_write(st->kv, flush_txn, &fc, err, errlen);
		if (rc < 0)
			break;
		flush_done(st, fc.v, fc.n);
		start = end;
		if ((rc = store_fault(st, "flush.head", err, errlen)) < 0)
			break;
	}
	flush_ctx_free(&fc);
	left = st->ndirty - start;
	if (left > 0 && start > 0)
		memmove(st->dirty, st->dirty + start, left *
		    sizeof(*st->dirty));
	st->ndirty = left;
	if (bad > 0) {
		char msg[128];

		snprintf(msg, sizeof(msg), "%llu damaged head segments "
		    "skipped while sealing", (unsigned long long)bad);
		store_set_error(st, 0, msg);
	}
	return rc < 0 ? -1 : 0;
}

int
head_delete(struct kv_txn *txn, uint64_t id)
{
	struct flush_ctx	fc;
	int			rc;

	memset(&fc, 0, sizeof(fc));
	if ((rc = seg_scan(txn, &fc, id, INT64_MIN, INT64_MAX, 0)) >= 0 &&
	    (rc = seg_del_found(txn, &fc, id)) >= 0)
		rc = tail_del(txn, id);
	flush_ctx_free(&fc);
	return rc;
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

/* The segments and tail of one series on disk, as head_restore reads
 * them. */
struct restore {
	struct series	*s;
	int		 bad;
	uint32_t	 nseg, count, bytes;
	int64_t		 first, last;
	uint64_t	 last_vbits;
	const uint8_t	*tail;		/* NULL: none */
	size_t		 taillen;
};

/* Check one segment (KEY its first time) or the tail (KEY INT64_MIN): it
 * decodes and comes after everything before it. */
static void
restore_one(struct restore *r, int64_t key, const uint8_t *data, size_t len)
{
	struct chunk_iter	it;
	int64_t			t, prev;
	double			v;
	uint32_t		n = 0;
	int			rc;

	if (r->bad)
		return;
	prev = r->count > 0 ? r->last : r->s->last_t;
	if (chunk_iter_init(&it, data, len) != 0 ||
	    (key != INT64_MIN && it.first != key)) {
		r->bad = 1;
		return;
	}
	while ((rc = chunk_iter_next(&it, &t, &v)) == 1) {
		if (prev != INT64_MIN && t <= prev) {
			r->bad = 1;
			return;
		}
		prev = t;
		memcpy(&r->last_vbits, &v, sizeof(v));
		n++;
	}
	if (rc < 0 || n == 0) {
		r->bad = 1;
		return;
	}
	if (r->count == 0)
		r->first = it.first;
	r->last = prev;
	r->count += n;
	if (key == INT64_MIN) {
		r->tail = data;
		r->taillen = len;
	} else {
		r->bytes += (uint32_t)len;
		r->nseg++;
	}
}

/*
 * The segments and the tail of a series become its open chunk again.
 * Damage anywhere drops the lot (deleted at the next flush), as a damaged
 * checkpoint would be.  1 when it did.
 */
static int
restore_done(struct store *st, struct restore *r)
{
	struct series		*s = r->s;
	struct hchunk		*c;
	struct chunk_iter	 it;
	int64_t			 t;
	double			 v;

	if (!r->bad && r->count == 0)
		return 0;
	if (r->bad) {
		c = xcalloc(1, sizeof(*c));
		c->first = INT64_MIN;
		c->last = INT64_MAX;
		c->drop = 1;
		s->closed = c;
		s->npending = 1;
		store_dirty(st, s);
		return 1;
	}
	c = &s->ochunk;
	memset(c, 0, sizeof(*c));
	c->first = r->first;
	c->last = r->last;
	c->count = r->count;
	c->bytes = r->bytes > HCHUNK_BYTES_MAX ? HCHUNK_BYTES_MAX : r->bytes;
	c->ondisk = r->nseg > 0;
	if (r->tail != NULL) {
		s->tail = chunk_app_new();
		(void)chunk_iter_init(&it, r->tail, r->taillen);
		while (chunk_iter_next(&it, &t, &v) == 1)
			(void)chunk_app_add(&s->tail, t, v);
	}
	s->open = c;
	s->last_t = r->last;
	s->last_vbits = r->last_vbits;
	if (r->first < s->mint)
		s->mint = r->first;
	return 0;
}

static int
restore_series(struct kv_txn *txn, struct store *st, struct series *s,
    size_t *bad)
{
	struct kv_cursor	*cur;
	struct kv_val		 k, v;
	struct restore		 r;
	uint8_t			 key[SEG_KEY_LEN];
	int			 rc;

	memset(&r, 0, sizeof(r));
	r.s = s;
	if ((rc = kv_cursor_open(txn, KV_DB_HEAD, &cur)) < 0)
		return rc;
	seg_key(key, s->id, INT64_MIN);
	k.data = key;
	k.len = sizeof(key);
	for (rc = kv_cursor_get(cur, KV_SET_RANGE, &k, &v); rc == 0 &&
	    is_seg_key(&k, s->id); rc = kv_cursor_get(cur, KV_NEXT, &k, &v))
		restore_one(&r, key_get_time((const uint8_t *)k.data + 9),
		    v.data, v.len);
	kv_cursor_close(cur);
	if (rc < 0)
		return rc;
	tail_key(key, s->id);
	if ((rc = kv_get(txn, KV_DB_HEAD, key, TAIL_KEY_LEN, &v)) < 0)
		return rc;
	if (rc == 0)
		restore_one(&r, INT64_MIN, v.data, v.len);
	*bad += restore_done(st, &r);
	return 0;
}

/*
 * At open: the time bounds of every series from its chunks, then its
 * open chunk from the segments and the tail in HEAD.  Those of a series
 * that no longer exists are ignored.
 */
int
head_restore(struct store *st, char *err, size_t errlen)
{
	struct kv_txn	*txn;
	struct series	*s;
	size_t		 i, bad = 0;
	int		 rc;

	if (kv_read_begin(st->kv, &txn, err, errlen) < 0)
		return -1;
	rc = 0;
	for (i = 0; i < st->idx.nbuckets && rc >= 0; i++)
		for (s = st->idx.byid[i]; s != NULL && rc >= 0; s = s->inext)
			if ((rc = chunkdb_bounds(txn, s->id, &s->mint,
			    restore_last, s)) >= 0)
				rc = restore_series(txn, st, s, &bad);
	if (rc < 0)
		snprintf(err, errlen, "restoring head chunks: %s",
		    kv_txn_error(txn));
	kv_read_end(txn);
	if (rc >= 0 && bad > 0) {
		char msg[128];

		snprintf(msg, sizeof(msg), "%zu damaged head checkpoints "
		    "dropped at open", bad);
		store_set_error(st, 0, msg);
	}
	return rc < 0 ? -1 : 0;
}

/*
 * Retention of the head: drop the closed chunks whose samples are all
 * before CUT and the open chunk when it is, and seal an open chunk whose
 * newest sample is before IDLE so that a series that went quiet ages out
 * like the rest.  What is dropped leaves memory now and disk at the next
 * flush.  Writer lock held.
 */
void
head_trim(struct store *st, struct series *s, int64_t cut, int64_t idle)
{
	pthread_mutex_t	*lk = store_stripe(st, s->id);
	struct hchunk	*c;
	int		 changed = 0;

	pthread_mutex_lock(lk);
	if (s->open != NULL && s->open->last < cut) {
		close_locked(st, s);
		changed = 1;
	} else if (s->open != NULL && s->last_t < idle) {
		close_locked(st, s);
		changed = 1;
	}
	for (c = s->closed; c != NULL; c = c->next)
		if (!c->drop && c->last < cut) {
			c->drop = 1;
			segs_free(c->mem);
			c->mem = NULL;
			changed = 1;
		}
	pthread_mutex_unlock(lk);
	if (changed)
		store_dirty(st, s);
}

/* Oldest sample in the head, or INT64_MAX.  Stripe lock held. */
int64_t
head_mint_locked(const struct series *s)
{
	const struct hchunk *c;

	for (c = s->closed; c != NULL; c = c->next)
		if (!c->drop)
			return c->first;
	if (s->open != NULL)
		return s->open->first;
	return INT64_MAX;
}

static void
copy_chunk(const struct hchunk *c, int64_t t0, int64_t t1, head_fn fn,
    void *arg, struct head_disk *disk)
{
	const struct seg	*g;
	uint32_t		 n;
	int64_t			 f, l;

	if (c->drop || c->last < t0 || c->first > t1)
		return;
	for (g = c->mem; g != NULL; g = g->next)
		if (chunk_peek(g->data, g->len, &n, &f, &l) == 0 &&
		    l >= t0 && f <= t1)
			fn(arg, g->first, g->data, g->len);
	if (c->ondisk > 0 && disk->n < STORE_MAX_PENDING + 1) {
		disk->lo[disk->n] = c->first;
		disk->hi[disk->n++] = c->last;
	}
}

void
head_copy_locked(const struct series *s, int64_t t0, int64_t t1, head_fn fn,
    void *arg, struct head_disk *disk)
{
	const struct hchunk	*c;
	uint8_t			*buf;
	size_t			 len;

	disk->n = 0;
	for (c = s->closed; c != NULL; c = c->next)
		copy_chunk(c, t0, t1, fn, arg, disk);
	if (s->open != NULL)
		copy_chunk(s->open, t0, t1, fn, arg, disk);
	if (tail_count(s) == 0 || chunk_app_last(s->tail) < t0 ||
	    chunk_app_first(s->tail) > t1)
		return;
	len = chunk_app_copy(s->tail, NULL, 0);
	buf = xmalloc(len);
	(void)chunk_app_copy(s->tail, buf, len);
	fn(arg, chunk_app_first(s->tail), buf, len);
	free(buf);
}

struct copy_ctx {
	const struct head_disk	*disk;
	int64_t			 t0, t1;
	head_fn			 fn;
	void			*arg;
};

static void
copy_one(void *arg, int64_t first, const struct kv_val *v)
{
	struct copy_ctx	*cc = arg;
	uint32_t	 n;
	int64_t		 f, l;
	size_t		 i;

	for (i = 0; i < cc->disk->n; i++)
		if (first >= cc->disk->lo[i] && first <= cc->disk->hi[i])
			break;
	if (i == cc->disk->n)
		return;
	/* A damaged one goes on, for the reader to report. */
	if (chunk_peek(v->data, v->len, &n, &f, &l) != 0 ||
	    (l >= cc->t0 && f <= cc->t1))
		cc->fn(cc->arg, first, v->data, v->len);
}

int
head_copy_disk(struct kv_txn *txn, uint64_t id, const struct head_disk *disk,
    int64_t t0, int64_t t1, head_fn fn, void *arg)
{
	struct copy_ctx	cc = { disk, t0, t1, fn, arg };
	int64_t		lo, hi;
	size_t		i;

	if (disk->n == 0)
		return 0;
	lo = disk->lo[0];
	hi = disk->hi[0];
	for (i = 1; i < disk->n; i++) {
		lo = disk->lo[i] < lo ? disk->lo[i] : lo;
		hi = disk->hi[i] > hi ? disk->hi[i] : hi;
	}
	return seg_walk(txn, id, lo, hi, copy_one, &cc);
}
