/* lk_flow's frames: a message larger than LK_FLOW_FRAME_BYTES goes to a receiver that said
   "f" as a multi-part message of frames of that size, zero-copy slices of the sender's one
   buffer, which goes back to its pool once ZeroMQ let go of every frame; lk_flow_in joins
   the frames into the message byte for byte; a receiver that did not say "f" (the remote
   gateway, an older worker) gets one frame per message, as before. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_config.h"
#include "lk_flow.h"
#include "lk_shmin.h"
#include "lk_worker.h"

static lk_worker *g_w;
static char g_dir[256], g_ep[300];

static void setup(void)
{
    lk_check_sock_mkdtemp(g_dir, sizeof g_dir, "flow");
    lk_config cfg;
    lk_config_defaults(&cfg);
    lk_error err;
    ck_assert_msg(lk_worker_new("transform", 0, &cfg, g_dir, &g_w, &err) == 0, "%s", err.msg);
    snprintf(g_ep, sizeof g_ep, "ipc://%s/flow.ipc", g_dir);
}

static void teardown(void)
{
    lk_worker_destroy(&g_w);
    char p[300];
    snprintf(p, sizeof p, "%s/flow.ipc", g_dir);
    unlink(p);
    rmdir(g_dir);
}

/* n bytes of a pattern that depends on seq, so that a frame out of place would show */
static void fill(lk_buf *b, size_t n, int seq)
{
    lk_buf_reset(b);
    lk_buf_grow(b, n);
    for (size_t i = 0; i < n; i++)
        b->data[i] = (char)((i * 7 + i / 65536 + (size_t)seq * 13) & 0xff);
    b->len = n;
}

static void check_bytes(const void *data, size_t len, size_t n, int seq)
{
    ck_assert_uint_eq(len, n);
    const unsigned char *d = data;
    for (size_t i = 0; i < n; i++)
        if (d[i] != (unsigned char)((i * 7 + i / 65536 + (size_t)seq * 13) & 0xff))
            ck_abort_msg("message %d (%zu bytes): byte %zu differs", seq, n, i);
}

/* lk_flow_in_recv into m (initialised here), waiting up to 5 s for something: its result. */
static int recv_rc(lk_flow_in *in, zmq_msg_t *m)
{
    zmq_msg_init(m);
    int rc = -EAGAIN;
    for (int t = 0; t < 50 && rc == -EAGAIN; t++)
        rc = lk_flow_in_recv(in, m, 100);
    return rc;
}

/* Receives one message through in into m (initialised here), waiting up to 5 s. */
static void recv_one(lk_flow_in *in, zmq_msg_t *m)
{
    ck_assert_int_eq(recv_rc(in, m), 0);
}

/* A sender at g_ep and a receiver (window credits) that maps its slabs, linked. */
static void slab_link(int window, lk_flow_out **o, lk_flow_in **in)
{
    lk_error err;
    ck_assert_msg(lk_flow_out_new(g_w, g_ep, o, &err) == 0, "%s", err.msg);
    *in = lk_flow_in_new(g_w, window);
    ck_assert_int_eq(lk_flow_in_set_slabs(*in, 1), 1);
    ck_assert_int_eq(lk_flow_in_connect(*in, g_ep), 0);
}

/* Receives one message through in and checks it is message seq of n bytes. */
static void recv_check(lk_flow_in *in, size_t n, int seq)
{
    zmq_msg_t m;
    recv_one(in, &m);
    check_bytes(zmq_msg_data(&m), zmq_msg_size(&m), n, seq);
    zmq_msg_close(&m);
}

/* Waits until the sender holds a credit (the receiver's "R" reached it). */
static void wait_credit(lk_flow_out *o);

/* Sends message k of sizes[k] bytes through o for each k and checks each arrives whole at in. */
static void send_sizes(lk_flow_out *o, lk_flow_in *in, lk_sendbuf *pool, lk_buf *b,
                       const size_t *sizes, int n)
{
    for (int k = 0; k < n; k++) {
        wait_credit(o);
        fill(b, sizes[k], k);
        ck_assert_int_eq(lk_flow_out_send(o, pool, b), 0);
        recv_check(in, sizes[k], k);
    }
}

