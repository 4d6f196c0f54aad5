/*
 * lk_thrift — the Thrift compact protocol, only as much as Parquet's footer
 * and page headers need: an encoder appending to an lk_buf and a
 * bounds-checked decoder over a byte range (any overrun sets err, never reads
 * past end).
 */
#ifndef LK_THRIFT_H
#define LK_THRIFT_H

#include <stddef.h>
#include <stdint.h>

#include "lk_buf.h"

enum {
    LK_TC_STOP = 0,
    LK_TC_TRUE = 1,
    LK_TC_FALSE = 2,
    LK_TC_BYTE = 3,
    LK_TC_I16 = 4,
    LK_TC_I32 = 5,
    LK_TC_I64 = 6,
    LK_TC_DOUBLE = 7,
    LK_TC_BINARY = 8,
    LK_TC_LIST = 9,
    LK_TC_SET = 10,
    LK_TC_MAP = 11,
    LK_TC_STRUCT = 12,
};

#define LK_TC_MAX_DEPTH 32

typedef struct lk_tc_w {
    lk_buf *b;
    int depth;
    int16_t last[LK_TC_MAX_DEPTH];
} lk_tc_w;

void lk_tc_w_init(lk_tc_w *w, lk_buf *b);
void lk_tc_field(lk_tc_w *w, int16_t id, int type);
void lk_tc_i32(lk_tc_w *w, int16_t id, int32_t v);
void lk_tc_i64(lk_tc_w *w, int16_t id, int64_t v);
void lk_tc_bool(lk_tc_w *w, int16_t id, int v);
void lk_tc_binary(lk_tc_w *w, int16_t id, const void *p, size_t n);
/* A struct field: begin, fields..., end. */
void lk_tc_struct_begin(lk_tc_w *w, int16_t id);
void lk_tc_struct_end(lk_tc_w *w);
/* A list field header; then elements with the raw writers below. */
void lk_tc_list_begin(lk_tc_w *w, int16_t id, int elem_type, uint32_t n);
void lk_tc_raw_varint(lk_tc_w *w, uint64_t v);
void lk_tc_raw_zigzag(lk_tc_w *w, int64_t v);
void lk_tc_raw_binary(lk_tc_w *w, const void *p, size_t n);
/* A struct element of a list (no field header). */
void lk_tc_elem_struct_begin(lk_tc_w *w);
/* Ends the top-level struct (writes STOP). */
void lk_tc_end(lk_tc_w *w);

typedef struct lk_tc_r {
    const uint8_t *p, *end, *base;
    int err;
    int depth;
    int16_t last[LK_TC_MAX_DEPTH];
} lk_tc_r;

void lk_tc_r_init(lk_tc_r *r, const void *p, size_t n);
/* Next field of the current struct: 0 at STOP (or error), else 1 with id and type. */
int lk_tc_next(lk_tc_r *r, int16_t *id, int *type);
int64_t lk_tc_read_int(lk_tc_r *r, int type); /* i8/i16/i32/i64 (zigzag) or bool field */
/* Binary: pointer into the input (not NUL-terminated). */
const uint8_t *lk_tc_read_binary(lk_tc_r *r, size_t *n);
/* List header: element count (bounded by remaining bytes) and type. */
uint32_t lk_tc_read_list(lk_tc_r *r, int *elem_type);
/* Enter a struct (after its field header or as a list element) / leave it. */
void lk_tc_enter(lk_tc_r *r);
void lk_tc_leave(lk_tc_r *r);
void lk_tc_skip(lk_tc_r *r, int type);
size_t lk_tc_offset(const lk_tc_r *r);

#endif
