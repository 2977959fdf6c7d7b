/*
 * quote: Go-compatible quoting and number/duration spelling (see quote.h).
 *
 * The PromQL printer and the parse errors go through these functions so that
 * a query printed by monitord reads exactly as Prometheus prints it, and an
 * error message a script greps for is the same text.
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/quote.h"

static const char lowerhex[] = "0123456789abcdef";

size_t
q_utf8_decode(const char *s, size_t len, int32_t *r)
{
	const unsigned char	*u = (const unsigned char *)s;
	uint32_t		 c;
	size_t			 n, i;
	unsigned char		 lo = 0x80, hi = 0xBF;

	if (u[0] < 0x80) {
		*r = u[0];
		return 1;
	}
	if (u[0] >= 0xC2 && u[0] <= 0xDF) {
		n = 2;
		c = u[0] & 0x1F;
	} else if (u[0] >= 0xE0 && u[0] <= 0xEF) {
		n = 3;
		c = u[0] & 0x0F;
		/* No overlong forms and no surrogates (U+D800-U+DFFF). */
		if (u[0] == 0xE0)
			lo = 0xA0;
		else if (u[0] == 0xED)
			hi = 0x9F;
	} else if (u[0] >= 0xF0 && u[0] <= 0xF4) {
		n = 4;
		c = u[0] & 0x07;
		if (u[0] == 0xF0)
			lo = 0x90;
		else if (u[0] == 0xF4)
			hi = 0x8F;
	} else {
		*r = Q_RUNE_ERROR;
		return 1;
	}
	if (len < n || u[1] < lo || u[1] > hi) {
		*r = Q_RUNE_ERROR;
		return 1;
	}
	c = (c << 6) | (u[1] & 0x3F);
	for (i = 2; i < n; i++) {
		if (u[i] < 0x80 || u[i] > 0xBF) {
			*r = Q_RUNE_ERROR;
			return 1;
		}
		c = (c << 6) | (u[i] & 0x3F);
	}
	*r = (int32_t)c;
	return n;
}

void
q_utf8_append(struct buf *b, int32_t r)
{
	char	tmp[4];
	size_t	n;

	if (r < 0x80) {
		tmp[0] = (char)r;
		n = 1;
	} else if (r < 0x800) {
		tmp[0] = (char)(0xC0 | (r >> 6));
		tmp[1] = (char)(0x80 | (r & 0x3F));
		n = 2;
	} else if (r < 0x10000) {
		tmp[0] = (char)(0xE0 | (r >> 12));
		tmp[1] = (char)(0x80 | ((r >> 6) & 0x3F));
		tmp[2] = (char)(0x80 | (r & 0x3F));
		n = 3;
	} else {
		tmp[0] = (char)(0xF0 | (r >> 18));
		tmp[1] = (char)(0x80 | ((r >> 12) & 0x3F));
		tmp[2] = (char)(0x80 | ((r >> 6) & 0x3F));
		tmp[3] = (char)(0x80 | (r & 0x3F));
		n = 4;
	}
	buf_add(b, tmp, n);
}

static void
escape_rune(struct buf *b, int32_t r, char quote)
{
	int	s;

	if (r == quote || r == '\\') {
		buf_addc(b, '\\');
		buf_addc(b, (char)r);
		return;
	}
	if (q_rune_printable(r)) {
		q_utf8_append(b, r);
		return;
	}
	switch (r) {
	case '\a':
		buf_adds(b, "\\a");
		return;
	case '\b':
		buf_adds(b, "\\b");
		return;
	case '\f':
		buf_adds(b, "\\f");
		return;
	case '\n':
		buf_adds(b, "\\n");
		return;
	case '\r':
		buf_adds(b, "\\r");
		return;
	case '\t':
		buf_adds(b, "\\t");
		return;
	case '\v':
		buf_adds(b, "\\v");
		return;
	}
	if (r < ' ' || r == 0x7F) {
		buf_adds(b, "\\x");
		buf_addc(b, lowerhex[(r >> 4) & 0xF]);
		buf_addc(b, lowerhex[r & 0xF]);
	} else if (r < 0x10000) {
		buf_adds(b, "\\u");
		for (s = 12; s >= 0; s -= 4)
			buf_addc(b, lowerhex[(r >> s) & 0xF]);
	} else {
		buf_adds(b, "\\U");
		for (s = 28; s >= 0; s -= 4)
			buf_addc(b, lowerhex[(r >> s) & 0xF]);
	}
}

