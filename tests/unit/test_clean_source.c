/* Unit tests for workers/ingest/lk_clean_source: only committed files are
   touched, after the retention; delete; move keeps the relative path; a
   file rewritten since it was ingested is left alone; a failing move is
   logged and retried, never fatal. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_clean_source.h"
#include "lk_config.h"
#include "lk_fs.h"
#include "lk_state.h"
#include "lk_time.h"

static char g_dir[256], g_src[512], g_dst[512];
static lk_config g_cfg;
static lk_state *g_st;

static void setup(void)
{
    lk_check_mkdtemp(g_dir, sizeof g_dir, "clean");
    snprintf(g_src, sizeof g_src, "%s/in", g_dir);
    snprintf(g_dst, sizeof g_dst, "%s/archive", g_dir);
    ck_assert_int_eq(mkdir(g_src, 0755), 0);
    char p[512];
    snprintf(p, sizeof p, "%s/sub", g_src);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    lk_config_defaults(&g_cfg);
    snprintf(g_cfg.source_path, sizeof g_cfg.source_path, "%s", g_src);
    snprintf(p, sizeof p, "%s/state.db", g_dir);
    lk_error err;
    ck_assert_int_eq(lk_state_open(p, &g_st, &err), 0);
}

static void teardown(void)
{
    lk_state_close(&g_st);
    lk_check_rm_rf(g_dir);
}

/* Writes rel under the source and records it in state.db; returns its id. */
static int64_t file(const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", g_src, rel);
    FILE *f = fopen(p, "w");
    fputs("{\"x\":1}\n", f);
    fclose(f);
    struct stat sb;
    ck_assert_int_eq(stat(p, &sb), 0);
    lk_state_file sf;
    memset(&sf, 0, sizeof sf);
    snprintf(sf.path, sizeof sf.path, "%s", p);
    sf.size = sb.st_size;
    sf.mtime_us = lk_fs_mtime_us(&sb);
    int is_new;
    lk_error err;
    ck_assert_int_eq(lk_state_file_add(g_st, &sf, &is_new, &err), 0);
    return sf.id;
}

static int64_t plan(const int64_t *ids, const char **rels, int n)
{
    lk_state_range r[8];
    memset(r, 0, sizeof r);
    for (int i = 0; i < n; i++) {
        r[i].file_id = ids[i];
        snprintf(r[i].path, sizeof r[i].path, "%s/%s", g_src, rels[i]);
        r[i].end = 8;
    }
    int64_t b;
    lk_error err;
    ck_assert_int_eq(lk_state_plan_batch(g_st, r, n, &b, &err), 0);
    ck_assert_int_eq(lk_state_seal_batch(g_st, b, 1, &err), 0);
    return b;
}

static void commit(int64_t b)
{
    lk_error err;
    ck_assert_int_eq(lk_state_record_commit(g_st, b, "raw_events", b, 1, 1, &err), 0);
    ck_assert_int_eq(lk_state_record_commit(g_st, b, "processed_events", b, 1, 1, &err), 0);
    ck_assert_int_eq(lk_state_mark_committed(g_st, b, &err), 0);
}

static int exists(const char *dir, const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return access(p, F_OK) == 0;
}

START_TEST(delete_only_committed_files)
{
    snprintf(g_cfg.source.clean_source, sizeof g_cfg.source.clean_source, "delete");
    g_cfg.source.clean_source_retention_duration_ms = 0;
    const char *r0[] = {"a.jsonl"}, *r1[] = {"sub/b.jsonl"};
    int64_t a = file(r0[0]), b = file(r1[0]);
    int64_t b0 = plan(&a, r0, 1);
    plan(&b, r1, 1); /* planned, never committed */
    file("c.jsonl"); /* pending */
    lk_clean_source *c = NULL;
    lk_error err;
    ck_assert_int_eq(lk_clean_source_new(&g_cfg, g_st, &c, &err), 0);
    ck_assert_int_eq(lk_clean_source_poll(c, 1), 0); /* nothing committed yet */
    ck_assert_int_eq(exists(g_src, "a.jsonl"), 1);
    commit(b0);
    lk_clean_source_nudge(c);
    ck_assert_int_eq(lk_clean_source_poll(c, 2), 1);
    ck_assert_int_eq(exists(g_src, "a.jsonl"), 0);
    ck_assert_int_eq(exists(g_src, "sub/b.jsonl"), 1);
    ck_assert_int_eq(exists(g_src, "c.jsonl"), 1);
    lk_clean_source_nudge(c);
    ck_assert_int_eq(lk_clean_source_poll(c, 3), 0); /* done once, recorded */
    lk_state_file_info *v = NULL;
    int n = 0;
    ck_assert_int_eq(lk_state_files_report(g_st, 0, &v, &n, &err), 0);
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(v[0].clean_note, "deleted");
    ck_assert_int_eq(v[1].cleaned_at_us, 0);
    free(v);
    lk_clean_source_destroy(&c);
}
END_TEST

START_TEST(retention_is_honoured)
{
    snprintf(g_cfg.source.clean_source, sizeof g_cfg.source.clean_source, "delete");
    g_cfg.source.clean_source_retention_duration_ms = 60000;
    const char *r0[] = {"a.jsonl"};
    int64_t a = file(r0[0]);
    commit(plan(&a, r0, 1));
    lk_clean_source *c = NULL;
    lk_error err;
    ck_assert_int_eq(lk_clean_source_new(&g_cfg, g_st, &c, &err), 0);
    ck_assert_int_eq(lk_clean_source_poll(c, 1), 0); /* committed a moment ago */
    ck_assert_int_eq(exists(g_src, "a.jsonl"), 1);
    lk_clean_source_destroy(&c);
}
END_TEST

