/*
 * select: series sets for the query engine, label names and values.
 *
 * The index answers which series match (postings.c); whether a series has
 * data in the time range comes from its bounds in memory for raw data, or
 * from its rollup blocks for a tier; across tiers (STORE_TIER_ALL, read
 * with store_titer: tiers.c) a series without raw data in range is looked
 * for in the tiers' blocks before its oldest raw sample.  Labels come from the series in
 * memory (a series' key never changes), copied out so the set outlives
 * the index lock; a series removed since the postings were read is left
 * out.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "kv.h"
#include "matcher.h"
#include "sample.h"
#include "store_int.h"
#include "xmalloc.h"

struct set_entry {
	uint64_t	 id;
	char		*key;
	struct label	*labels;
	size_t		 nlabels;
};

struct store_set {
	struct set_entry	*v;
	size_t			 n;
};

static void
matchers_free(struct matcher **ms, size_t n)
{
	size_t i;

	if (ms == NULL)
		return;
	for (i = 0; i < n; i++)
		matcher_free(ms[i]);
	free(ms);
}

static struct matcher **
matchers_new(const struct store_matcher *sm, size_t n, char *err,
    size_t errlen)
{
	struct matcher	**ms = xcalloc(n ? n : 1, sizeof(*ms));
	size_t		  i;

	for (i = 0; i < n; i++)
		if ((ms[i] = matcher_new(&sm[i], err, errlen)) == NULL) {
			matchers_free(ms, i);
			return NULL;
		}
	return ms;
}

/*
 * Whether the series has raw data in [t0, t1], from its bounds; *mint
 * (when not NULL) is its oldest raw sample, INT64_MAX when none.
 */
static int
raw_in_range(struct store *st, uint64_t id, int64_t t0, int64_t t1,
    int64_t *mint)
{
	struct series	*s;
	int		 in = 0;

	if (mint != NULL)
		*mint = INT64_MAX;
	if ((s = series_find_id(&st->idx, id)) == NULL)
		return 0;
	pthread_mutex_lock(store_stripe(st, id));
	if (s->mint != INT64_MAX)
		in = s->mint <= t1 && s->last_t >= t0;
	if (mint != NULL)
		*mint = s->mint;
	pthread_mutex_unlock(store_stripe(st, id));
	return in;
}

/*
 * Whether a series without raw data in [t0, t1] whose oldest raw sample
 * is at MINT has buckets of a tier that store_titer would give there:
 * points (start + width - 1) in [t0, t1] of buckets that end at or before
 * MINT and start before the raw cutoff CUT.
 */
static int
tiers_in_range(struct store *st, struct kv_txn *txn, uint64_t id,
    int64_t t0, int64_t t1, int64_t mint, int64_t cut)
{
	int64_t	hi = mint != INT64_MAX && mint - 1 < t1 ? mint - 1 : t1, w;
	int	tier, rc;

	for (tier = STORE_TIER_5M; tier < STORE_TIER_COUNT; tier++) {
		w = rollup_bucket(tier) - 1;
		if (!rollup_tier_on(st, tier) || t0 > hi || cut == INT64_MIN ||
		    t0 > cut - 1 + w)
			continue;
		if ((rc = rollup_has_data(txn, tier, id,
		    t0 < INT64_MIN + w ? INT64_MIN : t0 - w, hi - w)) != 0)
			return rc;
	}
	return 0;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct set_entry *x = a, *y = b;

	return labels_cmp(x->labels, x->nlabels, y->labels, y->nlabels);
}

static int
select_ids(struct store *st, struct kv_txn *txn, struct matcher **ms,
    size_t n, int64_t t0, int64_t t1, enum store_tier tier,
    struct store_ids *ids)
{
	int64_t	*mints, cut;
	size_t	 i, j;
	int	 rc;

