/*
 * libFuzzer target for the PromQL parser: any bytes must parse or fail with
 * a message, never crash, leak or run away; and whatever parses must print
 * as text that parses back to a tree printing the same.
 *
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -I . -I build \
 *	    fuzz/fuzz_promql.c src/query/[a-z]*.c src/buf.c src/xmalloc.c \
 *	    $(pkg-config --libs libpcre2-8) -lm -o /tmp/fuzz_promql
 *	/tmp/fuzz_promql -max_total_time=60 fuzz/corpus/promql/
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "query/parser.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * Prometheus prints the number +Inf as "+Inf", so "inf ^ 2" prints as
 * "+Inf ^ 2", which parses back as +(Inf ^ 2) and prints "++Inf ^ 2".
 * monitord prints as Prometheus does; compare with the signs before
 * "Inf ^" removed.
 */
static void
strip_inf_signs(struct buf *b)
{
	size_t	i, j = 0, k;

	for (i = 0; i < b->len; i++) {
		if (b->data[i] == '+') {
			for (k = i; k < b->len && b->data[k] == '+'; k++)
				;
			if (b->len - k >= 5 && memcmp(b->data + k, "Inf ^", 5) == 0) {
				i = k - 1;
				continue;
			}
		}
		b->data[j++] = b->data[i];
	}
	b->len = j;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct q_error	 err, err2;
	struct q_expr	*e, *again;
	struct buf	 out = BUF_INIT, out2 = BUF_INIT;

	e = q_parse_n((const char *)data, size, &err);
	if (e == NULL) {
		if (err.pos < 0 || (size_t)err.pos > size || err.msg[0] == '\0')
			abort();
		q_error_format(&err, (const char *)data, size, &out);
		buf_free(&out);
		return 0;
	}
	q_expr_format(e, &out);
	again = q_parse_n(out.data, out.len, &err2);
	if (again == NULL) {
		/*
		 * Prometheus prints U+FFFD in a string as is, and then refuses
		 * it ("invalid UTF-8 rune"); monitord prints as Prometheus does.
		 */
		if (strstr(out.data, "\xef\xbf\xbd") == NULL)
			abort();
	} else {
		q_expr_format(again, &out2);
		if (out.len != out2.len || memcmp(out.data, out2.data, out.len)) {
			strip_inf_signs(&out);
			strip_inf_signs(&out2);
			if (out.len != out2.len ||
			    memcmp(out.data, out2.data, out.len))
				abort();
		}
		q_expr_free(again);
	}
	buf_free(&out);
	buf_free(&out2);
	q_expr_free(e);
	return 0;
}
