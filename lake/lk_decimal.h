/*
 * lk_decimal — exact decimal text to the unscaled value of a DECIMAL(p,s)
 * column, as lk_batch stores it: an int64 for p <= 18, else 16 bytes of
 * big-endian two's complement (Parquet's FIXED_LEN_BYTE_ARRAY decimal).
 *
 * Accepted: [-+]digits[.digits] (JSON numbers without exponent, numeric
 * strings, CSV fields). Nothing lossy is accepted: a fraction digit beyond
 * the scale that is not 0, or more than p significant digits, is refused
 * (the caller then rescues the text), never rounded.
 */
#ifndef LK_DECIMAL_H
#define LK_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

/* 0 and the value in *v64 (precision <= 18) or be16 (precision 19..38);
   -1 if s is not an exact DECIMAL(precision, scale) value. */
int lk_decimal_parse(const char *s, size_t n, int precision, int scale, int64_t *v64,
                     unsigned char be16[16]);

#endif
