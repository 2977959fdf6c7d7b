/*
 * check_pool: the query engine's part threads (src/query/pool.h).  Every
 * part runs exactly once, whoever runs it; part 0 runs on the caller; a
 * pool without threads, or asked for more parts than it has threads, still
 * runs them all; runs from several threads at once do not mix their parts;
 * a pool thread runs a part free to run on any of the process's CPUs.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/pool.h"
#include "tcheck.h"

struct part {
	unsigned	 runs;		/* times this part ran */
	pthread_t	 by;		/* the thread that ran it */
	uint64_t	 sum;		/* some work, so parts overlap */
	unsigned	 spin;
	int		 ncpus;		/* it could run on */
};

static int all_cpus;			/* the process's, at the start */

static void *
part_fn(void *arg)
{
	struct part	*p = arg;
	unsigned	 i;

	cpu_set_t	 set;

	__atomic_add_fetch(&p->runs, 1, __ATOMIC_RELAXED);
	p->by = pthread_self();
	p->ncpus = sched_getaffinity(0, sizeof(set), &set) == 0 ?
	    CPU_COUNT(&set) : -1;
	for (i = 0; i < p->spin; i++)
		p->sum += i ^ (p->sum >> 3);
	return NULL;
}

/* Runs NT parts on P and checks each ran once, part 0 here. */
static void
run_once(struct pool *p, unsigned nt, unsigned spin)
{
	struct part	parts[POOL_MAX_PARTS];
	unsigned	k;

	memset(parts, 0, sizeof(parts));
	for (k = 0; k < POOL_MAX_PARTS; k++)
		parts[k].spin = spin * (k + 1);
	pool_run(p, nt, part_fn, parts, sizeof(parts[0]));
	for (k = 0; k < POOL_MAX_PARTS; k++) {
		ck_assert_uint_eq(parts[k].runs, k < nt ? 1 : 0);
		/* kept off the caller's CPU to be woken, not to run */
		if (k < nt)
			ck_assert_int_eq(parts[k].ncpus, all_cpus);
	}
	ck_assert(pthread_equal(parts[0].by, pthread_self()));
}

START_TEST(test_each_part_once)
{
	struct pool	*p = pool_new(3);
	unsigned	 i, nt;

	for (i = 0; i < 2000; i++)
		for (nt = 1; nt <= POOL_MAX_PARTS; nt++)
			run_once(p, nt, i % 7 == 0 ? 20000 : i % 5);
	pool_free(p);
}
END_TEST

START_TEST(test_fewer_threads_than_parts)
{
	struct pool	*p = pool_new(1), *none = pool_new(0);
	struct part	 parts[POOL_MAX_PARTS];
	unsigned	 i, k;

	for (i = 0; i < 500; i++)
		run_once(p, POOL_MAX_PARTS, i % 3 ? 0 : 5000);
	/* No threads: all on the caller. */
	memset(parts, 0, sizeof(parts));
	pool_run(none, POOL_MAX_PARTS, part_fn, parts, sizeof(parts[0]));
	for (k = 0; k < POOL_MAX_PARTS; k++) {
		ck_assert_uint_eq(parts[k].runs, 1);
		ck_assert(pthread_equal(parts[k].by, pthread_self()));
	}
	/* A NULL pool too, and more parts than a run takes. */
	memset(parts, 0, sizeof(parts));
	pool_run(NULL, 2, part_fn, parts, sizeof(parts[0]));
	ck_assert_uint_eq(parts[0].runs + parts[1].runs, 2);
	memset(parts, 0, sizeof(parts));
	pool_run(p, POOL_MAX_PARTS + 3, part_fn, parts, sizeof(parts[0]));
	for (k = 0; k < POOL_MAX_PARTS; k++)
		ck_assert_uint_eq(parts[k].runs, 1);
	pool_free(p);
	pool_free(none);
	pool_free(NULL);
}
END_TEST

static void *
caller(void *arg)
{
	struct pool	*p = arg;
	unsigned	 i;

	for (i = 0; i < 1000; i++)
		run_once(p, 1 + i % POOL_MAX_PARTS, i % 4 ? 100 : 10000);
	return NULL;
}

START_TEST(test_concurrent_runs)
{
	struct pool	*p = pool_new(2);
	pthread_t	 th[4];
	unsigned	 k;

	for (k = 0; k < 4; k++)
		ck_assert_int_eq(pthread_create(&th[k], NULL, caller, p), 0);
	for (k = 0; k < 4; k++)
		pthread_join(th[k], NULL);
	pool_free(p);
}
END_TEST

/* Made and freed without a run: no thread was ever started. */
START_TEST(test_unused)
{
	pool_free(pool_new(3));
}
END_TEST

static Suite *
pool_suite(void)
{
	Suite		*s = suite_create("pool");
	TCase		*tc = tcase_create("core");
	cpu_set_t	 set;

	all_cpus = sched_getaffinity(0, sizeof(set), &set) == 0 ?
	    CPU_COUNT(&set) : -1;
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_each_part_once);
	tcase_add_test(tc, test_fewer_threads_than_parts);
	tcase_add_test(tc, test_concurrent_runs);
	tcase_add_test(tc, test_unused);
	suite_add_tcase(s, tc);
	return s;
}

TCHECK_MAIN(pool_suite)
