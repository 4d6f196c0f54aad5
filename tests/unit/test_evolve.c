/* Unit tests for workers/ingest/lk_evolve (every schema_evolution_mode, with a
   real state.db) and the transform side: rescued data column renamed or
   disabled, unknown keys dropped (mode none), DROPMALFORMED, FAILFAST,
   decimal coercion. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_config.h"
#include "lk_ddl.h"
#include "lk_evolve.h"
#include "lk_infer.h"
#include "lk_json_reader.h"
#include "lk_state.h"
#include "lk_raw.h"
#include "lk_source_cfg.h"
#include "lk_tables.h"

static lk_schema *ddl(const char *text)
{
    lk_schema *s = NULL;
    lk_error err = {0};
    ck_assert_msg(lk_ddl_parse(text, &s, &err) == 0, "%s", err.msg);
    return s;
}

static void assert_ddl(const lk_schema *s, const char *want)
{
    lk_buf b = LK_BUF_INIT;
    lk_schema_to_ddl(s, &b);
    ck_assert_str_eq(b.data ? b.data : "", want);
    lk_buf_free(&b);
}

START_TEST(scan_finds_new_keys_only)
{
    lk_schema *s = ddl("a LONG, dev STRUCT<os: STRING>, tags ARRAY<STRING>");
    char key[128];
#define SCAN(line) lk_evolve_scan_line(s, "_bad", line, strlen(line), key, sizeof key)
    ck_assert_int_eq(SCAN("{\"a\":1,\"dev\":{\"os\":\"x\"},\"tags\":[\"{\\\"z\\\":1}\"]}"), 0);
    ck_assert_int_eq(SCAN("{\"A\":1}"), 0);            /* case mismatch: rescued, not new */
    ck_assert_int_eq(SCAN("{\"_rescued_data\":1}"), 0); /* reserved */
    ck_assert_int_eq(SCAN("{\"_bad\":1,\"_metadata\":{\"q\":1}}"), 0);
    ck_assert_int_eq(SCAN("{\"x\":{\"_bad\":1}}"), 1); /* reserved only at the top */
    ck_assert_int_eq(SCAN("{\"a\\u0041\":1}"), 0);     /* escaped keys are rescued */
    ck_assert_int_eq(SCAN("{\"a\":1,\"b\":{\"x\":[1,{\"y\":2}]}}"), 1);
    ck_assert_str_eq(key, "b");
    ck_assert_int_eq(SCAN(" { \"dev\" : { \"os\":\"x\", \"model\":\"y\" } }"), 1);
    ck_assert_str_eq(key, "dev.model");
    ck_assert_int_eq(SCAN("{\"dev\":\"not an object\",\"a\":2}"), 0);
    /* the reader fills dev from its first exact key and rescues a repeat or a case variant
       whole: what is inside those is no new column */
    ck_assert_int_eq(SCAN("{\"dev\":{\"os\":\"x\"},\"dev\":{\"model\":\"y\"}}"), 0);
    ck_assert_int_eq(SCAN("{\"DEV\":{\"model\":\"y\"}}"), 0);
    ck_assert_int_eq(SCAN("{\"DEV\":{\"os\":1},\"dev\":{\"model\":\"y\"}}"), 1);
    ck_assert_str_eq(key, "dev.model");
    ck_assert_int_eq(SCAN("{\"a\":\"}\\\"{\",\"c\":1}"), 1); /* braces and quotes in strings */
    ck_assert_str_eq(key, "c");
    /* a key holding a NUL byte (binary input) names no field, and is compared within its
       length: the case-insensitive compare read past a shorter field's name (ASan, fuzz_json) */
    const char nul[] = "{\"a\0\":1}";
    ck_assert_int_eq(lk_evolve_scan_line(s, "_bad", nul, sizeof nul - 1, key, sizeof key), 1);
    ck_assert_int_eq(SCAN("{\"a\":\f1,\"dev\":\v{\"os\":\"x\"}}"), 0); /* yajl's whitespace */
    ck_assert_int_eq(SCAN("{\"dev\":\f{\"model\":\"y\"}}"), 1);
    ck_assert_str_eq(key, "dev.model");
    ck_assert_int_eq(SCAN("{bad"), 0);
    ck_assert_int_eq(SCAN("[1,2]"), 0);
    ck_assert_int_eq(SCAN(""), 0);
#undef SCAN
    lk_schema_destroy(&s);
}
END_TEST

/* The scan skips strings 8 bytes at a time: an escaped quote, an escaped backslash before the
   closing quote, or the closing quote itself at every offset of the 8-byte words must end the
   string exactly where JSON says, and an unclosed string is not well-formed (nothing new). */
START_TEST(scan_skips_strings_at_every_offset)
{
    lk_schema *s = ddl("a STRING, b LONG");
    char key[128];
    for (int pad = 0; pad < 20; pad++) {
        char filler[32];
        memset(filler, 'x', (size_t)pad);
        filler[pad] = '\0';
        const char *tails[] = {"", "\\\"", "\\\\", "\\\\\\\"q", "\\u00e9"};
        for (size_t t = 0; t < sizeof tails / sizeof *tails; t++) {
            char line[256];
            /* the value ends where JSON says: the next key is the new one, named exactly */
            snprintf(line, sizeof line, "{\"a\":\"%s%s\",\"c\":1}", filler, tails[t]);
            ck_assert_msg(lk_evolve_scan_line(s, "_r", line, strlen(line), key, sizeof key) == 1,
                          "%s", line);
            ck_assert_str_eq(key, "c");
            snprintf(line, sizeof line, "{\"a\":\"%s%s\",\"b\":1}", filler, tails[t]);
            ck_assert_msg(lk_evolve_scan_line(s, "_r", line, strlen(line), key, sizeof key) == 0,
                          "%s", line);
            /* a key as long, then a new one; and a string left open */
            snprintf(line, sizeof line, "{\"%s%s\":1}", filler, tails[t]);
            int esc = strchr(tails[t], '\\') != NULL;
            ck_assert_msg(lk_evolve_scan_line(s, "_r", line, strlen(line), key, sizeof key) ==
                              (pad || t ? !esc : 1),
                          "%s", line);
            snprintf(line, sizeof line, "{\"b\":1,\"a\":\"%s%s", filler, tails[t]);
            ck_assert_msg(lk_evolve_scan_line(s, "_r", line, strlen(line), key, sizeof key) == 0,
                          "%s", line);
        }
    }
    /* a quote escaped by an odd number of backslashes does not close the string */
    const char *odd = "{\"a\":\"12345\\\",\"c\":1}";
    ck_assert_int_eq(lk_evolve_scan_line(s, "_r", odd, strlen(odd), key, sizeof key), 0);
    lk_schema_destroy(&s);
}
END_TEST

