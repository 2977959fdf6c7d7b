/*
 * buf: growable byte buffer (see buf.h).
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xmalloc.h"

void
buf_reserve(struct buf *b, size_t n)
{
	size_t want = b->len + n + 1;

	if (want <= b->cap)
		return;
	if (b->cap == 0)
		b->cap = 64;
	while (b->cap < want)
		b->cap *= 2;
	b->data = xreallocarray(b->data, 1, b->cap);
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/*
 * The shortest decimal that parses back to V: its significant digits come
 * from the first %.*e precision that round-trips; *EXP gets the decimal
 * exponent.  Returns the number of significant digits.
 */
static int
shortest_digits(double v, int *exp)
{
	char	tmp[40];
	int	prec;

	for (prec = 1; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
	*exp = atoi(strchr(tmp, 'e') + 1);
	return prec;
}

static int
add_special(struct buf *b, double v)
{
	if (isnan(v))
		buf_adds(b, "NaN");
	else if (isinf(v))
		buf_adds(b, v > 0 ? "+Inf" : "-Inf");
	else
		return 0;
	return 1;
}

void
buf_add_double(struct buf *b, double v)
{
	int	exp, prec;

	if (add_special(b, v))
		return;
	prec = shortest_digits(v, &exp);
	/* Go's strconv 'g' with the shortest precision, which Prometheus's
	   text format uses: the exponent form below 1e-4 and from 1e6. */
	if (exp < -4 || exp >= 6)
		buf_printf(b, "%.*e", prec - 1, v);
	else
		buf_printf(b, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, v);
}

void
buf_add_double_fixed(struct buf *b, double v)
{
	int	exp, prec;

	if (add_special(b, v))
		return;
	prec = shortest_digits(v, &exp);
	buf_printf(b, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, v);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *
buf_detach(struct buf *b)
{
	char *p = b->data;

	if (p == NULL)
		p = xstrdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}
