/*
 * lk_worker_host — `lakesupd worker-host --connect tcp://HOST:PORT --key
 * FILE --server-key FILE transform=N`: N transform processes on this host
 * for a pipeline that runs on HOST (the gateway, lk_remote.c).
 *
 * It connects one DEALER to the gateway with CURVE (its own key pair, the
 * pipeline host's public key pinned), says HELLO, and gets the running
 * configuration and the indexes of its transforms. It then plays the
 * pipeline host's part for them in a run directory of its own: it binds
 * the chunks ROUTER, the supervisor and monitor PULLs, connects a DEALER
 * per (transform, writer) to each transform's records ROUTER, and carries
 * every frame of those links over the one connection (the wire is in
 * lk_remote.h). The transforms are the ordinary `lakesupd worker transform
 * INDEX` processes, children of this one; their state.db holds the
 * raw_events schemas the gateway sends before the chunks that need them.
 *
 * A transform that dies is restarted after a second and the gateway told
 * (its chunks are replayed); a gateway silent for LK_REMOTE_TIMEOUT_MS, or
 * one that says BYE, ends the session: the transforms are stopped and the
 * host says HELLO again until the pipeline is back. A key the pipeline host
 * refuses (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) ends the process with exit 100;
 * a connection libzmq ended without that event is opened again (front_alive),
 * to be refused again with it.
 */
#include "lk_worker_host.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <czmq.h>

#include "lk_child.h"
#include "lk_endpoint.h"
#include "lk_exit.h"
#include "lk_fault.h"
#include "lk_fs.h"
#include "lk_keys.h"
#include "lk_log.h"
#include "lk_remote.h"
#include "lk_schema.h"
#include "lk_state.h"
#include "lk_time.h"
#include "lk_worker.h"

#define MAX_T 36
#define MAX_W 64

typedef struct wlink {
    unsigned char wid[64]; /* the writer's routing id at the gateway */
    size_t len;
    zsock_t *dealer; /* → the transform's records ROUTER here */
} wlink_t;

typedef struct tproc {
    int idx;
    pid_t pid;
    int64_t start_at_ms; /* 0: running (or not due) */
    wlink_t w[MAX_W];
    int nw;
} tproc_t;

typedef struct wh {
    const lk_worker_host_opts *o;
    char dir[1024], run[1100], exe[4096];
    zsock_t *front, *chunks, *sup, *mon;
    void *monitor_pair; /* socket monitor of front: a refused key */
    int fronts;         /* fronts opened: each monitor's inproc endpoint is its own */
    zcert_t *mine;      /* our key pair, for every front */
    char server[LK_KEY_TXT];
    int64_t probe_ms; /* when front is next checked for a queue (front_alive) */
    int connected;      /* a handshake succeeded on front, no disconnection since */
    int hello_waits;    /* a HELLO was queued on front while not connected: it waits in it */
    int64_t reopen_said_ms; /* front_alive's warning: once a minute */
    long reopens;
    int session;        /* WELCOME received */
    char nonce[24];     /* of the HELLO of this attempt: a WELCOME to an older one is stale */
    tproc_t t[MAX_T];
    int nt;
    lk_state *st;
    int64_t last_ms, hello_ms, beat_ms;
    int64_t retry_said_ms; /* when "cannot reach" was last logged; 0: connected since */
    long retries;          /* connection attempts that failed since then */
    lk_error err;
} wh_t;

static void end_session(wh_t *h, const char *why);

/* Sends m to the gateway. A message that cannot leave within front's send timeout
   (LK_REMOTE_TIMEOUT_MS: the queue toward the gateway has not moved for that long) ends the
   session, as the gateway's silence does: the gateway then replays what this host held, where a
   message dropped inside a session would be lost. */
