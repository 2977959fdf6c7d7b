/*
 * server: the HTTP front of monitord, a libevent 2.1 evhttp server that
 * routes requests to handlers other modules register, enforces the limits
 * an exposed daemon needs, and compresses replies.
 *
 * evhttp bounds header and body sizes and idle time by itself.  What 2.1
 * lacks is done here:
 *
 * - Connection accounting.  evhttp has no connection limit and tells about
 *   a connection only once a request is complete.  The bufferevent callback
 *   (evhttp_set_bevcb) sees every accepted connection; right after, an
 *   event queued from it "adopts" the connection: evhttp has by then made
 *   the bufferevent's callback argument its evhttp_connection, on which a
 *   close callback is set.  Connections past max_connections are marked and
 *   their first request is answered 503 with Connection: close.
 * - A deadline per connection for receiving a whole request, since evhttp's
 *   timeout only measures silence and a client sending a byte now and then
 *   would hold a connection forever.
 * - Routing with exact and prefix paths and 405 with Allow, parameters
 *   decoded once for the handler, gzip in both directions, request metrics.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <jansson.h>

#include "buf.h"
#include "http/gzip.h"
#include "http/params.h"
#include "http/server.h"
#include "http/stats.h"
#include "xmalloc.h"

#define DEF_MAX_CONNECTIONS	512
#define DEF_TIMEOUT_MS		30000
#define DEF_MAX_BODY		(32 * 1024 * 1024)
#define DEF_MAX_HEADER_BYTES	(64 * 1024)
#define DEF_MAX_HEADERS		100
#define NOFILE_RESERVE		64	/* fds for the store, collectors, ... */
/*
 * Answers are compressed on the event loop as they go out: level 1 packs
 * a query's JSON 4 to 5 times faster than level 6 for some 13 % more
 * bytes (a 6.5 MB range answer: 39 ms against 193 ms).
 */
#define GZIP_LEVEL		1
/*
 * Bytes a connection writes in one call.  libevent's default, 16 KiB,
 * splits a reply just over it (a small range query's 16.4 KB) into two
 * writes a loop pass apart, and the client waits for the second: some
 * 20 us more per request on loopback.
 */
#define MAX_SINGLE_WRITE	(1024 * 1024)

struct route {
	char			*pattern;	/* as registered: the label */
	char			*match;		/* path or prefix without '*' */
	size_t			 matchlen;
	int			 prefix;
	unsigned		 methods;
	httpd_handler		 fn;
	void			*arg;
	struct http_stats	 stats;
};

struct conn {
	struct httpd		*httpd;
	struct bufferevent	*bev;
	struct evhttp_connection *evcon;	/* NULL until adopted */
	evutil_socket_t		 fd;
	struct event		*deadline;
	struct httpd_req	*inflight;	/* with a handler */
	int			 rejected;	/* beyond max_connections */
	TAILQ_ENTRY(conn)	 entry;		/* on pending until adopted */
};

TAILQ_HEAD(conn_list, conn);

struct httpd {
	struct event_base	*base;
	struct evhttp		*http;
	int			 port;
	struct httpd_opts	 opts;		/* defaults filled in */
	struct timeval		 timeout;
	struct route		**routes;
	size_t			 nroutes;
	struct http_stats	 unmatched;
	struct conn_list	 pending;	/* accepted, not yet adopted */
	struct event		*adopt_ev;
	struct conn		**byfd;		/* adopted, by socket */
	size_t			 nbyfd;
	uint64_t		 nconns, inflight, rejected;
};

struct httpd_req {
	struct httpd		*httpd;
	struct evhttp_request	*evreq;
	struct conn		*conn;		/* NULL once it closed */
	struct route		*route;
	unsigned		 method;
	char			*path;
	const char		*rest;
	struct params		 params;
	const char		*body;		/* NULL: pieces, see below */
	size_t			 bodylen;
	struct buf		 decoded;
	/* A raw body (HTTPD_RAW_BODY, no Content-Encoding) stays in
	 * evhttp's buffer as it was read, in pieces, until httpd_body. */
	struct evbuffer		*in;
	struct evbuffer_iovec	*pieces;
	int			 npieces;
	struct timespec		 start;
	char			 peer[INET6_ADDRSTRLEN + 16];
};

