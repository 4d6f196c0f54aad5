/* lk_partition: splitting by partition values, the protocol's value text,
   Hive directories with escaping and nulls, reuse across splits, and bad
   partition columns refused by name. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_check.h"
#include "lk_delta.h"
#include "lk_partition.h"
#include "lk_rowjson.h"

static lk_schema *schema(void)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "id", LK_TYPE_LONG, 1);
    lk_schema_add(s, "day", LK_TYPE_DATE, 1);
    lk_schema_add(s, "country", LK_TYPE_STRING, 1);
    lk_schema_add(s, "at", LK_TYPE_TIMESTAMP, 1);
    lk_field *d = lk_schema_add(s, "price", LK_TYPE_DECIMAL, 1);
    d->precision = 10;
    d->scale = 2;
    lk_field *st = lk_schema_add(s, "dev", LK_TYPE_STRUCT, 1);
    lk_field_add_child(st, "os", LK_TYPE_STRING, 1);
    return s;
}

static void row(lk_batch *b, int64_t id, int32_t day, const char *country)
{
    lk_col_append_i64(lk_batch_col(b, 0), id);
    lk_col_append_i32(lk_batch_col(b, 1), day);
    if (country)
        lk_col_append_bytes(lk_batch_col(b, 2), country, strlen(country));
    lk_col_append_i64(lk_batch_col(b, 3), 1795512600123456LL);
    lk_col_append_i64(lk_batch_col(b, 4), -1234);
    lk_batch_end_row(b);
}

START_TEST(split_by_two_columns_keeps_row_order_and_drops_partition_columns)
{
    lk_schema *s = schema();
    lk_batch *b = lk_batch_new(s);
    int32_t d0 = 20781; /* 2026-11-24 */
    row(b, 1, d0, "FR");
    row(b, 2, d0, "FR");
    row(b, 3, d0 + 1, "FR");
    row(b, 4, d0, "FR");
    row(b, 5, d0, NULL);
    row(b, 6, d0, "a/b=c%");
    const char *cols[] = {"day", "country"};
    lk_partitioner *p = NULL;
    lk_error err;
    ck_assert_int_eq(lk_partitioner_new(s, cols, 2, &p, &err), 0);
    lk_buf ddl = LK_BUF_INIT;
    lk_schema_to_ddl(lk_partitioner_data_schema(p), &ddl);
    ck_assert_str_eq(ddl.data, "id LONG, at TIMESTAMP, price DECIMAL(10,2), dev STRUCT<os: STRING>");
    lk_buf_free(&ddl);
    for (int pass = 0; pass < 2; pass++) { /* the second split reuses the part batches */
        ck_assert_int_eq(lk_partitioner_split(p, b), 4);
        ck_assert_str_eq(lk_partitioner_values_json(p, 0), "{\"day\":\"2026-11-24\",\"country\":\"FR\"}");
        ck_assert_str_eq(lk_partitioner_dir(p, 0), "day=2026-11-24/country=FR");
        ck_assert_str_eq(lk_partitioner_values_json(p, 1), "{\"day\":\"2026-11-25\",\"country\":\"FR\"}");
        ck_assert_str_eq(lk_partitioner_values_json(p, 2), "{\"day\":\"2026-11-24\",\"country\":null}");
        ck_assert_str_eq(lk_partitioner_dir(p, 2), "day=2026-11-24/country=__HIVE_DEFAULT_PARTITION__");
        ck_assert_str_eq(lk_partitioner_values_json(p, 3), "{\"day\":\"2026-11-24\",\"country\":\"a/b=c%\"}");
        ck_assert_str_eq(lk_partitioner_dir(p, 3), "day=2026-11-24/country=a%2Fb%3Dc%25");
        const lk_batch *p0 = lk_partitioner_part(p, 0);
        ck_assert_uint_eq(lk_batch_nrows(p0), 3);
        const int64_t want[] = {1, 2, 4};
        for (uint32_t i = 0; i < 3; i++)
            ck_assert_int_eq(lk_col_i64(lk_batch_col_const(p0, 0), i), want[i]);
        ck_assert_uint_eq(lk_batch_nrows(lk_partitioner_part(p, 1)), 1);
        ck_assert_int_eq(lk_col_i64(lk_batch_col_const(lk_partitioner_part(p, 1), 0), 0), 3);
    }
    lk_partitioner_destroy(&p);
    ck_assert_ptr_null(p);
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
}
END_TEST

