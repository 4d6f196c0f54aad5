/* Unit tests for the progress history and the backlog of schema/lk_state:
   records kept newest-last, trimmed by count and by age in the same
   transaction, and the backlog of pending and planned files. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "lk_check.h"
#include "lk_state.h"
#include "lk_time.h"

static lk_state *open_db(void)
{
    char dir[512], path[600];
    lk_check_mkdtemp(dir, sizeof dir, "st");
    snprintf(path, sizeof path, "%s/state.db", dir);
    lk_state *s = NULL;
    lk_error err;
    ck_assert_msg(lk_state_open(path, &s, &err) == 0, "%s", err.msg);
    return s;
}

START_TEST(history_bounded_by_count_and_age)
{
    lk_state *s = open_db();
    lk_error err;
    char json[64];
    for (int b = 0; b < 30; b++) {
        snprintf(json, sizeof json, "{\"batchId\":%d}", b);
        ck_assert_int_eq(lk_state_progress_put(s, b, 1000 + b, json, 10, 0, &err), 0);
    }
    char **v = NULL;
    int n = 0;
    ck_assert_int_eq(lk_state_progress_last(s, 100, &v, &n, &err), 0);
    ck_assert_int_eq(n, 10); /* batches 20..29 */
    ck_assert_str_eq(v[0], "{\"batchId\":20}");
    ck_assert_str_eq(v[9], "{\"batchId\":29}");
    lk_state_progress_free(&v, n);
    ck_assert_int_eq(lk_state_progress_last(s, 3, &v, &n, &err), 0);
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(v[0], "{\"batchId\":27}");
    lk_state_progress_free(&v, n);
    ck_assert_ptr_null(v);
    /* by age: records older than 1025 go (20..24) */
    ck_assert_int_eq(lk_state_progress_put(s, 30, 1030, "{\"batchId\":30}", 0, 1025, &err), 0);
    ck_assert_int_eq(lk_state_progress_last(s, 100, &v, &n, &err), 0);
    ck_assert_int_eq(n, 6);
    ck_assert_str_eq(v[0], "{\"batchId\":25}");
    lk_state_progress_free(&v, n);
    /* a replayed record replaces */
    ck_assert_int_eq(lk_state_progress_put(s, 30, 1031, "{\"again\":1}", 0, 0, &err), 0);
    ck_assert_int_eq(lk_state_progress_last(s, 1, &v, &n, &err), 0);
    ck_assert_str_eq(v[0], "{\"again\":1}");
    lk_state_progress_free(&v, n);
    lk_state_close(&s);
}
END_TEST

START_TEST(backlog_counts_uncommitted_input)
{
    lk_state *s = open_db();
    lk_error err;
    lk_state_backlog b;
    ck_assert_int_eq(lk_state_backlog_get(s, &b, &err), 0);
    ck_assert_int_eq(b.files + b.bytes + b.batches + b.oldest_us, 0);
    lk_state_file f[3];
    memset(f, 0, sizeof f);
    int is_new;
    const char *paths[] = {"/in/a", "/in/b", "kafka://t/0"};
    for (int i = 0; i < 3; i++) {
        snprintf(f[i].path, sizeof f[i].path, "%s", paths[i]);
        f[i].size = 100 * (i + 1);
        f[i].mtime_us = 1;
        f[i].discovered_at_us = 5000 + i;
        ck_assert_int_eq(lk_state_file_add(s, &f[i], &is_new, &err), 0);
    }
    ck_assert_int_eq(lk_state_backlog_get(s, &b, &err), 0);
    ck_assert_int_eq(b.files, 2); /* a Kafka partition is no input file */
    ck_assert_int_eq(b.bytes, 300);
    ck_assert_int_eq(b.batches, 0);
    lk_state_range r = {.file_id = f[0].id, .start = 0, .end = 100};
    int64_t id;
    ck_assert_int_eq(lk_state_plan_batch(s, &r, 1, &id, &err), 0);
    ck_assert_int_eq(lk_state_backlog_get(s, &b, &err), 0);
    ck_assert_int_eq(b.files, 2);
    ck_assert_int_eq(b.batches, 1);
    ck_assert(b.oldest_batch_us > 0);
    ck_assert_int_eq(lk_state_mark_committed(s, id, &err), 0);
    ck_assert_int_eq(lk_state_backlog_get(s, &b, &err), 0);
    ck_assert_int_eq(b.files, 1);
    ck_assert_int_eq(b.bytes, 200);
    ck_assert_int_eq(b.batches, 0);
    ck_assert_int_eq(b.oldest_batch_us, 0);
    lk_state_close(&s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("state_progress");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, history_bounded_by_count_and_age);
    tcase_add_test(tc, backlog_counts_uncommitted_input);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
