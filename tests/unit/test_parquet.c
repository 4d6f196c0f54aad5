/* Unit tests for lake/lk_parquet_writer + lk_parquet_reader + lk_thrift:
   round trips of every type (nulls, nested structs, arrays, maps) under every
   codec, multiple row groups, writer reuse, statistics, corrupt files. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_batch.h"
#include "lk_parquet_reader.h"
#include "lk_parquet_writer.h"
#include "lk_schema.h"
#include "lk_thrift.h"

static char tmpdir[256];

static void setup(void)
{
    lk_check_mkdtemp(tmpdir, sizeof tmpdir, "parquet");
}

static void teardown(void)
{
    lk_check_rm_rf(tmpdir);
}

static lk_schema *all_types_schema(void)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "b", LK_TYPE_BOOLEAN, 1);
    lk_schema_add(s, "i8", LK_TYPE_BYTE, 1);
    lk_schema_add(s, "i16", LK_TYPE_SHORT, 1);
    lk_schema_add(s, "i32", LK_TYPE_INTEGER, 1);
    lk_schema_add(s, "i64", LK_TYPE_LONG, 0);
    lk_schema_add(s, "f", LK_TYPE_FLOAT, 1);
    lk_schema_add(s, "d", LK_TYPE_DOUBLE, 1);
    lk_schema_add(s, "s", LK_TYPE_STRING, 1);
    lk_schema_add(s, "bin", LK_TYPE_BINARY, 1);
    lk_schema_add(s, "dt", LK_TYPE_DATE, 1);
    lk_schema_add(s, "ts", LK_TYPE_TIMESTAMP, 1);
    lk_schema_add(s, "tsn", LK_TYPE_TIMESTAMP_NTZ, 1);
    lk_field *dec = lk_schema_add(s, "dec", LK_TYPE_DECIMAL, 1);
    dec->precision = 10;
    dec->scale = 2;
    lk_field *dec2 = lk_schema_add(s, "dec38", LK_TYPE_DECIMAL, 1);
    dec2->precision = 38;
    dec2->scale = 4;
    lk_field *dev = lk_schema_add(s, "device", LK_TYPE_STRUCT, 1);
    lk_field_add_child(dev, "os", LK_TYPE_STRING, 1);
    lk_field *geo = lk_field_add_child(dev, "geo", LK_TYPE_STRUCT, 1);
    lk_field_add_child(geo, "lat", LK_TYPE_DOUBLE, 1);
    lk_field_add_child(geo, "lon", LK_TYPE_DOUBLE, 0);
    lk_field *tags = lk_schema_add(s, "tags", LK_TYPE_ARRAY, 1);
    lk_field_add_child(tags, "element", LK_TYPE_STRING, 1);
    lk_field *m = lk_schema_add(s, "attrs", LK_TYPE_MAP, 1);
    lk_field_add_child(m, "key", LK_TYPE_STRING, 0);
    lk_field_add_child(m, "value", LK_TYPE_LONG, 1);
    lk_field *aos = lk_schema_add(s, "items", LK_TYPE_ARRAY, 1);
    lk_field *el = lk_field_add_child(aos, "element", LK_TYPE_STRUCT, 1);
    lk_field_add_child(el, "sku", LK_TYPE_STRING, 1);
    lk_field *q = lk_field_add_child(el, "qty", LK_TYPE_ARRAY, 1);
    lk_field_add_child(q, "element", LK_TYPE_INTEGER, 0);
    return s;
}

/* Row i of the all-types table; nulls on a pattern per column. */
static void fill_row(lk_batch *b, uint32_t i)
{
    char tmp[64];
    int c = 0;
#define COL() lk_batch_col(b, c++)
#define NUL(k) ((i % (k)) == 0)
    lk_col *x = COL();
    if (NUL(7)) lk_col_append_null(x); else lk_col_append_bool(x, i & 1);
    x = COL();
    if (NUL(5)) lk_col_append_null(x); else { int8_t v = (int8_t)(i * 37); lk_col_append_fixed(x, &v); }
    x = COL();
    if (NUL(6)) lk_col_append_null(x); else { int16_t v = (int16_t)(i * 1001); lk_col_append_fixed(x, &v); }
    x = COL();
    if (NUL(4)) lk_col_append_null(x); else lk_col_append_i32(x, (int32_t)(i * 2654435761u));
    x = COL();
    lk_col_append_i64(x, (int64_t)i * -1000003 + 17);
    x = COL();
    if (NUL(3)) lk_col_append_null(x); else lk_col_append_f32(x, (float)i * 0.5f - 3);
    x = COL();
    if (NUL(9)) lk_col_append_null(x); else lk_col_append_f64(x, (double)i * 1.25 - 100);
    x = COL();
    if (NUL(10)) lk_col_append_null(x);
    else { int n = snprintf(tmp, sizeof tmp, "str-%u-%s", i, (i & 1) ? "é" : ""); lk_col_append_bytes(x, tmp, (size_t)n); }
    x = COL();
    if (NUL(11)) lk_col_append_null(x); else { uint8_t bb[3] = {(uint8_t)i, 0, 0xff}; lk_col_append_bytes(x, bb, i % 4); }
    x = COL();
    if (NUL(12)) lk_col_append_null(x); else lk_col_append_i32(x, 19000 + (int32_t)i);
    x = COL();
    if (NUL(13)) lk_col_append_null(x); else lk_col_append_i64(x, 1700000000000000LL + (int64_t)i * 1000);
    x = COL();
    if (NUL(14)) lk_col_append_null(x); else lk_col_append_i64(x, -5 + (int64_t)i);
    x = COL();
    if (NUL(15)) lk_col_append_null(x); else lk_col_append_i64(x, (int64_t)i * 12345 - 99999);
    x = COL();
    if (NUL(16)) lk_col_append_null(x);
    else { uint8_t d[16]; memset(d, (i & 1) ? 0xff : 0, 16); d[15] = (uint8_t)i; d[14] = (uint8_t)(i >> 8); lk_col_append_fixed(x, d); }
    /* device struct */
    x = COL();
    if (NUL(8)) lk_col_append_null(x);
    else {
        lk_col_append_struct(x);
        lk_col *os = &x->children[0];
        if (i % 3 == 1) lk_col_append_null(os); else lk_col_append_bytes(os, (i & 1) ? "ios" : "android", (i & 1) ? 3 : 7);
        lk_col *geo = &x->children[1];
        if (i % 5 == 2) lk_col_append_null(geo);
        else {
            lk_col_append_struct(geo);
            if (i % 2) lk_col_append_null(&geo->children[0]); else lk_col_append_f64(&geo->children[0], i * 0.1);
            lk_col_append_f64(&geo->children[1], -(double)i);
        }
    }
    /* tags array: null, empty, or i%4 elements with a null element sometimes */
    x = COL();
    if (NUL(17)) lk_col_append_null(x);
    else {
        for (uint32_t k = 0; k < i % 4; k++) {
            if (k == 2) lk_col_append_null(&x->children[0]);
            else { int n = snprintf(tmp, sizeof tmp, "t%u", k + i); lk_col_append_bytes(&x->children[0], tmp, (size_t)n); }
        }
        lk_col_append_list(x);
    }
    /* attrs map */
    x = COL();
    if (NUL(19)) lk_col_append_null(x);
    else {
        for (uint32_t k = 0; k < i % 3; k++) {
            int n = snprintf(tmp, sizeof tmp, "k%u", k);
            lk_col_append_bytes(&x->children[0], tmp, (size_t)n);
            if (k == 1) lk_col_append_null(&x->children[1]); else lk_col_append_i64(&x->children[1], (int64_t)(i * 10 + k));
        }
        lk_col_append_list(x);
    }
    /* items: array<struct<sku, qty array<int>>> */
    x = COL();
    if (NUL(23)) lk_col_append_null(x);
    else {
        lk_col *el = &x->children[0];
        for (uint32_t k = 0; k < i % 3; k++) {
            if ((i + k) % 7 == 0) { lk_col_append_null(el); continue; }
            lk_col_append_struct(el);
            int n = snprintf(tmp, sizeof tmp, "sku%u", i + k);
            lk_col_append_bytes(&el->children[0], tmp, (size_t)n);
            lk_col *q = &el->children[1];
            if (k == 1) lk_col_append_null(q);
            else {
                for (uint32_t j = 0; j < (i + k) % 3; j++)
                    lk_col_append_i32(&q->children[0], (int32_t)(j + k));
                lk_col_append_list(q);
            }
        }
        lk_col_append_list(x);
    }
#undef COL
#undef NUL
    lk_batch_end_row(b);
}

