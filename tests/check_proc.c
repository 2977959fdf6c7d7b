/*
 * Unit tests of the /proc collector: every parser against the fixture
 * trees in tests/data/proc/ (host1: a trimmed copy of a real machine; odd:
 * 256 CPUs, no PSI, strange process names; bad: malformed lines with their
 * exact errors), process groups and their monotonic counters, the TCP
 * session count by both methods on this machine, and the agreement of the
 * metric catalogue with monitord-metrics(7).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tcheck.h"
#include "buf.h"
#include "proc/proc_impl.h"
#include "sample.h"

#ifndef PROC_TEST_SRCDIR
#define PROC_TEST_SRCDIR "."
#endif

static const char *
srcdir(void)
{
	const char *s = getenv("MONITORD_SRCDIR");

	return s != NULL && *s != '\0' ? s : PROC_TEST_SRCDIR;
}

static char *
fixture(const char *tree)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/tests/data/proc/%s", srcdir(), tree);
	return path;
}

/* A ctx on a fixture tree, with USER_HZ 100 and 4 KiB pages. */
static void
ctx_on(struct proc_ctx *ctx, const char *tree, struct batch *b)
{
	proc_ctx_init(ctx, fixture(tree));
	ctx->hz = 100;
	ctx->pagesize = 4096;
	proc_ctx_begin(ctx, b, 0);
}

/*
 * The sample of NAME whose labels are exactly the NULL-terminated pairs
 * given (no more, no fewer), or NULL.
 */
static const struct sample *
find(const struct batch *b, const char *name, ...)
{
	struct label	 want[8];
	size_t		 n = 0, i, j;
	const char	*k;
	va_list		 ap;

	va_start(ap, name);
	while ((k = va_arg(ap, const char *)) != NULL && n < 8) {
		want[n].name = k;
		want[n].value = va_arg(ap, const char *);
		n++;
	}
	va_end(ap);
	for (i = 0; i < batch_len(b); i++) {
		const struct sample *s = batch_at(b, i);

		if (strcmp(s->labels[0].value, name) != 0 ||
		    s->nlabels != n + 1)
			continue;
		for (j = 0; j < n; j++) {
			const char *v = labels_get(s->labels, s->nlabels,
			    want[j].name);

			if (v == NULL || strcmp(v, want[j].value) != 0)
				break;
		}
		if (j == n)
			return s;
	}
	return NULL;
}

#define VAL(b, ...) val_of(find(b, __VA_ARGS__, NULL), #__VA_ARGS__)

static double
val_of(const struct sample *s, const char *what)
{
	ck_assert_msg(s != NULL, "no sample %s", what);
	return s->v;
}

static size_t
count(const struct batch *b, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < batch_len(b); i++)
		if (strcmp(batch_at(b, i)->labels[0].value, name) == 0)
			n++;
	return n;
}

static pcre2_code *
re(const char *src)
{
	int		code;
	PCRE2_SIZE	off;
	pcre2_code	*r = pcre2_compile((PCRE2_SPTR)src,
	    PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);

	ck_assert_ptr_nonnull(r);
	return r;
}

START_TEST(test_stat_host1)
{
	struct batch	*b = batch_new();
	struct proc_ctx	 ctx;

	ctx_on(&ctx, "host1", b);
	ck_assert_int_eq(proc_stat_read(&ctx, 1), 0);
	ck_assert_str_eq(ctx.err, "");
	ck_assert_double_eq(VAL(b, "node_cpu_seconds_total", "cpu", "3",
	    "mode", "iowait"), 12.34);
	ck_assert_double_eq(VAL(b, "node_cpu_seconds_total", "cpu", "3",
	    "mode", "user"), 20);
	ck_assert_double_eq(VAL(b, "node_cpu_seconds_total", "cpu", "3",
	    "mode", "steal"), 0.11);
	ck_assert_double_eq(VAL(b, "node_cpu_seconds_total", "cpu", "0",
	    "mode", "nice"), 0.12);
	ck_assert_double_eq(VAL(b, "node_cpu_guest_seconds_total", "cpu", "3",
	    "mode", "user"), 1.5);
	ck_assert_double_eq(VAL(b, "node_cpu_guest_seconds_total", "cpu", "3",
	    "mode", "nice"), 0.03);
	/* Per CPU only: the "cpu" total line is not reported. */
	ck_assert_uint_eq(count(b, "node_cpu_seconds_total"), 4 * 8);
	ck_assert_uint_eq(count(b, "node_cpu_guest_seconds_total"), 4 * 2);
	ck_assert_double_eq(VAL(b, "node_context_switches_total"), 626633);
	ck_assert_double_eq(VAL(b, "node_boot_time_seconds"), 1795622928);
	ck_assert_double_eq(VAL(b, "node_forks_total"), 24047);
	ck_assert_double_eq(VAL(b, "node_procs_running"), 3);
	ck_assert_double_eq(VAL(b, "node_procs_blocked"), 1);
	ck_assert_double_eq(VAL(b, "node_intr_total"), 302074);
	ck_assert_uint_eq(batch_len(b), 32 + 8 + 6);
	ck_assert_double_eq(ctx.btime, 1795622928);
	ck_assert_int_eq(batch_at(b, 0)->t, 0);

	/* Without emitting: only the boot time is kept. */
	batch_reset(b);
	proc_ctx_begin(&ctx, b, 0);
	ck_assert_int_eq(proc_stat_read(&ctx, 0), 0);
	ck_assert_uint_eq(batch_len(b), 0);
	ck_assert_double_eq(ctx.btime, 1795622928);
	proc_ctx_free(&ctx);
	batch_free(b);
}
END_TEST

START_TEST(test_meminfo_host1)
{
	struct batch	*b = batch_new();
	struct proc_ctx	 ctx;

	ctx_on(&ctx, "host1", b);
	ck_assert_int_eq(proc_meminfo_read(&ctx), 0);
	ck_assert_double_eq(VAL(b, "node_memory_MemTotal_bytes"),
	    24684092.0 * 1024);
	ck_assert_double_eq(VAL(b, "node_memory_MemAvailable_bytes"),
	    24297652.0 * 1024);
	ck_assert_double_eq(VAL(b, "node_memory_Active_anon_bytes"),
	    1572.0 * 1024);
	ck_assert_double_eq(VAL(b, "node_memory_Inactive_file_bytes"),
	    116388.0 * 1024);
	ck_assert_double_eq(VAL(b, "node_memory_VmallocTotal_bytes"),
	    34359738367.0 * 1024);
	ck_assert_double_eq(VAL(b, "node_memory_HugePages_Total"), 0);
	ck_assert_ptr_null(find(b, "node_memory_HugePages_Total_bytes", NULL));
	ck_assert_double_eq(VAL(b, "node_memory_Hugepagesize_bytes"),
	    2048.0 * 1024);
	ck_assert_uint_eq(batch_len(b), 54);	/* every line of the file */
	proc_ctx_free(&ctx);
	batch_free(b);
}
END_TEST

