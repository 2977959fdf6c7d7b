/*
 * postgres: the [postgres "name"] collector kind (see collector.h).
 *
 * It watches one PostgreSQL server through one libpq connection that stays
 * open between runs: connections by state, transaction and query ages,
 * pg_stat_database counters, database sizes and, when the extension is
 * installed, pg_stat_statements totals.  Everything is non-blocking on the
 * daemon's event loop.  The engine lives in pg.h; this is its config face.
 */
#ifndef MONITORD_POSTGRES_H
#define MONITORD_POSTGRES_H

#include "collectors/collector.h"

extern const struct collector_kind postgres_collector;

#endif
