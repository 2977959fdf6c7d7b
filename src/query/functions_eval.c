/*
 * functions_eval: PromQL function calls, as Prometheus 2.42 computes them.
 *
 * Range-vector functions (rate, *_over_time, deriv, ...) slide a window
 * over each series' sample array: the window of step k is
 * [ref - range, ref] with ref = (the @ time or the step's time) - offset,
 * both ends included as in Prometheus 2.x.  Both ends only move forward,
 * so a step costs the samples entering and leaving, plus the function's
 * own pass over the window.  Instant-vector functions map each series'
 * slots; where the result drops the metric name, series that end up with
 * the same labels are merged and a clash at one step is Prometheus's
 * "vector cannot contain metrics with the same labelset".
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "query/engine.h"
#include "query/value.h"
#include "storage/store.h"
#include "xmalloc.h"

#define DUP_MSG "vector cannot contain metrics with the same labelset"

enum mfn {
	MF_RATE, MF_INCREASE, MF_DELTA, MF_IRATE, MF_IDELTA, MF_DERIV,
	MF_PREDICT, MF_RESETS, MF_CHANGES, MF_AVG, MF_MIN, MF_MAX, MF_SUM,
	MF_COUNT, MF_LAST, MF_QUANTILE, MF_STDDEV, MF_STDVAR, MF_PRESENT,
	MF_ABSENT, MF_HOLT,
};

static const struct {
	const char	*name;
	enum mfn	 fn;
} mfns[] = {
	{ "rate", MF_RATE }, { "increase", MF_INCREASE },
	{ "delta", MF_DELTA }, { "irate", MF_IRATE },
	{ "idelta", MF_IDELTA }, { "deriv", MF_DERIV },
	{ "predict_linear", MF_PREDICT }, { "resets", MF_RESETS },
	{ "changes", MF_CHANGES }, { "avg_over_time", MF_AVG },
	{ "min_over_time", MF_MIN }, { "max_over_time", MF_MAX },
	{ "sum_over_time", MF_SUM }, { "count_over_time", MF_COUNT },
	{ "last_over_time", MF_LAST },
	{ "quantile_over_time", MF_QUANTILE },
	{ "stddev_over_time", MF_STDDEV },
	{ "stdvar_over_time", MF_STDVAR },
	{ "present_over_time", MF_PRESENT },
	{ "absent_over_time", MF_ABSENT }, { "holt_winters", MF_HOLT },
};

/* Neumaier's variant of Kahan summation, as Prometheus's kahanSumInc. */
static inline void
kahan_inc(double inc, double *sum, double *c)
{
	double t = *sum + inc;

	if (fabs(*sum) >= fabs(inc))
		*c += (*sum - t) + inc;
	else
		*c += (inc - t) + *sum;
	*sum = t;
}

/* Prometheus's linearRegression, intercept at itime. */
static void
linear_regression(const int64_t *t, const double *v, size_t n,
    int64_t itime, double *slope, double *intercept)
{
	double	sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0;
	double	sx2 = 0, cx2 = 0, cnt = 0, cov, var;
	int	consty = 1;
	size_t	i;

	for (i = 0; i < n; i++) {
		double x = (double)(t[i] - itime) / 1e3;

		if (consty && i > 0 && v[i] != v[0])
			consty = 0;
		cnt += 1;
		kahan_inc(x, &sx, &cx);
		kahan_inc(v[i], &sy, &cy);
		kahan_inc(x * v[i], &sxy, &cxy);
		kahan_inc(x * x, &sx2, &cx2);
	}
	if (consty) {
		if (isinf(v[0])) {
			*slope = *intercept = NAN;
			return;
		}
		*slope = 0;
		*intercept = v[0];
		return;
	}
	sx += cx;
	sy += cy;
	sxy += cxy;
	sx2 += cx2;
	cov = sxy - sx * sy / cnt;
	var = sx2 - sx * sx / cnt;
	*slope = cov / var;
	*intercept = sy / cnt - *slope * sx / cnt;
}

/*
 * The windows of rate_series' first pass, one column each (padded to a
 * multiple of RW_LANES): the distance from the window's start to its
 * first sample, from its last sample to its end, between the two (in
 * seconds, divided as Prometheus divides them), the average interval
 * between its samples (those four depend on the timestamps alone), the
 * first value, and the increase with resets added.
 */
#define RW_LANES	4
#define RW_COLS		6
#define RW_TCOLS	4

/*
 * Windows slid before.  The series of a target are scraped together and
 * have the same timestamps, so which samples each step's window holds
 * is the same for all of them: rate_series keeps the windows of the
 * last RW_MEMOS distinct timestamp arrays it slid over (at most
 * RW_MEMO_BYTES in all, a copy of the timestamps included) and a series
 * whose timestamps are the same, compared whole, takes them instead of
 * sliding again, with the four columns that only depend on them (the
 * time columns): the four divisions that make those are then done once
 * for a target, not for every series.  They hold for one range, offset
 * and set of steps: an rwins serves one function over one matrix.
 */
#define RW_MEMOS	16
#define RW_MEMO_BYTES	(2u << 20)

struct rwmemo {
	int64_t		*t;		/* NULL: free */
	size_t		 n;
	size_t		*lo, *hi, *k;	/* windows of two samples or more */
	size_t		 nw;
	double		*tc;		/* the time columns, padded:
					   RW_TCOLS of tcap */
	size_t		 tcap;
	size_t		 bytes;
	uint64_t	 used;
};

struct rwins {
	double		*col;		/* RW_COLS columns of cap */
	size_t		*k;
	size_t		*lo, *hi;	/* the windows' ends, when slid here */
	size_t		 cap;
	size_t		*resets;	/* the samples below the one before */
	size_t		 resetcap;
	struct rwmemo	 m[RW_MEMOS];
	size_t		 mbytes;
	uint64_t	 tick;
};

struct mctx {
	enum mfn	 fn;
	int64_t		 range;
	double		 range_s;	/* the range in seconds, as Go
					   divides it */
	const double	*p1, *p2;	/* scalar arguments per step */
	double		*scratch;
	size_t		 scratch_cap;
	struct rwins	 w;		/* rate_series' windows */
	struct ev	*ev;
	/* The series' first nagg points are rollup buckets (ev_stream). */
	const struct store_agg *agg;
	size_t		 nagg;
};

