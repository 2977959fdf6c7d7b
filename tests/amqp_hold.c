/*
 * amqp_hold: a test helper, not a test.  It consumes COUNT messages from a
 * queue with manual acknowledgement and a prefetch of COUNT, acknowledges
 * none, prints "held N" once it has them, and sleeps until killed: while
 * it lives, RabbitMQ counts those messages as unacknowledged (in flight).
 *
 *	amqp_hold HOST PORT USER PASSWORD VHOST QUEUE COUNT
 *
 * Exits 1 with a message on any error.  Used by
 * tests/integration/test_rabbitmq.py.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_tcp_socket.h>

static void
die_on(amqp_rpc_reply_t r, const char *what)
{
	if (r.reply_type == AMQP_RESPONSE_NORMAL)
		return;
	if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION)
		fprintf(stderr, "amqp_hold: %s: %s\n", what,
		    amqp_error_string2(r.library_error));
	else
		fprintf(stderr, "amqp_hold: %s: failed (reply %d, method "
		    "0x%08x)\n", what, (int)r.reply_type, (unsigned)r.reply.id);
	exit(1);
}

int
main(int argc, char **argv)
{
	amqp_connection_state_t	 conn;
	amqp_socket_t		*sock;
	amqp_envelope_t		 env;
	struct timeval		 tv = { 10, 0 };
	long			 count, held = 0;

	if (argc != 8) {
		fprintf(stderr, "usage: amqp_hold host port user password "
		    "vhost queue count\n");
		return 2;
	}
	count = strtol(argv[7], NULL, 10);
	if (count <= 0 || count > 65535) {
		fprintf(stderr, "amqp_hold: bad count\n");
		return 2;
	}
	conn = amqp_new_connection();
	sock = amqp_tcp_socket_new(conn);
	if (sock == NULL || amqp_socket_open_noblock(sock, argv[1],
	    atoi(argv[2]), &tv) != AMQP_STATUS_OK) {
		fprintf(stderr, "amqp_hold: cannot connect\n");
		return 1;
	}
	amqp_set_rpc_timeout(conn, &tv);
	amqp_set_handshake_timeout(conn, &tv);
	die_on(amqp_login(conn, argv[5], 0, 131072, 0, AMQP_SASL_METHOD_PLAIN,
	    argv[3], argv[4]), "login");
	amqp_channel_open(conn, 1);
	die_on(amqp_get_rpc_reply(conn), "channel.open");
	amqp_basic_qos(conn, 1, 0, (uint16_t)count, 0);
	die_on(amqp_get_rpc_reply(conn), "basic.qos");
	amqp_basic_consume(conn, 1, amqp_cstring_bytes(argv[6]),
	    amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
	die_on(amqp_get_rpc_reply(conn), "basic.consume");
	while (held < count) {
		amqp_maybe_release_buffers(conn);
		die_on(amqp_consume_message(conn, &env, &tv, 0), "consume");
		amqp_destroy_envelope(&env);
		held++;
	}
	printf("held %ld\n", held);
	fflush(stdout);
	/* The broker counts them unacknowledged until the connection ends. */
	for (;;)
		pause();
}
