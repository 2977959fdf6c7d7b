/*
 * api_query: the Prometheus-compatible query API.
 *
 *	GET|POST /api/v1/query		query, time, timeout
 *	GET|POST /api/v1/query_range	query, start, end, step, timeout
 *	GET|POST /api/query		instant without start and end,
 *					a range query with them (the step
 *					defaults to a 250th of the range,
 *					at least 1s)
 *	GET|POST /api/v1/series		match[], start, end
 *	GET|POST /api/v1/labels		match[], start, end
 *	GET      /api/v1/label/NAME/values	match[], start, end
 *	GET      /api/v1/metadata	metric, limit: type and help of every
 *					metric monitord produces (from the
 *					catalogues, not from the store)
 *	GET      /api/v1/status/buildinfo
 *
 * Answers are the JSON Prometheus 2.42 gives, byte for byte where it is
 * deterministic: values as Go's FormatFloat 'f' -1 strings, timestamps in
 * seconds with milliseconds, errors as {"status":"error","errorType":...}
 * with 400 bad_data, 422 execution, 503 timeout.  Queries and index reads
 * run on the worker given to api_query_new, several at once if it has
 * several threads; the reply is sent from the event loop.  The worker's
 * queue being full answers 503 unavailable.
 */
#ifndef MONITORD_API_QUERY_H
#define MONITORD_API_QUERY_H

#include "buf.h"

struct api_query;
struct engine;
struct engine_result;
struct httpd;
struct store;
struct worker;

struct api_query *api_query_new(struct httpd *, struct store *,
		    struct worker *);
void		 api_query_free(struct api_query *);
/* The engine the API evaluates with (for the alert evaluator). */
struct engine	*api_query_engine(struct api_query *);

/* The "data" object of a query answer, as Prometheus writes it. */
void		 api_query_write_result(const struct engine_result *,
		    struct buf *);
/* A JSON string with Go's escaping (HTML characters as \u00XX). */
void		 api_json_string(struct buf *, const char *);

#endif
