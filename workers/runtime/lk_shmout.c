/* lk_shmout — a sender's shared-memory slabs; see lk_shmout.h. */
#include "lk_shmout.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "lk_log.h"

typedef struct slab {
    int fd;
    char *map; /* the header, then the message */
    size_t cap; /* bytes mapped (and the file's size) */
} slab;

struct lk_shmout {
    slab slabs[LK_SHM_SLABS];
    int n;
    uint64_t seq;
    int warned; /* the refusal of a new slab was logged */
};

void lk_shm_ref_write(const lk_shm_ref *r, uint8_t out[LK_SHM_REF_BYTES])
{
    memcpy(out, LK_SHM_REF_MAGIC, 4);
    memcpy(out + 4, &r->pid, 4);
    memcpy(out + 8, &r->fd, 4);
    memcpy(out + 12, &r->token, 8);
    memcpy(out + 20, &r->seq, 8);
    memcpy(out + 28, &r->len, 8);
}

int lk_shm_ref_read(const void *d, size_t n, lk_shm_ref *r)
{
    const uint8_t *p = d;
    if (n != LK_SHM_REF_BYTES || memcmp(p, LK_SHM_REF_MAGIC, 4))
        return 0;
    memcpy(&r->pid, p + 4, 4);
    memcpy(&r->fd, p + 8, 4);
    memcpy(&r->token, p + 12, 8);
    memcpy(&r->seq, p + 20, 8);
    memcpy(&r->len, p + 28, 8);
    return 1;
}

int lk_shm_pid_gone(uint32_t pid)
{
    return pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

lk_shmout *lk_shmout_new(void)
{
    lk_shmout *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    return s;
}

void lk_shmout_destroy(lk_shmout **sp)
{
    lk_shmout *s = *sp;
    if (!s)
        return;
    *sp = NULL;
    for (int i = 0; i < s->n; i++) {
        munmap(s->slabs[i].map, s->slabs[i].cap);
        close(s->slabs[i].fd);
    }
    free(s);
}

static lk_shm_head *head(const slab *b)
{
    return (lk_shm_head *)(void *)b->map;
}

/* The slab's size for a message of n bytes: a quarter more, in whole MiB, so that a slab
   grows a few times in its life rather than with every larger message. */
static size_t size_for(size_t n)
{
    size_t want = LK_SHM_HEAD + n + n / 4, mib = (size_t)1 << 20;
    return (want + mib - 1) / mib * mib;
}

/* Makes slab b hold at least cap bytes (a new one when b->map is NULL). 0 or -errno. */
static int fit(slab *b, size_t cap)
{
    if (b->map && b->cap >= cap)
        return 0;
    if (ftruncate(b->fd, (off_t)cap) != 0)
        return -errno;
    /* the pages reserved now: a full tmpfs or memory limit is an error here (and the message
       carries its bytes), not a SIGBUS in the copy */
    int e = posix_fallocate(b->fd, (off_t)b->cap, (off_t)(cap - b->cap));
    if (e && e != EOPNOTSUPP && e != EINVAL)
        return -e;
    char *m = b->map ? mremap(b->map, b->cap, cap, MREMAP_MAYMOVE)
                     : mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
    if (m == MAP_FAILED)
        return -errno;
    b->map = m;
    b->cap = cap;
    return 0;
}

static int make_slab(lk_shmout *s, size_t cap)
{
    slab b = {memfd_create("lakesupd-slab", MFD_CLOEXEC), NULL, 0};
    if (b.fd < 0)
        return -errno;
    int rc = fit(&b, cap);
    if (rc) {
        close(b.fd);
        return rc;
    }
    lk_shm_head *h = head(&b);
    for (;;) {
        ssize_t got = getrandom(&h->token, sizeof h->token, 0);
        if (got == (ssize_t)sizeof h->token && h->token)
            break;
        if (got < 0 && errno != EINTR) { /* no randomness (a seccomp filter): no slab */
            rc = -errno;
            munmap(b.map, b.cap);
            close(b.fd);
            return rc;
        }
    }
    atomic_store(&h->busy, 0);
    s->slabs[s->n++] = b;
    return 0;
}

/* A busy slab whose receiver is gone (it died holding the message) is free again. */
static int reader_gone(const slab *b)
{
    return lk_shm_pid_gone(head(b)->reader);
}

int lk_shmout_put(lk_shmout *s, pid_t reader, const void *p, size_t n,
                  uint8_t ref[LK_SHM_REF_BYTES])
{
    if (n > LK_SHM_MAX_MESSAGE)
        return -1;
    size_t cap = size_for(n), need = LK_SHM_HEAD + n;
    int pick = -1;
    /* a free slab that fits, else the largest free one (grown); a slab whose receiver died
       holding it counts as free only when no other is */
    for (int pass = 0; pass < 2 && pick < 0; pass++)
        for (int i = 0; i < s->n; i++) {
            slab *b = &s->slabs[i];
            if (atomic_load_explicit(&head(b)->busy, memory_order_acquire) &&
                !(pass == 1 && reader_gone(b)))
                continue;
            if (pick < 0 || (s->slabs[pick].cap < need && b->cap > s->slabs[pick].cap))
                pick = i;
        }
    int rc = 0;
    if (pick < 0 && s->n < LK_SHM_SLABS) {
        rc = make_slab(s, cap);
        pick = rc ? -1 : s->n - 1;
    } else if (pick >= 0 && s->slabs[pick].cap < need) {
        rc = fit(&s->slabs[pick], cap);
        if (rc)
            pick = -1;
    }
    if (pick < 0) {
        if (rc && !s->warned) {
            s->warned = 1;
            LK_WARN("a shared-memory slab of %zu bytes was refused (%s): messages carry their "
                    "bytes while it is",
                    cap, strerror(-rc));
        }
        return -1;
    }
    slab *b = &s->slabs[pick];
    lk_shm_head *h = head(b);
    memcpy(b->map + LK_SHM_HEAD, p, n);
    h->reader = (uint32_t)reader;
    h->seq = ++s->seq;
    h->len = n;
    atomic_store_explicit(&h->busy, 1, memory_order_release);
    lk_shm_ref r = {(uint32_t)getpid(), b->fd, h->token, h->seq, n};
    lk_shm_ref_write(&r, ref);
    return 0;
}

int lk_shmout_wait(lk_shmout *s, int timeout_ms)
{
    for (int waited = 0;; waited++) {
        int lent = 0;
        for (int i = 0; i < s->n; i++)
            lent += atomic_load_explicit(&head(&s->slabs[i])->busy, memory_order_acquire) &&
                    !reader_gone(&s->slabs[i]);
        if (!lent || waited >= timeout_ms)
            return lent;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
}

void lk_shmout_counts(lk_shmout *s, int *slabs, int *lent)
{
    *slabs = s->n;
    *lent = 0;
    for (int i = 0; i < s->n; i++)
        *lent += atomic_load(&head(&s->slabs[i])->busy) != 0;
}
