/*
 * lk_sql_json — get_json_object(json, '$.a.b[0]', '$.items[*].price') and
 * from_json(json, 'a INT, b STRING') over a small JSON scanner that
 * allocates nothing per row: the path and the declared struct are compiled
 * once. As Spark: get_json_object returns a string value unescaped and any
 * other value as compact JSON text, the matches of a [*] as Spark's
 * GetJsonObject writes them, null for a missing path or malformed JSON
 * (marked failed); from_json fills the declared scalar fields by key, a
 * value that does not fit its field is null, malformed JSON a null struct.
 */
#ifndef LK_SQL_JSON_H
#define LK_SQL_JSON_H

#include "lk_error.h"
#include "lk_sql_func.h"

int lk_sql_json_kernel(const lk_sql_node *node, const char *text, lk_sql_kernel *k, void **aux,
                       void (**aux_free)(void *), lk_error *err);

#endif
