/*
 * store: monitord's time-series database.
 *
 * A series is a metric name plus sorted labels (src/sample.h) and gets a
 * 64-bit id the first time a sample of it arrives.  The label index
 * (postings), sealed chunks, segments of open chunks and rollup tiers
 * live in one LMDB environment in opts.dir (layout: storage/LAYOUT.md);
 * of an open ("head") chunk memory keeps its newest samples.
 *
 * Writing.  store_append_batch() puts samples into head chunks in memory;
 * only the creation of a new series touches the disk (so that readers see
 * it at once).  store_flush() writes the chunks sealed since the last
 * flush and the new samples of every head chunk that changed (its new
 * segments and its tail), all of a series in one transaction, a hundred
 * or so series a transaction: a kill -9 loses at most what was appended
 * since the last completed flush.
 * store_append_batch_sync() appends and flushes before returning: when it
 * returns 0, every sample it accepted is on disk.  With flush_interval_ms
 * > 0 a thread of the store flushes on that period, and with
 * maint_interval_ms > 0 it also runs rollups and retention.  A clean
 * store_close() seals every head chunk, so nothing is left to restore.
 *
 * Samples are accepted in strictly increasing time per series.  An older
 * timestamp is dropped as out_of_order, the same timestamp with another
 * value as duplicate (the same value is silently accepted as already
 * stored), one older than the retention cutoff of the last retention run
 * as too_old, and a new series beyond max_series or max_series_per_job (by
 * its "job" label) as series_limit.  Staleness markers (STALE_NAN_BITS) are
 * stored bit for bit.
 *
 * Reading.  store_select() evaluates matchers against the index and
 * returns the matching series (ids and labels, sorted by labels) that have
 * data in [t0, t1]; store_iter_new() then reads one series' samples in
 * [t0, t1] from sealed chunks and the head.  Regex matchers mean what
 * Prometheus means (RE2 syntax, anchored at both ends), through the same
 * code as the PromQL parser (src/query/regex.h).  Tiers STORE_TIER_5M and
 * STORE_TIER_1H read the rollups (one point per bucket, timestamped at the
 * bucket start, with min, max, sum, count and last of the raw samples in
 * it, staleness markers excluded).
 *
 * Threads.  Writers (append, flush, rollup, retention, close) are
 * serialized by the store: they may be called from any thread but run one
 * at a time.  Readers (select, iterators, label names/values, stats) may
 * run on any number of threads concurrently with the writer; they hold
 * LMDB read transactions and the head locks only briefly and copy what
 * they need, so a reader never holds up the writer for long and an
 * iterator may live as long as its caller likes.  store_close() must not
 * race with any other call.
 *
 * Ownership.  Sets, iterators and string lists belong to the caller and
 * are freed with their _free function (NULL is a no-op); they stay valid
 * after the store changes, but not after store_close().  Labels returned
 * by a set live as long as the set.
 *
 * Errors.  Functions returning int give 0 on success and -1 with a message
 * in err.  A full disk (the map limit map_size_max, or ENOSPC) makes
 * flushes fail with "database full..." or "disk full..."; the data stays in
 * memory and is retried at the next flush, reads keep working, and
 * store_stats() reports it.
 */
#ifndef MONITORD_STORE_H
#define MONITORD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "metric.h"

struct batch;
struct label;

enum store_tier {
	STORE_TIER_RAW = 0,
	STORE_TIER_5M,		/* 5 minute buckets */
	STORE_TIER_1H,		/* 1 hour buckets, built from the 5m tier */
	STORE_TIER_COUNT,
	/* store_select only: raw data, and the tiers where it is gone
	   (store_titer_new) */
	STORE_TIER_ALL = 8
};

