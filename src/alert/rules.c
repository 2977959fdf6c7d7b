/*
 * rules: loading alerting and recording rules from the config's [alert]
 * sections and from Prometheus rule files through libyaml's document API
 * (see rules.h for the semantics, resolve included).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "alert/rules.h"
#include "alert/template.h"
#include "buf.h"
#include "conf.h"
#include "sample.h"
#include "units.h"
#include "xmalloc.h"

#define RULE_FILE_MAX	(16 * 1024 * 1024)
/* YAML aliases can repeat a node many times over: bound the walk. */
#define RULE_FILE_MAX_RULES	10000
#define RULE_FILE_MAX_GROUPS	1000

void
rule_errors_add(struct rule_errors *e, const char *file, int line,
    const char *fmt, ...)
{
	va_list	 ap;
	char	*msg, *s;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	if (line > 0)
		xasprintf(&s, "%s:%d: %s", file, line, msg);
	else
		xasprintf(&s, "%s: %s", file, msg);
	free(msg);
	e->v = xreallocarray(e->v, e->n + 1, sizeof(*e->v));
	e->v[e->n++] = s;
}

void
rule_errors_free(struct rule_errors *e)
{
	size_t	i;

	for (i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	e->v = NULL;
	e->n = 0;
}

struct ruleset *
ruleset_new(void)
{
	return xcalloc(1, sizeof(struct ruleset));
}

static void
rule_clear(struct rule *r)
{
	size_t	i;

	free(r->name);
	free(r->expr);
	free(r->resolve);
	free(r->resolve_expr);
	lset_clear(&r->labels);
	lset_clear(&r->annotations);
	for (i = 0; i < r->nnotify; i++)
		free(r->notify[i]);
	free(r->notify);
	free(r->file);
}

void
ruleset_free(struct ruleset *rs)
{
	size_t	i, j;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->ngroups; i++) {
		for (j = 0; j < rs->groups[i].nrules; j++)
			rule_clear(&rs->groups[i].rules[j]);
		free(rs->groups[i].rules);
		free(rs->groups[i].name);
		free(rs->groups[i].file);
	}
	free(rs->groups);
	free(rs);
}

static struct rule_group *
group_add(struct ruleset *rs, const char *name, const char *file,
    int64_t interval)
{
	struct rule_group	*g;

	rs->groups = xreallocarray(rs->groups, rs->ngroups + 1,
	    sizeof(*rs->groups));
	g = &rs->groups[rs->ngroups++];
	memset(g, 0, sizeof(*g));
	g->name = xstrdup(name);
	g->file = xstrdup(file);
	g->interval_ms = interval;
	return g;
}

static struct rule *
rule_add(struct ruleset *rs, struct rule_group *g)
{
	struct rule	*r;

	g->rules = xreallocarray(g->rules, g->nrules + 1, sizeof(*g->rules));
	r = &g->rules[g->nrules++];
	memset(r, 0, sizeof(*r));
	rs->nrules++;
	return r;
}

/*
 * The last comparison at the top level of EXPR: its offset and length, or
 * -1.  *SETOP is set when and/or/unless appear at the top level.
 */
static long
top_comparison(const char *e, size_t *oplen, int *setop)
{
	int	depth = 0;
	long	last = -1;
	size_t	i, n = strlen(e);
	char	q;

	*setop = 0;
	for (i = 0; i < n; i++) {
		switch (e[i]) {
		case '"': case '\'': case '`':
			q = e[i];
			for (i++; i < n && e[i] != q; i++)
				if (q != '`' && e[i] == '\\')
					i++;
			continue;
		case '#':
			while (i < n && e[i] != '\n')
				i++;
			continue;
		case '(': case '[': case '{':
			depth++;
			continue;
		case ')': case ']': case '}':
			depth--;
			continue;
		}
		if (depth != 0)
			continue;
		if ((e[i] == '=' && e[i + 1] == '=') ||
		    (e[i] == '!' && e[i + 1] == '=') ||
		    (e[i] == '>' && e[i + 1] == '=') ||
		    (e[i] == '<' && e[i + 1] == '=')) {
			last = (long)i;
			*oplen = 2;
			i++;
		} else if (e[i] == '>' || e[i] == '<') {
			last = (long)i;
			*oplen = 1;
		} else if ((i == 0 || !(isalnum((unsigned char)e[i - 1]) ||
		    e[i - 1] == '_' || e[i - 1] == ':')) &&
		    (strncmp(e + i, "and", 3) == 0 ||
		    strncmp(e + i, "or", 2) == 0 ||
		    strncmp(e + i, "unless", 6) == 0)) {
			size_t w = e[i] == 'a' ? 3 : e[i] == 'o' ? 2 : 6;

			if (e[i + w] == '\0' || isspace((unsigned char)e[i + w])
			    || e[i + w] == '(')
				*setop = 1;
		}
	}
	return last;
}

