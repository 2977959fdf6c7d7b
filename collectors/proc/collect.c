/*
 * collect: one /proc target (a [proc "NAME"] section) apart from the
 * config machinery, so tests and the benchmark drive it with plain
 * options: its compiled regexes, the state its process group keeps between
 * runs, and one collection, which runs every parser it was asked for and
 * reports the first error while keeping every sample that was read right.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc_impl.h"
#include "xmalloc.h"

struct proc_target {
	struct proc_ctx		 ctx;
	int			 host;
	char			*instance;
	pcre2_code		*disk_re, *fs_re, *fstype_re, *cmd_re;
	int			 tcp;
	uint16_t		*ports;		/* NULL: every listening port */
	size_t			 nports;
	struct proc_tcp		 tcp_tab;
	struct proc_group	*group;
};

static int
set(const char *s)
{
	return s != NULL && *s != '\0';
}

int
proc_opts_check(const struct proc_opts *o, const char **key, char *err,
    size_t errlen)
{
	const char	*keys[3] = { "process", "cmdline", "pidfile" };
	int		 isset[3], i, n = 0;
	uint16_t	*ports;
	size_t		 nports;
	char		 msg[128];

	isset[0] = set(o->process);
	isset[1] = set(o->cmdline);
	isset[2] = set(o->pidfile);
	for (i = 0; i < 3; i++) {
		if (!isset[i])
			continue;
		if (++n > 1) {
			*key = keys[i];
			snprintf(err, errlen, "process, cmdline and pidfile "
			    "are exclusive: set only one");
			return -1;
		}
	}
	if (o->process != NULL && *o->process == '\0') {
		*key = "process";
		snprintf(err, errlen, "empty process name");
		return -1;
	}
	if (o->ports != NULL) {
		if (proc_ports_parse(o->ports, &ports, &nports, msg,
		    sizeof(msg)) == -1) {
			*key = "ports";
			snprintf(err, errlen, "%s", msg);
			return -1;
		}
		free(ports);
	}
	if (!o->host && n == 0 && o->ports == NULL) {
		*key = "host";
		snprintf(err, errlen, "nothing to collect: set host = yes, "
		    "process, cmdline, pidfile or ports");
		return -1;
	}
	return 0;
}

static int
compile(const char *key, const char *src, pcre2_code **out, char *err,
    size_t errlen)
{
	PCRE2_UCHAR	msg[128];
	PCRE2_SIZE	off;
	int		code;

	*out = NULL;
	if (src == NULL)
		return 0;
	*out = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED, 0, &code,
	    &off, NULL);
	if (*out == NULL) {
		pcre2_get_error_message(code, msg, sizeof(msg));
		snprintf(err, errlen, "%s: %s at offset %zu", key, (char *)msg,
		    (size_t)off);
		return -1;
	}
	return 0;
}

static char *
target_hostname(struct proc_ctx *ctx)
{
	char	*line, name[256];
	size_t	 len;

	if (proc_open(ctx, "proc/sys/kernel/hostname", PROC_OPTIONAL, 4096) ==
	    1) {
		if (lines_next(&ctx->lr, &line, &len) == 1 && len > 0 &&
		    len < 256) {
			lines_close(&ctx->lr);
			return xstrdup(line);
		}
		lines_close(&ctx->lr);
	}
	ctx->failed = 0;
	if (strcmp(ctx->root, "/") == 0 &&
	    gethostname(name, sizeof(name)) == 0) {
		name[sizeof(name) - 1] = '\0';
		return xstrdup(name);
	}
	return xstrdup("localhost");
}

struct proc_target *
proc_target_new(const struct proc_opts *o, char *err, size_t errlen)
{
	struct proc_target	*t;
	const char		*key;
	char			 msg[256];

	if (proc_opts_check(o, &key, msg, sizeof(msg)) == -1) {
		snprintf(err, errlen, "%s: %s", key, msg);
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	proc_ctx_init(&t->ctx, o->root);
	t->host = o->host;
	if (compile("disk_exclude", o->disk_exclude, &t->disk_re, err,
	    errlen) == -1 ||
	    compile("fs_exclude", o->fs_exclude, &t->fs_re, err, errlen) == -1 ||
	    compile("fs_types_exclude", o->fs_types_exclude, &t->fstype_re,
	    err, errlen) == -1 ||
	    compile("cmdline", set(o->cmdline) ? o->cmdline : NULL,
	    &t->cmd_re, err, errlen) == -1) {
		proc_target_free(t);
		return NULL;
	}
	if (o->ports != NULL && proc_ports_parse(o->ports, &t->ports,
	    &t->nports, err, errlen) == -1) {
		proc_target_free(t);
		return NULL;
	}
	t->tcp = o->host || o->ports != NULL;
	if (t->tcp)
		proc_tcp_init(&t->tcp_tab);
	if (set(o->process))
		t->group = proc_group_new(o->name, PROC_BY_COMM, o->process,
		    NULL);
	else if (set(o->cmdline))
		t->group = proc_group_new(o->name, PROC_BY_CMDLINE, NULL,
		    t->cmd_re);
	else if (set(o->pidfile))
		t->group = proc_group_new(o->name, PROC_BY_PIDFILE, o->pidfile,
		    NULL);
	t->instance = target_hostname(&t->ctx);
	return t;
}

void
proc_target_free(struct proc_target *t)
{
	if (t == NULL)
		return;
	proc_group_free(t->group);
	proc_tcp_free(&t->tcp_tab);
	free(t->ports);
	pcre2_code_free(t->disk_re);
	pcre2_code_free(t->fs_re);
	pcre2_code_free(t->fstype_re);
	pcre2_code_free(t->cmd_re);
	free(t->instance);
	proc_ctx_free(&t->ctx);
	free(t);
}

const char *
proc_target_instance(const struct proc_target *t)
{
	return t->instance;
}

void
proc_target_set_units(struct proc_target *t, double hz, double pagesize)
{
	t->ctx.hz = hz;
	t->ctx.pagesize = pagesize;
}

int
proc_target_collect(struct proc_target *t, struct batch *b, int64_t time,
    char *err, size_t errlen)
{
	struct proc_ctx *ctx = &t->ctx;

	proc_ctx_begin(ctx, b, time);
	if (t->host) {
		proc_stat_read(ctx, 1);
		proc_loadavg_read(ctx);
		proc_meminfo_read(ctx);
		proc_pressure_read(ctx);
		proc_diskstats_read(ctx, t->disk_re);
		proc_netdev_read(ctx);
		proc_fs_read(ctx, t->fs_re, t->fstype_re);
		proc_filenr_read(ctx);
	} else if (t->group != NULL)
		proc_stat_read(ctx, 0);	/* boot time, for start times */
	if (t->tcp)
		proc_tcp_read(ctx, &t->tcp_tab, t->ports, t->nports);
	if (t->group != NULL)
		proc_group_collect(t->group, ctx);
	lines_close(&ctx->lr);
	if (ctx->failed) {
		snprintf(err, errlen, "%s", ctx->err);
		return -1;
	}
	return 0;
}