static void front_send(wh_t *h, zmsg_t **m)
{
    int rc = lk_zmsg_send(m, h->front, 0);
    if (rc && h->session) {
        char why[128];
        snprintf(why, sizeof why, "a message to it could not leave (%s)", zmq_strerror(-rc));
        end_session(h, why);
    }
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

/* Removes the work directories (<tmp>/lakesupd-wh-*, ours) of worker hosts
   that are gone without removing their own (killed with -9): each holds its
   owner's pid; a directory without one (being made, or of an older version)
   is left alone. */
static void sweep_stale_dirs(const char *tmp)
{
    DIR *d = opendir(tmp);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "lakesupd-wh-", 12)) continue;
        char dir[1400], pidf[1500];
        snprintf(dir, sizeof dir, "%s/%s", tmp, e->d_name);
        struct stat st;
        if (lstat(dir, &st) || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) continue;
        snprintf(pidf, sizeof pidf, "%s/owner.pid", dir);
        FILE *f = fopen(pidf, "r");
        if (!f) continue;
        long pid = 0;
        int got = fscanf(f, "%ld", &pid);
        fclose(f);
        if (got != 1 || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        LK_INFO("removed the work directory %s of a worker host that is gone (pid %ld)", dir, pid);
    }
    closedir(d);
}

