/*
 * parser: recursive descent over the PromQL grammar (see parser.h).
 *
 * Binary operators are parsed by precedence climbing (or < and/unless <
 * comparisons < + - < * / % atan2 < ^, ^ right-associative).  A unary sign
 * binds looser than ^ and tighter than *, so "-a ^ b" is -(a ^ b) and
 * "-a * b" is (-a) * b.  Range brackets, "offset" and "@" bind tightest and
 * apply to the expression right before them.
 *
 * Prometheus parses with a yacc grammar whose error rules decide the wording
 * of a syntax error: "unexpected X in label matching, expected string",
 * "... in grouping opts, expected \"(\"", and, for anything left inside an
 * aggregation's parentheses, "... in aggregation".  Each parse function here
 * reports the message of the rule that would have caught the error there,
 * and reads tokens no earlier than yacc would, so that when a query has
 * several faults the one reported is the one Prometheus reports.  Parsing
 * stops at the first error.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "buf.h"
#include "xmalloc.h"
#include "query/check.h"
#include "query/lexer.h"
#include "query/literal.h"
#include "query/parser.h"
#include "query/quote.h"
#include "query/regex.h"

/* Precedence levels of binary operators. */
#define PREC_OR		1
#define PREC_AND	2
#define PREC_CMP	3
#define PREC_ADD	4
#define PREC_MUL	5
#define PREC_POW	6

struct parser {
	struct q_lexer	 lex;
	struct q_token	 tok;		/* lookahead, valid when have_tok */
	int		 have_tok;
	const char	*in;
	size_t		 len;
	struct q_error	*err;
	int		 failed;
	int		 depth;		/* recursion, bounded by Q_MAX_DEPTH */
	int		 aggr;		/* open aggregations */
};

static struct q_expr	*parse_expr(struct parser *, int);

