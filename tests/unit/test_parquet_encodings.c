/* Parquet value encodings beside PLAIN and the dictionary (issue 16):
   DELTA_BINARY_PACKED for integers (falling back to PLAIN where a delta
   would overflow the type), DELTA_BYTE_ARRAY for strings that share
   prefixes, BYTE_STREAM_SPLIT for floats and doubles when asked. Each is
   chosen where expected (the data pages' encodings read back from the
   file), read back equal by lk_parquet_reader over many pages, with nulls,
   and makes the file smaller where the choice says it pays. DuckDB reads
   them too: tests/e2e/parquet_property.test.mjs (random encodings) and
   every e2e table check. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lk_check.h"
#include "lk_buf.h"
#include "lk_parquet_reader.h"
#include "lk_parquet_writer.h"
#include "lk_rowjson.h"

enum { PLAIN = 0, DBP = 5, DELTA_BYTE_ARRAY = 7, RLE_DICTIONARY = 8, BSS = 9 };

static char g_dir[256];

static void setup(void)
{
    lk_check_mkdtemp(g_dir, sizeof g_dir, "pqenc");
}

static void teardown(void)
{
    lk_check_rm_rf(g_dir);
}

/* Columns: sorted long ids, random ints, longs whose deltas overflow, a
   timestamp, sorted string ids (nullable), random strings, a double, a
   float, and an int inside a list. */
static lk_schema *schema(void)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "id", LK_TYPE_LONG, 0);
    lk_schema_add(s, "r", LK_TYPE_INTEGER, 1);
    lk_schema_add(s, "wild", LK_TYPE_LONG, 0);
    lk_schema_add(s, "ts", LK_TYPE_TIMESTAMP, 1);
    lk_schema_add(s, "sid", LK_TYPE_STRING, 1);
    lk_schema_add(s, "rnd", LK_TYPE_STRING, 0);
    lk_schema_add(s, "amount", LK_TYPE_DOUBLE, 1);
    lk_schema_add(s, "f", LK_TYPE_FLOAT, 0);
    lk_field *a = lk_schema_add(s, "tags", LK_TYPE_ARRAY, 1);
    lk_field_add_child(a, "element", LK_TYPE_INTEGER, 1);
    return s;
}

static uint64_t g_rng = 88172645463325252ull;
static uint64_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

static lk_batch *rows(lk_schema *s, int n)
{
    lk_batch *b = lk_batch_new(s);
    char str[64];
    for (int i = 0; i < n; i++) {
        lk_col_append_i64(lk_batch_col(b, 0), 1000000000000LL + i * 3);
        if (i % 11 == 0)
            lk_col_append_null(lk_batch_col(b, 1));
        else
            lk_col_append_i32(lk_batch_col(b, 1), (int32_t)(rnd() % 200001) - 100000);
        /* alternating extremes: deltas overflow int64 */
        lk_col_append_i64(lk_batch_col(b, 2), i % 2 ? INT64_MAX - i : INT64_MIN + i);
        lk_col_append_i64(lk_batch_col(b, 3), 1795512600000000LL + (int64_t)i * 61237);
        if (i % 7 == 3) {
            lk_col_append_null(lk_batch_col(b, 4));
        } else {
            int k = snprintf(str, sizeof str, "evt-9-%010d", i);
            lk_col_append_bytes(lk_batch_col(b, 4), str, (size_t)k);
        }
        int k = (int)(rnd() % 20);
        for (int j = 0; j < k; j++)
            str[j] = (char)('a' + rnd() % 26);
        lk_col_append_bytes(lk_batch_col(b, 5), str, (size_t)k);
        if (i % 5 == 0)
            lk_col_append_null(lk_batch_col(b, 6));
        else
            lk_col_append_f64(lk_batch_col(b, 6), (double)(rnd() % 100000) / 100.0);
        lk_col_append_f32(lk_batch_col(b, 7), (float)i * 0.25f - 7.5f);
        lk_col *t = lk_batch_col(b, 8);
        for (int j = 0; j < i % 4; j++)
            lk_col_append_i32(&t->children[0], i * 1000 + j);
        lk_col_append_list(t);
        lk_batch_end_row(b);
    }
    return b;
}

