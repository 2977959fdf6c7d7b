/*
 * client: asynchronous HTTP/1.1 client, one request per connection, with
 * phase timings and TLS (see client.h).
 *
 * The state machine: RESOLVE -> CONNECT -> (TLS) -> SEND -> STATUS ->
 * HEADERS -> BODY -> done.  Each step is driven by libevent callbacks; a
 * single deadline timer covers the whole call.  The callback is invoked
 * from a zero-delay timer when the call ends, never from inside
 * hclient_start, so callers need not be re-entrant.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <zlib.h>

#include "buf.h"
#include "http/client.h"
#include "xmalloc.h"

#define MAX_HEADER_BYTES	(64 * 1024)
#define MAX_HEADERS		100
#define DEFAULT_TIMEOUT_MS	10000
#define DEFAULT_MAX_BODY	(16 * 1024 * 1024)

enum hc_state {
	HC_RESOLVE, HC_CONNECT, HC_TLS, HC_STATUS, HC_HEADERS,
	HC_BODY_LENGTH, HC_BODY_CHUNK_SIZE, HC_BODY_CHUNK_DATA,
	HC_BODY_CHUNK_CRLF, HC_BODY_TRAILER, HC_BODY_CLOSE, HC_DONE,
};

struct hclient_call {
	struct event_base		*base;
	struct evdns_base		*dns;
	int				 own_dns;
	struct evdns_getaddrinfo_request *dns_req;
	struct bufferevent		*bev;
	SSL_CTX				*ssl_ctx;
	struct event			*deadline;
	struct event			*finish_ev;
	hclient_cb			 cb;
	void				*arg;
	enum hc_state			 state;

	int				 tls;
	char				 host[256];
	int				 port;
	char				 server_name[256];
	struct buf			 request;
	size_t				 max_body;
	int				 accept_gzip;

	size_t				 header_bytes;
	int64_t				 body_left;	/* length or chunk */
	int				 gzip;
	z_stream			 zs;
	int				 zs_init;
	int				 head_only;

	double				 t0, t_resolved, t_connected;
	double				 t_tls, t_first_byte;
	struct hclient_resp		 resp;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int
hclient_parse_url(const char *url, int *tls, char *host, size_t hostlen,
    int *port, char *path, size_t pathlen, char *err, size_t errlen)
{
	const char	*p, *h, *hend, *pstart;
	size_t		 n;
	long		 pn;

	if (strncasecmp(url, "http://", 7) == 0) {
		*tls = 0;
		p = url + 7;
	} else if (strncasecmp(url, "https://", 8) == 0) {
		*tls = 1;
		p = url + 8;
	} else {
		snprintf(err, errlen, "URL \"%s\" must start with http:// or "
		    "https://", url);
		return -1;
	}
	pstart = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(pstart - p)) != NULL) {
		snprintf(err, errlen, "credentials in the URL are not "
		    "supported; use the user and password keys");
		return -1;
	}
	if (*p == '[') {
		h = p + 1;
		if ((hend = memchr(h, ']', (size_t)(pstart - h))) == NULL) {
			snprintf(err, errlen, "URL \"%s\": unterminated [", url);
			return -1;
		}
		p = hend + 1;
	} else {
		h = p;
		hend = memchr(h, ':', (size_t)(pstart - h));
		if (hend == NULL)
			hend = pstart;
		p = hend;
	}
	n = (size_t)(hend - h);
	if (n == 0 || n >= hostlen) {
		snprintf(err, errlen, "URL \"%s\" has no host", url);
		return -1;
	}
	memcpy(host, h, n);
	host[n] = '\0';
	*port = *tls ? 443 : 80;
	if (*p == ':') {
		char *end;

		pn = strtol(p + 1, &end, 10);
		if (end == p + 1 || end != pstart || pn < 1 || pn > 65535) {
			snprintf(err, errlen, "URL \"%s\" has a bad port", url);
			return -1;
		}
		*port = (int)pn;
	} else if (p != pstart) {
		snprintf(err, errlen, "URL \"%s\" is malformed", url);
		return -1;
	}
	n = strcspn(pstart, "#");
	if (n + 2 > pathlen) {
		snprintf(err, errlen, "URL \"%s\" is too long", url);
		return -1;
	}
	if (*pstart != '/') {
		path[0] = '/';
		memcpy(path + 1, pstart, n);
		path[n + 1] = '\0';
	} else {
		memcpy(path, pstart, n);
		path[n] = '\0';
	}
	for (p = path; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			snprintf(err, errlen, "URL \"%s\" contains spaces or "
			    "control characters", url);
			return -1;
		}
	}
	return 0;
}