struct store_opts {
	const char	*dir;			/* created if missing */
	int64_t		 flush_interval_ms;	/* 0: the caller flushes */
	int64_t		 maint_interval_ms;	/* 0: the caller runs
						   rollups and retention */
	uint64_t	 max_series;		/* 0: no limit */
	uint64_t	 max_series_per_job;	/* 0: no limit */
	int64_t		 retention_ms;		/* raw samples; 0: forever */
	/* Rollup tiers: 0 disables a tier; the 1h tier needs the 5m one. */
	int64_t		 retention_5m_ms;
	int64_t		 retention_1h_ms;
	uint64_t	 map_size_max;		/* bytes the file may reach */
	uint64_t	 map_size_initial;	/* 0: min(64 MB, max) */
	/*
	 * A head chunk is sealed when it crosses a time boundary: multiples
	 * of a span picked per series to hold at least chunk_target_samples
	 * at its rate, at most chunk_max_span_ms (also the quiet time after
	 * which retention seals it); or at chunk_max_samples; or when its
	 * open (Gorilla) encoding nears chunk_max_bytes (0: no limit).
	 */
	unsigned	 chunk_target_samples;
	unsigned	 chunk_max_samples;
	int64_t		 chunk_max_span_ms;
	size_t		 chunk_max_bytes;
	/*
	 * An open chunk keeps at most this many samples in memory: each
	 * full segment of them goes to disk at the next flush, and sealing
	 * merges the segments into the chunk (storage/LAYOUT.md).
	 */
	unsigned	 head_segment_samples;
	/*
	 * Tests only (NULL otherwise): called with ARG at named points,
	 * each right after a transaction committed: "flush.marks" (the
	 * rollup marks of late samples), "flush.sealed" (a sealing
	 * transaction), "flush.head" (a transaction of segments and
	 * tails), "rollup.batch" and "rollup.redo" (a batch of blocks).
	 * Non-zero makes the flush or run fail there with "fault injected
	 * at POINT", as a failed write would; a hook may also kill the
	 * process to test recovery.
	 */
	int		(*fault)(void *arg, const char *point);
	void		*fault_arg;
	/*
	 * Called (from the thread that sealed) after sealing freed large
	 * short-lived buffers.  NULL: the store calls malloc_trim itself at
	 * once; a daemon passes its own to trim once writes are quiet.
	 */
	void		(*trim)(void *arg);
	void		*trim_arg;
};

/* Defaults: flush 10s, maintenance 0, no limits, retention 15d, 5m tier
 * 90d, 1h tier 2y, map up to 64 GB; chunks spanning at least 960 samples,
 * at most 24h, 4096 samples or 16 kB open. */
void		 store_opts_default(struct store_opts *);

struct store	*store_open(const struct store_opts *, char *err,
		    size_t errlen);
/*
 * Seal every open chunk, flush and free; -1 (and the store still freed)
 * when the flush failed, which leaves the disk as the last flush did.
 * When more than half of the file is free space it is rewritten
 * compacted first (a copy and a rename; it takes as long as the copy).
 */
int		 store_close(struct store *, char *err, size_t errlen);

struct store_append_stats {
	uint64_t	appended;
	uint64_t	out_of_order;
	uint64_t	duplicate;
	uint64_t	too_old;
	uint64_t	series_limit;
	uint64_t	invalid;	/* a label name over 128 bytes */
	uint64_t	write_error;	/* new series that could not be
					   written, full pending queue */
	uint64_t	series_created;
};

/*
 * Append every sample of the batch; OUT (may be NULL) receives the counts
 * of this call.  0, or -1 when samples were lost to a store failure (the
 * message is in store_stats().last_error); drops by the rules above are
 * not failures.
 */
int		 store_append_batch(struct store *, const struct batch *,
		    struct store_append_stats *out);
/* Append, then flush: 0 means every accepted sample is on disk. */
int		 store_append_batch_sync(struct store *, const struct batch *,
		    struct store_append_stats *out, char *err, size_t errlen);
int		 store_flush(struct store *, char *err, size_t errlen);

/*
 * Rollups: fill the tiers up to what is complete at NOW (ms), then
 * recompute the buckets that late samples (older than the tier's
 * watermark: a backfill) changed.  Resumable: progress is committed as
 * it goes, so a crash repeats little work.
 */
int		 store_rollup_run(struct store *, int64_t now, char *err,
		    size_t errlen);
/*
 * Retention at NOW: delete raw chunks whose samples are all older than
 * now - retention_ms (and, when the 5m tier is on, already rolled up,
 * late samples' buckets included),
 * rollup blocks older than their tier's retention, head chunks that went
 * quiet, and series left with no data at all.
 */
int		 store_retention_run(struct store *, int64_t now, char *err,
		    size_t errlen);

enum store_match_op {
	STORE_MATCH_EQ,		/* =  */
	STORE_MATCH_NE,		/* != */
	STORE_MATCH_RE,		/* =~ */
	STORE_MATCH_NRE,	/* !~ */
};

struct store_matcher {
	const char	*name;
	const char	*value;
	int		 op;		/* enum store_match_op */
};

