/*
 * eval: the core of the PromQL evaluator (engine.h): the dispatch over the
 * syntax tree, selectors, subqueries, unary minus, the sample budget and
 * deadline, and the conversion of the top-level value into a result.
 *
 * Evaluation is series-major.  A selector reads each matching series once
 * for the whole query (every step's lookback or window included) into one
 * array, a buffer its thread reuses for the next series; a vector selector
 * then walks the steps with a cursor that only moves forward, and a range
 * function over a selector slides its window over the array, both filling
 * their output series straight from it (ev_stream).  Only a range vector
 * kept as a value (a matrix result, holt_winters, absent_over_time) gets
 * arrays of its own.  The other nodes (functions.c, aggr.c, binop.c)
 * combine whole series.
 * Where a series' raw samples are gone (raw retention), the store puts
 * its rollup buckets in front of them (store_titer, storage/store.h): one
 * point each, its last value, with the bucket's aggregate beside it for
 * the range functions that can use it (functions_eval.c, tier_series);
 * an instant selector looks back to such a point for at least its
 * bucket's width, to a raw sample for the lookback (vsel_series).
 * This gives the same answers as Prometheus's step-by-step evaluation:
 * where Prometheus checks something per step (duplicate label sets, vector
 * matching), the check looks at each step's slots.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "query/engine.h"
#include "query/parser.h"
#include "query/pool.h"
#include "query/value.h"
#include "storage/store.h"
#include "xmalloc.h"

struct engine {
	struct store		*st;
	struct engine_opts	 opts;
	long			 ncpu;	/* asked once: glibc reads a file */
	struct pool		*pool;	/* runs the parts beyond the first */
};

static int64_t
now_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void *
ev_fail(struct ev *ev, int kind, const char *fmt, ...)
{
	va_list ap;

	if (ev->err != ENGINE_OK)
		return NULL;
	ev->err = kind;
	va_start(ap, fmt);
	vsnprintf(ev->msg, sizeof(ev->msg), fmt, ap);
	va_end(ap);
	return NULL;
}

int
ev_charge(struct ev *ev, uint64_t n)
{
	if (ev->err != ENGINE_OK)
		return -1;
	if (n > ev->max_samples || ev->samples > ev->max_samples - n) {
		ev_fail(ev, ENGINE_EXECUTION, "query processing would load "
		    "too many samples into memory in query execution");
		return -1;
	}
	ev->samples += n;
	return 0;
}

void
ev_release(struct ev *ev, uint64_t n)
{
	/* Loader threads release concurrently; never below zero. */
	__atomic_sub_fetch(&ev->samples, n, __ATOMIC_RELAXED);
}

int
ev_check_time(struct ev *ev)
{
	if (ev->err != ENGINE_OK)
		return -1;
	if (ev->deadline > 0 && now_mono_ms() > ev->deadline) {
		ev_fail(ev, ENGINE_TIMEOUT, "query timed out in expression "
		    "evaluation");
		return -1;
	}
	return 0;
}

double
q_go_max(double a, double b)
{
	if (isinf(a) && a > 0)
		return a;
	if (isinf(b) && b > 0)
		return b;
	if (isnan(a) || isnan(b))
		return NAN;
	if (a == 0 && b == 0)
		return signbit(a) ? b : a;
	return a > b ? a : b;
}

double
q_go_min(double a, double b)
{
	if (isinf(a) && a < 0)
		return a;
	if (isinf(b) && b < 0)
		return b;
	if (isnan(a) || isnan(b))
		return NAN;
	if (a == 0 && b == 0)
		return signbit(a) ? a : b;
	return a < b ? a : b;
}

struct qval *
qval_new(enum q_type type)
{
	struct qval *v = xcalloc(1, sizeof(*v));

	v->type = type;
	return v;
}

struct qval *
qval_scalar(struct ev *ev, const struct qrange *r, double x)
{
	struct qval	*v;
	size_t		 k;

	if (ev_charge(ev, r->n) == -1)
		return NULL;
	v = qval_new(Q_TYPE_SCALAR);
	v->sc = xreallocarray(NULL, r->n ? r->n : 1, sizeof(double));
	for (k = 0; k < r->n; k++)
		v->sc[k] = x;
	v->vec.nsteps = r->n;
	return v;
}

struct qseries *
qvec_add(struct ev *ev, struct qvec *vec, struct qlset *ls)
{
	struct qseries	*s;
	double		 a = q_absent_value();
	size_t		 k;

	if (ev_charge(ev, vec->nsteps) == -1) {
		qls_unref(ls);
		return NULL;
	}
	if (vec->n == vec->cap) {
		vec->cap = vec->cap ? vec->cap * 2 : 8;
		vec->s = xreallocarray(vec->s, vec->cap, sizeof(*vec->s));
	}
	s = &vec->s[vec->n++];
	s->ls = ls;
	s->v = xreallocarray(NULL, vec->nsteps ? vec->nsteps : 1,
	    sizeof(double));
	for (k = 0; k < vec->nsteps; k++)
		s->v[k] = a;
	return s;
}

static int
series_empty(const struct qseries *s, size_t nsteps)
{
	size_t k;

	for (k = 0; k < nsteps; k++)
		if (!q_absent(s->v[k]))
			return 0;
	return 1;
}

void
qvec_compact(struct ev *ev, struct qvec *vec)
{
	size_t i, j;

	for (i = j = 0; i < vec->n; i++) {
		if (series_empty(&vec->s[i], vec->nsteps)) {
			qls_unref(vec->s[i].ls);
			free(vec->s[i].v);
			ev_release(ev, vec->nsteps);
		} else
			vec->s[j++] = vec->s[i];
	}
	vec->n = j;
}

