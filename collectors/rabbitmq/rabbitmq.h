/*
 * rabbitmq: the RabbitMQ collector kind, [rabbitmq "NAME"] sections.
 *
 * Per queue depth, ready and unacknowledged (in flight) messages and
 * consumers from the management API, named as the RabbitMQ Prometheus
 * plugin names them; the depth of every queue that receives dead letters,
 * found from x-dead-letter-exchange arguments, dead-letter-exchange
 * policies and the bindings of those exchanges; the broker's global message
 * counters from the Prometheus plugin when prometheus_url is set; and an
 * AMQP canary (publish, consume back, time the round trip).  The metric
 * catalogue is rabbitmq_collector.metrics, the keys rabbitmq_collector.keys.
 *
 * The management API and the plugin are read with the asynchronous HTTP
 * client on the event loop.  The canary's AMQP library blocks, so each
 * target runs it on a worker thread of its own, started at the first run,
 * which keeps its AMQP connection between runs and posts results back to
 * the loop through a pipe; free() stops it without waiting on the
 * network.  The instance label is the management URL's host:port.
 */
#ifndef MONITORD_RABBITMQ_H
#define MONITORD_RABBITMQ_H

#include "collectors/collector.h"

extern const struct collector_kind rabbitmq_collector;

#endif
