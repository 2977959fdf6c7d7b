/*
 * meta: format record and named values of the META database (meta.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "keys.h"
#include "kv.h"
#include "meta.h"
#include "store_int.h"

void
meta_format_record(uint8_t out[META_FORMAT_LEN], uint32_t version)
{
	memcpy(out, STORE_FORMAT_MAGIC, sizeof(STORE_FORMAT_MAGIC));
	out[14] = (uint8_t)(version >> 24);
	out[15] = (uint8_t)(version >> 16);
	out[16] = (uint8_t)(version >> 8);
	out[17] = (uint8_t)version;
}

static int
meta_init(struct kv_txn *txn, void *arg)
{
	uint8_t rec[META_FORMAT_LEN];

	(void)arg;
	meta_format_record(rec, STORE_FORMAT_VERSION);
	return kv_put(txn, KV_DB_META, META_FORMAT_KEY,
	    strlen(META_FORMAT_KEY), rec, sizeof(rec));
}

static int
db_empty(struct kv_txn *txn, enum kv_db db)
{
	struct kv_cursor	*cur;
	struct kv_val		 k, v;
	int			 rc;

	if (kv_cursor_open(txn, db, &cur) < 0)
		return 0;
	rc = kv_cursor_get(cur, KV_FIRST, &k, &v);
	kv_cursor_close(cur);
	return rc == KV_NOTFOUND;
}

int
meta_check(struct kv *kv, const char *dir, char *err, size_t errlen)
{
	struct kv_txn	*txn;
	struct kv_val	 v;
	const uint8_t	*p;
	uint32_t	 version;
	int		 rc, empty;

	if (kv_read_begin(kv, &txn, err, errlen) < 0)
		return -1;
	rc = kv_get(txn, KV_DB_META, META_FORMAT_KEY, strlen(META_FORMAT_KEY),
	    &v);
	if (rc == 0) {
		p = v.data;
		if (v.len != META_FORMAT_LEN ||
		    memcmp(p, STORE_FORMAT_MAGIC, 14) != 0) {
			snprintf(err, errlen, "%s: not a monitord store "
			    "(bad format record)", dir);
			rc = -1;
		} else {
			version = (uint32_t)p[14] << 24 |
			    (uint32_t)p[15] << 16 | (uint32_t)p[16] << 8 | p[17];
			if (version != STORE_FORMAT_VERSION) {
				snprintf(err, errlen, "%s: storage format "
				    "version %u is not supported (this "
				    "monitord reads version %d)", dir, version,
				    STORE_FORMAT_VERSION);
				rc = -1;
			}
		}
		kv_read_end(txn);
		return rc;
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", dir, kv_txn_error(txn));
		kv_read_end(txn);
		return -1;
	}
	empty = db_empty(txn, KV_DB_POSTINGS) && db_empty(txn, KV_DB_CHUNKS);
	kv_read_end(txn);
	if (!empty) {
		snprintf(err, errlen, "%s: not a monitord store (no format "
		    "record)", dir);
		return -1;
	}
	return kv_write(kv, meta_init, NULL, err, errlen) < 0 ? -1 : 0;
}

int
meta_get_raw(struct kv_txn *txn, const char *key, void *out, size_t len)
{
	struct kv_val	v;
	int		rc;

	rc = kv_get(txn, KV_DB_META, key, strlen(key), &v);
	if (rc != 0)
		return rc;
	if (v.len != len)
		return KV_NOTFOUND;
	memcpy(out, v.data, len);
	return 0;
}

int
meta_put_raw(struct kv_txn *txn, const char *key, const void *val,
    size_t len)
{
	return kv_put(txn, KV_DB_META, key, strlen(key), val, len);
}

int
meta_get_i64(struct kv_txn *txn, const char *key, int64_t *out)
{
	uint8_t	b[8];
	int	rc;

	if ((rc = meta_get_raw(txn, key, b, sizeof(b))) == 0)
		*out = (int64_t)key_get64(b);
	return rc;
}

int
meta_put_i64(struct kv_txn *txn, const char *key, int64_t v)
{
	uint8_t b[8];

	key_put64(b, (uint64_t)v);
	return meta_put_raw(txn, key, b, sizeof(b));
}
