/*
 * meta: the META database: the format record checked at open, and small
 * named values (counters, watermarks) stored big-endian.
 *
 * The format record is the 14 bytes "monitord tsdb\0" followed by the
 * format version as a 32-bit big-endian number.  A store without one is
 * given one if it is empty; otherwise opening fails, as it does on an
 * unknown version, so that an older monitord never misreads a newer file.
 */
#ifndef MONITORD_META_H
#define MONITORD_META_H

#include <stddef.h>
#include <stdint.h>

struct kv;
struct kv_txn;

#define META_FORMAT_KEY		"format"
#define META_FORMAT_LEN		18

int	meta_check(struct kv *, const char *dir, char *err, size_t errlen);
/* The format record of VERSION, for writers (and tests of old formats). */
void	meta_format_record(uint8_t out[META_FORMAT_LEN], uint32_t version);
/* 0, KV_NOTFOUND, or a KV_E* code. */
int	meta_get_i64(struct kv_txn *, const char *key, int64_t *out);
int	meta_put_i64(struct kv_txn *, const char *key, int64_t);
int	meta_get_raw(struct kv_txn *, const char *key, void *out, size_t len);
int	meta_put_raw(struct kv_txn *, const char *key, const void *, size_t);

#endif
