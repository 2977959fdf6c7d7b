/*
 * gofmt: Go's strconv.FormatFloat(v, 'f', -1, 64), fast.
 *
 * The Prometheus API prints every value that way: the shortest decimal
 * that reads back as the same double (of several, the nearest to it), in
 * positional notation ("0.5", "1500000", "1e-05" as "0.00001"), with NaN,
 * +Inf and -Inf spelled so.  buf_add_double_fixed (buf.h) gives the same
 * text by trial and error; this one computes the digits directly in
 * integer arithmetic for the values monitoring produces (integers below
 * 2^53 and everything from about 1e-14 to 2^53) and falls back to it
 * outside that range.  Thread-safe, no state.
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
/* U's decimal digits into DST (20 bytes), not NUL-terminated; the count. */
size_t	gofmt_uint(char *dst, uint64_t u);

#endif