static void check_rows(const char *path, const lk_batch *b)
{
    lk_error err;
    lk_pq_reader *r = NULL;
    ck_assert_msg(lk_pq_reader_open(path, &r, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(lk_pq_reader_num_rows(r), lk_batch_nrows(b));
    lk_batch *got = NULL;
    lk_buf x = LK_BUF_INIT, y = LK_BUF_INIT;
    uint32_t row = 0;
    for (int g = 0; g < lk_pq_reader_num_row_groups(r); g++) {
        ck_assert_msg(lk_pq_reader_read_row_group(r, g, NULL, 0, &got, &err) == 0, "%s", err.msg);
        for (uint32_t i = 0; i < lk_batch_nrows(got); i++, row++) {
            lk_buf_reset(&x);
            lk_buf_reset(&y);
            lk_rowjson_append(b, row, &x);
            lk_rowjson_append(got, i, &y);
            ck_assert_msg(!strcmp(x.data, y.data), "row %u\nwant %.300s\ngot  %.300s", row, x.data,
                          y.data);
        }
    }
    ck_assert_uint_eq(row, lk_batch_nrows(b));
    lk_buf_free(&x);
    lk_buf_free(&y);
    lk_batch_destroy(&got);
    lk_pq_reader_destroy(&r);
}

/* b written with o to path (g_dir/name.parquet); returns the file's size. */
static int64_t write_with(const lk_pq_options *o, const char *name, lk_schema *s, const lk_batch *b,
                          char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s.parquet", g_dir, name);
    lk_pq_writer *w = lk_pq_writer_new(s, o);
    lk_error err;
    lk_pq_file_info info;
    ck_assert_int_eq(lk_pq_writer_open(w, path, &err), 0);
    ck_assert_msg(lk_pq_writer_write(w, b, &err) == 0, "%s", err.msg);
    ck_assert_msg(lk_pq_writer_close(w, &info, &err) == 0, "%s", err.msg);
    lk_pq_writer_destroy(&w);
    return info.file_size;
}

static int64_t write_file(const char *name, lk_schema *s, const lk_batch *b, unsigned encodings,
                          int dictionary, char *path, size_t cap)
{
    lk_pq_options o;
    lk_pq_options_default(&o);
    o.fsync = 0;
    o.page_bytes = 8 * 1024; /* many pages per chunk */
    o.row_group_bytes = 1u << 20;
    o.encodings = encodings;
    o.dictionary = dictionary;
    return write_with(&o, name, s, b, path, cap);
}

/* The encodings of leaf's data pages in row group 0, and its compressed bytes over all. */
static unsigned encodings_of(const char *path, int leaf, int64_t *bytes)
{
    lk_error err;
    lk_pq_reader *r = NULL;
    ck_assert_int_eq(lk_pq_reader_open(path, &r, &err), 0);
    unsigned e = 0;
    *bytes = 0;
    for (int g = 0; g < lk_pq_reader_num_row_groups(r); g++) {
        lk_pq_chunk_meta m;
        ck_assert_msg(lk_pq_reader_chunk_meta(r, g, leaf, &m, &err) == 0, "%s", err.msg);
        if (g == 0) {
            e = m.page_encodings;
            ck_assert_msg(m.data_pages > 1 || leaf == 2, "leaf %d: %d page(s)", leaf, m.data_pages);
        }
        *bytes += m.compressed_bytes;
    }
    lk_pq_reader_destroy(&r);
    return e;
}

START_TEST(each_encoding_where_it_pays_and_read_back_equal)
{
    lk_schema *s = schema();
    lk_batch *b = rows(s, 30000);
    char pall[512], pplain[512];
    int64_t all = write_file("all", s, b, LK_PQ_ENC_ALL, 0, pall, sizeof pall);
    int64_t plain = write_file("plain", s, b, 0, 0, pplain, sizeof pplain);
    check_rows(pall, b);
    check_rows(pplain, b);
    int64_t eb, pb;
    /* leaves: id r wild ts sid rnd amount f tags.element */
    static const struct {
        int leaf, enc;
        int smaller; /* 1: must be smaller than PLAIN */
    } want[] = {
        {0, DBP, 1},   {1, DBP, 1}, {2, PLAIN, 0}, {3, DBP, 1}, {4, DELTA_BYTE_ARRAY, 1},
        {5, PLAIN, 0}, {6, BSS, 0}, {7, BSS, 0},   {8, DBP, 1},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        unsigned e = encodings_of(pall, want[i].leaf, &eb);
        ck_assert_msg(e == 1u << want[i].enc, "leaf %d: encodings 0x%x, want %d", want[i].leaf, e,
                      want[i].enc);
        ck_assert_uint_eq(encodings_of(pplain, want[i].leaf, &pb), 1u << PLAIN);
        if (want[i].smaller)
            ck_assert_msg(eb < pb, "leaf %d: %lld bytes, PLAIN %lld", want[i].leaf, (long long)eb,
                          (long long)pb);
    }
    ck_assert_msg(all < plain, "file %lld bytes, PLAIN %lld", (long long)all, (long long)plain);
    /* the default set: no BYTE_STREAM_SPLIT (it did not pay on the benchmark's amounts) */
    lk_pq_options o;
    lk_pq_options_default(&o);
    ck_assert_uint_eq(o.encodings, LK_PQ_ENC_DELTA_INT | LK_PQ_ENC_DELTA_STRINGS);
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
}
END_TEST

/* With the dictionary on (the default), columns it does not pay for take
   the default encodings; all read back equal. */
START_TEST(dictionary_first_then_deltas)
{
    lk_schema *s = schema();
    lk_batch *b = rows(s, 20000);
    char p[512];
    write_file("dict", s, b, LK_PQ_ENC_DEFAULT, 1, p, sizeof p);
    check_rows(p, b);
    int64_t n;
    ck_assert_uint_eq(encodings_of(p, 0, &n), 1u << DBP);              /* unique ids */
    ck_assert_uint_eq(encodings_of(p, 4, &n), 1u << DELTA_BYTE_ARRAY); /* unique string ids */
    ck_assert_uint_eq(encodings_of(p, 2, &n), 1u << PLAIN);            /* deltas overflow */
    ck_assert_uint_eq(encodings_of(p, 7, &n), 1u << PLAIN);            /* no BSS by default */
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
}
END_TEST

/* Tiny chunks: one value, all nulls, exactly a block, a block plus one. */
START_TEST(edge_sizes)
{
    static const int sizes[] = {1, 2, 31, 32, 33, 127, 128, 129, 130, 257};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        lk_schema *s = schema();
        lk_batch *b = rows(s, sizes[k]);
        char name[32], p[512];
        snprintf(name, sizeof name, "edge%d", sizes[k]);
        write_file(name, s, b, LK_PQ_ENC_ALL, 0, p, sizeof p);
        check_rows(p, b);
        lk_batch_destroy(&b);
        lk_schema_destroy(&s);
    }
}
END_TEST

/* ZSTD at the configured level or up to two below (lk_parquet_writer.c, zstd_page): hex digests
   compress no larger at levels 2 and 1 than at 3, so their pages go at 1 and the column is byte
   for byte the one written at level 1; phrases of a small vocabulary compress smaller at 3, so
   their pages stay at 3. Off (zstd_adaptive 0) and at level 1, every page is at the configured
   level. */
static int64_t write_zstd(const char *name, lk_schema *s, const lk_batch *b, int level,
                          int adaptive, size_t page, char *path, size_t cap)
{
    lk_pq_options o;
    lk_pq_options_default(&o);
    o.fsync = 0;
    o.page_bytes = page;
    o.row_group_bytes = 64u << 20;
    o.dictionary = 0;
    o.zstd_level = level;
    o.zstd_adaptive = adaptive;
    char full[128];
    snprintf(full, sizeof full, "%s-%zu", name, page);
    return write_with(&o, full, s, b, path, cap);
}

START_TEST(zstd_level_or_up_to_two_below)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "hex", LK_TYPE_STRING, 1);
    lk_schema_add(s, "words", LK_TYPE_STRING, 0);
    lk_schema_add(s, "amount", LK_TYPE_DOUBLE, 0);
    lk_batch *b = lk_batch_new(s);
    static const char X[] = "0123456789abcdef";
    static const char *W[] = {"alpha",   "beta", "gamma", "delta",  "epsilon", "zeta",    "eta",
                              "theta",   "iota", "kappa", "lambda", "mu",      "nu",      "xi",
                              "omicron", "pi",   "rho",   "sigma",  "tau",     "upsilon", "phi",
                              "chi",     "psi",  "omega", "red",    "green",   "blue"};
    for (int i = 0; i < 60000; i++) {
        char h[64], t[128];
        for (int j = 0; j < 64; j++)
            h[j] = X[rnd() & 15];
        if (i % 9 == 4)
            lk_col_append_null(lk_batch_col(b, 0));
        else
            lk_col_append_bytes(lk_batch_col(b, 0), h, 64);
        int k = 0, nw = 2 + (int)(rnd() % 5);
        for (int j = 0; j < nw; j++)
            k += snprintf(t + k, sizeof t - (size_t)k, "%s%s", j ? " " : "", W[rnd() % 27]);
        lk_col_append_bytes(lk_batch_col(b, 1), t, (size_t)k);
        lk_col_append_f64(lk_batch_col(b, 2), (double)(rnd() % 100000) / 100.0);
        lk_batch_end_row(b);
    }
    /* pages probed whole (256 KiB), and probed by their first 320 KiB (1 MiB) */
    for (size_t page = 256 * 1024; page <= 1024 * 1024; page *= 4) {
        char pa[512], p3[512], p2[512], p1a[512], p1[512], p2a[512];
        int64_t fa = write_zstd("adaptive", s, b, 3, 1, page, pa, sizeof pa);
        int64_t f3 = write_zstd("level3", s, b, 3, 0, page, p3, sizeof p3);
        write_zstd("level2", s, b, 2, 0, page, p2, sizeof p2);
        write_zstd("adaptive2", s, b, 2, 1, page, p2a, sizeof p2a);
        int64_t f1a = write_zstd("level1a", s, b, 1, 1, page, p1a, sizeof p1a);
        int64_t f1 = write_zstd("level1", s, b, 1, 0, page, p1, sizeof p1);
        check_rows(pa, b);
        check_rows(p3, b);
        int64_t ha, h3, h2, h1, sa, s3, s2;
        encodings_of(pa, 0, &ha);
        encodings_of(p3, 0, &h3);
        encodings_of(p2, 0, &h2);
        encodings_of(p1, 0, &h1);
        ck_assert_uint_eq(encodings_of(pa, 1, &sa), 1u << PLAIN);
        encodings_of(p3, 1, &s3);
        encodings_of(p2, 1, &s2);
        ck_assert_msg(h2 < h3 && h1 <= h3 && s3 < s2,
                      "the data no longer tells the levels apart: hex %lld/%lld/%lld, "
                      "words %lld/%lld at levels 1/2/3 and 2/3",
                      (long long)h1, (long long)h2, (long long)h3, (long long)s2, (long long)s3);
        ck_assert_int_eq(ha, h1); /* every hex page at level 1 */
        /* doubles in one page (1 MiB pages: the 480 KB column is one page, probed whole): level
           2 no larger than 3, level 1 more than 1/128 larger: the page at 2 (the probe kept level
           2's output when it rejected level 1's) */
        int64_t da, d3, d2, d1;
        encodings_of(pa, 2, &da);
        encodings_of(p3, 2, &d3);
        encodings_of(p2, 2, &d2);
        encodings_of(p1, 2, &d1);
        if (page == 1024 * 1024) {
            ck_assert_msg(d2 <= d3 && d1 > d3 + d3 / 128,
                          "the doubles no longer tell the levels apart: %lld/%lld/%lld at 1/2/3",
                          (long long)d1, (long long)d2, (long long)d3);
            ck_assert_int_eq(da, d2);
        } else {
            /* doubles in 256 KiB pages: level 2 more than 1/128 larger than 3, level 1 larger
               than 3 but within 1/128 of it: the pages at 1 (a level past a rejected one is
               still tried, and "no larger" has a slack of 1/128) */
            ck_assert_msg(d2 > d3 + d3 / 128 && d1 > d3 && d1 <= d3 + d3 / 128,
                          "the doubles no longer tell the levels apart: %lld/%lld/%lld at 1/2/3",
                          (long long)d1, (long long)d2, (long long)d3);
            ck_assert_int_eq(da, d1);
        }
        /* configured level 2: one level below only, hex at 1 where that is no larger */
        int64_t h2a;
        encodings_of(p2a, 0, &h2a);
        ck_assert_int_eq(h2a, h1 <= h2 ? h1 : h2);
        ck_assert_int_eq(sa, s3); /* every page of words at level 3 */
        ck_assert_msg(fa < f3, "adaptive %lld bytes, level 3 %lld", (long long)fa, (long long)f3);
        ck_assert_int_eq(f1a, f1); /* nothing below level 1 */
    }
    lk_pq_options o;
    lk_pq_options_default(&o);
    ck_assert_int_eq(o.zstd_adaptive, 1);
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
}
END_TEST

