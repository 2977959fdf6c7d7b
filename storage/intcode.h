/*
 * intcode: a prefix code for a stream of unsigned integers, planned for
 * each stream.
 *
 * A plan splits the values into at most eight buckets by bit length:
 * bucket k holds the values whose bit length is in (ub[k-1], ub[k]], is
 * written as value - 2^ub[k-1] in just enough bits, and is announced by a
 * prefix of 1 to 5 bits (a length-limited Huffman code over the bucket
 * counts).  One bucket is plain bit-packing; a few buckets pay a short
 * prefix for a narrow common case and a long one for rare wide values; a
 * bucket of one bit length drops the leading one.  One symbol may be an
 * escape that carries no bits (the codec writes an exception after it).
 *
 * Stream layout of the parameters (bitstream.h, MSB first):
 *	nsym - 1: 3 bits, esc: 1 bit (the last symbol is the escape),
 *	then per normal symbol ub: 7 bits (ascending, 0..64),
 *	then, when nsym > 1, per symbol prefix length: 3 bits (1..5).
 * Prefix codes are canonical: symbols ordered by (length, index) get
 * consecutive codes, and the code must be complete.
 *
 * Decoding never reads past the stream (bitr) and rejects impossible
 * parameters.
 */
#ifndef MONITORD_INTCODE_H
#define MONITORD_INTCODE_H

#include <stddef.h>
#include <stdint.h>

#include "storage/bitstream.h"

#define ICODE_MAXSYM	8
#define ICODE_MAXLEN	5
#define ICODE_ESC	255

struct icode {
	unsigned	nsym;			/* 1..8, escape included */
	int		esc;			/* 1: symbol nsym-1 escapes */
	uint8_t		ub[ICODE_MAXSYM];	/* ascending over normals */
	uint8_t		width[ICODE_MAXSYM];
	uint64_t	lo[ICODE_MAXSYM];
	uint8_t		len[ICODE_MAXSYM];
	uint8_t		code[ICODE_MAXSYM];
};

/* Decoding table, indexed by the next `peek' bits. */
struct icode_dec {
	uint8_t		peek;			/* 0..5 */
	uint8_t		maxtot;			/* longest prefix + width */
	uint8_t		len[1 << ICODE_MAXLEN];	/* prefix bits */
	uint8_t		width[1 << ICODE_MAXLEN]; /* 0..64, or ICODE_ESC */
	uint8_t		tot[1 << ICODE_MAXLEN];	/* len + width (escape: len) */
	uint64_t	lo[1 << ICODE_MAXLEN];
};

/*
 * Plan the code of n values z plus nesc escapes, searching up to four
 * symbols exhaustively (cheap: for comparing candidate streams); returns
 * the bits of the codes and the parameters.
 */
uint64_t	icode_plan(struct icode *, const uint64_t *z, size_t n,
		    size_t nesc);
/*
 * Search up to eight symbols greedily for the stream finally written;
 * keeps the better of that and *c (whose bits go to *before); returns
 * the bits as icode_plan.
 */
uint64_t	icode_refine(struct icode *, const uint64_t *z, size_t n,
		    size_t nesc, uint64_t *before);
void		icode_put_params(struct bitw *, const struct icode *);
/* Write a value (it must fit the widest bucket) or an escape. */
void		icode_put(struct bitw *, const struct icode *, uint64_t);
void		icode_put_esc(struct bitw *, const struct icode *);
/* 0, or -1 on impossible parameters (or r->err). */
int		icode_get_params(struct bitr *, struct icode_dec *);

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
	tot = d->tot[i];
	if (tot == 0) {
		*z = d->lo[i];
		return 0;
	}
	if (tot <= 56) {
		x = bitr_read(r, tot);
		*z = (w == 0 ? 0 : x & (~(uint64_t)0 >> (64 - w))) + d->lo[i];
		return 0;
	}
	if (d->len[i] > 0)
		bitr_skip(r, d->len[i]);
	*z = bitr_readn(r, w) + d->lo[i];
	return 0;
}

#endif
