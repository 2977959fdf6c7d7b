/*
 * chunkdb: sealed chunks on disk, stored as a log, and their timestamp
 * columns stored once.
 *
 * Every sealed chunk gets the next number of a store-wide sequence and is
 * written under it in CHUNKS, so each flush appends at the end of the
 * database and LMDB fills its pages instead of splitting them in half, as
 * it would for keys spread over the series.  CINDEX finds them again: for
 * each series, sorted duplicates of (first time, sequence), 16 bytes a
 * chunk.  Retention deletes the oldest chunks, which sit together at the
 * start of the log.
 *
 * A chunk whose timestamps live in a column of their own (the codec's
 * shared encoding) refers to it by CRC32C; TIMES keeps each distinct
 * column once, keyed by (first, last, count, CRC), so the series of a
 * target, scraped at the same instants, store their timestamps once.  Two
 * different columns with the same key (a CRC collision) cannot both live
 * there: the second is kept inside its chunk's record instead.  A column
 * goes when retention passes its last time, as every chunk using it (same
 * first, last and count) goes then too.
 *
 *	CHUNKS record: series id u64 | inline column length u32 |
 *	               inline column | chunk
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
#define REC_HDR		12
#define TKEY_LEN	24
#define TRIM_BATCH	64

static void
ref_put(uint8_t *r, int64_t first, uint64_t seq)
{
	key_put_time(r, first);
	key_put64(r + 8, seq);
}

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
chunkdb_put(struct kv_txn *txn, uint64_t seq, uint64_t id, int64_t first,
    const struct sealed *p, uint64_t *columns)
{
	struct kv_val	 v;
	uint8_t		 k[8], ref[REF_LEN], tk[TKEY_LEN], *rec;
	size_t		 ilen = 0;
	int		 rc;

	if (p->tlen > 0 && column_key(p->data, p->len, tk) == 0) {
		rc = kv_get(txn, KV_DB_TIMES, tk, TKEY_LEN, &v);
		if (rc == KV_NOTFOUND) {
			rc = kv_put(txn, KV_DB_TIMES, tk, TKEY_LEN,
			    p->data + p->len, p->tlen);
			(*columns)++;
		} else if (rc == 0 && (v.len != p->tlen || memcmp(v.data,
		    p->data + p->len, p->tlen) != 0))
			ilen = p->tlen;
		if (rc < 0)
			return rc;
	} else if (p->tlen > 0)
		ilen = p->tlen;
	rec = xmalloc(REC_HDR + ilen + p->len);
	key_put64(rec, id);
	put32(rec + 8, (uint32_t)ilen);
	memcpy(rec + REC_HDR, p->data + p->len, ilen);
	memcpy(rec + REC_HDR + ilen, p->data, p->len);
	key_put64(k, seq);
	rc = kv_append(txn, KV_DB_CHUNKS, k, 8, rec, REC_HDR + ilen + p->len);
	free(rec);
	if (rc < 0)
		return rc;
	key_put64(k, id);
	ref_put(ref, first, seq);
	return kv_append(txn, KV_DB_CINDEX, k, 8, ref, REF_LEN);
}

/* A chunk and its timestamp column (NULL when self-contained or when
 * the column is missing: the decoder then says so). */
struct chunkrec {
	const uint8_t	*data, *times;
	size_t		 len, tlen;
};

/* The record of chunk SEQ, which must belong to series ID. */
static int
get_chunk(struct kv_txn *txn, uint64_t seq, uint64_t id, struct chunkrec *c)
{
	struct kv_val	 v, tv;
	const uint8_t	*p;
	uint8_t		 k[8], tk[TKEY_LEN];
	uint32_t	 ilen;
	int		 rc;

	key_put64(k, seq);
	if ((rc = kv_get(txn, KV_DB_CHUNKS, k, 8, &v)) == KV_NOTFOUND)
		return KV_ECORRUPT;
	if (rc < 0)
		return rc;
	p = v.data;
	if (v.len < REC_HDR || key_get64(p) != id ||
	    (ilen = get32(p + 8)) > v.len - REC_HDR)
		return KV_ECORRUPT;
	c->times = ilen > 0 ? p + REC_HDR : NULL;
	c->tlen = ilen;
	c->data = p + REC_HDR + ilen;
	c->len = v.len - REC_HDR - ilen;
	if (ilen == 0 && column_key(c->data, c->len, tk) == 0) {
		if ((rc = kv_get(txn, KV_DB_TIMES, tk, TKEY_LEN, &tv)) < 0)
			return rc;
		if (rc == 0) {
			c->times = tv.data;
			c->tlen = tv.len;
		}
	}
	return 0;
}

static int
ref_of(const struct kv_val *v, int64_t *first, uint64_t *seq)
{
	if (v->len != REF_LEN)
		return KV_ECORRUPT;
	*first = key_get_time(v->data);
	*seq = key_get64((const uint8_t *)v->data + 8);
	return 0;
}

/* Call FN with the chunk of the reference in V. */
static int
emit(struct kv_txn *txn, uint64_t id, const struct kv_val *v, int64_t t0,
    int check_last, chunkdb_fn fn, void *arg)
{
	struct chunkrec	 c;
	uint32_t	 count;
	int64_t		 first, last;
	uint64_t	 seq;
	int		 rc;

	if ((rc = ref_of(v, &first, &seq)) < 0 ||
	    (rc = get_chunk(txn, seq, id, &c)) < 0)
		return rc;
	/* A header that does not read goes to the reader, which says so. */
	if (check_last && chunk_peek(c.data, c.len, &count, &first,
	    &last) == 0 && last < t0)
		return 0;
	return fn(arg, first, c.data, c.len, c.times, c.tlen);
}

