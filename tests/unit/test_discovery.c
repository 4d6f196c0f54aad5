/* Unit tests for workers/ingest/lk_discovery: listing, inotify (close after
   write, rename into place, new subdirectories, queue overflow), the glob,
   modified_after / modified_before / max_file_age, file_ready_delay,
   identity with the head hash, allow_overwrites. Real files, real inotify,
   a real state.db (in /dev/shm when there: thousands of small transactions). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_config.h"
#include "lk_discovery.h"
#include "lk_fault.h"
#include "lk_state.h"
#include "lk_time.h"

static char g_dir[256], g_src[512], g_db[512];
static lk_config g_cfg;
static lk_state *g_st;

static void setup(void)
{
    lk_check_mkdtemp(g_dir, sizeof g_dir, "disc");
    snprintf(g_src, sizeof g_src, "%s/in", g_dir);
    snprintf(g_db, sizeof g_db, "%s/state.db", g_dir);
    ck_assert_int_eq(mkdir(g_src, 0755), 0);
    lk_config_defaults(&g_cfg);
    snprintf(g_cfg.source_path, sizeof g_cfg.source_path, "%s", g_src);
    g_cfg.source.use_notifications = 1;
    g_cfg.source.file_ready_delay_ms = 60000; /* listing never takes a fresh file here */
    lk_error err;
    ck_assert_int_eq(lk_state_open(g_db, &g_st, &err), 0);
}

static void teardown(void)
{
    lk_state_close(&g_st);
    lk_check_rm_rf(g_dir);
}

/* Writes a file (open, write, close) under the source; age_s > 0 sets its
   mtime that many seconds in the past. */
static void put(const char *rel, const char *content, int age_s)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", g_src, rel);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(content, f);
    ck_assert_int_eq(fclose(f), 0);
    if (age_s > 0) {
        struct timeval tv[2];
        gettimeofday(&tv[0], NULL);
        tv[0].tv_sec -= age_s;
        tv[1] = tv[0];
        ck_assert_int_eq(utimes(p, tv), 0);
    }
}

static lk_discovery *start(int take_at_once, int skip_existing)
{
    lk_discovery *d = NULL;
    lk_error err;
    ck_assert_int_eq(lk_discovery_new(&g_cfg, g_st, take_at_once, skip_existing, &d, &err), 0);
    return d;
}

/* One poll at now_ms (monotonic; a test may pass a time ahead of the clock). */
static int poll_at(lk_discovery *d, int64_t now_ms)
{
    lk_error err;
    int n = lk_discovery_poll(d, now_ms, &err);
    ck_assert_msg(n >= 0, "poll failed: %s", n < 0 ? err.msg : "");
    return n;
}

static int poll_once(lk_discovery *d)
{
    return poll_at(d, lk_time_mono_ms());
}

/* The state of the latest row of path: -1 unknown; its reason into why. */
static int state_of(const char *rel, char *why, size_t cap)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", g_src, rel);
    lk_state_file_info *v = NULL;
    int n = 0, st = -1;
    lk_error err;
    ck_assert_int_eq(lk_state_files_report(g_st, 0, &v, &n, &err), 0);
    for (int i = 0; i < n; i++) {
        if (strcmp(v[i].file.path, p)) continue;
        st = (int)v[i].file.state;
        if (why) snprintf(why, cap, "%s", v[i].file.error);
    }
    free(v);
    return st;
}

static int rows_of(const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", g_src, rel);
    lk_state_file_info *v = NULL;
    int n = 0, k = 0;
    lk_error err;
    ck_assert_int_eq(lk_state_files_report(g_st, 0, &v, &n, &err), 0);
    for (int i = 0; i < n; i++)
        k += !strcmp(v[i].file.path, p);
    free(v);
    return k;
}

