/*
 * lk_json_reader — JSON lines → raw_events columns; see lk_json_reader.h.
 *
 * yajl's event parser calls back for every token and the callbacks append
 * straight into the columns: no document tree, no per-row allocation. A
 * strict scanner (fp_*, below) makes the same callbacks for the common line
 * at a fraction of yajl's cost and hands every line it is not sure of to
 * yajl, so that the output never depends on which of the two parsed it.
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

#include "lk_bytes.h"
#include "lk_decimal.h"
#include "lk_raw.h"
#include "lk_time.h"

#define MAX_DEPTH LK_JSON_MAX_NESTING
#define ARENA_BYTES (64 << 10)

typedef struct frame {
    int is_array;
    lk_col *cols; /* object: the columns its keys map to */
    int ncols;
    const uint32_t *lens; /* object: the lengths of their names, or NULL */
    uint32_t row; /* object: the slot its values fill */
    int last;     /* object: index of the last key matched (keys repeat in order) */
    lk_col *list; /* array: the array column */
    uint32_t nelem;
    size_t plen; /* length of path when the frame was entered */
    uint64_t met; /* object: its first 64 columns named so far (note_new_keys) */
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
    int no_fast;       /* 1: every line goes through yajl (tests compare both) */
    /* name lengths of the batch's columns and struct children, rebuilt per
       parse call: lens_at[k] = {columns, first length in lens} */
    uint32_t *lens;
    size_t nlens, lens_cap;
    struct lens_at {
        const lk_col *cols;
        size_t at;
    } *lens_at;
    int nlens_at, lens_at_cap;
    lk_buf str;        /* a string with escapes, unescaped (fast path) */
    lk_buf bin;        /* a BINARY column's value, decoded from base64 */
    lk_raw_stats *stats; /* the parse call's (note_new_keys) */
    int64_t line_no;     /* the line being parsed, 1-based in the chunk */
    const char *line;    /* ... and its bytes: a key outside them was unescaped */
    size_t line_len;
    const char *rescued_name; /* the rescued column's name, or NULL */
    int quiet_depth;     /* > 0: no key is noted below this depth (a repeated key's value) */
};

/* Appends the exact decimal text s to c (DECIMAL(p,s): an int64 up to
   p = 18, else 16 big-endian bytes); 0 if it does not fit (rescued). */
static int append_decimal(lk_col *c, const char *s, size_t n)
{
    int64_t v;
    unsigned char be[16];
    if (lk_decimal_parse(s, n, c->field->precision, c->field->scale, &v, be))
        return 0;
    if (c->field->precision <= 18)
        lk_col_append_i64(c, v);
    else
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

/* name (NUL-terminated) equals key[0..n) (which may hold NUL bytes). */
static inline int name_eq(const char *name, const unsigned char *key, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!name[i] || (unsigned char)name[i] != key[i])
            return 0;
    return name[n] == '\0';
}

/* Key key[0..n) names column i of frame f. */
static inline int key_is(const frame *f, int i, const unsigned char *key, size_t n)
{
    if (f->lens)
        return f->lens[i] == n && lk_bytes_eq(f->cols[i].field->name, key, n);
    return name_eq(f->cols[i].field->name, key, n);
}

static void lens_walk(lk_json_reader *r, const lk_col *c);

/* Records the name lengths of cols[0..n) and of every struct below them. */
static void lens_add(lk_json_reader *r, const lk_col *cols, int n)
{
    if (r->nlens_at == r->lens_at_cap) {
        r->lens_at_cap = r->lens_at_cap ? r->lens_at_cap * 2 : 8;
        r->lens_at = realloc(r->lens_at, (size_t)r->lens_at_cap * sizeof *r->lens_at);
        if (!r->lens_at)
            abort();
    }
    r->lens_at[r->nlens_at].cols = cols;
    r->lens_at[r->nlens_at++].at = r->nlens;
    if (r->nlens + (size_t)n > r->lens_cap) {
        while (r->nlens + (size_t)n > r->lens_cap)
            r->lens_cap = r->lens_cap ? r->lens_cap * 2 : 64;
        r->lens = realloc(r->lens, r->lens_cap * sizeof *r->lens);
        if (!r->lens)
            abort();
    }
    for (int i = 0; i < n; i++)
        r->lens[r->nlens++] = (uint32_t)strlen(cols[i].field->name);
    for (int i = 0; i < n; i++)
        lens_walk(r, &cols[i]);
}

