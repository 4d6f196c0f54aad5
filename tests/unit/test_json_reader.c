/* Unit tests for formats/lk_infer, formats/lk_json_reader and lk_tables. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_check.h"
#include "lk_infer.h"
#include "lk_json_reader.h"
#include "lk_rowjson.h"
#include "lk_raw.h"
#include "lk_tables.h"

static const char *SAMPLE =
    "{\"event_id\":\"e1\",\"user_id\":1,\"event_type\":\"click\",\"ts\":\"2026-11-24T09:30:00.123Z\","
    "\"amount\":1.5,\"country\":\"FR\",\"device\":{\"os\":\"ios\",\"version\":\"17.2\"},"
    "\"message\":\"caf\xc3\xa9 \\\"q\\\" \\ud83d\\ude80\"}\n"
    "\n"
    "{\"event_id\":\"e2\",\"user_id\":2,\"amount\":null,\"device\":{\"os\":\"linux\"}}\r\n"
    "{bad\n"
    "[1,2]\n"
    "{\"event_id\":\"e3\",\"user_id\":\"not-a-number\",\"extra\":{\"a\":[1,{\"b\":null}]},"
    "\"ts\":\"yesterday\"}\n"
    "{\"a\":1} trailing\n"
    "{\"event_id\":\"e4\",\"user_id\":4,\"user_id\":5,\"amount\":7}\n"
    "\xff\xfe binary junk\n"
    "{\"event_id\":\"e5\",\"device\":null,\"amount\":12}";

static lk_schema *infer(const char *text)
{
    lk_infer *inf = lk_infer_new();
    ck_assert_int_eq(lk_infer_lines(inf, text, strlen(text)), 5);
    lk_schema *s = lk_infer_result(inf);
    lk_infer_destroy(&inf);
    return s;
}

START_TEST(inference_rules)
{
    lk_schema *s = infer(SAMPLE);
    lk_buf ddl = LK_BUF_INIT;
    lk_schema_to_ddl(s, &ddl);
    /* user_id: long + string → string; amount: double + long → double */
    ck_assert_str_eq(ddl.data, "event_id STRING, user_id STRING, event_type STRING, ts STRING, "
                               "amount DOUBLE, country STRING, device STRUCT<os: STRING, version: "
                               "STRING>, message STRING, extra STRUCT<a: ARRAY<STRING>>");
    lk_buf_free(&ddl);
    lk_schema_destroy(&s);
    lk_infer *inf = lk_infer_new();
    const char *two = "{\"n\":1,\"z\":null,\"l\":[1,2.5],\"b\":true}\n{\"n\":2,\"l\":[]}\n";
    ck_assert_int_eq(lk_infer_lines(inf, two, strlen(two)), 2);
    s = lk_infer_result(inf);
    lk_schema_to_ddl(s, &ddl);
    ck_assert_str_eq(ddl.data, "n LONG, z STRING, l ARRAY<DOUBLE>, b BOOLEAN");
    lk_buf_free(&ddl);
    lk_schema_destroy(&s);
    lk_infer_destroy(&inf);
}
END_TEST

static lk_schema *event_data_schema(void)
{
    const char *first = "{\"event_id\":\"x\",\"user_id\":1,\"event_type\":\"c\",\"ts\":\"t\","
                        "\"amount\":1.5,\"country\":\"FR\",\"device\":{\"os\":\"a\",\"version\":"
                        "\"1\"},\"message\":\"m\"}\n";
    lk_infer *inf = lk_infer_new();
    lk_infer_lines(inf, first, strlen(first));
    lk_schema *s = lk_infer_result(inf);
    lk_infer_destroy(&inf);
    return s;
}

static void row_json(const lk_batch *b, uint32_t r, char *out, size_t cap)
{
    lk_buf j = LK_BUF_INIT;
    lk_rowjson_append(b, r, &j);
    snprintf(out, cap, "%s", j.data);
    lk_buf_free(&j);
}