static volatile sig_atomic_t g_stop;
static void on_stop(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void spawn(wh_t *h, tproc_t *t)
{
    char idx[16], cfg[1200];
    snprintf(idx, sizeof idx, "%d", t->idx);
    snprintf(cfg, sizeof cfg, "%s/config.yml", h->dir);
    const char *argv[] = {h->exe, "worker", "transform", idx, "--run-dir", h->run, "-c", cfg, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        lk_child_exec_self(h->exe, argv, NULL); /* its file may have been replaced since */
        _exit(127);
    }
    if (pid < 0) {
        LK_ERROR("cannot fork transform %d: %s", t->idx, strerror(errno));
        t->start_at_ms = lk_time_mono_ms() + 1000;
        return;
    }
    t->pid = pid;
    t->start_at_ms = 0;
    LK_INFO("started transform index=%d pid=%d for the pipeline host", t->idx, (int)pid);
}

static void stop_all(wh_t *h)
{
    for (int i = 0; i < h->nt; i++)
        if (h->t[i].pid > 0) kill(h->t[i].pid, SIGTERM);
    int64_t until = lk_time_mono_ms() + 5000;
    for (;;) {
        int left = 0;
        for (int i = 0; i < h->nt; i++) {
            if (h->t[i].pid <= 0) continue;
            if (waitpid(h->t[i].pid, NULL, WNOHANG) == h->t[i].pid)
                h->t[i].pid = 0;
            else
                left++;
        }
        if (!left) break;
        if (lk_time_mono_ms() > until) {
            for (int i = 0; i < h->nt; i++)
                if (h->t[i].pid > 0) kill(h->t[i].pid, SIGKILL), waitpid(h->t[i].pid, NULL, 0);
            break;
        }
        usleep(20000);
    }
    for (int i = 0; i < h->nt; i++)
        for (int k = 0; k < h->t[i].nw; k++)
            zsock_destroy(&h->t[i].w[k].dealer);
    memset(h->t, 0, sizeof h->t);
    h->nt = 0;
    lk_state_close(&h->st);
}

static zmsg_t *msg(const char *kind)
{
    zmsg_t *m = zmsg_new();
    zmsg_addstr(m, kind);
    return m;
}

static void end_session(wh_t *h, const char *why)
{
    if (!h->session) return;
    h->session = 0;
    LK_WARN("session with the pipeline host ends: %s; stopping %d transform(s)", why, h->nt);
    /* the gateway replays what they held at once instead of after 5 s of silence (if the BYE
       can leave: it does not wait) */
    zmsg_t *m = msg("BYE");
    zmsg_addstr(m, why);
    lk_zmsg_send(&m, h->front, ZFRAME_DONTWAIT);
    stop_all(h);
    h->hello_ms = 0;
    /* the next HELLO goes on this front, after the BYE; a fresh front only for the one after,
       if no connection came up by then */
    h->hello_waits = 0;
}

/* WELCOME indexes config: the transforms' configuration is the pipeline's,
   with this host's checkpoint (its state.db of schemas) and no gateway. */
static int welcome(wh_t *h, zmsg_t *m)
{
    char *nonce = zmsg_popstr(m), *idx = zmsg_popstr(m), *cwd = zmsg_popstr(m);
    zframe_t *yml = zmsg_pop(m);
    if (cwd && cwd[0] == '/') setenv("LAKESUPD_PIPELINE_CWD", cwd, 1);
    free(cwd);
    int rc = -1;
    if (!nonce || strcmp(nonce, h->nonce)) {
        /* an answer to a HELLO of an earlier attempt (queued while the
           pipeline host was away): the answer to the current one follows */
        free(nonce), free(idx);
        zframe_destroy(&yml);
        return 1;
    }
    free(nonce);
    char path[1200], ck[1200];
    snprintf(path, sizeof path, "%s/pipeline.yml", h->dir);
    snprintf(ck, sizeof ck, "%s/checkpoint", h->dir);
    lk_config cfg;
    if (!idx || !yml) {
        LK_ERROR("a malformed WELCOME from the pipeline host");
    } else if (lk_fs_replace(path, zframe_data(yml), zframe_size(yml), &h->err) ||
               lk_config_load(path, &cfg, &h->err)) {
        LK_ERROR("the pipeline's configuration: %s", h->err.msg);
    } else {
        snprintf(cfg.checkpoint_path, sizeof cfg.checkpoint_path, "%s", ck);
        cfg.workers.remote.bind[0] = '\0';
        char out[1200], state[1300];
        snprintf(out, sizeof out, "%s/config.yml", h->dir);
        snprintf(state, sizeof state, "%s/state.db", ck);
        /* a fresh copy of the schemas each session: versions line up */
        unlink(state);
        snprintf(path, sizeof path, "%s-wal", state);
        unlink(path);
        snprintf(path, sizeof path, "%s-shm", state);
        unlink(path);
        if (lk_fs_mkdirs(ck, &h->err) || lk_config_write(&cfg, out, &h->err) ||
            lk_state_open(state, &h->st, &h->err)) {
            LK_ERROR("%s", h->err.msg);
        } else {
            rc = 0;
        }
    }
    if (rc == 0) {
        h->nt = 0;
        for (char *s = idx, *e; s && *s && h->nt < MAX_T; s = *e ? e + 1 : e) {
            long v = strtol(s, &e, 10);
            if (e == s) break;
            h->t[h->nt++].idx = (int)v;
        }
        LK_INFO("joined the pipeline at %s: transforms %s", h->o->connect, idx);
        h->session = 1;
        for (int i = 0; i < h->nt; i++)
            spawn(h, &h->t[i]);
    }
    free(idx);
    zframe_destroy(&yml);
    return rc;
}

static tproc_t *find_t(wh_t *h, int idx)
{
    for (int i = 0; i < h->nt; i++)
        if (h->t[i].idx == idx) return &h->t[i];
    return NULL;
}

static wlink_t *find_w(wh_t *h, tproc_t *t, const void *wid, size_t len)
{
    for (int i = 0; i < t->nw; i++)
        if (t->w[i].len == len && !memcmp(t->w[i].wid, wid, len)) return &t->w[i];
    if (t->nw == MAX_W || len > sizeof t->w[0].wid) return NULL;
    wlink_t *l = &t->w[t->nw];
    char ep[1200];
    lk_endpoint(h->run, LK_EP_RECORDS, t->idx, ep, sizeof ep);
    l->dealer = zsock_new(ZMQ_DEALER);
    if (!l->dealer) return NULL;
    zsock_set_linger(l->dealer, 0);
    zsock_connect(l->dealer, "%s", ep);
    memcpy(l->wid, wid, len);
    l->len = len;
    t->nw++;
    return l;
}

static void from_gateway(wh_t *h)
{
    zmsg_t *m = zmsg_recv(h->front);
    if (!m) return;
    h->last_ms = lk_time_mono_ms();
    char *kind = zmsg_popstr(m);
    if (!kind) {
    } else if (!strcmp(kind, "WELCOME")) {
        if (!h->session && welcome(h, m) < 0) {
            zmsg_t *d = msg("D");
            zmsg_addstr(d, "-1");
            zmsg_addstr(d, "the worker host cannot set up its transforms");
            front_send(h, &d);
        }
    } else if (!strcmp(kind, "BYE")) {
        char *why = zmsg_popstr(m);
        if (h->session)
            end_session(h, why ? why : "the pipeline host said bye");
        else
            LK_WARN("the pipeline host turned us away: %s", why ? why : "?");
        h->hello_ms = lk_time_mono_ms() + 1000; /* next hello in a moment */
        free(why);
    } else if (!h->session) {
    } else if (!strcmp(kind, "C")) {
        zframe_t *id = zmsg_pop(m), *data = zmsg_pop(m);
        if (id && data && zframe_send(&id, h->chunks, ZFRAME_MORE | ZFRAME_DONTWAIT) == 0)
            zframe_send(&data, h->chunks, ZFRAME_DONTWAIT);
        zframe_destroy(&id);
        zframe_destroy(&data);
    } else if (!strcmp(kind, "R")) {
        char *idx = zmsg_popstr(m);
        zframe_t *wid = zmsg_pop(m), *data = zmsg_pop(m);
        tproc_t *t = idx ? find_t(h, atoi(idx)) : NULL;
        wlink_t *l = t && wid && data ? find_w(h, t, zframe_data(wid), zframe_size(wid)) : NULL;
        if (l) zframe_send(&data, l->dealer, ZFRAME_DONTWAIT);
        free(idx);
        zframe_destroy(&wid);
        zframe_destroy(&data);
    } else if (!strcmp(kind, "S")) {
        char *table = zmsg_popstr(m), *ver = zmsg_popstr(m);
        zframe_t *json = zmsg_pop(m);
        lk_schema *s = NULL;
        int v = 0;
        if (!table || !ver || !json ||
            lk_schema_from_json((const char *)zframe_data(json), zframe_size(json), &s,
                                &h->err) ||
            lk_state_schema_put(h->st, table, s, &v, &h->err))
            LK_ERROR("cannot keep the schema the pipeline host sent: %s", h->err.msg);
        else if (v != atoi(ver))
            LK_ERROR("schema %s version %s stored as %d: the copy differs from the pipeline's",
                     table, ver, v);
        else
            LK_INFO("schema %s version %d from the pipeline host", table, v);
        lk_schema_destroy(&s);
        free(table), free(ver);
        zframe_destroy(&json);
    }
    free(kind);
    zmsg_destroy(&m);
}

/* A transform's chunks link (routing id, frame) → the gateway. */
static void from_chunks(wh_t *h)
{
    zframe_t *id = zframe_recv(h->chunks);
    zframe_t *data = id && zframe_more(id) ? zframe_recv(h->chunks) : NULL;
    if (id && data && h->session) {
        zmsg_t *m = msg("C");
        zmsg_append(m, &id);
        zmsg_append(m, &data);
        front_send(h, &m);
    }
    zframe_destroy(&id);
    zframe_destroy(&data);
}

static void from_records(wh_t *h, tproc_t *t, wlink_t *l)
{
    zframe_t *data = zframe_recv(l->dealer);
    if (!data) return;
    zmsg_t *m = msg("R");
    zmsg_addstrf(m, "%d", t->idx);
    zmsg_addmem(m, l->wid, l->len);
    zmsg_append(m, &data);
    front_send(h, &m);
}

/* The transforms' events to their "supervisor": ready and fatal are worth a line. */
static void from_sup(wh_t *h)
{
    zframe_t *f = zframe_recv(h->sup);
    if (!f) return;
    lk_msg_event e;
    if (lk_msg_event_decode(zframe_data(f), zframe_size(f), &e, &h->err) == 0 &&
        strcmp(e.name, "progress")) {
        const char *why = lk_msg_event_get_str(&e, "reason");
        LK_INFO("transform index=%lld pid=%lld: %s%s%s",
                (long long)lk_msg_event_get_int(&e, "index", -1),
                (long long)lk_msg_event_get_int(&e, "pid", -1), e.name, why ? " " : "",
                why ? why : "");
    }
    zframe_destroy(&f);
}

static void reap(wh_t *h)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < h->nt; i++) {
            tproc_t *t = &h->t[i];
            if (t->pid != pid) continue;
            t->pid = 0;
            char why[96];
            if (WIFSIGNALED(status))
                snprintf(why, sizeof why, "killed by signal %d", WTERMSIG(status));
            else
                snprintf(why, sizeof why, "exit %d", WEXITSTATUS(status));
            LK_WARN("transform index=%d pid=%d died (%s): restarting in 1 s", t->idx, (int)pid,
                    why);
            for (int k = 0; k < t->nw; k++)
                zsock_destroy(&t->w[k].dealer);
            t->nw = 0;
            t->start_at_ms = lk_time_mono_ms() + 1000;
            zmsg_t *m = msg("D");
            zmsg_addstrf(m, "%d", t->idx);
            zmsg_addstr(m, why);
            front_send(h, &m);
        }
    }
}

