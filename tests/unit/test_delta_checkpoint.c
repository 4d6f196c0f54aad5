/* Unit tests for Delta checkpoints (lake/lk_delta_checkpoint via lk_delta):
   writing every delta.checkpointInterval commits, _last_checkpoint, replay
   from a checkpoint with the JSON before it gone, faults mid-checkpoint,
   and Spark-written classic and multi-part checkpoints. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "lk_check.h"
#include "lk_delta.h"
#include "lk_fault.h"
#include "lk_fs.h"
#include "lk_parquet_reader.h"
#include "lk_rowjson.h"

#define GOLDEN LK_SOURCE_DIR "/tests/fixtures/delta-golden/"
#define EXPECTED LK_SOURCE_DIR "/tests/fixtures/delta-expected/"

static char *tmp_dir(void)
{
    char *dir = malloc(256);
    lk_check_mkdtemp(dir, 256, "ckpt");
    return dir;
}

static lk_schema *test_schema(void)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "id", LK_TYPE_LONG, 0);
    lk_schema_add(s, "name", LK_TYPE_STRING, 1);
    return s;
}

static int64_t commit(lk_delta_table *t, const lk_schema *s, const char *add, const char *rm,
                      const char *app, int64_t txn)
{
    lk_delta_commit *c = lk_delta_commit_new(t, "STREAMING UPDATE");
    if (s) lk_delta_commit_set_schema(c, s);
    if (app) lk_delta_commit_set_txn(c, app, txn);
    if (add) {
        char stats[128];
        snprintf(stats, sizeof stats, "{\"numRecords\":%zu,\"minValues\":{\"id\":1}}", strlen(add));
        lk_delta_commit_add_file(c, add, 1000 + (int64_t)strlen(add), 1700000000000LL, stats, 1);
    }
    if (rm) lk_delta_commit_remove_file(c, rm, 1);
    int64_t v = -1;
    lk_error err;
    int rc = lk_delta_commit_run(c, &v, &err);
    lk_delta_commit_destroy(&c);
    ck_assert_msg(rc == 0, "commit failed: %s", err.msg);
    return v;
}

/* n commits: version 0 with the schema, then one file each; version 7
   removes the file of version 3, every version sets txn app-1. */
static void make_table(const char *dir, int n)
{
    lk_delta_table *t;
    lk_error err;
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), 0);
    lk_schema *s = test_schema();
    for (int i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "part %02d #x.parquet", i);
        char rm[64];
        snprintf(rm, sizeof rm, "part%%2003%%20%%23x.parquet");
        ck_assert_int_eq(commit(t, i == 0 ? s : NULL, name, i == 7 ? rm : NULL, "app-1", i), i);
    }
    lk_schema_destroy(&s);
    lk_delta_destroy(&t);
}

static int exists_log(const char *dir, const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/_delta_log/%s", dir, name);
    return lk_fs_exists(p);
}

static int count_tmp(const char *dir)
{
    char p[512];
    snprintf(p, sizeof p, "%s/_delta_log", dir);
    int n = lk_check_count_names(p, "tmp", NULL);
    ck_assert_int_ge(n, 0);
    return n;
}

static yajl_val read_json(const char *path)
{
    lk_buf b = LK_BUF_INIT;
    lk_error err;
    ck_assert_int_eq(lk_fs_read_file(path, &b, 1 << 20, &err), 0);
    yajl_val v = yajl_tree_parse(b.data, NULL, 0);
    lk_buf_free(&b);
    ck_assert_ptr_nonnull(v);
    return v;
}

static long long jint(yajl_val v, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val x = yajl_tree_get(v, path, yajl_t_number);
    ck_assert_msg(x != NULL, "no %s", key);
    return YAJL_GET_INTEGER(x);
}

/* "path|size|mtime|stats" of every live file, sorted, one per line. */
static void snapshot_text(const lk_delta_table *t, lk_buf *out)
{
    int n = lk_delta_nfiles(t);
    char **lines = calloc((size_t)n + 1, sizeof *lines);
    for (int i = 0; i < n; i++) {
        const lk_delta_file *f = lk_delta_file_at(t, i);
        lk_buf b = LK_BUF_INIT;
        lk_buf_printf(&b, "%s|%lld|%lld|%lld|%s|%s", f->path, (long long)f->size,
                      (long long)f->modification_time, (long long)f->num_records,
                      f->partition_values_json, f->stats_json ? f->stats_json : "-");
        lines[i] = strdup(b.data);
        lk_buf_free(&b);
    }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(lines[i], lines[j]) > 0) {
                char *x = lines[i];
                lines[i] = lines[j];
                lines[j] = x;
            }
    lk_buf_reset(out);
    for (int i = 0; i < n; i++) {
        lk_buf_puts(out, lines[i]);
        lk_buf_putc(out, '\n');
        free(lines[i]);
    }
    lk_buf_append(out, "", 0);
    free(lines);
}

