/*
 * textparse: a streaming parser of the Prometheus text exposition format
 * (0.0.4) and of OpenMetrics 1.0 (see textparse.h for what is accepted).
 *
 * The parser works a line at a time, in place on the caller's buffer; only
 * a line split across two feeds is copied into the carry buffer.  Names and
 * unescaped label values are copied into one scratch buffer that is reserved
 * for the whole line before parsing starts (everything copied comes from
 * disjoint parts of the line, so twice its length always suffices), which
 * lets the struct label array point straight into it.  Numbers are checked
 * against Go's ParseFloat grammar first, so what reaches strtod is already
 * known to be valid; most values take an exact fast path (Clinger's: at most
 * 15 significant digits and a power of ten up to 22) and never reach strtod.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textparse.h"
#include "xmalloc.h"

#define MSG_MAX		320
#define QTOK_SHOW	40	/* bytes of a bad token quoted in a message */
#define QTOK_MAX	(QTOK_SHOW * 4 + 8)
#define DUP_LINEAR	16	/* above this many labels, find repeats by sorting */
/* Digits that decide the rounding of a double, plus margin (see
 * float_slow). */
#define FLOAT_DIGITS	780
#define EXP_CAP		100000000

struct textparse {
	struct textparse_opts	 opts;
	struct textparse_cb	 cb;
	void			*arg;
	locale_t		 cloc;

	enum textparse_format	 format;
	struct textparse_stats	 st;
	int			 failed;	/* 0 or the TEXTPARSE_E* code */
	int			 seen_eof;
	int			 after_eof;	/* skip_bad: ignore the rest */
	int			 discarding;	/* skip_bad: rest of a long line */

	char			*scratch;
	size_t			 scratch_cap;
	struct label		*lbls;
	size_t			 lbls_cap;
	struct dup_ent		*dups;
	size_t			 dups_cap;
	char			*carry;
	size_t			 carry_len, carry_cap;
	const char		*raw;		/* series text, in cb.sample */
	size_t			 rawlen;

	char			 msg[MSG_MAX];
	char			 first_skipped[MSG_MAX];
	int			 has_skipped;
};

struct dup_ent {
	const char	*name;
	size_t		 idx;
};

enum fnum_kind {
	FNUM_FINITE,
	FNUM_INF,
	FNUM_NAN,
};

/* A number checked against the grammar: value = digits * 10^exp10. */
struct fnum {
	enum fnum_kind	 kind;
	int		 neg;
	const char	*dig;	/* first significant digit; '.' may follow */
	uint64_t	 mant;	/* the first 19 significant digits */
	size_t		 ndig;	/* significant digits, leading zeros excluded */
	int64_t		 exp10;
};

static const struct {
	const char		*name;
	enum textparse_type	 type;
	int			 prom, om;
} type_names[] = {
	{ "counter",		TEXTPARSE_COUNTER,		1, 1 },
	{ "gauge",		TEXTPARSE_GAUGE,		1, 1 },
	{ "histogram",		TEXTPARSE_HISTOGRAM,		1, 1 },
	{ "summary",		TEXTPARSE_SUMMARY,		1, 1 },
	{ "untyped",		TEXTPARSE_UNTYPED,		1, 0 },
	{ "gaugehistogram",	TEXTPARSE_GAUGEHISTOGRAM,	0, 1 },
	{ "stateset",		TEXTPARSE_STATESET,		0, 1 },
	{ "info",		TEXTPARSE_INFO,			0, 1 },
	{ "unknown",		TEXTPARSE_UNKNOWN,		0, 1 },
};

static const double pow10_exact[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
	1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static int	lerr(struct textparse *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static inline int
is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static inline int
is_digit(char c)
{
	return (unsigned char)(c - '0') < 10;
}

static inline int
is_lname(char c)
{
	return (unsigned char)((c | 0x20) - 'a') < 26 || c == '_' || is_digit(c);
}

static inline int
is_mname(char c)
{
	return is_lname(c) || c == ':';
}

static inline const char *
skip_ws(const char *p, const char *e)
{
	while (p < e && is_ws(*p))
		p++;
	return p;
}

static inline const char *
tok_end(const char *p, const char *e)
{
	while (p < e && !is_ws(*p))
		p++;
	return p;
}

/* ASCII-only, whatever the locale says about case. */
static int
ascii_caseeq(const char *s, size_t n, const char *lower)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (lower[i] == '\0' || (s[i] | 0x20) != lower[i])
			return 0;
	}
	return lower[n] == '\0';
}

static int
utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char	c = s[i];
		unsigned char	lo = 0x80, hi = 0xbf;
		size_t		need, k;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0;	/* overlong */
			else if (c == 0xed)
				hi = 0x9f;	/* surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;	/* overlong */
			else if (c == 0xf4)
				hi = 0x8f;	/* above U+10FFFF */
		} else
			return 0;
		if (n - i <= need)
			return 0;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (k = 2; k <= need; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
		i += need + 1;
	}
	return 1;
}

