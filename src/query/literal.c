/*
 * literal: values of number, duration and string tokens (see literal.h).
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "xmalloc.h"
#include "query/literal.h"
#include "query/quote.h"

/* Go's strconv.ParseInt(s, 0, 64) for the digit strings the lexer makes. */
static int
parse_int(const char *s, size_t n, int64_t *out)
{
	uint64_t	v = 0, base = 10, d;
	size_t		i = 0;

	if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	} else if (n >= 2 && s[0] == '0')
		base = 8;
	if (i == n)
		return -1;
	for (; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			d = (uint64_t)(s[i] - '0');
		else if (s[i] >= 'a' && s[i] <= 'f')
			d = (uint64_t)(s[i] - 'a' + 10);
		else if (s[i] >= 'A' && s[i] <= 'F')
			d = (uint64_t)(s[i] - 'A' + 10);
		else
			return -1;
		if (d >= base)
			return -1;
		if (v > (INT64_MAX - d) / base)
			return -1;
		v = v * base + d;
	}
	*out = (int64_t)v;
	return 0;
}

int
q_literal_number(const char *text, size_t len, double *v, struct buf *err)
{
	char		*s, *end;
	int64_t		 iv;
	const char	*why = "invalid syntax";

	if (len == 3 && strncasecmp(text, "inf", 3) == 0) {
		*v = INFINITY;
		return 0;
	}
	if (len == 3 && strncasecmp(text, "nan", 3) == 0) {
		*v = NAN;
		return 0;
	}
	if (parse_int(text, len, &iv) == 0) {
		*v = (double)iv;
		return 0;
	}
	/* Go's ParseFloat wants a p exponent after hex digits: never here. */
	if (!(len >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))) {
		s = xstrndup(text, len);
		*v = strtod(s, &end);
		if (end == s + len && len > 0) {
			/* Go reports overflow, not underflow to zero. */
			if (!isinf(*v)) {
				free(s);
				return 0;
			}
			why = "value out of range";
		}
		free(s);
	}
	buf_adds(err, "error parsing number: strconv.ParseFloat: parsing ");
	q_quote(err, text, len);
	buf_adds(err, ": ");
	buf_adds(err, why);
	return -1;
}

int
q_literal_duration(const char *text, size_t len, int64_t *ms,
    struct buf *err)
{
	static const int64_t	 unit_ms[] = {
		365LL * 86400000, 7LL * 86400000, 86400000, 3600000, 60000,
		1000, 1
	};
	static const char	 units[] = "ywdhms";
	const char		*u;
	size_t			 i = 0;
	int			 last = -1, unit, range = 0;
	int64_t			 total = 0, term;
	uint64_t		 v;

	while (i < len) {
		if (!(text[i] >= '0' && text[i] <= '9'))
			goto invalid;
		for (v = 0; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
			/* Like Go's Atoi, saturate: the range check fails. */
			if (v <= (UINT64_MAX - 9) / 10)
				v = v * 10 + (uint64_t)(text[i] - '0');
			else
				v = UINT64_MAX;
		}
		if (i + 1 < len && text[i] == 'm' && text[i + 1] == 's') {
			unit = 6;
			i += 2;
		} else if (i < len && text[i] != '\0' &&
		    (u = strchr(units, text[i])) != NULL) {
			unit = (int)(u - units);
			i++;
		} else
			goto invalid;
		if (unit <= last)
			goto invalid;
		last = unit;
		/* Prometheus holds durations in nanoseconds. */
		if (v > (uint64_t)(INT64_MAX / unit_ms[unit] / 1000000) ||
		    __builtin_mul_overflow((int64_t)v, unit_ms[unit] * 1000000,
		    &term) || __builtin_add_overflow(total, term, &total))
			range = 1;
	}
	if (last < 0)
		goto invalid;
	if (range) {
		buf_adds(err, "duration out of range");
		return -1;
	}
	if (total == 0) {
		buf_adds(err, "duration must be greater than 0");
		return -1;
	}
	*ms = total / 1000000;
	return 0;

invalid:
	buf_adds(err, "not a valid duration string: ");
	q_quote(err, text, len);
	return -1;
}

void
q_literal_string(const char *text, size_t len, struct q_string *out)
{
	struct buf	 b = BUF_INIT;
	const char	*s = text + 1;
	size_t		 n = len - 2, i = 0, k;
	uint32_t	 x;
	int		 digits, base;
	char		 c;

	if (text[0] == '`') {
		buf_add(&b, s, n);
		goto done;
	}
	while (i < n) {
		if (s[i] != '\\') {
			buf_addc(&b, s[i++]);
			continue;
		}
		i++;
		switch (s[i]) {
		case 'a': buf_addc(&b, '\a'); i++; continue;
		case 'b': buf_addc(&b, '\b'); i++; continue;
		case 'f': buf_addc(&b, '\f'); i++; continue;
		case 'n': buf_addc(&b, '\n'); i++; continue;
		case 'r': buf_addc(&b, '\r'); i++; continue;
		case 't': buf_addc(&b, '\t'); i++; continue;
		case 'v': buf_addc(&b, '\v'); i++; continue;
		case 'x': digits = 2; base = 16; i++; break;
		case 'u': digits = 4; base = 16; i++; break;
		case 'U': digits = 8; base = 16; i++; break;
		case '0': case '1': case '2': case '3':
		case '4': case '5': case '6': case '7':
			digits = 3;
			base = 8;
			break;
		default:
			/* \\, \" or \' */
			buf_addc(&b, s[i++]);
			continue;
		}
		for (x = 0, k = 0; k < (size_t)digits && i < n; k++, i++) {
			c = s[i];
			x = x * (uint32_t)base + (uint32_t)(c <= '9' ? c - '0' :
			    (c | 0x20) - 'a' + 10);
		}
		/* \x and octal escapes are bytes; \u and \U are runes. */
		if (digits == 2 || base == 8)
			buf_addc(&b, (char)x);
		else
			q_utf8_append(&b, (int32_t)x);
	}
done:
	out->len = b.len;
	out->s = b.data != NULL ? buf_detach(&b) : xstrdup("");
}
