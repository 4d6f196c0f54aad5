/* Unit tests for lake/lk_delta: log replay, commits, OCC races, stats JSON. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "lk_check.h"
#include "lk_delta.h"
#include "lk_fault.h"
#include "lk_fs.h"

#define GOLDEN LK_SOURCE_DIR "/tests/fixtures/delta-golden/"

static char *tmp_table(void)
{
    static char dir[256];
    lk_check_mkdtemp(dir, sizeof dir, "delta");
    return dir;
}

static lk_schema *test_schema(void)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "id", LK_TYPE_LONG, 0);
    lk_schema_add(s, "name", LK_TYPE_STRING, 1);
    return s;
}

static void read_version_file(const char *table, int64_t v, lk_buf *out)
{
    char p[512];
    snprintf(p, sizeof p, "%s/_delta_log/%020lld.json", table, (long long)v);
    lk_error err;
    lk_buf_reset(out);
    ck_assert_int_eq(lk_fs_read_file(p, out, 1 << 20, &err), 0);
}

/* Returns the n-th line (0-based) of text parsed as JSON. */
static yajl_val line_json(const char *text, int n)
{
    const char *p = text;
    for (int i = 0; i < n; i++) {
        p = strchr(p, '\n');
        ck_assert_ptr_nonnull(p);
        p++;
    }
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    char *s = strndup(p, len);
    yajl_val v = yajl_tree_parse(s, NULL, 0);
    free(s);
    ck_assert_ptr_nonnull(v);
    return v;
}

static const char *jstr(yajl_val v, const char *a, const char *b)
{
    const char *path[] = {a, b, NULL};
    yajl_val x = yajl_tree_get(v, path, yajl_t_string);
    return x ? YAJL_GET_STRING(x) : NULL;
}

static long long jint(yajl_val v, const char *a, const char *b)
{
    const char *path[] = {a, b, NULL};
    yajl_val x = yajl_tree_get(v, path, yajl_t_number);
    ck_assert_ptr_nonnull(x);
    return YAJL_GET_INTEGER(x);
}

static int64_t commit_one(lk_delta_table *t, const char *file, const lk_schema *s, const char *app,
                          int64_t txn_v)
{
    lk_delta_commit *c = lk_delta_commit_new(t, "WRITE");
    if (s) lk_delta_commit_set_schema(c, s);
    if (app) lk_delta_commit_set_txn(c, app, txn_v);
    if (file) lk_delta_commit_add_file(c, file, 100, 1700000000000LL, "{\"numRecords\":10}", 1);
    int64_t v = -1;
    lk_error err;
    int rc = lk_delta_commit_run(c, &v, &err);
    lk_delta_commit_destroy(&c);
    ck_assert_msg(rc == 0, "commit failed: %s", err.msg);
    return v;
}