/* Quote a token for a message, Go's %q style, cut after QTOK_SHOW bytes. */
static const char *
qtok(char *dst, const char *s, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	char			*o = dst;
	size_t			 i, show = n > QTOK_SHOW ? QTOK_SHOW : n;

	*o++ = '"';
	for (i = 0; i < show; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = c;
		} else if (c == '\t') {
			*o++ = '\\';
			*o++ = 't';
		} else if (c < 0x20 || c >= 0x7f) {
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		} else
			*o++ = c;
	}
	*o++ = '"';
	if (show < n) {
		memcpy(o, "...", 3);
		o += 3;
	}
	*o = '\0';
	return dst;
}

/* One character for a message: 'x', or '\xNN' when not printable. */
static const char *
qchr(char *dst, char ch)
{
	unsigned char c = ch;

	if (c < 0x20 || c >= 0x7f || c == '\'' || c == '\\')
		snprintf(dst, 8, "'\\x%02x'", c);
	else
		snprintf(dst, 8, "'%c'", c);
	return dst;
}

static int
lerr(struct textparse *tp, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	n = snprintf(tp->msg, sizeof(tp->msg), "line %" PRIu64 ": ",
	    tp->st.lines);
	va_start(ap, fmt);
	vsnprintf(tp->msg + n, sizeof(tp->msg) - n, fmt, ap);
	va_end(ap);
	return TEXTPARSE_EINVAL;
}

static int
cb_abort(struct textparse *tp)
{
	snprintf(tp->msg, sizeof(tp->msg), "line %" PRIu64
	    ": stopped by the caller", tp->st.lines);
	return TEXTPARSE_EABORT;
}

/*
 * Check S against the grammar of Go's strconv.ParseFloat minus hex floats
 * and underscores, which Prometheus refuses: [+-] then inf, infinity or
 * digits with at most one '.', then an optional exponent; nan only
 * unsigned.  Returns 0 or -1.
 */
static int
fnum_scan(const char *s, size_t n, struct fnum *f)
{
	const char	*p = s, *e = s + n;
	int		 sawdig = 0, sawdot = 0, eneg = 0;
	int64_t		 frac = 0, ex = 0;

	f->kind = FNUM_FINITE;
	f->neg = 0;
	f->dig = NULL;
	f->mant = 0;
	f->ndig = 0;
	f->exp10 = 0;
	if (p < e && (*p == '+' || *p == '-')) {
		f->neg = *p == '-';
		p++;
	}
	if (p == e)
		return -1;
	if ((*p | 0x20) == 'i') {
		if (!ascii_caseeq(p, e - p, "inf") &&
		    !ascii_caseeq(p, e - p, "infinity"))
			return -1;
		f->kind = FNUM_INF;
		return 0;
	}
	if ((*p | 0x20) == 'n') {
		if (p != s || !ascii_caseeq(p, e - p, "nan"))
			return -1;
		f->kind = FNUM_NAN;
		return 0;
	}
	for (; p < e; p++) {
		char c = *p;

		if (c == '.') {
			if (sawdot)
				return -1;
			sawdot = 1;
			continue;
		}
		if (!is_digit(c))
			break;
		sawdig = 1;
		if (sawdot)
			frac++;
		if (c == '0' && f->ndig == 0)
			continue;
		if (f->ndig == 0)
			f->dig = p;
		if (f->ndig < 19)
			f->mant = f->mant * 10 + (uint64_t)(c - '0');
		f->ndig++;
	}
	if (!sawdig)
		return -1;
	if (p < e && (*p | 0x20) == 'e') {
		p++;
		if (p < e && (*p == '+' || *p == '-')) {
			eneg = *p == '-';
			p++;
		}
		if (p == e || !is_digit(*p))
			return -1;
		for (; p < e && is_digit(*p); p++)
			if (ex < EXP_CAP)
				ex = ex * 10 + (*p - '0');
	}
	if (p != e)
		return -1;
	f->exp10 = (eneg ? -ex : ex) - frac;
	return 0;
}

/*
 * The rare number the fast path cannot do exactly: rewrite it as at most
 * FLOAT_DIGITS significant digits (767 decide any binary64 rounding) with
 * a sticky 1 standing for whatever non-zero digits were cut, then let the
 * C library round it.  Bounding the digits keeps strtod linear.
 */
static double
float_slow(struct textparse *tp, const struct fnum *f)
{
	char		 nb[FLOAT_DIGITS + 32];
	char		*o = nb;
	const char	*p = f->dig;
	size_t		 k = 0;
	int64_t		 ex = f->exp10;
	int		 sticky = 0;

	if (f->neg)
		*o++ = '-';
	for (; k < f->ndig; p++) {
		if (*p == '.')
			continue;
		if (k < FLOAT_DIGITS)
			*o++ = *p;
		else if (*p != '0')
			sticky = 1;
		k++;
	}
	if (f->ndig > FLOAT_DIGITS) {
		ex += (int64_t)(f->ndig - FLOAT_DIGITS);
		if (sticky) {
			*o++ = '1';
			ex--;
		}
	}
	snprintf(o, sizeof(nb) - (o - nb), "e%" PRId64, ex);
	return strtod_l(nb, NULL, tp->cloc);
}

