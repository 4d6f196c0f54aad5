/* Parquet footer statistics as written, read back from the file's bytes:
   min/max/null_count on every leaf column chunk of every row group, the
   orders (unsigned bytes for strings, signed for decimals, -0.0/+0.0 for
   zero bounds), truncated string/binary bounds marked inexact with a
   correctly incremented upper bound, and ColumnOrder TypeDefinedOrder. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_buf.h"
#include "lk_parquet_reader.h"
#include "lk_parquet_writer.h"

static char g_dir[256];

static void setup(void)
{
    lk_check_mkdtemp(g_dir, sizeof g_dir, "pqst");
}

static void teardown(void)
{
    lk_check_rm_rf(g_dir);
}

enum { C_N, C_S, C_BIN, C_D1, C_D2, C_F, C_BIG, C_DEC, C_B, C_I8, C_DEV, C_TAGS, NCOL };

static lk_schema *schema(void)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "n", LK_TYPE_LONG, 1);
    lk_schema_add(s, "s", LK_TYPE_STRING, 1);
    lk_schema_add(s, "bin", LK_TYPE_BINARY, 1);
    lk_schema_add(s, "d1", LK_TYPE_DOUBLE, 1);
    lk_schema_add(s, "d2", LK_TYPE_DOUBLE, 1);
    lk_schema_add(s, "f", LK_TYPE_FLOAT, 1);
    lk_field *big = lk_schema_add(s, "big", LK_TYPE_DECIMAL, 1);
    big->precision = 30;
    big->scale = 2;
    lk_field *dec = lk_schema_add(s, "dec", LK_TYPE_DECIMAL, 1);
    dec->precision = 9;
    dec->scale = 1;
    lk_schema_add(s, "b", LK_TYPE_BOOLEAN, 1);
    lk_schema_add(s, "i8", LK_TYPE_BYTE, 1);
    lk_field *dev = lk_schema_add(s, "dev", LK_TYPE_STRUCT, 1);
    lk_field_add_child(dev, "os", LK_TYPE_STRING, 1);
    lk_field *t = lk_schema_add(s, "tags", LK_TYPE_ARRAY, 1);
    lk_field_add_child(t, "element", LK_TYPE_INTEGER, 1);
    return s;
}

static void be16(int64_t v, uint8_t *b)
{
    memset(b, v < 0 ? 0xff : 0, 8);
    for (int i = 0; i < 8; i++)
        b[8 + i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
}

static char s_apple[101], s_zebra[120], s_mid[8];
static char b_ff[70], b_01[70];

static void strings_init(void)
{
    memcpy(s_apple, "apple", 5);
    memset(s_apple + 5, 'x', 95); /* 100 bytes: the minimum, truncated to 64 */
    memcpy(s_zebra, "zebra", 5);
    for (int i = 0; i < 40; i++) /* then 40 × "é": the maximum, 85 bytes */
        memcpy(s_zebra + 5 + 2 * i, "\xc3\xa9", 2);
    strcpy(s_mid, "mango");
    memset(b_ff, 0xff, sizeof b_ff); /* binary max: cannot be incremented */
    memset(b_01, 0x01, sizeof b_01); /* binary min, truncated */
}

