/*
 * chunkdb: sealed chunks on disk, packed in groups, found through a
 * per-series index, and their timestamp columns stored once.
 *
 * A flush transaction writes its sealed chunks as few large records
 * (groups) instead of one record each: a record costs LMDB a node header
 * and its key, and a record too big for a leaf page takes whole overflow
 * pages, the last one mostly empty.  A group holds the chunks of one
 * transaction whose newest samples fall in the same bucket of 2^22 ms
 * (about 70 minutes), sorted by (series id, first time), behind a
 * directory that a reader binary-searches.  Its key is the bucket and a
 * counter within it, so that the log is in time order: live data appends
 * at the end (LMDB then fills its pages), and retention deletes a group
 * once the end of its bucket is older than the cutoff, when every chunk in
 * it has aged out, walking from the start.
 *
 *	CHUNKS key:   bucket (42 bits) | counter (22 bits), u64
 *	CHUNKS value: count u32 | base id u64 | count x (id - base u32,
 *	              end u32) | chunks
 *
 * CINDEX finds a series' chunks again: for each series, its references
 * (first time, group key) in time order, as sorted duplicates that are
 * segments of the list: the first reference in full (16 bytes: the time
 * first, so that LMDB sorts segments by it), then for each next one the
 * gaps to it as varints (about 6 bytes), at most SEG_MAX bytes.  A flush
 * extends the last segment of each series it wrote.  Retention deletes a
 * series' references one chunk at a time (when its newest sample is older
 * than the cutoff), so what a reader sees follows the cutoff exactly; the
 * bytes go with the group.
 *
 * A chunk whose timestamps live in a column of their own (the codec's
 * shared encoding) refers to it by CRC32C; TIMES keeps each distinct
 * column once, keyed by (first, last, count, CRC), so the series of a
 * target, scraped at the same instants, store their timestamps once.  Two
 * different columns with the same key (a CRC collision) cannot both live
 * there: the second is kept inside its group, in front of its chunk, and
 * its directory entry says so (top bit of the id).  A column goes when
 * retention passes its last time, as every chunk using it (same first,
 * last and count) goes then too.
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

#define REF_LEN		16
/* Under LMDB's limit of 511 bytes for a sorted duplicate. */
#define SEG_MAX		480
#define TKEY_LEN	24
#define TRIM_BATCH	64
#define GROUP_HDR	14
#define GROUP_ENT	8
#define GROUP_INLINE	0x80000000u
#define GROUP_STRIP	0x40000000u
#define GROUP_IDS	0x3fffffffu
/* A group stays below this; a chunk alone may pass it. */
#define GROUP_MAX	(1u << 20)
#define BUCKET_SHIFT	22
#define BUCKET_MAX	((1ULL << (64 - BUCKET_SHIFT)) - 1)
#define COUNTER_MASK	((1ULL << BUCKET_SHIFT) - 1)

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
bucket_of(int64_t t)
{
	return ((uint64_t)t ^ (1ULL << 63)) >> BUCKET_SHIFT;
}

/* Every chunk of group GKEY has its newest sample before this. */
static int64_t
group_end(uint64_t gkey)
{
	uint64_t b = gkey >> BUCKET_SHIFT;

	if (b == BUCKET_MAX)
		return INT64_MAX;
	return (int64_t)(((b + 1) << BUCKET_SHIFT) ^ (1ULL << 63));
}

static void
crefs_push(struct crefs *r, int64_t first, uint64_t gkey)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 32;
		r->v = xreallocarray(r->v, r->cap, sizeof(*r->v));
	}
	r->v[r->n].first = first;
	r->v[r->n].gkey = gkey;
	r->n++;
}

int
chunkdb_seg_decode(const void *data, size_t len, struct crefs *out)
{
	const uint8_t	*p = data;
	size_t		 off = REF_LEN, n0 = out->n;
	uint64_t	 d, z, f, g;

	if (len < REF_LEN || len > SEG_MAX)
		return KV_ECORRUPT;
	f = key_get64(p) ^ (1ULL << 63);
	g = key_get64(p + 8);
	crefs_push(out, (int64_t)f, g);
	while (off < len) {
		if (key_get_uvarint(p, len, &off, &d) == -1 ||
		    key_get_uvarint(p, len, &off, &z) == -1 || d == 0 ||
		    (int64_t)(f + d) <= (int64_t)f) {
			out->n = n0;
			return KV_ECORRUPT;
		}
		f += d;
		g += (z >> 1) ^ -(z & 1);
		crefs_push(out, (int64_t)f, g);
	}
	return 0;
}

