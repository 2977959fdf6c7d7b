/*
 * schedule: when each target runs.
 *
 * Pure arithmetic on wall-clock milliseconds, kept apart from the event loop
 * so tests can drive it with injected time.  Targets run on aligned ticks,
 * tick = k * interval + offset, where the offset is a stable hash of the
 * target's identity: runs spread over the interval (no thundering herd at
 * :00), do not drift (the next tick is computed from the grid, never as
 * "now + interval"), and the same target keeps the same phase across
 * restarts, as Prometheus does.
 */
#ifndef MONITORD_SCHED_H
#define MONITORD_SCHED_H

#include <stdint.h>

/* A stable offset in [0, interval) derived from KEY (e.g. "proc/host"). */
int64_t	sched_offset(const char *key, int64_t interval_ms);
/* The first tick strictly after NOW. */
int64_t	sched_next_tick(int64_t now_ms, int64_t interval_ms, int64_t offset_ms);
/*
 * The tick to run next after a run that ended at NOW, given the number of
 * consecutive failures so far (0 after a success).  From the second failure
 * in a row, the wait between runs doubles (2, 4, 8 ... intervals, staying on
 * the grid) up to CAP, so a dead target is not hammered; a success returns
 * to every tick.  A run that overran its next tick skips it (the core counts that).
 */
int64_t	sched_after_run(int64_t now_ms, int64_t interval_ms, int64_t offset_ms,
	    unsigned failures, int64_t cap_ms);
/*
 * The timestamp of a run's samples: the scheduled tick when the run started
 * within TOLERANCE of it (timer latency would otherwise add jitter that costs
 * the codec about 1.7 bytes per sample), else the real start time.
 */
int64_t	sched_stamp(int64_t tick_ms, int64_t start_ms, int64_t tolerance_ms);

#endif
