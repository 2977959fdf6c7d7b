/*
 * rabbitmq_impl: the pieces of the RabbitMQ collector, for its own files
 * and its tests only.
 *
 * mgmt.c	decodes the management API's JSON into the structs below.
 *		Pure functions: no I/O, no logging; every error is a message
 *		in ERR ("items[3].messages is not a number") and -1.
 * dlq.c	finds the queues that receive dead letters from the queues,
 *		the policies and the bindings of the dead-letter exchanges.
 * canary.c	the AMQP round trip on a worker thread of its own.
 * metrics.c	the catalogue.
 * rabbitmq.c	the collector kind: keys, build, and the run that drives
 *		the HTTP calls, the canary, and turns it all into samples.
 *
 * Ownership: every string in these structs is owned by the struct (freed
 * by its _clear function).  Nothing here is shared between threads except
 * through canary.c, which says how.
 */
#ifndef MONITORD_RABBITMQ_IMPL_H
#define MONITORD_RABBITMQ_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "metric.h"

struct event_base;

/* Bounds on what a broker (or something posing as one) may send. */
#define RMQ_MAX_BODY		(16 * 1024 * 1024)	/* bytes per response */
#define RMQ_CALL_MARGIN_MS	20	/* a call times out before its run */
#define RMQ_MAX_VALUES		500000	/* JSON values per response, which
					   bounds the decoder's memory */
#define RMQ_MAX_POLICIES	10000
#define RMQ_MAX_EXCHANGES	1000	/* on dead-letter paths, per run */
#define RMQ_MAX_BINDINGS	100000	/* per exchange */
#define RMQ_MAX_KEYS		1000	/* routing keys followed per exchange */

extern const struct metric_def rabbitmq_metrics[];
const struct metric_def *rabbitmq_metric_find(const char *name);

/* One queue of /api/queues.  Counts are NaN when the API left them out (a
 * queue whose statistics have not been emitted yet, or a broker that does
 * not collect them). */
struct rmq_queue {
	char	*vhost;
	char	*name;
	char	*type;		/* "classic", "quorum", "stream"; NULL unknown */
	double	 messages;
	double	 ready;
	double	 unacked;
	double	 consumers;
	char	*dlx;		/* x-dead-letter-exchange argument, or NULL */
	char	*dlrk;		/* x-dead-letter-routing-key argument, or NULL */
	char	*policy;	/* name of the policy applied, or NULL */
	int	 policy_known;	/* 0: the API did not say which (no stats) */
};

struct rmq_queues {
	struct rmq_queue	*v;
	size_t			 n;
	size_t			 cap;
};

void	 rmq_queues_clear(struct rmq_queues *);
/* Sort by vhost then name and drop repeats (a queue listed on two pages
 * because others came or went between the requests); keeps one. */
void	 rmq_queues_sort(struct rmq_queues *);
/* After rmq_queues_sort: the queue, or NULL. */
struct rmq_queue *rmq_queues_find(const struct rmq_queues *, const char *vhost,
	    const char *name);

struct rmq_policy {
	char	*vhost;
	char	*name;
	char	*pattern;
	char	*apply_to;	/* "queues", "exchanges", "all", ... */
	int64_t	 priority;
	char	*dlx;		/* definition's dead-letter-exchange, or NULL */
	char	*dlrk;		/* dead-letter-routing-key, or NULL */
};

struct rmq_policies {
	struct rmq_policy	*v;
	size_t			 n;
};

void	 rmq_policies_clear(struct rmq_policies *);

struct rmq_binding {
	char	*dest;
	int	 to_exchange;	/* 1: destination is an exchange */
	char	*key;		/* routing key (never NULL) */
};

struct rmq_bindings {
	struct rmq_binding	*v;
	size_t			 n;
};

void	 rmq_bindings_clear(struct rmq_bindings *);

/* mgmt.c */

/* The paging fields of a /api/queues answer (paged 0: a bare array). */
struct mgmt_page {
	int	paged;
	int64_t	page;
	int64_t	page_count;
	int64_t	total_count;
};

/* Append the queues of one /api/queues answer (a paged object or a bare
 * array) to Q; more than MAX queues in Q is an error. */
int	 mgmt_parse_queues(const char *, size_t, struct rmq_queues *q,
	    size_t max, struct mgmt_page *, char *err, size_t errlen);
/* /api/policies: every policy (at most RMQ_MAX_POLICIES). */
int	 mgmt_parse_policies(const char *, size_t, struct rmq_policies *,
	    char *err, size_t errlen);
