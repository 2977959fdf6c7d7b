/*
 * mgmt: decoding what the RabbitMQ management API answers (see
 * rabbitmq_impl.h).
 *
 * The answers come from the network, so nothing is assumed: a body that is
 * not JSON, is cut short, has fields of the wrong type or far too many
 * values gives an error that says where, never a crash.  Before jansson
 * builds a tree, a single pass counts the values the body can hold, so a
 * 16 MB array of zeros cannot turn into gigabytes of nodes.  Fields the
 * collector does not use are not looked at; fields it uses must have the
 * type RabbitMQ gives them, or the answer is refused.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rabbitmq_impl.h"
#include "xmalloc.h"

static void
printable(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			*s = '?';
}

/*
 * An upper bound on the number of JSON values in the body: every value but
 * the first follows a '[', ',' or ':' outside a string.
 */
static size_t
json_values_bound(const char *p, size_t len)
{
	size_t	i, n = 1;
	int	in_str = 0;

	for (i = 0; i < len; i++) {
		char c = p[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"')
			in_str = 1;
		else if (c == '[' || c == ',' || c == ':')
			n++;
	}
	return n;
}

static json_t *
load(const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*root;
	size_t		 n;

	if ((n = json_values_bound(body, len)) > RMQ_MAX_VALUES) {
		snprintf(err, errlen, "more than %d JSON values in the answer",
		    RMQ_MAX_VALUES);
		return NULL;
	}
	root = json_loadb(body, len, 0, &jerr);
	if (root == NULL) {
		printable(jerr.text);
		snprintf(err, errlen, "invalid JSON at line %d column %d: %s",
		    jerr.line, jerr.column, jerr.text);
	}
	return root;
}

/* The string member KEY of O: 1 and *OUT when it is one, 0 when absent or
 * null, -1 with a message when it is something else. */
static int
get_str(json_t *o, const char *key, const char *where, const char **out,
    char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "%s.%s is not a string", where, key);
		return -1;
	}
	*out = json_string_value(v);
	return 1;
}

static int
need_str(json_t *o, const char *key, const char *where, const char **out,
    char *err, size_t errlen)
{
	int r = get_str(o, key, where, out, err, errlen);

	if (r == 0) {
		snprintf(err, errlen, "%s has no %s", where, key);
		return -1;
	}
	return r;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* A count: NaN when absent or null. */
static int
get_count(json_t *o, const char *key, const char *where, double *out,
    char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	*out = NAN;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_number(v) || !isfinite(json_number_value(v))) {
		snprintf(err, errlen, "%s.%s is not a number", where, key);
		return -1;
	}
	*out = json_number_value(v);
	return 0;
}