static double
fnum_double(struct textparse *tp, const struct fnum *f)
{
	double v;

	switch (f->kind) {
	case FNUM_INF:
		return f->neg ? -INFINITY : INFINITY;
	case FNUM_NAN:
		return NAN;
	default:
		break;
	}
	if (f->ndig == 0)
		v = 0;
	else if (f->ndig <= 15 && f->exp10 >= -22 && f->exp10 <= 22) {
		/* Exact operands, one rounding: correctly rounded. */
		v = (double)f->mant;
		if (f->exp10 < 0)
			v /= pow10_exact[-f->exp10];
		else
			v *= pow10_exact[f->exp10];
	} else
		return float_slow(tp, f);
	return f->neg ? -v : v;
}

static int
parse_value(struct textparse *tp, const char *s, size_t n, double *v)
{
	char		q[QTOK_MAX];
	struct fnum	f;

	if (fnum_scan(s, n, &f) != 0)
		return lerr(tp, "invalid value %s", qtok(q, s, n));
	*v = fnum_double(tp, &f);
	if (isinf(*v) && f.kind == FNUM_FINITE)
		return lerr(tp, "value %s out of range", qtok(q, s, n));
	return 0;
}

/* 0.0.4: integer milliseconds, as Go's ParseInt(s, 10, 64) reads them. */
static int
parse_ts_prom(struct textparse *tp, const char *s, size_t n, int64_t *ts)
{
	char		 q[QTOK_MAX];
	const char	*p = s, *e = s + n;
	uint64_t	 u = 0, lim;
	int		 neg = 0, over = 0;

	if (p < e && (*p == '+' || *p == '-')) {
		neg = *p == '-';
		p++;
	}
	if (p == e)
		return lerr(tp, "invalid timestamp %s", qtok(q, s, n));
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; p < e; p++) {
		unsigned d = (unsigned char)(*p - '0');

		if (d > 9)
			return lerr(tp, "invalid timestamp %s", qtok(q, s, n));
		if (u > (lim - d) / 10)
			over = 1;
		else
			u = u * 10 + d;
	}
	if (over)
		return lerr(tp, "timestamp out of range");
	*ts = neg ? (int64_t)(0 - u) : (int64_t)u;
	return 0;
}

/*
 * OpenMetrics: float seconds.  Converted from the decimal digits, not
 * through a double, so that "1.001" is 1001 ms and not 1000.
 */
static int
parse_ts_om(struct textparse *tp, const char *s, size_t n, int64_t *ts)
{
	char		 q[QTOK_MAX];
	struct fnum	 f;
	const char	*p;
	int64_t		 k, i;
	uint64_t	 u = 0;

	if (fnum_scan(s, n, &f) != 0 || f.kind != FNUM_FINITE)
		return lerr(tp, "invalid timestamp %s", qtok(q, s, n));
	if (f.ndig == 0) {
		*ts = 0;
		return 0;
	}
	/* The integer digits of the value in milliseconds. */
	k = (int64_t)f.ndig + f.exp10 + 3;
	if (k <= 0) {
		*ts = 0;
		return 0;
	}
	if (k > 19)
		return lerr(tp, "timestamp out of range");
	for (i = 0, p = f.dig; i < k; i++) {
		unsigned d = 0;

		if ((size_t)i < f.ndig) {
			while (*p == '.')
				p++;
			d = (unsigned)(*p++ - '0');
		}
		u = u * 10 + d;
	}
	if (u > INT64_MAX)
		return lerr(tp, "timestamp out of range");
	*ts = f.neg ? -(int64_t)u : (int64_t)u;
	return 0;
}

static void
lbls_grow(struct textparse *tp)
{
	tp->lbls_cap = tp->lbls_cap ? tp->lbls_cap * 2 : 16;
	tp->lbls = xreallocarray(tp->lbls, tp->lbls_cap, sizeof(*tp->lbls));
}

/*
 * The inside of braces, from after '{' to after '}'.  Names and unescaped
 * values are copied to *OUTP.  With STORE, labels are checked against the
 * limits and added to tp->lbls (*NP counts them); exemplar labels only
 * have their syntax checked.
 */
