/*
 * buf: a growable byte buffer, always NUL-terminated for convenience.
 *
 * Used to build responses, exposition text and keys.  Growth never fails
 * (xmalloc); callers that take untrusted sizes bound them first.
 */
#ifndef MONITORD_BUF_H
#define MONITORD_BUF_H

#include <stddef.h>

struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

#define BUF_INIT { NULL, 0, 0 }

void	 buf_reserve(struct buf *, size_t);
void	 buf_add(struct buf *, const void *, size_t);
void	 buf_addc(struct buf *, char);
void	 buf_adds(struct buf *, const char *);
void	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Append a double the way Prometheus's text format prints it (Go's
 * strconv 'g', shortest): NaN, +Inf, -Inf, 0.1, 1500, 1.5e+06, 1e-05. */
void	 buf_add_double(struct buf *, double);
/* The way Prometheus's JSON API prints it (Go's 'f', shortest): 1500000. */
void	 buf_add_double_fixed(struct buf *, double);
void	 buf_reset(struct buf *);
void	 buf_free(struct buf *);
/* Hand the data to the caller (who frees it) and reset the buffer. */
char	*buf_detach(struct buf *);

#endif