START_TEST(first_commit)
{
    char *dir = tmp_table();
    lk_delta_table *t;
    lk_error err;
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), 0);
    ck_assert_int_eq(lk_delta_version(t), -1);
    ck_assert_ptr_null(lk_delta_schema(t));

    lk_schema *s = test_schema();
    lk_delta_commit *c = lk_delta_commit_new(t, "STREAMING UPDATE");
    lk_delta_commit_set_schema(c, s);
    lk_delta_commit_set_txn(c, "writer-1", 7);
    lk_delta_commit_set_param(c, "outputMode", "\"Append\"");
    lk_delta_commit_add_file(c, "part 1 #x.parquet", 1234, 1700000000000LL,
                             "{\"numRecords\":42,\"minValues\":{}}", 1);
    int64_t v;
    ck_assert_int_eq(lk_delta_commit_run(c, &v, &err), 0);
    lk_delta_commit_destroy(&c);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(lk_delta_version(t), 0);

    lk_buf b = LK_BUF_INIT;
    read_version_file(dir, 0, &b);
    yajl_val ci = line_json(b.data, 0);
    ck_assert_str_eq(jstr(ci, "commitInfo", "operation"), "STREAMING UPDATE");
    ck_assert_str_eq(jstr(ci, "commitInfo", "engineInfo"), "lakesupd/" LK_VERSION);
    ck_assert_int_eq(strlen(jstr(ci, "commitInfo", "txnId")), 36);
    const char *op[] = {"commitInfo", "operationParameters", "outputMode", NULL};
    ck_assert_str_eq(YAJL_GET_STRING(yajl_tree_get(ci, op, yajl_t_string)), "Append");
    const char *rv[] = {"commitInfo", "readVersion", NULL};
    ck_assert_ptr_null(yajl_tree_get(ci, rv, yajl_t_any));
    yajl_tree_free(ci);
    yajl_val pr = line_json(b.data, 1);
    ck_assert_int_eq(jint(pr, "protocol", "minReaderVersion"), 1);
    ck_assert_int_eq(jint(pr, "protocol", "minWriterVersion"), 2);
    yajl_tree_free(pr);
    yajl_val md = line_json(b.data, 2);
    ck_assert_int_eq(strlen(jstr(md, "metaData", "id")), 36);
    const char *ss = jstr(md, "metaData", "schemaString");
    ck_assert_ptr_nonnull(ss);
    lk_schema *back = NULL;
    ck_assert_int_eq(lk_schema_from_json(ss, strlen(ss), &back, &err), 0);
    ck_assert(lk_schema_equal(back, s));
    lk_schema_destroy(&back);
    const char *prov[] = {"metaData", "format", "provider", NULL};
    ck_assert_str_eq(YAJL_GET_STRING(yajl_tree_get(md, prov, yajl_t_string)), "parquet");
    yajl_tree_free(md);
    yajl_val tx = line_json(b.data, 3);
    ck_assert_str_eq(jstr(tx, "txn", "appId"), "writer-1");
    ck_assert_int_eq(jint(tx, "txn", "version"), 7);
    yajl_tree_free(tx);
    yajl_val ad = line_json(b.data, 4);
    ck_assert_str_eq(jstr(ad, "add", "path"), "part%201%20%23x.parquet");
    ck_assert_int_eq(jint(ad, "add", "size"), 1234);
    ck_assert_str_eq(jstr(ad, "add", "stats"), "{\"numRecords\":42,\"minValues\":{}}");
    yajl_tree_free(ad);

    /* parse back with a fresh handle */
    lk_delta_table *t2;
    ck_assert_int_eq(lk_delta_open(dir, &t2, &err), 0);
    ck_assert_int_eq(lk_delta_version(t2), 0);
    ck_assert_int_eq(lk_delta_nfiles(t2), 1);
    const lk_delta_file *f = lk_delta_file_at(t2, 0);
    ck_assert_str_eq(f->path, "part%201%20%23x.parquet");
    ck_assert_int_eq(f->size, 1234);
    ck_assert_int_eq(f->num_records, 42);
    ck_assert_str_eq(f->partition_values_json, "{}");
    ck_assert_int_eq(lk_delta_txn_version(t2, "writer-1"), 7);
    ck_assert_int_eq(lk_delta_txn_version(t2, "other"), -1);
    ck_assert(lk_schema_equal(lk_delta_schema(t2), s));
    ck_assert_int_eq(lk_delta_num_records(t2), 42);

    /* second commit: readVersion present, no protocol */
    commit_one(t, "b.parquet", NULL, NULL, 0);
    read_version_file(dir, 1, &b);
    ci = line_json(b.data, 0);
    ck_assert_int_eq(jint(ci, "commitInfo", "readVersion"), 0);
    yajl_tree_free(ci);
    ck_assert_ptr_null(strstr(b.data, "\"protocol\""));
    ck_assert_int_eq(lk_delta_refresh(t2, &err), 0);
    ck_assert_int_eq(lk_delta_version(t2), 1);
    ck_assert_int_eq(lk_delta_nfiles(t2), 2);

    lk_buf_free(&b);
    lk_schema_destroy(&s);
    lk_delta_destroy(&t);
    lk_delta_destroy(&t2);
    ck_assert_ptr_null(t);
}
END_TEST

START_TEST(first_commit_needs_schema)
{
    char *dir = tmp_table();
    lk_delta_table *t;
    lk_error err;
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), 0);
    lk_delta_commit *c = lk_delta_commit_new(t, "WRITE");
    lk_delta_commit_add_file(c, "a.parquet", 1, 1, NULL, 1);
    ck_assert_int_eq(lk_delta_commit_run(c, NULL, &err), LK_ESTATE);
    lk_delta_commit_destroy(&c);
    lk_delta_destroy(&t);
}
END_TEST

