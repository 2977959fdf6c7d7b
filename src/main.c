/*
 * main: monitord's command line.
 */
#include "config.h"

#include <stdio.h>

int
main(void)
{
	printf("monitord %s\n", PACKAGE_VERSION);
	return 0;
}