/* Waits until the sender holds a credit (the receiver's "R" reached it). */
static void wait_credit(lk_flow_out *o)
{
    for (int i = 0; i < 500 && lk_flow_out_credits(o) == 0; i++) {
        lk_flow_out_service(o);
        usleep(2000);
    }
    ck_assert_int_gt(lk_flow_out_credits(o), 0);
}

START_TEST(messages_of_every_size_arrive_whole_through_lk_flow_in)
{
    lk_error err;
    lk_flow_out *o;
    ck_assert_msg(lk_flow_out_new(g_w, g_ep, &o, &err) == 0, "%s", err.msg);
    lk_flow_in *in = lk_flow_in_new(g_w, 2);
    ck_assert_int_eq(lk_flow_in_connect(in, g_ep), 0);
    lk_sendbuf *pool = lk_sendbuf_new();
    lk_buf b = LK_BUF_INIT;
    const size_t F = LK_FLOW_FRAME_BYTES;
    size_t sizes[] = {1, 100, F - 1, F, F + 1, 2 * F, 3 * F + 17, (1u << 20) + 5, 5u << 20};
    int n = (int)(sizeof sizes / sizeof sizes[0]);
    send_sizes(o, in, pool, &b, sizes, n);
    /* every frame was let go of: the buffers are back in the pool */
    int nfree = 0, out = 1;
    for (int i = 0; i < 500 && out; i++) {
        lk_sendbuf_counts(pool, &nfree, &out);
        if (out)
            usleep(2000);
    }
    ck_assert_int_eq(out, 0);
    lk_buf_free(&b);
    lk_sendbuf_destroy(&pool);
    lk_flow_in_destroy(&in);
    lk_flow_out_destroy(&o);
}
END_TEST

/* A raw DEALER as the receiver: what goes on the wire for "R1f" and for "R1". */
static void frames_on_the_wire(const char *hello, size_t n, int want_frames)
{
    lk_error err;
    lk_flow_out *o;
    ck_assert_msg(lk_flow_out_new(g_w, g_ep, &o, &err) == 0, "%s", err.msg);
    zsock_t *d = zsock_new(ZMQ_DEALER);
    zsock_set_linger(d, 0);
    ck_assert_int_eq(zsock_connect(d, "%s", g_ep), 0);
    ck_assert_int_eq(zmq_send(zsock_resolve(d), hello, strlen(hello), 0), (int)strlen(hello));
    wait_credit(o);
    lk_sendbuf *pool = lk_sendbuf_new();
    lk_buf b = LK_BUF_INIT;
    fill(&b, n, 7);
    ck_assert_int_eq(lk_flow_out_send(o, pool, &b), 0);
    zsock_set_rcvtimeo(d, 5000);
    lk_buf joined = LK_BUF_INIT;
    int frames = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        ck_assert_int_ge(zmq_msg_recv(&m, zsock_resolve(d), 0), 0);
        if (more && zmq_msg_more(&m))
            ck_assert_uint_eq(zmq_msg_size(&m), LK_FLOW_FRAME_BYTES);
        lk_buf_append(&joined, zmq_msg_data(&m), zmq_msg_size(&m));
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        frames++;
    }
    ck_assert_int_eq(frames, want_frames);
    check_bytes(joined.data, joined.len, n, 7);
    lk_buf_free(&joined);
    lk_buf_free(&b);
    lk_sendbuf_destroy(&pool);
    zsock_destroy(&d);
    lk_flow_out_destroy(&o);
}

START_TEST(a_receiver_that_says_f_gets_frames_one_that_does_not_gets_one)
{
    const size_t F = LK_FLOW_FRAME_BYTES;
    frames_on_the_wire("R1f", 3 * F + 100, 4);
    frames_on_the_wire("R1f", F, 1); /* not larger than a frame: as it is */
    frames_on_the_wire("R1", 3 * F + 100, 1);
    frames_on_the_wire("C1", (1u << 20) + 3, 1);
    frames_on_the_wire("C1f", (1u << 20) + 3, 17);
}
END_TEST

/* A raw ROUTER bound at g_ep, as a sender of tests: receives wait up to 5 s. */
static zsock_t *raw_router(void)
{
    zsock_t *r = zsock_new(ZMQ_ROUTER);
    zsock_set_linger(r, 0);
    ck_assert_int_ge(zsock_bind(r, "%s", g_ep), 0);
    zsock_set_rcvtimeo(r, 5000);
    return r;
}

