/*
 * binop: PromQL binary operators between scalars and vectors, with vector
 * matching (on/ignoring, group_left/group_right, bool, and/or/unless), as
 * Prometheus 2.42 evaluates them.
 *
 * Matching is done step by step over precomputed signatures: each series'
 * signature is computed once and mapped to a group of the "one" side, so a
 * step costs a look-up per series.  The errors Prometheus raises while
 * matching (duplicate series on the "one" side, many-to-one without
 * group_x, colliding results) are raised at the first step that has them,
 * with Prometheus's text.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/engine.h"
#include "query/value.h"
#include "xmalloc.h"

#define DUP_MSG "vector cannot contain metrics with the same labelset"

static int
op_drops_name(enum q_binop op)
{
	switch (op) {
	case Q_OP_ADD:
	case Q_OP_SUB:
	case Q_OP_MUL:
	case Q_OP_DIV:
	case Q_OP_POW:
	case Q_OP_MOD:
		return 1;
	default:
		return 0;
	}
}

/* vectorElemBinop: the value, and whether a comparison keeps it. */
static double
elem_op(enum q_binop op, double l, double r, int *keep)
{
	*keep = 1;
	switch (op) {
	case Q_OP_ADD:
		return l + r;
	case Q_OP_SUB:
		return l - r;
	case Q_OP_MUL:
		return l * r;
	case Q_OP_DIV:
		return l / r;
	case Q_OP_POW:
		return pow(l, r);
	case Q_OP_MOD:
		return fmod(l, r);
	case Q_OP_ATAN2:
		return atan2(l, r);
	case Q_OP_EQL:
		*keep = l == r;
		return l;
	case Q_OP_NEQ:
		*keep = l != r;
		return l;
	case Q_OP_GTR:
		*keep = l > r;
		return l;
	case Q_OP_LSS:
		*keep = l < r;
		return l;
	case Q_OP_GTE:
		*keep = l >= r;
		return l;
	case Q_OP_LTE:
		*keep = l <= r;
		return l;
	default:
		*keep = 0;
		return NAN;
	}
}

static struct qval *
scalar_scalar(struct ev *ev, const struct q_binary *b, struct qval *l,
    struct qval *r, const struct qrange *rg)
{
	size_t k;

	for (k = 0; k < rg->n; k++) {
		int	keep;
		double	v = elem_op(b->op, l->sc[k], r->sc[k], &keep);

		if (q_binop_is_comparison(b->op))
			v = keep ? 1 : 0;
		l->sc[k] = v;
	}
	qval_free(ev, r);
	return l;
}

/* VectorscalarBinop; SWAP when the scalar was on the left. */
static struct qval *
vector_scalar(struct ev *ev, const struct q_binary *b, struct qval *vec,
    struct qval *sc, int swap, const struct qrange *rg)
{
	int	cmp = q_binop_is_comparison(b->op);
	int	drop = op_drops_name(b->op) || b->return_bool;
	size_t	i, k;

	for (i = 0; i < vec->vec.n; i++) {
		struct qseries *s = &vec->vec.s[i];

		for (k = 0; k < rg->n; k++) {
			double	lv = s->v[k], rv = sc->sc[k], t, v;
			int	keep;

			if (q_absent(lv))
				continue;
			if (swap) {
				t = lv;
				lv = rv;
				rv = t;
			}
			v = elem_op(b->op, lv, rv, &keep);
			if (cmp && swap)
				v = rv;
			if (b->return_bool) {
				v = keep ? 1 : 0;
				keep = 1;
			}
			s->v[k] = keep ? v : q_absent_value();
		}
		if (drop) {
			struct qlset *ls = qls_drop_name(s->ls);

			qls_unref(s->ls);
			s->ls = ls;
		}
	}
	qval_free(ev, sc);
	qvec_compact(ev, &vec->vec);
	if (qvec_merge(ev, &vec->vec, 1, DUP_MSG) == -1) {
		qval_free(ev, vec);
		return NULL;
	}
	return vec;
}

