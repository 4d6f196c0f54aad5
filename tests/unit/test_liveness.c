/* lk_liveness_up: when a worker counts as down for workers_down and /healthz. Starting and
   restarting workers are up for a window; a running one is up while its heartbeats are fresh; a
   heartbeat from a newer pid than the supervisor's status the monitor holds is a live worker
   (the status was asked before a restart and read after the new worker's first heartbeat: the
   monitor e2e test paged "workers down" so under ASan). */
#include <check.h>
#include <string.h>

#include "lk_check.h"
#include "lk_liveness.h"

enum { W = 2000 }; /* the heartbeat window, ms */

static int up(const lk_liveness *l, int hb_pid, int64_t hb_ms, int64_t now, char *why)
{
    why[0] = 0;
    return lk_liveness_up(l, "transform", 0, hb_pid, hb_ms, now, W, 0, why, 200);
}

START_TEST(down_only_when_no_live_incarnation_says_otherwise)
{
    char why[200];
    lk_liveness l = {0};
    lk_liveness_report(&l, 0, "not started", 0);
    ck_assert_int_eq(up(&l, 0, 0, 100, why), 1); /* the pipeline is starting */
    lk_liveness_report(&l, 10, "running", 150);
    ck_assert_int_eq(up(&l, 0, 0, 1000, why), 1); /* its first heartbeat is on its way */
    ck_assert_int_eq(up(&l, 0, 0, 3000, why), 0);
    ck_assert_str_eq(why, "transform[0] (pid 10) sends no heartbeat");
    ck_assert_int_eq(up(&l, 10, 2900, 3000, why), 1);
    ck_assert_int_eq(up(&l, 10, 2900, 5500, why), 0); /* silent past the window */
    ck_assert_str_eq(why, "transform[0] (pid 10) sent no heartbeat for 2.6 s");
    /* killed at 60 s and restarted as pid 11; the monitor still holds the status it asked for
       before the kill (pid 10, running) when pid 11's first heartbeat arrives */
    ck_assert_int_eq(up(&l, 11, 60050, 60100, why), 1);
    /* ... and the status after it: pid 11 running, its heartbeat */
    lk_liveness_report(&l, 11, "running", 60200);
    ck_assert_int_eq(up(&l, 11, 60050, 60300, why), 1);
    /* between the exit and the fork: pid 0, restarting */
    lk_liveness_report(&l, 0, "restarting", 90000);
    ck_assert_int_eq(up(&l, 11, 89900, 90100, why), 1);
    /* held back past the window (a crash loop's backoff), the dead pid's last heartbeat old */
    ck_assert_int_eq(up(&l, 11, 89900, 92500, why), 0);
    ck_assert_str_eq(why, "transform[0] is restarting");
    /* a stopped worker is down whatever its heartbeats said */
    lk_liveness_report(&l, 0, "stopped", 100000);
    ck_assert_int_eq(up(&l, 11, 89900, 103000, why), 0);
    /* the monitor itself just started: no heartbeat yet is not down */
    lk_liveness m = {0};
    lk_liveness_report(&m, 20, "running", 0);
    ck_assert_int_eq(lk_liveness_up(&m, "writer", 1, 0, 0, 5000, W, 1, why, sizeof why), 1);
    ck_assert_int_eq(lk_liveness_up(&m, "writer", 1, 0, 0, 5000, W, 0, why, sizeof why), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("liveness");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, down_only_when_no_live_incarnation_says_otherwise);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
