/* Unit tests for workers/monitor/lk_notify_out: the Alertmanager v2 payload,
   an exec receiver that fails once and is retried after the backoff (with a
   fake clock), a webhook whose receiver is down (counted, retried, never
   blocking), and a full queue dropping the oldest notice. */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_log.h"
#include "lk_notify_out.h"
#include "lk_time.h"

static lk_alert_notice notice(const char *status)
{
    lk_alert_notice n;
    memset(&n, 0, sizeof n);
    snprintf(n.name, sizeof n.name, "backlog");
    snprintf(n.status, sizeof n.status, "%s", status);
    snprintf(n.severity, sizeof n.severity, "warning");
    snprintf(n.summary, sizeof n.summary, "input \"waits\"");
    snprintf(n.description, sizeof n.description, "d");
    snprintf(n.when, sizeof n.when, "backlog_seconds > 300");
    n.value = 301.5;
    n.starts_us = 1796545741885000;
    n.ends_us = !strcmp(status, "resolved") ? n.starts_us + 60000000 : 0;
    return n;
}

START_TEST(alertmanager_payload)
{
    lk_buf b = LK_BUF_INIT;
    lk_alert_notice n = notice("firing");
    lk_notify_out_alert_json("p1", "http://127.0.0.1:9187/", &n, &b);
    ck_assert_str_eq(
        b.data,
        "{\"labels\":{\"alertname\":\"backlog\",\"severity\":\"warning\",\"pipeline\":\"p1\","
        "\"job\":\"lakesupd\"},\"annotations\":{\"summary\":\"input \\\"waits\\\"\","
        "\"description\":\"d\",\"value\":\"301.5\",\"condition\":\"backlog_seconds > 300\"},"
        "\"startsAt\":\"2026-12-06T08:29:01.885Z\",\"generatorURL\":\"http://127.0.0.1:9187/\"}");
    lk_buf_reset(&b);
    n = notice("resolved");
    snprintf(n.role, sizeof n.role, "writer");
    n.index = 1;
    lk_notify_out_alert_json("p1", "", &n, &b);
    ck_assert_ptr_nonnull(strstr(b.data, "\"role\":\"writer\",\"index\":\"1\""));
    ck_assert_ptr_nonnull(strstr(b.data, "\"endsAt\":\"2026-12-06T08:30:01.885Z\""));
    lk_buf_free(&b);
}
END_TEST

/* Runs the receivers at fake times from t until pred or 5 s of real time. */
static int64_t drive(lk_notify_out *n, int64_t t, long long want_sent, long long want_failed)
{
    long long sent, failed, dropped, queued;
    for (int i = 0; i < 500; i++) {
        lk_notify_out_run(n, t);
        lk_notify_out_counts(n, &sent, &failed, &dropped, &queued);
        if (sent >= want_sent && failed >= want_failed) return t;
        usleep(10000);
    }
    ck_abort_msg("receivers did not get there: sent %lld failed %lld", sent, failed);
    return t;
}

