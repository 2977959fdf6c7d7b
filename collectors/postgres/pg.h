/*
 * pg: the PostgreSQL collection engine, apart from the config so that it can
 * be driven by the collector kind (postgres.c), by tests/pg_probe.c and by
 * fuzz targets alike.  It does not expose libpq: only files of this
 * directory include <libpq-fe.h>.
 *
 * libpq is not linked: each struct pg loads it (pq_dl.h) when it is made.
 * When it cannot be loaded the engine is still made, so that a broken
 * installation shows as a failing target rather than a daemon that does
 * not start: every collection then fails with the loader's message
 * ("libpq.so.5 could not be loaded: ..."), the instance is "unknown", and
 * a reload (which makes the engine anew) tries again.
 *
 * One struct pg is one server: one libpq connection, opened on the first
 * collection and kept between collections.  A collection is one round trip
 * of a multi-statement query (two on the first collection that finds
 * pg_stat_statements).  It never blocks: connecting, sending and reading are
 * driven by events on the socket, on the event base given to pg_new().
 *
 * Lifetime: pg_collect() starts a collection that ends by calling DONE
 * exactly once (possibly before pg_collect() returns), unless pg_cancel() is
 * called first, after which DONE is never called.  Only one collection runs
 * at a time.  Cancelling abandons the connection (closing it cannot block);
 * the next collection reconnects.  A connection that breaks between
 * collections is noticed and closed; one that broke unnoticed is retried
 * once, on a fresh connection, within the same collection.  There is no
 * backoff here: the core spaces out the runs of a failing target.
 *
 * Secrets: the password (password_file, or one inside the conninfo) never
 * appears in an error message, a log line or the instance label.
 *
 * Threading: the event loop's thread only.
 */
#ifndef MONITORD_PG_H
#define MONITORD_PG_H

#include <stddef.h>
#include <stdint.h>

#include "collectors/collector.h"

struct event_base;
struct batch;
struct pq_dl;

struct pg_opts {
	const char	*conninfo;	/* libpq "key=value ..." or URI */
	const char	*password_file;	/* NULL: none (libpq may use ~/.pgpass) */
	const char	*databases;	/* NULL: every database; else "a, b" */
	int		 statements;	/* read pg_stat_statements if installed */
	int64_t		 timeout_ms;	/* the server's statement_timeout; 0 none */
};

/* Counters for tests and benchmarks. */
struct pg_stats {
	uint64_t	collections;	/* finished, any status */
	uint64_t	connects;	/* connections attempted */
	uint64_t	round_trips;	/* query strings sent */
	unsigned	last_round_trips;	/* of the last collection */
};

/* Called once per collection; MSG is one line without secrets, "" on OK. */
typedef void (*pg_done_fn)(void *arg, enum run_status, const char *msg);

/*
 * Load libpq, check OPTS (conninfo syntax, databases list) and build the
 * engine; does not connect.  NULL with a message in ERR when OPTS are
 * invalid (the conninfo is checked only when libpq could be loaded).
 */
struct pg	*pg_new(const struct pg_opts *, struct event_base *,
		    char *err, size_t errlen);
void		 pg_free(struct pg *);
/* "host:port" of the server, for the instance label. */
const char	*pg_instance(const struct pg *);
/*
 * Collect into BATCH (samples get t = 0: the core stamps them).  BATCH must
 * stay valid until DONE or pg_cancel().  On failure the batch holds only
 * pg_up 0.
 */
void		 pg_collect(struct pg *, struct batch *, pg_done_fn done,
		    void *arg);
void		 pg_cancel(struct pg *);
void		 pg_get_stats(const struct pg *, struct pg_stats *);

/* The catalogue of every metric the engine may produce, { NULL }-ended. */
extern const struct metric_def pg_metrics[];

/*
 * Conninfo helpers (pg_conninfo.c).  A conninfo is checked with libpq's own
 * parser, reached through PQ (a loaded libpq, see pq_dl.h).  Messages about
 * a conninfo that carries a password never quote it.
 */
int		 pg_conninfo_check(const struct pq_dl *, const char *,
		    char *err, size_t errlen);
/* Whether the string holds a password (password=..., or user:pw@ in a URI). */
int		 pg_conninfo_has_password(const char *);
/* The parsed conninfo without its password, as "key=value ..." (free it). */
char		*pg_conninfo_redact(const struct pq_dl *, const char *);
/* "host:port" from the conninfo with libpq's defaults (free it). */
char		*pg_conninfo_instance(const struct pq_dl *, const char *);
/*
 * Copy MSG to DST as one line: runs of white space (libpq's messages hold
 * newlines and tabs) become one space, the ends are trimmed, and every
 * occurrence of SECRET (when not NULL or empty) becomes "***".
 */
void		 pg_oneline(char *dst, size_t dstlen, const char *msg,
		    const char *secret);
/*
 * Split a comma-separated databases list ("shop, mes"; blanks around names
 * are dropped, so a name may hold spaces but no comma) into *OUT, an array
 * of *N strings (free each and the array).  -1 with a message in ERR when
 * the list or a name in it is empty, or a name is longer than PostgreSQL
 * allows.
 */
int		 pg_databases_parse(const char *, char ***out, size_t *n,
		    char *err, size_t errlen);

#endif