START_TEST(listing_takes_existing_files_with_glob_and_subdirectories)
{
    char p[512];
    snprintf(p, sizeof p, "%s/sub", g_src);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    put("a.jsonl", "{\"x\":1}\n", 10);
    put("sub/b.jsonl", "{\"x\":2}\n", 10);
    put("c.json", "{\"x\":3}\n", 10);
    put("d.txt", "{\"x\":4}\n", 10);
    put(".hidden.jsonl", "{\"x\":5}\n", 10);
    put("empty.jsonl", "", 10);
    snprintf(g_cfg.source.path_glob_filter, sizeof g_cfg.source.path_glob_filter, "*.jsonl");
    lk_discovery *d = start(0, 0);
    /* unchanged for longer than file_ready_delay? no: 60 s; but their mtime
       is 10 s old and the delay is 60 s, so none is ready yet */
    ck_assert_int_eq(poll_once(d), 0);
    lk_discovery_destroy(&d);
    g_cfg.source.file_ready_delay_ms = 1000; /* now they are older than the delay */
    d = start(0, 0);
    ck_assert_int_eq(poll_once(d), 2);
    ck_assert_int_eq(lk_discovery_listed_once(d), 1);
    ck_assert_int_eq(state_of("a.jsonl", NULL, 0), LK_FILE_PENDING);
    ck_assert_int_eq(state_of("sub/b.jsonl", NULL, 0), LK_FILE_PENDING);
    ck_assert_int_eq(state_of("c.json", NULL, 0), -1);        /* not *.jsonl */
    ck_assert_int_eq(state_of("d.txt", NULL, 0), -1);         /* not *.jsonl */
    ck_assert_int_eq(state_of(".hidden.jsonl", NULL, 0), -1); /* temp/hidden */
    ck_assert_int_eq(state_of("empty.jsonl", NULL, 0), -1);   /* nothing to take yet */
    /* a second listing (and a new process) records nothing again */
    lk_discovery_request_listing(d);
    ck_assert_int_eq(poll_once(d), 0);
    lk_discovery_destroy(&d);
    d = start(0, 0);
    ck_assert_int_eq(poll_once(d), 0);
    ck_assert_int_eq(rows_of("a.jsonl"), 1);
    lk_discovery_destroy(&d);
}
END_TEST

START_TEST(inotify_close_write_is_taken_at_once)
{
    lk_discovery *d = start(0, 0);
    ck_assert_int_eq(lk_discovery_fd(d) >= 0, 1);
    ck_assert_int_eq(poll_once(d), 0);
    put("new.jsonl", "{\"x\":1}\n", 0);
    /* fresh mtime, file_ready_delay 60 s: only the close event can take it */
    ck_assert_int_eq(poll_once(d), 1);
    ck_assert_int_eq(state_of("new.jsonl", NULL, 0), LK_FILE_PENDING);
    lk_discovery_destroy(&d);
}
END_TEST

START_TEST(a_file_open_for_writing_waits_for_its_close)
{
    g_cfg.source.file_ready_delay_ms = 50;
    lk_discovery *d = start(0, 0);
    ck_assert_int_eq(poll_once(d), 0);
    char p[512];
    snprintf(p, sizeof p, "%s/slow.jsonl", g_src);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "{\"x\":1}\n", 8), 8);
    usleep(150 * 1000); /* a pause longer than file_ready_delay */
    lk_discovery_request_listing(d);
    ck_assert_int_eq(poll_once(d), 0); /* being written (inotify saw it): not taken */
    usleep(100 * 1000);
    ck_assert_int_eq(poll_once(d), 0);
    ck_assert_int_eq(write(fd, "{\"x\":2}\n", 8), 8);
    ck_assert_int_eq(poll_once(d), 0);
    ck_assert_int_eq(close(fd), 0);
    ck_assert_int_eq(poll_once(d), 1);
    lk_state_file_info *v = NULL;
    int n = 0;
    lk_error err;
    ck_assert_int_eq(lk_state_files_report(g_st, 0, &v, &n, &err), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(v[0].file.size, 16); /* the whole file, once */
    free(v);
    lk_discovery_destroy(&d);
}
END_TEST

START_TEST(rename_into_place_and_renamed_again_is_the_same_file)
{
    lk_discovery *d = start(0, 0);
    ck_assert_int_eq(poll_once(d), 0);
    put(".staging.tmp", "{\"x\":1}\n{\"x\":2}\n", 0);
    ck_assert_int_eq(poll_once(d), 0);
    char a[512], b[512], c[512];
    snprintf(a, sizeof a, "%s/.staging.tmp", g_src);
    snprintf(b, sizeof b, "%s/placed.jsonl", g_src);
    snprintf(c, sizeof c, "%s/renamed.jsonl", g_src);
    ck_assert_int_eq(rename(a, b), 0);
    ck_assert_int_eq(poll_once(d), 1);
    ck_assert_int_eq(state_of("placed.jsonl", NULL, 0), LK_FILE_PENDING);
    /* the same file (device, inode, size, mtime, head) under another name */
    ck_assert_int_eq(rename(b, c), 0);
    ck_assert_int_eq(poll_once(d), 0);
    char why[256];
    ck_assert_int_eq(state_of("renamed.jsonl", why, sizeof why), LK_FILE_SKIPPED);
    ck_assert_ptr_nonnull(strstr(why, "the same file as"));
    ck_assert_ptr_nonnull(strstr(why, "placed.jsonl"));
    lk_discovery_destroy(&d);
}
END_TEST

