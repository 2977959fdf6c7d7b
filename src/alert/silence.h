/*
 * silence: Alertmanager-style silences: a set of label matchers and a time
 * range; an alert whose labels match every matcher while the silence is
 * active is not notified (it still shows in the API and the ALERTS series).
 *
 * Matchers are {name, value, isRegex, isEqual} as in Alertmanager's API v2:
 * = != =~ !~, regular expressions anchored at both ends (PCRE2).  A missing
 * label has the value "".  Silences are kept in KV_DB_ALERT_SILENCE (JSON
 * records) and survive restarts; expiring one (DELETE) sets its end to now.
 * Expired silences are dropped 5 days after their end, as Alertmanager's
 * retention does.
 *
 * Threading: the event loop's thread.
 */
#ifndef MONITORD_ALERT_SILENCE_H
#define MONITORD_ALERT_SILENCE_H

#include <stddef.h>
#include <stdint.h>

struct json_t;
struct kv;
struct lset;
struct silences;

#define SILENCE_MAX	10000	/* silences kept at most */

/* Load the stored silences; NULL with a message on a storage failure. */
struct silences	*silences_new(struct kv *, char *err, size_t errlen);
void		 silences_free(struct silences *);
/* 1 when an active silence matches LABELS at NOW (ms). */
int		 silences_match(void *silences, const struct lset *labels,
		    int64_t now);
/*
 * Create from the JSON of POST /api/silences ({matchers, startsAt,
 * endsAt, createdBy, comment}); the new id (36 characters and a NUL) into
 * ID.  0, or -1 with a message (bad input or storage).
 */
int		 silences_create(struct silences *, const struct json_t *,
		    int64_t now, char *id, char *err, size_t errlen);
/* Expire ID at NOW: 0, 1 when there is no such silence, -1 on failure. */
int		 silences_expire(struct silences *, const char *id,
		    int64_t now, char *err, size_t errlen);
/* Every silence with its status {state: active|pending|expired}. */
struct json_t	*silences_json(const struct silences *, int64_t now);

#endif
