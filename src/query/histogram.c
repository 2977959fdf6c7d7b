/*
 * histogram: histogram_quantile() over classic "le" buckets and the
 * quantile used by quantile() and quantile_over_time(), as Prometheus 2.42
 * computes them: buckets sorted by bound, a "+Inf" bucket required,
 * buckets with the same bound added together, counts made monotonic, and
 * linear interpolation inside the bucket holding the rank (from 0 for the
 * lowest bucket when its bound is positive).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "query/engine.h"
#include "query/value.h"
#include "xmalloc.h"

struct bucket {
	double	ub;
	double	count;
};

static int
bucket_cmp(const void *a, const void *b)
{
	const struct bucket *x = a, *y = b;

	return x->ub < y->ub ? -1 : x->ub > y->ub;
}

/* B (N buckets) sorted by bound unless SORTED says they already are. */
static double
bucket_quantile(double q, struct bucket *b, size_t n, int sorted)
{
	double	max = -INFINITY, obs, rank, start = 0, end, count;
	size_t	i, j, lo, hi;

	if (isnan(q))
		return NAN;
	if (q < 0)
		return -INFINITY;
	if (q > 1)
		return INFINITY;
	if (!sorted)
		qsort(b, n, sizeof(*b), bucket_cmp);
	if (!(isinf(b[n - 1].ub) && b[n - 1].ub > 0))
		return NAN;
	/* Same bounds add up. */
	for (i = 0, j = 1; j < n; j++) {
		if (b[j].ub == b[i].ub)
			b[i].count += b[j].count;
		else
			b[++i] = b[j];
	}
	n = i + 1;
	for (i = 0; i < n; i++) {
		if (b[i].count > max)
			max = b[i].count;
		else if (b[i].count < max)
			b[i].count = max;
	}
	if (n < 2)
		return NAN;
	obs = b[n - 1].count;
	if (obs == 0)
		return NAN;
	rank = q * obs;
	/* Go's sort.Search over the first n-1 buckets. */
	lo = 0;
	hi = n - 1;
	while (lo < hi) {
		size_t h = (lo + hi) / 2;

		if (!(b[h].count >= rank))
			lo = h + 1;
		else
			hi = h;
	}
	if (lo == n - 1)
		return b[n - 2].ub;
	if (lo == 0 && b[0].ub <= 0)
		return b[0].ub;
	end = b[lo].ub;
	count = b[lo].count;
	if (lo > 0) {
		start = b[lo - 1].ub;
		count -= b[lo - 1].count;
		rank -= b[lo - 1].count;
	}
	return start + (end - start) * (rank / count);
}

static int
nan_first_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	if (isnan(x) || isnan(y))
		return isnan(y) - isnan(x);
	return x < y ? -1 : x > y;
}

double
q_quantile(double q, double *v, size_t n)
{
	double	rank, lower, upper, weight;

	if (n == 0)
		return NAN;
	if (q < 0)
		return -INFINITY;
	if (q > 1)
		return INFINITY;
	if (isnan(q))
		return NAN;
	qsort(v, n, sizeof(*v), nan_first_cmp);
	rank = q * (double)(n - 1);
	lower = fmax(0, floor(rank));
	upper = fmin((double)(n - 1), lower + 1);
	weight = rank - floor(rank);
	return v[(size_t)lower] * (1 - weight) + v[(size_t)upper] * weight;
}

/* Go's strconv.ParseFloat, near enough: no spaces, nothing after. */
static int
parse_le(const char *s, double *v)
{
	char *end;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	if (strcasecmp(s, "nan") != 0 && strchr(s, '(') != NULL)
		return -1;
	errno = 0;
	*v = strtod(s, &end);
	if (*end != '\0')
		return -1;
	if (errno == ERANGE && isinf(*v))
		return -1;
	return 0;
}

struct qval *
ev_histogram_quantile(struct ev *ev, const double *q, struct qval *in,
    const struct qrange *r)
{
	struct qmap	 groups = { NULL, 0, 0 };
	struct buf	 key = BUF_INIT;
	struct qval	*out;
	size_t		*gof, *members, ng = 0, i, k, g, cap = 0;
	double		*ub;
	struct bucket	*b;
	char		*le[] = { "le" };

	out = qval_new(Q_TYPE_VECTOR);
	out->vec.nsteps = r->n;
	gof = xreallocarray(NULL, in->vec.n ? in->vec.n : 1, sizeof(size_t));
	ub = xreallocarray(NULL, in->vec.n ? in->vec.n : 1, sizeof(double));
	for (i = 0; i < in->vec.n; i++) {
		const struct qlset *ls = in->vec.s[i].ls;

		gof[i] = (size_t)-1;
		if (parse_le(qls_get(ls, "le"), &ub[i]) == -1)
			continue;
		buf_reset(&key);
		qls_signature(ls, 0, le, 1, &key);
		buf_adds(&key, qls_get(ls, "__name__"));
		g = qmap_put(&groups, key.data ? key.data : "", key.len, ng);
		if (g == ng) {
			struct qlset *ol = qls_without(ls, le, 1, 1);

			if (qvec_add(ev, &out->vec, ol) == NULL)
				break;
			ng++;
		}
		gof[i] = g;
		if (i + 1 > cap)
			cap = i + 1;
	}
	buf_free(&key);
	qmap_free(&groups);
	/* Members of each group, in input order. */
	members = xreallocarray(NULL, in->vec.n ? in->vec.n : 1,
	    sizeof(size_t));
	b = xreallocarray(NULL, in->vec.n ? in->vec.n : 1, sizeof(*b));
	for (g = 0; g < ng && ev->err == ENGINE_OK; g++) {
		size_t	nm = 0, j, l;
		int	sorted = 1;

		for (i = 0; i < in->vec.n; i++)
			if (gof[i] == g)
				members[nm++] = i;
		/*
		 * The group's bounds are the same at every step: sort its
		 * members by bound once (stably, as the merge sort of
		 * qsort would), so that each step's buckets come sorted.
		 * A NaN bound orders with nothing: then sort every step as
		 * before.
		 */
		for (j = 0; j < nm; j++)
			if (isnan(ub[members[j]]))
				sorted = 0;
		for (j = 1; sorted && j < nm; j++) {
			size_t m = members[j];

			for (l = j; l > 0 && ub[members[l - 1]] > ub[m]; l--)
				members[l] = members[l - 1];
			members[l] = m;
		}
		for (k = 0; k < r->n; k++) {
			size_t nb = 0;

			for (j = 0; j < nm; j++) {
				double x = in->vec.s[members[j]].v[k];

				if (q_absent(x))
					continue;
				b[nb].ub = ub[members[j]];
				b[nb++].count = x;
			}
			if (nb > 0)
				out->vec.s[g].v[k] = bucket_quantile(q[k], b,
				    nb, sorted);
		}
	}
	(void)cap;
	free(b);
	free(members);
	free(gof);
	free(ub);
	qval_free(ev, in);
	if (ev->err == ENGINE_OK)
		qvec_merge(ev, &out->vec, 1, "vector cannot contain metrics "
		    "with the same labelset");
	if (ev->err != ENGINE_OK) {
		qval_free(ev, out);
		return NULL;
	}
	qvec_compact(ev, &out->vec);
	return out;
}
