/*
 * params: the parts of an HTTP request the server decodes itself, internal
 * to src/http: percent-decoding, query strings and form bodies, and the
 * Accept-Encoding / Content-Encoding / Content-Type headers.
 *
 * Input is untrusted bytes of a given length (no NUL needed).  Errors are
 * messages in err with every byte outside printable ASCII written as \xNN,
 * so they can go into a JSON reply or a log line as they are.  Memory use is
 * linear in the input.
 */
#ifndef MONITORD_HTTP_PARAMS_H
#define MONITORD_HTTP_PARAMS_H

#include <stddef.h>

struct buf;

struct param {
	char	*name;
	char	*value;
};

struct params {
	struct param	*v;
	size_t		 n, cap;
};

#define PARAMS_INIT { NULL, 0, 0 }

/*
 * Percent-decode S[0..len) and append the result to OUT.  With plus, '+'
 * means a space (query strings and forms, not paths).  A '%' not followed
 * by two hex digits, or a decoded NUL byte, is an error (-1); OUT then holds
 * a partial result.
 */
int	url_unescape(const char *s, size_t len, int plus, struct buf *out,
	    char *err, size_t errlen);

/*
 * Append the name=value pairs of an application/x-www-form-urlencoded
 * string (a query string or a form body) to P in order.  Empty pairs are
 * skipped; "name" alone has the value "".  On error (-1) P keeps the pairs
 * before the bad one.
 */
int	params_parse(struct params *, const char *s, size_t len, char *err,
	    size_t errlen);
void	params_free(struct params *);

/* Whether an Accept-Encoding value allows gzip (explicitly or by "*"). */
int	accept_gzip(const char *);

enum content_coding {
	CODING_IDENTITY,
	CODING_GZIP,
	CODING_UNSUPPORTED,
};

/* A request's Content-Encoding (NULL or empty: identity). */
enum content_coding content_coding(const char *);

/* Whether a Content-Type is application/x-www-form-urlencoded. */
int	content_type_is_form(const char *);

/* Append S[0..len) to OUT with bytes outside printable ASCII as \xNN. */
void	printable(struct buf *out, const char *s, size_t len);

#endif