static void lens_walk(lk_json_reader *r, const lk_col *c)
{
    if (c->field->type == LK_TYPE_STRUCT)
        lens_add(r, c->children, c->n_children);
    else
        for (int i = 0; i < c->n_children; i++)
            lens_walk(r, &c->children[i]);
}

/* The name lengths of the columns cols (a frame's), or NULL. */
static const uint32_t *lens_of(const lk_json_reader *r, const lk_col *cols)
{
    for (int k = 0; k < r->nlens_at; k++)
        if (r->lens_at[k].cols == cols)
            return r->lens + r->lens_at[k].at;
    return NULL;
}

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

/* [-]digits with at most 18 digits (JSON number text): exact, as strtoll. */
static int fast_int(const char *s, size_t n, int64_t *out)
{
    size_t i = s[0] == '-';
    if (n - i == 0 || n - i > 18)
        return -1;
    int64_t v = 0;
    for (; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9)
            return -1;
        v = v * 10 + (int64_t)d;
    }
    *out = s[0] == '-' ? -v : v;
    return 0;
}

/* A JSON number of at most 15 significant digits and a decimal exponent
   within ±22: the mantissa and the power of ten are exact doubles, so one
   IEEE multiplication or division rounds correctly and the result is
   strtod's (Clinger's fast path). -1 for anything else (then strtod). */
static int fast_double(const char *s, size_t n, double *out)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    size_t i = 0;
    int neg = 0, digits = 0, exp10 = 0;
    uint64_t m = 0;
    if (n >= 64)
        return -1; /* on_number rescues such a long text */
    if (i < n && s[i] == '-')
        neg = 1, i++;
    int seen = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, seen++) {
        if (m || s[i] != '0')
            digits++;
        m = m * 10 + (uint64_t)(s[i] - '0');
        if (digits > 15)
            return -1;
    }
    if (i < n && s[i] == '.') {
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, seen++) {
            if (m || s[i] != '0')
                digits++;
            m = m * 10 + (uint64_t)(s[i] - '0');
            exp10--;
            if (digits > 15)
                return -1;
        }
    }
    if (!seen)
        return -1;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        int eneg = 0, e = 0, ed = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, ed++) {
            e = e * 10 + (s[i] - '0');
            if (e > 1000)
                return -1;
        }
        if (!ed)
            return -1;
        exp10 += eneg ? -e : e;
    }
    if (i != n || exp10 < -22 || exp10 > 22)
        return -1;
    double v = (double)m;
    v = exp10 < 0 ? v / p10[-exp10] : v * p10[exp10];
    *out = neg ? -v : v;
    return 0;
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
        /* the fast paths first: fast_int takes digits only (an integer) */
        if (c->field->type == LK_TYPE_LONG) {
            int64_t v;
            if (fast_int(s, n, &v) == 0) {
                lk_col_append_i64(c, v);
                return 1;
            }
        } else if (c->field->type == LK_TYPE_DOUBLE) {
            double v;
            if (fast_double(s, n, &v) == 0) {
                lk_col_append_f64(c, v);
                return 1;
            }
        }
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

/* The value of base64 digit ch, -2 for the padding '=', -1 for anything else. */
static int b64_digit(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+') return 62;
    if (ch == '/') return 63;
    return ch == '=' ? -2 : -1;
}

/* s[0..n) (a JSON string, unescaped) as the bytes it encodes in base64, into out; 0, or -1 when
   it is not base64. What Spark's JSON reader takes for a BinaryType field: Jackson's
   getBinaryValue with its default variant (MIME-NO-LINEFEEDS): the standard alphabet, padding
   required (a last group of 2 or 3 digits ends in "==" or "="), white space (any byte up to
   0x20) skipped before a group but not inside one, and a padded group may be followed by another
   (Jackson decodes group by group). The bits a padded group does not use are not checked. */
