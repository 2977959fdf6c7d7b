/*
 * tcp: simultaneous TCP sessions per listening port, from /proc/net/tcp and
 * /proc/net/tcp6 (an API's "sessions" signal without asking the API).
 *
 *	  sl  local_address rem_address   st ...
 *	   0: 0100007F:1F90 00000000:0000 0A ...
 *
 * Addresses are hex, the port after the last ':'; st is the TCP state in
 * hex (01 ESTABLISHED, 0A LISTEN).  A session counts for the port it is
 * established on locally, so the connections a server accepted count and
 * the ones it opened to others (from ephemeral ports) do not.  IPv4 and
 * IPv6 are summed.  No exporter has this metric: it is
 * monitord_tcp_sessions{port}.
 *
 * On a real root the counts come from the kernel's sock_diag netlink
 * interface (what ss(8) uses), asking only for listening and established
 * sockets.  Reading /proc/net/tcp makes the kernel walk every bucket of
 * its connection hash table for each read, however few sockets there are:
 * 4 ms a file on a 24 GB machine, 30 times what netlink costs.  The files
 * stay the fallback (no netlink: an old kernel, a seccomp filter) and
 * what fixture roots use.  They are read line by line, so a host with 100k
 * sockets costs time but no memory; the 64 MiB bound stops a runaway.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "proc_impl.h"
#include "xmalloc.h"

#define TCP_ESTABLISHED	0x01
#define TCP_LISTEN	0x0A
#define NPORTS		65536

void
proc_tcp_init(struct proc_tcp *t)
{
	t->established = xcalloc(NPORTS, sizeof(*t->established));
	t->listening = xcalloc(NPORTS, sizeof(*t->listening));
}

void
proc_tcp_free(struct proc_tcp *t)
{
	free(t->established);
	free(t->listening);
	t->established = NULL;
	t->listening = NULL;
}

int
proc_tcp_parse(struct proc_ctx *ctx, struct proc_tcp *t)
{
	char		*line, *f[5], *colon;
	size_t		 len, n;
	uint64_t	 port, st;
	int		 r, rc = 0;

	while ((r = lines_next(&ctx->lr, &line, &len)) == 1) {
		if (ctx->lr.lineno == 1)
			continue;	/* the header */
		n = proc_fields(line, f, 5);
		if (n == 0)
			continue;
		if (n < 4) {
			rc = proc_error(ctx, "%s:%d: expected at least 4 fields, "
			    "got %zu", ctx->lr.name, ctx->lr.lineno, n);
			continue;
		}
		colon = strrchr(f[1], ':');
		if (colon == NULL || proc_hex(colon + 1, &port) == -1 ||
		    port >= NPORTS || proc_hex(f[3], &st) == -1) {
			rc = proc_error(ctx, "%s:%d: bad local address or state",
			    ctx->lr.name, ctx->lr.lineno);
			continue;
		}
		if (st == TCP_LISTEN)
			t->listening[port] = 1;
		else if (st == TCP_ESTABLISHED)
			t->established[port]++;
	}
	if (r == -1)
		rc = proc_read_failed(ctx, PROC_OPTIONAL);
	return rc;
}

void
proc_tcp_emit(struct proc_ctx *ctx, struct proc_tcp *t,
    const uint16_t *ports, size_t n)
{
	char	port[8];
	size_t	i;

	if (ports != NULL) {
		for (i = 0; i < n; i++) {
			snprintf(port, sizeof(port), "%u", (unsigned)ports[i]);
			proc_add(ctx, "monitord_tcp_sessions",
			    t->established[ports[i]], "port", port, NULL);
		}
		return;
	}
	for (i = 0; i < NPORTS; i++) {
		if (!t->listening[i])
			continue;
		snprintf(port, sizeof(port), "%zu", i);
		proc_add(ctx, "monitord_tcp_sessions", t->established[i],
		    "port", port, NULL);
	}
}

/*
 * Count one address family's sockets through sock_diag: 0, or -1 when
 * netlink cannot be used (the caller falls back to the files).
 */
