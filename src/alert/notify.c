/*
 * notify: receivers, the durable queue and delivery (see notify.h).
 *
 * Queue records (KV_DB_ALERT_QUEUE): key = 8-byte big-endian sequence,
 * value = 8-byte big-endian creation time (ms), 2-byte receiver name
 * length, the name, then the request body.  Log records
 * (KV_DB_ALERT_NFLOG): key = receiver name, NUL, group key; value =
 * nflog_encode().  Sequences only grow, so a cursor walk gives the order
 * notifications were made in.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "alert/dispatch.h"
#include "alert/labels.h"
#include "alert/notify.h"
#include "buf.h"
#include "conf.h"
#include "http/client.h"
#include "log.h"
#include "storage/kv.h"
#include "xmalloc.h"

enum result {
	RES_SUCCESS,
	RES_RETRY,
	RES_REJECTED,
	RES_EXPIRED,
	RES_COUNT
};

static const char *const result_names[RES_COUNT] = {
	"success", "retry", "rejected", "expired"
};

const struct metric_def notify_metrics[] = {
	{ "monitord_notifications_total", METRIC_COUNTER, "receiver result",
	  "Notifications by receiver and outcome: success (a 2xx answer), "
	  "retry (an attempt failed and will be repeated), rejected (a 4xx "
	  "answer; dropped) or expired (undelivered for too long; dropped): "
	  "whether on-call people are actually being reached." },
	{ "monitord_notification_queue_length", METRIC_GAUGE, "receiver",
	  "Notifications stored and waiting for delivery, per receiver: "
	  "grows while a receiver is down." },
	{ "monitord_notification_oldest_seconds", METRIC_GAUGE, "receiver",
	  "Age of the oldest undelivered notification, per receiver (0 when "
	  "none): how late pages are arriving." },
	{ NULL, 0, NULL, NULL }
};

struct qitem {
	uint64_t	 seq;
	int64_t		 created;
	char		*body;
	size_t		 len;
};

struct receiver {
	struct notifier		*n;
	char			*name;
	int			 am;		/* [alertmanager] */
	char			*url;
	int64_t			 timeout_ms;
	char			*bearer;
	char			*user;
	char			*pass;
	char			**headers;	/* NULL-ended */
	struct dispatch		*d;		/* webhooks */
	struct qitem		*q;
	size_t			 qhead, qlen, qcap;
	struct hclient_call	*call;
	struct event		*retry;
	unsigned		 attempts;
	uint64_t		 counts[RES_COUNT];
};

