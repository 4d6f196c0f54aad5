/*
 * lk_json_reader — JSON lines → raw_events columns; see lk_json_reader.h.
 *
 * yajl's event parser calls back for every token and the callbacks append
 * straight into the columns: no document tree, no per-row allocation.
 * yajl allocates a handle per line (it has no reset); those allocations go
 * to a bump arena owned by the reader and reset per line, so they cost a
 * pointer increment. A stack of frames follows nesting: an object frame
 * knows the columns its keys map to and the slot (row) its values fill;
 * an array frame appends to the array's element column.
 *
 * Values that do not fit — an unknown key, a duplicate key (the first
 * value wins), a type the column cannot hold — are re-serialised into the
 * row's _rescued_data object under their dotted path, with nested objects
 * and arrays captured whole. A line that is not one JSON object is rolled
 * back (every column truncated to the row start) and kept whole in
 * _corrupt_record; invalid UTF-8 there is replaced by U+FFFD so that the
 * column stays a valid Parquet string (the exact bytes remain in the
 * source file, at _metadata.file_offset).
 */
#include "lk_json_reader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yajl/yajl_parse.h>

#include "lk_decimal.h"
#include "lk_tables.h"
#include "lk_time.h"

#define MAX_DEPTH 64
#define ARENA_BYTES (64 << 10)

typedef struct frame {
    int is_array;
    lk_col *cols; /* object: the columns its keys map to */
    int ncols;
    uint32_t row; /* object: the slot its values fill */
    int last;     /* object: index of the last key matched (keys repeat in order) */
    lk_col *list; /* array: the array column */
    uint32_t nelem;
    size_t plen; /* length of path when the frame was entered */
} frame;

typedef struct overflow {
    struct overflow *next;
} overflow;

struct lk_json_reader {
    /* allocator */
    char *arena;
    size_t used;
    overflow *big;
    yajl_alloc_funcs af;
    yajl_callbacks cb;
    /* per line */
    lk_batch *out;
    int ndata;
    frame st[MAX_DEPTH];
    int depth;
    lk_col *target;
    char path[1024];
    size_t plen;
    int cap_depth; /* > 0 while an object/array is being captured as text */
    lk_buf *cap_buf;  /* where the capture goes: rescue, or text (below) */
    lk_col *cap_col;  /* a string column that takes the captured text */
    uint8_t cap_obj[MAX_DEPTH], cap_count[MAX_DEPTH];
    int not_object;
    lk_buf rescue;
    lk_buf text; /* an object/array captured for a string column */
    lk_buf tmp;
    const char *file_path;
    lk_json_options opt;
    int dropping;      /* the current unknown key's value is dropped (mode none) */
    int drop_depth;    /* ... in the frame at this depth */
    size_t drop_from;  /* rescue length before its key */
};

/* Exact-text decimal: [-]digits[.digits] scaled to scale, fitting
   precision; anything lossy or out of range is refused (then rescued). */
static int parse_decimal(const char *s, size_t n, int precision, int scale, int64_t *out)
{
    size_t i = 0;
    int neg = 0, digits = 0, frac = 0, seen = 0;
    unsigned long long v = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, seen++) {
        if (v == 0 && s[i] == '0')
            continue;
        if (++digits > 18)
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (i < n && s[i] == '.') {
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, seen++) {
            if (frac == scale) {
                if (s[i] != '0')
                    return -1; /* more fraction digits than the scale holds */
                continue;
            }
            frac++;
            if (v || s[i] != '0')
                digits++;
            if (digits > 18)
                return -1;
            v = v * 10 + (unsigned)(s[i] - '0');
        }
    }
    if (i != n || !seen)
        return -1;
    for (; frac < scale; frac++) {
        if (v)
            digits++;
        if (digits > 18)
            return -1;
        v *= 10;
    }
    if (digits > precision)
        return -1;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

/* Appends the exact decimal text s to c (DECIMAL(p,s): an int64 up to
   p = 18, else 16 big-endian bytes); 0 if it does not fit (rescued). */
static int append_decimal(lk_col *c, const char *s, size_t n)
{
    int64_t v;
    if (c->field->precision <= 18) {
        if (parse_decimal(s, n, c->field->precision, c->field->scale, &v))
            return 0;
        lk_col_append_i64(c, v);
        return 1;
    }
    unsigned char be[16];
    if (lk_decimal_parse(s, n, c->field->precision, c->field->scale, NULL, be))
        return 0;
    lk_col_append_fixed(c, be);
    return 1;
}