static int b64_decode(const unsigned char *s, size_t n, lk_buf *out)
{
    lk_buf_reset(out);
    lk_buf_grow(out, n / 4 * 3 + 3);
    size_t i = 0;
    for (;;) {
        while (i < n && s[i] <= ' ')
            i++;
        if (i == n) return 0;
        if (n - i < 4) return -1;
        int d0 = b64_digit(s[i]), d1 = b64_digit(s[i + 1]), d2 = b64_digit(s[i + 2]),
            d3 = b64_digit(s[i + 3]);
        i += 4;
        if (d0 < 0 || d1 < 0 || d2 == -1 || d3 == -1 || (d2 == -2 && d3 != -2)) return -1;
        uint32_t v = (uint32_t)d0 << 18 | (uint32_t)d1 << 12 | (uint32_t)(d2 < 0 ? 0 : d2) << 6 |
                     (uint32_t)(d3 < 0 ? 0 : d3);
        unsigned char b[3] = {(unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
        lk_buf_append(out, b, d2 < 0 ? 1 : d3 < 0 ? 2 : 3);
    }
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
            lk_col_append_bytes(c, s, n);
            return 1;
        case LK_TYPE_BINARY: /* base64, as Spark reads it and lk_rowjson writes it */
            if (b64_decode(s, n, &r->bin) == 0) {
                lk_col_append_bytes(c, r->bin.data ? r->bin.data : "", r->bin.len);
                return 1;
            }
            break;
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
    /* the levels above the captured value count too: a line is at most MAX_DEPTH deep in all
       (docs/sources.md), whether its deep part is a column's or captured as text */
    if (r->depth + r->cap_depth + 1 > MAX_DEPTH)
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
        /* no data column at all: no lengths (r->lens is NULL then) */
        f.lens = r->nlens_at && r->lens ? r->lens + r->lens_at[0].at : NULL;
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
        f.lens = lens_of(r, c->children);
        f.ncols = c->n_children;
        f.row = c->len - 1;
        f.last = -1;
        return push(r, f);
    }
    return cap_start(r, c, 1);
}

/* 1 if the key was unescaped into a buffer of the parser's (its bytes are not the line's). */
static int key_escaped(const lk_json_reader *r, const unsigned char *key)
{
    return (const char *)key < r->line || (const char *)key >= r->line + r->line_len;
}

/* 1 if key[0..n) names a column of frame f but for case. */
static int names_but_for_case(const frame *f, const unsigned char *key, size_t n)
{
    for (int i = 0; i < f->ncols; i++) {
        const char *name = f->cols[i].field->name;
        if (strlen(name) == n && !strncasecmp(name, (const char *)key, n))
            return 1;
    }
    return 0;
}

/* Notes the line as one with a key for the scan, named by r->path (without array indices). */
static void note_path(lk_json_reader *r)
{
    lk_raw_stats *st = r->stats;
    if (!st->new_keys++)
        st->new_key_line = r->line_no;
    if (st->n_new_key_names == LK_RAW_NEW_KEYS)
        return;
    char p[128];
    size_t k = 0;
    for (size_t i = 0; i < r->plen && k + 1 < sizeof p; i++) {
        if (r->path[i] == '[') { /* an element's index: "tags[3].x" is "tags.x" */
            while (i < r->plen && r->path[i] != ']')
                i++;
            continue;
        }
        p[k++] = r->path[i];
    }
    p[k] = '\0';
    for (int i = 0; i < st->n_new_key_names; i++)
        if (!strcmp(st->new_key_names[i], p))
            return;
    memcpy(st->new_key_names[st->n_new_key_names++], p, k + 1);
}

/* Notes the key at the end of r->path (key[0..n), no column of frame f, not even but for case)
   in the stats' new keys: its path without array indices, once. As ingest's scan does
   (lk_evolve_scan_line), an escaped key (it is rescued, never a column), a key below a repeated
   key (rescued whole) and a system or rescued column's name at the top are not noted; the notes
   of a line that does not parse are taken back at its end. */
static void note_new_key(lk_json_reader *r, const frame *f, const unsigned char *key, size_t n)
{
    if (key_escaped(r, key) || (r->quiet_depth && r->depth > r->quiet_depth))
        return;
    if (names_but_for_case(f, key, n))
        return; /* rescued, never a column */
    if (r->depth == 1) { /* a system column's name, or the rescued column's: rescued */
        if (r->rescued_name && strlen(r->rescued_name) == n && !memcmp(r->rescued_name, key, n))
            return;
        char nm[64];
        if (n < sizeof nm) {
            memcpy(nm, key, n);
            nm[n] = '\0';
            if (lk_raw_reserved(nm))
                return;
        }
    }
    note_path(r);
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
    if (r->quiet_depth >= r->depth)
        r->quiet_depth = 0; /* the repeated key's value is over */
    if (r->dropping && r->drop_depth == r->depth) { /* the dropped value is complete */
        r->rescue.len = r->drop_from;
        r->dropping = 0;
    }
    path_push(r, (const char *)key, n);
    r->target = NULL;
    int hit = -1;
    int guess = f->last + 1;
    if (guess < f->ncols && key_is(f, guess, key, n))
        hit = guess;
    for (int i = 0; hit < 0 && i < f->ncols; i++)
        if (key_is(f, i, key, n))
            hit = i;
    if (hit >= 0) {
        f->last = hit;
        if (f->cols[hit].len == f->row) /* not set yet in this row */
            r->target = &f->cols[hit];
        if (r->opt.note_new_keys) {
            if (key_escaped(r, key)) {
                /* an escaped key that names a column: the reader takes it as the field, the
                   scan skips it (and looks into the same field's plain key, which the reader
                   then treats as a repeat): ingest decides, at the cost of a reading (the
                   review's fuzzer found it) */
                if (!r->quiet_depth || r->depth <= r->quiet_depth)
                    note_path(r);
            } else if (hit < 64) {
                /* the scan takes a field's first key only: nothing below a repeat is new */
                if (f->met >> hit & 1)
                    r->quiet_depth = r->depth;
                f->met |= 1ull << hit;
            }
        }
    } else if (r->opt.note_new_keys) {
        note_new_key(r, f, key, n);
    } else if (r->opt.drop_unknown) {
        /* schema_evolution_mode none: a new key is dropped, not rescued; a
           key equal to a column but for case is still rescued */
        if (!names_but_for_case(f, key, n)) {
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

/* ---- fast path: a strict scanner that makes yajl's callbacks ----
 *
 * yajl costs about 7,000 instructions per 230-byte event here, most of it
 * in its lexer and buffer handling. This scanner accepts a subset of JSON
 * (whitespace is space, tab or CR; \u escapes other than NUL and lone
 * surrogates; well-formed UTF-8) and makes exactly the calls yajl makes for
 * such a line, with the same bytes. On anything outside that subset - a
 * syntax error included - it gives up (returns 0): the caller rolls the row
 * back and parses the line again with yajl, which then decides (and reports)
 * as before. So the output never depends on which parser ran. */

#define FP_MAX_DEPTH 32

typedef struct fp {
    lk_json_reader *r;
    const unsigned char *p, *end;
} fp;

static inline void fp_ws(fp *s)
{
    /* most tokens follow each other without a space: one test for them */
    while (s->p < s->end && *s->p <= ' ' && (*s->p == ' ' || *s->p == '\t' || *s->p == '\r'))
        s->p++;
}

static int hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (c | 0x20) - 'a' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static void put_utf8(lk_buf *b, unsigned cp)
{
    unsigned char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xc0 | cp >> 6);
        u[1] = (unsigned char)(0x80 | (cp & 63));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xe0 | cp >> 12);
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 63));
        u[2] = (unsigned char)(0x80 | (cp & 63));
        n = 3;
    } else {
        u[0] = (unsigned char)(0xf0 | cp >> 18);
        u[1] = (unsigned char)(0x80 | ((cp >> 12) & 63));
        u[2] = (unsigned char)(0x80 | ((cp >> 6) & 63));
        u[3] = (unsigned char)(0x80 | (cp & 63));
        n = 4;
    }
    lk_buf_append_fast(b, u, n);
}