const char *
hclient_header(const struct hclient_resp *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

static void
hc_release(struct hclient_call *c)
{
	size_t i;

	if (c->dns_req != NULL) {
		evdns_getaddrinfo_cancel(c->dns_req);
		c->dns_req = NULL;
	}
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	if (c->ssl_ctx != NULL)
		SSL_CTX_free(c->ssl_ctx);
	if (c->deadline != NULL)
		event_free(c->deadline);
	if (c->finish_ev != NULL)
		event_free(c->finish_ev);
	if (c->own_dns && c->dns != NULL)
		evdns_base_free(c->dns, 1);
	if (c->zs_init)
		inflateEnd(&c->zs);
	for (i = 0; i < c->resp.nheaders; i++) {
		free(c->resp.headers[i].name);
		free(c->resp.headers[i].value);
	}
	free(c->resp.headers);
	buf_free(&c->resp.body);
	buf_free(&c->request);
	free(c);
}

static void
hc_finish_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hclient_call *c = arg;

	c->cb(&c->resp, c->arg);
	hc_release(c);
}

/* End the call: close the connection now, run the callback soon. */
static void
hc_end(struct hclient_call *c, int ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
hc_end(struct hclient_call *c, int ok, const char *fmt, ...)
{
	va_list		ap;
	double		now = now_s();

	if (c->state == HC_DONE)
		return;
	c->state = HC_DONE;
	c->resp.ok = ok;
	if (!ok && fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(c->resp.err, sizeof(c->resp.err), fmt, ap);
		va_end(ap);
	}
	if (c->t_first_byte > 0)
		c->resp.t_transfer = now - c->t_first_byte;
	if (c->dns_req != NULL) {
		evdns_getaddrinfo_cancel(c->dns_req);
		c->dns_req = NULL;
	}
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	event_del(c->deadline);
	/* Later in this pass of the loop, not the next: a caller's deadline
	   that fell due in this pass too (see target_deadline) sees the
	   result first. */
	c->finish_ev = evtimer_new(c->base, hc_finish_cb, c);
	event_active(c->finish_ev, EV_TIMEOUT, 1);
}

void
hclient_cancel(struct hclient_call *c)
{
	if (c == NULL)
		return;
	hc_release(c);
}

static void
hc_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hclient_call	*c = arg;
	static const char *const phase[] = {
		"resolving the host", "connecting", "in the TLS handshake",
		"waiting for the response", "reading headers", "reading the body",
		"reading the body", "reading the body", "reading the body",
		"reading the body", "reading the body", "",
	};

	hc_end(c, 0, "timeout %s", phase[c->state]);
}

/* Body bytes, decoded when gzip; bounded by max_body. */
static int
hc_body_add(struct hclient_call *c, const unsigned char *p, size_t n)
{
	if (!c->gzip) {
		if (c->resp.body.len + n > c->max_body) {
			hc_end(c, 0, "response body larger than %zu bytes",
			    c->max_body);
			return -1;
		}
		buf_add(&c->resp.body, p, n);
		return 0;
	}
	c->zs.next_in = (unsigned char *)(uintptr_t)p;
	c->zs.avail_in = (uInt)n;
	while (c->zs.avail_in > 0) {
		unsigned char	out[16384];
		int		zr;
		size_t		got;

		c->zs.next_out = out;
		c->zs.avail_out = sizeof(out);
		zr = inflate(&c->zs, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			hc_end(c, 0, "bad gzip body: %s",
			    c->zs.msg ? c->zs.msg : "inflate failed");
			return -1;
		}
		got = sizeof(out) - c->zs.avail_out;
		if (c->resp.body.len + got > c->max_body) {
			hc_end(c, 0, "response body larger than %zu bytes "
			    "(decompressed)", c->max_body);
			return -1;
		}
		buf_add(&c->resp.body, out, got);
		if (zr == Z_STREAM_END || (zr == Z_BUF_ERROR && got == 0))
			break;
	}
	return 0;
}

