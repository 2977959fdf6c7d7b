/*
 * rules: alerting and recording rules, from [alert] sections of
 * monitord.conf and from Prometheus rule files (the rule_files key of
 * [server]: glob patterns, relative ones taken from the config file's
 * directory).
 *
 * [alert "NAME"] sections: every one without its own evaluation_interval
 * goes into a group "monitord.conf" evaluated at [server]
 * evaluation_interval; one with its own interval is a group of its own,
 * named after it.  severity becomes a label, summary and description
 * annotations.  An alert without notify notifies every receiver, as an
 * alert of a rule file always does (routing is then the receivers' job, as
 * Prometheus leaves it to Alertmanager).
 *
 * Rule files follow Prometheus's format (groups: name, interval, limit,
 * rules: alert or record, expr, for, keep_firing_for, labels,
 * annotations).  Recording rules are loaded and evaluated: their samples go
 * to the same sink as the ALERTS series.
 *
 * resolve (hysteresis).  Once an alert fires, it stays firing after expr
 * stops returning its series for as long as the resolve expression still
 * returns a sample with the same labels, and resolves at the first
 * evaluation where neither does.  resolve may instead be a number: for
 * expr "X > T" (or >=), resolve = R keeps the alert firing while X >= R,
 * so it resolves once X drops below R; for "X < T" (or <=), while X <= R.
 * The number form needs a top-level comparison in expr, without bool and
 * not under and/or/unless, and R on the clear side of a literal T.
 *
 * Errors are "file:line: message" (the config's line for a section, the
 * YAML line in a rule file) in a struct rule_errors, all of them in one
 * run, as monitord -t prints them.
 *
 * A ruleset is immutable once loaded and owns every string in it.
 */
#ifndef MONITORD_ALERT_RULES_H
#define MONITORD_ALERT_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "alert/labels.h"

struct conf;

enum rule_type {
	RULE_ALERT,
	RULE_RECORD,
};

struct rule {
	enum rule_type	 type;
	char		*name;		/* alertname, or the recorded metric */
	char		*expr;
	int64_t		 for_ms;
	int64_t		 keep_firing_for_ms;
	char		*resolve;	/* as written, or NULL */
	char		*resolve_expr;	/* what is evaluated, or NULL */
	struct lset	 labels;	/* values are templates */
	struct lset	 annotations;	/* values are templates */
	char		**notify;	/* receiver names; NULL: all */
	size_t		 nnotify;
	char		*file;
	int		 line;
};

struct rule_group {
	char		*name;
	char		*file;
	int64_t		 interval_ms;
	int		 limit;		/* most alerts or series; 0: none */
	struct rule	*rules;
	size_t		 nrules;
};

struct ruleset {
	struct rule_group	*groups;
	size_t			 ngroups;
	size_t			 nrules;
};

struct rule_errors {
	char	**v;		/* "file:line: message" */
	size_t	  n;
};

void		 rule_errors_free(struct rule_errors *);
void		 rule_errors_add(struct rule_errors *, const char *file,
		    int line, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));

/*
 * Rules of CONF.  EXPR (may be NULL) validates each PromQL expression and
 * fills its message on error.  NULL when there were errors, which are
 * then in ERRS (a success adds none).
 */
struct ruleset	*ruleset_load(const struct conf *,
		    int (*expr)(const char *, char *, size_t),
		    struct rule_errors *errs);
/* One rule file's groups appended to RS (which may be empty): 0 or -1. */
int		 ruleset_load_file(struct ruleset *, const char *path,
		    int (*expr)(const char *, char *, size_t),
		    struct rule_errors *errs);
/* Same from a string, PATH used in messages (tests and fuzzing). */
int		 ruleset_load_yaml(struct ruleset *, const char *path,
		    const char *text, size_t len,
		    int (*expr)(const char *, char *, size_t),
		    struct rule_errors *errs);
struct ruleset	*ruleset_new(void);
void		 ruleset_free(struct ruleset *);

/*
 * The hysteresis expression for resolve = R (a number) of EXPR, into a new
 * string; NULL with a message in ERR when EXPR has no usable comparison.
 */
char		*rule_resolve_expr(const char *expr, double r, char *err,
		    size_t errlen);

#endif