START_TEST(test_loadavg_pressure_filenr_host1)
{
	struct batch	*b = batch_new();
	struct proc_ctx	 ctx;

	ctx_on(&ctx, "host1", b);
	ck_assert_int_eq(proc_loadavg_read(&ctx), 0);
	ck_assert_double_eq(VAL(b, "node_load1"), 0.23);
	ck_assert_double_eq(VAL(b, "node_load5"), 1.14);
	ck_assert_double_eq(VAL(b, "node_load15"), 2.05);
	ck_assert_int_eq(proc_pressure_read(&ctx), 0);
	ck_assert_double_eq(VAL(b, "node_pressure_cpu_waiting_seconds_total"),
	    5.51335);
	ck_assert_double_eq(VAL(b, "node_pressure_cpu_stalled_seconds_total"),
	    1.25);
	ck_assert_double_eq(VAL(b,
	    "node_pressure_memory_waiting_seconds_total"), 3.028257);
	ck_assert_double_eq(VAL(b,
	    "node_pressure_memory_stalled_seconds_total"), 2.879364);
	ck_assert_double_eq(VAL(b, "node_pressure_io_waiting_seconds_total"),
	    0.000042);
	ck_assert_double_eq(VAL(b, "node_pressure_io_stalled_seconds_total"),
	    0.000007);
	ck_assert_int_eq(proc_filenr_read(&ctx), 0);
	ck_assert_double_eq(VAL(b, "node_filefd_allocated"), 597);
	ck_assert_double_eq(VAL(b, "node_filefd_maximum"), 2466177);
	ck_assert_uint_eq(batch_len(b), 3 + 6 + 2);
	ck_assert_str_eq(ctx.err, "");
	proc_ctx_free(&ctx);
	batch_free(b);
}
END_TEST

START_TEST(test_diskstats_host1)
{
	struct batch	*b = batch_new();
	struct proc_ctx	 ctx;
	pcre2_code	*ex = re(PROC_DISK_EXCLUDE);

	ctx_on(&ctx, "host1", b);
	ck_assert_int_eq(proc_diskstats_read(&ctx, ex), 0);
	/* loop0, zram0, sda1 and nvme0n1p1 are excluded. */
	ck_assert_uint_eq(batch_len(b), 17 + 15 + 11);
	ck_assert_double_eq(VAL(b, "node_disk_reads_completed_total", "device",
	    "vda"), 56286);
	ck_assert_double_eq(VAL(b, "node_disk_read_bytes_total", "device",
	    "vda"), 3370554.0 * 512);
	ck_assert_double_eq(VAL(b, "node_disk_read_time_seconds_total",
	    "device", "vda"), 9.946);
	ck_assert_double_eq(VAL(b, "node_disk_written_bytes_total", "device",
	    "vda"), 1599264.0 * 512);
	ck_assert_double_eq(VAL(b, "node_disk_io_time_seconds_total",
	    "device", "vda"), 4.82);
	ck_assert_double_eq(VAL(b, "node_disk_io_time_weighted_seconds_total",
	    "device", "vda"), 13.449);
	ck_assert_double_eq(VAL(b, "node_disk_discarded_sectors_total",
	    "device", "vda"), 325552);
	ck_assert_double_eq(VAL(b, "node_disk_flush_requests_total", "device",
	    "vda"), 2032);
	ck_assert_double_eq(VAL(b,
	    "node_disk_flush_requests_time_seconds_total", "device", "vda"),
	    0.061);
	ck_assert_double_eq(VAL(b, "node_disk_io_now", "device", "sda"), 2);
	ck_assert_double_eq(VAL(b, "node_disk_discard_time_seconds_total",
	    "device", "sda"), 0.009);
	ck_assert_ptr_null(find(b, "node_disk_flush_requests_total", "device",
	    "sda", NULL));
	ck_assert_double_eq(VAL(b, "node_disk_io_time_weighted_seconds_total",
	    "device", "nvme0n1"), 0.55);
	ck_assert_ptr_null(find(b, "node_disk_discards_completed_total",
	    "device", "nvme0n1", NULL));
	ck_assert_ptr_null(find(b, "node_disk_io_now", "device", "sda1",
	    NULL));

	batch_reset(b);
	proc_ctx_begin(&ctx, b, 0);
	ck_assert_int_eq(proc_diskstats_read(&ctx, NULL), 0);
	ck_assert_uint_eq(count(b, "node_disk_io_now"), 7);
	pcre2_code_free(ex);
	proc_ctx_free(&ctx);
	batch_free(b);
}
END_TEST

START_TEST(test_netdev_host1)
{
	static const char *const rx[] = { "bytes", "packets", "errs", "drop",
	    "fifo", "frame", "compressed", "multicast" };
	static const char *const tx[] = { "bytes", "packets", "errs", "drop",
	    "fifo", "colls", "carrier", "compressed" };
	static const double eth0[] = { 82203124, 1915, 1, 2, 3, 4, 5, 6,
	    82865, 1064, 7, 8, 9, 10, 11, 12 };
	struct batch	*b = batch_new();
	struct proc_ctx	 ctx;
	char		 name[64];
	size_t		 i;

	ctx_on(&ctx, "host1", b);
	ck_assert_int_eq(proc_netdev_read(&ctx), 0);
	ck_assert_uint_eq(batch_len(b), 3 * 16);
	for (i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), "node_network_%s_%s_total",
		    i < 8 ? "receive" : "transmit", i < 8 ? rx[i] : tx[i - 8]);
		ck_assert_double_eq(VAL(b, name, "device", "eth0"), eth0[i]);
	}
	/* No blank after the colon (old kernels, big counters). */
	ck_assert_double_eq(VAL(b, "node_network_receive_bytes_total",
	    "device", "eth1"), 4294967296.0);
	ck_assert_double_eq(VAL(b, "node_network_transmit_packets_total",
	    "device", "eth1"), 6000000);
	ck_assert_double_eq(VAL(b, "node_network_receive_bytes_total",
	    "device", "lo"), 3267);
	proc_ctx_free(&ctx);
	batch_free(b);
}
END_TEST

#define FSV(b, metric, dev, type, mp) \
	VAL(b, metric, "device", dev, "fstype", type, "mountpoint", mp)

