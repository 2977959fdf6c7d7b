/*
 * fs: filesystem space and inodes, the capacity side of the USE method
 * (a full disk is an outage that a threshold on avail_bytes predicts).
 *
 * Mount points come from proc/mounts ("device mountpoint fstype options
 * 0 0", blanks and odd bytes written as octal escapes: "\040").  Pseudo and
 * network filesystems and the mount points under /dev, /proc, /sys are
 * skipped by default (see proc_impl.h).  A mount listed twice with the same
 * device, mount point and type is reported once.
 *
 * Sizes come from statvfs(3) when the root is "/", else from the fixture
 * file ROOT/statvfs (see proc_impl.h): a fixture tree's mount points do not
 * exist on the machine running the tests.  The block size is f_frsize, the
 * unit POSIX gives f_blocks in.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "buf.h"
#include "proc_impl.h"
#include "xmalloc.h"

struct fs_mount {
	size_t		 dev_off, mp_off, type_off;	/* into the strings */
	const char	*dev, *mp, *type;	/* once the strings stop moving */
	int		 ro;
};

struct fs_size {
	size_t	mp;
	double	frsize, blocks, bfree, bavail, files, ffree;
};

struct fs_list {
	struct buf	 s;	/* NUL-separated strings */
	struct fs_mount	*m;
	size_t		 nm, capm;
	struct fs_size	*z;
	size_t		 nz, capz;
};

void
proc_unescape(char *s)
{
	char *out = s;

	for (; *s != '\0'; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			char c = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
			    (s[3] - '0'));

			/* A NUL would cut the name short: keep it escaped. */
			if (c != '\0') {
				*out++ = c;
				s += 3;
				continue;
			}
		}
		*out++ = *s;
	}
	*out = '\0';
}

static size_t
fs_str(struct fs_list *l, const char *s)
{
	size_t off = l->s.len;

	buf_add(&l->s, s, strlen(s) + 1);
	return off;
}

#define FS_S(l, off)	((l)->s.data + (off))

static int
fs_mount_cmp(const void *a, const void *b)
{
	const struct fs_mount	*x = a, *y = b;
	int			 c;

	if ((c = strcmp(x->mp, y->mp)) != 0)
		return c;
	if ((c = strcmp(x->dev, y->dev)) != 0)
		return c;
	return strcmp(x->type, y->type);
}

static int
fs_has_ro(const char *opts)
{
	const char *p = opts;

	while (p != NULL && *p != '\0') {
		if (p[0] == 'r' && p[1] == 'o' && (p[2] == ',' || p[2] == '\0'))
			return 1;
		if ((p = strchr(p, ',')) != NULL)
			p++;
	}
	return 0;
}

static int
fs_parse_mounts(struct proc_ctx *ctx, struct fs_list *l,
    const pcre2_code *mp_exclude, const pcre2_code *type_exclude)
{
	char	*line, *f[6];
	size_t	 len, n;
	int	 r, rc = 0;

	while ((r = lines_next(&ctx->lr, &line, &len)) == 1) {
		n = proc_fields(line, f, 6);
		if (n == 0)
			continue;
		if (n < 4) {
			rc = proc_error(ctx, "%s:%d: expected at least 4 fields, "
			    "got %zu", ctx->lr.name, ctx->lr.lineno, n);
			continue;
		}
		proc_unescape(f[0]);
		proc_unescape(f[1]);
		if (proc_match(ctx, mp_exclude, f[1], strlen(f[1])) ||
		    proc_match(ctx, type_exclude, f[2], strlen(f[2])))
			continue;
		if (l->nm == l->capm) {
			l->capm = l->capm ? l->capm * 2 : 32;
			l->m = xreallocarray(l->m, l->capm, sizeof(*l->m));
		}
		l->m[l->nm].dev_off = fs_str(l, f[0]);
		l->m[l->nm].mp_off = fs_str(l, f[1]);
		l->m[l->nm].type_off = fs_str(l, f[2]);
		l->m[l->nm].ro = fs_has_ro(f[3]);
		l->nm++;
	}
	if (r == -1)
		rc = proc_read_failed(ctx, PROC_OPTIONAL);
	return rc;
}

