/*
 * alerting: rules, evaluator, notifier and silences put together on the
 * event loop, with their LMDB environment (see alerting.h).
 *
 * Alert records (KV_DB_ALERT_STATE): key = rule key (file, group and rule
 * name separated by 0x1f), NUL, 8-byte big-endian fingerprint; value = the
 * JSON of alert_record_json().
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "alert/alerting.h"
#include "alert/api.h"
#include "alert/notify.h"
#include "alert/rules.h"
#include "alert/silence.h"
#include "alert/state.h"
#include "buf.h"
#include "conf.h"
#include "log.h"
#include "storage/kv.h"
#include "worker.h"
#include "xmalloc.h"

#define ALERT_MAP_MAX	(1ULL << 30)
/* Each group has at most one rule queued per ruleset: this only bounds
   what reloads in a row can leave behind. */
#define RULES_QUEUE_MAX	4096

const struct metric_def alerting_metrics[] = {
	{ "monitord_rule_evaluation_duration_seconds", METRIC_GAUGE,
	  "rule_group",
	  "How long the last evaluation of each rule group took, from its "
	  "tick to its last rule's result: a group that takes longer than "
	  "its interval skips ticks." },
	{ "monitord_rule_evaluation_failures_total", METRIC_COUNTER,
	  "rule_group",
	  "Rule evaluations that failed (query error, duplicate label sets, "
	  "limit exceeded), per group: an alert that cannot be evaluated "
	  "cannot fire." },
	{ "monitord_rule_evaluations_total", METRIC_COUNTER, "rule_group",
	  "Rule evaluations, per group, to relate the failures to." },
	{ "monitord_rule_group_iterations_missed_total", METRIC_COUNTER,
	  "rule_group",
	  "Evaluations of a rule group skipped because its previous one was "
	  "still running: its rules are slower than its interval." },
	{ "monitord_alerts", METRIC_GAUGE, "state",
	  "Alerts now pending or firing." },
	{ NULL, 0, NULL, NULL }
};

struct gtimer {
	struct alerting	*a;
	size_t		 group;
	struct event	*ev;
	int64_t		 next;
	int		 busy;		/* an evaluation is in flight */
	int64_t		 now;		/* its evaluation time (ms) */
	int64_t		 t0;		/* when it started (monotonic ns) */
	uint64_t	 missed;
};

/*
 * One rule's queries on the rules worker.  It owns copies of what the
 * worker reads, since a reload may free the ruleset meanwhile; GEN says
 * which ruleset it belongs to, so that its result is dropped when that
 * one is gone.
 */
struct rule_job {
	struct alerting		*a;
	uint64_t		 gen;
	struct gtimer		*g;	/* valid only while gen is current */
	size_t			 rule;
	int64_t			 now;
	char			*expr;
	char			*resolve_expr;	/* NULL: not wanted */
	alert_instant_fn	 instant;
	void			*instant_arg;
	struct rule_result	 res;
};

struct alerting {
	struct event_base	*base;
	struct alerting_opts	 o;
	char			*dir;
	struct kv		*kv;
	struct ruleset		*rs;
	struct evaluator	*ev;
	struct notifier		*n;
	struct silences		*sil;
	struct gtimer		*timers;
	size_t			 ntimers;
	char			*external_url;
	/* Rule queries run here, off the loop; their results are applied
	   on the loop, so evaluator state is the loop's alone. */
	struct worker		*worker;
	/* Bumped when the ruleset goes (reload, stop): jobs of an older
	   one are skipped and their results dropped.  Read by the worker. */
	atomic_uint_fast64_t	 gen;
};

int64_t
alerting_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const struct ruleset *
alerting_ruleset(const struct alerting *a)
{
	return a->rs;
}

const struct evaluator *
alerting_evaluator(const struct alerting *a)
{
	return a->ev;
}

struct silences *
alerting_silences(const struct alerting *a)
{
	return a->sil;
}

struct notifier *
alerting_notifier(const struct alerting *a)
{
	return a->n;
}

