/*
 * Tests of the HTTP server: a real httpd on 127.0.0.1, port 0, whose event
 * loop runs in a second thread, spoken to over plain sockets with requests
 * written out byte for byte.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>
#include <zlib.h>

#include "tcheck.h"
#include "buf.h"
#include "http/gzip.h"
#include "http/params.h"
#include "http/server.h"

struct srv {
	struct event_base	*base;
	struct httpd		*h;
	pthread_t		 thr;
	int			 port;
};

struct resp {
	int		 code;
	char		*head;		/* status line and headers */
	char		*body;
	size_t		 bodylen;
	int		 closed;	/* the server closed after the reply */
};

/*
 * Handlers.
 */

static void
h_hello(struct httpd_req *r, void *arg)
{
	httpd_reply(r, 200, HTTPD_TEXT, "hello\n", 6);
}

static void
big_body(struct buf *b)
{
	int i;

	for (i = 0; i < 500; i++)
		buf_printf(b, "line %04d\n", i);	/* 10 bytes each */
}

/* 8 MB, more than a socket takes at once: line numbers, 16 bytes each. */
static void
huge_body(struct buf *b)
{
	int i;

	for (i = 0; i < 512 * 1024; i++)
		buf_printf(b, "line %010d\n", i);
}

static void
h_huge(struct httpd_req *r, void *arg)
{
	struct buf b = BUF_INIT;

	huge_body(&b);
	httpd_reply_buf(r, 200, HTTPD_TEXT, &b);
}

static void
h_big(struct httpd_req *r, void *arg)
{
	struct buf b = BUF_INIT;

	big_body(&b);
	httpd_reply_buf(r, 200, HTTPD_TEXT, &b);
}

/* Every parameter in order, then the match[] values through the iterator. */
static void
h_echo(struct httpd_req *r, void *arg)
{
	struct buf	 b = BUF_INIT;
	const char	*n, *v;
	size_t		 i, it = 0;

	for (i = 0; i < httpd_nparams(r); i++) {
		httpd_param_at(r, i, &n, &v);
		buf_printf(&b, "%s=%s\n", n, v);
	}
	while ((v = httpd_param_next(r, "match[]", &it)) != NULL)
		buf_printf(&b, "match:%s\n", v);
	v = httpd_param(r, "query");
	buf_printf(&b, "query:%s\n", v != NULL ? v : "(none)");
	httpd_reply_buf(r, 200, HTTPD_TEXT, &b);
}

static void
h_body(struct httpd_req *r, void *arg)
{
	const char	*body;
	size_t		 len;

	body = httpd_body(r, &len);
	ck_assert_uint_eq(body[len], '\0');
	httpd_reply(r, 200, "application/octet-stream", body, len);
}

static void
h_rest(struct httpd_req *r, void *arg)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "%s rest=%s path=%s\n", (const char *)arg,
	    httpd_path_rest(r), httpd_path(r));
	httpd_reply_buf(r, 200, HTTPD_TEXT, &b);
}

static void
h_json(struct httpd_req *r, void *arg)
{
	httpd_add_header(r, "X-Test", "yes");
	httpd_reply_json(r, 200, json_pack("{s:s,s:{s:[i,s]}}", "status",
	    "success", "data", "result", 1, "a\"b"));
}

static void
h_metrics(struct httpd_req *r, void *arg)
{
	struct buf b = BUF_INIT;

	httpd_write_metrics(arg, &b);
	httpd_reply_buf(r, 200, "text/plain; version=0.0.4", &b);
}

static void
h_peer(struct httpd_req *r, void *arg)
{
	const char *p = httpd_peer(r);

	httpd_reply(r, 200, HTTPD_TEXT, p, strlen(p));
}

static void
h_error(struct httpd_req *r, void *arg)
{
	httpd_reply_error(r, 422, "bad \xff byte");
}

static void
later(evutil_socket_t fd, short what, void *arg)
{
	httpd_reply(arg, 200, HTTPD_TEXT, "later\n", 6);
}

/* Answers 50 ms after the request, from a timer on the same loop. */
static void
h_async(struct httpd_req *r, void *arg)
{
	struct srv	*s = arg;
	struct timeval	 tv = { 0, 50000 };

	event_base_once(s->base, -1, EV_TIMEOUT, later, r, &tv);
}

/*
 * The server in its own thread.
 */

