/*
 * bench_evolve — the cost of schema evolution's key scan on ingest's hot path.
 *
 *   build/bench_evolve FILE.jsonl
 *
 * Reads FILE (e.g. lk_gen output), infers its schema, then times
 * lk_evolve_scan_line over every line (nothing new: the common case) and
 * lk_infer over the same lines (what a full inference per chunk would cost),
 * with its shape shortcut and without (lk_infer_tree_only: every line
 * parsed as a tree). Prints MB/s and microseconds per line, the best of 5
 * runs each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lk_evolve.h"
#include "lk_infer.h"
#include "lk_time.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_evolve FILE.jsonl\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
        return 1;
    fclose(f);
    lk_infer *inf = lk_infer_new();
    lk_infer_lines(inf, buf, (size_t)n);
    lk_schema *s = lk_infer_result(inf);
    lk_infer_destroy(&inf);
    double best_scan = 1e9, best_inf = 1e9, best_tree = 1e9;
    long hits = 0, lines = 0;
    for (int run = 0; run < 5; run++) {
        double t0 = lk_time_mono_s();
        char key[256];
        hits = 0;
        for (char *p = buf, *e = buf + n; p < e;) {
            char *nl = memchr(p, '\n', (size_t)(e - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(e - p);
            hits += lk_evolve_scan_line(s, "_rescued_data", p, len, key, sizeof key);
            p += len + 1;
        }
        double t1 = lk_time_mono_s();
        lk_infer *i2 = lk_infer_new();
        lines = lk_infer_lines(i2, buf, (size_t)n);
        lk_infer_destroy(&i2);
        double t2 = lk_time_mono_s();
        lk_infer *i3 = lk_infer_new();
        lk_infer_tree_only(i3, 1);
        lk_infer_lines(i3, buf, (size_t)n);
        lk_infer_destroy(&i3);
        double t3 = lk_time_mono_s();
        if (t1 - t0 < best_scan)
            best_scan = t1 - t0;
        if (t2 - t1 < best_inf)
            best_inf = t2 - t1;
        if (t3 - t2 < best_tree)
            best_tree = t3 - t2;
    }
    printf("bytes=%ld lines=%ld new_key_lines=%ld key_scan=%.0f MB/s full_inference=%.0f MB/s "
           "(%.2f us/line) tree_only_inference=%.0f MB/s (%.2f us/line)\n",
           n, lines, hits, (double)n / best_scan / 1e6, (double)n / best_inf / 1e6,
           lines ? best_inf / (double)lines * 1e6 : 0.0, (double)n / best_tree / 1e6,
           lines ? best_tree / (double)lines * 1e6 : 0.0);
    lk_schema_destroy(&s);
    free(buf);
    return 0;
}
