/* Unit tests for lake/lk_batch (columnar builders) and lake/lk_rowjson. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_check.h"
#include "lk_batch.h"
#include "lk_rowjson.h"

static lk_schema *event_schema(void)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "id", LK_TYPE_STRING, 1);
    lk_schema_add(s, "n", LK_TYPE_LONG, 1);
    lk_schema_add(s, "x", LK_TYPE_DOUBLE, 1);
    lk_schema_add(s, "ok", LK_TYPE_BOOLEAN, 1);
    lk_field *dev = lk_schema_add(s, "device", LK_TYPE_STRUCT, 1);
    lk_field_add_child(dev, "os", LK_TYPE_STRING, 1);
    lk_field_add_child(dev, "version", LK_TYPE_STRING, 1);
    lk_field *tags = lk_schema_add(s, "tags", LK_TYPE_ARRAY, 1);
    lk_field_add_child(tags, "element", LK_TYPE_STRING, 1);
    lk_schema_add(s, "ts", LK_TYPE_TIMESTAMP, 1);
    lk_field *d = lk_schema_add(s, "price", LK_TYPE_DECIMAL, 1);
    d->precision = 10;
    d->scale = 2;
    return s;
}

/* Builds row 0 fully, row 1 with only id (everything else padded null). */
static void fill(lk_batch *b)
{
    lk_col_append_bytes(lk_batch_col(b, 0), "a\"1", 3);
    lk_col_append_i64(lk_batch_col(b, 1), -7);
    lk_col_append_f64(lk_batch_col(b, 2), 1.5);
    lk_col_append_bool(lk_batch_col(b, 3), 1);
    lk_col *dev = lk_batch_col(b, 4);
    lk_col_append_struct(dev);
    lk_col_append_bytes(&dev->children[0], "ios", 3);
    lk_col_pad(&dev->children[1], dev->len); /* version absent → null */
    lk_col *tags = lk_batch_col(b, 5);
    lk_col_append_bytes(&tags->children[0], "x", 1);
    lk_col_append_null(&tags->children[0]);
    lk_col_append_list(tags);
    lk_col_append_i64(lk_batch_col(b, 6), 1795512600123000LL);
    lk_col_append_i64(lk_batch_col(b, 7), -12345);
    lk_batch_end_row(b);
    lk_col_append_bytes(lk_batch_col(b, 0), "b", 1);
    lk_batch_end_row(b);
}

START_TEST(builders_and_padding)
{
    lk_schema *s = event_schema();
    lk_batch *b = lk_batch_new(s);
    fill(b);
    ck_assert_uint_eq(lk_batch_nrows(b), 2);
    for (int i = 0; i < lk_batch_ncols(b); i++)
        ck_assert_uint_eq(lk_batch_col(b, i)->len, 2);
    const lk_col *dev = lk_batch_col(b, 4);
    ck_assert(!lk_col_is_null(dev, 0));
    ck_assert(lk_col_is_null(dev, 1));
    ck_assert_uint_eq(dev->children[0].len, 2); /* struct nulls pad the children */
    ck_assert(lk_col_is_null(&dev->children[1], 0));
    ck_assert_uint_eq(lk_batch_col(b, 1)->null_count, 1);
    const lk_col *tags = lk_batch_col(b, 5);
    ck_assert_uint_eq(tags->offsets[1], 2);
    ck_assert_uint_eq(tags->offsets[2], 2); /* a null list is an empty range */

    lk_buf out = LK_BUF_INIT;
    lk_rowjson_append(b, 0, &out);
    ck_assert_str_eq(out.data,
                     "{\"id\":\"a\\\"1\",\"n\":-7,\"x\":1.5,\"ok\":true,"
                     "\"device\":{\"os\":\"ios\",\"version\":null},\"tags\":[\"x\",null],"
                     "\"ts\":\"2026-11-24T09:30:00.123000Z\",\"price\":-123.45}");
    lk_buf_reset(&out);
    lk_rowjson_append(b, 1, &out);
    ck_assert_str_eq(out.data, "{\"id\":\"b\",\"n\":null,\"x\":null,\"ok\":null,\"device\":null,"
                               "\"tags\":null,\"ts\":null,\"price\":null}");

    /* reset keeps the columns usable and forgets the nulls */
    lk_batch_reset(b);
    ck_assert_uint_eq(lk_batch_nrows(b), 0);
    lk_col_append_bytes(lk_batch_col(b, 0), "c", 1);
    lk_col_append_i64(lk_batch_col(b, 1), 5);
    lk_batch_end_row(b);
    ck_assert_uint_eq(lk_batch_col(b, 1)->null_count, 0);
    ck_assert(!lk_col_is_null(lk_batch_col(b, 1), 0));
    ck_assert(lk_col_is_null(lk_batch_col(b, 2), 0));
    lk_buf_free(&out);
    lk_batch_destroy(&b);
    ck_assert_ptr_null(b);
    lk_schema_destroy(&s);
}
END_TEST

