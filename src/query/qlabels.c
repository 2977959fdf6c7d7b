/*
 * qlabels: the evaluator's label sets and its small hash map (value.h).
 *
 * A label set is one allocation: the header, the label array and the
 * strings behind it.  Sets are never changed once built, so operations
 * that keep every label return another reference to the same set, and a
 * set's hash is computed once.  Order and comparison are Prometheus's
 * (byte order of names, then values), so that results sort as its do.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "query/quote.h"
#include "query/value.h"
#include "xmalloc.h"

uint64_t
q_hash(const void *p, size_t len)
{
	const unsigned char	*s = p;
	uint64_t		 h = 0xcbf29ce484222325ULL;
	size_t			 i;

	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	/* Spread the low bits FNV leaves weak for power-of-two tables. */
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return h;
}

static int
label_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->name,
	    ((const struct label *)b)->name);
}

static uint64_t
qls_hash(const struct qlset *ls)
{
	uint64_t	h = 0x9e3779b97f4a7c15ULL;
	size_t		i;

	for (i = 0; i < ls->n; i++) {
		h = (h ^ q_hash(ls->l[i].name, strlen(ls->l[i].name))) *
		    0x100000001b3ULL;
		h = (h ^ q_hash(ls->l[i].value, strlen(ls->l[i].value))) *
		    0x100000001b3ULL;
	}
	return h;
}

/* Build from labels already sorted and without empty values. */
static struct qlset *
qls_build(const struct label *l, size_t n)
{
	struct qlset	*ls;
	size_t		 i, size = sizeof(*ls) + n * sizeof(struct label);
	char		*p;

	for (i = 0; i < n; i++)
		size += strlen(l[i].name) + strlen(l[i].value) + 2;
	ls = xmalloc(size);
	ls->refs = 1;
	ls->n = n;
	p = (char *)&ls->l[n];
	for (i = 0; i < n; i++) {
		size_t a = strlen(l[i].name) + 1, b = strlen(l[i].value) + 1;

		memcpy(p, l[i].name, a);
		ls->l[i].name = p;
		p += a;
		memcpy(p, l[i].value, b);
		ls->l[i].value = p;
		p += b;
	}
	ls->hash = qls_hash(ls);
	return ls;
}

struct qlset *
qls_new(const struct label *l, size_t n)
{
	struct label	 stack[32] = { { NULL, NULL } }, *tmp;
	struct qlset	*ls;
	size_t		 i, m = 0;
	int		 sorted = 1;

	tmp = n <= 32 ? stack : xreallocarray(NULL, n, sizeof(*tmp));
	for (i = 0; i < n; i++) {
		if (l[i].value == NULL || l[i].value[0] == '\0')
			continue;
		if (m > 0 && strcmp(tmp[m - 1].name, l[i].name) >= 0)
			sorted = 0;
		tmp[m++] = l[i];
	}
	if (!sorted)
		qsort(tmp, m, sizeof(*tmp), label_name_cmp);
	ls = qls_build(tmp, m);
	if (tmp != stack)
		free(tmp);
	return ls;
}

struct qlset *
qls_empty(void)
{
	return qls_build(NULL, 0);
}

struct qlset *
qls_ref(struct qlset *ls)
{
	ls->refs++;
	return ls;
}

void
qls_unref(struct qlset *ls)
{
	if (ls != NULL && --ls->refs == 0)
		free(ls);
}

int
qls_eq(const struct qlset *a, const struct qlset *b)
{
	size_t i;

	if (a == b)
		return 1;
	if (a->hash != b->hash || a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->l[i].name, b->l[i].name) != 0 ||
		    strcmp(a->l[i].value, b->l[i].value) != 0)
			return 0;
	return 1;
}

int
qls_cmp(const struct qlset *a, const struct qlset *b)
{
	size_t	i;
	int	c;

	for (i = 0; i < a->n && i < b->n; i++) {
		if ((c = strcmp(a->l[i].name, b->l[i].name)) != 0)
			return c;
		if ((c = strcmp(a->l[i].value, b->l[i].value)) != 0)
			return c;
	}
	return a->n < b->n ? -1 : a->n > b->n;
}

const char *
qls_get(const struct qlset *ls, const char *name)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		if (strcmp(ls->l[i].name, name) == 0)
			return ls->l[i].value;
	return "";
}

struct qlset *
qls_drop_name(struct qlset *ls)
{
	if (ls->n == 0 || strcmp(ls->l[0].name, "__name__") > 0 ||
	    qls_get(ls, "__name__")[0] == '\0')
		return qls_ref(ls);
	return qls_without(ls, NULL, 0, 1);
}

