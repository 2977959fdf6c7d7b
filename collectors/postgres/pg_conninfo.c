/*
 * pg_conninfo: what the collector says about a libpq connection string
 * without ever saying its password (see pg.h).
 *
 * libpq's own parser (PQconninfoParse) decides what a conninfo means, so
 * the instance label, the redacted form and the validity check agree with
 * what PQconnectStartParams will do.  libpq's parse errors may quote part of
 * the string (a URI error quotes all of it), so a string that looks like it
 * carries a password gets a message that quotes nothing.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "buf.h"
#include "pg.h"
#include "pq_dl.h"
#include "xmalloc.h"

/* NAMEDATALEN - 1 in a stock server build. */
#define PG_NAME_MAX	63

static int
pg_is_uri(const char *s)
{
	return strncmp(s, "postgresql://", 13) == 0 ||
	    strncmp(s, "postgres://", 11) == 0;
}

static int
pg_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Decide from the text alone, for strings libpq could not parse: any
 * "password" (percent-decoded in a URI, as libpq decodes its parameter
 * names), or "user:secret@" in a URI's authority.
 */
int
pg_conninfo_has_password(const char *s)
{
	char		*d, *p;
	const char	*q, *auth, *end, *at;
	int		 found;

	d = xmalloc(strlen(s) + 1);
	for (q = s, p = d; *q != '\0'; q++) {
		if (pg_is_uri(s) && q[0] == '%' && pg_hexval(q[1]) >= 0 &&
		    pg_hexval(q[2]) >= 0) {
			*p++ = (char)(pg_hexval(q[1]) * 16 + pg_hexval(q[2]));
			q += 2;
		} else
			*p++ = (char)tolower((unsigned char)*q);
	}
	*p = '\0';
	found = strstr(d, "password") != NULL;
	free(d);
	if (found || !pg_is_uri(s))
		return found;

	auth = strstr(s, "://") + 3;
	end = auth + strcspn(auth, "/?");
	at = NULL;
	for (q = auth; q < end; q++)
		if (*q == '@')
			at = q;
	if (at == NULL)
		return 0;
	for (q = auth; q < at; q++)
		if (*q == ':')
			return 1;
	return 0;
}

int
pg_conninfo_check(const struct pq_dl *pq, const char *conninfo, char *err,
    size_t errlen)
{
	PQconninfoOption	*opts;
	char			*msg = NULL;
	char			 line[256];

	opts = pq->PQconninfoParse(conninfo, &msg);
	if (opts != NULL) {
		pq->PQconninfoFree(opts);
		return 0;
	}
	if (msg == NULL)
		snprintf(err, errlen, "invalid conninfo: out of memory");
	else if (pg_conninfo_has_password(conninfo))
		snprintf(err, errlen, "invalid conninfo (libpq's message is "
		    "withheld because the string holds a password; "
		    "use password_file)");
	else {
		pg_oneline(line, sizeof(line), msg, NULL);
		snprintf(err, errlen, "invalid conninfo: %s", line);
	}
	pq->PQfreemem(msg);
	return -1;
}

/* Quote a conninfo value when it needs it, as libpq reads quotes. */
static void
pg_add_value(struct buf *b, const char *v)
{
	const char *p;

	if (*v != '\0' && strpbrk(v, " \t\n\r\f\v'\\") == NULL) {
		buf_adds(b, v);
		return;
	}
	buf_addc(b, '\'');
	for (p = v; *p != '\0'; p++) {
		if (*p == '\'' || *p == '\\')
			buf_addc(b, '\\');
		buf_addc(b, *p);
	}
	buf_addc(b, '\'');
}

char *
pg_conninfo_redact(const struct pq_dl *pq, const char *conninfo)
{
	PQconninfoOption	*opts, *o;
	struct buf		 b = BUF_INIT;
	char			*msg = NULL;

	opts = pq->PQconninfoParse(conninfo, &msg);
	pq->PQfreemem(msg);
	if (opts == NULL)
		return xstrdup("(invalid conninfo)");
	for (o = opts; o->keyword != NULL; o++) {
		/* dispchar "*" marks secrets: password, sslpassword. */
		if (o->val == NULL || (o->dispchar != NULL &&
		    strchr(o->dispchar, '*') != NULL))
			continue;
		if (b.len > 0)
			buf_addc(&b, ' ');
		buf_adds(&b, o->keyword);
		buf_addc(&b, '=');
		pg_add_value(&b, o->val);
	}
	pq->PQconninfoFree(opts);
	return buf_detach(&b);
}

static const char *
pg_opt(const PQconninfoOption *opts, const char *key)
{
	for (; opts->keyword != NULL; opts++)
		if (strcmp(opts->keyword, key) == 0)
			return opts->val != NULL && *opts->val != '\0' ?
			    opts->val : NULL;
	return NULL;
}

