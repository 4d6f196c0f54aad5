/* More Parquet tests: every type and nesting through every codec with
   small pages and many row groups (one large batch cut by bytes), writer
   statistics as Delta uses them, and 600 truncated or corrupted files that
   must fail cleanly, never crash. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_buf.h"
#include "lk_parquet_reader.h"
#include "lk_parquet_writer.h"
#include "lk_rowjson.h"

static char g_dir[256];

static void setup(void)
{
    lk_check_mkdtemp(g_dir, sizeof g_dir, "pq");
}

static void teardown(void)
{
    lk_check_rm_rf(g_dir);
}

static lk_schema *all_types(void)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "b", LK_TYPE_BOOLEAN, 1);
    lk_schema_add(s, "i8", LK_TYPE_BYTE, 1);
    lk_schema_add(s, "i16", LK_TYPE_SHORT, 1);
    lk_schema_add(s, "i32", LK_TYPE_INTEGER, 1);
    lk_schema_add(s, "i64", LK_TYPE_LONG, 0); /* required */
    lk_schema_add(s, "f", LK_TYPE_FLOAT, 1);
    lk_schema_add(s, "d", LK_TYPE_DOUBLE, 1);
    lk_schema_add(s, "s", LK_TYPE_STRING, 1);
    lk_schema_add(s, "bin", LK_TYPE_BINARY, 1);
    lk_schema_add(s, "day", LK_TYPE_DATE, 1);
    lk_schema_add(s, "ts", LK_TYPE_TIMESTAMP, 1);
    lk_schema_add(s, "ntz", LK_TYPE_TIMESTAMP_NTZ, 1);
    lk_field *d1 = lk_schema_add(s, "dec", LK_TYPE_DECIMAL, 1);
    d1->precision = 10;
    d1->scale = 2;
    lk_field *d2 = lk_schema_add(s, "big", LK_TYPE_DECIMAL, 1);
    d2->precision = 30;
    d2->scale = 3;
    lk_field *st = lk_schema_add(s, "dev", LK_TYPE_STRUCT, 1);
    lk_field_add_child(st, "os", LK_TYPE_STRING, 1);
    lk_field *in = lk_field_add_child(st, "inner", LK_TYPE_STRUCT, 1);
    lk_field_add_child(in, "n", LK_TYPE_LONG, 1);
    lk_field *arr = lk_schema_add(s, "tags", LK_TYPE_ARRAY, 1);
    lk_field_add_child(arr, "element", LK_TYPE_STRING, 1);
    lk_field *map = lk_schema_add(s, "m", LK_TYPE_MAP, 1);
    lk_field_add_child(map, "key", LK_TYPE_STRING, 0);
    lk_field_add_child(map, "value", LK_TYPE_LONG, 1);
    lk_field *los = lk_schema_add(s, "los", LK_TYPE_ARRAY, 1);
    lk_field *el = lk_field_add_child(los, "element", LK_TYPE_STRUCT, 1);
    lk_field_add_child(el, "x", LK_TYPE_INTEGER, 1);
    lk_field_add_child(el, "y", LK_TYPE_STRING, 1);
    return s;
}

