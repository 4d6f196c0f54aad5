/* More tests of lake/lk_delta, from the pipeline's side: the commits the
   committer makes, a cross-process append race, a short write, nested
   stats, and Spark-written tables read through our Parquet reader. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_delta.h"
#include "lk_fault.h"
#include "lk_fs.h"
#include "lk_parquet_reader.h"

#define GOLDEN LK_SOURCE_DIR "/tests/fixtures/delta-golden/"

static char g_dir[256];

static void setup(void)
{
    lk_check_mkdtemp(g_dir, sizeof g_dir, "delta");
}

static void teardown(void)
{
    lk_check_rm_rf(g_dir);
}

static lk_schema *schema1(void)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "id", LK_TYPE_LONG, 1);
    return s;
}

static int64_t append(lk_delta_table *t, const char *file, const char *app, int64_t txn, int schema)
{
    lk_delta_commit *c = lk_delta_commit_new(t, "STREAMING UPDATE");
    if (schema) {
        lk_schema *s = schema1();
        lk_delta_commit_set_schema(c, s);
        lk_schema_destroy(&s);
    }
    lk_delta_commit_add_file(c, file, 100, 1000, "{\"numRecords\":5}", 1);
    if (app)
        lk_delta_commit_set_txn(c, app, txn);
    lk_delta_commit_set_param(c, "epochId", "1");
    int64_t v = -1;
    lk_error err;
    int rc = lk_delta_commit_run(c, &v, &err);
    lk_delta_commit_destroy(&c);
    return rc ? rc : v;
}

START_TEST(first_commit_and_replay)
{
    lk_delta_table *t = NULL;
    lk_error err;
    ck_assert_int_eq(lk_delta_open(g_dir, &t, &err), 0);
    ck_assert_int_eq(lk_delta_version(t), -1);
    ck_assert_ptr_null(lk_delta_schema(t));
    ck_assert_int_lt(append(t, "a b.parquet", "app", 0, 0), 0); /* no schema yet */
    ck_assert_int_eq(append(t, "a b.parquet", "app", 0, 1), 0);
    ck_assert_int_eq(append(t, "c.parquet", "app", 1, 0), 1);
    ck_assert_int_eq(lk_delta_txn_version(t, "app"), 1);
    ck_assert_int_eq(lk_delta_num_records(t), 10);
    lk_buf log = LK_BUF_INIT;
    char p[512];
    snprintf(p, sizeof p, "%s/_delta_log/00000000000000000000.json", g_dir);
    ck_assert_int_eq(lk_fs_read_file(p, &log, 1 << 20, &err), 0);
    ck_assert_ptr_nonnull(strstr(log.data, "{\"commitInfo\":{\"timestamp\":"));
    ck_assert_ptr_nonnull(strstr(log.data, "\"operation\":\"STREAMING UPDATE\""));
    ck_assert_ptr_nonnull(strstr(log.data, "\"engineInfo\":\"lakesupd/"));
    ck_assert_ptr_nonnull(strstr(log.data, "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}"));
    ck_assert_ptr_nonnull(strstr(log.data, "\"schemaString\":\"{\\\"type\\\":\\\"struct\\\""));
    ck_assert_ptr_nonnull(strstr(log.data, "{\"txn\":{\"appId\":\"app\",\"version\":0,"));
    ck_assert_ptr_nonnull(strstr(log.data, "\"path\":\"a%20b.parquet\""));
    ck_assert_ptr_nonnull(strstr(log.data, "\"stats\":\"{\\\"numRecords\\\":5}\""));
    lk_buf_free(&log);
    /* a fresh handle replays the same snapshot; remove works */
    lk_delta_table *t2 = NULL;
    ck_assert_int_eq(lk_delta_open(g_dir, &t2, &err), 0);
    ck_assert_int_eq(lk_delta_version(t2), 1);
    ck_assert_int_eq(lk_delta_nfiles(t2), 2);
    lk_delta_commit *c = lk_delta_commit_new(t2, "DELETE");
    lk_delta_commit_remove_file(c, "a%20b.parquet", 1);
    int64_t v;
    ck_assert_int_eq(lk_delta_commit_run(c, &v, &err), 0);
    lk_delta_commit_destroy(&c);
    ck_assert_int_eq(lk_delta_nfiles(t2), 1);
    ck_assert_str_eq(lk_delta_file_at(t2, 0)->path, "c.parquet");
    ck_assert_int_eq(lk_delta_refresh(t, &err), 0); /* the other handle catches up */
    ck_assert_int_eq(lk_delta_version(t), 2);
    ck_assert_int_eq(lk_delta_nfiles(t), 1);
    lk_delta_destroy(&t2);
    lk_delta_destroy(&t);
    ck_assert_ptr_null(t);
}
END_TEST

