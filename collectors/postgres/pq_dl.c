/*
 * pq_dl: the table of libpq's functions, filled from the library loaded
 * by its SONAME when a [postgres] section is built (see pq_dl.h).
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>

#include "dynlib.h"
#include "pq_dl.h"
#include "xmalloc.h"

static const struct dynlib_sym pq_dl_syms[] = {
#define PQ_DL_SYM(f)	{ #f, offsetof(struct pq_dl, f) },
	PQ_DL_FUNCTIONS(PQ_DL_SYM)
#undef PQ_DL_SYM
};

struct pq_dl *
pq_dl_new(char *err, size_t errlen)
{
	struct pq_dl *pq = xcalloc(1, sizeof(*pq));

	pq->handle = dynlib_open(LIBPQ_SONAME, pq_dl_syms,
	    sizeof(pq_dl_syms) / sizeof(pq_dl_syms[0]), pq, err, errlen);
	if (pq->handle == NULL) {
		free(pq);
		return NULL;
	}
	return pq;
}

void
pq_dl_free(struct pq_dl *pq)
{
	if (pq == NULL)
		return;
	dynlib_close(pq->handle);
	free(pq);
}
