/*
 * tcheck: the main() of every Check suite.  Results go to stdout as TAP so
 * that the automake harness counts each test case (CI reads the totals).
 */
#ifndef MONITORD_TCHECK_H
#define MONITORD_TCHECK_H

#include <check.h>
#include <stdlib.h>

#define TCHECK_MAIN(suite_fn)						\
int									\
main(void)								\
{									\
	SRunner	*sr = srunner_create(suite_fn());			\
	int	 failed;						\
									\
	srunner_set_tap(sr, "-");					\
	srunner_run_all(sr, CK_SILENT);					\
	failed = srunner_ntests_failed(sr);				\
	srunner_free(sr);						\
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;		\
}

#endif
