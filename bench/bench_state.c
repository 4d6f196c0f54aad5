/*
 * bench_state — cost of state.db's bookkeeping for one batch (schema/lk_state):
 * SQLite in WAL mode with synchronous=FULL, as the daemon opens it.
 *
 *   build/bench_state [--batches N] [--files F] [--dir DIR]
 *
 * Per batch, as ingest and the committer do it: plan = F lk_state_file_add
 * (discovery) + lk_state_plan_batch (one transaction, F ranges) +
 * lk_state_seal_batch; commit = lk_state_record_commit for both tables +
 * lk_state_mark_committed. Prints one line of key=value pairs
 * (microseconds; median and p90 over the batches).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lk_fs.h"
#include "lk_state.h"
#include "lk_time.h"

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int die(const char *what, const lk_error *err)
{
    fprintf(stderr, "bench_state: %s: %s\n", what, err->msg);
    return 1;
}

int main(int argc, char **argv)
{
    int batches = 200, files = 10;
    const char *base = "/tmp";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--batches"))
            batches = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--files"))
            files = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--dir"))
            base = argv[i + 1];
        else {
            fprintf(stderr, "usage: bench_state [--batches N] [--files F] [--dir DIR]\n");
            return 2;
        }
    }
    if (batches < 1 || files < 1) {
        fprintf(stderr, "bench_state: --batches and --files must be >= 1\n");
        return 2;
    }
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/bench_state_%d", base, (int)getpid());
    snprintf(path, sizeof path, "%s/state.db", dir);
    lk_error err;
    if (lk_fs_mkdirs(dir, &err)) return die("mkdir", &err);
    lk_state *st = NULL;
    if (lk_state_open(path, &st, &err)) return die("open", &err);
    double *plan = calloc((size_t)batches, sizeof *plan);
    double *commit = calloc((size_t)batches, sizeof *commit);
    lk_state_range *ranges = calloc((size_t)files, sizeof *ranges);
    for (int b = 0; b < batches; b++) {
        double t0 = lk_time_mono_s() * 1e6;
        for (int f = 0; f < files; f++) {
            lk_state_file fl;
            memset(&fl, 0, sizeof fl);
            snprintf(fl.path, sizeof fl.path, "/data/incoming/events-%05d.jsonl", b * files + f);
            fl.size = 23000000;
            fl.mtime_us = 1795512600000000LL + b * files + f;
            fl.inode = 1000 + b * files + f;
            fl.device = 2049;
            fl.batch_id = -1;
            int is_new = 0;
            if (lk_state_file_add(st, &fl, &is_new, &err)) return die("file_add", &err);
            ranges[f].file_id = fl.id;
            snprintf(ranges[f].path, sizeof ranges[f].path, "%s", fl.path);
            ranges[f].start = 0;
            ranges[f].end = fl.size;
            ranges[f].file_size = fl.size;
            ranges[f].mtime_us = fl.mtime_us;
        }
        int64_t id = -1;
        if (lk_state_plan_batch(st, ranges, files, &id, &err)) return die("plan_batch", &err);
        if (lk_state_seal_batch(st, id, files, &err)) return die("seal_batch", &err);
        double t1 = lk_time_mono_s() * 1e6;
        if (lk_state_record_commit(st, id, "raw_events", b, 100000, files, &err) ||
            lk_state_record_commit(st, id, "processed_events", b, 100000, files, &err))
            return die("record_commit", &err);
        if (lk_state_mark_committed(st, id, &err)) return die("mark_committed", &err);
        double t2 = lk_time_mono_s() * 1e6;
        plan[b] = t1 - t0;
        commit[b] = t2 - t1;
    }
    qsort(plan, (size_t)batches, sizeof *plan, cmp_d);
    qsort(commit, (size_t)batches, sizeof *commit, cmp_d);
    int p90 = (int)((batches - 1) * 0.9);
    printf("bench_state: batches=%d files_per_batch=%d plan_median_us=%.0f plan_p90_us=%.0f "
           "commit_median_us=%.0f commit_p90_us=%.0f\n",
           batches, files, plan[batches / 2], plan[p90], commit[batches / 2], commit[p90]);
    lk_state_close(&st);
    free(plan);
    free(commit);
    free(ranges);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "bench_state: could not remove %s\n", dir);
    return 0;
}