START_TEST(reader_rows_rescue_corrupt)
{
    lk_schema *data = event_data_schema();
    lk_schema *raw = lk_raw_schema(data);
    lk_batch *b = lk_batch_new(raw);
    lk_json_reader *r = lk_json_reader_new();
    lk_source_meta meta = {"/in/f.jsonl", "f.jsonl", 999, 1795512600000000LL};
    lk_raw_stats st = {0};
    lk_error err;
    for (int pass = 0; pass < 3; pass++) { /* reuse: reset and parse again */
        lk_batch_reset(b);
        memset(&st, 0, sizeof st);
        ck_assert_int_eq(lk_json_reader_parse(r, SAMPLE, strlen(SAMPLE), &meta, 100, b, &st, &err), 0);
    }
    ck_assert_int_eq(st.rows, 9);
    ck_assert_int_eq(st.empty_lines, 1);
    ck_assert_int_eq(st.corrupt, 4);
    ck_assert_int_eq(st.rescued, 2);
    ck_assert_uint_eq(lk_batch_nrows(b), 9);
    char row[2048];
    row_json(b, 0, row, sizeof row);
    ck_assert_str_eq(row,
                     "{\"event_id\":\"e1\",\"user_id\":1,\"event_type\":\"click\",\"ts\":\"2026-11-24T09:"
                     "30:00.123Z\",\"amount\":1.5,\"country\":\"FR\",\"device\":{\"os\":\"ios\","
                     "\"version\":\"17.2\"},\"message\":\"caf\xc3\xa9 \\\"q\\\" \xf0\x9f\x9a\x80\","
                     "\"_rescued_data\":null,\"_corrupt_record\":null,\"_metadata\":{\"file_path\":"
                     "\"/in/f.jsonl\",\"file_name\":\"f.jsonl\",\"file_size\":999,"
                     "\"file_modification_time\":\"2026-11-24T09:30:00.000000Z\",\"file_offset\":100}}");
    row_json(b, 1, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "\"event_id\":\"e2\",\"user_id\":2,\"event_type\":null"));
    ck_assert_ptr_nonnull(strstr(row, "\"device\":{\"os\":\"linux\",\"version\":null}"));
    row_json(b, 2, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "\"_corrupt_record\":\"{bad\""));
    ck_assert_ptr_nonnull(strstr(row, "\"event_id\":null"));
    row_json(b, 4, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "\"event_id\":\"e3\",\"user_id\":null"));
    ck_assert_ptr_nonnull(strstr(
        row, "\"_rescued_data\":\"{\\\"user_id\\\":\\\"not-a-number\\\",\\\"extra\\\":{\\\"a\\\":[1,{"
             "\\\"b\\\":null}]},\\\"_file_path\\\":\\\"/in/f.jsonl\\\"}\""));
    row_json(b, 6, row, sizeof row);
    /* duplicate key: the first value wins, the second is rescued */
    ck_assert_ptr_nonnull(strstr(row, "\"user_id\":4"));
    ck_assert_ptr_nonnull(strstr(row, "\\\"user_id\\\":5"));
    ck_assert_ptr_nonnull(strstr(row, "\"amount\":7"));
    row_json(b, 7, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "\"_corrupt_record\":\"\xef\xbf\xbd\xef\xbf\xbd binary junk\""));
    row_json(b, 8, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "\"device\":null"));
    ck_assert_ptr_nonnull(strstr(row, "\"amount\":12"));

    /* silver */
    lk_schema *ps = lk_tables_processed_schema(raw);
    lk_buf ddl = LK_BUF_INIT;
    lk_schema_to_ddl(ps, &ddl);
    ck_assert_str_eq(ddl.data, "event_id STRING, user_id LONG, event_type STRING, ts TIMESTAMP, "
                               "event_date DATE, amount DOUBLE, country STRING, device_os STRING, device_version "
                               "STRING, message STRING, _rescued_data STRING, processed_at "
                               "TIMESTAMP");
    lk_batch *p = lk_batch_new(ps);
    for (int pass = 0; pass < 2; pass++) {
        lk_batch_reset(p);
        ck_assert_int_eq(lk_tables_to_processed(b, 1795512600000000LL, p, &err), 0);
    }
    ck_assert_uint_eq(lk_batch_nrows(p), 5);
    row_json(p, 0, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "\"ts\":\"2026-11-24T09:30:00.123000Z\",\"event_date\":\"2026-11-24\""));
    ck_assert_ptr_nonnull(strstr(row, "\"device_os\":\"ios\",\"device_version\":\"17.2\""));
    ck_assert_ptr_nonnull(strstr(row, "\"processed_at\":\"2026-11-24T09:30:00.000000Z\""));
    row_json(p, 2, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "\"event_id\":\"e3\""));
    ck_assert_ptr_nonnull(strstr(row, "\"ts\":null"));
    ck_assert_ptr_nonnull(strstr(row, ",\\\"ts\\\":\\\"yesterday\\\"}\""));
    /* the rows around it keep their own rescued data (copied in ranges) */
    row_json(p, 1, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "\"_rescued_data\":null"));
    row_json(p, 3, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "\\\"user_id\\\":5"));
    row_json(p, 4, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "\"_rescued_data\":null"));
    ck_assert_ptr_nonnull(strstr(row, "\"device_os\":null,\"device_version\":null"));
    for (int i = 0; i < lk_batch_ncols(p); i++)
        ck_assert_uint_eq(lk_batch_col(p, i)->len, 5);
    lk_buf_free(&ddl);
    lk_batch_destroy(&p);
    lk_schema_destroy(&ps);
    lk_json_reader_destroy(&r);
    lk_batch_destroy(&b);
    lk_schema_destroy(&raw);
    lk_schema_destroy(&data);
}
END_TEST

