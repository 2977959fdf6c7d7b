/*
 * store_int: what the store's own files share; nothing outside storage/
 * includes this.
 *
 * Locks, in the order they may nest:
 *	mlock		one rollup or retention run at a time (they take
 *			wlock batch by batch, letting appends in between).
 *	wlock		the writer: append, flush, rollup, retention.
 *	ilock		rwlock over the index structure (hash tables, job
 *			counts): readers take it shared to find a series by
 *			id; the writer takes it exclusive to add or remove a
 *			series (the writer reads without it: it is the only
 *			one that changes the structure).
 *	stripe[i]	mutex over the head fields of the series whose id
 *			falls in stripe i (head, pending, mint, last_t,
 *			last_vbits).  Held for a few microseconds.
 *	statlock	the counters.
 * LMDB's own locking (kv.h) sits below all of these.
 */
#ifndef MONITORD_STORE_INT_H
#define MONITORD_STORE_INT_H

#include <pthread.h>
#include <stdint.h>

#include "store.h"

#define STORE_FORMAT_MAGIC	"monitord tsdb"
#define STORE_FORMAT_VERSION	1
#define STORE_STRIPES		64
#define STORE_LABEL_NAME_MAX	128
/* Closed chunks a series may hold while flushes fail. */
#define STORE_MAX_PENDING	32

struct kv;
struct kv_txn;
struct chunk_app;
struct label;

/*
 * Head chunks.  An open chunk keeps its newest samples in an appender
 * (the tail); every head_segment_samples of them become a segment, a
 * Gorilla chunk that the next flush writes to HEAD under (series id, first
 * time) and that then leaves memory.  When the chunk is sealed it is
 * closed: the next flush merges its segments into the sealed chunk and
 * deletes them, in the same transaction (storage/LAYOUT.md).
 */
struct segblock;
struct seg {
	struct seg	*next;		/* newer */
	struct segblock	*blk;		/* the block it was cut from */
	int64_t		 first;
	uint32_t	 len;
	uint8_t		 data[];	/* a CHUNK_ENC_GORILLA chunk */
};

/* One per series (the open one is in struct series), so 40 bytes. */
#define HCHUNK_BYTES_MAX	((1u << 30) - 1)
struct hchunk {
	struct hchunk	*next;		/* newer (closed chunks) */
	int64_t		 first, last;	/* samples' times */
	struct seg	*mem;		/* segments not yet written */
	uint32_t	 count;		/* samples, the tail's included */
	unsigned int	 bytes:30;	/* of its segments, up to
					   HCHUNK_BYTES_MAX */
	unsigned int	 ondisk:1;	/* segments were written to HEAD */
	unsigned int	 drop:1;	/* closed by retention or a bad
					   checkpoint: only deleted */
};

struct job;

/*
 * One for every series in memory, so packed: the two 32-bit fields side by
 * side, the byte last, and the key right after it (series_new allocates
 * offsetof(key) + its length).
 */
struct series {
	uint64_t	 id;
	uint64_t	 hash;		/* of key */
	struct series	*hnext;		/* same key-hash bucket */
	struct series	*inext;		/* same id bucket */
	struct job	*job;		/* NULL without a job label */

	/* Under the series' stripe lock (keylen excepted: it never
	 * changes). */
	struct hchunk	*open;		/* NULL when none, or ochunk */
	struct chunk_app *tail;		/* the open chunk's samples after its
					   last segment; NULL or empty: none */
	struct hchunk	*closed;	/* oldest first */
	uint32_t	 keylen;
	uint32_t	 npending;	/* closed chunks */
	int64_t		 mint;		/* oldest raw sample, INT64_MAX none */
	int64_t		 last_t;	/* newest, INT64_MIN none */
	uint64_t	 last_vbits;

	/* The open chunk lives here, not in an allocation of its own:
	 * one per series, and one that would pin a hole in the heap
	 * beside the growing tail for the chunk's lifetime.  Closed, it
	 * is copied out to the closed list. */
	struct hchunk	 ochunk;

	/* Writer only. */
	uint8_t		 dirty;		/* in store->dirty */

	char		 key[];		/* canonical labels (series.c),
					   keylen bytes */
};

struct series_index {
	struct series	**byhash;
	struct series	**byid;
	size_t		  nbuckets;	/* power of two, both tables */
	size_t		  count;
	struct job	**jobs;
	size_t		  njobbuckets;
};

