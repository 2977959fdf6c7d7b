/*
 * codec_bench: measures the chunk codec on a recorded dataset.
 *
 * Reads Prometheus text lines with timestamps (`name{labels} value ts_ms`,
 * one sample a line, plain or gzip), groups them by series, cuts each
 * series into chunks of at most N samples and reports, for every N asked
 * for, the bytes a sample costs on disk (chunk header included: the chunk
 * is what the store writes) and how many samples a second one core
 * encodes and decodes.  Every chunk is decoded and compared bit for bit
 * before anything is timed.
 *
 * With -e shared, chunks keep their timestamps in columns (see
 * chunk_app_bytes_out_shared) and each distinct column counts once, as a
 * store that keeps a target's columns once would.
 *
 * With -z LEVEL it also reports what a zstd pass over every payload
 * (kept where it is smaller) would give; with -k, the bytes a sample of
 * each metric name costs; with -H, what coding histogram buckets against
 * each other would give (ds_histdiff).
 *
 *	codec_bench [-k] [-H chain|inf] [-e auto|gorilla|packed|shared]
 *	    [-n 120,...] [-r reps] [-z level] FILE...
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "xmalloc.h"
#include "storage/chunk.h"

struct bseries {
	char		*key;
	int64_t		*t;
	double		*v;
	size_t		 n, cap;
};

struct dataset {
	struct bseries	*s;
	size_t		 ns, scap;
	size_t		*tab;		/* open addressing: index + 1 */
	size_t		 tabcap;
	size_t		 nsamples;
};

struct chunkref {
	uint8_t		*p;
	size_t		 len;
	uint8_t		*tp;		/* shared: the timestamp column */
	size_t		 tlen;
	int		 tfirst;	/* shared: first chunk to use it */
	size_t		 tfrom;		/* shared: that chunk */
	int64_t		*tt;		/* shared, tfirst: the column decoded */
};

/* "-e shared": values chunks and timestamp columns kept once. */
#define ENC_SHARED	(-1)

struct colkey {
	uint32_t	 crc;
	uint32_t	 count;
	int64_t		 first;
};

/* A set of timestamp columns seen, to count each one once. */
struct colset {
	struct colkey	*k;
	size_t		 n, cap;
};

static uint64_t
colkey_hash(const struct colkey *k)
{
	return ((uint64_t)k->crc * 0x9e3779b97f4a7c15ULL) ^
	    ((uint64_t)k->first * 0xbf58476d1ce4e5b9ULL) ^ k->count;
}

/* 1 when the column is new. */
static int
colset_add(struct colset *s, const uint8_t *col, size_t len)
{
	struct colkey	 k, *old;
	size_t		 i, j, cap;
	int64_t		 last;

	if (chunk_peek(col, len, &k.count, &k.first, &last) != 0)
		abort();
	memcpy(&k.crc, col + 4, 4);
	if (s->n * 2 >= s->cap) {
		old = s->k;
		cap = s->cap == 0 ? 1024 : s->cap * 2;
		s->k = xcalloc(cap, sizeof(*s->k));
		for (i = 0; i < s->cap; i++) {
			if (old[i].count == 0)
				continue;
			j = colkey_hash(&old[i]) & (cap - 1);
			while (s->k[j].count != 0)
				j = (j + 1) & (cap - 1);
			s->k[j] = old[i];
		}
		free(old);
		s->cap = cap;
	}
	j = colkey_hash(&k) & (s->cap - 1);
	while (s->k[j].count != 0) {
		if (memcmp(&s->k[j], &k, sizeof(k)) == 0)
			return 0;
		j = (j + 1) & (s->cap - 1);
	}
	s->k[j] = k;
	s->n++;
	return 1;
}