/* Logical equality of slot ia of a and slot ib of b. */
static int slot_eq(const lk_col *a, uint32_t ia, const lk_col *b, uint32_t ib)
{
    int na = lk_col_is_null(a, ia), nb = lk_col_is_null(b, ib);
    if (na != nb) return 0;
    if (na) return 1;
    switch (a->field->type) {
    case LK_TYPE_STRUCT:
        for (int k = 0; k < a->n_children; k++)
            if (!slot_eq(&a->children[k], ia, &b->children[k], ib)) return 0;
        return 1;
    case LK_TYPE_ARRAY:
    case LK_TYPE_MAP: {
        uint32_t la = a->offsets[ia + 1] - a->offsets[ia], lb = b->offsets[ib + 1] - b->offsets[ib];
        if (la != lb) return 0;
        for (uint32_t j = 0; j < la; j++)
            for (int k = 0; k < a->n_children; k++)
                if (!slot_eq(&a->children[k], a->offsets[ia] + j, &b->children[k], b->offsets[ib] + j)) return 0;
        return 1;
    }
    case LK_TYPE_STRING:
    case LK_TYPE_BINARY: {
        size_t n1, n2;
        const char *p1 = lk_col_bytes(a, ia, &n1), *p2 = lk_col_bytes(b, ib, &n2);
        return n1 == n2 && !memcmp(p1, p2, n1);
    }
    default:
        return !memcmp((const char *)a->values + (size_t)ia * a->elem_size,
                       (const char *)b->values + (size_t)ib * b->elem_size, a->elem_size);
    }
}

