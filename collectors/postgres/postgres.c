/*
 * postgres: the [postgres "name"] section and the collector contract, on
 * top of the engine in pg.h (which knows nothing of the config).
 *
 *	[postgres "shop-db"]
 *	conninfo = host=127.0.0.1 dbname=shop user=monitor
 *	password_file = /etc/monitord/shop-db.pass
 *	databases = shop            # optional
 *	statements = yes            # pg_stat_statements when installed
 *
 * The server gets the target's timeout as its statement_timeout, so that a
 * query abandoned at the deadline does not keep running there.
 *
 * libpq is loaded only for a config that has such a section (pq_dl.h): to
 * check the conninfo with libpq's own parser, then by each target.  When
 * it cannot be loaded, the check says so on the log and passes, and the
 * target fails each run with the loader's message (see pg.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "collectors/collector.h"
#include "conf.h"
#include "log.h"
#include "pg.h"
#include "postgres.h"
#include "pq_dl.h"

static const struct conf_key postgres_keys[] = {
	{ "conninfo", CONF_STRING, CONF_REQUIRED, NULL, NULL, 0, 0,
	  "The server to watch: a libpq connection string "
	  "(host=... port=... dbname=... user=...) or a postgresql:// URI.  "
	  "Use an IP address as host to keep name lookups off the event loop, "
	  "and password_file rather than a password here." },
	{ "password_file", CONF_SECRET, 0, NULL, NULL, 0, 0,
	  "File holding the password of the conninfo's user (one line); read "
	  "at each connection, so a new password needs no reload." },
	{ "databases", CONF_STRING, 0, NULL, NULL, 0, 0,
	  "Only these databases (comma-separated) in the per-database "
	  "series; connection counts always cover the whole server.  "
	  "Default: every database." },
	{ "statements", CONF_BOOL, 0, "yes", NULL, 0, 0,
	  "Read pg_stat_statements totals per database when the extension is "
	  "installed in the connected database." },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL },
};

static void
postgres_check(const struct conf_section *sec, struct conf_errors *errs)
{
	struct pq_dl	 *pq;
	char		  err[256];
	char		**dbs;
	size_t		  n, i;

	if ((pq = pq_dl_new(err, sizeof(err))) == NULL)
		log_warnx("postgres %s: conninfo not checked: %s",
		    conf_section_name(sec), err);
	else if (pg_conninfo_check(pq, conf_str(sec, "conninfo"), err,
	    sizeof(err)) == -1)
		conf_error(errs, sec, "conninfo", "%s", err);
	pq_dl_free(pq);
	if (conf_has(sec, "databases")) {
		if (pg_databases_parse(conf_str(sec, "databases"), &dbs, &n,
		    err, sizeof(err)) == -1)
			conf_error(errs, sec, "databases", "%s", err);
		else {
			for (i = 0; i < n; i++)
				free(dbs[i]);
			free(dbs);
		}
	}
}

/* The same timeout the core gives the target (see target.c). */
static int64_t
postgres_timeout(const struct conf_section *sec)
{
	int64_t interval = conf_duration(sec, "interval");
	int64_t timeout;

	timeout = conf_has(sec, "timeout") ? conf_duration(sec, "timeout") :
	    (interval < 10000 ? interval : 10000);
	return timeout > interval ? interval : timeout;
}

static void *
postgres_build(const struct conf_section *sec, struct event_base *base,
    char *err, size_t errlen)
{
	struct pg_opts o = {
		.conninfo = conf_str(sec, "conninfo"),
		.password_file = conf_has(sec, "password_file") ?
		    conf_str(sec, "password_file") : NULL,
		.databases = conf_has(sec, "databases") ?
		    conf_str(sec, "databases") : NULL,
		.statements = conf_bool(sec, "statements"),
		.timeout_ms = postgres_timeout(sec),
	};

	return pg_new(&o, base, err, errlen);
}

static const char *
postgres_instance(void *priv)
{
	return pg_instance(priv);
}

static void
postgres_done(void *arg, enum run_status st, const char *msg)
{
	run_done(arg, st, "%s", msg);
}

static void
postgres_run(void *priv, struct run *r)
{
	pg_collect(priv, run_batch(r), postgres_done, r);
}

static void
postgres_cancel(void *priv, struct run *r)
{
	pg_cancel(priv);
}

static void
postgres_free(void *priv)
{
	pg_free(priv);
}

const struct collector_kind postgres_collector = {
	.kind = "postgres",
	.help = "A PostgreSQL server: connections by state, transaction and "
	    "query ages, pg_stat_database, database sizes, pg_stat_statements "
	    "totals.",
	.keys = postgres_keys,
	.metrics = pg_metrics,
	.check = postgres_check,
	.build = postgres_build,
	.instance = postgres_instance,
	.run = postgres_run,
	.cancel = postgres_cancel,
	.free = postgres_free,
};