/* One window; 1 with *out set, 0 for no point. */
static int
mfn_apply(struct mctx *c, size_t k, int64_t ts, int64_t ref,
    const int64_t *t, const double *v, size_t n, double *out)
{
	double	a, b, s0, s1, x, y, m, cm, aux, caux, cnt;
	size_t	i;

	switch (c->fn) {
	case MF_IRATE:
	case MF_IDELTA:
		if (n < 2)
			return 0;
		if (c->fn == MF_IRATE && v[n - 1] < v[n - 2])
			a = v[n - 1];
		else
			a = v[n - 1] - v[n - 2];
		if (t[n - 1] == t[n - 2])
			return 0;
		if (c->fn == MF_IRATE)
			a /= (double)(t[n - 1] - t[n - 2]) / 1000;
		*out = a;
		return 1;
	case MF_DERIV:
		if (n < 2)
			return 0;
		linear_regression(t, v, n, t[0], &a, &b);
		*out = a;
		return 1;
	case MF_PREDICT:
		if (n < 2)
			return 0;
		linear_regression(t, v, n, ts, &a, &b);
		*out = a * c->p1[k] + b;
		return 1;
	case MF_RATE:
	case MF_INCREASE:
	case MF_DELTA:
	case MF_RESETS:
	case MF_CHANGES:
		/* rate_series, count_series */
		break;
	case MF_AVG:
		m = cm = cnt = 0;
		for (i = 0; i < n; i++) {
			cnt++;
			if (isinf(m)) {
				if (isinf(v[i]) && (m > 0) == (v[i] > 0))
					continue;
				if (!isinf(v[i]) && !isnan(v[i]))
					continue;
			}
			kahan_inc(v[i] / cnt - m / cnt, &m, &cm);
		}
		*out = isinf(m) ? m : m + cm;
		return 1;
	case MF_MIN:
		a = v[0];
		for (i = 0; i < n; i++)
			if (v[i] < a || isnan(a))
				a = v[i];
		*out = a;
		return 1;
	case MF_MAX:
		a = v[0];
		for (i = 0; i < n; i++)
			if (v[i] > a || isnan(a))
				a = v[i];
		*out = a;
		return 1;
	case MF_SUM:
		a = b = 0;
		for (i = 0; i < n; i++)
			kahan_inc(v[i], &a, &b);
		*out = isinf(a) ? a : a + b;
		return 1;
	case MF_COUNT:
		*out = (double)n;
		return 1;
	case MF_LAST:
		*out = v[n - 1];
		return 1;
	case MF_PRESENT:
	case MF_ABSENT:
		*out = 1;
		return 1;
	case MF_QUANTILE:
		if (n > c->scratch_cap) {
			c->scratch_cap = n * 2;
			c->scratch = xreallocarray(c->scratch, c->scratch_cap,
			    sizeof(double));
		}
		memcpy(c->scratch, v, n * sizeof(double));
		*out = q_quantile(c->p1[k], c->scratch, n);
		return 1;
	case MF_STDDEV:
	case MF_STDVAR:
		m = cm = aux = caux = cnt = 0;
		for (i = 0; i < n; i++) {
			double delta;

			cnt++;
			delta = v[i] - (m + cm);
			kahan_inc(delta / cnt, &m, &cm);
			kahan_inc(delta * (v[i] - (m + cm)), &aux, &caux);
		}
		a = (aux + caux) / cnt;
		*out = c->fn == MF_STDDEV ? sqrt(a) : a;
		return 1;
	case MF_HOLT:
		a = c->p1[k];	/* smoothing factor */
		b = c->p2[k];	/* trend factor */
		if (a <= 0 || a >= 1) {
			ev_fail(c->ev, ENGINE_EXECUTION, "invalid smoothing "
			    "factor. Expected: 0 < sf < 1, got: %f", a);
			return -1;
		}
		if (b <= 0 || b >= 1) {
			ev_fail(c->ev, ENGINE_EXECUTION, "invalid trend "
			    "factor. Expected: 0 < tf < 1, got: %f", b);
			return -1;
		}
		if (n < 2)
			return 0;
		s0 = 0;
		s1 = v[0];
		cm = v[1] - v[0];	/* the trend */
		for (i = 1; i < n; i++) {
			x = a * v[i];
			if (i - 1 != 0)
				cm = b * (s1 - s0) + (1 - b) * cm;
			y = (1 - a) * (s1 + cm);
			s0 = s1;
			s1 = x + y;
		}
		*out = s1;
		return 1;
	}
	return 0;
}

/*
 * max_over_time and min_over_time in one pass: a deque of the window's
 * candidates, each better than every later one, so the front is the
 * answer.  Like Prometheus's loop it skips NaN unless the window holds
 * nothing else, and of equal values keeps the first.  Returns whether
 * any step got a value.
 */
static int
slide_extreme(struct ev *ev, const struct qmseries *ms,
    const struct qmat *mat, const struct qrange *r, int max, double *out)
{
	size_t	*dq, head = 0, tail = 0, lo = 0, hi = 0, k, nans = 0;
	int	 any = 0;

	dq = xreallocarray(NULL, ms->n + 1, sizeof(size_t));
	for (k = 0; k < r->n; k++) {
		int64_t ref = qr_ts(r, k) - mat->offset;

		while (hi < ms->n && ms->t[hi] <= ref) {
			double v = ms->v[hi];

			if (isnan(v))
				nans++;
			else {
				while (tail > head && (max ?
				    ms->v[dq[tail - 1]] < v :
				    ms->v[dq[tail - 1]] > v))
					tail--;
				dq[tail++] = hi;
			}
			hi++;
		}
		while (lo < hi && ms->t[lo] < ref - mat->range) {
			if (isnan(ms->v[lo]))
				nans--;
			else if (head < tail && dq[head] == lo)
				head++;
			lo++;
		}
		if (hi == lo)
			continue;
		out[k] = head < tail ? ms->v[dq[head]] : NAN;
		any = 1;
	}
	free(dq);
	(void)ev;
	(void)nans;
	return any;
}

/* The labels absent() and absent_over_time() give. */
struct qlset *
absent_labels(const struct q_expr *e)
{
	const struct q_vector_selector	*vs;
	struct label			 l[64];
	struct qlset			*ls, *t;
	size_t				 i, j, n = 0;

	while (e->kind == Q_PAREN)
		e = e->paren;
	if (e->kind == Q_MATRIX_SELECTOR)
		e = e->matrix.vs;
	if (e->kind != Q_VECTOR_SELECTOR)
		return qls_empty();
	vs = &e->vs;
	for (i = 0; i < vs->nmatchers && n < 64; i++) {
		const struct q_matcher *m = &vs->matchers[i];

		if (strcmp(m->name, "__name__") == 0 ||
		    m->type != Q_MATCH_EQUAL)
			continue;
		for (j = 0; j < n; j++)
			if (strcmp(l[j].name, m->name) == 0)
				break;
		if (j == n) {
			l[n].name = m->name;
			l[n++].value = m->value;
		}
	}
	ls = qls_new(l, n);
	/* A name matched any other way, or twice, is left out. */
	for (i = 0; i < vs->nmatchers; i++) {
		const struct q_matcher	*m = &vs->matchers[i];
		int			 first_eq = 0;

		if (strcmp(m->name, "__name__") == 0)
			continue;
		if (m->type == Q_MATCH_EQUAL) {
			for (j = 0; j < i; j++)
				if (strcmp(vs->matchers[j].name,
				    m->name) == 0 &&
				    vs->matchers[j].type == Q_MATCH_EQUAL)
					break;
			first_eq = j == i;
		}
		if (first_eq)
			continue;
		t = qls_set(ls, m->name, "");
		qls_unref(ls);
		ls = t;
	}
	return ls;
}

/*
 * rate, increase and delta (Prometheus's extrapolatedRate, operation for
 * operation, so the same values) in two passes: the first slides the
 * window and notes each one's ends and increase, the second does the
 * arithmetic in a loop whose iterations do not depend on each other, so
 * their divisions overlap and no branch guesses at data.  last_reset is
 * the last index j < hi with v[j] < v[j-1] (0: none), kept as the
 * window's end moves: a window [lo, hi) holds a counter reset iff it is
 * above lo, and only then are its samples scanned.
 */
static void
rwmemo_drop(struct rwins *w, struct rwmemo *m)
{
	w->mbytes -= m->bytes;
	free(m->t);
	free(m->lo);
	free(m->hi);
	free(m->k);
	free(m->tc);
	memset(m, 0, sizeof(*m));
}

static void
rwins_free(struct rwins *w)
{
	size_t	i;

	for (i = 0; i < RW_MEMOS; i++)
		rwmemo_drop(w, &w->m[i]);
	free(w->col);
	free(w->k);
	free(w->lo);
	free(w->hi);
	free(w->resets);
	memset(w, 0, sizeof(*w));
}

/* The windows slid over timestamps T[0, n) before, or NULL. */
static struct rwmemo *
rwmemo_find(struct rwins *w, const int64_t *t, size_t n)
{
	struct rwmemo	*m;
	size_t		 i;

	for (i = 0; i < RW_MEMOS; i++) {
		m = &w->m[i];
		if (m->t != NULL && m->n == n && m->t[0] == t[0] &&
		    m->t[n - 1] == t[n - 1] &&
		    memcmp(m->t, t, n * sizeof(*t)) == 0) {
			m->used = ++w->tick;
			return m;
		}
	}
	return NULL;
}

/* Keep the NW windows just slid over T[0, n) and their time columns
   (in W's col), in the place of the least recently used when full. */