/* Signatures of a side's series mapped into M; group index per series. */
static size_t *
sig_groups(const struct qvec *v, const struct q_matching *mt, struct qmap *m,
    int add, size_t *ngroups)
{
	struct buf	 key = BUF_INIT;
	size_t		*g, i;

	g = xreallocarray(NULL, v->n ? v->n : 1, sizeof(size_t));
	for (i = 0; i < v->n; i++) {
		buf_reset(&key);
		qls_signature(v->s[i].ls, mt->on, mt->labels.names,
		    mt->labels.n, &key);
		if (add) {
			g[i] = qmap_put(m, key.data ? key.data : "", key.len,
			    *ngroups);
			if (g[i] == *ngroups)
				(*ngroups)++;
		} else
			g[i] = qmap_get(m, key.data ? key.data : "", key.len);
	}
	buf_free(&key);
	return g;
}

static int
any_at(const struct qvec *v, size_t k)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (!q_absent(v->s[i].v[k]))
			return 1;
	return 0;
}

static int
series_has_points(const struct qseries *s, size_t ns)
{
	size_t k;

	for (k = 0; k < ns; k++)
		if (!q_absent(s->v[k]))
			return 1;
	return 0;
}

/* and, or, unless. */
static struct qval *
set_op(struct ev *ev, const struct q_binary *b, struct qval *l,
    struct qval *r, const struct qrange *rg)
{
	struct qmap	 m = { NULL, 0, 0 };
	size_t		 ng = 0, *gr, *gl, i, k, ns = rg->n;
	unsigned char	*pres;
	const struct qvec *side = b->op == Q_OP_OR ? &l->vec : &r->vec;
	const struct qvec *other = b->op == Q_OP_OR ? &r->vec : &l->vec;

	/* Groups of the side whose presence filters the other one. */
	gr = sig_groups(side, b->matching, &m, 1, &ng);
	gl = sig_groups(other, b->matching, &m, 0, &ng);
	pres = xcalloc(ng * ns + 1, 1);
	for (i = 0; i < side->n; i++)
		for (k = 0; k < ns; k++)
			if (!q_absent(side->s[i].v[k]))
				pres[gr[i] * ns + k] = 1;
	for (i = 0; i < other->n; i++) {
		double *x = other->s[i].v;

		for (k = 0; k < ns; k++) {
			int hit;

			if (q_absent(x[k]))
				continue;
			hit = gl[i] != (size_t)-1 && pres[gl[i] * ns + k];
			/* and keeps matches; or and unless keep the rest. */
			if (b->op == Q_OP_AND ? !hit : hit)
				x[k] = q_absent_value();
		}
	}
	free(pres);
	free(gr);
	free(gl);
	qmap_free(&m);
	if (b->op == Q_OP_OR) {
		/* lhs, then what is left of rhs. */
		for (i = 0; i < r->vec.n; i++) {
			struct qseries *s;

			if (series_has_points(&r->vec.s[i], ns) == 0)
				continue;
			if ((s = qvec_add(ev, &l->vec,
			    qls_ref(r->vec.s[i].ls))) == NULL)
				break;
			memcpy(s->v, r->vec.s[i].v, ns * sizeof(double));
		}
	}
	qval_free(ev, r);
	qvec_compact(ev, &l->vec);
	if (ev->err != ENGINE_OK ||
	    qvec_merge(ev, &l->vec, 1, DUP_MSG) == -1) {
		qval_free(ev, l);
		return NULL;
	}
	return l;
}

/* The result labels of matching MANY with ONE (resultMetric). */
static struct qlset *
result_labels(const struct q_binary *b, const struct qlset *many,
    const struct qlset *one)
{
	const struct q_matching	*mt = b->matching;
	struct qlset		*ls, *t;
	size_t			 i;

	ls = qls_ref((struct qlset *)many);
	if (op_drops_name(b->op)) {
		t = qls_drop_name(ls);
		qls_unref(ls);
		ls = t;
	}
	if (mt->card == Q_CARD_ONE_TO_ONE) {
		t = mt->on ? qls_keep(ls, mt->labels.names, mt->labels.n) :
		    qls_without(ls, mt->labels.names, mt->labels.n, 0);
		qls_unref(ls);
		ls = t;
	}
	for (i = 0; i < mt->include.n; i++) {
		t = qls_set(ls, mt->include.names[i],
		    qls_get(one, mt->include.names[i]));
		qls_unref(ls);
		ls = t;
	}
	if (b->return_bool) {
		t = qls_drop_name(ls);
		qls_unref(ls);
		ls = t;
	}
	return ls;
}

