/* lk_buf — growable byte buffer; see lk_buf.h. */
#include "lk_buf.h"

#include "lk_bytes.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void lk_buf_init(lk_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void lk_buf_free(lk_buf *b)
{
    free(b->data);
    lk_buf_init(b);
}

void lk_buf_reset(lk_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void lk_buf_grow(lk_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap < ((size_t)1 << 30) ? cap * 2 : cap + ((size_t)1 << 30);
    char *p = realloc(b->data, cap);
    if (!p) {
        fprintf(stderr, "lakesupd: out of memory growing a buffer to %zu bytes\n", cap);
        abort();
    }
    b->data = p;
    b->cap = cap;
}

void lk_buf_append(lk_buf *b, const void *p, size_t n)
{
    lk_buf_grow(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void lk_buf_puts(lk_buf *b, const char *s)
{
    lk_buf_append(b, s, strlen(s));
}

void lk_buf_putc(lk_buf *b, char c)
{
    lk_buf_grow(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

void lk_buf_printf(lk_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    lk_buf_grow(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void lk_buf_json_string(lk_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    lk_buf_grow(b, n + 2);
    b->data[b->len++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (b->len + 8 >= b->cap)
            lk_buf_grow(b, 8 + (n - i));
        switch (c) {
        case '"': b->data[b->len++] = '\\'; b->data[b->len++] = '"'; break;
        case '\\': b->data[b->len++] = '\\'; b->data[b->len++] = '\\'; break;
        case '\n': b->data[b->len++] = '\\'; b->data[b->len++] = 'n'; break;
        case '\r': b->data[b->len++] = '\\'; b->data[b->len++] = 'r'; break;
        case '\t': b->data[b->len++] = '\\'; b->data[b->len++] = 't'; break;
        case '\b': b->data[b->len++] = '\\'; b->data[b->len++] = 'b'; break;
        case '\f': b->data[b->len++] = '\\'; b->data[b->len++] = 'f'; break;
        default:
            if (c < 0x20) {
                memcpy(b->data + b->len, "\\u00", 4);
                b->len += 4;
                b->data[b->len++] = hex[c >> 4];
                b->data[b->len++] = hex[c & 15];
            } else if (c < 0x80) {
                b->data[b->len++] = (char)c;
            } else {
                /* JSON is UTF-8: a well-formed sequence is copied, any other byte becomes
                   U+FFFD (escaped), so that what we write always parses */
                size_t len = lk_utf8_len((const unsigned char *)s + i,
                                         (const unsigned char *)s + n);
                if (len) {
                    memcpy(b->data + b->len, s + i, len);
                    b->len += len;
                    i += len - 1;
                } else {
                    memcpy(b->data + b->len, "\\ufffd", 6);
                    b->len += 6;
                }
            }
        }
    }
    lk_buf_grow(b, 1);
    b->data[b->len++] = '"';
    b->data[b->len] = '\0';
}

char *lk_buf_detach(lk_buf *b, size_t *len)
{
    if (!b->data)
        lk_buf_grow(b, 0), b->data[0] = '\0';
    char *p = b->data;
    if (len)
        *len = b->len;
    lk_buf_init(b);
    return p;
}

void lk_buf_number(lk_buf *b, double x, int is_float)
{
    char s[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, x);
        double back = strtod(s, NULL);
        if (is_float ? (float)back == (float)x : back == x)
            break;
    }
    lk_buf_puts(b, s);
}

/* Writes digits (no sign) with scale digits after the point. */
static void put_scaled(lk_buf *b, int neg, const char *digits, int scale)
{
    int len = (int)strlen(digits);
    if (neg)
        lk_buf_putc(b, '-');
    if (scale <= 0) {
        lk_buf_puts(b, digits);
    } else if (len <= scale) {
        lk_buf_puts(b, "0.");
        for (int k = len; k < scale; k++)
            lk_buf_putc(b, '0');
        lk_buf_puts(b, digits);
    } else {
        lk_buf_append(b, digits, (size_t)(len - scale));
        lk_buf_putc(b, '.');
        lk_buf_puts(b, digits + len - scale);
    }
}

void lk_buf_decimal_i64(lk_buf *b, int64_t unscaled, int scale)
{
    char digits[32];
    uint64_t u = unscaled < 0 ? (uint64_t)0 - (uint64_t)unscaled : (uint64_t)unscaled;
    snprintf(digits, sizeof digits, "%" PRIu64, u);
    put_scaled(b, unscaled < 0, digits, scale);
}

void lk_buf_decimal_be(lk_buf *b, const unsigned char *be, size_t n, int scale)
{
    /* GCC/Clang __int128 for 38-digit arithmetic */
    unsigned __int128 u = 0;
    for (size_t k = 0; k < 16 && k < n; k++)
        u = (u << 8) | be[k];
    int neg = n > 0 && (be[0] & 0x80);
    if (neg) {
        if (n < 16)
            u |= ~(unsigned __int128)0 << (8 * n); /* sign-extend */
        u = ~u + 1;
    }
    char tmp[48], digits[48];
    int k = 0;
    do {
        tmp[k++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    for (int i = 0; i < k; i++)
        digits[i] = tmp[k - 1 - i];
    digits[k] = 0;
    put_scaled(b, neg, digits, scale);
}
