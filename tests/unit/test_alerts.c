/* Unit tests for workers/monitor/lk_alerts: pending, firing after `for`,
   one notice per state change, resolve, a reload that keeps state, built-in
   per-worker alerts and one-shot events — with a fake clock and metrics. */
#include <check.h>
#include <string.h>

#include "lk_alerts.h"
#include "lk_check.h"

typedef struct sink {
    lk_alert_notice got[16];
    int n;
} sink;

static void collect(void *ctx, const lk_alert_notice *n)
{
    sink *s = ctx;
    if (s->n < 16) s->got[s->n++] = *n;
}

static double g_value;
static int g_known = 1;

static double metric(void *ctx, const char *name, int *ok)
{
    (void)ctx;
    *ok = g_known && !strcmp(name, "backlog_seconds");
    return g_value;
}

static lk_alert_rule rule(const char *name, const char *when, int64_t for_ms)
{
    lk_alert_rule r;
    memset(&r, 0, sizeof r);
    snprintf(r.name, sizeof r.name, "%s", name);
    snprintf(r.when, sizeof r.when, "%s", when);
    snprintf(r.severity, sizeof r.severity, "warning");
    lk_error err;
    ck_assert_int_eq(lk_config_parse_alert(when, &r, &err), 0);
    r.for_ms = for_ms;
    return r;
}

#define S(x) ((int64_t)(x)*1000000)

START_TEST(fires_after_for_once_and_resolves_once)
{
    lk_alerts *a = lk_alerts_new();
    sink k = {0};
    lk_alert_rule r = rule("backlog", "backlog_seconds > 300", 120000);
    lk_alerts_set_rules(a, &r, 1, S(0), collect, &k);
    g_value = 400;
    lk_alerts_eval(a, metric, NULL, S(1), collect, &k);
    ck_assert_int_eq(k.n, 0); /* pending */
    lk_buf b = LK_BUF_INIT;
    lk_alerts_json(a, &b);
    ck_assert_ptr_nonnull(strstr(b.data, "\"state\":\"pending\""));
    lk_alerts_eval(a, metric, NULL, S(120), collect, &k);
    ck_assert_int_eq(k.n, 0); /* 119 s < for */
    lk_alerts_eval(a, metric, NULL, S(121), collect, &k);
    ck_assert_int_eq(k.n, 1);
    ck_assert_str_eq(k.got[0].status, "firing");
    ck_assert_str_eq(k.got[0].name, "backlog");
    ck_assert(k.got[0].value == 400);
    ck_assert_int_eq(k.got[0].starts_us, S(121));
    ck_assert_int_eq(k.got[0].ends_us, 0);
    for (int t = 122; t < 200; t++)
        lk_alerts_eval(a, metric, NULL, S(t), collect, &k);
    ck_assert_int_eq(k.n, 1); /* once per state change */
    ck_assert_int_eq(lk_alerts_firing(a), 1);
    g_known = 0; /* an unknown value keeps the state */
    lk_alerts_eval(a, metric, NULL, S(200), collect, &k);
    g_known = 1;
    ck_assert_int_eq(k.n, 1);
    g_value = 10;
    lk_alerts_eval(a, metric, NULL, S(201), collect, &k);
    ck_assert_int_eq(k.n, 2);
    ck_assert_str_eq(k.got[1].status, "resolved");
    ck_assert_int_eq(k.got[1].starts_us, S(121));
    ck_assert_int_eq(k.got[1].ends_us, S(201));
    lk_alerts_eval(a, metric, NULL, S(202), collect, &k);
    ck_assert_int_eq(k.n, 2);
    /* a condition that stops holding while pending never notifies */
    g_value = 400;
    lk_alerts_eval(a, metric, NULL, S(300), collect, &k);
    g_value = 0;
    lk_alerts_eval(a, metric, NULL, S(301), collect, &k);
    g_value = 400;
    lk_alerts_eval(a, metric, NULL, S(302), collect, &k);
    lk_alerts_eval(a, metric, NULL, S(421), collect, &k);
    ck_assert_int_eq(k.n, 2); /* for counts from 302 again */
    lk_alerts_eval(a, metric, NULL, S(422), collect, &k);
    ck_assert_int_eq(k.n, 3);
    lk_buf_free(&b);
    lk_alerts_destroy(&a);
    ck_assert_ptr_null(a);
}
END_TEST

