/*
 * lk_parquet_writer — lk_batch → Parquet; see lk_parquet_writer.h.
 *
 * write() shreds each top-level column into its leaves (Dremel: one
 * definition and repetition level per leaf value slot, the values PLAIN
 * encoded) into per-leaf buffers that are reused for every row group and
 * file. A row group is flushed when its buffered bytes pass
 * row_group_bytes, and at close: each leaf becomes one column chunk of data
 * pages (V1), cut at row boundaries every page_bytes, compressed, with
 * statistics; the footer (Thrift compact FileMetaData) goes last.
 * Dictionary encoding is not written yet (PLAIN only).
 */
#include "lk_parquet_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_fault.h"
#include "lk_fs.h"
#include "lk_parquet_internal.h"
#include "lk_thrift.h"

#define MAX_PATH_DEPTH 32

typedef struct stats {
    int has;
    int64_t null_count;
    lk_buf min, max; /* PLAIN bytes (BYTE_ARRAY without length) */
} stats;

typedef struct chunk_meta {
    int64_t offset, uncompressed, compressed, num_values;
    stats st;
} chunk_meta;

typedef struct leaf {
    const lk_field *field;
    int top;
    int depth;                        /* steps below the top-level column */
    int idx[MAX_PATH_DEPTH];          /* child index at each nested step */
    int rep_at[MAX_PATH_DEPTH];       /* repetition level of the list at step d */
    const char *names[MAX_PATH_DEPTH * 2 + 2];
    int nnames;
    char *dotted;
    int max_def, max_rep, in_list;
    int ptype;
    /* row-group buffers */
    lk_buf def, rep, values;
    int64_t nlevels, nnull;
    stats rg, file;
    chunk_meta *chunks; /* one per row group */
    int nchunks, cap_chunks;
} leaf;

struct lk_pq_writer {
    lk_schema *schema;
    lk_pq_options opt;
    leaf *leaves;
    int nleaves;
    lk_pq_leaf_stats *pub; /* file_info view */
    lk_value *pubv;
    int fd;
    char path[4096];
    int64_t offset, rows_file, rows_rg;
    size_t rg_bytes;
    int64_t *rg_rows;
    int nrg, cap_rg;
    lk_buf page, comp, hdr, foot;
};

/* ---- schema walk ---- */

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        abort();
    return p;
}

typedef struct walkctx {
    lk_pq_writer *w;
    int top;
    int depth;
    int idx[MAX_PATH_DEPTH];
    int rep_at[MAX_PATH_DEPTH];
    const char *names[MAX_PATH_DEPTH * 2 + 2];
    int nnames;
    int def, rep, in_list;
    char dotted[2048];
} walkctx;

static void add_leaf(walkctx *c, const lk_field *f)
{
    lk_pq_writer *w = c->w;
    w->leaves = realloc(w->leaves, sizeof(leaf) * (size_t)(w->nleaves + 1));
    if (!w->leaves)
        abort();
    leaf *l = &w->leaves[w->nleaves++];
    memset(l, 0, sizeof *l);
    l->field = f;
    l->top = c->top;
    l->depth = c->depth;
    memcpy(l->idx, c->idx, sizeof l->idx);
    memcpy(l->rep_at, c->rep_at, sizeof l->rep_at);
    memcpy(l->names, c->names, sizeof l->names);
    l->nnames = c->nnames;
    l->dotted = xstrdup(c->dotted);
    l->max_def = c->def;
    l->max_rep = c->rep;
    l->in_list = c->in_list;
    l->ptype = lk_pq_physical(f);
}

static void walk_field(walkctx *c, const lk_field *f)
{
    size_t dl = strlen(c->dotted);
    int nn = c->nnames, def = c->def, rep = c->rep, inl = c->in_list, depth = c->depth;
    if (!c->in_list)
        snprintf(c->dotted + dl, sizeof c->dotted - dl, "%s%s", dl ? "." : "", f->name);
    c->names[c->nnames++] = f->name;
    if (f->nullable)
        c->def++;
    switch (f->type) {
    case LK_TYPE_STRUCT:
        for (int i = 0; i < f->n_children; i++) {
            c->idx[c->depth] = i;
            c->depth++;
            walk_field(c, &f->children[i]);
            c->depth--;
        }
        break;
    case LK_TYPE_ARRAY:
    case LK_TYPE_MAP:
        c->names[c->nnames++] = f->type == LK_TYPE_ARRAY ? "list" : "key_value";
        c->def++;
        c->rep++;
        c->in_list = 1;
        c->rep_at[c->depth] = c->rep;
        for (int i = 0; i < f->n_children; i++) {
            c->idx[c->depth] = i;
            c->depth++;
            walk_field(c, &f->children[i]);
            c->depth--;
        }
        break;
    default: add_leaf(c, f);
    }
    c->dotted[dl] = '\0';
    c->nnames = nn;
    c->def = def;
    c->rep = rep;
    c->in_list = inl;
    c->depth = depth;
}