/* The first of the 8 bytes at p that ends a run of plain string bytes ('"',
   '\\', a control byte or a non-ASCII one), or 8 when there is none. */
static inline int plain8(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    /* a byte's high bit is set when it is zero in q or b, below 0x20, or >= 0x80 */
    uint64_t m = ((q - ones) & ~q) | ((b - ones) & ~b) | (w - ones * 0x20) | w;
    m &= high;
    if (!m)
        return 8;
    /* the lowest flagged byte is exact (borrows only run upwards); a
       GCC/Clang builtin, as elsewhere in the project */
    return __builtin_ctzll(m) >> 3;
}

/* A string at s->p (just past the opening quote): its unescaped bytes in
   *out and *n (into the line, or into r->str when it has escapes). */
static int fp_string(fp *s, const unsigned char **out, size_t *n)
{
    const unsigned char *p = s->p, *end = s->end, *start = p;
    for (;;) {
        while (end - p >= 8) {
            int k = plain8(p);
            p += k;
            if (k < 8)
                break;
        }
        while (p < end && *p >= 0x20 && *p != '"' && *p != '\\' && *p < 0x80)
            p++;
        if (p == end)
            return 0;
        if (*p == '"')
            break;
        if (*p < 0x20 || *p == '\\')
            goto escaped;
        size_t k = lk_utf8_len(p, end);
        if (!k)
            return 0;
        p += k;
    }
    *out = start;
    *n = (size_t)(p - start);
    s->p = p + 1;
    return 1;
escaped:;
    lk_buf *b = &s->r->str;
    lk_buf_reset(b);
    lk_buf_append(b, start, (size_t)(p - start));
    while (p < end && *p != '"') {
        /* a run of plain bytes and well-formed UTF-8 characters, copied once */
        const unsigned char *q = p;
        for (;;) {
            while (end - q >= 8) {
                int k = plain8(q);
                q += k;
                if (k < 8)
                    break;
            }
            while (q < end && *q >= 0x20 && *q != '"' && *q != '\\' && *q < 0x80)
                q++;
            if (q == end || *q < 0x80)
                break;
            size_t k = lk_utf8_len(q, end);
            if (!k)
                return 0;
            q += k;
        }
        if (q > p) {
            lk_buf_append_fast(b, p, (size_t)(q - p));
            p = q;
            continue;
        }
        if (*p < 0x20)
            return 0;
        /* *p is a backslash */
        if (end - p < 2)
            return 0;
        char e;
        switch (p[1]) {
        case '"': e = '"'; break;
        case '\\': e = '\\'; break;
        case '/': e = '/'; break;
        case 'b': e = '\b'; break;
        case 'f': e = '\f'; break;
        case 'n': e = '\n'; break;
        case 'r': e = '\r'; break;
        case 't': e = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (end - p < 6 || hex4(p + 2, &cp))
                return 0;
            p += 6;
            if (cp == 0 || (cp >= 0xdc00 && cp <= 0xdfff))
                return 0; /* yajl's own handling of these differs: let it decide */
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) ||
                    lo < 0xdc00 || lo > 0xdfff)
                    return 0;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            }
            put_utf8(b, cp);
            continue;
        }
        default: return 0;
        }
        lk_buf_append_fast(b, &e, 1);
        p += 2;
    }
    if (p == end)
        return 0;
    *out = (const unsigned char *)b->data;
    *n = b->len;
    s->p = p + 1;
    return 1;
}