START_TEST(test_fs_host1)
{
	struct batch	*b = batch_new();
	struct proc_ctx	 ctx;
	pcre2_code	*mp = re(PROC_FS_EXCLUDE), *ty = re(PROC_FS_TYPES_EXCLUDE);

	ctx_on(&ctx, "host1", b);
	ck_assert_int_eq(proc_fs_read(&ctx, mp, ty), 0);
	/* /, /run (listed twice), /boot, /data, /mnt/my disk. */
	ck_assert_uint_eq(count(b, "node_filesystem_device_error"), 5);
	ck_assert_uint_eq(count(b, "node_filesystem_size_bytes"), 4);
	ck_assert_double_eq(FSV(b, "node_filesystem_size_bytes", "/dev/vda",
	    "ext4", "/"), 6291456.0 * 4096);
	ck_assert_double_eq(FSV(b, "node_filesystem_free_bytes", "/dev/vda",
	    "ext4", "/"), 4194304.0 * 4096);
	ck_assert_double_eq(FSV(b, "node_filesystem_avail_bytes", "/dev/vda",
	    "ext4", "/"), 3932160.0 * 4096);
	ck_assert_double_eq(FSV(b, "node_filesystem_files", "/dev/vda",
	    "ext4", "/"), 1572864);
	ck_assert_double_eq(FSV(b, "node_filesystem_files_free", "/dev/vda",
	    "ext4", "/"), 1500000);
	ck_assert_double_eq(FSV(b, "node_filesystem_readonly", "/dev/vda",
	    "ext4", "/"), 0);
	ck_assert_double_eq(FSV(b, "node_filesystem_device_error", "/dev/vda",
	    "ext4", "/"), 0);
	ck_assert_double_eq(FSV(b, "node_filesystem_size_bytes", "/dev/vda1",
	    "vfat", "/boot"), 1048576.0 * 512);
	ck_assert_double_eq(FSV(b, "node_filesystem_avail_bytes", "tmpfs",
	    "tmpfs", "/run"), 1234000.0 * 4096);
	/* An octal escape in /proc/mounts is a blank in the label. */
	ck_assert_double_eq(FSV(b, "node_filesystem_avail_bytes", "/dev/vdc",
	    "ext4", "/mnt/my disk"), 800.0 * 1024);
	/* No size for /data: an error, and its read-only flag. */
	ck_assert_double_eq(FSV(b, "node_filesystem_device_error", "/dev/vdb",
	    "xfs", "/data"), 1);
	ck_assert_double_eq(FSV(b, "node_filesystem_readonly", "/dev/vdb",
	    "xfs", "/data"), 1);
	ck_assert_ptr_null(find(b, "node_filesystem_size_bytes", "device",
	    "/dev/vdb", "fstype", "xfs", "mountpoint", "/data", NULL));
	ck_assert_uint_eq(batch_len(b), 4 * 7 + 2);

	/* Without the type exclusion the NFS mount (and pseudo ones) show. */
	batch_reset(b);
	proc_ctx_begin(&ctx, b, 0);
	ck_assert_int_eq(proc_fs_read(&ctx, mp, NULL), 0);
	ck_assert_double_eq(FSV(b, "node_filesystem_size_bytes",
	    "fileserver:/export", "nfs4", "/mnt/nfs"), 65536000);
	ck_assert_uint_eq(count(b, "node_filesystem_device_error"), 6);
	pcre2_code_free(mp);
	pcre2_code_free(ty);
	proc_ctx_free(&ctx);
	batch_free(b);
}
END_TEST

START_TEST(test_unescape)
{
	char s[] = "a\\040b\\011c\\134d\\000e\\9f\\04";

	proc_unescape(s);
	ck_assert_str_eq(s, "a b\tc\\d\\000e\\9f\\04");
}
END_TEST

START_TEST(test_tcp_files_host1)
{
	struct batch	*b = batch_new();
	struct proc_ctx	 ctx;
	struct proc_tcp	 t;
	uint16_t	 ports[] = { 8080, 9999 };

	proc_tcp_init(&t);
	ctx_on(&ctx, "host1", b);
	/* A fixture root never asks the kernel. */
	ck_assert_int_eq(proc_tcp_read(&ctx, &t, NULL, 0), 0);
	ck_assert_uint_eq(batch_len(b), 3);
	ck_assert_double_eq(VAL(b, "monitord_tcp_sessions", "port", "8080"), 3);
	ck_assert_double_eq(VAL(b, "monitord_tcp_sessions", "port", "5432"), 1);
	ck_assert_double_eq(VAL(b, "monitord_tcp_sessions", "port", "22"), 1);

	batch_reset(b);
	proc_ctx_begin(&ctx, b, 0);
	ck_assert_int_eq(proc_tcp_read(&ctx, &t, ports, 2), 0);
	ck_assert_uint_eq(batch_len(b), 2);
	ck_assert_double_eq(VAL(b, "monitord_tcp_sessions", "port", "8080"), 3);
	ck_assert_double_eq(VAL(b, "monitord_tcp_sessions", "port", "9999"), 0);
	proc_tcp_free(&t);
	proc_ctx_free(&ctx);
	batch_free(b);
}
END_TEST

/* Both ways of counting agree on a session this test opens itself. */
START_TEST(test_tcp_live)
{
	struct sockaddr_in	 sa;
	socklen_t		 sl = sizeof(sa);
	struct batch		*b = batch_new();
	struct proc_ctx		 ctx;
	struct proc_tcp		 t;
	char			 port[8];
	int			 ls, cs, as, i;

	ls = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(ls, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(ls, 4), 0);
	ck_assert_int_eq(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);
	snprintf(port, sizeof(port), "%u", ntohs(sa.sin_port));

	proc_tcp_init(&t);
	proc_ctx_init(&ctx, "/");
	for (i = 0; i < 2; i++) {
		batch_reset(b);
		proc_ctx_begin(&ctx, b, 0);
		ck_assert_int_eq(i == 0 ? proc_tcp_read_diag(&ctx, &t, NULL, 0) :
		    proc_tcp_read_files(&ctx, &t, NULL, 0), 0);
		ck_assert_double_eq(VAL(b, "monitord_tcp_sessions", "port",
		    port), 0);
	}
	cs = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(cs, (struct sockaddr *)&sa, sizeof(sa)), 0);
	as = accept(ls, NULL, NULL);
	ck_assert_int_ge(as, 0);
	for (i = 0; i < 2; i++) {
		batch_reset(b);
		proc_ctx_begin(&ctx, b, 0);
		ck_assert_int_eq(i == 0 ? proc_tcp_read_diag(&ctx, &t, NULL, 0) :
		    proc_tcp_read_files(&ctx, &t, NULL, 0), 0);
		/* The accepted end counts; the client's ephemeral end not. */
		ck_assert_double_eq(VAL(b, "monitord_tcp_sessions", "port",
		    port), 1);
	}
	close(as);
	close(cs);
	close(ls);
	proc_tcp_free(&t);
	proc_ctx_free(&ctx);
	batch_free(b);
}
END_TEST