int
qvec_merge(struct ev *ev, struct qvec *vec, int per_step, const char *msg)
{
	struct qmap	 m = { NULL, 0, 0 };
	struct buf	 key = BUF_INIT;
	size_t		 i, j, k, first;
	int		 dup = 0;

	if (vec->n < 2)
		return 0;
	for (i = j = 0; i < vec->n; i++) {
		buf_reset(&key);
		qls_key(vec->s[i].ls, &key);
		first = qmap_put(&m, key.data ? key.data : "", key.len, j);
		if (first == j) {
			vec->s[j++] = vec->s[i];
			continue;
		}
		dup = 1;
		if (!per_step)
			break;
		for (k = 0; k < vec->nsteps; k++) {
			if (q_absent(vec->s[i].v[k]))
				continue;
			if (!q_absent(vec->s[first].v[k])) {
				qmap_free(&m);
				buf_free(&key);
				/* Keep the vector consistent for freeing. */
				for (; i < vec->n; i++)
					vec->s[j++] = vec->s[i];
				vec->n = j;
				ev_fail(ev, ENGINE_EXECUTION, "%s", msg);
				return -1;
			}
			vec->s[first].v[k] = vec->s[i].v[k];
		}
		qls_unref(vec->s[i].ls);
		free(vec->s[i].v);
		ev_release(ev, vec->nsteps);
	}
	qmap_free(&m);
	buf_free(&key);
	if (dup && !per_step) {
		for (; i < vec->n; i++)
			vec->s[j++] = vec->s[i];
		vec->n = j;
		ev_fail(ev, ENGINE_EXECUTION, "%s", msg);
		return -1;
	}
	vec->n = j;
	return 0;
}

void
qvec_clear(struct ev *ev, struct qvec *vec)
{
	size_t i;

	for (i = 0; i < vec->n; i++) {
		qls_unref(vec->s[i].ls);
		free(vec->s[i].v);
	}
	ev_release(ev, (uint64_t)vec->n * vec->nsteps);
	free(vec->s);
	vec->s = NULL;
	vec->n = vec->cap = 0;
}

void
qmat_clear(struct ev *ev, struct qmat *mat)
{
	size_t i;

	for (i = 0; i < mat->n; i++) {
		qls_unref(mat->s[i].ls);
		free(mat->s[i].t);
		free(mat->s[i].v);
		ev_release(ev, mat->s[i].n);
	}
	free(mat->s);
	mat->s = NULL;
	mat->n = mat->cap = 0;
}

void
qval_free(struct ev *ev, struct qval *v)
{
	if (v == NULL)
		return;
	if (v->sc != NULL) {
		free(v->sc);
		ev_release(ev, v->vec.nsteps);
	} else
		qvec_clear(ev, &v->vec);
	qmat_clear(ev, &v->mat);
	free(v->str);
	free(v);
}

/* The reference time of a selector with an @ modifier. */
int
ev_at_time(const struct ev *ev, const struct q_at *at, int64_t *t)
{
	switch (at->kind) {
	case Q_AT_TIME:
		*t = q_tclamp(at->ms);
		return 1;
	case Q_AT_START:
		*t = ev->qstart;
		return 1;
	case Q_AT_END:
		*t = ev->qend;
		return 1;
	default:
		return 0;
	}
}

/*
 * Reading series: a selection's series are read one after another, each
 * into a buffer its thread reuses, and handed to a consumer that turns
 * them into what the query keeps (a vector selector's steps, a range
 * function's windows, or a copy for a range vector).  So the samples of a
 * whole selection are never held at once, and the buffer stays in the
 * cache and in memory already mapped: fresh arrays per series cost more in
 * page faults than decoding them.  Several threads may share the set,
 * each taking the next series as it goes, since decoding chunks is most
 * of a query's time and store readers may run concurrently.  Each part charges the samples
 * of its series to the shared budget atomically while it holds them.
 */
struct stream_part {
	struct ev		*ev;
	const struct ev_sel	*sel;
	int			 keep_stale;
	struct store_cols	*cols;		/* this part's alone */
	size_t			*next;		/* the next series to read,
						   shared by the parts */
	size_t			 to;		/* the end of the selection */
	int			*stop;		/* shared: a part failed */
	size_t			 done;
	ev_stream_fn		 fn;
	void			*arg;
	int64_t			*t;		/* the buffer */
	double			*v;
	size_t			 cap;
	struct store_agg	*agg;		/* of the series' tier points */
	size_t			 acap;
	size_t			 last;		/* samples of the last series */
	int			 failed;	/* 1 budget, 2 time,
						   3 read error */
	char			 err[256];
};

static int
load_charge(struct ev *ev, uint64_t n)
{
	uint64_t now = __atomic_add_fetch(&ev->samples, n, __ATOMIC_RELAXED);

	return now > ev->max_samples ? -1 : 0;
}

/*
 * Drop staleness markers (unless keep_stale) from V[from, to), moving
 * the rest down to FROM; other NaNs become the one NaN Go prints.
 * Returns the new end.
 */
/* Whether V[from, to) holds a NaN: branch-free, four values a round. */
static int
stream_has_nan(const double *v, size_t from, size_t to)
{
	size_t	j = from;
	int	nan = 0;
#ifdef __SSE2__
	__m128d	m = _mm_setzero_pd();

	for (; j + 4 <= to; j += 4)
		m = _mm_or_pd(m, _mm_or_pd(_mm_cmpunord_pd(_mm_loadu_pd(v + j),
		    _mm_loadu_pd(v + j)), _mm_cmpunord_pd(_mm_loadu_pd(v + j +
		    2), _mm_loadu_pd(v + j + 2))));
	nan = _mm_movemask_pd(m) != 0;
#endif
	for (; j < to; j++)
		nan |= v[j] != v[j];
	return nan;
}