START_TEST(add_missing_and_hints)
{
    lk_schema *cur = ddl("a LONG, dev STRUCT<os: STRING>");
    lk_schema *add = ddl("A DOUBLE, dev STRUCT<OS: LONG, model: STRING>, c STRING");
    lk_schema_add(add, "C", LK_TYPE_LONG, 1); /* the DDL parser refuses such twins */
    lk_buf added = LK_BUF_INIT;
    lk_schema *m = lk_evolve_add_missing(cur, add, &added);
    assert_ddl(m, "a LONG, dev STRUCT<os: STRING, model: STRING>, c STRING");
    ck_assert_str_eq(added.data, "dev.model string, c string");
    lk_buf_free(&added);
    lk_schema *hints = ddl("a DECIMAL(10,2), z ARRAY<LONG>");
    lk_schema *h = lk_evolve_apply_hints(m, hints, 0);
    assert_ddl(h, "a DECIMAL(10,2), dev STRUCT<os: STRING, model: STRING>, c STRING, z ARRAY<LONG>");
    lk_schema *str = lk_evolve_apply_hints(m, hints, 1);
    assert_ddl(str, "a DECIMAL(10,2), dev STRING, c STRING, z ARRAY<LONG>");
    lk_schema_destroy(&cur);
    lk_schema_destroy(&add);
    lk_schema_destroy(&m);
    lk_schema_destroy(&hints);
    lk_schema_destroy(&h);
    lk_schema_destroy(&str);
}
END_TEST

/* What of schema_hints a stored schema does not take (said by the supervisor at start): a hint
   retyping a column it has, by name in any case, decimals by precision and scale; not a hint
   of the same type, nor one naming a column it lacks (ingest adds that one). */
START_TEST(hints_not_applied_to_stored_columns)
{
    lk_schema *data = ddl("n LONG, a DECIMAL(10,2), s STRING");
    lk_schema *raw = lk_raw_schema_opt(data, "_rescued_data");
    lk_config cfg;
    lk_config_defaults(&cfg);
    snprintf(cfg.source.schema_hints, sizeof cfg.source.schema_hints, "%s",
             "N INT, a DECIMAL(12,2), s STRING, z LONG");
    lk_buf said = LK_BUF_INIT;
    ck_assert_int_eq(lk_source_cfg_hints_not_applied(&cfg, raw, 4, &said), 2);
    ck_assert_str_eq(
        said.data, "schema_hints: column n is long in raw_events version 4; the hint's integer is "
                   "not applied (a column's type never changes: values that do not fit are "
                   "rescued)\n"
                   "schema_hints: column a is decimal in raw_events version 4; the hint's decimal "
                   "is not applied (a column's type never changes: values that do not fit are "
                   "rescued)\n");
    lk_buf_reset(&said);
    cfg.source.schema_hints[0] = '\0';
    ck_assert_int_eq(lk_source_cfg_hints_not_applied(&cfg, raw, 4, &said), 0);
    ck_assert_int_eq(lk_source_cfg_hints_not_applied(&cfg, NULL, 0, &said), 0);
    ck_assert_int_eq((int)said.len, 0);
    lk_buf_free(&said);
    lk_schema_destroy(&raw);
    lk_schema_destroy(&data);
}
END_TEST

static char g_dir[256], g_db[512];
static lk_config g_cfg;
static lk_state *g_st;

static lk_evolve *open_evolve(const char *mode, const char *hints)
{
    lk_config_defaults(&g_cfg);
    snprintf(g_cfg.source.schema_evolution_mode, sizeof g_cfg.source.schema_evolution_mode, "%s",
             mode);
    snprintf(g_cfg.source.schema_hints, sizeof g_cfg.source.schema_hints, "%s", hints);
    lk_error err = {0};
    if (!g_st) {
        lk_check_mkdtemp(g_dir, sizeof g_dir, "evolve");
        snprintf(g_db, sizeof g_db, "%s/state.db", g_dir);
        ck_assert_int_eq(lk_state_open(g_db, &g_st, &err), 0);
    }
    return lk_evolve_new(&g_cfg, g_st);
}

static void close_all(void)
{
    lk_state_close(&g_st);
    unlink(g_db);
    rmdir(g_dir);
}

static void assert_latest(int version, const char *want)
{
    lk_schema *raw = NULL;
    int v = 0;
    lk_error err = {0};
    ck_assert_int_eq(lk_state_schema_get(g_st, LK_TABLE_RAW, &raw, &v, &err), 0);
    ck_assert_int_eq(v, version);
    lk_schema *data = lk_raw_data_schema(raw);
    assert_ddl(data, want);
    lk_schema_destroy(&data);
    lk_schema_destroy(&raw);
}

static const char *CHUNK = "{\"id\":1}\n"
                           "{\"id\":2,\"Id\":3}\n"
                           "\n"
                           "{\"id\":3,\"color\":\"red\",\"dev\":{\"os\":\"x\",\"model\":\"m\"}}\n";