static void
hc_complete(struct hclient_call *c)
{
	hc_end(c, 1, NULL);
}

static int
hc_parse_status(struct hclient_call *c, const char *line)
{
	int code;

	if (strncmp(line, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)line[7]) ||
	    line[8] != ' ' || sscanf(line + 9, "%3d", &code) != 1 ||
	    code < 100 || code > 999) {
		hc_end(c, 0, "not an HTTP response: \"%.40s\"", line);
		return -1;
	}
	c->resp.status = code;
	return 0;
}

static int
hc_parse_header(struct hclient_call *c, char *line)
{
	char	*colon = strchr(line, ':'), *v, *e;

	if (colon == NULL || colon == line) {
		hc_end(c, 0, "malformed response header \"%.40s\"", line);
		return -1;
	}
	if (c->resp.nheaders >= MAX_HEADERS) {
		hc_end(c, 0, "more than %d response headers", MAX_HEADERS);
		return -1;
	}
	*colon = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); )
		*--e = '\0';
	c->resp.headers = xreallocarray(c->resp.headers, c->resp.nheaders + 1,
	    sizeof(*c->resp.headers));
	c->resp.headers[c->resp.nheaders].name = xstrdup(line);
	c->resp.headers[c->resp.nheaders].value = xstrdup(v);
	c->resp.nheaders++;
	return 0;
}

/* After the blank line: decide how the body is framed. */
static int
hc_begin_body(struct hclient_call *c)
{
	const char *te = hclient_header(&c->resp, "Transfer-Encoding");
	const char *cl = hclient_header(&c->resp, "Content-Length");
	const char *ce = hclient_header(&c->resp, "Content-Encoding");

	if (ce != NULL && strcasecmp(ce, "gzip") == 0) {
		if (!c->accept_gzip) {
			hc_end(c, 0, "gzip body that was not asked for");
			return -1;
		}
		memset(&c->zs, 0, sizeof(c->zs));
		if (inflateInit2(&c->zs, 16 + MAX_WBITS) != Z_OK) {
			hc_end(c, 0, "cannot start gzip decoding");
			return -1;
		}
		c->zs_init = 1;
		c->gzip = 1;
	} else if (ce != NULL && strcasecmp(ce, "identity") != 0) {
		hc_end(c, 0, "unsupported Content-Encoding \"%s\"", ce);
		return -1;
	}
	if (c->head_only || c->resp.status == 204 || c->resp.status == 304 ||
	    c->resp.status / 100 == 1) {
		hc_complete(c);
		return -1;
	}
	if (te != NULL && strcasestr(te, "chunked") != NULL) {
		c->state = HC_BODY_CHUNK_SIZE;
		return 0;
	}
	if (cl != NULL) {
		char		*end;
		long long	 n = strtoll(cl, &end, 10);

		if (end == cl || *end != '\0' || n < 0) {
			hc_end(c, 0, "bad Content-Length \"%.20s\"", cl);
			return -1;
		}
		if (!c->gzip && (unsigned long long)n > c->max_body) {
			hc_end(c, 0, "response body larger than %zu bytes",
			    c->max_body);
			return -1;
		}
		c->body_left = n;
		c->state = HC_BODY_LENGTH;
		if (n == 0) {
			hc_complete(c);
			return -1;
		}
		return 0;
	}
	c->state = HC_BODY_CLOSE;
	return 0;
}

