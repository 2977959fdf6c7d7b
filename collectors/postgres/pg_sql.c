/*
 * pg_sql: the metric catalogue of the PostgreSQL collector, the SQL that
 * produces it and the decoding of the results (see pg_sql.h).
 *
 * Names follow postgres_exporter so that its dashboards and alert rules work
 * unchanged, with two differences that are deliberate: per-database series
 * carry datname only (not datid, which changes when a database is restored),
 * and pg_stat_statements is summed per database (postgres_exporter keeps one
 * series per query, a cardinality a small store should not take).  Series
 * that no exporter has are ours: pg_connections_utilization_ratio and
 * pg_stat_activity_max_query_duration_seconds.
 *
 * Statements need PostgreSQL 10 or later (backend_type).  Run as a role
 * with pg_monitor to see every session; without it, other roles' sessions
 * count with state "unknown".
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pg.h"
#include "pg_sql.h"
#include "pq_dl.h"
#include "sample.h"
#include "xmalloc.h"

#define ACT_LABELS	"datname state usename application_name"

const struct metric_def pg_metrics[] = {
	{ "pg_up", METRIC_GAUGE, "",
	  "1 when the last query round trip to the server worked, 0 when it "
	  "did not; the libpq error is then the target's last error on "
	  "/api/targets." },
	{ "pg_stat_activity_count", METRIC_GAUGE, ACT_LABELS,
	  "Client connections by database, state, role and application: the "
	  "database's connection count. Many \"idle in transaction\" "
	  "sessions hold locks and stop vacuum; state \"unknown\" means the "
	  "monitoring role may not see the session (grant pg_monitor)." },
	{ "pg_stat_activity_max_tx_duration", METRIC_GAUGE, ACT_LABELS,
	  "Age in seconds of the oldest open transaction in each group (0 when "
	  "none is open): long transactions hold locks, bloat tables and "
	  "block vacuum." },
	{ "pg_stat_activity_max_query_duration_seconds", METRIC_GAUGE,
	  "datname",
	  "How long the longest running query of each database has been "
	  "running (0 when none runs): a stuck or runaway query shows here "
	  "before it exhausts connections or locks." },
	{ "pg_settings_max_connections", METRIC_GAUGE, "",
	  "The server's connection limit (max_connections), the ceiling of "
	  "pg_stat_activity_count." },
	{ "pg_settings_superuser_reserved_connections", METRIC_GAUGE, "",
	  "Connection slots kept for superusers "
	  "(superuser_reserved_connections); ordinary clients get "
	  "max_connections minus these." },
	{ "pg_connections_utilization_ratio", METRIC_GAUGE, "",
	  "Client connections divided by the slots ordinary clients may use "
	  "(max_connections minus the reserved ones): at 1 new connections are "
	  "refused, so warn well before (saturation)." },
	{ "pg_stat_database_numbackends", METRIC_GAUGE, "datname",
	  "Backends connected to each database, background ones included." },
	{ "pg_stat_database_xact_commit", METRIC_COUNTER, "datname",
	  "Transactions committed; its rate is the database's throughput "
	  "(RED rate)." },
	{ "pg_stat_database_xact_rollback", METRIC_COUNTER, "datname",
	  "Transactions rolled back; against commits, the share of work that "
	  "failed or was abandoned (RED errors)." },
	{ "pg_stat_database_blks_read", METRIC_COUNTER, "datname",
	  "Blocks read from disk or the OS cache because shared buffers did "
	  "not hold them; with blks_hit, the buffer cache hit ratio." },
	{ "pg_stat_database_blks_hit", METRIC_COUNTER, "datname",
	  "Blocks found in shared buffers; a falling share of hits means "
	  "the working set outgrew shared_buffers." },
	{ "pg_stat_database_tup_returned", METRIC_COUNTER, "datname",
	  "Rows scanned by queries; far above tup_fetched it points at "
	  "sequential scans (missing indexes)." },
	{ "pg_stat_database_tup_fetched", METRIC_COUNTER, "datname",
	  "Rows fetched by queries, the useful part of tup_returned." },
	{ "pg_stat_database_tup_inserted", METRIC_COUNTER, "datname",
	  "Rows inserted: the write load and growth of the database." },
	{ "pg_stat_database_tup_updated", METRIC_COUNTER, "datname",
	  "Rows updated: write load, and the source of dead rows vacuum must "
	  "clean." },
	{ "pg_stat_database_tup_deleted", METRIC_COUNTER, "datname",
	  "Rows deleted: write load and dead rows for vacuum." },
	{ "pg_stat_database_conflicts", METRIC_COUNTER, "datname",
	  "Queries cancelled by conflicts with recovery (on standbys): read "
	  "traffic a replica failed to serve." },
	{ "pg_stat_database_temp_files", METRIC_COUNTER, "datname",
	  "Temporary files written by sorts and hashes that did not fit "
	  "work_mem." },
	{ "pg_stat_database_temp_bytes", METRIC_COUNTER, "datname",
	  "Bytes of temporary files: disk I/O that more work_mem would save." },
	{ "pg_stat_database_deadlocks", METRIC_COUNTER, "datname",
	  "Deadlocks detected: each one aborted a transaction (an error the "
	  "application saw)." },
	{ "pg_stat_database_blk_read_time", METRIC_COUNTER, "datname",
	  "Milliseconds backends spent reading data blocks (only with "
	  "track_io_timing on): disk latency the queries waited for." },
	{ "pg_stat_database_blk_write_time", METRIC_COUNTER, "datname",
	  "Milliseconds backends spent writing data blocks (only with "
	  "track_io_timing on)." },
	{ "pg_database_size_bytes", METRIC_GAUGE, "datname",
	  "Disk space used by each database, to size disks and forecast "
	  "growth (predict_linear); measured at most once a minute, as it "
	  "walks every file of every database." },
	{ "pg_postmaster_start_time_seconds", METRIC_GAUGE, "",
	  "When the server started, in Unix time; a change means a restart "
	  "(counters start again from zero)." },
	{ "pg_stat_statements_calls_total", METRIC_COUNTER, "datname",
	  "Statements executed per database, from pg_stat_statements (RED "
	  "rate). The sum drops when pg_stat_statements.max evicts entries, "
	  "which rate() takes for a counter reset." },
	{ "pg_stat_statements_seconds_total", METRIC_COUNTER, "datname",
	  "Seconds spent executing statements per database; its rate over the "
	  "rate of pg_stat_statements_calls_total is the mean statement "
	  "duration (RED duration)." },
	{ "pg_stat_statements_rows_total", METRIC_COUNTER, "datname",
	  "Rows returned or affected by statements per database." },
	{ NULL, 0, NULL, NULL },
};

/* pg_stat_database columns, in the order the statement selects them. */
static const char *const pg_db_cols[] = {
	"numbackends", "xact_commit", "xact_rollback", "blks_read",
	"blks_hit", "tup_returned", "tup_fetched", "tup_inserted",
	"tup_updated", "tup_deleted", "conflicts", "temp_files", "temp_bytes",
	"deadlocks", "blk_read_time", "blk_write_time",
};
#define PG_NDB_COLS	(sizeof(pg_db_cols) / sizeof(pg_db_cols[0]))

