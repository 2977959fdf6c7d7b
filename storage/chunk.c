/*
 * chunk: the codec of a series' samples.  An appender builds a chunk one
 * sample at a time; its sealed bytes (a small header with a CRC32C, then
 * an encoded payload; storage/FORMAT.md draws both) are what the store
 * keeps, and an iterator on the caller's stack reads them back.
 *
 * Gorilla (CHUNK_ENC_GORILLA): timestamps as delta-of-delta in the
 * millisecond buckets Prometheus uses (0/14/17/20/64 bits), values XOR'd
 * with the previous one, reusing the previous window of meaningful bits
 * when the new one fits inside it.  All timestamp arithmetic is modulo
 * 2^64 so that any strictly increasing int64 sequence round-trips, and
 * values travel as their bit patterns so that NaN payloads (the stale
 * marker) and -0.0 come back bit-exact.
 *
 * The decoder trusts nothing: the header is range-checked, the CRC
 * verified, every read is bounded by the bit reader, timestamps must keep
 * increasing and the last one must be the header's.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"
#include "storage/bitstream.h"
#include "storage/chunk.h"
#include "storage/chunk_int.h"
#include "storage/keys.h"

#define CHUNK_MAGIC0		0x4d	/* 'M' */
#define CHUNK_MAGIC1		0x43	/* 'C' */
#define CHUNK_VERSION		1
#define CHUNK_FIXED_HDR		8	/* magic, version, encoding, CRC */
#define CHUNK_MAX_HDR		(CHUNK_FIXED_HDR + 3 + 10 + 10 + 10)
#if CHUNK_MAX_HDR != CHUNK_HDR_MAX
#error "chunk.h's CHUNK_HDR_MAX is the longest header"
#endif

/*
 * The appender keeps the Gorilla stream (compact while the chunk is open);
 * bytes_out decodes it again to plan the packed encoding and keeps the
 * smaller.  There is one per open chunk, so it is packed (88 bytes on
 * LP64) and keeps its bits in the same allocation: bw.buf points at
 * bits[] and the appender moves as it grows (chunk_app_add).  Apart, the
 * buffer would cost a malloc header, and its first small block, left
 * behind when it grows, a hole beside the appender for as long as the
 * chunk stays open.
 */
struct chunk_app {
	struct bitw	 bw;		/* never grown by bitw_grow */
	int64_t		 first, last;
	uint64_t	 delta;
	struct chunk_xor vx;
	struct app_out	*x;		/* NULL until bytes_out */
	uint32_t	 n;
	uint8_t		 loaded;	/* samples in x->st/sv (chunk_app_load),
					   none in bw */
	uint8_t		 force;		/* encoding forced, or 0 */
	uint8_t		 outok;		/* 1: out is bytes_out's; 2: shared */
	uint8_t		 bits[];
};

/*
 * Room an add must find free in bits[]: a sample takes at most 4 + 64
 * bits of time and 2 + 11 + 64 of value (145), on top of fewer than 32
 * pending in the writer's accumulator, so its writes flush at most 22
 * bytes before the last one; bitw_write grows the buffer when it finds
 * fewer than 8 bytes left, which must never happen here.
 */
#define APP_ROOM	32
/* The first allocation: 152 bytes, which glibc's malloc serves exactly
 * (its chunks are 16n bytes with an 8-byte header). */
#define APP_FIRST	152

/* What bytes_out makes and keeps, apart: most open appenders go without
 * it most of the time. */
struct app_out {
	uint8_t		*out;		/* sealed bytes, see bytes_out */
	size_t		 outlen, outcap;
	uint8_t		*tout;		/* the timestamp column (shared) */
	size_t		 toutlen, toutcap;
	struct packed_plan *plan;
	struct bitw	 pw;		/* packed payload */
	int64_t		*st;		/* decoded samples, for planning */
	double		*sv;
	size_t		 scap;
};

struct chunk_hdr {
	unsigned	 enc;
	uint32_t	 count;
	int64_t		 first, last;
	uint32_t	 crc;
	size_t		 hlen;		/* header bytes, payload follows */
	size_t		 plen;
};