static void *
srv_loop(void *arg)
{
	struct srv *s = arg;

	event_base_loop(s->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static struct srv *
srv_start(struct httpd_opts *o)
{
	struct srv	*s = calloc(1, sizeof(*s));
	char		 err[256];

	ck_assert_ptr_nonnull(s);
	evthread_use_pthreads();
	s->base = event_base_new();
	if (o->listen == NULL)
		o->listen = "127.0.0.1:0";
	s->h = httpd_new(s->base, o, err, sizeof(err));
	if (s->h == NULL)
		ck_abort_msg("httpd_new: %s", err);
	s->port = httpd_port(s->h);
	ck_assert_int_gt(s->port, 0);
	ck_assert_int_eq(httpd_route(s->h, "/hello", HTTPD_GET, h_hello,
	    NULL), 0);
	ck_assert_int_eq(httpd_route(s->h, "/big", HTTPD_GET, h_big, NULL), 0);
	ck_assert_int_eq(httpd_route(s->h, "/huge", HTTPD_GET, h_huge, NULL),
	    0);
	ck_assert_int_eq(httpd_route(s->h, "/api/v1/query",
	    HTTPD_GET | HTTPD_POST, h_echo, NULL), 0);
	ck_assert_int_eq(httpd_route(s->h, "/body", HTTPD_POST, h_body,
	    NULL), 0);
	ck_assert_int_eq(httpd_route(s->h, "/api/v1/label/*", HTTPD_GET,
	    h_rest, "label"), 0);
	ck_assert_int_eq(httpd_route(s->h, "/api/v1/*", HTTPD_GET, h_rest,
	    "api"), 0);
	ck_assert_int_eq(httpd_route(s->h, "/api/v1/label/special",
	    HTTPD_GET, h_rest, "special"), 0);
	ck_assert_int_eq(httpd_route(s->h, "/static/", HTTPD_GET, h_rest,
	    "static"), 0);
	ck_assert_int_eq(httpd_route(s->h, "/", HTTPD_GET, h_rest, "root"), 0);
	ck_assert_int_eq(httpd_route(s->h, "/json", HTTPD_GET, h_json, NULL),
	    0);
	ck_assert_int_eq(httpd_route(s->h, "/metrics", HTTPD_GET, h_metrics,
	    s->h), 0);
	ck_assert_int_eq(httpd_route(s->h, "/peer", HTTPD_GET, h_peer, NULL),
	    0);
	ck_assert_int_eq(httpd_route(s->h, "/api/v1/error", HTTPD_GET,
	    h_error, NULL), 0);
	ck_assert_int_eq(httpd_route(s->h, "/async", HTTPD_GET, h_async, s),
	    0);
	ck_assert_int_eq(pthread_create(&s->thr, NULL, srv_loop, s), 0);
	return s;
}

static void
srv_stop(struct srv *s)
{
	event_base_loopbreak(s->base);
	pthread_join(s->thr, NULL);
	httpd_free(s->h);
	event_base_free(s->base);
	free(s);
}

/*
 * A client that writes requests by hand.
 */

static int
tcp_connect(int port)
{
	struct sockaddr_in	sin;
	struct timeval		tv = { 30, 0 };
	int			fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

static int
send_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len > 0) {
		ssize_t n = send(fd, c, len, MSG_NOSIGNAL);

		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
resp_free(struct resp *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* The value of header NAME in the response, in a static buffer, or NULL. */
static const char *
resp_header(const struct resp *r, const char *name)
{
	static char	 val[1024];
	const char	*p = r->head;
	size_t		 nlen = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			const char	*v = p + nlen + 1;
			size_t		 vlen;

			while (*v == ' ')
				v++;
			vlen = strcspn(v, "\r\n");
			snprintf(val, sizeof(val), "%.*s", (int)vlen, v);
			return val;
		}
	}
	return NULL;
}

/*
 * Read one response: headers, then Content-Length bytes (none for HEAD),
 * or everything up to the close.  Returns -1 if the connection closed or
 * timed out before a status line.
 */
static int
read_response(int fd, struct resp *r, int head)
{
	struct buf	 in = BUF_INIT;
	char		 tmp[8192], *end;
	const char	*cl;
	size_t		 hlen, want = 0;
	ssize_t		 n;
	int		 have_len = 0;

	memset(r, 0, sizeof(*r));
	/*
	 * Never past this response: with pipelined requests the next one's
	 * reply may be in the socket already (it is when the client was
	 * slow), so the head is read a byte at a time and the body up to
	 * its length.
	 */
	while ((end = in.data ? strstr(in.data, "\r\n\r\n") : NULL) == NULL) {
		if ((n = recv(fd, tmp, 1, 0)) <= 0) {
			buf_free(&in);
			return -1;
		}
		buf_add(&in, tmp, (size_t)n);
	}
	hlen = (size_t)(end - in.data) + 4;
	r->head = strndup(in.data, hlen - 2);
	ck_assert_int_eq(sscanf(r->head, "HTTP/1.%*d %d", &r->code), 1);
	if ((cl = resp_header(r, "Content-Length")) != NULL) {
		want = strtoul(cl, NULL, 10);
		have_len = 1;
	}
	if (head)
		want = 0, have_len = 1;
	while (!have_len || in.len - hlen < want) {
		size_t room = have_len && want - (in.len - hlen) < sizeof(tmp) ?
		    want - (in.len - hlen) : sizeof(tmp);

		if ((n = recv(fd, tmp, room, 0)) <= 0) {
			r->closed = 1;
			break;
		}
		buf_add(&in, tmp, (size_t)n);
	}
	r->bodylen = in.len - hlen;
	r->body = malloc(r->bodylen + 1);
	memcpy(r->body, in.data + hlen, r->bodylen);
	r->body[r->bodylen] = '\0';
	buf_free(&in);
	if (have_len)
		ck_assert_uint_eq(r->bodylen, want);
	return 0;
}

/* One request on its own connection. */
static int
http(struct srv *s, const char *req, size_t len, struct resp *r)
{
	int fd = tcp_connect(s->port), rc;

	if (len == 0)
		len = strlen(req);
	if (send_all(fd, req, len) == -1) {
		close(fd);
		return -1;
	}
	rc = read_response(fd, r, strncmp(req, "HEAD ", 5) == 0);
	close(fd);
	return rc;
}

static void
get(struct srv *s, const char *path, struct resp *r)
{
	char req[4096];

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n"
	    "Connection: close\r\n\r\n", path);
	ck_assert_int_eq(http(s, req, 0, r), 0);
}

static void
post(struct srv *s, const char *path, const char *extra, const void *body,
    size_t len, struct resp *r)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "POST %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
	    "%sContent-Length: %zu\r\n\r\n", path, extra, len);
	buf_add(&b, body, len);
	ck_assert_int_eq(http(s, b.data, b.len, r), 0);
	buf_free(&b);
}

