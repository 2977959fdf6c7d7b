/*
 * kv: the store's LMDB environment, and the only code that sees <lmdb.h>.
 *
 * One environment per data directory, with a fixed set of named databases
 * (enum kv_db).  Keys are byte strings compared with memcmp, so the store
 * writes numbers big-endian (keys.h) and range scans follow numeric order.
 * POSTINGS and CINDEX are sorted-duplicate databases of variable-size
 * values (segments of lists, at most kv_max_key() bytes each).
 *
 * Writes go through kv_write(), which runs a callback inside one write
 * transaction and commits it.  When the memory map is full the transaction
 * is aborted, the map grown (doubled, up to map_max) and the callback run
 * again from the start; a callback must therefore only read the caller's
 * state and write to the transaction, and apply in-memory effects after
 * kv_write() returned 0.  At map_max the result is KV_EFULL.
 *
 * Reads use short read transactions (kv_read_begin/kv_read_end) on any
 * thread (MDB_NOTLS).  Growing the map needs every transaction of the
 * process closed, so read transactions hold a shared lock that the grower
 * takes exclusively: a reader must end its transaction promptly and never
 * hold two at once on one thread.  Write transactions are serialized by the
 * caller (one writer thread at a time); kv_write() is not reentrant.
 *
 * Pointers returned in a struct kv_val point into the map and are valid
 * until the transaction ends or, in a write transaction, the next write.
 *
 * Return codes: 0, KV_NOTFOUND (a normal outcome, not an error), or a
 * negative KV_E* code; the transaction then holds a message
 * (kv_txn_error()).  Functions taking err/errlen fill them on failure.
 */
#ifndef MONITORD_KV_H
#define MONITORD_KV_H

#include <stddef.h>
#include <stdint.h>

enum kv_db {
	KV_DB_META,		/* format record, counters, rollup progress */
	KV_DB_POSTINGS,		/* "name\0value" -> id segments (dup) */
	KV_DB_LONG,		/* long postings key -> the whole value */
	KV_DB_CHUNKS,		/* group key -> sealed chunks of a group */
	KV_DB_CINDEX,		/* series id -> chunk references (dup) */
	KV_DB_HEAD,		/* open chunks: segments and tails */
	KV_DB_ROLLUP,		/* (tier, series id, block start) -> block */
	/* The alerting environment (DATA_DIR/alerts); empty in the store's. */
	KV_DB_ALERT_STATE,	/* rule key, fingerprint -> alert record */
	KV_DB_ALERT_QUEUE,	/* sequence -> notification to deliver */
	KV_DB_ALERT_NFLOG,	/* receiver, group key -> last notification */
	KV_DB_ALERT_SILENCE,	/* silence id -> silence */
	KV_DB_COUNT
};

#define KV_NOTFOUND	1
#define KV_EFULL	(-1)	/* the map reached map_max */
#define KV_ENOSPC	(-2)	/* the file system is full */
#define KV_ECORRUPT	(-3)	/* LMDB found damaged pages */
#define KV_EFAIL	(-4)	/* any other failure (I/O, resources) */

enum kv_op {
	KV_FIRST,
	KV_LAST,
	KV_NEXT,
	KV_PREV,
	KV_NEXT_NODUP,		/* first value of the next key */
	KV_SET_RANGE,		/* first key >= the given key */
	KV_SET_KEY,		/* exactly the given key */
	KV_GET_BOTH_RANGE,	/* the key, and its first value >= the given */
	KV_FIRST_DUP,		/* first value of the current key */
	KV_LAST_DUP,		/* last value of the current key */
	KV_NEXT_DUP,		/* next value of the current key */
	KV_PREV_DUP,		/* previous value of the current key */
};

struct kv_val {
	const void	*data;
	size_t		 len;
};

struct kv_opts {
	const char	*dir;		/* must exist */
	uint64_t	 map_initial;	/* bytes; 0: min(64 MB, map_max) */
	uint64_t	 map_max;	/* bytes; upper bound of the file */
};

struct kv_info {
	uint64_t	 map_size;	/* current map size */
	uint64_t	 used_bytes;	/* pages holding data */
	uint64_t	 free_bytes;	/* free pages inside the file */
	uint64_t	 file_bytes;	/* data file size (what du counts) */
	uint64_t	 map_grows;	/* times the map was grown */
	unsigned	 page_size;
};

struct kv;
struct kv_txn;
struct kv_cursor;

struct kv	*kv_open(const struct kv_opts *, char *err, size_t errlen);
/* Close; lock.mdb is removed, and data.mdb too when no database holds a
 * record. */
void		 kv_close(struct kv *);
/*
 * Close; first, when at least an eighth of the file is free pages (LMDB
 * never shrinks it), rewrite it compacted: every record copied in key
 * order, so that every page is full.  Only with no transaction open.  -1
 * when the rewrite failed (the file is then as it was); always closes.
 */
int		 kv_close_compact(struct kv *, char *err, size_t errlen);
void		 kv_info(struct kv *, struct kv_info *);
/* Bytes of the pages database DB uses (branch, leaf and overflow), and
 * its number of records (ENTRIES may be NULL). */
uint64_t	 kv_db_bytes(struct kv *, enum kv_db, uint64_t *entries);
/* A compacted copy of the database (no free pages) into a new file. */
int		 kv_copy_compact(struct kv *, const char *path, char *err,
		    size_t errlen);

int		 kv_write(struct kv *, int (*)(struct kv_txn *, void *),
		    void *arg, char *err, size_t errlen);
/*
 * Every committed write on disk.  A commit is atomic but, until this,
 * the machine crashing (not the process) may undo it (see kv.c).
 */
int		 kv_sync(struct kv *, char *err, size_t errlen);
int		 kv_read_begin(struct kv *, struct kv_txn **, char *err,
		    size_t errlen);
void		 kv_read_end(struct kv_txn *);
const char	*kv_txn_error(const struct kv_txn *);

int		 kv_get(struct kv_txn *, enum kv_db, const void *key,
		    size_t klen, struct kv_val *out);
/* Overwrites in plain databases, adds a value in dup databases. */
int		 kv_put(struct kv_txn *, enum kv_db, const void *key,
		    size_t klen, const void *val, size_t vlen);
/*
 * kv_put for a key (or dup value) above every one there, which LMDB then
 * stores in full pages instead of splitting them in half.  Falls back to
 * kv_put when it is not.
 */
int		 kv_append(struct kv_txn *, enum kv_db, const void *key,
		    size_t klen, const void *val, size_t vlen);
/* VAL NULL: the key with all its values; else that one value. */
int		 kv_del(struct kv_txn *, enum kv_db, const void *key,
		    size_t klen, const void *val, size_t vlen);

int		 kv_cursor_open(struct kv_txn *, enum kv_db,
		    struct kv_cursor **);
void		 kv_cursor_close(struct kv_cursor *);
/* KEY is input for SET_RANGE, SET_KEY and GET_BOTH_RANGE, VAL for the
 * latter; both are output always. */
int		 kv_cursor_get(struct kv_cursor *, enum kv_op,
		    struct kv_val *key, struct kv_val *val);
/* Delete the record at the cursor (write transactions). */
int		 kv_cursor_del(struct kv_cursor *);

/* Largest key a database accepts (also the largest dup value). */
size_t		 kv_max_key(struct kv *);

#endif
