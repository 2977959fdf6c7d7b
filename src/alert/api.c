/*
 * api: /api/alerts, /api/v1/alerts, /api/v1/rules and /api/silences (see
 * api.h).  Answers from memory on the loop thread.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alert/alerting.h"
#include "alert/api.h"
#include "alert/labels.h"
#include "alert/notify.h"
#include "alert/rules.h"
#include "alert/silence.h"
#include "alert/state.h"
#include "http/server.h"
#include "xmalloc.h"

const char *
alert_format_e(double v, char *out, size_t outlen)
{
	int	p;

	if (isnan(v)) {
		snprintf(out, outlen, "NaN");
		return out;
	}
	if (isinf(v)) {
		snprintf(out, outlen, v > 0 ? "+Inf" : "-Inf");
		return out;
	}
	/* The fewest digits that read back as the same double. */
	for (p = 0; p < 17; p++) {
		snprintf(out, outlen, "%.*e", p, v);
		if (strtod(out, NULL) == v)
			break;
	}
	return out;
}

static json_t *
tjson(int64_t ms)
{
	char	t[64];

	alert_time_format(ms, t, sizeof(t));
	return json_string(t);
}

/* One alert as Prometheus's API gives it. */
static json_t *
prom_alert(const struct alert *a)
{
	char	 v[64];
	json_t	*o;

	o = json_pack("{s:o, s:o, s:s, s:o, s:s}",
	    "labels", lset_json(&a->labels),
	    "annotations", lset_json(&a->annotations),
	    "state", alert_state_name(a->state),
	    "activeAt", tjson(a->active_at),
	    "value", alert_format_e(a->value, v, sizeof(v)));
	if (a->keep_firing_since != 0)
		json_object_set_new(o, "keepFiringSince",
		    tjson(a->keep_firing_since));
	return o;
}

static json_t *
success(json_t *data)
{
	return json_pack("{s:s, s:o}", "status", "success", "data", data);
}

static void
h_v1_alerts(struct httpd_req *req, void *arg)
{
	struct alerting		*al = arg;
	const struct ruleset	*rs = alerting_ruleset(al);
	const struct rule_eval	*re;
	json_t			*alerts = json_array();
	size_t			 g, r, k;

	for (g = 0; g < rs->ngroups; g++)
		for (r = 0; r < rs->groups[g].nrules; r++) {
			re = evaluator_rule(alerting_evaluator(al), g, r);
			for (k = 0; k < re->nalerts; k++)
				if (re->alerts[k]->state != ALERT_INACTIVE)
					json_array_append_new(alerts,
					    prom_alert(re->alerts[k]));
		}
	httpd_reply_json(req, 200, success(json_pack("{s:o}", "alerts",
	    alerts)));
}

static const char *
health_name(enum rule_health h)
{
	return h == RULE_HEALTH_OK ? "ok" : h == RULE_HEALTH_ERR ? "err" :
	    "unknown";
}

static json_t *
prom_rule(const struct rule_eval *re)
{
	const struct rule	*r = re->rule;
	json_t			*o, *alerts;
	enum alert_state	 st = ALERT_INACTIVE;
	size_t			 k;

	if (r->type == RULE_RECORD) {
		o = json_pack("{s:s, s:s}", "name", r->name, "query", r->expr);
		if (r->labels.n > 0)
			json_object_set_new(o, "labels", lset_json(&r->labels));
	} else {
		alerts = json_array();
		for (k = 0; k < re->nalerts; k++) {
			if (re->alerts[k]->state == ALERT_INACTIVE)
				continue;
			if (re->alerts[k]->state > st)
				st = re->alerts[k]->state;
			json_array_append_new(alerts, prom_alert(re->alerts[k]));
		}
		o = json_pack("{s:s, s:s, s:s, s:f, s:f, s:o, s:o, s:o}",
		    "state", alert_state_name(st),
		    "name", r->name,
		    "query", r->expr,
		    "duration", (double)r->for_ms / 1000,
		    "keepFiringFor", (double)r->keep_firing_for_ms / 1000,
		    "labels", lset_json(&r->labels),
		    "annotations", lset_json(&r->annotations),
		    "alerts", alerts);
	}
	json_object_set_new(o, "health", json_string(health_name(re->health)));
	if (re->last_error[0] != '\0')
		json_object_set_new(o, "lastError",
		    json_string(re->last_error));
	json_object_set_new(o, "evaluationTime", json_real(re->eval_seconds));
	json_object_set_new(o, "lastEvaluation", tjson(re->last_eval));
	json_object_set_new(o, "type", json_string(r->type == RULE_RECORD ?
	    "recording" : "alerting"));
	return o;
}