static const uint32_t crc32c_table[256] = {
	0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4,
	0xc79a971f, 0x35f1141c, 0x26a1e7e8, 0xd4ca64eb,
	0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b,
	0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24,
	0x105ec76f, 0xe235446c, 0xf165b798, 0x030e349b,
	0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
	0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54,
	0x5d1d08bf, 0xaf768bbc, 0xbc267848, 0x4e4dfb4b,
	0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a,
	0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35,
	0xaa64d611, 0x580f5512, 0x4b5fa6e6, 0xb93425e5,
	0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
	0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45,
	0xf779deae, 0x05125dad, 0x1642ae59, 0xe4292d5a,
	0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a,
	0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595,
	0x417b1dbc, 0xb3109ebf, 0xa0406d4b, 0x522bee48,
	0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
	0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687,
	0x0c38d26c, 0xfe53516f, 0xed03a29b, 0x1f682198,
	0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927,
	0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38,
	0xdbfc821c, 0x2997011f, 0x3ac7f2eb, 0xc8ac71e8,
	0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
	0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096,
	0xa65c047d, 0x5437877e, 0x4767748a, 0xb50cf789,
	0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859,
	0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46,
	0x7198540d, 0x83f3d70e, 0x90a324fa, 0x62c8a7f9,
	0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
	0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36,
	0x3cdb9bdd, 0xceb018de, 0xdde0eb2a, 0x2f8b6829,
	0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c,
	0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93,
	0x082f63b7, 0xfa44e0b4, 0xe9141340, 0x1b7f9043,
	0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
	0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3,
	0x55326b08, 0xa759e80b, 0xb4091bff, 0x466298fc,
	0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c,
	0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033,
	0xa24bb5a6, 0x502036a5, 0x4370c551, 0xb11b4652,
	0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
	0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d,
	0xef087a76, 0x1d63f975, 0x0e330a81, 0xfc588982,
	0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d,
	0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622,
	0x38cc2a06, 0xcaa7a905, 0xd9f75af1, 0x2b9cd9f2,
	0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
	0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530,
	0x0417b1db, 0xf67c32d8, 0xe52cc12c, 0x1747422f,
	0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff,
	0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0,
	0xd3d3e1ab, 0x21b862a8, 0x32e8915c, 0xc083125f,
	0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
	0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90,
	0x9e902e7b, 0x6cfbad78, 0x7fab5e8c, 0x8dc0dd8f,
	0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee,
	0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1,
	0x69e9f0d5, 0x9b8273d6, 0x88d28022, 0x7ab90321,
	0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
	0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81,
	0x34f4f86a, 0xc69f7b69, 0xd5cf889d, 0x27a40b9e,
	0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e,
	0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

static uint32_t
crc32c_sw(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len-- > 0)
		crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/*
 * SSE4.2 has a CRC32C instruction: eight bytes in about a cycle instead
 * of one in a handful, which matters when every chunk read is checked.
 */
__attribute__((target("sse4.2"))) static uint32_t
crc32c_hw(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t	c = crc, w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
	}
	crc = (uint32_t)c;
	for (; len > 0; p++, len--)
		crc = __builtin_ia32_crc32qi(crc, *p);
	return crc;
}
#endif

uint32_t
chunk_crc32c(uint32_t crc, const void *data, size_t len)
{
	crc = ~crc;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	if (__builtin_cpu_supports("sse4.2"))
		return ~crc32c_hw(crc, data, len);
#endif
	return ~crc32c_sw(crc, data, len);
}

/* The CRC covers every byte of the chunk but its own four. */
static uint32_t
chunk_sum(const uint8_t *p, size_t len)
{
	uint32_t	crc;

	crc = chunk_crc32c(0, p, 4);
	return chunk_crc32c(crc, p + CHUNK_FIXED_HDR, len - CHUNK_FIXED_HDR);
}

static int	iter_init(struct chunk_iter *, const uint8_t *, size_t,
		    const uint8_t *, size_t, const int64_t *, int);

static uint64_t
zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t
unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static uint64_t
dbits(double v)
{
	uint64_t	b;

	memcpy(&b, &v, sizeof(b));
	return b;
}

static double
bitsd(uint64_t b)
{
	double	v;

	memcpy(&v, &b, sizeof(v));
	return v;
}

static int
enc_known(unsigned enc)
{
	return enc >= CHUNK_ENC_GORILLA && enc <= CHUNK_ENC_TIMES;
}

static int
hdr_parse(const uint8_t *p, size_t len, struct chunk_hdr *h, char *err,
    size_t errlen)
{
	uint64_t	count, first, span, plen;
	size_t		off = CHUNK_FIXED_HDR;

	if (len < CHUNK_FIXED_HDR) {
		snprintf(err, errlen, "chunk too short (%zu bytes)", len);
		return -1;
	}
	if (p[0] != CHUNK_MAGIC0 || p[1] != CHUNK_MAGIC1) {
		snprintf(err, errlen, "bad chunk magic");
		return -1;
	}
	if (p[2] != CHUNK_VERSION) {
		snprintf(err, errlen, "unsupported chunk version %u", p[2]);
		return -1;
	}
	if (!enc_known(p[3])) {
		snprintf(err, errlen, "unknown chunk encoding %u", p[3]);
		return -1;
	}
	h->enc = p[3];
	h->crc = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
	    (uint32_t)p[7] << 24;
	if (key_get_uvarint(p, len, &off, &count) == -1 ||
	    key_get_uvarint(p, len, &off, &first) == -1 ||
	    key_get_uvarint(p, len, &off, &span) == -1 ||
	    key_get_uvarint(p, len, &off, &plen) == -1) {
		snprintf(err, errlen, "chunk header truncated");
		return -1;
	}
	if (count == 0 || count > CHUNK_MAX_SAMPLES) {
		snprintf(err, errlen, "chunk sample count %" PRIu64
		    " out of range", count);
		return -1;
	}
	h->count = (uint32_t)count;
	h->first = unzigzag(first);
	/* first + span must stay within int64; count - 1 steps of >= 1 */
	if (span > (uint64_t)INT64_MAX - (uint64_t)h->first ||
	    (count == 1 && span != 0) || span < count - 1) {
		snprintf(err, errlen, "chunk time span inconsistent");
		return -1;
	}
	h->last = (int64_t)((uint64_t)h->first + span);
	if (plen != len - off) {
		snprintf(err, errlen, "chunk length mismatch: header says %"
		    PRIu64 " payload bytes, have %zu", plen, len - off);
		return -1;
	}
	h->hlen = off;
	h->plen = (size_t)plen;
	return 0;
}

