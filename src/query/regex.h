/*
 * regex: the parse-time check of a label matcher's regular expression.
 *
 * Prometheus refuses a query whose =~ or !~ pattern does not compile, and
 * needs to know whether a pattern matches the empty string (a selector must
 * have at least one matcher that does not).  Both need a compiled pattern;
 * PCRE2 stands in for Go's RE2 here, anchored as Prometheus anchors it,
 * ^(?:re)$ with $ matching only at the very end.
 *
 * Error messages follow Go's "error parsing regexp: <what>: `<where>`" for
 * the common mistakes (unbalanced parentheses and brackets, bad ranges and
 * repetitions, a trailing backslash); the wording of rarer ones is PCRE2's.
 * PCRE2 also accepts some syntax RE2 refuses (backreferences, lookaround,
 * possessive quantifiers).  Thread-safe; no state survives a call.
 */
#ifndef MONITORD_QUERY_REGEX_H
#define MONITORD_QUERY_REGEX_H

#include <stddef.h>

#include "buf.h"

/*
 * Compile RE (LEN bytes).  0 with *matches_empty set on success; -1 with a
 * message appended to ERR otherwise.
 */
int	q_regex_check(const char *re, size_t len, int *matches_empty,
	    struct buf *err);

#endif
