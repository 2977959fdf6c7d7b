/*
 * chunk: the compressed unit of a series' samples (the codec).
 *
 * A chunk holds up to CHUNK_MAX_SAMPLES samples of one series in strictly
 * increasing time order.  An appender builds one; the sealed bytes (header
 * with magic, version, encoding, count, first/last time and a CRC32C; see
 * storage/FORMAT.md) are what the store writes to LMDB, and an iterator
 * reads them back.  The bit stream (bitstream.h) is apart from the codec.
 *
 * The appender keeps the chunk Gorilla-encoded while it is open (a byte
 * or two a sample); chunk_app_bytes_out plans the packed encoding from
 * the samples and keeps whichever is smaller.  Planning needs scratch
 * memory (about 100 bytes a sample) only for the duration of the call.
 *
 * Decoding never trusts its input: a truncated or corrupt chunk yields an
 * error, never an over-read, a loop or a huge allocation.  Errors are
 * returned as -1 with a message in the iterator's errmsg; nothing logs.
 *
 * Threads: an appender or an iterator belongs to one thread at a time;
 * distinct ones are independent (there is no global mutable state).
 */
#ifndef MONITORD_CHUNK_H
#define MONITORD_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "storage/bitstream.h"
#include "storage/intcode.h"

#define CHUNK_MAX_SAMPLES	4096

enum chunk_encoding {
	CHUNK_ENC_GORILLA = 1,	/* delta-of-delta times, XOR float values */
	CHUNK_ENC_PACKED = 2,	/* planned per chunk: grid or delta times,
				   decimal integers or XOR values, each in a
				   bucket prefix code (storage/FORMAT.md) */
	CHUNK_ENC_SHARED = 3,	/* packed values; the timestamps are in a
				   CHUNK_ENC_TIMES column kept apart */
	CHUNK_ENC_TIMES = 4,	/* a timestamp column, no values */
};

struct chunk_app;

struct chunk_app *chunk_app_new(void);
void		 chunk_app_free(struct chunk_app *);
/*
 * 0, or -1 when t <= the last time (the caller counts it as out of order)
 * or the chunk is full.  The appender keeps its bits in its own
 * allocation, so an add may move it: *AP is updated, and any other copy
 * of the pointer is stale.
 */
int		 chunk_app_add(struct chunk_app **ap, int64_t t, double v);
/* Empty the appender for the next chunk, keeping its buffers. */
void		 chunk_app_reset(struct chunk_app *);
/*
 * Free what bytes_out and bytes_out_shared keep (a copy of the chunk and
 * the planning scratch), for an appender that stays open a long time; the
 * bytes they gave are invalid afterwards.
 */
void		 chunk_app_trim(struct chunk_app *);
/*
 * 0 (the default): bytes_out picks the smallest encoding for the chunk;
 * a CHUNK_ENC_* value forces that one (tests and measurements).
 */
void		 chunk_app_set_encoding(struct chunk_app *, int);
size_t		 chunk_app_count(const struct chunk_app *);
int64_t		 chunk_app_first(const struct chunk_app *);
int64_t		 chunk_app_last(const struct chunk_app *);
/*
 * Encoded size so far, to decide when to seal: the Gorilla size, an upper
 * bound; sealed chunks are usually two to four times smaller.
 */
size_t		 chunk_app_bytes(const struct chunk_app *);
/*
 * The chunk's bytes as they go to disk: 0, or -1 when it is empty.  They
 * stay valid until the next add, reset, bytes_out, bytes_out_shared or
 * free.  The appender stays usable (checkpoints of open head chunks).
 */
int		 chunk_app_bytes_out(struct chunk_app *, const uint8_t **data,
		    size_t *len);
/*
 * The open chunk as a Gorilla chunk (CHUNK_ENC_GORILLA, with its CRC),
 * written to BUF when CAP holds it: its size, 0 when it is empty.  Unlike
 * bytes_out this allocates nothing and leaves the appender as it was, so
 * readers may call it on a shared appender under the owner's lock.
 */
size_t		 chunk_app_copy(const struct chunk_app *, uint8_t *buf,
		    size_t cap);

/* XOR coder state (private to the codec). */
struct chunk_xor {
	uint64_t	 prev;
	uint8_t		 leading, trailing;
};

struct chunk_iter {
	/* private to the codec; on the stack, no allocation */
	struct bitr	 br;		/* the payload; packed: values */
	struct bitr	 tbr;		/* packed: timestamps */
	uint32_t	 n, i;
	int		 enc;
	int		 err;
	int64_t		 t, first, last;
	uint64_t	 delta;		/* Gorilla: previous delta */
	struct chunk_xor vx;		/* values (XOR) */
	/* CHUNK_ENC_PACKED */
	uint8_t		 tmode, vmode, vxf, vexp;
	uint64_t	 tstep, tbase;
	uint64_t	 vbase, vgcd, m, d;
	double		 vscale;
	struct chunk_xor ex;		/* exceptions (XOR) */
	struct icode_dec tdec, vdec;
	const int64_t	*tt;		/* the decoded column, when given */
	char		 errmsg[96];
};

