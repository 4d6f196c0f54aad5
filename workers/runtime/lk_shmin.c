/* lk_shmin — a receiver's view of its senders' slabs; see lk_shmin.h. */
#include "lk_shmin.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14; an older kernel refuses it: pages fault in */
#endif

typedef struct view {
    uint32_t pid;
    int32_t fd;      /* the slab's descriptor in its sender */
    uint64_t token;
    int own;         /* ours, to the same file */
    char *map;
    size_t cap;
    uint64_t used;   /* when it was last resolved (a sequence number) */
} view;

struct lk_shmin {
    view views[LK_SHMIN_MAPS];
    int n;
    uint64_t clock;
    lk_shm_head *held; /* the slab of the message in hand */
    size_t held_len;   /* its bytes */
    unsigned releases; /* every 32nd looks for slabs of senders that are gone */
};

lk_shmin *lk_shmin_new(void)
{
    lk_shmin *v = calloc(1, sizeof *v);
    if (!v)
        abort();
    return v;
}

static void drop(lk_shmin *v, int i)
{
    munmap(v->views[i].map, v->views[i].cap);
    close(v->views[i].own);
    v->views[i] = v->views[--v->n];
}

void lk_shmin_destroy(lk_shmin **vp)
{
    lk_shmin *v = *vp;
    if (!v)
        return;
    *vp = NULL;
    lk_shmin_release(v);
    while (v->n)
        drop(v, v->n - 1);
    free(v);
}

int lk_shmin_usable(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)getppid());
    DIR *d = opendir(path);
    if (!d)
        return 0;
    closedir(d);
    return 1;
}

void lk_shmin_release(lk_shmin *v)
{
    if (!v->held)
        return;
    /* our page tables let go of the message's pages (past the header's): the slab's memory
       is its sender's, and counted once (in the sender's RSS), not once per receiver */
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), end = (LK_SHM_HEAD + v->held_len + pg - 1) / pg * pg;
    if (end > pg)
        madvise((char *)v->held + pg, end - pg, MADV_DONTNEED);
    atomic_store_explicit(&v->held->busy, 0, memory_order_release);
    v->held = NULL;
    /* a sender that exited or died: its slabs live on while mapped here (shmem counted in no
       process's RSS), so they are let go of */
    if (++v->releases % 32 == 0)
        for (int i = 0; i < v->n; i++)
            if (lk_shm_pid_gone(v->views[i].pid))
                drop(v, i--);
}

int lk_shmin_maps(const lk_shmin *v)
{
    return v->n;
}

/* Maps the whole of view w's file (again, when it grew). 0 or -errno. */
static int map_all(view *w)
{
    struct stat st;
    if (fstat(w->own, &st) != 0)
        return -errno;
    if ((size_t)st.st_size < LK_SHM_HEAD)
        return -EINVAL;
    char *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, w->own, 0);
    if (m == MAP_FAILED)
        return -errno;
    if (w->map)
        munmap(w->map, w->cap);
    w->map = m;
    w->cap = (size_t)st.st_size;
    return 0;
}

/* A place for one more view: a free one, else that of a sender that is gone, else the least
   recently used. */
static view *place(lk_shmin *v)
{
    if (v->n < LK_SHMIN_MAPS)
        return &v->views[v->n++];
    int old = 0;
    for (int i = 0; i < v->n; i++) {
        if (lk_shm_pid_gone(v->views[i].pid)) {
            old = i;
            break;
        }
        if (v->views[i].used < v->views[old].used)
            old = i;
    }
    drop(v, old);
    return &v->views[v->n++];
}

static view *open_view(lk_shmin *v, const lk_shm_ref *r, lk_error *err, int *rc)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%u/fd/%d", (unsigned)r->pid, (int)r->fd);
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE) && v->n) {
        /* out of descriptors: the slabs mapped here are opened again when needed */
        while (v->n)
            drop(v, v->n - 1);
        fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    }
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        close(fd); /* not a slab (a descriptor number reused for a socket, a pipe ...) */
        *rc = -ESTALE;
        lk_error_set(err, *rc, "%s is not a shared-memory slab", path);
        return NULL;
    }
    if (fd < 0) {
        *rc = errno == ENOENT || errno == ESRCH ? -ESRCH : -errno;
        if (*rc != -ESRCH)
            lk_error_set(err, *rc, "cannot open the shared-memory slab %s: %s", path,
                         strerror(errno));
        return NULL;
    }
    view *w = place(v);
    *w = (view){r->pid, r->fd, r->token, fd, NULL, 0, 0};
    *rc = map_all(w);
    if (!*rc && ((lk_shm_head *)(void *)w->map)->token != r->token)
        *rc = -ESTALE;
    if (*rc) {
        lk_error_set(err, *rc, "the shared-memory slab %s: %s", path,
                     *rc == -ESTALE ? "not the slab the message names" : strerror(-*rc));
        drop(v, (int)(w - v->views));
        return NULL;
    }
    return w;
}

int lk_shmin_resolve(lk_shmin *v, const lk_shm_ref *r, const void **p, size_t *len,
                     lk_error *err)
{
    lk_shmin_release(v);
    view *w = NULL;
    for (int i = 0; i < v->n && !w; i++)
        if (v->views[i].pid == r->pid && v->views[i].fd == r->fd &&
            v->views[i].token == r->token)
            w = &v->views[i];
    int rc = 0;
    if (!w && !(w = open_view(v, r, err, &rc)))
        return rc;
    if (r->len > w->cap - LK_SHM_HEAD && (rc = map_all(w)) != 0)
        return lk_error_set(err, rc, "cannot map the shared-memory slab of pid %u: %s",
                            (unsigned)r->pid, strerror(-rc));
    lk_shm_head *h = (lk_shm_head *)(void *)w->map;
    if (r->len > w->cap - LK_SHM_HEAD ||
        !atomic_load_explicit(&h->busy, memory_order_acquire) || h->seq != r->seq ||
        h->len != r->len || h->reader != (uint32_t)getpid())
        return lk_error_set(err, -EPROTO,
                            "a shared-memory message of pid %u (seq %llu, %llu bytes) does not "
                            "match its slab (seq %llu, %llu bytes, lent to pid %u)",
                            (unsigned)r->pid, (unsigned long long)r->seq,
                            (unsigned long long)r->len, (unsigned long long)h->seq,
                            (unsigned long long)h->len, (unsigned)h->reader);
    w->used = ++v->clock;
    v->held = h;
    v->held_len = (size_t)r->len;
    /* the pages in one call rather than one fault each */
    madvise(w->map, LK_SHM_HEAD + (size_t)r->len, MADV_POPULATE_READ);
    *p = w->map + LK_SHM_HEAD;
    *len = (size_t)r->len;
    return 0;
}