static void
gzip_data(const void *in, size_t len, struct buf *out)
{
	z_stream zs;

	memset(&zs, 0, sizeof(zs));
	ck_assert_int_eq(deflateInit2(&zs, 9, Z_DEFLATED, 31, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
	buf_reserve(out, deflateBound(&zs, len));
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	zs.next_out = (Bytef *)out->data;
	zs.avail_out = (uInt)(out->cap - 1);
	ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
	out->len = zs.total_out;
	deflateEnd(&zs);
}

static void
gunzip_data(const void *in, size_t len, struct buf *out)
{
	z_stream	zs;
	char		tmp[4096];
	int		rc;

	memset(&zs, 0, sizeof(zs));
	ck_assert_int_eq(inflateInit2(&zs, 31), Z_OK);
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	do {
		zs.next_out = (Bytef *)tmp;
		zs.avail_out = sizeof(tmp);
		rc = inflate(&zs, Z_NO_FLUSH);
		ck_assert(rc == Z_OK || rc == Z_STREAM_END);
		buf_add(out, tmp, sizeof(tmp) - zs.avail_out);
	} while (rc != Z_STREAM_END);
	ck_assert_uint_eq(zs.avail_in, 0);
	inflateEnd(&zs);
}

/* The value of one exposition line "NAME{...} VALUE" in /metrics, or -1. */
static double
metric(struct srv *s, const char *series)
{
	struct resp	 r;
	const char	*p;
	double		 v = -1;
	size_t		 len = strlen(series);

	get(s, "/metrics", &r);
	ck_assert_int_eq(r.code, 200);
	for (p = r.body; p != NULL && *p != '\0'; p = strchr(p, '\n'),
	    p = p ? p + 1 : NULL)
		if (strncmp(p, series, len) == 0 && p[len] == ' ')
			v = strtod(p + len + 1, NULL);
	resp_free(&r);
	return v;
}

/* Milliseconds of CLOCK_MONOTONIC since START. */
static long
ms_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 +
	    (now.tv_nsec - start->tv_nsec) / 1000000;
}

/*
 * How long a poll waits for something the server does on its own thread.
 * A loaded machine under ASan can hold that thread back for seconds; a
 * condition that never comes true still fails, only later.
 */
#define POLL_DEADLINE_MS	60000

/* Poll until the open-connection gauge is WANT (the /metrics one counts). */
static void
wait_connections(struct srv *s, double want)
{
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (ms_since(&start) < POLL_DEADLINE_MS) {
		if (metric(s, "monitord_http_connections") == want)
			return;
		usleep(10000);
	}
	ck_abort_msg("monitord_http_connections never reached %g", want);
}

/*
 * Tests.
 */

START_TEST(test_exact_route)
{
	struct httpd_opts	o = { 0 };
	struct srv		*s = srv_start(&o);
	struct resp		 r;

	get(s, "/hello", &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body, "hello\n");
	ck_assert_str_eq(resp_header(&r, "Content-Type"),
	    "text/plain; charset=utf-8");
	ck_assert_str_eq(resp_header(&r, "Content-Length"), "6");
	ck_assert_ptr_null(resp_header(&r, "Content-Encoding"));
	ck_assert_ptr_null(resp_header(&r, "Vary"));
	ck_assert(strncmp(r.head, "HTTP/1.1 200 OK\r\n", 17) == 0);
	resp_free(&r);

	get(s, "/hello?x=1", &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body, "hello\n");
	resp_free(&r);

	get(s, "/json", &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body,
	    "{\"status\":\"success\",\"data\":{\"result\":[1,\"a\\\"b\"]}}");
	ck_assert_str_eq(resp_header(&r, "Content-Type"), "application/json");
	ck_assert_str_eq(resp_header(&r, "X-Test"), "yes");
	resp_free(&r);

	get(s, "/peer", &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_msg(strncmp(r.body, "127.0.0.1:", 10) == 0, "%s", r.body);
	ck_assert_int_gt(atoi(r.body + 10), 0);
	resp_free(&r);
	srv_stop(s);
}
END_TEST

START_TEST(test_not_found_and_405)
{
	struct httpd_opts	o = { 0 };
	struct srv		*s = srv_start(&o);
	struct resp		 r;

	get(s, "/nope", &r);
	ck_assert_int_eq(r.code, 404);
	ck_assert_str_eq(r.body, "not found\n");
	ck_assert_str_eq(resp_header(&r, "Content-Type"),
	    "text/plain; charset=utf-8");
	resp_free(&r);

	get(s, "/static", &r);	/* the prefix is "/static/" */
	ck_assert_int_eq(r.code, 404);
	resp_free(&r);

	ck_assert_int_eq(http(s, "DELETE /hello HTTP/1.1\r\nHost: t\r\n"
	    "Connection: close\r\n\r\n", 0, &r), 0);
	ck_assert_int_eq(r.code, 405);
	ck_assert_str_eq(resp_header(&r, "Allow"), "GET, HEAD");
	ck_assert_str_eq(r.body, "method DELETE not allowed\n");
	resp_free(&r);

	post(s, "/hello", "", "x", 1, &r);
	ck_assert_int_eq(r.code, 405);
	ck_assert_str_eq(resp_header(&r, "Allow"), "GET, HEAD");
	resp_free(&r);

	ck_assert_int_eq(http(s, "PUT /api/v1/query HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n", 0, &r), 0);
	ck_assert_int_eq(r.code, 405);
	ck_assert_str_eq(resp_header(&r, "Allow"), "GET, HEAD, POST");
	ck_assert_str_eq(r.body, "{\"status\":\"error\",\"errorType\":"
	    "\"bad_data\",\"error\":\"method PUT not allowed\"}");
	ck_assert_str_eq(resp_header(&r, "Content-Type"), "application/json");
	resp_free(&r);

	/* No /api/v1/x route, but the "/api/v1/" prefix takes it. */
	get(s, "/api/v1/x", &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body, "api rest=x path=/api/v1/x\n");
	resp_free(&r);

	get(s, "/api/v1/error", &r);
	ck_assert_int_eq(r.code, 422);
	ck_assert_str_eq(r.body, "{\"status\":\"error\",\"errorType\":"
	    "\"execution\",\"error\":\"bad \\\\xff byte\"}");
	resp_free(&r);
	srv_stop(s);
}
END_TEST

START_TEST(test_not_found_json)
{
	struct httpd_opts	o = { 0 };
	struct srv		*s = srv_start(&o);
	struct resp		 r;

	get(s, "/api/v2/x", &r);
	ck_assert_int_eq(r.code, 404);
	ck_assert_str_eq(r.body, "{\"status\":\"error\",\"errorType\":"
	    "\"not_found\",\"error\":\"not found\"}");
	ck_assert_str_eq(resp_header(&r, "Content-Type"), "application/json");
	resp_free(&r);

	get(s, "/apix", &r);
	ck_assert_int_eq(r.code, 404);
	ck_assert_str_eq(r.body, "not found\n");
	resp_free(&r);
	srv_stop(s);
}
END_TEST

START_TEST(test_prefix_routes)
{
	static const struct { const char *path, *body; } cases[] = {
		{ "/api/v1/label/job/values",
		  "label rest=job/values path=/api/v1/label/job/values\n" },
		{ "/api/v1/label/",
		  "label rest= path=/api/v1/label/\n" },
		{ "/api/v1/label/special",
		  "special rest= path=/api/v1/label/special\n" },
		{ "/api/v1/label/specialx",
		  "label rest=specialx path=/api/v1/label/specialx\n" },
		{ "/api/v1/labels", "api rest=labels path=/api/v1/labels\n" },
		{ "/static/app.js", "static rest=app.js path=/static/app.js\n" },
		{ "/", "root rest= path=/\n" },
		{ "/api/v1/label/a%20b%2Fc/values",
		  "label rest=a b/c/values path=/api/v1/label/a b/c/values\n" },
	};
	struct httpd_opts	o = { 0 };
	struct srv		*s = srv_start(&o);
	struct resp		 r;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		get(s, cases[i].path, &r);
		ck_assert_int_eq(r.code, 200);
		ck_assert_str_eq(r.body, cases[i].body);
		resp_free(&r);
	}
	get(s, "/index.html", &r);	/* "/" is exact, not a prefix */
	ck_assert_int_eq(r.code, 404);
	resp_free(&r);
	srv_stop(s);
}
END_TEST

START_TEST(test_route_errors)
{
	struct event_base	*base = event_base_new();
	struct httpd_opts	 o = { .listen = "127.0.0.1:0" };
	struct httpd		*h;
	char			 err[256];

	h = httpd_new(base, &o, err, sizeof(err));
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(httpd_route(h, "/a", HTTPD_GET, h_hello, NULL), 0);
	ck_assert_int_eq(httpd_route(h, "/a", HTTPD_POST, h_hello, NULL), -1);
	ck_assert_int_eq(httpd_route(h, "/a*", HTTPD_GET, h_hello, NULL), 0);
	ck_assert_int_eq(httpd_route(h, "/b/", HTTPD_GET, h_hello, NULL), 0);
	ck_assert_int_eq(httpd_route(h, "/b/*", HTTPD_GET, h_hello, NULL), -1);
	ck_assert_int_eq(httpd_route(h, "a", HTTPD_GET, h_hello, NULL), -1);
	ck_assert_int_eq(httpd_route(h, "", HTTPD_GET, h_hello, NULL), -1);
	ck_assert_int_eq(httpd_route(h, "/c", 0, h_hello, NULL), -1);
	httpd_free(h);
	httpd_free(NULL);
	event_base_free(base);
}
END_TEST

START_TEST(test_listen)
{
	static const struct { const char *addr, *err; } bad[] = {
		{ "", "empty listen address" },
		{ "nonsense", "invalid listen address \"nonsense\": expected "
		  "HOST:PORT or [IPv6]:PORT" },
		{ "::1:80", "invalid listen address \"::1:80\": expected "
		  "HOST:PORT or [IPv6]:PORT" },
		{ "[::1]80", "invalid listen address \"[::1]80\": expected "
		  "[IPv6]:PORT" },
		{ "127.0.0.1:70000",
		  "invalid port in listen address \"127.0.0.1:70000\"" },
		{ "127.0.0.1:", "invalid port in listen address \"127.0.0.1:\"" },
		{ "127.0.0.1:-1",
		  "invalid port in listen address \"127.0.0.1:-1\"" },
		{ "127.0.0.1:80x",
		  "invalid port in listen address \"127.0.0.1:80x\"" },
	};
	struct event_base	*base = event_base_new();
	struct httpd_opts	 o = { 0 };
	struct httpd		*h, *h2;
	char			 err[256], addr[64], want[128];
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.listen = bad[i].addr;
		ck_assert_ptr_null(httpd_new(base, &o, err, sizeof(err)));
		ck_assert_str_eq(err, bad[i].err);
	}

	o.listen = "[::1]:0";
	h = httpd_new(base, &o, err, sizeof(err));
	ck_assert_msg(h != NULL, "%s", err);
	ck_assert_int_gt(httpd_port(h), 0);
	httpd_free(h);

	o.listen = "127.0.0.1:0";
	h = httpd_new(base, &o, err, sizeof(err));
	ck_assert_ptr_nonnull(h);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", httpd_port(h));
	o.listen = addr;
	ck_assert_ptr_null(h2 = httpd_new(base, &o, err, sizeof(err)));
	snprintf(want, sizeof(want), "cannot listen on %s: Address already "
	    "in use", addr);
	ck_assert_str_eq(err, want);
	httpd_free(h);

	o.listen = "127.0.0.1:0";
	o.max_connections = 100000000;
	ck_assert_ptr_null(httpd_new(base, &o, err, sizeof(err)));
	snprintf(want, sizeof(want), "max_connections 100000000 is more than "
	    "the open file limit %ld allows (at most %ld)",
	    httpd_raise_nofile(), httpd_raise_nofile() - 64);
	ck_assert_str_eq(err, want);
	event_base_free(base);
}
END_TEST

