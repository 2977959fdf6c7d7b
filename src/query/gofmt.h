/*
 * gofmt: Go's strconv.FormatFloat(v, 'f', -1, 64), fast.
 *
 * The Prometheus API prints every value that way: the shortest decimal
 * that reads back as the same double, in positional notation ("0.5",
 * "1500000", "1e-05" as "0.00001"), with NaN, +Inf and -Inf spelled so.
 * buf_add_double_fixed (buf.h) gives the same text by trial and error;
 * this one computes the digits directly (Steele & White's free-format
 * algorithm in 128-bit integers) for the values monitoring produces, and
 * falls back to it outside that range.  Thread-safe, no state.
 */
#ifndef MONITORD_QUERY_GOFMT_H
#define MONITORD_QUERY_GOFMT_H

#include "buf.h"

void	gofmt_float(struct buf *, double);

#endif
