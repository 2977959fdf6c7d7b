/*
 * fuzz_store: the store's decoders of untrusted bytes.  The first byte
 * picks one: a rollup block as read from disk, a label matcher (a regex
 * from a query, then a value to match; NUL separates them), a canonical
 * label key, a postings segment, a chunk index segment, or a group of
 * chunks (every chunk of it read and decoded) as read from disk.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"
#include "storage/chunk.h"
#include "storage/matcher.h"
#include "storage/store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_rollup(const uint8_t *p, size_t n)
{
	struct rollup_point	*pts;
	size_t			 np;
	char			 err[128];

	if (rollup_decode(p, n, &pts, &np, err, sizeof(err)) == 0)
		free(pts);
}

static void
fuzz_matcher(int op, const uint8_t *p, size_t n)
{
	struct store_matcher	 sm;
	struct matcher		*m;
	char			*pat, *val, err[256];
	const uint8_t		*sep = memchr(p, '\0', n);
	size_t			 plen = sep != NULL ? (size_t)(sep - p) : n;

	pat = strndup((const char *)p, plen);
	val = sep != NULL ? strndup((const char *)sep + 1, n - plen - 1) :
	    strdup("");
	sm.name = "l";
	sm.value = pat;
	sm.op = op;
	if ((m = matcher_new(&sm, err, sizeof(err))) != NULL) {
		(void)matcher_matches(m, val, strlen(val));
		(void)matcher_matches(m, "", 0);
		matcher_free(m);
	}
	free(pat);
	free(val);
}

static void
fuzz_series(const uint8_t *p, size_t n)
{
	struct label	*l;
	size_t		 nl, i, sum = 0;

	if (!series_key_valid(p, n))
		return;
	nl = series_nlabels((const char *)p, n);
	l = calloc(nl + 1, sizeof(*l));
	nl = series_labels((const char *)p, n, l, nl);
	for (i = 0; i < nl; i++)
		sum += strlen(l[i].name) + strlen(l[i].value);
	if (sum > n)
		abort();
	free(l);
}

static void
fuzz_segments(int which, const uint8_t *p, size_t n)
{
	struct store_ids	ids = { NULL, 0, 0 };
	struct crefs		r = { NULL, 0, 0 };
	size_t			i;

	if (which == 0) {
		if (postings_seg_decode(p, n, &ids) == 0)
			for (i = 1; i < ids.n; i++)
				if (ids.v[i] <= ids.v[i - 1])
					abort();
		ids_free(&ids);
		return;
	}
	if (chunkdb_seg_decode(p, n, &r) == 0)
		for (i = 1; i < r.n; i++)
			if (r.v[i].first <= r.v[i - 1].first)
				abort();
	free(r.v);
}

static void
fuzz_group(const uint8_t *p, size_t n)
{
	struct chunkdb_group	 g;
	struct chunkdb_chunk	 c = { 0 };
	struct chunk_iter	 it;
	int64_t			 t;
	double			 v;
	uint32_t		 i;

	if (chunkdb_group_parse(p, n, &g) != 0)
		return;
	for (i = 0; i < g.n; i++) {
		(void)chunkdb_group_id(&g, i);
		if (chunkdb_group_chunk(&g, i, &c) != 0)
			continue;
		if ((c.times != NULL ? chunk_iter_init_shared(&it, c.data,
		    c.len, c.times, c.tlen) : chunk_iter_init(&it, c.data,
		    c.len)) == 0)
			while (chunk_iter_next(&it, &t, &v) == 1)
				;
	}
	chunkdb_chunk_free(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 6) {
	case 0:
		fuzz_rollup(data + 1, size - 1);
		break;
	case 1:
		if (size >= 2)
			fuzz_matcher(data[1] % 4, data + 2, size - 2);
		break;
	case 2:
		fuzz_series(data + 1, size - 1);
		break;
	case 3:
	case 4:
		fuzz_segments(data[0] % 6 - 3, data + 1, size - 1);
		break;
	default:
		fuzz_group(data + 1, size - 1);
		break;
	}
	return 0;
}
