/*
 * Fuzz target of the chunk decoder.  The first input byte picks the mode:
 * even, the full checked path (header, CRC, decode); odd, the decoder with
 * the CRC check bypassed, so that mutated payloads reach it.  Whatever the
 * bytes, decoding must end with 0 or -1 (and a message), never crash, read
 * out of bounds or return more samples than the header announces.  Every
 * chunk that decodes is then re-encoded and must decode to the same samples.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/chunk.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chunk_iter	 it, it2;
	struct chunk_app	*a;
	const uint8_t		*out;
	uint8_t			*copy;
	size_t			 n = 0, olen;
	int64_t			 t, t2;
	double			 v, v2;
	uint32_t		 count;
	int64_t			 first, last;
	int			 r, checked;

	if (size == 0)
		return 0;
	checked = (data[0] & 1) == 0;
	data++;
	size--;
	/* an exact-size copy, so that any over-read trips ASan */
	copy = malloc(size == 0 ? 1 : size);
	if (copy == NULL)
		abort();
	memcpy(copy, data, size);

	(void)chunk_peek(copy, size, &count, &first, &last);
	r = checked ? chunk_iter_init(&it, copy, size) :
	    chunk_iter_init_unchecked(&it, copy, size);
	if (r == -1) {
		if (it.errmsg[0] == '\0')
			abort();
		free(copy);
		return 0;
	}
	a = chunk_app_new();
	while ((r = chunk_iter_next(&it, &t, &v)) == 1) {
		if (++n > count || chunk_app_add(a, t, v) != 0)
			abort();
	}
	if (r == -1 && it.errmsg[0] == '\0')
		abort();
	if (r == 0) {
		if (n != count || chunk_app_bytes_out(a, &out, &olen) != 0 ||
		    chunk_iter_init(&it2, out, olen) != 0)
			abort();
		chunk_iter_init(&it, copy, size);
		if (!checked)
			chunk_iter_init_unchecked(&it, copy, size);
		while (chunk_iter_next(&it, &t, &v) == 1) {
			if (chunk_iter_next(&it2, &t2, &v2) != 1 || t != t2 ||
			    memcmp(&v, &v2, sizeof(v)) != 0)
				abort();
		}
		if (chunk_iter_next(&it2, &t2, &v2) != 0)
			abort();
	}
	chunk_app_free(a);
	free(copy);
	return 0;
}
