/*
 * postings: from label matchers to sorted lists of series ids, and the
 * lists themselves on disk.
 *
 * The POSTINGS database maps "name\0value" to the ids of the series with
 * that label, and the one-byte key "\0" to every id.  A key's ids are
 * sorted duplicates that are segments of the list: each the first id as
 * 8 big-endian bytes (so LMDB sorts segments by it), then the gaps to the
 * next ids as varints, at most SEG_MAX bytes.  Series ids are handed out
 * in increasing order, so a new series extends the last segment of each
 * of its keys: a read-modify-write of a few hundred bytes.  All values of
 * a label name are adjacent, so an equality is one lookup, and a regex or
 * != walks only that name's values.  Label values too long for an LMDB key
 * are stored as "name\0" + a prefix + "\0" + a hash of the whole value;
 * LONG maps such a key to the whole value.
 *
 * The evaluation follows Prometheus: a matcher that does not match the
 * empty string selects the series having a matching value (intersection);
 * one that matches "" removes the series whose value does not match
 * (subtraction), so l="" selects series without l.  With no matcher of the
 * first kind the start is every series.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "kv.h"
#include "matcher.h"
#include "sample.h"
#include "store_int.h"
#include "xmalloc.h"

/* Under LMDB's limit of 511 bytes for a sorted duplicate. */
#define SEG_MAX		480

size_t
postings_key(uint8_t *out, const char *name, const char *value)
{
	size_t	nl = strlen(name), vl = strlen(value), room;

	memcpy(out, name, nl);
	out[nl] = '\0';
	if (nl + 1 + vl <= POSTINGS_KEY_MAX) {
		memcpy(out + nl + 1, value, vl);
		return nl + 1 + vl;
	}
	/* Label names are bounded (STORE_LABEL_NAME_MAX): room is ample. */
	room = POSTINGS_KEY_MAX - nl - 1 - 9;
	memcpy(out + nl + 1, value, room);
	out[nl + 1 + room] = '\0';
	key_put64(out + nl + 2 + room, series_hash(value, vl));
	return POSTINGS_KEY_MAX;
}

/* Whether a postings key is the long form (a NUL inside the value). */
static int
key_is_long(const void *key, size_t klen)
{
	size_t nl = strnlen(key, klen);

	return nl + 1 < klen && memchr((const char *)key + nl + 1, '\0',
	    klen - nl - 1) != NULL;
}

void
ids_free(struct store_ids *ids)
{
	free(ids->v);
	memset(ids, 0, sizeof(*ids));
}

static void
ids_push(struct store_ids *ids, uint64_t id)
{
	if (ids->n == ids->cap) {
		ids->cap = ids->cap ? ids->cap * 2 : 64;
		ids->v = xreallocarray(ids->v, ids->cap, sizeof(*ids->v));
	}
	ids->v[ids->n++] = id;
}

int
postings_seg_decode(const void *data, size_t len, struct store_ids *out)
{
	const uint8_t	*p = data;
	uint64_t	 id, d;
	size_t		 off = 8, n0 = out->n;

	if (len < 8 || len > SEG_MAX || (id = key_get64(p)) == 0)
		return KV_ECORRUPT;
	ids_push(out, id);
	while (off < len) {
		if (key_get_uvarint(p, len, &off, &d) == -1 || d == 0 ||
		    id + d < id) {
			out->n = n0;
			return KV_ECORRUPT;
		}
		id += d;
		ids_push(out, id);
	}
	return 0;
}

/*
 * Encode sorted ids V[0..n) as segments into BUF (room for n * 10 + 8
 * bytes a segment), their lengths into LENS; the count of segments.
 */
static size_t
seg_encode(const uint64_t *v, size_t n, uint8_t *buf, size_t *lens)
{
	size_t	i, nseg = 0, off = 0, start = 0, l;

	for (i = 0; i < n; i++) {
		if (i > 0 && off - start + (l = key_uvarint_len(v[i] -
		    v[i - 1])) <= SEG_MAX) {
			off += key_put_uvarint(buf + off, v[i] - v[i - 1]);
			continue;
		}
		if (i > 0)
			lens[nseg++] = off - start;
		start = off;
		key_put64(buf + off, v[i]);
		off += 8;
	}
	if (n > 0)
		lens[nseg++] = off - start;
	return nseg;
}

