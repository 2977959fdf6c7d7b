/*
 * expo: writes samples in the Prometheus text exposition format 0.0.4, the
 * format of every /metrics page, of /federate and of the import endpoint's
 * input.  Grouping a batch into families needs each sample's family name and
 * type, taken from the metric catalogue when there is one and otherwise read
 * off the batch itself (an "le" or "quantile" label), so that a scraped
 * histogram is written back as one family rather than three untyped ones.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "expo.h"
#include "metric.h"
#include "sample.h"
#include "xmalloc.h"

#define HINT_HISTOGRAM	0x1
#define HINT_SUMMARY	0x2

/* A family name seen in the batch: a prefix of some sample's name. */
struct hint {
	const char	*name;
	size_t		 len;
	int		 flags;
};

struct item {
	const char	*fam;
	size_t		 famlen;
	size_t		 idx;
};

static void
escape(struct buf *b, const char *s, int quote)
{
	const char *run = s;

	for (; *s != '\0'; s++) {
		const char *rep;

		if (*s == '\\')
			rep = "\\\\";
		else if (*s == '\n')
			rep = "\\n";
		else if (quote && *s == '"')
			rep = "\\\"";
		else
			continue;
		buf_add(b, run, (size_t)(s - run));
		buf_adds(b, rep);
		run = s + 1;
	}
	buf_add(b, run, (size_t)(s - run));
}

void
expo_help_type(struct buf *b, const char *name, enum metric_type type,
    const char *help)
{
	if (help != NULL) {
		buf_printf(b, "# HELP %s ", name);
		escape(b, help, 0);
		buf_addc(b, '\n');
	}
	buf_printf(b, "# TYPE %s %s\n", name, metric_type_name(type));
}

void
expo_sample(struct buf *b, const struct label *l, size_t n, double v,
    int64_t t_ms)
{
	const char	*name = labels_get(l, n, "__name__");
	size_t		 i;
	int		 first = 1;

	if (name == NULL)
		return;
	buf_adds(b, name);
	for (i = 0; i < n; i++) {
		if (strcmp(l[i].name, "__name__") == 0 || l[i].value == NULL ||
		    l[i].value[0] == '\0')
			continue;
		buf_addc(b, first ? '{' : ',');
		first = 0;
		buf_adds(b, l[i].name);
		buf_add(b, "=\"", 2);
		escape(b, l[i].value, 1);
		buf_addc(b, '"');
	}
	if (!first)
		buf_addc(b, '}');
	buf_addc(b, ' ');
	buf_add_double(b, v);
	if (t_ms != 0)
		buf_printf(b, " %" PRId64, t_ms);
	buf_addc(b, '\n');
}

static int
namecmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static int
hint_cmp(const void *a, const void *b)
{
	const struct hint *ha = a, *hb = b;

	return namecmp(ha->name, ha->len, hb->name, hb->len);
}

static int
def_cmp(const void *a, const void *b)
{
	const struct metric_def *const *da = a, *const *db = b;

	return strcmp((*da)->name, (*db)->name);
}

static int
item_cmp(const void *a, const void *b)
{
	const struct item	*ia = a, *ib = b;
	int			 c;

	if ((c = namecmp(ia->fam, ia->famlen, ib->fam, ib->famlen)) != 0)
		return c;
	return ia->idx < ib->idx ? -1 : ia->idx > ib->idx;
}

