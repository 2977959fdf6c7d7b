/*
 * store: open and close, the append path, flushes, counters, and the
 * store's own maintenance thread (see store.h for the contract).
 *
 * Appending resolves each sample's series through the in-memory index.
 * New series of a batch are first written to the index on disk in one
 * transaction and only then made visible in memory, so a reader never
 * meets an id the disk does not know, and a failed write leaves nothing
 * half-created.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chunk.h"
#include "keys.h"
#include "kv.h"
#include "log.h"
#include "meta.h"
#include "sample.h"
#include "store_int.h"
#include "xmalloc.h"

void
store_opts_default(struct store_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->flush_interval_ms = 10 * 1000;
	o->retention_ms = 15LL * 86400 * 1000;
	o->retention_5m_ms = 90LL * 86400 * 1000;
	o->retention_1h_ms = 2 * 365LL * 86400 * 1000;
	o->map_size_max = 64ULL << 30;
	/* Measured with bench/store_bench (storage/LAYOUT.md). */
	o->chunk_target_samples = 960;
	o->chunk_max_samples = CHUNK_MAX_SAMPLES;
	o->chunk_max_bytes = 16384;
	o->chunk_max_span_ms = 86400 * 1000;
	o->head_segment_samples = 120;
}

int64_t
store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double
mono_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
store_set_error(struct store *st, int disk_full, const char *msg)
{
	pthread_mutex_lock(&st->statlock);
	snprintf(st->st.last_error, sizeof(st->st.last_error), "%s", msg);
	st->st.errors++;
	st->st.disk_full = disk_full;
	st->st.last_error_time = store_now_ms();
	pthread_mutex_unlock(&st->statlock);
}

/* A write of data succeeded: room again. Called with statlock held. */
static void
store_wrote_locked(struct store *st)
{
	st->st.disk_full = 0;
	st->st.last_write_time = store_now_ms();
}

int
store_fault(struct store *st, const char *point, char *err, size_t errlen)
{
	if (st->opts.fault == NULL ||
	    st->opts.fault(st->opts.fault_arg, point) == 0)
		return 0;
	if (err != NULL)
		snprintf(err, errlen, "fault injected at %s", point);
	return -1;
}

static int
is_disk_full(const char *err)
{
	return strncmp(err, "database full", 13) == 0 ||
	    strncmp(err, "disk full", 9) == 0;
}

void
store_dirty(struct store *st, struct series *s)
{
	if (s->dirty)
		return;
	if (st->ndirty == st->dirtycap) {
		st->dirtycap = st->dirtycap ? st->dirtycap * 2 : 1024;
		st->dirty = xreallocarray(st->dirty, st->dirtycap,
		    sizeof(*st->dirty));
	}
	st->dirty[st->ndirty++] = s;
	s->dirty = 1;
}

static int
check_opts(const struct store_opts *o, char *err, size_t errlen)
{
	if (o->dir == NULL || o->dir[0] == '\0') {
		snprintf(err, errlen, "no data directory");
		return -1;
	}
	if (o->retention_1h_ms > 0 && o->retention_5m_ms <= 0) {
		snprintf(err, errlen, "the 1h rollup tier needs the 5m tier");
		return -1;
	}
	if (o->chunk_max_samples < 2 || o->chunk_max_samples >
	    CHUNK_MAX_SAMPLES) {
		snprintf(err, errlen, "chunk size must be 2 to %d samples",
		    CHUNK_MAX_SAMPLES);
		return -1;
	}
	if (o->head_segment_samples < 2 || o->head_segment_samples >
	    CHUNK_MAX_SAMPLES) {
		snprintf(err, errlen, "head segments must be 2 to %d samples",
		    CHUNK_MAX_SAMPLES);
		return -1;
	}
	if (o->chunk_target_samples < 1) {
		snprintf(err, errlen, "chunk target must be at least 1 "
		    "sample");
		return -1;
	}
	if (o->chunk_max_bytes > 0 && o->chunk_max_bytes < 64) {
		snprintf(err, errlen, "chunk byte limit must be at least 64");
		return -1;
	}
	if (o->chunk_max_span_ms <= 0 || o->retention_ms < 0 ||
	    o->retention_5m_ms < 0 || o->retention_1h_ms < 0 ||
	    o->flush_interval_ms < 0 || o->maint_interval_ms < 0) {
		snprintf(err, errlen, "negative or zero duration in store "
		    "options");
		return -1;
	}
	return 0;
}