/* Encode V[0..n) as segments into BUF (room for n * 20 bytes), their
 * lengths into LENS; the count of segments. */
static size_t
seg_encode(const struct cref *v, size_t n, uint8_t *buf, size_t *lens)
{
	uint8_t	tmp[20];
	size_t	i, nseg = 0, off = 0, start = 0, l;
	int64_t	dg;

	for (i = 0; i < n; i++) {
		if (i > 0) {
			dg = (int64_t)(v[i].gkey - v[i - 1].gkey);
			l = key_put_uvarint(tmp, (uint64_t)v[i].first -
			    (uint64_t)v[i - 1].first);
			l += key_put_uvarint(tmp + l, ((uint64_t)dg << 1) ^
			    (uint64_t)(dg >> 63));
			if (off - start + l <= SEG_MAX) {
				memcpy(buf + off, tmp, l);
				off += l;
				continue;
			}
			lens[nseg++] = off - start;
		}
		start = off;
		key_put_time(buf + off, v[i].first);
		key_put64(buf + off + 8, v[i].gkey);
		off += REF_LEN;
	}
	if (n > 0)
		lens[nseg++] = off - start;
	return nseg;
}

/* Put the segments of V[0..n) under series key K. */
static int
seg_put(struct kv_txn *txn, const uint8_t *k, const struct cref *v, size_t n)
{
	uint8_t	*buf;
	size_t	*lens, nseg, i, off = 0;
	int	 rc = 0;

	buf = xmalloc(n * 20 + 1);
	lens = xcalloc(n + 1, sizeof(*lens));
	nseg = seg_encode(v, n, buf, lens);
	for (i = 0; i < nseg && rc == 0; i++) {
		rc = kv_append(txn, KV_DB_CINDEX, k, 8, buf + off, lens[i]);
		off += lens[i];
	}
	free(buf);
	free(lens);
	return rc;
}

/* Every reference of the series of key K, into OUT. */
static int
refs_all(struct kv_txn *txn, const uint8_t *k, struct crefs *out)
{
	struct kv_cursor	*cur;
	struct kv_val		 kv = { k, 8 }, v;
	int			 rc;

	if ((rc = kv_cursor_open(txn, KV_DB_CINDEX, &cur)) < 0)
		return rc;
	for (rc = kv_cursor_get(cur, KV_SET_KEY, &kv, &v); rc == 0;
	    rc = kv_cursor_get(cur, KV_NEXT_DUP, &kv, &v))
		if ((rc = chunkdb_seg_decode(v.data, v.len, out)) < 0)
			break;
	kv_cursor_close(cur);
	return rc == KV_NOTFOUND ? 0 : rc;
}