static void	conn_arm(struct conn *);

long
httpd_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1 &&
		    getrlimit(RLIMIT_NOFILE, &rl) == -1)
			return -1;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)LONG_MAX)
		return LONG_MAX;
	return (long)rl.rlim_cur;
}

/* Split "host:port" or "[v6]:port"; host "" stands for 0.0.0.0. */
static int
parse_listen(const char *s, char *host, size_t hostlen, int *port, char *err,
    size_t errlen)
{
	const char	*colon, *h = s, *hend;
	char		*end;
	long		 p;

	if (s == NULL || *s == '\0') {
		snprintf(err, errlen, "empty listen address");
		return -1;
	}
	if (*s == '[') {
		if ((hend = strchr(s, ']')) == NULL || hend[1] != ':') {
			snprintf(err, errlen, "invalid listen address \"%s\": "
			    "expected [IPv6]:PORT", s);
			return -1;
		}
		h = s + 1;
		colon = hend + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL ||
		    memchr(s, ':', (size_t)(colon - s)) != NULL) {
			snprintf(err, errlen, "invalid listen address \"%s\": "
			    "expected HOST:PORT or [IPv6]:PORT", s);
			return -1;
		}
		hend = colon;
	}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 ||
	    p < 0 || p > 65535) {
		snprintf(err, errlen, "invalid port in listen address \"%s\"",
		    s);
		return -1;
	}
	if ((size_t)(hend - h) >= hostlen) {
		snprintf(err, errlen, "host name too long in listen address "
		    "\"%s\"", s);
		return -1;
	}
	if (hend == h)
		snprintf(host, hostlen, "0.0.0.0");
	else {
		memcpy(host, h, (size_t)(hend - h));
		host[hend - h] = '\0';
	}
	*port = (int)p;
	return 0;
}

/* A non-blocking listening socket on the first address that binds. */
static evutil_socket_t
listen_socket(const char *addr, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res, *ai;
	char		 host[256], portstr[8];
	evutil_socket_t	 fd = -1;
	int		 port, rc, on = 1, saved = 0;

	if (parse_listen(addr, host, sizeof(host), &port, err, errlen) == -1)
		return -1;
	snprintf(portstr, sizeof(portstr), "%d", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((rc = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", addr,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
			    sizeof(on));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 511) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		snprintf(err, errlen, "cannot listen on %s: %s", addr,
		    strerror(saved));
	return fd;
}

static double
elapsed(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) +
	    (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

/*
 * Connections.
 */

static void
conn_free(struct conn *c)
{
	struct httpd *h = c->httpd;

	if (c->inflight != NULL)
		c->inflight->conn = NULL;
	if (c->fd >= 0 && (size_t)c->fd < h->nbyfd && h->byfd[c->fd] == c)
		h->byfd[c->fd] = NULL;
	if (c->deadline != NULL)
		event_free(c->deadline);
	h->nconns--;
	free(c);
}

static void
conn_closed(struct evhttp_connection *evcon, void *arg)
{
	conn_free(arg);
}

/* The whole request did not arrive in time: drop the connection. */
static void
conn_expired(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	if (c->inflight == NULL)
		evhttp_connection_free(c->evcon);	/* calls conn_closed */
}

static void
conn_arm(struct conn *c)
{
	event_add(c->deadline, &c->httpd->timeout);
}

/* Runs in the same loop pass as the accept, before any read. */
static void
conn_adopt(evutil_socket_t unused, short what, void *arg)
{
	struct httpd			*h = arg;
	struct conn			*c;
	struct evhttp_connection	*evcon;
	void				*cbarg = NULL;

	while ((c = TAILQ_FIRST(&h->pending)) != NULL) {
		TAILQ_REMOVE(&h->pending, c, entry);
		bufferevent_getcb(c->bev, NULL, NULL, NULL, &cbarg);
		evcon = cbarg;
		c->fd = bufferevent_getfd(c->bev);
		if (evcon == NULL || c->fd < 0 ||
		    evhttp_connection_get_bufferevent(evcon) != c->bev) {
			c->fd = -1;
			conn_free(c);
			continue;
		}
		c->evcon = evcon;
		if ((size_t)c->fd >= h->nbyfd) {
			size_t n = h->nbyfd ? h->nbyfd : 64;

			while (n <= (size_t)c->fd)
				n *= 2;
			h->byfd = xreallocarray(h->byfd, n, sizeof(*h->byfd));
			memset(h->byfd + h->nbyfd, 0,
			    (n - h->nbyfd) * sizeof(*h->byfd));
			h->nbyfd = n;
		}
		/* A socket number in use again means a close we missed. */
		if (h->byfd[c->fd] != NULL)
			conn_free(h->byfd[c->fd]);
		h->byfd[c->fd] = c;
		c->deadline = evtimer_new(h->base, conn_expired, c);
		evhttp_connection_set_closecb(evcon, conn_closed, c);
		conn_arm(c);
	}
}

static struct bufferevent *
conn_new(struct event_base *base, void *arg)
{
	struct httpd	*h = arg;
	struct conn	*c;

	c = xcalloc(1, sizeof(*c));
	if ((c->bev = bufferevent_socket_new(base, -1, 0)) == NULL) {
		free(c);
		return NULL;
	}
	bufferevent_set_max_single_write(c->bev, MAX_SINGLE_WRITE);
	c->httpd = h;
	c->fd = -1;
	if (++h->nconns > h->opts.max_connections) {
		c->rejected = 1;
		h->rejected++;
	}
	TAILQ_INSERT_TAIL(&h->pending, c, entry);
	event_active(h->adopt_ev, EV_TIMEOUT, 1);
	return c->bev;
}

static struct conn *
conn_of(struct httpd *h, struct evhttp_request *evreq)
{
	struct evhttp_connection	*evcon;
	evutil_socket_t			 fd;

	if ((evcon = evhttp_request_get_connection(evreq)) == NULL)
		return NULL;
	fd = bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));
	if (fd < 0 || (size_t)fd >= h->nbyfd || h->byfd[fd] == NULL ||
	    h->byfd[fd]->evcon != evcon)
		return NULL;
	return h->byfd[fd];
}

