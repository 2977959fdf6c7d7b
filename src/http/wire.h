/*
 * wire: HTTP/1.1 request framing, internal to src/http.  Bytes from a
 * connection go in as they arrive; whole requests come out: method,
 * target, header fields and the body (chunked bodies joined), with the
 * limits a server exposed to anyone needs.  No sockets, no event loop, so
 * the fuzz target drives it exactly as the server does.
 *
 * The syntax is Debian's libhttp-parser's (the parser Node.js used for a
 * decade); this module keeps what it hands over in two buffers of its own,
 * enforces the limits and decides the errors.
 *
 * Use:
 *
 *	wire_init(&w, &limits);
 *	for (;;) {
 *		room = wire_room(&w, &n);	// recv into it, or elsewhere
 *		rc = wire_feed(&w, data, len, &used);
 *		...
 *	}
 *
 * wire_feed stops after a complete request (1) and reports how much of the
 * data it used; the rest belongs to the next request, fed after
 * wire_reset.  Errors (-1) leave code and err set; the connection then
 * answers code and closes, since the stream cannot be trusted past them.
 *
 * Memory: the head is bounded by max_header_bytes, the body by
 * max_body_bytes; a body buffer grows with the bytes that arrive, not with
 * what Content-Length announces.
 */
#ifndef MONITORD_HTTP_WIRE_H
#define MONITORD_HTTP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>

#include "buf.h"

struct wire_limits {
	size_t		 max_header_bytes;	/* request line and fields */
	unsigned	 max_headers;		/* header fields */
	size_t		 max_body_bytes;	/* as sent (after de-chunking) */
};

struct wire_field {
	uint32_t	 name, value;		/* offsets into head */
};

/* A request, complete or being received. */
struct wire_msg {
	/*
	 * The target and the fields, each NUL-terminated, one after the
	 * other: "/api/v1/query?x=1\0Host\0t\0Accept-Encoding\0gzip\0".
	 */
	struct buf		 head;
	struct wire_field	*fields;
	unsigned		 nfields, capfields;
	struct buf		 body;		/* NUL-terminated when complete */
	unsigned		 method;	/* enum http_method */
	unsigned		 minor;		/* HTTP/1.minor */
	int			 keepalive;	/* may serve another request */
};

struct wire {
	http_parser		 p;
	struct wire_limits	 lim;
	struct wire_msg		 m;
	size_t			 headbytes;	/* raw bytes of the head so far */
	int			 last;		/* callback before: LAST_* */
	int			 want_continue;	/* Expect: 100-continue */
	int			 state;		/* WIRE_* below */
	int			 head_done;	/* target and fields complete */
	int			 code;		/* on error: the HTTP status */
	char			 err[160];
};

/* Where a request stands. */
#define WIRE_START	0	/* nothing of it yet */
#define WIRE_HEAD	1	/* in the request line or the fields */
#define WIRE_BODY	2	/* head complete, body coming */
#define WIRE_DONE	3	/* complete: see wire_feed */
#define WIRE_FAILED	4

void	wire_init(struct wire *, const struct wire_limits *);
void	wire_free(struct wire *);

/*
 * Feed LEN bytes.  1: a request is complete (*used says how many bytes it
 * took) and waits in w->m for wire_take; 0: all used, more needed; -1:
 * error, see code and err (the head received so far stays in w->m).
 */
int	wire_feed(struct wire *, const char *data, size_t len, size_t *used);

/* Move the complete request to OUT and get ready for the next one. */
void	wire_take(struct wire *, struct wire_msg *out);
void	wire_msg_free(struct wire_msg *);

/*
 * Where the next bytes may be received so that they need no copy: inside
 * the body buffer, when the body is a Content-Length one, with *len at
 * most what remains of it.  NULL otherwise (head or chunked body: receive
 * anywhere and feed from there).
 */
char	*wire_room(struct wire *, size_t *len);

/* A header field (case-insensitive name), or NULL; the first of several. */
const char *wire_header(const struct wire_msg *, const char *name);
/* The request target as sent ("/x?y", "http://h/x", "*"). */
const char *wire_target(const struct wire_msg *);

#endif
