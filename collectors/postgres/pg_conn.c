/*
 * pg_conn: the PostgreSQL engine's connection and collection state machine
 * on libpq's asynchronous API and libevent (see pg.h).
 *
 *	CLOSED --pg_collect--> CONNECTING --PQconnectPoll OK--> BUSY
 *	READY  --pg_collect--> BUSY --last PGresult--> READY (or BUSY again
 *	                                               for pg_stat_statements)
 *	any    --broken, cancel--> CLOSED
 *
 * Every wait is one non-persistent event on PQsocket(): the socket may
 * change while connecting (another host, a retry without SSL), so the event
 * is made anew for each wait.  While READY a persistent read event notices a
 * server that closes the connection (shutdown, pg_terminate_backend) and
 * closes ours, so the next collection connects afresh instead of failing.
 *
 * Nothing here can block the loop: the connection is switched to libpq's
 * non-blocking mode as soon as it is up, so that PQfinish's Terminate
 * message and PQflush never wait on a full socket, and there is no
 * PQcancel (it connects synchronously).  A query abandoned by pg_cancel()
 * is ended on the server by statement_timeout, set to the target's timeout.
 *
 * One thing libpq does synchronously is resolving a host name inside
 * PQconnectPoll; with an IP address (host=127.0.0.1 or hostaddr=) nothing
 * is resolved.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "log.h"
#include "pg.h"
#include "pg_sql.h"
#include "pq_dl.h"
#include "sample.h"
#include "xmalloc.h"

/* A password file bigger than this is not a password file. */
#define PG_PASSWORD_MAX	4096
/* Database sizes are measured this often at most (it walks every file of
   every database: 0.45 ms of server CPU per small database, measured). */
#define PG_SIZES_EVERY_MS	60000

enum pg_state {
	PG_CLOSED,
	PG_CONNECTING,
	PG_READY,	/* connected, no query in flight */
	PG_BUSY,	/* a query string is in flight */
};

struct pg {
	struct event_base	*base;
	struct pq_dl		*pq;		/* NULL: libpq not loadable */
	char			*load_err;	/* why, then */
	char			*conninfo;
	char			*password_file;
	char			*conninfo_password;	/* to scrub messages */
	char			*instance;
	char			*redacted;
	int			 statements;
	struct pg_sqlctx	 sql;

	PGconn			*conn;
	struct event		*ev;
	enum pg_state		 state;
	char			*password;	/* from the file, while connecting */
	int			 setup_done;	/* SET statement_timeout went in */
	int			 stmt_known;	/* stmt below is where it is */
	struct pg_stmt_loc	 stmt;
	int			 stmt_broken;	/* failed on this connection */
	struct pg_sizes		 sizes;		/* last measured */
	int64_t			 sizes_at;	/* monotonic ms; 0: never */

	/* The collection in progress. */
	int			 running;
	struct batch		*batch;
	pg_done_fn		 done;
	void			*done_arg;
	int			 fresh;		/* connected for this collection */
	int			 retried;
	struct pg_plan		 plan;
	size_t			 nresults;
	int			 stmt_failed;
	char			 stmt_err[256];
	struct pg_scan		 scan;
	char			 err[512];

	struct pg_stats		 stats;
};

static void	pg_connect(struct pg *);
static void	pg_send(struct pg *, int stmt_only);

static int64_t
pg_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
pg_notice(void *arg, const char *msg)
{
	/* libpq would print notices on stderr; they are not ours to show. */
}

/* Describe a libpq or server message as one line without secrets. */
static void
pg_msg(struct pg *pg, char *dst, size_t dstlen, const char *msg)
{
	size_t	 len = strlen(msg) * 3 + 1;	/* "***" for a 1-byte secret */
	char	*tmp = xmalloc(len);

	/* Room for the whole first pass: no secret is cut before the
	   second pass could find it. */
	pg_oneline(tmp, len, msg, pg->password);
	pg_oneline(dst, dstlen, tmp, pg->conninfo_password);
	free(tmp);
}

static void
pg_unwait(struct pg *pg)
{
	if (pg->ev != NULL) {
		event_free(pg->ev);
		pg->ev = NULL;
	}
}

static void	pg_conn_fail(struct pg *, const char *);

/* Wait for WHAT on the connection's current socket; always a tail call. */
static void
pg_wait(struct pg *pg, short what, event_callback_fn cb)
{
	int fd = pg->pq->PQsocket(pg->conn);

	pg_unwait(pg);
	if (fd < 0) {
		pg_conn_fail(pg, pg->pq->PQerrorMessage(pg->conn));
		return;
	}
	pg->ev = event_new(pg->base, fd, what, cb, pg);
	event_add(pg->ev, NULL);
}

