/*
 * lk_parquet_reader — Parquet decoder (see lk_parquet_reader.h).
 *
 * The file is mmap'ed read-only; every offset and length taken from it is
 * checked against the mapping before use. The footer becomes an lk_schema
 * (3-level and legacy 2-level LIST/MAP layouts both collapse to lk arrays and
 * maps with the same Dremel levels). A row group is read column chunk by
 * column chunk: pages are decompressed, levels and values decoded into
 * per-chunk buffers, and the chunk is then assembled into the batch's column
 * tree with the leaf descriptors of lk_parquet_schema: the first leaf under a
 * struct/array/map node builds that node's slots (validity, offsets), every
 * leaf appends its own values and null slots.
 */
#include "lk_parquet_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "lk_parquet_schema.h"
#include "lk_thrift.h"

#define MAX_PAGE_VALUES (1u << 26)
#define MAX_CHUNK_VALUES (1u << 28)

typedef struct pq_elem {
    int type, type_length, repetition, num_children, converted, scale, precision;
    int has_type, has_rep;
    int logical; /* LogicalType union field id, 0 if none */
    int ts_utc, ts_unit; /* 1 millis 2 micros 3 nanos */
    int int_bits, int_signed;
    int dec_scale, dec_precision;
    char name[256];
} pq_elem;

typedef struct pq_chunk {
    int type, codec;
    int64_t num_values, data_off, dict_off, total_comp, total_unc;
    /* statistics: bounds as offsets into the mapping (0 len + !set = absent) */
    int has_stats, min_set, max_set, min_exact, max_exact;
    int64_t null_count;
    const uint8_t *min_p, *max_p; /* into the file's bytes */
    size_t min_len, max_len;
} pq_chunk;

typedef struct pq_rg {
    int64_t num_rows;
    pq_chunk *cols;
} pq_rg;

typedef struct pq_leafsrc {
    int phys, type_length;
    int ts_unit; /* 0 none, 1 millis, 2 micros, 3 nanos */
} pq_leafsrc;

struct lk_pq_reader {
    char path[4096];
    const uint8_t *map;
    size_t size;
    int mapped; /* map is an mmap (else the caller's buffer) */
    pq_elem *elems;
    int n_elems;
    int64_t num_rows;
    pq_rg *rgs;
    int n_rgs;
    char created_by[256];
    int n_type_orders;
    lk_schema *schema;
    lk_pq_leaf *leaves;
    int n_leaves;
    pq_leafsrc *src;
    int *top_first_leaf; /* per top-level field, its first leaf index; [nfields] = n_leaves */
    /* projection */
    lk_schema *proj;
    lk_pq_leaf *pleaves;
    int n_pleaves;
    int *pcols;
    int n_pcols;
    /* scratch, reused */
    lk_buf page, rep, def, vals, offs, data, dvals, doffs, ddata, idx, dtmp;
    ZSTD_DCtx *zd;
};

static int fmt_err(lk_pq_reader *r, lk_error *err, size_t off, const char *what)
{
    return lk_error_set(err, LK_EFORMAT, "%s: corrupt parquet at offset %zu: %s", r->path, off,
                        what);
}

/* ---- footer ---- */

static void rd_name(lk_tc_r *t, char *dst, size_t cap)
{
    size_t n;
    const uint8_t *p = lk_tc_read_binary(t, &n);
    if (!p) {
        dst[0] = 0;
        return;
    }
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, p, n);
    dst[n] = 0;
}

static void parse_logical(lk_tc_r *t, pq_elem *e)
{
    int16_t id;
    int ty;
    lk_tc_enter(t);
    while (lk_tc_next(t, &id, &ty)) {
        if (ty != LK_TC_STRUCT) {
            lk_tc_skip(t, ty);
            continue;
        }
        e->logical = id;
        lk_tc_enter(t);
        int16_t id2;
        int ty2;
        while (lk_tc_next(t, &id2, &ty2)) {
            if (id == 8 && id2 == 1)
                e->ts_utc = (int)lk_tc_read_int(t, ty2);
            else if (id == 8 && id2 == 2 && ty2 == LK_TC_STRUCT) {
                lk_tc_enter(t);
                int16_t id3;
                int ty3;
                while (lk_tc_next(t, &id3, &ty3)) {
                    e->ts_unit = id3;
                    lk_tc_skip(t, ty3);
                }
                lk_tc_leave(t);
            } else if (id == 10 && id2 == 1)
                e->int_bits = (int)lk_tc_read_int(t, ty2);
            else if (id == 10 && id2 == 2)
                e->int_signed = (int)lk_tc_read_int(t, ty2);
            else if (id == 5 && id2 == 1)
                e->dec_scale = (int)lk_tc_read_int(t, ty2);
            else if (id == 5 && id2 == 2)
                e->dec_precision = (int)lk_tc_read_int(t, ty2);
            else
                lk_tc_skip(t, ty2);
        }
        lk_tc_leave(t);
    }
    lk_tc_leave(t);
}

static void parse_elem(lk_tc_r *t, pq_elem *e)
{
    memset(e, 0, sizeof *e);
    e->converted = -1;
    int16_t id;
    int ty;
    lk_tc_enter(t);
    while (lk_tc_next(t, &id, &ty)) {
        switch (id) {
        case 1: e->type = (int)lk_tc_read_int(t, ty); e->has_type = 1; break;
        case 2: e->type_length = (int)lk_tc_read_int(t, ty); break;
        case 3: e->repetition = (int)lk_tc_read_int(t, ty); e->has_rep = 1; break;
        case 4:
            if (ty == LK_TC_BINARY)
                rd_name(t, e->name, sizeof e->name);
            else
                lk_tc_skip(t, ty);
            break;
        case 5: e->num_children = (int)lk_tc_read_int(t, ty); break;
        case 6: e->converted = (int)lk_tc_read_int(t, ty); break;
        case 7: e->scale = (int)lk_tc_read_int(t, ty); break;
        case 8: e->precision = (int)lk_tc_read_int(t, ty); break;
        case 10:
            if (ty == LK_TC_STRUCT)
                parse_logical(t, e);
            else
                lk_tc_skip(t, ty);
            break;
        default: lk_tc_skip(t, ty);
        }
    }
    lk_tc_leave(t);
}

static void parse_stats(lk_tc_r *t, pq_chunk *c)
{
    int16_t id;
    int ty;
    int legacy_min = 0, legacy_max = 0;
    const uint8_t *lmin_p = NULL, *lmax_p = NULL;
    size_t lmin_len = 0, lmax_len = 0;
    c->has_stats = 1;
    lk_tc_enter(t);
    while (lk_tc_next(t, &id, &ty)) {
        if ((id == 1 || id == 2 || id == 5 || id == 6) && ty == LK_TC_BINARY) {
            size_t n;
            const uint8_t *p = lk_tc_read_binary(t, &n);
            if (!p)
                break;
            if (id == 5) {
                c->max_set = 1, c->max_p = p, c->max_len = n;
            } else if (id == 6) {
                c->min_set = 1, c->min_p = p, c->min_len = n;
            } else if (id == 1) {
                legacy_max = 1, lmax_p = p, lmax_len = n;
            } else {
                legacy_min = 1, lmin_p = p, lmin_len = n;
            }
        } else if (id == 3)
            c->null_count = lk_tc_read_int(t, ty);
        else if (id == 7)
            c->max_exact = (int)lk_tc_read_int(t, ty);
        else if (id == 8)
            c->min_exact = (int)lk_tc_read_int(t, ty);
        else
            lk_tc_skip(t, ty);
    }
    lk_tc_leave(t);
    /* the deprecated min/max (signed order) only when the new ones are absent */
    if (!c->min_set && legacy_min)
        c->min_set = 1, c->min_p = lmin_p, c->min_len = lmin_len;
    if (!c->max_set && legacy_max)
        c->max_set = 1, c->max_p = lmax_p, c->max_len = lmax_len;
}

static void parse_colmeta(lk_tc_r *t, pq_chunk *c)
{
    int16_t id;
    int ty;
    c->null_count = -1;
    c->min_exact = c->max_exact = -1;
    lk_tc_enter(t);
    while (lk_tc_next(t, &id, &ty)) {
        switch (id) {
        case 1: c->type = (int)lk_tc_read_int(t, ty); break;
        case 4: c->codec = (int)lk_tc_read_int(t, ty); break;
        case 5: c->num_values = lk_tc_read_int(t, ty); break;
        case 6: c->total_unc = lk_tc_read_int(t, ty); break;
        case 7: c->total_comp = lk_tc_read_int(t, ty); break;
        case 12:
            if (ty == LK_TC_STRUCT)
                parse_stats(t, c);
            else
                lk_tc_skip(t, ty);
            break;
        case 9: c->data_off = lk_tc_read_int(t, ty); break;
        case 11: c->dict_off = lk_tc_read_int(t, ty); break;
        default: lk_tc_skip(t, ty);
        }
    }
    lk_tc_leave(t);
}