/* Replace segment OLD (NULL: none) of KEY by the segments of V. */
static int
seg_replace(struct kv_txn *txn, const void *key, size_t klen,
    const uint8_t *old, size_t oldlen, const uint64_t *v, size_t n)
{
	uint8_t	*buf;
	size_t	*lens, nseg, i, off = 0;
	int	 rc = 0;

	if (old != NULL && (rc = kv_del(txn, KV_DB_POSTINGS, key, klen, old,
	    oldlen)) < 0)
		return rc;
	buf = xmalloc(n * 10 + 8);
	lens = xcalloc(n + 1, sizeof(*lens));
	nseg = seg_encode(v, n, buf, lens);
	for (i = 0; i < nseg && rc == 0; i++) {
		rc = kv_append(txn, KV_DB_POSTINGS, key, klen, buf + off,
		    lens[i]);
		off += lens[i];
	}
	free(buf);
	free(lens);
	return rc;
}

/*
 * Position CUR on the segment of KEY that holds ID or would: the last one
 * starting at or before it, else the first.  KV_NOTFOUND: no segment.
 */
static int
seg_find(struct kv_cursor *cur, const void *key, size_t klen, uint64_t id,
    struct kv_val *v)
{
	struct kv_val	k = { key, klen };
	uint8_t		ib[8];
	int		rc;

	key_put64(ib, id);
	v->data = ib;
	v->len = 8;
	rc = kv_cursor_get(cur, KV_GET_BOTH_RANGE, &k, v);
	if (rc == 0 && (v->len < 8 || key_get64(v->data) == id))
		return 0;
	if (rc == 0) {
		rc = kv_cursor_get(cur, KV_PREV_DUP, &k, v);
		if (rc != KV_NOTFOUND)
			return rc;
		return kv_cursor_get(cur, KV_FIRST_DUP, &k, v);
	}
	if (rc != KV_NOTFOUND)
		return rc;
	k.data = key;
	k.len = klen;
	if ((rc = kv_cursor_get(cur, KV_SET_KEY, &k, v)) != 0)
		return rc;
	return kv_cursor_get(cur, KV_LAST_DUP, &k, v);
}

/* Add (ADD) or remove ID in the list of KEY; 1 when the list is empty
 * afterwards. */
static int
postings_edit(struct kv_txn *txn, const void *key, size_t klen, uint64_t id,
    int add)
{
	struct kv_cursor	*cur;
	struct kv_val		 v;
	struct store_ids	 ids = { NULL, 0, 0 };
	uint8_t			*old = NULL;
	size_t			 oldlen = 0, i, j;
	int			 rc;

	if ((rc = kv_cursor_open(txn, KV_DB_POSTINGS, &cur)) < 0)
		return rc;
	rc = seg_find(cur, key, klen, id, &v);
	if (rc == 0) {
		old = xmalloc(v.len);
		memcpy(old, v.data, v.len);
		oldlen = v.len;
		rc = postings_seg_decode(old, oldlen, &ids);
	}
	kv_cursor_close(cur);
	if (rc == KV_NOTFOUND && !add)
		rc = 0;
	else if (rc == KV_NOTFOUND || rc == 0) {
		for (i = 0; i < ids.n && ids.v[i] < id; i++)
			;
		if (add && (i == ids.n || ids.v[i] != id)) {
			ids_push(&ids, 0);
			memmove(ids.v + i + 1, ids.v + i, (ids.n - i - 1) *
			    sizeof(*ids.v));
			ids.v[i] = id;
		} else if (!add && i < ids.n && ids.v[i] == id) {
			for (j = i + 1; j < ids.n; j++)
				ids.v[j - 1] = ids.v[j];
			ids.n--;
		}
		rc = seg_replace(txn, key, klen, old, oldlen, ids.v, ids.n);
	}
	free(old);
	ids_free(&ids);
	if (rc == 0 && !add) {
		struct kv_val k = { key, klen };

		if ((rc = kv_cursor_open(txn, KV_DB_POSTINGS, &cur)) < 0)
			return rc;
		rc = kv_cursor_get(cur, KV_SET_KEY, &k, &v);
		kv_cursor_close(cur);
		return rc == KV_NOTFOUND ? 1 : rc;
	}
	return rc;
}

