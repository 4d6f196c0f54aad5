/* Unit tests for lake/lk_delta_history: commit timestamps (file mtimes made
   monotonic, In-Commit Timestamps), time travel by timestamp and its errors,
   timestamp argument parsing. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_delta.h"
#include "lk_delta_history.h"
#include "lk_fs.h"

static char *tmp_dir(void)
{
    static char dir[256];
    lk_check_mkdtemp(dir, sizeof dir, "hist");
    return dir;
}

static void set_mtime(const char *dir, int v, int64_t ms)
{
    char p[512];
    snprintf(p, sizeof p, "%s/_delta_log/%020d.json", dir, v);
    struct timeval tv[2] = {{ms / 1000, (ms % 1000) * 1000}, {ms / 1000, (ms % 1000) * 1000}};
    ck_assert_int_eq(utimes(p, tv), 0);
}

/* Versions 0..4, one file each; version v's file is "f<v>". */
static void make_table(const char *dir)
{
    lk_delta_table *t;
    lk_error err;
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), 0);
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "id", LK_TYPE_LONG, 0);
    for (int v = 0; v < 5; v++) {
        lk_delta_commit *c = lk_delta_commit_new(t, "WRITE");
        if (v == 0) lk_delta_commit_set_schema(c, s);
        char name[16];
        snprintf(name, sizeof name, "f%d", v);
        lk_delta_commit_add_file(c, name, 1, 1, NULL, 1);
        int64_t got;
        ck_assert_int_eq(lk_delta_commit_run(c, &got, &err), 0);
        ck_assert_int_eq(got, v);
        lk_delta_commit_destroy(&c);
    }
    lk_schema_destroy(&s);
    lk_delta_destroy(&t);
}

static int64_t version_at(const char *dir, int64_t ts, int expect_rc, lk_error *err)
{
    lk_delta_table *t = NULL;
    int rc = lk_delta_open_timestamp(dir, ts, &t, err);
    ck_assert_msg(rc == expect_rc, "ts %lld: rc %d: %s", (long long)ts, rc, err->msg);
    int64_t v = t ? lk_delta_version(t) : -1;
    if (t) ck_assert_int_eq(lk_delta_nfiles(t), v + 1);
    lk_delta_destroy(&t);
    return v;
}

START_TEST(timestamp_by_mtime)
{
    char *dir = tmp_dir();
    make_table(dir);
    const int64_t base = 1700000000000LL;
    /* version 2's clock went backwards: Spark's rule makes it 3001 */
    set_mtime(dir, 0, base + 1000);
    set_mtime(dir, 1, base + 3000);
    set_mtime(dir, 2, base + 2000);
    set_mtime(dir, 3, base + 5000);
    set_mtime(dir, 4, base + 9000);
    lk_delta_history *h;
    lk_error err;
    ck_assert_int_eq(lk_delta_history_open(dir, &h, &err), 0);
    ck_assert_int_eq(lk_delta_history_count(h), 5);
    ck_assert_int_eq(lk_delta_history_at(h, 2)->timestamp, base + 3001);
    ck_assert_int_eq(lk_delta_history_at(h, 2)->file_mtime, base + 2000);
    ck_assert_ptr_nonnull(strstr(lk_delta_history_at(h, 2)->commit_info_json, "\"WRITE\""));
    lk_delta_history_destroy(&h);

    ck_assert_int_eq(version_at(dir, base + 1000, 0, &err), 0);
    ck_assert_int_eq(version_at(dir, base + 2999, 0, &err), 0);
    ck_assert_int_eq(version_at(dir, base + 3000, 0, &err), 1);
    ck_assert_int_eq(version_at(dir, base + 3001, 0, &err), 2);
    ck_assert_int_eq(version_at(dir, base + 4999, 0, &err), 2);
    ck_assert_int_eq(version_at(dir, base + 9000, 0, &err), 4);
    version_at(dir, base + 999, LK_ENOTFOUND, &err);
    ck_assert_ptr_nonnull(strstr(err.msg, "before the earliest retained version 0"));
    ck_assert_ptr_nonnull(strstr(err.msg, dir));
    version_at(dir, base + 9001, LK_ENOTFOUND, &err);
    ck_assert_ptr_nonnull(strstr(err.msg, "after the latest version 4"));
    ck_assert_ptr_nonnull(strstr(err.msg, "2023-11-14T22:13:29.000Z"));
}
END_TEST

