/* lk_worker — worker process runtime; see lk_worker.h. */
#include "lk_worker.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "lk_fault.h"
#include "lk_log.h"
#include "lk_endpoint.h"
#include "lk_time.h"

#define HEARTBEAT_MS 500

struct lk_worker {
    char role[32];
    int index;
    lk_config cfg;
    char run_dir[1024];
    pid_t supervisor;
    zsock_t *to_supervisor;
    zsock_t *to_monitor;
    lk_msg_event progress;
    int64_t next_beat_ms;
    int64_t paused_since_ms; /* 0: not paused */
    int pause_delay_ms;
    char pause_why[256];
    int reloads;
    lk_buf buf;
};

static volatile sig_atomic_t g_stop, g_hup, g_retire;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void on_hup(int sig)
{
    (void)sig;
    g_hup = 1;
}

static void on_retire(int sig)
{
    (void)sig;
    g_retire = 1;
}

/* SIGHUP from the supervisor: the running configuration it wrote has new
   values for live keys (log level, rates, timeouts). */
static void reload(lk_worker *w)
{
    g_hup = 0;
    lk_config fresh;
    lk_error err;
    if (!w->cfg.file[0] || lk_config_load(w->cfg.file, &fresh, &err)) {
        LK_ERROR("SIGHUP: cannot re-read the running configuration: %s",
                 w->cfg.file[0] ? err.msg : "none");
        return;
    }
    char applied[512], refused[1024];
    w->reloads++;
    if (lk_config_apply_live(&w->cfg, &fresh, applied, sizeof applied, refused, sizeof refused)) {
        lk_log_configure(w->cfg.log_level, w->cfg.log_format);
        LK_INFO("SIGHUP: reloaded %s", applied);
    }
}

/*
 * The data workers' allocator policy (docs/decisions.md, "Memory"). Each
 * message ZeroMQ receives is a fresh multi-MiB allocation on its I/O thread,
 * freed by the main thread; glibc's default raises its mmap threshold to the
 * largest block freed, so these come from a heap (a second arena for the I/O
 * thread) whose free space fragments and is trimmed and re-grown: a worker's
 * RSS wandered 10-15 MiB above what it held, and higher the longer it ran.
 * A fixed threshold (glibc's default value, 128 KiB) returns every large
 * buffer to the kernel when freed, and one arena lets both threads reuse
 * the rest: RSS is what the worker holds. Buffers we keep (batches, the
 * encoders', lk_sendbuf's) are reused, so only ZeroMQ's receive buffers pay
 * fresh pages. Called before ZeroMQ starts its threads.
 */