static void
errs_join(const struct rule_errors *e, char *err, size_t errlen)
{
	size_t	i, off = 0;
	int	w;

	if (errlen == 0)
		return;
	err[0] = '\0';
	for (i = 0; i < e->n && off < errlen; i++) {
		w = snprintf(err + off, errlen - off, "%s%s", i ? "\n" : "",
		    e->v[i]);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

int
alerting_check(const struct conf *conf,
    int (*expr)(const char *, char *, size_t), struct rule_errors *errs)
{
	struct ruleset	*rs = ruleset_load(conf, expr, errs);

	if (rs == NULL)
		return -1;
	ruleset_free(rs);
	return 0;
}

/* Persistence of alert states. */

struct state_put {
	const char	*key;
	uint64_t	 fp;
	const char	*val;
};

static int
state_txn(struct kv_txn *t, void *arg)
{
	struct state_put	*p = arg;
	struct buf		 k = BUF_INIT;
	unsigned char		 fp[8];
	uint64_t		 v = p->fp;
	int			 i, rc;

	for (i = 7; i >= 0; i--) {
		fp[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
	buf_add(&k, p->key, strlen(p->key) + 1);
	buf_add(&k, fp, 8);
	if (p->val != NULL)
		rc = kv_put(t, KV_DB_ALERT_STATE, k.data, k.len, p->val,
		    strlen(p->val));
	else {
		rc = kv_del(t, KV_DB_ALERT_STATE, k.data, k.len, NULL, 0);
		if (rc == KV_NOTFOUND)
			rc = 0;
	}
	buf_free(&k);
	return rc;
}

static void
persist_cb(void *arg, const char *key, uint64_t fp, json_t *rec)
{
	struct alerting		*a = arg;
	struct state_put	 p;
	char			 err[256];

	p.key = key;
	p.fp = fp;
	p.val = rec != NULL ? json_dumps(rec, JSON_COMPACT) : NULL;
	if (kv_write(a->kv, state_txn, &p, err, sizeof(err)) != 0)
		log_warnx("alert state not saved: %s", err);
	free((char *)p.val);
}

struct key_list {
	struct kv_val	*v;		/* owned copies */
	size_t		 n;
};

static int
drop_txn(struct kv_txn *t, void *arg)
{
	struct key_list	*l = arg;
	size_t		 i;
	int		 rc;

	for (i = 0; i < l->n; i++) {
		rc = kv_del(t, KV_DB_ALERT_STATE, l->v[i].data, l->v[i].len,
		    NULL, 0);
		if (rc != 0 && rc != KV_NOTFOUND)
			return rc;
	}
	return 0;
}

/* Put back the saved alerts; records of rules gone since are deleted. */
static void
restore(struct alerting *a)
{
	struct kv_txn		*t;
	struct kv_cursor	*c;
	struct kv_val		 k, v;
	struct key_list		 drop = { NULL, 0 };
	json_t			*rec;
	char			 err[256];
	size_t			 restored = 0, dropped = 0, i;
	int			 op;

	if (kv_read_begin(a->kv, &t, err, sizeof(err)) != 0) {
		log_warnx("alert states not restored: %s", err);
		return;
	}
	if (kv_cursor_open(t, KV_DB_ALERT_STATE, &c) == 0) {
		for (op = KV_FIRST; kv_cursor_get(c, op, &k, &v) == 0;
		    op = KV_NEXT) {
			rec = json_loadb(v.data, v.len, 0, NULL);
			if (memchr(k.data, '\0', k.len) != NULL && rec != NULL
			    && evaluator_restore(a->ev, k.data, rec) == 0)
				restored++;
			else {
				drop.v = xreallocarray(drop.v, drop.n + 1,
				    sizeof(*drop.v));
				drop.v[drop.n].data = xmalloc(k.len);
				memcpy((void *)drop.v[drop.n].data, k.data,
				    k.len);
				drop.v[drop.n++].len = k.len;
				dropped++;
			}
			json_decref(rec);
		}
		kv_cursor_close(c);
	}
	kv_read_end(t);
	if (drop.n > 0 && kv_write(a->kv, drop_txn, &drop, err,
	    sizeof(err)) != 0)
		log_warnx("stale alert states not removed: %s", err);
	for (i = 0; i < drop.n; i++)
		free((void *)drop.v[i].data);
	free(drop.v);
	if (restored > 0 || dropped > 0)
		log_info("alert states restored: %zu (%zu of rules no longer "
		    "configured removed)", restored, dropped);
}

/*
 * Group evaluation.  A tick starts the group's first rule's queries on the
 * rules worker; each rule's result is applied on the loop, then the next
 * rule's queries start, so that a rule sees what the rules before it in
 * the group recorded at the same time, as in Prometheus.  A tick that
 * finds the group's previous evaluation still running is skipped and
 * counted.
 */

static void	rule_job_done(void *);

static int64_t
mono_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
rule_job_free(struct rule_job *j)
{
	rule_result_free(&j->res);
	free(j->expr);
	free(j->resolve_expr);
	free(j);
}

/* On the rules worker. */
static void
rule_job_run(void *arg)
{
	struct rule_job	*j = arg;

	if (atomic_load(&j->a->gen) != j->gen)
		return;		/* its ruleset is gone: nobody wants it */
	rule_query(j->instant, j->instant_arg, j->expr, j->resolve_expr,
	    j->now, &j->res);
}

static void
group_finish(struct gtimer *g)
{
	evaluator_set_group_times(g->a->ev, g->group, g->now,
	    (double)(mono_ns() - g->t0) / 1e9);
	g->busy = 0;
}

/* Queue the queries of rule R of G's group; the group ends after the last. */
static void
group_submit(struct gtimer *g, size_t r)
{
	struct alerting		*a = g->a;
	const struct rule_group	*rg = &a->rs->groups[g->group];
	struct rule_job		*j;

	if (r >= rg->nrules) {
		group_finish(g);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->a = a;
	j->gen = atomic_load(&a->gen);
	j->g = g;
	j->rule = r;
	j->now = g->now;
	j->expr = xstrdup(rg->rules[r].expr);
	if (evaluator_wants_resolve(a->ev, g->group, r))
		j->resolve_expr = xstrdup(rg->rules[r].resolve_expr);
	j->instant = a->o.instant;
	j->instant_arg = a->o.instant_arg;
	if (worker_submit(a->worker, rule_job_run, rule_job_done, j) == -1) {
		/* Cannot happen short of a storm of reloads: skip the rest. */
		log_warnx("rule group %s: evaluation queue full", rg->name);
		rule_job_free(j);
		group_finish(g);
	}
}

/* On the loop: apply the rule's result, then go on with the next rule. */
static void
rule_job_done(void *arg)
{
	struct rule_job	*j = arg;
	struct gtimer	*g = j->g;
	size_t		 r = j->rule;

	if (atomic_load(&j->a->gen) != j->gen) {
		rule_job_free(j);
		return;
	}
	evaluator_apply(j->a->ev, g->group, r, j->now, &j->res);
	rule_job_free(j);
	group_submit(g, r + 1);
}

/* Group timers: next += interval, so evaluations do not drift. */

static void
group_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gtimer	*g = arg;
	struct alerting	*a = g->a;
	int64_t		 now = alerting_now(), d;
	int64_t		 iv = a->rs->groups[g->group].interval_ms;
	struct timeval	 tv;

	if (g->busy) {
		g->missed++;
		log_debug("rule group %s: still evaluating, iteration "
		    "skipped", a->rs->groups[g->group].name);
	} else {
		g->busy = 1;
		g->now = now;
		g->t0 = mono_ns();
		group_submit(g, 0);
	}
	g->next += iv;
	if (g->next <= now)	/* fell behind: skip missed ticks */
		g->next = now + iv - (now - g->next) % iv;
	d = g->next - alerting_now();
	if (d < 0)
		d = 0;
	tv.tv_sec = d / 1000;
	tv.tv_usec = (d % 1000) * 1000;
	evtimer_add(g->ev, &tv);
}

/* Also orphans the jobs in flight: their results will be dropped. */
static void
timers_stop(struct alerting *a)
{
	size_t	i;

	atomic_fetch_add(&a->gen, 1);
	for (i = 0; i < a->ntimers; i++)
		event_free(a->timers[i].ev);
	free(a->timers);
	a->timers = NULL;
	a->ntimers = 0;
}

static void
timers_start(struct alerting *a)
{
	struct timeval	tv = { 0, 0 };
	size_t		i;

	a->ntimers = a->rs->ngroups;
	a->timers = xcalloc(a->ntimers + 1, sizeof(*a->timers));
	for (i = 0; i < a->ntimers; i++) {
		a->timers[i].a = a;
		a->timers[i].group = i;
		a->timers[i].next = alerting_now();
		a->timers[i].ev = evtimer_new(a->base, group_cb,
		    &a->timers[i]);
		/* The first evaluation right away, from the loop. */
		evtimer_add(a->timers[i].ev, &tv);
	}
}

static char *
external_url(const struct conf *conf)
{
	const struct conf_section	*srv = conf_get(conf, "server");
	const char			*u, *l;
	char				*s;
	size_t				 n;

	if (conf_has(srv, "external_url")) {
		u = conf_str(srv, "external_url");
		n = strlen(u);
		while (n > 0 && u[n - 1] == '/')
			n--;
		return xstrndup(u, n);
	}
	l = conf_str(srv, "listen");
	if (strncmp(l, "0.0.0.0:", 8) == 0)
		xasprintf(&s, "http://127.0.0.1:%s", l + 8);
	else if (strncmp(l, "[::]:", 5) == 0)
		xasprintf(&s, "http://[::1]:%s", l + 5);
	else
		xasprintf(&s, "http://%s", l);
	return s;
}

/* Rules defaulting their interval to the server's. */
static struct ruleset *
load_rules(const struct conf *conf, int (*expr)(const char *, char *,
    size_t), char *err, size_t errlen)
{
	struct rule_errors	 errs = { NULL, 0 };
	struct ruleset		*rs;
	int64_t			 iv;
	size_t			 i;

	if ((rs = ruleset_load(conf, expr, &errs)) == NULL) {
		errs_join(&errs, err, errlen);
		rule_errors_free(&errs);
		return NULL;
	}
	iv = conf_duration(conf_get(conf, "server"), "evaluation_interval");
	for (i = 0; i < rs->ngroups; i++)
		if (rs->groups[i].interval_ms <= 0)
			rs->groups[i].interval_ms = iv;
	return rs;
}

/* The evaluator is made before the notifier it sends to: forward. */
static void
send_cb(void *arg, const struct rule *r, const struct alert_send *s,
    size_t n, int64_t now)
{
	struct alerting	*a = arg;

	if (a->n != NULL)
		notifier_send(a->n, r, s, n, now);
}

static struct evaluator *
make_evaluator(struct alerting *a, const struct ruleset *rs)
{
	struct evaluator_opts	eo;

	memset(&eo, 0, sizeof(eo));
	eo.instant = a->o.instant;
	eo.instant_arg = a->o.instant_arg;
	eo.sink = a->o.sink;
	eo.sink_arg = a->o.sink_arg;
	eo.send = send_cb;
	eo.send_arg = a;
	eo.persist = persist_cb;
	eo.persist_arg = a;
	eo.external_url = a->external_url;
	return evaluator_new(rs, &eo);
}

static struct notifier *
make_notifier(struct alerting *a, const struct conf *conf, char *err,
    size_t errlen)
{
	struct notifier_opts	no;

	memset(&no, 0, sizeof(no));
	no.base = a->base;
	no.kv = a->kv;
	no.external_url = a->external_url;
	no.backoff_min_ms = a->o.backoff_min_ms;
	no.backoff_max_ms = a->o.backoff_max_ms;
	no.silenced = silences_match;
	no.silenced_arg = a->sil;
	return notifier_new(conf, &no, err, errlen);
}

struct alerting *
alerting_new(struct event_base *base, const struct conf *conf,
    const struct alerting_opts *o, struct httpd *httpd, char *err,
    size_t errlen)
{
	struct alerting		*a = xcalloc(1, sizeof(*a));
	struct kv_opts		 ko;

	a->base = base;
	a->o = *o;
	atomic_init(&a->gen, 0);
	a->external_url = external_url(conf);
	xasprintf(&a->dir, "%s/alerts", o->data_dir);
	if (mkdir(a->dir, 0750) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", a->dir,
		    strerror(errno));
		goto fail;
	}
	memset(&ko, 0, sizeof(ko));
	ko.dir = a->dir;
	ko.map_initial = 16ULL << 20;
	ko.map_max = ALERT_MAP_MAX;
	if ((a->kv = kv_open(&ko, err, errlen)) == NULL)
		goto fail;
	if ((a->rs = load_rules(conf, o->expr_check, err, errlen)) == NULL)
		goto fail;
	if ((a->sil = silences_new(a->kv, err, errlen)) == NULL)
		goto fail;
	a->ev = make_evaluator(a, a->rs);
	if ((a->n = make_notifier(a, conf, err, errlen)) == NULL)
		goto fail;
	if ((a->worker = worker_new(base, RULES_QUEUE_MAX, 1)) == NULL) {
		snprintf(err, errlen, "cannot start the rules worker thread");
		goto fail;
	}
	restore(a);
	notifier_start(a->n);
	if (httpd != NULL)
		alert_api_register(httpd, a);
	timers_start(a);
	return a;
fail:
	alerting_free(a);
	return NULL;
}

int
alerting_reload(struct alerting *a, const struct conf *conf, char *err,
    size_t errlen)
{
	struct ruleset		*rs;
	struct evaluator	*ev;
	struct notifier		*n, *old_n;
	char			*url = a->external_url;
	uint64_t		*missed;
	size_t			 i, k;

	if ((rs = load_rules(conf, a->o.expr_check, err, errlen)) == NULL)
		return -1;
	a->external_url = external_url(conf);
	if ((n = make_notifier(a, conf, err, errlen)) == NULL) {
		free(a->external_url);
		a->external_url = url;
		ruleset_free(rs);
		return -1;
	}
	/* The old notifier's requests in flight are cancelled; the new one
	   read the same queue from disk and takes over from here. */
	old_n = a->n;
	a->n = n;
	notifier_free(old_n);
	notifier_start(n);
	ev = make_evaluator(a, rs);
	evaluator_take_state(ev, a->ev);
	/* An evaluation in flight is dropped (its ruleset goes); the new
	   one starts at once and queues behind it on the worker. */
	missed = xcalloc(rs->ngroups + 1, sizeof(*missed));
	for (i = 0; i < rs->ngroups; i++)
		for (k = 0; k < a->ntimers; k++)
			if (strcmp(rs->groups[i].name,
			    a->rs->groups[k].name) == 0)
				missed[i] = a->timers[k].missed;
	timers_stop(a);
	evaluator_free(a->ev);
	ruleset_free(a->rs);
	free(url);
	a->rs = rs;
	a->ev = ev;
	timers_start(a);
	for (i = 0; i < a->ntimers; i++)
		a->timers[i].missed = missed[i];
	free(missed);
	return 0;
}

void
alerting_stop(struct alerting *a)
{
	if (a == NULL)
		return;
	timers_stop(a);
	/* Waits for the query in flight; the queued ones are skipped. */
	worker_free(a->worker);
	a->worker = NULL;
}

void
alerting_free(struct alerting *a)
{
	if (a == NULL)
		return;
	alerting_stop(a);
	notifier_free(a->n);
	evaluator_free(a->ev);
	ruleset_free(a->rs);
	silences_free(a->sil);
	kv_close(a->kv);
	free(a->external_url);
	free(a->dir);
	free(a);
}

void
alerting_write_metrics(struct alerting *a, struct buf *b)
{
	const struct metric_def	*m;
	const struct rule_eval	*re;
	const struct ruleset	*rs = a->rs;
	uint64_t		 fails, evals;
	size_t			 g, r, k, pending = 0, firing = 0;
	int64_t			 last;
	double			 secs;

	for (m = alerting_metrics; m->name != NULL; m++)
		buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", m->name,
		    m->help, m->name, metric_type_name(m->type));
	for (g = 0; g < rs->ngroups; g++) {
		evaluator_group_times(a->ev, g, &last, &secs);
		fails = evals = 0;
		for (r = 0; r < rs->groups[g].nrules; r++) {
			re = evaluator_rule(a->ev, g, r);
			fails += re->failures;
			evals += re->evaluations;
			for (k = 0; k < re->nalerts; k++) {
				if (re->alerts[k]->state == ALERT_PENDING)
					pending++;
				else if (re->alerts[k]->state == ALERT_FIRING)
					firing++;
			}
		}
		buf_adds(b, "monitord_rule_evaluation_duration_seconds"
		    "{rule_group=");
		alert_quote(b, rs->groups[g].name);
		buf_adds(b, "} ");
		buf_add_double(b, secs);
		buf_adds(b, "\nmonitord_rule_evaluation_failures_total"
		    "{rule_group=");
		alert_quote(b, rs->groups[g].name);
		buf_printf(b, "} %llu\n", (unsigned long long)fails);
		buf_adds(b, "monitord_rule_evaluations_total{rule_group=");
		alert_quote(b, rs->groups[g].name);
		buf_printf(b, "} %llu\n", (unsigned long long)evals);
		buf_adds(b, "monitord_rule_group_iterations_missed_total"
		    "{rule_group=");
		alert_quote(b, rs->groups[g].name);
		buf_printf(b, "} %llu\n", (unsigned long long)
		    (g < a->ntimers ? a->timers[g].missed : 0));
	}
	buf_printf(b, "monitord_alerts{state=\"pending\"} %zu\n"
	    "monitord_alerts{state=\"firing\"} %zu\n", pending, firing);
	notifier_write_metrics(a->n, b);
}
