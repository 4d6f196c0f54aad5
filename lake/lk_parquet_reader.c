/*
 * lk_parquet_reader — Parquet → lk_batch; see lk_parquet_reader.h.
 *
 * The file is mmap'ed; the footer and every page header are decoded with
 * the bounds-checked Thrift reader, and every offset and length is checked
 * against the file before use. Each leaf column chunk is decoded into
 * definition/repetition levels and values, then assembled (Dremel) into
 * the nested lk_col tree: the first leaf under a struct or list builds its
 * validity and offsets, every leaf fills its own column.
 */
#include "lk_parquet_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lk_parquet_internal.h"
#include "lk_thrift.h"

#define MAX_DEPTH 32

typedef struct selem { /* a SchemaElement */
    int type, type_length, repetition, num_children, converted, scale, precision;
    int lt; /* logical type union id, 0 if none */
    int ts_utc, ts_unit; /* timestamp: isAdjustedToUTC, unit 1 ms 2 us 3 ns */
    const uint8_t *name;
    size_t name_n;
} selem;

typedef enum nkind { N_STRUCT, N_LIST, N_LEAF } nkind;

typedef struct pnode { /* one step of a leaf's path */
    nkind kind;
    int def;      /* def level at which the node is present (non-null) */
    int elem_def; /* list: def level at which it has an element */
    int rep;      /* list: its repetition level */
    int child;    /* index of the child taken below this node */
    int builder;  /* this leaf builds the node's validity/offsets */
} pnode;

typedef struct pleaf {
    int top;
    int depth;
    pnode path[MAX_DEPTH];
    int max_def, max_rep;
    int ptype, type_length;
    const lk_field *field;
    int conv; /* value conversion: 0 none, 1 int32→int64 decimal, 2 ts millis, 3 ts nanos, 4 int96, 5 byte-array decimal, 6 int32→int8, 7 int32→int16 */
} pleaf;

typedef struct chunk {
    int codec;
    int64_t num_values, start, size;
} chunk;

struct lk_pq_reader {
    char path[4096];
    const uint8_t *map;
    size_t size;
    lk_schema *schema;
    pleaf *leaves;
    int nleaves;
    int64_t num_rows;
    int nrg;
    int64_t *rg_rows;
    chunk *chunks; /* nrg × nleaves */
    char created_by[256];
    lk_buf page, vals;
    uint32_t *def, *rep;
    size_t lev_cap;
    int *proj;
    int nproj;
};

static int fmt_err(lk_pq_reader *r, lk_error *err, int64_t off, const char *what)
{
    return lk_error_set(err, LK_EFORMAT, "%s: corrupt Parquet file at offset %lld: %s", r->path,
                        (long long)off, what);
}

/* ---- footer ---- */

static void read_logical(lk_thrift_reader *t, selem *e)
{
    lk_thrift_read_struct_begin(t);
    int16_t id;
    int ty;
    while (lk_thrift_read_field(t, &id, &ty) == 0 && ty != LK_TT_STOP) {
        if (ty != LK_TT_STRUCT) {
            lk_thrift_skip(t, ty);
            continue;
        }
        e->lt = id;
        lk_thrift_read_struct_begin(t);
        int16_t id2;
        int ty2;
        while (lk_thrift_read_field(t, &id2, &ty2) == 0 && ty2 != LK_TT_STOP) {
            if (id == 8 && id2 == 1 && (ty2 == LK_TT_TRUE || ty2 == LK_TT_FALSE)) {
                e->ts_utc = ty2 == LK_TT_TRUE;
            } else if (id == 8 && id2 == 2 && ty2 == LK_TT_STRUCT) {
                lk_thrift_read_struct_begin(t);
                int16_t id3;
                int ty3;
                while (lk_thrift_read_field(t, &id3, &ty3) == 0 && ty3 != LK_TT_STOP) {
                    e->ts_unit = id3;
                    lk_thrift_skip(t, ty3);
                }
                lk_thrift_read_struct_end(t);
            } else if (id == 5 && id2 == 1 && ty2 == LK_TT_I32) {
                e->scale = lk_thrift_read_i32(t);
            } else if (id == 5 && id2 == 2 && ty2 == LK_TT_I32) {
                e->precision = lk_thrift_read_i32(t);
            } else {
                lk_thrift_skip(t, ty2);
            }
        }
        lk_thrift_read_struct_end(t);
    }
    lk_thrift_read_struct_end(t);
}