static int
parse_labels(struct textparse *tp, const char **pp, const char *e,
    char **outp, size_t *np, int store)
{
	char		 q[QTOK_MAX], c1[8];
	const char	*p = *pp, *tok;
	char		*out = *outp, *name, *val, c;
	size_t		 nlen, vlen;
	unsigned char	 hi;

	for (;;) {
		p = skip_ws(p, e);
		if (p == e)
			return lerr(tp, "unexpected end of line in labels");
		if (*p == '}') {
			p++;
			break;
		}
		tok = p;
		while (p < e && is_lname(*p))
			p++;
		if (p < e && !is_ws(*p) && *p != '=' && *p != ',' &&
		    *p != '}' && *p != '"' && *p != '{') {
			while (p < e && !is_ws(*p) && *p != '=' && *p != ',' &&
			    *p != '}' && *p != '"' && *p != '{')
				p++;
			return lerr(tp, "invalid label name %s",
			    qtok(q, tok, p - tok));
		}
		nlen = p - tok;
		if (nlen == 0)
			return lerr(tp, "expected label name, found %s",
			    qchr(c1, *p));
		if (is_digit(*tok))
			return lerr(tp, "invalid label name %s",
			    qtok(q, tok, nlen));
		if (nlen == 8 && memcmp(tok, "__name__", 8) == 0)
			return lerr(tp, "label \"__name__\" not allowed");
		if (store && tp->opts.max_name_len != 0 &&
		    nlen > tp->opts.max_name_len)
			return lerr(tp, "label name %s too long (limit %zu bytes)",
			    qtok(q, tok, nlen), tp->opts.max_name_len);
		name = out;
		memcpy(out, tok, nlen);
		out += nlen;
		*out++ = '\0';

		p = skip_ws(p, e);
		if (p == e || *p != '=')
			return lerr(tp, "expected '=' after label name %s",
			    qtok(q, tok, nlen));
		p = skip_ws(p + 1, e);
		if (p == e || *p != '"')
			return lerr(tp, "expected '\"' to open the value of "
			    "label %s", qtok(q, tok, nlen));
		p++;
		val = out;
		hi = 0;
		for (;;) {
			if (p == e)
				return lerr(tp,
				    "unexpected end of line in label value");
			c = *p++;
			if (c == '"')
				break;
			if (c == '\\') {
				if (p == e)
					return lerr(tp, "unexpected end of line "
					    "in label value");
				c = *p++;
				if (c == 'n')
					c = '\n';
				else if (c != '\\' && c != '"')
					*out++ = '\\';
			}
			hi |= (unsigned char)c;
			*out++ = c;
		}
		vlen = out - val;
		*out++ = '\0';
		if ((hi & 0x80) && !utf8_valid((unsigned char *)val, vlen))
			return lerr(tp, "invalid UTF-8 in the value of label %s",
			    qtok(q, tok, nlen));
		if (store) {
			if (tp->opts.max_value_len != 0 &&
			    vlen > tp->opts.max_value_len)
				return lerr(tp, "value of label %s too long "
				    "(limit %zu bytes)", qtok(q, tok, nlen),
				    tp->opts.max_value_len);
			if (tp->opts.max_labels != 0 &&
			    *np == tp->opts.max_labels)
				return lerr(tp, "too many labels (limit %zu)",
				    tp->opts.max_labels);
			if (*np == tp->lbls_cap)
				lbls_grow(tp);
			tp->lbls[*np].name = name;
			tp->lbls[*np].value = val;
			(*np)++;
		}

		p = skip_ws(p, e);
		if (p == e)
			return lerr(tp, "unexpected end of line in labels");
		if (*p == ',')
			p++;
		else if (*p != '}')
			return lerr(tp, "expected ',' or '}' after label value, "
			    "found %s", qchr(c1, *p));
	}
	*pp = p;
	*outp = out;
	return 0;
}

