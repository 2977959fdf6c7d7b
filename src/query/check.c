/*
 * check: the PromQL type checker (see check.h).
 *
 * The order of the checks follows Prometheus's checkAST, because with
 * several faults in one query the first one found is the one reported: a
 * call's argument count before its arguments, an aggregation's operand
 * before its parameter, both sides of a binary operation before the
 * operation itself.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xmalloc.h"
#include "query/check.h"
#include "query/quote.h"
#include "query/regex.h"

struct checker {
	const char	*in;
	size_t		 len;
	struct q_error	*err;
	int		 failed;
};

static enum q_type	check(struct checker *, struct q_expr *);

static void
fail_buf(struct checker *c, int pos, const struct buf *msg)
{
	size_t	n;

	if (c->failed)
		return;
	c->failed = 1;
	n = msg->len;
	if (n >= sizeof(c->err->msg)) {
		n = sizeof(c->err->msg) - 1;
		while (n > 0 && ((unsigned char)msg->data[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(c->err->msg, msg->data, n);
	c->err->msg[n] = '\0';
	c->err->pos = pos;
}

static void __attribute__((format(printf, 3, 4)))
fail(struct checker *c, int pos, const char *fmt, ...)
{
	struct buf	b = BUF_INIT;
	va_list		ap;
	char		*s;

	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	buf_adds(&b, s);
	free(s);
	fail_buf(c, pos, &b);
	buf_free(&b);
}

static void
expect_type(struct checker *c, struct q_expr *e, enum q_type want,
    const char *context)
{
	enum q_type	t = check(c, e);

	if (!c->failed && t != want)
		fail(c, e->pos, "expected type %s in %s, got %s",
		    q_type_documented(want), context, q_type_documented(t));
}

/* Where the operator of a binary expression starts: past the LHS's blanks. */
static int
op_pos(struct checker *c, const struct q_expr *e)
{
	size_t	i = (size_t)e->binary.lhs->end;

	while (i < c->len && (c->in[i] == ' ' || c->in[i] == '\t' ||
	    c->in[i] == '\n' || c->in[i] == '\r'))
		i++;
	return (int)i;
}

static void
check_binary(struct checker *c, struct q_expr *e)
{
	struct q_binary		*b = &e->binary;
	struct q_matching	*m = b->matching;
	enum q_type		 lt, rt;
	const char		*opname = q_binop_name(b->op);
	struct buf		 msg = BUF_INIT;
	size_t			 i, j;

	lt = check(c, b->lhs);
	if (c->failed)
		return;
	rt = check(c, b->rhs);
	if (c->failed)
		return;
	if (b->return_bool && !q_binop_is_comparison(b->op)) {
		fail(c, op_pos(c, e),
		    "bool modifier can only be used on comparison operators");
		return;
	}
	if (q_binop_is_comparison(b->op) && !b->return_bool &&
	    q_expr_type(b->lhs) == Q_TYPE_SCALAR &&
	    q_expr_type(b->rhs) == Q_TYPE_SCALAR) {
		fail(c, op_pos(c, e),
		    "comparisons between scalars must use BOOL modifier");
		return;
	}
	if (m == NULL)
		return;		/* settled by an earlier check */
	if (q_binop_is_set(b->op) && m->card == Q_CARD_ONE_TO_ONE)
		m->card = Q_CARD_MANY_TO_MANY;
	for (i = 0; m->on && i < m->labels.n; i++) {
		for (j = 0; j < m->include.n; j++) {
			if (strcmp(m->labels.names[i], m->include.names[j]))
				continue;
			buf_adds(&msg, "label ");
			q_quote(&msg, m->labels.names[i],
			    strlen(m->labels.names[i]));
			buf_adds(&msg,
			    " must not occur in ON and GROUP clause at once");
			fail_buf(c, op_pos(c, e), &msg);
			buf_free(&msg);
			return;
		}
	}
	if (lt != Q_TYPE_SCALAR && lt != Q_TYPE_VECTOR) {
		fail(c, b->lhs->pos, "binary expression must contain only "
		    "scalar and instant vector types");
		return;
	}
	if (rt != Q_TYPE_SCALAR && rt != Q_TYPE_VECTOR) {
		fail(c, b->rhs->pos, "binary expression must contain only "
		    "scalar and instant vector types");
		return;
	}
	if (lt != Q_TYPE_VECTOR || rt != Q_TYPE_VECTOR) {
		if (m->labels.n > 0) {
			fail(c, e->pos, "vector matching only allowed between "
			    "instant vectors");
			return;
		}
		for (i = 0; i < m->labels.n; i++)
			free(m->labels.names[i]);
		for (i = 0; i < m->include.n; i++)
			free(m->include.names[i]);
		free(m->labels.names);
		free(m->include.names);
		free(m);
		b->matching = NULL;
	} else if (q_binop_is_set(b->op)) {
		if (m->card == Q_CARD_ONE_TO_MANY ||
		    m->card == Q_CARD_MANY_TO_ONE) {
			fail(c, e->pos, "no grouping allowed for \"%s\" "
			    "operation", opname);
			return;
		}
		if (m->card != Q_CARD_MANY_TO_MANY) {
			fail(c, e->pos,
			    "set operations must always be many-to-many");
			return;
		}
	}
	if ((lt == Q_TYPE_SCALAR || rt == Q_TYPE_SCALAR) &&
	    q_binop_is_set(b->op))
		fail(c, e->pos, "set operator \"%s\" not allowed in binary "
		    "scalar expression", opname);
}