static void
pg_forget_password(struct pg *pg)
{
	if (pg->password != NULL) {
		explicit_bzero(pg->password, strlen(pg->password));
		free(pg->password);
		pg->password = NULL;
	}
}

static void
pg_close(struct pg *pg)
{
	/* The event goes before the socket it watches. */
	pg_unwait(pg);
	if (pg->conn != NULL) {
		pg->pq->PQfinish(pg->conn);
		pg->conn = NULL;
	}
	pg_forget_password(pg);
	pg->state = PG_CLOSED;
	pg->setup_done = 0;
	pg->stmt_broken = 0;
}

static void
pg_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pg	*pg = arg;
	PGnotify	*n;
	char		 msg[256];

	if (pg->pq->PQconsumeInput(pg->conn) &&
	    pg->pq->PQstatus(pg->conn) == CONNECTION_OK) {
		while ((n = pg->pq->PQnotifies(pg->conn)) != NULL)
			pg->pq->PQfreemem(n);
		return;
	}
	pg_msg(pg, msg, sizeof(msg), pg->pq->PQerrorMessage(pg->conn));
	log_debug("postgres %s: connection closed between runs: %s",
	    pg->instance, msg);
	pg_close(pg);
}

/* End the collection; DONE is the last thing that touches it. */
static void
pg_finish(struct pg *pg, enum run_status st, const char *msg)
{
	pg_done_fn	 done = pg->done;
	void		*arg = pg->done_arg;

	pg->running = 0;
	pg->batch = NULL;
	pg->done = NULL;
	pg->stats.collections++;
	if (pg->state == PG_READY) {
		pg_unwait(pg);
		pg->ev = event_new(pg->base, pg->pq->PQsocket(pg->conn),
		    EV_READ | EV_PERSIST, pg_idle_cb, pg);
		event_add(pg->ev, NULL);
	}
	done(arg, st, msg);
}

static void
pg_fail(struct pg *pg, const char *msg)
{
	batch_reset(pg->batch);
	batch_addl(pg->batch, "pg_up", 0, 0.0, NULL);
	pg_finish(pg, RUN_ERROR, msg);
}

/*
 * The connection is unusable.  One that was reused from an earlier
 * collection may have died unnoticed (a server restart between runs): try
 * once more on a new connection before calling the run failed.
 */
static void
pg_conn_fail(struct pg *pg, const char *libpq_msg)
{
	char msg[sizeof(pg->err)];

	pg_msg(pg, msg, sizeof(msg), libpq_msg);
	pg_close(pg);
	if (!pg->fresh && !pg->retried) {
		log_debug("postgres %s: reconnecting: %s", pg->instance, msg);
		pg->retried = 1;
		pg->err[0] = '\0';
		batch_reset(pg->batch);
		pg_connect(pg);
		return;
	}
	snprintf(pg->err, sizeof(pg->err), "%s", msg);
	pg_fail(pg, pg->err);
}

static void
pg_results_done(struct pg *pg)
{
	int	had_stmt = pg_plan_has(&pg->plan, PG_PART_STMT);
	int	had_find = pg_plan_has(&pg->plan, PG_PART_STMT_FIND);
	int	moved;

	if (pg->pq->PQstatus(pg->conn) != CONNECTION_OK) {
		pg_conn_fail(pg, pg->pq->PQerrorMessage(pg->conn));
		return;
	}
	pg->state = PG_READY;
	if (pg->err[0] != '\0') {
		pg_fail(pg, pg->err);
		return;
	}
	if (pg->nresults != pg->plan.nparts) {
		snprintf(pg->err, sizeof(pg->err), "the server answered %zu of "
		    "%zu statements", pg->nresults, pg->plan.nparts);
		pg_fail(pg, pg->err);
		return;
	}
	if (pg_plan_has(&pg->plan, PG_PART_SETUP))
		pg->setup_done = 1;
	if (pg_plan_has(&pg->plan, PG_PART_SIZES)) {
		pg_sizes_clear(&pg->sizes);
		pg->sizes = pg->scan.sizes;
		memset(&pg->scan.sizes, 0, sizeof(pg->scan.sizes));
		pg->sizes_at = pg_now_ms();
	}

	if (had_find) {
		moved = pg->scan.stmt_found && (!pg->stmt_known ||
		    strcmp(pg->stmt.ident, pg->scan.stmt.ident) != 0 ||
		    pg->stmt.exec_time != pg->scan.stmt.exec_time);
		pg->stmt_known = pg->scan.stmt_found;
		pg->stmt = pg->scan.stmt;
		if (pg->stmt_known && (moved || !had_stmt)) {
			/* Found now: read it in a second round trip, so that
			   this run already has its series. */
			pg_send(pg, 1);
			return;
		}
	}
	if (had_stmt && pg->stmt_failed && pg->stmt_known) {
		/* Installed but unreadable, typically not in
		   shared_preload_libraries: say so once per connection. */
		pg->stmt_broken = 1;
		log_warnx("postgres %s: pg_stat_statements is installed but "
		    "cannot be read, its series are left out: %s", pg->instance,
		    pg->stmt_err);
	}
	pg_sizes_add(&pg->sizes, pg->batch);
	batch_addl(pg->batch, "pg_up", 0, 1.0, NULL);
	pg_finish(pg, RUN_OK, "");
}

