/*
 * check: PromQL type checking, as Prometheus's checkAST does it.
 *
 * Run by q_parse() on every tree that parsed.  It checks the value types of
 * function arguments, aggregation operands and parameters, binary and unary
 * operands, subqueries, "bool" only on comparisons, set operators only
 * between vectors, no grouping on set operators, a metric name given once
 * and at least one matcher that does not match the empty string.  The first
 * error found, in Prometheus's order, is reported with Prometheus's text and
 * position.
 *
 * It also settles vector matching the way Prometheus does: a binary
 * operation with a scalar side loses its matching (NULL), and set operators
 * become many-to-many.
 */
#ifndef MONITORD_QUERY_CHECK_H
#define MONITORD_QUERY_CHECK_H

#include <stddef.h>

#include "query/parser.h"

/* 0, or -1 with *err set.  TEXT/LEN is the query E was parsed from. */
int	q_check(struct q_expr *e, const char *text, size_t len,
	    struct q_error *err);

#endif
