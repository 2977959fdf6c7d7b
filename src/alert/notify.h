/*
 * notify: receivers and the delivery of notifications that loses none.
 *
 * [webhook "NAME"] receivers get Alertmanager's webhook payload (version
 * "4") for each notification their dispatcher (dispatch.h: group_by,
 * group_wait, group_interval, repeat_interval) decides on.
 * [alertmanager "NAME"] receivers get the alerts themselves, as Prometheus
 * posts them to /api/v2/alerts (a JSON array of labels, annotations,
 * startsAt, endsAt, generatorURL), and group them on their side.  Silenced
 * alerts go to neither.
 *
 * Durability.  A notification is written to the alerting LMDB environment
 * (KV_DB_ALERT_QUEUE, together with the dispatcher's log entry for its
 * group, in one transaction) before any attempt to send it, and deleted
 * only after a 2xx answer.  Each receiver delivers its queue in order, one
 * request at a time; a failure (connection error, timeout, 5xx, 408, 429)
 * is retried after an exponential backoff with jitter (a uniformly random
 * delay between half and all of min(backoff_max, backoff_min x 2^n)), until
 * the notification is older than expiry, when it is dropped and counted.
 * Another 4xx is the receiver refusing the payload: dropped, counted,
 * logged.  On start the queue is read back, so a restart, even kill -9,
 * loses no notification; a notification whose 2xx answer arrived is never
 * sent again, one whose answer was cut short by the restart may be.
 *
 * Threading: the event loop's thread.
 */
#ifndef MONITORD_ALERT_NOTIFY_H
#define MONITORD_ALERT_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "alert/state.h"
#include "metric.h"

struct buf;
struct conf;
struct event_base;
struct kv;
struct lset;
struct json_t;

struct notifier_opts {
	struct event_base	*base;
	struct kv		*kv;		/* the alerting environment */
	const char		*external_url;	/* without a trailing '/' */
	int64_t			 backoff_min_ms;	/* default 1s */
	int64_t			 backoff_max_ms;	/* default 5m */
	int64_t			 expiry_ms;		/* default 24h */
	int			(*silenced)(void *arg, const struct lset *,
				    int64_t now);
	void			*silenced_arg;
};

struct notifier;

/*
 * Receivers of CONF; reads their secret files.  NULL with a message when
 * one cannot be read or the queue cannot be loaded.
 */
struct notifier	*notifier_new(const struct conf *,
		    const struct notifier_opts *, char *err, size_t errlen);
/* Begin delivering what is queued (not before: see alerting_reload). */
void		 notifier_start(struct notifier *);
/* Cancels requests in flight; what is queued stays queued on disk. */
void		 notifier_free(struct notifier *);
/* The evaluator's send callback (state.h). */
void		 notifier_send(void *notifier, const struct rule *,
		    const struct alert_send *, size_t n, int64_t now);
/* Queued notifications, all receivers. */
size_t		 notifier_queue_length(const struct notifier *);
void		 notifier_write_metrics(struct notifier *, struct buf *);
/* /api/alertmanagers-like view of receivers and queues (new reference). */
struct json_t	*notifier_json(const struct notifier *);

/* Prometheus's generator URL for EXPR under EXTERNAL_URL, into B. */
void		 notify_generator_url(struct buf *, const char *external_url,
		    const char *expr);

extern const struct metric_def notify_metrics[];

#endif
