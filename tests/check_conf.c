/*
 * Tests of conf (the monitord.conf parser) and schema (the section kinds):
 * every bad fragment with the exact errors it must give, good files with
 * every type, defaults, quoting, secret file modes, limits, and the man page
 * against the schema table.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tcheck.h"
#include "buf.h"
#include "collectors/collector.h"
#include "conf.h"
#include "schema.h"
#include "xmalloc.h"

/* A collector kind with a key of every type, and its own cross-key check. */
static const struct conf_key test_common[] = {
	{ "interval", CONF_DURATION, 0, "15s", NULL, 1000, 3600000,
	  "how often" },
	{ "timeout", CONF_DURATION, 0, NULL, NULL, 0, 0, "deadline" },
	{ "labels", CONF_LABELS, 0, NULL, NULL, 0, 0, "extra labels" },
	{ NULL }
};

static const struct conf_key probe_keys[] = {
	{ "target", CONF_URL, CONF_REQUIRED, NULL, NULL, 0, 0, "what" },
	{ "count", CONF_INT, 0, "3", NULL, 1, 10, "tries" },
	{ "offset", CONF_INT, 0, NULL, NULL, 0, 0, "unbounded" },
	{ "ratio", CONF_FLOAT, 0, "0.5", NULL, 0, 1, "share" },
	{ "verbose", CONF_BOOL, 0, "no", NULL, 0, 0, "chatty" },
	{ "buffer", CONF_SIZE, 0, "4KB", NULL, 1024, 1 << 20, "buffer" },
	{ "match", CONF_REGEX, 0, NULL, NULL, 0, 0, "pattern" },
	{ "mode", CONF_ENUM, 0, "fast", "fast|slow|off", 0, 0, "speed" },
	{ "connect", CONF_ADDR, 0, NULL, NULL, 0, 0, "address" },
	{ "pidfile", CONF_PATH, 0, NULL, NULL, 0, 0, "pid file" },
	{ "password_file", CONF_SECRET, 0, NULL, NULL, 0, 0, "secret" },
	{ "tag", CONF_STRING, CONF_MULTI, NULL, NULL, 0, 0, "tags" },
	{ "query", CONF_EXPR, 0, NULL, NULL, 0, 0, "query" },
	{ "note", CONF_STRING, 0, NULL, NULL, 0, 0, "free text" },
	{ NULL }
};

static void
probe_check(const struct conf_section *s, struct conf_errors *errs)
{
	if (conf_has(s, "timeout") &&
	    conf_duration(s, "timeout") > conf_duration(s, "interval"))
		conf_error(errs, s, "timeout", "timeout must not exceed "
		    "interval");
}

static const struct collector_kind probe_kind = {
	.kind = "probe",
	.help = "a test collector",
	.keys = probe_keys,
	.check = probe_check,
};

static const struct collector_kind *const test_collectors[] = {
	&probe_kind, NULL
};

/* A stand-in for the PromQL parser. */
static int
test_expr(const char *s, char *err, size_t errlen)
{
	if (s[0] != ')')
		return 0;
	snprintf(err, errlen, "unexpected \")\" at 1");
	return -1;
}

static const struct conf_kind *const *kinds;
static struct conf_errors *errs;
static char tmpdir[64];

static void
setup(void)
{
	kinds = schema_kinds_new_with(test_collectors, test_common);
	errs = conf_errors_new();
}

static void
teardown(void)
{
	schema_kinds_free(kinds);
	conf_errors_free(errs);
}

static void
errs_reset(void)
{
	conf_errors_free(errs);
	errs = conf_errors_new();
}

static struct conf *
load(const char *text)
{
	return schema_load("t.conf", text, kinds, test_expr, errs);
}

/* Every error of ERRS, one per line, for one comparison that shows all. */
static char *
errors_joined(void)
{
	struct buf	b = BUF_INIT;
	size_t		i;

	buf_adds(&b, "");
	for (i = 0; i < conf_errors_count(errs); i++)
		buf_printf(&b, "%s\n", conf_errors_at(errs, i));
	return buf_detach(&b);
}

static struct conf *
load_ok(const char *text)
{
	struct conf	*conf = load(text);
	char		*got = errors_joined();

	ck_assert_str_eq(got, "");
	free(got);
	ck_assert_ptr_nonnull(conf);
	return conf;
}

