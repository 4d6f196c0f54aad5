/* Unit tests for schema/lk_state (state.db). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_fault.h"
#include "lk_state.h"

static char g_dir[256], g_db[512];

static void setup(void)
{
    lk_check_mkdtemp(g_dir, sizeof g_dir, "state");
    snprintf(g_db, sizeof g_db, "%s/state.db", g_dir);
}

static void teardown(void)
{
    lk_check_rm_rf(g_dir);
}

static int64_t add_file(lk_state *s, const char *path, int64_t size, int *is_new)
{
    lk_state_file f;
    memset(&f, 0, sizeof f);
    snprintf(f.path, sizeof f.path, "%s", path);
    f.size = size;
    f.mtime_us = 1000;
    lk_error err;
    ck_assert_int_eq(lk_state_file_add(s, &f, is_new, &err), 0);
    return f.id;
}

START_TEST(files_batches_commits)
{
    lk_state *s = NULL;
    lk_error err;
    ck_assert_int_eq(lk_state_open(g_db, &s, &err), 0);
    int is_new;
    int64_t a = add_file(s, "/in/a.jsonl", 10, &is_new);
    ck_assert(is_new);
    ck_assert_int_eq(add_file(s, "/in/a.jsonl", 10, &is_new), a);
    ck_assert(!is_new);
    add_file(s, "/in/a.jsonl", 20, &is_new); /* changed: a new version */
    ck_assert(is_new);
    add_file(s, "/in/b.jsonl", 5, &is_new);
    lk_state_file *pend = NULL;
    int n = 0;
    ck_assert_int_eq(lk_state_files_pending(s, 2, &pend, &n, &err), 0);
    ck_assert_int_eq(n, 2);
    lk_state_range rg[2];
    memset(rg, 0, sizeof rg);
    for (int i = 0; i < 2; i++) {
        rg[i].file_id = pend[i].id;
        rg[i].end = pend[i].size;
    }
    free(pend);
    int64_t b0, b1;
    ck_assert_int_eq(lk_state_plan_batch(s, rg, 2, &b0, &err), 0);
    ck_assert_int_eq(b0, 0);
    ck_assert_int_eq(lk_state_files_pending(s, 10, &pend, &n, &err), 0);
    ck_assert_int_eq(n, 1);
    rg[0].file_id = pend[0].id;
    rg[0].end = 5;
    free(pend);
    ck_assert_int_eq(lk_state_plan_batch(s, rg, 1, &b1, &err), 0);
    ck_assert_int_eq(b1, 1);
    lk_state_range *got = NULL;
    ck_assert_int_eq(lk_state_batch_ranges(s, 0, &got, &n, &err), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(got[0].path, "/in/a.jsonl");
    ck_assert_int_eq(got[1].end, 20);
    free(got);
    ck_assert_int_eq(lk_state_seal_batch(s, 0, 3, &err), 0);
    lk_state_batch sb;
    ck_assert_int_eq(lk_state_batch_get(s, 0, &sb, &err), 0);
    ck_assert_int_eq(sb.state, LK_BATCH_SEALED);
    ck_assert_int_eq(sb.n_chunks, 3);
    ck_assert_int_eq(lk_state_batch_get(s, 9, &sb, &err), LK_ENOTFOUND);
    int64_t *ids = NULL;
    ck_assert_int_eq(lk_state_batches_uncommitted(s, &ids, &n, &err), 0);
    ck_assert_int_eq(n, 2);
    free(ids);
    ck_assert_int_eq(lk_state_record_commit(s, 0, "raw_events", 0, 10, 1, &err), 0);
    ck_assert_int_eq(lk_state_record_commit(s, 0, "raw_events", 0, 10, 1, &err), 0); /* idempotent */
    ck_assert_int_eq(lk_state_mark_committed(s, 0, &err), 0);
    int64_t last;
    ck_assert_int_eq(lk_state_last_committed_batch(s, &last, &err), 0);
    ck_assert_int_eq(last, 0);
    ck_assert_int_eq(lk_state_batches_uncommitted(s, &ids, &n, &err), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(ids[0], 1);
    free(ids);
    /* an injected failure at commit rolls the whole plan back */
    setenv("LAKESUP_FAULT", "state.commit=EIO", 1);
    lk_fault_reload();
    int64_t b2 = -1;
    ck_assert_int_lt(lk_state_plan_batch(s, rg, 1, &b2, &err), 0);
    unsetenv("LAKESUP_FAULT");
    lk_fault_reload();
    ck_assert_int_eq(lk_state_batches_uncommitted(s, &ids, &n, &err), 0);
    ck_assert_int_eq(n, 1);
    free(ids);
    lk_state_close(&s);
    ck_assert_ptr_null(s);
    /* reopen: everything is still there */
    ck_assert_int_eq(lk_state_open(g_db, &s, &err), 0);
    ck_assert_int_eq(lk_state_last_committed_batch(s, &last, &err), 0);
    ck_assert_int_eq(last, 0);
    lk_state_close(&s);
}
END_TEST

START_TEST(schemas_and_meta)
{
    lk_state *s = NULL;
    lk_error err;
    ck_assert_int_eq(lk_state_open(g_db, &s, &err), 0);
    lk_schema *sc = lk_schema_new();
    lk_schema_add(sc, "a", LK_TYPE_LONG, 1);
    int v;
    ck_assert_int_eq(lk_state_schema_put(s, "raw_events", sc, &v, &err), 0);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(lk_state_schema_put(s, "raw_events", sc, &v, &err), 0);
    ck_assert_int_eq(v, 1); /* unchanged: no new version */
    lk_schema_add(sc, "b", LK_TYPE_STRING, 1);
    ck_assert_int_eq(lk_state_schema_put(s, "raw_events", sc, &v, &err), 0);
    ck_assert_int_eq(v, 2);
    lk_schema *got = NULL;
    ck_assert_int_eq(lk_state_schema_get(s, "raw_events", &got, &v, &err), 0);
    ck_assert(lk_schema_equal(got, sc));
    lk_schema_destroy(&got);
    ck_assert_int_eq(lk_state_schema_at(s, "raw_events", 1, &got, &err), 0);
    ck_assert_int_eq(lk_schema_nfields(got), 1);
    lk_schema_destroy(&got);
    ck_assert_int_eq(lk_state_schema_at(s, "raw_events", 5, &got, &err), LK_ENOTFOUND);
    ck_assert_int_eq(lk_state_schema_get(s, "nope", &got, &v, &err), 0);
    ck_assert_ptr_null(got);
    char val[64];
    int found;
    ck_assert_int_eq(lk_state_meta_get(s, "query_id", val, sizeof val, &found, &err), 0);
    ck_assert(!found);
    ck_assert_int_eq(lk_state_meta_set(s, "query_id", "q1", &err), 0);
    ck_assert_int_eq(lk_state_meta_get(s, "query_id", val, sizeof val, &found, &err), 0);
    ck_assert(found);
    ck_assert_str_eq(val, "q1");
    lk_schema_destroy(&sc);
    lk_state_close(&s);
}
END_TEST

/* Two processes write at once (ingest plans, committer commits) without a
   single SQLITE_BUSY failure. */
START_TEST(concurrent_writers)
{
    lk_state *s = NULL;
    lk_error err;
    ck_assert_int_eq(lk_state_open(g_db, &s, &err), 0);
    lk_state_close(&s);
    pid_t pid = fork();
    if (pid == 0) {
        lk_state *c = NULL;
        if (lk_state_open(g_db, &c, NULL))
            _exit(2);
        for (int i = 0; i < 200; i++) {
            lk_state_file f;
            memset(&f, 0, sizeof f);
            snprintf(f.path, sizeof f.path, "/c%d", i);
            f.size = 1;
            int is_new;
            if (lk_state_file_add(c, &f, &is_new, NULL) || lk_state_meta_set(c, "k", f.path, NULL))
                _exit(3);
        }
        lk_state_close(&c);
        _exit(0);
    }
    ck_assert_int_eq(lk_state_open(g_db, &s, &err), 0);
    for (int i = 0; i < 200; i++) {
        char p[32];
        snprintf(p, sizeof p, "/f%d", i);
        int is_new;
        int64_t id = add_file(s, p, 1, &is_new);
        lk_state_range rg = {0};
        rg.file_id = id;
        rg.end = 1;
        int64_t b;
        ck_assert_int_eq(lk_state_plan_batch(s, &rg, 1, &b, &err), 0);
        ck_assert_int_eq(b, i);
    }
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    lk_state_close(&s);
}
END_TEST

START_TEST(corrupt_database_is_named)
{
    FILE *f = fopen(g_db, "wb");
    for (int i = 0; i < 400; i++)
        fputs("this is not a database ", f);
    fclose(f);
    lk_state *s = NULL;
    lk_error err;
    ck_assert_int_eq(lk_state_open(g_db, &s, &err), LK_ESTATE);
    ck_assert_ptr_nonnull(strstr(err.msg, g_db));
    ck_assert_ptr_null(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("state");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, files_batches_commits);
    tcase_add_test(tc, schemas_and_meta);
    tcase_add_test(tc, concurrent_writers);
    tcase_add_test(tc, corrupt_database_is_named);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
