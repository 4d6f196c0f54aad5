/* Unit tests for the expression layer (sql/): each function at its edges
   (nulls, empty strings, invalid UTF-8, overflow, leap years, time zones,
   huge numbers), Spark's answers where Spark and other engines differ, the
   parser's and checker's error messages and positions, failure marks for
   on_error, and evaluation over several batches with one compiled program. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_buf.h"
#include "lk_check.h"
#include "lk_ddl.h"
#include "lk_rowjson.h"
#include "lk_sql.h"
#include "lk_sql_cast.h"
#include "lk_sql_check.h"
#include "lk_sql_regex.h"

/* One row of every type the tests use; a second row of nulls. */
static const char *SCHEMA = "i INT, l BIGINT, d DOUBLE, s STRING, n INT, ns STRING, e STRING, "
                            "ts TIMESTAMP, dt DATE, b BOOLEAN, st STRUCT<os: STRING, v: INT>, "
                            "bad STRING, j STRING, dec DECIMAL(10,2), sh SMALLINT, f FLOAT, "
                            "m MAP<STRING, INT>, arr ARRAY<STRUCT<p: DOUBLE, q: STRING>>, "
                            "ad ARRAY<DOUBLE>";

static lk_batch *make_batch(void)
{
    lk_schema *s = NULL;
    lk_error err;
    ck_assert_int_eq(lk_ddl_parse(SCHEMA, &s, &err), 0);
    lk_batch *b = lk_batch_new(s);
    lk_schema_destroy(&s);
    int c = 0;
    lk_col_append_i32(lk_batch_col(b, c++), 7);
    lk_col_append_i64(lk_batch_col(b, c++), 10000000000LL);
    lk_col_append_f64(lk_batch_col(b, c++), 2.5);
    lk_col_append_bytes(lk_batch_col(b, c++), " Hello ", 7);
    lk_col_append_null(lk_batch_col(b, c++));
    lk_col_append_null(lk_batch_col(b, c++));
    lk_col_append_bytes(lk_batch_col(b, c++), "", 0);
    lk_col_append_i64(lk_batch_col(b, c++), 1795512600123456LL); /* 2026-11-24T09:30:00.123456Z */
    lk_col_append_i32(lk_batch_col(b, c++), 20416);              /* 2025-11-24 */
    lk_col_append_bool(lk_batch_col(b, c++), 1);
    lk_col *st = lk_batch_col(b, c++);
    lk_col_append_struct(st);
    lk_col_append_bytes(&st->children[0], "ios", 3);
    lk_col_append_i32(&st->children[1], 17);
    lk_col_append_bytes(lk_batch_col(b, c++), "caf\xc3\xa9\xff!", 7); /* invalid UTF-8 */
    lk_col_append_bytes(
        lk_batch_col(b, c++),
        "{\"a\": {\"b\": [1, {\"c\": \"x\\u00e9\"}]}, \"n\": 12, \"f\": 1.5, \"t\": true}", 65);
    lk_col_append_i64(lk_batch_col(b, c++), 12345); /* 123.45 */
    int16_t sh = -3;
    lk_col_append_fixed(lk_batch_col(b, c++), &sh);
    lk_col_append_f32(lk_batch_col(b, c++), 0.1f);
    /* m: {a: 1, b: null, a: 9} (a repeated key: the first is found) */
    lk_col *m = lk_batch_col(b, c++);
    static const char *const mk[] = {"a", "b", "a"};
    for (int k = 0; k < 3; k++) {
        lk_col_append_bytes(&m->children[0], mk[k], 1);
        if (k == 1)
            lk_col_append_null(&m->children[1]);
        else
            lk_col_append_i32(&m->children[1], k == 0 ? 1 : 9);
    }
    lk_col_append_list(m);
    /* arr: [{p: 1.5, q: "x"}, null] */
    lk_col *arr = lk_batch_col(b, c++), *el = &arr->children[0];
    lk_col_append_struct(el);
    lk_col_append_f64(&el->children[0], 1.5);
    lk_col_append_bytes(&el->children[1], "x", 1);
    lk_col_append_null(el);
    lk_col_append_list(arr);
    /* ad: [1.0, NaN, -0.0, null] */
    lk_col *ad = lk_batch_col(b, c++);
    lk_col_append_f64(&ad->children[0], 1.0);
    lk_col_append_f64(&ad->children[0], NAN);
    lk_col_append_f64(&ad->children[0], -0.0);
    lk_col_append_null(&ad->children[0]);
    lk_col_append_list(ad);
    lk_batch_end_row(b);
    lk_batch_end_row(b); /* a row of nulls */
    return b;
}

/* The value of expr at row (as Spark prints it; NULL for null). */
static char *ev_row(const char *expr, int row)
{
    static char out[4096];
    lk_batch *b = make_batch();
    lk_sql_program *p = lk_sql_program_new(lk_batch_schema(b));
    lk_error err = {0};
    int reg;
    char text[2048];
    snprintf(text, sizeof text, "CAST((%s) AS STRING)", expr);
    int rc = lk_sql_program_compile(p, text, NULL, &reg, NULL, &err);
    if (rc) {
        snprintf(out, sizeof out, "ERROR %s", err.msg);
    } else {
        ck_assert_msg(lk_sql_program_run(p, b, 1795512600000000LL, &err) == 0, "%s", err.msg);
        const lk_col *c = lk_sql_program_result(p, reg);
        if (lk_col_is_null(c, (uint32_t)row)) {
            snprintf(out, sizeof out, "NULL");
        } else {
            size_t n;
            const char *s = lk_col_bytes(c, (uint32_t)row, &n);
            snprintf(out, sizeof out, "%.*s", (int)n, s);
        }
    }
    lk_sql_program_destroy(&p);
    lk_batch_destroy(&b);
    return out;
}

static char *ev(const char *expr)
{
    return ev_row(expr, 0);
}

/* The result type of expr: "decimal(p,s)" or Spark's name of the type. */
static char *ty(const char *expr)
{
    static char out[256];
    lk_batch *b = make_batch();
    lk_sql_program *p = lk_sql_program_new(lk_batch_schema(b));
    lk_error err = {0};
    int reg;
    if (lk_sql_program_compile(p, expr, NULL, &reg, NULL, &err)) {
        snprintf(out, sizeof out, "ERROR %s", err.msg);
    } else {
        const lk_field *f = lk_sql_program_type(p, reg);
        if (f->type == LK_TYPE_DECIMAL)
            snprintf(out, sizeof out, "decimal(%d,%d)", f->precision, f->scale);
        else
            snprintf(out, sizeof out, "%s", lk_type_name(f->type));
    }
    lk_sql_program_destroy(&p);
    lk_batch_destroy(&b);
    return out;
}

#define TY(expr, want)                                                                             \
    ck_assert_msg(!strcmp(ty(expr), want), "%s: type [%s], want [%s]", expr, ty(expr), want)

#define EQ(expr, want)                                                                             \
    ck_assert_msg(!strcmp(ev(expr), want), "%s: got [%s], want [%s]", expr, ev(expr), want)
#define EQ_NULLROW(expr, want)                                                                     \
    ck_assert_msg(!strcmp(ev_row(expr, 1), want), "%s (null row): got [%s], want [%s]", expr,      \
                  ev_row(expr, 1), want)
#define ERR(expr, want)                                                                            \
    ck_assert_msg(strstr(ev(expr), want), "%s: got [%s], want an error with [%s]", expr, ev(expr), \
                  want)

START_TEST(literals_and_arithmetic)
{
    EQ("1 + 2", "3");
    EQ("7 / 2", "3.5"); /* Spark: / is always a double division (DuckDB: 3 for integers) */
    EQ("7 div 2", "3");
    EQ("-7 % 3", "-1"); /* Java's remainder: the sign of the dividend */
    EQ("i * 2 - 1", "13");
    EQ("2147483647 + 1", "-2147483648"); /* int overflow wraps (non-ANSI Spark) */
    EQ("l + 1", "10000000001");
    EQ("d * 2", "5.0");
    EQ("1 / 0", "NULL"); /* division by zero: null */
    EQ("5 % 0", "NULL");
    EQ("'5' + 1", "6.0"); /* a string in arithmetic is a double */
    EQ("1.5 + 1", "2.5");
    EQ("1e3", "1000.0");
    EQ("10000000.0 * 1", "10000000.0"); /* decimal(9,1) * decimal(1,0): decimal(11,1) */
    EQ("CAST(10000000.0 AS DOUBLE) * 1", "1.0E7"); /* Java's Double.toString */
    EQ("0.0001 * 1D", "1.0E-4");
    EQ("-i", "-7");
    EQ("abs(-2147483648)", "-2147483648"); /* Java's Math.abs */
    EQ("n + 1", "NULL");
    EQ("sh + 1", "-2");
    EQ("dec * 2", "246.90"); /* exact (decimals below) */
    EQ("9223372036854775807L + 1", "-9223372036854775808");
    EQ("5 & 3", "1");
    EQ("5 | 3", "7");
    EQ("5 ^ 3", "6");
}
END_TEST

START_TEST(logic_and_comparisons)
{
    EQ("NULL AND false", "false"); /* three-valued logic */
    EQ("NULL AND true", "NULL");
    EQ("NULL OR true", "true");
    EQ("NULL OR false", "NULL");
    EQ("NOT NULL", "NULL");
    EQ("n IS NULL", "true");
    EQ("n IS NOT NULL", "false");
    EQ("n = NULL", "NULL");
    EQ("n <=> NULL", "true");
    EQ("i <=> 7", "true");
    EQ("i IN (1, 7)", "true");
    EQ("i IN (1, NULL)", "NULL");
    EQ("i NOT IN (1, 2)", "true");
    EQ("i BETWEEN 5 AND 7", "true");
    EQ("i NOT BETWEEN 5 AND 7", "false");
    EQ("'abc' < 'abd'", "true");
    EQ("'1.5' = 1", "true"); /* the string is cast to the int: 1 */
    EQ("'a' = 'A'", "false");
    EQ("ts > '2026-01-01'", "true");
    EQ("dt < ts", "true");
    EQ("CAST('NaN' AS DOUBLE) = CAST('NaN' AS DOUBLE)", "true"); /* Spark: NaN = NaN */
    EQ("b = true", "true");
    EQ("i > 3 AND s LIKE '%ell%'", "true");
    EQ("NULL IS TRUE", "false");
    EQ_NULLROW("b IS NOT TRUE", "true");
}
END_TEST

START_TEST(like_and_regex)
{
    EQ("'abc' LIKE 'a%'", "true");
    EQ("'abc' LIKE '_b_'", "true");
    EQ("'abc' LIKE 'a'", "false");
    EQ("'a%c' LIKE 'a\\\\%c'", "true");
    EQ("'abc' LIKE 'a\\\\%c'", "false");
    EQ("'café' LIKE 'caf_'", "true"); /* _ is one character, not one byte */
    EQ("'ABC' ILIKE 'a%'", "true");
    /* Spark's InConversion: a string among IN's values makes the comparison one of strings */
    EQ("1 IN ('1.0')", "false");
    EQ("1.0D IN ('1')", "false");
    EQ("1 IN ('1', 2)", "true");
    EQ("i IN ('07', 8)", "false");
    EQ("i IN ('7')", "true");
    EQ("1.50 IN ('1.5')", "false");
    EQ("dt IN ('2025-11-24')", "true");
    EQ("n IN ('1')", "NULL");
    EQ("1 = '1.0'", "true"); /* = casts the string to the number */
    /* Spark: lower(s) LIKE lower(pattern), Unicode's full lower case */
    EQ("'ŁÓDŹ' ILIKE 'łód_'", "true");
    EQ("'ΣΑΣ' ILIKE 'σα%'", "true");
    EQ("'Straße' ILIKE '%SSE'", "false"); /* lower keeps ß */
    EQ("'ÀB' ILIKE 'àb'", "true");
    EQ("'ПРИВЕТ' ILIKE 'привет'", "true");
    EQ("'' LIKE '%'", "true");
    EQ("'x_y' LIKE 'x!_y' ESCAPE '!'", "true");
    EQ("'abc123' RLIKE '[0-9]+$'", "true");
    EQ("'abc' RLIKE '^b'", "false");
    EQ("bad RLIKE 'caf'", "true"); /* invalid UTF-8 in the data does not fail */
    EQ("regexp_extract('foo-123-bar', '([a-z]+)-(\\\\d+)', 2)", "123");
    EQ("regexp_extract('foo', '(\\\\d+)', 1)", "");
    EQ("regexp_replace('a1b22c', '[0-9]+', '#')", "a#b#c");
    EQ("regexp_replace('john smith', '(\\\\w+) (\\\\w+)', '$2, $1')", "smith, john");
    /* Spark 3.5's position: the matcher's region from that (1-based, UTF-16) index, its bounds
       anchoring (^ matches there) and opaque (lookbehind and \b see nothing before it); at or
       past the end, the string unchanged (but at 1) */
    EQ("regexp_replace('100-200', '(\\\\d+)', 'num', 4)", "100-num");
    EQ("regexp_replace('100-200', '(\\\\d+)', 'num', 1)", "num-num");
    EQ("regexp_replace('aaa', '^a', 'b', 2)", "aba");
    EQ("regexp_replace('abc', 'c', 'x', 3)", "abx");
    EQ("regexp_replace('abc', 'c', 'x', 4)", "abc");
    EQ("regexp_replace('abc', '', '-', 3)", "ab-c-");
    EQ("regexp_replace('', '^$', 'x', 1)", "x");
    EQ("regexp_replace('', '^$', 'x', 2)", "");
    EQ("regexp_replace('ééé', 'é', 'e', 2)", "éee");
    EQ("regexp_replace('😀a😀a', 'a', 'b', 3)", "😀b😀b"); /* an emoji is 2 UTF-16 units */
    EQ("regexp_replace('😀a😀a', 'a', 'b', 4)", "😀a😀b");
    EQ("regexp_replace('xa', '(?<=x)a', 'b', 2)", "xa");
    EQ("regexp_replace('ab', '\\\\bb', 'X', 2)", "aX");
    EQ("regexp_replace('abc', 'b', 'x', 2147483647)", "abc");
    EQ("regexp_replace('abc', 'b', 'x', NULL)", "NULL");
    EQ_NULLROW("regexp_replace(s, 'b', 'x', 2)", "NULL");
    ERR("regexp_replace('abc', 'b', 'x', 0)",
        "the position of regexp_replace must be 1 or more (1-based), not 0");
    ERR("regexp_replace('abc', 'b', 'x', -1)", "must be 1 or more (1-based), not -1");
    ERR("regexp_replace('abc', 'b', 'x', i)", "the position of regexp_replace must be an INT literal");
    ERR("regexp_replace('abc', 'b', 'x', 2147483648)", "must be an INT literal");
    ERR("CAST(split('a,b', ',') AS STRING)", "cannot cast array to string");
    ERR("'a' RLIKE '('", "bad regular expression");
    ERR("regexp_extract('a', '(a)', 3)", "group 3");
}
END_TEST