struct qlset *
qls_set(struct qlset *ls, const char *name, const char *value)
{
	struct label	 stack[33] = { { NULL, NULL } }, *tmp;
	struct qlset	*out;
	size_t		 i, m = 0;

	if (strcmp(qls_get(ls, name), value) == 0)
		return qls_ref(ls);
	tmp = ls->n < 33 ? stack : xreallocarray(NULL, ls->n + 1,
	    sizeof(*tmp));
	for (i = 0; i < ls->n; i++)
		if (strcmp(ls->l[i].name, name) != 0)
			tmp[m++] = ls->l[i];
	if (value[0] != '\0') {
		/* Insert in order. */
		for (i = m; i > 0 && strcmp(tmp[i - 1].name, name) > 0; i--)
			tmp[i] = tmp[i - 1];
		tmp[i].name = name;
		tmp[i].value = value;
		m++;
	}
	out = qls_build(tmp, m);
	if (tmp != stack)
		free(tmp);
	return out;
}

static int
name_in(const char *name, char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

static struct qlset *
qls_filter(const struct qlset *ls, char *const *names, size_t n, int keep,
    int drop_name)
{
	struct label	 stack[32] = { { NULL, NULL } }, *tmp;
	struct qlset	*out;
	size_t		 i, m = 0;

	tmp = ls->n <= 32 ? stack : xreallocarray(NULL, ls->n, sizeof(*tmp));
	for (i = 0; i < ls->n; i++) {
		int in = name_in(ls->l[i].name, names, n);

		if (keep ? !in : (in || (drop_name &&
		    strcmp(ls->l[i].name, "__name__") == 0)))
			continue;
		tmp[m++] = ls->l[i];
	}
	out = qls_build(tmp, m);
	if (tmp != stack)
		free(tmp);
	return out;
}

struct qlset *
qls_keep(const struct qlset *ls, char *const *names, size_t n)
{
	return qls_filter(ls, names, n, 1, 0);
}

struct qlset *
qls_without(const struct qlset *ls, char *const *names, size_t n,
    int drop_name)
{
	return qls_filter(ls, names, n, 0, drop_name);
}

void
qls_format(const struct qlset *ls, struct buf *b)
{
	size_t i;

	buf_addc(b, '{');
	for (i = 0; i < ls->n; i++) {
		if (i > 0)
			buf_adds(b, ", ");
		buf_adds(b, ls->l[i].name);
		buf_addc(b, '=');
		q_quote(b, ls->l[i].value, strlen(ls->l[i].value));
	}
	buf_addc(b, '}');
}

void
qls_signature(const struct qlset *ls, int on, char *const *names, size_t n,
    struct buf *out)
{
	size_t i;

	for (i = 0; i < ls->n; i++) {
		int in = name_in(ls->l[i].name, names, n);

		if (on ? !in : (in || strcmp(ls->l[i].name, "__name__") == 0))
			continue;
		buf_adds(out, ls->l[i].name);
		buf_addc(out, '\xff');
		buf_adds(out, ls->l[i].value);
		buf_addc(out, '\xff');
	}
}

size_t
qmap_get(const struct qmap *m, const void *key, size_t len)
{
	uint64_t	h;
	size_t		i;

	if (m->cap == 0)
		return (size_t)-1;
	h = q_hash(key, len);
	for (i = h & (m->cap - 1); m->slots[i].key != NULL;
	    i = (i + 1) & (m->cap - 1)) {
		const struct qslot *s = &m->slots[i];

		if (s->hash == h && s->len == len &&
		    memcmp(s->key, key, len) == 0)
			return s->val;
	}
	return (size_t)-1;
}

static void
qmap_grow(struct qmap *m)
{
	struct qslot	*old = m->slots;
	size_t		 oldcap = m->cap, i, j;

	m->cap = m->cap ? m->cap * 2 : 16;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	for (i = 0; i < oldcap; i++) {
		if (old[i].key == NULL)
			continue;
		for (j = old[i].hash & (m->cap - 1); m->slots[j].key != NULL;
		    j = (j + 1) & (m->cap - 1))
			;
		m->slots[j] = old[i];
	}
	free(old);
}

size_t
qmap_put(struct qmap *m, const void *key, size_t len, size_t val)
{
	uint64_t	h;
	size_t		i;

	if ((m->n + 1) * 2 > m->cap)
		qmap_grow(m);
	h = q_hash(key, len);
	for (i = h & (m->cap - 1); m->slots[i].key != NULL;
	    i = (i + 1) & (m->cap - 1)) {
		const struct qslot *s = &m->slots[i];

		if (s->hash == h && s->len == len &&
		    memcmp(s->key, key, len) == 0)
			return s->val;
	}
	m->slots[i].hash = h;
	m->slots[i].key = xmalloc(len + 1);
	memcpy(m->slots[i].key, key, len);
	m->slots[i].len = len;
	m->slots[i].val = val;
	m->n++;
	return val;
}

void
qmap_free(struct qmap *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}

void
qls_key(const struct qlset *ls, struct buf *out)
{
	size_t i;

	for (i = 0; i < ls->n; i++) {
		buf_adds(out, ls->l[i].name);
		buf_addc(out, '\xff');
		buf_adds(out, ls->l[i].value);
		buf_addc(out, '\xff');
	}
}
