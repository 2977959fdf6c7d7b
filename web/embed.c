/*
 * embed: the build tool that compiles the dashboard's files into the
 * binary.  It reads each file, gzips it with the system's gzip (-9 -n, so
 * the output depends on the content only) and writes a C source holding
 * the compressed bytes, the Content-Type, a strong ETag (a hash of the
 * content) and a table of them all (struct httpd_asset, src/http/static.h).
 *
 *	embed [-C DIR] [-p PREFIX] -o OUT.c FILE...
 *
 * FILEs are paths relative to DIR; without PREFIX (which each must start
 * with) they become the assets' names.  The
 * version of the whole set (a hash of every name and content) replaces
 * every "@ASSETS_VERSION@" in .html files and is written as
 * web_assets_version: pages refer to /static/VERSION/... so a browser may
 * keep those for a year and still never mixes two builds.
 *
 * It runs on the build machine only and needs nothing beyond libc and a
 * gzip program: no zlib for the build machine, no Python, no npm.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VERSION_MARK	"@ASSETS_VERSION@"
#define MAX_FILE	(16 * 1024 * 1024)

struct file {
	const char	*path;
	const char	*name;
	unsigned char	*data;
	size_t		 len;
};

static const struct {
	const char	*ext;
	const char	*ctype;
} ctypes[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".json", "application/json" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".woff2", "font/woff2" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ "LICENSE", "text/plain; charset=utf-8" },
};

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list	ap;

	fputs("embed: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: embed [-C dir] [-p prefix] -o out.c file...\n");
	exit(2);
}

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n != 0 ? n : 1)) == NULL)
		die("out of memory");
	return p;
}

static uint64_t
fnv1a(uint64_t h, const void *p, size_t len)
{
	const unsigned char	*s = p;
	size_t			 i;

	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define FNV_INIT	0xcbf29ce484222325ULL

static const char *
ctype_of(const char *name)
{
	size_t	n = strlen(name), i, e;

	for (i = 0; i < sizeof(ctypes) / sizeof(ctypes[0]); i++) {
		e = strlen(ctypes[i].ext);
		if (n >= e && strcmp(name + n - e, ctypes[i].ext) == 0)
			return ctypes[i].ctype;
	}
	die("%s: no content type known for this file name", name);
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t	n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void
read_all(FILE *f, const char *what, unsigned char **data, size_t *len)
{
	size_t	cap = 65536, n;

	*data = xrealloc(NULL, cap);
	*len = 0;
	while ((n = fread(*data + *len, 1, cap - *len, f)) > 0) {
		*len += n;
		if (*len > MAX_FILE)
			die("%s: larger than %d bytes", what, MAX_FILE);
		if (*len == cap)
			*data = xrealloc(*data, cap *= 2);
	}
	if (ferror(f))
		die("%s: read error: %s", what, strerror(errno));
}

static void
load(struct file *f, const char *dir)
{
	char	 path[4096];
	FILE	*fp;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, f->path) >=
	    sizeof(path))
		die("%s: path too long", f->path);
	if ((fp = fopen(path, "rb")) == NULL)
		die("%s: %s", path, strerror(errno));
	read_all(fp, path, &f->data, &f->len);
	fclose(fp);
}

/* Replace every VERSION_MARK in F with VERSION. */
static void
stamp(struct file *f, const char *version)
{
	size_t		 ml = strlen(VERSION_MARK), vl = strlen(version);
	unsigned char	*out = xrealloc(NULL, f->len * 2 + 1);
	size_t		 i = 0, o = 0;

	if (vl > ml)
		die("version longer than its mark");
	while (i < f->len) {
		if (f->len - i >= ml && memcmp(f->data + i, VERSION_MARK,
		    ml) == 0) {
			memcpy(out + o, version, vl);
			o += vl;
			i += ml;
		} else
			out[o++] = f->data[i++];
	}
	free(f->data);
	f->data = out;
	f->len = o;
}

/*
 * Gzip F's content with the gzip program: the file goes to its stdin
 * through a temporary file (so no pipe can fill up both ways), its stdout
 * comes back through a pipe.
 */
