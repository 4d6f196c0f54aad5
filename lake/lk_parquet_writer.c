/*
 * lk_parquet_writer — Parquet encoder (see lk_parquet_writer.h).
 *
 * Each write() shreds the batch into per-leaf buffers (definition and
 * repetition levels, PLAIN values) following the Dremel rules encoded in the
 * leaf descriptors of lk_parquet_schema. A row group is flushed when the
 * buffered bytes pass row_group_bytes: per column chunk an optional
 * dictionary page, then data pages V1 of about page_bytes each, cut on
 * record boundaries, levels in the RLE/bit-packed hybrid, each page compressed with the
 * file's codec. The RowGroup
 * thrift structs are serialised at flush time into one buffer, so the footer
 * is a concatenation and no per-chunk metadata is kept in memory.
 * Leaves without a list on their path are shredded a column slice at a time
 * (shred_flat); string bounds are found at flush, over the dictionary when
 * there is one. A writer linked to another (lk_pq_writer_reuse_from) copies
 * the other's pages for a column chunk whose levels and values are the same
 * bytes, so that processed_events does not encode raw_events' columns twice.
 */
#include "lk_parquet_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "lk_bytes.h"
#include "lk_fault.h"
#include "lk_parquet_schema.h"
#include "lk_thrift.h"

typedef struct stat_acc {
    int set;
    int64_t i;
    double d;
    lk_buf b;
} stat_acc;

typedef struct leaf_w {
    lk_buf def, rep, vals;
    int64_t nentries, nnull;
    stat_acc cmin, cmax; /* current chunk */
    int64_t cnull;
    /* strings and binary: cmin/cmax are found at flush, over the
       dictionary's distinct values when the chunk has one */
    stat_acc fmin, fmax; /* file */
    int64_t fnull;
    /* keep (a writer others reuse from): the last flushed chunk's inputs
       (swapped in, not copied) and its encoded pages */
    lk_buf enc;              /* pages of the chunk being flushed */
    lk_buf pdef, prep, pvals, penc;
    int64_t pentries;
    int pvalid, pdict, penc_kind;
    stat_acc pmin, pmax;
    int64_t ppage_rel, punc, pcomp;
    /* ... and when it had a dictionary: each value's index, the entries, the dictionary page's
       sizes (its bytes are penc's first ppage_rel), for a chunk of some of its rows
       (subset_dictionary) */
    lk_buf pidx;
    uint32_t pndict;
    int64_t pdunc, pdcomp;
    /* ZSTD one or two levels below the configured one (zstd_page), per page
       kind (0 data, 1 dictionary): how many levels below the last probe
       chose, pages until the next probe */
    uint8_t zlow[2];
    uint8_t zleft[2];
} leaf_w;

struct lk_pq_writer {
    lk_schema *schema;
    lk_pq_options opt;
    char created_by[128];
    lk_pq_leaf *leaves;
    int nleaves;
    leaf_w *lw;
    lk_pq_leaf_stats *stats;
    /* current file */
    int fd;
    char path[4096];
    int64_t offset;
    int64_t started; /* bytes whose write-back was started (sync_file_range) */
    int64_t num_rows, rg_rows;
    int n_rg;
    lk_buf rgbuf;   /* serialised RowGroup structs */
    lk_buf page;    /* uncompressed page body */
    lk_buf comp;    /* compressed page */
    lk_buf comp2;   /* the other level's output while a ZSTD probe runs */
    lk_buf out;     /* headers + data of a row group, then the footer */
    lk_buf rgtmp;   /* one RowGroup being built */
    ZSTD_CCtx *zctx;
    /* dictionary building at flush, reused */
    lk_buf dict;     /* PLAIN dictionary values */
    lk_buf idx;      /* uint32 index per value */
    uint32_t *slots; /* open addressing: value index + 1, 0 = empty */
    uint32_t *dpos;  /* per dictionary entry: its offset in dict */
    size_t nslots, dpos_cap;
    /* page cutting, reused */
    lk_buf cuts;     /* page_cut per page of the chunk being flushed */
    lk_buf tmp;      /* delta encodings' scratch values */
    /* compression ratio seen so far (kept across files) for size estimates */
    int64_t seen_unc, seen_comp;
    size_t row_bytes; /* buffered bytes per row of the last slice shredded */
    lk_buf statbuf;   /* a truncated upper bound being written */
    /* column chunk reuse (lk_pq_writer_reuse_from) */
    int keep;               /* others reuse from this writer: keep the last chunks */
    const lk_pq_writer *src; /* reuse from, or NULL */
    int *src_leaf;          /* per leaf: src's leaf with the same path and type, or -1 */
    int64_t reused;         /* column chunks taken from src */
    int64_t dict_reused;    /* dictionaries taken from src for chunks of some of its rows */
    lk_buf used;            /* subset_dictionary: the source's entries seen, a byte each */
};

/* One data page of a column chunk: entries [e0, e1), values [v0, v1) that
   start at byte b0 of the leaf's PLAIN value buffer. */
typedef struct page_cut {
    size_t e0, e1, v0, v1, b0, b1;
} page_cut;

void lk_pq_options_default(lk_pq_options *o)
{
    memset(o, 0, sizeof *o);
    o->codec = LK_PQ_ZSTD;
    o->zstd_level = 3;
    o->zstd_adaptive = 1;
    o->row_group_bytes = 128u << 20;
    o->page_bytes = 1u << 20;
    o->dictionary = 1;
    o->dictionary_bytes = 4u << 20;
    o->fsync = 1;
    o->created_by = NULL;
    o->target_file_bytes = 128u << 20;
    o->stats_max_bytes = 64;
    o->encodings = LK_PQ_ENC_DEFAULT;
}

int lk_pq_codec_parse(const char *s, lk_pq_codec *out)
{
    if (!strcasecmp(s, "zstd"))
        *out = LK_PQ_ZSTD;
    else if (!strcasecmp(s, "snappy"))
        *out = LK_PQ_SNAPPY;
    else if (!strcasecmp(s, "gzip"))
        *out = LK_PQ_GZIP;
    else if (!strcasecmp(s, "uncompressed") || !strcasecmp(s, "none"))
        *out = LK_PQ_UNCOMPRESSED;
    else
        return LK_ECONFIG;
    return 0;
}

const char *lk_pq_codec_name(lk_pq_codec c)
{
    switch (c) {
    case LK_PQ_UNCOMPRESSED: return "uncompressed";
    case LK_PQ_SNAPPY: return "snappy";
    case LK_PQ_GZIP: return "gzip";
    case LK_PQ_ZSTD: return "zstd";
    }
    return "?";
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
    snprintf(w->created_by, sizeof w->created_by, "%s",
             w->opt.created_by ? w->opt.created_by : "lakesupd version " LK_VERSION);
    w->opt.created_by = w->created_by;
    if (w->opt.row_group_bytes == 0)
        w->opt.row_group_bytes = 128u << 20;
    if (w->opt.page_bytes == 0)
        w->opt.page_bytes = 1u << 20;
    if (lk_pq_leaves_build(w->schema, &w->leaves, &w->nleaves) < 0) {
        lk_schema_destroy(&w->schema);
        free(w);
        return NULL;
    }
    w->lw = calloc((size_t)w->nleaves + 1, sizeof *w->lw);
    w->stats = calloc((size_t)w->nleaves + 1, sizeof *w->stats);
    if (!w->lw || !w->stats)
        abort();
    w->fd = -1;
    w->zctx = ZSTD_createCCtx();
    return w;
}

static void stat_free(stat_acc *s)
{
    lk_buf_free(&s->b);
}

static void free_buffers(lk_pq_writer *w);
static void release_kept(lk_pq_writer *w, int reuse);

void lk_pq_writer_destroy(lk_pq_writer **wp)
{
    lk_pq_writer *w = *wp;
    if (!w)
        return;
    if (w->fd >= 0)
        lk_pq_writer_abort(w);
    free_buffers(w);
    release_kept(w, 0);
    for (int i = 0; i < w->nleaves; i++) {
        leaf_w *l = &w->lw[i];
        stat_free(&l->cmin);
        stat_free(&l->cmax);
        stat_free(&l->fmin);
        stat_free(&l->fmax);
        stat_free(&l->pmin);
        stat_free(&l->pmax);
    }
    free(w->src_leaf);
    free(w->lw);
    free(w->stats);
    free(w->leaves);
    lk_buf_free(&w->rgbuf);
    ZSTD_freeCCtx(w->zctx);
    lk_buf_free(&w->statbuf);
    lk_schema_destroy(&w->schema);
    free(w);
    *wp = NULL;
}

static void leaf_reset_chunk(leaf_w *l)
{
    lk_buf_reset(&l->def);
    lk_buf_reset(&l->rep);
    lk_buf_reset(&l->vals);
    l->nentries = l->nnull = 0;
    l->cmin.set = l->cmax.set = 0;
    l->cnull = 0;
}

int lk_pq_writer_open(lk_pq_writer *w, const char *path, lk_error *err)
{
    if (w->fd >= 0)
        return lk_error_set(err, LK_ESTATE, "%s: parquet writer already has %s open", path, w->path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return lk_error_errno(err, -errno, "open %s", path);
    w->fd = fd;
    snprintf(w->path, sizeof w->path, "%s", path);
    w->offset = 0;
    w->started = 0;
    w->num_rows = w->rg_rows = 0;
    w->n_rg = 0;
    lk_buf_reset(&w->rgbuf);
    for (int i = 0; i < w->nleaves; i++) {
        leaf_reset_chunk(&w->lw[i]);
        w->lw[i].fmin.set = w->lw[i].fmax.set = 0;
        w->lw[i].fnull = 0;
    }
    lk_buf_reset(&w->out);
    lk_buf_append(&w->out, "PAR1", 4);
    return 0;
}

/* ---- statistics ---- */

static int cmp_bytes(const char *a, size_t an, const char *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

/* cmp_bytes for the short values of a column, 8 bytes at a time, inline. */
static inline int cmp_short(const char *a, size_t an, const char *b, size_t bn)
{
    size_t n = an < bn ? an : bn, i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y) { /* big-endian order compares as bytes (GCC/Clang builtin) */
            x = __builtin_bswap64(x);
            y = __builtin_bswap64(y);
            return x < y ? -1 : 1;
        }
    }
    for (; i < n; i++)
        if (a[i] != b[i])
            return (unsigned char)a[i] < (unsigned char)b[i] ? -1 : 1;
    return an < bn ? -1 : an > bn;
}

/* 16-byte big-endian two's complement: signed first byte, then unsigned. */
static int cmp_dec16(const char *a, const char *b)
{
    if ((int8_t)a[0] != (int8_t)b[0])
        return (int8_t)a[0] < (int8_t)b[0] ? -1 : 1;
    return memcmp(a + 1, b + 1, 15);
}

