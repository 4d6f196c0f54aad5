/* Unit tests for the discovery functions of schema/lk_state: the v3
   migration, batched file records with head hash and skip reason, lookups
   by path / identity / taken, chunk spans, per-file counts (idempotent) and
   the `source list` report. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_state.h"

static char g_dir[256], g_db[512];

static void setup(void)
{
    lk_check_mkdtemp(g_dir, sizeof g_dir, "stated");
    snprintf(g_db, sizeof g_db, "%s/state.db", g_dir);
}

static void teardown(void)
{
    lk_check_rm_rf(g_dir);
}

static void rec(lk_state_file_rec *r, const char *path, int64_t size, int64_t mtime, int64_t inode,
                int64_t hash, const char *why)
{
    memset(r, 0, sizeof *r);
    snprintf(r->file.path, sizeof r->file.path, "%s", path);
    r->file.size = size;
    r->file.mtime_us = mtime;
    r->file.inode = inode;
    r->file.device = 7;
    r->head_hash = hash;
    snprintf(r->why, sizeof r->why, "%s", why);
}

START_TEST(records_lookups_spans_counts_report)
{
    lk_state *s = NULL;
    lk_error err;
    ck_assert_int_eq(lk_state_open(g_db, &s, &err), 0);
    lk_state_file_rec v[3];
    rec(&v[0], "/in/a.jsonl", 100, 1000, 11, 0x1234, "");
    rec(&v[1], "/in/b.jsonl", 200, 2000, 12, 0x5678, "");
    rec(&v[2], "/in/old.jsonl", 300, 3000, 13, 0x9abc, "older than max_file_age (60 s)");
    ck_assert_int_eq(lk_state_files_record(s, v, 3, &err), 0);
    ck_assert_int_eq(v[0].is_new && v[1].is_new && v[2].is_new, 1);
    ck_assert_int_eq(lk_state_files_record(s, v, 3, &err), 0); /* again: known, same ids */
    ck_assert_int_eq(v[0].is_new || v[1].is_new || v[2].is_new, 0);
    int found;
    lk_state_file f;
    ck_assert_int_eq(lk_state_file_lookup(s, "/in/a.jsonl", 100, 1000, &f, &found, &err), 0);
    ck_assert_int_eq(found, 1);
    ck_assert_int_eq(f.id, v[0].file.id);
    ck_assert_int_eq(lk_state_file_lookup(s, "/in/a.jsonl", 101, 1000, &f, &found, &err), 0);
    ck_assert_int_eq(found, 0);
    /* identity: same device, inode, size, mtime and head under any path */
    ck_assert_int_eq(lk_state_file_same(s, 7, 12, 200, 2000, 0x5678, &f, &found, &err), 0);
    ck_assert_int_eq(found, 1);
    ck_assert_str_eq(f.path, "/in/b.jsonl");
    ck_assert_int_eq(lk_state_file_same(s, 7, 12, 200, 2000, 0x5679, &f, &found, &err), 0);
    ck_assert_int_eq(found, 0); /* another head */
    /* skipped files are not "taken" */
    ck_assert_int_eq(lk_state_file_taken(s, "/in/old.jsonl", &f, &found, &err), 0);
    ck_assert_int_eq(found, 0);
    ck_assert_int_eq(lk_state_file_taken(s, "/in/a.jsonl", &f, &found, &err), 0);
    ck_assert_int_eq(found, 1);

    /* a batch of a and b; spans and counts */
    lk_state_range r[2];
    memset(r, 0, sizeof r);
    r[0].file_id = v[0].file.id;
    r[0].end = 100;
    r[1].file_id = v[1].file.id;
    r[1].end = 200;
    int64_t b;
    ck_assert_int_eq(lk_state_plan_batch(s, r, 2, &b, &err), 0);
    lk_state_file_span sp[3] = {{v[0].file.id, 0, 2}, {v[1].file.id, 2, 3}, {999, 5, 0}};
    ck_assert_int_eq(lk_state_file_spans_put(s, b, 0, sp, 3, &err), 0);
    lk_state_file_span *got = NULL;
    int n = 0;
    ck_assert_int_eq(lk_state_file_spans_get(s, b, 0, &got, &n, &err), 0);
    ck_assert_int_eq(n, 2); /* the empty span is not kept */
    ck_assert_int_eq(got[1].first_chunk, 2);
    ck_assert_int_eq(got[1].n_chunks, 3);
    free(got);
    ck_assert_int_eq(lk_state_file_spans_get(s, b, 1, &got, &n, &err), 0);
    ck_assert_int_eq(n, 0); /* another generation */
    free(got);

    lk_state_file_info *info = NULL;
    ck_assert_int_eq(lk_state_files_report(s, 1, &info, &n, &err), 0);
    ck_assert_int_eq(n, 2); /* --pending: a and b (in a batch), not the skipped one */
    ck_assert_int_eq(info[0].rows, -1);
    free(info);
    lk_state_file_count c[2] = {{v[0].file.id, 10, 1, 2}, {v[1].file.id, 20, 0, 3}};
    ck_assert_int_eq(lk_state_file_counts_put(s, b, c, 2, &err), 0);
    ck_assert_int_eq(lk_state_file_counts_put(s, b, c, 2, &err), 0); /* a replay: no double */
    ck_assert_int_eq(lk_state_seal_batch(s, b, 5, &err), 0);
    ck_assert_int_eq(lk_state_mark_committed(s, b, &err), 0);
    ck_assert_int_eq(lk_state_files_report(s, 0, &info, &n, &err), 0);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(info[0].rows, 10);
    ck_assert_int_eq(info[0].corrupt, 1);
    ck_assert_int_eq(info[0].rescued, 2);
    ck_assert_int_eq(info[1].rows, 20);
    ck_assert_int_eq(info[0].head_hash, 0x1234);
    ck_assert_int_eq(info[2].file.state, LK_FILE_SKIPPED);
    ck_assert_str_eq(info[2].file.error, "older than max_file_age (60 s)");
    ck_assert_int_eq(info[2].rows, -1);
    free(info);
    ck_assert_int_eq(lk_state_files_report(s, 1, &info, &n, &err), 0);
    ck_assert_int_eq(n, 0);
    free(info);

    /* clean_source bookkeeping */
    lk_state_file *fs = NULL;
    ck_assert_int_eq(lk_state_files_to_clean(s, INT64_MAX, 10, &fs, &n, &err), 0);
    ck_assert_int_eq(n, 2);
    int committed = 0;
    ck_assert_int_eq(lk_state_file_committed_check(s, fs[0].id, &committed, &err), 0);
    ck_assert_int_eq(committed, 1);
    ck_assert_int_eq(lk_state_file_cleaned(s, fs[0].id, "deleted", &err), 0);
    free(fs);
    ck_assert_int_eq(lk_state_files_to_clean(s, INT64_MAX, 10, &fs, &n, &err), 0);
    ck_assert_int_eq(n, 1);
    free(fs);
    ck_assert_int_eq(lk_state_files_to_clean(s, 0, 10, &fs, &n, &err), 0);
    ck_assert_int_eq(n, 0); /* committed after time 0: retention not over */
    free(fs);
    ck_assert_int_eq(lk_state_file_committed_check(s, v[2].file.id, &committed, &err), 0);
    ck_assert_int_eq(committed, 0);
    lk_state_close(&s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("state_discovery");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, records_lookups_spans_counts_report);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
