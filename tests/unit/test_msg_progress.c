/* Unit tests for the PROGRESS message of proto/lk_msg: a round trip of every
   field, and refusals of what a peer must not send (a bad phase, too many
   sources, a truncated message, another type). */
#include <check.h>
#include <string.h>

#include "lk_check.h"
#include "lk_msg.h"

static void fill(lk_msg_progress *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->role, sizeof p->role, "ingest");
    p->index = 3;
    p->phase = LK_PHASE_PLAN;
    p->batch_id = 42;
    p->ts_us = 1796545741885010;
    p->duration_us = 1234;
    p->rows = 5;
    p->bytes = 1 << 20;
    p->corrupt = 2;
    p->rescued = 1;
    p->files = 40;
    p->event_min_us = -5;
    p->event_max_us = 99;
    p->event_n = 7;
    p->event_sum_s = 12.5;
    p->n_sources = 2;
    snprintf(p->sources[0].path, sizeof p->sources[0].path, "/in/a.jsonl");
    p->sources[0].end = 100;
    p->sources[0].latest = 100;
    p->sources[0].input_time_us = 17;
    snprintf(p->sources[1].path, sizeof p->sources[1].path, "kafka://events/0");
    p->sources[1].start = 10;
    p->sources[1].end = 20;
    p->sources[1].latest = 30;
    p->n_tables = 1;
    snprintf(p->tables[0].table, sizeof p->tables[0].table, "raw_events");
    p->tables[0].rows = 9;
    p->tables[0].version = 4;
}

START_TEST(round_trip)
{
    lk_msg_progress a, b;
    fill(&a);
    lk_buf buf = LK_BUF_INIT;
    ck_assert_int_eq(lk_msg_progress_encode(&a, &buf), 0);
    lk_msg_type t;
    lk_error err;
    ck_assert_int_eq(lk_msg_peek(buf.data, buf.len, &t, &err), 0);
    ck_assert_int_eq(t, LK_MSG_PROGRESS);
    ck_assert_msg(lk_msg_progress_decode(buf.data, buf.len, &b, &err) == 0, "%s", err.msg);
    ck_assert_mem_eq(&a, &b, sizeof a);
    ck_assert_str_eq(lk_phase_name(LK_PHASE_COMMIT), "commit");
    ck_assert_str_eq(lk_phase_name(9), "?");
    lk_buf_free(&buf);
}
END_TEST

START_TEST(refusals)
{
    lk_msg_progress a, b;
    lk_buf buf = LK_BUF_INIT;
    lk_error err;
    fill(&a);
    a.phase = LK_PHASE_N;
    ck_assert_int_eq(lk_msg_progress_encode(&a, &buf), LK_ELIMIT);
    fill(&a);
    a.n_sources = LK_MSG_MAX_SOURCES + 1;
    ck_assert_int_eq(lk_msg_progress_encode(&a, &buf), LK_ELIMIT);
    fill(&a);
    ck_assert_int_eq(lk_msg_progress_encode(&a, &buf), 0);
    for (size_t cut = 0; cut < buf.len; cut += 7)
        ck_assert_int_eq(lk_msg_progress_decode(buf.data, cut, &b, &err), LK_EFORMAT);
    /* an event is not a progress report */
    lk_msg_event e;
    lk_msg_event_init(&e, "progress");
    lk_buf_reset(&buf);
    lk_msg_event_encode(&e, &buf);
    ck_assert_int_eq(lk_msg_progress_decode(buf.data, buf.len, &b, &err), LK_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "progress"));
    lk_buf_free(&buf);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("msg_progress");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, refusals);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