/* The same table with only its JSON commits: the independent replay. */
static char *json_only_copy(const char *dir)
{
    char *copy = tmp_dir();
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/_delta_log' && cp '%s'/_delta_log/*.json '%s/_delta_log/'",
             copy, dir, copy);
    ck_assert_int_eq(system(cmd), 0);
    return copy;
}

START_TEST(checkpoint_every_interval)
{
    char *dir = tmp_dir();
    make_table(dir, 25);
    ck_assert(exists_log(dir, "00000000000000000010.checkpoint.parquet"));
    ck_assert(exists_log(dir, "00000000000000000020.checkpoint.parquet"));
    ck_assert(!exists_log(dir, "00000000000000000009.checkpoint.parquet"));
    ck_assert(!exists_log(dir, "00000000000000000015.checkpoint.parquet"));
    ck_assert_int_eq(count_tmp(dir), 0);

    char p[512];
    snprintf(p, sizeof p, "%s/_delta_log/_last_checkpoint", dir);
    yajl_val lc = read_json(p);
    ck_assert_int_eq(jint(lc, "version"), 20);
    /* protocol + metaData + txn + 20 live adds + 1 tombstone */
    ck_assert_int_eq(jint(lc, "size"), 24);
    ck_assert_int_eq(jint(lc, "numOfAddFiles"), 20);
    struct stat st;
    snprintf(p, sizeof p, "%s/_delta_log/00000000000000000020.checkpoint.parquet", dir);
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_int_eq(jint(lc, "sizeInBytes"), st.st_size);
    yajl_tree_free(lc);

    /* the checkpoint as a Parquet file: one row per action, nested structs */
    lk_pq_reader *r;
    lk_error err;
    ck_assert_int_eq(lk_pq_reader_open(p, &r, &err), 0);
    ck_assert_int_eq(lk_pq_reader_num_rows(r), 24);
    const lk_schema *cs = lk_pq_reader_schema(r);
    const lk_field *pv = lk_schema_find_path(cs, "add.partitionValues");
    ck_assert_ptr_nonnull(pv);
    ck_assert_int_eq(pv->type, LK_TYPE_MAP);
    ck_assert_ptr_nonnull(lk_schema_find_path(cs, "metaData.format.provider"));
    ck_assert_int_eq(lk_schema_find_path(cs, "metaData.partitionColumns")->type, LK_TYPE_ARRAY);
    ck_assert_int_eq(lk_schema_find_path(cs, "protocol.minReaderVersion")->type, LK_TYPE_INTEGER);
    ck_assert_int_eq(lk_schema_find_path(cs, "remove.deletionTimestamp")->type, LK_TYPE_LONG);
    ck_assert_int_eq(lk_schema_find_path(cs, "txn.version")->type, LK_TYPE_LONG);
    lk_pq_reader_destroy(&r);

    /* replay from the checkpoint equals the JSON-only replay */
    lk_delta_table *t, *j;
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), 0);
    ck_assert_int_eq(lk_delta_checkpoint_version(t), 20);
    ck_assert_int_eq(lk_delta_version(t), 24);
    ck_assert_int_eq(lk_delta_nfiles(t), 24);
    ck_assert_int_eq(lk_delta_txn_version(t, "app-1"), 24);
    char *copy = json_only_copy(dir);
    ck_assert_int_eq(lk_delta_open(copy, &j, &err), 0);
    ck_assert_int_eq(lk_delta_checkpoint_version(j), -1);
    lk_buf a = LK_BUF_INIT, b = LK_BUF_INIT;
    snapshot_text(t, &a);
    snapshot_text(j, &b);
    ck_assert_str_eq(a.data, b.data);
    ck_assert_ptr_null(strstr(a.data, "part%2003%20"));
    ck_assert_ptr_nonnull(strstr(a.data, "part%2004%20%23x.parquet|1018|1700000000000|18|{}|"));
    lk_schema *s = test_schema();
    ck_assert(lk_schema_equal(lk_delta_schema(t), s));
    ck_assert_int_eq(lk_delta_num_records(t), lk_delta_num_records(j));
    lk_delta_destroy(&j);
    lk_delta_destroy(&t);

    /* at version 10, from the first checkpoint */
    ck_assert_int_eq(lk_delta_open_version(dir, 10, &t, &err), 0);
    ck_assert_int_eq(lk_delta_checkpoint_version(t), 10);
    ck_assert_int_eq(lk_delta_open_version(copy, 10, &j, &err), 0);
    snapshot_text(t, &a);
    snapshot_text(j, &b);
    ck_assert_str_eq(a.data, b.data);
    ck_assert_int_eq(lk_delta_nfiles(t), 10);
    ck_assert_int_eq(lk_delta_txn_version(t, "app-1"), 10);
    lk_delta_destroy(&j);
    lk_delta_destroy(&t);

    /* the JSON commits before the newest checkpoint cleaned up */
    for (int v = 0; v < 20; v++) {
        snprintf(p, sizeof p, "%s/_delta_log/%020d.json", dir, v);
        ck_assert_int_eq(unlink(p), 0);
    }
    snprintf(p, sizeof p, "%s/_delta_log/%020d.checkpoint.parquet", dir, 10);
    ck_assert_int_eq(unlink(p), 0);
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), 0);
    ck_assert_int_eq(lk_delta_version(t), 24);
    snapshot_text(t, &a);
    ck_assert_int_eq(lk_delta_open(copy, &j, &err), 0);
    snapshot_text(j, &b);
    ck_assert_str_eq(a.data, b.data);
    ck_assert(lk_schema_equal(lk_delta_schema(t), s));
    lk_delta_destroy(&j);
    /* and a commit on top of it */
    ck_assert_int_eq(commit(t, NULL, "late.parquet", NULL, "app-1", 25), 25);
    ck_assert_int_eq(lk_delta_nfiles(t), 25);
    lk_delta_destroy(&t);
    ck_assert_int_eq(lk_delta_open_version(dir, 15, &t, &err), LK_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.msg, "before the oldest retained version 20"));

    lk_schema_destroy(&s);
    lk_buf_free(&a);
    lk_buf_free(&b);
    free(copy);
    free(dir);
}
END_TEST

