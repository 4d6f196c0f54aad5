/*
 * lk_flow — the data path's links (ingest → transforms, transform → writers):
 * credit-based flow over ROUTER/DEALER, so that a worker can leave a running
 * pipeline without losing what was on its way to it.
 *
 * With PUSH/PULL a sender commits each message to one peer's pipe, and a
 * peer that goes away takes what was queued for it: the only remedy was a
 * replay of every uncommitted batch. Here the receiving side asks for work:
 * each receiver link (a DEALER connected to the sender's bound ROUTER)
 * grants the sender `window` credits and one more for every message it
 * takes; the sender sends only to a peer holding a credit, the least recently
 * served first (the load-balancing pattern of the ZeroMQ guide: a busy or
 * slow peer gets less, an idle one more). A receiver that leaves (scaled in)
 * says "bye" on each link; the sender forgets its credits and answers with
 * an end-of-stream frame that travels behind everything it sent on that link,
 * so once every link has answered, the receiver holds all that was sent to it
 * and nothing more comes: it finishes its work and exits, and no message is
 * lost or needs a replay. A sender that stops sends the same end-of-stream to
 * every peer it knows.
 *
 * Wire (the ROUTER sees the peer's routing id in front):
 *   receiver → sender  "C<n>"  n more credits     "R<n>"  my credits are n now
 *                      "B"     bye: no more for me
 *                      a trailing "f" ("C1f", "R2f"): I take a message in frames
 *                      an "l" before it ("C1lf"): I read this host's files, so a
 *                      sender with a message that can name bytes of a file instead
 *                      of carrying them (ingest's chunks) may send me that one
 *                      (lk_flow_out_send_for; docs/decisions.md, "Chunks by
 *                      reference"). The remote gateway strips it: a transform of
 *                      another host always gets the bytes.
 *                      an "m<pid>" ("C1m4242f"): I map this host's shared-memory slabs; a
 *                      message larger than LK_FLOW_FRAME_BYTES may come as a reference into one
 *                      of the sender's slabs (lk_shmout.h), which I give back once I let go of the
 *                      message (docs/decisions.md, "Records through shared memory"). Stripped by
 *                      the remote gateway as the "l" is.
 *   sender → receiver  a non-empty data message, or an empty frame: end of
 *                      stream on this link (the answer to "B", or the sender stops).
 *                      To a receiver that said "f", a message larger than
 *                      LK_FLOW_FRAME_BYTES goes as a multi-part message of frames
 *                      of that size (zero-copy slices of the one buffer), which
 *                      the receiver joins in a buffer it keeps: ZeroMQ allocates
 *                      each received frame, and frames this small come from the
 *                      heap and are reused, where one multi-MiB frame was a fresh
 *                      mapping per message (docs/decisions.md, "Memory"). A
 *                      receiver that does not say "f" (the remote gateway, an
 *                      older worker) gets one frame per message, as before.
 * "R" re-synchronises after a sender restarted (its credits died with it): a
 * receiver link that waited idle for LK_FLOW_RESYNC_MS says again what it
 * holds. A dead peer is handled as before: the supervisor replays what it held.
 */
#ifndef LK_FLOW_H
#define LK_FLOW_H

#include <czmq.h>

#include "lk_buf.h"
#include "lk_error.h"
#include "lk_sendbuf.h"
#include "lk_worker.h"

#define LK_FLOW_RESYNC_MS 500
#define LK_FLOW_FRAME_BYTES (64u << 10) /* below glibc's mmap threshold (128 KiB) */

/* ---- the sending side: binds a ROUTER ---- */
typedef struct lk_flow_out lk_flow_out;

/* Binds endpoint. 0, or -1 with err. */
int lk_flow_out_new(lk_worker *w, const char *endpoint, lk_flow_out **out, lk_error *err);
/* Sends end-of-stream to every peer it knows, then closes. */
void lk_flow_out_destroy(lk_flow_out **o);
/* The socket, for a caller's zmq_poll (readable: call lk_flow_out_service). */
zsock_t *lk_flow_out_sock(lk_flow_out *o);
/* Takes the credits and byes that arrived, without waiting. */
void lk_flow_out_service(lk_flow_out *o);
/* Credits held now, over every peer. */
int lk_flow_out_credits(const lk_flow_out *o);
/* Peers that asked for work and have not said bye. */
int lk_flow_out_peers(const lk_flow_out *o);
/* Sends b (zero-copy through pool, which takes b's memory and gives it a
   recycled buffer) to the peer with a credit that was served least recently,
   waiting for a credit while ticking the worker. 0, or -errno (-ECANCELED:
   the supervisor is gone). The time spent waiting for a credit is added to
   the worker's counter "send_wait_us" (the autoscaler reads it). */
