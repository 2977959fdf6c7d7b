/*
 * chunkdb: sealed chunks on disk, packed in groups, found through a
 * per-series index.
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
 * Chunks in the codec's shared encoding keep their timestamps in a column
 * apart, and the series of one target, scraped at the same instants, have
 * the same column: a group keeps each distinct column once, in front, and
 * such a chunk names its column by index.  Its header then repeats the
 * column's count, first and last time, and its payload the column's CRC,
 * so it is kept stripped of them (chunk_strip) and rebuilt on reading.  The series of a target seal
 * together, into the same flush and bucket, so a column is rarely in more
 * than one group.  The layout is drawn in storage/LAYOUT.md.
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
#define TRIM_BATCH	64
#define GROUP_HDR	14
#define GROUP_ENT	8
#define GROUP_COLUMN	0x80000000u
#define GROUP_STRIP	0x40000000u
#define GROUP_IDS	0x3fffffffu
/* A group stays below this; a chunk alone may pass it. */
#define GROUP_MAX	(1u << 20)
#define GROUP_CHUNKS	0xffff
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

int
chunkdb_group_parse(const void *rec, size_t len, struct chunkdb_group *g)
{
	const uint8_t	*p = rec;
	size_t		 off;

	if (len < GROUP_HDR)
		return KV_ECORRUPT;
	g->n = get32(p);
	g->base = key_get64(p + 4);
	g->ncols = (uint32_t)p[12] << 8 | p[13];
	off = GROUP_HDR + (size_t)g->ncols * 4;
	if (g->n == 0 || off > len)
		return KV_ECORRUPT;
	g->cols = p + GROUP_HDR;
	g->colbytes = p + off;
	g->colen = g->ncols > 0 ? get32(g->cols + (g->ncols - 1) * 4) : 0;
	if (g->colen > len - off)
		return KV_ECORRUPT;
	off += g->colen;
	if (g->n > (len - off) / GROUP_ENT)
		return KV_ECORRUPT;
	g->dir = p + off;
	g->blobs = g->dir + (size_t)g->n * GROUP_ENT;
	g->blen = len - off - (size_t)g->n * GROUP_ENT;
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

/* Column CI of a group. */
static int
group_column(const struct chunkdb_group *g, uint64_t ci,
    struct chunkdb_chunk *c)
{
	uint32_t start, end;

	if (ci >= g->ncols)
		return KV_ECORRUPT;
	start = ci == 0 ? 0 : get32(g->cols + (ci - 1) * 4);
	end = get32(g->cols + ci * 4);
	if (start >= end || end > g->colen)
		return KV_ECORRUPT;
	c->times = g->colbytes + start;
	c->tlen = end - start;
	return 0;
}

/* A stripped chunk whole again, into C's buffer, with its column. */
static int
unstrip(struct chunkdb_chunk *c, const uint8_t *s, size_t slen)
{
	size_t need = slen + CHUNK_HDR_MAX;

	if (need > c->cap) {
		c->cap = need * 2;
		c->buf = xreallocarray(c->buf, 1, c->cap);
	}
	c->len = chunk_unstrip(s, slen, c->times, c->tlen, c->buf, c->cap);
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
	uint32_t	 start, end, flags;
	uint64_t	 ci;
	size_t		 l, off = 0;
	int		 rc;

	if (i >= g->n)
		return KV_ECORRUPT;
	start = i == 0 ? 0 : get32(e - GROUP_ENT + 4);
	end = get32(e + 4);
	flags = get32(e);
	if (start >= end || end > g->blen)
		return KV_ECORRUPT;
	p = g->blobs + start;
	l = end - start;
	c->times = NULL;
	c->tlen = 0;
	if (flags & GROUP_COLUMN) {
		if (key_get_uvarint(p, l, &off, &ci) == -1 ||
		    (rc = group_column(g, ci, c)) < 0)
			return KV_ECORRUPT;
		p += off;
		l -= off;
	}
	if (flags & GROUP_STRIP)
		return c->times != NULL ? unstrip(c, p, l) : KV_ECORRUPT;
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
 * timestamp column.  C's buffer is the caller's.
 */
static int
get_chunk(struct kv_txn *txn, uint64_t gkey, uint64_t id, int64_t first,
    struct chunkdb_chunk *c)
{
	struct chunkdb_group	 g;
	struct kv_val		 v;
	uint8_t			 k[8];
	uint32_t		 i, n = 0, count;
	int64_t			 f, l;
	int			 rc;

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
		    f == first)
			return 0;
	}
	/* The only chunk of the series there, whose header does not read:
	 * the decoder reports it. */
	if (n == 1 && chunkdb_group_chunk(&g, i - 1, c) == 0)
		return 0;
	return KV_ECORRUPT;
}

