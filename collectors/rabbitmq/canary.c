/*
 * canary: an AMQP round trip, the way a client sees the broker (see
 * rabbitmq_impl.h).
 *
 * librabbitmq's calls block, so they run on a worker thread per target and
 * never on the event loop.  The worker waits on a condition variable for a
 * request, connects if it has no connection (declaring an exclusive,
 * auto-delete, non-durable queue and consuming from it without acks),
 * publishes one message through the default exchange, waits for that very
 * message to come back, and hands the result to the loop thread by writing
 * a byte into a pipe the loop watches.  Every blocking step has a timeout
 * taken from the request's deadline: the TCP connect
 * (amqp_socket_open_noblock), the handshake and the RPCs (handshake and
 * RPC timeouts), the wait for the message (amqp_consume_message).  So an
 * abandoned request ends by itself.  canary_free() joins an idle worker;
 * a busy one it detaches, and the worker frees the struct when its
 * request ends, so a reload never holds the event loop for a timeout.
 *
 * The connection stays open between runs (one connect per target, not per
 * run); any error closes it and the next request reconnects.  An error on
 * a connection kept from before (the broker restarted meanwhile) is
 * retried once on a new connection within the same deadline, so a restart
 * costs no false alarm.  The queue is exclusive, so two monitords that
 * share a broker and a canary_queue name do not steal each other's
 * messages: the second is refused with RESOURCE_LOCKED and says so.
 *
 * librabbitmq is not linked: canary_new() loads it (rmq_dl.h), so a
 * daemon without a canary never maps it, and fails with the loader's
 * message when it cannot be loaded (the run then retries).  The table is
 * freed with the struct, after the connection.
 *
 * Threading: the struct's fields are grouped below by the thread that owns
 * them; the mutex guards the request/result hand-over only.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "rabbitmq_impl.h"
#include "monotime.h"
#include "rmq_dl.h"
#include "xmalloc.h"

#define CANARY_CHANNEL	1
#define CANARY_FRAME_MAX 131072
/* librabbitmq's amqp_empty_table and amqp_empty_bytes are these zero
   values; spelt out, they need no symbol looked up in the library. */
#define CANARY_NO_TABLE	((amqp_table_t){ 0, NULL })
#define CANARY_NO_BYTES	((amqp_bytes_t){ 0, NULL })

struct canary {
	/* Set at canary_new, read-only after. */
	struct rmq_dl		*lib;
	char			*host;
	int			 port;
	char			*vhost;
	char			*user;
	char			*pass;
	char			*queue;
	int			 rfd;
	int			 wfd;
	pthread_t		 thread;

	/* Guarded by mu. */
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	uint64_t		 requested;
	uint64_t		 finished;
	int64_t			 timeout_ms;
	int			 stop;
	int			 detached;	/* the worker frees it all */
	struct canary_result	 result;	/* of request `finished` */

	/* Loop thread only. */
	struct event		*ev;
	canary_cb		 cb;
	void			*cb_arg;
	uint64_t		 wanted;	/* request cb waits for; 0 none */

	/* Worker thread only. */
	amqp_connection_state_t	 conn;
	uint64_t		 seq;
};

/* Time left before DEADLINE (monotonic us) as a timeval; 0 when none. */
static int
time_left(int64_t deadline, struct timeval *tv)
{
	int64_t left = deadline - monotime_us();

	if (left <= 0)
		return 0;
	tv->tv_sec = (time_t)(left / 1000000);
	tv->tv_usec = (suseconds_t)(left % 1000000);
	return 1;
}