static size_t
hdr_write(uint8_t *p, unsigned enc, uint32_t count, int64_t first,
    int64_t last, size_t plen)
{
	size_t	off = CHUNK_FIXED_HDR;

	p[0] = CHUNK_MAGIC0;
	p[1] = CHUNK_MAGIC1;
	p[2] = CHUNK_VERSION;
	p[3] = (uint8_t)enc;
	off += key_put_uvarint(p + off, count);
	off += key_put_uvarint(p + off, zigzag(first));
	off += key_put_uvarint(p + off, (uint64_t)last - (uint64_t)first);
	off += key_put_uvarint(p + off, plen);
	return off;
}

static void
hdr_seal(uint8_t *p, size_t len)
{
	uint32_t	crc = chunk_sum(p, len);

	p[4] = (uint8_t)crc;
	p[5] = (uint8_t)(crc >> 8);
	p[6] = (uint8_t)(crc >> 16);
	p[7] = (uint8_t)(crc >> 24);
}

struct chunk_app *
chunk_app_new(void)
{
	struct chunk_app	*a = xcalloc(1, APP_FIRST);

	bitw_init(&a->bw);
	a->bw.buf = a->bits;
	a->bw.cap = APP_FIRST - offsetof(struct chunk_app, bits);
	return a;
}

void
chunk_app_free(struct chunk_app *a)
{
	if (a == NULL)
		return;
	chunk_app_trim(a);
	free(a);
}

/* Make room for one more sample, moving the appender; it grows as a bit
 * writer's buffer does (bitw_next_size), from APP_FIRST. */
static struct chunk_app *
app_room(struct chunk_app *a)
{
	size_t	off = offsetof(struct chunk_app, bits);
	size_t	size = off + a->bw.cap;

	if (a->bw.cap - a->bw.len >= APP_ROOM)
		return a;
	while (size - off - a->bw.len < APP_ROOM)
		size = bitw_next_size(size);
	a = xreallocarray(a, size, 1);
	a->bw.buf = a->bits;
	a->bw.cap = (uint32_t)(size - off);
	return a;
}

/*
 * Delta-of-delta buckets as Prometheus draws them: an n-bit field holds
 * -(2^(n-1) - 1) .. 2^(n-1).
 */
static void
put_dod(struct bitw *w, int64_t dod)
{
	if (dod == 0)
		bitw_write(w, 0, 1);
	else if (dod >= -8191 && dod <= 8192)
		bitw_write(w, (UINT64_C(0x2) << 14) | ((uint64_t)dod & 0x3fff),
		    16);
	else if (dod >= -65535 && dod <= 65536)
		bitw_write(w, (UINT64_C(0x6) << 17) | ((uint64_t)dod & 0x1ffff),
		    20);
	else if (dod >= -524287 && dod <= 524288)
		bitw_write(w, (UINT64_C(0xe) << 20) | ((uint64_t)dod & 0xfffff),
		    24);
	else {
		bitw_write(w, 0xf, 4);
		bitw_write(w, (uint64_t)dod, 64);
	}
}

void
xor_init(struct chunk_xor *x, uint64_t first)
{
	x->prev = first;
	x->leading = 0xff;
	x->trailing = 0;
}

unsigned
xor_cost(struct chunk_xor *st, uint64_t bits)
{
	uint64_t	x = bits ^ st->prev;
	unsigned	lead, trail;

	st->prev = bits;
	if (x == 0)
		return 1;
	lead = (unsigned)__builtin_clzll(x);
	trail = (unsigned)__builtin_ctzll(x);
	if (lead > 31)
		lead = 31;
	if (st->leading != 0xff && lead >= st->leading &&
	    trail >= st->trailing)
		return 2 + 64 - st->leading - st->trailing;
	st->leading = (uint8_t)lead;
	st->trailing = (uint8_t)trail;
	return 13 + 64 - lead - trail;
}

void
xor_put(struct bitw *w, struct chunk_xor *st, uint64_t bits)
{
	uint64_t	x = bits ^ st->prev;
	unsigned	lead, trail, sig;

	st->prev = bits;
	if (x == 0) {
		bitw_write(w, 0, 1);
		return;
	}
	lead = (unsigned)__builtin_clzll(x);
	trail = (unsigned)__builtin_ctzll(x);
	if (lead > 31)
		lead = 31;
	if (st->leading != 0xff && lead >= st->leading &&
	    trail >= st->trailing) {
		sig = 64 - st->leading - st->trailing;
		bitw_write(w, 2, 2);
		bitw_write(w, x >> st->trailing, sig);
		return;
	}
	st->leading = (uint8_t)lead;
	st->trailing = (uint8_t)trail;
	sig = 64 - lead - trail;
	bitw_write(w, (UINT64_C(3) << 11) | (lead << 6) | (sig & 0x3f), 13);
	bitw_write(w, x >> trail, sig);
}