static void stat_set_bytes(stat_acc *s, const char *p, size_t n)
{
    lk_buf_reset(&s->b);
    lk_buf_append(&s->b, p, n);
    s->set = 1;
}

/* The bounds of the PLAIN byte-array values in [v, end) into l's chunk
   statistics (unset when there is none). */
static void string_bounds(leaf_w *l, const char *v, const char *end)
{
    const char *mn = NULL, *mx = NULL;
    size_t mnn = 0, mxn = 0;
    while (v < end) {
        uint32_t len;
        memcpy(&len, v, 4);
        const char *p = v + 4;
        if (!mn || cmp_short(p, len, mn, mnn) < 0)
            mn = p, mnn = len;
        if (!mx || cmp_short(p, len, mx, mxn) > 0)
            mx = p, mxn = len;
        v = p + len;
    }
    l->cmin.set = l->cmax.set = 0;
    if (mn) {
        stat_set_bytes(&l->cmin, mn, mnn);
        stat_set_bytes(&l->cmax, mx, mxn);
    }
}

static inline void upd_i(leaf_w *l, int64_t v)
{
    if (!l->cmin.set || v < l->cmin.i) {
        l->cmin.i = v;
        l->cmin.set = 1;
    }
    if (!l->cmax.set || v > l->cmax.i) {
        l->cmax.i = v;
        l->cmax.set = 1;
    }
}

static inline void upd_d(leaf_w *l, double v)
{
    if (isnan(v))
        return;
    if (!l->cmin.set || v < l->cmin.d) {
        l->cmin.d = v;
        l->cmin.set = 1;
    }
    if (!l->cmax.set || v > l->cmax.d) {
        l->cmax.d = v;
        l->cmax.set = 1;
    }
}

static inline void upd_b(leaf_w *l, const char *p, size_t n, int dec16)
{
    if (!l->cmin.set || (dec16 ? cmp_dec16(p, l->cmin.b.data) < 0
                               : cmp_bytes(p, n, l->cmin.b.data, l->cmin.b.len) < 0))
        stat_set_bytes(&l->cmin, p, n);
    if (!l->cmax.set || (dec16 ? cmp_dec16(p, l->cmax.b.data) > 0
                               : cmp_bytes(p, n, l->cmax.b.data, l->cmax.b.len) > 0))
        stat_set_bytes(&l->cmax, p, n);
}

static int stat_kind(const lk_field *f)
{
    switch (f->type) {
    case LK_TYPE_FLOAT:
    case LK_TYPE_DOUBLE: return 1;
    case LK_TYPE_STRING:
    case LK_TYPE_BINARY: return 2;
    case LK_TYPE_DECIMAL: return f->precision > 18 ? 3 : 0;
    default: return 0;
    }
}

static int stat_less(int kind, const stat_acc *a, const stat_acc *b)
{
    switch (kind) {
    case 0: return a->i < b->i;
    case 1: return a->d < b->d;
    case 2: return cmp_bytes(a->b.data, a->b.len, b->b.data, b->b.len) < 0;
    default: return cmp_dec16(a->b.data, b->b.data) < 0;
    }
}

static void stat_copy(stat_acc *dst, const stat_acc *src)
{
    dst->set = 1;
    dst->i = src->i;
    dst->d = src->d;
    lk_buf_reset(&dst->b);
    if (src->b.len)
        lk_buf_append(&dst->b, src->b.data, src->b.len);
}

static void merge_file_stats(const lk_pq_leaf *L, leaf_w *l)
{
    int k = stat_kind(L->field);
    if (l->cmin.set && (!l->fmin.set || stat_less(k, &l->cmin, &l->fmin)))
        stat_copy(&l->fmin, &l->cmin);
    if (l->cmax.set && (!l->fmax.set || stat_less(k, &l->fmax, &l->cmax)))
        stat_copy(&l->fmax, &l->cmax);
    l->fnull += l->cnull;
}

/* ---- shredding ---- */

static inline void emit_levels(const lk_pq_leaf *L, leaf_w *l, int d, int r)
{
    if (L->max_rep) {
        uint8_t c = (uint8_t)r;
        lk_buf_append_fast(&l->rep, &c, 1);
    }
    if (L->max_def) {
        uint8_t c = (uint8_t)d;
        lk_buf_append_fast(&l->def, &c, 1);
    }
    l->nentries++;
}

static void put_value(const lk_pq_leaf *L, leaf_w *l, const lk_col *c, uint32_t i)
{
    const lk_field *f = L->field;
    switch (f->type) {
    case LK_TYPE_BOOLEAN: {
        uint8_t v = ((const uint8_t *)c->values)[i];
        lk_buf_append_fast(&l->vals, &v, 1);
        upd_i(l, v);
        break;
    }
    case LK_TYPE_BYTE: {
        int32_t v = ((const int8_t *)c->values)[i];
        lk_buf_append_fast(&l->vals, &v, 4);
        upd_i(l, v);
        break;
    }
    case LK_TYPE_SHORT: {
        int32_t v = ((const int16_t *)c->values)[i];
        lk_buf_append_fast(&l->vals, &v, 4);
        upd_i(l, v);
        break;
    }
    case LK_TYPE_INTEGER:
    case LK_TYPE_DATE: {
        int32_t v = ((const int32_t *)c->values)[i];
        lk_buf_append_fast(&l->vals, &v, 4);
        upd_i(l, v);
        break;
    }
    case LK_TYPE_FLOAT: {
        float v = ((const float *)c->values)[i];
        lk_buf_append_fast(&l->vals, &v, 4);
        upd_d(l, v);
        break;
    }
    case LK_TYPE_DOUBLE: {
        double v = ((const double *)c->values)[i];
        lk_buf_append_fast(&l->vals, &v, 8);
        upd_d(l, v);
        break;
    }
    case LK_TYPE_STRING:
    case LK_TYPE_BINARY: {
        size_t n;
        const char *p = lk_col_bytes(c, i, &n);
        uint32_t n32 = (uint32_t)n;
        lk_buf_append_fast(&l->vals, &n32, 4);
        lk_buf_append_fast(&l->vals, p, n);
        break;
    }
    case LK_TYPE_DECIMAL:
        if (f->precision > 18) {
            const char *p = (const char *)c->values + (size_t)i * 16;
            lk_buf_append_fast(&l->vals, p, 16);
            upd_b(l, p, 16, 1);
            break;
        }
        /* fallthrough */
    default: {
        int64_t v = ((const int64_t *)c->values)[i];
        lk_buf_append_fast(&l->vals, &v, 8);
        upd_i(l, v);
        break;
    }
    }
}

/* Emits the entries of slot i of c (node k of leaf L); dslot/r as in Dremel. */
static void shred(const lk_pq_leaf *L, leaf_w *l, int k, const lk_col *c, uint32_t i, int r)
{
    const lk_pq_node *nd = &L->nodes[k];
    if (lk_col_is_null(c, i)) {
        emit_levels(L, l, nd->dslot, r);
        l->cnull++;
        return;
    }
    if (k == L->depth - 1) {
        emit_levels(L, l, nd->dval, r);
        put_value(L, l, c, i);
        return;
    }
    const lk_col *ch = &c->children[nd->child];
    if (nd->f->type == LK_TYPE_STRUCT) {
        shred(L, l, k + 1, ch, i, r);
        return;
    }
    uint32_t o0 = c->offsets[i], o1 = c->offsets[i + 1];
    if (o0 == o1) {
        emit_levels(L, l, nd->dval, r);
        l->cnull++;
        return;
    }
    for (uint32_t j = o0; j < o1; j++)
        shred(L, l, k + 1, ch, j, j == o0 ? r : nd->rep + 1);
}

/* The leaf's value at row i is there: no column on the way is null there. */
static inline int flat_present(const lk_col *const *chain, int depth, uint32_t i)
{
    for (int k = 0; k < depth; k++)
        if (lk_col_is_null(chain[k], i))
            return 0;
    return 1;
}

/* shred() for rows [r0, r1) of a leaf with no list or map on its path (a
   top-level column, or one inside structs: slot i of a struct is slot i of
   its children): levels in one pass, values in a loop per type. */
static void shred_flat(const lk_pq_leaf *L, leaf_w *l, const lk_col *top, uint32_t r0, uint32_t r1)
{
    const lk_col *chain[LK_PQ_MAX_DEPTH];
    int depth = L->depth, nulls = 0;
    chain[0] = top;
    for (int k = 1; k < depth; k++)
        chain[k] = &chain[k - 1]->children[L->nodes[k - 1].child];
    for (int k = 0; k < depth; k++)
        nulls |= chain[k]->validity != NULL;
    const lk_col *c = chain[depth - 1];
    uint32_t n = r1 - r0;
    if (L->max_def) {
        lk_buf_grow(&l->def, n);
        uint8_t *d = (uint8_t *)l->def.data + l->def.len;
        uint8_t dval = (uint8_t)L->nodes[depth - 1].dval;
        if (!nulls)
            memset(d, dval, n);
        else
            for (uint32_t i = r0; i < r1; i++) {
                uint8_t v = dval;
                for (int k = 0; k < depth; k++)
                    if (lk_col_is_null(chain[k], i)) {
                        v = (uint8_t)L->nodes[k].dslot;
                        break;
                    }
                *d++ = v;
            }
        l->def.len += n;
    }
    l->nentries += n;
    switch (L->field->type) {
    case LK_TYPE_LONG:
    case LK_TYPE_TIMESTAMP:
    case LK_TYPE_TIMESTAMP_NTZ: {
        const int64_t *v = (const int64_t *)c->values;
        lk_buf_grow(&l->vals, (size_t)n * 8);
        char *o = l->vals.data + l->vals.len;
        for (uint32_t i = r0; i < r1; i++) {
            if (nulls && !flat_present(chain, depth, i)) {
                l->cnull++;
                continue;
            }
            memcpy(o, &v[i], 8);
            o += 8;
            upd_i(l, v[i]);
        }
        l->vals.len = (size_t)(o - l->vals.data);
        return;
    }
    case LK_TYPE_INTEGER:
    case LK_TYPE_DATE: {
        const int32_t *v = (const int32_t *)c->values;
        lk_buf_grow(&l->vals, (size_t)n * 4);
        char *o = l->vals.data + l->vals.len;
        for (uint32_t i = r0; i < r1; i++) {
            if (nulls && !flat_present(chain, depth, i)) {
                l->cnull++;
                continue;
            }
            memcpy(o, &v[i], 4);
            o += 4;
            upd_i(l, v[i]);
        }
        l->vals.len = (size_t)(o - l->vals.data);
        return;
    }
    case LK_TYPE_DOUBLE: {
        const double *v = (const double *)c->values;
        lk_buf_grow(&l->vals, (size_t)n * 8);
        char *o = l->vals.data + l->vals.len;
        for (uint32_t i = r0; i < r1; i++) {
            if (nulls && !flat_present(chain, depth, i)) {
                l->cnull++;
                continue;
            }
            memcpy(o, &v[i], 8);
            o += 8;
            upd_d(l, v[i]);
        }
        l->vals.len = (size_t)(o - l->vals.data);
        return;
    }
    case LK_TYPE_STRING:
    case LK_TYPE_BINARY: {
        const uint32_t *off = c->offsets;
        size_t bytes = off[r1] - off[r0];
        lk_buf_grow(&l->vals, (size_t)n * 4 + bytes);
        size_t at = l->vals.len;
        for (uint32_t i = r0; i < r1; i++) {
            if (nulls && !flat_present(chain, depth, i)) {
                l->cnull++;
                continue;
            }
            uint32_t len = off[i + 1] - off[i];
            memcpy(l->vals.data + at, &len, 4);
            if (len) /* a column of empty strings has no data buffer: NULL + 0 is UB */
                memcpy(l->vals.data + at + 4, c->data + off[i], len);
            at += 4 + len;
        }
        l->vals.len = at;
        return;
    }
    default:
        for (uint32_t i = r0; i < r1; i++) {
            if (nulls && !flat_present(chain, depth, i)) {
                l->cnull++;
                continue;
            }
            put_value(L, l, c, i);
        }
        return;
    }
}