static void
pg_take(struct pg *pg, PGresult *res)
{
	size_t		i = pg->nresults++;
	enum pg_part	part;
	char		msg[256];

	if (i >= pg->plan.nparts || pg->err[0] != '\0')
		return;
	part = pg->plan.parts[i];
	if (pg->pq->PQresultStatus(res) == PGRES_FATAL_ERROR ||
	    pg->pq->PQresultStatus(res) == PGRES_NONFATAL_ERROR) {
		pg_msg(pg, msg, sizeof(msg), pg->pq->PQresultErrorMessage(res));
		if (part == PG_PART_STMT) {
			pg->stmt_failed = 1;
			snprintf(pg->stmt_err, sizeof(pg->stmt_err), "%s", msg);
		} else
			snprintf(pg->err, sizeof(pg->err), "query failed: %s",
			    msg);
		return;
	}
	if (pg_result_take(pg->pq, part, res, pg->batch, &pg->scan, msg,
	    sizeof(msg)) == -1)
		snprintf(pg->err, sizeof(pg->err), "%s", msg);
}

static void
pg_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pg	*pg = arg;
	PGresult	*res;
	int		 r;

	if ((what & EV_READ) && !pg->pq->PQconsumeInput(pg->conn)) {
		pg_conn_fail(pg, pg->pq->PQerrorMessage(pg->conn));
		return;
	}
	if ((r = pg->pq->PQflush(pg->conn)) == -1) {
		pg_conn_fail(pg, pg->pq->PQerrorMessage(pg->conn));
		return;
	}
	if (r == 1) {
		/* Still sending; answers may come meanwhile. */
		pg_wait(pg, EV_READ | EV_WRITE, pg_io_cb);
		return;
	}
	while (!pg->pq->PQisBusy(pg->conn)) {
		if ((res = pg->pq->PQgetResult(pg->conn)) == NULL) {
			pg_results_done(pg);
			return;
		}
		switch (pg->pq->PQresultStatus(res)) {
		case PGRES_COPY_IN:
		case PGRES_COPY_OUT:
		case PGRES_COPY_BOTH:
			/* We never ask for COPY, and libpq would hand out a
			   COPY result forever: drop this connection. */
			pg->pq->PQclear(res);
			pg_close(pg);
			snprintf(pg->err, sizeof(pg->err), "the server started "
			    "a COPY the collector did not ask for");
			pg_fail(pg, pg->err);
			return;
		default:
			pg_take(pg, res);
			pg->pq->PQclear(res);
		}
	}
	pg_wait(pg, EV_READ, pg_io_cb);
}

static void
pg_send(struct pg *pg, int stmt_only)
{
	int	flags = 0;
	int	stmt = pg->statements && pg->stmt_known && !pg->stmt_broken;

	if (stmt_only)
		flags |= PG_PLAN_STMT_ONLY;
	if (!pg->setup_done)
		flags |= PG_PLAN_SETUP;
	if (pg->sizes_at == 0 || pg_now_ms() - pg->sizes_at >= PG_SIZES_EVERY_MS)
		flags |= PG_PLAN_SIZES;
	if (pg->statements && !pg->stmt_broken)
		flags |= PG_PLAN_FIND;
	pg_plan_build(&pg->plan, &pg->sql, flags, stmt ? &pg->stmt : NULL);
	pg->nresults = 0;
	pg->stmt_failed = 0;
	if (!stmt_only) {
		pg_sizes_clear(&pg->scan.sizes);
		memset(&pg->scan, 0, sizeof(pg->scan));
	}
	pg->state = PG_BUSY;
	pg->stats.round_trips++;
	pg->stats.last_round_trips++;
	if (!pg->pq->PQsendQuery(pg->conn, pg->plan.sql.data)) {
		pg_conn_fail(pg, pg->pq->PQerrorMessage(pg->conn));
		return;
	}
	pg_io_cb(pg->pq->PQsocket(pg->conn), 0, pg);
}

