/* Unit tests for lake/lk_delta_vacuum and lk_delta_cleanup_log: what vacuum
   deletes (unreferenced, orphaned, expired tombstones, our temp files) and
   keeps (live, tombstones inside the retention, recent, hidden, the log),
   dry runs, writer-protocol refusal; log cleanup cut at a checkpoint. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_delta.h"
#include "lk_delta_vacuum.h"
#include "lk_fs.h"
#include "lk_time.h"

#define DAY ((int64_t)86400000)

static char *tmp_dir(void)
{
    static char dir[256];
    lk_check_mkdtemp(dir, sizeof dir, "vac");
    return dir;
}

static void touch_at(const char *dir, const char *rel, int64_t ms)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    char *slash = strrchr(p, '/');
    *slash = 0;
    lk_error err;
    ck_assert_int_eq(lk_fs_mkdirs(p, &err), 0);
    *slash = '/';
    FILE *f = fopen(p, "a");
    ck_assert_ptr_nonnull(f);
    fputs("data", f);
    fclose(f);
    struct timeval tv[2] = {{ms / 1000, 0}, {ms / 1000, 0}};
    ck_assert_int_eq(utimes(p, tv), 0);
}

static int has(const char *dir, const char *rel)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return lk_fs_exists(p);
}

static void collect(void *ctx, const char *rel, int64_t size)
{
    lk_buf *b = ctx;
    ck_assert_int_eq(size, 4);
    lk_buf_puts(b, rel);
    lk_buf_putc(b, '\n');
}

/* What vacuum reported (one path a line, in the order it walked the directory:
   readdir's, which differs between file systems) equals want as a set: want
   lists each path once, sorted in byte order. */
static void assert_listed(lk_buf *out, const char *want)
{
    lk_buf_append(out, "", 0); /* terminated even when empty */
    lk_check_sort_lines(out->data);
    ck_assert_str_eq(out->data, want);
}

static void commit(lk_delta_table *t, const lk_schema *s, const char *add, const char *rm)
{
    lk_delta_commit *c = lk_delta_commit_new(t, "WRITE");
    if (s) lk_delta_commit_set_schema(c, s);
    if (add) lk_delta_commit_add_file(c, add, 4, 1, NULL, 1);
    if (rm) lk_delta_commit_remove_file(c, rm, 1);
    int64_t v;
    lk_error err;
    ck_assert_msg(lk_delta_commit_run(c, &v, &err) == 0, "%s", err.msg);
    lk_delta_commit_destroy(&c);
}

START_TEST(vacuum_rules)
{
    char *dir = tmp_dir();
    int64_t now = lk_time_now_ms(), old = now - 10 * DAY;
    lk_delta_table *t;
    lk_error err;
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), 0);
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "id", LK_TYPE_LONG, 0);
    const char *files[] = {"a.parquet",          "b.parquet",
                           "with space.parquet", "p=2/e.parquet",
                           "p=1/orphan.parquet", "c.parquet",
                           "_hidden/x.parquet",  ".hidden.parquet",
                           ".part.123.tmp",      "_delta_log/.00000.json.1.2.tmp",
                           "recent.parquet"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        touch_at(dir, files[i], strcmp(files[i], "recent.parquet") ? old : now);
    commit(t, s, "a.parquet", NULL);
    commit(t, NULL, "b.parquet", NULL);
    commit(t, NULL, "with space.parquet", NULL);
    commit(t, NULL, "p=2/e.parquet", NULL);
    commit(t, NULL, NULL, "a.parquet"); /* a: a tombstone from now on */

    lk_delta_vacuum_stats st;
    lk_buf out = LK_BUF_INIT;
    ck_assert_int_eq(lk_delta_vacuum(t, 7 * DAY, now, 1, collect, &out, &st, &err), 0);
    ck_assert_int_eq(st.files, 4);
    ck_assert_int_eq(st.bytes, 16);
    ck_assert_int_eq(st.recent, 1);
    ck_assert_int_eq(st.retained, 4); /* b, with space, e live; a tombstone */
    const char *unreferenced = ".part.123.tmp\n"
                               "_delta_log/.00000.json.1.2.tmp\n"
                               "c.parquet\n"
                               "p=1/orphan.parquet\n";
    assert_listed(&out, unreferenced);
    ck_assert(has(dir, "c.parquet")); /* dry run */

    lk_buf_reset(&out);
    ck_assert_int_eq(lk_delta_vacuum(t, 7 * DAY, now, 0, collect, &out, &st, &err), 0);
    ck_assert_int_eq(st.files, 4);
    assert_listed(&out, unreferenced); /* the files the dry run named, no others */
    ck_assert(!has(dir, "c.parquet"));
    ck_assert(!has(dir, "p=1/orphan.parquet"));
    ck_assert(!has(dir, ".part.123.tmp"));
    ck_assert(!has(dir, "_delta_log/.00000.json.1.2.tmp"));
    ck_assert(has(dir, "a.parquet"));
    ck_assert(has(dir, "b.parquet"));
    ck_assert(has(dir, "with space.parquet"));
    ck_assert(has(dir, "p=2/e.parquet"));
    ck_assert(has(dir, "recent.parquet"));
    ck_assert(has(dir, "_hidden/x.parquet"));
    ck_assert(has(dir, ".hidden.parquet"));
    ck_assert(has(dir, "_delta_log/00000000000000000000.json"));

    /* eight days later the tombstone of a has expired */
    lk_buf_reset(&out);
    ck_assert_int_eq(lk_delta_vacuum(t, 7 * DAY, now + 8 * DAY, 0, collect, &out, &st, &err), 0);
    assert_listed(&out, "a.parquet\nrecent.parquet\n");
    ck_assert(!has(dir, "a.parquet"));
    ck_assert(has(dir, "b.parquet"));
    lk_delta_destroy(&t);
    lk_schema_destroy(&s);
    lk_buf_free(&out);
}
END_TEST

