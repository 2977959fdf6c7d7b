/*
 * target: schedules collector runs, enforces their deadlines, labels their
 * samples and keeps each target's health (see target.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "collector.h"
#include "expo.h"
#include "log.h"
#include "schedule.h"
#include "target.h"
#include "xmalloc.h"

/* Repeated errors of one target are logged at most this often. */
#define ERROR_LOG_EVERY_MS	(5 * 60 * 1000)

struct run {
	struct target	*target;
	struct batch	*batch;
	int64_t		 tick;		/* scheduled wall-clock ms */
	int64_t		 stamp;		/* sample timestamp */
	int64_t		 start_mono;	/* monotonic ms */
	int64_t		 deadline_mono;
	int		 active;
	int		 honor_labels;	/* run_honor_labels() */
	int		 deadline_yielded;
};

struct target {
	struct targets			*set;
	const struct collector_kind	*kind;
	void				*priv;
	char				*job;
	char				*instance;
	struct label			*extra;		/* `labels =` */
	size_t				 nextra;
	char				*extra_text;	/* owns extra's strings */
	int64_t				 interval;
	int64_t				 timeout;
	int64_t				 offset;
	struct event			*tick_ev;
	struct event			*deadline_ev;
	struct run			 run;
	struct batch			*last;		/* last finished run */
	struct metric_def		*catalog;	/* kind's + core's */
	int64_t				 next_tick;

	/* health */
	unsigned			 failures;	/* consecutive */
	uint64_t			 runs, errors, skipped;
	int64_t				 last_start;	/* wall ms, 0: never */
	double				 last_duration;	/* seconds */
	size_t				 last_samples;
	char				 last_error[256];
	int64_t				 last_logged;	/* wall ms of last error log */
	uint64_t			 suppressed;
};

struct targets {
	struct event_base	*base;
	struct targets_opts	 opts;
	struct target		*v;
	size_t			 n;
};

static int64_t
now_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
now_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
ms_to_tv(int64_t ms, struct timeval *tv)
{
	if (ms < 0)
		ms = 0;
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

/* Parse "a=b, c=d" (validated by the config as CONF_LABELS). */
static void
target_parse_labels(struct target *t, const char *text)
{
	char	*p, *tok, *save = NULL;

	if (text == NULL || *text == '\0')
		return;
	t->extra_text = xstrdup(text);
	for (p = t->extra_text; (tok = strtok_r(p, ",", &save)) != NULL; p = NULL) {
		char *eq = strchr(tok, '='), *k, *v, *e;

		if (eq == NULL)
			continue;
		*eq = '\0';
		k = tok;
		v = eq + 1;
		while (*k == ' ' || *k == '\t')
			k++;
		for (e = k + strlen(k); e > k && (e[-1] == ' ' || e[-1] == '\t'); )
			*--e = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
		for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); )
			*--e = '\0';
		if (*v == '"' && e > v + 1 && e[-1] == '"') {
			v++;
			*--e = '\0';
		}
		t->extra = xreallocarray(t->extra, t->nextra + 1, sizeof(*t->extra));
		t->extra[t->nextra].name = k;
		t->extra[t->nextra].value = v;
		t->nextra++;
	}
}

static void	target_tick(evutil_socket_t, short, void *);
static void	target_deadline(evutil_socket_t, short, void *);

static void
target_arm(struct target *t, int64_t tick)
{
	struct timeval tv;

	t->next_tick = tick;
	ms_to_tv(tick - now_wall_ms(), &tv);
	evtimer_add(t->tick_ev, &tv);
}

static void
target_log_result(struct target *t, enum run_status st, int64_t now)
{
	if (st == RUN_OK) {
		if (t->last_logged != 0) {
			log_info("target %s/%s is up again", t->kind->kind, t->job);
			t->last_logged = 0;
			t->suppressed = 0;
		}
		return;
	}
	if (t->last_logged != 0 && now - t->last_logged < ERROR_LOG_EVERY_MS) {
		t->suppressed++;
		return;
	}
	if (t->suppressed > 0)
		log_warnx("target %s/%s down: %s (%llu more failures since the "
		    "last report)", t->kind->kind, t->job, t->last_error,
		    (unsigned long long)t->suppressed);
	else
		log_warnx("target %s/%s down: %s", t->kind->kind, t->job,
		    t->last_error);
	t->last_logged = now;
	t->suppressed = 0;
}