/* Row r: a deterministic mix of values, nulls, empty and null lists. */
static void fill_row(lk_batch *b, int r)
{
    int k = 0;
    if (r % 7 == 3) lk_col_append_null(lk_batch_col(b, k)); else lk_col_append_bool(lk_batch_col(b, k), r & 1);
    k++;
    int8_t i8 = (int8_t)(r % 200 - 100);
    if (r % 5 == 1) lk_col_append_null(lk_batch_col(b, k)); else lk_col_append_fixed(lk_batch_col(b, k), &i8);
    k++;
    int16_t i16 = (int16_t)(r * 7 - 3000);
    lk_col_append_fixed(lk_batch_col(b, k++), &i16);
    if (r % 4 == 0) lk_col_append_null(lk_batch_col(b, k)); else lk_col_append_i32(lk_batch_col(b, k), r * -13);
    k++;
    lk_col_append_i64(lk_batch_col(b, k++), (int64_t)r * 1000000007LL);
    lk_col_append_f32(lk_batch_col(b, k++), (float)r / 4.0f);
    if (r % 3 == 0) lk_col_append_null(lk_batch_col(b, k)); else lk_col_append_f64(lk_batch_col(b, k), r * 0.125 - 7);
    k++;
    char txt[64];
    int n = snprintf(txt, sizeof txt, "row %d caf\xc3\xa9 \xf0\x9f\x9a\x80", r);
    if (r % 6 == 5) lk_col_append_null(lk_batch_col(b, k)); else lk_col_append_bytes(lk_batch_col(b, k), txt, (size_t)(r % 11 == 0 ? 0 : n));
    k++;
    char bin[4] = {(char)r, 0, (char)0xff, 1};
    lk_col_append_bytes(lk_batch_col(b, k++), bin, 4);
    lk_col_append_i32(lk_batch_col(b, k++), 20000 + r);
    lk_col_append_i64(lk_batch_col(b, k++), 1795512600123456LL + r);
    lk_col_append_i64(lk_batch_col(b, k++), -86400000000LL + r);
    if (r % 9 == 2) lk_col_append_null(lk_batch_col(b, k)); else lk_col_append_i64(lk_batch_col(b, k), (int64_t)r * 101 - 5000);
    k++;
    unsigned char be[16];
    memset(be, r % 2 ? 0xff : 0, 16);
    be[15] = (unsigned char)r;
    lk_col_append_fixed(lk_batch_col(b, k++), be);
    lk_col *dev = lk_batch_col(b, k++);
    if (r % 8 == 7) {
        lk_col_append_null(dev);
    } else {
        lk_col_append_struct(dev);
        lk_col_append_bytes(&dev->children[0], "ios", 3);
        lk_col *in = &dev->children[1];
        if (r % 3 == 1) {
            lk_col_append_null(in);
        } else {
            lk_col_append_struct(in);
            lk_col_append_i64(&in->children[0], r);
        }
    }
    lk_col *tags = lk_batch_col(b, k++);
    if (r % 10 == 4) {
        lk_col_append_null(tags);
    } else {
        for (int e = 0; e < r % 4; e++) { /* 0..3 elements: empty lists too */
            if (e == 1)
                lk_col_append_null(&tags->children[0]);
            else
                lk_col_append_bytes(&tags->children[0], "t", 1);
        }
        lk_col_append_list(tags);
    }
    lk_col *m = lk_batch_col(b, k++);
    for (int e = 0; e < r % 3; e++) {
        char key[8];
        int kn = snprintf(key, sizeof key, "k%d", e);
        lk_col_append_bytes(&m->children[0], key, (size_t)kn);
        if (e == 1)
            lk_col_append_null(&m->children[1]);
        else
            lk_col_append_i64(&m->children[1], r + e);
    }
    lk_col_append_list(m);
    lk_col *los = lk_batch_col(b, k++);
    lk_col *el = &los->children[0];
    for (int e = 0; e < r % 3; e++) {
        if (e == 1) {
            lk_col_append_null(el);
        } else {
            lk_col_append_struct(el);
            lk_col_append_i32(&el->children[0], e);
            lk_col_append_bytes(&el->children[1], "y", 1);
        }
    }
    lk_col_append_list(los);
    lk_batch_end_row(b);
}