static int parse_rg(lk_tc_r *t, pq_rg *g, int ncols)
{
    int16_t id;
    int ty;
    int got = -1;
    lk_tc_enter(t);
    while (lk_tc_next(t, &id, &ty)) {
        if (id == 1 && ty == LK_TC_LIST) {
            int et;
            uint32_t n = lk_tc_read_list(t, &et);
            if (t->err || et != LK_TC_STRUCT || (int)n != ncols || g->cols) {
                t->err = 1;
                break;
            }
            g->cols = calloc(n ? n : 1, sizeof *g->cols);
            if (!g->cols)
                abort();
            for (uint32_t i = 0; i < n && !t->err; i++) {
                int16_t id2;
                int ty2;
                lk_tc_enter(t);
                while (lk_tc_next(t, &id2, &ty2)) {
                    if (id2 == 3 && ty2 == LK_TC_STRUCT)
                        parse_colmeta(t, &g->cols[i]);
                    else
                        lk_tc_skip(t, ty2);
                }
                lk_tc_leave(t);
            }
            got = (int)n;
        } else if (id == 3)
            g->num_rows = lk_tc_read_int(t, ty);
        else
            lk_tc_skip(t, ty);
    }
    lk_tc_leave(t);
    return got == ncols ? 0 : -1;
}

/* ---- schema conversion ---- */

typedef struct conv {
    lk_pq_reader *r;
    int pos;
    int err;
    const char *why;
    pq_leafsrc *src;
    int nsrc, capsrc;
} conv;

enum { CT_UTF8 = 0, CT_MAP = 1, CT_MAP_KV = 2, CT_LIST = 3, CT_ENUM = 4, CT_DECIMAL = 5,
       CT_DATE = 6, CT_TS_MILLIS = 9, CT_TS_MICROS = 10, CT_UINT8 = 11, CT_UINT16 = 12,
       CT_UINT32 = 13, CT_UINT64 = 14, CT_INT8 = 15, CT_INT16 = 16, CT_JSON = 19 };

static void add_src(conv *c, const pq_elem *e)
{
    if (c->nsrc == c->capsrc) {
        c->capsrc = c->capsrc ? c->capsrc * 2 : 16;
        c->src = realloc(c->src, sizeof *c->src * (size_t)c->capsrc);
        if (!c->src)
            abort();
    }
    pq_leafsrc *s = &c->src[c->nsrc++];
    s->phys = e->type;
    s->type_length = e->type_length;
    s->ts_unit = 0;
    if (e->logical == 8)
        s->ts_unit = e->ts_unit;
    else if (e->converted == CT_TS_MILLIS)
        s->ts_unit = 1;
    else if (e->converted == CT_TS_MICROS)
        s->ts_unit = 2;
}

static int prim_type(const pq_elem *e, int *prec, int *scale)
{
    int dec = e->converted == CT_DECIMAL || e->logical == 5;
    if (dec) {
        *prec = e->logical == 5 ? e->dec_precision : e->precision;
        *scale = e->logical == 5 ? e->dec_scale : e->scale;
        if (*prec <= 0 || *prec > 38 || *scale < 0 || *scale > *prec)
            return -1;
    }
    switch (e->type) {
    case PQ_BOOLEAN: return LK_TYPE_BOOLEAN;
    case PQ_INT32:
        if (dec)
            return LK_TYPE_DECIMAL;
        if (e->converted == CT_DATE || e->logical == 6)
            return LK_TYPE_DATE;
        if (e->converted == CT_INT8 || (e->logical == 10 && e->int_bits == 8 && e->int_signed))
            return LK_TYPE_BYTE;
        if (e->converted == CT_INT16 || (e->logical == 10 && e->int_bits == 16 && e->int_signed))
            return LK_TYPE_SHORT;
        if (e->converted == CT_UINT32 || (e->logical == 10 && e->int_bits == 32 && !e->int_signed))
            return LK_TYPE_LONG;
        return LK_TYPE_INTEGER;
    case PQ_INT64:
        if (dec)
            return LK_TYPE_DECIMAL;
        if (e->logical == 8)
            return e->ts_utc ? LK_TYPE_TIMESTAMP : LK_TYPE_TIMESTAMP_NTZ;
        if (e->converted == CT_TS_MILLIS || e->converted == CT_TS_MICROS)
            return LK_TYPE_TIMESTAMP;
        return LK_TYPE_LONG;
    case PQ_INT96: return LK_TYPE_TIMESTAMP;
    case PQ_FLOAT: return LK_TYPE_FLOAT;
    case PQ_DOUBLE: return LK_TYPE_DOUBLE;
    case PQ_BYTE_ARRAY:
        if (dec)
            return LK_TYPE_DECIMAL;
        if (e->converted == CT_UTF8 || e->converted == CT_ENUM || e->converted == CT_JSON ||
            e->logical == 1 || e->logical == 4 || e->logical == 12)
            return LK_TYPE_STRING;
        return LK_TYPE_BINARY;
    case PQ_FLBA:
        if (e->type_length <= 0 || e->type_length > (1 << 20))
            return -1;
        if (e->logical == 15) /* FLOAT16, widened to float */
            return e->type_length == 2 ? LK_TYPE_FLOAT : -1;
        if (dec)
            return e->type_length <= 16 ? LK_TYPE_DECIMAL : -1;
        return LK_TYPE_BINARY;
    default: return -1;
    }
}


/* Adds the element at c->pos as a field named name (or the element's name). */
static lk_field *add_field(lk_schema *s, lk_field *parent, const char *name, lk_type t, int nullable)
{
    return parent ? lk_field_add_child(parent, name, t, nullable) : lk_schema_add(s, name, t, nullable);
}

static void conv_node(conv *c, lk_schema *s, lk_field *parent, int depth);

static void conv_children(conv *c, lk_schema *s, lk_field *f, int n, int depth)
{
    for (int i = 0; i < n && !c->err; i++)
        conv_node(c, s, f, depth + 1);
}

static void conv_node_ex(conv *c, lk_schema *s, lk_field *parent, int depth, const char *name,
                         int as_elem);

static void conv_node(conv *c, lk_schema *s, lk_field *parent, int depth)
{
    conv_node_ex(c, s, parent, depth, NULL, 0);
}

static void conv_fail(conv *c, const char *why)
{
    if (!c->err)
        c->why = why;
    c->err = 1;
}

/* The list element: the element at c->pos is the repeated child of a LIST
   group (LogicalTypes.md, "Lists" and its backward-compatibility rules). */
static void conv_list_elem(conv *c, lk_schema *s, lk_field *list, const char *listname, int depth)
{
    lk_pq_reader *r = c->r;
    const pq_elem *g = &r->elems[c->pos];
    if (g->repetition != 2) {
        conv_fail(c, "the child of a LIST group is not repeated");
        return;
    }
    /* 3-level: a repeated group of one field that is not named "array" or
       "<list>_tuple"; its field is the element */
    int three = !g->has_type && g->num_children == 1 && strcmp(g->name, "array") != 0;
    char tuple[300];
    snprintf(tuple, sizeof tuple, "%s_tuple", listname);
    if (three && !strcmp(g->name, tuple))
        three = 0;
    if (three) {
        c->pos++;
        conv_node_ex(c, s, list, depth + 1, "element", 0);
        return;
    }
    /* legacy 2-level: the repeated node itself is the (required) element:
       a primitive, a struct, or itself a LIST/MAP group */
    conv_node_ex(c, s, list, depth + 1, "element", 1);
}

/* Converts the element at c->pos into a field of parent (named name, or the
   element's own name). as_elem: the element is a repeated node that stands
   for the required element of a list (2-level layouts). */