	if ((rc = postings_select(txn, ms, n, ids)) < 0)
		return rc;
	if (tier == STORE_TIER_RAW) {
		pthread_rwlock_rdlock(&st->ilock);
		for (i = j = 0; i < ids->n; i++)
			if (raw_in_range(st, ids->v[i], t0, t1, NULL))
				ids->v[j++] = ids->v[i];
		pthread_rwlock_unlock(&st->ilock);
		ids->n = j;
		return 0;
	}
	if (tier == STORE_TIER_ALL) {
		/* The mints first, under the lock, then the cutoff (as
		   store_titer_new); the tiers' blocks (only for series
		   without raw data in range) after it. */
		mints = xreallocarray(NULL, ids->n ? ids->n : 1,
		    sizeof(*mints));
		pthread_rwlock_rdlock(&st->ilock);
		for (i = 0; i < ids->n; i++)
			if (raw_in_range(st, ids->v[i], t0, t1, &mints[i]))
				mints[i] = INT64_MIN;
		pthread_rwlock_unlock(&st->ilock);
		cut = store_raw_cutoff(st);
		for (i = j = rc = 0; i < ids->n && rc >= 0; i++)
			if (mints[i] == INT64_MIN ||
			    (rc = tiers_in_range(st, txn, ids->v[i], t0, t1,
			    mints[i], cut)) == 1)
				ids->v[j++] = ids->v[i];
		free(mints);
		ids->n = j;
		return rc < 0 ? rc : 0;
	}
	for (i = j = 0; i < ids->n; i++) {
		if ((rc = rollup_has_data(txn, tier, ids->v[i], t0, t1)) < 0)
			return rc;
		if (rc == 1)
			ids->v[j++] = ids->v[i];
	}
	ids->n = j;
	return 0;
}

int
store_select(struct store *st, const struct store_matcher *sm, size_t n,
    int64_t t0, int64_t t1, enum store_tier tier, struct store_set **out,
    char *err, size_t errlen)
{
	return store_select_max(st, sm, n, t0, t1, tier, 0, out, err, errlen);
}

int
store_select_max(struct store *st, const struct store_matcher *sm, size_t n,
    int64_t t0, int64_t t1, enum store_tier tier, size_t max,
    struct store_set **out, char *err, size_t errlen)
{
	struct matcher		**ms;
	struct kv_txn		 *txn;
	struct store_ids	  ids = { NULL, 0, 0 };
	struct store_set	 *set;
	struct set_entry	 *e;
	struct series		 *s;
	size_t			  i;
	int			  rc;

	*out = NULL;
	if ((tier < STORE_TIER_RAW || tier >= STORE_TIER_COUNT) &&
	    tier != STORE_TIER_ALL) {
		snprintf(err, errlen, "unknown tier %d", (int)tier);
		return -1;
	}
	if ((ms = matchers_new(sm, n, err, errlen)) == NULL)
		return -1;
	if (kv_read_begin(st->kv, &txn, err, errlen) < 0) {
		matchers_free(ms, n);
		return -1;
	}
	set = xcalloc(1, sizeof(*set));
	rc = select_ids(st, txn, ms, n, t0, t1, tier, &ids);
	if (rc == 0 && max > 0 && ids.n > max) {
		/* Series removed since the postings were read would count
		   off, but a limit is about the postings' work anyway. */
		kv_read_end(txn);
		matchers_free(ms, n);
		ids_free(&ids);
		store_set_free(set);
		return -2;
	}
	if (rc == 0)
		set->v = xcalloc(ids.n ? ids.n : 1, sizeof(*set->v));
	if (rc == 0)
		pthread_rwlock_rdlock(&st->ilock);
	for (i = 0; rc == 0 && i < ids.n; i++) {
		/* Not when removed since the postings were read. */
		if ((s = series_find_id(&st->idx, ids.v[i])) == NULL)
			continue;
		e = &set->v[set->n++];
		e->id = ids.v[i];
		e->key = xmalloc(s->keylen);
		memcpy(e->key, s->key, s->keylen);
		e->nlabels = series_nlabels(e->key, s->keylen);
		e->labels = xcalloc(e->nlabels + 1, sizeof(*e->labels));
		e->nlabels = series_labels(e->key, s->keylen, e->labels,
		    e->nlabels);
	}
	if (rc == 0)
		pthread_rwlock_unlock(&st->ilock);
	if (rc < 0)
		snprintf(err, errlen, "select: %s", kv_txn_error(txn));
	kv_read_end(txn);
	matchers_free(ms, n);
	ids_free(&ids);
	if (rc < 0) {
		store_set_free(set);
		return -1;
	}
	qsort(set->v, set->n, sizeof(*set->v), entry_cmp);
	*out = set;
	return 0;
}

