/*
 * stats: the HTTP server's own request metrics, internal to src/http.
 *
 * One struct http_stats per route (plus one for requests no route took),
 * owned by the server, updated on the event loop thread only.
 */
#ifndef MONITORD_HTTP_STATS_H
#define MONITORD_HTTP_STATS_H

#include <stddef.h>
#include <stdint.h>

struct buf;

struct http_code_count {
	int		 code;
	uint64_t	 n;
};

#define HTTP_STATS_NBUCKETS	11

struct http_stats {
	const char		*handler;	/* borrowed: route pattern */
	struct http_code_count	*codes;		/* sorted by code */
	size_t			 ncodes;
	uint64_t		 buckets[HTTP_STATS_NBUCKETS]; /* per bucket */
	uint64_t		 count;
	double			 sum;
	uint64_t		 bytes_out;
};

struct http_gauges {
	uint64_t	connections;
	uint64_t	in_flight;
	uint64_t	rejected;	/* connections refused for the limit */
};

void	stats_observe(struct http_stats *, int code, double seconds,
	    size_t bytes_out);
void	stats_clear(struct http_stats *);
/* Exposition text of every handler's stats (in the order given) and gauges. */
void	stats_write(struct buf *, struct http_stats *const *, size_t n,
	    const struct http_gauges *);

#endif
