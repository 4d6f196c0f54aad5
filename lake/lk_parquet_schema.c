/*
 * lk_parquet_schema — lk_schema ↔ Parquet schema (see lk_parquet_schema.h).
 * Arrays and maps use the 3-level layouts of LogicalTypes.md:
 *   <opt> group name (LIST) { repeated group list { <opt> element } }
 *   <opt> group name (MAP)  { repeated group key_value { required key; <opt> value } }
 */
#include "lk_parquet_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_error.h"

int lk_pq_phys_type(const lk_field *f, int *type_length)
{
    *type_length = 0;
    switch (f->type) {
    case LK_TYPE_BOOLEAN: return PQ_BOOLEAN;
    case LK_TYPE_BYTE:
    case LK_TYPE_SHORT:
    case LK_TYPE_INTEGER:
    case LK_TYPE_DATE: return PQ_INT32;
    case LK_TYPE_LONG:
    case LK_TYPE_TIMESTAMP:
    case LK_TYPE_TIMESTAMP_NTZ: return PQ_INT64;
    case LK_TYPE_FLOAT: return PQ_FLOAT;
    case LK_TYPE_DOUBLE: return PQ_DOUBLE;
    case LK_TYPE_STRING:
    case LK_TYPE_BINARY: return PQ_BYTE_ARRAY;
    case LK_TYPE_DECIMAL:
        if (f->precision <= 18)
            return PQ_INT64;
        *type_length = 16;
        return PQ_FLBA;
    default: return -1;
    }
}

typedef struct walk {
    lk_pq_leaf *v;
    int n, cap;
    lk_pq_leaf cur;
    int err;
} walk;

static void walk_node(walk *w, const lk_field *f, int depth, int rep, int dslot, int owner,
                      int in_list)
{
    if (depth >= LK_PQ_MAX_DEPTH || w->cur.n_path + 3 > LK_PQ_MAX_DEPTH * 2) {
        w->err = 1;
        return;
    }
    lk_pq_node *nd = &w->cur.nodes[depth];
    nd->f = f;
    nd->rep = rep;
    nd->dslot = dslot;
    nd->dval = dslot + (f->nullable ? 1 : 0);
    nd->owner = owner;
    nd->child = -1;
    int np = w->cur.n_path;
    w->cur.path[w->cur.n_path++] = f->name;
    size_t dl = strlen(w->cur.dotted);
    if (f->type == LK_TYPE_STRUCT) {
        for (int i = 0; i < f->n_children; i++) {
            nd->child = i;
            snprintf(w->cur.dotted + dl, sizeof w->cur.dotted - dl, ".%s", f->children[i].name);
            walk_node(w, &f->children[i], depth + 1, rep, nd->dval, owner && i == 0, in_list);
            w->cur.dotted[dl] = 0;
        }
    } else if (f->type == LK_TYPE_ARRAY || f->type == LK_TYPE_MAP) {
        w->cur.path[w->cur.n_path++] = f->type == LK_TYPE_ARRAY ? "list" : "key_value";
        for (int i = 0; i < f->n_children; i++) {
            nd->child = i;
            size_t l2 = strlen(w->cur.dotted);
            snprintf(w->cur.dotted + l2, sizeof w->cur.dotted - l2, ".%s", f->children[i].name);
            int np2 = w->cur.n_path;
            walk_node(w, &f->children[i], depth + 1, rep + 1, nd->dval + 1, owner && i == 0, 1);
            w->cur.n_path = np2;
            w->cur.dotted[l2] = 0;
        }
    } else {
        lk_pq_leaf *l = &w->cur;
        l->depth = depth + 1;
        l->max_def = nd->dval;
        l->max_rep = rep;
        l->field = f;
        l->in_list = in_list;
        l->phys = lk_pq_phys_type(f, &l->type_length);
        /* owner of node k: the first leaf under it (child 0 all the way down) */
        l->nodes[depth].owner = 1;
        for (int k = depth - 1; k >= 0; k--)
            l->nodes[k].owner = l->nodes[k + 1].owner && l->nodes[k].child == 0;
        if (w->n == w->cap) {
            w->cap = w->cap ? w->cap * 2 : 16;
            w->v = realloc(w->v, sizeof *w->v * (size_t)w->cap);
            if (!w->v)
                abort();
        }
        w->v[w->n++] = *l;
    }
    w->cur.n_path = np;
}

int lk_pq_leaves_build(const lk_schema *s, lk_pq_leaf **out, int *n)
{
    walk w;
    memset(&w, 0, sizeof w);
    for (int i = 0; i < lk_schema_nfields(s); i++) {
        const lk_field *f = lk_schema_field(s, i);
        w.cur.top = i;
        w.cur.n_path = 0;
        snprintf(w.cur.dotted, sizeof w.cur.dotted, "%s", f->name);
        int before = w.n;
        walk_node(&w, f, 0, 0, 0, 1, 0);
        for (int j = before; j < w.n; j++)
            w.v[j].top = i;
    }
    if (w.err) {
        free(w.v);
        return LK_EUNSUPPORTED;
    }
    *out = w.v;
    *n = w.n;
    return 0;
}

/* ---- SchemaElement writing ---- */

enum { CT_UTF8 = 0, CT_MAP = 1, CT_MAP_KEY_VALUE = 2, CT_LIST = 3, CT_DECIMAL = 5, CT_DATE = 6,
       CT_TIMESTAMP_MICROS = 10, CT_INT_8 = 15, CT_INT_16 = 16 };

