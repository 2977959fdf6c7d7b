/*
 * Alerting without a network: templates, the resolve rewrite, the rule
 * file loader on tests/data/alert/, and the state machine with injected
 * time and a table-driven fake of the engine's instant query.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tcheck.h"
#include "alert/dispatch.h"
#include "alert/labels.h"
#include "alert/rules.h"
#include "alert/state.h"
#include "alert/template.h"
#include "buf.h"
#include "sample.h"
#include "xmalloc.h"

#define S	1000LL
#define M	(60 * S)

/* Templates. */

static char *
expand(const char *text, double v, const char *job)
{
	struct lset		 l = LSET_INIT;
	struct tmpl_data	 d;
	struct buf		 b = BUF_INIT;
	char			 err[256];

	lset_set(&l, "job", job);
	lset_set(&l, "__name__", "up");
	d.labels = &l;
	d.value = v;
	d.external_url = "http://mon.example:9330";
	if (tmpl_expand(text, &d, &b, err, sizeof(err)) == -1) {
		buf_free(&b);
		buf_adds(&b, "ERR ");
		buf_adds(&b, err);
	}
	lset_clear(&l);
	return buf_detach(&b);
}

static void
expect(const char *text, double v, const char *want)
{
	char	*got = expand(text, v, "shop-api");

	ck_assert_msg(strcmp(got, want) == 0, "%s with %g: got \"%s\", want "
	    "\"%s\"", text, v, got, want);
	free(got);
}

START_TEST(test_template_values)
{
	expect("Shop API returns {{ $value }} errors/s", 1.5,
	    "Shop API returns 1.5 errors/s");
	expect("{{ $value }}", 1500000, "1.5e+06");
	expect("{{ .Value }}", 100000, "100000");
	expect("{{ $value }}", NAN, "NaN");
	expect("{{ $labels.job }} is down", 0, "shop-api is down");
	expect("{{ .Labels.job }}/{{ $labels.__name__ }}", 0, "shop-api/up");
	expect("[{{ $labels.missing }}]", 0, "[]");
	expect("{{ $value | humanize }}", 1234567, "1.235M");
	expect("{{ humanize $value }}", 0.0012, "1.2m");
	expect("{{ $value | humanize }}", 0, "0");
	expect("{{ $value | humanize }}", 999, "999");
	expect("{{ $value | humanize1024 }}", 1073741824, "1Gi");
	expect("{{ $value | humanizePercentage }}", 0.9234, "92.34%");
	expect("{{ $value | humanizePercentage }}", 0.5, "50%");
	expect("{{ $value | humanizeDuration }}", 90061, "1d 1h 1m 1s");
	expect("{{ $value | humanizeDuration }}", 3725, "1h 2m 5s");
	expect("{{ $value | humanizeDuration }}", 59.5, "59.5s");
	expect("{{ $value | humanizeDuration }}", 0.5, "500ms");
	expect("{{ $value | humanizeDuration }}", 0, "0s");
	expect("{{ printf \"%.2f\" $value }}", 3.14159, "3.14");
	expect("{{ $value | printf \"%.1f%%\" }}", 92.345, "92.3%");
	expect("{{ printf \"%s=%d\" $labels.job 42 }}", 0, "shop-api=42");
	expect("{{ $labels.job | toUpper }}", 0, "SHOP-API");
	expect("a {{- \" b \" -}} c", 0, "a b c");
	expect("x  {{- /* note */ -}}  y", 0, "xy");
	expect("{{ $externalURL }}/alerts", 0,
	    "http://mon.example:9330/alerts");
	expect("no action {{", 0, "ERR template: unclosed action");
	expect("{{ $value | frobnicate }}", 1,
	    "ERR template: function \"frobnicate\" not defined");
	expect("{{ if $value }}x{{ end }}", 1,
	    "ERR template: unsupported action \"if\"");
	expect("{{ $labels.job | humanize }}", 1,
	    "ERR template: can't convert \"shop-api\" to float");
	expect("{{ }}", 1, "ERR template: missing value for command");
	expect("{{ $foo }}", 1, "ERR template: unsupported operand $foo");
	/* a width or precision that would make a huge string (fuzzer) */
	expect("{{ printf \"%2.1111111111e\" $value }}", 1,
	    "ERR template: printf: width or precision over 64");
	expect("{{ printf \"%99d\" 1 }}", 1,
	    "ERR template: printf: width or precision over 64");
	expect("{{ printf \"%64.3f\" 1 }}", 1, "                                                           1.000");
}
END_TEST