int lk_flow_out_send(lk_flow_out *o, lk_sendbuf *pool, lk_buf *b);
/* Like lk_flow_out_send but gives up after timeout_ms without a credit:
   -EAGAIN (b unchanged). */
int lk_flow_out_send_timeout(lk_flow_out *o, lk_sendbuf *pool, lk_buf *b, int timeout_ms);
/* Like lk_flow_out_send, the message made by enc once the peer is chosen: enc(ctx, local, b)
   puts into b (which it resets) the message for a peer that reads this host's files (local
   1: it said "l") or for any other; called again only when a send falls to a peer of the
   other kind. */
typedef void (*lk_flow_encode_fn)(void *ctx, int local, lk_buf *b);
int lk_flow_out_send_for(lk_flow_out *o, lk_sendbuf *pool, lk_buf *b, lk_flow_encode_fn enc,
                         void *ctx);

/* ---- the receiving side: one DEALER per sender ---- */
typedef struct lk_flow_in lk_flow_in;

/* window: credits each link grants (messages on their way to us per sender). */
lk_flow_in *lk_flow_in_new(lk_worker *w, int window);
void lk_flow_in_destroy(lk_flow_in **in);
/* Whether this receiver says "l" (it reads this host's files) with its credits; off by
   default. Turned off, it says so at once ("C0" without the "l"), so that the credit it gave
   back for the message in hand does not bring one more message made for a local peer (one
   already on its way stays as it was made). */
void lk_flow_in_set_local(lk_flow_in *in, int on);
/* Whether this receiver takes large messages as references into its senders' slabs (says
   "m<pid>"); off by default. On only where this process may open its siblings' descriptors
   through /proc (lk_shmin_usable). Call before lk_flow_in_connect. Returns whether it is on. */
int lk_flow_in_set_slabs(lk_flow_in *in, int on);
/* Adds a link to the sender bound at endpoint (it may start later). 0 or -1. */
int lk_flow_in_connect(lk_flow_in *in, const char *endpoint);
/* The sender at endpoint is gone for good (scaled in): the link is closed once
   its end of stream arrived, or once it stayed idle for 2 s (a sender killed
   before it could say so: what it held is replayed). */
void lk_flow_in_close(lk_flow_in *in, const char *endpoint);
/* 1 if a link to endpoint exists (closing or not). */
int lk_flow_in_has(const lk_flow_in *in, const char *endpoint);
/* Says bye on every link: nothing more is granted. */
void lk_flow_in_leave(lk_flow_in *in);
/* 1 once every link answered the bye (or ended its stream). */
int lk_flow_in_left(const lk_flow_in *in);
/* Receives one data message into msg (initialised by the caller), waiting up
   to timeout_ms: 0, -EAGAIN (nothing), -ENOMSG (a message in a slab that could not be read:
   logged, and every uncommitted batch asked for again), -EPROTO (a reference to a slab that
   does not hold what it names: logged), or -errno. Grants the credit it used. A message that came in frames
   is joined in a buffer of in's, one in a slab stays lent to us: msg is valid until the next
   receive. */
int lk_flow_in_recv(lk_flow_in *in, zmq_msg_t *msg, int timeout_ms);

/* What a worker's receive loop calls. */
typedef struct lk_flow_handlers {
    /* each data message; non-zero: the worker fails (exits, is restarted) */
    int (*on_msg)(void *ctx, const void *data, size_t len);
    zsock_t *extra;               /* polled with the links (the worker's own sender, the
                                     committer's requests), or NULL */
    int (*on_extra)(void *ctx);   /* extra is readable; non-zero: the worker fails */
    void (*on_turn)(void *ctx);   /* every turn, after lk_worker_tick (a reload...) or NULL */
} lk_flow_handlers;

/* A worker's receive loop: hands each message to h->on_msg until the worker
   is told to stop (returns 0 at once: a shutdown) or to retire
   (lk_worker_retiring: it says bye on every link and returns 0 once every
   link answered and what arrived was handled, or LK_FLOW_EDRAIN after
   stop_timeout without every answer: the supervisor then replays). Returns 1
   as soon as on_msg or on_extra fails, or a message cannot be received (-EPROTO). */
#define LK_FLOW_EDRAIN 3
int lk_flow_in_loop(lk_flow_in *in, const lk_flow_handlers *h, void *ctx);

#endif