static void
hc_read_cb(struct bufferevent *bev, void *arg)
{
	struct hclient_call	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	char			*line;
	size_t			 len;

	if (c->t_first_byte == 0) {
		c->t_first_byte = now_s();
		c->resp.t_processing = c->t_first_byte -
		    (c->tls ? c->t_tls : c->t_connected);
	}
	while (c->state != HC_DONE) {
		switch (c->state) {
		case HC_STATUS:
		case HC_HEADERS:
		case HC_BODY_CHUNK_SIZE:
		case HC_BODY_CHUNK_CRLF:
		case HC_BODY_TRAILER:
			line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
			if (line == NULL) {
				if (evbuffer_get_length(in) + c->header_bytes >
				    MAX_HEADER_BYTES)
					hc_end(c, 0, "response header too large");
				return;
			}
			c->header_bytes += len + 2;
			if (c->header_bytes > MAX_HEADER_BYTES) {
				free(line);
				hc_end(c, 0, "response header too large");
				return;
			}
			if (c->state == HC_STATUS) {
				if (hc_parse_status(c, line) == 0)
					c->state = HC_HEADERS;
			} else if (c->state == HC_HEADERS) {
				if (len == 0) {
					if (c->resp.status / 100 == 1) {
						/* 100 Continue: a new head */
						c->state = HC_STATUS;
					} else if (hc_begin_body(c) == -1) {
						free(line);
						return;
					}
				} else
					hc_parse_header(c, line);
			} else if (c->state == HC_BODY_CHUNK_SIZE) {
				char		*end;
				unsigned long long n = strtoull(line, &end, 16);

				if (end == line || (*end != '\0' && *end != ';' &&
				    *end != ' ') || n > c->max_body) {
					free(line);
					hc_end(c, 0, "bad chunk size");
					return;
				}
				c->header_bytes = 0;
				c->body_left = (int64_t)n;
				c->state = n == 0 ? HC_BODY_TRAILER :
				    HC_BODY_CHUNK_DATA;
			} else if (c->state == HC_BODY_CHUNK_CRLF) {
				if (len != 0) {
					free(line);
					hc_end(c, 0, "bad chunk framing");
					return;
				}
				c->state = HC_BODY_CHUNK_SIZE;
			} else {	/* trailer */
				if (len == 0) {
					free(line);
					hc_complete(c);
					return;
				}
			}
			free(line);
			break;
		case HC_BODY_LENGTH:
		case HC_BODY_CHUNK_DATA:
		case HC_BODY_CLOSE: {
			unsigned char	tmp[16384];
			size_t		want = sizeof(tmp);
			int		n;

			if (c->state != HC_BODY_CLOSE && (int64_t)want > c->body_left)
				want = (size_t)c->body_left;
			if ((n = evbuffer_remove(in, tmp, want)) <= 0)
				return;
			if (hc_body_add(c, tmp, (size_t)n) == -1)
				return;
			if (c->state == HC_BODY_CLOSE)
				break;
			c->body_left -= n;
			if (c->body_left == 0) {
				if (c->state == HC_BODY_LENGTH) {
					hc_complete(c);
					return;
				}
				c->state = HC_BODY_CHUNK_CRLF;
			}
			break;
		}
		default:
			return;
		}
	}
}

static void
hc_earliest_expiry(struct hclient_call *c, SSL *ssl)
{
	STACK_OF(X509)	*chain = SSL_get_peer_cert_chain(ssl);
	int		 i;

	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		const ASN1_TIME	*na = X509_get0_notAfter(sk_X509_value(chain, i));
		struct tm	 tm;
		int64_t		 t;

		if (na == NULL || ASN1_TIME_to_tm(na, &tm) != 1)
			continue;
		t = (int64_t)timegm(&tm);
		if (c->resp.cert_expiry == 0 || t < c->resp.cert_expiry)
			c->resp.cert_expiry = t;
	}
}

