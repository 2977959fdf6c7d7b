/*
 * chunkdb: sealed chunks on disk, stored as a log.
 *
 * Every sealed chunk gets the next number of a store-wide sequence and is
 * written under it in CHUNKS (value: series id, then the chunk bytes), so
 * each flush appends at the end of the database and LMDB fills its pages
 * instead of splitting them in half, as it would for keys spread over the
 * series.  CINDEX finds them again: for each series, sorted duplicates of
 * (first time, sequence), 16 bytes a chunk.  Retention deletes the oldest
 * chunks, which sit together at the start of the log.
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
#define TRIM_BATCH	64

static void
ref_put(uint8_t *r, int64_t first, uint64_t seq)
{
	key_put_time(r, first);
	key_put64(r + 8, seq);
}

int
chunkdb_put(struct kv_txn *txn, uint64_t seq, uint64_t id, int64_t first,
    const void *data, size_t len)
{
	uint8_t	 k[8], ref[REF_LEN], *rec;
	int	 rc;

	key_put64(k, seq);
	rec = xmalloc(len + 8);
	key_put64(rec, id);
	memcpy(rec + 8, data, len);
	rc = kv_append(txn, KV_DB_CHUNKS, k, 8, rec, len + 8);
	free(rec);
	if (rc < 0)
		return rc;
	key_put64(k, id);
	ref_put(ref, first, seq);
	return kv_append(txn, KV_DB_CINDEX, k, 8, ref, REF_LEN);
}

/* The bytes of chunk SEQ, which must belong to series ID. */
static int
get_chunk(struct kv_txn *txn, uint64_t seq, uint64_t id,
    const uint8_t **data, size_t *len)
{
	struct kv_val	v;
	uint8_t		k[8];
	int		rc;

	key_put64(k, seq);
	if ((rc = kv_get(txn, KV_DB_CHUNKS, k, 8, &v)) == KV_NOTFOUND ||
	    (rc == 0 && (v.len < 8 || key_get64(v.data) != id)))
		return KV_ECORRUPT;
	if (rc < 0)
		return rc;
	*data = (const uint8_t *)v.data + 8;
	*len = v.len - 8;
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
	const uint8_t	*data;
	size_t		 len;
	uint32_t	 count;
	int64_t		 first, last;
	uint64_t	 seq;
	int		 rc;

	if ((rc = ref_of(v, &first, &seq)) < 0 ||
	    (rc = get_chunk(txn, seq, id, &data, &len)) < 0)
		return rc;
	/* A header that does not read goes to the reader, which says so. */
	if (check_last && chunk_peek(data, len, &count, &first, &last) == 0 &&
	    last < t0)
		return 0;
	return fn(arg, first, data, len);
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
    const uint8_t **last, size_t *lastlen)
{
	struct kv_cursor	*cur;
	struct kv_val		 k, v;
	uint8_t			 key[8];
	int64_t			 first;
	uint64_t		 seq;
	int			 rc;

	*oldest = INT64_MAX;
	*last = NULL;
	*lastlen = 0;
	if ((rc = kv_cursor_open(txn, KV_DB_CINDEX, &cur)) < 0)
		return rc;
	key_put64(key, id);
	k.data = key;
	k.len = 8;
	if ((rc = kv_cursor_get(cur, KV_SET_KEY, &k, &v)) == 0 &&
	    (rc = ref_of(&v, oldest, &seq)) == 0 &&
	    (rc = kv_cursor_get(cur, KV_LAST_DUP, &k, &v)) == 0 &&
	    (rc = ref_of(&v, &first, &seq)) == 0)
		rc = get_chunk(txn, seq, id, last, lastlen);
	kv_cursor_close(cur);
	return rc == KV_NOTFOUND ? 0 : rc;
}

int
chunkdb_trim(struct kv_txn *txn, uint64_t id, int64_t cut, int64_t *left,
    uint64_t *ndeleted)
{
	struct kv_cursor	*cur;
	struct kv_val		 k, v;
	const uint8_t		*data;
	uint8_t			 key[8], del[TRIM_BATCH][REF_LEN], sk[8];
	int64_t			 first, f, l;
	uint64_t		 seq;
	uint32_t		 count;
	size_t			 nd, i, len;
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
			    (rc = get_chunk(txn, seq, id, &data, &len)) < 0)
				break;
			/* A chunk whose header does not read is kept: the
			 * reader reports it, retention must not guess. */
			if (cut == INT64_MIN || chunk_peek(data, len, &count,
			    &f, &l) != 0 || l >= cut) {
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
