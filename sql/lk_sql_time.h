/*
 * lk_sql_time — date and time functions, with Spark's datetime patterns
 * (yyyy MM dd HH mm ss SSS a E MMM X 'text' ...) compiled once per
 * instruction. The session time zone is UTC: to_timestamp of a text
 * without an offset reads it as UTC, date_format prints UTC.
 */
#ifndef LK_SQL_TIME_H
#define LK_SQL_TIME_H

#include "lk_error.h"
#include "lk_sql_func.h"

int lk_sql_time_kernel(const lk_sql_node *node, const char *text, lk_sql_kernel *k, void **aux,
                       void (**aux_free)(void *), lk_error *err);

#endif