/* The Nth comma-separated element of LIST into OUT (empty if missing). */
static void
pg_list_at(const char *list, size_t n, char *out, size_t outlen)
{
	const char	*p = list, *e;
	size_t		 len;

	for (; n > 0 && p != NULL; n--) {
		p = strchr(p, ',');
		if (p != NULL)
			p++;
	}
	if (p == NULL) {
		out[0] = '\0';
		return;
	}
	e = strchr(p, ',');
	len = e != NULL ? (size_t)(e - p) : strlen(p);
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, p, len);
	out[len] = '\0';
}

static size_t
pg_list_len(const char *list)
{
	size_t n = 1;

	for (; *list != '\0'; list++)
		if (*list == ',')
			n++;
	return n;
}

/*
 * host:port with libpq's defaults (a missing host is the local server, a
 * missing port 5432); a multi-host list gives "h1:p1,h2:p2".  IPv6
 * addresses are bracketed as in a URL.
 */
char *
pg_conninfo_instance(const struct pq_dl *pq, const char *conninfo)
{
	PQconninfoOption	*opts;
	struct buf		 b = BUF_INIT;
	const char		*hosts, *ports;
	char			*msg = NULL, h[256], p[32];
	size_t			 i, nh, np;

	opts = pq->PQconninfoParse(conninfo, &msg);
	pq->PQfreemem(msg);
	if (opts == NULL)
		return xstrdup("invalid");
	if ((hosts = pg_opt(opts, "host")) == NULL)
		hosts = pg_opt(opts, "hostaddr");
	if (hosts == NULL)
		hosts = "localhost";
	if ((ports = pg_opt(opts, "port")) == NULL)
		ports = "5432";
	nh = pg_list_len(hosts);
	np = pg_list_len(ports);
	for (i = 0; i < nh; i++) {
		pg_list_at(hosts, i, h, sizeof(h));
		pg_list_at(ports, np == 1 ? 0 : i, p, sizeof(p));
		if (i > 0)
			buf_addc(&b, ',');
		if (h[0] == '\0')
			buf_adds(&b, "localhost");
		else if (strchr(h, ':') != NULL && h[0] != '/')
			buf_printf(&b, "[%s]", h);
		else
			buf_adds(&b, h);
		buf_printf(&b, ":%s", p[0] != '\0' ? p : "5432");
	}
	pq->PQconninfoFree(opts);
	return buf_detach(&b);
}

void
pg_oneline(char *dst, size_t dstlen, const char *msg, const char *secret)
{
	struct buf	 b = BUF_INIT;
	const char	*p, *hit;
	size_t		 n = 0, slen = secret != NULL ? strlen(secret) : 0;
	int		 space = 0;

	if (dstlen == 0)
		return;
	/* Scrub first, so that truncation below can never cut a secret. */
	for (p = msg; slen > 0 && (hit = strstr(p, secret)) != NULL;
	    p = hit + slen) {
		buf_add(&b, p, (size_t)(hit - p));
		buf_adds(&b, "***");
	}
	buf_adds(&b, p);

	for (p = b.data; *p != '\0' && isspace((unsigned char)*p); p++)
		;
	for (; *p != '\0' && n + 1 < dstlen; p++) {
		if (isspace((unsigned char)*p)) {
			space = 1;
			continue;
		}
		if (space && n + 2 < dstlen)
			dst[n++] = ' ';
		space = 0;
		dst[n++] = *p;
	}
	dst[n] = '\0';
	buf_free(&b);
}

int
pg_databases_parse(const char *list, char ***out, size_t *np, char *err,
    size_t errlen)
{
	const char	*p = list, *s, *e;
	char		**v = NULL;
	size_t		 n = 0, len, i;

	for (;;) {
		s = p;
		while (isspace((unsigned char)*s))
			s++;
		p = s + strcspn(s, ",");
		for (e = p; e > s && isspace((unsigned char)e[-1]); e--)
			;
		len = (size_t)(e - s);
		if (len == 0 && *p == '\0' && n == 0) {
			snprintf(err, errlen, "databases: empty list");
			goto fail;
		}
		if (len == 0) {
			snprintf(err, errlen, "databases: empty name in the list");
			goto fail;
		}
		if (len > PG_NAME_MAX) {
			snprintf(err, errlen, "databases: \"%.*s...\" is longer "
			    "than %d bytes", 32, s, PG_NAME_MAX);
			goto fail;
		}
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = xstrndup(s, len);
		if (*p == '\0')
			break;
		p++;
	}
	*out = v;
	*np = n;
	return 0;
fail:
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return -1;
}
