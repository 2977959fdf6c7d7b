/*
 * proc_impl: the inside of the /proc collector, shared by its files and by
 * its tests, benchmark and fuzz target (nothing else may include it).
 *
 * Layering:
 *	lines.c		a bounded line reader over a file or a memory buffer,
 *			and struct proc_ctx, the state of one collection
 *	stat.c		/proc/stat, /proc/loadavg, /proc/sys/fs/file-nr
 *	meminfo.c	/proc/meminfo
 *	pressure.c	/proc/pressure/{cpu,memory,io}
 *	disk.c		/proc/diskstats
 *	netdev.c	/proc/net/dev
 *	fs.c		/proc/mounts and statvfs(3)
 *	tcp.c		/proc/net/tcp and tcp6, or sock_diag netlink
 *	pid.c		/proc/[pid]/... and process groups
 *	collect.c	a target: options, state kept between runs, one run
 *	metrics.c	the catalogue (struct metric_def table)
 *	proc.c		the collector kind: config keys and callbacks
 *
 * Every parser reads files below ctx->root ("/" on a real host, a fixture
 * tree in tests), adds samples to ctx->batch stamped ctx->t, and reports a
 * malformed line through proc_error(), which keeps the first message of the
 * run.  A malformed line adds no sample; the parser goes on with the next
 * line, so one bad field does not blank the whole host.  Parsers return 0,
 * or -1 when they recorded an error.  An optional file that cannot be read
 * (ENOENT, EACCES, EOPNOTSUPP: no PSI, no diskstats) is skipped silently.
 *
 * Error messages start with the file's path relative to the root and, for
 * content errors, its line number: "proc/stat:5: cpu3: expected at least 4
 * values, got 2".
 *
 * Nothing here blocks for long except statvfs(3) on a network filesystem,
 * which is why those are excluded by default (PROC_FS_TYPES_EXCLUDE).
 * Single-threaded: a ctx and a target belong to one thread at a time.
 */
#ifndef MONITORD_PROC_IMPL_H
#define MONITORD_PROC_IMPL_H

#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "metric.h"
#include "sample.h"

/* Bounds on what one file may make us read. */
#define PROC_FILE_MAX		(4u * 1024 * 1024)
/* /proc/net/tcp grows by ~150 bytes a socket: 64 MiB is ~450k sockets. */
#define PROC_TCP_MAX		(64u * 1024 * 1024)

/* node_exporter's default exclusions (diskstats, filesystem collectors). */
#define PROC_DISK_EXCLUDE \
	"^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p)\\d+$"
#define PROC_FS_EXCLUDE \
	"^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|" \
	"var/lib/containers/storage/.+)($|/)"
/*
 * node_exporter's pseudo filesystems, plus network filesystems: statvfs(3)
 * on a hard NFS mount whose server is gone never returns, and monitord
 * collects on its event loop.
 */
#define PROC_FS_TYPES_EXCLUDE \
	"^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|" \
	"fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|" \
	"rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs|" \
	"nfs4?|cifs|smb3|smbfs|ceph|glusterfs|fuse\\.sshfs|afs|lustre)$"

/*
 * A line reader.  Its buffer lives across files (a collection reads dozens)
 * and grows to the longest line seen, never past the file's limit.  A line
 * handed out is NUL-terminated without its newline and stays valid until
 * the next call.
 */
struct lines {
	char		*buf;
	size_t		 cap;
	int		 fd;		/* -1: memory input or closed */
	size_t		 start, end;	/* unread bytes are buf[start, end) */
	size_t		 total;		/* bytes taken from the file */
	size_t		 limit;
	int		 eof;
	int		 lineno;	/* of the last line handed out */
	int		 error;		/* errno of the failure, EFBIG: limit */
	char		 name[256];	/* path relative to the root */
};

void	lines_init(struct lines *);
void	lines_free(struct lines *);
/* 0, or -1 with errno set; NAME is the path to show in messages. */
int	lines_open(struct lines *, const char *path, const char *name,
	    size_t limit);
/* Read DATA as if it were the file NAME (tests, fuzzing). */
void	lines_open_mem(struct lines *, const char *name, const void *data,
	    size_t len, size_t limit);
/* 1 and a line, 0 at the end, -1 on a read error (lr->error). */
int	lines_next(struct lines *, char **line, size_t *len);
void	lines_close(struct lines *);

