/*
 * template: the subset of Prometheus's alert templates (Go text/template)
 * that alert annotations and labels use.
 *
 * Text outside {{ }} is copied.  An action is a comment (slash-star ...
 * star-slash inside the braces) or a
 * pipeline of commands separated by '|', the result of each passed as the
 * last argument of the next.  Operands: $value and .Value (the sample's
 * value), $labels.NAME and .Labels.NAME (a label of the series; a missing
 * one is "", as Prometheus's missingkey=zero gives), $externalURL and
 * .ExternalURL, "double-quoted" or `raw` strings, numbers.  Functions:
 * humanize, humanize1024, humanizePercentage, humanizeDuration, printf
 * (verbs %f %e %g %s %v %d %q %%, with flags, width and precision), toUpper,
 * toLower, title.  {{- and -}} trim the white space before and after as Go
 * does.  Numbers print as Go's %v does (1.5e+06), so {{ $value }} reads the
 * same as in Prometheus.
 *
 * Anything else (if, range, variables, other functions) is an error, found
 * by tmpl_check at load time with the same message tmpl_expand would give.
 * Output is bounded by TMPL_MAX_OUTPUT.
 */
#ifndef MONITORD_ALERT_TEMPLATE_H
#define MONITORD_ALERT_TEMPLATE_H

#include <stddef.h>

struct buf;
struct lset;

#define TMPL_MAX_OUTPUT	(64 * 1024)

struct tmpl_data {
	const struct lset	*labels;	/* may be NULL: none */
	double			 value;
	const char		*external_url;	/* may be NULL: "" */
};

/* 0, or -1 with "template: ..." in ERR; nothing is written to OUT then. */
int	tmpl_expand(const char *text, const struct tmpl_data *,
	    struct buf *out, char *err, size_t errlen);
/* The syntax and function names only (no data): 0 or -1 as above. */
int	tmpl_check(const char *text, char *err, size_t errlen);
/* Prometheus's humanize* functions and Go's %v of a float64, appended. */
void	tmpl_humanize(struct buf *, double);
void	tmpl_humanize1024(struct buf *, double);
void	tmpl_humanize_percentage(struct buf *, double);
void	tmpl_humanize_duration(struct buf *, double);

#endif
