/* lk_batch — columnar record batch; see lk_batch.h for the layout. */
#include "lk_batch.h"

#include <stdio.h>
#include <stdlib.h>

#include "lk_bytes.h"

struct lk_batch {
    lk_schema *schema;
    int ncols;
    lk_col *cols;
    uint32_t nrows;
};

uint32_t lk_col_elem_size(const lk_field *f)
{
    switch (f->type) {
    case LK_TYPE_BOOLEAN:
    case LK_TYPE_BYTE: return 1;
    case LK_TYPE_SHORT: return 2;
    case LK_TYPE_INTEGER:
    case LK_TYPE_DATE:
    case LK_TYPE_FLOAT: return 4;
    case LK_TYPE_LONG:
    case LK_TYPE_TIMESTAMP:
    case LK_TYPE_TIMESTAMP_NTZ:
    case LK_TYPE_DOUBLE: return 8;
    case LK_TYPE_DECIMAL: return f->precision <= 18 ? 8 : 16;
    default: return 0;
    }
}

static int has_offsets(lk_type t)
{
    return t == LK_TYPE_STRING || t == LK_TYPE_BINARY || t == LK_TYPE_ARRAY || t == LK_TYPE_MAP;
}

static void col_init(lk_col *c, const lk_field *f)
{
    memset(c, 0, sizeof *c);
    c->field = f;
    c->elem_size = lk_col_elem_size(f);
    if (f->n_children) {
        c->n_children = f->n_children;
        c->children = calloc((size_t)f->n_children, sizeof(lk_col));
        if (!c->children)
            abort();
        for (int i = 0; i < f->n_children; i++)
            col_init(&c->children[i], &f->children[i]);
    }
    if (has_offsets(f->type)) {
        c->offsets = lk_xrealloc(NULL, sizeof(uint32_t) * 16);
        c->offsets[0] = 0;
        c->cap = 15;
    }
}

static void col_free(lk_col *c)
{
    for (int i = 0; i < c->n_children; i++)
        col_free(&c->children[i]);
    free(c->children);
    free(c->validity);
    free(c->values);
    free(c->offsets);
    free(c->data);
}

static void col_reset(lk_col *c)
{
    c->len = 0;
    c->null_count = 0;
    c->data_len = 0;
    if (c->validity) {
        /* keep the bitmap allocated but mark it absent: cheaper than clearing */
        free(c->validity);
        c->validity = NULL;
        c->validity_cap = 0;
    }
    if (c->offsets)
        c->offsets[0] = 0;
    for (int i = 0; i < c->n_children; i++)
        col_reset(&c->children[i]);
}

lk_batch *lk_batch_new(const lk_schema *schema)
{
    lk_batch *b = calloc(1, sizeof *b);
    if (!b)
        abort();
    b->schema = lk_schema_clone(schema);
    b->ncols = lk_schema_nfields(b->schema);
    b->cols = calloc((size_t)(b->ncols ? b->ncols : 1), sizeof(lk_col));
    if (!b->cols)
        abort();
    for (int i = 0; i < b->ncols; i++)
        col_init(&b->cols[i], lk_schema_field(b->schema, i));
    return b;
}

void lk_batch_destroy(lk_batch **bp)
{
    if (!bp || !*bp)
        return;
    lk_batch *b = *bp;
    for (int i = 0; i < b->ncols; i++)
        col_free(&b->cols[i]);
    free(b->cols);
    lk_schema_destroy(&b->schema);
    free(b);
    *bp = NULL;
}

void lk_batch_reset(lk_batch *b)
{
    for (int i = 0; i < b->ncols; i++)
        col_reset(&b->cols[i]);
    b->nrows = 0;
}

const lk_schema *lk_batch_schema(const lk_batch *b)
{
    return b->schema;
}

int lk_batch_ncols(const lk_batch *b)
{
    return b->ncols;
}

lk_col *lk_batch_col(lk_batch *b, int i)
{
    return &b->cols[i];
}

const lk_col *lk_batch_col_const(const lk_batch *b, int i)
{
    return &b->cols[i];
}

uint32_t lk_batch_nrows(const lk_batch *b)
{
    return b->nrows;
}

static size_t col_bytes(const lk_col *c)
{
    size_t n = (size_t)c->len * c->elem_size + c->data_len;
    if (c->offsets)
        n += (size_t)c->len * 4;
    for (int i = 0; i < c->n_children; i++)
        n += col_bytes(&c->children[i]);
    return n;
}

size_t lk_batch_bytes(const lk_batch *b)
{
    size_t n = 0;
    for (int i = 0; i < b->ncols; i++)
        n += col_bytes(&b->cols[i]);
    return n;
}