START_TEST(many_appends_remove_txn)
{
    char *dir = tmp_table();
    lk_delta_table *t;
    lk_error err;
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), 0);
    lk_schema *s = test_schema();
    commit_one(t, "f0.parquet", s, "app", 0);
    for (int i = 1; i < 200; i++) {
        char name[32];
        snprintf(name, sizeof name, "f%d.parquet", i);
        ck_assert_int_eq(commit_one(t, name, NULL, "app", i), i);
    }
    ck_assert_int_eq(lk_delta_nfiles(t), 200);
    ck_assert_int_eq(lk_delta_num_records(t), 2000);
    ck_assert_int_eq(lk_delta_txn_version(t, "app"), 199);

    /* remove two files, then re-add one of them */
    lk_delta_commit *c = lk_delta_commit_new(t, "DELETE");
    lk_delta_commit_remove_file(c, "f3.parquet", 1);
    lk_delta_commit_remove_file(c, "f4.parquet", 1);
    int64_t v;
    ck_assert_int_eq(lk_delta_commit_run(c, &v, &err), 0);
    lk_delta_commit_destroy(&c);
    ck_assert_int_eq(v, 200);
    ck_assert_int_eq(lk_delta_nfiles(t), 198);
    lk_buf b = LK_BUF_INIT;
    read_version_file(dir, 200, &b);
    yajl_val rm = line_json(b.data, 1);
    ck_assert_str_eq(jstr(rm, "remove", "path"), "f3.parquet");
    ck_assert_int_eq(jint(rm, "remove", "size"), 100);
    const char *efm[] = {"remove", "extendedFileMetadata", NULL};
    ck_assert(YAJL_IS_TRUE(yajl_tree_get(rm, efm, yajl_t_any)));
    yajl_tree_free(rm);
    yajl_val ci = line_json(b.data, 0);
    const char *ba[] = {"commitInfo", "isBlindAppend", NULL};
    ck_assert(YAJL_IS_FALSE(yajl_tree_get(ci, ba, yajl_t_any)));
    yajl_tree_free(ci);

    commit_one(t, "f3.parquet", NULL, NULL, 0);
    ck_assert_int_eq(lk_delta_nfiles(t), 199);
    lk_delta_table *t2;
    ck_assert_int_eq(lk_delta_open(dir, &t2, &err), 0);
    ck_assert_int_eq(lk_delta_version(t2), 201);
    ck_assert_int_eq(lk_delta_nfiles(t2), 199);
    int seen3 = 0, seen4 = 0;
    for (int i = 0; i < lk_delta_nfiles(t2); i++) {
        seen3 += strcmp(lk_delta_file_at(t2, i)->path, "f3.parquet") == 0;
        seen4 += strcmp(lk_delta_file_at(t2, i)->path, "f4.parquet") == 0;
    }
    ck_assert_int_eq(seen3, 1);
    ck_assert_int_eq(seen4, 0);
    ck_assert_ptr_null(lk_delta_file_at(t2, 199));
    lk_delta_destroy(&t2);
    lk_buf_free(&b);
    lk_schema_destroy(&s);
    lk_delta_destroy(&t);
}
END_TEST

START_TEST(gap_is_error)
{
    char *dir = tmp_table();
    lk_delta_table *t;
    lk_error err;
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), 0);
    lk_schema *s = test_schema();
    commit_one(t, "a", s, NULL, 0);
    commit_one(t, "b", NULL, NULL, 0);
    commit_one(t, "c", NULL, NULL, 0);
    lk_delta_destroy(&t);
    char p[512];
    snprintf(p, sizeof p, "%s/_delta_log/%020d.json", dir, 1);
    ck_assert_int_eq(unlink(p), 0);
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), LK_EFORMAT);
    ck_assert_ptr_null(t);
    ck_assert_ptr_nonnull(strstr(err.msg, "missing version 1"));
    lk_schema_destroy(&s);

    ck_assert_int_eq(lk_delta_open(GOLDEN "versions-not-contiguous", &t, &err), LK_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "missing version 1"));
}
END_TEST

