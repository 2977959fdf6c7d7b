/*
 * pid: process groups, the per-application half of the USE method: how much
 * CPU and memory the processes of one application use, how many file
 * descriptors they hold against their limit, how often they are switched
 * out, how much they read and write.
 *
 * A group is the set of processes whose command name equals a string, whose
 * command line matches a regex, or whose pid is written in a pid file.  Its
 * metrics are the sums over its processes, named after the Prometheus
 * client libraries' process_* metrics with a process="NAME" label, plus a
 * few of process-exporter's (threads, context switches, I/O, count).
 *
 * Per process, from proc/[pid]/:
 *	comm	the command name, to match (far cheaper than stat)
 *	stat	CPU ticks, threads, start time, vsize, rss
 *	cmdline	NUL-separated arguments (empty for kernel threads)
 *	status	voluntary and nonvoluntary context switches
 *	io	read_bytes, write_bytes (root or the same user only)
 *	fd/	one entry per open descriptor (same)
 *	limits	"Max open files" soft limit
 *
 * The command name in stat is in parentheses and may itself hold blanks and
 * parentheses ("(sd-pam)", "my (weird) proc"), or even a newline: it ends at
 * the LAST ')' of the file, which is why stat is read whole, not by line.
 * A process that exits while we read it is skipped, not an error; a file
 * we may not read (io, fd/ as another user) leaves its metric out.  A pid
 * file is read below the root too, so a fixture tree carries its own.
 *
 * Counters are kept monotonic (see proc_impl.h), so the group's CPU seconds
 * do not fall when one of its processes exits: rate() stays right.  The
 * context switches are the main thread's (what proc/[pid]/status shows).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "proc_impl.h"
#include "xmalloc.h"

/* What a group remembers of a process between runs. */
struct pid_prev {
	int		pid;
	uint64_t	starttime;
	double		cpu, vcsw, nvcsw;
	int		has_io;
	double		rbytes, wbytes;
};

struct proc_group {
	char			*name;
	enum proc_match_by	 by;
	char			*what;
	const pcre2_code	*re;
	struct buf		 scratch;	/* stat, cmdline, pid file */
	struct pid_prev		*prev, *cur;
	size_t			 nprev, ncur, capprev, capcur;
	double			 cpu, vcsw, nvcsw, rbytes, wbytes;
	int			 io_seen;
};

/* The kernel truncates command names to 15 bytes (TASK_COMM_LEN - 1). */
#define COMM_MAX	15

enum pid_state {
	PID_OK,
	PID_GONE,	/* exited (or never was) */
	PID_DENIED,	/* not ours to read */
	PID_FAILED,	/* an error was recorded */
};

struct proc_group *
proc_group_new(const char *name, enum proc_match_by by, const char *what,
    const pcre2_code *re)
{
	struct proc_group *g = xcalloc(1, sizeof(*g));

	g->name = xstrdup(name);
	g->by = by;
	g->what = xstrdup(what != NULL ? what : "");
	g->re = re;
	return g;
}

void
proc_group_free(struct proc_group *g)
{
	if (g == NULL)
		return;
	free(g->name);
	free(g->what);
	buf_free(&g->scratch);
	free(g->prev);
	free(g->cur);
	free(g);
}

static enum pid_state
pid_errno(struct proc_ctx *ctx, const char *rel, int e)
{
	if (e == ENOENT || e == ESRCH || e == ENOTDIR)
		return PID_GONE;
	if (e == EACCES || e == EPERM)
		return PID_DENIED;
	proc_error(ctx, "%s: %s", rel, strerror(e));
	return PID_FAILED;
}

static enum pid_state
pid_read_failed(struct proc_ctx *ctx)
{
	if (ctx->lr.error == EFBIG) {
		proc_read_failed(ctx, PROC_REQUIRED);
		return PID_FAILED;
	}
	return pid_errno(ctx, ctx->lr.name, ctx->lr.error);
}

/*
 * Read a whole small file below the root into OUT (NUL-terminated).  With
 * ONE_RECORD, a short read is taken as the end: the kernel writes stat and
 * comm in one go, and a process group reads them for every process on the
 * host, so the read(2) that would return 0 is worth saving.
 */