START_TEST(test_query_params)
{
	struct httpd_opts	o = { 0 };
	struct srv		*s = srv_start(&o);
	struct resp		 r;

	get(s, "/api/v1/query?query=up%7Bjob%3D%22a+b%22%7D&match[]=a"
	    "&match%5B%5D=b%26c&&time=1.5&empty=&flag", &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body,
	    "query=up{job=\"a b\"}\n"
	    "match[]=a\n"
	    "match[]=b&c\n"
	    "time=1.5\n"
	    "empty=\n"
	    "flag=\n"
	    "match:a\n"
	    "match:b&c\n"
	    "query:up{job=\"a b\"}\n");
	resp_free(&r);

	get(s, "/api/v1/query", &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body, "query:(none)\n");
	resp_free(&r);

	get(s, "/api/v1/query?query=%zz", &r);
	ck_assert_int_eq(r.code, 400);
	ck_assert_str_eq(r.body, "{\"status\":\"error\",\"errorType\":"
	    "\"bad_data\",\"error\":\"invalid URL escape \\\"%zz\\\"\"}");
	resp_free(&r);

	get(s, "/api/v1/query?query=%4", &r);
	ck_assert_int_eq(r.code, 400);
	ck_assert_str_eq(r.body, "{\"status\":\"error\",\"errorType\":"
	    "\"bad_data\",\"error\":\"invalid URL escape \\\"%4\\\"\"}");
	resp_free(&r);

	get(s, "/api/v1/query?query=a%00b", &r);
	ck_assert_int_eq(r.code, 400);
	ck_assert_str_eq(r.body, "{\"status\":\"error\",\"errorType\":"
	    "\"bad_data\",\"error\":\"invalid NUL byte (%00) in URL\"}");
	resp_free(&r);

	get(s, "/hel%6co", &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body, "hello\n");
	resp_free(&r);

	get(s, "/hello%zz", &r);
	ck_assert_int_eq(r.code, 400);
	ck_assert_str_eq(r.body, "invalid URL escape \"%zz\"\n");
	resp_free(&r);
	srv_stop(s);
}
END_TEST

START_TEST(test_post_form)
{
	static const char	 form[] =
	    "query=rate(x%5B5m%5D)&match[]=c+d&time=3";
	struct httpd_opts	 o = { 0 };
	struct srv		*s = srv_start(&o);
	struct resp		 r;

	/* Form parameters come before those of the query string. */
	post(s, "/api/v1/query?time=2&match[]=q", "Content-Type: "
	    "application/x-www-form-urlencoded; charset=UTF-8\r\n", form,
	    strlen(form), &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body,
	    "query=rate(x[5m])\n"
	    "match[]=c d\n"
	    "time=3\n"
	    "time=2\n"
	    "match[]=q\n"
	    "match:c d\n"
	    "match:q\n"
	    "query:rate(x[5m])\n");
	resp_free(&r);

	/* Another content type: the body is not parameters. */
	post(s, "/api/v1/query?time=2", "Content-Type: text/plain\r\n", form,
	    strlen(form), &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body, "time=2\nquery:(none)\n");
	resp_free(&r);

	post(s, "/api/v1/query", "Content-Type: "
	    "application/x-www-form-urlencoded\r\n", "query=%G1", 9, &r);
	ck_assert_int_eq(r.code, 400);
	ck_assert_str_eq(r.body, "{\"status\":\"error\",\"errorType\":"
	    "\"bad_data\",\"error\":\"invalid URL escape \\\"%G1\\\"\"}");
	resp_free(&r);
	srv_stop(s);
}
END_TEST

START_TEST(test_head)
{
	struct httpd_opts	o = { 0 };
	struct srv		*s = srv_start(&o);
	struct resp		 r;

	ck_assert_int_eq(http(s, "HEAD /big HTTP/1.1\r\nHost: t\r\n"
	    "Accept-Encoding: gzip\r\nConnection: close\r\n\r\n", 0, &r), 0);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(resp_header(&r, "Content-Length"), "5000");
	ck_assert_str_eq(resp_header(&r, "Content-Type"),
	    "text/plain; charset=utf-8");
	ck_assert_ptr_null(resp_header(&r, "Content-Encoding"));
	ck_assert_uint_eq(r.bodylen, 0);
	ck_assert_int_eq(r.closed, 0);
	resp_free(&r);
	srv_stop(s);
}
END_TEST

/*
 * Reads one answer on FD and checks it is 200 with BODY (LEN bytes), a
 * Date, and the Connection header CONN (NULL: none).
 */
static void
read_ok(int fd, const char *body, size_t len, const char *conn)
{
	struct resp	 r;
	const char	*got;

	ck_assert_int_eq(read_response(fd, &r, 0), 0);
	ck_assert_int_eq(r.code, 200);
	ck_assert_uint_eq(r.bodylen, len);
	ck_assert(memcmp(r.body, body, len) == 0);
	ck_assert_ptr_nonnull(resp_header(&r, "Date"));
	got = resp_header(&r, "Connection");
	if (conn == NULL)
		ck_assert_ptr_null(got);
	else
		ck_assert_str_eq(got, conn);
	resp_free(&r);
}

/*
 * Sends REQ on FD, waits LATE_US before reading, and checks the answer is
 * 200 with BODY (LEN bytes) on a connection kept alive.
 */
static void
ask_ok(int fd, const char *req, unsigned late_us, const char *body,
    size_t len)
{
	ck_assert_int_eq(send_all(fd, req, strlen(req)), 0);
	if (late_us > 0)
		usleep(late_us);
	read_ok(fd, body, len, NULL);
}

/*
 * REQ, which cannot be received whole, on a connection of its own, is
 * answered CODE with BODY, and the connection closed after it.
 */
static void
ask_fails(struct srv *s, const char *req, int code, const char *body)
{
	struct resp r;

	ck_assert_int_eq(http(s, req, 0, &r), 0);
	ck_assert_int_eq(r.code, code);
	ck_assert_str_eq(r.body, body);
	ck_assert_str_eq(resp_header(&r, "Connection"), "close");
	resp_free(&r);
}

START_TEST(test_keepalive)
{
	struct httpd_opts	 o = { 0 };
	struct srv		*s = srv_start(&o);
	struct resp		 r;
	int			 fd = tcp_connect(s->port), i;
	static const char	 req[] = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";

	for (i = 0; i < 3; i++)
		ask_ok(fd, req, 0, "hello\n", 6);
	/* Two requests in one packet (pipelining). */
	ck_assert_int_eq(send_all(fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
	    "GET /json HTTP/1.1\r\nHost: t\r\n\r\n", 64), 0);
	ck_assert_int_eq(read_response(fd, &r, 0), 0);
	ck_assert_str_eq(r.body, "hello\n");
	resp_free(&r);
	ck_assert_int_eq(read_response(fd, &r, 0), 0);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(resp_header(&r, "Content-Type"), "application/json");
	resp_free(&r);
	close(fd);
	srv_stop(s);
}
END_TEST

