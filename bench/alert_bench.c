/*
 * alert_bench: the evaluator's own cost per rule and evaluation with N
 * series (default 1000) all firing, with a fake engine that copies a
 * prepared vector (its cost is measured alone and reported apart).
 *
 *	make bench/alert_bench; bench/alert_bench [N] [EVALUATIONS]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert/rules.h"
#include "alert/state.h"
#include "sample.h"
#include "xmalloc.h"

struct fake {
	struct alert_vector	 src;
};

static int
fake_instant(void *arg, const char *expr, int64_t t, struct alert_vector *out,
    char *err, size_t errlen)
{
	struct fake	*f = arg;
	size_t		 i;

	for (i = 0; i < f->src.n; i++)
		alert_vector_add(out, f->src.v[i].labels.v,
		    f->src.v[i].labels.n, f->src.v[i].v + (double)(t % 7));
	return 0;
}

static int
sink(void *arg, const struct batch *b)
{
	*(size_t *)arg += batch_len(b);
	return 0;
}

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	static const char	 yaml[] = "groups:\n- name: g\n  rules:\n"
	    "  - alert: HighLatency\n    expr: latency > 0.5\n    for: 1m\n"
	    "    labels:\n      severity: warning\n      team: '{{ $labels.job }}'\n"
	    "    annotations:\n"
	    "      summary: '{{ $labels.instance }} p95 at {{ $value | "
	    "humanizeDuration }}'\n"
	    "      description: 'value {{ printf \"%.2f\" $value }}'\n";
	size_t			 n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
	int			 evals = argc > 2 ? atoi(argv[2]) : 200, i;
	struct rule_errors	 errs = { NULL, 0 };
	struct ruleset		*rs = ruleset_new();
	struct evaluator_opts	 o;
	struct evaluator	*ev;
	struct fake		 f;
	struct alert_vector	 tmp;
	struct label		 l[4];
	char			 inst[64];
	size_t			 written = 0, k;
	double			 t0, fake_s, total_s;
	int64_t			 t = 1700000000000LL;

	if (ruleset_load_yaml(rs, "b.yml", yaml, strlen(yaml), NULL,
	    &errs) == -1) {
		fprintf(stderr, "%s\n", errs.v[0]);
		return 1;
	}
	memset(&f, 0, sizeof(f));
	for (k = 0; k < n; k++) {
		snprintf(inst, sizeof(inst), "10.0.%zu.%zu:8080", k / 250,
		    k % 250);
		l[0].name = "__name__";
		l[0].value = "latency";
		l[1].name = "instance";
		l[1].value = inst;
		l[2].name = "job";
		l[2].value = "shop-api";
		l[3].name = "le";
		l[3].value = "0.95";
		alert_vector_add(&f.src, l, 4, 0.75);
	}
	memset(&tmp, 0, sizeof(tmp));
	t0 = now_s();
	for (i = 0; i < evals; i++) {
		alert_vector_reset(&tmp);
		fake_instant(&f, "x", t, &tmp, NULL, 0);
	}
	fake_s = (now_s() - t0) / evals;
	alert_vector_free(&tmp);

	memset(&o, 0, sizeof(o));
	o.instant = fake_instant;
	o.instant_arg = &f;
	o.sink = sink;
	o.sink_arg = &written;
	ev = evaluator_new(rs, &o);
	evaluator_eval(ev, 0, 0, t);		/* pending: warm up */
	t += 60000;
	t0 = now_s();
	for (i = 0; i < evals; i++, t += 15000)
		evaluator_eval(ev, 0, 0, t);
	total_s = (now_s() - t0) / evals;
	printf("series %zu, evaluations %d: %.3f ms per evaluation, of which "
	    "the fake engine %.3f ms; evaluator %.3f ms (%.2f us per "
	    "series); %zu series written\n", n, evals, total_s * 1e3,
	    fake_s * 1e3, (total_s - fake_s) * 1e3,
	    (total_s - fake_s) * 1e6 / (double)n, written);
	evaluator_free(ev);
	ruleset_free(rs);
	alert_vector_free(&f.src);
	return 0;
}