START_TEST(occ_same_app_conflicts_blind_appends_retry)
{
    lk_delta_table *a = NULL, *b = NULL;
    lk_error err;
    ck_assert_int_eq(lk_delta_open(g_dir, &a, &err), 0);
    ck_assert_int_eq(append(a, "0.parquet", NULL, 0, 1), 0);
    ck_assert_int_eq(lk_delta_open(g_dir, &b, &err), 0);
    ck_assert_int_eq(append(a, "1.parquet", "q", 1, 0), 1);
    /* b is behind: a blind append retries on top */
    ck_assert_int_eq(append(b, "2.parquet", NULL, 0, 0), 2);
    ck_assert_int_eq(lk_delta_nfiles(b), 3);
    /* a is behind and commits for the same appId: a conflict naming versions */
    lk_delta_commit *c = lk_delta_commit_new(a, "STREAMING UPDATE");
    lk_delta_commit_add_file(c, "3.parquet", 1, 1, NULL, 1);
    lk_delta_commit_set_txn(c, "q", 2);
    ck_assert_int_eq(append(b, "4.parquet", "q", 2, 0), 3);
    int64_t v;
    ck_assert_int_eq(lk_delta_commit_run(c, &v, &err), LK_ECONFLICT);
    ck_assert_ptr_nonnull(strstr(err.msg, "concurrent transaction for appId q"));
    lk_delta_commit_destroy(&c);
    lk_delta_destroy(&a);
    lk_delta_destroy(&b);
}
END_TEST

/* Two processes append 40 commits each at once: no lost commit, no
   duplicate version, every file present once. */
START_TEST(concurrent_appends)
{
    lk_delta_table *t = NULL;
    lk_error err;
    ck_assert_int_eq(lk_delta_open(g_dir, &t, &err), 0);
    ck_assert_int_eq(append(t, "init.parquet", NULL, 0, 1), 0);
    lk_delta_destroy(&t);
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            lk_delta_table *mine = NULL;
            if (lk_delta_open(g_dir, &mine, NULL))
                _exit(2);
            for (int i = 0; i < 40; i++) {
                char f[32];
                snprintf(f, sizeof f, "p%d-%d.parquet", k, i);
                if (append(mine, f, NULL, 0, 0) < 0)
                    _exit(3);
            }
            lk_delta_destroy(&mine);
            _exit(0);
        }
    }
    for (int k = 0; k < 2; k++) {
        int st;
        waitpid(kids[k], &st, 0);
        ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    ck_assert_int_eq(lk_delta_open(g_dir, &t, &err), 0);
    ck_assert_int_eq(lk_delta_version(t), 80);
    ck_assert_int_eq(lk_delta_nfiles(t), 81);
    lk_delta_destroy(&t);
}
END_TEST

