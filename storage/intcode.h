/*
 * intcode: a prefix code for a stream of unsigned integers, planned for
 * each stream.
 *
 * A plan splits the values into at most four buckets by bit length; each
 * bucket has a fixed width and a prefix of 0 to 3 bits (a Huffman code
 * over the bucket counts), and one symbol may be an escape that carries
 * no bits (the codec writes an exception after it).  One bucket is plain
 * bit-packing; more buckets pay a short prefix for a narrow common case
 * and a long prefix for rare wide values.  icode_plan picks the buckets
 * that make the stream smallest, exactly.
 *
 * Stream layout of the parameters (bitstream.h, MSB first):
 *	nsym - 1: 2 bits, esc: 1 bit (the last symbol is the escape),
 *	then per normal symbol width: 7 bits (0..64),
 *	then, when nsym > 1, per symbol prefix length: 2 bits (1..3).
 * Prefix codes are canonical: symbols ordered by (length, index) get
 * consecutive codes.
 *
 * Decoding never reads past the stream (bitr) and rejects impossible
 * parameters (widths above 64, lengths that are not a complete code).
 */
#ifndef MONITORD_INTCODE_H
#define MONITORD_INTCODE_H

#include <stddef.h>
#include <stdint.h>

#include "storage/bitstream.h"

#define ICODE_MAXSYM	4

struct icode {
	unsigned	nsym;			/* 1..4, escape included */
	int		esc;			/* 1: symbol nsym-1 escapes */
	uint8_t		width[ICODE_MAXSYM];	/* ascending over normals */
	uint8_t		len[ICODE_MAXSYM];
	uint8_t		code[ICODE_MAXSYM];
};

/* Decoding table, indexed by the next `peek' bits. */
struct icode_dec {
	uint8_t		peek;			/* 0..3 */
	uint8_t		maxtot;			/* longest prefix + width */
	uint8_t		len[8];			/* prefix bits */
	uint8_t		width[8];		/* 0..64, 255 = escape */
	uint8_t		tot[8];			/* len + width (escape: len) */
	uint64_t	mask[8];		/* of width bits */
};

#define ICODE_ESC	255

/*
 * Plan the code of n values z (bit lengths only matter) plus nesc
 * escapes; the returned bits count the codes, not the parameters.
 */
uint64_t	icode_plan(struct icode *, const uint64_t *z, size_t n,
		    size_t nesc);
/* Bits icode_put_params writes for this plan. */
unsigned	icode_param_bits(const struct icode *);
void		icode_put_params(struct bitw *, const struct icode *);
/* Write a value (it must fit the widest bucket) or an escape. */
void		icode_put(struct bitw *, const struct icode *, uint64_t);
void		icode_put_esc(struct bitw *, const struct icode *);
/* 0, or -1 on impossible parameters (or r->err). */
int		icode_get_params(struct bitr *, struct icode_dec *);

/*
 * Read one code with no bounds check: the caller has made sure that
 * r->n >= d->maxtot and d->maxtot <= 56.  *esc is set for an escape.
 */
static inline uint64_t
icode_take(struct bitr *r, const struct icode_dec *d, int *esc)
{
	unsigned	i = (unsigned)((r->acc >> 1) >> (63 - d->peek));
	unsigned	tot = d->tot[i];
	uint64_t	x = (r->acc >> 1) >> (63 - tot);

	r->acc <<= tot;
	r->n -= tot;
	*esc = d->width[i] == ICODE_ESC;
	return x & d->mask[i];
}

/* Read one code: 0 with *z, 1 for an escape; errors show in r->err. */
static inline int
icode_get(struct bitr *r, const struct icode_dec *d, uint64_t *z)
{
	unsigned	i = 0, w, tot;
	uint64_t	x;

	if (d->peek > 0)
		i = (unsigned)bitr_peek(r, d->peek);
	w = d->width[i];
	if (w == ICODE_ESC) {
		bitr_skip(r, d->len[i]);
		return 1;
	}
	tot = d->len[i] + w;
	if (tot == 0) {
		*z = 0;
		return 0;
	}
	if (tot <= 56) {
		x = bitr_read(r, tot);
		*z = w == 0 ? 0 : x & (~(uint64_t)0 >> (64 - w));
		return 0;
	}
	if (d->len[i] > 0)
		bitr_skip(r, d->len[i]);
	*z = bitr_readn(r, w);
	return 0;
}

#endif
