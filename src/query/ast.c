/*
 * ast: freeing, typing and naming PromQL syntax trees (see ast.h).
 */
#include "config.h"

#include <stdlib.h>

#include "query/ast.h"

static void
labels_free(struct q_labels *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	l->names = NULL;
	l->n = 0;
}

void
q_expr_free(struct q_expr *e)
{
	size_t	i;

	if (e == NULL)
		return;
	switch (e->kind) {
	case Q_NUMBER:
		break;
	case Q_STRING:
		free(e->string.s);
		break;
	case Q_VECTOR_SELECTOR:
		free(e->vs.name);
		for (i = 0; i < e->vs.nmatchers; i++) {
			free(e->vs.matchers[i].name);
			free(e->vs.matchers[i].value);
		}
		free(e->vs.matchers);
		break;
	case Q_MATRIX_SELECTOR:
		q_expr_free(e->matrix.vs);
		break;
	case Q_SUBQUERY:
		q_expr_free(e->subquery.expr);
		break;
	case Q_UNARY:
		q_expr_free(e->unary.expr);
		break;
	case Q_BINARY:
		if (e->binary.matching != NULL) {
			labels_free(&e->binary.matching->labels);
			labels_free(&e->binary.matching->include);
			free(e->binary.matching);
		}
		q_expr_free(e->binary.lhs);
		q_expr_free(e->binary.rhs);
		break;
	case Q_AGGREGATE:
		q_expr_free(e->aggregate.expr);
		q_expr_free(e->aggregate.param);
		labels_free(&e->aggregate.grouping);
		break;
	case Q_CALL:
		for (i = 0; i < e->call.nargs; i++)
			q_expr_free(e->call.args[i]);
		free(e->call.args);
		break;
	case Q_PAREN:
		q_expr_free(e->paren);
		break;
	}
	free(e);
}

enum q_type
q_expr_type(const struct q_expr *e)
{
	switch (e->kind) {
	case Q_NUMBER:
		return Q_TYPE_SCALAR;
	case Q_STRING:
		return Q_TYPE_STRING;
	case Q_VECTOR_SELECTOR:
	case Q_AGGREGATE:
		return Q_TYPE_VECTOR;
	case Q_MATRIX_SELECTOR:
	case Q_SUBQUERY:
		return Q_TYPE_MATRIX;
	case Q_UNARY:
		return q_expr_type(e->unary.expr);
	case Q_PAREN:
		return q_expr_type(e->paren);
	case Q_BINARY:
		if (q_expr_type(e->binary.lhs) == Q_TYPE_SCALAR &&
		    q_expr_type(e->binary.rhs) == Q_TYPE_SCALAR)
			return Q_TYPE_SCALAR;
		return Q_TYPE_VECTOR;
	case Q_CALL:
		return e->call.func != NULL ? e->call.func->ret : Q_TYPE_NONE;
	}
	return Q_TYPE_NONE;
}

int
q_expr_has_selector(const struct q_expr *e)
{
	size_t i;

	if (e == NULL)
		return 0;
	switch (e->kind) {
	case Q_VECTOR_SELECTOR:
	case Q_MATRIX_SELECTOR:
		return 1;
	case Q_SUBQUERY:
		return q_expr_has_selector(e->subquery.expr);
	case Q_UNARY:
		return q_expr_has_selector(e->unary.expr);
	case Q_BINARY:
		return q_expr_has_selector(e->binary.lhs) ||
		    q_expr_has_selector(e->binary.rhs);
	case Q_AGGREGATE:
		return q_expr_has_selector(e->aggregate.expr) ||
		    q_expr_has_selector(e->aggregate.param);
	case Q_CALL:
		for (i = 0; i < e->call.nargs; i++)
			if (q_expr_has_selector(e->call.args[i]))
				return 1;
		return 0;
	case Q_PAREN:
		return q_expr_has_selector(e->paren);
	default:
		return 0;
	}
}

const char *
q_binop_name(enum q_binop op)
{
	static const char *const names[] = {
		[Q_OP_ADD] = "+", [Q_OP_SUB] = "-", [Q_OP_MUL] = "*",
		[Q_OP_DIV] = "/", [Q_OP_MOD] = "%", [Q_OP_POW] = "^",
		[Q_OP_ATAN2] = "atan2", [Q_OP_EQL] = "==", [Q_OP_NEQ] = "!=",
		[Q_OP_GTR] = ">", [Q_OP_LSS] = "<", [Q_OP_GTE] = ">=",
		[Q_OP_LTE] = "<=", [Q_OP_AND] = "and", [Q_OP_OR] = "or",
		[Q_OP_UNLESS] = "unless",
	};

	return names[op];
}

const char *
q_aggop_name(enum q_aggop op)
{
	static const char *const names[] = {
		[Q_AGG_SUM] = "sum", [Q_AGG_AVG] = "avg",
		[Q_AGG_COUNT] = "count", [Q_AGG_MIN] = "min",
		[Q_AGG_MAX] = "max", [Q_AGG_GROUP] = "group",
		[Q_AGG_STDDEV] = "stddev", [Q_AGG_STDVAR] = "stdvar",
		[Q_AGG_TOPK] = "topk", [Q_AGG_BOTTOMK] = "bottomk",
		[Q_AGG_COUNT_VALUES] = "count_values",
		[Q_AGG_QUANTILE] = "quantile",
	};

	return names[op];
}

const char *
q_match_name(enum q_match m)
{
	static const char *const names[] = {
		[Q_MATCH_EQUAL] = "=", [Q_MATCH_NOT_EQUAL] = "!=",
		[Q_MATCH_REGEX] = "=~", [Q_MATCH_NOT_REGEX] = "!~",
	};

	return names[m];
}

int
q_binop_is_comparison(enum q_binop op)
{
	return op >= Q_OP_EQL && op <= Q_OP_LTE;
}

int
q_binop_is_set(enum q_binop op)
{
	return op >= Q_OP_AND && op <= Q_OP_UNLESS;
}

int
q_aggop_has_param(enum q_aggop op)
{
	return op == Q_AGG_TOPK || op == Q_AGG_BOTTOMK ||
	    op == Q_AGG_COUNT_VALUES || op == Q_AGG_QUANTILE;
}
