/*
 * bitstream: MSB-first bit writer and bit reader, apart from any codec.
 *
 * The writer appends up to 64 bits at a time through a 64-bit accumulator
 * into a buffer that grows (xmalloc: never fails).  The reader serves up to
 * 56 bits at a time (64 through bitr_read64) from a caller-owned byte range
 * and never loads a byte past its end: asking for more bits than remain
 * sets r->err, returns 0 and leaves the reader failed for good, so a
 * decoder may check the flag once per sample instead of after every field.
 *
 * Bits are packed most significant first: the first bit written is the top
 * bit of byte 0.  The last byte is padded with zero bits.
 *
 * Neither side is thread-safe; neither allocates on the read path.
 */
#ifndef MONITORD_BITSTREAM_H
#define MONITORD_BITSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* 32-bit sizes: an open chunk's appender holds one, and it is one of
 * thousands (a buffer past 4 GB aborts as an allocation failure). */
struct bitw {
	uint8_t		*buf;
	uint64_t	 acc;	/* pending bits, left-aligned */
	uint32_t	 len;	/* whole bytes flushed to buf */
	uint32_t	 cap;
	unsigned	 nacc;	/* pending bit count, < 32 between calls */
};

void	bitw_init(struct bitw *);
/* Frees the buffer; the writer may be initialised again. */
void	bitw_free(struct bitw *);
/* Empties the stream but keeps the buffer. */
void	bitw_reset(struct bitw *);
/* Bits written so far. */
size_t	bitw_nbits(const struct bitw *);
/* Bytes the stream occupies, the last one padded. */
size_t	bitw_nbytes(const struct bitw *);
/* Copy the stream's bitw_nbytes() bytes to dst. */
void	bitw_copy(const struct bitw *, uint8_t *dst);
void	bitw_grow(struct bitw *, size_t);
/*
 * The size a growing buffer of SIZE bytes goes to next: 64 bytes more
 * below a kilobyte, then a quarter more rounded to 16.  Open chunks' bit
 * buffers are on average half full, and doubling would leave a quarter
 * of each unused, times every series; past a kilobyte growth is
 * geometric, so appends stay amortised constant time.  From a size of
 * 16n - 8 the steps keep to such sizes, which glibc's malloc serves
 * exactly (16n with its 8-byte header).
 */
static inline size_t
bitw_next_size(size_t size)
{
	return size + (size < 1024 ? 64 : (size / 4 + 15) & ~(size_t)15);
}
/* Pad with zero bits to a byte boundary, then append n bytes. */
void	bitw_append(struct bitw *, const uint8_t *, size_t);

/* Append the low n bits of v, 0 <= n <= 64. */
static inline void
bitw_write(struct bitw *w, uint64_t v, unsigned n)
{
	unsigned	room, rest;

	if (n == 0)
		return;
	if (n < 64)
		v &= ((uint64_t)1 << n) - 1;
	if (w->cap - w->len < 8)
		bitw_grow(w, 8);
	room = 64 - w->nacc;		/* > 32 */
	if (n <= room) {
		w->acc |= v << (room - n);
		w->nacc += n;
	} else {
		rest = n - room;	/* 1..31 */
		w->acc |= v >> rest;
		w->nacc = 64;
		while (w->nacc >= 8) {
			w->buf[w->len++] = (uint8_t)(w->acc >> 56);
			w->acc <<= 8;
			w->nacc -= 8;
		}
		w->acc = v << (64 - rest);
		w->nacc = rest;
		return;
	}
	while (w->nacc >= 32) {
		w->buf[w->len] = (uint8_t)(w->acc >> 56);
		w->buf[w->len + 1] = (uint8_t)(w->acc >> 48);
		w->buf[w->len + 2] = (uint8_t)(w->acc >> 40);
		w->buf[w->len + 3] = (uint8_t)(w->acc >> 32);
		w->len += 4;
		w->acc <<= 32;
		w->nacc -= 32;
	}
}

struct bitr {
	const uint8_t	*p;	/* next byte to load */
	const uint8_t	*end;
	uint64_t	 acc;	/* loaded bits, left-aligned */
	unsigned	 n;	/* loaded bit count, <= 64 */
	int		 err;
};

void	bitr_init(struct bitr *, const uint8_t *, size_t);
/* Bits not yet consumed (loaded and unloaded). */
size_t	bitr_left(const struct bitr *);

static inline uint64_t
bitr_load_be64(const uint8_t *p)
{
	uint64_t	v;

	memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/* Load bytes until at least 56 bits are held or the input is exhausted. */
static inline void
bitr_refill(struct bitr *r)
{
	unsigned	k;

	if (r->n > 56)
		return;
	if (r->end - r->p >= 8) {
		/*
		 * Bits loaded past the new n are the true next bits of the
		 * stream; the next refill ORs the same bits again.
		 */
		k = (63 - r->n) >> 3;
		r->acc |= bitr_load_be64(r->p) >> r->n;
		r->p += k;
		r->n += k * 8;
		return;
	}
	while (r->n <= 56 && r->p < r->end) {
		r->acc |= (uint64_t)*r->p++ << (56 - r->n);
		r->n += 8;
	}
}

/*
 * The next n bits (1 <= n <= 32) without consuming them; bits beyond the
 * end read as zero.  Call bitr_skip to consume.
 */
static inline uint64_t
bitr_peek(struct bitr *r, unsigned n)
{
	if (r->n < n)
		bitr_refill(r);
	return r->acc >> (64 - n);
}

static inline void
bitr_skip(struct bitr *r, unsigned n)
{
	if (r->n < n) {
		bitr_refill(r);
		if (r->n < n) {
			r->err = 1;
			r->n = 0;
			r->acc = 0;
			r->p = r->end;
			return;
		}
	}
	r->acc = n == 64 ? 0 : r->acc << n;
	r->n -= n;
}

/* Read n bits, 1 <= n <= 56; 0 and r->err set when fewer remain. */
static inline uint64_t
bitr_read(struct bitr *r, unsigned n)
{
	uint64_t	v;

	if (r->n < n) {
		bitr_refill(r);
		if (r->n < n) {
			r->err = 1;
			r->n = 0;
			r->acc = 0;
			r->p = r->end;
			return 0;
		}
	}
	v = r->acc >> (64 - n);
	r->acc <<= n;
	r->n -= n;
	return v;
}

static inline unsigned
bitr_bit(struct bitr *r)
{
	return (unsigned)bitr_read(r, 1);
}

/* Read n bits, 0 <= n <= 64. */
static inline uint64_t
bitr_readn(struct bitr *r, unsigned n)
{
	uint64_t	hi;

	if (n == 0)
		return 0;
	if (n <= 56)
		return bitr_read(r, n);
	hi = bitr_read(r, n - 32);
	return (hi << 32) | bitr_read(r, 32);
}

#endif