START_TEST(checkpoint_interval_property)
{
    char *dir = tmp_dir();
    lk_delta_table *t;
    lk_error err;
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), 0);
    lk_schema *s = test_schema();
    lk_delta_commit *c = lk_delta_commit_new(t, "CREATE TABLE");
    lk_delta_commit_set_schema(c, s);
    lk_delta_commit_set_property(c, "delta.checkpointInterval", "3");
    lk_delta_commit_set_property(c, "delta.appendOnly", "false");
    int64_t v;
    ck_assert_int_eq(lk_delta_commit_run(c, &v, &err), 0);
    lk_delta_commit_destroy(&c);
    ck_assert_str_eq(lk_delta_property(t, "delta.checkpointInterval"), "3");
    for (int i = 1; i <= 7; i++) {
        char name[32];
        snprintf(name, sizeof name, "f%d", i);
        commit(t, NULL, name, NULL, NULL, 0);
    }
    ck_assert(exists_log(dir, "00000000000000000003.checkpoint.parquet"));
    ck_assert(exists_log(dir, "00000000000000000006.checkpoint.parquet"));
    ck_assert(!exists_log(dir, "00000000000000000005.checkpoint.parquet"));
    /* a later property change keeps the other properties and the schema */
    c = lk_delta_commit_new(t, "SET TBLPROPERTIES");
    lk_delta_commit_set_property(c, "delta.checkpointInterval", "100");
    ck_assert_int_eq(lk_delta_commit_run(c, &v, &err), 0);
    lk_delta_commit_destroy(&c);
    ck_assert_int_eq(v, 8);
    lk_delta_destroy(&t);
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), 0);
    ck_assert_int_eq(lk_delta_checkpoint_version(t), 6);
    ck_assert_str_eq(lk_delta_property(t, "delta.checkpointInterval"), "100");
    ck_assert_str_eq(lk_delta_property(t, "delta.appendOnly"), "false");
    ck_assert(lk_schema_equal(lk_delta_schema(t), s));
    ck_assert_int_eq(lk_delta_nfiles(t), 7);
    commit(t, NULL, "f9", NULL, NULL, 0);
    ck_assert(!exists_log(dir, "00000000000000000009.checkpoint.parquet"));
    lk_delta_destroy(&t);
    lk_schema_destroy(&s);
    free(dir);
}
END_TEST

