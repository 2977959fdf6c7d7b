/*
 * matcher: label matchers compiled once per select (see matcher.h).
 *
 * Most regex matchers in dashboards are literals or alternations of them
 * (job=~"shop-api"); a literal pattern is turned into a string comparison
 * so the index can look it up directly instead of scanning every value.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matcher.h"
#include "store.h"
#include "xmalloc.h"

/* Bounds the work of a pathological pattern on one value. */
#define MATCHER_MATCH_LIMIT	1000000

struct matcher {
	char			*name;
	char			*value;
	int			 op;
	int			 negate;
	int			 literal;	/* compare value as a string */
	pcre2_code		*re;
	pcre2_match_data	*md;
	pcre2_match_context	*mctx;
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
	PCRE2_SIZE	 off;
	PCRE2_UCHAR	 msg[160];
	int		 ecode;

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

	m->re = pcre2_compile((PCRE2_SPTR)m->value, PCRE2_ZERO_TERMINATED,
	    PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_DOTALL | PCRE2_UTF |
	    PCRE2_MATCH_INVALID_UTF, &ecode, &off, NULL);
	if (m->re == NULL) {
		pcre2_get_error_message(ecode, msg, sizeof(msg));
		snprintf(err, errlen, "invalid regex \"%s\": %s", m->value,
		    (const char *)msg);
		matcher_free(m);
		return NULL;
	}
	/* Without JIT support the interpreter does the same job. */
	(void)pcre2_jit_compile(m->re, PCRE2_JIT_COMPLETE);
	m->md = pcre2_match_data_create_from_pattern(m->re, NULL);
	m->mctx = pcre2_match_context_create(NULL);
	if (m->md == NULL || m->mctx == NULL) {
		snprintf(err, errlen, "out of memory compiling regex");
		matcher_free(m);
		return NULL;
	}
	pcre2_set_match_limit(m->mctx, MATCHER_MATCH_LIMIT);
	return m;
}

void
matcher_free(struct matcher *m)
{
	if (m == NULL)
		return;
	pcre2_match_data_free(m->md);
	pcre2_match_context_free(m->mctx);
	pcre2_code_free(m->re);
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
		/* Errors (match limit) count as no match, as a safe answer. */
		hit = pcre2_match(m->re, (PCRE2_SPTR)value, len, 0, 0, m->md,
		    m->mctx) >= 0;
	return m->negate ? !hit : hit;
}