static void
rwmemo_keep(struct rwins *w, const int64_t *t, size_t n, size_t nw)
{
	struct rwmemo	*m, *old;
	size_t		 i, tcap = (nw + RW_LANES - 1) / RW_LANES * RW_LANES;
	size_t		 bytes = n * sizeof(*t) + 3 * nw * sizeof(size_t) +
			    RW_TCOLS * tcap * sizeof(double);

	if (bytes > RW_MEMO_BYTES / 4)
		return;
	for (;;) {
		m = NULL;
		old = NULL;
		for (i = 0; i < RW_MEMOS; i++) {
			if (w->m[i].t == NULL) {
				if (m == NULL)
					m = &w->m[i];
			} else if (old == NULL || w->m[i].used < old->used)
				old = &w->m[i];
		}
		if (m != NULL && w->mbytes + bytes <= RW_MEMO_BYTES)
			break;
		rwmemo_drop(w, old);
	}
	m->t = xreallocarray(NULL, n, sizeof(*t));
	memcpy(m->t, t, n * sizeof(*t));
	m->n = n;
	m->nw = nw;
	m->lo = xreallocarray(NULL, nw ? nw : 1, sizeof(size_t));
	m->hi = xreallocarray(NULL, nw ? nw : 1, sizeof(size_t));
	m->k = xreallocarray(NULL, nw ? nw : 1, sizeof(size_t));
	memcpy(m->lo, w->lo, nw * sizeof(size_t));
	memcpy(m->hi, w->hi, nw * sizeof(size_t));
	memcpy(m->k, w->k, nw * sizeof(size_t));
	m->tcap = tcap;
	m->tc = xreallocarray(NULL, tcap ? RW_TCOLS * tcap : 1,
	    sizeof(double));
	for (i = 0; i < RW_TCOLS; i++)
		memcpy(m->tc + i * tcap, w->col + i * w->cap, tcap *
		    sizeof(double));
	m->bytes = bytes;
	m->used = ++w->tick;
	w->mbytes += bytes;
}

/* GCC's and Clang's vector extension: plain SSE2 does two lanes at once. */
typedef double	rw_vd __attribute__((vector_size(8 * RW_LANES)));
typedef int64_t	rw_vi __attribute__((vector_size(8 * RW_LANES)));

/* A where mask M is set, else B; and whether any lane of mask M is set.
   Macros: a function taking or returning a vector wider than the target's
   registers changes the ABI (clang refuses it). */
#define RW_PICK(m, a, b)						\
	((rw_vd)((((rw_vi)(a)) & (m)) | (((rw_vi)(b)) & ~(m))))
#if RW_LANES != 4
#error RW_ANY reads four lanes
#endif
#define RW_ANY(m)	(((m)[0] | (m)[1] | (m)[2] | (m)[3]) != 0)

/*
 * extrapolatedRate's arithmetic for windows [0, n) (n a multiple of
 * RW_LANES), from their time columns TC (RW_TCOLS columns of TCAP), first
 * values V0 and increases RES, into RES: the operations of Prometheus's
 * code, each lane on its own, so each value is what the scalar code
 * computes.
 */
/*
 * On x86-64 also built for AVX2, picked at load time where the CPU has
 * it: four divisions in one instruction where SSE2 does two.
 */
#if defined(__x86_64__) && defined(__linux__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define RW_CLONES	__attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef RW_CLONES
#define RW_CLONES
#endif

RW_CLONES static void
rate_lanes(const double *tc, size_t tcap, const double *v0, double *res,
    size_t n, int is_counter, int is_rate, double range_s)
{
	const double *ds = tc, *de = tc + tcap, *sp = tc + 2 * tcap;
	const double *av = tc + 3 * tcap;
	rw_vd	 k11, k2, rs, zero;
	rw_vi	 counter;
	size_t	 i, l;

	for (l = 0; l < RW_LANES; l++) {
		k11[l] = 1.1;
		k2[l] = 2;
		rs[l] = range_s;
		zero[l] = 0;
		counter[l] = is_counter ? -1 : 0;
	}
	for (i = 0; i < n; i += RW_LANES) {
		rw_vd	dstart, dend, sampled, avg, thresh, dzero, interval;
		rw_vd	factor, result, first, half;
		rw_vi	clamp, any;

		memcpy(&dstart, ds + i, sizeof(dstart));
		memcpy(&dend, de + i, sizeof(dend));
		memcpy(&sampled, sp + i, sizeof(sampled));
		memcpy(&avg, av + i, sizeof(avg));
		memcpy(&first, v0 + i, sizeof(first));
		memcpy(&result, res + i, sizeof(result));
		/*
		 * Where first >= result > 0, first / result rounds to at
		 * least 1 and dzero to at least sampled: no lane whose
		 * window also starts within its span needs the division
		 * (a counter that ran a while before the window).
		 */
		clamp = counter & (result > zero) & (first >= zero);
		any = clamp & ~((first >= result) & (sampled >= dstart));
		if (RW_ANY(any)) {
			dzero = sampled * (first / result);
			clamp &= dzero < dstart;
			dstart = RW_PICK(clamp, dzero, dstart);
		}
		thresh = avg * k11;
		half = avg / k2;
		interval = sampled;
		interval += RW_PICK(dstart < thresh, dstart, half);
		interval += RW_PICK(dend < thresh, dend, half);
		factor = interval / sampled;
		if (is_rate)
			factor = factor / rs;
		result = result * factor;
		memcpy(res + i, &result, sizeof(result));
	}
}

/*
 * The resets of counter V[0, n), j where v[j] < v[j - 1], into W's
 * resets: how many.  Most series have none, so eight pairs are compared
 * at a time (SSE2: the vector extension's comparisons come out scalar
 * without AVX) and only a block that holds one is scanned.  A NaN compares
 * false either way, as in the scalar test.
 */
static size_t
rate_resets(struct rwins *w, const double *v, size_t n)
{
	size_t	j = 1, e, nr = 0;

	while (j < n) {
		e = n;
#ifdef __SSE2__
		if (n - j >= 8) {
			__m128d	m;

			m = _mm_or_pd(_mm_cmplt_pd(_mm_loadu_pd(v + j),
			    _mm_loadu_pd(v + j - 1)), _mm_cmplt_pd(_mm_loadu_pd(
			    v + j + 2), _mm_loadu_pd(v + j + 1)));
			m = _mm_or_pd(m, _mm_or_pd(_mm_cmplt_pd(_mm_loadu_pd(v +
			    j + 4), _mm_loadu_pd(v + j + 3)), _mm_cmplt_pd(
			    _mm_loadu_pd(v + j + 6), _mm_loadu_pd(v + j + 5))));
			if (_mm_movemask_pd(m) == 0) {
				j += 8;
				continue;
			}
			e = j + 8;
		}
#endif
		for (; j < e; j++) {
			if (!(v[j] < v[j - 1]))
				continue;
			if (nr == w->resetcap) {
				w->resetcap = nr ? nr * 2 : 64;
				w->resets = xreallocarray(w->resets,
				    w->resetcap, sizeof(size_t));
			}
			w->resets[nr++] = j;
		}
	}
	return nr;
}

/*
 * rate, increase and delta (Prometheus's extrapolatedRate, operation for
 * operation, so the same values) in two passes: the first slides the
 * window and notes each one's ends and increase, the second does the
 * arithmetic several windows at once (rate_lanes): their divisions are
 * most of the time.  Only a window that holds a counter reset has its
 * samples scanned.
 */