int
postings_add(struct kv_txn *txn, const void *key, size_t klen,
    const char *value, const uint64_t *v, size_t n)
{
	struct kv_cursor	*cur;
	struct kv_val		 k = { key, klen }, sv;
	struct store_ids	 ids = { NULL, 0, 0 };
	uint8_t			*old = NULL;
	size_t			 oldlen = 0, i;
	int			 rc, fresh;

	if (n == 0)
		return 0;
	if ((rc = kv_cursor_open(txn, KV_DB_POSTINGS, &cur)) < 0)
		return rc;
	rc = kv_cursor_get(cur, KV_SET_KEY, &k, &sv);
	if (rc == 0)
		rc = kv_cursor_get(cur, KV_LAST_DUP, &k, &sv);
	fresh = rc == KV_NOTFOUND;
	if (rc == 0) {
		old = xmalloc(sv.len);
		memcpy(old, sv.data, sv.len);
		oldlen = sv.len;
		rc = postings_seg_decode(old, oldlen, &ids);
	}
	kv_cursor_close(cur);
	if (rc < 0 && rc != KV_NOTFOUND)
		goto out;
	if (ids.n > 0 && v[0] <= ids.v[ids.n - 1]) {
		/* Not after the last id (never, as ids only grow): one at a
		 * time, wherever each belongs. */
		for (i = 0, rc = 0; i < n && rc >= 0; i++)
			rc = postings_edit(txn, key, klen, v[i], 1);
		rc = rc < 0 ? rc : 0;
		goto out;
	}
	/* Extend the last segment. */
	for (i = 0; i < n; i++)
		ids_push(&ids, v[i]);
	rc = seg_replace(txn, key, klen, old, oldlen, ids.v, ids.n);
	if (rc == 0 && fresh && key_is_long(key, klen))
		rc = kv_put(txn, KV_DB_LONG, key, klen, value, strlen(value));
out:
	free(old);
	ids_free(&ids);
	return rc;
}

int
postings_remove(struct kv_txn *txn, const void *key, size_t klen,
    uint64_t id)
{
	int rc;

	rc = postings_edit(txn, key, klen, id, 0);
	if (rc == 1 && key_is_long(key, klen)) {
		rc = kv_del(txn, KV_DB_LONG, key, klen, NULL, 0);
		if (rc == KV_NOTFOUND)
			rc = 0;
	}
	return rc < 0 ? rc : 0;
}

static int
id_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
ids_sort_unique(struct store_ids *ids)
{
	size_t i, j;

	if (ids->n == 0)
		return;
	qsort(ids->v, ids->n, sizeof(*ids->v), id_cmp);
	for (i = j = 0; i < ids->n; i++)
		if (j == 0 || ids->v[j - 1] != ids->v[i])
			ids->v[j++] = ids->v[i];
	ids->n = j;
}

/* A := A and B (both sorted). */
static void
ids_intersect(struct store_ids *a, const struct store_ids *b)
{
	size_t i = 0, j = 0, k = 0;

	while (i < a->n && j < b->n) {
		if (a->v[i] < b->v[j])
			i++;
		else if (a->v[i] > b->v[j])
			j++;
		else {
			a->v[k++] = a->v[i];
			i++;
			j++;
		}
	}
	a->n = k;
}

/* A := A minus B (both sorted). */
static void
ids_subtract(struct store_ids *a, const struct store_ids *b)
{
	size_t i, j = 0, k = 0;

	for (i = 0; i < a->n; i++) {
		while (j < b->n && b->v[j] < a->v[i])
			j++;
		if (j < b->n && b->v[j] == a->v[i])
			continue;
		a->v[k++] = a->v[i];
	}
	a->n = k;
}

/* Append every id of the key at the cursor (positioned on its first
 * segment). */
static int
read_dups(struct kv_cursor *cur, struct store_ids *out)
{
	struct kv_val	k, v;
	int		rc;

	for (rc = kv_cursor_get(cur, KV_FIRST_DUP, &k, &v); rc == 0;
	    rc = kv_cursor_get(cur, KV_NEXT_DUP, &k, &v))
		if ((rc = postings_seg_decode(v.data, v.len, out)) < 0)
			return rc;
	return rc == KV_NOTFOUND ? 0 : rc;
}

static int
read_key(struct kv_txn *txn, const void *key, size_t klen,
    struct store_ids *out)
{
	struct kv_cursor	*cur;
	struct kv_val		 k = { key, klen }, v;
	int			 rc;

	if ((rc = kv_cursor_open(txn, KV_DB_POSTINGS, &cur)) < 0)
		return rc;
	rc = kv_cursor_get(cur, KV_SET_KEY, &k, &v);
	if (rc == 0)
		rc = read_dups(cur, out);
	kv_cursor_close(cur);
	return rc == KV_NOTFOUND ? 0 : rc;
}

