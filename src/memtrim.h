/*
 * memtrim: hand freed heap memory back to the system once the work that
 * freed it has gone quiet.
 *
 * Imports and sealing free their large short-lived buffers in bursts.
 * malloc keeps freed pages for reuse, so a daemon that imported 100 MB
 * once would hold that peak for good unless told (malloc_trim).  Telling
 * it after every request costs more than the request's parse, though:
 * the next import faults every page in again (measured: an import of
 * 24 h of 1,000 series in 16 MB bodies was 25-35 % slower).  So the
 * writers only note what they freed, and the event loop trims once
 * nothing has been noted for a while.
 *
 * Threading: memtrim_note may be called from any thread; the rest on the
 * thread of the event base.
 */
#ifndef MONITORD_MEMTRIM_H
#define MONITORD_MEMTRIM_H

#include <stdint.h>

struct event_base;
struct memtrim;

/* Trims QUIET_MS after the last note; NULL on error. */
struct memtrim	*memtrim_new(struct event_base *, unsigned quiet_ms);
void		 memtrim_free(struct memtrim *);
/* Large buffers were just freed.  NULL: a no-op. */
void		 memtrim_note(struct memtrim *);
/* Trims done so far (monitord_heap_trims_total). */
uint64_t	 memtrim_count(const struct memtrim *);

#endif
