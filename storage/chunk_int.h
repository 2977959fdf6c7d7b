/*
 * chunk_int: what the codec's files (chunk.c, chunk_packed.c) share and
 * nothing else may use: the XOR value coder and the packed encoding's
 * entry points.
 */
#ifndef MONITORD_CHUNK_INT_H
#define MONITORD_CHUNK_INT_H

#include <stddef.h>
#include <stdint.h>

#include "storage/bitstream.h"
#include "storage/chunk.h"

/*
 * Gorilla's XOR coder (struct chunk_xor): the previous value's bits and
 * the window (leading, trailing zero bits) last written in full; leading
 * 0xff means no window yet.
 */

void		xor_init(struct chunk_xor *, uint64_t first);
void		xor_put(struct bitw *, struct chunk_xor *, uint64_t bits);
/* Bits xor_put would write, advancing the state the same way. */
unsigned	xor_cost(struct chunk_xor *, uint64_t bits);
/* 0 with the next value in st->prev, or -1 on a corrupt window. */
int		xor_get(struct bitr *, struct chunk_xor *);

/*
 * The packed encoding (CHUNK_ENC_PACKED): plan the n >= 1 samples,
 * returning the payload bits; then write that plan.  The plan lives in
 * an opaque object the appender keeps for reuse.
 */
struct packed_plan;
struct packed_plan *packed_plan_new(void);
void		packed_plan_free(struct packed_plan *);
uint64_t	packed_plan(struct packed_plan *, const int64_t *t,
		    const double *v, size_t n);
/* What packed_write writes: a whole payload, or one of its sections. */
#define PACKED_FULL	0	/* CHUNK_ENC_PACKED */
#define PACKED_VALUES	1	/* CHUNK_ENC_SHARED, after the reference */
#define PACKED_TIMES	2	/* CHUNK_ENC_TIMES */
void		packed_write(struct packed_plan *, struct bitw *, int);

/*
 * Iterator side: 0, or -1 with it->errmsg set.  For CHUNK_ENC_SHARED,
 * it->br holds the value section and times/tlen the column's payload.
 */
int		packed_iter_init(struct chunk_iter *, const uint8_t *times,
		    size_t tlen);
/*
 * A column's timestamps into T (the iterator holds its header's count,
 * first and last, TIMES/TLEN its payload): 0, or -1 with it->errmsg set.
 */
int		packed_times(struct chunk_iter *, const uint8_t *times,
		    size_t tlen, int64_t *t);
/* As chunk_iter_next, for one sample. */
int		packed_next(struct chunk_iter *, int64_t *, double *);
/* The end-of-chunk checks of the packed encoding. */
int		packed_end(struct chunk_iter *);
/* As chunk_iter_batch. */
int		packed_batch(struct chunk_iter *, int64_t *, double *, size_t);

int		chunk_iter_fail(struct chunk_iter *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

#endif