/* Label the run's samples, add the core's series, hand them on. */
static void
target_finish(struct target *t, enum run_status st)
{
	struct run	*r = &t->run;
	struct batch	*b = r->batch;
	int64_t		 now = now_wall_ms();
	size_t		 i, nsamples;
	double		 dur;

	r->active = 0;
	event_del(t->deadline_ev);
	dur = (double)(now_mono_ms() - r->start_mono) / 1000.0;
	if (st == RUN_TIMEOUT)
		batch_reset(b);		/* an abandoned run's samples are not data */
	nsamples = batch_len(b);
	batch_addl(b, "up", r->stamp, st == RUN_OK ? 1.0 : 0.0, NULL);
	batch_addl(b, "scrape_duration_seconds", r->stamp, dur, NULL);
	batch_addl(b, "scrape_samples_scraped", r->stamp, (double)nsamples, NULL);
	batch_default_time(b, r->stamp);
	batch_set_label(b, "instance", t->instance, r->honor_labels);
	batch_set_label(b, "job", t->job, r->honor_labels);
	/* The section's labels are target labels, as in Prometheus: they
	   win over a page's unless the collector honors the page's. */
	for (i = 0; i < t->nextra; i++)
		batch_set_label(b, t->extra[i].name, t->extra[i].value,
		    r->honor_labels);

	t->runs++;
	t->last_duration = dur;
	t->last_samples = nsamples;
	if (st == RUN_OK) {
		t->failures = 0;
		t->last_error[0] = '\0';
	} else {
		t->failures++;
		t->errors++;
	}
	target_log_result(t, st, now);

	if (t->set->opts.sink != NULL)
		t->set->opts.sink(t->set->opts.sink_arg, b);
	/* Keep this run's batch as "last"; reuse the old one next time. */
	r->batch = t->last;
	t->last = b;
	batch_reset(r->batch);

	target_arm(t, sched_after_run(now, t->interval, t->offset, t->failures,
	    t->set->opts.backoff_cap_ms));
}

static void
target_tick(evutil_socket_t fd, short what, void *arg)
{
	struct target	*t = arg;
	struct run	*r = &t->run;
	struct timeval	 tv;
	int64_t		 now = now_wall_ms();

	if (r->active) {
		/* Still running at its next tick: skip this one. */
		t->skipped++;
		target_arm(t, sched_next_tick(now, t->interval, t->offset));
		return;
	}
	r->active = 1;
	r->honor_labels = 0;
	r->deadline_yielded = 0;
	r->tick = t->next_tick;
	r->stamp = sched_stamp(t->next_tick, now, t->set->opts.tolerance_ms);
	r->start_mono = now_mono_ms();
	r->deadline_mono = r->start_mono + t->timeout;
	t->last_start = now;
	batch_reset(r->batch);
	ms_to_tv(t->timeout, &tv);
	evtimer_add(t->deadline_ev, &tv);
	t->kind->run(t->priv, r);
}

static void
target_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct target	*t = arg;
	char		 d[32];

	if (!t->run.active)
		return;
	/*
	 * A loop that wakes late (a loaded machine) finds this deadline due
	 * in the same pass as the kind's own, earlier one, or as the answer
	 * it waited for: the kind's result is then queued behind this
	 * callback.  Going to the back of the queue once lets that result
	 * end the run, with the kind's samples and error, instead of
	 * dropping it for "no complete answer".
	 */
	if (!t->run.deadline_yielded) {
		t->run.deadline_yielded = 1;
		event_active(t->deadline_ev, EV_TIMEOUT, 1);
		return;
	}
	t->kind->cancel(t->priv, &t->run);
	snprintf(d, sizeof(d), "%.3gs", (double)t->timeout / 1000.0);
	snprintf(t->last_error, sizeof(t->last_error),
	    "timeout: no complete answer within %s", d);
	target_finish(t, RUN_TIMEOUT);
}

struct event_base *
run_base(struct run *r)
{
	return event_get_base(r->target->tick_ev);
}

struct batch *
run_batch(struct run *r)
{
	return r->batch;
}

int64_t
run_time(const struct run *r)
{
	return r->stamp;
}

int64_t
run_remaining_ms(const struct run *r)
{
	int64_t left = r->deadline_mono - now_mono_ms();

	return left > 0 ? left : 0;
}

void
run_honor_labels(struct run *r)
{
	r->honor_labels = 1;
}

void
run_done(struct run *r, enum run_status st, const char *fmt, ...)
{
	struct target	*t = r->target;
	va_list		 ap;

	if (!r->active) {
		log_warnx("BUG: %s collector finished a run twice", t->kind->kind);
		return;
	}
	if (st != RUN_OK) {
		va_start(ap, fmt);
		vsnprintf(t->last_error, sizeof(t->last_error), fmt, ap);
		va_end(ap);
	}
	target_finish(t, st);
}

