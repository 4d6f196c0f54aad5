/*
 * lk_json — the two yajl tree helpers every JSON reader here needs: find a
 * key in an object, and write a parsed value back as compact JSON (for
 * pass-through objects such as Delta's partitionValues or field metadata).
 */
#ifndef LK_JSON_H
#define LK_JSON_H

#include <yajl/yajl_tree.h>

#include "lk_buf.h"

/* The value of key in object o, or NULL (also when o is not an object). */
yajl_val lk_json_get(yajl_val o, const char *key);
/* Appends v as compact JSON (NULL as null). */
void lk_json_text(yajl_val v, lk_buf *out);

#endif