static void conv_node_ex(conv *c, lk_schema *s, lk_field *parent, int depth, const char *name,
                         int as_elem)
{
    lk_pq_reader *r = c->r;
    if (depth > 30 || c->pos >= r->n_elems) {
        conv_fail(c, depth > 30 ? "nesting deeper than 30" : "schema ends early");
        return;
    }
    const pq_elem *e = &r->elems[c->pos];
    if (!name)
        name = e->name;
    if (e->repetition == 2 && !as_elem) {
        /* a repeated field outside a LIST/MAP group: a required list of
           required elements of the field's type */
        lk_field *arr = add_field(s, parent, name, LK_TYPE_ARRAY, 0);
        conv_node_ex(c, s, arr, depth + 1, "element", 1);
        return;
    }
    int nullable = !as_elem && e->repetition == 1;
    if (e->has_type) {
        int p = 0, sc = 0;
        int t = prim_type(e, &p, &sc);
        if (t < 0) {
            conv_fail(c, "unsupported primitive or logical type");
            return;
        }
        lk_field *f = add_field(s, parent, name, (lk_type)t, nullable);
        f->precision = p;
        f->scale = sc;
        add_src(c, e);
        c->pos++;
        return;
    }
    if (e->num_children <= 0 || e->num_children > r->n_elems - c->pos - 1) {
        conv_fail(c, "bad group child count");
        return;
    }
    int is_list = e->converted == CT_LIST || e->logical == 3;
    int is_map = e->converted == CT_MAP || e->converted == CT_MAP_KV || e->logical == 2;
    if (is_list) {
        if (e->num_children != 1) {
            conv_fail(c, "LIST group with more than one child");
            return;
        }
        lk_field *f = add_field(s, parent, name, LK_TYPE_ARRAY, nullable);
        char lname[256];
        snprintf(lname, sizeof lname, "%s", e->name);
        c->pos++;
        conv_list_elem(c, s, f, lname, depth);
        return;
    }
    if (is_map) {
        c->pos++;
        const pq_elem *kv = &r->elems[c->pos];
        if (e->num_children != 1 || kv->has_type || kv->repetition != 2) {
            conv_fail(c, "MAP group without a repeated key_value group");
            return;
        }
        if (kv->num_children != 2) {
            conv_fail(c, "MAP key_value group without exactly a key and a value (map without values unsupported)");
            return;
        }
        lk_field *f = add_field(s, parent, name, LK_TYPE_MAP, nullable);
        c->pos++;
        conv_children(c, s, f, 2, depth);
        if (c->err)
            return;
        if (f->n_children != 2) {
            conv_fail(c, "bad MAP");
            return;
        }
        free(f->children[0].name);
        f->children[0].name = strdup("key");
        free(f->children[1].name);
        f->children[1].name = strdup("value");
        if (!f->children[0].name || !f->children[1].name)
            abort();
        return;
    }
    lk_field *f = add_field(s, parent, name, LK_TYPE_STRUCT, nullable);
    c->pos++;
    conv_children(c, s, f, e->num_children, depth);
}

/* ---- open ---- */

void lk_pq_reader_destroy(lk_pq_reader **rp)
{
    lk_pq_reader *r = *rp;
    if (!r)
        return;
    if (r->map && r->mapped)
        munmap((void *)r->map, r->size);
    free(r->elems);
    for (int i = 0; i < r->n_rgs; i++)
        free(r->rgs[i].cols);
    free(r->rgs);
    lk_schema_destroy(&r->schema);
    lk_schema_destroy(&r->proj);
    free(r->leaves);
    free(r->pleaves);
    free(r->pcols);
    free(r->src);
    free(r->top_first_leaf);
    lk_buf *bufs[] = {&r->page, &r->rep, &r->def, &r->vals, &r->offs,
                      &r->data, &r->dvals, &r->doffs, &r->ddata, &r->idx, &r->dtmp};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        lk_buf_free(bufs[i]);
    ZSTD_freeDCtx(r->zd);
    free(r);
    *rp = NULL;
}

static int parse_footer(lk_pq_reader *r, lk_error *err)
{
    if (r->size >= 12 && !memcmp(r->map + r->size - 4, "PARE", 4))
        return lk_error_set(err, LK_EUNSUPPORTED,
                            "%s: offset %zu: encrypted footer (PARE magic): Parquet encryption unsupported",
                            r->path, r->size - 4);
    if (r->size < 12 || memcmp(r->map, "PAR1", 4) || memcmp(r->map + r->size - 4, "PAR1", 4))
        return fmt_err(r, err, memcmp(r->map, "PAR1", 4) ? 0 : r->size - 4, "no PAR1 magic");
    uint32_t flen;
    memcpy(&flen, r->map + r->size - 8, 4);
    if ((uint64_t)flen > r->size - 12)
        return fmt_err(r, err, r->size - 8, "footer length beyond the file");
    size_t fstart = r->size - 8 - flen;
    lk_tc_r t;
    lk_tc_r_init(&t, r->map + fstart, flen);
    int16_t id;
    int ty;
    int got_schema = 0;
    /* schema first; row groups need the leaf count, so remember where they are */
    const uint8_t *rg_at = NULL;
    int16_t rg_last = 0;
    while (lk_tc_next(&t, &id, &ty)) {
        if (id == 2 && ty == LK_TC_LIST && !got_schema) {
            int et;
            uint32_t n = lk_tc_read_list(&t, &et);
            if (t.err || et != LK_TC_STRUCT || n < 1)
                break;
            r->elems = calloc(n, sizeof *r->elems);
            if (!r->elems)
                abort();
            r->n_elems = (int)n;
            for (uint32_t i = 0; i < n && !t.err; i++)
                parse_elem(&t, &r->elems[i]);
            got_schema = 1;
        } else if (id == 3)
            r->num_rows = lk_tc_read_int(&t, ty);
        else if (id == 4 && ty == LK_TC_LIST && !rg_at) {
            rg_at = t.p;
            rg_last = id;
            lk_tc_skip(&t, ty);
        } else if (id == 6 && ty == LK_TC_BINARY)
            rd_name(&t, r->created_by, sizeof r->created_by);
        else if (id == 8 && ty == LK_TC_STRUCT)
            return lk_error_set(err, LK_EUNSUPPORTED,
                                "%s: footer at offset %zu: encrypted columns (plaintext footer with "
                                "encryption_algorithm): Parquet encryption unsupported",
                                r->path, fstart);
        else if (id == 7 && ty == LK_TC_LIST) {
            /* column_orders: count the TypeDefinedOrder ones (union field 1) */
            int et;
            uint32_t n = lk_tc_read_list(&t, &et);
            for (uint32_t i = 0; i < n && !t.err && et == LK_TC_STRUCT; i++) {
                int16_t id2;
                int ty2;
                lk_tc_enter(&t);
                while (lk_tc_next(&t, &id2, &ty2)) {
                    if (id2 == 1 && ty2 == LK_TC_STRUCT)
                        r->n_type_orders++;
                    lk_tc_skip(&t, ty2);
                }
                lk_tc_leave(&t);
            }
            if (et != LK_TC_STRUCT && n)
                t.err = 1;
        } else
            lk_tc_skip(&t, ty);
    }
    if (t.err || !got_schema)
        return fmt_err(r, err, fstart + lk_tc_offset(&t), "bad FileMetaData");
    (void)rg_last;
    /* schema */
    conv c;
    memset(&c, 0, sizeof c);
    c.r = r;
    r->schema = lk_schema_new();
    const pq_elem *root = &r->elems[0];
    if (root->has_type || root->num_children < 0)
        return fmt_err(r, err, fstart, "bad schema root");
    c.pos = 1;
    for (int i = 0; i < root->num_children && !c.err; i++)
        conv_node(&c, r->schema, NULL, 0);
    r->src = c.src;
    if (c.err || c.pos != r->n_elems)
        return lk_error_set(err, c.err && c.why && !strncmp(c.why, "unsupported", 11) ? LK_EUNSUPPORTED : LK_EFORMAT,
                            "%s: parquet schema element %d (footer at offset %zu): %s", r->path, c.pos,
                            fstart, c.err && c.why ? c.why : "elements left over after the root's children");
    if (lk_pq_leaves_build(r->schema, &r->leaves, &r->n_leaves) < 0 || r->n_leaves != c.nsrc)
        return lk_error_set(err, LK_EFORMAT, "%s: parquet schema nesting unsupported", r->path);
    int nf = lk_schema_nfields(r->schema);
    r->top_first_leaf = calloc((size_t)nf + 1, sizeof(int));
    if (!r->top_first_leaf)
        abort();
    for (int i = 0, li = 0; i <= nf; i++) {
        while (li < r->n_leaves && r->leaves[li].top < i)
            li++;
        r->top_first_leaf[i] = li;
    }
    /* row groups */
    if (rg_at) {
        lk_tc_r t2;
        lk_tc_r_init(&t2, rg_at, (size_t)(t.end - rg_at));
        t2.base = t.base;
        int et;
        uint32_t n = lk_tc_read_list(&t2, &et);
        if (t2.err || et != LK_TC_STRUCT)
            return fmt_err(r, err, fstart + lk_tc_offset(&t2), "bad row group list");
        r->rgs = calloc(n ? n : 1, sizeof *r->rgs);
        if (!r->rgs)
            abort();
        for (uint32_t i = 0; i < n; i++) {
            r->n_rgs = (int)i + 1;
            if (parse_rg(&t2, &r->rgs[i], r->n_leaves) < 0 || t2.err)
                return fmt_err(r, err, fstart + lk_tc_offset(&t2), "bad RowGroup");
            if (r->rgs[i].num_rows < 0 || r->rgs[i].num_rows > (int64_t)UINT32_MAX / 2)
                return fmt_err(r, err, fstart + lk_tc_offset(&t2), "bad row count");
        }
    }
    return 0;
}

int lk_pq_reader_open(const char *path, lk_pq_reader **out, lk_error *err)
{
    *out = NULL;
    lk_pq_reader *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    snprintf(r->path, sizeof r->path, "%s", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int rc = lk_error_errno(err, -errno, "open %s", path);
        free(r);
        return rc;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int rc = lk_error_errno(err, -errno, "stat %s", path);
        close(fd);
        free(r);
        return rc;
    }
    r->size = (size_t)st.st_size;
    if (r->size >= 12) {
        void *m = mmap(NULL, r->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            int rc = lk_error_errno(err, -errno, "mmap %s", path);
            close(fd);
            free(r);
            return rc;
        }
        r->map = m;
        r->mapped = 1;
    }
    close(fd);
    r->zd = ZSTD_createDCtx();
    int rc = r->map ? parse_footer(r, err) : fmt_err(r, err, 0, "file too small");
    if (rc < 0) {
        lk_pq_reader_destroy(&r);
        return rc;
    }
    *out = r;
    return 0;
}