/* The fixture stand-in for statvfs(3); see proc_impl.h. */
static int
fs_parse_sizes(struct proc_ctx *ctx, struct fs_list *l)
{
	char		*line, *f[8];
	double		 v[6];
	size_t		 len, n, i;
	uint64_t	 u;
	int		 r, rc = 0, bad;

	while ((r = lines_next(&ctx->lr, &line, &len)) == 1) {
		n = proc_fields(line, f, 8);
		if (n == 0 || f[0][0] == '#')
			continue;
		if (n != 7) {
			rc = proc_error(ctx, "%s:%d: expected 7 fields, got %zu",
			    ctx->lr.name, ctx->lr.lineno, n);
			continue;
		}
		for (i = 1, bad = 0; i < 7; i++) {
			if (proc_u64(f[i], &u) == -1) {
				rc = proc_error(ctx, "%s:%d: bad value \"%s\"",
				    ctx->lr.name, ctx->lr.lineno, f[i]);
				bad = 1;
				break;
			}
			v[i - 1] = (double)u;
		}
		if (bad)
			continue;
		proc_unescape(f[0]);
		if (l->nz == l->capz) {
			l->capz = l->capz ? l->capz * 2 : 32;
			l->z = xreallocarray(l->z, l->capz, sizeof(*l->z));
		}
		l->z[l->nz].mp = fs_str(l, f[0]);
		l->z[l->nz].frsize = v[0];
		l->z[l->nz].blocks = v[1];
		l->z[l->nz].bfree = v[2];
		l->z[l->nz].bavail = v[3];
		l->z[l->nz].files = v[4];
		l->z[l->nz].ffree = v[5];
		l->nz++;
	}
	if (r == -1)
		rc = proc_read_failed(ctx, PROC_REQUIRED);
	return rc;
}

static int
fs_size_of(struct proc_ctx *ctx, const struct fs_list *l, const char *mp,
    struct fs_size *out)
{
	struct statvfs	sv;
	size_t		i;

	if (strcmp(ctx->root, "/") == 0) {
		if (statvfs(mp, &sv) == -1)
			return -1;
		out->frsize = (double)(sv.f_frsize ? sv.f_frsize : sv.f_bsize);
		out->blocks = (double)sv.f_blocks;
		out->bfree = (double)sv.f_bfree;
		out->bavail = (double)sv.f_bavail;
		out->files = (double)sv.f_files;
		out->ffree = (double)sv.f_ffree;
		return 0;
	}
	for (i = 0; i < l->nz; i++)
		if (strcmp(FS_S(l, l->z[i].mp), mp) == 0) {
			*out = l->z[i];
			return 0;
		}
	return -1;
}

static void
fs_emit(struct proc_ctx *ctx, const struct fs_list *l)
{
	const struct fs_mount	*m, *prev = NULL;
	struct fs_size		 z;
	size_t			 i;

	for (i = 0; i < l->nm; prev = m, i++) {
		m = &l->m[i];
		if (prev != NULL && fs_mount_cmp(prev, m) == 0)
			continue;
#define FS_ADD(metric, v) proc_add(ctx, metric, v, "device", m->dev, \
	    "fstype", m->type, "mountpoint", m->mp, NULL)
		if (fs_size_of(ctx, l, m->mp, &z) == -1) {
			FS_ADD("node_filesystem_device_error", 1);
			FS_ADD("node_filesystem_readonly", m->ro);
			continue;
		}
		FS_ADD("node_filesystem_device_error", 0);
		FS_ADD("node_filesystem_readonly", m->ro);
		FS_ADD("node_filesystem_size_bytes", z.blocks * z.frsize);
		FS_ADD("node_filesystem_free_bytes", z.bfree * z.frsize);
		FS_ADD("node_filesystem_avail_bytes", z.bavail * z.frsize);
		FS_ADD("node_filesystem_files", z.files);
		FS_ADD("node_filesystem_files_free", z.ffree);
#undef FS_ADD
	}
}

int
proc_fs_parse(struct proc_ctx *ctx, const pcre2_code *mp_exclude,
    const pcre2_code *type_exclude)
{
	struct fs_list	l;
	size_t		i;
	int		r, rc;

	memset(&l, 0, sizeof(l));
	rc = fs_parse_mounts(ctx, &l, mp_exclude, type_exclude);
	lines_close(&ctx->lr);
	if (strcmp(ctx->root, "/") != 0) {
		/* Without the fixture file, no sizes can be known at all. */
		if ((r = proc_open(ctx, "statvfs", PROC_OPTIONAL,
		    PROC_FILE_MAX)) <= 0) {
			if (r == -1)
				rc = -1;
			l.nm = 0;
		} else {
			if (fs_parse_sizes(ctx, &l) == -1)
				rc = -1;
			lines_close(&ctx->lr);
		}
	}
	for (i = 0; i < l.nm; i++) {
		l.m[i].dev = FS_S(&l, l.m[i].dev_off);
		l.m[i].mp = FS_S(&l, l.m[i].mp_off);
		l.m[i].type = FS_S(&l, l.m[i].type_off);
	}
	if (l.nm > 0)
		qsort(l.m, l.nm, sizeof(*l.m), fs_mount_cmp);
	fs_emit(ctx, &l);
	buf_free(&l.s);
	free(l.m);
	free(l.z);
	return rc;
}

int
proc_fs_read(struct proc_ctx *ctx, const pcre2_code *mp_exclude,
    const pcre2_code *type_exclude)
{
	int r;

	if ((r = proc_open(ctx, "proc/mounts", PROC_OPTIONAL,
	    PROC_FILE_MAX)) <= 0)
		return r;
	return proc_fs_parse(ctx, mp_exclude, type_exclude);
}