/* Rollup progress of a tier, mirrored in meta. */
struct rollup_state {
	int64_t		 start;		/* first block ever, or INT64_MIN */
	int64_t		 done;		/* blocks before this are complete */
	int64_t		 target;	/* the run in progress goes here */
	uint64_t	 cursor;	/* series ids <= this are done */
};

struct store {
	struct store_opts	 opts;
	char			*dir;
	struct kv		*kv;

	pthread_mutex_t		 mlock;		/* one maintenance run */
	pthread_mutex_t		 wlock;
	pthread_rwlock_t	 ilock;
	pthread_mutex_t		 stripe[STORE_STRIPES];
	pthread_mutex_t		 statlock;

	struct series_index	 idx;
	uint64_t		 next_id;
	int64_t			 min_valid_t;	/* too_old below this; raw
						   samples deleted are all
						   older (atomic: readers
						   see it, store_raw_cutoff) */
	struct series		**dirty;
	size_t			 ndirty, dirtycap;
	/* The block new segments are cut from (head.c).  Writer lock. */
	struct segblock		*segblk;
	struct rollup_state	 rollup[STORE_TIER_COUNT];
	/* Appended samples before this are late for the 5m tier: their
	 * buckets are noted in marks (rollup.c).  Writer lock. */
	int64_t			 late_before;
	struct rollup_marks	*marks;

	struct store_stats	 st;		/* under statlock */

	pthread_t		 thread;
	int			 thread_on;
	int			 stopping;
	pthread_mutex_t		 tlock;
	pthread_cond_t		 tcond;
};

static inline pthread_mutex_t *
store_stripe(struct store *s, uint64_t id)
{
	return &s->stripe[id % STORE_STRIPES];
}

/* The raw cutoff of the last retention run, INT64_MIN before any: every
 * raw sample deleted is older.  Any thread. */
static inline int64_t
store_raw_cutoff(struct store *s)
{
	return __atomic_load_n(&s->min_valid_t, __ATOMIC_ACQUIRE);
}

/* store.c */
void		 store_set_error(struct store *, int disk_full, const char *);
void		 store_dirty(struct store *, struct series *);
int		 store_flush_locked(struct store *, char *err, size_t errlen);
int64_t		 store_now_ms(void);
/* The test hook of store_opts at POINT: 0 to go on, -1 with err set. */
int		 store_fault(struct store *, const char *point, char *err,
		    size_t errlen);

/* series.c: the index in memory and on disk. */
void		 series_index_init(struct series_index *);
void		 series_index_free(struct series_index *);
size_t		 series_key(const struct label *, size_t, char **buf,
		    size_t *cap);
uint64_t	 series_hash(const void *, size_t);
struct series	*series_find_key(struct series_index *, const char *key,
		    size_t len, uint64_t hash);
struct series	*series_find_id(struct series_index *, uint64_t);
struct series	*series_new(uint64_t id, const char *key, size_t len,
		    uint64_t hash);
void		 series_free(struct series *);
void		 series_insert(struct series_index *, struct series *);
void		 series_remove(struct series_index *, struct series *);
/* Job of a series (its "job" label) and the count per job. */
uint64_t	 series_job_count(struct series_index *, const char *key,
		    size_t len);
/* The postings of new series (ids above every id on disk). */
int		 series_write(struct kv_txn *, struct series *const *,
		    size_t);
int		 series_delete(struct kv_txn *, const struct series *);
int		 series_load(struct store *, char *err, size_t errlen);
/* A canonical key from disk ends with a NUL after an even count of them. */
int		 series_key_valid(const void *, size_t);
/* Labels of a (valid) canonical key: N pairs pointing into KEY. */
size_t		 series_labels(const char *key, size_t len, struct label *,
		    size_t max);
size_t		 series_nlabels(const char *key, size_t len);

/* postings.c */
size_t		 postings_key(uint8_t *out, const char *name,
		    const char *value);
#define POSTINGS_KEY_MAX	420
#define POSTINGS_ALL_KEY	"\0"

struct store_ids {
	uint64_t	*v;
	size_t		 n, cap;
};
void		 ids_free(struct store_ids *);
/* Append the ids of one stored segment; KV_ECORRUPT if it is damaged. */
int		 postings_seg_decode(const void *, size_t, struct store_ids *);
/* Add sorted ids V to the list of KEY; VALUE is the label's whole value
 * (kept apart for a long key). */