static size_t buffered_bytes(const lk_pq_writer *w)
{
    size_t n = 0;
    for (int i = 0; i < w->nleaves; i++)
        n += w->lw[i].vals.len + w->lw[i].def.len + w->lw[i].rep.len;
    return n;
}

size_t lk_pq_writer_bytes(const lk_pq_writer *w)
{
    return (size_t)w->offset + w->out.len + buffered_bytes(w);
}

int64_t lk_pq_writer_file_bytes(const lk_pq_writer *w)
{
    return w->fd >= 0 ? w->offset + (int64_t)w->out.len : 0;
}

size_t lk_pq_writer_estimated_size(const lk_pq_writer *w)
{
    if (w->fd < 0)
        return 0;
    size_t buf = buffered_bytes(w);
    /* the ratio of what this writer compressed so far (any file); before the
       first row group, the uncompressed size: an overestimate, never under */
    if (w->seen_unc > 0 && w->seen_comp < w->seen_unc)
        buf = (size_t)((double)buf * (double)w->seen_comp / (double)w->seen_unc);
    /* footer: about 100 bytes per column chunk of every row group so far and
       of the buffered one */
    size_t footer = (size_t)(w->n_rg + 1) * (size_t)w->nleaves * 100 + 256;
    return (size_t)w->offset + w->out.len + buf + footer;
}

int lk_pq_writer_full(const lk_pq_writer *w)
{
    return w->fd >= 0 && w->opt.target_file_bytes &&
           lk_pq_writer_estimated_size(w) >= w->opt.target_file_bytes;
}

static int flush_row_group(lk_pq_writer *w, lk_error *err);

size_t lk_pq_writer_buffered(const lk_pq_writer *w)
{
    return buffered_bytes(w);
}

int lk_pq_writer_flush(lk_pq_writer *w, lk_error *err)
{
    if (w->fd < 0)
        return lk_error_set(err, LK_ESTATE, "parquet writer: flush without open");
    return w->rg_rows ? flush_row_group(w, err) : 0;
}

int lk_pq_writer_write(lk_pq_writer *w, const lk_batch *b, lk_error *err)
{
    if (w->fd < 0)
        return lk_error_set(err, LK_ESTATE, "parquet writer: write without open");
    if (!lk_schema_equal(lk_batch_schema(b), w->schema))
        return lk_error_set(err, LK_EFORMAT, "%s: batch schema differs from the writer's", w->path);
    uint32_t n = lk_batch_nrows(b);
    for (int li = 0; li < w->nleaves; li++) {
        const lk_col *c = lk_batch_col_const(b, w->leaves[li].top);
        if (c->len < n)
            return lk_error_set(err, LK_EFORMAT, "%s: column %s has %u of %u rows", w->path,
                                c->field->name, c->len, n);
    }
    /* Shred in slices so that one large batch is still cut into row groups
       of about row_group_bytes. The slice is sized from the bytes per row of
       the previous slice so that wide rows overshoot by little; 4096 rows at
       most so that narrow rows do not pay a size check per row. */
    size_t buffered = buffered_bytes(w);
    uint32_t slice = 1;
    if (w->row_bytes) {
        size_t fit = (w->opt.row_group_bytes - (buffered < w->opt.row_group_bytes ? buffered : 0)) /
                     w->row_bytes;
        slice = fit < 1 ? 1 : fit > 4096 ? 4096 : (uint32_t)fit;
    }
    for (uint32_t r0 = 0; r0 < n;) {
        uint32_t r1 = n - r0 < slice ? n : r0 + slice;
        for (int li = 0; li < w->nleaves; li++) {
            const lk_pq_leaf *L = &w->leaves[li];
            leaf_w *l = &w->lw[li];
            const lk_col *c = lk_batch_col_const(b, L->top);
            if (!L->max_rep)
                shred_flat(L, l, c, r0, r1);
            else
                for (uint32_t i = r0; i < r1; i++)
                    shred(L, l, 0, c, i, 0);
        }
        w->rg_rows += r1 - r0;
        w->num_rows += r1 - r0;
        size_t now = buffered_bytes(w);
        size_t per_row = (now - buffered) / (r1 - r0) + 1;
        w->row_bytes = per_row;
        buffered = now;
        /* the buffered row group is what takes the file past its target:
           flush it so that the file's size becomes known (once the written
           part alone is past the target, the caller rolls the file) */
        int64_t written = w->offset + (int64_t)w->out.len;
        if (buffered >= w->opt.row_group_bytes ||
            (w->opt.target_file_bytes && written < (int64_t)w->opt.target_file_bytes &&
             lk_pq_writer_full(w))) {
            int rc = flush_row_group(w, err);
            if (rc)
                return rc;
            buffered = 0;
        }
        size_t room = w->opt.row_group_bytes - buffered;
        size_t fit = room / per_row;
        slice = fit < 1 ? 1 : fit > 4096 ? 4096 : (uint32_t)fit;
        r0 = r1;
    }
    return 0;
}

/* ---- pages ---- */

static int bit_width(int max)
{
    int bw = 0;
    while (max >> bw)
        bw++;
    return bw;
}

static void put_varint(lk_buf *b, uint64_t v)
{
    while (v >= 0x80) {
        uint8_t c = (uint8_t)(v | 0x80);
        lk_buf_append_fast(b, &c, 1);
        v >>= 7;
    }
    uint8_t c = (uint8_t)v;
    lk_buf_append_fast(b, &c, 1);
}

/* Levels as the RLE/bit-packed hybrid, 4-byte length prefix: a run of 8 or more equal levels is an
   RLE run, the rest go bit-packed, 8 levels a group (the last one padded with zeros), at most 63
   groups a run so that its header is one byte, as parquet-mr writes them. RLE runs alone cost a
   run per 1-3 levels where nulls are scattered (a 30 %-null column: ~0.85 bytes a level, and a
   reader's loop turn per run); bit-packed, a level costs bw bits. */
static void encode_levels(lk_buf *out, const uint8_t *p, size_t n, int max)
{
    int bw = bit_width(max);
    size_t at = out->len;
    uint32_t zero = 0;
    lk_buf_append_fast(out, &zero, 4);
    /* the most it can take: every level bit-packed, a header byte per 63 groups */
    lk_buf_grow(out, (n + 7) / 8 * (size_t)bw + (n + 503) / 504 + 16);
    size_t hdr = 0, groups = 0; /* the open bit-packed run: its header's offset, its groups */
    size_t i = 0;
    while (i < n) {
        size_t j = i + 1;
        while (j < n && p[j] == p[i])
            j++;
        if (j - i >= 8) {
            if (groups) {
                out->data[hdr] = (char)(groups << 1 | 1);
                groups = 0;
            }
            put_varint(out, (uint64_t)(j - i) << 1);
            uint8_t v[2] = {p[i], 0};
            lk_buf_append_fast(out, v, (size_t)((bw + 7) / 8));
            i = j;
            continue;
        }
        if (!groups) {
            hdr = out->len;
            lk_buf_append_fast(out, &zero, 1);
        }
        uint64_t acc = 0;
        for (size_t k = 0; k < 8 && i + k < n; k++)
            acc |= (uint64_t)p[i + k] << (k * (size_t)bw);
        for (int b = 0; b < bw; b++) {
            uint8_t c = (uint8_t)(acc >> (8 * b));
            lk_buf_append_fast(out, &c, 1);
        }
        i += 8;
        if (++groups == 63) {
            out->data[hdr] = (char)(groups << 1 | 1);
            groups = 0;
        }
    }
    if (groups)
        out->data[hdr] = (char)(groups << 1 | 1);
    uint32_t len = (uint32_t)(out->len - at - 4);
    memcpy(out->data + at, &len, 4);
}

/* ZSTD picks its parameters by input size, in tiers whose last starts above 256 KiB: a sample
   of a larger page is taken larger than that, so that it is compressed as the page is. */
enum { ZSTD_PROBE_MIN = 64 << 10, ZSTD_PROBE_SAMPLE = 320 << 10, ZSTD_PROBE_EVERY = 16 };
/* a lower level is taken when its output is at most 1/128 (0.8 %) larger than L's
   (docs/decisions.md, "ZSTD: both levels below probed") */
enum { ZSTD_PROBE_SLACK = 128 };

/* n bytes at p compressed at ZSTD level lv into b. */
static int zstd_into(lk_pq_writer *w, lk_buf *b, const char *p, size_t n, int lv, size_t *outn,
                     lk_error *err)
{
    size_t cap = ZSTD_compressBound(n);
    lk_buf_reset(b);
    lk_buf_grow(b, cap);
    size_t k = ZSTD_compressCCtx(w->zctx, b->data, cap, p, n, lv);
    if (ZSTD_isError(k))
        return lk_error_set(err, LK_EFORMAT, "%s: zstd: %s", w->path, ZSTD_getErrorName(k));
    *outn = k;
    return 0;
}

/* A page of leaf l (kind 0 data, 1 dictionary) compressed into w->comp: at the configured level
   L, or at L - 1 or L - 2 where a probe found that level's output no larger than L's (within
   1/128) for this leaf's pages of this kind, the lowest such level (docs/decisions.md, "ZSTD at
   the configured level or one below", and its revisions "... or two below" and "ZSTD: both
   levels below probed"). On our benchmark's data level 2 compresses about twice as fast as 3;
   level 1 is faster still. Their outputs do not grow in step: for 2-decimal doubles in pages
   of ~256 KiB level 2's is 2.5 % larger than 3's and level 1's 0.4 %; for hex digests level 1's
   is the smallest; sorted ids as DELTA_BYTE_ARRAY grow at every step. A probe compresses the
   page, or its first 320 KiB when it is larger than twice that, at L, L - 1 and L - 2; it runs
   on the leaf's first page of the kind of at least 64 KiB, and then every 16th page. */