static void done(lk_json_reader **r, lk_batch **b, lk_schema **raw, lk_schema **data)
{
    lk_json_reader_destroy(r);
    lk_batch_destroy(b);
    lk_schema_destroy(raw);
    lk_schema_destroy(data);
}

/* Spark stores an object or array arriving for a string column as its JSON
   text (not rescued); inside the text, nested values keep their order. */
START_TEST(object_into_string_column_keeps_json_text)
{
    lk_schema *data = lk_schema_new();
    lk_schema_add(data, "s", LK_TYPE_STRING, 1);
    lk_schema_add(data, "n", LK_TYPE_LONG, 1);
    lk_schema *raw = lk_raw_schema(data);
    lk_batch *b = lk_batch_new(raw);
    lk_json_reader *r = lk_json_reader_new();
    lk_source_meta meta = {"/f", "f", 1, 0};
    lk_raw_stats st = {0};
    lk_error err;
    const char *in = "{\"s\":{\"a\":[1,{\"b\":null}],\"c\":\"\\u00e9\"},\"n\":1}\n"
                     "{\"s\":[true,null],\"n\":{\"x\":2}}\n";
    ck_assert_int_eq(lk_json_reader_parse(r, in, strlen(in), &meta, 0, b, &st, &err), 0);
    ck_assert_int_eq(st.rows, 2);
    ck_assert_int_eq(st.rescued, 1);
    size_t n;
    const char *p = lk_col_bytes(lk_batch_col(b, 0), 0, &n);
    ck_assert_int_eq((int)n, (int)strlen("{\"a\":[1,{\"b\":null}],\"c\":\"\xc3\xa9\"}"));
    ck_assert(!memcmp(p, "{\"a\":[1,{\"b\":null}],\"c\":\"\xc3\xa9\"}", n));
    p = lk_col_bytes(lk_batch_col(b, 0), 1, &n);
    ck_assert(n == 11 && !memcmp(p, "[true,null]", 11));
    ck_assert(lk_col_is_null(lk_batch_col(b, 1), 1)); /* an object for a long: rescued */
    p = lk_col_bytes(lk_batch_col(b, 2), 1, &n);
    ck_assert(!memcmp(p, "{\"n\":{\"x\":2},\"_file_path\"", 25));
    done(&r, &b, &raw, &data);
}
END_TEST

/* A BINARY column takes a JSON string as base64 and holds the bytes, as Spark's JSON reader does
   (Jackson's getBinaryValue: padding required, white space between groups only); text that is not
   base64 is rescued like a string in a LONG column, the column null. Both parsers alike. */