/* The state of one collection; lives in the target between runs. */
struct proc_ctx {
	char			*root;
	struct lines		 lr;
	pcre2_match_data	*md;
	double			 hz;		/* USER_HZ: jiffies a second */
	double			 pagesize;
	/* per run */
	struct batch		*batch;
	int64_t			 t;
	double			 btime;		/* from proc/stat, 0: unknown */
	int			 failed;
	char			 err[512];	/* first error of the run */
};

void	proc_ctx_init(struct proc_ctx *, const char *root);
void	proc_ctx_free(struct proc_ctx *);
void	proc_ctx_begin(struct proc_ctx *, struct batch *, int64_t t);
int	proc_error(struct proc_ctx *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* PATH below the root into OUT; -1 when it does not fit. */
int	proc_path(const struct proc_ctx *, const char *rel, char *out,
	    size_t outlen);
#define PROC_OPTIONAL	0
#define PROC_REQUIRED	1
/*
 * Open REL below the root in ctx->lr: 1 opened, 0 skipped (an optional
 * file that does not exist or may not be read), -1 error recorded.
 */
int	proc_open(struct proc_ctx *, const char *rel, int required,
	    size_t limit);
/* Record a read error of ctx->lr unless it is a skippable one; 0 or -1. */
int	proc_read_failed(struct proc_ctx *, int required);
/* 1 when RE (may be NULL) matches S. */
int	proc_match(struct proc_ctx *, const pcre2_code *re, const char *s,
	    size_t len);
/* Split LINE in place at blanks; up to MAX fields, returns how many. */
size_t	proc_fields(char *line, char **f, size_t max);
/* A decimal unsigned integer, the whole string; 0 or -1. */
int	proc_u64(const char *, uint64_t *);
/* A hexadecimal unsigned integer, the whole string; 0 or -1. */
int	proc_hex(const char *, uint64_t *);
/* A finite decimal number, the whole string; 0 or -1. */
int	proc_double(const char *, double *);
/* batch_addl that records a failure (an invalid name) as an error. */
void	proc_add(struct proc_ctx *, const char *name, double v, ...)
	    __attribute__((sentinel));

/* Host metrics.  The *_parse functions read the already opened ctx->lr. */
int	proc_stat_read(struct proc_ctx *, int emit);
int	proc_stat_parse(struct proc_ctx *, int emit);
int	proc_loadavg_read(struct proc_ctx *);
int	proc_loadavg_parse(struct proc_ctx *);
int	proc_filenr_read(struct proc_ctx *);
int	proc_filenr_parse(struct proc_ctx *);
int	proc_meminfo_read(struct proc_ctx *);
int	proc_meminfo_parse(struct proc_ctx *);
int	proc_pressure_read(struct proc_ctx *);
/* RESOURCE: "cpu", "memory" or "io". */
int	proc_pressure_parse(struct proc_ctx *, const char *resource);
int	proc_diskstats_read(struct proc_ctx *, const pcre2_code *exclude);
int	proc_diskstats_parse(struct proc_ctx *, const pcre2_code *exclude);
int	proc_netdev_read(struct proc_ctx *);
int	proc_netdev_parse(struct proc_ctx *);

/*
 * Filesystems: mount points from proc/mounts, sizes from statvfs(3) when
 * the root is "/", else from the fixture file ROOT/statvfs, whose lines
 * are "MOUNTPOINT FRSIZE BLOCKS BFREE BAVAIL FILES FFREE"; without that
 * file a fixture root gets no filesystem metrics at all.  A mount point
 * that statvfs fails on (or that the fixture lacks) gets
 * node_filesystem_device_error 1 and no sizes, as node_exporter does.
 */
int	proc_fs_read(struct proc_ctx *, const pcre2_code *mp_exclude,
	    const pcre2_code *type_exclude);
int	proc_fs_parse(struct proc_ctx *, const pcre2_code *mp_exclude,
	    const pcre2_code *type_exclude);
/* Undo the octal escapes (\040) of a mounts field, in place. */
void	proc_unescape(char *);

/*
 * TCP sessions: established connections counted by local port, for the
 * listening ports (PORTS NULL) or for the N given ports.  The counting
 * table is the caller's (65536 entries) so a run allocates nothing.
 */
struct proc_tcp {
	uint32_t	*established;	/* by local port */
	uint8_t		*listening;	/* by port, 0/1 */
};
void	proc_tcp_init(struct proc_tcp *);
void	proc_tcp_free(struct proc_tcp *);
/* sock_diag netlink on a real root, else (or failing that) the files. */
int	proc_tcp_read(struct proc_ctx *, struct proc_tcp *,
	    const uint16_t *ports, size_t n);
int	proc_tcp_read_files(struct proc_ctx *, struct proc_tcp *,
	    const uint16_t *ports, size_t n);
/* -1 when netlink cannot be used; adds nothing then. */
int	proc_tcp_read_diag(struct proc_ctx *, struct proc_tcp *,
	    const uint16_t *ports, size_t n);
/* One of the two files; call proc_tcp_emit after both. */
int	proc_tcp_parse(struct proc_ctx *, struct proc_tcp *);
void	proc_tcp_emit(struct proc_ctx *, struct proc_tcp *,
	    const uint16_t *ports, size_t n);
/* "8080, 5432 9100" -> sorted unique ports; 0, or -1 with a message. */
int	proc_ports_parse(const char *, uint16_t **ports, size_t *n,
	    char *err, size_t errlen);

/* One process, as read from proc/[pid]/... */
struct proc_pid {
	int		 pid;
	char		 comm[64];
	uint64_t	 starttime;	/* jiffies after boot */
	double		 cpu;		/* utime + stime, seconds */
	double		 vsize, rss;	/* bytes */
	double		 threads;
	double		 vcsw, nvcsw;	/* context switches */
	int		 has_io;
	double		 rbytes, wbytes;
	int		 has_fds;
	double		 fds, max_fds;
};

/*
 * Parse one proc/[pid]/stat line.  The command name may hold blanks and
 * parentheses: it runs from the first '(' to the LAST ')'.  0, or -1 with
 * a message (without the file name) in ERR.
 */
int	proc_pidstat_parse(char *line, struct proc_pid *, double hz,
	    double pagesize, char *err, size_t errlen);

enum proc_match_by {
	PROC_BY_COMM,		/* the command name (proc/[pid]/stat) */
	PROC_BY_CMDLINE,	/* a regex over the NUL->space cmdline */
	PROC_BY_PIDFILE,	/* the pid written in a file */
};

/*
 * A process group: the processes that match, summed.  Counters are kept
 * monotonic across runs: each run adds what every process still present
 * did since the last run (and all of a new process's count), so a process
 * that exits does not make the group's counter go down.
 */
struct proc_group;

struct proc_group *proc_group_new(const char *name, enum proc_match_by,
		    const char *what, const pcre2_code *re);
void		 proc_group_free(struct proc_group *);
/* Needs ctx->btime (proc_stat_read) for process_start_time_seconds. */
int		 proc_group_collect(struct proc_group *, struct proc_ctx *);

/* A whole target. */
struct proc_opts {
	const char	*name;		/* the process label of a group */
	const char	*root;		/* NULL: "/" */
	int		 host;		/* host metrics */
	const char	*process;	/* at most one of these three */
	const char	*cmdline;
	const char	*pidfile;
	const char	*ports;		/* NULL: every listening port (host) */
	const char	*disk_exclude;	/* NULL: exclude nothing */
	const char	*fs_exclude;
	const char	*fs_types_exclude;
};

struct proc_target;

/* The cross-key rules; -1 with the offending key in *KEY and a message. */
int		 proc_opts_check(const struct proc_opts *, const char **key,
		    char *err, size_t errlen);
struct proc_target *proc_target_new(const struct proc_opts *, char *err,
		    size_t errlen);
void		 proc_target_free(struct proc_target *);
/* The host name: ROOT/proc/sys/kernel/hostname, else gethostname(3) on
 * a real root, else "localhost". */
const char	*proc_target_instance(const struct proc_target *);
/* For tests: USER_HZ and the page size are the host's unless set. */
void		 proc_target_set_units(struct proc_target *, double hz,
		    double pagesize);
/* One collection into B; 0, or -1 with the run's first error in ERR. */
int		 proc_target_collect(struct proc_target *, struct batch *,
		    int64_t t, char *err, size_t errlen);

extern const struct metric_def proc_metrics[];
const struct metric_def *proc_metric_find(const char *name);

#endif
