/*
 * meminfo: every field of /proc/meminfo as node_memory_*, named the way
 * node_exporter names them so its dashboards work unchanged:
 *
 *	"MemTotal:  1024 kB"	-> node_memory_MemTotal_bytes 1048576
 *	"Active(anon): 8 kB"	-> node_memory_Active_anon_bytes 8192
 *	"HugePages_Total: 0"	-> node_memory_HugePages_Total 0 (no unit)
 *
 * The kernel writes "kB" but means KiB.  Fields a newer kernel adds are
 * reported too; the catalogue knows the common ones.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "proc_impl.h"

/* "Active(anon)" -> "Active_anon"; 0, or -1 if the name is not plain. */
static int
meminfo_name(const char *key, char *out, size_t outlen)
{
	size_t	n = 0;
	int	paren = 0;

	for (; *key != '\0'; key++) {
		char c = *key;

		if (c == '(') {
			if (paren++)
				return -1;
			c = '_';
		} else if (c == ')') {
			if (!paren || key[1] != '\0')
				return -1;
			continue;
		} else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_'))
			return -1;
		if (n + 1 >= outlen)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return n == 0 ? -1 : 0;
}

int
proc_meminfo_parse(struct proc_ctx *ctx)
{
	char		*line, *f[4], *colon, name[128], metric[160];
	size_t		 len, n;
	uint64_t	 u;
	int		 r, rc = 0;

	while ((r = lines_next(&ctx->lr, &line, &len)) == 1) {
		n = proc_fields(line, f, 4);
		if (n == 0)
			continue;
		colon = strchr(f[0], ':');
		if (colon == NULL || colon[1] != '\0' || n < 2 || n > 3) {
			rc = proc_error(ctx, "%s:%d: expected \"Name: value "
			    "[kB]\"", ctx->lr.name, ctx->lr.lineno);
			continue;
		}
		*colon = '\0';
		if (meminfo_name(f[0], name, sizeof(name)) == -1) {
			rc = proc_error(ctx, "%s:%d: bad field name \"%s\"",
			    ctx->lr.name, ctx->lr.lineno, f[0]);
			continue;
		}
		if (proc_u64(f[1], &u) == -1) {
			rc = proc_error(ctx, "%s:%d: %s: bad value \"%s\"",
			    ctx->lr.name, ctx->lr.lineno, f[0], f[1]);
			continue;
		}
		if (n == 3 && strcmp(f[2], "kB") != 0) {
			rc = proc_error(ctx, "%s:%d: %s: unknown unit \"%s\"",
			    ctx->lr.name, ctx->lr.lineno, f[0], f[2]);
			continue;
		}
		snprintf(metric, sizeof(metric), "node_memory_%s%s", name,
		    n == 3 ? "_bytes" : "");
		proc_add(ctx, metric, n == 3 ? (double)u * 1024 : (double)u,
		    NULL);
	}
	if (r == -1)
		rc = proc_read_failed(ctx, PROC_REQUIRED);
	return rc;
}

int
proc_meminfo_read(struct proc_ctx *ctx)
{
	int r;

	if ((r = proc_open(ctx, "proc/meminfo", PROC_REQUIRED,
	    PROC_FILE_MAX)) <= 0)
		return r;
	r = proc_meminfo_parse(ctx);
	lines_close(&ctx->lr);
	return r;
}
