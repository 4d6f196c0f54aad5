/* Unit tests for lake/lk_delta_dv through lk_delta_scan: deletion vectors
   built byte by byte here (RoaringBitmapArray: array, run and bitmap
   containers), stored inline (Z85) and in an absolute-path file ('p'),
   skip exactly their rows; a corrupt DV is an error naming the file. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_delta.h"
#include "lk_delta_scan.h"
#include "lk_fs.h"
#include "lk_parquet_writer.h"

#define NROWS 5000

static char dir[256];

static void put32(lk_buf *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        lk_buf_putc(b, (char)(v >> (8 * i)));
}

static void put16(lk_buf *b, uint16_t v)
{
    lk_buf_putc(b, (char)v);
    lk_buf_putc(b, (char)(v >> 8));
}

/* RoaringBitmapArray with one 32-bit bitmap (high key 0) of one container. */
static void dv_array(lk_buf *b, const uint16_t *v, int n)
{
    put32(b, 1681511377u);
    put32(b, 1);
    put32(b, 0); /* int64 count = 1 */
    put32(b, 0); /* high key */
    put32(b, 12346);
    put32(b, 1); /* containers */
    put16(b, 0);
    put16(b, (uint16_t)(n - 1));
    put32(b, 0); /* offset header */
    for (int i = 0; i < n; i++)
        put16(b, v[i]);
}

static void dv_run(lk_buf *b, uint16_t start, uint16_t len)
{
    put32(b, 1681511377u);
    put32(b, 1);
    put32(b, 0);
    put32(b, 0);
    put32(b, 12347);   /* run cookie, (containers - 1) << 16 = 0 */
    lk_buf_putc(b, 1); /* container 0 is a run container */
    put16(b, 0);
    put16(b, (uint16_t)(len - 1));
    put16(b, 1); /* one run */
    put16(b, start);
    put16(b, (uint16_t)(len - 1));
}

static void dv_bitmap(lk_buf *b, int first_n)
{
    put32(b, 1681511377u);
    put32(b, 1);
    put32(b, 0);
    put32(b, 0);
    put32(b, 12346);
    put32(b, 1);
    put16(b, 0);
    put16(b, (uint16_t)(first_n - 1));
    put32(b, 0);
    for (int w = 0; w < 8192; w++) {
        unsigned char byte = 0;
        for (int bit = 0; bit < 8; bit++)
            if (w * 8 + bit < first_n) byte |= (unsigned char)(1u << bit);
        lk_buf_putc(b, (char)byte);
    }
}

static void z85(const lk_buf *in, lk_buf *out)
{
    static const char a[] =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    size_t n = (in->len + 3) / 4 * 4;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = 0;
        for (int k = 0; k < 4; k++)
            v = v << 8 | (i + (size_t)k < in->len ? (unsigned char)in->data[i + k] : 0);
        char c[5];
        for (int k = 4; k >= 0; k--) {
            c[k] = a[v % 85];
            v /= 85;
        }
        lk_buf_append(out, c, 5);
    }
    lk_buf_append(out, "", 0);
}

/* A table with one data file of ids 0..NROWS-1 whose add carries dv_json. */
static lk_delta_table *table_with_dv(const char *dv_json)
{
    lk_check_mkdtemp(dir, sizeof dir, "dv");
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "id", LK_TYPE_LONG, 0);
    lk_batch *b = lk_batch_new(s);
    for (int i = 0; i < NROWS; i++) {
        lk_col_append_i64(lk_batch_col(b, 0), i);
        lk_batch_end_row(b);
    }
    char p[512];
    lk_error err;
    snprintf(p, sizeof p, "%s/data.parquet", dir);
    lk_pq_writer *w = lk_pq_writer_new(s, NULL);
    ck_assert_int_eq(lk_pq_writer_open(w, p, &err), 0);
    ck_assert_int_eq(lk_pq_writer_write(w, b, &err), 0);
    lk_pq_file_info info;
    ck_assert_int_eq(lk_pq_writer_close(w, &info, &err), 0);
    lk_pq_writer_destroy(&w);
    lk_batch_destroy(&b);
    lk_buf log = LK_BUF_INIT, schema = LK_BUF_INIT;
    lk_schema_to_json(s, &schema);
    lk_buf_puts(&log, "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,"
                      "\"readerFeatures\":[\"deletionVectors\"],\"writerFeatures\":"
                      "[\"deletionVectors\"]}}\n{\"metaData\":{\"id\":\"x\",\"format\":"
                      "{\"provider\":\"parquet\",\"options\":{}},\"schemaString\":");
    lk_buf_json_string(&log, schema.data, schema.len);
    lk_buf_printf(&log,
                  ",\"partitionColumns\":[],\"configuration\":{},\"createdTime\":1}}\n"
                  "{\"add\":{\"path\":\"data.parquet\",\"partitionValues\":{},\"size\":%lld,"
                  "\"modificationTime\":1,\"dataChange\":true,\"deletionVector\":%s}}\n",
                  (long long)info.file_size, dv_json);
    snprintf(p, sizeof p, "%s/_delta_log/%020d.json", dir, 0);
    ck_assert_int_eq(lk_fs_mkdirs(p, &err), 0);
    rmdir(p);
    ck_assert_int_eq(lk_fs_put_if_absent(p, log.data, log.len, &err), 0);
    lk_buf_free(&log);
    lk_buf_free(&schema);
    lk_schema_destroy(&s);
    lk_delta_table *t;
    ck_assert_msg(lk_delta_open(dir, &t, &err) == 0, "%s", err.msg);
    return t;
}