/* ---- arena allocator for yajl ---- */

static void *ar_malloc(void *ctx, size_t sz)
{
    lk_json_reader *r = ctx;
    size_t need = ((sz + 15) & ~(size_t)15) + 16;
    if (r->used + need <= ARENA_BYTES) {
        char *p = r->arena + r->used;
        r->used += need;
        memcpy(p, &sz, sizeof sz);
        return p + 16;
    }
    overflow *o = malloc(sizeof(overflow) + 16 + sz);
    if (!o)
        return NULL;
    o->next = r->big;
    r->big = o;
    char *p = (char *)(o + 1);
    memcpy(p, &sz, sizeof sz);
    return p + 16;
}

static void *ar_realloc(void *ctx, void *ptr, size_t sz)
{
    if (!ptr)
        return ar_malloc(ctx, sz);
    size_t old;
    memcpy(&old, (char *)ptr - 16, sizeof old);
    if (sz <= old)
        return ptr;
    void *n = ar_malloc(ctx, sz);
    if (n)
        memcpy(n, ptr, old);
    return n;
}

static void ar_free(void *ctx, void *ptr)
{
    (void)ctx;
    (void)ptr; /* everything goes at the next line */
}

static void ar_reset(lk_json_reader *r)
{
    r->used = 0;
    while (r->big) {
        overflow *o = r->big;
        r->big = o->next;
        free(o);
    }
}

/* ---- rescue and capture ---- */

static void rescue_key(lk_json_reader *r)
{
    lk_buf_putc(&r->rescue, r->rescue.len ? ',' : '{');
    lk_buf_json_string(&r->rescue, r->path, r->plen);
    lk_buf_putc(&r->rescue, ':');
}

/* Before a value inside a capture: the comma between array elements. */
static void cap_sep(lk_json_reader *r)
{
    int d = r->cap_depth;
    if (d > 0 && !r->cap_obj[d]) {
        if (r->cap_count[d]++)
            lk_buf_putc(r->cap_buf, ',');
    }
}

static void path_push(lk_json_reader *r, const char *key, size_t n)
{
    size_t at = r->st[r->depth - 1].plen;
    if (at + 1 + n >= sizeof r->path)
        n = sizeof r->path - at - 2;
    if (at)
        r->path[at++] = '.';
    memcpy(r->path + at, key, n);
    r->plen = at + n;
}

/* The column the next value goes to, or NULL (rescue). */
static lk_col *value_target(lk_json_reader *r)
{
    frame *f = &r->st[r->depth - 1];
    if (f->is_array) {
        /* path "key[i]" for a rescued element */
        size_t at = f->plen;
        int n = snprintf(r->path + at, sizeof r->path - at, "[%u]", f->nelem++);
        r->plen = at + (size_t)(n > 0 ? n : 0);
        return &f->list->children[0];
    }
    lk_col *c = r->target;
    r->target = NULL;
    return c;
}

/* ---- callbacks ---- */

static int on_null(void *ctx)
{
    lk_json_reader *r = ctx;
    if (r->cap_depth) {
        cap_sep(r);
        lk_buf_puts(r->cap_buf, "null");
        return 1;
    }
    if (!r->depth)
        return r->not_object = 1, 0;
    lk_col *c = value_target(r);
    if (c)
        lk_col_append_null(c);
    /* an unknown key with a null value loses nothing: not rescued */
    return 1;
}

static void rescue_literal(lk_json_reader *r, const char *text, size_t n, int quote)
{
    rescue_key(r);
    if (quote)
        lk_buf_json_string(&r->rescue, text, n);
    else
        lk_buf_append(&r->rescue, text, n);
}