START_TEST(test_ports_parse)
{
	static const struct { const char *in, *err; } bad[] = {
		{ "0", "\"0\" is not a port number (1-65535)" },
		{ "80 65536", "\"65536\" is not a port number (1-65535)" },
		{ "http", "\"http\" is not a port number (1-65535)" },
		{ "80;81", "\"80;81\" is not a port number (1-65535)" },
		{ "123456789012345678901234567890",
		  "\"12345678901234567890\" is not a port number (1-65535)" },
		{ " , ", "no port given" },
	};
	uint16_t	*p;
	size_t		 n, i;
	char		 err[128];

	ck_assert_int_eq(proc_ports_parse("8080, 22 8080,5432", &p, &n, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(p[0], 22);
	ck_assert_uint_eq(p[1], 5432);
	ck_assert_uint_eq(p[2], 8080);
	free(p);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(proc_ports_parse(bad[i].in, &p, &n, err,
		    sizeof(err)), -1);
		ck_assert_str_eq(err, bad[i].err);
		ck_assert_ptr_null(p);
	}
}
END_TEST

START_TEST(test_pidstat_parse)
{
	static const struct { const char *line, *comm; } ok[] = {
		{ "1200 ((sd-pam)) S", "(sd-pam)" },
		{ "1300 (my (weird) proc) R", "my (weird) proc" },
		{ "1301 (a) b (c) S", "a) b (c" },
		{ "1400 (two\nlines) S", "two\nlines" },
		{ "1401 () S", "" },
		{ "1402 ( ) ) S", " ) " },
	};
	static const char tail[] = " 1 2 3 0 -1 4194560 0 0 0 0 250 150 0 0 "
	    "20 0 7 0 4200 123456 10 18446744073709551615";
	static const struct { const char *line, *err; } bad[] = {
		{ "500 (truncated) S 1 500", "expected at least 24 fields, got 5" },
		{ "501 no parentheses S 1 501", "no command name in parentheses" },
		{ "502 (x S 1", "no command name in parentheses" },
		{ "(x) S 1", "no command name in parentheses" },
		{ "50x (x) S 1 2 3 0 -1 4194560 0 0 0 0 1 1 0 0 20 0 1 0 100 4096 "
		  "10", "bad pid \"50x\"" },
		{ "503 (x) S 1 2 3 0 -1 4194560 0 0 0 0 1x 1 0 0 20 0 1 0 100 "
		  "4096 10", "bad utime \"1x\"" },
		{ "504 (x) S 1 2 3 0 -1 4194560 0 0 0 0 1 1 0 0 20 0 1 0 100 4096 "
		  "-10", "bad rss \"-10\"" },
	};
	struct proc_pid	p;
	char		line[512], err[128];
	size_t		i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(line, sizeof(line), "%s%s", ok[i].line, tail);
		memset(&p, 0, sizeof(p));
		ck_assert_int_eq(proc_pidstat_parse(line, &p, 100, 4096, err,
		    sizeof(err)), 0);
		ck_assert_str_eq(p.comm, ok[i].comm);
		ck_assert_int_eq(p.pid, atoi(ok[i].line));
		ck_assert_double_eq(p.cpu, 4);
		ck_assert_double_eq(p.threads, 7);
		ck_assert_uint_eq(p.starttime, 4200);
		ck_assert_double_eq(p.vsize, 123456);
		ck_assert_double_eq(p.rss, 40960);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "%s", bad[i].line);
		ck_assert_int_eq(proc_pidstat_parse(line, &p, 100, 4096, err,
		    sizeof(err)), -1);
		ck_assert_str_eq(err, bad[i].err);
	}
}
END_TEST

/* Collect a group once on TREE; returns the ctx's error ("" if none). */
static const char *
group_run(const char *tree, enum proc_match_by by, const char *what,
    const char *regex, struct batch *b)
{
	static char		 err[512];
	struct proc_ctx		 ctx;
	struct proc_group	*g;
	pcre2_code		*r = regex != NULL ? re(regex) : NULL;
	double			 btime;

	ctx_on(&ctx, tree, b);
	proc_stat_read(&ctx, 0);	/* only for the boot time */
	btime = ctx.btime;
	proc_ctx_begin(&ctx, b, 0);
	ctx.btime = btime;
	g = proc_group_new("app", by, what, r);
	proc_group_collect(g, &ctx);
	snprintf(err, sizeof(err), "%s", ctx.err);
	proc_group_free(g);
	pcre2_code_free(r);
	proc_ctx_free(&ctx);
	return err;
}

#define PV(b, metric) VAL(b, metric, "process", "app")

START_TEST(test_group_comm_host1)
{
	struct batch *b = batch_new();

	ck_assert_str_eq(group_run("host1", PROC_BY_COMM, "crm-api", NULL, b),
	    "");
	/* 100 and 101; 301 vanished before its status could be read. */
	ck_assert_double_eq(PV(b, "process_count"), 2);
	ck_assert_double_eq(PV(b, "process_cpu_seconds_total"), 18.5);
	ck_assert_double_eq(PV(b, "process_resident_memory_bytes"),
	    (51200.0 + 25600) * 4096);
	ck_assert_double_eq(PV(b, "process_virtual_memory_bytes"), 3e9);
	ck_assert_double_eq(PV(b, "process_threads"), 12);
	ck_assert_double_eq(PV(b, "process_open_fds"), 50);
	ck_assert_double_eq(PV(b, "process_max_fds"), 1074);
	ck_assert_double_eq(PV(b, "process_worst_fd_ratio"), 0.2);
	ck_assert_double_eq(PV(b, "process_start_time_seconds"),
	    1795622928.0 + 50);
	ck_assert_double_eq(PV(b, "process_read_bytes_total"), 409600);
	ck_assert_double_eq(PV(b, "process_write_bytes_total"), 86016);
	ck_assert_double_eq(VAL(b, "process_context_switches_total", "process",
	    "app", "ctxswitchtype", "voluntary"), 15000);
	ck_assert_double_eq(VAL(b, "process_context_switches_total", "process",
	    "app", "ctxswitchtype", "nonvoluntary"), 400);
	ck_assert_uint_eq(batch_len(b), 13);
	batch_free(b);
}
END_TEST

START_TEST(test_group_cmdline_pidfile_host1)
{
	struct batch *b = batch_new();

	ck_assert_str_eq(group_run("host1", PROC_BY_CMDLINE, NULL,
	    "crm-api --port 8080$", b), "");
	ck_assert_double_eq(PV(b, "process_count"), 1);
	ck_assert_double_eq(PV(b, "process_cpu_seconds_total"), 12.5);

	/* Kernel threads (empty command line) never match. */
	batch_reset(b);
	ck_assert_str_eq(group_run("host1", PROC_BY_CMDLINE, NULL, "", b), "");
	ck_assert_double_eq(PV(b, "process_count"), 4);

	batch_reset(b);
	ck_assert_str_eq(group_run("host1", PROC_BY_CMDLINE, NULL,
	    "^postgres: shop checkpointer $", b), "");
	ck_assert_double_eq(PV(b, "process_count"), 1);
	ck_assert_double_eq(PV(b, "process_open_fds"), 12);

	batch_reset(b);
	ck_assert_str_eq(group_run("host1", PROC_BY_PIDFILE,
	    "/run/crm-api.pid", NULL, b), "");
	ck_assert_double_eq(PV(b, "process_count"), 1);
	ck_assert_double_eq(PV(b, "process_start_time_seconds"),
	    1795622928.0 + 50);

	/* No pid file: the service is down, which is data, not an error. */
	batch_reset(b);
	ck_assert_str_eq(group_run("host1", PROC_BY_PIDFILE, "/run/none.pid",
	    NULL, b), "");
	ck_assert_double_eq(PV(b, "process_count"), 0);
	ck_assert_double_eq(PV(b, "process_cpu_seconds_total"), 0);
	ck_assert_double_eq(PV(b, "process_resident_memory_bytes"), 0);
	ck_assert_ptr_null(find(b, "process_start_time_seconds", "process",
	    "app", NULL));
	batch_free(b);
}
END_TEST