/* Binary search in the sorted catalogue for NAME[0..len). */
static const struct metric_def *
def_find(const struct metric_def **defs, size_t ndefs, const char *name,
    size_t len)
{
	size_t lo = 0, hi = ndefs;

	while (lo < hi) {
		size_t	mid = lo + (hi - lo) / 2;
		int	c = namecmp(defs[mid]->name, strlen(defs[mid]->name),
			    name, len);

		if (c == 0)
			return defs[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int
hint_find(const struct hint *h, size_t nh, const char *name, size_t len)
{
	size_t lo = 0, hi = nh;

	while (lo < hi) {
		size_t	mid = lo + (hi - lo) / 2;
		int	c = namecmp(h[mid].name, h[mid].len, name, len);

		if (c == 0)
			return h[mid].flags;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static size_t
has_suffix(const char *name, size_t len, const char *suffix)
{
	size_t slen = strlen(suffix);

	if (len > slen && memcmp(name + len - slen, suffix, slen) == 0)
		return len - slen;
	return 0;
}

static const char *
sample_name(const struct sample *s)
{
	return labels_get(s->labels, s->nlabels, "__name__");
}

/* Sorted, merged family hints read off the batch's le and quantile labels. */
static struct hint *
collect_hints(const struct batch *batch, size_t *nout)
{
	struct hint	*h;
	size_t		 i, n = 0, len, base, out;

	h = xreallocarray(NULL, batch_len(batch) + 1, sizeof(*h));
	for (i = 0; i < batch_len(batch); i++) {
		const struct sample	*s = batch_at(batch, i);
		const char		*name = sample_name(s);

		if (name == NULL)
			continue;
		len = strlen(name);
		if ((base = has_suffix(name, len, "_bucket")) != 0 &&
		    labels_get(s->labels, s->nlabels, "le") != NULL) {
			h[n].name = name;
			h[n].len = base;
			h[n++].flags = HINT_HISTOGRAM;
		} else if (labels_get(s->labels, s->nlabels,
		    "quantile") != NULL) {
			h[n].name = name;
			h[n].len = len;
			h[n++].flags = HINT_SUMMARY;
		}
	}
	qsort(h, n, sizeof(*h), hint_cmp);
	for (i = 0, out = 0; i < n; i++) {
		if (out > 0 && hint_cmp(&h[out - 1], &h[i]) == 0)
			h[out - 1].flags |= h[i].flags;
		else
			h[out++] = h[i];
	}
	*nout = out;
	return h;
}

static int
hint_type(int flags, enum metric_type *type)
{
	if (flags & HINT_HISTOGRAM)
		*type = METRIC_HISTOGRAM;
	else if (flags & HINT_SUMMARY)
		*type = METRIC_SUMMARY;
	else
		return 0;
	return 1;
}

/* Which family a sample named NAME belongs to: sets *famlen (a prefix). */
static size_t
family_of(const char *name, const struct metric_def **defs, size_t ndefs,
    const struct hint *h, size_t nh)
{
	static const char	*suffixes[] = { "_bucket", "_sum", "_count" };
	size_t			 len = strlen(name), base, i;

	if (def_find(defs, ndefs, name, len) != NULL)
		return len;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		const struct metric_def	*bdef;
		enum metric_type	 type;

		if ((base = has_suffix(name, len, suffixes[i])) == 0)
			continue;
		if ((bdef = def_find(defs, ndefs, name, base)) != NULL)
			type = bdef->type;
		else if (!hint_type(hint_find(h, nh, name, base), &type))
			break;
		if (type == METRIC_HISTOGRAM ||
		    (type == METRIC_SUMMARY && i != 0))
			return base;
		break;
	}
	return len;
}

void
expo_write_batch(struct buf *b, const struct batch *batch,
    const struct metric_def *catalog, int with_timestamps)
{
	const struct metric_def	**defs = NULL;
	struct hint		 *hints;
	struct item		 *items;
	size_t			  ndefs = 0, nhints, nitems = 0, i;
	char			 *famname = NULL;

	if (batch_len(batch) == 0)
		return;
	if (catalog != NULL) {
		while (catalog[ndefs].name != NULL)
			ndefs++;
		defs = xreallocarray(NULL, ndefs + 1, sizeof(*defs));
		for (i = 0; i < ndefs; i++)
			defs[i] = &catalog[i];
		qsort(defs, ndefs, sizeof(*defs), def_cmp);
	}
	hints = collect_hints(batch, &nhints);

	items = xreallocarray(NULL, batch_len(batch), sizeof(*items));
	for (i = 0; i < batch_len(batch); i++) {
		const char *name = sample_name(batch_at(batch, i));

		if (name == NULL)
			continue;
		items[nitems].fam = name;
		items[nitems].famlen = family_of(name, defs, ndefs, hints,
		    nhints);
		items[nitems++].idx = i;
	}
	qsort(items, nitems, sizeof(*items), item_cmp);

	for (i = 0; i < nitems; i++) {
		const struct sample	*s = batch_at(batch, items[i].idx);
		const struct metric_def	*def;
		enum metric_type	 type = METRIC_UNTYPED;

		if (i == 0 || namecmp(items[i - 1].fam, items[i - 1].famlen,
		    items[i].fam, items[i].famlen) != 0) {
			free(famname);
			famname = xstrndup(items[i].fam, items[i].famlen);
			def = def_find(defs, ndefs, items[i].fam,
			    items[i].famlen);
			if (def != NULL)
				expo_help_type(b, famname, def->type,
				    def->help);
			else {
				hint_type(hint_find(hints, nhints, items[i].fam,
				    items[i].famlen), &type);
				expo_help_type(b, famname, type, NULL);
			}
		}
		expo_sample(b, s->labels, s->nlabels, s->v,
		    with_timestamps ? s->t : 0);
	}
	free(famname);
	free(items);
	free(hints);
	free(defs);
}

void
expo_metric1(struct buf *b, const struct metric_def *m, double v)
{
	struct label l = { "__name__", m->name };

	expo_help_type(b, m->name, m->type, m->help);
	expo_sample(b, &l, 1, v, 0);
}