void lk_pq_options_default(lk_pq_options *o)
{
    memset(o, 0, sizeof *o);
    o->codec = LK_PQ_ZSTD;
    o->zstd_level = 3;
    o->row_group_bytes = 128u << 20;
    o->page_bytes = 1u << 20;
    o->dictionary = 1;
    o->dictionary_bytes = 1u << 20;
    o->fsync = 1;
    o->created_by = "lakesupd version " LK_VERSION;
}

int lk_pq_codec_parse(const char *s, lk_pq_codec *out)
{
    if (!strcmp(s, "zstd"))
        *out = LK_PQ_ZSTD;
    else if (!strcmp(s, "snappy"))
        *out = LK_PQ_SNAPPY;
    else if (!strcmp(s, "gzip"))
        *out = LK_PQ_GZIP;
    else if (!strcmp(s, "uncompressed") || !strcmp(s, "none"))
        *out = LK_PQ_UNCOMPRESSED;
    else
        return LK_ECONFIG;
    return 0;
}

const char *lk_pq_codec_name(lk_pq_codec c)
{
    switch (c) {
    case LK_PQ_ZSTD: return "zstd";
    case LK_PQ_SNAPPY: return "snappy";
    case LK_PQ_GZIP: return "gzip";
    default: return "uncompressed";
    }
}

lk_pq_writer *lk_pq_writer_new(const lk_schema *schema, const lk_pq_options *opt)
{
    lk_pq_writer *w = calloc(1, sizeof *w);
    if (!w)
        abort();
    w->schema = lk_schema_clone(schema);
    if (opt)
        w->opt = *opt;
    else
        lk_pq_options_default(&w->opt);
    if (!w->opt.created_by)
        w->opt.created_by = "lakesupd version " LK_VERSION;
    w->fd = -1;
    walkctx c;
    memset(&c, 0, sizeof c);
    c.w = w;
    for (int i = 0; i < lk_schema_nfields(w->schema); i++) {
        c.top = i;
        walk_field(&c, lk_schema_field(w->schema, i));
    }
    w->pub = calloc((size_t)(w->nleaves ? w->nleaves : 1), sizeof *w->pub);
    if (!w->pub)
        abort();
    return w;
}

static void stats_free(stats *s)
{
    lk_buf_free(&s->min);
    lk_buf_free(&s->max);
}

void lk_pq_writer_destroy(lk_pq_writer **wp)
{
    if (!wp || !*wp)
        return;
    lk_pq_writer *w = *wp;
    if (w->fd >= 0)
        lk_pq_writer_abort(w);
    for (int i = 0; i < w->nleaves; i++) {
        leaf *l = &w->leaves[i];
        free(l->dotted);
        lk_buf_free(&l->def);
        lk_buf_free(&l->rep);
        lk_buf_free(&l->values);
        stats_free(&l->rg);
        stats_free(&l->file);
        for (int k = 0; k < l->cap_chunks; k++)
            stats_free(&l->chunks[k].st);
        free(l->chunks);
    }
    free(w->leaves);
    free(w->pub);
    free(w->rg_rows);
    lk_buf_free(&w->page);
    lk_buf_free(&w->comp);
    lk_buf_free(&w->hdr);
    lk_buf_free(&w->foot);
    lk_schema_destroy(&w->schema);
    free(w);
    *wp = NULL;
}

/* ---- statistics ---- */

/* Compares PLAIN-encoded values of physical type pt (and lk_type t). */
static int cmp_plain(const leaf *l, const void *a, size_t an, const void *b, size_t bn)
{
    switch (l->ptype) {
    case PQ_BOOLEAN: return (int)*(const uint8_t *)a - (int)*(const uint8_t *)b;
    case PQ_INT32: {
        int32_t x, y;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        return (x > y) - (x < y);
    }
    case PQ_INT64: {
        int64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        return (x > y) - (x < y);
    }
    case PQ_FLOAT: {
        float x, y;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        return (x > y) - (x < y);
    }
    case PQ_DOUBLE: {
        double x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        return (x > y) - (x < y);
    }
    case PQ_FLBA: { /* decimal: signed big-endian two's complement */
        const uint8_t *x = a, *y = b;
        if ((x[0] ^ y[0]) & 0x80)
            return (x[0] & 0x80) ? -1 : 1;
        return memcmp(a, b, an);
    }
    default: {
        size_t n = an < bn ? an : bn;
        int c = memcmp(a, b, n);
        return c ? c : (an > bn) - (an < bn);
    }
    }
}

