/*
 * api_store: the store's HTTP endpoints and metrics.
 *
 *	POST /api/v1/import/prometheus	text-format lines with millisecond
 *		timestamps (VictoriaMetrics's import format); gzip bodies
 *		are accepted.  The whole body is parsed before anything is
 *		stored: one bad line answers 400 "line N: reason" and stores
 *		nothing.  A good body is on disk before the 204 answer.
 *		extra_label=name=value adds (or overrides) a label on every
 *		sample.
 *	GET|POST /api/v1/export		match[]=selector, start, end: every
 *		stored sample of the matching series, one JSON object per
 *		series and line, as VictoriaMetrics exports them.
 *
 * Writes that wait for the disk run on the worker thread; the event loop
 * only parses and answers.
 */
#ifndef MONITORD_API_STORE_H
#define MONITORD_API_STORE_H

#include "buf.h"
#include "metric.h"

struct api_store;
struct httpd;
struct memtrim;
struct store;
struct worker;

/* MT (may be NULL) is told when an import freed a large body. */
struct api_store *api_store_new(struct httpd *, struct store *,
		    struct worker *, struct memtrim *mt);
void		 api_store_free(struct api_store *);
/* The store's monitord_store_* metrics, monitord_import_* and
 * monitord_heap_trims_total. */
void		 api_store_write_metrics(struct api_store *, struct buf *);
extern const struct metric_def api_store_metrics[];

#endif