/* Server text is the broker's: keep it one printable line. */
static void
copy_text(char *out, size_t outlen, const void *p, size_t len)
{
	size_t i;

	if (len >= outlen)
		len = outlen - 1;
	for (i = 0; i < len; i++) {
		unsigned char c = ((const unsigned char *)p)[i];

		out[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	out[len] = '\0';
}

static void
reply_error(const struct canary *c, amqp_rpc_reply_t r, const char *what,
    char *err, size_t errlen)
{
	const struct rmq_dl	*lib = c->lib;
	char			 text[160];

	switch (r.reply_type) {
	case AMQP_RESPONSE_NORMAL:
		snprintf(err, errlen, "AMQP %s: unexpected success", what);
		break;
	case AMQP_RESPONSE_NONE:
		snprintf(err, errlen, "AMQP %s: no reply", what);
		break;
	case AMQP_RESPONSE_LIBRARY_EXCEPTION:
		snprintf(err, errlen, "AMQP %s: %s", what,
		    lib->amqp_error_string2(r.library_error));
		break;
	case AMQP_RESPONSE_SERVER_EXCEPTION:
		if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
			amqp_connection_close_t *m = r.reply.decoded;

			copy_text(text, sizeof(text), m->reply_text.bytes,
			    m->reply_text.len);
			snprintf(err, errlen, "AMQP %s: connection closed by "
			    "the broker: %u %s", what, m->reply_code, text);
		} else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
			amqp_channel_close_t *m = r.reply.decoded;

			copy_text(text, sizeof(text), m->reply_text.bytes,
			    m->reply_text.len);
			snprintf(err, errlen, "AMQP %s: channel closed by the "
			    "broker: %u %s", what, m->reply_code, text);
		} else
			snprintf(err, errlen, "AMQP %s: unexpected method "
			    "0x%08x", what, (unsigned)r.reply.id);
		break;
	}
}

static void
conn_close(struct canary *c)
{
	if (c->conn == NULL)
		return;
	c->lib->amqp_destroy_connection(c->conn);
	c->conn = NULL;
}

/* A polite close when stopping: the broker then logs no abrupt close. */
static void
conn_close_gracefully(struct canary *c)
{
	const struct rmq_dl	*lib = c->lib;
	struct timeval		 tv = { 1, 0 };

	if (c->conn == NULL)
		return;
	lib->amqp_set_rpc_timeout(c->conn, &tv);
	lib->amqp_channel_close(c->conn, CANARY_CHANNEL, AMQP_REPLY_SUCCESS);
	lib->amqp_connection_close(c->conn, AMQP_REPLY_SUCCESS);
	conn_close(c);
}

static int
conn_open(struct canary *c, int64_t deadline, char *err, size_t errlen)
{
	const struct rmq_dl	*lib = c->lib;
	amqp_socket_t		*sock;
	amqp_rpc_reply_t	 r;
	struct timeval		 tv;
	int			 st;

	c->conn = lib->amqp_new_connection();
	if ((sock = lib->amqp_tcp_socket_new(c->conn)) == NULL) {
		snprintf(err, errlen, "AMQP: cannot create a socket");
		goto fail;
	}
	if (!time_left(deadline, &tv))
		goto timeout;
	st = lib->amqp_socket_open_noblock(sock, c->host, c->port, &tv);
	if (st != AMQP_STATUS_OK) {
		snprintf(err, errlen, "AMQP connect to %s:%d: %s", c->host,
		    c->port, lib->amqp_error_string2(st));
		goto fail;
	}
	if (!time_left(deadline, &tv))
		goto timeout;
	lib->amqp_set_handshake_timeout(c->conn, &tv);
	lib->amqp_set_rpc_timeout(c->conn, &tv);
	r = lib->amqp_login(c->conn, c->vhost, 0, CANARY_FRAME_MAX, 0,
	    AMQP_SASL_METHOD_PLAIN, c->user, c->pass);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		reply_error(c, r, "login", err, errlen);
		goto fail;
	}
	if (!time_left(deadline, &tv))
		goto timeout;
	lib->amqp_set_rpc_timeout(c->conn, &tv);
	lib->amqp_channel_open(c->conn, CANARY_CHANNEL);
	if ((r = lib->amqp_get_rpc_reply(c->conn)).reply_type !=
	    AMQP_RESPONSE_NORMAL) {
		reply_error(c, r, "channel.open", err, errlen);
		goto fail;
	}
	if (!time_left(deadline, &tv))
		goto timeout;
	lib->amqp_set_rpc_timeout(c->conn, &tv);
	lib->amqp_queue_declare(c->conn, CANARY_CHANNEL,
	    lib->amqp_cstring_bytes(c->queue), 0, 0, 1, 1, CANARY_NO_TABLE);
	if ((r = lib->amqp_get_rpc_reply(c->conn)).reply_type !=
	    AMQP_RESPONSE_NORMAL) {
		reply_error(c, r, "queue.declare", err, errlen);
		goto fail;
	}
	if (!time_left(deadline, &tv))
		goto timeout;
	lib->amqp_set_rpc_timeout(c->conn, &tv);
	lib->amqp_basic_consume(c->conn, CANARY_CHANNEL,
	    lib->amqp_cstring_bytes(c->queue), CANARY_NO_BYTES, 0, 1, 1,
	    CANARY_NO_TABLE);
	if ((r = lib->amqp_get_rpc_reply(c->conn)).reply_type !=
	    AMQP_RESPONSE_NORMAL) {
		reply_error(c, r, "basic.consume", err, errlen);
		goto fail;
	}
	return 0;
