/*
 * aggr: PromQL aggregation operators (sum, avg, count, min, max, group,
 * stddev, stdvar, topk, bottomk, quantile, count_values) with by/without,
 * computed step by step in the order Prometheus 2.42 visits the samples,
 * so that sums round the same way and ties pick the same series.
 *
 * The groups of the plain operators do not change between steps (a
 * series' labels do not), so they are found once; the accumulators are
 * one row of slots per group.  topk and bottomk keep a heap per group and
 * step, managed like Go's container/heap so that ties resolve alike.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/engine.h"
#include "query/gofmt.h"
#include "query/quote.h"
#include "query/value.h"
#include "xmalloc.h"

/* Group of each input series (-1: none) and each group's labels. */
struct groups {
	size_t		*gof;
	struct qlset	**ls;
	size_t		 n;
};

static void
groups_build(const struct q_aggregate *a, const struct qvec *in,
    struct groups *g)
{
	struct qmap	 m = { NULL, 0, 0 };
	struct buf	 key = BUF_INIT;
	size_t		 i, x;

	g->gof = xreallocarray(NULL, in->n ? in->n : 1, sizeof(size_t));
	g->ls = xreallocarray(NULL, in->n ? in->n : 1, sizeof(*g->ls));
	g->n = 0;
	for (i = 0; i < in->n; i++) {
		const struct qlset *ls = in->s[i].ls;

		buf_reset(&key);
		qls_signature(ls, !a->without, a->grouping.names,
		    a->grouping.n, &key);
		x = qmap_put(&m, key.data ? key.data : "", key.len, g->n);
		if (x == g->n) {
			g->ls[g->n++] = a->without ?
			    qls_without(ls, a->grouping.names, a->grouping.n,
			    1) : qls_keep(ls, a->grouping.names,
			    a->grouping.n);
		}
		g->gof[i] = x;
	}
	qmap_free(&m);
	buf_free(&key);
}

static void
groups_free(struct groups *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		qls_unref(g->ls[i]);
	free(g->ls);
	free(g->gof);
}

/*
 * sum's step: SV[k] += X[k] where X[k] is present (X[k] alone where SC[k]
 * is 0, the first, so that -0 stays -0), SC[k] set to 1.  Two steps at a
 * time, with the vector extension and without a branch but on a NaN (the
 * absent marker is one, and a NaN value rare): the branches on absent
 * points and on the first series of a group cost three times more.
 */
typedef double	agg_vd __attribute__((vector_size(16)));
typedef int64_t	agg_vi __attribute__((vector_size(16)));

static void
aggr_sum(double *sv, double *sc, const double *x, size_t ns)
{
	const agg_vd	 zero = { 0, 0 }, one = { 1, 1 };
	agg_vd		 xv, s, c;
	agg_vi		 nan, first;
	size_t		 k = 0, e;

	while (k < ns) {
		e = ns;
		if (ns - k >= 2) {
			memcpy(&xv, x + k, sizeof(xv));
			nan = xv != xv;
			if ((nan[0] | nan[1]) == 0) {
				memcpy(&s, sv + k, sizeof(s));
				memcpy(&c, sc + k, sizeof(c));
				first = c == zero;
				s = (agg_vd)((first & (agg_vi)xv) |
				    (~first & (agg_vi)(s + xv)));
				memcpy(sv + k, &s, sizeof(s));
				memcpy(sc + k, &one, sizeof(one));
				k += 2;
				continue;
			}
			e = k + 2;
		}
		for (; k < e; k++) {
			if (q_absent(x[k]))
				continue;
			sv[k] = sc[k] == 0 ? x[k] : sv[k] + x[k];
			sc[k] = 1;
		}
	}
}