static void write_file(lk_pq_writer *w, const char *path, lk_batch *b, uint32_t nrows, uint32_t per_batch,
                       uint32_t first, lk_pq_file_info *info)
{
    lk_error err;
    ck_assert_int_eq(lk_pq_writer_open(w, path, &err), 0);
    for (uint32_t r = 0; r < nrows; r += per_batch) {
        lk_batch_reset(b);
        for (uint32_t i = r; i < r + per_batch && i < nrows; i++)
            fill_row(b, first + i);
        int rc = lk_pq_writer_write(w, b, &err);
        ck_assert_msg(rc == 0, "%s", err.msg);
    }
    int rc = lk_pq_writer_close(w, info, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
}

/* Reads path back and compares with rows first..first+nrows. */
static void check_file(const char *path, const lk_schema *s, uint32_t nrows, uint32_t first, int min_rgs)
{
    lk_error err;
    lk_pq_reader *r;
    int rc = lk_pq_reader_open(path, &r, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert(lk_schema_equal(lk_pq_reader_schema(r), s));
    ck_assert_int_eq(lk_pq_reader_num_rows(r), nrows);
    ck_assert_int_ge(lk_pq_reader_num_row_groups(r), min_rgs);
    ck_assert_str_eq(lk_pq_reader_created_by(r), "lakesupd version " LK_VERSION);
    lk_batch *exp = lk_batch_new(s);
    lk_batch *got = NULL;
    uint32_t row = 0;
    for (int g = 0; g < lk_pq_reader_num_row_groups(r); g++) {
        rc = lk_pq_reader_read_row_group(r, g, NULL, 0, &got, &err);
        ck_assert_msg(rc == 0, "%s", err.msg);
        uint32_t n = lk_batch_nrows(got);
        lk_batch_reset(exp);
        for (uint32_t i = 0; i < n; i++)
            fill_row(exp, first + row + i);
        for (int c = 0; c < lk_batch_ncols(exp); c++)
            for (uint32_t i = 0; i < n; i++)
                ck_assert_msg(slot_eq(lk_batch_col(exp, c), i, lk_batch_col(got, c), i),
                              "rg %d col %s row %u differs", g, lk_batch_col(exp, c)->field->name, row + i);
        row += n;
    }
    ck_assert_uint_eq(row, nrows);
    /* projection: columns 15 (tags) and 4 (i64) in that order */
    int proj[2] = {15, 4};
    lk_batch *pb = NULL;
    if (lk_pq_reader_num_row_groups(r) > 0) {
        rc = lk_pq_reader_read_row_group(r, 0, proj, 2, &pb, &err);
        ck_assert_msg(rc == 0, "%s", err.msg);
        ck_assert_int_eq(lk_batch_ncols(pb), 2);
        ck_assert_str_eq(lk_batch_col(pb, 0)->field->name, "tags");
        lk_batch_reset(exp);
        for (uint32_t i = 0; i < lk_batch_nrows(pb); i++)
            fill_row(exp, first + i);
        for (uint32_t i = 0; i < lk_batch_nrows(pb); i++) {
            ck_assert(slot_eq(lk_batch_col(exp, 15), i, lk_batch_col(pb, 0), i));
            ck_assert(slot_eq(lk_batch_col(exp, 4), i, lk_batch_col(pb, 1), i));
        }
        lk_batch_destroy(&pb);
    }
    lk_batch_destroy(&got);
    lk_batch_destroy(&exp);
    lk_pq_reader_destroy(&r);
}

START_TEST(roundtrip_all_codecs)
{
    lk_pq_codec codecs[] = {LK_PQ_UNCOMPRESSED, LK_PQ_SNAPPY, LK_PQ_GZIP, LK_PQ_ZSTD, LK_PQ_ZSTD};
    lk_schema *s = all_types_schema();
    lk_batch *b = lk_batch_new(s);
    for (size_t ci = 0; ci < 5; ci++) {
        lk_pq_options o;
        lk_pq_options_default(&o);
        o.codec = codecs[ci];
        o.dictionary = ci < 4; /* the last pass: PLAIN only */
        o.fsync = 0;
        lk_pq_writer *w = lk_pq_writer_new(s, &o);
        ck_assert_ptr_nonnull(w);
        char path[512];
        snprintf(path, sizeof path, "%s/all_%s%s.parquet", tmpdir, lk_pq_codec_name(codecs[ci]),
                 o.dictionary ? "" : "_plain");
        lk_pq_file_info info;
        write_file(w, path, b, 1000, 300, 0, &info);
        ck_assert_int_eq(info.num_rows, 1000);
        struct stat st;
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_int_eq(info.file_size, st.st_size);
        check_file(path, s, 1000, 0, 1);
        /* LK_PARQUET_OUT=dir keeps a copy for outside checks (DuckDB, Spark) */
        const char *keep = getenv("LK_PARQUET_OUT");
        if (keep) {
            char cmd[1200];
            snprintf(cmd, sizeof cmd, "cp %s %s/", path, keep);
            ck_assert_int_eq(system(cmd), 0);
        }
        lk_pq_writer_destroy(&w);
        ck_assert_ptr_null(w);
    }
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
}
END_TEST

/* A string column whose every value is empty has no data buffer:
   written (dictionary and PLAIN) and read back as empty strings. Failed
   under UBSan before (memcpy from NULL; event_metrics' min of strings). */
START_TEST(empty_strings_only)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "s", LK_TYPE_STRING, 1);
    lk_batch *b = lk_batch_new(s);
    for (int d = 0; d < 2; d++) {
        lk_pq_options o;
        lk_pq_options_default(&o);
        o.dictionary = d;
        o.fsync = 0;
        lk_batch_reset(b);
        for (int i = 0; i < 3; i++)
            lk_col_append_bytes(lk_batch_col(b, 0), "", 0);
        lk_batch_set_nrows(b, 3);
        ck_assert_ptr_null(lk_batch_col(b, 0)->data);
        char path[512];
        snprintf(path, sizeof path, "%s/empty_strings_%d.parquet", tmpdir, d);
        lk_error err;
        lk_pq_writer *w = lk_pq_writer_new(s, &o);
        ck_assert_int_eq(lk_pq_writer_open(w, path, &err), 0);
        ck_assert_msg(lk_pq_writer_write(w, b, &err) == 0, "%s", err.msg);
        lk_pq_file_info info;
        ck_assert_msg(lk_pq_writer_close(w, &info, &err) == 0, "%s", err.msg);
        lk_pq_writer_destroy(&w);
        lk_pq_reader *r;
        ck_assert_msg(lk_pq_reader_open(path, &r, &err) == 0, "%s", err.msg);
        lk_batch *got = NULL;
        ck_assert_msg(lk_pq_reader_read_row_group(r, 0, NULL, 0, &got, &err) == 0, "%s", err.msg);
        ck_assert_uint_eq(lk_batch_nrows(got), 3);
        const lk_col *c = lk_batch_col_const(got, 0);
        size_t n = 1;
        ck_assert(!lk_col_is_null(c, 0) && (lk_col_bytes(c, 0, &n), n == 0));
        ck_assert(!lk_col_is_null(c, 1) && (lk_col_bytes(c, 1, &n), n == 0));
        ck_assert(!lk_col_is_null(c, 2) && (lk_col_bytes(c, 2, &n), n == 0));
        lk_batch_destroy(&got);
        lk_pq_reader_destroy(&r);
    }
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
}
END_TEST