static int
dup_cmp(const void *a, const void *b)
{
	const struct dup_ent	*x = a, *y = b;
	int			 c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Report the first label (in line order) whose name an earlier label
 * already has.  Many labels are sorted by name rather than hashed, so that
 * no crafted set of names can make this quadratic.
 */
static int
check_dups(struct textparse *tp, size_t n)
{
	const struct label	*l = tp->lbls;
	struct dup_ent		*d;
	char			 q[QTOK_MAX];
	size_t			 i, j, first = SIZE_MAX;

	if (n <= DUP_LINEAR) {
		for (i = 1; i < n; i++)
			for (j = 0; j < i; j++)
				if (strcmp(l[i].name, l[j].name) == 0) {
					first = i;
					goto dup;
				}
		return 0;
	}
	if (n > tp->dups_cap) {
		free(tp->dups);
		tp->dups = xreallocarray(NULL, n, sizeof(*tp->dups));
		tp->dups_cap = n;
	}
	d = tp->dups;
	for (i = 0; i < n; i++) {
		d[i].name = l[i].name;
		d[i].idx = i;
	}
	qsort(d, n, sizeof(*d), dup_cmp);
	/* Runs of equal names are in line order: any but a run's head repeats. */
	for (i = 1; i < n; i++)
		if (d[i].idx < first && strcmp(d[i].name, d[i - 1].name) == 0)
			first = d[i].idx;
	if (first == SIZE_MAX)
		return 0;
dup:
	return lerr(tp, "duplicate label %s",
	    qtok(q, l[first].name, strlen(l[first].name)));
}

/* After the sample's '#': " {labels} value [timestamp]", then ignored. */
static int
parse_exemplar(struct textparse *tp, const char *p, const char *e, char *out)
{
	char		 q[QTOK_MAX];
	const char	*tok;
	struct fnum	 f;
	size_t		 n = 0;
	int		 r;

	p = skip_ws(p, e);
	if (p == e || *p != '{')
		return lerr(tp, "expected '{' after '#' in exemplar");
	p++;
	if ((r = parse_labels(tp, &p, e, &out, &n, 0)) != 0)
		return r;
	p = skip_ws(p, e);
	if (p == e)
		return lerr(tp, "missing exemplar value");
	tok = p;
	p = tok_end(p, e);
	if (fnum_scan(tok, p - tok, &f) != 0)
		return lerr(tp, "invalid exemplar value %s",
		    qtok(q, tok, p - tok));
	p = skip_ws(p, e);
	if (p < e) {
		tok = p;
		p = tok_end(p, e);
		if (fnum_scan(tok, p - tok, &f) != 0 || f.kind != FNUM_FINITE)
			return lerr(tp, "invalid exemplar timestamp %s",
			    qtok(q, tok, p - tok));
		p = skip_ws(p, e);
	}
	if (p < e)
		return lerr(tp, "unexpected text after exemplar: %s",
		    qtok(q, p, e - p));
	return 0;
}

/*
 * What follows a sample's series: "value [timestamp]" and, in
 * OpenMetrics, an exemplar; OUT is scratch for the exemplar's labels.
 */
static int
parse_tail(struct textparse *tp, const char *p, const char *e, char *out,
    double *v, int *has_ts, int64_t *ts)
{
	char		 q[QTOK_MAX];
	const char	*tok;
	int		 om, r;

	om = tp->format == TEXTPARSE_OPENMETRICS;
	if (p == e)
		return lerr(tp, "missing value");
	tok = p;
	p = tok_end(p, e);
	if ((r = parse_value(tp, tok, p - tok, v)) != 0)
		return r;
	p = skip_ws(p, e);
	*has_ts = 0;
	*ts = 0;
	if (p < e && !(om && *p == '#')) {
		tok = p;
		p = tok_end(p, e);
		if (om)
			r = parse_ts_om(tp, tok, p - tok, ts);
		else
			r = parse_ts_prom(tp, tok, p - tok, ts);
		if (r != 0)
			return r;
		*has_ts = 1;
		p = skip_ws(p, e);
	}
	if (p < e) {
		if (!om || *p != '#')
			return lerr(tp, "unexpected text after timestamp: %s",
			    qtok(q, p, e - p));
		if ((r = parse_exemplar(tp, p + 1, e, out)) != 0)
			return r;
	}
	if (tp->opts.sample_limit != 0 &&
	    tp->st.samples >= tp->opts.sample_limit) {
		snprintf(tp->msg, sizeof(tp->msg), "line %" PRIu64
		    ": sample limit of %zu exceeded", tp->st.lines,
		    tp->opts.sample_limit);
		return TEXTPARSE_ELIMIT;
	}
	return 0;
}

/*
 * Where the series text that starts at P would end, for the caller's
 * cache: after the metric name or its closing brace, or NULL.  Nothing
 * here checks the text, and on a line of another shape the guess may be
 * wrong, but harmlessly so: only bytes equal to a series text that
 * parse_sample accepted are ever found in the cache, and on a line that
 * starts with such a text the parser would stop where it ends, whatever
 * follows.  In 0.0.4 nothing after the series has a brace, so its end is
 * the line's last brace, found from the end past the value and the
 * timestamp only; in OpenMetrics an exemplar may follow, and the braces
 * are followed from the start, quotes and escapes respected.
 */
static const char *
series_end(const struct textparse *tp, const char *p, const char *e)
{
	const char	*q;

	if (tp->format == TEXTPARSE_PROM &&
	    (q = memrchr(p, '}', e - p)) != NULL)
		return q + 1;
	while (p < e && is_mname(*p))
		p++;
	if (p < e && !is_ws(*p) && *p != '{')
		return NULL;
	q = skip_ws(p, e);
	if (q == e || *q != '{')
		return p;
	if (tp->format == TEXTPARSE_PROM)
		return NULL;
	for (q++; q < e; q++) {
		if (*q == '}')
			return q + 1;
		if (*q != '"')
			continue;
		for (q++; q < e && *q != '"'; q++)
			if (*q == '\\' && ++q == e)
				return NULL;
		if (q == e)
			return NULL;
	}
	return NULL;
}

/* A series the caller has seen: only the value and timestamp to parse.
 * 1 when done (R in *rc), 0 when the line needs the full parse. */
static int
parse_sample_ref(struct textparse *tp, const char *p, const char *e, int *rc)
{
	const char	*end;
	void		*ref;
	double		 v = 0;
	int64_t		 ts = 0;
	int		 has_ts = 0, r;

	if ((end = series_end(tp, p, e)) == NULL || (ref =
	    tp->cb.series_ref(tp->arg, p, end - p)) == NULL)
		return 0;
	p = skip_ws(end, e);
	if ((r = parse_tail(tp, p, e, tp->scratch, &v, &has_ts, &ts)) != 0) {
		*rc = r;
		return 1;
	}
	tp->st.samples++;
	*rc = 0;
	if (tp->cb.sample_ref(tp->arg, ref, v, has_ts, ts) != 0)
		*rc = cb_abort(tp);
	return 1;
}

static int
parse_sample(struct textparse *tp, const char *p, const char *e)
{
	char		 q[QTOK_MAX];
	const char	*tok, *rawend;
	char		*out = tp->scratch, *name;
	size_t		 n = 0, len;
	double		 v = 0;
	int64_t		 ts = 0;
	int		 has_ts = 0, r;

	if (tp->cb.series_ref != NULL && tp->cb.sample_ref != NULL &&
	    parse_sample_ref(tp, p, e, &r))
		return r;
	tok = p;
	while (p < e && is_mname(*p))
		p++;
	if (p == tok || is_digit(*tok) ||
	    (p < e && !is_ws(*p) && *p != '{')) {
		while (p < e && !is_ws(*p) && *p != '{')
			p++;
		return lerr(tp, "invalid metric name %s", qtok(q, tok, p - tok));
	}
	len = p - tok;
	if (tp->opts.max_value_len != 0 && len > tp->opts.max_value_len)
		return lerr(tp, "metric name too long (limit %zu bytes)",
		    tp->opts.max_value_len);
	name = out;
	memcpy(out, tok, len);
	out += len;
	*out++ = '\0';

	rawend = p;
	p = skip_ws(p, e);
	if (p < e && *p == '{') {
		p++;
		if ((r = parse_labels(tp, &p, e, &out, &n, 1)) != 0)
			return r;
		if (n > 1 && (r = check_dups(tp, n)) != 0)
			return r;
		rawend = p;
		p = skip_ws(p, e);
	}
	if ((r = parse_tail(tp, p, e, out, &v, &has_ts, &ts)) != 0)
		return r;
	tp->st.samples++;
	tp->raw = tok;
	tp->rawlen = rawend - tok;
	r = tp->cb.sample != NULL && tp->cb.sample(tp->arg, name, tp->lbls, n,
	    v, has_ts, ts) != 0;
	tp->raw = NULL;
	tp->rawlen = 0;
	return r ? cb_abort(tp) : 0;
}

/* Unescape HELP text: \\ and \n, and \" in OpenMetrics. */
static size_t
unescape_help(const char *p, const char *e, char *out, int om)
{
	char *o = out;

	while (p < e) {
		char c = *p++;

		if (c == '\\' && p < e) {
			if (*p == 'n') {
				c = '\n';
				p++;
			} else if (*p == '\\' || (om && *p == '"'))
				c = *p++;
		}
		*o++ = c;
	}
	*o = '\0';
	return o - out;
}

/* After '#': metadata, "# EOF", or a comment to ignore. */
static int
parse_comment(struct textparse *tp, const char *p, const char *e)
{
	enum { HELP, TYPE, UNIT }	 what;
	static const char *const	 kwname[] = { "HELP", "TYPE", "UNIT" };
	char				 q[QTOK_MAX];
	const char			*kw, *tok;
	char				*out = tp->scratch, *name;
	size_t				 i, len;
	int				 om;

	om = tp->format == TEXTPARSE_OPENMETRICS;
	if (p == e || !is_ws(*p))
		return 0;
	p = skip_ws(p, e);
	kw = p;
	p = tok_end(p, e);
	if (om && p - kw == 3 && memcmp(kw, "EOF", 3) == 0) {
		p = skip_ws(p, e);
		if (p < e)
			return lerr(tp, "unexpected text after # EOF: %s",
			    qtok(q, p, e - p));
		tp->seen_eof = 1;
		return 0;
	}
	if (p - kw != 4)
		return 0;
	if (memcmp(kw, "HELP", 4) == 0)
		what = HELP;
	else if (memcmp(kw, "TYPE", 4) == 0)
		what = TYPE;
	else if (om && memcmp(kw, "UNIT", 4) == 0)
		what = UNIT;
	else
		return 0;

	p = skip_ws(p, e);
	tok = p;
	while (p < e && is_mname(*p))
		p++;
	if (p < e && !is_ws(*p)) {
		p = tok_end(p, e);
		return lerr(tp, "invalid metric name %s", qtok(q, tok, p - tok));
	}
	len = p - tok;
	if (len == 0)
		return lerr(tp, "missing metric name in %s", kwname[what]);
	if (is_digit(*tok))
		return lerr(tp, "invalid metric name %s", qtok(q, tok, len));
	name = out;
	memcpy(out, tok, len);
	out += len;
	*out++ = '\0';
	p = skip_ws(p, e);

	switch (what) {
	case HELP:
		len = unescape_help(p, e, out, om);
		if (!utf8_valid((unsigned char *)out, len))
			return lerr(tp, "invalid UTF-8 in HELP text");
		if (tp->cb.help != NULL && tp->cb.help(tp->arg, name, out) != 0)
			return cb_abort(tp);
		break;
	case TYPE:
		while (e > p && is_ws(e[-1]))
			e--;
		if (p == e)
			return lerr(tp, "missing metric type");
		for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]);
		    i++) {
			if (!(om ? type_names[i].om : type_names[i].prom))
				continue;
			if (strlen(type_names[i].name) == (size_t)(e - p) &&
			    memcmp(type_names[i].name, p, e - p) == 0)
				break;
		}
		if (i == sizeof(type_names) / sizeof(type_names[0]))
			return lerr(tp, "invalid metric type %s",
			    qtok(q, p, e - p));
		if (tp->cb.type != NULL &&
		    tp->cb.type(tp->arg, name, type_names[i].type) != 0)
			return cb_abort(tp);
		break;
	case UNIT:
		while (e > p && is_ws(e[-1]))
			e--;
		memcpy(out, p, e - p);
		out[e - p] = '\0';
		if (!utf8_valid((unsigned char *)out, e - p))
			return lerr(tp, "invalid UTF-8 in UNIT");
		if (tp->cb.unit != NULL && tp->cb.unit(tp->arg, name, out) != 0)
			return cb_abort(tp);
		break;
	}
	return 0;
}