/*
 * Routing.
 */

int
httpd_route(struct httpd *h, const char *path, unsigned methods,
    httpd_handler fn, void *arg)
{
	struct route	*r;
	size_t		 len, i;
	int		 prefix = 0;

	if (path == NULL || path[0] != '/' || fn == NULL || methods == 0)
		return -1;
	len = strlen(path);
	if (path[len - 1] == '*') {
		prefix = 1;
		len--;
	} else if (path[len - 1] == '/' && len > 1)
		prefix = 1;
	for (i = 0; i < h->nroutes; i++)
		if (h->routes[i]->prefix == prefix &&
		    h->routes[i]->matchlen == len &&
		    memcmp(h->routes[i]->match, path, len) == 0)
			return -1;
	r = xcalloc(1, sizeof(*r));
	r->pattern = xstrdup(path);
	r->match = xstrndup(path, len);
	r->matchlen = len;
	r->prefix = prefix;
	r->methods = methods & HTTPD_GET ? methods | HTTPD_HEAD : methods;
	r->fn = fn;
	r->arg = arg;
	r->stats.handler = r->pattern;
	h->routes = xreallocarray(h->routes, h->nroutes + 1,
	    sizeof(*h->routes));
	h->routes[h->nroutes++] = r;
	return 0;
}

static struct route *
route_find(struct httpd *h, const char *path)
{
	struct route	*best = NULL;
	size_t		 len = strlen(path), i;

	for (i = 0; i < h->nroutes; i++) {
		struct route *r = h->routes[i];

		if (!r->prefix) {
			if (r->matchlen == len && memcmp(r->match, path,
			    len) == 0)
				return r;
		} else if (r->matchlen <= len &&
		    memcmp(r->match, path, r->matchlen) == 0 &&
		    (best == NULL || r->matchlen > best->matchlen))
			best = r;
	}
	return best;
}

static unsigned
method_flag(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:		return HTTPD_GET;
	case EVHTTP_REQ_HEAD:		return HTTPD_HEAD;
	case EVHTTP_REQ_POST:		return HTTPD_POST;
	case EVHTTP_REQ_PUT:		return HTTPD_PUT;
	case EVHTTP_REQ_DELETE:		return HTTPD_DELETE;
	case EVHTTP_REQ_OPTIONS:	return HTTPD_OPTIONS;
	case EVHTTP_REQ_PATCH:		return HTTPD_PATCH;
	default:			return 0;
	}
}

