/*
 * conf_value: check one value of monitord.conf against its type (see
 * conf_value.h).  One function per type, in a table indexed by the type, so
 * adding a type is one function and one table entry.
 */
#include "config.h"

#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "buf.h"
#include "conf.h"
#include "conf_value.h"
#include "units.h"
#include "xmalloc.h"

int
conf_has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

typedef int (*value_fn)(const struct conf_hooks *, const struct conf_key *,
    const char *, struct conf_value *, char *, size_t);

static int
check_string(const struct conf_hooks *h, const struct conf_key *k,
    const char *s, struct conf_value *v, char *err, size_t errlen)
{
	return 0;
}

static int
parse_int64(const char *s, int64_t *out)
{
	char		*end;
	long long	 n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 ||
	    !(s[0] == '-' || s[0] == '+' || (s[0] >= '0' && s[0] <= '9')))
		return -1;
	*out = n;
	return 0;
}

static int
check_int(const struct conf_hooks *h, const struct conf_key *k,
    const char *s, struct conf_value *v, char *err, size_t errlen)
{
	char	q[CONF_QUOTE_LEN];

	if (parse_int64(s, &v->v.i) == -1) {
		snprintf(err, errlen, "%s is not an integer",
		    conf_quote(q, sizeof(q), s));
		return -1;
	}
	if (k->max > k->min && (v->v.i < k->min || v->v.i > k->max)) {
		snprintf(err, errlen, "%" PRId64 " is out of range for %s "
		    "(%" PRId64 "..%" PRId64 ")", v->v.i, k->name, k->min,
		    k->max);
		return -1;
	}
	return 0;
}

static int
check_float(const struct conf_hooks *h, const struct conf_key *k,
    const char *s, struct conf_value *v, char *err, size_t errlen)
{
	char	q[CONF_QUOTE_LEN], *end;

	errno = 0;
	v->v.d = strtod(s, &end);
	if (end == s || *end != '\0' || !isfinite(v->v.d) || errno == ERANGE) {
		snprintf(err, errlen, "%s is not a finite number",
		    conf_quote(q, sizeof(q), s));
		return -1;
	}
	if (k->max > k->min &&
	    (v->v.d < (double)k->min || v->v.d > (double)k->max)) {
		snprintf(err, errlen, "%s is out of range for %s "
		    "(%" PRId64 "..%" PRId64 ")", conf_quote(q, sizeof(q), s),
		    k->name, k->min, k->max);
		return -1;
	}
	return 0;
}

static int
check_bool(const struct conf_hooks *h, const struct conf_key *k,
    const char *s, struct conf_value *v, char *err, size_t errlen)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	char	q[CONF_QUOTE_LEN];
	size_t	i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
			v->v.i = strcasecmp(s, yes[i]) == 0;
			return 0;
		}
	}
	snprintf(err, errlen, "%s is not a boolean (use yes/no, true/false, "
	    "on/off or 1/0)", conf_quote(q, sizeof(q), s));
	return -1;
}

static int
check_duration(const struct conf_hooks *h, const struct conf_key *k,
    const char *s, struct conf_value *v, char *err, size_t errlen)
{
	char	lo[64], hi[64], got[64];

	if (units_parse_duration(s, &v->v.i, err, errlen) == -1)
		return -1;
	if (k->max > k->min && (v->v.i < k->min || v->v.i > k->max)) {
		units_format_duration(v->v.i, got, sizeof(got));
		units_format_duration(k->min, lo, sizeof(lo));
		units_format_duration(k->max, hi, sizeof(hi));
		snprintf(err, errlen, "%s is out of range for %s (%s..%s)",
		    got, k->name, lo, hi);
		return -1;
	}
	return 0;
}

/* Shortest exact spelling of a size in the units units.h reads. */
static void
size_format(uint64_t n, char *out, size_t outlen)
{
	static const char *const units[] = { "B", "KB", "MB", "GB", "TB" };
	size_t	i = 0;

	while (i < 4 && n != 0 && n % 1024 == 0) {
		n /= 1024;
		i++;
	}
	snprintf(out, outlen, "%" PRIu64 "%s", n, units[i]);
}

