/*
 * labels: sorted, owned label sets; Alertmanager fingerprints; the Go
 * spellings of quoted strings and times that Prometheus-compatible
 * payloads need (see labels.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "alert/labels.h"
#include "buf.h"
#include "xmalloc.h"

/* Index of NAME, or of where it would go (with *found 0). */
static size_t
lset_find(const struct lset *s, const char *name, int *found)
{
	size_t	lo = 0, hi = s->n, mid;
	int	c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(s->v[mid].name, name);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

void
lset_set(struct lset *s, const char *name, const char *value)
{
	size_t	i;
	int	found;

	if (value == NULL || *value == '\0') {
		lset_del(s, name);
		return;
	}
	i = lset_find(s, name, &found);
	if (found) {
		free((char *)s->v[i].value);
		s->v[i].value = xstrdup(value);
		return;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
	}
	memmove(s->v + i + 1, s->v + i, (s->n - i) * sizeof(*s->v));
	s->v[i].name = xstrdup(name);
	s->v[i].value = xstrdup(value);
	s->n++;
}

void
lset_del(struct lset *s, const char *name)
{
	size_t	i;
	int	found;

	i = lset_find(s, name, &found);
	if (!found)
		return;
	free((char *)s->v[i].name);
	free((char *)s->v[i].value);
	memmove(s->v + i, s->v + i + 1, (s->n - i - 1) * sizeof(*s->v));
	s->n--;
}

const char *
lset_get(const struct lset *s, const char *name)
{
	size_t	i;
	int	found;

	i = lset_find(s, name, &found);
	return found ? s->v[i].value : NULL;
}

void
lset_clear(struct lset *s)
{
	size_t	i;

	for (i = 0; i < s->n; i++) {
		free((char *)s->v[i].name);
		free((char *)s->v[i].value);
	}
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

void
lset_copy(struct lset *dst, const struct lset *src)
{
	size_t	i;

	if (dst == src)
		return;
	lset_clear(dst);
	if (src->n == 0)
		return;
	dst->v = xcalloc(src->n, sizeof(*dst->v));
	dst->cap = src->n;
	for (i = 0; i < src->n; i++) {
		dst->v[i].name = xstrdup(src->v[i].name);
		dst->v[i].value = xstrdup(src->v[i].value);
	}
	dst->n = src->n;
}

void
lset_from(struct lset *s, const struct label *l, size_t n, const char *skip)
{
	size_t	i;

	lset_clear(s);
	for (i = 0; i < n; i++)
		if (skip == NULL || strcmp(l[i].name, skip) != 0)
			lset_set(s, l[i].name, l[i].value);
}

int
lset_cmp(const struct lset *a, const struct lset *b)
{
	size_t	i;
	int	c;

	for (i = 0; i < a->n && i < b->n; i++) {
		if ((c = strcmp(a->v[i].name, b->v[i].name)) != 0)
			return c;
		if ((c = strcmp(a->v[i].value, b->v[i].value)) != 0)
			return c;
	}
	return a->n < b->n ? -1 : a->n > b->n;
}

#define FNV_OFFSET	14695981039346656037ULL
#define FNV_PRIME	1099511628211ULL

static uint64_t
fnv_add(uint64_t h, const char *s)
{
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= FNV_PRIME;
	}
	h ^= 0xff;
	return h * FNV_PRIME;
}

uint64_t
lset_fingerprint(const struct lset *s)
{
	uint64_t	h = FNV_OFFSET;
	size_t		i;

	for (i = 0; i < s->n; i++) {
		h = fnv_add(h, s->v[i].name);
		h = fnv_add(h, s->v[i].value);
	}
	return h;
}

/* Length of the valid UTF-8 sequence at S, or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t	n, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void
alert_quote(struct buf *b, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n;

	buf_addc(b, '"');
	while (*p != '\0') {
		switch (*p) {
		case '"':	buf_adds(b, "\\\""); p++; continue;
		case '\\':	buf_adds(b, "\\\\"); p++; continue;
		case '\a':	buf_adds(b, "\\a"); p++; continue;
		case '\b':	buf_adds(b, "\\b"); p++; continue;
		case '\f':	buf_adds(b, "\\f"); p++; continue;
		case '\n':	buf_adds(b, "\\n"); p++; continue;
		case '\r':	buf_adds(b, "\\r"); p++; continue;
		case '\t':	buf_adds(b, "\\t"); p++; continue;
		case '\v':	buf_adds(b, "\\v"); p++; continue;
		}
		if (*p < 0x20 || *p == 0x7f || (n = utf8_len(p)) == 0) {
			buf_printf(b, "\\x%02x", *p);
			p++;
			continue;
		}
		buf_add(b, p, n);
		p += n;
	}
	buf_addc(b, '"');
}

void
lset_format(const struct lset *s, struct buf *b)
{
	size_t	i;

	buf_addc(b, '{');
	for (i = 0; i < s->n; i++) {
		if (i > 0)
			buf_adds(b, ", ");
		buf_adds(b, s->v[i].name);
		buf_addc(b, '=');
		alert_quote(b, s->v[i].value);
	}
	buf_addc(b, '}');
}

json_t *
lset_json(const struct lset *s)
{
	json_t	*o = json_object();
	size_t	 i;

	for (i = 0; i < s->n; i++)
		json_object_set_new(o, s->v[i].name,
		    json_string(s->v[i].value));
	return o;
}

int
lset_from_json(struct lset *s, const json_t *o)
{
	const char	*k;
	json_t		*v;

	lset_clear(s);
	if (!json_is_object(o))
		return -1;
	json_object_foreach((json_t *)o, k, v) {
		if (!json_is_string(v))
			return -1;
		lset_set(s, k, json_string_value(v));
	}
	return 0;
}

void
alert_time_format(int64_t ms, char *out, size_t outlen)
{
	struct tm	tm;
	time_t		sec;
	int		frac;
	char		f[8];
	size_t		n;

	if (ms == 0) {
		snprintf(out, outlen, "0001-01-01T00:00:00Z");
		return;
	}
	sec = (time_t)(ms / 1000);
	frac = (int)(ms % 1000);
	if (frac < 0) {
		frac += 1000;
		sec--;
	}
	gmtime_r(&sec, &tm);
	f[0] = '\0';
	if (frac != 0) {
		snprintf(f, sizeof(f), ".%03d", frac);
		for (n = strlen(f); f[n - 1] == '0'; n--)
			f[n - 1] = '\0';
	}
	snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d%sZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, f);
}

static int
digits(const char **p, int n, int *out)
{
	int	v = 0, i;

	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int
alert_time_parse(const char *s, int64_t *ms)
{
	struct tm	tm;
	int		y, mo, d, h, mi, sec, oh, om, frac = 0, scale = 100;
	int		sign;
	int64_t		t;

	memset(&tm, 0, sizeof(tm));
	if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) ||
	    *s++ != '-' || digits(&s, 2, &d) || (*s != 'T' && *s != 't') ||
	    (s++, digits(&s, 2, &h)) || *s++ != ':' || digits(&s, 2, &mi) ||
	    *s++ != ':' || digits(&s, 2, &sec))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -1;
		for (; *s >= '0' && *s <= '9'; s++) {
			frac += (*s - '0') * scale;
			scale /= 10;
		}
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm);
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-') {
		sign = *s++ == '+' ? 1 : -1;
		if (digits(&s, 2, &oh) || *s++ != ':' || digits(&s, 2, &om) ||
		    oh > 23 || om > 59)
			return -1;
		t -= sign * (oh * 3600 + om * 60);
	} else
		return -1;
	if (*s != '\0')
		return -1;
	*ms = t * 1000 + frac;
	return 0;
}