static int
load_meta(struct store *st, char *err, size_t errlen)
{
	struct kv_txn	*txn;
	int64_t		 v;

	if (kv_read_begin(st->kv, &txn, err, errlen) < 0)
		return -1;
	if (meta_get_i64(txn, "next_id", &v) == 0 && (uint64_t)v > st->next_id)
		st->next_id = (uint64_t)v;
	st->min_valid_t = INT64_MIN;
	if (meta_get_i64(txn, "cutoff", &v) == 0)
		st->min_valid_t = v;
	kv_read_end(txn);
	return 0;
}

static void *store_thread(void *);

struct store *
store_open(const struct store_opts *o, char *err, size_t errlen)
{
	struct store	*st;
	struct kv_opts	 ko;
	int		 i;

	if (check_opts(o, err, errlen) == -1)
		return NULL;
	if (mkdir(o->dir, 0750) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", o->dir, strerror(errno));
		return NULL;
	}
	st = xcalloc(1, sizeof(*st));
	st->opts = *o;
	st->dir = xstrdup(o->dir);
	st->opts.dir = st->dir;
	st->next_id = 1;
	pthread_mutex_init(&st->mlock, NULL);
	pthread_mutex_init(&st->wlock, NULL);
	pthread_rwlock_init(&st->ilock, NULL);
	for (i = 0; i < STORE_STRIPES; i++)
		pthread_mutex_init(&st->stripe[i], NULL);
	pthread_mutex_init(&st->statlock, NULL);
	pthread_mutex_init(&st->tlock, NULL);
	pthread_cond_init(&st->tcond, NULL);
	series_index_init(&st->idx);

	memset(&ko, 0, sizeof(ko));
	ko.dir = st->dir;
	ko.map_initial = o->map_size_initial;
	ko.map_max = o->map_size_max;
	if ((st->kv = kv_open(&ko, err, errlen)) == NULL)
		goto fail;
	if (meta_check(st->kv, st->dir, err, errlen) == -1 ||
	    series_load(st, err, errlen) == -1 ||
	    load_meta(st, err, errlen) == -1 ||
	    head_restore(st, err, errlen) == -1 ||
	    rollup_load(st, err, errlen) == -1)
		goto fail;
	if (o->flush_interval_ms > 0 || o->maint_interval_ms > 0) {
		if (pthread_create(&st->thread, NULL, store_thread, st) != 0) {
			snprintf(err, errlen, "cannot start the store thread");
			goto fail;
		}
		st->thread_on = 1;
	}
	return st;
fail:
	store_close(st, NULL, 0);
	return NULL;
}

static void
store_free(struct store *st)
{
	struct series	*s, *next;
	size_t		 i;
	int		 j;

	for (i = 0; i < st->idx.nbuckets; i++)
		for (s = st->idx.byid[i]; s != NULL; s = next) {
			next = s->inext;
			series_free(s);
		}
	series_index_free(&st->idx);
	head_pool_free(st);
	kv_close(st->kv);
	free(st->dirty);
	rollup_marks_free(st->marks);
	pthread_mutex_destroy(&st->mlock);
	pthread_mutex_destroy(&st->wlock);
	pthread_rwlock_destroy(&st->ilock);
	for (j = 0; j < STORE_STRIPES; j++)
		pthread_mutex_destroy(&st->stripe[j]);
	pthread_mutex_destroy(&st->statlock);
	pthread_mutex_destroy(&st->tlock);
	pthread_cond_destroy(&st->tcond);
	free(st->dir);
	free(st);
}

