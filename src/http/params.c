/*
 * params: decoding of the request pieces that the HTTP server interprets
 * itself: percent-encoded paths, query strings and form bodies (merged as
 * Prometheus's API does), and the coding headers.  Kept apart from the
 * server so a fuzzer can drive it without sockets.
 *
 * The rules follow Go's net/url, which is what Prometheus clients are
 * tested against: '+' is a space in forms, a bad escape is an error rather
 * than literal text, and a ';' is an ordinary character.  A decoded NUL is
 * refused because every consumer here handles C strings.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "http/params.h"
#include "xmalloc.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
printable(struct buf *out, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f)
			buf_addc(out, (char)c);
		else
			buf_printf(out, "\\x%02x", c);
	}
}

static void
seterr(char *err, size_t errlen, const char *what, const char *s, size_t len)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, what);
	buf_adds(&b, " \"");
	printable(&b, s, len);
	buf_addc(&b, '"');
	snprintf(err, errlen, "%s", b.data);
	buf_free(&b);
}

int
url_unescape(const char *s, size_t len, int plus, struct buf *out, char *err,
    size_t errlen)
{
	size_t	i, run = 0;
	int	hi, lo;

	buf_reserve(out, len);
	for (i = 0; i < len; i++) {
		if (s[i] == '%') {
			buf_add(out, s + run, i - run);
			if (len - i < 3) {
				seterr(err, errlen, "invalid URL escape", s + i,
				    len - i);
				return -1;
			}
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0) {
				seterr(err, errlen, "invalid URL escape", s + i,
				    3);
				return -1;
			}
			if (hi == 0 && lo == 0) {
				snprintf(err, errlen, "invalid NUL byte (%%00)"
				    " in URL");
				return -1;
			}
			buf_addc(out, (char)(hi << 4 | lo));
			i += 2;
			run = i + 1;
		} else if (s[i] == '\0') {
			snprintf(err, errlen, "invalid NUL byte in URL");
			return -1;
		} else if (plus && s[i] == '+') {
			buf_add(out, s + run, i - run);
			buf_addc(out, ' ');
			run = i + 1;
		}
	}
	buf_add(out, s + run, len - run);
	return 0;
}

static void
params_add(struct params *p, char *name, char *value)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 8;
		p->v = xreallocarray(p->v, p->cap, sizeof(*p->v));
	}
	p->v[p->n].name = name;
	p->v[p->n++].value = value;
}

int
params_parse(struct params *p, const char *s, size_t len, char *err,
    size_t errlen)
{
	struct buf	 name = BUF_INIT, value = BUF_INIT;
	const char	*end = s + len, *pair, *amp, *eq;

	for (pair = s; pair < end; pair = amp + 1) {
		if ((amp = memchr(pair, '&', (size_t)(end - pair))) == NULL)
			amp = end;
		if (amp == pair)
			continue;
		if ((eq = memchr(pair, '=', (size_t)(amp - pair))) == NULL)
			eq = amp;
		buf_reset(&name);
		buf_reset(&value);
		if (url_unescape(pair, (size_t)(eq - pair), 1, &name, err,
		    errlen) == -1 ||
		    (eq < amp && url_unescape(eq + 1, (size_t)(amp - eq - 1), 1,
		    &value, err, errlen) == -1)) {
			buf_free(&name);
			buf_free(&value);
			return -1;
		}
		params_add(p, buf_detach(&name), buf_detach(&value));
	}
	buf_free(&name);
	buf_free(&value);
	return 0;
}

void
params_free(struct params *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->v[i].name);
		free(p->v[i].value);
	}
	free(p->v);
	p->v = NULL;
	p->n = p->cap = 0;
}

static int
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* A qvalue is "0" or "1" with up to three decimals; only 0 refuses. */
static int
qvalue_zero(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || s[0] != '0')
		return 0;
	for (i = 1; i < len; i++)
		if (s[i] != '.' && s[i] != '0')
			return 0;
	return 1;
}

/* Length of token [s, end) without trailing whitespace. */
static size_t
trimmed(const char *s, const char *end)
{
	while (end > s && is_ows(end[-1]))
		end--;
	return (size_t)(end - s);
}

/*
 * Accept-Encoding: 1#( codings [ OWS ";" OWS "q=" qvalue ] ).  A coding
 * with q=0 is refused; an unlisted gzip is allowed only by a "*" that is.
 */
int
accept_gzip(const char *h)
{
	const char	*p, *elem, *semi, *comma, *q;
	int		 gzip = -1, star = -1;

	if (h == NULL)
		return 0;
	for (p = h; *p != '\0'; p = *comma != '\0' ? comma + 1 : comma) {
		size_t	clen;
		int	ok = 1;

		comma = p + strcspn(p, ",");
		elem = p;
		while (elem < comma && is_ows(*elem))
			elem++;
		semi = memchr(elem, ';', (size_t)(comma - elem));
		clen = trimmed(elem, semi != NULL ? semi : comma);
		for (q = semi; q != NULL && q < comma; ) {
			const char *v;

			q++;
			while (q < comma && is_ows(*q))
				q++;
			if (comma - q >= 2 && (q[0] == 'q' || q[0] == 'Q') &&
			    q[1] == '=') {
				v = q + 2;
				ok = !qvalue_zero(v, trimmed(v, comma));
			}
			q = memchr(q, ';', (size_t)(comma - q));
		}
		if ((clen == 4 && strncasecmp(elem, "gzip", 4) == 0) ||
		    (clen == 6 && strncasecmp(elem, "x-gzip", 6) == 0)) {
			if (gzip == -1)
				gzip = ok;
		} else if (clen == 1 && elem[0] == '*') {
			if (star == -1)
				star = ok;
		}
	}
	if (gzip != -1)
		return gzip;
	return star == 1;
}

enum content_coding
content_coding(const char *h)
{
	size_t len;

	if (h == NULL)
		return CODING_IDENTITY;
	while (is_ows(*h))
		h++;
	len = trimmed(h, h + strlen(h));
	if (len == 0 || (len == 8 && strncasecmp(h, "identity", 8) == 0))
		return CODING_IDENTITY;
	if ((len == 4 && strncasecmp(h, "gzip", 4) == 0) ||
	    (len == 6 && strncasecmp(h, "x-gzip", 6) == 0))
		return CODING_GZIP;
	return CODING_UNSUPPORTED;
}

int
content_type_is_form(const char *h)
{
	static const char	 form[] = "application/x-www-form-urlencoded";
	size_t			 n = sizeof(form) - 1;

	if (h == NULL)
		return 0;
	while (is_ows(*h))
		h++;
	if (strncasecmp(h, form, n) != 0)
		return 0;
	h += n;
	while (is_ows(*h))
		h++;
	return *h == '\0' || *h == ';';
}
