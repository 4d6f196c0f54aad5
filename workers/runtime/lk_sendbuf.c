/* lk_sendbuf — zero-copy sends with recycled buffers; see lk_sendbuf.h. */
#include "lk_sendbuf.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

/* Free buffers kept at most; more are freed (in flight is bounded by the
   high-water marks: 1 message per pipe plus the one being written). */
#define POOL_MAX 8

typedef struct slot {
    char *data;
    size_t cap;
} slot;

struct lk_sendbuf {
    pthread_mutex_t mu; /* ZeroMQ's I/O thread returns buffers concurrently */
    int refs;           /* the owner (until destroy) + one per buffer out */
    int closed;         /* the owner is gone: returned buffers are freed */
    int nfree;
    slot free[POOL_MAX];
};

/* The hint of one message: which pool, and the buffer's capacity. */
typedef struct out_msg {
    lk_sendbuf *pool;
    size_t cap;
} out_msg;

lk_sendbuf *lk_sendbuf_new(void)
{
    lk_sendbuf *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    pthread_mutex_init(&p->mu, NULL);
    p->refs = 1;
    return p;
}

/* Drops one reference (the lock held); frees the pool at zero. Returns 1
   when it did (the caller must not touch p again). */
static int unref_locked(lk_sendbuf *p)
{
    if (--p->refs > 0)
        return 0;
    for (int i = 0; i < p->nfree; i++)
        free(p->free[i].data);
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_destroy(&p->mu);
    free(p);
    return 1;
}

void lk_sendbuf_destroy(lk_sendbuf **pp)
{
    lk_sendbuf *p = *pp;
    if (!p)
        return;
    *pp = NULL;
    pthread_mutex_lock(&p->mu);
    /* keep nothing for a sender that is gone */
    for (int i = 0; i < p->nfree; i++)
        free(p->free[i].data);
    p->nfree = 0;
    p->closed = 1;
    if (!unref_locked(p))
        pthread_mutex_unlock(&p->mu);
}

/* ZeroMQ's free function: called once the message is written (or dropped),
   usually on its I/O thread. */
static void give_back(void *data, void *hint)
{
    out_msg *o = hint;
    lk_sendbuf *p = o->pool;
    pthread_mutex_lock(&p->mu);
    if (!p->closed && p->nfree < POOL_MAX)
        p->free[p->nfree++] = (slot){data, o->cap};
    else
        free(data);
    free(o);
    if (!unref_locked(p))
        pthread_mutex_unlock(&p->mu);
}

/* Hands b's memory to a message; b gets a pooled buffer (or none). */
static void take(lk_sendbuf *p, lk_buf *b, zmq_msg_t *msg)
{
    out_msg *o = malloc(sizeof *o);
    if (!o)
        abort();
    o->pool = p;
    o->cap = b->cap;
    pthread_mutex_lock(&p->mu);
    p->refs++;
    slot s = {NULL, 0};
    if (p->nfree) {
        /* the largest: a pooled buffer is as big as the biggest message yet */
        int best = 0;
        for (int i = 1; i < p->nfree; i++)
            if (p->free[i].cap > p->free[best].cap)
                best = i;
        s = p->free[best];
        p->free[best] = p->free[--p->nfree];
    }
    pthread_mutex_unlock(&p->mu);
    if (zmq_msg_init_data(msg, b->data, b->len, give_back, o) != 0)
        abort(); /* only fails on ENOMEM */
    b->data = s.data;
    b->cap = s.cap;
    lk_buf_reset(b);
}

void lk_sendbuf_msg(lk_sendbuf *p, lk_buf *b, zmq_msg_t *msg)
{
    if (!b->data) {
        zmq_msg_init(msg);
        return;
    }
    take(p, b, msg);
}

int lk_sendbuf_send(lk_sendbuf *p, lk_worker *w, zsock_t *s, lk_buf *b)
{
    if (!b->data) /* nothing was ever written: an empty message */
        return lk_zmq_send_blocking(w, s, "", 0);
    zmq_msg_t msg;
    take(p, b, &msg);
    void *sock = zsock_resolve(s);
    int rc = 0;
    for (;;) {
        zmq_pollitem_t it = {sock, 0, ZMQ_POLLOUT, 0};
        int n = zmq_poll(&it, 1, 100);
        lk_worker_tick(w);
        if (n > 0) {
            if (zmq_msg_send(&msg, sock, ZMQ_DONTWAIT) >= 0)
                return 0; /* ZeroMQ owns msg now */
            if (errno != EAGAIN) {
                rc = -errno;
                break;
            }
        } else if (n < 0 && errno != EINTR) {
            rc = -errno;
            break;
        }
        if (lk_worker_orphaned(w)) {
            rc = -ECANCELED;
            break;
        }
    }
    zmq_msg_close(&msg); /* the buffer goes back to the pool */
    return rc;
}

void lk_sendbuf_counts(lk_sendbuf *p, int *nfree, int *out)
{
    pthread_mutex_lock(&p->mu);
    *nfree = p->nfree;
    *out = p->refs - 1;
    pthread_mutex_unlock(&p->mu);
}
