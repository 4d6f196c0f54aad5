/*
 * lk_sql_eval — runs a compiled plan (lk_sql_plan) over a record batch.
 *
 * Every instruction runs once over all n rows, in order: a kernel reads its
 * argument columns and fills its result column. Input registers view the
 * batch's columns in place (a struct field is its child column); constants
 * are filled once, to the largest batch seen; temporaries live in a scratch
 * batch that is reset, not freed, between batches. A row that fails in a
 * kernel is marked in its register's error bitmap, and the marks flow to
 * the registers computed from it, except through a branch a conditional
 * did not take (IF, CASE, COALESCE, AND, OR), so that `on_error` sees the
 * failures Spark's ANSI mode would raise.
 */
#ifndef LK_SQL_EVAL_H
#define LK_SQL_EVAL_H

#include <stdint.h>

#include "lk_batch.h"
#include "lk_error.h"
#include "lk_sql_plan.h"

/* Evaluates every instruction over in (whose schema is the plan's input).
   now_us is current_timestamp(). 0, or an error. */
int lk_sql_eval_run(lk_sql_plan *p, const lk_batch *in, int64_t now_us, lk_error *err);

#endif
