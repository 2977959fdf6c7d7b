/*
 * memtrim: batch malloc_trim calls until the writers are quiet (see
 * memtrim.h).
 *
 * A note (re)arms a one-shot timer on the event loop, so the trim comes
 * QUIET after the last note of a burst and an idle daemon never wakes for
 * it.  libevent's thread support (on before the base was made, as
 * worker.h needs) lets any thread arm it.  Writers never wait for the
 * loop, and the loop never trims in the middle of a burst.
 */
#include "config.h"

#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <event2/event.h>

#include "memtrim.h"
#include "xmalloc.h"

struct memtrim {
	struct event	*timer;
	struct timeval	 quiet;
	uint64_t	 count;		/* the loop's only */
};

static void
memtrim_fire(evutil_socket_t fd, short what, void *arg)
{
	struct memtrim *mt = arg;

	(void)fd;
	(void)what;
#ifdef __GLIBC__
	malloc_trim(0);
#endif
	mt->count++;
}

struct memtrim *
memtrim_new(struct event_base *base, unsigned quiet_ms)
{
	struct memtrim *mt = xcalloc(1, sizeof(*mt));

	mt->quiet.tv_sec = quiet_ms / 1000;
	mt->quiet.tv_usec = (quiet_ms % 1000) * 1000;
	if ((mt->timer = evtimer_new(base, memtrim_fire, mt)) == NULL) {
		free(mt);
		return NULL;
	}
	return mt;
}

void
memtrim_free(struct memtrim *mt)
{
	if (mt == NULL)
		return;
	event_free(mt->timer);
	free(mt);
}

void
memtrim_note(struct memtrim *mt)
{
	/* Pending already: pushed back to QUIET from now. */
	if (mt != NULL)
		(void)evtimer_add(mt->timer, &mt->quiet);
}

uint64_t
memtrim_count(const struct memtrim *mt)
{
	return mt != NULL ? mt->count : 0;
}