int
postings_all(struct kv_txn *txn, struct store_ids *out)
{
	return read_key(txn, POSTINGS_ALL_KEY, 1, out);
}

/* The whole value of a long-value key, from LONG. */
static int
long_value(struct kv_txn *txn, const void *key, size_t klen, char **buf)
{
	struct kv_val	v;
	int		rc;

	if ((rc = kv_get(txn, KV_DB_LONG, key, klen, &v)) < 0)
		return rc;
	if (rc == 0) {
		if (memchr(v.data, '\0', v.len) != NULL)
			return KV_ECORRUPT;
		*buf = xstrndup(v.data, v.len);
	}
	return rc;
}

/*
 * Walk every value of label NAME; for those where match(value) is WANT,
 * add their ids to OUT (or, with VALUES set, collect the value instead).
 */
static int
scan_values(struct kv_txn *txn, const char *name, struct matcher *m,
    int want, struct store_ids *out, struct store_strings *values)
{
	struct kv_cursor	*cur;
	struct kv_val		 k, v;
	size_t			 nl = strlen(name), vl;
	uint8_t			 prefix[STORE_LABEL_NAME_MAX + 2];
	const char		*val;
	char			*longv = NULL, *tmp;
	int			 rc, hit;

	if (nl > STORE_LABEL_NAME_MAX)
		return 0;
	memcpy(prefix, name, nl);
	prefix[nl] = '\0';
	if ((rc = kv_cursor_open(txn, KV_DB_POSTINGS, &cur)) < 0)
		return rc;
	k.data = prefix;
	k.len = nl + 1;
	for (rc = kv_cursor_get(cur, KV_SET_RANGE, &k, &v); rc == 0;
	    rc = kv_cursor_get(cur, KV_NEXT_NODUP, &k, &v)) {
		if (k.len < nl + 1 || memcmp(k.data, prefix, nl + 1) != 0)
			break;
		val = (const char *)k.data + nl + 1;
		vl = k.len - nl - 1;
		if (memchr(val, '\0', vl) != NULL) {
			free(longv);
			longv = NULL;
			if ((rc = long_value(txn, k.data, k.len, &longv)) < 0)
				break;
			if (rc == KV_NOTFOUND)
				continue;
			val = longv;
			vl = strlen(longv);
		}
		if (values != NULL) {
			if (values->n % 64 == 0)
				values->v = xreallocarray(values->v,
				    values->n + 64, sizeof(*values->v));
			tmp = xstrndup(val, vl);
			values->v[values->n++] = tmp;
			continue;
		}
		hit = matcher_matches(m, val, vl);
		if (hit == want && (rc = read_dups(cur, out)) < 0)
			break;
	}
	free(longv);
	kv_cursor_close(cur);
	return rc == KV_NOTFOUND ? 0 : rc;
}

/* Ids of the series whose label matches M (for a non-empty match). */
static int
postings_for(struct kv_txn *txn, struct matcher *m, int want,
    struct store_ids *out)
{
	uint8_t		 pk[POSTINGS_KEY_MAX];
	const char	*exact = matcher_exact(m);
	int		 rc;

	if (exact != NULL && want) {
		if (strlen(matcher_name(m)) > STORE_LABEL_NAME_MAX)
			return 0;
		rc = read_key(txn, pk, postings_key(pk, matcher_name(m),
		    exact), out);
	} else
		rc = scan_values(txn, matcher_name(m), m, want, out, NULL);
	if (rc == 0)
		ids_sort_unique(out);
	return rc;
}

int
postings_select(struct kv_txn *txn, struct matcher **ms, size_t n,
    struct store_ids *out)
{
	struct store_ids	 tmp = { NULL, 0, 0 };
	size_t			 i;
	int			 have = 0, rc = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < n && rc == 0; i++) {
		if (matcher_matches(ms[i], "", 0))
			continue;
		tmp.n = 0;
		if ((rc = postings_for(txn, ms[i], 1, &tmp)) < 0)
			break;
		if (!have) {
			*out = tmp;
			memset(&tmp, 0, sizeof(tmp));
			have = 1;
		} else
			ids_intersect(out, &tmp);
		if (out->n == 0)
			goto done;
	}
	if (rc == 0 && !have) {
		rc = read_key(txn, POSTINGS_ALL_KEY, 1, out);
		have = 1;
	}
	for (i = 0; i < n && rc == 0; i++) {
		if (!matcher_matches(ms[i], "", 0))
			continue;
		/* Remove the series whose value fails the matcher. */
		tmp.n = 0;
		if ((rc = scan_values(txn, matcher_name(ms[i]), ms[i], 0, &tmp,
		    NULL)) < 0)
			break;
		ids_sort_unique(&tmp);
		ids_subtract(out, &tmp);
		if (out->n == 0)
			break;
	}
