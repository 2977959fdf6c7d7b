/*
 * metrics: the store's counters as exposition text for /metrics, and their
 * catalogue (names, types, labels and why each exists) for the man page.
 */
#include "config.h"

#include <stdio.h>

#include "buf.h"
#include "expo.h"
#include "metric.h"
#include "sample.h"
#include "store.h"

enum {
	SM_SERIES, SM_HEAD_CHUNKS, SM_HEAD_SAMPLES, SM_PENDING, SM_APPENDED,
	SM_DROPPED, SM_CREATED, SM_REMOVED, SM_CHUNKS_WRITTEN,
	SM_CHUNKS_DELETED, SM_COLUMNS_WRITTEN, SM_COLUMNS_DELETED,
	SM_BLOCKS_WRITTEN, SM_BLOCKS_DELETED, SM_BUCKETS_REDONE, SM_FLUSHES,
	SM_ERRORS, SM_DISK_FULL, SM_FLUSH_SECONDS, SM_FLUSH_TIME,
	SM_ROLLUP_DONE, SM_DISK_BYTES, SM_USED_BYTES, SM_LIMIT_BYTES,
};

const struct metric_def store_metrics[] = {
	[SM_SERIES] = { "monitord_store_series", METRIC_GAUGE, "",
	  "Series in the store's index: what the series limits count and "
	  "what memory grows with." },
	[SM_HEAD_CHUNKS] = { "monitord_store_head_chunks", METRIC_GAUGE, "",
	  "Open chunks, one per series receiving samples." },
	[SM_HEAD_SAMPLES] = { "monitord_store_head_samples", METRIC_GAUGE, "",
	  "Samples in open chunks: the newest of each in memory, the rest "
	  "in head segments on disk." },
	[SM_PENDING] = { "monitord_store_pending_chunks", METRIC_GAUGE, "",
	  "Chunks sealed but not yet merged and written by a flush; grows "
	  "when writes fail." },
	[SM_APPENDED] = { "monitord_store_samples_appended_total",
	  METRIC_COUNTER, "",
	  "Samples stored: the ingest rate of the whole system." },
	[SM_DROPPED] = { "monitord_store_samples_dropped_total",
	  METRIC_COUNTER, "reason",
	  "Samples not stored, by reason (out_of_order, duplicate, too_old, "
	  "series_limit, invalid, write_error): data a dashboard will miss." },
	[SM_CREATED] = { "monitord_store_series_created_total",
	  METRIC_COUNTER, "",
	  "Series created; a fast rise is a label explosion (churn)." },
	[SM_REMOVED] = { "monitord_store_series_removed_total",
	  METRIC_COUNTER, "",
	  "Series removed by retention after all their data aged out." },
	[SM_CHUNKS_WRITTEN] = { "monitord_store_chunks_written_total",
	  METRIC_COUNTER, "", "Sealed chunks written to disk." },
	[SM_CHUNKS_DELETED] = { "monitord_store_chunks_deleted_total",
	  METRIC_COUNTER, "", "Sealed chunks deleted by retention." },
	[SM_COLUMNS_WRITTEN] = { "monitord_store_time_columns_written_total",
	  METRIC_COUNTER, "",
	  "Timestamp columns written; series scraped together share one, so "
	  "this grows with targets, not series (a column is written once in "
	  "each group of chunks that uses it)." },
	[SM_COLUMNS_DELETED] = { "monitord_store_time_columns_deleted_total",
	  METRIC_COUNTER, "", "Timestamp columns deleted by retention, with "
	  "the group of chunks that holds them." },
	[SM_BLOCKS_WRITTEN] = { "monitord_store_rollup_blocks_written_total",
	  METRIC_COUNTER, "", "Rollup blocks (5m and 1h tiers) written." },
	[SM_BLOCKS_DELETED] = { "monitord_store_rollup_blocks_deleted_total",
	  METRIC_COUNTER, "", "Rollup blocks deleted by retention." },
	[SM_BUCKETS_REDONE] = {
	  "monitord_store_rollup_buckets_recomputed_total", METRIC_COUNTER, "",
	  "Rollup buckets (5m and 1h) recomputed because samples came after "
	  "they were rolled up: a backfill, or a new series with old "
	  "samples." },
	[SM_FLUSHES] = { "monitord_store_flushes_total", METRIC_COUNTER, "",
	  "Flushes of the head to disk, each bounding what a crash loses." },
	[SM_ERRORS] = { "monitord_store_write_errors_total", METRIC_COUNTER,
	  "", "Failed writes to the store (disk full, I/O errors)." },
	[SM_DISK_FULL] = { "monitord_store_disk_full", METRIC_GAUGE, "",
	  "1 while the last write found the disk or the size limit full: "
	  "new data stays in memory and is lost on a crash." },
	[SM_FLUSH_SECONDS] = { "monitord_store_last_flush_duration_seconds",
	  METRIC_GAUGE, "", "How long the last flush took, fsync included." },
	[SM_FLUSH_TIME] = { "monitord_store_last_flush_timestamp_seconds",
	  METRIC_GAUGE, "",
	  "When the last successful flush ended, as Unix time; an old value "
	  "means samples are not reaching the disk." },
	[SM_ROLLUP_DONE] = { "monitord_store_rollup_watermark_seconds",
	  METRIC_GAUGE, "tier",
	  "Rollups are complete up to this Unix time, by tier (5m, 1h); "
	  "raw data older than the 5m one is never deleted." },
	[SM_DISK_BYTES] = { "monitord_store_disk_bytes", METRIC_GAUGE, "",
	  "Bytes the store's file takes on disk." },
	[SM_USED_BYTES] = { "monitord_store_used_bytes", METRIC_GAUGE, "",
	  "Bytes of the store's file in use; the rest is reused space." },
	[SM_LIMIT_BYTES] = { "monitord_store_size_limit_bytes", METRIC_GAUGE,
	  "", "The size the store may reach (map_size): used over limit "
	  "warns before the store is full." },
	{ NULL, 0, NULL, NULL },
};