/* Record the first error; MSG is cut at a UTF-8 boundary to fit. */
static void
fail_buf(struct parser *p, size_t pos, const struct buf *msg)
{
	size_t	n;

	if (p->failed)
		return;
	p->failed = 1;
	n = msg->len;
	if (n >= sizeof(p->err->msg)) {
		n = sizeof(p->err->msg) - 1;
		while (n > 0 && ((unsigned char)msg->data[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(p->err->msg, msg->data, n);
	p->err->msg[n] = '\0';
	p->err->pos = (int)pos;
}

static void __attribute__((format(printf, 3, 4)))
fail(struct parser *p, size_t pos, const char *fmt, ...)
{
	struct buf	b = BUF_INIT;
	va_list		ap;
	char		*s;

	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	buf_adds(&b, s);
	free(s);
	fail_buf(p, pos, &b);
	buf_free(&b);
}

/* The lookahead token, or NULL when the lexer failed (error recorded). */
static const struct q_token *
peek(struct parser *p)
{
	if (p->failed)
		return NULL;
	if (!p->have_tok) {
		q_lex_next(&p->lex, &p->tok);
		p->have_tok = 1;
		if (p->tok.type == Q_T_ERROR) {
			fail(p, p->tok.pos, "%s", p->lex.err);
			return NULL;
		}
	}
	return &p->tok;
}

static void
consume(struct parser *p)
{
	p->have_tok = 0;
}

static int
is_aggregator(enum q_tok t)
{
	return t > Q_T_AGGREGATORS_START && t < Q_T_AGGREGATORS_END;
}

static int
is_keyword(enum q_tok t)
{
	return t > Q_T_KEYWORDS_START && t < Q_T_KEYWORDS_END;
}

static int
is_operator(enum q_tok t)
{
	return t > Q_T_OPERATORS_START && t < Q_T_OPERATORS_END;
}

/* Keywords that may also name a metric ("sum", "by", "offset", "and" ...). */
static int
is_metric_keyword(enum q_tok t)
{
	switch (t) {
	case Q_T_BY:
	case Q_T_WITHOUT:
	case Q_T_OFFSET:
	case Q_T_LAND:
	case Q_T_LOR:
	case Q_T_LUNLESS:
	case Q_T_START:
	case Q_T_END:
		return 1;
	default:
		return is_aggregator(t);
	}
}

static int
can_start_expr(enum q_tok t)
{
	switch (t) {
	case Q_T_NUMBER:
	case Q_T_STRING:
	case Q_T_IDENTIFIER:
	case Q_T_METRIC_IDENTIFIER:
	case Q_T_LEFT_BRACE:
	case Q_T_LEFT_PAREN:
	case Q_T_ADD:
	case Q_T_SUB:
		return 1;
	default:
		return is_metric_keyword(t);
	}
}

/* Tokens a grouping list accepts as a label name (not "without"). */
static int
is_maybe_label(enum q_tok t)
{
	switch (t) {
	case Q_T_IDENTIFIER:
	case Q_T_METRIC_IDENTIFIER:
	case Q_T_BOOL:
	case Q_T_BY:
	case Q_T_GROUP_LEFT:
	case Q_T_GROUP_RIGHT:
	case Q_T_IGNORING:
	case Q_T_OFFSET:
	case Q_T_ON:
	case Q_T_LAND:
	case Q_T_LOR:
	case Q_T_LUNLESS:
	case Q_T_ATAN2:
	case Q_T_START:
	case Q_T_END:
		return 1;
	default:
		return is_aggregator(t);
	}
}

static int
binop_of(enum q_tok t, enum q_binop *op, int *prec)
{
	static const struct {
		enum q_tok	tok;
		enum q_binop	op;
		int		prec;
	} ops[] = {
		{ Q_T_LOR, Q_OP_OR, PREC_OR },
		{ Q_T_LAND, Q_OP_AND, PREC_AND },
		{ Q_T_LUNLESS, Q_OP_UNLESS, PREC_AND },
		{ Q_T_EQLC, Q_OP_EQL, PREC_CMP },
		{ Q_T_NEQ, Q_OP_NEQ, PREC_CMP },
		{ Q_T_GTR, Q_OP_GTR, PREC_CMP },
		{ Q_T_LSS, Q_OP_LSS, PREC_CMP },
		{ Q_T_GTE, Q_OP_GTE, PREC_CMP },
		{ Q_T_LTE, Q_OP_LTE, PREC_CMP },
		{ Q_T_ADD, Q_OP_ADD, PREC_ADD },
		{ Q_T_SUB, Q_OP_SUB, PREC_ADD },
		{ Q_T_MUL, Q_OP_MUL, PREC_MUL },
		{ Q_T_DIV, Q_OP_DIV, PREC_MUL },
		{ Q_T_MOD, Q_OP_MOD, PREC_MUL },
		{ Q_T_ATAN2, Q_OP_ATAN2, PREC_MUL },
		{ Q_T_POW, Q_OP_POW, PREC_POW },
	};
	size_t	i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (ops[i].tok == t) {
			*op = ops[i].op;
			*prec = ops[i].prec;
			return 1;
		}
	}
	return 0;
}

/* Go's %q of the token text, cut to 10 runes and "..." when longer. */
static void
token_string(struct buf *b, const struct q_token *t)
{
	if (t->len > 10) {
		q_quote_trunc(b, t->text, t->len, 10);
		buf_adds(b, "...");
	} else
		q_quote(b, t->text, t->len);
}

/* How Prometheus describes a token in "unexpected ..." messages. */
static void
token_desc(struct buf *b, const struct q_token *t)
{
	switch (t->type) {
	case Q_T_EOF:
		buf_adds(b, "end of input");
		return;
	case Q_T_IDENTIFIER:
		buf_adds(b, "identifier ");
		q_quote(b, t->text, t->len);
		return;
	case Q_T_METRIC_IDENTIFIER:
		buf_adds(b, "metric identifier ");
		q_quote(b, t->text, t->len);
		return;
	case Q_T_NUMBER:
		buf_adds(b, "number ");
		token_string(b, t);
		return;
	case Q_T_STRING:
		buf_adds(b, "string ");
		token_string(b, t);
		return;
	case Q_T_DURATION:
		buf_adds(b, "duration ");
		token_string(b, t);
		return;
	case Q_T_AT:
		/* Prometheus 2.42 has no display name for @: it shows its
		 * internal token number. */
		buf_adds(b, "\"<Item 57385>\" <op:@>");
		return;
	default:
		break;
	}
	if (is_keyword(t->type)) {
		buf_addc(b, '<');
		buf_add(b, t->text, t->len);
		buf_addc(b, '>');
	} else if (is_operator(t->type)) {
		buf_adds(b, "<op:");
		buf_add(b, t->text, t->len);
		buf_addc(b, '>');
	} else if (is_aggregator(t->type)) {
		buf_adds(b, "<aggr:");
		buf_add(b, t->text, t->len);
		buf_addc(b, '>');
	} else
		token_string(b, t);
}

/*
 * "unexpected X[ in CONTEXT][, expected WHAT]".  A NULL context means the
 * innermost enclosing one: an open aggregation, or none.
 */
static void
unexpected(struct parser *p, const struct q_token *t, const char *context,
    const char *expected)
{
	struct buf	b = BUF_INIT;

	if (context == NULL && p->aggr > 0)
		context = "aggregation";
	buf_adds(&b, "unexpected ");
	token_desc(&b, t);
	if (context != NULL) {
		buf_adds(&b, " in ");
		buf_adds(&b, context);
	}
	if (expected != NULL) {
		buf_adds(&b, ", expected ");
		buf_adds(&b, expected);
	}
	fail_buf(p, t->pos, &b);
	buf_free(&b);
}

static struct q_expr *
node_new(enum q_kind kind, size_t pos, size_t end)
{
	struct q_expr	*e = xcalloc(1, sizeof(*e));

	e->kind = kind;
	e->pos = (int)pos;
	e->end = (int)end;
	e->height = 1;
	return e;
}

/* Set E's height over its tallest child; -1 past Q_MAX_DEPTH. */
static int
node_height(struct parser *p, struct q_expr *e, int child, size_t pos)
{
	e->height = child + 1;
	if (e->height > Q_MAX_DEPTH) {
		fail(p, pos, "query too deeply nested");
		return -1;
	}
	return 0;
}

static int
max_height(const struct q_expr *a, const struct q_expr *b)
{
	int	ha = a != NULL ? a->height : 0, hb = b != NULL ? b->height : 0;

	return ha > hb ? ha : hb;
}

static void
labels_add(struct q_labels *l, const char *s, size_t len)
{
	l->names = xreallocarray(l->names, l->n + 1, sizeof(*l->names));
	l->names[l->n++] = xstrndup(s, len);
}

static int
is_label_name(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') ||
	    (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	for (i = 1; i < len; i++) {
		if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
			return 0;
	}
	return 1;
}

/*
 * A parenthesised label list after by, without, on, ignoring, group_left or
 * group_right; a trailing comma is allowed.  *end is set past the ")".
 */
static int
parse_grouping(struct parser *p, struct q_labels *out, size_t *end)
{
	const struct q_token	*t;

	if ((t = peek(p)) == NULL)
		return -1;
	if (t->type != Q_T_LEFT_PAREN) {
		unexpected(p, t, "grouping opts", "\"(\"");
		return -1;
	}
	consume(p);
	if ((t = peek(p)) == NULL)
		return -1;
	if (t->type == Q_T_RIGHT_PAREN) {
		*end = t->pos + 1;
		consume(p);
		return 0;
	}
	for (;;) {
		if (!is_maybe_label(t->type) || !is_label_name(t->text, t->len)) {
			unexpected(p, t, "grouping opts", "label");
			return -1;
		}
		labels_add(out, t->text, t->len);
		consume(p);
		if ((t = peek(p)) == NULL)
			return -1;
		if (t->type == Q_T_COMMA) {
			consume(p);
			if ((t = peek(p)) == NULL)
				return -1;
			if (t->type != Q_T_RIGHT_PAREN)
				continue;
		} else if (t->type != Q_T_RIGHT_PAREN) {
			unexpected(p, t, "grouping opts", "\",\" or \")\"");
			return -1;
		}
		*end = t->pos + 1;
		consume(p);
		return 0;
	}
}

/* Number and duration tokens: convert, or fail with the converter's text. */
static int
parse_number(struct parser *p, const struct q_token *t, double *v)
{
	struct buf	err = BUF_INIT;

	if (q_literal_number(t->text, t->len, v, &err) == 0)
		return 0;
	fail_buf(p, t->pos, &err);
	buf_free(&err);
	return -1;
}

static int
parse_duration(struct parser *p, const struct q_token *t, int64_t *ms)
{
	struct buf	err = BUF_INIT;

	if (q_literal_duration(t->text, t->len, ms, &err) == 0)
		return 0;
	fail_buf(p, t->pos, &err);
	buf_free(&err);
	return -1;
}

static int
at_vars(struct parser *p, struct q_expr *e, struct q_at **at)
{
	switch (e->kind) {
	case Q_VECTOR_SELECTOR:
		*at = &e->vs.at;
		break;
	case Q_MATRIX_SELECTOR:
		*at = &e->matrix.vs->vs.at;
		break;
	case Q_SUBQUERY:
		*at = &e->subquery.at;
		break;
	default:
		fail(p, e->pos, "@ modifier must be preceded by an instant "
		    "vector selector or range vector selector or a subquery");
		return -1;
	}
	if ((*at)->kind != Q_AT_NONE) {
		fail(p, e->pos, "@ <timestamp> may not be set multiple times");
		return -1;
	}
	return 0;
}

/* The @ modifier after E: "@ 1609746000", "@ -5.5", "@ start()". */
static int
parse_at(struct parser *p, struct q_expr *e)
{
	const struct q_token	*t;
	struct q_at		*at;
	struct buf		 b = BUF_INIT;
	double			 ts, ms;
	int			 negate = 0;
	enum q_at_kind		 kind;

	if ((t = peek(p)) == NULL)
		return -1;
	if (t->type == Q_T_START || t->type == Q_T_END) {
		kind = t->type == Q_T_START ? Q_AT_START : Q_AT_END;
		consume(p);
		if ((t = peek(p)) == NULL)
			return -1;
		if (t->type != Q_T_LEFT_PAREN) {
			unexpected(p, t, "@", "timestamp");
			return -1;
		}
		consume(p);
		if ((t = peek(p)) == NULL)
			return -1;
		if (t->type != Q_T_RIGHT_PAREN) {
			unexpected(p, t, "@", "timestamp");
			return -1;
		}
		e->end = (int)(t->pos + 1);
		consume(p);
		if (at_vars(p, e, &at) == -1)
			return -1;
		at->kind = kind;
		return 0;
	}
	if (t->type == Q_T_ADD || t->type == Q_T_SUB) {
		negate = t->type == Q_T_SUB;
		consume(p);
		if ((t = peek(p)) == NULL)
			return -1;
	}
	if (t->type != Q_T_NUMBER) {
		unexpected(p, t, "@", "timestamp");
		return -1;
	}
	if (parse_number(p, t, &ts) == -1)
		return -1;
	e->end = (int)(t->pos + t->len);
	consume(p);
	if (negate)
		ts = -ts;
	if (isnan(ts) || isinf(ts) || ts >= 9223372036854775807.0 ||
	    ts <= -9223372036854775808.0) {
		buf_adds(&b, "timestamp out of bounds for @ modifier: ");
		q_format_fixed(&b, ts, 6);
		fail_buf(p, e->pos, &b);
		buf_free(&b);
		return -1;
	}
	if (at_vars(p, e, &at) == -1)
		return -1;
	at->kind = Q_AT_TIME;
	/* Go converts an out-of-range float to the minimum int64 on amd64. */
	ms = round(ts * 1000);
	if (ms >= 9223372036854775807.0 || ms < -9223372036854775808.0)
		at->ms = INT64_MIN;
	else
		at->ms = (int64_t)ms;
	return 0;
}

/* The offset modifier after E. */
static int
parse_offset(struct parser *p, struct q_expr *e)
{
	const struct q_token	*t;
	int64_t			 d, *target;
	int			 negate = 0;

	if ((t = peek(p)) == NULL)
		return -1;
	if (t->type == Q_T_SUB) {
		negate = 1;
		consume(p);
		if ((t = peek(p)) == NULL)
			return -1;
	}
	if (t->type != Q_T_DURATION) {
		unexpected(p, t, "offset", "duration");
		return -1;
	}
	if (parse_duration(p, t, &d) == -1)
		return -1;
	e->end = (int)(t->pos + t->len);
	consume(p);
	switch (e->kind) {
	case Q_VECTOR_SELECTOR:
		target = &e->vs.offset;
		break;
	case Q_MATRIX_SELECTOR:
		target = &e->matrix.vs->vs.offset;
		break;
	case Q_SUBQUERY:
		target = &e->subquery.offset;
		break;
	default:
		fail(p, e->pos, "offset modifier must be preceded by an instant "
		    "vector selector or range vector selector or a subquery");
		return -1;
	}
	if (*target != 0) {
		fail(p, e->pos, "offset may not be set multiple times");
		return -1;
	}
	*target = negate ? -d : d;
	return 0;
}

/* "[range]" or "[range:step]" after E; returns the new node. */
static struct q_expr *
parse_brackets(struct parser *p, struct q_expr *e)
{
	const struct q_token	*t;
	struct q_expr		*n;
	size_t			 lbracket;
	int64_t			 range, step = 0;
	const char		*msg = NULL;

	lbracket = p->tok.pos;
	consume(p);
	if ((t = peek(p)) == NULL)
		return NULL;
	if (t->type != Q_T_DURATION) {
		unexpected(p, t, "subquery selector", "duration");
		return NULL;
	}
	if (parse_duration(p, t, &range) == -1)
		return NULL;
	consume(p);
	if ((t = peek(p)) == NULL)
		return NULL;
	if (t->type == Q_T_RIGHT_BRACKET) {
		if (e->kind != Q_VECTOR_SELECTOR)
			msg = "ranges only allowed for vector selectors";
		else if (e->vs.offset != 0)
			msg = "no offset modifiers allowed before range";
		else if (e->vs.at.kind == Q_AT_TIME)
			msg = "no @ modifiers allowed before range";
		if (msg != NULL) {
			fail(p, lbracket, "%s", msg);
			return NULL;
		}
		n = node_new(Q_MATRIX_SELECTOR, (size_t)e->pos, t->pos + 1);
		consume(p);
		n->matrix.vs = e;
		n->matrix.range = range;
		if (node_height(p, n, e->height, lbracket) == -1) {
			n->matrix.vs = NULL;
			q_expr_free(n);
			return NULL;
		}
		return n;
	}
	if (t->type != Q_T_COLON) {
		unexpected(p, t, "subquery or range", "\":\" or \"]\"");
		return NULL;
	}
	consume(p);
	if ((t = peek(p)) == NULL)
		return NULL;
	if (t->type == Q_T_DURATION) {
		if (parse_duration(p, t, &step) == -1)
			return NULL;
		consume(p);
		if ((t = peek(p)) == NULL)
			return NULL;
		if (t->type != Q_T_RIGHT_BRACKET) {
			unexpected(p, t, "subquery selector", "\"]\"");
			return NULL;
		}
	} else if (t->type != Q_T_RIGHT_BRACKET) {
		unexpected(p, t, "subquery selector", "duration or \"]\"");
		return NULL;
	}
	n = node_new(Q_SUBQUERY, (size_t)e->pos, t->pos + 1);
	consume(p);
	n->subquery.expr = e;
	n->subquery.range = range;
	n->subquery.step = step;
	if (node_height(p, n, e->height, lbracket) == -1) {
		n->subquery.expr = NULL;
		q_expr_free(n);
		return NULL;
	}
	return n;
}

/* Range brackets, offset and @ after E, in any order and number. */
static struct q_expr *
parse_postfix(struct parser *p, struct q_expr *e)
{
	const struct q_token	*t;
	struct q_expr		*n;

	for (;;) {
		if ((t = peek(p)) == NULL)
			goto fail;
		switch (t->type) {
		case Q_T_LEFT_BRACKET:
			if ((n = parse_brackets(p, e)) == NULL)
				goto fail;
			e = n;
			break;
		case Q_T_OFFSET:
			consume(p);
			if (parse_offset(p, e) == -1)
				goto fail;
			break;
		case Q_T_AT:
			consume(p);
			if (parse_at(p, e) == -1)
				goto fail;
			break;
		default:
			return e;
		}
	}
fail:
	q_expr_free(e);
	return NULL;
}

/* "{a="b", c=~"d"}"; appends to the selector's matchers. */
static int
parse_matchers(struct parser *p, struct q_expr *vs)
{
	const struct q_token	*t;
	struct q_matcher	*m;
	struct q_string		 val;
	struct buf		 b = BUF_INIT;
	enum q_match		 type;
	size_t			 name_pos;
	int			 empty;

	consume(p);	/* { */
	if ((t = peek(p)) == NULL)
		return -1;
	if (t->type == Q_T_RIGHT_BRACE)
		goto close;
	for (;;) {
		if (t->type != Q_T_IDENTIFIER) {
			unexpected(p, t, "label matching",
			    "identifier or \"}\"");
			return -1;
		}
		vs->vs.matchers = xreallocarray(vs->vs.matchers,
		    vs->vs.nmatchers + 1, sizeof(*vs->vs.matchers));
		m = &vs->vs.matchers[vs->vs.nmatchers];
		memset(m, 0, sizeof(*m));
		m->name = xstrndup(t->text, t->len);
		vs->vs.nmatchers++;
		name_pos = t->pos;
		consume(p);
		if ((t = peek(p)) == NULL)
			return -1;
		switch (t->type) {
		case Q_T_EQL:
			type = Q_MATCH_EQUAL;
			break;
		case Q_T_NEQ:
			type = Q_MATCH_NOT_EQUAL;
			break;
		case Q_T_EQL_REGEX:
			type = Q_MATCH_REGEX;
			break;
		case Q_T_NEQ_REGEX:
			type = Q_MATCH_NOT_REGEX;
			break;
		default:
			unexpected(p, t, "label matching",
			    "label matching operator");
			return -1;
		}
		consume(p);
		if ((t = peek(p)) == NULL)
			return -1;
		if (t->type != Q_T_STRING) {
			unexpected(p, t, "label matching", "string");
			return -1;
		}
		q_literal_string(t->text, t->len, &val);
		m->type = type;
		m->value = val.s;
		m->value_len = val.len;
		consume(p);
		if ((type == Q_MATCH_REGEX || type == Q_MATCH_NOT_REGEX) &&
		    q_regex_check(m->value, m->value_len, &empty, &b) == -1) {
			fail_buf(p, name_pos, &b);
			buf_free(&b);
			return -1;
		}
		if ((t = peek(p)) == NULL)
			return -1;
		if (t->type == Q_T_COMMA) {
			consume(p);
			if ((t = peek(p)) == NULL)
				return -1;
			if (t->type == Q_T_RIGHT_BRACE)
				break;
			continue;
		}
		if (t->type == Q_T_RIGHT_BRACE)
			break;
		unexpected(p, t, "label matching", "\",\" or \"}\"");
		return -1;
	}
close:
	vs->end = (int)(t->pos + 1);
	consume(p);
	return 0;
}

/*
 * A vector selector: NAME (already consumed; NULL when the selector starts
 * with "{") and optional {matchers}.
 */
static struct q_expr *
parse_selector(struct parser *p, const struct q_token *name)
{
	const struct q_token	*t;
	struct q_expr		*e;
	struct q_matcher	*m;

	if ((t = peek(p)) == NULL)
		return NULL;
	if (name != NULL) {
		e = node_new(Q_VECTOR_SELECTOR, name->pos, name->pos + name->len);
		e->vs.name = xstrndup(name->text, name->len);
	} else
		e = node_new(Q_VECTOR_SELECTOR, t->pos, t->pos);
	if (t->type == Q_T_LEFT_BRACE && parse_matchers(p, e) == -1) {
		q_expr_free(e);
		return NULL;
	}
	if (e->vs.name != NULL) {
		e->vs.matchers = xreallocarray(e->vs.matchers,
		    e->vs.nmatchers + 1, sizeof(*e->vs.matchers));
		m = &e->vs.matchers[e->vs.nmatchers++];
		m->type = Q_MATCH_EQUAL;
		m->name = xstrdup("__name__");
		m->value = xstrdup(e->vs.name);
		m->value_len = strlen(m->value);
	}
	return e;
}

/*
 * "(arg, arg, ...)" of a call or an aggregation; the current token is "(".
 * Sets *end past the ")".
 */
static int
parse_args(struct parser *p, struct q_expr ***args, size_t *nargs,
    size_t *end)
{
	const struct q_token	*t;
	struct q_expr		*e;
	size_t			 comma;

	consume(p);	/* ( */
	if ((t = peek(p)) == NULL)
		return -1;
	if (t->type == Q_T_RIGHT_PAREN) {
		*end = t->pos + 1;
		consume(p);
		return 0;
	}
	for (;;) {
		if ((e = parse_expr(p, 0)) == NULL)
			return -1;
		*args = xreallocarray(*args, *nargs + 1, sizeof(**args));
		(*args)[(*nargs)++] = e;
		if ((t = peek(p)) == NULL)
			return -1;
		if (t->type == Q_T_COMMA) {
			comma = t->pos;
			consume(p);
			if ((t = peek(p)) == NULL)
				return -1;
			/* Prometheus reduces "args ," before looking further. */
			if (!can_start_expr(t->type)) {
				fail(p, comma, "trailing commas not allowed in "
				    "function call args");
				return -1;
			}
			continue;
		}
		if (t->type != Q_T_RIGHT_PAREN) {
			unexpected(p, t, NULL, NULL);
			return -1;
		}
		*end = t->pos + 1;
		consume(p);
		return 0;
	}
}

static void
args_free(struct q_expr **args, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		q_expr_free(args[i]);
	free(args);
}

/* NAME(args); NAME is consumed and the current token is "(". */
static struct q_expr *
parse_call(struct parser *p, const struct q_token *name)
{
	const struct q_function	*fn;
	struct q_expr		*e, **args = NULL;
	struct buf		 b = BUF_INIT;
	size_t			 nargs = 0, end, i;
	int			 h = 0;

	if (parse_args(p, &args, &nargs, &end) == -1) {
		args_free(args, nargs);
		return NULL;
	}
	if ((fn = q_function_lookup(name->text, name->len)) == NULL) {
		buf_adds(&b, "unknown function with name ");
		q_quote(&b, name->text, name->len);
		fail_buf(p, name->pos, &b);
		buf_free(&b);
		args_free(args, nargs);
		return NULL;
	}
	e = node_new(Q_CALL, name->pos, end);
	e->call.func = fn;
	e->call.args = args;
	e->call.nargs = nargs;
	for (i = 0; i < nargs; i++) {
		if (args[i]->height > h)
			h = args[i]->height;
	}
	if (node_height(p, e, h, name->pos) == -1) {
		q_expr_free(e);
		return NULL;
	}
	return e;
}

static enum q_aggop
aggop_of(enum q_tok t)
{
	switch (t) {
	case Q_T_AVG:
		return Q_AGG_AVG;
	case Q_T_COUNT:
		return Q_AGG_COUNT;
	case Q_T_MIN:
		return Q_AGG_MIN;
	case Q_T_MAX:
		return Q_AGG_MAX;
	case Q_T_GROUP:
		return Q_AGG_GROUP;
	case Q_T_STDDEV:
		return Q_AGG_STDDEV;
	case Q_T_STDVAR:
		return Q_AGG_STDVAR;
	case Q_T_TOPK:
		return Q_AGG_TOPK;
	case Q_T_BOTTOMK:
		return Q_AGG_BOTTOMK;
	case Q_T_COUNT_VALUES:
		return Q_AGG_COUNT_VALUES;
	case Q_T_QUANTILE:
		return Q_AGG_QUANTILE;
	default:
		return Q_AGG_SUM;
	}
}

/*
 * An aggregation: OP is consumed and the current token is "(", "by" or
 * "without".  The modifier may come before or after the arguments.
 */
static struct q_expr *
parse_aggregate(struct parser *p, const struct q_token *op)
{
	const struct q_token	*t;
	struct q_expr		*e, **args = NULL;
	size_t			 nargs = 0, end;
	int			 modifier = 0, desired;

	e = node_new(Q_AGGREGATE, op->pos, op->pos + op->len);
	e->aggregate.op = aggop_of(op->type);
	p->aggr++;
	if ((t = peek(p)) == NULL)
		goto fail;
	if (t->type == Q_T_BY || t->type == Q_T_WITHOUT) {
		e->aggregate.without = t->type == Q_T_WITHOUT;
		consume(p);
		if (parse_grouping(p, &e->aggregate.grouping, &end) == -1)
			goto fail;
		modifier = 1;
		if ((t = peek(p)) == NULL)
			goto fail;
	}
	if (t->type != Q_T_LEFT_PAREN) {
		unexpected(p, t, NULL, NULL);
		goto fail;
	}
	if (parse_args(p, &args, &nargs, &end) == -1)
		goto fail;
	if (!modifier) {
		if ((t = peek(p)) == NULL)
			goto fail;
		if (t->type == Q_T_BY || t->type == Q_T_WITHOUT) {
			e->aggregate.without = t->type == Q_T_WITHOUT;
			consume(p);
			if (parse_grouping(p, &e->aggregate.grouping,
			    &end) == -1)
				goto fail;
		}
	}
	p->aggr--;
	e->end = (int)end;

	if (nargs == 0) {
		fail(p, op->pos,
		    "no arguments for aggregate expression provided");
		goto fail;
	}
	desired = q_aggop_has_param(e->aggregate.op) ? 2 : 1;
	if ((int)nargs != desired) {
		fail(p, op->pos, "wrong number of arguments for aggregate "
		    "expression provided, expected %d, got %zu", desired, nargs);
		goto fail;
	}
	e->aggregate.param = desired == 2 ? args[0] : NULL;
	e->aggregate.expr = args[desired - 1];
	free(args);
	args = NULL;
	nargs = 0;
	if (node_height(p, e, max_height(e->aggregate.expr,
	    e->aggregate.param), op->pos) == -1)
		goto fail;
	return e;
fail:
	args_free(args, nargs);
	q_expr_free(e);
	return NULL;
}

static struct q_expr *
parse_primary(struct parser *p)
{
	const struct q_token	*t;
	struct q_token		 first;
	struct q_expr		*e, *inner;
	double			 v;

	if ((t = peek(p)) == NULL)
		return NULL;
	first = *t;
	switch (first.type) {
	case Q_T_NUMBER:
		if (parse_number(p, t, &v) == -1)
			return NULL;
		e = node_new(Q_NUMBER, t->pos, t->pos + t->len);
		e->number = v;
		consume(p);
		return e;
	case Q_T_STRING:
		e = node_new(Q_STRING, t->pos, t->pos + t->len);
		q_literal_string(t->text, t->len, &e->string);
		consume(p);
		return e;
	case Q_T_LEFT_PAREN:
		consume(p);
		if ((inner = parse_expr(p, 0)) == NULL)
			return NULL;
		if ((t = peek(p)) == NULL) {
			q_expr_free(inner);
			return NULL;
		}
		if (t->type != Q_T_RIGHT_PAREN) {
			unexpected(p, t, NULL, NULL);
			q_expr_free(inner);
			return NULL;
		}
		e = node_new(Q_PAREN, first.pos, t->pos + 1);
		consume(p);
		e->paren = inner;
		if (node_height(p, e, inner->height, first.pos) == -1) {
			q_expr_free(e);
			return NULL;
		}
		return e;
	case Q_T_LEFT_BRACE:
		return parse_selector(p, NULL);
	case Q_T_IDENTIFIER:
		consume(p);
		if ((t = peek(p)) == NULL)
			return NULL;
		if (t->type == Q_T_LEFT_PAREN)
			return parse_call(p, &first);
		return parse_selector(p, &first);
	case Q_T_METRIC_IDENTIFIER:
		consume(p);
		return parse_selector(p, &first);
	default:
		break;
	}
	if (is_aggregator(first.type)) {
		consume(p);
		if ((t = peek(p)) == NULL)
			return NULL;
		/* Otherwise "sum" names a metric, as in Prometheus. */
		if (t->type == Q_T_LEFT_PAREN || t->type == Q_T_BY ||
		    t->type == Q_T_WITHOUT)
			return parse_aggregate(p, &first);
		return parse_selector(p, &first);
	}
	if (is_metric_keyword(first.type)) {
		consume(p);
		return parse_selector(p, &first);
	}
	unexpected(p, t, NULL, NULL);
	return NULL;
}

static struct q_expr *
parse_unary(struct parser *p)
{
	const struct q_token	*t;
	struct q_token		 op;
	struct q_expr		*e, *operand;

	if ((t = peek(p)) == NULL)
		return NULL;
	if (++p->depth > Q_MAX_DEPTH) {
		fail(p, t->pos, "query too deeply nested");
		return NULL;
	}
	if (t->type == Q_T_ADD || t->type == Q_T_SUB) {
		op = *t;
		consume(p);
		if ((operand = parse_expr(p, PREC_POW)) == NULL)
			return NULL;
		if (operand->kind == Q_NUMBER) {
			/* "-1" is a number, as in Prometheus. */
			if (op.type == Q_T_SUB)
				operand->number = -operand->number;
			operand->pos = (int)op.pos;
			e = operand;
		} else {
			e = node_new(Q_UNARY, op.pos, (size_t)operand->end);
			e->unary.negate = op.type == Q_T_SUB;
			e->unary.expr = operand;
			if (node_height(p, e, operand->height, op.pos) == -1) {
				q_expr_free(e);
				return NULL;
			}
		}
	} else {
		if ((e = parse_primary(p)) == NULL)
			return NULL;
		if ((e = parse_postfix(p, e)) == NULL)
			return NULL;
	}
	p->depth--;
	return e;
}

/*
 * bool, on/ignoring (labels) and group_left/group_right (labels) after a
 * binary operator.
 */
static int
parse_bin_modifiers(struct parser *p, struct q_binary *b)
{
	const struct q_token	*t;
	size_t			 end;

	b->matching = xcalloc(1, sizeof(*b->matching));
	b->matching->card = Q_CARD_ONE_TO_ONE;
	if ((t = peek(p)) == NULL)
		return -1;
	if (t->type == Q_T_BOOL) {
		b->return_bool = 1;
		consume(p);
		if ((t = peek(p)) == NULL)
			return -1;
	}
	if (t->type != Q_T_ON && t->type != Q_T_IGNORING)
		return 0;
	b->matching->on = t->type == Q_T_ON;
	consume(p);
	if (parse_grouping(p, &b->matching->labels, &end) == -1)
		return -1;
	if ((t = peek(p)) == NULL)
		return -1;
	if (t->type != Q_T_GROUP_LEFT && t->type != Q_T_GROUP_RIGHT)
		return 0;
	b->matching->card = t->type == Q_T_GROUP_LEFT ? Q_CARD_MANY_TO_ONE :
	    Q_CARD_ONE_TO_MANY;
	consume(p);
	if ((t = peek(p)) == NULL)
		return -1;
	if (t->type == Q_T_LEFT_PAREN)
		return parse_grouping(p, &b->matching->include, &end);
	if (!can_start_expr(t->type)) {
		unexpected(p, t, "grouping opts", "\"(\"");
		return -1;
	}
	return 0;
}

static struct q_expr *
parse_expr(struct parser *p, int min_prec)
{
	const struct q_token	*t;
	struct q_expr		*lhs, *rhs, *e;
	enum q_binop		 op;
	int			 prec;
	size_t			 oppos;

	if ((lhs = parse_unary(p)) == NULL)
		return NULL;
	for (;;) {
		if ((t = peek(p)) == NULL)
			goto fail;
		if (!binop_of(t->type, &op, &prec) || prec < min_prec)
			return lhs;
		oppos = t->pos;
		consume(p);
		e = node_new(Q_BINARY, (size_t)lhs->pos, (size_t)lhs->end);
		e->binary.op = op;
		e->binary.lhs = lhs;
		lhs = e;
		if (parse_bin_modifiers(p, &e->binary) == -1)
			goto fail;
		/* ^ is right-associative; everything else left. */
		rhs = parse_expr(p, op == Q_OP_POW ? prec : prec + 1);
		if (rhs == NULL)
			goto fail;
		e->binary.rhs = rhs;
		e->end = rhs->end;
		if (node_height(p, e, max_height(e->binary.lhs, rhs),
		    oppos) == -1)
			goto fail;
	}
fail:
	q_expr_free(lhs);
	return NULL;
}

struct q_expr *
q_parse_n(const char *text, size_t len, struct q_error *err)
{
	struct parser		 p;
	const struct q_token	*t;
	struct q_expr		*e;

	memset(&p, 0, sizeof(p));
	memset(err, 0, sizeof(*err));
	p.in = text;
	p.len = len;
	p.err = err;
	if (len > Q_MAX_QUERY_LEN) {
		fail(&p, 0, "query too long: %zu bytes, the limit is %d", len,
		    Q_MAX_QUERY_LEN);
		return NULL;
	}
	q_lex_init(&p.lex, text, len);
	if ((t = peek(&p)) == NULL)
		return NULL;
	if (t->type == Q_T_EOF) {
		fail(&p, 0, "no expression found in input");
		return NULL;
	}
	if ((e = parse_expr(&p, 0)) == NULL)
		return NULL;
	if ((t = peek(&p)) == NULL) {
		q_expr_free(e);
		return NULL;
	}
	if (t->type != Q_T_EOF) {
		unexpected(&p, t, NULL, NULL);
		q_expr_free(e);
		return NULL;
	}
	if (q_check(e, text, len, err) == -1) {
		q_expr_free(e);
		return NULL;
	}
	return e;
}

struct q_expr *
q_parse(const char *text, struct q_error *err)
{
	return q_parse_n(text, strlen(text), err);
}

void
q_error_format(const struct q_error *err, const char *text, size_t len,
    struct buf *out)
{
	size_t	i, pos = err->pos < 0 ? 0 : (size_t)err->pos;
	size_t	line = 1, col;
	ssize_t	lastnl = -1;

	if (pos > len) {
		buf_printf(out, "invalid position: parse error: %s", err->msg);
		return;
	}
	for (i = 0; i < pos; i++) {
		if (text[i] == '\n') {
			line++;
			lastnl = (ssize_t)i;
		}
	}
	col = (size_t)((ssize_t)pos - lastnl);
	buf_printf(out, "%zu:%zu: parse error: %s", line, col, err->msg);
}
