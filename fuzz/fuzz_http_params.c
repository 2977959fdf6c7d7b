/*
 * Fuzz target for what the HTTP server decodes from the network itself:
 * percent-decoding, query strings and form bodies, the coding headers and
 * gzip request bodies.  The first byte picks the decoder.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http/gzip.h"
#include "http/params.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*s = (const char *)data + 1;
	size_t		 len = size - 1, i;
	struct params	 p = PARAMS_INIT;
	struct buf	 out = BUF_INIT;
	char		 err[256], *z;

	if (size == 0)
		return 0;
	switch (data[0] % 4) {
	case 0:
		if (url_unescape(s, len, data[0] & 4, &out, err,
		    sizeof(err)) == 0 && (out.len > len ||
		    memchr(out.data ? out.data : "", '\0', out.len) != NULL))
			abort();
		break;
	case 1:
		if (params_parse(&p, s, len, err, sizeof(err)) == 0)
			for (i = 0; i < p.n; i++)
				if (strlen(p.v[i].name) + strlen(p.v[i].value) >
				    len)
					abort();
		params_free(&p);
		break;
	case 2:
		z = malloc(len + 1);
		memcpy(z, s, len);
		z[len] = '\0';
		(void)accept_gzip(z);
		(void)content_coding(z);
		(void)content_type_is_form(z);
		free(z);
		break;
	case 3:
		if (gzip_inflate(s, len, 1 << 20, &out, err,
		    sizeof(err)) == 0 && out.len > 1 << 20)
			abort();
		break;
	}
	buf_free(&out);
	return 0;
}