/* Bad fragments and, line by line, exactly what they must report. */
static const struct {
	const char	*text;
	const char	*want;
} bad[] = {
	/* 0: syntax */
	{ "[server\n",
	  "t.conf:1: missing \"]\" at the end of the section header\n" },
	{ "[probe x]\n",
	  "t.conf:1: bad section header \"[probe x]\": expected [kind] or "
	  "[kind \"name\"]\n" },
	{ "[]\n",
	  "t.conf:1: bad section header \"[]\": expected [kind] or "
	  "[kind \"name\"]\n" },
	{ "[server] x\n",
	  "t.conf:1: unexpected text after \"]\": \"x\"\n" },
	{ "[probe \"x]\n",
	  "t.conf:1: unterminated quote (missing closing \")\n" },
	/* 5 */
	{ "[server]\nlisten 127.0.0.1:80\n",
	  "t.conf:2: expected \"key = value\" or a [section], not "
	  "\"listen 127.0.0.1:80\"\n" },
	{ "[server]\n= 5\n",
	  "t.conf:2: missing key before \"=\"\n" },
	{ "[server]\nlis ten = 5\n",
	  "t.conf:2: invalid key name \"lis ten\"\n" },
	{ "listen = 127.0.0.1:80\n[server]\n",
	  "t.conf:1: key \"listen\" outside of any section (add a [section] "
	  "header above it)\n" },
	{ "[alert \"a\"]\nexpr = \"up\n",
	  "t.conf:2: unterminated quote (missing closing \")\n" },
	/* 10 */
	{ "[server]\nhostname = \"a\\qb\"\n",
	  "t.conf:2: unknown escape \"\\q\" in quotes (use \\\", \\\\, \\n "
	  "or \\t)\n" },
	{ "[server]\nhostname = \"a\" b\n",
	  "t.conf:2: unexpected text after the closing quote: \"b\"\n" },
	/* sections */
	{ "[sever]\nlisten = x\n",
	  "t.conf:1: unknown section kind \"sever\"; did you mean \"server\"? "
	  "(valid: server, storage, probe, service, alert, webhook, "
	  "alertmanager)\n" },
	{ "[zzzzzz]\nfoo = 1\nbar = 2\n",
	  "t.conf:1: unknown section kind \"zzzzzz\" (valid: server, storage, "
	  "probe, service, alert, webhook, alertmanager)\n" },
	{ "[probe]\ntarget = http://h/\n",
	  "t.conf:1: section [probe] needs a name: [probe \"NAME\"]\n" },
	/* 15 */
	{ "[server \"x\"]\nlisten = 127.0.0.1:1\n",
	  "t.conf:1: section [server] takes no name (not [server \"x\"])\n" },
	{ "[probe \"\"]\ntarget = http://h/\n",
	  "t.conf:1: section [probe \"\"] has an empty name\n" },
	{ "[probe \"a\"]\ntarget = http://h/\n[probe \"b\"]\ntarget = "
	  "http://h/\n[probe \"a\"]\ntarget = http://h/\n",
	  "t.conf:5: duplicate section [probe \"a\"] (first at line 1)\n" },
	{ "[server]\n[storage]\n[server]\n[server]\n",
	  "t.conf:3: duplicate section [server] (first at line 1)\n"
	  "t.conf:4: duplicate section [server] (first at line 1)\n" },
	{ "[probe \"a\\tb\"]\ntarget = http://h/\n",
	  "t.conf:1: section name \"a\\x09b\" contains a control character\n" },
	/* 20: keys */
	{ "[probe \"a\"]\ntarget = http://h/\nintervl = 5s\n",
	  "t.conf:3: unknown key \"intervl\" in [probe \"a\"]; did you mean "
	  "\"interval\"?\n" },
	{ "[server]\nfoo = 1\n",
	  "t.conf:2: unknown key \"foo\" in [server]\n" },
	{ "[server]\nListen = 127.0.0.1:1\n",
	  "t.conf:2: unknown key \"Listen\" in [server]; did you mean "
	  "\"listen\"?\n" },
	{ "[server]\nlisten = 127.0.0.1:1\nlisten = 127.0.0.1:2\n",
	  "t.conf:3: duplicate key \"listen\" (first at line 2)\n" },
	{ "[alert \"a\"]\nfor = 1m\n",
	  "t.conf:1: missing required key \"expr\" in [alert \"a\"]\n" },
	/* 25: durations and sizes */
	{ "[server]\nretention = 30\n",
	  "t.conf:2: invalid duration \"30\": missing or unknown unit (use ms, "
	  "s, m, h, d, w or y)\n" },
	{ "[server]\nevaluation_interval = 500ms\n",
	  "t.conf:2: 500ms is out of range for evaluation_interval (1s..1d)\n" },
	{ "[server]\nmax_request_size = 16QB\n",
	  "t.conf:2: invalid size \"16QB\": missing or unknown unit (use B, KB, "
	  "MB, GB or TB)\n" },
	{ "[server]\nmax_request_size = 1B\n",
	  "t.conf:2: 1B is out of range for max_request_size (1KB..4GB)\n" },
	{ "[server]\nretention =\n",
	  "t.conf:2: empty value for retention\n" },
	/* 30: numbers, booleans, enums */
	{ "[server]\nmax_connections = 12x\n",
	  "t.conf:2: \"12x\" is not an integer\n" },
	{ "[server]\nmax_connections = 0\n",
	  "t.conf:2: 0 is out of range for max_connections (1..65535)\n" },
	{ "[probe \"p\"]\ntarget = http://h/\noffset = 99999999999999999999\n",
	  "t.conf:3: \"99999999999999999999\" is not an integer\n" },
	{ "[probe \"p\"]\ntarget = http://h/\nratio = 2\nverbose = maybe\n",
	  "t.conf:3: \"2\" is out of range for ratio (0..1)\n"
	  "t.conf:4: \"maybe\" is not a boolean (use yes/no, true/false, "
	  "on/off or 1/0)\n" },
	{ "[probe \"p\"]\ntarget = http://h/\nratio = nan\n",
	  "t.conf:3: \"nan\" is not a finite number\n" },
	/* 35 */
	{ "[server]\nlog_level = verbose\n",
	  "t.conf:2: \"verbose\" is not a valid log_level (use error, warn, "
	  "info or debug)\n" },
	{ "[probe \"p\"]\ntarget = http://h/\nmatch = a(b\n",
	  "t.conf:3: invalid regular expression \"a(b\" at offset 3: missing "
	  "closing parenthesis\n" },
	/* URLs */
	{ "[probe \"p\"]\ntarget = ftp://h/\n",
	  "t.conf:2: invalid URL \"ftp://h/\": must start with http:// or "
	  "https://\n" },
	{ "[probe \"p\"]\ntarget = http:///x\n",
	  "t.conf:2: invalid URL \"http:///x\": missing host\n" },
	{ "[probe \"p\"]\ntarget = http://h:99999/\n",
	  "t.conf:2: invalid URL \"http://h:99999/\": port must be a number "
	  "from 1 to 65535\n" },
	/* 40 */
	{ "[probe \"p\"]\ntarget = http://u:hunter2@h/\n",
	  "t.conf:2: invalid URL: credentials do not belong in a URL (use the "
	  "section's secret file keys)\n" },
	{ "[probe \"p\"]\ntarget = \"http://h/a b\"\n",
	  "t.conf:2: invalid URL \"http://h/a b\": contains a space or "
	  "control character\n" },
	{ "[probe \"p\"]\ntarget = http://[::1:80/\n",
	  "t.conf:2: invalid URL \"http://[::1:80/\": invalid IPv6 address\n" },
	/* addresses */
	{ "[server]\nlisten = localhost\n",
	  "t.conf:2: invalid address \"localhost\": missing port (expected "
	  "host:port or [v6]:port)\n" },
	{ "[server]\nlisten = :9330\n",
	  "t.conf:2: invalid address \":9330\": missing host (use "
	  "0.0.0.0:9330 for every interface)\n" },
	/* 45 */
	{ "[server]\nlisten = h:0\n",
	  "t.conf:2: invalid address \"h:0\": port must be a number from 1 to "
	  "65535 (expected host:port or [v6]:port)\n" },
	{ "[server]\nlisten = [::g]:80\n",
	  "t.conf:2: invalid address \"[::g]:80\": invalid IPv6 address "
	  "(expected host:port or [v6]:port)\n" },
	{ "[server]\nlisten = [::1]80\n",
	  "t.conf:2: invalid address \"[::1]80\": expected \":\" after \"]\" "
	  "(expected host:port or [v6]:port)\n" },
	/* paths */
	{ "[server]\ndata_dir = var/lib/monitord\n",
	  "t.conf:2: \"var/lib/monitord\" is not an absolute path\n" },
	{ "[server]\ndata_dir = \"/a\\nb\"\n",
	  "t.conf:2: path \"/a\\x0ab\" contains a control character\n" },
	/* 50: labels */
	{ "[probe \"p\"]\ntarget = http://h/\nlabels = a=b, 1x=c\n",
	  "t.conf:3: invalid label name \"1x\" (letters, digits and _, not "
	  "starting with a digit)\n" },
	{ "[probe \"p\"]\ntarget = http://h/\nlabels = a=b, a=c\n",
	  "t.conf:3: duplicate label a\n" },
	{ "[probe \"p\"]\ntarget = http://h/\nlabels = team\n",
	  "t.conf:3: expected name=value in labels, not \"team\"\n" },
	{ "[probe \"p\"]\ntarget = http://h/\nlabels = __name__=x\n",
	  "t.conf:3: label name \"__name__\" is reserved (names starting with "
	  "__ are internal)\n" },
	{ "[probe \"p\"]\ntarget = http://h/\nlabels = a=\n",
	  "t.conf:3: label a has an empty value\n" },
	/* 55 */
	{ "[probe \"p\"]\ntarget = http://h/\nlabels = a=b,\n",
	  "t.conf:3: empty entry in labels (expected name=value, "
	  "name=value)\n" },
	/* expressions */
	{ "[alert \"a\"]\nexpr =\n",
	  "t.conf:2: empty value for expr\n" },
	{ "[alert \"a\"]\nexpr = ) > 1\n",
	  "t.conf:2: invalid expression: unexpected \")\" at 1\n" },
	/* per-kind and cross-section checks */
	{ "[probe \"p\"]\ntarget = http://h/\ninterval = 5s\ntimeout = 10s\n",
	  "t.conf:4: timeout must not exceed interval\n" },
	{ "[service \"s\"]\nmethod = red\nlatency = x\nrate = y\n"
	  "utilization = z\n",
	  "t.conf:3: latency is not a signal of method red (its signals: "
	  "rate, errors, duration)\n"
	  "t.conf:5: utilization is not a signal of method red (its signals: "
	  "rate, errors, duration)\n" },
	/* 60 */
	{ "[alert \"a\"]\nexpr = up == 0\nnotify = oncall\nnotify = oncal\n"
	  "notify = pager\n[webhook \"oncall\"]\nurl = http://h/\n",
	  "t.conf:4: notify \"oncal\" names no [webhook] or [alertmanager] "
	  "section; did you mean \"oncall\"?\n"
	  "t.conf:5: notify \"pager\" names no [webhook] or [alertmanager] "
	  "section\n" },
	{ "[webhook \"w\"]\nurl = http://h/\nusername = bob\n",
	  "t.conf:3: username needs password_file (HTTP basic "
	  "authentication)\n" },
	{ "[webhook \"w\"]\nurl = http://h/\nheader = X-Team\n"
	  "header = X-Team: ops\nheader = authorization: Bearer x\n",
	  "t.conf:3: header must look like \"Name: value\"\n"
	  "t.conf:5: header authorization would put a secret in the config; "
	  "use bearer_token_file or password_file\n" },
	{ "[webhook \"w\"]\nurl = http://h/\ngroup_by = alertname, 2x\n",
	  "t.conf:3: group_by: \"alertname, 2x\" is not a comma-separated "
	  "list of label names\n" },
	{ "[webhook \"x\"]\nurl = http://h/\n[alertmanager \"x\"]\n"
	  "url = http://h/\n",
	  "t.conf:3: [alertmanager \"x\"] has the name of [webhook \"x\"] at "
	  "line 1; notify could not tell them apart\n" },
	/* 65: one run reports everything, sorted by line */
	{ "[server]\nlisten = nowhere\nretention = 30\n[alert \"a\"]\n"
	  "severity = high\nnotify = nobody\n[sever]\nx = 1\n[storage]\n"
	  "map_size = big\nflush = 5s\n",
	  "t.conf:2: invalid address \"nowhere\": missing port (expected "
	  "host:port or [v6]:port)\n"
	  "t.conf:3: invalid duration \"30\": missing or unknown unit (use ms, "
	  "s, m, h, d, w or y)\n"
	  "t.conf:4: missing required key \"expr\" in [alert \"a\"]\n"
	  "t.conf:5: \"high\" is not a valid severity (use warning or "
	  "critical)\n"
	  "t.conf:6: notify \"nobody\" names no [webhook] or [alertmanager] "
	  "section\n"
	  "t.conf:7: unknown section kind \"sever\"; did you mean \"server\"? "
	  "(valid: server, storage, probe, service, alert, webhook, "
	  "alertmanager)\n"
	  "t.conf:10: invalid size \"big\": expected a number followed by B, "
	  "KB, MB, GB or TB\n"
	  "t.conf:11: unknown key \"flush\" in [storage]\n" },
	{ "[alert \"a\"]\nexpr = \"up\nexpr = up\n",
	  "t.conf:2: unterminated quote (missing closing \")\n"
	  "t.conf:3: duplicate key \"expr\" (first at line 2)\n" },
	/* found by fuzz_conf: an empty header read past its end */
	{ "[webhook \"w\"]\nurl = http://h/\nheader =\nheader = X-A:\n",
	  "t.conf:3: header must look like \"Name: value\"\n"
	  "t.conf:4: header must look like \"Name: value\"\n" },
	/* found by fuzz_conf: a nameless receiver in the cross checks */
	{ "[webhook]\nurl = http://h/\n[alert \"a\"]\nexpr = up\n"
	  "notify = x\n",
	  "t.conf:1: section [webhook] needs a name: [webhook \"NAME\"]\n"
	  "t.conf:5: notify \"x\" names no [webhook] or [alertmanager] "
	  "section\n" },
};

