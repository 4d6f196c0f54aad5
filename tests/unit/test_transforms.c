/* Unit tests for pipeline/lk_transforms and lk_tables: every step and option
   on a batch, quarantine and rescue rows, errors with file, line, key and
   position, the table order of lk_tables_names, and the default list
   against the silver it replaced: the hand-written function of before is
   kept below, verbatim, as the oracle, and both must give the same batch
   (schema and every value) over generated data with corrupt lines, bad
   timestamps, nested structs and a renamed rescued column. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_config.h"
#include "lk_ddl.h"
#include "lk_json_reader.h"
#include "lk_msg.h"
#include "lk_raw.h"
#include "lk_rowjson.h"
#include "lk_tables.h"
#include "lk_time.h"
#include "lk_transforms.h"

/* ---- the silver of before (pipeline/lk_tables.c until issue 13), the oracle ---- */
/* ts as a string (cast here) or already a TIMESTAMP (a schema hint) */
static int is_ts(const lk_field *f)
{
    return !strcmp(f->name, "ts") && (f->type == LK_TYPE_STRING || f->type == LK_TYPE_TIMESTAMP);
}

static lk_schema *legacy_schema(const lk_schema *raw)
{
    lk_schema *s = lk_schema_new();
    int n = lk_raw_ndata(raw);
    for (int i = 0; i < n; i++) {
        const lk_field *f = lk_schema_field(raw, i);
        if (is_ts(f)) {
            lk_schema_add(s, "ts", LK_TYPE_TIMESTAMP, 1);
            if (lk_schema_find(raw, "event_date") < 0)
                lk_schema_add(s, "event_date", LK_TYPE_DATE, 1);
        } else if (f->type == LK_TYPE_STRUCT) {
            for (int k = 0; k < f->n_children; k++) {
                char name[512];
                snprintf(name, sizeof name, "%s_%s", f->name, f->children[k].name);
                if (lk_schema_find(s, name) >= 0 || lk_schema_find(raw, name) >= 0)
                    continue; /* a top-level column of that name wins */
                lk_field_copy_children(lk_schema_add(s, name, f->children[k].type, 1),
                                       &f->children[k]);
            }
        } else {
            lk_field_copy_children(lk_schema_add(s, f->name, f->type, 1), f);
        }
    }
    int rc = lk_raw_rescued_index(raw);
    if (rc >= 0) lk_schema_add_copy(s, lk_schema_field(raw, rc));
    lk_schema_add(s, "processed_at", LK_TYPE_TIMESTAMP, 1);
    return s;
}

/* Appends the rescued JSON for row i plus {"ts": text} when ts failed. */
static void rescued_with_ts(const lk_col *rescued, uint32_t i, const char *ts, size_t tsn,
                            lk_col *out, lk_buf *tmp)
{
    lk_buf_reset(tmp);
    if (!lk_col_is_null(rescued, i)) {
        size_t n;
        const char *p = lk_col_bytes(rescued, i, &n);
        if (n >= 2 && p[n - 1] == '}') {
            lk_buf_append(tmp, p, n - 1);
            lk_buf_puts(tmp, ",\"ts\":");
        } else {
            lk_buf_puts(tmp, "{\"ts\":");
        }
    } else {
        lk_buf_puts(tmp, "{\"ts\":");
    }
    lk_buf_json_string(tmp, ts, tsn);
    lk_buf_putc(tmp, '}');
    lk_col_append_bytes(out, tmp->data, tmp->len);
}

static int legacy_to_processed(const lk_batch *raw, int64_t processed_at_us, lk_batch *out,
                               lk_error *err)
{
    const lk_schema *rs = lk_batch_schema(raw);
    int n = lk_raw_ndata(rs);
    int c_resc = lk_raw_rescued_index(rs), c_corr = lk_schema_find(rs, LK_RAW_CORRUPT);
    if (c_corr < 0) return lk_error_set(err, -22, "not a raw_events batch");
    const lk_col *corrupt = lk_batch_col_const(raw, c_corr);
    const lk_col *rescued = c_resc >= 0 ? lk_batch_col_const(raw, c_resc) : NULL;
    uint32_t rows = lk_batch_nrows(raw);
    int ts_in = -1, ts_out = lk_schema_find(lk_batch_schema(out), "ts");
    int date_out = lk_schema_find(rs, "event_date") < 0
                       ? lk_schema_find(lk_batch_schema(out), "event_date")
                       : -1;
    for (int i = 0; i < n; i++)
        if (is_ts(lk_schema_field(rs, i))) ts_in = i;
    int o_resc =
        rescued ? lk_schema_find(lk_batch_schema(out), lk_schema_field(rs, c_resc)->name) : -1;
    int o_proc = lk_schema_find(lk_batch_schema(out), "processed_at");
    lk_buf tmp = LK_BUF_INIT;
    uint32_t base = lk_batch_nrows(out);
    /* copy runs of valid (non-corrupt) rows column by column */
    uint32_t r = 0;
    while (r < rows) {
        while (r < rows && !lk_col_is_null(corrupt, r))
            r++;
        uint32_t start = r;
        while (r < rows && lk_col_is_null(corrupt, r))
            r++;
        uint32_t count = r - start;
        if (!count) continue;
        int o = 0;
        for (int i = 0; i < n; i++) {
            const lk_field *f = lk_schema_field(rs, i);
            const lk_col *src = lk_batch_col_const(raw, i);
            if (i == ts_in) {
                o++;
                continue; /* row by row below */
            }
            if (f->type == LK_TYPE_STRUCT) {
                for (int k = 0; k < f->n_children; k++) {
                    char name[512];
                    snprintf(name, sizeof name, "%s_%s", f->name, f->children[k].name);
                    int oi = lk_schema_find(lk_batch_schema(out), name);
                    if (oi < 0 || lk_schema_find(rs, name) >= 0) continue;
                    /* a null struct already holds nulls in every child */
                    lk_col_append_range(lk_batch_col(out, oi), &src->children[k], start, count);
                    o++;
                }
                continue;
            }
            int oi = lk_schema_find(lk_batch_schema(out), f->name);
            if (oi >= 0) lk_col_append_range(lk_batch_col(out, oi), src, start, count);
            o++;
        }
        (void)o;
        lk_col *od = o_resc >= 0 ? lk_batch_col(out, o_resc) : NULL;
        uint32_t pend = start; /* rescued values [pend, j) still to copy in one range */
        for (uint32_t j = start; j < start + count; j++) {
            int ts_failed = 0;
            const char *tsp = NULL;
            size_t tsn = 0;
            if (ts_in >= 0 && ts_out >= 0) {
                const lk_col *src = lk_batch_col_const(raw, ts_in);
                lk_col *dst = lk_batch_col(out, ts_out);
                int64_t us;
                lk_col *dd = date_out >= 0 ? lk_batch_col(out, date_out) : NULL;
                if (lk_col_is_null(src, j)) {
                    lk_col_append_null(dst);
                    if (dd) lk_col_append_null(dd);
                } else if (src->field->type == LK_TYPE_TIMESTAMP) {
                    us = lk_col_i64(src, j);
                    lk_col_append_i64(dst, us);
                    if (dd)
                        lk_col_append_i32(dd, (int32_t)(us >= 0 ? us / 86400000000LL
                                                                : (us + 1) / 86400000000LL - 1));
                } else {
                    tsp = lk_col_bytes(src, j, &tsn);
                    if (lk_time_parse_iso(tsp, tsn, &us) == 0) {
                        lk_col_append_i64(dst, us);
                        if (dd) /* the UTC day of ts */
                            lk_col_append_i32(dd,
                                              (int32_t)(us >= 0 ? us / 86400000000LL
                                                                : (us + 1) / 86400000000LL - 1));
                    } else {
                        lk_col_append_null(dst);
                        if (dd) lk_col_append_null(dd);
                        ts_failed = 1;
                    }
                }
            }
            /* without a rescued data column the ts text stays in raw_events */
            if (od && ts_failed) {
                lk_col_append_range(od, rescued, pend, j - pend);
                rescued_with_ts(rescued, j, tsp, tsn, od, &tmp);
                pend = j + 1;
            }
            lk_col_append_i64(lk_batch_col(out, o_proc), processed_at_us);
        }
        if (od) lk_col_append_range(od, rescued, pend, start + count - pend);
    }
    uint32_t total = base;
    for (uint32_t j = 0; j < rows; j++)
        total += lk_col_is_null(corrupt, j);
    lk_batch_set_nrows(out, total);
    for (int i = 0; i < lk_batch_ncols(out); i++)
        lk_col_pad(lk_batch_col(out, i), total);
    lk_buf_free(&tmp);
    return 0;
}