static void read_selem(lk_thrift_reader *t, selem *e)
{
    memset(e, 0, sizeof *e);
    e->type = -1;
    e->converted = -1;
    e->repetition = PQ_REQUIRED;
    lk_thrift_read_struct_begin(t);
    int16_t id;
    int ty;
    while (lk_thrift_read_field(t, &id, &ty) == 0 && ty != LK_TT_STOP) {
        switch (id) {
        case 1: e->type = lk_thrift_read_i32(t); break;
        case 2: e->type_length = lk_thrift_read_i32(t); break;
        case 3: e->repetition = lk_thrift_read_i32(t); break;
        case 4: e->name = lk_thrift_read_binary(t, &e->name_n); break;
        case 5: e->num_children = lk_thrift_read_i32(t); break;
        case 6: e->converted = lk_thrift_read_i32(t); break;
        case 7: e->scale = lk_thrift_read_i32(t); break;
        case 8: e->precision = lk_thrift_read_i32(t); break;
        case 10:
            if (ty == LK_TT_STRUCT) {
                read_logical(t, e);
                break;
            }
            /* fallthrough */
        default: lk_thrift_skip(t, ty);
        }
    }
    lk_thrift_read_struct_end(t);
}

typedef struct build {
    lk_pq_reader *r;
    selem *el;
    int nel, pos;
    pnode path[MAX_DEPTH];
    int depth, def, rep, top;
    lk_error *err;
    int bad;
} build;

static void name_of(const selem *e, char *out, size_t cap)
{
    size_t n = e->name_n < cap - 1 ? e->name_n : cap - 1;
    memcpy(out, e->name ? (const char *)e->name : "", n);
    out[n] = '\0';
}

/* Maps a primitive element to an lk type and a value conversion. */
static int leaf_type(const selem *e, lk_field *f, int *conv)
{
    *conv = 0;
    f->precision = e->precision;
    f->scale = e->scale;
    int dec = e->converted == PQ_CT_DECIMAL || e->lt == 5;
    switch (e->type) {
    case PQ_BOOLEAN: f->type = LK_TYPE_BOOLEAN; return 0;
    case PQ_INT32:
        if (dec) {
            f->type = LK_TYPE_DECIMAL;
            *conv = 1;
        } else if (e->converted == PQ_CT_DATE || e->lt == 6) {
            f->type = LK_TYPE_DATE;
        } else if (e->converted == PQ_CT_INT_8) {
            f->type = LK_TYPE_BYTE;
            *conv = 6;
        } else if (e->converted == PQ_CT_INT_16) {
            f->type = LK_TYPE_SHORT;
            *conv = 7;
        } else {
            f->type = LK_TYPE_INTEGER;
        }
        return 0;
    case PQ_INT64:
        if (dec) {
            f->type = LK_TYPE_DECIMAL;
        } else if (e->lt == 8 || e->converted == PQ_CT_TIMESTAMP_MICROS ||
                   e->converted == PQ_CT_TIMESTAMP_MILLIS) {
            int utc = e->lt == 8 ? e->ts_utc : 1;
            f->type = utc ? LK_TYPE_TIMESTAMP : LK_TYPE_TIMESTAMP_NTZ;
            int unit = e->lt == 8 ? e->ts_unit : e->converted == PQ_CT_TIMESTAMP_MILLIS ? 1 : 2;
            *conv = unit == 1 ? 2 : unit == 3 ? 3 : 0;
        } else {
            f->type = LK_TYPE_LONG;
        }
        return 0;
    case PQ_INT96: f->type = LK_TYPE_TIMESTAMP; *conv = 4; return 0;
    case PQ_FLOAT: f->type = LK_TYPE_FLOAT; return 0;
    case PQ_DOUBLE: f->type = LK_TYPE_DOUBLE; return 0;
    case PQ_BYTE_ARRAY:
    case PQ_FLBA:
        if (dec) {
            if (e->precision < 1 || e->precision > 38)
                return -1;
            f->type = LK_TYPE_DECIMAL;
            *conv = 5;
        } else if (e->type == PQ_BYTE_ARRAY &&
                   (e->converted == PQ_CT_UTF8 || e->lt == 1 || e->converted == 4 /*ENUM*/ ||
                    e->lt == 4 || e->converted == 19 || e->lt == 12)) {
            f->type = LK_TYPE_STRING;
        } else {
            f->type = LK_TYPE_BINARY;
        }
        return 0;
    default: return -1;
    }
}

static void add_leaf(build *b, lk_field *f, int ptype, int type_length, int conv)
{
    lk_pq_reader *r = b->r;
    r->leaves = realloc(r->leaves, sizeof(pleaf) * (size_t)(r->nleaves + 1));
    if (!r->leaves)
        abort();
    pleaf *l = &r->leaves[r->nleaves++];
    memset(l, 0, sizeof *l);
    l->top = b->top;
    l->depth = b->depth;
    memcpy(l->path, b->path, sizeof l->path);
    l->max_def = b->def;
    l->max_rep = b->rep;
    l->ptype = ptype;
    l->type_length = type_length;
    l->conv = conv;
    (void)f;
}

/* Builds field f (already added to its parent) from element b->el[b->pos]. */
static void walk(build *b, lk_field *f);

static void push(build *b, nkind k, int def, int elem_def, int rep, int child)
{
    if (b->depth >= MAX_DEPTH) {
        b->bad = 1;
        return;
    }
    pnode *n = &b->path[b->depth++];
    n->kind = k;
    n->def = def;
    n->elem_def = elem_def;
    n->rep = rep;
    n->child = child;
}