struct notifier {
	struct notifier_opts	 o;
	struct receiver		*r;
	size_t			 nr;
	struct event		*timer;
	uint64_t		 next_seq;
	char			*external_url;
	int			 started;
};

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
be64(unsigned char *p, uint64_t v)
{
	int	i;

	for (i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static uint64_t
rd64(const unsigned char *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

void
notify_generator_url(struct buf *b, const char *base, const char *expr)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p;

	buf_adds(b, base != NULL ? base : "");
	buf_adds(b, "/graph?g0.expr=");
	/* Go's url.QueryEscape. */
	for (p = (const unsigned char *)expr; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		    *p == '.' || *p == '~')
			buf_addc(b, (char)*p);
		else if (*p == ' ')
			buf_addc(b, '+');
		else {
			buf_addc(b, '%');
			buf_addc(b, hex[*p >> 4]);
			buf_addc(b, hex[*p & 15]);
		}
	}
	buf_adds(b, "&g0.tab=1");
}

/* The queue in memory, oldest first. */

static struct qitem *
q_head(struct receiver *r)
{
	return r->qlen > 0 ? &r->q[r->qhead] : NULL;
}

static void
q_push(struct receiver *r, uint64_t seq, int64_t created, const char *body,
    size_t len)
{
	struct qitem	*it;

	if (r->qhead + r->qlen == r->qcap) {
		if (r->qhead > 0) {
			memmove(r->q, r->q + r->qhead, r->qlen * sizeof(*r->q));
			r->qhead = 0;
		}
		if (r->qlen == r->qcap) {
			r->qcap = r->qcap ? r->qcap * 2 : 16;
			r->q = xreallocarray(r->q, r->qcap, sizeof(*r->q));
		}
	}
	it = &r->q[r->qhead + r->qlen++];
	it->seq = seq;
	it->created = created;
	it->body = xmalloc(len + 1);
	memcpy(it->body, body, len);
	it->body[len] = '\0';
	it->len = len;
}

static void
q_pop(struct receiver *r)
{
	free(r->q[r->qhead].body);
	r->qhead++;
	r->qlen--;
	if (r->qlen == 0)
		r->qhead = 0;
}

/* Storage. */

struct put_arg {
	uint64_t		 seq;
	struct buf		*val;
	const char		*nflog_key;
	size_t			 nflog_key_len;
	struct buf		*nflog_val;
};

static int
put_txn(struct kv_txn *t, void *arg)
{
	struct put_arg	*a = arg;
	unsigned char	 k[8];
	int		 rc;

	be64(k, a->seq);
	if ((rc = kv_put(t, KV_DB_ALERT_QUEUE, k, 8, a->val->data,
	    a->val->len)) != 0)
		return rc;
	if (a->nflog_key != NULL)
		rc = kv_put(t, KV_DB_ALERT_NFLOG, a->nflog_key,
		    a->nflog_key_len, a->nflog_val->data, a->nflog_val->len);
	return rc;
}

static int
del_txn(struct kv_txn *t, void *arg)
{
	unsigned char	k[8];
	int		rc;

	be64(k, *(uint64_t *)arg);
	rc = kv_del(t, KV_DB_ALERT_QUEUE, k, 8, NULL, 0);
	return rc == KV_NOTFOUND ? 0 : rc;
}

static void
q_delete(struct receiver *r, uint64_t seq)
{
	char	err[256];

	if (kv_write(r->n->o.kv, del_txn, &seq, err, sizeof(err)) != 0)
		log_warnx("notification %llu to %s: cannot remove it from "
		    "the queue (it may be sent again after a restart): %s",
		    (unsigned long long)seq, r->name, err);
}

static void	deliver(struct receiver *);

/* Store BODY for R (and the group's log entry), then try to send it. */
static int
enqueue(struct receiver *r, const char *body, size_t len,
    const char *group_key, const struct nflog_entry *e)
{
	struct notifier	*n = r->n;
	struct buf	 val = BUF_INIT, key = BUF_INIT, nv = BUF_INIT;
	struct put_arg	 a;
	unsigned char	 hdr[10];
	size_t		 nl = strlen(r->name);
	int64_t		 created = now_ms();
	char		 err[256];
	int		 rc;

	be64(hdr, (uint64_t)created);
	hdr[8] = (unsigned char)(nl >> 8);
	hdr[9] = (unsigned char)(nl & 0xff);
	buf_add(&val, hdr, 10);
	buf_add(&val, r->name, nl);
	buf_add(&val, body, len);
	memset(&a, 0, sizeof(a));
	a.seq = n->next_seq;
	a.val = &val;
	if (group_key != NULL) {
		buf_add(&key, r->name, nl + 1);
		buf_adds(&key, group_key);
		nflog_encode(e, &nv);
		a.nflog_key = key.data;
		a.nflog_key_len = key.len;
		a.nflog_val = &nv;
	}
	rc = kv_write(n->o.kv, put_txn, &a, err, sizeof(err));
	if (rc != 0)
		log_warnx("notification to %s not queued: %s", r->name, err);
	else {
		n->next_seq++;
		q_push(r, a.seq, created, body, len);
	}
	buf_free(&val);
	buf_free(&key);
	buf_free(&nv);
	if (rc != 0)
		return -1;
	deliver(r);
	return 0;
}

/* Delivery. */

static int64_t
backoff(const struct notifier *n, unsigned attempts)
{
	int64_t	d = n->o.backoff_min_ms;
	unsigned i;

	for (i = 1; i < attempts && d < n->o.backoff_max_ms; i++)
		d *= 2;
	if (d > n->o.backoff_max_ms)
		d = n->o.backoff_max_ms;
	/* Between half and all of it, so that receivers that failed
	   together do not come back in lock step. */
	return d / 2 + (int64_t)(arc4random_uniform((uint32_t)(d / 2 + 1)));
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	deliver(arg);
}

static void
delivered(const struct hclient_resp *resp, void *arg)
{
	struct receiver	*r = arg;
	struct qitem	*it = q_head(r);
	struct timeval	 tv;
	int64_t		 d;

	r->call = NULL;
	if (it == NULL)
		return;
	if (resp->ok && resp->status >= 200 && resp->status < 300) {
		q_delete(r, it->seq);
		q_pop(r);
		r->counts[RES_SUCCESS]++;
		r->attempts = 0;
		deliver(r);
		return;
	}
	if (resp->ok && resp->status >= 400 && resp->status < 500 &&
	    resp->status != 408 && resp->status != 429) {
		log_warnx("notification to %s rejected with HTTP %d; dropped",
		    r->name, resp->status);
		q_delete(r, it->seq);
		q_pop(r);
		r->counts[RES_REJECTED]++;
		r->attempts = 0;
		deliver(r);
		return;
	}
	r->counts[RES_RETRY]++;
	r->attempts++;
	d = backoff(r->n, r->attempts);
	if (r->attempts == 1 || r->attempts % 10 == 0)
		log_warnx("notification to %s failed (%s), retrying in %lld ms",
		    r->name, resp->ok ? "bad status" : resp->err,
		    (long long)d);
	tv.tv_sec = d / 1000;
	tv.tv_usec = (d % 1000) * 1000;
	evtimer_add(r->retry, &tv);
}

static void
deliver(struct receiver *r)
{
	struct hclient_opts	 ho;
	struct qitem		*it;
	char			 url[2048], err[256];
	int64_t			 now = now_ms();

	if (!r->n->started || r->call != NULL ||
	    evtimer_pending(r->retry, NULL))
		return;
	while ((it = q_head(r)) != NULL && now - it->created >
	    r->n->o.expiry_ms) {
		log_warnx("notification to %s undelivered for too long; "
		    "dropped", r->name);
		q_delete(r, it->seq);
		q_pop(r);
		r->counts[RES_EXPIRED]++;
	}
	if (it == NULL)
		return;
	memset(&ho, 0, sizeof(ho));
	if (r->am)
		snprintf(url, sizeof(url), "%s%sapi/v2/alerts", r->url,
		    r->url[strlen(r->url) - 1] == '/' ? "" : "/");
	else
		snprintf(url, sizeof(url), "%s", r->url);
	ho.method = "POST";
	ho.url = url;
	ho.headers = (const char *const *)r->headers;
	ho.body = it->body;
	ho.body_len = it->len;
	ho.timeout_ms = r->timeout_ms;
	ho.max_body = 64 * 1024;
	ho.bearer = r->bearer;
	ho.basic_user = r->user;
	ho.basic_pass = r->pass;
	r->call = hclient_start(r->n->o.base, NULL, &ho, delivered, r, err,
	    sizeof(err));
	if (r->call == NULL) {
		struct hclient_resp fail;

		memset(&fail, 0, sizeof(fail));
		snprintf(fail.err, sizeof(fail.err), "%s", err);
		delivered(&fail, r);
	}
}

/* Payloads. */

static void
common(json_t *out, const struct dgroup_view *v, int annotations)
{
	const struct lset	*first;
	const char		*x;
	size_t			 i, j;
	int			 all;

	first = annotations ? &v->alerts[0]->annotations :
	    &v->alerts[0]->labels;
	for (i = 0; i < first->n; i++) {
		all = 1;
		for (j = 1; j < v->nalerts && all; j++) {
			x = lset_get(annotations ? &v->alerts[j]->annotations :
			    &v->alerts[j]->labels, first->v[i].name);
			all = x != NULL && strcmp(x, first->v[i].value) == 0;
		}
		if (all)
			json_object_set_new(out, first->v[i].name,
			    json_string(first->v[i].value));
	}
}

static json_t *
time_json(int64_t ms)
{
	char	t[64];

	alert_time_format(ms, t, sizeof(t));
	return json_string(t);
}

static int
webhook_notify(void *arg, const struct dgroup_view *v)
{
	struct receiver		*r = arg;
	const struct dalert	*a;
	json_t			*alerts = json_array(), *o, *cl, *ca;
	char			 fp[32], *body;
	size_t			 i;
	int			 firing = 0, rc, resolved;

	for (i = 0; i < v->nalerts; i++) {
		a = v->alerts[i];
		resolved = a->ends_at != 0 && a->ends_at <= v->now;
		firing |= !resolved;
		snprintf(fp, sizeof(fp), "%016llx",
		    (unsigned long long)a->fp);
		json_array_append_new(alerts, json_pack("{s:s, s:o, s:o, s:o, "
		    "s:o, s:s, s:s}",
		    "status", resolved ? "resolved" : "firing",
		    "labels", lset_json(&a->labels),
		    "annotations", lset_json(&a->annotations),
		    "startsAt", time_json(a->starts_at),
		    "endsAt", time_json(resolved ? a->ends_at : 0),
		    "generatorURL", a->generator_url,
		    "fingerprint", fp));
	}
	cl = json_object();
	ca = json_object();
	common(cl, v, 0);
	common(ca, v, 1);
	o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:s, s:s, s:i}",
	    "receiver", r->name,
	    "status", firing ? "firing" : "resolved",
	    "alerts", alerts,
	    "groupLabels", lset_json(v->group_labels),
	    "commonLabels", cl,
	    "commonAnnotations", ca,
	    "externalURL", r->n->external_url,
	    "version", "4",
	    "groupKey", v->key,
	    "truncatedAlerts", 0);
	body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	rc = enqueue(r, body, strlen(body), v->key, v->entry);
	free(body);
	return rc;
}

