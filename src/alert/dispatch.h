/*
 * dispatch: Alertmanager's grouping for one receiver, with injected time.
 *
 * Alerts (as the evaluator sends them: labels, annotations, startsAt,
 * endsAt) fall into groups by the values of the receiver's group_by labels.
 * A new group is flushed group_wait after its first alert (at once when
 * that alert started more than group_wait ago, as after a restart), then
 * every group_interval.  A flush notifies when, compared with the group's
 * last notification (its "nflog" entry): a firing alert is new; or every
 * alert resolved while the last notification had firing ones; or some
 * alert resolved since; or repeat_interval has passed with alerts still
 * firing.  Silenced alerts are left out before that decision.  After a
 * flush whose notification was accepted, the resolved alerts leave the
 * group and an empty group is dropped.  An alert counts as resolved once
 * its endsAt has passed, so one that stops being refreshed resolves by
 * itself.
 *
 * The nflog entries outlive their groups (for NFLOG_RETENTION) so that a
 * group that comes back, or one rebuilt after a restart from persisted
 * entries (dispatch_nflog_restore), is not notified again needlessly.
 *
 * Nothing here does I/O: the caller runs dispatch_flush at
 * dispatch_next_due and gets each notification through a callback that
 * must store it durably (with the entry it is given) and return 0, or -1
 * to have the flush retried at the next group_interval.
 */
#ifndef MONITORD_ALERT_DISPATCH_H
#define MONITORD_ALERT_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "alert/labels.h"

#define NFLOG_RETENTION_MS	(120 * 3600 * 1000LL)

struct dalert {
	struct lset	 labels;
	struct lset	 annotations;
	uint64_t	 fp;
	int64_t		 starts_at;
	int64_t		 ends_at;	/* 0: none */
	int64_t		 updated_at;
	char		*generator_url;
};

struct nflog_entry {
	uint64_t	*firing;	/* sorted */
	size_t		 nfiring;
	uint64_t	*resolved;	/* sorted */
	size_t		 nresolved;
	int64_t		 ts;		/* ms */
};

struct dgroup_view {
	const char		 *key;		/* Alertmanager's groupKey */
	const struct lset	 *group_labels;
	const struct dalert	**alerts;	/* sorted, silenced left out */
	size_t			  nalerts;
	int64_t			  now;		/* a resolved alert has
						   ends_at <= now */
	const struct nflog_entry *entry;	/* what is logged on success */
};

struct dispatch_opts {
	const char	 *receiver;
	const char *const *group_by;	/* label names; NULL-ended */
	int64_t		  group_wait_ms;
	int64_t		  group_interval_ms;
	int64_t		  repeat_interval_ms;
	/* 1 when the alert's labels are silenced at NOW; may be NULL. */
	int		(*silenced)(void *arg, const struct lset *, int64_t now);
	void		 *silenced_arg;
	int		(*notify)(void *arg, const struct dgroup_view *);
	void		 *notify_arg;
};

struct dispatch;

struct dispatch	*dispatch_new(const struct dispatch_opts *);
void		 dispatch_free(struct dispatch *);
/* Add or refresh an alert (copied) at NOW. */
void		 dispatch_insert(struct dispatch *, const struct lset *labels,
		    const struct lset *annotations, int64_t starts_at,
		    int64_t ends_at, const char *generator_url, int64_t now);
/* When the next flush is due (ms), INT64_MAX when no group exists. */
int64_t		 dispatch_next_due(const struct dispatch *);
/* Flush every group due at NOW; returns the notifications made. */
size_t		 dispatch_flush(struct dispatch *, int64_t now);
size_t		 dispatch_groups(const struct dispatch *);
/* Put back a logged entry (after a restart). */
void		 dispatch_nflog_restore(struct dispatch *, const char *key,
		    const struct nflog_entry *);
/* Encode and decode entries for storage (buffer owned by the caller). */
void		 nflog_encode(const struct nflog_entry *, struct buf *);
int		 nflog_decode(const void *, size_t, struct nflog_entry *);
void		 nflog_entry_clear(struct nflog_entry *);

#endif
