/*
 * lk_thrift — the Thrift compact protocol, as far as Parquet's footer and
 * page headers need it (no packaged C library serves plain C here).
 *
 * Writer: fields are written in increasing id order inside a struct; the
 * writer keeps the last field id per nesting level. Reader: every length,
 * count and nesting depth is bounds-checked; a malformed input makes the
 * reader sticky-failed (lk_thrift_reader.err set) and every later read
 * returns zero values, so decoders check once at the end.
 */
#ifndef LK_THRIFT_H
#define LK_THRIFT_H

#include <stddef.h>
#include <stdint.h>

#include "lk_buf.h"

enum {
    LK_TT_STOP = 0,
    LK_TT_TRUE = 1,
    LK_TT_FALSE = 2,
    LK_TT_BYTE = 3,
    LK_TT_I16 = 4,
    LK_TT_I32 = 5,
    LK_TT_I64 = 6,
    LK_TT_DOUBLE = 7,
    LK_TT_BINARY = 8,
    LK_TT_LIST = 9,
    LK_TT_SET = 10,
    LK_TT_MAP = 11,
    LK_TT_STRUCT = 12,
};

#define LK_THRIFT_MAX_DEPTH 32

typedef struct lk_thrift_writer {
    lk_buf *out;
    int16_t last[LK_THRIFT_MAX_DEPTH];
    int depth;
} lk_thrift_writer;

void lk_thrift_writer_init(lk_thrift_writer *w, lk_buf *out);
void lk_thrift_struct_begin(lk_thrift_writer *w); /* after a field header of type STRUCT, or at top */
void lk_thrift_struct_end(lk_thrift_writer *w);   /* writes STOP */
void lk_thrift_field(lk_thrift_writer *w, int16_t id, int type);
void lk_thrift_field_i32(lk_thrift_writer *w, int16_t id, int32_t v);
void lk_thrift_field_i64(lk_thrift_writer *w, int16_t id, int64_t v);
void lk_thrift_field_bool(lk_thrift_writer *w, int16_t id, int v);
void lk_thrift_field_binary(lk_thrift_writer *w, int16_t id, const void *p, size_t n);
/* A list header (the elements follow, written with the value functions). */
void lk_thrift_field_list(lk_thrift_writer *w, int16_t id, int elem_type, uint32_t n);
void lk_thrift_i32(lk_thrift_writer *w, int32_t v);
void lk_thrift_binary(lk_thrift_writer *w, const void *p, size_t n);

typedef struct lk_thrift_reader {
    const uint8_t *p, *end, *start;
    int16_t last[LK_THRIFT_MAX_DEPTH];
    int depth;
    int err; /* sticky */
} lk_thrift_reader;

void lk_thrift_reader_init(lk_thrift_reader *r, const void *p, size_t n);
/* Reads a field header: 0 and *type = STOP at the end of a struct. */
int lk_thrift_read_field(lk_thrift_reader *r, int16_t *id, int *type);
void lk_thrift_read_struct_begin(lk_thrift_reader *r);
void lk_thrift_read_struct_end(lk_thrift_reader *r);
int32_t lk_thrift_read_i32(lk_thrift_reader *r);
int64_t lk_thrift_read_i64(lk_thrift_reader *r);
double lk_thrift_read_double(lk_thrift_reader *r);
/* Binary/string: returns a pointer into the input and its length. */
const uint8_t *lk_thrift_read_binary(lk_thrift_reader *r, size_t *n);
/* List/set header: element type and count (count bounded by the bytes left). */
uint32_t lk_thrift_read_list(lk_thrift_reader *r, int *elem_type);
/* A bool field's value is in its type (TRUE/FALSE); list elements are bytes. */
int lk_thrift_read_bool_elem(lk_thrift_reader *r);
/* Skips a value of the given type (nested structs, lists, maps included). */
void lk_thrift_skip(lk_thrift_reader *r, int type);
/* Bytes consumed so far. */
size_t lk_thrift_offset(const lk_thrift_reader *r);

#endif
