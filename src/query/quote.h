/*
 * quote: text formatting that must agree with Prometheus byte for byte.
 *
 * Prometheus is written in Go, and both its canonical expression printer and
 * its parse errors lean on Go's fmt verbs: %q for strings and runes, %v for
 * floats, %#U for code points, and its own model.Duration for durations.
 * Answers that match Prometheus need the same spelling, so this file
 * reimplements those few verbs.  Everything appends to a struct buf and
 * never fails.
 *
 * Which characters %q prints as-is depends on Unicode tables: runetable.c
 * holds Go 1.19's view (Unicode 13.0), the one Prometheus 2.42 was built
 * with.
 */
#ifndef MONITORD_QUERY_QUOTE_H
#define MONITORD_QUERY_QUOTE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define Q_RUNE_ERROR	0xFFFD
#define Q_RUNE_EOF	(-1)

/*
 * Decode the UTF-8 sequence at S (LEN bytes available, LEN > 0) the way Go
 * does: invalid, overlong, surrogate or out-of-range sequences give
 * Q_RUNE_ERROR with width 1.  Returns the width in bytes.
 */
size_t	q_utf8_decode(const char *s, size_t len, int32_t *r);
/* Append the UTF-8 encoding of a valid code point. */
void	q_utf8_append(struct buf *, int32_t r);
/* Go's strconv.IsPrint (runetable.c). */
int	q_rune_printable(int32_t r);

/* Go's %q of a string: "..." with Go escapes; invalid bytes as \xHH. */
void	q_quote(struct buf *, const char *s, size_t len);
/* Go's %.Nq: the first N runes of S, quoted. */
void	q_quote_trunc(struct buf *, const char *s, size_t len, size_t n);
/* Go's %q of a rune: 'x'; Q_RUNE_EOF and invalid runes print as U+FFFD. */
void	q_quote_rune(struct buf *, int32_t r);
/* Go's %#U of a rune: U+0071 'q' (the quoted form only when printable). */
void	q_format_unicode(struct buf *, int32_t r);
/* Go's %v of a float64: shortest round-trip, exponent from 1e+06 up. */
void	q_format_float(struct buf *, double v);
/* Go's %f of a float64, with +Inf, -Inf and NaN spelled as Go does. */
void	q_format_fixed(struct buf *, double v, int prec);
/* Prometheus's model.Duration: 1h30m, 2w, 90d, 1s500ms, 0s. */
void	q_format_duration(struct buf *, int64_t ms);

#endif
