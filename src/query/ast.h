/*
 * ast: the syntax tree of a PromQL expression.
 *
 * q_parse() (parser.h) builds a tree; q_expr_free() frees it.  Every node
 * owns its children and its strings; nothing points into the query text.
 * A tree is read-only once parsed and may then be shared between threads.
 *
 * The shape follows Prometheus's own tree so that the evaluator can follow
 * its semantics closely:
 *   - A vector selector's matchers include the metric name: "foo{a="b"}"
 *     has name "foo" and matchers a="b", __name__="foo" (name last).
 *     Regular expressions are kept as source text; the parser has checked
 *     that they compile (PCRE2), the engine compiles them for matching,
 *     anchored as ^(?:re)$.
 *   - A matrix selector wraps a vector selector; its offset and @ modifier
 *     live in that vector selector, as in Prometheus.
 *   - Durations, offsets and @ times are in milliseconds.  An offset is
 *     positive for "offset 5m" (look back) and negative for "offset -5m".
 *   - Binary operators keep their vector matching only when both sides are
 *     instant vectors (matching == NULL otherwise); set operators always
 *     have Q_CARD_MANY_TO_MANY.
 *   - Parentheses are nodes (Q_PAREN), so printing keeps them.
 *   - "-1" is the number -1, not a unary minus; "-(1)" and "-foo" are unary.
 *
 * Every tree q_parse() returns is at most Q_MAX_DEPTH nodes high, so
 * recursive walkers (printer, checker, evaluator) cannot exhaust the stack.
 */
#ifndef MONITORD_QUERY_AST_H
#define MONITORD_QUERY_AST_H

#include <stddef.h>
#include <stdint.h>

#include "query/functions.h"

#define Q_MAX_DEPTH	500
#define Q_MAX_QUERY_LEN	(64 * 1024)

enum q_kind {
	Q_NUMBER,
	Q_STRING,
	Q_VECTOR_SELECTOR,
	Q_MATRIX_SELECTOR,
	Q_SUBQUERY,
	Q_UNARY,
	Q_BINARY,
	Q_AGGREGATE,
	Q_CALL,
	Q_PAREN,
};

enum q_binop {
	/* Arithmetic. */
	Q_OP_ADD,
	Q_OP_SUB,
	Q_OP_MUL,
	Q_OP_DIV,
	Q_OP_MOD,
	Q_OP_POW,
	Q_OP_ATAN2,
	/* Comparison. */
	Q_OP_EQL,
	Q_OP_NEQ,
	Q_OP_GTR,
	Q_OP_LSS,
	Q_OP_GTE,
	Q_OP_LTE,
	/* Set. */
	Q_OP_AND,
	Q_OP_OR,
	Q_OP_UNLESS,
};

enum q_aggop {
	Q_AGG_SUM,
	Q_AGG_AVG,
	Q_AGG_COUNT,
	Q_AGG_MIN,
	Q_AGG_MAX,
	Q_AGG_GROUP,
	Q_AGG_STDDEV,
	Q_AGG_STDVAR,
	Q_AGG_TOPK,		/* param: scalar */
	Q_AGG_BOTTOMK,		/* param: scalar */
	Q_AGG_COUNT_VALUES,	/* param: string */
	Q_AGG_QUANTILE,		/* param: scalar */
};

enum q_match {
	Q_MATCH_EQUAL,		/* = */
	Q_MATCH_NOT_EQUAL,	/* != */
	Q_MATCH_REGEX,		/* =~ */
	Q_MATCH_NOT_REGEX,	/* !~ */
};

enum q_card {
	Q_CARD_ONE_TO_ONE,
	Q_CARD_MANY_TO_ONE,	/* group_left */
	Q_CARD_ONE_TO_MANY,	/* group_right */
	Q_CARD_MANY_TO_MANY,	/* set operators */
};

enum q_at_kind {
	Q_AT_NONE,
	Q_AT_TIME,		/* @ <seconds>, kept in ms */
	Q_AT_START,		/* @ start() */
	Q_AT_END,		/* @ end() */
};

struct q_at {
	enum q_at_kind	 kind;
	int64_t		 ms;	/* Q_AT_TIME only */
};

/* A list of label names (grouping, on/ignoring, group_left/right). */
struct q_labels {
	char		**names;
	size_t		  n;
};

struct q_matcher {
	enum q_match	 type;
	char		*name;
	char		*value;		/* may contain NUL; see value_len */
	size_t		 value_len;
};

struct q_vector_selector {
	char			*name;	/* metric name given outside braces, or NULL */
	struct q_matcher	*matchers;
	size_t			 nmatchers;
	int64_t			 offset;
	struct q_at		 at;
};

struct q_matrix_selector {
	struct q_expr	*vs;		/* a Q_VECTOR_SELECTOR */
	int64_t		 range;
};

struct q_subquery {
	struct q_expr	*expr;
	int64_t		 range;
	int64_t		 step;		/* 0: the evaluation's default */
	int64_t		 offset;
	struct q_at	 at;
};

struct q_unary {
	int		 negate;	/* 1 for -, 0 for + */
	struct q_expr	*expr;
};

struct q_matching {
	enum q_card	 card;
	int		 on;		/* on (...) rather than ignoring (...) */
	struct q_labels	 labels;	/* the on/ignoring list */
	struct q_labels	 include;	/* the group_left/right list */
};

struct q_binary {
	enum q_binop		 op;
	int			 return_bool;
	struct q_matching	*matching;	/* NULL unless vector op vector */
	struct q_expr		*lhs;
	struct q_expr		*rhs;
};

struct q_aggregate {
	enum q_aggop	 op;
	struct q_expr	*expr;
	struct q_expr	*param;		/* topk, bottomk, quantile, count_values */
	struct q_labels	 grouping;
	int		 without;
};

struct q_call {
	const struct q_function	 *func;
	struct q_expr		**args;
	size_t			  nargs;
};

struct q_string {
	char	*s;			/* NUL-terminated, may contain NUL */
	size_t	 len;
};

struct q_expr {
	enum q_kind	 kind;
	int		 pos;		/* byte range in the query text */
	int		 end;
	int		 height;	/* 1 for a leaf */
	union {
		double				 number;
		struct q_string			 string;
		struct q_vector_selector	 vs;
		struct q_matrix_selector	 matrix;
		struct q_subquery		 subquery;
		struct q_unary			 unary;
		struct q_binary			 binary;
		struct q_aggregate		 aggregate;
		struct q_call			 call;
		struct q_expr			*paren;
	};
};

void		 q_expr_free(struct q_expr *);
/* The value type of an expression, as Prometheus types it. */
enum q_type	 q_expr_type(const struct q_expr *);
/* Whether the tree reads any series: a vector or matrix selector anywhere
   in it (Prometheus's ExtractSelectors finds one). */
int		 q_expr_has_selector(const struct q_expr *);

/* Spellings used by the printer and in messages: "+", "and", "sum", "=~". */
const char	*q_binop_name(enum q_binop);
const char	*q_aggop_name(enum q_aggop);
const char	*q_match_name(enum q_match);
int		 q_binop_is_comparison(enum q_binop);
int		 q_binop_is_set(enum q_binop);
int		 q_aggop_has_param(enum q_aggop);

#endif
