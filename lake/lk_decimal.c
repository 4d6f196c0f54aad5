/* lk_decimal — exact decimal text to an unscaled DECIMAL(p,s) value; see lk_decimal.h. */
#include "lk_decimal.h"

/* 38 digits need 127 bits: unsigned __int128 (GCC and Clang on every 64-bit
   target Debian builds lakesupd for) keeps this a plain multiply-add. */
__extension__ typedef unsigned __int128 u128;

int lk_decimal_parse(const char *s, size_t n, int precision, int scale, int64_t *v64,
                     unsigned char be16[16])
{
    if (precision < 1 || precision > 38 || scale < 0 || scale > precision)
        return -1;
    size_t i = 0;
    int neg = 0, digits = 0, frac = 0, seen = 0;
    u128 v = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, seen++) {
        if (v == 0 && s[i] == '0')
            continue; /* leading zeros are not significant */
        if (++digits > precision)
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (i < n && s[i] == '.') {
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, seen++) {
            if (frac == scale) {
                if (s[i] != '0')
                    return -1; /* more fraction digits than the scale holds */
                continue;
            }
            frac++;
            if (v || s[i] != '0')
                digits++;
            if (digits > precision)
                return -1;
            v = v * 10 + (unsigned)(s[i] - '0');
        }
    }
    if (i != n || !seen)
        return -1;
    for (; frac < scale; frac++) {
        if (v)
            digits++;
        if (digits > precision)
            return -1;
        v *= 10;
    }
    /* |v| < 10^38 < 2^127: the negation fits */
    if (neg)
        v = ~v + 1;
    if (precision <= 18) {
        if (v64)
            *v64 = (int64_t)(uint64_t)v;
        return 0;
    }
    if (be16)
        for (int k = 15; k >= 0; k--, v >>= 8)
            be16[k] = (unsigned char)(v & 0xff);
    return 0;
}
