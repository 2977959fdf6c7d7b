/*
 * target: the core that runs collectors (see collector.h for the contract
 * a collector kind implements).
 *
 * Each collector section of the config becomes a target: its kind's private
 * state, its schedule, the run in progress, and its health.  The core stamps
 * each run's samples with the job (the section's name), the instance (the
 * kind's answer), the section's extra labels, and adds `up`,
 * `scrape_duration_seconds` and `scrape_samples_scraped`, then hands the
 * batch to the sink (the store).  A failing target becomes data (up 0, its
 * last error on /api/targets) and a rate-limited log line.
 *
 * Runs on the event loop thread.  A slow target never delays another: each
 * run has its own timer and deadline, and the loop never waits on a target.
 */
#ifndef MONITORD_TARGET_H
#define MONITORD_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "conf.h"
#include "metric.h"
#include "sample.h"

struct event_base;
struct targets;

struct targets_opts {
	int64_t		 tolerance_ms;	/* timestamp alignment, sched_stamp() */
	int64_t		 backoff_cap_ms;	/* longest wait after failures */
	/* Receives every finished run's samples; the batch is valid only
	   during the call. */
	void		(*sink)(void *arg, const struct batch *);
	void		*sink_arg;
};

/*
 * Build a target for every collector section of CONF.  NULL with a message
 * in ERR when one cannot be built (nothing is started then).  With a NULL
 * event base the targets are only built and checked (monitord -t): they
 * must not be started.
 */
struct targets	*targets_new(struct event_base *, const struct conf *,
		    const struct targets_opts *, char *err, size_t errlen);
/* Arm every target's first tick. */
void		 targets_start(struct targets *);
/* Cancel runs in progress and free everything; NULL is a no-op. */
void		 targets_free(struct targets *);

size_t		 targets_count(const struct targets *);
/* /api/targets: an array of objects, one per target. */
json_t		*targets_json(const struct targets *);
/* monitord_target_* metrics in text format, and their catalogue. */
extern const struct metric_def targets_metrics[];
void		 targets_write_metrics(const struct targets *, struct buf *);
/* The samples of the last finished run of every target of KIND and JOB
 * (NULL: any), in text format; for /metrics and debugging. */
void		 targets_write_latest(const struct targets *, const char *kind,
		    const char *job, struct buf *);

#endif