/* _last_checkpoint.size of a table with a and b added, a removed, with the
   given deletedFileRetentionDuration (NULL: default 7 days). */
static long long checkpoint_size(const char *retention)
{
    char *dir = tmp_dir();
    lk_delta_table *t;
    lk_error err;
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), 0);
    lk_schema *s = test_schema();
    lk_delta_commit *c = lk_delta_commit_new(t, "CREATE TABLE");
    lk_delta_commit_set_schema(c, s);
    if (retention) lk_delta_commit_set_property(c, "delta.deletedFileRetentionDuration", retention);
    int64_t v;
    ck_assert_int_eq(lk_delta_commit_run(c, &v, &err), 0);
    lk_delta_commit_destroy(&c);
    commit(t, NULL, "a", NULL, NULL, 0);
    commit(t, NULL, "b", "a", NULL, 0);
    /* commit timestamps never go back: three commits within a millisecond
       stamp the remove up to 2 ms ahead of the clock, and a tombstone
       expires only once it is older than the retention */
    usleep(20000);
    ck_assert_int_eq(lk_delta_checkpoint(t, &err), 0);
    char p[512];
    snprintf(p, sizeof p, "%s/_delta_log/_last_checkpoint", dir);
    yajl_val lc = read_json(p);
    long long n = jint(lc, "size");
    ck_assert_int_eq(jint(lc, "version"), 2);
    yajl_tree_free(lc);
    lk_delta_destroy(&t);
    lk_schema_destroy(&s);
    free(dir);
    return n;
}

START_TEST(tombstones_expire)
{
    /* protocol, metaData, add b, and the tombstone of a while retained */
    ck_assert_int_eq(checkpoint_size(NULL), 4);
    ck_assert_int_eq(checkpoint_size("interval 0 seconds"), 3);
}
END_TEST

/* A handle left behind while log cleanup removed the commits it had not
   read yet: refresh rebuilds from the checkpoint, a commit fails. */
START_TEST(stale_handle_after_cleanup)
{
    char *dir = tmp_dir();
    make_table(dir, 6);
    lk_delta_table *old, *t;
    lk_error err;
    ck_assert_int_eq(lk_delta_open(dir, &old, &err), 0);
    ck_assert_int_eq(lk_delta_version(old), 5);
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), 0);
    for (int i = 6; i < 25; i++) {
        char name[32];
        snprintf(name, sizeof name, "more-%d", i);
        ck_assert_int_eq(commit(t, NULL, name, NULL, "app-1", i), i);
    }
    lk_delta_destroy(&t);
    char p[512];
    for (int v = 0; v < 20; v++) {
        snprintf(p, sizeof p, "%s/_delta_log/%020d.json", dir, v);
        ck_assert_int_eq(unlink(p), 0);
    }
    lk_delta_commit *c = lk_delta_commit_new(old, "WRITE");
    lk_delta_commit_add_file(c, "late", 1, 1, NULL, 1);
    int64_t v;
    ck_assert_int_eq(lk_delta_commit_run(c, &v, &err), LK_ECONFLICT);
    ck_assert_ptr_nonnull(strstr(err.msg, "version 6 was cleaned up"));
    lk_delta_commit_destroy(&c);
    ck_assert_int_eq(lk_delta_refresh(old, &err), 0);
    ck_assert_int_eq(lk_delta_version(old), 24);
    ck_assert_int_eq(lk_delta_nfiles(old), 25);
    ck_assert_int_eq(lk_delta_txn_version(old, "app-1"), 24);
    ck_assert_int_eq(lk_delta_checkpoint_version(old), 20);
    lk_delta_destroy(&old);
    free(dir);
}
END_TEST

START_TEST(interval_parse)
{
    ck_assert_int_eq(lk_delta_interval_ms("interval 7 days", -1), 7LL * 86400000);
    ck_assert_int_eq(lk_delta_interval_ms("interval 1 week", -1), 7LL * 86400000);
    ck_assert_int_eq(lk_delta_interval_ms("168 hours", -1), 168LL * 3600000);
    ck_assert_int_eq(lk_delta_interval_ms("interval 30 seconds", -1), 30000);
    ck_assert_int_eq(lk_delta_interval_ms("interval 2 fortnights", -1), -1);
    ck_assert_int_eq(lk_delta_interval_ms("", -1), -1);
    ck_assert_int_eq(lk_delta_interval_ms(NULL, 5), 5);
}
END_TEST