START_TEST(test_bad)
{
	struct conf	*conf = load(bad[_i].text);
	char		*got = errors_joined();

	ck_assert_ptr_null(conf);
	ck_assert_str_eq(got, bad[_i].want);
	free(got);
}
END_TEST

START_TEST(test_good_file)
{
	const struct conf_section	*s;
	const char			*dir = getenv("MONITORD_SRCDIR");
	const char			*n, *v;
	struct conf			*conf;
	char				 path[4096], *got;

	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/tests/data/conf/good.conf", dir);
	conf = schema_load(path, NULL, kinds, test_expr, errs);
	got = errors_joined();
	ck_assert_str_eq(got, "");
	free(got);
	ck_assert_str_eq(conf_path(conf), path);
	ck_assert_uint_eq(conf_count(conf, NULL), 9);
	ck_assert_uint_eq(conf_count(conf, "probe"), 2);
	ck_assert_uint_eq(conf_count(conf, "nosuchkind"), 0);

	s = conf_get(conf, "server");
	ck_assert_int_eq(conf_section_line(s), 3);
	ck_assert_ptr_null(conf_section_name(s));
	ck_assert_str_eq(conf_str(s, "listen"), "[::1]:9331");
	ck_assert_str_eq(conf_str(s, "data_dir"), "/var/lib/monitord");
	ck_assert_int_eq(conf_duration(s, "retention"), 90LL * 86400000);
	ck_assert_int_eq(conf_duration(s, "evaluation_interval"), 5400000);
	ck_assert_int_eq(conf_enum(s, "log_level"), 3);
	ck_assert_str_eq(conf_str(s, "log_level"), "debug");
	ck_assert_str_eq(conf_str(s, "external_url"),
	    "https://mon.example:8443/monitord");
	ck_assert_int_eq(conf_int(s, "max_connections"), 100);
	ck_assert_uint_eq(conf_size(s, "max_request_size"), 1ULL << 30);
	ck_assert_str_eq(conf_str(s, "hostname"), "shop db # 1");

	s = conf_at(conf, "probe", 0);
	ck_assert_str_eq(conf_section_kind(s), "probe");
	ck_assert_str_eq(conf_section_name(s), "crm-api");
	ck_assert_str_eq(conf_str(s, "target"), "http://127.0.0.1:8080/metrics");
	ck_assert_int_eq(conf_int(s, "count"), 10);
	ck_assert_int_eq(conf_int(s, "offset"), -42);
	ck_assert(conf_float(s, "ratio") == 0.25);
	ck_assert(conf_float(s, "count") == 10.0);
	ck_assert_int_eq(conf_bool(s, "verbose"), 1);
	ck_assert_uint_eq(conf_size(s, "buffer"), 64 * 1024);
	ck_assert_str_eq(conf_str(s, "match"), "^crm-(api|worker)$");
	ck_assert_int_eq(conf_enum(s, "mode"), 2);
	ck_assert_str_eq(conf_str(s, "connect"), "db.internal:5432");
	ck_assert_str_eq(conf_str(s, "pidfile"), "/run/crm.pid");
	ck_assert_str_eq(conf_str(s, "query"), "rate(x[5m]) > 0");
	ck_assert_int_eq(conf_duration(s, "interval"), 5000);
	ck_assert_uint_eq(conf_multi_count(s, "tag"), 3);
	ck_assert_str_eq(conf_multi_at(s, "tag", 0), "a");
	ck_assert_str_eq(conf_multi_at(s, "tag", 1), "b c");
	ck_assert_str_eq(conf_multi_at(s, "tag", 2), "\"quoted\" \\ here");
	ck_assert_ptr_null(conf_multi_at(s, "tag", 3));
	ck_assert_int_eq(conf_multi_line(s, "tag", 2), 29);
	ck_assert_uint_eq(conf_labels_count(s, "labels"), 2);
	ck_assert_int_eq(conf_label_at(s, "labels", 1, &n, &v), 0);
	ck_assert_str_eq(n, "team");
	ck_assert_str_eq(v, "crm ops");
	ck_assert_int_eq(conf_label_at(s, "labels", 2, &n, &v), -1);

	s = conf_at(conf, "probe", 1);
	ck_assert_str_eq(conf_section_name(s), "mes \"api\"");
	ck_assert_int_eq(conf_bool(s, "verbose"), 0);

	s = conf_get(conf, "storage");
	ck_assert_int_eq(conf_duration(s, "retention_1h"), 2 * 365 * 86400000LL);
	ck_assert_uint_eq(conf_size(s, "map_size"), 8ULL << 30);

	s = conf_get(conf, "alert");
	ck_assert_str_eq(conf_section_name(s), "shop-api-errors");
	ck_assert_int_eq(conf_duration(s, "for"), 120000);
	ck_assert_int_eq(conf_enum(s, "severity"), 1);
	ck_assert_str_eq(conf_str(s, "summary"),
	    "Shop API returns {{ $value }} errors/s");
	ck_assert_uint_eq(conf_multi_count(s, "notify"), 2);
	ck_assert_ptr_eq(conf_at(conf, NULL, 8), conf_get(conf, "alertmanager"));
	conf_free(conf);
}
END_TEST

