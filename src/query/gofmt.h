/*
 * gofmt: Go's strconv.FormatFloat(v, 'f', -1, 64), fast.
 *
 * The Prometheus API prints every value that way: the shortest decimal
 * that reads back as the same double (of several, the nearest to it), in
 * positional notation ("0.5", "1500000", "1e-05" as "0.00001"), with NaN,
 * +Inf and -Inf spelled so: for large values the shortest digits padded
 * with zeros ("1.5e300" as 15 followed by 299 zeros), not the exact binary
 * value.  Integers below 2^53 and everything from about 1e-14 to 2^53 (the
 * values monitoring produces) take a fast path in 64- and 128-bit integer
 * arithmetic; other values a slower one in big integers.  Thread-safe, no
 * state.
 */
#ifndef MONITORD_QUERY_GOFMT_H
#define MONITORD_QUERY_GOFMT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Room gofmt_float_fast may write: a sign, "0.", 14 zeros, 19 digits. */
#define GOFMT_FAST_MAX	48

void	gofmt_float(struct buf *, double);
/*
 * V's text into DST (GOFMT_FAST_MAX bytes, not NUL-terminated) and its
 * length, or 0 when V is NaN, infinite or out of the fast range: then
 * call gofmt_float.
 */
size_t	gofmt_float_fast(char *dst, double v);
/* The same text for any double by big-integer arithmetic (slower): what
   gofmt_float falls back to, and what tests check the fast path against. */
void	gofmt_float_exact(struct buf *, double);
/* U's decimal digits into DST (20 bytes), not NUL-terminated; the count. */
size_t	gofmt_uint(char *dst, uint64_t u);

#endif
