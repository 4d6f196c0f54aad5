/* lk_flow — credit-based data links; see lk_flow.h. */
#include "lk_flow.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_log.h"
#include "lk_shmin.h"
#include "lk_shmout.h"
#include "lk_time.h"

#define MAX_PEERS 256
#define MAX_LINKS 96
#define CLOSE_IDLE_MS 2000
#define MAX_FRAMES 4096 /* a larger message gets larger frames */

/* ---- sender ---- */

typedef struct peer {
    uint8_t id[256];
    size_t idlen;
    int credits;
    int gone;          /* said bye (or unreachable): no credits until it asks again */
    int frames;        /* it takes a message in frames (its last "C"/"R" said "f") */
    int local;         /* it reads this host's files (its last "C"/"R" said "l") */
    pid_t shm;         /* it maps this host's slabs: its pid (its last "C"/"R" said "m<pid>") */
    uint64_t served;   /* when it was last sent to (a sequence number) */
} peer;

struct lk_flow_out {
    lk_worker *w;
    zsock_t *sock;
    peer peers[MAX_PEERS];
    int npeers;
    uint64_t seq;
    lk_shmout *slabs; /* made for the first peer that says "m" */
};

int lk_flow_out_new(lk_worker *w, const char *endpoint, lk_flow_out **out, lk_error *err)
{
    lk_flow_out *o = calloc(1, sizeof *o);
    if (!o)
        abort();
    o->w = w;
    o->sock = zsock_new(ZMQ_ROUTER);
    if (!o->sock) {
        free(o);
        return lk_error_set(err, -ENOMEM, "cannot create a socket for %s", endpoint);
    }
    /* a send to a peer that is gone fails (EHOSTUNREACH) instead of vanishing */
    zsock_set_router_mandatory(o->sock, 1);
    zsock_set_sndhwm(o->sock, 8); /* credits bound what is queued per peer */
    zsock_set_linger(o->sock, 2000);
    if (zsock_bind(o->sock, "%s", endpoint) < 0) {
        int e = zmq_errno();
        zsock_destroy(&o->sock);
        free(o);
        return lk_error_set(err, -e, "cannot bind %s: %s", endpoint, zmq_strerror(e));
    }
    *out = o;
    return 0;
}

zsock_t *lk_flow_out_sock(lk_flow_out *o)
{
    return o->sock;
}

static peer *find_peer(lk_flow_out *o, const void *id, size_t len, int create)
{
    for (int i = 0; i < o->npeers; i++)
        if (o->peers[i].idlen == len && !memcmp(o->peers[i].id, id, len))
            return &o->peers[i];
    if (!create || len > sizeof o->peers[0].id)
        return NULL;
    if (o->npeers == MAX_PEERS) {
        /* forget a peer that left (its slot is reused) */
        for (int i = 0; i < o->npeers; i++)
            if (o->peers[i].gone && !o->peers[i].credits) {
                o->peers[i] = o->peers[--o->npeers];
                break;
            }
        if (o->npeers == MAX_PEERS)
            return NULL;
    }
    peer *p = &o->peers[o->npeers++];
    memset(p, 0, sizeof *p);
    memcpy(p->id, id, len);
    p->idlen = len;
    return p;
}