/* Row r of the first row group (r < 4) or of the second. */
static void add_row(lk_batch *b, int r)
{
    static const double d1[] = {0.0, 1.5, NAN, 2.5};
    static const double d2[] = {-3.0, -0.0, -1.0, -2.0};
    lk_col_append_i64(lk_batch_col(b, C_N), r < 4 ? 10 - r * 7 : 1000 + r);
    const char *sv = r % 3 == 0 ? s_apple : r % 3 == 1 ? s_zebra : s_mid;
    size_t sn = r % 3 == 0 ? 100 : r % 3 == 1 ? 85 : 5;
    lk_col_append_bytes(lk_batch_col(b, C_S), sv, sn);
    lk_col_append_bytes(lk_batch_col(b, C_BIN), r % 2 ? b_ff : b_01, 70);
    lk_col_append_f64(lk_batch_col(b, C_D1), d1[r % 4]);
    if (r == 2)
        lk_col_append_null(lk_batch_col(b, C_D2));
    else
        lk_col_append_f64(lk_batch_col(b, C_D2), d2[r % 4]);
    lk_col_append_f32(lk_batch_col(b, C_F), r == 0 ? -0.0f : (float)r);
    uint8_t b16[16];
    be16(r % 2 ? -5 - r : 7 + r, b16);
    lk_col_append_fixed(lk_batch_col(b, C_BIG), b16);
    lk_col_append_i64(lk_batch_col(b, C_DEC), r % 2 ? -r : r * 10);
    if (r == 3)
        lk_col_append_null(lk_batch_col(b, C_B));
    else
        lk_col_append_bool(lk_batch_col(b, C_B), r != 1);
    int8_t i8 = (int8_t)(r % 2 ? -100 : 100);
    lk_col_append_fixed(lk_batch_col(b, C_I8), &i8);
    lk_col *dev = lk_batch_col(b, C_DEV);
    if (r == 1)
        lk_col_append_null(dev);
    else {
        lk_col_append_struct(dev);
        lk_col_append_bytes(&dev->children[0], r ? "linux" : "aix", r ? 5 : 3);
    }
    lk_col *tg = lk_batch_col(b, C_TAGS);
    for (int k = 0; k < r; k++)
        lk_col_append_i32(&tg->children[0], k * 100 - r);
    lk_col_append_list(tg);
    lk_batch_end_row(b);
}

static int64_t rd_i64(const uint8_t *p)
{
    int64_t v;
    memcpy(&v, p, 8);
    return v;
}

