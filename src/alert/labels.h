/*
 * labels: owned, sorted label sets for alerts, with the identities other
 * tools compute from them.
 *
 * A struct lset owns copies of its names and values, kept sorted by name
 * (bytewise) with at most one value per name; setting an empty value
 * deletes the label (the Prometheus rule).  lset_fingerprint is
 * Alertmanager's fingerprint of a label set (FNV-1a 64 over sorted names
 * and values, each followed by the byte 0xff), so the "fingerprint" field
 * of a webhook payload equals what Alertmanager itself would send.
 *
 * Single-threaded like everything in src/alert/.
 */
#ifndef MONITORD_ALERT_LABELS_H
#define MONITORD_ALERT_LABELS_H

#include <stddef.h>
#include <stdint.h>

#include "sample.h"

struct buf;
struct json_t;

struct lset {
	struct label	*v;		/* strings owned by the set */
	size_t		 n;
	size_t		 cap;
};

#define LSET_INIT { NULL, 0, 0 }

void		 lset_set(struct lset *, const char *name, const char *value);
void		 lset_del(struct lset *, const char *name);
const char	*lset_get(const struct lset *, const char *name); /* or NULL */
/* Replace DST's labels with copies of SRC's (DST may hold labels). */
void		 lset_copy(struct lset *dst, const struct lset *src);
/* Copy N labels (any order, empty values skipped), except SKIP (or NULL). */
void		 lset_from(struct lset *, const struct label *, size_t n,
		    const char *skip);
void		 lset_clear(struct lset *);
int		 lset_cmp(const struct lset *, const struct lset *);
uint64_t	 lset_fingerprint(const struct lset *);
/* {a="b", c="d"} as Prometheus prints a label set (Go's quoting). */
void		 lset_format(const struct lset *, struct buf *);
/* A JSON object name -> value (new reference). */
struct json_t	*lset_json(const struct lset *);
/* Labels from a JSON object of strings; -1 when it is not one. */
int		 lset_from_json(struct lset *, const struct json_t *);

/* Go's strconv.Quote of S, appended to B (for label values and names). */
void		 alert_quote(struct buf *, const char *s);
/* RFC 3339 in UTC with the fraction Go's time.Time JSON gives
 * ("2024-05-01T10:00:00.25Z"); 0 ms prints Go's zero time
 * "0001-01-01T00:00:00Z". */
void		 alert_time_format(int64_t ms, char *out, size_t outlen);
/* Parse RFC 3339 (with Z or +hh:mm, optional fraction): 0 or -1. */
int		 alert_time_parse(const char *, int64_t *ms);

#endif