/* The first message a receiver sent the raw ROUTER r: its routing id into id, and its control
   frame into ctl, which must be want (both initialised here). */
static void first_control(zsock_t *r, zmq_msg_t *id, zmq_msg_t *ctl, const char *want)
{
    zmq_msg_init(id);
    zmq_msg_init(ctl);
    ck_assert_int_ge(zmq_msg_recv(id, zsock_resolve(r), 0), 0);
    ck_assert_int_ge(zmq_msg_recv(ctl, zsock_resolve(r), 0), 0);
    ck_assert_uint_eq(zmq_msg_size(ctl), strlen(want));
    ck_assert_int_eq(memcmp(zmq_msg_data(ctl), want, strlen(want)), 0);
}

/* A raw ROUTER as the sender: lk_flow_in says "f" in its credits, and joins a message that
   comes in frames of any sizes (a frame of 1 byte, an empty last frame included). */
START_TEST(lk_flow_in_says_f_and_joins_frames)
{
    zsock_t *r = raw_router();
    lk_flow_in *in = lk_flow_in_new(g_w, 2);
    ck_assert_int_eq(lk_flow_in_connect(in, g_ep), 0);
    zmq_msg_t id, ctl;
    first_control(r, &id, &ctl, "R2f");
    lk_buf b = LK_BUF_INIT;
    fill(&b, 300000, 3);
    size_t cuts[] = {1, 65536, 100000, 299999, 300000, 300000}; /* the last frame empty */
    int ncuts = (int)(sizeof cuts / sizeof cuts[0]);
    zmq_send(zsock_resolve(r), zmq_msg_data(&id), zmq_msg_size(&id), ZMQ_SNDMORE);
    size_t at = 0;
    for (int k = 0; k < ncuts; k++) {
        zmq_send(zsock_resolve(r), b.data + at, cuts[k] - at, k + 1 < ncuts ? ZMQ_SNDMORE : 0);
        at = cuts[k];
    }
    recv_check(in, 300000, 3);
    /* the credit it used came back, with its "f" */
    zmq_msg_close(&ctl);
    zmq_msg_init(&ctl);
    ck_assert_int_ge(zmq_msg_recv(&id, zsock_resolve(r), 0), 0);
    ck_assert_int_ge(zmq_msg_recv(&ctl, zsock_resolve(r), 0), 0);
    ck_assert_uint_eq(zmq_msg_size(&ctl), 3);
    ck_assert_int_eq(memcmp(zmq_msg_data(&ctl), "C1f", 3), 0);
    zmq_msg_close(&ctl);
    zmq_msg_close(&id);
    lk_buf_free(&b);
    lk_flow_in_destroy(&in);
    zsock_destroy(&r);
}
END_TEST

/* lk_flow_out_send_for: a receiver that says "l" (lk_flow_in_set_local) gets the message made
   for a local peer, another the other one; one that stops saying it gets the other one from its
   next credit on. */
static void enc_kind(void *ctx, int local, lk_buf *b)
{
    (*(int *)ctx)++;
    lk_buf_reset(b);
    lk_buf_puts(b, local ? "by-reference" : "with-bytes");
}

static void recv_str(lk_flow_in *in, const char *want)
{
    zmq_msg_t m;
    recv_one(in, &m);
    ck_assert_uint_eq(zmq_msg_size(&m), strlen(want));
    ck_assert_int_eq(memcmp(zmq_msg_data(&m), want, strlen(want)), 0);
    zmq_msg_close(&m);
}