static void stats_update(const leaf *l, stats *s, const void *v, size_t n)
{
    if (l->ptype == PQ_FLOAT || l->ptype == PQ_DOUBLE) {
        double d;
        if (l->ptype == PQ_FLOAT) {
            float f;
            memcpy(&f, v, 4);
            d = f;
        } else {
            memcpy(&d, v, 8);
        }
        if (isnan(d))
            return; /* NaN never bounds statistics */
    }
    if (!s->has) {
        lk_buf_reset(&s->min);
        lk_buf_reset(&s->max);
        lk_buf_append(&s->min, v, n);
        lk_buf_append(&s->max, v, n);
        s->has = 1;
        return;
    }
    if (cmp_plain(l, v, n, s->min.data, s->min.len) < 0) {
        lk_buf_reset(&s->min);
        lk_buf_append(&s->min, v, n);
    }
    if (cmp_plain(l, v, n, s->max.data, s->max.len) > 0) {
        lk_buf_reset(&s->max);
        lk_buf_append(&s->max, v, n);
    }
}

static void stats_merge(const leaf *l, stats *into, const stats *s)
{
    into->null_count += s->null_count;
    if (!s->has)
        return;
    stats_update(l, into, s->min.data, s->min.len);
    stats_update(l, into, s->max.data, s->max.len);
}

/* ---- shredding ---- */

static void put_level(lk_buf *b, int v)
{
    lk_buf_putc(b, (char)v);
}

static void emit_null(leaf *l, int rep, int def)
{
    if (l->max_def)
        put_level(&l->def, def);
    if (l->max_rep)
        put_level(&l->rep, rep);
    l->nlevels++;
    l->nnull++;
}

static void emit_value(leaf *l, int rep, const lk_col *c, uint32_t slot)
{
    if (l->max_def)
        put_level(&l->def, l->max_def);
    if (l->max_rep)
        put_level(&l->rep, rep);
    l->nlevels++;
    lk_buf *v = &l->values;
    size_t at = v->len;
    switch (c->field->type) {
    case LK_TYPE_BOOLEAN: lk_buf_putc(v, (char)((const uint8_t *)c->values)[slot]); break;
    case LK_TYPE_BYTE: {
        int32_t x = ((const int8_t *)c->values)[slot];
        lk_buf_append_fast(v, &x, 4);
        break;
    }
    case LK_TYPE_SHORT: {
        int32_t x = ((const int16_t *)c->values)[slot];
        lk_buf_append_fast(v, &x, 4);
        break;
    }
    case LK_TYPE_STRING:
    case LK_TYPE_BINARY: {
        size_t n;
        const char *p = lk_col_bytes(c, slot, &n);
        uint32_t len = (uint32_t)n;
        lk_buf_append_fast(v, &len, 4);
        lk_buf_append_fast(v, p, n);
        stats_update(l, &l->rg, p, n);
        return;
    }
    default:
        lk_buf_append_fast(v, (const char *)c->values + (size_t)slot * c->elem_size, c->elem_size);
    }
    stats_update(l, &l->rg, v->data + at, v->len - at);
}

static void visit(leaf *l, const lk_col *c, int d, uint32_t slot, int rep, int def)
{
    if (lk_col_is_null(c, slot)) {
        emit_null(l, rep, def);
        return;
    }
    if (c->field->nullable)
        def++;
    switch (c->field->type) {
    case LK_TYPE_STRUCT: visit(l, &c->children[l->idx[d]], d + 1, slot, rep, def); return;
    case LK_TYPE_ARRAY:
    case LK_TYPE_MAP: {
        uint32_t s = c->offsets[slot], e = c->offsets[slot + 1];
        if (s == e) {
            emit_null(l, rep, def); /* an empty list */
            return;
        }
        const lk_col *child = &c->children[l->idx[d]];
        for (uint32_t k = s; k < e; k++)
            visit(l, child, d + 1, k, k == s ? rep : l->rep_at[d], def + 1);
        return;
    }
    default: emit_value(l, rep, c, slot);
    }
}

