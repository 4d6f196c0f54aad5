/* Unit tests for formats/lk_infer: Spark's inference and widening rules. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "lk_buf.h"
#include "lk_check.h"
#include "lk_infer.h"
#include "lk_json_reader.h"
#include "lk_json_corpus.h"

static lk_schema *infer(const char *text)
{
    lk_infer *inf = lk_infer_new();
    lk_infer_lines(inf, text, strlen(text));
    lk_schema *s = lk_infer_result(inf);
    lk_infer_destroy(&inf);
    ck_assert_ptr_null(inf);
    return s;
}

static void assert_ddl(const lk_schema *s, const char *want)
{
    lk_buf b = LK_BUF_INIT;
    lk_schema_to_ddl(s, &b);
    ck_assert_str_eq(b.data, want);
    lk_buf_free(&b);
}

static lk_type type_of(const lk_schema *s, const char *path)
{
    const lk_field *f = lk_schema_find_path(s, path);
    ck_assert_msg(f != NULL, "no field %s", path);
    return f->type;
}

/* n lines {"user_id": <number>, "ok": true} and m with strings instead */
static lk_schema *votes(int n, int m)
{
    lk_buf t = LK_BUF_INIT;
    for (int i = 0; i < n; i++)
        lk_buf_printf(&t, "{\"user_id\":%d,\"ok\":true,\"x\":%d.5}\n", i, i);
    for (int i = 0; i < m; i++)
        lk_buf_printf(&t, "{\"user_id\":\"not-a-number\",\"ok\":\"yes\",\"x\":\"?\"}\n");
    lk_buf_putc(&t, '\0');
    lk_infer *inf = lk_infer_new();
    lk_infer_lines(inf, t.data, t.len - 1);
    lk_schema *s = lk_infer_result(inf);
    lk_infer_destroy(&inf);
    lk_buf_free(&t);
    return s;
}

START_TEST(infer_a_few_odd_strings_are_mismatches_not_the_type)
{
    lk_schema *s = votes(36, 4); /* 90 % numbers: the column stays numeric */
    assert_ddl(s, "user_id LONG, ok BOOLEAN, x DOUBLE");
    lk_schema_destroy(&s);
    s = votes(30, 10); /* 75 %: Spark's rule, string */
    assert_ddl(s, "user_id STRING, ok STRING, x STRING");
    lk_schema_destroy(&s);
    s = votes(15, 1); /* too few values to outvote anything */
    assert_ddl(s, "user_id STRING, ok STRING, x STRING");
    lk_schema_destroy(&s);
}
END_TEST

START_TEST(infer_types)
{
    lk_schema *s = infer("{\"a\":1,\"b\":1.5,\"c\":true,\"d\":\"x\",\"e\":\"2026-01-01T00:00:00Z\","
                         "\"f\":null,\"g\":{\"h\":2},\"i\":[1,2],\"j\":[]}\n");
    ck_assert_int_eq(lk_schema_nfields(s), 9);
    ck_assert_str_eq(lk_schema_field(s, 0)->name, "a");
    ck_assert_int_eq(type_of(s, "a"), LK_TYPE_LONG);
    ck_assert_int_eq(type_of(s, "b"), LK_TYPE_DOUBLE);
    ck_assert_int_eq(type_of(s, "c"), LK_TYPE_BOOLEAN);
    ck_assert_int_eq(type_of(s, "d"), LK_TYPE_STRING);
    ck_assert_int_eq(type_of(s, "e"), LK_TYPE_STRING);
    ck_assert_int_eq(type_of(s, "f"), LK_TYPE_STRING);
    ck_assert_int_eq(type_of(s, "g"), LK_TYPE_STRUCT);
    ck_assert_int_eq(type_of(s, "g.h"), LK_TYPE_LONG);
    const lk_field *i = lk_schema_find_path(s, "i");
    ck_assert_int_eq(i->type, LK_TYPE_ARRAY);
    ck_assert_int_eq(i->children[0].type, LK_TYPE_LONG);
    const lk_field *j = lk_schema_find_path(s, "j");
    ck_assert_int_eq(j->type, LK_TYPE_ARRAY);
    ck_assert_int_eq(j->children[0].type, LK_TYPE_STRING);
    lk_schema_destroy(&s);
}
END_TEST