static void
schedule(struct notifier *n)
{
	struct timeval	tv;
	int64_t		due = INT64_MAX, t, now = now_ms();
	size_t		i;

	for (i = 0; i < n->nr; i++)
		if (n->r[i].d != NULL && (t = dispatch_next_due(n->r[i].d)) <
		    due)
			due = t;
	evtimer_del(n->timer);
	if (due == INT64_MAX)
		return;
	t = due > now ? due - now : 0;
	tv.tv_sec = t / 1000;
	tv.tv_usec = (t % 1000) * 1000;
	evtimer_add(n->timer, &tv);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct notifier	*n = arg;
	int64_t		 now = now_ms();
	size_t		 i;

	for (i = 0; i < n->nr; i++)
		if (n->r[i].d != NULL)
			dispatch_flush(n->r[i].d, now);
	schedule(n);
}

static int
targets(const struct rule *rule, const struct receiver *r)
{
	size_t	i;

	if (rule->notify == NULL)
		return 1;
	for (i = 0; i < rule->nnotify; i++)
		if (strcmp(rule->notify[i], r->name) == 0)
			return 1;
	return 0;
}

void
notifier_send(void *arg, const struct rule *rule, const struct alert_send *s,
    size_t ns, int64_t now)
{
	struct notifier		*n = arg;
	struct receiver		*r;
	struct buf		 gen = BUF_INIT;
	const struct alert	*a;
	json_t			*arr;
	char			*body;
	size_t			 i, k;

	notify_generator_url(&gen, n->external_url, rule->expr);
	for (k = 0; k < n->nr; k++) {
		r = &n->r[k];
		if (!targets(rule, r))
			continue;
		if (!r->am) {
			for (i = 0; i < ns; i++)
				dispatch_insert(r->d, &s[i].alert->labels,
				    &s[i].alert->annotations, s[i].starts_at,
				    s[i].ends_at, gen.data, now);
			continue;
		}
		arr = json_array();
		for (i = 0; i < ns; i++) {
			a = s[i].alert;
			if (n->o.silenced != NULL &&
			    n->o.silenced(n->o.silenced_arg, &a->labels, now))
				continue;
			json_array_append_new(arr, json_pack("{s:o, s:o, s:o, "
			    "s:o, s:s}",
			    "labels", lset_json(&a->labels),
			    "annotations", lset_json(&a->annotations),
			    "startsAt", time_json(s[i].starts_at),
			    "endsAt", time_json(s[i].ends_at),
			    "generatorURL", gen.data));
		}
		if (json_array_size(arr) > 0) {
			body = json_dumps(arr, JSON_COMPACT |
			    JSON_PRESERVE_ORDER);
			enqueue(r, body, strlen(body), NULL, NULL);
			free(body);
		}
		json_decref(arr);
	}
	buf_free(&gen);
	schedule(n);
}

