#include "config.h"
#include "tcheck.h"
static Suite *
store_suite(void)
{
	Suite	*s = suite_create("store");
	return s;
}
TCHECK_MAIN(store_suite)