START_TEST(infer_widening)
{
    lk_schema *s = infer("{\"n\":1,\"m\":1,\"s\":1,\"z\":null,\"o\":{\"a\":1}}\r\n"
                         "\n   \n"
                         "{\"n\":2.5,\"m\":2,\"s\":\"x\",\"z\":null,\"o\":{\"b\":\"y\"},\"new\":true}\n"
                         "{\"o\":{\"a\":1.0}}\n"
                         "[1,2]\n{bad\n42\n");
    assert_ddl(s, "n DOUBLE, m LONG, s STRING, z STRING, o STRUCT<a: DOUBLE, b: STRING>, "
                  "new BOOLEAN");
    lk_schema_destroy(&s);
}
END_TEST

START_TEST(infer_conflicts)
{
    lk_schema *s = infer("{\"a\":{\"x\":1},\"b\":[1],\"c\":[1],\"d\":true,\"e\":[1]}\n"
                         "{\"a\":5,\"b\":\"s\",\"c\":[2.5],\"d\":1,\"e\":[\"q\",null]}\n");
    ck_assert_int_eq(type_of(s, "a"), LK_TYPE_STRING);
    ck_assert_int_eq(type_of(s, "b"), LK_TYPE_STRING);
    ck_assert_int_eq(type_of(s, "c"), LK_TYPE_ARRAY);
    ck_assert_int_eq(lk_schema_find_path(s, "c")->children[0].type, LK_TYPE_DOUBLE);
    ck_assert_int_eq(type_of(s, "d"), LK_TYPE_STRING);
    ck_assert_int_eq(lk_schema_find_path(s, "e")->children[0].type, LK_TYPE_STRING);
    lk_schema_destroy(&s);
}
END_TEST

START_TEST(infer_nonobjects_and_merge)
{
    lk_infer *inf = lk_infer_new();
    ck_assert_int_eq(lk_infer_line(inf, "[1]", 3), LK_EFORMAT);
    ck_assert_int_eq(lk_infer_line(inf, "{x", 2), LK_EFORMAT);
    /* a key with a NUL: yajl_tree cut it to "a", a column the reader never fills (it
       rescues the key whole): the line gives no column (issue 17) */
    const char *nulkey = "{\"a\\u0000b\":1}", *nulval = "{\"c\":\"z\\u0000w\"}";
    ck_assert_int_eq(lk_infer_line(inf, nulkey, strlen(nulkey)), LK_EFORMAT);
    ck_assert_ptr_null(lk_infer_result(inf));
    ck_assert_int_eq(lk_infer_lines(inf, "{\"a\":1}\n{\"b\":[{\"k\":1}]}\n\"s\"\n", 29), 2);
    /* a NUL in a value is no reason to refuse the line */
    ck_assert_int_eq(lk_infer_line(inf, nulval, strlen(nulval)), 0);
    lk_schema *s = lk_infer_result(inf);
    lk_infer_destroy(&inf);
    const lk_field *b = lk_schema_find_path(s, "b");
    ck_assert_int_eq(b->children[0].type, LK_TYPE_STRUCT);
    ck_assert_str_eq(b->children[0].children[0].name, "k");

    lk_schema *t = lk_schema_new();
    lk_schema_add(t, "c", LK_TYPE_STRING, 1);
    lk_schema_add(t, "a", LK_TYPE_DOUBLE, 1);
    lk_schema *m = lk_infer_merge(s, t);
    assert_ddl(m, "a DOUBLE, b ARRAY<STRUCT<k: LONG>>, c STRING");
    lk_schema_destroy(&m);
    lk_schema_destroy(&t);
    lk_schema_destroy(&s);
}
END_TEST

