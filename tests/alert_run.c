/*
 * alert_run: alerting as the daemon runs it (alerting_new on an event loop
 * with the HTTP API), with a file standing in for the query engine, for
 * the integration tests in tests/integration/test_alert.py.
 *
 *	alert_run CONFIG DATADIR SERIESFILE
 *
 * SERIESFILE is read at every query: lines "EXPR<TAB>a=1,b=2<TAB>VALUE";
 * an expression's result is the lines whose EXPR equals it exactly, so a
 * test changes what fires by rewriting the file.  A line
 * "EXPR<TAB>PATH<TAB>WAIT" holds the query of EXPR (on the rules worker)
 * until the file PATH exists: a rule as slow as a test wants.  /metrics
 * serves the alerting metrics.  Prints "listening PORT" once serving;
 * SIGHUP reloads CONFIG, SIGTERM stops.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "alert/alerting.h"
#include "buf.h"
#include "conf.h"
#include "http/server.h"
#include "log.h"
#include "schema.h"
#include "xmalloc.h"

static int
file_instant(void *arg, const char *expr, int64_t t, struct alert_vector *out,
    char *err, size_t errlen)
{
	FILE		*f = fopen(arg, "r");
	char		 line[4096], *p, *e, *lbl, *val, *tok;
	struct label	 l[32];
	size_t		 n;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if ((lbl = strchr(line, '\t')) == NULL)
			continue;
		*lbl++ = '\0';
		if ((val = strchr(lbl, '\t')) == NULL)
			continue;
		*val++ = '\0';
		if (strcmp(line, expr) != 0)
			continue;
		if (strcmp(val, "WAIT") == 0) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };

			while (access(lbl, F_OK) == -1)
				nanosleep(&ts, NULL);
			continue;
		}
		if (strcmp(val, "ERROR") == 0) {
			snprintf(err, errlen, "%s", lbl);
			fclose(f);
			return -1;
		}
		n = 0;
		for (p = lbl; (tok = strsep(&p, ",")) != NULL && n < 32; ) {
			if ((e = strchr(tok, '=')) == NULL)
				continue;
			*e = '\0';
			l[n].name = tok;
			l[n].value = e + 1;
			n++;
		}
		alert_vector_add(out, l, n, strtod(val, NULL));
	}
	fclose(f);
	return 0;
}

static void
h_metrics(struct httpd_req *req, void *arg)
{
	struct buf	b = BUF_INIT;

	alerting_write_metrics(arg, &b);
	httpd_reply_buf(req, 200, HTTPD_TEXT, &b);
	buf_free(&b);
}

static void
on_term(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

struct reload {
	const char		*path;
	const struct conf_kind	*const *kinds;
	struct conf		*conf;
	struct alerting		*al;
};

/* As the daemon: a config that does not load leaves the old one running. */
static void
on_hup(evutil_socket_t fd, short what, void *arg)
{
	struct reload		*rl = arg;
	struct conf_errors	*errs = conf_errors_new();
	struct conf		*conf;
	char			 err[4096];

	if ((conf = schema_load(rl->path, NULL, rl->kinds, NULL,
	    errs)) == NULL) {
		conf_errors_print(errs, stderr);
		conf_errors_free(errs);
		return;
	}
	conf_errors_free(errs);
	if (alerting_reload(rl->al, conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "reload: %s\n", err);
		conf_free(conf);
		return;
	}
	conf_free(rl->conf);
	rl->conf = conf;
	fprintf(stderr, "reloaded\n");
}

int
main(int argc, char **argv)
{
	const struct conf_kind *const	*kinds;
	struct conf_errors		*errs = conf_errors_new();
	struct conf			*conf;
	struct event_base		*base;
	struct httpd			*httpd;
	struct httpd_opts		 ho;
	struct alerting_opts		 ao;
	struct alerting			*al;
	struct event			*term, *hup;
	struct reload			 rl;
	char				 err[4096];

	if (argc != 4) {
		fprintf(stderr, "usage: alert_run CONFIG DATADIR SERIES\n");
		return 2;
	}
	log_init(1, LOG_LVL_INFO);
	kinds = schema_kinds_new(NULL);
	if ((conf = schema_load(argv[1], NULL, kinds, NULL, errs)) == NULL) {
		conf_errors_print(errs, stderr);
		return 1;
	}
	conf_errors_free(errs);
	signal(SIGPIPE, SIG_IGN);
	/* Rule queries come back from the rules worker thread. */
	evthread_use_pthreads();
	base = event_base_new();
	memset(&ho, 0, sizeof(ho));
	ho.listen = conf_str(conf_get(conf, "server"), "listen");
	if ((httpd = httpd_new(base, &ho, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	memset(&ao, 0, sizeof(ao));
	ao.data_dir = argv[2];
	ao.instant = file_instant;
	ao.instant_arg = argv[3];
	ao.backoff_min_ms = 200;
	ao.backoff_max_ms = 1000;
	if ((al = alerting_new(base, conf, &ao, httpd, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	httpd_route(httpd, "/metrics", HTTPD_GET, h_metrics, al);
	term = evsignal_new(base, SIGTERM, on_term, base);
	evsignal_add(term, NULL);
	rl.path = argv[1];
	rl.kinds = kinds;
	rl.conf = conf;
	rl.al = al;
	hup = evsignal_new(base, SIGHUP, on_hup, &rl);
	evsignal_add(hup, NULL);
	printf("listening %d\n", httpd_port(httpd));
	fflush(stdout);
	event_base_dispatch(base);
	event_free(term);
	event_free(hup);
	httpd_free(httpd);
	alerting_free(al);
	event_base_free(base);
	conf_free(rl.conf);
	schema_kinds_free(kinds);
	return 0;
}
