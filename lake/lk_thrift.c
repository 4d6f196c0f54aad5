/*
 * lk_thrift — Thrift compact protocol encoder/decoder (see lk_thrift.h).
 * Field ids are delta-encoded against the previous id of the same struct,
 * hence the small stack of last ids per nesting level.
 */
#include "lk_thrift.h"

#include <string.h>

void lk_tc_w_init(lk_tc_w *w, lk_buf *b)
{
    w->b = b;
    w->depth = 0;
    w->last[0] = 0;
}

void lk_tc_raw_varint(lk_tc_w *w, uint64_t v)
{
    uint8_t t[10];
    int n = 0;
    while (v >= 0x80) {
        t[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    t[n++] = (uint8_t)v;
    lk_buf_append_fast(w->b, t, (size_t)n);
}

void lk_tc_raw_zigzag(lk_tc_w *w, int64_t v)
{
    lk_tc_raw_varint(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void lk_tc_raw_binary(lk_tc_w *w, const void *p, size_t n)
{
    lk_tc_raw_varint(w, n);
    lk_buf_append_fast(w->b, p, n);
}

void lk_tc_field(lk_tc_w *w, int16_t id, int type)
{
    int16_t d = (int16_t)(id - w->last[w->depth]);
    if (d > 0 && d <= 15) {
        uint8_t c = (uint8_t)((d << 4) | type);
        lk_buf_append_fast(w->b, &c, 1);
    } else {
        uint8_t c = (uint8_t)type;
        lk_buf_append_fast(w->b, &c, 1);
        lk_tc_raw_zigzag(w, id);
    }
    w->last[w->depth] = id;
}

void lk_tc_i32(lk_tc_w *w, int16_t id, int32_t v)
{
    lk_tc_field(w, id, LK_TC_I32);
    lk_tc_raw_zigzag(w, v);
}

void lk_tc_i64(lk_tc_w *w, int16_t id, int64_t v)
{
    lk_tc_field(w, id, LK_TC_I64);
    lk_tc_raw_zigzag(w, v);
}

void lk_tc_bool(lk_tc_w *w, int16_t id, int v)
{
    lk_tc_field(w, id, v ? LK_TC_TRUE : LK_TC_FALSE);
}

void lk_tc_binary(lk_tc_w *w, int16_t id, const void *p, size_t n)
{
    lk_tc_field(w, id, LK_TC_BINARY);
    lk_tc_raw_binary(w, p, n);
}

void lk_tc_elem_struct_begin(lk_tc_w *w)
{
    if (w->depth + 1 < LK_TC_MAX_DEPTH)
        w->depth++;
    w->last[w->depth] = 0;
}

void lk_tc_struct_begin(lk_tc_w *w, int16_t id)
{
    lk_tc_field(w, id, LK_TC_STRUCT);
    lk_tc_elem_struct_begin(w);
}

void lk_tc_struct_end(lk_tc_w *w)
{
    uint8_t c = 0;
    lk_buf_append_fast(w->b, &c, 1);
    if (w->depth > 0)
        w->depth--;
}

void lk_tc_end(lk_tc_w *w)
{
    uint8_t c = 0;
    lk_buf_append_fast(w->b, &c, 1);
}

void lk_tc_list_begin(lk_tc_w *w, int16_t id, int elem_type, uint32_t n)
{
    lk_tc_field(w, id, LK_TC_LIST);
    if (n < 15) {
        uint8_t c = (uint8_t)((n << 4) | (uint32_t)elem_type);
        lk_buf_append_fast(w->b, &c, 1);
    } else {
        uint8_t c = (uint8_t)(0xf0 | elem_type);
        lk_buf_append_fast(w->b, &c, 1);
        lk_tc_raw_varint(w, n);
    }
}

/* ---- decoder ---- */

void lk_tc_r_init(lk_tc_r *r, const void *p, size_t n)
{
    r->p = r->base = p;
    r->end = r->p + n;
    r->err = 0;
    r->depth = 0;
    r->last[0] = 0;
}

size_t lk_tc_offset(const lk_tc_r *r)
{
    return (size_t)(r->p - r->base);
}

static uint64_t rd_varint(lk_tc_r *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            r->err = 1;
            return 0;
        }
        uint8_t c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return v;
    }
    r->err = 1;
    return 0;
}

static int64_t rd_zigzag(lk_tc_r *r)
{
    uint64_t v = rd_varint(r);
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

int lk_tc_next(lk_tc_r *r, int16_t *id, int *type)
{
    if (r->err || r->p >= r->end) {
        r->err = 1;
        return 0;
    }
    uint8_t c = *r->p++;
    if (c == 0)
        return 0;
    *type = c & 0x0f;
    int d = c >> 4;
    if (d)
        *id = (int16_t)(r->last[r->depth] + d);
    else
        *id = (int16_t)rd_zigzag(r);
    r->last[r->depth] = *id;
    return !r->err;
}

int64_t lk_tc_read_int(lk_tc_r *r, int type)
{
    switch (type) {
    case LK_TC_TRUE: return 1;
    case LK_TC_FALSE: return 0;
    case LK_TC_BYTE:
        if (r->p >= r->end) {
            r->err = 1;
            return 0;
        }
        return (int8_t)*r->p++;
    case LK_TC_I16:
    case LK_TC_I32:
    case LK_TC_I64: return rd_zigzag(r);
    default: lk_tc_skip(r, type); r->err = 1; return 0;
    }
}

const uint8_t *lk_tc_read_binary(lk_tc_r *r, size_t *n)
{
    uint64_t len = rd_varint(r);
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

uint32_t lk_tc_read_list(lk_tc_r *r, int *elem_type)
{
    if (r->p >= r->end) {
        r->err = 1;
        return 0;
    }
    uint8_t c = *r->p++;
    *elem_type = c & 0x0f;
    uint64_t n = c >> 4;
    if (n == 15)
        n = rd_varint(r);
    /* every element takes at least one byte */
    if (r->err || n > (uint64_t)(r->end - r->p)) {
        r->err = 1;
        return 0;
    }
    return (uint32_t)n;
}

void lk_tc_enter(lk_tc_r *r)
{
    if (r->depth + 1 >= LK_TC_MAX_DEPTH) {
        r->err = 1;
        return;
    }
    r->depth++;
    r->last[r->depth] = 0;
}

void lk_tc_leave(lk_tc_r *r)
{
    if (r->depth > 0)
        r->depth--;
}

void lk_tc_skip(lk_tc_r *r, int type)
{
    if (r->err)
        return;
    switch (type) {
    case LK_TC_TRUE:
    case LK_TC_FALSE: break;
    case LK_TC_BYTE:
        if (r->p >= r->end)
            r->err = 1;
        else
            r->p++;
        break;
    case LK_TC_I16:
    case LK_TC_I32:
    case LK_TC_I64: rd_varint(r); break;
    case LK_TC_DOUBLE:
        if (r->end - r->p < 8)
            r->err = 1;
        else
            r->p += 8;
        break;
    case LK_TC_BINARY: {
        size_t n;
        lk_tc_read_binary(r, &n);
        break;
    }
    case LK_TC_LIST:
    case LK_TC_SET: {
        int et;
        uint32_t n = lk_tc_read_list(r, &et);
        lk_tc_enter(r); /* bounds the recursion of nested lists */
        for (uint32_t i = 0; i < n && !r->err; i++) {
            if (et == LK_TC_TRUE || et == LK_TC_FALSE) {
                if (r->p >= r->end)
                    r->err = 1;
                else
                    r->p++;
            } else
                lk_tc_skip(r, et);
        }
        lk_tc_leave(r);
        break;
    }
    case LK_TC_MAP: {
        uint64_t n = rd_varint(r);
        if (n == 0)
            break;
        if (r->p >= r->end || n > (uint64_t)(r->end - r->p)) {
            r->err = 1;
            break;
        }
        uint8_t kv = *r->p++;
        for (uint64_t i = 0; i < n && !r->err; i++) {
            lk_tc_skip(r, kv >> 4);
            lk_tc_skip(r, kv & 0x0f);
        }
        break;
    }
    case LK_TC_STRUCT: {
        lk_tc_enter(r);
        int16_t id;
        int t;
        while (!r->err && lk_tc_next(r, &id, &t))
            lk_tc_skip(r, t);
        lk_tc_leave(r);
        break;
    }
    default: r->err = 1;
    }
}
