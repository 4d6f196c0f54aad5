/* Unit tests for lake/lk_ddl: Spark DDL column lists, valid and invalid. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "lk_check.h"
#include "lk_ddl.h"

static char *ddl_of(const char *text)
{
    lk_schema *s = NULL;
    lk_error err = {0};
    ck_assert_msg(lk_ddl_parse(text, &s, &err) == 0, "%s: %s", text, err.msg);
    lk_buf b = LK_BUF_INIT;
    lk_schema_to_ddl(s, &b);
    lk_schema_destroy(&s);
    char *out = strdup(b.data ? b.data : "");
    lk_buf_free(&b);
    return out;
}

static void expect_error(const char *text, const char *msg)
{
    lk_schema *s = NULL;
    lk_error err = {0};
    ck_assert_int_eq(lk_ddl_parse(text, &s, &err), LK_EFORMAT);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err.msg, msg), "'%s': got '%s', want '%s'", text, err.msg, msg);
}

START_TEST(primitives_and_aliases)
{
    char *d = ddl_of("a string, b BIGINT, c int, d Double, e boolean, f DATE, g timestamp, "
                     "h TIMESTAMP_NTZ, i binary, j smallint, k tinyint, l float, m VARCHAR(10), "
                     "n long, o DECIMAL(10,2), p decimal, q DEC(38, 0)");
    ck_assert_str_eq(d, "a STRING, b LONG, c INTEGER, d DOUBLE, e BOOLEAN, f DATE, g TIMESTAMP, "
                        "h TIMESTAMP_NTZ, i BINARY, j SHORT, k BYTE, l FLOAT, m STRING, n LONG, "
                        "o DECIMAL(10,2), p DECIMAL(10,0), q DECIMAL(38,0)");
    free(d);
}
END_TEST

START_TEST(nested_types)
{
    lk_schema *s = NULL;
    lk_error err = {0};
    ck_assert_int_eq(lk_ddl_parse("ts TIMESTAMP, amount DECIMAL(10,2), tags ARRAY<STRING>, "
                                  "device STRUCT<os: STRING, v STRUCT<major INT>>, "
                                  "attrs MAP<STRING, ARRAY<LONG>> NOT NULL COMMENT 'x, y', "
                                  "`weird name` string",
                                  &s, &err),
                     0);
    ck_assert_int_eq(lk_schema_nfields(s), 6);
    const lk_field *t = lk_schema_find_path(s, "tags");
    ck_assert_int_eq(t->type, LK_TYPE_ARRAY);
    ck_assert_int_eq(t->children[0].type, LK_TYPE_STRING);
    const lk_field *v = lk_schema_find_path(s, "device.v");
    ck_assert_int_eq(v->type, LK_TYPE_STRUCT);
    ck_assert_str_eq(v->children[0].name, "major");
    ck_assert_int_eq(v->children[0].type, LK_TYPE_INTEGER);
    const lk_field *m = lk_schema_field(s, 4);
    ck_assert_int_eq(m->type, LK_TYPE_MAP);
    ck_assert_int_eq(m->nullable, 0);
    ck_assert_int_eq(m->children[1].type, LK_TYPE_ARRAY);
    ck_assert_int_eq(m->children[1].children[0].type, LK_TYPE_LONG);
    ck_assert_str_eq(lk_schema_field(s, 5)->name, "weird name");
    const lk_field *a = lk_schema_field(s, 1);
    ck_assert_int_eq(a->precision, 10);
    ck_assert_int_eq(a->scale, 2);
    lk_schema_destroy(&s);
    ck_assert_int_eq(lk_ddl_parse("  ", &s, &err), 0);
    ck_assert_int_eq(lk_schema_nfields(s), 0);
    lk_schema_destroy(&s);
}
END_TEST

START_TEST(errors_name_the_position)
{
    expect_error("a LONG, b", "position 10: expected a type name");
    expect_error("a LONGG", "position 3: expected a type name");
    expect_error("a DECIMAL(50,2)", "position 3: DECIMAL(50,2) is out of range");
    expect_error("a DECIMAL(5,6)", "DECIMAL(5,6) is out of range");
    expect_error("a ARRAY<STRING", "position 15: expected '>' closing ARRAY");
    expect_error("a MAP<STRING>", "expected ',' between MAP's key and value types");
    expect_error("a STRUCT<x INT y INT>", "position 16: expected ',' or '>' in STRUCT");
    expect_error("a INT b INT", "position 7: expected ',' or the end");
    expect_error("a INT, A STRING", "column 'A' appears twice");
    expect_error("`a STRING", "expected a closing `");
    expect_error("a INT NOT", "expected NULL after NOT");
    expect_error(", a INT", "position 1: expected a column name");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ddl");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, primitives_and_aliases);
    tcase_add_test(tc, nested_types);
    tcase_add_test(tc, errors_name_the_position);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