START_TEST(vacuum_refuses_writer_features)
{
    char *dir = tmp_dir();
    char p[512];
    snprintf(p, sizeof p, "%s/_delta_log/%020d.json", dir, 0);
    lk_error err;
    ck_assert_int_eq(lk_fs_mkdirs(p, &err), 0);
    rmdir(p);
    const char *log =
        "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,\"readerFeatures\":"
        "[\"vacuumProtocolCheck\"],\"writerFeatures\":[\"vacuumProtocolCheck\"]}}\n"
        "{\"metaData\":{\"id\":\"x\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"
        "\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[]}\","
        "\"partitionColumns\":[],\"configuration\":{},\"createdTime\":1}}\n";
    ck_assert_int_eq(lk_fs_put_if_absent(p, log, strlen(log), &err), 0);
    touch_at(dir, "orphan.parquet", 0);
    lk_delta_table *t;
    ck_assert_msg(lk_delta_open(dir, &t, &err) == 0, "%s", err.msg); /* readable */
    lk_delta_vacuum_stats st;
    ck_assert_int_eq(lk_delta_vacuum(t, 0, lk_time_now_ms(), 0, NULL, NULL, &st, &err),
                     LK_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "vacuumProtocolCheck"));
    ck_assert(has(dir, "orphan.parquet"));
    lk_delta_destroy(&t);
}
END_TEST

static void set_log_mtime(const char *dir, int v, int64_t ms)
{
    char p[512];
    snprintf(p, sizeof p, "%s/_delta_log/%020d.json", dir, v);
    struct timeval tv[2] = {{ms / 1000, 0}, {ms / 1000, 0}};
    ck_assert_int_eq(utimes(p, tv), 0);
}

START_TEST(log_cleanup)
{
    char *dir = tmp_dir();
    lk_delta_table *t;
    lk_error err;
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), 0);
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "id", LK_TYPE_LONG, 0);
    for (int v = 0; v < 25; v++) {
        char name[32];
        snprintf(name, sizeof name, "f%d", v);
        commit(t, v == 0 ? s : NULL, name, NULL);
    }
    int64_t now = lk_time_now_ms();
    for (int v = 0; v < 15; v++)
        set_log_mtime(dir, v, now - 40 * DAY);
    int removed = -1;
    /* 0..14 expired, 15 is not: the cut is at checkpoint 10 */
    ck_assert_int_eq(lk_delta_cleanup_log(t, now, &removed, &err), 0);
    ck_assert_int_eq(removed, 10);
    char p[512];
    for (int v = 0; v < 25; v++) {
        snprintf(p, sizeof p, "%s/_delta_log/%020d.json", dir, v);
        ck_assert_msg(lk_fs_exists(p) == (v >= 10), "version %d", v);
    }
    snprintf(p, sizeof p, "%s/_delta_log/%020d.checkpoint.parquet", dir, 10);
    ck_assert(lk_fs_exists(p));
    lk_delta_destroy(&t);
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), 0);
    ck_assert_int_eq(lk_delta_nfiles(t), 25);
    lk_delta_table *old;
    ck_assert_int_eq(lk_delta_open_version(dir, 10, &old, &err), 0);
    ck_assert_int_eq(lk_delta_nfiles(old), 11);
    lk_delta_destroy(&old);
    ck_assert_int_eq(lk_delta_open_version(dir, 9, &old, &err), LK_ENOTFOUND);

    /* everything expired: the cut moves to checkpoint 20, unless disabled */
    for (int v = 10; v < 25; v++)
        set_log_mtime(dir, v, now - 40 * DAY);
    lk_delta_commit *c = lk_delta_commit_new(t, "SET TBLPROPERTIES");
    lk_delta_commit_set_property(c, "delta.enableExpiredLogCleanup", "false");
    int64_t v;
    ck_assert_int_eq(lk_delta_commit_run(c, &v, &err), 0);
    lk_delta_commit_destroy(&c);
    ck_assert_int_eq(lk_delta_cleanup_log(t, now, &removed, &err), 0);
    ck_assert_int_eq(removed, 0);
    c = lk_delta_commit_new(t, "SET TBLPROPERTIES");
    lk_delta_commit_set_property(c, "delta.enableExpiredLogCleanup", NULL);
    lk_delta_commit_set_property(c, "delta.logRetentionDuration", "interval 35 days");
    ck_assert_int_eq(lk_delta_commit_run(c, &v, &err), 0);
    lk_delta_commit_destroy(&c);
    ck_assert_int_eq(lk_delta_cleanup_log(t, now, &removed, &err), 0);
    ck_assert_int_eq(removed, 11); /* JSON 10..19 and checkpoint 10 */
    lk_delta_destroy(&t);
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), 0);
    ck_assert_int_eq(lk_delta_version(t), 26);
    ck_assert_int_eq(lk_delta_checkpoint_version(t), 20);
    ck_assert_ptr_null(lk_delta_property(t, "delta.enableExpiredLogCleanup"));
    lk_delta_destroy(&t);
    lk_schema_destroy(&s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("delta_vacuum");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, vacuum_rules);
    tcase_add_test(tc, vacuum_refuses_writer_features);
    tcase_add_test(tc, log_cleanup);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
