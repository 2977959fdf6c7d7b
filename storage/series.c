/*
 * series: the series index, in memory and in LMDB.
 *
 * A series' identity is its canonical key: "name\0value\0" for each label
 * in order (__name__ first, the rest sorted), which is also what the SERIES
 * database stores for its id.  In memory every series is in two chained
 * hash tables, by key hash (the append path) and by id (readers looking up
 * a head); both are resized together.  Per-job series counts live in a
 * third small table so the per-job limit costs one lookup.
 *
 * On disk a new series writes its record, its key hash and one postings
 * entry per label plus the all-series entry; deleting it removes exactly
 * those.  The whole index is loaded at open.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "kv.h"
#include "sample.h"
#include "store_int.h"
#include "xmalloc.h"

struct job {
	struct job	*next;
	uint64_t	 hash;
	uint64_t	 count;
	size_t		 len;
	char		 name[];
};

#define INDEX_MIN_BUCKETS	1024

void
series_index_init(struct series_index *idx)
{
	memset(idx, 0, sizeof(*idx));
	idx->nbuckets = INDEX_MIN_BUCKETS;
	idx->byhash = xcalloc(idx->nbuckets, sizeof(*idx->byhash));
	idx->byid = xcalloc(idx->nbuckets, sizeof(*idx->byid));
	idx->njobbuckets = 64;
	idx->jobs = xcalloc(idx->njobbuckets, sizeof(*idx->jobs));
}

/* Frees the tables and the jobs, not the series (their owner does). */
void
series_index_free(struct series_index *idx)
{
	struct job	*j, *next;
	size_t		 i;

	for (i = 0; i < idx->njobbuckets; i++)
		for (j = idx->jobs[i]; j != NULL; j = next) {
			next = j->next;
			free(j);
		}
	free(idx->jobs);
	free(idx->byhash);
	free(idx->byid);
	memset(idx, 0, sizeof(*idx));
}

static uint64_t
hash_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* A fast 64-bit hash, eight bytes at a time; not for adversaries' keys
 * only in the sense that collisions cost a compare, never correctness. */
uint64_t
series_hash(const void *p, size_t len)
{
	const uint8_t	*s = p;
	uint64_t	 h = 0x9e3779b97f4a7c15ULL ^ (len * 0x100000001b3ULL);
	uint64_t	 w;

	while (len >= 8) {
		memcpy(&w, s, 8);
		h ^= hash_mix(w);
		h = (h << 27 | h >> 37) * 0x87c37b91114253d5ULL + 0x52dce729;
		s += 8;
		len -= 8;
	}
	w = 0;
	memcpy(&w, s, len);
	h ^= hash_mix(w ^ len);
	return hash_mix(h);
}

size_t
series_key(const struct label *l, size_t n, char **buf, size_t *cap)
{
	size_t	i, len = 0, need = 0, nl, vl;

	for (i = 0; i < n; i++)
		need += strlen(l[i].name) + strlen(l[i].value) + 2;
	if (need > *cap) {
		*cap = need * 2;
		*buf = xreallocarray(*buf, 1, *cap);
	}
	for (i = 0; i < n; i++) {
		nl = strlen(l[i].name) + 1;
		vl = strlen(l[i].value) + 1;
		memcpy(*buf + len, l[i].name, nl);
		len += nl;
		memcpy(*buf + len, l[i].value, vl);
		len += vl;
	}
	return len;
}

int
series_key_valid(const void *key, size_t len)
{
	const char	*k = key;
	size_t		 i, nul = 0;

	if (len < 2 || k[len - 1] != '\0')
		return 0;
	for (i = 0; i < len; i++)
		if (k[i] == '\0')
			nul++;
	return nul % 2 == 0;
}

size_t
series_nlabels(const char *key, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (key[i] == '\0')
			n++;
	return n / 2;
}

size_t
series_labels(const char *key, size_t len, struct label *out, size_t max)
{
	size_t	off = 0, n = 0, l;

	while (off < len && n < max) {
		out[n].name = key + off;
		l = strnlen(key + off, len - off);
		off += l + 1;
		if (off >= len)
			break;
		out[n].value = key + off;
		l = strnlen(key + off, len - off);
		off += l + 1;
		n++;
	}
	return n;
}

