/*
 * lk_buf — the one growable byte buffer of lakesupd (after git's strbuf).
 *
 * The struct is public so that hot loops can append without a call; the
 * invariant is len < cap whenever data != NULL, and data[len] == '\0' after
 * every string append, so data can be used as a C string. A buffer is reused
 * across batches with lk_buf_reset(), which keeps its memory.
 */
#ifndef LK_BUF_H
#define LK_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct lk_buf {
    char *data;
    size_t len;
    size_t cap;
} lk_buf;

#define LK_BUF_INIT {NULL, 0, 0}

void lk_buf_init(lk_buf *b);
void lk_buf_free(lk_buf *b);
/* Keeps the memory, forgets the content. */
void lk_buf_reset(lk_buf *b);
/* Makes room for at least extra more bytes (plus a NUL). Aborts on OOM. */
void lk_buf_grow(lk_buf *b, size_t extra);
void lk_buf_append(lk_buf *b, const void *p, size_t n);
void lk_buf_puts(lk_buf *b, const char *s);
void lk_buf_putc(lk_buf *b, char c);
void lk_buf_printf(lk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s (n bytes) as a JSON string literal with quotes and escapes. The literal is
   always valid UTF-8 JSON: a byte that is not part of well-formed UTF-8 is written as
   \ufffd (U+FFFD), as every JSON writer must. */
void lk_buf_json_string(lk_buf *b, const char *s, size_t n);
/* Appends x as the shortest decimal text that reads back as the same
   double (or float, when is_float): 0.1, not 0.10000000000000001. Finite
   values only; callers decide how NaN and infinities are written. */
void lk_buf_number(lk_buf *b, double x, int is_float);
/* Appends an exact decimal: unscaled value with scale digits after the
   point. From int64, or from n <= 16 bytes of big-endian two's complement. */
void lk_buf_decimal_i64(lk_buf *b, int64_t unscaled, int scale);
void lk_buf_decimal_be(lk_buf *b, const unsigned char *be, size_t n, int scale);
/* Takes the data out of b (caller frees); b is left empty. */
char *lk_buf_detach(lk_buf *b, size_t *len);

static inline void lk_buf_append_fast(lk_buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap)
        lk_buf_grow(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

#endif