static void walk_children(build *b, lk_field *f, int n)
{
    for (int i = 0; i < n && !b->bad; i++) {
        if (b->pos >= b->nel) {
            b->bad = 1;
            return;
        }
        const selem *c = &b->el[b->pos];
        char name[512];
        name_of(c, name, sizeof name);
        lk_field *cf = lk_field_add_child(f, name, LK_TYPE_STRING, c->repetition != PQ_REQUIRED);
        b->path[b->depth - 1].child = i;
        walk(b, cf);
    }
}

static void walk(build *b, lk_field *f)
{
    if (b->bad || b->pos >= b->nel) {
        b->bad = 1;
        return;
    }
    const selem *e = &b->el[b->pos++];
    int save_def = b->def, save_rep = b->rep, save_depth = b->depth;
    if (e->repetition == PQ_OPTIONAL)
        b->def++;
    int is_group = e->num_children > 0 || e->type < 0;
    if (e->repetition == PQ_REPEATED) {
        /* a bare repeated field: a list of it (legacy layout) */
        f->type = LK_TYPE_ARRAY;
        f->nullable = 0;
        b->def++;
        b->rep++;
        push(b, N_LIST, b->def - 1, b->def, b->rep, 0);
        lk_field *el = lk_field_add_child(f, "element", LK_TYPE_STRING, 0);
        if (is_group) {
            el->type = LK_TYPE_STRUCT;
            push(b, N_STRUCT, b->def, 0, 0, 0);
            walk_children(b, el, e->num_children);
        } else {
            push(b, N_LEAF, b->def, 0, 0, 0);
            int conv;
            if (leaf_type(e, el, &conv))
                b->bad = 1;
            else
                add_leaf(b, el, e->type, e->type_length, conv);
        }
    } else if (is_group && (e->converted == PQ_CT_LIST || e->lt == 3) && e->num_children == 1 &&
               b->pos < b->nel && b->el[b->pos].repetition == PQ_REPEATED) {
        f->type = LK_TYPE_ARRAY;
        const selem *rg = &b->el[b->pos];
        int present = b->def;
        b->def++;
        b->rep++;
        push(b, N_LIST, present, b->def, b->rep, 0);
        int rg_group = rg->num_children > 0 || rg->type < 0;
        char rn[64];
        name_of(rg, rn, sizeof rn);
        int three_level = rg_group && rg->num_children == 1 && strcmp(rn, "array") &&
                          strcmp(rn, "tuple") && !(strlen(rn) > 6 && !strcmp(rn + strlen(rn) - 6, "_tuple"));
        if (three_level) {
            b->pos++;
            const selem *el = &b->el[b->pos];
            lk_field *ef = lk_field_add_child(f, "element", LK_TYPE_STRING,
                                              el->repetition != PQ_REQUIRED);
            walk(b, ef);
        } else {
            /* 2-level: the repeated element is the element itself */
            b->pos++;
            lk_field *ef = lk_field_add_child(f, "element", LK_TYPE_STRING, 0);
            if (rg_group) {
                ef->type = LK_TYPE_STRUCT;
                push(b, N_STRUCT, b->def, 0, 0, 0);
                walk_children(b, ef, rg->num_children);
            } else {
                push(b, N_LEAF, b->def, 0, 0, 0);
                int conv;
                if (leaf_type(rg, ef, &conv))
                    b->bad = 1;
                else
                    add_leaf(b, ef, rg->type, rg->type_length, conv);
            }
        }
    } else if (is_group && (e->converted == PQ_CT_MAP || e->converted == PQ_CT_MAP_KEY_VALUE ||
                            e->lt == 2) &&
               e->num_children == 1 && b->pos < b->nel &&
               b->el[b->pos].repetition == PQ_REPEATED && b->el[b->pos].num_children == 2) {
        f->type = LK_TYPE_MAP;
        int present = b->def;
        b->def++;
        b->rep++;
        push(b, N_LIST, present, b->def, b->rep, 0);
        b->pos++;
        for (int i = 0; i < 2 && !b->bad; i++) {
            const selem *c = &b->el[b->pos];
            lk_field *cf = lk_field_add_child(f, i ? "value" : "key", LK_TYPE_STRING,
                                              i ? c->repetition != PQ_REQUIRED : 0);
            b->path[b->depth - 1].child = i;
            walk(b, cf);
        }
    } else if (is_group) {
        f->type = LK_TYPE_STRUCT;
        push(b, N_STRUCT, b->def, 0, 0, 0);
        walk_children(b, f, e->num_children);
    } else {
        push(b, N_LEAF, b->def, 0, 0, 0);
        int conv;
        if (leaf_type(e, f, &conv))
            b->bad = 1;
        else
            add_leaf(b, f, e->type, e->type_length, conv);
    }
    b->def = save_def;
    b->rep = save_rep;
    b->depth = save_depth;
}

