/*
 * metric: the catalogue entry of a metric monitord produces.
 *
 * Every collector declares its metrics in one const table of these.  The
 * same table writes the HELP and TYPE lines, feeds monitord-metrics(7), and
 * a test checks that the two agree.  `help` says *why* the metric exists,
 * `labels` lists its labels, space-separated, job and instance excluded.
 */
#ifndef MONITORD_METRIC_H
#define MONITORD_METRIC_H

enum metric_type {
	METRIC_GAUGE,
	METRIC_COUNTER,
	METRIC_HISTOGRAM,
	METRIC_SUMMARY,
	METRIC_UNTYPED,
};

struct metric_def {
	const char		*name;
	enum metric_type	 type;
	const char		*labels;
	const char		*help;
};

const char	*metric_type_name(enum metric_type);

#endif
