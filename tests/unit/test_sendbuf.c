/* lk_sendbuf: zero-copy sends deliver the bytes intact, buffers come back
   to the pool when ZeroMQ is done with them and are reused, so the memory a
   sender keeps does not grow with the number of messages; a pool destroyed
   while ZeroMQ still holds its buffers is freed by the last one. */
#include <check.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_config.h"
#include "lk_sendbuf.h"

static lk_worker *g_w;
static zsock_t *g_push, *g_pull;
static char g_dir[256];

static void setup(void)
{
    lk_check_sock_mkdtemp(g_dir, sizeof g_dir, "sendbuf");
    lk_config cfg;
    lk_config_defaults(&cfg);
    lk_error err;
    ck_assert_msg(lk_worker_new("transform", 0, &cfg, g_dir, &g_w, &err) == 0, "%s", err.msg);
    char ep[128];
    snprintf(ep, sizeof ep, "inproc://sendbuf-%d", (int)getpid());
    g_push = zsock_new(ZMQ_PUSH);
    zsock_set_sndhwm(g_push, 8);
    zsock_set_linger(g_push, 0);
    ck_assert_int_eq(zsock_bind(g_push, "%s", ep), 0);
    g_pull = zsock_new(ZMQ_PULL);
    zsock_set_rcvhwm(g_pull, 8);
    ck_assert_int_eq(zsock_connect(g_pull, "%s", ep), 0);
}

static void teardown(void)
{
    zsock_destroy(&g_pull);
    zsock_destroy(&g_push);
    lk_worker_destroy(&g_w);
    rmdir(g_dir);
}

/* n bytes of a pattern that depends on seq, so a recycled buffer holding an
   older message's bytes would show */
static void fill(lk_buf *b, size_t n, int seq)
{
    lk_buf_reset(b);
    lk_buf_grow(b, n);
    for (size_t i = 0; i < n; i++)
        b->data[i] = (char)((i * 7 + (size_t)seq * 13) & 0xff);
    b->len = n;
}

static void receive_check(size_t n, int seq)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    ck_assert_int_ge(lk_zmq_recv(g_pull, &m, 5000), 0);
    ck_assert_uint_eq(zmq_msg_size(&m), n);
    const unsigned char *d = zmq_msg_data(&m);
    for (size_t i = 0; i < n; i++)
        if (d[i] != (unsigned char)((i * 7 + (size_t)seq * 13) & 0xff))
            ck_abort_msg("message %d: byte %zu differs", seq, i);
    zmq_msg_close(&m); /* inproc: the last reference; the buffer goes back */
}

START_TEST(bytes_arrive_intact_and_buffers_are_reused_not_accumulated)
{
    lk_sendbuf *p = lk_sendbuf_new();
    lk_buf b = LK_BUF_INIT;
    int nfree = 0, out = 0, seq = 0;
    /* rounds of 3 messages in flight at once, sizes from 1 byte to 1 MiB */
    for (int round = 0; round < 60; round++) {
        size_t sizes[3] = {1 + (size_t)round * 17000, 1024 * 1024, 300 + (size_t)round};
        for (int k = 0; k < 3; k++) {
            fill(&b, sizes[k], seq + k);
            char *sent = b.data;
            ck_assert_int_eq(lk_sendbuf_send(p, g_w, g_push, &b), 0);
            ck_assert_ptr_ne(b.data, sent); /* the bytes went, not a copy */
            ck_assert_uint_eq(b.len, 0);
        }
        lk_sendbuf_counts(p, &nfree, &out);
        ck_assert_int_eq(out, 3);
        for (int k = 0; k < 3; k++)
            receive_check(sizes[k], seq + k);
        seq += 3;
        lk_sendbuf_counts(p, &nfree, &out);
        ck_assert_int_eq(out, 0);
        /* the messages in flight plus the caller's: never more, whatever
           the number of rounds */
        ck_assert_int_le(nfree, 3);
    }
    /* after the first round every send reuses a buffer */
    ck_assert_uint_ge(b.cap, 1024 * 1024);
    lk_buf_free(&b);
    lk_sendbuf_destroy(&p);
    ck_assert_ptr_null(p);
}
END_TEST

START_TEST(a_pool_destroyed_while_zeromq_holds_buffers_is_freed_by_the_last)
{
    lk_sendbuf *p = lk_sendbuf_new();
    lk_buf b = LK_BUF_INIT;
    for (int k = 0; k < 2; k++) {
        fill(&b, 4096 + (size_t)k, k);
        ck_assert_int_eq(lk_sendbuf_send(p, g_w, g_push, &b), 0);
    }
    lk_sendbuf_destroy(&p); /* the owner goes first */
    receive_check(4096, 0);
    receive_check(4097, 1); /* the last buffer frees the pool (ASan: no leak) */
    lk_buf_free(&b);
}
END_TEST

START_TEST(an_empty_buffer_sends_an_empty_message)
{
    lk_sendbuf *p = lk_sendbuf_new();
    lk_buf b = LK_BUF_INIT;
    ck_assert_int_eq(lk_sendbuf_send(p, g_w, g_push, &b), 0);
    receive_check(0, 0);
    lk_sendbuf_destroy(&p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sendbuf");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, bytes_arrive_intact_and_buffers_are_reused_not_accumulated);
    tcase_add_test(tc, a_pool_destroyed_while_zeromq_holds_buffers_is_freed_by_the_last);
    tcase_add_test(tc, an_empty_buffer_sends_an_empty_message);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