/* Socket events of front: a handshake the pipeline host refused (1), a connection that keeps
   failing, a handshake that succeeded (logged). 1 = refused. */
static int front_events(wh_t *h, const char *mykey)
{
    for (;;) {
        zmq_msg_t ev, addr;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, h->monitor_pair, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return 0;
        }
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size(&ev) >= 6) {
            memcpy(&event, zmq_msg_data(&ev), 2);
            memcpy(&value, (char *)zmq_msg_data(&ev) + 2, 4);
        }
        zmq_msg_close(&ev);
        zmq_msg_init(&addr);
        zmq_msg_recv(&addr, h->monitor_pair, 0);
        zmq_msg_close(&addr);
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH &&
            lk_fault_check("worker_host.auth_event") >= 0) {
            LK_ERROR("the pipeline host at %s refused our key %s (status %u): add its public file "
                     "to the pipeline's workers.remote.allowed_keys",
                     h->o->connect, mykey, (unsigned)value);
            return 1;
        }
        if (event == ZMQ_EVENT_CONNECT_RETRIED) {
            /* no silent retrying: the first failed attempt, then one line per 10 s */
            int64_t now = lk_time_mono_ms();
            h->retries++;
            if (!h->retry_said_ms || now - h->retry_said_ms >= 10000) {
                LK_WARN("cannot reach the pipeline host at %s yet (%ld attempt(s)): retrying; is "
                        "it running, and is workers.remote.bind reachable from here?",
                        h->o->connect, h->retries);
                h->retry_said_ms = now;
            }
        }
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            LK_INFO("connected to the pipeline host at %s (its key accepted ours)", h->o->connect);
            h->connected = 1;
            h->retry_said_ms = 0;
            h->retries = 0;
        }
        if (event == ZMQ_EVENT_DISCONNECTED) {
            LK_DEBUG("disconnected from the pipeline host at %s", h->o->connect);
            h->connected = 0;
        }
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
            event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
            LK_WARN("handshake with %s failed (is --server-key the pipeline host's key?)",
                    h->o->connect);
    }
}

