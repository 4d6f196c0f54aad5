/* The JSON reader's fast scanner against yajl: every line, valid or not,
   must give byte-identical batches and the same counts whichever parser
   runs (lk_json_reader_set_fast). A corpus of hand-written lines plus
   random mutations of them (bytes, escapes, numbers, literals, structure). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_buf.h"
#include "lk_check.h"
#include "lk_json_corpus.h"
#include "lk_ddl.h"
#include "lk_json_reader.h"
#include "lk_msg.h"
#include "lk_raw.h"

static lk_schema *raw_schema(void)
{
    lk_schema *data = NULL;
    lk_error err = {0};
    int rc = lk_ddl_parse("event_id STRING, user_id LONG, event_type STRING, ts STRING, "
                          "amount DOUBLE, country STRING, device STRUCT<os: STRING, version: "
                          "STRING>, message STRING, n INT, s SHORT, by BYTE, b BOOLEAN, f FLOAT, "
                          "d DECIMAL(10,2), t TIMESTAMP, dt DATE, tags ARRAY<STRING>, "
                          "m MAP<STRING, LONG>",
                          &data, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    lk_schema *raw = lk_raw_schema(data);
    lk_schema_destroy(&data);
    return raw;
}

/* Parses text with the given parser and options; the encoded batch and
   the counts go to out. */
static void run(const lk_schema *raw, const char *text, size_t len, int fast,
                const lk_json_options *opt, lk_buf *out)
{
    lk_json_reader *r = lk_json_reader_new();
    lk_json_reader_set_options(r, opt);
    lk_json_reader_set_fast(r, fast);
    lk_batch *b = lk_batch_new(raw);
    lk_source_meta meta = {"/in/f.jsonl", "f.jsonl", 123, 456};
    lk_raw_stats st = {0};
    lk_error err = {0};
    int rc = lk_json_reader_parse(r, text, len, &meta, 1000, b, &st, &err);
    lk_msg_records m = {0};
    m.n_parts = 1;
    snprintf(m.parts[0].table, sizeof m.parts[0].table, "raw_events");
    m.parts[0].batch = b;
    lk_buf_reset(out);
    lk_buf_printf(out, "rc=%d rows=%lld corrupt=%lld rescued=%lld empty=%lld dropped=%lld "
                       "failed=%lld err=%s\n",
                  rc, (long long)st.rows, (long long)st.corrupt, (long long)st.rescued,
                  (long long)st.empty_lines, (long long)st.dropped, (long long)st.failed_line,
                  rc ? err.msg : "");
    lk_msg_records_encode(&m, out);
    lk_batch_destroy(&b);
    lk_json_reader_destroy(&r);
}

static void compare(const lk_schema *raw, const char *text, size_t len, const lk_json_options *o)
{
    lk_buf a = LK_BUF_INIT, y = LK_BUF_INIT;
    run(raw, text, len, 1, o, &a);
    run(raw, text, len, 0, o, &y);
    if (a.len != y.len || memcmp(a.data, y.data, a.len)) {
        /* name the first line that differs */
        for (const char *l = text; l < text + len;) {
            const char *nl = memchr(l, '\n', (size_t)(text + len - l));
            size_t n = nl ? (size_t)(nl - l) + 1 : (size_t)(text + len - l);
            run(raw, l, n, 1, o, &a);
            run(raw, l, n, 0, o, &y);
            if (a.len != y.len || memcmp(a.data, y.data, a.len)) {
                fprintf(stderr, "mode %d/%d, line: ", (int)o->mode, o->drop_unknown);
                for (size_t i = 0; i < n; i++)
                    fprintf(stderr, (unsigned char)l[i] < 0x20 || (unsigned char)l[i] >= 0x7f
                                        ? "\\x%02x" : "%c", (unsigned char)l[i]);
                fprintf(stderr, "\nfast: %.150s\nyajl: %.150s\n", a.data, y.data);
                break;
            }
            l += n;
        }
    }
    ck_assert_uint_eq(a.len, y.len);
    ck_assert_msg(!memcmp(a.data, y.data, a.len), "fast and yajl differ: %.200s | %.200s", a.data,
                  y.data);
    lk_buf_free(&a);
    lk_buf_free(&y);
}

START_TEST(fast_equals_yajl_on_the_corpus)
{
    lk_schema *raw = raw_schema();
    lk_buf text = LK_BUF_INIT;
    for (size_t i = 0; i < sizeof BASE / sizeof *BASE; i++) {
        lk_buf_puts(&text, BASE[i]);
        lk_buf_putc(&text, '\n');
    }
    lk_json_options o = {LK_JSON_PERMISSIVE, 0, 0};
    compare(raw, text.data, text.len, &o);
    /* and the valid lines do take the fast path: one at a time, each is a row */
    lk_buf_free(&text);
    lk_schema_destroy(&raw);
}
END_TEST

START_TEST(fast_equals_yajl_on_mutations)
{
    lk_schema *raw = raw_schema();
    lk_json_options modes[] = {{LK_JSON_PERMISSIVE, 0, 0},
                               {LK_JSON_PERMISSIVE, 1, 0},
                               {LK_JSON_PERMISSIVE, 0, 1}, /* noting new keys changes no row */
                               {LK_JSON_DROPMALFORMED, 0, 0},
                               {LK_JSON_FAILFAST, 0, 0}};
    for (int round = 0; round < 300; round++) {
        lk_buf text = LK_BUF_INIT;
        corpus_lines(&text, 50, 4);
        for (size_t m = 0; m < sizeof modes / sizeof *modes; m++)
            compare(raw, text.data, text.len, &modes[m]);
        lk_buf_free(&text);
    }
    lk_schema_destroy(&raw);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("json_fast");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, fast_equals_yajl_on_the_corpus);
    tcase_add_test(tc, fast_equals_yajl_on_mutations);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