/* fp_string for the usual key or short value (up to 32 plain ASCII bytes),
   inline: 1, or 0 when the string needs fp_string. */
static inline int fp_short(fp *s, const unsigned char **out, size_t *n)
{
    const unsigned char *p = s->p;
    for (size_t off = 0; off < 32 && s->end - (p + off) >= 8; off += 8) {
        int k = plain8(p + off);
        if (k < 8) {
            if (p[off + (size_t)k] != '"')
                return 0;
            *out = p;
            *n = off + (size_t)k;
            s->p = p + off + (size_t)k + 1;
            return 1;
        }
    }
    return 0;
}

/* A JSON number at s->p, as yajl's lexer reads it. */
static int fp_number(fp *s)
{
    const unsigned char *p = s->p, *end = s->end;
    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0')
        p++;
    else if (p < end && *p >= '1' && *p <= '9')
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    else
        return 0;
    if (p < end && *p == '.') {
        const unsigned char *d = ++p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        if (p == d)
            return 0;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        const unsigned char *d = p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        if (p == d)
            return 0;
    }
    const char *t = (const char *)s->p;
    s->p = p;
    return on_number(s->r, t, (size_t)(p - (const unsigned char *)t));
}

static int fp_literal(fp *s, const char *lit, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n))
        return 0;
    s->p += n;
    /* "truex" is one bad token to yajl: the next byte must end the value */
    return s->p == s->end || !((*s->p >= 'a' && *s->p <= 'z') || (*s->p >= 'A' && *s->p <= 'Z') ||
                               (*s->p >= '0' && *s->p <= '9'));
}