START_TEST(test_group_odd_names)
{
	struct batch *b = batch_new();

	ck_assert_str_eq(group_run("odd", PROC_BY_COMM, "(sd-pam)", NULL, b),
	    "");
	ck_assert_double_eq(PV(b, "process_count"), 1);

	batch_reset(b);
	ck_assert_str_eq(group_run("odd", PROC_BY_COMM, "my (weird) proc", NULL,
	    b), "");
	ck_assert_double_eq(PV(b, "process_count"), 2);
	ck_assert_double_eq(PV(b, "process_cpu_seconds_total"), 6);
	/* The oldest of the two. */
	ck_assert_double_eq(PV(b, "process_start_time_seconds"), 1700000001.5);
	/* "unlimited" open files: no fd metrics rather than wrong ones. */
	ck_assert_ptr_null(find(b, "process_open_fds", "process", "app", NULL));
	ck_assert_ptr_null(find(b, "process_read_bytes_total", "process", "app",
	    NULL));

	/* A name longer than the kernel keeps matches its first 15 bytes. */
	batch_reset(b);
	ck_assert_str_eq(group_run("odd", PROC_BY_COMM, "averyveryverylongname",
	    NULL, b), "");
	ck_assert_double_eq(PV(b, "process_count"), 1);
	batch_reset(b);
	ck_assert_str_eq(group_run("odd", PROC_BY_COMM, "averyveryverylo",
	    NULL, b), "");
	ck_assert_double_eq(PV(b, "process_count"), 1);
	batch_reset(b);
	ck_assert_str_eq(group_run("odd", PROC_BY_COMM, "averyveryverylongnam",
	    NULL, b), "");
	ck_assert_double_eq(PV(b, "process_count"), 1);
	batch_reset(b);
	ck_assert_str_eq(group_run("odd", PROC_BY_COMM, "averyvery", NULL, b),
	    "");
	ck_assert_double_eq(PV(b, "process_count"), 0);

	/* A newline in the command name does not cut stat short. */
	batch_reset(b);
	ck_assert_str_eq(group_run("odd", PROC_BY_CMDLINE, NULL, "^two$", b),
	    "");
	ck_assert_double_eq(PV(b, "process_count"), 1);
	ck_assert_double_eq(PV(b, "process_cpu_seconds_total"), 0.02);
	batch_free(b);
}
END_TEST

START_TEST(test_group_bad)
{
	struct batch *b = batch_new();

	ck_assert_str_eq(group_run("bad", PROC_BY_CMDLINE, NULL, "truncated",
	    b), "proc/500/stat: expected at least 24 fields, got 5");
	ck_assert_double_eq(PV(b, "process_count"), 0);
	batch_reset(b);
	ck_assert_str_eq(group_run("bad", PROC_BY_COMM, "badtime", NULL, b),
	    "proc/502/stat: bad utime \"1x\"");
	batch_reset(b);
	ck_assert_str_eq(group_run("bad", PROC_BY_COMM, "noparens", NULL, b),
	    "proc/501/stat: no command name in parentheses");
	/* An exiting process can leave an empty stat: skipped quietly. */
	batch_reset(b);
	ck_assert_str_eq(group_run("bad", PROC_BY_COMM, "exiting", NULL, b), "");
	ck_assert_double_eq(PV(b, "process_count"), 0);
	batch_reset(b);
	ck_assert_str_eq(group_run("bad", PROC_BY_PIDFILE, "/run/bad.pid", NULL,
	    b), "pid file /run/bad.pid: expected a process id, got \"12ab\"");
	batch_free(b);
}
END_TEST

/* Helpers for a process tree in a temporary directory. */
static void
put(const char *dir, const char *rel, const char *fmt, ...)
{
	char	 path[4096], *p;
	FILE	*f;
	va_list	 ap;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (p = path + strlen(dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

static void
put_proc(const char *dir, int pid, unsigned utime, unsigned start,
    unsigned vcsw, unsigned rbytes)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "proc/%d/comm", pid);
	put(dir, rel, "app\n");
	snprintf(rel, sizeof(rel), "proc/%d/stat", pid);
	put(dir, rel, "%d (app) S 1 1 1 0 -1 0 0 0 0 0 %u 0 0 0 20 0 1 0 %u "
	    "1000 1\n", pid, utime, start);
	snprintf(rel, sizeof(rel), "proc/%d/status", pid);
	put(dir, rel, "voluntary_ctxt_switches:\t%u\n"
	    "nonvoluntary_ctxt_switches:\t0\n", vcsw);
	snprintf(rel, sizeof(rel), "proc/%d/io", pid);
	put(dir, rel, "read_bytes: %u\nwrite_bytes: 0\n", rbytes);
	snprintf(rel, sizeof(rel), "proc/%d/limits", pid);
	put(dir, rel, "Max open files            100                  100    "
	    "              files     \n");
	snprintf(rel, sizeof(rel), "proc/%d/fd/0", pid);
	put(dir, rel, "");
}

static void
rm_proc(const char *dir, int pid)
{
	static const char *const files[] = { "comm", "stat", "status", "io",
	    "limits", "fd/0", "fd", "" };
	char	path[4096];
	size_t	i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/proc/%d/%s", dir, pid,
		    files[i]);
		remove(path);
	}
}