static int
get_int(json_t *o, const char *key, const char *where, int64_t *out,
    char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || !json_is_integer(v)) {
		snprintf(err, errlen, "%s%s%s is %s", where, *where ? "." : "",
		    key, v == NULL ? "missing" : "not an integer");
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

static void
queue_clear(struct rmq_queue *q)
{
	free(q->vhost);
	free(q->name);
	free(q->type);
	free(q->dlx);
	free(q->dlrk);
	free(q->policy);
}

void
rmq_queues_clear(struct rmq_queues *qs)
{
	size_t i;

	for (i = 0; i < qs->n; i++)
		queue_clear(&qs->v[i]);
	free(qs->v);
	memset(qs, 0, sizeof(*qs));
}

static int
queue_cmp(const void *a, const void *b)
{
	const struct rmq_queue	*x = a, *y = b;
	int			 c = strcmp(x->vhost, y->vhost);

	return c != 0 ? c : strcmp(x->name, y->name);
}

void
rmq_queues_sort(struct rmq_queues *qs)
{
	size_t i, o;

	if (qs->n < 2)
		return;
	qsort(qs->v, qs->n, sizeof(*qs->v), queue_cmp);
	for (i = 1, o = 1; i < qs->n; i++) {
		if (queue_cmp(&qs->v[o - 1], &qs->v[i]) == 0) {
			queue_clear(&qs->v[i]);
			continue;
		}
		qs->v[o++] = qs->v[i];
	}
	qs->n = o;
}

struct rmq_queue *
rmq_queues_find(const struct rmq_queues *qs, const char *vhost,
    const char *name)
{
	struct rmq_queue key;

	if (qs->n == 0)
		return NULL;
	memset(&key, 0, sizeof(key));
	key.vhost = (char *)(uintptr_t)vhost;
	key.name = (char *)(uintptr_t)name;
	return bsearch(&key, qs->v, qs->n, sizeof(*qs->v), queue_cmp);
}

static int
parse_queue(json_t *item, const char *where, struct rmq_queue *q, char *err,
    size_t errlen)
{
	const char	*vhost, *name, *type, *dlx = NULL, *dlrk = NULL, *pol;
	json_t		*args, *pv;
	char		 w[96];

	memset(q, 0, sizeof(*q));
	if (!json_is_object(item)) {
		snprintf(err, errlen, "%s is not an object", where);
		return -1;
	}
	if (need_str(item, "name", where, &name, err, errlen) == -1 ||
	    need_str(item, "vhost", where, &vhost, err, errlen) == -1 ||
	    get_str(item, "type", where, &type, err, errlen) == -1)
		return -1;
	if (get_count(item, "messages", where, &q->messages, err, errlen) ||
	    get_count(item, "messages_ready", where, &q->ready, err, errlen) ||
	    get_count(item, "messages_unacknowledged", where, &q->unacked,
	    err, errlen) ||
	    get_count(item, "consumers", where, &q->consumers, err, errlen))
		return -1;
	args = json_object_get(item, "arguments");
	if (args != NULL && !json_is_null(args)) {
		/* RabbitMQ shows an empty argument table as [] */
		if (json_is_array(args) && json_array_size(args) == 0)
			args = NULL;
		else if (!json_is_object(args)) {
			snprintf(err, errlen, "%s.arguments is not an object",
			    where);
			return -1;
		}
	}
	if (args != NULL && !json_is_null(args)) {
		snprintf(w, sizeof(w), "%s.arguments", where);
		if (get_str(args, "x-dead-letter-exchange", w, &dlx, err,
		    errlen) == -1 ||
		    get_str(args, "x-dead-letter-routing-key", w, &dlrk, err,
		    errlen) == -1)
			return -1;
	}
	pv = json_object_get(item, "policy");
	if (pv != NULL) {
		if (get_str(item, "policy", where, &pol, err, errlen) == -1)
			return -1;
		q->policy_known = 1;
		q->policy = dup_or_null(pol);
	}
	q->vhost = xstrdup(vhost);
	q->name = xstrdup(name);
	q->type = dup_or_null(type);
	q->dlx = dup_or_null(dlx);
	q->dlrk = dup_or_null(dlrk);
	return 0;
}

int
mgmt_parse_queues(const char *body, size_t len, struct rmq_queues *qs,
    size_t max, struct mgmt_page *pg, char *err, size_t errlen)
{
	json_t	*root, *items;
	size_t	 i, n;
	char	 where[64];
	int	 rc = -1;

	memset(pg, 0, sizeof(*pg));
	if ((root = load(body, len, err, errlen)) == NULL)
		return -1;
	if (json_is_array(root))
		items = root;
	else {
		pg->paged = 1;
		items = json_object_get(root, "items");
		if (items == NULL || !json_is_array(items)) {
			snprintf(err, errlen, "items is %s", items == NULL ?
			    "missing" : "not an array");
			goto out;
		}
		if (get_int(root, "page", "", &pg->page, err, errlen) == -1 ||
		    get_int(root, "page_count", "", &pg->page_count, err,
		    errlen) == -1 ||
		    get_int(root, "total_count", "", &pg->total_count, err,
		    errlen) == -1)
			goto out;
		if (pg->total_count > (int64_t)max) {
			snprintf(err, errlen, "%lld queues, more than max_queues "
			    "(%zu)", (long long)pg->total_count, max);
			goto out;
		}
	}
	n = json_array_size(items);
	for (i = 0; i < n; i++) {
		if (qs->n >= max) {
			snprintf(err, errlen, "more than max_queues (%zu) "
			    "queues", max);
			goto out;
		}
		if (qs->n == qs->cap) {
			qs->cap = qs->cap ? qs->cap * 2 : 64;
			qs->v = xreallocarray(qs->v, qs->cap, sizeof(*qs->v));
		}
		snprintf(where, sizeof(where), "items[%zu]", i);
		if (parse_queue(json_array_get(items, i), where, &qs->v[qs->n],
		    err, errlen) == -1)
			goto out;
		qs->n++;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

void
rmq_policies_clear(struct rmq_policies *ps)
{
	size_t i;

	for (i = 0; i < ps->n; i++) {
		free(ps->v[i].vhost);
		free(ps->v[i].name);
		free(ps->v[i].pattern);
		free(ps->v[i].apply_to);
		free(ps->v[i].dlx);
		free(ps->v[i].dlrk);
	}
	free(ps->v);
	memset(ps, 0, sizeof(*ps));
}

static int
parse_policy(json_t *item, const char *where, struct rmq_policy *p, char *err,
    size_t errlen)
{
	const char	*vhost, *name, *pattern, *apply, *dlx = NULL, *dlrk = NULL;
	json_t		*def, *prio;
	char		 w[96];

	if (!json_is_object(item)) {
		snprintf(err, errlen, "%s is not an object", where);
		return -1;
	}
	if (need_str(item, "vhost", where, &vhost, err, errlen) == -1 ||
	    need_str(item, "name", where, &name, err, errlen) == -1 ||
	    need_str(item, "pattern", where, &pattern, err, errlen) == -1 ||
	    get_str(item, "apply-to", where, &apply, err, errlen) == -1)
		return -1;
	prio = json_object_get(item, "priority");
	if (prio != NULL && !json_is_integer(prio)) {
		snprintf(err, errlen, "%s.priority is not an integer", where);
		return -1;
	}
	def = json_object_get(item, "definition");
	if (def == NULL || !json_is_object(def)) {
		snprintf(err, errlen, "%s.definition is %s", where,
		    def == NULL ? "missing" : "not an object");
		return -1;
	}
	snprintf(w, sizeof(w), "%s.definition", where);
	if (get_str(def, "dead-letter-exchange", w, &dlx, err, errlen) == -1 ||
	    get_str(def, "dead-letter-routing-key", w, &dlrk, err,
	    errlen) == -1)
		return -1;
	p->vhost = xstrdup(vhost);
	p->name = xstrdup(name);
	p->pattern = xstrdup(pattern);
	p->apply_to = xstrdup(apply != NULL ? apply : "all");
	p->priority = prio != NULL ? json_integer_value(prio) : 0;
	p->dlx = dup_or_null(dlx);
	p->dlrk = dup_or_null(dlrk);
	return 0;
}

int
mgmt_parse_policies(const char *body, size_t len, struct rmq_policies *ps,
    char *err, size_t errlen)
{
	json_t	*root;
	size_t	 i, n;
	char	 where[64];
	int	 rc = -1;

	if ((root = load(body, len, err, errlen)) == NULL)
		return -1;
	if (!json_is_array(root)) {
		snprintf(err, errlen, "not a JSON array");
		goto out;
	}
	if ((n = json_array_size(root)) > RMQ_MAX_POLICIES) {
		snprintf(err, errlen, "more than %d policies", RMQ_MAX_POLICIES);
		goto out;
	}
	ps->v = xreallocarray(ps->v, ps->n + n + 1, sizeof(*ps->v));
	for (i = 0; i < n; i++) {
		snprintf(where, sizeof(where), "[%zu]", i);
		if (parse_policy(json_array_get(root, i), where, &ps->v[ps->n],
		    err, errlen) == -1)
			goto out;
		ps->n++;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

void
rmq_bindings_clear(struct rmq_bindings *bs)
{
	size_t i;

	for (i = 0; i < bs->n; i++) {
		free(bs->v[i].dest);
		free(bs->v[i].key);
	}
	free(bs->v);
	memset(bs, 0, sizeof(*bs));
}

int
mgmt_parse_bindings(const char *body, size_t len, struct rmq_bindings *bs,
    char *err, size_t errlen)
{
	json_t		*root, *item;
	size_t		 i, n;
	const char	*dest, *dtype, *key;
	char		 where[64];
	int		 rc = -1;

	if ((root = load(body, len, err, errlen)) == NULL)
		return -1;
	if (!json_is_array(root)) {
		snprintf(err, errlen, "not a JSON array");
		goto out;
	}
	if ((n = json_array_size(root)) > RMQ_MAX_BINDINGS) {
		snprintf(err, errlen, "more than %d bindings", RMQ_MAX_BINDINGS);
		goto out;
	}
	bs->v = xreallocarray(bs->v, bs->n + n + 1, sizeof(*bs->v));
	for (i = 0; i < n; i++) {
		item = json_array_get(root, i);
		snprintf(where, sizeof(where), "[%zu]", i);
		if (!json_is_object(item)) {
			snprintf(err, errlen, "%s is not an object", where);
			goto out;
		}
		if (need_str(item, "destination", where, &dest, err,
		    errlen) == -1 ||
		    need_str(item, "destination_type", where, &dtype, err,
		    errlen) == -1 ||
		    get_str(item, "routing_key", where, &key, err, errlen) == -1)
			goto out;
		if (strcmp(dtype, "queue") != 0 &&
		    strcmp(dtype, "exchange") != 0)
			continue;
		bs->v[bs->n].dest = xstrdup(dest);
		bs->v[bs->n].to_exchange = dtype[0] == 'e';
		bs->v[bs->n].key = xstrdup(key != NULL ? key : "");
		bs->n++;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int
mgmt_parse_exchange(const char *body, size_t len, char *type, size_t typelen,
    char *err, size_t errlen)
{
	json_t		*root;
	const char	*t;
	int		 rc = -1;

	if ((root = load(body, len, err, errlen)) == NULL)
		return -1;
	if (!json_is_object(root)) {
		snprintf(err, errlen, "not a JSON object");
		goto out;
	}
	if (need_str(root, "type", "exchange", &t, err, errlen) == -1)
		goto out;
	snprintf(type, typelen, "%s", t);
	rc = 0;
out:
	json_decref(root);
	return rc;
}

void
mgmt_error_reason(const char *body, size_t len, char *out, size_t outlen)
{
	json_t		*root;
	const char	*r = NULL;
	char		 ignore[128];

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (len == 0 || json_values_bound(body, len) > 1000)
		return;
	if ((root = load(body, len, ignore, sizeof(ignore))) == NULL)
		return;
	if (json_is_object(root) && (get_str(root, "reason", "", &r, ignore,
	    sizeof(ignore)) != 1 || *r == '\0'))
		get_str(root, "error", "", &r, ignore, sizeof(ignore));
	if (r != NULL) {
		snprintf(out, outlen, "%s", r);
		printable(out);
	}
	json_decref(root);
}

void
mgmt_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			buf_addc(b, (char)c);
		else {
			buf_addc(b, '%');
			buf_addc(b, hex[c >> 4]);
			buf_addc(b, hex[c & 15]);
		}
	}
}
