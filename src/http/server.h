/*
 * server: monitord's HTTP/1.1 server, with routing, request limits, gzip in
 * both directions and metrics about itself.  Connections are conn.h's,
 * request framing wire.h's; no other module sees either.
 *
 * Other modules register handlers with httpd_route and answer through the
 * httpd_reply* functions.
 *
 * Threading: everything runs on the thread of the event_base given to
 * httpd_new.  Handlers are called there and must not block.  Nothing here
 * is safe to call from another thread.
 *
 * Requests: a handler gets a struct httpd_req it does not own and finishes
 * it with exactly one httpd_reply* call, before returning or later on the
 * same loop (an asynchronous handler).  That call frees the request.  If the
 * connection has gone meanwhile, the reply is dropped quietly.  Strings the
 * accessors return live until the reply.
 *
 * Before a handler runs, the server has already answered on its own:
 * 404 (no route), 405 with Allow (route without that method), 400 (bad
 * percent-encoding in path, query or form), 413 (decompressed body too
 * large), 415 (unknown Content-Encoding), 503 (connection beyond
 * max_connections; the connection is then closed).  A request that cannot
 * be received whole is answered and its connection closed: 400 (malformed),
 * 414 (request line over max_header_bytes), 431 (request line and fields
 * over max_header_bytes, or more than max_headers fields), 413 (body over
 * max_body_bytes), 417 (an Expect other than 100-continue), 505 (not
 * HTTP/1.x).  All of these count in the request metrics, under the route
 * when the head was whole and under "unmatched" otherwise.  Error bodies
 * are JSON in the Prometheus API shape under /api/, plain text elsewhere.
 *
 * Connections: HTTP/1.1 keep-alive (HTTP/1.0 with Connection: keep-alive),
 * pipelined requests answered in order, chunked request bodies, and
 * Expect: 100-continue.
 *
 * HEAD is accepted wherever GET is, runs the GET handler, and sends its
 * headers with the body's Content-Length but no body.  Replies larger than
 * HTTPD_GZIP_MIN bytes are gzip-compressed when the request's
 * Accept-Encoding allows it.  Request bodies with Content-Encoding: gzip are
 * decompressed before the handler sees them.
 *
 * Lifetime: httpd_free closes every connection.  Requests still held by
 * asynchronous handlers must be answered before it is called.
 */
#ifndef MONITORD_HTTP_SERVER_H
#define MONITORD_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "metric.h"

struct buf;
struct event_base;
struct json_t;
struct httpd;
struct httpd_req;

/* Method flags for httpd_route and httpd_method. */
#define HTTPD_GET	0x01
#define HTTPD_HEAD	0x02	/* implied by HTTPD_GET */
#define HTTPD_POST	0x04
#define HTTPD_PUT	0x08
#define HTTPD_DELETE	0x10
#define HTTPD_OPTIONS	0x20
#define HTTPD_PATCH	0x40
/*
 * Not a method: the route's POST bodies are data, never form parameters,
 * whatever their Content-Type (curl and most HTTP libraries label any
 * body application/x-www-form-urlencoded by default, and decoding a bulk
 * import as parameters would cost time and a copy of it).
 */
#define HTTPD_RAW_BODY	0x100

#define HTTPD_GZIP_MIN	1024	/* smaller bodies are not worth compressing */

#define HTTPD_JSON	"application/json"
#define HTTPD_TEXT	"text/plain; charset=utf-8"

/* Zero in any field picks the default shown. */
struct httpd_opts {
	const char	*listen;		/* "127.0.0.1:9330", "[::1]:0",
						   "0.0.0.0:9330"; port 0 =
						   any free port */
	unsigned	 max_connections;	/* 512 */
	unsigned	 request_timeout_ms;	/* 30000: to receive a whole
						   request, and of idleness */
	size_t		 max_body_bytes;	/* 32 MiB, as sent */
	size_t		 max_decoded_body_bytes;/* 4 x max_body_bytes, after
						   gunzip */
	size_t		 max_header_bytes;	/* 64 KiB: request line and
						   header fields together */
	unsigned	 max_headers;		/* 100 header fields */
};

typedef void (*httpd_handler)(struct httpd_req *, void *arg);

/*
 * Listen on opts->listen and serve on BASE.  Raises the open-file limit
 * (httpd_raise_nofile) and refuses a max_connections the limit cannot hold.
 * NULL with a message in err ("cannot listen on 127.0.0.1:9330: Address
 * already in use") on failure.
 */
struct httpd	*httpd_new(struct event_base *, const struct httpd_opts *,
		    char *err, size_t errlen);
void		 httpd_free(struct httpd *);
/* The bound port (the one the kernel chose for port 0). */
int		 httpd_port(const struct httpd *);

