/*
 * xmalloc: allocation that never returns NULL.
 *
 * Running out of memory is not a condition monitord can report usefully from
 * deep inside a parser, so these abort with a message instead.  Memory that an
 * attacker can make large (request bodies, scraped pages) is bounded by the
 * callers before it gets here.
 */
#ifndef MONITORD_XMALLOC_H
#define MONITORD_XMALLOC_H

#include <stddef.h>
#include <stdarg.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	 xvasprintf(char **, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));

#endif