START_TEST(mode_add_new_columns)
{
    lk_evolve *ev = open_evolve("add_new_columns", "color STRING, size DOUBLE");
    lk_error err = {0};
    int v = 0;
    ck_assert_int_eq(lk_evolve_load(ev, &v, &err), 0);
    ck_assert_int_eq(v, 0);
    lk_schema *inferred = ddl("id LONG, dev STRUCT<os: STRING>");
    lk_schema_add(inferred, "ID", LK_TYPE_STRING, 1); /* a key seen in two cases */
    ck_assert_int_eq(lk_evolve_initial(ev, inferred, &v, &err), 0);
    ck_assert_int_eq(v, 1);
    assert_latest(1, "id LONG, dev STRUCT<os: STRING>, color STRING, size DOUBLE");
    /* color is hinted (known): only dev.model is new, found on line 12 */
    ck_assert_int_eq(lk_evolve_chunk(ev, CHUNK, strlen(CHUNK), "/in/a.jsonl", 9, &v, &err), 0);
    ck_assert_int_eq(v, 2);
    assert_latest(2, "id LONG, dev STRUCT<os: STRING, model: STRING>, color STRING, size DOUBLE");
    /* a replay of the same bytes changes nothing */
    ck_assert_int_eq(lk_evolve_chunk(ev, CHUNK, strlen(CHUNK), "/in/a.jsonl", 9, &v, &err), 0);
    ck_assert_int_eq(v, 2);
    const char *more = "{\"id\":4,\"n\":1}\n{\"id\":5,\"n\":2.5,\"flag\":true}\n";
    ck_assert_int_eq(lk_evolve_chunk(ev, more, strlen(more), "/in/b.jsonl", 1, &v, &err), 0);
    ck_assert_int_eq(v, 3);
    assert_latest(3, "id LONG, dev STRUCT<os: STRING, model: STRING>, color STRING, size DOUBLE, "
                     "n DOUBLE, flag BOOLEAN");
    lk_evolve_destroy(&ev);
    ck_assert_ptr_null(ev);
    lk_schema_destroy(&inferred);
    close_all();
}
END_TEST

/* Hostile keys never become columns (issue 17): a line that is not well-formed UTF-8 (its
   key 'k\xc0\xaf' became a column whose name the schema JSON wrote as 'k\ufffd' like other such
   keys: record batches no longer decoded), a line of more than LK_INFER_MAX_KEYS keys (100,000
   took minutes to infer: ingest was killed for silence, again and again), and past
   LK_EVOLVE_MAX_FIELDS fields no key at all. */
/* A batch's first reading: ingest scans a chunk's first and last lines only (lk_evolve_sample);
   a key there makes it scan the chunk whole. A key only in the middle is the transforms' to note.
   Nothing under rescue. */
/* add_new_columns over a first schema of one column, id LONG (version 1). */
static lk_evolve *open_with_id(void)
{
    lk_evolve *ev = open_evolve("add_new_columns", "");
    lk_error err = {0};
    int v = 0;
    ck_assert_int_eq(lk_evolve_load(ev, &v, &err), 0);
    lk_schema *inferred = ddl("id LONG");
    ck_assert_int_eq(lk_evolve_initial(ev, inferred, &v, &err), 0);
    ck_assert_int_eq(v, 1);
    lk_schema_destroy(&inferred);
    return ev;
}

START_TEST(sample_looks_at_each_end_of_a_chunk)
{
    lk_evolve *ev = open_with_id();
    lk_error err = {0};
    int v = 0;
    for (int at = 0; at < 40; at++)
        for (int nl_end = 0; nl_end < 2; nl_end++) {
            lk_buf b = LK_BUF_INIT;
            for (int k = 0; k < 40; k++)
                lk_buf_printf(&b, k == at ? "{\"id\":%d,\"new\":1}" : "{\"id\":%d}", k),
                    lk_buf_puts(&b, k < 39 || nl_end ? "\n" : "");
            int want = at < 4 || at >= 36;
            ck_assert_msg(lk_evolve_sample(ev, b.data, b.len, 4) == want, "new key on line %d", at);
            lk_buf_free(&b);
        }
    ck_assert_int_eq(lk_evolve_sample(ev, "{\"id\":1,\"x\":2}", 14, 4), 1); /* one line */
    ck_assert_int_eq(lk_evolve_sample(ev, "", 0, 4), 0);
    lk_evolve_destroy(&ev);
    ev = open_evolve("rescue", "");
    ck_assert_int_eq(lk_evolve_load(ev, &v, &err), 0);
    ck_assert_int_eq(lk_evolve_sample(ev, "{\"id\":1,\"x\":2}\n", 15, 4), 0);
    lk_evolve_destroy(&ev);
    close_all();
}
END_TEST

START_TEST(hostile_keys_never_become_columns)
{
    lk_evolve *ev = open_with_id();
    lk_error err = {0};
    int v = 1;
    const char *bad = "{\"id\":1,\"k\xc0\xaf\":1}\n{\"id\":2,\"k\xed\xa0\x80\":1}\n{\"id\":3,\"k\xff\":1}\n";
    ck_assert_int_eq(lk_evolve_chunk(ev, bad, strlen(bad), "/in/a.jsonl", 1, &v, &err), 0);
    ck_assert_int_eq(v, 1);
    lk_buf wide = LK_BUF_INIT;
    lk_buf_puts(&wide, "{\"id\":4");
    for (int i = 0; i < 100000; i++)
        lk_buf_printf(&wide, ",\"w%d\":%d", i, i);
    lk_buf_puts(&wide, "}\n");
    ck_assert_int_eq(lk_evolve_chunk(ev, wide.data, wide.len, "/in/b.jsonl", 1, &v, &err), 0);
    ck_assert_int_eq(v, 1);
    assert_latest(1, "id LONG");
    /* up to the field limit in lines of 1000 keys, then no more */
    int added = 0;
    for (int round = 0; round < LK_EVOLVE_MAX_FIELDS / LK_INFER_MAX_KEYS + 2; round++) {
        lk_buf_reset(&wide);
        lk_buf_puts(&wide, "{\"id\":5");
        for (int i = 0; i < LK_INFER_MAX_KEYS - 1; i++)
            lk_buf_printf(&wide, ",\"r%d_%d\":%d", round, i, i);
        lk_buf_puts(&wide, "}\n");
        int before = v;
        ck_assert_int_eq(lk_evolve_chunk(ev, wide.data, wide.len, "/in/c.jsonl", 1, &v, &err), 0);
        added += v > before;
    }
    ck_assert_int_eq(added, (LK_EVOLVE_MAX_FIELDS - 1) / (LK_INFER_MAX_KEYS - 1));
    lk_buf_free(&wide);
    lk_evolve_destroy(&ev);
    close_all();
}
END_TEST

