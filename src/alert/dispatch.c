/*
 * dispatch: aggregation groups, their timers and the notification log of
 * one receiver (see dispatch.h).  Groups and their alerts are small sorted
 * arrays; a receiver rarely has more than a few hundred of either.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alert/dispatch.h"
#include "buf.h"
#include "xmalloc.h"

struct dgroup {
	char		 *key;
	struct lset	  labels;
	struct dalert	**alerts;	/* sorted by fp */
	size_t		  nalerts;
	int64_t		  next;		/* when due */
	int		  flushed;
};

struct nflog_item {
	char			*key;
	struct nflog_entry	 e;
};

struct dispatch {
	struct dispatch_opts	  o;
	char			**group_by;
	size_t			  ngroup_by;
	char			 *route;	/* "{}/{receiver=\"x\"}" */
	struct dgroup		**groups;
	size_t			  ngroups;
	struct nflog_item	 *log;
	size_t			  nlog;
};

struct dispatch *
dispatch_new(const struct dispatch_opts *o)
{
	struct dispatch	*d = xcalloc(1, sizeof(*d));
	struct buf	 b = BUF_INIT;
	size_t		 i;

	d->o = *o;
	d->o.receiver = NULL;
	d->o.group_by = NULL;
	for (i = 0; o->group_by != NULL && o->group_by[i] != NULL; i++)
		;
	d->group_by = xcalloc(i + 1, sizeof(*d->group_by));
	for (i = 0; o->group_by != NULL && o->group_by[i] != NULL; i++)
		d->group_by[i] = xstrdup(o->group_by[i]);
	d->ngroup_by = i;
	buf_adds(&b, "{}/{receiver=");
	alert_quote(&b, o->receiver);
	buf_adds(&b, "}");
	d->route = buf_detach(&b);
	return d;
}

static void
dalert_free(struct dalert *a)
{
	if (a == NULL)
		return;
	lset_clear(&a->labels);
	lset_clear(&a->annotations);
	free(a->generator_url);
	free(a);
}

static void
group_free(struct dgroup *g)
{
	size_t	i;

	for (i = 0; i < g->nalerts; i++)
		dalert_free(g->alerts[i]);
	free(g->alerts);
	lset_clear(&g->labels);
	free(g->key);
	free(g);
}

void
nflog_entry_clear(struct nflog_entry *e)
{
	free(e->firing);
	free(e->resolved);
	memset(e, 0, sizeof(*e));
}

void
dispatch_free(struct dispatch *d)
{
	size_t	i;

	if (d == NULL)
		return;
	for (i = 0; i < d->ngroups; i++)
		group_free(d->groups[i]);
	free(d->groups);
	for (i = 0; i < d->nlog; i++) {
		free(d->log[i].key);
		nflog_entry_clear(&d->log[i].e);
	}
	free(d->log);
	for (i = 0; i < d->ngroup_by; i++)
		free(d->group_by[i]);
	free(d->group_by);
	free(d->route);
	free(d);
}

static struct dgroup *
group_get(struct dispatch *d, const struct lset *labels, int64_t now)
{
	struct lset	 gl = LSET_INIT;
	struct buf	 b = BUF_INIT;
	struct dgroup	*g;
	const char	*v;
	size_t		 i;

	for (i = 0; i < d->ngroup_by; i++)
		if ((v = lset_get(labels, d->group_by[i])) != NULL)
			lset_set(&gl, d->group_by[i], v);
	buf_adds(&b, d->route);
	buf_addc(&b, ':');
	lset_format(&gl, &b);
	for (i = 0; i < d->ngroups; i++) {
		if (strcmp(d->groups[i]->key, b.data) == 0) {
			buf_free(&b);
			lset_clear(&gl);
			return d->groups[i];
		}
	}
	g = xcalloc(1, sizeof(*g));
	g->key = buf_detach(&b);
	g->labels = gl;
	g->next = now + d->o.group_wait_ms;
	d->groups = xreallocarray(d->groups, d->ngroups + 1,
	    sizeof(*d->groups));
	d->groups[d->ngroups++] = g;
	return g;
}

