/*
 * lk_delta_scan — snapshot rows; see the header.
 *
 * A row is decoded by lk_rowjson from the file's (physical) columns and
 * re-emitted under the logical names, so nested structs under column
 * mapping are renamed at every level by the same walk (emit). Partition
 * values are typed once per file by building a one-row batch of the
 * partition columns and rendering it with lk_rowjson too: a partition date
 * or timestamp prints exactly as the same value read from Parquet would.
 */
#include "lk_delta_scan.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "lk_batch.h"
#include "lk_bytes.h"
#include "lk_decimal.h"
#include "lk_delta_dv.h"
#include "lk_json.h"
#include "lk_parquet_reader.h"
#include "lk_rowjson.h"
#include "lk_time.h"

/* A logical field with its physical name, children alike. */
typedef struct node {
    const lk_field *f;
    char *phys;
    int n;
    struct node *kids;
} node;

struct lk_delta_scan {
    const lk_delta_table *t;
    int mapping; /* column mapping mode name or id */
    node *cols;
    int ncols;
    int *is_part;
    int file_i;
    lk_pq_reader *r;
    int rg, nproj;
    int *proj;
    lk_batch *b;
    uint32_t row;
    uint64_t file_row;
    lk_delta_dv *dv;
    yajl_val pv;  /* typed partition values of the current file, by logical name */
    yajl_val cur; /* the current decoded row */
    lk_buf text, path;
    char **pcols; /* partitionColumns (logical names) */
    int npcols;
};

static void node_build(node *nd, const lk_field *f, int mapping)
{
    nd->f = f;
    nd->phys = NULL;
    if (mapping && f->metadata_json) {
        yajl_val m = yajl_tree_parse(f->metadata_json, NULL, 0);
        yajl_val pn = lk_json_get(m, "delta.columnMapping.physicalName");
        if (pn && YAJL_IS_STRING(pn)) nd->phys = lk_strdup(YAJL_GET_STRING(pn));
        yajl_tree_free(m);
    }
    if (!nd->phys) nd->phys = lk_strdup(f->name);
    nd->n = f->n_children;
    nd->kids = nd->n ? calloc((size_t)nd->n, sizeof *nd->kids) : NULL;
    for (int i = 0; i < nd->n; i++)
        node_build(&nd->kids[i], &f->children[i], mapping);
}

static void node_free(node *nd)
{
    for (int i = 0; i < nd->n; i++)
        node_free(&nd->kids[i]);
    free(nd->kids);
    free(nd->phys);
}

/* Writes v (decoded with physical names) as the logical value of nd. */
static void emit(const node *nd, yajl_val v, lk_buf *out)
{
    if (!v || YAJL_IS_NULL(v)) {
        lk_buf_puts(out, "null");
        return;
    }
    switch (nd->f->type) {
    case LK_TYPE_STRUCT:
        if (!YAJL_IS_OBJECT(v)) break;
        lk_buf_putc(out, '{');
        for (int i = 0; i < nd->n; i++) {
            if (i) lk_buf_putc(out, ',');
            lk_buf_json_string(out, nd->kids[i].f->name, strlen(nd->kids[i].f->name));
            lk_buf_putc(out, ':');
            emit(&nd->kids[i], lk_json_get(v, nd->kids[i].phys), out);
        }
        lk_buf_putc(out, '}');
        return;
    case LK_TYPE_ARRAY:
        if (!YAJL_IS_ARRAY(v) || nd->n < 1) break;
        lk_buf_putc(out, '[');
        for (size_t i = 0; i < v->u.array.len; i++) {
            if (i) lk_buf_putc(out, ',');
            emit(&nd->kids[0], v->u.array.values[i], out);
        }
        lk_buf_putc(out, ']');
        return;
    case LK_TYPE_MAP:
        if (nd->n < 2) break;
        if (YAJL_IS_OBJECT(v)) {
            lk_buf_putc(out, '{');
            for (size_t i = 0; i < v->u.object.len; i++) {
                if (i) lk_buf_putc(out, ',');
                lk_buf_json_string(out, v->u.object.keys[i], strlen(v->u.object.keys[i]));
                lk_buf_putc(out, ':');
                emit(&nd->kids[1], v->u.object.values[i], out);
            }
            lk_buf_putc(out, '}');
            return;
        }
        if (YAJL_IS_ARRAY(v)) { /* [{key, value}] for non-string keys */
            lk_buf_putc(out, '[');
            for (size_t i = 0; i < v->u.array.len; i++) {
                yajl_val e = v->u.array.values[i];
                if (i) lk_buf_putc(out, ',');
                lk_buf_puts(out, "{\"key\":");
                emit(&nd->kids[0], lk_json_get(e, "key"), out);
                lk_buf_puts(out, ",\"value\":");
                emit(&nd->kids[1], lk_json_get(e, "value"), out);
                lk_buf_putc(out, '}');
            }
            lk_buf_putc(out, ']');
            return;
        }
        break;
    default:
        break;
    }
    lk_json_text(v, out);
}