/* Set up. */

static char **
split_group_by(const char *s)
{
	char	**v = NULL, *copy = xstrdup(s), *p = copy, *tok, *t;
	size_t	  n = 0;

	while ((tok = strsep(&p, ",")) != NULL) {
		tok += strspn(tok, " \t");
		for (t = tok + strlen(tok); t > tok && (t[-1] == ' ' ||
		    t[-1] == '\t'); t--)
			t[-1] = '\0';
		if (*tok == '\0')
			continue;
		v = xreallocarray(v, n + 2, sizeof(*v));
		v[n++] = xstrdup(tok);
		v[n] = NULL;
	}
	free(copy);
	if (v == NULL)
		v = xcalloc(1, sizeof(*v));
	return v;
}

static void
strv_free(char **v)
{
	size_t	i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static int
receiver_init(struct notifier *n, struct receiver *r,
    const struct conf_section *s, int am, char *err, size_t errlen)
{
	struct dispatch_opts	 d;
	char			**gb, e[256];
	size_t			 i, nh = 0;

	r->n = n;
	r->name = xstrdup(conf_section_name(s));
	r->am = am;
	r->url = xstrdup(conf_str(s, "url"));
	r->timeout_ms = conf_duration(s, "timeout");
	r->retry = evtimer_new(n->o.base, retry_cb, r);
	if (conf_has(s, "bearer_token_file") && (r->bearer =
	    conf_read_secret(s, "bearer_token_file", e, sizeof(e))) == NULL) {
		snprintf(err, errlen, "[%s %s]: %s", am ? "alertmanager" :
		    "webhook", r->name, e);
		return -1;
	}
	r->headers = xcalloc(3 + (am ? 0 : conf_multi_count(s, "header")),
	    sizeof(*r->headers));
	r->headers[nh++] = xstrdup("Content-Type: application/json");
	r->headers[nh++] = xstrdup("User-Agent: monitord/" PACKAGE_VERSION);
	if (am)
		return 0;
	for (i = 0; conf_has(s, "header") && i < conf_multi_count(s,
	    "header"); i++)
		r->headers[nh++] = xstrdup(conf_multi_at(s, "header", i));
	if (conf_has(s, "username")) {
		r->user = xstrdup(conf_str(s, "username"));
		if ((r->pass = conf_read_secret(s, "password_file", e,
		    sizeof(e))) == NULL) {
			snprintf(err, errlen, "[webhook %s]: %s", r->name, e);
			return -1;
		}
	}
	gb = split_group_by(conf_str(s, "group_by"));
	memset(&d, 0, sizeof(d));
	d.receiver = r->name;
	d.group_by = (const char *const *)gb;
	d.group_wait_ms = conf_duration(s, "group_wait");
	d.group_interval_ms = conf_duration(s, "group_interval");
	d.repeat_interval_ms = conf_duration(s, "repeat_interval");
	d.silenced = n->o.silenced;
	d.silenced_arg = n->o.silenced_arg;
	d.notify = webhook_notify;
	d.notify_arg = r;
	r->d = dispatch_new(&d);
	strv_free(gb);
	return 0;
}

static struct receiver *
find_receiver(struct notifier *n, const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < n->nr; i++)
		if (strlen(n->r[i].name) == len &&
		    memcmp(n->r[i].name, name, len) == 0)
			return &n->r[i];
	return NULL;
}