static inline int
xor_get_inline(struct bitr *br, struct chunk_xor *st)
{
	uint64_t	b, x;
	unsigned	lead, sig;

	b = bitr_peek(br, 2);
	if (b < 2) {
		bitr_skip(br, 1);
		return 0;
	}
	bitr_skip(br, 2);
	if (b == 3) {
		x = bitr_read(br, 11);
		lead = (unsigned)(x >> 6);
		sig = (unsigned)(x & 0x3f);
		if (sig == 0)
			sig = 64;
		if (lead + sig > 64)
			return br->err ? 0 : -1;
		st->leading = (uint8_t)lead;
		st->trailing = (uint8_t)(64 - lead - sig);
	} else if (st->leading == 0xff)
		return -1;
	sig = 64u - st->leading - st->trailing;
	x = bitr_readn(br, sig);
	st->prev ^= x << st->trailing;
	return 0;
}

int
xor_get(struct bitr *br, struct chunk_xor *st)
{
	return xor_get_inline(br, st);
}

int
chunk_app_add(struct chunk_app **ap, int64_t t, double v)
{
	struct chunk_app *a = *ap;
	uint64_t	vb = dbits(v), delta;

	if (a->loaded || a->n >= CHUNK_MAX_SAMPLES || (a->n > 0 &&
	    t <= a->last))
		return -1;
	*ap = a = app_room(a);
	a->outok = 0;
	if (a->n == 0) {
		a->first = a->last = t;
		a->delta = 0;
		xor_init(&a->vx, vb);
		bitw_reset(&a->bw);
		bitw_write(&a->bw, vb, 64);
	} else {
		delta = (uint64_t)t - (uint64_t)a->last;
		put_dod(&a->bw, (int64_t)(delta - a->delta));
		a->delta = delta;
		a->last = t;
		xor_put(&a->bw, &a->vx, vb);
	}
	a->n++;
	return 0;
}

void
chunk_app_reset(struct chunk_app *a)
{
	a->n = 0;
	a->outok = 0;
	a->loaded = 0;
	bitw_reset(&a->bw);
}

void
chunk_app_set_encoding(struct chunk_app *a, int enc)
{
	a->force = (uint8_t)enc;
	a->outok = 0;
}

size_t
chunk_app_count(const struct chunk_app *a)
{
	return a->n;
}

int64_t
chunk_app_first(const struct chunk_app *a)
{
	return a->first;
}

int64_t
chunk_app_last(const struct chunk_app *a)
{
	return a->last;
}

size_t
chunk_app_bytes(const struct chunk_app *a)
{
	if (a->n == 0)
		return 0;
	return CHUNK_FIXED_HDR + 12 + bitw_nbytes(&a->bw);
}

/* A chunk with a header, an optional prefix and the bits of w. */
static void
emit(uint8_t **buf, size_t *cap, size_t *len, unsigned enc,
    const struct chunk_app *a, const uint8_t *pre, size_t prelen,
    const struct bitw *w)
{
	size_t	plen = prelen + bitw_nbytes(w), need = CHUNK_MAX_HDR + plen;
	size_t	off;

	if (*cap < need) {
		*buf = xreallocarray(*buf, need, 1);
		*cap = need;
	}
	off = hdr_write(*buf, enc, a->n, a->first, a->last, plen);
	if (prelen > 0)
		memcpy(*buf + off, pre, prelen);
	bitw_copy(w, *buf + off + prelen);
	*len = off + plen;
	hdr_seal(*buf, *len);
}

size_t
chunk_app_copy(const struct chunk_app *a, uint8_t *buf, size_t cap)
{
	uint8_t	hdr[CHUNK_MAX_HDR];
	size_t	plen, hlen;

	if (a->n == 0 || a->loaded)
		return 0;
	plen = bitw_nbytes(&a->bw);
	hlen = hdr_write(hdr, CHUNK_ENC_GORILLA, a->n, a->first, a->last,
	    plen);
	if (cap < hlen + plen)
		return hlen + plen;
	memcpy(buf, hdr, hlen);
	bitw_copy(&a->bw, buf + hlen);
	hdr_seal(buf, hlen + plen);
	return hlen + plen;
}

static void
app_emit(struct chunk_app *a, unsigned enc, const struct bitw *w)
{
	emit(&a->x->out, &a->x->outcap, &a->x->outlen, enc, a, NULL, 0, w);
}

/* Decode the appender's own Gorilla chunk into st/sv. */
static void
app_samples(struct chunk_app *a)
{
	struct app_out		*x = a->x;
	struct chunk_iter	 it;
	size_t			 i = 0;

	if (a->loaded)
		return;
	if (x->scap < a->n) {
		x->scap = a->n;
		x->st = xreallocarray(x->st, x->scap, sizeof(*x->st));
		x->sv = xreallocarray(x->sv, x->scap, sizeof(*x->sv));
	}
	app_emit(a, CHUNK_ENC_GORILLA, &a->bw);
	if (iter_init(&it, x->out, x->outlen, NULL, 0, NULL, 0) != 0)
		abort();
	while (chunk_iter_next(&it, &x->st[i], &x->sv[i]) == 1)
		i++;
	if (i != a->n)
		abort();
}

