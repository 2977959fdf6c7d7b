/*
 * lines: the /proc collector's bounded line reader and the helpers every
 * parser shares (paths under the root, first-error bookkeeping, strict
 * number parsing).
 *
 * Files under /proc report a size of 0 and are generated as they are read,
 * so they are read with read(2) until it returns 0, never by stat size.
 * A line may be very long (the intr line of /proc/stat on a machine with
 * thousands of interrupts); the buffer grows to hold it, but never beyond
 * the file's limit, past which the read fails with EFBIG.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc_impl.h"
#include "xmalloc.h"

#define LINES_INITIAL	(64 * 1024)

void
lines_init(struct lines *lr)
{
	memset(lr, 0, sizeof(*lr));
	lr->fd = -1;
}

void
lines_free(struct lines *lr)
{
	lines_close(lr);
	free(lr->buf);
	lr->buf = NULL;
	lr->cap = 0;
}

static void
lines_reset(struct lines *lr, const char *name, size_t limit)
{
	lr->start = lr->end = lr->total = 0;
	lr->limit = limit;
	lr->eof = 0;
	lr->lineno = 0;
	lr->error = 0;
	snprintf(lr->name, sizeof(lr->name), "%s", name);
	if (lr->buf == NULL) {
		lr->cap = LINES_INITIAL;
		lr->buf = xmalloc(lr->cap);
	}
}

int
lines_open(struct lines *lr, const char *path, const char *name,
    size_t limit)
{
	int fd;

	lines_close(lr);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	lines_reset(lr, name, limit);
	lr->fd = fd;
	return 0;
}

void
lines_open_mem(struct lines *lr, const char *name, const void *data,
    size_t len, size_t limit)
{
	lines_close(lr);
	lines_reset(lr, name, limit);
	if (len > limit) {
		len = limit;
		lr->error = EFBIG;
	}
	if (lr->cap < len + 1) {
		lr->cap = len + 1;
		lr->buf = xreallocarray(lr->buf, 1, lr->cap);
	}
	if (len > 0)
		memcpy(lr->buf, data, len);
	lr->end = lr->total = len;
	lr->eof = 1;
}

void
lines_close(struct lines *lr)
{
	if (lr->fd != -1) {
		close(lr->fd);
		lr->fd = -1;
	}
}

/* Make room after lr->end: move the unread bytes down, then grow. */
static int
lines_room(struct lines *lr)
{
	size_t unread = lr->end - lr->start, want;

	if (lr->start > 0) {
		memmove(lr->buf, lr->buf + lr->start, unread);
		lr->start = 0;
		lr->end = unread;
	}
	if (lr->cap - lr->end > 1)
		return 0;
	/* The whole buffer is one partial line. */
	if (lr->cap > lr->limit) {
		lr->error = EFBIG;
		return -1;
	}
	want = lr->cap * 2;
	if (want > lr->limit + 1)
		want = lr->limit + 1;
	lr->buf = xreallocarray(lr->buf, 1, want);
	lr->cap = want;
	return 0;
}

int
lines_next(struct lines *lr, char **line, size_t *len)
{
	char	*nl;
	ssize_t	 n;

	for (;;) {
		if (lr->error != 0)
			return -1;
		nl = memchr(lr->buf + lr->start, '\n', lr->end - lr->start);
		if (nl != NULL) {
			*nl = '\0';
			*line = lr->buf + lr->start;
			*len = (size_t)(nl - *line);
			lr->start += *len + 1;
			lr->lineno++;
			return 1;
		}
		if (lr->eof || lr->fd == -1) {
			if (lr->start == lr->end)
				return 0;
			/* A last line without a newline; end < cap always. */
			lr->buf[lr->end] = '\0';
			*line = lr->buf + lr->start;
			*len = lr->end - lr->start;
			lr->start = lr->end;
			lr->lineno++;
			return 1;
		}
		if (lines_room(lr) == -1)
			return -1;
		n = read(lr->fd, lr->buf + lr->end, lr->cap - lr->end - 1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			lr->error = errno;
			return -1;
		}
		if (n == 0) {
			lr->eof = 1;
			continue;
		}
		lr->total += (size_t)n;
		if (lr->total > lr->limit) {
			lr->error = EFBIG;
			return -1;
		}
		lr->end += (size_t)n;
	}
}