void lk_batch_end_row(lk_batch *b)
{
    b->nrows++;
    for (int i = 0; i < b->ncols; i++)
        if (b->cols[i].len < b->nrows)
            lk_col_pad(&b->cols[i], b->nrows);
}

void lk_batch_set_nrows(lk_batch *b, uint32_t n)
{
    b->nrows = n;
}

void lk_batch_append(lk_batch *dst, const lk_batch *src)
{
    for (int c = 0; c < dst->ncols && c < src->ncols; c++)
        lk_col_append_range(&dst->cols[c], &src->cols[c], 0, src->nrows);
    dst->nrows += src->nrows;
}

void lk_col_reserve(lk_col *c, uint32_t n, size_t data_bytes)
{
    uint32_t need = c->len + n;
    if (need > c->cap) {
        uint32_t cap = c->cap ? c->cap : 16;
        while (cap < need)
            cap *= 2;
        if (c->elem_size)
            c->values = lk_xrealloc(c->values, (size_t)cap * c->elem_size);
        if (c->offsets)
            c->offsets = lk_xrealloc(c->offsets, ((size_t)cap + 1) * sizeof(uint32_t));
        c->cap = cap;
    }
    /* the bitmap always covers the whole capacity: appends below cap skip
       this function */
    uint32_t vneed = ((c->cap > need ? c->cap : need) + 7) / 8;
    if (c->validity && vneed > c->validity_cap) {
        uint32_t vc = c->validity_cap ? c->validity_cap : 8;
        while (vc < vneed)
            vc *= 2;
        c->validity = lk_xrealloc(c->validity, vc);
        memset(c->validity + c->validity_cap, 0xff, vc - c->validity_cap);
        c->validity_cap = vc;
    }
    int has_data = c->field->type == LK_TYPE_STRING || c->field->type == LK_TYPE_BINARY;
    if (c->data_len + data_bytes > c->data_cap || (has_data && !c->data)) {
        size_t dc = c->data_cap ? c->data_cap : 256;
        while (dc < c->data_len + data_bytes)
            dc *= 2;
        c->data = lk_xrealloc(c->data, dc);
        c->data_cap = dc;
    }
}

void lk_col_ensure_validity(lk_col *c)
{
    if (c->validity)
        return;
    uint32_t vc = 8;
    while (vc < (c->cap + 8) / 8)
        vc *= 2;
    c->validity = lk_xrealloc(NULL, vc);
    memset(c->validity, 0xff, vc);
    c->validity_cap = vc;
}

void lk_col_recount_nulls(lk_col *c)
{
    c->null_count = 0;
    if (!c->validity)
        return;
    for (uint32_t i = 0; i < c->len; i++)
        c->null_count += lk_col_is_null(c, i);
}

/* Marks slot c->len valid in an existing bitmap (the bitmap is 0xff-filled
   when grown, but a reused slot may have been cleared by a null before). */
static inline void set_valid(lk_col *c)
{
    if (c->validity)
        c->validity[c->len >> 3] |= (uint8_t)(1u << (c->len & 7));
}

static void append_null(lk_col *c, int deep);

void lk_col_append_null(lk_col *c)
{
    append_null(c, 1);
}

void lk_col_append_null_shallow(lk_col *c)
{
    append_null(c, 0);
}

static void append_null(lk_col *c, int deep)
{
    if (!c->validity) {
        lk_col_reserve(c, 1, 0);
        lk_col_ensure_validity(c);
    }
    lk_col_reserve(c, 1, 0);
    c->validity[c->len >> 3] &= (uint8_t)~(1u << (c->len & 7));
    if (c->elem_size)
        memset((char *)c->values + (size_t)c->len * c->elem_size, 0, c->elem_size);
    if (c->offsets) {
        uint32_t end = c->field->type == LK_TYPE_STRING || c->field->type == LK_TYPE_BINARY
                           ? (uint32_t)c->data_len
                           : (c->n_children ? c->children[0].len : 0);
        c->offsets[c->len + 1] = end;
    }
    if (deep && c->field->type == LK_TYPE_STRUCT)
        for (int i = 0; i < c->n_children; i++)
            lk_col_append_null(&c->children[i]);
    c->len++;
    c->null_count++;
}

void lk_col_pad(lk_col *c, uint32_t len)
{
    while (c->len < len)
        lk_col_append_null(c);
}

#define APPEND_FIXED(c, T, v)                                                                      \
    do {                                                                                           \
        if ((c)->len >= (c)->cap)                                                                  \
            lk_col_reserve((c), 1, 0);                                                             \
        set_valid(c);                                                                              \
        ((T *)(c)->values)[(c)->len++] = (v);                                                      \
    } while (0)