static const struct {
	unsigned	 flag;
	const char	*name;
} method_names[] = {
	{ HTTPD_GET, "GET" }, { HTTPD_HEAD, "HEAD" }, { HTTPD_POST, "POST" },
	{ HTTPD_PUT, "PUT" }, { HTTPD_DELETE, "DELETE" },
	{ HTTPD_OPTIONS, "OPTIONS" }, { HTTPD_PATCH, "PATCH" },
};

static void
allow_header(struct httpd_req *r, unsigned methods)
{
	struct buf	b = BUF_INIT;
	size_t		i;

	for (i = 0; i < sizeof(method_names) / sizeof(method_names[0]); i++) {
		if (!(methods & method_names[i].flag))
			continue;
		if (b.len > 0)
			buf_adds(&b, ", ");
		buf_adds(&b, method_names[i].name);
	}
	httpd_add_header(r, "Allow", b.data);
	buf_free(&b);
}

/*
 * Requests.
 */

static unsigned
count_headers(struct evkeyvalq *hdrs)
{
	struct evkeyval	*kv;
	unsigned	 n = 0;

	for (kv = hdrs->tqh_first; kv != NULL; kv = kv->next.tqe_next)
		n++;
	return n;
}

static void
req_free(struct httpd_req *r)
{
	params_free(&r->params);
	buf_free(&r->decoded);
	free(r->pieces);
	free(r->path);
	free(r);
}

/* The body as one buffer, decoded, and its form parameters. */
static int
body_prepare(struct httpd_req *r, struct evbuffer *in, const char *coding,
    char *err, size_t errlen)
{
	struct httpd	*h = r->httpd;
	int		 rc;

	/* A NUL after the body lets handlers treat it as a string. */
	evbuffer_add(in, "", 1);
	r->body = (const char *)evbuffer_pullup(in, -1);
	switch (content_coding(coding)) {
	case CODING_IDENTITY:
		break;
	case CODING_GZIP:
		rc = gzip_inflate(r->body, r->bodylen,
		    h->opts.max_decoded_body_bytes, &r->decoded, err, errlen);
		if (rc == GZIP_TOO_LARGE)
			return 413;
		if (rc != 0)
			return 400;
		buf_addc(&r->decoded, '\0');
		r->body = r->decoded.data;
		r->bodylen = r->decoded.len - 1;
		break;
	default:
		snprintf(err, errlen, "unsupported Content-Encoding \"%s\"",
		    coding);
		return 415;
	}
	if ((r->method & (HTTPD_POST | HTTPD_PUT | HTTPD_PATCH)) &&
	    !(r->route->methods & HTTPD_RAW_BODY) &&
	    content_type_is_form(httpd_header(r, "Content-Type")) &&
	    params_parse(&r->params, r->body, r->bodylen, err, errlen) == -1)
		return 400;
	return 0;
}

/*
 * Decode the body and the parameters.  0, or an HTTP status with the
 * message in err.
 */
static int
req_prepare(struct httpd_req *r, char *err, size_t errlen)
{
	struct evbuffer		*in = evhttp_request_get_input_buffer(r->evreq);
	const struct evhttp_uri	*uri;
	const char		*q, *coding;
	size_t			 len = evbuffer_get_length(in);
	int			 rc;

	coding = httpd_header(r, "Content-Encoding");
	r->bodylen = len;
	if ((r->route->methods & HTTPD_RAW_BODY) &&
	    content_coding(coding) == CODING_IDENTITY)
		/* Copying megabytes into one buffer costs more than
		 * parsing them: httpd_body_next hands the pieces. */
		r->in = in;
	else if ((rc = body_prepare(r, in, coding, err, errlen)) != 0)
		return rc;
	uri = evhttp_request_get_evhttp_uri(r->evreq);
	if (uri != NULL && (q = evhttp_uri_get_query(uri)) != NULL &&
	    params_parse(&r->params, q, strlen(q), err, errlen) == -1)
		return 400;
	return 0;
}

