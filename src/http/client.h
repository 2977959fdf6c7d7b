/*
 * client: an asynchronous HTTP/1.1 client on the event loop, for the
 * collectors (probes, scrapes, the RabbitMQ API) and the notifiers.
 *
 * One call = one connection: resolve (evdns, never blocking), connect,
 * optional TLS (OpenSSL through libevent's filter), send one request, read
 * one response (Content-Length, chunked or close-delimited; gzip decoded
 * when asked), then close.  It measures each phase as blackbox_exporter
 * names them (resolve, connect, tls, processing, transfer) and the earliest
 * certificate expiry of a TLS peer.
 *
 * Every call ends exactly once: the callback runs with the response or an
 * error (never synchronously from hclient_start), unless hclient_cancel()
 * was called first, after which it never runs.  Bodies and headers are
 * bounded: a larger response is an error, not an allocation.
 *
 * Threading: the event loop's thread only.
 */
#ifndef MONITORD_HTTP_CLIENT_H
#define MONITORD_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct event_base;
struct evdns_base;
struct hclient_call;

struct hclient_opts {
	const char		*method;	/* default "GET" */
	const char		*url;		/* http(s)://host[:port]/path */
	const char *const	*headers;	/* "Name: value", NULL-ended */
	const void		*body;
	size_t			 body_len;
	int64_t			 timeout_ms;	/* whole call; default 10 s */
	size_t			 max_body;	/* default 16 MiB (decoded) */
	int			 accept_gzip;	/* ask for gzip, decode it */
	const char		*basic_user;	/* with basic_pass */
	const char		*basic_pass;
	const char		*bearer;	/* Authorization: Bearer */
	/* TLS */
	const char		*ca_file;	/* default: the system's CAs */
	const char		*cert_file;	/* client certificate */
	const char		*key_file;
	int			 insecure;	/* skip verification */
	const char		*server_name;	/* SNI/verify name override */
};

struct hclient_header {
	char	*name;
	char	*value;
};

struct hclient_resp {
	int			 ok;		/* 1: a response was read */
	char			 err[256];	/* why not, when !ok */
	int			 status;	/* HTTP status code */
	struct hclient_header	*headers;
	size_t			 nheaders;
	struct buf		 body;		/* decoded body */
	int			 tls;		/* 1 when TLS was used */
	char			 tls_version[16];
	int64_t			 cert_expiry;	/* earliest notAfter, s; 0 none */
	/* phase durations in seconds */
	double			 t_resolve, t_connect, t_tls;
	double			 t_processing, t_transfer;
	char			 addr[64];	/* the address connected to */
};

typedef void (*hclient_cb)(const struct hclient_resp *, void *arg);

/*
 * Start a call.  DNS may be NULL: the call then makes its own resolver when
 * the host is a name.  Returns NULL with a message in ERR when the options
 * are wrong (bad URL); the callback is not called then.
 */
struct hclient_call *hclient_start(struct event_base *, struct evdns_base *,
		    const struct hclient_opts *, hclient_cb, void *arg,
		    char *err, size_t errlen);
/* Abandon a call in progress; its callback will not run.  NULL: no-op.
 * Not after the callback ran: the call is gone then. */
void		 hclient_cancel(struct hclient_call *);

/* The first header NAME (case-insensitive) of a response, or NULL. */
const char	*hclient_header(const struct hclient_resp *, const char *name);

/* Split an http(s) URL; 0, or -1 with a message.  Strings into the caller's
 * buffers; path includes the query ("/" when empty). */
int		 hclient_parse_url(const char *url, int *tls, char *host,
		    size_t hostlen, int *port, char *path, size_t pathlen,
		    char *err, size_t errlen);

#endif
