/*
 * regex: RE2-syntax matcher patterns on PCRE2 (see regex.h).
 *
 * Three steps, each mirroring what Prometheus (Go's regexp) does:
 *   1. go_check() walks "^(?:re)$" the way Go's parser does and refuses what
 *      RE2 refuses but PCRE2 would accept, with Go's message and fragment;
 *   2. translate() rewrites the few RE2 constructs PCRE2 spells differently;
 *   3. PCRE2 compiles the result, and compiles re alone as well, because
 *      Prometheus parses the bare pattern too ("a)(b" compiles once
 *      wrapped, not alone).  PCRE2's errors are reworded as Go's where the
 *      mistake is a common one.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xmalloc.h"
#include "query/quote.h"
#include "query/regex.h"

struct q_regex {
	pcre2_code	*code;
};

static int
go_error(struct buf *msg, const char *what, const char *frag, size_t n)
{
	buf_adds(msg, "error parsing regexp: ");
	buf_adds(msg, what);
	buf_adds(msg, ": `");
	buf_add(msg, frag, n);
	buf_addc(msg, '`');
	return -1;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * The escape at P[I] (a backslash): its length, or -1 with Go's message when
 * Go refuses it.  Go knows a few letters (fewer inside a class), octal
 * with at least two digits, \x with two hex digits or {hex}, and any ASCII
 * punctuation; "\1" alone would be a backreference.
 */
static int
go_escape(const char *p, size_t i, size_t n, int in_class, struct buf *msg)
{
	const char	*letters = in_class ? "afnrtvdDsSwWpP" :
	    "afnrtvdDsSwWpPAbBz";
	size_t		 j;
	unsigned long	 v = 0;
	int32_t		 r;
	char		 c;

	if (i + 1 >= n)
		return 1;
	c = p[i + 1];
	if (c == 'x') {
		if (i + 2 < n && p[i + 2] == '{') {
			for (j = i + 3; j < n && p[j] != '}'; j++) {
				if (hexval(p[j]) < 0 ||
				    (v = v * 16 + (unsigned long)hexval(p[j])) >
				    0x10FFFF)
					return go_error(msg, "invalid escape "
					    "sequence", p + i, j - i + 1);
			}
			if (j >= n || j == i + 3)
				return go_error(msg, "invalid escape sequence",
				    p + i, (j < n ? j + 1 : n) - i);
			return (int)(j - i + 1);
		}
		if (i + 3 < n && hexval(p[i + 2]) >= 0 &&
		    hexval(p[i + 3]) >= 0)
			return 4;
		return go_error(msg, "invalid escape sequence", p + i,
		    (i + 4 <= n ? i + 4 : n) - i);
	}
	if ((c == 'p' || c == 'P') && i + 2 < n && p[i + 2] == '{') {
		for (j = i + 3; j < n && p[j] != '}'; j++)
			;
		return (int)((j < n ? j + 1 : n) - i);
	}
	if (c >= '1' && c <= '7') {
		if (i + 2 < n && p[i + 2] >= '0' && p[i + 2] <= '7')
			return 2;
		return go_error(msg, "invalid escape sequence", p + i, 2);
	}
	if (c == '8' || c == '9')
		return go_error(msg, "invalid escape sequence", p + i, 2);
	if (((c | 0x20) >= 'a' && (c | 0x20) <= 'z') &&
	    strchr(letters, c) == NULL)
		return go_error(msg, "invalid escape sequence", p + i, 2);
	if ((unsigned char)c >= 0x80) {
		j = q_utf8_decode(p + i + 1, n - i - 1, &r);
		return go_error(msg, "invalid escape sequence", p + i, j + 1);
	}
	return 2;
}

/*
 * "(?" at P[I]: a named capture "(?P<name>" or flags "(?i-s:" / "(?i)",
 * as Go's parsePerlFlags accepts them.  0, or -1 with Go's message.
 */