START_TEST(reload_keeps_unchanged_rules_and_resolves_removed_ones)
{
    lk_alerts *a = lk_alerts_new();
    sink k = {0};
    lk_alert_rule r[2] = {rule("backlog", "backlog_seconds > 1", 0),
                          rule("other", "backlog_seconds > 2", 0)};
    lk_alerts_set_rules(a, r, 2, S(0), collect, &k);
    g_value = 5;
    lk_alerts_eval(a, metric, NULL, S(1), collect, &k);
    ck_assert_int_eq(k.n, 2);
    /* a reload with backlog unchanged (new severity) and other removed */
    snprintf(r[0].severity, sizeof r[0].severity, "critical");
    lk_alerts_set_rules(a, r, 1, S(2), collect, &k);
    ck_assert_int_eq(k.n, 3);
    ck_assert_str_eq(k.got[2].name, "other");
    ck_assert_str_eq(k.got[2].status, "resolved");
    lk_alerts_eval(a, metric, NULL, S(3), collect, &k);
    ck_assert_int_eq(k.n, 3); /* backlog did not fire again */
    ck_assert_int_eq(lk_alerts_firing(a), 1);
    sink again = {0};
    lk_alerts_each_firing(a, collect, &again);
    ck_assert_int_eq(again.n, 1);
    ck_assert_str_eq(again.got[0].severity, "critical");
    lk_alerts_destroy(&a);
}
END_TEST

START_TEST(builtin_per_worker_and_events)
{
    lk_alerts *a = lk_alerts_new();
    sink k = {0};
    lk_alerts_builtin(a, "worker_crash_loop", "writer", 1, 0, 0, "critical", "ok", S(0), collect,
                      &k);
    ck_assert_int_eq(k.n, 0);
    lk_alerts_builtin(a, "worker_crash_loop", "writer", 1, 1, 3, "critical", "3 restarts", S(1),
                      collect, &k);
    lk_alerts_builtin(a, "worker_crash_loop", "writer", 0, 0, 0, "critical", "", S(1), collect, &k);
    lk_alerts_builtin(a, "worker_crash_loop", "writer", 1, 1, 4, "critical", "4 restarts", S(2),
                      collect, &k);
    ck_assert_int_eq(k.n, 1);
    ck_assert_str_eq(k.got[0].role, "writer");
    ck_assert_int_eq(k.got[0].index, 1);
    ck_assert_str_eq(k.got[0].summary, "3 restarts");
    lk_buf b = LK_BUF_INIT;
    lk_alerts_json(a, &b);
    ck_assert_ptr_nonnull(strstr(b.data, "\"role\":\"writer\",\"index\":1"));
    lk_alerts_builtin(a, "worker_crash_loop", "writer", 1, 0, 0, "critical", "calm", S(3), collect,
                      &k);
    ck_assert_int_eq(k.n, 2);
    ck_assert_str_eq(k.got[1].status, "resolved");
    lk_alerts_event(a, "schema_change", "info", "new column", 1, S(4), collect, &k);
    ck_assert_int_eq(k.n, 3);
    ck_assert_int_eq(k.got[2].event, 1);
    ck_assert_int_eq(lk_alerts_firing(a), 0);
    lk_buf_free(&b);
    lk_alerts_destroy(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("alerts");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, fires_after_for_once_and_resolves_once);
    tcase_add_test(tc, reload_keeps_unchanged_rules_and_resolves_removed_ones);
    tcase_add_test(tc, builtin_per_worker_and_events);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