int lk_pq_writer_open(lk_pq_writer *w, const char *path, lk_error *err)
{
    if (w->fd >= 0)
        lk_pq_writer_abort(w);
    w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (w->fd < 0)
        return lk_error_errno(err, -errno, "cannot create Parquet file '%s'", path);
    snprintf(w->path, sizeof w->path, "%s", path);
    int rc = lk_fs_write_all(w->fd, "PAR1", 4);
    if (rc) {
        lk_pq_writer_abort(w);
        return lk_error_errno(err, rc, "cannot write '%s'", path);
    }
    w->offset = 4;
    w->rows_file = w->rows_rg = 0;
    w->rg_bytes = 0;
    w->nrg = 0;
    for (int i = 0; i < w->nleaves; i++) {
        leaf *l = &w->leaves[i];
        lk_buf_reset(&l->def);
        lk_buf_reset(&l->rep);
        lk_buf_reset(&l->values);
        l->nlevels = l->nnull = 0;
        l->rg.has = l->file.has = 0;
        l->rg.null_count = l->file.null_count = 0;
        l->nchunks = 0;
    }
    return 0;
}

static int flush_row_group(lk_pq_writer *w, lk_error *err);

int lk_pq_writer_write(lk_pq_writer *w, const lk_batch *b, lk_error *err)
{
    if (w->fd < 0)
        return lk_error_set(err, -EBADF, "Parquet writer: no open file");
    if (!lk_schema_equal(lk_batch_schema(b), w->schema))
        return lk_error_set(err, -EINVAL, "Parquet writer '%s': batch schema differs", w->path);
    uint32_t rows = lk_batch_nrows(b);
    /* shred in slices so that one large batch is still cut into row groups
       of about row_group_bytes */
    const uint32_t slice = 4096;
    for (uint32_t r0 = 0; r0 < rows; r0 += slice) {
        uint32_t r1 = rows - r0 < slice ? rows : r0 + slice;
        for (int i = 0; i < w->nleaves; i++) {
            leaf *l = &w->leaves[i];
            const lk_col *top = lk_batch_col_const(b, l->top);
            size_t before = l->values.len + l->def.len + l->rep.len;
            for (uint32_t r = r0; r < r1; r++)
                visit(l, top, 0, r, 0, 0);
            w->rg_bytes += l->values.len + l->def.len + l->rep.len - before;
        }
        w->rows_rg += r1 - r0;
        w->rows_file += r1 - r0;
        if (w->rg_bytes >= w->opt.row_group_bytes) {
            int rc = flush_row_group(w, err);
            if (rc)
                return rc;
        }
    }
    return 0;
}

size_t lk_pq_writer_bytes(const lk_pq_writer *w)
{
    return (size_t)w->offset + w->rg_bytes;
}

/* ---- pages ---- */

static void stats_thrift(lk_thrift_writer *t, int16_t id, const stats *s, int64_t nulls)
{
    lk_thrift_field(t, id, LK_TT_STRUCT);
    lk_thrift_struct_begin(t);
    lk_thrift_field_i64(t, 3, nulls);
    if (s->has) {
        lk_thrift_field_binary(t, 5, s->max.data, s->max.len);
        lk_thrift_field_binary(t, 6, s->min.data, s->min.len);
    }
    lk_thrift_struct_end(t);
}

