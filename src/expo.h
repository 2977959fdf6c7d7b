/*
 * expo: the Prometheus text exposition format, version 0.0.4 (writer only).
 *
 *	# HELP name text with \\ and \n escaped
 *	# TYPE name counter|gauge|histogram|summary|untyped
 *	name{label="value with \\, \" and \n escaped"} 1.5 1700000000000
 *
 * Everything appends to a struct buf and cannot fail.  Callers hand in
 * names that are already valid (batch_add checks them); the writer escapes
 * only what the format requires in HELP text and label values.  Values are
 * printed by buf_add_double: NaN, +Inf, -Inf, or the shortest round-trip
 * decimal.
 */
#ifndef MONITORD_EXPO_H
#define MONITORD_EXPO_H

#include <stddef.h>
#include <stdint.h>

#include "metric.h"
#include "sample.h"

struct buf;

#define EXPO_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

/* "# HELP" (skipped when help is NULL) and "# TYPE" lines of one family. */
void	expo_help_type(struct buf *, const char *name, enum metric_type,
	    const char *help);

/*
 * One sample line.  The metric name is the value of the "__name__" label
 * (labels[0] in a struct sample); the other labels are written in the order
 * given, except that labels with an empty value are left out (they do not
 * exist in Prometheus's model).  t_ms of 0 writes no timestamp.  Without a
 * "__name__" label nothing is written.
 */
void	expo_sample(struct buf *, const struct label *, size_t n, double v,
	    int64_t t_ms);

/* A catalogued metric with no labels: its HELP and TYPE, then one sample
 * (monitord's own gauges and counters). */
void	expo_metric1(struct buf *, const struct metric_def *, double v);

/*
 * Every sample of a batch, grouped into families with one HELP/TYPE header
 * each.  Families come sorted by name; inside a family the samples keep
 * their batch order.
 *
 * A sample's family is its own name when the catalogue (a NULL-name-ended
 * array, or NULL) declares that name.  Otherwise NAME_bucket, NAME_sum and
 * NAME_count join family NAME when the catalogue declares NAME a histogram
 * (_bucket, _sum, _count) or a summary (_sum, _count), or, without a
 * catalogue entry, when the batch itself shows it: a NAME_bucket sample with
 * an "le" label makes NAME a histogram, a NAME sample with a "quantile"
 * label makes it a summary.  Families the catalogue does not know get
 * "# TYPE name untyped" (or the inferred type) and no HELP.
 *
 * with_timestamps: write each sample's timestamp (when not 0).
 */
void	expo_write_batch(struct buf *, const struct batch *,
	    const struct metric_def *catalog, int with_timestamps);

#endif