START_TEST(test_defaults)
{
	struct conf			*conf = load_ok("");
	const struct conf_section	*s;

	ck_assert_uint_eq(conf_count(conf, NULL), 2);
	s = conf_get(conf, "server");
	ck_assert_int_eq(conf_section_line(s), 0);
	ck_assert_int_eq(conf_has(s, "listen"), 0);
	ck_assert_str_eq(conf_str(s, "listen"), "127.0.0.1:9330");
	ck_assert_int_eq(conf_duration(s, "retention"), 30LL * 86400000);
	ck_assert_int_eq(conf_duration(s, "evaluation_interval"), 15000);
	ck_assert_int_eq(conf_enum(s, "log_level"), 2);
	ck_assert_int_eq(conf_int(s, "max_connections"), 512);
	ck_assert_int_eq(conf_duration(s, "request_timeout"), 30000);
	ck_assert_uint_eq(conf_size(s, "max_request_size"), 16 << 20);
	ck_assert_int_eq(conf_duration(s, "timestamp_tolerance"), 25);
	ck_assert_str_eq(conf_str(s, "hostname"), "");
	ck_assert_str_eq(conf_str(s, "data_dir"), "");
	s = conf_get(conf, "storage");
	ck_assert_int_eq(conf_duration(s, "flush_interval"), 5000);
	ck_assert_int_eq(conf_int(s, "max_series"), 1000000);
	ck_assert_int_eq(conf_int(s, "max_series_per_job"), 100000);
	ck_assert_int_eq(conf_duration(s, "retention_5m"), 180LL * 86400000);
	ck_assert_int_eq(conf_duration(s, "retention_1h"), 730LL * 86400000);
	ck_assert_uint_eq(conf_size(s, "map_size"), 64ULL << 30);
	ck_assert_ptr_null(conf_get(conf, "alert"));
	conf_free(conf);
}
END_TEST

