/* Unit tests for the monitoring keys of pipeline/lk_config: monitor.*, alerts
   and notify — defaults, values, errors naming file, line and key, the
   running configuration's round trip, and which of them reload live. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_config.h"

static int load_text(const char *text, lk_config *cfg, lk_error *err)
{
    char path[512];
    int fd = lk_check_mkstemp(path, sizeof path, "cfgm");
    ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    int rc = lk_config_load(path, cfg, err);
    unlink(path);
    return rc;
}

static void expect_error(const char *text, const char *where, const char *what)
{
    lk_config c;
    lk_error err = {0};
    ck_assert_int_eq(load_text(text, &c, &err), LK_ECONFIG);
    ck_assert_msg(strstr(err.msg, where) && strstr(err.msg, what), "%s: got '%s'", text, err.msg);
}

START_TEST(defaults)
{
    lk_config c;
    lk_config_defaults(&c);
    ck_assert_str_eq(c.monitor.http, "");
    ck_assert_int_eq(c.monitor.progress_retention.ms, 7LL * 86400000);
    ck_assert_int_eq(c.monitor.progress_retention.batches, 10000);
    ck_assert_int_eq(c.monitor.batch_deadline_ms, 300000);
    ck_assert_int_eq(c.alerts.n, 0);
    ck_assert_int_eq(c.notify.n, 0);
}
END_TEST

static const char full[] =
    "monitor:\n"
    "  http: \"127.0.0.1:9187\"\n"
    "  progress_retention: 2 days or 500 batches\n"
    "alerts:\n"
    "  - name: backlog\n"
    "    when: \"backlog_seconds > 300\"\n"
    "    for: \"2 minutes\"\n"
    "    severity: warning\n"
    "  - name: stalled\n"
    "    when: \"seconds_since_last_commit>=600\"\n"
    "  - {name: corrupt_rate, when: \"corrupt_ratio > 0.01\", summary: \"bad \\\"input\\\"\"}\n"
    "notify:\n"
    "  - webhook: \"http://127.0.0.1:9093/api/v2/alerts\"\n"
    "  - exec: \"/usr/local/bin/page-oncall\"\n"
    "  - log: true\n";

START_TEST(values_and_round_trip)
{
    lk_config c, back;
    lk_error err = {0};
    ck_assert_msg(load_text(full, &c, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(c.monitor.http, "127.0.0.1:9187");
    ck_assert_int_eq(c.monitor.progress_retention.ms, 2LL * 86400000);
    ck_assert_int_eq(c.monitor.progress_retention.batches, 500);
    ck_assert_int_eq(c.alerts.n, 3);
    ck_assert_str_eq(c.alerts.rule[0].metric, "backlog_seconds");
    ck_assert_int_eq(c.alerts.rule[0].op, LK_OP_GT);
    ck_assert(c.alerts.rule[0].threshold == 300);
    ck_assert_int_eq(c.alerts.rule[0].for_ms, 120000);
    ck_assert_str_eq(c.alerts.rule[1].severity, "warning"); /* the default */
    ck_assert_int_eq(c.alerts.rule[1].op, LK_OP_GE);
    ck_assert(c.alerts.rule[2].threshold == 0.01);
    ck_assert_str_eq(c.alerts.rule[2].summary, "bad \"input\"");
    ck_assert_int_eq(c.notify.n, 3);
    ck_assert_int_eq(c.notify.to[0].kind, LK_NOTIFY_WEBHOOK);
    ck_assert_int_eq(c.notify.to[1].kind, LK_NOTIFY_EXEC);
    ck_assert_str_eq(c.notify.to[1].target, "/usr/local/bin/page-oncall");
    ck_assert_int_eq(c.notify.to[2].kind, LK_NOTIFY_LOG);
    /* the running configuration the workers read gives back the same */
    char path[512];
    int fd = lk_check_mkstemp(path, sizeof path, "running");
    close(fd);
    ck_assert_int_eq(lk_config_write(&c, path, &err), 0);
    ck_assert_msg(lk_config_load(path, &back, &err) == 0, "%s", err.msg);
    unlink(path);
    ck_assert_int_eq(back.alerts.n, 3);
    ck_assert_mem_eq(&back.alerts, &c.alerts, sizeof c.alerts);
    ck_assert_mem_eq(&back.notify, &c.notify, sizeof c.notify);
    ck_assert_int_eq(back.monitor.progress_retention.ms, c.monitor.progress_retention.ms);
    ck_assert_int_eq(back.monitor.progress_retention.batches, 500);
}
END_TEST

