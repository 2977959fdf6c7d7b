/*
 * functions: the PromQL function table (see functions.h).
 *
 * The rows were checked one by one against Prometheus 2.42: each name is
 * known to it, and a call with these argument types parses there.  Functions
 * added after 2.42 (sort_by_label, mad_over_time, histogram_stddev, ...) are
 * deliberately absent so that such a query fails here as it fails there.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "query/functions.h"

#define S	Q_TYPE_SCALAR
#define V	Q_TYPE_VECTOR
#define M	Q_TYPE_MATRIX
#define STR	Q_TYPE_STRING

/* Sorted by name: lookups use bsearch. */
static const struct q_function functions[] = {
	{ "abs", { V }, 1, 0, V },
	{ "absent", { V }, 1, 0, V },
	{ "absent_over_time", { M }, 1, 0, V },
	{ "acos", { V }, 1, 0, V },
	{ "acosh", { V }, 1, 0, V },
	{ "asin", { V }, 1, 0, V },
	{ "asinh", { V }, 1, 0, V },
	{ "atan", { V }, 1, 0, V },
	{ "atanh", { V }, 1, 0, V },
	{ "avg_over_time", { M }, 1, 0, V },
	{ "ceil", { V }, 1, 0, V },
	{ "changes", { M }, 1, 0, V },
	{ "clamp", { V, S, S }, 3, 0, V },
	{ "clamp_max", { V, S }, 2, 0, V },
	{ "clamp_min", { V, S }, 2, 0, V },
	{ "cos", { V }, 1, 0, V },
	{ "cosh", { V }, 1, 0, V },
	{ "count_over_time", { M }, 1, 0, V },
	{ "day_of_month", { V }, 1, 1, V },
	{ "day_of_week", { V }, 1, 1, V },
	{ "day_of_year", { V }, 1, 1, V },
	{ "days_in_month", { V }, 1, 1, V },
	{ "deg", { V }, 1, 0, V },
	{ "delta", { M }, 1, 0, V },
	{ "deriv", { M }, 1, 0, V },
	{ "exp", { V }, 1, 0, V },
	{ "floor", { V }, 1, 0, V },
	{ "histogram_count", { V }, 1, 0, V },
	{ "histogram_fraction", { S, S, V }, 3, 0, V },
	{ "histogram_quantile", { S, V }, 2, 0, V },
	{ "histogram_sum", { V }, 1, 0, V },
	{ "holt_winters", { M, S, S }, 3, 0, V },
	{ "hour", { V }, 1, 1, V },
	{ "idelta", { M }, 1, 0, V },
	{ "increase", { M }, 1, 0, V },
	{ "irate", { M }, 1, 0, V },
	{ "label_join", { V, STR, STR, STR }, 4, -1, V },
	{ "label_replace", { V, STR, STR, STR, STR }, 5, 0, V },
	{ "last_over_time", { M }, 1, 0, V },
	{ "ln", { V }, 1, 0, V },
	{ "log10", { V }, 1, 0, V },
	{ "log2", { V }, 1, 0, V },
	{ "max_over_time", { M }, 1, 0, V },
	{ "min_over_time", { M }, 1, 0, V },
	{ "minute", { V }, 1, 1, V },
	{ "month", { V }, 1, 1, V },
	{ "pi", { 0 }, 0, 0, S },
	{ "predict_linear", { M, S }, 2, 0, V },
	{ "present_over_time", { M }, 1, 0, V },
	{ "quantile_over_time", { S, M }, 2, 0, V },
	{ "rad", { V }, 1, 0, V },
	{ "rate", { M }, 1, 0, V },
	{ "resets", { M }, 1, 0, V },
	{ "round", { V, S }, 2, 1, V },
	{ "scalar", { V }, 1, 0, S },
	{ "sgn", { V }, 1, 0, V },
	{ "sin", { V }, 1, 0, V },
	{ "sinh", { V }, 1, 0, V },
	{ "sort", { V }, 1, 0, V },
	{ "sort_desc", { V }, 1, 0, V },
	{ "sqrt", { V }, 1, 0, V },
	{ "stddev_over_time", { M }, 1, 0, V },
	{ "stdvar_over_time", { M }, 1, 0, V },
	{ "sum_over_time", { M }, 1, 0, V },
	{ "tan", { V }, 1, 0, V },
	{ "tanh", { V }, 1, 0, V },
	{ "time", { 0 }, 0, 0, S },
	{ "timestamp", { V }, 1, 0, V },
	{ "vector", { S }, 1, 0, V },
	{ "year", { V }, 1, 1, V },
};

struct key {
	const char	*name;
	size_t		 len;
};

static int
cmp_key(const void *k, const void *row)
{
	const struct key	*key = k;
	const char		*name = ((const struct q_function *)row)->name;
	size_t			 n = strlen(name);
	int			 c;

	c = strncmp(key->name, name, key->len < n ? key->len : n);
	if (c != 0)
		return c;
	return key->len < n ? -1 : key->len > n;
}

const struct q_function *
q_function_lookup(const char *name, size_t len)
{
	struct key	key = { name, len };

	if (memchr(name, '\0', len) != NULL)
		return NULL;
	return bsearch(&key, functions, sizeof(functions) / sizeof(functions[0]),
	    sizeof(functions[0]), cmp_key);
}

const struct q_function *
q_function_table(size_t *n)
{
	*n = sizeof(functions) / sizeof(functions[0]);
	return functions;
}

const char *
q_type_documented(enum q_type t)
{
	switch (t) {
	case Q_TYPE_SCALAR:
		return "scalar";
	case Q_TYPE_VECTOR:
		return "instant vector";
	case Q_TYPE_MATRIX:
		return "range vector";
	case Q_TYPE_STRING:
		return "string";
	case Q_TYPE_NONE:
		break;
	}
	return "none";
}

const char *
q_type_name(enum q_type t)
{
	switch (t) {
	case Q_TYPE_SCALAR:
		return "scalar";
	case Q_TYPE_VECTOR:
		return "vector";
	case Q_TYPE_MATRIX:
		return "matrix";
	case Q_TYPE_STRING:
		return "string";
	case Q_TYPE_NONE:
		break;
	}
	return "none";
}