static int
rate_series(struct mctx *c, const struct qmat *mat,
    const struct qmseries *ms, const struct qrange *r, double *out)
{
	const int64_t	*t = ms->t;
	const double	*v = ms->v;
	const size_t	*wlo, *whi, *wk;
	const double	*tc;
	size_t		 lo = 0, hi = 0, k, i, j, nw = 0, nr, p, tcap;
	size_t		 cap = (r->n + RW_LANES - 1) / RW_LANES * RW_LANES;
	int		 is_counter = c->fn != MF_DELTA;
	double		*col, *c4, *c5;
	struct rwmemo	*m;

	if (ms->n < 2)
		return 0;
	if (cap > c->w.cap) {
		c->w.cap = cap;
		c->w.col = xreallocarray(c->w.col, cap, RW_COLS *
		    sizeof(double));
		c->w.k = xreallocarray(c->w.k, cap, sizeof(size_t));
		c->w.lo = xreallocarray(c->w.lo, cap, sizeof(size_t));
		c->w.hi = xreallocarray(c->w.hi, cap, sizeof(size_t));
	}
	col = c->w.col;
	cap = c->w.cap;
	c4 = col + 4 * cap;
	c5 = col + 5 * cap;
	/* Which samples each window holds, and the time columns: from a
	   series slid before with the same timestamps, or made here. */
	if ((m = rwmemo_find(&c->w, t, ms->n)) != NULL) {
		wlo = m->lo;
		whi = m->hi;
		wk = m->k;
		nw = m->nw;
		tc = m->tc;
		tcap = m->tcap;
	} else {
		for (k = 0; k < r->n; k++) {
			int64_t ref = (mat->has_at ? mat->at : qr_ts(r, k)) -
			    mat->offset;

			while (hi < ms->n && t[hi] <= ref)
				hi++;
			while (lo < hi && t[lo] < ref - c->range)
				lo++;
			if (hi - lo < 2)
				continue;
			c->w.lo[nw] = lo;
			c->w.hi[nw] = hi;
			c->w.k[nw++] = k;
		}
		wlo = c->w.lo;
		whi = c->w.hi;
		wk = c->w.k;
		for (i = 0; i < nw; i++) {
			int64_t ref = (mat->has_at ? mat->at :
			    qr_ts(r, wk[i])) - mat->offset;
			double	sampled;

			lo = wlo[i];
			hi = whi[i];
			col[i] = (double)(t[lo] - (ref - c->range)) / 1000;
			col[cap + i] = (double)(ref - t[hi - 1]) / 1000;
			sampled = (double)(t[hi - 1] - t[lo]) / 1000;
			col[2 * cap + i] = sampled;
			col[3 * cap + i] = sampled / (double)(hi - lo - 1);
		}
		/* The last lanes' padding: any finite window. */
		for (; i % RW_LANES != 0; i++) {
			for (j = 0; j < 3; j++)
				col[j * cap + i] = (double)1 / 1000;
			col[3 * cap + i] = col[2 * cap + i] / 1;
		}
		rwmemo_keep(&c->w, t, ms->n, nw);
		tc = col;
		tcap = cap;
	}
	if (nw == 0)
		return 0;
	/* The counter's resets, j where v[j] < v[j - 1]: few, so a window
	   [lo, hi) finds whether it holds one (lo < j < hi) from the first
	   past lo, and windows only move forward. */
	nr = is_counter ? rate_resets(&c->w, v, ms->n) : 0;
	/*
	 * The resets in a local: the loop's stores (doubles) might
	 * otherwise alias C, and the compiler would load it again for every
	 * window.
	 */
	{
		const size_t	*resets = c->w.resets;

		for (i = 0, p = 0; i < nw; i++) {
			double	result, vl;

			lo = wlo[i];
			hi = whi[i];
			vl = v[lo];
			result = v[hi - 1] - vl;
			while (p < nr && resets[p] <= lo)
				p++;
			if (p < nr && resets[p] < hi) {
				double prev = vl;

				for (j = lo + 1; j < hi; j++) {
					if (v[j] < prev)
						result += prev;
					prev = v[j];
				}
			}
			c4[i] = vl;
			c5[i] = result;
		}
	}
	for (; i % RW_LANES != 0; i++)
		c4[i] = c5[i] = 1;
	rate_lanes(tc, tcap, c4, c5, i, is_counter, c->fn == MF_RATE,
	    c->range_s);
	for (i = 0; i < nw; i++)
		out[wk[i]] = c5[i];
	return 1;
}

/*
 * changes and resets from running counts: pre[j] is how many of the
 * sample pairs (i - 1, i), i <= j, count (a change, or a fall), so a
 * window [lo, hi) has pre[hi - 1] - pre[lo] of them, the count
 * mfn_apply's scan gives, in a step's time instead of a window's.
 */
static int
count_series(struct mctx *c, const struct qmat *mat,
    const struct qmseries *ms, const struct qrange *r, double *out)
{
	const double	*v = ms->v;
	double		*pre;
	size_t		 lo = 0, hi = 0, j, k;
	int		 any = 0;

	if (ms->n > c->scratch_cap) {
		c->scratch_cap = ms->n * 2;
		c->scratch = xreallocarray(c->scratch, c->scratch_cap,
		    sizeof(double));
	}
	pre = c->scratch;
	pre[0] = 0;
	for (j = 1; j < ms->n; j++) {
		int hit = c->fn == MF_RESETS ? v[j] < v[j - 1] :
		    v[j] != v[j - 1] && !(isnan(v[j]) && isnan(v[j - 1]));

		pre[j] = pre[j - 1] + hit;
	}
	for (k = 0; k < r->n; k++) {
		int64_t ref = (mat->has_at ? mat->at : qr_ts(r, k)) -
		    mat->offset;

		while (hi < ms->n && ms->t[hi] <= ref)
			hi++;
		while (lo < hi && ms->t[lo] < ref - c->range)
			lo++;
		if (hi == lo)
			continue;
		out[k] = pre[hi - 1] - pre[lo];
		any = 1;
	}
	return any;
}

/*
 * min, max, sum, count and avg_over_time over a series whose first
 * c->nagg points are rollup buckets: a bucket counts by its aggregate
 * (its min, its max, its sum, its count) where a raw sample counts by its
 * value, so avg is the sum of the sums over the sum of the counts.  A
 * window without a bucket is computed as on raw data only.  NaN as in
 * mfn_apply: skipped by min and max unless there is nothing else.
 */
static int
tier_series(struct mctx *c, const struct qmat *mat,
    const struct qmseries *ms, const struct qrange *r, double *out)
{
	const struct store_agg	*g = c->agg;
	size_t			 lo = 0, hi = 0, k, i;
	int			 any = 0;

	for (k = 0; k < r->n; k++) {
		int64_t	ts = qr_ts(r, k), ref;
		double	x, y, sum, csum, cnt;

		ref = (mat->has_at ? mat->at : ts) - mat->offset;
		while (hi < ms->n && ms->t[hi] <= ref)
			hi++;
		while (lo < hi && ms->t[lo] < ref - c->range)
			lo++;
		if (hi == lo)
			continue;
		any = 1;
		if (lo >= c->nagg) {
			mfn_apply(c, k, ts, ref, ms->t + lo, ms->v + lo,
			    hi - lo, &out[k]);
			continue;
		}
		x = NAN;
		sum = csum = cnt = 0;
		for (i = lo; i < hi; i++) {
			switch (c->fn) {
			case MF_MIN:
			case MF_MAX:
				y = i < c->nagg ? (c->fn == MF_MIN ?
				    g[i].min : g[i].max) : ms->v[i];
				if (isnan(x) || (c->fn == MF_MIN ? y < x :
				    y > x))
					x = y;
				break;
			default:
				kahan_inc(i < c->nagg ? g[i].sum : ms->v[i],
				    &sum, &csum);
				cnt += i < c->nagg ? g[i].count : 1;
				break;
			}
		}
		if (c->fn == MF_SUM || c->fn == MF_AVG)
			x = isinf(sum) ? sum : sum + csum;
		if (c->fn == MF_AVG)
			x /= cnt;
		else if (c->fn == MF_COUNT)
			x = cnt;
		out[k] = x;
	}
	return any;
}

/*
 * One series' windows into OUT (r->n slots, left absent where no point):
 * 1 when some step got a value, 0 when none, -1 on an error (only
 * holt_winters fails, on c->ev).
 */
