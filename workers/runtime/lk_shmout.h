/*
 * lk_shmout — a sender's shared-memory slabs: a large data message to a receiver of this host
 * travels as a small reference into one of them instead of through the socket (lk_flow.h, the
 * "m" of a receiver's credits; docs/decisions.md, "Records through shared memory").
 *
 * Over an ipc:// socket a message's bytes are copied four times: into the kernel by the
 * sender's ZeroMQ I/O thread, out of it by the receiver's, into the buffer that joins its
 * frames, and then decoded. A slab is a memfd (memfd_create) that the sender keeps mapped; the
 * receiver opens it once through /proc/<sender>/fd/<fd> and keeps it mapped too (lk_shmin), so a
 * message costs the sender one memcpy into the slab and the receiver nothing but its decode.
 *
 * A slab is lent to one receiver per message: the sender marks it busy (its header, in the
 * shared page) and the receiver marks it free when it let go of the message. A receiver that
 * died holding one (kill -9) cannot: its slab is taken back once its pid is gone. When every
 * slab is lent (at most LK_SHM_SLABS) or the system refuses one, the caller sends the bytes as
 * before, so a slab is never a reason for a message to wait or fail.
 */
#ifndef LK_SHMOUT_H
#define LK_SHMOUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LK_SHM_SLABS 8
#define LK_SHM_MAX_MESSAGE (32u << 20) /* a larger one carries its bytes: no slab grows past it */
#define LK_SHM_HEAD 64u      /* the header's bytes; the message follows */
#define LK_SHM_REF_BYTES 36u /* a reference on the wire */
#define LK_SHM_REF_MAGIC "\xc1LKM" /* 0xc1 is never the first byte of a msgpack message */

/* The first bytes of a slab, shared by its sender and the receiver it is lent to. */
typedef struct lk_shm_head {
    uint64_t token;       /* random, fixed at creation: a reference names this slab */
    atomic_uint busy;     /* 1 from the send until the receiver let go of the message */
    uint32_t reader;      /* the pid of that receiver */
    uint64_t seq;         /* the message's number, in the reference too */
    uint64_t len;         /* the message's bytes, from LK_SHM_HEAD on */
} lk_shm_head;

/* A reference: LK_SHM_REF_MAGIC, then the sender's pid, the slab's descriptor in the sender,
   the slab's token, the message's seq and len (host byte order: it never leaves the host). */
typedef struct lk_shm_ref {
    uint32_t pid;
    int32_t fd;
    uint64_t token, seq, len;
} lk_shm_ref;

void lk_shm_ref_write(const lk_shm_ref *r, uint8_t out[LK_SHM_REF_BYTES]);
/* 1 and *r when d/n is a reference, else 0. */
int lk_shm_ref_read(const void *d, size_t n, lk_shm_ref *r);
/* 1 when no process has this pid any more (the end of a slab's sender or receiver). */
int lk_shm_pid_gone(uint32_t pid);

typedef struct lk_shmout lk_shmout;

lk_shmout *lk_shmout_new(void);
/* Unmaps and closes every slab (a receiver's own mapping of one stays valid). */
void lk_shmout_destroy(lk_shmout **s);
/* Copies the n bytes at p into a free slab (grown to fit) lent to the receiver whose pid is
   reader, and writes its reference into ref. 0, or -1: no slab (every one lent, the system
   refused one, or n > LK_SHM_MAX_MESSAGE): the caller sends the bytes. */
int lk_shmout_put(lk_shmout *s, pid_t reader, const void *p, size_t n,
                  uint8_t ref[LK_SHM_REF_BYTES]);
/* Slabs made, and lent now (tests). */
void lk_shmout_counts(lk_shmout *s, int *slabs, int *lent);
/* Waits up to timeout_ms until no slab is lent to a live receiver (a sender about to exit: its
   slabs go with it, and a receiver that has not mapped one yet could no longer read it).
   Returns how many still are. */
int lk_shmout_wait(lk_shmout *s, int timeout_ms);

#endif
