/*
 * units: parse and print durations and sizes (see units.h).
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "units.h"

static const struct {
	const char	*suffix;
	int64_t		 ms;
} dur_units[] = {
	/* Order matters: "ms" before "m". */
	{ "ms", 1 },
	{ "s", 1000 },
	{ "m", 60 * 1000 },
	{ "h", 3600 * 1000 },
	{ "d", 86400 * 1000 },
	{ "w", 7 * 86400 * 1000LL },
	{ "y", 365 * 86400 * 1000LL },
};

int
units_parse_duration(const char *s, int64_t *out, char *err, size_t errlen)
{
	const char	*p = s;
	int64_t		 total = 0;
	int		 last = -1;

	if (*p == '\0') {
		snprintf(err, errlen, "empty duration");
		return -1;
	}
	while (*p != '\0') {
		uint64_t	n = 0;
		int		digits = 0, i, found = -1;
		size_t		ul;

		while (isdigit((unsigned char)*p)) {
			if (n > (UINT64_MAX - 9) / 10) {
				snprintf(err, errlen, "duration \"%s\" is too large", s);
				return -1;
			}
			n = n * 10 + (uint64_t)(*p++ - '0');
			digits++;
		}
		if (digits == 0) {
			snprintf(err, errlen, "invalid duration \"%s\": expected a number "
			    "followed by ms, s, m, h, d, w or y", s);
			return -1;
		}
		for (i = 0; i < (int)(sizeof(dur_units) / sizeof(dur_units[0])); i++) {
			ul = strlen(dur_units[i].suffix);
			if (strncmp(p, dur_units[i].suffix, ul) == 0 &&
			    !isalpha((unsigned char)p[ul])) {
				found = i;
				break;
			}
		}
		if (found < 0) {
			snprintf(err, errlen, "invalid duration \"%s\": missing or unknown "
			    "unit (use ms, s, m, h, d, w or y)", s);
			return -1;
		}
		/* Units must go from largest to smallest, each once: 1h30m. */
		if (last >= 0 && found >= last) {
			snprintf(err, errlen, "invalid duration \"%s\": units out of order", s);
			return -1;
		}
		last = found;
		if (n > (uint64_t)(INT64_MAX / dur_units[found].ms) ||
		    total > INT64_MAX - (int64_t)n * dur_units[found].ms) {
			snprintf(err, errlen, "duration \"%s\" is too large", s);
			return -1;
		}
		total += (int64_t)n * dur_units[found].ms;
		p += strlen(dur_units[found].suffix);
	}
	*out = total;
	return 0;
}

void
units_format_duration(int64_t ms, char *out, size_t outlen)
{
	static const int order[] = { 6, 5, 4, 3, 2, 1, 0 };	/* y w d h m s ms */
	size_t	 len = 0;
	size_t	 i;

	if (ms <= 0) {
		snprintf(out, outlen, ms == 0 ? "0s" : "-");
		return;
	}
	out[0] = '\0';
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		int64_t unit = dur_units[order[i]].ms;

		if (ms >= unit) {
			int n = snprintf(out + len, outlen - len, "%" PRId64 "%s",
			    ms / unit, dur_units[order[i]].suffix);
			if (n < 0 || (size_t)n >= outlen - len)
				return;
			len += (size_t)n;
			ms %= unit;
		}
	}
}

int
units_parse_size(const char *s, uint64_t *out, char *err, size_t errlen)
{
	static const struct {
		const char	*suffix;
		unsigned	 shift;
	} size_units[] = {
		{ "B", 0 },
		{ "KB", 10 }, { "KiB", 10 }, { "K", 10 },
		{ "MB", 20 }, { "MiB", 20 }, { "M", 20 },
		{ "GB", 30 }, { "GiB", 30 }, { "G", 30 },
		{ "TB", 40 }, { "TiB", 40 }, { "T", 40 },
	};
	const char	*p = s;
	uint64_t	 n = 0;
	int		 digits = 0;
	size_t		 i;

	while (isdigit((unsigned char)*p)) {
		if (n > (UINT64_MAX - 9) / 10) {
			snprintf(err, errlen, "size \"%s\" is too large", s);
			return -1;
		}
		n = n * 10 + (uint64_t)(*p++ - '0');
		digits++;
	}
	if (digits == 0) {
		snprintf(err, errlen, "invalid size \"%s\": expected a number "
		    "followed by B, KB, MB, GB or TB", s);
		return -1;
	}
	for (i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++) {
		if (strcasecmp(p, size_units[i].suffix) == 0) {
			if (size_units[i].shift > 0 &&
			    n > (UINT64_MAX >> size_units[i].shift)) {
				snprintf(err, errlen, "size \"%s\" is too large", s);
				return -1;
			}
			*out = n << size_units[i].shift;
			return 0;
		}
	}
	snprintf(err, errlen, "invalid size \"%s\": missing or unknown unit "
	    "(use B, KB, MB, GB or TB)", s);
	return -1;
}