START_TEST(fault_leaves_no_partial_version)
{
    lk_delta_table *t = NULL;
    lk_error err;
    ck_assert_int_eq(lk_delta_open(g_dir, &t, &err), 0);
    ck_assert_int_eq(append(t, "0.parquet", NULL, 0, 1), 0);
    setenv("LAKESUP_FAULT", "fs.write=short@1", 1);
    lk_fault_reload();
    ck_assert_int_eq(append(t, "1.parquet", NULL, 0, 0), -ENOSPC);
    unsetenv("LAKESUP_FAULT");
    lk_fault_reload();
    char p[512];
    snprintf(p, sizeof p, "%s/_delta_log/00000000000000000001.json", g_dir);
    ck_assert(!lk_fs_exists(p));
    ck_assert_int_eq(append(t, "1.parquet", NULL, 0, 0), 1);
    lk_delta_destroy(&t);
    ck_assert_int_eq(lk_delta_open(g_dir, &t, &err), 0);
    ck_assert_int_eq(lk_delta_nfiles(t), 2);
    lk_delta_destroy(&t);
}
END_TEST

START_TEST(stats_json_nested_and_truncated)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "n", LK_TYPE_LONG, 1);
    lk_field *d = lk_schema_add(s, "dev", LK_TYPE_STRUCT, 1);
    lk_field_add_child(d, "os", LK_TYPE_STRING, 1);
    lk_schema_add(s, "ts", LK_TYPE_TIMESTAMP, 1);
    lk_schema_add(s, "long_text", LK_TYPE_STRING, 1);
    lk_schema_add(s, "x", LK_TYPE_DOUBLE, 1);
    lk_pq_leaf_stats l[5];
    memset(l, 0, sizeof l);
    const char *longs = "0123456789012345678901234567890123456789";
    l[0] = (lk_pq_leaf_stats){"n", lk_schema_field(s, 0), 0, 1, {1, -5, 0, 0, 0}, {1, 9, 0, 0, 0}};
    l[1] = (lk_pq_leaf_stats){"dev.os", &lk_schema_field(s, 1)->children[0], 0, 0,
                              {1, 0, 0, "android", 7}, {1, 0, 0, "ios", 3}};
    l[2] = (lk_pq_leaf_stats){"ts", lk_schema_field(s, 2), 0, 2, {1, 1795512600123456LL, 0, 0, 0},
                              {1, 1795512600999999LL, 0, 0, 0}};
    l[3] = (lk_pq_leaf_stats){"long_text", lk_schema_field(s, 3), 0, 0, {1, 0, 0, longs, 40},
                              {1, 0, 0, longs, 40}};
    l[4] = (lk_pq_leaf_stats){"x", lk_schema_field(s, 4), 0, 3, {0}, {0}};
    lk_pq_file_info info = {10, 1234, 5, l};
    lk_buf out = LK_BUF_INIT;
    lk_delta_stats_json(&info, &out);
    ck_assert_str_eq(out.data,
                     "{\"numRecords\":10,\"minValues\":{\"n\":-5,\"dev\":{\"os\":\"android\"},"
                     "\"ts\":\"2026-11-24T09:30:00.123Z\",\"long_text\":"
                     "\"01234567890123456789012345678901\"},\"maxValues\":{\"n\":9,\"dev\":{\"os\":"
                     "\"ios\"},\"ts\":\"2026-11-24T09:30:00.999Z\",\"long_text\":"
                     "\"01234567890123456789012345678901\xf4\x8f\xbf\xbf\"},\"nullCount\":{\"n\":1,"
                     "\"dev\":{\"os\":0},\"ts\":2,\"long_text\":0,\"x\":3}}");
    lk_buf_free(&out);
    lk_schema_destroy(&s);
}
END_TEST