static int zstd_page(lk_pq_writer *w, leaf_w *l, int kind, const lk_buf *in, size_t *outn,
                     lk_error *err)
{
    int L = w->opt.zstd_level ? w->opt.zstd_level : 3;
    if (!l || !w->opt.zstd_adaptive || L < 2 || in->len < ZSTD_PROBE_MIN)
        return zstd_into(w, &w->comp, in->data, in->len, L, outn, err);
    if (l->zleft[kind]) {
        l->zleft[kind]--;
        return zstd_into(w, &w->comp, in->data, in->len, L - l->zlow[kind], outn, err);
    }
    size_t n = in->len > 2 * ZSTD_PROBE_SAMPLE ? ZSTD_PROBE_SAMPLE : in->len, nl = 0, best;
    if (zstd_into(w, &w->comp, in->data, n, L, &nl, err) < 0)
        return -1;
    best = nl;
    l->zlow[kind] = 0;
    for (int d = 1; d <= 2 && L - d >= 1; d++) {
        size_t nd = 0;
        if (zstd_into(w, &w->comp2, in->data, n, L - d, &nd, err) < 0)
            return -1;
        if (nd > nl + nl / ZSTD_PROBE_SLACK)
            continue;
        l->zlow[kind] = (uint8_t)d; /* w->comp: the lowest level's output so far */
        lk_buf t = w->comp;
        w->comp = w->comp2;
        w->comp2 = t;
        best = nd;
    }
    l->zleft[kind] = ZSTD_PROBE_EVERY - 1;
    if (n < in->len) /* the sample decided: the page at that level */
        return zstd_into(w, &w->comp, in->data, in->len, L - l->zlow[kind], outn, err);
    *outn = best;
    return 0;
}

static int compress_page(lk_pq_writer *w, leaf_w *l, int kind, const lk_buf *in, const char **outp,
                         size_t *outn, lk_error *err)
{
    lk_buf_reset(&w->comp);
    switch (w->opt.codec) {
    case LK_PQ_UNCOMPRESSED:
        *outp = in->data;
        *outn = in->len;
        return 0;
    case LK_PQ_SNAPPY: {
        size_t cap = snappy_max_compressed_length(in->len);
        lk_buf_grow(&w->comp, cap);
        size_t n = cap;
        if (snappy_compress(in->data, in->len, w->comp.data, &n) != SNAPPY_OK)
            return lk_error_set(err, LK_EFORMAT, "%s: snappy compression failed", w->path);
        *outp = w->comp.data;
        *outn = n;
        return 0;
    }
    case LK_PQ_GZIP: {
        z_stream z;
        memset(&z, 0, sizeof z);
        if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return lk_error_set(err, -ENOMEM, "%s: deflateInit2 failed", w->path);
        size_t cap = deflateBound(&z, in->len) + 32;
        lk_buf_grow(&w->comp, cap);
        z.next_in = (Bytef *)in->data;
        z.avail_in = (uInt)in->len;
        z.next_out = (Bytef *)w->comp.data;
        z.avail_out = (uInt)cap;
        int rc = deflate(&z, Z_FINISH);
        size_t n = z.total_out;
        deflateEnd(&z);
        if (rc != Z_STREAM_END)
            return lk_error_set(err, LK_EFORMAT, "%s: gzip compression failed", w->path);
        *outp = w->comp.data;
        *outn = n;
        return 0;
    }
    case LK_PQ_ZSTD: {
        size_t n = 0;
        if (zstd_page(w, l, kind, in, &n, err) < 0)
            return -1;
        *outp = w->comp.data;
        *outn = n;
        return 0;
    }
    }
    return lk_error_set(err, LK_EUNSUPPORTED, "%s: unknown codec %d", w->path, (int)w->opt.codec);
}

static int write_all(lk_pq_writer *w, const char *p, size_t n, lk_error *err)
{
    int f = lk_fault_check("parquet.write");
    if (f < 0 || f == LK_FAULT_SHORT_WRITE)
        return lk_error_errno(err, f < 0 ? f : -ENOSPC, "write %s (injected fault)", w->path);
    while (n) {
        ssize_t k = write(w->fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return lk_error_errno(err, -errno, "write %s", w->path);
        }
        p += k;
        n -= (size_t)k;
        w->offset += k;
    }
    /* A file that close fsyncs: start the write-back of what is written, so that the fsync
       waits for the last part only and the disk works while we encode (a writer's two files
       took 14-24 ms of fsync at the end of a batch, its core idle). Advisory: errors are the
       fsync's to report. */
    if (w->opt.fsync && w->offset - w->started >= (1 << 20)) {
        (void)sync_file_range(w->fd, w->started, w->offset - w->started, SYNC_FILE_RANGE_WRITE);
        w->started = w->offset;
    }
    return 0;
}

/* Plain encoding of one statistics value. */
static void stat_plain(const lk_pq_leaf *L, const stat_acc *s, char *tmp, const char **p, size_t *n)
{
    switch (L->phys) {
    case PQ_BOOLEAN: tmp[0] = (char)(s->i != 0); *p = tmp; *n = 1; return;
    case PQ_INT32: { int32_t v = (int32_t)s->i; memcpy(tmp, &v, 4); *p = tmp; *n = 4; return; }
    case PQ_INT64: memcpy(tmp, &s->i, 8); *p = tmp; *n = 8; return;
    case PQ_FLOAT: { float v = (float)s->d; memcpy(tmp, &v, 4); *p = tmp; *n = 4; return; }
    case PQ_DOUBLE: memcpy(tmp, &s->d, 8); *p = tmp; *n = 8; return;
    default: *p = s->b.data ? s->b.data : ""; *n = s->b.len; return;
    }
}

/* Length of the longest prefix of p[0..n) of at most max bytes that ends on
   a UTF-8 character boundary (any prefix for binary). */
static size_t prefix_len(const char *p, size_t n, size_t max, int utf8)
{
    if (n <= max)
        return n;
    size_t k = max;
    while (utf8 && k > 0 && ((uint8_t)p[k] & 0xC0) == 0x80)
        k--; /* p[k] continues a character: cut before that character */
    return k;
}

/* An upper bound of every value that starts with p[0..n), shorter than
   max: the prefix with its last incrementable unit incremented and the rest
   dropped. For strings only an ASCII byte below 0x7F is incremented so the
   bound stays valid UTF-8; for binary any byte below 0xFF. 0 when there is
   none (then the exact value is written). */
static size_t upper_bound(const char *p, size_t n, size_t max, int utf8, char *out)
{
    size_t k = prefix_len(p, n, max, utf8);
    while (k > 0) {
        uint8_t c = (uint8_t)p[k - 1];
        if (utf8 ? c < 0x7F : c < 0xFF) {
            memcpy(out, p, k);
            out[k - 1] = (char)(c + 1);
            return k;
        }
        k--;
    }
    return 0;
}

static void write_stats(lk_tc_w *t, int16_t id, lk_pq_writer *w, const lk_pq_leaf *L,
                        const leaf_w *l)
{
    char tmp[16];
    const char *p;
    size_t n;
    lk_tc_struct_begin(t, id);
    lk_tc_i64(t, 3, l->cnull);
    if (l->cmin.set && l->cmax.set) {
        int bytes = L->phys == PQ_BYTE_ARRAY;
        int utf8 = L->field->type == LK_TYPE_STRING;
        size_t max = w->opt.stats_max_bytes ? w->opt.stats_max_bytes : SIZE_MAX;
        int max_exact = 1, min_exact = 1;
        /* max */
        stat_plain(L, &l->cmax, tmp, &p, &n);
        if (bytes && n > max) {
            lk_buf *ub = &w->statbuf;
            lk_buf_reset(ub);
            lk_buf_grow(ub, max + 1);
            size_t k = upper_bound(p, n, max, utf8, ub->data);
            if (k) {
                p = ub->data;
                n = k;
                max_exact = 0;
            }
        } else if (L->phys == PQ_FLOAT || L->phys == PQ_DOUBLE) {
            /* a zero bound is written as +0.0 for max and -0.0 for min so
               that readers ignoring the sign of zero stay correct */
            if (l->cmax.d == 0.0) {
                if (L->phys == PQ_FLOAT) {
                    float z = 0.0f;
                    memcpy(tmp, &z, 4);
                } else {
                    double z = 0.0;
                    memcpy(tmp, &z, 8);
                }
            }
        }
        lk_tc_binary(t, 5, p, n);
        /* min */
        stat_plain(L, &l->cmin, tmp, &p, &n);
        if (bytes && n > max) {
            n = prefix_len(p, n, max, utf8);
            min_exact = 0;
        } else if ((L->phys == PQ_FLOAT || L->phys == PQ_DOUBLE) && l->cmin.d == 0.0) {
            if (L->phys == PQ_FLOAT) {
                float z = -0.0f;
                memcpy(tmp, &z, 4);
            } else {
                double z = -0.0;
                memcpy(tmp, &z, 8);
            }
        }
        lk_tc_binary(t, 6, p, n);
        lk_tc_bool(t, 7, max_exact);
        lk_tc_bool(t, 8, min_exact);
    }
    lk_tc_struct_end(t);
}

/* Compresses body and appends header + data to out. page_type 0 data (V1), 2 dictionary. */
static int put_page(lk_pq_writer *w, const lk_pq_leaf *L, leaf_w *l, const lk_buf *body,
                    int page_type, int32_t nv, int enc, int with_stats, int64_t *unc, int64_t *comp,
                    lk_error *err)
{
    const char *cp = NULL;
    size_t cn = 0;
    if (body->len > INT32_MAX)
        return lk_error_set(err, LK_ELIMIT, "%s: column %s: page over 2 GiB", w->path, L->dotted);
    int rc = compress_page(w, l, page_type == 2, body, &cp, &cn, err);
    if (rc < 0)
        return rc;
    size_t hstart = w->out.len;
    lk_tc_w ht;
    lk_tc_w_init(&ht, &w->out);
    lk_tc_i32(&ht, 1, page_type);
    lk_tc_i32(&ht, 2, (int32_t)body->len);
    lk_tc_i32(&ht, 3, (int32_t)cn);
    if (page_type == 0) {
        lk_tc_struct_begin(&ht, 5);
        lk_tc_i32(&ht, 1, nv);
        lk_tc_i32(&ht, 2, enc);
        lk_tc_i32(&ht, 3, 3);
        lk_tc_i32(&ht, 4, 3);
        if (with_stats)
            write_stats(&ht, 5, w, L, l);
        lk_tc_struct_end(&ht);
    } else {
        lk_tc_struct_begin(&ht, 7);
        lk_tc_i32(&ht, 1, nv);
        lk_tc_i32(&ht, 2, 0);
        lk_tc_struct_end(&ht);
    }
    lk_tc_end(&ht);
    size_t hlen = w->out.len - hstart;
    lk_buf_append(&w->out, cp ? cp : "", cn);
    if (w->keep)
        lk_buf_append(&l->enc, w->out.data + hstart, w->out.len - hstart);
    *unc += (int64_t)(hlen + body->len);
    *comp += (int64_t)(hlen + cn);
    return 0;
}