/*
 * At a clean close every open chunk is sealed: the file keeps compact
 * chunks instead of checkpoints, and the next start decodes nothing.
 * Whether there is anything to write.
 */
static int
seal_all(struct store *st)
{
	struct series	*s;
	size_t		 i;

	pthread_mutex_lock(&st->wlock);
	for (i = 0; i < st->idx.nbuckets; i++)
		for (s = st->idx.byid[i]; s != NULL; s = s->inext)
			if (s->open != NULL)
				(void)head_seal(st, s);
	pthread_mutex_unlock(&st->wlock);
	return st->ndirty > 0;
}

int
store_close(struct store *st, char *err, size_t errlen)
{
	char	ebuf[256];
	int	rc = 0;

	if (st == NULL)
		return 0;
	if (st->thread_on) {
		pthread_mutex_lock(&st->tlock);
		st->stopping = 1;
		pthread_cond_signal(&st->tcond);
		pthread_mutex_unlock(&st->tlock);
		pthread_join(st->thread, NULL);
	}
	if (st->kv != NULL && seal_all(st) &&
	    store_flush(st, ebuf, sizeof(ebuf)) == -1) {
		if (err != NULL)
			snprintf(err, errlen, "%s", ebuf);
		rc = -1;
	}
	/* Checkpoints rewritten at every flush leave free pages behind;
	 * a failed rewrite only leaves the file as big as it was. */
	if (st->kv != NULL && rc == 0)
		(void)kv_close_compact(st->kv, ebuf, sizeof(ebuf));
	else
		kv_close(st->kv);
	st->kv = NULL;
	store_free(st);
	return rc;
}

struct new_series {
	struct store	 *st;
	struct series	**v;
	size_t		  n;
};

static int
write_new_series(struct kv_txn *txn, void *arg)
{
	struct new_series	*ns = arg;
	int			 rc;

	if ((rc = series_write(txn, ns->v, ns->n)) < 0)
		return rc;
	return meta_put_i64(txn, "next_id",
	    (int64_t)(ns->st->next_id + ns->n));
}

static int
labels_ok(const struct sample *s)
{
	size_t i;

	for (i = 0; i < s->nlabels; i++)
		if (strlen(s->labels[i].name) > STORE_LABEL_NAME_MAX)
			return 0;
	return s->nlabels > 0;
}

/* Series of a new key, or NULL (and the reason counted) when refused. */
static struct series *
create_series(struct store *st, struct series_index *nidx,
    const char *key, size_t len, uint64_t h, struct store_append_stats *a)
{
	struct series *s;

	if (st->opts.max_series > 0 &&
	    st->idx.count + nidx->count >= st->opts.max_series) {
		a->series_limit++;
		return NULL;
	}
	if (st->opts.max_series_per_job > 0 &&
	    series_job_count(&st->idx, key, len) +
	    series_job_count(nidx, key, len) >= st->opts.max_series_per_job) {
		a->series_limit++;
		return NULL;
	}
	s = series_new(st->next_id + nidx->count, key, len, h);
	series_insert(nidx, s);
	return s;
}

static void
count_append(struct store *st, const struct store_append_stats *a)
{
	struct store_append_stats *d = &st->st.dropped;

	pthread_mutex_lock(&st->statlock);
	st->st.samples_appended += a->appended;
	st->st.series_created += a->series_created;
	d->out_of_order += a->out_of_order;
	d->duplicate += a->duplicate;
	d->too_old += a->too_old;
	d->series_limit += a->series_limit;
	d->invalid += a->invalid;
	d->write_error += a->write_error;
	pthread_mutex_unlock(&st->statlock);
}

/*
 * The series of each label set of a batch, by the set's address: batches
 * keep one copy of a set that repeats (sample.h), so an import body of a
 * thousand series over hundreds of timestamps builds and hashes a
 * thousand keys instead of one a sample.
 */