/* A failed checkpoint (EIO) never fails the commit and leaves nothing. */
START_TEST(checkpoint_fault_eio)
{
    char *dir = tmp_dir();
    setenv("LAKESUP_FAULT", "delta.checkpoint=EIO", 1);
    lk_fault_reload();
    make_table(dir, 12);
    unsetenv("LAKESUP_FAULT");
    lk_fault_reload();
    ck_assert(!exists_log(dir, "00000000000000000010.checkpoint.parquet"));
    ck_assert(!exists_log(dir, "_last_checkpoint"));
    ck_assert_int_eq(count_tmp(dir), 0);
    lk_delta_table *t;
    lk_error err;
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), 0);
    ck_assert_int_eq(lk_delta_version(t), 11);
    ck_assert_int_eq(lk_delta_nfiles(t), 11);
    ck_assert_int_eq(lk_delta_checkpoint_version(t), -1);
    lk_delta_destroy(&t);
    free(dir);
}
END_TEST

/* Commits up to version 9 in this process, then version 10 in a child that
   dies at fault point `point`; returns the child's status. */
static int crash_at(const char *dir, const char *point)
{
    make_table(dir, 10);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char rule[128];
        snprintf(rule, sizeof rule, "%s=abort", point);
        setenv("LAKESUP_FAULT", rule, 1);
        lk_fault_reload();
        signal(SIGABRT, SIG_DFL);
        lk_delta_table *t;
        lk_error err;
        if (lk_delta_open(dir, &t, &err)) _exit(3);
        lk_delta_commit *c = lk_delta_commit_new(t, "WRITE");
        lk_delta_commit_add_file(c, "ten.parquet", 5, 5, NULL, 1);
        int64_t v;
        lk_delta_commit_run(c, &v, &err);
        _exit(0);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return status;
}

START_TEST(checkpoint_crash_before_link)
{
    char *dir = tmp_dir();
    int status = crash_at(dir, "delta.checkpoint");
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    /* the commit is there, the checkpoint is not (only its temp file) */
    ck_assert(exists_log(dir, "00000000000000000010.json"));
    ck_assert(!exists_log(dir, "00000000000000000010.checkpoint.parquet"));
    ck_assert(!exists_log(dir, "_last_checkpoint"));
    ck_assert_int_eq(count_tmp(dir), 1);
    lk_delta_table *t;
    lk_error err;
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), 0);
    ck_assert_int_eq(lk_delta_version(t), 10);
    ck_assert_int_eq(lk_delta_nfiles(t), 10);
    ck_assert_int_eq(lk_delta_checkpoint_version(t), -1);
    lk_delta_destroy(&t);
    free(dir);
}
END_TEST

START_TEST(checkpoint_crash_before_last_checkpoint)
{
    char *dir = tmp_dir();
    int status = crash_at(dir, "delta.last_checkpoint");
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    ck_assert(exists_log(dir, "00000000000000000010.checkpoint.parquet"));
    ck_assert(!exists_log(dir, "_last_checkpoint"));
    ck_assert_int_eq(count_tmp(dir), 0);
    /* readers find the checkpoint by listing */
    lk_delta_table *t;
    lk_error err;
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), 0);
    ck_assert_int_eq(lk_delta_version(t), 10);
    ck_assert_int_eq(lk_delta_nfiles(t), 10);
    ck_assert_int_eq(lk_delta_checkpoint_version(t), 10);
    lk_delta_destroy(&t);
    free(dir);
}
END_TEST

