/*
 * The documentation matches the code: every metric of every catalogue is in
 * monitord-metrics(7) with its type, labels and help word for word, and the
 * page lists no metric that no catalogue has.
 *
 * monitord-metrics(7) lists an entry as
 *	.It Sy NAME Pq TYPE
 *	Labels: a, b.		(or "No labels.")
 *	help text, one sentence a line
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcheck.h"
#include "alert/alerting.h"
#include "alert/notify.h"
#include "buf.h"
#include "collectors/collector.h"
#include "collectors/target.h"
#include "http/server.h"
#include "selfmon.h"
#include "api_store.h"
#include "storage/store.h"

static char *
read_page(const char *name)
{
	const char	*src = getenv("MONITORD_SRCDIR");
	char		 path[4096];
	char		*text;
	FILE		*f;
	long		 size;

	snprintf(path, sizeof(path), "%s/man/%s", src ? src : ".", name);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)size + 1);
	ck_assert_uint_eq(fread(text, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	return text;
}

/*
 * The entry after P, as "Labels: ... .|help text joined"; NULL at the end
 * of the page.  Help lines run to the next macro line.
 */
static void
entry_text(const char *p, struct buf *out)
{
	const char *end;

	buf_reset(out);
	end = strchr(p, '\n');
	ck_assert_ptr_nonnull(end);
	buf_add(out, p, (size_t)(end - p));
	buf_addc(out, '|');
	for (p = end + 1; *p != '\0' && *p != '.'; p = end + 1) {
		end = strchr(p, '\n');
		ck_assert_ptr_nonnull(end);
		if (out->data[out->len - 1] != '|')
			buf_addc(out, ' ');
		buf_add(out, p, (size_t)(end - p));
	}
}

/* One of the page's entries named M->name must say exactly what M says
 * (a name may stand twice: monitord's own process_* and a process
 * group's, which has a process label). */
static void
check_entry(const char *text, const struct metric_def *m)
{
	struct buf	 head = BUF_INIT, want = BUF_INIT, got = BUF_INIT;
	const char	*p, *l;
	int		 seen = 0, ok = 0;

	buf_printf(&head, "\n.It Sy %s Pq %s\n", m->name,
	    metric_type_name(m->type));
	if (*m->labels == '\0')
		buf_adds(&want, "No labels.");
	else {
		buf_adds(&want, "Labels: ");
		for (l = m->labels; *l != '\0'; l++) {
			if (*l == ' ')
				buf_adds(&want, ", ");
			else
				buf_addc(&want, *l);
		}
		buf_adds(&want, ".");
	}
	buf_printf(&want, "|%s", m->help);
	for (p = text; !ok && (p = strstr(p, head.data)) != NULL; ) {
		p += head.len;
		seen = 1;
		entry_text(p, &got);
		ok = strcmp(got.data, want.data) == 0;
	}
	ck_assert_msg(seen, "%s missing from monitord-metrics(7)", m->name);
	ck_assert_msg(ok, "%s differs:\n  man: %s\n  code: %s", m->name,
	    got.data, want.data);
	buf_free(&head);
	buf_free(&want);
	buf_free(&got);
}

/* Every catalogue monitord has, { NULL }-ended each. */
static size_t
catalogues(const struct metric_def **out, size_t max)
{
	size_t n = 0, i;

	out[n++] = collector_core_metrics;
	out[n++] = targets_metrics;
	out[n++] = selfmon_metrics;
	out[n++] = httpd_metrics;
	out[n++] = store_metrics;
	out[n++] = api_store_metrics;
	out[n++] = alerting_metrics;
	out[n++] = notify_metrics;
	for (i = 0; collector_kinds[i] != NULL && n < max; i++)
		if (collector_kinds[i]->metrics != NULL)
			out[n++] = collector_kinds[i]->metrics;
	return n;
}

START_TEST(test_every_metric_documented)
{
	const struct metric_def	*cat[64];
	char			*text = read_page("monitord-metrics.7");
	size_t			 n = catalogues(cat, 64), i, j, count = 0;

	for (i = 0; i < n; i++)
		for (j = 0; cat[i][j].name != NULL; j++, count++)
			check_entry(text, &cat[i][j]);
	ck_assert_uint_gt(count, 60);
	free(text);
}
END_TEST

START_TEST(test_no_stale_entries)
{
	const struct metric_def	*cat[64];
	char			*text = read_page("monitord-metrics.7");
	size_t			 n = catalogues(cat, 64);
	const char		*p = text;

	while ((p = strstr(p, "\n.It Sy ")) != NULL) {
		char	name[256];
		size_t	len, i, j;
		int	found = 0;

		p += strlen("\n.It Sy ");
		len = strcspn(p, " \n");
		ck_assert_uint_lt(len, sizeof(name));
		memcpy(name, p, len);
		name[len] = '\0';
		for (i = 0; i < n && !found; i++)
			for (j = 0; cat[i][j].name != NULL && !found; j++)
				found = strcmp(cat[i][j].name, name) == 0;
		ck_assert_msg(found, "monitord-metrics(7) lists %s, which no "
		    "catalogue has", name);
	}
	free(text);
}
END_TEST

static Suite *
docs_suite(void)
{
	Suite	*s = suite_create("docs");
	TCase	*tc = tcase_create("docs");

	tcase_add_test(tc, test_every_metric_documented);
	tcase_add_test(tc, test_no_stale_entries);
	suite_add_tcase(s, tc);
	return s;
}

TCHECK_MAIN(docs_suite)
