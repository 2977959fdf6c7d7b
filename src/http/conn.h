/*
 * conn: the HTTP/1.1 connections of the server, internal to src/http.
 * Accepts on a listening socket, receives requests (framed by wire.h),
 * hands each complete one to the server, writes its answer, and keeps the
 * connection for the next request or closes it.
 *
 * It is built for the common case of a client that connects, sends one
 * small request and waits: the request is read right after the accept and
 * the answer written as soon as the handler gives it, without a pass of
 * the event loop in between, so that a small query costs the daemon
 * accept, recv, send and close and nothing more.
 *
 * Rules it keeps:
 * - One request at a time per connection: bytes pipelined behind a request
 *   wait, unread past what one read brought, until its answer is written.
 * - request_timeout bounds receiving a whole request, the idleness of a
 *   kept-alive connection, and each wait for a slow reader to take more of
 *   an answer.
 * - Connections past max_connections are still accepted, and marked: the
 *   server answers their first request 503 and closes them.
 * - A framing error (malformed request, head or body over a limit) is
 *   answered and the connection closed; the close waits for the client's
 *   own (at most 2 s) so that the answer is not lost to a reset while the
 *   client is still sending.
 *
 * Threading: everything runs on the event_base's thread.
 */
#ifndef MONITORD_HTTP_CONN_H
#define MONITORD_HTTP_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "http/wire.h"

struct buf;
struct event_base;
struct conn;
struct conns;

struct conns_opts {
	unsigned		 max_connections;
	unsigned		 timeout_ms;
	struct wire_limits	 limits;
};

/*
 * What the server is told.  request: a complete request, MSG to keep; the
 * server calls conn_hold if it answers later than during this call.
 * failed: a framing error, CODE and MSG to answer with conn_send (MSG is
 * the head so far, complete when head_done).  gone: the connection of a
 * held request closed; the request must not use it again.
 */
struct conns_cbs {
	void	(*request)(void *arg, struct conn *, struct wire_msg *msg);
	void	(*failed)(void *arg, struct conn *, int code, const char *err,
		    const struct wire_msg *msg, int head_done);
	void	(*gone)(void *arg, void *req);
};

/* Serve on the listening socket FD (taken: closed by conns_free). */
struct conns	*conns_new(struct event_base *, int fd,
		    const struct conns_opts *, const struct conns_cbs *,
		    void *arg);
/* Closes every connection (gone for each held request) and the socket. */
void		 conns_free(struct conns *);
uint64_t	 conns_open(const struct conns *);	/* now */
uint64_t	 conns_rejected(const struct conns *);	/* ever */

/* REQ is answered later: until then, gone tells if the client left. */
void		 conn_hold(struct conn *, void *req);
/* Past max_connections: answer 503 and close. */
int		 conn_rejected(const struct conn *);
/* "127.0.0.1:50312", "[::1]:50312". */
const char	*conn_peer(struct conn *);

/*
 * Answer the current request: HEAD (status line and fields, taken: the
 * buffer is left empty) and then LEN bytes of BODY (taken and freed with
 * free() when OWNED, else copied if it cannot be sent at once).  CLOSE:
 * the connection closes after it.  C may be gone when this returns.
 */
void		 conn_send(struct conn *, struct buf *head, char *body,
		    size_t len, int owned, int close);

#endif