void lk_col_append_bool(lk_col *c, int v)
{
    APPEND_FIXED(c, uint8_t, (uint8_t)(v != 0));
}

void lk_col_append_i32(lk_col *c, int32_t v)
{
    APPEND_FIXED(c, int32_t, v);
}

void lk_col_append_i64(lk_col *c, int64_t v)
{
    APPEND_FIXED(c, int64_t, v);
}

void lk_col_append_f32(lk_col *c, float v)
{
    APPEND_FIXED(c, float, v);
}

void lk_col_append_f64(lk_col *c, double v)
{
    APPEND_FIXED(c, double, v);
}

void lk_col_append_fixed(lk_col *c, const void *p)
{
    if (c->len >= c->cap)
        lk_col_reserve(c, 1, 0);
    set_valid(c);
    memcpy((char *)c->values + (size_t)c->len * c->elem_size, p, c->elem_size);
    c->len++;
}

void lk_col_append_bytes(lk_col *c, const void *p, size_t n)
{
    if (c->len >= c->cap || c->data_len + n > c->data_cap)
        lk_col_reserve(c, 1, n);
    set_valid(c);
    if (n)
        memcpy(c->data + c->data_len, p, n);
    c->data_len += n;
    c->offsets[++c->len] = (uint32_t)c->data_len;
}

int lk_col_append_utf8(lk_col *c, const char *s, size_t n, lk_buf *tmp)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    size_t i = 0;
    while (i < n && p[i] < 0x80)
        i++;
    if (i == n) { /* ASCII: the common case */
        lk_col_append_bytes(c, s, n);
        return 1;
    }
    int valid = 1;
    lk_buf_reset(tmp);
    lk_buf_append(tmp, s, i);
    while (i < n) {
        size_t len = p[i] < 0x80 ? 1 : lk_utf8_len(p + i, end);
        if (len) {
            lk_buf_append(tmp, p + i, len);
            i += len;
        } else {
            lk_buf_append(tmp, "\xEF\xBF\xBD", 3);
            valid = 0;
            i++;
        }
    }
    lk_col_append_bytes(c, valid ? s : tmp->data, valid ? n : tmp->len);
    return valid;
}

void lk_col_append_struct(lk_col *c)
{
    if (c->len >= c->cap)
        lk_col_reserve(c, 1, 0);
    set_valid(c);
    c->len++;
}

void lk_col_append_list(lk_col *c)
{
    if (c->len >= c->cap)
        lk_col_reserve(c, 1, 0);
    set_valid(c);
    c->offsets[++c->len] = c->children[0].len;
}

void lk_col_truncate(lk_col *c, uint32_t len)
{
    if (len >= c->len)
        return;
    if (c->validity)
        for (uint32_t i = len; i < c->len; i++) {
            if (lk_col_is_null(c, i))
                c->null_count--;
            c->validity[i >> 3] |= (uint8_t)(1u << (i & 7));
        }
    switch (c->field->type) {
    case LK_TYPE_STRING:
    case LK_TYPE_BINARY: c->data_len = c->offsets[len]; break;
    case LK_TYPE_STRUCT:
        for (int i = 0; i < c->n_children; i++)
            lk_col_truncate(&c->children[i], len);
        break;
    case LK_TYPE_ARRAY:
    case LK_TYPE_MAP:
        for (int i = 0; i < c->n_children; i++)
            lk_col_truncate(&c->children[i], c->offsets[len]);
        break;
    default: break;
    }
    c->len = len;
}

