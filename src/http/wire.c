/*
 * wire: HTTP/1.1 request framing over libhttp-parser (see wire.h).
 *
 * The parser calls back with pieces of the target, of field names and
 * values and of the body, pointing into whatever was fed.  The head's
 * pieces are copied into one buffer as they come (a field split across two
 * reads arrives in two pieces and ends up whole); the body's go to the body
 * buffer, where a Content-Length body was usually received in the first
 * place, so that appending it is only a length update.
 *
 * The parser is paused at the end of each request, so that a connection
 * answers requests one at a time, in order, whatever the client pipelined.
 */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "http/wire.h"
#include "xmalloc.h"

#define LAST_NONE	0
#define LAST_NAME	1
#define LAST_VALUE	2

/* A body buffer grows by at least this much at a time. */
#define BODY_STEP	(64 * 1024)

static int
fail(struct wire *w, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct wire *w, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->err, sizeof(w->err), fmt, ap);
	va_end(ap);
	w->code = code;
	w->state = WIRE_FAILED;
	return -1;
}

static struct wire *
wire_of(http_parser *p)
{
	return p->data;
}

static int
on_begin(http_parser *p)
{
	struct wire *w = wire_of(p);

	w->state = WIRE_HEAD;
	buf_reserve(&w->m.head, 480);	/* most heads fit: one allocation */
	w->m.head.data[w->m.head.len] = '\0';
	return 0;
}

static int
on_url(http_parser *p, const char *at, size_t len)
{
	buf_add(&wire_of(p)->m.head, at, len);
	return 0;
}

static int
on_field(http_parser *p, const char *at, size_t len)
{
	struct wire	*w = wire_of(p);
	struct wire_msg	*m = &w->m;

	if (w->state != WIRE_HEAD)	/* a chunked body's trailer */
		return 0;
	if (w->last != LAST_NAME) {
		if (m->nfields >= w->lim.max_headers)
			return fail(w, 431, "more than %u header fields",
			    w->lim.max_headers);
		if (m->nfields == m->capfields) {
			m->capfields = m->capfields ? 2 * m->capfields : 16;
			m->fields = xreallocarray(m->fields, m->capfields,
			    sizeof(*m->fields));
		}
		buf_addc(&m->head, '\0');	/* ends the target or a value */
		m->fields[m->nfields].name = (uint32_t)m->head.len;
		m->fields[m->nfields].value = (uint32_t)m->head.len;
		m->nfields++;
		w->last = LAST_NAME;
	}
	buf_add(&m->head, at, len);
	return 0;
}

static int
on_value(http_parser *p, const char *at, size_t len)
{
	struct wire	*w = wire_of(p);
	struct wire_msg	*m = &w->m;

	if (w->state != WIRE_HEAD || m->nfields == 0)
		return 0;
	if (w->last != LAST_VALUE) {
		buf_addc(&m->head, '\0');	/* ends the name */
		m->fields[m->nfields - 1].value = (uint32_t)m->head.len;
		w->last = LAST_VALUE;
	}
	buf_add(&m->head, at, len);
	return 0;
}

static int
on_headers(http_parser *p)
{
	struct wire	*w = wire_of(p);
	struct wire_msg	*m = &w->m;
	const char	*expect;
	int		 body;

	buf_addc(&m->head, '\0');	/* ends the last value or the target */
	m->method = p->method;
	m->minor = p->http_minor;
	m->keepalive = http_should_keep_alive(p) && !p->upgrade;
	w->state = WIRE_BODY;
	w->head_done = 1;
	if (p->http_major != 1)
		return fail(w, 505, "HTTP version %u.%u not supported",
		    p->http_major, p->http_minor);
	body = (p->flags & F_CHUNKED) ||
	    ((p->flags & F_CONTENTLENGTH) && p->content_length > 0);
	if ((p->flags & F_CONTENTLENGTH) &&
	    p->content_length > w->lim.max_body_bytes)
		return fail(w, 413, "request body larger than %zu bytes",
		    w->lim.max_body_bytes);
	if ((expect = wire_header(m, "Expect")) != NULL) {
		if (strcasecmp(expect, "100-continue") != 0)
			return fail(w, 417, "unsupported Expect \"%.64s\"",
			    expect);
		w->want_continue = body && m->minor >= 1;
	}
	return 0;
}

static int
on_body(http_parser *p, const char *at, size_t len)
{
	struct wire	*w = wire_of(p);
	struct buf	*b = &w->m.body;

	if (b->len + len > w->lim.max_body_bytes)
		return fail(w, 413, "request body larger than %zu bytes",
		    w->lim.max_body_bytes);
	w->want_continue = 0;
	if (b->data != NULL && at == b->data + b->len && b->len + len < b->cap)
		b->len += len;		/* received in place (wire_room) */
	else
		buf_add(b, at, len);
	return 0;
}