START_TEST(new_subdirectories_are_watched)
{
    g_cfg.source.file_ready_delay_ms = 100;
    lk_discovery *d = start(0, 0);
    ck_assert_int_eq(poll_once(d), 0);
    char p[512];
    snprintf(p, sizeof p, "%s/2026", g_src);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/2026/11", g_src);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    /* lands before the watch on 2026/11 exists: found by listing the new
       directory, so taken after file_ready_delay */
    put("2026/11/early.jsonl", "{\"x\":1}\n", 0);
    int n = poll_once(d);
    usleep(150 * 1000);
    n += poll_once(d);
    ck_assert_int_eq(n, 1);
    put("2026/11/late.jsonl", "{\"x\":2}\n", 0); /* after the watch: at once */
    ck_assert_int_eq(poll_once(d), 1);
    ck_assert_int_eq(state_of("2026/11/early.jsonl", NULL, 0), LK_FILE_PENDING);
    ck_assert_int_eq(state_of("2026/11/late.jsonl", NULL, 0), LK_FILE_PENDING);
    lk_discovery_destroy(&d);
}
END_TEST

START_TEST(queue_overflow_falls_back_to_a_full_listing)
{
    g_cfg.source.file_ready_delay_ms = 0;
    lk_discovery *d = start(0, 0);
    ck_assert_int_eq(poll_once(d), 0);
    /* three events per file (create, modify, close): well past the default
       16384 queued events, so the kernel drops events and says so */
    int n = 6000;
    for (int i = 0; i < n; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "f%05d.jsonl", i);
        put(rel, "{\"x\":1}\n", 0);
    }
    int got = poll_once(d);
    ck_assert_int_eq(got, n); /* every file, found by the listing after the overflow */
    ck_assert_int_eq(poll_once(d), 0);
    lk_discovery_destroy(&d);
}
END_TEST

START_TEST(modified_after_before_and_max_file_age)
{
    g_cfg.source.file_ready_delay_ms = 0;
    put("old.jsonl", "{\"x\":1}\n", 3 * 86400); /* 3 days old */
    put("mid.jsonl", "{\"x\":2}\n", 2 * 3600);  /* 2 hours old */
    put("new.jsonl", "{\"x\":3}\n", 60);        /* 1 minute old */
    char ts[40];
    lk_time_format_iso_ms(lk_time_now_us() - 1LL * 86400 * 1000000, ts, sizeof ts);
    snprintf(g_cfg.source.modified_after, sizeof g_cfg.source.modified_after, "%s", ts);
    lk_time_format_iso_ms(lk_time_now_us() - 600LL * 1000000, ts, sizeof ts);
    snprintf(g_cfg.source.modified_before, sizeof g_cfg.source.modified_before, "%s", ts);
    lk_discovery *d = start(0, 0);
    ck_assert_int_eq(poll_once(d), 1);
    char why[256];
    ck_assert_int_eq(state_of("old.jsonl", why, sizeof why), LK_FILE_SKIPPED);
    ck_assert_ptr_nonnull(strstr(why, "modified_after"));
    ck_assert_int_eq(state_of("mid.jsonl", NULL, 0), LK_FILE_PENDING);
    ck_assert_int_eq(state_of("new.jsonl", why, sizeof why), LK_FILE_SKIPPED);
    ck_assert_ptr_nonnull(strstr(why, "modified_before"));
    lk_discovery_destroy(&d);

    /* max_file_age: a new state, only the age rule */
    g_cfg.source.modified_after[0] = g_cfg.source.modified_before[0] = 0;
    g_cfg.source.max_file_age_ms = 3600 * 1000;
    put("young.jsonl", "{\"x\":4}\n", 120);
    d = start(0, 0);
    /* young only: new.jsonl stays as recorded (skipped by modified_before) */
    ck_assert_int_eq(poll_once(d), 1);
    ck_assert_int_eq(state_of("young.jsonl", NULL, 0), LK_FILE_PENDING);
    lk_discovery_destroy(&d);
    char p[512];
    snprintf(p, sizeof p, "%s/aged.jsonl", g_src);
    put("aged.jsonl", "{\"x\":5}\n", 7200);
    d = start(0, 0);
    ck_assert_int_eq(poll_once(d), 0);
    ck_assert_int_eq(state_of("aged.jsonl", why, sizeof why), LK_FILE_SKIPPED);
    ck_assert_ptr_nonnull(strstr(why, "max_file_age"));
    lk_discovery_destroy(&d);
}
END_TEST

