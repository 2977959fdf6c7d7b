/*
 * parser: PromQL text to syntax tree, and back.
 *
 * q_parse() accepts exactly the expressions Prometheus 2.42 accepts and
 * refuses the others with the message Prometheus gives (the first error it
 * finds, at the same byte offset).  It parses, then type-checks the tree as
 * Prometheus does (argument types, scalar/vector rules of operators, "bool"
 * only on comparisons, a selector needs a non-empty matcher, ...).
 *
 * q_expr_format() prints a tree in Prometheus's canonical form (its
 * String()): "sum by (job) (rate(x[5m]))", matchers sorted, durations
 * normalised, numbers in Go's spelling.  Printing a parsed tree and parsing
 * the text again gives a tree that prints the same.
 *
 * Limits that Prometheus does not have, so that no query can exhaust the
 * stack or memory: a query longer than Q_MAX_QUERY_LEN bytes is refused
 * ("query too long"), as is one nested deeper than Q_MAX_DEPTH
 * ("query too deeply nested").  Memory use is linear in the query length.
 *
 * All functions are reentrant; nothing is global.
 */
#ifndef MONITORD_QUERY_PARSER_H
#define MONITORD_QUERY_PARSER_H

#include <stddef.h>

#include "buf.h"
#include "query/ast.h"

struct q_error {
	int	pos;		/* byte offset in the query, 0-based */
	char	msg[256];	/* Prometheus's text, without position */
};

/*
 * Parse TEXT (NUL-terminated) or LEN bytes of TEXT (which may then contain
 * NUL bytes, refused as characters).  Returns a tree the caller frees with
 * q_expr_free(), or NULL with *err filled in.
 */
struct q_expr	*q_parse(const char *text, struct q_error *err);
struct q_expr	*q_parse_n(const char *text, size_t len, struct q_error *err);

/*
 * Append the error as Prometheus's API reports it:
 *	LINE:COLUMN: parse error: MSG
 * with LINE and COLUMN 1-based and COLUMN counted in bytes from the last
 * newline before the offset (so "1 +" gives "1:4: parse error: unexpected
 * end of input").  TEXT/LEN must be the query that was parsed.  The HTTP API
 * puts "invalid parameter \"query\": " in front, as Prometheus does.
 */
void		 q_error_format(const struct q_error *, const char *text,
		    size_t len, struct buf *out);

/* Append the canonical text of E to OUT. */
void		 q_expr_format(const struct q_expr *e, struct buf *out);

#endif