/* Opens front, the DEALER to the gateway (CURVE with our key pair and the pinned server key),
   with its socket monitor, and connects it. A send waits at most LK_REMOTE_TIMEOUT_MS
   (front_send), never a loop stopped for good. */
static int front_open(wh_t *h)
{
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://lk-worker-host-monitor-%d", ++h->fronts);
    h->connected = h->hello_waits = 0;
    h->front = zsock_new(ZMQ_DEALER);
    if (!h->front) return -1;
    zcert_apply(h->mine, h->front);
    zsock_set_curve_serverkey(h->front, h->server);
    zsock_set_linger(h->front, 0);
    zsock_set_sndtimeo(h->front, LK_REMOTE_TIMEOUT_MS);
    zsock_set_heartbeat_ivl(h->front, LK_REMOTE_HEARTBEAT_MS);
    zsock_set_heartbeat_timeout(h->front, LK_REMOTE_TIMEOUT_MS);
    if (zmq_socket_monitor(zsock_resolve(h->front), ep,
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_CONNECT_RETRIED |
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED) ||
        !(h->monitor_pair = zmq_socket(zsys_init(), ZMQ_PAIR)) ||
        zmq_connect(h->monitor_pair, ep) || zsock_connect(h->front, "%s", h->o->connect) < 0)
        return -1;
    return 0;
}

static void front_close(wh_t *h)
{
    if (h->front) zmq_socket_monitor(zsock_resolve(h->front), NULL, 0);
    if (h->monitor_pair) zmq_close(h->monitor_pair);
    h->monitor_pair = NULL;
    zsock_destroy(&h->front);
}

