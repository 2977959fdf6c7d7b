/*
 * metrics: the catalogue of every metric the RabbitMQ collector produces,
 * with the reason each one exists.  HELP lines, monitord-metrics(7) and its
 * test read this table.  Names are the RabbitMQ Prometheus plugin's where
 * it has the metric, so its dashboards and alert rules work unchanged; the
 * rabbitmq_global_* counters are copied from the plugin's page as it
 * serves them, and only those listed here are kept.
 */
#include "config.h"

#include <string.h>

#include "rabbitmq_impl.h"

#define G	METRIC_GAUGE
#define C	METRIC_COUNTER

/* A counter of the plugin's /metrics, by protocol and queue type. */
#define GLOBAL_PQ(what, help) \
	{ "rabbitmq_global_messages_" what "_total", C, "protocol queue_type", \
	  help }
#define GLOBAL_P(what, help) \
	{ "rabbitmq_global_messages_" what "_total", C, "protocol", help }
#define GLOBAL_DL(what, help) \
	{ "rabbitmq_global_messages_dead_lettered_" what "_total", C, \
	  "queue_type dead_letter_strategy", help }

const struct metric_def rabbitmq_metrics[] = {
	{ "rabbitmq_queue_messages", G, "vhost queue",
	  "Messages in the queue, ready and unacknowledged together. "
	  "A queue that only grows has consumers that are too slow, stuck or "
	  "gone: the saturation of a message flow." },
	{ "rabbitmq_queue_messages_ready", G, "vhost queue",
	  "Messages in the queue waiting to be delivered to a consumer. "
	  "The backlog: how far consumers are behind producers." },
	{ "rabbitmq_queue_messages_unacked", G, "vhost queue",
	  "Messages delivered to consumers and not yet acknowledged: the "
	  "messages in flight. "
	  "Many for long means consumers that hang or forget to acknowledge; "
	  "they are redelivered when the consumer's channel closes." },
	{ "rabbitmq_queue_consumers", G, "vhost queue",
	  "Consumers subscribed to the queue. "
	  "Zero on a queue that should be worked means its workers are down, "
	  "and its messages will pile up." },
	{ "rabbitmq_queues", G, "",
	  "Queues listed by the management API in the vhosts watched. "
	  "A steady climb is usually a client that declares a queue per "
	  "connection and never deletes it, which costs the broker memory." },
	{ "rabbitmq_dead_letter_queue_messages", G, "vhost queue",
	  "Messages in a queue that receives dead letters: messages rejected "
	  "without requeue, expired or over a length limit elsewhere. "
	  "Each one is work that failed; found from x-dead-letter-exchange "
	  "arguments, dead-letter-exchange policies, the bindings of those "
	  "exchanges and the dead_letter_queue key." },
	{ "rabbitmq_dead_letter_queues", G, "",
	  "Queues found to receive dead letters. "
	  "Shows the discovery works: zero where dead-letter queues exist "
	  "means their depth is not being watched." },
	{ "rabbitmq_prometheus_up", G, "",
	  "Whether the last read of the RabbitMQ Prometheus plugin's page "
	  "(prometheus_url) succeeded: 1 or 0. "
	  "Its failure does not fail the target, so this tells why the "
	  "rabbitmq_global counters stopped." },
	{ "rabbitmq_canary_up", G, "",
	  "Whether the last AMQP canary succeeded: connect, publish a message "
	  "and consume it back within the timeout, 1 or 0. "
	  "The management API can answer while AMQP clients cannot work; "
	  "this is what they see." },
	{ "rabbitmq_canary_round_trip_seconds", G, "",
	  "Time from publishing the canary message to receiving it back, in "
	  "the last successful canary. "
	  "A broker under memory or disk alarm, or overloaded, shows here "
	  "first as latency every producer and consumer pays." },
	{ "rabbitmq_canary_errors_total", C, "",
	  "Canary attempts that failed since monitord started. "
	  "Counts failures between two collections too, which a gauge "
	  "would miss." },
	GLOBAL_PQ("acknowledged",
	    "Messages consumers acknowledged, from the Prometheus plugin. "
	    "The rate is the throughput of consumers that acknowledge."),
	GLOBAL_P("confirmed",
	    "Messages the broker confirmed to publishers, from the Prometheus "
	    "plugin. "
	    "Falling behind received_confirm means publishers wait."),
	GLOBAL_DL("confirmed",
	    "Dead-lettered messages confirmed by their target queue "
	    "(at-least-once dead lettering of quorum queues), from the "
	    "Prometheus plugin. "
	    "The rate at which failed messages safely reach dead-letter "
	    "queues."),
	GLOBAL_DL("delivery_limit",
	    "Messages dead-lettered because they were redelivered more than "
	    "the queue's delivery limit, from the Prometheus plugin. "
	    "A consumer that keeps failing on the same messages."),
	GLOBAL_DL("expired",
	    "Messages dead-lettered because their time to live ran out, from "
	    "the Prometheus plugin. "
	    "Consumers too slow for the message TTL."),
	GLOBAL_DL("maxlen",
	    "Messages dead-lettered because their queue was over its length "
	    "limit, from the Prometheus plugin. "
	    "Producers outrun consumers and the overflow is dropped or "
	    "rerouted."),
	GLOBAL_DL("rejected",
	    "Messages dead-lettered because a consumer rejected them without "
	    "requeue, from the Prometheus plugin. "
	    "The rate of messages the application could not process."),
	GLOBAL_PQ("delivered_consume_auto_ack",
	    "Messages delivered to consumers in automatic acknowledgement "
	    "mode, from the Prometheus plugin. "
	    "Such messages are lost if the consumer dies while working."),
	GLOBAL_PQ("delivered_consume_manual_ack",
	    "Messages delivered to consumers that acknowledge them, from the "
	    "Prometheus plugin. "
	    "The delivery rate of the safe consumers."),
	GLOBAL_PQ("delivered_get_auto_ack",
	    "Messages fetched with basic.get in automatic acknowledgement "
	    "mode, from the Prometheus plugin. "
	    "Polling clients cost the broker more than consumers do."),
	GLOBAL_PQ("delivered_get_manual_ack",
	    "Messages fetched with basic.get and acknowledged later, from the "
	    "Prometheus plugin. "
	    "Polling clients cost the broker more than consumers do."),
	GLOBAL_PQ("delivered",
	    "Messages delivered to clients in any way, from the Prometheus "
	    "plugin. "
	    "The rate of the RED method for the queue as a whole."),
	GLOBAL_PQ("get_empty",
	    "basic.get calls that found the queue empty, from the Prometheus "
	    "plugin. "
	    "A high rate is a client polling in a busy loop."),
	GLOBAL_P("received_confirm",
	    "Messages received from publishers that asked for confirms, from "
	    "the Prometheus plugin. "
	    "Compare with confirmed to see confirms lagging."),
	GLOBAL_P("received",
	    "Messages received from publishers, from the Prometheus plugin. "
	    "The incoming rate of the RED method."),
	GLOBAL_PQ("redelivered",
	    "Messages delivered again after a consumer failed to acknowledge "
	    "them, from the Prometheus plugin. "
	    "Consumers that crash or reject with requeue."),
	GLOBAL_P("routed",
	    "Messages routed to at least one queue, from the Prometheus "
	    "plugin. "
	    "Less than received means messages published to nowhere."),
	GLOBAL_P("unroutable_dropped",
	    "Messages that matched no queue and were dropped, from the "
	    "Prometheus plugin. "
	    "Lost messages: a missing binding or a wrong routing key, one of "
	    "the errors of the RED method."),
	GLOBAL_P("unroutable_returned",
	    "Messages that matched no queue and were returned to a publisher "
	    "that set mandatory, from the Prometheus plugin. "
	    "A missing binding or a wrong routing key the publisher is told "
	    "about."),
	{ NULL, 0, NULL, NULL },
};

const struct metric_def *
rabbitmq_metric_find(const char *name)
{
	size_t i;

	for (i = 0; rabbitmq_metrics[i].name != NULL; i++)
		if (strcmp(rabbitmq_metrics[i].name, name) == 0)
			return &rabbitmq_metrics[i];
	return NULL;
}