static int
go_group(const char *p, size_t i, size_t n, struct buf *msg)
{
	const char	*t = p + i, *end;
	size_t		 tn = n - i, j, k;
	int		 neg = 0, saw = 0;
	char		 c;

	if (tn > 4 && t[2] == 'P' && t[3] == '<') {
		if ((end = memchr(t, '>', tn)) == NULL)
			return go_error(msg, "invalid named capture", t, tn);
		j = (size_t)(end - t);
		for (k = 4; k < j; k++) {
			c = t[k];
			if (!(c == '_' || (c >= '0' && c <= '9') ||
			    ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')))
				break;
		}
		if (j == 4 || k < j)
			return go_error(msg, "invalid named capture", t, j + 1);
		return 0;
	}
	for (j = 2; j < tn;) {
		c = t[j++];
		if (c == 'i' || c == 'm' || c == 's' || c == 'U') {
			saw = 1;
			continue;
		}
		if (c == '-' && !neg) {
			neg = 1;
			saw = 0;
			continue;
		}
		if ((c == ':' || c == ')') && !(neg && !saw))
			return 0;
		break;
	}
	return go_error(msg, "invalid or unsupported Perl syntax", t, j);
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
			if ((v = v * 10 + (unsigned long)(s[i] - '0')) > 1000)
				return 1;
		} else
			v = 0;
	}
	return 0;
}

/* Skip a \Q...\E literal starting at P[I]; returns the index after it. */
static size_t
skip_quoted(const char *p, size_t i, size_t n)
{
	for (i += 2; i + 1 < n; i++) {
		if (p[i] == '\\' && p[i + 1] == 'E')
			return i + 2;
	}
	return n;
}

/* Step 1: what RE2 refuses and PCRE2 would accept (see the top). */
static int
go_check(const char *p, size_t n, struct buf *msg)
{
	size_t	i = 0, j, q, q2;
	int	k;

	while (i < n) {
		if (p[i] == '\\' && i + 1 < n && p[i + 1] == 'Q') {
			i = skip_quoted(p, i, n);
			continue;
		}
		if (p[i] == '\\') {
			if ((k = go_escape(p, i, n, 0, msg)) < 0)
				return -1;
			i += (size_t)k;
			continue;
		}
		if (p[i] == '[') {
			/* A class; "]" first in it is a literal. */
			i++;
			if (i < n && p[i] == '^')
				i++;
			if (i < n && p[i] == ']')
				i++;
			while (i < n && p[i] != ']') {
				if (p[i] == '[' && i + 1 < n && p[i + 1] == ':' &&
				    (j = i + 2) < n) {
					while (j + 1 < n &&
					    !(p[j] == ':' && p[j + 1] == ']'))
						j++;
					i = j + 2;
					continue;
				}
				if (p[i] == '\\') {
					if ((k = go_escape(p, i, n, 1, msg)) < 0)
						return -1;
					i += (size_t)k;
					continue;
				}
				i++;
			}
			i++;
			continue;
		}
		if (p[i] == '(' && i + 1 < n && p[i + 1] == '?') {
			if (go_group(p, i, n, msg) == -1)
				return -1;
			i += 2;
			continue;
		}
		if ((q = repeat_len(p + i, n - i)) > 0) {
			if (p[i] == '{' && repeat_too_big(p + i, q))
				return go_error(msg, "invalid repeat count",
				    p + i, q);
			/* One "?" after a repetition makes it lazy. */
			j = i + q;
			if (j < n && p[j] == '?')
				j++;
			if ((q2 = repeat_len(p + j, n - j)) > 0)
				return go_error(msg, "invalid nested "
				    "repetition operator", p + i, j + q2 - i);
			i = j;
			continue;
		}
		i++;
	}
	return 0;
}

/*
 * Step 2: PCRE2 will not repeat an empty-width assertion ("$?", "^*",
 * "\b+"); RE2 does.  Put such an assertion in a group, which PCRE2 repeats.
 */