START_TEST(missing_log_and_checkpoint_needed)
{
    lk_delta_table *t;
    lk_error err;
    char *dir = tmp_table();
    char sub[512];
    snprintf(sub, sizeof sub, "%s/not-yet", dir);
    ck_assert_int_eq(lk_delta_open(sub, &t, &err), 0);
    ck_assert_int_eq(lk_delta_version(t), -1);
    ck_assert_int_eq(lk_delta_nfiles(t), 0);
    ck_assert_int_eq(lk_delta_num_records(t), 0);
    ck_assert_int_eq(lk_delta_refresh(t, &err), 0);
    /* the first commit creates the directories */
    lk_schema *s = test_schema();
    ck_assert_int_eq(commit_one(t, "x.parquet", s, NULL, 0), 0);
    lk_delta_destroy(&t);

    /* JSON commits before the checkpoint were cleaned up: replay needs it */
    char p[512];
    snprintf(p, sizeof p, "%s/_delta_log/%020d.checkpoint.parquet", sub, 0);
    ck_assert_int_eq(lk_fs_put_if_absent(p, "PAR1", 4, &err), 0);
    snprintf(p, sizeof p, "%s/_delta_log/%020d.json", sub, 0);
    lk_buf b = LK_BUF_INIT;
    ck_assert_int_eq(lk_fs_read_file(p, &b, 1 << 20, &err), 0);
    ck_assert_int_eq(unlink(p), 0);
    snprintf(p, sizeof p, "%s/_delta_log/%020d.json", sub, 1);
    ck_assert_int_eq(lk_fs_put_if_absent(p, "{\"commitInfo\":{}}\n", 18, &err), 0);
    /* a corrupt checkpoint and no version 0: an error naming the checkpoint */
    ck_assert_int_eq(lk_delta_open(sub, &t, &err), LK_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "00000000000000000000.checkpoint.parquet"));
    ck_assert_ptr_nonnull(strstr(err.msg, "no checkpoint is readable"));
    /* with version 0 back, the checkpoint is ignored */
    snprintf(p, sizeof p, "%s/_delta_log/%020d.json", sub, 0);
    ck_assert_int_eq(lk_fs_put_if_absent(p, b.data, b.len, &err), 0);
    ck_assert_int_eq(lk_delta_open(sub, &t, &err), 0);
    ck_assert_int_eq(lk_delta_version(t), 1);
    ck_assert_int_eq(lk_delta_nfiles(t), 1);
    lk_delta_destroy(&t);
    lk_buf_free(&b);
    lk_schema_destroy(&s);
}
END_TEST

START_TEST(occ_same_app_conflict)
{
    char *dir = tmp_table();
    lk_delta_table *a, *b;
    lk_error err;
    ck_assert_int_eq(lk_delta_open(dir, &a, &err), 0);
    lk_schema *s = test_schema();
    commit_one(a, "base", s, NULL, 0);
    ck_assert_int_eq(lk_delta_open(dir, &b, &err), 0);

    /* both start from version 0; a wins with txn app=5 */
    lk_delta_commit *cb = lk_delta_commit_new(b, "STREAMING UPDATE");
    lk_delta_commit_set_txn(cb, "app", 5);
    lk_delta_commit_add_file(cb, "b1", 1, 1, NULL, 1);
    lk_delta_commit *cb2 = lk_delta_commit_new(b, "WRITE");
    lk_delta_commit_add_file(cb2, "b2", 1, 1, NULL, 1);
    commit_one(a, "a1", NULL, "app", 5);
    int64_t v;
    ck_assert_int_eq(lk_delta_commit_run(cb, &v, &err), LK_ECONFLICT);
    ck_assert_ptr_nonnull(strstr(err.msg, "concurrent transaction for appId app at version 1"));
    ck_assert_int_eq(lk_delta_version(b), 1);
    ck_assert_int_eq(lk_delta_txn_version(b, "app"), 5);
    /* a blind append from the same stale read is fine */
    lk_delta_table *c;
    ck_assert_int_eq(lk_delta_open(dir, &c, &err), 0);
    commit_one(a, "a2", NULL, NULL, 0);
    lk_delta_commit *cc = lk_delta_commit_new(c, "WRITE");
    lk_delta_commit_add_file(cc, "c1", 1, 1, NULL, 1);
    ck_assert_int_eq(lk_delta_commit_run(cc, &v, &err), 0);
    ck_assert_int_eq(v, 3);
    lk_delta_commit_destroy(&cc);
    ck_assert_int_eq(lk_delta_commit_run(cb2, &v, &err), 0);
    ck_assert_int_eq(v, 4);

    /* concurrent removes of the same file conflict */
    lk_delta_commit *r1 = lk_delta_commit_new(a, "DELETE");
    lk_delta_commit_remove_file(r1, "a1", 1);
    lk_delta_commit *r2 = lk_delta_commit_new(c, "DELETE");
    lk_delta_commit_remove_file(r2, "a1", 1);
    ck_assert_int_eq(lk_delta_refresh(c, &err), 0);
    ck_assert_int_eq(lk_delta_refresh(a, &err), 0);
    ck_assert_int_eq(lk_delta_commit_run(r1, &v, &err), 0);
    ck_assert_int_eq(lk_delta_commit_run(r2, &v, &err), LK_ECONFLICT);
    ck_assert_ptr_nonnull(strstr(err.msg, "removed concurrently"));

    /* a concurrent metaData change conflicts */
    lk_delta_commit *m = lk_delta_commit_new(c, "WRITE");
    lk_delta_commit_add_file(m, "m1", 1, 1, NULL, 1);
    lk_schema_add(s, "extra", LK_TYPE_INTEGER, 1);
    commit_one(a, NULL, s, NULL, 0);
    ck_assert_int_eq(lk_delta_commit_run(m, &v, &err), LK_ECONFLICT);
    ck_assert_ptr_nonnull(strstr(err.msg, "metaData"));
    ck_assert(lk_schema_equal(lk_delta_schema(c), s));

    /* a conflict is found even when the handle was refreshed after the commit began */
    lk_delta_commit *late = lk_delta_commit_new(c, "STREAMING UPDATE");
    lk_delta_commit_set_txn(late, "app2", 1);
    commit_one(a, "a3", NULL, "app2", 1);
    ck_assert_int_eq(lk_delta_refresh(c, &err), 0);
    ck_assert_int_eq(lk_delta_commit_run(late, &v, &err), LK_ECONFLICT);
    ck_assert_ptr_nonnull(strstr(err.msg, "concurrent transaction for appId app2"));
    lk_delta_commit_destroy(&late);

    lk_delta_commit_destroy(&m);
    lk_delta_commit_destroy(&r1);
    lk_delta_commit_destroy(&r2);
    lk_delta_commit_destroy(&cb);
    lk_delta_commit_destroy(&cb2);
    lk_schema_destroy(&s);
    lk_delta_destroy(&a);
    lk_delta_destroy(&b);
    lk_delta_destroy(&c);
}
END_TEST

