/*
 * Fuzz target for HTTP/1.1 request framing (src/http/wire.c), fed as the
 * server feeds it: in pieces whose sizes the first byte picks, some of
 * them received straight into the body buffer (wire_room).  Every complete
 * request must keep the limits and hold only NUL-terminated strings inside
 * its head; every error must carry a status and a message.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http/wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(const struct wire_msg *m)
{
	unsigned i;

	if (m->nfields > 20 || m->body.len > 4096 || m->head.data == NULL)
		abort();
	if (m->body.data != NULL && m->body.data[m->body.len] != '\0')
		abort();
	for (i = 0; i < m->nfields; i++)
		if (m->fields[i].name >= m->head.len ||
		    m->fields[i].value > m->head.len ||
		    strlen(m->head.data + m->fields[i].value) +
		    m->fields[i].value > m->head.len)
			abort();
	(void)wire_header(m, "Content-Type");
	(void)strlen(wire_target(m));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct wire_limits lim = { 1024, 20, 4096 };
	struct wire	 w;
	struct wire_msg	 m;
	const char	*in;
	char		*room;
	size_t		 off = 0, step, used, n;
	unsigned	 seed;
	int		 rc;

	if (size == 0)
		return 0;
	seed = data[0];
	in = (const char *)data + 1;
	size--;
	wire_init(&w, &lim);
	while (off < size) {
		step = seed == 0 ? size - off : 1 + (off * 7 + seed) % 61;
		if (step > size - off)
			step = size - off;
		if ((seed & 1) && (room = wire_room(&w, &n)) != NULL) {
			if (step > n)
				step = n;
			memcpy(room, in + off, step);
			rc = wire_feed(&w, room, step, &used);
		} else
			rc = wire_feed(&w, in + off, step, &used);
		if (used > step || (rc == 0 && used != step))
			abort();
		off += used;
		if (rc == -1) {
			if (w.code < 400 || w.code > 599 || w.err[0] == '\0')
				abort();
			break;
		}
		if (rc == 1) {
			wire_take(&w, &m);
			check(&m);
			wire_msg_free(&m);
		}
	}
	wire_free(&w);
	return 0;
}
