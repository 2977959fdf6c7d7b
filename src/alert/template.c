/*
 * template: a small interpreter for the Go text/template subset that alert
 * annotations use (see template.h).  One pass parses and runs each action;
 * checking runs the same code without data so that load-time and run-time
 * errors read the same.
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/labels.h"
#include "alert/template.h"
#include "buf.h"
#include "xmalloc.h"

#define TMPL_MAX_ARGS	16

struct tval {
	int	 isnum;
	double	 num;
	char	*str;		/* owned when !isnum */
};

struct tctx {
	const struct tmpl_data	*data;		/* NULL: checking only */
	char			*err;
	size_t			 errlen;
};

static int
terr(struct tctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
terr(struct tctx *c, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	n = snprintf(c->err, c->errlen, "template: ");
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < c->errlen)
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static void
tval_free(struct tval *v)
{
	if (!v->isnum)
		free(v->str);
	v->str = NULL;
}

static void
tval_str(struct tval *v, const char *s, size_t n)
{
	v->isnum = 0;
	v->str = xstrndup(s, n);
}

static void
tval_num(struct tval *v, double d)
{
	v->isnum = 1;
	v->num = d;
	v->str = NULL;
}

/*
 * The printf formats below are built from a checked spec (flags, width,
 * precision and one conversion of the argument's type), never taken from
 * the template as is.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

/* Go's fmt of a float with a C conversion, NaN and Inf spelled as Go does. */
static void
go_float(struct buf *b, const char *cfmt, double v)
{
	if (isnan(v))
		buf_adds(b, "NaN");
	else if (isinf(v))
		buf_adds(b, v > 0 ? "+Inf" : "-Inf");
	else
		buf_printf(b, cfmt, v);
}

void
tmpl_humanize(struct buf *b, double v)
{
	static const char *const big[] = { "k", "M", "G", "T", "P", "E",
	    "Z", "Y" };
	static const char *const small[] = { "m", "u", "n", "p", "f", "a",
	    "z", "y" };
	const char	*prefix = "";
	size_t		 i;

	if (v == 0 || isnan(v) || isinf(v)) {
		go_float(b, "%.4g", v);
		return;
	}
	if (fabs(v) >= 1) {
		for (i = 0; i < 8 && fabs(v) >= 1000; i++) {
			prefix = big[i];
			v /= 1000;
		}
	} else {
		for (i = 0; i < 8 && fabs(v) < 1; i++) {
			prefix = small[i];
			v *= 1000;
		}
	}
	go_float(b, "%.4g", v);
	buf_adds(b, prefix);
}

void
tmpl_humanize1024(struct buf *b, double v)
{
	static const char *const big[] = { "ki", "Mi", "Gi", "Ti", "Pi",
	    "Ei", "Zi", "Yi" };
	const char	*prefix = "";
	size_t		 i;

	if (fabs(v) <= 1 || isnan(v) || isinf(v)) {
		go_float(b, "%.4g", v);
		return;
	}
	for (i = 0; i < 8 && fabs(v) >= 1024; i++) {
		prefix = big[i];
		v /= 1024;
	}
	go_float(b, "%.4g", v);
	buf_adds(b, prefix);
}

void
tmpl_humanize_percentage(struct buf *b, double v)
{
	go_float(b, "%.4g", v * 100);
	buf_addc(b, '%');
}

void
tmpl_humanize_duration(struct buf *b, double v)
{
	static const char *const small[] = { "m", "u", "n", "p", "f", "a",
	    "z", "y" };
	const char	*sign = "", *prefix = "";
	long long	 d, s, m, h, days;
	size_t		 i;

	if (isnan(v) || isinf(v)) {
		go_float(b, "%.4g", v);
		return;
	}
	if (v == 0) {
		buf_adds(b, "0s");
		return;
	}
	if (fabs(v) >= 1) {
		if (v < 0) {
			sign = "-";
			v = -v;
		}
		d = v >= 9.2e18 ? (long long)9.2e18 : (long long)v;
		s = d % 60;
		m = (d / 60) % 60;
		h = (d / 3600) % 24;
		days = d / 86400;
		if (days != 0)
			buf_printf(b, "%s%lldd %lldh %lldm %llds", sign, days,
			    h, m, s);
		else if (h != 0)
			buf_printf(b, "%s%lldh %lldm %llds", sign, h, m, s);
		else if (m != 0)
			buf_printf(b, "%s%lldm %llds", sign, m, s);
		else {
			buf_adds(b, sign);
			go_float(b, "%.4g", v);
			buf_addc(b, 's');
		}
		return;
	}
	for (i = 0; i < 8 && fabs(v) < 1; i++) {
		prefix = small[i];
		v *= 1000;
	}
	go_float(b, "%.4g", v);
	buf_adds(b, prefix);
	buf_addc(b, 's');
}

static void
tval_print(struct buf *b, const struct tval *v)
{
	if (v->isnum)
		buf_add_double(b, v->num);
	else
		buf_adds(b, v->str);
}

static int
tval_float(struct tctx *c, const struct tval *v, double *out)
{
	char	*end;

	if (v->isnum) {
		*out = v->num;
		return 0;
	}
	*out = strtod(v->str, &end);
	if (end == v->str || *end != '\0')
		return terr(c, "can't convert \"%.40s\" to float", v->str);
	return 0;
}

/* A width or precision over 64 would let a rule make huge strings. */
static int
printf_spec_too_wide(const char *spec)
{
	const char	*p;
	long		 v;

	for (p = spec; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			continue;
		v = strtol(p, (char **)&p, 10);
		if (v > 64)
			return 1;
		p--;
	}
	return 0;
}

/* Go's printf for the verbs a template needs. */
static int
fn_printf(struct tctx *c, struct tval *args, size_t n, struct buf *out)
{
	const char	*f;
	char		 spec[32], verb;
	size_t		 a = 1, sl;
	double		 d;

	if (n == 0 || args[0].isnum)
		return terr(c, "printf needs a format string first");
	for (f = args[0].str; *f != '\0'; f++) {
		if (*f != '%') {
			buf_addc(out, *f);
			continue;
		}
		if (f[1] == '%') {
			buf_addc(out, '%');
			f++;
			continue;
		}
		sl = 1 + strspn(f + 1, "+- #0123456789.");
		if (f[sl] == '\0' || sl + 2 > sizeof(spec) - 4)
			return terr(c, "printf: bad format");
		verb = f[sl];
		memcpy(spec, f, sl);
		spec[sl] = '\0';
		if (printf_spec_too_wide(spec))
			return terr(c, "printf: width or precision over 64");
		f += sl;
		if (a >= n) {
			buf_printf(out, "%%!%c(MISSING)", verb);
			continue;
		}
		switch (verb) {
		case 'f': case 'F': case 'e': case 'E': case 'g': case 'G':
			if (tval_float(c, &args[a], &d) == -1)
				return -1;
			spec[sl] = verb;
			spec[sl + 1] = '\0';
			go_float(out, spec, d);
			break;
		case 'd':
			if (tval_float(c, &args[a], &d) == -1)
				return -1;
			if (d != floor(d) || fabs(d) > 9e18)
				return terr(c, "printf: %%d of a non-integer");
			memcpy(spec + sl, "lld", 4);
			buf_printf(out, spec, (long long)d);
			break;
		case 's': case 'v':
			if (args[a].isnum)
				buf_add_double(out, args[a].num);
			else {
				spec[sl] = 's';
				spec[sl + 1] = '\0';
				buf_printf(out, spec, args[a].str);
			}
			break;
		case 'q':
			if (args[a].isnum)
				buf_add_double(out, args[a].num);
			else
				alert_quote(out, args[a].str);
			break;
		default:
			return terr(c, "printf: unsupported verb %%%c", verb);
		}
		a++;
	}
	return 0;
}

#pragma GCC diagnostic pop

static const char *const functions[] = {
	"humanize", "humanize1024", "humanizePercentage", "humanizeDuration",
	"printf", "toUpper", "toLower", "title", NULL
};

static int
call(struct tctx *c, const char *fn, struct tval *args, size_t n,
    struct tval *res)
{
	struct buf	out = BUF_INIT;
	double		d;
	size_t		i;
	int		word;

	if (strcmp(fn, "printf") == 0) {
		if (fn_printf(c, args, n, &out) == -1)
			goto fail;
		goto done;
	}
	if (n != 1) {
		terr(c, "wrong number of args for %s: want 1 got %zu", fn, n);
		goto fail;
	}
	if (strncmp(fn, "humanize", 8) == 0) {
		if (tval_float(c, &args[0], &d) == -1)
			goto fail;
		if (strcmp(fn, "humanize") == 0)
			tmpl_humanize(&out, d);
		else if (strcmp(fn, "humanize1024") == 0)
			tmpl_humanize1024(&out, d);
		else if (strcmp(fn, "humanizePercentage") == 0)
			tmpl_humanize_percentage(&out, d);
		else
			tmpl_humanize_duration(&out, d);
		goto done;
	}
	tval_print(&out, &args[0]);
	word = 0;
	for (i = 0; i < out.len; i++) {
		if (strcmp(fn, "toUpper") == 0)
			out.data[i] = (char)toupper((unsigned char)out.data[i]);
		else if (strcmp(fn, "toLower") == 0)
			out.data[i] = (char)tolower((unsigned char)out.data[i]);
		else {
			if (!word && isalpha((unsigned char)out.data[i]))
				out.data[i] = (char)toupper(
				    (unsigned char)out.data[i]);
			word = isalnum((unsigned char)out.data[i]) != 0;
		}
	}
done:
	tval_str(res, out.data != NULL ? out.data : "", out.len);
	buf_free(&out);
	return 0;
fail:
	buf_free(&out);
	return -1;
}

struct lexer {
	const char	*p, *end;
};

static void
skip_space(struct lexer *lx)
{
	while (lx->p < lx->end && isspace((unsigned char)*lx->p))
		lx->p++;
}

static int
ident_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_';
}

