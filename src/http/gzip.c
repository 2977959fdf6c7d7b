/*
 * gzip: the server's one use of zlib.  Replies are compressed in one pass
 * over a body already in memory; request bodies are inflated with the
 * output bounded at every step, because the compressed size on the wire
 * says nothing about the decompressed one.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "buf.h"
#include "http/gzip.h"
#include "log.h"

#define GZIP_WBITS	(16 + MAX_WBITS)	/* gzip framing, 32K window */
#define GZIP_CHUNK	(64 * 1024)

/* zlib counts in uInt; feed longer inputs in slices. */
static void
feed(z_stream *zs, const unsigned char **p, size_t *left)
{
	size_t n;

	if (zs->avail_in != 0 || *left == 0)
		return;
	n = *left > UINT_MAX ? UINT_MAX : *left;
	zs->next_in = (Bytef *)(uintptr_t)*p;
	zs->avail_in = (uInt)n;
	*p += n;
	*left -= n;
}

void
gzip_deflate(const void *in, size_t len, int level, struct buf *out)
{
	const unsigned char	*p = in;
	size_t			 left = len, room;
	z_stream		 zs;
	int			 rc;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, level, Z_DEFLATED, GZIP_WBITS, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		fatalx("deflateInit2 failed");
	if (len < (size_t)INT_MAX)
		buf_reserve(out, deflateBound(&zs, (uLong)len));
	do {
		feed(&zs, &p, &left);
		if (out->cap - out->len - 1 < 64)
			buf_reserve(out, GZIP_CHUNK);
		room = out->cap - out->len - 1;
		if (room > UINT_MAX)
			room = UINT_MAX;
		zs.next_out = (Bytef *)out->data + out->len;
		zs.avail_out = (uInt)room;
		rc = deflate(&zs, left == 0 ? Z_FINISH : Z_NO_FLUSH);
		out->len += room - zs.avail_out;
		if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
			fatalx("deflate failed: %d", rc);
	} while (rc != Z_STREAM_END);
	out->data[out->len] = '\0';
	deflateEnd(&zs);
}

int
gzip_inflate(const void *in, size_t len, size_t limit, struct buf *out,
    char *err, size_t errlen)
{
	const unsigned char	*p = in;
	size_t			 left = len, start = out->len, room;
	z_stream		 zs;
	int			 rc, ret = GZIP_BAD;

	if (len == 0) {
		snprintf(err, errlen, "empty gzip body");
		return GZIP_BAD;
	}
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, GZIP_WBITS) != Z_OK)
		fatalx("inflateInit2 failed");
	for (;;) {
		feed(&zs, &p, &left);
		/* Room for one byte past the limit shows that it is passed. */
		room = limit - (out->len - start) + 1;
		if (room > GZIP_CHUNK)
			room = GZIP_CHUNK;
		buf_reserve(out, room);
		zs.next_out = (Bytef *)out->data + out->len;
		zs.avail_out = (uInt)room;
		rc = inflate(&zs, Z_NO_FLUSH);
		out->len += room - zs.avail_out;
		out->data[out->len] = '\0';
		if (out->len - start > limit) {
			snprintf(err, errlen, "decompressed body larger than "
			    "%zu bytes", limit);
			ret = GZIP_TOO_LARGE;
			break;
		}
		if (rc == Z_STREAM_END) {
			if (zs.avail_in == 0 && left == 0) {
				ret = 0;
				break;
			}
			inflateReset(&zs);
		} else if (rc == Z_BUF_ERROR ||
		    (rc == Z_OK && zs.avail_in == 0 && left == 0 &&
		    zs.avail_out != 0)) {
			snprintf(err, errlen, "truncated gzip data");
			break;
		} else if (rc != Z_OK) {
			snprintf(err, errlen, "invalid gzip data: %s",
			    zs.msg != NULL ? zs.msg : "unknown error");
			break;
		}
	}
	inflateEnd(&zs);
	return ret;
}