/*
 * The planning scratch is an order of magnitude bigger than an open
 * chunk: give it back, so that thousands of open appenders stay small.
 */
static void
app_release(struct chunk_app *a)
{
	struct app_out *x = a->x;

	packed_plan_free(x->plan);
	x->plan = NULL;
	free(x->st);
	free(x->sv);
	x->st = NULL;
	x->sv = NULL;
	x->scap = 0;
	bitw_free(&x->pw);
}

void
chunk_app_trim(struct chunk_app *a)
{
	if (a->x == NULL)
		return;
	app_release(a);
	free(a->x->out);
	free(a->x->tout);
	free(a->x);
	a->x = NULL;
	a->outok = 0;
}

static struct app_out *
app_x(struct chunk_app *a)
{
	if (a->x == NULL) {
		a->x = xcalloc(1, sizeof(*a->x));
		bitw_init(&a->x->pw);
	}
	return a->x;
}

int
chunk_app_bytes_out(struct chunk_app *a, const uint8_t **data, size_t *len)
{
	struct app_out	*x;
	uint64_t	 pbits;

	if (a->n == 0 || a->loaded)
		return -1;
	x = app_x(a);
	if (a->outok != 1) {
		if (a->force == CHUNK_ENC_GORILLA)
			app_emit(a, CHUNK_ENC_GORILLA, &a->bw);
		else {
			app_samples(a);
			if (x->plan == NULL)
				x->plan = packed_plan_new();
			pbits = packed_plan(x->plan, x->st, x->sv, a->n);
			if (a->force == CHUNK_ENC_PACKED ||
			    (pbits + 7) / 8 < bitw_nbytes(&a->bw)) {
				bitw_reset(&x->pw);
				/* At once, not in bitw_grow's small steps. */
				bitw_grow(&x->pw, pbits / 8 + 16);
				packed_write(x->plan, &x->pw, PACKED_FULL);
				app_emit(a, CHUNK_ENC_PACKED, &x->pw);
			}
			app_release(a);
		}
		a->outok = 1;
	}
	*data = x->out;
	*len = x->outlen;
	return 0;
}

int
chunk_app_bytes_out_shared(struct chunk_app *a, const uint8_t **data,
    size_t *len, const uint8_t **times, size_t *tlen)
{
	struct app_out	*x;
	uint64_t	 pbits;
	uint8_t		 ref[4];

	if (a->n == 0)
		return -1;
	x = app_x(a);
	if (a->outok != 2) {
		/* Loaded samples go once: bytes_out_shared frees them. */
		if (a->loaded && x->st == NULL)
			return -1;
		app_samples(a);
		if (x->plan == NULL)
			x->plan = packed_plan_new();
		pbits = packed_plan(x->plan, x->st, x->sv, a->n);
		bitw_reset(&x->pw);
		/* Both sections fit in the whole's size: grown once. */
		bitw_grow(&x->pw, pbits / 8 + 16);
		packed_write(x->plan, &x->pw, PACKED_TIMES);
		emit(&x->tout, &x->toutcap, &x->toutlen, CHUNK_ENC_TIMES, a,
		    NULL, 0, &x->pw);
		/* the reference is the column's own CRC, little-endian */
		memcpy(ref, x->tout + 4, 4);
		bitw_reset(&x->pw);
		packed_write(x->plan, &x->pw, PACKED_VALUES);
		emit(&x->out, &x->outcap, &x->outlen, CHUNK_ENC_SHARED, a,
		    ref, 4, &x->pw);
		app_release(a);
		a->outok = 2;
	}
	*data = x->out;
	*len = x->outlen;
	*times = x->tout;
	*tlen = x->toutlen;
	return 0;
}

int
chunk_app_load(struct chunk_app *a, const int64_t *t, const double *v,
    size_t n)
{
	struct app_out	*x;
	size_t		 i;

	if (a->n != 0 || a->loaded || n == 0 || n > CHUNK_MAX_SAMPLES)
		return -1;
	for (i = 1; i < n; i++)
		if (t[i] <= t[i - 1])
			return -1;
	x = app_x(a);
	if (x->scap < n) {
		x->scap = n;
		x->st = xreallocarray(x->st, x->scap, sizeof(*x->st));
		x->sv = xreallocarray(x->sv, x->scap, sizeof(*x->sv));
	}
	memcpy(x->st, t, n * sizeof(*t));
	memcpy(x->sv, v, n * sizeof(*v));
	a->n = (uint32_t)n;
	a->first = t[0];
	a->last = t[n - 1];
	a->outok = 0;
	a->loaded = 1;
	return 0;
}

int
chunk_iter_fail(struct chunk_iter *it, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(it->errmsg, sizeof(it->errmsg), fmt, ap);
	va_end(ap);
	it->err = 1;
	return -1;
}

