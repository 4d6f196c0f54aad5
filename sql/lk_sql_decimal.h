/*
 * lk_sql_decimal — Spark's DECIMAL arithmetic, exact.
 *
 * A value is the unscaled integer lk_batch stores (an int64 for precision
 * <= 18, 16 bytes of big-endian two's complement above), read into 128
 * bits; a product, a quotient or an operand brought to a common scale that
 * needs more is computed in 256. Results are rounded HALF_UP to the result
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
#include "lk_sql_func.h"

/* an unscaled decimal value (|v| < 10^38) */
__extension__ typedef __int128 lk_dec;

#define LK_DEC_MAX_PRECISION 38

/* Row i of a DECIMAL column (the value under a null is 0). */
lk_dec lk_dec_read(const lk_col *c, uint32_t i);
/* Writes v into slot i of a DECIMAL output column whose n slots exist (lk_sql_out_fixed). */
void lk_dec_write(lk_col *c, uint32_t i, lk_dec v);
/* Appends v to a DECIMAL column (lk_col_append_i64 or the 16 bytes). */
void lk_dec_append(lk_col *c, lk_dec v);
/* 1 when |v| < 10^p. */
int lk_dec_fits(lk_dec v, int p);
/* v at scale from, brought to scale to (HALF_UP when to < from); 0, or -1 when it does not fit
   in 128 bits. */
int lk_dec_rescale(lk_dec v, int from, int to, lk_dec *out);
/* Text as Spark casts a string to a decimal of scale `scale`: surrounding white space, a sign,
   digits with an optional point, an optional exponent (1.5e3); HALF_UP to the scale. 0, or -1
   when it is not a number or needs more than 38 digits. The caller checks the precision. */
int lk_dec_parse(const char *s, size_t n, int scale, lk_dec *out);
/* A double as Spark casts it (through its shortest decimal text, Java's Double.toString);
   -1 for NaN, infinities and values beyond 38 digits. */
int lk_dec_from_double(double d, int scale, lk_dec *out);
/* v / 10^scale as Java's BigDecimal.toString writes it (Spark's CAST to STRING): plain, but
   1E-8 / 1.5E-7 / 0E-8 when the exponent of the first digit is below -6. out holds >= 64 bytes;
   returns the length. */
size_t lk_dec_format_java(lk_dec v, int scale, char *out);
/* The nearest double to v / 10^scale. */
double lk_dec_to_double(lk_dec v, int scale);

/* The kernel of an arithmetic call whose result (or, for DIV with two decimals and `div`, whose
   arguments) is DECIMAL: + - * / % div, negative, abs, round, floor, ceil. NULL if node is not
   one. */
lk_sql_kernel lk_sql_decimal_kernel(const lk_sql_node *node);

#endif