static void
hc_send(struct hclient_call *c)
{
	c->state = HC_STATUS;
	bufferevent_write(c->bev, c->request.data, c->request.len);
	bufferevent_enable(c->bev, EV_READ);
}

static void	hc_event_cb(struct bufferevent *, short, void *);

/* TCP is up: run the TLS handshake as a filter over it, timed apart. */
static void
hc_start_tls(struct hclient_call *c)
{
	SSL			*ssl = SSL_new(c->ssl_ctx);
	struct bufferevent	*tls;

	if (ssl == NULL) {
		hc_end(c, 0, "cannot create a TLS session");
		return;
	}
	SSL_set_tlsext_host_name(ssl, c->server_name);
	if (SSL_CTX_get_verify_mode(c->ssl_ctx) != SSL_VERIFY_NONE)
		SSL_set1_host(ssl, c->server_name);
	tls = bufferevent_openssl_filter_new(c->base, c->bev, ssl,
	    BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (tls == NULL) {
		SSL_free(ssl);
		hc_end(c, 0, "cannot start TLS");
		return;
	}
	c->bev = tls;		/* frees the TCP one with it */
	c->state = HC_TLS;
	bufferevent_setcb(tls, hc_read_cb, NULL, hc_event_cb, c);
	bufferevent_enable(tls, EV_READ | EV_WRITE);
}

static void
hc_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct hclient_call *c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		double now = now_s();

		if (c->state == HC_CONNECT) {
			c->t_connected = now;
			c->resp.t_connect = now - c->t_resolved;
			if (c->tls) {
				hc_start_tls(c);
				return;
			}
		} else if (c->state == HC_TLS) {
			SSL *ssl = bufferevent_openssl_get_ssl(bev);

			c->t_tls = now;
			c->resp.t_tls = now - c->t_connected;
			c->resp.tls = 1;
			snprintf(c->resp.tls_version, sizeof(c->resp.tls_version),
			    "%s", SSL_get_version(ssl));
			hc_earliest_expiry(c, ssl);
		}
		hc_send(c);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (c->state == HC_BODY_CLOSE) {
			/* A gzip stream cut short is still an error. */
			hc_complete(c);
			return;
		}
		/* Drain what arrived with the close. */
		hc_read_cb(bev, c);
		if (c->state != HC_DONE)
			hc_end(c, 0, "connection closed before the response "
			    "was complete");
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		unsigned long	sslerr = 0, first = 0, e;
		int		err = EVUTIL_SOCKET_ERROR();
		SSL		*ssl = bufferevent_openssl_get_ssl(bev);
		long		 vr = X509_V_OK;

		/* libevent pops its queue last in first out, and queues
		   SSL_get_error()'s code (library 0) before OpenSSL's own
		   errors: keep the earliest real OpenSSL error. */
		while ((e = bufferevent_get_openssl_error(bev)) != 0) {
			if (first == 0)
				first = e;
			if (ERR_GET_LIB(e) != 0)
				sslerr = e;
		}
		if (sslerr == 0)
			sslerr = first;
		if (c->state == HC_TLS && ssl != NULL)
			vr = SSL_get_verify_result(ssl);
		if (vr != X509_V_OK)
			hc_end(c, 0, "TLS handshake with %s failed: certificate "
			    "verify failed: %s", c->resp.addr,
			    X509_verify_cert_error_string(vr));
		else if (sslerr != 0) {
			char msg[200];

			ERR_error_string_n(sslerr, msg, sizeof(msg));
			hc_end(c, 0, "TLS %s with %s failed: %s",
			    c->state == HC_TLS ? "handshake" : "session",
			    c->resp.addr, msg);
		} else if (c->state == HC_CONNECT)
			hc_end(c, 0, "connect to %s: %s", c->resp.addr,
			    evutil_socket_error_to_string(err));
		else
			hc_end(c, 0, "connection to %s failed: %s", c->resp.addr,
			    evutil_socket_error_to_string(err));
	}
}

