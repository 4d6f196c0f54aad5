/* Parquet writer sizing: data pages cut by page_bytes on record boundaries,
   row groups cut by row_group_bytes even for very wide rows, files rolled at
   target_file_bytes with lk_pq_writer_full(); every file reads back equal. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_buf.h"
#include "lk_parquet_reader.h"
#include "lk_parquet_writer.h"
#include "lk_rowjson.h"

static char g_dir[256];

static void setup(void)
{
    lk_check_mkdtemp(g_dir, sizeof g_dir, "pqsz");
}

static void teardown(void)
{
    lk_check_rm_rf(g_dir);
}

static lk_schema *schema3(void)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "n", LK_TYPE_LONG, 0);
    lk_schema_add(s, "s", LK_TYPE_STRING, 1);
    lk_field *a = lk_schema_add(s, "tags", LK_TYPE_ARRAY, 1);
    lk_field_add_child(a, "element", LK_TYPE_INTEGER, 1);
    return s;
}

/* Row r: distinct values (no dictionary pays), a string of slen bytes, a
   list of r % 5 elements. */
static void fill(lk_batch *b, int r0, int rows, size_t slen)
{
    char *str = malloc(slen + 1);
    for (int r = r0; r < r0 + rows; r++) {
        lk_col_append_i64(lk_batch_col(b, 0), (int64_t)r * 7919 - 5000000);
        for (size_t k = 0; k < slen; k++)
            str[k] = (char)('a' + (r * 31 + (int)k * 7) % 26);
        int n = snprintf(str, slen + 1, "%d", r);
        str[n] = '-';
        lk_col_append_bytes(lk_batch_col(b, 1), str, slen);
        lk_col *t = lk_batch_col(b, 2);
        for (int k = 0; k < r % 5; k++)
            lk_col_append_i32(&t->children[0], r + k);
        lk_col_append_list(t);
        lk_batch_end_row(b);
    }
    free(str);
}