/* Rows the scan returns; *first = the first id. */
static int scan_count(lk_delta_table *t, long long *first, int expect_rc, lk_error *err)
{
    lk_delta_scan *s;
    ck_assert_int_eq(lk_delta_scan_new(t, NULL, &s, err), 0);
    lk_buf row = LK_BUF_INIT;
    int n = 0, rc;
    *first = -1;
    while ((lk_buf_reset(&row), rc = lk_delta_scan_next(s, &row, err)) == 1) {
        if (n++ == 0) ck_assert_int_eq(sscanf(row.data, "{\"id\":%lld}", first), 1);
    }
    ck_assert_msg(rc == expect_rc, "rc %d: %s", rc, err->msg);
    lk_buf_free(&row);
    lk_delta_scan_destroy(&s);
    return n;
}

static lk_delta_table *inline_dv(const lk_buf *bitmap, int cardinality)
{
    lk_buf z = LK_BUF_INIT, json = LK_BUF_INIT;
    z85(bitmap, &z);
    lk_buf_printf(&json,
                  "{\"storageType\":\"i\",\"pathOrInlineDv\":\"%s\",\"sizeInBytes\":%zu,"
                  "\"cardinality\":%d}",
                  z.data, bitmap->len, cardinality);
    lk_delta_table *t = table_with_dv(json.data);
    lk_buf_free(&z);
    lk_buf_free(&json);
    return t;
}

START_TEST(inline_array_run_bitmap)
{
    lk_error err;
    long long first;
    lk_buf bm = LK_BUF_INIT;
    const uint16_t del[] = {0, 3, 4999};
    dv_array(&bm, del, 3);
    lk_delta_table *t = inline_dv(&bm, 3);
    ck_assert_int_eq(scan_count(t, &first, 0, &err), NROWS - 3);
    ck_assert_int_eq(first, 1);
    lk_delta_destroy(&t);

    lk_buf_reset(&bm);
    dv_run(&bm, 0, 10);
    t = inline_dv(&bm, 10);
    ck_assert_int_eq(scan_count(t, &first, 0, &err), NROWS - 10);
    ck_assert_int_eq(first, 10);
    lk_delta_destroy(&t);

    lk_buf_reset(&bm);
    dv_bitmap(&bm, 4200);
    t = inline_dv(&bm, 4200);
    ck_assert_int_eq(scan_count(t, &first, 0, &err), NROWS - 4200);
    ck_assert_int_eq(first, 4200);
    lk_delta_destroy(&t);

    /* truncated: an error naming the table, no rows guessed */
    lk_buf_reset(&bm);
    dv_array(&bm, del, 3);
    bm.len -= 4;
    t = inline_dv(&bm, 3);
    scan_count(t, &first, LK_EFORMAT, &err);
    ck_assert_ptr_nonnull(strstr(err.msg, "deletion vector truncated"));
    lk_delta_destroy(&t);

    /* a row the file does not have: refused, which also bounds memory */
    lk_buf_reset(&bm);
    const uint16_t past[] = {1, NROWS};
    dv_array(&bm, past, 2);
    t = inline_dv(&bm, 2);
    scan_count(t, &first, LK_EFORMAT, &err);
    ck_assert_ptr_nonnull(strstr(err.msg, "past the file's 5000 rows"));
    lk_delta_destroy(&t);
    lk_buf_free(&bm);
}
END_TEST

START_TEST(absolute_path_file)
{
    /* the file: a version byte, then at offset 1 size (big-endian), bitmap, CRC */
    lk_buf bm = LK_BUF_INIT, file = LK_BUF_INIT;
    const uint16_t del[] = {7, 8};
    dv_array(&bm, del, 2);
    lk_buf_putc(&file, 1);
    uint32_t n = (uint32_t)bm.len;
    char be[4] = {(char)(n >> 24), (char)(n >> 16), (char)(n >> 8), (char)n};
    lk_buf_append(&file, be, 4);
    lk_buf_append(&file, bm.data, bm.len);
    lk_buf_append(&file, "\0\0\0\0", 4);
    char dvdir[256];
    lk_check_mkdtemp(dvdir, sizeof dvdir, "dvf");
    char p[512];
    lk_error err;
    snprintf(p, sizeof p, "%s/my dv.bin", dvdir);
    ck_assert_int_eq(lk_fs_put_if_absent(p, file.data, file.len, &err), 0);
    char json[512];
    snprintf(json, sizeof json,
             "{\"storageType\":\"p\",\"pathOrInlineDv\":\"file://%s/my%%20dv.bin\","
             "\"offset\":1,\"sizeInBytes\":%u,\"cardinality\":2}",
             dvdir, n);
    lk_delta_table *t = table_with_dv(json);
    long long first;
    ck_assert_int_eq(scan_count(t, &first, 0, &err), NROWS - 2);
    lk_delta_destroy(&t);
    /* a size that does not match the file's */
    snprintf(json, sizeof json,
             "{\"storageType\":\"p\",\"pathOrInlineDv\":\"file://%s/my%%20dv.bin\","
             "\"offset\":1,\"sizeInBytes\":%u,\"cardinality\":2}",
             dvdir, n - 2);
    t = table_with_dv(json);
    scan_count(t, &first, LK_EFORMAT, &err);
    ck_assert_ptr_nonnull(strstr(err.msg, "my dv.bin"));
    lk_delta_destroy(&t);
    lk_buf_free(&bm);
    lk_buf_free(&file);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("delta_dv");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, inline_array_run_bitmap);
    tcase_add_test(tc, absolute_path_file);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