/* The value of the job label in a key, or NULL. */
static const char *
key_job(const char *key, size_t len, size_t *jlen)
{
	size_t		off = 0, l;
	const char	*name;

	while (off < len) {
		name = key + off;
		off += strnlen(name, len - off) + 1;
		if (off >= len)
			break;
		l = strnlen(key + off, len - off);
		if (strcmp(name, "job") == 0) {
			*jlen = l;
			return key + off;
		}
		off += l + 1;
	}
	return NULL;
}

static struct job *
job_find(struct series_index *idx, const char *name, size_t len, int create)
{
	uint64_t	 h = series_hash(name, len);
	struct job	**bucket = &idx->jobs[h & (idx->njobbuckets - 1)];
	struct job	*j;

	for (j = *bucket; j != NULL; j = j->next)
		if (j->hash == h && j->len == len &&
		    memcmp(j->name, name, len) == 0)
			return j;
	if (!create)
		return NULL;
	j = xcalloc(1, sizeof(*j) + len + 1);
	j->hash = h;
	j->len = len;
	memcpy(j->name, name, len);
	j->next = *bucket;
	*bucket = j;
	return j;
}

uint64_t
series_job_count(struct series_index *idx, const char *key, size_t len)
{
	const char	*name;
	size_t		 jlen;
	struct job	*j;

	if ((name = key_job(key, len, &jlen)) == NULL)
		return 0;
	j = job_find(idx, name, jlen, 0);
	return j != NULL ? j->count : 0;
}

struct series *
series_new(uint64_t id, const char *key, size_t len, uint64_t hash)
{
	/* The key lives in the same allocation: one malloc header less and
	 * one fewer pointer to chase per series. */
	struct series *s = xcalloc(1, sizeof(*s) + len);

	s->id = id;
	s->hash = hash;
	s->key = s->keybuf;
	memcpy(s->key, key, len);
	s->keylen = (uint32_t)len;
	s->mint = INT64_MAX;
	s->last_t = INT64_MIN;
	return s;
}

void
series_free(struct series *s)
{
	if (s == NULL)
		return;
	head_free(s);
	free(s);
}

struct series *
series_find_key(struct series_index *idx, const char *key, size_t len,
    uint64_t hash)
{
	struct series *s;

	for (s = idx->byhash[hash & (idx->nbuckets - 1)]; s != NULL;
	    s = s->hnext)
		if (s->hash == hash && s->keylen == len &&
		    memcmp(s->key, key, len) == 0)
			return s;
	return NULL;
}

static size_t
id_bucket(const struct series_index *idx, uint64_t id)
{
	return hash_mix(id) & (idx->nbuckets - 1);
}

struct series *
series_find_id(struct series_index *idx, uint64_t id)
{
	struct series *s;

	for (s = idx->byid[id_bucket(idx, id)]; s != NULL; s = s->inext)
		if (s->id == id)
			return s;
	return NULL;
}

static void
index_link(struct series_index *idx, struct series *s)
{
	size_t hb = s->hash & (idx->nbuckets - 1), ib = id_bucket(idx, s->id);

	s->hnext = idx->byhash[hb];
	idx->byhash[hb] = s;
	s->inext = idx->byid[ib];
	idx->byid[ib] = s;
}

static void
index_grow(struct series_index *idx)
{
	struct series	**old = idx->byid, *s, *next;
	size_t		  i, n = idx->nbuckets;

	free(idx->byhash);
	idx->nbuckets *= 2;
	idx->byhash = xcalloc(idx->nbuckets, sizeof(*idx->byhash));
	idx->byid = xcalloc(idx->nbuckets, sizeof(*idx->byid));
	for (i = 0; i < n; i++)
		for (s = old[i]; s != NULL; s = next) {
			next = s->inext;
			index_link(idx, s);
		}
	free(old);
}

void
series_insert(struct series_index *idx, struct series *s)
{
	const char	*job;
	size_t		 jlen;

	if (idx->count >= idx->nbuckets)
		index_grow(idx);
	index_link(idx, s);
	idx->count++;
	if ((job = key_job(s->key, s->keylen, &jlen)) != NULL) {
		s->job = job_find(idx, job, jlen, 1);
		s->job->count++;
	}
}

