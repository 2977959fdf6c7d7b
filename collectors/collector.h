/*
 * collector: the contract between the core and each kind of collector.
 *
 * A collector kind is one const struct collector_kind in the static table of
 * collectors/registry.c: its section kind, its config keys, its metric
 * catalogue and a few callbacks.  Each config section of that kind becomes a
 * *target*.  The core (collectors/target.c, collectors/sched.c) owns
 * everything that is the same for every kind: scheduling on aligned ticks,
 * deadlines, backoff, the job and instance labels, `up`,
 * `scrape_duration_seconds`, `scrape_samples_scraped`, the target's health
 * for /api/targets and rate-limited error logging.  A collector owns only its
 * protocol.
 *
 * Threading: everything here runs on the daemon's event loop thread.  A
 * collector must never block that loop: files under /proc are fine to read,
 * sockets must be non-blocking and driven by events on run_base().
 *
 * Lifetime of a run: the core calls run(); the collector adds samples to
 * run_batch() and calls run_done() exactly once, possibly before run()
 * returns.  If the deadline passes first, the core calls cancel(), after
 * which the collector must not touch the run again (it frees whatever the
 * run held, closes its sockets, and does not call run_done()).
 *
 * Samples added before run_done(RUN_ERROR) are kept: that is how a probe
 * reports probe_success 0 or a database pg_up 0.  A collector that failed
 * part way must not leave samples it does not stand behind (a scrape that
 * failed adds nothing, as Prometheus drops a failed scrape whole).  The
 * samples of a run cancelled at its deadline are dropped.
 */
#ifndef MONITORD_COLLECTOR_H
#define MONITORD_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "metric.h"
#include "sample.h"

struct event_base;
struct run;

enum run_status {
	RUN_OK = 0,
	RUN_ERROR,	/* the target answered badly or not at all */
	RUN_TIMEOUT,	/* set by the core when the deadline passed */
};

struct collector_kind {
	const char		*kind;		/* section kind, "proc" */
	const char		*help;		/* what it collects, one line */
	const struct conf_key	*keys;		/* its own keys, { NULL }-ended */
	const struct metric_def	*metrics;	/* catalogue, { NULL }-ended */

	/* Optional cross-key checks at config load (conf_error() them). */
	void	 (*check)(const struct conf_section *, struct conf_errors *);
	/*
	 * Build a target from a validated section; may open files, must not
	 * connect.  Returns private state, or NULL with a message in err.
	 */
	void	*(*build)(const struct conf_section *, struct event_base *,
		    char *err, size_t errlen);
	/* The target's `instance` label: host:port, a URL's host, hostname. */
	const char *(*instance)(void *priv);
	void	 (*run)(void *priv, struct run *);
	void	 (*cancel)(void *priv, struct run *);
	void	 (*free)(void *priv);
};

/* The keys every collector section has, added by the core to each kind:
 * interval (default 15s), timeout (default min(interval, 10s)) and labels
 * (extra labels on every series of the target). */
extern const struct conf_key collector_common_keys[];

/* up, scrape_duration_seconds, scrape_samples_scraped: what the core adds
 * to every target's samples. */
extern const struct metric_def collector_core_metrics[];

/* Every collector kind, NULL-terminated (collectors/registry.c). */
extern const struct collector_kind *const collector_kinds[];
const struct collector_kind *collector_kind_find(const char *kind);

/* What a run may use. */
struct event_base	*run_base(struct run *);
struct batch		*run_batch(struct run *);
/* The timestamp to give samples: the scheduled tick when the run started
 * within the tolerance of it, else the start time (ms since the epoch).
 * Samples added with t == 0 get this time. */
int64_t			 run_time(const struct run *);
/* Milliseconds left before the deadline (never negative). */
int64_t			 run_remaining_ms(const struct run *);
/* Keep the job and instance labels the collector's samples carry instead
 * of moving them to exported_job and exported_instance (Prometheus's
 * honor_labels); for this run only, call it before run_done(). */
void			 run_honor_labels(struct run *);
/* Finish the run: RUN_OK, or RUN_ERROR with a one-line reason (no secrets:
 * it is shown on /api/targets and logged). */
void			 run_done(struct run *, enum run_status, const char *fmt,
			    ...) __attribute__((format(printf, 3, 4)));

#endif