START_TEST(mode_fail_on_new_columns_then_hints)
{
    lk_evolve *ev = open_evolve("fail_on_new_columns", "");
    lk_error err = {0};
    int v = 0;
    lk_schema *inferred = ddl("id LONG");
    ck_assert_int_eq(lk_evolve_initial(ev, inferred, &v, &err), 0);
    ck_assert_int_eq(lk_evolve_chunk(ev, CHUNK, strlen(CHUNK), "/in/a.jsonl", 9, &v, &err),
                     LK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "new column 'color' at file=/in/a.jsonl line=12"), "%s",
                  err.msg);
    ck_assert_int_eq(v, 1);
    assert_latest(1, "id LONG");
    lk_evolve_destroy(&ev);
    /* the user adds the columns as hints: loading stores them, the chunk passes */
    ev = open_evolve("fail_on_new_columns", "color STRING, dev STRUCT<os: STRING, model: STRING>");
    ck_assert_int_eq(lk_evolve_load(ev, &v, &err), 0);
    ck_assert_int_eq(v, 2);
    assert_latest(2, "id LONG, color STRING, dev STRUCT<os: STRING, model: STRING>");
    ck_assert_int_eq(lk_evolve_chunk(ev, CHUNK, strlen(CHUNK), "/in/a.jsonl", 9, &v, &err), 0);
    ck_assert_int_eq(v, 2);
    lk_evolve_destroy(&ev);
    lk_schema_destroy(&inferred);
    close_all();
}
END_TEST

/* csv header names: new ones found (not reserved, not equal but for case),
   added by add_new_columns, an error under fail_on_new_columns */
START_TEST(csv_header_columns)
{
    lk_evolve *ev = open_evolve("add_new_columns", "amount DOUBLE");
    lk_error err = {0};
    int v = 0;
    lk_schema *inferred = ddl("id LONG, name STRING");
    ck_assert_int_eq(lk_evolve_initial(ev, inferred, &v, &err), 0);
    ck_assert_int_eq(v, 1);
    static const char names[] = "ID\0_rescued_data\0name\0color\0amount\0size";
    char first[64] = "";
    ck_assert_int_eq(lk_evolve_new_names(ev, names, 6, first, sizeof first), 2);
    ck_assert_str_eq(first, "color");
    lk_schema *found = ddl("ID LONG, name STRING, color STRING, amount LONG, size LONG");
    ck_assert_int_eq(lk_evolve_columns(ev, found, "/in/b.csv", 1, &v, &err), 0);
    ck_assert_int_eq(v, 2);
    assert_latest(2, "id LONG, name STRING, amount DOUBLE, color STRING, size LONG");
    ck_assert_int_eq(lk_evolve_new_names(ev, names, 6, first, sizeof first), 0);
    /* the same header again: nothing new */
    ck_assert_int_eq(lk_evolve_columns(ev, found, "/in/c.csv", 1, &v, &err), 0);
    ck_assert_int_eq(v, 2);
    lk_evolve_destroy(&ev);
    close_all();
    ev = open_evolve("fail_on_new_columns", "");
    ck_assert_int_eq(lk_evolve_initial(ev, inferred, &v, &err), 0);
    ck_assert_int_eq(lk_evolve_columns(ev, found, "/in/b.csv", 1, &v, &err), LK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "new column 'color' at file=/in/b.csv line=1"), "%s", err.msg);
    assert_latest(1, "id LONG, name STRING");
    lk_evolve_destroy(&ev);
    close_all();
    ev = open_evolve("rescue", "");
    ck_assert_int_eq(lk_evolve_initial(ev, inferred, &v, &err), 0);
    ck_assert_int_eq(lk_evolve_new_names(ev, names, 6, first, sizeof first), 0);
    ck_assert_int_eq(lk_evolve_columns(ev, found, "/in/b.csv", 1, &v, &err), 0);
    assert_latest(1, "id LONG, name STRING");
    lk_evolve_destroy(&ev);
    close_all();
    lk_schema_destroy(&found);
    lk_schema_destroy(&inferred);
}
END_TEST

/* arrays of structs: a new element field is new (add_new_columns evolves
   the element struct); arrays of arrays too; other elements are skipped */
