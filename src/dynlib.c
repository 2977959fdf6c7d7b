/*
 * dynlib: load a library on demand and resolve a table of its functions
 * (see dynlib.h).
 *
 * POSIX guarantees that dlsym()'s object pointer converts to a function
 * pointer of the same size; the value is copied with memcpy into the
 * member so that no cast between the two kinds of pointer is written.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynlib.h"
#include "xmalloc.h"

_Static_assert(sizeof(void (*)(void)) == sizeof(void *),
    "function and object pointers differ in size");

void *
dynlib_open(const char *soname, const struct dynlib_sym *syms, size_t nsyms,
    void *table, char *err, size_t errlen)
{
	void		*h, *p, **v;
	const char	*why;
	size_t		 i;

	/* RTLD_LOCAL: its symbols resolve no one else's references. */
	if ((h = dlopen(soname, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		why = dlerror();
		snprintf(err, errlen, "%s could not be loaded: %s", soname,
		    why != NULL ? why : "unknown error");
		return NULL;
	}
	v = xreallocarray(NULL, nsyms > 0 ? nsyms : 1, sizeof(*v));
	for (i = 0; i < nsyms; i++) {
		(void)dlerror();
		if ((p = dlsym(h, syms[i].name)) == NULL) {
			why = dlerror();
			snprintf(err, errlen, "%s could not be loaded: %s",
			    soname, why != NULL ? why : "NULL symbol");
			free(v);
			dlclose(h);
			return NULL;
		}
		v[i] = p;
	}
	for (i = 0; i < nsyms; i++)
		memcpy((char *)table + syms[i].offset, &v[i], sizeof(v[i]));
	free(v);
	return h;
}

void
dynlib_close(void *handle)
{
	if (handle != NULL)
		dlclose(handle);
}
