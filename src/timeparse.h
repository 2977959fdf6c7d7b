/*
 * timeparse: the time and duration parameters of the HTTP API, as the
 * Prometheus API accepts them: Unix seconds with an optional fraction
 * ("1700000000.123") or RFC 3339 ("2023-11-14T22:13:20.123Z",
 * "2023-11-14T23:13:20+01:00"); durations as PromQL durations ("5m",
 * "1h30m") or float seconds ("15", "0.5").
 */
#ifndef MONITORD_TIMEPARSE_H
#define MONITORD_TIMEPARSE_H

#include <stddef.h>
#include <stdint.h>

/* 0 with milliseconds since the epoch, or -1 with a message. */
int	timeparse_time(const char *, int64_t *ms, char *err, size_t errlen);
/* 0 with milliseconds (> 0), or -1 with a message. */
int	timeparse_duration(const char *, int64_t *ms, char *err, size_t errlen);

#endif
