/*
 * regex: label-matcher regular expressions with Prometheus's semantics on
 * top of PCRE2.
 *
 * Prometheus (Go's RE2 syntax) anchors a matcher's pattern as ^(?:re)$
 * with $ matching only at the very end, and refuses the query when the
 * pattern does not compile.  Here a pattern is first checked against the
 * RE2 rules PCRE2 would not enforce (lookaround, backreferences, possessive
 * and nested repetitions, unknown escapes and flags, repeat counts above
 * 1000), then translated where the two dialects differ (a repetition of an
 * empty-width assertion such as "$?" or "\b+" is RE2 but not PCRE2) and
 * compiled.  Error messages follow Go's "error parsing regexp: <what>:
 * `<where>`" for the mistakes people make; the wording of rare ones is
 * PCRE2's.
 *
 * The parser uses q_regex_check(); the query engine matches label values
 * with q_regex_new()/q_regex_match(), so both agree on what a pattern means.
 * A struct q_regex is immutable after q_regex_new() and may be shared by
 * threads (each match allocates its own match data).
 */
#ifndef MONITORD_QUERY_REGEX_H
#define MONITORD_QUERY_REGEX_H

#include <stddef.h>

#include "buf.h"

struct q_regex;

/* Compile RE (LEN bytes), anchored; NULL with a message appended to ERR. */
struct q_regex	*q_regex_new(const char *re, size_t len, struct buf *err);
/* 1 when all of S (LEN bytes) matches, else 0. */
int		 q_regex_match(const struct q_regex *, const char *s,
		    size_t len);
void		 q_regex_free(struct q_regex *);

/*
 * Check RE as the parser must: 0 with *matches_empty set (whether the
 * pattern matches the empty string), or -1 with a message in ERR.
 */
int		 q_regex_check(const char *re, size_t len, int *matches_empty,
		    struct buf *err);

#endif
