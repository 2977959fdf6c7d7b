/*
 * fuzz_proc: the /proc collector's parsers on arbitrary file contents.
 * The first byte picks the parser, the rest is the file.  Every parser
 * must answer with samples or an error, never a crash or an over-read.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/proc/proc_impl.h"
#include "sample.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct proc_ctx	 ctx;
static struct batch	*b;
static struct proc_tcp	 tcp;
static pcre2_code	*disk_re;

static void
setup(void)
{
	int		code;
	PCRE2_SIZE	off;

	/* No such root: fs parsing finds no statvfs file, nothing real. */
	proc_ctx_init(&ctx, "/nonexistent/fuzz-root");
	b = batch_new();
	proc_tcp_init(&tcp);
	disk_re = pcre2_compile((PCRE2_SPTR)PROC_DISK_EXCLUDE,
	    PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);
	if (disk_re == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proc_pid	 p;
	const char	*in;
	char		*s, err[256];
	uint16_t	*ports;
	size_t		 n;

	if (b == NULL)
		setup();
	if (size < 1)
		return 0;
	batch_reset(b);
	proc_ctx_begin(&ctx, b, 0);
	in = (const char *)data + 1;
	n = size - 1;
	lines_open_mem(&ctx.lr, "fuzz", in, n, PROC_FILE_MAX);
	switch (data[0] % 12) {
	case 0:
		proc_stat_parse(&ctx, 1);
		break;
	case 1:
		proc_meminfo_parse(&ctx);
		break;
	case 2:
		proc_loadavg_parse(&ctx);
		break;
	case 3:
		proc_filenr_parse(&ctx);
		break;
	case 4:
		proc_pressure_parse(&ctx, "memory");
		break;
	case 5:
		proc_diskstats_parse(&ctx, disk_re);
		break;
	case 6:
		proc_netdev_parse(&ctx);
		break;
	case 7:
		proc_fs_parse(&ctx, NULL, NULL);
		break;
	case 8:
		memset(tcp.listening, 0, 65536);
		memset(tcp.established, 0, 65536 * sizeof(*tcp.established));
		proc_tcp_parse(&ctx, &tcp);
		proc_tcp_emit(&ctx, &tcp, NULL, 0);
		break;
	case 9:
		s = xstrndup(in, n);
		proc_pidstat_parse(s, &p, 100, 4096, err, sizeof(err));
		free(s);
		break;
	case 10:
		s = xstrndup(in, n);
		if (proc_ports_parse(s, &ports, &n, err, sizeof(err)) == 0)
			free(ports);
		free(s);
		break;
	case 11:
		s = xstrndup(in, n);
		proc_unescape(s);
		free(s);
		break;
	}
	lines_close(&ctx.lr);
	return 0;
}