static void
pg_connected(struct pg *pg)
{
	int	v = pg->pq->PQserverVersion(pg->conn);
	char	msg[256];

	pg_forget_password(pg);
	if (pg->pq->PQsetnonblocking(pg->conn, 1) == -1) {
		pg_conn_fail(pg, pg->pq->PQerrorMessage(pg->conn));
		return;
	}
	log_debug("postgres %s: connected to server %d (%s)", pg->instance, v,
	    pg->redacted);
	if (v < 100000) {
		snprintf(msg, sizeof(msg), "server version %d.%d is not "
		    "supported (PostgreSQL 10 or later is needed)", v / 10000,
		    v / 100 % 100);
		pg_close(pg);
		snprintf(pg->err, sizeof(pg->err), "%s", msg);
		pg_fail(pg, pg->err);
		return;
	}
	pg_send(pg, 0);
}

static void
pg_connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pg *pg = arg;

	switch (pg->pq->PQconnectPoll(pg->conn)) {
	case PGRES_POLLING_READING:
		pg_wait(pg, EV_READ, pg_connect_cb);
		return;
	case PGRES_POLLING_OK:
		pg_connected(pg);
		return;
	case PGRES_POLLING_FAILED:
		pg_conn_fail(pg, pg->pq->PQerrorMessage(pg->conn));
		return;
	default:
		pg_wait(pg, EV_WRITE, pg_connect_cb);
		return;
	}
}

/* The password file's contents without one trailing newline, or NULL. */
static char *
pg_read_password(const char *path, char *err, size_t errlen)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "password_file %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "password_file %s: not a regular file",
		    path);
		close(fd);
		return NULL;
	}
	buf = xmalloc(PG_PASSWORD_MAX + 1);
	while (len < PG_PASSWORD_MAX &&
	    (n = read(fd, buf + len, PG_PASSWORD_MAX - len)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "password_file %s: %s", path,
			    strerror(errno));
			goto fail;
		}
		len += (size_t)n;
	}
	close(fd);
	fd = -1;
	if (len == PG_PASSWORD_MAX) {
		snprintf(err, errlen, "password_file %s: longer than %d bytes",
		    path, PG_PASSWORD_MAX - 1);
		goto fail;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	if (len == 0) {
		snprintf(err, errlen, "password_file %s is empty", path);
		goto fail;
	}
	return buf;
fail:
	if (fd != -1)
		close(fd);
	explicit_bzero(buf, PG_PASSWORD_MAX + 1);
	free(buf);
	return NULL;
}

static void
pg_connect(struct pg *pg)
{
	const char	*kw[6], *val[6];
	size_t		 n = 0;

	pg->fresh = 1;
	pg->stats.connects++;
	if (pg->password_file != NULL && (pg->password = pg_read_password(
	    pg->password_file, pg->err, sizeof(pg->err))) == NULL) {
		pg_fail(pg, pg->err);
		return;
	}
	/* Later keywords override what the expanded conninfo says. */
	kw[n] = "dbname"; val[n++] = pg->conninfo;
	kw[n] = "fallback_application_name"; val[n++] = "monitord";
	kw[n] = "client_encoding"; val[n++] = "UTF8";
	if (pg->password != NULL) {
		kw[n] = "password";
		val[n++] = pg->password;
	}
	kw[n] = NULL; val[n] = NULL;

	if ((pg->conn = pg->pq->PQconnectStartParams(kw, val, 1)) == NULL) {
		pg_forget_password(pg);
		snprintf(pg->err, sizeof(pg->err), "out of memory");
		pg_fail(pg, pg->err);
		return;
	}
	pg->pq->PQsetNoticeProcessor(pg->conn, pg_notice, NULL);
	if (pg->pq->PQstatus(pg->conn) == CONNECTION_BAD ||
	    pg->pq->PQsocket(pg->conn) < 0) {
		pg_conn_fail(pg, pg->pq->PQerrorMessage(pg->conn));
		return;
	}
	pg->state = PG_CONNECTING;
	/* As the libpq manual says: start as if polling had said WRITING. */
	pg_wait(pg, EV_WRITE, pg_connect_cb);
}