static int fp_value(fp *s, int depth);

static int fp_object(fp *s, int depth)
{
    if (depth > FP_MAX_DEPTH || !on_start_map(s->r))
        return 0;
    s->p++;
    fp_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return on_end_map(s->r);
    }
    for (;;) {
        if (s->p == s->end || *s->p != '"')
            return 0;
        s->p++;
        const unsigned char *k;
        size_t kn;
        if ((!fp_short(s, &k, &kn) && !fp_string(s, &k, &kn)) || !on_map_key(s->r, k, kn))
            return 0;
        fp_ws(s);
        if (s->p == s->end || *s->p != ':')
            return 0;
        s->p++;
        fp_ws(s);
        if (!fp_value(s, depth))
            return 0;
        fp_ws(s);
        if (s->p == s->end)
            return 0;
        if (*s->p == '}') {
            s->p++;
            return on_end_map(s->r);
        }
        if (*s->p != ',')
            return 0;
        s->p++;
        fp_ws(s);
    }
}

static int fp_array(fp *s, int depth)
{
    if (depth > FP_MAX_DEPTH || !on_start_array(s->r))
        return 0;
    s->p++;
    fp_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return on_end_array(s->r);
    }
    for (;;) {
        if (!fp_value(s, depth))
            return 0;
        fp_ws(s);
        if (s->p == s->end)
            return 0;
        if (*s->p == ']') {
            s->p++;
            return on_end_array(s->r);
        }
        if (*s->p != ',')
            return 0;
        s->p++;
        fp_ws(s);
    }
}

static int fp_value(fp *s, int depth)
{
    if (s->p == s->end)
        return 0;
    switch (*s->p) {
    case '{': return fp_object(s, depth + 1);
    case '[': return fp_array(s, depth + 1);
    case '"': {
        s->p++;
        const unsigned char *v;
        size_t n;
        return (fp_short(s, &v, &n) || fp_string(s, &v, &n)) && on_string(s->r, v, n);
    }
    case 't': return fp_literal(s, "true", 4) && on_boolean(s->r, 1);
    case 'f': return fp_literal(s, "false", 5) && on_boolean(s->r, 0);
    case 'n': return fp_literal(s, "null", 4) && on_null(s->r);
    default: return fp_number(s);
    }
}

/* 1 when the line was one JSON object and every callback succeeded. */
static int fp_line(lk_json_reader *r, const char *line, size_t n)
{
    fp s = {r, (const unsigned char *)line, (const unsigned char *)line + n};
    fp_ws(&s);
    if (s.p == s.end || *s.p != '{' || !fp_object(&s, 1))
        return 0;
    fp_ws(&s);
    return s.p == s.end && r->depth == 0;
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
    lk_buf_free(&r->str);
    lk_buf_free(&r->bin);
    free(r->lens);
    free(r->lens_at);
    free(r);
    *rp = NULL;
}

/* Drops what a line appended to c from slot len on, including the
   elements a not yet closed array/map slot appended to its children
   (lk_col_truncate leaves those when the slot itself is not there). */
static void rollback(lk_col *c, uint32_t len)
{
    lk_col_truncate(c, len);
    if (c->len != len)
        return;
    if (c->field->type == LK_TYPE_STRUCT)
        for (int i = 0; i < c->n_children; i++)
            rollback(&c->children[i], len);
    else if (c->field->type == LK_TYPE_ARRAY || c->field->type == LK_TYPE_MAP)
        for (int i = 0; i < c->n_children; i++)
            rollback(&c->children[i], c->offsets[len]);
}