void
proc_ctx_init(struct proc_ctx *ctx, const char *root)
{
	long v;

	memset(ctx, 0, sizeof(*ctx));
	ctx->root = xstrdup(root == NULL || *root == '\0' ? "/" : root);
	lines_init(&ctx->lr);
	ctx->md = pcre2_match_data_create(1, NULL);
	if (ctx->md == NULL) {
		fprintf(stderr, "monitord: out of memory (pcre2)\n");
		abort();
	}
	v = sysconf(_SC_CLK_TCK);
	ctx->hz = v > 0 ? (double)v : 100;
	v = sysconf(_SC_PAGESIZE);
	ctx->pagesize = v > 0 ? (double)v : 4096;
}

void
proc_ctx_free(struct proc_ctx *ctx)
{
	lines_free(&ctx->lr);
	pcre2_match_data_free(ctx->md);
	free(ctx->root);
	ctx->root = NULL;
	ctx->md = NULL;
}

void
proc_ctx_begin(struct proc_ctx *ctx, struct batch *b, int64_t t)
{
	ctx->batch = b;
	ctx->t = t;
	ctx->btime = 0;
	ctx->failed = 0;
	ctx->err[0] = '\0';
}

int
proc_error(struct proc_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (!ctx->failed) {
		va_start(ap, fmt);
		vsnprintf(ctx->err, sizeof(ctx->err), fmt, ap);
		va_end(ap);
		ctx->failed = 1;
	}
	return -1;
}

int
proc_path(const struct proc_ctx *ctx, const char *rel, char *out,
    size_t outlen)
{
	size_t	rl = strlen(ctx->root);
	int	n;

	while (*rel == '/')
		rel++;
	if (rl > 0 && ctx->root[rl - 1] == '/')
		n = snprintf(out, outlen, "%s%s", ctx->root, rel);
	else
		n = snprintf(out, outlen, "%s/%s", ctx->root, rel);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* Errors that mean "this kernel or this user has no such file". */
static int
proc_skippable(int e)
{
	return e == ENOENT || e == EACCES || e == EPERM || e == ENOTDIR ||
	    e == EOPNOTSUPP || e == ENOTSUP;
}

int
proc_open(struct proc_ctx *ctx, const char *rel, int required, size_t limit)
{
	char path[4096];

	if (proc_path(ctx, rel, path, sizeof(path)) == -1)
		return proc_error(ctx, "%s: path too long", rel);
	if (lines_open(&ctx->lr, path, rel, limit) == 0)
		return 1;
	if (!required && proc_skippable(errno))
		return 0;
	return proc_error(ctx, "%s: %s", rel, strerror(errno));
}

int
proc_read_failed(struct proc_ctx *ctx, int required)
{
	struct lines *lr = &ctx->lr;

	if (lr->error == EFBIG)
		return proc_error(ctx, "%s: larger than %zu bytes", lr->name,
		    lr->limit);
	if (!required && proc_skippable(lr->error))
		return 0;
	return proc_error(ctx, "%s: %s", lr->name, strerror(lr->error));
}

int
proc_match(struct proc_ctx *ctx, const pcre2_code *re, const char *s,
    size_t len)
{
	if (re == NULL)
		return 0;
	return pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, ctx->md, NULL) >= 0;
}

size_t
proc_fields(char *line, char **f, size_t max)
{
	size_t	 n = 0;
	char	*p = line;

	while (n < max) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		f[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		if (*p == '\0')
			break;
		*p++ = '\0';
	}
	return n;
}

int
proc_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int
proc_hex(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (*s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return -1;
		if (v > UINT64_MAX >> 4)
			return -1;
		v = v << 4 | d;
	}
	*out = v;
	return 0;
}

int
proc_double(const char *s, double *out)
{
	const char	*p;
	char		*end;
	double		 v;

	/* Only plain decimals: strtod would also take "nan", "inf", hex. */
	if (*s == '\0')
		return -1;
	for (p = s; *p != '\0'; p++)
		if (!((*p >= '0' && *p <= '9') || *p == '.' || *p == '-' ||
		    *p == '+' || *p == 'e' || *p == 'E'))
			return -1;
	errno = 0;
	v = strtod(s, &end);
	if (*end != '\0' || errno == ERANGE || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

void
proc_add(struct proc_ctx *ctx, const char *name, double v, ...)
{
	struct label	 l[8];
	size_t		 n = 0;
	const char	*k;
	va_list		 ap;

	va_start(ap, v);
	while ((k = va_arg(ap, const char *)) != NULL && n < 8) {
		l[n].name = k;
		l[n].value = va_arg(ap, const char *);
		n++;
	}
	va_end(ap);
	if (batch_add(ctx->batch, name, l, n, ctx->t, v) == -1)
		proc_error(ctx, "%s: %s: not a valid metric name", ctx->lr.name,
		    name);
}
