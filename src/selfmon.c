/*
 * selfmon: monitord's own process and build metrics (see selfmon.h).
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "expo.h"
#include "metric.h"
#include "selfmon.h"

enum {
	SM_BUILD_INFO, SM_START, SM_UPTIME, SM_CPU, SM_RSS, SM_VSZ, SM_FDS,
	SM_MAX_FDS, SM_PROC_START,
};

const struct metric_def selfmon_metrics[] = {
	[SM_BUILD_INFO] = { "monitord_build_info", METRIC_GAUGE, "version",
	  "Always 1; its version label tells which monitord runs here." },
	[SM_START] = { "monitord_start_time_seconds", METRIC_GAUGE, "",
	  "When this monitord started, as Unix time; a change means it "
	  "restarted." },
	[SM_UPTIME] = { "monitord_uptime_seconds", METRIC_GAUGE, "",
	  "How long this monitord has been running." },
	[SM_CPU] = { "process_cpu_seconds_total", METRIC_COUNTER, "",
	  "CPU time monitord itself used, user and system: what monitoring "
	  "costs this host." },
	[SM_RSS] = { "process_resident_memory_bytes", METRIC_GAUGE, "",
	  "Memory monitord holds in RAM." },
	[SM_VSZ] = { "process_virtual_memory_bytes", METRIC_GAUGE, "",
	  "Address space monitord maps, the store's memory map included." },
	[SM_FDS] = { "process_open_fds", METRIC_GAUGE, "",
	  "File descriptors monitord has open, sockets included." },
	[SM_MAX_FDS] = { "process_max_fds", METRIC_GAUGE, "",
	  "The most file descriptors monitord may open." },
	[SM_PROC_START] = { "process_start_time_seconds", METRIC_GAUGE, "",
	  "When the monitord process started, as Unix time." },
	{ NULL, 0, NULL, NULL },
};

static void
one(struct buf *b, int which, double v)
{
	expo_metric1(b, &selfmon_metrics[which], v);
}

static int
count_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own descriptor */
}

void
selfmon_write(struct buf *b, int64_t start_ms)
{
	const struct metric_def	*bi = &selfmon_metrics[SM_BUILD_INFO];
	struct label		 l[2] = {
		{ "__name__", bi->name },
		{ "version", PACKAGE_VERSION },
	};
	struct timespec		 now;
	struct rusage		 ru;
	struct rlimit		 rl;
	unsigned long		 vsz = 0, rss = 0;
	FILE			*f;
	int			 fds;

	expo_help_type(b, bi->name, bi->type, bi->help);
	expo_sample(b, l, 2, 1, 0);
	clock_gettime(CLOCK_REALTIME, &now);
	one(b, SM_START, (double)start_ms / 1000.0);
	one(b, SM_UPTIME, (double)now.tv_sec + now.tv_nsec / 1e9 -
	    (double)start_ms / 1000.0);
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		one(b, SM_CPU, (double)ru.ru_utime.tv_sec +
		    ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		    ru.ru_stime.tv_usec / 1e6);
	if ((f = fopen("/proc/self/statm", "r")) != NULL) {
		if (fscanf(f, "%lu %lu", &vsz, &rss) == 2) {
			long page = sysconf(_SC_PAGESIZE);

			one(b, SM_RSS, (double)rss * (double)page);
			one(b, SM_VSZ, (double)vsz * (double)page);
		}
		fclose(f);
	}
	if ((fds = count_fds()) >= 0)
		one(b, SM_FDS, fds);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		one(b, SM_MAX_FDS, (double)rl.rlim_cur);
	one(b, SM_PROC_START, (double)start_ms / 1000.0);
}