START_TEST(corrupt_last_checkpoint_and_checkpoint)
{
    char *dir = tmp_dir();
    make_table(dir, 21);
    char p[512];
    lk_error err;
    snprintf(p, sizeof p, "%s/_delta_log/_last_checkpoint", dir);
    ck_assert_int_eq(lk_fs_replace(p, "{\"vers", 6, &err), 0);
    lk_delta_table *t;
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), 0);
    ck_assert_int_eq(lk_delta_checkpoint_version(t), 20);
    ck_assert_int_eq(lk_delta_nfiles(t), 20);
    lk_delta_destroy(&t);
    /* _last_checkpoint naming a checkpoint that is gone */
    ck_assert_int_eq(lk_fs_replace(p, "{\"version\":30,\"size\":3}", 23, &err), 0);
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), 0);
    ck_assert_int_eq(lk_delta_checkpoint_version(t), 20);
    lk_delta_destroy(&t);
    /* a truncated newest checkpoint: the older one, then JSON */
    snprintf(p, sizeof p, "%s/_delta_log/%020d.checkpoint.parquet", dir, 20);
    ck_assert_int_eq(truncate(p, 100), 0);
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), 0);
    ck_assert_int_eq(lk_delta_checkpoint_version(t), 10);
    ck_assert_int_eq(lk_delta_version(t), 20);
    ck_assert_int_eq(lk_delta_nfiles(t), 20);
    lk_delta_destroy(&t);
    free(dir);
}
END_TEST

static void golden_ckpt(const char *name, int64_t version, int64_t cp, int nfiles)
{
    lk_delta_table *t;
    lk_error err;
    char p[512];
    snprintf(p, sizeof p, GOLDEN "%s", name);
    ck_assert_msg(lk_delta_open(p, &t, &err) == 0, "%s: %s", name, err.msg);
    ck_assert_int_eq(lk_delta_version(t), version);
    ck_assert_int_eq(lk_delta_checkpoint_version(t), cp);
    ck_assert_int_eq(lk_delta_nfiles(t), nfiles);
    lk_delta_destroy(&t);
}

START_TEST(golden_checkpoints)
{
    golden_ckpt("checkpoint", 14, 10, 1);
    golden_ckpt("multi-part-checkpoint", 1, 1, 10);
    golden_ckpt("only-checkpoint-files", 2, 2, 7);
    golden_ckpt("corrupted-last-checkpoint", 10, 10, 11);
    golden_ckpt("basic-with-inserts-deletes-checkpoint", 13, 10, 7);
    /* "checkpoint": at 14 the only live file is "15" (14 removed it) */
    lk_delta_table *t;
    lk_error err;
    ck_assert_int_eq(lk_delta_open(GOLDEN "checkpoint", &t, &err), 0);
    ck_assert_str_eq(lk_delta_file_at(t, 0)->path, "15");
    lk_delta_destroy(&t);
    /* time travel into and before the checkpoint */
    ck_assert_int_eq(lk_delta_open_version(GOLDEN "checkpoint", 10, &t, &err), 0);
    ck_assert_int_eq(lk_delta_checkpoint_version(t), 10);
    ck_assert_int_eq(lk_delta_nfiles(t), 1);
    ck_assert_str_eq(lk_delta_file_at(t, 0)->path, "11");
    lk_delta_destroy(&t);
    ck_assert_int_eq(lk_delta_open_version(GOLDEN "checkpoint", 4, &t, &err), 0);
    ck_assert_int_eq(lk_delta_checkpoint_version(t), -1);
    ck_assert_str_eq(lk_delta_file_at(t, 0)->path, "5");
    lk_delta_destroy(&t);
}
END_TEST

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted JSON lines of every row of the Parquet files named by `files`
   (NULL-terminated) projected to `cols` in that order. */
static void rows_of(char **files, const lk_schema *cols, lk_buf *out)
{
    size_t n = 0, cap = 64;
    char **lines = malloc(cap * sizeof *lines);
    for (; *files; files++) {
        lk_pq_reader *r;
        lk_error err;
        ck_assert_msg(lk_pq_reader_open(*files, &r, &err) == 0, "%s", err.msg);
        const lk_schema *fs = lk_pq_reader_schema(r);
        int idx[64], ni = 0;
        for (int i = 0; i < lk_schema_nfields(cols); i++) {
            idx[ni] = lk_schema_find(fs, lk_schema_field(cols, i)->name);
            ck_assert_int_ge(idx[ni], 0);
            ni++;
        }
        lk_batch *b = NULL;
        for (int g = 0; g < lk_pq_reader_num_row_groups(r); g++) {
            ck_assert_int_eq(lk_pq_reader_read_row_group(r, g, idx, ni, &b, &err), 0);
            for (uint32_t row = 0; row < lk_batch_nrows(b); row++) {
                lk_buf l = LK_BUF_INIT;
                lk_rowjson_append(b, row, &l);
                if (n == cap) lines = realloc(lines, (cap *= 2) * sizeof *lines);
                lines[n++] = strdup(l.data);
                lk_buf_free(&l);
            }
        }
        lk_batch_destroy(&b);
        lk_pq_reader_destroy(&r);
    }
    qsort(lines, n, sizeof *lines, cmp_str);
    lk_buf_reset(out);
    for (size_t i = 0; i < n; i++) {
        lk_buf_puts(out, lines[i]);
        lk_buf_putc(out, '\n');
        free(lines[i]);
    }
    lk_buf_append(out, "", 0);
    free(lines);
}