START_TEST(test_defaults_named)
{
	struct conf			*conf;
	const struct conf_section	*s;

	conf = load_ok("[probe \"p\"]\ntarget = http://h/\n"
	    "[alert \"a\"]\nexpr = up\n"
	    "[webhook \"w\"]\nurl = https://h/x\n"
	    "[alertmanager \"am\"]\nurl = http://am:9093\n"
	    "[service \"s\"]\nmethod = use\n");
	s = conf_get(conf, "probe");
	ck_assert_int_eq(conf_int(s, "count"), 3);
	ck_assert_int_eq(conf_int(s, "offset"), 0);
	ck_assert(conf_float(s, "ratio") == 0.5);
	ck_assert_int_eq(conf_bool(s, "verbose"), 0);
	ck_assert_uint_eq(conf_size(s, "buffer"), 4096);
	ck_assert_int_eq(conf_enum(s, "mode"), 0);
	ck_assert_int_eq(conf_duration(s, "interval"), 15000);
	ck_assert_int_eq(conf_duration(s, "timeout"), 0);
	ck_assert_uint_eq(conf_multi_count(s, "tag"), 0);
	ck_assert_uint_eq(conf_labels_count(s, "labels"), 0);
	s = conf_get(conf, "alert");
	ck_assert_int_eq(conf_duration(s, "for"), 0);
	ck_assert_int_eq(conf_duration(s, "keep_firing_for"), 0);
	ck_assert_str_eq(conf_str(s, "severity"), "warning");
	ck_assert_uint_eq(conf_multi_count(s, "notify"), 0);
	s = conf_get(conf, "webhook");
	ck_assert_int_eq(conf_duration(s, "timeout"), 10000);
	ck_assert_str_eq(conf_str(s, "group_by"), "alertname");
	ck_assert_uint_eq(conf_multi_count(s, "group_by"), 1);
	ck_assert_int_eq(conf_multi_line(s, "group_by", 0), 0);
	ck_assert_int_eq(conf_duration(s, "group_wait"), 30000);
	ck_assert_int_eq(conf_duration(s, "group_interval"), 300000);
	ck_assert_int_eq(conf_duration(s, "repeat_interval"), 4 * 3600000);
	s = conf_get(conf, "alertmanager");
	ck_assert_int_eq(conf_duration(s, "timeout"), 10000);
	s = conf_get(conf, "service");
	ck_assert_int_eq(conf_enum(s, "method"), 2);
	conf_free(conf);
}
END_TEST

START_TEST(test_quoting)
{
	struct conf			*conf;
	const struct conf_section	*s;

	conf = load_ok("# a comment\n"
	    "   # an indented comment\n"
	    "\n"
	    "[probe \"q\"]   # comment after a header\n"
	    "target=http://h/#frag\n"
	    "note = a#b\t # the comment\n"
	    "tag = \"  spaces kept # not a comment  \"  # comment\n"
	    "tag = \"\"\n"
	    "tag =\t\"tab\\there\\nnewline\"\n"
	    "tag = say \"hi\"\n"
	    "tag = #only a comment\n"
	    "\tquery   =   up  \n");
	s = conf_get(conf, "probe");
	ck_assert_str_eq(conf_str(s, "target"), "http://h/#frag");
	ck_assert_str_eq(conf_str(s, "note"), "a#b");
	ck_assert_uint_eq(conf_multi_count(s, "tag"), 5);
	ck_assert_str_eq(conf_multi_at(s, "tag", 0),
	    "  spaces kept # not a comment  ");
	ck_assert_str_eq(conf_multi_at(s, "tag", 1), "");
	ck_assert_str_eq(conf_multi_at(s, "tag", 2), "tab\there\nnewline");
	ck_assert_str_eq(conf_multi_at(s, "tag", 3), "say \"hi\"");
	ck_assert_str_eq(conf_multi_at(s, "tag", 4), "");
	ck_assert_str_eq(conf_str(s, "query"), "up");
	ck_assert_int_eq(conf_has(s, "note"), 1);
	ck_assert_int_eq(conf_has(s, "pidfile"), 0);
	conf_free(conf);
}
END_TEST

START_TEST(test_crlf_bom)
{
	struct conf	*conf;

	conf = load_ok("\xef\xbb\xbf[server]\r\nlisten = 127.0.0.1:1\r\n"
	    "hostname = \"x\"\r\n[storage]");
	ck_assert_str_eq(conf_str(conf_get(conf, "server"), "listen"),
	    "127.0.0.1:1");
	ck_assert_str_eq(conf_str(conf_get(conf, "server"), "hostname"), "x");
	ck_assert_int_eq(conf_section_line(conf_get(conf, "storage")), 4);
	conf_free(conf);
}
END_TEST

START_TEST(test_good_values)
{
	static const char *const ok[] = {
		"[server]\nlisten = 0.0.0.0:1\n",
		"[server]\nlisten = [::]:65535\n",
		"[server]\nlisten = my-host.example_1:80\n",
		"[server]\nexternal_url = http://[fe80::1]/\n",
		"[server]\nexternal_url = https://h?x=1\n",
		"[server]\nretention = 1h30m\n",
		"[server]\nmax_request_size = 4GB\n",
		"[server]\ntimestamp_tolerance = 0s\n",
		"[probe \"p\"]\ntarget = http://h\nverbose = TRUE\n",
		"[probe \"p\"]\ntarget = http://h\nverbose = off\n",
		"[probe \"p\"]\ntarget = http://h\noffset = -9223372036854775808\n",
		"[probe \"p\"]\ntarget = http://h\nratio = 1e-3\n",
		"[probe \"p\"]\ntarget = http://h\nlabels = a=1,b_2 = x y ,_c=z\n",
		"[webhook \"w\"]\nurl = http://h/\ngroup_by = alertname, job\n",
		"[webhook \"w\"]\nurl = http://h/\ngroup_by = \"\"\n",
		"[service \"s\"]\nmethod = golden\nlatency = a\ntraffic = b\n"
		    "errors = c\nsaturation = d\njob = x\njob = y\n",
	};
	size_t	i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		conf_free(load_ok(ok[i]));
}
END_TEST

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE	*f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* Secret files: mode bits decide, since the tests may run as root. */
static void
secret_file(const char *name, mode_t mode, const char *content, char *path,
    size_t len)
{
	int	fd;

	snprintf(path, len, "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, strlen(content)),
	    (ssize_t)strlen(content));
	close(fd);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static void
tmp_setup(void)
{
	setup();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_conf.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
tmp_teardown(void)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	teardown();
}

static char *
secret_errors(const char *path)
{
	struct conf	*conf;
	char		*text;

	errs_reset();
	xasprintf(&text, "[webhook \"w\"]\nurl = http://h/\nusername = u\n"
	    "password_file = %s\n", path);
	conf = load(text);
	free(text);
	conf_free(conf);
	return errors_joined();
}

START_TEST(test_secret_modes)
{
	static const struct { mode_t mode; const char *why; } cases[] = {
		{ 0600, NULL },
		{ 0400, NULL },
		{ 0644, "readable by others (mode 0644)" },
		{ 0640, "readable by others (mode 0640)" },
		{ 0604, "readable by others (mode 0604)" },
	};
	char	path[256], want[1024], *got;
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		secret_file("pass", cases[i].mode, "pw\n", path, sizeof(path));
		got = secret_errors(path);
		if (cases[i].why == NULL)
			want[0] = '\0';
		else
			snprintf(want, sizeof(want), "t.conf:4: secret file %s "
			    "is %s; run chmod 600 %s\n", path, cases[i].why,
			    path);
		ck_assert_str_eq(got, want);
		free(got);
	}
}
END_TEST