static void
check_call(struct checker *c, struct q_expr *e)
{
	const struct q_function	*f = e->call.func;
	size_t			 i, n = e->call.nargs;
	int			 na, k;
	char			*context;

	if (f->variadic == 0) {
		if ((size_t)f->nargs != n) {
			fail(c, e->pos, "expected %d argument(s) in call to "
			    "\"%s\", got %zu", f->nargs, f->name, n);
			return;
		}
	} else {
		na = f->nargs - 1;
		if ((size_t)na > n) {
			fail(c, e->pos, "expected at least %d argument(s) in "
			    "call to \"%s\", got %zu", na, f->name, n);
			return;
		}
		if (f->variadic > 0 && (size_t)(na + f->variadic) < n) {
			fail(c, e->pos, "expected at most %d argument(s) in "
			    "call to \"%s\", got %zu", na + f->variadic,
			    f->name, n);
			return;
		}
	}
	xasprintf(&context, "call to function \"%s\"", f->name);
	for (i = 0; i < n && !c->failed; i++) {
		k = (int)i;
		if (k >= f->nargs) {
			if (f->variadic == 0)
				break;
			k = f->nargs - 1;
		}
		expect_type(c, e->call.args[i], f->args[k], context);
	}
	free(context);
}

/* Whether matcher M accepts a series that lacks the label. */
static int
matches_empty(const struct q_matcher *m)
{
	struct buf	err = BUF_INIT;
	int		empty = 0;

	switch (m->type) {
	case Q_MATCH_EQUAL:
		return m->value_len == 0;
	case Q_MATCH_NOT_EQUAL:
		return m->value_len != 0;
	case Q_MATCH_REGEX:
	case Q_MATCH_NOT_REGEX:
		/* The parser compiled it already; this cannot fail. */
		if (q_regex_check(m->value, m->value_len, &empty, &err) == -1)
			empty = 0;
		buf_free(&err);
		return m->type == Q_MATCH_REGEX ? empty : !empty;
	}
	return 0;
}

static void
check_selector(struct checker *c, struct q_expr *e)
{
	struct q_vector_selector	*vs = &e->vs;
	struct buf			 msg = BUF_INIT;
	size_t				 i;

	if (vs->name != NULL) {
		/* The last matcher is the name itself. */
		for (i = 0; i + 1 < vs->nmatchers; i++) {
			if (strcmp(vs->matchers[i].name, "__name__") != 0)
				continue;
			buf_adds(&msg, "metric name must not be set twice: ");
			q_quote(&msg, vs->name, strlen(vs->name));
			buf_adds(&msg, " or ");
			q_quote(&msg, vs->matchers[i].value,
			    vs->matchers[i].value_len);
			fail_buf(c, e->pos, &msg);
			buf_free(&msg);
			return;
		}
		return;
	}
	for (i = 0; i < vs->nmatchers; i++) {
		if (!matches_empty(&vs->matchers[i]))
			return;
	}
	fail(c, e->pos,
	    "vector selector must contain at least one non-empty matcher");
}

static enum q_type
check(struct checker *c, struct q_expr *e)
{
	enum q_type	t = q_expr_type(e), inner;

	switch (e->kind) {
	case Q_AGGREGATE:
		expect_type(c, e->aggregate.expr, Q_TYPE_VECTOR,
		    "aggregation expression");
		if (c->failed)
			break;
		if (e->aggregate.op == Q_AGG_TOPK ||
		    e->aggregate.op == Q_AGG_BOTTOMK ||
		    e->aggregate.op == Q_AGG_QUANTILE)
			expect_type(c, e->aggregate.param, Q_TYPE_SCALAR,
			    "aggregation parameter");
		else if (e->aggregate.op == Q_AGG_COUNT_VALUES)
			expect_type(c, e->aggregate.param, Q_TYPE_STRING,
			    "aggregation parameter");
		break;
	case Q_BINARY:
		check_binary(c, e);
		break;
	case Q_CALL:
		check_call(c, e);
		break;
	case Q_PAREN:
		check(c, e->paren);
		break;
	case Q_UNARY:
		inner = check(c, e->unary.expr);
		if (!c->failed && inner != Q_TYPE_SCALAR &&
		    inner != Q_TYPE_VECTOR)
			fail(c, e->pos, "unary expression only allowed on "
			    "expressions of type scalar or instant vector, "
			    "got \"%s\"", q_type_documented(inner));
		break;
	case Q_SUBQUERY:
		inner = check(c, e->subquery.expr);
		if (!c->failed && inner != Q_TYPE_VECTOR)
			fail(c, e->pos, "subquery is only allowed on instant "
			    "vector, got %s instead", q_type_name(inner));
		break;
	case Q_MATRIX_SELECTOR:
		check(c, e->matrix.vs);
		break;
	case Q_VECTOR_SELECTOR:
		check_selector(c, e);
		break;
	case Q_NUMBER:
	case Q_STRING:
		break;
	}
	return t;
}

int
q_check(struct q_expr *e, const char *text, size_t len, struct q_error *err)
{
	struct checker	c;

	memset(&c, 0, sizeof(c));
	c.in = text;
	c.len = len;
	c.err = err;
	check(&c, e);
	return c.failed ? -1 : 0;
}