int lk_pq_reader_open_mem(const void *data, size_t size, const char *name, lk_pq_reader **out,
                          lk_error *err)
{
    *out = NULL;
    lk_pq_reader *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    snprintf(r->path, sizeof r->path, "%s", name ? name : "<memory>");
    r->map = size >= 12 ? data : NULL;
    r->size = size;
    r->zd = ZSTD_createDCtx();
    int rc = r->map ? parse_footer(r, err) : fmt_err(r, err, 0, "file too small");
    if (rc < 0) {
        lk_pq_reader_destroy(&r);
        return rc;
    }
    *out = r;
    return 0;
}

const lk_schema *lk_pq_reader_schema(const lk_pq_reader *r)
{
    return r->schema;
}

int64_t lk_pq_reader_num_rows(const lk_pq_reader *r)
{
    return r->num_rows;
}

int lk_pq_reader_num_row_groups(const lk_pq_reader *r)
{
    return r->n_rgs;
}

int64_t lk_pq_reader_row_group_rows(const lk_pq_reader *r, int rg)
{
    return rg >= 0 && rg < r->n_rgs ? r->rgs[rg].num_rows : -1;
}

const char *lk_pq_reader_created_by(const lk_pq_reader *r)
{
    return r->created_by;
}

/* ---- decoding ---- */

static const char *codec_name(int c)
{
    static const char *n[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4 (Hadoop)",
                              "ZSTD", "LZ4_RAW"};
    return c >= 0 && c < 8 ? n[c] : "unknown";
}

static const char *encoding_name(int e)
{
    static const char *n[] = {"PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED",
                              "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY",
                              "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"};
    return e >= 0 && e < 10 ? n[e] : "unknown";
}

static int codec_supported(int c)
{
    return c == 0 || c == 1 || c == 2 || c == 6;
}

/* RLE/bit-packed hybrid into out[0..count). -1 when the input runs out. */
static int rle_decode_to(const uint8_t *p, size_t n, int bw, void *outp, int out8, size_t count)
{
    uint32_t *out = out8 ? NULL : (uint32_t *)outp;
    uint8_t *out_8 = out8 ? (uint8_t *)outp : NULL;
    size_t o = 0, i = 0;
    int vbytes = (bw + 7) / 8;
    uint64_t mask = bw >= 32 ? 0xffffffffu : ((1ull << bw) - 1);
    while (o < count) {
        uint64_t h = 0;
        int shift = 0;
        for (;;) {
            if (i >= n || shift > 35)
                return -1;
            uint8_t c = p[i++];
            h |= (uint64_t)(c & 0x7f) << shift;
            shift += 7;
            if (!(c & 0x80))
                break;
        }
        if (h & 1) {
            uint64_t groups = h >> 1;
            uint64_t nbytes = groups * (uint64_t)bw;
            if (groups == 0 || nbytes > n - i)
                return -1;
            uint64_t nv = groups * 8;
            const uint8_t *q = p + i;
            for (uint64_t k = 0; k < nv && o < count; k++) {
                uint64_t bit = k * (uint64_t)bw;
                uint64_t v = 0;
                for (int b = 0; b < bw; b++) {
                    uint64_t bb = bit + (uint64_t)b;
                    v |= (uint64_t)((q[bb >> 3] >> (bb & 7)) & 1) << b;
                }
                if (out8)
                    out_8[o++] = (uint8_t)(v & mask);
                else
                    out[o++] = (uint32_t)(v & mask);
            }
            i += nbytes;
        } else {
            uint64_t run = h >> 1;
            if ((size_t)vbytes > n - i)
                return -1;
            uint32_t v = 0;
            for (int b = 0; b < vbytes; b++)
                v |= (uint32_t)p[i + (size_t)b] << (8 * b);
            i += (size_t)vbytes;
            if (run == 0)
                return -1;
            if (out8) {
                uint64_t k = run < count - o ? run : count - o;
                memset(out_8 + o, (int)(v & (uint32_t)mask), (size_t)k);
                o += (size_t)k;
            } else
                for (uint64_t k = 0; k < run && o < count; k++)
                    out[o++] = v & (uint32_t)mask;
        }
    }
    return 0;
}

static int rle_decode(const uint8_t *p, size_t n, int bw, uint32_t *out, size_t count)
{
    return rle_decode_to(p, n, bw, out, 0, count);
}

static int decode_levels(const uint8_t *p, size_t n, int max, size_t count, lk_buf *dst)
{
    int bw = 0;
    while (max >> bw)
        bw++;
    if (bw > 8)
        return -1;
    /* straight into the byte-per-level buffer: no wider temporary */
    lk_buf_grow(dst, count + 1);
    uint8_t *d = (uint8_t *)dst->data + dst->len;
    if (rle_decode_to(p, n, bw, d, 1, count) < 0)
        return -1;
    for (size_t i = 0; i < count; i++)
        if (d[i] > max)
            return -1;
    dst->len += count;
    return 0;
}

/* BIT_PACKED (deprecated) levels: count values of bit width bw, packed
   from the most significant bit of each byte. */
static int decode_levels_bitpacked(const uint8_t *p, size_t n, int max, size_t count, lk_buf *dst,
                                   size_t *used)
{
    int bw = 0;
    while (max >> bw)
        bw++;
    uint64_t bits = (uint64_t)count * (uint64_t)bw;
    size_t nbytes = (size_t)((bits + 7) / 8);
    if (nbytes > n)
        return -1;
    lk_buf_grow(dst, count + 1);
    uint8_t *d = (uint8_t *)dst->data + dst->len;
    uint64_t bit = 0;
    for (size_t i = 0; i < count; i++) {
        uint32_t v = 0;
        for (int b = 0; b < bw; b++, bit++)
            v = (v << 1) | ((p[bit >> 3] >> (7 - (bit & 7))) & 1u);
        if (v > (uint32_t)max)
            return -1;
        d[i] = (uint8_t)v;
    }
    dst->len += count;
    *used = nbytes;
    return 0;
}

static size_t phys_width(const pq_leafsrc *s)
{
    switch (s->phys) {
    case PQ_BOOLEAN: return 1;
    case PQ_INT32:
    case PQ_FLOAT: return 4;
    case PQ_INT64:
    case PQ_DOUBLE:
    case PQ_INT96: return 8; /* INT96 is stored converted to micros */
    case PQ_FLBA: return (size_t)s->type_length;
    default: return 0;
    }
}

static int64_t int96_micros(const uint8_t *p)
{
    int64_t nanos;
    int32_t jday;
    memcpy(&nanos, p, 8);
    memcpy(&jday, p + 8, 4);
    /* wraps (as Spark's long arithmetic does) for days far out of range */
    uint64_t days = (uint64_t)((int64_t)jday - 2440588);
    return (int64_t)(days * 86400000000ULL + (uint64_t)(nanos / 1000));
}

/* PLAIN values into (vals | offs+data). -1 on overrun. */
static int decode_plain(const pq_leafsrc *s, const uint8_t *p, size_t n, size_t count,
                        lk_buf *vals, lk_buf *offs, lk_buf *data)
{
    switch (s->phys) {
    case PQ_BOOLEAN: {
        if ((count + 7) / 8 > n)
            return -1;
        lk_buf_grow(vals, count + 1);
        uint8_t *d = (uint8_t *)vals->data + vals->len;
        for (size_t i = 0; i < count; i++)
            d[i] = (p[i >> 3] >> (i & 7)) & 1;
        vals->len += count;
        return 0;
    }
    case PQ_INT96: {
        if (count > n / 12)
            return -1;
        lk_buf_grow(vals, count * 8 + 1);
        for (size_t i = 0; i < count; i++) {
            int64_t v = int96_micros(p + i * 12);
            memcpy(vals->data + vals->len, &v, 8);
            vals->len += 8;
        }
        return 0;
    }
    case PQ_BYTE_ARRAY: {
        size_t i = 0;
        if (offs->len == 0) {
            uint32_t z = 0;
            lk_buf_append(offs, &z, 4);
        }
        lk_buf_grow(offs, count * 4 + 1);
        for (size_t k = 0; k < count; k++) {
            uint32_t len;
            if (n - i < 4)
                return -1;
            memcpy(&len, p + i, 4);
            i += 4;
            if (len > n - i)
                return -1;
            if (data->len + len > UINT32_MAX)
                return -1;
            lk_buf_append(data, p + i, len);
            i += len;
            uint32_t end = (uint32_t)data->len;
            memcpy(offs->data + offs->len, &end, 4);
            offs->len += 4;
        }
        return 0;
    }
    default: {
        size_t w = phys_width(s);
        if (w == 0 || count > n / w)
            return -1;
        lk_buf_append(vals, p, count * w);
        return 0;
    }
    }
}

