/*
 * units: durations and sizes as operators write them in the config.
 *
 * Durations: an integer followed by ms, s, m, h, d or w, possibly several
 * in a row as Prometheus allows ("1h30m").  Sizes: an integer followed by
 * B, KB, MB, GB, TB (powers of 1024, as most operators mean them) or
 * KiB/MiB/GiB/TiB.  A bare number is rejected for both so that "retention =
 * 30" is never silently thirty milliseconds.
 */
#ifndef MONITORD_UNITS_H
#define MONITORD_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* 0 and *ms set on success; -1 with a message in err otherwise. */
int	units_parse_duration(const char *, int64_t *ms, char *err, size_t errlen);
int	units_parse_size(const char *, uint64_t *bytes, char *err, size_t errlen);
/* Shortest exact spelling: 90000 -> "1m30s", 0 -> "0s". */
void	units_format_duration(int64_t ms, char *out, size_t outlen);

#endif