static int
cref_cmp(const void *a, const void *b)
{
	const struct cref *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/*
 * Add references V[0..n) (sorted) to series ID: they extend its last
 * segment, as chunks of a series come in time order; otherwise (never,
 * short of a damaged index) its whole list is rewritten.
 */
static int
refs_add(struct kv_txn *txn, uint64_t id, const struct cref *v, size_t n)
{
	struct kv_cursor	*cur;
	struct kv_val		 kv, sv;
	struct crefs		 r = { NULL, 0, 0 };
	uint8_t			 k[8], *old = NULL;
	size_t			 oldlen = 0, i;
	int			 rc;

	key_put64(k, id);
	if ((rc = kv_cursor_open(txn, KV_DB_CINDEX, &cur)) < 0)
		return rc;
	kv.data = k;
	kv.len = 8;
	rc = kv_cursor_get(cur, KV_SET_KEY, &kv, &sv);
	if (rc == 0)
		rc = kv_cursor_get(cur, KV_LAST_DUP, &kv, &sv);
	if (rc == 0) {
		old = xmalloc(sv.len);
		memcpy(old, sv.data, sv.len);
		oldlen = sv.len;
		rc = chunkdb_seg_decode(old, oldlen, &r);
	}
	kv_cursor_close(cur);
	if (rc < 0 && rc != KV_NOTFOUND)
		goto out;
	if (r.n > 0 && v[0].first <= r.v[r.n - 1].first) {
		r.n = 0;
		if ((rc = refs_all(txn, k, &r)) < 0 || ((rc = kv_del(txn,
		    KV_DB_CINDEX, k, 8, NULL, 0)) < 0 && rc != KV_NOTFOUND))
			goto out;
		free(old);
		old = NULL;
		for (i = 0; i < n; i++)
			crefs_push(&r, v[i].first, v[i].gkey);
		qsort(r.v, r.n, sizeof(*r.v), cref_cmp);
	} else {
		if (old != NULL && (rc = kv_del(txn, KV_DB_CINDEX, k, 8, old,
		    oldlen)) < 0)
			goto out;
		for (i = 0; i < n; i++)
			crefs_push(&r, v[i].first, v[i].gkey);
	}
	rc = seg_put(txn, k, r.v, r.n);
out:
	free(old);
	free(r.v);
	return rc;
}

/* The TIMES key of the column a shared chunk refers to; -1 if none. */
static int
column_key(const uint8_t *chunk, size_t len, uint8_t *tk)
{
	uint32_t	count, ref;
	int64_t		first, last;

	if (chunk_times_ref(chunk, len, &ref) != 1 ||
	    chunk_peek(chunk, len, &count, &first, &last) != 0)
		return -1;
	key_put_time(tk, first);
	key_put_time(tk + 8, last);
	put32(tk + 16, count);
	put32(tk + 20, ref);
	return 0;
}

int
chunkdb_group_parse(const void *rec, size_t len, struct chunkdb_group *g)
{
	const uint8_t	*p = rec;
	size_t		 fixed;

	if (len < GROUP_HDR)
		return KV_ECORRUPT;
	g->n = get32(p);
	g->base = key_get64(p + 4);
	g->ncols = (uint32_t)p[12] << 8 | p[13];
	fixed = GROUP_HDR + (size_t)g->ncols * TKEY_LEN;
	if (g->n == 0 || fixed > len || g->n > (len - fixed) / GROUP_ENT)
		return KV_ECORRUPT;
	g->cols = p + GROUP_HDR;
	g->dir = p + fixed;
	g->blobs = g->dir + (size_t)g->n * GROUP_ENT;
	g->blen = len - fixed - (size_t)g->n * GROUP_ENT;
	return 0;
}

uint64_t
chunkdb_group_id(const struct chunkdb_group *g, uint32_t i)
{
	return g->base + (get32(g->dir + (size_t)i * GROUP_ENT) & GROUP_IDS);
}

void
chunkdb_chunk_free(struct chunkdb_chunk *c)
{
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

/* A stripped chunk whole again, into C's buffer. */
static int
unstrip(struct chunkdb_chunk *c, const uint8_t *s, size_t slen)
{
	const uint8_t	*tk = c->tkey;
	size_t		 need = slen + CHUNK_HDR_MAX;

	if (need > c->cap) {
		c->cap = need * 2;
		c->buf = xreallocarray(c->buf, 1, c->cap);
	}
	c->len = chunk_unstrip(s, slen, get32(tk + 16), key_get_time(tk),
	    key_get_time(tk + 8), c->buf, c->cap);
	if (c->len == 0)
		return KV_ECORRUPT;
	c->data = c->buf;
	return 0;
}

int
chunkdb_group_chunk(const struct chunkdb_group *g, uint32_t i,
    struct chunkdb_chunk *c)
{
	const uint8_t	*e = g->dir + (size_t)i * GROUP_ENT, *p;
	uint32_t	 start, end, tl, flags;
	uint64_t	 ci;
	size_t		 l, off = 0;

	if (i >= g->n)
		return KV_ECORRUPT;
	start = i == 0 ? 0 : get32(e - GROUP_ENT + 4);
	end = get32(e + 4);
	flags = get32(e);
	if (start >= end || end > g->blen)
		return KV_ECORRUPT;
	p = g->blobs + start;
	l = end - start;
	c->times = c->tkey = NULL;
	c->tlen = 0;
	if (flags & GROUP_INLINE) {
		if (l < 4 || (tl = get32(p)) > l - 4)
			return KV_ECORRUPT;
		c->times = p + 4;
		c->tlen = tl;
		p += 4 + tl;
		l -= 4 + tl;
	}
	if (flags & GROUP_STRIP) {
		if (key_get_uvarint(p, l, &off, &ci) == -1 || ci >= g->ncols)
			return KV_ECORRUPT;
		c->tkey = g->cols + ci * TKEY_LEN;
		return unstrip(c, p + off, l - off);
	}
	c->data = p;
	c->len = l;
	return 0;
}

/* The first directory entry whose id is not below ID. */
static uint32_t
group_lower(const struct chunkdb_group *g, uint64_t id)
{
	uint32_t lo = 0, hi = g->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (chunkdb_group_id(g, mid) < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The chunk of series ID starting at FIRST in group GKEY, with its
 * timestamp column (NULL when self-contained or when the column is
 * missing: the decoder then says so).  C's buffer is the caller's.
 */
static int
get_chunk(struct kv_txn *txn, uint64_t gkey, uint64_t id, int64_t first,
    struct chunkdb_chunk *c)
{
	struct chunkdb_group	 g;
	struct kv_val		 v, tv;
	uint8_t			 k[8], tk[TKEY_LEN];
	const uint8_t		*key = NULL;
	uint32_t		 i, n = 0, count;
	int64_t			 f, l;
	int			 rc, found = 0;

	key_put64(k, gkey);
	if ((rc = kv_get(txn, KV_DB_CHUNKS, k, 8, &v)) == KV_NOTFOUND)
		return KV_ECORRUPT;
	if (rc < 0 || (rc = chunkdb_group_parse(v.data, v.len, &g)) < 0)
		return rc;
	for (i = group_lower(&g, id); i < g.n && chunkdb_group_id(&g, i) ==
	    id; i++, n++) {
		if ((rc = chunkdb_group_chunk(&g, i, c)) < 0)
			return rc;
		if (chunk_peek(c->data, c->len, &count, &f, &l) == 0 &&
		    f == first) {
			found = 1;
			break;
		}
	}
	/* The only chunk of the series there, whose header does not read:
	 * the decoder reports it. */
	if (!found && n == 1)
		found = chunkdb_group_chunk(&g, i - 1, c) == 0;
	if (!found)
		return KV_ECORRUPT;
	if (c->tlen > 0)
		return 0;
	if (c->tkey != NULL)
		key = c->tkey;
	else if (column_key(c->data, c->len, tk) == 0)
		key = tk;
	if (key != NULL) {
		if ((rc = kv_get(txn, KV_DB_TIMES, key, TKEY_LEN, &tv)) < 0)
			return rc;
		if (rc == 0) {
			c->times = tv.data;
			c->tlen = tv.len;
		}
	}
	return 0;
}

/* Writing: the chunks of one transaction. */
struct centry {
	uint64_t		 id, bucket, gkey;
	const struct sealed	*p;
	int			 inl;		/* column kept in the group */
	int			 col;		/* column in TIMES: tk is its key */
	uint8_t			 tk[TKEY_LEN];
	size_t			 ci;		/* its index in the group */
};

struct chunkdb_batch {
	struct centry	*v;
	size_t		 n, cap;
};

struct chunkdb_batch *
chunkdb_batch_new(void)
{
	return xcalloc(1, sizeof(struct chunkdb_batch));
}

void
chunkdb_batch_free(struct chunkdb_batch *b)
{
	if (b == NULL)
		return;
	free(b->v);
	free(b);
}

void
chunkdb_batch_add(struct chunkdb_batch *b, uint64_t id, const struct sealed *p)
{
	struct centry *e;

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->v = xreallocarray(b->v, b->cap, sizeof(*b->v));
	}
	e = &b->v[b->n++];
	memset(e, 0, sizeof(*e));
	e->id = id;
	e->p = p;
	e->bucket = bucket_of(p->last);
}

static int
by_id(const struct centry *x, const struct centry *y)
{
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->p->first < y->p->first ? -1 : x->p->first > y->p->first;
}

static int
by_bucket_cmp(const void *a, const void *b)
{
	const struct centry *x = a, *y = b;

	if (x->bucket != y->bucket)
		return x->bucket < y->bucket ? -1 : 1;
	return by_id(x, y);
}

static int
by_id_cmp(const void *a, const void *b)
{
	return by_id(a, b);
}

/*
 * Put the timestamp column of E in TIMES unless it is there; when a
 * different column has its key, E keeps its own inline.
 */
static int
put_column(struct kv_txn *txn, struct centry *e, uint64_t *columns)
{
	const struct sealed	*p = e->p;
	struct kv_val		 v;
	int			 rc;

	e->inl = e->col = 0;
	if (p->tlen == 0)
		return 0;
	if (column_key(p->data, p->len, e->tk) != 0) {
		e->inl = 1;
		return 0;
	}
	rc = kv_get(txn, KV_DB_TIMES, e->tk, TKEY_LEN, &v);
	if (rc == KV_NOTFOUND) {
		(*columns)++;
		e->col = 1;
		return kv_put(txn, KV_DB_TIMES, e->tk, TKEY_LEN,
		    p->data + p->len, p->tlen);
	}
	if (rc == 0 && (v.len != p->tlen || memcmp(v.data, p->data + p->len,
	    p->tlen) != 0))
		e->inl = 1;
	else if (rc == 0)
		e->col = 1;
	return rc;
}

/* Bytes of E in a group, at most: a stripped chunk is shorter. */
static size_t
blob_len(const struct centry *e)
{
	return e->p->len + (e->inl ? 4 + e->p->tlen : 0);
}

static int
tk_cmp(const void *a, const void *b)
{
	return memcmp(a, b, TKEY_LEN);
}

/* A free key in BUCKET (or, when its counter is spent, a later one). */
static int
group_key(struct kv_txn *txn, uint64_t bucket, uint64_t *out)
{
	struct kv_cursor	*cur;
	struct kv_val		 k, v;
	uint8_t			 next[8];
	uint64_t		 last;
	int			 rc;

	if ((rc = kv_cursor_open(txn, KV_DB_CHUNKS, &cur)) < 0)
		return rc;
	for (;;) {
		if (bucket == BUCKET_MAX)
			rc = kv_cursor_get(cur, KV_LAST, &k, &v);
		else {
			key_put64(next, (bucket + 1) << BUCKET_SHIFT);
			k.data = next;
			k.len = 8;
			rc = kv_cursor_get(cur, KV_SET_RANGE, &k, &v);
			if (rc == 0)
				rc = kv_cursor_get(cur, KV_PREV, &k, &v);
			else if (rc == KV_NOTFOUND)
				rc = kv_cursor_get(cur, KV_LAST, &k, &v);
		}
		if (rc < 0)
			break;
		*out = bucket << BUCKET_SHIFT;
		rc = 0;
		if (k.len != 8 || (last = key_get64(k.data)) >> BUCKET_SHIFT !=
		    bucket)
			break;
		if ((last & COUNTER_MASK) < COUNTER_MASK) {
			*out = last + 1;
			break;
		}
		if (bucket == BUCKET_MAX) {
			rc = KV_EFAIL;
			break;
		}
		bucket++;
	}
	kv_cursor_close(cur);
	return rc == KV_NOTFOUND ? 0 : rc;
}

/*
 * Write entries V[0..n) (one bucket, sorted) as one group.  The keys of
 * the columns its chunks use are listed once in front, and a chunk whose
 * header they repeat is kept stripped (chunk_strip) with the index of its
 * column.
 */
static int
put_group(struct kv_txn *txn, struct centry *v, size_t n)
{
	uint8_t		*rec, *d, k[8], *cols;
	size_t		 size, i, off = 0, ncols = 0, sl, ci, vl;
	uint64_t	 gkey;
	uint32_t	 idv;
	int		 rc;

	cols = xcalloc(n, TKEY_LEN);
	for (i = 0; i < n; i++)
		if (v[i].col && !v[i].inl)
			memcpy(cols + TKEY_LEN * ncols++, v[i].tk, TKEY_LEN);
	qsort(cols, ncols, TKEY_LEN, tk_cmp);
	for (i = ci = 0; i < ncols; i++)
		if (ci == 0 || memcmp(cols + TKEY_LEN * (ci - 1), cols +
		    TKEY_LEN * i, TKEY_LEN) != 0)
			memmove(cols + TKEY_LEN * ci++, cols + TKEY_LEN * i,
			    TKEY_LEN);
	ncols = ci < 0xffff ? ci : 0;
	size = GROUP_HDR + ncols * TKEY_LEN + n * GROUP_ENT;
	for (i = 0; i < n; i++)
		size += blob_len(&v[i]) + 10;
	if ((rc = group_key(txn, v[0].bucket, &gkey)) < 0) {
		free(cols);
		return rc;
	}
	rec = xmalloc(size);
	put32(rec, (uint32_t)n);
	key_put64(rec + 4, v[0].id);
	rec[12] = (uint8_t)(ncols >> 8);
	rec[13] = (uint8_t)ncols;
	memcpy(rec + GROUP_HDR, cols, ncols * TKEY_LEN);
	d = rec + GROUP_HDR + ncols * TKEY_LEN + n * GROUP_ENT;
	for (i = 0; i < n; i++) {
		idv = (uint32_t)(v[i].id - v[0].id);
		if (v[i].inl) {
			put32(d + off, (uint32_t)v[i].p->tlen);
			memcpy(d + off + 4, v[i].p->data + v[i].p->len,
			    v[i].p->tlen);
			off += 4 + v[i].p->tlen;
			idv |= GROUP_INLINE;
		}
		sl = 0;
		if (v[i].col && !v[i].inl && ncols > 0) {
			ci = (size_t)((uint8_t *)bsearch(v[i].tk, cols, ncols,
			    TKEY_LEN, tk_cmp) - cols) / TKEY_LEN;
			vl = key_put_uvarint(d + off, ci);
			sl = chunk_strip(v[i].p->data, v[i].p->len,
			    get32(v[i].tk + 16), key_get_time(v[i].tk),
			    key_get_time(v[i].tk + 8), d + off + vl);
			if (sl > 0)
				sl += vl;
		}
		if (sl > 0) {
			off += sl;
			idv |= GROUP_STRIP;
		} else {
			memcpy(d + off, v[i].p->data, v[i].p->len);
			off += v[i].p->len;
		}
		put32(rec + GROUP_HDR + ncols * TKEY_LEN + i * GROUP_ENT, idv);
		put32(rec + GROUP_HDR + ncols * TKEY_LEN + i * GROUP_ENT + 4,
		    (uint32_t)off);
		v[i].gkey = gkey;
	}
	size = (size_t)(d - rec) + off;
	key_put64(k, gkey);
	rc = kv_append(txn, KV_DB_CHUNKS, k, 8, rec, size);
	free(rec);
	free(cols);
	return rc;
}

int
chunkdb_batch_write(struct kv_txn *txn, struct chunkdb_batch *b,
    uint64_t *columns)
{
	struct centry	*v = b->v;
	struct cref	*r;
	size_t		 i, j, size;
	int		 rc = 0;

	if (b->n == 0)
		return 0;
	qsort(v, b->n, sizeof(*v), by_bucket_cmp);
	for (i = 0; i < b->n && rc == 0; i = j) {
		size = GROUP_HDR;
		for (j = i; j < b->n && rc == 0; j++) {
			if (v[j].bucket != v[i].bucket ||
			    v[j].id - v[i].id > GROUP_IDS)
				break;
			if ((rc = put_column(txn, &v[j], columns)) < 0)
				break;
			if (j > i && size + GROUP_ENT + TKEY_LEN +
			    blob_len(&v[j]) > GROUP_MAX)
				break;
			size += GROUP_ENT + TKEY_LEN + blob_len(&v[j]);
		}
		if (rc == 0)
			rc = put_group(txn, v + i, j - i);
	}
	/* References by series, in order: new series append at the end. */
	qsort(v, b->n, sizeof(*v), by_id_cmp);
	r = xcalloc(b->n, sizeof(*r));
	for (i = 0; i < b->n && rc == 0; i = j) {
		for (j = i; j < b->n && v[j].id == v[i].id; j++) {
			r[j - i].first = v[j].p->first;
			r[j - i].gkey = v[j].gkey;
		}
		rc = refs_add(txn, v[i].id, r, j - i);
	}
	free(r);
	return rc;
}

/* Call FN with chunk R of series ID (skipped when CHECK_LAST and it
 * ends before T0). */
static int
emit(struct kv_txn *txn, uint64_t id, const struct cref *r, int64_t t0,
    int check_last, chunkdb_fn fn, void *arg, struct chunkdb_chunk *c)
{
	uint32_t	count;
	int64_t		f, last;
	int		rc;

	if ((rc = get_chunk(txn, r->gkey, id, r->first, c)) < 0)
		return rc;
	/* A header that does not read goes to the reader, which says so. */
	if (check_last && chunk_peek(c->data, c->len, &count, &f,
	    &last) == 0 && last < t0)
		return 0;
	return fn(arg, r->first, c->data, c->len, c->times, c->tlen);
}

int
chunkdb_scan(struct kv_txn *txn, uint64_t id, int64_t t0, int64_t t1,
    chunkdb_fn fn, void *arg)
{
	struct kv_cursor	*cur;
	struct kv_val		 k, v;
	struct crefs		 r = { NULL, 0, 0 };
	struct chunkdb_chunk	 c = { 0 };
	struct cref		 prev;
	uint8_t			 key[8], tb[8];
	size_t			 i;
	int			 rc, have_prev = 0, done = 0;

	if ((rc = kv_cursor_open(txn, KV_DB_CINDEX, &cur)) < 0)
		return rc;
	key_put64(key, id);
	key_put_time(tb, t0);
	k.data = key;
	k.len = 8;
	v.data = tb;
	v.len = 8;
	/* The segment before the first one starting at t0 or later may hold
	 * chunks in the range, or the one just before it. */
	rc = kv_cursor_get(cur, KV_GET_BOTH_RANGE, &k, &v);
	if (rc == 0) {
		if ((rc = kv_cursor_get(cur, KV_PREV_DUP, &k, &v)) ==
		    KV_NOTFOUND)
			rc = kv_cursor_get(cur, KV_FIRST_DUP, &k, &v);
	} else if (rc == KV_NOTFOUND) {
		k.data = key;
		k.len = 8;
		if ((rc = kv_cursor_get(cur, KV_SET_KEY, &k, &v)) == 0)
			rc = kv_cursor_get(cur, KV_LAST_DUP, &k, &v);
	}
	for (; rc == 0 && !done; rc = kv_cursor_get(cur, KV_NEXT_DUP, &k,
	    &v)) {
		r.n = 0;
		if ((rc = chunkdb_seg_decode(v.data, v.len, &r)) < 0)
			break;
		for (i = 0; i < r.n && rc == 0; i++) {
			if (r.v[i].first < t0) {
				prev = r.v[i];
				have_prev = 1;
				continue;
			}
			/* Chunks do not overlap: only the last one starting
			 * before t0 may reach into the range. */
			if (have_prev) {
				have_prev = 0;
				if ((rc = emit(txn, id, &prev, t0, 1, fn,
				    arg, &c)) < 0)
					break;
			}
			if (r.v[i].first > t1) {
				done = 1;
				break;
			}
			rc = emit(txn, id, &r.v[i], t0, 0, fn, arg, &c);
		}
		if (rc < 0)
			break;
	}
	if (rc >= 0 && have_prev)
		rc = emit(txn, id, &prev, t0, 1, fn, arg, &c);
	kv_cursor_close(cur);
	chunkdb_chunk_free(&c);
	free(r.v);
	return rc == KV_NOTFOUND ? 0 : rc;
}

int
chunkdb_bounds(struct kv_txn *txn, uint64_t id, int64_t *oldest,
    chunkdb_fn fn, void *arg)
{
	struct kv_cursor	*cur;
	struct kv_val		 k, v;
	struct chunkdb_chunk	 c = { 0 };
	struct crefs		 r = { NULL, 0, 0 };
	struct cref		*last;
	uint8_t			 key[8];
	int			 rc;

	*oldest = INT64_MAX;
	if ((rc = kv_cursor_open(txn, KV_DB_CINDEX, &cur)) < 0)
		return rc;
	key_put64(key, id);
	k.data = key;
	k.len = 8;
	if ((rc = kv_cursor_get(cur, KV_SET_KEY, &k, &v)) == 0 &&
	    (rc = chunkdb_seg_decode(v.data, v.len, &r)) == 0) {
		*oldest = r.v[0].first;
		r.n = 0;
		if ((rc = kv_cursor_get(cur, KV_LAST_DUP, &k, &v)) == 0 &&
		    (rc = chunkdb_seg_decode(v.data, v.len, &r)) == 0) {
			last = &r.v[r.n - 1];
			if ((rc = get_chunk(txn, last->gkey, id, last->first,
			    &c)) == 0)
				rc = fn(arg, last->first, c.data, c.len,
				    c.times, c.tlen);
		}
	}
	kv_cursor_close(cur);
	chunkdb_chunk_free(&c);
	free(r.v);
	return rc == KV_NOTFOUND ? 0 : rc;
}

/* Whether chunk R of ID is old whole: its group's bucket ended before
 * CUT (the group may be gone already), or its newest sample is before
 * CUT.  One whose header does not read is kept: the reader reports it,
 * retention must not guess. */
static int
ref_old(struct kv_txn *txn, uint64_t id, const struct cref *r, int64_t cut)
{
	struct chunkdb_chunk	c = { 0 };
	uint32_t		count;
	int64_t			f, l;
	int			rc;

	if (group_end(r->gkey) <= cut)
		return 1;
	if ((rc = get_chunk(txn, r->gkey, id, r->first, &c)) == 0)
		rc = chunk_peek(c.data, c.len, &count, &f, &l) == 0 &&
		    l < cut;
	chunkdb_chunk_free(&c);
	return rc;
}

int
chunkdb_trim(struct kv_txn *txn, uint64_t id, int64_t cut, int64_t *left,
    uint64_t *ndeleted)
{
	struct kv_cursor	*cur;
	struct kv_val		 k, v;
	struct crefs		 r = { NULL, 0, 0 };
	uint8_t			 key[8], *old = NULL;
	size_t			 i = 0, oldlen = 0;
	int			 rc, keep = 0;

	*left = INT64_MAX;
	key_put64(key, id);
	/* Segment by segment from the oldest, while chunks are old. */
	for (;;) {
		if ((rc = kv_cursor_open(txn, KV_DB_CINDEX, &cur)) < 0)
			break;
		k.data = key;
		k.len = 8;
		r.n = 0;
		rc = kv_cursor_get(cur, KV_SET_KEY, &k, &v);
		if (rc == 0) {
			free(old);
			old = xmalloc(v.len);
			memcpy(old, v.data, v.len);
			oldlen = v.len;
			rc = chunkdb_seg_decode(old, oldlen, &r);
		}
		kv_cursor_close(cur);
		if (rc != 0)
			break;		/* KV_NOTFOUND: none left */
		keep = 0;
		for (i = 0; i < r.n && cut != INT64_MIN; i++) {
			if ((rc = ref_old(txn, id, &r.v[i], cut)) < 0)
				break;
			if (rc == 0) {
				keep = 1;
				break;
			}
		}
		if (rc < 0)
			break;
		if (cut == INT64_MIN)
			keep = 1;
		if (i > 0) {
			if ((rc = kv_del(txn, KV_DB_CINDEX, key, 8, old,
			    oldlen)) < 0 || (i < r.n && (rc = seg_put(txn, key,
			    r.v + i, r.n - i)) < 0))
				break;
			*ndeleted += i;
		}
		if (keep) {
			*left = r.v[i].first;
			rc = 0;
			break;
		}
	}
	free(old);
	free(r.v);
	return rc == KV_NOTFOUND ? 0 : rc;
}

int
chunkdb_drop(struct kv_txn *txn, uint64_t id)
{
	uint8_t	key[8];
	int	rc;

	key_put64(key, id);
	rc = kv_del(txn, KV_DB_CINDEX, key, 8, NULL, 0);
	return rc == KV_NOTFOUND ? 0 : rc;
}

/* Delete the groups whose every chunk is older than CUT. */
int
chunkdb_trim_groups(struct kv_txn *txn, int64_t cut, uint64_t *ndeleted)
{
	struct kv_cursor	*cur;
	struct kv_val		 k, v;
	uint8_t			 del[TRIM_BATCH][8];
	size_t			 nd, i;
	int			 rc, more;

	if (cut == INT64_MIN)
		return 0;
	do {
		nd = 0;
		more = 0;
		if ((rc = kv_cursor_open(txn, KV_DB_CHUNKS, &cur)) < 0)
			return rc;
		for (rc = kv_cursor_get(cur, KV_FIRST, &k, &v); rc == 0;
		    rc = kv_cursor_get(cur, KV_NEXT, &k, &v)) {
			if (k.len != 8 || group_end(key_get64(k.data)) > cut)
				break;
			if (nd == TRIM_BATCH) {
				more = 1;
				break;
			}
			memcpy(del[nd++], k.data, 8);
		}
		kv_cursor_close(cur);
		if (rc < 0 && rc != KV_NOTFOUND)
			return rc;
		for (i = 0; i < nd; i++)
			if ((rc = kv_del(txn, KV_DB_CHUNKS, del[i], 8, NULL,
			    0)) < 0)
				return rc;
		*ndeleted += nd;
	} while (more);
	return 0;
}

/* Delete the timestamp columns whose last time is before CUT. */
int
chunkdb_trim_columns(struct kv_txn *txn, int64_t cut, uint64_t *ndeleted)
{
	struct kv_cursor	*cur;
	struct kv_val		 k, v;
	uint8_t			 del[TRIM_BATCH][TKEY_LEN], start[TKEY_LEN];
	size_t			 nd, i;
	int			 rc, more;

	if (cut == INT64_MIN)
		return 0;
	memset(start, 0, sizeof(start));
	do {
		nd = 0;
		more = 0;
		if ((rc = kv_cursor_open(txn, KV_DB_TIMES, &cur)) < 0)
			return rc;
		k.data = start;
		k.len = TKEY_LEN;
		for (rc = kv_cursor_get(cur, KV_SET_RANGE, &k, &v); rc == 0;
		    rc = kv_cursor_get(cur, KV_NEXT, &k, &v)) {
			if (k.len != TKEY_LEN ||
			    key_get_time(k.data) >= cut)
				break;
			if (key_get_time((const uint8_t *)k.data + 8) >= cut)
				continue;
			if (nd == TRIM_BATCH) {
				more = 1;
				memcpy(start, k.data, TKEY_LEN);
				break;
			}
			memcpy(del[nd++], k.data, TKEY_LEN);
		}
		kv_cursor_close(cur);
		if (rc < 0 && rc != KV_NOTFOUND)
			return rc;
		for (i = 0; i < nd; i++)
			if ((rc = kv_del(txn, KV_DB_TIMES, del[i], TKEY_LEN,
			    NULL, 0)) < 0)
				return rc;
		*ndeleted += nd;
	} while (more);
	return 0;
}
