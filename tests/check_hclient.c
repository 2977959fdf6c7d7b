/*
 * The HTTP client against a real HTTP server on 127.0.0.1 (libevent's
 * evhttp, in the same event loop): bodies by length, chunked and gzip,
 * limits, timeouts, refused connections, URL parsing.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <zlib.h>

#include "tcheck.h"
#include "http/client.h"

struct srv {
	struct event_base	*base;
	struct evhttp		*http;
	int			 port;
};

struct result {
	int			 done;
	int			 ok;
	int			 status;
	char			 err[256];
	char			 body[4096];
	size_t			 body_len;
	char			 ctype[64];
	char			 addr[64];
	struct event_base	*base;
};

static void
h_plain(struct evhttp_request *req, void *arg)
{
	struct evbuffer *b = evbuffer_new();

	evbuffer_add_printf(b, "hello %s",
	    evhttp_request_get_uri(req));
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void
h_chunked(struct evhttp_request *req, void *arg)
{
	struct evbuffer	*b = evbuffer_new();
	int		 i;

	evhttp_send_reply_start(req, 500, "Internal Server Error");
	for (i = 0; i < 3; i++) {
		evbuffer_add_printf(b, "part%d;", i);
		evhttp_send_reply_chunk(req, b);
	}
	evhttp_send_reply_end(req);
	evbuffer_free(b);
}

static void
h_gzip(struct evhttp_request *req, void *arg)
{
	static const char	 text[] = "compressed body, compressed body";
	unsigned char		 out[256];
	z_stream		 zs;
	struct evbuffer		*b = evbuffer_new();

	memset(&zs, 0, sizeof(zs));
	deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
	zs.next_in = (unsigned char *)(uintptr_t)text;
	zs.avail_in = sizeof(text) - 1;
	zs.next_out = out;
	zs.avail_out = sizeof(out);
	deflate(&zs, Z_FINISH);
	evbuffer_add(b, out, sizeof(out) - zs.avail_out);
	deflateEnd(&zs);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Encoding", "gzip");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void
h_big(struct evhttp_request *req, void *arg)
{
	struct evbuffer	*b = evbuffer_new();
	static char	 chunk[1024];

	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < 100; i++)
		evbuffer_add(b, chunk, sizeof(chunk));
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void
h_never(struct evhttp_request *req, void *arg)
{
	/* Never answers: the client's deadline must end the call. */
}

static void
h_echo(struct evhttp_request *req, void *arg)
{
	struct evbuffer	*b = evbuffer_new();
	const char	*auth = evhttp_find_header(
			    evhttp_request_get_input_headers(req), "Authorization");

	evbuffer_add_printf(b, "%s %s ",
	    evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" : "?",
	    auth ? auth : "-");
	evbuffer_add_buffer(b, evhttp_request_get_input_buffer(req));
	evhttp_send_reply(req, 201, "Created", b);
	evbuffer_free(b);
}

static void
srv_start(struct srv *s)
{
	struct evhttp_bound_socket	*bs;
	struct sockaddr_storage		 ss;
	socklen_t			 len = sizeof(ss);

	s->base = event_base_new();
	s->http = evhttp_new(s->base);
	evhttp_set_cb(s->http, "/plain", h_plain, NULL);
	evhttp_set_cb(s->http, "/chunked", h_chunked, NULL);
	evhttp_set_cb(s->http, "/gzip", h_gzip, NULL);
	evhttp_set_cb(s->http, "/big", h_big, NULL);
	evhttp_set_cb(s->http, "/never", h_never, NULL);
	evhttp_set_cb(s->http, "/echo", h_echo, NULL);
	bs = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
	ck_assert_ptr_nonnull(bs);
	getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &len);
	s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void
srv_stop(struct srv *s)
{
	evhttp_free(s->http);
	event_base_free(s->base);
}

static void
done_cb(const struct hclient_resp *r, void *arg)
{
	struct result	*res = arg;
	const char	*ct;

	res->done = 1;
	res->ok = r->ok;
	res->status = r->status;
	snprintf(res->err, sizeof(res->err), "%s", r->err);
	snprintf(res->addr, sizeof(res->addr), "%s", r->addr);
	res->body_len = r->body.len;
	if (r->body.len < sizeof(res->body)) {
		memcpy(res->body, r->body.data ? r->body.data : "", r->body.len);
		res->body[r->body.len] = '\0';
	}
	ct = hclient_header(r, "content-type");
	snprintf(res->ctype, sizeof(res->ctype), "%s", ct ? ct : "");
	event_base_loopbreak(res->base);
}

static void
call(struct srv *s, struct hclient_opts *o, const char *path,
    struct result *res)
{
	char			 url[256], err[256];
	struct hclient_call	*c;

	memset(res, 0, sizeof(*res));
	res->base = s->base;
	if (path[0] == '/')
		snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
	else
		snprintf(url, sizeof(url), "%s", path);
	o->url = url;
	c = hclient_start(s->base, NULL, o, done_cb, res, err, sizeof(err));
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(res->done, 0);		/* never synchronous */
	event_base_dispatch(s->base);
	ck_assert_int_eq(res->done, 1);
}

START_TEST(test_plain)
{
	struct srv		s;
	struct hclient_opts	o = { 0 };
	struct result		r;
	char			want[64];

	srv_start(&s);
	call(&s, &o, "/plain?x=1", &r);
	ck_assert_int_eq(r.ok, 1);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "hello /plain?x=1");
	ck_assert_str_eq(r.ctype, "text/plain");
	snprintf(want, sizeof(want), "127.0.0.1:%d", s.port);
	ck_assert_str_eq(r.addr, want);
	srv_stop(&s);
}
END_TEST