static int parse_footer(lk_pq_reader *r, const uint8_t *p, size_t n, int64_t off, lk_error *err)
{
    lk_thrift_reader t;
    lk_thrift_reader_init(&t, p, n);
    selem *el = NULL;
    int nel = 0;
    lk_thrift_read_struct_begin(&t);
    int16_t id;
    int ty;
    const uint8_t *rg_start = NULL;
    size_t rg_len = 0;
    while (lk_thrift_read_field(&t, &id, &ty) == 0 && ty != LK_TT_STOP) {
        if (id == 2 && ty == LK_TT_LIST) {
            int et;
            uint32_t cnt = lk_thrift_read_list(&t, &et);
            el = calloc(cnt ? cnt : 1, sizeof *el);
            if (!el)
                abort();
            for (uint32_t i = 0; i < cnt && !t.err; i++)
                read_selem(&t, &el[nel++]);
        } else if (id == 3 && ty == LK_TT_I64) {
            r->num_rows = lk_thrift_read_i64(&t);
        } else if (id == 4 && ty == LK_TT_LIST) {
            rg_start = t.p;
            lk_thrift_skip(&t, ty);
            rg_len = (size_t)(t.p - rg_start);
        } else if (id == 6 && ty == LK_TT_BINARY) {
            size_t cn;
            const uint8_t *cb = lk_thrift_read_binary(&t, &cn);
            snprintf(r->created_by, sizeof r->created_by, "%.*s", (int)cn, cb ? (const char *)cb : "");
        } else {
            lk_thrift_skip(&t, ty);
        }
    }
    if (t.err || nel < 1) {
        free(el);
        return fmt_err(r, err, off + (int64_t)lk_thrift_offset(&t), "unreadable file metadata");
    }
    /* schema */
    r->schema = lk_schema_new();
    build b = {r, el, nel, 1, {{0}}, 0, 0, 0, 0, err, 0};
    for (int i = 0; i < el[0].num_children && !b.bad; i++) {
        if (b.pos >= nel) {
            b.bad = 1;
            break;
        }
        char name[512];
        name_of(&el[b.pos], name, sizeof name);
        lk_field *f = lk_schema_add(r->schema, name, LK_TYPE_STRING,
                                    el[b.pos].repetition != PQ_REQUIRED);
        b.top = i;
        walk(&b, f);
    }
    free(el);
    if (b.bad)
        return lk_error_set(err, LK_EUNSUPPORTED, "%s: unsupported or corrupt Parquet schema",
                            r->path);
    /* leaf fields and builders (the first leaf under a node builds it) */
    for (int i = 0; i < r->nleaves; i++) {
        pleaf *l = &r->leaves[i];
        const lk_field *f = lk_schema_field(r->schema, l->top);
        for (int d = 0; d < l->depth; d++) {
            int first = 1;
            if (i > 0) {
                const pleaf *pl = &r->leaves[i - 1];
                /* same node as the previous leaf down to d? then it built it */
                int same = pl->top == l->top && pl->depth > d;
                for (int k = 0; same && k < d; k++)
                    same = pl->path[k].child == l->path[k].child;
                first = !same;
            }
            l->path[d].builder = first || d == l->depth - 1;
            if (l->path[d].kind != N_LEAF)
                f = &f->children[l->path[d].child];
        }
        l->field = f;
    }
    /* row groups */
    if (rg_start) {
        lk_thrift_reader g;
        lk_thrift_reader_init(&g, rg_start, rg_len);
        int et;
        uint32_t cnt = lk_thrift_read_list(&g, &et);
        r->nrg = (int)cnt;
        r->rg_rows = calloc(cnt ? cnt : 1, sizeof(int64_t));
        r->chunks = calloc((size_t)(cnt ? cnt : 1) * (size_t)(r->nleaves ? r->nleaves : 1),
                           sizeof(chunk));
        if (!r->rg_rows || !r->chunks)
            abort();
        for (uint32_t k = 0; k < cnt && !g.err; k++) {
            lk_thrift_read_struct_begin(&g);
            while (lk_thrift_read_field(&g, &id, &ty) == 0 && ty != LK_TT_STOP) {
                if (id == 1 && ty == LK_TT_LIST) {
                    uint32_t nc = lk_thrift_read_list(&g, &et);
                    if ((int)nc != r->nleaves) {
                        g.err = 1;
                        break;
                    }
                    for (uint32_t c = 0; c < nc && !g.err; c++) {
                        chunk *ch = &r->chunks[k * (uint32_t)r->nleaves + c];
                        int64_t data_off = -1, dict_off = -1;
                        lk_thrift_read_struct_begin(&g);
                        int16_t cid;
                        int cty;
                        while (lk_thrift_read_field(&g, &cid, &cty) == 0 && cty != LK_TT_STOP) {
                            if (cid == 3 && cty == LK_TT_STRUCT) {
                                lk_thrift_read_struct_begin(&g);
                                int16_t mid;
                                int mty;
                                while (lk_thrift_read_field(&g, &mid, &mty) == 0 &&
                                       mty != LK_TT_STOP) {
                                    if (mid == 4)
                                        ch->codec = lk_thrift_read_i32(&g);
                                    else if (mid == 5)
                                        ch->num_values = lk_thrift_read_i64(&g);
                                    else if (mid == 7)
                                        ch->size = lk_thrift_read_i64(&g);
                                    else if (mid == 9)
                                        data_off = lk_thrift_read_i64(&g);
                                    else if (mid == 11)
                                        dict_off = lk_thrift_read_i64(&g);
                                    else
                                        lk_thrift_skip(&g, mty);
                                }
                                lk_thrift_read_struct_end(&g);
                            } else {
                                lk_thrift_skip(&g, cty);
                            }
                        }
                        lk_thrift_read_struct_end(&g);
                        ch->start = dict_off > 0 && dict_off < data_off ? dict_off : data_off;
                        if (ch->start < 4 || ch->size < 0 ||
                            ch->start + ch->size > (int64_t)r->size)
                            g.err = 1;
                    }
                } else if (id == 3 && ty == LK_TT_I64) {
                    r->rg_rows[k] = lk_thrift_read_i64(&g);
                } else {
                    lk_thrift_skip(&g, ty);
                }
            }
            lk_thrift_read_struct_end(&g);
        }
        if (g.err)
            return fmt_err(r, err, off, "unreadable row group metadata");
    }
    return 0;
}