int		 postings_add(struct kv_txn *, const void *key, size_t klen,
		    const char *value, const uint64_t *v, size_t n);
int		 postings_remove(struct kv_txn *, const void *key, size_t klen,
		    uint64_t id);
int		 postings_all(struct kv_txn *, struct store_ids *);
/* FN for every label pair on disk, in key order, with its whole value
 * (pointers valid for the transaction) and its ids. */
typedef int	(*postings_walk_fn)(void *, const char *name, size_t nl,
		    const char *value, size_t vl, const struct store_ids *);
int		 postings_walk(struct kv_txn *, postings_walk_fn, void *);
struct matcher;
int		 postings_select(struct kv_txn *, struct matcher **, size_t n,
		    struct store_ids *out);
int		 postings_label_names(struct kv_txn *, struct store_strings *);
int		 postings_label_values(struct kv_txn *, const char *name,
		    struct store_strings *);
void		 strings_sort_unique(struct store_strings *);

/* chunkdb.c: sealed chunks on disk, in groups. */
/* A chunk, with its timestamp column (NULL: self-contained). */
typedef int	(*chunkdb_fn)(void *, int64_t first, const uint8_t *, size_t,
		    const uint8_t *times, size_t tlen);
/*
 * A sealed chunk to write: LEN bytes of chunk, then TLEN bytes of the
 * timestamp column it refers to (0 when it is self-contained).
 */
struct sealed {
	struct sealed	*next;
	int64_t		 first, last;
	size_t		 len, tlen;
	uint8_t		 data[];
};
/* The chunks of one flush transaction: add them (they must stay alive
 * and unchanged), then write them all as groups; *columns counts the new
 * timestamp columns written. */
struct chunkdb_batch;
struct chunkdb_batch *chunkdb_batch_new(void);
void		 chunkdb_batch_free(struct chunkdb_batch *);
void		 chunkdb_batch_add(struct chunkdb_batch *, uint64_t id,
		    const struct sealed *);
int		 chunkdb_batch_write(struct kv_txn *, struct chunkdb_batch *,
		    uint64_t *columns);
/* A group record as read from disk (for readers and the fuzzer): N
 * chunks, the directory is bounds-checked entry by entry. */
struct chunkdb_group {
	const uint8_t	*cols, *colbytes, *dir, *blobs;
	size_t		 colen, blen;
	uint64_t	 base;
	uint32_t	 n, ncols;
};
/* A chunk of a group and its column (NULL: self-contained): DATA may be
 * rebuilt into BUF (the caller frees it with chunkdb_chunk_free; start
 * from all zeros). */
struct chunkdb_chunk {
	const uint8_t	*data, *times;
	size_t		 len, tlen;
	uint8_t		*buf;
	size_t		 cap;
};
void		 chunkdb_chunk_free(struct chunkdb_chunk *);
int		 chunkdb_group_parse(const void *, size_t,
		    struct chunkdb_group *);
/* A segment of a series' chunk references, as read from disk. */
struct cref {
	int64_t		 first;
	uint64_t	 gkey;
};
struct crefs {
	struct cref	*v;
	size_t		 n, cap;
};
int		 chunkdb_seg_decode(const void *, size_t, struct crefs *);
uint64_t	 chunkdb_group_id(const struct chunkdb_group *, uint32_t);
int		 chunkdb_group_chunk(const struct chunkdb_group *, uint32_t,
		    struct chunkdb_chunk *);
/* What a scan allocates, kept by a caller that scans one series after
 * another (zeroed at first; chunkdb_scratch_free). */
struct chunkdb_scratch {
	struct chunkdb_chunk	 c;
	struct crefs		 r;
};
void		 chunkdb_scratch_free(struct chunkdb_scratch *);
/* FN for every chunk of ID that may hold samples in [t0, t1], oldest
 * first; the bytes are valid during the call only.  SCR may be NULL. */
int		 chunkdb_scan(struct kv_txn *, uint64_t id, int64_t t0,
		    int64_t t1, chunkdb_fn, void *, struct chunkdb_scratch *);
/* Start of the oldest chunk (INT64_MAX: none), and FN with the newest. */
int		 chunkdb_bounds(struct kv_txn *, uint64_t id, int64_t *oldest,
		    chunkdb_fn, void *);
