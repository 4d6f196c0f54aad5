/* lk_buf — growable byte buffer; see lk_buf.h. */
#include "lk_buf.h"

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
            } else {
                b->data[b->len++] = (char)c;
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
