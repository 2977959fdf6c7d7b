/*
 * printer: a syntax tree back to PromQL text, in Prometheus's canonical
 * form (see parser.h).
 *
 * The spelling follows Prometheus's String() methods: binary operators with
 * single spaces, "sum by (a, b) (x)" with the grouping before the
 * arguments, selector matchers sorted as strings, "@ 100.000" before
 * "offset 5m", durations as model.Duration prints them and numbers as Go's
 * %v does.  No parentheses are added: the tree keeps the ones written.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xmalloc.h"
#include "query/parser.h"
#include "query/quote.h"

static void	format(const struct q_expr *, struct buf *);

static void
format_labels(struct buf *b, const struct q_labels *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++) {
		if (i > 0)
			buf_adds(b, ", ");
		buf_adds(b, l->names[i]);
	}
}

static void
format_at_offset(struct buf *b, const struct q_at *at, int64_t offset)
{
	switch (at->kind) {
	case Q_AT_TIME:
		buf_adds(b, " @ ");
		q_format_fixed(b, (double)at->ms / 1000.0, 3);
		break;
	case Q_AT_START:
		buf_adds(b, " @ start()");
		break;
	case Q_AT_END:
		buf_adds(b, " @ end()");
		break;
	case Q_AT_NONE:
		break;
	}
	if (offset > 0) {
		buf_adds(b, " offset ");
		q_format_duration(b, offset);
	} else if (offset < 0) {
		buf_adds(b, " offset -");
		q_format_duration(b, -offset);
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The selector without its modifiers: name{sorted matchers}. */
static void
format_selector(struct buf *b, const struct q_vector_selector *vs)
{
	const struct q_matcher	*m;
	struct buf		 one = BUF_INIT;
	char			**strs;
	const char		*name = vs->name != NULL ? vs->name : "";
	size_t			 i, n = 0;

	strs = xreallocarray(NULL, vs->nmatchers + 1, sizeof(*strs));
	for (i = 0; i < vs->nmatchers; i++) {
		m = &vs->matchers[i];
		/*
		 * The metric name prints outside the braces; like Prometheus,
		 * this also drops __name__="" from a selector without a name.
		 */
		if (m->type == Q_MATCH_EQUAL &&
		    strcmp(m->name, "__name__") == 0 &&
		    m->value_len == strlen(name) &&
		    memcmp(m->value, name, m->value_len) == 0)
			continue;
		buf_adds(&one, m->name);
		buf_adds(&one, q_match_name(m->type));
		q_quote(&one, m->value, m->value_len);
		strs[n++] = buf_detach(&one);
	}
	if (vs->name != NULL)
		buf_adds(b, vs->name);
	if (n > 0) {
		qsort(strs, n, sizeof(*strs), cmp_str);
		buf_addc(b, '{');
		for (i = 0; i < n; i++) {
			if (i > 0)
				buf_addc(b, ',');
			buf_adds(b, strs[i]);
			free(strs[i]);
		}
		buf_addc(b, '}');
	}
	free(strs);
}

static void
format_binary(const struct q_binary *bin, struct buf *b)
{
	const struct q_matching	*m = bin->matching;

	format(bin->lhs, b);
	buf_addc(b, ' ');
	buf_adds(b, q_binop_name(bin->op));
	if (bin->return_bool)
		buf_adds(b, " bool");
	if (m != NULL && (m->labels.n > 0 || m->on)) {
		buf_adds(b, m->on ? " on (" : " ignoring (");
		format_labels(b, &m->labels);
		buf_addc(b, ')');
		if (m->card == Q_CARD_MANY_TO_ONE ||
		    m->card == Q_CARD_ONE_TO_MANY) {
			buf_adds(b, m->card == Q_CARD_MANY_TO_ONE ?
			    " group_left (" : " group_right (");
			format_labels(b, &m->include);
			buf_addc(b, ')');
		}
	}
	buf_addc(b, ' ');
	format(bin->rhs, b);
}

static void
format(const struct q_expr *e, struct buf *b)
{
	size_t	i;

	switch (e->kind) {
	case Q_NUMBER:
		q_format_float(b, e->number);
		break;
	case Q_STRING:
		q_quote(b, e->string.s, e->string.len);
		break;
	case Q_VECTOR_SELECTOR:
		format_selector(b, &e->vs);
		format_at_offset(b, &e->vs.at, e->vs.offset);
		break;
	case Q_MATRIX_SELECTOR:
		format_selector(b, &e->matrix.vs->vs);
		buf_addc(b, '[');
		q_format_duration(b, e->matrix.range);
		buf_addc(b, ']');
		format_at_offset(b, &e->matrix.vs->vs.at,
		    e->matrix.vs->vs.offset);
		break;
	case Q_SUBQUERY:
		format(e->subquery.expr, b);
		buf_addc(b, '[');
		q_format_duration(b, e->subquery.range);
		buf_addc(b, ':');
		if (e->subquery.step != 0)
			q_format_duration(b, e->subquery.step);
		buf_addc(b, ']');
		format_at_offset(b, &e->subquery.at, e->subquery.offset);
		break;
	case Q_UNARY:
		buf_addc(b, e->unary.negate ? '-' : '+');
		format(e->unary.expr, b);
		break;
	case Q_BINARY:
		format_binary(&e->binary, b);
		break;
	case Q_AGGREGATE:
		buf_adds(b, q_aggop_name(e->aggregate.op));
		if (e->aggregate.without) {
			buf_adds(b, " without (");
			format_labels(b, &e->aggregate.grouping);
			buf_adds(b, ") ");
		} else if (e->aggregate.grouping.n > 0) {
			buf_adds(b, " by (");
			format_labels(b, &e->aggregate.grouping);
			buf_adds(b, ") ");
		}
		buf_addc(b, '(');
		if (e->aggregate.param != NULL) {
			format(e->aggregate.param, b);
			buf_adds(b, ", ");
		}
		format(e->aggregate.expr, b);
		buf_addc(b, ')');
		break;
	case Q_CALL:
		buf_adds(b, e->call.func->name);
		buf_addc(b, '(');
		for (i = 0; i < e->call.nargs; i++) {
			if (i > 0)
				buf_adds(b, ", ");
			format(e->call.args[i], b);
		}
		buf_addc(b, ')');
		break;
	case Q_PAREN:
		buf_addc(b, '(');
		format(e->paren, b);
		buf_addc(b, ')');
		break;
	}
}

void
q_expr_format(const struct q_expr *e, struct buf *b)
{
	format(e, b);
}
