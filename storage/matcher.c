/*
 * matcher: label matchers compiled once per select (see matcher.h).
 *
 * Regexes go through the query module's q_regex, which gives a pattern
 * Prometheus's meaning (RE2 syntax, anchored at both ends): the parser
 * checks patterns with the same code, so what it accepts the index matches
 * the same way.  Most regex matchers in dashboards are literals
 * (job=~"shop-api"); a literal pattern is compared as a string so the
 * index can look it up directly instead of scanning every value.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "matcher.h"
#include "query/regex.h"
#include "store.h"
#include "xmalloc.h"

struct matcher {
	char		*name;
	char		*value;
	int		 op;
	int		 negate;
	int		 literal;	/* compare value as a string */
	struct q_regex	*re;
};

static int
matcher_is_literal(const char *s)
{
	return strpbrk(s, "\\^$.|?*+()[]{}") == NULL;
}

struct matcher *
matcher_new(const struct store_matcher *sm, char *err, size_t errlen)
{
	struct matcher	*m;
	struct buf	 eb = BUF_INIT;

	if (sm->name == NULL || sm->name[0] == '\0') {
		snprintf(err, errlen, "matcher without a label name");
		return NULL;
	}
	if (sm->op < STORE_MATCH_EQ || sm->op > STORE_MATCH_NRE) {
		snprintf(err, errlen, "matcher on %s: unknown operator %d",
		    sm->name, sm->op);
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	m->name = xstrdup(sm->name);
	m->value = xstrdup(sm->value != NULL ? sm->value : "");
	m->op = sm->op;
	m->negate = sm->op == STORE_MATCH_NE || sm->op == STORE_MATCH_NRE;
	m->literal = sm->op == STORE_MATCH_EQ || sm->op == STORE_MATCH_NE ||
	    matcher_is_literal(m->value);
	if (m->literal)
		return m;
	buf_adds(&eb, "");
	if ((m->re = q_regex_new(m->value, strlen(m->value), &eb)) == NULL) {
		snprintf(err, errlen, "%s", eb.data);
		buf_free(&eb);
		matcher_free(m);
		return NULL;
	}
	buf_free(&eb);
	return m;
}

void
matcher_free(struct matcher *m)
{
	if (m == NULL)
		return;
	q_regex_free(m->re);
	free(m->name);
	free(m->value);
	free(m);
}

const char *
matcher_name(const struct matcher *m)
{
	return m->name;
}

const char *
matcher_exact(const struct matcher *m)
{
	return m->literal && !m->negate ? m->value : NULL;
}

int
matcher_matches(struct matcher *m, const char *value, size_t len)
{
	int hit;

	if (m->literal)
		hit = strlen(m->value) == len &&
		    memcmp(m->value, value, len) == 0;
	else
		hit = q_regex_match(m->re, value, len);
	return m->negate ? !hit : hit;
}
