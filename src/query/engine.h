/*
 * engine: PromQL evaluation against the store, with Prometheus 2.42's
 * semantics (lookback and staleness, extrapolated rates, vector matching,
 * aggregation, histogram_quantile, subqueries, offset and @).
 *
 * An engine is a store plus options; it holds no other state, so any
 * number of threads may run queries on one engine at once (each query
 * reads the store as a reader).  A query reads each selected series' samples
 * once, into one array, and evaluates every step over it; a selector's
 * series are read by up to `threads` threads when there are enough samples
 * (parallel_samples), each taking the next series as it goes.  Before a
 * series' oldest raw sample its rollup buckets stand in, one point each
 * (monitord(8), "Queries over rolled-up data").
 *
 * Results.  engine_query() returns a result the caller frees.  Its series
 * are in the order Prometheus answers with: an instant query keeps the
 * evaluation order (the selector's label order, aggregation groups in order
 * of appearance, sort() and sort_desc() order); a range query's series are
 * sorted by labels.  A range query of a scalar expression gives one series
 * without labels, as Prometheus does.
 *
 * Errors.  -1 with err->kind saying how the HTTP API answers: bad_data
 * (400: the query does not parse, a bad range), execution (422: what
 * Prometheus reports while evaluating, e.g. "many-to-many matching not
 * allowed", the sample limit), timeout (503).  err->msg is Prometheus's
 * text.
 *
 * Limits.  max_samples bounds the points (loaded samples and computed
 * values) a query holds at once: beyond it the query fails with
 * "query processing would load too many samples into memory in query
 * execution" instead of growing.  timeout_ms bounds its time.  max_series
 * (off by default) bounds the series one selector may match, checked
 * before any of them is read: with a small max_samples it makes an engine
 * whose queries do a bounded amount of work, or fail.
 */
#ifndef MONITORD_QUERY_ENGINE_H
#define MONITORD_QUERY_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "query/ast.h"

struct store;
struct label;

struct engine_opts {
	int64_t		lookback_ms;		/* 5 minutes */
	int64_t		subquery_step_ms;	/* a subquery without a
						   step: 1 minute */
	uint64_t	max_samples;		/* 50,000,000 */
	int64_t		timeout_ms;		/* 2 minutes */
	unsigned	threads;		/* series read in parallel by
						   up to this many threads;
						   0: the CPUs, at most 4 */
	uint64_t	parallel_samples;	/* ... for selections of
						   about this many samples
						   (guessed from the first
						   series); 0: 50,000 */
	size_t		max_series;		/* a selector matching more
						   series fails the query
						   (execution); 0: no limit */
};

void		 engine_opts_default(struct engine_opts *);

struct engine	*engine_new(struct store *, const struct engine_opts *);
void		 engine_free(struct engine *);
const struct engine_opts *engine_get_opts(const struct engine *);

enum engine_err {
	ENGINE_OK,
	ENGINE_BAD_DATA,
	ENGINE_EXECUTION,
	ENGINE_TIMEOUT,
	ENGINE_INTERNAL,
};

struct engine_error {
	enum engine_err	kind;
	char		msg[1024];
};

struct engine_series {
	const struct label	*labels;
	size_t			 nlabels;
	const int64_t		*t;		/* milliseconds */
	const double		*v;
	size_t			 n;
};

struct engine_result {
	enum q_type		 type;	/* scalar, vector, matrix,
					   string */
	int64_t			 t;	/* scalar and string */
	double			 scalar;
	const char		*string;
	struct engine_series	*series;	/* vector: one point each */
	size_t			 nseries;
	void			*priv;
};

/*
 * Evaluate QUERY (LEN bytes) at START (an instant query: step 0 and
 * end == start) or at every START + k*STEP up to END.  timeout_ms 0 takes
 * the engine's.  A range query of a range-vector expression is refused as
 * Prometheus refuses it.
 */
int		 engine_query(struct engine *, const char *query, size_t len,
		    int64_t start, int64_t end, int64_t step,
		    int64_t timeout_ms, struct engine_result **out,
		    struct engine_error *err);
/* The same for an already parsed expression (alert rules). */
int		 engine_eval(struct engine *, const struct q_expr *,
		    int64_t start, int64_t end, int64_t step,
		    int64_t timeout_ms, struct engine_result **out,
		    struct engine_error *err);
void		 engine_result_free(struct engine_result *);

#endif