/* A word-at-a-time hash for dictionary slots (in-process only, never
   stored): the tail is the last 8 (or two overlapping 4) bytes, loaded with
   fixed-size copies the compiler inlines. */
static inline uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull), w;
    if (n >= 8) {
        const char *last = p + n - 8;
        while (p < last) {
            memcpy(&w, p, 8);
            h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
            h ^= h >> 29;
            p += 8;
        }
        memcpy(&w, last, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + n - 4, 4);
        w = (uint64_t)a | (uint64_t)b << 32;
    } else {
        w = 0;
        for (size_t i = 0; i < n; i++)
            w = w << 8 | (uint8_t)p[i];
    }
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 32;
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 29);
}

/* Builds w->dict (PLAIN values) and w->idx from l->vals. 0 when PLAIN is
   smaller or the dictionary outgrows dictionary_bytes (fallback to PLAIN). */
static int build_dictionary(lk_pq_writer *w, const lk_pq_leaf *L, const leaf_w *l, uint32_t *ndict)
{
    size_t fixed = L->phys == PQ_BYTE_ARRAY ? 0
                   : L->phys == PQ_FLBA     ? (size_t)L->type_length
                   : (L->phys == PQ_INT32 || L->phys == PQ_FLOAT) ? 4 : 8;
    size_t nvals = 0;
    if (fixed)
        nvals = l->vals.len / fixed;
    else
        nvals = (size_t)(l->nentries - l->cnull); /* upper bound; counted below */
    if (l->vals.len == 0)
        return 0;
    /* full: the table for nvals distinct values (the most it can need);
       it starts small and doubles as entries come, because clearing the
       full table per column cost more than the hashing (most columns have
       few distinct values, or give up at 4,096) */
    size_t full = 1024;
    while (full < nvals * 2 && full < (1u << 24))
        full *= 2;
    size_t nslots = full < 8192 ? full : 8192;
    if (w->nslots < full) {
        free(w->slots);
        w->slots = malloc(full * sizeof *w->slots);
        if (!w->slots)
            abort();
        w->nslots = full;
    }
    memset(w->slots, 0, nslots * sizeof *w->slots);
    size_t mask = nslots - 1;
    lk_buf_reset(&w->dict);
    lk_buf_reset(&w->idx);
    uint32_t n = 0;
    const char *v = l->vals.data, *end = l->vals.data + l->vals.len;
    const char *prev = NULL; /* the previous value and its id: runs (a */
    size_t prevlen = 0;      /* file's _metadata, sorted data) skip the hash */
    uint32_t previd = 0;
    while (v < end) {
        const char *key = v;
        size_t klen = fixed;
        if (!fixed) {
            uint32_t len;
            memcpy(&len, v, 4);
            klen = 4 + len;
        }
        v += klen;
        uint32_t id;
        if (prev && prevlen == klen && lk_bytes_eq(prev, key, klen)) {
            id = previd;
            goto found;
        }
        size_t h = (size_t)hash_bytes(key, klen) & mask;
        for (;;) {
            uint32_t sl = w->slots[h];
            if (!sl && (size_t)n + 1 > nslots / 2 && nslots < full) {
                /* double the table: every entry again, then this key */
                nslots *= 2;
                mask = nslots - 1;
                memset(w->slots, 0, nslots * sizeof *w->slots);
                for (uint32_t k = 0; k < n; k++) {
                    const char *e = w->dict.data + w->dpos[k];
                    size_t elen = fixed;
                    if (!fixed) {
                        uint32_t len;
                        memcpy(&len, e, 4);
                        elen = 4 + len;
                    }
                    size_t eh = (size_t)hash_bytes(e, elen) & mask;
                    while (w->slots[eh])
                        eh = (eh + 1) & mask;
                    w->slots[eh] = k + 1;
                }
                h = (size_t)hash_bytes(key, klen) & mask;
                continue;
            }
            if (!sl) {
                if (w->dict.len + klen > w->opt.dictionary_bytes || (size_t)n + 1 > nslots / 2)
                    return 0;
                if (n == w->dpos_cap) {
                    w->dpos_cap = w->dpos_cap ? w->dpos_cap * 2 : 1024;
                    w->dpos = realloc(w->dpos, w->dpos_cap * sizeof *w->dpos);
                    if (!w->dpos)
                        abort();
                }
                w->dpos[n] = (uint32_t)w->dict.len;
                lk_buf_append(&w->dict, key, klen);
                w->slots[h] = ++n;
                id = n - 1;
                break;
            }
            const char *e = w->dict.data + w->dpos[sl - 1];
            size_t elen = fixed;
            if (!fixed) {
                uint32_t len;
                memcpy(&len, e, 4);
                elen = 4 + len;
            }
            if (elen == klen && lk_bytes_eq(e, key, klen)) {
                id = sl - 1;
                break;
            }
            h = (h + 1) & mask;
        }
        prev = key;
        prevlen = klen;
        previd = id;
    found:
        lk_buf_append_fast(&w->idx, &id, 4);
        /* nearly unique values (ids, timestamps, free text) do not pay for a
           dictionary: give up early, as parquet-mr and Arrow do */
        size_t seen = w->idx.len / 4;
        if (seen == 4096 && n > seen / 4 * 3)
            return 0;
    }
    int bw = bit_width((int)(n > 1 ? n - 1 : 1));
    size_t count = w->idx.len / 4;
    if (w->dict.len + (count * (size_t)bw + 7) / 8 + 8 >= l->vals.len)
        return 0;
    *ndict = n;
    return 1;
}

/* Dictionary indices: bit width byte, then one bit-packed run. */
static void encode_indices(lk_buf *out, const uint32_t *idx, size_t n, uint32_t ndict)
{
    int bw = bit_width((int)(ndict > 1 ? ndict - 1 : 1));
    uint8_t b = (uint8_t)bw;
    lk_buf_append_fast(out, &b, 1);
    size_t groups = (n + 7) / 8;
    put_varint(out, ((uint64_t)groups << 1) | 1);
    size_t nbytes = groups * (size_t)bw;
    lk_buf_grow(out, nbytes);
    uint8_t *p = (uint8_t *)out->data + out->len;
    /* LSB-first bit packing through a 64-bit accumulator */
    uint64_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= (uint64_t)idx[i] << bits;
        bits += bw;
        while (bits >= 8) {
            p[o++] = (uint8_t)acc;
            acc >>= 8;
            bits -= 8;
        }
    }
    if (bits > 0)
        p[o++] = (uint8_t)acc;
    if (o < nbytes)
        memset(p + o, 0, nbytes - o); /* the last group padded with zeros */
    out->len += nbytes;
}

/* ---- value encodings other than PLAIN and dictionary (issue 16) ----
   Chosen per column chunk when the dictionary does not pay (docs/parquet.md,
   "Encodings"): DELTA_BINARY_PACKED for integers, DELTA_BYTE_ARRAY for
   strings that share prefixes with their predecessor (sorted ids, ISO
   timestamps), BYTE_STREAM_SPLIT for doubles and floats. Every one is read
   by DuckDB, pyarrow and lk_parquet_reader. */
enum { ENC_PLAIN = 0, ENC_DBP = 5, ENC_DELTA_BYTE_ARRAY = 7, ENC_BSS = 9 };

static inline uint64_t zigzag64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int width64(uint64_t v)
{
    return v ? 64 - __builtin_clzll(v) : 0;
}

/* Appends n values bit-packed LSB first at width bits each (n a multiple of 8). */
static void pack_bits(lk_buf *out, const uint64_t *v, size_t n, int width)
{
    if (!width)
        return;
    size_t nbytes = n * (size_t)width / 8;
    lk_buf_grow(out, nbytes);
    uint8_t *p = (uint8_t *)out->data + out->len;
    memset(p, 0, nbytes);
    size_t bit = 0;
    for (size_t i = 0; i < n; i++, bit += (size_t)width) {
        uint64_t x = v[i];
        size_t o = bit >> 3;
        int sh = (int)(bit & 7), left = width;
        p[o++] |= (uint8_t)(x << sh);
        int done = 8 - sh;
        while (done < left) {
            p[o++] |= (uint8_t)(x >> done);
            done += 8;
        }
    }
    out->len += nbytes;
}

/* DELTA_BINARY_PACKED of n int64 values: blocks of 128 in 4 miniblocks of 32.
   The caller has checked that no delta (nor delta - min delta) overflows. */
static void encode_dbp(lk_buf *out, const int64_t *v, size_t n)
{
    put_varint(out, 128);
    put_varint(out, 4);
    put_varint(out, n);
    put_varint(out, zigzag64(n ? v[0] : 0));
    uint64_t d[128];
    for (size_t i = 1; i < n; i += 128) {
        size_t m = n - i < 128 ? n - i : 128;
        int64_t mind = INT64_MAX;
        for (size_t j = 0; j < m; j++) {
            int64_t delta = v[i + j] - v[i + j - 1];
            if (delta < mind)
                mind = delta;
        }
        for (size_t j = 0; j < 128; j++)
            d[j] = j < m ? (uint64_t)(v[i + j] - v[i + j - 1]) - (uint64_t)mind : 0;
        put_varint(out, zigzag64(mind));
        uint8_t widths[4];
        for (int mb = 0; mb < 4; mb++) {
            uint64_t or = 0;
            for (size_t j = (size_t)mb * 32; j < (size_t)mb * 32 + 32 && j < m; j++)
                or |= d[j];
            widths[mb] = (uint8_t)width64(or);
        }
        lk_buf_append(out, widths, 4);
        for (int mb = 0; mb < 4 && (size_t)mb * 32 < m; mb++)
            pack_bits(out, d + mb * 32, 32, widths[mb]);
    }
}

/* Whether every delta of the chunk's integer values, and every delta minus
   the smallest, fits the physical type (readers add in its width). */
