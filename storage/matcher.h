/*
 * matcher: one label matcher of a selector (=, !=, =~, !~), compiled.
 *
 * Regexes have Prometheus's meaning (src/query/regex.h: RE2 syntax,
 * anchored at both ends); a pattern without a metacharacter is compared as
 * a plain string.  A matcher is used by one thread at a time.
 */
#ifndef MONITORD_MATCHER_H
#define MONITORD_MATCHER_H

#include <stddef.h>

struct store_matcher;
struct matcher;

/* NULL with the regex's error ("error parsing regexp: ...") or a
 * bad-name message. */
struct matcher	*matcher_new(const struct store_matcher *, char *err,
		    size_t errlen);
void		 matcher_free(struct matcher *);
const char	*matcher_name(const struct matcher *);
/* Whether VALUE (the empty string for an absent label) matches. */
int		 matcher_matches(struct matcher *, const char *value,
		    size_t len);
/* For = and literal =~: the one value it accepts; else NULL. */
const char	*matcher_exact(const struct matcher *);

#endif
