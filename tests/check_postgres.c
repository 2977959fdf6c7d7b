/*
 * Unit tests of the PostgreSQL collector's parts that need no server:
 * conninfo handling (validity, redaction, instance, secrets), the databases
 * list, SQL quoting, the statement plans, and the decoding of results built
 * with libpq's PGresult constructors.  The engine against real servers is
 * tests/integration/test_postgres.py.
 *
 * The collector reaches libpq through the table pq_dl_new() loads; this
 * program also links libpq, for the constructors it calls itself.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "tcheck.h"
#include "buf.h"
#include "collectors/postgres/pg.h"
#include "collectors/postgres/pg_sql.h"
#include "collectors/postgres/pq_dl.h"
#include "sample.h"

/* libpq as the collector loads it, for each test (made in its process). */
static struct pq_dl *pq;

static void
pq_setup(void)
{
	char err[256];

	pq = pq_dl_new(err, sizeof(err));
	ck_assert_msg(pq != NULL, "%s", err);
}

static void
pq_teardown(void)
{
	pq_dl_free(pq);
	pq = NULL;
}

/* Every function of the table is there, and is the one linked here. */
START_TEST(test_loaded)
{
	ck_assert_ptr_nonnull(pq->handle);
	ck_assert(pq->PQmakeEmptyPGresult == PQmakeEmptyPGresult);
	ck_assert(pq->PQconninfoParse == PQconninfoParse);
	ck_assert(pq->PQstatus == PQstatus);
	pq_dl_free(NULL);
}
END_TEST

START_TEST(test_conninfo_check)
{
	static const struct { const char *in, *err; } cases[] = {
		{ "host=127.0.0.1 port=5432 dbname=shop user=monitor", NULL },
		{ "postgresql://monitor@db.example:6000/shop?sslmode=require", NULL },
		{ "", NULL },
		{ "host=h nosuchkey=1",
		  "invalid conninfo: invalid connection option \"nosuchkey\"" },
		{ "host=h abc",
		  "invalid conninfo: missing \"=\" after \"abc\" in connection "
		  "info string" },
		{ "host=h password=my secret",
		  "invalid conninfo (libpq's message is withheld because the "
		  "string holds a password; use password_file)" },
		{ "postgresql://u:hunter2@[::1/x",
		  "invalid conninfo (libpq's message is withheld because the "
		  "string holds a password; use password_file)" },
		{ "postgresql://h/db?%70assword=hunter2&x",
		  "invalid conninfo (libpq's message is withheld because the "
		  "string holds a password; use password_file)" },
	};
	char	err[256];
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].err == NULL)
			ck_assert_int_eq(pg_conninfo_check(pq, cases[i].in, err,
			    sizeof(err)), 0);
		else {
			ck_assert_int_eq(pg_conninfo_check(pq, cases[i].in, err,
			    sizeof(err)), -1);
			ck_assert_str_eq(err, cases[i].err);
		}
	}
}
END_TEST

START_TEST(test_has_password)
{
	static const struct { const char *in; int want; } cases[] = {
		{ "host=h user=u", 0 },
		{ "host=h PassWord=x", 1 },
		{ "postgresql://u@h/db", 0 },
		{ "postgresql://u:pw@h/db", 1 },
		{ "postgres://u:pw@h", 1 },
		{ "postgresql://h:5432/db", 0 },
		{ "postgresql://h/db?user=a:b@c", 0 },
		{ "postgresql://h/db?%70%61ssword=x", 1 },
		{ "postgresql://", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(pg_conninfo_has_password(cases[i].in) ==
		    cases[i].want, "%s", cases[i].in);
}
END_TEST

START_TEST(test_redact)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "host=db port=5433 user=u password=hunter2 dbname=shop",
		  "user=u dbname=shop host=db port=5433" },
		{ "postgresql://u:hunter2@db:6000/shop?sslmode=require",
		  "user=u dbname=shop host=db port=6000 sslmode=require" },
		{ "host=db application_name='a b' sslpassword=k",
		  "host=db application_name='a b'" },
		{ "dbname='it\\'s' host=h", "dbname='it\\'s' host=h" },
		{ "", "" },
		{ "nonsense", "(invalid conninfo)" },
	};
	size_t	i;
	char	*s;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = pg_conninfo_redact(pq, cases[i].in);
		ck_assert_str_eq(s, cases[i].out);
		free(s);
	}
}
END_TEST