static void
translate(const char *p, size_t n, struct buf *out)
{
	size_t	i = 0, j, a;

	while (i < n) {
		if (p[i] == '\\' && i + 1 < n && p[i + 1] == 'Q') {
			j = skip_quoted(p, i, n);
			buf_add(out, p + i, j - i);
			i = j;
			continue;
		}
		a = 0;
		if (p[i] == '^' || p[i] == '$')
			a = 1;
		else if (p[i] == '\\' && i + 1 < n &&
		    strchr("bBAz", p[i + 1]) != NULL)
			a = 2;
		if (a > 0 && repeat_len(p + i + a, n - i - a) > 0) {
			buf_adds(out, "(?:");
			buf_add(out, p + i, a);
			buf_addc(out, ')');
			i += a;
			continue;
		}
		if (p[i] == '\\') {
			buf_add(out, p + i, i + 1 < n ? 2 : 1);
			i += 2;
			continue;
		}
		if (p[i] == '[') {
			/* Copy a class as is. */
			j = i + 1;
			if (j < n && p[j] == '^')
				j++;
			if (j < n && p[j] == ']')
				j++;
			while (j < n && p[j] != ']')
				j += p[j] == '\\' ? 2 : 1;
			j = j < n ? j + 1 : n;
			buf_add(out, p + i, j - i);
			i = j;
			continue;
		}
		buf_addc(out, p[i++]);
	}
}

/* The start of the \p escape, POSIX class or range before OFF in P. */
static size_t
back_to(const char *p, size_t off, const char *what)
{
	size_t	i;

	for (i = off + 1; i > 0; i--) {
		if (strncmp(p + i - 1, what, strlen(what)) == 0)
			return i - 1;
	}
	return 0;
}

/*
 * Step 3's errors: PCRE2's error CODE at offset OFF of pattern P (LEN
 * bytes), worded as Go words it.  PRE and POST are the lengths of "^(?:"
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
	switch (code) {
	case PCRE2_ERROR_MISSING_CLOSING_PARENTHESIS:
		go_error(msg, "missing closing )", p, len);
		return;
	case PCRE2_ERROR_UNMATCHED_CLOSING_PARENTHESIS:
		go_error(msg, "unexpected )", p, len);
		return;
	case PCRE2_ERROR_MISSING_SQUARE_BRACKET:
		for (i = off; i > pre && p[i - 1] != '['; i--)
			;
		i = i > 0 ? i - 1 : 0;
		go_error(msg, "missing closing ]", p + i, len - i);
		return;
	case PCRE2_ERROR_CLASS_RANGE_ORDER:
		/* PCRE2 points at the last character of the range "x-y". */
		j = off < len ? off + 1 : len;
		i = j >= 3 ? j - 3 : 0;
		go_error(msg, "invalid character class range", p + i, j - i);
		return;
	case PCRE2_ERROR_UNKNOWN_POSIX_CLASS:
		i = back_to(p, off, "[:");
		for (j = i + 2; j + 1 < len && !(p[j] == ':' && p[j + 1] == ']');
		    j++)
			;
		go_error(msg, "invalid character class range", p + i,
		    (j + 2 <= len ? j + 2 : len) - i);
		return;
	case PCRE2_ERROR_MALFORMED_UNICODE_PROPERTY:
	case PCRE2_ERROR_UNKNOWN_UNICODE_PROPERTY:
		/* Go names "\pX" or "\p{Name}" as a bad class. */
		i = back_to(p, off, "\\p");
		j = back_to(p, off, "\\P");
		i = i > j ? i : j;
		if (i + 2 < len && p[i + 2] == '{') {
			for (j = i + 3; j < len && p[j] != '}'; j++)
				;
			j = j < len ? j + 1 : len;
		} else
			j = i + 3 <= len ? i + 3 : len;
		go_error(msg, "invalid character class range", p + i, j - i);
		return;
	case PCRE2_ERROR_QUANTIFIER_OUT_OF_ORDER:
		for (i = off; i > 0 && p[i - 1] != '{'; i--)
			;
		for (j = off; j < len && p[j] != '}'; j++)
			;
		if (i > 0 && j < len)
			go_error(msg, "invalid repeat count", p + i - 1,
			    j - i + 2);
		else
			go_error(msg, "invalid repeat count", "", 0);
		return;
	case PCRE2_ERROR_QUANTIFIER_INVALID:
		go_error(msg, "missing argument to repetition operator",
		    p + off, off < len ? 1 : 0);
		return;
	case PCRE2_ERROR_UNKNOWN_ESCAPE:
		/* PCRE2 points at the character after the backslash. */
		if (off >= 1 && off < len)
			go_error(msg, "invalid escape sequence", p + off - 1, 2);
		else
			go_error(msg, "invalid escape sequence", "", 0);
		return;
	case PCRE2_ERROR_UNSUPPORTED_ESCAPE_SEQUENCE:
		/* Here PCRE2 points past the escape. */
		if (off >= 2)
			go_error(msg, "invalid escape sequence", p + off - 2, 2);
		else
			go_error(msg, "invalid escape sequence", "", 0);
		return;
	default:
		if (code < 0) {
			/* PCRE2's UTF-8 errors: Go says "invalid UTF-8". */
			go_error(msg, "invalid UTF-8", p + off, len - off);
			return;
		}
		if (pcre2_get_error_message(code, text, sizeof(text)) < 0)
			snprintf((char *)text, sizeof(text), "error %d", code);
		go_error(msg, (const char *)text, p + pre, len - pre - post);
		return;
	}
}