/*
 * Check the header and CRC; 0, or -1 with it->errmsg set.  The iterator
 * points into the caller's bytes, which must outlive it.
 */
int		 chunk_iter_init(struct chunk_iter *, const uint8_t *, size_t);
/* 1 with the next sample, 0 at the end, -1 on corrupt data (errmsg). */
int		 chunk_iter_next(struct chunk_iter *, int64_t *t, double *v);
/*
 * Up to max samples at once into t[] and v[], the fast path for scans:
 * how many were stored, 0 at the end, -1 on corrupt data (errmsg).
 * May be mixed with chunk_iter_next.
 */
int		 chunk_iter_batch(struct chunk_iter *, int64_t *t, double *v,
		    size_t max);
/*
 * Timestamp sharing.  The series of one target are scraped together and
 * have the same timestamps: a store may keep them once.
 * chunk_app_bytes_out_shared gives a values chunk (CHUNK_ENC_SHARED) that
 * names its timestamp column by the column's CRC32C, and the column
 * (CHUNK_ENC_TIMES: a chunk header with count, first and last, then the
 * timestamps) which is the same byte for byte for every series appended
 * the same timestamps.  Both stay valid as bytes_out's do.  chunk_times_ref tells whether a chunk needs a column (1 and its
 * CRC, 0 when it is self-contained, -1 on a bad header) and
 * chunk_iter_init_shared reads such a chunk with its column (which it
 * checks: CRC, count, first and last must match).
 */
int		 chunk_app_bytes_out_shared(struct chunk_app *,
		    const uint8_t **data, size_t *len, const uint8_t **times,
		    size_t *tlen);
/*
 * N samples already decoded (times strictly increasing, 1 to
 * CHUNK_MAX_SAMPLES) into an empty appender, for bytes_out_shared: a store
 * sealing samples it has merged skips encoding them as Gorilla only for
 * bytes_out_shared to decode them again.  0, or -1 (nothing loaded).  Only
 * bytes_out_shared, the getters, reset and free apply to it afterwards
 * (add and bytes_out give -1, copy 0).
 */
int		 chunk_app_load(struct chunk_app *, const int64_t *t,
		    const double *v, size_t n);
int		 chunk_times_ref(const uint8_t *, size_t, uint32_t *ref);
int		 chunk_iter_init_shared(struct chunk_iter *, const uint8_t *,
		    size_t, const uint8_t *times, size_t tlen);
/*
 * A column decoded once for all the chunks that use it.
 * chunk_times_decode checks the column TIMES (header, CRC, timestamps
 * strictly increasing, the last one the header's, no trailing data) and
 * writes its timestamps to T, which has room for CHUNK_MAX_SAMPLES: their
 * count, or -1 with the reason in ERR.  chunk_iter_init_decoded reads a
 * values chunk as chunk_iter_init_shared does, the column's bytes checked
 * against the chunk the same way, but takes the timestamps from TT, what
 * chunk_times_decode made of those very bytes (the caller vouches for
 * it; the column's CRC is not computed again), and decodes only the
 * values.  TT must outlive the iterator.
 */
int		 chunk_times_decode(const uint8_t *times, size_t tlen,
		    int64_t *t, char *err, size_t errlen);
int		 chunk_iter_init_decoded(struct chunk_iter *, const uint8_t *,
		    size_t, const uint8_t *times, size_t tlen,
		    const int64_t *tt);

/*
 * The stripped form of a shared-values chunk, for a store that keeps its
 * timestamp column next to it: the chunk's header holds nothing the
 * column's does not (count, first, last) but its CRC and the payload
 * length, and the payload starts with the column's CRC, so the chunk's
 * CRC (4 bytes) and the rest of its payload are enough.  chunk_strip
 * writes it into OUT (room for LEN bytes): its length, or 0 when the
 * chunk is not a shared-values chunk of that column (then keep it whole).
 * chunk_unstrip rebuilds the chunk byte for byte into OUT (room for
 * CHUNK_HDR_MAX more bytes than the stripped form): its length, or 0 when
 * the input is too short or COL is not a column.  The CRC checks the
 * result when it is decoded.
 */
#define CHUNK_HDR_MAX		41
size_t		 chunk_strip(const uint8_t *, size_t, const uint8_t *col,
		    size_t clen, uint8_t *out);
size_t		 chunk_unstrip(const uint8_t *, size_t, const uint8_t *col,
		    size_t clen, uint8_t *out, size_t outlen);

/* Header fields without decoding: 0, or -1 when the header is bad. */
int		 chunk_peek(const uint8_t *, size_t, uint32_t *count,
		    int64_t *first, int64_t *last);

/* CRC32C (Castagnoli), as the header uses it; crc is 0 to start. */
uint32_t	 chunk_crc32c(uint32_t crc, const void *, size_t);
/*
 * For the fuzzer and the tests only: chunk_iter_init without the CRC
 * check, so that corrupt payloads reach the decoder.
 */
int		 chunk_iter_init_unchecked(struct chunk_iter *, const uint8_t *,
		    size_t);
int		 chunk_iter_init_shared_unchecked(struct chunk_iter *,
		    const uint8_t *, size_t, const uint8_t *, size_t);

#endif
