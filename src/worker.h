/*
 * worker: run slow work (store writes that wait for the disk, queries) off
 * the event loop, and come back to the loop with the result.
 *
 * A worker is a FIFO of jobs served by one or more threads.  Each job's
 * `run` runs on a worker thread; its `done` then runs on the event loop's
 * thread, so a handler can answer its HTTP request from there.  With one
 * thread, jobs run one at a time in the order they were queued; with N,
 * up to N run at once, started in that order.  The queue is bounded (jobs
 * running count too): worker_submit refuses a job when it is full, and the
 * caller answers 503.
 *
 * Requires libevent's pthread support (evthread_use_pthreads) to be on
 * before the event base was created; main() does that.
 */
#ifndef MONITORD_WORKER_H
#define MONITORD_WORKER_H

#include <stddef.h>

struct event_base;
struct worker;

/* NTHREADS threads (at least 1); NULL if no thread could start. */
struct worker	*worker_new(struct event_base *, size_t max_queued,
		    unsigned nthreads);
/* Runs RUN(arg) on the worker, then DONE(arg) on the loop.  -1 if the
 * queue is full (nothing runs then). */
int		 worker_submit(struct worker *, void (*run)(void *),
		    void (*done)(void *), void *arg);
size_t		 worker_queued(struct worker *);
/* Whether worker_submit would refuse a job now (queue full, stopping). */
int		 worker_full(struct worker *);
/* Finish every queued job (their done callbacks run), then stop. */
void		 worker_free(struct worker *);

#endif
