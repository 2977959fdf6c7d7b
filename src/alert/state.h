/*
 * state: rule evaluation, the per-series alert state machine, and the
 * series Prometheus writes about alerts.
 *
 * The evaluator knows nothing of the query engine: it asks an injected
 * alert_instant_fn for the instant vector of an expression at a time, and
 * hands what it writes (ALERTS, ALERTS_FOR_STATE, recording rules) as one
 * batch per rule evaluation to an injected alert_sink_fn.
 *
 * States follow Prometheus 2.42 exactly.  An alert (one series of expr,
 * labelled with the series' labels minus __name__, the rule's labels and
 * alertname) is pending from the first evaluation that returns it
 * (activeAt); it fires at the first evaluation where now - activeAt >= for
 * (at once with for = 0).  A pending alert whose series goes away is
 * dropped.  A firing alert whose series goes away keeps firing while the
 * rule's resolve expression returns its series (rules.h), then for
 * keep_firing_for counted from the first evaluation without it, then is
 * resolved (resolvedAt) and kept 15 minutes so that receivers hear of it.
 * A series that comes back after resolution is a new alert.  Annotations
 * and templated labels are expanded on every evaluation.
 *
 * Written series, as Prometheus writes them: ALERTS{alertname, alertstate=
 * "pending"|"firing", labels...} = 1 and ALERTS_FOR_STATE{alertname,
 * labels...} = activeAt in seconds, for every pending or firing alert; a
 * staleness marker for each series written at the previous evaluation and
 * not at this one.
 *
 * Sending, as Prometheus sends to Alertmanager: at an evaluation, each
 * firing or resolved alert not sent within the last minute, or resolved
 * since it was last sent, goes to the send callback with startsAt = when
 * it fired and endsAt = resolvedAt, or for a firing alert now + 4 x
 * max(1m, the group's interval) (valid until refreshed).
 *
 * Persistence: every change of an alert's state (new, fired, resolved,
 * dropped) calls the persist callback with a record (alert_record_json);
 * evaluator_restore puts records back after a restart, so a firing alert
 * is neither forgotten nor sent as new, and a pending one keeps its
 * activeAt.
 *
 * Off the loop: an evaluation is two halves.  rule_query runs a rule's
 * queries into a rule_result and touches no evaluator, so it may run on
 * any thread (alerting runs it on its rules worker); evaluator_apply then
 * applies that result to the state machine.  evaluator_eval does both in
 * one call.
 *
 * Threading: everything but rule_query on the event loop's thread; the
 * callbacks run synchronously.
 */
#ifndef MONITORD_ALERT_STATE_H
#define MONITORD_ALERT_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "alert/labels.h"
#include "alert/rules.h"

struct batch;
struct json_t;

/* An instant vector: owned label sets and values. */
struct alert_sample {
	struct lset	 labels;
	double		 v;
};

struct alert_vector {
	struct alert_sample	*v;
	size_t			 n;
	size_t			 cap;
};

/* Append a sample, copying its N labels (empty values dropped). */
void	 alert_vector_add(struct alert_vector *, const struct label *,
	    size_t n, double v);
/* Empty the vector, keeping its array. */
void	 alert_vector_reset(struct alert_vector *);
void	 alert_vector_free(struct alert_vector *);

/*
 * The engine's instant query: fill OUT (empty on entry) with the vector of
 * EXPR at T_MS; 0, or -1 with a message in ERR.  A scalar result is a
 * sample without labels.
 */
typedef int (*alert_instant_fn)(void *arg, const char *expr, int64_t t_ms,
	    struct alert_vector *out, char *err, size_t errlen);
/* Store the batch; 0 or -1 (counted, logged by the caller). */
typedef int (*alert_sink_fn)(void *arg, const struct batch *);

enum alert_state {
	ALERT_INACTIVE,		/* resolved, kept for notification */
	ALERT_PENDING,
	ALERT_FIRING,
};

struct alert {
	struct lset		 labels;
	struct lset		 annotations;
	struct lset		 source;	/* expr's labels sans __name__ */
	uint64_t		 fp;		/* lset_fingerprint(labels) */
	uint64_t		 source_fp;
	enum alert_state	 state;
	double			 value;
	int64_t			 active_at;	/* ms; all 0 = never */
	int64_t			 fired_at;
	int64_t			 resolved_at;
	int64_t			 keep_firing_since;
	int64_t			 last_sent_at;
	int64_t			 valid_until;
	int			 held;		/* kept by resolve */
};

