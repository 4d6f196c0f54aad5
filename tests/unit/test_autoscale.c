/* test_autoscale — the autoscaler's decisions (supervisor/lk_autoscale) on
   made-up heartbeats: up only while the transforms are the bottleneck and a
   core is idle, never past the maximum, down when idle, a cooldown after
   each change, and a reason for every decision. */
#include <check.h>
#include <string.h>

#include "lk_autoscale.h"

/* Feeds one sample a second for secs seconds: each transform busy `busy` of
   the time, ingest waiting `wait`, `idle` cores idle. Returns the first
   non-zero decision (and its reason in why), or 0. */
static int feed(lk_autoscale *a, int64_t *t, int n, double busy, double wait, double idle,
                int secs, int max, char *why)
{
    static int64_t busy_us, wait_us;
    static double idle_s;
    for (int i = 0; i < secs; i++) {
        *t += 1000;
        busy_us += (int64_t)(busy * 1e6 * n);
        wait_us += (int64_t)(wait * 1e6);
        idle_s += idle;
        lk_autoscale_sample s = {*t, n, busy_us, wait_us, idle_s};
        int d = lk_autoscale_decide(a, &s, max, why, 256);
        if (d)
            return d;
    }
    return 0;
}

START_TEST(up_when_bottleneck_and_idle_core)
{
    lk_autoscale *a = lk_autoscale_new();
    int64_t t = 100000;
    char why[256];
    ck_assert_int_eq(feed(a, &t, 1, 0.95, 0.6, 1.0, 8, 4, why), 1);
    ck_assert_msg(strstr(why, "transforms busy 95 %") && strstr(why, "ingest waited 60 %"), "%s", why);
    lk_autoscale_destroy(&a);
}
END_TEST

START_TEST(holds_without_idle_cpu_or_at_max)
{
    lk_autoscale *a = lk_autoscale_new();
    int64_t t = 100000;
    char why[256] = "";
    ck_assert_int_eq(feed(a, &t, 1, 0.95, 0.6, 0.1, 20, 4, why), 0);
    lk_autoscale *b = lk_autoscale_new();
    ck_assert_int_eq(feed(b, &t, 2, 0.95, 0.6, 1.0, 20, 2, why), 0);
    /* busy, but ingest never waits for them: another stage is the bottleneck */
    lk_autoscale *c = lk_autoscale_new();
    ck_assert_int_eq(feed(c, &t, 1, 0.95, 0.0, 1.0, 20, 4, why), 0);
    lk_autoscale_destroy(&a);
    lk_autoscale_destroy(&b);
    lk_autoscale_destroy(&c);
}
END_TEST

START_TEST(says_why_it_holds)
{
    lk_autoscale *a = lk_autoscale_new();
    int64_t t = 100000;
    char why[256] = "";
    int said = 0;
    static int64_t bu, wu;
    static double id;
    for (int i = 0; i < 10; i++) {
        t += 1000;
        bu += 950000;
        wu += 600000;
        id += 0.1;
        lk_autoscale_sample s = {t, 1, bu, wu, id};
        ck_assert_int_eq(lk_autoscale_decide(a, &s, 4, why, sizeof why), 0);
        if (why[0]) {
            said++;
            ck_assert_msg(strstr(why, "idle core"), "%s", why);
        }
    }
    ck_assert_int_eq(said, 1); /* once per change of reason, not every second */
    lk_autoscale_destroy(&a);
}
END_TEST

START_TEST(down_when_idle_not_below_one)
{
    lk_autoscale *a = lk_autoscale_new();
    int64_t t = 100000;
    char why[256];
    ck_assert_int_eq(feed(a, &t, 3, 0.1, 0.0, 1.5, 8, 4, why), -1);
    ck_assert_msg(strstr(why, "(idle)"), "%s", why);
    lk_autoscale *b = lk_autoscale_new();
    ck_assert_int_eq(feed(b, &t, 1, 0.0, 0.0, 2.0, 30, 4, why), 0);
    lk_autoscale_destroy(&a);
    lk_autoscale_destroy(&b);
}
END_TEST

START_TEST(cooldown_after_a_change)
{
    lk_autoscale *a = lk_autoscale_new();
    int64_t t = 100000;
    char why[256];
    lk_autoscale_changed(a, t);
    /* bottleneck at once after a change: nothing before the cooldown is over */
    int64_t t0 = t;
    ck_assert_int_eq(feed(a, &t, 2, 0.95, 0.6, 1.0, 9, 4, why), 0);
    ck_assert_int_eq(feed(a, &t, 2, 0.95, 0.6, 1.0, 10, 4, why), 1);
    ck_assert_int_ge(t - t0, LK_AUTOSCALE_COOLDOWN_MS);
    lk_autoscale_destroy(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("autoscale");
    TCase *tc = tcase_create("decide");
    tcase_add_test(tc, up_when_bottleneck_and_idle_core);
    tcase_add_test(tc, holds_without_idle_cpu_or_at_max);
    tcase_add_test(tc, says_why_it_holds);
    tcase_add_test(tc, down_when_idle_not_below_one);
    tcase_add_test(tc, cooldown_after_a_change);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