/* sum avg count min max group stddev stdvar. */
static struct qval *
aggr_simple(struct ev *ev, const struct q_aggregate *a, struct qval *in,
    const struct qrange *r)
{
	struct groups	 g;
	struct qval	*out;
	double		*val, *mean, *cnt;
	size_t		 ns = r->n, i, k, gi;

	groups_build(a, &in->vec, &g);
	val = xcalloc(g.n * ns + 1, sizeof(double));
	/* sum has no use for means */
	mean = a->op == Q_AGG_SUM ? NULL : xcalloc(g.n * ns + 1,
	    sizeof(double));
	cnt = xcalloc(g.n * ns + 1, sizeof(double));
	for (i = 0; i < in->vec.n; i++) {
		const double *x = in->vec.s[i].v;

		gi = g.gof[i];
		if (a->op == Q_AGG_SUM) {
			/* The most common, without the switch per point. */
			aggr_sum(val + gi * ns, cnt + gi * ns, x, ns);
			continue;
		}
		for (k = 0; k < ns; k++) {
			size_t	at = gi * ns + k;
			double	v = x[k];

			if (q_absent(v))
				continue;
			if (cnt[at] == 0) {
				cnt[at] = 1;
				mean[at] = v;
				val[at] = a->op == Q_AGG_STDDEV ||
				    a->op == Q_AGG_STDVAR ? 0 :
				    a->op == Q_AGG_GROUP ? 1 : v;
				continue;
			}
			switch (a->op) {
			case Q_AGG_SUM:
				val[at] += v;
				break;
			case Q_AGG_AVG:
				cnt[at]++;
				if (isinf(mean[at])) {
					if (isinf(v) && (mean[at] > 0) ==
					    (v > 0))
						break;
					if (!isinf(v) && !isnan(v))
						break;
				}
				mean[at] += v / cnt[at] - mean[at] / cnt[at];
				break;
			case Q_AGG_MAX:
				if (val[at] < v || isnan(val[at]))
					val[at] = v;
				break;
			case Q_AGG_MIN:
				if (val[at] > v || isnan(val[at]))
					val[at] = v;
				break;
			case Q_AGG_COUNT:
				cnt[at]++;
				break;
			case Q_AGG_STDDEV:
			case Q_AGG_STDVAR: {
				double delta;

				cnt[at]++;
				delta = v - mean[at];
				mean[at] += delta / cnt[at];
				val[at] += delta * (v - mean[at]);
				break;
			}
			default:
				break;
			}
		}
	}
	out = qval_new(Q_TYPE_VECTOR);
	out->vec.nsteps = ns;
	/* Groups in order of appearance: an instant query shows them so. */
	for (gi = 0; gi < g.n; gi++) {
		struct qseries *s;

		if ((s = qvec_add(ev, &out->vec, qls_ref(g.ls[gi]))) == NULL)
			break;
		for (k = 0; k < ns; k++) {
			size_t	at = gi * ns + k;
			double	y;

			if (cnt[at] == 0)
				continue;
			switch (a->op) {
			case Q_AGG_AVG:
				y = mean[at];
				break;
			case Q_AGG_COUNT:
				y = cnt[at];
				break;
			case Q_AGG_STDVAR:
				y = val[at] / cnt[at];
				break;
			case Q_AGG_STDDEV:
				y = sqrt(val[at] / cnt[at]);
				break;
			default:
				y = val[at];
				break;
			}
			s->v[k] = y;
		}
	}
	free(val);
	free(mean);
	free(cnt);
	groups_free(&g);
	qval_free(ev, in);
	if (ev->err != ENGINE_OK) {
		qval_free(ev, out);
		return NULL;
	}
	qvec_compact(ev, &out->vec);
	return out;
}

/* A heap entry: the value and the input series. */
struct hent {
	double	v;
	size_t	i;
};

/* vectorByValueHeap (topk) or vectorByReverseValueHeap (bottomk). */
static int
hless(const struct hent *h, size_t i, size_t j, int rev)
{
	if (isnan(h[i].v))
		return 1;
	return rev ? h[i].v > h[j].v : h[i].v < h[j].v;
}

static void
hswap(struct hent *h, size_t i, size_t j)
{
	struct hent t = h[i];

	h[i] = h[j];
	h[j] = t;
}

static void
hup(struct hent *h, size_t j, int rev)
{
	while (j > 0) {
		size_t i = (j - 1) / 2;

		if (!hless(h, j, i, rev))
			break;
		hswap(h, i, j);
		j = i;
	}
}

static void
hdown(struct hent *h, size_t i, size_t n, int rev)
{
	for (;;) {
		size_t j1 = 2 * i + 1, j;

		if (j1 >= n)
			break;
		j = j1;
		if (j1 + 1 < n && hless(h, j1 + 1, j1, rev))
			j = j1 + 1;
		if (!hless(h, j, i, rev))
			break;
		hswap(h, i, j);
		i = j;
	}
}

/* sort.Sort(sort.Reverse(heap)): insertion sort for short ones, as Go. */
static void
hsort_reverse(struct hent *h, size_t n, int rev)
{
	size_t i, j;

	for (i = 1; i < n; i++)
		for (j = i; j > 0 && hless(h, j - 1, j, rev); j--)
			hswap(h, j, j - 1);
}

