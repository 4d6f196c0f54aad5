/*
 * lk_batch — an in-memory columnar record batch (Arrow-like), the unit of
 * data between transform, proto, writer and the Parquet encoder/decoder.
 *
 * A batch has one lk_col per top-level field of its schema. lk_col is a
 * public data descriptor (like Arrow's C data interface) so that encoders
 * run tight loops over its arrays; only the builder functions below change
 * it. Layout per type:
 *   fixed width   values: len elements of lk_col_elem_size() bytes
 *                 (boolean and byte: 1, short: 2, integer/date/float: 4,
 *                 long/timestamp/double/decimal<=18: 8, decimal>18: 16)
 *   string/binary offsets: len+1 uint32 into data
 *   struct        children: one column per field, each with the same len
 *   array         offsets: len+1 into children[0] (the elements)
 *   map           offsets: len+1 into children[0] (keys) and children[1] (values)
 * validity is NULL while the column has no null; otherwise bit i (LSB first)
 * is 1 when slot i holds a value. A null slot still occupies its place in
 * values/offsets (zero, or an empty range) and, for a struct, in children.
 * Memory is kept across lk_batch_reset(): batches are reused, never rebuilt
 * per chunk.
 */
#ifndef LK_BATCH_H
#define LK_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lk_buf.h"
#include "lk_schema.h"

typedef struct lk_col {
    const lk_field *field; /* owned by the batch's schema */
    uint32_t len;
    uint32_t null_count;
    uint8_t *validity;
    void *values;
    uint32_t *offsets;
    char *data;
    size_t data_len;
    int n_children;
    struct lk_col *children;
    /* builder capacity, in elements / bytes */
    uint32_t cap;
    size_t data_cap;
    uint32_t validity_cap; /* bytes */
    uint32_t elem_size;
} lk_col;

typedef struct lk_batch lk_batch;

/* A batch for schema (cloned: the batch owns its copy). */
lk_batch *lk_batch_new(const lk_schema *schema);
void lk_batch_destroy(lk_batch **b);
/* Forgets all rows, keeps memory. */
void lk_batch_reset(lk_batch *b);

const lk_schema *lk_batch_schema(const lk_batch *b);
int lk_batch_ncols(const lk_batch *b);
lk_col *lk_batch_col(lk_batch *b, int i);
const lk_col *lk_batch_col_const(const lk_batch *b, int i);
uint32_t lk_batch_nrows(const lk_batch *b);
/* Bytes held by all columns (values + data), an estimate of the batch's size. */
size_t lk_batch_bytes(const lk_batch *b);

/* Ends the current row: rows++ and every top-level column shorter than
   rows gets a null (a field absent from the record). */
void lk_batch_end_row(lk_batch *b);
/* Sets the row count directly (decoders that fill columns in bulk). */
void lk_batch_set_nrows(lk_batch *b, uint32_t n);
/* Appends every row of src to dst (src has dst's columns, in order). */
void lk_batch_append(lk_batch *dst, const lk_batch *src);

/* ---- column builders ---- */
uint32_t lk_col_elem_size(const lk_field *f);
void lk_col_append_null(lk_col *c);
/* A null slot that leaves a struct's children alone (the caller gives each
   child its slot): for decoders that fill columns one leaf at a time. */
void lk_col_append_null_shallow(lk_col *c);
/* Appends nulls until c->len == len. */
void lk_col_pad(lk_col *c, uint32_t len);
void lk_col_append_bool(lk_col *c, int v);
void lk_col_append_i32(lk_col *c, int32_t v);
void lk_col_append_i64(lk_col *c, int64_t v);
void lk_col_append_f32(lk_col *c, float v);
void lk_col_append_f64(lk_col *c, double v);
/* Appends raw fixed-width bytes (elem_size of them): byte, short, decimal>18. */
void lk_col_append_fixed(lk_col *c, const void *p);
/* String or binary value. */
void lk_col_append_bytes(lk_col *c, const void *p, size_t n);
/* String value s, each invalid UTF-8 sequence replaced by U+FFFD (tmp is scratch). Returns 1 if s
   was valid UTF-8. */
int lk_col_append_utf8(lk_col *c, const char *s, size_t n, lk_buf *tmp);
/* Struct: appends a valid slot; the caller then appends one value (or null)
   to every child, or calls lk_col_pad() on the children it has no value for. */
void lk_col_append_struct(lk_col *c);
/* Array/map: the caller first appends the elements (keys and values) to the
   children, then calls this to close the slot at the children's length. */
void lk_col_append_list(lk_col *c);

/* Drops every slot from len on (and what they hold in children); used to
   roll back a partly appended row. */
void lk_col_truncate(lk_col *c, uint32_t len);
/* Appends slots [start, start+count) of src (same field type) to dst. */
void lk_col_append_range(lk_col *dst, const lk_col *src, uint32_t start, uint32_t count);
/* Appends slots sel[0..k) of src (same field type; any order) to dst. */
void lk_col_append_sel(lk_col *dst, const lk_col *src, const uint32_t *sel, uint32_t k);

/* Makes room for n more slots and data_bytes more bytes. */
void lk_col_reserve(lk_col *c, uint32_t n, size_t data_bytes);
/* Allocates the validity bitmap (all valid) if the column has none. */
void lk_col_ensure_validity(lk_col *c);
/* Recomputes null_count from validity (after bulk decoding). */
void lk_col_recount_nulls(lk_col *c);

static inline int lk_col_is_null(const lk_col *c, uint32_t i)
{
    return c->validity && !(c->validity[i >> 3] & (1u << (i & 7)));
}

static inline int64_t lk_col_i64(const lk_col *c, uint32_t i)
{
    return ((const int64_t *)c->values)[i];
}

static inline int32_t lk_col_i32(const lk_col *c, uint32_t i)
{
    return ((const int32_t *)c->values)[i];
}

static inline double lk_col_f64(const lk_col *c, uint32_t i)
{
    return ((const double *)c->values)[i];
}

static inline const char *lk_col_bytes(const lk_col *c, uint32_t i, size_t *n)
{
    *n = c->offsets[i + 1] - c->offsets[i];
    /* a column whose every value so far is null or empty has no data buffer yet: NULL + 0 is UB */
    return c->data ? c->data + c->offsets[i] : "";
}

#endif