START_TEST(array_of_struct_elements_evolve)
{
    lk_schema *s = ddl("items ARRAY<STRUCT<a: LONG>>, m ARRAY<ARRAY<STRUCT<x: LONG>>>, "
                       "tags ARRAY<STRING>");
    char key[128];
#define SCAN(line) lk_evolve_scan_line(s, "_rescued_data", line, strlen(line), key, sizeof key)
    ck_assert_int_eq(SCAN("{\"items\":[{\"a\":1},{\"A\":2}],\"m\":[[{\"x\":1}],[]]}"), 0);
    ck_assert_int_eq(SCAN("{\"items\":[],\"m\":null,\"tags\":[\"{\\\"q\\\":1}\"]}"), 0);
    ck_assert_int_eq(SCAN("{\"items\":[\"s\", 3, null, [1]]}"), 0); /* mismatches: rescued */
    ck_assert_int_eq(SCAN("{\"items\":[{\"a\":1} , { \"a\":2, \"sku\" : \"x\"}]}"), 1);
    ck_assert_str_eq(key, "items.sku");
    ck_assert_int_eq(SCAN("{\"m\":[[{\"x\":1}],[{\"x\":2,\"y\":{\"z\":1}}]]}"), 1);
    ck_assert_str_eq(key, "m.y");
    ck_assert_int_eq(SCAN("{\"items\":[{\"a\":1},{\"a\":2}],\"after\":1}"), 1);
    ck_assert_str_eq(key, "after");
    ck_assert_int_eq(SCAN("{\"items\":[{\"a\":1}"), 0); /* cut short: not well-formed */
#undef SCAN
    lk_buf added = LK_BUF_INIT;
    lk_schema *add = ddl("items ARRAY<STRUCT<a: LONG, sku: STRING, q: STRUCT<n: LONG>>>, "
                         "m ARRAY<ARRAY<STRUCT<x: LONG, y: DOUBLE>>>, tags ARRAY<LONG>");
    lk_schema *out = lk_evolve_add_missing(s, add, &added);
    assert_ddl(out, "items ARRAY<STRUCT<a: LONG, sku: STRING, q: STRUCT<n: LONG>>>, "
                    "m ARRAY<ARRAY<STRUCT<x: LONG, y: DOUBLE>>>, tags ARRAY<STRING>");
    ck_assert_str_eq(added.data, "items.sku string, items.q struct, m.y double");
    lk_buf_free(&added);
    lk_schema_destroy(&out);
    lk_schema_destroy(&add);
    lk_schema_destroy(&s);
    /* with state.db: add_new_columns stores the wider element; rescue never does */
    const char *chunk = "{\"id\":1,\"items\":[{\"a\":1}]}\n"
                        "{\"id\":2,\"items\":[{\"a\":2},{\"a\":3,\"sku\":\"k3\"}]}\n";
    const char *modes[] = {"add_new_columns", "rescue"};
    for (int i = 0; i < 2; i++) {
        lk_evolve *ev = open_evolve(modes[i], "");
        lk_error err = {0};
        int v = 0;
        lk_schema *inferred = ddl("id LONG, items ARRAY<STRUCT<a: LONG>>");
        ck_assert_int_eq(lk_evolve_initial(ev, inferred, &v, &err), 0);
        ck_assert_int_eq(lk_evolve_chunk(ev, chunk, strlen(chunk), "/in/a.jsonl", 1, &v, &err), 0);
        if (i == 0) {
            ck_assert_int_eq(v, 2);
            assert_latest(2, "id LONG, items ARRAY<STRUCT<a: LONG, sku: STRING>>");
        } else {
            ck_assert_int_eq(v, 1);
            assert_latest(1, "id LONG, items ARRAY<STRUCT<a: LONG>>");
        }
        lk_schema_destroy(&inferred);
        lk_evolve_destroy(&ev);
        close_all();
    }
}
END_TEST

START_TEST(modes_rescue_and_none_never_change)
{
    const char *modes[] = {"rescue", "none"};
    for (int i = 0; i < 2; i++) {
        lk_evolve *ev = open_evolve(modes[i], "");
        lk_error err = {0};
        int v = 0;
        ck_assert_int_eq(lk_evolve_load(ev, &v, &err), 0);
        if (v == 0) {
            lk_schema *inferred = ddl("id LONG");
            ck_assert_int_eq(lk_evolve_initial(ev, inferred, &v, &err), 0);
            lk_schema_destroy(&inferred);
        }
        ck_assert_int_eq(lk_evolve_chunk(ev, CHUNK, strlen(CHUNK), "/in/a.jsonl", 1, &v, &err), 0);
        ck_assert_int_eq(v, 1);
        assert_latest(1, "id LONG");
        lk_evolve_destroy(&ev);
    }
    close_all();
}
END_TEST

START_TEST(user_schema_and_infer_column_types)
{
    lk_evolve *ev = open_evolve("rescue", "b DECIMAL(5,1)");
    lk_evolve_destroy(&ev);
    snprintf(g_cfg.source.schema_ddl, sizeof g_cfg.source.schema_ddl, "a LONG, b STRING");
    ck_assert_int_eq(lk_source_cfg_evolve_mode(&g_cfg), LK_EVOLVE_RESCUE);
    ev = lk_evolve_new(&g_cfg, g_st);
    ck_assert(lk_evolve_has_user_schema(ev));
    lk_error err = {0};
    int v = 0;
    lk_schema *inferred = ddl("x LONG");
    ck_assert_int_eq(lk_evolve_initial(ev, inferred, &v, &err), 0);
    assert_latest(1, "a LONG, b DECIMAL(5,1)");
    lk_evolve_destroy(&ev);
    close_all();
    ev = open_evolve("add_new_columns", "");
    g_cfg.source.infer_column_types = 0;
    ck_assert_int_eq(lk_evolve_initial(ev, inferred, &v, &err), 0);
    assert_latest(1, "x STRING");
    const char *line = "{\"x\":1,\"y\":{\"z\":2}}\n";
    ck_assert_int_eq(lk_evolve_chunk(ev, line, strlen(line), "f", 1, &v, &err), 0);
    assert_latest(2, "x STRING, y STRING");
    lk_evolve_destroy(&ev);
    lk_schema_destroy(&inferred);
    close_all();
}
END_TEST