START_TEST(a_receiver_that_says_l_gets_the_message_for_a_local_peer)
{
    lk_error err;
    lk_flow_out *o;
    ck_assert_msg(lk_flow_out_new(g_w, g_ep, &o, &err) == 0, "%s", err.msg);
    lk_flow_in *loc = lk_flow_in_new(g_w, 1), *other = lk_flow_in_new(g_w, 1);
    lk_flow_in_set_local(loc, 1);
    ck_assert_int_eq(lk_flow_in_connect(loc, g_ep), 0);
    ck_assert_int_eq(lk_flow_in_connect(other, g_ep), 0);
    for (int i = 0; i < 500 && lk_flow_out_credits(o) < 2; i++) {
        lk_flow_out_service(o);
        usleep(2000);
    }
    ck_assert_int_eq(lk_flow_out_credits(o), 2);
    lk_sendbuf *pool = lk_sendbuf_new();
    lk_buf b = LK_BUF_INIT;
    int calls = 0;
    /* one credit each: the two sends go one to each, each made once */
    ck_assert_int_eq(lk_flow_out_send_for(o, pool, &b, enc_kind, &calls), 0);
    ck_assert_int_eq(lk_flow_out_send_for(o, pool, &b, enc_kind, &calls), 0);
    ck_assert_int_eq(calls, 2);
    recv_str(loc, "by-reference"); /* the credit this gives back says "l" ... */
    lk_flow_in_set_local(loc, 0);   /* ... and this says again, without it, what loc holds */
    recv_str(other, "with-bytes");
    for (int i = 0; i < 500 && lk_flow_out_credits(o) < 2; i++) {
        lk_flow_out_service(o);
        usleep(2000);
    }
    for (int i = 0; i < 50; i++) { /* the "R" follows the "C" on the same link */
        lk_flow_out_service(o);
        usleep(2000);
    }
    ck_assert_int_eq(lk_flow_out_send_for(o, pool, &b, enc_kind, &calls), 0);
    ck_assert_int_eq(lk_flow_out_send_for(o, pool, &b, enc_kind, &calls), 0);
    recv_str(loc, "with-bytes");
    recv_str(other, "with-bytes");
    lk_buf_free(&b);
    lk_sendbuf_destroy(&pool);
    lk_flow_in_destroy(&loc);
    lk_flow_in_destroy(&other);
    lk_flow_out_destroy(&o);
}
END_TEST

/* A receiver that maps slabs (lk_flow_in_set_slabs) gets every message larger than a frame as
   a reference into the sender's slab, resolved to the same bytes, and gives each slab back by
   its next receive; a smaller one travels as bytes. On the wire: "m<pid>" in the credits, and
   a reference of LK_SHM_REF_BYTES. */
START_TEST(a_receiver_that_says_m_gets_references_into_slabs)
{
    lk_error err;
    lk_flow_out *o;
    lk_flow_in *in;
    slab_link(2, &o, &in);
    lk_sendbuf *pool = lk_sendbuf_new();
    lk_buf b = LK_BUF_INIT;
    const size_t F = LK_FLOW_FRAME_BYTES;
    size_t sizes[] = {1, F, F + 1, (1u << 20) + 5, 5u << 20, 100, 3u << 20};
    int n = (int)(sizeof sizes / sizeof sizes[0]);
    send_sizes(o, in, pool, &b, sizes, n);
    lk_buf_free(&b);
    lk_sendbuf_destroy(&pool);
    lk_flow_in_destroy(&in);
    lk_flow_out_destroy(&o);

    /* what goes on the wire, to a raw DEALER that says "m" with its pid */
    ck_assert_msg(lk_flow_out_new(g_w, g_ep, &o, &err) == 0, "%s", err.msg);
    zsock_t *d = zsock_new(ZMQ_DEALER);
    zsock_set_linger(d, 0);
    zsock_set_rcvtimeo(d, 5000);
    ck_assert_int_eq(zsock_connect(d, "%s", g_ep), 0);
    char hello[32];
    snprintf(hello, sizeof hello, "R2m%df", (int)getpid());
    zmq_send(zsock_resolve(d), hello, strlen(hello), 0);
    wait_credit(o);
    pool = lk_sendbuf_new();
    fill(&b, 2 * F, 5);
    ck_assert_int_eq(lk_flow_out_send(o, pool, &b), 0);
    fill(&b, 1000, 6);
    ck_assert_int_eq(lk_flow_out_send(o, pool, &b), 0);
    zmq_msg_t m;
    zmq_msg_init(&m);
    ck_assert_int_ge(zmq_msg_recv(&m, zsock_resolve(d), 0), 0);
    lk_shm_ref r;
    ck_assert(lk_shm_ref_read(zmq_msg_data(&m), zmq_msg_size(&m), &r));
    ck_assert_uint_eq(r.len, 2 * F);
    ck_assert_uint_eq(r.pid, (unsigned)getpid());
    lk_shmin *v = lk_shmin_new();
    const void *p;
    size_t len;
    ck_assert_msg(lk_shmin_resolve(v, &r, &p, &len, &err) == 0, "%s", err.msg);
    check_bytes(p, len, 2 * F, 5);
    lk_shmin_destroy(&v);
    zmq_msg_close(&m);
    zmq_msg_init(&m);
    ck_assert_int_ge(zmq_msg_recv(&m, zsock_resolve(d), 0), 0);
    check_bytes(zmq_msg_data(&m), zmq_msg_size(&m), 1000, 6); /* small: its bytes */
    zmq_msg_close(&m);
    lk_buf_free(&b);
    lk_sendbuf_destroy(&pool);
    zsock_destroy(&d);
    lk_flow_out_destroy(&o);
}
END_TEST

