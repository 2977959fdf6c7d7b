/*
 * registry: the static table of every collector kind, and the keys that
 * every collector section shares (see collector.h).
 */
#include "config.h"

#include <string.h>

#include "collector.h"
#include "http/http.h"
#include "postgres/postgres.h"
#include "proc/proc.h"
#include "rabbitmq/rabbitmq.h"

const struct conf_key collector_common_keys[] = {
	{ "interval", CONF_DURATION, 0, "15s", NULL, 100, 24LL * 3600 * 1000,
	  "How often the target is collected." },
	{ "timeout", CONF_DURATION, 0, NULL, NULL, 10, 24LL * 3600 * 1000,
	  "How long one collection may take before it counts as failed "
	  "(default: the interval, at most 10s)." },
	{ "labels", CONF_LABELS, 0, NULL, NULL, 0, 0,
	  "Extra labels added to every series of the target, "
	  "as name=value, name=value." },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL },
};

const struct metric_def collector_core_metrics[] = {
	{ "up", METRIC_GAUGE, "",
	  "Whether the target's last collection succeeded: 1 if it did, 0 if it "
	  "failed or timed out." },
	{ "scrape_duration_seconds", METRIC_GAUGE, "",
	  "How long the target's last collection took." },
	{ "scrape_samples_scraped", METRIC_GAUGE, "",
	  "How many samples the target's last collection returned." },
	{ NULL, 0, NULL, NULL },
};

const struct collector_kind *const collector_kinds[] = {
	&proc_collector,
	&postgres_collector,
	&http_collector,
	&rabbitmq_collector,
	NULL,
};

const struct collector_kind *
collector_kind_find(const char *kind)
{
	size_t i;

	for (i = 0; collector_kinds[i] != NULL; i++)
		if (strcmp(collector_kinds[i]->kind, kind) == 0)
			return collector_kinds[i];
	return NULL;
}
