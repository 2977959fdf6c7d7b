/*
 * memtrim: batch malloc_trim calls until the writers are quiet (see
 * memtrim.h).
 *
 * Each note bumps a sequence number.  A periodic timer compares it with
 * the one it saw the tick before: unchanged and not yet trimmed means a
 * whole period passed without a note, so it trims.  Writers never wait
 * for the loop, and the loop never trims in the middle of a burst.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <event2/event.h>

#include "memtrim.h"
#include "xmalloc.h"

struct memtrim {
	struct event		*tick;
	_Atomic uint64_t	 seq;		/* notes so far */
	uint64_t		 seen;		/* seq at the last tick */
	uint64_t		 trimmed;	/* seq at the last trim */
	uint64_t		 count;
};

static void
memtrim_tick(evutil_socket_t fd, short what, void *arg)
{
	struct memtrim	*mt = arg;
	uint64_t	 seq = atomic_load_explicit(&mt->seq,
			    memory_order_relaxed);

	(void)fd;
	(void)what;
	if (seq == mt->seen && seq != mt->trimmed) {
#ifdef __GLIBC__
		malloc_trim(0);
#endif
		mt->trimmed = seq;
		mt->count++;
	}
	mt->seen = seq;
}

struct memtrim *
memtrim_new(struct event_base *base, unsigned quiet_ms)
{
	struct memtrim	*mt = xcalloc(1, sizeof(*mt));
	struct timeval	 tv = { quiet_ms / 1000, (quiet_ms % 1000) * 1000 };

	atomic_init(&mt->seq, 0);
	if ((mt->tick = event_new(base, -1, EV_PERSIST, memtrim_tick,
	    mt)) == NULL || event_add(mt->tick, &tv) == -1) {
		memtrim_free(mt);
		return NULL;
	}
	return mt;
}

void
memtrim_free(struct memtrim *mt)
{
	if (mt == NULL)
		return;
	if (mt->tick != NULL)
		event_free(mt->tick);
	free(mt);
}

void
memtrim_note(struct memtrim *mt)
{
	if (mt != NULL)
		atomic_fetch_add_explicit(&mt->seq, 1, memory_order_relaxed);
}

uint64_t
memtrim_count(const struct memtrim *mt)
{
	return mt != NULL ? mt->count : 0;
}
