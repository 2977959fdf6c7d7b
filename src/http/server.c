/*
 * server: the HTTP front of monitord.  Connections and request framing are
 * conn.c's and wire.c's; here requests are routed to the handlers other
 * modules register, checked against what the daemon accepts, decoded
 * (percent-encoding, forms, gzip bodies), and answered, compressed when
 * that pays, with metrics about all of it.
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

#include <jansson.h>

#include "buf.h"
#include "http/conn.h"
#include "http/gzip.h"
#include "http/params.h"
#include "http/server.h"
#include "http/stats.h"
#include "http/wire.h"
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

struct httpd {
	struct event_base	*base;
	struct conns		*conns;
	int			 port;
	struct httpd_opts	 opts;		/* defaults filled in */
	struct route		**routes;
	size_t			 nroutes;
	struct http_stats	 unmatched;
	uint64_t		 inflight;
	time_t			 date_at;	/* the second date is for */
	char			 date[48];	/* "Date: ...\r\n" */
};

struct httpd_req {
	struct httpd		*httpd;
	struct conn		*conn;		/* NULL once it closed */
	struct wire_msg		 msg;
	struct route		*route;
	unsigned		 method;
	char			*path;
	const char		*rest;
	struct params		 params;
	const char		*body;
	size_t			 bodylen;
	struct buf		 decoded;
	struct buf		 out;		/* header lines added */
	int			 has_coding;	/* Content-Encoding among them */
	int			 close;		/* Connection: close */
	struct timespec		 start;
	char			 peer[INET6_ADDRSTRLEN + 16];
};

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
static int
listen_socket(const char *addr, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res, *ai;
	char		 host[256], portstr[8];
	int		 fd = -1, port, rc, on = 1, saved = 0;

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
method_flag(unsigned method)
{
	switch (method) {
	case HTTP_GET:		return HTTPD_GET;
	case HTTP_HEAD:		return HTTPD_HEAD;
	case HTTP_POST:		return HTTPD_POST;
	case HTTP_PUT:		return HTTPD_PUT;
	case HTTP_DELETE:	return HTTPD_DELETE;
	case HTTP_OPTIONS:	return HTTPD_OPTIONS;
	case HTTP_PATCH:	return HTTPD_PATCH;
	default:		return 0;
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

static void
req_free(struct httpd_req *r)
{
	wire_msg_free(&r->msg);
	params_free(&r->params);
	buf_free(&r->decoded);
	buf_free(&r->out);
	free(r->path);
	free(r);
}

/* The body, decoded, and its form parameters. */
static int
body_prepare(struct httpd_req *r, char *err, size_t errlen)
{
	struct httpd	*h = r->httpd;
	const char	*coding = httpd_header(r, "Content-Encoding");
	int		 rc;

	r->body = r->msg.body.data != NULL ? r->msg.body.data : "";
	r->bodylen = r->msg.body.len;
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
		buf_free(&r->msg.body);
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
 * The path and the query string of a request target: origin form
 * "/p?q", absolute form "http://host/p?q", or anything else as a path
 * that no route takes ("*").
 */
static void
split_target(const char *t, const char **path, size_t *plen,
    const char **query, size_t *qlen)
{
	const char *p = t, *end;

	if (*t != '/' && (end = strstr(t, "://")) != NULL &&
	    strcspn(t, "/?#") > (size_t)(end - t)) {
		p = end + 3;
		p += strcspn(p, "/?#");
	}
	end = p + strcspn(p, "?#");
	*path = p;
	*plen = (size_t)(end - p);
	*query = NULL;
	*qlen = 0;
	if (*end == '?') {
		*query = end + 1;
		*qlen = strcspn(end + 1, "#");
	}
}

static struct httpd_req *
req_new(struct httpd *h, struct conn *c)
{
	struct httpd_req *r = xcalloc(1, sizeof(*r));

	clock_gettime(CLOCK_MONOTONIC, &r->start);
	r->httpd = h;
	r->conn = c;
	conn_hold(c, r);
	h->inflight++;
	return r;
}

/* Decode the path; find the route.  -1 with the message in err. */
static int
req_route(struct httpd_req *r, const char *path, size_t plen, char *err,
    size_t errlen)
{
	struct buf	b = BUF_INIT;
	int		rc;

	if (plen == 0)
		path = "/", plen = 1;
	rc = url_unescape(path, plen, 0, &b, err, errlen);
	r->path = buf_detach(&b);
	if (r->path == NULL)
		r->path = xstrdup("");
	if (rc == 0 && (r->route = route_find(r->httpd, r->path)) != NULL)
		r->rest = r->path + (r->route->prefix ? r->route->matchlen :
		    strlen(r->path));
	return rc;
}

static void
on_request(void *arg, struct conn *c, struct wire_msg *msg)
{
	struct httpd		*h = arg;
	struct httpd_req	*r = req_new(h, c);
	const char		*path, *query;
	size_t			 plen, qlen;
	char			 err[256];
	int			 code;

	r->msg = *msg;
	r->method = method_flag(r->msg.method);
	split_target(wire_target(&r->msg), &path, &plen, &query, &qlen);
	code = req_route(r, path, plen, err, sizeof(err));
	if (conn_rejected(c)) {
		r->close = 1;
		httpd_reply_error(r, 503, "too many open connections");
		return;
	}
	if (code == -1) {
		httpd_reply_error(r, 400, err);
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
	if ((code = body_prepare(r, err, sizeof(err))) != 0) {
		httpd_reply_error(r, code, err);
		return;
	}
	if (query != NULL && params_parse(&r->params, query, qlen, err,
	    sizeof(err)) == -1) {
		httpd_reply_error(r, 400, err);
		return;
	}
	r->route->fn(r, r->route->arg);
}

/* A request that could not be received whole: answered, then closed. */
static void
on_failed(void *arg, struct conn *c, int code, const char *err,
    const struct wire_msg *msg, int head_done)
{
	struct httpd		*h = arg;
	struct httpd_req	*r = req_new(h, c);
	const char		*path = "", *query;
	size_t			 plen = 0, qlen;
	char			 uerr[64];

	r->method = method_flag(msg->method);
	if (head_done)
		split_target(wire_target(msg), &path, &plen, &query, &qlen);
	if (plen == 0 || req_route(r, path, plen, uerr, sizeof(uerr)) == -1) {
		free(r->path);
		r->path = xstrdup("");
		r->route = NULL;
	}
	r->close = 1;
	httpd_reply_error(r, code, err);
}

static void
on_gone(void *arg, void *req)
{
	struct httpd_req *r = req;

	r->conn = NULL;
}

static int
wants_gzip(struct httpd_req *r, int code, size_t len)
{
	if (len < HTTPD_GZIP_MIN || code == 204 || code == 304 ||
	    r->method == HTTPD_HEAD || r->has_coding)
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

/* "Date: Thu, 26 Nov 2026 12:00:00 GMT\r\n", made once a second. */
static const char *
date_line(struct httpd *h)
{
	time_t		now = time(NULL);
	struct tm	tm;

	if (now != h->date_at || h->date[0] == '\0') {
		gmtime_r(&now, &tm);
		strftime(h->date, sizeof(h->date),
		    "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
		h->date_at = now;
	}
	return h->date;
}

static const char *
reason(int code)
{
	const char *s = http_status_str((enum http_status)code);

	return strcmp(s, "<unknown>") != 0 ? s : "Unknown";
}

/*
 * Send the reply and end the request.  OWNED: DATA is malloc'd and is
 * taken.
 */
static void
reply_send(struct httpd_req *r, int code, const char *ctype, char *data,
    size_t len, int owned)
{
	struct httpd		*h = r->httpd;
	struct http_stats	*st;
	struct buf		 head = BUF_INIT;
	size_t			 sent = 0;
	int			 close, nobody;

	buf_reserve(&head, 256 + r->out.len);
	buf_printf(&head, "HTTP/1.1 %d %s\r\n", code, reason(code));
	buf_adds(&head, date_line(h));
	if (ctype != NULL)
		buf_printf(&head, "Content-Type: %s\r\n", ctype);
	buf_add(&head, r->out.data, r->out.len);
	if (wants_gzip(r, code, len)) {
		buf_adds(&head, "Vary: Accept-Encoding\r\n");
		if (accept_gzip(httpd_header(r, "Accept-Encoding"))) {
			struct buf gz = BUF_INIT;

			gzip_deflate(data, len, GZIP_LEVEL, &gz);
			if (owned)
				free(data);
			len = gz.len;
			data = buf_detach(&gz);
			owned = 1;
			buf_adds(&head, "Content-Encoding: gzip\r\n");
		}
	}
	nobody = code == 204 || code == 304 || code < 200;
	if (!nobody)
		buf_printf(&head, "Content-Length: %zu\r\n", len);
	if (nobody || r->method == HTTPD_HEAD) {
		if (owned)
			free(data);
		data = NULL;
		len = 0;
		owned = 0;
	}
	sent = len;
	close = r->close || !r->msg.keepalive;
	if (close)
		buf_adds(&head, "Connection: close\r\n");
	else if (r->msg.minor == 0)
		buf_adds(&head, "Connection: keep-alive\r\n");
	buf_adds(&head, "\r\n");

	st = r->route != NULL ? &r->route->stats : &h->unmatched;
	stats_observe(st, code, elapsed(&r->start), sent);
	h->inflight--;
	if (r->conn != NULL)
		conn_send(r->conn, &head, data, len, owned, close);
	else if (owned)
		free(data);
	buf_free(&head);
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
	if (name[0] == '\0' || strpbrk(name, "\r\n:") != NULL ||
	    strpbrk(value, "\r\n") != NULL)
		return -1;
	/* The server writes these itself. */
	if (strcasecmp(name, "Connection") == 0) {
		if (strcasecmp(value, "close") == 0)
			r->close = 1;
		return 0;
	}
	if (strcasecmp(name, "Content-Length") == 0)
		return 0;
	if (strcasecmp(name, "Content-Encoding") == 0)
		r->has_coding = 1;
	buf_printf(&r->out, "%s: %s\r\n", name, value);
	return 0;
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
httpd_body(const struct httpd_req *r, size_t *len)
{
	*len = r->bodylen;
	return r->body != NULL ? r->body : "";
}

void
httpd_body_release(struct httpd_req *r)
{
	r->body = NULL;
	r->bodylen = 0;
	buf_free(&r->decoded);
	buf_free(&r->msg.body);
}

/* The body is one piece since the server has it in one buffer. */
const char *
httpd_body_next(const struct httpd_req *r, size_t *pos, size_t *len)
{
	if (*pos > 0 || r->bodylen == 0)
		return NULL;
	*pos = 1;
	*len = r->bodylen;
	return r->body;
}

const char *
httpd_header(const struct httpd_req *r, const char *name)
{
	return wire_header(&r->msg, name);
}

const char *
httpd_peer(const struct httpd_req *r)
{
	struct httpd_req *w = (struct httpd_req *)(uintptr_t)r;

	if (w->peer[0] == '\0')
		snprintf(w->peer, sizeof(w->peer), "%s", r->conn != NULL ?
		    conn_peer(r->conn) : "unknown");
	return w->peer;
}

/*
 * The server.
 */

struct httpd *
httpd_new(struct event_base *base, const struct httpd_opts *opts, char *err,
    size_t errlen)
{
	static const struct conns_cbs cbs = { on_request, on_failed, on_gone };
	struct httpd		*h;
	struct conns_opts	 co;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	int			 fd;
	long			 nofile;

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
	h->unmatched.handler = "unmatched";

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

	memset(&co, 0, sizeof(co));
	co.max_connections = h->opts.max_connections;
	co.timeout_ms = h->opts.request_timeout_ms;
	co.limits.max_header_bytes = h->opts.max_header_bytes;
	co.limits.max_headers = h->opts.max_headers;
	co.limits.max_body_bytes = h->opts.max_body_bytes;
	h->conns = conns_new(base, fd, &co, &cbs, h);
	return h;
}

void
httpd_free(struct httpd *h)
{
	size_t i;

	if (h == NULL)
		return;
	/* Requests still held lose their connection (on_gone). */
	conns_free(h->conns);
	for (i = 0; i < h->nroutes; i++) {
		stats_clear(&h->routes[i]->stats);
		free(h->routes[i]->pattern);
		free(h->routes[i]->match);
		free(h->routes[i]);
	}
	stats_clear(&h->unmatched);
	free(h->routes);
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
	g.connections = conns_open(h->conns);
	g.in_flight = h->inflight;
	g.rejected = conns_rejected(h->conns);
	stats_write(b, st, h->nroutes + 1, &g);
	free(st);
}
