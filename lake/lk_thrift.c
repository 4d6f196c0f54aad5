/* lk_thrift — Thrift compact protocol; see lk_thrift.h. */
#include "lk_thrift.h"

#include <string.h>

static void varint(lk_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    int n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    lk_buf_append(b, tmp, (size_t)n);
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

void lk_thrift_writer_init(lk_thrift_writer *w, lk_buf *out)
{
    w->out = out;
    w->depth = 0;
    w->last[0] = 0;
}

void lk_thrift_struct_begin(lk_thrift_writer *w)
{
    if (w->depth + 1 < LK_THRIFT_MAX_DEPTH)
        w->last[++w->depth] = 0;
}

void lk_thrift_struct_end(lk_thrift_writer *w)
{
    lk_buf_putc(w->out, 0);
    if (w->depth > 0)
        w->depth--;
}

void lk_thrift_field(lk_thrift_writer *w, int16_t id, int type)
{
    int16_t delta = (int16_t)(id - w->last[w->depth]);
    if (delta > 0 && delta <= 15) {
        lk_buf_putc(w->out, (char)((delta << 4) | type));
    } else {
        lk_buf_putc(w->out, (char)type);
        varint(w->out, zigzag(id));
    }
    w->last[w->depth] = id;
}

void lk_thrift_i32(lk_thrift_writer *w, int32_t v)
{
    varint(w->out, zigzag(v));
}

void lk_thrift_field_i32(lk_thrift_writer *w, int16_t id, int32_t v)
{
    lk_thrift_field(w, id, LK_TT_I32);
    varint(w->out, zigzag(v));
}

void lk_thrift_field_i64(lk_thrift_writer *w, int16_t id, int64_t v)
{
    lk_thrift_field(w, id, LK_TT_I64);
    varint(w->out, zigzag(v));
}

void lk_thrift_field_bool(lk_thrift_writer *w, int16_t id, int v)
{
    lk_thrift_field(w, id, v ? LK_TT_TRUE : LK_TT_FALSE);
}

void lk_thrift_binary(lk_thrift_writer *w, const void *p, size_t n)
{
    varint(w->out, n);
    lk_buf_append(w->out, p, n);
}

void lk_thrift_field_binary(lk_thrift_writer *w, int16_t id, const void *p, size_t n)
{
    lk_thrift_field(w, id, LK_TT_BINARY);
    lk_thrift_binary(w, p, n);
}

void lk_thrift_field_list(lk_thrift_writer *w, int16_t id, int elem_type, uint32_t n)
{
    lk_thrift_field(w, id, LK_TT_LIST);
    if (n < 15) {
        lk_buf_putc(w->out, (char)((n << 4) | (uint32_t)elem_type));
    } else {
        lk_buf_putc(w->out, (char)(0xf0 | elem_type));
        varint(w->out, n);
    }
}

/* ---- reader ---- */

void lk_thrift_reader_init(lk_thrift_reader *r, const void *p, size_t n)
{
    r->start = r->p = p;
    r->end = r->p + n;
    r->depth = 0;
    r->last[0] = 0;
    r->err = 0;
}

static uint64_t rvarint(lk_thrift_reader *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            r->err = 1;
            return 0;
        }
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->err = 1;
    return 0;
}

static int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

int lk_thrift_read_field(lk_thrift_reader *r, int16_t *id, int *type)
{
    if (r->err || r->p >= r->end) {
        r->err = 1;
        *type = LK_TT_STOP;
        return -1;
    }
    uint8_t b = *r->p++;
    *type = b & 15;
    if (*type == LK_TT_STOP)
        return 0;
    int delta = b >> 4;
    if (delta)
        *id = (int16_t)(r->last[r->depth] + delta);
    else
        *id = (int16_t)unzigzag(rvarint(r));
    r->last[r->depth] = *id;
    return r->err ? -1 : 0;
}