int lk_pq_reader_open(const char *path, lk_pq_reader **out, lk_error *err)
{
    lk_pq_reader *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    snprintf(r->path, sizeof r->path, "%s", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int rc = lk_error_errno(err, -errno, "cannot open '%s'", path);
        free(r);
        return rc;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < 12) {
        close(fd);
        free(r);
        return lk_error_set(err, LK_EFORMAT, "%s: too short to be a Parquet file", path);
    }
    r->size = (size_t)st.st_size;
    void *m = mmap(NULL, r->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        int rc = lk_error_errno(err, -errno, "cannot map '%s'", path);
        free(r);
        return rc;
    }
    r->map = m;
    const uint8_t *p = r->map;
    uint32_t flen;
    memcpy(&flen, p + r->size - 8, 4);
    int rc = 0;
    if (memcmp(p, "PAR1", 4) || memcmp(p + r->size - 4, "PAR1", 4))
        rc = memcmp(p + r->size - 4, "PARE", 4) == 0
                 ? lk_error_set(err, LK_EUNSUPPORTED, "%s: encrypted Parquet files are not "
                                                      "supported", path)
                 : fmt_err(r, err, 0, "no PAR1 magic");
    else if ((size_t)flen + 12 > r->size)
        rc = fmt_err(r, err, (int64_t)r->size - 8, "footer length beyond the file");
    else
        rc = parse_footer(r, p + r->size - 8 - flen, flen, (int64_t)(r->size - 8 - flen), err);
    if (rc) {
        lk_pq_reader_destroy(&r);
        return rc;
    }
    *out = r;
    return 0;
}

void lk_pq_reader_destroy(lk_pq_reader **rp)
{
    if (!rp || !*rp)
        return;
    lk_pq_reader *r = *rp;
    if (r->map)
        munmap((void *)r->map, r->size);
    lk_schema_destroy(&r->schema);
    free(r->leaves);
    free(r->rg_rows);
    free(r->chunks);
    free(r->def);
    free(r->rep);
    free(r->proj);
    lk_buf_free(&r->page);
    lk_buf_free(&r->vals);
    free(r);
    *rp = NULL;
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
    return r->nrg;
}

const char *lk_pq_reader_created_by(const lk_pq_reader *r)
{
    return r->created_by;
}

/* ---- values ---- */

/* A decoded value source: PLAIN bytes, or dictionary indices. */
typedef struct vsrc {
    const uint8_t *p, *end; /* PLAIN */
    lk_col *dict;           /* dictionary column (leaf type), or NULL */
    uint32_t *idx;
    size_t nidx, pos;
} vsrc;

static int64_t int96_to_us(const uint8_t *p)
{
    int64_t nanos;
    int32_t jd;
    memcpy(&nanos, p, 8);
    memcpy(&jd, p + 8, 4);
    return ((int64_t)jd - 2440588) * 86400000000LL + nanos / 1000;
}

/* Appends a big-endian two's complement decimal of n bytes (<= 16) to c:
   as int64 for precision <= 18, else as 16 sign-extended bytes. */
static int append_decimal(lk_col *c, const uint8_t *v, size_t n)
{
    uint8_t be[16];
    if (n > 16)
        return -1;
    memset(be, n && (v[0] & 0x80) ? 0xff : 0, 16);
    memcpy(be + 16 - n, v, n);
    if (c->elem_size == 8) {
        int64_t x = 0;
        for (int k = 8; k < 16; k++)
            x = (int64_t)((uint64_t)x << 8 | be[k]);
        lk_col_append_i64(c, x);
    } else {
        lk_col_append_fixed(c, be);
    }
    return 0;
}

