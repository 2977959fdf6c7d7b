/*
 * Fuzz target of the chunk decoder.  The first input byte picks the mode:
 * bit 0 clear, the full checked path (header, CRC, decode); set, the
 * decoder with the CRC checks bypassed, so that mutated payloads reach it.
 * Bit 1 set: the input is a timestamp column of (second byte) bytes and
 * a values chunk that needs it (CHUNK_ENC_SHARED).  Bit 2 picks batch
 * decoding, one sample a call, or with bit 3 up to 64 (the fast loop's
 * runs).  Whatever the bytes, decoding must end with 0 or -1 (and a
 * message), never crash, read out of bounds or return more samples than
 * the header announces.  Every chunk that decodes is then re-encoded and
 * must decode to the same samples.  A column that chunk_times_decode
 * takes (checked mode) must give increasing times and, given to
 * chunk_iter_init_decoded, the very results of the plain shared path.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/chunk.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The column decoded apart reads the chunk as the plain path does. */
static void
decoded(const uint8_t *p, size_t len, const uint8_t *tp, size_t tlen)
{
	struct chunk_iter	 it, it2;
	int64_t			*tt, t, t2;
	double			 v, v2;
	char			 err[96] = "";
	int			 n, i, r, r2;

	tt = malloc(CHUNK_MAX_SAMPLES * sizeof(*tt));
	if (tt == NULL)
		abort();
	n = chunk_times_decode(tp, tlen, tt, err, sizeof(err));
	if (n < 0 && err[0] == '\0')
		abort();
	if (n > CHUNK_MAX_SAMPLES || n == 0)
		abort();
	for (i = 1; i < n; i++) {
		if (tt[i] <= tt[i - 1])
			abort();
	}
	if (n > 0) {
		r = chunk_iter_init_shared(&it, p, len, tp, tlen);
		r2 = chunk_iter_init_decoded(&it2, p, len, tp, tlen, tt);
		if (r != r2 || (r != 0 && strcmp(it.errmsg, it2.errmsg) != 0))
			abort();
		while (r == 0) {
			r = chunk_iter_next(&it, &t, &v);
			r2 = chunk_iter_next(&it2, &t2, &v2);
			if (r != r2 || (r == 1 && (t != t2 ||
			    memcmp(&v, &v2, sizeof(v)) != 0)) ||
			    (r == -1 && strcmp(it.errmsg, it2.errmsg) != 0))
				abort();
			r = r == 1 ? 0 : 1;
		}
	}
	free(tt);
}

static int
init(struct chunk_iter *it, const uint8_t *p, size_t len, const uint8_t *tp,
    size_t tlen, int checked)
{
	if (tp != NULL)
		return checked ? chunk_iter_init_shared(it, p, len, tp, tlen) :
		    chunk_iter_init_shared_unchecked(it, p, len, tp, tlen);
	return checked ? chunk_iter_init(it, p, len) :
	    chunk_iter_init_unchecked(it, p, len);
}

#define BATCH_MAX	64

struct batch {
	int64_t		 t[BATCH_MAX];
	double		 v[BATCH_MAX];
	int		 n, i;
};

/* One sample, by the single or the batch path (batches of up to max). */
static int
next(struct chunk_iter *it, int64_t *t, double *v, int batch,
    struct batch *b)
{
	if (batch == 0)
		return chunk_iter_next(it, t, v);
	if (b->i == b->n) {
		b->n = chunk_iter_batch(it, b->t, b->v, batch);
		b->i = 0;
		if (b->n > batch)
			abort();
		if (b->n <= 0)
			return b->n;
	}
	*t = b->t[b->i];
	*v = b->v[b->i++];
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chunk_iter	 it, it2;
	struct batch		 b = { .n = 0, .i = 0 };
	struct chunk_app	*a;
	const uint8_t		*out;
	uint8_t			*copy, *tcopy = NULL;
	size_t			 n = 0, olen, tlen = 0;
	int64_t			 t, t2;
	double			 v, v2;
	uint32_t		 count = 0;
	int64_t			 first, last;
	int			 r, checked, shared, batch;

	if (size == 0)
		return 0;
	checked = (data[0] & 1) == 0;
	shared = (data[0] & 2) != 0;
	batch = (data[0] & 4) == 0 ? 0 : (data[0] & 8) ? BATCH_MAX : 1;
	data++;
	size--;
	if (shared) {
		if (size == 0)
			return 0;
		tlen = data[0];
		data++;
		size--;
		if (tlen > size)
			tlen = size;
		/* exact-size copies, so that any over-read trips ASan */
		tcopy = malloc(tlen == 0 ? 1 : tlen);
		if (tcopy == NULL)
			abort();
		memcpy(tcopy, data, tlen);
		data += tlen;
		size -= tlen;
	}
	copy = malloc(size == 0 ? 1 : size);
	if (copy == NULL)
		abort();
	memcpy(copy, data, size);

	if (chunk_peek(copy, size, &count, &first, &last) == -1)
		count = 0;
	r = init(&it, copy, size, tcopy, tlen, checked);
	if (r == -1) {
		if (it.errmsg[0] == '\0')
			abort();
		free(copy);
		free(tcopy);
		return 0;
	}
	a = chunk_app_new();
	while ((r = next(&it, &t, &v, batch, &b)) == 1) {
		if (++n > count || chunk_app_add(&a, t, v) != 0)
			abort();
	}
	if (r == -1 && it.errmsg[0] == '\0')
		abort();
	if (r == 0) {
		if (n != count || chunk_app_bytes_out(a, &out, &olen) != 0 ||
		    chunk_iter_init(&it2, out, olen) != 0)
			abort();
		if (init(&it, copy, size, tcopy, tlen, checked) != 0)
			abort();
		while (chunk_iter_next(&it, &t, &v) == 1) {
			if (chunk_iter_next(&it2, &t2, &v2) != 1 || t != t2 ||
			    memcmp(&v, &v2, sizeof(v)) != 0)
				abort();
		}
		if (chunk_iter_next(&it2, &t2, &v2) != 0)
			abort();
	}
	if (tcopy != NULL && checked)
		decoded(copy, size, tcopy, tlen);
	free(tcopy);
	chunk_app_free(a);
	free(copy);
	return 0;
}
