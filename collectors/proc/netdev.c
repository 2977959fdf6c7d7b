/*
 * netdev: /proc/net/dev, the traffic (utilisation) and errors and drops
 * (the E and S of USE) of each network interface, named as node_exporter's
 * netdev collector names them.
 *
 *	Inter-|   Receive ...                     two header lines
 *	  eth0: 82203124 1915 0 0 0 0 0 0  82865 1064 0 0 0 0 0 0
 *
 * An interface name cannot contain ':' (the kernel refuses it), so the
 * first ':' ends it; old kernels print no blank after it.
 */
#include "config.h"

#include <string.h>

#include "proc_impl.h"

static const char *const netdev_fields[] = {
	"node_network_receive_bytes_total",
	"node_network_receive_packets_total",
	"node_network_receive_errs_total",
	"node_network_receive_drop_total",
	"node_network_receive_fifo_total",
	"node_network_receive_frame_total",
	"node_network_receive_compressed_total",
	"node_network_receive_multicast_total",
	"node_network_transmit_bytes_total",
	"node_network_transmit_packets_total",
	"node_network_transmit_errs_total",
	"node_network_transmit_drop_total",
	"node_network_transmit_fifo_total",
	"node_network_transmit_colls_total",
	"node_network_transmit_carrier_total",
	"node_network_transmit_compressed_total",
};
#define NNETDEV_FIELDS	(sizeof(netdev_fields) / sizeof(netdev_fields[0]))

int
proc_netdev_parse(struct proc_ctx *ctx)
{
	char		*line, *colon, *dev, *f[NNETDEV_FIELDS + 1];
	double		 v[NNETDEV_FIELDS];
	size_t		 len, n, i;
	uint64_t	 u;
	int		 r, rc = 0, bad;

	while ((r = lines_next(&ctx->lr, &line, &len)) == 1) {
		if (ctx->lr.lineno <= 2)
			continue;
		if (line[strspn(line, " \t")] == '\0')
			continue;
		if ((colon = strchr(line, ':')) == NULL) {
			rc = proc_error(ctx, "%s:%d: no ':' after the interface "
			    "name", ctx->lr.name, ctx->lr.lineno);
			continue;
		}
		*colon = '\0';
		dev = line + strspn(line, " \t");
		if (*dev == '\0' || strpbrk(dev, " \t") != NULL) {
			rc = proc_error(ctx, "%s:%d: bad interface name",
			    ctx->lr.name, ctx->lr.lineno);
			continue;
		}
		n = proc_fields(colon + 1, f, NNETDEV_FIELDS + 1);
		if (n != NNETDEV_FIELDS) {
			rc = proc_error(ctx, "%s:%d: %s: expected %zu values, "
			    "got %zu", ctx->lr.name, ctx->lr.lineno, dev,
			    NNETDEV_FIELDS, n);
			continue;
		}
		for (i = 0, bad = 0; i < n; i++) {
			if (proc_u64(f[i], &u) == -1) {
				rc = proc_error(ctx, "%s:%d: %s: bad value "
				    "\"%s\"", ctx->lr.name, ctx->lr.lineno,
				    dev, f[i]);
				bad = 1;
				break;
			}
			v[i] = (double)u;
		}
		if (bad)
			continue;
		for (i = 0; i < n; i++)
			proc_add(ctx, netdev_fields[i], v[i], "device", dev,
			    NULL);
	}
	if (r == -1)
		rc = proc_read_failed(ctx, PROC_OPTIONAL);
	return rc;
}

int
proc_netdev_read(struct proc_ctx *ctx)
{
	int r;

	if ((r = proc_open(ctx, "proc/net/dev", PROC_OPTIONAL,
	    PROC_FILE_MAX)) <= 0)
		return r;
	r = proc_netdev_parse(ctx);
	lines_close(&ctx->lr);
	return r;
}
