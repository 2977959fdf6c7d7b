/*
 * cli_query: "monitord query", a terminal client of the query API.
 *
 *	monitord query [--server URL] [--time T] EXPR
 *	monitord query [--server URL] --start T --end T [--step D] EXPR
 *
 * Asks /api/query of a running monitord (default http://127.0.0.1:9330)
 * and prints the answer as a table: one row per series (labels, value),
 * or for a range one row per point (labels, time in UTC, value).  Times
 * are Unix seconds, RFC 3339, "now" or "now-DURATION"; steps durations
 * ("1m") or seconds.  --json prints the API's answer as it came.
 * Exit status: 0 answered, 1 the server refused the query (its message on
 * stderr), 2 bad usage or no answer.
 */
#ifndef MONITORD_CLI_QUERY_H
#define MONITORD_CLI_QUERY_H

/* ARGV[0] is "query". */
int	cli_query_main(int argc, char *argv[]);

#endif