static void
httpd_on_request(struct evhttp_request *evreq, void *arg)
{
	struct httpd		*h = arg;
	struct httpd_req	*r;
	const struct evhttp_uri	*uri;
	const char		*raw;
	struct buf		 path = BUF_INIT;
	char			 err[256];
	int			 code;

	r = xcalloc(1, sizeof(*r));
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	r->httpd = h;
	r->evreq = evreq;
	r->method = method_flag(evhttp_request_get_command(evreq));
	if ((r->conn = conn_of(h, evreq)) != NULL) {
		r->conn->inflight = r;
		event_del(r->conn->deadline);
	}
	h->inflight++;

	uri = evhttp_request_get_evhttp_uri(evreq);
	raw = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (raw == NULL || *raw == '\0')
		raw = "/";
	code = url_unescape(raw, strlen(raw), 0, &path, err, sizeof(err));
	r->path = buf_detach(&path);
	if (code == 0 && (r->route = route_find(h, r->path)) != NULL)
		r->rest = r->path + (r->route->prefix ? r->route->matchlen :
		    strlen(r->path));
	if (r->conn != NULL && r->conn->rejected) {
		httpd_add_header(r, "Connection", "close");
		httpd_reply_error(r, 503, "too many open connections");
		return;
	}
	if (code == -1) {
		httpd_reply_error(r, 400, err);
		return;
	}
	if (count_headers(evhttp_request_get_input_headers(evreq)) >
	    h->opts.max_headers) {
		snprintf(err, sizeof(err), "more than %u header fields",
		    h->opts.max_headers);
		httpd_add_header(r, "Connection", "close");
		httpd_reply_error(r, 431, err);
		return;
	}
	if (r->route == NULL) {
		httpd_reply_error(r, 404, "not found");
		return;
	}
	if (!(r->route->methods & r->method)) {
		allow_header(r, r->route->methods);
		snprintf(err, sizeof(err), "method %s not allowed",
		    httpd_method_name(r));
		httpd_reply_error(r, 405, err);
		return;
	}
	if ((code = req_prepare(r, err, sizeof(err))) != 0) {
		httpd_reply_error(r, code, err);
		return;
	}
	r->route->fn(r, r->route->arg);
}

/* The reply is out: the connection waits for its next request. */
static void
httpd_on_complete(struct evhttp_request *evreq, void *arg)
{
	struct conn *c = arg;

	conn_arm(c);
}

static int
wants_gzip(struct httpd_req *r, int code, size_t len)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->evreq);

	if (len < HTTPD_GZIP_MIN || code == 204 || code == 304 ||
	    r->method == HTTPD_HEAD ||
	    evhttp_find_header(out, "Content-Encoding") != NULL)
		return 0;
	return 1;
}

int
httpd_gzip_wanted(const struct httpd_req *r)
{
	return r->method != HTTPD_HEAD &&
	    accept_gzip(httpd_header(r, "Accept-Encoding"));
}

int
httpd_gzip(struct buf *b)
{
	struct buf gz = BUF_INIT;

	if (b->len < HTTPD_GZIP_MIN)
		return 0;
	gzip_deflate(b->data, b->len, GZIP_LEVEL, &gz);
	buf_free(b);
	*b = gz;
	return 1;
}

void
httpd_reply_gzipped(struct httpd_req *r, int code, const char *ctype,
    struct buf *b)
{
	httpd_add_header(r, "Vary", "Accept-Encoding");
	httpd_add_header(r, "Content-Encoding", "gzip");
	httpd_reply_buf(r, code, ctype, b);
}

static void
free_cleanup(const void *data, size_t len, void *arg)
{
	free(arg);
}

/*
 * Send the reply and end the request.  OWNED: DATA is malloc'd and becomes
 * evbuffer's.
 */