/* Writes levels [lo, hi) and their values [vlo, vhi) as one data page. */
static int write_page(lk_pq_writer *w, leaf *l, size_t lo, size_t hi, size_t vlo, size_t vhi,
                      size_t nvals, chunk_meta *cm, lk_error *err)
{
    lk_buf *page = &w->page;
    lk_buf_reset(page);
    if (l->max_rep) {
        size_t at = page->len;
        lk_buf_append(page, "\0\0\0\0", 4);
        lk_pq_rle_encode((const uint8_t *)l->rep.data + lo, hi - lo, lk_pq_bit_width((uint32_t)l->max_rep), page);
        uint32_t n = (uint32_t)(page->len - at - 4);
        memcpy(page->data + at, &n, 4);
    }
    if (l->max_def) {
        size_t at = page->len;
        lk_buf_append(page, "\0\0\0\0", 4);
        lk_pq_rle_encode((const uint8_t *)l->def.data + lo, hi - lo, lk_pq_bit_width((uint32_t)l->max_def), page);
        uint32_t n = (uint32_t)(page->len - at - 4);
        memcpy(page->data + at, &n, 4);
    }
    if (l->ptype == PQ_BOOLEAN) {
        size_t nb = (nvals + 7) / 8, at = page->len;
        lk_buf_grow(page, nb);
        memset(page->data + at, 0, nb);
        for (size_t k = 0; k < nvals; k++)
            if (l->values.data[vlo + k])
                page->data[at + k / 8] |= (char)(1u << (k & 7));
        page->len += nb;
    } else {
        lk_buf_append(page, l->values.data + vlo, vhi - vlo);
    }
    int rc = lk_pq_compress(w->opt.codec, w->opt.zstd_level, page->data, page->len, &w->comp, err);
    if (rc)
        return rc;
    lk_buf_reset(&w->hdr);
    lk_thrift_writer t;
    lk_thrift_writer_init(&t, &w->hdr);
    lk_thrift_struct_begin(&t);
    lk_thrift_field_i32(&t, 1, PQ_PAGE_DATA);
    lk_thrift_field_i32(&t, 2, (int32_t)page->len);
    lk_thrift_field_i32(&t, 3, (int32_t)w->comp.len);
    lk_thrift_field(&t, 5, LK_TT_STRUCT);
    lk_thrift_struct_begin(&t);
    lk_thrift_field_i32(&t, 1, (int32_t)(hi - lo));
    lk_thrift_field_i32(&t, 2, PQ_ENC_PLAIN);
    lk_thrift_field_i32(&t, 3, PQ_ENC_RLE);
    lk_thrift_field_i32(&t, 4, PQ_ENC_RLE);
    lk_thrift_struct_end(&t);
    lk_thrift_struct_end(&t);
    if ((rc = lk_fs_write_all(w->fd, w->hdr.data, w->hdr.len)) ||
        (rc = lk_fs_write_all(w->fd, w->comp.data, w->comp.len)))
        return lk_error_errno(err, rc, "cannot write '%s'", w->path);
    cm->uncompressed += (int64_t)(w->hdr.len + page->len);
    cm->compressed += (int64_t)(w->hdr.len + w->comp.len);
    w->offset += (int64_t)(w->hdr.len + w->comp.len);
    return 0;
}

/* Byte length of the PLAIN value starting at v (variable for BYTE_ARRAY). */
static size_t value_len(const leaf *l, const char *v)
{
    switch (l->ptype) {
    case PQ_BOOLEAN: return 1;
    case PQ_INT32:
    case PQ_FLOAT: return 4;
    case PQ_INT64:
    case PQ_DOUBLE: return 8;
    case PQ_FLBA: return 16;
    default: {
        uint32_t n;
        memcpy(&n, v, 4);
        return 4 + n;
    }
    }
}

static int flush_leaf(lk_pq_writer *w, leaf *l, lk_error *err)
{
    if (l->nchunks == l->cap_chunks) {
        int cap = l->cap_chunks ? l->cap_chunks * 2 : 4;
        l->chunks = realloc(l->chunks, sizeof(chunk_meta) * (size_t)cap);
        if (!l->chunks)
            abort();
        memset(l->chunks + l->cap_chunks, 0, sizeof(chunk_meta) * (size_t)(cap - l->cap_chunks));
        l->cap_chunks = cap;
    }
    chunk_meta *cm = &l->chunks[l->nchunks++];
    cm->offset = w->offset;
    cm->uncompressed = cm->compressed = 0;
    cm->num_values = l->nlevels;
    cm->st.has = l->rg.has;
    cm->st.null_count = l->nnull;
    lk_buf_reset(&cm->st.min);
    lk_buf_reset(&cm->st.max);
    if (l->rg.has) {
        lk_buf_append(&cm->st.min, l->rg.min.data, l->rg.min.len);
        lk_buf_append(&cm->st.max, l->rg.max.data, l->rg.max.len);
    }
    l->rg.null_count = l->nnull;
    stats_merge(l, &l->file, &l->rg);
    /* cut pages at row starts (rep == 0) once page_bytes are reached */
    size_t lo = 0, vlo = 0, vpos = 0, nvals = 0;
    size_t n = (size_t)l->nlevels;
    const uint8_t *def = (const uint8_t *)l->def.data, *rep = (const uint8_t *)l->rep.data;
    for (size_t i = 0; i < n; i++) {
        if (i > lo && (!l->max_rep || rep[i] == 0) &&
            vpos - vlo + (i - lo) / 4 >= w->opt.page_bytes) {
            int rc = write_page(w, l, lo, i, vlo, vpos, nvals, cm, err);
            if (rc)
                return rc;
            lo = i;
            vlo = vpos;
            nvals = 0;
        }
        if (!l->max_def || def[i] == l->max_def) {
            vpos += value_len(l, l->values.data + vpos);
            nvals++;
        }
    }
    if (n > lo || n == 0) {
        int rc = write_page(w, l, lo, n, vlo, vpos, nvals, cm, err);
        if (rc)
            return rc;
    }
    lk_buf_reset(&l->def);
    lk_buf_reset(&l->rep);
    lk_buf_reset(&l->values);
    l->nlevels = l->nnull = 0;
    l->rg.has = 0;
    l->rg.null_count = 0;
    return 0;
}

