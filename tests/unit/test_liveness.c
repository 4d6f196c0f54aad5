/* lk_liveness: a worker the supervisor is starting or restarting is not down while that is
   recent (the heartbeat window), whether its pid changed or the status still names the old pid
   between the exit and the restart; a restart held back past the window is down. */
#include <check.h>

#include "lk_check.h"
#include "lk_liveness.h"

enum { W = 2000 }; /* the window, ms */

START_TEST(restart_between_exit_and_fork_is_not_down)
{
    lk_liveness l = {0};
    lk_liveness_report(&l, 0, "not started", 0);
    ck_assert_int_eq(lk_liveness_starting(&l, 100, W), 1); /* the pipeline starts */
    lk_liveness_report(&l, 10, "starting", 150);
    lk_liveness_report(&l, 10, "running", 300);
    ck_assert_int_eq(lk_liveness_starting(&l, 400, W), 0); /* running: heartbeats decide */
    ck_assert_int_eq(lk_liveness_new_pid(&l, 400, W), 1);
    ck_assert_int_eq(lk_liveness_new_pid(&l, 60000, W), 0);
    /* killed at 60 s; the status is taken before the fork: the old pid, "restarting" */
    lk_liveness_report(&l, 10, "restarting", 60000);
    ck_assert_int_eq(lk_liveness_starting(&l, 60100, W), 1);
    ck_assert_int_eq(lk_liveness_starting(&l, 61999, W), 1);
    /* held back past the window (a crash loop's backoff): down */
    lk_liveness_report(&l, 10, "restarting", 62500);
    ck_assert_int_eq(lk_liveness_starting(&l, 62500, W), 0);
    /* the new pid starting: not down, again for a window */
    lk_liveness_report(&l, 11, "starting", 63000);
    ck_assert_int_eq(lk_liveness_starting(&l, 64000, W), 1);
    ck_assert_int_eq(lk_liveness_starting(&l, 65001, W), 0);
    /* a state that is not a start is never "starting" */
    lk_liveness_report(&l, 11, "stopping", 70000);
    ck_assert_int_eq(lk_liveness_starting(&l, 70001, W), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("liveness");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, restart_between_exit_and_fork_is_not_down);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
