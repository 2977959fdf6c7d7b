/*
 * daemon: one running monitord instance.
 *
 * Owns the event loop, the loaded configuration, the HTTP server and the
 * collector targets, and swaps configurations on SIGHUP.  Everything of an
 * instance lives in struct monitord, so two instances could run in one
 * process (the tests do not, but nothing prevents it).
 */
#ifndef MONITORD_DAEMON_H
#define MONITORD_DAEMON_H

#include <stddef.h>

#include "conf.h"
#include "log.h"

struct monitord;

struct monitord_opts {
	const char	*config_path;	/* NULL: the default path */
	int		 config_given;	/* -c was used: the file must exist */
	const char	*data_dir;	/* -d, or NULL */
	int		 foreground;
	int		 log_level;	/* -l, or -1 */
};

/* The configuration text used when no file exists and none was named. */
extern const char monitord_default_config[];

/*
 * Load and check the configuration the options name: the file, or the
 * embedded default when no -c was given and /etc/monitord.conf does not
 * exist.  Every error goes to ERRS; NULL then.  *KINDS receives the schema
 * (free with schema_kinds_free after the conf).
 */
struct conf	*monitord_load_config(const struct monitord_opts *,
		    const struct conf_kind *const **kinds, struct conf_errors *);

/* A PromQL expression as Prometheus would take it: 0, or -1 with the
 * parser's message ("1:18: parse error: ..."). */
int		 monitord_check_expr(const char *, char *err, size_t errlen);

struct monitord	*monitord_new(const struct monitord_opts *, char *err,
		    size_t errlen);
/* Go to the background (fork, setsid, standard streams to /dev/null). */
int		 monitord_detach(struct monitord *);
/* Run until SIGTERM or SIGINT; 0 on a clean stop. */
int		 monitord_run(struct monitord *);
void		 monitord_free(struct monitord *);

#endif