void
pg_collect(struct pg *pg, struct batch *b, pg_done_fn done, void *arg)
{
	if (pg->running)
		pg_cancel(pg);
	pg->running = 1;
	pg->batch = b;
	pg->done = done;
	pg->done_arg = arg;
	pg->retried = 0;
	pg->err[0] = '\0';
	pg->stats.last_round_trips = 0;
	if (pg->pq == NULL) {
		pg_fail(pg, pg->load_err);
		return;
	}
	if (pg->state == PG_READY) {
		pg->fresh = 0;
		pg_send(pg, 0);
	} else {
		pg_close(pg);
		pg_connect(pg);
	}
}

void
pg_cancel(struct pg *pg)
{
	if (!pg->running)
		return;
	pg->running = 0;
	pg->batch = NULL;
	pg->done = NULL;
	/* Mid-connect or mid-query the connection cannot be reused. */
	if (pg->state != PG_READY)
		pg_close(pg);
}

struct pg *
pg_new(const struct pg_opts *o, struct event_base *base, char *err,
    size_t errlen)
{
	struct pg		*pg;
	struct pq_dl		*pq;
	PQconninfoOption	*opts, *opt;
	char			**dbs = NULL, *msg = NULL, load_err[256];
	size_t			 ndbs = 0, i;

	/* Without libpq the conninfo cannot be checked: the engine is made
	   all the same and says why at each collection (see pg.h). */
	pq = pq_dl_new(load_err, sizeof(load_err));
	if (pq != NULL && pg_conninfo_check(pq, o->conninfo, err,
	    errlen) == -1) {
		pq_dl_free(pq);
		return NULL;
	}
	if (o->databases != NULL && pg_databases_parse(o->databases, &dbs,
	    &ndbs, err, errlen) == -1) {
		pq_dl_free(pq);
		return NULL;
	}

	pg = xcalloc(1, sizeof(*pg));
	pg->base = base;
	pg->pq = pq;
	pg->conninfo = xstrdup(o->conninfo);
	pg->password_file = o->password_file != NULL ?
	    xstrdup(o->password_file) : NULL;
	pg->statements = o->statements;
	pg->sql.db_filter = pg_sql_db_filter(dbs, ndbs);
	pg->sql.timeout_ms = o->timeout_ms;
	for (i = 0; i < ndbs; i++)
		free(dbs[i]);
	free(dbs);
	if (pq == NULL) {
		pg->load_err = xstrdup(load_err);
		pg->instance = xstrdup("unknown");
		pg->redacted = xstrdup("(libpq not loaded)");
		return pg;
	}
	pg->instance = pg_conninfo_instance(pq, o->conninfo);
	pg->redacted = pg_conninfo_redact(pq, o->conninfo);
	if ((opts = pq->PQconninfoParse(o->conninfo, &msg)) != NULL) {
		for (opt = opts; opt->keyword != NULL; opt++)
			if (strcmp(opt->keyword, "password") == 0 &&
			    opt->val != NULL && *opt->val != '\0')
				pg->conninfo_password = xstrdup(opt->val);
		pq->PQconninfoFree(opts);
	}
	pq->PQfreemem(msg);
	return pg;
}

void
pg_free(struct pg *pg)
{
	if (pg == NULL)
		return;
	pg_cancel(pg);
	pg_close(pg);
	buf_free(&pg->plan.sql);
	pg_sizes_clear(&pg->sizes);
	pg_sizes_clear(&pg->scan.sizes);
	if (pg->conninfo_password != NULL) {
		explicit_bzero(pg->conninfo_password,
		    strlen(pg->conninfo_password));
		free(pg->conninfo_password);
	}
	explicit_bzero(pg->conninfo, strlen(pg->conninfo));
	free(pg->conninfo);
	free(pg->password_file);
	free(pg->instance);
	free(pg->redacted);
	free(pg->sql.db_filter);
	free(pg->load_err);
	/* Last: nothing of libpq's is left. */
	pq_dl_free(pg->pq);
	free(pg);
}

const char *
pg_instance(const struct pg *pg)
{
	return pg->instance;
}

void
pg_get_stats(const struct pg *pg, struct pg_stats *out)
{
	*out = pg->stats;
}
