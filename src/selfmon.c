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

static void
gauge(struct buf *b, const char *name, enum metric_type type,
    const char *help, double v)
{
	struct label l = { "__name__", name };

	expo_help_type(b, name, type, help);
	expo_sample(b, &l, 1, v, 0);
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
	struct label	 bi[2] = {
		{ "__name__", "monitord_build_info" },
		{ "version", PACKAGE_VERSION },
	};
	struct timespec	 now;
	struct rusage	 ru;
	struct rlimit	 rl;
	unsigned long	 vsz = 0, rss = 0;
	FILE		*f;
	int		 fds;

	expo_help_type(b, "monitord_build_info", METRIC_GAUGE,
	    "Always 1; its version label tells which monitord runs here.");
	expo_sample(b, bi, 2, 1, 0);
	clock_gettime(CLOCK_REALTIME, &now);
	gauge(b, "monitord_start_time_seconds", METRIC_GAUGE,
	    "When this monitord started; a change means it restarted.",
	    (double)start_ms / 1000.0);
	gauge(b, "monitord_uptime_seconds", METRIC_GAUGE,
	    "How long this monitord has been running.",
	    (double)now.tv_sec + now.tv_nsec / 1e9 - (double)start_ms / 1000.0);

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		gauge(b, "process_cpu_seconds_total", METRIC_COUNTER,
		    "CPU time monitord itself used, user and system: what "
		    "monitoring costs this host.",
		    (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	if ((f = fopen("/proc/self/statm", "r")) != NULL) {
		if (fscanf(f, "%lu %lu", &vsz, &rss) == 2) {
			long page = sysconf(_SC_PAGESIZE);

			gauge(b, "process_resident_memory_bytes", METRIC_GAUGE,
			    "Memory monitord holds in RAM.", (double)rss * page);
			gauge(b, "process_virtual_memory_bytes", METRIC_GAUGE,
			    "Address space monitord maps (the store's memory "
			    "map included).", (double)vsz * page);
		}
		fclose(f);
	}
	if ((fds = count_fds()) >= 0)
		gauge(b, "process_open_fds", METRIC_GAUGE,
		    "File descriptors monitord has open (sockets included).",
		    fds);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		gauge(b, "process_max_fds", METRIC_GAUGE,
		    "The most file descriptors monitord may open.",
		    (double)rl.rlim_cur);
	gauge(b, "process_start_time_seconds", METRIC_GAUGE,
	    "When the monitord process started.", (double)start_ms / 1000.0);
}
