/*
 * fuzz_json — libFuzzer target for the JSON lines reader (lk_json_reader)
 * and its strict fast scanner. The first input byte picks the options
 * (PERMISSIVE / DROPMALFORMED, unknown keys rescued or dropped) and the
 * schema: a fixed one of every type, one inferred from the input itself (so
 * deep structs, arrays of structs and odd keys come from the data), or a
 * struct nested LK_INFER_MAX_NESTING deep; the rest is the chunk.
 *
 * Whatever the bytes, the reader must
 *   - not crash, leak or overflow (ASan, UBSan),
 *   - give byte-identical batches and counts with the fast scanner on and
 *     off (the scanner only ever hands a line to yajl, never decides
 *     differently),
 *   - in PERMISSIVE mode append exactly one row per non-blank line,
 *   - (inferred schemas) infer the same schema with the inference's shape
 *     shortcut on and off (lk_infer_tree_only),
 *   - (inferred schemas) find no new key with ingest's schema-evolution key
 *     scan (lk_evolve_scan_line) in any line the inference sampled: the
 *     scan skips strings 8 bytes at a time, and a string skipped short or
 *     long shows up as a key the schema lacks,
 *   - (unknown keys rescued) note a new key (note_new_keys: the transforms' half of schema
 *     evolution) in every line the reader parses where the key scan finds one, and the same
 *     with the fast scanner and with yajl: a key the scan finds and the reader misses would
 *     silently never become a column (the reverse, e.g. an escaped key naming a column, only
 *     costs its batch one more reading),
 *   - produce a RECORDS message that decodes again: a batch the writer
 *     would refuse stops the pipeline (issue 17: 64+ levels of nesting
 *     against a deep struct made "column '...': len 0, expected 1").
 * A difference aborts with both outputs.
 *
 * Build: cmake -S . -B build-fuzz -DLK_FUZZ=ON -DCMAKE_C_COMPILER=clang-14
 * Run:   tests/fuzz/run.sh json 300
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_buf.h"
#include "lk_ddl.h"
#include "lk_evolve.h"
#include "lk_infer.h"
#include "lk_json_reader.h"
#include "lk_msg.h"
#include "lk_raw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every line the inference sampled (an object it took: alone, it infers one object) has only
   keys of s, the schema inferred from all of them: the key scan must find nothing new there. */
static void scan_finds_nothing_new(const lk_schema *s, const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *e = p + size;
    while (p < e) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(e - p);
        lk_infer *one = lk_infer_new();
        long sampled = lk_infer_lines(one, p, n);
        lk_infer_destroy(&one);
        char key[512];
        if (sampled == 1 && lk_evolve_scan_line(s, "_rescued_data", p, n, key, sizeof key)) {
            fprintf(stderr, "the key scan found a new key '%s' in a sampled line: %.*s\n", key,
                    (int)(n < 300 ? n : 300), p);
            abort();
        }
        p += n + 1;
    }
}

/* Line by line: a line the reader parses has a new key noted where the key scan finds one
   (docs/decisions.md, "New keys found by the transforms"). */
static void notes_equal_scan(const lk_schema *s, const lk_schema *raw, const uint8_t *data,
                             size_t size)
{
    const char *p = (const char *)data, *e = p + size;
    lk_json_reader *r = lk_json_reader_new();
    lk_json_reader_set_options(r, &(lk_json_options){.note_new_keys = 1});
    while (p < e) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(e - p);
        lk_batch *b = lk_batch_new(raw);
        lk_source_meta meta = {"/in/f.jsonl", "f.jsonl", (int64_t)n, 0};
        lk_raw_stats st = {0};
        lk_error err;
        lk_json_reader_parse(r, p, n, &meta, 0, b, &st, &err);
        char key[512];
        int found = lk_evolve_scan_line(s, "_rescued_data", p, n, key, sizeof key);
        if (st.rows && !st.corrupt && found && !st.new_keys) {
            fprintf(stderr, "the scan found a new key %s, the reader noted none: %.*s\n", key,
                    (int)(n < 300 ? n : 300), p);
            abort();
        }
        lk_batch_destroy(&b);
        p += n + 1;
    }
    lk_json_reader_destroy(&r);
}