START_TEST(test_chunked_500)
{
	struct srv		s;
	struct hclient_opts	o = { 0 };
	struct result		r;

	srv_start(&s);
	call(&s, &o, "/chunked", &r);
	ck_assert_int_eq(r.ok, 1);
	ck_assert_int_eq(r.status, 500);
	ck_assert_str_eq(r.body, "part0;part1;part2;");
	srv_stop(&s);
}
END_TEST

START_TEST(test_gzip)
{
	struct srv		s;
	struct hclient_opts	o = { 0 };
	struct result		r;

	srv_start(&s);
	o.accept_gzip = 1;
	call(&s, &o, "/gzip", &r);
	ck_assert_int_eq(r.ok, 1);
	ck_assert_str_eq(r.body, "compressed body, compressed body");
	/* gzip that was not asked for is refused */
	o.accept_gzip = 0;
	call(&s, &o, "/gzip", &r);
	ck_assert_int_eq(r.ok, 0);
	ck_assert_str_eq(r.err, "gzip body that was not asked for");
	srv_stop(&s);
}
END_TEST

START_TEST(test_body_limit)
{
	struct srv		s;
	struct hclient_opts	o = { 0 };
	struct result		r;

	srv_start(&s);
	o.max_body = 50000;
	call(&s, &o, "/big", &r);
	ck_assert_int_eq(r.ok, 0);
	ck_assert_str_eq(r.err, "response body larger than 50000 bytes");
	o.max_body = 102400;
	call(&s, &o, "/big", &r);
	ck_assert_int_eq(r.ok, 1);
	ck_assert_uint_eq(r.body_len, 102400);
	srv_stop(&s);
}
END_TEST

START_TEST(test_timeout)
{
	struct srv		s;
	struct hclient_opts	o = { 0 };
	struct result		r;

	srv_start(&s);
	o.timeout_ms = 200;
	call(&s, &o, "/never", &r);
	ck_assert_int_eq(r.ok, 0);
	ck_assert_str_eq(r.err, "timeout waiting for the response");
	srv_stop(&s);
}
END_TEST

START_TEST(test_post_auth)
{
	struct srv		s;
	struct hclient_opts	o = { 0 };
	struct result		r;

	srv_start(&s);
	o.method = "POST";
	o.body = "payload";
	o.body_len = 7;
	o.basic_user = "guest";
	o.basic_pass = "guest";
	call(&s, &o, "/echo", &r);
	ck_assert_int_eq(r.ok, 1);
	ck_assert_int_eq(r.status, 201);
	ck_assert_str_eq(r.body, "POST Basic Z3Vlc3Q6Z3Vlc3Q= payload");
	srv_stop(&s);
}
END_TEST

START_TEST(test_refused)
{
	struct srv		s;
	struct hclient_opts	o = { 0 };
	struct result		r;
	int			fd, port;
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	char			url[64], want[128];

	srv_start(&s);
	/* a port nobody listens on: bind, read the port, close */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	getsockname(fd, (struct sockaddr *)&sin, &len);
	port = ntohs(sin.sin_port);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	call(&s, &o, url, &r);
	ck_assert_int_eq(r.ok, 0);
	snprintf(want, sizeof(want), "connect to 127.0.0.1:%d: Connection refused",
	    port);
	ck_assert_str_eq(r.err, want);
	srv_stop(&s);
}
END_TEST

START_TEST(test_parse_url)
{
	char	host[64], path[64], err[128];
	int	tls, port;

	ck_assert_int_eq(hclient_parse_url("https://[::1]:8443/a?b=c#frag",
	    &tls, host, sizeof(host), &port, path, sizeof(path), err,
	    sizeof(err)), 0);
	ck_assert_int_eq(tls, 1);
	ck_assert_str_eq(host, "::1");
	ck_assert_int_eq(port, 8443);
	ck_assert_str_eq(path, "/a?b=c");
	ck_assert_int_eq(hclient_parse_url("http://example.test", &tls, host,
	    sizeof(host), &port, path, sizeof(path), err, sizeof(err)), 0);
	ck_assert_str_eq(path, "/");
	ck_assert_int_eq(port, 80);
	ck_assert_int_eq(hclient_parse_url("ftp://x/", &tls, host, sizeof(host),
	    &port, path, sizeof(path), err, sizeof(err)), -1);
	ck_assert_str_eq(err, "URL \"ftp://x/\" must start with http:// or https://");
	ck_assert_int_eq(hclient_parse_url("http://x:99999/", &tls, host,
	    sizeof(host), &port, path, sizeof(path), err, sizeof(err)), -1);
	ck_assert_str_eq(err, "URL \"http://x:99999/\" has a bad port");
	ck_assert_int_eq(hclient_parse_url("http://u:p@x/", &tls, host,
	    sizeof(host), &port, path, sizeof(path), err, sizeof(err)), -1);
	ck_assert_str_eq(err, "credentials in the URL are not supported; use "
	    "the user and password keys");
	ck_assert_int_eq(hclient_parse_url("http:///x", &tls, host,
	    sizeof(host), &port, path, sizeof(path), err, sizeof(err)), -1);
	ck_assert_str_eq(err, "URL \"http:///x\" has no host");
}
END_TEST

static Suite *
hclient_suite(void)
{
	Suite	*s = suite_create("hclient");
	TCase	*tc = tcase_create("hclient");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_plain);
	tcase_add_test(tc, test_chunked_500);
	tcase_add_test(tc, test_gzip);
	tcase_add_test(tc, test_body_limit);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_post_auth);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_parse_url);
	suite_add_tcase(s, tc);
	return s;
}

TCHECK_MAIN(hclient_suite)
