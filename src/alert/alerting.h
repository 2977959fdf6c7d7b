/*
 * alerting: the daemon's single entry point to alerts.
 *
 * It loads the rules of a conf ([alert] sections and rule_files), evaluates
 * every rule group on its interval through the engine's instant query
 * (instant_fn), writes ALERTS, ALERTS_FOR_STATE and recorded
 * series through sink_fn, notifies the [webhook] and [alertmanager]
 * receivers, and serves /api/alerts, /api/v1/alerts, /api/v1/rules and
 * /api/silences on the httpd.  Its state (alerts, the notification queue
 * and log, silences) lives in a second LMDB environment, DATA_DIR/alerts,
 * so a restart neither re-pages nor forgets a firing alert.
 *
 * Rule queries run on a worker thread of its own (src/worker.h), one
 * rule at a time, so that a slow rule never holds up the loop; their
 * results come back to the loop, where the alert state machine, the
 * written series and the notifications are handled, so all alert state
 * is the loop's alone.  A group's rules run in order, each seeing what the
 * ones before it recorded; a group still evaluating at its next tick
 * skips that tick (monitord_rule_group_iterations_missed_total).  Groups
 * share the one thread, so a slow group delays the others too.
 *
 * Lifetime: the httpd, the event base and instant_arg must outlive it
 * (instant_arg until alerting_stop); free it after the httpd has stopped
 * serving (its routes point into it).  Threading: the event loop's
 * thread, which must have libevent's pthread support on; instant_fn runs
 * on the rules worker and must be safe to call from there.
 */
#ifndef MONITORD_ALERT_ALERTING_H
#define MONITORD_ALERT_ALERTING_H

#include <stddef.h>

#include "alert/rules.h"
#include "alert/state.h"
#include "metric.h"

struct buf;
struct conf;
struct event_base;
struct httpd;

struct alerting_opts {
	const char		*data_dir;	/* DATA_DIR; alerts/ inside */
	alert_instant_fn	 instant;
	void			*instant_arg;
	alert_sink_fn		 sink;		/* may be NULL */
	void			*sink_arg;
	/* PromQL check of rule expressions (may be NULL). */
	int			(*expr_check)(const char *, char *, size_t);
	/* Tests only: delivery backoff and first evaluation (0: default). */
	int64_t			 backoff_min_ms;
	int64_t			 backoff_max_ms;
};

struct alerting;

/*
 * Start alerting for CONF.  HTTPD may be NULL (no API).  NULL with the
 * errors in ERR ("file:line: message" lines) when the rules do not load or
 * the state cannot be opened.
 */
struct alerting	*alerting_new(struct event_base *, const struct conf *,
		    const struct alerting_opts *, struct httpd *, char *err,
		    size_t errlen);
/*
 * Switch to the rules and receivers of CONF, keeping alert states of
 * unchanged rules, queued notifications and silences.  -1 with ERR and the
 * old configuration still running when the new one does not load.
 */
int		 alerting_reload(struct alerting *, const struct conf *,
		    char *err, size_t errlen);
/*
 * Stop evaluating: no more ticks, the queries in flight finished and
 * their results dropped.  Call it before instant_arg goes; the API keeps
 * serving the last state.  alerting_free does it too.
 */
void		 alerting_stop(struct alerting *);
void		 alerting_free(struct alerting *);

/* For `monitord -t`: the rule errors of CONF, appended to ERRS. */
int		 alerting_check(const struct conf *,
		    int (*expr_check)(const char *, char *, size_t),
		    struct rule_errors *errs);

/* monitord_rule_* and monitord_notification* metrics, text format. */
void		 alerting_write_metrics(struct alerting *, struct buf *);
extern const struct metric_def alerting_metrics[];

#endif
