/*
 * disk: /proc/diskstats as node_exporter's diskstats collector reports it,
 * the utilisation (io_time) and saturation (io_time_weighted, io_now) of
 * each block device.
 *
 *	major minor name  reads merged sectors ms  writes merged sectors ms
 *	in_flight io_ms weighted_ms  [discards merged sectors ms]  [flushes ms]
 *
 * Kernels before 4.18 have 11 values, 4.18 adds 4 for discards, 5.5 adds 2
 * for flushes; what a line has is reported.  Sectors are 512 bytes whatever
 * the device's block size; times are milliseconds.  Devices matching the
 * exclude regex (by default ram, zram, loop and partitions, as in
 * node_exporter) are skipped.
 */
#include "config.h"

#include <string.h>

#include "proc_impl.h"

static const struct {
	const char	*metric;
	double		 mul, div;	/* ms / 1000 rounds once; * 0.001 twice */
} disk_fields[] = {
	{ "node_disk_reads_completed_total",		1, 1 },
	{ "node_disk_reads_merged_total",		1, 1 },
	{ "node_disk_read_bytes_total",			512, 1 },
	{ "node_disk_read_time_seconds_total",		1, 1000 },
	{ "node_disk_writes_completed_total",		1, 1 },
	{ "node_disk_writes_merged_total",		1, 1 },
	{ "node_disk_written_bytes_total",		512, 1 },
	{ "node_disk_write_time_seconds_total",		1, 1000 },
	{ "node_disk_io_now",				1, 1 },
	{ "node_disk_io_time_seconds_total",		1, 1000 },
	{ "node_disk_io_time_weighted_seconds_total",	1, 1000 },
	{ "node_disk_discards_completed_total",		1, 1 },
	{ "node_disk_discards_merged_total",		1, 1 },
	{ "node_disk_discarded_sectors_total",		1, 1 },
	{ "node_disk_discard_time_seconds_total",	1, 1000 },
	{ "node_disk_flush_requests_total",		1, 1 },
	{ "node_disk_flush_requests_time_seconds_total", 1, 1000 },
};
#define NDISK_FIELDS	(sizeof(disk_fields) / sizeof(disk_fields[0]))

int
proc_diskstats_parse(struct proc_ctx *ctx, const pcre2_code *exclude)
{
	char		*line, *f[3 + NDISK_FIELDS];
	const char	*dev;
	double		 v[NDISK_FIELDS];
	size_t		 len, n, i;
	uint64_t	 u;
	int		 r, rc = 0, bad;

	while ((r = lines_next(&ctx->lr, &line, &len)) == 1) {
		n = proc_fields(line, f, 3 + NDISK_FIELDS);
		if (n == 0)
			continue;
		if (n < 14) {
			rc = proc_error(ctx, "%s:%d: expected at least 14 "
			    "fields, got %zu", ctx->lr.name, ctx->lr.lineno, n);
			continue;
		}
		dev = f[2];
		if (proc_match(ctx, exclude, dev, strlen(dev)))
			continue;
		for (i = 3, bad = 0; i < n; i++) {
			if (proc_u64(f[i], &u) == -1) {
				rc = proc_error(ctx, "%s:%d: %s: bad value "
				    "\"%s\"", ctx->lr.name, ctx->lr.lineno,
				    dev, f[i]);
				bad = 1;
				break;
			}
			v[i - 3] = (double)u * disk_fields[i - 3].mul /
			    disk_fields[i - 3].div;
		}
		if (bad)
			continue;
		for (i = 0; i < n - 3; i++)
			proc_add(ctx, disk_fields[i].metric, v[i], "device", dev,
			    NULL);
	}
	if (r == -1)
		rc = proc_read_failed(ctx, PROC_OPTIONAL);
	return rc;
}

int
proc_diskstats_read(struct proc_ctx *ctx, const pcre2_code *exclude)
{
	int r;

	if ((r = proc_open(ctx, "proc/diskstats", PROC_OPTIONAL,
	    PROC_FILE_MAX)) <= 0)
		return r;
	r = proc_diskstats_parse(ctx, exclude);
	lines_close(&ctx->lr);
	return r;
}