static int on_boolean(void *ctx, int b)
{
    lk_json_reader *r = ctx;
    const char *t = b ? "true" : "false";
    if (r->cap_depth) {
        cap_sep(r);
        lk_buf_puts(r->cap_buf, t);
        return 1;
    }
    if (!r->depth)
        return r->not_object = 1, 0;
    lk_col *c = value_target(r);
    if (c && c->field->type == LK_TYPE_BOOLEAN) {
        lk_col_append_bool(c, b);
        return 1;
    }
    if (c && c->field->type == LK_TYPE_STRING) {
        lk_col_append_bytes(c, t, strlen(t));
        return 1;
    }
    if (c && r->st[r->depth - 1].is_array)
        lk_col_append_null(c); /* keep the element's place */
    rescue_literal(r, t, strlen(t), 0);
    return 1;
}

static int on_number(void *ctx, const char *s, size_t n)
{
    lk_json_reader *r = ctx;
    if (r->cap_depth) {
        cap_sep(r);
        lk_buf_append(r->cap_buf, s, n);
        return 1;
    }
    if (!r->depth)
        return r->not_object = 1, 0;
    lk_col *c = value_target(r);
    int in_array = r->st[r->depth - 1].is_array;
    if (c) {
        char num[64];
        int is_int = !memchr(s, '.', n) && !memchr(s, 'e', n) && !memchr(s, 'E', n);
        if (n < sizeof num) {
            memcpy(num, s, n);
            num[n] = '\0';
            char *end;
            errno = 0;
            switch (c->field->type) {
            case LK_TYPE_LONG:
            case LK_TYPE_INTEGER:
            case LK_TYPE_SHORT:
            case LK_TYPE_BYTE: {
                if (!is_int)
                    break;
                long long v = strtoll(num, &end, 10);
                if (errno || *end)
                    break;
                if (c->field->type == LK_TYPE_LONG) {
                    lk_col_append_i64(c, v);
                    return 1;
                }
                long long lo = c->field->type == LK_TYPE_INTEGER ? INT32_MIN
                               : c->field->type == LK_TYPE_SHORT ? INT16_MIN
                                                                 : INT8_MIN;
                if (v < lo || v > -lo - 1)
                    break;
                if (c->field->type == LK_TYPE_INTEGER) {
                    lk_col_append_i32(c, (int32_t)v);
                } else if (c->field->type == LK_TYPE_SHORT) {
                    int16_t x = (int16_t)v;
                    lk_col_append_fixed(c, &x);
                } else {
                    int8_t x = (int8_t)v;
                    lk_col_append_fixed(c, &x);
                }
                return 1;
            }
            case LK_TYPE_DOUBLE:
            case LK_TYPE_FLOAT: {
                double v = strtod(num, &end);
                if (*end)
                    break;
                if (c->field->type == LK_TYPE_DOUBLE)
                    lk_col_append_f64(c, v);
                else
                    lk_col_append_f32(c, (float)v);
                return 1;
            }
            case LK_TYPE_STRING: lk_col_append_bytes(c, s, n); return 1;
            case LK_TYPE_DECIMAL:
                if (append_decimal(c, s, n))
                    return 1;
                break;
            default: break;
            }
        }
        if (in_array)
            lk_col_append_null(c); /* keep the element's place */
    }
    rescue_literal(r, s, n, 0);
    return 1;
}

static int on_string(void *ctx, const unsigned char *s, size_t n)
{
    lk_json_reader *r = ctx;
    if (r->cap_depth) {
        cap_sep(r);
        lk_buf_json_string(r->cap_buf, (const char *)s, n);
        return 1;
    }
    if (!r->depth)
        return r->not_object = 1, 0;
    lk_col *c = value_target(r);
    if (c) {
        int64_t us;
        switch (c->field->type) {
        case LK_TYPE_STRING:
        case LK_TYPE_BINARY: lk_col_append_bytes(c, s, n); return 1;
        case LK_TYPE_TIMESTAMP:
        case LK_TYPE_TIMESTAMP_NTZ:
            if (lk_time_parse_iso((const char *)s, n, &us) == 0) {
                lk_col_append_i64(c, us);
                return 1;
            }
            break;
        case LK_TYPE_DATE:
            if (n == 10 && lk_time_parse_iso((const char *)s, n, &us) == 0) {
                lk_col_append_i32(c, (int32_t)(us / 86400000000LL));
                return 1;
            }
            break;
        case LK_TYPE_DECIMAL: /* "12.50" for a DECIMAL(10,2) hint */
            if (append_decimal(c, (const char *)s, n))
                return 1;
            break;
        default: break;
        }
        if (r->st[r->depth - 1].is_array)
            lk_col_append_null(c);
    }
    rescue_literal(r, (const char *)s, n, 1);
    return 1;
}

