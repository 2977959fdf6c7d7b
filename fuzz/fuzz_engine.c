/*
 * fuzz_engine: the PromQL evaluator on arbitrary queries.  Whatever parses
 * is evaluated, as an instant query and as a short range query, against a
 * small store (counters with a reset, gauges with NaN, a histogram, a
 * staleness marker, colliding label sets) built once in a temporary
 * directory.  An answer or an error is fine; a crash, a leak, unbounded
 * memory or a hang is not (the sample limit and the timeout are small).
 *
 *	fuzz/run.sh builds it with the other targets; by hand:
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *	    -I src -I . -I build fuzz/fuzz_engine.c build/libmonitord.a \
 *	    $(make -s -C build print-libs)
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_query.h"
#include "buf.h"
#include "query/engine.h"
#include "sample.h"
#include "storage/store.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define T0	1700000000000LL

static struct store	*st;
static struct engine	*eng;
static char		 dir[64];

static void
cleanup(void)
{
	char	err[128], cmd[128];

	engine_free(eng);
	store_close(st, err, sizeof(err));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_engine: cannot remove %s\n", dir);
}

static void
init(void)
{
	struct store_opts	 o;
	struct engine_opts	 eo;
	struct batch		*b = batch_new();
	uint64_t		 u = STALE_NAN_BITS;
	double			 stale;
	char			 err[256];
	int			 i;

	memcpy(&stale, &u, sizeof(stale));
	snprintf(dir, sizeof(dir), "/tmp/fuzz_engine.XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	store_opts_default(&o);
	o.dir = dir;
	o.flush_interval_ms = 0;
	o.retention_ms = 0;
	if ((st = store_open(&o, err, sizeof(err))) == NULL)
		abort();
	for (i = 0; i < 60; i++) {
		int64_t t = T0 + i * 15000LL + (i % 3);

		batch_addl(b, "c", t, (double)(i < 30 ? i * 3 : i - 30),
		    "job", "a", "instance", "x", NULL);
		batch_addl(b, "c", t, (double)(i * 2), "job", "b", "instance",
		    "y", NULL);
		batch_addl(b, "g", t, i % 7 == 0 ? NAN : sin(i) * 10, "job",
		    "a", NULL);
		batch_addl(b, "h_bucket", t, i, "le", "0.5", NULL);
		batch_addl(b, "h_bucket", t, 2 * i, "le", "1", NULL);
		batch_addl(b, "h_bucket", t, 2 * i, "le", "+Inf", NULL);
		batch_addl(b, "o", t, i == 40 ? stale : 1, "job", "a", NULL);
		batch_addl(b, "p", t, 1, "job", "a", NULL);
	}
	if (store_append_batch_sync(st, b, NULL, err, sizeof(err)) != 0)
		abort();
	batch_free(b);
	engine_opts_default(&eo);
	eo.max_samples = 200000;
	eo.timeout_ms = 2000;
	eo.threads = 1;
	eng = engine_new(st, &eo);
	atexit(cleanup);
}

static void
eval(const char *q, size_t len, int64_t start, int64_t end, int64_t step)
{
	struct engine_result	*res;
	struct engine_error	 err;
	struct buf		 out = BUF_INIT;

	if (engine_query(eng, q, len, start, end, step, 0, &res, &err) == 0) {
		api_query_write_result(res, &out);
		engine_result_free(res);
		buf_free(&out);
	} else if (err.msg[0] == '\0')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (st == NULL)
		init();
	if (size > 4096)
		return 0;
	eval((const char *)data, size, T0 + 600000, T0 + 600000, 0);
	eval((const char *)data, size, T0, T0 + 900000, 60000);
	return 0;
}
