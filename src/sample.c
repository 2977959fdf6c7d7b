/*
 * sample: batches of samples with arena-owned labels (see sample.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metric.h"
#include "sample.h"
#include "xmalloc.h"

/* Strings live in blocks that are never moved, so pointers stay valid. */
struct arena_block {
	struct arena_block	*next;
	size_t			 used, cap;
	char			 data[];
};

/*
 * Label sets already in the batch, by hash: an import body repeats each
 * series many times, and its samples share one copy of the labels instead
 * of a copy each (which made a parsed body several times its own size).
 */
struct intern {
	uint64_t		 hash;
	struct label		*labels;	/* NULL: empty slot */
	size_t			 n;
};

/*
 * The text each label set was written as in an import body, so that the
 * next line of the same series skips parsing and sorting its labels.
 */
struct batch_ref {
	uint64_t		 hash;
	const char		*raw;		/* NULL: empty slot */
	size_t			 len;
	struct label		*labels;
	size_t			 n;
};

struct batch {
	struct sample		*v;
	size_t			 n, cap;
	struct arena_block	*blocks;
	struct intern		*tab;
	size_t			 ntab, tabcap;	/* tabcap a power of two */
	struct batch_ref	*refs;
	size_t			 nrefs, refcap;	/* refcap a power of two */
	struct label		*scratch;
	size_t			 scratchcap;
};

#define ARENA_BLOCK	(64 * 1024)
/* Bound on the interned sets: past it, samples get their own copy. */
#define INTERN_MAX	(1u << 20)

static void *
arena_alloc(struct batch *b, size_t n)
{
	struct arena_block	*blk = b->blocks;
	void			*p;

	n = (n + 7) & ~(size_t)7;
	if (blk == NULL || blk->cap - blk->used < n) {
		size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;

		blk = xmalloc(sizeof(*blk) + cap);
		blk->used = 0;
		blk->cap = cap;
		blk->next = b->blocks;
		b->blocks = blk;
	}
	p = blk->data + blk->used;
	blk->used += n;
	return p;
}

static const char *
arena_strdup(struct batch *b, const char *s)
{
	size_t	 len = strlen(s);
	char	*p = arena_alloc(b, len + 1);

	memcpy(p, s, len + 1);
	return p;
}

struct batch *
batch_new(void)
{
	return xcalloc(1, sizeof(struct batch));
}

void
batch_reset(struct batch *b)
{
	struct arena_block *blk, *next;

	/* Keep one block to avoid churn on every scrape. */
	for (blk = b->blocks; blk != NULL; blk = next) {
		next = blk->next;
		if (next == NULL) {
			blk->used = 0;
			b->blocks = blk;
		} else
			free(blk);
	}
	b->n = 0;
	if (b->ntab > 0)
		memset(b->tab, 0, b->tabcap * sizeof(*b->tab));
	b->ntab = 0;
	if (b->nrefs > 0)
		memset(b->refs, 0, b->refcap * sizeof(*b->refs));
	b->nrefs = 0;
}

void
batch_free(struct batch *b)
{
	struct arena_block *blk, *next;

	if (b == NULL)
		return;
	for (blk = b->blocks; blk != NULL; blk = next) {
		next = blk->next;
		free(blk);
	}
	free(b->v);
	free(b->tab);
	free(b->refs);
	free(b->scratch);
	free(b);
}

