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
#include <sched.h>
#include <stdlib.h>
#include <sys/queue.h>
#include <unistd.h>

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

struct pool;

struct slot {
	struct pool		*p;
	pthread_t		 th;
	pid_t			 tid;		/* 0 until it runs */
	int			 waiting;
	int			 kept_off;	/* CPU + 1 it was kept off */
};

struct pool {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;		/* a task queued, or stop */
	struct taskq		 queue;
	struct slot		 slot[POOL_MAX_PARTS];
	cpu_set_t		 cpus;		/* the process's */
	unsigned		 want;		/* threads to start */
	unsigned		 nth;		/* started */
	int			 tried;		/* started them (or failed) */
	int			 stop;
};

static void *
pool_main(void *arg)
{
	struct slot	*sl = arg;
	struct pool	*p = sl->p;
	struct task	*t;
	struct run	*r;
	int		 kept_off;

	pthread_mutex_lock(&p->mu);
	sl->tid = gettid();
	for (;;) {
		sl->waiting = 1;
		while (!p->stop && TAILQ_EMPTY(&p->queue))
			pthread_cond_wait(&p->cv, &p->mu);
		sl->waiting = 0;
		if ((t = TAILQ_FIRST(&p->queue)) == NULL)
			break;			/* stopping, nothing left */
		TAILQ_REMOVE(&p->queue, t, entry);
		t->queued = 0;
		r = t->run;
		r->taken++;
		kept_off = sl->kept_off;
		sl->kept_off = 0;
		pthread_mutex_unlock(&p->mu);
		/* Running on another CPU now; from here the scheduler may
		   move it where it likes. */
		if (kept_off)
			sched_setaffinity(0, sizeof(p->cpus), &p->cpus);
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
		pthread_join(p->slot[k].th, NULL);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* Called with the lock held. */
static void
pool_start(struct pool *p)
{
	p->tried = 1;
	if (sched_getaffinity(0, sizeof(p->cpus), &p->cpus) == -1)
		CPU_ZERO(&p->cpus);
	while (p->nth < p->want) {
		p->slot[p->nth].p = p;
		if (pthread_create(&p->slot[p->nth].th, NULL, pool_main,
		    &p->slot[p->nth]) != 0)
			break;
		p->nth++;
	}
}

/*
 * Called with the lock held, before waking the threads.  A thread woken
 * here would start on the caller's CPU and wait there, busy as it is,
 * while the others sleep: Linux, on the 2-CPU VMs we measured, woke a
 * waiting thread onto its waker's busy CPU 197 times out of 200 with the
 * other idle.  So the waiting threads are kept off the caller's CPU for
 * the wake; each lets go as soon as it runs.
 */
static void
keep_off_caller(struct pool *p)
{
	cpu_set_t	set;
	int		cpu = sched_getcpu();
	unsigned	k;

	if (cpu < 0 || CPU_COUNT(&p->cpus) < 2 || !CPU_ISSET(cpu, &p->cpus))
		return;
	set = p->cpus;
	CPU_CLR(cpu, &set);
	for (k = 0; k < p->nth; k++) {
		struct slot *sl = &p->slot[k];

		if (sl->waiting && sl->tid > 0 && sl->kept_off != cpu + 1 &&
		    sched_setaffinity(sl->tid, sizeof(set), &set) == 0)
			sl->kept_off = cpu + 1;
	}
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
			keep_off_caller(p);
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
