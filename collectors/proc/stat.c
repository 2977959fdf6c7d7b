/*
 * stat: the kernel's activity counters and load, as node_exporter's cpu,
 * stat, loadavg and filefd collectors name them.
 *
 *	proc/stat		per-CPU time by mode, context switches, forks,
 *				interrupts, running/blocked tasks, boot time
 *	proc/loadavg		node_load1/5/15
 *	proc/sys/fs/file-nr	allocated and maximum file handles
 *
 * CPU times are in USER_HZ ticks (sysconf(_SC_CLK_TCK)), turned into
 * seconds.  Only the per-CPU lines are reported, not the "cpu" total, as
 * node_exporter does: sum() over the cpu label gives the total.  The
 * kernel's user and nice already include guest and guest_nice; those are
 * also reported alone as node_cpu_guest_seconds_total.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "proc_impl.h"

static const char *const cpu_modes[] = {
	"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
};
#define NCPU_MODES	(sizeof(cpu_modes) / sizeof(cpu_modes[0]))

static int
stat_cpu(struct proc_ctx *ctx, char **f, size_t n, int emit)
{
	const char	*id = f[0] + 3;
	double		 v[10];
	size_t		 i;

	if (*id == '\0')
		return 0;	/* the all-CPU total */
	for (i = 0; id[i] != '\0'; i++)
		if (id[i] < '0' || id[i] > '9')
			return proc_error(ctx, "%s:%d: bad cpu name \"%s\"",
			    ctx->lr.name, ctx->lr.lineno, f[0]);
	if (n - 1 < 4)
		return proc_error(ctx, "%s:%d: %s: expected at least 4 values, "
		    "got %zu", ctx->lr.name, ctx->lr.lineno, f[0], n - 1);
	for (i = 1; i < n && i <= 10; i++) {
		uint64_t u;

		if (proc_u64(f[i], &u) == -1)
			return proc_error(ctx, "%s:%d: %s: bad value \"%s\"",
			    ctx->lr.name, ctx->lr.lineno, f[0], f[i]);
		v[i - 1] = (double)u / ctx->hz;
	}
	if (!emit)
		return 0;
	for (i = 0; i < n - 1 && i < NCPU_MODES; i++)
		proc_add(ctx, "node_cpu_seconds_total", v[i], "cpu", id,
		    "mode", cpu_modes[i], NULL);
	if (n - 1 >= 9)
		proc_add(ctx, "node_cpu_guest_seconds_total", v[8], "cpu", id,
		    "mode", "user", NULL);
	if (n - 1 >= 10)
		proc_add(ctx, "node_cpu_guest_seconds_total", v[9], "cpu", id,
		    "mode", "nice", NULL);
	return 0;
}

static const struct {
	const char	*key;
	const char	*metric;
} stat_keys[] = {
	{ "ctxt",		"node_context_switches_total" },
	{ "btime",		"node_boot_time_seconds" },
	{ "processes",		"node_forks_total" },
	{ "procs_running",	"node_procs_running" },
	{ "procs_blocked",	"node_procs_blocked" },
	{ "intr",		"node_intr_total" },
};

int
proc_stat_parse(struct proc_ctx *ctx, int emit)
{
	char		*line, *f[12];
	size_t		 len, n, i;
	uint64_t	 u;
	int		 r, rc = 0;

	while ((r = lines_next(&ctx->lr, &line, &len)) == 1) {
		n = proc_fields(line, f, 12);
		if (n == 0)
			continue;
		if (strncmp(f[0], "cpu", 3) == 0) {
			if (stat_cpu(ctx, f, n, emit) == -1)
				rc = -1;
			continue;
		}
		for (i = 0; i < sizeof(stat_keys) / sizeof(stat_keys[0]); i++)
			if (strcmp(f[0], stat_keys[i].key) == 0)
				break;
		if (i == sizeof(stat_keys) / sizeof(stat_keys[0]))
			continue;
		if (n < 2 || proc_u64(f[1], &u) == -1) {
			rc = proc_error(ctx, "%s:%d: %s: bad value \"%s\"",
			    ctx->lr.name, ctx->lr.lineno, f[0],
			    n < 2 ? "" : f[1]);
			continue;
		}
		if (strcmp(f[0], "btime") == 0)
			ctx->btime = (double)u;
		if (emit)
			proc_add(ctx, stat_keys[i].metric, (double)u, NULL);
	}
	if (r == -1)
		rc = proc_read_failed(ctx, PROC_REQUIRED);
	return rc;
}

int
proc_stat_read(struct proc_ctx *ctx, int emit)
{
	int r;

	if ((r = proc_open(ctx, "proc/stat", PROC_REQUIRED,
	    PROC_FILE_MAX)) <= 0)
		return r;
	r = proc_stat_parse(ctx, emit);
	lines_close(&ctx->lr);
	return r;
}

int
proc_loadavg_parse(struct proc_ctx *ctx)
{
	static const char *const names[] = {
		"node_load1", "node_load5", "node_load15",
	};
	char	*line, *f[5];
	size_t	 len, n, i;
	double	 v[3];
	int	 r;

	if ((r = lines_next(&ctx->lr, &line, &len)) != 1)
		return r == 0 ? proc_error(ctx, "%s: empty", ctx->lr.name) :
		    proc_read_failed(ctx, PROC_REQUIRED);
	n = proc_fields(line, f, 5);
	if (n < 3)
		return proc_error(ctx, "%s:1: expected 3 load averages, got %zu",
		    ctx->lr.name, n);
	for (i = 0; i < 3; i++)
		if (proc_double(f[i], &v[i]) == -1 || v[i] < 0)
			return proc_error(ctx, "%s:1: bad load average \"%s\"",
			    ctx->lr.name, f[i]);
	for (i = 0; i < 3; i++)
		proc_add(ctx, names[i], v[i], NULL);
	return 0;
}

int
proc_loadavg_read(struct proc_ctx *ctx)
{
	int r;

	if ((r = proc_open(ctx, "proc/loadavg", PROC_REQUIRED,
	    PROC_FILE_MAX)) <= 0)
		return r;
	r = proc_loadavg_parse(ctx);
	lines_close(&ctx->lr);
	return r;
}

int
proc_filenr_parse(struct proc_ctx *ctx)
{
	char		*line, *f[4];
	size_t		 len, n;
	uint64_t	 alloc, max;
	int		 r;

	if ((r = lines_next(&ctx->lr, &line, &len)) != 1)
		return r == 0 ? proc_error(ctx, "%s: empty", ctx->lr.name) :
		    proc_read_failed(ctx, PROC_OPTIONAL);
	n = proc_fields(line, f, 4);
	if (n != 3 || proc_u64(f[0], &alloc) == -1 ||
	    proc_u64(f[2], &max) == -1)
		return proc_error(ctx, "%s:1: expected \"allocated unused "
		    "maximum\"", ctx->lr.name);
	proc_add(ctx, "node_filefd_allocated", (double)alloc, NULL);
	proc_add(ctx, "node_filefd_maximum", (double)max, NULL);
	return 0;
}

int
proc_filenr_read(struct proc_ctx *ctx)
{
	int r;

	if ((r = proc_open(ctx, "proc/sys/fs/file-nr", PROC_OPTIONAL,
	    PROC_FILE_MAX)) <= 0)
		return r;
	r = proc_filenr_parse(ctx);
	lines_close(&ctx->lr);
	return r;
}