/* Values by the ten thousand are not sampled (issue 17): yajl_tree grows an array or an
   object one element at a time, quadratic where realloc copies (under ASan, 100,000 keys kept
   ingest past worker_timeout: killed again and again); 5,000 are. */
START_TEST(infer_skips_huge_lines)
{
    lk_infer *inf = lk_infer_new();
    lk_buf big = LK_BUF_INIT;
    for (int n = 5000; n <= 20000; n += 15000) {
        lk_buf_reset(&big);
        lk_buf_puts(&big, "{\"big\":[0");
        for (int i = 1; i < n; i++)
            lk_buf_puts(&big, ",1");
        lk_buf_puts(&big, "]}");
        ck_assert_int_eq(lk_infer_line(inf, big.data, big.len), n > LK_INFER_MAX_VALUES ? LK_EFORMAT : 0);
    }
    lk_buf_free(&big);
    lk_schema *s = lk_infer_result(inf);
    assert_ddl(s, "big ARRAY<LONG>");
    lk_schema_destroy(&s);
    lk_infer_destroy(&inf);
}
END_TEST

/* An object or array nested deeper than LK_INFER_MAX_NESTING levels is a
   string (its JSON text): deeper types made records messages msgpack-c
   cannot unpack, and the writer dropped them (the pipeline hung). */
/* A line nested deeper than the reader takes (LK_JSON_MAX_NESTING) is a corrupt record: none of
   its keys becomes a column (one did, a column no row could fill). */
START_TEST(infer_skips_lines_nested_too_deep)
{
    lk_buf t = LK_BUF_INIT;
    lk_buf_puts(&t, "{\"id\":1}\n{\"id\":2,\"deep\":");
    for (int i = 1; i <= LK_JSON_MAX_NESTING; i++)
        lk_buf_putc(&t, '[');
    for (int i = 1; i <= LK_JSON_MAX_NESTING; i++)
        lk_buf_putc(&t, ']');
    lk_buf_puts(&t, ",\"s\":\"[[[[\"}\n{\"id\":3,\"ok\":\"[{[{\"}\n");
    lk_schema *s = infer(t.data);
    ck_assert_int_ge(lk_schema_find(s, "id"), 0);
    ck_assert_int_lt(lk_schema_find(s, "deep"), 0);
    ck_assert_int_ge(lk_schema_find(s, "ok"), 0); /* brackets inside a string do not count */
    lk_schema_destroy(&s);
    lk_buf_free(&t);
}
END_TEST

START_TEST(infer_nesting_is_bounded)
{
    lk_buf t = LK_BUF_INIT, path = LK_BUF_INIT;
    lk_buf_puts(&t, "{\"d\":");
    for (int i = 0; i < 30; i++)
        lk_buf_puts(&t, "{\"x\":");
    lk_buf_puts(&t, "1");
    for (int i = 0; i < 30; i++)
        lk_buf_puts(&t, "}");
    lk_buf_puts(&t, ",\"a\":");
    for (int i = 0; i < 30; i++)
        lk_buf_puts(&t, "[");
    lk_buf_puts(&t, "1");
    for (int i = 0; i < 30; i++)
        lk_buf_puts(&t, "]");
    lk_buf_puts(&t, "}\n");
    lk_schema *s = infer(t.data);
    lk_buf_puts(&path, "d");
    ck_assert_int_eq(type_of(s, path.data), LK_TYPE_STRUCT);
    for (int level = 2; level <= LK_INFER_MAX_NESTING; level++) {
        lk_buf_puts(&path, ".x");
        ck_assert_int_eq(type_of(s, path.data), LK_TYPE_STRUCT);
    }
    lk_buf_puts(&path, ".x");
    ck_assert_int_eq(type_of(s, path.data), LK_TYPE_STRING);
    const lk_field *f = lk_schema_find_path(s, "a");
    for (int level = 1; level <= LK_INFER_MAX_NESTING; level++) {
        ck_assert_int_eq(f->type, LK_TYPE_ARRAY);
        f = &f->children[0];
    }
    ck_assert_int_eq(f->type, LK_TYPE_STRING);
    ck_assert_int_eq(f->n_children, 0);
    lk_schema_destroy(&s);
    lk_buf_free(&t);
    lk_buf_free(&path);
}
END_TEST