/* What one evaluation hands to the send callback, per alert. */
struct alert_send {
	const struct alert	*alert;
	int64_t			 starts_at;
	int64_t			 ends_at;
};

struct evaluator_opts {
	alert_instant_fn	 instant;
	void			*instant_arg;
	alert_sink_fn		 sink;		/* may be NULL */
	void			*sink_arg;
	/* Alerts to notify, from one rule's evaluation; may be NULL. */
	void			(*send)(void *arg, const struct rule *,
				    const struct alert_send *, size_t n,
				    int64_t now);
	void			*send_arg;
	/* An alert changed state (ALERT record) or was dropped (NULL). */
	void			(*persist)(void *arg, const char *rule_key,
				    uint64_t fp, struct json_t *record);
	void			*persist_arg;
	const char		*external_url;	/* for templates; may be NULL */
};

enum rule_health {
	RULE_HEALTH_UNKNOWN,
	RULE_HEALTH_OK,
	RULE_HEALTH_ERR,
};

struct series_ref;

/* One rule's evaluation state: read-only outside state.c. */
struct rule_eval {
	const struct rule	 *rule;
	const struct rule_group	 *group;
	char			 *key;		/* group file, group, name */
	struct alert		**alerts;	/* sorted by fp, labels */
	size_t			  nalerts;
	size_t			  cap;
	enum rule_health	  health;
	char			  last_error[256];
	int64_t			  last_eval;	/* ms; 0 never */
	double			  eval_seconds;
	uint64_t		  evaluations;
	uint64_t		  failures;
	struct series_ref	 *written;	/* previous evaluation's */
	size_t			  nwritten;
};

/*
 * What the queries of one rule evaluation returned.  Zero it before the
 * first use; rule_result_free frees its vectors.
 */
struct rule_result {
	struct alert_vector	 vec;		/* expr's */
	int			 failed;	/* expr failed: err */
	char			 err[256];
	int			 resolved;	/* resolve_expr was run: */
	struct alert_vector	 rvec;
	int			 rfailed;
	char			 rerr[256];
	double			 seconds;	/* the queries' time */
};

void		 rule_result_free(struct rule_result *);
/*
 * Run EXPR at NOW through INSTANT into RES, then RESOLVE_EXPR too when not
 * NULL and EXPR succeeded.  Any thread: it reads nothing but its
 * arguments.
 */
void		 rule_query(alert_instant_fn, void *arg, const char *expr,
		    const char *resolve_expr, int64_t now,
		    struct rule_result *);

struct evaluator;

/* RS must outlive the evaluator. */
struct evaluator *evaluator_new(const struct ruleset *,
		    const struct evaluator_opts *);
void		 evaluator_free(struct evaluator *);
/* Evaluate one rule at NOW (ms): 0, or -1 (rule health err). */
int		 evaluator_eval(struct evaluator *, size_t group, size_t rule,
		    int64_t now);
/*
 * Whether rule_query should run the rule's resolve expression too: the
 * rule has one and one of its alerts fires (only a firing alert that lost
 * its series asks for it; which ones did is known only with the result).
 */
int		 evaluator_wants_resolve(const struct evaluator *,
		    size_t group, size_t rule);
/*
 * Apply RES (from rule_query at NOW) as the rule's evaluation at NOW:
 * 0, or -1 (rule health err).  When RES lacks a resolve result the rule
 * needs, it is asked for now, through the evaluator's instant_fn.
 */
int		 evaluator_apply(struct evaluator *, size_t group,
		    size_t rule, int64_t now, struct rule_result *res);
/* Record a group's evaluation started at LAST (ms) that took SECONDS. */
void		 evaluator_set_group_times(struct evaluator *, size_t group,
		    int64_t last, double seconds);
const struct rule_eval *evaluator_rule(const struct evaluator *,
		    size_t group, size_t rule);
/* The group's last evaluation: start (ms) and duration (s). */
void		 evaluator_group_times(const struct evaluator *, size_t group,
		    int64_t *last, double *seconds);
/*
 * Put back an alert RECORD of the rule KEY after a restart: 0, or -1 when
 * the rule no longer exists or the record is malformed.
 */
int		 evaluator_restore(struct evaluator *, const char *rule_key,
		    const struct json_t *record);
/*
 * Carry the alerts of OLD's rules over to NEW's rules of the same key and
 * expression (after a reload), so nothing restarts pending.
 */
void		 evaluator_take_state(struct evaluator *new,
		    struct evaluator *old);

const char	*alert_state_name(enum alert_state);
/* The persistence record of an alert (new reference). */
struct json_t	*alert_record_json(const struct alert *);

#endif