static void
one(struct buf *b, int which, double v)
{
	expo_metric1(b, &store_metrics[which], v);
}

static void
labelled(struct buf *b, int which, const char *label, const char *value,
    double v)
{
	struct label l[2] = {
		{ "__name__", store_metrics[which].name },
		{ label, value },
	};

	expo_sample(b, l, 2, v, 0);
}

void
store_metrics_write(struct store *st, struct buf *b)
{
	static const char *const tiers[STORE_TIER_COUNT] = { "raw", "5m",
	    "1h" };
	struct store_stats		 ss;
	const struct store_append_stats	*d = &ss.dropped;
	const struct metric_def		*m;
	int				 i;

	store_stats(st, &ss);
	one(b, SM_SERIES, (double)ss.series);
	one(b, SM_HEAD_CHUNKS, (double)ss.head_chunks);
	one(b, SM_HEAD_SAMPLES, (double)ss.head_samples);
	one(b, SM_PENDING, (double)ss.pending_chunks);
	one(b, SM_APPENDED, (double)ss.samples_appended);
	m = &store_metrics[SM_DROPPED];
	expo_help_type(b, m->name, m->type, m->help);
	labelled(b, SM_DROPPED, "reason", "out_of_order",
	    (double)d->out_of_order);
	labelled(b, SM_DROPPED, "reason", "duplicate", (double)d->duplicate);
	labelled(b, SM_DROPPED, "reason", "too_old", (double)d->too_old);
	labelled(b, SM_DROPPED, "reason", "series_limit",
	    (double)d->series_limit);
	labelled(b, SM_DROPPED, "reason", "invalid", (double)d->invalid);
	labelled(b, SM_DROPPED, "reason", "write_error",
	    (double)d->write_error);
	one(b, SM_CREATED, (double)ss.series_created);
	one(b, SM_REMOVED, (double)ss.series_removed);
	one(b, SM_CHUNKS_WRITTEN, (double)ss.chunks_written);
	one(b, SM_CHUNKS_DELETED, (double)ss.chunks_deleted);
	one(b, SM_COLUMNS_WRITTEN, (double)ss.columns_written);
	one(b, SM_COLUMNS_DELETED, (double)ss.columns_deleted);
	one(b, SM_BLOCKS_WRITTEN, (double)ss.rollup_blocks_written);
	one(b, SM_BLOCKS_DELETED, (double)ss.rollup_blocks_deleted);
	one(b, SM_BUCKETS_REDONE, (double)ss.rollup_buckets_recomputed);
	one(b, SM_FLUSHES, (double)ss.flushes);
	one(b, SM_ERRORS, (double)ss.errors);
	one(b, SM_DISK_FULL, ss.disk_full ? 1 : 0);
	one(b, SM_FLUSH_SECONDS, ss.last_flush_seconds);
	one(b, SM_FLUSH_TIME, (double)ss.last_flush_time / 1000.0);
	m = &store_metrics[SM_ROLLUP_DONE];
	expo_help_type(b, m->name, m->type, m->help);
	for (i = STORE_TIER_5M; i < STORE_TIER_COUNT; i++)
		if (ss.rollup_done[i] != INT64_MIN)
			labelled(b, SM_ROLLUP_DONE, "tier", tiers[i],
			    (double)ss.rollup_done[i] / 1000.0);
	one(b, SM_DISK_BYTES, (double)ss.bytes_on_disk);
	one(b, SM_USED_BYTES, (double)ss.bytes_used);
	one(b, SM_LIMIT_BYTES, (double)ss.map_size_max);
}
