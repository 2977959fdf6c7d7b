/*
 * functions: the PromQL function table, as Prometheus 2.42 declares it.
 *
 * One row per function: its name, the value types of its arguments, how
 * many extra arguments it takes, and the type it returns.  The parser
 * resolves calls against this table and the type checker checks arguments
 * with it; the evaluator dispatches on the same rows.  The table is constant
 * and may be read from any thread.
 *
 * Argument count rule (Prometheus's): with variadic == 0 exactly nargs
 * arguments; with variadic > 0 at least nargs - 1 and at most
 * nargs - 1 + variadic; with variadic < 0 at least nargs - 1, no upper
 * bound.  An argument past the declared ones has the type of the last.
 */
#ifndef MONITORD_QUERY_FUNCTIONS_H
#define MONITORD_QUERY_FUNCTIONS_H

#include <stddef.h>

enum q_type {
	Q_TYPE_NONE,
	Q_TYPE_SCALAR,
	Q_TYPE_VECTOR,		/* instant vector */
	Q_TYPE_MATRIX,		/* range vector */
	Q_TYPE_STRING,
};

#define Q_FUNCTION_MAXARGS	5

struct q_function {
	const char	*name;
	enum q_type	 args[Q_FUNCTION_MAXARGS];
	int		 nargs;
	int		 variadic;
	enum q_type	 ret;
};

/* The row for NAME (LEN bytes), or NULL if there is no such function. */
const struct q_function	*q_function_lookup(const char *name, size_t len);
/* All rows, sorted by name, for listings and tests. */
const struct q_function	*q_function_table(size_t *n);

/* How Prometheus names a type in messages: "instant vector", ... */
const char	*q_type_documented(enum q_type);
/* The short name: "vector", "matrix", "scalar", "string", "none". */
const char	*q_type_name(enum q_type);

#endif