static int push(lk_json_reader *r, frame f)
{
    if (r->depth == MAX_DEPTH)
        return 0;
    f.plen = r->plen;
    r->st[r->depth++] = f;
    return 1;
}

static int cap_open(lk_json_reader *r, int is_obj)
{
    if (r->cap_depth + 1 >= MAX_DEPTH)
        return 0;
    r->cap_depth++;
    r->cap_obj[r->cap_depth] = (uint8_t)is_obj;
    r->cap_count[r->cap_depth] = 0;
    lk_buf_putc(r->cap_buf, is_obj ? '{' : '[');
    return 1;
}

/* Starts capturing an object/array: as the JSON text of a string column
   (what Spark stores there), or into _rescued_data under the current path. */
static int cap_start(lk_json_reader *r, lk_col *c, int is_obj)
{
    if (c && c->field->type == LK_TYPE_STRING) {
        lk_buf_reset(&r->text);
        r->cap_buf = &r->text;
        r->cap_col = c;
    } else {
        if (c && r->st[r->depth - 1].is_array)
            lk_col_append_null(c); /* keep the element's place */
        r->cap_buf = &r->rescue;
        r->cap_col = NULL;
        rescue_key(r);
    }
    return cap_open(r, is_obj);
}

static void cap_close(lk_json_reader *r, char ch)
{
    lk_buf_putc(r->cap_buf, ch);
    if (--r->cap_depth == 0 && r->cap_col) {
        lk_col_append_bytes(r->cap_col, r->text.data, r->text.len);
        r->cap_col = NULL;
    }
}

static int on_start_map(void *ctx)
{
    lk_json_reader *r = ctx;
    if (r->cap_depth) {
        cap_sep(r);
        return cap_open(r, 1);
    }
    if (!r->depth) {
        frame f = {0};
        f.cols = lk_batch_col(r->out, 0);
        f.ncols = r->ndata;
        f.row = lk_batch_nrows(r->out);
        f.last = -1;
        r->plen = 0;
        return push(r, f);
    }
    lk_col *c = value_target(r);
    if (c && c->field->type == LK_TYPE_STRUCT) {
        lk_col_append_struct(c);
        frame f = {0};
        f.cols = c->children;
        f.ncols = c->n_children;
        f.row = c->len - 1;
        f.last = -1;
        return push(r, f);
    }
    return cap_start(r, c, 1);
}

static int on_map_key(void *ctx, const unsigned char *key, size_t n)
{
    lk_json_reader *r = ctx;
    if (r->cap_depth) {
        int d = r->cap_depth;
        if (r->cap_count[d]++)
            lk_buf_putc(r->cap_buf, ',');
        lk_buf_json_string(r->cap_buf, (const char *)key, n);
        lk_buf_putc(r->cap_buf, ':');
        return 1;
    }
    frame *f = &r->st[r->depth - 1];
    if (r->dropping && r->drop_depth == r->depth) { /* the dropped value is complete */
        r->rescue.len = r->drop_from;
        r->dropping = 0;
    }
    path_push(r, (const char *)key, n);
    r->target = NULL;
    int hit = -1;
    int guess = f->last + 1;
    if (guess < f->ncols) {
        const char *name = f->cols[guess].field->name;
        if (strlen(name) == n && !memcmp(name, key, n))
            hit = guess;
    }
    for (int i = 0; hit < 0 && i < f->ncols; i++) {
        const char *name = f->cols[i].field->name;
        if (strlen(name) == n && !memcmp(name, key, n))
            hit = i;
    }
    if (hit >= 0) {
        f->last = hit;
        if (f->cols[hit].len == f->row) /* not set yet in this row */
            r->target = &f->cols[hit];
    } else if (r->opt.drop_unknown) {
        /* schema_evolution_mode none: a new key is dropped, not rescued; a
           key equal to a column but for case is still rescued */
        int ci = 0;
        for (int i = 0; i < f->ncols && !ci; i++) {
            const char *name = f->cols[i].field->name;
            ci = strlen(name) == n && !strncasecmp(name, (const char *)key, n);
        }
        if (!ci) {
            r->dropping = 1;
            r->drop_depth = r->depth;
            r->drop_from = r->rescue.len;
        }
    }
    return 1;
}

