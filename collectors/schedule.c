/*
 * schedule: aligned ticks, backoff and timestamps for target runs (see sched.h).
 */
#include "config.h"

#include <stdint.h>

#include "schedule.h"

int64_t
sched_offset(const char *key, int64_t interval_ms)
{
	uint64_t	h = 14695981039346656037ULL;	/* FNV-1a */
	const unsigned char *p;

	if (interval_ms <= 0)
		return 0;
	for (p = (const unsigned char *)key; *p != '\0'; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return (int64_t)(h % (uint64_t)interval_ms);
}

int64_t
sched_next_tick(int64_t now_ms, int64_t interval_ms, int64_t offset_ms)
{
	int64_t base, k;

	if (interval_ms <= 0)
		return now_ms + 1;
	base = now_ms - offset_ms;
	/* Floor division that is right for negative values too. */
	k = base / interval_ms;
	if (base % interval_ms < 0)
		k--;
	return (k + 1) * interval_ms + offset_ms;
}

int64_t
sched_after_run(int64_t now_ms, int64_t interval_ms, int64_t offset_ms,
    unsigned failures, int64_t cap_ms)
{
	int64_t wait = 0;

	if (failures >= 2) {
		unsigned shift = failures - 1;

		wait = shift >= 30 ? cap_ms : interval_ms * ((int64_t)1 << shift);
		if (wait > cap_ms)
			wait = cap_ms;
		/* The next tick after now + wait - interval: skips wait/interval
		   ticks while staying on the grid. */
		wait -= interval_ms;
		if (wait < 0)
			wait = 0;
	}
	return sched_next_tick(now_ms + wait, interval_ms, offset_ms);
}

int64_t
sched_stamp(int64_t tick_ms, int64_t start_ms, int64_t tolerance_ms)
{
	int64_t d = start_ms - tick_ms;

	if (d < 0)
		d = -d;
	return d <= tolerance_ms ? tick_ms : start_ms;
}
