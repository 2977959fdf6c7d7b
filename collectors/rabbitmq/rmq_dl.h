/*
 * rmq_dl: librabbitmq, loaded with dlopen() when an AMQP canary needs it.
 *
 * monitord is not linked with librabbitmq: only the canary of a [rabbitmq]
 * section (canary = yes) speaks AMQP, and a daemon without one should not
 * map the library.  rmq_dl_new() asks for it by its SONAME
 * (RABBITMQ_SONAME, found by configure) and fills the table of functions
 * below, whose members have the types of <amqp.h>'s own declarations.
 *
 * Contract:
 *  - rmq_dl_new() returns the table, or NULL with "librabbitmq.so.4 could
 *    not be loaded: WHY" in ERR.  Each table holds its own reference to
 *    the library (the dynamic loader counts them).
 *  - rmq_dl_free() drops it: every connection made through the table must
 *    be destroyed first.  NULL is a no-op.
 *  - Threading: any thread; a table is read-only once made.
 */
#ifndef MONITORD_RMQ_DL_H
#define MONITORD_RMQ_DL_H

#include <stddef.h>

#include <amqp.h>
#include <amqp_tcp_socket.h>

/* Every librabbitmq function the canary calls; keep it sorted. */
#define RMQ_DL_FUNCTIONS(F)			\
	F(amqp_basic_consume)			\
	F(amqp_basic_publish)			\
	F(amqp_channel_close)			\
	F(amqp_channel_open)			\
	F(amqp_connection_close)		\
	F(amqp_consume_message)			\
	F(amqp_cstring_bytes)			\
	F(amqp_destroy_connection)		\
	F(amqp_destroy_envelope)		\
	F(amqp_error_string2)			\
	F(amqp_get_rpc_reply)			\
	F(amqp_login)				\
	F(amqp_maybe_release_buffers)		\
	F(amqp_new_connection)			\
	F(amqp_queue_declare)			\
	F(amqp_set_handshake_timeout)		\
	F(amqp_set_rpc_timeout)			\
	F(amqp_simple_wait_frame_noblock)	\
	F(amqp_socket_open_noblock)		\
	F(amqp_tcp_socket_new)

struct rmq_dl {
	void	*handle;
#define RMQ_DL_MEMBER(f)	__typeof__(f) *f;
	RMQ_DL_FUNCTIONS(RMQ_DL_MEMBER)
#undef RMQ_DL_MEMBER
};

struct rmq_dl	*rmq_dl_new(char *err, size_t errlen);
void		 rmq_dl_free(struct rmq_dl *);

#endif