int
chunkdb_scan(struct kv_txn *txn, uint64_t id, int64_t t0, int64_t t1,
    chunkdb_fn fn, void *arg)
{
	struct kv_cursor	*cur;
	struct kv_val		 k, v;
	uint8_t			 key[8], ref[REF_LEN];
	int64_t			 first;
	uint64_t		 seq;
	int			 rc;

	if ((rc = kv_cursor_open(txn, KV_DB_CINDEX, &cur)) < 0)
		return rc;
	key_put64(key, id);
	ref_put(ref, t0, 0);
	k.data = key;
	k.len = 8;
	v.data = ref;
	v.len = REF_LEN;
	/* The chunk starting before t0 may reach into the range. */
	rc = kv_cursor_get(cur, KV_GET_BOTH_RANGE, &k, &v);
	if (rc == 0)
		rc = kv_cursor_get(cur, KV_PREV_DUP, &k, &v);
	else if (rc == KV_NOTFOUND) {
		k.data = key;
		k.len = 8;
		if ((rc = kv_cursor_get(cur, KV_SET_KEY, &k, &v)) == 0)
			rc = kv_cursor_get(cur, KV_LAST_DUP, &k, &v);
	}
	if (rc == 0)
		rc = emit(txn, id, &v, t0, 1, fn, arg);
	if (rc < 0 && rc != KV_NOTFOUND)
		goto out;
	k.data = key;
	k.len = 8;
	v.data = ref;
	v.len = REF_LEN;
	for (rc = kv_cursor_get(cur, KV_GET_BOTH_RANGE, &k, &v); rc == 0;
	    rc = kv_cursor_get(cur, KV_NEXT_DUP, &k, &v)) {
		if ((rc = ref_of(&v, &first, &seq)) < 0 || first > t1)
			break;
		if ((rc = emit(txn, id, &v, t0, 0, fn, arg)) < 0)
			break;
	}
out:
	kv_cursor_close(cur);
	return rc == KV_NOTFOUND ? 0 : rc;
}

int
chunkdb_bounds(struct kv_txn *txn, uint64_t id, int64_t *oldest,
    chunkdb_fn fn, void *arg)
{
	struct kv_cursor	*cur;
	struct kv_val		 k, v;
	struct chunkrec		 c;
	uint8_t			 key[8];
	int64_t			 first;
	uint64_t		 seq;
	int			 rc;

	*oldest = INT64_MAX;
	if ((rc = kv_cursor_open(txn, KV_DB_CINDEX, &cur)) < 0)
		return rc;
	key_put64(key, id);
	k.data = key;
	k.len = 8;
	if ((rc = kv_cursor_get(cur, KV_SET_KEY, &k, &v)) == 0 &&
	    (rc = ref_of(&v, oldest, &seq)) == 0 &&
	    (rc = kv_cursor_get(cur, KV_LAST_DUP, &k, &v)) == 0 &&
	    (rc = ref_of(&v, &first, &seq)) == 0 &&
	    (rc = get_chunk(txn, seq, id, &c)) == 0)
		rc = fn(arg, first, c.data, c.len, c.times, c.tlen);
	kv_cursor_close(cur);
	return rc == KV_NOTFOUND ? 0 : rc;
}

int
chunkdb_trim(struct kv_txn *txn, uint64_t id, int64_t cut, int64_t *left,
    uint64_t *ndeleted)
{
	struct kv_cursor	*cur;
	struct kv_val		 k, v;
	struct chunkrec		 c;
	uint8_t			 key[8], del[TRIM_BATCH][REF_LEN], sk[8];
	int64_t			 first, f, l;
	uint64_t		 seq;
	uint32_t		 count;
	size_t			 nd, i;
	int			 rc, more;

	key_put64(key, id);
	do {
		*left = INT64_MAX;
		nd = 0;
		more = 0;
		if ((rc = kv_cursor_open(txn, KV_DB_CINDEX, &cur)) < 0)
			return rc;
		k.data = key;
		k.len = 8;
		for (rc = kv_cursor_get(cur, KV_SET_KEY, &k, &v); rc == 0;
		    rc = kv_cursor_get(cur, KV_NEXT_DUP, &k, &v)) {
			if ((rc = ref_of(&v, &first, &seq)) < 0 ||
			    (rc = get_chunk(txn, seq, id, &c)) < 0)
				break;
			/* A chunk whose header does not read is kept: the
			 * reader reports it, retention must not guess. */
			if (cut == INT64_MIN || chunk_peek(c.data, c.len,
			    &count, &f, &l) != 0 || l >= cut) {
				*left = first;
				break;
			}
			if (nd == TRIM_BATCH) {
				more = 1;
				break;
			}
			memcpy(del[nd++], v.data, REF_LEN);
		}
		kv_cursor_close(cur);
		if (rc < 0 && rc != KV_NOTFOUND)
			return rc;
		for (i = 0; i < nd; i++) {
			memcpy(sk, del[i] + 8, 8);
			if ((rc = kv_del(txn, KV_DB_CINDEX, key, 8, del[i],
			    REF_LEN)) < 0 ||
			    (rc = kv_del(txn, KV_DB_CHUNKS, sk, 8, NULL, 0)) < 0)
				return rc;
		}
		*ndeleted += nd;
	} while (more);
	return 0;
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