/* front closed and opened again (whatever it queued is dropped): 0, or -1 logged. */
static int front_reopen(wh_t *h)
{
    front_close(h);
    if (!front_open(h)) return 0;
    LK_ERROR("cannot open a connection to %s again: %s", h->o->connect, zmq_strerror(zmq_errno()));
    return -1;
}

/* Out of a session, every 500 ms: a front that can queue no message is open again. libzmq ends
   a connection for good when its handshake fails (a refused key says so in an event, which
   front_events reads first; a CI run once went without one), and a DEALER without a connection
   would keep a HELLO waiting for ever. 1 = refused (exit). */
static int front_alive(wh_t *h, const char *mykey, int64_t now)
{
    if (h->session || now < h->probe_ms) return 0;
    h->probe_ms = now + 500;
    if (zsock_events(h->front) & ZMQ_POLLOUT) return 0;
    if (front_events(h, mykey)) return 1;
    h->reopens++;
    if (!h->reopen_said_ms || now - h->reopen_said_ms >= 60000) {
        LK_WARN("the connection to the pipeline host at %s takes no message (ended by a failed "
                "handshake, or its queue full): opening it again (%ld time(s); then every 10 s "
                "while it lasts)",
                h->o->connect, h->reopens);
        h->reopen_said_ms = now;
    }
    h->probe_ms = now + 10000; /* a peer that fails every handshake: not a reopen per 500 ms */
    if (front_reopen(h)) return -1;
    h->hello_ms = now;
    return 0;
}