timeout:
	snprintf(err, errlen, "AMQP: timeout while connecting");
fail:
	conn_close(c);
	return -1;
}

/*
 * A frame other than a delivery arrived while waiting for one: a close
 * from the broker is an error (with its reason); anything else is skipped.
 */
static int
other_frame(struct canary *c, int64_t deadline, char *err, size_t errlen)
{
	const struct rmq_dl	*lib = c->lib;
	amqp_frame_t		 f;
	struct timeval		 tv;
	int			 st;
	char			 text[160];

	if (!time_left(deadline, &tv))
		return 0;
	st = lib->amqp_simple_wait_frame_noblock(c->conn, &f, &tv);
	if (st == AMQP_STATUS_TIMEOUT)
		return 0;
	if (st != AMQP_STATUS_OK) {
		snprintf(err, errlen, "AMQP: %s",
		    lib->amqp_error_string2(st));
		return -1;
	}
	if (f.frame_type != AMQP_FRAME_METHOD)
		return 0;
	if (f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
		amqp_connection_close_t *m = f.payload.method.decoded;

		copy_text(text, sizeof(text), m->reply_text.bytes,
		    m->reply_text.len);
		snprintf(err, errlen, "AMQP: connection closed by the broker: "
		    "%u %s", m->reply_code, text);
		return -1;
	}
	if (f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD) {
		amqp_channel_close_t *m = f.payload.method.decoded;

		copy_text(text, sizeof(text), m->reply_text.bytes,
		    m->reply_text.len);
		snprintf(err, errlen, "AMQP: channel closed by the broker: "
		    "%u %s", m->reply_code, text);
		return -1;
	}
	return 0;
}

/* Publish one message and wait for it.  Returns 0 and the round trip in
 * seconds; -1 with a message, and *conn_lost when the connection itself
 * failed (not a timeout). */