static int
tcp_diag_family(int fd, struct proc_tcp *t, int family, unsigned seq)
{
	struct {
		struct nlmsghdr		nlh;
		struct inet_diag_req_v2	req;
	} rq;
	struct sockaddr_nl	 sa;
	union {
		struct nlmsghdr	 align;
		char		 b[32768];
	} rb;
	struct nlmsghdr		*h;
	struct inet_diag_msg	*m;
	ssize_t			 n;
	size_t			 left;

	memset(&rq, 0, sizeof(rq));
	rq.nlh.nlmsg_len = sizeof(rq);
	rq.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	rq.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	rq.nlh.nlmsg_seq = seq;
	rq.req.sdiag_family = (uint8_t)family;
	rq.req.sdiag_protocol = IPPROTO_TCP;
	rq.req.idiag_states = 1u << TCP_ESTABLISHED | 1u << TCP_LISTEN;
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	if (sendto(fd, &rq, sizeof(rq), 0, (struct sockaddr *)&sa,
	    sizeof(sa)) != (ssize_t)sizeof(rq))
		return -1;
	for (;;) {
		n = recv(fd, rb.b, sizeof(rb.b), 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		left = (size_t)n;
		for (h = &rb.align; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return -1;
			if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
				continue;
			m = NLMSG_DATA(h);
			if (m->idiag_state == TCP_LISTEN)
				t->listening[ntohs(m->id.idiag_sport)] = 1;
			else if (m->idiag_state == TCP_ESTABLISHED)
				t->established[ntohs(m->id.idiag_sport)]++;
		}
	}
}

static int
tcp_diag(struct proc_tcp *t)
{
	int		fd, r;
	struct timeval	tv = { 1, 0 };	/* the kernel answers at once */

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1) {
		close(fd);
		return -1;
	}
	r = tcp_diag_family(fd, t, AF_INET, 1);
	if (r == 0)
		r = tcp_diag_family(fd, t, AF_INET6, 2);
	close(fd);
	return r;
}

static void
tcp_clear(struct proc_tcp *t)
{
	memset(t->established, 0, NPORTS * sizeof(*t->established));
	memset(t->listening, 0, NPORTS * sizeof(*t->listening));
}

int
proc_tcp_read_files(struct proc_ctx *ctx, struct proc_tcp *t,
    const uint16_t *ports, size_t n)
{
	static const char *const files[] = { "proc/net/tcp", "proc/net/tcp6" };
	size_t	i;
	int	r, rc = 0, any = 0;

	tcp_clear(t);
	for (i = 0; i < 2; i++) {
		if ((r = proc_open(ctx, files[i], PROC_OPTIONAL,
		    PROC_TCP_MAX)) == -1)
			rc = -1;
		if (r <= 0)
			continue;
		any = 1;
		if (proc_tcp_parse(ctx, t) == -1)
			rc = -1;
		lines_close(&ctx->lr);
	}
	/* No file at all (no IPv4/IPv6?): no data, rather than zeros. */
	if (any)
		proc_tcp_emit(ctx, t, ports, n);
	return rc;
}

int
proc_tcp_read_diag(struct proc_ctx *ctx, struct proc_tcp *t,
    const uint16_t *ports, size_t n)
{
	tcp_clear(t);
	if (tcp_diag(t) == -1)
		return -1;
	proc_tcp_emit(ctx, t, ports, n);
	return 0;
}

int
proc_tcp_read(struct proc_ctx *ctx, struct proc_tcp *t,
    const uint16_t *ports, size_t n)
{
	if (strcmp(ctx->root, "/") == 0 &&
	    proc_tcp_read_diag(ctx, t, ports, n) == 0)
		return 0;
	return proc_tcp_read_files(ctx, t, ports, n);
}

static int
port_cmp(const void *a, const void *b)
{
	const uint16_t *x = a, *y = b;

	return (int)*x - (int)*y;
}

int
proc_ports_parse(const char *s, uint16_t **ports, size_t *n, char *err,
    size_t errlen)
{
	uint16_t	*v = NULL;
	size_t		 nv = 0, i, j, wl;
	const char	*p = s;
	char		 word[8];
	uint64_t	 u;

	*ports = NULL;
	*n = 0;
	for (;;) {
		p += strspn(p, " \t,");
		if (*p == '\0')
			break;
		wl = strcspn(p, " \t,");
		u = 0;
		if (wl < sizeof(word)) {
			memcpy(word, p, wl);
			word[wl] = '\0';
			if (proc_u64(word, &u) == -1)
				u = 0;
		}
		if (u < 1 || u > 65535) {
			snprintf(err, errlen, "\"%.*s\" is not a port number "
			    "(1-65535)", (int)(wl > 20 ? 20 : wl), p);
			free(v);
			return -1;
		}
		v = xreallocarray(v, nv + 1, sizeof(*v));
		v[nv++] = (uint16_t)u;
		p += wl;
	}
	if (nv == 0) {
		snprintf(err, errlen, "no port given");
		return -1;
	}
	qsort(v, nv, sizeof(*v), port_cmp);
	for (i = 0, j = 0; i < nv; i++)
		if (j == 0 || v[j - 1] != v[i])
			v[j++] = v[i];
	*ports = v;
	*n = j;
	return 0;
}