static void
scratch_reserve(struct textparse *tp, size_t len)
{
	size_t need = 2 * len + 16;

	if (need <= tp->scratch_cap)
		return;
	if (tp->scratch_cap == 0)
		tp->scratch_cap = 256;
	while (tp->scratch_cap < need)
		tp->scratch_cap *= 2;
	free(tp->scratch);
	tp->scratch = xmalloc(tp->scratch_cap);
}

/* A line failed with R: count and skip it, or fail the parse. */
static int
line_failed(struct textparse *tp, int r)
{
	if (r == TEXTPARSE_EINVAL && tp->opts.skip_bad) {
		tp->st.skipped++;
		if (!tp->has_skipped) {
			memcpy(tp->first_skipped, tp->msg, sizeof(tp->msg));
			tp->has_skipped = 1;
		}
		return 0;
	}
	tp->failed = r;
	return r;
}

/* One whole line, without its LF. */
static int
do_line(struct textparse *tp, const char *p, size_t len)
{
	const char	*e;
	int		 r;

	tp->st.lines++;
	if (len > 0 && p[len - 1] == '\r')
		len--;
	e = p + len;
	if (tp->opts.max_line != 0 && len > tp->opts.max_line)
		r = lerr(tp, "line too long (limit %zu bytes)",
		    tp->opts.max_line);
	else if (memchr(p, '\0', len) != NULL)
		r = lerr(tp, "invalid NUL byte");
	else {
		p = skip_ws(p, e);
		if (p == e)
			return 0;
		scratch_reserve(tp, len);
		if (*p == '#')
			r = parse_comment(tp, p + 1, e);
		else
			r = parse_sample(tp, p, e);
	}
	return r == 0 ? 0 : line_failed(tp, r);
}