/* /api/exchanges/V/E/bindings/source: bindings to queues and exchanges. */
int	 mgmt_parse_bindings(const char *, size_t, struct rmq_bindings *,
	    char *err, size_t errlen);
/* /api/exchanges/V/E: the exchange's type into TYPE. */
int	 mgmt_parse_exchange(const char *, size_t, char *type, size_t typelen,
	    char *err, size_t errlen);
/* The "reason" (else "error") string of an error answer, made printable and
 * cut to OUTLEN; "" when the body has none. */
void	 mgmt_error_reason(const char *, size_t, char *out, size_t outlen);
/* Append S percent-encoded as one path segment or query value. */
void	 mgmt_escape(struct buf *, const char *s);

/* dlq.c */

struct dlq;

struct dlq	*dlq_new(void);
void		 dlq_free(struct dlq *);
/*
 * Each queue's dead-letter exchange and routing key: its arguments win over
 * its policy, key by key, as RabbitMQ applies them.  The policy is the one
 * the API named, or when it did not say (no statistics yet), the one
 * RabbitMQ would pick: the highest priority policy of the queue's vhost
 * that applies to queues and whose pattern matches the name, the first
 * listed among equals.  The default exchange with a routing key names the
 * dead-letter queue itself; any other exchange is to be fetched.
 */
void		 dlq_seed(struct dlq *, const struct rmq_queues *,
		    const struct rmq_policies *);
/* A dead-letter queue named in the configuration. */
void		 dlq_add_queue(struct dlq *, const char *vhost, const char *name);
/* The next exchange to fetch, marked as being fetched: its index, or -1. */
int		 dlq_next(struct dlq *, const char **vhost, const char **name);
/* The vhost and name of exchange IDX. */
void		 dlq_exchange(const struct dlq *, int idx, const char **vhost,
		    const char **name);
/*
 * What exchange IDX is: TYPE (NULL when it does not exist) and its
 * bindings, which are taken (B is left empty).  Exchanges it is bound to
 * become exchanges to fetch.  -1 with a message when that makes more than
 * RMQ_MAX_EXCHANGES.
 */
int		 dlq_set_exchange(struct dlq *, int idx, const char *type,
		    struct rmq_bindings *b, char *err, size_t errlen);
/*
 * Once every exchange is fetched: the queues dead letters reach.  Routing
 * keys are followed through direct and topic exchanges (the dead-letter
 * routing key, when one is set, else any key); fanout, headers and other
 * exchanges reach every queue bound to them.
 */
void		 dlq_resolve(struct dlq *);
size_t		 dlq_count(const struct dlq *);
void		 dlq_at(const struct dlq *, size_t, const char **vhost,
		    const char **name);
/* AMQP topic matching: '*' one word, '#' zero or more, words split on '.'. */
int		 dlq_topic_match(const char *pattern, const char *key);

/* canary.c */

struct canary_opts {
	const char	*host;
	int		 port;
	const char	*vhost;
	const char	*user;
	const char	*pass;
	const char	*queue;
};

struct canary_result {
	int	ok;
	double	rtt;		/* seconds, when ok */
	char	err[256];	/* why not, when !ok (never a secret) */
};

typedef void (*canary_cb)(const struct canary_result *, void *arg);

struct canary;

/* Load librabbitmq and start the worker thread (it connects on its first
 * request).  Strings of OPTS are copied.  NULL with a message when the
 * library cannot be loaded ("librabbitmq.so.4 could not be loaded: ...")
 * or the thread or pipe cannot be made. */
struct canary	*canary_new(struct event_base *, const struct canary_opts *,
		    char *err, size_t errlen);
/* A request is in progress (possibly abandoned, still finishing). */
int		 canary_busy(const struct canary *);
/* Ask for one round trip within TIMEOUT_MS; CB runs on the loop thread,
 * never from inside canary_start.  Only when !canary_busy(). */
void		 canary_start(struct canary *, int64_t timeout_ms, canary_cb,
		    void *arg);
/* Drop the result of the request in progress: CB will not run. */
void		 canary_abandon(struct canary *);
/* Stop the worker and close the connection.  An idle worker is joined; a
 * busy one is left to end its request (within its timeout) and free
 * everything itself, so this never waits on the network.  CB will not run.
 * NULL: no-op. */
void		 canary_free(struct canary *);

#endif