static int
iter_init(struct chunk_iter *it, const uint8_t *p, size_t len,
    const uint8_t *times, size_t tlen, const int64_t *tt, int check)
{
	struct chunk_hdr	h, th;
	uint32_t		ref;
	char			terr[96];

	memset(it, 0, sizeof(*it));
	if (hdr_parse(p, len, &h, it->errmsg, sizeof(it->errmsg)) == -1) {
		it->err = 1;
		return -1;
	}
	if (check && chunk_sum(p, len) != h.crc)
		return chunk_iter_fail(it, "chunk checksum mismatch");
	bitr_init(&it->br, p + h.hlen, h.plen);
	it->enc = (int)h.enc;
	it->n = h.count;
	it->t = it->first = h.first;
	it->last = h.last;
	switch (it->enc) {
	case CHUNK_ENC_GORILLA:
		return 0;
	case CHUNK_ENC_PACKED:
		return packed_iter_init(it, NULL, 0);
	case CHUNK_ENC_TIMES:
		return chunk_iter_fail(it, "a timestamp column is not a chunk"
		    " of samples");
	}
	if (times == NULL)
		return chunk_iter_fail(it, "chunk needs its timestamp column");
	if (h.plen < 4)
		return chunk_iter_fail(it, "chunk data truncated");
	if (hdr_parse(times, tlen, &th, terr, sizeof(terr)) == -1)
		return chunk_iter_fail(it, "timestamp column: %s", terr);
	ref = (uint32_t)p[h.hlen] | (uint32_t)p[h.hlen + 1] << 8 |
	    (uint32_t)p[h.hlen + 2] << 16 | (uint32_t)p[h.hlen + 3] << 24;
	if (th.enc != CHUNK_ENC_TIMES || th.crc != ref ||
	    th.count != h.count || th.first != h.first || th.last != h.last)
		return chunk_iter_fail(it, "timestamp column does not match "
		    "the chunk");
	/* A decoded column was checked when it was decoded. */
	if (check && tt == NULL && chunk_sum(times, tlen) != th.crc)
		return chunk_iter_fail(it, "timestamp column checksum "
		    "mismatch");
	it->tt = tt;
	bitr_init(&it->br, p + h.hlen + 4, h.plen - 4);
	return packed_iter_init(it, times + th.hlen, th.plen);
}

int
chunk_iter_init(struct chunk_iter *it, const uint8_t *p, size_t len)
{
	return iter_init(it, p, len, NULL, 0, NULL, 1);
}

int
chunk_iter_init_unchecked(struct chunk_iter *it, const uint8_t *p, size_t len)
{
	return iter_init(it, p, len, NULL, 0, NULL, 0);
}

int
chunk_iter_init_shared(struct chunk_iter *it, const uint8_t *p, size_t len,
    const uint8_t *times, size_t tlen)
{
	return iter_init(it, p, len, times, tlen, NULL, 1);
}

int
chunk_iter_init_shared_unchecked(struct chunk_iter *it, const uint8_t *p,
    size_t len, const uint8_t *times, size_t tlen)
{
	return iter_init(it, p, len, times, tlen, NULL, 0);
}

int
chunk_iter_init_decoded(struct chunk_iter *it, const uint8_t *p, size_t len,
    const uint8_t *times, size_t tlen, const int64_t *tt)
{
	return iter_init(it, p, len, times, tlen, tt, 1);
}

int
chunk_times_decode(const uint8_t *times, size_t tlen, int64_t *t, char *err,
    size_t errlen)
{
	struct chunk_iter	it;
	struct chunk_hdr	h;

	memset(&it, 0, sizeof(it));
	if (hdr_parse(times, tlen, &h, err, errlen) == -1)
		return -1;
	if (h.enc != CHUNK_ENC_TIMES) {
		snprintf(err, errlen, "not a timestamp column");
		return -1;
	}
	if (chunk_sum(times, tlen) != h.crc) {
		snprintf(err, errlen, "timestamp column checksum mismatch");
		return -1;
	}
	it.enc = CHUNK_ENC_TIMES;
	it.n = h.count;
	it.t = it.first = h.first;
	it.last = h.last;
	if (packed_times(&it, times + h.hlen, h.plen, t) == -1) {
		snprintf(err, errlen, "%s", it.errmsg);
		return -1;
	}
	return (int)h.count;
}

int
chunk_times_ref(const uint8_t *p, size_t len, uint32_t *ref)
{
	struct chunk_hdr	h;
	char			err[96];

	if (hdr_parse(p, len, &h, err, sizeof(err)) == -1)
		return -1;
	if (h.enc != CHUNK_ENC_SHARED)
		return 0;
	if (h.plen < 4)
		return -1;
	*ref = (uint32_t)p[h.hlen] | (uint32_t)p[h.hlen + 1] << 8 |
	    (uint32_t)p[h.hlen + 2] << 16 | (uint32_t)p[h.hlen + 3] << 24;
	return 1;
}

