/* Unit tests for schema/lk_state: state.db round trips, fault-injected
   rollback, two processes writing at once, and a corrupt file. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_fault.h"
#include "lk_state.h"

static char dir[256];
static char dbpath[512];

static void setup(void)
{
    lk_check_mkdtemp(dir, sizeof dir, "state");
    snprintf(dbpath, sizeof dbpath, "%s/state.db", dir);
}

static void teardown(void)
{
    lk_check_rm_rf(dir);
}

static int64_t add_file(lk_state *s, const char *path, int64_t size, int64_t mtime, int *is_new)
{
    lk_state_file f;
    memset(&f, 0, sizeof f);
    snprintf(f.path, sizeof f.path, "%s", path);
    f.size = size;
    f.mtime_us = mtime;
    lk_error err;
    ck_assert_msg(lk_state_file_add(s, &f, is_new, &err) == 0, "%s", err.msg);
    return f.id;
}

START_TEST(open_reopen_meta)
{
    lk_state *s = NULL;
    lk_error err;
    ck_assert_msg(lk_state_open(dbpath, &s, &err) == 0, "%s", err.msg);
    char v[64];
    int found = 1;
    ck_assert_int_eq(lk_state_meta_get(s, "k", v, sizeof v, &found, &err), 0);
    ck_assert_int_eq(found, 0);
    ck_assert_int_eq(lk_state_meta_set(s, "k", "one", &err), 0);
    ck_assert_int_eq(lk_state_meta_set(s, "k", "two", &err), 0);
    lk_state_close(&s);
    ck_assert_ptr_null(s);
    ck_assert_msg(lk_state_open(dbpath, &s, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(lk_state_meta_get(s, "k", v, sizeof v, &found, &err), 0);
    ck_assert_int_eq(found, 1);
    ck_assert_str_eq(v, "two");
    lk_state_close(&s);
    lk_state_close(&s); /* NULL is fine */
}
END_TEST

START_TEST(files_add_duplicates)
{
    lk_state *s = NULL;
    lk_error err;
    ck_assert_int_eq(lk_state_open(dbpath, &s, &err), 0);
    int is_new;
    int64_t a = add_file(s, "/in/a.json", 10, 100, &is_new);
    ck_assert_int_eq(is_new, 1);
    int64_t a2 = add_file(s, "/in/a.json", 10, 100, &is_new);
    ck_assert_int_eq(is_new, 0);
    ck_assert_int_eq(a, a2);
    int64_t a3 = add_file(s, "/in/a.json", 20, 200, &is_new); /* rewritten file */
    ck_assert_int_eq(is_new, 1);
    ck_assert_int_ne(a3, a);
    add_file(s, "/in/b.json", 5, 100, &is_new);
    int known = 0;
    ck_assert_int_eq(lk_state_file_known(s, "/in/b.json", &known, &err), 0);
    ck_assert_int_eq(known, 1);
    ck_assert_int_eq(lk_state_file_known(s, "/in/zzz.json", &known, &err), 0);
    ck_assert_int_eq(known, 0);
    lk_state_file *fs;
    int n;
    ck_assert_int_eq(lk_state_files_pending(s, 10, &fs, &n, &err), 0);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(fs[0].state, LK_FILE_PENDING);
    ck_assert_int_eq(fs[0].batch_id, -1);
    free(fs);
    ck_assert_int_eq(lk_state_file_skip(s, a, "bad gzip", &err), 0);
    ck_assert_int_eq(lk_state_file_skip(s, 9999, "x", &err), LK_ENOTFOUND);
    ck_assert_int_eq(lk_state_files_pending(s, 1, &fs, &n, &err), 0);
    ck_assert_int_eq(n, 1);
    free(fs);
    ck_assert_int_eq(lk_state_files_all(s, &fs, &n, &err), 0);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(fs[0].id, a);
    ck_assert_int_eq(fs[0].state, LK_FILE_SKIPPED);
    ck_assert_str_eq(fs[0].error, "bad gzip");
    ck_assert_str_eq(fs[0].path, "/in/a.json");
    ck_assert_int_eq(fs[0].size, 10);
    free(fs);
    lk_state_close(&s);
}
END_TEST