static int
on_complete(http_parser *p)
{
	struct wire	*w = wire_of(p);
	struct buf	*b = &w->m.body;

	/* There is room: buf_add keeps it, and so does on_body's test. */
	if (b->data != NULL)
		b->data[b->len] = '\0';
	w->state = WIRE_DONE;
	w->want_continue = 0;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_message_begin = on_begin,
	.on_url = on_url,
	.on_header_field = on_field,
	.on_header_value = on_value,
	.on_headers_complete = on_headers,
	.on_body = on_body,
	.on_message_complete = on_complete,
};

static void
start(struct wire *w)
{
	http_parser_init(&w->p, HTTP_REQUEST);
	w->p.data = w;
	w->headbytes = 0;
	w->head_done = 0;
	w->last = LAST_NONE;
	w->want_continue = 0;
	w->state = WIRE_START;
	w->code = 0;
	w->err[0] = '\0';
}

void
wire_init(struct wire *w, const struct wire_limits *lim)
{
	memset(w, 0, sizeof(*w));
	w->lim = *lim;
	start(w);
}

void
wire_msg_free(struct wire_msg *m)
{
	buf_free(&m->head);
	buf_free(&m->body);
	free(m->fields);
	memset(m, 0, sizeof(*m));
}

void
wire_free(struct wire *w)
{
	wire_msg_free(&w->m);
}

void
wire_take(struct wire *w, struct wire_msg *out)
{
	*out = w->m;
	memset(&w->m, 0, sizeof(w->m));
	start(w);
}

/* The head was not complete within max_header_bytes. */
static int
head_too_long(struct wire *w)
{
	if (w->m.nfields == 0 && w->last == LAST_NONE)
		return fail(w, 414, "request line longer than %zu bytes",
		    w->lim.max_header_bytes);
	return fail(w, 431, "request header fields longer than %zu bytes",
	    w->lim.max_header_bytes);
}

int
wire_feed(struct wire *w, const char *data, size_t len, size_t *used)
{
	size_t	off = 0, chunk, n;
	enum http_errno e;

	*used = 0;
	if (w->state == WIRE_DONE || w->state == WIRE_FAILED)
		return w->state == WIRE_DONE ? 1 : -1;
	while (off < len) {
		chunk = len - off;
		/* The head is given no byte past its limit. */
		if (w->state < WIRE_BODY) {
			if (w->headbytes >= w->lim.max_header_bytes)
				return head_too_long(w);
			if (chunk > w->lim.max_header_bytes - w->headbytes)
				chunk = w->lim.max_header_bytes - w->headbytes;
		}
		n = http_parser_execute(&w->p, &settings, data + off, chunk);
		if (w->state < WIRE_BODY)
			w->headbytes += n;
		off += n;
		*used = off;
		if (w->state == WIRE_DONE)
			return 1;
		if (w->state == WIRE_FAILED)
			return -1;
		/* Short of a pause (DONE), only an error stops it early. */
		if ((e = HTTP_PARSER_ERRNO(&w->p)) != HPE_OK) {
			if (e == HPE_HEADER_OVERFLOW)
				return head_too_long(w);
			return fail(w, 400, "malformed request: %s",
			    http_errno_description(e));
		}
	}
	return 0;
}

char *
wire_room(struct wire *w, size_t *len)
{
	struct buf	*b = &w->m.body;
	uint64_t	 left = w->p.content_length;
	size_t		 want;

	if (w->state != WIRE_BODY || (w->p.flags & F_CHUNKED) ||
	    !(w->p.flags & F_CONTENTLENGTH) || left == 0 ||
	    left == ULLONG_MAX)
		return NULL;
	/* Room for what is left, at most BODY_STEP or the size so far. */
	if (b->cap - b->len <= 1 || b->data == NULL) {
		want = b->len > BODY_STEP ? b->len : BODY_STEP;
		if (want > left)
			want = (size_t)left;
		b->cap = b->len + want + 1;
		b->data = xreallocarray(b->data, 1, b->cap);
		b->data[b->len] = '\0';
	}
	*len = b->cap - b->len - 1;
	if (*len > left)
		*len = (size_t)left;
	return b->data + b->len;
}

const char *
wire_header(const struct wire_msg *m, const char *name)
{
	unsigned i;

	for (i = 0; i < m->nfields; i++)
		if (strcasecmp(m->head.data + m->fields[i].name, name) == 0)
			return m->head.data + m->fields[i].value;
	return NULL;
}

const char *
wire_target(const struct wire_msg *m)
{
	return m->head.data != NULL ? m->head.data : "";
}