static enum pid_state
pid_slurp(struct proc_ctx *ctx, const char *rel, struct buf *out,
    size_t limit, int one_record)
{
	size_t	want;
	char	path[4096];
	ssize_t	n;
	int	fd, e;

	buf_reset(out);
	if (proc_path(ctx, rel, path, sizeof(path)) == -1) {
		proc_error(ctx, "%s: path too long", rel);
		return PID_FAILED;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return pid_errno(ctx, rel, errno);
	for (;;) {
		buf_reserve(out, 4096);
		want = out->cap - out->len - 1;
		n = read(fd, out->data + out->len, want);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			e = errno;
			close(fd);
			return pid_errno(ctx, rel, e);
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		if (out->len >= limit) {
			/* A command line's head is enough to match; a stat
			   or pid file this long is malformed anyway. */
			out->len = limit;
			break;
		}
		if (one_record && (size_t)n < want)
			break;
	}
	close(fd);
	buf_reserve(out, 1);
	out->data[out->len] = '\0';
	return PID_OK;
}

static enum pid_state
pid_open(struct proc_ctx *ctx, int pid, const char *file)
{
	char	rel[64], path[4096];

	snprintf(rel, sizeof(rel), "proc/%d/%s", pid, file);
	if (proc_path(ctx, rel, path, sizeof(path)) == -1) {
		proc_error(ctx, "%s: path too long", rel);
		return PID_FAILED;
	}
	if (lines_open(&ctx->lr, path, rel, PROC_FILE_MAX) == -1)
		return pid_errno(ctx, rel, errno);
	return PID_OK;
}

static int
pid_field(const char *s, uint64_t *v, const char *what, char *err,
    size_t errlen)
{
	if (proc_u64(s, v) == 0)
		return 0;
	snprintf(err, errlen, "bad %s \"%.32s\"", what, s);
	return -1;
}

int
proc_pidstat_parse(char *s, struct proc_pid *p, double hz, double pagesize,
    char *err, size_t errlen)
{
	char		*open, *close, *f[24];
	size_t		 n, clen;
	uint64_t	 pid, utime, stime, threads, start, vsize, rss;

	open = strchr(s, '(');
	close = strrchr(s, ')');
	if (open == NULL || close == NULL || close < open || open == s ||
	    open[-1] != ' ') {
		snprintf(err, errlen, "no command name in parentheses");
		return -1;
	}
	open[-1] = '\0';
	if (proc_u64(s, &pid) == -1 || pid == 0 || pid > 0x7fffffff) {
		snprintf(err, errlen, "bad pid \"%.32s\"", s);
		return -1;
	}
	clen = (size_t)(close - open - 1);
	if (clen >= sizeof(p->comm))
		clen = sizeof(p->comm) - 1;
	memcpy(p->comm, open + 1, clen);
	p->comm[clen] = '\0';
	/* Fields 3 (state) to 24 (rss) follow the name. */
	n = proc_fields(close + 1, f, 24);
	if (n < 22) {
		snprintf(err, errlen, "expected at least 24 fields, got %zu",
		    n + 2);
		return -1;
	}
	if (pid_field(f[11], &utime, "utime", err, errlen) == -1 ||
	    pid_field(f[12], &stime, "stime", err, errlen) == -1 ||
	    pid_field(f[17], &threads, "num_threads", err, errlen) == -1 ||
	    pid_field(f[19], &start, "starttime", err, errlen) == -1 ||
	    pid_field(f[20], &vsize, "vsize", err, errlen) == -1 ||
	    pid_field(f[21], &rss, "rss", err, errlen) == -1)
		return -1;
	p->pid = (int)pid;
	p->cpu = (double)utime / hz + (double)stime / hz;
	p->threads = (double)threads;
	p->starttime = start;
	p->vsize = (double)vsize;
	p->rss = (double)rss * pagesize;
	return 0;
}

/* Read and parse proc/PID/stat. */
static enum pid_state
pid_stat(struct proc_ctx *ctx, struct proc_group *g, int pid,
    struct proc_pid *p)
{
	char		rel[64], msg[128];
	enum pid_state	st;

	snprintf(rel, sizeof(rel), "proc/%d/stat", pid);
	if ((st = pid_slurp(ctx, rel, &g->scratch, 4096, 1)) != PID_OK)
		return st == PID_DENIED ? PID_GONE : st;
	/* A process reaped while we read may leave an empty file. */
	if (g->scratch.len == 0)
		return PID_GONE;
	if (g->scratch.data[g->scratch.len - 1] == '\n')
		g->scratch.data[--g->scratch.len] = '\0';
	if (proc_pidstat_parse(g->scratch.data, p, ctx->hz, ctx->pagesize, msg,
	    sizeof(msg)) == -1) {
		proc_error(ctx, "%s: %s", rel, msg);
		return PID_FAILED;
	}
	if (p->pid != pid) {
		proc_error(ctx, "%s: pid %d in the file", rel, p->pid);
		return PID_FAILED;
	}
	return PID_OK;
}

/* Does PID's NUL-separated command line match the group's regex? */
static enum pid_state
pid_cmdline_match(struct proc_ctx *ctx, struct proc_group *g, int pid,
    int *match)
{
	char		rel[64];
	size_t		i, len;
	enum pid_state	st;

	*match = 0;
	snprintf(rel, sizeof(rel), "proc/%d/cmdline", pid);
	if ((st = pid_slurp(ctx, rel, &g->scratch, PROC_FILE_MAX, 0)) !=
	    PID_OK)
		return st == PID_DENIED ? PID_GONE : st;
	len = g->scratch.len;
	while (len > 0 && g->scratch.data[len - 1] == '\0')
		len--;
	/* Kernel threads have no command line: never a match. */
	if (len == 0)
		return PID_OK;
	for (i = 0; i < len; i++)
		if (g->scratch.data[i] == '\0')
			g->scratch.data[i] = ' ';
	*match = proc_match(ctx, g->re, g->scratch.data, len);
	return PID_OK;
}

/*
 * Is PID's command name the group's?  Read from proc/PID/comm, which costs
 * the kernel a fraction of what stat does: most processes are not ours.
 */
static enum pid_state
pid_comm_match(struct proc_ctx *ctx, struct proc_group *g, int pid,
    int *match)
{
	char		rel[64];
	size_t		len, wl = strlen(g->what);
	enum pid_state	st;

	*match = 0;
	snprintf(rel, sizeof(rel), "proc/%d/comm", pid);
	if ((st = pid_slurp(ctx, rel, &g->scratch, 4096, 1)) != PID_OK)
		return st == PID_DENIED ? PID_GONE : st;
	len = g->scratch.len;
	if (len > 0 && g->scratch.data[len - 1] == '\n')
		len--;
	if (wl > COMM_MAX)
		*match = len == COMM_MAX &&
		    memcmp(g->scratch.data, g->what, COMM_MAX) == 0;
	else
		*match = len == wl && memcmp(g->scratch.data, g->what, wl) == 0;
	return PID_OK;
}

/* "Name:\tvalue" lines: status and io. */
static enum pid_state
pid_keys(struct proc_ctx *ctx, int pid, const char *file,
    const char *k1, double *v1, const char *k2, double *v2)
{
	char		*line, *f[3];
	size_t		 len, n;
	uint64_t	 u;
	enum pid_state	 st;
	int		 r;

	*v1 = *v2 = 0;
	if ((st = pid_open(ctx, pid, file)) != PID_OK)
		return st;
	while ((r = lines_next(&ctx->lr, &line, &len)) == 1) {
		double *v;

		n = proc_fields(line, f, 3);
		if (n < 2)
			continue;
		if (strcmp(f[0], k1) == 0)
			v = v1;
		else if (strcmp(f[0], k2) == 0)
			v = v2;
		else
			continue;
		if (proc_u64(f[1], &u) == -1) {
			proc_error(ctx, "%s:%d: %s bad value \"%.32s\"",
			    ctx->lr.name, ctx->lr.lineno, f[0], f[1]);
			lines_close(&ctx->lr);
			return PID_FAILED;
		}
		*v = (double)u;
	}
	if (r == -1)
		st = pid_read_failed(ctx);
	lines_close(&ctx->lr);
	return st;
}

static enum pid_state
pid_max_fds(struct proc_ctx *ctx, int pid, double *max)
{
	char		*line, *f[8];
	size_t		 len, n;
	uint64_t	 u;
	enum pid_state	 st;
	int		 r, found = 0;

	if ((st = pid_open(ctx, pid, "limits")) != PID_OK)
		return st;
	while ((r = lines_next(&ctx->lr, &line, &len)) == 1) {
		if (strncmp(line, "Max open files ", 15) != 0)
			continue;
		n = proc_fields(line + 15, f, 8);
		if (n >= 1 && proc_u64(f[0], &u) == 0) {
			*max = (double)u;
			found = 1;
		}
		break;
	}
	if (r == -1)
		st = pid_read_failed(ctx);
	lines_close(&ctx->lr);
	/* "unlimited" or an odd kernel: no ratio rather than a wrong one. */
	if (st == PID_OK && !found)
		st = PID_DENIED;
	return st;
}

static enum pid_state
pid_count_fds(struct proc_ctx *ctx, int pid, double *count)
{
	char		 rel[64], path[4096];
	DIR		*d;
	struct dirent	*de;
	size_t		 n = 0;

	snprintf(rel, sizeof(rel), "proc/%d/fd", pid);
	if (proc_path(ctx, rel, path, sizeof(path)) == -1) {
		proc_error(ctx, "%s: path too long", rel);
		return PID_FAILED;
	}
	if ((d = opendir(path)) == NULL)
		return pid_errno(ctx, rel, errno);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	*count = (double)n;
	return PID_OK;
}

/*
 * Everything about one matched process.  PID_GONE when its status vanished
 * on the way: half a process would be a wrong sum.  io, fd/ and limits are
 * optional (another user's, or a kernel without I/O accounting): missing,
 * they leave their metrics out; a process that exits just before them has
 * been read whole enough to count.
 */
static enum pid_state
pid_details(struct proc_ctx *ctx, struct proc_pid *p)
{
	enum pid_state st;

	st = pid_keys(ctx, p->pid, "status", "voluntary_ctxt_switches:",
	    &p->vcsw, "nonvoluntary_ctxt_switches:", &p->nvcsw);
	if (st != PID_OK)
		return st == PID_DENIED ? PID_GONE : st;
	st = pid_keys(ctx, p->pid, "io", "read_bytes:", &p->rbytes,
	    "write_bytes:", &p->wbytes);
	if (st == PID_FAILED)
		return st;
	p->has_io = st == PID_OK;
	st = pid_count_fds(ctx, p->pid, &p->fds);
	if (st == PID_FAILED)
		return st;
	p->has_fds = st == PID_OK;
	st = pid_max_fds(ctx, p->pid, &p->max_fds);
	if (st == PID_FAILED)
		return st;
	if (st != PID_OK)
		p->has_fds = 0;
	return PID_OK;
}

/* The pid in the group's pid file, 0 when there is none. */
static int
group_pidfile(struct proc_ctx *ctx, struct proc_group *g, int *pid)
{
	enum pid_state	 st;
	uint64_t	 u;
	char		*s, *e;

	*pid = 0;
	st = pid_slurp(ctx, g->what, &g->scratch, 64, 0);
	if (st == PID_FAILED)
		return -1;
	if (st == PID_DENIED)
		return proc_error(ctx, "pid file %s: %s", g->what,
		    strerror(EACCES));
	if (st == PID_GONE)
		return 0;	/* no pid file: the service is not running */
	s = g->scratch.data + strspn(g->scratch.data, " \t\r\n");
	e = s + strcspn(s, " \t\r\n");
	if (*e != '\0' && e[strspn(e, " \t\r\n")] != '\0')
		e = s + strlen(s);	/* more than one word: report it all */
	*e = '\0';
	if (proc_u64(s, &u) == -1 || u == 0 || u > 0x7fffffff)
		return proc_error(ctx, "pid file %s: expected a process id, "
		    "got \"%.32s\"", g->what, s);
	*pid = (int)u;
	return 0;
}

static void
group_keep(struct proc_group *g, const struct proc_pid *p)
{
	struct pid_prev *c;

	if (g->ncur == g->capcur) {
		g->capcur = g->capcur ? g->capcur * 2 : 16;
		g->cur = xreallocarray(g->cur, g->capcur, sizeof(*g->cur));
	}
	c = &g->cur[g->ncur++];
	c->pid = p->pid;
	c->starttime = p->starttime;
	c->cpu = p->cpu;
	c->vcsw = p->vcsw;
	c->nvcsw = p->nvcsw;
	c->has_io = p->has_io;
	c->rbytes = p->rbytes;
	c->wbytes = p->wbytes;
}

static int
prev_cmp(const void *a, const void *b)
{
	const struct pid_prev *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static double
grow(double now, double before)
{
	return now > before ? now - before : 0;
}

/* Add what each process did since the last run; see proc_impl.h. */
static void
group_accumulate(struct proc_group *g)
{
	struct pid_prev	*c, *p, *swap;
	size_t		 i, cap;

	if (g->ncur > 0)
		qsort(g->cur, g->ncur, sizeof(*g->cur), prev_cmp);
	for (i = 0; i < g->ncur; i++) {
		c = &g->cur[i];
		p = g->nprev == 0 ? NULL : bsearch(c, g->prev, g->nprev,
		    sizeof(*g->prev), prev_cmp);
		if (p != NULL && p->starttime != c->starttime)
			p = NULL;	/* the pid was reused */
		if (p == NULL) {
			g->cpu += c->cpu;
			g->vcsw += c->vcsw;
			g->nvcsw += c->nvcsw;
		} else {
			g->cpu += grow(c->cpu, p->cpu);
			g->vcsw += grow(c->vcsw, p->vcsw);
			g->nvcsw += grow(c->nvcsw, p->nvcsw);
		}
		if (!c->has_io)
			continue;
		g->io_seen = 1;
		if (p == NULL || !p->has_io) {
			g->rbytes += c->rbytes;
			g->wbytes += c->wbytes;
		} else {
			g->rbytes += grow(c->rbytes, p->rbytes);
			g->wbytes += grow(c->wbytes, p->wbytes);
		}
	}
	swap = g->prev;
	cap = g->capprev;
	g->prev = g->cur;
	g->nprev = g->ncur;
	g->capprev = g->capcur;
	g->cur = swap;
	g->capcur = cap;
	g->ncur = 0;
}

struct group_sums {
	size_t	count;
	double	rss, vsize, threads, fds, max_fds, worst, start;
	int	all_fds;
};

/* Look at PID: does it belong to the group, and if so, add it. */
static void
group_consider(struct proc_ctx *ctx, struct proc_group *g, int pid,
    struct group_sums *s)
{
	struct proc_pid	p;
	int		match;

	memset(&p, 0, sizeof(p));
	if (g->by == PROC_BY_CMDLINE) {
		if (pid_cmdline_match(ctx, g, pid, &match) != PID_OK || !match)
			return;
	} else if (g->by == PROC_BY_COMM) {
		if (pid_comm_match(ctx, g, pid, &match) != PID_OK || !match)
			return;
	}
	if (pid_stat(ctx, g, pid, &p) != PID_OK)
		return;
	if (pid_details(ctx, &p) != PID_OK)
		return;
	group_keep(g, &p);
	s->count++;
	s->rss += p.rss;
	s->vsize += p.vsize;
	s->threads += p.threads;
	if (p.has_fds) {
		s->fds += p.fds;
		s->max_fds += p.max_fds;
		if (p.max_fds > 0 && p.fds / p.max_fds > s->worst)
			s->worst = p.fds / p.max_fds;
	} else
		s->all_fds = 0;
	if (ctx->btime > 0) {
		double start = ctx->btime + (double)p.starttime / ctx->hz;

		if (s->start == 0 || start < s->start)
			s->start = start;
	}
}

static int
group_scan(struct proc_ctx *ctx, struct proc_group *g, struct group_sums *s)
{
	char		 path[4096];
	DIR		*d;
	struct dirent	*de;
	uint64_t	 u;
	int		 pid;

	if (g->by == PROC_BY_PIDFILE) {
		if (group_pidfile(ctx, g, &pid) == -1)
			return -1;
		if (pid != 0)
			group_consider(ctx, g, pid, s);
		return 0;
	}
	if (proc_path(ctx, "proc", path, sizeof(path)) == -1 ||
	    (d = opendir(path)) == NULL)
		return proc_error(ctx, "proc: %s", strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (proc_u64(de->d_name, &u) == -1 || u == 0 ||
		    u > 0x7fffffff)
			continue;
		group_consider(ctx, g, (int)u, s);
	}
	closedir(d);
	return 0;
}

int
proc_group_collect(struct proc_group *g, struct proc_ctx *ctx)
{
	struct group_sums	s;
	int			failed = ctx->failed;

	memset(&s, 0, sizeof(s));
	s.all_fds = 1;
	g->ncur = 0;
	if (group_scan(ctx, g, &s) == -1)
		return -1;
	group_accumulate(g);

#define G_ADD(metric, v) proc_add(ctx, metric, v, "process", g->name, NULL)
	G_ADD("process_count", (double)s.count);
	G_ADD("process_cpu_seconds_total", g->cpu);
	G_ADD("process_resident_memory_bytes", s.rss);
	G_ADD("process_virtual_memory_bytes", s.vsize);
	G_ADD("process_threads", s.threads);
	if (s.all_fds) {
		G_ADD("process_open_fds", s.fds);
		G_ADD("process_max_fds", s.max_fds);
		G_ADD("process_worst_fd_ratio", s.worst);
	}
	if (s.count > 0 && s.start > 0)
		G_ADD("process_start_time_seconds", s.start);
	if (g->io_seen) {
		G_ADD("process_read_bytes_total", g->rbytes);
		G_ADD("process_write_bytes_total", g->wbytes);
	}
#undef G_ADD
	proc_add(ctx, "process_context_switches_total", g->vcsw, "process",
	    g->name, "ctxswitchtype", "voluntary", NULL);
	proc_add(ctx, "process_context_switches_total", g->nvcsw, "process",
	    g->name, "ctxswitchtype", "nonvoluntary", NULL);
	return !failed && ctx->failed ? -1 : 0;
}
