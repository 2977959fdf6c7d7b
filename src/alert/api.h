/*
 * api: the alert endpoints on the httpd, inside src/alert/ only.
 *
 *	GET /api/alerts		active, pending and recently resolved alerts
 *				with values, since when, and silencing
 *	GET /api/v1/alerts	Prometheus 2.42's shape
 *	GET /api/v1/rules	Prometheus 2.42's shape (type=alert|record)
 *	GET, POST /api/silences	list; create {matchers, startsAt, endsAt,
 *				createdBy, comment} -> {"silenceID": id}
 *	DELETE /api/silences/ID	expire
 *
 * The handlers read the alerting instance through the accessors below, so
 * a reload that swaps rules is seen by the next request.
 */
#ifndef MONITORD_ALERT_API_H
#define MONITORD_ALERT_API_H

#include <stdint.h>

struct alerting;
struct evaluator;
struct httpd;
struct notifier;
struct ruleset;
struct silences;

void			 alert_api_register(struct httpd *, struct alerting *);

const struct ruleset	*alerting_ruleset(const struct alerting *);
const struct evaluator	*alerting_evaluator(const struct alerting *);
struct silences		*alerting_silences(const struct alerting *);
struct notifier		*alerting_notifier(const struct alerting *);
int64_t			 alerting_now(void);

/* Go's strconv.FormatFloat(v, 'e', -1, 64), into OUT. */
const char		*alert_format_e(double, char *out, size_t outlen);

#endif
