/*
 * lk_sendbuf — zero-copy sends of large messages with recycled buffers.
 *
 * zmq_send() copies the bytes into a fresh allocation that ZeroMQ's I/O
 * thread frees once written: for the data path (2 MiB chunks, ~5 MiB record
 * batches) that is a memcpy and, worst, a few MiB of fresh pages per message
 * (page faults; and the freed copies fragment the heap, so a worker's RSS
 * wanders above what it holds). lk_sendbuf_send() hands the encoded buffer
 * itself to ZeroMQ (zmq_msg_init_data) and gives the caller an already used
 * buffer back from a small pool; ZeroMQ returns each buffer to the pool
 * from its I/O thread when the message has been written. The number of
 * buffers is bounded by the socket's high-water marks (messages in flight)
 * plus one, and they are reused for the life of the worker.
 */
#ifndef LK_SENDBUF_H
#define LK_SENDBUF_H

#include "lk_buf.h"
#include "lk_worker.h"

typedef struct lk_sendbuf lk_sendbuf;

lk_sendbuf *lk_sendbuf_new(void);
/* Releases the pool; buffers ZeroMQ still holds free themselves later. */
void lk_sendbuf_destroy(lk_sendbuf **p);
/*
 * Sends b's content as one message on s without copying it, waiting as
 * lk_zmq_send_blocking() does. Takes b's memory whatever the outcome and
 * leaves b empty, with a recycled buffer when one is free. 0 or -errno.
 */
int lk_sendbuf_send(lk_sendbuf *p, lk_worker *w, zsock_t *s, lk_buf *b);
/* Hands b's content to msg (uninitialised) without copying it, as
   lk_sendbuf_send does, for a caller that sends msg itself (lk_flow: a
   ROUTER's routing frame goes first). b gets a recycled buffer. */
void lk_sendbuf_msg(lk_sendbuf *p, lk_buf *b, zmq_msg_t *msg);
/* Buffers currently in the pool (free) and in ZeroMQ's hands (tests). */
void lk_sendbuf_counts(lk_sendbuf *p, int *nfree, int *out);

#endif
