/*
 * Fuzz target of the PostgreSQL collector's decoding of what a server (or
 * something posing as one) returns, and of its conninfo handling.
 *
 * Input: byte 0 picks the statement whose decoder runs, byte 1 the number
 * of columns (0 to 23); the rest is cells separated by NUL bytes, filled
 * row by row, a cell starting with 0xff being SQL NULL.  The whole input,
 * as a string, also goes through the conninfo helpers and the databases
 * list parser.  Whatever the bytes: no crash, no over-read, no leak, and
 * every sample added carries a name from the catalogue.  The result is
 * built by pg_cells_take() through libpq, loaded as the collector loads it
 * (pq_dl.h), once for the whole run.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/postgres/pg.h"
#include "collectors/postgres/pg_sql.h"
#include "collectors/postgres/pq_dl.h"
#include "sample.h"

#define MAX_CELLS	512

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Loaded at the first input and kept: a harness may hold state. */
static struct pq_dl *pq;

static void
fuzz_conninfo(const char *s)
{
	char	  err[256], line[128];
	char	**dbs, *p;
	size_t	  n, i;

	pg_conninfo_check(pq, s, err, sizeof(err));
	pg_conninfo_has_password(s);
	p = pg_conninfo_redact(pq, s);
	free(p);
	p = pg_conninfo_instance(pq, s);
	free(p);
	pg_oneline(line, sizeof(line), s, "pw");
	if (pg_databases_parse(s, &dbs, &n, err, sizeof(err)) == 0) {
		p = pg_sql_db_filter(dbs, n);
		free(p);
		for (i = 0; i < n; i++)
			free(dbs[i]);
		free(dbs);
	}
}

static int
in_catalogue(const char *name)
{
	const struct metric_def *m;

	for (m = pg_metrics; m->name != NULL; m++)
		if (strcmp(m->name, name) == 0)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*cells[MAX_CELLS];
	size_t		 ncells = 0, i, start;
	struct pg_scan	 scan;
	struct batch	*b;
	char		*text, err[256];
	int		 part, ncols;

	if (pq == NULL && (pq = pq_dl_new(err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	fuzz_conninfo(text);
	if (size < 2) {
		free(text);
		return 0;
	}
	part = data[0] % (PG_PART_STMT + 1);
	ncols = data[1] % 24;

	/* The NUL separators end each cell in the copy. */
	for (i = 2, start = 2; i <= size && ncells < MAX_CELLS; i++) {
		if (i == size || data[i] == '\0') {
			cells[ncells++] = (uint8_t)text[start] == 0xff ? NULL :
			    text + start;
			start = i + 1;
		}
	}

	b = batch_new();
	memset(&scan, 0, sizeof(scan));
	scan.have_clients = data[0] & 0x80;
	scan.clients = data[1];
	pg_cells_take(pq, (enum pg_part)part, ncols, ncols > 0 ?
	    (int)(ncells / (size_t)ncols) : 0, cells, b, &scan, err,
	    sizeof(err));
	pg_sizes_add(&scan.sizes, b);
	pg_sizes_clear(&scan.sizes);
	for (i = 0; i < batch_len(b); i++)
		if (!in_catalogue(batch_at(b, i)->labels[0].value))
			abort();
	batch_free(b);
	free(text);
	return 0;
}
