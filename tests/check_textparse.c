/*
 * Unit tests of textparse: every callback is rendered to one line of a
 * transcript, and a whole transcript is compared, so that order, values,
 * unescaping and timestamps are all checked at once.  Every case is parsed
 * three ways (whole, one byte per feed, split at each offset) and must give
 * the same transcript and the same error each time.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcheck.h"
#include "buf.h"
#include "textparse.h"
#include "xmalloc.h"

#ifndef SRCDIR
#define SRCDIR "."
#endif

/* A series text met before (FEED_REFS), and its transcript up to the value. */
struct rec_ref {
	char		*raw;
	size_t		 len;
	char		*prefix;
};

struct rec {
	struct buf	out;
	int		abort_at;	/* stop at this sample (1-based), or 0 */
	int		nsamples;
	struct textparse *tp;
	struct rec_ref	*refs;		/* FEED_REFS */
	size_t		 nrefs;
	int		 hits;
};

/* Bytes as they are, but LF, TAB and the non-printable spelled out. */
static void
put_text(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = *s;

		if (c == '\n')
			buf_adds(b, "<LF>");
		else if (c == '\t')
			buf_adds(b, "<TAB>");
		else if (c < 0x20 || c >= 0x7f)
			buf_printf(b, "<x%02x>", c);
		else
			buf_addc(b, c);
	}
}

/*
 * A double as Prometheus prints it (Go's 'g' format, shortest digits):
 * the exponent form below 1e-4 and from 1e6 on, plain decimals between.
 */