START_TEST(file_ready_delay_for_listing)
{
    /* a delay no stall of a loaded machine reaches, and the poll's monotonic
       clock moved forward by hand: "not ready yet" does not depend on how
       fast this process runs (a 300 ms delay with 150 ms sleeps did) */
    g_cfg.source.use_notifications = 0;
    g_cfg.source.file_ready_delay_ms = 60000;
    lk_discovery *d = start(0, 0);
    ck_assert_int_eq(lk_discovery_fd(d), -1);
    ck_assert_int_eq(poll_once(d), 0);
    put("fresh.jsonl", "{\"x\":1}\n", 0);
    lk_discovery_request_listing(d);
    int64_t t0 = lk_time_mono_ms();
    ck_assert_int_eq(poll_once(d), 0); /* just written: not ready */
    ck_assert_int_eq(poll_at(d, t0 + 30000), 0); /* half the delay, listed again */
    ck_assert_int_eq(poll_at(d, t0 + 61000), 1); /* unchanged (same size, mtime) for the delay */
    ck_assert_int_eq(poll_at(d, t0 + 62000), 0);
    lk_discovery_destroy(&d);
}
END_TEST

START_TEST(include_existing_files_false_skips_the_first_listing)
{
    g_cfg.source.file_ready_delay_ms = 0;
    put("before.jsonl", "{\"x\":1}\n", 10);
    lk_discovery *d = start(0, 1);
    ck_assert_int_eq(poll_once(d), 0);
    char why[256];
    ck_assert_int_eq(state_of("before.jsonl", why, sizeof why), LK_FILE_SKIPPED);
    ck_assert_ptr_nonnull(strstr(why, "include_existing_files"));
    put("after.jsonl", "{\"x\":2}\n", 0);
    ck_assert_int_eq(poll_once(d), 1);
    lk_discovery_destroy(&d);
}
END_TEST

static void rewrite_check(int allow)
{
    g_cfg.source.allow_overwrites = allow;
    lk_discovery *d = start(0, 0);
    ck_assert_int_eq(poll_once(d), 0);
    put("r.jsonl", "{\"x\":1}\n", 0);
    ck_assert_int_eq(poll_once(d), 1);
    usleep(20 * 1000);
    put("r.jsonl", "{\"x\":1}\n{\"x\":2}\n", 0);
    ck_assert_int_eq(poll_once(d), allow ? 1 : 0);
    ck_assert_int_eq(rows_of("r.jsonl"), 2);
    char why[256];
    ck_assert_int_eq(state_of("r.jsonl", why, sizeof why),
                     allow ? LK_FILE_PENDING : LK_FILE_SKIPPED);
    if (!allow) ck_assert_ptr_nonnull(strstr(why, "changed after it was ingested"));
    lk_discovery_destroy(&d);
}

START_TEST(rewritten_file_refused_without_allow_overwrites)
{
    rewrite_check(0);
}
END_TEST

START_TEST(rewritten_file_is_a_new_version_with_allow_overwrites)
{
    rewrite_check(1);
}
END_TEST

START_TEST(head_hash_covers_the_first_4_kib)
{
    char a[4096 + 100], b[sizeof a];
    memset(a, 'a', sizeof a - 1);
    a[sizeof a - 1] = 0;
    memcpy(b, a, sizeof a);
    b[4096 + 10] = 'b'; /* differs after the head: same hash */
    put("h1.jsonl", a, 0);
    put("h2.jsonl", b, 0);
    b[4095] = 'b'; /* differs inside the head */
    put("h3.jsonl", b, 0);
    char p1[256], p2[256], p3[256];
    snprintf(p1, sizeof p1, "%s/h1.jsonl", g_src);
    snprintf(p2, sizeof p2, "%s/h2.jsonl", g_src);
    snprintf(p3, sizeof p3, "%s/h3.jsonl", g_src);
    int ok1, ok2, ok3, ok4;
    int64_t h1 = lk_discovery_head_hash(p1, &ok1), h2 = lk_discovery_head_hash(p2, &ok2),
            h3 = lk_discovery_head_hash(p3, &ok3);
    ck_assert_int_eq(ok1 && ok2 && ok3, 1);
    ck_assert(h1 == h2);
    ck_assert(h1 != h3);
    lk_discovery_head_hash("/nonexistent/x", &ok4);
    ck_assert_int_eq(ok4, 0);
}
END_TEST

