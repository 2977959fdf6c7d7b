/*
 * Fuzz target for If-None-Match matching (src/http/static.c): the header
 * is a client's text.  Input: the header; the entity tag is fixed, and a
 * header that is exactly that tag must match.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/static.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char	 etag[] = "\"0123456789abcdef\"";
	char			*h;

	if ((h = malloc(size + 1)) == NULL)
		return 0;
	memcpy(h, data, size);
	h[size] = '\0';
	(void)httpd_etag_match(h, etag);
	(void)httpd_etag_match(h, "W/\"x\"");
	if (strcmp(h, etag) == 0 && !httpd_etag_match(h, etag))
		abort();
	free(h);
	return 0;
}