/* Client backends only: background workers, walsenders and autovacuum do
 * not take max_connections slots the applications compete for. */
static const char pg_sql_activity[] =
    "SELECT datname, COALESCE(state, 'unknown'), usename, "
    "application_name, count(*), COALESCE(max(GREATEST(EXTRACT(EPOCH FROM "
    "now() - xact_start), 0)), 0) FROM pg_stat_activity "
    "WHERE backend_type = 'client backend' GROUP BY 1, 2, 3, 4";

/* reserved_connections is PostgreSQL 16's; missing_ok gives NULL before. */
static const char pg_sql_settings[] =
    "SELECT current_setting('max_connections'), "
    "current_setting('superuser_reserved_connections'), "
    "COALESCE(current_setting('reserved_connections', true), '0'), "
    "EXTRACT(EPOCH FROM pg_postmaster_start_time())";

static const char pg_sql_stmt_find[] =
    "SELECT n.nspname, EXISTS (SELECT 1 FROM pg_attribute a "
    "WHERE a.attrelid = c.oid AND a.attname = 'total_exec_time' "
    "AND NOT a.attisdropped) FROM pg_extension e "
    "JOIN pg_namespace n ON n.oid = e.extnamespace "
    "JOIN pg_class c ON c.relnamespace = n.oid "
    "AND c.relname = 'pg_stat_statements' "
    "WHERE e.extname = 'pg_stat_statements'";

