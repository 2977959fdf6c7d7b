/*
 * fuzz_alert: the alerting parsers on arbitrary bytes.  The first byte
 * picks one: a Prometheus rule file (loaded, then every annotation and
 * label of every rule expanded with sample data and every expression given
 * to the resolve rewrite), a template on its own, or a stored notification
 * log entry.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alert/dispatch.h"
#include "alert/labels.h"
#include "alert/rules.h"
#include "alert/template.h"
#include "buf.h"
#include "xmalloc.h"

static void
expand_all(const struct lset *l, const struct tmpl_data *d)
{
	struct buf	b = BUF_INIT;
	char		err[256];
	size_t		i;

	for (i = 0; i < l->n; i++) {
		buf_reset(&b);
		tmpl_expand(l->v[i].value, d, &b, err, sizeof(err));
	}
	buf_free(&b);
}

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ruleset		*rs;
	struct rule_errors	 errs = { NULL, 0 };
	struct lset		 l = LSET_INIT;
	struct tmpl_data	 d;
	struct nflog_entry	 e;
	struct buf		 b = BUF_INIT;
	char			*text, err[256], *r;
	size_t			 g, i;

	if (size < 1)
		return 0;
	text = xstrndup((const char *)data + 1, size - 1);
	lset_set(&l, "__name__", "up");
	lset_set(&l, "instance", "10.0.0.1:80");
	d.labels = &l;
	d.value = 1234.5;
	d.external_url = "http://x";
	switch (data[0] % 3) {
	case 0:
		rs = ruleset_new();
		ruleset_load_yaml(rs, "f.yml", text, strlen(text), NULL, &errs);
		for (g = 0; g < rs->ngroups; g++)
			for (i = 0; i < rs->groups[g].nrules; i++) {
				expand_all(&rs->groups[g].rules[i].labels, &d);
				expand_all(&rs->groups[g].rules[i].annotations,
				    &d);
				r = rule_resolve_expr(rs->groups[g].rules[i].expr,
				    0.5, err, sizeof(err));
				free(r);
			}
		ruleset_free(rs);
		rule_errors_free(&errs);
		break;
	case 1:
		tmpl_check(text, err, sizeof(err));
		tmpl_expand(text, &d, &b, err, sizeof(err));
		r = rule_resolve_expr(text, 1, err, sizeof(err));
		free(r);
		break;
	case 2:
		if (nflog_decode(data + 1, size - 1, &e) == 0)
			nflog_entry_clear(&e);
		break;
	}
	buf_free(&b);
	lset_clear(&l);
	free(text);
	return 0;
}
