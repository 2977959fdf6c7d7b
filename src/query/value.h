/*
 * value: the evaluator's internal values (private to src/query/).
 *
 * The evaluator works series by series, not step by step: an instant
 * vector evaluated over the steps of a query is a set of series, each with
 * one slot per step (Q_ABSENT where the series has no point at that step).
 * A scalar is one value per step.  A range vector keeps the samples of each
 * series together with the window (range, offset, @) that each step looks
 * through, so functions slide a window over one compact array.
 *
 * Label sets are immutable and reference counted (struct qlset); a series
 * that keeps its labels through an operation shares them.  Everything here
 * belongs to one evaluation on one thread.
 */
#ifndef MONITORD_QUERY_VALUE_H
#define MONITORD_QUERY_VALUE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "sample.h"
#include "query/ast.h"

/*
 * "No point at this step": a signalling NaN with a payload no arithmetic
 * produces (arithmetic quiets NaNs), so a value that leaked into a
 * computation comes out as an ordinary NaN, never as a false absence.
 */
#define Q_ABSENT_BITS	0x7ff4a5e9c0ffee01ULL

static inline int
q_absent(double v)
{
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	return u == Q_ABSENT_BITS;
}

static inline double
q_absent_value(void)
{
	uint64_t	u = Q_ABSENT_BITS;
	double		v;

	memcpy(&v, &u, sizeof(v));
	return v;
}

/*
 * Times, offsets and ranges from a query are clamped to +-2^60 ms (36
 * million years) so that sums of a few of them cannot overflow.
 */
#define Q_TIME_LIMIT	(1LL << 60)

static inline int64_t
q_tclamp(int64_t t)
{
	return t > Q_TIME_LIMIT ? Q_TIME_LIMIT : t < -Q_TIME_LIMIT ?
	    -Q_TIME_LIMIT : t;
}

/* An immutable label set, sorted by name (byte order, as Prometheus). */
struct qlset {
	unsigned	 refs;
	size_t		 n;
	uint64_t	 hash;
	struct label	 l[];
};

/* Copy N labels (any order); empty values are dropped. */
struct qlset	*qls_new(const struct label *, size_t n);
struct qlset	*qls_empty(void);
struct qlset	*qls_ref(struct qlset *);
void		 qls_unref(struct qlset *);
int		 qls_eq(const struct qlset *, const struct qlset *);
int		 qls_cmp(const struct qlset *, const struct qlset *);
const char	*qls_get(const struct qlset *, const char *name);
/* New references: without __name__, with NAME=VALUE ("" deletes). */
struct qlset	*qls_drop_name(struct qlset *);
struct qlset	*qls_set(struct qlset *, const char *name,
		    const char *value);
/* Keep only NAMES / drop NAMES (and __name__ when drop_name). */
struct qlset	*qls_keep(const struct qlset *, char *const *names,
		    size_t n);
struct qlset	*qls_without(const struct qlset *, char *const *names,
		    size_t n, int drop_name);
/* Labels.String(): {a="b", c="d"} with Go's quoting. */
void		 qls_format(const struct qlset *, struct buf *);
/*
 * A signature: the bytes of the labels in NAMES (on) or of all but NAMES
 * and __name__ (!on), appended to OUT.
 */
void		 qls_signature(const struct qlset *, int on,
		    char *const *names, size_t n, struct buf *out);
uint64_t	 q_hash(const void *, size_t);

/* A map from byte strings to indexes, for grouping and matching. */
struct qmap {
	struct qslot {
		uint64_t	 hash;
		char		*key;
		size_t		 len;
		size_t		 val;
	}		*slots;
	size_t		 cap, n;
};

/* The value for KEY, or (size_t)-1. */
size_t		 qmap_get(const struct qmap *, const void *key,
		    size_t len);
/* Insert KEY -> VAL unless present; returns the value stored. */
size_t		 qmap_put(struct qmap *, const void *key, size_t len,
		    size_t val);
void		 qmap_free(struct qmap *);

/* Steps of an evaluation: start + k * step, k < n. */
struct qrange {
	int64_t	 start, end, step;
	size_t	 n;
};

static inline int64_t
qr_ts(const struct qrange *r, size_t k)
{
	return r->start + (int64_t)k * r->step;
}

struct qseries {
	struct qlset	*ls;
	double		*v;		/* one per step */
};

struct qvec {
	struct qseries	*s;
	size_t		 n, cap;
	size_t		 nsteps;	/* slots of each series */
};

struct qmseries {
	struct qlset	*ls;
	int64_t		*t;
	double		*v;		/* no staleness markers */
	size_t		 n;
};

/* A range vector: samples, and the window each step sees. */
struct qmat {
	struct qmseries	*s;
	size_t		 n, cap;
	int64_t		 range;
	int64_t		 offset;
	int		 has_at;
	int64_t		 at;
};

struct qval {
	enum q_type	 type;
	double		*sc;		/* a scalar: one per step */
	struct qvec	 vec;
	struct qmat	 mat;
	char		*str;
	size_t		 strlen;
};

struct engine;
struct store_set;
struct store_cols;

#define EV_MAX_THREADS	4

/* The state of one query's evaluation. */
struct ev {
	struct engine	*eng;
	struct store	*st;
	int64_t		 qstart, qend;	/* @ start() and end() */
	int64_t		 lookback;
	int64_t		 sub_step;
	uint64_t	 samples, max_samples;
	int64_t		 deadline;	/* CLOCK_MONOTONIC ms */
	unsigned	 tick;
	int		 err;			/* enum engine_err */
	char		 msg[1024];
	/* decoded timestamp columns, one cache for each part of ev_stream
	   (made when first needed, freed with the evaluation) */
	struct store_cols *cols[EV_MAX_THREADS];
};