START_TEST(test_group_monotonic)
{
	char			 dir[] = "/tmp/check_proc.XXXXXX";
	struct batch		*b = batch_new();
	struct proc_ctx		 ctx;
	struct proc_group	*g;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	put(dir, "proc/stat", "btime 1000\n");
	put_proc(dir, 10, 100, 50, 10, 1000);
	put_proc(dir, 11, 300, 7, 20, 2000);
	proc_ctx_init(&ctx, dir);
	ctx.hz = 100;
	ctx.pagesize = 4096;
	g = proc_group_new("app", PROC_BY_COMM, "app", NULL);

#define RUN() do {							\
	batch_reset(b);							\
	proc_ctx_begin(&ctx, b, 0);					\
	ck_assert_int_eq(proc_stat_read(&ctx, 0), 0);			\
	ck_assert_int_eq(proc_group_collect(g, &ctx), 0);		\
} while (0)
	RUN();
	ck_assert_double_eq(PV(b, "process_cpu_seconds_total"), 4);
	ck_assert_double_eq(PV(b, "process_read_bytes_total"), 3000);
	ck_assert_double_eq(VAL(b, "process_context_switches_total", "process",
	    "app", "ctxswitchtype", "voluntary"), 30);

	/* 11 exits, 10 works on: the sum must not fall. */
	rm_proc(dir, 11);
	put_proc(dir, 10, 150, 50, 15, 1500);
	RUN();
	ck_assert_double_eq(PV(b, "process_count"), 1);
	ck_assert_double_eq(PV(b, "process_cpu_seconds_total"), 4.5);
	ck_assert_double_eq(PV(b, "process_read_bytes_total"), 3500);
	ck_assert_double_eq(VAL(b, "process_context_switches_total", "process",
	    "app", "ctxswitchtype", "voluntary"), 35);
	ck_assert_double_eq(PV(b, "process_start_time_seconds"), 1000.5);

	/* A new process adds all it did. */
	put_proc(dir, 12, 50, 900, 1, 10);
	RUN();
	ck_assert_double_eq(PV(b, "process_count"), 2);
	ck_assert_double_eq(PV(b, "process_cpu_seconds_total"), 5);

	/* Pid 10 reused by a younger process: counted from zero. */
	put_proc(dir, 10, 25, 1000, 1, 0);
	RUN();
	ck_assert_double_eq(PV(b, "process_cpu_seconds_total"), 5.25);
	ck_assert_double_eq(PV(b, "process_start_time_seconds"), 1009);

	/* Every process gone: gauges drop, counters stay. */
	rm_proc(dir, 10);
	rm_proc(dir, 12);
	RUN();
	ck_assert_double_eq(PV(b, "process_count"), 0);
	ck_assert_double_eq(PV(b, "process_cpu_seconds_total"), 5.25);
	ck_assert_double_eq(PV(b, "process_threads"), 0);
#undef RUN
	proc_group_free(g);
	proc_ctx_free(&ctx);
	batch_free(b);
	remove(strcat(strcpy((char[4200]){ 0 }, dir), "/proc/stat"));
	remove(strcat(strcpy((char[4200]){ 0 }, dir), "/proc"));
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_odd_tree)
{
	struct batch		*b = batch_new();
	struct proc_target	*t;
	struct proc_opts	 o;
	char			 err[512] = "";

	memset(&o, 0, sizeof(o));
	o.name = "odd";
	o.root = fixture("odd");
	o.host = 1;
	o.disk_exclude = PROC_DISK_EXCLUDE;
	t = proc_target_new(&o, err, sizeof(err));
	ck_assert_ptr_nonnull(t);
	proc_target_set_units(t, 100, 4096);
	/* No pressure, diskstats, net, mounts, tcp, file-nr: no error. */
	ck_assert_int_eq(proc_target_collect(t, b, 0, err, sizeof(err)), 0);
	ck_assert_uint_eq(count(b, "node_cpu_seconds_total"), 256 * 8);
	ck_assert_uint_eq(count(b, "node_cpu_guest_seconds_total"), 0);
	ck_assert_double_eq(VAL(b, "node_cpu_seconds_total", "cpu", "255",
	    "mode", "idle"), 12.55);
	ck_assert_double_eq(VAL(b, "node_cpu_seconds_total", "cpu", "254",
	    "mode", "iowait"), 0.02);
	ck_assert_double_eq(VAL(b, "node_intr_total"), 123456);
	ck_assert_double_eq(VAL(b, "node_procs_running"), 200);
	/* loadavg without a final newline. */
	ck_assert_double_eq(VAL(b, "node_load1"), 200.5);
	ck_assert_double_eq(VAL(b, "node_memory_Active_anon_bytes"), 8192);
	ck_assert_double_eq(VAL(b, "node_memory_HugePages_Total"), 4);
	ck_assert_uint_eq(batch_len(b), 256 * 8 + 6 + 3 + 4);
	/* No proc/sys/kernel/hostname in a fixture root. */
	ck_assert_str_eq(proc_target_instance(t), "localhost");
	proc_target_free(t);
	batch_free(b);
}
END_TEST

START_TEST(test_host1_target)
{
	struct batch		*b = batch_new();
	struct proc_target	*t;
	struct proc_opts	 o;
	char			 err[512] = "";
	size_t			 i;

	memset(&o, 0, sizeof(o));
	o.name = "crm";
	o.root = fixture("host1");
	o.host = 1;
	o.process = "crm-api";
	o.disk_exclude = PROC_DISK_EXCLUDE;
	o.fs_exclude = PROC_FS_EXCLUDE;
	o.fs_types_exclude = PROC_FS_TYPES_EXCLUDE;
	t = proc_target_new(&o, err, sizeof(err));
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(proc_target_instance(t), "web-1");
	proc_target_set_units(t, 100, 4096);
	ck_assert_int_eq(proc_target_collect(t, b, 0, err, sizeof(err)), 0);
	ck_assert_double_eq(VAL(b, "process_count", "process", "crm"), 2);
	ck_assert_double_eq(VAL(b, "monitord_tcp_sessions", "port", "8080"), 3);
	ck_assert_uint_eq(batch_len(b),
	    46 + 54 + 3 + 6 + 43 + 48 + 30 + 2 + 3 + 13);
	/*
	 * The catalogue knows every metric produced, with the same labels;
	 * and every catalogue entry is produced by host1 (its kernel has
	 * them all) except the meminfo fields other kernels add.
	 */
	for (i = 0; i < batch_len(b); i++) {
		const struct sample	*s = batch_at(b, i);
		const struct metric_def	*m = proc_metric_find(
		    s->labels[0].value);
		struct buf		 l = BUF_INIT;
		size_t			 j;

		ck_assert_msg(m != NULL, "%s not in the catalogue",
		    s->labels[0].value);
		for (j = 1; j < s->nlabels; j++)
			buf_printf(&l, "%s%s", j > 1 ? " " : "",
			    s->labels[j].name);
		ck_assert_msg(strcmp(l.data != NULL ? l.data : "",
		    m->labels) == 0, "%s: labels \"%s\", catalogue \"%s\"",
		    m->name, l.data, m->labels);
		buf_free(&l);
	}
	for (i = 0; proc_metrics[i].name != NULL; i++) {
		const char *n = proc_metrics[i].name;

		if (strncmp(n, "node_memory_", 12) == 0)
			continue;
		ck_assert_msg(count(b, n) > 0, "%s never produced", n);
	}
	proc_target_free(t);
	batch_free(b);
}
END_TEST