struct store_set;

/*
 * Series matching every matcher (an absent label has the value "") with
 * data in [t0, t1] in the given tier (INT64_MIN, INT64_MAX: any time).
 * -1 on a bad regex ("error parsing regexp: missing closing ): ...") or a
 * read failure.  Matcher values are C strings.
 */
int		 store_select(struct store *, const struct store_matcher *,
		    size_t n, int64_t t0, int64_t t1, enum store_tier,
		    struct store_set **out, char *err, size_t errlen);
/* The same, but -2 (nothing in *out, no message) as soon as more than
 * MAX series match, before their labels are read; MAX 0: no limit. */
int		 store_select_max(struct store *, const struct store_matcher *,
		    size_t n, int64_t t0, int64_t t1, enum store_tier,
		    size_t max, struct store_set **out, char *err,
		    size_t errlen);
size_t		 store_set_len(const struct store_set *);
uint64_t	 store_set_id(const struct store_set *, size_t);
const struct label *store_set_labels(const struct store_set *, size_t,
		    size_t *nlabels);
void		 store_set_free(struct store_set *);

struct store_agg {
	double	min, max, sum, count, last;
};

struct store_iter;

/* Never NULL; errors surface from the next call. */
struct store_iter *store_iter_new(struct store *, uint64_t id, int64_t t0,
		    int64_t t1, enum store_tier);
/*
 * 1 with the next point, 0 at the end, -1 on an error (store_iter_error).
 * For a rollup tier, store_iter_next gives the bucket's last value and
 * store_iter_next_agg all of them; on raw data the aggregate of one sample
 * is itself with count 1.
 */
int		 store_iter_next(struct store_iter *, int64_t *t, double *v);
int		 store_iter_next_agg(struct store_iter *, int64_t *t,
		    struct store_agg *);
/*
 * Up to MAX points at once into t[] and v[] (as store_iter_next gives
 * them, the same bits, in the same order), the fast path for scans: raw
 * chunks are decoded a batch at a time, shared timestamp columns
 * included, and clipped to [t0, t1].  The count stored, 0 at the end, -1
 * on an error (store_iter_error): the points of the chunks before a bad
 * one are returned first and the -1 comes with the next call (of a chunk
 * that turns bad midway, store_iter_next may give a few more points).
 * On a rollup tier v is the bucket's last value.  May be mixed with
 * store_iter_next.
 */
int		 store_iter_read(struct store_iter *, int64_t *t, double *v,
		    size_t max);
const char	*store_iter_error(const struct store_iter *);
void		 store_iter_free(struct store_iter *);

/*
 * Reading across tiers (storage/tiers.c), what the query engine reads.
 * Raw samples go back to the series' oldest one; before it, where
 * retention deleted them, the 5m tier stands in, and before the 5m tier's
 * oldest block the 1h tier.  A bucket is used only when it ends at or
 * before the oldest raw sample (a 1h bucket also at or before the oldest
 * 5m block): raw data always wins, and the tiers switch at bucket
 * boundaries.  A bucket is one point, timestamped at its last millisecond
 * (start + width - 1), with its last value and its aggregate: the tiers
 * do not keep the time of a bucket's last sample, and that is the latest
 * it can have been, so the point never comes before the samples it
 * stands for, never at the time of the raw sample after it, and a window
 * aligned to the bucket width holds exactly the buckets inside it.
 *
 * store_select with STORE_TIER_ALL gives the series with raw samples or
 * such buckets in [t0, t1] (possibly a few whose blocks overlap the range
 * but hold no bucket in it).  store_titer_read gives the points of one
 * series in [t0, t1]: first the bucket points, all store_titer_ntier of
 * them, oldest first (with their aggregates in A when it is not NULL),
 * then the raw samples as store_iter_read gives them (A untouched); a
 * call never mixes the two.  Counts and errors as store_iter_read; never
 * NULL.
 */
struct store_titer;

struct store_titer *store_titer_new(struct store *, uint64_t id, int64_t t0,
		    int64_t t1);
size_t		 store_titer_ntier(const struct store_titer *);
/* Of the ntier bucket points, the first this many are 1h buckets, the
   rest 5m buckets. */
size_t		 store_titer_nhour(const struct store_titer *);
/* The latest time a bucket point can have (INT64_MIN: none, before the
   first retention run): after it a series is read from raw data only. */