void
pg_sql_literal(struct buf *b, const char *s)
{
	/* E'' reads backslashes the same whatever
	   standard_conforming_strings says. */
	buf_adds(b, "E'");
	for (; *s != '\0'; s++) {
		if (*s == '\'' || *s == '\\')
			buf_addc(b, *s);
		buf_addc(b, *s);
	}
	buf_addc(b, '\'');
}

void
pg_sql_ident(struct buf *b, const char *s)
{
	buf_addc(b, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"')
			buf_addc(b, '"');
		buf_addc(b, *s);
	}
	buf_addc(b, '"');
}

char *
pg_sql_db_filter(char *const *names, size_t n)
{
	struct buf	b = BUF_INIT;
	size_t		i;

	if (n == 0)
		return xstrdup("");
	buf_adds(&b, " AND d.datname IN (");
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_adds(&b, ", ");
		pg_sql_literal(&b, names[i]);
	}
	buf_addc(&b, ')');
	return buf_detach(&b);
}

static void
pg_plan_add(struct pg_plan *p, enum pg_part part)
{
	if (p->nparts > 0)
		buf_adds(&p->sql, "; ");
	p->parts[p->nparts++] = part;
}

void
pg_plan_build(struct pg_plan *p, const struct pg_sqlctx *ctx, int flags,
    const struct pg_stmt_loc *stmt)
{
	size_t i;

	p->nparts = 0;
	buf_reset(&p->sql);
	if (!(flags & PG_PLAN_STMT_ONLY)) {
		if ((flags & PG_PLAN_SETUP) && ctx->timeout_ms > 0) {
			pg_plan_add(p, PG_PART_SETUP);
			buf_printf(&p->sql, "SET statement_timeout = %lld",
			    (long long)ctx->timeout_ms);
		}
		pg_plan_add(p, PG_PART_ACTIVITY);
		buf_adds(&p->sql, pg_sql_activity);
		pg_plan_add(p, PG_PART_SETTINGS);
		buf_adds(&p->sql, pg_sql_settings);

		/* The query age leaves out this very session. */
		pg_plan_add(p, PG_PART_DATABASE);
		buf_adds(&p->sql, "SELECT d.datname");
		for (i = 0; i < PG_NDB_COLS; i++)
			buf_printf(&p->sql, ", s.%s", pg_db_cols[i]);
		buf_printf(&p->sql, ", COALESCE(q.age, 0) FROM pg_database d "
		    "JOIN pg_stat_database s ON s.datid = d.oid "
		    "LEFT JOIN (SELECT datid, max(GREATEST(EXTRACT(EPOCH FROM "
		    "now() - query_start), 0)) AS age FROM pg_stat_activity "
		    "WHERE backend_type = 'client backend' AND state = 'active' "
		    "AND pid <> pg_backend_pid() GROUP BY datid) q "
		    "ON q.datid = d.oid WHERE true%s ORDER BY 1", ctx->db_filter);

		/* pg_database_size() walks every file of a database, and
		   errors out without CONNECT on it. */
		if (flags & PG_PLAN_SIZES) {
			pg_plan_add(p, PG_PART_SIZES);
			buf_printf(&p->sql, "SELECT d.datname, "
			    "pg_database_size(d.oid) FROM pg_database d "
			    "WHERE has_database_privilege(d.oid, 'CONNECT')%s "
			    "ORDER BY 1", ctx->db_filter);
		}
		if (flags & PG_PLAN_FIND) {
			pg_plan_add(p, PG_PART_STMT_FIND);
			buf_adds(&p->sql, pg_sql_stmt_find);
		}
	}
	if (stmt != NULL) {
		pg_plan_add(p, PG_PART_STMT);
		buf_printf(&p->sql, "SELECT d.datname, sum(s.calls), "
		    "sum(s.%s) / 1000, sum(s.rows) FROM %s.pg_stat_statements s "
		    "JOIN pg_database d ON d.oid = s.dbid WHERE true%s "
		    "GROUP BY 1 ORDER BY 1",
		    stmt->exec_time ? "total_exec_time" : "total_time",
		    stmt->ident, ctx->db_filter);
	}
}

