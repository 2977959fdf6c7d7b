/*
 * pressure: pressure stall information (PSI, Linux 4.20+), the saturation
 * signal of the USE method: how long tasks waited for a CPU, for memory,
 * for I/O.
 *
 *	some avg10=0.24 avg60=0.61 avg300=0.51 total=5513350
 *	full avg10=0.00 avg60=0.00 avg300=0.00 total=0
 *
 * "total" is in microseconds.  "some" (at least one task waited) becomes
 * node_pressure_<res>_waiting_seconds_total, "full" (every non-idle task
 * waited at once) node_pressure_<res>_stalled_seconds_total, as in
 * node_exporter; cpu has a "full" line only on Linux 5.13+ and it is
 * reported only when present.  The avgN fields are left out: they are
 * rates the query engine derives better from the total.  A kernel without
 * PSI (no directory, or EOPNOTSUPP when booted with psi=0) is skipped.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "proc_impl.h"

int
proc_pressure_parse(struct proc_ctx *ctx, const char *res)
{
	char		*line, *f[6], metric[64];
	const char	*kind;
	size_t		 len, n, i;
	uint64_t	 us;
	int		 r, rc = 0, found;

	while ((r = lines_next(&ctx->lr, &line, &len)) == 1) {
		n = proc_fields(line, f, 6);
		if (n == 0)
			continue;
		if (strcmp(f[0], "some") == 0)
			kind = "waiting";
		else if (strcmp(f[0], "full") == 0)
			kind = "stalled";
		else {
			rc = proc_error(ctx, "%s:%d: expected \"some\" or "
			    "\"full\", got \"%s\"", ctx->lr.name,
			    ctx->lr.lineno, f[0]);
			continue;
		}
		for (i = 1, found = 0; i < n; i++) {
			if (strncmp(f[i], "total=", 6) != 0)
				continue;
			found = 1;
			if (proc_u64(f[i] + 6, &us) == -1)
				found = -1;
			break;
		}
		if (found != 1) {
			rc = proc_error(ctx, found == 0 ?
			    "%s:%d: %s: no total=" : "%s:%d: %s: bad total=",
			    ctx->lr.name, ctx->lr.lineno, f[0]);
			continue;
		}
		snprintf(metric, sizeof(metric), "node_pressure_%s_%s_"
		    "seconds_total", res, kind);
		proc_add(ctx, metric, (double)us / 1e6, NULL);
	}
	if (r == -1)
		rc = proc_read_failed(ctx, PROC_OPTIONAL);
	return rc;
}

int
proc_pressure_read(struct proc_ctx *ctx)
{
	static const char *const res[] = { "cpu", "memory", "io" };
	char	rel[64];
	size_t	i;
	int	r, rc = 0;

	for (i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
		snprintf(rel, sizeof(rel), "proc/pressure/%s", res[i]);
		if ((r = proc_open(ctx, rel, PROC_OPTIONAL,
		    PROC_FILE_MAX)) == -1)
			rc = -1;
		if (r <= 0)
			continue;
		if (proc_pressure_parse(ctx, res[i]) == -1)
			rc = -1;
		lines_close(&ctx->lr);
	}
	return rc;
}
