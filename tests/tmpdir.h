/*
 * tmpdir: scratch directories for the store's tests, made under /tmp and
 * removed with everything in them.  Header-only; test programs only.
 */
#ifndef MONITORD_TESTS_TMPDIR_H
#define MONITORD_TESTS_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

static int
tmpdir_rm_entry(const char *p, const struct stat *sb, int flag,
    struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

/* A new directory /tmp/NAME.XXXXXX (malloc'd path), or NULL. */
static inline char *
tmpdir_make(const char *name)
{
	char	*d;

	if (asprintf(&d, "/tmp/%s.XXXXXX", name) == -1)
		return NULL;
	if (mkdtemp(d) == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

/* Remove DIR and everything below it. */
static inline void
tmpdir_remove(const char *dir)
{
	nftw(dir, tmpdir_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
