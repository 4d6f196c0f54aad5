/*
 * lk_sql_hash — sha2(x, bits), sha1(x) and md5(x) as lower-case hex, through
 * Nettle (Debian's nettle-dev): no hand-written digest. sha2's bit length
 * is 224, 256 (or 0), 384 or 512; another gives null, as Spark.
 */
#ifndef LK_SQL_HASH_H
#define LK_SQL_HASH_H

#include "lk_error.h"
#include "lk_sql_func.h"

int lk_sql_hash_kernel(const lk_sql_node *node, const char *text, lk_sql_kernel *k, void **aux,
                       void (**aux_free)(void *), lk_error *err);

#endif