static int decompress(lk_pq_reader *r, int codec, const uint8_t *p, size_t n, size_t unc,
                      const uint8_t **outp)
{
    if (codec == 0) {
        if (unc != n)
            return -1;
        *outp = p;
        return 0;
    }
    if (unc == 0) { /* an empty (V2) value section */
        *outp = p;
        return 0;
    }
    lk_buf_reset(&r->page);
    lk_buf_grow(&r->page, unc + 1);
    switch (codec) {
    case 1: {
        size_t len;
        if (snappy_uncompressed_length((const char *)p, n, &len) != SNAPPY_OK || len != unc)
            return -1;
        if (snappy_uncompress((const char *)p, n, r->page.data, &len) != SNAPPY_OK || len != unc)
            return -1;
        break;
    }
    case 2: {
        z_stream z;
        memset(&z, 0, sizeof z);
        if (inflateInit2(&z, 15 + 32) != Z_OK)
            return -1;
        z.next_in = (Bytef *)p;
        z.avail_in = (uInt)n;
        z.next_out = (Bytef *)r->page.data;
        z.avail_out = (uInt)unc;
        int rc = inflate(&z, Z_FINISH);
        /* concatenated gzip members (some writers emit several) */
        while (rc == Z_STREAM_END && z.avail_in > 0 && z.avail_out > 0 && inflateReset(&z) == Z_OK)
            rc = inflate(&z, Z_FINISH);
        size_t got = unc - z.avail_out; /* total_out restarts at each member */
        inflateEnd(&z);
        if (rc != Z_STREAM_END || got != unc)
            return -1;
        break;
    }
    case 6: {
        size_t got = ZSTD_decompressDCtx(r->zd, r->page.data, unc, p, n);
        if (ZSTD_isError(got) || got != unc)
            return -1;
        break;
    }
    default: return -2;
    }
    *outp = (const uint8_t *)r->page.data;
    return 0;
}

/* Appends dictionary entries idx[0..n) to the value buffers. */
static int apply_dict(lk_pq_reader *r, const pq_leafsrc *s, const uint32_t *idx, size_t n,
                      size_t dict_n)
{
    if (s->phys == PQ_BYTE_ARRAY) {
        const uint32_t *doff = (const uint32_t *)r->doffs.data;
        if (r->offs.len == 0) {
            uint32_t z = 0;
            lk_buf_append(&r->offs, &z, 4);
        }
        for (size_t i = 0; i < n; i++) {
            if (idx[i] >= dict_n)
                return -1;
            uint32_t a = doff[idx[i]], b = doff[idx[i] + 1];
            if (r->data.len + (b - a) > UINT32_MAX)
                return -1;
            lk_buf_append(&r->data, r->ddata.data + a, b - a);
            uint32_t end = (uint32_t)r->data.len;
            lk_buf_append(&r->offs, &end, 4);
        }
        return 0;
    }
    size_t w = phys_width(s);
    lk_buf_grow(&r->vals, n * w + 1);
    for (size_t i = 0; i < n; i++) {
        if (idx[i] >= dict_n)
            return -1;
        memcpy(r->vals.data + r->vals.len, r->dvals.data + (size_t)idx[i] * w, w);
        r->vals.len += w;
    }
    return 0;
}

static int rd_uvar(const uint8_t *p, size_t n, size_t *i, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*i >= n)
            return -1;
        uint8_t c = p[(*i)++];
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* DELTA_BINARY_PACKED: count values into out (int64), *used = the bytes of
   the stream (up to the end of the last miniblock holding a value). */
static int delta_decode(const uint8_t *p, size_t n, size_t count, int64_t *out, size_t *used)
{
    size_t i = 0;
    uint64_t block, nmini, total, first;
    /* every block of at least 128 values takes 2 bytes or more: a larger
       count is a lie that would only make the caller allocate */
    if (count > 64 * (uint64_t)n + 1)
        return -1;
    if (rd_uvar(p, n, &i, &block) || rd_uvar(p, n, &i, &nmini) || rd_uvar(p, n, &i, &total) ||
        rd_uvar(p, n, &i, &first))
        return -1;
    if (block == 0 || block % 128 || nmini == 0 || block % nmini || (block / nmini) % 32 ||
        block > (1u << 20) || total < count)
        return -1;
    uint64_t per_mini = block / nmini;
    int64_t cur = (int64_t)(first >> 1) ^ -(int64_t)(first & 1);
    size_t got = 0;
    if (count > 0)
        out[got++] = cur;
    while (got < count) {
        uint64_t md;
        if (rd_uvar(p, n, &i, &md) || nmini > n - i)
            return -1;
        int64_t min_delta = (int64_t)(md >> 1) ^ -(int64_t)(md & 1);
        const uint8_t *bws = p + i;
        i += nmini;
        for (uint64_t m = 0; m < nmini && got < count; m++) {
            int bw = bws[m];
            if (bw > 64)
                return -1;
            uint64_t nbytes = per_mini * (uint64_t)bw / 8;
            if (nbytes > n - i)
                return -1;
            const uint8_t *q = p + i;
            for (uint64_t k = 0; k < per_mini && got < count; k++) {
                uint64_t v = 0, bit = k * (uint64_t)bw;
                for (int b = 0; b < bw; b++, bit++)
                    v |= (uint64_t)((q[bit >> 3] >> (bit & 7)) & 1) << b;
                cur = (int64_t)((uint64_t)cur + (uint64_t)min_delta + v);
                out[got++] = cur;
            }
            i += nbytes;
        }
    }
    *used = i;
    return 0;
}

/* Scratch for count int64 values (count is bounded by the page size). */
static int64_t *i64_scratch(lk_buf *b, size_t count)
{
    lk_buf_reset(b);
    lk_buf_grow(b, count * 8 + 8);
    return (int64_t *)b->data;
}

/* DELTA_BINARY_PACKED (INT32/INT64) into vals. */
static int decode_delta(lk_pq_reader *r, const pq_leafsrc *s, const uint8_t *p, size_t n,
                        size_t count)
{
    if (count > 64 * (uint64_t)n + 1)
        return -1;
    int64_t *v = i64_scratch(&r->dtmp, count);
    size_t used;
    if (delta_decode(p, n, count, v, &used) < 0)
        return -1;
    size_t w = s->phys == PQ_INT32 ? 4 : 8;
    lk_buf_grow(&r->vals, count * w + 1);
    for (size_t k = 0; k < count; k++) {
        if (w == 4) {
            int32_t x = (int32_t)v[k];
            memcpy(r->vals.data + r->vals.len, &x, 4);
        } else
            memcpy(r->vals.data + r->vals.len, &v[k], 8);
        r->vals.len += w;
    }
    return 0;
}

/* Appends one BYTE_ARRAY/FLBA value made of the first pre bytes of the
   previous value of this page (at *prev, *prev_len) and suf[0..sl). */
static int put_prefixed(lk_pq_reader *r, const pq_leafsrc *s, size_t *prev, size_t *prev_len,
                        size_t pre, const uint8_t *suf, size_t sl)
{
    if (pre > *prev_len)
        return -1;
    lk_buf *dst = s->phys == PQ_BYTE_ARRAY ? &r->data : &r->vals;
    if (s->phys == PQ_FLBA && pre + sl != (size_t)s->type_length)
        return -1;
    if (dst->len + pre + sl > UINT32_MAX)
        return -1;
    lk_buf_grow(dst, pre + sl + 1);
    size_t at = dst->len;
    memmove(dst->data + at, dst->data + *prev, pre);
    if (sl)
        memcpy(dst->data + at + pre, suf, sl);
    dst->len += pre + sl;
    *prev = at;
    *prev_len = pre + sl;
    if (s->phys == PQ_BYTE_ARRAY) {
        if (r->offs.len == 0) {
            uint32_t z = 0;
            lk_buf_append(&r->offs, &z, 4);
        }
        uint32_t end = (uint32_t)dst->len;
        lk_buf_append(&r->offs, &end, 4);
    }
    return 0;
}

/* DELTA_LENGTH_BYTE_ARRAY (pre = NULL) and DELTA_BYTE_ARRAY (prefix
   lengths first). */
static int decode_delta_bytes(lk_pq_reader *r, const pq_leafsrc *s, const uint8_t *p, size_t n,
                              size_t count, int prefixed)
{
    if (s->phys != PQ_BYTE_ARRAY && !(prefixed && s->phys == PQ_FLBA))
        return -2;
    if (count == 0)
        return 0;
    if (count > 64 * (uint64_t)n + 1)
        return -1;
    int64_t *v = i64_scratch(&r->dtmp, count * 2);
    int64_t *pre = v, *len = v + count;
    size_t used = 0, i = 0;
    if (prefixed) {
        if (delta_decode(p, n, count, pre, &used) < 0)
            return -1;
        i = used;
    }
    if (delta_decode(p + i, n - i, count, len, &used) < 0)
        return -1;
    i += used;
    size_t prev = 0, prev_len = 0;
    for (size_t k = 0; k < count; k++) {
        int64_t pk = prefixed ? pre[k] : 0;
        if (pk < 0 || len[k] < 0 || (uint64_t)len[k] > n - i)
            return -1;
        if (put_prefixed(r, s, &prev, &prev_len, (size_t)pk, p + i, (size_t)len[k]) < 0)
            return -1;
        i += (size_t)len[k];
    }
    return 0;
}