START_TEST(multiple_row_groups_and_reuse)
{
    lk_schema *s = all_types_schema();
    lk_batch *b = lk_batch_new(s);
    lk_pq_options o;
    lk_pq_options_default(&o);
    o.row_group_bytes = 16 * 1024;
    o.fsync = 1;
    lk_pq_writer *w = lk_pq_writer_new(s, &o);
    for (int f = 0; f < 3; f++) {
        char path[512];
        snprintf(path, sizeof path, "%s/rg%d.parquet", tmpdir, f);
        lk_pq_file_info info;
        write_file(w, path, b, 3000 + (uint32_t)f * 100, 250, (uint32_t)f * 7, &info);
        check_file(path, s, 3000 + (uint32_t)f * 100, (uint32_t)f * 7, 3);
    }
    /* an empty file */
    char path[512];
    snprintf(path, sizeof path, "%s/empty.parquet", tmpdir);
    lk_pq_file_info info;
    write_file(w, path, b, 0, 1, 0, &info);
    check_file(path, s, 0, 0, 0);
    /* O_EXCL */
    lk_error err;
    ck_assert_int_lt(lk_pq_writer_open(w, path, &err), 0);
    lk_pq_writer_destroy(&w);
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
}
END_TEST

static const lk_pq_leaf_stats *find_leaf(const lk_pq_file_info *info, const char *path)
{
    for (int i = 0; i < info->n_leaves; i++)
        if (!strcmp(info->leaves[i].path, path))
            return &info->leaves[i];
    return NULL;
}

