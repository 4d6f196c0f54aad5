/* Byte-range helpers for hot loops (header only). */
#ifndef LK_BYTES_H
#define LK_BYTES_H

#include <stddef.h>
#include <stdint.h>
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
        if (x != y)
            return 0;
        memcpy(&x, a + n - 8, 8);
        memcpy(&y, b + n - 8, 8);
        return x == y;
    }
    if (n >= 4 && n < 8) {
        uint32_t p, q;
        memcpy(&p, a, 4);
        memcpy(&q, b, 4);
        if (p != q)
            return 0;
        memcpy(&p, a + n - 4, 4);
        memcpy(&q, b + n - 4, 4);
        return p == q;
    }
    return !memcmp(a, b, n);
}

#endif
