/*
 * log: the daemon's log.
 *
 * In the foreground lines go to stderr with a level prefix; in the background
 * to syslog (facility daemon).  log_warn appends strerror(errno).  The level
 * is checked before formatting, so debug lines cost nothing when off.
 * fatal/fatalx log and exit(1).  Secrets must never be passed here.
 *
 * The logger is process-wide by nature (stderr and syslog are too); it holds
 * only the destination and the level, never per-instance state.
 */
#ifndef MONITORD_LOG_H
#define MONITORD_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

void	log_init(int foreground, enum log_level);
void	log_set_level(enum log_level);
enum log_level log_get_level(void);
int	log_level_parse(const char *, enum log_level *);

#define LOG_FMT __attribute__((format(printf, 1, 2)))
void	log_warn(const char *, ...) LOG_FMT;
void	log_warnx(const char *, ...) LOG_FMT;
void	log_info(const char *, ...) LOG_FMT;
void	log_debug(const char *, ...) LOG_FMT;
void	fatal(const char *, ...) LOG_FMT __attribute__((noreturn));
void	fatalx(const char *, ...) LOG_FMT __attribute__((noreturn));
#undef LOG_FMT

#endif
