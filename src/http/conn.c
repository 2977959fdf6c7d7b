/*
 * conn: HTTP/1.1 connections (see conn.h).
 *
 * A connection is in one of four phases:
 *
 *	reading   receiving a request; read event on when the socket is dry
 *	held      the server has the request; no event, no timer
 *	writing   the answer did not fit in the socket; write event on
 *	lingering after an error answer: discarding input until the
 *		  client closes, or the timer ends it
 *
 * The timer runs in every phase but held.  Callbacks that may close the
 * connection run with busy set, and a close then only marks it dead: its
 * memory goes when the outermost callback returns.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "buf.h"
#include "http/conn.h"
#include "http/wire.h"
#include "xmalloc.h"

#define READ_SIZE	16384	/* receive at least this much at a time */
#define LINGER_MS	2000	/* waiting for the client's close */
#define ACCEPT_PAUSE_MS	100	/* out of file descriptors */

enum phase { READING, HELD, WRITING, LINGERING };

struct conn {
	struct conns		*cs;
	int			 fd;
	enum phase		 phase;
	struct event		 rev, wev, timer;
	int			 rev_on, wev_on;
	struct wire		 w;
	struct buf		 in;		/* received, not yet fed */
	size_t			 inoff;
	void			*req;		/* held by the server */
	struct buf		 out;		/* head, and a copied body */
	size_t			 outoff;
	char			*body;
	size_t			 bodylen, bodyoff;
	int			 owned;		/* body is ours to free */
	int			 close_after, linger;
	int			 rejected;
	int			 busy, dead;
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
	char			 peer[INET6_ADDRSTRLEN + 16];
	LIST_ENTRY(conn)	 entry;
};

struct conns {
	struct event_base	*base;
	int			 fd;
	struct event		 lev, resume;
	struct conns_opts	 opts;
	struct conns_cbs	 cbs;
	void			*arg;
	struct timeval		 timeout, linger;
	LIST_HEAD(, conn)	 all;
	uint64_t		 n, rejected;
};

static void	conn_read(struct conn *);
static void	on_read(evutil_socket_t, short, void *);
static void	on_write(evutil_socket_t, short, void *);
static void	on_timer(evutil_socket_t, short, void *);

/* Add or drop EV, whose state *ON tracks. */
static void
set_event(struct event *ev, int *on, int want)
{
	if (want && !*on)
		event_add(ev, NULL);
	else if (!want && *on)
		event_del(ev);
	*on = want;
}

static void
set_read(struct conn *c, int on)
{
	set_event(&c->rev, &c->rev_on, on);
}

static void
set_write(struct conn *c, int on)
{
	set_event(&c->wev, &c->wev_on, on);
}

static void
conn_free(struct conn *c)
{
	wire_free(&c->w);
	buf_free(&c->in);
	buf_free(&c->out);
	if (c->owned)
		free(c->body);
	free(c);
}

static void
conn_close(struct conn *c)
{
	struct conns *cs = c->cs;

	if (c->fd == -1)
		return;
	if (c->req != NULL) {
		void *req = c->req;

		c->req = NULL;
		cs->cbs.gone(cs->arg, req);
	}
	/* Not only pending events: one made active (conn_done) goes too. */
	event_del(&c->rev);
	event_del(&c->wev);
	evtimer_del(&c->timer);
	c->rev_on = c->wev_on = 0;
	close(c->fd);
	c->fd = -1;
	cs->n--;
	LIST_REMOVE(c, entry);
	if (c->busy)
		c->dead = 1;
	else
		conn_free(c);
}

/* Entering and leaving a callback of C. */
static void
enter(struct conn *c)
{
	c->busy++;
}

static void
leave(struct conn *c)
{
	if (--c->busy == 0 && c->dead)
		conn_free(c);
}

static void
arm(struct conn *c, const struct timeval *tv)
{
	evtimer_add(&c->timer, tv);
}

/* The answer is out: close, or wait for the next request. */
static void
conn_done(struct conn *c)
{
	buf_free(&c->out);
	c->outoff = 0;
	if (c->owned)
		free(c->body);
	c->body = NULL;
	c->owned = 0;
	c->bodylen = c->bodyoff = 0;
	if (c->inoff == c->in.len) {
		buf_free(&c->in);
		c->inoff = 0;
	}
	set_write(c, 0);
	if (c->close_after && c->linger) {
		/* Let the client read the answer before it sees a reset. */
		shutdown(c->fd, SHUT_WR);
		c->phase = LINGERING;
		arm(c, &c->cs->linger);
		set_read(c, 1);
		return;
	}
	if (c->close_after) {
		conn_close(c);
		return;
	}
	c->phase = READING;
	arm(c, &c->cs->timeout);
	if (c->inoff < c->in.len)	/* pipelined: next loop pass */
		event_active(&c->rev, EV_READ, 0);
	else
		set_read(c, 1);
}