static int
range_series(struct mctx *c, const struct qmat *mat,
    const struct qmseries *ms, const struct qrange *r, double *out)
{
	size_t	lo = 0, hi = 0, k;
	int	any = 0, rc;

	if (c->nagg > 0 && (c->fn == MF_MIN || c->fn == MF_MAX ||
	    c->fn == MF_SUM || c->fn == MF_COUNT || c->fn == MF_AVG))
		return tier_series(c, mat, ms, r, out);
	if ((c->fn == MF_MAX || c->fn == MF_MIN) && !mat->has_at)
		return slide_extreme(c->ev, ms, mat, r, c->fn == MF_MAX,
		    out) > 0;
	if (c->fn == MF_RATE || c->fn == MF_INCREASE || c->fn == MF_DELTA)
		return rate_series(c, mat, ms, r, out);
	if (c->fn == MF_CHANGES || c->fn == MF_RESETS)
		return count_series(c, mat, ms, r, out);
	for (k = 0; k < r->n; k++) {
		int64_t	ts = qr_ts(r, k), ref;
		double	x;

		ref = (mat->has_at ? mat->at : ts) - mat->offset;
		/*
		 * predict_linear() is not step-invariant, so Prometheus
		 * evaluates its @ window as an offset from the first step:
		 * the window moves with the steps.
		 */
		if (mat->has_at && c->fn == MF_PREDICT)
			ref += ts - r->start;
		while (hi < ms->n && ms->t[hi] <= ref)
			hi++;
		while (lo < hi && ms->t[lo] < ref - c->range)
			lo++;
		if (hi == lo)
			continue;
		rc = mfn_apply(c, k, ts, ref, ms->t + lo, ms->v + lo, hi - lo,
		    &x);
		if (rc < 0)
			return -1;
		if (rc > 0) {
			out[k] = x;
			any = 1;
		}
	}
	return any;
}

/* A share of the series of a range function for one thread. */
struct range_part {
	struct mctx		 c;
	const struct qmat	*mat;
	const struct qrange	*r;
	struct qseries		*out;		/* one per input series */
	char			*any;
	size_t			 from, to;
	int			 late;
};

static void *
range_part_run(void *arg)
{
	struct range_part	*p = arg;
	size_t			 i;

	for (i = p->from; i < p->to; i++) {
		if ((i & 15) == 0 && ev_time_over(p->c.ev)) {
			p->late = 1;
			break;
		}
		p->any[i] = range_series(&p->c, p->mat, &p->mat->s[i], p->r,
		    p->out[i].v) > 0;
	}
	return NULL;
}

/*
 * The series of a range function on several threads, when there are
 * enough points: every output series is made (and charged) first, in
 * input order, the threads fill their values, and the ones without any
 * go.  The same answer as one series after another.  0 when done (or
 * failed, with the error set), 1 when not worth it.
 */
static int
range_parallel(struct ev *ev, const struct mctx *c, const struct qmat *mat,
    const struct qrange *r, struct qvec *vec)
{
	struct range_part	 parts[EV_MAX_THREADS];
	uint64_t		 work = (uint64_t)mat->n * r->n;
	size_t			 i, j, per;
	char			*any;
	unsigned		 nt, k;
	int			 late = 0;

	for (i = 0; i < mat->n; i++)
		work += mat->s[i].n;
	/* Every output series is charged at once here: near the budget,
	   one after another, releasing the empty ones as they come. */
	if (c->fn == MF_HOLT || c->fn == MF_ABSENT ||
	    ev->samples > ev->max_samples ||
	    (uint64_t)mat->n * r->n > ev->max_samples - ev->samples ||
	    (nt = ev_threads(ev, mat->n, work)) < 2)
		return 1;
	for (i = 0; i < mat->n; i++) {
		const struct qmseries *ms = &mat->s[i];

		if (qvec_add(ev, vec, c->fn == MF_LAST ? qls_ref(ms->ls) :
		    qls_drop_name(ms->ls)) == NULL)
			return 0;
	}
	any = xcalloc(mat->n, 1);
	per = (mat->n + nt - 1) / nt;
	for (k = 0; k < nt; k++) {
		parts[k].c = *c;
		parts[k].c.scratch = NULL;
		parts[k].c.scratch_cap = 0;
		memset(&parts[k].c.w, 0, sizeof(parts[k].c.w));
		parts[k].mat = mat;
		parts[k].r = r;
		parts[k].out = vec->s + vec->n - mat->n;
		parts[k].any = any;
		parts[k].from = k * per < mat->n ? k * per : mat->n;
		parts[k].to = (k + 1) * per < mat->n ? (k + 1) * per : mat->n;
		parts[k].late = 0;
	}
	ev_run_parts(ev, nt, range_part_run, parts, sizeof(parts[0]));
	for (k = 0; k < nt; k++) {
		free(parts[k].c.scratch);
		rwins_free(&parts[k].c.w);
		late |= parts[k].late;
	}
	for (i = 0, j = vec->n - mat->n; i < mat->n; i++) {
		struct qseries *s = &vec->s[vec->n - mat->n + i];

		if (any[i]) {
			vec->s[j++] = *s;
			continue;
		}
		qls_unref(s->ls);
		free(s->v);
		ev_release(ev, r->n);
	}
	vec->n = j;
	free(any);
	if (late)
		ev_check_time(ev);
	return 0;
}

/* A range function's windows, slid over each series as it is read. */
struct fused_arg {
	struct mctx		 c;
	const struct qmat	*win;		/* range, offset and @ */
	const struct qrange	*r;
	struct qseries		*out;		/* one per series */
	char			*any;
};

static int
fused_series(void *arg, size_t i, const int64_t *t, const double *v,
    size_t n, const struct store_agg *agg, size_t nagg, size_t nhour)
{
	struct fused_arg	*a = arg;
	struct qmseries		 ms;

	(void)nhour;
	a->c.agg = agg;
	a->c.nagg = nagg;
	ms.ls = NULL;
	ms.t = (int64_t *)(uintptr_t)t;
	ms.v = (double *)(uintptr_t)v;
	ms.n = n;
	a->any[i] = range_series(&a->c, a->win, &ms, a->r, a->out[i].v) > 0;
	return 0;
}

static struct qlset *
label_last(struct qlset *ls)
{
	return qls_ref(ls);
}

/*
 * FN over a matrix selector without holding its samples: each series is
 * read into its thread's buffer and its windows computed from there (see
 * ev_stream), the output series made first in the selection's order.  The
 * same answer as reading the range vector and sliding over it.
 */
static struct qval *
eval_range_fused(struct ev *ev, const struct q_matrix_selector *msel,
    struct mctx *c, const struct qrange *r)
{
	const struct q_vector_selector	*vs = &msel->vs->vs;
	struct ev_sel			 sel;
	struct fused_arg		 args[EV_MAX_THREADS];
	struct qmat			 win;
	struct qval			*out;
	struct qseries			*first;
	int64_t				 at = 0, lo, hi;
	char				*any;
	unsigned			 k;

	memset(&win, 0, sizeof(win));
	win.has_at = ev_at_time(ev, &vs->at, &at);
	win.at = at;
	win.range = q_tclamp(msel->range);
	win.offset = q_tclamp(vs->offset);
	/* The samples eval_matrix_selector would read. */
	lo = (win.has_at ? at : r->start) - win.offset - win.range;
	hi = (win.has_at ? at : r->end) - win.offset;
	c->range = win.range;
	c->range_s = (double)c->range / 1000;
	if (ev_select(ev, vs, lo, hi, &sel) == -1)
		return NULL;
	out = qval_new(Q_TYPE_VECTOR);
	out->vec.nsteps = r->n;
	any = xcalloc(sel.n ? sel.n : 1, 1);
	if ((first = ev_sel_outputs(ev, &sel, &out->vec, c->fn == MF_LAST ?
	    label_last : qls_drop_name)) != NULL) {
		for (k = 0; k < EV_MAX_THREADS; k++) {
			args[k].c = *c;
			args[k].c.scratch = NULL;
			args[k].c.scratch_cap = 0;
			memset(&args[k].c.w, 0, sizeof(args[k].c.w));
			args[k].win = &win;
			args[k].r = r;
			args[k].out = first;
			args[k].any = any;
		}
		if (ev_stream(ev, &sel, 0, fused_series, args,
		    sizeof(args[0])) == 0)
			ev_sel_compact(ev, &out->vec, sel.n, any);
		for (k = 0; k < EV_MAX_THREADS; k++) {
			free(args[k].c.scratch);
			rwins_free(&args[k].c.w);
		}
	}
	free(any);
	ev_sel_free(&sel);
	if (ev->err == ENGINE_OK)
		qvec_merge(ev, &out->vec, 0, DUP_MSG);
	if (ev->err != ENGINE_OK) {
		qval_free(ev, out);
		return NULL;
	}
	return out;
}

