/*
 * bench_delta — cost of one durable Delta commit (lake/lk_delta), fsyncs included.
 *
 *   build/bench_delta [--commits N] [--files F] [--dir DIR]
 *
 * Creates a fresh table in DIR (default /tmp) and makes N commits the way
 * the committer does for one batch of one table: F add actions with Delta
 * statistics, a txn(appId, version) and the streaming operationParameters.
 * Each commit is lk_delta_commit_run: temp file, fsync, link() to
 * _delta_log/<v>.json, fsync of the directory, then the handle catches up.
 * As the machine's limit, the same run times the bare syscall sequence of a
 * put-if-absent small file (open, write, fsync, close, link, unlink, fsync
 * dir) with a body of the same size. Prints one line of key=value pairs
 * (microseconds; median and p90 over the commits).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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

/* The raw fsync'ed small-file pattern, without lakesupd code. */
static int bare_put(const char *dir, int i, const char *body, size_t n)
{
    char tmp[4200], dst[4200];
    snprintf(tmp, sizeof tmp, "%s/.bare-%d.tmp", dir, i);
    snprintf(dst, sizeof dst, "%s/bare-%08d.json", dir, i);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return -errno;
    if (lk_fs_write_all(fd, body, n) || fsync(fd) || close(fd)) return -EIO;
    if (link(tmp, dst)) return -errno;
    unlink(tmp);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return -errno;
    int rc = fsync(dfd);
    close(dfd);
    return rc ? -errno : 0;
}

static void rm_rf(const char *path)
{
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) fprintf(stderr, "bench_delta: could not remove %s\n", path);
}

int main(int argc, char **argv)
{
    int commits = 200, files = 4;
    const char *base = "/tmp";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--commits"))
            commits = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--files"))
            files = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--dir"))
            base = argv[i + 1];
        else {
            fprintf(stderr, "usage: bench_delta [--commits N] [--files F] [--dir DIR]\n");
            return 2;
        }
    }
    if (commits < 1 || files < 0) {
        fprintf(stderr, "bench_delta: --commits must be >= 1 and --files >= 0\n");
        return 2;
    }
    char root[4096], table[4200], bare[4200];
    snprintf(root, sizeof root, "%s/bench_delta_%d", base, (int)getpid());
    snprintf(table, sizeof table, "%s/raw_events", root);
    snprintf(bare, sizeof bare, "%s/bare", root);
    lk_error err;
    if (lk_fs_mkdirs(table, &err) || lk_fs_mkdirs(bare, &err)) {
        fprintf(stderr, "bench_delta: %s\n", err.msg);
        return 1;
    }
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "event_id", LK_TYPE_STRING, 1);
    lk_schema_add(s, "user_id", LK_TYPE_LONG, 1);
    lk_schema_add(s, "ts", LK_TYPE_STRING, 1);
    lk_schema_add(s, "amount", LK_TYPE_DOUBLE, 1);
    lk_delta_table *t = NULL;
    if (lk_delta_open(table, &t, &err)) {
        fprintf(stderr, "bench_delta: %s\n", err.msg);
        return 1;
    }
    /* A stats JSON of the size the writer reports for an event file. */
    const char *stats =
        "{\"numRecords\":15000,\"minValues\":{\"event_id\":\"evt-9-0000000000\",\"user_id\":1000,"
        "\"ts\":\"2026-11-24T09:30:00.000Z\",\"amount\":0.0},\"maxValues\":{\"event_id\":"
        "\"evt-9-0000014999\",\"user_id\":100999,\"ts\":\"2026-11-24T09:42:29.999Z\",\"amount\":"
        "999.99},\"nullCount\":{\"event_id\":0,\"user_id\":0,\"ts\":0,\"amount\":4500}}";
    double *us = calloc((size_t)commits, sizeof *us);
    double *bare_us = calloc((size_t)commits, sizeof *bare_us);
    size_t body_bytes = 0;
    for (int i = 0; i < commits; i++) {
        double t0 = lk_time_mono_s() * 1e6;
        lk_delta_commit *c = lk_delta_commit_new(t, "STREAMING UPDATE");
        if (i == 0) lk_delta_commit_set_schema(c, s);
        for (int f = 0; f < files; f++) {
            char path[256];
            snprintf(path, sizeof path,
                     "part-%05d-%05d-00000000-0000-0000-0000-000000000000.c000.zstd.parquet", i, f);
            lk_delta_commit_add_file(c, path, 1500000, 1795512600000LL + i, stats, 1);
        }
        lk_delta_commit_set_txn(c, "bench-app", i);
        lk_delta_commit_set_param(c, "outputMode", "\"Append\"");
        char epoch[32];
        snprintf(epoch, sizeof epoch, "%d", i);
        lk_delta_commit_set_param(c, "epochId", epoch);
        int64_t v = -1;
        int rc = lk_delta_commit_run(c, &v, &err);
        lk_delta_commit_destroy(&c);
        if (rc || v != i) {
            fprintf(stderr, "bench_delta: commit %d: %s\n", i, rc ? err.msg : "wrong version");
            return 1;
        }
        us[i] = lk_time_mono_s() * 1e6 - t0;
    }
    /* the body size of the last commit, for the bare reference */
    {
        char p[4400];
        snprintf(p, sizeof p, "%s/_delta_log/%020d.json", table, commits - 1);
        lk_buf b = LK_BUF_INIT;
        if (lk_fs_read_file(p, &b, 1 << 20, &err) == 0) body_bytes = b.len;
        lk_buf_free(&b);
    }
    char *body = malloc(body_bytes + 1);
    memset(body, 'x', body_bytes);
    for (int i = 0; i < commits; i++) {
        double t0 = lk_time_mono_s() * 1e6;
        if (bare_put(bare, i, body, body_bytes)) {
            fprintf(stderr, "bench_delta: bare put failed: %s\n", strerror(errno));
            return 1;
        }
        bare_us[i] = lk_time_mono_s() * 1e6 - t0;
    }
    double mean = 0;
    for (int i = 0; i < commits; i++)
        mean += us[i];
    mean /= commits;
    qsort(us, (size_t)commits, sizeof *us, cmp_d);
    qsort(bare_us, (size_t)commits, sizeof *bare_us, cmp_d);
    int p90 = (int)((commits - 1) * 0.9);
    printf("bench_delta: commits=%d files_per_commit=%d body_bytes=%zu commit_median_us=%.0f "
           "commit_p90_us=%.0f commit_mean_us=%.0f bare_fsync_put_median_us=%.0f "
           "bare_fsync_put_p90_us=%.0f\n",
           commits, files, body_bytes, us[commits / 2], us[p90], mean, bare_us[commits / 2],
           bare_us[p90]);
    free(body);
    free(us);
    free(bare_us);
    lk_delta_destroy(&t);
    lk_schema_destroy(&s);
    rm_rf(root);
    return 0;
}