static void
reply_send(struct httpd_req *r, int code, const char *ctype, char *data,
    size_t len, int owned)
{
	struct httpd		*h = r->httpd;
	struct evkeyvalq	*out;
	struct evbuffer		*eb = evbuffer_new();
	struct http_stats	*st;
	char			 num[32];
	size_t			 sent = 0;

	out = evhttp_request_get_output_headers(r->evreq);
	if (ctype != NULL)
		evhttp_add_header(out, "Content-Type", ctype);
	if (wants_gzip(r, code, len)) {
		evhttp_add_header(out, "Vary", "Accept-Encoding");
		if (accept_gzip(httpd_header(r, "Accept-Encoding"))) {
			struct buf gz = BUF_INIT;

			gzip_deflate(data, len, GZIP_LEVEL, &gz);
			if (owned)
				free(data);
			sent = gz.len;
			data = buf_detach(&gz);
			len = sent;
			owned = 1;
			evhttp_add_header(out, "Content-Encoding", "gzip");
		}
	}
	if (r->method == HTTPD_HEAD) {
		snprintf(num, sizeof(num), "%zu", len);
		evhttp_remove_header(out, "Content-Length");
		evhttp_add_header(out, "Content-Length", num);
		if (owned)
			free(data);
	} else if (owned) {
		evbuffer_add_reference(eb, data, len, free_cleanup, data);
		sent = len;
	} else {
		evbuffer_add(eb, data, len);
		sent = len;
	}

	st = r->route != NULL ? &r->route->stats : &h->unmatched;
	stats_observe(st, code, elapsed(&r->start), sent);
	h->inflight--;
	if (r->conn != NULL) {
		r->conn->inflight = NULL;
		evhttp_request_set_on_complete_cb(r->evreq, httpd_on_complete,
		    r->conn);
	}
	evhttp_send_reply(r->evreq, code, NULL, eb);
	evbuffer_free(eb);
	req_free(r);
}

void
httpd_reply(struct httpd_req *r, int code, const char *ctype,
    const void *body, size_t len)
{
	reply_send(r, code, ctype, (char *)(uintptr_t)body, len, 0);
}

void
httpd_reply_buf(struct httpd_req *r, int code, const char *ctype,
    struct buf *b)
{
	size_t len = b->len;

	reply_send(r, code, ctype, buf_detach(b), len, 1);
}

static int
json_to_buf(const char *s, size_t len, void *arg)
{
	buf_add(arg, s, len);
	return 0;
}

void
httpd_reply_json(struct httpd_req *r, int code, struct json_t *json)
{
	struct buf b = BUF_INIT;

	if (json == NULL) {
		httpd_reply_error(r, 500, "internal error: no JSON to send");
		return;
	}
	json_dump_callback(json, json_to_buf, &b, JSON_COMPACT);
	json_decref(json);
	httpd_reply_buf(r, code, HTTPD_JSON, &b);
}

static const char *
error_type(int code)
{
	switch (code) {
	case 404:	return "not_found";
	case 422:	return "execution";
	case 503:	return "unavailable";
	case 504:	return "timeout";
	default:	return code >= 400 && code < 500 ? "bad_data" :
			    "internal";
	}
}

void
httpd_reply_error(struct httpd_req *r, int code, const char *msg)
{
	struct buf	 b = BUF_INIT;
	json_t		*j;

	if (strncmp(r->path, "/api/", 5) == 0) {
		/* json_string refuses invalid UTF-8: keep the error anyway. */
		buf_reset(&b);
		if ((j = json_string(msg)) == NULL) {
			printable(&b, msg, strlen(msg));
			j = json_string(b.data);
		}
		buf_free(&b);
		httpd_reply_json(r, code, json_pack("{s:s,s:s,s:o}", "status",
		    "error", "errorType", error_type(code), "error", j));
		return;
	}
	buf_adds(&b, msg);
	buf_addc(&b, '\n');
	httpd_reply_buf(r, code, HTTPD_TEXT, &b);
}

int
httpd_add_header(struct httpd_req *r, const char *name, const char *value)
{
	return evhttp_add_header(evhttp_request_get_output_headers(r->evreq),
	    name, value);
}

/*
 * Request accessors.
 */

unsigned
httpd_method(const struct httpd_req *r)
{
	return r->method;
}

const char *
httpd_method_name(const struct httpd_req *r)
{
	size_t i;

	for (i = 0; i < sizeof(method_names) / sizeof(method_names[0]); i++)
		if (method_names[i].flag == r->method)
			return method_names[i].name;
	return "?";
}

const char *
httpd_path(const struct httpd_req *r)
{
	return r->path;
}

const char *
httpd_path_rest(const struct httpd_req *r)
{
	return r->rest != NULL ? r->rest : "";
}