/* The latest rows of a delta-expected table equal Spark's expected rows. */
static void expected_rows(const char *name)
{
    char *dir = tmp_dir();
    char archive[512];
    snprintf(archive, sizeof archive, EXPECTED "%s.tar.zst", name);
    lk_check_untar_zstd(archive, dir);
    char table[512];
    snprintf(table, sizeof table, "%s/%s/delta", dir, name);
    lk_delta_table *t;
    lk_error err;
    ck_assert_msg(lk_delta_open(table, &t, &err) == 0, "%s: %s", name, err.msg);
    ck_assert_int_ge(lk_delta_checkpoint_version(t), 0);
    int n = lk_delta_nfiles(t);
    char **files = calloc((size_t)n + 1, sizeof *files);
    for (int i = 0; i < n; i++) {
        lk_buf rel = LK_BUF_INIT;
        lk_delta_url_decode(lk_delta_file_at(t, i)->path, &rel);
        files[i] = malloc(1024);
        snprintf(files[i], 1024, "%s/%s", table, rel.data);
        lk_buf_free(&rel);
    }
    /* the expected Parquet files, in name order */
    char **exp = calloc(256, sizeof *exp);
    int ne = 0;
    char edir[600];
    snprintf(edir, sizeof edir, "%s/%s/expected", dir, name);
    DIR *ed = opendir(edir);
    ck_assert_msg(ed != NULL, "%s", edir);
    struct dirent *de;
    while (ne < 255 && (de = readdir(ed))) {
        size_t len = strlen(de->d_name);
        if (len <= 8 || strcmp(de->d_name + len - 8, ".parquet")) continue;
        exp[ne] = malloc(1200);
        snprintf(exp[ne++], 1200, "%s/%s", edir, de->d_name);
    }
    closedir(ed);
    ck_assert_int_gt(ne, 0);
    qsort(exp, (size_t)ne, sizeof *exp, cmp_str);
    lk_buf a = LK_BUF_INIT, b = LK_BUF_INIT;
    rows_of(files, lk_delta_schema(t), &a);
    rows_of(exp, lk_delta_schema(t), &b);
    ck_assert_int_gt(a.len, 1);
    ck_assert_str_eq(a.data, b.data);
    for (int i = 0; i < n; i++)
        free(files[i]);
    for (int i = 0; i < ne; i++)
        free(exp[i]);
    free(files);
    free(exp);
    lk_buf_free(&a);
    lk_buf_free(&b);
    lk_delta_destroy(&t);
    lk_check_rm_rf(dir);
    free(dir);
}

START_TEST(expected_rows_checkpoint_tables)
{
    expected_rows("basic-with-inserts-deletes-checkpoint");
    expected_rows("multi-part-checkpoint");
}
END_TEST

/* v2 checkpoints: a JSON and a Parquet top-level file, each with two
   Parquet sidecars in _delta_log/_sidecars */
START_TEST(expected_rows_v2_checkpoints)
{
    expected_rows("v2-checkpoint-json");
    expected_rows("v2-checkpoint-parquet");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("delta_checkpoint");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, checkpoint_every_interval);
    tcase_add_test(tc, checkpoint_interval_property);
    tcase_add_test(tc, interval_parse);
    tcase_add_test(tc, stale_handle_after_cleanup);
    tcase_add_test(tc, tombstones_expire);
    tcase_add_test(tc, checkpoint_fault_eio);
    tcase_add_test(tc, checkpoint_crash_before_link);
    tcase_add_test(tc, checkpoint_crash_before_last_checkpoint);
    tcase_add_test(tc, corrupt_last_checkpoint_and_checkpoint);
    tcase_add_test(tc, golden_checkpoints);
    tcase_add_test(tc, expected_rows_checkpoint_tables);
    tcase_add_test(tc, expected_rows_v2_checkpoints);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