START_TEST(binary_column_reads_base64)
{
    static const struct {
        const char *json; /* the value of "b" */
        const char *want; /* bytes, or NULL: null and rescued */
        size_t len;
    } cases[] = {
        {"\"AAEC/w==\"", "\x00\x01\x02\xff", 4},
        {"\"aGk=\"", "hi", 2},
        {"\"aGVsbG8h\"", "hello!", 6},
        {"\"\"", "", 0},
        {"\" aGk= \\n\"", "hi", 2},       /* white space around the groups */
        {"\"aGVs\\nbG8h\"", "hello!", 6}, /* ... and between them */
        {"\"aGk=aGk=\"", "hihi", 4},      /* a padded group, then another */
        {"\"\\u0061Gk=\"", "hi", 2},      /* an escape is its character */
        {"\"aGk\"", NULL, 0},             /* padding is required */
        {"\"aGVsbG8\"", NULL, 0},
        {"\"a\"", NULL, 0},
        {"\"aG k=\"", NULL, 0}, /* no space inside a group */
        {"\"aGk-\"", NULL, 0},  /* the URL-safe alphabet is not base64's */
        {"\"=aGk\"", NULL, 0},
        {"\"aG=k\"", NULL, 0},
        {"\"not base64!\"", NULL, 0},
        {"12", NULL, 0}, /* not a string */
    };
    size_t ncases = sizeof cases / sizeof cases[0];
    for (int fast = 0; fast < 2; fast++) {
        lk_schema *data = lk_schema_new();
        lk_schema_add(data, "b", LK_TYPE_BINARY, 1);
        lk_field *a = lk_schema_add(data, "a", LK_TYPE_ARRAY, 1);
        lk_field_add_child(a, "element", LK_TYPE_BINARY, 1);
        lk_schema *raw = lk_raw_schema(data);
        lk_batch *b = lk_batch_new(raw);
        lk_json_reader *r = lk_json_reader_new();
        lk_json_reader_set_fast(r, fast);
        lk_source_meta meta = {"/f", "f", 1, 0};
        lk_raw_stats st = {0};
        lk_error err;
        lk_buf in = LK_BUF_INIT;
        for (size_t i = 0; i < ncases; i++)
            lk_buf_printf(&in, "{\"b\":%s}\n", cases[i].json);
        lk_buf_puts(&in, "{\"b\":null,\"a\":[\"aGk=\",\"!!\",null]}\n");
        ck_assert_int_eq(lk_json_reader_parse(r, in.data, in.len, &meta, 0, b, &st, &err), 0);
        ck_assert_int_eq(st.rows, (int64_t)ncases + 1);
        const lk_col *c = lk_batch_col(b, 0);
        const lk_col *resc = lk_batch_col(b, lk_raw_rescued_index(raw));
        int rescued = 0;
        for (size_t i = 0; i < ncases; i++) {
            size_t n = 0;
            if (!cases[i].want) {
                ck_assert_msg(lk_col_is_null(c, (uint32_t)i), "fast=%d %s: not null", fast,
                              cases[i].json);
                const char *t = lk_col_bytes(resc, (uint32_t)i, &n);
                ck_assert_msg(!lk_col_is_null(resc, (uint32_t)i) && memmem(t, n, "\"b\":", 4),
                              "fast=%d %s: not rescued", fast, cases[i].json);
                rescued++;
                continue;
            }
            ck_assert_msg(!lk_col_is_null(c, (uint32_t)i), "fast=%d %s: null", fast, cases[i].json);
            const char *v = lk_col_bytes(c, (uint32_t)i, &n);
            ck_assert_msg(n == cases[i].len && !memcmp(v, cases[i].want, n),
                          "fast=%d %s: %zu bytes", fast, cases[i].json, n);
            ck_assert(lk_col_is_null(resc, (uint32_t)i));
        }
        /* null is null, not rescued; an element that is not base64 keeps its place as null */
        uint32_t last = (uint32_t)ncases;
        ck_assert(lk_col_is_null(c, last));
        char row[1024];
        row_json(b, last, row, sizeof row);
        ck_assert_msg(strstr(row, "\"a\":[\"aGk=\",null,null]"), "%s", row);
        ck_assert_msg(strstr(row, "\\\"a[1]\\\":\\\"!!\\\""), "%s", row);
        ck_assert_int_eq(st.rescued, rescued + 1);
        lk_buf_free(&in);
        done(&r, &b, &raw, &data);
    }
}
END_TEST