/* BYTE_STREAM_SPLIT: byte j of value k is at p[j * count + k]. */
static int decode_split(lk_pq_reader *r, const pq_leafsrc *s, const uint8_t *p, size_t n,
                        size_t count)
{
    if (s->phys == PQ_BOOLEAN || s->phys == PQ_BYTE_ARRAY || s->phys == PQ_INT96)
        return -2;
    size_t w = phys_width(s);
    if (w == 0 || count > n / w)
        return -1;
    lk_buf_grow(&r->vals, count * w + 1);
    uint8_t *d = (uint8_t *)r->vals.data + r->vals.len;
    for (size_t k = 0; k < count; k++)
        for (size_t j = 0; j < w; j++)
            d[k * w + j] = p[j * count + k];
    r->vals.len += count * w;
    return 0;
}

static int decode_values(lk_pq_reader *r, const pq_leafsrc *s, int enc, const uint8_t *p,
                         size_t n, size_t count, size_t dict_n, int have_dict)
{
    if (enc == 0)
        return decode_plain(s, p, n, count, &r->vals, &r->offs, &r->data);
    if (enc == 2 || enc == 8) {
        if (!have_dict)
            return -1;
        if (count == 0)
            return 0;
        if (n < 1 || p[0] > 32)
            return -1;
        lk_buf_reset(&r->idx);
        lk_buf_grow(&r->idx, count * 4 + 4);
        uint32_t *idx = (uint32_t *)r->idx.data;
        if (rle_decode(p + 1, n - 1, p[0], idx, count) < 0)
            return -1;
        return apply_dict(r, s, idx, count, dict_n);
    }
    if (enc == 5 && (s->phys == PQ_INT32 || s->phys == PQ_INT64))
        return decode_delta(r, s, p, n, count);
    if (enc == 6 || enc == 7)
        return decode_delta_bytes(r, s, p, n, count, enc == 7);
    if (enc == 9)
        return decode_split(r, s, p, n, count);
    if (enc == 3 && s->phys == PQ_BOOLEAN) {
        uint32_t len;
        if (n < 4)
            return -1;
        memcpy(&len, p, 4);
        if (len > n - 4)
            return -1;
        lk_buf_reset(&r->idx);
        lk_buf_grow(&r->idx, count * 4 + 4);
        uint32_t *idx = (uint32_t *)r->idx.data;
        if (rle_decode(p + 4, len, 1, idx, count) < 0)
            return -1;
        lk_buf_grow(&r->vals, count + 1);
        for (size_t i = 0; i < count; i++)
            r->vals.data[r->vals.len++] = (char)(idx[i] & 1);
        return 0;
    }
    return -2;
}

typedef struct page_hdr {
    int type;
    int64_t unc, comp;
    int64_t nv;
    int enc;
    int64_t v2_def_len, v2_rep_len;
    int v2_compressed;
    int has_crc;
    uint32_t crc;
    int def_enc, rep_enc; /* V1: 3 RLE, 4 BIT_PACKED */
} page_hdr;

static void parse_page_hdr(lk_tc_r *t, page_hdr *h)
{
    memset(h, 0, sizeof *h);
    h->type = -1;
    h->v2_compressed = 1;
    int16_t id;
    int ty;
    while (lk_tc_next(t, &id, &ty)) {
        if (id == 1)
            h->type = (int)lk_tc_read_int(t, ty);
        else if (id == 2)
            h->unc = lk_tc_read_int(t, ty);
        else if (id == 3)
            h->comp = lk_tc_read_int(t, ty);
        else if (id == 4) {
            h->crc = (uint32_t)lk_tc_read_int(t, ty);
            h->has_crc = 1;
        }
        else if ((id == 5 || id == 7 || id == 8) && ty == LK_TC_STRUCT) {
            int16_t id2;
            int ty2;
            lk_tc_enter(t);
            while (lk_tc_next(t, &id2, &ty2)) {
                if (id2 == 1)
                    h->nv = lk_tc_read_int(t, ty2);
                else if (id2 == 2 && id != 8)
                    h->enc = (int)lk_tc_read_int(t, ty2);
                else if (id == 5 && id2 == 3)
                    h->def_enc = (int)lk_tc_read_int(t, ty2);
                else if (id == 5 && id2 == 4)
                    h->rep_enc = (int)lk_tc_read_int(t, ty2);
                else if (id == 8 && id2 == 4)
                    h->enc = (int)lk_tc_read_int(t, ty2);
                else if (id == 8 && id2 == 5)
                    h->v2_def_len = lk_tc_read_int(t, ty2);
                else if (id == 8 && id2 == 6)
                    h->v2_rep_len = lk_tc_read_int(t, ty2);
                else if (id == 8 && id2 == 7)
                    h->v2_compressed = (int)lk_tc_read_int(t, ty2);
                else
                    lk_tc_skip(t, ty2);
            }
            lk_tc_leave(t);
        } else
            lk_tc_skip(t, ty);
    }
}

/* The bytes [*start, *end) of column chunk c: from its dictionary page (when it comes first) for
   total_comp bytes, clipped to the file before the footer length. */
static int chunk_range(lk_pq_reader *r, const pq_chunk *c, size_t *start, size_t *end, lk_error *err)
{
    *start = *end = 0; /* set on every path (gcc -O3 cannot see that fmt_err returns non-zero) */
    int64_t s = c->data_off;
    if (c->dict_off > 0 && c->dict_off < s)
        s = c->dict_off;
    if (s < 4 || (uint64_t)s >= r->size - 8 || c->total_comp < 0)
        return fmt_err(r, err, (size_t)s, "column chunk offset out of the file");
    *start = (size_t)s;
    *end = r->size - 8;
    if ((uint64_t)c->total_comp < *end - *start)
        *end = *start + (size_t)c->total_comp;
    return 0;
}

