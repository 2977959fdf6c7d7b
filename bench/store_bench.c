/*
 * store_bench: load samples into a store in a temp dir and measure it.
 *
 *   store_bench [-t SAMPLES] [-c SAMPLES] [-B BYTES] [-S SECONDS]
 *       [-b BATCH] [-f N] [-r N] [-k] FILE.prom[.gz] ...
 *
 * FILE has one sample a line, `name{labels} value timestamp_ms` (plain or
 * gzip).  The lines are parsed first (not timed) into batches of BATCH
 * samples (10000) in file order, appended with a flush every N batches
 * (1), as a flush interval would; then the bench prints, per file:
 *   - append samples/s: store_append_batch alone, and with the flushes;
 *   - bytes on disk per sample: data.mdb as du counts it after close, and
 *     a compacted copy (mdb_env_copy2 with MDB_CP_COMPACT) of it, and the
 *     parts: groups of chunks with their index, the postings;
 *   - decode samples/s: a reopen, one select of every series and an
 *     iterator over each, every sample checked against the input count;
 *   - memory per active series: heap bytes in use (mallinfo2) and
 *     anonymous resident memory (RssAnon, so not the file mapping) grown
 *     by the appends and flushes, over the series count.
 * -t, -c, -B and -S set the chunk sizes (target and most samples, bytes,
 * span); -r N loads the file N times, each copy after the previous one in
 * time, for a steady state from a short recording; -k keeps the store
 * directory.
 */
#include "config.h"

#include <sys/stat.h>

#include <ftw.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "sample.h"
#include "xmalloc.h"
#include "storage/kv.h"
#include "storage/store.h"

#define MAX_LABELS	64

struct cfg {
	unsigned	 target;
	unsigned	 chunk;
	size_t		 max_bytes;
	int64_t		 span_ms;
	size_t		 per_batch;
	size_t		 flush_every;	/* batches */
	int		 repeat;
	int		 keep;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Anonymous resident memory: the heap, not the store's file mapping. */
static long
rss_anon_kb(void)
{
	FILE	*f = fopen("/proc/self/status", "r");
	char	 line[256];
	long	 kb = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "RssAnon: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* A label value in quotes with \\, \" and \n escapes; P after it. */
static char *
parse_quoted(char **pp)
{
	char	*p = *pp, *out;

	if (*p != '"')
		return NULL;
	out = ++p;
	for (char *w = p;; p++) {
		if (*p == '\0')
			return NULL;
		if (*p == '"') {
			*w = '\0';
			*pp = p + 1;
			return out;
		}
		if (*p == '\\' && p[1] != '\0') {
			p++;
			*w++ = *p == 'n' ? '\n' : *p;
		} else
			*w++ = *p;
	}
}

/* One line into B, its time moved by SHIFT; -1 when it does not parse
 * (counted, skipped).  *T gets the line's own time. */
static int
parse_line(char *line, struct batch *b, int64_t shift, int64_t *tp)
{
	struct label	 l[MAX_LABELS];
	char		*p = line, *name, *end;
	size_t		 n = 0;
	double		 v;
	long long	 t;

	while (*p == ' ')
		p++;
	if (*p == '#' || *p == '\0' || *p == '\n')
		return 0;
	name = p;
	p += strcspn(p, "{ ");
	if (*p == '{') {
		*p++ = '\0';
		while (*p != '}') {
			if (n == MAX_LABELS)
				return -1;
			l[n].name = p;
			p += strcspn(p, "=");
			if (*p != '=')
				return -1;
			*p++ = '\0';
			if ((l[n].value = parse_quoted(&p)) == NULL)
				return -1;
			n++;
			if (*p == ',')
				p++;
		}
		p++;
	} else if (*p == ' ')
		*p++ = '\0';
	else
		return -1;
	v = strtod(p, &end);
	if (end == p)
		return -1;
	t = strtoll(end, &p, 10);
	if (p == end)
		return -1;
	*tp = t;
	return batch_add(b, name, l, n, t + shift, v) == 0 ? 1 : -1;
}

struct input {
	struct batch	**b;
	size_t		  nb;
	size_t		  samples, bad;
};

/*
 * The file, REPEAT times, each copy moved past the previous one (so that
 * a short recording gives a store in its steady state).
 */
static int
load(const char *path, size_t per_batch, int repeat, struct input *in)
{
	gzFile	 f = gzopen(path, "rb");
	char	 line[65536];
	int64_t	 t, tmin = INT64_MAX, tmax = INT64_MIN, shift = 0;
	int	 rc, r;

	memset(in, 0, sizeof(*in));
	if (f == NULL) {
		fprintf(stderr, "%s: cannot open\n", path);
		return -1;
	}
	gzbuffer(f, 1 << 20);
	for (r = 0; r < repeat; r++) {
		if (r > 0) {
			gzrewind(f);
			shift += tmax - tmin + 1000;
		}
		while (gzgets(f, line, sizeof(line)) != NULL) {
			if (in->nb == 0 ||
			    batch_len(in->b[in->nb - 1]) >= per_batch) {
				in->b = xreallocarray(in->b, in->nb + 1,
				    sizeof(*in->b));
				in->b[in->nb++] = batch_new();
			}
			rc = parse_line(line, in->b[in->nb - 1], shift, &t);
			if (rc == 1) {
				in->samples++;
				if (t < tmin)
					tmin = t;
				if (t > tmax)
					tmax = t;
			} else if (rc < 0)
				in->bad++;
		}
	}
	gzclose(f);
	return 0;
}

static uint64_t du_total;

static int
du_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)p;
	(void)f;
	if (flag == FTW_F)
		du_total += (uint64_t)sb->st_blocks * 512;
	return 0;
}