static int
hent_cmp_top(const void *a, const void *b)
{
	struct hent h[2];

	h[0] = *(const struct hent *)a;
	h[1] = *(const struct hent *)b;
	return hless(h, 1, 0, 0) ? -1 : hless(h, 0, 1, 0) ? 1 : 0;
}

static int
hent_cmp_bottom(const void *a, const void *b)
{
	struct hent h[2];

	h[0] = *(const struct hent *)a;
	h[1] = *(const struct hent *)b;
	return hless(h, 1, 0, 1) ? -1 : hless(h, 0, 1, 1) ? 1 : 0;
}

static int
k_param(struct ev *ev, double f, int64_t *k)
{
	if (!(f <= 9223372036854774784.0 && f >= -9223372036854775808.0)) {
		struct buf b = BUF_INIT;

		q_format_float(&b, f);
		ev_fail(ev, ENGINE_EXECUTION, "Scalar value %s overflows int64",
		    b.data);
		buf_free(&b);
		return -1;
	}
	*k = (int64_t)f;
	return 0;
}

/* topk, bottomk, quantile: per step and group. */
static struct qval *
aggr_select(struct ev *ev, const struct q_aggregate *a, struct qval *in,
    const double *param, const struct qrange *r)
{
	struct groups	 g;
	struct qval	*out;
	struct hent	**heaps;
	size_t		*hn, *outof, ns = r->n, i, k, gi, j;
	double		*scratch;
	int		 rev = a->op == Q_AGG_BOTTOMK;

	groups_build(a, &in->vec, &g);
	heaps = xcalloc(g.n + 1, sizeof(*heaps));
	hn = xcalloc(g.n + 1, sizeof(*hn));
	outof = xreallocarray(NULL, in->vec.n + 1, sizeof(size_t));
	for (i = 0; i < in->vec.n; i++)
		outof[i] = (size_t)-1;
	scratch = xreallocarray(NULL, in->vec.n + 1, sizeof(double));
	for (gi = 0; gi < g.n; gi++)
		heaps[gi] = xreallocarray(NULL, in->vec.n + 1,
		    sizeof(struct hent));
	out = qval_new(Q_TYPE_VECTOR);
	out->vec.nsteps = ns;
	for (k = 0; k < ns && ev->err == ENGINE_OK; k++) {
		int64_t kk = 0;

		if (a->op != Q_AGG_QUANTILE) {
			if (k_param(ev, param[k], &kk) == -1)
				break;
			if (kk < 1)
				continue;
		}
		for (gi = 0; gi < g.n; gi++)
			hn[gi] = 0;
		for (i = 0; i < in->vec.n; i++) {
			double		 v = in->vec.s[i].v[k];
			struct hent	*h;
			size_t		*n;

			if (q_absent(v))
				continue;
			gi = g.gof[i];
			h = heaps[gi];
			n = &hn[gi];
			if (a->op == Q_AGG_QUANTILE || *n == 0) {
				h[*n].v = v;
				h[(*n)++].i = i;
				continue;
			}
			if ((int64_t)*n < kk || isnan(h[0].v) ||
			    (rev ? h[0].v > v : h[0].v < v)) {
				if ((int64_t)*n == kk) {
					if (kk == 1) {
						h[0].v = v;
						h[0].i = i;
						continue;
					}
					/* heap.Pop */
					hswap(h, 0, *n - 1);
					hdown(h, 0, *n - 1, rev);
					(*n)--;
				}
				/* heap.Push */
				h[*n].v = v;
				h[*n].i = i;
				(*n)++;
				hup(h, *n - 1, rev);
			}
		}
		for (gi = 0; gi < g.n; gi++) {
			struct hent *h = heaps[gi];

			if (hn[gi] == 0)
				continue;
			if (a->op == Q_AGG_QUANTILE) {
				struct qseries *s;

				if (outof[gi] == (size_t)-1) {
					s = qvec_add(ev, &out->vec,
					    qls_ref(g.ls[gi]));
					if (s == NULL)
						break;
					outof[gi] = out->vec.n - 1;
				}
				for (j = 0; j < hn[gi]; j++)
					scratch[j] = h[j].v;
				out->vec.s[outof[gi]].v[k] =
				    q_quantile(param[k], scratch, hn[gi]);
				continue;
			}
			if (hn[gi] > 12) {
				/* Go's pdqsort: only ties may come out in
				   another order. */
				qsort(h, hn[gi], sizeof(*h), rev ?
				    hent_cmp_bottom : hent_cmp_top);
			} else
				hsort_reverse(h, hn[gi], rev);
			for (j = 0; j < hn[gi]; j++) {
				size_t src = h[j].i;

				if (outof[src] == (size_t)-1) {
					if (qvec_add(ev, &out->vec,
					    qls_ref(in->vec.s[src].ls)) ==
					    NULL)
						break;
					outof[src] = out->vec.n - 1;
				}
				out->vec.s[outof[src]].v[k] = h[j].v;
			}
		}
	}
	for (gi = 0; gi < g.n; gi++)
		free(heaps[gi]);
	free(heaps);
	free(hn);
	free(outof);
	free(scratch);
	groups_free(&g);
	qval_free(ev, in);
	if (ev->err != ENGINE_OK) {
		qval_free(ev, out);
		return NULL;
	}
	return out;
}