static int32_t rd_i32(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

static double rd_f64(const uint8_t *p)
{
    double v;
    memcpy(&v, p, 8);
    return v;
}

START_TEST(footer_statistics)
{
    strings_init();
    lk_schema *s = schema();
    lk_batch *b = lk_batch_new(s);
    lk_pq_options o;
    lk_pq_options_default(&o);
    o.fsync = 0;
    lk_pq_writer *w = lk_pq_writer_new(s, &o);
    char path[512];
    snprintf(path, sizeof path, "%s/stats.parquet", g_dir);
    lk_error err;
    ck_assert_int_eq(lk_pq_writer_open(w, path, &err), 0);
    for (int r = 0; r < 4; r++)
        add_row(b, r);
    ck_assert_int_eq(lk_pq_writer_write(w, b, &err), 0);
    lk_pq_file_info info;
    ck_assert_int_eq(lk_pq_writer_close(w, &info, &err), 0);
    /* the file info keeps exact (untruncated) bounds for Delta */
    ck_assert_int_eq((int)info.leaves[C_S].min.n, 100);
    ck_assert_int_eq((int)info.leaves[C_S].max.n, 85);

    lk_pq_reader *r = NULL;
    ck_assert_msg(lk_pq_reader_open(path, &r, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(lk_pq_reader_num_leaves(r), NCOL);
    ck_assert_int_eq(lk_pq_reader_type_defined_orders(r), NCOL);
    lk_pq_chunk_meta m[NCOL];
    for (int i = 0; i < NCOL; i++) {
        ck_assert_int_eq(lk_pq_reader_chunk_meta(r, 0, i, &m[i], &err), 0);
        ck_assert_msg(m[i].has_stats, "leaf %d", i);
        ck_assert_msg(m[i].min && m[i].max, "leaf %s has no bounds", m[i].path);
    }
    /* n: 10, 3, -4, -11 */
    ck_assert_int_eq(rd_i64(m[C_N].min), -11);
    ck_assert_int_eq(rd_i64(m[C_N].max), 10);
    ck_assert_int_eq(m[C_N].null_count, 0);
    ck_assert_int_eq(m[C_N].min_exact, 1);
    ck_assert_int_eq(m[C_N].max_exact, 1);
    /* s: min "apple"+95 x truncated to 64 bytes; max "zebra"+é... → "zebrb" */
    ck_assert_int_eq((int)m[C_S].min_len, 64);
    ck_assert(!memcmp(m[C_S].min, s_apple, 64));
    ck_assert_int_eq(m[C_S].min_exact, 0);
    ck_assert_int_eq((int)m[C_S].max_len, 5);
    ck_assert(!memcmp(m[C_S].max, "zebrb", 5));
    ck_assert_int_eq(m[C_S].max_exact, 0);
    /* bin: min 0x01 × 64 (inexact); max 0xff × 70 cannot be incremented: exact */
    ck_assert_int_eq((int)m[C_BIN].min_len, 64);
    ck_assert_int_eq(m[C_BIN].min[63], 1);
    ck_assert_int_eq(m[C_BIN].min_exact, 0);
    ck_assert_int_eq((int)m[C_BIN].max_len, 70);
    ck_assert_int_eq(m[C_BIN].max[69], 0xff);
    ck_assert_int_eq(m[C_BIN].max_exact, 1);
    /* d1: 0.0 1.5 NaN 2.5 → min -0.0 (NaN ignored), max 2.5 */
    ck_assert(rd_f64(m[C_D1].min) == 0.0 && signbit(rd_f64(m[C_D1].min)));
    ck_assert(rd_f64(m[C_D1].max) == 2.5);
    /* d2: -3 -0.0 null -2 → max +0.0, min -3, 1 null */
    ck_assert(rd_f64(m[C_D2].max) == 0.0 && !signbit(rd_f64(m[C_D2].max)));
    ck_assert(rd_f64(m[C_D2].min) == -3.0);
    ck_assert_int_eq(m[C_D2].null_count, 1);
    /* f: -0.0 1 2 3 → min -0.0 */
    float fmin;
    memcpy(&fmin, m[C_F].min, 4);
    ck_assert(fmin == 0.0f && signbit(fmin));
    /* big: 7, -6, 9, -8 as 16-byte big-endian two's complement: signed order */
    ck_assert_int_eq((int)m[C_BIG].min_len, 16);
    uint8_t want[16];
    be16(-8, want);
    ck_assert(!memcmp(m[C_BIG].min, want, 16));
    be16(9, want);
    ck_assert(!memcmp(m[C_BIG].max, want, 16));
    /* dec (INT64 unscaled): 0, -1, 20, -3 */
    ck_assert_int_eq(rd_i64(m[C_DEC].min), -3);
    ck_assert_int_eq(rd_i64(m[C_DEC].max), 20);
    /* b: true false true null */
    ck_assert_int_eq(m[C_B].min[0], 0);
    ck_assert_int_eq(m[C_B].max[0], 1);
    ck_assert_int_eq(m[C_B].null_count, 1);
    /* i8 as INT32: -100..100 */
    ck_assert_int_eq(rd_i32(m[C_I8].min), -100);
    ck_assert_int_eq(rd_i32(m[C_I8].max), 100);
    /* dev.os: aix, (struct null), linux, linux */
    ck_assert_str_eq(m[C_DEV].path, "dev.os");
    ck_assert(m[C_DEV].min_len == 3 && !memcmp(m[C_DEV].min, "aix", 3));
    ck_assert(m[C_DEV].max_len == 5 && !memcmp(m[C_DEV].max, "linux", 5));
    ck_assert_int_eq(m[C_DEV].null_count, 1);
    /* tags.element: rows of 0..3 elements k*100-r: -1, -2 98, -3 97 197 */
    ck_assert_int_eq(rd_i32(m[C_TAGS].min), -3);
    ck_assert_int_eq(rd_i32(m[C_TAGS].max), 197);
    lk_pq_reader_destroy(&r);
    lk_pq_writer_destroy(&w);
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
}
END_TEST

/* Per row group statistics: each chunk's bounds are its own. */
START_TEST(statistics_per_row_group)
{
    strings_init();
    lk_schema *s = schema();
    lk_batch *b = lk_batch_new(s);
    for (int r = 0; r < 3000; r++)
        add_row(b, r);
    lk_pq_options o;
    lk_pq_options_default(&o);
    o.fsync = 0;
    o.row_group_bytes = 64 * 1024;
    o.page_bytes = 8 * 1024;
    lk_pq_writer *w = lk_pq_writer_new(s, &o);
    char path[512];
    snprintf(path, sizeof path, "%s/rg.parquet", g_dir);
    lk_error err;
    ck_assert_int_eq(lk_pq_writer_open(w, path, &err), 0);
    ck_assert_int_eq(lk_pq_writer_write(w, b, &err), 0);
    ck_assert_int_eq(lk_pq_writer_close(w, NULL, &err), 0);
    lk_pq_reader *r = NULL;
    ck_assert_int_eq(lk_pq_reader_open(path, &r, &err), 0);
    int ng = lk_pq_reader_num_row_groups(r);
    ck_assert_int_gt(ng, 2);
    int64_t row = 0;
    lk_batch *got = NULL;
    for (int g = 0; g < ng; g++) {
        lk_pq_chunk_meta m;
        ck_assert_int_eq(lk_pq_reader_chunk_meta(r, g, C_N, &m, &err), 0);
        ck_assert_int_gt(m.data_pages, 0);
        int cols[] = {C_N};
        ck_assert_int_eq(lk_pq_reader_read_row_group(r, g, cols, 1, &got, &err), 0);
        uint32_t n = lk_batch_nrows(got);
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (uint32_t i = 0; i < n; i++) {
            int64_t v = lk_col_i64(lk_batch_col(got, 0), i);
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        ck_assert_int_eq(rd_i64(m.min), lo);
        ck_assert_int_eq(rd_i64(m.max), hi);
        row += n;
    }
    ck_assert_int_eq(row, 3000);
    lk_batch_destroy(&got);
    lk_pq_reader_destroy(&r);
    lk_pq_writer_destroy(&w);
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
}
END_TEST

/* stats_max_bytes = 0: no truncation at all. */
START_TEST(no_truncation_when_disabled)
{
    strings_init();
    lk_schema *s = schema();
    lk_batch *b = lk_batch_new(s);
    for (int r = 0; r < 3; r++)
        add_row(b, r);
    lk_pq_options o;
    lk_pq_options_default(&o);
    o.fsync = 0;
    o.stats_max_bytes = 0;
    lk_pq_writer *w = lk_pq_writer_new(s, &o);
    char path[512];
    snprintf(path, sizeof path, "%s/full.parquet", g_dir);
    lk_error err;
    ck_assert_int_eq(lk_pq_writer_open(w, path, &err), 0);
    ck_assert_int_eq(lk_pq_writer_write(w, b, &err), 0);
    ck_assert_int_eq(lk_pq_writer_close(w, NULL, &err), 0);
    lk_pq_reader *r = NULL;
    ck_assert_int_eq(lk_pq_reader_open(path, &r, &err), 0);
    lk_pq_chunk_meta m;
    ck_assert_int_eq(lk_pq_reader_chunk_meta(r, 0, C_S, &m, &err), 0);
    ck_assert_int_eq((int)m.min_len, 100);
    ck_assert_int_eq((int)m.max_len, 85);
    ck_assert(!memcmp(m.max, s_zebra, 85));
    ck_assert_int_eq(m.min_exact, 1);
    ck_assert_int_eq(m.max_exact, 1);
    lk_pq_reader_destroy(&r);
    lk_pq_writer_destroy(&w);
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("parquet_stats");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, footer_statistics);
    tcase_add_test(tc, statistics_per_row_group);
    tcase_add_test(tc, no_truncation_when_disabled);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
