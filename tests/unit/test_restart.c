/* Restart policy with a fake clock: backoff doubling with bounded jitter,
   reset after a healthy run, crash-loop detection by intensity, tally. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_check.h"
#include "lk_restart.h"

static const lk_restart_policy P = LK_RESTART_POLICY_DEFAULT;

START_TEST(backoff_doubles_with_bounded_jitter_up_to_the_cap)
{
    lk_restart *r = lk_restart_new(&P, 42);
    int64_t now = 1000000, expect = 100, d;
    lk_restart_started(r, now);
    for (int k = 0; k < 12; k++) {
        /* deaths 31 s apart: never a crash loop, never a healthy run (started just before) */
        now += 31000;
        lk_restart_started(r, now - 50);
        ck_assert_int_eq(lk_restart_died(r, now, 0, "exit code 1", NULL, &d), 0);
        if (k == 0) {
            ck_assert_int_eq(d, 0); /* the first death restarts at once */
            continue;
        }
        ck_assert_int_ge(d, expect);
        ck_assert_int_lt(d, expect + expect / 4 + 1);
        expect = expect * 2 > 30000 ? 30000 : expect * 2;
    }
    ck_assert_int_eq(lk_restart_backoff(r), 30000);
    ck_assert_int_eq(lk_restart_count(r), 12);
    lk_restart_destroy(&r);
    ck_assert_ptr_null(r);
}
END_TEST

START_TEST(jitter_varies_and_is_repeatable_per_seed)
{
    int64_t a[6], b[6], c[6];
    for (int run = 0; run < 3; run++) {
        lk_restart *r = lk_restart_new(&P, run == 2 ? 7 : 42);
        int64_t now = 0;
        for (int k = 0; k < 6; k++) {
            now += 40000;
            lk_restart_started(r, now - 10);
            int64_t d;
            lk_restart_died(r, now, 0, "x", NULL, &d);
            (run == 0 ? a : run == 1 ? b : c)[k] = d;
        }
        lk_restart_destroy(&r);
    }
    ck_assert_mem_eq(a, b, sizeof a);
    ck_assert(memcmp(a, c, sizeof a) != 0);
}
END_TEST

START_TEST(a_healthy_run_resets_the_backoff)
{
    lk_restart *r = lk_restart_new(&P, 1);
    int64_t now = 100000, d;
    /* three quick deaths: at once, 100, 200 */
    int64_t want[3][2] = {{0, 0}, {100, 125}, {200, 250}};
    for (int k = 0; k < 3; k++) {
        lk_restart_started(r, now);
        now += 1000;
        lk_restart_died(r, now, 0, "x", NULL, &d);
        ck_assert_int_ge(d, want[k][0]);
        ck_assert_int_le(d, want[k][1]);
    }
    ck_assert_int_eq(lk_restart_backoff(r), 400);
    /* then a run of 10 s or more: restarted at once, the backoff back to the minimum */
    lk_restart_started(r, now);
    now += 10000;
    lk_restart_died(r, now, 0, "x", NULL, &d);
    ck_assert_int_eq(d, 0);
    ck_assert_int_eq(lk_restart_backoff(r), 100);
    lk_restart_started(r, now);
    now += 500;
    lk_restart_died(r, now, 0, "x", NULL, &d);
    ck_assert_int_ge(d, 100);
    ck_assert_int_le(d, 125);
    lk_restart_destroy(&r);
}
END_TEST

START_TEST(six_restarts_in_thirty_seconds_is_a_crash_loop)
{
    lk_restart *r = lk_restart_new(&P, 3);
    int64_t now = 500000, d;
    for (int k = 0; k < 5; k++) {
        lk_restart_started(r, now);
        now += 4000;
        ck_assert_int_eq(lk_restart_died(r, now, 0, "killed by signal 11 (Segmentation fault)",
                                         "boom", &d), 0);
    }
    ck_assert_int_eq(lk_restart_recent(r, now), 5);
    lk_restart_started(r, now);
    now += 4000; /* 6th death within 24 s */
    ck_assert_int_eq(lk_restart_died(r, now, 0, "exit code 1", "boom", &d), 1);
    /* the same deaths spread over more than 30 s are not a loop */
    lk_restart *q = lk_restart_new(&P, 3);
    now = 0;
    for (int k = 0; k < 10; k++) {
        lk_restart_started(q, now);
        now += 6100;
        ck_assert_int_eq(lk_restart_died(q, now, 0, "exit code 1", NULL, &d), 0);
    }
    /* deaths age out of the window */
    ck_assert_int_eq(lk_restart_recent(r, now + 1000000), 0);
    lk_restart_destroy(&q);
    lk_restart_destroy(&r);
}
END_TEST

START_TEST(the_tally_keeps_the_latest_deaths_newest_first)
{
    lk_restart *r = lk_restart_new(&P, 9);
    ck_assert_str_eq(lk_restart_last_cause(r), "");
    int64_t d;
    char cause[32];
    for (int k = 0; k < LK_RESTART_TALLY + 3; k++) {
        snprintf(cause, sizeof cause, "exit code %d", k);
        lk_restart_started(r, k * 100000);
        lk_restart_died(r, k * 100000 + 50000, 1700000000000LL + k, cause,
                        k == LK_RESTART_TALLY + 2 ? "disk \"full\"" : NULL, &d);
    }
    ck_assert_str_eq(lk_restart_last_cause(r), "exit code 10");
    lk_buf b = LK_BUF_INIT;
    lk_restart_tally_json(r, &b);
    lk_buf_putc(&b, '\0');
    const char *j = (const char *)b.data;
    ck_assert_ptr_nonnull(strstr(j, "[{\"at_ms\":1700000000010,\"cause\":\"exit code 10\","
                                    "\"last_error\":\"disk \\\"full\\\"\"}"));
    ck_assert_ptr_nonnull(strstr(j, "\"cause\":\"exit code 3\""));
    ck_assert_ptr_null(strstr(j, "\"cause\":\"exit code 2\""));
    int n = 0;
    for (const char *p = j; (p = strstr(p, "at_ms")); p++)
        n++;
    ck_assert_int_eq(n, LK_RESTART_TALLY);
    lk_buf_free(&b);
    lk_restart_destroy(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("restart");
    TCase *tc = tcase_create("policy");
    tcase_add_test(tc, backoff_doubles_with_bounded_jitter_up_to_the_cap);
    tcase_add_test(tc, jitter_varies_and_is_repeatable_per_seed);
    tcase_add_test(tc, a_healthy_run_resets_the_backoff);
    tcase_add_test(tc, six_restarts_in_thirty_seconds_is_a_crash_loop);
    tcase_add_test(tc, the_tally_keeps_the_latest_deaths_newest_first);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