/* Decimal text -> unscaled int64 at scale; 0 or -1. */
static int parse_decimal(const char *s, int scale, int64_t *out)
{
    int neg = *s == '-';
    if (*s == '-' || *s == '+') s++;
    __int128 v = 0;
    int frac = -1, digits = 0;
    for (; *s; s++) {
        if (*s == '.' && frac < 0) {
            frac = 0;
            continue;
        }
        if (*s < '0' || *s > '9') return -1;
        if (frac >= 0) {
            if (frac == scale) continue; /* more digits than the scale: cut (Spark rounds) */
            frac++;
        }
        v = v * 10 + (*s - '0');
        if (++digits > 36) return -1;
    }
    for (int k = frac < 0 ? 0 : frac; k < scale; k++)
        v *= 10;
    if (v > INT64_MAX) return -1;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

/* Appends partition value text s (NULL: null) to c as the field's type. */
static int put_partition_value(lk_col *c, const char *s)
{
    const lk_field *f = c->field;
    if (!s || (*s == 0 && f->type != LK_TYPE_STRING)) {
        lk_col_append_null(c);
        return 0;
    }
    if (*s == 0) { /* Spark writes an empty string partition as null */
        lk_col_append_null(c);
        return 0;
    }
    char *end = NULL;
    int64_t us;
    switch (f->type) {
    case LK_TYPE_BOOLEAN:
        if (strcasecmp(s, "true") && strcasecmp(s, "false")) return -1;
        lk_col_append_bool(c, strcasecmp(s, "true") == 0);
        return 0;
    case LK_TYPE_BYTE: {
        long v = strtol(s, &end, 10);
        int8_t x = (int8_t)v;
        if (*end) return -1;
        lk_col_append_fixed(c, &x);
        return 0;
    }
    case LK_TYPE_SHORT: {
        long v = strtol(s, &end, 10);
        int16_t x = (int16_t)v;
        if (*end) return -1;
        lk_col_append_fixed(c, &x);
        return 0;
    }
    case LK_TYPE_INTEGER: {
        long v = strtol(s, &end, 10);
        if (*end) return -1;
        lk_col_append_i32(c, (int32_t)v);
        return 0;
    }
    case LK_TYPE_LONG: {
        long long v = strtoll(s, &end, 10);
        if (*end) return -1;
        lk_col_append_i64(c, v);
        return 0;
    }
    case LK_TYPE_FLOAT:
    case LK_TYPE_DOUBLE: {
        double v = strtod(s, &end);
        if (*end) return -1;
        if (f->type == LK_TYPE_FLOAT)
            lk_col_append_f32(c, (float)v);
        else
            lk_col_append_f64(c, v);
        return 0;
    }
    case LK_TYPE_STRING:
    case LK_TYPE_BINARY:
        lk_col_append_bytes(c, s, strlen(s));
        return 0;
    case LK_TYPE_DATE: {
        int y;
        unsigned m, d;
        if (sscanf(s, "%d-%u-%u", &y, &m, &d) != 3) return -1;
        lk_col_append_i32(c, (int32_t)lk_time_days_from_civil(y, m, d));
        return 0;
    }
    case LK_TYPE_TIMESTAMP:
    case LK_TYPE_TIMESTAMP_NTZ:
        if (lk_time_parse_iso(s, strlen(s), &us)) return -1;
        lk_col_append_i64(c, us);
        return 0;
    case LK_TYPE_DECIMAL: {
        int64_t v;
        if (f->precision > 18) { /* 16 big-endian bytes */
            unsigned char be[16];
            if (lk_decimal_parse(s, strlen(s), f->precision, f->scale, NULL, be)) return -1;
            lk_col_append_fixed(c, be);
            return 0;
        }
        if (parse_decimal(s, f->scale, &v)) return -1;
        lk_col_append_i64(c, v);
        return 0;
    }
    default:
        return -1;
    }
}

/* Types the partition values of file f into s->pv ({logical name: value}). */
static int load_partition_values(lk_delta_scan *s, const lk_delta_file *f, lk_error *err)
{
    yajl_tree_free(s->pv);
    s->pv = NULL;
    if (s->npcols == 0) return 0;
    const lk_schema *ts = lk_delta_schema(s->t);
    yajl_val raw = yajl_tree_parse(f->partition_values_json, NULL, 0);
    lk_schema *ps = lk_schema_new();
    node *nodes = calloc((size_t)s->npcols, sizeof *nodes);
    int rc = 0;
    for (int i = 0; i < s->npcols && rc == 0; i++) {
        int k = lk_schema_find(ts, s->pcols[i]);
        if (k < 0) {
            rc = lk_error_set(err, LK_EFORMAT, "%s: partition column '%s' is not in the schema",
                              lk_delta_path(s->t), s->pcols[i]);
            break;
        }
        lk_schema_add_copy(ps, lk_schema_field(ts, k));
    }
    lk_batch *b = rc ? NULL : lk_batch_new(ps);
    for (int i = 0; i < s->npcols && rc == 0; i++) {
        const lk_field *fld = lk_schema_field(lk_batch_schema(b), i);
        node_build(&nodes[i], fld, s->mapping);
        yajl_val v = lk_json_get(raw, nodes[i].phys);
        if (!v) v = lk_json_get(raw, fld->name);
        const char *text = v && YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
        if (put_partition_value(lk_batch_col(b, i), text))
            rc = lk_error_set(err, LK_EFORMAT, "%s: partition value '%s' of '%s' is not a %s",
                              f->path, text, fld->name, lk_type_name(fld->type));
    }
    if (rc == 0) {
        lk_batch_end_row(b);
        lk_buf_reset(&s->text);
        lk_rowjson_append(b, 0, &s->text);
        s->pv = yajl_tree_parse(s->text.data, NULL, 0);
    }
    for (int i = 0; i < s->npcols; i++)
        if (nodes[i].phys) node_free(&nodes[i]);
    free(nodes);
    lk_batch_destroy(&b);
    lk_schema_destroy(&ps);
    yajl_tree_free(raw);
    return rc;
}

int lk_delta_scan_new(const lk_delta_table *t, const char *columns, lk_delta_scan **out,
                      lk_error *err)
{
    *out = NULL;
    const lk_schema *ts = lk_delta_schema(t);
    if (!ts) return lk_error_set(err, LK_ENOTFOUND, "%s: no Delta table", lk_delta_path(t));
    lk_delta_scan *s = calloc(1, sizeof *s);
    if (!s) abort();
    s->t = t;
    const char *cm = lk_delta_property(t, "delta.columnMapping.mode");
    s->mapping = cm && strcmp(cm, "none") != 0;
    yajl_val md = yajl_tree_parse(lk_delta_metadata_json(t), NULL, 0);
    yajl_val pc = lk_json_get(md, "partitionColumns");
    if (pc && YAJL_IS_ARRAY(pc) && pc->u.array.len) {
        s->pcols = calloc(pc->u.array.len, sizeof *s->pcols);
        for (size_t i = 0; i < pc->u.array.len; i++)
            if (YAJL_IS_STRING(pc->u.array.values[i]))
                s->pcols[s->npcols++] = lk_strdup(YAJL_GET_STRING(pc->u.array.values[i]));
    }
    yajl_tree_free(md);
    int n = lk_schema_nfields(ts), rc = 0;
    s->cols = calloc((size_t)n + 1, sizeof *s->cols);
    s->is_part = calloc((size_t)n + 1, sizeof *s->is_part);
    s->proj = calloc((size_t)n + 1, sizeof *s->proj);
    if (columns) {
        char *want = lk_strdup(columns), *save = NULL;
        for (char *tok = strtok_r(want, ",", &save); tok && rc == 0;
             tok = strtok_r(NULL, ",", &save)) {
            int k = lk_schema_find(ts, tok);
            if (k < 0) {
                rc = lk_error_set(err, LK_ENOTFOUND, "no column '%s' in %s", tok, lk_delta_path(t));
            } else if (s->ncols < n) {
                node_build(&s->cols[s->ncols++], lk_schema_field(ts, k), s->mapping);
            }
        }
        free(want);
    } else {
        for (int k = 0; k < n; k++)
            node_build(&s->cols[s->ncols++], lk_schema_field(ts, k), s->mapping);
    }
    for (int i = 0; i < s->ncols; i++)
        for (int k = 0; k < s->npcols; k++)
            if (strcmp(s->pcols[k], s->cols[i].f->name) == 0) s->is_part[i] = 1;
    if (rc) {
        lk_delta_scan_destroy(&s);
        return rc;
    }
    *out = s;
    return 0;
}

static void close_file(lk_delta_scan *s)
{
    lk_pq_reader_destroy(&s->r);
    lk_batch_destroy(&s->b);
    lk_delta_dv_destroy(&s->dv);
}

void lk_delta_scan_destroy(lk_delta_scan **sp)
{
    lk_delta_scan *s = sp ? *sp : NULL;
    if (!s) return;
    close_file(s);
    for (int i = 0; i < s->ncols; i++)
        node_free(&s->cols[i]);
    for (int i = 0; i < s->npcols; i++)
        free(s->pcols[i]);
    free(s->pcols);
    free(s->cols);
    free(s->is_part);
    free(s->proj);
    yajl_tree_free(s->pv);
    yajl_tree_free(s->cur);
    lk_buf_free(&s->text);
    lk_buf_free(&s->path);
    free(s);
    *sp = NULL;
}

int lk_delta_scan_ncols(const lk_delta_scan *s)
{
    return s->ncols;
}

const lk_field *lk_delta_scan_col(const lk_delta_scan *s, int i)
{
    return i >= 0 && i < s->ncols ? s->cols[i].f : NULL;
}

/* Opens live file i: reader, projection by physical name, DV, partitions. */
static int open_file(lk_delta_scan *s, int i, lk_error *err)
{
    const lk_delta_file *f = lk_delta_file_at(s->t, i);
    lk_buf rel = LK_BUF_INIT;
    lk_delta_url_decode(f->path, &rel);
    lk_buf_append(&rel, "", 0);
    const char *p = rel.data;
    if (strncmp(p, "file:", 5) == 0) {
        p += 5;
        while (p[0] == '/' && p[1] == '/')
            p++;
    }
    lk_buf_reset(&s->path);
    if (p[0] == '/')
        lk_buf_puts(&s->path, p);
    else
        lk_buf_printf(&s->path, "%s/%s", lk_delta_path(s->t), p);
    lk_buf_free(&rel);
    int rc = lk_pq_reader_open(s->path.data, &s->r, err);
    if (rc) return rc;
    const lk_schema *fs = lk_pq_reader_schema(s->r);
    s->nproj = 0;
    for (int c = 0; c < s->ncols; c++) {
        if (s->is_part[c]) continue;
        int k = lk_schema_find(fs, s->cols[c].phys);
        if (k >= 0) s->proj[s->nproj++] = k;
    }
    if (s->nproj == 0 && lk_schema_nfields(fs) > 0) s->proj[s->nproj++] = 0; /* row count only */
    if (f->deletion_vector_json) {
        yajl_val dv = yajl_tree_parse(f->deletion_vector_json, NULL, 0);
        rc = lk_delta_dv_load(lk_delta_path(s->t), dv, (uint64_t)lk_pq_reader_num_rows(s->r),
                              &s->dv, err);
        yajl_tree_free(dv);
        if (rc) {
            lk_error_prefix(err, "%s", f->path);
            return rc;
        }
    }
    if ((rc = load_partition_values(s, f, err))) return rc;
    s->rg = -1;
    s->row = 0;
    s->file_row = 0;
    return 0;
}

/* Moves to the next row not deleted; 1, 0 at the end, or an error. */
static int advance(lk_delta_scan *s, lk_error *err)
{
    for (;;) {
        if (!s->r) {
            if (s->file_i >= lk_delta_nfiles(s->t)) return 0;
            int rc = open_file(s, s->file_i++, err);
            if (rc) {
                close_file(s);
                return rc;
            }
        }
        if (!s->b || s->row >= lk_batch_nrows(s->b)) {
            if (s->rg + 1 >= lk_pq_reader_num_row_groups(s->r)) {
                close_file(s);
                continue;
            }
            s->rg++;
            int rc = lk_pq_reader_read_row_group(s->r, s->rg, s->proj, s->nproj, &s->b, err);
            if (rc) return rc;
            s->row = 0;
            continue;
        }
        uint32_t row = s->row++;
        uint64_t fr = s->file_row++;
        if (s->dv && lk_delta_dv_contains(s->dv, fr)) continue;
        lk_buf_reset(&s->text);
        lk_rowjson_append(s->b, row, &s->text);
        yajl_tree_free(s->cur);
        char ebuf[128] = "";
        s->cur = yajl_tree_parse(s->text.data, ebuf, sizeof ebuf);
        if (!s->cur)
            return lk_error_set(err, LK_EFORMAT, "%s row %" PRIu64 ": cannot decode: %s",
                                s->path.data, fr, ebuf);
        return 1;
    }
}

static void value_of(lk_delta_scan *s, int c, lk_buf *out)
{
    if (s->is_part[c])
        lk_json_text(lk_json_get(s->pv, s->cols[c].f->name), out);
    else
        emit(&s->cols[c], lk_json_get(s->cur, s->cols[c].phys), out);
}

int lk_delta_scan_next(lk_delta_scan *s, lk_buf *out, lk_error *err)
{
    int rc = advance(s, err);
    if (rc <= 0) return rc;
    lk_buf_putc(out, '{');
    for (int c = 0; c < s->ncols; c++) {
        if (c) lk_buf_putc(out, ',');
        lk_buf_json_string(out, s->cols[c].f->name, strlen(s->cols[c].f->name));
        lk_buf_putc(out, ':');
        value_of(s, c, out);
    }
    lk_buf_putc(out, '}');
    return 1;
}

int lk_delta_scan_next_values(lk_delta_scan *s, lk_buf *vals, lk_error *err)
{
    int rc = advance(s, err);
    if (rc <= 0) return rc;
    for (int c = 0; c < s->ncols; c++) {
        lk_buf_reset(&vals[c]);
        value_of(s, c, &vals[c]);
    }
    return 1;
}