/* Decodes a whole column chunk into r->rep/def/vals/offs/data. */
static int read_chunk(lk_pq_reader *r, const pq_chunk *c, const lk_pq_leaf *L, const pq_leafsrc *s,
                      lk_error *err)
{
    lk_buf *bufs[] = {&r->rep, &r->def, &r->vals, &r->offs, &r->data, &r->dvals, &r->doffs, &r->ddata};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        lk_buf_reset(bufs[i]);
    if (c->type != s->phys)
        return fmt_err(r, err, (size_t)c->data_off, "column chunk type differs from the schema");
    if (c->num_values < 0 || c->num_values > MAX_CHUNK_VALUES)
        return fmt_err(r, err, (size_t)c->data_off, "bad column chunk value count");
    if (c->num_values == 0)
        return 0; /* an empty chunk: some writers leave its offsets at 0 */
    if (!codec_supported(c->codec))
        return lk_error_set(err, LK_EUNSUPPORTED,
                            "%s: column chunk at offset %lld: compression codec %s (%d) unsupported",
                            r->path, (long long)c->data_off, codec_name(c->codec), c->codec);
    size_t pos, end;
    int crc = chunk_range(r, c, &pos, &end, err);
    if (crc)
        return crc;
    int64_t got = 0;
    size_t dict_n = 0;
    int have_dict = 0;
    while (got < c->num_values) {
        if (pos >= end)
            return fmt_err(r, err, pos, "column chunk ends before all values");
        lk_tc_r t;
        lk_tc_r_init(&t, r->map + pos, end - pos);
        page_hdr h;
        parse_page_hdr(&t, &h);
        if (t.err)
            return fmt_err(r, err, pos, "bad page header");
        size_t body = pos + lk_tc_offset(&t);
        if (h.comp < 0 || h.unc < 0 || (uint64_t)h.comp > end - body || h.unc > INT32_MAX ||
            (uint64_t)h.unc > (uint64_t)h.comp * 65536 + 65536)
            return fmt_err(r, err, pos, "bad page sizes");
        const uint8_t *p = r->map + body;
        size_t pn = (size_t)h.comp;
        pos = body + pn;
        /* the optional CRC-32 covers the page as stored (after compression) */
        if (h.has_crc && (uint32_t)crc32(0L, p, (uInt)pn) != h.crc)
            return fmt_err(r, err, body, "page checksum (CRC-32) mismatch");
        if (h.type == 2) { /* dictionary */
            if (have_dict || h.nv < 0 || h.nv > MAX_PAGE_VALUES)
                return fmt_err(r, err, body, "bad dictionary page");
            const uint8_t *u;
            int rc = decompress(r, c->codec, p, pn, (size_t)h.unc, &u);
            if (rc == -2)
                return lk_error_set(err, LK_EUNSUPPORTED, "%s: codec %d unsupported", r->path, c->codec);
            if (rc < 0)
                return fmt_err(r, err, body, "dictionary page does not decompress");
            if (decode_plain(s, u, (size_t)h.unc, (size_t)h.nv, &r->dvals, &r->doffs, &r->ddata) < 0)
                return fmt_err(r, err, body, "bad dictionary values");
            dict_n = (size_t)h.nv;
            have_dict = 1;
            continue;
        }
        if (h.type != 0 && h.type != 3)
            continue; /* index pages and unknown pages are skipped */
        if (h.nv <= 0 || h.nv > MAX_PAGE_VALUES || got + h.nv > c->num_values)
            return fmt_err(r, err, body, "bad page value count");
        size_t nv = (size_t)h.nv;
        const uint8_t *u;
        size_t un;
        size_t def_at = r->def.len;
        if (h.type == 0) {
            int rc = decompress(r, c->codec, p, pn, (size_t)h.unc, &u);
            if (rc == -2)
                return lk_error_set(err, LK_EUNSUPPORTED, "%s: codec %d unsupported", r->path, c->codec);
            if (rc < 0)
                return fmt_err(r, err, body, "data page does not decompress");
            un = (size_t)h.unc;
            for (int lv = 0; lv < 2; lv++) {
                int max = lv == 0 ? L->max_rep : L->max_def;
                if (!max)
                    continue;
                lk_buf *dst = lv == 0 ? &r->rep : &r->def;
                if ((lv == 0 ? h.rep_enc : h.def_enc) == 4) {
                    /* deprecated BIT_PACKED levels: no length prefix */
                    size_t used;
                    if (decode_levels_bitpacked(u, un, max, nv, dst, &used) < 0)
                        return fmt_err(r, err, body, "bad BIT_PACKED levels");
                    u += used;
                    un -= used;
                    continue;
                }
                uint32_t len;
                if (un < 4)
                    return fmt_err(r, err, body, "levels overrun the page");
                memcpy(&len, u, 4);
                if (len > un - 4 ||
                    decode_levels(u + 4, len, max, nv, lv == 0 ? &r->rep : &r->def) < 0)
                    return fmt_err(r, err, body, "bad levels");
                u += 4 + len;
                un -= 4 + (size_t)len;
            }
        } else {
            if (h.v2_rep_len < 0 || h.v2_def_len < 0 ||
                (uint64_t)h.v2_rep_len + (uint64_t)h.v2_def_len > pn || (uint64_t)h.v2_rep_len +
                (uint64_t)h.v2_def_len > (uint64_t)h.unc)
                return fmt_err(r, err, body, "bad V2 level lengths");
            size_t rl = (size_t)h.v2_rep_len, dl = (size_t)h.v2_def_len;
            if (L->max_rep && decode_levels(p, rl, L->max_rep, nv, &r->rep) < 0)
                return fmt_err(r, err, body, "bad repetition levels");
            if (L->max_def && decode_levels(p + rl, dl, L->max_def, nv, &r->def) < 0)
                return fmt_err(r, err, body, "bad definition levels");
            size_t vunc = (size_t)h.unc - rl - dl;
            int rc = decompress(r, h.v2_compressed ? c->codec : 0, p + rl + dl, pn - rl - dl,
                                vunc, &u);
            if (rc == -2)
                return lk_error_set(err, LK_EUNSUPPORTED, "%s: codec %d unsupported", r->path, c->codec);
            if (rc < 0)
                return fmt_err(r, err, body, "data page does not decompress");
            un = vunc;
        }
        size_t nonnull = nv;
        if (L->max_def) {
            nonnull = 0;
            const uint8_t *d = (const uint8_t *)r->def.data + def_at;
            for (size_t i = 0; i < nv; i++)
                nonnull += d[i] == L->max_def;
        }
        int rc = decode_values(r, s, h.enc, u, un, nonnull, dict_n, have_dict);
        if (rc == -2)
            return lk_error_set(err, LK_EUNSUPPORTED, "%s: page at offset %zu: encoding %s (%d) unsupported for this column type",
                                r->path, body, encoding_name(h.enc), h.enc);
        if (rc < 0)
            return fmt_err(r, err, body, "bad values");
        got += h.nv;
    }
    return 0;
}

/* ---- assembly ---- */

static void struct_null(lk_col *c)
{
    lk_col_reserve(c, 1, 0);
    lk_col_ensure_validity(c);
    c->validity[c->len >> 3] &= (uint8_t)~(1u << (c->len & 7));
    c->len++;
    c->null_count++;
}

static void node_null(lk_col *c)
{
    if (c->field->type == LK_TYPE_STRUCT)
        struct_null(c);
    else
        lk_col_append_null(c);
}

static void list_open(lk_col *c)
{
    lk_col_reserve(c, 1, 0);
    if (c->validity)
        c->validity[c->len >> 3] |= (uint8_t)(1u << (c->len & 7));
    c->offsets[c->len + 1] = c->offsets[c->len];
    c->len++;
}

static int64_t be_int(const uint8_t *p, size_t n)
{
    int64_t v = (n && (p[0] & 0x80)) ? -1 : 0;
    for (size_t i = 0; i < n; i++)
        v = (int64_t)(((uint64_t)v << 8) | p[i]);
    return v;
}