START_TEST(test_secret_bad)
{
	char	path[256], want[1024], *got;

	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	got = secret_errors(path);
	snprintf(want, sizeof(want), "t.conf:4: cannot read secret file %s: "
	    "No such file or directory\n", path);
	ck_assert_str_eq(got, want);
	free(got);

	got = secret_errors(tmpdir);
	snprintf(want, sizeof(want), "t.conf:4: secret file %s is not a "
	    "regular file\n", tmpdir);
	ck_assert_str_eq(got, want);
	free(got);

	got = secret_errors("pass.txt");
	ck_assert_str_eq(got, "t.conf:4: \"pass.txt\" is not an absolute "
	    "path\n");
	free(got);

	/* Refused from its mode: opening a FIFO would block the load. */
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	got = secret_errors(path);
	snprintf(want, sizeof(want), "t.conf:4: secret file %s is not a "
	    "regular file\n", path);
	ck_assert_str_eq(got, want);
	free(got);
}
END_TEST

START_TEST(test_secret_read)
{
	const struct conf_section	*s;
	struct conf			*conf;
	char				 path[256], err[512], want[1024];
	char				*text, *secret, *big;

	secret_file("tok", 0600, "s3cret\r\n", path, sizeof(path));
	xasprintf(&text, "[webhook \"w\"]\nurl = http://h/\n"
	    "bearer_token_file = %s\n", path);
	conf = load_ok(text);
	free(text);
	s = conf_get(conf, "webhook");
	secret = conf_read_secret(s, "bearer_token_file", err, sizeof(err));
	ck_assert_str_eq(secret, "s3cret");
	free(secret);

	/* Modes are checked again when the secret is read. */
	ck_assert_int_eq(chmod(path, 0660), 0);
	ck_assert_ptr_null(conf_read_secret(s, "bearer_token_file", err,
	    sizeof(err)));
	snprintf(want, sizeof(want), "secret file %s is readable by others "
	    "(mode 0660); run chmod 600 %s", path, path);
	ck_assert_str_eq(err, want);

	/* A secret is a password or token, not a file to load whole. */
	ck_assert_int_eq(chmod(path, 0600), 0);
	big = xmalloc(65538);
	memset(big, 'k', 65537);
	big[65537] = '\0';
	write_file(path, big, 65537);
	free(big);
	ck_assert_ptr_null(conf_read_secret(s, "bearer_token_file", err,
	    sizeof(err)));
	snprintf(want, sizeof(want), "secret file %s is larger than 65536 "
	    "bytes", path);
	ck_assert_str_eq(err, want);
	big = xmalloc(65537);
	memset(big, 'k', 65536);
	write_file(path, big, 65536);
	free(big);
	secret = conf_read_secret(s, "bearer_token_file", err, sizeof(err));
	ck_assert_uint_eq(strlen(secret), 65536);
	free(secret);
	conf_free(conf);
}
END_TEST

START_TEST(test_secret_webhook_rules)
{
	char	path[256], *text, *got, want[512];

	secret_file("p", 0600, "x", path, sizeof(path));
	xasprintf(&text, "[webhook \"w\"]\nurl = http://h/\n"
	    "password_file = %s\nbearer_token_file = %s\n", path, path);
	conf_free(load(text));
	free(text);
	got = errors_joined();
	snprintf(want, sizeof(want),
	    "t.conf:3: password_file needs username (HTTP basic "
	    "authentication)\n"
	    "t.conf:4: use either bearer_token_file or username and "
	    "password_file, not both\n");
	ck_assert_str_eq(got, want);
	free(got);
}
END_TEST

START_TEST(test_file_errors)
{
	char	path[256], want[2048], *got, *big;
	size_t	n = (size_t)CONF_MAX_FILE + 1;

	snprintf(path, sizeof(path), "%s/none.conf", tmpdir);
	ck_assert_ptr_null(schema_load(path, NULL, kinds, NULL, errs));
	got = errors_joined();
	snprintf(want, sizeof(want), "%s: cannot open: No such file or "
	    "directory\n", path);
	ck_assert_str_eq(got, want);
	free(got);

	errs_reset();

	snprintf(path, sizeof(path), "%s/nul.conf", tmpdir);
	write_file(path, "[server]\nhostname = a\0b\n[x\n", 26);
	ck_assert_ptr_null(schema_load(path, NULL, kinds, NULL, errs));
	got = errors_joined();
	snprintf(want, sizeof(want), "%s:2: line contains a NUL byte\n"
	    "%s:3: missing \"]\" at the end of the section header\n", path,
	    path);
	ck_assert_str_eq(got, want);
	free(got);
	errs_reset();

	ck_assert_ptr_null(schema_load(tmpdir, NULL, kinds, NULL, errs));
	got = errors_joined();
	snprintf(want, sizeof(want), "%s: cannot read: Is a directory\n",
	    tmpdir);
	ck_assert_str_eq(got, want);
	free(got);
	errs_reset();

	/* Past CONF_MAX_FILE: refused whole, from a file or as text. */
	big = xmalloc(n + 1);
	memset(big, '#', n);
	big[n] = '\0';
	snprintf(path, sizeof(path), "%s/big.conf", tmpdir);
	write_file(path, big, n);
	ck_assert_ptr_null(schema_load(path, NULL, kinds, NULL, errs));
	ck_assert_ptr_null(schema_load("text", big, kinds, NULL, errs));
	free(big);
	got = errors_joined();
	snprintf(want, sizeof(want), "%s: file is larger than 16 MiB\n"
	    "text: file is larger than 16 MiB\n", path);
	ck_assert_str_eq(got, want);
	free(got);
}
END_TEST

START_TEST(test_long_line)
{
	struct buf	 b = BUF_INIT;
	char		*got;

	buf_adds(&b, "[server]\nhostname = ");
	while (b.len < CONF_MAX_LINE + 12)
		buf_adds(&b, "abcdefgh");
	buf_adds(&b, "\nlisten = x\n");
	ck_assert_ptr_null(load(b.data));
	buf_free(&b);
	got = errors_joined();
	ck_assert_str_eq(got, "t.conf:2: line is longer than 65536 bytes\n"
	    "t.conf:3: invalid address \"x\": missing port (expected host:port "
	    "or [v6]:port)\n");
	free(got);
}
END_TEST