static int
hc_tls_setup(struct hclient_call *c, const struct hclient_opts *o, char *err,
    size_t errlen)
{
	if ((c->ssl_ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		snprintf(err, errlen, "cannot create a TLS context");
		return -1;
	}
	SSL_CTX_set_min_proto_version(c->ssl_ctx, TLS1_2_VERSION);
	if (o->insecure)
		SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_NONE, NULL);
	else {
		SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER, NULL);
		if (o->ca_file != NULL) {
			if (SSL_CTX_load_verify_locations(c->ssl_ctx, o->ca_file,
			    NULL) != 1) {
				snprintf(err, errlen, "cannot load CA file %s",
				    o->ca_file);
				return -1;
			}
		} else
			SSL_CTX_set_default_verify_paths(c->ssl_ctx);
	}
	if (o->cert_file != NULL) {
		if (SSL_CTX_use_certificate_chain_file(c->ssl_ctx,
		    o->cert_file) != 1 ||
		    SSL_CTX_use_PrivateKey_file(c->ssl_ctx, o->key_file ?
		    o->key_file : o->cert_file, SSL_FILETYPE_PEM) != 1) {
			snprintf(err, errlen, "cannot load client certificate %s",
			    o->cert_file);
			return -1;
		}
	}
	return 0;
}

