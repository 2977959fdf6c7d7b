/*
 * postings: from label matchers to sorted lists of series ids.
 *
 * The POSTINGS database maps "name\0value" to the ids of the series with
 * that label (sorted 8-byte big-endian duplicates), and the one-byte key
 * "\0" to every id.  All values of a label name are adjacent, so an
 * equality is one lookup, and a regex or != walks only that name's values.
 * Label values too long for an LMDB key are stored as "name\0" + a prefix
 * + "\0" + a hash of the whole value; such a key's real value is read from
 * one of its series when a regex needs it.
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

void
ids_free(struct store_ids *ids)
{
	free(ids->v);
	memset(ids, 0, sizeof(*ids));
}

static void
ids_add(struct store_ids *ids, const uint8_t *p, size_t n)
{
	size_t i;

	if (ids->n + n > ids->cap) {
		ids->cap = (ids->n + n) * 2;
		ids->v = xreallocarray(ids->v, ids->cap, sizeof(*ids->v));
	}
	for (i = 0; i < n; i++)
		ids->v[ids->n++] = key_get64(p + 8 * i);
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

/* Append every id of the key at the cursor (positioned on its first). */
static int
read_dups(struct kv_cursor *cur, struct store_ids *out)
{
	struct kv_val	k, v;
	int		rc;

	for (rc = kv_cursor_get(cur, KV_GET_MULTIPLE, &k, &v); rc == 0;
	    rc = kv_cursor_get(cur, KV_NEXT_MULTIPLE, &k, &v))
		ids_add(out, v.data, v.len / 8);
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

/*
 * The real value of a long-value key: the label NAME of the key's first
 * series.  Copied into BUF (freed by the caller).
 */
static int
long_value(struct kv_txn *txn, const char *name, const void *firstid,
    char **buf)
{
	struct kv_val	 v;
	struct label	*l;
	size_t		 i, n;
	int		 rc;

	if ((rc = kv_get(txn, KV_DB_SERIES, firstid, 8, &v)) < 0)
		return rc;
	if (rc == KV_NOTFOUND || !series_key_valid(v.data, v.len))
		return KV_NOTFOUND;
	n = series_nlabels(v.data, v.len);
	l = xcalloc(n + 1, sizeof(*l));
	n = series_labels(v.data, v.len, l, n);
	rc = KV_NOTFOUND;
	for (i = 0; i < n; i++)
		if (strcmp(l[i].name, name) == 0) {
			*buf = xstrdup(l[i].value);
			rc = 0;
		}
	free(l);
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
			if ((rc = long_value(txn, name, v.data, &longv)) < 0)
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
