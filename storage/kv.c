/*
 * kv: LMDB behind a small interface (see kv.h for the contract).
 *
 * The environment is opened with MDB_NOTLS so that a read transaction is not
 * bound to its thread's slot, and with MDB_NOMETASYNC: a commit syncs its
 * data pages before it writes the meta page that makes them current, but
 * does not sync that page.  A crash of the machine may then undo the last
 * commits, never tear one (each is whole or absent); kv_sync makes them
 * durable, and the store calls it at the end of each flush.  A flush is a
 * few dozen commits: this halves what it waits for the disk (an O_DSYNC
 * write of the meta page per commit).  No MDB_NOSYNC: without the sync of
 * the data pages, a meta page could reach the disk before the pages it
 * points to.
 *
 * A second process (or a second open in this one) on the same directory
 * would run its own head chunks against the same file, so the directory is
 * locked with flock() on a file of its own for as long as the store is open.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kv.h"
#include "xmalloc.h"

#define KV_DEFAULT_INITIAL	(64ULL << 20)
#define KV_MAX_READERS		510
/*
 * A file is rewritten at close when at least 1/KV_COMPACT_SHARE of it is
 * free pages (and at least KV_COMPACT_MIN bytes): the head segments and
 * tails that a clean close deletes, typically, which a big store keeps
 * for its next run to reuse and a small one is better without.
 */
#define KV_COMPACT_SHARE	8
#define KV_COMPACT_MIN		(64ULL << 10)
#define KV_REPACK_TXN		(64u << 20)

struct kv {
	MDB_env			*env;
	MDB_dbi			 dbi[KV_DB_COUNT];
	char			*dir;
	int			 lockfd;
	uint64_t		 map_size;
	uint64_t		 map_max;
	uint64_t		 grows;
	int			 ready;		/* databases open */
	atomic_int		 unsynced;	/* commits since kv_sync */
	/* Shared by read transactions, exclusive while the map grows. */
	pthread_rwlock_t	 maplock;
};

struct kv_txn {
	struct kv	*kv;
	MDB_txn		*t;
	int		 rdonly;
	char		 err[192];
};

struct kv_cursor {
	struct kv_txn	*txn;
	MDB_cursor	*c;
	enum kv_db	 db;
};

static const struct {
	const char	*name;
	unsigned	 flags;
} kv_dbs[KV_DB_COUNT] = {
	[KV_DB_META] =		{ "meta", 0 },
	[KV_DB_POSTINGS] =	{ "postings", MDB_DUPSORT },
	[KV_DB_LONG] =		{ "long_values", 0 },
	[KV_DB_CHUNKS] =	{ "chunks", 0 },
	[KV_DB_CINDEX] =	{ "chunk_index", MDB_DUPSORT },
	[KV_DB_HEAD] =		{ "head", 0 },
	[KV_DB_ROLLUP] =	{ "rollup", 0 },
	[KV_DB_ALERT_STATE] =	{ "alert_state", 0 },
	[KV_DB_ALERT_QUEUE] =	{ "alert_queue", 0 },
	[KV_DB_ALERT_NFLOG] =	{ "alert_nflog", 0 },
	[KV_DB_ALERT_SILENCE] =	{ "alert_silence", 0 },
};

static int
kv_code(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_NOTFOUND:
		return KV_NOTFOUND;
	case MDB_MAP_FULL:
		return KV_EFULL;
	case ENOSPC:
	case EDQUOT:
		return KV_ENOSPC;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
		return KV_ECORRUPT;
	default:
		return KV_EFAIL;
	}
}

static int
kv_fail(struct kv_txn *txn, const char *what, enum kv_db db, int rc)
{
	int code = kv_code(rc);

	if (code < 0)
		snprintf(txn->err, sizeof(txn->err), "%s %s: %s", what,
		    kv_dbs[db].name, mdb_strerror(rc));
	return code;
}

static void
kv_unlock_dir(struct kv *kv)
{
	if (kv->lockfd != -1)
		close(kv->lockfd);
	kv->lockfd = -1;
}