START_TEST(statistics)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "n", LK_TYPE_LONG, 1);
    lk_schema_add(s, "s", LK_TYPE_STRING, 1);
    lk_schema_add(s, "d", LK_TYPE_DOUBLE, 1);
    lk_field *dev = lk_schema_add(s, "device", LK_TYPE_STRUCT, 1);
    lk_field_add_child(dev, "os", LK_TYPE_STRING, 1);
    lk_field *t = lk_schema_add(s, "tags", LK_TYPE_ARRAY, 1);
    lk_field_add_child(t, "element", LK_TYPE_INTEGER, 1);
    lk_batch *b = lk_batch_new(s);
    int64_t ns[] = {5, -7, 3, 0};
    const char *ss[] = {"b", "\xc3\xa9", "a", NULL}; /* é sorts after ASCII as unsigned bytes */
    for (int i = 0; i < 4; i++) {
        lk_col_append_i64(lk_batch_col(b, 0), ns[i]);
        if (ss[i]) lk_col_append_bytes(lk_batch_col(b, 1), ss[i], strlen(ss[i]));
        else lk_col_append_null(lk_batch_col(b, 1));
        lk_col_append_null(lk_batch_col(b, 2));
        lk_col *d = lk_batch_col(b, 3);
        lk_col_append_struct(d);
        lk_col_append_bytes(&d->children[0], i ? "linux" : "aix", i ? 5 : 3);
        lk_col *tg = lk_batch_col(b, 4);
        lk_col_append_i32(&tg->children[0], i - 10);
        lk_col_append_list(tg);
        lk_batch_end_row(b);
    }
    lk_pq_options o;
    lk_pq_options_default(&o);
    o.fsync = 0;
    lk_pq_writer *w = lk_pq_writer_new(s, &o);
    char path[512];
    snprintf(path, sizeof path, "%s/stats.parquet", tmpdir);
    lk_error err;
    ck_assert_int_eq(lk_pq_writer_open(w, path, &err), 0);
    ck_assert_int_eq(lk_pq_writer_write(w, b, &err), 0);
    lk_pq_file_info info;
    ck_assert_int_eq(lk_pq_writer_close(w, &info, &err), 0);
    ck_assert_int_eq(info.n_leaves, 5);
    const lk_pq_leaf_stats *l = find_leaf(&info, "n");
    ck_assert_ptr_nonnull(l);
    ck_assert(l->min.is_set && l->max.is_set);
    ck_assert_int_eq(l->min.i, -7);
    ck_assert_int_eq(l->max.i, 5);
    ck_assert_int_eq(l->null_count, 0);
    l = find_leaf(&info, "s");
    ck_assert_int_eq(l->null_count, 1);
    ck_assert_int_eq(l->min.n, 1);
    ck_assert_int_eq(l->min.p[0], 'a');
    ck_assert_int_eq(l->max.n, 2);
    ck_assert(!memcmp(l->max.p, "\xc3\xa9", 2));
    l = find_leaf(&info, "d");
    ck_assert(!l->min.is_set && !l->max.is_set);
    ck_assert_int_eq(l->null_count, 4);
    l = find_leaf(&info, "device.os");
    ck_assert_ptr_nonnull(l);
    ck_assert_int_eq(l->in_list, 0);
    ck_assert(l->min.n == 3 && !memcmp(l->min.p, "aix", 3));
    ck_assert(l->max.n == 5 && !memcmp(l->max.p, "linux", 5));
    l = find_leaf(&info, "tags.element");
    ck_assert_ptr_nonnull(l);
    ck_assert_int_eq(l->in_list, 1);
    ck_assert_int_eq(l->min.i, -10);
    ck_assert_int_eq(l->max.i, -7);
    lk_pq_writer_destroy(&w);
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
}
END_TEST