static uint64_t
du(const char *dir)
{
	du_total = 0;
	nftw(dir, du_entry, 16, FTW_PHYS);
	return du_total;
}

static int
rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

/* Sizes of the parts of the store, in bytes of LMDB pages. */
struct parts {
	uint64_t	compact;	/* whole file, compacted */
	uint64_t	samples;	/* groups of chunks, their index */
	uint64_t	head;		/* checkpoints of open chunks */
	uint64_t	index;		/* postings */
	uint64_t	groups;		/* records */
};

static void
measure_parts(const char *dir, struct parts *pt)
{
	struct kv_opts	 ko;
	struct kv	*kv;
	char		 copy[] = "/tmp/store_bench_copy.XXXXXX", path[512];
	char		 err[256];
	struct stat	 sb;

	memset(pt, 0, sizeof(*pt));
	memset(&ko, 0, sizeof(ko));
	ko.dir = dir;
	ko.map_max = 64ULL << 30;
	if (mkdtemp(copy) == NULL || (kv = kv_open(&ko, err,
	    sizeof(err))) == NULL)
		return;
	if (kv_copy_compact(kv, copy, err, sizeof(err)) == 0) {
		snprintf(path, sizeof(path), "%s/data.mdb", copy);
		if (stat(path, &sb) == 0)
			pt->compact = (uint64_t)sb.st_blocks * 512;
	} else
		fprintf(stderr, "compact copy: %s\n", err);
	pt->samples = kv_db_bytes(kv, KV_DB_CHUNKS, &pt->groups) +
	    kv_db_bytes(kv, KV_DB_CINDEX, NULL);
	pt->head = kv_db_bytes(kv, KV_DB_HEAD, NULL);
	pt->index = kv_db_bytes(kv, KV_DB_POSTINGS, NULL) +
	    kv_db_bytes(kv, KV_DB_LONG, NULL);
	kv_close(kv);
	nftw(copy, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static size_t
read_all(struct store *st, size_t *nseries, double *checksum)
{
	struct store_matcher	 m = { "__name__", ".+", STORE_MATCH_RE };
	struct store_set	*set;
	struct store_iter	*it;
	char			 err[256];
	int64_t			 t;
	double			 v;
	size_t			 i, n = 0;

	*checksum = 0;
	if (store_select(st, &m, 1, INT64_MIN, INT64_MAX, STORE_TIER_RAW,
	    &set, err, sizeof(err)) != 0) {
		fprintf(stderr, "select: %s\n", err);
		exit(1);
	}
	*nseries = store_set_len(set);
	for (i = 0; i < store_set_len(set); i++) {
		it = store_iter_new(st, store_set_id(set, i), INT64_MIN,
		    INT64_MAX, STORE_TIER_RAW);
		while (store_iter_next(it, &t, &v) == 1) {
			if (!isnan(v))
				*checksum += v;
			n++;
		}
		if (store_iter_error(it)[0] != '\0') {
			fprintf(stderr, "read: %s\n", store_iter_error(it));
			exit(1);
		}
		store_iter_free(it);
	}
	store_set_free(set);
	return n;
}

static void
usage(void)
{
	fprintf(stderr, "usage: store_bench [-t samples] [-c samples] "
	    "[-B bytes] [-S seconds] [-b batch] [-f flush_every] [-r repeat] "
	    "[-k] file ...\n");
	exit(2);
}

static void
bench_file(const char *path, const struct cfg *cfg)
{
	struct store_opts		 o;
	struct store			*st;
	struct store_stats		 ss;
	struct store_append_stats	 a, sum;
	struct input			 in;
	char				 dir[] = "/tmp/store_bench.XXXXXX";
	char				 err[256];
	double				 t0, t_append, t_flush, t_read, cks;
	long				 rss0, rss1;
	size_t				 heap0, heap1;
	uint64_t			 disk;
	struct parts			 pt;
	size_t				 i, nread, nseries, nflush = 0;

	if (load(path, cfg->per_batch, cfg->repeat, &in) == -1)
		exit(1);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	store_opts_default(&o);
	o.dir = dir;
	o.flush_interval_ms = 0;
	o.retention_ms = o.retention_5m_ms = o.retention_1h_ms = 0;
	if (cfg->target != 0)
		o.chunk_target_samples = cfg->target;
	if (cfg->chunk != 0)
		o.chunk_max_samples = cfg->chunk;
	if (cfg->max_bytes != 0)
		o.chunk_max_bytes = cfg->max_bytes;
	if (cfg->span_ms != 0)
		o.chunk_max_span_ms = cfg->span_ms;
	if ((st = store_open(&o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "open: %s\n", err);
		exit(1);
	}
	memset(&sum, 0, sizeof(sum));
	/* Hand back the pages parsing freed, or the store would reuse them
	 * and its memory would not show in RSS. */
	malloc_trim(0);
	rss0 = rss_anon_kb();
	heap0 = mallinfo2().uordblks;
	t_append = t_flush = 0;
	for (i = 0; i < in.nb; i++) {
		t0 = now();
		if (store_append_batch(st, in.b[i], &a) != 0)
			fprintf(stderr, "append: errors\n");
		t_append += now() - t0;
		sum.appended += a.appended;
		sum.out_of_order += a.out_of_order;
		sum.duplicate += a.duplicate;
		if ((i + 1) % cfg->flush_every != 0 && i + 1 != in.nb)
			continue;
		t0 = now();
		if (store_flush(st, err, sizeof(err)) != 0) {
			fprintf(stderr, "flush: %s\n", err);
			exit(1);
		}
		t_flush += now() - t0;
		nflush++;
	}
	rss1 = rss_anon_kb();
	heap1 = mallinfo2().uordblks;
	store_stats(st, &ss);
	if (store_close(st, err, sizeof(err)) != 0) {
		fprintf(stderr, "close: %s\n", err);
		exit(1);
	}
	disk = du(dir);
	measure_parts(dir, &pt);

	if ((st = store_open(&o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "reopen: %s\n", err);
		exit(1);
	}
	t0 = now();
	nread = read_all(st, &nseries, &cks);
	t_read = now() - t0;
	store_close(st, NULL, 0);

	printf("%s%s: %zu samples (%zu lines skipped), %zu series; chunks "
	    "of %u samples or more, at most %u samples, %zu bytes, %llds\n",
	    path, cfg->repeat > 1 ? " (repeated)" : "", in.samples, in.bad,
	    nseries, o.chunk_target_samples, o.chunk_max_samples,
	    o.chunk_max_bytes, (long long)(o.chunk_max_span_ms / 1000));
	printf("  append      %10.0f samples/s in memory (%.3f s); with "
	    "%zu flushes %.0f samples/s (flushes %.3f s)\n",
	    (double)sum.appended / t_append, t_append, nflush,
	    (double)sum.appended / (t_append + t_flush), t_flush);
	printf("  dropped     out_of_order %llu, duplicate %llu\n",
	    (unsigned long long)sum.out_of_order,
	    (unsigned long long)sum.duplicate);
	printf("  disk        %.3f B/sample after close (%llu bytes); "
	    "%.3f B/sample compacted (%llu bytes)\n",
	    (double)disk / (double)sum.appended, (unsigned long long)disk,
	    (double)pt.compact / (double)sum.appended,
	    (unsigned long long)pt.compact);
	printf("  parts       chunks and their index %.3f B/sample (%llu "
	    "bytes, %llu groups); label index %llu bytes; head checkpoints "
	    "%llu bytes\n", (double)pt.samples / (double)sum.appended,
	    (unsigned long long)pt.samples, (unsigned long long)pt.groups,
	    (unsigned long long)pt.index, (unsigned long long)pt.head);
	printf("  decode      %10.0f samples/s (%zu read back in %.3f s)%s\n",
	    (double)nread / t_read, nread, t_read, nread == sum.appended ?
	    "" : "  MISMATCH");
	printf("  memory      %.0f heap bytes, %.0f bytes anonymous RSS per "
	    "active series (%llu series, %llu head samples)\n",
	    (double)(heap1 - heap0) / (double)ss.series,
	    (double)(rss1 - rss0) * 1024 / (double)ss.series,
	    (unsigned long long)ss.series,
	    (unsigned long long)ss.head_samples);
	if (cfg->keep)
		printf("  kept        %s\n", dir);
	else
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	for (i = 0; i < in.nb; i++)
		batch_free(in.b[i]);
	free(in.b);
	if (nread != sum.appended)
		exit(1);
}

int
main(int argc, char **argv)
{
	struct cfg	cfg = { 0, 0, 0, 0, 10000, 1, 1, 0 };
	int		c;

	while ((c = getopt(argc, argv, "B:b:c:f:kr:S:t:")) != -1) {
		switch (c) {
		case 'B':
			cfg.max_bytes = (size_t)strtoul(optarg, NULL, 10);
			break;
		case 'b':
			cfg.per_batch = (size_t)strtoul(optarg, NULL, 10);
			break;
		case 'c':
			cfg.chunk = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'f':
			cfg.flush_every = (size_t)strtoul(optarg, NULL, 10);
			break;
		case 'k':
			cfg.keep = 1;
			break;
		case 'r':
			cfg.repeat = atoi(optarg);
			break;
		case 'S':
			cfg.span_ms = strtoll(optarg, NULL, 10) * 1000;
			break;
		case 't':
			cfg.target = (unsigned)strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (optind == argc || cfg.per_batch == 0 || cfg.flush_every == 0 ||
	    cfg.repeat < 1)
		usage();
	for (; optind < argc; optind++)
		bench_file(argv[optind], &cfg);
	return 0;
}