/* ---- helpers ---- */

static char g_path[256];

static int load(const char *text, lk_config *cfg, lk_error *err)
{
    lk_check_write_file(g_path, sizeof g_path, "cfg", text);
    int rc = lk_config_load(g_path, cfg, err);
    unlink(g_path);
    return rc;
}

/* A raw_events batch parsed from JSON lines (the transform's reader). */
static lk_batch *parse(const char *ddl, const char *rescued, const char *lines)
{
    lk_schema *data = NULL;
    lk_error err;
    ck_assert_int_eq(lk_ddl_parse(ddl, &data, &err), 0);
    lk_schema *raw = lk_raw_schema_opt(data, rescued);
    lk_batch *b = lk_batch_new(raw);
    lk_json_reader *r = lk_json_reader_new();
    lk_source_meta meta = {"/in/a.jsonl", "a.jsonl", 100, 1795512600000000LL};
    lk_raw_stats st = {0};
    ck_assert_int_eq(lk_json_reader_parse(r, lines, strlen(lines), &meta, 0, b, &st, &err), 0);
    lk_json_reader_destroy(&r);
    lk_schema_destroy(&data);
    lk_schema_destroy(&raw);
    return b;
}

static void row(const lk_batch *b, uint32_t i, char *out, size_t cap)
{
    lk_buf j = LK_BUF_INIT;
    lk_rowjson_append(b, i, &j);
    snprintf(out, cap, "%s", j.data);
    lk_buf_free(&j);
}

START_TEST(default_list_equals_the_silver_of_before)
{
    /* lk_gen-like rows plus every edge of the old code: corrupt lines, a ts that does not parse
       (with and without rescued data already), a null struct, a flattened name that collides */
    static const char *lines =
        "{\"event_id\":\"e1\",\"user_id\":1,\"ts\":\"2026-11-24T09:30:00.123Z\",\"amount\":1.5,"
        "\"device\":{\"os\":\"ios\",\"version\":\"17\"},\"message\":\"caf\\u00e9\"}\n"
        "not json\n"
        "{\"event_id\":\"e2\",\"user_id\":\"x\",\"ts\":\"yesterday\",\"device\":null}\n"
        "{\"event_id\":\"e3\",\"ts\":\"soon\",\"amount\":2}\n"
        "{\"event_id\":\"e4\",\"ts\":\"1969-12-31T23:59:59.999Z\",\"device\":{\"os\":\"linux\"},"
        "\"device_os\":\"top-level wins\"}\n"
        "[1,2]\n"
        "{\"event_id\":\"e5\",\"ts\":null,\"amount\":-0.0,\"extra\":[1]}\n";
    const char *ddls[] = {
        ("event_id STRING, user_id LONG, ts STRING, amount DOUBLE, "
         "device STRUCT<os: STRING, version: STRING>, message STRING, device_os STRING"),
        "event_id STRING, ts TIMESTAMP, amount DOUBLE",
        "event_id STRING, amount DOUBLE, device STRUCT<os: STRING>",
        "event_id STRING, ts LONG, event_date STRING"};
    const char *rescued[] = {"_rescued_data", "_bad", NULL};
    for (size_t d = 0; d < sizeof ddls / sizeof ddls[0]; d++)
        for (size_t r = 0; r < 3; r++) {
            lk_batch *raw = parse(ddls[d], rescued[r], lines);
            lk_schema *os = legacy_schema(lk_batch_schema(raw));
            lk_schema *ns = lk_tables_processed_schema(lk_batch_schema(raw));
            lk_buf a = LK_BUF_INIT, b = LK_BUF_INIT;
            lk_schema_to_json(os, &a);
            lk_schema_to_json(ns, &b);
            if (d != 3) /* 3: an event_date column in the input: see below */
                ck_assert_msg(!strcmp(a.data, b.data), "schema %zu/%zu:\nbefore %s\nnow    %s", d,
                              r, a.data, b.data);
            lk_batch *ob = lk_batch_new(os), *nb = lk_batch_new(ns);
            lk_error err;
            ck_assert_int_eq(legacy_to_processed(raw, 1795512600000000LL, ob, &err), 0);
            ck_assert_int_eq(lk_tables_to_processed(raw, 1795512600000000LL, nb, &err), 0);
            ck_assert_uint_eq(lk_batch_nrows(ob), lk_batch_nrows(nb));
            for (uint32_t i = 0; d != 3 && i < lk_batch_nrows(ob); i++) {
                char x[2048], y[2048];
                row(ob, i, x, sizeof x);
                row(nb, i, y, sizeof y);
                ck_assert_msg(!strcmp(x, y), "row %u (%zu/%zu):\nbefore %s\nnow    %s", i, d, r, x,
                              y);
            }
            lk_buf_free(&a);
            lk_buf_free(&b);
            lk_batch_destroy(&ob);
            lk_batch_destroy(&nb);
            lk_schema_destroy(&os);
            lk_schema_destroy(&ns);
            lk_batch_destroy(&raw);
        }
}
END_TEST

/* A list compiled over raw, run over raw: the processed batch. */
static lk_tables *tables_of(const char *yml, lk_batch *raw, lk_error *err)
{
    lk_config cfg;
    ck_assert_msg(load(yml, &cfg, err) == 0, "%s", err->msg);
    lk_tables *t = NULL;
    if (lk_tables_new(&cfg, lk_batch_schema(raw), &t, err)) return NULL;
    ck_assert_int_eq(lk_tables_run(t, raw, 1795512600000000LL, 7, err), 0);
    return t;
}

