/*
 * keys: the byte layout of the store's LMDB keys (storage/LAYOUT.md).
 *
 * Numbers are big-endian so that memcmp order is numeric order; times are
 * signed, so their sign bit is flipped first (before 1970 sorts before
 * after).  Values inside records use varints.  Everything here is pure
 * and inline.
 */
#ifndef MONITORD_KEYS_H
#define MONITORD_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define KEY_ROLLUP_LEN	17	/* tier, series id, block start */

static inline void
key_put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static inline uint64_t
key_get64(const uint8_t *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static inline void
key_put_time(uint8_t *p, int64_t t)
{
	key_put64(p, (uint64_t)t ^ (1ULL << 63));
}

static inline int64_t
key_get_time(const uint8_t *p)
{
	return (int64_t)(key_get64(p) ^ (1ULL << 63));
}

static inline void
key_rollup(uint8_t *k, int tier, uint64_t id, int64_t t)
{
	k[0] = (uint8_t)tier;
	key_put64(k + 1, id);
	key_put_time(k + 9, t);
}

/* Base-128 varints, low groups first (at most 10 bytes). */
static inline size_t
key_put_uvarint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static inline size_t
key_uvarint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* 0, or -1 when the varint is truncated or longer than 64 bits. */
static inline int
key_get_uvarint(const uint8_t *p, size_t len, size_t *off, uint64_t *out)
{
	uint64_t	v = 0;
	unsigned	shift = 0;
	size_t		i = *off;

	for (;;) {
		if (i >= len || shift > 63)
			return -1;
		if (shift == 63 && p[i] > 1)
			return -1;
		v |= (uint64_t)(p[i] & 0x7f) << shift;
		if ((p[i++] & 0x80) == 0)
			break;
		shift += 7;
	}
	*off = i;
	*out = v;
	return 0;
}

#endif
