/*
 * fuzz_textparse: libFuzzer target of the text exposition parser, both
 * formats.  The first byte picks the format, skip_bad and tight limits;
 * the second a chunk size.  Each input is parsed whole and again fed in
 * chunks: both must give the same callbacks, result, error and counts.
 * Every sample handed out must have valid names, no __name__ label and no
 * more labels than the limit.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"
#include "textparse.h"

struct digest {
	uint64_t	h;
	size_t		max_labels;
};

static void
mix(struct digest *d, const void *p, size_t n)
{
	const unsigned char	*s = p;
	size_t			 i;

	for (i = 0; i < n; i++)
		d->h = (d->h ^ s[i]) * 1099511628211ULL;
}

static void
mixs(struct digest *d, const char *s)
{
	mix(d, s, strlen(s) + 1);
}

static int
on_sample(void *arg, const char *name, const struct label *l, size_t n,
    double v, int has_ts, int64_t ts)
{
	struct digest	*d = arg;
	size_t		 i;

	if (!metric_name_valid(name))
		abort();
	if (d->max_labels != 0 && n > d->max_labels)
		abort();
	mix(d, "S", 1);
	mixs(d, name);
	for (i = 0; i < n; i++) {
		if (!label_name_valid(l[i].name) ||
		    strcmp(l[i].name, "__name__") == 0)
			abort();
		mixs(d, l[i].name);
		mixs(d, l[i].value);
	}
	mix(d, &v, sizeof(v));
	mix(d, &has_ts, sizeof(has_ts));
	mix(d, &ts, sizeof(ts));
	return 0;
}

static int
on_help(void *arg, const char *name, const char *text)
{
	struct digest *d = arg;

	if (!metric_name_valid(name))
		abort();
	mix(d, "H", 1);
	mixs(d, name);
	mixs(d, text);
	return 0;
}

static int
on_type(void *arg, const char *name, enum textparse_type t)
{
	struct digest *d = arg;

	if (!metric_name_valid(name))
		abort();
	mix(d, "T", 1);
	mixs(d, name);
	mixs(d, textparse_type_name(t));
	return 0;
}

static int
on_unit(void *arg, const char *name, const char *unit)
{
	struct digest *d = arg;

	if (!metric_name_valid(name))
		abort();
	mix(d, "U", 1);
	mixs(d, name);
	mixs(d, unit);
	return 0;
}

/* The third parse: series texts seen, and what sample was given for them. */
#define REFS_MAX	64

struct ref {
	char		*raw;
	size_t		 len;
	char		*name;
	struct label	*l;
	size_t		 n;
};

struct refs {
	struct digest		 d;
	struct textparse	*tp;
	struct ref		 v[REFS_MAX];
	size_t			 n;
};

static int
on_sample_rec(void *arg, const char *name, const struct label *l, size_t n,
    double v, int has_ts, int64_t ts)
{
	struct refs	*c = arg;
	struct ref	*r;
	const char	*raw;
	size_t		 len, i;

	on_sample(&c->d, name, l, n, v, has_ts, ts);
	if ((raw = textparse_raw(c->tp, &len)) == NULL)
		abort();
	if (c->n == REFS_MAX)
		return 0;
	r = &c->v[c->n++];
	r->raw = malloc(len + 1);
	memcpy(r->raw, raw, len);
	r->len = len;
	r->name = strdup(name);
	r->l = calloc(n + 1, sizeof(*r->l));
	for (i = 0; i < n; i++) {
		r->l[i].name = strdup(l[i].name);
		r->l[i].value = strdup(l[i].value);
	}
	r->n = n;
	return 0;
}

static void *
on_series_ref(void *arg, const char *raw, size_t len)
{
	struct refs	*c = arg;
	size_t		 i;

	for (i = 0; i < c->n; i++)
		if (c->v[i].len == len && memcmp(c->v[i].raw, raw, len) == 0)
			return &c->v[i];
	return NULL;
}

static int
on_sample_ref(void *arg, void *ref, double v, int has_ts, int64_t ts)
{
	struct refs	*c = arg;
	struct ref	*r = ref;

	return on_sample(&c->d, r->name, r->l, r->n, v, has_ts, ts);
}

