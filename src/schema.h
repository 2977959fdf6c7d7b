/*
 * schema: every section kind of monitord.conf, in one table.
 *
 * The core kinds ([server], [storage], [service], [alert], [webhook],
 * [alertmanager]) are static tables here; each collector kind brings its own
 * keys (collectors/collector.h) and gets the keys every collector shares.
 * schema_kinds_new() puts both together into the NULL-terminated table that
 * conf_load() reads; the caller keeps it (it must outlive every conf loaded
 * with it) and frees it with schema_kinds_free().
 *
 * schema_check() holds the checks that span sections: an alert's notify must
 * name a [webhook] or [alertmanager].  schema_load() is conf_load() with
 * that check run inside the load (so it also runs, and reports, when the
 * file has other errors) and an optional PromQL checker for CONF_EXPR
 * values: `monitord -t` then shows every error of the file in one run.
 */
#ifndef MONITORD_SCHEMA_H
#define MONITORD_SCHEMA_H

#include "conf.h"

struct collector_kind;

/* The core kinds, NULL-terminated, in the order the man page lists them. */
extern const struct conf_kind *const schema_core_kinds[];

/*
 * Server, storage, then every collector kind (named, not unique, its keys
 * plus collector_common_keys, its check), then service, alert, webhook,
 * alertmanager.  The daemon passes collector_kinds.  A collector kind named
 * like another kind is a programming error (abort).
 */
const struct conf_kind *const *schema_kinds_new(
		    const struct collector_kind *const *collectors);
/* The same with COMMON as the shared keys (tests, fuzzing). */
const struct conf_kind *const *schema_kinds_new_with(
		    const struct collector_kind *const *collectors,
		    const struct conf_key *common);
void		 schema_kinds_free(const struct conf_kind *const *);

void		 schema_check(const struct conf *, struct conf_errors *);

/* conf_load_with() with schema_check and EXPR (may be NULL). */
struct conf	*schema_load(const char *path, const char *text,
		    const struct conf_kind *const *kinds,
		    int (*expr)(const char *, char *, size_t),
		    struct conf_errors *);

#endif