static int append_value(lk_pq_reader *r, lk_col *c, const pq_leafsrc *s, size_t vi)
{
    const lk_field *f = c->field;
    if (s->phys == PQ_BYTE_ARRAY) {
        const uint32_t *o = (const uint32_t *)r->offs.data;
        const uint8_t *p = (const uint8_t *)r->data.data + o[vi];
        size_t n = o[vi + 1] - o[vi];
        if (f->type == LK_TYPE_DECIMAL) {
            if (n > 16)
                return -1;
            if (f->precision <= 18)
                lk_col_append_i64(c, be_int(p, n));
            else {
                uint8_t b[16];
                memset(b, (n && (p[0] & 0x80)) ? 0xff : 0, 16);
                memcpy(b + 16 - n, p, n);
                lk_col_append_fixed(c, b);
            }
        } else
            lk_col_append_bytes(c, p, n);
        return 0;
    }
    size_t w = phys_width(s);
    const uint8_t *p = (const uint8_t *)r->vals.data + vi * w;
    switch (f->type) {
    case LK_TYPE_BOOLEAN: lk_col_append_bool(c, p[0]); return 0;
    case LK_TYPE_BYTE: {
        int32_t v;
        memcpy(&v, p, 4);
        int8_t b = (int8_t)v;
        lk_col_append_fixed(c, &b);
        return 0;
    }
    case LK_TYPE_SHORT: {
        int32_t v;
        memcpy(&v, p, 4);
        int16_t b = (int16_t)v;
        lk_col_append_fixed(c, &b);
        return 0;
    }
    case LK_TYPE_INTEGER:
    case LK_TYPE_DATE: {
        int32_t v;
        memcpy(&v, p, 4);
        lk_col_append_i32(c, v);
        return 0;
    }
    case LK_TYPE_FLOAT: {
        float v;
        if (s->phys == PQ_FLBA) { /* FLOAT16, little-endian IEEE half */
            unsigned h = (unsigned)p[0] | (unsigned)p[1] << 8;
            int ex = (int)(h >> 10 & 0x1f);
            unsigned mant = h & 0x3ff;
            if (ex == 31)
                v = mant ? NAN : INFINITY;
            else if (ex == 0)
                v = ldexpf((float)mant, -24);
            else
                v = ldexpf((float)(mant | 0x400), ex - 25);
            if (h & 0x8000)
                v = -v;
        } else
            memcpy(&v, p, 4);
        lk_col_append_f32(c, v);
        return 0;
    }
    case LK_TYPE_DOUBLE: {
        double v;
        memcpy(&v, p, 8);
        lk_col_append_f64(c, v);
        return 0;
    }
    case LK_TYPE_LONG:
    case LK_TYPE_TIMESTAMP:
    case LK_TYPE_TIMESTAMP_NTZ: {
        int64_t v;
        if (s->phys == PQ_INT32) {
            uint32_t u;
            memcpy(&u, p, 4);
            v = u;
        } else
            memcpy(&v, p, 8);
        if (s->ts_unit == 1) {
            if (v > INT64_MAX / 1000 || v < INT64_MIN / 1000)
                return -3; /* millis beyond the micros range */
            v *= 1000;
        } else if (s->ts_unit == 3)
            v /= 1000;
        lk_col_append_i64(c, v);
        return 0;
    }
    case LK_TYPE_DECIMAL: {
        int64_t v;
        if (s->phys == PQ_INT32) {
            int32_t x;
            memcpy(&x, p, 4);
            v = x;
        } else if (s->phys == PQ_INT64)
            memcpy(&v, p, 8);
        else {
            if (f->precision > 18) {
                uint8_t b[16];
                memset(b, (w && (p[0] & 0x80)) ? 0xff : 0, 16);
                memcpy(b + 16 - w, p, w);
                lk_col_append_fixed(c, b);
                return 0;
            }
            v = be_int(p, w);
        }
        if (f->precision > 18) {
            uint8_t b[16];
            memset(b, v < 0 ? 0xff : 0, 8);
            for (int i = 0; i < 8; i++)
                b[8 + i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
            lk_col_append_fixed(c, b);
        } else
            lk_col_append_i64(c, v);
        return 0;
    }
    case LK_TYPE_BINARY:
    case LK_TYPE_STRING: lk_col_append_bytes(c, p, w); return 0;
    default: return -1;
    }
}

static int assemble(lk_pq_reader *r, const lk_pq_leaf *L, const pq_leafsrc *s, lk_col *top,
                    size_t nentries)
{
    lk_col *cols[LK_PQ_MAX_DEPTH];
    cols[0] = top;
    for (int k = 1; k < L->depth; k++)
        cols[k] = &cols[k - 1]->children[L->nodes[k - 1].child];
    const uint8_t *rep = L->max_rep ? (const uint8_t *)r->rep.data : NULL;
    const uint8_t *def = L->max_def ? (const uint8_t *)r->def.data : NULL;
    size_t nvals = s->phys == PQ_BYTE_ARRAY ? (r->offs.len ? r->offs.len / 4 - 1 : 0)
                                            : r->vals.len / (phys_width(s) ? phys_width(s) : 1);
    size_t vi = 0;
    for (size_t e = 0; e < nentries; e++) {
        int rl = rep ? rep[e] : 0;
        int d = def ? def[e] : L->max_def;
        for (int k = 0; k < L->depth; k++) {
            const lk_pq_node *nd = &L->nodes[k];
            lk_col *c = cols[k];
            int leaf = k == L->depth - 1;
            int own = nd->owner || leaf;
            if (d < nd->dslot)
                break;
            if (rl > nd->rep)
                continue; /* continues a slot opened by an earlier entry */
            if (k > 0 && L->nodes[k - 1].owner && L->nodes[k - 1].f->type != LK_TYPE_STRUCT) {
                lk_col *pc = cols[k - 1];
                if (pc->len == 0)
                    return -1;
                pc->offsets[pc->len]++;
            }
            if (d < nd->dval) {
                if (own)
                    node_null(c);
                for (int k2 = k + 1; nd->f->type == LK_TYPE_STRUCT && k2 < L->depth; k2++) {
                    if (L->nodes[k2].owner || k2 == L->depth - 1)
                        node_null(cols[k2]);
                    if (L->nodes[k2].f->type != LK_TYPE_STRUCT)
                        break;
                }
                break;
            }
            if (leaf) {
                if (vi >= nvals)
                    return -1;
                int rc = append_value(r, c, s, vi);
                if (rc < 0)
                    return rc;
                vi++;
                break;
            }
            if (!own)
                continue;
            if (nd->f->type == LK_TYPE_STRUCT)
                lk_col_append_struct(c);
            else
                list_open(c);
        }
    }
    return vi == nvals ? 0 : -1;
}

static int set_projection(lk_pq_reader *r, const int *columns, int ncols, lk_error *err)
{
    int nf = lk_schema_nfields(r->schema);
    if (!columns)
        ncols = nf;
    if (r->proj && ncols == r->n_pcols) {
        int same = 1;
        for (int i = 0; i < ncols && same; i++)
            same = r->pcols[i] == (columns ? columns[i] : i);
        if (same)
            return 0;
    }
    lk_schema_destroy(&r->proj);
    free(r->pleaves);
    r->pleaves = NULL;
    free(r->pcols);
    r->pcols = calloc((size_t)ncols + 1, sizeof(int));
    if (!r->pcols)
        abort();
    r->n_pcols = ncols;
    r->proj = lk_schema_new();
    for (int i = 0; i < ncols; i++) {
        int ci = columns ? columns[i] : i;
        if (ci < 0 || ci >= nf) {
            r->n_pcols = 0;
            return lk_error_set(err, LK_ENOTFOUND, "%s: no column %d", r->path, ci);
        }
        r->pcols[i] = ci;
        const lk_field *f = lk_schema_field(r->schema, ci);
        lk_field_copy_children(lk_schema_add(r->proj, f->name, f->type, f->nullable), f);
    }
    if (lk_pq_leaves_build(r->proj, &r->pleaves, &r->n_pleaves) < 0)
        return lk_error_set(err, LK_EUNSUPPORTED, "%s: nesting too deep", r->path);
    return 0;
}

int lk_pq_reader_read_row_group(lk_pq_reader *r, int rg, const int *columns, int ncols,
                                lk_batch **out, lk_error *err)
{
    if (rg < 0 || rg >= r->n_rgs)
        return lk_error_set(err, LK_ENOTFOUND, "%s: no row group %d", r->path, rg);
    int rc = set_projection(r, columns, ncols, err);
    if (rc < 0)
        return rc;
    if (*out && !lk_schema_equal(lk_batch_schema(*out), r->proj))
        lk_batch_destroy(out);
    if (!*out)
        *out = lk_batch_new(r->proj);
    else
        lk_batch_reset(*out);
    lk_batch *b = *out;
    const pq_rg *g = &r->rgs[rg];
    for (int pli = 0; pli < r->n_pleaves; pli++) {
        const lk_pq_leaf *L = &r->pleaves[pli];
        int top = r->pcols[L->top];
        /* index of this leaf within its top-level field */
        int first_p = pli;
        while (first_p > 0 && r->pleaves[first_p - 1].top == L->top)
            first_p--;
        int li = r->top_first_leaf[top] + (pli - first_p);
        const pq_chunk *c = &g->cols[li];
        rc = read_chunk(r, c, L, &r->src[li], err);
        if (rc < 0) {
            lk_error_prefix(err, "column %s", L->dotted);
            return rc;
        }
        rc = assemble(r, L, &r->src[li], lk_batch_col(b, L->top), (size_t)c->num_values);
        if (rc < 0)
            return lk_error_set(err, LK_EFORMAT, "%s: row group %d column %s (chunk at offset %lld): %s",
                                r->path, rg, L->dotted, (long long)c->data_off,
                                rc == -3 ? "timestamp out of the microsecond range"
                                         : "levels and values disagree");
    }
    for (int i = 0; i < lk_batch_ncols(b); i++) {
        lk_col *col = lk_batch_col(b, i);
        if ((int64_t)col->len != g->num_rows)
            return lk_error_set(err, LK_EFORMAT, "%s: row group %d column %s: %u rows, footer says %lld",
                                r->path, rg, col->field->name, col->len, (long long)g->num_rows);
    }
    lk_batch_set_nrows(b, (uint32_t)g->num_rows);
    return 0;
}

int lk_pq_reader_num_leaves(const lk_pq_reader *r)
{
    return r->n_leaves;
}

int lk_pq_reader_type_defined_orders(const lk_pq_reader *r)
{
    return r->n_type_orders;
}

int lk_pq_reader_chunk_meta(lk_pq_reader *r, int rg, int leaf, lk_pq_chunk_meta *m, lk_error *err)
{
    memset(m, 0, sizeof *m);
    if (rg < 0 || rg >= r->n_rgs || leaf < 0 || leaf >= r->n_leaves)
        return lk_error_set(err, LK_ENOTFOUND, "%s: no column chunk %d of row group %d", r->path,
                            leaf, rg);
    const pq_chunk *c = &r->rgs[rg].cols[leaf];
    m->path = r->leaves[leaf].dotted;
    m->codec = c->codec;
    m->num_values = c->num_values;
    m->compressed_bytes = c->total_comp;
    m->uncompressed_bytes = c->total_unc;
    m->has_stats = c->has_stats;
    m->null_count = c->has_stats ? c->null_count : -1;
    if (c->min_set)
        m->min = c->min_p, m->min_len = c->min_len;
    if (c->max_set)
        m->max = c->max_p, m->max_len = c->max_len;
    m->min_exact = c->min_exact;
    m->max_exact = c->max_exact;
    /* walk the page headers only */
    size_t pos, end;
    int crc = chunk_range(r, c, &pos, &end, err);
    if (crc)
        return crc;
    int64_t got = 0;
    while (got < c->num_values && pos < end) {
        lk_tc_r t;
        lk_tc_r_init(&t, r->map + pos, end - pos);
        page_hdr h;
        parse_page_hdr(&t, &h);
        size_t body = pos + lk_tc_offset(&t);
        if (t.err || h.comp < 0 || (uint64_t)h.comp > end - body)
            return fmt_err(r, err, pos, "bad page header");
        pos = body + (size_t)h.comp;
        if (h.type == 2)
            m->dictionary_page = 1;
        else if (h.type == 0 || h.type == 3) {
            if (h.nv <= 0)
                return fmt_err(r, err, body, "bad page value count");
            m->data_pages++;
            if (h.enc >= 0 && h.enc < 32)
                m->page_encodings |= 1u << h.enc;
            got += h.nv;
        }
    }
    return 0;
}