/*
 * An answer larger than the socket takes at once, to a client that reads
 * late, arrives whole and in order, and the connection then serves the
 * next request, twice over.
 */
START_TEST(test_reply_read_late)
{
	struct httpd_opts	 o = { 0 };
	struct srv		*s = srv_start(&o);
	struct buf		 want = BUF_INIT;
	int			 fd = tcp_connect(s->port), i;

	huge_body(&want);
	for (i = 0; i < 2; i++)
		ask_ok(fd, "GET /huge HTTP/1.1\r\nHost: t\r\n\r\n", 200 * 1000,
		    want.data, want.len);
	ask_ok(fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", 0, "hello\n", 6);
	buf_free(&want);
	close(fd);
	srv_stop(s);
}
END_TEST

/*
 * What HTTP/1.1 clients send besides a plain GET, on one connection: a
 * chunked body (with an extension and a trailer), Expect: 100-continue, a
 * POST and a GET in one write, an absolute-form target, a request that
 * arrives a byte at a time; then HTTP/1.0 with and without keep-alive.
 */
START_TEST(test_framing)
{
	struct httpd_opts	 o = { 0 };
	struct srv		*s = srv_start(&o);
	struct resp		 r;
	char			 c;
	int			 fd = tcp_connect(s->port), i;
	static const char	 chunked[] = "POST /body HTTP/1.1\r\nHost: t\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3;ext=1\r\nefg\r\n"
	    "0\r\nX-Trailer: z\r\n\r\n";
	static const char	 slow[] = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";

	ask_ok(fd, chunked, 0, "abcdefg", 7);
	ask_ok(fd, chunked, 0, "abcdefg", 7);

	ck_assert_int_eq(send_all(fd, "POST /body HTTP/1.1\r\nHost: t\r\n"
	    "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n", 73), 0);
	ck_assert_int_eq(read_response(fd, &r, 1), 0);
	ck_assert_int_eq(r.code, 100);
	resp_free(&r);
	ask_ok(fd, "hello", 0, "hello", 5);

	ck_assert_int_eq(send_all(fd, "POST /body HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: 3\r\n\r\nxyzGET /hello HTTP/1.1\r\nHost: t\r\n\r\n",
	    86), 0);
	read_ok(fd, "xyz", 3, NULL);
	read_ok(fd, "hello\n", 6, NULL);

	ask_ok(fd, "GET http://t:9/hello?x=1 HTTP/1.1\r\nHost: t\r\n\r\n", 0,
	    "hello\n", 6);

	for (i = 0; slow[i] != '\0'; i++) {
		ck_assert_int_eq(send_all(fd, slow + i, 1), 0);
		usleep(1000);
	}
	read_ok(fd, "hello\n", 6, NULL);
	close(fd);

	fd = tcp_connect(s->port);
	ck_assert_int_eq(send_all(fd, "GET /hello HTTP/1.0\r\n"
	    "Connection: keep-alive\r\n\r\n", 47), 0);
	read_ok(fd, "hello\n", 6, "keep-alive");
	ck_assert_int_eq(send_all(fd, "GET /hello HTTP/1.0\r\n\r\n", 23), 0);
	read_ok(fd, "hello\n", 6, "close");
	ck_assert_int_eq(recv(fd, &c, 1, 0), 0);
	close(fd);
	srv_stop(s);
}
END_TEST

/*
 * Requests that cannot be received whole are answered, counted, and their
 * connection closed; a client still sending a body too large gets the
 * answer whole, not a reset.
 */
START_TEST(test_framing_errors)
{
	struct httpd_opts	 o = { .max_body_bytes = 4096 };
	struct srv		*s = srv_start(&o);
	struct resp		 r;
	char			 c, *big;
	int			 fd;
	static const char	 head[] = "POST /body HTTP/1.1\r\nHost: t\r\n"
	    "Content-Length: 4194304\r\n\r\n";

	ask_fails(s, "POST /body HTTP/1.1\r\nHost: t\r\nExpect: x-later\r\n"
	    "Content-Length: 1\r\n\r\nx", 417,
	    "unsupported Expect \"x-later\"\n");
	ask_fails(s, "GET /hello HTTP/2.0\r\nHost: t\r\n\r\n", 505,
	    "HTTP version 2.0 not supported\n");
	/* Both lengths: a request smuggler's favourite, refused. */
	ask_fails(s, "POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 400,
	    "malformed request: unexpected content-length header\n");

	big = calloc(1, 4194304);
	fd = tcp_connect(s->port);
	ck_assert_int_eq(send_all(fd, head, strlen(head)), 0);
	ck_assert_int_eq(send_all(fd, big, 4194304), 0);
	ck_assert_int_eq(read_response(fd, &r, 0), 0);
	ck_assert_int_eq(r.code, 413);
	ck_assert_str_eq(r.body, "request body larger than 4096 bytes\n");
	resp_free(&r);
	ck_assert_int_eq(recv(fd, &c, 1, 0), 0);
	close(fd);
	free(big);

	ck_assert(metric(s, "monitord_http_requests_total{handler=\"/body\","
	    "code=\"417\"}") == 1);
	ck_assert(metric(s, "monitord_http_requests_total{handler=\"/body\","
	    "code=\"413\"}") == 1);
	ck_assert(metric(s, "monitord_http_requests_total{handler=\"/hello\","
	    "code=\"505\"}") == 1);
	/* Garbage has no route, nor has a head refused before its end. */
	ask_fails(s, "\x16\x03\x01 tls?\r\n\r\n", 400,
	    "malformed request: invalid HTTP method\n");
	ck_assert(metric(s, "monitord_http_requests_total{handler="
	    "\"unmatched\",code=\"400\"}") == 2);
	wait_connections(s, 1);
	srv_stop(s);
}
END_TEST

START_TEST(test_gzip_reply)
{
	struct httpd_opts	 o = { 0 };
	struct srv		*s = srv_start(&o);
	struct resp		 r;
	struct buf		 want = BUF_INIT, got = BUF_INIT;

	big_body(&want);
	ck_assert_int_eq(http(s, "GET /big HTTP/1.1\r\nHost: t\r\n"
	    "Accept-Encoding: deflate, gzip;q=0.5, br\r\n"
	    "Connection: close\r\n\r\n", 0, &r), 0);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(resp_header(&r, "Content-Encoding"), "gzip");
	ck_assert_str_eq(resp_header(&r, "Vary"), "Accept-Encoding");
	ck_assert_str_eq(resp_header(&r, "Content-Type"),
	    "text/plain; charset=utf-8");
	ck_assert_uint_lt(r.bodylen, 5000);
	ck_assert_uint_eq(strtoul(resp_header(&r, "Content-Length"), NULL, 10),
	    r.bodylen);
	gunzip_data(r.body, r.bodylen, &got);
	ck_assert_uint_eq(got.len, want.len);
	ck_assert(memcmp(got.data, want.data, want.len) == 0);
	resp_free(&r);

	/* Refused by q=0, or not asked for: identity, still Vary. */
	ck_assert_int_eq(http(s, "GET /big HTTP/1.1\r\nHost: t\r\n"
	    "Accept-Encoding: gzip;q=0, *\r\nConnection: close\r\n\r\n", 0,
	    &r), 0);
	ck_assert_ptr_null(resp_header(&r, "Content-Encoding"));
	ck_assert_str_eq(resp_header(&r, "Vary"), "Accept-Encoding");
	ck_assert_str_eq(r.body, want.data);
	resp_free(&r);
	get(s, "/big", &r);
	ck_assert_ptr_null(resp_header(&r, "Content-Encoding"));
	ck_assert_str_eq(r.body, want.data);
	resp_free(&r);

	/* "*" allows gzip. */
	ck_assert_int_eq(http(s, "GET /big HTTP/1.1\r\nHost: t\r\n"
	    "Accept-Encoding: *\r\nConnection: close\r\n\r\n", 0, &r), 0);
	ck_assert_str_eq(resp_header(&r, "Content-Encoding"), "gzip");
	resp_free(&r);

	/* Small bodies are sent as they are. */
	ck_assert_int_eq(http(s, "GET /hello HTTP/1.1\r\nHost: t\r\n"
	    "Accept-Encoding: gzip\r\nConnection: close\r\n\r\n", 0, &r), 0);
	ck_assert_ptr_null(resp_header(&r, "Content-Encoding"));
	ck_assert_ptr_null(resp_header(&r, "Vary"));
	ck_assert_str_eq(r.body, "hello\n");
	resp_free(&r);
	buf_free(&want);
	buf_free(&got);
	srv_stop(s);
}
END_TEST

START_TEST(test_gzip_request)
{
	struct httpd_opts	 o = { .max_decoded_body_bytes = 65536 };
	struct srv		*s = srv_start(&o);
	struct resp		 r;
	struct buf		 plain = BUF_INIT, gz = BUF_INIT, two = BUF_INIT;
	char			*zeros;

	big_body(&plain);
	gzip_data(plain.data, plain.len, &gz);
	post(s, "/body", "Content-Encoding: gzip\r\n", gz.data, gz.len, &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_uint_eq(r.bodylen, plain.len);
	ck_assert(memcmp(r.body, plain.data, plain.len) == 0);
	resp_free(&r);

	/* Two gzip members are one body. */
	buf_add(&two, gz.data, gz.len);
	buf_add(&two, gz.data, gz.len);
	post(s, "/body", "Content-Encoding: x-gzip\r\n", two.data, two.len, &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_uint_eq(r.bodylen, 2 * plain.len);
	resp_free(&r);

	/* A form body may come compressed too. */
	buf_reset(&gz);
	gzip_data("query=up", 8, &gz);
	post(s, "/api/v1/query", "Content-Encoding: gzip\r\nContent-Type: "
	    "application/x-www-form-urlencoded\r\n", gz.data, gz.len, &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body, "query=up\nquery:up\n");
	resp_free(&r);

	post(s, "/body", "Content-Encoding: gzip\r\n", "not gzip", 8, &r);
	ck_assert_int_eq(r.code, 400);
	ck_assert_str_eq(r.body, "invalid gzip data: incorrect header check\n");
	resp_free(&r);

	post(s, "/body", "Content-Encoding: gzip\r\n", gz.data, gz.len - 4, &r);
	ck_assert_int_eq(r.code, 400);
	ck_assert_str_eq(r.body, "truncated gzip data\n");
	resp_free(&r);

	post(s, "/body", "Content-Encoding: br\r\n", "x", 1, &r);
	ck_assert_int_eq(r.code, 415);
	ck_assert_str_eq(r.body, "unsupported Content-Encoding \"br\"\n");
	resp_free(&r);

	/* 1 MiB of zeros is 1 KiB compressed: a small bomb. */
	zeros = calloc(1, 1 << 20);
	buf_reset(&gz);
	gzip_data(zeros, 1 << 20, &gz);
	ck_assert_uint_lt(gz.len, 4096);
	post(s, "/body", "Content-Encoding: gzip\r\n", gz.data, gz.len, &r);
	ck_assert_int_eq(r.code, 413);
	ck_assert_str_eq(r.body, "decompressed body larger than 65536 bytes\n");
	resp_free(&r);

	/* Exactly the limit is fine. */
	buf_reset(&gz);
	gzip_data(zeros, 65536, &gz);
	post(s, "/body", "Content-Encoding: gzip\r\n", gz.data, gz.len, &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_uint_eq(r.bodylen, 65536);
	resp_free(&r);
	free(zeros);
	buf_free(&plain);
	buf_free(&gz);
	buf_free(&two);
	srv_stop(s);
}
END_TEST

START_TEST(test_body_limit)
{
	struct httpd_opts	 o = { .max_body_bytes = 4096 };
	struct srv		*s = srv_start(&o);
	struct resp		 r;
	struct buf		 req = BUF_INIT;
	char			*body = malloc(100000);

	memset(body, 'x', 100000);
	post(s, "/body", "", body, 4096, &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_uint_eq(r.bodylen, 4096);
	resp_free(&r);

	post(s, "/body", "", body, 4097, &r);
	ck_assert_int_eq(r.code, 413);
	resp_free(&r);

	post(s, "/body", "", body, 100000, &r);
	ck_assert_int_eq(r.code, 413);
	resp_free(&r);

	/* Chunked bodies are bounded too: 4096 + 16 bytes. */
	buf_adds(&req, "POST /body HTTP/1.1\r\nHost: t\r\n"
	    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
	    "1000\r\n");
	buf_add(&req, body, 4096);
	buf_adds(&req, "\r\n10\r\nxxxxxxxxxxxxxxxx\r\n0\r\n\r\n");
	ck_assert_int_eq(http(s, req.data, req.len, &r), 0);
	ck_assert_int_eq(r.code, 413);
	resp_free(&r);
	buf_free(&req);

	get(s, "/hello", &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body, "hello\n");
	resp_free(&r);
	free(body);
	wait_connections(s, 1);
	srv_stop(s);
}
END_TEST

START_TEST(test_header_limits)
{
	struct httpd_opts	 o = { .max_header_bytes = 2048,
				       .max_headers = 10 };
	struct srv		*s = srv_start(&o);
	struct resp		 r;
	struct buf		 req = BUF_INIT;
	int			 i;

	/* Nine fields and Host: ten, the limit. */
	buf_adds(&req, "GET /hello HTTP/1.1\r\nHost: t\r\n");
	for (i = 0; i < 8; i++)
		buf_printf(&req, "X-H%d: %d\r\n", i, i);
	buf_adds(&req, "Connection: close\r\n\r\n");
	ck_assert_int_eq(http(s, req.data, 0, &r), 0);
	ck_assert_int_eq(r.code, 200);
	resp_free(&r);

	buf_reset(&req);
	buf_adds(&req, "GET /hello HTTP/1.1\r\nHost: t\r\n");
	for (i = 0; i < 9; i++)
		buf_printf(&req, "X-H%d: %d\r\n", i, i);
	buf_adds(&req, "Connection: close\r\n\r\n");
	ck_assert_int_eq(http(s, req.data, 0, &r), 0);
	ck_assert_int_eq(r.code, 431);
	ck_assert_str_eq(r.body, "more than 10 header fields\n");
	resp_free(&r);

	buf_reset(&req);
	buf_adds(&req, "GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: ");
	for (i = 0; i < 3000; i++)
		buf_addc(&req, 'a');
	buf_adds(&req, "\r\nConnection: close\r\n\r\n");
	ask_fails(s, req.data, 431,
	    "request header fields longer than 2048 bytes\n");

	/* A request line longer than the limit. */
	buf_reset(&req);
	buf_adds(&req, "GET /hello?q=");
	for (i = 0; i < 3000; i++)
		buf_addc(&req, 'a');
	buf_adds(&req, " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	ask_fails(s, req.data, 414, "request line longer than 2048 bytes\n");

	/* Garbage is a 400 and the server goes on. */
	ask_fails(s, "\x01\x02 nonsense\r\n\r\n", 400,
	    "malformed request: invalid HTTP method\n");
	get(s, "/hello", &r);
	ck_assert_int_eq(r.code, 200);
	resp_free(&r);
	wait_connections(s, 1);
	buf_free(&req);
	srv_stop(s);
}
END_TEST

START_TEST(test_idle_connections)
{
	struct httpd_opts	 o = { .max_connections = 600 };
	struct srv		*s = srv_start(&o);
	struct resp		 r;
	int			 fds[500], i;

	for (i = 0; i < 500; i++)
		fds[i] = tcp_connect(s->port);
	get(s, "/hello", &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body, "hello\n");
	resp_free(&r);
	/* The 500 idle ones and the one asking. */
	ck_assert(metric(s, "monitord_http_connections") == 501);
	for (i = 0; i < 500; i++)
		close(fds[i]);
	wait_connections(s, 1);
	srv_stop(s);
}
END_TEST

START_TEST(test_max_connections)
{
	struct httpd_opts	 o = { .max_connections = 3 };
	struct srv		*s = srv_start(&o);
	struct resp		 r;
	struct timespec		 start;
	int			 fds[2], i;

	for (i = 0; i < 2; i++)
		fds[i] = tcp_connect(s->port);
	/* The third connection is within the limit. */
	get(s, "/hello", &r);
	ck_assert_int_eq(r.code, 200);
	resp_free(&r);

	i = tcp_connect(s->port);	/* a fourth, held open */
	get(s, "/hello", &r);		/* the fifth */
	ck_assert_int_eq(r.code, 503);
	ck_assert_str_eq(r.body, "too many open connections\n");
	ck_assert_str_eq(resp_header(&r, "Connection"), "close");
	ck_assert_int_eq(r.closed, 0);
	resp_free(&r);
	close(i);
	close(fds[0]);
	close(fds[1]);
	/* Once the others are gone the next one is served. */
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		get(s, "/hello", &r);
		if (r.code == 200 || ms_since(&start) > POLL_DEADLINE_MS)
			break;
		ck_assert_int_eq(r.code, 503);
		resp_free(&r);
		usleep(10000);
	}
	ck_assert_int_eq(r.code, 200);
	resp_free(&r);
	ck_assert(metric(s, "monitord_http_connections_rejected_total") >= 1);
	srv_stop(s);
}
END_TEST

START_TEST(test_timeouts)
{
	struct httpd_opts	 o = { .request_timeout_ms = 300 };
	struct httpd_opts	 ko = { .request_timeout_ms = 2000 };
	struct srv		*s = srv_start(&o), *ks;
	struct timespec		 start;
	char			 c;
	int			 fd, i;
	ssize_t			 n;

	/* Idle: closed without a reply. */
	fd = tcp_connect(s->port);
	ck_assert_int_eq(recv(fd, &c, 1, 0), 0);
	close(fd);

	/*
	 * A request trickling in a byte per 100 ms is cut off as a whole.
	 * The loop ends when the server closes; its bound is only there so
	 * that a server that never does fails instead of hanging.
	 */
	fd = tcp_connect(s->port);
	for (i = 0; i < 100; i++) {
		if (send(fd, "GET /hello HTTP/1.1\r\nX-Slow: ", 1,
		    MSG_NOSIGNAL) != 1)
			break;
		usleep(100000);
		n = recv(fd, &c, 1, MSG_DONTWAIT);
		if (n == 0 || (n == -1 && errno != EAGAIN))
			break;
	}
	ck_assert_int_lt(i, 100);
	close(fd);
	srv_stop(s);

	/*
	 * After a reply on a kept-alive connection the clock starts again:
	 * requests sent back to back keep one connection open for longer
	 * than the timeout, then silence closes it.  The gaps between them
	 * are a round trip each, far below a timeout of 2 s even when the
	 * machine is loaded (with 300 ms, and 100 ms pauses, a loaded
	 * machine made a gap longer than the timeout).
	 */
	ks = srv_start(&ko);
	fd = tcp_connect(ks->port);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (i = 0; ms_since(&start) < 3000; i++) {
		struct resp r;

		ck_assert_int_eq(send_all(fd, "GET /hello HTTP/1.1\r\n"
		    "Host: t\r\n\r\n", 32), 0);
		ck_assert_msg(read_response(fd, &r, 0) == 0, "i=%d", i);
		ck_assert_int_eq(r.code, 200);
		ck_assert_int_eq(r.closed, 0);
		resp_free(&r);
		usleep(20000);
	}
	ck_assert_int_eq(recv(fd, &c, 1, 0), 0);
	close(fd);
	wait_connections(ks, 1);
	srv_stop(ks);
}
END_TEST

START_TEST(test_async)
{
	struct httpd_opts	 o = { 0 };
	struct srv		*s = srv_start(&o);
	struct resp		 r;
	struct timespec		 start;
	int			 fd;

	get(s, "/async", &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body, "later\n");
	resp_free(&r);

	/* The client leaves before the answer: it is dropped quietly. */
	fd = tcp_connect(s->port);
	ck_assert_int_eq(send_all(fd, "GET /async HTTP/1.1\r\nHost: t\r\n\r\n",
	    32), 0);
	usleep(10000);
	close(fd);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (metric(s, "monitord_http_requests_total{handler=\"/async\","
	    "code=\"200\"}") != 2) {
		ck_assert_int_lt(ms_since(&start), POLL_DEADLINE_MS);
		usleep(10000);
	}
	ck_assert(metric(s, "monitord_http_requests_in_flight") == 1);
	srv_stop(s);
}
END_TEST

START_TEST(test_metrics)
{
	struct httpd_opts	 o = { 0 };
	struct srv		*s = srv_start(&o);
	struct resp		 r;
	const char		*p;

	get(s, "/hello", &r);
	resp_free(&r);
	get(s, "/hello", &r);
	resp_free(&r);
	get(s, "/nope", &r);
	resp_free(&r);
	post(s, "/hello", "", "", 0, &r);
	resp_free(&r);
	get(s, "/api/v1/label/a/values", &r);
	resp_free(&r);
	get(s, "/api/v1/label/b/values", &r);
	resp_free(&r);

	get(s, "/metrics", &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_msg(strstr(r.body,
	    "# HELP monitord_http_requests_total HTTP requests answered by "
	    "monitord, by route and status code: the traffic and errors of "
	    "its API and dashboard.\n"
	    "# TYPE monitord_http_requests_total counter\n"
	    "monitord_http_requests_total{handler=\"/hello\",code=\"200\"} 2\n"
	    "monitord_http_requests_total{handler=\"/hello\",code=\"405\"} 1\n"
	    "monitord_http_requests_total{handler=\"/api/v1/label/*\","
	    "code=\"200\"} 2\n"
	    "monitord_http_requests_total{handler=\"unmatched\",code=\"404\"} 1\n"
	    "# HELP") != NULL, "%s", r.body);
	ck_assert_msg(strstr(r.body,
	    "monitord_http_request_duration_seconds_bucket{handler=\"/hello\","
	    "le=\"+Inf\"} 3\n"
	    "monitord_http_request_duration_seconds_sum{handler=\"/hello\"} ")
	    != NULL, "%s", r.body);
	ck_assert(strstr(r.body,
	    "monitord_http_request_duration_seconds_count{handler=\"/hello\"} "
	    "3\n") != NULL);
	ck_assert(strstr(r.body, "# TYPE monitord_http_request_duration_seconds"
	    " histogram\n") != NULL);
	/* "hello\n" twice and "method POST not allowed\n". */
	ck_assert(strstr(r.body, "monitord_http_response_bytes_total{handler="
	    "\"/hello\"} 36\n") != NULL);
	ck_assert(strstr(r.body, "monitord_http_response_bytes_total{handler="
	    "\"unmatched\"} 10\n") != NULL);
	ck_assert(strstr(r.body, "# TYPE monitord_http_connections gauge\n"
	    "monitord_http_connections 1\n") != NULL);
	ck_assert(strstr(r.body, "monitord_http_requests_in_flight 1\n") !=
	    NULL);
	ck_assert(strstr(r.body, "monitord_http_connections_rejected_total 0\n")
	    != NULL);
	/* Every bucket line of a handler that has not been asked is 0. */
	p = strstr(r.body, "monitord_http_request_duration_seconds_bucket{"
	    "handler=\"/json\",le=\"0.005\"} 0\n");
	ck_assert_ptr_nonnull(p);
	resp_free(&r);
	ck_assert(metric(s, "monitord_http_requests_total{handler=\"/metrics\","
	    "code=\"200\"}") == 1);
	srv_stop(s);
}
END_TEST

START_TEST(test_accept_gzip)
{
	static const struct { const char *h; int want; } cases[] = {
		{ NULL, 0 }, { "", 0 }, { "gzip", 1 }, { "GZIP", 1 },
		{ "x-gzip", 1 }, { "gzip;q=0", 0 }, { "gzip; q=0.000", 0 },
		{ "gzip;q=0.001", 1 }, { "gzip;Q=1", 1 }, { "deflate", 0 },
		{ "*", 1 }, { "*;q=0", 0 }, { "gzip;q=0, *", 0 },
		{ "identity, *;q=1", 1 }, { " gzip ; q=1 ", 1 },
		{ "gzipx", 0 }, { "deflate, gzip", 1 }, { ",,gzip,,", 1 },
		{ "gzip;level=1;q=0", 0 }, { "br;q=1, gzip;q=0.5", 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(accept_gzip(cases[i].h) == cases[i].want,
		    "\"%s\"", cases[i].h ? cases[i].h : "(null)");
}
END_TEST

START_TEST(test_codings)
{
	ck_assert_int_eq(content_coding(NULL), CODING_IDENTITY);
	ck_assert_int_eq(content_coding(" "), CODING_IDENTITY);
	ck_assert_int_eq(content_coding("Identity"), CODING_IDENTITY);
	ck_assert_int_eq(content_coding(" gzip "), CODING_GZIP);
	ck_assert_int_eq(content_coding("X-GZIP"), CODING_GZIP);
	ck_assert_int_eq(content_coding("gzip, gzip"), CODING_UNSUPPORTED);
	ck_assert_int_eq(content_coding("snappy"), CODING_UNSUPPORTED);
	ck_assert_int_eq(content_type_is_form(
	    "application/x-www-form-urlencoded"), 1);
	ck_assert_int_eq(content_type_is_form(
	    "Application/X-WWW-Form-Urlencoded ; charset=utf-8"), 1);
	ck_assert_int_eq(content_type_is_form(
	    "application/x-www-form-urlencodedx"), 0);
	ck_assert_int_eq(content_type_is_form("multipart/form-data"), 0);
	ck_assert_int_eq(content_type_is_form(NULL), 0);
}
END_TEST

START_TEST(test_unescape)
{
	struct buf	b = BUF_INIT;
	char		err[128];

	ck_assert_int_eq(url_unescape("a+b%2B%c3%A9", 12, 1, &b, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(b.data, "a b+\xc3\xa9");
	buf_reset(&b);
	ck_assert_int_eq(url_unescape("a+b", 3, 0, &b, err, sizeof(err)), 0);
	ck_assert_str_eq(b.data, "a+b");
	buf_reset(&b);
	ck_assert_int_eq(url_unescape("x%\xff\x01", 4, 1, &b, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "invalid URL escape \"%\\xff\\x01\"");
	ck_assert_int_eq(url_unescape("x%", 2, 1, &b, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "invalid URL escape \"%\"");
	ck_assert_int_eq(url_unescape("a\0b", 3, 1, &b, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "invalid NUL byte in URL");
	buf_free(&b);
}
END_TEST

START_TEST(test_inflate)
{
	struct buf	plain = BUF_INIT, gz = BUF_INIT, out = BUF_INIT;
	char		err[128];

	big_body(&plain);
	gzip_deflate(plain.data, plain.len, 6, &gz);
	ck_assert_int_eq(gzip_inflate(gz.data, gz.len, plain.len, &out, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(out.len, plain.len);
	ck_assert_str_eq(out.data, plain.data);
	buf_reset(&out);
	ck_assert_int_eq(gzip_inflate(gz.data, gz.len, plain.len - 1, &out,
	    err, sizeof(err)), GZIP_TOO_LARGE);
	ck_assert_str_eq(err, "decompressed body larger than 4999 bytes");
	ck_assert_uint_le(out.len, plain.len);
	buf_reset(&out);
	ck_assert_int_eq(gzip_inflate("", 0, 10, &out, err, sizeof(err)),
	    GZIP_BAD);
	ck_assert_str_eq(err, "empty gzip body");
	/* A valid member followed by garbage. */
	buf_add(&gz, "xyz", 3);
	buf_reset(&out);
	ck_assert_int_eq(gzip_inflate(gz.data, gz.len, 1 << 20, &out, err,
	    sizeof(err)), GZIP_BAD);
	ck_assert_str_eq(err, "invalid gzip data: incorrect header check");
	/* An empty body compresses and decompresses. */
	buf_reset(&gz);
	buf_reset(&out);
	gzip_deflate("", 0, 1, &gz);
	ck_assert_int_eq(gzip_inflate(gz.data, gz.len, 0, &out, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(out.len, 0);
	buf_free(&plain);
	buf_free(&gz);
	buf_free(&out);
}
END_TEST

static Suite *
http_suite(void)
{
	Suite	*s = suite_create("http");
	TCase	*tc = tcase_create("server");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_exact_route);
	tcase_add_test(tc, test_not_found_and_405);
	tcase_add_test(tc, test_not_found_json);
	tcase_add_test(tc, test_prefix_routes);
	tcase_add_test(tc, test_route_errors);
	tcase_add_test(tc, test_listen);
	tcase_add_test(tc, test_query_params);
	tcase_add_test(tc, test_post_form);
	tcase_add_test(tc, test_head);
	tcase_add_test(tc, test_keepalive);
	tcase_add_test(tc, test_reply_read_late);
	tcase_add_test(tc, test_framing);
	tcase_add_test(tc, test_framing_errors);
	tcase_add_test(tc, test_gzip_reply);
	tcase_add_test(tc, test_gzip_request);
	tcase_add_test(tc, test_body_limit);
	tcase_add_test(tc, test_header_limits);
	tcase_add_test(tc, test_idle_connections);
	tcase_add_test(tc, test_max_connections);
	tcase_add_test(tc, test_timeouts);
	tcase_add_test(tc, test_async);
	tcase_add_test(tc, test_metrics);
	suite_add_tcase(s, tc);

	tc = tcase_create("decoding");
	tcase_add_test(tc, test_accept_gzip);
	tcase_add_test(tc, test_codings);
	tcase_add_test(tc, test_unescape);
	tcase_add_test(tc, test_inflate);
	suite_add_tcase(s, tc);
	return s;
}

TCHECK_MAIN(http_suite)