START_TEST(test_bad_tree)
{
	static const struct {
		const char	*what;
		const char	*err;
		size_t		 samples;
	} cases[] = {
		{ "stat", "proc/stat:5: cpu3: expected at least 4 values, got 2",
		  3 * 8 + 2 * 3 + 2 },
		{ "meminfo", "proc/meminfo:2: MemFree: bad value \"12x\"", 2 },
		{ "loadavg", "proc/loadavg:1: bad load average \"abc\"", 0 },
		{ "pressure", "proc/pressure/cpu:1: some: no total=", 1 },
		{ "diskstats", "proc/diskstats:1: expected at least 14 fields, "
		  "got 5", 11 },
		{ "netdev", "proc/net/dev:3: eth0: expected 16 values, got 3",
		  16 },
		{ "fs", "proc/mounts:1: expected at least 4 fields, got 2", 2 },
		{ "tcp", "proc/net/tcp:2: bad local address or state", 1 },
		{ "filenr", "proc/sys/fs/file-nr:1: expected \"allocated unused "
		  "maximum\"", 0 },
	};
	struct batch	*b = batch_new();
	struct proc_ctx	 ctx;
	struct proc_tcp	 t;
	size_t		 i;

	proc_tcp_init(&t);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char	*w = cases[i].what;
		int		 r = 0;

		batch_reset(b);
		ctx_on(&ctx, "bad", b);
		if (strcmp(w, "stat") == 0)
			r = proc_stat_read(&ctx, 1);
		else if (strcmp(w, "meminfo") == 0)
			r = proc_meminfo_read(&ctx);
		else if (strcmp(w, "loadavg") == 0)
			r = proc_loadavg_read(&ctx);
		else if (strcmp(w, "pressure") == 0)
			r = proc_pressure_read(&ctx);
		else if (strcmp(w, "diskstats") == 0)
			r = proc_diskstats_read(&ctx, NULL);
		else if (strcmp(w, "netdev") == 0)
			r = proc_netdev_read(&ctx);
		else if (strcmp(w, "fs") == 0)
			r = proc_fs_read(&ctx, NULL, NULL);
		else if (strcmp(w, "tcp") == 0)
			r = proc_tcp_read(&ctx, &t, NULL, 0);
		else if (strcmp(w, "filenr") == 0)
			r = proc_filenr_read(&ctx);
		ck_assert_msg(r == -1, "%s: no error", w);
		ck_assert_str_eq(ctx.err, cases[i].err);
		ck_assert_msg(batch_len(b) == cases[i].samples,
		    "%s: %zu samples", w, batch_len(b));
		proc_ctx_free(&ctx);
	}
	/* What was read right stays; the broken lines add nothing. */
	batch_reset(b);
	ctx_on(&ctx, "bad", b);
	proc_stat_read(&ctx, 1);
	ck_assert_double_eq(VAL(b, "node_context_switches_total"), 77);
	ck_assert_ptr_null(find(b, "node_cpu_seconds_total", "cpu", "3", "mode",
	    "user", NULL));
	ck_assert_ptr_null(find(b, "node_procs_running", NULL));
	batch_reset(b);
	proc_ctx_begin(&ctx, b, 0);
	proc_fs_read(&ctx, NULL, NULL);
	ck_assert_double_eq(FSV(b, "node_filesystem_device_error", "/dev/vda",
	    "ext4", "/"), 1);
	batch_reset(b);
	proc_ctx_begin(&ctx, b, 0);
	proc_tcp_read(&ctx, &t, NULL, 0);
	ck_assert_double_eq(VAL(b, "monitord_tcp_sessions", "port", "80"), 0);
	proc_ctx_free(&ctx);
	proc_tcp_free(&t);
	batch_free(b);
}
END_TEST