void
q_quote(struct buf *b, const char *s, size_t len)
{
	q_quote_trunc(b, s, len, SIZE_MAX);
}

void
q_quote_trunc(struct buf *b, const char *s, size_t len, size_t n)
{
	size_t	i = 0, w;
	int32_t	r;

	buf_addc(b, '"');
	while (i < len && n > 0) {
		w = q_utf8_decode(s + i, len - i, &r);
		if (w == 1 && r == Q_RUNE_ERROR) {
			/* An invalid byte keeps its value: \xHH. */
			buf_adds(b, "\\x");
			buf_addc(b, lowerhex[((unsigned char)s[i]) >> 4]);
			buf_addc(b, lowerhex[((unsigned char)s[i]) & 0xF]);
		} else
			escape_rune(b, r, '"');
		i += w;
		n--;
	}
	buf_addc(b, '"');
}

void
q_quote_rune(struct buf *b, int32_t r)
{
	if (r < 0 || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
		r = Q_RUNE_ERROR;
	buf_addc(b, '\'');
	escape_rune(b, r, '\'');
	buf_addc(b, '\'');
}

void
q_format_unicode(struct buf *b, int32_t r)
{
	buf_printf(b, "U+%04" PRIX32, (uint32_t)r);
	if (r >= 0 && r <= 0x10FFFF && q_rune_printable(r)) {
		buf_adds(b, " '");
		q_utf8_append(b, r);
		buf_addc(b, '\'');
	}
}

void
q_format_float(struct buf *b, double v)
{
	char	tmp[40], digits[20];
	int	prec, nd = 0, exp10, dp, i;
	char	*p;

	if (isnan(v)) {
		buf_adds(b, "NaN");
		return;
	}
	if (isinf(v)) {
		buf_adds(b, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (signbit(v)) {
		buf_addc(b, '-');
		v = -v;
	}
	/* The fewest significant digits that read back as the same double. */
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	for (p = tmp; *p != 'e'; p++) {
		if (*p >= '0' && *p <= '9')
			digits[nd++] = *p;
	}
	exp10 = atoi(p + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (v == 0) {
		buf_addc(b, '0');
		return;
	}
	dp = exp10 + 1;

	/* Go's %v: %e when the exponent is < -4 or >= 6 (shortest 'g'). */
	if (exp10 < -4 || exp10 >= 6) {
		buf_addc(b, digits[0]);
		if (nd > 1) {
			buf_addc(b, '.');
			buf_add(b, digits + 1, (size_t)nd - 1);
		}
		buf_printf(b, "e%c%02d", exp10 < 0 ? '-' : '+',
		    exp10 < 0 ? -exp10 : exp10);
		return;
	}
	if (dp > 0) {
		for (i = 0; i < dp; i++)
			buf_addc(b, i < nd ? digits[i] : '0');
	} else
		buf_addc(b, '0');
	if (nd > dp) {
		buf_addc(b, '.');
		for (i = dp; i < nd; i++)
			buf_addc(b, i < 0 ? '0' : digits[i]);
	}
}

void
q_format_fixed(struct buf *b, double v, int prec)
{
	if (isnan(v))
		buf_adds(b, "NaN");
	else if (isinf(v))
		buf_adds(b, v > 0 ? "+Inf" : "-Inf");
	else
		buf_printf(b, "%.*f", prec, v);
}

void
q_format_duration(struct buf *b, int64_t ms)
{
	static const struct {
		const char	*unit;
		int64_t		 ms;
		int		 exact;
	} units[] = {
		/* Years and weeks only when exact: 90d reads better than 12w6d. */
		{ "y", 365LL * 24 * 3600 * 1000, 1 },
		{ "w", 7LL * 24 * 3600 * 1000, 1 },
		{ "d", 24LL * 3600 * 1000, 0 },
		{ "h", 3600LL * 1000, 0 },
		{ "m", 60LL * 1000, 0 },
		{ "s", 1000, 0 },
		{ "ms", 1, 0 },
	};
	size_t	i;
	int64_t	n;

	if (ms == 0) {
		buf_adds(b, "0s");
		return;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (units[i].exact && ms % units[i].ms != 0)
			continue;
		n = ms / units[i].ms;
		if (n > 0) {
			buf_printf(b, "%" PRId64 "%s", n, units[i].unit);
			ms -= n * units[i].ms;
		}
	}
}