START_TEST(steps_and_options)
{
    static const char *lines = "{\"a\":1,\"s\":\"x\",\"st\":{\"p\":1,\"q\":\"z\"},\"n\":\"12\"}\n"
                               "{\"a\":2,\"s\":\"y\",\"st\":{\"p\":2,\"q\":\"w\"},\"n\":\"oops\"}\n"
                               "{\"a\":3,\"s\":null,\"n\":\"7\"}\n";
    lk_batch *raw =
        parse("a LONG, s STRING, st STRUCT<p: INT, q: STRING>, n STRING", "_rescued_data", lines);
    lk_error err;
    char r0[2048];
    lk_tables *t = tables_of("transforms:\n"
                             "  - filter: \"a >= 2 OR s = 'x'\"\n"
                             "  - derive: {b: \"a * 10\", a: \"a + 1\", c: \"b + a\"}\n"
                             "  - derive: {first: \"upper(s)\", second: \"lower(s)\"}\n"
                             "    after: a\n"
                             "  - cast: {n: int}\n"
                             "  - rename: {s: t}\n"
                             "  - flatten: [st]\n"
                             "  - drop: [nothere, st_q]\n",
                             raw, &err);
    ck_assert_ptr_nonnull(t);
    lk_batch *p = lk_tables_batch(t, 1);
    lk_buf ddl = LK_BUF_INIT;
    lk_schema_to_ddl(lk_batch_schema(p), &ddl);
    /* derive replaces in place and appends before the rescued column; after: places; processed_at
     * last */
    ck_assert_str_eq(ddl.data,
                     "a LONG, first STRING, second STRING, t STRING, st_p INTEGER, n INTEGER, "
                     "b LONG, c LONG, "
                     "_rescued_data STRING, processed_at TIMESTAMP");
    ck_assert_uint_eq(lk_batch_nrows(p), 3);
    row(p, 0, r0, sizeof r0);
    ck_assert_msg(
        strstr(r0, "\"a\":2,\"first\":\"X\",\"second\":\"x\",\"t\":\"x\",\"st_p\":1,\"n\":12,"
                   "\"b\":10,\"c\":12"),
        "%s", r0);
    row(p, 1, r0, sizeof r0);
    ck_assert_msg(strstr(r0, "\"n\":null"), "a failed cast is null by default: %s", r0);
    lk_buf_free(&ddl);
    lk_tables_destroy(&t);

    /* select with names, aliases, * and nested fields */
    t = tables_of("transforms:\n  - select: [\"a * 2 AS twice\", st.q, \"*\"]\n", raw, &err);
    ck_assert_ptr_nonnull(t);
    lk_buf_init(&ddl);
    lk_schema_to_ddl(lk_batch_schema(lk_tables_batch(t, 1)), &ddl);
    ck_assert_str_eq(ddl.data,
                     "twice LONG, q STRING, a LONG, s STRING, st STRUCT<p: INTEGER, q: STRING>, "
                     "n STRING, _rescued_data STRING, processed_at TIMESTAMP");
    lk_buf_free(&ddl);
    lk_tables_destroy(&t);

    /* select `st.*`: the struct's fields as columns named by the field (Spark's star expansion);
       a null struct gives null fields */
    t = tables_of("transforms:\n  - select: [a, \"st.*\", \"`st`.*\"]\n", raw, &err);
    ck_assert_ptr_null(t); /* the second expansion's p clashes with the first's */
    ck_assert_msg(strstr(err.msg, "key 'transforms[0].select[2]': '`st`.*' gives a column 'p', and "
                                  "'p' is selected already"),
                  "%s", err.msg);
    t = tables_of("transforms:\n  - select: [\"a AS P\", \"st.*\"]\n", raw, &err);
    ck_assert_ptr_null(t); /* Delta's names are case-insensitive */
    ck_assert_msg(strstr(err.msg, "'st.*' gives a column 'p', and 'P' is selected already"), "%s",
                  err.msg);
    t = tables_of("transforms:\n  - select: [\"s.*\"]\n", raw, &err);
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(err.msg, "'s.*' expands a struct's fields, and it is string, not a struct"),
                  "%s", err.msg);
    t = tables_of("transforms:\n  - select: [\"zz.*\"]\n", raw, &err);
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(err.msg, "key 'transforms[0].select[0]': position 1: unknown column 'zz'"),
                  "%s", err.msg);
    t = tables_of("transforms:\n  - select: [\"st.* + 1 AS x\"]\n", raw, &err);
    ck_assert_ptr_null(t); /* only a whole item expands */
    ck_assert_msg(strstr(err.msg, "position 1: '*' is not an argument of +"), "%s", err.msg);
    t = tables_of("transforms:\n  - select: [a, \"st.*\"]\n  - filter: \"a <> 2\"\n", raw,
                  &err);
    ck_assert_msg(t != NULL, "%s", err.msg);
    lk_buf_init(&ddl);
    lk_schema_to_ddl(lk_batch_schema(lk_tables_batch(t, 1)), &ddl);
    ck_assert_str_eq(ddl.data, "a LONG, p INTEGER, q STRING, processed_at TIMESTAMP");
    ck_assert_uint_eq(lk_batch_nrows(lk_tables_batch(t, 1)), 2);
    row(lk_tables_batch(t, 1), 0, r0, sizeof r0);
    ck_assert_msg(strstr(r0, "{\"a\":1,\"p\":1,\"q\":\"z\","), "%s", r0);
    row(lk_tables_batch(t, 1), 1, r0, sizeof r0);
    ck_assert_msg(strstr(r0, "{\"a\":3,\"p\":null,\"q\":null,"), "%s", r0);
    lk_buf_free(&ddl);
    lk_tables_destroy(&t);

    /* on_error: quarantine and rescue */
    t = tables_of("transforms:\n  - derive: {m: \"CAST(n AS INT)\"}\n    on_error: quarantine\n",
                  raw, &err);
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(lk_batch_nrows(lk_tables_batch(t, 1)), 2);
    ck_assert_int_eq(lk_tables_count(t), 3);
    ck_assert_str_eq(lk_tables_name(t, 2), "quarantine");
    lk_batch *q = lk_tables_batch(t, 2);
    ck_assert_uint_eq(lk_batch_nrows(q), 1);
    row(q, 0, r0, sizeof r0);
    ck_assert_msg(
        strstr(r0, "\"record\":\"{\\\"a\\\":2,\\\"s\\\":\\\"y\\\",\\\"st\\\":{\\\"p\\\":2,"
                   "\\\"q\\\":\\\"w\\\"},\\\"n\\\":\\\"oops\\\"}\",\"reason\":\"transform_error\","
                   "\"error\":\"transforms[0].derive.m\",\"table\":\"processed_events\""),
        "%s", r0);
    ck_assert_msg(strstr(r0, "\"file_name\":\"a.jsonl\""), "%s", r0);
    ck_assert_msg(strstr(r0, "\"watermark\":null,\"batch\":7"), "%s", r0);
    ck_assert_int_eq(lk_tables_quarantined(t), 1);
    lk_tables_destroy(&t);
    t = tables_of("transforms:\n  - derive: {n: \"CAST(n AS INT)\"}\n    on_error: rescue\n", raw,
                  &err);
    ck_assert_ptr_nonnull(t);
    row(lk_tables_batch(t, 1), 1, r0, sizeof r0);
    ck_assert_msg(strstr(r0, "\"n\":null,\"_rescued_data\":\"{\\\"n\\\":\\\"oops\\\"}\""), "%s",
                  r0);
    ck_assert_int_eq(lk_tables_rescued(t), 1);
    lk_tables_destroy(&t);

    /* optional: a step that does not compile is skipped */
    t = tables_of(
        "transforms:\n  - derive: {z: \"nope + 1\"}\n    optional: true\n  - derive: {y: \"a\"}\n",
        raw, &err);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_lt(lk_schema_find(lk_tables_schema(t, 1), "z"), 0);
    ck_assert_int_ge(lk_schema_find(lk_tables_schema(t, 1), "y"), 0);
    lk_tables_destroy(&t);
    lk_batch_destroy(&raw);
}
END_TEST