static int
check_size(const struct conf_hooks *h, const struct conf_key *k,
    const char *s, struct conf_value *v, char *err, size_t errlen)
{
	char	lo[64], hi[64], got[64];

	if (units_parse_size(s, &v->v.u, err, errlen) == -1)
		return -1;
	if (k->max > k->min && (v->v.u < (uint64_t)k->min ||
	    v->v.u > (uint64_t)k->max)) {
		size_format(v->v.u, got, sizeof(got));
		size_format((uint64_t)k->min, lo, sizeof(lo));
		size_format((uint64_t)k->max, hi, sizeof(hi));
		snprintf(err, errlen, "%s is out of range for %s (%s..%s)",
		    got, k->name, lo, hi);
		return -1;
	}
	return 0;
}

/* The index of S in "a|b|c", or -1. */
static int
enum_index(const char *choices, const char *s)
{
	const char	*p = choices, *bar;
	size_t		 len = strlen(s);
	int		 i = 0;

	for (;;) {
		bar = strchr(p, '|');
		if ((size_t)((bar != NULL ? bar : p + strlen(p)) - p) == len &&
		    strncmp(p, s, len) == 0)
			return i;
		if (bar == NULL)
			return -1;
		p = bar + 1;
		i++;
	}
}

/* "a|b|c" as "a, b or c". */
static void
enum_list(const char *choices, char *out, size_t outlen)
{
	struct buf	 b = BUF_INIT;
	const char	*p = choices, *bar;

	buf_adds(&b, "");
	while ((bar = strchr(p, '|')) != NULL) {
		buf_add(&b, p, (size_t)(bar - p));
		p = bar + 1;
		buf_adds(&b, strchr(p, '|') != NULL ? ", " : " or ");
	}
	buf_adds(&b, p);
	snprintf(out, outlen, "%s", b.data);
	buf_free(&b);
}

static int
check_enum(const struct conf_hooks *h, const struct conf_key *k,
    const char *s, struct conf_value *v, char *err, size_t errlen)
{
	char	q[CONF_QUOTE_LEN], list[512];

	if ((v->v.i = enum_index(k->choices, s)) >= 0)
		return 0;
	enum_list(k->choices, list, sizeof(list));
	snprintf(err, errlen, "%s is not a valid %s (use %s)",
	    conf_quote(q, sizeof(q), s), k->name, list);
	return -1;
}

static int
check_regex(const struct conf_hooks *h, const struct conf_key *k,
    const char *s, struct conf_value *v, char *err, size_t errlen)
{
	pcre2_code	*re;
	PCRE2_UCHAR	 msg[256];
	PCRE2_SIZE	 off;
	int		 code;
	char		 q[CONF_QUOTE_LEN];

	re = pcre2_compile((PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, PCRE2_UTF,
	    &code, &off, NULL);
	if (re != NULL) {
		pcre2_code_free(re);
		return 0;
	}
	if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
		snprintf((char *)msg, sizeof(msg), "error %d", code);
	snprintf(err, errlen, "invalid regular expression %s at offset %zu: %s",
	    conf_quote(q, sizeof(q), s), (size_t)off, (char *)msg);
	return -1;
}

static int
port_parse(const char *s, size_t len)
{
	int	port = 0;
	size_t	i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		port = port * 10 + (s[i] - '0');
	}
	return port >= 1 && port <= 65535 ? port : -1;
}

static int
host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

/*
 * Check "host[:port]" or "[v6][:port]" of LEN bytes.  Returns NULL, or what
 * is wrong with it.
 */
static const char *
hostport_check(const char *s, size_t len, int need_port)
{
	const char	*end = s + len, *colon;
	char		 v6[INET6_ADDRSTRLEN + 1];
	struct in6_addr	 a6;
	size_t		 i;

	if (len == 0 || s[0] == ':')
		return "missing host";
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (close == NULL || (size_t)(close - s - 1) >= sizeof(v6))
			return "invalid IPv6 address";
		memcpy(v6, s + 1, (size_t)(close - s - 1));
		v6[close - s - 1] = '\0';
		if (inet_pton(AF_INET6, v6, &a6) != 1)
			return "invalid IPv6 address";
		colon = close + 1 < end ? close + 1 : NULL;
		if (colon != NULL && *colon != ':')
			return "expected \":\" after \"]\"";
	} else {
		colon = memchr(s, ':', len);
		for (i = 0; i < (colon != NULL ? (size_t)(colon - s) : len); i++)
			if (!host_char(s[i]))
				return "invalid character in host";
	}
	if (colon == NULL)
		return need_port ? "missing port" : NULL;
	if (port_parse(colon + 1, (size_t)(end - colon - 1)) == -1)
		return "port must be a number from 1 to 65535";
	return NULL;
}