int
label_name_valid(const char *s)
{
	const char *p;

	if (s == NULL || *s == '\0')
		return 0;
	for (p = s; *p != '\0'; p++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		    (p != s && c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

int
metric_name_valid(const char *s)
{
	const char *p;

	if (s == NULL || *s == '\0')
		return 0;
	for (p = s; *p != '\0'; p++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		    c == ':' || (p != s && c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

static int
label_cmp(const void *a, const void *b)
{
	const struct label *la = a, *lb = b;

	/* __name__ first (a convenience of ours), the rest by name. */
	if (strcmp(la->name, "__name__") == 0)
		return strcmp(lb->name, "__name__") == 0 ? 0 : -1;
	if (strcmp(lb->name, "__name__") == 0)
		return 1;
	return strcmp(la->name, lb->name);
}

const char *
labels_get(const struct label *l, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(l[i].name, name) == 0)
			return l[i].value;
	return NULL;
}

int
labels_cmp(const struct label *a, size_t na, const struct label *b, size_t nb)
{
	size_t	i;
	int	c;

	for (i = 0; i < na && i < nb; i++) {
		if ((c = label_cmp(&a[i], &b[i])) != 0)
			return c;
		if ((c = strcmp(a[i].value, b[i].value)) != 0)
			return c;
	}
	return na < nb ? -1 : na > nb ? 1 : 0;
}

static uint64_t
labels_hash(const struct label *l, size_t n)
{
	uint64_t	 h = 14695981039346656037ULL;
	const char	*p;
	size_t		 i;

	/* FNV-1a over the names and values, each with its NUL. */
	for (i = 0; i < n; i++) {
		for (p = l[i].name; ; p++) {
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
			if (*p == '\0')
				break;
		}
		for (p = l[i].value; ; p++) {
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
			if (*p == '\0')
				break;
		}
	}
	return h;
}

static int
labels_same(const struct label *a, const struct label *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(a[i].name, b[i].name) != 0 ||
		    strcmp(a[i].value, b[i].value) != 0)
			return 0;
	return 1;
}

static void
intern_grow(struct batch *b)
{
	struct intern	*old = b->tab;
	size_t		 oldcap = b->tabcap, i, j;

	b->tabcap = oldcap == 0 ? 256 : oldcap * 2;
	b->tab = xcalloc(b->tabcap, sizeof(*b->tab));
	for (i = 0; i < oldcap; i++) {
		if (old[i].labels == NULL)
			continue;
		for (j = old[i].hash & (b->tabcap - 1); b->tab[j].labels !=
		    NULL; j = (j + 1) & (b->tabcap - 1))
			;
		b->tab[j] = old[i];
	}
	free(old);
}

/*
 * The arena copy of the N sorted labels in L (pointing at the caller's
 * strings): the one already in the batch when there is one.
 */
static struct label *
labels_intern(struct batch *b, const struct label *l, size_t n)
{
	struct label	*out;
	uint64_t	 h = labels_hash(l, n);
	size_t		 i, j = 0;

	if (b->ntab < INTERN_MAX) {
		if (2 * (b->ntab + 1) > b->tabcap)
			intern_grow(b);
		for (j = h & (b->tabcap - 1); b->tab[j].labels != NULL;
		    j = (j + 1) & (b->tabcap - 1))
			if (b->tab[j].hash == h && b->tab[j].n == n &&
			    labels_same(b->tab[j].labels, l, n))
				return b->tab[j].labels;
	}
	out = arena_alloc(b, n * sizeof(*out));
	out[0].name = "__name__";
	out[0].value = arena_strdup(b, l[0].value);
	for (i = 1; i < n; i++) {
		out[i].name = arena_strdup(b, l[i].name);
		out[i].value = arena_strdup(b, l[i].value);
	}
	if (b->ntab < INTERN_MAX) {
		b->tab[j].hash = h;
		b->tab[j].labels = out;
		b->tab[j].n = n;
		b->ntab++;
	}
	return out;
}

static struct sample *
batch_push(struct batch *b)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 256;
		b->v = xreallocarray(b->v, b->cap, sizeof(*b->v));
	}
	return &b->v[b->n++];
}

int
batch_add(struct batch *b, const char *name, const struct label *lbls,
    size_t n, int64_t t, double v)
{
	struct label	*l;
	struct sample	*s;
	size_t		 i, j, k;

	if (!metric_name_valid(name))
		return -1;
	for (i = 0; i < n; i++) {
		if (!label_name_valid(lbls[i].name) ||
		    strcmp(lbls[i].name, "__name__") == 0)
			return -1;
		for (j = i + 1; j < n; j++)
			if (strcmp(lbls[i].name, lbls[j].name) == 0)
				return -1;
	}
	if (b->scratchcap < n + 1) {
		b->scratchcap = n + 1;
		b->scratch = xreallocarray(b->scratch, b->scratchcap,
		    sizeof(*b->scratch));
	}
	l = b->scratch;
	l[0].name = "__name__";
	l[0].value = name;
	for (i = 0, k = 1; i < n; i++) {
		if (lbls[i].value == NULL || lbls[i].value[0] == '\0')
			continue;
		l[k++] = lbls[i];
	}
	qsort(l + 1, k - 1, sizeof(*l), label_cmp);
	s = batch_push(b);
	s->labels = labels_intern(b, l, k);
	s->nlabels = k;
	s->t = t;
	s->v = v;
	return 0;
}

/* FNV-1a would do, but raw series texts are long: eight bytes a step. */
static uint64_t
raw_hash(const char *p, size_t len)
{
	uint64_t	h = 0x9e3779b97f4a7c15ULL ^ len, w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, p, len);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 29);
}

static struct batch_ref *
ref_slot(struct batch *b, const char *raw, size_t len, uint64_t h)
{
	struct batch_ref	*r;
	size_t			 j;

	for (j = h & (b->refcap - 1); ; j = (j + 1) & (b->refcap - 1)) {
		r = &b->refs[j];
		if (r->raw == NULL || (r->hash == h && r->len == len &&
		    memcmp(r->raw, raw, len) == 0))
			return r;
	}
}

const struct label *
batch_ref(struct batch *b, const char *raw, size_t len, size_t *n)
{
	struct batch_ref *r;

	if (b->nrefs == 0)
		return NULL;
	r = ref_slot(b, raw, len, raw_hash(raw, len));
	if (r->raw == NULL)
		return NULL;
	*n = r->n;
	return r->labels;
}