size_t
store_set_len(const struct store_set *set)
{
	return set->n;
}

uint64_t
store_set_id(const struct store_set *set, size_t i)
{
	return i < set->n ? set->v[i].id : 0;
}

const struct label *
store_set_labels(const struct store_set *set, size_t i, size_t *n)
{
	if (i >= set->n) {
		*n = 0;
		return NULL;
	}
	*n = set->v[i].nlabels;
	return set->v[i].labels;
}

void
store_set_free(struct store_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++) {
		free(set->v[i].key);
		free(set->v[i].labels);
	}
	free(set->v);
	free(set);
}

static void
strings_add(struct store_strings *out, const char *s)
{
	if (out->n % 64 == 0)
		out->v = xreallocarray(out->v, out->n + 64, sizeof(*out->v));
	out->v[out->n++] = xstrdup(s);
}

/* Names (NAME NULL) or values of NAME over the series of a selection. */
static int
labels_of_set(struct store *st, const char *name,
    const struct store_matcher *sm, size_t n, int64_t t0, int64_t t1,
    struct store_strings *out, char *err, size_t errlen)
{
	struct store_set	*set;
	const struct label	*l;
	size_t			 i, j, nl;

	if (store_select(st, sm, n, t0, t1, STORE_TIER_ALL, &set, err,
	    errlen) == -1)
		return -1;
	for (i = 0; i < set->n; i++) {
		l = store_set_labels(set, i, &nl);
		for (j = 0; j < nl; j++) {
			if (name == NULL)
				strings_add(out, l[j].name);
			else if (strcmp(l[j].name, name) == 0)
				strings_add(out, l[j].value);
		}
	}
	store_set_free(set);
	strings_sort_unique(out);
	return 0;
}

static int
unbounded(size_t n, int64_t t0, int64_t t1)
{
	return n == 0 && t0 == INT64_MIN && t1 == INT64_MAX;
}

int
store_label_names(struct store *st, const struct store_matcher *sm,
    size_t n, int64_t t0, int64_t t1, struct store_strings *out, char *err,
    size_t errlen)
{
	struct kv_txn	*txn;
	int		 rc;

	memset(out, 0, sizeof(*out));
	if (!unbounded(n, t0, t1))
		return labels_of_set(st, NULL, sm, n, t0, t1, out, err, errlen);
	if (kv_read_begin(st->kv, &txn, err, errlen) < 0)
		return -1;
	if ((rc = postings_label_names(txn, out)) < 0)
		snprintf(err, errlen, "label names: %s", kv_txn_error(txn));
	kv_read_end(txn);
	return rc < 0 ? -1 : 0;
}

int
store_label_values(struct store *st, const char *name,
    const struct store_matcher *sm, size_t n, int64_t t0, int64_t t1,
    struct store_strings *out, char *err, size_t errlen)
{
	struct kv_txn	*txn;
	int		 rc;

	memset(out, 0, sizeof(*out));
	if (!unbounded(n, t0, t1))
		return labels_of_set(st, name, sm, n, t0, t1, out, err, errlen);
	if (kv_read_begin(st->kv, &txn, err, errlen) < 0)
		return -1;
	if ((rc = postings_label_values(txn, name, out)) < 0)
		snprintf(err, errlen, "label values: %s", kv_txn_error(txn));
	kv_read_end(txn);
	return rc < 0 ? -1 : 0;
}