START_TEST(rescued_column_name_is_the_stored_one)
{
    lk_evolve *ev = open_evolve("add_new_columns", "");
    lk_error err = {0};
    int v = 0;
    lk_schema *inferred = ddl("id LONG");
    ck_assert_int_eq(lk_evolve_initial(ev, inferred, &v, &err), 0);
    lk_evolve_destroy(&ev);
    /* the config renames the column later: new versions keep the table's name */
    ev = open_evolve("add_new_columns", "");
    snprintf(g_cfg.source.rescued_data_column, sizeof g_cfg.source.rescued_data_column, "_bad");
    lk_evolve_destroy(&ev);
    ev = lk_evolve_new(&g_cfg, g_st);
    ck_assert_int_eq(lk_evolve_load(ev, &v, &err), 0);
    const char *line = "{\"id\":1,\"z\":2,\"_bad\":3}\n";
    ck_assert_int_eq(lk_evolve_chunk(ev, line, strlen(line), "f", 1, &v, &err), 0);
    ck_assert_int_eq(v, 2);
    lk_schema *raw = NULL;
    ck_assert_int_eq(lk_state_schema_get(g_st, LK_TABLE_RAW, &raw, &v, &err), 0);
    int ri = lk_raw_rescued_index(raw);
    ck_assert_int_eq(ri, 3);
    ck_assert_str_eq(lk_schema_field(raw, ri)->name, "_rescued_data");
    lk_schema_destroy(&raw);
    /* _bad is not the table's rescued column: an input key like any other */
    assert_latest(2, "id LONG, z LONG, _bad LONG");
    lk_evolve_destroy(&ev);
    lk_schema_destroy(&inferred);
    close_all();
}
END_TEST

/* ---- transform side ---- */

static lk_batch *parse(const char *data_ddl, const char *rescued, lk_json_options opt,
                       const char *text, lk_raw_stats *st, int *rc, lk_error *err)
{
    lk_schema *data = ddl(data_ddl);
    lk_schema *raw = lk_raw_schema_opt(data, rescued);
    lk_batch *b = lk_batch_new(raw);
    lk_json_reader *r = lk_json_reader_new();
    lk_json_reader_set_options(r, &opt);
    lk_source_meta meta = {"/in/f.jsonl", "f.jsonl", 100, 0};
    memset(st, 0, sizeof *st);
    *rc = lk_json_reader_parse(r, text, strlen(text), &meta, 1000, b, st, err);
    lk_json_reader_destroy(&r);
    lk_schema_destroy(&raw);
    lk_schema_destroy(&data);
    return b;
}

static const char *str_at(const lk_batch *b, int col, uint32_t row)
{
    static char buf[512];
    const lk_col *c = lk_batch_col_const(b, col);
    if (lk_col_is_null(c, row))
        return NULL;
    size_t n;
    const char *p = lk_col_bytes(c, row, &n);
    snprintf(buf, sizeof buf, "%.*s", (int)n, p);
    return buf;
}

static const char *MIX = "{\"a\":1,\"b\":\"x\",\"new\":{\"k\":[1]}}\n"
                         "not json\n"
                         "{\"a\":\"nan\",\"B\":2}\n"
                         "{\"a\":3,\"m\":\"12.50\"}\n";

START_TEST(rescued_column_renamed_or_disabled)
{
    lk_raw_stats st;
    lk_error err = {0};
    int rc;
    lk_batch *b = parse("a LONG, b STRING", "_bad", (lk_json_options){0}, MIX, &st, &rc, &err);
    ck_assert_int_eq(rc, 0);
    const lk_schema *s = lk_batch_schema(b);
    ck_assert_int_eq(lk_raw_rescued_index(s), 2);
    ck_assert_str_eq(lk_schema_field(s, 2)->name, "_bad");
    ck_assert_int_eq((int)st.rows, 4);
    ck_assert_int_eq((int)st.rescued, 3);
    ck_assert_int_eq((int)st.corrupt, 1);
    ck_assert_str_eq(str_at(b, 2, 0), "{\"new\":{\"k\":[1]},\"_file_path\":\"/in/f.jsonl\"}");
    ck_assert_str_eq(str_at(b, 2, 2), "{\"a\":\"nan\",\"B\":2,\"_file_path\":\"/in/f.jsonl\"}");
    /* processed_events keeps the renamed column */
    lk_schema *ps = lk_tables_processed_schema(s);
    ck_assert_int_ge(lk_schema_find(ps, "_bad"), 0);
    ck_assert_int_lt(lk_schema_find(ps, "_rescued_data"), 0);
    lk_batch *p = lk_batch_new(ps);
    ck_assert_int_eq(lk_tables_to_processed(b, 0, p, &err), 0);
    ck_assert_int_eq((int)lk_batch_nrows(p), 3);
    ck_assert_str_eq(str_at(p, lk_schema_find(ps, "_bad"), 1),
                     "{\"a\":\"nan\",\"B\":2,\"_file_path\":\"/in/f.jsonl\"}");
    lk_batch_destroy(&p);
    lk_schema_destroy(&ps);
    lk_batch_destroy(&b);

    b = parse("a LONG, b STRING", "", (lk_json_options){0}, MIX, &st, &rc, &err);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(lk_raw_rescued_index(lk_batch_schema(b)), -1);
    ck_assert_int_eq(lk_batch_ncols(b), 4);
    ck_assert_int_eq((int)st.rows, 4);
    ck_assert_int_eq((int)st.corrupt, 1);
    ck_assert_str_eq(str_at(b, 2, 1), "not json");
    ps = lk_tables_processed_schema(lk_batch_schema(b));
    p = lk_batch_new(ps);
    ck_assert_int_eq(lk_tables_to_processed(b, 0, p, &err), 0);
    ck_assert_int_eq((int)lk_batch_nrows(p), 3);
    lk_batch_destroy(&p);
    lk_schema_destroy(&ps);
    lk_batch_destroy(&b);
}
END_TEST