/* Compares the rows of the file with b's rows [first, first + count). */
static void check_rows(const char *path, const lk_batch *b, uint32_t first, uint32_t count)
{
    lk_error err;
    lk_pq_reader *r = NULL;
    ck_assert_msg(lk_pq_reader_open(path, &r, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(lk_pq_reader_num_rows(r), count);
    lk_batch *got = NULL;
    lk_buf a = LK_BUF_INIT, c = LK_BUF_INIT;
    uint32_t row = first;
    for (int g = 0; g < lk_pq_reader_num_row_groups(r); g++) {
        ck_assert_msg(lk_pq_reader_read_row_group(r, g, NULL, 0, &got, &err) == 0, "%s", err.msg);
        for (uint32_t i = 0; i < lk_batch_nrows(got); i++, row++) {
            lk_buf_reset(&a);
            lk_buf_reset(&c);
            lk_rowjson_append(b, row, &a);
            lk_rowjson_append(got, i, &c);
            ck_assert_msg(!strcmp(a.data, c.data), "row %u\nwant %.200s\ngot  %.200s", row, a.data,
                          c.data);
        }
    }
    ck_assert_uint_eq(row, first + count);
    lk_buf_free(&a);
    lk_buf_free(&c);
    lk_batch_destroy(&got);
    lk_pq_reader_destroy(&r);
}

START_TEST(pages_cut_by_bytes)
{
    lk_schema *s = schema3();
    lk_batch *b = lk_batch_new(s);
    fill(b, 0, 20000, 60);
    lk_pq_options o;
    lk_pq_options_default(&o);
    o.fsync = 0;
    o.codec = _i ? LK_PQ_ZSTD : LK_PQ_UNCOMPRESSED;
    o.page_bytes = 16 * 1024;
    lk_pq_writer *w = lk_pq_writer_new(s, &o);
    char path[512];
    snprintf(path, sizeof path, "%s/pages%d.parquet", g_dir, _i);
    lk_error err;
    ck_assert_int_eq(lk_pq_writer_open(w, path, &err), 0);
    ck_assert_int_eq(lk_pq_writer_write(w, b, &err), 0);
    ck_assert_msg(lk_pq_writer_close(w, NULL, &err) == 0, "%s", err.msg);
    check_rows(path, b, 0, 20000);
    lk_pq_reader *r = NULL;
    ck_assert_int_eq(lk_pq_reader_open(path, &r, &err), 0);
    ck_assert_int_eq(lk_pq_reader_num_row_groups(r), 1);
    ck_assert_int_eq(lk_pq_reader_num_leaves(r), 3);
    lk_pq_chunk_meta m;
    /* n: 20000 × 8 bytes = 160 KB → 10 pages of 16 KB */
    ck_assert_int_eq(lk_pq_reader_chunk_meta(r, 0, 0, &m, &err), 0);
    ck_assert_str_eq(m.path, "n");
    ck_assert_int_eq(m.dictionary_page, 0);
    ck_assert_msg(m.data_pages >= 9 && m.data_pages <= 12, "n: %d pages", m.data_pages);
    /* s: 20000 × 64 bytes = 1.28 MB → about 80 pages */
    ck_assert_int_eq(lk_pq_reader_chunk_meta(r, 0, 1, &m, &err), 0);
    ck_assert_msg(m.data_pages >= 70 && m.data_pages <= 90, "s: %d pages", m.data_pages);
    /* tags.element: ~40000 entries of 4 bytes → about 10 pages, cut on rows */
    ck_assert_int_eq(lk_pq_reader_chunk_meta(r, 0, 2, &m, &err), 0);
    ck_assert_str_eq(m.path, "tags.element");
    /* a dictionary pays here (about 2 entries per value): fewer, smaller pages */
    ck_assert_int_eq(m.dictionary_page, 1);
    ck_assert_msg(m.data_pages >= 4 && m.data_pages <= 14, "tags: %d pages", m.data_pages);
    lk_pq_reader_destroy(&r);
    lk_pq_writer_destroy(&w);
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
}
END_TEST

START_TEST(row_groups_cut_by_bytes)
{
    lk_schema *s = schema3();
    lk_batch *b = lk_batch_new(s);
    fill(b, 0, 6000, 100); /* about 120 bytes a row: 720 KB */
    lk_pq_options o;
    lk_pq_options_default(&o);
    o.fsync = 0;
    o.row_group_bytes = 64 * 1024;
    lk_pq_writer *w = lk_pq_writer_new(s, &o);
    char path[512];
    snprintf(path, sizeof path, "%s/rg.parquet", g_dir);
    lk_error err;
    ck_assert_int_eq(lk_pq_writer_open(w, path, &err), 0);
    ck_assert_int_eq(lk_pq_writer_write(w, b, &err), 0);
    ck_assert_int_eq(lk_pq_writer_close(w, NULL, &err), 0);
    check_rows(path, b, 0, 6000);
    lk_pq_reader *r = NULL;
    ck_assert_int_eq(lk_pq_reader_open(path, &r, &err), 0);
    int n = lk_pq_reader_num_row_groups(r);
    ck_assert_msg(n >= 9 && n <= 13, "%d row groups", n);
    int64_t total = 0;
    for (int g = 0; g < n; g++)
        total += lk_pq_reader_row_group_rows(r, g);
    ck_assert_int_eq(total, 6000);
    ck_assert_int_eq(lk_pq_reader_row_group_rows(r, n), -1);
    for (int g = 0; g < n; g++) {
        int64_t unc = 0;
        for (int l = 0; l < 3; l++) {
            lk_pq_chunk_meta m;
            ck_assert_int_eq(lk_pq_reader_chunk_meta(r, g, l, &m, &err), 0);
            unc += m.uncompressed_bytes;
        }
        ck_assert_msg(unc < 80 * 1024, "row group %d: %lld bytes", g, (long long)unc);
    }
    lk_pq_reader_destroy(&r);
    lk_pq_writer_destroy(&w);
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
}
END_TEST

/* lk_pq_writer_trim (a batch's file waiting for its commit): right after open it writes the
   magic the writer held; with rows buffered it does nothing; after a flush it gives the
   buffers back; rows written after it go on in the same file, which reads back whole. */
START_TEST(trim_between_row_groups)
{
    lk_schema *s = schema3();
    lk_batch *all = lk_batch_new(s), *b1 = lk_batch_new(s), *b2 = lk_batch_new(s);
    fill(all, 0, 6000, 100);
    fill(b1, 0, 3000, 100);
    fill(b2, 3000, 3000, 100);
    lk_pq_options o;
    lk_pq_options_default(&o);
    o.fsync = 0;
    o.row_group_bytes = 8u << 20;
    lk_pq_writer *w = lk_pq_writer_new(s, &o);
    char path[512];
    snprintf(path, sizeof path, "%s/trim.parquet", g_dir);
    lk_error err;
    struct stat st;
    ck_assert_int_eq(lk_pq_writer_open(w, path, &err), 0);
    ck_assert_int_eq(lk_pq_writer_trim(w, &err), 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, 4); /* "PAR1" */
    ck_assert_int_eq(lk_pq_writer_write(w, b1, &err), 0);
    ck_assert_int_eq(lk_pq_writer_trim(w, &err), 0); /* rows buffered: nothing to do */
    ck_assert_uint_gt(lk_pq_writer_buffered(w), 0);
    ck_assert_int_eq(lk_pq_writer_flush(w, &err), 0);
    ck_assert_int_eq(lk_pq_writer_trim(w, &err), 0);
    ck_assert_uint_eq(lk_pq_writer_buffered(w), 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_gt(st.st_size, 10 * 1000); /* the first row group is in the file */
    ck_assert_int_eq(lk_pq_writer_write(w, b2, &err), 0);
    ck_assert_msg(lk_pq_writer_close(w, NULL, &err) == 0, "%s", err.msg);
    check_rows(path, all, 0, 6000);
    lk_pq_reader *r = NULL;
    ck_assert_int_eq(lk_pq_reader_open(path, &r, &err), 0);
    ck_assert_int_eq(lk_pq_reader_num_row_groups(r), 2);
    lk_pq_reader_destroy(&r);
    lk_pq_writer_destroy(&w);
    lk_batch_destroy(&all);
    lk_batch_destroy(&b1);
    lk_batch_destroy(&b2);
    lk_schema_destroy(&s);
}
END_TEST

/* Rows of 300 KB: a row group of 1 MB holds about 3 of them, although
   the writer used to check the size only every 4096 rows. */
START_TEST(wide_rows_still_cut)
{
    lk_schema *s = schema3();
    lk_batch *b = lk_batch_new(s);
    fill(b, 0, 24, 300 * 1024);
    lk_pq_options o;
    lk_pq_options_default(&o);
    o.fsync = 0;
    o.codec = LK_PQ_SNAPPY;
    o.row_group_bytes = 1 << 20;
    lk_pq_writer *w = lk_pq_writer_new(s, &o);
    char path[512];
    snprintf(path, sizeof path, "%s/wide.parquet", g_dir);
    lk_error err;
    ck_assert_int_eq(lk_pq_writer_open(w, path, &err), 0);
    ck_assert_int_eq(lk_pq_writer_write(w, b, &err), 0);
    ck_assert_int_eq(lk_pq_writer_close(w, NULL, &err), 0);
    check_rows(path, b, 0, 24);
    lk_pq_reader *r = NULL;
    ck_assert_int_eq(lk_pq_reader_open(path, &r, &err), 0);
    int n = lk_pq_reader_num_row_groups(r);
    ck_assert_msg(n >= 6 && n <= 9, "%d row groups", n);
    lk_pq_reader_destroy(&r);
    lk_pq_writer_destroy(&w);
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
}
END_TEST

/* A caller rolls files with lk_pq_writer_full(): each file ends near the
   target (within one batch), the estimate tracks the real size, and one
   writer serves every file. */
START_TEST(files_rolled_at_target_size)
{
    lk_schema *s = schema3();
    lk_batch *all = lk_batch_new(s);
    fill(all, 0, 30000, 40);
    lk_pq_options o;
    lk_pq_options_default(&o);
    o.fsync = 0;
    o.target_file_bytes = 64 * 1024;
    o.row_group_bytes = 512 * 1024;
    lk_pq_writer *w = lk_pq_writer_new(s, &o);
    lk_batch *b = lk_batch_new(s);
    lk_error err;
    int files = 0;
    uint32_t first = 0, row = 0;
    char path[512];
    ck_assert_int_eq(lk_pq_writer_file_bytes(w), 0);
    while (row < 30000) {
        snprintf(path, sizeof path, "%s/roll%d.parquet", g_dir, files);
        ck_assert_int_eq(lk_pq_writer_open(w, path, &err), 0);
        first = row;
        while (row < 30000 && !lk_pq_writer_full(w)) {
            lk_batch_reset(b);
            fill(b, (int)row, 500, 40);
            ck_assert_int_eq(lk_pq_writer_write(w, b, &err), 0);
            row += 500;
        }
        size_t est = lk_pq_writer_estimated_size(w);
        lk_pq_file_info info;
        ck_assert_int_eq(lk_pq_writer_close(w, &info, &err), 0);
        struct stat st;
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_int_eq(info.file_size, st.st_size);
        check_rows(path, all, first, row - first);
        if (row < 30000) { /* a full file: near the target, estimate near the truth */
            ck_assert_msg(st.st_size >= 48 * 1024 && st.st_size <= 80 * 1024, "file %d: %lld bytes",
                          files, (long long)st.st_size);
            ck_assert_msg(est >= (size_t)st.st_size / 2 && est <= (size_t)st.st_size * 2,
                          "estimate %zu for %lld", est, (long long)st.st_size);
        }
        files++;
    }
    ck_assert_msg(files >= 3, "%d files", files);
    lk_pq_writer_destroy(&w);
    lk_batch_destroy(&b);
    lk_batch_destroy(&all);
    lk_schema_destroy(&s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("parquet_sizing");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, pages_cut_by_bytes, 0, 2);
    tcase_add_test(tc, row_groups_cut_by_bytes);
    tcase_add_test(tc, wide_rows_still_cut);
    tcase_add_test(tc, trim_between_row_groups);
    tcase_add_test(tc, files_rolled_at_target_size);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