int64_t		 store_tier_end(struct store *);
/* The width of a bucket of STORE_TIER_5M or STORE_TIER_1H, in ms. */
int64_t		 store_tier_width(enum store_tier);
int		 store_titer_read(struct store_titer *, int64_t *t, double *v,
		    struct store_agg *a, size_t max);
const char	*store_titer_error(const struct store_titer *);
void		 store_titer_free(struct store_titer *);

/*
 * Decoded timestamp columns, for the readers of one thread.  The series
 * of a target share their sealed chunks' timestamp column; readers made
 * with store_iter_new_cols or store_titer_new_cols (whose raw samples
 * use it) decode each column once into the cache and
 * take it from there for every other chunk that uses it.  An entry is
 * found by the column's bytes, compared whole, so it can only ever give
 * what those bytes decode to, whichever transaction they were read in.
 * The cache holds at most MAX_BYTES (0: STORE_COLS_DEFAULT) of columns
 * and their timestamps; when full, a new column replaces one at random
 * (a scan that cycles over more columns than fit still finds some).  A
 * cache belongs to one thread at a time and must outlive the readers
 * made with it; store_cols_free(NULL) is a no-op.  store_cols_stats
 * counts the chunks that found their column and those that decoded it.
 */
#define STORE_COLS_DEFAULT	(2u << 20)
struct store_cols;
struct store_cols *store_cols_new(size_t max_bytes);
void		 store_cols_free(struct store_cols *);
void		 store_cols_stats(const struct store_cols *, uint64_t *hits,
		    uint64_t *misses);
struct store_iter *store_iter_new_cols(struct store *, uint64_t id,
		    int64_t t0, int64_t t1, enum store_tier, struct store_cols *);
struct store_titer *store_titer_new_cols(struct store *, uint64_t id,
		    int64_t t0, int64_t t1, struct store_cols *);

struct store_strings {
	char	**v;		/* sorted, unique */
	size_t	  n;
};

/* The labels of the series store_select(STORE_TIER_ALL) gives: with raw
 * samples or rollup buckets in [t0, t1].  With no matchers and an
 * unbounded range, straight from the index. */
int		 store_label_names(struct store *, const struct store_matcher *,
		    size_t n, int64_t t0, int64_t t1, struct store_strings *,
		    char *err, size_t errlen);
int		 store_label_values(struct store *, const char *name,
		    const struct store_matcher *, size_t n, int64_t t0,
		    int64_t t1, struct store_strings *, char *err,
		    size_t errlen);
void		 store_strings_free(struct store_strings *);

struct store_stats {
	uint64_t	series;
	uint64_t	head_chunks;		/* open chunks */
	uint64_t	head_samples;
	uint64_t	pending_chunks;		/* sealed, not yet flushed */
	uint64_t	samples_appended;
	struct store_append_stats dropped;	/* cumulative; appended and
						   series_created unused */
	uint64_t	series_created;
	uint64_t	series_removed;
	uint64_t	chunks_written;
	uint64_t	chunks_deleted;
	uint64_t	columns_written;	/* timestamp columns */
	uint64_t	columns_deleted;
	uint64_t	rollup_blocks_written;
	uint64_t	rollup_blocks_deleted;
	uint64_t	rollup_buckets_recomputed;	/* late samples' */
	uint64_t	flushes;
	uint64_t	errors;			/* failed writes of any kind */
	int		disk_full;		/* the last write of data hit it;
						   an empty flush does not clear it */
	double		last_flush_seconds;
	int64_t		last_flush_time;	/* ms since the epoch */
	int64_t		rollup_done[STORE_TIER_COUNT];	/* watermarks */
	uint64_t	bytes_on_disk;		/* allocated file blocks */
	uint64_t	bytes_used;		/* pages holding data */
	uint64_t	map_size;		/* current memory map */
	uint64_t	map_size_max;		/* the limit (opts) */
	char		last_error[256];	/* "" when none yet */
	int64_t		last_error_time;	/* ms since the epoch; 0: none */
	int64_t		last_write_time;	/* the last write of data that
						   succeeded (ms); 0: none */
};

void		 store_stats(struct store *, struct store_stats *);

/*
 * The stats as exposition text (monitord_store_*), and their catalogue
 * for monitord-metrics(7).  Any thread.
 */
struct buf;
extern const struct metric_def store_metrics[];
void		 store_metrics_write(struct store *, struct buf *);

#endif