static void
refs_free(struct refs *c)
{
	size_t i, j;

	for (i = 0; i < c->n; i++) {
		for (j = 0; j < c->v[i].n; j++) {
			free((char *)c->v[i].l[j].name);
			free((char *)c->v[i].l[j].value);
		}
		free(c->v[i].l);
		free(c->v[i].name);
		free(c->v[i].raw);
	}
}

static int
on_help_ref(void *arg, const char *name, const char *text)
{
	return on_help(&((struct refs *)arg)->d, name, text);
}

static int
on_type_ref(void *arg, const char *name, enum textparse_type t)
{
	return on_type(&((struct refs *)arg)->d, name, t);
}

static int
on_unit_ref(void *arg, const char *name, const char *unit)
{
	return on_unit(&((struct refs *)arg)->d, name, unit);
}

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct textparse_cb cb = {
		.sample = on_sample, .help = on_help, .type = on_type,
		.unit = on_unit,
	};
	static const struct textparse_cb rcb = {
		.sample = on_sample_rec, .help = on_help_ref,
		.type = on_type_ref, .unit = on_unit_ref,
		.series_ref = on_series_ref, .sample_ref = on_sample_ref,
	};
	struct refs		 c;
	char			 err3[512];
	int			 rc3;
	struct textparse_opts	 o;
	struct textparse	*tp;
	struct digest		 d1, d2;
	enum textparse_format	 fmt;
	struct textparse_stats	 st1;
	char			 err1[512], err2[512];
	const char		*body;
	size_t			 len, step, off;
	int			 rc1, rc2;

	if (size < 2)
		return 0;
	fmt = (data[0] & 1) ? TEXTPARSE_OPENMETRICS : TEXTPARSE_PROM;
	textparse_opts_default(&o);
	o.skip_bad = (data[0] & 2) != 0;
	if (data[0] & 4) {
		o.max_line = 64;
		o.max_labels = 4;
		o.max_name_len = 16;
		o.max_value_len = 16;
		o.sample_limit = 8;
	}
	step = (size_t)data[1] + 1;
	body = (const char *)data + 2;
	len = size - 2;

	memset(&d1, 0, sizeof(d1));
	d1.max_labels = o.max_labels;
	d2 = d1;
	err1[0] = err2[0] = '\0';

	tp = textparse_new(&o, &cb, &d1);
	rc1 = textparse_parse(tp, fmt, body, len, err1, sizeof(err1));
	st1 = *textparse_stats(tp);
	textparse_free(tp);

	tp = textparse_new(&o, &cb, &d2);
	textparse_begin(tp, fmt);
	rc2 = 0;
	for (off = 0; off < len && rc2 == 0; off += step)
		rc2 = textparse_feed(tp, body + off,
		    len - off < step ? len - off : step, err2, sizeof(err2));
	if (rc2 == 0)
		rc2 = textparse_finish(tp, err2, sizeof(err2));

	if (rc1 != rc2 || strcmp(err1, err2) != 0 || d1.h != d2.h ||
	    st1.samples != textparse_stats(tp)->samples ||
	    st1.skipped != textparse_stats(tp)->skipped ||
	    st1.lines != textparse_stats(tp)->lines)
		abort();
	if (rc1 != 0 && strncmp(err1, "line ", 5) != 0)
		abort();
	textparse_free(tp);

	memset(&c, 0, sizeof(c));
	c.d.max_labels = o.max_labels;
	err3[0] = '\0';
	c.tp = tp = textparse_new(&o, &rcb, &c);
	rc3 = textparse_parse(tp, fmt, body, len, err3, sizeof(err3));
	if (rc3 != rc1 || strcmp(err1, err3) != 0 || c.d.h != d1.h ||
	    st1.samples != textparse_stats(tp)->samples ||
	    st1.skipped != textparse_stats(tp)->skipped ||
	    st1.lines != textparse_stats(tp)->lines)
		abort();
	textparse_free(tp);
	refs_free(&c);
	return 0;
}