START_TEST(strings)
{
    EQ("lower('ÀBC')", "àbc");
    /* Java's String.toUpperCase/toLowerCase: Unicode's full case mapping with SpecialCasing */
    EQ("upper('straße')", "STRASSE");
    EQ("lower('ΣΑΣ')", "σας"); /* a word's final sigma */
    EQ("lower('ΣΑΣ ΟΔΟΣ.')", "σας οδος.");
    EQ("upper('łódź')", "ŁÓDŹ");
    EQ("lower('ŁÓDŹ')", "łódź");
    EQ("upper('ﬁx ǆ ŉ')", "FIX Ǆ ʼN");
    EQ("lower('İ')", "i\xcc\x87"); /* i and a combining dot above, as Java outside Turkish */
    EQ("upper('𐐨')", "𐐀"); /* beyond the BMP */
    EQ("upper('ab\xff\xc3')", "AB\xff\xc3"); /* invalid bytes kept */
    EQ("lower('ΑΣ\xffΒ')", "ας\xffβ");
    EQ("upper(s)", " HELLO ");
    EQ("trim(s)", "Hello");
    EQ("ltrim(s)", "Hello ");
    EQ("rtrim(s)", " Hello");
    EQ("trim('\\t x ')", "\t x"); /* only spaces are trimmed */
    EQ("length('café')", "4");
    EQ("length(e)", "0");
    EQ("length(ns)", "NULL");
    EQ("substring('Spark SQL', 5)", "k SQL");
    EQ("substring('Spark SQL', -3)", "SQL");
    EQ("substring('Spark SQL', 0, 3)", "Spa"); /* 0 is the first character, as 1 */
    EQ("substring('Spark SQL', -20, 3)", "");  /* Spark: before the start takes nothing */
    EQ("substring('héllo', 2, 2)", "él");
    EQ("substring('abc', 10)", "");
    EQ("concat('a', 'b', 'c')", "abc");
    EQ("concat('a', ns)", "NULL");
    EQ("'a' || 'b'", "ab");
    EQ("concat_ws('-', 'a', ns, 'b')", "a-b");
    EQ("concat_ws(ns, 'a')", "NULL");
    EQ("concat('x', 1, true)", "x1true");
    EQ("sha2('abc', 256)", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EQ("sha2('', 0)", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EQ("sha2('abc', 224)", "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7");
    EQ("sha2('abc', 1)", "NULL");
    EQ("md5('abc')", "900150983cd24fb0d6963f7d28e17f72");
    EQ("md5(ns)", "NULL");
    EQ("sha1('abc')", "a9993e364706816aba3e25717850c26c9cd0d89d");
    EQ("st.os", "ios");
    EQ("st.v + 1", "18");
    EQ_NULLROW("st.os", "NULL");
    EQ("upper(bad)", "CAFÉ\xff!");
}
END_TEST

START_TEST(conditionals)
{
    EQ("CASE WHEN i > 5 THEN 'big' ELSE 'small' END", "big");
    EQ("CASE i WHEN 1 THEN 'one' WHEN 7 THEN 'seven' END", "seven");
    EQ("CASE WHEN i > 50 THEN 'big' END", "NULL");
    EQ("CASE WHEN n > 5 THEN 1 ELSE 2 END", "2");
    EQ("CASE WHEN true THEN 1 ELSE 2.5 END", "1.0");
    EQ("if(i > 5, 'y', 'n')", "y");
    EQ("if(n > 5, 'y', 'n')", "n");
    EQ("coalesce(n, ns, 3)", "3");
    EQ("coalesce(n, i)", "7");
    EQ("coalesce(ns)", "NULL");
    EQ("nvl(n, 1)", "1");
    EQ("nullif(i, 7)", "NULL");
    EQ("nullif(i, 8)", "7");
    EQ("greatest(1, i, 3)", "7");
    EQ("least(1, n, 3)", "1");
    EQ("greatest(n, n)", "NULL");
    EQ("greatest('a', 'b')", "b");
    /* Spark: no string promotion for greatest/least (coalesce has it) */
    ERR("greatest(l, s)", "the arguments of greatest have no common type (long and string)");
    ERR("least(1, '2')", "no common type");
    ERR("greatest(dt, '2025-01-01')", "no common type");
    EQ("greatest(NULL, 'x')", "x");
    ERR("greatest(n, 'x')", "no common type");
    EQ("coalesce(n, '5')", "5");
}
END_TEST

START_TEST(casts)
{
    EQ("CAST(' 12 ' AS INT)", "12");
    EQ("CAST('1.9' AS INT)", "1"); /* Spark: the fraction is dropped */
    EQ("CAST('abc' AS INT)", "NULL");
    /* Spark's UTF8String.toInt/toLong: a fraction of digits, even with no digit around the point */
    EQ("CAST('.5' AS INT)", "0");
    EQ("CAST('.' AS INT)", "0");
    EQ("CAST('-.' AS BIGINT)", "0");
    EQ("CAST('5.' AS SMALLINT)", "5");
    EQ("CAST('-' AS INT)", "NULL");
    EQ("CAST('' AS INT)", "NULL");
    EQ("CAST('1.x' AS INT)", "NULL");
    EQ("CAST('1e3' AS INT)", "NULL");
    /* Java's parseDouble (a d/D/f/F suffix; [+-]NaN, [+-]Infinity), then Spark's case-insensitive
       special literals */
    EQ("CAST('NAN' AS DOUBLE)", "NaN");
    EQ("CAST('nan' AS FLOAT)", "NaN");
    EQ("CAST('-NaN' AS DOUBLE)", "NaN");
    EQ("CAST('-nan' AS DOUBLE)", "NULL");
    EQ("CAST('+infinity' AS DOUBLE)", "Infinity");
    EQ("CAST(' -Infinity ' AS DOUBLE)", "-Infinity");
    EQ("CAST('-INF' AS DOUBLE)", "-Infinity");
    EQ("CAST('1d' AS DOUBLE)", "1.0");
    EQ("CAST('1f' AS DOUBLE)", "1.0");
    EQ("CAST('-2.5e1D' AS DOUBLE)", "-25.0");
    EQ("CAST('.5F' AS FLOAT)", "0.5");
    EQ("CAST('d' AS DOUBLE)", "NULL");
    EQ("CAST('1dd' AS DOUBLE)", "NULL");
    EQ("CAST('NaNd' AS DOUBLE)", "NULL");
    EQ("CAST('Infinityf' AS DOUBLE)", "NULL");
    EQ("CAST('99999999999' AS INT)", "NULL"); /* out of range: null, not wrapped */
    EQ("CAST(l AS INT)", "1410065408");       /* a long narrows with wrap-around */
    EQ("CAST(1e20 AS INT)", "2147483647");    /* a double saturates (Java) */
    EQ("CAST(CAST('NaN' AS DOUBLE) AS BIGINT)", "0");
    EQ("CAST(-2.7 AS INT)", "-2");
    EQ("CAST('yes' AS BOOLEAN)", "true");
    EQ("CAST('0' AS BOOLEAN)", "false");
    EQ("CAST('maybe' AS BOOLEAN)", "NULL");
    EQ("CAST(0.1 AS STRING)", "0.1");
    EQ("CAST(f AS DOUBLE)", "0.10000000149011612");
    EQ("CAST(f AS STRING)", "0.1");
    EQ("CAST(123456789012.5D AS STRING)", "1.234567890125E11");
    EQ("CAST(123456789012.5 AS STRING)", "123456789012.5"); /* a decimal literal */
    EQ("CAST(i AS DOUBLE)", "7.0");
    EQ("CAST('2026-02-29' AS DATE)", "NULL"); /* not a leap year */
    EQ("CAST('2024-02-29' AS DATE)", "2024-02-29");
    EQ("CAST('2026-11-24T10:00:00+02:00' AS TIMESTAMP)", "2026-11-24 08:00:00");
    EQ("CAST('2026' AS TIMESTAMP)", "2026-01-01 00:00:00");
    EQ("CAST('2026-11-24 09:30:00.5' AS TIMESTAMP)", "2026-11-24 09:30:00.5");
    EQ("CAST(ts AS DATE)", "2026-11-24");
    EQ("CAST(ts AS BIGINT)", "1795512600");
    EQ("CAST(1795512600 AS TIMESTAMP)", "2026-11-24 09:30:00");
    EQ("CAST(dt AS TIMESTAMP)", "2025-11-24 00:00:00");
    EQ("CAST(dec AS STRING)", "123.45");
    EQ("CAST(2.675 AS DECIMAL(5,2))", "2.68");
    EQ("CAST(12345.6 AS DECIMAL(5,2))", "NULL"); /* does not fit: null */
    EQ("CAST(true AS INT)", "1");
    EQ("CAST(i AS STRING)", "7");
    ERR("CAST(st AS STRING)", "cannot cast struct to string");
    ERR("CAST(dt AS INT)", "cannot cast date to integer");
    ERR("CAST(i AS FOO)", "position");
}
END_TEST

START_TEST(time)
{
    EQ("to_timestamp('2026-11-24 09:30:00')", "2026-11-24 09:30:00");
    EQ("to_timestamp('24/11/2026 09:30', 'dd/MM/yyyy HH:mm')", "2026-11-24 09:30:00");
    EQ("to_timestamp('2026-11-24T09:30:00.123+01:00', \"yyyy-MM-dd'T'HH:mm:ss.SSSXXX\")",
       "2026-11-24 08:30:00.123");
    EQ("to_timestamp('20261124', 'yyyyMMdd')", "2026-11-24 00:00:00");
    EQ("to_timestamp('nonsense')", "NULL");
    EQ("to_timestamp('2026-13-01', 'yyyy-MM-dd')", "NULL");
    EQ("to_date('2026-11-24 23:59:59')", "2026-11-24");
    EQ("to_date('11/24/2026', 'MM/dd/yyyy')", "2026-11-24");
    EQ("to_date(ts)", "2026-11-24");
    EQ("to_date('1969-12-31T23:59:59Z')", "1969-12-31");
    EQ("date_trunc('hour', ts)", "2026-11-24 09:00:00");
    EQ("date_trunc('MONTH', ts)", "2026-11-01 00:00:00");
    EQ("date_trunc('week', ts)", "2026-11-23 00:00:00"); /* a Monday */
    EQ("date_trunc('quarter', ts)", "2026-10-01 00:00:00");
    EQ("date_trunc('day', CAST('1969-12-31 12:00:00' AS TIMESTAMP))", "1969-12-31 00:00:00");
    EQ("date_format(ts, 'yyyy-MM-dd HH:mm:ss.SSS')", "2026-11-24 09:30:00.123");
    EQ("date_format(ts, 'EEE, d MMM yyyy hh:mm a')", "Tue, 24 Nov 2026 09:30 AM");
    EQ("date_format(ts, \"'day' D\")", "day 328");
    EQ("year(ts)", "2026");
    EQ("quarter(ts)", "4");
    EQ("month(dt)", "11");
    EQ("day('2024-02-29')", "29");
    EQ("dayofweek(ts)", "3"); /* Sunday = 1 */
    EQ("dayofyear('2024-12-31')", "366");
    EQ("hour(ts)", "9");
    EQ("minute(ts)", "30");
    EQ("second(ts)", "0");
    EQ("unix_timestamp(ts)", "1795512600");
    EQ("unix_timestamp('2026-11-24 09:30:00')", "1795512600");
    EQ("unix_timestamp('24.11.2026', 'dd.MM.yyyy')", "1795478400");
    EQ("from_unixtime(0)", "1970-01-01 00:00:00");
    EQ("from_unixtime(1795512600, 'yyyy/MM/dd')", "2026/11/24");
    EQ("current_timestamp()", "2026-11-24 09:30:00");
    EQ("current_date", "2026-11-24");
    EQ("date_add(dt, 7)", "2025-12-01");
    EQ("date_sub('2024-03-01', 1)", "2024-02-29");
    EQ("dt + 1", "2025-11-25");
    EQ("datediff('2024-03-01', '2024-02-01')", "29");
    /* found by fuzz_sql: a day count of INT_MIN wraps (no signed overflow) */
    EQ("date_sub(dt, -2147483648) IS NOT NULL", "true");
    EQ("dt - CAST(-2147483648 AS INT) IS NOT NULL", "true");
    EQ("to_timestamp('0001-01-01 00:00:00')", "0001-01-01 00:00:00");
    ERR("date_trunc('fortnight', ts)", "unknown unit");
    ERR("date_format(ts, 'yyyy-qq')", "unsupported letter 'q'");
}
END_TEST

START_TEST(math)
{
    EQ("round(2.675, 2)", "2.68"); /* a decimal: HALF_UP (DuckDB's double round: 2.67) */
    EQ("round(2.675D, 2)", "2.68"); /* a double: HALF_UP on its decimal text, as Spark */
    EQ("round(2.5)", "3");          /* decimal(2,1) rounds to decimal(2,0) */
    EQ("round(2.5D)", "3.0");
    EQ("round(-2.5D)", "-3.0"); /* HALF_UP away from zero (C's rint would give -2) */
    EQ("round(-2.5)", "-3");
    EQ("round(1234.5678, -2)", "1200");
    EQ("round(1234.5678D, -2)", "1200.0");
    EQ("round(125, -1)", "130");
    EQ("round(d * 0.92, 2)", "2.3");
    EQ("floor(-1.5)", "-2");
    EQ("ceil(1.2)", "2");
    EQ("floor(-1.5D)", "-2");
    EQ("ceil(1e30)", "9223372036854775807"); /* saturates as Java */
    EQ("pow(2, 10)", "1024.0");
    EQ("sqrt(-1)", "NaN");
    EQ("ln(0)", "NULL");
    EQ("exp(0)", "1.0");
    EQ("sign(-3)", "-1.0");
    EQ("abs(-2.5)", "2.5");
    EQ("abs(n)", "NULL");
}
END_TEST

START_TEST(json)
{
    EQ("get_json_object(j, '$.n')", "12");
    EQ("get_json_object(j, '$.a.b[1].c')", "xé");
    /* a nested value is written again as Spark's Jackson generator does: escapes decoded, only
       '"', '\\' and control characters escaped, whitespace gone, single quotes read */
    EQ("get_json_object(j, '$.a.b')", "[1,{\"c\":\"xé\"}]");
    EQ("get_json_object('{\"a\":{\"k\":\"\\\\u00e9\"}}', '$.a')", "{\"k\":\"é\"}");
    EQ("get_json_object('{\"a\": { \"k\" : [ 1 , 2.50 ] } }', '$.a')", "{\"k\":[1,2.5]}");
    EQ("get_json_object('{\"a\":[\"q\\\\\"\\\\/\\\\t\\\\u0001\"]}', '$.a')",
       "[\"q\\\"/\\t\\u0001\"]");
    EQ("get_json_object('{\"a\":[\"\\\\ud83d\\\\ude00\"]}', '$.a')", "[\"😀\"]");
    EQ("get_json_object(\"{'a':1}\", '$.a')", "1");
    EQ("get_json_object(\"{'a':{'b':'x\\\"y','c':'it\\\\'s'}}\", '$.a')",
       "{\"b\":\"x\\\"y\",\"c\":\"it's\"}");
    EQ("get_json_object(\"{'a':{'b':'x\\\"y'}}\", '$.a.b')", "x\"y");
    EQ("from_json(\"{'a':{'b':'\\\\u00e9'}}\", 'a STRING').a", "{\"b\":\"é\"}");
    EQ("get_json_object(j, '$.missing')", "NULL");
    EQ("get_json_object('{bad', '$.a')", "NULL");
    EQ("get_json_object(j, \"$['t']\")", "true");
    EQ("from_json(j, 'n INT, f DOUBLE, t BOOLEAN, z STRING').n", "12");
    EQ("from_json(j, 'n INT, f DOUBLE').f", "1.5");
    EQ("from_json(j, 'f INT').f", "NULL"); /* 1.5 does not fit an int */
    EQ("from_json(j, 'a STRING').a", "{\"b\":[1,{\"c\":\"xé\"}]}");
    EQ("from_json('[1]', 'a INT').a", "NULL");
    EQ("from_json(ns, 'a INT').a", "NULL");
    ERR("get_json_object(j, 'a.b')", "bad path");
    ERR("from_json(j, 'a INT,')", "from_json schema");
    /* the position is the user's schema's, not an internal wrapper's */
    ERR("from_json(j, 'a INTT')", "DDL at position 3: expected a type name");
    ERR("from_json(j, 'a INTT')", "got 'INTT'");
    ERR("from_json(j, 'struct<a INTT>')", "DDL at position 10");
    ERR("from_json(j, 'a BINARY')", "from_json: field a: BINARY");
    ERR("from_json(j, 's STRUCT<m: MAP<INT, INT>>')", "from_json: field s.m: a MAP's key");
    /* nested fields (once a use-after-free on the error path, now read as Spark does) */
    EQ("size(from_json('{\"b\":[1,2,null]}', 'b ARRAY<INT>').b)", "3");
    EQ("from_json('{\"b\":[1,2,null]}', 'b ARRAY<INT>').b[1]", "2");
    EQ("from_json('{\"b\":[1,2,null]}', 'b ARRAY<INT>').b[2]", "NULL");
    EQ("from_json('{\"a\":{\"b\":7}}', 'a STRUCT<b: INT>').a.b", "7");
    EQ("from_json('{\"a\":{\"b\":7}}', 'STRUCT<a: STRUCT<b: INT>>').a.b", "7");
    EQ("from_json('{\"a\":5}', 'a STRUCT<b: INT>').a.b", "NULL");
    EQ("from_json(j, 'a STRUCT<b: ARRAY<STRING>>').a.b[1]", "{\"c\":\"xé\"}");
    EQ("from_json('{\"a\":[{\"p\":1.5},{\"p\":\"x\"},null]}', 'a ARRAY<STRUCT<p: DOUBLE>>').a[0].p",
       "1.5");
    EQ("from_json('{\"a\":[{\"p\":1.5},{\"p\":\"x\"},null]}', 'a ARRAY<STRUCT<p: DOUBLE>>').a[1].p",
       "NULL");
    EQ("from_json('{\"a\":[{\"p\":1.5},{\"p\":\"x\"},null]}', 'a ARRAY<STRUCT<p: DOUBLE>>').a[2]"
       " IS NULL", "true");
    EQ("from_json('{\"b\":[1,\"x\"]}', 'b ARRAY<INT>').b IS NULL", "true"); /* an element misfits */
    EQ("from_json('{\"b\":{\"x\":1}}', 'b ARRAY<INT>').b IS NULL", "true");
    EQ("size(from_json('{\"b\":[]}', 'b ARRAY<INT>').b)", "0");
    EQ("from_json('{\"m\":{\"k\":1,\"\\u00e9\":2}}', 'm MAP<STRING, INT>').m['é']", "2");
    EQ("size(from_json('{\"m\":{\"k\":1,\"\\u00e9\":2}}', 'm MAP<STRING, INT>').m)", "2");
    EQ("from_json('{\"m\":{\"k\":1,\"z\":\"q\"}}', 'm MAP<STRING, INT>').m IS NULL", "true");
    EQ("from_json('{\"a\":{\"b\":[[1],[2,3]]}}', 'a STRUCT<b: ARRAY<ARRAY<LONG>>>').a.b[1][1]",
       "3");
    /* Spark's JSON reader: these exact strings for a FLOAT or DOUBLE, any other string fails */
    EQ("from_json('{\"a\":\"NaN\"}', 'a DOUBLE').a", "NaN");
    EQ("from_json('{\"a\":\"-INF\"}', 'a DOUBLE').a", "-Infinity");
    EQ("from_json('{\"a\":\"+Infinity\"}', 'a FLOAT').a", "Infinity");
    EQ("from_json('{\"a\":\"nan\"}', 'a DOUBLE').a", "NULL");
    EQ("from_json('{\"a\":\"1.5\"}', 'a DOUBLE').a", "NULL");
    /* JacksonParser: an integer for a TIMESTAMP is epoch seconds; a float fails, and so does any
       number for a DATE */
    EQ("from_json('{\"a\":1767607200}', 'a TIMESTAMP').a", "2026-01-05 10:00:00");
    EQ("from_json('{\"a\":-1}', 'a TIMESTAMP').a", "1969-12-31 23:59:59");
    EQ("from_json('{\"a\":1.5}', 'a TIMESTAMP').a", "NULL");
    EQ("from_json('{\"a\":99999999999999999999}', 'a TIMESTAMP').a", "NULL");
    EQ("from_json('{\"a\":19000}', 'a DATE').a", "NULL");
    /* numbers copied as Jackson's copyCurrentStructure writes them: integers as ints/longs/
       BigIntegers, others through a double and Java's Double.toString */
    EQ("get_json_object('{\"a\":10.50}', '$.a')", "10.5");
    EQ("get_json_object('{\"a\":1e3}', '$.a')", "1000.0");
    EQ("get_json_object('{\"a\":0.0001}', '$.a')", "1.0E-4");
    EQ("get_json_object('{\"a\":12345678.9}', '$.a')", "1.23456789E7");
    EQ("get_json_object('{\"a\":-0}', '$.a')", "0");
    EQ("get_json_object('{\"a\":-0.0}', '$.a')", "-0.0");
    EQ("get_json_object('{\"a\":123456789012345678901234567890}', '$.a')",
       "123456789012345678901234567890");
    EQ("get_json_object('{\"a\":{\"k\":[1,-0,1E2,2.50e-1]}}', '$.a')", "{\"k\":[1,0,100.0,0.25]}");
    EQ("from_json('{\"a\":1.10}', 'a STRING').a", "1.1");
    EQ("from_json('{\"a\":[0.10,-0]}', 'a STRING').a", "[0.1,0]");
    /* malformed JSON: Spark 3's PERMISSIVE from_json gives a struct of nulls; empty input null */
    EQ("from_json('{\"a\" 1}', 'a INT') IS NULL", "false");
    EQ("from_json('{\"a\" 1}', 'a INT').a", "NULL");
    EQ("from_json('[1]', 'a INT') IS NULL", "false");
    EQ("from_json('', 'a INT') IS NULL", "true");
    EQ("from_json('  ', 'a INT') IS NULL", "true");
    /* raw control characters in strings: get_json_object's factory allows them, from_json's not */
    EQ("get_json_object('{\"a\":\"x\ty\"}', '$.a')", "x\ty");
    EQ("get_json_object('{\"a\":[\"x\ty\"]}', '$.a')", "[\"x\\ty\"]");
    EQ("from_json('{\"a\":\"x\ty\"}', 'a STRING').a", "NULL");
    /* what follows the top-level value is never read (a number must end at a space) */
    EQ("get_json_object('{\"a\":1}garbage', '$.a')", "1");
    EQ("from_json('{\"a\":1} x', 'a INT').a", "1");
    EQ("get_json_object('1 x', '$')", "1");
    EQ("get_json_object('1x', '$')", "NULL");
    /* numbers Jackson refuses: leading zeros, nothing after '.', hex, '+' */
    EQ("get_json_object('{\"a\":01}', '$.a')", "NULL");
    EQ("get_json_object('{\"a\":1.}', '$.a')", "NULL");
    EQ("get_json_object('{\"a\":0x10}', '$.a')", "NULL");
    EQ("get_json_object('{\"a\":+1}', '$.a')", "NULL");
    EQ("get_json_object('{\"a\":2,\"b\":01}', '$.a')", "NULL");
    EQ("from_json('{\"a\":01}', 'a INT').a", "NULL");
    EQ("from_json('{\"a\":1.}', 'a DOUBLE').a", "NULL");
    /* from_json's allowNonNumericNumbers (get_json_object's factory has it off) */
    EQ("from_json('{\"a\":NaN}', 'a DOUBLE').a", "NaN");
    EQ("from_json('{\"a\":-INF}', 'a DOUBLE').a", "-Infinity");
    EQ("from_json('{\"a\":+Infinity}', 'a FLOAT').a", "Infinity");
    EQ("from_json('{\"a\":NaN}', 'a INT').a", "NULL");
    EQ("from_json('{\"a\":NaN}', 'a STRING').a", "\"NaN\"");
    EQ("from_json('{\"a\":INF}', 'a DOUBLE').a", "NULL");
    EQ("from_json('{\"a\":NaN}', 'a DECIMAL(5,1)').a", "NULL");
    EQ("from_json('{\"a\":[1,NaN]}', 'a ARRAY<DOUBLE>').a[1]", "NaN");
    EQ("from_json('null', 'a INT') IS NULL", "false");
    EQ("get_json_object('{\"a\":NaN}', '$.a')", "NULL");
}
END_TEST

/* get_json_object(json, path) of a JSON text without a single quote: its value, or NULL. */
static char *gj(const char *doc, const char *path)
{
    char e[2048];
    snprintf(e, sizeof e, "get_json_object('%s', '%s')", doc, path);
    return ev(e);
}

#define GJ(doc, path, want)                                                                        \
    ck_assert_msg(!strcmp(gj(doc, path), want), "%s on %s: got [%s], want [%s]", path, doc,        \
                  gj(doc, path), want)

/* The [*] wildcard of Spark's JSON path, as GetJsonObject.evaluatePath writes its matches: an
   array of them when several match, the one match without brackets (a string keeps its quotes:
   it is JSON below a [*]), none null; [*] below [*] or after [n] always an array; [*][*] spliced
   (Hive's double wildcard); a member "a":null no match, a null element "null". Spark's own suite
   (JsonExpressionsSuite) gives the first answers. */
START_TEST(json_wildcard)
{
    const char *store =
        "{\"store\":{\"basket\":[[1,2,{\"b\":\"y\",\"a\":\"x\"}],[3,4],[5,6]],\"book\":["
        "{\"category\":\"reference\",\"price\":8.95},"
        "{\"category\":\"fiction\",\"price\":8.99,\"isbn\":\"0-553-21311-3\"},"
        "{\"category\":\"fiction\",\"reader\":[{\"age\":25,\"name\":\"bob\"},{\"age\":26,"
        "\"name\":\"jack\"}],\"price\":22.99,\"isbn\":\"0-395-19395-8\"}]}}";
    GJ(store, "$.store.book[*].category", "[\"reference\",\"fiction\",\"fiction\"]");
    GJ(store, "$.store.book[*].isbn", "[\"0-553-21311-3\",\"0-395-19395-8\"]");
    GJ(store, "$.store.book[*].price", "[8.95,8.99,22.99]");
    GJ(store, "$.store.book[*].reader",
       "[{\"age\":25,\"name\":\"bob\"},{\"age\":26,\"name\":\"jack\"}]");
    GJ(store, "$.store.book[*].reader[0].age", "25");
    GJ(store, "$.store.book[*].reader[*].age", "[25,26]");
    GJ(store, "$.store.basket[*]", "[[1,2,{\"b\":\"y\",\"a\":\"x\"}],[3,4],[5,6]]");
    GJ(store, "$.store.basket[*][0]", "[1,3,5]");
    GJ(store, "$.store.basket[0][*]", "[1,2,{\"b\":\"y\",\"a\":\"x\"}]");
    GJ(store, "$.store.basket[*][*]", "[1,2,{\"b\":\"y\",\"a\":\"x\"},3,4,5,6]");
    GJ(store, "$.store.basket[0][*].b", "[\"y\"]"); /* [*] after [n]: an array of one */
    GJ(store, "$.store.basket[*].non_exist_key", "NULL");
    GJ(store, "$.store.basket[0][*].non_exist_key", "NULL");
    GJ(store, "$.store.basket[*][*].non_exist_key", "NULL");
    GJ("[1,2,3]", "$[*]", "[1,2,3]");
    /* one match: unwrapped, JSON as written below a [*] (numbers as Jackson writes them) */
    GJ("{\"items\":[{\"price\":10.50},{\"price\":2},{\"price\":1e3}]}", "$.items[*].price",
       "[10.5,2,1000.0]");
    GJ("{\"items\":[{\"price\":10.50}]}", "$.items[*].price", "10.5");
    GJ("{\"items\":[{\"price\":\"9.99\"}]}", "$.items[*].price", "\"9.99\"");
    GJ("{\"items\":[{\"price\":\"9.99\"},{\"price\":\"é\"}]}", "$.items[*].price",
       "[\"9.99\",\"é\"]");
    GJ("{\"items\":[{\"price\":1},{\"qty\":2},3,[4]]}", "$.items[*].price", "1");
    /* nulls: a member that is null does not match, a null element is the JSON null */
    GJ("{\"items\":[{\"price\":null},{\"qty\":1}]}", "$.items[*].price", "NULL");
    GJ("{\"items\":[{\"price\":null},{\"price\":3}]}", "$.items[*].price", "3");
    GJ("{\"items\":[1,null,\"s\",true,{\"k\":[]}]}", "$.items[*]",
       "[1,null,\"s\",true,{\"k\":[]}]");
    GJ("{\"items\":[null]}", "$.items[*]", "null");
    GJ("{\"items\":[null]}", "$.items[0]", "null"); /* as Spark: copied, not a missing value */
    GJ("null", "$", "null");
    GJ("{\"items\":null}", "$.items[*]", "NULL");
    /* empty arrays, and [*] on what is no array */
    GJ("{\"items\":[]}", "$.items[*]", "NULL");
    GJ("{\"items\":[]}", "$.items[*].price", "NULL");
    GJ("{\"items\":{\"price\":3}}", "$.items[*]", "NULL");
    GJ("{\"items\":{\"price\":3}}", "$.items[*].price", "NULL");
    GJ("{\"items\":\"x\"}", "$.items[*]", "NULL");
    GJ("7", "$[*]", "NULL");
    /* nested wildcards: below a [*] each inner [*] keeps its brackets; one outer match loses its
       own, even when another inner [*] wrote an empty array (Spark's buffer, read as it is) */
    GJ("{\"a\":[{\"b\":[1,2]},{\"b\":[3]}]}", "$.a[*].b[*]", "[[1,2],[3]]");
    GJ("{\"a\":[{\"b\":[1,2]},{\"c\":[3]}]}", "$.a[*].b[*]", "[1,2]");
    GJ("{\"a\":[{\"b\":[1,2]},{\"b\":[]}]}", "$.a[*].b[*]", "[1,2],[]");
    GJ("[[5]]", "$[0][*]", "[5]");
    GJ("[7]", "$[0][*]", "NULL");
    GJ("[[[[[[[1]]]]]]]", "$[0][*][0][*][*]", "[[1]]");
    /* [*][*]: the outer elements spliced, arrays inside them too; the rest of the path applies to
       the outer elements */
    GJ("[[1,[2,3]],4]", "$[*][*]", "[1,2,3,4]");
    GJ("[5]", "$[*][*]", "[5]");
    GJ("[[],[]]", "$[*][*]", "NULL");
    GJ("[{\"b\":1},{\"b\":2}]", "$[*][*].b", "[1,2]");
    GJ("[[{\"b\":1}]]", "$[*][*].b", "NULL");
    /* a repeated key: the first occurrence that matches; an occurrence that matched nothing may
       still have written its empty array (Jackson's root separator is a space) */
    GJ("{\"a\":[],\"a\":[2]}", "$.a[*]", "2");
    GJ("{\"a\":[1],\"a\":[2]}", "$.a[*]", "1");
    GJ("{\"a\":null,\"a\":2}", "$.a", "2");
    GJ("{\"a\":[[]],\"a\":[[1]]}", "$.a[0][*]", "[] [1]");
    /* malformed JSON anywhere in the document: null (Jackson raises) */
    GJ("{\"items\":[{\"price\":1},{\"price\":2}", "$.items[*].price", "NULL");
    GJ("{\"items\":[{\"price\":1},{\"price\":01}]}", "$.items[*].price", "NULL");
    GJ("{\"items\":[1,,2]}", "$.items[*]", "NULL");
    /* the path: whitespace before each token, as Spark's RegexParsers skip it */
    GJ("[1,2]", "$[ * ]", "[1,2]");
    GJ("[1,2]", " $ [ 1 ] ", "2");
    GJ("{\"a\":1}", "$. a", "1");
    GJ("{\"a\":1}", "$.a ", "NULL"); /* the name is 'a ' */
    /* a column: nulls stay null, one string match keeps its quotes */
    EQ("get_json_object(j, '$.a.b[*]')", "[1,{\"c\":\"xé\"}]");
    EQ("get_json_object(j, '$.a.b[*].c')", "\"xé\"");
    EQ_NULLROW("get_json_object(j, '$.a.b[*]')", "NULL");
    /* paths Spark makes null in every row: refused at start */
    ERR("get_json_object(j, '$.*')", "'.*' and ['*'] match nothing in Spark");
    ERR("get_json_object(j, \"$['*']\")", "'.*' and ['*'] match nothing in Spark");
    ERR("get_json_object(j, '$.[*]')", "bad path");
    ERR("get_json_object(j, '$[-1]')", "bad path");
    ERR("get_json_object(j, '$[*')", "bad path");
    ERR("get_json_object(j, '$[99999999999999999999]')", "bad path");
    /* a malformed document is a failure for on_error */
    lk_batch *b = make_batch();
    lk_sql_program *p = lk_sql_program_new(lk_batch_schema(b));
    lk_error err;
    int r1, r2;
    ck_assert_int_eq(
        lk_sql_program_compile(p, "get_json_object('[1,', '$[*]')", NULL, &r1, NULL, &err), 0);
    ck_assert_int_eq(
        lk_sql_program_compile(p, "get_json_object('[]', '$[*]')", NULL, &r2, NULL, &err), 0);
    ck_assert_int_eq(lk_sql_program_run(p, b, 0, &err), 0);
    ck_assert_ptr_nonnull(lk_sql_program_failed(p, r1));
    ck_assert_ptr_null(lk_sql_program_failed(p, r2)); /* no match is no failure */
    lk_sql_program_destroy(&p);
    lk_batch_destroy(&b);
}
END_TEST

START_TEST(errors_and_positions)
{
    lk_batch *b = make_batch();
    lk_sql_program *p = lk_sql_program_new(lk_batch_schema(b));
    lk_error err;
    int reg;
    struct {
        const char *expr, *want;
    } cases[] = {
        {"amout > 1", "position 1: unknown column 'amout' (columns: i, l, d, s"},
        {"i +", "position 4: expected an expression, got the end of the expression"},
        {"rnd(d, 2)", "position 1: unknown function 'rnd'"},
        {"round(d, 2, 3)", "position 1: round takes 1 to 2 arguments, not 3"},
        {"i > 1 AND s", "position 11: AND needs a boolean, not string"},
        {"s + ts", "position 5: + needs a number, not timestamp"},
        {"CASE WHEN i THEN 1 END", "position 11: a WHEN condition must be boolean, not integer"},
        {"i = 'a' OR (d", "position 14: expected ')', got the end of the expression"},
        {"'unterminated", "position 1: unterminated string"},
        {"st.nope", "position 1: struct 'st' has no field 'nope' (fields: os, v)"},
        {"i.x", "position 1: 'i' is integer, not a struct"},
        {"sum(d)", "position 1: aggregate function 'sum' is not allowed here"},
        {"i = 1 1", "position 7: unexpected '1' after the expression"},
        {"date_format(ts, s)", "the format of date_format must be a string literal"},
        {"café > 1", "position 1: unknown column 'café'"},
        {"'é' || x", "position 8: unknown column 'x'"}, /* a column, not a byte offset */
        {"ts = dt AND st = st", "cannot compare struct with struct"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(&err, 0, sizeof err);
        ck_assert_msg(lk_sql_program_compile(p, cases[i].expr, NULL, &reg, NULL, &err) != 0,
                      "%s compiled", cases[i].expr);
        ck_assert_msg(strstr(err.msg, cases[i].want), "%s: got [%s], want [%s]", cases[i].expr,
                      err.msg, cases[i].want);
    }
    /* an alias in a select item */
    char *alias = NULL;
    ck_assert_int_eq(lk_sql_program_compile(p, "i + 1 AS next", NULL, &reg, &alias, &err), 0);
    ck_assert_str_eq(alias, "next");
    free(alias);
    ck_assert_int_eq(lk_sql_program_compile(p, "`i` * 2 twice", NULL, &reg, &alias, &err), 0);
    ck_assert_str_eq(alias, "twice");
    free(alias);
    /* deep nesting is refused, not a stack overflow */
    char deep[4000];
    memset(deep, '(', 1000);
    strcpy(deep + 1000, "1");
    memset(deep + 1001, ')', 1000);
    deep[2001] = 0;
    ck_assert_int_ne(lk_sql_program_compile(p, deep, NULL, &reg, NULL, &err), 0);
    ck_assert_msg(strstr(err.msg, "nested too deeply"), "%s", err.msg);
    lk_sql_program_destroy(&p);
    lk_batch_destroy(&b);
}
END_TEST

/* Failed rows are marked, and not through a branch that was not taken. */
START_TEST(failures)
{
    lk_batch *b = make_batch();
    lk_sql_program *p = lk_sql_program_new(lk_batch_schema(b));
    lk_error err;
    int r1, r2, r3, r4, r5;
    ck_assert_int_eq(lk_sql_program_compile(p, "CAST(s AS INT)", NULL, &r1, NULL, &err), 0);
    ck_assert_int_eq(
        lk_sql_program_compile(p, "coalesce(CAST(s AS INT), 0) + 1", NULL, &r2, NULL, &err), 0);
    ck_assert_int_eq(lk_sql_program_compile(p, "if(i > 100, 1 / 0, 2)", NULL, &r3, NULL, &err), 0);
    ck_assert_int_eq(lk_sql_program_compile(p, "CAST(ns AS INT)", NULL, &r4, NULL, &err), 0);
    ck_assert_int_eq(
        lk_sql_program_compile(p, "i > 100 AND CAST(s AS INT) > 1", NULL, &r5, NULL, &err), 0);
    ck_assert_int_eq(lk_sql_program_run(p, b, 0, &err), 0);
    const uint8_t *f = lk_sql_program_failed(p, r1);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(f[0] & 3, 1); /* row 0 failed; row 1 (null input) did not */
    ck_assert_ptr_nonnull(lk_sql_program_failed(p, r2)); /* ANSI would have raised */
    ck_assert_ptr_null(lk_sql_program_failed(p, r3));    /* the division was not taken */
    ck_assert_ptr_null(lk_sql_program_failed(p, r4));    /* null is not a failure */
    ck_assert_ptr_null(lk_sql_program_failed(p, r5));    /* AND stopped at false */
    /* the same program over more batches: constants refilled for a larger one */
    lk_batch *big = lk_batch_new(lk_batch_schema(b));
    for (int i = 0; i < 3000; i++)
        for (int c = 0; c < lk_batch_ncols(b); c++)
            lk_col_append_range(lk_batch_col(big, c), lk_batch_col_const(b, c), (uint32_t)(i % 2),
                                1);
    lk_batch_set_nrows(big, 3000);
    ck_assert_int_eq(lk_sql_program_run(p, big, 0, &err), 0);
    const lk_col *c2 = lk_sql_program_result(p, r2);
    ck_assert_int_eq(c2->len, 3000);
    ck_assert_int_eq(((const int32_t *)c2->values)[2998], 1);
    ck_assert_int_eq(lk_sql_program_run(p, b, 0, &err), 0);
    ck_assert_int_eq(lk_sql_program_result(p, r2)->len, 2);
    lk_batch_destroy(&big);
    lk_sql_program_destroy(&p);
    lk_batch_destroy(&b);
}
END_TEST

START_TEST(formatting_and_like_helpers)
{
    char b[64];
    lk_sql_format_double(1.0, b);
    ck_assert_str_eq(b, "1.0");
    lk_sql_format_double(123456.789, b);
    ck_assert_str_eq(b, "123456.789");
    lk_sql_format_double(1e-3, b);
    ck_assert_str_eq(b, "0.001");
    lk_sql_format_double(-1.5e300, b);
    ck_assert_str_eq(b, "-1.5E300");
    lk_sql_format_double(-0.0, b);
    ck_assert_str_eq(b, "-0.0");
    lk_sql_format_timestamp(-1, b);
    ck_assert_str_eq(b, "1969-12-31 23:59:59.999999");
    ck_assert_int_eq(lk_sql_like_match("aaa", 3, "%a%a%a%", 7, '\\', 0), 1);
    ck_assert_int_eq(lk_sql_like_match("aa", 2, "%a%a%a%", 7, '\\', 0), 0);
    ck_assert(lk_sql_round_half_up(0.285, 2) == 0.29);
    ck_assert(lk_sql_round_half_up(1.005, 2) == 1.01);
    ck_assert(lk_sql_round_half_up(-0.5, 0) == -1.0);
}
END_TEST

START_TEST(split_arrays)
{
    lk_batch *b = make_batch();
    lk_sql_program *p = lk_sql_program_new(lk_batch_schema(b));
    lk_error err;
    int r;
    ck_assert_int_eq(lk_sql_program_compile(p, "split('a,b,,c,', ',')", NULL, &r, NULL, &err), 0);
    ck_assert_int_eq(lk_sql_program_type(p, r)->type, LK_TYPE_ARRAY);
    ck_assert_int_eq(lk_sql_program_run(p, b, 0, &err), 0);
    const lk_col *c = lk_sql_program_result(p, r);
    ck_assert_int_eq(c->offsets[1] - c->offsets[0], 5); /* Spark keeps trailing empty strings */
    ck_assert_int_eq(
        lk_sql_program_compile(p, "split('a1b22c', '[0-9]+', 2)", NULL, &r, NULL, &err), 0);
    ck_assert_int_eq(lk_sql_program_run(p, b, 0, &err), 0);
    c = lk_sql_program_result(p, r);
    ck_assert_int_eq(c->offsets[1], 2);
    size_t n;
    const char *s = lk_col_bytes(&c->children[0], 1, &n);
    ck_assert_int_eq((int)n, 4);
    ck_assert(!memcmp(s, "b22c", 4));
    lk_sql_program_destroy(&p);
    lk_batch_destroy(&b);
}
END_TEST

/* a[i] (0-based), element_at (1-based, negative from the end, 0 a failure), m[k], s['field'],
   size (-1 for null), array_contains (null when not found among nulls; NaN equals NaN, -0.0
   equals 0.0), as Spark; errors at compile time with their position. */
START_TEST(arrays_and_maps)
{
    EQ("split('a@b.c', '@')[1]", "b.c");
    EQ("split('a@b.c', '@')[0]", "a");
    EQ("split('a@b.c', '@')[2]", "NULL");
    EQ("split('a@b.c', '@')[-1]", "NULL");
    EQ("element_at(split('a,b,c', ','), 1)", "a");
    EQ("element_at(split('a,b,c', ','), -1)", "c");
    EQ("element_at(split('a,b,c', ','), -3)", "a");
    EQ("element_at(split('a,b,c', ','), -4)", "NULL");
    EQ("element_at(split('a,b,c', ','), 4)", "NULL");
    EQ("element_at(split('a,b,c', ','), 0)", "NULL");
    ERR("split('a,b,c', ',')['1']", "the index of [...] must be an integer, not string");
    ERR("arr['p']", "a field of an array's structs: a[i].field");
    ERR("element_at(ad, l)", "the index of element_at must be an int, not long");
    EQ("ad[l % 3]", "NaN"); /* a bigint index is an integer: 10^10 % 3 = 1 */
    EQ("upper(split(s, 'l')[2]) || '!'", "O !");
    EQ("size(split('a,b', ','))", "2");
    EQ("size(m)", "3");
    EQ("cardinality(ad)", "4");
    EQ_NULLROW("size(m)", "-1");
    EQ_NULLROW("size(split(s, ','))", "-1");
    EQ("m['a']", "1");
    EQ("m['b']", "NULL");
    EQ("m['z']", "NULL");
    EQ("element_at(m, 'a')", "1");
    EQ_NULLROW("m['a']", "NULL");
    EQ("arr[0].q", "x");
    EQ("arr[0]['p']", "1.5");
    EQ("arr[1].q", "NULL");
    EQ("arr[5].q", "NULL");
    EQ("st['os']", "ios");
    EQ("st['V'] + 1", "18");
    EQ("array_contains(ad, CAST('NaN' AS DOUBLE))", "true");
    EQ("array_contains(ad, 0.0D)", "true");
    EQ("array_contains(ad, 1)", "true");
    ERR("array_contains(split('1,2', ','), 1)", "array_contains of array<string> and integer");
    ERR("array_contains(ad, CAST(NULL AS STRING))", "array_contains of array<double> and string");
    ERR("array_contains(ad, NULL)", "cannot look for an untyped NULL");
    EQ_NULLROW("size(NULL)", "-1");
    EQ("array_contains(ad, 2.0D)", "NULL"); /* not found, and a null element */
    EQ("array_contains(split('a,b', ','), 'c')", "false");
    EQ("array_contains(split('a,b', ','), 'b')", "true");
    EQ("array_contains(split('a,b', ','), CAST(NULL AS STRING))", "NULL");
    EQ_NULLROW("array_contains(ad, 1.0D)", "NULL");
    TY("split(s, ',')[0]", "string");
    TY("m['a']", "integer");
    TY("arr[0]", "struct");
    TY("size(m)", "integer");
    TY("array_contains(ad, 1)", "boolean");
    ERR("s[0]", "position 7: [...] needs an array or a map, not string"); /* 1 in the text, 7 in ev()'s CAST((...)) */
    ERR("element_at(i, 1)", "element_at needs an array or a map, not integer");
    ERR("st[s]", "a struct's field is named by a string literal");
    ERR("st['zz']", "the struct has no field 'zz'");
    ERR("size(s)", "size needs an array or a map, not string");
    ERR("array_contains(m, 1)", "array_contains needs an array, not map");
    ERR("array_contains(arr, 1)", "array_contains of an array of struct is not supported");
    ERR("split(s, ',')[0", "expected ']'");
    /* element_at(a, 0) is an error in Spark: null here, marked failed for on_error */
    lk_batch *b = make_batch();
    lk_sql_program *p = lk_sql_program_new(lk_batch_schema(b));
    lk_error err;
    int r1, r2;
    ck_assert_int_eq(lk_sql_program_compile(p, "element_at(ad, 0)", NULL, &r1, NULL, &err), 0);
    ck_assert_int_eq(lk_sql_program_compile(p, "ad[9]", NULL, &r2, NULL, &err), 0);
    ck_assert_int_eq(lk_sql_program_run(p, b, 0, &err), 0);
    const uint8_t *f = lk_sql_program_failed(p, r1);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(f[0] & 3, 1);
    const uint8_t *f2 = lk_sql_program_failed(p, r2); /* out of range: what ANSI raises */
    ck_assert_ptr_nonnull(f2);
    ck_assert_int_eq(f2[0] & 3, 1); /* row 0 (a null array in row 1 is no failure) */
    lk_sql_program_destroy(&p);
    lk_batch_destroy(&b);
}
END_TEST

/* More of Spark's string and math functions, with Spark's documented answers and edges; function-
   style casts and nvl2 (rewritten by the parser). */
START_TEST(more_functions)
{
    EQ("lpad('hi', 5, '?\?')", "???hi");
    EQ("lpad('hi', 1, '?\?')", "h");
    EQ("lpad('hi', 5)", "   hi");
    EQ("lpad('hi', -1)", "");
    EQ("lpad('hi', 5, '')", "hi");
    EQ("lpad('h\xc3\xa9llo', 7, '\xc3\xa9')", "\xc3\xa9\xc3\xa9h\xc3\xa9llo");
    EQ("rpad('hi', 5, '?\?')", "hi???");
    EQ("rpad('hi', 6, 'ab')", "hiabab");
    EQ("rpad('hi', 1, '?\?')", "h");
    EQ("replace('ABCabc', 'abc', 'DEF')", "ABCDEF");
    EQ("replace('aaa', 'aa', 'b')", "ba");
    EQ("replace('abc', '')", "abc");
    EQ("replace('abcabc', 'b')", "acac");
    EQ("instr('SparkSQL', 'SQL')", "6");
    EQ("instr('abc', '')", "1");
    EQ("instr('abc', 'z')", "0");
    EQ("instr('h\xc3\xa9llo', 'l')", "3");
    EQ("locate('bar', 'foobarbar')", "4");
    EQ("locate('bar', 'foobarbar', 5)", "7");
    EQ("locate('bar', 'foobarbar', 0)", "0");
    EQ("locate('', 'abc', 3)", "1");
    EQ("locate('bar', 'foobarbar', CAST(NULL AS INT))", "0");
    EQ("locate(CAST(NULL AS STRING), 'x')", "NULL");
    EQ("position('b', 'abc')", "2");
    EQ("left('Spark SQL', 3)", "Spa");
    EQ("left('abc', 0)", "");
    EQ("left('abc', -1)", "");
    EQ("right('Spark SQL', 3)", "SQL");
    EQ("right('abc', 10)", "abc");
    EQ("right('abc', 0)", "");
    EQ_NULLROW("right(ns, 2)", "NULL");
    EQ("initcap('sPark sql')", "Spark Sql");
    EQ("initcap('hello  WORLD-x')", "Hello  World-x");
    EQ("initcap('\xc3\xa9LAN vital')", "\xc3\x89lan Vital");
    /* Spark: toLowerCase() then Character.toTitleCase of each word's first UTF-16 unit */
    EQ("initcap('łÓDŹ żÓŁW')", "Łódź Żółw");
    EQ("initcap('ǆemal ΣΑΣ')", "ǅemal Σας"); /* a title-case letter; a final sigma */
    EQ("initcap('ßa')", "ßa"); /* no one-letter title case */
    EQ("initcap('\xff ab')", "\xff Ab");
    EQ("reverse('Spark SQL')", "LQS krapS");
    EQ("reverse('h\xc3\xa9llo')", "oll\xc3\xa9h");
    EQ("startswith('Spark SQL', 'Spark')", "true");
    EQ("startswith('Spark', 'Spark SQL')", "false");
    EQ("endswith('Spark SQL', 'SQL')", "true");
    EQ("contains('Spark SQL', 'k S')", "true");
    EQ("contains('abc', '')", "true");
    EQ("contains('abc', 'x')", "false");
    EQ("startswith(CAST(NULL AS STRING), 'a')", "NULL");
    EQ("substring_index('www.apache.org', '.', 2)", "www.apache");
    EQ("substring_index('www.apache.org', '.', -2)", "apache.org");
    EQ("substring_index('www.apache.org', '.', 5)", "www.apache.org");
    EQ("substring_index('www.apache.org', '.', -5)", "www.apache.org");
    EQ("substring_index('a.b', '', 1)", "");
    EQ("substring_index('a.b', '.', 0)", "");
    EQ("substring_index('aaa', 'aa', 2)", "a");
    EQ("substring_index('.a', '.', 1)", "");
    EQ("substring_index('a.', '.', -1)", "");
    EQ("translate('AaBbCc', 'abc', '123')", "A1B2C3");
    EQ("translate('abcd', 'abc', 'x')", "xd"); /* b and c have no counterpart: deleted */
    EQ("translate('aaa', 'aa', 'xy')", "xxx"); /* the first mapping wins */
    EQ("translate('h\xc3\xa9llo', '\xc3\xa9', 'e')", "hello");
    EQ("translate('abc', '', 'x')", "abc");
    EQ("translate(CAST(NULL AS STRING), 'a', 'b')", "NULL");
    EQ("repeat('ab', 3)", "ababab");
    EQ("repeat('ab', 0)", "");
    EQ("repeat('ab', -1)", "");
    EQ("octet_length('h\xc3\xa9llo')", "6");
    EQ("log10(100)", "2.0");
    EQ("log2(8)", "3.0");
    EQ("log(2, 8)", "3.0");
    EQ("log(1)", "0.0");
    EQ("log10(0)", "NULL");
    EQ("log(-1, 8)", "NULL");
    EQ("cbrt(27)", "3.0");
    EQ("cbrt(52734375)", "375.0"); /* glibc's cbrt: 375.00000000000011 */
    EQ("cbrt(107171875)", "475.0");
    EQ("cbrt(-27)", "-3.0");
    EQ("log10(CAST('NaN' AS DOUBLE))", "NaN"); /* NaN is no null */
    EQ("log(CAST('NaN' AS DOUBLE))", "NaN");
    EQ("log(2, CAST('NaN' AS DOUBLE))", "NaN");
    /* invalid UTF-8: a stray byte is a character of its own (Spark's UTF8String) */
    EQ("lpad('a', 5, '\x80')", "\x80\x80\x80\x80" "a");
    EQ("lpad('a\x80" "b', 5, 'x')", "xxa\x80" "b");
    EQ("left('\x80\x80" "abc', 2)", "\x80\x80");
    EQ("length('a\x80" "b')", "3");
    EQ("instr('a\x80" "bc', 'c')", "4");
    EQ("reverse('a\x80" "b')", "b\x80" "a");
    EQ("nanvl(CAST('NaN' AS FLOAT), CAST(0.1 AS FLOAT))", "0.1");
    TY("nanvl(CAST('NaN' AS FLOAT), CAST(0.1 AS FLOAT))", "float");
    EQ("position('b' IN 'abc')", "2");
    EQ("position('x' IN concat('a', 'x')) + 1", "3");
    ERR("nvl2(i, 1)", "nvl2 takes 3 arguments, not 2");
    EQ("isnan(CAST('NaN' AS DOUBLE))", "true");
    EQ("isnan(1)", "false");
    EQ("isnan(n)", "false"); /* null: false, as Spark's IsNaN */
    EQ("nanvl(CAST('NaN' AS DOUBLE), 1.5D)", "1.5");
    EQ("nanvl(2.0D, 1.5D)", "2.0");
    EQ("mod(7, 3)", "1");
    EQ("mod(-7, 3)", "-1");
    EQ("nvl2(n, 'a', 'b')", "b");
    EQ("nvl2(i, 'a', 'b')", "a");
    EQ("int('12')", "12");
    EQ("string(12) || 'x'", "12x");
    EQ("double('1.5')", "1.5");
    EQ("boolean('true')", "true");
    EQ("date('2026-01-05')", "2026-01-05");
    EQ("decimal('1.5')", "2");
    TY("int('1')", "integer");
    TY("decimal(1.5)", "decimal(10,0)");
    TY("locate('a', 'b')", "integer");
    TY("startswith('a', 'b')", "boolean");
    ERR("lpad('a')", "lpad");
    ERR("substring_index('a', '.')", "substring_index");
    /* a failure in the branch nvl2 does not take is no failure (it is an if) */
    lk_batch *b = make_batch();
    lk_sql_program *p = lk_sql_program_new(lk_batch_schema(b));
    lk_error err;
    int r1, r2;
    ck_assert_int_eq(lk_sql_program_compile(p, "nvl2(i, 1, CAST(s AS INT))", NULL, &r1, NULL, &err),
                     0);
    ck_assert_int_eq(lk_sql_program_compile(p, "repeat(s, 100000000)", NULL, &r2, NULL, &err), 0);
    ck_assert_int_eq(lk_sql_program_run(p, b, 0, &err), 0);
    ck_assert_ptr_null(lk_sql_program_failed(p, r1));
    const uint8_t *f = lk_sql_program_failed(p, r2); /* 700 MB: null and failed */
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(f[0] & 1, 1);
    ck_assert(lk_col_is_null(lk_sql_program_result(p, r2), 0));
    lk_sql_program_destroy(&p);
    lk_batch_destroy(&b);
}
END_TEST

/* SQL's forms of trim and substring (Spark 3.5's answers), concat() of nothing. */
START_TEST(sql_string_forms)
{
    EQ("trim(BOTH 'x' FROM 'xxhixx')", "hi");
    EQ("trim(LEADING 'x' FROM 'xxhixx')", "hixx");
    EQ("trim(TRAILING 'x' FROM 'xxhixx')", "xxhi");
    EQ("trim('xy' FROM 'yxhixy')", "hi");
    EQ("trim(BOTH FROM s)", "Hello");
    EQ("trim(LEADING FROM s)", "Hello ");
    EQ("trim(trailing from s) || '|'", " Hello|");
    EQ("trim('\u00e9' FROM '\u00e9\u00e9a\u00e9')", "a");
    EQ("trim('\u00e9' FROM 'e\u00e9')", "e");
    EQ("trim(BOTH '' FROM s)", " Hello ");
    EQ("trim(BOTH NULL FROM 'a')", "NULL");
    EQ("trim(BOTH 'x' FROM NULL)", "NULL");
    EQ_NULLROW("trim(BOTH 'x' FROM ns)", "NULL");
    EQ("trim('eo' FROM substring(s FROM 3 FOR 4))", "ll");
    EQ("substring('Spark SQL' FROM 5)", "k SQL");
    EQ("substring('Spark SQL' FROM 5 FOR 1)", "k");
    EQ("substr(s FROM -3 FOR 2)", "lo");
    EQ("substring('Spark SQL' FROM i - 6 FOR i - 5)", "Sp");
    EQ("substring(NULL FROM 1)", "NULL");
    EQ_NULLROW("substring(ns FROM 1 FOR 2)", "NULL");
    EQ("position('l' IN s)", "4");
    EQ("concat()", "");
    TY("concat()", "string");
    EQ_NULLROW("concat()", "");
    ERR("trim(BOTH 'x' FROM)", "expected an expression");
    ERR("substring(s FROM)", "expected an expression");
}
END_TEST

/* INTERVAL literals with dates and timestamps, Spark 3.5's answers (UTC session): a date plus
   whole days or months stays a DATE, plus hours a TIMESTAMP; months clamp to the month's end as
   add_months; a string is read as a timestamp and written back; an interval alone is refused. */
START_TEST(interval_arithmetic)
{
    /* Spark 3.5 counts WEEK as a day field and MILLISECOND, MICROSECOND as second fields of a
       day-time interval (AstBuilder.constructMultiUnitsIntervalLiteral): a date plus one of
       seconds is a TIMESTAMP, plus weeks a DATE */
    EQ("DATE '2024-01-01' + INTERVAL 1500 MILLISECONDS", "2024-01-01 00:00:01.5");
    TY("DATE '2024-01-01' + INTERVAL 1500 MILLISECONDS", "timestamp");
    EQ("DATE '2024-01-01' + INTERVAL 1 WEEK 1 HOUR", "2024-01-08 01:00:00");
    EQ("DATE '2024-01-01' + INTERVAL 7 MICROSECONDS", "2024-01-01 00:00:00.000007");
    EQ("DATE '2024-01-01' + INTERVAL 2 WEEKS", "2024-01-15");
    /* a YEAR TO MONTH past INT_MAX months, or with two signs, is no interval (toIntExact) */
    ERR("ts - INTERVAL '178956970-8' YEAR TO MONTH", "YEAR TO MONTH");
    ERR("ts + INTERVAL '--5-3' YEAR TO MONTH", "YEAR TO MONTH");
    /* a date past the int range of days: null, not wrapped */
    EQ("CAST('5881581-01-01' AS DATE)", "NULL");
    EQ("CAST('-9999999-01-01' AS DATE)", "NULL");
    EQ("ts + INTERVAL 1 DAY", "2026-11-25 09:30:00.123456");
    EQ("ts - INTERVAL '2' HOUR", "2026-11-24 07:30:00.123456");
    EQ("ts + INTERVAL 30 MINUTES", "2026-11-24 10:00:00.123456");
    EQ("ts + INTERVAL '1 2:03:04' DAY TO SECOND", "2026-11-25 11:33:04.123456");
    EQ("ts - INTERVAL '1 2:03:04.5' DAY TO SECOND", "2026-11-23 07:26:55.623456");
    EQ("ts + INTERVAL '-10:30' HOUR TO MINUTE", "2026-11-23 23:00:00.123456");
    EQ("ts + INTERVAL 1 DAY 2 HOURS", "2026-11-25 11:30:00.123456");
    EQ("ts + INTERVAL 1 WEEK", "2026-12-01 09:30:00.123456");
    EQ("ts + INTERVAL 1.5 SECONDS", "2026-11-24 09:30:01.623456");
    EQ("ts + INTERVAL 500 MILLISECONDS", "2026-11-24 09:30:00.623456");
    EQ("ts + INTERVAL -1 DAY", "2026-11-23 09:30:00.123456");
    EQ("ts - INTERVAL '-1' DAY", "2026-11-25 09:30:00.123456");
    EQ("ts + -INTERVAL 1 DAY", "2026-11-23 09:30:00.123456");
    EQ("INTERVAL 1 DAY + ts", "2026-11-25 09:30:00.123456");
    EQ("ts + INTERVAL 1 DAY - INTERVAL 2 HOURS", "2026-11-25 07:30:00.123456");
    EQ("ts + INTERVAL 1 YEAR", "2027-11-24 09:30:00.123456");
    EQ("TIMESTAMP '2024-01-31 10:00:00' + INTERVAL 1 MONTH", "2024-02-29 10:00:00");
    EQ("TIMESTAMP '2024-03-31 10:00:00' - INTERVAL '0-1' YEAR TO MONTH", "2024-02-29 10:00:00");
    EQ("TIMESTAMP '1969-12-31 23:00:00' + INTERVAL 1 MONTH", "1970-01-31 23:00:00");
    EQ("dt + INTERVAL 1 DAY", "2025-11-25");
    TY("dt + INTERVAL 1 DAY", "date");
    TY("dt + INTERVAL 1 WEEK", "date");
    EQ("dt + INTERVAL 2 HOURS", "2025-11-24 02:00:00");
    TY("dt + INTERVAL 2 HOURS", "timestamp");
    TY("dt + INTERVAL 1 DAY 2 HOURS", "timestamp");
    TY("dt + INTERVAL '1 2' DAY TO HOUR", "timestamp");
    EQ("dt - INTERVAL 1 MONTH", "2025-10-24");
    TY("dt - INTERVAL 1 MONTH", "date");
    EQ("DATE '2024-01-31' + INTERVAL 1 MONTH", "2024-02-29");
    EQ("DATE '2024-01-31' + INTERVAL '1-2' YEAR TO MONTH", "2025-03-31");
    /* months and days in one literal: refused by Spark 3.5 (no calendar interval); two work */
    ERR("DATE '2024-01-31' + INTERVAL 1 MONTH 1 DAY", "cannot mix year-month units");
    ERR("DATE '2024-01-31' + INTERVAL 1 MONTH 1 HOUR", "cannot mix year-month units");
    EQ("DATE '2024-01-31' + INTERVAL 1 MONTH + INTERVAL 1 DAY", "2024-03-01");
    TY("DATE '2024-01-31' + INTERVAL 1 MONTH + INTERVAL 1 DAY", "date");
    EQ("'2017-12-11 09:30:00' + INTERVAL 2 DAY", "2017-12-13 09:30:00");
    TY("'2017-12-11' - INTERVAL 2 DAY", "string");
    EQ("'2017-12-11' - INTERVAL 2 DAY", "2017-12-09 00:00:00");
    EQ("s + INTERVAL 1 DAY", "NULL"); /* ' Hello ' is no timestamp */
    EQ("ts > TIMESTAMP '2026-11-25 00:00:00' - INTERVAL 1 DAY", "true");
    EQ_NULLROW("ts + INTERVAL 1 DAY", "NULL");
    EQ_NULLROW("dt + INTERVAL 1 MONTH", "NULL");
    EQ_NULLROW("dt + INTERVAL 2 HOURS", "NULL");
    /* past a timestamp's range: a failure (Spark's addExact raises), null */
    EQ("ts + INTERVAL 106751991 DAYS", "NULL");
    ERR("INTERVAL 1 DAY", "only added to or subtracted from a date or timestamp");
    ERR("coalesce(INTERVAL 1 DAY, NULL)", "only added to");
    ERR("i + INTERVAL 1 DAY", "not to int");
    ERR("NULL + INTERVAL 1 DAY", "not to null");
    ERR("INTERVAL 1 DAY - ts", "cannot subtract");
    ERR("INTERVAL 1 DAY + INTERVAL 1 HOUR", "write one INTERVAL");
    ERR("s + INTERVAL 1 MONTH", "read it as a date or timestamp first");
    ERR("ts + INTERVAL 1 FORTNIGHT", "expected an interval unit");
    ERR("ts + INTERVAL 1.5 DAYS", "not a valid INTERVAL value");
    ERR("ts + INTERVAL '1 25:00' DAY TO MINUTE", "not a valid INTERVAL");
    ERR("ts + INTERVAL '1' SECOND TO DAY", "expected YEAR TO MONTH");
    ERR("ts + INTERVAL 99999999999999999 YEARS", "INTERVAL out of range");
    ERR("ts + INTERVAL 999999999999999999999 YEARS", "INTERVAL out of range (long overflow)");
}
END_TEST

/* INTERVAL literals as Spark 3.5 reads them: the quoted form read by IntervalUtils.stringToInterval
   (every pair its own sign, a fraction only of seconds, Java whitespace, an 'interval' prefix),
   the unit list written out as that text (a quoted value before a unit is a number), and the
   type by the units: days alone keep a date a date, seconds make it a timestamp, months with
   days are refused. Errors give the position of the literal's text. */
START_TEST(interval_literals)
{
    /* the quoted form */
    EQ("ts + INTERVAL '1 day 2 hours'", "2026-11-25 11:30:00.123456");
    EQ("ts + INTERVAL '1 day'", "2026-11-25 09:30:00.123456");
    EQ("ts - INTERVAL '1 day 2 hours'", "2026-11-23 07:30:00.123456");
    EQ("ts + -INTERVAL '1 day'", "2026-11-23 09:30:00.123456");
    EQ("INTERVAL '1 day' + ts", "2026-11-25 09:30:00.123456");
    /* each number has its own sign: -1 hour and +30 minutes */
    EQ("ts + INTERVAL '-1 hour 30 minutes'", "2026-11-24 09:00:00.123456");
    EQ("ts - INTERVAL '-1 hour 30 minutes'", "2026-11-24 10:00:00.123456");
    EQ("ts + INTERVAL '1 day -2 hours'", "2026-11-25 07:30:00.123456");
    EQ("ts + INTERVAL '- 1 day + 3 microseconds'", "2026-11-23 09:30:00.123459");
    EQ("ts + INTERVAL 'interval 1 day'", "2026-11-25 09:30:00.123456");
    EQ("ts + INTERVAL '  1 DAYS \t 2 Hours  '", "2026-11-25 11:30:00.123456");
    EQ("ts + INTERVAL '1 day 10 day'", "2026-12-05 09:30:00.123456"); /* units repeat and add */
    EQ("ts + INTERVAL '1 microsecond 1 day'", "2026-11-25 09:30:00.123457");
    EQ("ts + INTERVAL '1 week'", "2026-12-01 09:30:00.123456");
    EQ("ts + INTERVAL '123 milliseconds'", "2026-11-24 09:30:00.246456");
    EQ("ts + INTERVAL '1 year 2 months'", "2028-01-24 09:30:00.123456");
    /* fractions: of seconds only, up to nine digits cut to microseconds */
    EQ("ts + INTERVAL '1.5 seconds'", "2026-11-24 09:30:01.623456");
    EQ("ts + INTERVAL '.5 second'", "2026-11-24 09:30:00.623456");
    EQ("ts + INTERVAL '-1.5 seconds'", "2026-11-24 09:29:58.623456");
    EQ("ts + INTERVAL '1. seconds'", "2026-11-24 09:30:01.123456");
    EQ("ts + INTERVAL '0.999999999 seconds'", "2026-11-24 09:30:01.123455");
    EQ("ts + INTERVAL '1 minute 1.001001 seconds'", "2026-11-24 09:31:01.124457");
    /* types: a date stays a date for days alone, as Spark's DateAdd */
    EQ("dt + INTERVAL '1 day'", "2025-11-25");
    TY("dt + INTERVAL '1 day'", "date");
    TY("dt + INTERVAL '2 weeks'", "date");
    EQ("dt + INTERVAL '2 months'", "2026-01-24");
    TY("dt + INTERVAL '2 months'", "date");
    EQ("dt + INTERVAL '1 day 2 hours'", "2025-11-25 02:00:00");
    TY("dt + INTERVAL '1 day 2 hours'", "timestamp");
    EQ("dt - INTERVAL '1 day 1 microsecond'", "2025-11-22 23:59:59.999999");
    TY("dt + INTERVAL '1 day 1 microsecond'", "timestamp");
    EQ("'2017-12-11 09:30:00' + INTERVAL '1 day 2 hours'", "2017-12-12 11:30:00");
    TY("'2017-12-11 09:30:00' + INTERVAL '1 day 2 hours'", "string");
    /* the unit list: quoted numbers, signs before quotes, fractions of seconds */
    EQ("ts + INTERVAL '1.5' SECOND", "2026-11-24 09:30:01.623456");
    EQ("ts + INTERVAL 1.5 SECONDS", "2026-11-24 09:30:01.623456");
    EQ("ts + INTERVAL .5 SECOND", "2026-11-24 09:30:00.623456");
    EQ("ts + INTERVAL 5. SECONDS", "2026-11-24 09:30:05.123456");
    EQ("ts + INTERVAL 0.0000001 SECOND", "2026-11-24 09:30:00.123456");
    EQ("ts + INTERVAL -'1' DAY", "2026-11-23 09:30:00.123456");
    EQ("ts + INTERVAL -'-1' DAY", "2026-11-25 09:30:00.123456");
    EQ("ts + INTERVAL +'1' DAY", "2026-11-25 09:30:00.123456");
    EQ("ts + INTERVAL 1 DAY '2' HOURS", "2026-11-25 11:30:00.123456");
    EQ("ts + INTERVAL -2 HOUR '3' MINUTE", "2026-11-24 07:33:00.123456"); /* Spark's docs */
    EQ("ts + INTERVAL 1 DAYS 1 DAY", "2026-11-26 09:30:00.123456");
    /* nulls, and a result past the timestamp range: null and a failure (addExact) */
    EQ_NULLROW("ts + INTERVAL '1 day 2 hours'", "NULL");
    EQ_NULLROW("dt + INTERVAL '3 hours'", "NULL");
    EQ_NULLROW("dt + INTERVAL '3 days'", "NULL");
    EQ("ts + INTERVAL '106751991 days'", "NULL");
    EQ("ts - INTERVAL '106751991 days' - INTERVAL '30000 days'", "NULL");
    /* Spark's refusals, with its reasons */
    ERR("ts + INTERVAL 1.5 DAY", "'day' cannot have fractional part");
    ERR("ts + INTERVAL '1.5 days'", "'days' cannot have fractional part");
    ERR("ts + INTERVAL 1.5 MILLISECONDS", "'milliseconds' cannot have fractional part");
    ERR("ts + INTERVAL '1. hour'", "'hour' cannot have fractional part");
    ERR("ts + INTERVAL '0.1234567891 seconds'", "nanosecond precision");
    ERR("ts + INTERVAL '1 day 2'", "expect a unit name after '2' but hit EOL");
    ERR("ts + INTERVAL '1 day -'", "expect a number after '-' but hit EOL");
    ERR("ts + INTERVAL '-.'", "expect a unit name after '-.' but hit EOL");
    ERR("ts + INTERVAL '1 fortnight'", "invalid unit 'fortnight'");
    ERR("ts + INTERVAL '1 hourX'", "invalid unit 'hourx'");
    ERR("ts + INTERVAL '1 dayss'", "invalid unit 'dayss'");
    ERR("ts + INTERVAL '1a1 hour'", "invalid value '1a1'");
    ERR("ts + INTERVAL '~1 hour'", "unrecognized number '~1'");
    ERR("ts + INTERVAL '. seconds'", "invalid value '.'");
    ERR("ts + INTERVAL ''", "the interval string is empty");
    ERR("ts + INTERVAL ' '", "the interval string is empty");
    ERR("ts + INTERVAL 'interval'", "the interval string is empty");
    ERR("ts + INTERVAL 'interval1 day'", "invalid interval prefix interval1");
    ERR("ts + INTERVAL '1 month 1 day'", "cannot mix year-month units");
    ERR("ts + INTERVAL 1 YEAR 1 MILLISECOND", "cannot mix year-month units");
    ERR("ts + INTERVAL '1 day' DAY", "a quoted value before a unit is a number");
    ERR("ts + INTERVAL -'1 day'", "without a unit the sign goes inside the text");
    ERR("ts + INTERVAL 1e3 SECONDS", "expected a number or a string after INTERVAL");
    /* overflow: Spark's toIntExact / addExact, and a duration past 64 bits of microseconds */
    ERR("ts + INTERVAL '2147483648 days'", "INTERVAL out of range (integer overflow)");
    ERR("ts + INTERVAL 2147483647 DAYS 1 DAY", "INTERVAL out of range (integer overflow)");
    ERR("ts + INTERVAL '9223372036854775807 hours'", "INTERVAL out of range (long overflow)");
    ERR("ts + INTERVAL '99999999999999999999 seconds'", "INTERVAL out of range (long overflow)");
    ERR("ts + INTERVAL '106751992 days'", "INTERVAL out of range");
    ERR("ts + INTERVAL '-2147483648 months'", "INTERVAL out of range");
    /* positions: the literal's text, the pair's value, or INTERVAL for a mix */
    lk_batch *b = make_batch();
    lk_sql_program *p = lk_sql_program_new(lk_batch_schema(b));
    struct {
        const char *expr, *want;
    } cases[] = {
        {"ts + INTERVAL '1.5 days'", "position 15: not a valid INTERVAL: 'days' cannot have"},
        {"ts + INTERVAL 1 DAY 1.5 HOURS", "position 21: not a valid INTERVAL value: 'hours'"},
        {"ts + INTERVAL 1 MONTH 2 DAYS", "position 6: an INTERVAL cannot mix"},
        {"ts + INTERVAL 'x'", "position 15: not a valid INTERVAL: unrecognized number 'x'"},
        {"ts + INTERVAL '1 day' DAY", "position 15: not a valid INTERVAL value before a unit"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lk_error err = {0};
        int reg;
        ck_assert_msg(lk_sql_program_compile(p, cases[i].expr, NULL, &reg, NULL, &err) != 0,
                      "%s compiled", cases[i].expr);
        ck_assert_msg(strstr(err.msg, cases[i].want), "%s: got [%s], want [%s]", cases[i].expr,
                      err.msg, cases[i].want);
    }
    lk_sql_program_destroy(&p);
    lk_batch_destroy(&b);
}
END_TEST

/* Date and time functions beyond the list, with Spark's documented answers (UTC):
   ISO weeks, month arithmetic that keeps the day where the month has it, trunc, next_day,
   make_date, epoch conversions (floor division), extract and date_part. */
START_TEST(more_time_functions)
{
    EQ("weekofyear('2008-02-20')", "8");
    EQ("weekofyear('2021-01-01')", "53"); /* a Friday: ISO week 53 of 2020 */
    EQ("weekofyear('2026-12-31')", "53");
    EQ("weekofyear('2024-12-30')", "1"); /* a Monday: week 1 of 2025 */
    EQ("last_day('2009-01-12')", "2009-01-31");
    EQ("last_day('2024-02-10')", "2024-02-29");
    EQ("add_months('2016-08-31', 1)", "2016-09-30");
    EQ("add_months('2019-02-28', 1)", "2019-03-28");
    EQ("add_months('2020-01-31', -11)", "2019-02-28");
    EQ("add_months('2020-03-15', -15)", "2018-12-15");
    EQ("add_months('2020-03-15', 2147483647)", "NULL"); /* 178 million years on */
    EQ("trunc('2019-08-04', 'week')", "2019-07-29");
    EQ("trunc('2019-08-04', 'quarter')", "2019-07-01");
    EQ("trunc('2009-02-12', 'MM')", "2009-02-01");
    EQ("trunc('2015-10-27', 'YEAR')", "2015-01-01");
    ERR("trunc(dt, 'day')", "trunc: unknown format 'day'");
    EQ("next_day('2015-01-14', 'TU')", "2015-01-20");
    EQ("next_day('2015-01-13', 'Tuesday')", "2015-01-20");
    EQ("next_day('2015-01-14', 'xx')", "NULL");
    EQ("make_date(2013, 7, 15)", "2013-07-15");
    EQ("make_date(2020, 2, 29)", "2020-02-29");
    EQ("make_date(2019, 2, 29)", "NULL");
    EQ("make_date(2019, 13, 1)", "NULL");
    EQ("make_date(2019, 7, NULL)", "NULL");
    EQ("timestamp_seconds(1230219000)", "2008-12-25 15:30:00");
    EQ("timestamp_seconds(1230219000.123)", "2008-12-25 15:30:00.123");
    EQ("timestamp_millis(1230219000123)", "2008-12-25 15:30:00.123");
    EQ("timestamp_micros(1230219000123123)", "2008-12-25 15:30:00.123123");
    EQ("timestamp_seconds(9223372036854775807)", "NULL");
    EQ("timestamp_seconds(1.000001)", "1970-01-01 00:00:01.000001"); /* a decimal: exact */
    EQ("timestamp_seconds(-1.000001)", "1969-12-31 23:59:58.999999");
    EQ("timestamp_seconds(CAST('0.0000001' AS DECIMAL(8,7)))", "NULL");
    EQ("extract(SECOND FROM timestamp_micros(-9223372036854775807))", "5.224193"); /* no overflow */
    EQ("CAST(timestamp_seconds(-9223372036854) AS STRING) IS NULL", "false");
    ERR("unix_seconds(dt)", "unix_seconds needs a timestamp, not date");
    ERR("unix_date(ts)", "unix_date needs a date, not timestamp");
    ERR("timestamp_seconds('12')", "timestamp_seconds needs a number, not string");
    EQ("add_months('2020-01-15', 1.5)", "2020-02-15");
    EQ("string(add_months(date_from_unix_date(2147483647), 0))", "+5881580-07-11");
    EQ("extract(YEAROFWEEK FROM DATE '2021-01-01')", "2020");
    ERR("date_part('y years', ts)", "unknown field 'y years'");
    ERR("date_part(s, ts)", "date_part takes a field name as a string literal");
    EQ("unix_seconds(CAST('1970-01-01 00:00:01' AS TIMESTAMP))", "1");
    EQ("unix_millis(CAST('1970-01-01 00:00:01' AS TIMESTAMP))", "1000");
    EQ("unix_micros(CAST('1970-01-01 00:00:01' AS TIMESTAMP))", "1000000");
    EQ("unix_seconds(CAST('1969-12-31 23:59:59.5' AS TIMESTAMP))", "-1");
    EQ("unix_date(CAST('1970-01-02' AS DATE))", "1");
    EQ("date_from_unix_date(1)", "1970-01-02");
    EQ("extract(YEAR FROM ts)", "2026");
    EQ("extract(quarter FROM ts)", "4");
    EQ("extract(MONTH FROM ts)", "11");
    EQ("extract(WEEK FROM ts)", "48");
    EQ("extract(DAY FROM ts)", "24");
    EQ("extract(DOW FROM ts)", "3");
    EQ("extract(DOW_ISO FROM ts)", "2");
    EQ("extract(DOY FROM ts)", "328");
    EQ("extract(HOUR FROM ts)", "9");
    EQ("extract(MINUTE FROM ts)", "30");
    EQ("extract(SECOND FROM ts)", "0.123456");
    EQ("date_part('YEAR', ts)", "2026");
    EQ("months_between('1997-02-28 10:30:00', '1996-10-30')", "3.94959677");
    EQ("months_between('1997-02-28 10:30:00', '1996-10-30', false)", "3.9495967741935485");
    EQ("months_between('2020-03-31', '2020-02-29')", "1.0"); /* both the month's last day */
    EQ("months_between('2020-03-15 08:00:00', '2020-02-15 20:00:00')", "1.0"); /* same day */
    EQ("months_between('2020-01-01', '2020-03-01 12:00:00')", "-2.0");
    EQ("months_between(CAST(NULL AS TIMESTAMP), ts)", "NULL");
    EQ("date_part('seconds', ts)", "0.123456");
    TY("extract(SECOND FROM ts)", "decimal(8,6)");
    TY("extract(DAY FROM ts)", "integer");
    ERR("extract(foo FROM ts)", "extract: unknown field 'foo'");
    ERR("extract(YEAR ts)", "expected FROM in EXTRACT");
    ERR("date_part('fortnight', ts)", "date_part: unknown field 'fortnight'");
}
END_TEST

/* Impossible dates and times in timestamp text are null, never the next month or day (Spark:
   LocalDate.of / LocalTime.of throw); the literal is refused. */
START_TEST(impossible_timestamp_text)
{
    EQ("to_timestamp('2024-04-31T10:00:00Z')", "NULL");
    EQ("CAST('2023-02-29 10:00:00' AS TIMESTAMP)", "NULL");
    EQ("CAST('2024-06-31 08:00:00' AS TIMESTAMP)", "NULL");
    EQ("CAST('2024-04-31' AS TIMESTAMP)", "NULL");
    EQ("CAST('2024-05-06T23:59:60Z' AS TIMESTAMP)", "NULL");
    EQ("CAST('2024-05-06 24:00:00' AS TIMESTAMP)", "NULL");
    EQ("CAST('2024-05-06 10:60:00' AS TIMESTAMP)", "NULL");
    EQ("CAST('2024-02-29 10:00:00' AS TIMESTAMP)", "2024-02-29 10:00:00");
    EQ("CAST('2000-02-29' AS TIMESTAMP)", "2000-02-29 00:00:00");
    EQ("CAST('1900-02-29' AS TIMESTAMP)", "NULL");
    ERR("TIMESTAMP '2024-04-31 00:00:00'", "not a valid TIMESTAMP literal");
    ERR("DATE '2023-02-29'", "not a valid DATE literal");
    EQ("TIMESTAMP '2024-02-29 10:00:00+01:00'", "2024-02-29 09:00:00");
    EQ("DATE '2024-02-29'", "2024-02-29");
    EQ("DATE '2024-2-9'", "2024-02-09"); /* stringToDate */
}
END_TEST

/* Spark's stringToTimestamp grammar (SparkDateTimeUtils.parseTimestampString), Spark 3.5's answers
   with the session zone UTC. */
START_TEST(spark_timestamp_text)
{
    /* the canonical form read straight: the same answers as the grammar */
    EQ("CAST('2024-02-29T23:59:59.999999Z' AS TIMESTAMP)", "2024-02-29 23:59:59.999999");
    EQ("CAST('2024-05-06T10:00:00.1Z' AS TIMESTAMP)", "2024-05-06 10:00:00.1");
    EQ("CAST('2024-05-06T10:00:00.1234567Z' AS TIMESTAMP)", "2024-05-06 10:00:00.123456");
    EQ("CAST('2024-05-06T10:00:00.1234567891Z' AS TIMESTAMP)", "2024-05-06 10:00:00.123456");
    EQ("CAST('1969-12-31T23:59:59.5' AS TIMESTAMP)", "1969-12-31 23:59:59.5");
    EQ("CAST('0001-01-01T00:00:00Z' AS TIMESTAMP)", "0001-01-01 00:00:00");
    EQ("CAST('2023-02-29T10:00:00Z' AS TIMESTAMP)", "NULL");
    EQ("CAST('2024-05-06T24:00:00Z' AS TIMESTAMP)", "NULL");
    EQ("CAST('2024-05-06T10:00:00.Z' AS TIMESTAMP)", "2024-05-06 10:00:00"); /* the grammar's */
    EQ("CAST('2024-05-06T10:00:00.Z' AS TIMESTAMP)", "2024-05-06 10:00:00"); /* the grammar's */
    EQ("CAST('2024-5-6 1:2:3' AS TIMESTAMP)", "2024-05-06 01:02:03");
    EQ("CAST('2024-05-06T10' AS TIMESTAMP)", "2024-05-06 10:00:00");
    EQ("CAST('2024-05-06 10:07' AS TIMESTAMP)", "2024-05-06 10:07:00");
    EQ("CAST('2024-05-06 10:00:00.' AS TIMESTAMP)", "2024-05-06 10:00:00");
    EQ("CAST('2024-05-06T10:00:00.123456789Z' AS TIMESTAMP)", "2024-05-06 10:00:00.123456");
    EQ("CAST('2024-05' AS TIMESTAMP)", "2024-05-01 00:00:00");
    EQ("CAST('2024-5' AS TIMESTAMP)", "2024-05-01 00:00:00");
    EQ("CAST('+2024-05-06' AS TIMESTAMP)", "2024-05-06 00:00:00");
    EQ("CAST(' 2024-05-06 ' AS TIMESTAMP)", "2024-05-06 00:00:00");
    EQ("CAST('123456-01-01' AS TIMESTAMP)", "+123456-01-01 00:00:00");
    EQ("CAST('2024-05-06T10:00:00 UTC' AS TIMESTAMP)", "2024-05-06 10:00:00");
    EQ("CAST('2024-05-06T10:00:00GMT' AS TIMESTAMP)", "2024-05-06 10:00:00");
    EQ("CAST('2024-05-06T10:00:00UT' AS TIMESTAMP)", "2024-05-06 10:00:00");
    EQ("CAST('2024-05-06T10:00:00+1' AS TIMESTAMP)", "2024-05-06 09:00:00");
    EQ("CAST('2024-05-06T10:00:00+01' AS TIMESTAMP)", "2024-05-06 09:00:00");
    EQ("CAST('2024-05-06T10:00:00-0130' AS TIMESTAMP)", "2024-05-06 11:30:00");
    EQ("CAST('2024-05-06T10:00:00+1:30' AS TIMESTAMP)", "2024-05-06 08:30:00");
    EQ("CAST('2024-05-06T10:00:00+01:5' AS TIMESTAMP)", "2024-05-06 08:55:00");
    EQ("CAST('2024-05-06T10:00:00+01:30:15' AS TIMESTAMP)", "2024-05-06 08:29:45");
    EQ("CAST('2024-05-06T10:00:00+18:00' AS TIMESTAMP)", "2024-05-05 16:00:00");
    EQ("CAST('2024-05-06T10:00:00GMT+2' AS TIMESTAMP)", "2024-05-06 08:00:00");
    EQ("CAST('2024-05-06T10:00:00 UTC+01:00' AS TIMESTAMP)", "2024-05-06 09:00:00");
    EQ("CAST('2024-05-06T10:00:00UT-3' AS TIMESTAMP)", "2024-05-06 13:00:00");
    EQ("CAST('2024-05-06T10:00:00 Europe/Paris' AS TIMESTAMP)", "2024-05-06 08:00:00");
    EQ("CAST('2024-01-06T10:00:00Europe/Paris' AS TIMESTAMP)", "2024-01-06 09:00:00");
    EQ("CAST('2024-05-06T10:00:00 CET' AS TIMESTAMP)", "2024-05-06 08:00:00");
    EQ("CAST('2024-05-06T10:00:00PST' AS TIMESTAMP)", "2024-05-06 17:00:00");  /* Los_Angeles */
    EQ("CAST('2024-05-06T10:00:00 EST' AS TIMESTAMP)", "2024-05-06 15:00:00"); /* -05:00 */
    EQ("CAST('2024-05-06T10:00:00 IST' AS TIMESTAMP)", "2024-05-06 04:30:00"); /* Kolkata */
    /* a gap moves forward by its length, an overlap takes the earlier offset (ZonedDateTime.of) */
    EQ("CAST('2024-03-31 02:30:00 Europe/Paris' AS TIMESTAMP)", "2024-03-31 01:30:00");
    EQ("CAST('2024-10-27 02:30:00 Europe/Paris' AS TIMESTAMP)", "2024-10-27 00:30:00");
    /* past the file's transitions: its POSIX rule */
    EQ("CAST('2100-07-01 12:00:00 Europe/Paris' AS TIMESTAMP)", "2100-07-01 10:00:00");
    EQ("CAST('2100-01-01 12:00:00 America/New_York' AS TIMESTAMP)", "2100-01-01 17:00:00");
    EQ("CAST('2100-07-01 12:00:00 Australia/Sydney' AS TIMESTAMP)", "2100-07-01 02:00:00");
    EQ("CAST('2100-01-01 12:00:00 Australia/Sydney' AS TIMESTAMP)", "2100-01-01 01:00:00");
    /* a time alone is today's (LocalDate.now in the zone) */
    EQ("date_format(CAST('10:11:12' AS TIMESTAMP), 'HH:mm:ss')", "10:11:12");
    EQ("date_format(CAST('T10' AS TIMESTAMP), 'HH:mm:ss')", "10:00:00");
    EQ("date_format(CAST('10:11:12.5+02:00' AS TIMESTAMP), 'HH:mm:ss.S')", "08:11:12.5");
    EQ("to_timestamp('10:11') IS NOT NULL", "true");
    /* what Spark refuses */
    EQ("CAST('2024-05-06T10:00:00z' AS TIMESTAMP)", "NULL");
    EQ("CAST('2024-05-06T10:00:00,123' AS TIMESTAMP)", "NULL");
    EQ("CAST('2024-05-06t10:00:00' AS TIMESTAMP)", "NULL");
    EQ("CAST('2024-05-06T10:00:00+19:00' AS TIMESTAMP)", "NULL");
    EQ("CAST('2024-05-06T10:00:00+18:01' AS TIMESTAMP)", "NULL");
    EQ("CAST('2024-05-06T10:00:00 Mars/Base' AS TIMESTAMP)", "NULL");
    EQ("CAST('2024-05-06T10:00:00 europe/paris' AS TIMESTAMP)", "NULL");
    EQ("CAST('2024-05-06T10:00:00 posixrules' AS TIMESTAMP)", "NULL");
    EQ("CAST('2024-05-06T10:00:00 ../zoneinfo/UTC' AS TIMESTAMP)", "NULL");
    EQ("CAST('2024-05-06T10:00Z' AS TIMESTAMP)", "NULL");
    EQ("CAST('2024-05-06T' AS TIMESTAMP)", "NULL");
    EQ("CAST('2024-05-06Z' AS TIMESTAMP)", "NULL");
    EQ("CAST('1234567-01-01' AS TIMESTAMP)", "NULL");
    EQ("CAST('10' AS TIMESTAMP)", "NULL");
    EQ("CAST('-10:00' AS TIMESTAMP)", "NULL");
    EQ("CAST('294248-01-01' AS TIMESTAMP)", "NULL"); /* beyond a long of micros */
    EQ("to_timestamp('2024-05-06 10:00:00 +01:00')", "2024-05-06 09:00:00");
}
END_TEST

/* date_format's offset letters as java.time prints a zero offset (the session zone is UTC), and
   a year beyond 9999 with its sign. */
START_TEST(offset_letters_and_big_years)
{
    EQ("date_format(ts, 'X')", "Z");
    EQ("date_format(ts, 'XXX')", "Z");
    EQ("date_format(ts, 'x')", "+00");
    EQ("date_format(ts, 'xx')", "+0000");
    EQ("date_format(ts, 'xxx')", "+00:00");
    EQ("date_format(ts, 'xxxx')", "+0000");
    EQ("date_format(ts, 'xxxxx')", "+00:00");
    EQ("date_format(ts, 'Z')", "+0000");
    EQ("date_format(ts, 'ZZZ')", "+0000");
    EQ("date_format(ts, 'ZZZZ')", "GMT");
    EQ("date_format(ts, 'ZZZZZ')", "Z");
    EQ("CAST(CAST('+10000-01-01' AS DATE) AS STRING)", "+10000-01-01");
    EQ("CAST(CAST('-0044-03-15' AS DATE) AS STRING)", "-0044-03-15");
    EQ("CAST(CAST('10000-01-01 10:00:00' AS TIMESTAMP) AS STRING)", "+10000-01-01 10:00:00");
    EQ("date_format(CAST('10000-01-01' AS TIMESTAMP), 'yyyy-MM-dd')", "+10000-01-01");
    EQ("date_format(CAST('10000-01-01' AS TIMESTAMP), 'y')", "10000");
}
END_TEST

/* The API issue 12 uses: parse an aggregate's text, find the call, compile its argument (and a
   group_by expression) into the same program; count(*) is a STAR argument. */
START_TEST(aggregate_arguments_compile)
{
    lk_batch *b = make_batch();
    lk_sql_program *p = lk_sql_program_new(lk_batch_schema(b));
    lk_error err;
    lk_sql_ast *ast = NULL;
    ck_assert_int_eq(lk_sql_parse("sum(d * 2)", 0, &ast, &err), 0);
    lk_sql_node *call = lk_sql_ast_root(ast);
    ck_assert_int_eq(call->kind, LK_SQL_CALL);
    ck_assert_str_eq(call->name, "sum");
    ck_assert_int_eq(lk_sql_check_is_function("sum"), 0); /* an aggregate: the caller's to handle */
    int arg, key;
    ck_assert_int_eq(lk_sql_program_compile_node(p, ast, call->args[0], NULL, &arg, &err), 0);
    ck_assert_int_eq(lk_sql_program_compile(p, "upper(st.os)", NULL, &key, NULL, &err), 0);
    lk_sql_ast *star = NULL;
    ck_assert_int_eq(lk_sql_parse("count(*)", 0, &star, &err), 0);
    ck_assert_int_eq(lk_sql_ast_root(star)->args[0]->kind, LK_SQL_STAR);
    lk_sql_ast *dist = NULL;
    ck_assert_int_eq(lk_sql_parse("approx_count_distinct(DISTINCT s)", 0, &dist, &err), 0);
    ck_assert_int_eq(lk_sql_ast_root(dist)->distinct, 1);
    ck_assert_int_eq(lk_sql_program_run(p, b, 0, &err), 0);
    ck_assert(lk_col_f64(lk_sql_program_result(p, arg), 0) == 5.0);
    size_t n;
    ck_assert(!memcmp(lk_col_bytes(lk_sql_program_result(p, key), 0, &n), "IOS", 3));
    lk_sql_ast_destroy(&star);
    lk_sql_ast_destroy(&dist);
    lk_sql_program_destroy(&p);
    lk_batch_destroy(&b);
}
END_TEST

/* Nested implicit casts compile each operand once (fuzz_sql, issue 17): "1+2||3+4||..." is
   ((1+2)||3)+4...: every level casts the level below to STRING then to DOUBLE, and the planner
   compiled a cast's operand twice, so the code doubled with each level (14 levels: 46,976
   registers, minutes). 41 levels now make about 6 instructions a level. */
START_TEST(nested_casts_compile_linearly)
{
    lk_batch *b = make_batch();
    lk_sql_program *p = lk_sql_program_new(lk_batch_schema(b));
    lk_error err;
    lk_buf e = LK_BUF_INIT;
    lk_buf_puts(&e, "1+2");
    for (int i = 0; i < 40; i++)
        lk_buf_printf(&e, "||%d+%d", i % 10, (i + 3) % 10);
    int reg;
    ck_assert_int_eq(lk_sql_program_compile(p, e.data, NULL, &reg, NULL, &err), 0);
    ck_assert_int_le(lk_sql_program_size(p), 41 * 8); /* 241 instructions */
    ck_assert_int_eq(lk_sql_program_run(p, b, 0, &err), 0);
    lk_buf_free(&e);
    lk_sql_program_destroy(&p);
    lk_batch_destroy(&b);
}
END_TEST

/* A chain of binary operators as deep as the nesting bound allows compiles; deeper is refused
   at parse time with its position (fuzz_sql: 1,793 bytes of "l-88 -7 % 7 -8 ..." overflowed the
   stack in the checker's recursion). */
START_TEST(operator_chains_are_bounded)
{
    lk_batch *b = make_batch();
    lk_error err;
    /* 199 operators is the deepest allowed: it compiles and runs within the stack of a build
       without optimisation under ASan too (the type rules' large frame is off the recursion) */
    static const int ns[] = {150, 199, 5000};
    for (size_t k = 0; k < 3; k++) {
        int n = ns[k];
        lk_buf e = LK_BUF_INIT;
        lk_buf_puts(&e, "1");
        for (int i = 0; i < n; i++)
            lk_buf_puts(&e, i % 3 ? " - 1" : " % 7");
        lk_sql_program *p = lk_sql_program_new(lk_batch_schema(b));
        int reg, rc = lk_sql_program_compile(p, e.data, NULL, &reg, NULL, &err);
        if (n < 200) {
            ck_assert_msg(rc == 0, "%s", err.msg);
            ck_assert_int_eq(lk_sql_program_run(p, b, 0, &err), 0);
        } else {
            ck_assert_int_eq(rc, LK_EFORMAT);
            ck_assert_msg(strstr(err.msg, "nested too deeply") && strstr(err.msg, "position"), "%s",
                          err.msg);
        }
        lk_sql_program_destroy(&p);
        lk_buf_free(&e);
    }
    lk_batch_destroy(&b);
}
END_TEST

/* DECIMAL arithmetic is exact, with Spark's result types (DecimalPrecision: allowPrecisionLoss),
   HALF_UP rounding and null beyond the precision; the values are Spark 3.5's. DuckDB computes
   the same values for + - * and comparisons; its decimal division and round give doubles. */
START_TEST(decimals)
{
    EQ("0.1 + 0.2", "0.3"); /* as doubles: 0.30000000000000004 */
    EQ("CAST(0.1 AS DOUBLE) + CAST(0.2 AS DOUBLE)", "0.30000000000000004");
    EQ("1.10 + 2.205", "3.305");
    EQ("1.10 - 2.205", "-1.105");
    EQ("1.5 + 1", "2.5");
    EQ("dec * 2", "246.90"); /* decimal(10,2) * decimal(1,0): decimal(12,2) */
    EQ("dec + 0.005", "123.455");
    EQ("dec - l", "-9999999876.55");
    EQ("dec / 3", "41.150000"); /* scale max(6, s1 + p2 + 1) */
    EQ("2.0 / 3", "0.666667");  /* HALF_UP */
    EQ("-2.0 / 3", "-0.666667");
    EQ("10.5 / 3", "3.500000");
    EQ("1 / 0.0", "NULL"); /* division by zero: null */
    EQ("CAST(1 AS DECIMAL(38,0)) / 3", "0.333333"); /* (44,6) adjusted to (38,6) */
    EQ("7.5 % 2", "1.5");
    EQ("-7.5 % 2", "-1.5"); /* the dividend's sign */
    EQ("7.5 div 2.5", "3");
    EQ("1.5 div 0.5", "3"); /* exact, not 1 div 0 */
    EQ("1.5 div 0", "NULL");
    EQ("-(1.50)", "-1.50");
    EQ("abs(-1.50)", "1.50");
    EQ("round(9.95, 1)", "10.0");
    EQ("round(-9.95, 1)", "-10.0");
    EQ("round(dec, 1)", "123.5");
    EQ("round(dec, -1)", "120");
    EQ("round(dec, 5)", "123.45");
    EQ("floor(-0.5)", "-1");
    EQ("ceil(-0.5)", "0");
    EQ("ceil(dec)", "124");
    /* products and sums beyond 128 bits before rounding to the (adjusted) result type */
    EQ("CAST(1234567890123.1234567891 AS DECIMAL(38,10)) * "
       "CAST(9876543210.9876543211 AS DECIMAL(38,10))",
       "12193263113698887352513.526900");
    EQ("CAST(123456789012345678.12 AS DECIMAL(20,2)) * CAST(1000.01 AS DECIMAL(20,2))",
       "123458023580235801576.7812");
    EQ("CAST(1 AS DECIMAL(38,0)) + CAST(0.0000005 AS DECIMAL(38,37))", "1.000001");
    EQ("CAST(99999999999999999999999999999999999999 AS DECIMAL(38,0)) + 1", "NULL"); /* overflow */
    EQ("CAST(12345678901234567890.1 AS DECIMAL(38,1)) / CAST(0.0003 AS DECIMAL(10,4))",
       "41152263004115226300333.333333");
    /* comparisons and branches in the common decimal type */
    EQ("1.10 = 1.1", "true");
    EQ("CAST(2 AS DECIMAL(10,2)) > 1.999", "true");
    EQ("dec > 123.449", "true");
    EQ("1.5 IN (1.50, 2)", "true");
    EQ("2 BETWEEN 1.5 AND 2.00", "true");
    EQ("coalesce(NULL, 1.5, 2)", "1.5");
    EQ("if(true, 1.25, 10)", "1.25");
    EQ("CASE WHEN false THEN 1.5 ELSE 3 END", "3.0");
    EQ("greatest(1.5, 2.25, 1)", "2.25");
    EQ("least(dec, 200)", "123.45");
    EQ("nullif(1.50, 1.5)", "NULL");
    /* a double in the expression makes it a double */
    EQ("1.5 + CAST(1 AS DOUBLE)", "2.5");
    EQ("d * 0.92", "2.3000000000000003");
    /* casts: exact text, HALF_UP to the scale, null beyond the precision */
    EQ("CAST('1.005' AS DECIMAL(10,2))", "1.01");
    EQ("CAST(1.005D AS DECIMAL(10,2))", "1.01"); /* through Double.toString: 1.005 */
    EQ("CAST('12345678901234567890.125' AS DECIMAL(30,2))", "12345678901234567890.13");
    EQ("CAST(' 1e2 ' AS DECIMAL(5,1))", "100.0");
    EQ("CAST('-0.000' AS DECIMAL(5,1))", "0.0");
    EQ("CAST('abc' AS DECIMAL(5,1))", "NULL");
    EQ("CAST('1.2.3' AS DECIMAL(5,1))", "NULL");
    EQ("CAST(123.45 AS DECIMAL(4,2))", "NULL");
    EQ("CAST(123.45 AS DECIMAL(4,0))", "123");
    EQ("CAST(l AS DECIMAL(20,2))", "10000000000.00");
    EQ("CAST(i AS DECIMAL(1,0))", "7");
    EQ("CAST(1.5 AS INT)", "1");
    EQ("CAST(-1.5 AS BIGINT)", "-1");
    EQ("CAST(0.1 AS DOUBLE)", "0.1");
    EQ("CAST(CAST('12345678901234567.89' AS DECIMAL(20,2)) AS STRING)", "12345678901234567.89");
    EQ("CAST(CAST('12345678901234567.89' AS DECIMAL(20,2)) AS DOUBLE)", "1.2345678901234568E16");
    EQ_NULLROW("dec * 2", "NULL");
    /* result types: Spark's */
    TY("dec * 2", "decimal(12,2)");
    TY("dec / 3", "decimal(14,6)");
    TY("dec + l", "decimal(23,2)"); /* a BIGINT is DECIMAL(20,0) */
    TY("1.5 * 2", "decimal(4,1)");
    TY("d * 0.92", "double");
    TY("CAST(1 AS DECIMAL(38,10)) * CAST(1 AS DECIMAL(38,10))", "decimal(38,6)");
    TY("coalesce(dec, 0)", "decimal(12,2)"); /* an integer is DECIMAL(10,0) when widened */
    TY("if(b, dec, 1)", "decimal(12,2)");
    TY("greatest(dec, 1.5)", "decimal(10,2)");
    TY("round(dec, 1)", "decimal(10,1)");
    TY("round(dec, -1)", "decimal(9,0)");
    TY("round(CAST(99 AS DECIMAL(2,0)), -2)", "decimal(3,0)");
    EQ("round(CAST(99 AS DECIMAL(2,0)), -2)", "100");
    TY("floor(dec)", "decimal(9,0)");
    TY("7.5 div 2.5", "long");
    /* nullif(a, b) is if(a = b, null, a): a's value and type */
    TY("nullif(1.5, 2.25)", "decimal(2,1)");
    EQ("nullif(1.5, 2.25)", "1.5");
    EQ("nullif('5', 5)", "NULL");
    EQ("nullif('05', 6)", "05"); /* the string itself, not the int it was compared as */
    EQ("nullif('5', 5.0)", "NULL");
    EQ("nullif(1, 2.5D)", "1");
    TY("nullif(i, 2.5D)", "integer");
    /* round's scale: an INT; far beyond the digits it changes nothing, or gives 0 */
    ERR("round(dec, 3000000000)", "the scale of round must be an INT");
    EQ("round(dec, -2000000000)", "0");
    EQ("round(dec, 1000)", "123.45");
    /* floor(x, d) and ceil(x, d) (Spark 3.3's RoundFloor/RoundCeil): x as a decimal (an INT
       (10,0), a DOUBLE (30,15), a string (38,18)), the type as round's, FLOOR/CEILING */
    EQ("ceil(3.1411, 3)", "3.142"); /* Spark's documented examples */
    EQ("ceil(3.1411, -3)", "1000");
    EQ("floor(3.1411, 3)", "3.141");
    EQ("floor(3.1411, -3)", "0");
    TY("ceil(3.1411, 3)", "decimal(5,3)");
    TY("ceil(3.1411, -3)", "decimal(4,0)");
    EQ("ceil(9.95, 1)", "10.0");
    EQ("floor(-9.95, 1)", "-10.0");
    TY("floor(-9.95, 1)", "decimal(3,1)");
    EQ("floor(-3.1411, 2)", "-3.15");
    EQ("ceil(-3.1411, 2)", "-3.14");
    EQ("floor(-0.1, 0)", "-1");
    EQ("ceil(-0.1, 0)", "0");
    TY("ceil(-0.1, 0)", "decimal(1,0)");
    EQ("ceil(1.5, 5)", "1.5");
    TY("ceil(1.5, 5)", "decimal(3,1)");
    EQ("ceil(99, -1)", "100");
    TY("ceil(99, -1)", "decimal(11,0)");
    EQ("floor(l, -10)", "10000000000");
    TY("floor(l, -10)", "decimal(21,0)");
    EQ("floor(-l, -11)", "-100000000000");
    EQ("floor(d, 0)", "2");
    TY("floor(d, 1)", "decimal(17,1)");
    EQ("ceil(-2.55D, 1)", "-2.5");
    EQ("floor(-2.55D, 1)", "-2.6");
    EQ("floor('3.789', 2)", "3.78");
    TY("floor('3.789', 2)", "decimal(23,2)");
    EQ("ceil(dec, 1)", "123.5");
    EQ("ceil(dec, -2000000000)", "NULL"); /* 10^2000000000: beyond DECIMAL(38,0) */
    EQ("floor(dec, -2000000000)", "0");
    EQ("ceiling(dec, 1)", "123.5");
    EQ_NULLROW("floor(dec, 1)", "NULL");
    ERR("floor(dec, 1L)", "the scale of floor must be an INT literal");
    ERR("ceil(dec, NULL)", "the scale of ceil must be an INT literal");
    ERR("ceil(dec, i)", "the scale of ceil must be an INT literal");
    ERR("ceil('a', 1, 2)", "ceil");
    /* the text of a decimal: Java's BigDecimal.toString, as Spark's cast */
    EQ("CAST(0.00000001 AS STRING)", "1E-8");
    EQ("CAST(CAST(0 AS DECIMAL(10,8)) AS STRING)", "0E-8");
    EQ("CAST(-0.00000015 AS STRING)", "-1.5E-7");
    EQ("CAST(0.0000015 AS STRING)", "0.0000015");
    EQ("CAST(1.000001 AS TIMESTAMP)", "1970-01-01 00:00:01.000001"); /* exact */
    EQ("from_json('{\"a\":0.1}', 'a DECIMAL(38,10)').a", "0.1000000000");
    EQ("from_json('{\"a\":1.005}', 'a DECIMAL(5,2)').a", "1.01");
    EQ("from_json('{\"a\":1000.5}', 'a DECIMAL(5,2)').a", "NULL");
    EQ("-9223372036854775808", "-9223372036854775808");
    TY("-9223372036854775808", "long");
    /* the longest number a literal may be (127 characters), negated */
    EQ("-00000000000000000000000000000000000000000000000000000000000000"
       "000000000000000000000000000000000000000000000000000000000000001.5",
       "-1.5");
}
END_TEST

/* A decimal result beyond its precision is null and failed (ANSI mode raises): on_error sees it,
   as a failed cast. */
/* Spark keeps TINYINT, SMALLINT and FLOAT through arithmetic and branches (numeric precedence:
   the wider operand's type), wrapping integers as Java does and rounding floats once. */
START_TEST(narrow_types_keep_their_type)
{
    TY("sh + sh", "short");
    TY("sh + 1", "integer");
    TY("sh * 2L", "long");
    TY("CAST(1 AS TINYINT) + CAST(2 AS TINYINT)", "byte");
    TY("CAST(1 AS TINYINT) - sh", "short");
    TY("f * 2", "float");
    TY("f + 2L", "float");
    TY("f % 2", "float");
    TY("f * d", "double");
    TY("f / 2", "double");
    TY("f + 0.5", "double");
    TY("f + '1'", "double");
    TY("-sh", "short");
    TY("abs(f)", "float");
    TY("coalesce(f, f)", "float");
    TY("coalesce(sh, 1)", "integer");
    TY("if(b, sh, CAST(1 AS TINYINT))", "short");
    TY("CASE WHEN b THEN f ELSE 1 END", "float");
    TY("greatest(sh, sh)", "short");
    EQ("CAST(127 AS TINYINT) + CAST(1 AS TINYINT)", "-128");
    EQ("CAST(32767 AS SMALLINT) * CAST(2 AS SMALLINT)", "-2");
    EQ("-CAST(-128 AS TINYINT)", "-128");
    EQ("abs(CAST(-128 AS TINYINT))", "-128");
    EQ("CAST(7 AS TINYINT) % CAST(0 AS TINYINT)", "NULL");
    EQ("sh - 1", "-4");
    /* 0.1f * 3 in float is 0.3f; in double it was 0.30000000447034836 */
    EQ("f * 3", "0.3");
    EQ("f + 2L", "2.1");
    /* a bigint made a float before the sum, as Spark's cast: 2^24 + 1 is not a float */
    EQ("CAST(0 AS FLOAT) + 16777217L", "1.6777216E7");
    EQ("coalesce(f, 1)", "0.1");
    EQ_NULLROW("sh + sh", "NULL");
}
END_TEST

/* sha2 and md5 digest a repeated input once per batch (lk_sql_hash.c's memo): every row's digest
   is the one of a batch too small for the memo, for unique inputs first (the memo gives up),
   repeats, nulls, and more distinct inputs than the memo holds. */
START_TEST(digests_of_repeated_inputs)
{
    lk_schema *s = NULL;
    lk_error err = {0};
    ck_assert_int_eq(lk_ddl_parse("s STRING", &s, &err), 0);
    static const char *exprs[] = {"sha2(s, 256)", "md5(s)", "sha2(s, 512)"};
    lk_sql_program *big = lk_sql_program_new(s), *small = lk_sql_program_new(s);
    int rb[3], rs[3];
    for (int e = 0; e < 3; e++) {
        ck_assert_int_eq(lk_sql_program_compile(big, exprs[e], NULL, &rb[e], NULL, &err), 0);
        ck_assert_int_eq(lk_sql_program_compile(small, exprs[e], NULL, &rs[e], NULL, &err), 0);
    }
    enum { N = 80000, SMALL = 50 }; /* the memo runs for 64 rows and more */
    for (int round = 0; round < 2; round++) {
        lk_batch *b = lk_batch_new(s);
        for (int i = 0; i < N; i++) {
            char v[32];
            int k = round == 0 ? (i < 3000 ? 100000 + i : i % 50)
                               : (i < 40000 ? i % 1000 : 200000 + i);
            if (i % 17 == 0)
                lk_col_append_null(lk_batch_col(b, 0));
            else
                lk_col_append_bytes(lk_batch_col(b, 0), v, (size_t)snprintf(v, sizeof v, "v%d", k));
        }
        lk_batch_set_nrows(b, N);
        ck_assert_int_eq(lk_sql_program_run(big, b, 0, &err), 0);
        lk_batch *part = lk_batch_new(s);
        for (int i0 = 0; i0 < N; i0 += SMALL) {
            lk_batch_reset(part);
            lk_col_append_range(lk_batch_col(part, 0), lk_batch_col_const(b, 0), (uint32_t)i0,
                                SMALL);
            lk_batch_set_nrows(part, SMALL);
            ck_assert_int_eq(lk_sql_program_run(small, part, 0, &err), 0);
            for (int e = 0; e < 3; e++) {
                const lk_col *x = lk_sql_program_result(big, rb[e]),
                             *y = lk_sql_program_result(small, rs[e]);
                for (int i = 0; i < SMALL; i++) {
                    ck_assert_int_eq(lk_col_is_null(x, (uint32_t)(i0 + i)),
                                     lk_col_is_null(y, (uint32_t)i));
                    if (lk_col_is_null(y, (uint32_t)i))
                        continue;
                    size_t xn, yn;
                    const char *xp = lk_col_bytes(x, (uint32_t)(i0 + i), &xn),
                               *yp = lk_col_bytes(y, (uint32_t)i, &yn);
                    ck_assert_msg(xn == yn && !memcmp(xp, yp, xn), "%s: row %d of round %d",
                                  exprs[e], i0 + i, round);
                }
            }
        }
        lk_batch_destroy(&part);
        lk_batch_destroy(&b);
    }
    lk_sql_program_destroy(&big);
    lk_sql_program_destroy(&small);
    lk_schema_destroy(&s);
}
END_TEST

START_TEST(decimal_overflow_fails)
{
    lk_batch *b = make_batch();
    lk_sql_program *p = lk_sql_program_new(lk_batch_schema(b));
    lk_error err;
    int r1, r2, r3;
    ck_assert_int_eq(lk_sql_program_compile(
                         p, "CAST(99999999999999999999999999999999999999 AS DECIMAL(38,0)) + dec",
                         NULL, &r1, NULL, &err),
                     0);
    ck_assert_int_eq(lk_sql_program_compile(p, "dec / 0", NULL, &r2, NULL, &err), 0);
    ck_assert_int_eq(lk_sql_program_compile(p, "dec * 2", NULL, &r3, NULL, &err), 0);
    ck_assert_int_eq(lk_sql_program_run(p, b, 0, &err), 0);
    const uint8_t *f = lk_sql_program_failed(p, r1);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(f[0] & 3, 1); /* row 0 overflowed; row 1 (null) did not fail */
    ck_assert_ptr_nonnull(lk_sql_program_failed(p, r2));
    ck_assert_ptr_null(lk_sql_program_failed(p, r3));
    lk_sql_program_destroy(&p);
    lk_batch_destroy(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sql");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, literals_and_arithmetic);
    tcase_add_test(tc, logic_and_comparisons);
    tcase_add_test(tc, like_and_regex);
    tcase_add_test(tc, strings);
    tcase_add_test(tc, conditionals);
    tcase_add_test(tc, casts);
    tcase_add_test(tc, time);
    tcase_add_test(tc, math);
    tcase_add_test(tc, json);
    tcase_add_test(tc, errors_and_positions);
    tcase_add_test(tc, failures);
    tcase_add_test(tc, formatting_and_like_helpers);
    tcase_add_test(tc, split_arrays);
    tcase_add_test(tc, arrays_and_maps);
    tcase_add_test(tc, more_functions);
    tcase_add_test(tc, more_time_functions);
    tcase_add_test(tc, impossible_timestamp_text);
    tcase_add_test(tc, spark_timestamp_text);
    tcase_add_test(tc, offset_letters_and_big_years);
    tcase_add_test(tc, aggregate_arguments_compile);
    tcase_add_test(tc, nested_casts_compile_linearly);
    tcase_add_test(tc, operator_chains_are_bounded);
    tcase_add_test(tc, decimals);
    tcase_add_test(tc, decimal_overflow_fails);
    tcase_add_test(tc, digests_of_repeated_inputs);
    tcase_add_test(tc, narrow_types_keep_their_type);
    tcase_add_test(tc, interval_arithmetic);
    tcase_add_test(tc, interval_literals);
    tcase_add_test(tc, json_wildcard);
    tcase_add_test(tc, sql_string_forms);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