void
dispatch_insert(struct dispatch *d, const struct lset *labels,
    const struct lset *annotations, int64_t starts_at, int64_t ends_at,
    const char *generator_url, int64_t now)
{
	struct dgroup	*g = group_get(d, labels, now);
	struct dalert	*a;
	uint64_t	 fp = lset_fingerprint(labels);
	size_t		 lo = 0, hi = g->nalerts, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (g->alerts[mid]->fp < fp)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < g->nalerts && g->alerts[lo]->fp == fp) {
		a = g->alerts[lo];
		/* A resolved alert that fires again starts anew; otherwise
		   the alert keeps its earliest start, as Alertmanager's
		   merge does. */
		if (!(a->ends_at != 0 && a->ends_at <= now) &&
		    a->starts_at < starts_at)
			starts_at = a->starts_at;
		lset_clear(&a->labels);
		lset_clear(&a->annotations);
		free(a->generator_url);
	} else {
		a = xcalloc(1, sizeof(*a));
		g->alerts = xreallocarray(g->alerts, g->nalerts + 1,
		    sizeof(*g->alerts));
		memmove(g->alerts + lo + 1, g->alerts + lo,
		    (g->nalerts - lo) * sizeof(*g->alerts));
		g->alerts[lo] = a;
		g->nalerts++;
	}
	lset_copy(&a->labels, labels);
	lset_copy(&a->annotations, annotations);
	a->fp = fp;
	a->starts_at = starts_at;
	a->ends_at = ends_at;
	a->updated_at = now;
	a->generator_url = xstrdup(generator_url ? generator_url : "");
	if (!g->flushed && starts_at + d->o.group_wait_ms < now &&
	    g->next > now)
		g->next = now;
}

int64_t
dispatch_next_due(const struct dispatch *d)
{
	int64_t	t = INT64_MAX;
	size_t	i;

	for (i = 0; i < d->ngroups; i++)
		if (d->groups[i]->next < t)
			t = d->groups[i]->next;
	return t;
}

size_t
dispatch_groups(const struct dispatch *d)
{
	return d->ngroups;
}

static struct nflog_item *
nflog_find(struct dispatch *d, const char *key)
{
	size_t	i;

	for (i = 0; i < d->nlog; i++)
		if (strcmp(d->log[i].key, key) == 0)
			return &d->log[i];
	return NULL;
}

static void
nflog_set(struct dispatch *d, const char *key, struct nflog_entry *e)
{
	struct nflog_item	*it = nflog_find(d, key);

	if (it == NULL) {
		d->log = xreallocarray(d->log, d->nlog + 1, sizeof(*d->log));
		it = &d->log[d->nlog++];
		it->key = xstrdup(key);
	} else
		nflog_entry_clear(&it->e);
	it->e = *e;
	memset(e, 0, sizeof(*e));
}

void
dispatch_nflog_restore(struct dispatch *d, const char *key,
    const struct nflog_entry *e)
{
	struct nflog_entry	c;

	c.nfiring = e->nfiring;
	c.nresolved = e->nresolved;
	c.ts = e->ts;
	c.firing = xcalloc(e->nfiring + 1, sizeof(*c.firing));
	c.resolved = xcalloc(e->nresolved + 1, sizeof(*c.resolved));
	memcpy(c.firing, e->firing, e->nfiring * sizeof(*c.firing));
	memcpy(c.resolved, e->resolved, e->nresolved * sizeof(*c.resolved));
	nflog_set(d, key, &c);
}

static int
in_sorted(const uint64_t *v, size_t n, uint64_t x)
{
	size_t	lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v[mid] == x)
			return 1;
		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* Every element of SUB is in SET. */
static int
subset(const uint64_t *sub, size_t nsub, const uint64_t *set, size_t nset)
{
	size_t	i;

	for (i = 0; i < nsub; i++)
		if (!in_sorted(set, nset, sub[i]))
			return 0;
	return 1;
}