/* Infers text line by line with and without the shape shortcut: the same
   schema and the same count of objects; returns the shortcut's lines. */
static long infer_both(const char *text, size_t len)
{
    lk_infer *fast = lk_infer_new(), *tree = lk_infer_new();
    lk_infer_tree_only(tree, 1);
    long nf = lk_infer_lines(fast, text, len), nt = lk_infer_lines(tree, text, len);
    ck_assert_int_eq(nf, nt);
    ck_assert_int_eq(lk_infer_shortcuts(tree), 0);
    lk_schema *a = lk_infer_result(fast), *b = lk_infer_result(tree);
    ck_assert((a == NULL) == (b == NULL));
    if (a && !lk_schema_equal(a, b)) {
        lk_buf x = LK_BUF_INIT, y = LK_BUF_INIT;
        lk_schema_to_ddl(a, &x);
        lk_schema_to_ddl(b, &y);
        ck_abort_msg("the shortcut changed the schema:\n%s\n%s\ntext:\n%.*s", x.data, y.data,
                     (int)(len > 3000 ? 3000 : len), text);
    }
    long n = lk_infer_shortcuts(fast);
    lk_schema_destroy(&a);
    lk_schema_destroy(&b);
    lk_infer_destroy(&fast);
    lk_infer_destroy(&tree);
    return n;
}

/* The shortcut (a line of a shape seen to leave the schema as it was: its
   votes only) gives the tree path's schema on the corpus, repeated, and on
   thousands of mutated lines; and it is taken. */
START_TEST(infer_shortcut_equals_tree)
{
    lk_buf text = LK_BUF_INIT;
    for (int rep = 0; rep < 3; rep++)
        for (size_t i = 0; i < sizeof BASE / sizeof *BASE; i++) {
            lk_buf_puts(&text, BASE[i]);
            lk_buf_putc(&text, '\n');
        }
    /* lines of one shape with other values, a null here and there, an odd string for a number */
    for (int i = 0; i < 200; i++)
        lk_buf_printf(&text,
                      "{\"id\":%d,\"amount\":%s,\"ok\":%s,\"d\":{\"os\":\"x%d\",\"v\":%d.5},"
                      "\"s\":\"t\\u00e9\\\"%d\"}\n",
                      i, i % 3 ? "1.25" : "null", i % 2 ? "true" : "false", i, i,
                      i == 150 ? 7 : i);
    lk_buf_puts(&text, "{\"id\":\"x\",\"amount\":3,\"ok\":null,\"d\":{\"os\":null,\"v\":1}}\n");
    ck_assert_int_gt(infer_both(text.data, text.len), 150);
    lk_buf_free(&text);
    for (int round = 0; round < 400; round++) {
        lk_buf t = LK_BUF_INIT;
        corpus_lines(&t, 40, 3);
        infer_both(t.data, t.len);
        lk_buf_free(&t);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("infer");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, infer_types);
    tcase_add_test(tc, infer_a_few_odd_strings_are_mismatches_not_the_type);
    tcase_add_test(tc, infer_widening);
    tcase_add_test(tc, infer_conflicts);
    tcase_add_test(tc, infer_nonobjects_and_merge);
    tcase_add_test(tc, infer_skips_huge_lines);
    tcase_add_test(tc, infer_nesting_is_bounded);
    tcase_add_test(tc, infer_skips_lines_nested_too_deep);
    tcase_add_test(tc, infer_shortcut_equals_tree);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