START_TEST(concurrent_race)
{
    char *dir = tmp_table();
    lk_delta_table *t;
    lk_error err;
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), 0);
    lk_schema *s = test_schema();
    commit_one(t, NULL, s, NULL, 0);
    lk_schema_destroy(&s);
    enum { PER = 50 };
    pid_t pids[2];
    for (int w = 0; w < 2; w++) {
        pids[w] = fork();
        ck_assert_int_ge(pids[w], 0);
        if (pids[w] == 0) {
            lk_delta_table *ct;
            if (lk_delta_open(dir, &ct, &err)) _exit(2);
            for (int i = 0; i < PER; i++) {
                char name[64];
                snprintf(name, sizeof name, "w%d-%d.parquet", w, i);
                lk_delta_commit *c = lk_delta_commit_new(ct, "WRITE");
                lk_delta_commit_add_file(c, name, 10, 1, "{\"numRecords\":1}", 1);
                int rc = lk_delta_commit_run(c, NULL, &err);
                lk_delta_commit_destroy(&c);
                if (rc) {
                    fprintf(stderr, "child %d: %s\n", w, err.msg);
                    _exit(1);
                }
            }
            lk_delta_destroy(&ct);
            _exit(0);
        }
    }
    for (int w = 0; w < 2; w++) {
        int st;
        ck_assert_int_eq(waitpid(pids[w], &st, 0), pids[w]);
        ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    ck_assert_int_eq(lk_delta_refresh(t, &err), 0);
    ck_assert_int_eq(lk_delta_version(t), 2 * PER);
    ck_assert_int_eq(lk_delta_nfiles(t), 2 * PER);
    ck_assert_int_eq(lk_delta_num_records(t), 2 * PER);
    /* every add is present exactly once across the log */
    lk_buf b = LK_BUF_INIT, all = LK_BUF_INIT;
    for (int v = 1; v <= 2 * PER; v++) {
        read_version_file(dir, v, &b);
        lk_buf_append(&all, b.data, b.len);
    }
    for (int w = 0; w < 2; w++)
        for (int i = 0; i < PER; i++) {
            char name[80];
            snprintf(name, sizeof name, "\"path\":\"w%d-%d.parquet\"", w, i);
            char *p = strstr(all.data, name);
            ck_assert_ptr_nonnull(p);
            ck_assert_ptr_null(strstr(p + 1, name));
        }
    lk_buf_free(&b);
    lk_buf_free(&all);
    lk_delta_destroy(&t);
    /* both writers checkpointed as they went: a fresh reader starts at the
       last checkpoint (100) and sees every file once */
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), 0);
    ck_assert_int_eq(lk_delta_checkpoint_version(t), 2 * PER);
    ck_assert_int_eq(lk_delta_nfiles(t), 2 * PER);
    ck_assert_int_eq(lk_delta_num_records(t), 2 * PER);
    lk_delta_destroy(&t);
    /* One checkpoint per interval each, but at the version the writer's handle has caught up to
       after its commit (another writer's may have followed it: a checkpoint of any version is a
       valid one). Two of them fall on the same version only when one writer's catch-up spans a
       whole interval of the other's commits: a slow machine (the ASan pass in a fresh Debian
       once had 9). */
    char p[512];
    snprintf(p, sizeof p, "%s/_delta_log", dir);
    int cps = lk_check_count_names(p, NULL, "checkpoint.parquet");
    ck_assert_int_ge(cps, 2 * PER / 10 / 2);
    ck_assert_int_le(cps, 2 * PER / 10);
}
END_TEST