/*
 * Keep the start of a line that continues in the next feed.  A line may
 * hold max_line bytes plus the CR of a CRLF; beyond that it is an error
 * now (the same one do_line would give), or in skip_bad mode the rest of
 * it is thrown away as it comes.
 */
static int
carry_add(struct textparse *tp, const char *p, size_t n)
{
	size_t max = tp->opts.max_line;

	if (max != 0 && (tp->carry_len > max + 1 || n > max + 1 - tp->carry_len)) {
		tp->carry_len = 0;
		tp->st.lines++;
		lerr(tp, "line too long (limit %zu bytes)", max);
		if (line_failed(tp, TEXTPARSE_EINVAL) != 0)
			return TEXTPARSE_EINVAL;
		tp->discarding = 1;
		return 0;
	}
	if (tp->carry_len + n > tp->carry_cap) {
		size_t cap = tp->carry_cap ? tp->carry_cap : 256;

		while (cap < tp->carry_len + n)
			cap *= 2;
		tp->carry = xreallocarray(tp->carry, cap, 1);
		tp->carry_cap = cap;
	}
	memcpy(tp->carry + tp->carry_len, p, n);
	tp->carry_len += n;
	return 0;
}

static int
report(struct textparse *tp, int r, char *err, size_t errlen)
{
	if (r != 0 && errlen > 0)
		snprintf(err, errlen, "%s", tp->msg);
	return r;
}

/* Data after "# EOF": an error, or in skip_bad mode the end of input. */
static int
after_eof(struct textparse *tp)
{
	tp->st.lines++;
	lerr(tp, "unexpected data after # EOF");
	if (line_failed(tp, TEXTPARSE_EINVAL) != 0)
		return TEXTPARSE_EINVAL;
	tp->after_eof = 1;
	return 0;
}

void
textparse_opts_default(struct textparse_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max_line = 1024 * 1024;
}

