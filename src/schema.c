/*
 * schema: the section kinds of monitord.conf (see schema.h).
 *
 * One table per kind declares every key once: name, type, flags, default,
 * bounds and help.  The parser, `monitord -t`, the getters and the test that
 * holds monitord.conf(5) to this table all read it, so a key added here is
 * documented or the build's tests fail.  The checks below are the rules a
 * single key cannot express.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/collector.h"
#include "conf.h"
#include "schema.h"
#include "xmalloc.h"

#define SEC	1000LL
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)
#define DAY	(24 * HOUR)
#define YEAR	(365 * DAY)

#define KB	1024LL
#define MB	(1024 * KB)
#define GB	(1024 * MB)
#define TB	(1024 * GB)

static const struct conf_key server_keys[] = {
	{ "listen", CONF_ADDR, 0, "127.0.0.1:9330", NULL, 0, 0,
	  "address and port of the HTTP server: dashboard, API, /metrics" },
	{ "data_dir", CONF_PATH, 0, NULL, NULL, 0, 0,
	  "directory of the time-series store" },
	{ "retention", CONF_DURATION, 0, "30d", NULL, HOUR, 100 * YEAR,
	  "how long raw samples are kept" },
	{ "evaluation_interval", CONF_DURATION, 0, "15s", NULL, SEC, DAY,
	  "how often alert rules are evaluated" },
	{ "rule_files", CONF_STRING, CONF_MULTI, NULL, NULL, 0, 0,
	  "Prometheus rule files to load, glob patterns relative to the "
	  "config file; repeat for several" },
	{ "log_level", CONF_ENUM, 0, "info", "error|warn|info|debug", 0, 0,
	  "least important messages that are logged" },
	{ "external_url", CONF_URL, 0, NULL, NULL, 0, 0,
	  "URL users reach monitord at, for links in notifications" },
	{ "max_connections", CONF_INT, 0, "512", NULL, 1, 65535,
	  "simultaneous HTTP connections; more wait to be accepted" },
	{ "request_timeout", CONF_DURATION, 0, "30s", NULL, SEC, HOUR,
	  "longest time an HTTP request may take, queries included" },
	{ "max_request_size", CONF_SIZE, 0, "16MB", NULL, KB, 4 * GB,
	  "largest HTTP request body accepted (imports)" },
	{ "query_threads", CONF_INT, 0, "0", NULL, 0, 256,
	  "queries answered at once, each on its own thread; 0 is one per "
	  "CPU (at most 16)" },
	{ "timestamp_tolerance", CONF_DURATION, 0, "25ms", NULL, 0, MIN,
	  "a run that starts this close to its tick stamps samples with the "
	  "tick, which compresses better" },
	{ "hostname", CONF_STRING, 0, NULL, NULL, 0, 0,
	  "name of this host in labels and notifications" },
	{ NULL }
};

static const struct conf_key storage_keys[] = {
	{ "flush_interval", CONF_DURATION, 0, "5s", NULL, SEC, HOUR,
	  "how often head chunks are checkpointed: the most scraped data a "
	  "crash can lose" },
	{ "max_series", CONF_INT, 0, "1000000", NULL, 1, 1000000000,
	  "series the store accepts in total; new ones beyond are dropped" },
	{ "max_series_per_job", CONF_INT, 0, "100000", NULL, 1, 1000000000,
	  "series one job may create, so one noisy target cannot fill the "
	  "store" },
	{ "retention_5m", CONF_DURATION, 0, "180d", NULL, HOUR, 100 * YEAR,
	  "how long 5-minute rollups are kept" },
	{ "retention_1h", CONF_DURATION, 0, "2y", NULL, HOUR, 100 * YEAR,
	  "how long 1-hour rollups are kept" },
	{ "map_size", CONF_SIZE, 0, "64GB", NULL, 16 * MB, 1024 * TB,
	  "upper bound of the store's memory map (address space, not disk)" },
	{ NULL }
};

static const struct conf_key service_keys[] = {
	{ "method", CONF_ENUM, CONF_REQUIRED, NULL, "red|golden|use", 0, 0,
	  "how the service is watched: red (rate, errors, duration), golden "
	  "(latency, traffic, errors, saturation) or use (utilization, "
	  "saturation, errors)" },
	{ "job", CONF_STRING, CONF_MULTI, NULL, NULL, 0, 0,
	  "a job whose series feed the service; repeat for several" },
	{ "description", CONF_STRING, 0, NULL, NULL, 0, 0,
	  "one line shown on the dashboard" },
	{ "rate", CONF_EXPR, 0, NULL, NULL, 0, 0,
	  "requests per second (red)" },
	{ "errors", CONF_EXPR, 0, NULL, NULL, 0, 0,
	  "failed requests per second, or errors of the resource" },
	{ "duration", CONF_EXPR, 0, NULL, NULL, 0, 0,
	  "time a request takes, in seconds (red)" },
	{ "latency", CONF_EXPR, 0, NULL, NULL, 0, 0,
	  "time a request takes, in seconds (golden)" },
	{ "traffic", CONF_EXPR, 0, NULL, NULL, 0, 0,
	  "demand on the service, such as requests per second (golden)" },
	{ "saturation", CONF_EXPR, 0, NULL, NULL, 0, 0,
	  "how full the service or resource is (golden, use)" },
	{ "utilization", CONF_EXPR, 0, NULL, NULL, 0, 0,
	  "share of time the resource is busy (use)" },
	{ NULL }
};

static const struct conf_key alert_keys[] = {
	{ "expr", CONF_EXPR, CONF_REQUIRED, NULL, NULL, 0, 0,
	  "the condition: every series it returns is an alert" },
	{ "for", CONF_DURATION, 0, "0s", NULL, 0, 0,
	  "how long the condition must hold before the alert fires" },
	{ "keep_firing_for", CONF_DURATION, 0, "0s", NULL, 0, 0,
	  "how long a fired alert keeps firing after the condition clears" },
	{ "resolve", CONF_EXPR, 0, NULL, NULL, 0, 0,
	  "hysteresis: a firing alert stays firing while this returns its "
	  "series (or, as a number, until expr's value crosses it)" },
	{ "severity", CONF_ENUM, 0, "warning", "warning|critical", 0, 0,
	  "the severity label of the alert" },
	{ "labels", CONF_LABELS, 0, NULL, NULL, 0, 0,
	  "extra labels of the alert" },
	{ "summary", CONF_STRING, 0, NULL, NULL, 0, 0,
	  "one-line annotation; may use {{ $value }} and {{ $labels.NAME }}" },
	{ "description", CONF_STRING, 0, NULL, NULL, 0, 0,
	  "longer annotation, templated like summary" },
	{ "notify", CONF_STRING, CONF_MULTI, NULL, NULL, 0, 0,
	  "name of a [webhook] or [alertmanager] section; repeat for several" },
	{ "evaluation_interval", CONF_DURATION, 0, NULL, NULL, SEC, DAY,
	  "evaluate this rule at its own pace" },
	{ NULL }
};

static const struct conf_key webhook_keys[] = {
	{ "url", CONF_URL, CONF_REQUIRED, NULL, NULL, 0, 0,
	  "where notifications are posted" },
	{ "timeout", CONF_DURATION, 0, "10s", NULL, 100, 5 * MIN,
	  "time allowed for one delivery" },
	{ "group_by", CONF_STRING, 0, "alertname", NULL, 0, 0,
	  "label names, comma-separated: alerts with equal values share a "
	  "notification" },
	{ "group_wait", CONF_DURATION, 0, "30s", NULL, 0, 0,
	  "how long a new group waits for more alerts before its first "
	  "notification" },
	{ "group_interval", CONF_DURATION, 0, "5m", NULL, 0, 0,
	  "how long a group waits before notifying about changes" },
	{ "repeat_interval", CONF_DURATION, 0, "4h", NULL, 0, 0,
	  "how often an unchanged firing group is notified again" },
	{ "bearer_token_file", CONF_SECRET, 0, NULL, NULL, 0, 0,
	  "file holding a token sent as Authorization: Bearer" },
	{ "username", CONF_STRING, 0, NULL, NULL, 0, 0,
	  "user name for HTTP basic authentication" },
	{ "password_file", CONF_SECRET, 0, NULL, NULL, 0, 0,
	  "file holding the password for HTTP basic authentication" },
	{ "header", CONF_STRING, CONF_MULTI, NULL, NULL, 0, 0,
	  "an extra request header, \"Name: value\"; repeat for several" },
	{ NULL }
};

static const struct conf_key alertmanager_keys[] = {
	{ "url", CONF_URL, CONF_REQUIRED, NULL, NULL, 0, 0,
	  "base URL of the Alertmanager; alerts go to its /api/v2/alerts" },
	{ "timeout", CONF_DURATION, 0, "10s", NULL, 100, 5 * MIN,
	  "time allowed for one delivery" },
	{ "bearer_token_file", CONF_SECRET, 0, NULL, NULL, 0, 0,
	  "file holding a token sent as Authorization: Bearer" },
	{ NULL }
};

/* Which signals each method shows; the others make no sense with it. */
static const struct {
	const char	*method;
	const char	*signals;
} method_signals[] = {
	{ "red", "rate, errors, duration" },
	{ "golden", "latency, traffic, errors, saturation" },
	{ "use", "utilization, saturation, errors" },
};