START_TEST(fault_enospc)
{
    char *dir = tmp_table();
    lk_delta_table *t;
    lk_error err;
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), 0);
    lk_schema *s = test_schema();
    commit_one(t, "a", s, NULL, 0);
    setenv("LAKESUP_FAULT", "fs.write=ENOSPC@1", 1);
    lk_fault_reload();
    lk_delta_commit *c = lk_delta_commit_new(t, "WRITE");
    lk_delta_commit_add_file(c, "b", 1, 1, NULL, 1);
    int64_t v;
    ck_assert_int_eq(lk_delta_commit_run(c, &v, &err), -ENOSPC);
    unsetenv("LAKESUP_FAULT");
    lk_fault_reload();
    char p[512];
    snprintf(p, sizeof p, "%s/_delta_log/%020d.json", dir, 1);
    ck_assert(!lk_fs_exists(p));
    /* no temp file left behind */
    snprintf(p, sizeof p, "%s/_delta_log", dir);
    ck_assert_int_eq(lk_check_count_names(p, "tmp", NULL), 0);
    ck_assert_int_eq(lk_delta_version(t), 0);
    ck_assert_int_eq(lk_delta_commit_run(c, &v, &err), 0);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(lk_delta_nfiles(t), 2);
    lk_delta_commit_destroy(&c);
    lk_schema_destroy(&s);
    lk_delta_destroy(&t);
}
END_TEST

static void golden(const char *name, int64_t version, int nfiles, const char *field0,
                   const char *field1)
{
    lk_delta_table *t;
    lk_error err;
    char p[512];
    snprintf(p, sizeof p, GOLDEN "%s", name);
    ck_assert_msg(lk_delta_open(p, &t, &err) == 0, "%s: %s", name, err.msg);
    ck_assert_int_eq(lk_delta_version(t), version);
    ck_assert_int_eq(lk_delta_nfiles(t), nfiles);
    const lk_schema *s = lk_delta_schema(t);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(lk_schema_field(s, 0)->name, field0);
    if (field1) ck_assert_str_eq(lk_schema_field(s, 1)->name, field1);
    lk_delta_destroy(&t);
}

START_TEST(golden_tables)
{
    golden("snapshot-data0", 0, 2, "col1", "col2");
    golden("snapshot-data1", 1, 4, "col1", "col2");
    golden("deltalog-getChanges", 2, 0, "part", NULL);
    golden("basic-decimal-table", 0, 4, "part", "col1");
    golden("only-checkpoint-files", 2, 7, "id", NULL);
    lk_delta_table *t;
    lk_error err;
    ck_assert_int_eq(lk_delta_open(GOLDEN "deltalog-getChanges", &t, &err), 0);
    ck_assert_int_eq(lk_delta_txn_version(t, "fakeAppId"), 3);
    lk_delta_destroy(&t);
    ck_assert_int_eq(lk_delta_open(GOLDEN "deltalog-invalid-protocol-version", &t, &err),
                     LK_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "minReaderVersion 99"));
}
END_TEST