/* Appends one PLAIN value from s to c. -1 if the input ends. */
static int plain_one(const pleaf *l, vsrc *s, lk_col *c, int *bitpos)
{
    size_t need;
    switch (l->ptype) {
    case PQ_BOOLEAN:
        if (s->p >= s->end)
            return -1;
        lk_col_append_bool(c, (*s->p >> *bitpos) & 1);
        if (++*bitpos == 8) {
            *bitpos = 0;
            s->p++;
        }
        return 0;
    case PQ_INT32:
    case PQ_FLOAT: need = 4; break;
    case PQ_INT64:
    case PQ_DOUBLE: need = 8; break;
    case PQ_INT96: need = 12; break;
    case PQ_FLBA: need = (size_t)l->type_length; break;
    default: {
        uint32_t n;
        if (s->end - s->p < 4)
            return -1;
        memcpy(&n, s->p, 4);
        if ((size_t)(s->end - s->p - 4) < n)
            return -1;
        const uint8_t *v = s->p + 4;
        s->p += 4 + n;
        if (l->conv == 5)
            return append_decimal(c, v, n);
        lk_col_append_bytes(c, v, n);
        return 0;
    }
    }
    if ((size_t)(s->end - s->p) < need)
        return -1;
    const uint8_t *v = s->p;
    s->p += need;
    switch (l->ptype) {
    case PQ_INT32: {
        int32_t x;
        memcpy(&x, v, 4);
        if (l->conv == 1)
            lk_col_append_i64(c, x);
        else if (l->conv == 6) {
            int8_t b = (int8_t)x;
            lk_col_append_fixed(c, &b);
        } else if (l->conv == 7) {
            int16_t h = (int16_t)x;
            lk_col_append_fixed(c, &h);
        } else
            lk_col_append_i32(c, x);
        return 0;
    }
    case PQ_INT64: {
        int64_t x;
        memcpy(&x, v, 8);
        lk_col_append_i64(c, l->conv == 2 ? x * 1000 : l->conv == 3 ? x / 1000 : x);
        return 0;
    }
    case PQ_INT96: lk_col_append_i64(c, int96_to_us(v)); return 0;
    case PQ_FLOAT: {
        float f;
        memcpy(&f, v, 4);
        lk_col_append_f32(c, f);
        return 0;
    }
    case PQ_DOUBLE: {
        double d;
        memcpy(&d, v, 8);
        lk_col_append_f64(c, d);
        return 0;
    }
    case PQ_FLBA:
        if (l->conv == 5)
            return append_decimal(c, v, need);
        lk_col_append_bytes(c, v, need);
        return 0;
    }
    return -1;
}

/* ---- assembly ---- */

typedef struct cursor {
    lk_col *cols[MAX_DEPTH]; /* the column at each path step */
} cursor;

/* Appends one level entry (rep r, def d) of leaf l. Steps above `start`
   already hold the current slot; the step at `start` gets a new slot (a new
   row, or a new element of the list whose repetition level is r). */
static int assemble_one(const pleaf *l, cursor *cur, uint32_t r, uint32_t d, vsrc *s, int *bitpos)
{
    int start = 0;
    if (r > 0) {
        for (int k = 0; k < l->depth; k++)
            if (l->path[k].kind == N_LIST && (uint32_t)l->path[k].rep == r) {
                start = k + 1;
                break;
            }
        if (start == 0)
            return -1;
    }
    for (int k = start; k < l->depth; k++) {
        const pnode *n = &l->path[k];
        lk_col *c = cur->cols[k];
        if (n->kind == N_LEAF) {
            if ((int)d >= l->max_def) {
                if (s->dict) {
                    if (s->pos >= s->nidx || s->idx[s->pos] >= s->dict->len)
                        return -1;
                    lk_col_append_range(c, s->dict, s->idx[s->pos++], 1);
                } else if (plain_one(l, s, c, bitpos)) {
                    return -1;
                }
            } else {
                lk_col_append_null(c);
            }
            break;
        }
        if ((int)d < n->def) { /* the node is null */
            if (n->builder)
                lk_col_append_null_shallow(c);
            if (n->kind == N_LIST)
                break; /* no elements below a null list */
            continue;  /* a null struct still has a (null) slot in every child */
        }
        if (n->kind == N_STRUCT) {
            if (n->builder)
                lk_col_append_struct(c);
            continue;
        }
        if (n->builder)
            lk_col_append_list(c);
        if ((int)d < n->elem_def)
            break; /* an empty list */
    }
    /* the current slot of every list this leaf builds ends at its child's end */
    for (int k = 0; k < l->depth; k++)
        if (l->path[k].kind == N_LIST && l->path[k].builder) {
            lk_col *c = cur->cols[k];
            if (c->len)
                c->offsets[c->len] = c->children[l->path[k].child].len;
        }
    return 0;
}