static size_t
stream_keep(int keep_stale, int64_t *t, double *v, size_t from, size_t to)
{
	size_t		j, n = from;
	uint64_t	bits;

	/* Most batches hold no NaN at all: one branch-free pass says so. */
	if (!stream_has_nan(v, from, to))
		return to;
	for (j = from; j < to; j++) {
		double x = v[j];

		if (isnan(x)) {
			memcpy(&bits, &x, sizeof(bits));
			if (bits == STALE_NAN_BITS) {
				if (!keep_stale)
					continue;
			} else
				x = NAN;
		}
		t[n] = t[j];
		v[n++] = x;
	}
	return n;
}

/* Samples a series' read may take at once before the buffer grows. */
#define STREAM_MIN	512

static void *
stream_part_run(void *arg)
{
	struct stream_part	*p = arg;
	const struct ev_sel	*sel = p->sel;
	size_t			 i, n, grow, charged;
	int			 rc = 0;

	while (!__atomic_load_n(p->stop, __ATOMIC_RELAXED)) {
		struct store_titer	*it;
		size_t			 ntier, nhour;

		if ((i = __atomic_fetch_add(p->next, 1, __ATOMIC_RELAXED)) >=
		    p->to)
			break;
		if ((p->done++ & 15) == 15 && ev_time_over(p->ev)) {
			p->failed = 2;
			__atomic_store_n(p->stop, 1, __ATOMIC_RELAXED);
			break;
		}
		it = store_titer_new_cols(p->ev->st, store_set_id(sel->set,
		    sel->s[i].idx), sel->t0, sel->t1, p->cols);
		if ((ntier = store_titer_ntier(it)) > p->acap) {
			p->acap = ntier;
			p->agg = xreallocarray(p->agg, p->acap,
			    sizeof(*p->agg));
		}
		n = charged = 0;
		for (;;) {
			if (p->cap - n < STREAM_MIN) {
				grow = p->cap > 0 ? p->cap : 4096;
				p->cap += grow;
				p->t = xreallocarray(p->t, p->cap,
				    sizeof(*p->t));
				p->v = xreallocarray(p->v, p->cap,
				    sizeof(*p->v));
			}
			/* Tier points hold no staleness marker: stream_keep
			   leaves them where they are, by their aggregates. */
			rc = store_titer_read(it, p->t + n, p->v + n,
			    n < ntier ? p->agg + n : NULL, p->cap - n);
			if (rc <= 0)
				break;
			charged += (size_t)rc;
			if (load_charge(p->ev, (uint64_t)rc) == -1) {
				p->failed = 1;
				rc = 0;
				break;
			}
			n = stream_keep(p->keep_stale, p->t, p->v, n,
			    n + (size_t)rc);
		}
		if (rc == -1) {
			snprintf(p->err, sizeof(p->err), "%s",
			    store_titer_error(it));
			p->failed = 3;
		}
		nhour = store_titer_nhour(it);
		store_titer_free(it);
		p->last = n;
		if (!p->failed && n > 0 &&
		    p->fn(p->arg, i, p->t, p->v, n, p->agg,
		    ntier < n ? ntier : n, nhour < n ? nhour : n) == -1)
			p->failed = 1;
		/* Held only while the consumer looked. */
		ev_release(p->ev, charged);
		if (p->failed)
			__atomic_store_n(p->stop, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int
sel_item_cmp(const void *a, const void *b)
{
	const struct ev_sel_item *x = a, *y = b;

	return qls_cmp(x->ls, y->ls);
}

int
ev_select(struct ev *ev, const struct q_vector_selector *vs, int64_t t0,
    int64_t t1, struct ev_sel *sel)
{
	struct store_matcher	*sm;
	const struct label	*l;
	size_t			 i, nm = 0, nl;
	char			 err[512];

	memset(sel, 0, sizeof(*sel));
	sel->t0 = t0;
	sel->t1 = t1;
	sm = xcalloc(vs->nmatchers ? vs->nmatchers : 1, sizeof(*sm));
	for (i = 0; i < vs->nmatchers; i++) {
		const struct q_matcher *m = &vs->matchers[i];

		/* A value with a NUL byte: no stored label has one. */
		if (strlen(m->value) != m->value_len) {
			if (m->type == Q_MATCH_EQUAL) {
				free(sm);
				return 0;
			}
			if (m->type == Q_MATCH_NOT_EQUAL)
				continue;
		}
		sm[nm].name = m->name;
		sm[nm].value = m->value;
		switch (m->type) {
		case Q_MATCH_EQUAL:
			sm[nm].op = STORE_MATCH_EQ;
			break;
		case Q_MATCH_NOT_EQUAL:
			sm[nm].op = STORE_MATCH_NE;
			break;
		case Q_MATCH_REGEX:
			sm[nm].op = STORE_MATCH_RE;
			break;
		default:
			sm[nm].op = STORE_MATCH_NRE;
			break;
		}
		nm++;
	}
	if (t1 < t0) {
		free(sm);
		return 0;
	}
	switch (store_select_max(ev->st, sm, nm, t0, t1, STORE_TIER_ALL,
	    ev->eng->opts.max_series, &sel->set, err, sizeof(err))) {
	case -1:
		free(sm);
		ev_fail(ev, ENGINE_EXECUTION, "%s", err);
		return -1;
	case -2:
		free(sm);
		ev_fail(ev, ENGINE_EXECUTION, "query selects more than %zu "
		    "series", ev->eng->opts.max_series);
		return -1;
	}
	free(sm);
	sel->n = store_set_len(sel->set);
	sel->s = xcalloc(sel->n ? sel->n : 1, sizeof(*sel->s));
	for (i = 0; i < sel->n; i++) {
		l = store_set_labels(sel->set, i, &nl);
		sel->s[i].ls = qls_new(l, nl);
		sel->s[i].idx = i;
	}
	/* Labels in a series' label order, as the index gives them; our
	   order puts upper-case names after __name__ unlike Prometheus's. */
	if (sel->n > 1)
		qsort(sel->s, sel->n, sizeof(*sel->s), sel_item_cmp);
	return 0;
}

void
ev_sel_free(struct ev_sel *sel)
{
	size_t i;

	for (i = 0; i < sel->n; i++)
		qls_unref(sel->s[i].ls);
	free(sel->s);
	store_set_free(sel->set);
	memset(sel, 0, sizeof(*sel));
}

/*
 * Part K of a stream.  Its column cache stays with the evaluation, so
 * that the next selector of the query (the other side of a binary
 * operator, often the same targets) finds the columns decoded; the part
 * with the same number is the only one to use it at a time.
 */
static void
stream_part_init(struct stream_part *p, struct ev *ev, unsigned k,
    const struct ev_sel *sel, int keep_stale, ev_stream_fn fn, void *arg,
    size_t *next, size_t to, int *stop)
{
	memset(p, 0, sizeof(*p));
	if (ev->cols[k] == NULL)
		ev->cols[k] = store_cols_new(0);
	p->cols = ev->cols[k];
	p->ev = ev;
	p->sel = sel;
	p->keep_stale = keep_stale;
	p->fn = fn;
	p->arg = arg;
	p->next = next;
	p->to = to;
	p->stop = stop;
}

int
ev_stream(struct ev *ev, const struct ev_sel *sel, int keep_stale,
    ev_stream_fn fn, void *args, size_t size)
{
	struct stream_part	 parts[EV_MAX_THREADS];
	size_t			 n = sel->n, next = 0;
	unsigned		 nt = 1, k;
	int			 stop = 0;

	if (n == 0)
		return 0;
	/* The first series on this thread: its size says whether the rest
	   is worth splitting. */
	stream_part_init(&parts[0], ev, 0, sel, keep_stale, fn, args, &next,
	    1, &stop);
	stream_part_run(&parts[0]);
	if (!parts[0].failed && n > 1) {
		/*
		 * The rest, guessed to be like the first.  The parts take
		 * series one at a time as they go, so a thread the machine
		 * holds up leaves its share to the others.
		 */
		nt = ev_threads(ev, n - 1, (uint64_t)parts[0].last * (n - 1));
		next = 1;
		parts[0].to = n;	/* keeps its buffer */
		for (k = 1; k < nt; k++)
			stream_part_init(&parts[k], ev, k, sel, keep_stale,
			    fn, (char *)args + k * size, &next, n, &stop);
		ev_run_parts(ev, nt, stream_part_run, parts,
		    sizeof(parts[0]));
	}
	for (k = 0; k < nt; k++) {
		free(parts[k].t);
		free(parts[k].v);
		free(parts[k].agg);
		if (parts[k].failed == 1)
			ev_fail(ev, ENGINE_EXECUTION, "query processing would "
			    "load too many samples into memory in query "
			    "execution");
		else if (parts[k].failed == 2)
			ev_fail(ev, ENGINE_TIMEOUT, "query timed out in "
			    "expression evaluation");
		else if (parts[k].failed == 3)
			ev_fail(ev, ENGINE_EXECUTION, "%s", parts[k].err);
	}
	return ev->err != ENGINE_OK ? -1 : 0;
}

/*
 * Handing a part to a pool thread and waiting for it costs some tens of
 * microseconds, so only work of some tens of thousands of points
 * (opts.parallel_samples) is split, over at most the CPUs (or
 * opts.threads, at most 4), each thread taking at least 4 items.
 */
_Static_assert(EV_MAX_THREADS <= POOL_MAX_PARTS, "a pool runs every part");

unsigned
ev_threads(const struct ev *ev, size_t nitems, uint64_t work)
{
	const struct engine_opts *o = &ev->eng->opts;
	long ncpu = o->threads > 0 ? (long)o->threads : ev->eng->ncpu;
	uint64_t min = o->parallel_samples > 0 ? o->parallel_samples :
	    50000;

	if (nitems < 8 || ncpu < 2 || work < min)
		return 1;
	if (ncpu > EV_MAX_THREADS)
		ncpu = EV_MAX_THREADS;
	return nitems / 4 < (size_t)ncpu ? (unsigned)(nitems / 4) :
	    (unsigned)ncpu;
}

void
ev_run_parts(struct ev *ev, unsigned nt, void *(*fn)(void *), void *parts,
    size_t size)
{
	pool_run(ev->eng->pool, nt, fn, parts, size);
}

int
ev_time_over(const struct ev *ev)
{
	return ev->deadline > 0 && now_mono_ms() > ev->deadline;
}

/* A range vector's series: each a copy of the buffer, charged. */
struct copy_arg {
	struct ev	*ev;
	struct qmseries	*slots;		/* one per series of the selection */
};

static int
copy_series(void *arg, size_t i, const int64_t *t, const double *v,
    size_t n, const struct store_agg *agg, size_t nagg, size_t nhour)
{
	struct copy_arg	*a = arg;
	struct qmseries	*s = &a->slots[i];

	(void)agg;
	(void)nagg;
	(void)nhour;
	if (load_charge(a->ev, n) == -1) {
		ev_release(a->ev, n);
		return -1;
	}
	s->t = xreallocarray(NULL, n, sizeof(*s->t));
	s->v = xreallocarray(NULL, n, sizeof(*s->v));
	memcpy(s->t, t, n * sizeof(*t));
	memcpy(s->v, v, n * sizeof(*v));
	s->n = n;
	return 0;
}

/*
 * The series matching VS with samples in [t0, t1], each read whole into
 * OUT (staleness markers kept only with keep_stale), in label order.
 */
static int
load_series(struct ev *ev, const struct q_vector_selector *vs, int64_t t0,
    int64_t t1, int keep_stale, struct qmat *out)
{
	struct ev_sel		 sel;
	struct copy_arg		 args[EV_MAX_THREADS];
	struct qmseries		*slots;
	size_t			 i;
	unsigned		 k;

	if (ev_select(ev, vs, t0, t1, &sel) == -1)
		return -1;
	slots = xcalloc(sel.n ? sel.n : 1, sizeof(*slots));
	for (k = 0; k < EV_MAX_THREADS; k++) {
		args[k].ev = ev;
		args[k].slots = slots;
	}
	ev_stream(ev, &sel, keep_stale, copy_series, args, sizeof(args[0]));
	for (i = 0; i < sel.n; i++) {
		struct qmseries *s;

		if (slots[i].n == 0)
			continue;
		if (out->n == out->cap) {
			out->cap = out->cap ? out->cap * 2 : 16;
			out->s = xreallocarray(out->s, out->cap,
			    sizeof(*out->s));
		}
		s = &out->s[out->n++];
		*s = slots[i];
		s->ls = qls_ref(sel.s[i].ls);
	}
	free(slots);
	ev_sel_free(&sel);
	return ev->err != ENGINE_OK ? -1 : 0;
}

/* A vector selector's steps, filled from each series as it is read. */
struct vsel_arg {
	const struct qrange	*r;
	int64_t			 at, off, lookback;
	int			 has_at, want_ts;
	struct qseries		*out;		/* one per series */
	char			*any;
};

static int
vsel_series(void *arg, size_t i, const int64_t *t, const double *v,
    size_t n, const struct store_agg *agg, size_t nagg, size_t nhour)
{
	struct vsel_arg		*a = arg;
	const struct qrange	*r = a->r;
	double			*out = a->out[i].v;
	size_t			 j = 0, k;
	int64_t			 lb5m, lb1h, lb;
	int			 any = 0;

	(void)agg;
	/*
	 * A bucket point is looked back to for at least its bucket's width:
	 * the next point comes a width later, so a gauge read from the tiers
	 * has a value at every step until its data stops, where the default
	 * lookback alone would find a 1h bucket only in the 5 minutes after
	 * its point.
	 */
	lb5m = store_tier_width(STORE_TIER_5M);
	lb1h = store_tier_width(STORE_TIER_1H);
	if (lb5m < a->lookback)
		lb5m = a->lookback;
	if (lb1h < a->lookback)
		lb1h = a->lookback;
	for (k = 0; k < r->n; k++) {
		int64_t		ref;
		uint64_t	bits;
		double		x;

		ref = (a->has_at ? a->at : qr_ts(r, k)) - a->off;
		while (j < n && t[j] <= ref)
			j++;
		if (j == 0)
			continue;
		/* Raw samples keep Prometheus's lookback exactly. */
		lb = j - 1 >= nagg ? a->lookback : j - 1 < nhour ? lb1h : lb5m;
		if (t[j - 1] < ref - lb)
			continue;
		x = v[j - 1];
		memcpy(&bits, &x, sizeof(bits));
		if (bits == STALE_NAN_BITS)
			continue;
		out[k] = a->want_ts ? (double)t[j - 1] / 1000.0 : x;
		any = 1;
	}
	a->any[i] = any;
	return 0;
}

/*
 * Make an output series for every series of SEL (labels from LABEL, a
 * new reference) for the threads to fill; NULL (error set) beyond the
 * budget, and NULL (no error) when SEL is empty: nothing to fill.
 * ev_sel_compact then drops those left without a point.
 */
struct qseries *
ev_sel_outputs(struct ev *ev, const struct ev_sel *sel, struct qvec *vec,
    struct qlset *(*label)(struct qlset *))
{
	size_t i;

	if (sel->n == 0)
		return NULL;
	for (i = 0; i < sel->n; i++)
		if (qvec_add(ev, vec, label(sel->s[i].ls)) == NULL)
			return NULL;
	return vec->s + vec->n - sel->n;
}

void
ev_sel_compact(struct ev *ev, struct qvec *vec, size_t n, const char *any)
{
	size_t i, j, base = vec->n - n;

	for (i = 0, j = base; i < n; i++) {
		struct qseries *s = &vec->s[base + i];

		if (any[i]) {
			vec->s[j++] = *s;
			continue;
		}
		qls_unref(s->ls);
		free(s->v);
		ev_release(ev, vec->nsteps);
	}
	vec->n = j;
}

/*
 * A vector selector over the steps.  With want_ts, each value is the
 * timestamp of the sample chosen (timestamp(), which with @ ignores the
 * offset as Prometheus does).
 */
static struct qval *
eval_vector_selector(struct ev *ev, const struct q_vector_selector *vs,
    const struct qrange *r, int want_ts)
{
	struct ev_sel	 sel;
	struct vsel_arg	 args[EV_MAX_THREADS];
	struct qval	*out;
	struct qseries	*first;
	int64_t		 at = 0, lo, hi, off = q_tclamp(vs->offset);
	int64_t		 back;
	int		 has_at = ev_at_time(ev, &vs->at, &at);
	char		*any;
	unsigned	 k;

	if (has_at && want_ts)
		off = 0;
	lo = (has_at ? at : r->start) - off;
	hi = (has_at ? at : r->end) - off;
	/*
	 * A bucket point is looked back to further (vsel_series): read from
	 * as far back as the widest bucket, but only when buckets can be
	 * there, so a query over raw data alone reads what it always did.
	 */
	back = store_tier_width(STORE_TIER_1H);
	if (back < ev->lookback)
		back = ev->lookback;
	if (back == ev->lookback || lo < INT64_MIN + back ||
	    lo - back > store_tier_end(ev->st))
		back = ev->lookback;
	if (ev_select(ev, vs, lo - back, hi, &sel) == -1)
		return NULL;
	out = qval_new(Q_TYPE_VECTOR);
	out->vec.nsteps = r->n;
	any = xcalloc(sel.n ? sel.n : 1, 1);
	if ((first = ev_sel_outputs(ev, &sel, &out->vec, qls_ref)) != NULL) {
		for (k = 0; k < EV_MAX_THREADS; k++) {
			args[k].r = r;
			args[k].at = at;
			args[k].off = off;
			args[k].lookback = ev->lookback;
			args[k].has_at = has_at;
			args[k].want_ts = want_ts;
			args[k].out = first;
			args[k].any = any;
		}
		if (ev_stream(ev, &sel, 1, vsel_series, args,
		    sizeof(args[0])) == 0)
			ev_sel_compact(ev, &out->vec, sel.n, any);
	}
	free(any);
	ev_sel_free(&sel);
	if (ev->err != ENGINE_OK) {
		qval_free(ev, out);
		return NULL;
	}
	return out;
}

static struct qval *
eval_matrix_selector(struct ev *ev, const struct q_matrix_selector *ms,
    const struct qrange *r)
{
	const struct q_vector_selector	*vs = &ms->vs->vs;
	struct qval			*out = qval_new(Q_TYPE_MATRIX);
	int64_t				 at = 0, lo, hi;
	int				 has_at = ev_at_time(ev, &vs->at, &at);

	lo = (has_at ? at : r->start) - q_tclamp(vs->offset) -
	    q_tclamp(ms->range);
	/*
	 * With @ only samples up to the @ time are read, as Prometheus's
	 * querier does: predict_linear's moving window (functions_eval.c)
	 * runs out of them.
	 */
	hi = (has_at ? at : r->end) - q_tclamp(vs->offset);
	out->mat.range = q_tclamp(ms->range);
	out->mat.offset = q_tclamp(vs->offset);
	out->mat.has_at = has_at;
	out->mat.at = at;
	if (load_series(ev, vs, lo, hi, 0, &out->mat) == -1) {
		qval_free(ev, out);
		return NULL;
	}
	return out;
}

static struct qval *
eval_subquery(struct ev *ev, const struct q_subquery *sq,
    const struct qrange *r)
{
	struct qrange	 in;
	struct qval	*iv, *out;
	int64_t		 at = 0, lo, hi, step;
	int		 has_at = ev_at_time(ev, &sq->at, &at);
	size_t		 i, k;

	step = sq->step ? q_tclamp(sq->step) : ev->sub_step;
	lo = (has_at ? at : r->start) - q_tclamp(sq->offset) -
	    q_tclamp(sq->range);
	hi = (has_at ? at : r->end) - q_tclamp(sq->offset);
	/* The first multiple of the step at or after lo (Go's division
	   truncates toward zero, as C's does). */
	in.start = step * (lo / step);
	if (in.start < lo)
		in.start += step;
	in.end = hi;
	in.step = step;
	in.n = in.end < in.start ? 0 : (size_t)((in.end - in.start) / step) + 1;
	if ((iv = ev_eval(ev, sq->expr, &in)) == NULL)
		return NULL;
	out = qval_new(Q_TYPE_MATRIX);
	out->mat.range = q_tclamp(sq->range);
	out->mat.offset = q_tclamp(sq->offset);
	out->mat.has_at = has_at;
	out->mat.at = at;
	for (i = 0; i < iv->vec.n; i++) {
		const struct qseries	*s = &iv->vec.s[i];
		struct qmseries		*ms;
		size_t			 n = 0;

		for (k = 0; k < in.n; k++)
			n += !q_absent(s->v[k]);
		if (n == 0)
			continue;
		if (ev_charge(ev, n) == -1)
			break;
		if (out->mat.n == out->mat.cap) {
			out->mat.cap = out->mat.cap ? out->mat.cap * 2 : 16;
			out->mat.s = xreallocarray(out->mat.s, out->mat.cap,
			    sizeof(*out->mat.s));
		}
		ms = &out->mat.s[out->mat.n++];
		ms->ls = qls_ref(s->ls);
		ms->t = xreallocarray(NULL, n, sizeof(int64_t));
		ms->v = xreallocarray(NULL, n, sizeof(double));
		ms->n = 0;
		for (k = 0; k < in.n; k++) {
			if (q_absent(s->v[k]))
				continue;
			ms->t[ms->n] = qr_ts(&in, k);
			ms->v[ms->n++] = s->v[k];
		}
	}
	qval_free(ev, iv);
	if (ev->err != ENGINE_OK) {
		qval_free(ev, out);
		return NULL;
	}
	return out;
}

static struct qval *
eval_unary(struct ev *ev, const struct q_unary *u, const struct qrange *r)
{
	struct qval	*v;
	size_t		 i, k;

	if ((v = ev_eval(ev, u->expr, r)) == NULL || !u->negate)
		return v;
	if (v->type == Q_TYPE_SCALAR) {
		for (k = 0; k < r->n; k++)
			v->sc[k] = -v->sc[k];
		return v;
	}
	for (i = 0; i < v->vec.n; i++) {
		struct qseries	*s = &v->vec.s[i];
		struct qlset	*ls = qls_drop_name(s->ls);

		qls_unref(s->ls);
		s->ls = ls;
		for (k = 0; k < r->n; k++)
			if (!q_absent(s->v[k]))
				s->v[k] = -s->v[k];
	}
	if (qvec_merge(ev, &v->vec, 0, "vector cannot contain metrics with "
	    "the same labelset") == -1) {
		qval_free(ev, v);
		return NULL;
	}
	return v;
}

/* timestamp() of a (parenthesized) vector selector reads sample times. */
static const struct q_expr *
unparen(const struct q_expr *e)
{
	while (e->kind == Q_PAREN)
		e = e->paren;
	return e;
}

struct qval *
ev_eval(struct ev *ev, const struct q_expr *e, const struct qrange *r)
{
	struct qval *v;

	if (ev_check_time(ev) == -1)
		return NULL;
	switch (e->kind) {
	case Q_PAREN:
		return ev_eval(ev, e->paren, r);
	case Q_NUMBER:
		return qval_scalar(ev, r, e->number);
	case Q_STRING:
		v = qval_new(Q_TYPE_STRING);
		v->str = xmalloc(e->string.len + 1);
		memcpy(v->str, e->string.s, e->string.len + 1);
		v->strlen = e->string.len;
		return v;
	case Q_VECTOR_SELECTOR:
		return eval_vector_selector(ev, &e->vs, r, 0);
	case Q_MATRIX_SELECTOR:
		return eval_matrix_selector(ev, &e->matrix, r);
	case Q_SUBQUERY:
		return eval_subquery(ev, &e->subquery, r);
	case Q_UNARY:
		return eval_unary(ev, &e->unary, r);
	case Q_BINARY:
		return ev_binary(ev, e, r);
	case Q_AGGREGATE:
		return ev_aggregate(ev, e, r);
	case Q_CALL:
		if (strcmp(e->call.func->name, "timestamp") == 0 &&
		    unparen(e->call.args[0])->kind == Q_VECTOR_SELECTOR) {
			struct qval	*tv;
			size_t		 i;

			tv = eval_vector_selector(ev,
			    &unparen(e->call.args[0])->vs, r, 1);
			if (tv == NULL)
				return NULL;
			for (i = 0; i < tv->vec.n; i++) {
				struct qseries	*s = &tv->vec.s[i];
				struct qlset	*ls = qls_drop_name(s->ls);

				qls_unref(s->ls);
				s->ls = ls;
			}
			if (qvec_merge(ev, &tv->vec, 1, "vector cannot contain "
			    "metrics with the same labelset") == -1) {
				qval_free(ev, tv);
				return NULL;
			}
			return tv;
		}
		return ev_call(ev, e, r);
	}
	return ev_fail(ev, ENGINE_INTERNAL, "unhandled expression");
}

void
engine_opts_default(struct engine_opts *o)
{
	o->lookback_ms = 5 * 60 * 1000;
	o->subquery_step_ms = 60 * 1000;
	o->max_samples = 50000000;
	o->timeout_ms = 2 * 60 * 1000;
	o->threads = 0;
	o->parallel_samples = 0;
	o->max_series = 0;
}

struct engine *
engine_new(struct store *st, const struct engine_opts *o)
{
	struct engine	*eng = xcalloc(1, sizeof(*eng));
	long		 nt;

	eng->st = st;
	if (o != NULL)
		eng->opts = *o;
	else
		engine_opts_default(&eng->opts);
	eng->ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	nt = eng->opts.threads > 0 ? (long)eng->opts.threads : eng->ncpu;
	if (nt > EV_MAX_THREADS)
		nt = EV_MAX_THREADS;
	eng->pool = pool_new(nt > 1 ? (unsigned)nt - 1 : 0);
	return eng;
}

void
engine_free(struct engine *eng)
{
	if (eng == NULL)
		return;
	pool_free(eng->pool);
	free(eng);
}

const struct engine_opts *
engine_get_opts(const struct engine *eng)
{
	return &eng->opts;
}

/* What a result holds on to. */
struct result_priv {
	struct qlset	**ls;
	size_t		  nls;
	int64_t		 *t;
	double		 *v;
	char		 *str;
};

static int
qseries_cmp(const void *a, const void *b)
{
	const struct qseries *x = a, *y = b;

	return qls_cmp(x->ls, y->ls);
}

/* Points [FIRST, AT) of P as series ES labelled LS: 1, or 0 when there are
 * none (a series without points is left out of an answer). */
static int
result_series(struct result_priv *p, struct engine_series *es,
    struct qlset *ls, size_t first, size_t at)
{
	if (at == first)
		return 0;
	p->ls[p->nls++] = qls_ref(ls);
	es->labels = ls->l;
	es->nlabels = ls->n;
	es->t = p->t + first;
	es->v = p->v + first;
	es->n = at - first;
	return 1;
}

/* Fill RES from the top-level value V of an evaluation over R. */
static void
build_result(struct ev *ev, struct qval *v, const struct qrange *r,
    int instant, struct engine_result *res)
{
	struct result_priv	*p = xcalloc(1, sizeof(*p));
	size_t			 i, k, npts = 0, ns = 0, at;

	res->priv = p;
	res->type = v->type;
	res->t = r->start;
	if (v->type == Q_TYPE_STRING) {
		p->str = v->str;
		v->str = NULL;
		res->string = p->str;
		return;
	}
	if (v->type == Q_TYPE_SCALAR && instant) {
		res->scalar = v->sc[0];
		return;
	}
	if (v->type == Q_TYPE_SCALAR) {
		/* A range query of a scalar: one series without labels. */
		res->type = Q_TYPE_MATRIX;
		p->ls = xcalloc(1, sizeof(*p->ls));
		p->ls[0] = qls_empty();
		p->nls = 1;
		p->t = xreallocarray(NULL, r->n ? r->n : 1, sizeof(int64_t));
		p->v = xreallocarray(NULL, r->n ? r->n : 1, sizeof(double));
		for (k = 0; k < r->n; k++) {
			p->t[k] = qr_ts(r, k);
			p->v[k] = v->sc[k];
		}
		res->series = xcalloc(1, sizeof(*res->series));
		res->nseries = 1;
		res->series[0].labels = p->ls[0]->l;
		res->series[0].nlabels = 0;
		res->series[0].t = p->t;
		res->series[0].v = p->v;
		res->series[0].n = r->n;
		return;
	}
	if (v->type == Q_TYPE_MATRIX) {
		/* An instant query of a range vector: each window. */
		const struct qmat	*m = &v->mat;
		int64_t			 ref;

		ref = (m->has_at ? m->at : r->start) - m->offset;

		p->ls = xcalloc(m->n ? m->n : 1, sizeof(*p->ls));
		res->series = xcalloc(m->n ? m->n : 1, sizeof(*res->series));
		for (i = 0; i < m->n; i++)
			npts += m->s[i].n;
		p->t = xreallocarray(NULL, npts ? npts : 1, sizeof(int64_t));
		p->v = xreallocarray(NULL, npts ? npts : 1, sizeof(double));
		at = 0;
		for (i = 0; i < m->n; i++) {
			const struct qmseries	*s = &m->s[i];
			struct engine_series	*es = &res->series[ns];
			size_t			 first = at;

			for (k = 0; k < s->n; k++) {
				if (s->t[k] < ref - m->range || s->t[k] > ref)
					continue;
				p->t[at] = s->t[k];
				p->v[at++] = s->v[k];
			}
			ns += result_series(p, es, s->ls, first, at);
		}
		res->nseries = ns;
		return;
	}
	/* An instant vector: a matrix for a range query. */
	if (!instant) {
		res->type = Q_TYPE_MATRIX;
		if (v->vec.n > 1)
			qsort(v->vec.s, v->vec.n, sizeof(*v->vec.s),
			    qseries_cmp);
	}
	p->ls = xcalloc(v->vec.n ? v->vec.n : 1, sizeof(*p->ls));
	res->series = xcalloc(v->vec.n ? v->vec.n : 1, sizeof(*res->series));
	for (i = 0; i < v->vec.n; i++)
		for (k = 0; k < r->n; k++)
			npts += !q_absent(v->vec.s[i].v[k]);
	p->t = xreallocarray(NULL, npts ? npts : 1, sizeof(int64_t));
	p->v = xreallocarray(NULL, npts ? npts : 1, sizeof(double));
	at = 0;
	for (i = 0; i < v->vec.n; i++) {
		const struct qseries	*s = &v->vec.s[i];
		struct engine_series	*es = &res->series[ns];
		size_t			 first = at;

		for (k = 0; k < r->n; k++) {
			if (q_absent(s->v[k]))
				continue;
			p->t[at] = qr_ts(r, k);
			p->v[at++] = s->v[k];
		}
		ns += result_series(p, es, s->ls, first, at);
	}
	res->nseries = ns;
	(void)ev;
}

void
engine_result_free(struct engine_result *res)
{
	struct result_priv	*p;
	size_t			 i;

	if (res == NULL)
		return;
	if ((p = res->priv) != NULL) {
		for (i = 0; i < p->nls; i++)
			qls_unref(p->ls[i]);
		free(p->ls);
		free(p->t);
		free(p->v);
		free(p->str);
		free(p);
	}
	free(res->series);
	free(res);
}

int
engine_eval(struct engine *eng, const struct q_expr *e, int64_t start,
    int64_t end, int64_t step, int64_t timeout_ms,
    struct engine_result **out, struct engine_error *err)
{
	struct ev		 ev;
	struct qrange		 r;
	struct qval		*v;
	struct engine_result	*res;
	enum q_type		 type = q_expr_type(e);
	int			 instant = step == 0;
	unsigned		 k;

	*out = NULL;
	err->kind = ENGINE_OK;
	err->msg[0] = '\0';
	if (!instant && type != Q_TYPE_VECTOR && type != Q_TYPE_SCALAR) {
		err->kind = ENGINE_BAD_DATA;
		snprintf(err->msg, sizeof(err->msg), "invalid expression type "
		    "\"%s\" for range query, must be Scalar or instant Vector",
		    q_type_documented(type));
		return -1;
	}
	if (end < start || (!instant && step < 0)) {
		err->kind = ENGINE_BAD_DATA;
		snprintf(err->msg, sizeof(err->msg), "end timestamp must not "
		    "be before start time");
		return -1;
	}
	start = q_tclamp(start);
	end = q_tclamp(end);
	memset(&ev, 0, sizeof(ev));
	ev.eng = eng;
	ev.st = eng->st;
	ev.qstart = start;
	ev.qend = instant ? start : end;
	ev.lookback = eng->opts.lookback_ms;
	ev.sub_step = eng->opts.subquery_step_ms > 0 ?
	    eng->opts.subquery_step_ms : 60000;
	ev.max_samples = eng->opts.max_samples ? eng->opts.max_samples :
	    UINT64_MAX;
	if (timeout_ms <= 0)
		timeout_ms = eng->opts.timeout_ms;
	ev.deadline = timeout_ms > 0 ? now_mono_ms() + timeout_ms : 0;
	r.start = start;
	r.end = instant ? start : end;
	r.step = instant ? 1 : step;
	r.n = instant ? 1 : (size_t)((end - start) / step) + 1;
	v = ev_eval(&ev, e, &r);
	for (k = 0; k < EV_MAX_THREADS; k++)
		store_cols_free(ev.cols[k]);
	if (v == NULL) {
		err->kind = ev.err != ENGINE_OK ? ev.err : ENGINE_INTERNAL;
		snprintf(err->msg, sizeof(err->msg), "%s", ev.msg);
		return -1;
	}
	res = xcalloc(1, sizeof(*res));
	build_result(&ev, v, &r, instant, res);
	qval_free(&ev, v);
	*out = res;
	return 0;
}

int
engine_query(struct engine *eng, const char *query, size_t len,
    int64_t start, int64_t end, int64_t step, int64_t timeout_ms,
    struct engine_result **out, struct engine_error *err)
{
	struct q_error	 qerr;
	struct q_expr	*e;
	struct buf	 b = BUF_INIT;
	int		 rc;

	*out = NULL;
	if ((e = q_parse_n(query, len, &qerr)) == NULL) {
		q_error_format(&qerr, query, len, &b);
		err->kind = ENGINE_BAD_DATA;
		snprintf(err->msg, sizeof(err->msg), "%s", b.data ? b.data :
		    "parse error");
		buf_free(&b);
		return -1;
	}
	rc = engine_eval(eng, e, start, end, step, timeout_ms, out, err);
	q_expr_free(e);
	return rc;
}