/* A raw ROUTER sends references to a receiver that maps slabs: one whose sender is gone, or
   that names a descriptor that is no slab, is lost (-ENOMSG: logged, and the uncommitted
   batches asked for again) and the next message still arrives; one that does not match its
   slab fails the receive (-EPROTO), and lk_flow_in_loop ends with 1. */
static int on_msg_count(void *ctx, const void *data, size_t len)
{
    (void)data;
    (void)len;
    (*(int *)ctx)++;
    return 0;
}

START_TEST(a_reference_the_receiver_cannot_resolve_is_dropped_or_fails)
{
    zsock_t *r = raw_router();
    lk_flow_in *in = lk_flow_in_new(g_w, 2);
    ck_assert_int_eq(lk_flow_in_set_slabs(in, 1), 1);
    ck_assert_int_eq(lk_flow_in_connect(in, g_ep), 0);
    zmq_msg_t id, ctl;
    char want[32];
    snprintf(want, sizeof want, "R2m%df", (int)getpid());
    first_control(r, &id, &ctl, want);
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    waitpid(dead, NULL, 0);
    lk_shm_ref gone = {(uint32_t)dead, 3, 1, 1, 1u << 20};
    uint8_t ref[LK_SHM_REF_BYTES];
    lk_shm_ref_write(&gone, ref);
    zmq_send(zsock_resolve(r), zmq_msg_data(&id), zmq_msg_size(&id), ZMQ_SNDMORE);
    zmq_send(zsock_resolve(r), ref, sizeof ref, 0);
    zmq_send(zsock_resolve(r), zmq_msg_data(&id), zmq_msg_size(&id), ZMQ_SNDMORE);
    zmq_send(zsock_resolve(r), "next", 4, 0);
    zmq_msg_t lost;
    ck_assert_int_eq(recv_rc(in, &lost), -ENOMSG); /* lost with its sender, said so */
    zmq_msg_close(&lost);
    recv_str(in, "next");
    /* a descriptor that is no slab (here: our own stdin, whatever it is) is lost as well */
    lk_shm_ref notslab = {(uint32_t)getpid(), 0, 1, 1, 1u << 20};
    lk_shm_ref_write(&notslab, ref);
    zmq_send(zsock_resolve(r), zmq_msg_data(&id), zmq_msg_size(&id), ZMQ_SNDMORE);
    zmq_send(zsock_resolve(r), ref, sizeof ref, 0);
    ck_assert_int_eq(recv_rc(in, &lost), -ENOMSG);
    zmq_msg_close(&lost);
    /* a slab of ours, named with the wrong message number */
    lk_shmout *s = lk_shmout_new();
    ck_assert_int_eq(lk_shmout_put(s, getpid(), "abc", 3, ref), 0);
    lk_shm_ref bad;
    lk_shm_ref_read(ref, sizeof ref, &bad);
    bad.seq += 5;
    lk_shm_ref_write(&bad, ref);
    zmq_send(zsock_resolve(r), zmq_msg_data(&id), zmq_msg_size(&id), ZMQ_SNDMORE);
    zmq_send(zsock_resolve(r), ref, sizeof ref, 0);
    int got = 0;
    lk_flow_handlers h = {on_msg_count, NULL, NULL, NULL};
    ck_assert_int_eq(lk_flow_in_loop(in, &h, &got), 1);
    ck_assert_int_eq(got, 0);
    lk_shmout_destroy(&s);
    zmq_msg_close(&ctl);
    zmq_msg_close(&id);
    lk_flow_in_destroy(&in);
    zsock_destroy(&r);
}
END_TEST

/* A sender that exits keeps its slabs until its receivers gave their messages back: a receiver
   that maps the slab only after lk_flow_out_destroy began still reads the message whole. */
typedef struct late_rx {
    lk_flow_in *in;
    int ok;
} late_rx;