static int
round_trip(struct canary *c, int64_t deadline, int64_t timeout_ms,
    double *rtt, int *conn_lost, char *err, size_t errlen)
{
	const struct rmq_dl	*lib = c->lib;
	amqp_basic_properties_t	 props;
	amqp_envelope_t		 env;
	amqp_rpc_reply_t	 r;
	struct timeval		 tv;
	struct timespec		 now;
	char			 body[96];
	int64_t			 t0;
	size_t			 blen;
	int			 st, mine;

	*conn_lost = 0;
	clock_gettime(CLOCK_REALTIME, &now);
	c->seq++;
	t0 = monotime_us();
	blen = (size_t)snprintf(body, sizeof(body),
	    "monitord canary %p %" PRIu64 " %" PRId64, (void *)c, c->seq, t0);
	memset(&props, 0, sizeof(props));
	props._flags = AMQP_BASIC_TIMESTAMP_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
	props.timestamp = (uint64_t)now.tv_sec;
	props.delivery_mode = 1;	/* transient */
	st = lib->amqp_basic_publish(c->conn, CANARY_CHANNEL, CANARY_NO_BYTES,
	    lib->amqp_cstring_bytes(c->queue), 0, 0, &props,
	    (amqp_bytes_t){ blen, body });
	if (st != AMQP_STATUS_OK) {
		snprintf(err, errlen, "AMQP publish: %s",
		    lib->amqp_error_string2(st));
		*conn_lost = 1;
		return -1;
	}
	for (;;) {
		lib->amqp_maybe_release_buffers(c->conn);
		if (!time_left(deadline, &tv)) {
			snprintf(err, errlen, "AMQP: the canary message did not "
			    "come back within %.3gs", (double)timeout_ms / 1000);
			return -1;
		}
		r = lib->amqp_consume_message(c->conn, &env, &tv, 0);
		if (r.reply_type == AMQP_RESPONSE_NORMAL) {
			/* An earlier, abandoned message is skipped. */
			mine = env.message.body.len == blen &&
			    memcmp(env.message.body.bytes, body, blen) == 0;
			lib->amqp_destroy_envelope(&env);
			if (mine) {
				*rtt = (double)(monotime_us() - t0) / 1e6;
				return 0;
			}
			continue;
		}
		if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
		    r.library_error == AMQP_STATUS_TIMEOUT)
			continue;	/* the deadline check says it */
		if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
		    r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
			if (other_frame(c, deadline, err, errlen) == -1) {
				*conn_lost = 1;
				return -1;
			}
			continue;
		}
		reply_error(c, r, "consume", err, errlen);
		*conn_lost = 1;
		return -1;
	}
}

static void
canary_once(struct canary *c, int64_t timeout_ms, struct canary_result *res)
{
	int64_t	deadline = monotime_us() + timeout_ms * 1000;
	int	reused, lost;

	memset(res, 0, sizeof(*res));
	reused = c->conn != NULL;
	if (!reused && conn_open(c, deadline, res->err, sizeof(res->err)) == -1)
		return;
	if (round_trip(c, deadline, timeout_ms, &res->rtt, &lost, res->err,
	    sizeof(res->err)) == 0) {
		res->ok = 1;
		return;
	}
	conn_close(c);
	if (!reused || !lost)
		return;
	if (conn_open(c, deadline, res->err, sizeof(res->err)) == -1)
		return;
	if (round_trip(c, deadline, timeout_ms, &res->rtt, &lost, res->err,
	    sizeof(res->err)) == 0)
		res->ok = 1;
	else
		conn_close(c);
}

/* What canary_new copied or loaded; the connection is closed already. */
static void
canary_release(struct canary *c)
{
	rmq_dl_free(c->lib);
	explicit_bzero(c->pass, strlen(c->pass));
	free(c->host);
	free(c->vhost);
	free(c->user);
	free(c->pass);
	free(c->queue);
}

static void *
canary_main(void *arg)
{
	struct canary		*c = arg;
	struct canary_result	 res;
	sigset_t		 all;
	uint64_t		 n;
	int64_t			 timeout;
	ssize_t			 w;
	int			 stop;

	/* Signals are the loop thread's business. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->stop && c->requested == c->finished)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->stop)
			break;
		n = c->requested;
		timeout = c->timeout_ms;
		pthread_mutex_unlock(&c->mu);

		canary_once(c, timeout, &res);

		pthread_mutex_lock(&c->mu);
		c->result = res;
		c->finished = n;
		stop = c->stop;
		pthread_mutex_unlock(&c->mu);
		/* Once stopped nobody reads the pipe (and a detached worker's
		 * reader is closed). */
		if (!stop) {
			do
				w = write(c->wfd, "", 1);
			while (w == -1 && errno == EINTR);
			/* EAGAIN: the pipe is full of wake-ups; one is
			 * enough. */
		}
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	conn_close_gracefully(c);
	if (c->detached) {
		/* Set before stop by canary_free, which is gone. */
		close(c->wfd);
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->cv);
		canary_release(c);
		free(c);
	}
	return NULL;
}