/* Reads every row group; the result may be an error but never a crash. */
static int read_all(const char *path)
{
    lk_error err;
    lk_pq_reader *r;
    int rc = lk_pq_reader_open(path, &r, &err);
    if (rc < 0) {
        ck_assert_msg(strstr(err.msg, path) != NULL, "error does not name the file: %s", err.msg);
        return rc;
    }
    lk_batch *b = NULL;
    for (int g = 0; g < lk_pq_reader_num_row_groups(r) && rc == 0; g++)
        rc = lk_pq_reader_read_row_group(r, g, NULL, 0, &b, &err);
    lk_batch_destroy(&b);
    lk_pq_reader_destroy(&r);
    return rc;
}

START_TEST(corrupt_files)
{
    lk_schema *s = all_types_schema();
    lk_batch *b = lk_batch_new(s);
    lk_pq_options o;
    lk_pq_options_default(&o);
    o.fsync = 0;
    o.row_group_bytes = 8 * 1024;
    o.codec = (lk_pq_codec)_i == 0 ? LK_PQ_UNCOMPRESSED : LK_PQ_ZSTD;
    lk_pq_writer *w = lk_pq_writer_new(s, &o);
    char path[512], bad[512];
    snprintf(path, sizeof path, "%s/good.parquet", tmpdir);
    lk_pq_file_info info;
    write_file(w, path, b, 400, 100, 0, &info);
    FILE *f = fopen(path, "rb");
    size_t n = (size_t)info.file_size;
    char *data = malloc(n);
    ck_assert_uint_eq(fread(data, 1, n, f), n);
    fclose(f);
    int idx = 0;
    /* truncations */
    for (size_t cut = 0; cut < n; cut += (cut < 64 || cut > n - 64) ? 1 : 97) {
        snprintf(bad, sizeof bad, "%s/t%d.parquet", tmpdir, idx++);
        f = fopen(bad, "wb");
        fwrite(data, 1, cut, f);
        fclose(f);
        ck_assert_int_lt(read_all(bad), 0);
        unlink(bad);
    }
    /* byte flips (deterministic PRNG) */
    uint32_t seed = 12345;
    for (int k = 0; k < 400; k++) {
        char *copy = malloc(n);
        memcpy(copy, data, n);
        for (int j = 0; j < 1 + k % 4; j++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (k % 2) ? n - 9 - (seed >> 8) % (n / 8) : (seed >> 8) % n;
            seed = seed * 1103515245u + 12345u;
            copy[at] ^= (char)(1 + (seed >> 16) % 255);
        }
        snprintf(bad, sizeof bad, "%s/f%d.parquet", tmpdir, k);
        f = fopen(bad, "wb");
        fwrite(copy, 1, n, f);
        fclose(f);
        (void)read_all(bad);
        unlink(bad);
        free(copy);
    }
    free(data);
    lk_pq_writer_destroy(&w);
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
}
END_TEST

START_TEST(thrift_roundtrip)
{
    lk_buf b = LK_BUF_INIT;
    lk_tc_w w;
    lk_tc_w_init(&w, &b);
    lk_tc_i32(&w, 1, -5);
    lk_tc_i64(&w, 40, 1LL << 40);
    lk_tc_struct_begin(&w, 41);
    lk_tc_bool(&w, 1, 1);
    lk_tc_struct_end(&w);
    lk_tc_binary(&w, 42, "abc", 3);
    lk_tc_end(&w);
    lk_tc_r r;
    lk_tc_r_init(&r, b.data, b.len);
    int16_t id;
    int ty;
    ck_assert(lk_tc_next(&r, &id, &ty) && id == 1);
    ck_assert_int_eq(lk_tc_read_int(&r, ty), -5);
    ck_assert(lk_tc_next(&r, &id, &ty) && id == 40);
    ck_assert_int_eq(lk_tc_read_int(&r, ty), 1LL << 40);
    ck_assert(lk_tc_next(&r, &id, &ty) && id == 41 && ty == LK_TC_STRUCT);
    lk_tc_skip(&r, ty);
    ck_assert(lk_tc_next(&r, &id, &ty) && id == 42);
    size_t n;
    const uint8_t *p = lk_tc_read_binary(&r, &n);
    ck_assert(n == 3 && !memcmp(p, "abc", 3));
    ck_assert(!lk_tc_next(&r, &id, &ty) && !r.err);
    /* truncated input sets err */
    lk_tc_r_init(&r, b.data, b.len - 3);
    while (lk_tc_next(&r, &id, &ty))
        lk_tc_skip(&r, ty);
    ck_assert(r.err);
    lk_buf_free(&b);
}
END_TEST