START_TEST(errors_name_file_line_key_position)
{
    lk_batch *raw = parse("a LONG, s STRING", "_rescued_data", "{\"a\":1}\n");
    struct {
        const char *yml, *want;
    } cases[] = {
        {"transforms:\n  - filter: \"a + 1\"\n",
         ":2: key 'transforms[0].filter': position 1: a filter must be boolean, not long"},
        {"transforms:\n  - derive:\n      x: \"a +\"\n",
         ":3: key 'transforms[0].derive.x': position 4: expected an expression"},
        {"transforms:\n  - cast: {zz: int}\n",
         ":2: key 'transforms[0].cast.zz': no column 'zz' to cast"},
        {"transforms:\n  - cast: {a: notatype}\n", "key 'transforms[0].cast.a': position"},
        {"transforms:\n  - rename: {a: s}\n",
         "key 'transforms[0].rename.a': a column 's' exists already"},
        {"transforms:\n  - select: [\"a + 1\"]\n",
         "key 'transforms[0].select[0]': name the expression: 'a + 1 AS name'"},
        {"transforms:\n  - select: [a, A]\n", "column 'a' is selected twice"},
        {"transforms:\n  - derive: {x: \"1\"}\n    after: nope\n", "after: no column 'nope'"},
        /* processed_at is silver's own; a rescue needs somewhere to keep the value */
        {"transforms:\n  - derive: {processed_at: \"a\"}\n",
         ":2: key 'transforms[0].derive.processed_at': processed_at is processed_events' own"},
        {"transforms:\n  - rename: {a: processed_at}\n",
         ":2: key 'transforms[0].rename.a': processed_at is processed_events' own"},
        {"transforms:\n  - select: [a, s]\n  - cast: {s: int}\n    on_error: rescue\n",
         ":3: key 'transforms[1].cast': on_error: rescue keeps a failed value in _rescued_data, "
         "which this list removes"},
        {"tables:\n  t1:\n    from: raw_events\n    transforms:\n      - drop: [_rescued_data]\n"
         "      - derive: {m: \"CAST(s AS INT)\"}\n        on_error: rescue\n",
         ":6: key 'tables.t1.transforms[1].derive': on_error: rescue keeps"},
        /* a partition column neither the table nor its input has */
        {"tables:\n  t1:\n    from: processed_events\n    partition_by: [zz]\n",
         ":4: key 'tables.t1.partition_by': column 'zz' is not a column of t1 (columns: a, "},
        {"tables:\n  raw_events:\n    partition_by: [zz]\n",
         ":3: key 'tables.raw_events.partition_by': column 'zz' is not a column of raw_events"},
        {"tables:\n  t1:\n    from: processed_events\n    transforms:\n      - filter: \"zz\"\n",
         ":5: key 'tables.t1.transforms[0].filter': position 1: unknown column 'zz'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lk_config cfg;
        lk_error err = {0};
        ck_assert_msg(load(cases[i].yml, &cfg, &err) == 0, "%s", err.msg);
        lk_tables *t = NULL;
        ck_assert_int_eq(lk_tables_new(&cfg, lk_batch_schema(raw), &t, &err), LK_ECONFIG);
        ck_assert_msg(strstr(err.msg, cases[i].want), "%s\ngot  %s\nwant %s", cases[i].yml, err.msg,
                      cases[i].want);
    }
    /* the configuration's own checks */
    struct {
        const char *yml, *want;
    } bad[] = {
        {"transforms:\n  - {filter: \"a\", derive: {x: \"1\"}}\n",
         "key 'transforms[0].derive': one step per entry"},
        {"transforms:\n  - frobnicate: x\n", "key 'transforms[0].frobnicate': unknown key"},
        {"transforms:\n  - drop: [a]\n    on_error: quarantine\n",
         "on_error applies to filter, derive, select and cast steps"},
        {"tables:\n  quarantine:\n    from: raw_events\n",
         "quarantine is a table of the pipeline itself"},
        {"tables:\n  Quarantine:\n    from: raw_events\n",
         "Quarantine is a table of the pipeline itself (names are case-insensitive)"},
        {"tables:\n  Processed_Events:\n    from: raw_events\n",
         "is a table of the pipeline itself"},
        {"tables:\n  p:\n    from: raw_events\n  P:\n    from: raw_events\n",
         "key 'tables.P': duplicate table (names are case-insensitive: p)"},
        {"tables:\n  x:\n    transforms: []\n", "key 'tables.x': needs from:"},
        {"tables:\n  x:\n    from: nowhere\n", ":3: key 'tables.x.from': no table 'nowhere'"},
        {"tables:\n  x:\n    from: y\n  y:\n    from: x\n", "the tables' from make a cycle"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lk_config cfg;
        lk_error err = {0};
        ck_assert_int_eq(load(bad[i].yml, &cfg, &err), LK_ECONFIG);
        ck_assert_msg(strstr(err.msg, bad[i].want), "%s\ngot  %s\nwant %s", bad[i].yml, err.msg,
                      bad[i].want);
    }
    lk_batch_destroy(&raw);
}
END_TEST

START_TEST(table_order_and_derived_tables)
{
    lk_config cfg;
    lk_error err;
    ck_assert_int_eq(
        load("transforms:\n  - derive: {x: \"1\"}\n    on_error: quarantine\n"
             "tables:\n  c:\n    from: b\n  b:\n    from: processed_events\n"
             "    transforms:\n      - select: [event_id]\n    partition_by: [event_date]\n"
             "  a:\n    from: raw_events\n",
             &cfg, &err),
        0);
    const char *names[LK_TABLES_MAX];
    int n = lk_tables_names(&cfg, names);
    ck_assert_int_eq(n, 6);
    const char *want[] = {"raw_events", "processed_events", "b", "a", "c", "quarantine"};
    for (int i = 0; i < n; i++)
        ck_assert_str_eq(names[i], want[i]);
    /* a partition column the select left out is kept from the input */
    lk_batch *raw = parse("event_id STRING, event_date STRING", "_rescued_data",
                          "{\"event_id\":\"e\",\"event_date\":\"d\"}\n");
    lk_tables *t = NULL;
    ck_assert_int_eq(lk_tables_new(&cfg, lk_batch_schema(raw), &t, &err), 0);
    lk_buf ddl = LK_BUF_INIT;
    lk_schema_to_ddl(lk_tables_schema(t, 2), &ddl);
    ck_assert_str_eq(ddl.data, "event_id STRING, event_date STRING");
    lk_buf_free(&ddl);
    ck_assert_int_eq(lk_tables_run(t, raw, 0, 1, &err), 0);
    ck_assert_uint_eq(lk_batch_nrows(lk_tables_batch(t, 4)), 1); /* c from b from processed */
    lk_tables_destroy(&t);
    lk_batch_destroy(&raw);
    /* config show prints the lists, and what it prints loads back the same */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    lk_config_print(&cfg, f);
    fclose(f);
    ck_assert_ptr_nonnull(
        strstr(text, "  b:\n    from: \"processed_events\"\n    partition_by: [\"event_date\"]\n"
                     "    transforms:\n      - {select: [\"event_id\"]}\n"));
    lk_config again;
    ck_assert_int_eq(load(text, &again, &err), 0);
    char *text2 = NULL;
    size_t len2 = 0;
    f = open_memstream(&text2, &len2);
    lk_config_print(&again, f);
    fclose(f);
    ck_assert_str_eq(text, text2);
    free(text);
    free(text2);
}
END_TEST

/* lk_tables_lineage, which lk_msg trusts to send a column as a reference: every column it names
   holds its source column's values at the kept rows, for a filter, a rename, a select, a cast, a
   rescue (the rewritten _rescued_data is not named) and a derived table of a derived table; a
   computed column is not named. */
static void lineage_holds(lk_tables *t, const lk_batch *raw, int i, int want_named /* -1: any */)
{
    const uint8_t *keep;
    const int *cols;
    int from = lk_tables_lineage(t, i, &keep, &cols);
    ck_assert_int_ge(from, 0);
    lk_batch *part = lk_tables_batch(t, i);
    const lk_batch *src = from ? lk_tables_batch(t, from) : raw;
    uint32_t sel[64], n = 0;
    for (uint32_t r = 0; r < lk_batch_nrows(src); r++)
        if (keep[r]) sel[n++] = r;
    ck_assert_uint_eq(n, lk_batch_nrows(part));
    int named = 0;
    for (int c = 0; c < lk_batch_ncols(part); c++) {
        if (cols[c] < 0) continue;
        named++;
        lk_schema *one = lk_schema_new();
        lk_schema_add_copy(one, lk_batch_col_const(part, c)->field);
        lk_batch *a = lk_batch_new(one), *b = lk_batch_new(one);
        lk_col_append_range(lk_batch_col(a, 0), lk_batch_col_const(part, c), 0, n);
        lk_col_append_sel(lk_batch_col(b, 0), lk_batch_col_const(src, cols[c]), sel, n);
        lk_batch_set_nrows(a, n);
        lk_batch_set_nrows(b, n);
        char x[512], y[512];
        for (uint32_t r = 0; r < n; r++) {
            row(a, r, x, sizeof x);
            row(b, r, y, sizeof y);
            ck_assert_msg(!strcmp(x, y), "table %d column %d row %u: %s, source %s", i, c, r, x,
                          y);
        }
        lk_batch_destroy(&a);
        lk_batch_destroy(&b);
        lk_schema_destroy(&one);
    }
    if (want_named >= 0) ck_assert_int_eq(named, want_named);
}

START_TEST(lineage_names_unchanged_columns)
{
    static const char *lines = "{\"a\":1,\"s\":\"x\",\"n\":\"12\",\"st\":{\"p\":1}}\n"
                               "{\"a\":2,\"s\":\"y\",\"n\":\"oops\",\"zz\":1}\n"
                               "{\"a\":3,\"s\":null,\"n\":\"7\"}\n"
                               "{\"a\":4,\"s\":\"w\",\"n\":\"8\",\"st\":{\"p\":4}}\n"
                               "{\"a\":5,\"s\":\"v\",\"n\":\"bad\"}\n";
    lk_batch *raw = parse("a LONG, s STRING, n STRING, st STRUCT<p: INT>", "_rescued_data", lines);
    lk_error err;
    lk_tables *t = tables_of("transforms:\n"
                             "  - filter: \"a <> 3\"\n"
                             "  - derive: {b: \"a * 10\"}\n"
                             "  - cast: {n: int}\n"
                             "    on_error: rescue\n"
                             "  - rename: {s: t}\n"
                             "tables:\n"
                             "  d1:\n    from: processed_events\n"
                             "    transforms:\n      - filter: \"a > 1\"\n"
                             "      - select: [t, a, st, b]\n"
                             "  d2:\n    from: d1\n"
                             "    transforms:\n      - filter: \"a < 5\"\n",
                             raw, &err);
    ck_assert_msg(t != NULL, "%s", err.msg);
    /* processed_events: a, t (renamed s), st; not n (cast), b (computed), _rescued_data
       (rewritten: rows 2 and 5 failed the cast), processed_at */
    lineage_holds(t, raw, 1, 3);
    /* d1 from processed_events: t, a, st, b all unchanged there */
    lineage_holds(t, raw, 2, 4);
    lineage_holds(t, raw, 3, 4);
    ck_assert_uint_eq(lk_batch_nrows(lk_tables_batch(t, 3)), 2);
    lk_tables_destroy(&t);
    /* no rescue: the _rescued_data column is named as well */
    t = tables_of("transforms:\n  - filter: \"a <> 3\"\n", raw, &err);
    ck_assert_msg(t != NULL, "%s", err.msg);
    lineage_holds(t, raw, 1, lk_batch_ncols(lk_tables_batch(t, 1)) - 1);
    lk_tables_destroy(&t);
    lk_batch_destroy(&raw);
}
END_TEST

/* Table i's rows of a run as lk_msg sends them: raw, then each table with its lineage (and,
   with defer, its columns left empty), encoded and decoded; the decoded part i as JSON lines. */
static void sent_rows(lk_tables *t, lk_batch *raw, int i, lk_buf *out)
{
    lk_msg_records m, d;
    memset(&m, 0, sizeof m);
    memset(&d, 0, sizeof d);
    m.n_parts = lk_tables_count(t);
    if (!strcmp(lk_tables_name(t, m.n_parts - 1), "quarantine")) m.n_parts--;
    for (int k = 0; k < m.n_parts; k++) {
        snprintf(m.parts[k].table, sizeof m.parts[k].table, "%s", lk_tables_name(t, k));
        m.parts[k].batch = k ? lk_tables_batch(t, k) : raw;
        m.parts[k].from = lk_tables_lineage(t, k, &m.parts[k].keep, &m.parts[k].cols);
        m.parts[k].deferred = lk_tables_deferred(t, k);
    }
    lk_buf msg = LK_BUF_INIT;
    lk_error err;
    ck_assert_int_eq(lk_msg_records_encode(&m, &msg), 0);
    ck_assert_msg(lk_msg_records_decode(msg.data, msg.len, &d, &err) == 0, "%s", err.msg);
    lk_buf_reset(out);
    for (uint32_t r = 0; r < lk_batch_nrows(d.parts[i].batch); r++) {
        lk_rowjson_append(d.parts[i].batch, r, out);
        lk_buf_putc(out, '\n');
    }
    lk_msg_records_clear(&d);
    for (int k = 0; k < m.n_parts; k++)
        m.parts[k].batch = NULL; /* the tables' own */
    lk_buf_free(&msg);
}

/* lk_tables_defer: a table no other table reads leaves its unchanged columns empty in a run that
   drops rows (processed_events keeps "ts"); the message sends them as references and the
   receiver's rows are the rows of a run that filled them. */
START_TEST(deferred_columns_travel_as_references)
{
    static const char *lines = "{\"a\":1,\"s\":\"x\",\"ts\":\"t1\",\"st\":{\"p\":1}}\n"
                               "{\"a\":2,\"s\":\"y\",\"ts\":\"t2\",\"zz\":1}\n"
                               "{\"a\":3,\"s\":null,\"ts\":\"t3\"}\n"
                               "{\"a\":4,\"s\":\"w\",\"ts\":null,\"st\":{\"p\":4}}\n"
                               "{\"a\":5,\"s\":\"v\",\"ts\":\"t5\"}\n";
    lk_batch *raw = parse("a LONG, s STRING, ts STRING, st STRUCT<p: INT>", "_rescued_data", lines);
    static const char *lists[] = {
        /* a leading filter (the view path), then a derived table of a derived table */
        "transforms:\n  - filter: \"a <> 3\"\n  - derive: {b: \"a * 10\"}\n"
        "tables:\n  d1:\n    from: processed_events\n    transforms:\n"
        "      - filter: \"a > 1\"\n      - select: [s, a, st, b]\n"
        "  d2:\n    from: d1\n    transforms:\n      - derive: {c: \"a + 1\"}\n"
        "      - filter: \"c < 6\"\n",
        /* a filter after a derive (rows dropped after the program ran over all) */
        "transforms:\n  - derive: {b: \"a * 10\"}\n  - filter: \"b <> 30\"\n",
    };
    for (int l = 0; l < 2; l++) {
        lk_error err;
        lk_tables *t = tables_of(lists[l], raw, &err), *u = tables_of(lists[l], raw, &err);
        ck_assert_msg(t && u, "%s", err.msg);
        lk_tables_defer(t, 1);
        ck_assert_int_eq(lk_tables_run(t, raw, 0, 1, &err), 0);
        ck_assert_int_eq(lk_tables_run(u, raw, 0, 1, &err), 0);
        int last = lk_tables_count(t) - 1; /* the last table, not the quarantine */
        if (!strcmp(lk_tables_name(t, last), "quarantine")) last--;
        for (int i = 1; i <= last; i++) {
            /* only the last is read by no other table */
            ck_assert_int_eq(lk_tables_deferred(t, i), i == last);
            ck_assert_int_eq(lk_tables_deferred(u, i), 0);
            const lk_batch *b = lk_tables_batch(t, i);
            const uint8_t *keep;
            const int *cols;
            lk_tables_lineage(t, i, &keep, &cols);
            for (int c = 0; c < lk_batch_ncols(b); c++) {
                const lk_col *col = lk_batch_col_const(b, c);
                int kept = !lk_tables_deferred(t, i) || cols[c] < 0 ||
                           (i == 1 && !strcmp(col->field->name, "ts"));
                ck_assert_msg(col->len == (kept ? lk_batch_nrows(b) : 0),
                              "list %d table %d column %s: %u of %u rows", l, i, col->field->name,
                              col->len, lk_batch_nrows(b));
            }
            lk_buf x = LK_BUF_INIT, y = LK_BUF_INIT;
            sent_rows(t, raw, i, &x);
            sent_rows(u, raw, i, &y);
            ck_assert_uint_gt(x.len, 0);
            ck_assert_msg(x.len == y.len && !memcmp(x.data, y.data, x.len),
                          "list %d table %d sent:\n%.*s\nfilled:\n%.*s", l, i, (int)x.len, x.data,
                          (int)y.len, y.data);
            lk_buf_free(&x);
            lk_buf_free(&y);
        }
        lk_tables_destroy(&t);
        lk_tables_destroy(&u);
    }
    lk_batch_destroy(&raw);
}
END_TEST

/* Batch b's rows as JSON, one per line, into out. */
static void rows_of(const lk_batch *b, lk_buf *out)
{
    for (uint32_t i = 0; i < lk_batch_nrows(b); i++) {
        lk_rowjson_append(b, i, out);
        lk_buf_putc(out, '\n');
    }
}

/* In r, "transforms[k]" becomes "transforms[k-1]" (the list had a step in front). */
static void shift_steps(lk_buf *r)
{
    lk_buf o = LK_BUF_INIT;
    const char *p = r->data ? r->data : "", *m;
    while ((m = strstr(p, "\"transforms[")) != NULL) {
        m += strlen("\"transforms[");
        lk_buf_append(&o, p, (size_t)(m - p));
        char *end;
        long k = strtol(m, &end, 10);
        lk_buf_printf(&o, "%ld", k - 1);
        p = end;
    }
    lk_buf_puts(&o, p);
    lk_buf_free(r);
    *r = o;
}

/* Two lists both filters-first tests run: leading filters, then derives, a cast, a quarantine
   step and a flatten. */
#define LIST_DERIVES                                                                               \
    ("  - filter: \"k <> 'heartbeat'\"\n"                                                          \
     "  - derive: {b: \"a * 10\", h: \"sha2(s, 256)\", q2: \"upper(st.q)\"}\n"                    \
     "  - cast: {n: int}\n")
#define LIST_QUARANTINE_FLATTEN                                                                    \
    "  - filter: \"a IS NOT NULL\"\n"                                                              \
    "  - filter: \"a > 1\"\n"                                                                      \
    "  - derive: {m: \"CAST(n AS INT)\"}\n"                                                        \
    "    on_error: quarantine\n"                                                                  \
    "  - flatten: [st]\n"

/* a and b (the same list, b with a step in front) left the same tables, quarantine rows,
   counters and lineage after a run over raw. */
static void same_tables(lk_tables *a, lk_tables *b, const lk_batch *raw, const char *tag)
{
    lk_buf r1 = LK_BUF_INIT, r2 = LK_BUF_INIT;
    ck_assert_int_eq(lk_tables_count(a), lk_tables_count(b));
    for (int i = 1; i < lk_tables_count(a); i++) {
        lk_buf_reset(&r1);
        lk_buf_reset(&r2);
        rows_of(lk_tables_batch(a, i), &r1);
        rows_of(lk_tables_batch(b, i), &r2);
        shift_steps(&r2);
        /* processed_at and quarantined_at are the same clock in both runs */
        ck_assert_msg(!strcmp(r1.data ? r1.data : "", r2.data ? r2.data : ""),
                      "%s table %s:\nfilters first:\n%.3000s\nall rows:\n%.3000s", tag,
                      lk_tables_name(a, i), r1.data, r2.data);
        const uint8_t *ka, *kb;
        const int *ca, *cb;
        int fa = lk_tables_lineage(a, i, &ka, &ca), fb = lk_tables_lineage(b, i, &kb, &cb);
        ck_assert_int_eq(fa, fb);
        if (fa < 0) continue;
        uint32_t nfrom = lk_batch_nrows(fa ? lk_tables_batch(a, fa) : raw);
        ck_assert_msg(!memcmp(ka, kb, nfrom), "%s table %d: kept rows differ", tag, i);
        for (int c = 0; c < lk_batch_ncols(lk_tables_batch(a, i)); c++)
            ck_assert_msg(ca[c] == cb[c], "%s table %d column %d: source %d, not %d", tag, i, c,
                          ca[c], cb[c]);
        if (lk_batch_nrows(raw) <= 64) lineage_holds(a, raw, i, -1);
    }
    ck_assert_int_eq(lk_tables_quarantined(a), lk_tables_quarantined(b));
    ck_assert_int_eq(lk_tables_rescued(a), lk_tables_rescued(b));
    lk_buf_free(&r1);
    lk_buf_free(&r2);
}

/* list (steps text) with a derived table: compiled as it is (a) and with a no-op derive in
   front (b), which turns filters-first off. */
static void both_ways(const char *list, const lk_schema *schema, lk_tables **a, lk_tables **b)
{
    const char *derived = "tables:\n  d:\n    from: processed_events\n    transforms:\n"
                          "      - filter: \"a IS NULL OR a < 700\"\n"
                          "      - derive: {e: \"a - 1\"}\n";
    lk_buf y1 = LK_BUF_INIT, y2 = LK_BUF_INIT;
    lk_buf_printf(&y1, "transforms:\n%s%s", list, derived);
    lk_buf_printf(&y2, "transforms:\n  - derive: {zz_noop: \"1\"}\n%s  - drop: [zz_noop]\n%s",
                  list, derived);
    lk_config c1, c2;
    lk_error err;
    ck_assert_msg(load(y1.data, &c1, &err) == 0, "%s", err.msg);
    ck_assert_msg(load(y2.data, &c2, &err) == 0, "%s", err.msg);
    ck_assert_msg(lk_tables_new(&c1, schema, a, &err) == 0, "%s: %s", list, err.msg);
    ck_assert_msg(lk_tables_new(&c2, schema, b, &err) == 0, "%s: %s", list, err.msg);
    lk_buf_free(&y1);
    lk_buf_free(&y2);
}

/* Leading filters run first and the rest of the list over the rows they kept (a gathered view):
   every list gives the same tables, quarantine, counters and lineage as the same list run over
   all rows. Among them, lists whose later steps read an input column through no instruction (a
   bare boolean column or struct field as a filter, an alias, a cast to the column's type), and a
   corrupt line, which silver's own leading filter drops whatever the list. */
START_TEST(filters_first_change_no_result)
{
    static const char *lines =
        "{\"a\":1,\"s\":\"x\",\"st\":{\"p\":1,\"q\":\"z\",\"ok\":true},\"n\":\"12\","
        "\"k\":\"heartbeat\",\"f\":true}\n"
        "{\"a\":2,\"s\":\"y\",\"st\":{\"p\":2,\"q\":\"w\",\"ok\":false},\"n\":\"oops\","
        "\"k\":\"click\",\"f\":false}\n"
        "not json\n"
        "{\"a\":3,\"s\":null,\"n\":\"7\",\"k\":\"heartbeat\",\"f\":true}\n"
        "{\"a\":4,\"s\":\"v\",\"st\":null,\"n\":\"bad\",\"k\":\"buy\",\"f\":null}\n"
        "{\"a\":null,\"s\":\"u\",\"st\":{\"p\":6,\"ok\":true},\"n\":\"9\",\"k\":null,\"zz\":true}\n"
        "{\"a\":7,\"s\":\"t\",\"st\":{\"q\":\"r\",\"ok\":true},\"n\":\"10\",\"k\":\"click\","
        "\"f\":true}\n";
    static const char *lists[] = {
        LIST_DERIVES,
        LIST_QUARANTINE_FLATTEN "  - rename: {s: t}\n",
        ("  - filter: \"a <> 3\"\n"
         "  - select: [\"a * 2 AS twice\", st.q, st, \"*\"]\n"
         "  - filter: \"twice > 2\"\n"),
        ("  - filter: \"k = 'click' OR a = 4\"\n"
         "  - derive: {n: \"CAST(n AS INT)\"}\n"
         "    on_error: rescue\n"),
        ("  - filter: \"CAST(n AS INT) > 8\"\n"
         "    on_error: quarantine\n"
         "  - derive: {c: \"concat(s, '-', k)\"}\n"),
        ("  - filter: \"k = 'nothing'\"\n"
         "  - derive: {c: \"a + 1\"}\n"),
        "  - filter: \"a >= 1\"\n",
        /* later steps that read an input column with no instruction behind it */
        ("  - derive: {b: \"a * 10\"}\n"
         "  - filter: \"f\"\n"),
        ("  - filter: \"a > 1\"\n"
         "  - derive: {b: \"a * 10\"}\n"
         "  - filter: \"st.ok\"\n"),
        ("  - filter: \"a > 1\"\n"
         "  - derive: {g: \"f\"}\n"
         "  - filter: \"g\"\n"),
        ("  - filter: \"a > 1\"\n"
         "  - derive: {b: \"a * 10\"}\n"
         "  - filter: \"CAST(f AS BOOLEAN)\"\n"),
    };
    lk_batch *raw = parse("a LONG, s STRING, st STRUCT<p: INT, q: STRING, ok: BOOLEAN>, n STRING, "
                          "k STRING, f BOOLEAN",
                          "_rescued_data", lines);
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
        lk_tables *a = NULL, *b = NULL;
        lk_error err;
        both_ways(lists[l], lk_batch_schema(raw), &a, &b);
        ck_assert_int_eq(lk_tables_run(a, raw, 1795512600000000LL, 7, &err), 0);
        ck_assert_int_eq(lk_tables_run(b, raw, 1795512600000000LL, 7, &err), 0);
        char tag[32];
        snprintf(tag, sizeof tag, "list %zu", l);
        same_tables(a, b, raw, tag);
        lk_tables_destroy(&a);
        lk_tables_destroy(&b);
    }
    lk_batch_destroy(&raw);
}
END_TEST

/* The same over one compiled list run batch after batch, of 3,000, 5, 0, 7 (none kept), 2,500, 1
   and 4,000 rows: the view's buffers, grown and reused, hold nothing of an earlier batch. */
START_TEST(filters_first_batch_after_batch)
{
    static const char *lists[] = {
        LIST_DERIVES,
        LIST_QUARANTINE_FLATTEN,
        ("  - filter: \"CAST(n AS INT) > 8\"\n"
         "    on_error: quarantine\n"
         "  - derive: {d: \"CAST(s AS INT)\"}\n"
         "    on_error: quarantine\n"),
        ("  - filter: \"a % 3 = 0\"\n"
         "  - derive: {n: \"CAST(n AS INT)\"}\n"
         "    on_error: rescue\n"),
        ("  - filter: \"a % 2 = 0\"\n"
         "  - drop: [st, n]\n"),
    };
    const char *ddl = "a LONG, s STRING, st STRUCT<p: INT, q: STRING>, n STRING, k STRING";
    static const int sizes[] = {3000, 5, 0, 7, 2500, 1, 4000};
    lk_batch *first = parse(ddl, "_rescued_data", "{\"a\":1}\n");
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
        lk_tables *a = NULL, *b = NULL;
        both_ways(lists[l], lk_batch_schema(first), &a, &b);
        for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
            lk_buf lines = LK_BUF_INIT;
            for (int r = 0; r < sizes[z]; r++) {
                int v = (r * 7919 + (int)z * 13) % 1000;
                if (z == 3) v = -v - 1; /* kept by no filter above */
                if (v % 17 == 0) {
                    lk_buf_puts(&lines, "garbage\n");
                    continue;
                }
                lk_buf_printf(&lines,
                              "{\"a\":%d,\"s\":\"%s\",\"st\":{\"p\":%d,\"q\":\"q%d\"},\"n\":\"%s\","
                              "\"k\":\"%s\"}\n",
                              v, v % 5 ? "x" : "12", v, v, v % 4 ? "9" : "bad",
                              v % 3 ? "click" : "heartbeat");
            }
            lk_batch *raw = parse(ddl, "_rescued_data", lines.data ? lines.data : "");
            lk_error err;
            ck_assert_int_eq(lk_tables_run(a, raw, 1795512600000000LL, 7, &err), 0);
            ck_assert_int_eq(lk_tables_run(b, raw, 1795512600000000LL, 7, &err), 0);
            char tag[64];
            snprintf(tag, sizeof tag, "list %zu, batch of %d", l, sizes[z]);
            same_tables(a, b, raw, tag);
            lk_batch_destroy(&raw);
            lk_buf_free(&lines);
        }
        lk_tables_destroy(&a);
        lk_tables_destroy(&b);
    }
    lk_batch_destroy(&first);
}
END_TEST

