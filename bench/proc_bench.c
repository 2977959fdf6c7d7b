/*
 * proc_bench: CPU time of one full /proc collection on this machine, the
 * cost a [proc] target adds per interval.  Not a test: it prints figures.
 *
 *	proc_bench [RUNS [PROCESS]]
 *
 * Times RUNS (default 1000) collections of the host metrics, then of a
 * process group matching PROCESS by command name (default: this program),
 * then of a group matching a command line regex (which reads every
 * process's cmdline), and prints the CPU microseconds (user + system,
 * getrusage) and the samples of one run.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "proc/proc_impl.h"
#include "sample.h"

static double
cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec +
	    (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
}

static void
bench(const char *what, const struct proc_opts *o, int runs)
{
	struct proc_target	*t;
	struct batch		*b = batch_new();
	char			 err[512];
	double			 t0, t1;
	size_t			 samples = 0;
	int			 i, failed = 0;

	if ((t = proc_target_new(o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "proc_bench: %s\n", err);
		exit(1);
	}
	t0 = cpu_us();
	for (i = 0; i < runs; i++) {
		batch_reset(b);
		if (proc_target_collect(t, b, 0, err, sizeof(err)) == -1)
			failed++;
		samples = batch_len(b);
	}
	t1 = cpu_us();
	printf("%-32s %8.1f us CPU/run  %5zu samples  %d runs  %d failed%s%s\n",
	    what, (t1 - t0) / runs, samples, runs, failed,
	    failed ? ": " : "", failed ? err : "");
	proc_target_free(t);
	batch_free(b);
}

int
main(int argc, char **argv)
{
	struct proc_opts	o;
	int			runs = argc > 1 ? atoi(argv[1]) : 1000;
	const char		*comm = argc > 2 ? argv[2] : "proc_bench";

	if (runs <= 0)
		runs = 1000;
	memset(&o, 0, sizeof(o));
	o.name = "host";
	o.host = 1;
	o.disk_exclude = PROC_DISK_EXCLUDE;
	o.fs_exclude = PROC_FS_EXCLUDE;
	o.fs_types_exclude = PROC_FS_TYPES_EXCLUDE;
	bench("host", &o, runs);

	memset(&o, 0, sizeof(o));
	o.name = "group";
	o.process = comm;
	bench("process group (comm)", &o, runs);

	memset(&o, 0, sizeof(o));
	o.name = "group";
	o.cmdline = "proc_bench";
	bench("process group (cmdline regex)", &o, runs);

	memset(&o, 0, sizeof(o));
	o.name = "all";
	o.host = 1;
	o.disk_exclude = PROC_DISK_EXCLUDE;
	o.fs_exclude = PROC_FS_EXCLUDE;
	o.fs_types_exclude = PROC_FS_TYPES_EXCLUDE;
	o.process = comm;
	bench("host + process group", &o, runs);
	return 0;
}
