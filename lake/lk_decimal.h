/*
 * lk_decimal — exact decimal text to the unscaled value of a DECIMAL(p,s)
 * column, as lk_batch stores it: an int64 for p <= 18, else 16 bytes of
 * big-endian two's complement (Parquet's FIXED_LEN_BYTE_ARRAY decimal).
 *
 * Accepted: [-+]digits[.digits] (JSON numbers without exponent, numeric
 * strings, CSV fields). Nothing lossy is accepted: a fraction digit beyond
 * the scale that is not 0, or more than p significant digits, is refused
 * (the caller then rescues the text), never rounded. (lk_dec_parse below
 * is the other contract: a CAST's, which rounds HALF_UP.)
 */
#ifndef LK_DECIMAL_H
#define LK_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

#include "lk_batch.h"

/* 0 and the value in *v64 (precision <= 18) or be16 (precision 19..38);
   -1 if s is not an exact DECIMAL(precision, scale) value. */
int lk_decimal_parse(const char *s, size_t n, int precision, int scale, int64_t *v64,
                     unsigned char be16[16]);

/* ---- lk_dec: a column's unscaled value in 128 bits, for exact arithmetic (sql/lk_sql_decimal)
   and Spark's casts ---- */

/* an unscaled decimal value (|v| < 10^38), and a magnitude */
__extension__ typedef __int128 lk_dec;
__extension__ typedef unsigned __int128 lk_udec;

static inline lk_udec lk_dec_abs(lk_dec v)
{
    return v < 0 ? (lk_udec)0 - (lk_udec)v : (lk_udec)v;
}
/* 10^k, k <= 38. */
lk_udec lk_dec_pow10(int k);
/* v as 16 bytes of big-endian two's complement (Parquet's FIXED_LEN_BYTE_ARRAY decimal). */
void lk_dec_to_be16(lk_dec v, unsigned char be[16]);

#define LK_DEC_MAX_PRECISION 38

/* Row i of a DECIMAL column (the value under a null is 0). */
lk_dec lk_dec_read(const lk_col *c, uint32_t i);
/* Writes v into slot i of a DECIMAL column whose values hold at least i + 1 slots. */
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
/* v / 10^scale as Java's BigDecimal.toString writes it (Spark's CAST to STRING): plain, but
   1E-8 / 1.5E-7 / 0E-8 when the exponent of the first digit is below -6. out holds >= 64 bytes;
   returns the length. */
size_t lk_dec_format_java(lk_dec v, int scale, char *out);
/* The nearest double to v / 10^scale. */
double lk_dec_to_double(lk_dec v, int scale);

#endif