static void
put_double(struct buf *b, double v)
{
	char	tmp[64];
	int	prec, ex;

	if (isnan(v)) {
		buf_adds(b, "NaN");
		return;
	}
	if (isinf(v)) {
		buf_adds(b, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
	ex = atoi(strchr(tmp, 'e') + 1);
	if (ex >= -4 && ex < 6)
		snprintf(tmp, sizeof(tmp), "%.*f",
		    prec - 1 - ex > 0 ? prec - 1 - ex : 0, v);
	buf_adds(b, tmp);
}

static int
sample_tail(struct rec *r, double v, int has_ts, int64_t ts)
{
	buf_addc(&r->out, ' ');
	put_double(&r->out, v);
	if (has_ts)
		buf_printf(&r->out, " @%lld", (long long)ts);
	buf_addc(&r->out, '\n');
	r->nsamples++;
	return r->abort_at != 0 && r->nsamples == r->abort_at;
}

static int
on_sample(void *arg, const char *name, const struct label *l, size_t n,
    double v, int has_ts, int64_t ts)
{
	struct rec	*r = arg;
	struct rec_ref	*ref;
	const char	*raw;
	size_t		 i, start = r->out.len, len;

	buf_printf(&r->out, "S %s", name);
	if (n > 0) {
		buf_addc(&r->out, '{');
		for (i = 0; i < n; i++) {
			buf_printf(&r->out, "%s%s=\"", i ? "," : "", l[i].name);
			put_text(&r->out, l[i].value);
			buf_addc(&r->out, '"');
		}
		buf_addc(&r->out, '}');
	}
	if (r->refs != NULL) {
		raw = textparse_raw(r->tp, &len);
		ck_assert_ptr_nonnull(raw);
		r->refs = xreallocarray(r->refs, r->nrefs + 1,
		    sizeof(*r->refs));
		ref = &r->refs[r->nrefs++];
		ref->raw = xmalloc(len + 1);
		memcpy(ref->raw, raw, len);
		ref->len = len;
		ref->prefix = xstrndup(r->out.data + start, r->out.len - start);
	}
	return sample_tail(r, v, has_ts, ts);
}

static void *
on_series_ref(void *arg, const char *raw, size_t len)
{
	struct rec	*r = arg;
	size_t		 i;

	for (i = r->nrefs; i-- > 0; )
		if (r->refs[i].len == len && memcmp(r->refs[i].raw, raw,
		    len) == 0)
			return &r->refs[i];
	return NULL;
}

static int
on_sample_ref(void *arg, void *ref, double v, int has_ts, int64_t ts)
{
	struct rec *r = arg;

	r->hits++;
	buf_adds(&r->out, ((struct rec_ref *)ref)->prefix);
	return sample_tail(r, v, has_ts, ts);
}

static int
on_help(void *arg, const char *name, const char *text)
{
	struct rec *r = arg;

	buf_printf(&r->out, "H %s \"", name);
	put_text(&r->out, text);
	buf_adds(&r->out, "\"\n");
	return 0;
}

static int
on_type(void *arg, const char *name, enum textparse_type t)
{
	struct rec *r = arg;

	buf_printf(&r->out, "T %s %s\n", name, textparse_type_name(t));
	return 0;
}

static int
on_unit(void *arg, const char *name, const char *unit)
{
	struct rec *r = arg;

	buf_printf(&r->out, "U %s \"%s\"\n", name, unit);
	return 0;
}

static const struct textparse_cb cbs = {
	.sample = on_sample, .help = on_help, .type = on_type, .unit = on_unit,
};

static const struct textparse_cb ref_cbs = {
	.sample = on_sample, .help = on_help, .type = on_type, .unit = on_unit,
	.series_ref = on_series_ref, .sample_ref = on_sample_ref,
};

/* The ways of feeding a body. */
enum feed_mode {
	FEED_WHOLE,
	FEED_BYTES,
	FEED_SPLIT,
	FEED_REFS,	/* whole, twice, with the series of the first known */
};

struct result {
	int	rc;
	char	err[512];
	char	*transcript;
	uint64_t skipped;
	uint64_t samples;
	int	 hits;		/* FEED_REFS: samples through sample_ref */
};

static void
run(const struct textparse_opts *o, enum textparse_format fmt,
    const char *in, size_t len, enum feed_mode mode, size_t split,
    struct result *res)
{
	struct rec		 r;
	struct textparse	*tp;
	size_t			 i;
	int			 rc = 0;

	memset(&r, 0, sizeof(r));
	memset(res, 0, sizeof(*res));
	buf_adds(&r.out, "");
	tp = textparse_new(o, mode == FEED_REFS ? &ref_cbs : &cbs, &r);
	r.tp = tp;
	switch (mode) {
	case FEED_REFS:
		r.refs = xcalloc(1, sizeof(*r.refs));
		(void)textparse_parse(tp, fmt, in, len, res->err,
		    sizeof(res->err));
		buf_reset(&r.out);
		buf_adds(&r.out, "");
		r.nsamples = 0;
		r.hits = 0;
		rc = textparse_parse(tp, fmt, in, len, res->err,
		    sizeof(res->err));
		for (i = 0; i < r.nrefs; i++) {
			free(r.refs[i].raw);
			free(r.refs[i].prefix);
		}
		free(r.refs);
		break;
	case FEED_WHOLE:
		rc = textparse_parse(tp, fmt, in, len, res->err,
		    sizeof(res->err));
		break;
	case FEED_BYTES:
		textparse_begin(tp, fmt);
		for (i = 0; i < len && rc == 0; i++)
			rc = textparse_feed(tp, in + i, 1, res->err,
			    sizeof(res->err));
		if (rc == 0)
			rc = textparse_finish(tp, res->err, sizeof(res->err));
		break;
	case FEED_SPLIT:
		textparse_begin(tp, fmt);
		rc = textparse_feed(tp, in, split, res->err, sizeof(res->err));
		if (rc == 0)
			rc = textparse_feed(tp, in + split, len - split,
			    res->err, sizeof(res->err));
		if (rc == 0)
			rc = textparse_finish(tp, res->err, sizeof(res->err));
		break;
	}
	res->rc = rc;
	res->hits = r.hits;
	res->skipped = textparse_stats(tp)->skipped;
	res->samples = textparse_stats(tp)->samples;
	res->transcript = buf_detach(&r.out);
	textparse_free(tp);
}

/*
 * Parse IN every way and check that each gives RC, ERR (when RC != 0) and,
 * when WANT is not NULL, exactly the transcript WANT.
 */
static void
check_all(const struct textparse_opts *o, enum textparse_format fmt,
    const char *in, size_t len, int rc, const char *err, const char *want)
{
	struct result	whole, other;
	size_t		split;

	run(o, fmt, in, len, FEED_WHOLE, 0, &whole);
	if (whole.rc != rc || (rc != 0 && strcmp(whole.err, err) != 0))
		ck_abort_msg("input %s: got rc %d \"%s\", want %d \"%s\"", in,
		    whole.rc, whole.rc ? whole.err : "", rc, err);
	if (want != NULL)
		ck_assert_str_eq(whole.transcript, want);

	run(o, fmt, in, len, FEED_BYTES, 0, &other);
	ck_assert_int_eq(other.rc, rc);
	if (rc != 0)
		ck_assert_str_eq(other.err, whole.err);
	ck_assert_str_eq(other.transcript, whole.transcript);
	free(other.transcript);
	/* The second parse of FEED_REFS knows every series of the first:
	 * all its samples but those of lines after an abort or an error
	 * go through sample_ref, with the same result. */
	run(o, fmt, in, len, FEED_REFS, 0, &other);
	ck_assert_int_eq(other.rc, rc);
	if (rc != 0)
		ck_assert_str_eq(other.err, whole.err);
	ck_assert_str_eq(other.transcript, whole.transcript);
	ck_assert_uint_eq(other.skipped, whole.skipped);
	ck_assert_uint_eq(other.samples, whole.samples);
	if (rc == 0)
		ck_assert_uint_eq((uint64_t)other.hits, whole.samples);
	free(other.transcript);
	/* Long inputs are split at a sample of offsets only. */
	for (split = 0; split <= len; split += len > 4096 ? 997 : 1) {
		run(o, fmt, in, len, FEED_SPLIT, split, &other);
		ck_assert_int_eq(other.rc, rc);
		if (rc != 0)
			ck_assert_str_eq(other.err, whole.err);
		ck_assert_str_eq(other.transcript, whole.transcript);
		free(other.transcript);
	}
	free(whole.transcript);
}

static const struct {
	enum textparse_format	 fmt;
	const char		*in;
	const char		*want;
} good[] = {
	/* 0: a node_exporter-like page */
	{ TEXTPARSE_PROM,
	  "# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n"
	  "# TYPE node_cpu_seconds_total counter\n"
	  "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 12345.67\n"
	  "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 1.5e3\n"
	  "# HELP node_load1 1m load average.\n"
	  "# TYPE node_load1 gauge\n"
	  "node_load1 0.5 1700000000000\n"
	  "# TYPE untyped_thing untyped\n"
	  "untyped_thing 42\n",
	  "H node_cpu_seconds_total \"Seconds the CPUs spent in each mode.\"\n"
	  "T node_cpu_seconds_total counter\n"
	  "S node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 12345.67\n"
	  "S node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 1500\n"
	  "H node_load1 \"1m load average.\"\n"
	  "T node_load1 gauge\n"
	  "S node_load1 0.5 @1700000000000\n"
	  "T untyped_thing untyped\n"
	  "S untyped_thing 42\n" },
	/* 1: escapes in HELP (0.0.4 knows \\ and \n only) and label values */
	{ TEXTPARSE_PROM,
	  "# HELP esc A \\\\ backslash,\\n newline, \\\"quote\\\" and \\t\n"
	  "esc{path=\"C:\\\\dir\",q=\"say \\\"hi\\\"\",nl=\"a\\nb\",odd=\"\\t\\x\"} 1\n"
	  "esc{utf=\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\",empty=\"\"} 2\n",
	  "H esc \"A \\ backslash,<LF> newline, \\\"quote\\\" and \\t\"\n"
	  "S esc{path=\"C:\\dir\",q=\"say \"hi\"\",nl=\"a<LF>b\",odd=\"\\t\\x\"} 1\n"
	  "S esc{utf=\"h<xc3><xa9>llo <xe2><x82><xac> <xf0><x9f><x98><x80>\",empty=\"\"} 2\n" },
	/* 2: every spelling of a value Go's ParseFloat accepts */
	{ TEXTPARSE_PROM,
	  "v NaN\nv nan\nv +Inf\nv -Inf\nv Inf\nv inf\nv +infinity\n"
	  "v -Infinity\nv -0\nv +0\nv .5\nv 5.\nv 1e3\nv 1E-3\nv +1.5e+2\n"
	  "v -2.5E-2\nv 007\nv 0.000001\nv 1e-400\nv 123456789012345678901\n"
	  "v 1.7976931348623157e308\nv 0e999999999999999999\n",
	  "S v NaN\nS v NaN\nS v +Inf\nS v -Inf\nS v +Inf\nS v +Inf\nS v +Inf\n"
	  "S v -Inf\nS v -0\nS v 0\nS v 0.5\nS v 5\nS v 1000\nS v 0.001\n"
	  "S v 150\nS v -0.025\nS v 7\nS v 1e-06\nS v 0\n"
	  "S v 1.2345678901234568e+20\nS v 1.7976931348623157e+308\nS v 0\n" },
	/* 3: timestamps: integer milliseconds, signs */
	{ TEXTPARSE_PROM,
	  "t 1 0\nt 1 -1\nt 1 +5\nt 1 9223372036854775807\n"
	  "t 1 -9223372036854775808\nt 1 0001\n",
	  "S t 1 @0\nS t 1 @-1\nS t 1 @5\nS t 1 @9223372036854775807\n"
	  "S t 1 @-9223372036854775808\nS t 1 @1\n" },
	/* 4: histogram and summary families */
	{ TEXTPARSE_PROM,
	  "# HELP http_request_duration_seconds Request latency.\n"
	  "# TYPE http_request_duration_seconds histogram\n"
	  "http_request_duration_seconds_bucket{le=\"0.1\"} 10\n"
	  "http_request_duration_seconds_bucket{le=\"+Inf\"} 12\n"
	  "http_request_duration_seconds_sum 3.5\n"
	  "http_request_duration_seconds_count 12\n"
	  "# TYPE rpc_seconds summary\n"
	  "rpc_seconds{quantile=\"0.5\"} 0.2\n"
	  "rpc_seconds{quantile=\"0.99\"} NaN\n"
	  "rpc_seconds_sum 10\n"
	  "rpc_seconds_count 50\n",
	  "H http_request_duration_seconds \"Request latency.\"\n"
	  "T http_request_duration_seconds histogram\n"
	  "S http_request_duration_seconds_bucket{le=\"0.1\"} 10\n"
	  "S http_request_duration_seconds_bucket{le=\"+Inf\"} 12\n"
	  "S http_request_duration_seconds_sum 3.5\n"
	  "S http_request_duration_seconds_count 12\n"
	  "T rpc_seconds summary\n"
	  "S rpc_seconds{quantile=\"0.5\"} 0.2\n"
	  "S rpc_seconds{quantile=\"0.99\"} NaN\n"
	  "S rpc_seconds_sum 10\n"
	  "S rpc_seconds_count 50\n" },
	/* 5: comments, blank lines, odd spacing, trailing comma, {} */
	{ TEXTPARSE_PROM,
	  "\n# just a comment\n#HELP not_meta x\n# HELPER x y\n#\n   \n"
	  "# EOF is only a comment in 0.0.4\n# UNIT x seconds\n"
	  "\t a:b_c  {  x = \"1\" ,\ty=\"2\", }   3 \t 4  \n"
	  "d{} 5\n"
	  "e {f=\"g\"} 6\n"
	  "f{g=\"h\"}7\n"
	  "#   TYPE   spaced   gauge  \n"
	  "# HELP spaced\n"
	  "# HELP spaced \t  \n",
	  "S a:b_c{x=\"1\",y=\"2\"} 3 @4\n"
	  "S d 5\n"
	  "S e{f=\"g\"} 6\n"
	  "S f{g=\"h\"} 7\n"
	  "T spaced gauge\n"
	  "H spaced \"\"\n"
	  "H spaced \"\"\n" },
	/* 6: CRLF line ends and no final newline */
	{ TEXTPARSE_PROM,
	  "# HELP crlf Windows \\\\ line ends.\r\n"
	  "# TYPE crlf gauge\r\n"
	  "\r\n"
	  "crlf{a=\"b\"} 1 2\r\n"
	  "crlf 3",
	  "H crlf \"Windows \\ line ends.\"\n"
	  "T crlf gauge\n"
	  "S crlf{a=\"b\"} 1 @2\n"
	  "S crlf 3\n" },
	/* 7: OpenMetrics with every type, UNIT, exemplars, float seconds */
	{ TEXTPARSE_OPENMETRICS,
	  "# TYPE foo counter\n"
	  "# UNIT foo seconds\n"
	  "# HELP foo A \\\"quoted\\\" help\\\\ \\n.\n"
	  "foo_total{a=\"b\"} 1 1520879607.789 # {trace_id=\"KOO5S4vxi0o\"} 0.67 1520879602.1\n"
	  "foo_total{a=\"c\"} 2 # {} 1\n"
	  "foo_created 1520430000.123\n"
	  "# TYPE gh gaugehistogram\n"
	  "gh_bucket{le=\"+Inf\"} 3 1.001\n"
	  "gh_gcount 3 1.0009\n"
	  "gh_gsum 7 -0.0019\n"
	  "# TYPE st stateset\n"
	  "st{st=\"a\"} 1 1e3\n"
	  "# TYPE i info\n"
	  "i_info{v=\"1\"} 1 -1.5\n"
	  "# TYPE u unknown\n"
	  "u 1 0.0001\n"
	  "# TYPE s summary\n"
	  "s{quantile=\"0.9\"} 1.5 9223372036854775.807\n"
	  "# TYPE h histogram\n"
	  "h_bucket{le=\"1\"} 0 # {id=\"x\"} 0.5 1.5e9\n"
	  "# EOF\n",
	  "T foo counter\n"
	  "U foo \"seconds\"\n"
	  "H foo \"A \"quoted\" help\\ <LF>.\"\n"
	  "S foo_total{a=\"b\"} 1 @1520879607789\n"
	  "S foo_total{a=\"c\"} 2\n"
	  "S foo_created 1.520430000123e+09\n"
	  "T gh gaugehistogram\n"
	  "S gh_bucket{le=\"+Inf\"} 3 @1001\n"
	  "S gh_gcount 3 @1000\n"
	  "S gh_gsum 7 @-1\n"
	  "T st stateset\n"
	  "S st{st=\"a\"} 1 @1000000\n"
	  "T i info\n"
	  "S i_info{v=\"1\"} 1 @-1500\n"
	  "T u unknown\n"
	  "S u 1 @0\n"
	  "T s summary\n"
	  "S s{quantile=\"0.9\"} 1.5 @9223372036854775807\n"
	  "T h histogram\n"
	  "S h_bucket{le=\"1\"} 0\n" },
	/* 8: OpenMetrics, # EOF without newline, CRLF */
	{ TEXTPARSE_OPENMETRICS,
	  "a 1\r\n# EOF",
	  "S a 1\n" },
	/* 9: OpenMetrics, # EOF with CRLF; an empty body in 0.0.4 is fine */
	{ TEXTPARSE_OPENMETRICS, "# EOF\r\n", "" },
	{ TEXTPARSE_PROM, "", "" },
	{ TEXTPARSE_PROM, "\n\n", "" },
};

START_TEST(test_good)
{
	const char *in = good[_i].in;

	check_all(NULL, good[_i].fmt, in, strlen(in), 0, NULL, good[_i].want);
}
END_TEST

static const struct {
	enum textparse_format	 fmt;
	const char		*in;
	size_t			 len;	/* 0: strlen(in) */
	const char		*err;
} bad[] = {
	{ TEXTPARSE_PROM, "3x 1\n", 0,
	  "line 1: invalid metric name \"3x\"" },
	{ TEXTPARSE_PROM, "ok 1\nfoo-bar 1\n", 0,
	  "line 2: invalid metric name \"foo-bar\"" },
	{ TEXTPARSE_PROM, "a 1\nb 2\nhttp_requests_total{code \"200\"} 1\n", 0,
	  "line 3: expected '=' after label name \"code\"" },
	{ TEXTPARSE_PROM, "foo{a} 1\n", 0,
	  "line 1: expected '=' after label name \"a\"" },
	{ TEXTPARSE_PROM, "foo{a=b} 1\n", 0,
	  "line 1: expected '\"' to open the value of label \"a\"" },
	{ TEXTPARSE_PROM, "a 1\nb 2\nc 3\nd 4\ne 5\nf 6\nfoo abc\n", 0,
	  "line 7: invalid value \"abc\"" },
	{ TEXTPARSE_PROM, "x 1\nfoo{job=\"a\",job=\"b\"} 1\n", 0,
	  "line 2: duplicate label \"job\"" },
	{ TEXTPARSE_PROM, "foo{l0=\"\",l1=\"\",l2=\"\",l3=\"\",l4=\"\",l5=\"\","
	  "l6=\"\",l7=\"\",l8=\"\",l9=\"\",l10=\"\",l11=\"\",l12=\"\",l13=\"\","
	  "l14=\"\",l15=\"\",l16=\"\",l17=\"\",l5=\"\",l3=\"\"} 1\n", 0,
	  "line 1: duplicate label \"l5\"" },
	{ TEXTPARSE_PROM, "a 1\nb 2\nc 3\nd 4\ne 5\nf 6\ng 7\nh 8\n"
	  "foo{a=\"b\n", 0,
	  "line 9: unexpected end of line in label value" },
	{ TEXTPARSE_PROM, "foo{a=\"b\\", 0,
	  "line 1: unexpected end of line in label value" },
	{ TEXTPARSE_PROM, "foo{a=\"b\"", 0,
	  "line 1: unexpected end of line in labels" },
	{ TEXTPARSE_PROM, "foo{a=\"b\" c=\"d\"} 1", 0,
	  "line 1: expected ',' or '}' after label value, found 'c'" },
	{ TEXTPARSE_PROM, "foo{__name__=\"x\"} 1", 0,
	  "line 1: label \"__name__\" not allowed" },
	{ TEXTPARSE_PROM, "foo{1a=\"x\"} 1", 0,
	  "line 1: invalid label name \"1a\"" },
	{ TEXTPARSE_PROM, "foo{a-b=\"x\"} 1", 0,
	  "line 1: invalid label name \"a-b\"" },
	{ TEXTPARSE_PROM, "foo{a:b=\"x\"} 1", 0,
	  "line 1: invalid label name \"a:b\"" },
	{ TEXTPARSE_PROM, "foo{=\"x\"} 1", 0,
	  "line 1: expected label name, found '='" },
	{ TEXTPARSE_PROM, "foo{,} 1", 0,
	  "line 1: expected label name, found ','" },
	{ TEXTPARSE_PROM, "foo\n", 0, "line 1: missing value" },
	{ TEXTPARSE_PROM, "foo{a=\"b\"}  \n", 0, "line 1: missing value" },
	{ TEXTPARSE_PROM, "foo 0x1p3", 0, "line 1: invalid value \"0x1p3\"" },
	{ TEXTPARSE_PROM, "foo 0x10", 0, "line 1: invalid value \"0x10\"" },
	{ TEXTPARSE_PROM, "foo 1_000", 0, "line 1: invalid value \"1_000\"" },
	{ TEXTPARSE_PROM, "foo +NaN", 0, "line 1: invalid value \"+NaN\"" },
	{ TEXTPARSE_PROM, "foo infinit", 0,
	  "line 1: invalid value \"infinit\"" },
	{ TEXTPARSE_PROM, "foo 1e", 0, "line 1: invalid value \"1e\"" },
	{ TEXTPARSE_PROM, "foo .", 0, "line 1: invalid value \".\"" },
	{ TEXTPARSE_PROM, "foo 1.2.3", 0, "line 1: invalid value \"1.2.3\"" },
	{ TEXTPARSE_PROM, "foo{a=\"b\"}} 1", 0, "line 1: invalid value \"}\"" },
	{ TEXTPARSE_PROM, "foo 1e309", 0,
	  "line 1: value \"1e309\" out of range" },
	{ TEXTPARSE_PROM, "foo -1.8e308", 0,
	  "line 1: value \"-1.8e308\" out of range" },
	{ TEXTPARSE_PROM, "foo 1 1.5", 0, "line 1: invalid timestamp \"1.5\"" },
	{ TEXTPARSE_PROM, "a 1\nb 2\nc 3\nd 4\nfoo 1 9223372036854775808\n", 0,
	  "line 5: timestamp out of range" },
	{ TEXTPARSE_PROM, "foo 1 -9223372036854775809", 0,
	  "line 1: timestamp out of range" },
	{ TEXTPARSE_PROM, "foo 1 -", 0, "line 1: invalid timestamp \"-\"" },
	{ TEXTPARSE_PROM, "foo 1 2 3", 0,
	  "line 1: unexpected text after timestamp: \"3\"" },
	{ TEXTPARSE_PROM, "foo 1 # {a=\"b\"} 1", 0,
	  "line 1: invalid timestamp \"#\"" },
	{ TEXTPARSE_PROM, "# TYPE foo bar", 0,
	  "line 1: invalid metric type \"bar\"" },
	{ TEXTPARSE_PROM, "# TYPE foo info", 0,
	  "line 1: invalid metric type \"info\"" },
	{ TEXTPARSE_PROM, "# TYPE foo counter gauge", 0,
	  "line 1: invalid metric type \"counter gauge\"" },
	{ TEXTPARSE_PROM, "# TYPE foo  \n", 0, "line 1: missing metric type" },
	{ TEXTPARSE_PROM, "# HELP", 0, "line 1: missing metric name in HELP" },
	{ TEXTPARSE_PROM, "# TYPE \n", 0,
	  "line 1: missing metric name in TYPE" },
	{ TEXTPARSE_PROM, "# HELP 3x text", 0,
	  "line 1: invalid metric name \"3x\"" },
	{ TEXTPARSE_PROM, "# TYPE foo-bar counter", 0,
	  "line 1: invalid metric name \"foo-bar\"" },
	{ TEXTPARSE_PROM, "a 1\nfoo{a=\"x\0y\"} 1\n", 18,
	  "line 2: invalid NUL byte" },
	{ TEXTPARSE_PROM, "# comment \0\n", 12, "line 1: invalid NUL byte" },
	{ TEXTPARSE_PROM, "foo{a=\"\xff\"} 1", 0,
	  "line 1: invalid UTF-8 in the value of label \"a\"" },
	{ TEXTPARSE_PROM, "foo{a=\"\xed\xa0\x80\"} 1", 0,
	  "line 1: invalid UTF-8 in the value of label \"a\"" },
	{ TEXTPARSE_PROM, "foo{a=\"\xc0\xaf\"} 1", 0,
	  "line 1: invalid UTF-8 in the value of label \"a\"" },
	{ TEXTPARSE_PROM, "foo{a=\"\xe2\x82\"} 1", 0,
	  "line 1: invalid UTF-8 in the value of label \"a\"" },
	{ TEXTPARSE_PROM, "# HELP foo bad \xc3", 0,
	  "line 1: invalid UTF-8 in HELP text" },
	{ TEXTPARSE_PROM, "a 1\r\nb{\r\n", 0,
	  "line 2: unexpected end of line in labels" },
	{ TEXTPARSE_PROM, "foo xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 0,
	  "line 1: invalid value \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"..." },
	{ TEXTPARSE_PROM, "foo 1\x01", 0, "line 1: invalid value \"1\\x01\"" },
	{ TEXTPARSE_PROM, "foo{\x01=\"\"} 1", 0,
	  "line 1: invalid label name \"\\x01\"" },
	{ TEXTPARSE_PROM, "foo{a=\"b\",\"c\"=\"d\"} 1", 0,
	  "line 1: expected label name, found '\"'" },
	{ TEXTPARSE_OPENMETRICS, "foo 1\n", 0, "line 2: missing # EOF" },
	{ TEXTPARSE_OPENMETRICS, "foo 1", 0, "line 2: missing # EOF" },
	{ TEXTPARSE_OPENMETRICS, "", 0, "line 1: missing # EOF" },
	{ TEXTPARSE_OPENMETRICS, "# EOF\nfoo 1\n", 0,
	  "line 2: unexpected data after # EOF" },
	{ TEXTPARSE_OPENMETRICS, "a 1\n# EOF\n\n", 0,
	  "line 3: unexpected data after # EOF" },
	{ TEXTPARSE_OPENMETRICS, "# EOF x\n", 0,
	  "line 1: unexpected text after # EOF: \"x\"" },
	{ TEXTPARSE_OPENMETRICS, "# TYPE foo untyped\n# EOF\n", 0,
	  "line 1: invalid metric type \"untyped\"" },
	{ TEXTPARSE_OPENMETRICS, "foo 1 # {a=\"b\"}\n# EOF\n", 0,
	  "line 1: missing exemplar value" },
	{ TEXTPARSE_OPENMETRICS, "foo 1 # x\n# EOF\n", 0,
	  "line 1: expected '{' after '#' in exemplar" },
	{ TEXTPARSE_OPENMETRICS, "foo 1 # {a=b} 1\n# EOF\n", 0,
	  "line 1: expected '\"' to open the value of label \"a\"" },
	{ TEXTPARSE_OPENMETRICS, "foo 1 # {a=\"b\"} x\n# EOF\n", 0,
	  "line 1: invalid exemplar value \"x\"" },
	{ TEXTPARSE_OPENMETRICS, "foo 1 # {a=\"b\"} 1 Inf\n# EOF\n", 0,
	  "line 1: invalid exemplar timestamp \"Inf\"" },
	{ TEXTPARSE_OPENMETRICS, "foo 1 # {a=\"b\"} 1 2 3\n# EOF\n", 0,
	  "line 1: unexpected text after exemplar: \"3\"" },
	{ TEXTPARSE_OPENMETRICS, "foo 1 NaN\n# EOF\n", 0,
	  "line 1: invalid timestamp \"NaN\"" },
	{ TEXTPARSE_OPENMETRICS, "foo 1 1_0\n# EOF\n", 0,
	  "line 1: invalid timestamp \"1_0\"" },
	{ TEXTPARSE_OPENMETRICS, "foo 1 1e30\n# EOF\n", 0,
	  "line 1: timestamp out of range" },
	{ TEXTPARSE_OPENMETRICS, "foo 1 -9223372036854775.808\n# EOF\n", 0,
	  "line 1: timestamp out of range" },
	{ TEXTPARSE_OPENMETRICS, "foo 1 1 2\n# EOF\n", 0,
	  "line 1: unexpected text after timestamp: \"2\"" },
	{ TEXTPARSE_OPENMETRICS, "# UNIT foo \xff\n# EOF\n", 0,
	  "line 1: invalid UTF-8 in UNIT" },
};

START_TEST(test_bad)
{
	size_t len = bad[_i].len ? bad[_i].len : strlen(bad[_i].in);

	check_all(NULL, bad[_i].fmt, bad[_i].in, len, TEXTPARSE_EINVAL,
	    bad[_i].err, NULL);
}
END_TEST

/* Limits from the options, each just inside and just over. */
START_TEST(test_limits)
{
	struct textparse_opts	o;
	static const char	crlf[] = "abcdefgh 1\r\n";

	textparse_opts_default(&o);
	o.max_labels = 2;
	check_all(&o, TEXTPARSE_PROM, "a{a=\"1\",b=\"2\"} 1", 16, 0, NULL,
	    "S a{a=\"1\",b=\"2\"} 1\n");
	check_all(&o, TEXTPARSE_PROM, "foo{a=\"1\",b=\"2\",c=\"3\"} 1", 24,
	    TEXTPARSE_EINVAL, "line 1: too many labels (limit 2)", NULL);

	textparse_opts_default(&o);
	o.max_name_len = 4;
	check_all(&o, TEXTPARSE_PROM, "a{abcd=\"1\"} 1", 13, 0, NULL,
	    "S a{abcd=\"1\"} 1\n");
	check_all(&o, TEXTPARSE_PROM, "foo{abcde=\"1\"} 1", 16,
	    TEXTPARSE_EINVAL,
	    "line 1: label name \"abcde\" too long (limit 4 bytes)", NULL);

	textparse_opts_default(&o);
	o.max_value_len = 4;
	/* The limit applies to the unescaped value. */
	check_all(&o, TEXTPARSE_PROM, "abcd{a=\"12\\n4\"} 1", 17, 0, NULL,
	    "S abcd{a=\"12<LF>4\"} 1\n");
	check_all(&o, TEXTPARSE_PROM, "foo{a=\"12345\"} 1", 16,
	    TEXTPARSE_EINVAL,
	    "line 1: value of label \"a\" too long (limit 4 bytes)", NULL);
	check_all(&o, TEXTPARSE_PROM, "abcde 1", 7, TEXTPARSE_EINVAL,
	    "line 1: metric name too long (limit 4 bytes)", NULL);

	textparse_opts_default(&o);
	o.max_line = 10;
	check_all(&o, TEXTPARSE_PROM, crlf, strlen(crlf), 0, NULL,
	    "S abcdefgh 1\n");
	check_all(&o, TEXTPARSE_PROM, "a 1\nabcdefghi 1\n", 16,
	    TEXTPARSE_EINVAL, "line 2: line too long (limit 10 bytes)", NULL);
	check_all(&o, TEXTPARSE_PROM, "a 1\nabcdefghi 1", 15,
	    TEXTPARSE_EINVAL, "line 2: line too long (limit 10 bytes)", NULL);
	check_all(&o, TEXTPARSE_PROM, "a 1\nabcdefghi 1\r\n", 17,
	    TEXTPARSE_EINVAL, "line 2: line too long (limit 10 bytes)", NULL);

	textparse_opts_default(&o);
	o.sample_limit = 2;
	check_all(&o, TEXTPARSE_PROM, "a 1\n# HELP b x\nb 2\n", 19, 0, NULL,
	    "S a 1\nH b \"x\"\nS b 2\n");
	check_all(&o, TEXTPARSE_PROM, "a 1\nb 2\nc 3\nd 4\n", 16,
	    TEXTPARSE_ELIMIT, "line 3: sample limit of 2 exceeded", NULL);
	/* A body limit stops the parse even when bad lines are skipped. */
	o.skip_bad = 1;
	check_all(&o, TEXTPARSE_PROM, "a 1\nb 2\nc 3\nd 4\n", 16,
	    TEXTPARSE_ELIMIT, "line 3: sample limit of 2 exceeded", NULL);
}
END_TEST

START_TEST(test_skip_bad)
{
	static const char in[] =
	    "a 1\n"
	    "b{x=\"1\",x=\"2\"} 2\n"
	    "c 3\n"
	    "d abc\n"
	    "# TYPE e nope\n"
	    "averyveryverylongline 5\n"
	    "f 6";
	struct textparse_opts	 o;
	struct textparse	*tp;
	struct rec		 r;
	char			 err[256];
	size_t			 split;

	textparse_opts_default(&o);
	o.skip_bad = 1;
	o.max_line = 20;
	check_all(&o, TEXTPARSE_PROM, in, strlen(in), 0, NULL,
	    "S a 1\nS c 3\nS f 6\n");

	memset(&r, 0, sizeof(r));
	tp = textparse_new(&o, &cbs, &r);
	for (split = 0; split <= strlen(in); split++) {
		buf_reset(&r.out);
		textparse_begin(tp, TEXTPARSE_PROM);
		ck_assert_int_eq(textparse_feed(tp, in, split, err,
		    sizeof(err)), 0);
		ck_assert_int_eq(textparse_feed(tp, in + split,
		    strlen(in) - split, err, sizeof(err)), 0);
		ck_assert_int_eq(textparse_finish(tp, err, sizeof(err)), 0);
		ck_assert_uint_eq(textparse_stats(tp)->lines, 7);
		ck_assert_uint_eq(textparse_stats(tp)->samples, 3);
		ck_assert_uint_eq(textparse_stats(tp)->skipped, 4);
		ck_assert_str_eq(textparse_first_skipped(tp),
		    "line 2: duplicate label \"x\"");
	}
	/* A new body forgets the old one's skipped lines. */
	ck_assert_int_eq(textparse_parse(tp, TEXTPARSE_PROM, "a 1\n", 4, err,
	    sizeof(err)), 0);
	ck_assert_ptr_null(textparse_first_skipped(tp));
	ck_assert_uint_eq(textparse_stats(tp)->skipped, 0);

	/* OpenMetrics: a missing # EOF is counted; data after it ignored. */
	ck_assert_int_eq(textparse_parse(tp, TEXTPARSE_OPENMETRICS, "a 1\n", 4,
	    err, sizeof(err)), 0);
	ck_assert_uint_eq(textparse_stats(tp)->skipped, 1);
	ck_assert_str_eq(textparse_first_skipped(tp), "line 2: missing # EOF");
	buf_reset(&r.out);
	ck_assert_int_eq(textparse_parse(tp, TEXTPARSE_OPENMETRICS,
	    "a 1\n# EOF\nb 2\nc 3\n", 18, err, sizeof(err)), 0);
	ck_assert_uint_eq(textparse_stats(tp)->skipped, 1);
	ck_assert_uint_eq(textparse_stats(tp)->samples, 1);
	ck_assert_str_eq(textparse_first_skipped(tp),
	    "line 3: unexpected data after # EOF");
	textparse_free(tp);
	buf_free(&r.out);
}
END_TEST

START_TEST(test_abort_and_sticky_error)
{
	struct textparse	*tp;
	struct rec		 r;
	char			 err[256];

	memset(&r, 0, sizeof(r));
	r.abort_at = 2;
	tp = textparse_new(NULL, &cbs, &r);
	r.tp = tp;
	textparse_begin(tp, TEXTPARSE_PROM);
	ck_assert_int_eq(textparse_feed(tp, "a 1\nb 2\nc 3\n", 12, err,
	    sizeof(err)), TEXTPARSE_EABORT);
	ck_assert_str_eq(err, "line 2: stopped by the caller");
	ck_assert_str_eq(r.out.data, "S a 1\nS b 2\n");
	ck_assert_uint_eq(textparse_lineno(tp), 2);
	/* Once failed, the parser stays failed until textparse_begin. */
	err[0] = '\0';
	ck_assert_int_eq(textparse_feed(tp, "d 4\n", 4, err, sizeof(err)),
	    TEXTPARSE_EABORT);
	ck_assert_str_eq(err, "line 2: stopped by the caller");
	ck_assert_int_eq(textparse_finish(tp, err, sizeof(err)),
	    TEXTPARSE_EABORT);
	ck_assert_str_eq(r.out.data, "S a 1\nS b 2\n");

	r.abort_at = 0;
	buf_reset(&r.out);
	ck_assert_int_eq(textparse_parse(tp, TEXTPARSE_PROM, "d 4\n", 4, err,
	    0), 0);
	ck_assert_str_eq(r.out.data, "S d 4\n");
	ck_assert_int_eq(textparse_parse(tp, TEXTPARSE_PROM, "d x\n", 4, NULL,
	    0), TEXTPARSE_EINVAL);
	/* An empty body may come as NULL. */
	ck_assert_int_eq(textparse_parse(tp, TEXTPARSE_PROM, NULL, 0, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(textparse_parse(tp, TEXTPARSE_OPENMETRICS, NULL, 0,
	    err, sizeof(err)), TEXTPARSE_EINVAL);
	ck_assert_str_eq(err, "line 1: missing # EOF");
	textparse_free(tp);
	textparse_free(NULL);
	buf_free(&r.out);
}
END_TEST

/* Many labels: repeats are found by sorting, still the first in order. */
START_TEST(test_many_labels)
{
	struct buf	in = BUF_INIT;
	size_t		i;

	buf_adds(&in, "m{");
	for (i = 0; i < 3000; i++) {
		size_t k = i;

		if (i == 2999)
			k = 10;
		else if (i == 2500)
			k = 2000;
		buf_printf(&in, "n%zu=\"%zu\",", k, i);
	}
	buf_adds(&in, "} 1\n");
	check_all(NULL, TEXTPARSE_PROM, in.data, in.len, TEXTPARSE_EINVAL,
	    "line 1: duplicate label \"n2000\"", NULL);
	buf_free(&in);
}
END_TEST

/* No callbacks at all: the parser still checks and counts. */
START_TEST(test_no_callbacks)
{
	struct textparse	*tp = textparse_new(NULL, NULL, NULL);
	char			 err[128];

	ck_assert_int_eq(textparse_parse(tp, TEXTPARSE_OPENMETRICS,
	    "# HELP a x\n# TYPE a gauge\n# UNIT a b\na 1\n# EOF\n", 46, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(textparse_stats(tp)->samples, 1);
	ck_assert_uint_eq(textparse_stats(tp)->lines, 5);
	textparse_free(tp);
}
END_TEST

struct valrec {
	double	v;
	int64_t	ts;
	int	has_ts;
};

static int
on_value(void *arg, const char *name, const struct label *l, size_t n,
    double v, int has_ts, int64_t ts)
{
	struct valrec *vr = arg;

	vr->v = v;
	vr->ts = ts;
	vr->has_ts = has_ts;
	return 0;
}

static double
parse_one(const char *num)
{
	static const struct textparse_cb cb = { .sample = on_value };
	struct textparse	*tp;
	struct valrec		 vr;
	struct buf		 line = BUF_INIT;
	char			 err[256];

	buf_printf(&line, "m %s\n", num);
	tp = textparse_new(NULL, &cb, &vr);
	ck_assert_int_eq(textparse_parse(tp, TEXTPARSE_PROM, line.data,
	    line.len, err, sizeof(err)), 0);
	textparse_free(tp);
	buf_free(&line);
	return vr.v;
}

/* Values agree bit for bit with a correctly rounding strtod. */
START_TEST(test_value_rounding)
{
	static const char *nums[] = {
		"0.1", "0.3", "1.7976931348623157e308", "4.9e-324",
		"2.2250738585072014e-308", "2.2250738585072011e-308",
		"123456789012345678901234567890", "9007199254740993",
		"9007199254740992.5", "1e22", "1e23", "123456789012345e22",
		"1.00000000000000011102230246251565404236316680908203125",
		"1.00000000000000011102230246251565404236316680908203124",
		"1.00000000000000011102230246251565404236316680908203126",
		"0.000000000000000000000000000000000000000000001e40",
		"-3.14159265358979323846264338327950288",
		"1.797693134862315807e308",
	};
	struct buf	 big = BUF_INIT;
	size_t		 i;
	double		 got, want;

	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		got = parse_one(nums[i]);
		want = strtod(nums[i], NULL);
		ck_assert_msg(memcmp(&got, &want, sizeof(got)) == 0,
		    "%s: got %.17g want %.17g", nums[i], got, want);
	}
	/*
	 * Halfway between 1 and the next double, then 900 zeros: ties to
	 * even (1); a 1 after the zeros must round up, although it sits far
	 * beyond the digits that are kept.
	 */
	for (i = 0; i < 2; i++) {
		size_t k;

		buf_reset(&big);
		buf_adds(&big, "1.00000000000000011102230246251565404236316680908203125");
		for (k = 0; k < 900; k++)
			buf_addc(&big, '0');
		if (i == 1)
			buf_addc(&big, '1');
		got = parse_one(big.data);
		want = strtod(big.data, NULL);
		ck_assert_msg(memcmp(&got, &want, sizeof(got)) == 0,
		    "case %zu: got %.17g want %.17g", i, got, want);
		ck_assert(i == 0 ? got == 1.0 : got > 1.0);
	}
	buf_free(&big);
}
END_TEST

START_TEST(test_format_for)
{
	ck_assert_int_eq(textparse_format_for(NULL), TEXTPARSE_PROM);
	ck_assert_int_eq(textparse_format_for(""), TEXTPARSE_PROM);
	ck_assert_int_eq(textparse_format_for("text/plain; version=0.0.4"),
	    TEXTPARSE_PROM);
	ck_assert_int_eq(textparse_format_for("application/openmetrics-text; "
	    "version=1.0.0; charset=utf-8"), TEXTPARSE_OPENMETRICS);
	ck_assert_int_eq(textparse_format_for("Application/OpenMetrics-Text"),
	    TEXTPARSE_OPENMETRICS);
	ck_assert_int_eq(textparse_format_for(" application/openmetrics-text ;"),
	    TEXTPARSE_OPENMETRICS);
	ck_assert_int_eq(textparse_format_for("application/openmetrics-textx"),
	    TEXTPARSE_PROM);
	ck_assert_str_eq(textparse_type_name(TEXTPARSE_GAUGEHISTOGRAM),
	    "gaugehistogram");
	ck_assert_str_eq(textparse_type_name(TEXTPARSE_UNTYPED), "untyped");
}
END_TEST

struct fixture_rec {
	uint64_t	n;
	int		bad_ts;
	char		first[128], tenth[128], uname[512], thousandth[128],
			last[512];
};

static void
render(char *out, size_t outlen, const char *name, const struct label *l,
    size_t n, double v, int64_t ts)
{
	struct buf	b = BUF_INIT;
	size_t		i;

	buf_adds(&b, name);
	for (i = 0; i < n; i++)
		buf_printf(&b, "%c%s=\"%s\"", i ? ',' : '{', l[i].name,
		    l[i].value);
	if (n > 0)
		buf_addc(&b, '}');
	buf_addc(&b, ' ');
	buf_add_double(&b, v);
	buf_printf(&b, " %lld", (long long)ts);
	snprintf(out, outlen, "%s", b.data);
	buf_free(&b);
}

static int
on_fixture(void *arg, const char *name, const struct label *l, size_t n,
    double v, int has_ts, int64_t ts)
{
	struct fixture_rec *fr = arg;

	fr->n++;
	if (!has_ts)
		fr->bad_ts = 1;
	if (fr->n == 1)
		render(fr->first, sizeof(fr->first), name, l, n, v, ts);
	if (fr->n == 10)
		render(fr->tenth, sizeof(fr->tenth), name, l, n, v, ts);
	if (fr->n == 1000)
		render(fr->thousandth, sizeof(fr->thousandth), name, l, n, v,
		    ts);
	if (fr->n == 485)
		render(fr->uname, sizeof(fr->uname), name, l, n, v, ts);
	render(fr->last, sizeof(fr->last), name, l, n, v, ts);
	return 0;
}

/* The first 2000 lines of a real node_exporter import file. */
START_TEST(test_fixture_node)
{
	static const struct textparse_cb cb = { .sample = on_fixture };
	struct fixture_rec	 fr;
	struct textparse	*tp;
	struct buf		 body = BUF_INIT;
	char			 path[1024], chunk[4096], err[256];
	const char		*dir = getenv("MONITORD_SRCDIR");
	FILE			*f;
	size_t			 n;

	snprintf(path, sizeof(path), "%s/tests/data/textparse/"
	    "node_real_head.prom", dir != NULL ? dir : SRCDIR);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&body, chunk, n);
	fclose(f);

	memset(&fr, 0, sizeof(fr));
	tp = textparse_new(NULL, &cb, &fr);
	ck_assert_int_eq(textparse_parse(tp, TEXTPARSE_PROM, body.data,
	    body.len, err, sizeof(err)), 0);
	ck_assert_uint_eq(fr.n, 2000);
	ck_assert_uint_eq(textparse_stats(tp)->lines, 2000);
	ck_assert_int_eq(fr.bad_ts, 0);
	ck_assert_str_eq(fr.first,
	    "go_gc_duration_seconds{quantile=\"0\"} 0 1795615778000");
	ck_assert_str_eq(fr.tenth,
	    "go_memstats_alloc_bytes 1.781968e+06 1795615778000");
	ck_assert_str_eq(fr.uname, "node_uname_info{domainname=\"(none)\","
	    "machine=\"x86_64\",nodename=\"vm\",release=\"6.18.44-fc-v782\","
	    "sysname=\"Linux\",version=\"#1 SMP PREEMPT_DYNAMIC @0\"} 1 "
	    "1795615778000");
	ck_assert_str_eq(fr.thousandth, "process_open_fds 11 1795615779001");
	ck_assert_str_eq(fr.last, "node_uname_info{domainname=\"(none)\","
	    "machine=\"x86_64\",nodename=\"vm\",release=\"6.18.44-fc-v782\","
	    "sysname=\"Linux\",version=\"#1 SMP PREEMPT_DYNAMIC @0\"} 1 "
	    "1795615781000");
	textparse_free(tp);
	buf_free(&body);
}
END_TEST

static Suite *
textparse_suite(void)
{
	Suite	*s = suite_create("textparse");
	TCase	*tc = tcase_create("textparse");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_good, 0, sizeof(good) / sizeof(good[0]));
	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_skip_bad);
	tcase_add_test(tc, test_abort_and_sticky_error);
	tcase_add_test(tc, test_many_labels);
	tcase_add_test(tc, test_no_callbacks);
	tcase_add_test(tc, test_value_rounding);
	tcase_add_test(tc, test_format_for);
	tcase_add_test(tc, test_fixture_node);
	suite_add_tcase(s, tc);
	return s;
}

TCHECK_MAIN(textparse_suite)