void lk_thrift_read_struct_begin(lk_thrift_reader *r)
{
    if (r->depth + 1 >= LK_THRIFT_MAX_DEPTH) {
        r->err = 1;
        return;
    }
    r->last[++r->depth] = 0;
}

void lk_thrift_read_struct_end(lk_thrift_reader *r)
{
    if (r->depth > 0)
        r->depth--;
}

int32_t lk_thrift_read_i32(lk_thrift_reader *r)
{
    return (int32_t)unzigzag(rvarint(r));
}

int64_t lk_thrift_read_i64(lk_thrift_reader *r)
{
    return unzigzag(rvarint(r));
}

double lk_thrift_read_double(lk_thrift_reader *r)
{
    double d = 0;
    if (r->end - r->p < 8) {
        r->err = 1;
        return 0;
    }
    memcpy(&d, r->p, 8);
    r->p += 8;
    return d;
}

const uint8_t *lk_thrift_read_binary(lk_thrift_reader *r, size_t *n)
{
    uint64_t len = rvarint(r);
    if (r->err || len > (uint64_t)(r->end - r->p)) {
        r->err = 1;
        *n = 0;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += len;
    *n = (size_t)len;
    return p;
}

uint32_t lk_thrift_read_list(lk_thrift_reader *r, int *elem_type)
{
    if (r->p >= r->end) {
        r->err = 1;
        return 0;
    }
    uint8_t b = *r->p++;
    *elem_type = b & 15;
    uint64_t n = b >> 4;
    if (n == 15)
        n = rvarint(r);
    /* every element takes at least one byte (bools in lists too) */
    if (r->err || n > (uint64_t)(r->end - r->p)) {
        r->err = 1;
        return 0;
    }
    return (uint32_t)n;
}

int lk_thrift_read_bool_elem(lk_thrift_reader *r)
{
    if (r->p >= r->end) {
        r->err = 1;
        return 0;
    }
    return *r->p++ == 1;
}

size_t lk_thrift_offset(const lk_thrift_reader *r)
{
    return (size_t)(r->p - r->start);
}

void lk_thrift_skip(lk_thrift_reader *r, int type)
{
    if (r->err)
        return;
    switch (type) {
    case LK_TT_TRUE:
    case LK_TT_FALSE: break;
    case LK_TT_BYTE:
        if (r->p >= r->end)
            r->err = 1;
        else
            r->p++;
        break;
    case LK_TT_I16:
    case LK_TT_I32:
    case LK_TT_I64: rvarint(r); break;
    case LK_TT_DOUBLE: lk_thrift_read_double(r); break;
    case LK_TT_BINARY: {
        size_t n;
        lk_thrift_read_binary(r, &n);
        break;
    }
    case LK_TT_LIST:
    case LK_TT_SET: {
        int et;
        uint32_t n = lk_thrift_read_list(r, &et);
        for (uint32_t i = 0; i < n && !r->err; i++) {
            if (et == LK_TT_TRUE || et == LK_TT_FALSE)
                lk_thrift_read_bool_elem(r);
            else
                lk_thrift_skip(r, et);
        }
        break;
    }
    case LK_TT_MAP: {
        uint64_t n = rvarint(r);
        if (n == 0)
            break;
        if (r->p >= r->end || n > (uint64_t)(r->end - r->p)) {
            r->err = 1;
            break;
        }
        uint8_t kv = *r->p++;
        for (uint64_t i = 0; i < n && !r->err; i++) {
            lk_thrift_skip(r, kv >> 4);
            lk_thrift_skip(r, kv & 15);
        }
        break;
    }
    case LK_TT_STRUCT: {
        lk_thrift_read_struct_begin(r);
        int16_t id;
        int t;
        while (!r->err && lk_thrift_read_field(r, &id, &t) == 0 && t != LK_TT_STOP)
            lk_thrift_skip(r, t);
        lk_thrift_read_struct_end(r);
        break;
    }
    default: r->err = 1;
    }
}