static void
h_v1_rules(struct httpd_req *req, void *arg)
{
	struct alerting		*al = arg;
	const struct ruleset	*rs = alerting_ruleset(al);
	const struct rule_group	*gr;
	const struct rule_eval	*re;
	const char		*type = httpd_param(req, "type");
	json_t			*groups = json_array(), *rules;
	int			 want_alert = 1, want_record = 1;
	int64_t			 last;
	double			 secs;
	size_t			 g, r;

	if (type != NULL && *type != '\0') {
		if (strcmp(type, "alert") == 0)
			want_record = 0;
		else if (strcmp(type, "record") == 0)
			want_alert = 0;
		else {
			json_decref(groups);
			httpd_reply_error(req, 400, "unsupported type");
			return;
		}
	}
	for (g = 0; g < rs->ngroups; g++) {
		gr = &rs->groups[g];
		rules = json_array();
		for (r = 0; r < gr->nrules; r++) {
			re = evaluator_rule(alerting_evaluator(al), g, r);
			if ((re->rule->type == RULE_ALERT && !want_alert) ||
			    (re->rule->type == RULE_RECORD && !want_record))
				continue;
			json_array_append_new(rules, prom_rule(re));
		}
		if (json_array_size(rules) == 0 && gr->nrules > 0) {
			json_decref(rules);
			continue;
		}
		evaluator_group_times(alerting_evaluator(al), g, &last, &secs);
		json_array_append_new(groups, json_pack("{s:s, s:s, s:o, s:f, "
		    "s:i, s:f, s:o}",
		    "name", gr->name, "file", gr->file, "rules", rules,
		    "interval", (double)gr->interval_ms / 1000,
		    "limit", gr->limit,
		    "evaluationTime", secs,
		    "lastEvaluation", tjson(last)));
	}
	httpd_reply_json(req, 200, success(json_pack("{s:o}", "groups",
	    groups)));
}

/* Ours: every alert of every rule, resolved ones included. */
static void
h_alerts(struct httpd_req *req, void *arg)
{
	struct alerting		*al = arg;
	const struct ruleset	*rs = alerting_ruleset(al);
	const struct rule_eval	*re;
	const struct alert	*a;
	json_t			*alerts = json_array(), *o;
	int64_t			 now = alerting_now(), since;
	char			 v[64];
	size_t			 g, r, k;

	for (g = 0; g < rs->ngroups; g++)
		for (r = 0; r < rs->groups[g].nrules; r++) {
			re = evaluator_rule(alerting_evaluator(al), g, r);
			for (k = 0; k < re->nalerts; k++) {
				a = re->alerts[k];
				since = a->state == ALERT_FIRING ? a->fired_at :
				    a->state == ALERT_PENDING ? a->active_at :
				    a->resolved_at;
				o = json_pack("{s:s, s:s, s:o, s:o, s:s, s:s, "
				    "s:o, s:o, s:b}",
				    "rule", re->rule->name,
				    "group", re->group->name,
				    "labels", lset_json(&a->labels),
				    "annotations", lset_json(&a->annotations),
				    "state", a->state == ALERT_INACTIVE ?
				    "resolved" : alert_state_name(a->state),
				    "value", alert_format_e(a->value, v,
				    sizeof(v)),
				    "since", tjson(since),
				    "activeAt", tjson(a->active_at),
				    "silenced", silences_match(
				    alerting_silences(al), &a->labels, now));
				if (a->fired_at != 0)
					json_object_set_new(o, "firedAt",
					    tjson(a->fired_at));
				if (a->resolved_at != 0 &&
				    a->state == ALERT_INACTIVE)
					json_object_set_new(o, "resolvedAt",
					    tjson(a->resolved_at));
				if (a->held)
					json_object_set_new(o, "heldByResolve",
					    json_true());
				if (a->keep_firing_since != 0)
					json_object_set_new(o,
					    "keepFiringSince",
					    tjson(a->keep_firing_since));
				json_array_append_new(alerts, o);
			}
		}
	httpd_reply_json(req, 200, success(json_pack("{s:o, s:o}", "alerts",
	    alerts, "receivers", notifier_json(alerting_notifier(al)))));
}

static void
h_silences(struct httpd_req *req, void *arg)
{
	struct alerting	*al = arg;
	const char	*body;
	json_t		*o;
	json_error_t	 je;
	char		 id[40], err[256];
	size_t		 len;

	if (httpd_method(req) != HTTPD_POST) {
		httpd_reply_json(req, 200, success(silences_json(
		    alerting_silences(al), alerting_now())));
		return;
	}
	body = httpd_body(req, &len);
	if ((o = json_loadb(body, len, 0, &je)) == NULL) {
		snprintf(err, sizeof(err), "invalid JSON: %s", je.text);
		httpd_reply_error(req, 400, err);
		return;
	}
	if (silences_create(alerting_silences(al), o, alerting_now(), id, err,
	    sizeof(err)) == -1) {
		json_decref(o);
		httpd_reply_error(req, 400, err);
		return;
	}
	json_decref(o);
	httpd_reply_json(req, 200, json_pack("{s:s}", "silenceID", id));
}

static void
h_silence_delete(struct httpd_req *req, void *arg)
{
	struct alerting	*al = arg;
	char		 err[256];
	int		 rc;

	rc = silences_expire(alerting_silences(al), httpd_path_rest(req),
	    alerting_now(), err, sizeof(err));
	if (rc == 1)
		httpd_reply_error(req, 404, "no such silence");
	else if (rc == -1)
		httpd_reply_error(req, 500, err);
	else
		httpd_reply_json(req, 200, json_pack("{s:s}", "status",
		    "success"));
}

void
alert_api_register(struct httpd *h, struct alerting *al)
{
	httpd_route(h, "/api/alerts", HTTPD_GET, h_alerts, al);
	httpd_route(h, "/api/v1/alerts", HTTPD_GET, h_v1_alerts, al);
	httpd_route(h, "/api/v1/rules", HTTPD_GET, h_v1_rules, al);
	httpd_route(h, "/api/silences", HTTPD_GET | HTTPD_POST, h_silences,
	    al);
	httpd_route(h, "/api/silences/", HTTPD_DELETE, h_silence_delete, al);
}