START_TEST(batches_round_trip)
{
    lk_state *s = NULL;
    lk_error err;
    ck_assert_int_eq(lk_state_open(dbpath, &s, &err), 0);
    int is_new;
    int64_t a = add_file(s, "/in/a.json", 100, 1, &is_new);
    int64_t b = add_file(s, "/in/b.json", 50, 2, &is_new);
    int64_t c = add_file(s, "/in/c.json", 70, 3, &is_new);
    int64_t last = 0;
    ck_assert_int_eq(lk_state_last_committed_batch(s, &last, &err), 0);
    ck_assert_int_eq(last, -1);

    lk_state_range r0[2] = {{.file_id = a, .start = 0, .end = 100},
                            {.file_id = b, .start = 0, .end = 50}};
    int64_t id0 = -5, id1 = -5;
    ck_assert_msg(lk_state_plan_batch(s, r0, 2, &id0, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(id0, 0);
    lk_state_range r1[1] = {{.file_id = c, .start = 0, .end = 70}};
    ck_assert_int_eq(lk_state_plan_batch(s, r1, 1, &id1, &err), 0);
    ck_assert_int_eq(id1, 1);

    lk_state_range *rs;
    int n;
    ck_assert_int_eq(lk_state_batch_ranges(s, 0, &rs, &n, &err), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(rs[0].file_id, a);
    ck_assert_str_eq(rs[0].path, "/in/a.json");
    ck_assert_int_eq(rs[0].end, 100);
    ck_assert_int_eq(rs[0].file_size, 100);
    ck_assert_int_eq(rs[0].mtime_us, 1);
    ck_assert_int_eq(rs[1].file_id, b);
    ck_assert_str_eq(rs[1].path, "/in/b.json");
    free(rs);

    lk_state_batch bt;
    ck_assert_int_eq(lk_state_batch_get(s, 0, &bt, &err), 0);
    ck_assert_int_eq(bt.state, LK_BATCH_PLANNED);
    ck_assert_int_eq(bt.n_chunks, -1);
    ck_assert_int_eq(bt.bytes, 150);
    ck_assert_int_eq(lk_state_batch_get(s, 42, &bt, &err), LK_ENOTFOUND);
    ck_assert_int_eq(lk_state_seal_batch(s, 0, 3, &err), 0);
    ck_assert_int_eq(lk_state_batch_get(s, 0, &bt, &err), 0);
    ck_assert_int_eq(bt.state, LK_BATCH_SEALED);
    ck_assert_int_eq(bt.n_chunks, 3);
    ck_assert_int_eq(lk_state_seal_batch(s, 0, 3, &err), LK_ESTATE); /* already sealed */

    lk_state_file *fs;
    ck_assert_int_eq(lk_state_files_pending(s, 10, &fs, &n, &err), 0);
    ck_assert_int_eq(n, 0);
    free(fs);

    int64_t *ids;
    ck_assert_int_eq(lk_state_batches_uncommitted(s, &ids, &n, &err), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(ids[0], 0);
    ck_assert_int_eq(ids[1], 1);
    free(ids);

    ck_assert_int_eq(lk_state_record_commit(s, 0, "raw_events", 7, 10, 1, &err), 0);
    ck_assert_int_eq(lk_state_record_commit(s, 0, "raw_events", 7, 10, 1, &err), 0);
    ck_assert_int_eq(lk_state_record_commit(s, 0, "raw_events", 8, 10, 1, &err), LK_ESTATE);
    ck_assert_int_eq(lk_state_record_commit(s, 0, "processed_events", 3, 9, 1, &err), 0);
    ck_assert_int_eq(lk_state_mark_committed(s, 0, &err), 0);
    ck_assert_int_eq(lk_state_mark_committed(s, 77, &err), LK_ENOTFOUND);
    ck_assert_int_eq(lk_state_batch_get(s, 0, &bt, &err), 0);
    ck_assert_int_eq(bt.state, LK_BATCH_COMMITTED);
    ck_assert_int_gt(bt.committed_at_us, 0);
    ck_assert_int_eq(lk_state_last_committed_batch(s, &last, &err), 0);
    ck_assert_int_eq(last, 0);
    ck_assert_int_eq(lk_state_batches_uncommitted(s, &ids, &n, &err), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(ids[0], 1);
    free(ids);
    ck_assert_int_eq(lk_state_files_all(s, &fs, &n, &err), 0);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(fs[0].state, LK_FILE_COMMITTED);
    ck_assert_int_eq(fs[1].state, LK_FILE_COMMITTED);
    ck_assert_int_eq(fs[2].state, LK_FILE_PLANNED);
    ck_assert_int_eq(fs[2].batch_id, 1);
    free(fs);
    /* a range naming no known file violates the foreign key: loud, no batch */
    lk_state_range bad = {.file_id = 12345, .start = 0, .end = 1};
    int64_t id2;
    ck_assert_int_eq(lk_state_plan_batch(s, &bad, 1, &id2, &err), LK_ESTATE);
    ck_assert_ptr_nonnull(strstr(err.msg, "plan batch"));
    ck_assert_int_eq(lk_state_batch_get(s, 2, &bt, &err), LK_ENOTFOUND);
    lk_state_close(&s);
}
END_TEST

START_TEST(schemas_history)
{
    lk_state *s = NULL;
    lk_error err;
    ck_assert_int_eq(lk_state_open(dbpath, &s, &err), 0);
    lk_schema *got = NULL;
    int v = -1;
    ck_assert_int_eq(lk_state_schema_get(s, "raw_events", &got, &v, &err), 0);
    ck_assert_ptr_null(got);
    ck_assert_int_eq(v, 0);

    lk_schema *s1 = lk_schema_new();
    lk_schema_add(s1, "id", LK_TYPE_LONG, 1);
    ck_assert_int_eq(lk_state_schema_put(s, "raw_events", s1, &v, &err), 0);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(lk_state_schema_put(s, "raw_events", s1, &v, &err), 0);
    ck_assert_int_eq(v, 1); /* unchanged: no new version */
    lk_schema *s2 = lk_schema_clone(s1);
    lk_schema_add(s2, "name", LK_TYPE_STRING, 1);
    ck_assert_int_eq(lk_state_schema_put(s, "raw_events", s2, &v, &err), 0);
    ck_assert_int_eq(v, 2);
    ck_assert_int_eq(lk_state_schema_put(s, "other", s2, &v, &err), 0);
    ck_assert_int_eq(v, 1);

    ck_assert_int_eq(lk_state_schema_get(s, "raw_events", &got, &v, &err), 0);
    ck_assert_int_eq(v, 2);
    ck_assert(lk_schema_equal(got, s2));
    lk_schema_destroy(&got);
    ck_assert_int_eq(lk_state_schema_at(s, "raw_events", 1, &got, &err), 0);
    ck_assert(lk_schema_equal(got, s1));
    lk_schema_destroy(&got);
    ck_assert_int_eq(lk_state_schema_at(s, "raw_events", 3, &got, &err), LK_ENOTFOUND);
    ck_assert_ptr_null(got);
    lk_schema_destroy(&s1);
    lk_schema_destroy(&s2);
    lk_state_close(&s);
}
END_TEST

START_TEST(injected_failure_rolls_back)
{
    lk_state *s = NULL;
    lk_error err;
    ck_assert_int_eq(lk_state_open(dbpath, &s, &err), 0);
    int is_new;
    int64_t a = add_file(s, "/in/a.json", 100, 1, &is_new);
    lk_state_range r = {.file_id = a, .start = 0, .end = 100};
    int64_t id = -1;
    setenv("LAKESUP_FAULT", "state.commit=EIO", 1);
    lk_fault_reload();
    ck_assert_int_eq(lk_state_plan_batch(s, &r, 1, &id, &err), -EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "plan batch"));
    unsetenv("LAKESUP_FAULT");
    lk_fault_reload();
    /* no half batch: no batch row, no ranges, file still pending */
    lk_state_batch bt;
    ck_assert_int_eq(lk_state_batch_get(s, 0, &bt, &err), LK_ENOTFOUND);
    lk_state_range *rs;
    int n;
    ck_assert_int_eq(lk_state_batch_ranges(s, 0, &rs, &n, &err), 0);
    ck_assert_int_eq(n, 0);
    free(rs);
    lk_state_file *fs;
    ck_assert_int_eq(lk_state_files_pending(s, 10, &fs, &n, &err), 0);
    ck_assert_int_eq(n, 1);
    free(fs);
    /* and the connection is usable: the retry gets id 0 */
    ck_assert_int_eq(lk_state_plan_batch(s, &r, 1, &id, &err), 0);
    ck_assert_int_eq(id, 0);
    ck_assert_int_eq(lk_state_record_commit(s, 0, "t", 0, 1, 1, &err), 0);
    setenv("LAKESUP_FAULT", "state.commit=ENOSPC", 1);
    lk_fault_reload();
    ck_assert_int_eq(lk_state_mark_committed(s, 0, &err), -ENOSPC);
    unsetenv("LAKESUP_FAULT");
    lk_fault_reload();
    ck_assert_int_eq(lk_state_batch_get(s, 0, &bt, &err), 0);
    ck_assert_int_eq(bt.state, LK_BATCH_PLANNED);
    ck_assert_int_eq(lk_state_files_all(s, &fs, &n, &err), 0);
    ck_assert_int_eq(fs[0].state, LK_FILE_PLANNED);
    free(fs);
    lk_state_close(&s);
}
END_TEST

#define NB 150

START_TEST(two_processes)
{
    lk_state *s = NULL;
    lk_error err;
    ck_assert_int_eq(lk_state_open(dbpath, &s, &err), 0);
    lk_state_close(&s);
    pid_t ingest = fork();
    ck_assert_int_ne(ingest, -1);
    if (ingest == 0) {
        /* ingest: add a file and plan a batch for it, NB times */
        lk_state *st = NULL;
        lk_error e;
        if (lk_state_open(dbpath, &st, &e) < 0) {
            fprintf(stderr, "ingest open: %s\n", e.msg);
            _exit(1);
        }
        for (int i = 0; i < NB; i++) {
            lk_state_file f;
            memset(&f, 0, sizeof f);
            snprintf(f.path, sizeof f.path, "/in/%05d.json", i);
            f.size = 10 + i;
            f.mtime_us = i;
            int is_new;
            int64_t id;
            if (lk_state_file_add(st, &f, &is_new, &e) < 0) goto bad;
            lk_state_range r = {.file_id = f.id, .start = 0, .end = f.size};
            if (lk_state_plan_batch(st, &r, 1, &id, &e) < 0 || id != i) goto bad;
            if (lk_state_seal_batch(st, id, 1, &e) < 0) goto bad;
        }
        lk_state_close(&st);
        _exit(0);
    bad:
        fprintf(stderr, "ingest: %s\n", e.msg);
        _exit(2);
    }
    pid_t committer = fork();
    ck_assert_int_ne(committer, -1);
    if (committer == 0) {
        /* committer: commit every sealed batch, in order, as it appears */
        lk_state *st = NULL;
        lk_error e;
        if (lk_state_open(dbpath, &st, &e) < 0) {
            fprintf(stderr, "committer open: %s\n", e.msg);
            _exit(1);
        }
        int64_t next = 0;
        while (next < NB) {
            lk_state_batch b;
            int r = lk_state_batch_get(st, next, &b, &e);
            if (r == LK_ENOTFOUND || (r == 0 && b.state != LK_BATCH_SEALED)) {
                usleep(200);
                continue;
            }
            if (r < 0) goto cbad;
            if (lk_state_record_commit(st, next, "raw_events", next, 1, 1, &e) < 0 ||
                lk_state_mark_committed(st, next, &e) < 0)
                goto cbad;
            next++;
        }
        lk_state_close(&st);
        _exit(0);
    cbad:
        fprintf(stderr, "committer: %s\n", e.msg);
        _exit(3);
    }
    int status;
    ck_assert_int_eq(waitpid(ingest, &status, 0), ingest);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "ingest failed: %d", status);
    ck_assert_int_eq(waitpid(committer, &status, 0), committer);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "committer failed: %d", status);

    ck_assert_int_eq(lk_state_open(dbpath, &s, &err), 0);
    int64_t last;
    ck_assert_int_eq(lk_state_last_committed_batch(s, &last, &err), 0);
    ck_assert_int_eq(last, NB - 1);
    int64_t *ids;
    int n;
    ck_assert_int_eq(lk_state_batches_uncommitted(s, &ids, &n, &err), 0);
    ck_assert_int_eq(n, 0);
    free(ids);
    lk_state_file *fs;
    ck_assert_int_eq(lk_state_files_all(s, &fs, &n, &err), 0);
    ck_assert_int_eq(n, NB);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(fs[i].state, LK_FILE_COMMITTED);
    free(fs);
    lk_state_close(&s);
}
END_TEST

/* Four processes create and migrate the same fresh file at once. */
START_TEST(concurrent_create)
{
    pid_t kids[4];
    for (int k = 0; k < 4; k++) {
        kids[k] = fork();
        ck_assert_int_ne(kids[k], -1);
        if (kids[k] == 0) {
            lk_state *st = NULL;
            lk_error e;
            if (lk_state_open(dbpath, &st, &e) < 0) {
                fprintf(stderr, "open: %s\n", e.msg);
                _exit(1);
            }
            char key[16];
            snprintf(key, sizeof key, "k%d", k);
            int r = lk_state_meta_set(st, key, "v", &e);
            if (r < 0) fprintf(stderr, "meta set: %s\n", e.msg);
            lk_state_close(&st);
            _exit(r < 0 ? 2 : 0);
        }
    }
    for (int k = 0; k < 4; k++) {
        int status;
        ck_assert_int_eq(waitpid(kids[k], &status, 0), kids[k]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: %d", k, status);
    }
    lk_state *s = NULL;
    lk_error err;
    ck_assert_int_eq(lk_state_open(dbpath, &s, &err), 0);
    char v[8];
    int found;
    ck_assert_int_eq(lk_state_meta_get(s, "k3", v, sizeof v, &found, &err), 0);
    ck_assert_int_eq(found, 1);
    lk_state_close(&s);
}
END_TEST

START_TEST(corrupt_file)
{
    FILE *f = fopen(dbpath, "wb");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 512; i++)
        fputs("garbage!", f);
    fclose(f);
    lk_state *s = NULL;
    lk_error err;
    ck_assert_int_eq(lk_state_open(dbpath, &s, &err), LK_ESTATE);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(err.msg, dbpath));
    ck_assert_ptr_nonnull(strstr(err.msg, "corrupt"));
}
END_TEST

START_TEST(open_missing_dir)
{
    char p[512];
    snprintf(p, sizeof p, "%s/no/such/dir/state.db", dir);
    lk_state *s = NULL;
    lk_error err;
    ck_assert_int_lt(lk_state_open(p, &s, &err), 0);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(err.msg, p));
}
END_TEST

int main(void)
{
    Suite *su = suite_create("state_contract");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, open_reopen_meta);
    tcase_add_test(tc, files_add_duplicates);
    tcase_add_test(tc, batches_round_trip);
    tcase_add_test(tc, schemas_history);
    tcase_add_test(tc, injected_failure_rolls_back);
    tcase_add_test(tc, two_processes);
    tcase_add_test(tc, concurrent_create);
    tcase_add_test(tc, corrupt_file);
    tcase_add_test(tc, open_missing_dir);
    suite_add_tcase(su, tc);
    return lk_check_run(su);
}