/* Per-line state back to the start of a line. */
static void reset_line(lk_json_reader *r)
{
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
}

int lk_json_reader_parse(lk_json_reader *r, const char *data, size_t len,
                         const lk_source_meta *meta, int64_t base_offset, lk_batch *out,
                         lk_raw_stats *st, lk_error *err)
{
    int n = lk_batch_ncols(out);
    if (n < 2 || strcmp(lk_batch_col(out, n - 1)->field->name, "_metadata") ||
        strcmp(lk_batch_col(out, n - 2)->field->name, "_corrupt_record"))
        return lk_error_set(err, -EINVAL, "lk_json_reader: the batch is not a raw_events batch");
    int ri = lk_raw_rescued_index(lk_batch_schema(out));
    int has_rescued = ri >= 0 && ri == n - 3; /* -1 == n - 3 for a schema of no data column */
    r->out = out;
    r->ndata = n - 2 - has_rescued;
    r->nlens = 0;
    r->nlens_at = 0;
    lens_add(r, lk_batch_col(out, 0), r->ndata); /* lens_at[0]: the top level */
    r->file_path = meta->file_path;
    r->stats = st;
    r->rescued_name = has_rescued ? lk_batch_col(out, n - 3)->field->name : NULL;
    lk_col *c_rescued = has_rescued ? lk_batch_col(out, n - 3) : NULL,
           *c_corrupt = lk_batch_col(out, n - 2), *c_meta = lk_batch_col(out, n - 1);
    int64_t line_no = 0;
    size_t path_n = strlen(meta->file_path), name_n = strlen(meta->file_name);
    size_t i = 0;
    while (i < len) {
        int64_t offset = base_offset + (int64_t)i;
        size_t ln;
        const char *line = lk_raw_next_line(data, len, &i, &ln);
        line_no++;
        r->line_no = line_no;
        size_t k = 0;
        while (k < ln && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r'))
            k++;
        if (k == ln) {
            st->empty_lines++;
            continue;
        }
        uint32_t row = lk_batch_nrows(out);
        reset_line(r);
        r->line = line;
        r->line_len = ln;
        r->quiet_depth = 0;
        int64_t keys0 = st->new_keys, kline0 = st->new_key_line;
        int names0 = st->n_new_key_names;
        int ok = !r->no_fast && fp_line(r, line, ln);
        if (!ok) {
            if (!r->no_fast) { /* yajl decides: the row starts again */
                for (int c = 0; c < r->ndata; c++)
                    rollback(lk_batch_col(out, c), row);
                reset_line(r);
                r->quiet_depth = 0;
                st->new_keys = keys0; /* and so do its notes */
                st->new_key_line = kline0;
                st->n_new_key_names = names0;
            }
            /* yajl lets overlong forms, surrogates and code points above U+10FFFF through; the
               fast scanner does not, and neither does a Parquet string: such a line is a
               corrupt record whichever parser looks at it */
            yajl_handle h = lk_utf8_valid(line, ln) ? yajl_alloc(&r->cb, &r->af, r) : NULL;
            ok = h != NULL;
            if (ok)
                ok = yajl_parse(h, (const unsigned char *)line, ln) == yajl_status_ok &&
                     yajl_complete_parse(h) == yajl_status_ok && r->depth == 0;
            /* no yajl_free: its memory is the arena's */
        }
        if (!ok) { /* the scan's inference takes no key from a line that does not parse */
            st->new_keys = keys0;
            st->new_key_line = kline0;
            st->n_new_key_names = names0;
        }
        if (!ok && r->opt.mode != LK_JSON_PERMISSIVE) {
            for (int c = 0; c < r->ndata; c++)
                rollback(lk_batch_col(out, c), row);
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
                rollback(lk_batch_col(out, c), row);
            if (c_rescued)
                lk_col_append_null(c_rescued);
            lk_col_append_utf8(c_corrupt, line, ln, &r->tmp);
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

void lk_json_reader_set_fast(lk_json_reader *r, int on)
{
    r->no_fast = !on;
}