static int on_end_map(void *ctx)
{
    lk_json_reader *r = ctx;
    if (r->cap_depth) {
        cap_close(r, '}');
        return 1;
    }
    if (r->dropping && r->drop_depth == r->depth) {
        r->rescue.len = r->drop_from;
        r->dropping = 0;
    }
    frame *f = &r->st[--r->depth];
    if (r->depth > 0) /* a struct: absent fields are null */
        for (int i = 0; i < f->ncols; i++)
            lk_col_pad(&f->cols[i], f->row + 1);
    r->plen = f->plen;
    return 1;
}

static int on_start_array(void *ctx)
{
    lk_json_reader *r = ctx;
    if (r->cap_depth) {
        cap_sep(r);
        return cap_open(r, 0);
    }
    if (!r->depth)
        return r->not_object = 1, 0;
    lk_col *c = value_target(r);
    if (c && c->field->type == LK_TYPE_ARRAY) {
        frame f = {0};
        f.is_array = 1;
        f.list = c;
        return push(r, f);
    }
    return cap_start(r, c, 0);
}

static int on_end_array(void *ctx)
{
    lk_json_reader *r = ctx;
    if (r->cap_depth) {
        cap_close(r, ']');
        return 1;
    }
    frame *f = &r->st[--r->depth];
    lk_col_append_list(f->list);
    r->plen = f->plen;
    return 1;
}

lk_json_reader *lk_json_reader_new(void)
{
    lk_json_reader *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    r->arena = malloc(ARENA_BYTES);
    if (!r->arena)
        abort();
    r->af.malloc = ar_malloc;
    r->af.realloc = ar_realloc;
    r->af.free = ar_free;
    r->af.ctx = r;
    r->cb.yajl_null = on_null;
    r->cb.yajl_boolean = on_boolean;
    r->cb.yajl_number = on_number;
    r->cb.yajl_string = on_string;
    r->cb.yajl_start_map = on_start_map;
    r->cb.yajl_map_key = on_map_key;
    r->cb.yajl_end_map = on_end_map;
    r->cb.yajl_start_array = on_start_array;
    r->cb.yajl_end_array = on_end_array;
    return r;
}

void lk_json_reader_destroy(lk_json_reader **rp)
{
    if (!rp || !*rp)
        return;
    lk_json_reader *r = *rp;
    ar_reset(r);
    free(r->arena);
    lk_buf_free(&r->rescue);
    lk_buf_free(&r->text);
    lk_buf_free(&r->tmp);
    free(r);
    *rp = NULL;
}

/* Appends s to c, replacing invalid UTF-8 sequences by U+FFFD. */
static void append_utf8(lk_json_reader *r, lk_col *c, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    int valid = 1;
    lk_buf_reset(&r->tmp);
    while (i < n) {
        unsigned char b = p[i];
        size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
        int ok = len > 0 && i + len <= n;
        for (size_t k = 1; ok && k < len; k++)
            ok = (p[i + k] & 0xc0) == 0x80;
        if (ok && len == 2 && b < 0xc2)
            ok = 0; /* overlong */
        if (ok && len == 3) {
            unsigned cp = (unsigned)(b & 15) << 12 | (unsigned)(p[i + 1] & 63) << 6 | (p[i + 2] & 63);
            ok = cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff);
        }
        if (ok && len == 4) {
            unsigned cp = (unsigned)(b & 7) << 18 | (unsigned)(p[i + 1] & 63) << 12 |
                          (unsigned)(p[i + 2] & 63) << 6 | (p[i + 3] & 63);
            ok = cp >= 0x10000 && cp <= 0x10ffff;
        }
        if (ok) {
            lk_buf_append(&r->tmp, p + i, len);
            i += len;
        } else {
            lk_buf_append(&r->tmp, "\xef\xbf\xbd", 3);
            valid = 0;
            i++;
        }
    }
    if (valid)
        lk_col_append_bytes(c, s, n);
    else
        lk_col_append_bytes(c, r->tmp.data, r->tmp.len);
}