static int
word_in(const char *word, const char *list)
{
	size_t		 len = strlen(word);
	const char	*p = list;

	while ((p = strstr(p, word)) != NULL) {
		if ((p == list || p[-1] == ' ') &&
		    (p[len] == ',' || p[len] == '\0'))
			return 1;
		p += len;
	}
	return 0;
}

static void
service_check(const struct conf_section *s, struct conf_errors *errs)
{
	static const char *const all[] = { "rate", "errors", "duration",
	    "latency", "traffic", "saturation", "utilization" };
	const char	*method = conf_str(s, "method"), *signals = NULL;
	size_t		 i;

	for (i = 0; i < sizeof(method_signals) / sizeof(method_signals[0]); i++)
		if (strcmp(method_signals[i].method, method) == 0)
			signals = method_signals[i].signals;
	if (signals == NULL)
		return;
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (conf_has(s, all[i]) && !word_in(all[i], signals))
			conf_error(errs, s, all[i], "%s is not a signal of "
			    "method %s (its signals: %s)", all[i], method,
			    signals);
	}
}

static int
label_name_ok(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; i < len; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	}
	return 1;
}

static void
group_by_check(const struct conf_section *s, struct conf_errors *errs)
{
	const char	*p = conf_str(s, "group_by"), *end;
	size_t		 len;
	char		 q[CONF_QUOTE_LEN];

	while (*p != '\0') {
		p += strspn(p, " \t");
		end = p + strcspn(p, ",");
		len = (size_t)(end - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (!label_name_ok(p, len)) {
			conf_error(errs, s, "group_by", "group_by: %s is not a "
			    "comma-separated list of label names",
			    conf_quote(q, sizeof(q), conf_str(s, "group_by")));
			return;
		}
		p = *end == ',' ? end + 1 : end;
	}
}

static int
token_char(char c)
{
	/* c != 0: strchr() finds the terminator too. */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* header = Name: value; secrets belong in files, not in the config. */
static void
header_check(const struct conf_section *s, struct conf_errors *errs,
    size_t i)
{
	const char	*h = conf_multi_at(s, "header", i), *colon;
	size_t		 n;
	int		 line = conf_multi_line(s, "header", i);

	for (n = 0; token_char(h[n]); n++)
		;
	colon = h + n;
	if (n == 0 || *colon != ':' || colon[1 + strspn(colon + 1, " \t")] ==
	    '\0') {
		conf_error_line(errs, s, line, "header must look like "
		    "\"Name: value\"");
		return;
	}
	if ((n == 13 && strncasecmp(h, "Authorization", n) == 0) ||
	    (n == 6 && strncasecmp(h, "Cookie", n) == 0))
		conf_error_line(errs, s, line, "header %.*s would put a "
		    "secret in the config; use bearer_token_file or "
		    "password_file", (int)n, h);
}

static void
webhook_check(const struct conf_section *s, struct conf_errors *errs)
{
	size_t	i;

	if (conf_has(s, "password_file") && !conf_has(s, "username"))
		conf_error(errs, s, "password_file", "password_file needs "
		    "username (HTTP basic authentication)");
	if (conf_has(s, "username") && !conf_has(s, "password_file"))
		conf_error(errs, s, "username", "username needs password_file "
		    "(HTTP basic authentication)");
	if (conf_has(s, "bearer_token_file") && conf_has(s, "password_file"))
		conf_error(errs, s, "bearer_token_file", "use either "
		    "bearer_token_file or username and password_file, not both");
	group_by_check(s, errs);
	for (i = 0; i < conf_multi_count(s, "header"); i++)
		header_check(s, errs, i);
}

static const struct conf_kind server_kind = {
	"server", 0, 1, server_keys, NULL,
	"the HTTP server, alert evaluation and logging", NULL
};
static const struct conf_kind storage_kind = {
	"storage", 0, 1, storage_keys, NULL,
	"the time-series store: limits, checkpoints, rollup retention", NULL
};
static const struct conf_kind service_kind = {
	"service", 1, 0, service_keys, NULL,
	"a part of the system as the dashboard shows it", service_check
};
static const struct conf_kind alert_kind = {
	"alert", 1, 0, alert_keys, NULL,
	"an alert rule", NULL
};
static const struct conf_kind webhook_kind = {
	"webhook", 1, 0, webhook_keys, NULL,
	"a receiver of notifications in the Alertmanager webhook format",
	webhook_check
};
static const struct conf_kind alertmanager_kind = {
	"alertmanager", 1, 0, alertmanager_keys, NULL,
	"an Alertmanager that alerts are forwarded to", NULL
};

const struct conf_kind *const schema_core_kinds[] = {
	&server_kind, &storage_kind, &service_kind, &alert_kind,
	&webhook_kind, &alertmanager_kind, NULL,
};

static int
is_core(const struct conf_kind *k)
{
	size_t	i;

	for (i = 0; schema_core_kinds[i] != NULL; i++)
		if (schema_core_kinds[i] == k)
			return 1;
	return 0;
}

const struct conf_kind *const *
schema_kinds_new(const struct collector_kind *const *collectors)
{
	return schema_kinds_new_with(collectors, collector_common_keys);
}

const struct conf_kind *const *
schema_kinds_new_with(const struct collector_kind *const *collectors,
    const struct conf_key *common)
{
	const struct conf_kind	**v;
	struct conf_kind	 *k;
	size_t			  nc = 0, n = 0, i, j;

	while (collectors != NULL && collectors[nc] != NULL)
		nc++;
	v = xcalloc(nc + 7, sizeof(*v));
	v[n++] = &server_kind;
	v[n++] = &storage_kind;
	for (i = 0; i < nc; i++) {
		k = xcalloc(1, sizeof(*k));
		k->kind = collectors[i]->kind;
		k->named = 1;
		k->keys = collectors[i]->keys;
		k->common = common;
		k->help = collectors[i]->help;
		k->check = collectors[i]->check;
		v[n++] = k;
	}
	for (i = 2; schema_core_kinds[i] != NULL; i++)
		v[n++] = schema_core_kinds[i];
	for (i = 0; i < n; i++) {
		for (j = i + 1; j < n; j++) {
			if (strcmp(v[i]->kind, v[j]->kind) == 0) {
				fprintf(stderr, "schema: two section kinds "
				    "named \"%s\"\n", v[i]->kind);
				abort();
			}
		}
	}
	return (const struct conf_kind *const *)v;
}

void
schema_kinds_free(const struct conf_kind *const *kinds)
{
	size_t	i;

	if (kinds == NULL)
		return;
	for (i = 0; kinds[i] != NULL; i++)
		if (!is_core(kinds[i]))
			free((void *)kinds[i]);
	free((void *)kinds);
}

/*
 * Names of every receiver section, for lookups and suggestions.  The check
 * also runs on files with errors, where a section may lack its name.
 */
static const char **
receivers(const struct conf *conf, size_t *np)
{
	static const char *const kinds[] = { "webhook", "alertmanager" };
	const char	**v, *name;
	size_t		  n = 0, k, i;

	v = xcalloc(conf_count(conf, kinds[0]) + conf_count(conf, kinds[1]) + 1,
	    sizeof(*v));
	for (k = 0; k < 2; k++) {
		for (i = 0; i < conf_count(conf, kinds[k]); i++) {
			name = conf_section_name(conf_at(conf, kinds[k], i));
			if (name != NULL)
				v[n++] = name;
		}
	}
	*np = n;
	return v;
}

static const struct conf_section *
find_named(const struct conf *conf, const char *kind, const char *name)
{
	const struct conf_section	*s;
	size_t				 i;

	for (i = 0; (s = conf_at(conf, kind, i)) != NULL; i++)
		if (conf_section_name(s) != NULL &&
		    strcmp(conf_section_name(s), name) == 0)
			return s;
	return NULL;
}

static void
notify_check(const struct conf *conf, const struct conf_section *alert,
    const char *const *names, size_t n, struct conf_errors *errs)
{
	const char	*to, *best;
	size_t		 i, j;
	char		 q[CONF_QUOTE_LEN], qb[CONF_QUOTE_LEN];

	for (i = 0; (to = conf_multi_at(alert, "notify", i)) != NULL; i++) {
		for (j = 0; j < n; j++)
			if (strcmp(names[j], to) == 0)
				break;
		if (j < n)
			continue;
		best = conf_suggest(to, names, n);
		conf_error_line(errs, alert, conf_multi_line(alert, "notify", i),
		    "notify %s names no [webhook] or [alertmanager] section%s%s%s",
		    conf_quote(q, sizeof(q), to),
		    best != NULL ? "; did you mean " : "",
		    best != NULL ? conf_quote(qb, sizeof(qb), best) : "",
		    best != NULL ? "?" : "");
	}
}

void
schema_check(const struct conf *conf, struct conf_errors *errs)
{
	const struct conf_section	 *s, *w;
	const char			**names;
	size_t				  n, i;
	char				  q[CONF_QUOTE_LEN];

	names = receivers(conf, &n);
	for (i = 0; (s = conf_at(conf, "alert", i)) != NULL; i++)
		notify_check(conf, s, names, n, errs);
	free(names);
	/* notify = NAME must mean one receiver. */
	for (i = 0; (s = conf_at(conf, "alertmanager", i)) != NULL; i++) {
		if (conf_section_name(s) == NULL || (w = find_named(conf,
		    "webhook", conf_section_name(s))) == NULL)
			continue;
		conf_error(errs, s, NULL, "[alertmanager %s] has the name of "
		    "[webhook %s] at line %d; notify could not tell them apart",
		    conf_quote(q, sizeof(q), conf_section_name(s)),
		    conf_quote(q, sizeof(q), conf_section_name(s)),
		    conf_section_line(w));
	}
}

struct conf *
schema_load(const char *path, const char *text,
    const struct conf_kind *const *kinds,
    int (*expr)(const char *, char *, size_t), struct conf_errors *errs)
{
	struct conf_hooks	hooks;

	hooks.check = schema_check;
	hooks.expr = expr;
	return conf_load_with(path, text, kinds, &hooks, errs);
}