struct textparse *
textparse_new(const struct textparse_opts *opts,
    const struct textparse_cb *cb, void *arg)
{
	struct textparse *tp = xcalloc(1, sizeof(*tp));

	if (opts != NULL)
		tp->opts = *opts;
	else
		textparse_opts_default(&tp->opts);
	if (cb != NULL)
		tp->cb = *cb;
	tp->arg = arg;
	/* Numbers are read in the C locale whatever the process uses. */
	tp->cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (tp->cloc == (locale_t)0) {
		fprintf(stderr, "monitord: newlocale: %s\n", strerror(errno));
		abort();
	}
	textparse_begin(tp, TEXTPARSE_PROM);
	return tp;
}

void
textparse_free(struct textparse *tp)
{
	if (tp == NULL)
		return;
	freelocale(tp->cloc);
	free(tp->scratch);
	free(tp->lbls);
	free(tp->dups);
	free(tp->carry);
	free(tp);
}

void
textparse_begin(struct textparse *tp, enum textparse_format format)
{
	tp->format = format;
	memset(&tp->st, 0, sizeof(tp->st));
	tp->failed = 0;
	tp->seen_eof = 0;
	tp->after_eof = 0;
	tp->discarding = 0;
	tp->carry_len = 0;
	tp->has_skipped = 0;
	tp->msg[0] = '\0';
	tp->first_skipped[0] = '\0';
}

int
textparse_feed(struct textparse *tp, const char *buf, size_t len, char *err,
    size_t errlen)
{
	const char	*p = buf, *e, *nl;
	int		 r;

	if (tp->failed)
		return report(tp, tp->failed, err, errlen);
	if (len == 0)
		return 0;	/* buf may be NULL */
	e = buf + len;
	while (p < e && !tp->after_eof) {
		if (tp->seen_eof) {
			r = after_eof(tp);
			return report(tp, r, err, errlen);
		}
		nl = memchr(p, '\n', e - p);
		if (nl == NULL) {
			if (!tp->discarding)
				r = carry_add(tp, p, e - p);
			else
				r = 0;
			return report(tp, r, err, errlen);
		}
		if (tp->discarding) {
			tp->discarding = 0;
			r = 0;
		} else if (tp->carry_len > 0) {
			if ((r = carry_add(tp, p, nl - p)) != 0)
				return report(tp, r, err, errlen);
			if (tp->discarding)
				tp->discarding = 0;
			else
				r = do_line(tp, tp->carry, tp->carry_len);
			tp->carry_len = 0;
		} else
			r = do_line(tp, p, nl - p);
		if (r != 0)
			return report(tp, r, err, errlen);
		p = nl + 1;
	}
	return 0;
}

int
textparse_finish(struct textparse *tp, char *err, size_t errlen)
{
	int r;

	if (tp->failed)
		return report(tp, tp->failed, err, errlen);
	if (tp->after_eof)
		return 0;
	if (tp->discarding)
		tp->discarding = 0;
	else if (tp->carry_len > 0) {
		r = do_line(tp, tp->carry, tp->carry_len);
		tp->carry_len = 0;
		if (r != 0)
			return report(tp, r, err, errlen);
	}
	if (tp->format == TEXTPARSE_OPENMETRICS && !tp->seen_eof) {
		snprintf(tp->msg, sizeof(tp->msg), "line %" PRIu64
		    ": missing # EOF", tp->st.lines + 1);
		r = line_failed(tp, TEXTPARSE_EINVAL);
		return report(tp, r, err, errlen);
	}
	return 0;
}

int
textparse_parse(struct textparse *tp, enum textparse_format format,
    const char *buf, size_t len, char *err, size_t errlen)
{
	int r;

	textparse_begin(tp, format);
	if ((r = textparse_feed(tp, buf, len, err, errlen)) != 0)
		return r;
	return textparse_finish(tp, err, errlen);
}

const struct textparse_stats *
textparse_stats(const struct textparse *tp)
{
	return &tp->st;
}

const char *
textparse_first_skipped(const struct textparse *tp)
{
	return tp->has_skipped ? tp->first_skipped : NULL;
}

uint64_t
textparse_lineno(const struct textparse *tp)
{
	return tp->st.lines;
}

const char *
textparse_raw(const struct textparse *tp, size_t *len)
{
	*len = tp->rawlen;
	return tp->raw;
}

enum textparse_format
textparse_format_for(const char *ct)
{
	static const char	om[] = "application/openmetrics-text";
	size_t			n = sizeof(om) - 1;

	if (ct == NULL)
		return TEXTPARSE_PROM;
	while (is_ws(*ct))
		ct++;
	if (strlen(ct) >= n && ascii_caseeq(ct, n, om) &&
	    (ct[n] == '\0' || ct[n] == ';' || is_ws(ct[n])))
		return TEXTPARSE_OPENMETRICS;
	return TEXTPARSE_PROM;
}

const char *
textparse_type_name(enum textparse_type t)
{
	size_t i;

	for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (type_names[i].type == t)
			return type_names[i].name;
	return "unknown";
}