/* Alertmanager's DedupStage.needsUpdate, with send_resolved on. */
static int
needs_update(const struct nflog_entry *prev, const struct nflog_entry *cur,
    int64_t now, int64_t repeat)
{
	if (prev == NULL)
		return cur->nfiring > 0;
	if (!subset(cur->firing, cur->nfiring, prev->firing, prev->nfiring))
		return 1;
	if (cur->nfiring == 0)
		return prev->nfiring > 0;
	if (!subset(cur->resolved, cur->nresolved, prev->resolved,
	    prev->nresolved))
		return 1;
	return prev->ts < now - repeat;
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
dalert_cmp(const void *x, const void *y)
{
	const struct dalert	*a = *(const struct dalert *const *)x;
	const struct dalert	*b = *(const struct dalert *const *)y;
	static const char *const keys[] = { "job", "instance" };
	const char		*va, *vb;
	size_t			 i;
	int			 c;

	/* Alertmanager's order: by job, then instance, then fingerprint. */
	for (i = 0; i < 2; i++) {
		va = lset_get(&a->labels, keys[i]);
		vb = lset_get(&b->labels, keys[i]);
		if (va == NULL && vb == NULL)
			continue;
		if (va == NULL || vb == NULL)
			return va == NULL ? 1 : -1;
		if ((c = strcmp(va, vb)) != 0)
			return c;
	}
	return a->fp < b->fp ? -1 : a->fp > b->fp;
}

static int
flush_group(struct dispatch *d, struct dgroup *g, int64_t now)
{
	const struct dalert	**view;
	struct nflog_item	 *prev;
	struct nflog_entry	  cur;
	struct dgroup_view	  v;
	struct dalert		 *a;
	size_t			  i, n = 0, k;
	int			  sent = 0;

	memset(&cur, 0, sizeof(cur));
	view = xcalloc(g->nalerts + 1, sizeof(*view));
	cur.firing = xcalloc(g->nalerts + 1, sizeof(uint64_t));
	cur.resolved = xcalloc(g->nalerts + 1, sizeof(uint64_t));
	cur.ts = now;
	for (i = 0; i < g->nalerts; i++) {
		a = g->alerts[i];
		if (d->o.silenced != NULL && d->o.silenced(d->o.silenced_arg,
		    &a->labels, now))
			continue;
		view[n++] = a;
		if (a->ends_at != 0 && a->ends_at <= now)
			cur.resolved[cur.nresolved++] = a->fp;
		else
			cur.firing[cur.nfiring++] = a->fp;
	}
	qsort(cur.firing, cur.nfiring, sizeof(uint64_t), u64_cmp);
	qsort(cur.resolved, cur.nresolved, sizeof(uint64_t), u64_cmp);
	prev = nflog_find(d, g->key);
	if (n > 0 && needs_update(prev ? &prev->e : NULL, &cur, now,
	    d->o.repeat_interval_ms)) {
		qsort(view, n, sizeof(*view), dalert_cmp);
		v.key = g->key;
		v.group_labels = &g->labels;
		v.alerts = view;
		v.nalerts = n;
		v.now = now;
		v.entry = &cur;
		if (d->o.notify(d->o.notify_arg, &v) == -1) {
			free(view);
			nflog_entry_clear(&cur);
			return -1;
		}
		nflog_set(d, g->key, &cur);
		sent = 1;
	}
	nflog_entry_clear(&cur);
	free(view);
	/* Resolved alerts were dealt with (or silenced): they go. */
	for (i = 0, k = 0; i < g->nalerts; i++) {
		a = g->alerts[i];
		if (a->ends_at != 0 && a->ends_at <= now)
			dalert_free(a);
		else
			g->alerts[k++] = a;
	}
	g->nalerts = k;
	return sent;
}

size_t
dispatch_flush(struct dispatch *d, int64_t now)
{
	struct dgroup	*g;
	size_t		 i, k, sent = 0;
	int		 rc;

	for (i = 0; i < d->ngroups; i++) {
		g = d->groups[i];
		if (g->next > now)
			continue;
		g->next = now + d->o.group_interval_ms;
		g->flushed = 1;
		rc = flush_group(d, g, now);
		if (rc > 0)
			sent++;
	}
	for (i = 0, k = 0; i < d->ngroups; i++) {
		if (d->groups[i]->nalerts == 0)
			group_free(d->groups[i]);
		else
			d->groups[k++] = d->groups[i];
	}
	d->ngroups = k;
	for (i = 0, k = 0; i < d->nlog; i++) {
		if (d->log[i].e.ts < now - NFLOG_RETENTION_MS) {
			free(d->log[i].key);
			nflog_entry_clear(&d->log[i].e);
		} else
			d->log[k++] = d->log[i];
	}
	d->nlog = k;
	return sent;
}

static void
put_u64(struct buf *b, uint64_t v)
{
	unsigned char	x[8];
	int		i;

	for (i = 7; i >= 0; i--) {
		x[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
	buf_add(b, x, 8);
}

static uint64_t
get_u64(const unsigned char *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

void
nflog_encode(const struct nflog_entry *e, struct buf *b)
{
	size_t	i;

	put_u64(b, (uint64_t)e->ts);
	put_u64(b, e->nfiring);
	put_u64(b, e->nresolved);
	for (i = 0; i < e->nfiring; i++)
		put_u64(b, e->firing[i]);
	for (i = 0; i < e->nresolved; i++)
		put_u64(b, e->resolved[i]);
}

int
nflog_decode(const void *data, size_t len, struct nflog_entry *e)
{
	const unsigned char	*p = data;
	uint64_t		 nf, nr;
	size_t			 i;

	memset(e, 0, sizeof(*e));
	if (len < 24)
		return -1;
	nf = get_u64(p + 8);
	nr = get_u64(p + 16);
	if (nf > (len - 24) / 8 || nr > (len - 24) / 8 - nf ||
	    24 + 8 * (nf + nr) != len)
		return -1;
	e->ts = (int64_t)get_u64(p);
	e->nfiring = nf;
	e->nresolved = nr;
	e->firing = xcalloc(nf + 1, sizeof(*e->firing));
	e->resolved = xcalloc(nr + 1, sizeof(*e->resolved));
	for (i = 0; i < nf; i++)
		e->firing[i] = get_u64(p + 24 + 8 * i);
	for (i = 0; i < nr; i++)
		e->resolved[i] = get_u64(p + 24 + 8 * (nf + i));
	return 0;
}