int lk_json_reader_parse(lk_json_reader *r, const char *data, size_t len,
                         const lk_source_meta *meta, int64_t base_offset, lk_batch *out,
                         lk_json_stats *st, lk_error *err)
{
    int n = lk_batch_ncols(out);
    if (n < 2 || strcmp(lk_batch_col(out, n - 1)->field->name, "_metadata") ||
        strcmp(lk_batch_col(out, n - 2)->field->name, "_corrupt_record"))
        return lk_error_set(err, -EINVAL, "lk_json_reader: the batch is not a raw_events batch");
    int has_rescued = lk_tables_rescued_index(lk_batch_schema(out)) == n - 3;
    r->out = out;
    r->ndata = n - 2 - has_rescued;
    r->file_path = meta->file_path;
    lk_col *c_rescued = has_rescued ? lk_batch_col(out, n - 3) : NULL,
           *c_corrupt = lk_batch_col(out, n - 2), *c_meta = lk_batch_col(out, n - 1);
    int64_t line_no = 0;
    size_t path_n = strlen(meta->file_path), name_n = strlen(meta->file_name);
    size_t i = 0;
    while (i < len) {
        const char *line = data + i;
        const char *nl = memchr(line, '\n', len - i);
        size_t ln = nl ? (size_t)(nl - line) : len - i;
        int64_t offset = base_offset + (int64_t)i;
        i += ln + (nl ? 1 : 0);
        line_no++;
        if (ln && line[ln - 1] == '\r')
            ln--;
        size_t k = 0;
        while (k < ln && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r'))
            k++;
        if (k == ln) {
            st->empty_lines++;
            continue;
        }
        uint32_t row = lk_batch_nrows(out);
        ar_reset(r);
        lk_buf_reset(&r->rescue);
        r->depth = 0;
        r->cap_depth = 0;
        r->cap_col = NULL;
        r->cap_buf = &r->rescue;
        r->target = NULL;
        r->not_object = 0;
        r->dropping = 0;
        r->plen = 0;
        yajl_handle h = yajl_alloc(&r->cb, &r->af, r);
        int ok = h != NULL;
        if (ok)
            ok = yajl_parse(h, (const unsigned char *)line, ln) == yajl_status_ok &&
                 yajl_complete_parse(h) == yajl_status_ok && r->depth == 0;
        /* no yajl_free: its memory is the arena's */
        if (!ok && r->opt.mode != LK_JSON_PERMISSIVE) {
            for (int c = 0; c < r->ndata; c++)
                lk_col_truncate(lk_batch_col(out, c), row);
            if (r->opt.mode == LK_JSON_FAILFAST) {
                ar_reset(r);
                st->failed_line = line_no;
                return lk_error_set(err, LK_EFORMAT,
                                    "malformed record (mode: FAILFAST) at file=%s offset=%lld",
                                    meta->file_path, (long long)offset);
            }
            st->dropped++; /* DROPMALFORMED */
            continue;
        }
        if (ok && !c_rescued) {
            lk_col_append_null(c_corrupt);
        } else if (ok) {
            if (r->rescue.len) {
                lk_buf_puts(&r->rescue, ",\"_file_path\":");
                lk_buf_json_string(&r->rescue, meta->file_path, path_n);
                lk_buf_putc(&r->rescue, '}');
                lk_col_append_bytes(c_rescued, r->rescue.data, r->rescue.len);
                st->rescued++;
            } else {
                lk_col_append_null(c_rescued);
            }
            lk_col_append_null(c_corrupt);
        } else {
            for (int c = 0; c < r->ndata; c++)
                lk_col_truncate(lk_batch_col(out, c), row);
            if (c_rescued)
                lk_col_append_null(c_rescued);
            append_utf8(r, c_corrupt, line, ln);
            st->corrupt++;
        }
        lk_col_append_struct(c_meta);
        lk_col_append_bytes(&c_meta->children[0], meta->file_path, path_n);
        lk_col_append_bytes(&c_meta->children[1], meta->file_name, name_n);
        lk_col_append_i64(&c_meta->children[2], meta->file_size);
        lk_col_append_i64(&c_meta->children[3], meta->file_mtime_us);
        lk_col_append_i64(&c_meta->children[4], offset);
        lk_batch_end_row(out);
        st->rows++;
    }
    ar_reset(r);
    return 0;
}

void lk_json_reader_set_options(lk_json_reader *r, const lk_json_options *opt)
{
    r->opt = *opt;
}
