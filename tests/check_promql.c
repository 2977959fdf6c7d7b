#include "config.h"
#include "tcheck.h"
static Suite *
promql_suite(void)
{
	return suite_create("promql");
}
TCHECK_MAIN(promql_suite)