START_TEST(drop_unknown_keeps_mismatches_and_case)
{
    lk_raw_stats st;
    lk_error err = {0};
    int rc;
    lk_batch *b = parse("a LONG, b STRING", "_rescued_data", (lk_json_options){.mode = LK_JSON_PERMISSIVE, .drop_unknown = 1},
                        MIX, &st, &rc, &err);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_null(str_at(b, 2, 0)); /* "new" dropped */
    ck_assert_str_eq(str_at(b, 2, 2), "{\"a\":\"nan\",\"B\":2,\"_file_path\":\"/in/f.jsonl\"}");
    ck_assert_ptr_null(str_at(b, 2, 3)); /* "m" dropped */
    ck_assert_int_eq((int)st.rescued, 1);
    lk_batch_destroy(&b);
}
END_TEST

/* The transforms note new keys while they parse (lk_json_options.note_new_keys), and ingest's
   scan then runs only on a batch's second reading: a line that parses has a key the reader notes
   exactly when the scan finds one, and the first noted is the one the scan names, with the fast
   scanner and with yajl; a line that does not parse has none noted (the scan may name one, but
   inference takes nothing from such a line, so it never becomes a column). */
START_TEST(reader_notes_the_keys_the_scan_finds)
{
    const char *schema = "a LONG, dev STRUCT<os: STRING>, tags ARRAY<STRING>, "
                         "items ARRAY<STRUCT<x: LONG>>";
    const char *lines[] = {
        "{\"a\":1,\"dev\":{\"os\":\"x\"},\"tags\":[\"{\\\"z\\\":1}\"]}",
        "{\"A\":1}",
        "{\"_rescued_data\":1}",
        "{\"_bad\":1,\"_metadata\":{\"q\":1}}",
        "{\"x\":{\"_bad\":1}}",
        "{\"a\":1,\"b\":{\"x\":[1,{\"y\":2}]}}",
        " { \"dev\" : { \"os\":\"x\", \"model\":\"y\" } }",
        "{\"dev\":\"not an object\",\"a\":2}",
        "{\"dev\":{\"os\":\"x\"},\"dev\":{\"model\":\"y\"}}",
        "{\"DEV\":{\"model\":\"y\"}}",
        "{\"DEV\":{\"os\":1},\"dev\":{\"model\":\"y\"}}",
        "{\"a\":\"}\\\"{\",\"c\":1}",
        "{bad",
        "[1,2]",
        "{\"a\":1,\"new\":}",
        "{\"items\":[{\"x\":1},{\"x\":2,\"y\":3}]}",
        "{\"items\":[{\"X\":1}],\"a\":null}",
        "{\"a\":1,\"n\":null}",
        "{\"a\":1,\"a\":2,\"dev\":{\"os\":\"x\",\"os\":\"y\"}}",
        "{\"dev\":1,\"dev\":{\"os\":\"x\",\"model\":\"y\"}}", /* a repeat, filled: no descent */
        "{\"col\\u006fr\":1,\"a\":2}",                        /* escaped: never a column */
        "{\"a\":1,\"new\":{\"x\":1},\"new\":{\"y\":2}}",
        "{\"items\":[{\"x\":1,\"x\":{\"q\":1}}],\"dev\":{\"DEV\":1,\"model\":2}}",
        /* an escaped key naming a column, then the plain one with a new field (the review's
           fuzzer): the scan looks into the plain one; the reader notes the line for ingest */
        "{\"\\u0064ev\":1,\"dev\":{\"model\":\"red\"}}",
        "{\"\\u0064ev\":{\"os\":\"x\"},\"dev\":{\"os\":\"y\",\"color\":1}}",
    };
    lk_schema *data = ddl(schema);
    lk_schema *raw = lk_raw_schema_opt(data, "_bad");
    for (int fast = 0; fast < 2; fast++)
        for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
            char key[128];
            int found = lk_evolve_scan_line(data, "_bad", lines[i], strlen(lines[i]), key,
                                            sizeof key);
            lk_batch *b = lk_batch_new(raw);
            lk_json_reader *r = lk_json_reader_new();
            lk_json_reader_set_options(r, &(lk_json_options){.note_new_keys = 1});
            lk_json_reader_set_fast(r, fast);
            lk_source_meta meta = {"/in/f.jsonl", "f.jsonl", 100, 0};
            lk_raw_stats st = {0};
            lk_error err;
            ck_assert_int_eq(lk_json_reader_parse(r, lines[i], strlen(lines[i]), &meta, 0, b, &st,
                                                  &err),
                             0);
            if (st.corrupt)
                found = 0;
            ck_assert_msg((st.new_keys > 0) == found, "%s (fast %d): scan %d, reader %lld",
                          lines[i], fast, found, (long long)st.new_keys);
            if (found && !strstr(lines[i], "\\u")) /* an escaped column: its own name */
                ck_assert_str_eq(st.new_key_names[0], key);
            lk_json_reader_destroy(&r);
            lk_batch_destroy(&b);
        }
    /* several lines: each key once, in the order met, array indices left out, line of the first */
    const char *text = "{\"a\":1}\n{\"a\":2,\"new\":1}\n{\"items\":[{\"y\":1},{\"y\":2}]}\n"
                       "{\"new\":3,\"dev\":{\"model\":\"m\"}}\n{\"a\\u0062\":1}\n";
    lk_batch *b = lk_batch_new(raw);
    lk_json_reader *r = lk_json_reader_new();
    lk_json_reader_set_options(r, &(lk_json_options){.note_new_keys = 1});
    lk_source_meta meta = {"/in/f.jsonl", "f.jsonl", 100, 0};
    lk_raw_stats st = {0};
    lk_error err;
    ck_assert_int_eq(lk_json_reader_parse(r, text, strlen(text), &meta, 0, b, &st, &err), 0);
    ck_assert_int_eq((int)st.new_key_line, 2);
    ck_assert_int_eq((int)st.new_keys, 5);
    ck_assert_int_eq(st.n_new_key_names, 3); /* the escaped key of line 5 is not noted */
    ck_assert_str_eq(st.new_key_names[0], "new");
    ck_assert_str_eq(st.new_key_names[1], "items.y");
    ck_assert_str_eq(st.new_key_names[2], "dev.model");
    ck_assert_int_eq((int)st.rescued, 4);       /* the rows are as without noting */
    lk_json_reader_destroy(&r);
    lk_batch_destroy(&b);
    lk_schema_destroy(&raw);
    lk_schema_destroy(&data);
}
END_TEST

