/*
 * Scheduler arithmetic with injected time: aligned ticks, no drift,
 * backoff on failure, timestamp alignment.
 */
#include "config.h"

#include "tcheck.h"
#include "collectors/schedule.h"

START_TEST(test_offset_stable)
{
	int64_t a = sched_offset("proc/host/h1", 15000);

	ck_assert_int_eq(a, sched_offset("proc/host/h1", 15000));
	ck_assert_int_ge(a, 0);
	ck_assert_int_lt(a, 15000);
	ck_assert_int_ne(a, sched_offset("proc/host/h2", 15000));
	ck_assert_int_eq(sched_offset("x", 0), 0);
}
END_TEST

START_TEST(test_next_tick_grid)
{
	/* interval 15 s, offset 4 s: ticks at ...4000, 19000, 34000 ... */
	ck_assert_int_eq(sched_next_tick(0, 15000, 4000), 4000);
	ck_assert_int_eq(sched_next_tick(3999, 15000, 4000), 4000);
	ck_assert_int_eq(sched_next_tick(4000, 15000, 4000), 19000);
	ck_assert_int_eq(sched_next_tick(18999, 15000, 4000), 19000);
	ck_assert_int_eq(sched_next_tick(1700000000123LL, 15000, 4000),
	    1700000014000LL);
	/* negative time still lands on the grid */
	ck_assert_int_eq(sched_next_tick(-1, 15000, 4000), 4000);
	ck_assert_int_eq(sched_next_tick(-11001, 15000, 4000), -11000);
}
END_TEST

START_TEST(test_no_drift)
{
	/* A run that takes 700 ms each time still starts on the grid. */
	int64_t	tick = sched_next_tick(1000, 5000, 250), i;

	for (i = 0; i < 1000; i++) {
		int64_t end = tick + 700;

		tick = sched_after_run(end, 5000, 250, 0, 300000);
		ck_assert_int_eq((tick - 250) % 5000, 0);
	}
	ck_assert_int_eq(tick, 5000 * 1001 + 250);
}
END_TEST

START_TEST(test_backoff)
{
	/* run ends 100 ms after the tick at 10000; interval 10 s, offset 0 */
	ck_assert_int_eq(sched_after_run(10100, 10000, 0, 0, 300000), 20000);
	ck_assert_int_eq(sched_after_run(10100, 10000, 0, 1, 300000), 20000);
	ck_assert_int_eq(sched_after_run(10100, 10000, 0, 2, 300000), 30000);
	ck_assert_int_eq(sched_after_run(10100, 10000, 0, 3, 300000), 50000);
	ck_assert_int_eq(sched_after_run(10100, 10000, 0, 4, 300000), 90000);
	/* capped at 5 minutes */
	ck_assert_int_eq(sched_after_run(10100, 10000, 0, 9, 300000), 310000);
	ck_assert_int_eq(sched_after_run(10100, 10000, 0, 200, 300000), 310000);
}
END_TEST

START_TEST(test_stamp)
{
	ck_assert_int_eq(sched_stamp(15000, 15003, 25), 15000);
	ck_assert_int_eq(sched_stamp(15000, 14990, 25), 15000);
	ck_assert_int_eq(sched_stamp(15000, 15025, 25), 15000);
	ck_assert_int_eq(sched_stamp(15000, 15026, 25), 15026);
	ck_assert_int_eq(sched_stamp(15000, 15003, 0), 15003);
}
END_TEST

static Suite *
sched_suite(void)
{
	Suite	*s = suite_create("sched");
	TCase	*tc = tcase_create("sched");

	tcase_add_test(tc, test_offset_stable);
	tcase_add_test(tc, test_next_tick_grid);
	tcase_add_test(tc, test_no_drift);
	tcase_add_test(tc, test_backoff);
	tcase_add_test(tc, test_stamp);
	suite_add_tcase(s, tc);
	return s;
}

TCHECK_MAIN(sched_suite)