/* Sends an empty frame (end of stream) to p; best effort. */
static void send_eos(lk_flow_out *o, const peer *p)
{
    void *s = zsock_resolve(o->sock);
    if (zmq_send(s, p->id, p->idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        while (zmq_send(s, "", 0, ZMQ_DONTWAIT) < 0 && errno == EINTR) {
        }
}

void lk_flow_out_service(lk_flow_out *o)
{
    void *s = zsock_resolve(o->sock);
    for (int k = 0; k < 1000; k++) {
        zmq_msg_t id, body;
        zmq_msg_init(&id);
        if (zmq_msg_recv(&id, s, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&id);
            return;
        }
        zmq_msg_init(&body);
        int more = zmq_msg_more(&id);
        if (more && zmq_msg_recv(&body, s, ZMQ_DONTWAIT) >= 0) {
            /* drop any further frames of a malformed message */
            while (zmq_msg_more(&body)) {
                zmq_msg_close(&body);
                zmq_msg_init(&body);
                if (zmq_msg_recv(&body, s, ZMQ_DONTWAIT) < 0)
                    break;
            }
            const char *d = zmq_msg_data(&body);
            size_t n = zmq_msg_size(&body);
            peer *p = n ? find_peer(o, zmq_msg_data(&id), zmq_msg_size(&id), 1) : NULL;
            if (p) {
                char num[16] = "";
                if (n > 1 && n - 1 < sizeof num)
                    memcpy(num, d + 1, n - 1);
                int v = atoi(num);
                if (v < 0 || v > 1024)
                    v = 0;
                int frames = n > 1 && d[n - 1] == 'f';
                int local = n > 1 && memchr(d + 1, 'l', n - 1) != NULL;
                const char *m = n > 1 ? memchr(d + 1, 'm', n - 1) : NULL;
                int64_t pid = 0; /* a pid is below 2^22: more digits name no process */
                for (const char *q = m ? m + 1 : NULL; q && q < d + n && *q >= '0' && *q <= '9';
                     q++)
                    pid = pid < (1 << 22) ? pid * 10 + (*q - '0') : pid;
                if (pid >= (1 << 22))
                    pid = 0;
                if (d[0] == 'C' || d[0] == 'R') { /* n more credits / n credits now */
                    p->credits = d[0] == 'C' ? p->credits + v : v;
                    p->gone = 0;
                    p->frames = frames;
                    p->local = local;
                    p->shm = (pid_t)pid;
                } else if (d[0] == 'B') {
                    p->credits = 0;
                    p->gone = 1;
                    send_eos(o, p);
                    LK_DEBUG("a receiver left (%d peer(s) remain)", lk_flow_out_peers(o));
                }
            }
        }
        zmq_msg_close(&body);
        zmq_msg_close(&id);
    }
}

int lk_flow_out_credits(const lk_flow_out *o)
{
    int n = 0;
    for (int i = 0; i < o->npeers; i++)
        n += o->peers[i].credits;
    return n;
}

int lk_flow_out_peers(const lk_flow_out *o)
{
    int n = 0;
    for (int i = 0; i < o->npeers; i++)
        n += !o->peers[i].gone;
    return n;
}

/* The message a message's frames are slices of: closed (its buffer goes back to its pool)
   when ZeroMQ has let go of the last frame, on its I/O thread or ours. */
typedef struct split_msg {
    zmq_msg_t whole;
    atomic_int parts;
} split_msg;

static void frame_done(void *data, void *hint)
{
    (void)data;
    split_msg *m = hint;
    if (atomic_fetch_sub(&m->parts, 1) == 1) {
        zmq_msg_close(&m->whole);
        free(m);
    }
}

/* Sends msg (ZeroMQ's afterwards) on s as frames of about LK_FLOW_FRAME_BYTES, the routing
   frame sent: a multi-part message is queued whole, so no frame can fail for a full queue. */
static void send_frames(void *s, zmq_msg_t *msg)
{
    size_t len = zmq_msg_size(msg), fb = LK_FLOW_FRAME_BYTES;
    if (len / fb >= MAX_FRAMES)
        fb = len / MAX_FRAMES + 1;
    size_t n = (len + fb - 1) / fb;
    split_msg *m = malloc(sizeof *m);
    if (!m)
        abort();
    zmq_msg_init(&m->whole);
    zmq_msg_move(&m->whole, msg);
    atomic_init(&m->parts, (int)n);
    char *d = zmq_msg_data(&m->whole);
    for (size_t i = 0; i < n; i++) {
        size_t off = i * fb, l = len - off < fb ? len - off : fb;
        zmq_msg_t part;
        if (zmq_msg_init_data(&part, d + off, l, frame_done, m) != 0)
            abort(); /* only fails on ENOMEM */
        while (zmq_msg_send(&part, s, (i + 1 < n ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT) < 0)
            if (errno != EINTR && errno != EAGAIN)
                abort();
    }
}

/* The message being sent: made from b (through pool) for the kind of peer it goes to, by
   enc when there is one (a peer that reads this host's files may get another message). */
typedef struct out_msg {
    zmq_msg_t msg;
    int have;  /* msg holds b's bytes */
    int local; /* ... as encoded for a local peer */
    lk_sendbuf *pool;
    lk_buf *b;
    lk_flow_encode_fn enc;
    void *ctx;
} out_msg;

static void make_for(out_msg *m, int local)
{
    if (m->have && (!m->enc || m->local == local))
        return;
    if (m->have)
        zmq_msg_close(&m->msg); /* its buffer goes back to the pool */
    if (m->enc)
        m->enc(m->ctx, local, m->b);
    lk_sendbuf_msg(m->pool, m->b, &m->msg);
    m->have = 1;
    m->local = local;
}

/* Tries to send the message to the least recently served peer with a credit:
   1 sent (msg is ZeroMQ's), 0 no peer could take it. */
static int try_send(lk_flow_out *o, out_msg *m)
{
    void *s = zsock_resolve(o->sock);
    for (;;) {
        peer *best = NULL;
        for (int i = 0; i < o->npeers; i++) {
            peer *p = &o->peers[i];
            if (p->credits > 0 && (!best || p->served < best->served))
                best = p;
        }
        if (!best)
            return 0;
        make_for(m, best->local);
        if (zmq_send(s, best->id, best->idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
            if (errno == EHOSTUNREACH) {
                /* gone (a receiver that died): its credits with it */
                best->credits = 0;
                best->gone = 1;
                continue;
            }
            /* its queue is full (EAGAIN): try it again later */
            best->served = ++o->seq;
            int others = 0;
            for (int i = 0; i < o->npeers; i++)
                others += &o->peers[i] != best && o->peers[i].credits > 0;
            if (!others)
                return 0;
            continue;
        }
        best->credits--;
        best->served = ++o->seq;
        zmq_msg_t *msg = &m->msg;
        /* the routing frame went: the data frame must follow (a multi-part
           message is queued whole, so only a signal can interrupt it) */
        if (best->shm > 0 && zmq_msg_size(msg) > LK_FLOW_FRAME_BYTES) {
            /* a receiver of this host: the bytes in a slab, a reference on the wire */
            uint8_t ref[LK_SHM_REF_BYTES];
            if (!o->slabs)
                o->slabs = lk_shmout_new();
            if (lk_shmout_put(o->slabs, best->shm, zmq_msg_data(msg), zmq_msg_size(msg), ref) ==
                0) {
                while (zmq_send(s, ref, sizeof ref, ZMQ_DONTWAIT) < 0)
                    if (errno != EINTR && errno != EAGAIN)
                        abort();
                zmq_msg_close(msg); /* its buffer goes back to the pool */
                return 1;
            }
        }
        if (best->frames && zmq_msg_size(msg) > LK_FLOW_FRAME_BYTES) {
            send_frames(s, msg);
            return 1;
        }
        while (zmq_msg_send(msg, s, ZMQ_DONTWAIT) < 0)
            if (errno != EINTR && errno != EAGAIN)
                abort();
        return 1;
    }
}

static int send_wait(lk_flow_out *o, lk_sendbuf *pool, lk_buf *b, int timeout_ms,
                     lk_flow_encode_fn enc, void *ctx)
{
    int64_t t0 = lk_time_now_us(), deadline = lk_time_mono_ms() + timeout_ms;
    lk_flow_out_service(o);
    out_msg m = {.pool = pool, .b = b, .enc = enc, .ctx = ctx};
    int rc = 0;
    for (;;) {
        if (lk_flow_out_credits(o) > 0 && try_send(o, &m))
            break;
        if (timeout_ms >= 0 && lk_time_mono_ms() >= deadline) {
            rc = -EAGAIN;
            break;
        }
        zmq_pollitem_t it = {zsock_resolve(o->sock), 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&it, 1, 50);
        lk_worker_tick(o->w);
        if (n > 0)
            lk_flow_out_service(o);
        else if (n < 0 && errno != EINTR) {
            rc = -errno;
            break;
        }
        if (lk_worker_orphaned(o->w)) {
            rc = -ECANCELED;
            break;
        }
    }
    if (rc && m.have) {
        if (rc == -EAGAIN) {
            /* give the caller its bytes back */
            lk_buf_reset(b);
            lk_buf_append(b, zmq_msg_data(&m.msg), zmq_msg_size(&m.msg));
        }
        zmq_msg_close(&m.msg);
    }
    int64_t waited = lk_time_now_us() - t0;
    if (waited > 0)
        lk_worker_add(o->w, "send_wait_us", waited);
    return rc;
}

int lk_flow_out_send(lk_flow_out *o, lk_sendbuf *pool, lk_buf *b)
{
    return send_wait(o, pool, b, -1, NULL, NULL);
}

int lk_flow_out_send_timeout(lk_flow_out *o, lk_sendbuf *pool, lk_buf *b, int timeout_ms)
{
    return send_wait(o, pool, b, timeout_ms < 0 ? 0 : timeout_ms, NULL, NULL);
}

int lk_flow_out_send_for(lk_flow_out *o, lk_sendbuf *pool, lk_buf *b, lk_flow_encode_fn enc,
                         void *ctx)
{
    return send_wait(o, pool, b, -1, enc, ctx);
}

void lk_flow_out_destroy(lk_flow_out **op)
{
    lk_flow_out *o = *op;
    if (!o)
        return;
    *op = NULL;
    lk_flow_out_service(o);
    for (int i = 0; i < o->npeers; i++)
        if (!o->peers[i].gone)
            send_eos(o, &o->peers[i]);
    zsock_destroy(&o->sock);
    if (o->slabs) {
        /* a receiver that has not mapped a slab yet could no longer read it once we exit: the
           slabs are kept until every receiver gave its message back (within the socket's
           linger) */
        int left = lk_shmout_wait(o->slabs, 2000);
        if (left)
            LK_WARN("%d message(s) in shared memory not taken by their receivers within 2 s: "
                    "lost with this process (they ask for their batches again)",
                    left);
    }
    lk_shmout_destroy(&o->slabs);
    free(o);
}

/* ---- receiver ---- */

typedef struct flink {
    char endpoint[1200];
    zsock_t *sock;
    int granted;       /* credits the sender holds of ours, as far as we know */
    int closing;       /* the sender is gone for good */
    int bye_sent, ended; /* we said bye / the sender ended the stream */
    int64_t last_ms;   /* last message or (re)synchronisation */
    int64_t closing_ms;
} flink;

struct lk_flow_in {
    lk_worker *w;
    lk_buf joined; /* the last message that came in frames */
    int window;
    int leaving;
    int local; /* its credits say "l": it reads this host's files */
    lk_shmin *slabs; /* it resolves references into its senders' slabs ... */
    int slabs_said;  /* ... and its credits say so ("m<pid>") */
    flink links[MAX_LINKS];
    int nlinks;
    int next; /* round robin over the links when several are readable */
};

lk_flow_in *lk_flow_in_new(lk_worker *w, int window)
{
    lk_flow_in *in = calloc(1, sizeof *in);
    if (!in)
        abort();
    in->w = w;
    in->window = window > 0 ? window : 1;
    return in;
}

static void ctl(const lk_flow_in *in, flink *l, char kind, int n)
{
    char b[48], m[24] = "";
    /* "f": this link joins a message sent in frames; "l": it reads this host's files; "m<pid>":
       it maps this host's slabs */
    if (in->slabs && in->slabs_said)
        snprintf(m, sizeof m, "m%d", (int)getpid());
    int len = kind == 'B' ? snprintf(b, sizeof b, "B")
                          : snprintf(b, sizeof b, "%c%d%s%sf", kind, n, m, in->local ? "l" : "");
    zmq_send(zsock_resolve(l->sock), b, (size_t)len, ZMQ_DONTWAIT);
}

static void drop_link(lk_flow_in *in, int i)
{
    zsock_destroy(&in->links[i].sock);
    in->links[i] = in->links[--in->nlinks];
}

void lk_flow_in_destroy(lk_flow_in **ip)
{
    lk_flow_in *in = *ip;
    if (!in)
        return;
    *ip = NULL;
    while (in->nlinks)
        drop_link(in, in->nlinks - 1);
    lk_buf_free(&in->joined);
    lk_shmin_destroy(&in->slabs);
    free(in);
}

/* What we said of ourselves ("l", "m") changed: "C0" on every open link says it again at once,
   changing what we are, not what we hold (a message already on its way stays as it was made). */
static void say_again(lk_flow_in *in)
{
    if (in->leaving)
        return;
    for (int i = 0; i < in->nlinks; i++) {
        flink *l = &in->links[i];
        if (!l->closing && !l->ended)
            ctl(in, l, 'C', 0);
    }
}

void lk_flow_in_set_local(lk_flow_in *in, int on)
{
    int was = in->local;
    in->local = on != 0;
    if (was && !in->local) /* the credit given back for the message in hand said "l" */
        say_again(in);
}

int lk_flow_in_set_slabs(lk_flow_in *in, int on)
{
    if (on && !in->slabs && lk_shmin_usable())
        in->slabs = lk_shmin_new();
    int was = in->slabs_said;
    in->slabs_said = on && in->slabs;
    if (was && !in->slabs_said) /* a reference already on its way is still resolved */
        say_again(in);
    return in->slabs_said;
}

int lk_flow_in_has(const lk_flow_in *in, const char *endpoint)
{
    for (int i = 0; i < in->nlinks; i++)
        if (!strcmp(in->links[i].endpoint, endpoint))
            return 1;
    return 0;
}

int lk_flow_in_connect(lk_flow_in *in, const char *endpoint)
{
    for (int i = 0; i < in->nlinks; i++)
        if (!strcmp(in->links[i].endpoint, endpoint)) {
            in->links[i].closing = 0; /* scaled out again before it closed */
            return 0;
        }
    if (in->nlinks == MAX_LINKS)
        return -1;
    flink *l = &in->links[in->nlinks];
    memset(l, 0, sizeof *l);
    snprintf(l->endpoint, sizeof l->endpoint, "%s", endpoint);
    l->sock = zsock_new(ZMQ_DEALER);
    if (!l->sock)
        return -1;
    zsock_set_rcvhwm(l->sock, in->window + 4);
    zsock_set_linger(l->sock, 0);
    /* the sender may start after us: retry a failed connect after 5 ms,
       backing off to 100 ms while it stays away (docs/decisions.md) */
    zsock_set_reconnect_ivl(l->sock, 5);
    zsock_set_reconnect_ivl_max(l->sock, 100);
    if (zsock_connect(l->sock, "%s", endpoint) != 0) {
        zsock_destroy(&l->sock);
        return -1;
    }
    in->nlinks++;
    l->last_ms = lk_time_mono_ms();
    if (!in->leaving) {
        ctl(in, l, 'R', in->window);
        l->granted = in->window;
    } else {
        l->ended = 1;
    }
    return 0;
}

void lk_flow_in_close(lk_flow_in *in, const char *endpoint)
{
    for (int i = 0; i < in->nlinks; i++)
        if (!strcmp(in->links[i].endpoint, endpoint) && !in->links[i].closing) {
            in->links[i].closing = 1;
            in->links[i].closing_ms = lk_time_mono_ms();
        }
}

void lk_flow_in_leave(lk_flow_in *in)
{
    if (in->leaving)
        return;
    in->leaving = 1;
    for (int i = 0; i < in->nlinks; i++) {
        flink *l = &in->links[i];
        if (l->ended || l->closing) {
            l->ended = 1;
            continue;
        }
        ctl(in, l, 'B', 0);
        l->bye_sent = 1;
    }
}

int lk_flow_in_left(const lk_flow_in *in)
{
    if (!in->leaving)
        return 0;
    for (int i = 0; i < in->nlinks; i++)
        if (!in->links[i].ended)
            return 0;
    return 1;
}

/* Housekeeping between receives: closes links whose stream ended or that
   stayed idle after their sender went; re-synchronises idle links. */
static void housekeep(lk_flow_in *in, int64_t now)
{
    for (int i = 0; i < in->nlinks; i++) {
        flink *l = &in->links[i];
        if (l->closing && (l->ended || now - l->closing_ms > CLOSE_IDLE_MS) &&
            now - l->last_ms > 50) {
            LK_DEBUG("link to %s closed", l->endpoint);
            drop_link(in, i--);
            continue;
        }
        if (!in->leaving && !l->closing && now - l->last_ms >= LK_FLOW_RESYNC_MS &&
            !(zsock_events(l->sock) & ZMQ_POLLIN)) {
            /* nothing came for this long with credits out, and nothing waits
               to be read (a worker busy with a long message is not idle): the
               sender may have restarted without our credits; saying again
               what we hold is harmless when it did not */
            ctl(in, l, 'R', in->window);
            l->granted = in->window;
            l->ended = 0;
            l->last_ms = now;
        }
    }
}

/* msg, a reference to a sender's slab: the message it names (0); 1: lost — its sender is gone
   and the slab was not mapped here, or this process cannot open or map it; -1: a reference
   that does not match its slab (a defect: the worker fails, a restart replays). A lost
   message's batch cannot commit: every uncommitted batch is asked for again at once (the
   reference does not name its batch); after a failure of our own, the credits stop saying "m",
   so that the messages carry their bytes from then on. */
static int resolve(lk_flow_in *in, const flink *l, zmq_msg_t *msg)
{
    lk_shm_ref r;
    if (!in->slabs || !lk_shm_ref_read(zmq_msg_data(msg), zmq_msg_size(msg), &r))
        return 0;
    const void *p = NULL;
    size_t len = 0;
    lk_error err = {0};
    int rc = lk_shmin_resolve(in->slabs, &r, &p, &len, &err);
    zmq_msg_close(msg);
    if (rc == 0) {
        zmq_msg_init_data(msg, (void *)p, len, NULL, NULL);
        return 0;
    }
    zmq_msg_init(msg);
    if (rc == -EPROTO) {
        LK_ERROR("a message from %s: %s", l->endpoint, err.msg);
        return -1;
    }
    if (rc == -ESRCH || rc == -ESTALE) {
        LK_WARN("a message from %s named a slab of pid %u, which is gone: lost with it; the "
                "uncommitted batches are asked for again",
                l->endpoint, (unsigned)r.pid);
    } else {
        LK_ERROR("a message from %s: %s; lost: the uncommitted batches are asked for again, and "
                 "messages carry their bytes from now on",
                 l->endpoint, err.msg);
        lk_flow_in_set_slabs(in, 0);
    }
    lk_worker_add(in->w, "lost_messages", 1);
    lk_msg_event e;
    lk_msg_event_init(&e, "replay");
    lk_msg_event_set_str(&e, "role", lk_worker_role(in->w));
    lk_msg_event_set_str(&e, "reason", "a message in shared memory was lost");
    if (lk_worker_notify(in->w, &e) != 0)
        LK_WARN("cannot ask for the uncommitted batches: they are replayed at their deadline");
    return 1;
}

/* Takes one frame from link l: 1 data (msg filled), 0 control/none, 2 a data message lost (a
   reference that could not be resolved; logged, its batches asked for), -1 a data message that
   cannot be read (the worker fails: a restart replays). */
static int take(lk_flow_in *in, flink *l, zmq_msg_t *msg, int64_t now)
{
    if (zmq_msg_recv(msg, zsock_resolve(l->sock), ZMQ_DONTWAIT) < 0)
        return 0;
    l->last_ms = now;
    if (zmq_msg_size(msg) == 0) {
        /* end of stream: the answer to our bye, or the sender stops */
        l->ended = 1;
        l->granted = 0;
        zmq_msg_close(msg);
        zmq_msg_init(msg);
        return 0;
    }
    if (zmq_msg_more(msg)) {
        /* frames of one message (all here: a multi-part message arrives whole) */
        lk_buf *j = &in->joined;
        lk_buf_reset(j);
        int more = 1;
        while (more) {
            lk_buf_append(j, zmq_msg_data(msg), zmq_msg_size(msg));
            more = zmq_msg_more(msg);
            zmq_msg_close(msg);
            zmq_msg_init(msg);
            if (more && zmq_msg_recv(msg, zsock_resolve(l->sock), ZMQ_DONTWAIT) < 0) {
                /* ZeroMQ delivers a multi-part message whole: never; a restart replays */
                LK_ERROR("a message from %s lacks its last frames: %s", l->endpoint,
                         zmq_strerror(zmq_errno()));
                abort();
            }
        }
        zmq_msg_close(msg);
        zmq_msg_init_data(msg, j->data, j->len, NULL, NULL);
    }
    int lost = resolve(in, l, msg);
    l->ended = 0;
    if (l->granted > 0)
        l->granted--;
    if (!in->leaving && !l->closing) {
        ctl(in, l, 'C', 1);
        l->granted++;
    }
    return lost < 0 ? -1 : lost ? 2 : 1;
}

/* lk_flow_in_recv, also waiting on extra (or NULL): *extra_ready says it is
   readable (the caller's own socket, e.g. the committer's flush requests,
   served without waiting out the timeout). */
static int recv_polling(lk_flow_in *in, zsock_t *extra, zmq_msg_t *msg, int timeout_ms,
                        int *extra_ready)
{
    if (in->slabs)
        lk_shmin_release(in->slabs); /* the message before this one is handled */
    int64_t now = lk_time_mono_ms();
    housekeep(in, now);
    zmq_pollitem_t items[MAX_LINKS + 1];
    int n = in->nlinks;
    for (int i = 0; i < n; i++) {
        items[i].socket = zsock_resolve(in->links[i].sock);
        items[i].fd = 0;
        items[i].events = ZMQ_POLLIN;
        items[i].revents = 0;
    }
    if (extra) {
        items[n].socket = zsock_resolve(extra);
        items[n].fd = 0;
        items[n].events = ZMQ_POLLIN;
        items[n].revents = 0;
    }
    if (!n && !extra) {
        if (timeout_ms > 0)
            zmq_poll(NULL, 0, timeout_ms > 100 ? 100 : timeout_ms);
        return -EAGAIN;
    }
    int rc = zmq_poll(items, n + (extra != NULL), !n && timeout_ms > 100 ? 100 : timeout_ms);
    if (rc < 0)
        return -errno;
    if (extra_ready)
        *extra_ready = extra && (items[n].revents & ZMQ_POLLIN);
    if (rc == 0)
        return -EAGAIN;
    now = lk_time_mono_ms();
    for (int k = 0; k < in->nlinks; k++) {
        int i = (in->next + k) % in->nlinks;
        if (!(items[i].revents & ZMQ_POLLIN))
            continue;
        int t = take(in, &in->links[i], msg, now);
        if (t) {
            in->next = (i + 1) % in->nlinks;
            return t == 1 ? 0 : t == 2 ? -ENOMSG : -EPROTO;
        }
    }
    return -EAGAIN;
}

int lk_flow_in_recv(lk_flow_in *in, zmq_msg_t *msg, int timeout_ms)
{
    return recv_polling(in, NULL, msg, timeout_ms, NULL);
}

int lk_flow_in_loop(lk_flow_in *in, const lk_flow_handlers *h, void *ctx)
{
    const lk_config *cfg = lk_worker_config(in->w);
    int64_t drain_deadline = 0;
    for (;;) {
        lk_worker_tick(in->w);
        if (h->on_turn)
            h->on_turn(ctx);
        if (lk_worker_stopping(in->w))
            return 0;
        if (lk_worker_retiring(in->w) && !in->leaving) {
            LK_INFO("scaled in: finishing what is on its way to me, then exiting");
            lk_flow_in_leave(in);
            drain_deadline = lk_time_mono_ms() + cfg->stop_timeout_ms;
        }
        if (in->leaving && lk_flow_in_left(in)) {
            /* every sender answered: what is still queued is all there is */
            zmq_msg_t msg;
            zmq_msg_init(&msg);
            int r = lk_flow_in_recv(in, &msg, 0), more = r == 0;
            if (r == -EPROTO) {
                zmq_msg_close(&msg);
                return 1;
            }
            if (r == -ENOMSG) { /* lost (and asked for again): more may wait behind it */
                zmq_msg_close(&msg);
                continue;
            }
            int failed = more && h->on_msg(ctx, zmq_msg_data(&msg), zmq_msg_size(&msg)) != 0;
            zmq_msg_close(&msg);
            if (failed)
                return 1;
            if (!more) {
                LK_INFO("drained: every sender answered");
                return 0;
            }
            continue;
        }
        if (in->leaving && lk_time_mono_ms() > drain_deadline) {
            LK_WARN("not every sender answered within stop_timeout: exiting (what it held is "
                    "replayed)");
            return LK_FLOW_EDRAIN;
        }
        /* the extra socket first: a writer closes a batch the committer
           waits for before it takes the next chunk */
        int ready = 0;
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        int r = recv_polling(in, h->extra, &msg, 100, &ready), got = r == 0;
        if (r == -EPROTO) {
            zmq_msg_close(&msg);
            return 1;
        }
        int failed = ready && h->on_extra && h->on_extra(ctx) != 0;
        failed = failed || (got && h->on_msg(ctx, zmq_msg_data(&msg), zmq_msg_size(&msg)) != 0);
        zmq_msg_close(&msg);
        if (failed)
            return 1;
    }
}
