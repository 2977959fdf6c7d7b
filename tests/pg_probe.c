/*
 * pg_probe: drive the PostgreSQL engine (collectors/postgres/pg.h) on a real
 * event loop without the daemon, for tests/integration/test_postgres.py and
 * for measuring what a collection costs.
 *
 *	pg_probe [-v] [-S] [-d databases] [-p password_file] [-t timeout_ms]
 *	    [-b heartbeat_ms] conninfo
 *
 * It plays the core's part: on each "run" line read from stdin it starts a
 * collection with a deadline (cancelling it when the deadline passes, as
 * the core does; a "run" while one is going waits for it), and prints
 *
 *	run N ok | run N error: MESSAGE | run N timeout
 *	<the samples, one per line, in text format>
 *	end heartbeats=H wall_us=W cpu_us=C round_trips=R connects=K
 *
 * A heartbeat timer fires every heartbeat_ms all along; H is how many times
 * it fired during the run, which shows that the loop was never blocked.
 * wall_us and cpu_us (this process's CPU time) span the run, printing
 * excluded.  "quit" or EOF exits once the runs asked for have ended.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "collectors/postgres/pg.h"
#include "log.h"
#include "sample.h"

struct probe {
	struct event_base	*base;
	struct pg		*pg;
	struct batch		*batch;
	struct event		*deadline;
	struct event		*heartbeat;
	struct event		*input;
	struct timeval		 heartbeat_tv;
	int64_t			 timeout_ms;
	int			 running;
	int			 quitting;	/* exit once the run ends */
	unsigned		 pending;	/* runs asked for while busy */
	unsigned		 runs;
	unsigned long		 beats;		/* during the current run */
	int64_t			 wall0, cpu0;
	char			 line[256];
	size_t			 linelen;
};

static int64_t
now_us(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
print_value(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			putchar('\\');
		if (*s == '\n')
			fputs("\\n", stdout);
		else
			putchar(*s);
	}
}

static void
print_batch(const struct batch *b)
{
	struct buf	v = BUF_INIT;
	size_t		i, j;

	for (i = 0; i < batch_len(b); i++) {
		const struct sample *s = batch_at(b, i);

		fputs(s->labels[0].value, stdout);
		for (j = 1; j < s->nlabels; j++) {
			printf("%s%s=\"", j == 1 ? "{" : ",", s->labels[j].name);
			print_value(s->labels[j].value);
			putchar('"');
		}
		if (s->nlabels > 1)
			putchar('}');
		buf_reset(&v);
		buf_add_double(&v, s->v);
		printf(" %s\n", v.data);
	}
	buf_free(&v);
}

static void	probe_start(struct probe *);

static void
probe_end(struct probe *p, const char *status, const char *msg)
{
	struct pg_stats	st;
	int64_t		wall = now_us(CLOCK_MONOTONIC) - p->wall0;
	int64_t		cpu = now_us(CLOCK_PROCESS_CPUTIME_ID) - p->cpu0;

	p->running = 0;
	event_del(p->deadline);
	pg_get_stats(p->pg, &st);
	if (msg != NULL && *msg != '\0')
		printf("run %u %s: %s\n", p->runs, status, msg);
	else
		printf("run %u %s\n", p->runs, status);
	print_batch(p->batch);
	printf("end heartbeats=%lu wall_us=%lld cpu_us=%lld round_trips=%u "
	    "connects=%llu\n", p->beats, (long long)wall, (long long)cpu,
	    st.last_round_trips, (unsigned long long)st.connects);
	fflush(stdout);
	if (p->pending > 0) {
		p->pending--;
		probe_start(p);
	} else if (p->quitting)
		event_base_loopexit(p->base, NULL);
}

static void
probe_done(void *arg, enum run_status st, const char *msg)
{
	probe_end(arg, st == RUN_OK ? "ok" : "error", msg);
}

static void
probe_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;

	pg_cancel(p->pg);
	batch_reset(p->batch);
	probe_end(p, "timeout", NULL);
}

static void
probe_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;

	if (p->running)
		p->beats++;
}

