/*
 * lk_shmin — a receiver's view of its senders' shared-memory slabs (lk_shmout.h): resolves a
 * reference to the message's bytes, and gives the slab back when the receiver let go of it.
 *
 * A slab is opened once through /proc/<sender>/fd/<fd> and kept mapped (at most LK_SHMIN_MAPS;
 * the least recently used, or one of a sender that is gone, is unmapped), so that a message
 * costs no system call. A reference is checked against the slab's header (token, seq, length)
 * before its bytes are trusted.
 */
#ifndef LK_SHMIN_H
#define LK_SHMIN_H

#include <stddef.h>

#include "lk_error.h"
#include "lk_shmout.h"

#define LK_SHMIN_MAPS 16

typedef struct lk_shmin lk_shmin;

lk_shmin *lk_shmin_new(void);
/* Gives back what it holds and unmaps every slab. */
void lk_shmin_destroy(lk_shmin **v);
/* 1 when this process may open another process's descriptors through /proc (its parent's:
   the supervisor's workers are siblings of one user), which a reference needs. */
int lk_shmin_usable(void);
/* The bytes a reference names: *p and *len, valid until lk_shmin_release. 0; -ESRCH: the
   sender is gone and the slab was not mapped here (the message went with it, as one still in
   its socket would); another -errno with err: a reference this receiver cannot resolve. */
int lk_shmin_resolve(lk_shmin *v, const lk_shm_ref *r, const void **p, size_t *len,
                     lk_error *err);
/* Gives the slab of the message last resolved back to its sender (none: nothing). */
void lk_shmin_release(lk_shmin *v);
/* Slabs mapped now (tests). */
int lk_shmin_maps(const lk_shmin *v);

#endif