START_TEST(test_bad_target)
{
	struct batch		*b = batch_new();
	struct proc_target	*t;
	struct proc_opts	 o;
	char			 err[512] = "";

	memset(&o, 0, sizeof(o));
	o.name = "bad";
	o.root = fixture("bad");
	o.host = 1;
	t = proc_target_new(&o, err, sizeof(err));
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(proc_target_collect(t, b, 0, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "proc/stat:5: cpu3: expected at least 4 values, "
	    "got 2");
	ck_assert_uint_gt(batch_len(b), 0);
	/* Each run starts clean. */
	ck_assert_int_eq(proc_target_collect(t, b, 0, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "proc/stat:5: cpu3: expected at least 4 values, "
	    "got 2");
	proc_target_free(t);

	/* A required file missing is an error, an optional one is not. */
	o.root = "/nonexistent";
	t = proc_target_new(&o, err, sizeof(err));
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(proc_target_collect(t, b, 0, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "proc/stat: No such file or directory");
	proc_target_free(t);
	batch_free(b);
}
END_TEST

START_TEST(test_opts)
{
	struct proc_opts	 o;
	const char		*key;
	char			 err[256];
	struct proc_target	*t;

	memset(&o, 0, sizeof(o));
	o.name = "x";
	o.process = "a";
	o.cmdline = "b";
	ck_assert_int_eq(proc_opts_check(&o, &key, err, sizeof(err)), -1);
	ck_assert_str_eq(key, "cmdline");
	ck_assert_str_eq(err, "process, cmdline and pidfile are exclusive: "
	    "set only one");
	o.cmdline = NULL;
	o.pidfile = "/run/x.pid";
	ck_assert_int_eq(proc_opts_check(&o, &key, err, sizeof(err)), -1);
	ck_assert_str_eq(key, "pidfile");
	o.pidfile = NULL;
	ck_assert_int_eq(proc_opts_check(&o, &key, err, sizeof(err)), 0);
	o.process = "";
	ck_assert_int_eq(proc_opts_check(&o, &key, err, sizeof(err)), -1);
	ck_assert_str_eq(key, "process");
	ck_assert_str_eq(err, "empty process name");
	o.process = NULL;
	ck_assert_int_eq(proc_opts_check(&o, &key, err, sizeof(err)), -1);
	ck_assert_str_eq(key, "host");
	ck_assert_str_eq(err, "nothing to collect: set host = yes, process, "
	    "cmdline, pidfile or ports");
	o.ports = "80 x";
	ck_assert_int_eq(proc_opts_check(&o, &key, err, sizeof(err)), -1);
	ck_assert_str_eq(key, "ports");
	ck_assert_str_eq(err, "\"x\" is not a port number (1-65535)");
	o.ports = "80";
	ck_assert_int_eq(proc_opts_check(&o, &key, err, sizeof(err)), 0);

	o.cmdline = "(abc";
	o.ports = NULL;
	ck_assert_ptr_null(proc_target_new(&o, err, sizeof(err)));
	ck_assert_str_eq(err, "cmdline: missing closing parenthesis at "
	    "offset 4");
	o.cmdline = NULL;
	o.host = 1;
	o.disk_exclude = "[";
	ck_assert_ptr_null(proc_target_new(&o, err, sizeof(err)));
	ck_assert_str_eq(err, "disk_exclude: missing terminating ] for "
	    "character class at offset 1");
	o.disk_exclude = NULL;
	o.process = "a";
	o.pidfile = "/b";
	ck_assert_ptr_null(proc_target_new(&o, err, sizeof(err)));
	ck_assert_str_eq(err, "pidfile: process, cmdline and pidfile are "
	    "exclusive: set only one");
	o.pidfile = NULL;
	t = proc_target_new(&o, err, sizeof(err));
	ck_assert_ptr_nonnull(t);
	proc_target_free(t);
	proc_target_free(NULL);
}
END_TEST

START_TEST(test_lines)
{
	struct lines	 lr;
	char		*big, *line, path[] = "/tmp/check_proc.XXXXXX";
	size_t		 len, n = 300 * 1024;
	FILE		*f;
	int		 fd;

	lines_init(&lr);
	big = malloc(n + 16);
	memset(big, 'x', n);
	memcpy(big + n, "\nlast", 6);
	/* A line far longer than the initial buffer. */
	lines_open_mem(&lr, "mem", big, n + 5, PROC_FILE_MAX);
	ck_assert_int_eq(lines_next(&lr, &line, &len), 1);
	ck_assert_uint_eq(len, n);
	ck_assert_int_eq(lines_next(&lr, &line, &len), 1);
	ck_assert_str_eq(line, "last");
	ck_assert_int_eq(lr.lineno, 2);
	ck_assert_int_eq(lines_next(&lr, &line, &len), 0);
	/* Memory input past the limit. */
	lines_open_mem(&lr, "mem", big, n + 5, 1000);
	ck_assert_int_eq(lines_next(&lr, &line, &len), -1);
	ck_assert_int_eq(lr.error, EFBIG);

	/* A file: the same through read(2), and its limit. */
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fwrite(big, 1, n + 5, f);
	fclose(f);
	ck_assert_int_eq(lines_open(&lr, path, "file", PROC_FILE_MAX), 0);
	ck_assert_int_eq(lines_next(&lr, &line, &len), 1);
	ck_assert_uint_eq(len, n);
	ck_assert_uint_eq(strspn(line, "x"), n);
	ck_assert_int_eq(lines_next(&lr, &line, &len), 1);
	ck_assert_str_eq(line, "last");
	ck_assert_int_eq(lines_next(&lr, &line, &len), 0);
	ck_assert_int_eq(lines_open(&lr, path, "file", 100 * 1024), 0);
	ck_assert_int_eq(lines_next(&lr, &line, &len), -1);
	ck_assert_int_eq(lr.error, EFBIG);
	lines_close(&lr);
	unlink(path);
	ck_assert_int_eq(lines_open(&lr, path, "file", 100), -1);
	ck_assert_int_eq(errno, ENOENT);
	lines_free(&lr);
	free(big);
}
END_TEST

START_TEST(test_numbers)
{
	uint64_t	u;
	double		d;

	ck_assert_int_eq(proc_u64("18446744073709551615", &u), 0);
	ck_assert_uint_eq(u, UINT64_MAX);
	ck_assert_int_eq(proc_u64("18446744073709551616", &u), -1);
	ck_assert_int_eq(proc_u64("", &u), -1);
	ck_assert_int_eq(proc_u64("-1", &u), -1);
	ck_assert_int_eq(proc_u64("1 ", &u), -1);
	ck_assert_int_eq(proc_hex("1F90", &u), 0);
	ck_assert_uint_eq(u, 8080);
	ck_assert_int_eq(proc_hex("1g", &u), -1);
	ck_assert_int_eq(proc_hex("10000000000000000", &u), -1);
	ck_assert_int_eq(proc_double("0.25", &d), 0);
	ck_assert_double_eq(d, 0.25);
	ck_assert_int_eq(proc_double("nan", &d), -1);
	ck_assert_int_eq(proc_double("inf", &d), -1);
	ck_assert_int_eq(proc_double("0x10", &d), -1);
	ck_assert_int_eq(proc_double("1e999", &d), -1);
	ck_assert_int_eq(proc_double("1.5x", &d), -1);
}
END_TEST

/* The real machine: every file parses and every metric is known. */
START_TEST(test_this_host)
{
	struct batch		*b = batch_new();
	struct proc_target	*t;
	struct proc_opts	 o;
	char			 err[512] = "", host[256];
	size_t			 i;
	long			 ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	memset(&o, 0, sizeof(o));
	o.name = "self";
	o.host = 1;
	o.cmdline = "check_proc";
	o.disk_exclude = PROC_DISK_EXCLUDE;
	o.fs_exclude = PROC_FS_EXCLUDE;
	o.fs_types_exclude = PROC_FS_TYPES_EXCLUDE;
	t = proc_target_new(&o, err, sizeof(err));
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(gethostname(host, sizeof(host)), 0);
	ck_assert_str_eq(proc_target_instance(t), host);
	ck_assert_msg(proc_target_collect(t, b, 0, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_uint_eq(count(b, "node_cpu_seconds_total") % 8, 0);
	ck_assert_int_ge((long)count(b, "node_cpu_seconds_total"), ncpu * 8);
	ck_assert_double_gt(VAL(b, "node_memory_MemTotal_bytes"), 0);
	ck_assert_double_ge(VAL(b, "process_count", "process", "self"), 1);
	ck_assert_double_gt(VAL(b, "process_open_fds", "process", "self"), 0);
	for (i = 0; i < batch_len(b); i++) {
		const char *n = batch_at(b, i)->labels[0].value;

		if (strncmp(n, "node_memory_", 12) != 0)
			ck_assert_msg(proc_metric_find(n) != NULL,
			    "%s not in the catalogue", n);
	}
	proc_target_free(t);
	batch_free(b);
}
END_TEST

static Suite *
proc_suite(void)
{
	Suite	*s = suite_create("proc");
	TCase	*tc = tcase_create("proc");

	tcase_add_test(tc, test_stat_host1);
	tcase_add_test(tc, test_meminfo_host1);
	tcase_add_test(tc, test_loadavg_pressure_filenr_host1);
	tcase_add_test(tc, test_diskstats_host1);
	tcase_add_test(tc, test_netdev_host1);
	tcase_add_test(tc, test_fs_host1);
	tcase_add_test(tc, test_unescape);
	tcase_add_test(tc, test_tcp_files_host1);
	tcase_add_test(tc, test_tcp_live);
	tcase_add_test(tc, test_ports_parse);
	tcase_add_test(tc, test_pidstat_parse);
	tcase_add_test(tc, test_group_comm_host1);
	tcase_add_test(tc, test_group_cmdline_pidfile_host1);
	tcase_add_test(tc, test_group_odd_names);
	tcase_add_test(tc, test_group_bad);
	tcase_add_test(tc, test_group_monotonic);
	tcase_add_test(tc, test_odd_tree);
	tcase_add_test(tc, test_host1_target);
	tcase_add_test(tc, test_bad_tree);
	tcase_add_test(tc, test_bad_target);
	tcase_add_test(tc, test_opts);
	tcase_add_test(tc, test_lines);
	tcase_add_test(tc, test_numbers);
	tcase_add_test(tc, test_this_host);
	suite_add_tcase(s, tc);
	return s;
}

TCHECK_MAIN(proc_suite)