static void tune_malloc(const char *role)
{
    if (strcmp(role, "ingest") && strcmp(role, "transform") && strcmp(role, "writer"))
        return;
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

int lk_worker_new(const char *role, int index, const lk_config *cfg, const char *run_dir,
                  lk_worker **out, lk_error *err)
{
    tune_malloc(role);
    lk_log_init(role, index);
    /* the role in the process name, for top, ps -o comm and perf (15 bytes at most) */
    char comm[16];
    snprintf(comm, sizeof comm, "lk-%s-%d", role, index);
    prctl(PR_SET_NAME, comm);
    lk_log_configure(cfg->log_level, cfg->log_format);
    /* czmq must not own our signals: a worker drains on SIGTERM */
    zsys_handler_set(NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_retire;
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    lk_worker *w = calloc(1, sizeof *w);
    if (!w)
        abort();
    snprintf(w->role, sizeof w->role, "%s", role);
    w->index = index;
    w->cfg = *cfg;
    snprintf(w->run_dir, sizeof w->run_dir, "%s", run_dir);
    const char *sp = getenv("LAKESUP_SUPERVISOR_PID");
    w->supervisor = sp ? (pid_t)atoi(sp) : getppid();
    if (getppid() != w->supervisor) {
        pid_t sup = w->supervisor;
        free(w);
        return lk_error_set(err, -ESRCH, "supervisor (pid %d) is gone", (int)sup);
    }

    char ep[1200];
    lk_worker_endpoint(w, LK_EP_SUPERVISOR, -1, ep, sizeof ep);
    w->to_supervisor = zsock_new(ZMQ_PUSH);
    zsock_set_linger(w->to_supervisor, 200);
    zsock_set_sndhwm(w->to_supervisor, 100);
    if (!w->to_supervisor || zsock_connect(w->to_supervisor, "%s", ep) != 0) {
        zsock_destroy(&w->to_supervisor);
        free(w);
        return lk_error_set(err, -EIO, "cannot connect to the supervisor at %s", ep);
    }
    lk_worker_endpoint(w, LK_EP_MONITOR, -1, ep, sizeof ep);
    w->to_monitor = zsock_new(ZMQ_PUSH);
    zsock_set_linger(w->to_monitor, 0);
    zsock_set_sndhwm(w->to_monitor, 100);
    if (!w->to_monitor || zsock_connect(w->to_monitor, "%s", ep) != 0) {
        zsock_destroy(&w->to_supervisor);
        zsock_destroy(&w->to_monitor);
        free(w);
        return lk_error_set(err, -EIO, "cannot connect to the monitor at %s", ep);
    }
    lk_msg_event_init(&w->progress, "progress");
    lk_msg_event_set_str(&w->progress, "role", role);
    lk_msg_event_set_int(&w->progress, "index", index);
    lk_msg_event_set_int(&w->progress, "pid", getpid());
    lk_msg_event_set_str(&w->progress, "state", "starting");
    *out = w;
    return 0;
}

void lk_worker_destroy(lk_worker **wp)
{
    if (!wp || !*wp)
        return;
    lk_worker *w = *wp;
    lk_worker_set_str(w, "state", "stopped");
    lk_worker_flush(w);
    zsock_destroy(&w->to_supervisor);
    zsock_destroy(&w->to_monitor);
    lk_buf_free(&w->buf);
    free(w);
    *wp = NULL;
}

const lk_config *lk_worker_config(const lk_worker *w)
{
    return &w->cfg;
}

const char *lk_worker_role(const lk_worker *w)
{
    return w->role;
}

int lk_worker_index(const lk_worker *w)
{
    return w->index;
}

const char *lk_worker_run_dir(const lk_worker *w)
{
    return w->run_dir;
}

void lk_worker_endpoint(const lk_worker *w, const char *name, int index, char *out, size_t cap)
{
    lk_endpoint(w->run_dir, name, index, out, cap);
}

int lk_worker_orphaned(lk_worker *w)
{
    return getppid() != w->supervisor;
}

int lk_worker_retiring(const lk_worker *w)
{
    (void)w;
    return g_retire;
}

int lk_worker_reloads(const lk_worker *w)
{
    return w->reloads;
}

int lk_worker_stopping(const lk_worker *w)
{
    return g_stop || getppid() != w->supervisor;
}

int lk_worker_notify(lk_worker *w, const lk_msg_event *e)
{
    /* every event names its sender: the supervisor logs role and index
       (a "fatal" without an index was logged as index=-1) */
    lk_msg_event named = *e;
    if (lk_msg_event_get_int(&named, "index", INT64_MIN) == INT64_MIN)
        lk_msg_event_set_int(&named, "index", w->index);
    lk_buf_reset(&w->buf);
    lk_msg_event_encode(&named, &w->buf);
    return lk_zmq_send(w->to_supervisor, w->buf.data, w->buf.len, ZMQ_DONTWAIT);
}

void lk_worker_ready(lk_worker *w)
{
    /* "<role>.start=exit" in LAKESUP_FAULT makes this role crash before it
       is up: a crash loop, for the supervisor's tests */
    char point[48];
    snprintf(point, sizeof point, "%s.start", w->role);
    lk_fault_check(point);
    lk_msg_event e;
    lk_msg_event_init(&e, "ready");
    lk_msg_event_set_str(&e, "role", w->role);
    lk_msg_event_set_int(&e, "index", w->index);
    lk_msg_event_set_int(&e, "pid", getpid());
    lk_worker_notify(w, &e);
    lk_worker_set_str(w, "state", "running");
    lk_worker_flush(w);
    LK_INFO("ready");
}

void lk_worker_add(lk_worker *w, const char *key, int64_t delta)
{
    lk_msg_event_set_int(&w->progress, key, lk_msg_event_get_int(&w->progress, key, 0) + delta);
}

void lk_worker_set(lk_worker *w, const char *key, int64_t v)
{
    lk_msg_event_set_int(&w->progress, key, v);
}

void lk_worker_set_str(lk_worker *w, const char *key, const char *v)
{
    lk_msg_event_set_str(&w->progress, key, v);
}

int lk_worker_resource_error(int code)
{
    return code == -ENOSPC || code == -EDQUOT || code == -EIO || code == -EROFS;
}

/* src in at most cap - 1 bytes: a longer one keeps its head and its tail
   around "..." (an error's cause is at its end, after a long path), cut
   at UTF-8 character boundaries. */
static void shorten(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n < cap) {
        memcpy(dst, src, n + 1);
        return;
    }
    size_t head = (cap - 4) / 3, tail = cap - 4 - head;
    while (head > 0 && ((unsigned char)src[head] & 0xC0) == 0x80)
        head--;
    size_t from = n - tail;
    while (from < n && ((unsigned char)src[from] & 0xC0) == 0x80)
        from++;
    memcpy(dst, src, head);
    memcpy(dst + head, "...", 3);
    memcpy(dst + head + 3, src + from, n - from + 1);
}

void lk_worker_pause(lk_worker *w, const char *why)
{
    if (why) {
        if (!w->paused_since_ms) {
            w->paused_since_ms = lk_time_mono_ms();
            w->pause_delay_ms = 100;
            /* the reason travels in an event string (256 bytes): shortened in the
               middle, so status still shows the cause (ENOSPC, EIO) after a long path */
            shorten(w->pause_why, sizeof w->pause_why, why);
            LK_WARN("paused: %s; retrying until it passes (nothing is lost)", why);
            lk_worker_set_str(w, "paused", w->pause_why);
            lk_worker_add(w, "pauses", 1);
            lk_worker_flush(w);
        } else {
            w->pause_delay_ms = w->pause_delay_ms * 2 > 5000 ? 5000 : w->pause_delay_ms * 2;
        }
        return;
    }
    if (!w->paused_since_ms)
        return;
    LK_INFO("resumed after %lld ms paused (%s)", (long long)(lk_time_mono_ms() - w->paused_since_ms),
            w->pause_why);
    w->paused_since_ms = 0;
    lk_worker_set_str(w, "paused", "");
    lk_worker_flush(w);
}

int lk_worker_paused(const lk_worker *w)
{
    return w->paused_since_ms != 0;
}

int lk_worker_pause_delay_ms(const lk_worker *w)
{
    return w->paused_since_ms ? w->pause_delay_ms : 0;
}

void lk_worker_sleep(lk_worker *w, int ms)
{
    int64_t end = lk_time_mono_ms() + ms;
    while (!lk_worker_stopping(w)) {
        lk_worker_tick(w);
        int64_t left = end - lk_time_mono_ms();
        if (left <= 0)
            break;
        usleep((useconds_t)(left > 50 ? 50000 : left * 1000));
    }
}

void lk_worker_flush(lk_worker *w)
{
    lk_msg_event_set_int(&w->progress, "ts_ms", lk_time_now_ms());
    /* once reported, always sent: "" when the lines it reported are withdrawn (lk_log_over) */
    if (*lk_log_last_error() || lk_msg_event_get_str(&w->progress, "last_error"))
        lk_msg_event_set_str(&w->progress, "last_error", lk_log_last_error());
    lk_buf_reset(&w->buf);
    lk_msg_event_encode(&w->progress, &w->buf);
    lk_zmq_send(w->to_supervisor, w->buf.data, w->buf.len, ZMQ_DONTWAIT);
    lk_zmq_send(w->to_monitor, w->buf.data, w->buf.len, ZMQ_DONTWAIT);
    w->next_beat_ms = lk_time_mono_ms() + HEARTBEAT_MS;
}

void lk_worker_report(lk_worker *w, lk_msg_progress *p)
{
    snprintf(p->role, sizeof p->role, "%s", w->role);
    p->index = w->index;
    if (!p->ts_us)
        p->ts_us = lk_time_now_us();
    lk_buf_reset(&w->buf);
    if (lk_msg_progress_encode(p, &w->buf) == 0)
        lk_zmq_send(w->to_monitor, w->buf.data, w->buf.len, ZMQ_DONTWAIT);
}

void lk_worker_tick(lk_worker *w)
{
    if (g_hup)
        reload(w);
    if (lk_time_mono_ms() >= w->next_beat_ms)
        lk_worker_flush(w);
}

int lk_zmq_send(zsock_t *s, const void *data, size_t len, int flags)
{
    if (zmq_send(zsock_resolve(s), data, len, flags) < 0)
        return -errno;
    return 0;
}

int lk_zmsg_send(zmsg_t **m, zsock_t *to, int flags)
{
    if (!m || !*m) return -EINVAL;
    int rc = 0;
    size_t left = zmsg_size(*m);
    zframe_t *f;
    while ((f = zmsg_pop(*m))) {
        left--;
        if (zframe_send(&f, to, (left ? ZFRAME_MORE : 0) | flags) != 0) {
            rc = -zmq_errno();
            zframe_destroy(&f);
            break;
        }
    }
    zmsg_destroy(m);
    return rc;
}

int lk_zmq_recv(zsock_t *s, zmq_msg_t *msg, int timeout_ms)
{
    zmq_pollitem_t it = {zsock_resolve(s), 0, ZMQ_POLLIN, 0};
    int rc = zmq_poll(&it, 1, timeout_ms);
    if (rc < 0)
        return -errno;
    if (rc == 0)
        return -EAGAIN;
    if (zmq_msg_recv(msg, zsock_resolve(s), ZMQ_DONTWAIT) < 0)
        return -errno;
    return 0;
}

int lk_zmq_send_blocking(lk_worker *w, zsock_t *s, const void *data, size_t len)
{
    for (;;) {
        zmq_pollitem_t it = {zsock_resolve(s), 0, ZMQ_POLLOUT, 0};
        int rc = zmq_poll(&it, 1, 100);
        lk_worker_tick(w);
        if (rc > 0) {
            rc = lk_zmq_send(s, data, len, ZMQ_DONTWAIT);
            if (rc != -EAGAIN)
                return rc;
        } else if (rc < 0 && errno != EINTR) {
            return -errno;
        }
        if (lk_worker_orphaned(w))
            return -ECANCELED;
    }
}

int lk_worker_pull_loop(lk_worker *w, zsock_t *in,
                        int (*fn)(void *ctx, const void *data, size_t len), void *ctx)
{
    while (!lk_worker_stopping(w)) {
        lk_worker_tick(w);
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        int failed = lk_zmq_recv(in, &msg, 100) == 0 &&
                     fn(ctx, zmq_msg_data(&msg), zmq_msg_size(&msg)) != 0;
        zmq_msg_close(&msg);
        if (failed)
            return 1;
    }
    return 0;
}