/* Record the first error; always returns NULL (for "return ev_fail()"). */
void		*ev_fail(struct ev *, int kind, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
/* Charge N points to the sample budget; -1 (and the error set) beyond. */
int		 ev_charge(struct ev *, uint64_t n);
void		 ev_release(struct ev *, uint64_t n);
/* -1 (and the error set) once the deadline has passed. */
int		 ev_check_time(struct ev *);
/* Whether the deadline has passed, touching nothing: for any thread. */
int		 ev_time_over(const struct ev *);

/*
 * Parallel parts.  ev_threads says how many threads NITEMS items of WORK
 * points in all are worth (1: do it here); ev_run_parts runs FN on each
 * of NT parts (an array of SIZE-byte structs), part 0 on this thread, and
 * returns when all are done.  A part may read the evaluation's inputs and
 * write what it alone owns: no ev_fail, ev_charge or label reference.
 */
unsigned	 ev_threads(const struct ev *, size_t nitems, uint64_t work);
void		 ev_run_parts(struct ev *, unsigned nt, void *(*fn)(void *),
		    void *parts, size_t size);

/*
 * Selections.  ev_select finds the series of a selector with samples in
 * [t0, t1], in label order (qls_cmp), with their label sets; -1 with the
 * error set on a store error.  ev_stream reads each series once into a
 * buffer its thread reuses (charged to the budget while held; staleness
 * markers only with keep_stale) and calls FN(ARGS + k * SIZE, i, t, v, n,
 * agg, nagg, nhour) for series i with samples, k being the part running
 * it; the first nagg points are rollup buckets read where the series' raw
 * samples are gone (storage/store.h, "Reading across tiers"), v their last
 * value and agg[j] their aggregate (the first nhour of them 1h buckets,
 * the rest 5m ones), the rest raw samples (ARGS holds
 * EV_MAX_THREADS of them): as for ev_run_parts, FN may write only what
 * series i alone owns and its own part's argument; it returns -1 to fail
 * with the sample-limit error.  0, or -1 with the error set.
 * ev_sel_outputs adds a series to VEC for every one of SEL (labels
 * LABEL(ls), a new reference), returning the first, or NULL past the
 * budget (error set) or when SEL is empty; ev_sel_compact drops those of
 * the last N whose ANY is 0.
 */
struct ev_sel_item {
	struct qlset	*ls;
	size_t		 idx;		/* in the store's set */
};

struct ev_sel {
	struct store_set	*set;
	struct ev_sel_item	*s;
	size_t			 n;
	int64_t			 t0, t1;
};

/* Whether AT is given, and then its time in *T. */
int		 ev_at_time(const struct ev *, const struct q_at *,
		    int64_t *t);
int		 ev_select(struct ev *, const struct q_vector_selector *,
		    int64_t t0, int64_t t1, struct ev_sel *);
void		 ev_sel_free(struct ev_sel *);
struct store_agg;
typedef int	(*ev_stream_fn)(void *, size_t, const int64_t *,
		    const double *, size_t, const struct store_agg *,
		    size_t, size_t);
int		 ev_stream(struct ev *, const struct ev_sel *, int keep_stale,
		    ev_stream_fn fn, void *args, size_t size);
struct qseries	*ev_sel_outputs(struct ev *, const struct ev_sel *,
		    struct qvec *, struct qlset *(*label)(struct qlset *));
void		 ev_sel_compact(struct ev *, struct qvec *, size_t n,
		    const char *any);

struct qval	*ev_eval(struct ev *, const struct q_expr *,
		    const struct qrange *);
struct qval	*qval_new(enum q_type);
void		 qval_free(struct ev *, struct qval *);
struct qval	*qval_scalar(struct ev *, const struct qrange *, double);

/*
 * A new series with every step absent, charged to the sample budget; it
 * takes over the reference LS.  NULL (error set) beyond the budget.
 */
struct qseries	*qvec_add(struct ev *, struct qvec *, struct qlset *);
/* Drop series without any point; keeps the order. */
void		 qvec_compact(struct ev *, struct qvec *);
/*
 * Merge series with equal labels, keeping the first one's place.  Two of
 * them with a point at the same step are an error with MSG (per_step), or
 * any two at all (!per_step).  -1 on error.
 */
int		 qvec_merge(struct ev *, struct qvec *, int per_step,
		    const char *msg);
void		 qvec_clear(struct ev *, struct qvec *);
void		 qmat_clear(struct ev *, struct qmat *);
/* All labels as bytes, a key for maps. */
void		 qls_key(const struct qlset *, struct buf *);

/* Go's math.Max / math.Min (NaN and signed zero rules). */
double		 q_go_max(double, double);
double		 q_go_min(double, double);

/* Dispatchers of the other evaluator files. */
struct qval	*ev_call(struct ev *, const struct q_expr *,
		    const struct qrange *);
struct qval	*ev_aggregate(struct ev *, const struct q_expr *,
		    const struct qrange *);
struct qval	*ev_binary(struct ev *, const struct q_expr *,
		    const struct qrange *);
struct qval	*ev_histogram_quantile(struct ev *, const double *q,
		    struct qval *, const struct qrange *);
/* Prometheus's quantile() over N values (sorted in place). */
double		 q_quantile(double q, double *v, size_t n);
/* The labels absent() gives for its argument. */
struct qlset	*absent_labels(const struct q_expr *);

#endif