/* After the last sample: nothing but zero padding may remain. */
static int
iter_end(struct chunk_iter *it)
{
	size_t	left;

	if (it->t != it->last)
		return chunk_iter_fail(it, "chunk last timestamp mismatch");
	left = bitr_left(&it->br);
	if (left >= 8)
		return chunk_iter_fail(it, "chunk has trailing data");
	if (left > 0 && bitr_read(&it->br, (unsigned)left) != 0)
		return chunk_iter_fail(it, "chunk has nonzero padding");
	if (it->enc != CHUNK_ENC_GORILLA)
		return packed_end(it);
	return 0;
}

static inline int64_t
get_dod(struct bitr *br)
{
	uint64_t	b = bitr_peek(br, 4), x;

	if (b < 8) {
		bitr_skip(br, 1);
		return 0;
	}
	if (b < 12) {
		bitr_skip(br, 2);
		x = bitr_read(br, 14);
		return x > 8192 ? (int64_t)x - 16384 : (int64_t)x;
	}
	if (b < 14) {
		bitr_skip(br, 3);
		x = bitr_read(br, 17);
		return x > 65536 ? (int64_t)x - 131072 : (int64_t)x;
	}
	bitr_skip(br, 4);
	if (b == 14) {
		x = bitr_read(br, 20);
		return x > 524288 ? (int64_t)x - 1048576 : (int64_t)x;
	}
	return (int64_t)bitr_readn(br, 64);
}

static int
gorilla_next(struct chunk_iter *it, int64_t *t, double *v)
{
	struct bitr	*br = &it->br;
	int64_t		 nt;

	if (it->i == 0) {
		xor_init(&it->vx, bitr_readn(br, 64));
	} else {
		it->delta += (uint64_t)get_dod(br);
		nt = (int64_t)((uint64_t)it->t + it->delta);
		if (nt <= it->t && !br->err)
			return chunk_iter_fail(it, "chunk timestamps not "
			    "increasing");
		it->t = nt;
		if (xor_get(br, &it->vx) == -1)
			return chunk_iter_fail(it, "corrupt chunk value window");
	}
	if (br->err)
		return chunk_iter_fail(it, "chunk data truncated");
	*t = it->t;
	*v = bitsd(it->vx.prev);
	return 1;
}

int
chunk_iter_next(struct chunk_iter *it, int64_t *t, double *v)
{
	int	r;

	if (it->err)
		return -1;
	if (it->i >= it->n)
		return 0;
	r = it->enc != CHUNK_ENC_GORILLA ? packed_next(it, t, v) :
	    gorilla_next(it, t, v);
	if (r != 1)
		return r;
	if (++it->i == it->n && iter_end(it) == -1)
		return -1;
	return 1;
}

/*
 * The samples of a run before the chunk's last from T[K] on, as
 * gorilla_next reads them (same checks, same order), but with the
 * reader's and the coders' state in locals, and fields read unchecked: a
 * sample starts here only with 56 bits loaded (a refill loads that many
 * while 8 bytes of input remain), more than a timestamp's code (24 bits
 * but for the 68-bit escape) and a value's control bits (13) take
 * together.  The value's bits, the escape and the last bytes of the chunk
 * are left to the checked reads (bitstream.h).  Returns the new K; on an
 * error IT is failed.
 */
static size_t
gorilla_run(struct chunk_iter *it, int64_t *t, double *v, size_t k,
    size_t max)
{
	struct bitr	 br = it->br;
	struct chunk_xor vx = it->vx;
	uint64_t	 delta = it->delta, b, x;
	int64_t		 pt = it->t, nt, dod;
	size_t		 j, kmax = k + (it->n - 1 - it->i);
	unsigned	 lead, sig, w, c;
	const char	*bad = NULL;

	if (kmax > max)
		kmax = max;
	for (j = k; j < kmax; j++) {
		bitr_refill(&br);
		if (br.n < 56)
			break;
		b = br.acc >> 60;
		if (b < 8) {
			dod = 0;
			c = 1;
		} else if (b <= 14) {
			/* 10: 14 bits, 110: 17, 1110: 20 */
			c = b < 12 ? 2 : b < 14 ? 3 : 4;
			w = b < 12 ? 14 : b < 14 ? 17 : 20;
			x = (br.acc << c) >> (64 - w);
			dod = x > ((uint64_t)1 << (w - 1)) ? (int64_t)x -
			    ((int64_t)1 << w) : (int64_t)x;
			c += w;
		} else
			break;
		br.acc <<= c;
		br.n -= c;
		delta += (uint64_t)dod;
		nt = (int64_t)((uint64_t)pt + delta);
		if (nt <= pt) {
			bad = "chunk timestamps not increasing";
			break;
		}
		pt = nt;
		bitr_refill(&br);
		b = br.acc >> 62;
		if (b < 2) {
			br.acc <<= 1;
			br.n -= 1;
			t[j] = nt;
			v[j] = bitsd(vx.prev);
			continue;
		}
		if (b == 3) {
			x = (br.acc << 2) >> 53;
			br.acc <<= 13;
			br.n -= 13;
			lead = (unsigned)(x >> 6);
			sig = (unsigned)(x & 0x3f);
			if (sig == 0)
				sig = 64;
			if (lead + sig > 64) {
				bad = "corrupt chunk value window";
				break;
			}
			vx.leading = (uint8_t)lead;
			vx.trailing = (uint8_t)(64 - lead - sig);
		} else if (vx.leading == 0xff) {
			bad = "corrupt chunk value window";
			break;
		} else {
			br.acc <<= 2;
			br.n -= 2;
		}
		sig = 64u - vx.leading - vx.trailing;
		x = bitr_readn(&br, sig);
		if (br.err) {
			bad = "chunk data truncated";
			break;
		}
		vx.prev ^= x << vx.trailing;
		t[j] = nt;
		v[j] = bitsd(vx.prev);
	}
	it->br = br;
	it->vx = vx;
	it->delta = delta;
	it->t = pt;
	it->i += (uint32_t)(j - k);
	if (bad != NULL)
		chunk_iter_fail(it, "%s", bad);
	return j;
}

