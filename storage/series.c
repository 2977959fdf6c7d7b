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
 * On disk a series is only its postings: its id in the list of each of
 * its label pairs and in the all-series list (postings.c); deleting it
 * removes exactly those.  The whole index is loaded at open, each series'
 * key rebuilt from the pairs whose lists hold its id.
 */
#include "config.h"

#include <stdio.h>
#include <stddef.h>
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
	struct series *s = xcalloc(1, offsetof(struct series, key) + len);

	s->id = id;
	s->hash = hash;
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

/* A postings entry of a new series: its key in the batch's arena. */
struct pent {
	const uint8_t	*key;		/* set once the arena stopped moving */
	size_t		 off, len;
	const char	*value;		/* the whole label value */
	uint64_t	 id;
};

struct pents {
	struct pent	*v;
	size_t		 n, cap;
	uint8_t		*arena;
	size_t		 alen, acap;
};

static void
pents_add(struct pents *pe, const void *key, size_t len, const char *value,
    uint64_t id)
{
	if (pe->n == pe->cap) {
		pe->cap = pe->cap ? pe->cap * 2 : 256;
		pe->v = xreallocarray(pe->v, pe->cap, sizeof(*pe->v));
	}
	if (pe->alen + len > pe->acap) {
		pe->acap = (pe->alen + len) * 2;
		pe->arena = xreallocarray(pe->arena, 1, pe->acap);
	}
	memcpy(pe->arena + pe->alen, key, len);
	pe->v[pe->n].off = pe->alen;
	pe->v[pe->n].len = len;
	pe->v[pe->n].value = value;
	pe->v[pe->n].id = id;
	pe->n++;
	pe->alen += len;
}

