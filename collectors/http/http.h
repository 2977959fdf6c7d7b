/*
 * http: the HTTP collector kind, [http "NAME"] sections.
 *
 * A target probes one URL (blackbox_exporter's HTTP probe: probe_success,
 * status code, phase timings, TLS certificate expiry), scrapes one URL
 * serving the Prometheus text format or OpenMetrics (Prometheus's scrape
 * semantics: the whole page or nothing, sample_limit, honor_labels,
 * honor_timestamps), or both.  The keys are http_collector.keys, the probe
 * metrics' catalogue http_collector.metrics (scraped metrics are the
 * target's own and have no catalogue entry).
 *
 * A run starts the probe and the scrape at once, each as one non-blocking
 * call of the HTTP client (src/http/client.h) on the run's event base, and
 * finishes when both have ended.  Its status is the scrape's when the
 * target scrapes, else the probe's: a failed probe is data (probe_success
 * 0) and, for a probe-only target, the target's health with the reason.
 * Each call is given the run's remaining time less a small margin, so a
 * slow target ends as an error of its own ("timeout waiting for the
 * response") with its probe samples kept, rather than being dropped whole
 * at the core's deadline.
 *
 * The `instance` label is host:port of the scrape URL, else of the probe
 * URL, with the scheme's default port when the URL has none (as Prometheus
 * writes it).  Secrets (bearer_token_file, password_file) are read once,
 * when the target is built, and never appear in a message.
 */
#ifndef MONITORD_HTTP_COLLECTOR_H
#define MONITORD_HTTP_COLLECTOR_H

#include "collectors/collector.h"

extern const struct collector_kind http_collector;

#endif
