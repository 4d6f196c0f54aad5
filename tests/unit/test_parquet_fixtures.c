/* The Parquet reader against files other writers made (apache/parquet-testing
   and a Spark TIMESTAMP_MILLIS file of the Delta golden tables): every file
   in tests/fixtures/parquet-testing either reads to the rows DuckDB reads or
   fails with an error that names the file and the unsupported feature.

   The digests pin the decoded values: a hash over every row's decoded
   values (not over a text rendering). They were taken once the rows of each
   file compared equal, value for value, with DuckDB 1.x's rows (the
   comparison script is described in docs/parquet.md); files DuckDB cannot
   read were checked against their README/expect.csv. Explicit value checks
   below cover each feature by hand. Run with LK_PQ_FIXTURE_PRINT=1 to print
   the table for a new fixture. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_buf.h"
#include "lk_check.h"
#include "lk_parquet_reader.h"
#include "lk_parquet_writer.h"
#include "lk_rowjson.h"

#define FIX LK_SOURCE_DIR "/tests/fixtures/parquet-testing/"

typedef struct fixture {
    const char *file;
    long long rows;
    unsigned long long digest;
    const char *error; /* NULL: must read; else a substring of the error */
} fixture;

/* file, rows, digest of the decoded values, or the error's key words */
static const fixture FIXTURES[] = {
    {"alltypes_dictionary.parquet", 2, 0x212c352033238ac2ull, NULL},
    {"alltypes_plain.parquet", 8, 0xf6541c2532e019cfull, NULL},
    {"alltypes_plain.snappy.parquet", 2, 0xe10151c4bb550710ull, NULL},
    {"alltypes_tiny_pages.parquet", 7300, 0x6fd1b86793ef2f4cull, NULL},
    {"alltypes_tiny_pages_plain.parquet", 7300, 0x6fd1b86793ef2f4cull, NULL},
    {"binary.parquet", 12, 0xd6aa9002f24c75b3ull, NULL},
    {"binary_truncated_min_max.parquet", 12, 0x3b03d4f748f7e8a4ull, NULL},
    {"byte_array_decimal.parquet", 24, 0x07997f27e6f61ff0ull, NULL},
    {"byte_stream_split.zstd.parquet", 300, 0x8f1e8d5441091ef8ull, NULL},
    {"byte_stream_split_extended.gzip.parquet", 200, 0x0ec7f2914c066b9dull, NULL},
    {"column_chunk_key_value_metadata.parquet", 0, 0x14650fb0739d0383ull, NULL},
    {"concatenated_gzip_members.parquet", 513, 0x99b7a70403405e64ull, NULL},
    {"data_index_bloom_encoding_stats.parquet", 14, 0x6d2fac1d115b5cbcull, NULL},
    {"data_index_bloom_encoding_with_length.parquet", 14, 0x6d2fac1d115b5cbcull, NULL},
    {"datapage_v1-corrupt-checksum.parquet", 0, 0, "page checksum (CRC-32) mismatch"},
    {"datapage_v1-snappy-compressed-checksum.parquet", 5120, 0x1eff078e4d654383ull, NULL},
    {"datapage_v1-uncompressed-checksum.parquet", 5120, 0x1eff078e4d654383ull, NULL},
    {"datapage_v2.snappy.parquet", 5, 0x33b44ab0924c279aull, NULL},
    {"datapage_v2_empty_datapage.snappy.parquet", 1, 0x44bd2ad473ccf5e6ull, NULL},
    {"delta_binary_packed.parquet", 200, 0xbe731f9dd8569be8ull, NULL},
    {"delta_byte_array.parquet", 1000, 0xa7d07d70b013e846ull, NULL},
    {"delta_encoding_optional_column.parquet", 100, 0xc107627eb5fee74full, NULL},
    {"delta_encoding_required_column.parquet", 100, 0x1d7158ce04d05bd2ull, NULL},
    {"delta_length_byte_array.parquet", 1000, 0xc66a1e42aab20c2eull, NULL},
    {"dict-page-offset-zero.parquet", 39, 0xf987b63689135967ull, NULL},
    {"encrypt_columns_and_footer.parquet.encrypted", 0, 0, "Parquet encryption unsupported"},
    {"encrypt_columns_and_footer_aad.parquet.encrypted", 0, 0, "Parquet encryption unsupported"},
    {"encrypt_columns_and_footer_bloom_filter.parquet.encrypted", 0, 0,
     "Parquet encryption unsupported"},
    {"encrypt_columns_and_footer_ctr.parquet.encrypted", 0, 0, "Parquet encryption unsupported"},
    {"encrypt_columns_and_footer_disable_aad_storage.parquet.encrypted", 0, 0,
     "Parquet encryption unsupported"},
    {"encrypt_columns_plaintext_footer.parquet.encrypted", 0, 0, "Parquet encryption unsupported"},
    {"external_key_material_java.parquet.encrypted", 0, 0, "Parquet encryption unsupported"},
    {"fixed_length_byte_array.parquet", 1000, 0xa8159aeefa9568f4ull, NULL},
    {"fixed_length_decimal.parquet", 24, 0x9ac79933e97af9e2ull, NULL},
    {"fixed_length_decimal_legacy.parquet", 24, 0x07997f27e6f61ff0ull, NULL},
    {"float16_nonzeros_and_nans.parquet", 8, 0x69e0811b21dcb43bull, NULL},
    {"float16_zeros_and_nans.parquet", 3, 0xa6c56289c741a177ull, NULL},
    {"floating_orders_nan_count.parquet", 50, 0x425bea9cb14c3b9dull, NULL},
    {"hadoop_lz4_compressed.parquet", 0, 0, "compression codec LZ4 (Hadoop) (5) unsupported"},
    {"hadoop_lz4_compressed_larger.parquet", 0, 0,
     "compression codec LZ4 (Hadoop) (5) unsupported"},
    {"incorrect_map_schema.parquet", 1, 0x7fc9e113358570b4ull, NULL},
    {"int32_decimal.parquet", 24, 0x07997f27e6f61ff0ull, NULL},
    {"int32_with_null_pages.parquet", 1000, 0x18a62ef156b811f4ull, NULL},
    {"int64_decimal.parquet", 24, 0x07997f27e6f61ff0ull, NULL},
    {"int96_from_spark.parquet", 6, 0x16443127d0033724ull, NULL},
    {"large_string_map.brotli.parquet", 0, 0, "compression codec BROTLI (4) unsupported"},
    {"list_columns.parquet", 3, 0x01e90fdac528074dull, NULL},
    {"lz4_raw_compressed.parquet", 0, 0, "compression codec LZ4_RAW (7) unsupported"},
    {"lz4_raw_compressed_larger.parquet", 0, 0, "compression codec LZ4_RAW (7) unsupported"},
    {"map_no_value.parquet", 0, 0,
     "MAP key_value group without exactly a key and a value (map without values unsupported)"},
    {"nan_in_stats.parquet", 2, 0xc312df6d791e0999ull, NULL},
    {"nation.dict-malformed.parquet", 0, 0, "bad page sizes"},
    {"nested_lists.snappy.parquet", 3, 0x3d134f950af2a142ull, NULL},
    {"nested_maps.snappy.parquet", 6, 0xf29b8d44e3ce7898ull, NULL},
    {"nested_structs.rust.parquet", 1, 0x729c8cbb14200c1cull, NULL},
    {"non_hadoop_lz4_compressed.parquet", 0, 0, "compression codec LZ4 (Hadoop) (5) unsupported"},
    {"nonnullable.impala.parquet", 1, 0x2c4dbcb1551796c2ull, NULL},
    {"null_list.parquet", 1, 0x746535c4c59999a9ull, NULL},
    {"nullable.impala.parquet", 7, 0x85b80a4772f54f75ull, NULL},
    {"nulls.snappy.parquet", 8, 0xb28e2872cca95363ull, NULL},
    {"old_list_structure.parquet", 1, 0xd3fe0d3ea34e3711ull, NULL},
    {"overflow_i16_page_cnt.parquet", 40000, 0x3ed76b44d77a2983ull, NULL},
    {"page_v2_empty_compressed.parquet", 10, 0x4ccf21dc8a69c7adull, NULL},
    {"plain-dict-uncompressed-checksum.parquet", 1000, 0x588132fbf9528db3ull, NULL},
    {"repeated_no_annotation.parquet", 6, 0x70ffbf48344e0482ull, NULL},
    {"repeated_primitive_no_list.parquet", 4, 0x0a859d62e6b26d67ull, NULL},
    {"rle-dict-snappy-checksum.parquet", 1000, 0x28d20d8f296a3883ull, NULL},
    {"rle-dict-uncompressed-corrupt-checksum.parquet", 0, 0, "page checksum (CRC-32) mismatch"},
    {"rle_boolean_encoding.parquet", 68, 0xb0a7382000dad6dbull, NULL},
    {"single_nan.parquet", 1, 0x44bd2ad473ccf5e6ull, NULL},
    {"sort_columns.parquet", 6, 0xeec2cb7f2afd3955ull, NULL},
    {"uniform_encryption.parquet.encrypted", 0, 0, "Parquet encryption unsupported"},
    {"unknown-logical-type.parquet", 3, 0x493856c19a02649aull, NULL},
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* Hash of slot i of c: null flag, then the value by type. */
static uint64_t hash_slot(uint64_t h, const lk_col *c, uint32_t i)
{
    uint8_t isnull = (uint8_t)lk_col_is_null(c, i);
    h = fnv(h, &isnull, 1);
    if (isnull) return h;
    switch (c->field->type) {
    case LK_TYPE_STRING:
    case LK_TYPE_BINARY: {
        size_t n;
        const char *p = lk_col_bytes(c, i, &n);
        uint32_t n32 = (uint32_t)n;
        h = fnv(h, &n32, 4);
        return fnv(h, p, n);
    }
    case LK_TYPE_STRUCT:
        for (int k = 0; k < c->n_children; k++)
            h = hash_slot(h, &c->children[k], i);
        return h;
    case LK_TYPE_ARRAY:
    case LK_TYPE_MAP: {
        uint32_t a = c->offsets[i], b = c->offsets[i + 1];
        uint32_t n = b - a;
        h = fnv(h, &n, 4);
        for (uint32_t j = a; j < b; j++)
            for (int k = 0; k < c->n_children; k++)
                h = hash_slot(h, &c->children[k], j);
        return h;
    }
    case LK_TYPE_FLOAT: {
        float v = ((const float *)c->values)[i];
        if (isnan(v)) v = NAN; /* one NaN */
        return fnv(h, &v, 4);
    }
    case LK_TYPE_DOUBLE: {
        double v = ((const double *)c->values)[i];
        if (isnan(v)) v = NAN;
        return fnv(h, &v, 8);
    }
    default:
        return fnv(h, (const char *)c->values + (size_t)i * c->elem_size, c->elem_size);
    }
}

/* Reads every row group: rows and digest, or the error. */
static int read_file(const char *path, long long *rows, uint64_t *digest, lk_error *err)
{
    lk_pq_reader *r = NULL;
    int rc = lk_pq_reader_open(path, &r, err);
    if (rc < 0) return rc;
    uint64_t h = 1469598103934665603ull;
    long long n = 0;
    lk_batch *b = NULL;
    for (int g = 0; g < lk_pq_reader_num_row_groups(r) && rc == 0; g++) {
        rc = lk_pq_reader_read_row_group(r, g, NULL, 0, &b, err);
        if (rc < 0) break;
        for (uint32_t i = 0; i < lk_batch_nrows(b); i++)
            for (int c = 0; c < lk_batch_ncols(b); c++)
                h = hash_slot(h, lk_batch_col(b, c), i);
        n += lk_batch_nrows(b);
    }
    lk_batch_destroy(&b);
    lk_pq_reader_destroy(&r);
    *rows = n;
    *digest = h;
    return rc;
}

static int is_fixture(const char *name)
{
    size_t n = strlen(name);
    return (n > 8 && !strcmp(name + n - 8, ".parquet")) ||
           (n > 10 && !strcmp(name + n - 10, ".encrypted"));
}

START_TEST(every_fixture_reads_or_names_its_problem)
{
    int print = getenv("LK_PQ_FIXTURE_PRINT") != NULL;
    DIR *d = opendir(FIX);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    int seen = 0, ok = 0;
    while ((de = readdir(d))) {
        if (!is_fixture(de->d_name)) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s%s", FIX, de->d_name);
        long long rows = 0;
        uint64_t digest = 0;
        lk_error err;
        int rc = read_file(path, &rows, &digest, &err);
        if (print) {
            if (rc == 0)
                printf("    {\"%s\", %lld, 0x%016llxull, NULL},\n", de->d_name, rows,
                       (unsigned long long)digest);
            else
                printf("    {\"%s\", 0, 0, \"%s\"},\n", de->d_name, err.msg);
            continue;
        }
        const fixture *fx = NULL;
        for (size_t k = 0; k < sizeof FIXTURES / sizeof FIXTURES[0]; k++)
            if (!strcmp(FIXTURES[k].file, de->d_name)) fx = &FIXTURES[k];
        ck_assert_msg(fx != NULL, "%s: not in the fixture table", de->d_name);
        seen++;
        if (fx->error) {
            ck_assert_msg(rc < 0, "%s: read, expected an error with \"%s\"", de->d_name, fx->error);
            ck_assert_msg(strstr(err.msg, fx->error), "%s: error \"%s\" lacks \"%s\"", de->d_name,
                          err.msg, fx->error);
            ck_assert_msg(strstr(err.msg, path), "error does not name the file: %s", err.msg);
            ck_assert_msg(strstr(err.msg, "offset") || strstr(err.msg, "element"),
                          "error does not say where: %s", err.msg);
        } else {
            ck_assert_msg(rc == 0, "%s", err.msg);
            ck_assert_msg(rows == fx->rows, "%s: %lld rows, want %lld", de->d_name, rows, fx->rows);
            ck_assert_msg(digest == fx->digest, "%s: values differ (digest %016llx)", de->d_name,
                          (unsigned long long)digest);
            ok++;
        }
    }
    closedir(d);
    if (!print) {
        ck_assert_int_eq(seen, (int)(sizeof FIXTURES / sizeof FIXTURES[0]));
        ck_assert_int_ge(ok, 55);
    }
}
END_TEST

/* Row JSON of rows [0, n) of row group 0 of file, joined by '\n'. */
static void rows_json(const char *file, const int *cols, int ncols, uint32_t n, lk_buf *out)
{
    lk_error err;
    lk_pq_reader *r = NULL;
    ck_assert_msg(lk_pq_reader_open(file, &r, &err) == 0, "%s", err.msg);
    lk_batch *b = NULL;
    ck_assert_msg(lk_pq_reader_read_row_group(r, 0, cols, ncols, &b, &err) == 0, "%s", err.msg);
    lk_buf_reset(out);
    for (uint32_t i = 0; i < n && i < lk_batch_nrows(b); i++) {
        if (i) lk_buf_putc(out, '\n');
        lk_rowjson_append(b, i, out);
    }
    lk_batch_destroy(&b);
    lk_pq_reader_destroy(&r);
}

/* Legacy list layouts (LogicalTypes.md backward-compatibility rules); the
   expected rows are DuckDB's. */
START_TEST(legacy_lists)
{
    lk_buf j = LK_BUF_INIT;
    /* 2-level list whose repeated "array" element is itself a 2-level list */
    rows_json(FIX "old_list_structure.parquet", NULL, 0, 1, &j);
    ck_assert_str_eq(j.data, "{\"a\":[[1,2],[3,4]]}");
    /* repeated primitives outside any LIST group: required lists */
    rows_json(FIX "repeated_primitive_no_list.parquet", NULL, 0, 2, &j);
    ck_assert_str_eq(
        j.data, "{\"Int32_list\":[0,1,2,3],\"String_list\":[\"foo\",\"zero\",\"one\",\"two\"],"
                "\"group_of_lists\":{\"Int32_list_in_group\":[0,1,2,3],\"String_list_in_group\":"
                "[\"foo\",\"zero\",\"one\",\"two\"]}}\n"
                "{\"Int32_list\":[],\"String_list\":[\"three\"],\"group_of_lists\":"
                "{\"Int32_list_in_group\":[],\"String_list_in_group\":[\"three\"]}}");
    /* a repeated group without annotation inside an optional group */
    rows_json(FIX "repeated_no_annotation.parquet", NULL, 0, 6, &j);
    ck_assert_str_eq(
        j.data,
        "{\"id\":1,\"phoneNumbers\":null}\n"
        "{\"id\":2,\"phoneNumbers\":null}\n"
        "{\"id\":3,\"phoneNumbers\":{\"phone\":[]}}\n"
        "{\"id\":4,\"phoneNumbers\":{\"phone\":[{\"number\":5555555555,\"kind\":null}]}}\n"
        "{\"id\":5,\"phoneNumbers\":{\"phone\":[{\"number\":1111111111,\"kind\":\"home\"}]}}\n"
        "{\"id\":6,\"phoneNumbers\":{\"phone\":[{\"number\":1111111111,\"kind\":\"home\"},"
        "{\"number\":2222222222,\"kind\":null},{\"number\":3333333333,\"kind\":\"mobile\"}]}}");
    /* MAP with an optional key (Hive) */
    rows_json(FIX "incorrect_map_schema.parquet", NULL, 0, 1, &j);
    ck_assert_str_eq(j.data, "{\"my_map\":{\"parent\":\"another\",\"name\":\"report\"}}");
    lk_buf_free(&j);
}
END_TEST

/* INT96 (Spark) and TIMESTAMP_MILLIS (Spark via Delta) become micros. */
START_TEST(timestamps_int96_and_millis)
{
    lk_error err;
    lk_pq_reader *r = NULL;
    ck_assert_int_eq(lk_pq_reader_open(FIX "int96_from_spark.parquet", &r, &err), 0);
    ck_assert_int_eq(lk_schema_field(lk_pq_reader_schema(r), 0)->type, LK_TYPE_TIMESTAMP);
    lk_batch *b = NULL;
    ck_assert_int_eq(lk_pq_reader_read_row_group(r, 0, NULL, 0, &b, &err), 0);
    /* int96_from_spark.md lists them as micros since the epoch */
    static const int64_t want[] = {
        1704141296123456LL,   1704070800000000LL, 253402225200000000LL, 1735599600000000LL, 0,
        9089380393200000000LL};
    const lk_col *c = lk_batch_col(b, 0);
    for (uint32_t i = 0; i < 6; i++) {
        ck_assert_int_eq(lk_col_is_null(c, i), i == 4);
        if (i != 4) ck_assert_int_eq(lk_col_i64(c, i), want[i]);
    }
    lk_batch_destroy(&b);
    lk_pq_reader_destroy(&r);

    const char *millis =
        LK_SOURCE_DIR "/tests/fixtures/delta-golden/kernel-timestamp-TIMESTAMP_MILLIS/"
                      "part=2020-01-01 08%3A09%3A10.001/"
                      "part-00000-4b5188f5-4784-47ce-b4ad-1d3eae80710e.c000.snappy.parquet";
    ck_assert_msg(lk_pq_reader_open(millis, &r, &err) == 0, "%s", err.msg);
    const lk_schema *s = lk_pq_reader_schema(r);
    int ct = lk_schema_find(s, "time");
    ck_assert_int_ge(ct, 0);
    ck_assert_int_eq(lk_schema_field(s, ct)->type, LK_TYPE_TIMESTAMP);
    ck_assert_int_eq(lk_pq_reader_read_row_group(r, 0, NULL, 0, &b, &err), 0);
    /* DuckDB: epoch_us(time) = 1580544550000000 (2020-02-01 08:09:10) */
    ck_assert_int_eq(lk_col_i64(lk_batch_col(b, ct), 0), 1580544550000000LL);
    lk_batch_destroy(&b);
    lk_pq_reader_destroy(&r);
}
END_TEST

/* DELTA_* encodings against the files' *_expect.csv (first lines). */
START_TEST(delta_encodings)
{
    lk_buf j = LK_BUF_INIT;
    int c0[] = {0};
    rows_json(FIX "delta_byte_array.parquet", c0, 1, 3, &j);
    ck_assert_str_eq(j.data, "{\"c_customer_id\":\"AAAAAAAAIODAAAAA\"}\n"
                             "{\"c_customer_id\":\"AAAAAAAAHODAAAAA\"}\n"
                             "{\"c_customer_id\":\"AAAAAAAAGODAAAAA\"}");
    rows_json(FIX "delta_length_byte_array.parquet", NULL, 0, 2, &j);
    ck_assert_str_eq(j.data,
                     "{\"FRUIT\":\"apple_banana_mango0\"}\n{\"FRUIT\":\"apple_banana_mango1\"}");
    lk_buf_free(&j);
}
END_TEST

/* BYTE_STREAM_SPLIT floats and FLOAT16 halves. */
START_TEST(split_and_float16)
{
    lk_buf j = LK_BUF_INIT;
    rows_json(FIX "float16_nonzeros_and_nans.parquet", NULL, 0, 8, &j);
    ck_assert_str_eq(j.data, "{\"x\":null}\n{\"x\":1}\n{\"x\":-2}\n{\"x\":\"NaN\"}\n{\"x\":0}\n"
                             "{\"x\":-1}\n{\"x\":-0}\n{\"x\":2}");
    lk_error err;
    lk_pq_reader *r = NULL;
    ck_assert_int_eq(lk_pq_reader_open(FIX "byte_stream_split.zstd.parquet", &r, &err), 0);
    lk_batch *b = NULL;
    ck_assert_int_eq(lk_pq_reader_read_row_group(r, 0, NULL, 0, &b, &err), 0);
    /* DuckDB: f32[0] = 1.7640524, f64[0] = -1.3065268517353166 */
    ck_assert(fabsf(((const float *)lk_batch_col(b, 0)->values)[0] - 1.7640524f) < 1e-6f);
    ck_assert(fabs(lk_col_f64(lk_batch_col(b, 1), 0) + 1.3065268517353166) < 1e-12);
    lk_batch_destroy(&b);
    lk_pq_reader_destroy(&r);
    lk_buf_free(&j);
}
END_TEST

/* Projection reads only the chunks of the columns asked for: with the page
   header of column b destroyed, reading a alone still works (b's bytes are
   never parsed nor decompressed), reading b fails naming it. */
START_TEST(projection_skips_other_columns)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "a", LK_TYPE_LONG, 0);
    lk_schema_add(s, "b", LK_TYPE_STRING, 1);
    lk_schema_add(s, "c", LK_TYPE_INTEGER, 1);
    lk_batch *b = lk_batch_new(s);
    for (int i = 0; i < 1000; i++) {
        char t[32];
        int n = snprintf(t, sizeof t, "value %d", i * 7);
        lk_col_append_i64(lk_batch_col(b, 0), i * 3);
        lk_col_append_bytes(lk_batch_col(b, 1), t, (size_t)n);
        lk_col_append_i32(lk_batch_col(b, 2), -i);
        lk_batch_end_row(b);
    }
    char path[512];
    close(lk_check_mkstemp(path, sizeof path, "pqproj"));
    unlink(path);
    lk_pq_options o;
    lk_pq_options_default(&o);
    o.fsync = 0;
    o.dictionary = 0;
    lk_pq_writer *w = lk_pq_writer_new(s, &o);
    lk_error err;
    ck_assert_int_eq(lk_pq_writer_open(w, path, &err), 0);
    ck_assert_int_eq(lk_pq_writer_write(w, b, &err), 0);
    ck_assert_int_eq(lk_pq_writer_close(w, NULL, &err), 0);
    lk_pq_writer_destroy(&w);
    /* chunks follow each other from offset 4: a, then b */
    lk_pq_reader *r = NULL;
    ck_assert_int_eq(lk_pq_reader_open(path, &r, &err), 0);
    lk_pq_chunk_meta ma;
    ck_assert_int_eq(lk_pq_reader_chunk_meta(r, 0, 0, &ma, &err), 0);
    lk_pq_reader_destroy(&r);
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 4 + (long)ma.compressed_bytes, SEEK_SET), 0);
    static const unsigned char junk[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    ck_assert_int_eq(fwrite(junk, 1, 8, f), 8);
    fclose(f);
    ck_assert_int_eq(lk_pq_reader_open(path, &r, &err), 0);
    lk_batch *got = NULL;
    int cols[] = {2, 0};
    ck_assert_msg(lk_pq_reader_read_row_group(r, 0, cols, 2, &got, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(lk_batch_nrows(got), 1000);
    ck_assert_int_eq(lk_col_i32(lk_batch_col(got, 0), 999), -999);
    ck_assert_int_eq(lk_col_i64(lk_batch_col(got, 1), 999), 2997);
    int cb[] = {1};
    ck_assert_int_lt(lk_pq_reader_read_row_group(r, 0, cb, 1, &got, &err), 0);
    ck_assert_msg(strstr(err.msg, "column b") && strstr(err.msg, path) && strstr(err.msg, "offset"),
                  "%s", err.msg);
    ck_assert_int_lt(lk_pq_reader_read_row_group(r, 0, NULL, 0, &got, &err), 0);
    lk_batch_destroy(&got);
    lk_pq_reader_destroy(&r);
    unlink(path);
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("parquet_fixtures");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_fixture_reads_or_names_its_problem);
    tcase_add_test(tc, legacy_lists);
    tcase_add_test(tc, timestamps_int96_and_millis);
    tcase_add_test(tc, delta_encodings);
    tcase_add_test(tc, split_and_float16);
    tcase_add_test(tc, projection_skips_other_columns);
    suite_add_tcase(s, tc);
    return lk_check_run_mode(s, getenv("LK_PQ_FIXTURE_PRINT") ? CK_NOFORK : CK_FORK_GETENV);
}