/* Delete the chunks whose samples all predate CUT; *left is the start of
 * the oldest chunk kept (INT64_MAX: none). */
int		 chunkdb_trim(struct kv_txn *, uint64_t id, int64_t cut,
		    int64_t *left, uint64_t *ndeleted);
/* Delete the groups whose every chunk predates CUT (their references
 * went before, series by series), and with them their columns. */
int		 chunkdb_trim_groups(struct kv_txn *, int64_t cut,
		    uint64_t *ngroups, uint64_t *ncolumns);
int		 chunkdb_drop(struct kv_txn *, uint64_t id);

/* head.c */
/*
 * 0 when appended or dropped by a rule (counted in the stats), -1 on a
 * codec failure (counted as write_error), HEAD_BACKLOG when the series
 * already holds STORE_MAX_PENDING unflushed chunks: nothing was done,
 * flush and try again.
 */
#define HEAD_BACKLOG	1
int		 head_append(struct store *, struct series *, int64_t t,
		    double v, struct store_append_stats *);
int		 head_seal(struct store *, struct series *);
int		 head_flush(struct store *, char *err, size_t errlen);
int		 head_restore(struct store *, char *err, size_t errlen);
void		 head_free(struct series *);
/* Release the segment block (after every series is freed). */
void		 head_pool_free(struct store *);
void		 head_trim(struct store *, struct series *, int64_t cut,
		    int64_t idle);
int64_t		 head_mint_locked(const struct series *);
/* Delete every segment of series ID from HEAD. */
int		 head_delete(struct kv_txn *, uint64_t id);
/*
 * Readers.  head_copy_locked (stripe lock held) gives FN the head's
 * chunks in memory that may hold samples in [t0, t1] and notes in
 * *disk the time ranges whose segments are on disk; head_copy_disk then
 * gives FN those, from the reader's transaction, which must begin after
 * the copy: a segment a concurrent flush moves from memory to disk is
 * then in one or the other (or both: the same first time, the fuller
 * one wins), and a chunk merged meanwhile is in the sealed chunks.
 */
typedef void	(*head_fn)(void *, int64_t first, const uint8_t *, size_t);
struct head_disk {
	int64_t		 lo[STORE_MAX_PENDING + 1], hi[STORE_MAX_PENDING + 1];
	size_t		 n;
};
void		 head_copy_locked(const struct series *, int64_t t0,
		    int64_t t1, head_fn, void *, struct head_disk *);
int		 head_copy_disk(struct kv_txn *, uint64_t id,
		    const struct head_disk *, int64_t t0, int64_t t1, head_fn,
		    void *);

/* rollup.c */
struct rollup_point {
	int64_t			t;
	struct store_agg	a;
};
int64_t		 rollup_bucket(int tier);
int64_t		 rollup_span(int tier);
/* T rounded down to a multiple of SPAN (INT64_MIN near the bottom). */
int64_t		 rollup_align(int64_t t, int64_t span);
int		 rollup_load(struct store *, char *err, size_t errlen);
/* 1 when the series has a bucket of TIER starting in [t0, t1], 0 if not. */
int		 rollup_has_data(struct kv_txn *, int tier, uint64_t id,
		    int64_t t0, int64_t t1);
/* Decode a block into an array of points (freed by the caller). */
int		 rollup_decode(const void *, size_t, struct rollup_point **,
		    size_t *, char *err, size_t errlen);
int		 rollup_tier_on(const struct store *, int tier);
/*
 * Late samples (storage/LAYOUT.md, "Rollup blocks"): rollup_note records
 * in memory that series ID got a sample at T before st->late_before;
 * rollup_marks_write puts those marks on disk (before the samples they
 * stand for: store_flush_locked); store_rollup_run recomputes the marked
 * buckets.  rollup_marks_min is the oldest bucket still to recompute in
 * TIER (INT64_MAX: none): retention keeps what that needs.  Writer lock
 * held for all but rollup_marks_free.
 */
void		 rollup_note(struct store *, uint64_t id, int64_t t);
int		 rollup_marks_write(struct store *, char *err, size_t errlen);
int		 rollup_marks_min(struct store *, int tier, int64_t *min,
		    char *err, size_t errlen);
void		 rollup_marks_free(struct rollup_marks *);

#endif
