/*
 * bench_jsonc — json-c's tokener (a DOM per line) on the same generated
 * events as bench_json (a separate program: json-c's and jansson's names
 * clash). Prints MB/s and rows/s, the median of 5 runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef LK_HAVE_JSONC
#include <json-c/json.h>
#endif

#include "lk_buf.h"
#include "lk_time.h"

#ifdef LK_HAVE_JSONC
static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
#endif

int main(int argc, char **argv)
{
#ifndef LK_HAVE_JSONC
    (void)argc;
    (void)argv;
    printf("json-c not available at build time (apt-get install libjson-c-dev)\n");
    return 0;
#else
    long rows = 200000;
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--rows"))
            rows = atol(argv[i + 1]);
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
    double t[5];
    long ok = 0;
    json_tokener *tok = json_tokener_new();
    for (int k = 0; k < 5; k++) {
        double t0 = lk_time_mono_s();
        ok = 0;
        for (size_t i = 0; i < buf.len;) {
            const char *nl = memchr(buf.data + i, '\n', buf.len - i);
            size_t len = (size_t)(nl - (buf.data + i));
            json_tokener_reset(tok);
            json_object *v = json_tokener_parse_ex(tok, buf.data + i, (int)len);
            if (v) {
                ok++;
                json_object_put(v);
            }
            i += len + 1;
        }
        t[k] = lk_time_mono_s() - t0;
    }
    json_tokener_free(tok);
    qsort(t, 5, sizeof t[0], cmp);
    printf("%-34s %9.0f MB/s %12.0f rows/s  (%ld rows, median of 5)\n", "json-c 0.16 tokener (DOM)",
           (double)buf.len / t[2] / 1e6, (double)ok / t[2], ok);
    lk_buf_free(&buf);
    return 0;
#endif
}