static void *late_receiver(void *arg)
{
    late_rx *x = arg;
    usleep(200000); /* the sender is in lk_flow_out_destroy by now */
    zmq_msg_t m;
    x->ok = recv_rc(x->in, &m) == 0 && zmq_msg_size(&m) == (1u << 20);
    const unsigned char *d = zmq_msg_data(&m);
    for (size_t i = 0; x->ok && i < (1u << 20); i++)
        x->ok = d[i] == (unsigned char)((i * 7 + i / 65536 + 9 * 13) & 0xff);
    zmq_msg_close(&m);
    zmq_msg_init(&m);
    lk_flow_in_recv(x->in, &m, 10); /* gives the slab back */
    zmq_msg_close(&m);
    return NULL;
}

START_TEST(a_sender_that_exits_waits_for_its_slabs)
{
    lk_flow_out *o;
    lk_flow_in *in;
    slab_link(1, &o, &in);
    lk_sendbuf *pool = lk_sendbuf_new();
    lk_buf b = LK_BUF_INIT;
    wait_credit(o);
    fill(&b, 1u << 20, 9);
    ck_assert_int_eq(lk_flow_out_send(o, pool, &b), 0);
    late_rx x = {in, 0};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, late_receiver, &x), 0);
    lk_flow_out_destroy(&o);
    pthread_join(th, NULL);
    ck_assert_msg(x.ok, "the message was not read whole after its sender began to exit");
    lk_buf_free(&b);
    lk_sendbuf_destroy(&pool);
    lk_flow_in_destroy(&in);
}
END_TEST

/* lk_zmsg_send: every frame arrives in order; a message that cannot be sent is destroyed whole
   (czmq's zmsg_send leaked the frame it failed on: the ASan pass's leak check sees any left). */
START_TEST(lk_zmsg_send_sends_every_frame_or_destroys_the_message)
{
    zsock_t *a = zsock_new(ZMQ_PAIR), *b = zsock_new(ZMQ_PAIR);
    ck_assert_int_eq(zsock_bind(a, "inproc://lk-test-zmsg-send"), 0);
    ck_assert_int_eq(zsock_connect(b, "inproc://lk-test-zmsg-send"), 0);
    zmsg_t *m = zmsg_new();
    zmsg_addstr(m, "one");
    zmsg_addmem(m, NULL, 0);
    zmsg_addstr(m, "three");
    ck_assert_int_eq(lk_zmsg_send(&m, a, 0), 0);
    ck_assert_ptr_null(m);
    zsock_set_rcvtimeo(b, 5000);
    zmsg_t *got = zmsg_recv(b);
    ck_assert_ptr_nonnull(got);
    ck_assert_int_eq((int)zmsg_size(got), 3);
    char *s1 = zmsg_popstr(got), *s2 = zmsg_popstr(got), *s3 = zmsg_popstr(got);
    ck_assert_str_eq(s1, "one");
    ck_assert_str_eq(s2, "");
    ck_assert_str_eq(s3, "three");
    free(s1), free(s2), free(s3);
    zmsg_destroy(&got);
    /* a DEALER with no peer takes nothing: EAGAIN at once, and the message is gone */
    zsock_t *lonely = zsock_new(ZMQ_DEALER);
    m = zmsg_new();
    zmsg_addstr(m, "first");
    zmsg_addstr(m, "second");
    ck_assert_int_eq(lk_zmsg_send(&m, lonely, ZFRAME_DONTWAIT), -EAGAIN);
    ck_assert_ptr_null(m);
    zsock_destroy(&lonely);
    zsock_destroy(&a);
    zsock_destroy(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("flow");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, messages_of_every_size_arrive_whole_through_lk_flow_in);
    tcase_add_test(tc, a_receiver_that_says_f_gets_frames_one_that_does_not_gets_one);
    tcase_add_test(tc, lk_flow_in_says_f_and_joins_frames);
    tcase_add_test(tc, a_receiver_that_says_l_gets_the_message_for_a_local_peer);
    tcase_add_test(tc, a_receiver_that_says_m_gets_references_into_slabs);
    tcase_add_test(tc, a_reference_the_receiver_cannot_resolve_is_dropped_or_fails);
    tcase_add_test(tc, a_sender_that_exits_waits_for_its_slabs);
    tcase_add_test(tc, lk_zmsg_send_sends_every_frame_or_destroys_the_message);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