START_TEST(golden_tables)
{
    lk_delta_table *t = NULL;
    lk_error err;
    ck_assert_msg(lk_delta_open(GOLDEN "snapshot-data1", &t, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(lk_delta_version(t), 1);
    ck_assert_int_eq(lk_delta_nfiles(t), 4);
    ck_assert_str_eq(lk_schema_field(lk_delta_schema(t), 0)->name, "col1");
    /* every live file is read by our Parquet reader (Spark wrote them) */
    int64_t rows = 0;
    for (int i = 0; i < lk_delta_nfiles(t); i++) {
        char p[1024];
        snprintf(p, sizeof p, GOLDEN "snapshot-data1/%s", lk_delta_file_at(t, i)->path);
        lk_pq_reader *r = NULL;
        ck_assert_msg(lk_pq_reader_open(p, &r, &err) == 0, "%s", err.msg);
        lk_batch *b = NULL;
        for (int g = 0; g < lk_pq_reader_num_row_groups(r); g++) {
            ck_assert_msg(lk_pq_reader_read_row_group(r, g, NULL, 0, &b, &err) == 0, "%s", err.msg);
            rows += lk_batch_nrows(b);
        }
        lk_batch_destroy(&b);
        lk_pq_reader_destroy(&r);
    }
    ck_assert_int_eq(rows, 20);
    lk_delta_destroy(&t);
    ck_assert_int_eq(lk_delta_open(GOLDEN "deltalog-getChanges", &t, &err), 0);
    ck_assert_int_eq(lk_delta_version(t), 2);
    lk_delta_destroy(&t);
    ck_assert_int_eq(lk_delta_open(GOLDEN "versions-not-contiguous", &t, &err), LK_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "missing version 1"));
    ck_assert_int_eq(lk_delta_open(GOLDEN "deltalog-invalid-protocol-version", &t, &err),
                     LK_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "99"));
}
END_TEST

START_TEST(time_travel_by_version)
{
    lk_delta_table *t = NULL;
    lk_error err;
    ck_assert_int_eq(lk_delta_open(g_dir, &t, &err), 0);
    ck_assert_int_eq(append(t, "a.parquet", "app", 0, 1), 0);
    ck_assert_int_eq(append(t, "b.parquet", "app", 1, 0), 1);
    lk_delta_destroy(&t);
    lk_delta_table *v0 = NULL;
    ck_assert_int_eq(lk_delta_open_version(g_dir, 0, &v0, &err), 0);
    ck_assert_int_eq(lk_delta_version(v0), 0);
    ck_assert_int_eq(lk_delta_nfiles(v0), 1);
    ck_assert_int_eq(lk_delta_txn_version(v0, "app"), 0);
    ck_assert_int_eq(lk_delta_refresh(v0, &err), 0);
    ck_assert_int_eq(lk_delta_version(v0), 0); /* a snapshot at a version stays there */
    ck_assert_int_lt(append(v0, "c.parquet", NULL, 0, 0), 0); /* and is read-only */
    lk_delta_destroy(&v0);
    ck_assert_int_eq(lk_delta_open_version(g_dir, 5, &v0, &err), LK_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.msg, "the latest is 1"));
    ck_assert_int_lt(lk_delta_open_version(g_dir, -1, &v0, &err), 0);
    /* commitInfo carries operationMetrics, as Spark's DESCRIBE HISTORY shows */
    lk_buf log = LK_BUF_INIT;
    char p[512];
    snprintf(p, sizeof p, "%s/_delta_log/00000000000000000001.json", g_dir);
    ck_assert_int_eq(lk_fs_read_file(p, &log, 1 << 20, &err), 0);
    ck_assert_ptr_nonnull(strstr(log.data, "\"operationMetrics\":{\"numFiles\":\"1\",\"numOutputRows\":\"5\""));
    lk_buf_free(&log);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("delta_log");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, first_commit_and_replay);
    tcase_add_test(tc, occ_same_app_conflicts_blind_appends_retry);
    tcase_add_test(tc, concurrent_appends);
    tcase_add_test(tc, fault_leaves_no_partial_version);
    tcase_add_test(tc, stats_json_nested_and_truncated);
    tcase_add_test(tc, golden_tables);
    tcase_add_test(tc, time_travel_by_version);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
