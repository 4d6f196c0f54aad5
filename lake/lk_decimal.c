/* lk_decimal — decimal text to unscaled DECIMAL(p,s) values, exact (ingest) or rounded (a cast), and
   the 128-bit lk_dec helpers of the expression engine; see lk_decimal.h. */
#include "lk_decimal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 38 digits need 127 bits: unsigned __int128 (GCC and Clang on every 64-bit
   target Debian builds lakesupd for) keeps this a plain multiply-add. */
typedef lk_udec u128;

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
    if (be16) lk_dec_to_be16((lk_dec)v, be16);
    return 0;
}

/* ---- lk_dec: unscaled values of a column, exact arithmetic helpers ---- */

lk_udec lk_dec_pow10(int k)
{
    lk_udec p = 1;
    while (k-- > 0)
        p *= 10;
    return p;
}

void lk_dec_to_be16(lk_dec v, unsigned char be[16])
{
    lk_udec x = (lk_udec)v;
    for (int b = 15; b >= 0; b--, x >>= 8)
        be[b] = (unsigned char)(x & 0xff);
}

lk_dec lk_dec_read(const lk_col *c, uint32_t i)
{
    if (c->field->precision <= 18) return ((const int64_t *)c->values)[i];
    const unsigned char *be = (const unsigned char *)c->values + (size_t)i * 16;
    u128 x = 0;
    for (int k = 0; k < 16; k++)
        x = (x << 8) | be[k];
    return (lk_dec)x;
}

void lk_dec_write(lk_col *c, uint32_t i, lk_dec v)
{
    if (c->field->precision <= 18) {
        ((int64_t *)c->values)[i] = (int64_t)v;
        return;
    }
    lk_dec_to_be16(v, (unsigned char *)c->values + (size_t)i * 16);
}

void lk_dec_append(lk_col *c, lk_dec v)
{
    if (c->field->precision <= 18) {
        lk_col_append_i64(c, (int64_t)v);
        return;
    }
    unsigned char be[16];
    lk_dec_to_be16(v, be);
    lk_col_append_fixed(c, be);
}


int lk_dec_fits(lk_dec v, int p)
{
    return p >= 39 || lk_dec_abs(v) < lk_dec_pow10(p);
}

/* |v| / 10^k rounded HALF_UP (away from zero at a half), k >= 0 */
static lk_dec div_pow10_half_up(lk_dec v, int k)
{
    if (k == 0) return v;
    if (k > 38) return 0; /* |v| < 1.7e38 < 10^39 / 2 */
    u128 m = lk_dec_abs(v), p = lk_dec_pow10(k), q = m / p, r = m % p;
    if (r >= p - r) q++; /* r >= p / 2 without overflow */
    return v < 0 ? -(lk_dec)q : (lk_dec)q;
}

/* v * 10^k; -1 on overflow of 128 bits */
static int mul_pow10(lk_dec v, int k, lk_dec *out)
{
    lk_dec x = v;
    for (int i = 0; i < k; i++)
        if (__builtin_mul_overflow(x, (lk_dec)10, &x)) return -1;
    *out = x;
    return 0;
}

int lk_dec_rescale(lk_dec v, int from, int to, lk_dec *out)
{
    if (to >= from) return mul_pow10(v, to - from, out);
    *out = div_pow10_half_up(v, from - to);
    return 0;
}

/* ---- text and doubles ---- */

static int is_space(char c)
{
    return (unsigned char)c <= ' ';
}

int lk_dec_parse(const char *s, size_t n, int scale, lk_dec *out)
{
    size_t i = 0;
    while (n && is_space(s[n - 1]))
        n--;
    while (i < n && is_space(s[i]))
        i++;
    int neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    /* the significant digits [d0, d1) (the point skipped), their count, the fraction digits */
    size_t d0 = n, ndig = 0, before = i;
    long frac = 0;
    int dot = 0, any = 0;
    for (; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (dot) return -1;
            dot = 1;
            continue;
        }
        if (c < '0' || c > '9') break;
        any = 1;
        if (dot) frac++;
        if (d0 == n && c == '0') continue; /* a leading zero */
        if (d0 == n) d0 = i;
        ndig++;
    }
    if (!any || i == before) return -1;
    long exp = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int eneg = 0;
        if (i < n && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
        if (i == n) return -1;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (exp < 100000) exp = exp * 10 + (s[i] - '0');
        exp = eneg ? -exp : exp;
    }
    if (i != n) return -1;
    if (!ndig) {
        *out = 0;
        return 0;
    }
    /* value = digits * 10^(exp - frac); at scale `scale`: digits * 10^shift */
    long shift = (long)scale + exp - frac;
    long keep = (long)ndig + shift; /* digits of the result before rounding */
    if (keep > 38) return -1;
    lk_dec v = 0;
    long taken = 0;
    int round_up = 0;
    for (size_t k = d0; k < n && taken < (long)ndig; k++) {
        char c = s[k];
        if (c == '.') continue;
        if (c < '0' || c > '9') break;
        if (taken < keep)
            v = v * 10 + (c - '0');
        else if (taken == keep)
            round_up = c >= '5';
        taken++;
    }
    for (long k = 0; k < shift; k++)
        v *= 10; /* keep <= 38 digits: no overflow */
    if (round_up) v++;
    if (!lk_dec_fits(v, 38)) return -1;
    *out = neg ? -v : v;
    return 0;
}

/* The decimal digits of m, written backwards into t[0..47]; returns the first (t[47] is 0). */
static char *digits_of(lk_udec m, char t[48])
{
    char *p = t + 47;
    *p = 0;
    do {
        *--p = (char)('0' + (int)(m % 10));
        m /= 10;
    } while (m);
    return p;
}

double lk_dec_to_double(lk_dec v, int scale)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    lk_udec m = lk_dec_abs(v);
    if (m < ((lk_udec)1 << 53) && scale <= 22) /* one correctly rounded division */
        return (v < 0 ? -(double)m : (double)m) / p10[scale];
    char t[48], *p = digits_of(m, t);
    char b[96];
    snprintf(b, sizeof b, "%s%se-%d", v < 0 ? "-" : "", p, scale);
    return strtod(b, NULL);
}

size_t lk_dec_format_java(lk_dec v, int scale, char *out)
{
    char t[48], *p = digits_of(lk_dec_abs(v), t);
    int nd = (int)(t + 47 - p), adjusted = nd - 1 - scale;
    size_t o = 0;
    if (v < 0) out[o++] = '-';
    if (adjusted >= -6) { /* plain */
        if (scale == 0) {
            memcpy(out + o, p, (size_t)nd);
            o += (size_t)nd;
        } else if (nd > scale) {
            memcpy(out + o, p, (size_t)(nd - scale));
            o += (size_t)(nd - scale);
            out[o++] = '.';
            memcpy(out + o, p + nd - scale, (size_t)scale);
            o += (size_t)scale;
        } else {
            out[o++] = '0';
            out[o++] = '.';
            for (int z = nd; z < scale; z++)
                out[o++] = '0';
            memcpy(out + o, p, (size_t)nd);
            o += (size_t)nd;
        }
    } else { /* 1.5E-7: one digit, the rest after a point, the exponent */
        out[o++] = p[0];
        if (nd > 1) {
            out[o++] = '.';
            memcpy(out + o, p + 1, (size_t)(nd - 1));
            o += (size_t)(nd - 1);
        }
        o += (size_t)sprintf(out + o, "E%d", adjusted);
    }
    out[o] = 0;
    return o;
}