static uint64_t
hash_str(const char *s, size_t len)
{
	uint64_t	h = 1469598103934665603ULL;

	while (len-- > 0) {
		h ^= (uint8_t)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

static void
ds_rehash(struct dataset *d)
{
	size_t	i, j, cap = d->tabcap == 0 ? 1024 : d->tabcap * 2;

	free(d->tab);
	d->tab = xcalloc(cap, sizeof(*d->tab));
	d->tabcap = cap;
	for (i = 0; i < d->ns; i++) {
		j = hash_str(d->s[i].key, strlen(d->s[i].key)) & (cap - 1);
		while (d->tab[j] != 0)
			j = (j + 1) & (cap - 1);
		d->tab[j] = i + 1;
	}
}

static struct bseries *
ds_series(struct dataset *d, const char *key, size_t klen)
{
	size_t		 j;
	struct bseries	*s;

	if (d->ns * 2 >= d->tabcap)
		ds_rehash(d);
	j = hash_str(key, klen) & (d->tabcap - 1);
	while (d->tab[j] != 0) {
		s = &d->s[d->tab[j] - 1];
		if (strncmp(s->key, key, klen) == 0 && s->key[klen] == '\0')
			return s;
		j = (j + 1) & (d->tabcap - 1);
	}
	if (d->ns == d->scap) {
		d->scap = d->scap == 0 ? 256 : d->scap * 2;
		d->s = xreallocarray(d->s, d->scap, sizeof(*d->s));
	}
	s = &d->s[d->ns];
	memset(s, 0, sizeof(*s));
	s->key = xstrndup(key, klen);
	d->tab[j] = ++d->ns;
	return s;
}

static int
ds_load(struct dataset *d, const char *path)
{
	gzFile		 f;
	char		 line[8192], *sp1, *sp2, *end;
	struct bseries	*s;
	size_t		 lineno = 0;
	double		 v;
	long long	 t;

	if ((f = gzopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	gzbuffer(f, 1 << 20);
	while (gzgets(f, line, sizeof(line)) != NULL) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if ((sp2 = strrchr(line, ' ')) == NULL)
			goto bad;
		*sp2 = '\0';
		if ((sp1 = strrchr(line, ' ')) == NULL)
			goto bad;
		errno = 0;
		t = strtoll(sp2 + 1, &end, 10);
		if (*end != '\0' || errno != 0)
			goto bad;
		v = strtod(sp1 + 1, &end);
		if (*end != '\0')
			goto bad;
		s = ds_series(d, line, (size_t)(sp1 - line));
		if (s->n == s->cap) {
			s->cap = s->cap == 0 ? 64 : s->cap * 2;
			s->t = xreallocarray(s->t, s->cap, sizeof(*s->t));
			s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
		}
		s->t[s->n] = t;
		s->v[s->n] = v;
		s->n++;
		d->nsamples++;
	}
	gzclose(f);
	return 0;
bad:
	fprintf(stderr, "%s:%zu: not `series value timestamp'\n", path, lineno);
	gzclose(f);
	return -1;
}

/* Drop samples that are not after the previous one (the store would). */
static void
ds_clean(struct dataset *d)
{
	size_t	i, j, k, dropped = 0;

	for (i = 0; i < d->ns; i++) {
		struct bseries	*s = &d->s[i];

		for (j = k = 0; j < s->n; j++) {
			if (k > 0 && s->t[j] <= s->t[k - 1]) {
				dropped++;
				continue;
			}
			s->t[k] = s->t[j];
			s->v[k] = s->v[j];
			k++;
		}
		s->n = k;
	}
	d->nsamples -= dropped;
	if (dropped > 0)
		fprintf(stderr, "dropped %zu out-of-order samples\n", dropped);
}

/*
 * Experiment (-H): what coding the series of a histogram against each
 * other would save.  "chain": each bucket series minus the bucket before
 * it in the file (the next smaller le of the same group); "inf": against
 * the group's +Inf bucket only (no chains), and _count against it.
 */
static void
ds_histdiff(struct dataset *d, const char *mode)
{
	size_t	i, j, nd = 0, g;

	if (strcmp(mode, "inf") == 0) {
		/* against the group's +Inf bucket only (no chains): the
		   tail count Inf - v where that grows less than v */
		for (i = 0; i < d->ns; i++) {
			struct bseries *s = &d->s[i], *inf;

			if (strstr(s->key, "_bucket{") == NULL ||
			    strstr(s->key, "le=\"+Inf\"") != NULL)
				continue;
			for (g = i; g < d->ns && strstr(d->s[g].key,
			    "le=\"+Inf\"") == NULL; g++)
				;
			if (g == d->ns || d->s[g].n != s->n)
				continue;
			inf = &d->s[g];
			if (inf->v[s->n - 1] - inf->v[0] - (s->v[s->n - 1] -
			    s->v[0]) >= s->v[s->n - 1] - s->v[0])
				continue;
			for (j = 0; j < s->n; j++)
				s->v[j] = inf->v[j] - s->v[j];
			nd++;
		}
		for (i = 0; i < d->ns; i++) {
			/* _count equals the +Inf bucket: against it */
			if (strstr(d->s[i].key, "_count{") == NULL || i < 2 ||
			    strstr(d->s[i - 2].key, "le=\"+Inf\"") == NULL)
				continue;
			for (j = 0; j < d->s[i].n; j++)
				d->s[i].v[j] -= d->s[i - 2].v[j];
		}
		fprintf(stderr, "histdiff inf: %zu bucket series\n", nd);
		return;
	}

	for (i = d->ns; i-- > 1;) {
		struct bseries *s = &d->s[i], *p = &d->s[i - 1];

		if (strstr(s->key, "_bucket{") == NULL ||
		    strstr(p->key, "_bucket{") == NULL || s->n != p->n ||
		    strstr(s->key, "le=\"0.005\"") != NULL)
			continue;
		for (j = 0; j < s->n; j++) {
			if (s->t[j] != p->t[j])
				break;
			s->v[j] -= p->v[j];
		}
		nd++;
	}
	fprintf(stderr, "histdiff: %zu bucket series\n", nd);
}

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t
encode_all(const struct dataset *d, size_t maxn, int enc,
    struct chunkref *out)
{
	struct chunk_app	*a;
	const uint8_t		*p, *tp;
	size_t			 i, j, nc = 0, len, tlen;
	struct colset		 cols;

	memset(&cols, 0, sizeof(cols));
	a = chunk_app_new();
	for (i = 0; i < d->ns; i++) {
		const struct bseries *s = &d->s[i];

		for (j = 0; j < s->n; j += maxn) {
			size_t k, m = s->n - j < maxn ? s->n - j : maxn;

			chunk_app_reset(a);
			chunk_app_set_encoding(a, enc < 0 ? 0 : enc);
			for (k = 0; k < m; k++) {
				if (chunk_app_add(&a, s->t[j + k],
				    s->v[j + k]) != 0)
					abort();
			}
			if (enc == ENC_SHARED) {
				if (chunk_app_bytes_out_shared(a, &p, &len, &tp,
				    &tlen) != 0)
					abort();
				if (out != NULL) {
					out[nc].tp = xreallocarray(out[nc].tp,
					    tlen, 1);
					memcpy(out[nc].tp, tp, tlen);
					out[nc].tlen = tlen;
					out[nc].tfirst = colset_add(&cols, tp,
					    tlen);
				}
			} else {
				if (chunk_app_bytes_out(a, &p, &len) != 0)
					abort();
				if (out != NULL) {
					free(out[nc].tp);
					out[nc].tp = NULL;
					out[nc].tfirst = 0;
				}
			}
			if (out != NULL) {
				if (out[nc].p == NULL || out[nc].len < len)
					out[nc].p = xreallocarray(out[nc].p,
					    len, 1);
				memcpy(out[nc].p, p, len);
				out[nc].len = len;
			}
			nc++;
		}
	}
	chunk_app_free(a);
	free(cols.k);
	return nc;
}

static int
iter_init(struct chunk_iter *it, const struct chunkref *c)
{
	if (c->tp != NULL)
		return chunk_iter_init_shared(it, c->p, c->len, c->tp, c->tlen);
	return chunk_iter_init(it, c->p, c->len);
}

static int
verify_all(const struct dataset *d, size_t maxn, const struct chunkref *c)
{
	struct chunk_iter	it;
	size_t			i, j, k, nc = 0;
	int64_t			t;
	double			v;

	for (i = 0; i < d->ns; i++) {
		const struct bseries *s = &d->s[i];

		for (j = 0; j < s->n; j += maxn, nc++) {
			size_t m = s->n - j < maxn ? s->n - j : maxn;

			if (iter_init(&it, &c[nc]) != 0) {
				fprintf(stderr, "%s: %s\n", s->key, it.errmsg);
				return -1;
			}
			for (k = 0; k < m; k++) {
				if (chunk_iter_next(&it, &t, &v) != 1 ||
				    t != s->t[j + k] ||
				    memcmp(&v, &s->v[j + k], 8) != 0) {
					fprintf(stderr, "%s: sample %zu differs"
					    " (%s)\n", s->key, j + k, it.errmsg);
					return -1;
				}
			}
			if (chunk_iter_next(&it, &t, &v) != 0) {
				fprintf(stderr, "%s: extra samples\n", s->key);
				return -1;
			}
		}
	}
	return 0;
}

static uint64_t
decode_all(const struct chunkref *c, size_t nc)
{
	struct chunk_iter	it;
	uint64_t		sum = 0, vb;
	int64_t			t;
	double			v;
	size_t			i;

	for (i = 0; i < nc; i++) {
		if (iter_init(&it, &c[i]) != 0)
			abort();
		while (chunk_iter_next(&it, &t, &v) == 1) {
			memcpy(&vb, &v, 8);
			sum += (uint64_t)t ^ vb;
		}
	}
	return sum;
}

/* Header bytes: 8 fixed, then 4 varints (see storage/FORMAT.md). */
static size_t
hdr_len(const uint8_t *p)
{
	size_t	off = 8;
	int	i;

	for (i = 0; i < 4; i++)
		while (p[off++] & 0x80)
			;
	return off;
}

static uint64_t
decode_batch(const struct chunkref *c, size_t nc)
{
	struct chunk_iter	it;
	int64_t			t[CHUNK_MAX_SAMPLES];
	double			v[CHUNK_MAX_SAMPLES];
	uint64_t		sum = 0, vb;
	size_t			i;
	int			k, j;

	for (i = 0; i < nc; i++) {
		if (iter_init(&it, &c[i]) != 0)
			abort();
		while ((k = chunk_iter_batch(&it, t, v, CHUNK_MAX_SAMPLES)) > 0) {
			for (j = 0; j < k; j++) {
				memcpy(&vb, &v[j], 8);
				sum += (uint64_t)t[j] ^ vb;
			}
		}
		if (k < 0)
			abort();
	}
	return sum;
}

/*
 * Shared chunks as a store's reader with a column cache reads them: each
 * column decoded once (by the first chunk that uses it, inside the timed
 * pass), the chunks' values alone.
 */
static uint64_t
decode_cols(const struct chunkref *c, size_t nc)
{
	struct chunk_iter	it;
	int64_t			t[CHUNK_MAX_SAMPLES];
	double			v[CHUNK_MAX_SAMPLES];
	uint64_t		sum = 0, vb;
	size_t			i;
	int			k, j;
	char			err[96];

	for (i = 0; i < nc; i++) {
		if (c[i].tfirst && chunk_times_decode(c[i].tp, c[i].tlen,
		    c[i].tt, err, sizeof(err)) < 0)
			abort();
		if (chunk_iter_init_decoded(&it, c[i].p, c[i].len, c[i].tp,
		    c[i].tlen, c[c[i].tfrom].tt) != 0)
			abort();
		while ((k = chunk_iter_batch(&it, t, v, CHUNK_MAX_SAMPLES)) > 0) {
			for (j = 0; j < k; j++) {
				memcpy(&vb, &v[j], 8);
				sum += (uint64_t)t[j] ^ vb;
			}
		}
		if (k < 0)
			abort();
	}
	return sum;
}

/* For decode_cols: each chunk's first user of its column (untimed). */
static void
cols_link(struct chunkref *c, size_t nc)
{
	size_t	*firsts = xcalloc(nc ? nc : 1, sizeof(*firsts));
	size_t	 i, j, nf = 0;

	for (i = 0; i < nc; i++) {
		if (c[i].tfirst) {
			c[i].tfrom = i;
			c[i].tt = xreallocarray(c[i].tt, CHUNK_MAX_SAMPLES,
			    sizeof(*c[i].tt));
			firsts[nf++] = i;
			continue;
		}
		for (j = nf; j-- > 0;) {
			const struct chunkref *f = &c[firsts[j]];

			if (f->tlen == c[i].tlen && memcmp(f->tp, c[i].tp,
			    f->tlen) == 0)
				break;
		}
		if (j == (size_t)-1)
			abort();
		c[i].tfrom = firsts[j];
	}
	free(firsts);
}

static const char *
enc_name(int enc)
{
	switch (enc) {
	case 0:
		return "auto";
	case ENC_SHARED:
		return "shared";
	case CHUNK_ENC_GORILLA:
		return "gorilla";
	case CHUNK_ENC_PACKED:
		return "packed";
	default:
		return "?";
	}
}

static int
enc_parse(const char *s)
{
	if (strcmp(s, "auto") == 0)
		return 0;
	if (strcmp(s, "gorilla") == 0)
		return CHUNK_ENC_GORILLA;
	if (strcmp(s, "packed") == 0)
		return CHUNK_ENC_PACKED;
	if (strcmp(s, "shared") == 0)
		return ENC_SHARED;
	return -2;
}

static void
ds_free(struct dataset *d)
{
	size_t	i;

	for (i = 0; i < d->ns; i++) {
		free(d->s[i].key);
		free(d->s[i].t);
		free(d->s[i].v);
	}
	free(d->s);
	free(d->tab);
}

/* With -z LEVEL: what a zstd pass over each payload would give. */
static int	zlevel;

static size_t
zstd_bytes(const struct chunkref *c, size_t nc)
{
	size_t	i, h, z, total = 0, cap = 0;
	void	*buf = NULL;

	for (i = 0; i < nc; i++) {
		h = hdr_len(c[i].p);
		if (cap < ZSTD_compressBound(c[i].len)) {
			cap = ZSTD_compressBound(c[i].len);
			buf = xreallocarray(buf, cap, 1);
		}
		z = ZSTD_compress(buf, cap, c[i].p + h, c[i].len - h, zlevel);
		if (ZSTD_isError(z))
			abort();
		/* a flag would say which: count the smaller */
		total += h + (z < c[i].len - h ? z : c[i].len - h);
		if (c[i].tfirst)
			total += c[i].tlen;
	}
	free(buf);
	return total;
}

/* With -k: bytes per sample by metric name (chunks in series order). */
static int	bykind;
static const char *histdiff;

static void
kind_report(const struct dataset *d, size_t maxn, const struct chunkref *c,
    size_t total)
{
	struct kind {
		char	 name[96];
		size_t	 bytes, samples;
	} *k = NULL;
	size_t	nk = 0, i, j, nc = 0, len;

	for (i = 0; i < d->ns; i++) {
		const struct bseries *s = &d->s[i];
		size_t b = 0;

		for (j = 0; j < s->n; j += maxn, nc++) {
			b += c[nc].len;
			if (c[nc].tfirst)
				b += c[nc].tlen;
		}
		len = strcspn(s->key, "{");
		if (len > 95)
			len = 95;
		for (j = 0; j < nk; j++)
			if (strlen(k[j].name) == len &&
			    memcmp(k[j].name, s->key, len) == 0)
				break;
		if (j == nk) {
			k = xreallocarray(k, ++nk, sizeof(*k));
			memset(&k[j], 0, sizeof(*k));
			memcpy(k[j].name, s->key, len);
		}
		k[j].bytes += b;
		k[j].samples += s->n;
	}
	for (j = 0; j < nk; j++)
		printf("  %-44s %9zu samples %7.3f B/sample %5.1f %%\n",
		    k[j].name, k[j].samples, (double)k[j].bytes /
		    (double)k[j].samples, 100.0 * (double)k[j].bytes /
		    (double)total);
	free(k);
}

static void
bench_file(const struct dataset *d, const char *path, const size_t *sizes,
    size_t nsizes, const int *encs, int nenc, int reps)
{
	struct chunkref		*c;
	size_t			 i, k, nc, bytes, hbytes, maxc;
	int			 r, e;
	double			 t0, tenc, tdec, tbat, tcol;
	char			 colbuf[32];
	volatile uint64_t	 sink;

	printf("# %s: %zu series, %zu samples\n", path, d->ns, d->nsamples);
	printf("%-9s %5s %8s %10s %8s %8s %9s %9s %9s %9s\n", "encoding",
	    "N", "chunks", "bytes", "B/sample", "hdr B/s", "enc M/s",
	    "next M/s", "batch M/s", "cols M/s");
	maxc = 0;
	for (i = 0; i < d->ns; i++)
		maxc += d->s[i].n;	/* an upper bound on chunks */
	c = xcalloc(maxc, sizeof(*c));
	for (e = 0; e < nenc; e++) {
		for (k = 0; k < nsizes; k++) {
			nc = encode_all(d, sizes[k], encs[e], c);
			if (verify_all(d, sizes[k], c) != 0)
				exit(1);
			bytes = hbytes = 0;
			for (i = 0; i < nc; i++) {
				bytes += c[i].len;
				hbytes += hdr_len(c[i].p);
				if (encs[e] == ENC_SHARED && c[i].tfirst) {
					bytes += c[i].tlen;
					hbytes += hdr_len(c[i].tp);
				}
			}
			if (bykind)
				kind_report(d, sizes[k], c, bytes);
			if (encs[e] == ENC_SHARED)
				cols_link(c, nc);
			tenc = tdec = tbat = tcol = 1e30;
			for (r = 0; r < reps; r++) {
				t0 = now();
				encode_all(d, sizes[k], encs[e], NULL);
				if (now() - t0 < tenc)
					tenc = now() - t0;
				t0 = now();
				sink = decode_all(c, nc);
				if (now() - t0 < tdec)
					tdec = now() - t0;
				t0 = now();
				if (decode_batch(c, nc) != sink)
					abort();
				if (now() - t0 < tbat)
					tbat = now() - t0;
				if (encs[e] != ENC_SHARED)
					continue;
				t0 = now();
				if (decode_cols(c, nc) != sink)
					abort();
				if (now() - t0 < tcol)
					tcol = now() - t0;
			}
			snprintf(colbuf, sizeof(colbuf), "%9.1f",
			    (double)d->nsamples / tcol / 1e6);
			if (encs[e] != ENC_SHARED)
				snprintf(colbuf, sizeof(colbuf), "%9s", "-");
			(void)sink;
			if (zlevel > 0)
				printf("%-9s %5zu zstd -%d over payloads: %.3f "
				    "B/sample\n", enc_name(encs[e]), sizes[k],
				    zlevel, (double)zstd_bytes(c, nc) /
				    (double)d->nsamples);
			printf("%-9s %5zu %8zu %10zu %8.3f %8.3f %9.1f %9.1f "
			    "%9.1f %s\n",
			    enc_name(encs[e]), sizes[k], nc, bytes,
			    (double)bytes / (double)d->nsamples,
			    (double)hbytes / (double)d->nsamples,
			    (double)d->nsamples / tenc / 1e6,
			    (double)d->nsamples / tdec / 1e6,
			    (double)d->nsamples / tbat / 1e6, colbuf);
			fflush(stdout);
		}
	}
	for (i = 0; i < maxc; i++) {
		free(c[i].p);
		free(c[i].tp);
		free(c[i].tt);
	}
	free(c);
}

static void
usage(void)
{
	fprintf(stderr, "usage: codec_bench [-k] [-H chain|inf] "
	    "[-e auto|gorilla|packed|shared] "
	    "[-n 120,240,...] [-r reps] [-z level] FILE...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct dataset		 d;
	size_t			 sizes[16], nsizes = 0;
	int			 ch, reps = 3, encs[8], nenc = 0, f;
	char			*list = NULL, *tok, *save;

	while ((ch = getopt(argc, argv, "H:ke:n:r:z:")) != -1) {
		switch (ch) {
		case 'H':
			if (strcmp(optarg, "chain") != 0 &&
			    strcmp(optarg, "inf") != 0)
				usage();
			histdiff = optarg;
			break;
		case 'k':
			bykind = 1;
			break;
		case 'z':
			zlevel = atoi(optarg);
			break;
		case 'e':
			if (nenc == 8 || (encs[nenc++] = enc_parse(optarg)) ==
			    -2)
				usage();
			break;
		case 'n':
			list = optarg;
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0 || reps < 1)
		usage();
	if (nenc == 0)
		encs[nenc++] = 0;
	if (list == NULL)
		list = xstrdup("120,240,480,1024,4096");
	for (tok = strtok_r(list, ",", &save); tok != NULL && nsizes < 16;
	    tok = strtok_r(NULL, ",", &save)) {
		long n = atol(tok);

		if (n < 1 || n > CHUNK_MAX_SAMPLES)
			usage();
		sizes[nsizes++] = (size_t)n;
	}

	for (f = 0; f < argc; f++) {
		memset(&d, 0, sizeof(d));
		if (ds_load(&d, argv[f]) == -1)
			return 1;
		ds_clean(&d);
		if (histdiff != NULL)
			ds_histdiff(&d, histdiff);
		bench_file(&d, argv[f], sizes, nsizes, encs, nenc, reps);
		ds_free(&d);
	}
	return 0;
}