START_TEST(reader_feature_refused)
{
    char *dir = tmp_table();
    char p[512];
    snprintf(p, sizeof p, "%s/_delta_log/%020d.json", dir, 0);
    lk_error err;
    ck_assert_int_eq(lk_fs_mkdirs(p, &err), 0);
    rmdir(p);
    const char *log = "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,"
                      "\"readerFeatures\":[\"deletionVectors\",\"variantType\"],"
                      "\"writerFeatures\":[]}}\n";
    ck_assert_int_eq(lk_fs_put_if_absent(p, log, strlen(log), &err), 0);
    lk_delta_table *t;
    /* deletionVectors is read; the first feature not implemented is named */
    ck_assert_int_eq(lk_delta_open(dir, &t, &err), LK_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "unsupported reader feature 'variantType'"));
}
END_TEST

START_TEST(stats_json)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "id", LK_TYPE_LONG, 0);
    lk_schema_add(s, "ts", LK_TYPE_TIMESTAMP, 1);
    lk_schema_add(s, "d", LK_TYPE_DATE, 1);
    lk_schema_add(s, "x", LK_TYPE_DOUBLE, 1);
    lk_schema_add(s, "s", LK_TYPE_STRING, 1);
    lk_field *dec = lk_schema_add(s, "amt", LK_TYPE_DECIMAL, 1);
    dec->precision = 10;
    dec->scale = 2;
    lk_field *dev = lk_schema_add(s, "device", LK_TYPE_STRUCT, 1);
    lk_field_add_child(dev, "os", LK_TYPE_STRING, 1);
    lk_field_add_child(dev, "ver", LK_TYPE_INTEGER, 1);
    lk_schema_add(s, "bin", LK_TYPE_BINARY, 1);
    lk_schema_add(s, "ok", LK_TYPE_BOOLEAN, 1);
    lk_schema_add(s, "nan", LK_TYPE_DOUBLE, 1);
    lk_field *tags = lk_schema_add(s, "tags", LK_TYPE_ARRAY, 1);
    lk_field_add_child(tags, "element", LK_TYPE_STRING, 1);
    /* field pointers only after the schema is complete (adds may move them) */
    const lk_field *os = lk_schema_find_path(s, "device.os");
    const lk_field *ver = lk_schema_find_path(s, "device.ver");
    const lk_field *el = &lk_schema_field(s, 10)->children[0];
    ck_assert_ptr_nonnull(os);
    ck_assert_ptr_nonnull(ver);

    /* 40 code points, the 32nd a 2-byte 'é' */
    char longs[64];
    memset(longs, 'a', 31);
    memcpy(longs + 31, "\xc3\xa9", 2);
    memset(longs + 33, 'z', 8);
    longs[41] = 0;
    lk_pq_leaf_stats L[] = {
        {"id", lk_schema_field(s, 0), 0, 0, {1, 1, 0, NULL, 0}, {1, 99, 0, NULL, 0}},
        {"ts",
         lk_schema_field(s, 1),
         0,
         2,
         {1, 1795512600123456LL, 0, NULL, 0},
         {1, 1795512601000000LL, 0, NULL, 0}},
        {"d", lk_schema_field(s, 2), 0, 0, {1, 0, 0, NULL, 0}, {1, 20416, 0, NULL, 0}},
        {"x", lk_schema_field(s, 3), 0, 0, {1, 0, -1.5, NULL, 0}, {1, 0, 0.1, NULL, 0}},
        {"s", lk_schema_field(s, 4), 0, 1, {1, 0, 0, "abc", 3}, {1, 0, 0, longs, 41}},
        {"amt", lk_schema_field(s, 5), 0, 0, {1, -5, 0, NULL, 0}, {1, 12345, 0, NULL, 0}},
        {"device.os", os, 0, 3, {1, 0, 0, "android", 7}, {1, 0, 0, "ios", 3}},
        {"device.ver", ver, 0, 4, {0, 0, 0, NULL, 0}, {0, 0, 0, NULL, 0}},
        {"bin", lk_schema_field(s, 7), 0, 0, {1, 0, 0, "\x01", 1}, {1, 0, 0, "\x02", 1}},
        {"ok", lk_schema_field(s, 8), 0, 0, {1, 0, 0, NULL, 0}, {1, 1, 0, NULL, 0}},
        {"nan",
         lk_schema_field(s, 9),
         0,
         0,
         {1, 0, 1.0 / 0.0, NULL, 0},
         {1, 0, 1.0 / 0.0, NULL, 0}},
        {"tags.list.element", el, 1, 0, {1, 0, 0, "a", 1}, {1, 0, 0, "b", 1}},
    };
    lk_pq_file_info info = {100, 5000, (int)(sizeof L / sizeof L[0]), L};
    lk_buf b = LK_BUF_INIT;
    lk_delta_stats_json(&info, &b);
    const char *want =
        "{\"numRecords\":100,"
        "\"minValues\":{\"id\":1,\"ts\":\"2026-11-24T09:30:00.123Z\",\"d\":\"1970-01-01\","
        "\"x\":-1.5,\"s\":\"abc\",\"amt\":-0.05,\"device\":{\"os\":\"android\"}},"
        "\"maxValues\":{\"id\":99,\"ts\":\"2026-11-24T09:30:01.000Z\",\"d\":\"2025-11-24\","
        "\"x\":0.1,\"s\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9\xf4\x8f\xbf\xbf\",\"amt\":123."
        "45,"
        "\"device\":{\"os\":\"ios\"}},"
        "\"nullCount\":{\"id\":0,\"ts\":2,\"d\":0,\"x\":0,\"s\":1,\"amt\":0,"
        "\"device\":{\"os\":3,\"ver\":4},\"bin\":0,\"ok\":0,\"nan\":0}}";
    ck_assert_str_eq(b.data, want);
    yajl_val v = yajl_tree_parse(b.data, NULL, 0);
    ck_assert_ptr_nonnull(v);
    yajl_tree_free(v);

    /* min of a long string: the 32-code-point prefix, no tie-breaker */
    L[4].min = L[4].max;
    lk_buf_reset(&b);
    lk_delta_stats_json(&info, &b);
    ck_assert_ptr_nonnull(strstr(b.data, "\"s\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9\","));

    /* a plane-16 character right after the prefix: no provable max, omitted */
    memcpy(longs + 33, "\xf4\x8f\xbf\xbf", 4);
    L[4].min = (lk_value){1, 0, 0, "abc", 3};
    lk_buf_reset(&b);
    lk_delta_stats_json(&info, &b);
    ck_assert_ptr_null(strstr(b.data, "\"s\":\"aaa"));
    ck_assert_ptr_nonnull(strstr(b.data, "\"s\":\"abc\""));
    lk_buf_free(&b);
    lk_schema_destroy(&s);
}
END_TEST