static int read_leaf(lk_pq_reader *r, int rg, int li, cursor *cur, lk_error *err)
{
    const pleaf *l = &r->leaves[li];
    const chunk *ch = &r->chunks[rg * r->nleaves + li];
    const uint8_t *p = r->map + ch->start, *end = p + ch->size;
    int64_t done = 0;
    lk_col *dict = NULL;
    lk_schema *ds = NULL;
    lk_batch *db = NULL;
    int rc = 0;
    while (done < ch->num_values && rc == 0) {
        int64_t off = p - r->map;
        lk_thrift_reader t;
        lk_thrift_reader_init(&t, p, (size_t)(end - p));
        int type = -1, enc = 0, num = 0, dlen = 0, rlen = 0, v2 = 0, compressed = 1;
        int32_t usize = -1, csize = -1;
        lk_thrift_read_struct_begin(&t);
        int16_t id;
        int ty;
        while (lk_thrift_read_field(&t, &id, &ty) == 0 && ty != LK_TT_STOP) {
            if (id == 1)
                type = lk_thrift_read_i32(&t);
            else if (id == 2)
                usize = lk_thrift_read_i32(&t);
            else if (id == 3)
                csize = lk_thrift_read_i32(&t);
            else if ((id == 5 || id == 7 || id == 8) && ty == LK_TT_STRUCT) {
                v2 = id == 8;
                lk_thrift_read_struct_begin(&t);
                int16_t hid;
                int hty;
                while (lk_thrift_read_field(&t, &hid, &hty) == 0 && hty != LK_TT_STOP) {
                    if (hid == 1)
                        num = lk_thrift_read_i32(&t);
                    else if ((id != 8 && hid == 2) || (id == 8 && hid == 4))
                        enc = lk_thrift_read_i32(&t);
                    else if (id == 8 && hid == 5)
                        dlen = lk_thrift_read_i32(&t);
                    else if (id == 8 && hid == 6)
                        rlen = lk_thrift_read_i32(&t);
                    else if (id == 8 && hid == 7)
                        compressed = hty == LK_TT_TRUE;
                    else
                        lk_thrift_skip(&t, hty);
                }
                lk_thrift_read_struct_end(&t);
            } else {
                lk_thrift_skip(&t, ty);
            }
        }
        if (t.err || usize < 0 || csize < 0 || (size_t)csize > (size_t)(end - p) - lk_thrift_offset(&t) ||
            num < 0 || usize > (1 << 30)) {
            rc = fmt_err(r, err, off, "bad page header");
            break;
        }
        const uint8_t *body = p + lk_thrift_offset(&t);
        p = body + csize;
        if (type == PQ_PAGE_DICTIONARY) {
            if ((rc = lk_pq_decompress(ch->codec, body, (size_t)csize, (size_t)usize, &r->page, err)))
                break;
            lk_schema_destroy(&ds);
            lk_batch_destroy(&db);
            ds = lk_schema_new();
            lk_field *f = lk_schema_add(ds, "v", l->field->type, 1);
            f->precision = l->field->precision;
            f->scale = l->field->scale;
            db = lk_batch_new(ds);
            dict = lk_batch_col(db, 0);
            vsrc s = {(const uint8_t *)r->page.data, (const uint8_t *)r->page.data + r->page.len,
                      NULL, NULL, 0, 0};
            int bit = 0;
            for (int k = 0; k < num; k++)
                if (plain_one(l, &s, dict, &bit)) {
                    rc = fmt_err(r, err, off, "dictionary page shorter than its values");
                    break;
                }
            continue;
        }
        if (type != PQ_PAGE_DATA && type != PQ_PAGE_DATA_V2)
            continue; /* index pages */
        /* levels */
        const uint8_t *lv;
        size_t lvn;
        if (v2) {
            if (dlen < 0 || rlen < 0 || (int64_t)dlen + rlen > csize) {
                rc = fmt_err(r, err, off, "bad V2 level lengths");
                break;
            }
            lk_buf_reset(&r->page);
            lk_buf_append(&r->page, body, (size_t)(rlen + dlen));
            size_t vbytes = (size_t)csize - (size_t)(rlen + dlen);
            if (compressed && ch->codec) {
                lk_buf tmp = LK_BUF_INIT;
                rc = lk_pq_decompress(ch->codec, body + rlen + dlen, vbytes,
                                      (size_t)usize - (size_t)(rlen + dlen), &tmp, err);
                if (rc == 0)
                    lk_buf_append(&r->page, tmp.data, tmp.len);
                lk_buf_free(&tmp);
                if (rc)
                    break;
            } else {
                lk_buf_append(&r->page, body + rlen + dlen, vbytes);
            }
        } else if ((rc = lk_pq_decompress(ch->codec, body, (size_t)csize, (size_t)usize, &r->page,
                                          err))) {
            break;
        }
        lv = (const uint8_t *)r->page.data;
        lvn = r->page.len;
        if ((size_t)num > r->lev_cap) {
            r->lev_cap = (size_t)num;
            r->def = realloc(r->def, sizeof(uint32_t) * r->lev_cap);
            r->rep = realloc(r->rep, sizeof(uint32_t) * r->lev_cap);
            if (!r->def || !r->rep)
                abort();
        }
        const uint8_t *q = lv, *qend = lv + lvn;
        int bad = 0;
        for (int pass = 0; pass < 2; pass++) {
            int maxl = pass == 0 ? l->max_rep : l->max_def;
            uint32_t *dst = pass == 0 ? r->rep : r->def;
            if (maxl == 0) {
                for (int k = 0; k < num; k++)
                    dst[k] = 0;
                continue;
            }
            size_t n;
            if (v2) {
                n = (size_t)(pass == 0 ? rlen : dlen);
            } else {
                uint32_t len32;
                if (qend - q < 4) {
                    bad = 1;
                    break;
                }
                memcpy(&len32, q, 4);
                q += 4;
                n = len32;
            }
            if (n > (size_t)(qend - q) ||
                lk_pq_rle_decode(q, n, lk_pq_bit_width((uint32_t)maxl), dst, (size_t)num)) {
                bad = 1;
                break;
            }
            for (int k = 0; k < num; k++)
                if (dst[k] > (uint32_t)maxl)
                    bad = 1;
            q += n;
        }
        if (bad) {
            rc = fmt_err(r, err, off, "bad definition/repetition levels");
            break;
        }
        vsrc s = {q, qend, NULL, NULL, 0, 0};
        if (enc == PQ_ENC_RLE_DICTIONARY || enc == PQ_ENC_PLAIN_DICTIONARY) {
            if (!dict || q >= qend) {
                rc = fmt_err(r, err, off, "dictionary-encoded page without a dictionary");
                break;
            }
            int nn = 0;
            for (int k = 0; k < num; k++)
                nn += (int)r->def[k] >= l->max_def;
            lk_buf_reset(&r->vals);
            lk_buf_grow(&r->vals, sizeof(uint32_t) * (size_t)(nn + 1));
            s.idx = (uint32_t *)r->vals.data;
            int bw = *q;
            if (bw > 32 || (nn && lk_pq_rle_decode(q + 1, (size_t)(qend - q - 1), bw, s.idx, (size_t)nn))) {
                rc = fmt_err(r, err, off, "bad dictionary indices");
                break;
            }
            s.nidx = (size_t)nn;
            s.dict = dict;
        } else if (enc != PQ_ENC_PLAIN) {
            rc = lk_error_set(err, LK_EUNSUPPORTED, "%s: encoding %d of column '%s' is not "
                              "supported yet", r->path, enc, l->field->name);
            break;
        }
        int bit = 0;
        for (int k = 0; k < num; k++)
            if (assemble_one(l, cur, r->rep[k], r->def[k], &s, &bit)) {
                rc = fmt_err(r, err, off, "values or levels do not match");
                break;
            }
        done += num;
    }
    lk_batch_destroy(&db);
    lk_schema_destroy(&ds);
    return rc;
}