START_TEST(timestamp_in_commit)
{
    char *dir = tmp_dir();
    char p[512];
    lk_error err;
    const char *v0 =
        "{\"commitInfo\":{\"inCommitTimestamp\":5000,\"timestamp\":1,\"operation\":\"CREATE\"}}\n"
        "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":7,\"writerFeatures\":"
        "[\"inCommitTimestamp\"]}}\n"
        "{\"metaData\":{\"id\":\"x\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"
        "\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[]}\","
        "\"partitionColumns\":[],\"configuration\":{\"delta.enableInCommitTimestamps\":\"true\","
        "\"delta.inCommitTimestampEnablementVersion\":\"0\"},\"createdTime\":1}}\n";
    const char *v1 = "{\"commitInfo\":{\"inCommitTimestamp\":7000,\"operation\":\"WRITE\"}}\n"
                     "{\"add\":{\"path\":\"a\",\"partitionValues\":{},\"size\":1,"
                     "\"modificationTime\":1,\"dataChange\":true}}\n";
    snprintf(p, sizeof p, "%s/_delta_log/%020d.json", dir, 0);
    ck_assert_int_eq(lk_fs_mkdirs(p, &err), 0);
    rmdir(p);
    ck_assert_int_eq(lk_fs_put_if_absent(p, v0, strlen(v0), &err), 0);
    snprintf(p, sizeof p, "%s/_delta_log/%020d.json", dir, 1);
    ck_assert_int_eq(lk_fs_put_if_absent(p, v1, strlen(v1), &err), 0);
    /* file times say otherwise: they must be ignored */
    set_mtime(dir, 0, 90000);
    set_mtime(dir, 1, 10000);
    lk_delta_table *t;
    ck_assert_int_eq(lk_delta_open_timestamp(dir, 6999, &t, &err), 0);
    ck_assert_int_eq(lk_delta_version(t), 0);
    lk_delta_destroy(&t);
    ck_assert_int_eq(lk_delta_open_timestamp(dir, 7000, &t, &err), 0);
    ck_assert_int_eq(lk_delta_version(t), 1);
    ck_assert_int_eq(lk_delta_nfiles(t), 1);
    lk_delta_destroy(&t);
    ck_assert_int_eq(lk_delta_open_timestamp(dir, 4999, &t, &err), LK_ENOTFOUND);
}
END_TEST

START_TEST(parse_timestamp)
{
    int64_t ms;
    lk_error err;
    ck_assert_int_eq(lk_delta_parse_timestamp("1700000000123", &ms, &err), 0);
    ck_assert_int_eq(ms, 1700000000123LL);
    ck_assert_int_eq(lk_delta_parse_timestamp("2023-11-14T22:13:20.123Z", &ms, &err), 0);
    ck_assert_int_eq(ms, 1700000000123LL);
    ck_assert_int_eq(lk_delta_parse_timestamp("2023-11-15T00:13:20+02:00", &ms, &err), 0);
    ck_assert_int_eq(ms, 1700000000000LL);
    ck_assert_int_eq(lk_delta_parse_timestamp("yesterday", &ms, &err), LK_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "yesterday"));
}
END_TEST

START_TEST(no_table)
{
    char *dir = tmp_dir();
    lk_delta_table *t;
    lk_error err;
    ck_assert_int_eq(lk_delta_open_timestamp(dir, 1, &t, &err), LK_ENOTFOUND);
    ck_assert_ptr_null(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("delta_history");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, timestamp_by_mtime);
    tcase_add_test(tc, timestamp_in_commit);
    tcase_add_test(tc, parse_timestamp);
    tcase_add_test(tc, no_table);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