static int flush_row_group(lk_pq_writer *w, lk_error *err)
{
    if (w->rows_rg == 0)
        return 0;
    for (int i = 0; i < w->nleaves; i++) {
        int rc = flush_leaf(w, &w->leaves[i], err);
        if (rc)
            return rc;
    }
    if (w->nrg == w->cap_rg) {
        w->cap_rg = w->cap_rg ? w->cap_rg * 2 : 4;
        w->rg_rows = realloc(w->rg_rows, sizeof(int64_t) * (size_t)w->cap_rg);
        if (!w->rg_rows)
            abort();
    }
    w->rg_rows[w->nrg++] = w->rows_rg;
    w->rows_rg = 0;
    w->rg_bytes = 0;
    return 0;
}

/* ---- footer ---- */

static void schema_element(lk_thrift_writer *t, const char *name, int ptype, int rep,
                           int nchildren, const lk_field *f, int role)
{
    /* role: 0 plain field, 1 list group "list", 2 map group "key_value" */
    lk_thrift_struct_begin(t);
    if (ptype >= 0)
        lk_thrift_field_i32(t, 1, ptype);
    if (ptype == PQ_FLBA)
        lk_thrift_field_i32(t, 2, 16);
    if (rep >= 0)
        lk_thrift_field_i32(t, 3, rep);
    lk_thrift_field_binary(t, 4, name, strlen(name));
    if (nchildren >= 0)
        lk_thrift_field_i32(t, 5, nchildren);
    int ct = -1;
    if (f && role == 0) {
        switch (f->type) {
        case LK_TYPE_STRING: ct = PQ_CT_UTF8; break;
        case LK_TYPE_DATE: ct = PQ_CT_DATE; break;
        case LK_TYPE_TIMESTAMP: ct = PQ_CT_TIMESTAMP_MICROS; break;
        case LK_TYPE_DECIMAL: ct = PQ_CT_DECIMAL; break;
        case LK_TYPE_BYTE: ct = PQ_CT_INT_8; break;
        case LK_TYPE_SHORT: ct = PQ_CT_INT_16; break;
        case LK_TYPE_ARRAY: ct = PQ_CT_LIST; break;
        case LK_TYPE_MAP: ct = PQ_CT_MAP; break;
        default: break;
        }
    }
    if (ct >= 0)
        lk_thrift_field_i32(t, 6, ct);
    if (f && role == 0 && f->type == LK_TYPE_DECIMAL) {
        lk_thrift_field_i32(t, 7, f->scale);
        lk_thrift_field_i32(t, 8, f->precision);
    }
    if (f && role == 0) {
        int lt = 0;
        switch (f->type) {
        case LK_TYPE_STRING: lt = 1; break;
        case LK_TYPE_MAP: lt = 2; break;
        case LK_TYPE_ARRAY: lt = 3; break;
        case LK_TYPE_DECIMAL: lt = 5; break;
        case LK_TYPE_DATE: lt = 6; break;
        case LK_TYPE_TIMESTAMP:
        case LK_TYPE_TIMESTAMP_NTZ: lt = 8; break;
        case LK_TYPE_BYTE:
        case LK_TYPE_SHORT: lt = 10; break;
        default: break;
        }
        if (lt) {
            lk_thrift_field(t, 10, LK_TT_STRUCT);
            lk_thrift_struct_begin(t);
            lk_thrift_field(t, (int16_t)lt, LK_TT_STRUCT);
            lk_thrift_struct_begin(t);
            if (lt == 5) {
                lk_thrift_field_i32(t, 1, f->scale);
                lk_thrift_field_i32(t, 2, f->precision);
            } else if (lt == 8) {
                lk_thrift_field_bool(t, 1, f->type == LK_TYPE_TIMESTAMP);
                lk_thrift_field(t, 2, LK_TT_STRUCT); /* unit: MICROS */
                lk_thrift_struct_begin(t);
                lk_thrift_field(t, 2, LK_TT_STRUCT);
                lk_thrift_struct_begin(t);
                lk_thrift_struct_end(t);
                lk_thrift_struct_end(t);
            } else if (lt == 10) {
                lk_thrift_field(t, 1, LK_TT_BYTE);
                lk_buf_putc(t->out, (char)(f->type == LK_TYPE_BYTE ? 8 : 16));
                lk_thrift_field_bool(t, 2, 1);
            }
            lk_thrift_struct_end(t);
            lk_thrift_struct_end(t);
        }
    }
    lk_thrift_struct_end(t);
}