static void
compress(const struct file *f, unsigned char **gz, size_t *gzlen)
{
	char		 tmpl[] = "/tmp/embed.XXXXXX";
	const char	*tmpdir = getenv("TMPDIR");
	char		 path[4096];
	FILE		*fp;
	pid_t		 pid;
	int		 fd, p[2], st;

	if (tmpdir == NULL || *tmpdir == '\0' ||
	    (size_t)snprintf(path, sizeof(path), "%s/embed.XXXXXX", tmpdir) >=
	    sizeof(path))
		snprintf(path, sizeof(path), "%s", tmpl);
	if ((fd = mkstemp(path)) == -1)
		die("mkstemp %s: %s", path, strerror(errno));
	unlink(path);
	if (write(fd, f->data, f->len) != (ssize_t)f->len ||
	    lseek(fd, 0, SEEK_SET) == -1)
		die("%s: %s", path, strerror(errno));
	if (pipe(p) == -1)
		die("pipe: %s", strerror(errno));
	if ((pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(fd, 0);
		dup2(p[1], 1);
		close(fd);
		close(p[0]);
		close(p[1]);
		execlp("gzip", "gzip", "-9", "-n", "-c", (char *)NULL);
		_exit(127);
	}
	close(fd);
	close(p[1]);
	if ((fp = fdopen(p[0], "rb")) == NULL)
		die("fdopen: %s", strerror(errno));
	read_all(fp, "gzip output", gz, gzlen);
	fclose(fp);
	if (waitpid(pid, &st, 0) == -1 || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0 || *gzlen < 18)
		die("%s: gzip failed", f->name);
}

/* Names become C strings and URL paths: keep them plain. */
static void
check_name(const char *name)
{
	const char	*p;

	if (*name == '\0' || *name == '/' || strstr(name, "..") != NULL)
		die("%s: not a relative path inside the directory", name);
	for (p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("._-/", *p) != NULL))
			die("%s: only letters, digits and ._-/ in names", name);
}

int
main(int argc, char **argv)
{
	struct file	*files;
	const char	*dir = ".", *outpath = NULL, *prefix = "";
	char		 version[16], tmp[4200];
	uint64_t	 h = FNV_INIT;
	FILE		*out;
	size_t		 n, i, j;
	int		 c;

	while ((c = getopt(argc, argv, "C:o:p:")) != -1) {
		switch (c) {
		case 'C':
			dir = optarg;
			break;
		case 'p':
			prefix = optarg;
			break;
		case 'o':
			outpath = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (outpath == NULL || argc == 0)
		usage();
	n = (size_t)argc;
	files = xrealloc(NULL, n * sizeof(*files));
	for (i = 0; i < n; i++) {
		files[i].path = argv[i];
		if (strncmp(argv[i], prefix, strlen(prefix)) != 0)
			die("%s: does not start with %s", argv[i], prefix);
		files[i].name = argv[i] + strlen(prefix);
		check_name(files[i].name);
		load(&files[i], dir);
		ctype_of(files[i].name);
		h = fnv1a(h, files[i].name, strlen(files[i].name) + 1);
		h = fnv1a(h, files[i].data, files[i].len);
	}
	snprintf(version, sizeof(version), "%010llx",
	    (unsigned long long)(h >> 24));

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", outpath) >=
	    sizeof(tmp))
		die("%s: path too long", outpath);
	if ((out = fopen(tmp, "w")) == NULL)
		die("%s: %s", tmp, strerror(errno));
	fprintf(out, "/* Generated by web/embed.c from web/: do not edit. */\n"
	    "#include <stddef.h>\n\n"
	    "#include \"http/static.h\"\n"
	    "#include \"web/assets.h\"\n\n"
	    "const char web_assets_version[] = \"%s\";\n", version);
	for (i = 0; i < n; i++) {
		unsigned char	*gz;
		size_t		 gzlen;

		if (ends_with(files[i].name, ".html"))
			stamp(&files[i], version);
		compress(&files[i], &gz, &gzlen);
		fprintf(out, "\n/* %s */\nstatic const unsigned char "
		    "asset_%zu[%zu] = {", files[i].name, i, gzlen);
		for (j = 0; j < gzlen; j++)
			fprintf(out, "%s0x%02x,", j % 12 == 0 ? "\n\t" : " ",
			    gz[j]);
		fprintf(out, "\n};\n");
		free(gz);
	}
	fprintf(out, "\nconst struct httpd_asset web_assets[] = {\n");
	for (i = 0; i < n; i++)
		fprintf(out, "\t{ \"%s\", \"%s\",\n\t  asset_%zu, "
		    "sizeof(asset_%zu), %zu, \"\\\"%016llx\\\"\" },\n",
		    files[i].name, ctype_of(files[i].name), i, i, files[i].len,
		    (unsigned long long)fnv1a(FNV_INIT, files[i].data,
		    files[i].len));
	fprintf(out, "\t{ NULL, NULL, NULL, 0, 0, NULL }\n};\n");
	if (fflush(out) != 0 || ferror(out) || fclose(out) != 0)
		die("%s: write error", tmp);
	if (rename(tmp, outpath) == -1)
		die("rename %s: %s", tmp, strerror(errno));
	return 0;
}