int lk_pq_reader_read_row_group(lk_pq_reader *r, int rg, const int *columns, int ncols,
                                lk_batch **out, lk_error *err)
{
    if (rg < 0 || rg >= r->nrg)
        return lk_error_set(err, -EINVAL, "%s: no row group %d", r->path, rg);
    int nsel = columns ? ncols : lk_schema_nfields(r->schema);
    for (int i = 0; i < nsel; i++) {
        int k = columns ? columns[i] : i;
        if (k < 0 || k >= lk_schema_nfields(r->schema))
            return lk_error_set(err, -EINVAL, "%s: no column %d", r->path, k);
    }
    int same = *out && r->proj && r->nproj == nsel;
    for (int i = 0; same && i < nsel; i++)
        same = r->proj[i] == (columns ? columns[i] : i);
    if (same) {
        lk_batch_reset(*out);
    } else {
        lk_batch_destroy(out);
        free(r->proj);
        r->proj = malloc(sizeof(int) * (size_t)(nsel ? nsel : 1));
        if (!r->proj)
            abort();
        r->nproj = nsel;
        lk_schema *ps = lk_schema_new();
        for (int i = 0; i < nsel; i++) {
            r->proj[i] = columns ? columns[i] : i;
            lk_schema_add_copy(ps, lk_schema_field(r->schema, r->proj[i]));
        }
        *out = lk_batch_new(ps);
        lk_schema_destroy(&ps);
    }
    for (int i = 0; i < nsel; i++) {
        for (int li = 0; li < r->nleaves; li++) {
            const pleaf *l = &r->leaves[li];
            if (l->top != r->proj[i])
                continue;
            cursor cur;
            cur.cols[0] = lk_batch_col(*out, i);
            for (int d = 0; d + 1 < l->depth; d++)
                cur.cols[d + 1] = &cur.cols[d]->children[l->path[d].child];
            int rc = read_leaf(r, rg, li, &cur, err);
            if (rc)
                return rc;
        }
    }
    uint32_t rows = (uint32_t)r->rg_rows[rg];
    for (int i = 0; i < nsel; i++)
        if (lk_batch_col(*out, i)->len != rows)
            return lk_error_set(err, LK_EFORMAT,
                                "%s: row group %d column '%s' has %u values for %u rows", r->path,
                                rg, lk_batch_col(*out, i)->field->name, lk_batch_col(*out, i)->len,
                                rows);
    lk_batch_set_nrows(*out, rows);
    return 0;
}
