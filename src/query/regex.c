/*
 * regex: compile a matcher's pattern once at parse time (see regex.h).
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "query/regex.h"

/* The wrapped pattern is "^(?:" RE ")$"; RE starts at this offset. */
#define PREFIX_LEN	4

/*
 * Name the failing part the way Go's regexp/syntax does, from PCRE2's error
 * code and offset into the wrapped pattern W.
 */
static void
describe(struct buf *msg, int code, const char *w, size_t wlen, size_t off)
{
	size_t	i, j;

	buf_adds(msg, "error parsing regexp: ");
	switch (code) {
	case PCRE2_ERROR_MISSING_CLOSING_PARENTHESIS:
		buf_adds(msg, "missing closing ): `");
		buf_add(msg, w, wlen);
		break;
	case PCRE2_ERROR_UNMATCHED_CLOSING_PARENTHESIS:
		buf_adds(msg, "unexpected ): `");
		buf_add(msg, w, wlen);
		break;
	case PCRE2_ERROR_MISSING_SQUARE_BRACKET:
		/* From the last [ that opens a class to the end. */
		for (i = off < wlen ? off : wlen; i > PREFIX_LEN; i--) {
			if (w[i - 1] == '[')
				break;
		}
		buf_adds(msg, "missing closing ]: `");
		buf_add(msg, w + i - 1, wlen - i + 1);
		break;
	case PCRE2_ERROR_CLASS_RANGE_ORDER:
		/* PCRE2 points at the last character of the range "x-y". */
		j = off < wlen ? off + 1 : wlen;
		i = j >= 3 ? j - 3 : 0;
		buf_adds(msg, "invalid character class range: `");
		buf_add(msg, w + i, j - i);
		break;
	case PCRE2_ERROR_QUANTIFIER_OUT_OF_ORDER:
		j = off < wlen ? off : wlen;
		for (i = j; i > 0 && w[i - 1] != '{'; i--)
			;
		while (j < wlen && w[j - 1] != '}')
			j++;
		buf_adds(msg, "invalid repeat count: `");
		if (i > 0)
			buf_add(msg, w + i - 1, j - i + 1);
		break;
	case PCRE2_ERROR_QUANTIFIER_INVALID:
		buf_adds(msg, "missing argument to repetition operator: `");
		if (off < wlen)
			buf_add(msg, w + off, 1);
		break;
	case PCRE2_ERROR_UNKNOWN_ESCAPE:
		buf_adds(msg, "invalid escape sequence: `");
		/* PCRE2 points at the character after the backslash. */
		if (off >= 1 && off < wlen)
			buf_add(msg, w + off - 1, 2);
		break;
	default: {
		PCRE2_UCHAR	text[256];

		if (pcre2_get_error_message(code, text, sizeof(text)) < 0)
			snprintf((char *)text, sizeof(text), "error %d", code);
		buf_adds(msg, (const char *)text);
		buf_adds(msg, ": `");
		buf_add(msg, w + PREFIX_LEN, wlen - PREFIX_LEN - 2);
		break;
	}
	}
	buf_addc(msg, '`');
}

/* Length of a repetition operator at S ("*", "+", "?", "{2}", "{2,5}"), or 0. */
static size_t
repeat_len(const char *s, size_t n)
{
	size_t	i = 1, digits = 0;

	if (n == 0)
		return 0;
	if (s[0] == '*' || s[0] == '+' || s[0] == '?')
		return 1;
	if (s[0] != '{')
		return 0;
	while (i < n && s[i] >= '0' && s[i] <= '9') {
		i++;
		digits++;
	}
	if (digits == 0)
		return 0;
	if (i < n && s[i] == ',') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	return i < n && s[i] == '}' ? i + 1 : 0;
}

/* Go refuses repeat counts above 1000. */
static int
repeat_too_big(const char *s, size_t n)
{
	size_t		i;
	unsigned long	v = 0;

	for (i = 1; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			v = v * 10 + (unsigned long)(s[i] - '0');
			if (v > 1000)
				return 1;
		} else
			v = 0;
	}
	return 0;
}

/*
 * Syntax PCRE2 accepts but Go's RE2 (and so Prometheus) refuses: lookaround
 * and atomic groups, (?<name>...), backreferences, possessive and other
 * nested repetitions.  -1 with Go's message in MSG when found.
 */
static int
re2_only(const char *re, size_t n, struct buf *msg)
{
	size_t	i = 0, j, q, q2;

	while (i < n) {
		if (re[i] == '\\') {
			if (i + 1 < n && re[i + 1] >= '1' && re[i + 1] <= '9') {
				buf_adds(msg, "error parsing regexp: invalid "
				    "escape sequence: `");
				buf_add(msg, re + i, 2);
				buf_addc(msg, '`');
				return -1;
			}
			i += 2;
			continue;
		}
		if (re[i] == '[') {
			/* Skip the class; "]" first in it is a literal. */
			i++;
			if (i < n && re[i] == '^')
				i++;
			if (i < n && re[i] == ']')
				i++;
			while (i < n && re[i] != ']')
				i += re[i] == '\\' ? 2 : 1;
			i++;
			continue;
		}
		if (re[i] == '(' && i + 2 < n && re[i + 1] == '?' &&
		    strchr("=!<>#", re[i + 2]) != NULL) {
			buf_adds(msg, "error parsing regexp: invalid or "
			    "unsupported Perl syntax: `");
			buf_add(msg, re + i, 3);
			buf_addc(msg, '`');
			return -1;
		}
		if ((q = repeat_len(re + i, n - i)) > 0 && i > 0) {
			if (re[i] == '{' && repeat_too_big(re + i, q)) {
				buf_adds(msg, "error parsing regexp: invalid "
				    "repeat count: `");
				buf_add(msg, re + i, q);
				buf_addc(msg, '`');
				return -1;
			}
			/* One "?" after a repetition makes it lazy. */
			j = i + q;
			if (j < n && re[j] == '?')
				j++;
			if ((q2 = repeat_len(re + j, n - j)) > 0) {
				buf_adds(msg, "error parsing regexp: invalid "
				    "nested repetition operator: `");
				buf_add(msg, re + i, j + q2 - i);
				buf_addc(msg, '`');
				return -1;
			}
			i = j;
			continue;
		}
		i++;
	}
	return 0;
}

int
q_regex_check(const char *re, size_t len, int *matches_empty,
    struct buf *err)
{
	struct buf		 w = BUF_INIT;
	pcre2_code		*code;
	pcre2_match_data	*md;
	int			 ecode, rc;
	PCRE2_SIZE		 eoff;

	if (re2_only(re, len, err) == -1)
		return -1;
	buf_adds(&w, "^(?:");
	buf_add(&w, re, len);
	buf_adds(&w, ")$");
	code = pcre2_compile((PCRE2_SPTR)w.data, w.len,
	    PCRE2_UTF | PCRE2_DOLLAR_ENDONLY, &ecode, &eoff, NULL);
	if (code == NULL) {
		describe(err, ecode, w.data, w.len, eoff);
		buf_free(&w);
		return -1;
	}
	md = pcre2_match_data_create_from_pattern(code, NULL);
	rc = pcre2_match(code, (PCRE2_SPTR)"", 0, 0, 0, md, NULL);
	*matches_empty = rc >= 0;
	pcre2_match_data_free(md);
	pcre2_code_free(code);
	buf_free(&w);
	return 0;
}