/* Writing: the chunks of one transaction. */
struct centry {
	uint64_t		 id, bucket, gkey;
	const struct sealed	*p;
	size_t			 ci;		/* its column in the group */
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

/* Timestamp columns, by their bytes. */
static int
column_cmp(const void *a, const void *b)
{
	const struct sealed *x = (*(struct centry *const *)a)->p;
	const struct sealed *y = (*(struct centry *const *)b)->p;

	if (x->tlen != y->tlen)
		return x->tlen < y->tlen ? -1 : 1;
	return memcmp(x->data + x->len, y->data + y->len, x->tlen);
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
 * Write entries V[0..n) (one bucket, sorted) as one group: each distinct
 * timestamp column once, then the directory and the chunks.  A chunk that
 * refers to a column starts with its index, and is kept stripped of the
 * header fields the column repeats (chunk_strip) when it can be.
 */
static int
put_group(struct kv_txn *txn, struct centry *v, size_t n,
    uint64_t *columns)
{
	struct centry	**c;
	const struct sealed *p;
	uint8_t		*rec, *cols, *d, *e, k[8];
	size_t		 size, i, nc = 0, nu = 0, off, sl, vl;
	uint32_t	 idv;
	uint64_t	 gkey;
	int		 rc;

	/* The distinct columns: at most one a chunk, GROUP_CHUNKS. */
	c = xcalloc(n + 1, sizeof(*c));
	for (i = 0; i < n; i++)
		if (v[i].p->tlen > 0)
			c[nu++] = &v[i];
	qsort(c, nu, sizeof(*c), column_cmp);
	size = GROUP_HDR + n * GROUP_ENT;
	for (i = 0; i < nu; i++) {
		if (nc == 0 || column_cmp(&c[i - 1], &c[i]) != 0) {
			nc++;
			size += 4 + c[i]->p->tlen;
		}
		c[i]->ci = nc - 1;
	}
	for (i = 0; i < n; i++)
		size += 10 + v[i].p->len;
	if ((rc = group_key(txn, v[0].bucket, &gkey)) < 0) {
		free(c);
		return rc;
	}
	rec = xmalloc(size);
	put32(rec, (uint32_t)n);
	key_put64(rec + 4, v[0].id);
	rec[12] = (uint8_t)(nc >> 8);
	rec[13] = (uint8_t)nc;
	cols = rec + GROUP_HDR + nc * 4;
	for (i = off = 0, nc = 0; i < nu; i++) {
		if (c[i]->ci != nc)
			continue;
		p = c[i]->p;
		memcpy(cols + off, p->data + p->len, p->tlen);
		off += p->tlen;
		put32(rec + GROUP_HDR + nc++ * 4, (uint32_t)off);
	}
	free(c);
	e = cols + off;
	d = e + n * GROUP_ENT;
	for (i = off = 0; i < n; i++) {
		p = v[i].p;
		idv = (uint32_t)(v[i].id - v[0].id);
		sl = 0;
		if (p->tlen > 0) {
			idv |= GROUP_COLUMN;
			vl = key_put_uvarint(d + off, v[i].ci);
			sl = chunk_strip(p->data, p->len, p->data + p->len,
			    p->tlen, d + off + vl);
			off += vl;
		}
		if (sl > 0) {
			off += sl;
			idv |= GROUP_STRIP;
		} else {
			memcpy(d + off, p->data, p->len);
			off += p->len;
		}
		put32(e + i * GROUP_ENT, idv);
		put32(e + i * GROUP_ENT + 4, (uint32_t)off);
		v[i].gkey = gkey;
	}
	*columns += nc;
	key_put64(k, gkey);
	rc = kv_append(txn, KV_DB_CHUNKS, k, 8, rec, (size_t)(d - rec) + off);
	free(rec);
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
		for (j = i; j < b->n; j++) {
			if (v[j].bucket != v[i].bucket ||
			    v[j].id - v[i].id > GROUP_IDS ||
			    j - i == GROUP_CHUNKS || (j > i && size +
			    v[j].p->len + v[j].p->tlen > GROUP_MAX))
				break;
			size += GROUP_ENT + v[j].p->len + v[j].p->tlen;
		}
		rc = put_group(txn, v + i, j - i, columns);
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

void
chunkdb_scratch_free(struct chunkdb_scratch *scr)
{
	chunkdb_chunk_free(&scr->c);
	free(scr->r.v);
	memset(scr, 0, sizeof(*scr));
}

int
chunkdb_scan(struct kv_txn *txn, uint64_t id, int64_t t0, int64_t t1,
    chunkdb_fn fn, void *arg, struct chunkdb_scratch *scr)
{
	struct kv_cursor	*cur;
	struct kv_val		 k, v;
	struct chunkdb_scratch	 own;
	struct crefs		*rp;
	struct chunkdb_chunk	*cp;
	struct cref		 prev;
	uint8_t			 key[8], tb[8];
	size_t			 i;
	int			 rc, have_prev = 0, done = 0;

	if ((rc = kv_cursor_open(txn, KV_DB_CINDEX, &cur)) < 0)
		return rc;
	memset(&own, 0, sizeof(own));
	rp = scr != NULL ? &scr->r : &own.r;
	cp = scr != NULL ? &scr->c : &own.c;
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
		rp->n = 0;
		if ((rc = chunkdb_seg_decode(v.data, v.len, rp)) < 0)
			break;
		for (i = 0; i < rp->n && rc == 0; i++) {
			if (rp->v[i].first < t0) {
				prev = rp->v[i];
				have_prev = 1;
				continue;
			}
			/* Chunks do not overlap: only the last one starting
			 * before t0 may reach into the range. */
			if (have_prev) {
				have_prev = 0;
				if ((rc = emit(txn, id, &prev, t0, 1, fn,
				    arg, cp)) < 0)
					break;
			}
			if (rp->v[i].first > t1) {
				done = 1;
				break;
			}
			rc = emit(txn, id, &rp->v[i], t0, 0, fn, arg, cp);
		}
		if (rc < 0)
			break;
	}
	if (rc >= 0 && have_prev)
		rc = emit(txn, id, &prev, t0, 1, fn, arg, cp);
	kv_cursor_close(cur);
	chunkdb_scratch_free(&own);
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

/* Delete the groups whose every chunk is older than CUT, counting them
 * and their columns. */
int
chunkdb_trim_groups(struct kv_txn *txn, int64_t cut, uint64_t *ngroups,
    uint64_t *ncolumns)
{
	struct kv_cursor	*cur;
	struct kv_val		 k, v;
	struct chunkdb_group	 g;
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
			if (chunkdb_group_parse(v.data, v.len, &g) == 0)
				*ncolumns += g.ncols;
			memcpy(del[nd++], k.data, 8);
		}
		kv_cursor_close(cur);
		if (rc < 0 && rc != KV_NOTFOUND)
			return rc;
		for (i = 0; i < nd; i++)
			if ((rc = kv_del(txn, KV_DB_CHUNKS, del[i], 8, NULL,
			    0)) < 0)
				return rc;
		*ngroups += nd;
	} while (more);
	return 0;
}
