/*
 * worker: a pool of threads over one bounded FIFO of jobs, completions
 * delivered back to the event loop (see worker.h).
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include <event2/event.h>

#include "worker.h"
#include "xmalloc.h"

struct job {
	struct job	*next;
	void		(*run)(void *);
	void		(*done)(void *);
	void		*arg;
	struct event	*ev;		/* fires done() on the loop */
};

struct worker {
	struct event_base	*base;
	pthread_t		*threads;
	unsigned		 nthreads;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct job		*head, *tail;
	size_t			 queued, max;
	int			 stopping;
};

static void
job_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct job *j = arg;

	if (j->done != NULL)
		j->done(j->arg);
	event_free(j->ev);
	free(j);
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;
	struct job	*j;

	for (;;) {
		pthread_mutex_lock(&w->mu);
		while (w->head == NULL && !w->stopping)
			pthread_cond_wait(&w->cv, &w->mu);
		if ((j = w->head) == NULL) {
			pthread_mutex_unlock(&w->mu);
			return NULL;
		}
		w->head = j->next;
		if (w->head == NULL)
			w->tail = NULL;
		pthread_mutex_unlock(&w->mu);

		j->run(j->arg);

		pthread_mutex_lock(&w->mu);
		w->queued--;
		pthread_mutex_unlock(&w->mu);
		event_active(j->ev, EV_TIMEOUT, 1);
	}
}

struct worker *
worker_new(struct event_base *base, size_t max_queued, unsigned nthreads)
{
	struct worker	*w = xcalloc(1, sizeof(*w));

	w->base = base;
	w->max = max_queued;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->threads = xcalloc(nthreads > 0 ? nthreads : 1, sizeof(*w->threads));
	do {
		if (pthread_create(&w->threads[w->nthreads], NULL, worker_main,
		    w) != 0)
			break;
	} while (++w->nthreads < nthreads);
	if (w->nthreads == 0) {
		worker_free(w);
		return NULL;
	}
	return w;
}

int
worker_submit(struct worker *w, void (*run)(void *), void (*done)(void *),
    void *arg)
{
	struct job *j;

	pthread_mutex_lock(&w->mu);
	if (w->queued >= w->max || w->stopping) {
		pthread_mutex_unlock(&w->mu);
		return -1;
	}
	j = xcalloc(1, sizeof(*j));
	j->run = run;
	j->done = done;
	j->arg = arg;
	j->ev = event_new(w->base, -1, 0, job_done_cb, j);
	if (w->tail != NULL)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	w->queued++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

size_t
worker_queued(struct worker *w)
{
	size_t n;

	pthread_mutex_lock(&w->mu);
	n = w->queued;
	pthread_mutex_unlock(&w->mu);
	return n;
}

int
worker_full(struct worker *w)
{
	int full;

	pthread_mutex_lock(&w->mu);
	full = w->queued >= w->max || w->stopping;
	pthread_mutex_unlock(&w->mu);
	return full;
}

void
worker_free(struct worker *w)
{
	unsigned i;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	/* The finished jobs' completions are pending on the loop: run them. */
	event_base_loop(w->base, EVLOOP_NONBLOCK);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w->threads);
	free(w);
}