const char *
httpd_param(const struct httpd_req *r, const char *name)
{
	size_t i = 0;

	return httpd_param_next(r, name, &i);
}

const char *
httpd_param_next(const struct httpd_req *r, const char *name, size_t *iter)
{
	for (; *iter < r->params.n; (*iter)++)
		if (strcmp(r->params.v[*iter].name, name) == 0)
			return r->params.v[(*iter)++].value;
	return NULL;
}

size_t
httpd_nparams(const struct httpd_req *r)
{
	return r->params.n;
}

void
httpd_param_at(const struct httpd_req *r, size_t i, const char **name,
    const char **value)
{
	*name = i < r->params.n ? r->params.v[i].name : NULL;
	*value = i < r->params.n ? r->params.v[i].value : NULL;
}

const char *
httpd_body(const struct httpd_req *cr, size_t *len)
{
	/* Making the pieces one buffer changes nothing the caller sees. */
	struct httpd_req *r = (struct httpd_req *)(uintptr_t)cr;

	if (r->body == NULL && r->in != NULL) {
		evbuffer_add(r->in, "", 1);
		r->body = (const char *)evbuffer_pullup(r->in, -1);
		free(r->pieces);
		r->pieces = NULL;
		r->npieces = 0;
	}
	*len = r->bodylen;
	return r->body != NULL ? r->body : "";
}

void
httpd_body_release(struct httpd_req *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->evreq);

	free(r->pieces);
	r->pieces = NULL;
	r->npieces = 0;
	r->in = NULL;
	r->body = NULL;
	r->bodylen = 0;
	buf_free(&r->decoded);
	if (in != NULL)
		evbuffer_drain(in, evbuffer_get_length(in));
}

const char *
httpd_body_next(const struct httpd_req *cr, size_t *pos, size_t *len)
{
	struct httpd_req	*r = (struct httpd_req *)(uintptr_t)cr;
	size_t			 i = *pos;

	if (r->body != NULL || r->in == NULL) {
		if (i > 0 || r->bodylen == 0)
			return NULL;
		*pos = 1;
		*len = r->bodylen;
		return r->body;
	}
	if (r->pieces == NULL) {
		r->npieces = evbuffer_peek(r->in, -1, NULL, NULL, 0);
		r->pieces = xcalloc(r->npieces > 0 ? r->npieces : 1,
		    sizeof(*r->pieces));
		if (r->npieces > 0)
			(void)evbuffer_peek(r->in, -1, NULL, r->pieces,
			    r->npieces);
	}
	/* Empty pieces say nothing: skip them. */
	while (i < (size_t)r->npieces && r->pieces[i].iov_len == 0)
		i++;
	if (i >= (size_t)r->npieces)
		return NULL;
	*pos = i + 1;
	*len = r->pieces[i].iov_len;
	return r->pieces[i].iov_base;
}

const char *
httpd_header(const struct httpd_req *r, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(r->evreq),
	    name);
}

const char *
httpd_peer(const struct httpd_req *r)
{
	struct httpd_req		*w = (struct httpd_req *)(uintptr_t)r;
	struct evhttp_connection	*evcon;
	char				*addr = NULL;
	ev_uint16_t			 port = 0;

	if (w->peer[0] != '\0')
		return w->peer;
	if ((evcon = evhttp_request_get_connection(r->evreq)) != NULL)
		evhttp_connection_get_peer(evcon, &addr, &port);
	if (addr == NULL)
		snprintf(w->peer, sizeof(w->peer), "unknown");
	else if (strchr(addr, ':') != NULL)
		snprintf(w->peer, sizeof(w->peer), "[%s]:%u", addr, port);
	else
		snprintf(w->peer, sizeof(w->peer), "%s:%u", addr, port);
	return w->peer;
}

/*
 * The server.
 */