/* Loop thread: a result is ready. */
static void
canary_wake(evutil_socket_t fd, short what, void *arg)
{
	struct canary		*c = arg;
	struct canary_result	 res;
	char			 drain[64];
	uint64_t		 fin;
	canary_cb		 cb;

	while (read(fd, drain, sizeof(drain)) > 0)
		;
	pthread_mutex_lock(&c->mu);
	fin = c->finished;
	res = c->result;
	pthread_mutex_unlock(&c->mu);
	if (c->wanted == 0 || fin != c->wanted)
		return;
	cb = c->cb;
	c->wanted = 0;
	c->cb = NULL;
	cb(&res, c->cb_arg);
}

struct canary *
canary_new(struct event_base *base, const struct canary_opts *o, char *err,
    size_t errlen)
{
	struct canary	*c = xcalloc(1, sizeof(*c));
	int		 fds[2], e;

	if ((c->lib = rmq_dl_new(err, errlen)) == NULL) {
		free(c);
		return NULL;
	}
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) == -1) {
		snprintf(err, errlen, "canary: pipe: %s", strerror(errno));
		rmq_dl_free(c->lib);
		free(c);
		return NULL;
	}
	c->rfd = fds[0];
	c->wfd = fds[1];
	c->host = xstrdup(o->host);
	c->port = o->port;
	c->vhost = xstrdup(o->vhost);
	c->user = xstrdup(o->user);
	c->pass = xstrdup(o->pass);
	c->queue = xstrdup(o->queue);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->ev = event_new(base, c->rfd, EV_READ | EV_PERSIST, canary_wake, c);
	event_add(c->ev, NULL);
	if ((e = pthread_create(&c->thread, NULL, canary_main, c)) != 0) {
		snprintf(err, errlen, "canary: cannot start a thread: %s",
		    strerror(e));
		event_free(c->ev);
		close(c->rfd);
		close(c->wfd);
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->cv);
		canary_release(c);
		free(c);
		return NULL;
	}
	return c;
}

int
canary_busy(const struct canary *c)
{
	int busy;

	pthread_mutex_lock((pthread_mutex_t *)(uintptr_t)&c->mu);
	busy = c->requested != c->finished;
	pthread_mutex_unlock((pthread_mutex_t *)(uintptr_t)&c->mu);
	return busy;
}

void
canary_start(struct canary *c, int64_t timeout_ms, canary_cb cb, void *arg)
{
	pthread_mutex_lock(&c->mu);
	c->requested++;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
	c->wanted = c->requested;
	c->cb = cb;
	c->cb_arg = arg;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

void
canary_abandon(struct canary *c)
{
	c->wanted = 0;
	c->cb = NULL;
	c->cb_arg = NULL;
}

void
canary_free(struct canary *c)
{
	pthread_t	thread;
	int		busy, rfd;

	if (c == NULL)
		return;
	event_free(c->ev);
	/* A busy worker may free c as soon as the mutex is released. */
	rfd = c->rfd;
	thread = c->thread;
	pthread_mutex_lock(&c->mu);
	busy = c->requested != c->finished;
	c->detached = busy;
	c->stop = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (busy) {
		/* Within its own timeout the worker ends and frees c; having
		 * seen stop, it writes nothing to the pipe. */
		close(rfd);
		pthread_detach(thread);
		return;
	}
	/* Idle, or about to see stop: it ends now. */
	pthread_join(c->thread, NULL);
	close(c->rfd);
	close(c->wfd);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	canary_release(c);
	free(c);
}
