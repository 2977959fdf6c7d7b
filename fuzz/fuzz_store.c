/*
 * fuzz_store: the store's decoders of untrusted bytes.  The first byte
 * picks one: a rollup block as read from disk, a label matcher (a regex
 * from a query, then a value to match; NUL separates them), or a series
 * record (canonical labels) as read from disk.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		fuzz_rollup(data + 1, size - 1);
		break;
	case 1:
		if (size >= 2)
			fuzz_matcher(data[1] % 4, data + 2, size - 2);
		break;
	default:
		fuzz_series(data + 1, size - 1);
		break;
	}
	return 0;
}
