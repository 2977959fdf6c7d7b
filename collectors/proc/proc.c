/*
 * proc: the /proc collector kind (see proc.h): its keys, and the callbacks
 * that turn a validated [proc "NAME"] section into a target (collect.c)
 * and run it.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "proc.h"
#include "proc_impl.h"

static const struct conf_key proc_keys[] = {
	{ "root", CONF_PATH, 0, "/", NULL, 0, 0,
	  "Directory whose proc/ is read. Another root than / (a test tree, "
	  "a host's /proc mounted elsewhere) reports no filesystem sizes "
	  "unless it holds a statvfs file (see monitord-metrics(7))." },
	{ "host", CONF_BOOL, 0, NULL, NULL, 0, 0,
	  "Collect the host's metrics: CPU, memory, load, pressure, disks, "
	  "network, filesystems, file handles, TCP sessions. Default: yes, "
	  "unless process, cmdline or pidfile is set." },
	{ "process", CONF_STRING, 0, NULL, NULL, 0, 0,
	  "Group the processes whose command name is this (as ps -o comm "
	  "shows it; the kernel keeps the first 15 bytes)." },
	{ "cmdline", CONF_REGEX, 0, NULL, NULL, 0, 0,
	  "Group the processes whose command line, arguments joined by "
	  "spaces, matches this regex (unanchored; kernel threads, which have "
	  "no command line, never match)." },
	{ "pidfile", CONF_PATH, 0, NULL, NULL, 0, 0,
	  "Group the one process whose pid this file holds; while the file "
	  "is missing the group has no process." },
	{ "ports", CONF_STRING, 0, NULL, NULL, 0, 0,
	  "Count established TCP sessions on these local ports only, "
	  "separated by blanks or commas, even when nothing listens on them. "
	  "Default: every listening port, when host metrics are on." },
	{ "disk_exclude", CONF_REGEX, 0, PROC_DISK_EXCLUDE, NULL, 0, 0,
	  "Block devices to leave out, a regex on the name (^$: none)." },
	{ "fs_exclude", CONF_REGEX, 0, PROC_FS_EXCLUDE, NULL, 0, 0,
	  "Mount points to leave out, a regex (^$: none)." },
	{ "fs_types_exclude", CONF_REGEX, 0, PROC_FS_TYPES_EXCLUDE, NULL, 0, 0,
	  "Filesystem types to leave out, a regex (^$: none). Network "
	  "filesystems are left out by default: statvfs on a mount whose "
	  "server is gone would block monitord." },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL },
};

static const char *
opt(const struct conf_section *s, const char *key)
{
	return conf_has(s, key) ? conf_str(s, key) : NULL;
}

/* An empty regex would match everything; if one ever gets here, none. */
static const char *
opt_regex(const struct conf_section *s, const char *key)
{
	const char *v = conf_str(s, key);

	return v != NULL && *v != '\0' ? v : NULL;
}

static void
proc_opts_from(const struct conf_section *s, struct proc_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->name = conf_section_name(s);
	if (o->name == NULL)
		o->name = "proc";
	o->root = conf_str(s, "root");
	o->process = opt(s, "process");
	o->cmdline = opt(s, "cmdline");
	o->pidfile = opt(s, "pidfile");
	o->ports = opt(s, "ports");
	o->disk_exclude = opt_regex(s, "disk_exclude");
	o->fs_exclude = opt_regex(s, "fs_exclude");
	o->fs_types_exclude = opt_regex(s, "fs_types_exclude");
	if (conf_has(s, "host"))
		o->host = conf_bool(s, "host");
	else
		o->host = o->process == NULL && o->cmdline == NULL &&
		    o->pidfile == NULL;
}

static void
proc_check(const struct conf_section *s, struct conf_errors *errs)
{
	struct proc_opts	 o;
	const char		*key = NULL;
	char			 msg[256];

	proc_opts_from(s, &o);
	if (proc_opts_check(&o, &key, msg, sizeof(msg)) == -1)
		conf_error(errs, s, key != NULL && conf_has(s, key) ? key : NULL,
		    "%s", msg);
}

static void *
proc_build(const struct conf_section *s, struct event_base *base, char *err,
    size_t errlen)
{
	struct proc_opts o;

	proc_opts_from(s, &o);
	return proc_target_new(&o, err, errlen);
}

static const char *
proc_instance(void *priv)
{
	return proc_target_instance(priv);
}

static void
proc_run(void *priv, struct run *r)
{
	char err[512];

	if (proc_target_collect(priv, run_batch(r), 0, err, sizeof(err)) == -1)
		run_done(r, RUN_ERROR, "%s", err);
	else
		run_done(r, RUN_OK, "%s", "ok");
}

/* A run ends before run() returns: there is never one to cancel. */
static void
proc_cancel(void *priv, struct run *r)
{
}

static void
proc_free(void *priv)
{
	proc_target_free(priv);
}

const struct collector_kind proc_collector = {
	.kind = "proc",
	.help = "Host metrics from /proc (CPU, memory, pressure, disks, "
	    "network, filesystems), TCP sessions per port and process groups",
	.keys = proc_keys,
	.metrics = proc_metrics,
	.check = proc_check,
	.build = proc_build,
	.instance = proc_instance,
	.run = proc_run,
	.cancel = proc_cancel,
	.free = proc_free,
};