struct setmap {
	const struct label	**k;
	struct series		**v;	/* NULL: refused */
	size_t			  n, cap;	/* cap a power of two */
};

static size_t
setmap_slot(const struct setmap *m, const struct label *k)
{
	size_t j = (size_t)(((uintptr_t)k >> 3) * 0x9e3779b97f4a7c15ULL) &
	    (m->cap - 1);

	while (m->k[j] != NULL && m->k[j] != k)
		j = (j + 1) & (m->cap - 1);
	return j;
}

/* 1 with the series (maybe NULL) of K, or 0 when K is not known yet. */
static int
setmap_get(const struct setmap *m, const struct label *k, struct series **s)
{
	size_t j;

	if (m->n == 0)
		return 0;
	j = setmap_slot(m, k);
	if (m->k[j] == NULL)
		return 0;
	*s = m->v[j];
	return 1;
}

static void
setmap_put(struct setmap *m, const struct label *k, struct series *s)
{
	const struct label	**ok = m->k;
	struct series		**ov = m->v;
	size_t			  ocap = m->cap, i, j;

	if (2 * (m->n + 1) > m->cap) {
		m->cap = ocap ? ocap * 2 : 256;
		m->k = xcalloc(m->cap, sizeof(*m->k));
		m->v = xcalloc(m->cap, sizeof(*m->v));
		for (i = 0; i < ocap; i++)
			if (ok[i] != NULL) {
				j = setmap_slot(m, ok[i]);
				m->k[j] = ok[i];
				m->v[j] = ov[i];
			}
		free(ok);
		free(ov);
	}
	j = setmap_slot(m, k);
	if (m->k[j] == NULL)
		m->n++;
	m->k[j] = k;
	m->v[j] = s;
}

/* Writer lock held. */
static int
append_locked(struct store *st, const struct batch *b,
    struct store_append_stats *a)
{
	const struct sample	 *smp;
	struct series		**ref, *s;
	struct series_index	  nidx;
	struct setmap		  sets = { NULL, NULL, 0, 0 };
	struct new_series	  ns = { st, NULL, 0 };
	char			 *key = NULL, ebuf[256];
	size_t			  n = batch_len(b), i, cap = 0, len;
	size_t			  nscap = 0;
	uint64_t		  h, appended;
	int			  rc = 0, hrc, flush_failed = 0;