static lk_schema *fixed_schema(void)
{
    lk_schema *s = NULL;
    lk_error err;
    if (lk_ddl_parse("event_id STRING, user_id LONG, amount DOUBLE, ok BOOLEAN, n INT, s SHORT, "
                     "by BYTE, f FLOAT, d DECIMAL(10,2), big DECIMAL(30,4), t TIMESTAMP, "
                     "tn TIMESTAMP_NTZ, dt DATE, device STRUCT<os: STRING, v: LONG>, "
                     "tags ARRAY<STRING>, nums ARRAY<ARRAY<LONG>>, m MAP<STRING, LONG>, "
                     "objs ARRAY<STRUCT<a: LONG, b: ARRAY<STRUCT<c: STRING>>>>",
                     &s, &err))
        abort();
    return s;
}

/* a STRUCT<a: STRUCT<a: ... STRUCT<a: LONG, s: STRING> ...>, l: ARRAY<...>>
   as deep as inference ever makes one */
static lk_schema *deep_schema(void)
{
    lk_buf ddl = LK_BUF_INIT;
    lk_buf_puts(&ddl, "a ");
    for (int i = 1; i < LK_INFER_MAX_NESTING; i++)
        lk_buf_puts(&ddl, (i & 1) ? "STRUCT<a: " : "ARRAY<");
    lk_buf_puts(&ddl, "LONG");
    for (int i = LK_INFER_MAX_NESTING - 1; i >= 1; i--)
        lk_buf_puts(&ddl, (i & 1) ? ", s: STRING>" : ">");
    lk_buf_puts(&ddl, ", b STRING");
    lk_schema *s = NULL;
    lk_error err;
    if (lk_ddl_parse(ddl.data, &s, &err)) {
        fprintf(stderr, "%s: %s\n", ddl.data, err.msg);
        abort();
    }
    lk_buf_free(&ddl);
    return s;
}

static void run(const lk_schema *raw, const uint8_t *data, size_t size, int fast,
                const lk_json_options *o, lk_buf *out, lk_raw_stats *st)
{
    lk_json_reader *r = lk_json_reader_new();
    lk_json_reader_set_options(r, o);
    lk_json_reader_set_fast(r, fast);
    lk_batch *b = lk_batch_new(raw);
    lk_source_meta meta = {"/in/f.jsonl", "f.jsonl", (int64_t)size, 0};
    lk_error err = {0};
    memset(st, 0, sizeof *st);
    int rc = lk_json_reader_parse(r, (const char *)data, size, &meta, 0, b, st, &err);
    lk_buf_reset(out);
    lk_buf_printf(out, "rc=%d rows=%lld corrupt=%lld rescued=%lld empty=%lld dropped=%lld\n", rc,
                  (long long)st->rows, (long long)st->corrupt, (long long)st->rescued,
                  (long long)st->empty_lines, (long long)st->dropped);
    if (lk_batch_nrows(b) != (uint32_t)st->rows) {
        fprintf(stderr, "batch has %u rows, stats say %lld\n", lk_batch_nrows(b),
                (long long)st->rows);
        abort();
    }
    lk_msg_records m = {0};
    m.n_parts = 1;
    snprintf(m.parts[0].table, sizeof m.parts[0].table, "raw_events");
    m.parts[0].batch = b;
    lk_buf enc = LK_BUF_INIT;
    if (lk_msg_records_encode(&m, &enc))
        abort();
    lk_buf_append(out, enc.data, enc.len);
    /* what the writer does with it: it must decode */
    lk_msg_records back = {0};
    if (lk_msg_records_decode(enc.data, enc.len, &back, &err)) {
        fprintf(stderr, "the records message does not decode: %s\n", err.msg);
        abort();
    }
    if (lk_batch_nrows(back.parts[0].batch) != lk_batch_nrows(b))
        abort();
    lk_msg_records_clear(&back);
    lk_buf_free(&enc);
    lk_batch_destroy(&b);
    lk_json_reader_destroy(&r);
}