static int count_elements(const lk_field *f)
{
    int n = 1;
    if (f->type == LK_TYPE_ARRAY || f->type == LK_TYPE_MAP)
        n++;
    for (int i = 0; i < f->n_children; i++)
        n += count_elements(&f->children[i]);
    return n;
}

static void schema_field(lk_thrift_writer *t, const lk_field *f, const char *name)
{
    int rep = f->nullable ? PQ_OPTIONAL : PQ_REQUIRED;
    switch (f->type) {
    case LK_TYPE_STRUCT:
        schema_element(t, name, -1, rep, f->n_children, f, 0);
        for (int i = 0; i < f->n_children; i++)
            schema_field(t, &f->children[i], f->children[i].name);
        break;
    case LK_TYPE_ARRAY:
        schema_element(t, name, -1, rep, 1, f, 0);
        schema_element(t, "list", -1, PQ_REPEATED, 1, NULL, 1);
        schema_field(t, &f->children[0], "element");
        break;
    case LK_TYPE_MAP:
        schema_element(t, name, -1, rep, 1, f, 0);
        schema_element(t, "key_value", -1, PQ_REPEATED, 2, NULL, 2);
        schema_field(t, &f->children[0], "key");
        schema_field(t, &f->children[1], "value");
        break;
    default: schema_element(t, name, lk_pq_physical(f), rep, -1, f, 0);
    }
}

static void footer(lk_pq_writer *w, lk_buf *out)
{
    lk_thrift_writer t;
    lk_thrift_writer_init(&t, out);
    lk_thrift_struct_begin(&t);
    lk_thrift_field_i32(&t, 1, 1);
    int nel = 1;
    for (int i = 0; i < lk_schema_nfields(w->schema); i++)
        nel += count_elements(lk_schema_field(w->schema, i));
    lk_thrift_field_list(&t, 2, LK_TT_STRUCT, (uint32_t)nel);
    schema_element(&t, "spark_schema", -1, -1, lk_schema_nfields(w->schema), NULL, 1);
    for (int i = 0; i < lk_schema_nfields(w->schema); i++)
        schema_field(&t, lk_schema_field(w->schema, i), lk_schema_field(w->schema, i)->name);
    lk_thrift_field_i64(&t, 3, w->rows_file);
    lk_thrift_field_list(&t, 4, LK_TT_STRUCT, (uint32_t)w->nrg);
    for (int g = 0; g < w->nrg; g++) {
        lk_thrift_struct_begin(&t);
        lk_thrift_field_list(&t, 1, LK_TT_STRUCT, (uint32_t)w->nleaves);
        int64_t total = 0, total_comp = 0;
        for (int i = 0; i < w->nleaves; i++) {
            leaf *l = &w->leaves[i];
            chunk_meta *cm = &l->chunks[g];
            total += cm->uncompressed;
            total_comp += cm->compressed;
            lk_thrift_struct_begin(&t);
            lk_thrift_field_i64(&t, 2, cm->offset);
            lk_thrift_field(&t, 3, LK_TT_STRUCT);
            lk_thrift_struct_begin(&t);
            lk_thrift_field_i32(&t, 1, l->ptype);
            lk_thrift_field_list(&t, 2, LK_TT_I32, 2);
            lk_thrift_i32(&t, PQ_ENC_PLAIN);
            lk_thrift_i32(&t, PQ_ENC_RLE);
            lk_thrift_field_list(&t, 3, LK_TT_BINARY, (uint32_t)l->nnames);
            for (int k = 0; k < l->nnames; k++)
                lk_thrift_binary(&t, l->names[k], strlen(l->names[k]));
            lk_thrift_field_i32(&t, 4, (int32_t)w->opt.codec);
            lk_thrift_field_i64(&t, 5, cm->num_values);
            lk_thrift_field_i64(&t, 6, cm->uncompressed);
            lk_thrift_field_i64(&t, 7, cm->compressed);
            lk_thrift_field_i64(&t, 9, cm->offset);
            stats_thrift(&t, 12, &cm->st, cm->st.null_count);
            lk_thrift_struct_end(&t);
            lk_thrift_struct_end(&t);
        }
        lk_thrift_field_i64(&t, 2, total);
        lk_thrift_field_i64(&t, 3, w->rg_rows[g]);
        lk_thrift_field_i64(&t, 5, w->leaves[0].chunks[g].offset);
        lk_thrift_field_i64(&t, 6, total_comp);
        lk_thrift_field(&t, 7, LK_TT_I16);
        lk_thrift_i32(&t, g);
        lk_thrift_struct_end(&t);
    }
    const char *cb = w->opt.created_by;
    lk_thrift_field_binary(&t, 6, cb, strlen(cb));
    /* column_orders: TypeDefinedOrder for every leaf, so that readers trust
       min_value/max_value */
    lk_thrift_field_list(&t, 7, LK_TT_STRUCT, (uint32_t)w->nleaves);
    for (int i = 0; i < w->nleaves; i++) {
        lk_thrift_struct_begin(&t);
        lk_thrift_field(&t, 1, LK_TT_STRUCT);
        lk_thrift_struct_begin(&t);
        lk_thrift_struct_end(&t);
        lk_thrift_struct_end(&t);
    }
    lk_thrift_struct_end(&t);
}

