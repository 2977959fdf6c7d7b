/*
 * textparse_bench: parse a text exposition file (plain or gzip) a number
 * of times and print lines/s, samples/s and MB/s of the best run.
 *
 *   textparse_bench [-o] [-r RUNS] [-c CHUNK] FILE
 *
 * -o parses as OpenMetrics, -c feeds CHUNK bytes at a time (as a scrape
 * reading the socket would) instead of the whole body at once.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "buf.h"
#include "textparse.h"

struct tally {
	double	sum;
	size_t	labels;
};

static int
on_sample(void *arg, const char *name, const struct label *l, size_t n,
    double v, int has_ts, int64_t ts)
{
	struct tally *t = arg;

	t->sum += v;
	t->labels += n;
	return 0;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
usage(void)
{
	fprintf(stderr, "usage: textparse_bench [-o] [-r runs] [-c chunk] "
	    "file\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct textparse_cb cb = { .sample = on_sample };
	enum textparse_format	 fmt = TEXTPARSE_PROM;
	struct textparse	*tp;
	struct tally		 t;
	struct buf		 body = BUF_INIT;
	char			 chunk[65536], err[512];
	double			 best = 0, t0, dt;
	size_t			 step = 0, off;
	long			 runs = 10, i;
	gzFile			 gz;
	int			 ch, n, rc;

	while ((ch = getopt(argc, argv, "oc:r:")) != -1) {
		switch (ch) {
		case 'o':
			fmt = TEXTPARSE_OPENMETRICS;
			break;
		case 'c':
			step = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			runs = strtol(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (optind + 1 != argc || runs < 1)
		usage();
	/* gzread reads plain files too. */
	if ((gz = gzopen(argv[optind], "rb")) == NULL) {
		perror(argv[optind]);
		return 1;
	}
	while ((n = gzread(gz, chunk, sizeof(chunk))) > 0)
		buf_add(&body, chunk, (size_t)n);
	gzclose(gz);

	tp = textparse_new(NULL, &cb, &t);
	for (i = 0; i < runs; i++) {
		memset(&t, 0, sizeof(t));
		t0 = now();
		if (step == 0)
			rc = textparse_parse(tp, fmt, body.data, body.len, err,
			    sizeof(err));
		else {
			textparse_begin(tp, fmt);
			rc = 0;
			for (off = 0; off < body.len && rc == 0; off += step)
				rc = textparse_feed(tp, body.data + off,
				    body.len - off < step ? body.len - off :
				    step, err, sizeof(err));
			if (rc == 0)
				rc = textparse_finish(tp, err, sizeof(err));
		}
		dt = now() - t0;
		if (rc != 0) {
			fprintf(stderr, "textparse_bench: %s\n", err);
			return 1;
		}
		if (i == 0 || dt < best)
			best = dt;
	}
	printf("%zu bytes, %llu lines, %llu samples, %zu labels; best of %ld: "
	    "%.1f ms, %.2f M lines/s, %.2f M samples/s, %.0f MB/s\n",
	    body.len, (unsigned long long)textparse_stats(tp)->lines,
	    (unsigned long long)textparse_stats(tp)->samples, t.labels, runs,
	    best * 1e3, textparse_stats(tp)->lines / best / 1e6,
	    textparse_stats(tp)->samples / best / 1e6,
	    body.len / best / 1e6);
	textparse_free(tp);
	buf_free(&body);
	return 0;
}