START_TEST(retention_forms)
{
    lk_config c;
    lk_error err = {0};
    ck_assert_int_eq(load_text("monitor:\n  progress_retention: 3 days\n", &c, &err), 0);
    ck_assert_int_eq(c.monitor.progress_retention.ms, 3LL * 86400000);
    ck_assert_int_eq(c.monitor.progress_retention.batches, 0);
    ck_assert_int_eq(load_text("monitor:\n  progress_retention: 100 batches\n", &c, &err), 0);
    ck_assert_int_eq(c.monitor.progress_retention.ms, 0);
    ck_assert_int_eq(c.monitor.progress_retention.batches, 100);
    char d[64];
    lk_config_format_duration(7LL * 86400000, d, sizeof d);
    ck_assert_str_eq(d, "7 days");
    lk_config_format_duration(90000, d, sizeof d);
    ck_assert_str_eq(d, "90 seconds");
    lk_config_format_duration(1250, d, sizeof d);
    ck_assert_str_eq(d, "1250 ms");
}
END_TEST

START_TEST(errors_name_file_line_and_key)
{
    expect_error("alerts:\n  - name: x\n    when: \"backlog_apples > 3\"\n",
                 ":3: key 'alerts[0].when'", "backlog_seconds|");
    expect_error("alerts:\n  - name: x\n    when: \"backlog_files ~ 3\"\n", "alerts[0].when",
                 "expected an operator");
    expect_error("alerts:\n  - name: x\n    when: \"backlog_files > many\"\n", "alerts[0].when",
                 "expected a number");
    expect_error("alerts:\n  - {name: a, when: \"workers_down > 0\"}\n  - {name: a, when: "
                 "\"workers_down > 1\"}\n",
                 ":3: key 'alerts[1]'", "used twice");
    expect_error("alerts:\n  - {name: a, when: \"workers_down > 0\", for: soon}\n", "alerts[0].for",
                 "duration");
    expect_error("alerts:\n  - {name: a, when: \"workers_down > 0\", colour: red}\n",
                 "alerts[0].colour", "unknown key");
    expect_error("alerts:\n  - {name: a}\n", "alerts[0]", "needs name and when");
    expect_error("alerts:\n  - {name: worker_crash_loop, when: \"workers_down > 0\"}\n",
                 "alerts[0]", "built in");
    expect_error("alerts: backlog\n", "key 'alerts'", "expected a list");
    expect_error("notify:\n  - webhook: \"ftp://x\"\n", ":2: key 'notify[0].webhook'", "http://");
    expect_error("notify:\n  - exec: page-oncall\n", "notify[0].exec", "absolute path");
    expect_error("notify:\n  - pager: x\n", "notify[0].pager", "unknown receiver");
    expect_error("notify:\n  - log: maybe\n", "notify[0].log", "boolean");
    expect_error("monitor:\n  http: \"0.0.0.0:9187\"\n", "monitor.http", "monitor.auth_token");
    expect_error("monitor:\n  http: \"localhost\"\n", "monitor.http", "host:port");
    expect_error("monitor:\n  progress_retention: forever\n", "monitor.progress_retention",
                 "batches");
    expect_error("monitor:\n  colour: red\n", "monitor.colour", "unknown key");
    lk_config c;
    lk_error err = {0};
    ck_assert_int_eq(
        load_text("monitor:\n  http: \"0.0.0.0:9187\"\n  auth_token: s3cret\n", &c, &err), 0);
    ck_assert_int_eq(load_text("monitor:\n  http: \"[::1]:9187\"\n", &c, &err), 0);
    char host[64];
    int port = 0;
    ck_assert_int_eq(lk_config_http_addr("[::1]:9187", host, sizeof host, &port), 0);
    ck_assert_str_eq(host, "::1");
    ck_assert_int_eq(port, 9187);
}
END_TEST

START_TEST(alerts_and_notify_reload_live)
{
    lk_config run, fresh;
    lk_error err = {0};
    lk_config_defaults(&run);
    ck_assert_int_eq(load_text(full, &fresh, &err), 0);
    char applied[512], refused[512];
    lk_config_apply_live(&run, &fresh, applied, sizeof applied, refused, sizeof refused);
    ck_assert_ptr_nonnull(strstr(applied, "alerts"));
    ck_assert_ptr_nonnull(strstr(applied, "notify"));
    ck_assert_ptr_nonnull(strstr(applied, "monitor.progress_retention"));
    ck_assert_ptr_nonnull(strstr(refused, "monitor.http"));
    ck_assert_int_eq(run.alerts.n, 3);
    ck_assert_str_eq(run.monitor.http, "");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config_monitor");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, values_and_round_trip);
    tcase_add_test(tc, retention_forms);
    tcase_add_test(tc, errors_name_file_line_and_key);
    tcase_add_test(tc, alerts_and_notify_reload_live);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