void
batch_ref_set(struct batch *b, const char *raw, size_t len)
{
	struct batch_ref	*old = b->refs, *r;
	size_t			 oldcap = b->refcap, i;
	uint64_t		 h;
	char			*copy;

	if (b->n == 0 || b->nrefs >= INTERN_MAX)
		return;
	if (2 * (b->nrefs + 1) > b->refcap) {
		b->refcap = oldcap == 0 ? 256 : oldcap * 2;
		b->refs = xcalloc(b->refcap, sizeof(*b->refs));
		for (i = 0; i < oldcap; i++)
			if (old[i].raw != NULL)
				*ref_slot(b, old[i].raw, old[i].len,
				    old[i].hash) = old[i];
		free(old);
	}
	h = raw_hash(raw, len);
	r = ref_slot(b, raw, len, h);
	if (r->raw != NULL)
		return;
	copy = arena_alloc(b, len + 1);
	memcpy(copy, raw, len);
	r->hash = h;
	r->raw = copy;
	r->len = len;
	r->labels = b->v[b->n - 1].labels;
	r->n = b->v[b->n - 1].nlabels;
	b->nrefs++;
}

void
batch_add_ref(struct batch *b, const struct label *l, size_t n, int64_t t,
    double v)
{
	struct sample *s = batch_push(b);

	s->labels = (struct label *)l;
	s->nlabels = n;
	s->t = t;
	s->v = v;
}

int
batch_addl(struct batch *b, const char *name, int64_t t, double v, ...)
{
	struct label	 l[32];
	size_t		 n = 0;
	const char	*k;
	va_list		 ap;

	va_start(ap, v);
	while ((k = va_arg(ap, const char *)) != NULL) {
		if (n == sizeof(l) / sizeof(l[0])) {
			va_end(ap);
			return -1;
		}
		l[n].name = k;
		l[n].value = va_arg(ap, const char *);
		n++;
	}
	va_end(ap);
	return batch_add(b, name, l, n, t, v);
}

size_t
batch_len(const struct batch *b)
{
	return b->n;
}

const struct sample *
batch_at(const struct batch *b, size_t i)
{
	return i < b->n ? &b->v[i] : NULL;
}

/* What batch_set_label made of each label set, so that samples sharing one
 * share the result too. */
struct relabel {
	const struct label	*from;
	struct label		*to;
	size_t			 n;
};

static struct relabel *
relabel_slot(struct relabel *m, size_t cap, const struct label *from)
{
	size_t j = ((uintptr_t)from >> 3) * 0x9e3779b97f4a7c15ULL & (cap - 1);

	while (m[j].from != NULL && m[j].from != from)
		j = (j + 1) & (cap - 1);
	return &m[j];
}

void
batch_set_label(struct batch *b, const char *name, const char *value,
    int keep_existing)
{
	const char	*n = arena_strdup(b, name);
	const char	*val = arena_strdup(b, value);
	char		*exported;
	struct relabel	*map, *slot;
	size_t		 i, j, cap = 16, used = 0;

	while (cap < 2 * (b->ntab + 1) && cap < 2 * (size_t)INTERN_MAX)
		cap *= 2;
	map = xcalloc(cap, sizeof(*map));
	exported = xmalloc(strlen(name) + sizeof("exported_"));
	strcpy(exported, "exported_");
	strcat(exported, name);
	for (i = 0; i < b->n; i++) {
		struct sample	*s = &b->v[i];
		struct label	*out;
		int		 found = -1;

		slot = relabel_slot(map, cap, s->labels);
		if (slot->from != NULL) {
			s->labels = slot->to;
			s->nlabels = slot->n;
			continue;
		}
		for (j = 1; j < s->nlabels; j++)
			if (strcmp(s->labels[j].name, name) == 0)
				found = (int)j;
		if (found >= 0 && keep_existing)
			continue;
		out = arena_alloc(b, (s->nlabels + 2) * sizeof(*out));
		memcpy(out, s->labels, s->nlabels * sizeof(*out));
		if (found >= 0) {
			out[found].name = arena_strdup(b, exported);
			out[s->nlabels].name = n;
			out[s->nlabels].value = val;
			s->nlabels++;
		} else if (val[0] != '\0') {
			out[s->nlabels].name = n;
			out[s->nlabels].value = val;
			s->nlabels++;
		}
		qsort(out + 1, s->nlabels - 1, sizeof(*out), label_cmp);
		/* Remember while the map is at most half full. */
		if (2 * (used + 1) <= cap) {
			slot->from = s->labels;
			slot->to = out;
			slot->n = s->nlabels;
			used++;
		}
		s->labels = out;
	}
	free(map);
	free(exported);
}

void
batch_default_time(struct batch *b, int64_t t)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (b->v[i].t == 0)
			b->v[i].t = t;
}

const char *
metric_type_name(enum metric_type t)
{
	switch (t) {
	case METRIC_GAUGE:	return "gauge";
	case METRIC_COUNTER:	return "counter";
	case METRIC_HISTOGRAM:	return "histogram";
	case METRIC_SUMMARY:	return "summary";
	default:		return "untyped";
	}
}
