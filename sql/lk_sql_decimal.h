/*
 * lk_sql_decimal — Spark's DECIMAL arithmetic, exact: the kernels.
 *
 * A value is the unscaled integer lk_batch stores, read into 128 bits
 * (lake/lk_decimal: lk_dec); a product, a quotient or an operand brought
 * to a common scale that needs more is computed in 256. Results are rounded HALF_UP to the result
 * scale, as java.math.BigDecimal does for Spark, and a result beyond its
 * precision is null (Spark without ANSI mode), as is a division by zero
 * (marked failed for `on_error`).
 *
 * The result types are the checker's (lk_sql_check: Spark's
 * DecimalPrecision rules); a kernel reads each argument's precision and
 * scale from its column, so the arguments may differ in both.
 */
#ifndef LK_SQL_DECIMAL_H
#define LK_SQL_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

#include "lk_batch.h"
#include "lk_decimal.h"
#include "lk_sql_func.h"

/* The kernel of an arithmetic call over decimals in *k: + - * / % div, negative, abs, round, floor,
   ceil whose result (for div, whose arguments) is DECIMAL; NULL for any other node. An arithmetic
   node of DECIMAL type whose arguments are not decimals is an internal error (the checker casts
   them): the other kernels would read them as doubles. 0 or LK_EFORMAT. */
int lk_sql_decimal_kernel(const lk_sql_node *node, lk_sql_kernel *k, lk_error *err);

/* v (at scale s) / n as Spark's Average of decimals divides (windowed avg): the quotient at scale
   38, HALF_UP, then brought to scale to (<= 38), HALF_UP (the two roundings can differ from one),
   exact through 256 bits. n > 0. 0, or -1 when the result does not fit in 128 bits (the caller
   checks the precision). */
int lk_sql_dec_avg(lk_dec v, int s, int64_t n, int to, lk_dec *out);

#endif