/* Writes rows with the given options, reads them back, compares row JSON. */
static void round_trip(lk_pq_codec codec, size_t rg_bytes, size_t page_bytes, int rows, int files)
{
    lk_schema *s = all_types();
    lk_batch *b = lk_batch_new(s);
    for (int r = 0; r < rows; r++)
        fill_row(b, r);
    lk_pq_options o;
    lk_pq_options_default(&o);
    o.codec = codec;
    o.row_group_bytes = rg_bytes;
    o.page_bytes = page_bytes;
    o.fsync = 0;
    lk_pq_writer *w = lk_pq_writer_new(s, &o);
    lk_error err;
    for (int f = 0; f < files; f++) { /* one writer, several files */
        char path[512];
        snprintf(path, sizeof path, "%s/f%d-%d.parquet", g_dir, (int)codec, f);
        ck_assert_int_eq(lk_pq_writer_open(w, path, &err), 0);
        ck_assert_int_eq(lk_pq_writer_write(w, b, &err), 0);
        lk_pq_file_info info;
        ck_assert_msg(lk_pq_writer_close(w, &info, &err) == 0, "%s", err.msg);
        ck_assert_int_eq(info.num_rows, rows);
        lk_pq_reader *r = NULL;
        ck_assert_msg(lk_pq_reader_open(path, &r, &err) == 0, "%s", err.msg);
        ck_assert_int_eq(lk_pq_reader_num_rows(r), rows);
        ck_assert(lk_schema_equal(lk_pq_reader_schema(r), s));
        lk_batch *got = NULL;
        int row = 0;
        lk_buf a = LK_BUF_INIT, c = LK_BUF_INIT;
        for (int g = 0; g < lk_pq_reader_num_row_groups(r); g++) {
            ck_assert_msg(lk_pq_reader_read_row_group(r, g, NULL, 0, &got, &err) == 0, "%s", err.msg);
            for (uint32_t i = 0; i < lk_batch_nrows(got); i++, row++) {
                lk_buf_reset(&a);
                lk_buf_reset(&c);
                lk_rowjson_append(b, (uint32_t)row, &a);
                lk_rowjson_append(got, i, &c);
                ck_assert_msg(!strcmp(a.data, c.data), "row %d\nwant %s\ngot  %s", row, a.data, c.data);
            }
        }
        ck_assert_int_eq(row, rows);
        if (rg_bytes < 4096)
            ck_assert_int_gt(lk_pq_reader_num_row_groups(r), 1);
        lk_buf_free(&a);
        lk_buf_free(&c);
        lk_batch_destroy(&got);
        lk_pq_reader_destroy(&r);
    }
    lk_pq_writer_destroy(&w);
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
}

START_TEST(round_trip_zstd)
{
    round_trip(LK_PQ_ZSTD, 128 << 20, 1 << 20, 500, 2);
}
END_TEST

START_TEST(round_trip_codecs_small_pages_and_groups)
{
    round_trip(LK_PQ_SNAPPY, 128 << 20, 256, 400, 1); /* many pages */
    round_trip(LK_PQ_GZIP, 1024, 1 << 20, 9000, 1);   /* several row groups */
    round_trip(LK_PQ_UNCOMPRESSED, 128 << 20, 512, 300, 1);
}
END_TEST

START_TEST(statistics_and_projection)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "n", LK_TYPE_LONG, 1);
    lk_schema_add(s, "s", LK_TYPE_STRING, 1);
    lk_schema_add(s, "x", LK_TYPE_DOUBLE, 1);
    lk_batch *b = lk_batch_new(s);
    const char *words[] = {"pear", "apple", "zebra", "\xc3\xa9t\xc3\xa9"};
    for (int r = 0; r < 4; r++) {
        lk_col_append_i64(lk_batch_col(b, 0), 10 - r * 7);
        lk_col_append_bytes(lk_batch_col(b, 1), words[r], strlen(words[r]));
        if (r == 2)
            lk_col_append_null(lk_batch_col(b, 2));
        else
            lk_col_append_f64(lk_batch_col(b, 2), r == 1 ? 0.0 / 0.0 : r * 1.5);
        lk_batch_end_row(b);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/stats.parquet", g_dir);
    lk_pq_writer *w = lk_pq_writer_new(s, NULL);
    lk_error err;
    lk_pq_file_info info;
    ck_assert_int_eq(lk_pq_writer_open(w, path, &err), 0);
    ck_assert_int_eq(lk_pq_writer_write(w, b, &err), 0);
    ck_assert_int_eq(lk_pq_writer_close(w, &info, &err), 0);
    ck_assert_int_eq(info.n_leaves, 3);
    ck_assert_str_eq(info.leaves[0].path, "n");
    ck_assert_int_eq(info.leaves[0].min.i, -11);
    ck_assert_int_eq(info.leaves[0].max.i, 10);
    ck_assert_int_eq((int)info.leaves[1].min.n, 5);
    ck_assert(!memcmp(info.leaves[1].min.p, "apple", 5));
    ck_assert(!memcmp(info.leaves[1].max.p, "\xc3\xa9t\xc3\xa9", 6)); /* bytes order: é > z */
    ck_assert_int_eq(info.leaves[2].null_count, 1);
    ck_assert(info.leaves[2].min.d == 0.0 && info.leaves[2].max.d == 4.5); /* NaN ignored */
    lk_pq_reader *r = NULL;
    ck_assert_int_eq(lk_pq_reader_open(path, &r, &err), 0);
    int cols[] = {2, 0};
    lk_batch *got = NULL;
    ck_assert_int_eq(lk_pq_reader_read_row_group(r, 0, cols, 2, &got, &err), 0);
    ck_assert_int_eq(lk_batch_ncols(got), 2);
    ck_assert_str_eq(lk_batch_col(got, 0)->field->name, "x");
    ck_assert_int_eq(lk_col_i64(lk_batch_col(got, 1), 3), -11);
    ck_assert_int_lt(lk_pq_reader_read_row_group(r, 1, NULL, 0, &got, &err), 0);
    lk_batch_destroy(&got);
    lk_pq_reader_destroy(&r);
    lk_pq_writer_destroy(&w);
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
}
END_TEST