/* Schema evolution flows through: a column added to raw_events appears in every table whose
   steps do not exclude it (a select does), compiled again for the new version. */
START_TEST(new_columns_flow_through)
{
    lk_config cfg;
    lk_error err;
    ck_assert_int_eq(load("transforms:\n  - derive: {b: \"a * 2\"}\n"
                          "tables:\n  sel:\n    from: processed_events\n    transforms:\n"
                          "      - select: [a, b]\n  all:\n    from: processed_events\n",
                          &cfg, &err),
                     0);
    lk_batch *v1 = parse("a LONG", "_rescued_data", "{\"a\":1}\n");
    lk_batch *v2 = parse("a LONG, color STRING", "_rescued_data", "{\"a\":1,\"color\":\"red\"}\n");
    lk_tables *t1 = NULL, *t2 = NULL;
    ck_assert_int_eq(lk_tables_new(&cfg, lk_batch_schema(v1), &t1, &err), 0);
    ck_assert_int_eq(lk_tables_new(&cfg, lk_batch_schema(v2), &t2, &err), 0);
    ck_assert_int_lt(lk_schema_find(lk_tables_schema(t1, 1), "color"), 0);
    ck_assert_int_ge(lk_schema_find(lk_tables_schema(t2, 1), "color"), 0); /* processed_events */
    ck_assert_int_lt(lk_schema_find(lk_tables_schema(t2, 2), "color"), 0); /* sel: its select */
    ck_assert_int_ge(lk_schema_find(lk_tables_schema(t2, 3), "color"), 0); /* all */
    ck_assert_int_eq(lk_tables_run(t2, v2, 0, 0, &err), 0);
    char r[1024];
    row(lk_tables_batch(t2, 3), 0, r, sizeof r);
    ck_assert_msg(strstr(r, "\"a\":1,\"color\":\"red\",\"b\":2"), "%s", r);
    lk_tables_destroy(&t1);
    lk_tables_destroy(&t2);
    lk_batch_destroy(&v1);
    lk_batch_destroy(&v2);
}
END_TEST

