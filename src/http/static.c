/*
 * static: compiled-in files served with their ETag, gzip-compressed as
 * stored (see static.h).  Conditional requests are answered here so a
 * reload of the dashboard costs a few 304s and no body.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "http/gzip.h"
#include "http/params.h"
#include "http/server.h"
#include "http/static.h"

const struct httpd_asset *
httpd_asset_find(const struct httpd_asset *table, const char *path)
{
	const struct httpd_asset *a;

	for (a = table; a->path != NULL; a++)
		if (strcmp(a->path, path) == 0)
			return a;
	return NULL;
}

static int
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * If-None-Match: "*" / 1#entity-tag, entity-tag = [ "W/" ] DQUOTE etagc*
 * DQUOTE.  Weak comparison: W/ is ignored on both sides.  A malformed
 * element ends the scan without a match: the full body is always a safe
 * answer.
 */
int
httpd_etag_match(const char *h, const char *etag)
{
	const char	*p, *end;
	size_t		 elen;

	if (h == NULL || etag == NULL)
		return 0;
	if (strncmp(etag, "W/", 2) == 0)
		etag += 2;
	elen = strlen(etag);
	p = h;
	for (;;) {
		while (is_ows(*p) || *p == ',')
			p++;
		if (*p == '\0')
			return 0;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (*p != '"')
			return 0;
		if ((end = strchr(p + 1, '"')) == NULL)
			return 0;
		end++;
		if ((size_t)(end - p) == elen && memcmp(p, etag, elen) == 0)
			return 1;
		p = end;
		while (is_ows(*p))
			p++;
		if (*p != ',' && *p != '\0')
			return 0;
	}
}

void
httpd_reply_asset(struct httpd_req *req, const struct httpd_asset *a,
    const char *cache_control)
{
	struct buf	 raw = BUF_INIT;
	char		 err[128];

	httpd_add_header(req, "ETag", a->etag);
	httpd_add_header(req, "Cache-Control", cache_control);
	if (httpd_etag_match(httpd_header(req, "If-None-Match"), a->etag)) {
		httpd_add_header(req, "Vary", "Accept-Encoding");
		httpd_reply(req, 304, NULL, NULL, 0);
		return;
	}
	if (accept_gzip(httpd_header(req, "Accept-Encoding"))) {
		httpd_add_header(req, "Vary", "Accept-Encoding");
		httpd_add_header(req, "Content-Encoding", "gzip");
		httpd_reply(req, 200, a->ctype, a->gz, a->gzlen);
		return;
	}
	if (gzip_inflate(a->gz, a->gzlen, a->len, &raw, err,
	    sizeof(err)) != 0 || raw.len != a->len) {
		buf_free(&raw);
		httpd_reply_error(req, 500, "corrupt compiled-in asset");
		return;
	}
	/* The server adds Vary itself to a body it could have compressed. */
	if (raw.len < HTTPD_GZIP_MIN || httpd_method(req) == HTTPD_HEAD)
		httpd_add_header(req, "Vary", "Accept-Encoding");
	httpd_reply_buf(req, 200, a->ctype, &raw);
	buf_free(&raw);
}