START_TEST(value_text_follows_the_protocol)
{
    lk_schema *s = schema();
    lk_batch *b = lk_batch_new(s);
    row(b, -42, -1, "x");
    lk_buf t = LK_BUF_INIT;
    ck_assert_int_eq(lk_partition_value_text(lk_batch_col_const(b, 0), 0, &t), 0);
    lk_buf_putc(&t, '\0');
    ck_assert_str_eq(t.data, "-42");
    lk_buf_reset(&t);
    lk_partition_value_text(lk_batch_col_const(b, 1), 0, &t);
    lk_buf_putc(&t, '\0');
    ck_assert_str_eq(t.data, "1969-12-31");
    lk_buf_reset(&t);
    lk_partition_value_text(lk_batch_col_const(b, 3), 0, &t);
    lk_buf_putc(&t, '\0');
    ck_assert_str_eq(t.data, "2026-11-24T09:30:00.123456Z");
    lk_buf_reset(&t);
    lk_partition_value_text(lk_batch_col_const(b, 4), 0, &t);
    lk_buf_putc(&t, '\0');
    ck_assert_str_eq(t.data, "-12.34");
    lk_buf_reset(&t);
    ck_assert_int_eq(lk_partition_value_text(lk_batch_col_const(b, 5), 0, &t), -1); /* null struct */
    lk_buf_free(&t);
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
}
END_TEST

/* Values from data never leave the table folder and always fit a file name (issue 17): one
   per hostile shape, each checked against Spark's escaping. */
