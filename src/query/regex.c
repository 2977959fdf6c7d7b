/*
 * regex: compile a matcher's pattern at parse time (see regex.h).
 *
 * Prometheus compiles "^(?:" re ")$" and then parses re on its own too, so a
 * pattern is refused when either fails: "a)(b" compiles once wrapped but not
 * alone.  The same two steps run here.  Where Go's error text names a
 * fragment of the pattern, PCRE2's error offset is used to find it.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "query/regex.h"

/*
 * Describe PCRE2's error CODE at offset OFF of pattern P (LEN bytes) the way
 * Go's regexp/syntax words it.  PRE and POST are the lengths of the "^(?:"
 * and ")$" around the user's pattern (0 when it was compiled alone).
 */
static void
describe(struct buf *msg, int code, const char *p, size_t len, size_t off,
    size_t pre, size_t post)
{
	PCRE2_UCHAR	text[256];
	size_t		i, j;

	if (off > len)
		off = len;
	buf_adds(msg, "error parsing regexp: ");
	switch (code) {
	case PCRE2_ERROR_MISSING_CLOSING_PARENTHESIS:
		buf_adds(msg, "missing closing ): `");
		buf_add(msg, p, len);
		break;
	case PCRE2_ERROR_UNMATCHED_CLOSING_PARENTHESIS:
		buf_adds(msg, "unexpected ): `");
		buf_add(msg, p, len);
		break;
	case PCRE2_ERROR_MISSING_SQUARE_BRACKET:
		/* From the [ that opens the class to the end. */
		for (i = off; i > pre && p[i - 1] != '['; i--)
			;
		i = i > 0 ? i - 1 : 0;
		buf_adds(msg, "missing closing ]: `");
		buf_add(msg, p + i, len - i);
		break;
	case PCRE2_ERROR_CLASS_RANGE_ORDER:
		/* PCRE2 points at the last character of the range "x-y". */
		j = off < len ? off + 1 : len;
		i = j >= 3 ? j - 3 : 0;
		buf_adds(msg, "invalid character class range: `");
		buf_add(msg, p + i, j - i);
		break;
	case PCRE2_ERROR_QUANTIFIER_OUT_OF_ORDER:
		for (i = off; i > 0 && p[i - 1] != '{'; i--)
			;
		for (j = off; j < len && p[j] != '}'; j++)
			;
		buf_adds(msg, "invalid repeat count: `");
		if (i > 0 && j < len)
			buf_add(msg, p + i - 1, j - i + 2);
		break;
	case PCRE2_ERROR_QUANTIFIER_INVALID:
		buf_adds(msg, "missing argument to repetition operator: `");
		if (off < len)
			buf_add(msg, p + off, 1);
		break;
	case PCRE2_ERROR_UNKNOWN_ESCAPE:
		/* PCRE2 points at the character after the backslash. */
		buf_adds(msg, "invalid escape sequence: `");
		if (off >= 1 && off < len)
			buf_add(msg, p + off - 1, 2);
		break;
	case PCRE2_ERROR_UNSUPPORTED_ESCAPE_SEQUENCE:
		/* Here PCRE2 points past the escape. */
		buf_adds(msg, "invalid escape sequence: `");
		if (off >= 2)
			buf_add(msg, p + off - 2, 2);
		break;
	case PCRE2_ERROR_INVALID_AFTER_PARENS_QUERY:
		/* "(?o": from the group's "(?" to the offending character. */
		for (i = off; i > 1 && !(p[i - 2] == '(' && p[i - 1] == '?');
		    i--)
			;
		buf_adds(msg, "invalid or unsupported Perl syntax: `");
		if (i > 1 && off < len)
			buf_add(msg, p + i - 2, off - i + 3);
		break;
	default:
		if (pcre2_get_error_message(code, text, sizeof(text)) < 0)
			snprintf((char *)text, sizeof(text), "error %d", code);
		buf_adds(msg, (const char *)text);
		buf_adds(msg, ": `");
		buf_add(msg, p + pre, len - pre - post);
		break;
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
 * Whether the escape at RE[I] is one Go refuses: a backreference, or a letter
 * it gives no meaning ("\\E", "\\h"; and "\\b" or "\\z" inside a class).
 */
static int
bad_escape(const char *re, size_t i, size_t n, int in_class, struct buf *msg)
{
	char	c;

	if (i + 1 >= n)
		return 0;
	c = re[i + 1];
	if (!(c >= '1' && c <= '9') && !(((c | 0x20) >= 'a' &&
	    (c | 0x20) <= 'z') && strchr(in_class ? "afnrtvxdDsSwWpP" :
	    "afnrtvxdDsSwWpPAbBz", c) == NULL))
		return 0;
	buf_adds(msg, "error parsing regexp: invalid escape sequence: `");
	buf_add(msg, re + i, 2);
	buf_addc(msg, '`');
	return 1;
}

/*
 * Syntax PCRE2 accepts but Go's RE2 (and so Prometheus) refuses: lookaround
 * and atomic groups, (?<name>...), comments, backreferences, possessive and
 * other nested repetitions, counts above 1000.  -1 with Go's message in MSG
 * when found.
 */
static int
re2_only(const char *re, size_t n, struct buf *msg)
{
	size_t	i = 0, j, q, q2;

	while (i < n) {
		if (re[i] == '\\' && i + 1 < n && re[i + 1] == 'Q') {
			/* \Q...\E is literal text. */
			for (i += 2; i < n; i++) {
				if (re[i] == '\\' && i + 1 < n && re[i + 1] == 'E') {
					i += 2;
					break;
				}
			}
			continue;
		}
		if (re[i] == '\\') {
			if (bad_escape(re, i, n, 0, msg))
				return -1;
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
			while (i < n && re[i] != ']') {
				if (re[i] == '\\') {
					if (bad_escape(re, i, n, 1, msg))
						return -1;
					i++;
				}
				i++;
			}
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

static pcre2_code *
compile(const char *p, size_t len, size_t pre, size_t post, struct buf *err)
{
	pcre2_code	*code;
	int		 ecode;
	PCRE2_SIZE	 eoff;

	code = pcre2_compile((PCRE2_SPTR)p, len,
	    PCRE2_UTF | PCRE2_DOLLAR_ENDONLY, &ecode, &eoff, NULL);
	if (code == NULL)
		describe(err, ecode, p, len, eoff, pre, post);
	return code;
}

int
q_regex_check(const char *re, size_t len, int *matches_empty,
    struct buf *err)
{
	struct buf		 w = BUF_INIT;
	pcre2_code		*code, *alone;
	pcre2_match_data	*md;
	int			 rc;

	if (re2_only(re, len, err) == -1)
		return -1;
	buf_adds(&w, "^(?:");
	buf_add(&w, re, len);
	buf_adds(&w, ")$");
	code = compile(w.data, w.len, 4, 2, err);
	buf_free(&w);
	if (code == NULL)
		return -1;
	if ((alone = compile(re, len, 0, 0, err)) == NULL) {
		pcre2_code_free(code);
		return -1;
	}
	pcre2_code_free(alone);
	md = pcre2_match_data_create_from_pattern(code, NULL);
	rc = pcre2_match(code, (PCRE2_SPTR)"", 0, 0, 0, md, NULL);
	*matches_empty = rc >= 0;
	pcre2_match_data_free(md);
	pcre2_code_free(code);
	return 0;
}
