/*
 * bench_delta_log — the committer's table handle over a long run: heap held
 * by the handle and wall time per commit (checkpoints included) as the
 * number of live files grows.
 *
 *   build/bench_delta_log [--appends N] [--mode log|full] [--interval K]
 *                         [--stats-bytes B] [--dir DIR]
 *
 * Makes N one-file appends (add with ~B bytes of Delta stats, txn, as the
 * committer does; delta.checkpointInterval K, default 10) through one handle
 * opened as the committer opens it (--mode log: lk_delta_open_log, default)
 * or as it did before (--mode full: lk_delta_open). Prints a line every N/10
 * commits (heap in use per mallinfo2, which counts what the handle holds
 * since everything else is freed between commits) and a summary line of
 * key=value pairs (microseconds): commit times with and without a
 * checkpoint, the last checkpoint's time (the largest table), and the
 * median of 3 checkpoints of all N files written on their own.
 */
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lk_delta.h"
#include "lk_fs.h"
#include "lk_schema.h"
#include "lk_time.h"

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

int main(int argc, char **argv)
{
    int n = 20000, interval = 10, stats_bytes = 1700, full = 0;
    const char *base = "/tmp";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--appends"))
            n = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--interval"))
            interval = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--stats-bytes"))
            stats_bytes = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--mode"))
            full = !strcmp(argv[i + 1], "full");
        else if (!strcmp(argv[i], "--dir"))
            base = argv[i + 1];
        else {
            fprintf(stderr, "usage: bench_delta_log [--appends N] [--mode log|full] "
                            "[--interval K] [--stats-bytes B] [--dir DIR]\n");
            return 2;
        }
    }
    if (n < 2 || interval < 1 || stats_bytes < 100) {
        fprintf(stderr, "bench_delta_log: --appends >= 2, --interval >= 1, --stats-bytes >= 100\n");
        return 2;
    }
    char table[4200];
    snprintf(table, sizeof table, "%s/bench_delta_log_%d", base, (int)getpid());
    lk_error err;
    if (lk_fs_mkdirs(table, &err)) {
        fprintf(stderr, "bench_delta_log: %s\n", err.msg);
        return 1;
    }
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "event_id", LK_TYPE_STRING, 1);
    lk_schema_add(s, "user_id", LK_TYPE_LONG, 1);
    lk_schema_add(s, "amount", LK_TYPE_DOUBLE, 1);
    /* stats of about stats_bytes: many columns, as a wide event table has */
    lk_buf st = LK_BUF_INIT;
    lk_buf_puts(&st, "{\"numRecords\":15000,\"minValues\":{");
    for (int c = 0; st.len < (size_t)stats_bytes / 2; c++)
        lk_buf_printf(&st, "%s\"column_%02d\":\"value-min-%08d\"", c ? "," : "", c, c);
    lk_buf_puts(&st, "},\"maxValues\":{");
    size_t half = st.len;
    for (int c = 0; st.len - half < (size_t)stats_bytes / 2 - 60; c++)
        lk_buf_printf(&st, "%s\"column_%02d\":\"value-max-%08d\"", c ? "," : "", c, c);
    lk_buf_puts(&st, "},\"nullCount\":{\"event_id\":0,\"user_id\":0}}");

    size_t heap0 = heap_in_use();
    lk_delta_table *t = NULL;
    int rc = full ? lk_delta_open(table, &t, &err) : lk_delta_open_log(table, &t, &err);
    if (rc) {
        fprintf(stderr, "bench_delta_log: %s\n", err.msg);
        return 1;
    }
    double *plain = calloc((size_t)n, sizeof *plain), *ckpt = calloc((size_t)n, sizeof *ckpt);
    int np = 0, nc = 0;
    double total0 = lk_time_mono_s() * 1e6, last_ckpt = 0;
    size_t heap_first = 0, heap_last = 0;
    for (int i = 0; i < n; i++) {
        double t0 = lk_time_mono_s() * 1e6;
        lk_delta_commit *c = lk_delta_commit_new(t, "STREAMING UPDATE");
        if (i == 0) {
            lk_delta_commit_set_schema(c, s);
            char iv[16];
            snprintf(iv, sizeof iv, "%d", interval);
            lk_delta_commit_set_property(c, "delta.checkpointInterval", iv);
        }
        char path[128];
        snprintf(path, sizeof path, "part-%06d-00000000-0000-0000-0000-000000000000.c000.parquet",
                 i);
        lk_delta_commit_add_file(c, path, 1500000, 1795512600000LL + i, st.data, 1);
        lk_delta_commit_set_txn(c, "bench-app", i);
        int64_t v = -1;
        rc = lk_delta_commit_run(c, &v, &err);
        lk_delta_commit_destroy(&c);
        if (rc || v != i) {
            fprintf(stderr, "bench_delta_log: commit %d: %s\n", i, rc ? err.msg : "wrong version");
            return 1;
        }
        double dt = lk_time_mono_s() * 1e6 - t0;
        if (i > 0 && i % interval == 0) {
            ckpt[nc++] = dt;
            last_ckpt = dt;
        } else {
            plain[np++] = dt;
        }
        if ((i + 1) % (n / 10 ? n / 10 : 1) == 0) {
            size_t h = heap_in_use() - heap0;
            if (!heap_first) heap_first = h;
            heap_last = h;
            printf("bench_delta_log: mode=%s files=%d heap_bytes=%zu rows=%" PRId64 "\n",
                   full ? "full" : "log", i + 1, h, lk_delta_num_records(t));
            fflush(stdout);
        }
    }
    double total = lk_time_mono_s() * 1e6 - total0;
    /* the checkpoint of the whole table on its own, 3 times (the same
       version again: the work is the same, the link finds it there) */
    double once[3];
    for (int k = 0; k < 3; k++) {
        double t0 = lk_time_mono_s() * 1e6;
        if (lk_delta_checkpoint(t, &err)) {
            fprintf(stderr, "bench_delta_log: checkpoint: %s\n", err.msg);
            return 1;
        }
        once[k] = lk_time_mono_s() * 1e6 - t0;
    }
    qsort(once, 3, sizeof *once, cmp_d);
    qsort(plain, (size_t)np, sizeof *plain, cmp_d);
    qsort(ckpt, (size_t)nc, sizeof *ckpt, cmp_d);
    printf("bench_delta_log: mode=%s appends=%d interval=%d stats_bytes=%zu "
           "heap_bytes_at_10pct=%zu heap_bytes_at_end=%zu total_s=%.1f commit_mean_us=%.0f "
           "commit_median_us=%.0f checkpoint_commit_median_us=%.0f "
           "checkpoint_commit_max_us=%.0f last_checkpoint_commit_us=%.0f "
           "checkpoint_all_files_median_us=%.0f\n",
           full ? "full" : "log", n, interval, st.len, heap_first, heap_last, total / 1e6,
           total / n, np ? plain[np / 2] : 0, nc ? ckpt[nc / 2] : 0, nc ? ckpt[nc - 1] : 0,
           last_ckpt, once[1]);
    lk_delta_destroy(&t);
    lk_schema_destroy(&s);
    lk_buf_free(&st);
    free(plain);
    free(ckpt);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", table);
    if (system(cmd) != 0) fprintf(stderr, "bench_delta_log: could not remove %s\n", table);
    return 0;
}
