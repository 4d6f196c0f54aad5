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

/* lk_schema_union: a table's schema after a write (the batch's columns in its order, the
   table's others after their predecessor; names without case), written as DDL lists. */
static char *union_of(const char *table, const char *batch)
{
    lk_schema *a = NULL, *b = NULL;
    lk_error err = {0};
    ck_assert_int_eq(lk_ddl_parse(table, &a, &err), 0);
    ck_assert_int_eq(lk_ddl_parse(batch, &b, &err), 0);
    lk_schema *u = lk_schema_union(a, b, &err);
    ck_assert_msg(u, "%s + %s: %s", table, batch, err.msg);
    lk_buf out = LK_BUF_INIT;
    lk_schema_to_ddl(u, &out);
    char *r = strdup(out.data ? out.data : "");
    lk_buf_free(&out);
    lk_schema_destroy(&a);
    lk_schema_destroy(&b);
    lk_schema_destroy(&u);
    return r;
}

START_TEST(schema_union_keeps_the_tables_columns)
{
    struct {
        const char *table, *batch, *want;
    } cases[] = {
        /* the same: the batch's */
        {"a INT, b STRING", "a INT, b STRING", "a INTEGER, b STRING"},
        /* fewer: the missing ones after their predecessor */
        {"a INT, b STRING, c DOUBLE, d INT", "a INT, d INT", "a INTEGER, b STRING, c DOUBLE, d INTEGER"},
        {"a INT, b STRING, c DOUBLE", "c DOUBLE", "a INTEGER, b STRING, c DOUBLE"},
        {"a INT, b STRING, c DOUBLE", "b STRING", "a INTEGER, b STRING, c DOUBLE"},
        /* new columns in the batch's order, the table's missing one kept */
        {"a INT, b STRING, z INT", "a INT, n INT, b STRING", "a INTEGER, n INTEGER, b STRING, z INTEGER"},
        /* another order: the batch's, the table's others where they followed */
        {"a INT, b INT, c INT", "c INT, a INT", "c INTEGER, a INTEGER, b INTEGER"},
        /* a name in another case is the same column (the batch's spelling) */
        {"id INT, amount DOUBLE", "id INT, Amount DOUBLE", "id INTEGER, Amount DOUBLE"},
        {"a INT", "", "a INTEGER"},
        /* a column whose own type differs is the batch's, as it was */
        {"a INT, b INT", "a STRING", "a STRING, b INTEGER"},
        {"s STRUCT<x: INT>", "s STRING", "s STRING"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *u = union_of(cases[i].table, cases[i].batch);
        ck_assert_msg(!strcmp(u, cases[i].want), "%s + %s: got %s, want %s", cases[i].table,
                      cases[i].batch, u, cases[i].want);
        free(u);
    }
}
END_TEST

/* The union inside a column of both: a struct's children (another host's data lacks one, or
   has a new one), at any depth, in arrays and maps too. */
START_TEST(schema_union_keeps_struct_children)
{
    struct {
        const char *table, *batch, *want;
    } cases[] = {
        /* a child the batch lacks is kept */
        {"id STRING, device STRUCT<os: STRING, version: STRING>",
         "id STRING, device STRUCT<os: STRING>",
         "id STRING, device STRUCT<os: STRING, version: STRING>"},
        /* a new child is appended; the one the batch lacks kept in its place */
        {"device STRUCT<os: STRING, version: STRING>", "device STRUCT<os: STRING, model: STRING>",
         "device STRUCT<os: STRING, version: STRING, model: STRING>"},
        /* the table's child order, whatever the batch's */
        {"s STRUCT<a: INT, b: INT>", "s STRUCT<c: INT, b: INT, a: INT>",
         "s STRUCT<a: INTEGER, b: INTEGER, c: INTEGER>"},
        /* names without case: the column's spelling is the batch's, a child's the table's */
        {"s STRUCT<Os: STRING>", "S STRUCT<os: STRING, v: INT>",
         "S STRUCT<Os: STRING, v: INTEGER>"},
        /* deeper */
        {"s STRUCT<i: STRUCT<a: INT, b: INT>, z: INT>", "s STRUCT<i: STRUCT<c: INT>>",
         "s STRUCT<i: STRUCT<a: INTEGER, b: INTEGER, c: INTEGER>, z: INTEGER>"},
        /* an array's element struct, a map's value struct */
        {"items ARRAY<STRUCT<sku: STRING, price: DOUBLE>>",
         "items ARRAY<STRUCT<sku: STRING, qty: INT>>",
         "items ARRAY<STRUCT<sku: STRING, price: DOUBLE, qty: INTEGER>>"},
        {"m MAP<STRING, STRUCT<a: INT>>", "m MAP<STRING, STRUCT<b: INT>>",
         "m MAP<STRING, STRUCT<a: INTEGER, b: INTEGER>>"},
        {"a ARRAY<ARRAY<STRUCT<x: INT>>>", "a ARRAY<ARRAY<STRUCT<y: INT>>>",
         "a ARRAY<ARRAY<STRUCT<x: INTEGER, y: INTEGER>>>"},
        /* with a top-level column the batch lacks, and one it adds */
        {"a INT, s STRUCT<x: INT, y: INT>, z INT", "n INT, s STRUCT<y: INT>",
         "a INTEGER, n INTEGER, s STRUCT<x: INTEGER, y: INTEGER>, z INTEGER"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *u = union_of(cases[i].table, cases[i].batch);
        ck_assert_msg(!strcmp(u, cases[i].want), "%s + %s: got %s, want %s", cases[i].table,
                      cases[i].batch, u, cases[i].want);
        free(u);
    }
}
END_TEST

/* A child the batch lacks reads as null in its files: nullable in the union, as is a child
   nullable on either side; the top-level column keeps the batch's nullability, as before. */
START_TEST(schema_union_child_nullability)
{
    lk_schema *a = lk_schema_new(), *b = lk_schema_new();
    lk_field *s = lk_schema_add(a, "s", LK_TYPE_STRUCT, 1);
    lk_field_add_child(s, "x", LK_TYPE_LONG, 0);
    lk_field_add_child(s, "y", LK_TYPE_LONG, 0);
    lk_field_add_child(s, "w", LK_TYPE_LONG, 0);
    s = lk_schema_add(b, "s", LK_TYPE_STRUCT, 0);
    lk_field_add_child(s, "x", LK_TYPE_LONG, 1);
    lk_field_add_child(s, "w", LK_TYPE_LONG, 0);
    lk_error err = {0};
    lk_schema *u = lk_schema_union(a, b, &err);
    ck_assert_ptr_nonnull(u);
    ck_assert_int_eq(lk_schema_find_path(u, "s")->nullable, 0);
    ck_assert_int_eq(lk_schema_find_path(u, "s.x")->nullable, 1);
    ck_assert_int_eq(lk_schema_find_path(u, "s.y")->nullable, 1);
    ck_assert_int_eq(lk_schema_find_path(u, "s.w")->nullable, 0);
    /* covers: the union changes nothing that a's field covers */
    ck_assert(!lk_field_covers(lk_schema_field(a, 0), lk_schema_field(b, 0))); /* x null, y gone */
    ck_assert(lk_field_covers(lk_schema_field(u, 0), lk_schema_field(b, 0)));
    ck_assert(!lk_field_covers(lk_schema_field(b, 0), lk_schema_field(u, 0))); /* y: b lacks it */
    lk_schema_destroy(&u);
    lk_schema_destroy(&a);
    lk_schema_destroy(&b);
}
END_TEST

/* A child whose type differs cannot be merged: refused, naming its path and both types. */
START_TEST(schema_union_refuses_a_child_of_another_type)
{
    struct {
        const char *table, *batch, *want;
    } cases[] = {
        {"id STRING, device STRUCT<os: STRING, version: BIGINT>", "device STRUCT<version: STRING>",
         "column 'device.version' is LONG in the table and STRING in the batch"},
        {"s STRUCT<Version: BIGINT>", "S STRUCT<version: STRING>",
         "column 'S.Version' is LONG in the table and STRING in the batch"},
        {"items ARRAY<STRUCT<price: DOUBLE>>", "items ARRAY<STRUCT<price: STRING>>",
         "column 'items.element.price' is DOUBLE in the table and STRING in the batch"},
        {"tags ARRAY<BIGINT>", "tags ARRAY<STRING>",
         "column 'tags.element' is LONG in the table and STRING in the batch"},
        {"m MAP<STRING, STRUCT<x: INT>>", "m MAP<STRING, STRUCT<x: STRUCT<y: INT>>>",
         "column 'm.value.x' is INTEGER in the table and STRUCT<y: INTEGER> in the batch"},
        {"s STRUCT<i: STRUCT<d: DECIMAL(10,2)>>", "s STRUCT<i: STRUCT<d: DECIMAL(12,2)>>",
         "column 's.i.d' is DECIMAL(10,2) in the table and DECIMAL(12,2) in the batch"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lk_schema *a = NULL, *b = NULL;
        lk_error err = {0};
        ck_assert_int_eq(lk_ddl_parse(cases[i].table, &a, &err), 0);
        ck_assert_int_eq(lk_ddl_parse(cases[i].batch, &b, &err), 0);
        lk_schema *u = lk_schema_union(a, b, &err);
        ck_assert_msg(!u, "%s + %s: merged", cases[i].table, cases[i].batch);
        ck_assert_int_eq(err.code, LK_ECONFIG);
        ck_assert_msg(strstr(err.msg, cases[i].want), "%s + %s: %s", cases[i].table, cases[i].batch,
                      err.msg);
        lk_schema_destroy(&a);
        lk_schema_destroy(&b);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ddl");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, primitives_and_aliases);
    tcase_add_test(tc, nested_types);
    tcase_add_test(tc, errors_name_the_position);
    tcase_add_test(tc, schema_union_keeps_the_tables_columns);
    tcase_add_test(tc, schema_union_keeps_struct_children);
    tcase_add_test(tc, schema_union_child_nullability);
    tcase_add_test(tc, schema_union_refuses_a_child_of_another_type);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
