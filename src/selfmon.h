/*
 * selfmon: monitord's metrics about itself, in text format: build
 * information, start time and uptime, and the process metrics every
 * Prometheus client exports (CPU, resident and virtual memory, open file
 * descriptors), read from /proc/self.
 */
#ifndef MONITORD_SELFMON_H
#define MONITORD_SELFMON_H

#include <stdint.h>

#include "buf.h"
#include "metric.h"

extern const struct metric_def selfmon_metrics[];

/* START_MS: when the daemon started, ms since the epoch. */
void	selfmon_write(struct buf *, int64_t start_ms);

#endif