/* Date stats far from the epoch: years before 1000 keep four digits, the
   proleptic Gregorian calendar runs back through year 0. */
START_TEST(stats_json_dates)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "d", LK_TYPE_DATE, 1);
    lk_pq_leaf_stats L[] = {
        {"d", lk_schema_field(s, 0), 0, 0, {1, -719468, 0, NULL, 0}, {1, 2932896, 0, NULL, 0}},
    };
    lk_pq_file_info info = {1, 100, 1, L};
    lk_buf b = LK_BUF_INIT;
    lk_delta_stats_json(&info, &b);
    ck_assert_str_eq(b.data, "{\"numRecords\":1,\"minValues\":{\"d\":\"0000-03-01\"},"
                             "\"maxValues\":{\"d\":\"9999-12-31\"},\"nullCount\":{\"d\":0}}");
    L[0].min.i = -1;
    L[0].max.i = 59;
    lk_buf_reset(&b);
    lk_delta_stats_json(&info, &b);
    ck_assert_ptr_nonnull(strstr(b.data, "\"minValues\":{\"d\":\"1969-12-31\"}"));
    ck_assert_ptr_nonnull(strstr(b.data, "\"maxValues\":{\"d\":\"1970-03-01\"}"));
    lk_buf_free(&b);
    lk_schema_destroy(&s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("delta");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, first_commit);
    tcase_add_test(tc, first_commit_needs_schema);
    tcase_add_test(tc, many_appends_remove_txn);
    tcase_add_test(tc, gap_is_error);
    tcase_add_test(tc, missing_log_and_checkpoint_needed);
    tcase_add_test(tc, occ_same_app_conflict);
    tcase_add_test(tc, concurrent_race);
    tcase_add_test(tc, fault_enospc);
    tcase_add_test(tc, golden_tables);
    tcase_add_test(tc, reader_feature_refused);
    tcase_add_test(tc, stats_json);
    tcase_add_test(tc, stats_json_dates);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