static char *
trimmed(const char *s, size_t n)
{
	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	return xstrndup(s, n);
}

char *
rule_resolve_expr(const char *expr, double r, char *err, size_t errlen)
{
	size_t		 oplen = 0;
	int		 setop, above;
	long		 at = top_comparison(expr, &oplen, &setop);
	char		*lhs, *rhs, *end, *out;
	const char	*op;
	double		 t;
	struct buf	 b = BUF_INIT;

	if (setop) {
		snprintf(err, errlen, "resolve as a number needs expr to be "
		    "one comparison, not and/or/unless");
		return NULL;
	}
	if (at < 0) {
		snprintf(err, errlen, "resolve as a number needs a "
		    "comparison (> >= < <=) in expr");
		return NULL;
	}
	op = expr + at;
	if (op[0] == '=' || op[0] == '!') {
		snprintf(err, errlen, "resolve as a number needs expr to "
		    "compare with > >= < or <=, not %.2s", op);
		return NULL;
	}
	above = op[0] == '>';
	lhs = trimmed(expr, (size_t)at);
	rhs = trimmed(op + oplen, strlen(op + oplen));
	if (strncmp(rhs, "bool", 4) == 0 && (rhs[4] == '\0' ||
	    isspace((unsigned char)rhs[4]))) {
		snprintf(err, errlen, "resolve as a number cannot work with a "
		    "bool comparison");
		goto fail;
	}
	if (*lhs == '\0' || *rhs == '\0') {
		snprintf(err, errlen, "resolve: expr has an incomplete "
		    "comparison");
		goto fail;
	}
	t = strtod(rhs, &end);
	if (end != rhs && *end == '\0' && ((above && r > t) ||
	    (!above && r < t))) {
		buf_add_double(&b, r);
		buf_adds(&b, " is ");
		buf_adds(&b, above ? "above" : "below");
		buf_adds(&b, " the threshold ");
		buf_add_double(&b, t);
		snprintf(err, errlen, "resolve %s of expr; hysteresis needs a "
		    "value on the side where the alert clears", b.data);
		buf_free(&b);
		goto fail;
	}
	buf_printf(&b, "(%s) %s ", lhs, above ? ">=" : "<=");
	buf_add_double(&b, r);
	out = buf_detach(&b);
	free(lhs);
	free(rhs);
	return out;
fail:
	free(lhs);
	free(rhs);
	return NULL;
}

/* Shared checks of a rule once its fields are in. */
static void
rule_finish(struct rule *r, int (*expr)(const char *, char *, size_t),
    struct rule_errors *errs, int resolve_line)
{
	char	 err[512], *end;
	double	 v;
	size_t	 i;

	if (expr != NULL && expr(r->expr, err, sizeof(err)) == -1)
		rule_errors_add(errs, r->file, r->line, "expr: %s", err);
	if (r->resolve != NULL) {
		v = strtod(r->resolve, &end);
		if (end != r->resolve && *end == '\0' && isfinite(v)) {
			r->resolve_expr = rule_resolve_expr(r->expr, v, err,
			    sizeof(err));
			if (r->resolve_expr == NULL)
				rule_errors_add(errs, r->file, resolve_line,
				    "%s", err);
		} else {
			r->resolve_expr = xstrdup(r->resolve);
			if (expr != NULL && expr(r->resolve, err,
			    sizeof(err)) == -1)
				rule_errors_add(errs, r->file, resolve_line,
				    "resolve: %s", err);
		}
	}
	for (i = 0; i < r->labels.n; i++)
		if (tmpl_check(r->labels.v[i].value, err, sizeof(err)) == -1)
			rule_errors_add(errs, r->file, r->line, "label %s: %s",
			    r->labels.v[i].name, err);
	for (i = 0; i < r->annotations.n; i++)
		if (tmpl_check(r->annotations.v[i].value, err,
		    sizeof(err)) == -1)
			rule_errors_add(errs, r->file, r->line,
			    "annotation %s: %s", r->annotations.v[i].name, err);
}

