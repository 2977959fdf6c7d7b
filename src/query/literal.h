/*
 * literal: the values of PromQL number, duration and string tokens.
 *
 * Each converter reads the text of one token as the lexer cut it and
 * computes its value exactly as Prometheus 2.42 does:
 *   - numbers: an integer first (decimal, 0x hexadecimal, or octal after a
 *     leading 0, as Go's ParseInt with base 0), else a float; Inf and NaN
 *     in any case; overflow to infinity is an error, underflow to 0 is not;
 *   - durations: model.ParseDuration, units y w d h m s ms each at most
 *     once from largest to smallest, the total within an int64 of
 *     nanoseconds, and (Prometheus's rule for ranges, steps and offsets)
 *     greater than 0;
 *   - strings: Go's unquoting of "...", '...' and `...`; \x and octal
 *     escapes give bytes, \u and \U give UTF-8.
 * On failure the number and duration converters append Prometheus's message
 * to ERR.  No state; thread-safe.
 */
#ifndef MONITORD_QUERY_LITERAL_H
#define MONITORD_QUERY_LITERAL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "query/ast.h"

int	q_literal_number(const char *text, size_t len, double *v,
	    struct buf *err);
/* Milliseconds in *ms. */
int	q_literal_duration(const char *text, size_t len, int64_t *ms,
	    struct buf *err);
/* TEXT must be a string token the lexer accepted (its escapes are valid). */
void	q_literal_string(const char *text, size_t len, struct q_string *out);

#endif