struct drop_arg {
	uint64_t	*seqs;
	size_t		 n;
};

static int
drop_txn(struct kv_txn *t, void *arg)
{
	struct drop_arg	*a = arg;
	size_t		 i;
	int		 rc;

	for (i = 0; i < a->n; i++)
		if ((rc = del_txn(t, &a->seqs[i])) != 0)
			return rc;
	return 0;
}

/* Read the queue and the log back from disk. */
static int
load(struct notifier *n, char *err, size_t errlen)
{
	struct kv_txn		*t;
	struct kv_cursor	*c;
	struct kv_val		 k, v;
	struct receiver		*r;
	struct nflog_entry	 e;
	struct drop_arg		 drop = { NULL, 0 };
	const unsigned char	*p;
	size_t			 nl, kl;
	uint64_t		 seq;
	int			 rc, op;

	if (kv_read_begin(n->o.kv, &t, err, errlen) != 0)
		return -1;
	n->next_seq = 1;
	if (kv_cursor_open(t, KV_DB_ALERT_QUEUE, &c) == 0) {
		for (op = KV_FIRST; (rc = kv_cursor_get(c, op, &k, &v)) == 0;
		    op = KV_NEXT) {
			if (k.len != 8)
				continue;
			seq = rd64(k.data);
			n->next_seq = seq + 1;
			p = v.data;
			if (v.len < 10 || (nl = (size_t)p[8] << 8 | p[9]) >
			    v.len - 10 || (r = find_receiver(n,
			    (const char *)p + 10, nl)) == NULL) {
				drop.seqs = xreallocarray(drop.seqs, drop.n + 1,
				    sizeof(*drop.seqs));
				drop.seqs[drop.n++] = seq;
				continue;
			}
			q_push(r, seq, (int64_t)rd64(p),
			    (const char *)p + 10 + nl, v.len - 10 - nl);
		}
		kv_cursor_close(c);
	}
	if (kv_cursor_open(t, KV_DB_ALERT_NFLOG, &c) == 0) {
		for (op = KV_FIRST; (rc = kv_cursor_get(c, op, &k, &v)) == 0;
		    op = KV_NEXT) {
			p = memchr(k.data, '\0', k.len);
			if (p == NULL)
				continue;
			nl = (size_t)(p - (const unsigned char *)k.data);
			kl = k.len - nl - 1;
			r = find_receiver(n, k.data, nl);
			if (r == NULL || r->d == NULL ||
			    nflog_decode(v.data, v.len, &e) == -1)
				continue;
			{
				char *key = xstrndup((const char *)p + 1, kl);

				dispatch_nflog_restore(r->d, key, &e);
				free(key);
			}
			nflog_entry_clear(&e);
		}
		kv_cursor_close(c);
	}
	kv_read_end(t);
	if (drop.n > 0) {
		log_warnx("%zu queued notifications for receivers no longer "
		    "configured were dropped", drop.n);
		if (kv_write(n->o.kv, drop_txn, &drop, err, errlen) != 0)
			log_warnx("%s", err);
	}
	free(drop.seqs);
	return 0;
}

struct notifier *
notifier_new(const struct conf *conf, const struct notifier_opts *o,
    char *err, size_t errlen)
{
	struct notifier			*n = xcalloc(1, sizeof(*n));
	const struct conf_section	*s;
	size_t				 i, nw, na;

	n->o = *o;
	if (n->o.backoff_min_ms <= 0)
		n->o.backoff_min_ms = 1000;
	if (n->o.backoff_max_ms < n->o.backoff_min_ms)
		n->o.backoff_max_ms = n->o.backoff_min_ms > 300000 ?
		    n->o.backoff_min_ms : 300000;
	if (n->o.expiry_ms <= 0)
		n->o.expiry_ms = 24 * 3600 * 1000LL;
	n->external_url = xstrdup(o->external_url ? o->external_url : "");
	n->timer = evtimer_new(o->base, timer_cb, n);
	nw = conf_count(conf, "webhook");
	na = conf_count(conf, "alertmanager");
	n->r = xcalloc(nw + na + 1, sizeof(*n->r));
	for (i = 0; (s = conf_at(conf, "webhook", i)) != NULL; i++)
		if (receiver_init(n, &n->r[n->nr++], s, 0, err, errlen) == -1)
			goto fail;
	for (i = 0; (s = conf_at(conf, "alertmanager", i)) != NULL; i++)
		if (receiver_init(n, &n->r[n->nr++], s, 1, err, errlen) == -1)
			goto fail;
	if (load(n, err, errlen) == -1)
		goto fail;
	return n;
fail:
	notifier_free(n);
	return NULL;
}

void
notifier_start(struct notifier *n)
{
	size_t	i;

	n->started = 1;
	for (i = 0; i < n->nr; i++)
		deliver(&n->r[i]);
}

void
notifier_free(struct notifier *n)
{
	struct receiver	*r;
	size_t		 i;

	if (n == NULL)
		return;
	for (i = 0; i < n->nr; i++) {
		r = &n->r[i];
		hclient_cancel(r->call);
		if (r->retry != NULL)
			event_free(r->retry);
		while (r->qlen > 0)
			q_pop(r);
		free(r->q);
		dispatch_free(r->d);
		free(r->name);
		free(r->url);
		if (r->bearer != NULL)
			explicit_bzero(r->bearer, strlen(r->bearer));
		if (r->pass != NULL)
			explicit_bzero(r->pass, strlen(r->pass));
		free(r->bearer);
		free(r->user);
		free(r->pass);
		strv_free(r->headers);
	}
	free(n->r);
	if (n->timer != NULL)
		event_free(n->timer);
	free(n->external_url);
	free(n);
}

size_t
notifier_queue_length(const struct notifier *n)
{
	size_t	i, t = 0;

	for (i = 0; i < n->nr; i++)
		t += n->r[i].qlen;
	return t;
}

/* A label value in exposition text: \\, \" and \n escaped. */
static void
label_value(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			buf_addc(b, '\\');
		if (*s == '\n') {
			buf_adds(b, "\\n");
			continue;
		}
		buf_addc(b, *s);
	}
}

void
notifier_write_metrics(struct notifier *n, struct buf *b)
{
	const struct metric_def	*m;
	struct receiver		*r;
	int64_t			 now = now_ms();
	size_t			 i, k;

	for (m = notify_metrics; m->name != NULL; m++)
		buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", m->name,
		    m->help, m->name, metric_type_name(m->type));
	for (i = 0; i < n->nr; i++) {
		r = &n->r[i];
		for (k = 0; k < RES_COUNT; k++)
		{
			buf_adds(b, "monitord_notifications_total{receiver=\"");
			label_value(b, r->name);
			buf_printf(b, "\",result=\"%s\"} %llu\n",
			    result_names[k], (unsigned long long)r->counts[k]);
		}
	}
	for (i = 0; i < n->nr; i++) {
		buf_adds(b, "monitord_notification_queue_length{receiver=\"");
		label_value(b, n->r[i].name);
		buf_printf(b, "\"} %zu\n", n->r[i].qlen);
	}
	for (i = 0; i < n->nr; i++) {
		r = &n->r[i];
		buf_adds(b, "monitord_notification_oldest_seconds{receiver=\"");
		label_value(b, r->name);
		buf_adds(b, "\"} ");
		buf_add_double(b, r->qlen > 0 ? (double)(now -
		    q_head(r)->created) / 1000 : 0);
		buf_addc(b, '\n');
	}
}

json_t *
notifier_json(const struct notifier *n)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < n->nr; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:I, s:I, "
		    "s:I}", "name", n->r[i].name,
		    "kind", n->r[i].am ? "alertmanager" : "webhook",
		    "queued", (json_int_t)n->r[i].qlen,
		    "delivered", (json_int_t)n->r[i].counts[RES_SUCCESS],
		    "failedAttempts", (json_int_t)n->r[i].counts[RES_RETRY]));
	return a;
}
