/*
 * rmq_dl: the table of librabbitmq's functions, filled from the library
 * loaded by its SONAME when a canary starts (see rmq_dl.h).
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>

#include "dynlib.h"
#include "rmq_dl.h"
#include "xmalloc.h"

static const struct dynlib_sym rmq_dl_syms[] = {
#define RMQ_DL_SYM(f)	{ #f, offsetof(struct rmq_dl, f) },
	RMQ_DL_FUNCTIONS(RMQ_DL_SYM)
#undef RMQ_DL_SYM
};

struct rmq_dl *
rmq_dl_new(char *err, size_t errlen)
{
	struct rmq_dl *lib = xcalloc(1, sizeof(*lib));

	lib->handle = dynlib_open(RABBITMQ_SONAME, rmq_dl_syms,
	    sizeof(rmq_dl_syms) / sizeof(rmq_dl_syms[0]), lib, err, errlen);
	if (lib->handle == NULL) {
		free(lib);
		return NULL;
	}
	return lib;
}

void
rmq_dl_free(struct rmq_dl *lib)
{
	if (lib == NULL)
		return;
	dynlib_close(lib->handle);
	free(lib);
}