static struct qval *
aggr_count_values(struct ev *ev, const struct q_aggregate *a,
    const char *label, struct qval *in, const struct qrange *r)
{
	struct qmap	 m = { NULL, 0, 0 };
	struct buf	 num = BUF_INIT, key = BUF_INIT;
	struct qval	*out;
	char		**names;
	size_t		 ns = r->n, i, k, n;

	if (!label_name_valid(label)) {
		struct buf b = BUF_INIT;

		q_quote(&b, label, strlen(label));
		ev_fail(ev, ENGINE_EXECUTION, "invalid label name %s", b.data);
		buf_free(&b);
		qval_free(ev, in);
		return NULL;
	}
	n = a->grouping.n;
	names = xreallocarray(NULL, n + 1, sizeof(char *));
	if (n > 0)
		memcpy(names, a->grouping.names, n * sizeof(char *));
	if (!a->without)
		names[n++] = (char *)label;
	out = qval_new(Q_TYPE_VECTOR);
	out->vec.nsteps = ns;
	for (k = 0; k < ns && ev->err == ENGINE_OK; k++) {
		for (i = 0; i < in->vec.n; i++) {
			double		 v = in->vec.s[i].v[k];
			struct qlset	*withv, *ol;
			size_t		 x;

			if (q_absent(v))
				continue;
			buf_reset(&num);
			gofmt_float(&num, v);
			withv = qls_set(in->vec.s[i].ls, label, num.data);
			ol = a->without ? qls_without(withv, names, n, 1) :
			    qls_keep(withv, names, n);
			qls_unref(withv);
			buf_reset(&key);
			qls_key(ol, &key);
			x = qmap_put(&m, key.data ? key.data : "", key.len,
			    out->vec.n);
			if (x == out->vec.n) {
				if (qvec_add(ev, &out->vec, ol) == NULL)
					break;
			} else
				qls_unref(ol);
			if (q_absent(out->vec.s[x].v[k]))
				out->vec.s[x].v[k] = 1;
			else
				out->vec.s[x].v[k]++;
		}
	}
	qmap_free(&m);
	buf_free(&num);
	buf_free(&key);
	free(names);
	qval_free(ev, in);
	if (ev->err != ENGINE_OK) {
		qval_free(ev, out);
		return NULL;
	}
	return out;
}

struct qval *
ev_aggregate(struct ev *ev, const struct q_expr *e, const struct qrange *r)
{
	const struct q_aggregate	*a = &e->aggregate;
	const struct q_expr		*p = a->param;
	struct qval			*pv = NULL, *in, *out;

	while (p != NULL && p->kind == Q_PAREN)
		p = p->paren;
	if (a->op == Q_AGG_COUNT_VALUES) {
		if ((in = ev_eval(ev, a->expr, r)) == NULL)
			return NULL;
		return aggr_count_values(ev, a, p->string.s, in, r);
	}
	if (q_aggop_has_param(a->op) &&
	    (pv = ev_eval(ev, a->param, r)) == NULL)
		return NULL;
	if ((in = ev_eval(ev, a->expr, r)) == NULL) {
		qval_free(ev, pv);
		return NULL;
	}
	if (a->op == Q_AGG_TOPK || a->op == Q_AGG_BOTTOMK ||
	    a->op == Q_AGG_QUANTILE)
		out = aggr_select(ev, a, in, pv->sc, r);
	else
		out = aggr_simple(ev, a, in, r);
	qval_free(ev, pv);
	return out;
}
