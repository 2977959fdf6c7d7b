/*
 * bitstream: the out-of-line half of the bit writer and reader (the hot
 * paths are inline in bitstream.h).  The writer's buffer grows in
 * small steps, then geometrically (bitw_next_size); the reader keeps pointers
 * into the caller's bytes and owns nothing.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"
#include "storage/bitstream.h"

void
bitw_init(struct bitw *w)
{
	memset(w, 0, sizeof(*w));
}

void
bitw_free(struct bitw *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

void
bitw_reset(struct bitw *w)
{
	w->len = 0;
	w->acc = 0;
	w->nacc = 0;
}

size_t
bitw_nbits(const struct bitw *w)
{
	return (size_t)w->len * 8 + w->nacc;
}

size_t
bitw_nbytes(const struct bitw *w)
{
	return w->len + (w->nacc + 7) / 8;
}

void
bitw_copy(const struct bitw *w, uint8_t *dst)
{
	uint64_t	acc = w->acc;
	unsigned	i;

	if (w->len > 0)
		memcpy(dst, w->buf, w->len);
	dst += w->len;
	for (i = 0; i < (w->nacc + 7) / 8; i++) {
		dst[i] = (uint8_t)(acc >> 56);
		acc <<= 8;
	}
}

void
bitw_grow(struct bitw *w, size_t more)
{
	size_t	cap = w->cap == 0 ? 56 : w->cap;

	while (cap - w->len < more)
		cap = bitw_next_size(cap);
	if (cap > UINT32_MAX) {
		fprintf(stderr, "monitord: bit stream of %zu bytes\n", cap);
		abort();
	}
	if (cap != w->cap) {
		w->buf = xreallocarray(w->buf, cap, 1);
		w->cap = (uint32_t)cap;
	}
}

void
bitw_append(struct bitw *w, const uint8_t *p, size_t n)
{
	bitw_grow(w, n + 8);
	while (w->nacc > 0) {
		w->buf[w->len++] = (uint8_t)(w->acc >> 56);
		w->acc <<= 8;
		w->nacc = w->nacc >= 8 ? w->nacc - 8 : 0;
	}
	w->acc = 0;
	if (n > 0)
		memcpy(w->buf + w->len, p, n);
	w->len += (uint32_t)n;
}

void
bitr_init(struct bitr *r, const uint8_t *p, size_t len)
{
	r->p = p;
	r->end = p + len;
	r->acc = 0;
	r->n = 0;
	r->err = 0;
}

size_t
bitr_left(const struct bitr *r)
{
	return (size_t)(r->end - r->p) * 8 + r->n;
}