/* A line nested n levels deep in all: {"s": [[...[1]...]]} (the line's object is level 1). */
static void nested_line(lk_buf *b, int n)
{
    lk_buf_puts(b, "{\"s\":");
    for (int i = 1; i < n; i++)
        lk_buf_putc(b, '[');
    lk_buf_putc(b, '1');
    for (int i = 1; i < n; i++)
        lk_buf_putc(b, ']');
    lk_buf_puts(b, "}\n");
}

/* LK_JSON_MAX_NESTING levels in all, whether the deep part goes to a string column as text or
   to _rescued_data: 64 is a row, 65 a corrupt record (65 and 70 were rows: the levels above a
   captured value were not counted). */
START_TEST(nesting_limit_counts_every_level)
{
    for (int col = 0; col < 2; col++) { /* s a string column (captured as text), or unknown */
        lk_schema *data = lk_schema_new();
        lk_schema_add(data, col ? "other" : "s", LK_TYPE_STRING, 1);
        lk_schema *raw = lk_raw_schema(data);
        lk_batch *b = lk_batch_new(raw);
        lk_json_reader *r = lk_json_reader_new();
        lk_source_meta meta = {"/f", "f", 1, 0};
        lk_raw_stats st = {0};
        lk_error err;
        lk_buf in = LK_BUF_INIT;
        nested_line(&in, LK_JSON_MAX_NESTING);
        nested_line(&in, LK_JSON_MAX_NESTING + 1);
        nested_line(&in, 70);
        ck_assert_int_eq(lk_json_reader_parse(r, in.data, in.len, &meta, 0, b, &st, &err), 0);
        ck_assert_int_eq(st.rows, 3);
        ck_assert_int_eq(st.corrupt, 2);
        int cc = lk_schema_find(raw, "_corrupt_record");
        ck_assert(lk_col_is_null(lk_batch_col(b, cc), 0));
        ck_assert(!lk_col_is_null(lk_batch_col(b, cc), 1));
        ck_assert(!lk_col_is_null(lk_batch_col(b, cc), 2));
        lk_buf_free(&in);
        done(&r, &b, &raw, &data);
    }
}
END_TEST

/* A schema with no data column (only the system columns): found by fuzz_json under UBSan
   (pointer arithmetic on the NULL name lengths); every line is still one row. */
START_TEST(no_data_columns)
{
    lk_schema *data = lk_schema_new();
    lk_schema *raw = lk_raw_schema(data);
    lk_batch *b = lk_batch_new(raw);
    lk_json_reader *r = lk_json_reader_new();
    lk_source_meta meta = {"/in/x.jsonl", "x.jsonl", 1, 1};
    lk_raw_stats st = {0};
    lk_error err;
    for (int fast = 0; fast < 2; fast++) {
        lk_json_reader_set_fast(r, fast);
        const char *in = "{}\n{\"a\":1}\n[1]\n";
        ck_assert_int_eq(lk_json_reader_parse(r, in, strlen(in), &meta, 0, b, &st, &err), 0);
    }
    ck_assert_int_eq(st.rows, 6);
    ck_assert_int_eq(st.rescued, 2);
    ck_assert_int_eq(st.corrupt, 2);
    done(&r, &b, &raw, &data);
}
END_TEST

int main(void)
{
Suite *s = suite_create("json_reader");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, inference_rules);
    tcase_add_test(tc, reader_rows_rescue_corrupt);
    tcase_add_test(tc, object_into_string_column_keeps_json_text);
    tcase_add_test(tc, binary_column_reads_base64);
    tcase_add_test(tc, nesting_limit_counts_every_level);
    tcase_add_test(tc, no_data_columns);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
