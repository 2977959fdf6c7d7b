/*
 * intcode: planning, writing and reading the parameters of the bucket
 * prefix code (the per-value read is inline in intcode.h).
 *
 * The planner works on the histogram of bit lengths: only the distinct
 * lengths present can be useful bucket widths, the widest bucket must be
 * the longest length, and for each choice of widths the prefix lengths
 * are the Huffman code of the bucket counts.  Every choice of up to four
 * symbols is costed exactly, so the plan is the smallest this family of
 * codes allows.
 */
#include "config.h"

#include <string.h>

#include "storage/bitstream.h"
#include "storage/intcode.h"

/* Beyond this many distinct lengths, four buckets are not searched. */
#define ICODE_MAX_D4	20

static unsigned
bitlen(uint64_t v)
{
	return v == 0 ? 0 : 64 - (unsigned)__builtin_clzll(v);
}

/*
 * Huffman code lengths (at most 3) for up to four counts; returns the
 * total prefix bits.
 */
static uint64_t
huff(const uint64_t *cnt, unsigned k, uint8_t *len)
{
	unsigned	order[ICODE_MAXSYM], i, j, t;
	uint64_t	a, b;

	if (k == 1) {
		len[0] = 0;
		return 0;
	}
	for (i = 0; i < k; i++)
		order[i] = i;
	for (i = 1; i < k; i++) {
		for (j = i; j > 0 && cnt[order[j]] > cnt[order[j - 1]]; j--) {
			t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	}
	if (k == 2) {
		len[0] = len[1] = 1;
		return cnt[0] + cnt[1];
	}
	if (k == 3) {
		len[order[0]] = 1;
		len[order[1]] = len[order[2]] = 2;
		return cnt[order[0]] + 2 * (cnt[order[1]] + cnt[order[2]]);
	}
	a = 2 * (cnt[0] + cnt[1] + cnt[2] + cnt[3]);
	b = cnt[order[0]] + 2 * cnt[order[1]] +
	    3 * (cnt[order[2]] + cnt[order[3]]);
	if (a <= b) {
		len[0] = len[1] = len[2] = len[3] = 2;
		return a;
	}
	len[order[0]] = 1;
	len[order[1]] = 2;
	len[order[2]] = len[order[3]] = 3;
	return b;
}

/* Canonical codes from the lengths. */
static void
assign_codes(struct icode *c)
{
	unsigned	i, l, code = 0, prev = 0;

	for (l = 1; l <= 3; l++) {
		for (i = 0; i < c->nsym; i++) {
			if (c->len[i] != l)
				continue;
			code <<= (l - prev);
			prev = l;
			c->code[i] = (uint8_t)code++;
		}
	}
	if (c->nsym == 1)
		c->code[0] = 0;
}

/*
 * Cost of buckets with widths w[0..k-1] (ascending, indexes into the
 * distinct lengths d[] with prefix counts pc[]) plus an escape.
 */
static uint64_t
cost(const unsigned *w, unsigned k, const unsigned *d, const uint64_t *pc,
    size_t nesc, struct icode *out)
{
	uint64_t	cnt[ICODE_MAXSYM], bits = 0, prev = 0;
	unsigned	i, nsym = k + (nesc > 0);

	for (i = 0; i < k; i++) {
		cnt[i] = pc[w[i]] - prev;
		prev = pc[w[i]];
		bits += cnt[i] * d[w[i]];
	}
	if (nesc > 0)
		cnt[k] = nesc;
	bits += huff(cnt, nsym, out->len);
	out->nsym = nsym;
	out->esc = nesc > 0;
	for (i = 0; i < k; i++)
		out->width[i] = (uint8_t)d[w[i]];
	if (nesc > 0)
		out->width[k] = 0;
	return bits;
}

uint64_t
icode_plan(struct icode *c, const uint64_t *z, size_t n, size_t nesc)
{
	uint64_t	hist[65], pc[65], best, bits;
	unsigned	d[65], nd = 0, w[ICODE_MAXSYM], a, b, e, kmax, i;
	struct icode	tmp;
	size_t		j;

	memset(hist, 0, sizeof(hist));
	for (j = 0; j < n; j++)
		hist[bitlen(z[j])]++;
	for (i = 0; i <= 64; i++) {
		if (hist[i] > 0) {
			d[nd] = i;
			pc[nd] = (nd > 0 ? pc[nd - 1] : 0) + hist[i];
			nd++;
		}
	}
	if (nd == 0) {
		/* escapes only (or nothing): a lone symbol */
		memset(c, 0, sizeof(*c));
		c->nsym = 1;
		c->esc = nesc > 0;
		return 0;
	}
	kmax = nesc > 0 ? 3 : 4;
	w[0] = nd - 1;
	best = cost(w, 1, d, pc, nesc, c);
	if (kmax >= 2) {
		for (a = 0; a + 1 < nd; a++) {
			w[0] = a;
			w[1] = nd - 1;
			if ((bits = cost(w, 2, d, pc, nesc, &tmp)) < best) {
				best = bits;
				*c = tmp;
			}
		}
	}
	if (kmax >= 3) {
		for (a = 0; a + 2 < nd; a++) {
			for (b = a + 1; b + 1 < nd; b++) {
				w[0] = a;
				w[1] = b;
				w[2] = nd - 1;
				bits = cost(w, 3, d, pc, nesc, &tmp);
				if (bits < best) {
					best = bits;
					*c = tmp;
				}
			}
		}
	}
	if (kmax >= 4 && nd <= ICODE_MAX_D4) {
		for (a = 0; a + 3 < nd; a++) {
			for (b = a + 1; b + 2 < nd; b++) {
				for (e = b + 1; e + 1 < nd; e++) {
					w[0] = a;
					w[1] = b;
					w[2] = e;
					w[3] = nd - 1;
					bits = cost(w, 4, d, pc, nesc, &tmp);
					if (bits < best) {
						best = bits;
						*c = tmp;
					}
				}
			}
		}
	}
	assign_codes(c);
	return best;
}

unsigned
icode_param_bits(const struct icode *c)
{
	unsigned	normals = c->nsym - (unsigned)c->esc;

	return 3 + 7 * normals + (c->nsym > 1 ? 2 * c->nsym : 0);
}

void
icode_put_params(struct bitw *w, const struct icode *c)
{
	unsigned	i, normals = c->nsym - (unsigned)c->esc;

	bitw_write(w, ((uint64_t)(c->nsym - 1) << 1) | (unsigned)c->esc, 3);
	for (i = 0; i < normals; i++)
		bitw_write(w, c->width[i], 7);
	if (c->nsym > 1) {
		for (i = 0; i < c->nsym; i++)
			bitw_write(w, c->len[i], 2);
	}
}

void
icode_put(struct bitw *w, const struct icode *c, uint64_t z)
{
	unsigned	i, normals = c->nsym - (unsigned)c->esc;
	unsigned	bl = bitlen(z);

	for (i = 0; i + 1 < normals && c->width[i] < bl; i++)
		;
	if (c->len[i] + c->width[i] <= 64 && c->width[i] < 64) {
		bitw_write(w, ((uint64_t)c->code[i] << c->width[i]) | z,
		    c->len[i] + c->width[i]);
		return;
	}
	bitw_write(w, c->code[i], c->len[i]);
	bitw_write(w, z, c->width[i]);
}

void
icode_put_esc(struct bitw *w, const struct icode *c)
{
	bitw_write(w, c->code[c->nsym - 1], c->len[c->nsym - 1]);
}

/* The per-entry totals and masks of the fast read. */
static void
dec_finish(struct icode_dec *d)
{
	unsigned	i, w;

	d->maxtot = 0;
	for (i = 0; i < (1u << d->peek); i++) {
		w = d->width[i] == ICODE_ESC ? 0 : d->width[i];
		d->tot[i] = (uint8_t)(d->len[i] + w);
		d->mask[i] = w == 64 ? ~(uint64_t)0 :
		    (((uint64_t)1 << w) - 1);
		if (d->tot[i] > d->maxtot)
			d->maxtot = d->tot[i];
	}
}

int
icode_get_params(struct bitr *r, struct icode_dec *d)
{
	unsigned	nsym, esc, normals, i, j, l, code, prev, span;
	uint8_t		width[ICODE_MAXSYM], len[ICODE_MAXSYM];
	uint64_t	x;
	unsigned	kraft = 0;

	x = bitr_read(r, 3);
	nsym = (unsigned)(x >> 1) + 1;
	esc = (unsigned)(x & 1);
	if (r->err)
		return -1;
	normals = nsym - esc;
	for (i = 0; i < normals; i++) {
		width[i] = (uint8_t)bitr_read(r, 7);
		if (width[i] > 64 || (i > 0 && width[i] <= width[i - 1]))
			return -1;
	}
	if (esc)
		width[nsym - 1] = ICODE_ESC;
	memset(d, 0, sizeof(*d));
	if (nsym == 1) {
		if (r->err)
			return -1;
		d->peek = 0;
		d->len[0] = 0;
		d->width[0] = width[0];
		dec_finish(d);
		return 0;
	}
	d->peek = 0;
	for (i = 0; i < nsym; i++) {
		len[i] = (uint8_t)bitr_read(r, 2);
		if (len[i] == 0)
			return -1;
		kraft += 8u >> len[i];
		if (len[i] > d->peek)
			d->peek = len[i];
	}
	/* the code must be complete: every peeked pattern decodes */
	if (r->err || kraft != 8)
		return -1;
	code = 0;
	prev = 0;
	for (l = 1; l <= 3; l++) {
		for (i = 0; i < nsym; i++) {
			if (len[i] != l)
				continue;
			code <<= (l - prev);
			prev = l;
			span = 1u << (d->peek - l);
			for (j = 0; j < span; j++) {
				d->len[(code << (d->peek - l)) + j] = len[i];
				d->width[(code << (d->peek - l)) + j] =
				    width[i];
			}
			code++;
		}
	}
	dec_finish(d);
	return 0;
}