START_TEST(unreadable_file_is_retried_until_readable)
{
    if (geteuid() == 0) return; /* root reads anything */
    g_cfg.source.file_ready_delay_ms = 0;
    put("locked.jsonl", "{\"x\":1}\n", 10);
    char p[512];
    snprintf(p, sizeof p, "%s/locked.jsonl", g_src);
    ck_assert_int_eq(chmod(p, 0), 0);
    lk_discovery *d = start(0, 0);
    ck_assert_int_eq(poll_once(d), 0);
    ck_assert_int_eq(state_of("locked.jsonl", NULL, 0), -1); /* not recorded, not lost */
    lk_discovery_request_listing(d);
    ck_assert_int_eq(poll_once(d), 0);
    ck_assert_int_eq(chmod(p, 0644), 0);
    lk_discovery_request_listing(d);
    ck_assert_int_eq(poll_once(d), 1);
    ck_assert_int_eq(state_of("locked.jsonl", NULL, 0), LK_FILE_PENDING);
    lk_discovery_destroy(&d);
}
END_TEST

START_TEST(a_full_state_disk_is_reported_until_a_listing_records_everything)
{
    char gate[512], env[600];
    snprintf(gate, sizeof gate, "%s/full", g_dir);
    snprintf(env, sizeof env, "state.commit=ENOSPC@while:%s", gate);
    setenv("LAKESUP_FAULT", env, 1);
    lk_fault_reload();
    lk_discovery *d = start(0, 0);
    ck_assert_int_eq(poll_once(d), 0);
    FILE *g = fopen(gate, "w");
    fclose(g);
    put("during.jsonl", "{\"x\":1}\n", 0); /* its close event is consumed by the failing poll */
    lk_error err;
    ck_assert_int_eq(lk_discovery_poll(d, lk_time_mono_ms(), &err), -ENOSPC);
    ck_assert_int_eq(lk_discovery_poll(d, lk_time_mono_ms(), &err), -ENOSPC); /* still said */
    ck_assert_int_eq(state_of("during.jsonl", NULL, 0), -1);
    unlink(gate);
    usleep(1100 * 1000); /* the retry listing is due after a second */
    ck_assert_int_eq(lk_discovery_poll(d, lk_time_mono_ms(), &err), 1);
    ck_assert_int_eq(state_of("during.jsonl", NULL, 0), LK_FILE_PENDING);
    int64_t taken, skipped, errors;
    lk_discovery_stats(d, &taken, &skipped, &errors);
    ck_assert_int_eq(taken, 1);
    ck_assert_int_ge(errors, 1);
    lk_discovery_destroy(&d);
    unsetenv("LAKESUP_FAULT");
    lk_fault_reload();
}
END_TEST

START_TEST(bad_timestamps_are_refused)
{
    snprintf(g_cfg.source.modified_after, sizeof g_cfg.source.modified_after, "yesterday");
    lk_discovery *d = NULL;
    lk_error err;
    ck_assert_int_lt(lk_discovery_new(&g_cfg, g_st, 0, 0, &d, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "modified_after"));
    ck_assert_ptr_null(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("discovery");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, listing_takes_existing_files_with_glob_and_subdirectories);
    tcase_add_test(tc, inotify_close_write_is_taken_at_once);
    tcase_add_test(tc, a_file_open_for_writing_waits_for_its_close);
    tcase_add_test(tc, rename_into_place_and_renamed_again_is_the_same_file);
    tcase_add_test(tc, new_subdirectories_are_watched);
    tcase_add_test(tc, queue_overflow_falls_back_to_a_full_listing);
    tcase_add_test(tc, modified_after_before_and_max_file_age);
    tcase_add_test(tc, file_ready_delay_for_listing);
    tcase_add_test(tc, include_existing_files_false_skips_the_first_listing);
    tcase_add_test(tc, rewritten_file_refused_without_allow_overwrites);
    tcase_add_test(tc, rewritten_file_is_a_new_version_with_allow_overwrites);
    tcase_add_test(tc, head_hash_covers_the_first_4_kib);
    tcase_add_test(tc, unreadable_file_is_retried_until_readable);
    tcase_add_test(tc, a_full_state_disk_is_reported_until_a_listing_records_everything);
    tcase_add_test(tc, bad_timestamps_are_refused);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