static pcre2_code *
compile(const char *p, size_t len, size_t pre, size_t post, struct buf *err)
{
	struct buf	 t = BUF_INIT;
	pcre2_code	*code;
	int		 ecode;
	PCRE2_SIZE	 eoff;

	translate(p, len, &t);
	code = pcre2_compile((PCRE2_SPTR)(t.data != NULL ? t.data : ""), t.len,
	    PCRE2_UTF | PCRE2_DOLLAR_ENDONLY, &ecode, &eoff, NULL);
	if (code == NULL) {
		/* Offsets name the translated text, so describe that. */
		describe(err, ecode, t.data != NULL ? t.data : "", t.len, eoff,
		    pre, post);
	}
	buf_free(&t);
	return code;
}

struct q_regex *
q_regex_new(const char *re, size_t len, struct buf *err)
{
	struct buf	 w = BUF_INIT;
	struct q_regex	*rx;
	pcre2_code	*code, *alone;

	buf_adds(&w, "^(?:");
	buf_add(&w, re, len);
	buf_adds(&w, ")$");
	if (go_check(w.data, w.len, err) == -1) {
		buf_free(&w);
		return NULL;
	}
	code = compile(w.data, w.len, 4, 2, err);
	buf_free(&w);
	if (code == NULL)
		return NULL;
	if ((alone = compile(re, len, 0, 0, err)) == NULL) {
		pcre2_code_free(code);
		return NULL;
	}
	pcre2_code_free(alone);
	rx = xcalloc(1, sizeof(*rx));
	rx->code = code;
	return rx;
}

int
q_regex_match(const struct q_regex *rx, const char *s, size_t len)
{
	pcre2_match_data	*md;
	int			 rc;

	md = pcre2_match_data_create_from_pattern(rx->code, NULL);
	/* An invalid UTF-8 subject is a PCRE2 error: no match. */
	rc = pcre2_match(rx->code, (PCRE2_SPTR)(len > 0 ? s : ""), len, 0, 0,
	    md, NULL);
	pcre2_match_data_free(md);
	return rc >= 0;
}

void
q_regex_free(struct q_regex *rx)
{
	if (rx == NULL)
		return;
	pcre2_code_free(rx->code);
	free(rx);
}

int
q_regex_check(const char *re, size_t len, int *matches_empty,
    struct buf *err)
{
	struct q_regex	*rx;

	if ((rx = q_regex_new(re, len, err)) == NULL)
		return -1;
	*matches_empty = q_regex_match(rx, "", 0);
	q_regex_free(rx);
	return 0;
}