/* Definition and repetition levels are the RLE/bit-packed hybrid (lk_parquet_writer.c,
   encode_levels): scattered nulls go bit-packed, one bit a level, where RLE runs alone took ~0.85
   bytes a level (and a reader one turn per run: DuckDB read a 30 %-null column 15 % slower);
   long runs stay RLE runs of a few bytes. Read back equal by lk_parquet_reader, lists included;
   DuckDB reads them in every e2e table check and tests/e2e/parquet_property.test.mjs. */
START_TEST(levels_bit_packed_where_nulls_scatter)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "scattered", LK_TYPE_DOUBLE, 1); /* 30 % nulls at random */
    lk_schema_add(s, "rare", LK_TYPE_DOUBLE, 1);      /* a null every 5,000 rows */
    lk_field *a = lk_schema_add(s, "tags", LK_TYPE_ARRAY, 1);
    lk_field_add_child(a, "element", LK_TYPE_INTEGER, 1);
    lk_batch *b = lk_batch_new(s);
    enum { N = 40000 };
    int64_t nonnull[2] = {0, 0};
    for (int i = 0; i < N; i++) {
        if (rnd() % 10 < 3) {
            lk_col_append_null(lk_batch_col(b, 0));
        } else {
            lk_col_append_f64(lk_batch_col(b, 0), (double)i);
            nonnull[0]++;
        }
        if (i % 5000 == 17) {
            lk_col_append_null(lk_batch_col(b, 1));
        } else {
            lk_col_append_f64(lk_batch_col(b, 1), (double)i);
            nonnull[1]++;
        }
        lk_col *t = lk_batch_col(b, 2);
        if (i % 13 == 5) {
            lk_col_append_null(t);
        } else {
            int k = (int)(rnd() % 4);
            for (int j = 0; j < k; j++) {
                if (rnd() % 4 == 0)
                    lk_col_append_null(&t->children[0]);
                else
                    lk_col_append_i32(&t->children[0], i + j);
            }
            lk_col_append_list(t);
        }
        lk_batch_end_row(b);
    }
    lk_pq_options o;
    lk_pq_options_default(&o);
    o.fsync = 0;
    o.codec = LK_PQ_UNCOMPRESSED;
    o.dictionary = 0;
    o.encodings = 0;
    o.page_bytes = 64 * 1024;
    char p[512];
    write_with(&o, "levels", s, b, p, sizeof p);
    check_rows(p, b);
    /* each column's bytes past its values: its levels and page headers */
    lk_error err;
    lk_pq_reader *r = NULL;
    ck_assert_int_eq(lk_pq_reader_open(p, &r, &err), 0);
    int64_t bytes[2] = {0, 0}, pages[2] = {0, 0};
    for (int g = 0; g < lk_pq_reader_num_row_groups(r); g++)
        for (int leaf = 0; leaf < 2; leaf++) {
            lk_pq_chunk_meta m;
            ck_assert_msg(lk_pq_reader_chunk_meta(r, g, leaf, &m, &err) == 0, "%s", err.msg);
            bytes[leaf] += m.compressed_bytes;
            pages[leaf] += m.data_pages;
        }
    lk_pq_reader_destroy(&r);
    for (int leaf = 0; leaf < 2; leaf++) {
        int64_t levels = bytes[leaf] - nonnull[leaf] * 8 - pages[leaf] * 48;
        /* bit-packed: N / 8 bytes, a header byte per 504 levels, and the runs of 8 or more
           non-nulls as RLE runs between groups (a quarter more at most); RLE runs alone: ~0.85 N */
        int64_t most = leaf == 0 ? N / 8 + N / 32 : pages[leaf] * 32;
        ck_assert_msg(levels <= most, "leaf %d: %lld bytes of levels in %lld pages, at most %lld",
                      leaf, (long long)levels, (long long)pages[leaf], (long long)most);
    }
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
}
END_TEST


int main(void)
{
    Suite *su = suite_create("parquet_encodings");
    TCase *tc = tcase_create("encodings");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, each_encoding_where_it_pays_and_read_back_equal);
    tcase_add_test(tc, dictionary_first_then_deltas);
    tcase_add_test(tc, edge_sizes);
    tcase_add_test(tc, zstd_level_or_up_to_two_below);
    tcase_add_test(tc, levels_bit_packed_where_nulls_scatter);
    suite_add_tcase(su, tc);
    return lk_check_run(su);
}