static int
check_url(const struct conf_hooks *h, const struct conf_key *k,
    const char *s, struct conf_value *v, char *err, size_t errlen)
{
	const char	*host, *why = NULL;
	size_t		 hostlen, i;
	char		 q[CONF_QUOTE_LEN];

	if (strncmp(s, "http://", 7) == 0)
		host = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else {
		snprintf(err, errlen, "invalid URL %s: must start with http:// "
		    "or https://", conf_quote(q, sizeof(q), s));
		return -1;
	}
	hostlen = strcspn(host, "/?#");
	/* Never echo it: the part before '@' may be a password. */
	if (memchr(host, '@', hostlen) != NULL) {
		snprintf(err, errlen, "invalid URL: credentials do not belong "
		    "in a URL (use the section's secret file keys)");
		return -1;
	}
	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f) {
			why = "contains a space or control character";
			break;
		}
	}
	if (why == NULL)
		why = hostport_check(host, hostlen, 0);
	if (why != NULL) {
		snprintf(err, errlen, "invalid URL %s: %s",
		    conf_quote(q, sizeof(q), s), why);
		return -1;
	}
	return 0;
}

static int
check_addr(const struct conf_hooks *h, const struct conf_key *k,
    const char *s, struct conf_value *v, char *err, size_t errlen)
{
	const char	*why;
	char		 q[CONF_QUOTE_LEN];

	if ((why = hostport_check(s, strlen(s), 1)) == NULL)
		return 0;
	if (s[0] == ':')
		snprintf(err, errlen, "invalid address %s: missing host (use "
		    "0.0.0.0%s for every interface)", conf_quote(q, sizeof(q), s),
		    strlen(s) < 8 ? s : ":PORT");
	else
		snprintf(err, errlen, "invalid address %s: %s (expected "
		    "host:port or [v6]:port)", conf_quote(q, sizeof(q), s), why);
	return -1;
}

static int
check_path(const struct conf_hooks *h, const struct conf_key *k,
    const char *s, struct conf_value *v, char *err, size_t errlen)
{
	char	q[CONF_QUOTE_LEN];

	if (s[0] != '/') {
		snprintf(err, errlen, "%s is not an absolute path",
		    conf_quote(q, sizeof(q), s));
		return -1;
	}
	/* Messages print paths as they are: keep them printable. */
	if (conf_has_control(s)) {
		snprintf(err, errlen, "path %s contains a control character",
		    conf_quote(q, sizeof(q), s));
		return -1;
	}
	return 0;
}

/*
 * A secret file must not be readable by anyone but its owner.  Mode bits,
 * not access(2): root can read anything, yet the file still leaks.
 */
int
conf_secret_mode_ok(const char *path, const struct stat *st, char *err,
    size_t errlen)
{
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "secret file %s is not a regular file",
		    path);
		return -1;
	}
	if ((st->st_mode & (S_IRGRP | S_IROTH)) != 0) {
		snprintf(err, errlen, "secret file %s is readable by others "
		    "(mode %04o); run chmod 600 %s", path,
		    (unsigned)(st->st_mode & 07777), path);
		return -1;
	}
	return 0;
}

/*
 * stat(2) first: a device or FIFO named here is refused without being
 * opened.  Then open(2), because "readable" is what matters, not the bits.
 */