static void plain_to_value(const leaf *l, const lk_buf *b, lk_value *v)
{
    memset(v, 0, sizeof *v);
    v->is_set = 1;
    switch (l->ptype) {
    case PQ_BOOLEAN: v->i = (uint8_t)b->data[0]; break;
    case PQ_INT32: {
        int32_t x;
        memcpy(&x, b->data, 4);
        v->i = x;
        break;
    }
    case PQ_INT64: memcpy(&v->i, b->data, 8); break;
    case PQ_FLOAT: {
        float f;
        memcpy(&f, b->data, 4);
        v->d = f;
        break;
    }
    case PQ_DOUBLE: memcpy(&v->d, b->data, 8); break;
    default:
        v->p = b->data;
        v->n = b->len;
    }
}

int lk_pq_writer_close(lk_pq_writer *w, lk_pq_file_info *info, lk_error *err)
{
    if (w->fd < 0)
        return lk_error_set(err, -EBADF, "Parquet writer: no open file");
    int rc = flush_row_group(w, err);
    if (rc == 0 && w->nrg == 0) {
        /* an empty file still has one (empty) row group per the spec's
           readers' expectations: write none, which is valid */
    }
    if (rc == 0) {
        lk_buf_reset(&w->foot);
        footer(w, &w->foot);
        uint32_t n = (uint32_t)w->foot.len;
        lk_buf_append(&w->foot, &n, 4);
        lk_buf_append(&w->foot, "PAR1", 4);
        rc = lk_fs_write_all(w->fd, w->foot.data, w->foot.len);
        if (rc)
            lk_error_errno(err, rc, "cannot write '%s'", w->path);
        else
            w->offset += (int64_t)w->foot.len;
    }
    if (rc == 0 && w->opt.fsync) {
        rc = lk_fault_check("parquet.fsync");
        if (rc == 0 && fsync(w->fd) != 0)
            rc = -errno;
        if (rc)
            lk_error_errno(err, rc, "cannot fsync '%s'", w->path);
    }
    if (rc) {
        lk_pq_writer_abort(w);
        return rc;
    }
    close(w->fd);
    w->fd = -1;
    if (info) {
        for (int i = 0; i < w->nleaves; i++) {
            leaf *l = &w->leaves[i];
            lk_pq_leaf_stats *p = &w->pub[i];
            p->path = l->dotted;
            p->field = l->field;
            p->in_list = l->in_list;
            p->null_count = l->file.null_count;
            memset(&p->min, 0, sizeof p->min);
            memset(&p->max, 0, sizeof p->max);
            if (l->file.has) {
                plain_to_value(l, &l->file.min, &p->min);
                plain_to_value(l, &l->file.max, &p->max);
            }
        }
        info->num_rows = w->rows_file;
        info->file_size = w->offset;
        info->n_leaves = w->nleaves;
        info->leaves = w->pub;
    }
    return 0;
}

void lk_pq_writer_abort(lk_pq_writer *w)
{
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
        unlink(w->path);
    }
}