void lk_col_append_range(lk_col *dst, const lk_col *src, uint32_t start, uint32_t count)
{
    if (count == 0)
        return;
    uint32_t base = dst->len;
    size_t dbytes = 0;
    if (src->field->type == LK_TYPE_STRING || src->field->type == LK_TYPE_BINARY)
        dbytes = src->offsets[start + count] - src->offsets[start];
    lk_col_reserve(dst, count, dbytes);
    if (src->validity) {
        for (uint32_t i = 0; i < count; i++) {
            if (lk_col_is_null(src, start + i)) {
                if (!dst->validity) {
                    lk_col_ensure_validity(dst);
                    lk_col_reserve(dst, count, 0);
                }
                dst->validity[(base + i) >> 3] &= (uint8_t) ~(1u << ((base + i) & 7));
                dst->null_count++;
            } else if (dst->validity) {
                dst->validity[(base + i) >> 3] |= (uint8_t)(1u << ((base + i) & 7));
            }
        }
    } else if (dst->validity) {
        for (uint32_t i = 0; i < count; i++)
            dst->validity[(base + i) >> 3] |= (uint8_t)(1u << ((base + i) & 7));
    }
    if (dst->elem_size)
        memcpy((char *)dst->values + (size_t)base * dst->elem_size,
               (const char *)src->values + (size_t)start * src->elem_size,
               (size_t)count * dst->elem_size);
    switch (src->field->type) {
    case LK_TYPE_STRING:
    case LK_TYPE_BINARY: {
        uint32_t s0 = src->offsets[start];
        if (dbytes)
            memcpy(dst->data + dst->data_len, src->data + s0, dbytes);
        uint32_t d0 = (uint32_t)dst->data_len;
        for (uint32_t i = 1; i <= count; i++)
            dst->offsets[base + i] = d0 + (src->offsets[start + i] - s0);
        dst->data_len += dbytes;
        break;
    }
    case LK_TYPE_STRUCT:
        for (int i = 0; i < src->n_children; i++)
            lk_col_append_range(&dst->children[i], &src->children[i], start, count);
        break;
    case LK_TYPE_ARRAY:
    case LK_TYPE_MAP: {
        uint32_t s0 = src->offsets[start], s1 = src->offsets[start + count];
        uint32_t d0 = dst->n_children ? dst->children[0].len : 0;
        for (int i = 0; i < src->n_children; i++)
            lk_col_append_range(&dst->children[i], &src->children[i], s0, s1 - s0);
        for (uint32_t i = 1; i <= count; i++)
            dst->offsets[base + i] = d0 + (src->offsets[start + i] - s0);
        break;
    }
    default: break;
    }
    dst->len += count;
}

/* A typed gather for flat columns (a filter leaves short runs, where a range copy per run costs
   a call and a reserve each), runs of lk_col_append_range for nested ones. */
void lk_col_append_sel(lk_col *dst, const lk_col *src, const uint32_t *sel, uint32_t k)
{
    lk_type t = src->field->type;
    uint32_t base = dst->len;
    if (t == LK_TYPE_STRING || t == LK_TYPE_BINARY) {
        size_t bytes = 0;
        for (uint32_t j = 0; j < k; j++)
            bytes += src->offsets[sel[j] + 1] - src->offsets[sel[j]];
        lk_col_reserve(dst, k, bytes);
        char *data = dst->data;
        size_t len = dst->data_len;
        /* a run of consecutive rows is one copy (a filter keeping 70 % leaves runs of ~3) */
        for (uint32_t j = 0; j < k;) {
            uint32_t r = j + 1;
            while (r < k && sel[r] == sel[r - 1] + 1)
                r++;
            uint32_t a = src->offsets[sel[j]], b = src->offsets[sel[r - 1] + 1];
            if (b > a)
                memcpy(data + len, src->data + a, b - a);
            for (uint32_t i = j; i < r; i++)
                dst->offsets[base + i + 1] = (uint32_t)(len + (src->offsets[sel[i] + 1] - a));
            len += b - a;
            j = r;
        }
        dst->data_len = len;
    } else if (src->elem_size && !src->n_children) {
        lk_col_reserve(dst, k, 0);
        char *o = (char *)dst->values + (size_t)base * dst->elem_size;
        const char *v = src->values;
        switch (src->elem_size) {
        case 8:
            for (uint32_t j = 0; j < k; j++)
                ((uint64_t *)o)[j] = ((const uint64_t *)v)[sel[j]];
            break;
        case 4:
            for (uint32_t j = 0; j < k; j++)
                ((uint32_t *)o)[j] = ((const uint32_t *)v)[sel[j]];
            break;
        case 1:
            for (uint32_t j = 0; j < k; j++)
                ((uint8_t *)o)[j] = ((const uint8_t *)v)[sel[j]];
            break;
        default:
            for (uint32_t j = 0; j < k; j++)
                memcpy(o + (size_t)j * src->elem_size, v + (size_t)sel[j] * src->elem_size,
                       src->elem_size);
            break;
        }
    } else {
        for (uint32_t j = 0; j < k;) {
            uint32_t r = j + 1;
            while (r < k && sel[r] == sel[r - 1] + 1)
                r++;
            lk_col_append_range(dst, src, sel[j], r - j);
            j = r;
        }
        return;
    }
    /* validity: only when src has nulls (or dst already tracks them) */
    if (src->validity || dst->validity) {
        lk_col_ensure_validity(dst);
        for (uint32_t j = 0; j < k; j++) {
            uint32_t d = base + j;
            if (lk_col_is_null(src, sel[j])) {
                dst->validity[d >> 3] &= (uint8_t) ~(1u << (d & 7));
                dst->null_count++;
            } else {
                dst->validity[d >> 3] |= (uint8_t)(1u << (d & 7));
            }
        }
    }
    dst->len = base + k;
}