int lk_worker_host_run(const lk_worker_host_opts *o)
{
    lk_log_init("worker-host", 0);
    lk_log_configure(o->log_level ? o->log_level : "info", "text");
    static wh_t H;
    wh_t *h = &H;
    memset(h, 0, sizeof *h);
    h->o = o;
    if (!o->connect || strncmp(o->connect, "tcp://", 6) || !o->key || !o->server_key ||
        o->transforms < 1 || o->transforms > MAX_T) {
        LK_ERROR("usage: worker-host --connect tcp://HOST:PORT --key FILE --server-key FILE "
                 "transform=N (1..%d)",
                 MAX_T);
        return LK_EXIT_USAGE;
    }
    zcert_t *mine = NULL;
    if (lk_keys_load_pair(o->key, &mine, &h->err) ||
        lk_keys_load_public(o->server_key, h->server, &h->err)) {
        LK_ERROR("%s", h->err.msg);
        zcert_destroy(&mine);
        return LK_EXIT_CONFIG;
    }
    char mykey[LK_KEY_TXT];
    snprintf(mykey, sizeof mykey, "%s", zcert_public_txt(mine));
    ssize_t n = readlink("/proc/self/exe", h->exe, sizeof h->exe - 1);
    if (n <= 0) {
        LK_ERROR("cannot find my own executable: %s", strerror(errno));
        zcert_destroy(&mine);
        return LK_EXIT_FAILURE;
    }
    h->exe[n] = '\0';
    int made = 0;
    if (o->dir) {
        snprintf(h->dir, sizeof h->dir, "%s", o->dir);
        if (lk_fs_mkdirs(h->dir, &h->err)) {
            LK_ERROR("%s", h->err.msg);
            zcert_destroy(&mine);
            return LK_EXIT_CONFIG;
        }
    } else {
        /* in $TMPDIR (absolute) or /tmp */
        const char *tmp = getenv("TMPDIR");
        if (!tmp || tmp[0] != '/' || strlen(tmp) > 1024) tmp = "/tmp";
        sweep_stale_dirs(tmp);
        snprintf(h->dir, sizeof h->dir, "%s/lakesupd-wh-XXXXXX", tmp);
        if (!mkdtemp(h->dir)) {
            LK_ERROR("cannot make a work directory: %s", strerror(errno));
            zcert_destroy(&mine);
            return LK_EXIT_TEMPFAIL;
        }
        made = 1;
        /* its owner, for the next worker host's sweep if this one is killed */
        char pidf[1100], pidtxt[32];
        snprintf(pidf, sizeof pidf, "%s/owner.pid", h->dir);
        int plen = snprintf(pidtxt, sizeof pidtxt, "%ld\n", (long)getpid());
        if (lk_fs_put_if_absent(pidf, pidtxt, (size_t)plen, &h->err))
            LK_WARN("%s (the directory is not removed if this worker host is killed)", h->err.msg);
    }
    snprintf(h->run, sizeof h->run, "%s/run", h->dir);
    char longest[1200];
    lk_endpoint(h->run, LK_EP_LONGEST, -1, longest, sizeof longest);
    if (strlen(longest) - 6 >= 108) { /* a Unix socket address: 108 bytes with its NUL */
        LK_ERROR("--dir %s is too long for the sockets of its run directory (%s); pick a shorter one",
                 h->dir, longest);
        zcert_destroy(&mine);
        return LK_EXIT_USAGE;
    }
    if (lk_fs_mkdirs(h->run, &h->err)) {
        LK_ERROR("%s", h->err.msg);
        zcert_destroy(&mine);
        return LK_EXIT_TEMPFAIL;
    }
    zsys_handler_set(NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    char ep[1200];
    h->chunks = zsock_new(ZMQ_ROUTER);
    lk_endpoint(h->run, LK_EP_CHUNKS, -1, ep, sizeof ep);
    int bad = !h->chunks || zsock_bind(h->chunks, "%s", ep) < 0;
    h->sup = zsock_new(ZMQ_PULL);
    lk_endpoint(h->run, LK_EP_SUPERVISOR, -1, ep, sizeof ep);
    bad = bad || !h->sup || zsock_bind(h->sup, "%s", ep) < 0;
    h->mon = zsock_new(ZMQ_PULL);
    lk_endpoint(h->run, LK_EP_MONITOR, -1, ep, sizeof ep);
    bad = bad || !h->mon || zsock_bind(h->mon, "%s", ep) < 0;
    if (bad) {
        LK_ERROR("cannot bind in %s: %s", h->run, zmq_strerror(zmq_errno()));
        zcert_destroy(&mine);
        return LK_EXIT_TEMPFAIL;
    }
    zsock_set_router_mandatory(h->chunks, 0);
    h->mine = mine;
    int rc = LK_EXIT_OK;
    if (front_open(h)) {
        LK_ERROR("cannot connect to %s: %s", o->connect, zmq_strerror(zmq_errno()));
        rc = LK_EXIT_TEMPFAIL;
    } else {
        LK_INFO("worker host pid=%d key %s: connecting to %s for %d transform(s) (work directory "
                "%s)",
                (int)getpid(), mykey, o->connect, o->transforms, h->dir);
    }
    h->last_ms = lk_time_mono_ms();
    while (!g_stop && rc == LK_EXIT_OK) {
        int64_t now = lk_time_mono_ms();
        int alive = front_alive(h, mykey, now);
        if (alive) {
            rc = alive > 0 ? LK_EXIT_CONFIG : LK_EXIT_TEMPFAIL;
            break;
        }
        /* the events first: a handshake that succeeded since the last HELLO keeps its front */
        if (!h->session && now >= h->hello_ms && front_events(h, mykey)) {
            rc = LK_EXIT_CONFIG;
            break;
        }
        if (!h->session && now >= h->hello_ms && !h->connected && h->hello_waits) {
            /* The last HELLO still waits in the queue of a connection that is not up (the
               pipeline host is away): a fresh front drops it, so that one HELLO waits, not one
               per 10 s. Each queued HELLO reached the gateway as a new session that ended the
               one before (a join and a leave per 10 s of absence, each leave a replay). */
            LK_DEBUG("no handshake with %s since the last HELLO: a fresh connection for the next",
                     o->connect);
            if (front_reopen(h)) {
                rc = LK_EXIT_TEMPFAIL;
                break;
            }
        }
        if (!h->session && now >= h->hello_ms) {
            char host[256] = "";
            gethostname(host, sizeof host - 1);
            zmsg_t *m = msg("HELLO");
            snprintf(h->nonce, sizeof h->nonce, "%d-%lld", (int)getpid(), (long long)lk_time_now_us());
            zmsg_addstr(m, h->nonce);
            zmsg_addstr(m, host);
            zmsg_addstrf(m, "%d", (int)getpid());
            zmsg_addstrf(m, "%d", o->transforms);
            /* the DEALER queues it until the connection is up; one at a time (above) */
            front_send(h, &m);
            h->hello_waits = !h->connected;
            h->hello_ms = now + 10000;
        }
        if (!h->session && now - h->last_ms > 30000) {
            /* a wrong --server-key fails the handshake without a word from the server */
            LK_WARN("no answer from the pipeline host at %s for 30 s (is it running with "
                    "workers.remote.bind there? is --server-key its public key?)",
                    o->connect);
            h->last_ms = now;
        }
        if (h->session && now - h->beat_ms >= LK_REMOTE_HEARTBEAT_MS) {
            h->beat_ms = now;
            zmsg_t *m = msg("H");
            front_send(h, &m);
        }
        if (h->session && now - h->last_ms > LK_REMOTE_TIMEOUT_MS)
            end_session(h, "the pipeline host is silent for 5 s");
        for (int i = 0; h->session && i < h->nt; i++)
            if (!h->t[i].pid && h->t[i].start_at_ms && now >= h->t[i].start_at_ms)
                spawn(h, &h->t[i]);
        enum { MAXI = 5 + MAX_T * MAX_W };
        zmq_pollitem_t items[MAXI];
        struct {
            int t, w;
        } who[MAXI];
        int ni = 0;
        items[ni++] = (zmq_pollitem_t){zsock_resolve(h->front), 0, ZMQ_POLLIN, 0};
        items[ni++] = (zmq_pollitem_t){zsock_resolve(h->chunks), 0, ZMQ_POLLIN, 0};
        items[ni++] = (zmq_pollitem_t){zsock_resolve(h->sup), 0, ZMQ_POLLIN, 0};
        items[ni++] = (zmq_pollitem_t){zsock_resolve(h->mon), 0, ZMQ_POLLIN, 0};
        items[ni++] = (zmq_pollitem_t){h->monitor_pair, 0, ZMQ_POLLIN, 0};
        for (int i = 0; i < h->nt; i++)
            for (int k = 0; k < h->t[i].nw; k++) {
                who[ni].t = i, who[ni].w = k;
                items[ni++] = (zmq_pollitem_t){zsock_resolve(h->t[i].w[k].dealer), 0, ZMQ_POLLIN, 0};
            }
        zmq_poll(items, ni, 100);
        reap(h);
        if ((items[4].revents & ZMQ_POLLIN) && front_events(h, mykey)) {
            rc = LK_EXIT_CONFIG;
            break;
        }
        for (int i = 5; i < ni; i++)
            if (items[i].revents & ZMQ_POLLIN) {
                tproc_t *t = &h->t[who[i].t];
                if (who[i].w < t->nw && t->w[who[i].w].dealer)
                    for (int k = 0; k < 64 && (zsock_events(t->w[who[i].w].dealer) & ZMQ_POLLIN);
                         k++)
                        from_records(h, t, &t->w[who[i].w]);
            }
        if (items[1].revents & ZMQ_POLLIN)
            for (int k = 0; k < 64 && (zsock_events(h->chunks) & ZMQ_POLLIN); k++)
                from_chunks(h);
        if (items[2].revents & ZMQ_POLLIN)
            for (int k = 0; k < 256 && (zsock_events(h->sup) & ZMQ_POLLIN); k++)
                from_sup(h);
        if (items[3].revents & ZMQ_POLLIN)
            for (int k = 0; k < 256 && (zsock_events(h->mon) & ZMQ_POLLIN); k++) {
                zframe_t *f = zframe_recv(h->mon);
                if (!f) break;
                if (h->session) {
                    zmsg_t *m = msg("M");
                    zmsg_append(m, &f);
                    front_send(h, &m);
                }
                zframe_destroy(&f);
            }
        if (items[0].revents & ZMQ_POLLIN)
            for (int k = 0; k < 256 && (zsock_events(h->front) & ZMQ_POLLIN); k++)
                from_gateway(h);
    }
    if (h->session) end_session(h, rc ? "refused" : "stopping");
    front_close(h);
    zcert_destroy(&h->mine);
    zsock_destroy(&h->chunks);
    zsock_destroy(&h->sup);
    zsock_destroy(&h->mon);
    if (made) nftw(h->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    LK_INFO("worker host stops (exit %d)", rc);
    return rc;
}