struct httpd *
httpd_new(struct event_base *base, const struct httpd_opts *opts, char *err,
    size_t errlen)
{
	struct httpd			*h;
	struct evhttp_bound_socket	*bound;
	struct sockaddr_storage		 ss;
	socklen_t			 sslen = sizeof(ss);
	evutil_socket_t			 fd;
	long				 nofile;

	h = xcalloc(1, sizeof(*h));
	h->base = base;
	h->opts = *opts;
	h->opts.listen = NULL;
	if (h->opts.max_connections == 0)
		h->opts.max_connections = DEF_MAX_CONNECTIONS;
	if (h->opts.request_timeout_ms == 0)
		h->opts.request_timeout_ms = DEF_TIMEOUT_MS;
	if (h->opts.max_body_bytes == 0)
		h->opts.max_body_bytes = DEF_MAX_BODY;
	if (h->opts.max_decoded_body_bytes == 0)
		h->opts.max_decoded_body_bytes = 4 * h->opts.max_body_bytes;
	if (h->opts.max_header_bytes == 0)
		h->opts.max_header_bytes = DEF_MAX_HEADER_BYTES;
	if (h->opts.max_headers == 0)
		h->opts.max_headers = DEF_MAX_HEADERS;
	h->timeout.tv_sec = h->opts.request_timeout_ms / 1000;
	h->timeout.tv_usec = (h->opts.request_timeout_ms % 1000) * 1000;
	h->unmatched.handler = "unmatched";
	TAILQ_INIT(&h->pending);

	nofile = httpd_raise_nofile();
	if (nofile != -1 &&
	    (long)h->opts.max_connections > nofile - NOFILE_RESERVE) {
		snprintf(err, errlen, "max_connections %u is more than the "
		    "open file limit %ld allows (at most %ld)",
		    h->opts.max_connections, nofile, nofile - NOFILE_RESERVE);
		free(h);
		return NULL;
	}
	if ((fd = listen_socket(opts->listen, err, errlen)) == -1) {
		free(h);
		return NULL;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0)
		h->port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);

	h->adopt_ev = event_new(base, -1, 0, conn_adopt, h);
	h->http = evhttp_new(base);
	if (h->adopt_ev == NULL || h->http == NULL ||
	    (bound = evhttp_accept_socket_with_handle(h->http, fd)) == NULL) {
		snprintf(err, errlen, "cannot set up the HTTP server on %s",
		    opts->listen);
		close(fd);
		httpd_free(h);
		return NULL;
	}
	evhttp_set_flags(h->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_default_content_type(h->http, NULL);
	evhttp_set_max_body_size(h->http, (ev_ssize_t)h->opts.max_body_bytes);
	evhttp_set_max_headers_size(h->http,
	    (ev_ssize_t)h->opts.max_header_bytes);
	evhttp_set_timeout_tv(h->http, &h->timeout);
	evhttp_set_bevcb(h->http, conn_new, h);
	evhttp_set_gencb(h->http, httpd_on_request, h);
	return h;
}

void
httpd_free(struct httpd *h)
{
	struct conn	*c;
	size_t		 i;

	if (h == NULL)
		return;
	/* Closes every connection; conn_closed frees the adopted ones. */
	if (h->http != NULL)
		evhttp_free(h->http);
	while ((c = TAILQ_FIRST(&h->pending)) != NULL) {
		TAILQ_REMOVE(&h->pending, c, entry);
		conn_free(c);
	}
	for (i = 0; i < h->nbyfd; i++)
		if (h->byfd[i] != NULL)
			conn_free(h->byfd[i]);
	if (h->adopt_ev != NULL)
		event_free(h->adopt_ev);
	for (i = 0; i < h->nroutes; i++) {
		stats_clear(&h->routes[i]->stats);
		free(h->routes[i]->pattern);
		free(h->routes[i]->match);
		free(h->routes[i]);
	}
	stats_clear(&h->unmatched);
	free(h->routes);
	free(h->byfd);
	free(h);
}

int
httpd_port(const struct httpd *h)
{
	return h->port;
}

void
httpd_write_metrics(struct httpd *h, struct buf *b)
{
	struct http_stats	**st;
	struct http_gauges	  g;
	size_t			  i;

	st = xreallocarray(NULL, h->nroutes + 1, sizeof(*st));
	for (i = 0; i < h->nroutes; i++)
		st[i] = &h->routes[i]->stats;
	st[i] = &h->unmatched;
	g.connections = h->nconns;
	g.in_flight = h->inflight;
	g.rejected = h->rejected;
	stats_write(b, st, h->nroutes + 1, &g);
	free(st);
}