START_TEST(dropmalformed_and_failfast)
{
    lk_raw_stats st;
    lk_error err = {0};
    int rc;
    lk_batch *b = parse("a LONG, b STRING", "_rescued_data", (lk_json_options){.mode = LK_JSON_DROPMALFORMED},
                        MIX, &st, &rc, &err);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq((int)lk_batch_nrows(b), 3);
    ck_assert_int_eq((int)st.dropped, 1);
    ck_assert_int_eq((int)st.corrupt, 0);
    ck_assert_int_eq(lk_col_i64(lk_batch_col_const(b, 0), 2), 3);
    lk_batch_destroy(&b);
    b = parse("a LONG, b STRING", "_rescued_data", (lk_json_options){.mode = LK_JSON_FAILFAST}, MIX, &st,
              &rc, &err);
    ck_assert_int_eq(rc, LK_EFORMAT);
    ck_assert_int_eq((int)st.failed_line, 2);
    ck_assert_msg(strstr(err.msg, "malformed record (mode: FAILFAST) at file=/in/f.jsonl offset=1032"),
                  "%s", err.msg);
    lk_batch_destroy(&b);
}
END_TEST

START_TEST(decimal_coercion)
{
    lk_raw_stats st;
    lk_error err = {0};
    int rc;
    const char *text = "{\"m\":12.5}\n{\"m\":\"7.25\"}\n{\"m\":1.234}\n{\"m\":-0.10}\n"
                       "{\"m\":123456789}\n{\"m\":1e2}\n{\"m\":\"x\"}\n{\"m\":12345678.99}\n";
    lk_batch *b = parse("m DECIMAL(10,2)", "_rescued_data", (lk_json_options){0}, text, &st, &rc,
                        &err);
    ck_assert_int_eq(rc, 0);
    const lk_col *m = lk_batch_col_const(b, 0);
    ck_assert_int_eq(lk_col_i64(m, 0), 1250);
    ck_assert_int_eq(lk_col_i64(m, 1), 725);
    ck_assert(lk_col_is_null(m, 2)); /* lossy: rescued */
    ck_assert_int_eq(lk_col_i64(m, 3), -10);
    ck_assert(lk_col_is_null(m, 4)); /* 11 digits > precision 10 */
    ck_assert(lk_col_is_null(m, 5)); /* exponent: rescued */
    ck_assert(lk_col_is_null(m, 6));
    ck_assert_int_eq(lk_col_i64(m, 7), 1234567899);
    ck_assert_int_eq((int)st.rescued, 4);
    ck_assert_str_eq(str_at(b, 1, 2), "{\"m\":1.234,\"_file_path\":\"/in/f.jsonl\"}");
    lk_batch_destroy(&b);
    /* precision > 18: 16 big-endian bytes, exact from numbers and strings */
    text = "{\"m\":1234567890123456789012345678.0123456789}\n"
           "{\"m\":\"-0.0000000001\"}\n{\"m\":1.00000000001}\n{\"m\":1e40}\n"
           "{\"m\":[1]}\n{\"m\":12}\n";
    b = parse("m DECIMAL(38,10)", "_rescued_data", (lk_json_options){0}, text, &st, &rc, &err);
    ck_assert_int_eq(rc, 0);
    m = lk_batch_col_const(b, 0);
    ck_assert_int_eq(m->elem_size, 16);
    lk_buf t = LK_BUF_INIT;
    const char *want[] = {"1234567890123456789012345678.0123456789", "-0.0000000001", NULL, NULL,
                          NULL, "12.0000000000"};
    for (uint32_t i = 0; i < 6; i++) {
        if (!want[i]) {
            ck_assert(lk_col_is_null(m, i));
            continue;
        }
        lk_buf_reset(&t);
        lk_buf_decimal_be(&t, (const unsigned char *)m->values + (size_t)i * 16, 16, 10);
        ck_assert_str_eq(t.data, want[i]);
    }
    lk_buf_free(&t);
    ck_assert_int_eq((int)st.rescued, 3);
    ck_assert_str_eq(str_at(b, 1, 2), "{\"m\":1.00000000001,\"_file_path\":\"/in/f.jsonl\"}");
    lk_batch_destroy(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("evolve");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, scan_finds_new_keys_only);
    tcase_add_test(tc, scan_skips_strings_at_every_offset);
    tcase_add_test(tc, add_missing_and_hints);
    tcase_add_test(tc, hints_not_applied_to_stored_columns);
    tcase_add_test(tc, mode_add_new_columns);
    tcase_add_test(tc, hostile_keys_never_become_columns);
    tcase_add_test(tc, mode_fail_on_new_columns_then_hints);
    tcase_add_test(tc, modes_rescue_and_none_never_change);
    tcase_add_test(tc, csv_header_columns);
    tcase_add_test(tc, array_of_struct_elements_evolve);
    tcase_add_test(tc, user_schema_and_infer_column_types);
    tcase_add_test(tc, rescued_column_name_is_the_stored_one);
    tcase_add_test(tc, rescued_column_renamed_or_disabled);
    tcase_add_test(tc, drop_unknown_keeps_mismatches_and_case);
    tcase_add_test(tc, reader_notes_the_keys_the_scan_finds);
    tcase_add_test(tc, sample_looks_at_each_end_of_a_chunk);
    tcase_add_test(tc, dropmalformed_and_failfast);
    tcase_add_test(tc, decimal_coercion);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