static void
probe_start(struct probe *p)
{
	struct timeval tv;

	p->runs++;
	p->running = 1;
	p->beats = 0;
	batch_reset(p->batch);
	tv.tv_sec = p->timeout_ms / 1000;
	tv.tv_usec = (p->timeout_ms % 1000) * 1000;
	evtimer_add(p->deadline, &tv);
	p->wall0 = now_us(CLOCK_MONOTONIC);
	p->cpu0 = now_us(CLOCK_PROCESS_CPUTIME_ID);
	pg_collect(p->pg, p->batch, probe_done, p);
}

static void
probe_quit(struct probe *p)
{
	event_del(p->input);
	if (p->running)
		p->quitting = 1;
	else
		event_base_loopexit(p->base, NULL);
}

static void
probe_command(struct probe *p, const char *cmd)
{
	if (strcmp(cmd, "quit") == 0)
		probe_quit(p);
	else if (strcmp(cmd, "run") != 0) {
		printf("unknown command %s\n", cmd);
		fflush(stdout);
	} else if (p->running)
		p->pending++;
	else
		probe_start(p);
}

static void
probe_input(evutil_socket_t fd, short what, void *arg)
{
	struct probe	*p = arg;
	char		 c;
	ssize_t		 n;

	if ((n = read(fd, &c, 1)) <= 0) {
		probe_quit(p);
		return;
	}
	if (c != '\n') {
		if (p->linelen + 1 < sizeof(p->line))
			p->line[p->linelen++] = c;
		return;
	}
	p->line[p->linelen] = '\0';
	p->linelen = 0;
	probe_command(p, p->line);
}

static void
usage(void)
{
	fprintf(stderr, "usage: pg_probe [-v] [-S] [-d databases] "
	    "[-p password_file] [-t timeout_ms] [-b heartbeat_ms] conninfo\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct probe	p;
	struct pg_opts	o;
	char		err[512];
	long		hb = 10;
	int		ch, verbose = 0;

	memset(&p, 0, sizeof(p));
	memset(&o, 0, sizeof(o));
	o.statements = 1;
	p.timeout_ms = 5000;
	while ((ch = getopt(argc, argv, "b:d:p:St:v")) != -1) {
		switch (ch) {
		case 'b':	hb = atol(optarg); break;
		case 'd':	o.databases = optarg; break;
		case 'p':	o.password_file = optarg; break;
		case 'S':	o.statements = 0; break;
		case 't':	p.timeout_ms = atol(optarg); break;
		case 'v':	verbose = 1; break;
		default:	usage();
		}
	}
	if (optind + 1 != argc || p.timeout_ms <= 0)
		usage();
	o.conninfo = argv[optind];
	o.timeout_ms = p.timeout_ms;
	log_init(1, verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);

	p.base = event_base_new();
	if ((p.pg = pg_new(&o, p.base, err, sizeof(err))) == NULL) {
		printf("config error: %s\n", err);
		event_base_free(p.base);
		return 1;
	}
	printf("instance %s\n", pg_instance(p.pg));
	fflush(stdout);
	p.batch = batch_new();
	p.deadline = evtimer_new(p.base, probe_deadline, &p);
	if (hb > 0) {
		p.heartbeat = event_new(p.base, -1, EV_PERSIST,
		    probe_heartbeat, &p);
		p.heartbeat_tv.tv_sec = hb / 1000;
		p.heartbeat_tv.tv_usec = (hb % 1000) * 1000;
		event_add(p.heartbeat, &p.heartbeat_tv);
	}
	p.input = event_new(p.base, STDIN_FILENO, EV_READ | EV_PERSIST,
	    probe_input, &p);
	event_add(p.input, NULL);
	event_base_dispatch(p.base);

	if (p.running)
		pg_cancel(p.pg);
	pg_free(p.pg);
	batch_free(p.batch);
	event_free(p.input);
	if (p.heartbeat != NULL)
		event_free(p.heartbeat);
	event_free(p.deadline);
	event_base_free(p.base);
	return 0;
}