START_TEST(move_keeps_the_relative_path_and_retries_failures)
{
    snprintf(g_cfg.source.clean_source, sizeof g_cfg.source.clean_source, "move");
    /* the destination is first a plain file: every move fails (ENOTDIR) */
    snprintf(g_cfg.source.clean_source_move_destination,
             sizeof g_cfg.source.clean_source_move_destination, "%s", g_dst);
    FILE *blocker = fopen(g_dst, "w");
    fclose(blocker);
    g_cfg.source.clean_source_retention_duration_ms = 0;
    const char *rels[] = {"a.jsonl", "sub/b.jsonl", "sub/changed.jsonl"};
    int64_t ids[3];
    for (int i = 0; i < 3; i++)
        ids[i] = file(rels[i]);
    commit(plan(ids, rels, 3));
    /* rewritten after it was ingested: must be left alone */
    char p[512];
    snprintf(p, sizeof p, "%s/sub/changed.jsonl", g_src);
    FILE *f = fopen(p, "a");
    fputs("{\"x\":2}\n", f);
    fclose(f);
    lk_clean_source *c = NULL;
    lk_error err;
    ck_assert_int_eq(lk_clean_source_new(&g_cfg, g_st, &c, &err), 0);
    ck_assert_int_eq(lk_clean_source_poll(c, 1000), 1); /* only "changed" is settled */
    ck_assert_int_eq(exists(g_src, "a.jsonl"), 1);
    ck_assert_int_eq(lk_clean_source_poll(c, 1001), 0); /* backing off */
    unlink(g_dst);                                      /* the problem is fixed */
    ck_assert_int_eq(lk_clean_source_poll(c, 1000 + 60000), 2);
    ck_assert_int_eq(exists(g_src, "a.jsonl"), 0);
    ck_assert_int_eq(exists(g_dst, "a.jsonl"), 1);
    ck_assert_int_eq(exists(g_dst, "sub/b.jsonl"), 1);
    ck_assert_int_eq(exists(g_src, "sub/changed.jsonl"), 1);
    ck_assert_int_eq(exists(g_dst, "sub/changed.jsonl"), 0);
    lk_state_file_info *v = NULL;
    int n = 0;
    ck_assert_int_eq(lk_state_files_report(g_st, 0, &v, &n, &err), 0);
    ck_assert_ptr_nonnull(strstr(v[0].clean_note, "moved to"));
    ck_assert_ptr_nonnull(strstr(v[2].clean_note, "left alone"));
    free(v);
    lk_clean_source_destroy(&c);
}
END_TEST

START_TEST(move_across_filesystems_copies)
{
    char shm[256];
    strcpy(shm, "/dev/shm/lk_test_clean_dst_XXXXXX");
    if (access("/dev/shm", W_OK) != 0 || !mkdtemp(shm)) return; /* no second filesystem here */
    snprintf(g_cfg.source.clean_source, sizeof g_cfg.source.clean_source, "move");
    snprintf(g_cfg.source.clean_source_move_destination,
             sizeof g_cfg.source.clean_source_move_destination, "%s", shm);
    g_cfg.source.clean_source_retention_duration_ms = 0;
    const char *rels[] = {"sub/x.jsonl"};
    int64_t id = file(rels[0]);
    commit(plan(&id, rels, 1));
    lk_clean_source *c = NULL;
    lk_error err;
    ck_assert_int_eq(lk_clean_source_new(&g_cfg, g_st, &c, &err), 0);
    ck_assert_int_eq(lk_clean_source_poll(c, 1), 1);
    ck_assert_int_eq(exists(g_src, "sub/x.jsonl"), 0);
    char p[512];
    snprintf(p, sizeof p, "%s/sub/x.jsonl", shm);
    FILE *f = fopen(p, "r");
    ck_assert_ptr_nonnull(f);
    char line[64] = "";
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    fclose(f);
    ck_assert_str_eq(line, "{\"x\":1}\n");
    ck_assert_int_eq(exists(shm, "sub/x.jsonl.lakesupd-tmp"), 0);
    lk_clean_source_destroy(&c);
    lk_check_rm_rf(shm);
}
END_TEST

START_TEST(off_does_nothing)
{
    const char *r0[] = {"a.jsonl"};
    int64_t a = file(r0[0]);
    commit(plan(&a, r0, 1));
    g_cfg.source.clean_source_retention_duration_ms = 0;
    lk_clean_source *c = NULL;
    lk_error err;
    ck_assert_int_eq(lk_clean_source_new(&g_cfg, g_st, &c, &err), 0);
    ck_assert_int_eq(lk_clean_source_poll(c, 1), 0);
    ck_assert_int_eq(exists(g_src, "a.jsonl"), 1);
    lk_clean_source_destroy(&c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("clean_source");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, delete_only_committed_files);
    tcase_add_test(tc, retention_is_honoured);
    tcase_add_test(tc, move_keeps_the_relative_path_and_retries_failures);
    tcase_add_test(tc, move_across_filesystems_copies);
    tcase_add_test(tc, off_does_nothing);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