/* One { NULL }-ended catalogue of A's entries then B's. */
static struct metric_def *
catalog_merge(const struct metric_def *a, const struct metric_def *b)
{
	struct metric_def	*out;
	size_t			 na = 0, nb = 0;

	while (a != NULL && a[na].name != NULL)
		na++;
	while (b[nb].name != NULL)
		nb++;
	out = xcalloc(na + nb + 1, sizeof(*out));
	if (na > 0)
		memcpy(out, a, na * sizeof(*out));
	memcpy(out + na, b, nb * sizeof(*out));
	return out;
}

static int
target_build(struct targets *set, struct target *t,
    const struct collector_kind *kind, const char *path,
    const struct conf_section *sec, char *err, size_t errlen)
{
	char	 msg[256] = "";
	char	*key;

	memset(t, 0, sizeof(*t));
	t->set = set;
	t->kind = kind;
	t->job = xstrdup(conf_section_name(sec));
	t->interval = conf_duration(sec, "interval");
	t->timeout = conf_has(sec, "timeout") ? conf_duration(sec, "timeout") :
	    (t->interval < 10000 ? t->interval : 10000);
	if (t->timeout > t->interval)
		t->timeout = t->interval;
	target_parse_labels(t, conf_str(sec, "labels"));
	t->priv = kind->build(sec, set->base, msg, sizeof(msg));
	if (t->priv == NULL) {
		if (snprintf(err, errlen, "%s:%d: [%s \"%s\"]: %s", path,
		    conf_section_line(sec), kind->kind, t->job, msg) < 0)
			err[0] = '\0';
		return -1;
	}
	t->instance = xstrdup(kind->instance(t->priv));
	t->catalog = catalog_merge(kind->metrics, collector_core_metrics);
	xasprintf(&key, "%s/%s/%s", kind->kind, t->job, t->instance);
	t->offset = sched_offset(key, t->interval);
	free(key);
	t->run.target = t;
	t->run.batch = batch_new();
	t->last = batch_new();
	if (set->base != NULL) {	/* NULL: built only to check (-t) */
		t->tick_ev = evtimer_new(set->base, target_tick, t);
		t->deadline_ev = evtimer_new(set->base, target_deadline, t);
	}
	return 0;
}

static void
target_clear(struct target *t)
{
	if (t->run.active) {
		t->kind->cancel(t->priv, &t->run);
		t->run.active = 0;
	}
	if (t->tick_ev != NULL)
		event_free(t->tick_ev);
	if (t->deadline_ev != NULL)
		event_free(t->deadline_ev);
	if (t->priv != NULL)
		t->kind->free(t->priv);
	batch_free(t->run.batch);
	batch_free(t->last);
	free(t->job);
	free(t->instance);
	free(t->extra);
	free(t->extra_text);
	free(t->catalog);
}

struct targets *
targets_new(struct event_base *base, const struct conf *conf,
    const struct targets_opts *opts, char *err, size_t errlen)
{
	struct targets	*set = xcalloc(1, sizeof(*set));
	size_t		 i, n = conf_count(conf, NULL);

	set->base = base;
	set->opts = *opts;
	set->v = xcalloc(n, sizeof(*set->v));
	for (i = 0; i < n; i++) {
		const struct conf_section	*sec = conf_at(conf, NULL, i);
		const struct collector_kind	*kind;

		kind = collector_kind_find(conf_section_kind(sec));
		if (kind == NULL)
			continue;
		if (target_build(set, &set->v[set->n], kind, conf_path(conf),
		    sec, err, errlen) == -1) {
			target_clear(&set->v[set->n]);
			targets_free(set);
			return NULL;
		}
		set->n++;
	}
	return set;
}

void
targets_start(struct targets *set)
{
	int64_t	now = now_wall_ms();
	size_t	i;

	/* The first run comes within a second, not up to an interval later,
	   so a new start shows data at once; later runs are on the grid. */
	for (i = 0; i < set->n; i++) {
		struct target	*t = &set->v[i];
		int64_t		 tick = sched_next_tick(now, t->interval, t->offset);
		int64_t		 soon = now + t->offset % 1000;

		target_arm(t, soon < tick ? soon : tick);
	}
}

void
targets_free(struct targets *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		target_clear(&set->v[i]);
	free(set->v);
	free(set);
}

size_t
targets_count(const struct targets *set)
{
	return set->n;
}