done:
	ids_free(&tmp);
	if (rc < 0)
		ids_free(out);
	return rc;
}

int
postings_walk(struct kv_txn *txn, postings_walk_fn fn, void *arg)
{
	struct kv_cursor	*cur;
	struct kv_val		 k, v, lv;
	struct store_ids	 ids = { NULL, 0, 0 };
	const char		*key, *val;
	size_t			 nl, vl;
	int			 rc;

	if ((rc = kv_cursor_open(txn, KV_DB_POSTINGS, &cur)) < 0)
		return rc;
	for (rc = kv_cursor_get(cur, KV_FIRST, &k, &v); rc == 0;
	    rc = kv_cursor_get(cur, KV_NEXT_NODUP, &k, &v)) {
		key = k.data;
		nl = strnlen(key, k.len);
		if (nl == 0 && k.len == 1)
			continue;	/* every series */
		if (nl == 0 || nl >= k.len) {
			rc = KV_ECORRUPT;
			break;
		}
		val = key + nl + 1;
		vl = k.len - nl - 1;
		if (memchr(val, '\0', vl) != NULL) {
			if ((rc = kv_get(txn, KV_DB_LONG, k.data, k.len,
			    &lv)) != 0 || memchr(lv.data, '\0', lv.len)) {
				rc = rc < 0 ? rc : KV_ECORRUPT;
				break;
			}
			val = lv.data;
			vl = lv.len;
		}
		ids.n = 0;
		if ((rc = read_dups(cur, &ids)) < 0 ||
		    (rc = fn(arg, key, nl, val, vl, &ids)) < 0)
			break;
	}
	kv_cursor_close(cur);
	ids_free(&ids);
	return rc == KV_NOTFOUND ? 0 : rc;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
strings_sort_unique(struct store_strings *s)
{
	size_t i, j;

	if (s->n == 0)
		return;
	qsort(s->v, s->n, sizeof(*s->v), str_cmp);
	for (i = j = 0; i < s->n; i++) {
		if (j > 0 && strcmp(s->v[j - 1], s->v[i]) == 0)
			free(s->v[i]);
		else
			s->v[j++] = s->v[i];
	}
	s->n = j;
}

int
postings_label_names(struct kv_txn *txn, struct store_strings *out)
{
	struct kv_cursor	*cur;
	struct kv_val		 k, v;
	uint8_t			 next[POSTINGS_KEY_MAX + 1];
	size_t			 nl;
	int			 rc;

	memset(out, 0, sizeof(*out));
	if ((rc = kv_cursor_open(txn, KV_DB_POSTINGS, &cur)) < 0)
		return rc;
	for (rc = kv_cursor_get(cur, KV_FIRST, &k, &v); rc == 0;) {
		nl = strnlen(k.data, k.len);
		if (nl == 0 || nl > STORE_LABEL_NAME_MAX) {
			rc = kv_cursor_get(cur, KV_NEXT_NODUP, &k, &v);
			continue;
		}
		if (out->n % 64 == 0)
			out->v = xreallocarray(out->v, out->n + 64,
			    sizeof(*out->v));
		out->v[out->n++] = xstrndup(k.data, nl);
		/* "name\1" sorts after every "name\0value". */
		memcpy(next, k.data, nl);
		next[nl] = 1;
		k.data = next;
		k.len = nl + 1;
		rc = kv_cursor_get(cur, KV_SET_RANGE, &k, &v);
	}
	kv_cursor_close(cur);
	if (rc == KV_NOTFOUND)
		rc = 0;
	if (rc < 0)
		store_strings_free(out);
	return rc;
}

int
postings_label_values(struct kv_txn *txn, const char *name,
    struct store_strings *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	rc = scan_values(txn, name, NULL, 0, NULL, out);
	if (rc < 0)
		store_strings_free(out);
	else
		strings_sort_unique(out);
	return rc;
}

void
store_strings_free(struct store_strings *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}