static int dbp_safe(const lk_pq_leaf *L, const leaf_w *l)
{
    size_t n = L->phys == PQ_INT32 ? l->vals.len / 4 : l->vals.len / 8;
    if (n < 2)
        return 1;
    int64_t lo = INT64_MAX, hi = INT64_MIN, prev = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t x;
        if (L->phys == PQ_INT32) {
            int32_t y;
            memcpy(&y, l->vals.data + i * 4, 4);
            x = y;
        } else {
            memcpy(&x, l->vals.data + i * 8, 8);
        }
        if (i) {
            int64_t delta;
            if (__builtin_sub_overflow(x, prev, &delta))
                return 0;
            lo = delta < lo ? delta : lo;
            hi = delta > hi ? delta : hi;
        }
        prev = x;
    }
    int64_t span;
    if (__builtin_sub_overflow(hi, lo, &span))
        return 0;
    return L->phys == PQ_INT64 || (lo >= INT32_MIN && hi <= INT32_MAX && span <= INT32_MAX);
}

/* DELTA_BINARY_PACKED of the integers [v0, v1) of l. */
static void encode_dbp_ints(lk_pq_writer *w, const lk_pq_leaf *L, const leaf_w *l, size_t v0,
                            size_t v1, lk_buf *out)
{
    size_t n = v1 - v0;
    lk_buf_reset(&w->tmp);
    lk_buf_grow(&w->tmp, n * 8 + 8);
    int64_t *v = (int64_t *)w->tmp.data;
    for (size_t i = 0; i < n; i++) {
        if (L->phys == PQ_INT32) {
            int32_t y;
            memcpy(&y, l->vals.data + (v0 + i) * 4, 4);
            v[i] = y;
        } else {
            memcpy(&v[i], l->vals.data + (v0 + i) * 8, 8);
        }
    }
    encode_dbp(out, v, n);
}

/* The PLAIN byte array at p + b (a 4-byte length, then the bytes): its
   bytes in *s and length in *len, and how many leading bytes it shares
   with prev (prevlen bytes). Returns the offset of the next value. */
static inline size_t next_shared(const char *p, size_t b, const char *prev, size_t prevlen,
                                 const char **s, uint32_t *len, size_t *shared)
{
    memcpy(len, p + b, 4);
    *s = p + b + 4;
    *shared = lk_bytes_common_prefix(*s, prev, *len < prevlen ? *len : prevlen);
    return b + 4 + (size_t)*len;
}

/* DELTA_BYTE_ARRAY of the PLAIN byte arrays in [b0, b1) (n values): prefix
   lengths shared with the previous value, then the suffixes as
   DELTA_LENGTH_BYTE_ARRAY (their lengths, then their bytes). */
static void encode_delta_strings(lk_pq_writer *w, const char *p, size_t b0, size_t b1, size_t n,
                                 lk_buf *out)
{
    lk_buf_reset(&w->tmp);
    lk_buf_grow(&w->tmp, n * 16 + 16);
    int64_t *pre = (int64_t *)w->tmp.data, *suf = pre + n;
    const char *prev = NULL;
    size_t prevlen = 0, i = 0;
    for (size_t b = b0; b < b1; i++) {
        const char *s;
        uint32_t len;
        size_t k;
        b = next_shared(p, b, prev, prevlen, &s, &len, &k);
        pre[i] = (int64_t)k;
        suf[i] = (int64_t)(len - k);
        prev = s;
        prevlen = len;
    }
    encode_dbp(out, pre, n);
    encode_dbp(out, suf, n);
    prev = NULL;
    i = 0;
    for (size_t b = b0; b < b1; i++) {
        uint32_t len;
        memcpy(&len, p + b, 4);
        lk_buf_append(out, p + b + 4 + pre[i], (size_t)suf[i]);
        b += 4 + (size_t)len;
    }
}

/* Average bytes a string shares with its predecessor, in 1/16 bytes (a
   sample of the chunk's first 4,096 values). */
static size_t shared_prefix16(const leaf_w *l)
{
    const char *p = l->vals.data, *prev = NULL;
    size_t prevlen = 0, n = 0, shared = 0;
    for (size_t b = 0; b < l->vals.len && n < 4096; n++) {
        const char *s;
        uint32_t len;
        size_t k;
        b = next_shared(p, b, prev, prevlen, &s, &len, &k);
        shared += k;
        prev = s;
        prevlen = len;
    }
    return n ? shared * 16 / n : 0;
}

/* BYTE_STREAM_SPLIT of n fixed-size values of k bytes. */
static void encode_bss(const char *v, size_t n, size_t k, lk_buf *out)
{
    lk_buf_grow(out, n * k);
    char *o = out->data + out->len;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < k; j++)
            o[j * n + i] = v[i * k + j];
    out->len += n * k;
}

/* The encoding of a column chunk that is not dictionary-encoded. */
static int choose_encoding(const lk_pq_writer *w, const lk_pq_leaf *L, const leaf_w *l)
{
    if (!w->opt.encodings || l->vals.len == 0)
        return ENC_PLAIN;
    switch (L->phys) {
    case PQ_INT32:
    case PQ_INT64:
        return (w->opt.encodings & LK_PQ_ENC_DELTA_INT) && dbp_safe(L, l) ? ENC_DBP : ENC_PLAIN;
    case PQ_BYTE_ARRAY:
        return (w->opt.encodings & LK_PQ_ENC_DELTA_STRINGS) && shared_prefix16(l) >= 4 * 16
                   ? ENC_DELTA_BYTE_ARRAY
                   : ENC_PLAIN;
    case PQ_FLOAT:
    case PQ_DOUBLE:
        return (w->opt.encodings & LK_PQ_ENC_BSS) ? ENC_BSS : ENC_PLAIN;
    default:
        return ENC_PLAIN;
    }
}

/* Ends the page pc at entry e (value v, value byte b) and starts the next one there. */
static void cut_at(lk_buf *cuts, page_cut *pc, size_t e, size_t v, size_t b)
{
    pc->e1 = e;
    pc->v1 = v;
    pc->b1 = b;
    lk_buf_append(cuts, pc, sizeof *pc);
    pc->e0 = e;
    pc->v0 = v;
    pc->b0 = b;
}

/* Cuts the chunk of leaf l into data pages of about page_bytes (encoded
   values plus levels), each starting on a record boundary (repetition level
   0) as data page V2 requires and readers of V1 expect. Fills w->cuts;
   returns the page count (at least 1). */
static int cut_pages(lk_pq_writer *w, const lk_pq_leaf *L, const leaf_w *l, int dict,
                     uint32_t ndict)
{
    size_t fixed = L->phys == PQ_BYTE_ARRAY ? 0
                   : L->phys == PQ_BOOLEAN  ? 1
                   : L->phys == PQ_FLBA     ? (size_t)L->type_length
                   : (L->phys == PQ_INT32 || L->phys == PQ_FLOAT) ? 4 : 8;
    /* encoded bits per value */
    uint64_t vbits = dict ? (uint64_t)bit_width((int)(ndict > 1 ? ndict - 1 : 1))
                     : L->phys == PQ_BOOLEAN ? 1 : (uint64_t)fixed * 8;
    uint64_t limit = (uint64_t)w->opt.page_bytes * 8;
    const uint8_t *def = (const uint8_t *)l->def.data, *rep = (const uint8_t *)l->rep.data;
    const char *vals = l->vals.data;
    size_t ne = (size_t)l->nentries;
    lk_buf_reset(&w->cuts);
    page_cut pc = {0, 0, 0, 0, 0, 0};
    uint64_t bits = 0;
    size_t b = 0, v = 0;
    if (!L->max_rep && (dict || fixed)) {
        /* every value costs vbits (a dictionary page's bytes are not cut): blocks of entries
           that cannot reach a cut go at once, by their count of values; b is only read by
           fixed-width values, v * fixed */
        for (size_t e = 0; e < ne;) {
            size_t blk = ne - e < 256 ? ne - e : 256, cnt = blk;
            if (L->max_def) {
                cnt = 0;
                for (size_t i = 0; i < blk; i++)
                    cnt += def[e + i] == L->max_def;
            }
            uint64_t add = 2 * (uint64_t)blk + (uint64_t)cnt * vbits;
            if (bits + add < limit) { /* no entry of the block starts a page */
                bits += add;
                v += cnt;
                e += blk;
                continue;
            }
            for (size_t end = e + blk; e < end; e++) {
                if (bits >= limit && e > pc.e0) {
                    cut_at(&w->cuts, &pc, e, v, v * fixed);
                    bits = 0;
                }
                bits += 2;
                if (L->max_def && def[e] != L->max_def)
                    continue;
                bits += vbits;
                v++;
            }
        }
        b = v * fixed;
        goto last;
    }
    for (size_t e = 0; e < ne; e++) {
        if (bits >= limit && e > pc.e0 && (!L->max_rep || rep[e] == 0)) {
            cut_at(&w->cuts, &pc, e, v, b);
            bits = 0;
        }
        bits += 2; /* levels: a rough per-entry share (RLE runs or bit-packed) */
        if (L->max_def && def[e] != L->max_def)
            continue;
        size_t vb = fixed;
        if (!fixed) {
            uint32_t len;
            memcpy(&len, vals + b, 4);
            vb = 4 + (size_t)len;
        }
        bits += dict ? vbits : fixed ? vbits : (uint64_t)vb * 8;
        b += vb;
        v++;
    }
last:
    pc.e1 = ne;
    pc.v1 = v;
    pc.b1 = b;
    lk_buf_append(&w->cuts, &pc, sizeof pc);
    return (int)(w->cuts.len / sizeof pc);
}

/* src's leaf whose last chunk has exactly the levels and values of leaf
   li's buffered chunk, or NULL. */
static const leaf_w *reuse_source(const lk_pq_writer *w, int li)
{
    if (!w->src || w->src_leaf[li] < 0)
        return NULL;
    const leaf_w *l = &w->lw[li], *s = &w->src->lw[w->src_leaf[li]];
    if (!s->pvalid || s->pentries != l->nentries || s->pvals.len != l->vals.len ||
        s->pdef.len != l->def.len || s->prep.len != l->rep.len)
        return NULL;
    if ((l->vals.len && memcmp(s->pvals.data, l->vals.data, l->vals.len)) ||
        (l->def.len && memcmp(s->pdef.data, l->def.data, l->def.len)) ||
        (l->rep.len && memcmp(s->prep.data, l->rep.data, l->rep.len)))
        return NULL;
    return s;
}

