/*
 * fuzz_rabbitmq: libFuzzer target of the RabbitMQ collector's decoders and
 * dead-letter discovery.  The input is up to three JSON bodies separated
 * by a NUL byte: a /api/queues answer, a /api/policies answer, and the
 * bindings every dead-letter exchange met is given (its type taken from
 * the first byte of the input).  Every decoder must answer or fail with a
 * message; decoded queues must have their names; discovery must end with
 * each dead-letter queue reported once.
 */
#include "config.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/rabbitmq/rabbitmq_impl.h"

static const char *const types[] = { "direct", "topic", "fanout", "headers" };

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*p = (const char *)data, *end = p + size, *part[3];
	size_t			 len[3], i, k;
	struct rmq_queues	 qs = { 0 };
	struct rmq_policies	 ps = { 0 };
	struct rmq_bindings	 bs;
	struct mgmt_page	 pg;
	struct dlq		*d;
	const char		*vhost, *name, *v2, *n2, *type;
	char			 err[512], xtype[64];
	int			 idx, nq, np;

	type = size > 0 ? types[data[0] % 4] : "fanout";
	for (i = 0; i < 3; i++) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));

		part[i] = p;
		len[i] = nul != NULL ? (size_t)(nul - p) : (size_t)(end - p);
		p = nul != NULL ? nul + 1 : end;
	}
	err[0] = '\0';
	nq = mgmt_parse_queues(part[0], len[0], &qs, 1000, &pg, err,
	    sizeof(err));
	assert(nq == 0 || err[0] != '\0');
	assert(qs.n <= 1000);
	for (i = 0; i < qs.n; i++)
		assert(qs.v[i].vhost != NULL && qs.v[i].name != NULL);
	np = mgmt_parse_policies(part[1], len[1], &ps, err, sizeof(err));
	(void)mgmt_parse_exchange(part[2], len[2], xtype, sizeof(xtype), err,
	    sizeof(err));
	mgmt_error_reason(part[2], len[2], err, sizeof(err));
	assert(strlen(err) < sizeof(err));
	for (i = 0; err[i] != '\0'; i++)
		assert((unsigned char)err[i] >= 0x20 && err[i] != 0x7f);

	if (nq == 0 && np == 0) {
		rmq_queues_sort(&qs);
		for (i = 1; i < qs.n; i++)
			assert(strcmp(qs.v[i - 1].vhost, qs.v[i].vhost) < 0 ||
			    (strcmp(qs.v[i - 1].vhost, qs.v[i].vhost) == 0 &&
			    strcmp(qs.v[i - 1].name, qs.v[i].name) < 0));
		d = dlq_new();
		dlq_seed(d, &qs, &ps);
		while ((idx = dlq_next(d, &vhost, &name)) >= 0) {
			memset(&bs, 0, sizeof(bs));
			if (mgmt_parse_bindings(part[2], len[2], &bs, err,
			    sizeof(err)) == -1) {
				rmq_bindings_clear(&bs);
				continue;
			}
			if (dlq_set_exchange(d, idx, type, &bs, err,
			    sizeof(err)) == -1) {
				rmq_bindings_clear(&bs);
				break;
			}
		}
		dlq_resolve(d);
		for (k = 1; k < dlq_count(d); k++) {
			dlq_at(d, k - 1, &vhost, &name);
			dlq_at(d, k, &v2, &n2);
			assert(strcmp(vhost, v2) != 0 || strcmp(name, n2) != 0);
		}
		dlq_free(d);
	}
	rmq_queues_clear(&qs);
	rmq_policies_clear(&ps);
	return 0;
}
