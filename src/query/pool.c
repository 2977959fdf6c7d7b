/*
 * pool: persistent threads for the parallel parts of an evaluation (see
 * pool.h).
 *
 * A run puts its parts 1..NT-1 on one queue as tasks that live in the
 * run's own frame.  A pool thread takes the first task, runs it and counts
 * it done; the caller, once part 0 is done, takes back every task of its
 * run still queued (nobody started them), runs them, and waits for the
 * ones a pool thread took.  No task outlives its run's frame: it leaves the
 * queue before it runs, and the caller returns only when all have run.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/queue.h>

#include "query/pool.h"
#include "xmalloc.h"

struct run;

struct task {
	TAILQ_ENTRY(task)	 entry;
	struct run		*run;
	void			*part;
	int			 queued;
};

struct run {
	void			*(*fn)(void *);
	unsigned		 taken;		/* by pool threads */
	unsigned		 done;		/* of those */
	pthread_cond_t		 cv;		/* done caught up with taken */
	struct task		 tasks[POOL_MAX_PARTS];
};

TAILQ_HEAD(taskq, task);

struct pool {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;		/* a task queued, or stop */
	struct taskq		 queue;
	pthread_t		 th[POOL_MAX_PARTS];
	unsigned		 want;		/* threads to start */
	unsigned		 nth;		/* started */
	int			 tried;		/* started them (or failed) */
	int			 stop;
};

static void *
pool_main(void *arg)
{
	struct pool	*p = arg;
	struct task	*t;
	struct run	*r;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && TAILQ_EMPTY(&p->queue))
			pthread_cond_wait(&p->cv, &p->mu);
		if ((t = TAILQ_FIRST(&p->queue)) == NULL)
			break;			/* stopping, nothing left */
		TAILQ_REMOVE(&p->queue, t, entry);
		t->queued = 0;
		r = t->run;
		r->taken++;
		pthread_mutex_unlock(&p->mu);
		r->fn(t->part);
		pthread_mutex_lock(&p->mu);
		if (++r->done == r->taken)
			pthread_cond_signal(&r->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct pool *
pool_new(unsigned nthreads)
{
	struct pool *p = xcalloc(1, sizeof(*p));

	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	TAILQ_INIT(&p->queue);
	p->want = nthreads < POOL_MAX_PARTS ? nthreads : POOL_MAX_PARTS;
	return p;
}

void
pool_free(struct pool *p)
{
	unsigned k;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (k = 0; k < p->nth; k++)
		pthread_join(p->th[k], NULL);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* Called with the lock held. */
static void
pool_start(struct pool *p)
{
	p->tried = 1;
	while (p->nth < p->want &&
	    pthread_create(&p->th[p->nth], NULL, pool_main, p) == 0)
		p->nth++;
}

void
pool_run(struct pool *p, unsigned nt, void *(*fn)(void *), void *parts,
    size_t size)
{
	struct run	 r;
	struct task	*mine[POOL_MAX_PARTS];
	unsigned	 k, nmine = 0;

	if (nt > POOL_MAX_PARTS)
		nt = POOL_MAX_PARTS;
	if (nt > 1 && p != NULL) {
		r.fn = fn;
		r.taken = r.done = 0;
		pthread_cond_init(&r.cv, NULL);
		pthread_mutex_lock(&p->mu);
		if (!p->tried)
			pool_start(p);
		if (p->nth > 0) {
			for (k = 1; k < nt; k++) {
				r.tasks[k].run = &r;
				r.tasks[k].part = (char *)parts + k * size;
				r.tasks[k].queued = 1;
				TAILQ_INSERT_TAIL(&p->queue, &r.tasks[k],
				    entry);
			}
			if (nt - 1 >= p->nth)
				pthread_cond_broadcast(&p->cv);
			else
				for (k = 1; k < nt; k++)
					pthread_cond_signal(&p->cv);
		}
		pthread_mutex_unlock(&p->mu);
		if (p->nth > 0) {
			fn(parts);
			/* Take back what no pool thread has started. */
			pthread_mutex_lock(&p->mu);
			for (k = 1; k < nt; k++)
				if (r.tasks[k].queued) {
					TAILQ_REMOVE(&p->queue, &r.tasks[k],
					    entry);
					mine[nmine++] = &r.tasks[k];
				}
			pthread_mutex_unlock(&p->mu);
			for (k = 0; k < nmine; k++)
				fn(mine[k]->part);
			pthread_mutex_lock(&p->mu);
			while (r.done < r.taken)
				pthread_cond_wait(&r.cv, &p->mu);
			pthread_mutex_unlock(&p->mu);
			pthread_cond_destroy(&r.cv);
			return;
		}
		pthread_cond_destroy(&r.cv);
	}
	for (k = 0; k < nt; k++)
		fn((char *)parts + k * size);
}