static void
load_sections(struct ruleset *rs, const struct conf *conf,
    int (*expr)(const char *, char *, size_t), struct rule_errors *errs)
{
	const struct conf_section	*s;
	struct rule_group		*main_group = NULL, *g;
	struct rule			*r;
	const char			*path = conf_path(conf), *n, *v;
	int64_t				 interval;
	size_t				 i, j;

	interval = conf_duration(conf_get(conf, "server"),
	    "evaluation_interval");
	for (i = 0; (s = conf_at(conf, "alert", i)) != NULL; i++) {
		if (conf_has(s, "evaluation_interval"))
			g = group_add(rs, conf_section_name(s), path,
			    conf_duration(s, "evaluation_interval"));
		else {
			if (main_group == NULL)
				main_group = group_add(rs, "monitord.conf",
				    path, interval);
			g = main_group;
		}
		r = rule_add(rs, g);
		r->type = RULE_ALERT;
		r->name = xstrdup(conf_section_name(s));
		r->expr = xstrdup(conf_str(s, "expr"));
		r->for_ms = conf_duration(s, "for");
		r->keep_firing_for_ms = conf_duration(s, "keep_firing_for");
		if (conf_has(s, "resolve"))
			r->resolve = xstrdup(conf_str(s, "resolve"));
		r->file = xstrdup(path);
		r->line = conf_section_line(s);
		for (j = 0; conf_label_at(s, "labels", j, &n, &v) == 0; j++)
			lset_set(&r->labels, n, v);
		lset_set(&r->labels, "severity", conf_str(s, "severity"));
		if (conf_has(s, "summary"))
			lset_set(&r->annotations, "summary",
			    conf_str(s, "summary"));
		if (conf_has(s, "description"))
			lset_set(&r->annotations, "description",
			    conf_str(s, "description"));
		if (conf_has(s, "notify")) {
			r->nnotify = conf_multi_count(s, "notify");
			r->notify = xcalloc(r->nnotify, sizeof(*r->notify));
			for (j = 0; j < r->nnotify; j++)
				r->notify[j] = xstrdup(conf_multi_at(s,
				    "notify", j));
		}
		rule_finish(r, expr, errs, r->line);
	}
}

static int
conf_has_key(const struct conf *conf, const char *key)
{
	const struct conf_section *srv = conf_get(conf, "server");

	return conf_kind_key(conf_section_kind_decl(srv), key) != NULL &&
	    conf_has(srv, key);
}

struct ruleset *
ruleset_load(const struct conf *conf,
    int (*expr)(const char *, char *, size_t), struct rule_errors *errs)
{
	const struct conf_section	*srv = conf_get(conf, "server");
	struct ruleset			*rs = ruleset_new();
	size_t				 before = errs->n, i, k;
	char				*dir, *pat, *copy;
	const char			*p;
	glob_t				 g;
	int				 rc;

	load_sections(rs, conf, expr, errs);
	if (!conf_has_key(conf, "rule_files"))
		goto done;
	copy = xstrdup(conf_path(conf));
	dir = xstrdup(dirname(copy));
	free(copy);
	for (i = 0; (p = conf_multi_at(srv, "rule_files", i)) != NULL; i++) {
		if (*p == '/')
			pat = xstrdup(p);
		else
			xasprintf(&pat, "%s/%s", dir, p);
		memset(&g, 0, sizeof(g));
		rc = glob(pat, GLOB_ERR, NULL, &g);
		if (rc == GLOB_NOMATCH && strpbrk(p, "*?[") == NULL)
			rule_errors_add(errs, conf_path(conf),
			    conf_multi_line(srv, "rule_files", i),
			    "rule_files: %s: %s", pat, strerror(ENOENT));
		else if (rc != 0 && rc != GLOB_NOMATCH)
			rule_errors_add(errs, conf_path(conf),
			    conf_multi_line(srv, "rule_files", i),
			    "rule_files: cannot read %s", pat);
		for (k = 0; rc == 0 && k < g.gl_pathc; k++)
			ruleset_load_file(rs, g.gl_pathv[k], expr, errs);
		globfree(&g);
		free(pat);
	}
	free(dir);
done:
	if (errs->n > before) {
		ruleset_free(rs);
		return NULL;
	}
	return rs;
}