/* A Go string literal at lx->p into V. */
static int
lex_string(struct tctx *c, struct lexer *lx, struct tval *v)
{
	struct buf	b = BUF_INIT;
	char		q = *lx->p++;

	while (lx->p < lx->end && *lx->p != q) {
		if (q == '"' && *lx->p == '\\' && lx->p + 1 < lx->end) {
			lx->p++;
			switch (*lx->p) {
			case 'n': buf_addc(&b, '\n'); break;
			case 't': buf_addc(&b, '\t'); break;
			case '\\': buf_addc(&b, '\\'); break;
			case '"': buf_addc(&b, '"'); break;
			default:
				buf_free(&b);
				return terr(c, "unsupported escape \\%c in "
				    "string", *lx->p);
			}
			lx->p++;
			continue;
		}
		if (q == '"' && *lx->p == '\n')
			break;
		buf_addc(&b, *lx->p++);
	}
	if (lx->p >= lx->end || *lx->p != q) {
		buf_free(&b);
		return terr(c, "unterminated quoted string");
	}
	lx->p++;
	tval_str(v, b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	return 0;
}

/* A field after $labels. / .Labels. at lx->p. */
static int
label_operand(struct tctx *c, struct lexer *lx, struct tval *v)
{
	const char	*s = lx->p, *val = NULL;
	char		 name[256];

	while (lx->p < lx->end && ident_char(*lx->p))
		lx->p++;
	if (lx->p == s || (size_t)(lx->p - s) >= sizeof(name))
		return terr(c, "bad label name after .Labels");
	memcpy(name, s, (size_t)(lx->p - s));
	name[lx->p - s] = '\0';
	if (c->data != NULL && c->data->labels != NULL)
		val = lset_get(c->data->labels, name);
	tval_str(v, val != NULL ? val : "", val != NULL ? strlen(val) : 0);
	return 0;
}

static int
match_word(struct lexer *lx, const char *w)
{
	size_t	n = strlen(w);

	if ((size_t)(lx->end - lx->p) < n || strncmp(lx->p, w, n) != 0)
		return 0;
	if (lx->p + n < lx->end && ident_char(lx->p[n]))
		return 0;
	lx->p += n;
	return 1;
}

/* One operand; 0 when there is none at lx->p (an identifier follows). */
static int
operand(struct tctx *c, struct lexer *lx, struct tval *v)
{
	const char	*s = lx->p;
	char		*end;
	double		 d;

	if (*lx->p == '"' || *lx->p == '`')
		return lex_string(c, lx, v) == -1 ? -1 : 1;
	if (match_word(lx, "$value") || match_word(lx, ".Value")) {
		tval_num(v, c->data != NULL ? c->data->value : 0);
		return 1;
	}
	if (match_word(lx, "$externalURL") || match_word(lx, ".ExternalURL")) {
		s = c->data != NULL && c->data->external_url != NULL ?
		    c->data->external_url : "";
		tval_str(v, s, strlen(s));
		return 1;
	}
	if (strncmp(lx->p, "$labels.", 8) == 0 && lx->end - lx->p > 8) {
		lx->p += 8;
		return label_operand(c, lx, v) == -1 ? -1 : 1;
	}
	if (strncmp(lx->p, ".Labels.", 8) == 0 && lx->end - lx->p > 8) {
		lx->p += 8;
		return label_operand(c, lx, v) == -1 ? -1 : 1;
	}
	if (*lx->p == '$' || *lx->p == '.') {
		while (lx->p < lx->end && (ident_char(*lx->p) ||
		    *lx->p == '$' || *lx->p == '.'))
			lx->p++;
		return terr(c, "unsupported operand %.*s", (int)(lx->p - s),
		    s);
	}
	if (isdigit((unsigned char)*lx->p) || ((*lx->p == '-' ||
	    *lx->p == '+') && lx->p + 1 < lx->end &&
	    isdigit((unsigned char)lx->p[1]))) {
		d = strtod(lx->p, &end);
		if (end > lx->end || (end < lx->end && !isspace(
		    (unsigned char)*end) && *end != '|'))
			return terr(c, "bad number syntax");
		lx->p = end;
		tval_num(v, d);
		return 1;
	}
	return 0;
}

/* Evaluate the pipeline in [p, end) into RES. */
static int
pipeline(struct tctx *c, const char *p, const char *end, struct tval *res)
{
	struct lexer	 lx = { p, end };
	struct tval	 args[TMPL_MAX_ARGS + 1];
	char		 fn[64];
	size_t		 n, i;
	int		 have = 0, r;
	const char	*s;

	for (;;) {
		skip_space(&lx);
		if (lx.p >= lx.end)
			return have ? 0 : terr(c, "missing value for command");
		n = 0;
		fn[0] = '\0';
		if (isalpha((unsigned char)*lx.p)) {
			s = lx.p;
			while (lx.p < lx.end && ident_char(*lx.p))
				lx.p++;
			if ((size_t)(lx.p - s) >= sizeof(fn)) {
				if (have)
					tval_free(res);
				return terr(c, "function name too long");
			}
			memcpy(fn, s, (size_t)(lx.p - s));
			fn[lx.p - s] = '\0';
			for (i = 0; functions[i] != NULL; i++)
				if (strcmp(functions[i], fn) == 0)
					break;
			if (functions[i] == NULL) {
				if (have)
					tval_free(res);
				return terr(c, "function \"%s\" not defined",
				    fn);
			}
		}
		for (;;) {
			skip_space(&lx);
			if (lx.p >= lx.end || *lx.p == '|')
				break;
			if (n == TMPL_MAX_ARGS) {
				r = terr(c, "too many arguments");
				goto fail;
			}
			if ((r = operand(c, &lx, &args[n])) == -1)
				goto fail;
			if (r == 0) {
				r = terr(c, "unexpected \"%c\" in command",
				    *lx.p);
				goto fail;
			}
			n++;
			if (fn[0] == '\0' && n > 1) {
				r = terr(c, "can't give argument to "
				    "non-function");
				goto fail;
			}
		}
		if (fn[0] == '\0') {
			if (n == 0) {
				r = terr(c, "missing command");
				goto fail;
			}
			if (have) {
				r = terr(c, "can't give argument to "
				    "non-function");
				goto fail;
			}
			*res = args[0];
			have = 1;
		} else {
			if (have)
				args[n++] = *res;
			have = 0;
			r = call(c, fn, args, n, res);
			for (i = 0; i < n; i++)
				tval_free(&args[i]);
			if (r == -1)
				return -1;
			have = 1;
		}
		if (lx.p >= lx.end)
			return 0;
		lx.p++;		/* '|' */
	}
fail:
	for (i = 0; i < n; i++)
		tval_free(&args[i]);
	if (have)
		tval_free(res);
	return -1;
}

/* End of the action opened at P (just after "{{"), skipping strings. */
static const char *
action_end(const char *p)
{
	char	q;

	while (*p != '\0') {
		if (p[0] == '}' && p[1] == '}')
			return p;
		if (*p == '"' || *p == '`') {
			q = *p++;
			while (*p != '\0' && *p != q) {
				if (q == '"' && *p == '\\' && p[1] != '\0')
					p++;
				p++;
			}
			if (*p == '\0')
				return NULL;
		}
		p++;
	}
	return NULL;
}

static int
run(struct tctx *c, const char *text, struct buf *out)
{
	const char	*p = text, *open, *a, *e, *close;
	struct tval	 v;
	int		 trim_next = 0;

	while (*p != '\0') {
		if (trim_next)
			while (isspace((unsigned char)*p))
				p++;
		trim_next = 0;
		if ((open = strstr(p, "{{")) == NULL) {
			buf_adds(out, p);
			break;
		}
		a = open + 2;
		e = open;
		if (a[0] == '-' && (a[1] == ' ' || a[1] == '\t' ||
		    a[1] == '\n' || a[1] == '\r')) {
			while (e > p && isspace((unsigned char)e[-1]))
				e--;
			a++;
		}
		buf_add(out, p, (size_t)(e - p));
		if ((close = action_end(a)) == NULL)
			return terr(c, "unclosed action");
		e = close;
		p = close + 2;
		if (e > a && e[-1] == '-' && e - 1 > a &&
		    isspace((unsigned char)e[-2])) {
			e--;
			trim_next = 1;
		}
		while (a < e && isspace((unsigned char)*a))
			a++;
		while (e > a && isspace((unsigned char)e[-1]))
			e--;
		if (e - a >= 4 && strncmp(a, "/*", 2) == 0 &&
		    strncmp(e - 2, "*/", 2) == 0)
			continue;
		if (e == a)
			return terr(c, "missing value for command");
		if (isalpha((unsigned char)*a)) {
			const char *w = a;

			while (w < e && ident_char(*w))
				w++;
			if ((w - a == 2 && strncmp(a, "if", 2) == 0) ||
			    (w - a == 5 && strncmp(a, "range", 5) == 0) ||
			    (w - a == 4 && strncmp(a, "with", 4) == 0) ||
			    (w - a == 3 && strncmp(a, "end", 3) == 0) ||
			    (w - a == 4 && strncmp(a, "else", 4) == 0) ||
			    (w - a == 6 && strncmp(a, "define", 6) == 0) ||
			    (w - a == 8 && strncmp(a, "template", 8) == 0))
				return terr(c, "unsupported action "
				    "\"%.*s\"", (int)(w - a), a);
		}
		if (pipeline(c, a, e, &v) == -1)
			return -1;
		tval_print(out, &v);
		tval_free(&v);
		if (out->len > TMPL_MAX_OUTPUT)
			return terr(c, "output longer than %d bytes",
			    TMPL_MAX_OUTPUT);
	}
	return 0;
}

int
tmpl_expand(const char *text, const struct tmpl_data *d, struct buf *out,
    char *err, size_t errlen)
{
	struct tctx	c = { d, err, errlen };
	struct buf	tmp = BUF_INIT;
	static const struct tmpl_data none = { NULL, 0, NULL };

	if (c.data == NULL)
		c.data = &none;
	if (run(&c, text, &tmp) == -1) {
		buf_free(&tmp);
		return -1;
	}
	if (tmp.len > 0)
		buf_add(out, tmp.data, tmp.len);
	else
		buf_add(out, "", 0);
	buf_free(&tmp);
	return 0;
}

int
tmpl_check(const char *text, char *err, size_t errlen)
{
	struct tctx	c = { NULL, err, errlen };
	struct buf	tmp = BUF_INIT;
	int		rc;

	/* Without data, numbers are 0 and labels empty: conversion errors
	   that depend on data do not show, syntax errors do. */
	rc = run(&c, text, &tmp);
	buf_free(&tmp);
	if (rc == -1 && strstr(err, "can't convert") != NULL)
		rc = 0;
	return rc;
}