/* Every truncation and many byte flips of a valid file give an error or a
   clean read, never a crash (run under ASan in CI). */
START_TEST(corrupt_files_fail_cleanly)
{
    lk_schema *s = all_types();
    lk_batch *b = lk_batch_new(s);
    for (int r = 0; r < 60; r++)
        fill_row(b, r);
    char path[512], bad[512];
    snprintf(path, sizeof path, "%s/ok.parquet", g_dir);
    snprintf(bad, sizeof bad, "%s/bad.parquet", g_dir);
    lk_pq_options o;
    lk_pq_options_default(&o);
    o.fsync = 0;
    o.page_bytes = 300;
    lk_pq_writer *w = lk_pq_writer_new(s, &o);
    lk_error err;
    ck_assert_int_eq(lk_pq_writer_open(w, path, &err), 0);
    ck_assert_int_eq(lk_pq_writer_write(w, b, &err), 0);
    ck_assert_int_eq(lk_pq_writer_close(w, NULL, &err), 0);
    lk_pq_writer_destroy(&w);
    FILE *f = fopen(path, "rb");
    lk_buf data = LK_BUF_INIT;
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        lk_buf_append(&data, tmp, n);
    fclose(f);
    unsigned seed = 7;
    int errors = 0;
    for (int trial = 0; trial < 600; trial++) {
        size_t len = data.len;
        lk_buf copy = LK_BUF_INIT;
        lk_buf_append(&copy, data.data, data.len);
        if (trial < 200) {
            len = (size_t)trial * data.len / 200; /* truncations */
        } else {
            for (int k = 0; k < 1 + trial % 4; k++) {
                seed = seed * 1103515245u + 12345u;
                copy.data[(seed >> 8) % data.len] ^= (char)(1 + (seed >> 20) % 255);
            }
        }
        FILE *o2 = fopen(bad, "wb");
        fwrite(copy.data, 1, len, o2);
        fclose(o2);
        lk_pq_reader *r = NULL;
        if (lk_pq_reader_open(bad, &r, &err) == 0) {
            lk_batch *got = NULL;
            for (int g = 0; g < lk_pq_reader_num_row_groups(r); g++)
                if (lk_pq_reader_read_row_group(r, g, NULL, 0, &got, &err))
                    errors++;
            lk_batch_destroy(&got);
            lk_pq_reader_destroy(&r);
        } else {
            errors++;
            ck_assert_ptr_nonnull(strstr(err.msg, "bad.parquet"));
        }
        lk_buf_free(&copy);
    }
    ck_assert_int_gt(errors, 200);
    lk_buf_free(&data);
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("parquet_roundtrip");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, round_trip_zstd);
    tcase_add_test(tc, round_trip_codecs_small_pages_and_groups);
    tcase_add_test(tc, statistics_and_projection);
    tcase_add_test(tc, corrupt_files_fail_cleanly);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