static void
hc_connect(struct hclient_call *c, const struct sockaddr *sa, socklen_t salen)
{
	char		 ip[INET6_ADDRSTRLEN] = "?";
	const void	*a;

	c->t_resolved = now_s();
	c->resp.t_resolve = c->t_resolved - c->t0;
	a = sa->sa_family == AF_INET6 ?
	    (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr :
	    (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
	inet_ntop(sa->sa_family, a, ip, sizeof(ip));
	snprintf(c->resp.addr, sizeof(c->resp.addr),
	    sa->sa_family == AF_INET6 ? "[%s]:%d" : "%s:%d", ip, c->port);
	c->state = HC_CONNECT;
	c->bev = bufferevent_socket_new(c->base, -1,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->bev == NULL) {
		hc_end(c, 0, "cannot create a connection");
		return;
	}
	bufferevent_setcb(c->bev, hc_read_cb, NULL, hc_event_cb, c);
	if (bufferevent_socket_connect(c->bev, sa, (int)salen) == -1)
		hc_end(c, 0, "connect to %s: %s", c->resp.addr,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void
hc_dns_cb(int result, struct evutil_addrinfo *ai, void *arg)
{
	struct hclient_call *c = arg;

	if (result == EVUTIL_EAI_CANCEL)
		return;
	c->dns_req = NULL;
	if (result != 0 || ai == NULL) {
		hc_end(c, 0, "cannot resolve %s: %s", c->host,
		    evutil_gai_strerror(result));
		if (ai != NULL)
			evutil_freeaddrinfo(ai);
		return;
	}
	hc_connect(c, ai->ai_addr, (socklen_t)ai->ai_addrlen);
	evutil_freeaddrinfo(ai);
}

static void
hc_build_request(struct hclient_call *c, const struct hclient_opts *o,
    const char *path)
{
	struct buf	*r = &c->request;
	size_t		 i;

	buf_printf(r, "%s %s HTTP/1.1\r\n", o->method ? o->method : "GET", path);
	if (strchr(c->host, ':') != NULL)
		buf_printf(r, "Host: [%s]", c->host);
	else
		buf_printf(r, "Host: %s", c->host);
	if (c->port != (c->tls ? 443 : 80))
		buf_printf(r, ":%d", c->port);
	buf_adds(r, "\r\nUser-Agent: monitord/" PACKAGE_VERSION
	    "\r\nConnection: close\r\n");
	if (o->accept_gzip)
		buf_adds(r, "Accept-Encoding: gzip\r\n");
	if (o->basic_user != NULL) {
		struct buf	cred = BUF_INIT;
		char		*b64;
		int		 n;

		buf_printf(&cred, "%s:%s", o->basic_user,
		    o->basic_pass ? o->basic_pass : "");
		b64 = xmalloc(4 * ((cred.len + 2) / 3) + 1);
		n = EVP_EncodeBlock((unsigned char *)b64,
		    (unsigned char *)cred.data, (int)cred.len);
		b64[n] = '\0';
		buf_printf(r, "Authorization: Basic %s\r\n", b64);
		explicit_bzero(cred.data, cred.len);
		explicit_bzero(b64, (size_t)n);
		free(b64);
		buf_free(&cred);
	} else if (o->bearer != NULL)
		buf_printf(r, "Authorization: Bearer %s\r\n", o->bearer);
	for (i = 0; o->headers != NULL && o->headers[i] != NULL; i++)
		buf_printf(r, "%s\r\n", o->headers[i]);
	if (o->body != NULL || (o->method && (strcmp(o->method, "POST") == 0 ||
	    strcmp(o->method, "PUT") == 0)))
		buf_printf(r, "Content-Length: %zu\r\n", o->body_len);
	buf_adds(r, "\r\n");
	if (o->body != NULL)
		buf_add(r, o->body, o->body_len);
}

struct hclient_call *
hclient_start(struct event_base *base, struct evdns_base *dns,
    const struct hclient_opts *o, hclient_cb cb, void *arg, char *err,
    size_t errlen)
{
	struct hclient_call	*c;
	char			 path[8192];
	struct timeval		 tv;
	int64_t			 to = o->timeout_ms > 0 ? o->timeout_ms :
				    DEFAULT_TIMEOUT_MS;
	union {
		struct sockaddr_in	v4;
		struct sockaddr_in6	v6;
	} sa;

	c = xcalloc(1, sizeof(*c));
	if (hclient_parse_url(o->url, &c->tls, c->host, sizeof(c->host),
	    &c->port, path, sizeof(path), err, errlen) == -1) {
		free(c);
		return NULL;
	}
	snprintf(c->server_name, sizeof(c->server_name), "%s",
	    o->server_name ? o->server_name : c->host);
	if (c->tls && hc_tls_setup(c, o, err, errlen) == -1) {
		hc_release(c);
		return NULL;
	}
	c->base = base;
	c->cb = cb;
	c->arg = arg;
	c->max_body = o->max_body ? o->max_body : DEFAULT_MAX_BODY;
	c->accept_gzip = o->accept_gzip;
	c->head_only = o->method != NULL && strcmp(o->method, "HEAD") == 0;
	c->t0 = now_s();
	hc_build_request(c, o, path);
	c->deadline = evtimer_new(base, hc_deadline_cb, c);
	tv.tv_sec = to / 1000;
	tv.tv_usec = (to % 1000) * 1000;
	evtimer_add(c->deadline, &tv);

	memset(&sa, 0, sizeof(sa));
	if (inet_pton(AF_INET, c->host, &sa.v4.sin_addr) == 1) {
		sa.v4.sin_family = AF_INET;
		sa.v4.sin_port = htons((uint16_t)c->port);
		hc_connect(c, (struct sockaddr *)&sa.v4, sizeof(sa.v4));
	} else if (inet_pton(AF_INET6, c->host, &sa.v6.sin6_addr) == 1) {
		sa.v6.sin6_family = AF_INET6;
		sa.v6.sin6_port = htons((uint16_t)c->port);
		hc_connect(c, (struct sockaddr *)&sa.v6, sizeof(sa.v6));
	} else {
		struct evutil_addrinfo	hints;
		char			portstr[8];

		if (dns == NULL) {
			c->dns = evdns_base_new(base,
			    EVDNS_BASE_INITIALIZE_NAMESERVERS);
			c->own_dns = 1;
			if (c->dns == NULL) {
				hc_end(c, 0, "cannot start the DNS resolver");
				return c;
			}
		} else
			c->dns = dns;
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
		snprintf(portstr, sizeof(portstr), "%d", c->port);
		c->state = HC_RESOLVE;
		c->dns_req = evdns_getaddrinfo(c->dns, c->host, portstr, &hints,
		    hc_dns_cb, c);
	}
	return c;
}