int
pg_plan_has(const struct pg_plan *p, enum pg_part part)
{
	size_t i;

	for (i = 0; i < p->nparts; i++)
		if (p->parts[i] == part)
			return 1;
	return 0;
}

/* The value at (ROW, COL) as a finite number; -1 when NULL or not one. */
static int
pg_num(const struct pq_dl *pq, const PGresult *res, int row, int col,
    double *out)
{
	const char	*s;
	char		*end;
	double		 v;

	if (pq->PQgetisnull(res, row, col))
		return -1;
	s = pq->PQgetvalue(res, row, col);
	if (*s == '\0')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (*end != '\0' || errno == ERANGE || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

static int
pg_shape(const struct pq_dl *pq, const PGresult *res, int cols, int maxrows,
    const char *what, char *err, size_t errlen)
{
	if (pq->PQresultStatus(res) != PGRES_TUPLES_OK ||
	    pq->PQnfields(res) != cols ||
	    (maxrows >= 0 && pq->PQntuples(res) > maxrows)) {
		snprintf(err, errlen, "unexpected result for %s: %s, %d columns, "
		    "%d rows", what, pq->PQresStatus(pq->PQresultStatus(res)),
		    pq->PQnfields(res), pq->PQntuples(res));
		return -1;
	}
	return 0;
}

static int
pg_take_activity(const struct pq_dl *pq, const PGresult *res, struct batch *b,
    struct pg_scan *scan, char *err, size_t errlen)
{
	int	row;
	double	count, age;

	if (pg_shape(pq, res, 6, -1, "pg_stat_activity", err, errlen) == -1)
		return -1;
	scan->clients = 0;
	scan->have_clients = 1;
	for (row = 0; row < pq->PQntuples(res); row++) {
		const char *datname = pq->PQgetvalue(res, row, 0);
		const char *state = pq->PQgetvalue(res, row, 1);
		const char *usename = pq->PQgetvalue(res, row, 2);
		const char *app = pq->PQgetvalue(res, row, 3);

		if (pg_num(pq, res, row, 4, &count) == 0) {
			scan->clients += count;
			batch_addl(b, "pg_stat_activity_count", 0, count,
			    "datname", datname, "state", state, "usename",
			    usename, "application_name", app, NULL);
		}
		if (pg_num(pq, res, row, 5, &age) == 0)
			batch_addl(b, "pg_stat_activity_max_tx_duration", 0, age,
			    "datname", datname, "state", state, "usename",
			    usename, "application_name", app, NULL);
	}
	return 0;
}

static int
pg_take_settings(const struct pq_dl *pq, const PGresult *res, struct batch *b,
    struct pg_scan *scan, char *err, size_t errlen)
{
	double	maxc, su, rsv, start, slots;
	int	have;

	if (pg_shape(pq, res, 4, 1, "settings", err, errlen) == -1)
		return -1;
	if (pq->PQntuples(res) == 0)
		return 0;
	have = pg_num(pq, res, 0, 0, &maxc) == 0;
	if (have)
		batch_addl(b, "pg_settings_max_connections", 0, maxc, NULL);
	if (pg_num(pq, res, 0, 1, &su) == 0)
		batch_addl(b, "pg_settings_superuser_reserved_connections", 0,
		    su, NULL);
	else
		have = 0;
	if (pg_num(pq, res, 0, 2, &rsv) != 0)
		have = 0;
	if (pg_num(pq, res, 0, 3, &start) == 0)
		batch_addl(b, "pg_postmaster_start_time_seconds", 0, start, NULL);
	/* Without a usable slot count the ratio would be a lie: leave it out. */
	if (have && scan->have_clients && (slots = maxc - su - rsv) > 0)
		batch_addl(b, "pg_connections_utilization_ratio", 0,
		    scan->clients / slots, NULL);
	return 0;
}

static int
pg_take_database(const struct pq_dl *pq, const PGresult *res, struct batch *b,
    char *err, size_t errlen)
{
	char	name[80];
	int	row;
	size_t	i;
	double	v;

	if (pg_shape(pq, res, (int)PG_NDB_COLS + 2, -1, "pg_stat_database", err,
	    errlen) == -1)
		return -1;
	for (row = 0; row < pq->PQntuples(res); row++) {
		const char *datname = pq->PQgetvalue(res, row, 0);

		if (pq->PQgetisnull(res, row, 0))
			continue;
		for (i = 0; i < PG_NDB_COLS; i++) {
			if (pg_num(pq, res, row, (int)i + 1, &v) != 0)
				continue;
			snprintf(name, sizeof(name), "pg_stat_database_%s",
			    pg_db_cols[i]);
			batch_addl(b, name, 0, v, "datname", datname, NULL);
		}
		if (pg_num(pq, res, row, (int)PG_NDB_COLS + 1, &v) == 0)
			batch_addl(b, "pg_stat_activity_max_query_duration_seconds",
			    0, v, "datname", datname, NULL);
	}
	return 0;
}

static int
pg_take_sizes(const struct pq_dl *pq, const PGresult *res, struct pg_scan *scan,
    char *err, size_t errlen)
{
	struct pg_sizes	*z = &scan->sizes;
	int		 row;
	double		 v;

	if (pg_shape(pq, res, 2, -1, "database sizes", err, errlen) == -1)
		return -1;
	pg_sizes_clear(z);
	for (row = 0; row < pq->PQntuples(res); row++) {
		if (pq->PQgetisnull(res, row, 0) ||
		    pg_num(pq, res, row, 1, &v) != 0)
			continue;
		z->names = xreallocarray(z->names, z->n + 1, sizeof(*z->names));
		z->bytes = xreallocarray(z->bytes, z->n + 1, sizeof(*z->bytes));
		z->names[z->n] = xstrdup(pq->PQgetvalue(res, row, 0));
		z->bytes[z->n] = v;
		z->n++;
	}
	return 0;
}

void
pg_sizes_add(const struct pg_sizes *z, struct batch *b)
{
	size_t i;

	for (i = 0; i < z->n; i++)
		batch_addl(b, "pg_database_size_bytes", 0, z->bytes[i],
		    "datname", z->names[i], NULL);
}

void
pg_sizes_clear(struct pg_sizes *z)
{
	size_t i;

	for (i = 0; i < z->n; i++)
		free(z->names[i]);
	free(z->names);
	free(z->bytes);
	memset(z, 0, sizeof(*z));
}

static int
pg_take_stmt_find(const struct pq_dl *pq, const PGresult *res,
    struct pg_scan *scan, char *err, size_t errlen)
{
	struct buf b = BUF_INIT;

	if (pg_shape(pq, res, 2, 1, "pg_extension", err, errlen) == -1)
		return -1;
	if (pq->PQntuples(res) == 0 || pq->PQgetisnull(res, 0, 0))
		return 0;
	/* Quoted here, not by the server: it goes into our next statement. */
	pg_sql_ident(&b, pq->PQgetvalue(res, 0, 0));
	if (b.len >= sizeof(scan->stmt.ident)) {
		buf_free(&b);
		snprintf(err, errlen, "pg_stat_statements schema name too long");
		return -1;
	}
	memcpy(scan->stmt.ident, b.data, b.len + 1);
	buf_free(&b);
	scan->stmt.exec_time = strcmp(pq->PQgetvalue(res, 0, 1), "t") == 0;
	scan->stmt_found = 1;
	return 0;
}

static int
pg_take_stmt(const struct pq_dl *pq, const PGresult *res, struct batch *b,
    char *err, size_t errlen)
{
	static const char *const names[] = {
		"pg_stat_statements_calls_total",
		"pg_stat_statements_seconds_total",
		"pg_stat_statements_rows_total",
	};
	int	row, i;
	double	v;

	if (pg_shape(pq, res, 4, -1, "pg_stat_statements", err, errlen) == -1)
		return -1;
	for (row = 0; row < pq->PQntuples(res); row++) {
		if (pq->PQgetisnull(res, row, 0))
			continue;
		for (i = 0; i < 3; i++)
			if (pg_num(pq, res, row, i + 1, &v) == 0)
				batch_addl(b, names[i], 0, v, "datname",
				    pq->PQgetvalue(res, row, 0), NULL);
	}
	return 0;
}

int
pg_result_take(const struct pq_dl *pq, enum pg_part part, const PGresult *res,
    struct batch *b, struct pg_scan *scan, char *err, size_t errlen)
{
	switch (part) {
	case PG_PART_SETUP:
		if (pq->PQresultStatus(res) != PGRES_COMMAND_OK) {
			snprintf(err, errlen, "unexpected result for SET: %s",
			    pq->PQresStatus(pq->PQresultStatus(res)));
			return -1;
		}
		return 0;
	case PG_PART_ACTIVITY:
		return pg_take_activity(pq, res, b, scan, err, errlen);
	case PG_PART_SETTINGS:
		return pg_take_settings(pq, res, b, scan, err, errlen);
	case PG_PART_DATABASE:
		return pg_take_database(pq, res, b, err, errlen);
	case PG_PART_SIZES:
		return pg_take_sizes(pq, res, scan, err, errlen);
	case PG_PART_STMT_FIND:
		return pg_take_stmt_find(pq, res, scan, err, errlen);
	case PG_PART_STMT:
		return pg_take_stmt(pq, res, b, err, errlen);
	}
	snprintf(err, errlen, "unknown statement");
	return -1;
}

int
pg_cells_take(const struct pq_dl *pq, enum pg_part part, int ncols, int nrows,
    const char *const *cells, struct batch *b, struct pg_scan *scan, char *err,
    size_t errlen)
{
	PGresAttDesc	*att;
	PGresult	*res;
	char		 name[16];
	int		 i, j, r = -1;

	if (ncols < 0 || nrows < 0 || (res = pq->PQmakeEmptyPGresult(NULL,
	    PGRES_TUPLES_OK)) == NULL) {
		snprintf(err, errlen, "cannot make a result");
		return -1;
	}
	att = xcalloc(ncols > 0 ? (size_t)ncols : 1, sizeof(*att));
	for (i = 0; i < ncols; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		att[i].name = xstrdup(name);
		att[i].typid = 25;		/* text */
		att[i].typlen = -1;
		att[i].atttypmod = -1;
	}
	if (ncols > 0 && !pq->PQsetResultAttrs(res, ncols, att)) {
		snprintf(err, errlen, "cannot make a result");
		goto out;
	}
	for (j = 0; j < nrows; j++)
		for (i = 0; i < ncols; i++) {
			const char *c = cells[j * ncols + i];

			if (!pq->PQsetvalue(res, j, i, (char *)c,
			    c == NULL ? -1 : (int)strlen(c))) {
				snprintf(err, errlen, "cannot make a result");
				goto out;
			}
		}
	r = pg_result_take(pq, part, res, b, scan, err, errlen);
out:
	for (i = 0; i < ncols; i++)
		free(att[i].name);
	free(att);
	pq->PQclear(res);
	return r;
}