void
series_remove(struct series_index *idx, struct series *s)
{
	struct series **pp;

	for (pp = &idx->byhash[s->hash & (idx->nbuckets - 1)]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (*pp == s) {
			*pp = s->hnext;
			break;
		}
	for (pp = &idx->byid[id_bucket(idx, s->id)]; *pp != NULL;
	    pp = &(*pp)->inext)
		if (*pp == s) {
			*pp = s->inext;
			break;
		}
	idx->count--;
	if (s->job != NULL)
		s->job->count--;
	s->job = NULL;
}

/* Apply FN (kv_put or kv_del) to every index record of S. */
static int
series_records(struct kv_txn *txn, const struct series *s,
    int (*fn)(struct kv_txn *, enum kv_db, const void *, size_t,
    const void *, size_t))
{
	struct label	 l[1];
	uint8_t		 id[8], hash[8], pk[POSTINGS_KEY_MAX];
	size_t		 off = 0, n, klen;
	int		 rc;

	key_put64(id, s->id);
	key_put64(hash, s->hash);
	if ((rc = fn(txn, KV_DB_SERIES_HASH, hash, 8, id, 8)) < 0)
		return rc;
	if ((rc = fn(txn, KV_DB_POSTINGS, POSTINGS_ALL_KEY, 1, id, 8)) < 0)
		return rc;
	while (off < s->keylen) {
		n = series_labels(s->key + off, s->keylen - off, l, 1);
		if (n == 0)
			break;
		klen = postings_key(pk, l[0].name, l[0].value);
		if ((rc = fn(txn, KV_DB_POSTINGS, pk, klen, id, 8)) < 0)
			return rc;
		off += strlen(l[0].name) + strlen(l[0].value) + 2;
	}
	return 0;
}

static int
kv_put_any(struct kv_txn *txn, enum kv_db db, const void *k, size_t kl,
    const void *v, size_t vl)
{
	return kv_put(txn, db, k, kl, v, vl);
}

static int
kv_del_any(struct kv_txn *txn, enum kv_db db, const void *k, size_t kl,
    const void *v, size_t vl)
{
	int rc = kv_del(txn, db, k, kl, v, vl);

	return rc == KV_NOTFOUND ? 0 : rc;
}

int
series_write(struct kv_txn *txn, const struct series *s)
{
	uint8_t	id[8];
	int	rc;

	key_put64(id, s->id);
	if ((rc = kv_put(txn, KV_DB_SERIES, id, 8, s->key, s->keylen)) < 0)
		return rc;
	return series_records(txn, s, kv_put_any);
}

int
series_delete(struct kv_txn *txn, const struct series *s)
{
	uint8_t	id[8];
	int	rc;

	key_put64(id, s->id);
	if ((rc = kv_del_any(txn, KV_DB_SERIES, id, 8, NULL, 0)) < 0)
		return rc;
	if ((rc = head_delete(txn, s->id)) < 0 ||
	    (rc = chunkdb_drop(txn, s->id)) < 0)
		return rc;
	return series_records(txn, s, kv_del_any);
}

int
series_load(struct store *st, char *err, size_t errlen)
{
	struct kv_txn		*txn;
	struct kv_cursor	*cur = NULL;
	struct kv_val		 k, v;
	struct series		*s;
	uint64_t		 id;
	int			 rc;

	if ((rc = kv_read_begin(st->kv, &txn, err, errlen)) < 0)
		return -1;
	if ((rc = kv_cursor_open(txn, KV_DB_SERIES, &cur)) < 0)
		goto fail;
	for (rc = kv_cursor_get(cur, KV_FIRST, &k, &v); rc == 0;
	    rc = kv_cursor_get(cur, KV_NEXT, &k, &v)) {
		if (k.len != 8 || v.len > UINT32_MAX ||
		    !series_key_valid(v.data, v.len)) {
			rc = KV_ECORRUPT;
			snprintf(err, errlen, "series index: a damaged record");
			goto out;
		}
		id = key_get64(k.data);
		s = series_new(id, v.data, v.len, series_hash(v.data, v.len));
		series_insert(&st->idx, s);
		if (id >= st->next_id)
			st->next_id = id + 1;
	}
	if (rc == KV_NOTFOUND)
		rc = 0;
fail:
	if (rc < 0)
		snprintf(err, errlen, "series index: %s", kv_txn_error(txn));
out:
	kv_cursor_close(cur);
	kv_read_end(txn);
	return rc < 0 ? -1 : 0;
}
