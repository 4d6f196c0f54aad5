/* Byte-range helpers for hot loops, and lk_xrealloc / lk_strdup (header only). */
#ifndef LK_BYTES_H
#define LK_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a[0..n) == b[0..n) with fixed-size loads for the short values that dominate dictionary
   columns and JSON keys (4..16 bytes: two overlapping loads instead of a memcmp call). */
static inline int lk_bytes_eq(const void *a_, const void *b_, size_t n)
{
    const char *a = a_, *b = b_;
    if (n >= 8 && n <= 16) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y) return 0;
        memcpy(&x, a + n - 8, 8);
        memcpy(&y, b + n - 8, 8);
        return x == y;
    }
    if (n >= 4 && n < 8) {
        uint32_t p, q;
        memcpy(&p, a, 4);
        memcpy(&q, b, 4);
        if (p != q) return 0;
        memcpy(&p, a + n - 4, 4);
        memcpy(&q, b + n - 4, 4);
        return p == q;
    }
    return !memcmp(a, b, n);
}

/* How many leading bytes a[0..n) and b[0..n) share: 8 at a time, the first differing byte found
   from the XOR of two words (DELTA_BYTE_ARRAY's prefixes: sorted ids share long ones). */
static inline size_t lk_bytes_common_prefix(const void *a_, const void *b_, size_t n)
{
    const unsigned char *a = a_, *b = b_;
    size_t k = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; k + 8 <= n; k += 8) {
        uint64_t x, y;
        memcpy(&x, a + k, 8);
        memcpy(&y, b + k, 8);
        if (x != y) return k + (size_t)(__builtin_ctzll(x ^ y) >> 3);
    }
#endif
    while (k < n && a[k] == b[k])
        k++;
    return k;
}

/* Length of the well-formed UTF-8 sequence at p (lead byte >= 0x80; end bounds it), 0 if it is
   not one (overlong, surrogate, above U+10FFFF, truncated). */
static inline size_t lk_utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned b = p[0];
    size_t n = (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (!n || (size_t)(end - p) < n) return 0;
    for (size_t k = 1; k < n; k++)
        if ((p[k] & 0xc0) != 0x80) return 0;
    if (n == 2) return b >= 0xc2 ? 2 : 0;
    if (n == 3) {
        unsigned cp = (b & 15) << 12 | (unsigned)(p[1] & 63) << 6 | (p[2] & 63);
        return cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff) ? 3 : 0;
    }
    unsigned cp =
        (b & 7) << 18 | (unsigned)(p[1] & 63) << 12 | (unsigned)(p[2] & 63) << 6 | (p[3] & 63);
    return cp >= 0x10000 && cp <= 0x10ffff ? 4 : 0;
}

/* 1 when every byte of s[0..n) is ASCII or part of a well-formed UTF-8 sequence (lk_utf8_len:
   no overlong form, surrogate or code point above U+10FFFF, which yajl lets through). */
static inline int lk_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + n;
    while (p < e) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        size_t k = lk_utf8_len(p, e);
        if (!k) return 0;
        p += k;
    }
    return 1;
}

/* realloc that never fails: aborts naming the size when out of memory (as every allocation in
   lake/ does); n 0 is one byte, so that the result is never NULL. */
static inline void *lk_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "lakesupd: out of memory (%zu bytes)\n", n);
        abort();
    }
    return q;
}

/* strdup that never fails: aborts when out of memory (as every allocation in lake/ does) and
   copies NULL as "" so that optional strings need no test. */
static inline char *lk_strdup(const char *s)
{
    char *p = strdup(s ? s : "");
    if (!p) abort();
    return p;
}

#endif