static struct qval *
eval_range_fn(struct ev *ev, const struct q_expr *e, enum mfn fn,
    const struct qrange *r)
{
	const struct q_call	*call = &e->call;
	const struct q_expr	*arg;
	struct qval		*mv = NULL, *p1 = NULL, *p2 = NULL, *out;
	struct mctx		 c;
	size_t			 mi = 0, i, k;
	double			*absent_seen = NULL;

	if (fn == MF_QUANTILE)
		mi = 1;
	memset(&c, 0, sizeof(c));
	c.fn = fn;
	c.ev = ev;
	if (fn == MF_QUANTILE) {
		if ((p1 = ev_eval(ev, call->args[0], r)) == NULL)
			return NULL;
	} else if (fn == MF_PREDICT || fn == MF_HOLT) {
		if ((p1 = ev_eval(ev, call->args[1], r)) == NULL)
			return NULL;
		if (fn == MF_HOLT &&
		    (p2 = ev_eval(ev, call->args[2], r)) == NULL) {
			qval_free(ev, p1);
			return NULL;
		}
	}
	arg = call->args[mi];
	while (arg->kind == Q_PAREN)
		arg = arg->paren;
	/* holt_winters may fail midway, absent_over_time is one series. */
	if (arg->kind == Q_MATRIX_SELECTOR && fn != MF_ABSENT &&
	    fn != MF_HOLT) {
		c.p1 = p1 != NULL ? p1->sc : NULL;
		out = eval_range_fused(ev, &arg->matrix, &c, r);
		qval_free(ev, p1);
		return out;
	}
	if ((mv = ev_eval(ev, call->args[mi], r)) == NULL) {
		qval_free(ev, p1);
		qval_free(ev, p2);
		return NULL;
	}
	c.p1 = p1 != NULL ? p1->sc : NULL;
	c.p2 = p2 != NULL ? p2->sc : NULL;
	c.range = mv->mat.range;
	c.range_s = (double)c.range / 1000;
	out = qval_new(Q_TYPE_VECTOR);
	out->vec.nsteps = r->n;
	if (fn == MF_ABSENT) {
		absent_seen = xcalloc(r->n ? r->n : 1, sizeof(double));
	}
	if (fn != MF_ABSENT && range_parallel(ev, &c, &mv->mat, r,
	    &out->vec) == 0)
		i = mv->mat.n;
	else
		i = 0;
	for (; i < mv->mat.n && ev->err == ENGINE_OK; i++) {
		const struct qmseries	*ms = &mv->mat.s[i];
		struct qseries		*s;
		struct qlset		*ls;
		size_t			 lo = 0, hi = 0;

		if (ev_check_time(ev) == -1)
			break;
		if (fn == MF_ABSENT) {
			for (k = 0; k < r->n; k++) {
				int64_t ref = (mv->mat.has_at ? mv->mat.at :
				    qr_ts(r, k)) - mv->mat.offset;

				while (hi < ms->n && ms->t[hi] <= ref)
					hi++;
				while (lo < hi && ms->t[lo] < ref - c.range)
					lo++;
				if (hi > lo)
					absent_seen[k] = 1;
			}
			continue;
		}
		ls = fn == MF_LAST ? qls_ref(ms->ls) : qls_drop_name(ms->ls);
		if ((s = qvec_add(ev, &out->vec, ls)) == NULL)
			break;
		if (range_series(&c, &mv->mat, ms, r, s->v) <= 0) {
			qls_unref(s->ls);
			free(s->v);
			out->vec.n--;
			ev_release(ev, r->n);
		}
	}
	free(c.scratch);
	rwins_free(&c.w);
	if (fn == MF_ABSENT && ev->err == ENGINE_OK) {
		struct qseries *s;

		if ((s = qvec_add(ev, &out->vec,
		    absent_labels(call->args[0]))) != NULL) {
			for (k = 0; k < r->n; k++)
				if (absent_seen[k] == 0)
					s->v[k] = 1;
			qvec_compact(ev, &out->vec);
		}
	}
	free(absent_seen);
	qval_free(ev, mv);
	qval_free(ev, p1);
	qval_free(ev, p2);
	if (ev->err == ENGINE_OK)
		qvec_merge(ev, &out->vec, 0, DUP_MSG);
	if (ev->err != ENGINE_OK) {
		qval_free(ev, out);
		return NULL;
	}
	return out;
}

enum datefn { D_DOM, D_DOW, D_DOY, D_DIM, D_HOUR, D_MINUTE, D_MONTH,
	D_YEAR };

static int
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Go's int64(float64) on amd64: out of range and NaN give INT64_MIN. */
static int64_t
go_int64(double v)
{
	if (isnan(v) || v >= 9223372036854775808.0 ||
	    v < -9223372036854775808.0)
		return INT64_MIN;
	return (int64_t)v;
}

/*
 * time.Unix(secs, 0).UTC() and its calendar fields, in Go's own unsigned
 * arithmetic from its "absolute" epoch, so that even the years of NaN or
 * overflowing timestamps come out as Prometheus prints them.
 */
static double
date_value(enum datefn f, int64_t secs)
{
	static const int before[] = { 0, 31, 59, 90, 120, 151, 181, 212, 243,
	    273, 304, 334, 365 };
	const uint64_t	per400 = 146097, per100 = 36524, per4 = 1461;
	uint64_t	abs, d, n, y;
	int64_t		year;
	int		yday, day, month, end, begin;

	abs = (uint64_t)secs + 9223372028715321600ULL;
	switch (f) {
	case D_HOUR:
		return (double)(abs % 86400 / 3600);
	case D_MINUTE:
		return (double)(abs % 3600 / 60);
	case D_DOW:
		return (double)((abs + 86400) % 604800 / 86400);
	default:
		break;
	}
	d = abs / 86400;
	n = d / per400;
	y = 400 * n;
	d -= per400 * n;
	n = d / per100;
	n -= n >> 2;
	y += 100 * n;
	d -= per100 * n;
	n = d / per4;
	y += 4 * n;
	d -= per4 * n;
	n = d / 365;
	n -= n >> 2;
	y += n;
	d -= 365 * n;
	year = (int64_t)y - 292277022399LL;
	yday = (int)d;
	if (f == D_YEAR)
		return (double)year;
	if (f == D_DOY)
		return yday + 1;
	day = yday;
	if (is_leap(year)) {
		if (day > 31 + 29 - 1)
			day--;
		else if (day == 31 + 29 - 1) {
			month = 2;
			day = 29;
			goto done;
		}
	}
	month = day / 31;
	end = before[month + 1];
	if (day >= end) {
		month++;
		begin = end;
	} else
		begin = before[month];
	month++;
	day = day - begin + 1;
done:
	if (f == D_DOM)
		return day;
	if (f == D_MONTH)
		return month;
	/* days_in_month */
	if (month == 2)
		return is_leap(year) ? 29 : 28;
	return month == 4 || month == 6 || month == 9 || month == 11 ? 30 : 31;
}

static double
f_deg(double v)
{
	return v * 180 / M_PI;
}

static double
f_rad(double v)
{
	return v * M_PI / 180;
}

static double
f_sgn(double v)
{
	return v < 0 ? -1 : v > 0 ? 1 : v;
}

typedef double (*math_func)(double);

static const struct {
	const char	*name;
	math_func	 f;
} math_fns[] = {
	{ "abs", fabs }, { "ceil", ceil }, { "floor", floor }, { "exp", exp },
	{ "sqrt", sqrt }, { "ln", log }, { "log2", log2 }, { "log10", log10 },
	{ "sin", sin }, { "cos", cos }, { "tan", tan }, { "asin", asin },
	{ "acos", acos }, { "atan", atan }, { "sinh", sinh }, { "cosh", cosh },
	{ "tanh", tanh }, { "asinh", asinh }, { "acosh", acosh },
	{ "atanh", atanh }, { "deg", f_deg }, { "rad", f_rad },
	{ "sgn", f_sgn },
};

static math_func
math_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(math_fns) / sizeof(math_fns[0]); i++)
		if (strcmp(math_fns[i].name, name) == 0)
			return math_fns[i].f;
	return NULL;
}