void lk_pq_writer_reuse_from(lk_pq_writer *w, lk_pq_writer *src)
{
    w->src = NULL;
    if (!src || src == w)
        return;
    const lk_pq_options *a = &w->opt, *b = &src->opt;
    if (a->codec != b->codec || a->zstd_level != b->zstd_level ||
        a->zstd_adaptive != b->zstd_adaptive || a->page_bytes != b->page_bytes ||
        a->dictionary != b->dictionary || a->dictionary_bytes != b->dictionary_bytes ||
        a->stats_max_bytes != b->stats_max_bytes || a->encodings != b->encodings)
        return;
    src->keep = 1;
    if (!w->src_leaf) {
        w->src_leaf = malloc(((size_t)w->nleaves + 1) * sizeof *w->src_leaf);
        if (!w->src_leaf)
            abort();
    }
    for (int i = 0; i < w->nleaves; i++) {
        const lk_pq_leaf *L = &w->leaves[i];
        w->src_leaf[i] = -1;
        for (int k = 0; k < src->nleaves; k++) {
            const lk_pq_leaf *S = &src->leaves[k];
            if (!strcmp(L->dotted, S->dotted) && L->phys == S->phys &&
                L->type_length == S->type_length && L->max_def == S->max_def &&
                L->max_rep == S->max_rep && L->field->type == S->field->type &&
                L->field->precision == S->field->precision && L->field->scale == S->field->scale) {
                w->src_leaf[i] = k;
                break;
            }
        }
    }
    w->src = src;
}

/* b empty: it takes kept's buffer (emptied) and kept's own is freed; else kept is freed. */
static void take_back(lk_buf *b, lk_buf *kept)
{
    if (!b->len && kept->cap > b->cap) {
        lk_buf t = *b;
        *b = *kept;
        *kept = t;
        lk_buf_reset(b);
    }
    lk_buf_free(kept);
}

/* The kept chunk's buffers become the next row group's when those are still empty (they are
   right after a cut): a row group's worth of fresh pages per cut is what the source writer
   paid before, ~45 k page faults per million rows (docs/benchmarks.md). The memory held is
   the same: the next row group fills them to the same size. */
static void release_kept(lk_pq_writer *w, int reuse)
{
    for (int i = 0; i < w->nleaves; i++) {
        leaf_w *l = &w->lw[i];
        if (reuse && l->pvalid) {
            take_back(&l->def, &l->pdef);
            take_back(&l->rep, &l->prep);
            take_back(&l->vals, &l->pvals);
            take_back(&l->enc, &l->penc);
        } else {
            lk_buf_free(&l->pdef);
            lk_buf_free(&l->prep);
            lk_buf_free(&l->pvals);
            lk_buf_free(&l->penc);
        }
        /* the indices' buffer is kept: the next chunk's are swapped in (its pages were a third
           of the writer's page faults when freed here) */
        if (!reuse)
            lk_buf_free(&l->pidx);
        l->pvalid = 0;
    }
}

void lk_pq_writer_release_kept(lk_pq_writer *w)
{
    release_kept(w, 1);
}

/* The row group's values and levels and the encoding scratch (not the kept chunk, the
   footer's row groups nor the statistics). */
static void free_buffers(lk_pq_writer *w)
{
    for (int i = 0; i < w->nleaves; i++) {
        leaf_w *l = &w->lw[i];
        lk_buf_free(&l->def);
        lk_buf_free(&l->rep);
        lk_buf_free(&l->vals);
        lk_buf_free(&l->enc);
    }
    lk_buf_free(&w->page);
    lk_buf_free(&w->comp);
    lk_buf_free(&w->comp2);
    lk_buf_free(&w->out);
    lk_buf_free(&w->rgtmp);
    lk_buf_free(&w->dict);
    lk_buf_free(&w->idx);
    lk_buf_free(&w->used);
    lk_buf_free(&w->cuts);
    lk_buf_free(&w->tmp);
    free(w->slots);
    w->slots = NULL;
    w->nslots = 0;
    free(w->dpos);
    w->dpos = NULL;
    w->dpos_cap = 0;
}

int lk_pq_writer_trim(lk_pq_writer *w, lk_error *err)
{
    if (w->rg_rows)
        return 0;
    if (w->fd >= 0 && w->out.len) {
        int rc = write_all(w, w->out.data, w->out.len, err);
        lk_buf_reset(&w->out);
        if (rc < 0)
            return rc;
    }
    free_buffers(w);
    for (int i = 0; i < w->nleaves; i++)
        if (!w->lw[i].pvalid) /* kept for the next chunk's indices (release_kept) */
            lk_buf_free(&w->lw[i].pidx);
    return 0;
}

int64_t lk_pq_writer_reused_chunks(const lk_pq_writer *w)
{
    return w->reused;
}

int64_t lk_pq_writer_reused_dictionaries(const lk_pq_writer *w)
{
    return w->dict_reused;
}

/* A string value v of n bytes into the bounds being found (string_bounds, one value). */
static inline void bound_one(const char **mn, size_t *mnn, const char **mx, size_t *mxn,
                             const char *v, size_t n)
{
    if (!*mn || cmp_short(v, n, *mn, *mnn) < 0)
        *mn = v, *mnn = n;
    if (!*mx || cmp_short(v, n, *mx, *mxn) > 0)
        *mx = v, *mxn = n;
}

/* A chunk that holds some of the source's last chunk's rows in their order (processed_events
   after a filter: raw_events' rows less those it dropped) uses the source's dictionary: its
   page is copied as it was compressed, and each value's index is the one the source gave the
   same value, found by walking both chunks in step (no hashing). 1 with w->idx filled,
   *ndict the source's entries and the chunk's string bounds set from the entries it uses; 0
   when the chunk is not such a subsequence (a value changed, a row added), found within the
   rows the source has more than it, and the chunk is encoded as any other. Flat leaves only.
   docs/decisions.md, "A filtered chunk takes its source's dictionary". */
static int subset_dictionary(lk_pq_writer *w, int li, uint32_t *ndict)
{
    const lk_pq_leaf *L = &w->leaves[li];
    leaf_w *l = &w->lw[li];
    if (!w->src || w->src_leaf[li] < 0 || L->max_rep || L->phys == PQ_BOOLEAN)
        return 0;
    const leaf_w *s = &w->src->lw[w->src_leaf[li]];
    if (!s->pvalid || !s->pdict || !s->pndict || s->pentries < l->nentries)
        return 0;
    size_t fixed = L->phys == PQ_BYTE_ARRAY ? 0
                   : L->phys == PQ_FLBA     ? (size_t)L->type_length
                   : (L->phys == PQ_INT32 || L->phys == PQ_FLOAT) ? 4 : 8;
    int strings = stat_kind(L->field) == 2;
    const uint8_t *dd = (const uint8_t *)l->def.data, *sd = (const uint8_t *)s->pdef.data;
    const char *v = l->vals.data, *sv = s->pvals.data, *send = s->pvals.data + s->pvals.len;
    const uint32_t *sidx = (const uint32_t *)s->pidx.data;
    size_t snvals = s->pidx.len / 4, jv = 0;
    int64_t je = 0, skips = s->pentries - l->nentries;
    lk_buf_reset(&w->idx);
    if (strings) {
        lk_buf_reset(&w->used);
        lk_buf_grow(&w->used, s->pndict);
        memset(w->used.data, 0, s->pndict);
    }
    const char *mn = NULL, *mx = NULL;
    size_t mnn = 0, mxn = 0;
    for (int64_t e = 0; e < l->nentries; e++) {
        int d = L->max_def ? dd[e] : 0;
        size_t klen = fixed;
        if (d == L->max_def && !fixed) {
            uint32_t len;
            memcpy(&len, v, 4);
            klen = 4 + (size_t)len;
        }
        size_t slen;
        for (;; je++) {
            if (je >= s->pentries)
                return 0;
            int sdl = L->max_def ? sd[je] : 0;
            slen = 0;
            if (sdl == L->max_def) {
                if (jv >= snvals || sv >= send)
                    return 0;
                slen = fixed;
                if (!fixed) {
                    uint32_t len;
                    memcpy(&len, sv, 4);
                    slen = 4 + (size_t)len;
                }
            }
            if (sdl == d && (d < L->max_def || (slen == klen && lk_bytes_eq(sv, v, klen))))
                break;
            if (--skips < 0)
                return 0;
            if (sdl == L->max_def)
                sv += slen, jv++;
        }
        je++;
        if (d == L->max_def) {
            uint32_t id = sidx[jv];
            if (id >= s->pndict)
                return 0;
            lk_buf_append_fast(&w->idx, &id, 4);
            if (strings && !w->used.data[id]) {
                w->used.data[id] = 1;
                bound_one(&mn, &mnn, &mx, &mxn, v + 4, klen - 4);
            }
            v += klen;
            sv += slen, jv++;
        }
    }
    if (strings) {
        l->cmin.set = l->cmax.set = 0;
        if (mn) {
            stat_set_bytes(&l->cmin, mn, mnn);
            stat_set_bytes(&l->cmax, mx, mxn);
        }
    }
    *ndict = s->pndict;
    return 1;
}