START_TEST(test_template_check)
{
	char	err[256];

	ck_assert_int_eq(tmpl_check("{{ $labels.x | humanize }}", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(tmpl_check("{{ $value | nope }}", err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "template: function \"nope\" not defined");
	ck_assert_int_eq(tmpl_check("{{ \"open }}", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "template: unclosed action");
}
END_TEST

START_TEST(test_labels_identity)
{
	struct lset	l = LSET_INIT;
	struct buf	b = BUF_INIT;
	char		t[64];
	int64_t		ms;

	/* Alertmanager's fingerprint of the empty set and of one label
	   (FNV-1a 64 with 0xff separators), computed by hand. */
	ck_assert_uint_eq(lset_fingerprint(&l), 14695981039346656037ULL);
	lset_set(&l, "b", "2");
	lset_set(&l, "a", "1\n\"x\"");
	lset_set(&l, "c", "");
	ck_assert_uint_eq(l.n, 2);
	lset_format(&l, &b);
	ck_assert_str_eq(b.data, "{a=\"1\\n\\\"x\\\"\", b=\"2\"}");
	buf_free(&b);
	lset_clear(&l);

	alert_time_format(1714557600250LL, t, sizeof(t));
	ck_assert_str_eq(t, "2024-05-01T10:00:00.25Z");
	alert_time_format(1714557600000LL, t, sizeof(t));
	ck_assert_str_eq(t, "2024-05-01T10:00:00Z");
	alert_time_format(0, t, sizeof(t));
	ck_assert_str_eq(t, "0001-01-01T00:00:00Z");
	ck_assert_int_eq(alert_time_parse("2024-05-01T12:00:00.5+02:00",
	    &ms), 0);
	ck_assert_int_eq(ms, 1714557600500LL);
	ck_assert_int_eq(alert_time_parse("2024-05-01 12:00:00Z", &ms), -1);
	ck_assert_int_eq(alert_time_parse("2024-05-01T12:00:00", &ms), -1);
}
END_TEST

/* resolve = NUMBER rewrites. */

static void
resolve_case(const char *expr, double r, const char *want)
{
	char	 err[256], *got;

	got = rule_resolve_expr(expr, r, err, sizeof(err));
	if (got == NULL)
		got = xstrdup(err);
	ck_assert_msg(strcmp(got, want) == 0, "%s / %g: got \"%s\"", expr, r,
	    got);
	free(got);
}

START_TEST(test_resolve_rewrite)
{
	resolve_case("sum(rate(http_requests_total{code=~\"5..\"}[5m])) > 1",
	    0.5, "(sum(rate(http_requests_total{code=~\"5..\"}[5m]))) >= 0.5");
	resolve_case("cpu >= 0.9", 0.7, "(cpu) >= 0.7");
	resolve_case("free_bytes < 1e9", 2e9, "(free_bytes) <= 2e+09");
	resolve_case("x{a=\"b>c\"} > 5", 4, "(x{a=\"b>c\"}) >= 4");
	resolve_case("max by (job) (up > 0) < 1", 1, "(max by (job) "
	    "(up > 0)) <= 1");
	resolve_case("cpu > 0.9", 0.95, "resolve 0.95 is above the threshold "
	    "0.9 of expr; hysteresis needs a value on the side where the "
	    "alert clears");
	resolve_case("mem < 10", 5, "resolve 5 is below the threshold 10 of "
	    "expr; hysteresis needs a value on the side where the alert "
	    "clears");
	resolve_case("rate(x[5m])", 1, "resolve as a number needs a "
	    "comparison (> >= < <=) in expr");
	resolve_case("up == 0", 1, "resolve as a number needs expr to "
	    "compare with > >= < or <=, not ==");
	resolve_case("a > 1 and b", 0, "resolve as a number needs expr to "
	    "be one comparison, not and/or/unless");
	resolve_case("a > bool 1", 0, "resolve as a number cannot work with "
	    "a bool comparison");
}
END_TEST

/* Rule files. */

static char path_buf[4096];

static const char *
data_path(const char *name)
{
	const char	*dir = getenv("MONITORD_SRCDIR");

	snprintf(path_buf, sizeof(path_buf), "%s/tests/data/alert/%s",
	    dir ? dir : "..", name);
	return path_buf;
}

static int
fake_check(const char *expr, char *err, size_t errlen)
{
	if (strstr(expr, "((") != NULL) {
		snprintf(err, errlen, "unbalanced parentheses");
		return -1;
	}
	return 0;
}

START_TEST(test_rule_file_good)
{
	struct ruleset		*rs = ruleset_new();
	struct rule_errors	 errs = { NULL, 0 };
	const struct rule	*r;

	ck_assert_int_eq(ruleset_load_file(rs, data_path("good.yml"),
	    fake_check, &errs), 0);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_uint_eq(rs->ngroups, 2);
	ck_assert_uint_eq(rs->nrules, 3);
	ck_assert_str_eq(rs->groups[0].name, "shop-api");
	ck_assert_int_eq(rs->groups[0].interval_ms, 30 * S);
	ck_assert_uint_eq(rs->groups[0].nrules, 2);
	r = &rs->groups[0].rules[0];
	ck_assert_int_eq(r->type, RULE_ALERT);
	ck_assert_str_eq(r->name, "ShopApiErrors");
	ck_assert_str_eq(r->expr, "sum(rate(http_requests_total{job=\"shop-"
	    "api\",code=~\"5..\"}[5m])) > 1");
	ck_assert_int_eq(r->for_ms, 2 * M);
	ck_assert_int_eq(r->keep_firing_for_ms, 5 * M);
	ck_assert_int_eq(r->line, 6);
	ck_assert_str_eq(lset_get(&r->labels, "severity"), "critical");
	ck_assert_str_eq(lset_get(&r->labels, "team"), "shop");
	ck_assert_str_eq(lset_get(&r->annotations, "summary"),
	    "Shop API returns {{ $value | humanize }} errors/s");
	ck_assert_str_eq(lset_get(&r->annotations, "description"),
	    "{{ $labels.job }} has answered 5xx for two minutes.");
	ck_assert_ptr_null(r->notify);
	r = &rs->groups[0].rules[1];
	ck_assert_int_eq(r->type, RULE_RECORD);
	ck_assert_str_eq(r->name, "job:http_requests:rate5m");
	ck_assert_str_eq(lset_get(&r->labels, "source"), "recorded");
	ck_assert_int_eq(rs->groups[1].limit, 10);
	ck_assert_int_eq(rs->groups[1].interval_ms, 0);
	r = &rs->groups[1].rules[0];
	ck_assert_str_eq(r->resolve, "0.7");
	ck_assert_str_eq(r->resolve_expr,
	    "(pg_connections_utilization_ratio) >= 0.7");
	ruleset_free(rs);

	rs = ruleset_new();
	ck_assert_int_eq(ruleset_load_file(rs, data_path("empty_groups.yml"),
	    NULL, &errs), 0);
	ck_assert_uint_eq(rs->ngroups, 0);
	ruleset_free(rs);
}
END_TEST

static void
expect_errors(const char *file, const char *const *want)
{
	struct ruleset		*rs = ruleset_new();
	struct rule_errors	 errs = { NULL, 0 };
	struct buf		 w = BUF_INIT, g = BUF_INIT;
	char			 p[4096];
	size_t			 i;

	snprintf(p, sizeof(p), "%s", data_path(file));
	ck_assert_int_eq(ruleset_load_file(rs, p, fake_check, &errs), -1);
	for (i = 0; want[i] != NULL; i++)
		buf_printf(&w, "%s:%s\n", p, want[i]);
	for (i = 0; i < errs.n; i++)
		buf_printf(&g, "%s\n", errs.v[i]);
	ck_assert_str_eq(g.data, w.data);
	buf_free(&w);
	buf_free(&g);
	rule_errors_free(&errs);
	ruleset_free(rs);
}

START_TEST(test_rule_file_bad)
{
	static const char *const syntax[] = {
		"6: yaml: did not find expected '-' indicator while parsing a "
		"block collection",
		NULL
	};
	static const char *const fields[] = {
		"4: rule NoExpr has no expr",
		"6: invalid recording rule name bad name",
		"8: a rule has either alert or record, not both",
		"13: for: invalid duration \"five minutes\": expected a number "
		"followed by ms, s, m, h, d, w or y",
		"16: unknown field severity in a rule",
		"17: annotation summary: template: function \"frobnicate\" not "
		"defined",
		"23: for applies to alerting rules only",
		"24: group name g1 repeats",
		"26: a group needs a name",
		NULL
	};
	static const char *const resolve[] = {
		"6: resolve 0.95 is above the threshold 0.9 of expr; "
		"hysteresis needs a value on the side where the alert clears",
		"9: resolve as a number needs a comparison (> >= < <=) in expr",
		"12: resolve as a number needs expr to be one comparison, not "
		"and/or/unless",
		NULL
	};

	expect_errors("bad_syntax.yml", syntax);
	expect_errors("bad_fields.yml", fields);
	expect_errors("bad_resolve.yml", resolve);
}
END_TEST

START_TEST(test_rule_yaml_limits)
{
	struct ruleset		*rs = ruleset_new();
	struct rule_errors	 errs = { NULL, 0 };
	static const char	 notmap[] = "- a\n- b\n";
	static const char	 expr_bad[] = "groups:\n- name: g\n  rules:\n"
	    "  - alert: A\n    expr: ((up\n";

	ck_assert_int_eq(ruleset_load_yaml(rs, "t.yml", notmap,
	    sizeof(notmap) - 1, NULL, &errs), -1);
	ck_assert_str_eq(errs.v[0], "t.yml:1: a rule file must be a mapping "
	    "with groups");
	rule_errors_free(&errs);
	ck_assert_int_eq(ruleset_load_yaml(rs, "t.yml", expr_bad,
	    sizeof(expr_bad) - 1, fake_check, &errs), -1);
	ck_assert_str_eq(errs.v[0], "t.yml:4: expr: unbalanced parentheses");
	rule_errors_free(&errs);
	ruleset_free(rs);
}
END_TEST

/* The fake engine: rows of (expr, labels, time, value). */

struct fake_row {
	char	*expr;
	char	*labels;	/* "a=1,b=2" */
	int64_t	 t;
	double	 v;
};

struct fake {
	struct fake_row	*rows;
	size_t		 n;
	int		 fail;
	unsigned	 calls;
};

static void
fake_add(struct fake *f, const char *expr, const char *labels, int64_t t,
    double v)
{
	f->rows = xreallocarray(f->rows, f->n + 1, sizeof(*f->rows));
	f->rows[f->n].expr = xstrdup(expr);
	f->rows[f->n].labels = xstrdup(labels);
	f->rows[f->n].t = t;
	f->rows[f->n].v = v;
	f->n++;
}

static void
fake_free(struct fake *f)
{
	size_t	i;

	for (i = 0; i < f->n; i++) {
		free(f->rows[i].expr);
		free(f->rows[i].labels);
	}
	free(f->rows);
}

static int
fake_instant(void *arg, const char *expr, int64_t t,
    struct alert_vector *out, char *err, size_t errlen)
{
	struct fake	*f = arg;
	struct label	 l[16];
	char		*copy, *p, *tok, *eq;
	size_t		 i, n;

	f->calls++;
	if (f->fail) {
		snprintf(err, errlen, "fake engine failure");
		return -1;
	}
	for (i = 0; i < f->n; i++) {
		if (f->rows[i].t != t || strcmp(f->rows[i].expr, expr) != 0)
			continue;
		copy = xstrdup(f->rows[i].labels);
		n = 0;
		for (p = copy; (tok = strsep(&p, ",")) != NULL && n < 16; ) {
			if ((eq = strchr(tok, '=')) == NULL)
				continue;
			*eq = '\0';
			l[n].name = tok;
			l[n].value = eq + 1;
			n++;
		}
		alert_vector_add(out, l, n, f->rows[i].v);
		free(copy);
	}
	return 0;
}

/* What the evaluator wrote and sent, as text lines. */
struct capture {
	struct buf	 series;	/* "ALERTS{...} 1" lines per eval */
	struct buf	 sent;		/* "t state labels starts ends" */
	json_t		*records;	/* key/fp -> record */
	unsigned	 batches;
};

static int
cap_sink(void *arg, const struct batch *b)
{
	struct capture	*c = arg;
	const struct sample *s;
	size_t		 i, j;

	c->batches++;
	for (i = 0; i < batch_len(b); i++) {
		s = batch_at(b, i);
		buf_adds(&c->series, s->labels[0].value);
		buf_addc(&c->series, '{');
		for (j = 1; j < s->nlabels; j++)
			buf_printf(&c->series, "%s%s=%s", j > 1 ? "," : "",
			    s->labels[j].name, s->labels[j].value);
		buf_addc(&c->series, '}');
		buf_addc(&c->series, ' ');
		if (isnan(s->v))
			buf_adds(&c->series, "stale");
		else
			buf_add_double_fixed(&c->series, s->v);
		buf_addc(&c->series, '\n');
	}
	return 0;
}

static void
cap_send(void *arg, const struct rule *r, const struct alert_send *s,
    size_t n, int64_t now)
{
	struct capture	*c = arg;
	size_t		 i;

	for (i = 0; i < n; i++) {
		buf_printf(&c->sent, "%lld %s %s ", (long long)(now / S),
		    alert_state_name(s[i].alert->state),
		    lset_get(&s[i].alert->labels, "instance") ?
		    lset_get(&s[i].alert->labels, "instance") : "-");
		buf_printf(&c->sent, "%lld %lld\n",
		    (long long)(s[i].starts_at / S),
		    (long long)(s[i].ends_at / S));
	}
}

static void
cap_persist(void *arg, const char *key, uint64_t fp, json_t *rec)
{
	struct capture	*c = arg;
	char		*k;

	xasprintf(&k, "%s/%016llx", key, (unsigned long long)fp);
	if (rec == NULL)
		json_object_del(c->records, k);
	else
		json_object_set(c->records, k, rec);
	free(k);
}

struct harness {
	struct fake		 fake;
	struct capture		 cap;
	struct ruleset		*rs;
	struct evaluator	*ev;
};

static void
harness_init(struct harness *h, const char *yaml)
{
	struct rule_errors	errs = { NULL, 0 };
	struct evaluator_opts	o;

	memset(h, 0, sizeof(*h));
	h->cap.records = json_object();
	h->rs = ruleset_new();
	ck_assert_int_eq(ruleset_load_yaml(h->rs, "t.yml", yaml, strlen(yaml),
	    NULL, &errs), 0);
	memset(&o, 0, sizeof(o));
	o.instant = fake_instant;
	o.instant_arg = &h->fake;
	o.sink = cap_sink;
	o.sink_arg = &h->cap;
	o.send = cap_send;
	o.send_arg = &h->cap;
	o.persist = cap_persist;
	o.persist_arg = &h->cap;
	o.external_url = "http://mon:9330";
	h->ev = evaluator_new(h->rs, &o);
}

static void
harness_free(struct harness *h)
{
	evaluator_free(h->ev);
	ruleset_free(h->rs);
	fake_free(&h->fake);
	buf_free(&h->cap.series);
	buf_free(&h->cap.sent);
	json_decref(h->cap.records);
}

static const struct alert *
only_alert(struct harness *h)
{
	const struct rule_eval	*re = evaluator_rule(h->ev, 0, 0);

	ck_assert_uint_eq(re->nalerts, 1);
	return re->alerts[0];
}

static const char rule_for2m[] =
    "groups:\n- name: g\n  interval: 15s\n  rules:\n"
    "  - alert: High\n    expr: x > 90\n    for: 2m\n"
    "    labels:\n      severity: critical\n"
    "    annotations:\n"
    "      summary: \"{{ $labels.instance }} at {{ $value }}\"\n";

START_TEST(test_pending_to_firing_after_exactly_for)
{
	struct harness		 h;
	const struct alert	*a;
	int64_t			 t0 = 1700000000 * S, t;

	harness_init(&h, rule_for2m);
	for (t = t0; t <= t0 + 3 * M; t += 15 * S)
		fake_add(&h.fake, "x > 90", "__name__=x,instance=a", t, 95);
	for (t = t0; t < t0 + 2 * M; t += 15 * S) {
		ck_assert_int_eq(evaluator_eval(h.ev, 0, 0, t), 0);
		a = only_alert(&h);
		ck_assert_int_eq(a->state, ALERT_PENDING);
		ck_assert_int_eq(a->active_at, t0);
	}
	ck_assert_uint_eq(h.cap.sent.len, 0);
	buf_reset(&h.cap.series);
	ck_assert_int_eq(evaluator_eval(h.ev, 0, 0, t0 + 2 * M), 0);
	a = only_alert(&h);
	ck_assert_int_eq(a->state, ALERT_FIRING);
	ck_assert_int_eq(a->fired_at, t0 + 2 * M);
	ck_assert_str_eq(lset_get(&a->annotations, "summary"), "a at 95");
	ck_assert_str_eq(h.cap.series.data,
	    "ALERTS{alertname=High,alertstate=firing,instance=a,"
	    "severity=critical} 1\n"
	    "ALERTS_FOR_STATE{alertname=High,instance=a,severity=critical} "
	    "1700000000\n"
	    "ALERTS{alertname=High,alertstate=pending,instance=a,"
	    "severity=critical} stale\n");
	/* Sent at once, valid for 4 x max(1m, 15s). */
	ck_assert_str_eq(h.cap.sent.data, "1700000120 firing a 1700000120 "
	    "1700000360\n");
	harness_free(&h);
}
END_TEST

START_TEST(test_for_zero_fires_at_once_and_resends)
{
	struct harness		h;
	int64_t			t0 = 1700000000 * S, t;
	static const char	rule[] = "groups:\n- name: g\n  interval: 2m\n"
	    "  rules:\n  - alert: Down\n    expr: up == 0\n";

	harness_init(&h, rule);
	for (t = t0; t <= t0 + 6 * M; t += 2 * M)
		fake_add(&h.fake, "up == 0", "__name__=up,instance=b", t, 0);
	for (t = t0; t <= t0 + 6 * M; t += 2 * M)
		evaluator_eval(h.ev, 0, 0, t);
	evaluator_eval(h.ev, 0, 0, t0 + 8 * M);
	evaluator_eval(h.ev, 0, 0, t0 + 10 * M);
	/* Each evaluation resends (resend delay 1m < interval); endsAt is
	   now + 4 x 2m; the resolution is sent once, then not again. */
	ck_assert_str_eq(h.cap.sent.data,
	    "1700000000 firing b 1700000000 1700000480\n"
	    "1700000120 firing b 1700000000 1700000600\n"
	    "1700000240 firing b 1700000000 1700000720\n"
	    "1700000360 firing b 1700000000 1700000840\n"
	    "1700000480 inactive b 1700000000 1700000480\n"
	    "1700000600 inactive b 1700000000 1700000480\n");
	harness_free(&h);
}
END_TEST

START_TEST(test_pending_dropped_silently)
{
	struct harness	h;
	int64_t		t0 = 1700000000 * S;

	harness_init(&h, rule_for2m);
	fake_add(&h.fake, "x > 90", "instance=a", t0, 95);
	fake_add(&h.fake, "x > 90", "instance=a", t0 + 15 * S, 95);
	evaluator_eval(h.ev, 0, 0, t0);
	evaluator_eval(h.ev, 0, 0, t0 + 15 * S);
	ck_assert_uint_eq(json_object_size(h.cap.records), 1);
	evaluator_eval(h.ev, 0, 0, t0 + 30 * S);
	ck_assert_uint_eq(evaluator_rule(h.ev, 0, 0)->nalerts, 0);
	ck_assert_uint_eq(h.cap.sent.len, 0);
	ck_assert_uint_eq(json_object_size(h.cap.records), 0);
	/* Back: pending from scratch. */
	fake_add(&h.fake, "x > 90", "instance=a", t0 + 45 * S, 95);
	evaluator_eval(h.ev, 0, 0, t0 + 45 * S);
	ck_assert_int_eq(only_alert(&h)->active_at, t0 + 45 * S);
	harness_free(&h);
}
END_TEST

START_TEST(test_keep_firing_for)
{
	struct harness		 h;
	const struct alert	*a;
	int64_t			 t0 = 1700000000 * S, t;
	static const char	 rule[] = "groups:\n- name: g\n  interval: 1m\n"
	    "  rules:\n  - alert: Errs\n    expr: e > 1\n"
	    "    keep_firing_for: 3m\n";

	harness_init(&h, rule);
	fake_add(&h.fake, "e > 1", "instance=a", t0, 5);
	fake_add(&h.fake, "e > 1", "instance=a", t0 + 2 * M, 5);
	evaluator_eval(h.ev, 0, 0, t0);
	ck_assert_int_eq(only_alert(&h)->state, ALERT_FIRING);
	/* Gone at +1m: keeps firing, since +1m. */
	evaluator_eval(h.ev, 0, 0, t0 + 1 * M);
	a = only_alert(&h);
	ck_assert_int_eq(a->state, ALERT_FIRING);
	ck_assert_int_eq(a->keep_firing_since, t0 + 1 * M);
	/* Back at +2m resets the clock. */
	evaluator_eval(h.ev, 0, 0, t0 + 2 * M);
	ck_assert_int_eq(only_alert(&h)->keep_firing_since, 0);
	/* Gone from +3m: firing at +3, +4, +5 (5 - 3 < 3), resolved at +6. */
	for (t = t0 + 3 * M; t <= t0 + 5 * M; t += M) {
		evaluator_eval(h.ev, 0, 0, t);
		ck_assert_int_eq(only_alert(&h)->state, ALERT_FIRING);
	}
	evaluator_eval(h.ev, 0, 0, t0 + 6 * M);
	a = only_alert(&h);
	ck_assert_int_eq(a->state, ALERT_INACTIVE);
	ck_assert_int_eq(a->resolved_at, t0 + 6 * M);
	ck_assert_int_eq(a->fired_at, t0);
	harness_free(&h);
}
END_TEST

/*
 * An oscillating signal around the threshold: 95, 85, 95, 85 ...  With
 * resolve = 80 the alert fires once and stays firing; without it, it
 * flaps on every evaluation.  Then the signal falls to 75 and it resolves
 * exactly once.
 */
static unsigned
oscillate(const char *rule, char *trace, size_t len)
{
	struct harness	h;
	int64_t		t0 = 1700000000 * S, t;
	int		i;
	unsigned	transitions = 0;
	enum alert_state last = ALERT_INACTIVE, st;
	const struct rule_eval *re;
	size_t		off = 0;

	harness_init(&h, rule);
	for (i = 0; i < 20; i++) {
		t = t0 + i * 15 * S;
		double v = i >= 16 ? 75 : i % 2 == 0 ? 95 : 85;

		if (v > 90)
			fake_add(&h.fake, "cpu > 90", "instance=a", t, v);
		if (v >= 80)
			fake_add(&h.fake, "(cpu) >= 80", "instance=a", t, v);
		if (v > 80)
			fake_add(&h.fake, "cpu > 80", "instance=a", t, v);
	}
	for (i = 0; i < 20; i++) {
		evaluator_eval(h.ev, 0, 0, t0 + i * 15 * S);
		re = evaluator_rule(h.ev, 0, 0);
		st = re->nalerts ? re->alerts[0]->state : ALERT_INACTIVE;
		if (st != last)
			transitions++;
		off += (size_t)snprintf(trace + off, len - off, "%c",
		    st == ALERT_FIRING ? 'F' : st == ALERT_PENDING ? 'P' : '.');
		last = st;
	}
	harness_free(&h);
	return transitions;
}

/*
 * The split the rules worker uses: rule_query (queries only) then
 * evaluator_apply, with the engine failing during apply to prove it asks
 * nothing more.  Returns the trace of states, the series written and the
 * notifications sent, to compare with evaluator_eval's.
 */
static int
eval_split(struct harness *h, size_t g, size_t r, int64_t t)
{
	const struct rule	*rule = &h->rs->groups[g].rules[r];
	struct rule_result	 res;
	unsigned		 calls;
	int			 rc;

	memset(&res, 0, sizeof(res));
	rule_query(fake_instant, &h->fake, rule->expr,
	    evaluator_wants_resolve(h->ev, g, r) ? rule->resolve_expr : NULL,
	    t, &res);
	calls = h->fake.calls;
	h->fake.fail = 1;
	rc = evaluator_apply(h->ev, g, r, t, &res);
	h->fake.fail = 0;
	ck_assert_uint_eq(h->fake.calls, calls);
	rule_result_free(&res);
	return rc;
}

static void
run_both(const char *rule, int split, struct buf *out)
{
	struct harness		 h;
	const struct rule_eval	*re;
	int64_t			 t0 = 1700000000 * S, t;
	int			 i;
	double			 v;

	harness_init(&h, rule);
	for (i = 0; i < 20; i++) {
		t = t0 + i * 15 * S;
		v = i >= 16 ? 75 : i % 2 == 0 ? 95 : 85;
		if (v > 90)
			fake_add(&h.fake, "cpu > 90", "instance=a", t, v);
		if (v >= 80)
			fake_add(&h.fake, "(cpu) >= 80", "instance=a", t, v);
	}
	for (i = 0; i < 20; i++) {
		t = t0 + i * 15 * S;
		/* Firing from the first evaluation on, until it resolves. */
		ck_assert_int_eq(evaluator_wants_resolve(h.ev, 0, 0),
		    i >= 1 && i <= 16);
		ck_assert_int_eq(split ? eval_split(&h, 0, 0, t) :
		    evaluator_eval(h.ev, 0, 0, t), 0);
		re = evaluator_rule(h.ev, 0, 0);
		buf_adds(out, re->nalerts == 0 ? "." :
		    re->alerts[0]->state == ALERT_FIRING ? "F" :
		    re->alerts[0]->state == ALERT_PENDING ? "P" : ".");
	}
	buf_printf(out, "\n%s\n%s", h.cap.series.data, h.cap.sent.data);
	harness_free(&h);
}

START_TEST(test_query_then_apply)
{
	static const char rule[] = "groups:\n- name: g\n  rules:\n"
	    "  - alert: Cpu\n    expr: cpu > 90\n    resolve: 80\n";
	struct buf		 a = BUF_INIT, b = BUF_INIT;
	struct harness		 h;
	struct rule_result	 res;
	const struct rule_eval	*re;

	run_both(rule, 0, &a);
	run_both(rule, 1, &b);
	ck_assert_str_eq(b.data, a.data);
	ck_assert(strncmp(a.data, "FFFFFFFFFFFFFFFF....\n", 21) == 0);
	buf_free(&a);
	buf_free(&b);

	/* A failed query is the rule's error, as when evaluated at once. */
	harness_init(&h, rule);
	ck_assert_int_eq(evaluator_wants_resolve(h.ev, 0, 0), 0);
	h.fake.fail = 1;
	memset(&res, 0, sizeof(res));
	rule_query(fake_instant, &h.fake, "cpu > 90", "(cpu) >= 80", 60 * S,
	    &res);
	ck_assert_int_eq(res.failed, 1);
	ck_assert_int_eq(res.resolved, 0);
	ck_assert_uint_eq(h.fake.calls, 1);
	ck_assert_int_eq(evaluator_apply(h.ev, 0, 0, 60 * S, &res), -1);
	re = evaluator_rule(h.ev, 0, 0);
	ck_assert_int_eq(re->health, RULE_HEALTH_ERR);
	ck_assert_str_eq(re->last_error, "fake engine failure");
	ck_assert_uint_eq(re->evaluations, 1);
	ck_assert_uint_eq(re->failures, 1);
	ck_assert_int_eq(re->last_eval, 60 * S);
	ck_assert_int_eq(evaluator_apply(h.ev, 0, 9, 60 * S, &res), -1);
	rule_result_free(&res);
	harness_free(&h);
}
END_TEST

START_TEST(test_hysteresis_no_flapping)
{
	char	trace[64];

	ck_assert_uint_eq(oscillate("groups:\n- name: g\n  rules:\n"
	    "  - alert: Cpu\n    expr: cpu > 90\n    resolve: 80\n", trace,
	    sizeof(trace)), 2);
	ck_assert_str_eq(trace, "FFFFFFFFFFFFFFFF....");
	ck_assert_uint_eq(oscillate("groups:\n- name: g\n  rules:\n"
	    "  - alert: Cpu\n    expr: cpu > 90\n    resolve: cpu > 80\n",
	    trace, sizeof(trace)), 2);
	ck_assert_str_eq(trace, "FFFFFFFFFFFFFFFF....");
	ck_assert_uint_eq(oscillate("groups:\n- name: g\n  rules:\n"
	    "  - alert: Cpu\n    expr: cpu > 90\n", trace, sizeof(trace)), 16);
	ck_assert_str_eq(trace, "F.F.F.F.F.F.F.F.....");
}
END_TEST

START_TEST(test_resolved_retention_and_return)
{
	struct harness	h;
	int64_t		t0 = 1700000000 * S;
	static const char rule[] = "groups:\n- name: g\n  rules:\n"
	    "  - alert: A\n    expr: a\n";

	harness_init(&h, rule);
	fake_add(&h.fake, "a", "instance=x", t0, 1);
	evaluator_eval(h.ev, 0, 0, t0);
	evaluator_eval(h.ev, 0, 0, t0 + 1 * M);
	ck_assert_int_eq(only_alert(&h)->state, ALERT_INACTIVE);
	evaluator_eval(h.ev, 0, 0, t0 + 16 * M);
	ck_assert_int_eq(only_alert(&h)->state, ALERT_INACTIVE);
	evaluator_eval(h.ev, 0, 0, t0 + 16 * M + 1);
	ck_assert_uint_eq(evaluator_rule(h.ev, 0, 0)->nalerts, 0);
	/* Resolved, then back within the retention: a new alert. */
	fake_add(&h.fake, "a", "instance=x", t0 + 20 * M, 1);
	fake_add(&h.fake, "a", "instance=x", t0 + 22 * M, 1);
	evaluator_eval(h.ev, 0, 0, t0 + 20 * M);
	evaluator_eval(h.ev, 0, 0, t0 + 21 * M);
	evaluator_eval(h.ev, 0, 0, t0 + 22 * M);
	ck_assert_int_eq(only_alert(&h)->state, ALERT_FIRING);
	ck_assert_int_eq(only_alert(&h)->active_at, t0 + 22 * M);
	harness_free(&h);
}
END_TEST

START_TEST(test_errors_and_duplicates)
{
	struct harness		 h;
	const struct rule_eval	*re;
	int64_t			 t0 = 1700000000 * S;
	static const char	 rule[] = "groups:\n- name: g\n  limit: 2\n"
	    "  rules:\n  - alert: A\n    expr: a\n    labels:\n"
	    "      instance: fixed\n";

	harness_init(&h, rule);
	h.fake.fail = 1;
	ck_assert_int_eq(evaluator_eval(h.ev, 0, 0, t0), -1);
	re = evaluator_rule(h.ev, 0, 0);
	ck_assert_int_eq(re->health, RULE_HEALTH_ERR);
	ck_assert_str_eq(re->last_error, "fake engine failure");
	h.fake.fail = 0;
	/* The rule label overwrites instance: two series, one labelset. */
	fake_add(&h.fake, "a", "instance=x", t0 + M, 1);
	fake_add(&h.fake, "a", "instance=y", t0 + M, 1);
	ck_assert_int_eq(evaluator_eval(h.ev, 0, 0, t0 + M), -1);
	ck_assert_str_eq(re->last_error, "vector contains metrics with the "
	    "same labelset after applying alert labels");
	fake_add(&h.fake, "a", "instance=z,j=1", t0 + 2 * M, 1);
	fake_add(&h.fake, "a", "instance=z,j=2", t0 + 2 * M, 1);
	fake_add(&h.fake, "a", "instance=z,j=3", t0 + 2 * M, 1);
	ck_assert_int_eq(evaluator_eval(h.ev, 0, 0, t0 + 2 * M), -1);
	ck_assert_str_eq(re->last_error, "exceeded limit of 2 with 3 alerts");
	ck_assert_uint_eq(re->failures, 3);
	fake_add(&h.fake, "a", "instance=z", t0 + 3 * M, 1);
	ck_assert_int_eq(evaluator_eval(h.ev, 0, 0, t0 + 3 * M), 0);
	ck_assert_int_eq(re->health, RULE_HEALTH_OK);
	ck_assert_str_eq(re->last_error, "");
	harness_free(&h);
}
END_TEST

START_TEST(test_restore_after_restart)
{
	struct harness		 h, h2;
	const struct alert	*a;
	const char		*k;
	json_t			*rec = NULL;
	int64_t			 t0 = 1700000000 * S;
	char			*key;

	harness_init(&h, rule_for2m);
	fake_add(&h.fake, "x > 90", "instance=a", t0, 95);
	fake_add(&h.fake, "x > 90", "instance=a", t0 + 2 * M, 97);
	fake_add(&h.fake, "x > 90", "instance=b", t0 + 2 * M, 99);
	evaluator_eval(h.ev, 0, 0, t0);
	evaluator_eval(h.ev, 0, 0, t0 + 2 * M);
	ck_assert_uint_eq(json_object_size(h.cap.records), 2);

	harness_init(&h2, rule_for2m);
	json_object_foreach(h.cap.records, k, rec) {
		key = xstrndup(k, strrchr(k, '/') - k);
		ck_assert_int_eq(evaluator_restore(h2.ev, key, rec), 0);
		free(key);
	}
	ck_assert_int_eq(evaluator_restore(h2.ev, "nope", rec), -1);
	fake_add(&h2.fake, "x > 90", "instance=a", t0 + 2 * M + 30 * S, 97);
	fake_add(&h2.fake, "x > 90", "instance=b", t0 + 2 * M + 30 * S, 99);
	evaluator_eval(h2.ev, 0, 0, t0 + 2 * M + 30 * S);
	/* a fired at +2m and was sent then: no resend within a minute;
	   b stays pending since +2m. */
	ck_assert_msg(h2.cap.sent.len == 0, "sent %s", h2.cap.sent.data);
	a = evaluator_rule(h2.ev, 0, 0)->alerts[0];
	if (strcmp(lset_get(&a->labels, "instance"), "a") != 0)
		a = evaluator_rule(h2.ev, 0, 0)->alerts[1];
	ck_assert_int_eq(a->state, ALERT_FIRING);
	ck_assert_int_eq(a->active_at, t0);
	ck_assert_int_eq(a->fired_at, t0 + 2 * M);
	ck_assert_str_eq(lset_get(&a->annotations, "summary"), "a at 97");
	harness_free(&h);
	harness_free(&h2);
}
END_TEST

START_TEST(test_recording_rule)
{
	struct harness		h;
	int64_t			t0 = 1700000000 * S;
	static const char	rule[] = "groups:\n- name: g\n  rules:\n"
	    "  - record: job:up:sum\n    expr: sum by (job) (up)\n"
	    "    labels:\n      tier: web\n";

	harness_init(&h, rule);
	fake_add(&h.fake, "sum by (job) (up)", "job=b", t0, 3);
	fake_add(&h.fake, "sum by (job) (up)", "job=a", t0, 2);
	fake_add(&h.fake, "sum by (job) (up)", "job=a", t0 + M, 1);
	evaluator_eval(h.ev, 0, 0, t0);
	evaluator_eval(h.ev, 0, 0, t0 + M);
	ck_assert_str_eq(h.cap.series.data,
	    "job:up:sum{job=a,tier=web} 2\n"
	    "job:up:sum{job=b,tier=web} 3\n"
	    "job:up:sum{job=a,tier=web} 1\n"
	    "job:up:sum{job=b,tier=web} stale\n");
	harness_free(&h);
}
END_TEST

/* Grouping with injected time. */

struct dcap {
	struct buf	 log;
	int		 fail;
	const char	*silence;	/* instance value silenced */
	struct nflog_entry last;
};

static int
dcap_notify(void *arg, const struct dgroup_view *v)
{
	struct dcap	*c = arg;
	size_t		 i;

	if (c->fail)
		return -1;
	buf_printf(&c->log, "+%llds %s", (long long)((v->now -
	    1700000000 * S) / S), v->key);
	for (i = 0; i < v->nalerts; i++)
		buf_printf(&c->log, " %s=%s",
		    lset_get(&v->alerts[i]->labels, "instance"),
		    v->alerts[i]->ends_at != 0 && v->alerts[i]->ends_at <=
		    v->now ? "resolved" : "firing");
	buf_addc(&c->log, '\n');
	nflog_entry_clear(&c->last);
	c->last.ts = v->entry->ts;
	c->last.nfiring = v->entry->nfiring;
	c->last.firing = xcalloc(v->entry->nfiring + 1, 8);
	memcpy(c->last.firing, v->entry->firing, 8 * v->entry->nfiring);
	c->last.resolved = xcalloc(1, 8);
	return 0;
}

static int
dcap_silenced(void *arg, const struct lset *l, int64_t now)
{
	struct dcap	*c = arg;
	const char	*v = lset_get(l, "instance");

	return c->silence != NULL && v != NULL && strcmp(v, c->silence) == 0;
}

static struct dispatch *
dnew(struct dcap *c, int64_t repeat)
{
	static const char *const gb[] = { "alertname", NULL };
	struct dispatch_opts	 o;

	memset(c, 0, sizeof(*c));
	memset(&o, 0, sizeof(o));
	o.receiver = "oncall";
	o.group_by = gb;
	o.group_wait_ms = 30 * S;
	o.group_interval_ms = 5 * M;
	o.repeat_interval_ms = repeat;
	o.notify = dcap_notify;
	o.notify_arg = c;
	o.silenced = dcap_silenced;
	o.silenced_arg = c;
	return dispatch_new(&o);
}

static void
dins(struct dispatch *d, const char *name, const char *inst, int64_t start,
    int64_t end, int64_t now)
{
	struct lset	l = LSET_INIT, an = LSET_INIT;

	lset_set(&l, "alertname", name);
	lset_set(&l, "instance", inst);
	lset_set(&an, "summary", inst);
	dispatch_insert(d, &l, &an, start, end, "http://x/graph", now);
	lset_clear(&l);
	lset_clear(&an);
}

#define T0	(1700000000 * S)
#define K(n)	"{}/{receiver=\"oncall\"}:{alertname=\"" n "\"}"

START_TEST(test_group_wait_interval_resolved)
{
	struct dcap	 c;
	struct dispatch	*d = dnew(&c, 4 * 60 * M);
	int64_t		 t;

	dins(d, "Down", "a", T0, T0 + 4 * M, T0);
	ck_assert_int_eq(dispatch_next_due(d), T0 + 30 * S);
	ck_assert_uint_eq(dispatch_flush(d, T0 + 29 * S), 0);
	dins(d, "Down", "b", T0 + 10 * S, T0 + 4 * M, T0 + 10 * S);
	dins(d, "Slow", "a", T0 + 10 * S, T0 + 4 * M, T0 + 10 * S);
	ck_assert_uint_eq(dispatch_groups(d), 2);
	ck_assert_uint_eq(dispatch_flush(d, T0 + 30 * S), 1);
	ck_assert_int_eq(dispatch_next_due(d), T0 + 40 * S);
	ck_assert_uint_eq(dispatch_flush(d, T0 + 40 * S), 1);
	/* Every minute the evaluator refreshes what fires; c joins Down at
	   +1m, b resolves at +6m. */
	for (t = T0 + M; t <= T0 + 12 * M; t += M) {
		dins(d, "Down", "a", T0, t + 4 * M, t);
		if (t < T0 + 6 * M)
			dins(d, "Down", "b", T0 + 10 * S, t + 4 * M, t);
		else if (t == T0 + 6 * M)
			dins(d, "Down", "b", T0 + 10 * S, t, t);
		dins(d, "Down", "c", T0 + M, t + 4 * M, t);
		dins(d, "Slow", "a", T0 + 10 * S, t + 4 * M, t);
		dispatch_flush(d, t);
		dispatch_flush(d, t + 30 * S);
		dispatch_flush(d, t + 40 * S);
	}
	ck_assert_str_eq(c.log.data,
	    "+30s " K("Down") " a=firing b=firing\n"
	    "+40s " K("Slow") " a=firing\n"
	    "+330s " K("Down") " a=firing b=firing c=firing\n"
	    "+630s " K("Down") " a=firing b=resolved c=firing\n");
	/* Then everything resolves: one last notification, and the group
	   goes; an old alert arriving later opens no new notification. */
	buf_reset(&c.log);
	dins(d, "Down", "a", T0, T0 + 13 * M, T0 + 13 * M);
	dins(d, "Down", "c", T0 + M, T0 + 13 * M, T0 + 13 * M);
	dispatch_flush(d, T0 + 15 * M + 30 * S);
	ck_assert_str_eq(c.log.data,
	    "+930s " K("Down") " a=resolved c=resolved\n");
	ck_assert_uint_eq(dispatch_groups(d), 1);	/* Slow */
	nflog_entry_clear(&c.last);
	buf_free(&c.log);
	dispatch_free(d);
}
END_TEST

START_TEST(test_group_repeat_interval)
{
	struct dcap	 c;
	struct dispatch	*d = dnew(&c, 12 * M);
	int64_t		 t;

	for (t = T0; t <= T0 + 31 * M; t += M) {
		dins(d, "Down", "a", T0, t + 4 * M, t);
		dispatch_flush(d, t);
		dispatch_flush(d, t + 30 * S);
	}
	ck_assert_str_eq(c.log.data,
	    "+30s " K("Down") " a=firing\n"
	    "+930s " K("Down") " a=firing\n"
	    "+1830s " K("Down") " a=firing\n");
	nflog_entry_clear(&c.last);
	buf_free(&c.log);
	dispatch_free(d);
}
END_TEST

START_TEST(test_group_restart_silence_failure)
{
	struct dcap		 c;
	struct dispatch		*d = dnew(&c, 4 * 60 * M), *d2;
	struct nflog_entry	 e, bad;
	struct buf		 enc = BUF_INIT;

	/* Before the restart: a notified. */
	dins(d, "Down", "a", T0, T0 + 4 * M, T0);
	dispatch_flush(d, T0 + 30 * S);
	nflog_encode(&c.last, &enc);
	ck_assert_int_eq(nflog_decode(enc.data, enc.len, &e), 0);
	ck_assert_int_eq(nflog_decode(enc.data, enc.len - 1, &bad), -1);
	ck_assert_uint_eq(e.nfiring, 1);
	ck_assert_int_eq(e.ts, T0 + 30 * S);
	buf_free(&enc);
	dispatch_free(d);
	nflog_entry_clear(&c.last);
	buf_free(&c.log);

	/* After it: the entry restored, a comes back (started long ago: the
	   group flushes at once) and is not paged again; b is new. */
	d2 = dnew(&c, 4 * 60 * M);
	dispatch_nflog_restore(d2, K("Down"), &e);
	nflog_entry_clear(&e);
	dins(d2, "Down", "a", T0, T0 + 6 * M, T0 + 2 * M);
	ck_assert_int_eq(dispatch_next_due(d2), T0 + 2 * M);
	ck_assert_uint_eq(dispatch_flush(d2, T0 + 2 * M), 0);
	dins(d2, "Down", "b", T0 + 3 * M, T0 + 7 * M, T0 + 3 * M);
	dins(d2, "Down", "x", T0 + 3 * M, T0 + 7 * M, T0 + 3 * M);
	/* x is silenced; the receiver fails once: retried a group interval
	   later, nothing logged in between. */
	c.silence = "x";
	c.fail = 1;
	ck_assert_uint_eq(dispatch_flush(d2, T0 + 7 * M), 0);
	c.fail = 0;
	dins(d2, "Down", "a", T0, T0 + 16 * M, T0 + 12 * M);
	dins(d2, "Down", "b", T0 + 3 * M, T0 + 16 * M, T0 + 12 * M);
	dins(d2, "Down", "x", T0 + 3 * M, T0 + 16 * M, T0 + 12 * M);
	ck_assert_uint_eq(dispatch_flush(d2, T0 + 11 * M), 0);
	ck_assert_uint_eq(dispatch_flush(d2, T0 + 12 * M), 1);
	ck_assert_str_eq(c.log.data,
	    "+720s " K("Down") " a=firing b=firing\n");
	nflog_entry_clear(&c.last);
	buf_free(&c.log);
	dispatch_free(d2);
}
END_TEST

static Suite *
alert_suite(void)
{
	Suite	*s = suite_create("alert");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_template_values);
	tcase_add_test(tc, test_template_check);
	tcase_add_test(tc, test_labels_identity);
	tcase_add_test(tc, test_resolve_rewrite);
	tcase_add_test(tc, test_rule_file_good);
	tcase_add_test(tc, test_rule_file_bad);
	tcase_add_test(tc, test_rule_yaml_limits);
	tcase_add_test(tc, test_pending_to_firing_after_exactly_for);
	tcase_add_test(tc, test_for_zero_fires_at_once_and_resends);
	tcase_add_test(tc, test_pending_dropped_silently);
	tcase_add_test(tc, test_keep_firing_for);
	tcase_add_test(tc, test_hysteresis_no_flapping);
	tcase_add_test(tc, test_query_then_apply);
	tcase_add_test(tc, test_resolved_retention_and_return);
	tcase_add_test(tc, test_errors_and_duplicates);
	tcase_add_test(tc, test_restore_after_restart);
	tcase_add_test(tc, test_recording_rule);
	tcase_add_test(tc, test_group_wait_interval_resolved);
	tcase_add_test(tc, test_group_repeat_interval);
	tcase_add_test(tc, test_group_restart_silence_failure);
	suite_add_tcase(s, tc);
	return s;
}

TCHECK_MAIN(alert_suite)