/* The record of a quarantined row carries the input's rescued data column (under its name, as a
   JSON string, byte for byte): the reader's values that fit no column (a value of another type,
   a nested one, a key that names no column) are not lost when the row is replayed; a row with
   nothing rescued has no such key. The same for a derived table, whose input is its from table. */
static void rec_of(lk_batch *q, uint32_t i, lk_buf *out)
{
    size_t n;
    const char *p = lk_col_bytes(lk_batch_col_const(q, LK_Q_RECORD), i, &n);
    lk_buf_reset(out);
    lk_buf_append(out, p, n);
}

START_TEST(quarantine_record_carries_rescued_data)
{
    static const char *lines = "{\"id\":1,\"user_id\":5,\"st\":{\"p\":1},\"q\":\"five\"}\n"
                               "{\"id\":2,\"user_id\":\"u-77\",\"st\":{\"p\":\"x\"},\"q\":\"five\","
                               "\"ID\":9}\n"
                               "{\"id\":3,\"user_id\":6,\"st\":{\"p\":3},\"q\":\"6\"}\n";
    const char *names[] = {"_rescued_data", "bad"};
    for (int k = 0; k < 2; k++) {
        lk_batch *raw =
            parse("id LONG, user_id LONG, st STRUCT<p: INT>, q STRING", names[k], lines);
        lk_error err;
        char yml[512];
        snprintf(yml, sizeof yml,
                 "source: {rescued_data_column: %s}\n"
                 "transforms:\n  - derive: {qi: \"CAST(q AS INT)\"}\n    on_error: quarantine\n",
                 names[k]);
        lk_tables *t = tables_of(yml, raw, &err);
        ck_assert_ptr_nonnull(t);
        lk_batch *q = lk_tables_batch(t, lk_tables_count(t) - 1);
        ck_assert_uint_eq(lk_batch_nrows(q), 2);
        lk_buf rec = LK_BUF_INIT, want = LK_BUF_INIT;
        rec_of(q, 0, &rec);
        ck_assert_str_eq(rec.data, "{\"id\":1,\"user_id\":5,\"st\":{\"p\":1},\"q\":\"five\"}");
        /* row 1: what raw_events holds in the rescued column, exactly */
        int rc = lk_raw_rescued_index(lk_batch_schema(raw));
        ck_assert_int_ge(rc, 0);
        size_t n;
        const char *v = lk_col_bytes(lk_batch_col_const(raw, rc), 1, &n);
        char vs[512];
        snprintf(vs, sizeof vs, "%.*s", (int)n, v);
        ck_assert_msg(strstr(vs, "\"user_id\":\"u-77\"") && strstr(vs, "\"st.p\":\"x\"") &&
                          strstr(vs, "\"ID\":9"),
                      "%s", vs);
        lk_buf_puts(&want, "{\"id\":2,\"user_id\":null,\"st\":{\"p\":null},\"q\":\"five\",");
        lk_buf_json_string(&want, names[k], strlen(names[k]));
        lk_buf_putc(&want, ':');
        lk_buf_json_string(&want, v, n);
        lk_buf_putc(&want, '}');
        rec_of(q, 1, &rec);
        ck_assert_str_eq(rec.data, want.data);
        lk_tables_destroy(&t);

        /* a derived table: its record is its input's row (processed_events'), the rescued column
           carried the same way */
        snprintf(yml, sizeof yml,
                 "source: {rescued_data_column: %s}\n"
                 "tables:\n  d1:\n    from: processed_events\n    transforms:\n"
                 "      - derive: {qi: \"CAST(q AS INT)\"}\n        on_error: quarantine\n",
                 names[k]);
        t = tables_of(yml, raw, &err);
        ck_assert_ptr_nonnull(t);
        q = lk_tables_batch(t, lk_tables_count(t) - 1);
        ck_assert_uint_eq(lk_batch_nrows(q), 2);
        rec_of(q, 1, &rec);
        ck_assert_msg(strstr(rec.data, "{\"id\":2,\"user_id\":null,\"st_p\":null,\"q\":\"five\","),
                      "%s", rec.data);
        lk_buf_reset(&want);
        lk_buf_json_string(&want, names[k], strlen(names[k]));
        lk_buf_putc(&want, ':');
        lk_buf_json_string(&want, v, n);
        ck_assert_msg(strstr(rec.data, want.data), "%s", rec.data);
        rec_of(q, 0, &rec); /* nothing rescued: no value (a renamed column, not found by its
                               name below raw_events, is one of the data columns, null) */
        lk_buf_reset(&want);
        lk_buf_json_string(&want, names[k], strlen(names[k]));
        lk_buf_puts(&want, ":\"");
        ck_assert_msg(!strstr(rec.data, want.data), "%s", rec.data);
        lk_buf_free(&rec);
        lk_buf_free(&want);
        lk_tables_destroy(&t);
        lk_batch_destroy(&raw);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("transforms");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, default_list_equals_the_silver_of_before);
    tcase_add_test(tc, steps_and_options);
    tcase_add_test(tc, errors_name_file_line_key_position);
    tcase_add_test(tc, table_order_and_derived_tables);
    tcase_add_test(tc, lineage_names_unchanged_columns);
    tcase_add_test(tc, deferred_columns_travel_as_references);
    tcase_add_test(tc, new_columns_flow_through);
    tcase_add_test(tc, filters_first_change_no_result);
    tcase_add_test(tc, filters_first_batch_after_batch);
    tcase_add_test(tc, quarantine_record_carries_rescued_data);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