	ref = xcalloc(n ? n : 1, sizeof(*ref));
	series_index_init(&nidx);
	for (i = 0; i < n; i++) {
		smp = batch_at(b, i);
		if (smp->t < st->min_valid_t) {
			a->too_old++;
			continue;
		}
		if (setmap_get(&sets, smp->labels, &s)) {
			if (s == NULL)
				a->invalid++;
			ref[i] = s;
			continue;
		}
		if (!labels_ok(smp)) {
			setmap_put(&sets, smp->labels, NULL);
			a->invalid++;
			continue;
		}
		len = series_key(smp->labels, smp->nlabels, &key, &cap);
		h = series_hash(key, len);
		if ((s = series_find_key(&st->idx, key, len, h)) == NULL &&
		    (s = series_find_key(&nidx, key, len, h)) == NULL) {
			s = create_series(st, &nidx, key, len, h, a);
			if (s != NULL) {
				if (ns.n == nscap) {
					nscap = nscap ? nscap * 2 : 64;
					ns.v = xreallocarray(ns.v, nscap,
					    sizeof(*ns.v));
				}
				ns.v[ns.n++] = s;
			}
		}
		/* A set refused by the series limits is asked again: the
		 * limit counts each sample refused. */
		if (s != NULL)
			setmap_put(&sets, smp->labels, s);
		ref[i] = s;
	}
	free(sets.k);
	free(sets.v);
	if (ns.n > 0) {
		if (kv_write(st->kv, write_new_series, &ns, ebuf,
		    sizeof(ebuf)) < 0) {
			store_set_error(st, is_disk_full(ebuf), ebuf);
			for (i = 0; i < n; i++)
				if (ref[i] != NULL && series_find_id(&nidx,
				    ref[i]->id) == ref[i]) {
					ref[i] = NULL;
					a->write_error++;
				}
			for (i = 0; i < ns.n; i++)
				series_free(ns.v[i]);
			rc = -1;
		} else {
			pthread_rwlock_wrlock(&st->ilock);
			for (i = 0; i < ns.n; i++) {
				series_remove(&nidx, ns.v[i]);
				series_insert(&st->idx, ns.v[i]);
			}
			pthread_rwlock_unlock(&st->ilock);
			pthread_mutex_lock(&st->statlock);
			store_wrote_locked(st);
			pthread_mutex_unlock(&st->statlock);
			st->next_id += ns.n;
			a->series_created += ns.n;
		}
	}
	for (i = 0; i < n; i++) {
		if (ref[i] == NULL)
			continue;
		smp = batch_at(b, i);
		appended = a->appended;
		hrc = head_append(st, ref[i], smp->t, smp->v, a);
		/* Sealed chunks pile up: write them now (unless writing
		 * already failed in this batch). */
		if (hrc == HEAD_BACKLOG && !flush_failed) {
			if (store_flush_locked(st, NULL, 0) == 0)
				hrc = head_append(st, ref[i], smp->t, smp->v,
				    a);
			else
				flush_failed = 1;
		}
		if (a->appended > appended && smp->t < st->late_before)
			rollup_note(st, ref[i]->id, smp->t);
		if (hrc == HEAD_BACKLOG) {
			a->write_error++;
			rc = -1;
		} else if (hrc != 0)
			rc = -1;
	}
	series_index_free(&nidx);
	free(ns.v);
	free(ref);
	free(key);
	count_append(st, a);
	return rc;
}

int
store_append_batch(struct store *st, const struct batch *b,
    struct store_append_stats *out)
{
	struct store_append_stats	a;
	int				rc;

	memset(&a, 0, sizeof(a));
	pthread_mutex_lock(&st->wlock);
	rc = append_locked(st, b, &a);
	pthread_mutex_unlock(&st->wlock);
	if (out != NULL)
		*out = a;
	return rc;
}

int
store_flush_locked(struct store *st, char *err, size_t errlen)
{
	double	t0 = mono_seconds();
	char	ebuf[256];
	int	rc, wrote = st->ndirty > 0;

	/* The marks of late samples go first: on disk, a sample never
	 * lacks its mark (a mark without its sample costs a recompute). */
	if ((rc = rollup_marks_write(st, ebuf, sizeof(ebuf))) == 0 &&
	    (rc = store_fault(st, "flush.marks", ebuf, sizeof(ebuf))) == 0 &&
	    (rc = head_flush(st, ebuf, sizeof(ebuf))) == 0)
		/* Commits are atomic as they go; durable from here on,
		   with whatever else was committed since the last flush. */
		rc = kv_sync(st->kv, ebuf, sizeof(ebuf)) < 0 ? -1 : 0;
	pthread_mutex_lock(&st->statlock);
	st->st.flushes++;
	st->st.last_flush_seconds = mono_seconds() - t0;
	if (rc == 0) {
		st->st.last_flush_time = store_now_ms();
		if (wrote)
			store_wrote_locked(st);
	}
	pthread_mutex_unlock(&st->statlock);
	if (rc != 0) {
		store_set_error(st, is_disk_full(ebuf), ebuf);
		if (err != NULL)
			snprintf(err, errlen, "%s", ebuf);
	}
	return rc;
}

int
store_flush(struct store *st, char *err, size_t errlen)
{
	int rc;

	pthread_mutex_lock(&st->wlock);
	rc = store_flush_locked(st, err, errlen);
	pthread_mutex_unlock(&st->wlock);
	return rc;
}