START_TEST(test_too_many_errors)
{
	struct buf	b = BUF_INIT;
	int		i;

	buf_adds(&b, "[server]\n");
	for (i = 0; i < 1000; i++)
		buf_printf(&b, "bogus%d = 1\n", i);
	ck_assert_ptr_null(load(b.data));
	buf_free(&b);
	ck_assert_uint_eq(conf_errors_count(errs), CONF_MAX_ERRORS + 1);
	ck_assert_str_eq(conf_errors_at(errs, 0),
	    "t.conf:2: unknown key \"bogus0\" in [server]");
	ck_assert_str_eq(conf_errors_at(errs, CONF_MAX_ERRORS - 1),
	    "t.conf:101: unknown key \"bogus99\" in [server]");
	ck_assert_str_eq(conf_errors_at(errs, CONF_MAX_ERRORS),
	    "t.conf: too many errors, stopped after 100");
	ck_assert_ptr_null(conf_errors_at(errs, CONF_MAX_ERRORS + 1));
}
END_TEST

/* One conf_errors across loads: each load's errors are sorted on their own. */
START_TEST(test_errors_accumulate)
{
	struct conf	*conf;
	char		*out = NULL;
	size_t		 len = 0;
	FILE		*f;

	ck_assert_ptr_null(load("[nope]\n\n[server]\nlisten = x\n"));
	ck_assert_ptr_null(load("[server]\nlisten = y\n"));
	conf = load("");
	ck_assert_ptr_nonnull(conf);
	conf_free(conf);
	f = open_memstream(&out, &len);
	conf_errors_print(errs, f);
	fclose(f);
	ck_assert_str_eq(out,
	    "t.conf:1: unknown section kind \"nope\" (valid: server, storage, "
	    "probe, service, alert, webhook, alertmanager)\n"
	    "t.conf:4: invalid address \"x\": missing port (expected "
	    "host:port or [v6]:port)\n"
	    "t.conf:2: invalid address \"y\": missing port (expected "
	    "host:port or [v6]:port)\n");
	free(out);
}
END_TEST

START_TEST(test_undeclared_key)
{
	struct conf	*conf = load_ok("");

	conf_int(conf_get(conf, "server"), "no_such_key");
}
END_TEST

START_TEST(test_wrong_type)
{
	struct conf	*conf = load_ok("");

	conf_int(conf_get(conf, "server"), "retention");
}
END_TEST

START_TEST(test_kinds_table)
{
	static const char *const order[] = { "server", "storage", "probe",
	    "service", "alert", "webhook", "alertmanager" };
	const struct conf_kind	*k;
	size_t			 i;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		ck_assert_str_eq(kinds[i]->kind, order[i]);
	ck_assert_ptr_null(kinds[i]);
	k = kinds[2];
	ck_assert_int_eq(k->named, 1);
	ck_assert_int_eq(k->unique, 0);
	ck_assert_ptr_eq(k->keys, probe_keys);
	ck_assert_ptr_eq(k->common, test_common);
	ck_assert_ptr_eq(conf_kind_key(k, "timeout"), &test_common[1]);
	ck_assert_ptr_eq(conf_kind_key(k, "count"), &probe_keys[1]);
	ck_assert_ptr_null(conf_kind_key(k, "nope"));
	ck_assert_str_eq(conf_type_name(CONF_SECRET), "secret");
	/* Without collectors the core kinds are all there is. */
	schema_kinds_free(kinds);
	kinds = schema_kinds_new_with(NULL, NULL);
	for (i = 0; schema_core_kinds[i] != NULL; i++)
		ck_assert_ptr_eq(kinds[i], schema_core_kinds[i]);
	ck_assert_ptr_null(kinds[i]);
	schema_kinds_free(NULL);
	conf_free(NULL);
	conf_errors_free(NULL);
}
END_TEST

START_TEST(test_suggest)
{
	static const char *const c[] = { "oncall", "pager", "interval" };

	ck_assert_str_eq(conf_suggest("oncal", c, 3), "oncall");
	ck_assert_str_eq(conf_suggest("intreval", c, 3), "interval");
	ck_assert_str_eq(conf_suggest("pagre", c, 3), "pager");
	ck_assert_ptr_null(conf_suggest("email", c, 3));
	ck_assert_ptr_null(conf_suggest("p", c, 3));
}
END_TEST