/* Write what is pending; 0 when all is out, -1 if the connection closed. */
static int
flush(struct conn *c)
{
	struct iovec	iov[2];
	struct msghdr	mh;
	ssize_t		n;
	size_t		k;

	for (;;) {
		int niov = 0;

		if (c->outoff < c->out.len) {
			iov[niov].iov_base = c->out.data + c->outoff;
			iov[niov++].iov_len = c->out.len - c->outoff;
		}
		if (c->bodyoff < c->bodylen) {
			iov[niov].iov_base = c->body + c->bodyoff;
			iov[niov++].iov_len = c->bodylen - c->bodyoff;
		}
		if (niov == 0)
			return 0;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)niov;
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			conn_close(c);
			return -1;
		}
		k = (size_t)n;
		if (k > 0 && c->outoff < c->out.len) {
			size_t m = c->out.len - c->outoff;

			if (m > k)
				m = k;
			c->outoff += m;
			k -= m;
		}
		c->bodyoff += k;
	}
}

void
conn_send(struct conn *c, struct buf *head, char *body, size_t len,
    int owned, int close_after)
{
	c->req = NULL;
	c->close_after = close_after;
	c->out = *head;
	c->outoff = 0;
	memset(head, 0, sizeof(*head));
	c->body = body;
	c->bodylen = len;
	c->bodyoff = 0;
	c->owned = owned;
	enter(c);
	switch (flush(c)) {
	case 0:
		conn_done(c);
		break;
	case 1:
		/* The socket is full: keep what is left of the body. */
		if (!owned) {
			size_t left = c->bodylen - c->bodyoff;

			c->body = NULL;
			if (left > 0) {
				c->body = xmalloc(left);
				memcpy(c->body, body + c->bodyoff, left);
			}
			c->bodylen = left;
			c->bodyoff = 0;
			c->owned = 1;
		}
		c->phase = WRITING;
		arm(c, &c->cs->timeout);
		set_write(c, 1);
		break;
	}
	leave(c);
}

static void
on_write(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	size_t		 before = c->outoff + c->bodyoff;
	int		 rc;

	enter(c);
	rc = flush(c);
	if (rc == 0)
		conn_done(c);
	else if (rc == 1 && c->outoff + c->bodyoff != before)
		arm(c, &c->cs->timeout);	/* it is reading: more time */
	leave(c);
}

/* The whole request is in: the server has it now. */
static void
dispatch(struct conn *c)
{
	struct conns	*cs = c->cs;
	struct wire_msg	 m;

	wire_take(&c->w, &m);
	set_read(c, 0);
	evtimer_del(&c->timer);
	c->phase = HELD;
	cs->cbs.request(cs->arg, c, &m);
}

static void
failed(struct conn *c)
{
	struct conns *cs = c->cs;

	set_read(c, 0);
	evtimer_del(&c->timer);
	c->phase = HELD;
	c->linger = 1;
	cs->cbs.failed(cs->arg, c, c->w.code, c->w.err, &c->w.m,
	    c->w.head_done);
}