START_TEST(hostile_values_stay_one_folder_that_fits)
{
    static const struct {
        const char *v;
        size_t n;
        const char *dir;
    } cases[] = {
        {"../../etc", 9, "c=..%2F..%2Fetc"},
        {"../x", 4, "c=..%2Fx"},
        {"a/b", 3, "c=a%2Fb"},
        {"%2F", 3, "c=%252F"},
        {"", 0, "c=__HIVE_DEFAULT_PARTITION__"},
        {NULL, 0, "c=__HIVE_DEFAULT_PARTITION__"},
        {"z\0w", 3, "c=z%00w"},
        {".", 1, "c=."},
        {"..", 2, "c=.."},
        {"tab\tnl\n", 7, "c=tab%09nl%0A"},
        {"a b:c=d?e#f\\g", 13, "c=a b%3Ac%3Dd%3Fe%23f%5Cg"},
        {"\xc3\xa9t\xc3\xa9", 5, "c=\xc3\xa9t\xc3\xa9"},
    };
    lk_buf b = LK_BUF_INIT;
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        lk_buf_reset(&b);
        lk_delta_partition_dir_n("c", cases[k].v, cases[k].n, LK_DELTA_PARTITION_DIR_MAX, &b);
        lk_buf_putc(&b, '\0');
        ck_assert_msg(!strcmp(b.data, cases[k].dir), "case %zu: %s, expected %s", k, b.data,
                      cases[k].dir);
    }
    /* 300 and 10,000 bytes, and multi-byte characters across the cut: a prefix, '~' and a
       hash; at most the limit; never a cut character or %XX; stable; distinct per value */
    char *x = malloc(10001);
    memset(x, 'x', 10000);
    lk_buf a = LK_BUF_INIT, c = LK_BUF_INIT;
    for (size_t n = 190; n <= 10000; n += n < 400 ? 1 : 2377) {
        for (int kind = 0; kind < 3; kind++) {
            if (kind == 1) /* é = c3 a9 */
                for (size_t i = 0; i < n; i++) x[i] = i % 2 ? '\xa9' : '\xc3';
            if (kind == 2) /* every byte escaped: %XX */
                memset(x, '/', n);
            if (kind == 0) memset(x, 'x', n);
            lk_buf_reset(&a);
            lk_buf_reset(&c);
            lk_delta_partition_dir_n("c", x, n, LK_DELTA_PARTITION_DIR_MAX, &a);
            lk_delta_partition_dir_n("c", x, n, LK_DELTA_PARTITION_DIR_MAX, &c);
            ck_assert_uint_le(a.len, LK_DELTA_PARTITION_DIR_MAX);
            ck_assert(a.len == c.len && !memcmp(a.data, c.data, a.len));
            ck_assert(!memchr(a.data, '/', a.len));
            if (a.len > 20 && a.data[a.len - 17] == '~') {
                size_t cut = a.len - 17;
                ck_assert_msg(a.data[cut - 1] != '%' && a.data[cut - 2] != '%', "cut in %%XX");
                if (kind == 1) /* a whole number of é */
                    ck_assert_int_eq((cut - 2) % 2, 0);
            } else {
                ck_assert_uint_le(2 + n * (kind == 2 ? 3 : 1), LK_DELTA_PARTITION_DIR_MAX);
            }
        }
    }
    /* two long values with the same prefix: two folders */
    memset(x, 'x', 10000);
    lk_buf_reset(&a);
    lk_buf_reset(&c);
    lk_delta_partition_dir_n("c", x, 300, LK_DELTA_PARTITION_DIR_MAX, &a);
    x[299] = 'y';
    lk_delta_partition_dir_n("c", x, 300, LK_DELTA_PARTITION_DIR_MAX, &c);
    ck_assert(a.len == c.len && memcmp(a.data, c.data, a.len));
    /* through the partitioner: 8 columns of 10,000 characters fit one data file path */
    lk_schema *s = lk_schema_new();
    const char *cols[8] = {"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"};
    for (int i = 0; i < 8; i++)
        lk_schema_add(s, cols[i], LK_TYPE_STRING, 1);
    lk_schema_add(s, "id", LK_TYPE_LONG, 1);
    lk_batch *bt = lk_batch_new(s);
    for (int i = 0; i < 8; i++)
        lk_col_append_bytes(lk_batch_col(bt, i), x, 10000);
    lk_col_append_i64(lk_batch_col(bt, 8), 1);
    lk_batch_end_row(bt);
    lk_partitioner *p = NULL;
    lk_error err;
    ck_assert_int_eq(lk_partitioner_new(s, cols, 8, &p, &err), 0);
    ck_assert_int_eq(lk_partitioner_split(p, bt), 1);
    const char *dir = lk_partitioner_dir(p, 0);
    ck_assert_uint_le(strlen(dir), LK_PARTITION_PATH_MAX);
    int slashes = 0;
    for (const char *q = dir; *q; q++)
        slashes += *q == '/';
    ck_assert_int_eq(slashes, 7);
    lk_partitioner_destroy(&p);
    lk_batch_destroy(&bt);
    lk_schema_destroy(&s);
    lk_buf_free(&a);
    lk_buf_free(&c);
    lk_buf_free(&b);
    free(x);
}
END_TEST

START_TEST(bad_partition_columns_are_named)
{
    lk_schema *s = schema();
    lk_partitioner *p = NULL;
    lk_error err;
    const char *missing[] = {"event_date"};
    ck_assert_int_eq(lk_partitioner_new(s, missing, 1, &p, &err), LK_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "partition column 'event_date' is not a column of the table"));
    const char *nested[] = {"dev"};
    ck_assert_int_eq(lk_partitioner_new(s, nested, 1, &p, &err), LK_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "'dev' is not a primitive column"));
    ck_assert_ptr_null(p);
    lk_schema_destroy(&s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("partition");
    TCase *tc = tcase_create("partitioner");
    tcase_add_test(tc, split_by_two_columns_keeps_row_order_and_drops_partition_columns);
    tcase_add_test(tc, value_text_follows_the_protocol);
    tcase_add_test(tc, bad_partition_columns_are_named);
    tcase_add_test(tc, hostile_values_stay_one_folder_that_fits);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