int
ruleset_load_file(struct ruleset *rs, const char *path,
    int (*expr)(const char *, char *, size_t), struct rule_errors *errs)
{
	FILE		*f;
	struct stat	 st;
	char		*text;
	size_t		 n;
	int		 rc;

	if ((f = fopen(path, "r")) == NULL) {
		rule_errors_add(errs, path, 0, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == -1 || st.st_size > RULE_FILE_MAX) {
		rule_errors_add(errs, path, 0, "larger than %d bytes",
		    RULE_FILE_MAX);
		fclose(f);
		return -1;
	}
	text = xmalloc((size_t)st.st_size + 1);
	n = fread(text, 1, (size_t)st.st_size, f);
	fclose(f);
	text[n] = '\0';
	rc = ruleset_load_yaml(rs, path, text, n, expr, errs);
	free(text);
	return rc;
}

/* YAML documents: node helpers and the rule-file walk. */

struct yctx {
	yaml_document_t		*doc;
	const char		*path;
	struct rule_errors	*errs;
	size_t			 nrules;	/* rule nodes walked */
};

static int
yline(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

static const char *
yscalar(const yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

static yaml_node_t *
ynode(struct yctx *y, int id)
{
	return yaml_document_get_node(y->doc, id);
}

static int
ydur(struct yctx *y, yaml_node_t *v, const char *key, int64_t *out)
{
	const char	*s = yscalar(v);
	char		 err[128];

	if (s == NULL) {
		rule_errors_add(y->errs, y->path, yline(v), "%s must be a "
		    "duration", key);
		return -1;
	}
	if (strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (units_parse_duration(s, out, err, sizeof(err)) == -1) {
		rule_errors_add(y->errs, y->path, yline(v), "%s: %s", key, err);
		return -1;
	}
	return 0;
}

static void
ymap_labels(struct yctx *y, yaml_node_t *m, const char *what,
    struct lset *out)
{
	yaml_node_pair_t	*p;
	const char		*k, *v;

	if (m->type != YAML_MAPPING_NODE) {
		if (m->type == YAML_SCALAR_NODE && *yscalar(m) == '\0')
			return;		/* "labels:" with nothing */
		rule_errors_add(y->errs, y->path, yline(m), "%s must be a "
		    "mapping of names to strings", what);
		return;
	}
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	    p++) {
		k = yscalar(ynode(y, p->key));
		v = yscalar(ynode(y, p->value));
		if (k == NULL || v == NULL) {
			rule_errors_add(y->errs, y->path,
			    yline(ynode(y, p->key)), "%s must be a mapping "
			    "of names to strings", what);
			continue;
		}
		if (!label_name_valid(k)) {
			rule_errors_add(y->errs, y->path,
			    yline(ynode(y, p->key)), "invalid %s name %s",
			    strcmp(what, "labels") == 0 ? "label" :
			    "annotation", k);
			continue;
		}
		if (lset_get(out, k) != NULL)
			rule_errors_add(y->errs, y->path,
			    yline(ynode(y, p->key)), "%s: %s given twice",
			    what, k);
		lset_set(out, k, v);
	}
}

static void
yrule(struct yctx *y, struct ruleset *rs, struct rule_group *g,
    yaml_node_t *m, int (*expr)(const char *, char *, size_t))
{
	static const char *const fields[] = { "alert", "record", "expr",
	    "for", "keep_firing_for", "labels", "annotations", "resolve",
	    NULL };
	yaml_node_pair_t	*p;
	yaml_node_t		*kn, *vn, *seen[8] = { NULL };
	const char		*k;
	struct rule		*r;
	size_t			 i, before = y->errs->n;
	int			 resolve_line = yline(m);

	if (m->type != YAML_MAPPING_NODE) {
		rule_errors_add(y->errs, y->path, yline(m), "a rule must be "
		    "a mapping");
		return;
	}
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	    p++) {
		kn = ynode(y, p->key);
		k = yscalar(kn);
		for (i = 0; k != NULL && fields[i] != NULL; i++)
			if (strcmp(fields[i], k) == 0)
				break;
		if (k == NULL || fields[i] == NULL) {
			rule_errors_add(y->errs, y->path, yline(kn),
			    "unknown field %s in a rule", k ? k : "(not a "
			    "string)");
			continue;
		}
		if (seen[i] != NULL)
			rule_errors_add(y->errs, y->path, yline(kn),
			    "field %s given twice", k);
		seen[i] = ynode(y, p->value);
	}
	if ((seen[0] == NULL) == (seen[1] == NULL)) {
		rule_errors_add(y->errs, y->path, yline(m), seen[0] == NULL ?
		    "a rule needs alert or record" : "a rule has either alert "
		    "or record, not both");
		return;
	}
	for (i = 0; i < 3; i++) {
		if (seen[i] != NULL && (yscalar(seen[i]) == NULL ||
		    *yscalar(seen[i]) == '\0'))
			rule_errors_add(y->errs, y->path, yline(seen[i]),
			    "%s must be a non-empty string", fields[i]);
	}
	if (seen[2] == NULL)
		rule_errors_add(y->errs, y->path, yline(m), "rule %s has no "
		    "expr", yscalar(seen[seen[0] ? 0 : 1]) ?
		    yscalar(seen[seen[0] ? 0 : 1]) : "");
	if (seen[1] != NULL) {
		if (yscalar(seen[1]) != NULL && *yscalar(seen[1]) != '\0' &&
		    !metric_name_valid(yscalar(seen[1])))
			rule_errors_add(y->errs, y->path, yline(seen[1]),
			    "invalid recording rule name %s",
			    yscalar(seen[1]));
		for (i = 3; i < 8; i++)
			if (i != 5 && seen[i] != NULL)
				rule_errors_add(y->errs, y->path,
				    yline(seen[i]), "%s applies to alerting "
				    "rules only", fields[i]);
	}
	if (y->errs->n > before)
		return;
	r = rule_add(rs, g);
	r->type = seen[0] != NULL ? RULE_ALERT : RULE_RECORD;
	r->name = xstrdup(yscalar(seen[seen[0] ? 0 : 1]));
	r->expr = xstrdup(yscalar(seen[2]));
	r->file = xstrdup(y->path);
	r->line = yline(m);
	if ((vn = seen[3]) != NULL)
		ydur(y, vn, "for", &r->for_ms);
	if ((vn = seen[4]) != NULL)
		ydur(y, vn, "keep_firing_for", &r->keep_firing_for_ms);
	if (seen[5] != NULL)
		ymap_labels(y, seen[5], "labels", &r->labels);
	if (seen[6] != NULL)
		ymap_labels(y, seen[6], "annotations", &r->annotations);
	if ((vn = seen[7]) != NULL) {
		resolve_line = yline(vn);
		if (yscalar(vn) == NULL || *yscalar(vn) == '\0')
			rule_errors_add(y->errs, y->path, yline(vn),
			    "resolve must be an expression or a number");
		else
			r->resolve = xstrdup(yscalar(vn));
	}
	rule_finish(r, expr, y->errs, resolve_line);
}

static void
ygroup(struct yctx *y, struct ruleset *rs, yaml_node_t *m,
    int (*expr)(const char *, char *, size_t), const char **names,
    size_t *nnames)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*kn, *vn, *name = NULL, *rules = NULL;
	yaml_node_t		*interval = NULL, *limit = NULL;
	yaml_node_item_t	*it;
	struct rule_group	*g;
	const char		*k, *s;
	char			*end;
	int64_t			 iv = 0;
	long			 lim = 0;
	size_t			 i;

	if (m->type != YAML_MAPPING_NODE) {
		rule_errors_add(y->errs, y->path, yline(m), "a group must be "
		    "a mapping");
		return;
	}
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	    p++) {
		kn = ynode(y, p->key);
		vn = ynode(y, p->value);
		k = yscalar(kn);
		if (k != NULL && strcmp(k, "name") == 0)
			name = vn;
		else if (k != NULL && strcmp(k, "rules") == 0)
			rules = vn;
		else if (k != NULL && strcmp(k, "interval") == 0)
			interval = vn;
		else if (k != NULL && strcmp(k, "limit") == 0)
			limit = vn;
		else
			rule_errors_add(y->errs, y->path, yline(kn),
			    "unknown field %s in a group", k ? k :
			    "(not a string)");
	}
	if (name == NULL || yscalar(name) == NULL || *yscalar(name) == '\0') {
		rule_errors_add(y->errs, y->path, yline(name ? name : m),
		    "a group needs a name");
		return;
	}
	for (i = 0; i < *nnames; i++)
		if (strcmp(names[i], yscalar(name)) == 0)
			rule_errors_add(y->errs, y->path, yline(name),
			    "group name %s repeats", yscalar(name));
	names[(*nnames)++] = yscalar(name);
	if (interval != NULL && ydur(y, interval, "interval", &iv) == 0 &&
	    iv < 1000 && iv != 0)
		rule_errors_add(y->errs, y->path, yline(interval),
		    "interval must be at least 1s");
	if (limit != NULL) {
		s = yscalar(limit);
		errno = 0;
		lim = s != NULL ? strtol(s, &end, 10) : -1;
		if (s == NULL || *s == '\0' || *end != '\0' || errno != 0 ||
		    lim < 0 || lim > 1000000000)
			rule_errors_add(y->errs, y->path, yline(limit),
			    "limit must be a whole number from 0");
	}
	g = group_add(rs, yscalar(name), y->path, iv);
	g->limit = (int)(lim > 0 && lim <= 1000000000 ? lim : 0);
	if (rules == NULL)
		return;
	if (rules->type != YAML_SEQUENCE_NODE) {
		if (rules->type == YAML_SCALAR_NODE &&
		    *yscalar(rules) == '\0')
			return;
		rule_errors_add(y->errs, y->path, yline(rules), "rules must "
		    "be a list");
		return;
	}
	for (it = rules->data.sequence.items.start;
	    it < rules->data.sequence.items.top; it++) {
		if (++y->nrules > RULE_FILE_MAX_RULES) {
			rule_errors_add(y->errs, y->path, yline(ynode(y, *it)),
			    "more than %d rules in one file",
			    RULE_FILE_MAX_RULES);
			return;
		}
		yrule(y, rs, g, ynode(y, *it), expr);
	}
}