int
store_append_batch_sync(struct store *st, const struct batch *b,
    struct store_append_stats *out, char *err, size_t errlen)
{
	struct store_append_stats	a;
	int				rc;

	memset(&a, 0, sizeof(a));
	pthread_mutex_lock(&st->wlock);
	rc = append_locked(st, b, &a);
	if (rc == -1) {
		pthread_mutex_lock(&st->statlock);
		snprintf(err, errlen, "%s", st->st.last_error);
		pthread_mutex_unlock(&st->statlock);
	}
	if (store_flush_locked(st, rc == -1 ? NULL : err, rc == -1 ? 0 : errlen)
	    != 0)
		rc = -1;
	pthread_mutex_unlock(&st->wlock);
	if (out != NULL)
		*out = a;
	return rc;
}

void
store_stats(struct store *st, struct store_stats *out)
{
	struct kv_info	 ki;
	struct series	*s;
	pthread_mutex_t	*lk;
	size_t		 i;

	pthread_mutex_lock(&st->statlock);
	*out = st->st;
	pthread_mutex_unlock(&st->statlock);
	out->head_chunks = out->head_samples = out->pending_chunks = 0;
	pthread_rwlock_rdlock(&st->ilock);
	out->series = st->idx.count;
	for (i = 0; i < st->idx.nbuckets; i++)
		for (s = st->idx.byid[i]; s != NULL; s = s->inext) {
			lk = store_stripe(st, s->id);
			pthread_mutex_lock(lk);
			if (s->open != NULL) {
				out->head_chunks++;
				out->head_samples += s->open->count;
			}
			out->pending_chunks += s->npending;
			pthread_mutex_unlock(lk);
		}
	pthread_rwlock_unlock(&st->ilock);
	for (i = 0; i < STORE_TIER_COUNT; i++)
		out->rollup_done[i] = st->rollup[i].done;
	kv_info(st->kv, &ki);
	out->bytes_on_disk = ki.file_bytes;
	out->bytes_used = ki.used_bytes;
	out->map_size = ki.map_size;
	out->map_size_max = st->opts.map_size_max;
}

/*
 * The maintenance thread: flush every flush_interval_ms, rollups and
 * retention every maint_interval_ms.  Failures are logged when they start
 * and when they stop, not on every attempt.
 */
static void *
store_thread(void *arg)
{
	struct store	*st = arg;
	struct timespec	 ts;
	int64_t		 now, next_flush, next_maint, next;
	char		 err[256];
	int		 failing = 0, rc;

	now = store_now_ms();
	next_flush = st->opts.flush_interval_ms > 0 ?
	    now + st->opts.flush_interval_ms : INT64_MAX;
	next_maint = st->opts.maint_interval_ms > 0 ?
	    now + st->opts.maint_interval_ms : INT64_MAX;
	pthread_mutex_lock(&st->tlock);
	while (!st->stopping) {
		next = next_flush < next_maint ? next_flush : next_maint;
		ts.tv_sec = next / 1000;
		ts.tv_nsec = (next % 1000) * 1000000;
		pthread_cond_timedwait(&st->tcond, &st->tlock, &ts);
		if (st->stopping)
			break;
		pthread_mutex_unlock(&st->tlock);
		now = store_now_ms();
		rc = 0;
		if (now >= next_flush) {
			rc = store_flush(st, err, sizeof(err));
			next_flush = now + st->opts.flush_interval_ms;
		}
		if (rc == 0 && now >= next_maint) {
			rc = store_rollup_run(st, now, err, sizeof(err));
			if (rc == 0)
				rc = store_retention_run(st, now, err,
				    sizeof(err));
			next_maint = now + st->opts.maint_interval_ms;
		}
		if (rc != 0 && !failing)
			log_warnx("store %s: %s", st->dir, err);
		else if (rc == 0 && failing)
			log_info("store %s: writing again", st->dir);
		failing = rc != 0;
		pthread_mutex_lock(&st->tlock);
	}
	pthread_mutex_unlock(&st->tlock);
	return NULL;
}