START_TEST(exec_fails_once_then_delivers_after_the_backoff)
{
    char dir[512], script[600], out[600], marker[600];
    lk_check_mkdtemp(dir, sizeof dir, "exec");
    snprintf(script, sizeof script, "%s/page", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(marker, sizeof marker, "%s/tried", dir);
    FILE *f = fopen(script, "w");
    fprintf(f,
            "#!/bin/sh\nif [ ! -e '%s' ]; then touch '%s'; exit 3; fi\n"
            "{ echo \"$LAKESUP_ALERT $LAKESUP_ALERT_STATUS\"; cat; } > '%s'\n",
            marker, marker, out);
    fclose(f);
    chmod(script, 0755);
    lk_notify_out *n = lk_notify_out_new("p1", "");
    lk_notify_target t = {.kind = LK_NOTIFY_EXEC};
    snprintf(t.target, sizeof t.target, "%s", script);
    lk_notify_out_set_targets(n, &t, 1);
    lk_alert_notice a = notice("firing");
    lk_notify_out_send(n, &a);
    int64_t now = drive(n, 1000, 0, 1); /* exit 3: a failure */
    long long sent, failed, dropped, queued;
    /* not retried before the 1 s backoff */
    for (int i = 0; i < 20; i++) {
        lk_notify_out_run(n, now + 900);
        usleep(5000);
    }
    lk_notify_out_counts(n, &sent, &failed, &dropped, &queued);
    ck_assert_int_eq(failed, 1);
    ck_assert_int_eq(queued, 1);
    ck_assert(access(out, F_OK) != 0);
    drive(n, now + 1000, 1, 1);
    lk_notify_out_counts(n, &sent, &failed, &dropped, &queued);
    ck_assert_int_eq(queued, 0);
    char text[4096] = "";
    f = fopen(out, "r");
    ck_assert_ptr_nonnull(f);
    size_t len = fread(text, 1, sizeof text - 1, f);
    text[len] = 0;
    fclose(f);
    ck_assert_msg(strstr(text, "backlog firing\n{\"labels\":{\"alertname\":\"backlog\"") != NULL,
                  "%s", text);
    ck_assert_ptr_nonnull(strstr(text, ",\"status\":\"firing\"}"));
    lk_notify_out_destroy(&n);
    ck_assert_ptr_null(n);
}
END_TEST

START_TEST(webhook_down_is_retried_and_the_queue_is_bounded)
{
    lk_notify_out *n = lk_notify_out_new("p1", "");
    lk_notify_target t = {.kind = LK_NOTIFY_WEBHOOK};
    /* port 1 on loopback: nothing listens (connection refused at once) */
    snprintf(t.target, sizeof t.target, "http://127.0.0.1:1/api/v2/alerts");
    lk_notify_out_set_targets(n, &t, 1);
    lk_alert_notice a = notice("firing");
    lk_notify_out_send(n, &a);
    int64_t start = lk_time_mono_ms();
    int64_t now = drive(n, 0, 0, 1);
    now = drive(n, now + 1000, 0, 2);            /* retried after 1 s */
    drive(n, now + 2000, 0, 3);                  /* then after 2 s */
    ck_assert(lk_time_mono_ms() - start < 5000); /* never waited on the receiver */
    for (int i = 0; i < LK_NOTIFY_QUEUE + 5; i++)
        lk_notify_out_send(n, &a);
    long long sent, failed, dropped, queued;
    lk_notify_out_counts(n, &sent, &failed, &dropped, &queued);
    ck_assert_int_eq(queued, LK_NOTIFY_QUEUE);
    ck_assert_int_eq(dropped, 6);
    ck_assert_int_eq(sent, 0);
    /* a log receiver delivers at once */
    lk_notify_target both[2] = {t, {.kind = LK_NOTIFY_LOG}};
    lk_notify_out_set_targets(n, both, 2);
    lk_notify_out_send(n, &a);
    lk_notify_out_counts(n, &sent, &failed, &dropped, &queued);
    ck_assert_int_eq(sent, 1);
    ck_assert_int_eq(queued, LK_NOTIFY_QUEUE); /* the webhook's queue was kept */
    lk_notify_out_destroy(&n);
}
END_TEST

/* A log receiver's firing line names the worker of worker_crash_loop as log lines do:
   role[index]. */
START_TEST(log_line_names_the_worker)
{
    lk_notify_out *n = lk_notify_out_new("p1", "");
    lk_notify_target t = {.kind = LK_NOTIFY_LOG};
    lk_notify_out_set_targets(n, &t, 1);
    lk_alert_notice a = notice("firing");
    snprintf(a.name, sizeof a.name, "worker_crash_loop");
    snprintf(a.summary, sizeof a.summary, "3 restarts");
    snprintf(a.role, sizeof a.role, "writer");
    a.index = 1;
    lk_notify_out_send(n, &a);
    ck_assert_ptr_nonnull(lk_log_last_error());
    ck_assert_msg(strstr(lk_log_last_error(), "worker=writer[1]: 3 restarts"), "%s",
                  lk_log_last_error());
    lk_notify_out_destroy(&n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("notify_out");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, alertmanager_payload);
    tcase_add_test(tc, exec_fails_once_then_delivers_after_the_backoff);
    tcase_add_test(tc, webhook_down_is_retried_and_the_queue_is_bounded);
    tcase_add_test(tc, log_line_names_the_worker);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