START_TEST(codec_parse)
{
    lk_pq_codec c;
    ck_assert_int_eq(lk_pq_codec_parse("ZSTD", &c), 0);
    ck_assert_int_eq(c, LK_PQ_ZSTD);
    ck_assert_int_eq(lk_pq_codec_parse("none", &c), 0);
    ck_assert_int_eq(c, LK_PQ_UNCOMPRESSED);
    ck_assert_int_eq(lk_pq_codec_parse("lz4", &c), LK_ECONFIG);
}
END_TEST

#define FIX LK_SOURCE_DIR "/tests/fixtures/parquet-testing/"

/* apache/parquet-testing files: Impala-written PLAIN/dictionary/snappy with INT96 timestamps. */
START_TEST(fixture_alltypes)
{
    static const struct { const char *file; int n; int ids[8]; } cases[] = {
        {FIX "alltypes_plain.parquet", 8, {4, 5, 6, 7, 2, 3, 0, 1}},
        {FIX "alltypes_plain.snappy.parquet", 2, {6, 7}},
        {FIX "alltypes_dictionary.parquet", 2, {0, 1}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lk_error err;
        lk_pq_reader *r;
        int rc = lk_pq_reader_open(cases[k].file, &r, &err);
        ck_assert_msg(rc == 0, "%s", err.msg);
        const lk_schema *s = lk_pq_reader_schema(r);
        int cid = lk_schema_find(s, "id"), cb = lk_schema_find(s, "bool_col"),
            cts = lk_schema_find(s, "timestamp_col"), cstr = lk_schema_find(s, "string_col"),
            cd = lk_schema_find(s, "double_col");
        ck_assert(cid >= 0 && cb >= 0 && cts >= 0 && cstr >= 0 && cd >= 0);
        ck_assert_int_eq(lk_schema_field(s, cts)->type, LK_TYPE_TIMESTAMP);
        lk_batch *b = NULL;
        rc = lk_pq_reader_read_row_group(r, 0, NULL, 0, &b, &err);
        ck_assert_msg(rc == 0, "%s", err.msg);
        ck_assert_uint_eq(lk_batch_nrows(b), (uint32_t)cases[k].n);
        for (int i = 0; i < cases[k].n; i++) {
            int id = cases[k].ids[i];
            ck_assert_int_eq(lk_col_i32(lk_batch_col(b, cid), (uint32_t)i), id);
            ck_assert_int_eq(((uint8_t *)lk_batch_col(b, cb)->values)[i], id % 2 == 0);
            size_t n;
            const char *p = lk_col_bytes(lk_batch_col(b, cstr), (uint32_t)i, &n);
            ck_assert(n == 1 && p[0] == '0' + id % 2);
            ck_assert(lk_col_f64(lk_batch_col(b, cd), (uint32_t)i) == (id % 2 ? 10.1 : 0));
            /* 2009-01-01 + id/2 months, + 1 minute for odd ids (INT96 → micros) */
            static const int64_t month_s[] = {1230768000, 1233446400, 1235865600, 1238544000};
            int64_t want = (month_s[id / 2] + (id % 2) * 60) * 1000000LL;
            ck_assert_int_eq(lk_col_i64(lk_batch_col(b, cts), (uint32_t)i), want);
        }
        lk_batch_destroy(&b);
        lk_pq_reader_destroy(&r);
    }
}
END_TEST

/* a: list<list<list<string>>> with a null inner list; row 0 = [[[a,b],[c]],[null,[d]]]. */
START_TEST(fixture_nested_lists)
{
    lk_error err;
    lk_pq_reader *r;
    int rc = lk_pq_reader_open(FIX "nested_lists.snappy.parquet", &r, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    lk_batch *b = NULL;
    rc = lk_pq_reader_read_row_group(r, 0, NULL, 0, &b, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_uint_eq(lk_batch_nrows(b), 3);
    const lk_col *a = lk_batch_col(b, 0);
    ck_assert_uint_eq(a->offsets[1] - a->offsets[0], 2);
    const lk_col *l2 = &a->children[0];
    ck_assert_uint_eq(l2->offsets[1] - l2->offsets[0], 2);
    ck_assert(lk_col_is_null(&l2->children[0], 2)); /* a[0][1][0] is null */
    const lk_col *l3 = &l2->children[0];
    const lk_col *str = &l3->children[0];
    size_t n;
    const char *p = lk_col_bytes(str, l3->offsets[1], &n);
    ck_assert(n == 1 && p[0] == 'c');
    p = lk_col_bytes(str, l3->offsets[3], &n);
    ck_assert(n == 1 && p[0] == 'd');
    ck_assert_int_eq(lk_col_i32(lk_batch_col(b, 1), 2), 1);
    lk_batch_destroy(&b);
    lk_pq_reader_destroy(&r);
}
END_TEST

/* data page V2 + snappy + RLE booleans + DELTA_BINARY_PACKED ints (values as DuckDB reads them). */
START_TEST(fixture_datapage_v2)
{
    lk_error err;
    lk_pq_reader *r;
    int rc = lk_pq_reader_open(FIX "datapage_v2.snappy.parquet", &r, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    lk_batch *b = NULL;
    rc = lk_pq_reader_read_row_group(r, 0, NULL, 0, &b, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_uint_eq(lk_batch_nrows(b), 5);
    static const int bv[] = {1, 2, 3, 4, 5}, dv[] = {1, 1, 1, 0, 1};
    static const double cv[] = {2, 3, 4, 5, 2};
    static const int elen[] = {3, -1, -1, 3, 2};
    const lk_col *a = lk_batch_col(b, 0), *e = lk_batch_col(b, 4);
    for (uint32_t i = 0; i < 5; i++) {
        ck_assert_int_eq(lk_col_is_null(a, i), i == 3);
        if (i != 3) {
            size_t n;
            const char *p = lk_col_bytes(a, i, &n);
            ck_assert(n == 3 && !memcmp(p, "abc", 3));
        }
        ck_assert_int_eq(lk_col_i32(lk_batch_col(b, 1), i), bv[i]);
        ck_assert(lk_col_f64(lk_batch_col(b, 2), i) == cv[i]);
        ck_assert_int_eq(((uint8_t *)lk_batch_col(b, 3)->values)[i], dv[i]);
        if (elen[i] < 0)
            ck_assert(lk_col_is_null(e, i));
        else {
            ck_assert_int_eq((int)(e->offsets[i + 1] - e->offsets[i]), elen[i]);
            for (int k = 0; k < elen[i]; k++)
                ck_assert_int_eq(lk_col_i32(&e->children[0], e->offsets[i] + (uint32_t)k), k + 1);
        }
    }
    lk_batch_destroy(&b);
    lk_pq_reader_destroy(&r);
    /* DELTA_BINARY_PACKED at every bit width vs the expected CSV */
    rc = lk_pq_reader_open(FIX "delta_binary_packed.parquet", &r, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    rc = lk_pq_reader_read_row_group(r, 0, NULL, 0, &b, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    FILE *f = fopen(FIX "delta_binary_packed_expect.csv", "r");
    ck_assert_ptr_nonnull(f);
    static char line[1 << 14];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f)); /* header */
    uint32_t row = 0;
    while (fgets(line, sizeof line, f)) {
        char *sp = line;
        for (int c = 0; c < lk_batch_ncols(b); c++) {
            char *endp;
            long long v = strtoll(sp, &endp, 10);
            const lk_col *col = lk_batch_col(b, c);
            int64_t got = col->elem_size == 4 ? lk_col_i32(col, row) : lk_col_i64(col, row);
            ck_assert_msg(got == v, "row %u col %d: %lld != %lld", row, c, (long long)got, v);
            sp = endp + (*endp == ',');
        }
        row++;
    }
    fclose(f);
    ck_assert_uint_eq(row, lk_batch_nrows(b));
    lk_batch_destroy(&b);
    lk_pq_reader_destroy(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("parquet");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, thrift_roundtrip);
    tcase_add_test(tc, codec_parse);
    tcase_add_test(tc, roundtrip_all_codecs);
    tcase_add_test(tc, empty_strings_only);
    tcase_add_test(tc, multiple_row_groups_and_reuse);
    tcase_add_test(tc, statistics);
    tcase_add_loop_test(tc, corrupt_files, 0, 2);
    tcase_add_test(tc, fixture_alltypes);
    tcase_add_test(tc, fixture_nested_lists);
    tcase_add_test(tc, fixture_datapage_v2);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