static json_t *
json_time_ms(int64_t ms)
{
	char		out[96];
	time_t		sec = (time_t)(ms / 1000);
	struct tm	tm;

	if (ms <= 0)
		return json_null();
	gmtime_r(&sec, &tm);
	snprintf(out, sizeof(out), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int)(ms % 1000));
	return json_string(out);
}

static const char *
target_health(const struct target *t)
{
	if (t->runs == 0)
		return "unknown";
	return t->failures == 0 ? "up" : "down";
}

json_t *
targets_json(const struct targets *set)
{
	json_t	*arr = json_array();
	size_t	 i;

	for (i = 0; i < set->n; i++) {
		const struct target	*t = &set->v[i];
		json_t			*o = json_object(), *labels = json_object();
		size_t			 j;

		json_object_set_new(labels, "job", json_string(t->job));
		json_object_set_new(labels, "instance", json_string(t->instance));
		for (j = 0; j < t->nextra; j++)
			json_object_set_new(labels, t->extra[j].name,
			    json_string(t->extra[j].value));
		json_object_set_new(o, "kind", json_string(t->kind->kind));
		json_object_set_new(o, "job", json_string(t->job));
		json_object_set_new(o, "instance", json_string(t->instance));
		json_object_set_new(o, "labels", labels);
		json_object_set_new(o, "health", json_string(target_health(t)));
		json_object_set_new(o, "lastError", json_string(t->last_error));
		json_object_set_new(o, "lastRun", json_time_ms(t->last_start));
		json_object_set_new(o, "lastDuration",
		    json_real(t->runs ? t->last_duration : 0.0));
		json_object_set_new(o, "lastSamples",
		    json_integer((json_int_t)t->last_samples));
		json_object_set_new(o, "interval",
		    json_real((double)t->interval / 1000.0));
		json_object_set_new(o, "timeout",
		    json_real((double)t->timeout / 1000.0));
		json_object_set_new(o, "nextRun", json_time_ms(t->next_tick));
		json_object_set_new(o, "runs", json_integer((json_int_t)t->runs));
		json_object_set_new(o, "failures",
		    json_integer((json_int_t)t->errors));
		json_object_set_new(o, "skipped",
		    json_integer((json_int_t)t->skipped));
		json_array_append_new(arr, o);
	}
	return arr;
}

enum { TM_RUNS, TM_FAILURES, TM_SKIPPED, TM_DURATION };

const struct metric_def targets_metrics[] = {
	[TM_RUNS] = { "monitord_target_runs_total", METRIC_COUNTER, "",
	  "Collector runs finished per target; a flat line means the target is "
	  "not being collected." },
	[TM_FAILURES] = { "monitord_target_failures_total", METRIC_COUNTER, "",
	  "Collector runs that failed or timed out per target; its rate is the "
	  "target's error rate." },
	[TM_SKIPPED] = { "monitord_target_skipped_total", METRIC_COUNTER, "",
	  "Ticks skipped because the previous run was still going: the interval "
	  "is shorter than the target takes." },
	[TM_DURATION] = { "monitord_target_last_duration_seconds", METRIC_GAUGE, "",
	  "How long the last run of each target took, to compare against its "
	  "timeout." },
	{ NULL, 0, NULL, NULL },
};

void
targets_write_metrics(const struct targets *set, struct buf *out)
{
	size_t f, i;

	for (f = 0; targets_metrics[f].name != NULL; f++) {
		const struct metric_def *m = &targets_metrics[f];

		expo_help_type(out, m->name, m->type, m->help);
		for (i = 0; i < set->n; i++) {
			const struct target	*t = &set->v[i];
			struct label		 l[3] = {
				{ "__name__", m->name },
				{ "instance", t->instance },
				{ "job", t->job },
			};
			double			 v;

			switch (f) {
			case TM_RUNS:	  v = (double)t->runs; break;
			case TM_FAILURES: v = (double)t->errors; break;
			case TM_SKIPPED:  v = (double)t->skipped; break;
			case TM_DURATION: v = t->last_duration; break;
			default:	  abort();	/* a row without a value */
			}
			expo_sample(out, l, 3, v, 0);
		}
	}
}

void
targets_write_latest(const struct targets *set, const char *kind,
    const char *job, struct buf *out)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		const struct target *t = &set->v[i];

		if (kind != NULL && strcmp(kind, t->kind->kind) != 0)
			continue;
		if (job != NULL && strcmp(job, t->job) != 0)
			continue;
		expo_write_batch(out, t->last, t->catalog, 0);
	}
}