static int
check_secret(const struct conf_hooks *h, const struct conf_key *k,
    const char *s, struct conf_value *v, char *err, size_t errlen)
{
	struct stat	st;
	int		fd;

	if (check_path(h, k, s, v, err, errlen) == -1)
		return -1;
	if (stat(s, &st) == -1) {
		snprintf(err, errlen, "cannot read secret file %s: %s", s,
		    strerror(errno));
		return -1;
	}
	if (conf_secret_mode_ok(s, &st, err, errlen) == -1)
		return -1;
	if ((fd = open(s, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		snprintf(err, errlen, "cannot read secret file %s: %s", s,
		    strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

static int
label_name_ok(const char *s)
{
	size_t	i;

	if (s[0] == '\0' || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	}
	return 1;
}

char *
conf_trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

/* One "name=value" of a label list; adds it to V or fills ERR. */
static int
label_add(struct conf_value *v, char *item, char *err, size_t errlen)
{
	char	 q[CONF_QUOTE_LEN], *eq, *name, *value;
	size_t	 i;

	if ((eq = strchr(item, '=')) == NULL) {
		snprintf(err, errlen, "expected name=value in labels, not %s",
		    conf_quote(q, sizeof(q), conf_trim(item)));
		return -1;
	}
	*eq = '\0';
	name = conf_trim(item);
	value = conf_trim(eq + 1);
	if (!label_name_ok(name)) {
		snprintf(err, errlen, "invalid label name %s (letters, digits "
		    "and _, not starting with a digit)", conf_quote(q, sizeof(q), name));
		return -1;
	}
	if (strncmp(name, "__", 2) == 0) {
		snprintf(err, errlen, "label name %s is reserved (names "
		    "starting with __ are internal)", conf_quote(q, sizeof(q), name));
		return -1;
	}
	if (*value == '\0') {
		snprintf(err, errlen, "label %s has an empty value", name);
		return -1;
	}
	for (i = 0; i < v->nlabels; i++) {
		if (strcmp(v->labels[i].name, name) == 0) {
			snprintf(err, errlen, "duplicate label %s", name);
			return -1;
		}
	}
	v->labels = xreallocarray(v->labels, v->nlabels + 1,
	    sizeof(*v->labels));
	v->labels[v->nlabels].name = name;
	v->labels[v->nlabels].value = value;
	v->nlabels++;
	return 0;
}

static int
check_labels(const struct conf_hooks *h, const struct conf_key *k,
    const char *s, struct conf_value *v, char *err, size_t errlen)
{
	char	*item, *next;

	v->labelbuf = xstrdup(s);
	for (item = v->labelbuf; item != NULL; item = next) {
		if ((next = strchr(item, ',')) != NULL)
			*next++ = '\0';
		if (*conf_trim(item) == '\0') {
			snprintf(err, errlen, "empty entry in labels "
			    "(expected name=value, name=value)");
			return -1;
		}
		if (label_add(v, item, err, errlen) == -1)
			return -1;
	}
	return 0;
}

static int
check_expr(const struct conf_hooks *h, const struct conf_key *k,
    const char *s, struct conf_value *v, char *err, size_t errlen)
{
	char	msg[256];

	if (h == NULL || h->expr == NULL || h->expr(s, msg, sizeof(msg)) == 0)
		return 0;
	snprintf(err, errlen, "invalid expression: %s", msg);
	return -1;
}

static const value_fn value_fns[] = {
	[CONF_STRING] = check_string,
	[CONF_INT] = check_int,
	[CONF_FLOAT] = check_float,
	[CONF_BOOL] = check_bool,
	[CONF_DURATION] = check_duration,
	[CONF_SIZE] = check_size,
	[CONF_ENUM] = check_enum,
	[CONF_REGEX] = check_regex,
	[CONF_URL] = check_url,
	[CONF_ADDR] = check_addr,
	[CONF_PATH] = check_path,
	[CONF_SECRET] = check_secret,
	[CONF_LABELS] = check_labels,
	[CONF_EXPR] = check_expr,
};

int
conf_value_parse(const struct conf_hooks *h, const struct conf_key *k,
    const char *text, struct conf_value *v, char *err, size_t errlen)
{
	v->text = text;
	if (text[0] == '\0' && k->type != CONF_STRING) {
		snprintf(err, errlen, "empty value for %s", k->name);
		return -1;
	}
	if ((size_t)k->type >= sizeof(value_fns) / sizeof(value_fns[0]) ||
	    value_fns[k->type] == NULL) {
		snprintf(err, errlen, "%s has an unknown type", k->name);
		return -1;
	}
	if (value_fns[k->type](h, k, text, v, err, errlen) == -1)
		return -1;
	v->valid = 1;
	return 0;
}

void
conf_value_clear(struct conf_value *v)
{
	free(v->labelbuf);
	free(v->labels);
	v->labelbuf = NULL;
	v->labels = NULL;
	v->nlabels = 0;
}