/*
 * Route PATH to FN for METHODS.  A path ending in '*' or in '/' (other than
 * "/" itself) is a prefix route: "/api/v1/label/" followed by '*' takes
 * /api/v1/label/job/values.  Any other path must match exactly.  An
 * exact route beats a prefix route, a longer prefix a shorter one.  The
 * pattern is the handler label of the request metrics.  -1 if PATH does not
 * start with '/' or is already routed.
 */
int		 httpd_route(struct httpd *, const char *path, unsigned methods,
		    httpd_handler fn, void *arg);

/* monitord_http_* metrics, exposition text appended to the buffer. */
void		 httpd_write_metrics(struct httpd *, struct buf *);
/* Their catalogue (NULL-name-ended), for docs and expo_write_batch. */
extern const struct metric_def httpd_metrics[];

/* Raise the soft RLIMIT_NOFILE to the hard one; returns the new soft one. */
long		 httpd_raise_nofile(void);

/* The request. */
unsigned	 httpd_method(const struct httpd_req *);	/* HTTPD_* */
const char	*httpd_method_name(const struct httpd_req *);	/* "GET" */
const char	*httpd_path(const struct httpd_req *);		/* decoded */
/* What a prefix route left of the path ("job/values"); "" for exact. */
const char	*httpd_path_rest(const struct httpd_req *);
/*
 * Parameters: those of a form-encoded body (POST, PUT, PATCH with
 * Content-Type application/x-www-form-urlencoded) first, then those of the
 * query string, as Prometheus merges them.  httpd_param gives the first
 * value of NAME or NULL; httpd_param_next walks every value of NAME:
 *
 *	size_t i = 0;
 *	while ((v = httpd_param_next(req, "match[]", &i)) != NULL) ...
 */
const char	*httpd_param(const struct httpd_req *, const char *name);
const char	*httpd_param_next(const struct httpd_req *, const char *name,
		    size_t *iter);
size_t		 httpd_nparams(const struct httpd_req *);
void		 httpd_param_at(const struct httpd_req *, size_t i,
		    const char **name, const char **value);
/* Body after any gzip decoding, NUL-terminated (len excludes the NUL). */
const char	*httpd_body(const struct httpd_req *, size_t *len);
/*
 * The same bytes a piece at a time: *pos starts at 0; NULL after the last
 * piece.  Pieces end anywhere, inside a line too, and are not
 * NUL-terminated.  Valid as httpd_body's.  (The server receives a body
 * into one buffer, so today there is one piece.)
 */
const char	*httpd_body_next(const struct httpd_req *, size_t *pos,
		    size_t *len);
/* The handler is done with the body: its memory goes now, not with the
 * request (a large import's, before the reply that waits for the disk). */
void		 httpd_body_release(struct httpd_req *);
/* A request header (case-insensitive name) or NULL. */
const char	*httpd_header(const struct httpd_req *, const char *name);
/* The client's address, "127.0.0.1:50312" or "[::1]:50312". */
const char	*httpd_peer(const struct httpd_req *);

/*
 * Compressing a large reply off the event loop: httpd_gzip_wanted (on the
 * loop, before handing the work out) says whether this request's reply
 * would be gzip-compressed; httpd_gzip (any thread, touches only the
 * buffer) compresses B in place as the server would and returns 1, or
 * returns 0 and leaves B alone when it is too small to be worth it.  A
 * reply whose body went through httpd_gzip must be sent with
 * httpd_reply_gzipped.
 */
int		 httpd_gzip_wanted(const struct httpd_req *);
int		 httpd_gzip(struct buf *b);

/* Add a response header; -1 if it holds CR or LF (nothing added). */
int		 httpd_add_header(struct httpd_req *, const char *name,
		    const char *value);

/*
 * Replies; each ends the request.  CTYPE may be NULL (no Content-Type).
 * httpd_reply copies BODY.  httpd_reply_buf takes the buffer's contents
 * (the buffer is left empty).  httpd_reply_json takes the reference to
 * JSON (NULL answers 500) and writes it compact.  httpd_reply_error sends
 * MSG as {"status":"error","errorType":...,"error":MSG} under /api/ and as
 * text elsewhere; errorType follows from the code as in Prometheus
 * (404 not_found, 422 execution, other 4xx bad_data, 503 unavailable,
 * 504 timeout, other 5xx internal).
 */
void		 httpd_reply(struct httpd_req *, int code, const char *ctype,
		    const void *body, size_t len);
void		 httpd_reply_buf(struct httpd_req *, int code,
		    const char *ctype, struct buf *);
void		 httpd_reply_json(struct httpd_req *, int code,
		    struct json_t *);
void		 httpd_reply_error(struct httpd_req *, int code,
		    const char *msg);
/* httpd_reply_buf for a body that httpd_gzip compressed. */
void		 httpd_reply_gzipped(struct httpd_req *, int code,
		    const char *ctype, struct buf *);

#endif