static void
dup_error(struct ev *ev, const struct q_binary *b, const struct qlset *rs,
    const struct qlset *dupl)
{
	const struct q_matching	*mt = b->matching;
	struct qlset		*ml;
	struct buf		 m = BUF_INIT, x = BUF_INIT, y = BUF_INIT;

	ml = mt->on ? qls_keep(rs, mt->labels.names, mt->labels.n) :
	    qls_without(rs, mt->labels.names, mt->labels.n, 1);
	qls_format(ml, &m);
	qls_format(rs, &x);
	qls_format(dupl, &y);
	ev_fail(ev, ENGINE_EXECUTION, "found duplicate series for the match "
	    "group %s on the %s hand-side of the operation: [%s, %s];"
	    "many-to-many matching not allowed: matching labels must be "
	    "unique on one side", m.data, mt->card == Q_CARD_ONE_TO_MANY ?
	    "left" : "right", x.data, y.data);
	qls_unref(ml);
	buf_free(&m);
	buf_free(&x);
	buf_free(&y);
}

/* A pair (many-side series, one-side series) and its output series. */
struct pair {
	size_t	many, one, out;
};

static struct qval *
vector_vector(struct ev *ev, const struct q_binary *b, struct qval *l,
    struct qval *r, const struct qrange *rg)
{
	const struct q_matching	*mt = b->matching;
	int			 swap = mt->card == Q_CARD_ONE_TO_MANY;
	const struct qvec	*many = swap ? &r->vec : &l->vec;
	const struct qvec	*one = swap ? &l->vec : &r->vec;
	struct qmap		 m = { NULL, 0, 0 }, outm = { NULL, 0, 0 };
	struct qmap		 pairm = { NULL, 0, 0 };
	struct buf		 key = BUF_INIT;
	struct qval		*out;
	size_t			 ng = 0, *gone, *gmany, *who, *seen;
	size_t			*ostamp, *ogroup, ocap = 0, ns = rg->n;
	size_t			 i, k;
	struct pair		*pairs = NULL;
	size_t			 npairs = 0, pcap = 0;
	size_t			*lone, *lpair;	/* per many-side series: its
						   last pair, which the next
						   step most often has too */

