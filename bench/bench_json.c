/*
 * bench_json — the JSON parser choice, measured (docs/decisions.md).
 *
 *   build/bench_json [--rows N]
 *
 * Parses the same generated event lines (lk_gen's shape, ~230 bytes each)
 * with: yajl's event API visiting every token; jansson (json_loadb, a DOM);
 * and lakesupd's full lk_json_reader (yajl
 * events straight into columns, _metadata and all). Prints MB/s and rows/s,
 * the median of 5 runs each. jansson is measured when its -dev package was
 * present at build time; json-c has its own program (bench_jsonc: its names
 * clash with jansson's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_parse.h>
#ifdef LK_HAVE_JANSSON
#include <jansson.h>
#endif

#include "lk_buf.h"
#include "lk_infer.h"
#include "lk_json_reader.h"
#include "lk_raw.h"
#include "lk_time.h"

static int cb_any(void *c) { (void)c; return 1; }
static int cb_bool(void *c, int b) { (void)c; (void)b; return 1; }
static int cb_num(void *c, const char *s, size_t n) { (void)c; (void)s; (void)n; return 1; }
static int cb_str(void *c, const unsigned char *s, size_t n) { (void)c; (void)s; (void)n; return 1; }

static long visit_yajl(const char *buf, size_t len)
{
    yajl_callbacks cb = {cb_any, cb_bool, NULL, NULL, cb_num, cb_str, cb_any, cb_str, cb_any, cb_any, cb_any};
    long rows = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t n = (size_t)(nl - (buf + i));
        yajl_handle h = yajl_alloc(&cb, NULL, NULL);
        if (yajl_parse(h, (const unsigned char *)buf + i, n) == yajl_status_ok &&
            yajl_complete_parse(h) == yajl_status_ok)
            rows++;
        yajl_free(h);
        i += n + 1;
    }
    return rows;
}

#ifdef LK_HAVE_JANSSON
static long dom_jansson(const char *buf, size_t len)
{
    long rows = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t n = (size_t)(nl - (buf + i));
        json_error_t e;
        json_t *v = json_loadb(buf + i, n, 0, &e);
        if (v) {
            rows++;
            json_decref(v);
        }
        i += n + 1;
    }
    return rows;
}
#endif


static lk_batch *g_batch;
static lk_json_reader *g_reader;

static long full_reader(const char *buf, size_t len)
{
    lk_batch_reset(g_batch);
    lk_source_meta meta = {"/bench/events.jsonl", "events.jsonl", (int64_t)len, 0};
    lk_raw_stats st = {0};
    lk_json_reader_parse(g_reader, buf, len, &meta, 0, g_batch, &st, NULL);
    return (long)st.rows;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void run(const char *name, long (*fn)(const char *, size_t), const char *buf, size_t len)
{
    double t[5];
    long rows = 0;
    for (int k = 0; k < 5; k++) {
        double t0 = lk_time_mono_s();
        rows = fn(buf, len);
        t[k] = lk_time_mono_s() - t0;
    }
    qsort(t, 5, sizeof t[0], cmp);
    printf("%-34s %9.0f MB/s %12.0f rows/s  (%ld rows, median of 5)\n", name,
           (double)len / t[2] / 1e6, (double)rows / t[2], rows);
}

int main(int argc, char **argv)
{
    long rows = 200000;
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--rows"))
            rows = atol(argv[i + 1]);
    /* the generator's output, made in memory */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s --stdout --rows %ld --seed 5 2>/dev/null", LK_BINARY_DIR "/lk_gen", rows);
    FILE *p = popen(cmd, "r");
    lk_buf buf = LK_BUF_INIT;
    char tmp[65536];
    size_t n;
    while (p && (n = fread(tmp, 1, sizeof tmp, p)) > 0)
        lk_buf_append(&buf, tmp, n);
    if (p)
        pclose(p);
    if (!buf.len) {
        fprintf(stderr, "bench_json: no input (is lk_gen built?)\n");
        return 1;
    }
    printf("input: %ld events, %.1f MB (%.0f bytes/event)\n", rows, (double)buf.len / 1e6,
           (double)buf.len / (double)rows);
    lk_infer *inf = lk_infer_new();
    lk_infer_lines(inf, buf.data, buf.len < (1 << 20) ? buf.len : (1 << 20));
    lk_schema *data = lk_infer_result(inf);
    lk_schema *raw = lk_raw_schema(data);
    g_batch = lk_batch_new(raw);
    g_reader = lk_json_reader_new();
    run("yajl 2.1 events (visit only)", visit_yajl, buf.data, buf.len);
#ifdef LK_HAVE_JANSSON
    run("jansson 2.14 json_loadb (DOM)", dom_jansson, buf.data, buf.len);
#endif
    run("lk_json_reader (yajl -> columns)", full_reader, buf.data, buf.len);
    lk_json_reader_destroy(&g_reader);
    lk_batch_destroy(&g_batch);
    lk_schema_destroy(&raw);
    lk_schema_destroy(&data);
    lk_infer_destroy(&inf);
    lk_buf_free(&buf);
    return 0;
}