START_TEST(test_quote)
{
	char	q[CONF_QUOTE_LEN], in[200];

	ck_assert_str_eq(conf_quote(q, sizeof(q), "a\"b\\c\x1b[1m"),
	    "\"a\\\"b\\\\c\\x1b[1m\"");
	memset(in, 'x', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	conf_quote(q, sizeof(q), in);
	ck_assert_uint_eq(strlen(q), 1 + CONF_QUOTE_MAX + 4);
	ck_assert_str_eq(q + 1 + CONF_QUOTE_MAX, "...\"");
}
END_TEST

/* The man page documents exactly the keys of each core kind, as the table
 * declares them (see man/monitord.conf.5). */
static char *
man_page(void)
{
	const char	*dir = getenv("MONITORD_SRCDIR");
	struct buf	 b = BUF_INIT;
	char		 path[4096], chunk[4096];
	FILE		*f;
	size_t		 n;

	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/man/monitord.conf.5", dir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	buf_adds(&b, "");
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	return buf_detach(&b);
}

/* ".It Cm name Ar type [Pq required] [Pq repeatable] [Pq default Li d]" */
static void
man_key_line(const struct conf_key *k, struct buf *b)
{
	buf_reset(b);
	buf_printf(b, ".It Cm %s Ar %s", k->name, k->type == CONF_ENUM ?
	    k->choices : conf_type_name(k->type));
	if (k->flags & CONF_REQUIRED)
		buf_adds(b, " Pq required");
	if (k->flags & CONF_MULTI)
		buf_adds(b, " Pq repeatable");
	if (k->def != NULL) {
		const char *c;

		/* roff writes a backslash as \e */
		buf_adds(b, " Pq default Li ");
		for (c = k->def; *c != '\0'; c++) {
			if (*c == '\\')
				buf_adds(b, "\\e");
			else
				buf_addc(b, *c);
		}
	}
	buf_adds(b, "\n");
}

/* A copy of the man page from P to the next .Ss or .Sh. */
static char *
man_block(const char *p)
{
	const char	*ss = strstr(p + 1, "\n.Ss "), *sh = strstr(p + 1, "\n.Sh ");
	const char	*end = ss;

	if (end == NULL || (sh != NULL && sh < end))
		end = sh;
	return xstrndup(p, end != NULL ? (size_t)(end - p + 1) : strlen(p));
}

/* The block of ".Ss "[KIND]"" or ".Ss "[KIND \(dqNAME\(dq]"", or NULL. */
static char *
man_kind_section(const char *man, const char *kind)
{
	char		 head[128];
	const char	*p;

	snprintf(head, sizeof(head), "\n.Ss \"[%s]", kind);
	if ((p = strstr(man, head)) == NULL) {
		snprintf(head, sizeof(head), "\n.Ss \"[%s \\(dq", kind);
		if ((p = strstr(man, head)) == NULL)
			return NULL;
	}
	return man_block(p + 1);
}

/* Every key of KEYS as its .It line in SEC, and no other .It Cm there. */
static void
man_check_keys(const char *sec, const char *what, const struct conf_key *keys)
{
	struct buf	 b = BUF_INIT;
	const char	*p;
	size_t		 i, n = 0;

	for (i = 0; keys != NULL && keys[i].name != NULL; i++) {
		man_key_line(&keys[i], &b);
		ck_assert_msg(strstr(sec, b.data) != NULL,
		    "monitord.conf.5 %s lacks: %s", what, b.data);
	}
	for (p = sec; (p = strstr(p, "\n.It Cm ")) != NULL; p++)
		n++;
	ck_assert_msg(n == i, "monitord.conf.5 %s lists %zu keys, the table "
	    "has %zu", what, n, i);
	buf_free(&b);
}

START_TEST(test_man_page)
{
	const struct conf_kind	*k = schema_core_kinds[_i];
	char			*man = man_page(), *sec, what[64];

	sec = man_kind_section(man, k->kind);
	ck_assert_msg(sec != NULL, "no .Ss \"[%s\" in monitord.conf.5",
	    k->kind);
	snprintf(what, sizeof(what), "[%s]", k->kind);
	man_check_keys(sec, what, k->keys);
	free(sec);
	free(man);
}
END_TEST

/*
 * The collector sections are written by their authors; the keys every
 * collector shares are listed once, before the first of them.  A collector
 * section that is there must match its table.
 */
START_TEST(test_man_collectors)
{
	char	*man = man_page(), *sec, *head, what[64];
	size_t	 i;

	head = strstr(man, "\n.Sh COLLECTOR SECTIONS\n");
	ck_assert_ptr_nonnull(head);
	head = man_block(head + 1);
	man_check_keys(head, "COLLECTOR SECTIONS", collector_common_keys);
	free(head);
	for (i = 0; collector_kinds[i] != NULL; i++) {
		sec = man_kind_section(man, collector_kinds[i]->kind);
		ck_assert_msg(sec != NULL, "no .Ss \"[%s\" in monitord.conf.5",
		    collector_kinds[i]->kind);
		snprintf(what, sizeof(what), "[%s]", collector_kinds[i]->kind);
		man_check_keys(sec, what, collector_kinds[i]->keys);
		free(sec);
	}
	free(man);
}
END_TEST

/* The daemon's table: the registry's collectors with the shared keys. */
START_TEST(test_registry_kinds)
{
	const struct conf_kind *const	*real;
	size_t				 i, j;

	real = schema_kinds_new(collector_kinds);
	for (i = 0; collector_kinds[i] != NULL; i++) {
		for (j = 0; real[j] != NULL; j++)
			if (strcmp(real[j]->kind, collector_kinds[i]->kind) == 0)
				break;
		ck_assert_ptr_nonnull(real[j]);
		ck_assert_int_eq(real[j]->named, 1);
		ck_assert_int_eq(real[j]->unique, 0);
		ck_assert_ptr_eq(real[j]->keys, collector_kinds[i]->keys);
		ck_assert_ptr_eq(real[j]->common, collector_common_keys);
	}
	schema_kinds_free(real);
}
END_TEST

/*
 * The shipped example is valid against the schema; only sections of
 * collector kinds not registered yet may be unknown.
 */
START_TEST(test_example_config)
{
	const struct conf_kind *const	*real;
	const char			*dir = getenv("MONITORD_SRCDIR");
	char				 path[4096];
	struct conf			*conf;
	size_t				 i;

	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/etc/monitord.conf", dir);
	real = schema_kinds_new(collector_kinds);
	conf = schema_load(path, NULL, real, NULL, errs);
	for (i = 0; i < conf_errors_count(errs); i++)
		ck_assert_msg(strstr(conf_errors_at(errs, i),
		    ": unknown section kind \"") != NULL, "%s",
		    conf_errors_at(errs, i));
	conf_free(conf);
	schema_kinds_free(real);
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite	*s = suite_create("conf");
	TCase	*tc = tcase_create("parse");
	TCase	*tf = tcase_create("files");
	TCase	*tm = tcase_create("man");
	int	 nbad = (int)(sizeof(bad) / sizeof(bad[0]));
	int	 ncore = 0;

	while (schema_core_kinds[ncore] != NULL)
		ncore++;
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_bad, 0, nbad);
	tcase_add_test(tc, test_good_file);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_defaults_named);
	tcase_add_test(tc, test_quoting);
	tcase_add_test(tc, test_crlf_bom);
	tcase_add_test(tc, test_good_values);
	tcase_add_test(tc, test_long_line);
	tcase_add_test(tc, test_too_many_errors);
	tcase_add_test(tc, test_errors_accumulate);
	tcase_add_test_raise_signal(tc, test_undeclared_key, SIGABRT);
	tcase_add_test_raise_signal(tc, test_wrong_type, SIGABRT);
	tcase_add_test(tc, test_kinds_table);
	tcase_add_test(tc, test_registry_kinds);
	tcase_add_test(tc, test_example_config);
	tcase_add_test(tc, test_suggest);
	tcase_add_test(tc, test_quote);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tf, tmp_setup, tmp_teardown);
	tcase_add_test(tf, test_secret_modes);
	tcase_add_test(tf, test_secret_bad);
	tcase_add_test(tf, test_secret_read);
	tcase_add_test(tf, test_secret_webhook_rules);
	tcase_add_test(tf, test_file_errors);
	suite_add_tcase(s, tf);

	tcase_add_loop_test(tm, test_man_page, 0, ncore);
	tcase_add_test(tm, test_man_collectors);
	suite_add_tcase(s, tm);
	return s;
}

TCHECK_MAIN(conf_suite)