	gone = sig_groups(one, mt, &m, 1, &ng);
	gmany = sig_groups(many, mt, &m, 0, &ng);
	who = xreallocarray(NULL, ng + 1, sizeof(size_t));
	seen = xcalloc(ng + 1, sizeof(size_t));
	lone = xreallocarray(NULL, many->n + 1, sizeof(size_t));
	lpair = xreallocarray(NULL, many->n + 1, sizeof(size_t));
	for (i = 0; i < many->n; i++)
		lone[i] = (size_t)-1;
	ostamp = NULL;
	ogroup = NULL;
	out = qval_new(Q_TYPE_VECTOR);
	out->vec.nsteps = ns;
	for (k = 0; k < ns && ev->err == ENGINE_OK; k++) {
		if (!any_at(many, k) || !any_at(one, k))
			continue;
		if ((k & 63) == 0 && ev_check_time(ev) == -1)
			break;
		for (i = 0; i < ng; i++)
			who[i] = (size_t)-1;
		for (i = 0; i < one->n; i++) {
			if (q_absent(one->s[i].v[k]))
				continue;
			if (who[gone[i]] != (size_t)-1) {
				dup_error(ev, b, one->s[i].ls,
				    one->s[who[gone[i]]].ls);
				break;
			}
			who[gone[i]] = i;
		}
		if (ev->err != ENGINE_OK)
			break;
		for (i = 0; i < many->n; i++) {
			double		 lv = many->s[i].v[k], rv, v, t;
			size_t		 g = gmany[i], o, p;
			struct pair	 pk;
			int		 keep;

			if (q_absent(lv) || g == (size_t)-1 ||
			    who[g] == (size_t)-1)
				continue;
			rv = one->s[who[g]].v[k];
			if (swap) {
				t = lv;
				lv = rv;
				rv = t;
			}
			v = elem_op(b->op, lv, rv, &keep);
			if (b->return_bool)
				v = keep ? 1 : 0;
			else if (!keep)
				continue;
			/* The output series of this pair. */
			pk.many = i;
			pk.one = who[g];
			if (lone[i] == who[g])
				p = lpair[i];
			else
				p = qmap_get(&pairm, &pk, 2 * sizeof(size_t));
			if (p == (size_t)-1) {
				struct qlset *ls = result_labels(b,
				    many->s[i].ls, one->s[who[g]].ls);

				buf_reset(&key);
				qls_key(ls, &key);
				o = qmap_put(&outm, key.data ? key.data : "",
				    key.len, out->vec.n);
				if (o == out->vec.n) {
					if (qvec_add(ev, &out->vec, ls) == NULL)
						break;
					if (out->vec.n > ocap) {
						ocap = out->vec.cap;
						ostamp = xreallocarray(ostamp,
						    ocap, sizeof(size_t));
						ogroup = xreallocarray(ogroup,
						    ocap, sizeof(size_t));
					}
					ostamp[o] = 0;
					ogroup[o] = 0;
				} else
					qls_unref(ls);
				if (npairs == pcap) {
					pcap = pcap ? pcap * 2 : 16;
					pairs = xreallocarray(pairs, pcap,
					    sizeof(*pairs));
				}
				pairs[npairs].many = i;
				pairs[npairs].one = who[g];
				pairs[npairs].out = o;
				p = qmap_put(&pairm, &pk, 2 * sizeof(size_t),
				    npairs);
				npairs++;
			}
			lone[i] = who[g];
			lpair[i] = p;
			o = pairs[p].out;
			if (mt->card == Q_CARD_ONE_TO_ONE) {
				if (seen[g] == k + 1) {
					ev_fail(ev, ENGINE_EXECUTION,
					    "multiple matches for labels: "
					    "many-to-one matching must be "
					    "explicit "
					    "(group_left/group_right)");
					break;
				}
				seen[g] = k + 1;
			}
			if (ostamp[o] == k + 1) {
				if (mt->card != Q_CARD_ONE_TO_ONE &&
				    ogroup[o] == g)
					ev_fail(ev, ENGINE_EXECUTION,
					    "multiple matches for labels: "
					    "grouping labels must ensure "
					    "unique matches");
				else
					ev_fail(ev, ENGINE_EXECUTION, "%s",
					    DUP_MSG);
				break;
			}
			ostamp[o] = k + 1;
			ogroup[o] = g;
			out->vec.s[o].v[k] = v;
		}
	}
	free(pairs);
	free(ostamp);
	free(ogroup);
	free(gone);
	free(gmany);
	free(who);
	free(seen);
	free(lone);
	free(lpair);
	qmap_free(&m);
	qmap_free(&outm);
	qmap_free(&pairm);
	buf_free(&key);
	qval_free(ev, l);
	qval_free(ev, r);
	if (ev->err != ENGINE_OK) {
		qval_free(ev, out);
		return NULL;
	}
	qvec_compact(ev, &out->vec);
	return out;
}

struct qval *
ev_binary(struct ev *ev, const struct q_expr *e, const struct qrange *rg)
{
	const struct q_binary	*b = &e->binary;
	struct qval		*l, *r;

	if ((l = ev_eval(ev, b->lhs, rg)) == NULL)
		return NULL;
	if ((r = ev_eval(ev, b->rhs, rg)) == NULL) {
		qval_free(ev, l);
		return NULL;
	}
	if (l->type == Q_TYPE_SCALAR && r->type == Q_TYPE_SCALAR)
		return scalar_scalar(ev, b, l, r, rg);
	if (l->type == Q_TYPE_VECTOR && r->type == Q_TYPE_SCALAR)
		return vector_scalar(ev, b, l, r, 0, rg);
	if (l->type == Q_TYPE_SCALAR && r->type == Q_TYPE_VECTOR)
		return vector_scalar(ev, b, r, l, 1, rg);
	if (l->type != Q_TYPE_VECTOR || r->type != Q_TYPE_VECTOR ||
	    b->matching == NULL) {
		qval_free(ev, l);
		qval_free(ev, r);
		return ev_fail(ev, ENGINE_INTERNAL, "operands of %s have the "
		    "wrong types", q_binop_name(b->op));
	}
	if (q_binop_is_set(b->op))
		return set_op(ev, b, l, r, rg);
	return vector_vector(ev, b, l, r, rg);
}
