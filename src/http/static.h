/*
 * static: files compiled into the binary (the dashboard's assets), served
 * as they were stored: gzip-compressed, with a strong ETag.
 *
 * An asset table is generated at build time (web/embed.c writes
 * web/assets.c) and is constant: nothing here allocates for a client that
 * accepts gzip, which is every browser.  A client that does not accept it
 * gets the bytes decompressed for its request.
 *
 * Threading: as the server, the loop thread only.
 */
#ifndef MONITORD_HTTP_STATIC_H
#define MONITORD_HTTP_STATIC_H

#include <stddef.h>

struct httpd_req;

/* An asset table ends with an entry whose path is NULL. */
struct httpd_asset {
	const char		*path;	/* "index.html", "js/app.js" */
	const char		*ctype;	/* Content-Type */
	const unsigned char	*gz;	/* one gzip member */
	size_t			 gzlen;
	size_t			 len;	/* decompressed length */
	const char		*etag;	/* with its double quotes */
};

/* The asset named PATH in TABLE, or NULL. */
const struct httpd_asset *httpd_asset_find(const struct httpd_asset *table,
		    const char *path);

/*
 * Answer with the asset: 304 Not Modified when If-None-Match names its
 * ETag (or is "*"), else 200 with the gzip bytes as they are
 * (Content-Encoding: gzip) when Accept-Encoding allows gzip, else with the
 * content decompressed.  Both carry ETag, Vary: Accept-Encoding and
 * Cache-Control: CACHE_CONTROL.  A table whose gzip data is corrupt is a
 * build error; the client then gets 500.
 */
void		 httpd_reply_asset(struct httpd_req *,
		    const struct httpd_asset *, const char *cache_control);

/*
 * Whether an If-None-Match value (a comma-separated list of entity tags,
 * weak ones with W/, or "*") names ETAG, with the weak comparison
 * RFC 9110 13.1.2 asks for.  NULL matches nothing.
 */
int		 httpd_etag_match(const char *if_none_match,
		    const char *etag);

#endif
