/*
 * lexer: the PromQL scanner (see lexer.h).
 *
 * The structure mirrors the states of Prometheus's scanner (statements,
 * inside braces, duration after a bracket, strings, escapes) because where a
 * token ends and which message a bad character gets both depend on the state;
 * matching them is what lets monitord answer a bad query with the error text
 * Prometheus gives.  Runes are decoded as UTF-8 the way Go does, so an invalid
 * byte is one U+FFFD rune.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "query/lexer.h"
#include "query/quote.h"

static const struct {
	const char	*word;
	enum q_tok	 type;
} keywords[] = {
	{ "and", Q_T_LAND },
	{ "or", Q_T_LOR },
	{ "unless", Q_T_LUNLESS },
	{ "atan2", Q_T_ATAN2 },
	{ "sum", Q_T_SUM },
	{ "avg", Q_T_AVG },
	{ "count", Q_T_COUNT },
	{ "min", Q_T_MIN },
	{ "max", Q_T_MAX },
	{ "group", Q_T_GROUP },
	{ "stddev", Q_T_STDDEV },
	{ "stdvar", Q_T_STDVAR },
	{ "topk", Q_T_TOPK },
	{ "bottomk", Q_T_BOTTOMK },
	{ "count_values", Q_T_COUNT_VALUES },
	{ "quantile", Q_T_QUANTILE },
	{ "offset", Q_T_OFFSET },
	{ "by", Q_T_BY },
	{ "without", Q_T_WITHOUT },
	{ "on", Q_T_ON },
	{ "ignoring", Q_T_IGNORING },
	{ "group_left", Q_T_GROUP_LEFT },
	{ "group_right", Q_T_GROUP_RIGHT },
	{ "bool", Q_T_BOOL },
	{ "start", Q_T_START },
	{ "end", Q_T_END },
	{ "inf", Q_T_NUMBER },
	{ "nan", Q_T_NUMBER },
};

static const char	digits_dec[] = "0123456789";
static const char	digits_hex[] = "0123456789abcdefABCDEF";

void
q_lex_init(struct q_lexer *l, const char *in, size_t len)
{
	memset(l, 0, sizeof(*l));
	l->in = in;
	l->len = len;
}

static int32_t
lex_next(struct q_lexer *l)
{
	int32_t	r;

	if (l->pos >= l->len) {
		l->width = 0;
		return Q_RUNE_EOF;
	}
	l->width = q_utf8_decode(l->in + l->pos, l->len - l->pos, &r);
	l->pos += l->width;
	return r;
}

static void
lex_backup(struct q_lexer *l)
{
	l->pos -= l->width;
}

static int32_t
lex_peek(struct q_lexer *l)
{
	int32_t	r = lex_next(l);

	lex_backup(l);
	return r;
}

static int
in_set(int32_t r, const char *set)
{
	return r > 0 && r < 0x80 && strchr(set, (int)r) != NULL;
}

static int
lex_accept(struct q_lexer *l, const char *set)
{
	if (in_set(lex_next(l), set))
		return 1;
	lex_backup(l);
	return 0;
}

static void
lex_accept_run(struct q_lexer *l, const char *set)
{
	while (in_set(lex_next(l), set))
		;
	lex_backup(l);
}

static int
is_space(int32_t r)
{
	return r == ' ' || r == '\t' || r == '\n' || r == '\r';
}

static int
is_alpha(int32_t r)
{
	return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
}

static int
is_digit(int32_t r)
{
	return r >= '0' && r <= '9';
}

static int
is_alnum(int32_t r)
{
	return is_alpha(r) || is_digit(r);
}

static void
lex_emit(struct q_lexer *l, struct q_token *t, enum q_tok type)
{
	t->type = type;
	t->pos = l->start;
	t->len = l->pos - l->start;
	t->text = l->in + l->start;
	l->start = l->pos;
}

/* Copy a message into the fixed buffer without splitting a UTF-8 rune. */
static void
lex_set_error(struct q_lexer *l, struct q_token *t, const struct buf *msg)
{
	size_t	n = msg->len;

	if (n >= sizeof(l->err)) {
		n = sizeof(l->err) - 1;
		while (n > 0 && ((unsigned char)msg->data[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(l->err, msg->data, n);
	l->err[n] = '\0';
	t->type = Q_T_ERROR;
	t->pos = l->start;
	t->len = 0;
	t->text = l->err;
	l->done = 1;
}

static void
lex_error(struct q_lexer *l, struct q_token *t, const char *msg)
{
	struct buf	b = BUF_INIT;

	buf_adds(&b, msg);
	lex_set_error(l, t, &b);
	buf_free(&b);
}

/* MSG followed by a Go-quoted rune: "unexpected character: '$'". */
static void
lex_error_rune(struct q_lexer *l, struct q_token *t, const char *msg,
    int32_t r)
{
	struct buf	b = BUF_INIT;

	buf_adds(&b, msg);
	q_quote_rune(&b, r);
	lex_set_error(l, t, &b);
	buf_free(&b);
}

/* MSG followed by the Go-quoted text scanned so far. */
static void
lex_error_text(struct q_lexer *l, struct q_token *t, const char *msg)
{
	struct buf	b = BUF_INIT;

	buf_adds(&b, msg);
	q_quote(&b, l->in + l->start, l->pos - l->start);
	lex_set_error(l, t, &b);
	buf_free(&b);
}

static void
lex_skip_comment(struct q_lexer *l)
{
	int32_t	r;

	l->pos++;
	do
		r = lex_next(l);
	while (r != '\r' && r != '\n' && r != Q_RUNE_EOF);
	lex_backup(l);
	l->start = l->pos;
}

static void
lex_skip_spaces(struct q_lexer *l)
{
	while (is_space(lex_peek(l)))
		lex_next(l);
	l->start = l->pos;
}

/*
 * Scan the digits of a number (decimal, or hexadecimal after 0x, with an
 * optional fraction and exponent).  True when no letter or digit follows,
 * i.e. the text so far is a number token; false means it may be the start
 * of a duration.
 */
static int
scan_number(struct q_lexer *l)
{
	const char	*digits = digits_dec;

	if (lex_accept(l, "0") && lex_accept(l, "xX"))
		digits = digits_hex;
	lex_accept_run(l, digits);
	if (lex_accept(l, "."))
		lex_accept_run(l, digits);
	if (lex_accept(l, "eE")) {
		lex_accept(l, "+-");
		lex_accept_run(l, digits_dec);
	}
	return !is_alnum(lex_peek(l));
}

/*
 * After the leading number of a duration: a unit, then more number-unit
 * pairs.  Units are checked loosely here ("1hs" passes) and strictly when
 * the duration is parsed, as Prometheus does.  Consumes one rune past the
 * end; the caller backs up.
 */
static int
accept_remaining_duration(struct q_lexer *l)
{
	if (!lex_accept(l, "smhdwy"))
		return 0;
	lex_accept(l, "s");
	while (lex_accept(l, digits_dec)) {
		while (lex_accept(l, digits_dec))
			;
		if (!lex_accept(l, "smhdw"))
			return 0;
		lex_accept(l, "s");
	}
	return !is_alnum(lex_next(l));
}

static void
lex_duration(struct q_lexer *l, struct q_token *t)
{
	if (scan_number(l)) {
		lex_error(l, t, "missing unit character in duration");
		return;
	}
	if (!accept_remaining_duration(l)) {
		lex_error_text(l, t, "bad duration syntax: ");
		return;
	}
	lex_backup(l);
	lex_emit(l, t, Q_T_DURATION);
}

static void
lex_number_or_duration(struct q_lexer *l, struct q_token *t)
{
	if (scan_number(l)) {
		lex_emit(l, t, Q_T_NUMBER);
		return;
	}
	if (accept_remaining_duration(l)) {
		lex_backup(l);
		lex_emit(l, t, Q_T_DURATION);
		return;
	}
	lex_error_text(l, t, "bad number or duration syntax: ");
}

static void
lex_keyword_or_identifier(struct q_lexer *l, struct q_token *t)
{
	int32_t		r;
	size_t		i, n;
	const char	*w;
	int		colon = 0;

	for (;;) {
		r = lex_next(l);
		if (r == ':')
			colon = 1;
		else if (!is_alnum(r))
			break;
	}
	lex_backup(l);
	w = l->in + l->start;
	n = l->pos - l->start;
	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		if (strlen(keywords[i].word) == n &&
		    strncasecmp(keywords[i].word, w, n) == 0) {
			lex_emit(l, t, keywords[i].type);
			return;
		}
	}
	lex_emit(l, t, colon ? Q_T_METRIC_IDENTIFIER : Q_T_IDENTIFIER);
}

static int
digit_val(int32_t r)
{
	if (r >= '0' && r <= '9')
		return r - '0';
	if (r >= 'a' && r <= 'f')
		return r - 'a' + 10;
	if (r >= 'A' && r <= 'F')
		return r - 'A' + 10;
	return 16;
}

/* An escape after the backslash; 0, or -1 with the error token set. */
static int
lex_escape(struct q_lexer *l, struct q_token *t, int32_t quote)
{
	int32_t		ch = lex_next(l);
	int		n, d;
	uint32_t	base, max, x = 0;
	struct buf	b = BUF_INIT;

	switch (ch) {
	case 'a': case 'b': case 'f': case 'n': case 'r': case 't': case 'v':
	case '\\':
		return 0;
	case '0': case '1': case '2': case '3':
	case '4': case '5': case '6': case '7':
		n = 3;
		base = 8;
		max = 255;
		break;
	case 'x':
		ch = lex_next(l);
		n = 2;
		base = 16;
		max = 255;
		break;
	case 'u':
		ch = lex_next(l);
		n = 4;
		base = 16;
		max = 0x10FFFF;
		break;
	case 'U':
		ch = lex_next(l);
		n = 8;
		base = 16;
		max = 0x10FFFF;
		break;
	case Q_RUNE_EOF:
		lex_error(l, t, "escape sequence not terminated");
		return -1;
	default:
		if (ch == quote)
			return 0;
		buf_adds(&b, "unknown escape sequence ");
		q_format_unicode(&b, ch);
		lex_set_error(l, t, &b);
		buf_free(&b);
		return -1;
	}
	while (n > 0) {
		d = digit_val(ch);
		if ((uint32_t)d >= base) {
			if (ch == Q_RUNE_EOF) {
				lex_error(l, t, "escape sequence not terminated");
				return -1;
			}
			buf_adds(&b, "illegal character ");
			q_format_unicode(&b, ch);
			buf_adds(&b, " in escape sequence");
			lex_set_error(l, t, &b);
			buf_free(&b);
			return -1;
		}
		x = x * base + (uint32_t)d;
		if (--n > 0)
			ch = lex_next(l);
	}
	if (x > max || (x >= 0xD800 && x < 0xE000)) {
		lex_error(l, t,
		    "escape sequence is an invalid Unicode code point");
		return -1;
	}
	return 0;
}

static void
lex_string(struct q_lexer *l, struct q_token *t, int32_t quote)
{
	int32_t	r;

	for (;;) {
		r = lex_next(l);
		if (r == '\\') {
			if (lex_escape(l, t, quote) == -1)
				return;
			continue;
		}
		/* Like Prometheus, a literal U+FFFD is refused too. */
		if (r == Q_RUNE_ERROR) {
			lex_error(l, t, "invalid UTF-8 rune");
			return;
		}
		if (r == Q_RUNE_EOF || r == '\n') {
			lex_error(l, t, "unterminated quoted string");
			return;
		}
		if (r == quote)
			break;
	}
	lex_emit(l, t, Q_T_STRING);
}

static void
lex_raw_string(struct q_lexer *l, struct q_token *t)
{
	int32_t	r;

	for (;;) {
		r = lex_next(l);
		if (r == Q_RUNE_ERROR) {
			lex_error(l, t, "invalid UTF-8 rune");
			return;
		}
		if (r == Q_RUNE_EOF) {
			lex_error(l, t, "unterminated raw string");
			return;
		}
		if (r == '`')
			break;
	}
	lex_emit(l, t, Q_T_STRING);
}

static void
lex_inside_braces(struct q_lexer *l, struct q_token *t)
{
	int32_t	r;

	for (;;) {
		if (l->pos < l->len && l->in[l->pos] == '#') {
			lex_skip_comment(l);
			continue;
		}
		r = lex_next(l);
		if (r == Q_RUNE_EOF) {
			lex_error(l, t, "unexpected end of input inside braces");
			return;
		}
		if (is_space(r)) {
			lex_skip_spaces(l);
			continue;
		}
		if (is_alpha(r)) {
			while (is_alnum(lex_next(l)))
				;
			lex_backup(l);
			lex_emit(l, t, Q_T_IDENTIFIER);
			return;
		}
		switch (r) {
		case ',':
			lex_emit(l, t, Q_T_COMMA);
			return;
		case '"':
		case '\'':
			lex_string(l, t, r);
			return;
		case '`':
			lex_raw_string(l, t);
			return;
		case '=':
			if (lex_next(l) == '~') {
				lex_emit(l, t, Q_T_EQL_REGEX);
				return;
			}
			lex_backup(l);
			lex_emit(l, t, Q_T_EQL);
			return;
		case '!':
			r = lex_next(l);
			if (r == '~')
				lex_emit(l, t, Q_T_NEQ_REGEX);
			else if (r == '=')
				lex_emit(l, t, Q_T_NEQ);
			else
				lex_error_rune(l, t, "unexpected character "
				    "after '!' inside braces: ", r);
			return;
		case '{':
			lex_error_rune(l, t, "unexpected left brace ", r);
			return;
		case '}':
			lex_emit(l, t, Q_T_RIGHT_BRACE);
			l->brace_open = 0;
			return;
		default:
			lex_error_rune(l, t,
			    "unexpected character inside braces: ", r);
			return;
		}
	}
}

static void
lex_statements(struct q_lexer *l, struct q_token *t)
{
	int32_t	r;

	for (;;) {
		if (l->pos < l->len && l->in[l->pos] == '#') {
			lex_skip_comment(l);
			continue;
		}
		r = lex_next(l);
		if (r == Q_RUNE_EOF) {
			if (l->paren_depth != 0)
				lex_error(l, t, "unclosed left parenthesis");
			else if (l->bracket_open)
				lex_error(l, t, "unclosed left bracket");
			else {
				lex_emit(l, t, Q_T_EOF);
				l->done = 1;
			}
			return;
		}
		if (is_space(r)) {
			lex_skip_spaces(l);
			continue;
		}
		if (is_digit(r) || (r == '.' && is_digit(lex_peek(l)))) {
			lex_backup(l);
			lex_number_or_duration(l, t);
			return;
		}
		if (is_alpha(r) || r == ':') {
			if (!l->bracket_open) {
				lex_backup(l);
				lex_keyword_or_identifier(l, t);
				return;
			}
			/* Inside brackets any letter reads as the colon. */
			if (l->got_colon) {
				lex_error_rune(l, t, "unexpected colon ", r);
				return;
			}
			lex_emit(l, t, Q_T_COLON);
			l->got_colon = 1;
			return;
		}
		switch (r) {
		case ',':
			lex_emit(l, t, Q_T_COMMA);
			return;
		case '*':
			lex_emit(l, t, Q_T_MUL);
			return;
		case '/':
			lex_emit(l, t, Q_T_DIV);
			return;
		case '%':
			lex_emit(l, t, Q_T_MOD);
			return;
		case '+':
			lex_emit(l, t, Q_T_ADD);
			return;
		case '-':
			lex_emit(l, t, Q_T_SUB);
			return;
		case '^':
			lex_emit(l, t, Q_T_POW);
			return;
		case '@':
			lex_emit(l, t, Q_T_AT);
			return;
		case '=':
			r = lex_peek(l);
			if (r == '=') {
				lex_next(l);
				lex_emit(l, t, Q_T_EQLC);
			} else if (r == '~')
				lex_error_rune(l, t,
				    "unexpected character after '=': ", r);
			else
				lex_emit(l, t, Q_T_EQL);
			return;
		case '!':
			r = lex_next(l);
			if (r == '=')
				lex_emit(l, t, Q_T_NEQ);
			else
				lex_error_rune(l, t,
				    "unexpected character after '!': ", r);
			return;
		case '<':
			if (lex_peek(l) == '=') {
				lex_next(l);
				lex_emit(l, t, Q_T_LTE);
			} else
				lex_emit(l, t, Q_T_LSS);
			return;
		case '>':
			if (lex_peek(l) == '=') {
				lex_next(l);
				lex_emit(l, t, Q_T_GTE);
			} else
				lex_emit(l, t, Q_T_GTR);
			return;
		case '"':
		case '\'':
			lex_string(l, t, r);
			return;
		case '`':
			lex_raw_string(l, t);
			return;
		case '(':
			lex_emit(l, t, Q_T_LEFT_PAREN);
			l->paren_depth++;
			return;
		case ')':
			lex_emit(l, t, Q_T_RIGHT_PAREN);
			/* Reported just past the parenthesis, as Prometheus does. */
			if (--l->paren_depth < 0)
				lex_error_rune(l, t,
				    "unexpected right parenthesis ", r);
			return;
		case '{':
			lex_emit(l, t, Q_T_LEFT_BRACE);
			l->brace_open = 1;
			return;
		case '[':
			if (l->bracket_open) {
				lex_error_rune(l, t, "unexpected left bracket ", r);
				return;
			}
			l->got_colon = 0;
			lex_emit(l, t, Q_T_LEFT_BRACKET);
			l->bracket_open = 1;
			l->want_duration = 1;
			return;
		case ']':
			if (!l->bracket_open) {
				lex_error_rune(l, t,
				    "unexpected right bracket ", r);
				return;
			}
			lex_emit(l, t, Q_T_RIGHT_BRACKET);
			l->bracket_open = 0;
			return;
		default:
			lex_error_rune(l, t, "unexpected character: ", r);
			return;
		}
	}
}

void
q_lex_next(struct q_lexer *l, struct q_token *t)
{
	if (l->done) {
		t->type = Q_T_EOF;
		t->pos = l->start;
		t->len = 0;
		t->text = l->in + l->start;
		return;
	}
	if (l->want_duration) {
		l->want_duration = 0;
		lex_skip_spaces(l);
		lex_duration(l, t);
		return;
	}
	if (l->brace_open)
		lex_inside_braces(l, t);
	else
		lex_statements(l, t);
}