static int flush_row_group(lk_pq_writer *w, lk_error *err)
{
    if (w->rg_rows == 0)
        return 0;
    lk_buf_reset(&w->rgtmp);
    lk_tc_w rt;
    lk_tc_w_init(&rt, &w->rgtmp);
    lk_tc_list_begin(&rt, 1, LK_TC_STRUCT, (uint32_t)w->nleaves);
    int64_t rg_start = w->offset + (int64_t)w->out.len;
    int64_t total_unc = 0, total_comp = 0;
    for (int li = 0; li < w->nleaves; li++) {
        const lk_pq_leaf *L = &w->leaves[li];
        leaf_w *l = &w->lw[li];
        uint32_t ndict = 0;
        int64_t unc = 0, comp = 0, dict_off = -1, page_off;
        int rc, dict, venc = ENC_PLAIN;
        int strings = stat_kind(L->field) == 2;
        const leaf_w *same = reuse_source(w, li);
        if (same) {
            /* the same levels and values as src's last chunk of this
               column: its pages, byte for byte */
            int64_t at = w->offset + (int64_t)w->out.len;
            dict = same->pdict;
            venc = same->penc_kind;
            dict_off = dict ? at : -1;
            page_off = at + same->ppage_rel;
            unc = same->punc;
            comp = same->pcomp;
            if (strings) { /* the same values: the same bounds */
                l->cmin.set = l->cmax.set = 0;
                if (same->pmin.set) {
                    stat_copy(&l->cmin, &same->pmin);
                    stat_copy(&l->cmax, &same->pmax);
                }
            }
            lk_buf_append(&w->out, same->penc.data, same->penc.len);
            w->reused++;
            goto chunk_meta;
        }
        lk_buf_reset(&l->enc);
        if (w->opt.dictionary && subset_dictionary(w, li, &ndict)) {
            /* the source's dictionary page, byte for byte (bounds: subset_dictionary) */
            const leaf_w *s = &w->src->lw[w->src_leaf[li]];
            dict = 1;
            dict_off = w->offset + (int64_t)w->out.len;
            lk_buf_append(&w->out, s->penc.data, (size_t)s->ppage_rel);
            unc += s->pdunc;
            comp += s->pdcomp;
            w->dict_reused++;
        } else {
            dict = w->opt.dictionary && L->phys != PQ_BOOLEAN && build_dictionary(w, L, l, &ndict);
            if (strings) /* before the pages: a single page carries them */
                string_bounds(l, dict ? w->dict.data : l->vals.data,
                              dict ? w->dict.data + w->dict.len : l->vals.data + l->vals.len);
            if (dict) {
                dict_off = w->offset + (int64_t)w->out.len;
                rc = put_page(w, L, l, &w->dict, 2, (int32_t)ndict, 0, 0, &unc, &comp, err);
                if (rc < 0)
                    return rc;
            }
        }
        int64_t dunc = unc, dcomp = comp; /* the dictionary page's (0 without one) */
        venc = dict ? ENC_PLAIN : choose_encoding(w, L, l);
        int npages = cut_pages(w, L, l, dict, ndict);
        const page_cut *cuts = (const page_cut *)w->cuts.data;
        page_off = w->offset + (int64_t)w->out.len;
        for (int pg = 0; pg < npages; pg++) {
            const page_cut *pc = &cuts[pg];
            lk_buf_reset(&w->page);
            if (L->max_rep)
                encode_levels(&w->page, (const uint8_t *)l->rep.data + pc->e0, pc->e1 - pc->e0,
                              L->max_rep);
            if (L->max_def)
                encode_levels(&w->page, (const uint8_t *)l->def.data + pc->e0, pc->e1 - pc->e0,
                              L->max_def);
            if (dict)
                encode_indices(&w->page, (const uint32_t *)w->idx.data + pc->v0, pc->v1 - pc->v0,
                               ndict);
            else if (L->phys == PQ_BOOLEAN) {
                /* PLAIN booleans are bit-packed, LSB first */
                const uint8_t *v = (const uint8_t *)l->vals.data + pc->v0;
                size_t nv = pc->v1 - pc->v0;
                for (size_t i = 0; i < nv; i += 8) {
                    uint8_t byte = 0;
                    for (size_t j = 0; j < 8 && i + j < nv; j++)
                        byte |= (uint8_t)((v[i + j] & 1) << j);
                    lk_buf_append_fast(&w->page, &byte, 1);
                }
            } else if (venc == ENC_DBP)
                encode_dbp_ints(w, L, l, pc->v0, pc->v1, &w->page);
            else if (venc == ENC_DELTA_BYTE_ARRAY)
                encode_delta_strings(w, l->vals.data, pc->b0, pc->b1, pc->v1 - pc->v0, &w->page);
            else if (venc == ENC_BSS)
                encode_bss(l->vals.data + pc->b0, pc->v1 - pc->v0, L->phys == PQ_FLOAT ? 4 : 8,
                           &w->page);
            else if (pc->b1 > pc->b0)
                lk_buf_append(&w->page, l->vals.data + pc->b0, pc->b1 - pc->b0);
            if (w->page.len > INT32_MAX || pc->e1 - pc->e0 > INT32_MAX)
                return lk_error_set(err, LK_ELIMIT, "%s: column %s: page over 2 GiB", w->path,
                                    L->dotted);
            /* page statistics only when the page is the whole chunk: the
               accumulators hold the chunk's bounds, not a page's */
            rc = put_page(w, L, l, &w->page, 0, (int32_t)(pc->e1 - pc->e0), dict ? 8 : venc,
                          npages == 1, &unc, &comp, err);
            if (rc < 0)
                return rc;
            if (w->out.len >= (4u << 20)) {
                rc = write_all(w, w->out.data, w->out.len, err);
                lk_buf_reset(&w->out);
                if (rc < 0)
                    return rc;
            }
        }
        if (w->keep) {
            lk_buf t;
            t = l->pdef, l->pdef = l->def, l->def = t;
            t = l->prep, l->prep = l->rep, l->rep = t;
            t = l->pvals, l->pvals = l->vals, l->vals = t;
            t = l->penc, l->penc = l->enc, l->enc = t;
            l->pentries = l->nentries;
            l->pdict = dict;
            l->penc_kind = venc;
            l->ppage_rel = page_off - (dict ? dict_off : page_off);
            l->punc = unc;
            l->pcomp = comp;
            l->pvalid = 1;
            l->pndict = dict ? ndict : 0;
            l->pdunc = dunc;
            l->pdcomp = dcomp;
            lk_buf_reset(&l->pidx);
            if (dict) { /* the indices, for a chunk of some of these rows */
                t = l->pidx, l->pidx = w->idx, w->idx = t;
            }
            l->pmin.set = l->pmax.set = 0;
            if (l->cmin.set) {
                stat_copy(&l->pmin, &l->cmin);
                stat_copy(&l->pmax, &l->cmax);
            }
        }
    chunk_meta:
        w->seen_unc += unc;
        w->seen_comp += comp;
        total_unc += unc;
        total_comp += comp;
        /* ColumnChunk */
        lk_tc_elem_struct_begin(&rt);
        lk_tc_i64(&rt, 2, dict ? dict_off : page_off);
        lk_tc_struct_begin(&rt, 3);
        lk_tc_i32(&rt, 1, L->phys);
        lk_tc_list_begin(&rt, 2, LK_TC_I32, dict || venc ? 3 : 2);
        lk_tc_raw_zigzag(&rt, 0);
        lk_tc_raw_zigzag(&rt, 3);
        if (dict)
            lk_tc_raw_zigzag(&rt, 8);
        else if (venc)
            lk_tc_raw_zigzag(&rt, venc);
        lk_tc_list_begin(&rt, 3, LK_TC_BINARY, (uint32_t)L->n_path);
        for (int p = 0; p < L->n_path; p++)
            lk_tc_raw_binary(&rt, L->path[p], strlen(L->path[p]));
        lk_tc_i32(&rt, 4, (int32_t)w->opt.codec);
        lk_tc_i64(&rt, 5, l->nentries);
        lk_tc_i64(&rt, 6, unc);
        lk_tc_i64(&rt, 7, comp);
        lk_tc_i64(&rt, 9, page_off);
        if (dict)
            lk_tc_i64(&rt, 11, dict_off);
        write_stats(&rt, 12, w, L, l);
        lk_tc_struct_end(&rt);
        lk_tc_struct_end(&rt);
        merge_file_stats(L, l);
        leaf_reset_chunk(l);
        if (w->out.len >= (4u << 20)) {
            rc = write_all(w, w->out.data, w->out.len, err);
            lk_buf_reset(&w->out);
            if (rc < 0)
                return rc;
        }
    }
    lk_tc_i64(&rt, 2, total_unc);
    lk_tc_i64(&rt, 3, w->rg_rows);
    lk_tc_i64(&rt, 5, rg_start);
    lk_tc_i64(&rt, 6, total_comp);
    lk_tc_end(&rt);
    lk_buf_append(&w->rgbuf, w->rgtmp.data, w->rgtmp.len);
    w->n_rg++;
    w->rg_rows = 0;
    int rc = write_all(w, w->out.data, w->out.len, err);
    lk_buf_reset(&w->out);
    return rc;
}

static void fill_value(const lk_pq_leaf *L, const stat_acc *s, lk_value *v)
{
    memset(v, 0, sizeof *v);
    if (!s->set)
        return;
    v->is_set = 1;
    v->i = s->i;
    v->d = s->d;
    if (L->phys == PQ_BYTE_ARRAY || L->phys == PQ_FLBA) {
        v->p = s->b.data ? s->b.data : "";
        v->n = s->b.len;
    }
}

int lk_pq_writer_close(lk_pq_writer *w, lk_pq_file_info *info, lk_error *err)
{
    if (w->fd < 0)
        return lk_error_set(err, LK_ESTATE, "parquet writer: close without open");
    int rc = flush_row_group(w, err);
    if (rc < 0)
        goto fail;
    /* out may still hold the leading magic when no row group was written */
    size_t fstart = w->out.len;
    lk_tc_w t;
    lk_tc_w_init(&t, &w->out);
    lk_tc_i32(&t, 1, 1);
    lk_pq_schema_write(&t, w->schema);
    lk_tc_i64(&t, 3, w->num_rows);
    lk_tc_list_begin(&t, 4, LK_TC_STRUCT, (uint32_t)w->n_rg);
    lk_buf_append(&w->out, w->rgbuf.data ? w->rgbuf.data : "", w->rgbuf.len);
    lk_tc_binary(&t, 6, w->created_by, strlen(w->created_by));
    /* column_orders: TypeDefinedOrder for every leaf, which says the
       statistics follow the logical type's order (unsigned bytes for
       strings, signed for decimals) rather than the legacy signed one */
    lk_tc_list_begin(&t, 7, LK_TC_STRUCT, (uint32_t)w->nleaves);
    for (int i = 0; i < w->nleaves; i++) {
        lk_tc_elem_struct_begin(&t);
        lk_tc_struct_begin(&t, 1);
        lk_tc_struct_end(&t);
        lk_tc_struct_end(&t);
    }
    lk_tc_end(&t);
    uint32_t flen = (uint32_t)(w->out.len - fstart);
    lk_buf_append(&w->out, &flen, 4);
    lk_buf_append(&w->out, "PAR1", 4);
    rc = write_all(w, w->out.data, w->out.len, err);
    lk_buf_reset(&w->out);
    if (rc < 0)
        goto fail;
    if (w->opt.fsync && fsync(w->fd) < 0) {
        rc = lk_error_errno(err, -errno, "fsync %s", w->path);
        goto fail;
    }
    if (close(w->fd) < 0) {
        w->fd = -1;
        rc = lk_error_errno(err, -errno, "close %s", w->path);
        unlink(w->path);
        return rc;
    }
    w->fd = -1;
    for (int i = 0; i < w->nleaves; i++) {
        lk_pq_leaf_stats *s = &w->stats[i];
        const lk_pq_leaf *L = &w->leaves[i];
        s->path = L->dotted;
        s->field = L->field;
        s->in_list = L->in_list;
        s->null_count = w->lw[i].fnull;
        fill_value(L, &w->lw[i].fmin, &s->min);
        fill_value(L, &w->lw[i].fmax, &s->max);
    }
    if (info) {
        info->num_rows = w->num_rows;
        info->file_size = w->offset;
        info->n_leaves = w->nleaves;
        info->leaves = w->stats;
    }
    return 0;
fail:
    lk_pq_writer_abort(w);
    return rc;
}

void lk_pq_writer_abort(lk_pq_writer *w)
{
    if (w->fd < 0)
        return;
    close(w->fd);
    w->fd = -1;
    unlink(w->path);
    lk_buf_reset(&w->out);
    for (int i = 0; i < w->nleaves; i++)
        leaf_reset_chunk(&w->lw[i]);
}
