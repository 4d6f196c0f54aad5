/* lk_shmout and lk_shmin: a message put into a slab reads back whole in another process; a
   slab is lent until its receiver gives it back, then reused; a slab lent to a receiver that
   died is taken back; a reference that does not match its slab is refused with why; one whose
   sender is gone is reported as such. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_shmin.h"
#include "lk_shmout.h"

static void fill(char *p, size_t n, int seq)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (char)((i * 31 + i / 4096 + (size_t)seq * 7) & 0xff);
}

static int same(const void *d, size_t n, int seq)
{
    const unsigned char *p = d;
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)((i * 31 + i / 4096 + (size_t)seq * 7) & 0xff))
            return 0;
    return 1;
}

/* Puts message seq of n bytes for reader into s; its reference in r. */
static void put(lk_shmout *s, pid_t reader, size_t n, int seq, lk_shm_ref *r)
{
    char *p = malloc(n);
    fill(p, n, seq);
    uint8_t ref[LK_SHM_REF_BYTES];
    ck_assert_int_eq(lk_shmout_put(s, reader, p, n, ref), 0);
    ck_assert(lk_shm_ref_read(ref, sizeof ref, r));
    free(p);
}

/* Resolves r through v, checks it reads message seq whole, and gives it back. */
static void read_back(lk_shmin *v, const lk_shm_ref *r, int seq)
{
    const void *p;
    size_t len;
    lk_error err;
    ck_assert_msg(lk_shmin_resolve(v, r, &p, &len, &err) == 0, "%s", err.msg);
    ck_assert(same(p, len, seq));
    lk_shmin_release(v);
}

START_TEST(a_reference_is_recognised_only_as_such)
{
    lk_shm_ref r = {1234, 7, 0x1122334455667788ull, 9, 5u << 20}, back;
    uint8_t ref[LK_SHM_REF_BYTES];
    lk_shm_ref_write(&r, ref);
    ck_assert(lk_shm_ref_read(ref, sizeof ref, &back));
    ck_assert_int_eq(memcmp(&r, &back, sizeof r), 0);
    ck_assert(!lk_shm_ref_read(ref, sizeof ref - 1, &back)); /* its exact size only */
    ref[0] = 0x93; /* a msgpack array: a message, never a reference */
    ck_assert(!lk_shm_ref_read(ref, sizeof ref, &back));
}
END_TEST

/* The receiver is a child process: it resolves each reference through /proc, checks the
   bytes and gives the slab back; the sender reuses one slab for every message, growing it. */
START_TEST(messages_cross_processes_and_slabs_are_reused)
{
    ck_assert(lk_shmin_usable());
    lk_shmout *s = lk_shmout_new();
    int to_child[2], from_child[2];
    ck_assert_int_eq(pipe(to_child), 0);
    ck_assert_int_eq(pipe(from_child), 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        close(to_child[1]);
        close(from_child[0]);
        lk_shmin *v = lk_shmin_new();
        lk_shm_ref r;
        int seq = 0, ok = 1;
        while (read(to_child[0], &r, sizeof r) == (ssize_t)sizeof r) {
            const void *p;
            size_t len;
            lk_error err;
            ok = lk_shmin_resolve(v, &r, &p, &len, &err) == 0 && len == r.len &&
                 same(p, len, seq++);
            lk_shmin_release(v);
            char c = ok ? 'y' : 'n';
            if (write(from_child[1], &c, 1) != 1)
                _exit(3);
        }
        _exit(lk_shmin_maps(v) == 1 ? 0 : 4);
    }
    size_t sizes[] = {100000, 70000, 3u << 20, 1u << 20, 9u << 20, 65};
    for (int k = 0; k < 6; k++) {
        lk_shm_ref r;
        put(s, child, sizes[k], k, &r);
        ck_assert_int_eq(write(to_child[1], &r, sizeof r), (ssize_t)sizeof r);
        char c = 0;
        ck_assert_int_eq(read(from_child[0], &c, 1), 1);
        ck_assert_msg(c == 'y', "message %d (%zu bytes) did not read back", k, sizes[k]);
        int slabs, lent;
        lk_shmout_counts(s, &slabs, &lent);
        ck_assert_int_eq(slabs, 1);
        ck_assert_int_eq(lent, 0);
    }
    close(to_child[1]);
    int st = 0;
    ck_assert_int_eq(waitpid(child, &st, 0), child);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0); /* one slab, mapped once */
    close(to_child[0]);
    close(from_child[0]);
    close(from_child[1]);
    lk_shmout_destroy(&s);
}
END_TEST

/* Every slab lent to a live receiver, or a message larger than LK_SHM_MAX_MESSAGE: no slab
   (the caller sends the bytes). A slab lent to a receiver that died holding it: taken back. */