/* lines with a non-blank byte (space, tab, CR are blank) */
static int64_t nonblank_lines(const uint8_t *d, size_t n)
{
    int64_t lines = 0;
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i] == '\n') {
            lines += seen;
            seen = 0;
        } else if (d[i] != ' ' && d[i] != '\t' && d[i] != '\r') {
            seen = 1;
        }
    }
    return lines + seen;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t k = data[0];
    data++, size--;
    lk_json_options o = {.mode = (k & 1) ? LK_JSON_DROPMALFORMED : LK_JSON_PERMISSIVE,
                         .drop_unknown = (k >> 1) & 1, .note_new_keys = !((k >> 1) & 1)};
    lk_schema *s = NULL;
    switch ((k >> 2) & 3) {
    case 0: s = fixed_schema(); break;
    case 1: s = deep_schema(); break;
    default: { /* inferred from the input itself, as the first batch is; and the
                  inference's shape shortcut must not change what it infers */
        lk_infer *inf = lk_infer_new(), *tree = lk_infer_new();
        lk_infer_tree_only(tree, 1);
        long n1 = lk_infer_lines(inf, (const char *)data, size);
        long n2 = lk_infer_lines(tree, (const char *)data, size);
        s = lk_infer_result(inf);
        lk_schema *t = lk_infer_result(tree);
        if (n1 != n2 || (s == NULL) != (t == NULL) || (s && !lk_schema_equal(s, t))) {
            lk_buf x = LK_BUF_INIT, z = LK_BUF_INIT;
            if (s) lk_schema_to_ddl(s, &x);
            if (t) lk_schema_to_ddl(t, &z);
            fprintf(stderr, "the inference's shortcut differs (%ld/%ld objects):\n%s\n%s\n", n1,
                    n2, x.data ? x.data : "(none)", z.data ? z.data : "(none)");
            abort();
        }
        lk_schema_destroy(&t);
        lk_infer_destroy(&inf);
        lk_infer_destroy(&tree);
        if (s)
            scan_finds_nothing_new(s, data, size);
        if (!s)
            s = fixed_schema();
    }
    }
    lk_schema *raw = lk_raw_schema(s);
    lk_buf a = LK_BUF_INIT, y = LK_BUF_INIT;
    lk_raw_stats sa, sy;
    run(raw, data, size, 1, &o, &a, &sa);
    run(raw, data, size, 0, &o, &y, &sy);
    if (a.len != y.len || memcmp(a.data, y.data, a.len)) {
        fprintf(stderr, "fast and yajl differ:\nfast: %.300s\nyajl: %.300s\n", a.data, y.data);
        abort();
    }
    int same_names = sa.n_new_key_names == sy.n_new_key_names;
    for (int i = 0; same_names && i < sa.n_new_key_names; i++)
        same_names = !strcmp(sa.new_key_names[i], sy.new_key_names[i]);
    if (sa.new_keys != sy.new_keys || sa.new_key_line != sy.new_key_line || !same_names) {
        fprintf(stderr, "fast and yajl note different new keys (%lld, %lld)\n",
                (long long)sa.new_keys, (long long)sy.new_keys);
        abort();
    }
    if (o.note_new_keys)
        notes_equal_scan(s, raw, data, size);
    if (o.mode == LK_JSON_PERMISSIVE && sa.rows != nonblank_lines(data, size)) {
        fprintf(stderr, "%lld rows for %lld non-blank lines\n", (long long)sa.rows,
                (long long)nonblank_lines(data, size));
        abort();
    }
    lk_buf_free(&a);
    lk_buf_free(&y);
    lk_schema_destroy(&raw);
    lk_schema_destroy(&s);
    return 0;
}