static int count_elements(const lk_field *f)
{
    int n = 1;
    if (f->type == LK_TYPE_ARRAY || f->type == LK_TYPE_MAP)
        n++;
    for (int i = 0; i < f->n_children; i++)
        n += count_elements(&f->children[i]);
    return n;
}

static void elem_begin(lk_tc_w *w, const char *name, int repetition)
{
    lk_tc_elem_struct_begin(w);
    if (repetition >= 0)
        lk_tc_i32(w, 3, repetition);
    lk_tc_binary(w, 4, name, strlen(name));
}

static void write_field(lk_tc_w *w, const lk_field *f, int required_override)
{
    int rep = required_override ? 0 : (f->nullable ? 1 : 0);
    switch (f->type) {
    case LK_TYPE_STRUCT:
        elem_begin(w, f->name, rep);
        lk_tc_i32(w, 5, f->n_children);
        lk_tc_struct_end(w);
        for (int i = 0; i < f->n_children; i++)
            write_field(w, &f->children[i], 0);
        return;
    case LK_TYPE_ARRAY:
    case LK_TYPE_MAP: {
        int is_map = f->type == LK_TYPE_MAP;
        elem_begin(w, f->name, rep);
        lk_tc_i32(w, 5, 1);
        lk_tc_i32(w, 6, is_map ? CT_MAP : CT_LIST);
        lk_tc_struct_begin(w, 10);
        lk_tc_struct_begin(w, is_map ? 2 : 3);
        lk_tc_struct_end(w);
        lk_tc_struct_end(w);
        lk_tc_struct_end(w);
        elem_begin(w, is_map ? "key_value" : "list", 2);
        lk_tc_i32(w, 5, f->n_children);
        lk_tc_struct_end(w);
        for (int i = 0; i < f->n_children; i++)
            write_field(w, &f->children[i], is_map && i == 0);
        return;
    }
    default: break;
    }
    int tl;
    int phys = lk_pq_phys_type(f, &tl);
    lk_tc_elem_struct_begin(w);
    lk_tc_i32(w, 1, phys);
    if (tl)
        lk_tc_i32(w, 2, tl);
    lk_tc_i32(w, 3, rep);
    lk_tc_binary(w, 4, f->name, strlen(f->name));
    int ct = -1;
    switch (f->type) {
    case LK_TYPE_STRING: ct = CT_UTF8; break;
    case LK_TYPE_BYTE: ct = CT_INT_8; break;
    case LK_TYPE_SHORT: ct = CT_INT_16; break;
    case LK_TYPE_DATE: ct = CT_DATE; break;
    case LK_TYPE_TIMESTAMP: ct = CT_TIMESTAMP_MICROS; break;
    case LK_TYPE_DECIMAL: ct = CT_DECIMAL; break;
    default: break;
    }
    if (ct >= 0)
        lk_tc_i32(w, 6, ct);
    if (f->type == LK_TYPE_DECIMAL) {
        lk_tc_i32(w, 7, f->scale);
        lk_tc_i32(w, 8, f->precision);
    }
    /* LogicalType union (field 10) */
    switch (f->type) {
    case LK_TYPE_STRING:
        lk_tc_struct_begin(w, 10);
        lk_tc_struct_begin(w, 1);
        lk_tc_struct_end(w);
        lk_tc_struct_end(w);
        break;
    case LK_TYPE_DATE:
        lk_tc_struct_begin(w, 10);
        lk_tc_struct_begin(w, 6);
        lk_tc_struct_end(w);
        lk_tc_struct_end(w);
        break;
    case LK_TYPE_DECIMAL:
        lk_tc_struct_begin(w, 10);
        lk_tc_struct_begin(w, 5);
        lk_tc_i32(w, 1, f->scale);
        lk_tc_i32(w, 2, f->precision);
        lk_tc_struct_end(w);
        lk_tc_struct_end(w);
        break;
    case LK_TYPE_TIMESTAMP:
    case LK_TYPE_TIMESTAMP_NTZ:
        lk_tc_struct_begin(w, 10);
        lk_tc_struct_begin(w, 8);
        lk_tc_bool(w, 1, f->type == LK_TYPE_TIMESTAMP);
        lk_tc_struct_begin(w, 2);
        lk_tc_struct_begin(w, 2); /* MICROS */
        lk_tc_struct_end(w);
        lk_tc_struct_end(w);
        lk_tc_struct_end(w);
        lk_tc_struct_end(w);
        break;
    case LK_TYPE_BYTE:
    case LK_TYPE_SHORT: {
        lk_tc_struct_begin(w, 10);
        lk_tc_struct_begin(w, 10);
        lk_tc_field(w, 1, LK_TC_BYTE);
        uint8_t bw = f->type == LK_TYPE_BYTE ? 8 : 16;
        lk_buf_append_fast(w->b, &bw, 1);
        lk_tc_bool(w, 2, 1);
        lk_tc_struct_end(w);
        lk_tc_struct_end(w);
        break;
    }
    default: break;
    }
    lk_tc_struct_end(w);
}

void lk_pq_schema_write(lk_tc_w *w, const lk_schema *s)
{
    int n = 1;
    for (int i = 0; i < lk_schema_nfields(s); i++)
        n += count_elements(lk_schema_field(s, i));
    lk_tc_list_begin(w, 2, LK_TC_STRUCT, (uint32_t)n);
    elem_begin(w, "spark_schema", -1);
    lk_tc_i32(w, 5, lk_schema_nfields(s));
    lk_tc_struct_end(w);
    for (int i = 0; i < lk_schema_nfields(s); i++)
        write_field(w, lk_schema_field(s, i), 0);
}