int
ruleset_load_yaml(struct ruleset *rs, const char *path, const char *text,
    size_t len, int (*expr)(const char *, char *, size_t),
    struct rule_errors *errs)
{
	yaml_parser_t		 parser;
	yaml_document_t		 doc;
	yaml_node_t		*root, *kn, *groups = NULL;
	yaml_node_pair_t	*p;
	yaml_node_item_t	*it;
	struct yctx		 y = { &doc, path, errs, 0 };
	const char		**names;
	size_t			 nnames = 0, before = errs->n;
	const char		*k;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text,
	    len);
	if (!yaml_parser_load(&parser, &doc)) {
		rule_errors_add(errs, path, (int)parser.problem_mark.line + 1,
		    "yaml: %s%s%s", parser.problem ? parser.problem :
		    "cannot parse", parser.context ? " " : "",
		    parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return -1;
	}
	yaml_parser_delete(&parser);
	if ((root = yaml_document_get_root_node(&doc)) == NULL) {
		yaml_document_delete(&doc);
		return 0;	/* an empty file has no groups */
	}
	if (root->type != YAML_MAPPING_NODE) {
		rule_errors_add(errs, path, yline(root), "a rule file must be "
		    "a mapping with groups");
		yaml_document_delete(&doc);
		return -1;
	}
	for (p = root->data.mapping.pairs.start;
	    p < root->data.mapping.pairs.top; p++) {
		kn = ynode(&y, p->key);
		k = yscalar(kn);
		if (k != NULL && strcmp(k, "groups") == 0)
			groups = ynode(&y, p->value);
		else
			rule_errors_add(errs, path, yline(kn), "unknown field "
			    "%s at the top (only groups)", k ? k :
			    "(not a string)");
	}
	if (groups != NULL && groups->type == YAML_SEQUENCE_NODE) {
		names = xcalloc((size_t)(groups->data.sequence.items.top -
		    groups->data.sequence.items.start) + 1, sizeof(*names));
		for (it = groups->data.sequence.items.start;
		    it < groups->data.sequence.items.top &&
		    y.nrules <= RULE_FILE_MAX_RULES; it++) {
			if (nnames == RULE_FILE_MAX_GROUPS) {
				rule_errors_add(errs, path, yline(ynode(&y,
				    *it)), "more than %d groups in one file",
				    RULE_FILE_MAX_GROUPS);
				break;
			}
			ygroup(&y, rs, ynode(&y, *it), expr, names, &nnames);
		}
		free(names);
	} else if (groups != NULL && !(groups->type == YAML_SCALAR_NODE &&
	    *yscalar(groups) == '\0'))
		rule_errors_add(errs, path, yline(groups), "groups must be a "
		    "list");
	yaml_document_delete(&doc);
	return errs->n > before ? -1 : 0;
}