/* Replace every series' labels by F(labels), then merge per step. */
static int
relabel_drop_name(struct ev *ev, struct qvec *vec)
{
	size_t i;

	for (i = 0; i < vec->n; i++) {
		struct qlset *ls = qls_drop_name(vec->s[i].ls);

		qls_unref(vec->s[i].ls);
		vec->s[i].ls = ls;
	}
	return qvec_merge(ev, vec, 1, DUP_MSG);
}

/* Go's regexp Expand template: $1 ${1} $name ${name} $$. */
static void
expand_template(const char *tmpl, const char *src, const PCRE2_SIZE *ov,
    int nmatch, const pcre2_code *re, struct buf *out)
{
	const char *p = tmpl;

	while (*p != '\0') {
		const char	*name;
		size_t		 nlen;
		char		 nbuf[128];
		int		 num = -1;

		if (*p != '$') {
			buf_addc(out, *p++);
			continue;
		}
		p++;
		if (*p == '$') {
			buf_addc(out, '$');
			p++;
			continue;
		}
		if (*p == '{') {
			const char *q = p + 1;

			name = q;
			while (*q == '_' || (*q >= 'a' && *q <= 'z') ||
			    (*q >= 'A' && *q <= 'Z') ||
			    (*q >= '0' && *q <= '9'))
				q++;
			if (*q != '}' || q == name) {
				/* Not a reference: Go keeps "$" literally. */
				buf_addc(out, '$');
				continue;
			}
			nlen = (size_t)(q - name);
			p = q + 1;
		} else {
			const char *q = p;

			name = q;
			while (*q == '_' || (*q >= 'a' && *q <= 'z') ||
			    (*q >= 'A' && *q <= 'Z') ||
			    (*q >= '0' && *q <= '9'))
				q++;
			if (q == name) {
				buf_addc(out, '$');
				continue;
			}
			nlen = (size_t)(q - name);
			p = q;
		}
		if (nlen >= sizeof(nbuf))
			continue;
		memcpy(nbuf, name, nlen);
		nbuf[nlen] = '\0';
		if (strspn(nbuf, "0123456789") == nlen) {
			/* Go parses the number; an overflow is no group. */
			num = nlen > 9 ? -1 : atoi(nbuf);
		} else
			num = pcre2_substring_number_from_name(re,
			    (PCRE2_SPTR)nbuf);
		if (num >= 0 && num < nmatch && ov[2 * num] != PCRE2_UNSET)
			buf_add(out, src + ov[2 * num],
			    ov[2 * num + 1] - ov[2 * num]);
	}
}

static struct qval *
eval_label_replace(struct ev *ev, const struct q_call *call,
    struct qval *v)
{
	const char		*dst = call->args[1]->string.s;
	const char		*repl = call->args[2]->string.s;
	const char		*src = call->args[3]->string.s;
	const struct q_string	*rs = &call->args[4]->string;
	struct buf		 pat = BUF_INIT, res = BUF_INIT;
	pcre2_code		*re;
	pcre2_match_data	*md;
	int			 ecode;
	PCRE2_SIZE		 eoff;
	size_t			 i;

	buf_adds(&pat, "^(?:");
	buf_add(&pat, rs->s, rs->len);
	buf_adds(&pat, ")$");
	re = pcre2_compile((PCRE2_SPTR)pat.data, pat.len, PCRE2_UTF |
	    PCRE2_DOLLAR_ENDONLY, &ecode, &eoff, NULL);
	buf_free(&pat);
	if (re == NULL) {
		qval_free(ev, v);
		return ev_fail(ev, ENGINE_EXECUTION, "invalid regular "
		    "expression in label_replace(): %s", rs->s);
	}
	if (!label_name_valid(dst)) {
		pcre2_code_free(re);
		qval_free(ev, v);
		return ev_fail(ev, ENGINE_EXECUTION, "invalid destination "
		    "label name in label_replace(): %s", dst);
	}
	md = pcre2_match_data_create_from_pattern(re, NULL);
	for (i = 0; i < v->vec.n; i++) {
		struct qseries	*s = &v->vec.s[i];
		const char	*sv = qls_get(s->ls, src);
		struct qlset	*ls;
		int		 rc;

		rc = pcre2_match(re, (PCRE2_SPTR)sv, strlen(sv), 0, 0, md,
		    NULL);
		if (rc < 0)
			continue;
		buf_reset(&res);
		expand_template(repl, sv, pcre2_get_ovector_pointer(md),
		    (int)pcre2_get_ovector_count(md), re, &res);
		ls = qls_set(s->ls, dst, res.data ? res.data : "");
		qls_unref(s->ls);
		s->ls = ls;
	}
	buf_free(&res);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	if (qvec_merge(ev, &v->vec, 1, DUP_MSG) == -1) {
		qval_free(ev, v);
		return NULL;
	}
	return v;
}

static struct qval *
eval_label_join(struct ev *ev, const struct q_call *call, struct qval *v)
{
	const char	*dst = call->args[1]->string.s;
	const char	*sep = call->args[2]->string.s;
	struct buf	 res = BUF_INIT;
	size_t		 i, j;

	for (j = 3; j < call->nargs; j++)
		if (!label_name_valid(call->args[j]->string.s)) {
			qval_free(ev, v);
			return ev_fail(ev, ENGINE_EXECUTION, "invalid source "
			    "label name in label_join(): %s",
			    call->args[j]->string.s);
		}
	if (!label_name_valid(dst)) {
		qval_free(ev, v);
		return ev_fail(ev, ENGINE_EXECUTION, "invalid destination "
		    "label name in label_join(): %s", dst);
	}
	for (i = 0; i < v->vec.n; i++) {
		struct qseries	*s = &v->vec.s[i];
		struct qlset	*ls;

		buf_reset(&res);
		for (j = 3; j < call->nargs; j++) {
			if (j > 3)
				buf_adds(&res, sep);
			buf_adds(&res, qls_get(s->ls,
			    call->args[j]->string.s));
		}
		ls = qls_set(s->ls, dst, res.data ? res.data : "");
		qls_unref(s->ls);
		s->ls = ls;
	}
	buf_free(&res);
	if (qvec_merge(ev, &v->vec, 1, DUP_MSG) == -1) {
		qval_free(ev, v);
		return NULL;
	}
	return v;
}

struct sort_ent {
	double	v;
	size_t	i;
};

static int
sort_asc(const void *a, const void *b)
{
	const struct sort_ent *x = a, *y = b;

	/* NaN last. */
	if (isnan(x->v) || isnan(y->v))
		return isnan(x->v) - isnan(y->v);
	return x->v < y->v ? -1 : x->v > y->v;
}

static int
sort_desc(const void *a, const void *b)
{
	const struct sort_ent *x = a, *y = b;

	if (isnan(x->v) || isnan(y->v))
		return isnan(x->v) - isnan(y->v);
	return x->v > y->v ? -1 : x->v < y->v;
}

static void
sort_instant(struct qvec *vec, int desc)
{
	struct sort_ent	*e;
	struct qseries	*s;
	size_t		 i;

	if (vec->nsteps != 1 || vec->n < 2)
		return;
	e = xreallocarray(NULL, vec->n, sizeof(*e));
	for (i = 0; i < vec->n; i++) {
		e[i].v = vec->s[i].v[0];
		e[i].i = i;
	}
	qsort(e, vec->n, sizeof(*e), desc ? sort_desc : sort_asc);
	s = xreallocarray(NULL, vec->n, sizeof(*s));
	for (i = 0; i < vec->n; i++)
		s[i] = vec->s[e[i].i];
	memcpy(vec->s, s, vec->n * sizeof(*s));
	free(s);
	free(e);
}

enum elem_op {
	E_NONE, E_MATH, E_ROUND, E_CLAMP, E_CLAMP_MAX, E_CLAMP_MIN,
	E_TIMESTAMP, E_DATE,
};

static int
date_fn(const char *name, enum datefn *f)
{
	static const struct {
		const char	*name;
		enum datefn	 f;
	} t[] = {
		{ "day_of_month", D_DOM }, { "day_of_week", D_DOW },
		{ "day_of_year", D_DOY }, { "days_in_month", D_DIM },
		{ "hour", D_HOUR }, { "minute", D_MINUTE },
		{ "month", D_MONTH }, { "year", D_YEAR },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(t[i].name, name) == 0) {
			*f = t[i].f;
			return 1;
		}
	return 0;
}