START_TEST(many_rows_grow)
{
    lk_schema *s = event_schema();
    lk_batch *b = lk_batch_new(s);
    for (int r = 0; r < 100000; r++) {
        char id[16];
        int n = snprintf(id, sizeof id, "e%d", r);
        lk_col_append_bytes(lk_batch_col(b, 0), id, (size_t)n);
        if (r % 3)
            lk_col_append_i64(lk_batch_col(b, 1), r);
        lk_batch_end_row(b);
    }
    const lk_col *c = lk_batch_col(b, 1);
    ck_assert_uint_eq(c->len, 100000);
    ck_assert_uint_eq(c->null_count, 33334);
    for (uint32_t r = 0; r < 100000; r++) {
        ck_assert_int_eq(lk_col_is_null(c, r), r % 3 == 0);
        if (r % 3)
            ck_assert_int_eq(lk_col_i64(c, r), r);
    }
    size_t n;
    const char *p = lk_col_bytes(lk_batch_col(b, 0), 99999, &n);
    ck_assert_int_eq((int)n, 6);
    ck_assert(!memcmp(p, "e99999", 6));
    ck_assert(lk_batch_bytes(b) > 100000 * 8);
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
}
END_TEST

/* A null early, then growth by doubling: the bitmap must follow the
   capacity, not the requested length (a heap overflow found by ASan). */
START_TEST(validity_follows_capacity)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "s", LK_TYPE_STRING, 1);
    lk_batch *b = lk_batch_new(s);
    lk_col *c = lk_batch_col(b, 0);
    lk_col_append_null(c);
    for (int i = 0; i < 5000; i++)
        lk_col_append_bytes(c, "x", 1);
    lk_col_append_null(c);
    ck_assert_uint_eq(c->null_count, 2);
    ck_assert(lk_col_is_null(c, 0) && lk_col_is_null(c, 5001) && !lk_col_is_null(c, 4000));
    ck_assert_uint_ge(c->validity_cap * 8, c->cap);
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
}
END_TEST

START_TEST(schema_json_round_trip)
{
    lk_schema *s = event_schema();
    lk_buf j = LK_BUF_INIT;
    lk_schema_to_json(s, &j);
    lk_schema *back = NULL;
    lk_error err;
    ck_assert_int_eq(lk_schema_from_json(j.data, j.len, &back, &err), 0);
    ck_assert(lk_schema_equal(s, back));
    ck_assert_ptr_nonnull(strstr(j.data, "\"type\":\"decimal(10,2)\""));
    ck_assert_ptr_nonnull(
        strstr(j.data, "{\"type\":\"array\",\"elementType\":\"string\",\"containsNull\":true}"));
    ck_assert_ptr_eq(lk_schema_find_path(s, "device.os"), &lk_schema_field(s, 4)->children[0]);
    ck_assert_ptr_null(lk_schema_find_path(s, "device.nope"));
    lk_schema *bad = NULL;
    const char *unsup = "{\"type\":\"struct\",\"fields\":[{\"name\":\"a\",\"type\":\"interval\","
                        "\"nullable\":true,\"metadata\":{}}]}";
    ck_assert_int_eq(lk_schema_from_json(unsup, strlen(unsup), &bad, &err), LK_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "interval"));
    ck_assert_int_eq(lk_schema_from_json("[1", 2, &bad, &err), LK_EFORMAT);
    lk_buf ddl = LK_BUF_INIT;
    lk_schema_to_ddl(s, &ddl);
    ck_assert_ptr_nonnull(strstr(ddl.data, "device STRUCT<os: STRING, version: STRING>"));
    lk_buf_free(&ddl);
    lk_schema_destroy(&back);
    lk_schema_destroy(&s);
    lk_buf_free(&j);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("batch");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, builders_and_padding);
    tcase_add_test(tc, many_rows_grow);
    tcase_add_test(tc, validity_follows_capacity);
    tcase_add_test(tc, schema_json_round_trip);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