START_TEST(a_slab_lent_to_a_dead_receiver_is_taken_back)
{
    lk_shmout *s = lk_shmout_new();
    lk_shm_ref r;
    uint8_t ref[LK_SHM_REF_BYTES];
    /* larger than any slab may grow: not read, refused */
    ck_assert_int_eq(lk_shmout_put(s, getpid(), "", LK_SHM_MAX_MESSAGE + 1, ref), -1);
    for (int k = 0; k < LK_SHM_SLABS; k++)
        put(s, getpid(), 1000, k, &r);
    ck_assert_int_eq(lk_shmout_put(s, getpid(), "x", 1, ref), -1);
    lk_shmout_destroy(&s);

    pid_t dead = fork();
    ck_assert_int_ge(dead, 0);
    if (dead == 0)
        _exit(0);
    ck_assert_int_eq(waitpid(dead, NULL, 0), dead);
    s = lk_shmout_new();
    for (int k = 0; k < LK_SHM_SLABS - 1; k++)
        put(s, getpid(), 1000, k, &r);
    put(s, dead, 1000, 50, &r);
    int slabs, lent;
    lk_shmout_counts(s, &slabs, &lent);
    ck_assert_int_eq(slabs, LK_SHM_SLABS);
    put(s, getpid(), 2000, 99, &r); /* the dead one's */
    lk_shmout_counts(s, &slabs, &lent);
    ck_assert_int_eq(slabs, LK_SHM_SLABS);
    ck_assert_int_eq(lent, LK_SHM_SLABS);
    ck_assert_int_eq(lk_shmout_put(s, getpid(), "x", 1, ref), -1);
    /* what it lent last reads back whole (here: the sender reads its own slab) */
    lk_shmin *v = lk_shmin_new();
    read_back(v, &r, 99);
    lk_shmout_counts(s, &slabs, &lent);
    ck_assert_int_eq(lent, LK_SHM_SLABS - 1);
    lk_shmin_destroy(&v);
    lk_shmout_destroy(&s);
}
END_TEST

START_TEST(a_reference_that_does_not_match_is_refused_with_why)
{
    lk_shmout *s = lk_shmout_new();
    lk_shmin *v = lk_shmin_new();
    lk_shm_ref r, bad;
    put(s, getpid(), 5000, 1, &r);
    const void *p;
    size_t len;
    lk_error err = {0};
    bad = r;
    bad.seq++; /* not the message the slab holds */
    ck_assert_int_eq(lk_shmin_resolve(v, &bad, &p, &len, &err), -EPROTO);
    ck_assert_ptr_nonnull(strstr(err.msg, "does not match its slab"));
    bad = r;
    bad.len = 1u << 30; /* more than the slab holds */
    ck_assert_int_eq(lk_shmin_resolve(v, &bad, &p, &len, &err), -EPROTO);
    bad = r;
    bad.token ^= 1; /* another slab at that descriptor */
    ck_assert_int_eq(lk_shmin_resolve(v, &bad, &p, &len, &err), -ESTALE);
    ck_assert_ptr_nonnull(strstr(err.msg, "not the slab the message names"));
    bad = r;
    bad.fd = 100000; /* no such descriptor: the sender closed it (or is gone) */
    ck_assert_int_eq(lk_shmin_resolve(v, &bad, &p, &len, &err), -ESRCH);
    ck_assert_msg(lk_shmin_resolve(v, &r, &p, &len, &err) == 0, "%s", err.msg);
    ck_assert(same(p, len, 1));
    lk_shmin_destroy(&v); /* gives the slab back */
    int slabs, lent;
    lk_shmout_counts(s, &slabs, &lent);
    ck_assert_int_eq(lent, 0);
    lk_shmout_destroy(&s);
}
END_TEST

/* A receiver lets go of the slabs of a sender that is gone (they would live on, mapped here and
   counted in no process's RSS): within 32 messages of other senders. */
START_TEST(the_slabs_of_a_sender_that_is_gone_are_unmapped)
{
    int to_parent[2], go[2];
    ck_assert_int_eq(pipe(to_parent), 0);
    ck_assert_int_eq(pipe(go), 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        lk_shmout *s = lk_shmout_new();
        lk_shm_ref r;
        put(s, getppid(), 4096, 3, &r);
        char c;
        if (write(to_parent[1], &r, sizeof r) != (ssize_t)sizeof r || read(go[0], &c, 1) != 1)
            _exit(2);
        _exit(0);
    }
    lk_shm_ref r;
    ck_assert_int_eq(read(to_parent[0], &r, sizeof r), (ssize_t)sizeof r);
    lk_shmin *v = lk_shmin_new();
    read_back(v, &r, 3);
    ck_assert_int_eq(write(go[1], "x", 1), 1);
    ck_assert_int_eq(waitpid(child, NULL, 0), child);
    lk_shmout *own = lk_shmout_new();
    for (int k = 0; k < 32; k++) {
        put(own, getpid(), 100, k, &r);
        read_back(v, &r, k);
    }
    ck_assert_int_eq(lk_shmin_maps(v), 1); /* our own slab only */
    lk_shmin_destroy(&v);
    lk_shmout_destroy(&own);
    close(to_parent[0]);
    close(to_parent[1]);
    close(go[0]);
    close(go[1]);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("shm");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, a_reference_is_recognised_only_as_such);
    tcase_add_test(tc, messages_cross_processes_and_slabs_are_reused);
    tcase_add_test(tc, a_slab_lent_to_a_dead_receiver_is_taken_back);
    tcase_add_test(tc, a_reference_that_does_not_match_is_refused_with_why);
    tcase_add_test(tc, the_slabs_of_a_sender_that_is_gone_are_unmapped);
    suite_add_tcase(su, tc);
    return lk_check_run(su);
}