static enum elem_op
elem_op(const char *name, enum datefn *df)
{
	if (math_lookup(name) != NULL)
		return E_MATH;
	if (strcmp(name, "round") == 0)
		return E_ROUND;
	if (strcmp(name, "clamp") == 0)
		return E_CLAMP;
	if (strcmp(name, "clamp_max") == 0)
		return E_CLAMP_MAX;
	if (strcmp(name, "clamp_min") == 0)
		return E_CLAMP_MIN;
	if (strcmp(name, "timestamp") == 0)
		return E_TIMESTAMP;
	if (date_fn(name, df))
		return E_DATE;
	return E_NONE;
}

struct qval *
ev_call(struct ev *ev, const struct q_expr *e, const struct qrange *r)
{
	const struct q_call	*call = &e->call;
	const char		*name = call->func->name;
	struct qval		*v, *a1 = NULL, *a2 = NULL;
	enum elem_op		 op;
	enum datefn		 df = D_DOM;
	math_func		 mf = math_lookup(name);
	size_t			 i, k;

	for (i = 0; i < sizeof(mfns) / sizeof(mfns[0]); i++)
		if (strcmp(mfns[i].name, name) == 0)
			return eval_range_fn(ev, e, mfns[i].fn, r);
	if (strcmp(name, "time") == 0) {
		if ((v = qval_scalar(ev, r, 0)) != NULL)
			for (k = 0; k < r->n; k++)
				v->sc[k] = (double)qr_ts(r, k) / 1000;
		return v;
	}
	if (strcmp(name, "pi") == 0)
		return qval_scalar(ev, r, M_PI);
	if (strcmp(name, "vector") == 0) {
		struct qseries *s;

		if ((a1 = ev_eval(ev, call->args[0], r)) == NULL)
			return NULL;
		v = qval_new(Q_TYPE_VECTOR);
		v->vec.nsteps = r->n;
		if ((s = qvec_add(ev, &v->vec, qls_empty())) != NULL)
			memcpy(s->v, a1->sc, r->n * sizeof(double));
		qval_free(ev, a1);
		if (ev->err != ENGINE_OK) {
			qval_free(ev, v);
			return NULL;
		}
		return v;
	}
	if (call->nargs == 0) {
		/* The date functions of the current time. */
		struct qseries	*s;
		enum datefn	 f;

		if (!date_fn(name, &f))
			return ev_fail(ev, ENGINE_INTERNAL, "function %s not "
			    "implemented", name);
		v = qval_new(Q_TYPE_VECTOR);
		v->vec.nsteps = r->n;
		if ((s = qvec_add(ev, &v->vec, qls_empty())) == NULL) {
			qval_free(ev, v);
			return NULL;
		}
		for (k = 0; k < r->n; k++)
			s->v[k] = date_value(f, qr_ts(r, k) / 1000);
		return v;
	}
	/* Scalar arguments first, as Prometheus's rangeEval does. */
	if (strcmp(name, "histogram_quantile") == 0 ||
	    strcmp(name, "histogram_fraction") == 0) {
		if ((a1 = ev_eval(ev, call->args[0], r)) == NULL)
			return NULL;
		if (strcmp(name, "histogram_fraction") == 0) {
			if ((a2 = ev_eval(ev, call->args[1], r)) == NULL) {
				qval_free(ev, a1);
				return NULL;
			}
		}
		v = ev_eval(ev, call->args[call->nargs - 1], r);
		if (v == NULL) {
			qval_free(ev, a1);
			qval_free(ev, a2);
			return NULL;
		}
		if (a2 != NULL) {
			/* Only native histograms have fractions. */
			qval_free(ev, a1);
			qval_free(ev, a2);
			qvec_clear(ev, &v->vec);
			return v;
		}
		v = ev_histogram_quantile(ev, a1->sc, v, r);
		qval_free(ev, a1);
		return v;
	}
	if ((v = ev_eval(ev, call->args[0], r)) == NULL)
		return NULL;
	if (call->nargs > 1 && call->args[1]->kind != Q_STRING &&
	    (a1 = ev_eval(ev, call->args[1], r)) == NULL) {
		qval_free(ev, v);
		return NULL;
	}
	if (call->nargs > 2 && call->args[2]->kind != Q_STRING &&
	    (a2 = ev_eval(ev, call->args[2], r)) == NULL) {
		qval_free(ev, v);
		qval_free(ev, a1);
		return NULL;
	}
	if (strcmp(name, "scalar") == 0) {
		struct qval *sv = qval_scalar(ev, r, NAN);

		if (sv != NULL) {
			for (k = 0; k < r->n; k++) {
				size_t cnt = 0;
				double x = NAN;

				for (i = 0; i < v->vec.n; i++)
					if (!q_absent(v->vec.s[i].v[k])) {
						cnt++;
						x = v->vec.s[i].v[k];
					}
				sv->sc[k] = cnt == 1 ? x : NAN;
			}
		}
		qval_free(ev, v);
		return sv;
	}
	if (strcmp(name, "absent") == 0) {
		struct qval	*out = qval_new(Q_TYPE_VECTOR);
		struct qseries	*s;

		out->vec.nsteps = r->n;
		if ((s = qvec_add(ev, &out->vec,
		    absent_labels(call->args[0]))) != NULL) {
			for (k = 0; k < r->n; k++) {
				for (i = 0; i < v->vec.n; i++)
					if (!q_absent(v->vec.s[i].v[k]))
						break;
				if (i == v->vec.n)
					s->v[k] = 1;
			}
			qvec_compact(ev, &out->vec);
		}
		qval_free(ev, v);
		if (ev->err != ENGINE_OK) {
			qval_free(ev, out);
			return NULL;
		}
		return out;
	}
	if (strcmp(name, "sort") == 0 || strcmp(name, "sort_desc") == 0) {
		sort_instant(&v->vec, strcmp(name, "sort_desc") == 0);
		return v;
	}
	if (strcmp(name, "label_replace") == 0)
		return eval_label_replace(ev, call, v);
	if (strcmp(name, "label_join") == 0)
		return eval_label_join(ev, call, v);
	if (strcmp(name, "histogram_count") == 0 ||
	    strcmp(name, "histogram_sum") == 0) {
		/* Float samples are not native histograms: nothing. */
		qvec_clear(ev, &v->vec);
		return v;
	}
	if ((op = elem_op(name, &df)) == E_NONE) {
		qval_free(ev, v);
		qval_free(ev, a1);
		qval_free(ev, a2);
		return ev_fail(ev, ENGINE_INTERNAL, "function %s not "
		    "implemented", name);
	}
	for (i = 0; i < v->vec.n; i++) {
		double *x = v->vec.s[i].v;

		for (k = 0; k < r->n; k++) {
			double y;

			if (q_absent(x[k]))
				continue;
			switch (op) {
			case E_MATH:
				y = mf(x[k]);
				break;
			case E_ROUND: {
				double inv = 1.0 / (a1 != NULL ? a1->sc[k] : 1);

				y = floor(x[k] * inv + 0.5) / inv;
				break;
			}
			case E_CLAMP:
				if (a2->sc[k] < a1->sc[k]) {
					x[k] = q_absent_value();
					continue;
				}
				y = q_go_max(a1->sc[k], q_go_min(a2->sc[k], x[k]));
				break;
			case E_CLAMP_MAX:
				y = q_go_min(a1->sc[k], x[k]);
				break;
			case E_CLAMP_MIN:
				y = q_go_max(a1->sc[k], x[k]);
				break;
			case E_TIMESTAMP:
				y = (double)qr_ts(r, k) / 1000;
				break;
			default:
				y = date_value(df, go_int64(x[k]));
				break;
			}
			x[k] = y;
		}
	}
	qval_free(ev, a1);
	qval_free(ev, a2);
	qvec_compact(ev, &v->vec);
	if (relabel_drop_name(ev, &v->vec) == -1) {
		qval_free(ev, v);
		return NULL;
	}
	return v;
}
