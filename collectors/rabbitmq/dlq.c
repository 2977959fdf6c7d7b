/*
 * dlq: which queues receive dead letters (see rabbitmq_impl.h).
 *
 * RabbitMQ dead-letters a message (rejected without requeue, expired,
 * over a length limit, over a delivery limit) to its queue's dead-letter
 * exchange, with the dead-letter routing key if one is set, else with its
 * original routing keys.  So the dead-letter queues are the queues bound,
 * directly or through exchange-to-exchange bindings, to some queue's
 * dead-letter exchange by a binding that routing key can pass.  The
 * exchange and key come from the queue's x-dead-letter-* arguments, else
 * from its policy's dead-letter-* keys.  When the original keys are in
 * play they are unknown here, and every queue bound to the exchange
 * counts: an over-estimate rather than a dead-letter queue missed.
 *
 * The work is in steps because the bindings come over the network:
 * dlq_seed (queues and policies give the exchanges), then dlq_next and
 * dlq_set_exchange for each exchange met, then dlq_resolve.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "rabbitmq_impl.h"
#include "xmalloc.h"

/* The backtracking a policy pattern may do per queue name. */
#define PATTERN_MATCH_LIMIT	100000
#define HASH_SLOTS		(4 * RMQ_MAX_EXCHANGES)	/* at most a quarter full */

enum dlx_state {
	DLX_NEW,
	DLX_FETCHING,
	DLX_DONE,
};

struct dlx {
	char			*vhost;
	char			*name;
	enum dlx_state		 state;
	char			*type;		/* NULL: it does not exist */
	struct rmq_bindings	 b;
	int			 any;		/* any routing key may arrive */
	char			**keys;		/* else these keys */
	size_t			 nkeys;
};

struct dlq_queue {
	char	*vhost;
	char	*name;
};

struct dlq {
	struct dlx		*x;
	size_t			 nx;
	int			 slot[HASH_SLOTS];	/* index + 1; 0 empty */
	struct dlq_queue	*q;
	size_t			 nq;
	size_t			 capq;
	int			 resolved;
};

struct dlq *
dlq_new(void)
{
	struct dlq *d = xcalloc(1, sizeof(*d));

	d->x = xcalloc(RMQ_MAX_EXCHANGES, sizeof(*d->x));
	return d;
}

void
dlq_free(struct dlq *d)
{
	size_t i, k;

	if (d == NULL)
		return;
	for (i = 0; i < d->nx; i++) {
		free(d->x[i].vhost);
		free(d->x[i].name);
		free(d->x[i].type);
		rmq_bindings_clear(&d->x[i].b);
		for (k = 0; k < d->x[i].nkeys; k++)
			free(d->x[i].keys[k]);
		free(d->x[i].keys);
	}
	free(d->x);
	for (i = 0; i < d->nq; i++) {
		free(d->q[i].vhost);
		free(d->q[i].name);
	}
	free(d->q);
	free(d);
}

static unsigned
hash2(const char *a, const char *b)
{
	unsigned h = 2166136261u;

	for (; *a != '\0'; a++)
		h = (h ^ (unsigned char)*a) * 16777619u;
	h = (h ^ 0xff) * 16777619u;	/* a byte no name has between them */
	for (; *b != '\0'; b++)
		h = (h ^ (unsigned char)*b) * 16777619u;
	return h;
}

static struct dlx *
dlx_find(struct dlq *d, const char *vhost, const char *name, int add)
{
	unsigned	 i = hash2(vhost, name) % HASH_SLOTS;
	struct dlx	*x;

	for (; d->slot[i] != 0; i = (i + 1) % HASH_SLOTS) {
		x = &d->x[d->slot[i] - 1];
		if (strcmp(x->vhost, vhost) == 0 && strcmp(x->name, name) == 0)
			return x;
	}
	if (!add || d->nx == RMQ_MAX_EXCHANGES)
		return NULL;
	x = &d->x[d->nx++];
	d->slot[i] = (int)d->nx;
	x->vhost = xstrdup(vhost);
	x->name = xstrdup(name);
	return x;
}