/* A client that sent Expect: 100-continue may now send its body. */
static void
send_continue(struct conn *c)
{
	static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";

	c->w.want_continue = 0;
	/* An interim answer; if the socket cannot take it, the client sends
	 * its body anyway after its own wait. */
	(void)send(c->fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Feed what is buffered; 1 if that ended the reading phase. */
static int
feed_buffered(struct conn *c)
{
	size_t	used;
	int	rc;

	if (c->inoff >= c->in.len)
		return 0;
	rc = wire_feed(&c->w, c->in.data + c->inoff, c->in.len - c->inoff,
	    &used);
	c->inoff += used;
	if (c->inoff == c->in.len) {
		buf_free(&c->in);
		c->inoff = 0;
	}
	if (rc == 1) {
		dispatch(c);
		return 1;
	}
	if (rc == -1) {
		failed(c);
		return 1;
	}
	if (c->w.want_continue)
		send_continue(c);
	return 0;
}

static void
linger_read(struct conn *c)
{
	char	tmp[16384];
	ssize_t	n;

	for (;;) {
		n = recv(c->fd, tmp, sizeof(tmp), 0);
		if (n > 0)
			continue;
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		conn_close(c);
		return;
	}
}

/*
 * Receive and feed until a request is whole or the socket is dry.  Bytes
 * go straight into a Content-Length body's buffer, or else through the
 * stack: only what the parser leaves (the next pipelined request) is kept.
 */
static void
conn_read(struct conn *c)
{
	char	 tmp[READ_SIZE], *room;
	size_t	 n, used;
	ssize_t	 got;
	int	 rc;

	if (c->phase == LINGERING) {
		linger_read(c);
		return;
	}
	if (c->phase != READING || feed_buffered(c))
		return;
	for (;;) {
		if ((room = wire_room(&c->w, &n)) == NULL) {
			room = tmp;
			n = sizeof(tmp);
		}
		got = recv(c->fd, room, n, 0);
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			set_read(c, 1);
			return;
		}
		if (got <= 0) {
			conn_close(c);
			return;
		}
		rc = wire_feed(&c->w, room, (size_t)got, &used);
		if (used < (size_t)got)		/* the next request's */
			buf_add(&c->in, room + used, (size_t)got - used);
		if (rc == 1) {
			dispatch(c);
			return;
		}
		if (rc == -1) {
			failed(c);
			return;
		}
		if (c->w.want_continue)
			send_continue(c);
		/* Less than asked for: the socket is most likely dry. */
		if ((size_t)got < n) {
			set_read(c, 1);
			return;
		}
	}
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	enter(c);
	conn_read(c);
	leave(c);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	/* Not armed while the server holds a request (dispatch, failed). */
	enter(c);
	conn_close(c);
	leave(c);
}

static void
on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct conns	*cs = arg;
	struct conn	*c;
	int		 fd, on = 1;

	c = xcalloc(1, sizeof(*c));
	c->salen = sizeof(c->sa);
	fd = accept4(lfd, (struct sockaddr *)&c->sa, &c->salen,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		free(c);
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			/* Try again shortly rather than spin on the backlog. */
			struct timeval tv = { 0, ACCEPT_PAUSE_MS * 1000 };

			event_del(&cs->lev);
			evtimer_add(&cs->resume, &tv);
		}
		return;
	}
	if (c->sa.ss_family == AF_INET || c->sa.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	c->cs = cs;
	c->fd = fd;
	c->phase = READING;
	wire_init(&c->w, &cs->opts.limits);
	event_assign(&c->rev, cs->base, fd, EV_READ | EV_PERSIST, on_read, c);
	event_assign(&c->wev, cs->base, fd, EV_WRITE | EV_PERSIST, on_write,
	    c);
	evtimer_assign(&c->timer, cs->base, on_timer, c);
	LIST_INSERT_HEAD(&cs->all, c, entry);
	if (++cs->n > cs->opts.max_connections) {
		c->rejected = 1;
		cs->rejected++;
	}
	arm(c, &cs->timeout);
	/* Most clients have sent their request by now. */
	enter(c);
	conn_read(c);
	leave(c);
}

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct conns *cs = arg;

	event_add(&cs->lev, NULL);
}

struct conns *
conns_new(struct event_base *base, int fd, const struct conns_opts *opts,
    const struct conns_cbs *cbs, void *arg)
{
	struct conns		*cs = xcalloc(1, sizeof(*cs));
	const struct timeval	*common;

	cs->base = base;
	cs->fd = fd;
	cs->opts = *opts;
	cs->cbs = *cbs;
	cs->arg = arg;
	cs->timeout.tv_sec = opts->timeout_ms / 1000;
	cs->timeout.tv_usec = (opts->timeout_ms % 1000) * 1000;
	cs->linger.tv_sec = LINGER_MS / 1000;
	cs->linger.tv_usec = (LINGER_MS % 1000) * 1000;
	if (opts->timeout_ms < LINGER_MS)
		cs->linger = cs->timeout;
	/* Timers that all share one duration: a queue, not a heap. */
	if ((common = event_base_init_common_timeout(base, &cs->timeout)) !=
	    NULL)
		cs->timeout = *common;
	LIST_INIT(&cs->all);
	event_assign(&cs->lev, base, fd, EV_READ | EV_PERSIST, on_accept, cs);
	evtimer_assign(&cs->resume, base, on_resume, cs);
	event_add(&cs->lev, NULL);
	return cs;
}

void
conns_free(struct conns *cs)
{
	struct conn *c;

	if (cs == NULL)
		return;
	while ((c = LIST_FIRST(&cs->all)) != NULL)
		conn_close(c);
	event_del(&cs->lev);
	evtimer_del(&cs->resume);
	close(cs->fd);
	free(cs);
}

uint64_t
conns_open(const struct conns *cs)
{
	return cs->n;
}

uint64_t
conns_rejected(const struct conns *cs)
{
	return cs->rejected;
}

void
conn_hold(struct conn *c, void *req)
{
	c->req = req;
}

int
conn_rejected(const struct conn *c)
{
	return c->rejected;
}

const char *
conn_peer(struct conn *c)
{
	char addr[INET6_ADDRSTRLEN];

	if (c->peer[0] != '\0')
		return c->peer;
	if (c->sa.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&c->sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof(addr));
		snprintf(c->peer, sizeof(c->peer), "[%s]:%u", addr,
		    ntohs(s6->sin6_port));
	} else if (c->sa.ss_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&c->sa;

		inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof(addr));
		snprintf(c->peer, sizeof(c->peer), "%s:%u", addr,
		    ntohs(s4->sin_port));
	} else
		snprintf(c->peer, sizeof(c->peer), "unknown");
	return c->peer;
}