static int
pent_cmp(const void *a, const void *b)
{
	const struct pent	*x = a, *y = b;
	size_t			 n = x->len < y->len ? x->len : y->len;
	int			 c;

	if ((c = memcmp(x->key, y->key, n)) != 0)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Call FN for each postings key of S (the all-series key first). */
static int
series_keys(const struct series *s, int (*fn)(void *, const void *, size_t,
    const char *), void *arg)
{
	struct label	 l[1];
	uint8_t		 pk[POSTINGS_KEY_MAX];
	size_t		 off = 0, n, klen;
	int		 rc;

	if ((rc = fn(arg, POSTINGS_ALL_KEY, 1, "")) < 0)
		return rc;
	while (off < s->keylen) {
		n = series_labels(s->key + off, s->keylen - off, l, 1);
		if (n == 0)
			break;
		klen = postings_key(pk, l[0].name, l[0].value);
		if ((rc = fn(arg, pk, klen, l[0].value)) < 0)
			return rc;
		off += strlen(l[0].name) + strlen(l[0].value) + 2;
	}
	return 0;
}

struct collect {
	struct pents	*pe;
	uint64_t	 id;
};

static int
collect_key(void *arg, const void *key, size_t len, const char *value)
{
	struct collect *c = arg;

	pents_add(c->pe, key, len, value, c->id);
	return 0;
}

/*
 * The postings of new series, one read-modify-write per key for the whole
 * batch: every series of a target shares most of its keys.
 */
int
series_write(struct kv_txn *txn, struct series *const *v, size_t n)
{
	struct pents	 pe;
	struct collect	 c;
	uint64_t	*ids = NULL;
	size_t		 i, j, k;
	int		 rc = 0;

	memset(&pe, 0, sizeof(pe));
	c.pe = &pe;
	for (i = 0; i < n; i++) {
		c.id = v[i]->id;
		(void)series_keys(v[i], collect_key, &c);
	}
	for (i = 0; i < pe.n; i++)
		pe.v[i].key = pe.arena + pe.v[i].off;
	qsort(pe.v, pe.n, sizeof(*pe.v), pent_cmp);
	ids = xcalloc(pe.n + 1, sizeof(*ids));
	for (i = 0; i < pe.n && rc == 0; i = j) {
		for (j = i, k = 0; j < pe.n && pe.v[j].len == pe.v[i].len &&
		    memcmp(pe.v[j].key, pe.v[i].key, pe.v[i].len) == 0; j++)
			if (k == 0 || ids[k - 1] != pe.v[j].id)
				ids[k++] = pe.v[j].id;
		rc = postings_add(txn, pe.v[i].key, pe.v[i].len,
		    pe.v[i].value, ids, k);
	}
	free(ids);
	free(pe.v);
	free(pe.arena);
	return rc;
}

struct unlink_ctx {
	struct kv_txn	*txn;
	uint64_t	 id;
};

static int
unlink_key(void *arg, const void *key, size_t len, const char *value)
{
	struct unlink_ctx *u = arg;

	(void)value;
	return postings_remove(u->txn, key, len, u->id);
}

int
series_delete(struct kv_txn *txn, const struct series *s)
{
	struct unlink_ctx	u = { txn, s->id };
	int			rc;

	if ((rc = head_delete(txn, s->id)) < 0 ||
	    (rc = chunkdb_drop(txn, s->id)) < 0)
		return rc;
	return series_keys(s, unlink_key, &u);
}

/*
 * Loading the index: the series' labels are not stored apart, they are
 * what the postings say.  A first walk counts the labels of every series
 * (found among the sorted ids of the all-series key), a second one lists
 * them, in key order, hence in name order; the canonical key puts
 * __name__ first.
 */
struct pair {
	const char	*name, *value;
	size_t		 nl, vl;
};

struct load_ctx {
	const uint64_t	*all;
	size_t		 nall;
	struct pair	*pairs;
	size_t		 npairs, cap;
	uint32_t	*count;		/* per series: labels, then offsets */
	uint32_t	*refs;		/* pair of each label, by series */
	int		 fill;
	char		*err;
	size_t		 errlen;
};

static size_t
slot_of(const struct load_ctx *lc, uint64_t id)
{
	size_t lo = 0, hi = lc->nall, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (lc->all[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < lc->nall && lc->all[lo] == id ? lo : SIZE_MAX;
}

static int
load_pair(void *arg, const char *name, size_t nl, const char *value,
    size_t vl, const struct store_ids *ids)
{
	struct load_ctx	*lc = arg;
	size_t		 i, slot, p = lc->npairs++;

	if (!lc->fill) {
		if (p == lc->cap) {
			lc->cap = lc->cap ? lc->cap * 2 : 1024;
			lc->pairs = xreallocarray(lc->pairs, lc->cap,
			    sizeof(*lc->pairs));
		}
		lc->pairs[p].name = name;
		lc->pairs[p].nl = nl;
		lc->pairs[p].value = value;
		lc->pairs[p].vl = vl;
	}
	for (i = 0; i < ids->n; i++) {
		if ((slot = slot_of(lc, ids->v[i])) == SIZE_MAX) {
			snprintf(lc->err, lc->errlen, "series index: series "
			    "%llu is in the postings of %.*s but not among "
			    "all series", (unsigned long long)ids->v[i],
			    (int)nl, name);
			return KV_ECORRUPT;
		}
		if (!lc->fill) {
			if (lc->count[slot] == UINT32_MAX)
				return KV_ECORRUPT;
			lc->count[slot]++;
		} else
			lc->refs[lc->count[slot]++] = (uint32_t)p;
	}
	return 0;
}

/* The canonical key of the series in SLOT from its pairs. */
static int
load_series(struct store *st, struct load_ctx *lc, size_t slot,
    uint32_t start, char **buf, size_t *cap)
{
	const struct pair	*pr;
	struct series		*s;
	size_t			 len = 0, need = 0, i, pass;
	uint32_t		 end = lc->count[slot];

	for (i = start; i < end; i++) {
		pr = &lc->pairs[lc->refs[i]];
		need += pr->nl + pr->vl + 2;
		if (i > start && pr->nl == lc->pairs[lc->refs[i - 1]].nl &&
		    memcmp(pr->name, lc->pairs[lc->refs[i - 1]].name,
		    pr->nl) == 0) {
			snprintf(lc->err, lc->errlen, "series index: series "
			    "%llu has label %.*s twice",
			    (unsigned long long)lc->all[slot], (int)pr->nl,
			    pr->name);
			return -1;
		}
	}
	if (need == 0) {
		snprintf(lc->err, lc->errlen, "series index: series %llu has "
		    "no labels", (unsigned long long)lc->all[slot]);
		return -1;
	}
	if (need > *cap) {
		*cap = need * 2;
		*buf = xreallocarray(*buf, 1, *cap);
	}
	/* __name__ first, then the rest in the order they came. */
	for (pass = 0; pass < 2; pass++)
		for (i = start; i < end; i++) {
			pr = &lc->pairs[lc->refs[i]];
			if ((pr->nl == 8 && memcmp(pr->name, "__name__",
			    8) == 0) != (pass == 0))
				continue;
			memcpy(*buf + len, pr->name, pr->nl);
			(*buf)[len + pr->nl] = '\0';
			len += pr->nl + 1;
			memcpy(*buf + len, pr->value, pr->vl);
			(*buf)[len + pr->vl] = '\0';
			len += pr->vl + 1;
		}
	s = series_new(lc->all[slot], *buf, len, series_hash(*buf, len));
	series_insert(&st->idx, s);
	return 0;
}

int
series_load(struct store *st, char *err, size_t errlen)
{
	struct kv_txn		*txn;
	struct store_ids	 all = { NULL, 0, 0 };
	struct load_ctx		 lc;
	char			*key = NULL;
	size_t			 i, cap = 0;
	uint64_t		 total = 0;
	uint32_t		 c, start;
	int			 rc;

	if (kv_read_begin(st->kv, &txn, err, errlen) < 0)
		return -1;
	memset(&lc, 0, sizeof(lc));
	lc.err = err;
	lc.errlen = errlen;
	err[0] = '\0';
	if ((rc = postings_all(txn, &all)) < 0)
		goto out;
	for (i = 1; i < all.n; i++)
		if (all.v[i] <= all.v[i - 1]) {
			rc = KV_ECORRUPT;
			goto out;
		}
	lc.all = all.v;
	lc.nall = all.n;
	lc.count = xcalloc(all.n + 1, sizeof(*lc.count));
	if ((rc = postings_walk(txn, load_pair, &lc)) < 0)
		goto out;
	/* Counts to start offsets. */
	for (i = 0; i < all.n; i++) {
		c = lc.count[i];
		lc.count[i] = (uint32_t)total;
		total += c;
	}
	if (total > UINT32_MAX) {
		rc = KV_ECORRUPT;
		goto out;
	}
	lc.refs = xcalloc(total + 1, sizeof(*lc.refs));
	lc.fill = 1;
	lc.npairs = 0;
	if ((rc = postings_walk(txn, load_pair, &lc)) < 0)
		goto out;
	/* count[i] is now the end of series i's labels. */
	for (i = 0, start = 0; i < all.n; start = lc.count[i], i++)
		if (load_series(st, &lc, i, start, &key, &cap) == -1) {
			rc = KV_ECORRUPT;
			goto out;
		}
	if (all.n > 0 && all.v[all.n - 1] >= st->next_id)
		st->next_id = all.v[all.n - 1] + 1;
out:
	if (rc < 0 && err[0] == '\0')
		snprintf(err, errlen, "series index: %s", rc == KV_ECORRUPT &&
		    kv_txn_error(txn)[0] == '\0' ? "a damaged record" :
		    kv_txn_error(txn));
	kv_read_end(txn);
	free(key);
	free(lc.pairs);
	free(lc.count);
	free(lc.refs);
	ids_free(&all);
	return rc < 0 ? -1 : 0;
}
