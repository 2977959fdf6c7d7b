/*
 * gzip: compression of replies and decompression of request bodies
 * (RFC 1952 framing around zlib's deflate), internal to src/http.
 *
 * gzip_inflate never holds more than limit + 1 bytes of output, so a small
 * body that expands without bound (a "zip bomb") costs at most the limit.
 */
#ifndef MONITORD_HTTP_GZIP_H
#define MONITORD_HTTP_GZIP_H

#include <stddef.h>

struct buf;

#define GZIP_BAD	(-1)	/* not valid gzip data */
#define GZIP_TOO_LARGE	(-2)	/* decompresses to more than the limit */

/* Append the gzip encoding of IN[0..len) to OUT at zlib LEVEL (1-9). */
void	gzip_deflate(const void *in, size_t len, int level, struct buf *out);

/*
 * Append the decompressed IN[0..len) to OUT.  Several gzip members in a row
 * are one stream (RFC 1952 2.2).  Returns 0, GZIP_BAD with a message in err,
 * or GZIP_TOO_LARGE when the output would exceed limit bytes.
 */
int	gzip_inflate(const void *in, size_t len, size_t limit, struct buf *out,
	    char *err, size_t errlen);

#endif