static int
kv_lock_dir(struct kv *kv, char *err, size_t errlen)
{
	char	*path;

	xasprintf(&path, "%s/monitord.lock", kv->dir);
	kv->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (kv->lockfd == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	if (flock(kv->lockfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			snprintf(err, errlen, "data directory %s is in use "
			    "by another monitord", kv->dir);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(path);
		kv_unlock_dir(kv);
		return -1;
	}
	free(path);
	return 0;
}

/* A compacted copy left by a crash in the middle of kv_compact(). */
static void
kv_remove_stale(struct kv *kv)
{
	char *tmp;

	xasprintf(&tmp, "%s/data.mdb.compact", kv->dir);
	(void)unlink(tmp);
	free(tmp);
}

static uint64_t
kv_round_mb(uint64_t n)
{
	return (n + (1ULL << 20) - 1) & ~((1ULL << 20) - 1);
}

static int
kv_open_dbis(struct kv *kv, char *err, size_t errlen)
{
	MDB_txn	*t;
	int	 i, rc;

	if ((rc = mdb_txn_begin(kv->env, NULL, 0, &t)) != 0) {
		snprintf(err, errlen, "%s: %s", kv->dir, mdb_strerror(rc));
		return -1;
	}
	for (i = 0; i < KV_DB_COUNT; i++) {
		rc = mdb_dbi_open(t, kv_dbs[i].name, kv_dbs[i].flags |
		    MDB_CREATE, &kv->dbi[i]);
		if (rc != 0) {
			snprintf(err, errlen, "%s: database %s: %s", kv->dir,
			    kv_dbs[i].name, rc == MDB_INCOMPATIBLE ?
			    "not a monitord store (incompatible layout)" :
			    mdb_strerror(rc));
			mdb_txn_abort(t);
			return -1;
		}
	}
	if ((rc = mdb_txn_commit(t)) != 0) {
		snprintf(err, errlen, "%s: %s", kv->dir, mdb_strerror(rc));
		return -1;
	}
	return 0;
}

struct kv *
kv_open(const struct kv_opts *o, char *err, size_t errlen)
{
	struct kv		*kv;
	pthread_rwlockattr_t	 attr;
	MDB_envinfo		 info;
	uint64_t		 want;
	int			 rc;

	if (o->map_max < (1ULL << 20)) {
		snprintf(err, errlen, "map size limit must be at least 1MB");
		return NULL;
	}
	kv = xcalloc(1, sizeof(*kv));
	kv->dir = xstrdup(o->dir);
	kv->lockfd = -1;
	kv->map_max = kv_round_mb(o->map_max);
	pthread_rwlockattr_init(&attr);
	/* A waiting grower must not starve behind a stream of readers. */
	pthread_rwlockattr_setkind_np(&attr,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&kv->maplock, &attr);
	pthread_rwlockattr_destroy(&attr);

	if (kv_lock_dir(kv, err, errlen) == -1)
		goto fail;
	kv_remove_stale(kv);
	if ((rc = mdb_env_create(&kv->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(kv->env, KV_DB_COUNT)) != 0 ||
	    (rc = mdb_env_set_maxreaders(kv->env, KV_MAX_READERS)) != 0) {
		snprintf(err, errlen, "%s: %s", kv->dir, mdb_strerror(rc));
		goto fail;
	}
	rc = mdb_env_open(kv->env, kv->dir, MDB_NOTLS | MDB_NOMETASYNC, 0640);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", kv->dir, rc == MDB_INVALID ?
		    "not an LMDB database (data.mdb is damaged or foreign)" :
		    mdb_strerror(rc));
		goto fail;
	}
	/* The file remembers its map size; grow to the wanted start only. */
	mdb_env_info(kv->env, &info);
	want = o->map_initial != 0 ? kv_round_mb(o->map_initial) :
	    KV_DEFAULT_INITIAL;
	if (want > kv->map_max)
		want = kv->map_max;
	if (info.me_mapsize < want) {
		if ((rc = mdb_env_set_mapsize(kv->env, want)) != 0) {
			snprintf(err, errlen, "%s: map size: %s", kv->dir,
			    mdb_strerror(rc));
			goto fail;
		}
		mdb_env_info(kv->env, &info);
	}
	kv->map_size = info.me_mapsize;
	if (kv_open_dbis(kv, err, errlen) == -1)
		goto fail;
	kv->ready = 1;
	return kv;

fail:
	kv_close(kv);
	return NULL;
}

/*
 * Copy every record of the environment into a new one at PATH, in key
 * order with MDB_APPEND, which fills every page (a page split in the
 * middle of the tree leaves two half-full ones, and a byte copy of the
 * pages would keep them so), committing every KV_REPACK_TXN bytes.
 */
static int
kv_repack(struct kv *kv, const char *path, char *err, size_t errlen)
{
	MDB_env		*ne = NULL;
	MDB_txn		*rt = NULL, *wt = NULL;
	MDB_cursor	*c = NULL;
	MDB_dbi		 nd[KV_DB_COUNT];
	MDB_val		 k, v;
	char		*prev = NULL;
	size_t		 plen = 0, pcap = 0, bytes = 0;
	unsigned	 flags;
	int		 i, rc, op;

	if ((rc = mdb_env_create(&ne)) != 0 ||
	    (rc = mdb_env_set_maxdbs(ne, KV_DB_COUNT)) != 0 ||
	    (rc = mdb_env_set_mapsize(ne, kv->map_size)) != 0 ||
	    (rc = mdb_env_open(ne, path, MDB_NOSUBDIR | MDB_NOLOCK |
	    MDB_NOSYNC, 0640)) != 0 ||
	    (rc = mdb_txn_begin(kv->env, NULL, MDB_RDONLY, &rt)) != 0 ||
	    (rc = mdb_txn_begin(ne, NULL, 0, &wt)) != 0)
		goto out;
	for (i = 0; i < KV_DB_COUNT; i++)
		if ((rc = mdb_dbi_open(wt, kv_dbs[i].name, kv_dbs[i].flags |
		    MDB_CREATE, &nd[i])) != 0)
			goto out;
	for (i = 0; i < KV_DB_COUNT && rc == 0; i++) {
		if ((rc = mdb_cursor_open(rt, kv->dbi[i], &c)) != 0)
			break;
		plen = 0;
		for (op = MDB_FIRST; (rc = mdb_cursor_get(c, &k, &v, op)) == 0;
		    op = MDB_NEXT) {
			flags = MDB_APPEND;
			if ((kv_dbs[i].flags & MDB_DUPSORT) && prev != NULL &&
			    k.mv_size == plen && memcmp(k.mv_data, prev,
			    plen) == 0)
				flags = MDB_APPENDDUP;
			if ((rc = mdb_put(wt, nd[i], &k, &v, flags)) != 0)
				break;
			if (k.mv_size > pcap) {
				pcap = k.mv_size * 2;
				prev = xreallocarray(prev, 1, pcap);
			}
			memcpy(prev, k.mv_data, k.mv_size);
			plen = k.mv_size;
			if ((bytes += k.mv_size + v.mv_size) < KV_REPACK_TXN)
				continue;
			bytes = 0;
			rc = mdb_txn_commit(wt);
			wt = NULL;
			if (rc != 0 || (rc = mdb_txn_begin(ne, NULL, 0,
			    &wt)) != 0)
				break;
		}
		mdb_cursor_close(c);
		c = NULL;
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	if (rc == 0) {
		rc = mdb_txn_commit(wt);
		wt = NULL;
	}
	if (rc == 0)
		rc = mdb_env_sync(ne, 1);
out:
	if (rc != 0)
		snprintf(err, errlen, "compacting %s: %s", kv->dir,
		    mdb_strerror(rc));
	if (wt != NULL)
		mdb_txn_abort(wt);
	if (rt != NULL)
		mdb_txn_abort(rt);
	if (ne != NULL)
		mdb_env_close(ne);
	free(prev);
	return rc != 0 ? -1 : 0;
}

/*
 * Rewrite the file without its free pages and with full ones: a repacked
 * copy next to it, synced, then renamed over it once the environment is
 * closed.  A crash leaves either file whole; a stale copy is removed at
 * the next open.
 */
static int
kv_compact(struct kv *kv, char *err, size_t errlen)
{
	char	*tmp, *path;
	int	 fd, rc = -1;

	xasprintf(&tmp, "%s/data.mdb.compact", kv->dir);
	xasprintf(&path, "%s/data.mdb", kv->dir);
	(void)unlink(tmp);
	if (kv_repack(kv, tmp, err, errlen) == -1) {
		unlink(tmp);
		goto out;
	}
	mdb_env_close(kv->env);
	kv->env = NULL;
	if (rename(tmp, path) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if ((fd = open(kv->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(fd);
		close(fd);
	}
	rc = 0;
out:
	free(tmp);
	free(path);
	return rc;
}

int
kv_close_compact(struct kv *kv, char *err, size_t errlen)
{
	struct kv_info	info;
	int		rc = 0;

	if (kv == NULL)
		return 0;
	kv_info(kv, &info);
	if (info.free_bytes * KV_COMPACT_SHARE >= info.used_bytes +
	    info.free_bytes && info.free_bytes >= KV_COMPACT_MIN)
		rc = kv_compact(kv, err, errlen);
	kv_close(kv);
	return rc;
}

/* Whether no database holds a record. */
static int
kv_empty(struct kv *kv)
{
	MDB_txn		*t;
	MDB_stat	 st;
	int		 i, empty = 1;

	if (mdb_txn_begin(kv->env, NULL, MDB_RDONLY, &t) != 0)
		return 0;
	for (i = 0; i < KV_DB_COUNT && empty; i++)
		if (mdb_stat(t, kv->dbi[i], &st) != 0 || st.ms_entries > 0)
			empty = 0;
	mdb_txn_abort(t);
	return empty;
}

static void
kv_unlink(struct kv *kv, const char *name)
{
	char *path;

	xasprintf(&path, "%s/%s", kv->dir, name);
	(void)unlink(path);
	free(path);
}

/*
 * The lock file only matters while the environment is open (it holds the
 * reader table), and the directory lock keeps every other monitord out
 * until we are done: remove it, and the data file too when it holds
 * nothing, so that an unused environment costs no disk at all.
 */
int
kv_sync(struct kv *kv, char *err, size_t errlen)
{
	int rc, code;

	/* A commit from now on is synced by the next call. */
	if (!atomic_exchange(&kv->unsynced, 0))
		return 0;
	if ((rc = mdb_env_sync(kv->env, 1)) != 0) {
		atomic_store(&kv->unsynced, 1);
		code = kv_code(rc);
		snprintf(err, errlen, "%ssync: %s", code == KV_ENOSPC ?
		    "disk full: " : "", mdb_strerror(rc));
		return code < 0 ? code : KV_EFAIL;
	}
	return 0;
}

void
kv_close(struct kv *kv)
{
	int empty = 0;

	if (kv == NULL)
		return;
	if (kv->env != NULL) {
		if (kv->ready) {
			empty = kv_empty(kv);
			/* The last commits' meta page (see above). */
			(void)mdb_env_sync(kv->env, 1);
		}
		mdb_env_close(kv->env);
	}
	if (kv->ready) {
		kv_unlink(kv, "lock.mdb");
		if (empty)
			kv_unlink(kv, "data.mdb");
	}
	kv_unlock_dir(kv);
	pthread_rwlock_destroy(&kv->maplock);
	free(kv->dir);
	free(kv);
}

size_t
kv_max_key(struct kv *kv)
{
	return (size_t)mdb_env_get_maxkeysize(kv->env);
}

/* Pages on LMDB's free list (reusable space inside the file), counted as
 * mdb_stat -f does: each record of the free database is a page list
 * whose first word is its length. */
static uint64_t
kv_free_pages(struct kv *kv)
{
	MDB_txn		*t;
	MDB_cursor	*c;
	MDB_val		 k, v;
	uint64_t	 n = 0;
	size_t		 len;

	if (mdb_txn_begin(kv->env, NULL, MDB_RDONLY, &t) != 0)
		return 0;
	if (mdb_cursor_open(t, 0, &c) == 0) {
		while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0)
			if (v.mv_size >= sizeof(size_t)) {
				memcpy(&len, v.mv_data, sizeof(len));
				n += len;
			}
		mdb_cursor_close(c);
	}
	mdb_txn_abort(t);
	return n;
}

void
kv_info(struct kv *kv, struct kv_info *out)
{
	MDB_envinfo	 info;
	MDB_stat	 st;
	struct stat	 sb;
	uint64_t	 pages, nfree;
	char		*path;

	memset(out, 0, sizeof(*out));
	pthread_rwlock_rdlock(&kv->maplock);
	mdb_env_info(kv->env, &info);
	mdb_env_stat(kv->env, &st);
	nfree = kv_free_pages(kv);
	pages = (uint64_t)info.me_last_pgno + 1;
	out->map_size = info.me_mapsize;
	out->page_size = st.ms_psize;
	out->used_bytes = (pages - (nfree < pages ? nfree : 0)) * st.ms_psize;
	out->free_bytes = nfree * st.ms_psize;
	out->map_grows = kv->grows;
	pthread_rwlock_unlock(&kv->maplock);
	xasprintf(&path, "%s/data.mdb", kv->dir);
	if (stat(path, &sb) == 0)
		out->file_bytes = (uint64_t)sb.st_blocks * 512;
	free(path);
}

uint64_t
kv_db_bytes(struct kv *kv, enum kv_db db, uint64_t *entries)
{
	MDB_txn		*t;
	MDB_stat	 st;
	uint64_t	 n = 0;

	pthread_rwlock_rdlock(&kv->maplock);
	if (mdb_txn_begin(kv->env, NULL, MDB_RDONLY, &t) == 0) {
		if (mdb_stat(t, kv->dbi[db], &st) == 0) {
			n = (uint64_t)(st.ms_branch_pages + st.ms_leaf_pages +
			    st.ms_overflow_pages) * st.ms_psize;
			if (entries != NULL)
				*entries = st.ms_entries;
		}
		mdb_txn_abort(t);
	}
	pthread_rwlock_unlock(&kv->maplock);
	return n;
}

int
kv_copy_compact(struct kv *kv, const char *path, char *err, size_t errlen)
{
	int rc;

	pthread_rwlock_rdlock(&kv->maplock);
	rc = mdb_env_copy2(kv->env, path, MDB_CP_COMPACT);
	pthread_rwlock_unlock(&kv->maplock);
	if (rc != 0) {
		snprintf(err, errlen, "copy to %s: %s", path, mdb_strerror(rc));
		return kv_code(rc);
	}
	return 0;
}

/*
 * Double the map (no transaction of ours is open: the writer aborted its
 * own and readers are held off by the lock).  -1 at the limit.
 */
static int
kv_grow(struct kv *kv, char *err, size_t errlen)
{
	uint64_t	next;
	int		rc;

	if (kv->map_size >= kv->map_max)
		return -1;
	next = kv->map_size * 2;
	if (next > kv->map_max)
		next = kv->map_max;
	pthread_rwlock_wrlock(&kv->maplock);
	rc = mdb_env_set_mapsize(kv->env, next);
	if (rc == 0) {
		kv->map_size = next;
		kv->grows++;
	}
	pthread_rwlock_unlock(&kv->maplock);
	if (rc != 0) {
		snprintf(err, errlen, "growing the map to %llu bytes: %s",
		    (unsigned long long)next, mdb_strerror(rc));
		return -1;
	}
	return 0;
}

/* Another process grew the file: adopt its size. */
static void
kv_adopt_size(struct kv *kv)
{
	MDB_envinfo info;

	pthread_rwlock_wrlock(&kv->maplock);
	mdb_env_set_mapsize(kv->env, 0);
	mdb_env_info(kv->env, &info);
	kv->map_size = info.me_mapsize;
	pthread_rwlock_unlock(&kv->maplock);
}

int
kv_write(struct kv *kv, int (*fn)(struct kv_txn *, void *), void *arg,
    char *err, size_t errlen)
{
	struct kv_txn	txn;
	int		rc, code;

	for (;;) {
		memset(&txn, 0, sizeof(txn));
		txn.kv = kv;
		rc = mdb_txn_begin(kv->env, NULL, 0, &txn.t);
		if (rc == MDB_MAP_RESIZED) {
			kv_adopt_size(kv);
			continue;
		}
		if (rc != 0) {
			snprintf(err, errlen, "write transaction: %s",
			    mdb_strerror(rc));
			return kv_code(rc);
		}
		code = fn(&txn, arg);
		if (code == 0) {
			rc = mdb_txn_commit(txn.t);
			if (rc == 0) {
				atomic_store(&kv->unsynced, 1);
				return 0;
			}
			code = kv_code(rc);
			snprintf(txn.err, sizeof(txn.err), "commit: %s",
			    mdb_strerror(rc));
		} else
			mdb_txn_abort(txn.t);
		if (code == KV_EFULL) {
			if (kv_grow(kv, err, errlen) == 0)
				continue;
			if (kv->map_size >= kv->map_max)
				snprintf(err, errlen, "database full: it "
				    "reached its size limit of %llu MB",
				    (unsigned long long)(kv->map_max >> 20));
			return KV_EFULL;
		}
		if (code == KV_ENOSPC)
			snprintf(err, errlen, "disk full: %s", txn.err);
		else if (txn.err[0] != '\0')
			snprintf(err, errlen, "%s", txn.err);
		else
			snprintf(err, errlen, "write failed (code %d)", code);
		return code < 0 ? code : KV_EFAIL;
	}
}

int
kv_read_begin(struct kv *kv, struct kv_txn **out, char *err, size_t errlen)
{
	struct kv_txn	*txn;
	int		 rc;

	txn = xcalloc(1, sizeof(*txn));
	txn->kv = kv;
	txn->rdonly = 1;
	for (;;) {
		pthread_rwlock_rdlock(&kv->maplock);
		rc = mdb_txn_begin(kv->env, NULL, MDB_RDONLY, &txn->t);
		if (rc == 0)
			break;
		pthread_rwlock_unlock(&kv->maplock);
		if (rc == MDB_MAP_RESIZED) {
			kv_adopt_size(kv);
			continue;
		}
		snprintf(err, errlen, "read transaction: %s", mdb_strerror(rc));
		free(txn);
		*out = NULL;
		return kv_code(rc);
	}
	*out = txn;
	return 0;
}

void
kv_read_end(struct kv_txn *txn)
{
	if (txn == NULL)
		return;
	mdb_txn_abort(txn->t);
	pthread_rwlock_unlock(&txn->kv->maplock);
	free(txn);
}

const char *
kv_txn_error(const struct kv_txn *txn)
{
	return txn->err;
}

int
kv_get(struct kv_txn *txn, enum kv_db db, const void *key, size_t klen,
    struct kv_val *out)
{
	MDB_val	k = { klen, (void *)key }, v;
	int	rc;

	rc = mdb_get(txn->t, txn->kv->dbi[db], &k, &v);
	if (rc != 0)
		return kv_fail(txn, "get", db, rc);
	out->data = v.mv_data;
	out->len = v.mv_size;
	return 0;
}

int
kv_put(struct kv_txn *txn, enum kv_db db, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	MDB_val	k = { klen, (void *)key }, v = { vlen, (void *)val };
	int	rc;

	rc = mdb_put(txn->t, txn->kv->dbi[db], &k, &v, 0);
	return rc == 0 ? 0 : kv_fail(txn, "put", db, rc);
}

int
kv_append(struct kv_txn *txn, enum kv_db db, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	MDB_val		k = { klen, (void *)key }, v = { vlen, (void *)val };
	unsigned	flags;
	int		rc;

	/* A dup database appends a new last key, or a value to a key. */
	flags = kv_dbs[db].flags & MDB_DUPSORT ? MDB_APPEND | MDB_APPENDDUP :
	    MDB_APPEND;
	rc = mdb_put(txn->t, txn->kv->dbi[db], &k, &v, flags);
	if (rc == MDB_KEYEXIST)
		rc = mdb_put(txn->t, txn->kv->dbi[db], &k, &v, 0);
	return rc == 0 ? 0 : kv_fail(txn, "put", db, rc);
}

int
kv_del(struct kv_txn *txn, enum kv_db db, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	MDB_val	k = { klen, (void *)key }, v = { vlen, (void *)val };
	int	rc;

	rc = mdb_del(txn->t, txn->kv->dbi[db], &k, val != NULL ? &v : NULL);
	return rc == 0 ? 0 : kv_fail(txn, "delete", db, rc);
}

int
kv_cursor_open(struct kv_txn *txn, enum kv_db db, struct kv_cursor **out)
{
	MDB_cursor	*c;
	int		 rc;

	*out = NULL;
	if ((rc = mdb_cursor_open(txn->t, txn->kv->dbi[db], &c)) != 0)
		return kv_fail(txn, "cursor", db, rc);
	*out = xmalloc(sizeof(**out));
	(*out)->txn = txn;
	(*out)->c = c;
	(*out)->db = db;
	return 0;
}

void
kv_cursor_close(struct kv_cursor *cur)
{
	if (cur == NULL)
		return;
	mdb_cursor_close(cur->c);
	free(cur);
}

int
kv_cursor_get(struct kv_cursor *cur, enum kv_op op, struct kv_val *key,
    struct kv_val *val)
{
	static const MDB_cursor_op ops[] = {
		[KV_FIRST] = MDB_FIRST,
		[KV_LAST] = MDB_LAST,
		[KV_NEXT] = MDB_NEXT,
		[KV_PREV] = MDB_PREV,
		[KV_NEXT_NODUP] = MDB_NEXT_NODUP,
		[KV_SET_RANGE] = MDB_SET_RANGE,
		[KV_SET_KEY] = MDB_SET_KEY,
		[KV_GET_BOTH_RANGE] = MDB_GET_BOTH_RANGE,
		[KV_FIRST_DUP] = MDB_FIRST_DUP,
		[KV_LAST_DUP] = MDB_LAST_DUP,
		[KV_NEXT_DUP] = MDB_NEXT_DUP,
		[KV_PREV_DUP] = MDB_PREV_DUP,
	};
	MDB_val	k = { 0, NULL }, v = { 0, NULL };
	int	rc;

	if (op == KV_SET_RANGE || op == KV_SET_KEY || op == KV_GET_BOTH_RANGE) {
		k.mv_size = key->len;
		k.mv_data = (void *)key->data;
	}
	if (op == KV_GET_BOTH_RANGE) {
		v.mv_size = val->len;
		v.mv_data = (void *)val->data;
	}
	rc = mdb_cursor_get(cur->c, &k, &v, ops[op]);
	if (rc != 0)
		return kv_fail(cur->txn, "cursor get", cur->db, rc);
	if (key != NULL) {
		key->data = k.mv_data;
		key->len = k.mv_size;
	}
	if (val != NULL) {
		val->data = v.mv_data;
		val->len = v.mv_size;
	}
	return 0;
}

int
kv_cursor_del(struct kv_cursor *cur)
{
	int rc;

	if ((rc = mdb_cursor_del(cur->c, 0)) != 0)
		return kv_fail(cur->txn, "cursor delete", cur->db, rc);
	return 0;
}