START_TEST(test_instance)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "", "localhost:5432" },
		{ "dbname=shop", "localhost:5432" },
		{ "host=db1 port=5433", "db1:5433" },
		{ "hostaddr=10.0.0.1", "10.0.0.1:5432" },
		{ "host=db hostaddr=10.0.0.1", "db:5432" },
		{ "host=a,b port=1,2", "a:1,b:2" },
		{ "host=a,b port=7", "a:7,b:7" },
		{ "host=a,,c", "a:5432,localhost:5432,c:5432" },
		{ "host=::1", "[::1]:5432" },
		{ "postgresql://u:pw@[::1]:6000/x", "[::1]:6000" },
		{ "postgresql://db.example/x", "db.example:5432" },
		{ "host=/run/postgresql", "/run/postgresql:5432" },
	};
	size_t	i;
	char	*s;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = pg_conninfo_instance(pq, cases[i].in);
		ck_assert_str_eq(s, cases[i].out);
		free(s);
	}
}
END_TEST

START_TEST(test_oneline)
{
	char out[64];

	pg_oneline(out, sizeof(out), "  a\n\tb   c\n", NULL);
	ck_assert_str_eq(out, "a b c");
	pg_oneline(out, sizeof(out),
	    "FATAL:  no hunter2 for u\nDETAIL: hunter2", "hunter2");
	ck_assert_str_eq(out, "FATAL: no *** for u DETAIL: ***");
	pg_oneline(out, sizeof(out), "x", "");
	ck_assert_str_eq(out, "x");
	pg_oneline(out, 5, "abcdefgh", NULL);
	ck_assert_str_eq(out, "abcd");
	/* A secret cut by the end of the buffer must not show in part. */
	pg_oneline(out, 6, "ab hunter2", "hunter2");
	ck_assert_str_eq(out, "ab **");
	pg_oneline(out, sizeof(out), "", NULL);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_databases_parse)
{
	static const struct { const char *in, *err; } bad[] = {
		{ "", "databases: empty list" },
		{ "  ", "databases: empty list" },
		{ "shop,", "databases: empty name in the list" },
		{ "shop, ,mes", "databases: empty name in the list" },
		{ ",", "databases: empty name in the list" },
		{ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		  "databases: \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\" is longer "
		  "than 63 bytes" },
	};
	char	**v, err[128];
	size_t	  n, i;

	ck_assert_int_eq(pg_databases_parse("shop, mes", &v, &n, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(v[0], "shop");
	ck_assert_str_eq(v[1], "mes");
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);

	ck_assert_int_eq(pg_databases_parse(" my db ,x,\to'b\"\t", &v, &n,
	    err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(v[0], "my db");
	ck_assert_str_eq(v[1], "x");
	ck_assert_str_eq(v[2], "o'b\"");
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(pg_databases_parse(bad[i].in, &v, &n, err,
		    sizeof(err)), -1);
		ck_assert_str_eq(err, bad[i].err);
	}
}
END_TEST

START_TEST(test_sql_quoting)
{
	struct buf	 b = BUF_INIT;
	char		*names[] = { "shop", "o'b\\x" };
	char		*f;

	pg_sql_literal(&b, "o'b\\x");
	ck_assert_str_eq(b.data, "E'o''b\\\\x'");
	buf_reset(&b);
	pg_sql_ident(&b, "we\"ird");
	ck_assert_str_eq(b.data, "\"we\"\"ird\"");
	buf_free(&b);
	f = pg_sql_db_filter(names, 2);
	ck_assert_str_eq(f, " AND d.datname IN (E'shop', E'o''b\\\\x')");
	free(f);
	f = pg_sql_db_filter(NULL, 0);
	ck_assert_str_eq(f, "");
	free(f);
}
END_TEST

START_TEST(test_plan)
{
	struct pg_plan		p;
	struct pg_sqlctx	ctx = { "", 5000 };
	struct pg_stmt_loc	loc = { "\"public\"", 1 };
	static const enum pg_part all[] = { PG_PART_SETUP, PG_PART_ACTIVITY,
	    PG_PART_SETTINGS, PG_PART_DATABASE, PG_PART_SIZES,
	    PG_PART_STMT_FIND, PG_PART_STMT };
	size_t			i;

	memset(&p, 0, sizeof(p));
	pg_plan_build(&p, &ctx, PG_PLAN_SETUP | PG_PLAN_SIZES | PG_PLAN_FIND,
	    &loc);
	ck_assert_uint_eq(p.nparts, 7);
	for (i = 0; i < 7; i++)
		ck_assert_int_eq(p.parts[i], all[i]);
	ck_assert_msg(strncmp(p.sql.data, "SET statement_timeout = 5000; "
	    "SELECT datname, COALESCE(state, 'unknown')", 72) == 0, "%s",
	    p.sql.data);
	ck_assert_ptr_nonnull(strstr(p.sql.data, "sum(s.total_exec_time) / 1000, "
	    "sum(s.rows) FROM \"public\".pg_stat_statements s"));

	/* Without a timeout there is nothing to set up; between size
	   measurements, without pg_stat_statements: three statements. */
	ctx.timeout_ms = 0;
	pg_plan_build(&p, &ctx, PG_PLAN_SETUP, NULL);
	ck_assert_uint_eq(p.nparts, 3);
	ck_assert_int_eq(p.parts[0], PG_PART_ACTIVITY);
	ck_assert_int_eq(pg_plan_has(&p, PG_PART_SETUP), 0);
	ck_assert_int_eq(pg_plan_has(&p, PG_PART_DATABASE), 1);

	ck_assert_int_eq(pg_plan_has(&p, PG_PART_SIZES), 0);

	loc.exec_time = 0;
	pg_plan_build(&p, &ctx, PG_PLAN_STMT_ONLY | PG_PLAN_SETUP |
	    PG_PLAN_SIZES | PG_PLAN_FIND, &loc);
	ck_assert_uint_eq(p.nparts, 1);
	ck_assert_int_eq(p.parts[0], PG_PART_STMT);
	ck_assert_msg(strncmp(p.sql.data, "SELECT d.datname, sum(s.calls), "
	    "sum(s.total_time) / 1000", 56) == 0, "%s", p.sql.data);
	buf_free(&p.sql);
}
END_TEST

/* A result of N text columns and the given rows (NULL cells are NULL). */
static PGresult *
mkres(int ncols, int nrows, const char *const *cells)
{
	PGresult	*r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	PGresAttDesc	*att = calloc((size_t)ncols, sizeof(*att));
	char		 name[16];
	int		 i, j;

	for (i = 0; i < ncols; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		att[i].name = strdup(name);
		att[i].typid = 25;
		att[i].typlen = -1;
		att[i].atttypmod = -1;
	}
	ck_assert_int_eq(PQsetResultAttrs(r, ncols, att), 1);
	for (i = 0; i < ncols; i++)
		free(att[i].name);
	free(att);
	for (j = 0; j < nrows; j++)
		for (i = 0; i < ncols; i++) {
			const char *c = cells[j * ncols + i];

			ck_assert_int_eq(PQsetvalue(r, j, i, (char *)c,
			    c == NULL ? -1 : (int)strlen(c)), 1);
		}
	return r;
}

/* The value of the sample NAME with exactly the labels given, or -1. */
static double
find(const struct batch *b, const char *name, const char *l1, const char *v1)
{
	size_t i;

	for (i = 0; i < batch_len(b); i++) {
		const struct sample *s = batch_at(b, i);

		if (strcmp(s->labels[0].value, name) != 0)
			continue;
		if (l1 == NULL && s->nlabels == 1)
			return s->v;
		if (l1 != NULL && s->nlabels == 2 &&
		    strcmp(s->labels[1].name, l1) == 0 &&
		    strcmp(s->labels[1].value, v1) == 0)
			return s->v;
	}
	return -1;
}

START_TEST(test_take_activity)
{
	static const char *const rows[] = {
		"shop", "idle", "app", "web", "3", "0",
		"shop", "idle in transaction", "app", "", "1", "12.5",
		"mes", "unknown", "other", NULL, "2", "0",
		"mes", "active", "app", "x", NULL, "abc",
	};
	struct batch	*b = batch_new();
	struct pg_scan	 scan;
	PGresult	*r = mkres(6, 4, rows);
	char		 err[128];
	const struct sample *s;

	memset(&scan, 0, sizeof(scan));
	ck_assert_int_eq(pg_result_take(pq, PG_PART_ACTIVITY, r, b, &scan, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(scan.have_clients, 1);
	ck_assert(scan.clients == 6.0);
	/* 3 counts + 3 ages; the last row has neither a count nor an age */
	ck_assert_uint_eq(batch_len(b), 6);
	s = batch_at(b, 0);
	ck_assert_str_eq(s->labels[0].value, "pg_stat_activity_count");
	ck_assert_uint_eq(s->nlabels, 5);
	ck_assert_str_eq(s->labels[1].name, "application_name");
	ck_assert_str_eq(s->labels[1].value, "web");
	ck_assert_str_eq(s->labels[4].name, "usename");
	ck_assert(s->v == 3.0);
	/* the empty application_name is no label at all */
	s = batch_at(b, 3);
	ck_assert_str_eq(s->labels[0].value, "pg_stat_activity_max_tx_duration");
	ck_assert_uint_eq(s->nlabels, 4);
	ck_assert(s->v == 12.5);
	PQclear(r);

	r = mkres(5, 0, NULL);
	ck_assert_int_eq(pg_result_take(pq, PG_PART_ACTIVITY, r, b, &scan, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "unexpected result for pg_stat_activity: "
	    "PGRES_TUPLES_OK, 5 columns, 0 rows");
	PQclear(r);
	batch_free(b);
}
END_TEST

START_TEST(test_take_settings)
{
	static const char *const ok[] = { "20", "2", "0", "1700000000.25" };
	static const char *const bad[] = { "20", "20", "0", "x" };
	struct batch	*b = batch_new();
	struct pg_scan	 scan = { 0 };
	PGresult	*r;
	char		 err[128];

	scan.clients = 5;
	scan.have_clients = 1;
	r = mkres(4, 1, ok);
	ck_assert_int_eq(pg_result_take(pq, PG_PART_SETTINGS, r, b, &scan, err,
	    sizeof(err)), 0);
	PQclear(r);
	ck_assert(find(b, "pg_settings_max_connections", NULL, NULL) == 20.0);
	ck_assert(find(b, "pg_settings_superuser_reserved_connections", NULL,
	    NULL) == 2.0);
	ck_assert(find(b, "pg_postmaster_start_time_seconds", NULL, NULL) ==
	    1700000000.25);
	ck_assert(find(b, "pg_connections_utilization_ratio", NULL, NULL) ==
	    5.0 / 18.0);

	/* No slot left for ordinary clients: no ratio rather than Inf. */
	batch_reset(b);
	r = mkres(4, 1, bad);
	ck_assert_int_eq(pg_result_take(pq, PG_PART_SETTINGS, r, b, &scan, err,
	    sizeof(err)), 0);
	PQclear(r);
	ck_assert_uint_eq(batch_len(b), 2);
	ck_assert(find(b, "pg_connections_utilization_ratio", NULL, NULL) == -1);

	r = mkres(4, 2, (const char *const[]){ "1", "1", "1", "1", "1", "1",
	    "1", "1" });
	ck_assert_int_eq(pg_result_take(pq, PG_PART_SETTINGS, r, b, &scan, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "unexpected result for settings: "
	    "PGRES_TUPLES_OK, 4 columns, 2 rows");
	PQclear(r);
	batch_free(b);
}
END_TEST

START_TEST(test_take_database)
{
	const char	*cells[2 * 18];
	struct batch	*b = batch_new();
	struct pg_scan	 scan = { 0 };
	PGresult	*r;
	char		 err[128], v[18][12];
	int		 i;

	for (i = 0; i < 18; i++) {
		snprintf(v[i], sizeof(v[i]), "%d", i);
		cells[i] = v[i];
		cells[18 + i] = v[i];
	}
	cells[0] = "shop";
	cells[3] = NULL;		/* no xact_rollback: that one skipped */
	cells[18] = NULL;		/* the shared-objects row */
	r = mkres(18, 2, cells);
	ck_assert_int_eq(pg_result_take(pq, PG_PART_DATABASE, r, b, &scan, err,
	    sizeof(err)), 0);
	PQclear(r);
	ck_assert_uint_eq(batch_len(b), 16);
	ck_assert(find(b, "pg_stat_database_numbackends", "datname", "shop") ==
	    1.0);
	ck_assert(find(b, "pg_stat_database_xact_rollback", "datname",
	    "shop") == -1);
	ck_assert(find(b, "pg_stat_database_blk_write_time", "datname",
	    "shop") == 16.0);
	ck_assert(find(b, "pg_stat_activity_max_query_duration_seconds",
	    "datname", "shop") == 17.0);
	batch_free(b);
}
END_TEST

START_TEST(test_take_sizes)
{
	static const char *const rows[] = {
		"shop", "8192", "mes", NULL, NULL, "1", "o'b", "7.5e9",
	};
	struct batch	*b = batch_new();
	struct pg_scan	 scan = { 0 };
	PGresult	*r = mkres(2, 4, rows);
	char		 err[128];

	ck_assert_int_eq(pg_result_take(pq, PG_PART_SIZES, r, b, &scan, err,
	    sizeof(err)), 0);
	PQclear(r);
	/* kept in the scan, not added: they are repeated between runs */
	ck_assert_uint_eq(batch_len(b), 0);
	ck_assert_uint_eq(scan.sizes.n, 2);
	pg_sizes_add(&scan.sizes, b);
	ck_assert_uint_eq(batch_len(b), 2);
	ck_assert(find(b, "pg_database_size_bytes", "datname", "shop") ==
	    8192.0);
	ck_assert(find(b, "pg_database_size_bytes", "datname", "o'b") ==
	    7.5e9);
	pg_sizes_clear(&scan.sizes);
	ck_assert_uint_eq(scan.sizes.n, 0);
	batch_free(b);
}
END_TEST

START_TEST(test_take_statements)
{
	static const char *const found[] = { "we\"ird", "f" };
	static const char *const rows[] = {
		"shop", "10", "1.5", "30",
		NULL, "1", "1", "1",
		"mes", "1e400", "0", "2",
	};
	struct batch	*b = batch_new();
	struct pg_scan	 scan = { 0 };
	PGresult	*r;
	char		 err[128];

	r = mkres(2, 0, NULL);
	ck_assert_int_eq(pg_result_take(pq, PG_PART_STMT_FIND, r, b, &scan, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(scan.stmt_found, 0);
	PQclear(r);
	r = mkres(2, 1, found);
	ck_assert_int_eq(pg_result_take(pq, PG_PART_STMT_FIND, r, b, &scan, err,
	    sizeof(err)), 0);
	PQclear(r);
	ck_assert_int_eq(scan.stmt_found, 1);
	ck_assert_str_eq(scan.stmt.ident, "\"we\"\"ird\"");
	ck_assert_int_eq(scan.stmt.exec_time, 0);

	r = mkres(4, 3, rows);
	ck_assert_int_eq(pg_result_take(pq, PG_PART_STMT, r, b, &scan, err,
	    sizeof(err)), 0);
	PQclear(r);
	ck_assert(find(b, "pg_stat_statements_calls_total", "datname", "shop") ==
	    10.0);
	ck_assert(find(b, "pg_stat_statements_seconds_total", "datname",
	    "shop") == 1.5);
	ck_assert(find(b, "pg_stat_statements_rows_total", "datname", "shop") ==
	    30.0);
	/* an out-of-range number is dropped, not stored as Inf */
	ck_assert(find(b, "pg_stat_statements_calls_total", "datname", "mes") ==
	    -1);
	ck_assert_uint_eq(batch_len(b), 5);
	batch_free(b);
}
END_TEST

START_TEST(test_setup_result)
{
	PGresult	*r = PQmakeEmptyPGresult(NULL, PGRES_COMMAND_OK);
	struct pg_scan	 scan = { 0 };
	char		 err[128];

	ck_assert_int_eq(pg_result_take(pq, PG_PART_SETUP, r, NULL, &scan, err,
	    sizeof(err)), 0);
	PQclear(r);
	r = mkres(1, 0, NULL);
	ck_assert_int_eq(pg_result_take(pq, PG_PART_SETUP, r, NULL, &scan, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "unexpected result for SET: PGRES_TUPLES_OK");
	PQclear(r);
}
END_TEST

static const struct metric_def *
catalogue(const char *name)
{
	const struct metric_def *m;

	for (m = pg_metrics; m->name != NULL; m++)
		if (strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

/* Every series the decoders produce is in the catalogue with its labels. */
START_TEST(test_catalogue_covers_output)
{
	const char	*db[18], *act[6] = { "d", "s", "u", "a", "1", "1" };
	const char	*sz[2] = { "d", "1" };
	const char	*set[4] = { "10", "1", "1", "1" };
	const char	*st[4] = { "d", "1", "1", "1" };
	struct batch	*b = batch_new();
	struct pg_scan	 scan = { 0 };
	PGresult	*r;
	char		 err[128];
	size_t		 i, j, n = 0;
	int		 k;

	for (k = 0; k < 18; k++)
		db[k] = k == 0 ? "d" : "1";
	r = mkres(6, 1, act);
	pg_result_take(pq, PG_PART_ACTIVITY, r, b, &scan, err, sizeof(err));
	PQclear(r);
	r = mkres(4, 1, set);
	pg_result_take(pq, PG_PART_SETTINGS, r, b, &scan, err, sizeof(err));
	PQclear(r);
	r = mkres(18, 1, db);
	pg_result_take(pq, PG_PART_DATABASE, r, b, &scan, err, sizeof(err));
	PQclear(r);
	r = mkres(2, 1, sz);
	pg_result_take(pq, PG_PART_SIZES, r, b, &scan, err, sizeof(err));
	PQclear(r);
	pg_sizes_add(&scan.sizes, b);
	pg_sizes_clear(&scan.sizes);
	r = mkres(4, 1, st);
	pg_result_take(pq, PG_PART_STMT, r, b, &scan, err, sizeof(err));
	PQclear(r);
	batch_addl(b, "pg_up", 0, 1.0, NULL);

	for (i = 0; i < batch_len(b); i++) {
		const struct sample	*s = batch_at(b, i);
		const struct metric_def	*m = catalogue(s->labels[0].value);
		struct buf		 labels = BUF_INIT;

		ck_assert_msg(m != NULL, "%s not in pg_metrics",
		    s->labels[0].value);
		for (j = 1; j < s->nlabels; j++) {
			if (j > 1)
				buf_addc(&labels, ' ');
			buf_adds(&labels, s->labels[j].name);
		}
		/* catalogue order is not sorted order: compare as sets */
		for (j = 1; j < s->nlabels; j++)
			ck_assert_msg(strstr(m->labels, s->labels[j].name) !=
			    NULL, "%s: label %s", m->name, s->labels[j].name);
		ck_assert_uint_eq(strlen(labels.data ? labels.data : ""),
		    strlen(m->labels));
		buf_free(&labels);
	}
	for (i = 0; pg_metrics[i].name != NULL; i++) {
		int seen = 0;

		n++;
		ck_assert(metric_name_valid(pg_metrics[i].name));
		ck_assert(strlen(pg_metrics[i].help) > 20);
		for (j = 0; j < batch_len(b); j++)
			if (strcmp(batch_at(b, j)->labels[0].value,
			    pg_metrics[i].name) == 0)
				seen = 1;
		ck_assert_msg(seen, "%s is never produced", pg_metrics[i].name);
	}
	/* 1 + 2 activity + 4 settings + 16 + 2 database + 3 statements */
	ck_assert_uint_eq(n, 28);
	ck_assert_uint_eq(batch_len(b), 28);
	batch_free(b);
}
END_TEST

static Suite *
postgres_suite(void)
{
	Suite	*s = suite_create("postgres");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, pq_setup, pq_teardown);
	tcase_add_test(tc, test_loaded);
	tcase_add_test(tc, test_conninfo_check);
	tcase_add_test(tc, test_has_password);
	tcase_add_test(tc, test_redact);
	tcase_add_test(tc, test_instance);
	tcase_add_test(tc, test_oneline);
	tcase_add_test(tc, test_databases_parse);
	tcase_add_test(tc, test_sql_quoting);
	tcase_add_test(tc, test_plan);
	tcase_add_test(tc, test_take_activity);
	tcase_add_test(tc, test_take_settings);
	tcase_add_test(tc, test_take_database);
	tcase_add_test(tc, test_take_sizes);
	tcase_add_test(tc, test_take_statements);
	tcase_add_test(tc, test_setup_result);
	tcase_add_test(tc, test_catalogue_covers_output);
	suite_add_tcase(s, tc);
	return s;
}

TCHECK_MAIN(postgres_suite)
