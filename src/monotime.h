/*
 * monotime: the monotonic clock in microseconds, for measuring durations
 * and deadlines (never for timestamps of samples).  Header only: a call
 * is one clock_gettime.
 */
#ifndef MONITORD_MONOTIME_H
#define MONITORD_MONOTIME_H

#include <stdint.h>
#include <time.h>

static inline int64_t
monotime_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif
