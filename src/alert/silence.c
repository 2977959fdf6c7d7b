/*
 * silence: matchers, time ranges and their storage (see silence.h).
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <pcre2.h>

#include "alert/labels.h"
#include "alert/silence.h"
#include "buf.h"
#include "sample.h"
#include "storage/kv.h"
#include "xmalloc.h"

#define RETENTION_MS	(5 * 24 * 3600 * 1000LL)

struct smatcher {
	char		*name;
	char		*value;
	int		 regex;
	int		 equal;
	pcre2_code	*re;
	pcre2_match_data *md;
};

struct silence {
	char		 id[40];
	struct smatcher	*m;
	size_t		 nm;
	int64_t		 starts, ends, updated;
	char		*created_by;
	char		*comment;
};

struct silences {
	struct kv	*kv;
	struct silence	*v;
	size_t		 n;
};

static void
silence_clear(struct silence *s)
{
	size_t	i;

	for (i = 0; i < s->nm; i++) {
		free(s->m[i].name);
		free(s->m[i].value);
		if (s->m[i].md != NULL)
			pcre2_match_data_free(s->m[i].md);
		if (s->m[i].re != NULL)
			pcre2_code_free(s->m[i].re);
	}
	free(s->m);
	free(s->created_by);
	free(s->comment);
	memset(s, 0, sizeof(*s));
}

static json_t *
tjson(int64_t ms)
{
	char	t[64];

	alert_time_format(ms, t, sizeof(t));
	return json_string(t);
}

static json_t *
silence_json(const struct silence *s)
{
	json_t	*m = json_array();
	size_t	 i;

	for (i = 0; i < s->nm; i++)
		json_array_append_new(m, json_pack("{s:s, s:s, s:b, s:b}",
		    "name", s->m[i].name, "value", s->m[i].value,
		    "isRegex", s->m[i].regex, "isEqual", s->m[i].equal));
	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:s, s:s}",
	    "id", s->id, "matchers", m, "startsAt", tjson(s->starts),
	    "endsAt", tjson(s->ends), "updatedAt", tjson(s->updated),
	    "createdBy", s->created_by, "comment", s->comment);
}

/* Fill S from JSON (an API request or a stored record). */
static int
silence_parse(struct silence *s, const json_t *o, int64_t now, char *err,
    size_t errlen)
{
	const json_t	*ms, *m, *v;
	const char	*name, *value, *t;
	struct buf	 pat = BUF_INIT;
	int		 ecode;
	PCRE2_SIZE	 eoff;
	size_t		 i;

	memset(s, 0, sizeof(*s));
	if (!json_is_object(o)) {
		snprintf(err, errlen, "a silence must be a JSON object");
		return -1;
	}
	ms = json_object_get(o, "matchers");
	if (!json_is_array(ms) || json_array_size(ms) == 0 ||
	    json_array_size(ms) > 64) {
		snprintf(err, errlen, "matchers must be a list of 1 to 64 "
		    "matchers");
		return -1;
	}
	s->m = xcalloc(json_array_size(ms), sizeof(*s->m));
	json_array_foreach(ms, i, m) {
		name = json_string_value(json_object_get(m, "name"));
		value = json_string_value(json_object_get(m, "value"));
		if (name == NULL || value == NULL || !label_name_valid(name)) {
			snprintf(err, errlen, "matcher %zu: needs a valid "
			    "label name and a string value", i + 1);
			goto fail;
		}
		v = json_object_get(m, "isRegex");
		if (v != NULL && !json_is_boolean(v)) {
			snprintf(err, errlen, "matcher %zu: isRegex must be "
			    "true or false", i + 1);
			goto fail;
		}
		s->m[s->nm].regex = json_is_true(v);
		v = json_object_get(m, "isEqual");
		if (v != NULL && !json_is_boolean(v)) {
			snprintf(err, errlen, "matcher %zu: isEqual must be "
			    "true or false", i + 1);
			goto fail;
		}
		s->m[s->nm].equal = v == NULL || json_is_true(v);
		s->m[s->nm].name = xstrdup(name);
		s->m[s->nm].value = xstrdup(value);
		s->nm++;
		if (!s->m[s->nm - 1].regex)
			continue;
		buf_reset(&pat);
		buf_printf(&pat, "^(?:%s)$", value);
		s->m[s->nm - 1].re = pcre2_compile((PCRE2_SPTR)pat.data,
		    pat.len, PCRE2_UTF, &ecode, &eoff, NULL);
		if (s->m[s->nm - 1].re == NULL) {
			PCRE2_UCHAR msg[128];

			pcre2_get_error_message(ecode, msg, sizeof(msg));
			snprintf(err, errlen, "matcher %zu: invalid regex: %s",
			    i + 1, (const char *)msg);
			goto fail;
		}
		s->m[s->nm - 1].md = pcre2_match_data_create_from_pattern(
		    s->m[s->nm - 1].re, NULL);
	}
	buf_free(&pat);
	t = json_string_value(json_object_get(o, "startsAt"));
	if (t == NULL)
		s->starts = now;
	else if (alert_time_parse(t, &s->starts) == -1) {
		snprintf(err, errlen, "startsAt is not an RFC 3339 time");
		goto fail;
	}
	t = json_string_value(json_object_get(o, "endsAt"));
	if (t == NULL || alert_time_parse(t, &s->ends) == -1) {
		snprintf(err, errlen, "endsAt must be an RFC 3339 time");
		goto fail;
	}
	if (s->ends < s->starts) {
		snprintf(err, errlen, "endsAt is before startsAt");
		goto fail;
	}
	v = json_object_get(o, "createdBy");
	if (!json_is_string(v) || json_string_length(v) == 0) {
		snprintf(err, errlen, "createdBy is required");
		goto fail;
	}
	s->created_by = xstrdup(json_string_value(v));
	v = json_object_get(o, "comment");
	if (!json_is_string(v) || json_string_length(v) == 0) {
		snprintf(err, errlen, "comment is required");
		goto fail;
	}
	s->comment = xstrdup(json_string_value(v));
	t = json_string_value(json_object_get(o, "updatedAt"));
	if (t == NULL || alert_time_parse(t, &s->updated) == -1)
		s->updated = now;
	return 0;
fail:
	buf_free(&pat);
	silence_clear(s);
	return -1;
}

struct put {
	const struct silence	*s;
	int			 del;
};

static int
put_txn(struct kv_txn *t, void *arg)
{
	struct put	*p = arg;
	char		*text;
	json_t		*o;
	int		 rc;

	if (p->del) {
		rc = kv_del(t, KV_DB_ALERT_SILENCE, p->s->id, strlen(p->s->id),
		    NULL, 0);
		return rc == KV_NOTFOUND ? 0 : rc;
	}
	o = silence_json(p->s);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	rc = kv_put(t, KV_DB_ALERT_SILENCE, p->s->id, strlen(p->s->id), text,
	    strlen(text));
	free(text);
	return rc;
}

static int
store(struct silences *ss, const struct silence *s, int del, char *err,
    size_t errlen)
{
	struct put	p = { s, del };

	return kv_write(ss->kv, put_txn, &p, err, errlen) == 0 ? 0 : -1;
}

struct silences *
silences_new(struct kv *kv, char *err, size_t errlen)
{
	struct silences		*ss = xcalloc(1, sizeof(*ss));
	struct kv_txn		*t;
	struct kv_cursor	*c;
	struct kv_val		 k, v;
	struct silence		 s;
	json_t			*o;
	char			 e[256];
	const char		*id;
	int			 op;

	ss->kv = kv;
	if (kv_read_begin(kv, &t, err, errlen) != 0) {
		free(ss);
		return NULL;
	}
	if (kv_cursor_open(t, KV_DB_ALERT_SILENCE, &c) == 0) {
		for (op = KV_FIRST; kv_cursor_get(c, op, &k, &v) == 0;
		    op = KV_NEXT) {
			o = json_loadb(v.data, v.len, 0, NULL);
			id = json_string_value(json_object_get(o, "id"));
			if (id != NULL && strlen(id) < sizeof(s.id) &&
			    ss->n < SILENCE_MAX &&
			    silence_parse(&s, o, 0, e, sizeof(e)) == 0) {
				snprintf(s.id, sizeof(s.id), "%s", id);
				ss->v = xreallocarray(ss->v, ss->n + 1,
				    sizeof(*ss->v));
				ss->v[ss->n++] = s;
			}
			json_decref(o);
		}
		kv_cursor_close(c);
	}
	kv_read_end(t);
	return ss;
}

void
silences_free(struct silences *ss)
{
	size_t	i;

	if (ss == NULL)
		return;
	for (i = 0; i < ss->n; i++)
		silence_clear(&ss->v[i]);
	free(ss->v);
	free(ss);
}

static int
matcher_ok(struct smatcher *m, const struct lset *l)
{
	const char	*v = lset_get(l, m->name);
	int		 hit;

	if (v == NULL)
		v = "";
	if (m->regex)
		hit = pcre2_match(m->re, (PCRE2_SPTR)v, strlen(v), 0, 0,
		    m->md, NULL) >= 0;
	else
		hit = strcmp(v, m->value) == 0;
	return m->equal ? hit : !hit;
}

int
silences_match(void *arg, const struct lset *l, int64_t now)
{
	struct silences	*ss = arg;
	size_t		 i, j;

	for (i = 0; i < ss->n; i++) {
		if (ss->v[i].starts > now || ss->v[i].ends <= now)
			continue;
		for (j = 0; j < ss->v[i].nm; j++)
			if (!matcher_ok(&ss->v[i].m[j], l))
				break;
		if (j == ss->v[i].nm)
			return 1;
	}
	return 0;
}

static void
prune(struct silences *ss, int64_t now)
{
	char	e[128];
	size_t	i, k;

	for (i = 0, k = 0; i < ss->n; i++) {
		if (ss->v[i].ends + RETENTION_MS < now) {
			store(ss, &ss->v[i], 1, e, sizeof(e));
			silence_clear(&ss->v[i]);
		} else
			ss->v[k++] = ss->v[i];
	}
	ss->n = k;
}

int
silences_create(struct silences *ss, const json_t *o, int64_t now, char *id,
    char *err, size_t errlen)
{
	struct silence	s;
	unsigned char	r[16];

	prune(ss, now);
	if (ss->n >= SILENCE_MAX) {
		snprintf(err, errlen, "too many silences (%d)", SILENCE_MAX);
		return -1;
	}
	if (silence_parse(&s, o, now, err, errlen) == -1)
		return -1;
	if (s.ends <= now) {
		snprintf(err, errlen, "endsAt is in the past");
		silence_clear(&s);
		return -1;
	}
	s.updated = now;
	arc4random_buf(r, sizeof(r));
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	snprintf(s.id, sizeof(s.id), "%02x%02x%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4],
	    r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
	    r[15]);
	if (store(ss, &s, 0, err, errlen) == -1) {
		silence_clear(&s);
		return -1;
	}
	ss->v = xreallocarray(ss->v, ss->n + 1, sizeof(*ss->v));
	ss->v[ss->n++] = s;
	memcpy(id, s.id, 37);
	return 0;
}

int
silences_expire(struct silences *ss, const char *id, int64_t now, char *err,
    size_t errlen)
{
	struct silence	*s;
	int64_t		 starts, ends, updated;
	size_t		 i;

	for (i = 0; i < ss->n; i++) {
		s = &ss->v[i];
		if (strcmp(s->id, id) != 0)
			continue;
		if (s->ends <= now)
			return 0;
		starts = s->starts;
		ends = s->ends;
		updated = s->updated;
		/* A silence that has not started yet ends before it does. */
		if (now < s->starts)
			s->starts = now;
		s->ends = now;
		s->updated = now;
		if (store(ss, s, 0, err, errlen) == -1) {
			s->starts = starts;
			s->ends = ends;
			s->updated = updated;
			return -1;
		}
		return 0;
	}
	return 1;
}

json_t *
silences_json(const struct silences *ss, int64_t now)
{
	json_t		*a = json_array(), *o;
	const char	*state;
	size_t		 i;

	for (i = 0; i < ss->n; i++) {
		o = silence_json(&ss->v[i]);
		state = ss->v[i].ends <= now ? "expired" :
		    ss->v[i].starts > now ? "pending" : "active";
		json_object_set_new(o, "status", json_pack("{s:s}", "state",
		    state));
		json_array_append_new(a, o);
	}
	return a;
}