/* Returns 1 when the set grew. */
static int
dlx_add_key(struct dlx *x, const char *key)
{
	size_t i;

	if (x->any)
		return 0;
	if (key == NULL || x->nkeys == RMQ_MAX_KEYS) {
		x->any = 1;
		return 1;
	}
	for (i = 0; i < x->nkeys; i++)
		if (strcmp(x->keys[i], key) == 0)
			return 0;
	x->keys = xreallocarray(x->keys, x->nkeys + 1, sizeof(*x->keys));
	x->keys[x->nkeys++] = xstrdup(key);
	return 1;
}

void
dlq_add_queue(struct dlq *d, const char *vhost, const char *name)
{
	if (d->nq == d->capq) {
		d->capq = d->capq ? d->capq * 2 : 16;
		d->q = xreallocarray(d->q, d->capq, sizeof(*d->q));
	}
	d->q[d->nq].vhost = xstrdup(vhost);
	d->q[d->nq].name = xstrdup(name);
	d->nq++;
}

static int
applies_to(const struct rmq_policy *p, const struct rmq_queue *q)
{
	const char *a = p->apply_to;

	if (strcmp(a, "all") == 0 || strcmp(a, "queues") == 0)
		return 1;
	if (q->type == NULL)
		return 0;
	return (strcmp(a, "classic_queues") == 0 &&
	    strcmp(q->type, "classic") == 0) ||
	    (strcmp(a, "quorum_queues") == 0 &&
	    strcmp(q->type, "quorum") == 0) ||
	    (strcmp(a, "streams") == 0 && strcmp(q->type, "stream") == 0);
}

/* Compiled policy patterns, made when the first queue needs them. */
struct patterns {
	pcre2_code		**re;
	int			 *tried;
	pcre2_match_data	 *md;
	pcre2_match_context	 *mc;
};

