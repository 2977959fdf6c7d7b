/*
 * pg_sql: the statements one collection sends and how each result becomes
 * samples.  Private to collectors/postgres, its tests and fuzz target.
 *
 * A plan is one query string of ';'-separated statements, sent with one
 * PQsendQuery, and the list of what each statement's PGresult is, in order.
 * The server runs such a string as one implicit transaction: every
 * statement sees the same now() and the same statistics snapshot, and an
 * error stops the statements after it.  That is why the optional
 * pg_stat_statements statement goes last.
 *
 * Decoding treats results as untrusted input: a wrong number of columns is
 * an error; a NULL or non-numeric value skips that one sample.
 */
#ifndef MONITORD_PG_SQL_H
#define MONITORD_PG_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct batch;
struct pq_dl;
/* libpq's PGresult: <libpq-fe.h> typedefs it to this struct, which lets
 * this header (and so the fuzz target) do without libpq's headers. */
struct pg_result;

enum pg_part {
	PG_PART_SETUP,		/* SET statement_timeout; no rows */
	PG_PART_ACTIVITY,	/* pg_stat_activity grouped */
	PG_PART_SETTINGS,	/* connection limits, start time */
	PG_PART_DATABASE,	/* pg_stat_database, query ages */
	PG_PART_SIZES,		/* pg_database_size() of every database */
	PG_PART_STMT_FIND,	/* where pg_stat_statements lives, if anywhere */
	PG_PART_STMT,		/* pg_stat_statements totals per database */
};

#define PG_PLAN_MAX	8

struct pg_plan {
	enum pg_part	 parts[PG_PLAN_MAX];
	size_t		 nparts;
	struct buf	 sql;
};

/* What the plans of one engine have in common (built once by pg_new). */
struct pg_sqlctx {
	char		*db_filter;	/* " AND d.datname IN (...)" or "" */
	int64_t		 timeout_ms;	/* 0: leave statement_timeout alone */
};

/* Where pg_stat_statements was found. */
struct pg_stmt_loc {
	char		 ident[2 * 63 + 3];	/* quoted schema name */
	int		 exec_time;	/* total_exec_time (1.8+) vs total_time */
};

/* Database sizes: measured now and then, repeated from here in between. */
struct pg_sizes {
	char		**names;
	double		 *bytes;
	size_t		  n;
};

/* What the results of one collection have told so far. */
struct pg_scan {
	double		 clients;	/* client backends, from ACTIVITY */
	int		 have_clients;
	int		 stmt_found;	/* STMT_FIND returned a row */
	struct pg_stmt_loc stmt;
	struct pg_sizes	 sizes;		/* from SIZES, owned until moved */
};

#define PG_PLAN_SETUP		0x01	/* session settings first */
#define PG_PLAN_SIZES		0x02	/* measure database sizes */
#define PG_PLAN_FIND		0x04	/* look for pg_stat_statements */
#define PG_PLAN_STMT_ONLY	0x08	/* only the pg_stat_statements totals */

/*
 * Build the plan of one round trip into PLAN (whose sql buffer is reset,
 * not freed) from PG_PLAN_* FLAGS.  STMT, when not NULL, adds the
 * pg_stat_statements totals from where it was found (required with
 * PG_PLAN_STMT_ONLY).
 */
void	 pg_plan_build(struct pg_plan *, const struct pg_sqlctx *, int flags,
	    const struct pg_stmt_loc *stmt);
int	 pg_plan_has(const struct pg_plan *, enum pg_part);

/*
 * Turn the PGRES_TUPLES_OK/COMMAND_OK result of statement PART into samples
 * in B (t = 0) and facts in SCAN, reading it through PQ (a loaded libpq,
 * see pq_dl.h).  -1 with a message in ERR when the result is not what the
 * statement returns.
 */
int	 pg_result_take(const struct pq_dl *, enum pg_part,
	    const struct pg_result *, struct batch *, struct pg_scan *,
	    char *err, size_t errlen);
/*
 * The same for a result given as NCOLS x NROWS text cells, row by row, a
 * NULL cell being SQL NULL: for tests and fuzzing without a server (libpq
 * builds the result).
 */
int	 pg_cells_take(const struct pq_dl *, enum pg_part, int ncols,
	    int nrows, const char *const *cells, struct batch *,
	    struct pg_scan *, char *err, size_t errlen);

/* Add pg_database_size_bytes for each of SIZES to B (t = 0). */
void	 pg_sizes_add(const struct pg_sizes *, struct batch *);
/* Free what SIZES holds and empty it. */
void	 pg_sizes_clear(struct pg_sizes *);

/* SQL quoting that holds whatever standard_conforming_strings is. */
void	 pg_sql_literal(struct buf *, const char *);
void	 pg_sql_ident(struct buf *, const char *);
/* The db_filter clause for NAMES (N of them); "" when N is 0.  Free it. */
char	*pg_sql_db_filter(char *const *names, size_t n);

#endif
