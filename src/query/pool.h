/*
 * pool: a few threads that run the parts of one evaluation beside the
 * thread that asks (query/value.h, "Parallel parts").
 *
 * Why not a thread per part: a new thread starts on its parent's CPU, and
 * the scheduler leaves it queued there for milliseconds while the other
 * CPUs sleep, so that a query split in two often ran its halves one after
 * the other.  A waiting thread woken by a busy one fared no better (Linux
 * put it on the waker's CPU 197 times in 200 on our 2-CPU VMs), so the
 * pool's waiting threads are kept off the caller's CPU while they are
 * woken (sched_setaffinity), and each lets go of that as soon as it runs.
 *
 * pool_run(P, NT, FN, PARTS, SIZE) runs FN on each of NT parts (an array
 * of SIZE-byte structs) and returns when all are done: part 0 on the
 * calling thread, the others on the pool's threads, except those no pool
 * thread has taken by the time the caller is done with its own, which the
 * caller then runs itself.  So a part never waits behind other queries'
 * parts, and a pool busy with other queries costs only the parallelism.
 * At most POOL_MAX_PARTS parts.
 *
 * The threads start on the first pool_run that has work for them (not at
 * pool_new: a process that forks after setting up has none yet), and wait
 * on a condition variable between parts.  Any thread may call pool_run, any
 * number at once.  pool_free(NULL) is a no-op; pool_free must not run
 * while a pool_run does.  A pool whose threads cannot start runs every
 * part on the calling thread.
 */
#ifndef MONITORD_QUERY_POOL_H
#define MONITORD_QUERY_POOL_H

#include <stddef.h>

#define POOL_MAX_PARTS	4

struct pool;

/* NTHREADS threads at most (0: none, every part runs on the caller). */
struct pool	*pool_new(unsigned nthreads);
void		 pool_free(struct pool *);
void		 pool_run(struct pool *, unsigned nt, void *(*fn)(void *),
		    void *parts, size_t size);

#endif