/*
 * gorilla_next for a run of samples, with the same checks: an open chunk
 * (the store's head) is read this way, and a call per sample cost a third
 * of its decoding.
 */
static int
gorilla_batch(struct chunk_iter *it, int64_t *t, double *v, size_t max)
{
	struct bitr	*br = &it->br;
	size_t		 k = 0;
	int64_t		 nt;
	int		 r;

	if (it->i == 0 && max > 0) {
		if ((r = chunk_iter_next(it, t, v)) != 1)
			return r;
		k = 1;
	}
	if (k < max && it->i + 1 < it->n)
		k = gorilla_run(it, t, v, k, max);
	if (it->err)
		return -1;
	/* The last sample, whose reading checks the chunk's end. */
	for (; k < max && it->i < it->n; k++) {
		it->delta += (uint64_t)get_dod(br);
		nt = (int64_t)((uint64_t)it->t + it->delta);
		if (nt <= it->t && !br->err)
			return chunk_iter_fail(it, "chunk timestamps not "
			    "increasing");
		it->t = nt;
		if (xor_get_inline(br, &it->vx) == -1)
			return chunk_iter_fail(it, "corrupt chunk value window");
		if (br->err)
			return chunk_iter_fail(it, "chunk data truncated");
		t[k] = nt;
		v[k] = bitsd(it->vx.prev);
		if (++it->i == it->n && iter_end(it) == -1)
			return -1;
	}
	return (int)k;
}

int
chunk_iter_batch(struct chunk_iter *it, int64_t *t, double *v, size_t max)
{
	if (it->err)
		return -1;
	if (it->i >= it->n)
		return 0;
	if (max > CHUNK_MAX_SAMPLES)
		max = CHUNK_MAX_SAMPLES;
	if (it->enc != CHUNK_ENC_GORILLA)
		return packed_batch(it, t, v, max);
	return gorilla_batch(it, t, v, max);
}

size_t
chunk_strip(const uint8_t *p, size_t len, const uint8_t *col, size_t clen,
    uint8_t *out)
{
	struct chunk_hdr	h, c;
	uint8_t			hdr[CHUNK_MAX_HDR];
	char			err[96];

	if (hdr_parse(p, len, &h, err, sizeof(err)) == -1 ||
	    hdr_parse(col, clen, &c, err, sizeof(err)) == -1 ||
	    h.enc != CHUNK_ENC_SHARED || c.enc != CHUNK_ENC_TIMES ||
	    h.count != c.count || h.first != c.first || h.last != c.last ||
	    h.plen < 4 || memcmp(p + h.hlen, col + 4, 4) != 0)
		return 0;
	/* Only a header as hdr_write makes it comes back byte for byte. */
	if (hdr_write(hdr, h.enc, h.count, h.first, h.last, h.plen) !=
	    h.hlen || memcmp(hdr, p, 4) != 0 || memcmp(hdr + CHUNK_FIXED_HDR,
	    p + CHUNK_FIXED_HDR, h.hlen - CHUNK_FIXED_HDR) != 0)
		return 0;
	memcpy(out, p + 4, 4);
	memcpy(out + 4, p + h.hlen + 4, h.plen - 4);
	return h.plen;
}

size_t
chunk_unstrip(const uint8_t *s, size_t slen, const uint8_t *col,
    size_t clen, uint8_t *out, size_t outlen)
{
	struct chunk_hdr	c;
	char			err[96];
	size_t			off;

	if (slen < 4 || outlen < CHUNK_HDR_MAX + slen ||
	    hdr_parse(col, clen, &c, err, sizeof(err)) == -1 ||
	    c.enc != CHUNK_ENC_TIMES)
		return 0;
	off = hdr_write(out, CHUNK_ENC_SHARED, c.count, c.first, c.last,
	    slen);
	memcpy(out + 4, s, 4);
	memcpy(out + off, col + 4, 4);
	memcpy(out + off + 4, s + 4, slen - 4);
	return off + slen;
}

int
chunk_peek(const uint8_t *p, size_t len, uint32_t *count, int64_t *first,
    int64_t *last)
{
	struct chunk_hdr	h;
	char			err[96];

	if (hdr_parse(p, len, &h, err, sizeof(err)) == -1)
		return -1;
	*count = h.count;
	*first = h.first;
	*last = h.last;
	return 0;
}