static int
pattern_match(struct patterns *pt, const struct rmq_policies *ps, size_t i,
    const char *name)
{
	int		err;
	PCRE2_SIZE	off;

	if (!pt->tried[i]) {
		pt->tried[i] = 1;
		/* Erlang's re, which RabbitMQ uses, is PCRE in byte mode. */
		pt->re[i] = pcre2_compile((PCRE2_SPTR)ps->v[i].pattern,
		    PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
	}
	if (pt->re[i] == NULL)
		return 0;
	if (pt->md == NULL) {
		pt->md = pcre2_match_data_create(1, NULL);
		pt->mc = pcre2_match_context_create(NULL);
		pcre2_set_match_limit(pt->mc, PATTERN_MATCH_LIMIT);
	}
	return pcre2_match(pt->re[i], (PCRE2_SPTR)name, strlen(name), 0, 0,
	    pt->md, pt->mc) >= 0;
}

static const struct rmq_policy *
queue_policy(const struct rmq_queue *q, const struct rmq_policies *ps,
    struct patterns *pt)
{
	const struct rmq_policy	*best = NULL;
	size_t			 i;

	if (q->policy_known) {
		if (q->policy == NULL)
			return NULL;
		for (i = 0; i < ps->n; i++)
			if (strcmp(ps->v[i].vhost, q->vhost) == 0 &&
			    strcmp(ps->v[i].name, q->policy) == 0)
				return &ps->v[i];
		return NULL;
	}
	for (i = 0; i < ps->n; i++) {
		const struct rmq_policy *p = &ps->v[i];

		if (strcmp(p->vhost, q->vhost) != 0 || !applies_to(p, q))
			continue;
		if (best != NULL && p->priority <= best->priority)
			continue;
		if (pattern_match(pt, ps, i, q->name))
			best = p;
	}
	return best;
}

void
dlq_seed(struct dlq *d, const struct rmq_queues *qs,
    const struct rmq_policies *ps)
{
	struct patterns	 pt;
	size_t		 i;

	memset(&pt, 0, sizeof(pt));
	pt.re = xcalloc(ps->n + 1, sizeof(*pt.re));
	pt.tried = xcalloc(ps->n + 1, sizeof(*pt.tried));
	for (i = 0; i < qs->n; i++) {
		const struct rmq_queue	*q = &qs->v[i];
		const struct rmq_policy	*p = NULL;
		const char		*dlx = q->dlx, *dlrk = q->dlrk;
		struct dlx		*x;

		if (dlx == NULL || dlrk == NULL)
			p = queue_policy(q, ps, &pt);
		if (dlx == NULL && p != NULL)
			dlx = p->dlx;
		if (dlrk == NULL && p != NULL)
			dlrk = p->dlrk;
		if (dlx == NULL)
			continue;
		if (*dlx == '\0') {
			/* The default exchange routes a key to the queue of
			 * that name; without one, the original keys go
			 * wherever they went, which is not known here. */
			if (dlrk != NULL)
				dlq_add_queue(d, q->vhost, dlrk);
			continue;
		}
		if ((x = dlx_find(d, q->vhost, dlx, 1)) != NULL)
			dlx_add_key(x, dlrk);
	}
	for (i = 0; i < ps->n; i++)
		pcre2_code_free(pt.re[i]);
	free(pt.re);
	free(pt.tried);
	pcre2_match_data_free(pt.md);
	pcre2_match_context_free(pt.mc);
}

int
dlq_next(struct dlq *d, const char **vhost, const char **name)
{
	size_t i;

	for (i = 0; i < d->nx; i++)
		if (d->x[i].state == DLX_NEW) {
			d->x[i].state = DLX_FETCHING;
			*vhost = d->x[i].vhost;
			*name = d->x[i].name;
			return (int)i;
		}
	return -1;
}

void
dlq_exchange(const struct dlq *d, int idx, const char **vhost,
    const char **name)
{
	*vhost = d->x[idx].vhost;
	*name = d->x[idx].name;
}

int
dlq_set_exchange(struct dlq *d, int idx, const char *type,
    struct rmq_bindings *b, char *err, size_t errlen)
{
	struct dlx	*x = &d->x[idx];
	size_t		 i;
	char		*vhost = x->vhost;

	x->state = DLX_DONE;
	free(x->type);
	x->type = type != NULL ? xstrdup(type) : NULL;
	rmq_bindings_clear(&x->b);
	x->b = *b;
	memset(b, 0, sizeof(*b));
	for (i = 0; i < x->b.n; i++) {
		if (!x->b.v[i].to_exchange)
			continue;
		/* d->x never moves (allocated at full size): x stays. */
		if (dlx_find(d, vhost, x->b.v[i].dest, 1) == NULL) {
			snprintf(err, errlen, "more than %d exchanges on "
			    "dead-letter paths", RMQ_MAX_EXCHANGES);
			return -1;
		}
	}
	return 0;
}

/* Whether a message with routing key KEY passes binding key BKEY of an
 * exchange of TYPE. */
static int
binding_passes(const char *type, const char *bkey, const char *key)
{
	if (strcmp(type, "direct") == 0)
		return strcmp(bkey, key) == 0;
	if (strcmp(type, "topic") == 0)
		return dlq_topic_match(bkey, key);
	return 1;	/* fanout, headers, plugins' types: assume it may */
}

/* Whether any key that reaches X passes binding BI. */
static int
dlx_passes(const struct dlx *x, const struct rmq_binding *bi)
{
	size_t k;

	if (x->any)
		return 1;
	for (k = 0; k < x->nkeys; k++)
		if (binding_passes(x->type, bi->key, x->keys[k]))
			return 1;
	return 0;
}

static int
dlq_queue_cmp(const void *a, const void *b)
{
	const struct dlq_queue	*x = a, *y = b;
	int			 c = strcmp(x->vhost, y->vhost);

	return c != 0 ? c : strcmp(x->name, y->name);
}

void
dlq_resolve(struct dlq *d)
{
	size_t	i, j, k, o, round;
	int	changed = 1;

	/* Keys flow along exchange-to-exchange bindings until nothing new
	 * arrives anywhere; each round adds a key or ends, so nx * keys
	 * rounds at most, and in practice two or three. */
	for (round = 0; changed && round <= d->nx * (RMQ_MAX_KEYS + 1);
	    round++) {
		changed = 0;
		for (i = 0; i < d->nx; i++) {
			struct dlx *x = &d->x[i];

			if (x->state != DLX_DONE || x->type == NULL)
				continue;
			for (j = 0; j < x->b.n; j++) {
				struct rmq_binding	*bi = &x->b.v[j];
				struct dlx		*y;

				if (!bi->to_exchange ||
				    (y = dlx_find(d, x->vhost, bi->dest, 0)) ==
				    NULL || y->any)
					continue;
				if (x->any) {
					y->any = 1;
					changed = 1;
					continue;
				}
				for (k = 0; k < x->nkeys; k++)
					if (binding_passes(x->type, bi->key,
					    x->keys[k]))
						changed |= dlx_add_key(y,
						    x->keys[k]);
			}
		}
	}
	for (i = 0; i < d->nx; i++) {
		struct dlx *x = &d->x[i];

		if (x->state != DLX_DONE || x->type == NULL)
			continue;
		for (j = 0; j < x->b.n; j++)
			if (!x->b.v[j].to_exchange && dlx_passes(x, &x->b.v[j]))
				dlq_add_queue(d, x->vhost, x->b.v[j].dest);
	}
	if (d->nq > 1) {
		qsort(d->q, d->nq, sizeof(*d->q), dlq_queue_cmp);
		for (i = 1, o = 1; i < d->nq; i++) {
			if (dlq_queue_cmp(&d->q[o - 1], &d->q[i]) == 0) {
				free(d->q[i].vhost);
				free(d->q[i].name);
				continue;
			}
			d->q[o++] = d->q[i];
		}
		d->nq = o;
	}
	d->resolved = 1;
}

size_t
dlq_count(const struct dlq *d)
{
	return d->nq;
}

void
dlq_at(const struct dlq *d, size_t i, const char **vhost, const char **name)
{
	*vhost = d->q[i].vhost;
	*name = d->q[i].name;
}

/*
 * Words are separated by '.'; '*' matches exactly one word, '#' zero or
 * more.  P and K are the rest of the pattern and of the key, NULL when no
 * word is left.  '#' backtracks; a pattern with many of them against a long
 * key could take exponential time, so a step budget bounds the work and,
 * spent, counts as a match (an over-estimate, as elsewhere here).
 */
static int
topic_match_words(const char *p, const char *k, int *budget)
{
	const char	*pe, *ke, *pn, *kn;
	size_t		 pl, kl;

	if (--*budget < 0)
		return 1;
	if (p == NULL)
		return k == NULL;
	pe = strchr(p, '.');
	pl = pe != NULL ? (size_t)(pe - p) : strlen(p);
	pn = pe != NULL ? pe + 1 : NULL;
	if (pl == 1 && *p == '#') {
		if (pn == NULL)
			return 1;
		/* '#' takes no word, then one more each turn. */
		for (;;) {
			if (topic_match_words(pn, k, budget))
				return 1;
			if (k == NULL || *budget < 0)
				return *budget < 0;
			ke = strchr(k, '.');
			k = ke != NULL ? ke + 1 : NULL;
		}
	}
	if (k == NULL)
		return 0;
	ke = strchr(k, '.');
	kl = ke != NULL ? (size_t)(ke - k) : strlen(k);
	kn = ke != NULL ? ke + 1 : NULL;
	if (!(pl == 1 && *p == '*') && (pl != kl || memcmp(p, k, pl) != 0))
		return 0;
	return topic_match_words(pn, kn, budget);
}

int
dlq_topic_match(const char *pattern, const char *key)
{
	int budget = 10000;

	return topic_match_words(*pattern != '\0' ? pattern : NULL,
	    *key != '\0' ? key : NULL, &budget);
}
