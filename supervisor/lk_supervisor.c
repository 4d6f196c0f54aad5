/*
 * lk_supervisor — process tree, restarts, control socket; see lk_supervisor.h.
 *
 * The main loop polls two sockets (worker events, CLI control) with a short
 * timeout, reaps children with waitpid(WNOHANG) and acts on signal flags
 * set by async-signal-safe handlers. All state is in one table of children.
 */
#include "lk_supervisor.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lk_autoscale.h"
#include "lk_buf.h"
#include "lk_endpoint.h"
#include "lk_child.h"
#include "lk_fs.h"
#include "lk_log.h"
#include "lk_msg.h"
#include "lk_notify.h"
#include "lk_restart.h"
#include "lk_rundir.h"
#include "lk_source_cfg.h"
#include "lk_state.h"
#include "lk_tables.h"
#include "lk_time.h"


#define MAX_CHILDREN 160
#define READY_TIMEOUT_MS 15000

typedef enum child_state {
    CHILD_DOWN = 0,     /* not running; restart at next_start_ms */
    CHILD_STARTING = 1, /* forked, READY not seen */
    CHILD_RUNNING = 2,
    CHILD_STOPPING = 3, /* SIGTERM sent */
    CHILD_EXITED = 4,   /* exited during shutdown: not restarted */
    CHILD_NEW = 5,      /* not started yet (its start group comes later) */
    CHILD_RETIRING = 6, /* scaled in: SIGUSR1 sent, it drains and exits; not restarted */
} child_state;

typedef struct child {
    char role[16];
    int index;
    int group; /* start order: 0 monitor, 1 committer, 2 writers, 3 transforms, 4 ingest */
    pid_t pid;
    child_state state;
    int restarts;
    int64_t started_ms, next_start_ms;
    int64_t last_beat_ms; /* the last ready/progress message from this incarnation */
    int64_t work_done;    /* the "work_done" counter of its heartbeats */
    int64_t work_ms;      /* when work_done last moved or it became busy (or it started) */
    char last_exit[128];
    char last_log[256];   /* the worker's last WARN/ERROR line, if reported */
    int64_t retire_deadline_ms; /* CHILD_RETIRING: SIGKILL after this */
    int reload_pending;   /* the running configuration changed while it started */
    lk_restart *policy;   /* backoff, intensity, death tally */
    lk_msg_event progress; /* latest heartbeat */
} child;

typedef struct sup {
    const lk_config *cfg; /* = &running */
    lk_config running;    /* live keys change on SIGHUP */
    char config_file[1024]; /* the user's file, re-read on SIGHUP ("" = defaults) */
    char worker_config[1200]; /* the running configuration, written for workers */
    char exe[PATH_MAX];
    char run_dir[1024];
    pid_t pid;
    int64_t started_ms;
    child kids[MAX_CHILDREN];
    int nkids;
    zsock_t *events;  /* PULL: ready/progress/done from workers */
    zsock_t *control; /* REP: CLI */
    zsock_t *ingest;  /* PUSH: replay/stop to ingest */
    int draining;     /* stop requested: ingest drains */
    int64_t drain_deadline_ms;
    int done;         /* ingest reported done: shut down */
    int failed;
    int config_error; /* a worker found the configuration wrong: exit LK_EXIT_CONFIG */
    lk_notify *notify; /* systemd: READY, STATUS, STOPPING, WATCHDOG */
    /* scaling: the counts asked for (lakesupd scale, SIGHUP, auto) of transform
       and writer; the children follow in scale_reconcile */
    int target[2];
    int autoscale;            /* workers.transform: auto */
    lk_autoscale *auto_;
    int64_t auto_next_ms;
    int64_t busy_gone_us;     /* busy_us of transforms no longer running (auto's sum) */
    int started;              /* every start group is up */
    struct {
        int transform, writer, transform_auto, max_transform;
    } file_workers;           /* workers.* as the user's file said at its last reading */
    struct {
        int64_t rows, at_ms; /* the committer's rows_in at the last sample */
        double rate;         /* rows/s committed over the last interval */
    } rate;                  /* for systemd's STATUS= */
    lk_buf buf;
} sup;

/* the roles whose count changes at run time, and their start groups */
static const char *const SCALED[2] = {"transform", "writer"};
static const int SCALED_GROUP[2] = {3, 2};

static volatile sig_atomic_t g_sig_stop, g_sig_hup;
static int g_chld_pipe[2] = {-1, -1}; /* SIGCHLD wakes the poll: a dead worker is reaped at once */

static void on_chld(int sig)
{
    (void)sig;
    int saved = errno;
    if (g_chld_pipe[1] >= 0 && write(g_chld_pipe[1], "c", 1) < 0) {
        /* full pipe: a wake-up is pending already */
    }
    errno = saved;
}

static void on_stop(int sig)
{
    (void)sig;
    g_sig_stop++;
}

static void on_hup(int sig)
{
    (void)sig;
    g_sig_hup = 1;
}

static void add_child(sup *s, const char *role, int index, int group)
{
    child *c = &s->kids[s->nkids++];
    memset(c, 0, sizeof *c);
    snprintf(c->role, sizeof c->role, "%s", role);
    c->index = index;
    c->group = group;
    c->state = CHILD_NEW;
    static const lk_restart_policy policy = LK_RESTART_POLICY_DEFAULT;
    c->policy = lk_restart_new(&policy, (uint32_t)(s->pid * 2654435761u) ^ (uint32_t)s->nkids);
    lk_msg_event_init(&c->progress, "progress");
}

static int spawn(sup *s, child *c)
{
    char idx[16];
    snprintf(idx, sizeof idx, "%d", c->index);
    const char *argv[16];
    int a = 0;
    argv[a++] = s->exe;
    argv[a++] = "worker";
    argv[a++] = c->role;
    argv[a++] = idx;
    argv[a++] = "--run-dir";
    argv[a++] = s->run_dir;
    /* the trigger and every other key travel in the running configuration */
    argv[a++] = "-c";
    argv[a++] = s->worker_config;
    argv[a] = NULL;
    /* the child's environment, made here: between fork and exec the child only makes
       async-signal-safe calls (lk_child.h) */
    char env_pid[48];
    snprintf(env_pid, sizeof env_pid, "LAKESUP_SUPERVISOR_PID=%d", (int)s->pid);
    /* ingest started ahead of the other workers holds until "go" */
    const char *set[] = {env_pid, "LAKESUP_INGEST_HOLD=1"}, *drop[] = {"LAKESUP_INGEST_HOLD"};
    int hold = !strcmp(c->role, "ingest") && !s->started;
    const char **envp = lk_child_environ(set, hold ? 2 : 1, drop, 1);

    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        free(envp);
        LK_ERROR("cannot fork worker role=%s index=%d: %s", c->role, c->index, strerror(e));
        return -e;
    }
    if (pid == 0) {
        /* child: die with the supervisor; own process group so that a
           terminal's Ctrl-C reaches only the supervisor, which drains */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != s->pid)
            _exit(111);
        setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* this very program, even when its file was replaced since (an upgrade in place, which
           does not restart the service): every worker is the supervisor's version */
        lk_child_exec_self(s->exe, argv, envp);
        static const char msg[] = "lakesupd: cannot exec the worker program\n";
        ssize_t wr = write(2, msg, sizeof msg - 1);
        (void)wr;
        _exit(111);
    }
    free(envp);
    c->pid = pid;
    c->state = CHILD_STARTING;
    c->started_ms = lk_time_mono_ms();
    c->last_beat_ms = c->started_ms;
    c->work_done = -1;
    c->work_ms = c->started_ms;
    c->reload_pending = 0;
    lk_restart_started(c->policy, c->started_ms);
    lk_msg_event_init(&c->progress, "progress");
    LK_INFO("started worker role=%s index=%d pid=%d", c->role, c->index, (int)pid);
    return 0;
}

static child *find_pid(sup *s, pid_t pid)
{
    for (int i = 0; i < s->nkids; i++)
        if (s->kids[i].pid == pid)
            return &s->kids[i];
    return NULL;
}

static child *find_role(sup *s, const char *role, int index)
{
    for (int i = 0; i < s->nkids; i++)
        if (!strcmp(s->kids[i].role, role) && s->kids[i].index == index)
            return &s->kids[i];
    return NULL;
}

/* batch >= 0: a replay of that batch only (gen >= 0: of that generation of it) */
static void send_ingest_batch(sup *s, const char *name, const char *reason, int64_t batch,
                              int64_t gen)
{
    lk_msg_event e;
    lk_msg_event_init(&e, name);
    if (reason)
        lk_msg_event_set_str(&e, "reason", reason);
    if (batch >= 0)
        lk_msg_event_set_int(&e, "batch", batch);
    if (gen >= 0)
        lk_msg_event_set_int(&e, "gen", gen);
    lk_buf_reset(&s->buf);
    lk_msg_event_encode(&e, &s->buf);
    if (zmq_send(zsock_resolve(s->ingest), s->buf.data, s->buf.len, ZMQ_DONTWAIT) < 0)
        LK_WARN("cannot tell ingest '%s': %s", name, strerror(errno));
}

static void send_ingest(sup *s, const char *name, const char *reason)
{
    send_ingest_batch(s, name, reason, -1, -1);
}

static int check_transforms(const lk_config *cfg, lk_state *st, lk_error *err)
{
    lk_schema *raw = NULL;
    int v = 0;
    if (lk_state_schema_get(st, LK_TABLE_RAW, &raw, &v, err))
        lk_error_clear(err);
    /* with a stored schema, one compile serves both checks */
    int rc = raw ? lk_tables_check_types(cfg, raw, err) : lk_tables_check(cfg, NULL, err);
    lk_schema_destroy(&raw);
    return rc;
}

/* schema_hints that retype a column raw_events has are not applied: one WARN each, here, once
   at each start. Not by ingest, which is what leaves them out (lk_evolve): a crash or a kill
   restarts it within the run, and each of its starts said them again. */
static void warn_hints_not_applied(const lk_config *cfg, lk_state *st)
{
    if (!cfg->source.schema_hints[0]) return;
    lk_schema *raw = NULL;
    int v = 0;
    lk_error err;
    if (lk_state_schema_get(st, LK_TABLE_RAW, &raw, &v, &err)) {
        LK_WARN("cannot read the raw_events schema to check schema_hints against it: %s", err.msg);
        return;
    }
    lk_buf said = LK_BUF_INIT;
    lk_source_cfg_hints_not_applied(cfg, raw, v, &said);
    for (char *line = said.data, *nl; line && (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = '\0';
        LK_WARN("%s", line);
    }
    lk_buf_free(&said);
    lk_schema_destroy(&raw);
}

/* Ingest found the transforms wrong for the first (inferred) schema, which
   it stored: the same check with the user's configuration, for the
   supervisor's own "configuration error" line, as at start (the worker's
   message names the same file and line: the running copy's _origin). */
static void recheck_transforms(sup *s)
{
    char state_path[2048];
    lk_config_state_path(s->cfg, state_path, sizeof state_path);
    lk_state *st = NULL;
    lk_error err = {0};
    if (lk_state_open(state_path, &st, &err) == 0 && check_transforms(s->cfg, st, &err))
        LK_ERROR("configuration error: %s", err.msg);
    lk_state_close(&st);
}

static void handle_event(sup *s, const void *data, size_t len)
{
    lk_msg_event e;
    lk_error err;
    if (lk_msg_event_decode(data, len, &e, &err)) {
        LK_WARN("dropped a malformed worker event: %s", err.msg);
        return;
    }
    const char *role = lk_msg_event_get_str(&e, "role");
    int index = (int)lk_msg_event_get_int(&e, "index", -1);
    child *c = role ? find_role(s, role, index) : NULL;
    if (!strcmp(e.name, "done")) {
        LK_INFO("ingest reports the pipeline drained reason=%s",
                lk_msg_event_get_str(&e, "reason") ? lk_msg_event_get_str(&e, "reason") : "-");
        s->done = 1;
        return;
    }
    if (!strcmp(e.name, "fatal")) {
        const char *why = lk_msg_event_get_str(&e, "error");
        LK_ERROR("worker role=%s index=%d reports a fatal error: %s", role ? role : "?", index,
                 why ? why : "?");
        s->failed = 1;
        s->done = 1;
        if (lk_msg_event_get_int(&e, "config", 0) && !s->config_error) {
            s->config_error = 1;
            recheck_transforms(s);
        }
        /* ingest must not wait for batches that will never commit */
        send_ingest(s, "abort", why ? why : "fatal");
        return;
    }
    if (!strcmp(e.name, "replay")) {
        /* a transform could not read a chunk sent by reference, or found a key no column has:
           that batch again, now */
        int64_t b = lk_msg_event_get_int(&e, "batch", -1);
        const char *why = lk_msg_event_get_str(&e, "reason");
        /* a new key's re-read is how schema evolution works (the transform said so at INFO);
           any other is a failure worth a warning */
        if (lk_msg_event_get_int(&e, "expected", 0))
            LK_INFO("worker role=%s index=%d asks for batch=%lld again: %s", role ? role : "?",
                    index, (long long)b, why ? why : "?");
        else
            LK_WARN("worker role=%s index=%d asks for batch=%lld again: %s", role ? role : "?",
                    index, (long long)b, why ? why : "?");
        send_ingest_batch(s, "replay", why ? why : role, b, lk_msg_event_get_int(&e, "gen", -1));
        return;
    }
    if (!c || c->pid != (pid_t)lk_msg_event_get_int(&e, "pid", -1))
        return; /* a message from an earlier incarnation */
    c->last_beat_ms = lk_time_mono_ms();
    if (!strcmp(e.name, "ready")) {
        if (c->state == CHILD_STARTING)
            c->state = CHILD_RUNNING;
        if (c->reload_pending) {
            c->reload_pending = 0;
            kill(c->pid, SIGHUP);
        }
    } else if (!strcmp(e.name, "progress")) {
        /* the no-progress clock runs while the worker is busy: it starts when
           it becomes busy, not at its last progress before an idle spell */
        int was_busy = lk_msg_event_get_int(&c->progress, "busy", 0) > 0;
        c->progress = e;
        int64_t done = lk_msg_event_get_int(&e, "work_done", 0);
        if (done != c->work_done || (!was_busy && lk_msg_event_get_int(&e, "busy", 0) > 0)) {
            c->work_done = done;
            c->work_ms = c->last_beat_ms;
        }
        const char *le = lk_msg_event_get_str(&e, "last_error");
        if (le && *le)
            snprintf(c->last_log, sizeof c->last_log, "%s", le);
    }
}

static int alive(sup *s, int group);

/* Tells workers (of role, or all with NULL) that the running configuration
   changed: SIGHUP to the ones that are up; one still starting may have read
   the file before it changed and has its SIGHUP held until it is READY (a
   SIGHUP before its handler is installed would kill it). */
static void signal_reload(sup *s, const char *role)
{
    for (int i = 0; i < s->nkids; i++) {
        child *c = &s->kids[i];
        if (c->pid <= 0 || (role && strcmp(c->role, role)))
            continue;
        if (c->state == CHILD_RUNNING || c->state == CHILD_RETIRING)
            kill(c->pid, SIGHUP);
        else if (c->state == CHILD_STARTING)
            c->reload_pending = 1;
    }
}

/* Forgets a child that is gone for good (scaled in); the table stays in
   start order. */
static void remove_child(sup *s, child *c)
{
    if (!strcmp(c->role, "transform"))
        s->busy_gone_us += lk_msg_event_get_int(&c->progress, "busy_us", 0);
    lk_restart_destroy(&c->policy);
    int i = (int)(c - s->kids);
    memmove(&s->kids[i], &s->kids[i + 1], (size_t)(s->nkids - i - 1) * sizeof s->kids[0]);
    s->nkids--;
}

/* A child crash-loops: it is not restarted. The pipeline drains what can
   still be committed (when the role has another live instance, or is the
   monitor) and the supervisor exits non-zero, so that systemd or the
   operator decides; the message says which worker and its last error. */
static void escalate(sup *s, child *c)
{
    lk_restart_policy p = LK_RESTART_POLICY_DEFAULT;
    LK_ERROR("worker role=%s index=%d crash-loops: %d restarts in %lld s, last %s, last error: "
             "%s; giving up",
             c->role, c->index, lk_restart_recent(c->policy, lk_time_mono_ms()),
             (long long)(p.intensity_period_ms / 1000), c->last_exit,
             c->last_log[0] ? c->last_log : "(none reported)");
    c->state = CHILD_EXITED;
    s->failed = 1;
    int peers = 0;
    for (int i = 0; i < s->nkids; i++)
        peers += !strcmp(s->kids[i].role, c->role) && &s->kids[i] != c && s->kids[i].pid > 0;
    if ((peers || !strcmp(c->role, "monitor")) && !s->draining) {
        LK_WARN("draining what can still be committed before exiting (at most %lld ms)",
                (long long)s->cfg->stop_timeout_ms);
        s->draining = 1;
        s->drain_deadline_ms = lk_time_mono_ms() + s->cfg->stop_timeout_ms;
        send_ingest(s, "stop", "crash-loop");
    } else {
        s->done = 1;
    }
}

static void reap(sup *s, int shutting_down)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        child *c = find_pid(s, pid);
        if (!c)
            continue; /* an adopted orphan (we are a subreaper) */
        if (WIFSIGNALED(status))
            snprintf(c->last_exit, sizeof c->last_exit, "killed by signal %d (%s)",
                     WTERMSIG(status), strsignal(WTERMSIG(status)));
        else
            snprintf(c->last_exit, sizeof c->last_exit, "exit code %d", WEXITSTATUS(status));
        int clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        c->pid = 0;
        if (c->state == CHILD_RETIRING && !shutting_down) {
            if (clean) {
                LK_INFO("worker role=%s index=%d pid=%d scaled in: drained and exited", c->role,
                        c->index, (int)pid);
            } else {
                /* killed while draining: what it held is replayed, as for any death */
                LK_WARN("worker role=%s index=%d pid=%d scaled in but did not drain (%s): "
                        "replaying what it held",
                        c->role, c->index, (int)pid, c->last_exit);
                send_ingest(s, "replay", c->role);
            }
            remove_child(s, c);
            continue;
        }
        if (shutting_down || c->state == CHILD_STOPPING) {
            c->state = CHILD_EXITED;
            LK_INFO("worker role=%s index=%d pid=%d stopped: %s", c->role, c->index, (int)pid,
                    c->last_exit);
            continue;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == LK_EXIT_CONFIG) {
            LK_ERROR("worker role=%s index=%d pid=%d failed on its configuration (exit 100); "
                     "not restarting",
                     c->role, c->index, (int)pid);
            s->failed = 1;
            s->done = 1;
            /* the run ends with 100 too, which a service manager does not restart
               (deploy/lakesupd.service: RestartPreventExitStatus=100) */
            s->config_error = 1;
            c->state = CHILD_EXITED;
            continue;
        }
        int64_t now = lk_time_mono_ms(), delay = 0;
        int loop = lk_restart_died(c->policy, now, lk_time_now_ms(), c->last_exit, c->last_log,
                                   &delay);
        c->restarts = lk_restart_count(c->policy);
        if (loop) {
            escalate(s, c);
            continue;
        }
        c->next_start_ms = now + delay;
        c->state = CHILD_DOWN;
        lk_log(clean ? LK_LOG_WARN : LK_LOG_ERROR,
               "worker role=%s index=%d pid=%d exited unexpectedly: %s; restart %d in %lld ms",
               c->role, c->index, (int)pid, c->last_exit, c->restarts, (long long)delay);
        if (strcmp(c->role, "ingest") && strcmp(c->role, "monitor"))
            send_ingest(s, "replay", c->role);
    }
}

/* Why a running worker says it is paused (a full disk...), or NULL. */
static const char *paused_reason(const child *c)
{
    const char *why = c->pid > 0 ? lk_msg_event_get_str(&c->progress, "paused") : NULL;
    return why && *why ? why : NULL;
}

/* Liveness: a worker that is alive but has sent nothing for worker_timeout
   (stopped, hung), or that says it is busy while its work_done counter
   stays still for worker_timeout (livelocked), is killed; reap() restarts it and, for the
   data path, ingest replays what it held. */
static void check_liveness(sup *s)
{
    int64_t now = lk_time_mono_ms();
    for (int i = 0; i < s->nkids; i++) {
        child *c = &s->kids[i];
        if (c->pid > 0 && c->state == CHILD_RETIRING && now > c->retire_deadline_ms) {
            LK_ERROR("worker role=%s index=%d pid=%d did not drain within stop_timeout after "
                     "being scaled in: killing it (what it held is replayed)",
                     c->role, c->index, (int)c->pid);
            kill(c->pid, SIGKILL);
            c->retire_deadline_ms = INT64_MAX;
            continue;
        }
        if (c->pid <= 0 || (c->state != CHILD_RUNNING && c->state != CHILD_STARTING))
            continue;
        if (now - c->last_beat_ms > s->cfg->worker_timeout_ms) {
            LK_ERROR("worker role=%s index=%d pid=%d sent no heartbeat for %lld ms "
                     "(worker_timeout): killing it",
                     c->role, c->index, (int)c->pid, (long long)(now - c->last_beat_ms));
            kill(c->pid, SIGKILL);
            c->last_beat_ms = now; /* one kill per silence; reap() does the rest */
            continue;
        }
        /* alive, but holding work it does not finish (a livelock, a retry
           that never succeeds); a pause for a full disk is not counted */
        if (lk_msg_event_get_int(&c->progress, "busy", 0) > 0 && !paused_reason(c) &&
            now - c->work_ms > s->cfg->worker_timeout_ms) {
            LK_ERROR("worker role=%s index=%d pid=%d made no progress for %lld ms while it had "
                     "work (worker_timeout; last error: %s): killing it",
                     c->role, c->index, (int)c->pid, (long long)(now - c->work_ms),
                     c->last_log[0] ? c->last_log : "none reported");
            kill(c->pid, SIGKILL);
            c->work_ms = now;
        }
    }
}

static void restart_due(sup *s)
{
    int64_t now = lk_time_mono_ms();
    for (int i = 0; i < s->nkids; i++) {
        child *c = &s->kids[i];
        if (c->state == CHILD_DOWN && now >= c->next_start_ms)
            spawn(s, c);
    }
}

static const char *state_name(child_state st)
{
    switch (st) {
    case CHILD_DOWN: return "restarting";
    case CHILD_STARTING: return "starting";
    case CHILD_RUNNING: return "running";
    case CHILD_STOPPING: return "stopping";
    case CHILD_NEW: return "not started";
    case CHILD_RETIRING: return "retiring";
    default: return "stopped";
    }
}

static void json_kv_counters(lk_buf *b, const lk_msg_event *e)
{
    for (int k = 0; k < e->n; k++) {
        const lk_msg_kv *kv = &e->kv[k];
        if (!strcmp(kv->key, "role") || !strcmp(kv->key, "index") || !strcmp(kv->key, "pid"))
            continue;
        lk_buf_putc(b, ',');
        lk_buf_json_string(b, kv->key, strlen(kv->key));
        lk_buf_putc(b, ':');
        if (kv->is_str)
            lk_buf_json_string(b, kv->s, strlen(kv->s));
        else
            lk_buf_printf(b, "%lld", (long long)kv->i);
    }
}

/* ---- scaling at run time: lakesupd scale, SIGHUP, workers.transform: auto ---- */

/* Workers of scaled role r that count: started or starting, not scaled in. */
static int scaled_live(sup *s, int r)
{
    int n = 0;
    for (int i = 0; i < s->nkids; i++)
        n += !strcmp(s->kids[i].role, SCALED[r]) && s->kids[i].state != CHILD_RETIRING &&
             s->kids[i].state != CHILD_EXITED;
    return n;
}

/* ... and of those, the ones that are up (READY). */
static int scaled_ready(sup *s, int r)
{
    int n = 0;
    for (int i = 0; i < s->nkids; i++)
        n += !strcmp(s->kids[i].role, SCALED[r]) && s->kids[i].state == CHILD_RUNNING;
    return n;
}

/* The running configuration follows the tree: workers.transform is the
   number of records endpoints the writers keep a link to (every transform
   present, draining ones included, up to the highest index), so it grows
   before a new transform starts and shrinks only once the scaled-in ones
   have exited; workers.writer is the target. Rewritten and signalled
   (SIGHUP) when either changes. */
static void follow_links(sup *s)
{
    int links = 0;
    for (int i = 0; i < s->nkids; i++)
        if (!strcmp(s->kids[i].role, "transform") && s->kids[i].state != CHILD_EXITED &&
            s->kids[i].index + 1 > links)
            links = s->kids[i].index + 1;
    if (links == s->running.workers.transform && s->target[1] == s->running.workers.writer)
        return;
    s->running.workers.transform = links;
    s->running.workers.writer = s->target[1];
    lk_error err;
    if (lk_config_write(&s->running, s->worker_config, &err)) {
        LK_ERROR("cannot write the running configuration: %s", err.msg);
        return;
    }
    signal_reload(s, "writer"); /* the others read it when they (re)start */
}

/* Starts and scales in workers until each scaled role has its target:
   new ones take the lowest free index (and receive work once READY: they ask
   for it); surplus ones, the highest indices first, are told to retire
   (SIGUSR1), drain and exit; they are not restarted. */
static void scale_reconcile(sup *s)
{
    if (s->draining || s->done)
        return;
    for (int r = 0; r < 2; r++) {
        int live = scaled_live(s, r);
        if (live < s->target[r]) {
            for (int idx = 0; live < s->target[r] && s->nkids < MAX_CHILDREN; idx++) {
                if (find_role(s, SCALED[r], idx))
                    continue;
                add_child(s, SCALED[r], idx, SCALED_GROUP[r]);
                /* in start order: the table is shown and stopped by group */
                child nc = s->kids[s->nkids - 1];
                int at = s->nkids - 1;
                while (at > 0 && (s->kids[at - 1].group > nc.group ||
                                  (s->kids[at - 1].group == nc.group &&
                                   !strcmp(s->kids[at - 1].role, nc.role) &&
                                   s->kids[at - 1].index > nc.index))) {
                    s->kids[at] = s->kids[at - 1];
                    at--;
                }
                s->kids[at] = nc;
                follow_links(s); /* writers link to a new transform before it starts */
                spawn(s, &s->kids[at]);
                live++;
            }
        }
        while (live > s->target[r]) {
            child *c = NULL;
            for (int i = 0; i < s->nkids; i++) {
                child *k = &s->kids[i];
                if (!strcmp(k->role, SCALED[r]) && k->state != CHILD_RETIRING &&
                    k->state != CHILD_EXITED && (!c || k->index > c->index))
                    c = k;
            }
            if (!c)
                break;
            live--;
            if (c->pid <= 0) {
                /* not running (restarting): nothing on its way to it */
                LK_INFO("worker role=%s index=%d scaled in (it was not running)", c->role,
                        c->index);
                remove_child(s, c);
                continue;
            }
            LK_INFO("scaling in worker role=%s index=%d pid=%d: it drains and exits", c->role,
                    c->index, (int)c->pid);
            kill(c->pid, SIGUSR1);
            c->state = CHILD_RETIRING;
            c->retire_deadline_ms = lk_time_mono_ms() + s->cfg->stop_timeout_ms + 5000;
        }
    }
    follow_links(s);
}

/* The upper bound of workers.transform: auto. */
static int max_transform(const sup *s)
{
    int m = s->running.workers.max_transform;
    return m > 0 ? m : lk_autoscale_cores();
}

/* Sets a target; who: "scale", "SIGHUP", "auto" (for the log). */
static void set_target(sup *s, int r, int n, const char *who, const char *why)
{
    if (n == s->target[r])
        return;
    LK_INFO("%s: %s %d -> %d%s%s", who, SCALED[r], s->target[r], n, why && *why ? ": " : "",
            why ? why : "");
    s->target[r] = n;
    if (r == 0 && s->auto_)
        lk_autoscale_changed(s->auto_, lk_time_mono_ms());
}

/* workers.transform: auto — once a second, from the heartbeats. */
static void autoscale_tick(sup *s)
{
    int64_t now = lk_time_mono_ms();
    if (!s->autoscale || s->draining || s->done || now < s->auto_next_ms)
        return;
    s->auto_next_ms = now + 1000;
    lk_autoscale_sample smp = {now, scaled_ready(s, 0), s->busy_gone_us, 0,
                               lk_autoscale_host_idle()};
    if (smp.transforms != s->target[0] || scaled_live(s, 0) != s->target[0])
        return; /* a change is under way */
    for (int i = 0; i < s->nkids; i++) {
        if (!strcmp(s->kids[i].role, "transform"))
            smp.busy_us += lk_msg_event_get_int(&s->kids[i].progress, "busy_us", 0);
        if (!strcmp(s->kids[i].role, "ingest"))
            smp.send_wait_us = lk_msg_event_get_int(&s->kids[i].progress, "send_wait_us", 0);
    }
    char why[256];
    int d = lk_autoscale_decide(s->auto_, &smp, max_transform(s), why, sizeof why);
    if (d)
        set_target(s, 0, s->target[0] + d, "autoscale", why);
    else if (why[0])
        LK_INFO("autoscale: holding transform at %d: %s", s->target[0], why);
}

/* The "scale" control request: transform=N|auto writer=N. */
static void handle_scale(sup *s, const lk_msg_event *e, lk_buf *reply)
{
    int64_t t = lk_msg_event_get_int(e, "transform", -1), w = lk_msg_event_get_int(e, "writer", -1);
    const char *ta = lk_msg_event_get_str(e, "transform");
    if (!s->started) {
        lk_buf_puts(reply, "{\"error\":\"the pipeline is starting: try again when it runs\"}");
        return;
    }
    if (s->draining || s->done) {
        lk_buf_puts(reply, "{\"error\":\"the pipeline is stopping\"}");
        return;
    }
    if ((t != -1 && (t < 1 || t > 64)) || (w != -1 && (w < 1 || w > 64))) {
        lk_buf_puts(reply, "{\"error\":\"counts are 1 to 64\"}");
        return;
    }
    if (ta && !strcmp(ta, "auto")) {
        if (!s->autoscale)
            LK_INFO("scale: transform count is now automatic (1 to %d)", max_transform(s));
        s->autoscale = 1;
        if (!s->auto_)
            s->auto_ = lk_autoscale_new();
    } else if (t > 0) {
        if (s->autoscale)
            LK_INFO("scale: transform count set by hand: automatic scaling is off");
        s->autoscale = 0;
        set_target(s, 0, (int)t, "scale", "asked by the CLI");
    }
    if (w > 0)
        set_target(s, 1, (int)w, "scale", "asked by the CLI");
    scale_reconcile(s);
    lk_buf_printf(reply, "{\"ok\":true,\"transform\":%d,\"writer\":%d,\"auto\":%s}", s->target[0],
                  s->target[1], s->autoscale ? "true" : "false");
}

/* status: {"transform":{"target":..,"actual":..,"auto":..,"max":..},"writer":{..}} */
static void scale_json(sup *s, lk_buf *b)
{
    lk_buf_printf(b, ",\"scale\":{\"transform\":{\"target\":%d,\"actual\":%d,\"auto\":%s,\"max\":%d},"
                     "\"writer\":{\"target\":%d,\"actual\":%d}}",
                  s->target[0], scaled_ready(s, 0), s->autoscale ? "true" : "false",
                  max_transform(s), s->target[1], scaled_ready(s, 1));
}

/* The monitor's aggregate (rows, corrupt, batches, errors) as JSON, or null
   when it does not answer within 300 ms (status never hangs on it). */
static void monitor_stats(sup *s, lk_buf *b)
{
    char ep[1200];
    lk_endpoint(s->run_dir, LK_EP_MONITOR_REP, -1, ep, sizeof ep);
    zsock_t *req = zsock_new(ZMQ_REQ);
    zsock_set_linger(req, 0);
    zsock_set_rcvtimeo(req, 300);
    zsock_set_sndtimeo(req, 300);
    int ok = 0;
    lk_msg_event e;
    lk_msg_event_init(&e, "stats");
    lk_buf q = LK_BUF_INIT;
    lk_msg_event_encode(&e, &q);
    if (req && zsock_connect(req, "%s", ep) == 0 &&
        zmq_send(zsock_resolve(req), q.data, q.len, 0) == (int)q.len) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, zsock_resolve(req), 0) >= 0 && zmq_msg_size(&msg) > 0) {
            lk_buf_append(b, zmq_msg_data(&msg), zmq_msg_size(&msg));
            ok = 1;
        }
        zmq_msg_close(&msg);
    }
    zsock_destroy(&req);
    lk_buf_free(&q);
    if (!ok)
        lk_buf_puts(b, "null");
}

/* Status JSON: {"pipeline":..,"workers":[..],"monitor":{..},"tables":[..]}.
   with_monitor 0: "monitor":null (the monitor asks, and adds its own part). */
static void status_json(sup *s, lk_buf *b, int with_monitor)
{
    lk_buf_puts(b, "{\"pipeline\":");
    lk_buf_json_string(b, s->cfg->pipeline, strlen(s->cfg->pipeline));
    int paused = 0;
    for (int i = 0; i < s->nkids; i++) {
        paused += paused_reason(&s->kids[i]) != NULL;
    }
    lk_buf_printf(b, ",\"supervisor_pid\":%d,\"uptime_ms\":%lld,\"trigger\":\"%s\",\"state\":\"%s\"",
                  (int)s->pid, (long long)(lk_time_mono_ms() - s->started_ms),
                  lk_config_trigger_name(s->cfg->trigger),
                  s->done       ? "stopping"
                  : s->draining ? "draining"
                  : paused      ? "paused"
                                : "running");
    if (s->cfg->trigger == LK_TRIGGER_PROCESSING_TIME || s->cfg->trigger == LK_TRIGGER_FRESHNESS) {
        /* the next micro-batch: ingest publishes its next tick (wall clock)
           and, under freshness, the interval it chose */
        child *ci = find_role(s, "ingest", 0);
        int64_t iv = s->cfg->processing_time_ms;
        if (s->cfg->trigger == LK_TRIGGER_FRESHNESS) {
            iv = ci ? lk_msg_event_get_int(&ci->progress, "trigger_interval_ms", -1) : -1;
            lk_buf_printf(b, ",\"freshness_ms\":%lld", (long long)s->cfg->freshness_ms);
        }
        lk_buf_printf(b, ",\"trigger_interval_ms\":%lld,\"next_trigger_at_ms\":%lld",
                      (long long)iv,
                      (long long)(ci ? lk_msg_event_get_int(&ci->progress, "next_trigger_at_ms", 0)
                                     : 0));
    }
    lk_buf_puts(b, ",\"paused\":[");
    for (int i = 0, k = 0; i < s->nkids; i++) {
        const char *why = paused_reason(&s->kids[i]);
        if (!why)
            continue;
        lk_buf_printf(b, "%s{\"role\":\"%s\",\"index\":%d,\"reason\":", k++ ? "," : "",
                      s->kids[i].role, s->kids[i].index);
        lk_buf_json_string(b, why, strlen(why));
        lk_buf_putc(b, '}');
    }
    lk_buf_putc(b, ']');
    scale_json(s, b);
    lk_buf_puts(b, ",\"workers\":[");
    for (int i = 0; i < s->nkids; i++) {
        child *c = &s->kids[i];
        lk_buf_printf(b, "%s{\"role\":\"%s\",\"index\":%d,\"pid\":%d,\"state\":\"%s\",\"restarts\":%d",
                      i ? "," : "", c->role, c->index, (int)c->pid, state_name(c->state),
                      c->restarts);
        if (c->last_exit[0]) {
            lk_buf_puts(b, ",\"last_exit\":");
            lk_buf_json_string(b, c->last_exit, strlen(c->last_exit));
            lk_buf_puts(b, ",\"deaths\":");
            lk_restart_tally_json(c->policy, b);
        }
        lk_buf_puts(b, ",\"progress\":{\"_\":0");
        json_kv_counters(b, &c->progress);
        lk_buf_puts(b, "}}");
    }
    lk_buf_puts(b, "],\"monitor\":");
    if (with_monitor)
        monitor_stats(s, b);
    else
        lk_buf_puts(b, "null");
    lk_buf_puts(b, ",\"tables\":[");
    child *cm = find_role(s, "committer", 0);
    const char *tables[LK_TABLES_MAX];
    int ntables = lk_tables_names(s->cfg, tables);
    for (int t = 0; t < ntables; t++) {
        char key[64];
        snprintf(key, sizeof key, "%s.version", tables[t]);
        int64_t v = cm ? lk_msg_event_get_int(&cm->progress, key, -1) : -1;
        snprintf(key, sizeof key, "%s.rows", tables[t]);
        int64_t rows = cm ? lk_msg_event_get_int(&cm->progress, key, 0) : 0;
        char path[2048];
        lk_config_table_path(s->cfg, tables[t], path, sizeof path);
        lk_buf_printf(b, "%s{\"name\":\"%s\",\"version\":%lld,\"rows\":%lld,\"path\":", t ? "," : "",
                      tables[t], (long long)v, (long long)rows);
        lk_buf_json_string(b, path, strlen(path));
        lk_buf_putc(b, '}');
    }
    lk_buf_puts(b, "]}");
}

static void reload(sup *s, lk_buf *reply);

static void handle_control(sup *s)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, zsock_resolve(s->control), ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        return;
    }
    lk_msg_event e;
    lk_error err;
    lk_buf reply = LK_BUF_INIT;
    if (lk_msg_event_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &e, &err)) {
        lk_buf_printf(&reply, "{\"error\":\"malformed request\"}");
    } else if (!strcmp(e.name, "status")) {
        status_json(s, &reply, lk_msg_event_get_int(&e, "monitor", 1) != 0);
    } else if (!strcmp(e.name, "stop")) {
        if (!s->draining) {
            LK_INFO("stop requested by the CLI: draining");
            s->draining = 1;
            s->drain_deadline_ms = lk_time_mono_ms() + s->cfg->stop_timeout_ms;
            send_ingest(s, "stop", "cli");
        }
        lk_buf_printf(&reply, "{\"ok\":true,\"supervisor_pid\":%d}", (int)s->pid);
    } else if (!strcmp(e.name, "scale")) {
        handle_scale(s, &e, &reply);
    } else if (!strcmp(e.name, "reload")) {
        reload(s, &reply);
    } else {
        lk_buf_printf(&reply, "{\"error\":\"unknown command\"}");
    }
    zmq_msg_close(&msg);
    zmq_send(zsock_resolve(s->control), reply.data, reply.len, 0);
    lk_buf_free(&reply);
}

static void poll_once(sup *s, int timeout_ms)
{
    zmq_pollitem_t items[3] = {{zsock_resolve(s->events), 0, ZMQ_POLLIN, 0},
                               {zsock_resolve(s->control), 0, ZMQ_POLLIN, 0},
                               {NULL, g_chld_pipe[0], ZMQ_POLLIN, 0}};
    int rc = zmq_poll(items, g_chld_pipe[0] >= 0 ? 3 : 2, timeout_ms);
    if (rc <= 0)
        return;
    if (g_chld_pipe[0] >= 0 && (items[2].revents & ZMQ_POLLIN)) {
        char drain[64];
        while (read(g_chld_pipe[0], drain, sizeof drain) > 0) {
        }
    }
    if (items[0].revents & ZMQ_POLLIN) {
        for (int k = 0; k < 1000; k++) {
            zmq_msg_t msg;
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, zsock_resolve(s->events), ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&msg);
                break;
            }
            handle_event(s, zmq_msg_data(&msg), zmq_msg_size(&msg));
            zmq_msg_close(&msg);
        }
    }
    if (items[1].revents & ZMQ_POLLIN)
        handle_control(s);
}

/* Starts one start-order group and waits until each of its workers is READY. */
static int start_group(sup *s, int group)
{
    for (int i = 0; i < s->nkids; i++)
        if (s->kids[i].group == group && s->kids[i].state == CHILD_NEW && spawn(s, &s->kids[i]))
            return -1;
    int64_t deadline = lk_time_mono_ms() + READY_TIMEOUT_MS;
    for (;;) {
        int pending = 0;
        for (int i = 0; i < s->nkids; i++)
            pending += s->kids[i].group == group && s->kids[i].state != CHILD_RUNNING;
        if (!pending)
            return 0;
        if (g_sig_stop || s->done)
            return -1;
        if (lk_time_mono_ms() > deadline) {
            LK_ERROR("workers of start group %d not ready after %d ms", group, READY_TIMEOUT_MS);
            return -1;
        }
        poll_once(s, 20);
        reap(s, 0);
        restart_due(s);
    }
}

static int alive(sup *s, int group)
{
    int n = 0;
    for (int i = 0; i < s->nkids; i++)
        n += (group < 0 || s->kids[i].group == group) && s->kids[i].pid > 0;
    return n;
}

/* Stops the workers in reverse start order: SIGTERM, wait, SIGKILL. */
static void shutdown_all(sup *s, int64_t deadline_ms)
{
    for (int group = 4; group >= 0; group--) {
        for (int i = 0; i < s->nkids; i++) {
            child *c = &s->kids[i];
            if (c->group != group)
                continue;
            if (c->pid > 0) {
                kill(c->pid, SIGTERM);
                c->state = CHILD_STOPPING;
            } else {
                c->state = CHILD_EXITED;
            }
        }
        while (alive(s, group) && lk_time_mono_ms() < deadline_ms) {
            poll_once(s, 20);
            reap(s, 1);
        }
    }
    if (alive(s, -1)) {
        LK_WARN("workers still alive after the stop timeout: SIGKILL (nothing is lost: "
                "uncommitted batches replay on the next start)");
        for (int i = 0; i < s->nkids; i++)
            if (s->kids[i].pid > 0)
                kill(s->kids[i].pid, SIGKILL);
        while (alive(s, -1)) {
            usleep(10000);
            reap(s, 1);
        }
    }
}

/* SIGHUP and `lakesupd reload`: re-reads the user's file; applies the keys
   that can change live (and tells the workers, which re-read the running
   configuration), and names every other changed key as needing a restart.
   workers.* changed in the file since it was last read are new targets, as
   `lakesupd scale` sets them (a scale by hand is kept while the file's
   counts do not change). The outcome goes to reply as JSON when asked. */
static void reload(sup *s, lk_buf *reply)
{
    if (!s->config_file[0]) {
        LK_INFO("SIGHUP: running on built-in defaults (no -c file): nothing to reload");
        if (reply)
            lk_buf_puts(reply, "{\"ok\":true,\"applied\":\"\",\"refused\":\"\","
                               "\"note\":\"no configuration file\"}");
        return;
    }
    lk_config fresh;
    lk_error err;
    if (lk_config_load(s->config_file, &fresh, &err)) {
        LK_ERROR("SIGHUP: %s; the running configuration is kept", err.msg);
        if (reply) {
            lk_buf_puts(reply, "{\"error\":");
            lk_buf_json_string(reply, err.msg, strlen(err.msg));
            lk_buf_putc(reply, '}');
        }
        return;
    }
    char scaled[256] = "";
    if (fresh.workers.transform_auto != s->file_workers.transform_auto ||
        (!fresh.workers.transform_auto && fresh.workers.transform != s->file_workers.transform)) {
        if (fresh.workers.transform_auto) {
            s->autoscale = 1;
            if (!s->auto_)
                s->auto_ = lk_autoscale_new();
            LK_INFO("SIGHUP: transform count is now automatic");
        } else {
            s->autoscale = 0;
            set_target(s, 0, fresh.workers.transform, "SIGHUP", "workers.transform in the file");
        }
        snprintf(scaled, sizeof scaled, "workers.transform");
    }
    if (fresh.workers.writer != s->file_workers.writer) {
        set_target(s, 1, fresh.workers.writer, "SIGHUP", "workers.writer in the file");
        size_t n = strlen(scaled);
        snprintf(scaled + n, sizeof scaled - n, "%sworkers.writer", n ? ", " : "");
    }
    s->file_workers.transform = fresh.workers.transform;
    s->file_workers.writer = fresh.workers.writer;
    s->file_workers.transform_auto = fresh.workers.transform_auto;
    /* the counts of the running configuration are the tree's (follow_links) */
    fresh.workers.transform = s->running.workers.transform;
    fresh.workers.writer = s->running.workers.writer;
    fresh.workers.transform_auto = s->running.workers.transform_auto;
    char applied[512], refused[1024];
    int n = lk_config_apply_live(&s->running, &fresh, applied, sizeof applied, refused,
                                 sizeof refused);
    if (refused[0])
        LK_WARN("SIGHUP: %s changed in %s but cannot change while the pipeline runs (restart "
                "to apply): not applied",
                refused, s->config_file);
    if (reply) {
        lk_buf_puts(reply, "{\"ok\":true,\"applied\":");
        char all[800];
        snprintf(all, sizeof all, "%s%s%s", applied, applied[0] && scaled[0] ? ", " : "", scaled);
        lk_buf_json_string(reply, all, strlen(all));
        lk_buf_puts(reply, ",\"refused\":");
        lk_buf_json_string(reply, refused, strlen(refused));
        lk_buf_putc(reply, '}');
    }
    if (scaled[0])
        scale_reconcile(s);
    if (n == 0) {
        if (!scaled[0])
            LK_INFO("SIGHUP: no setting that can change live has changed");
        return;
    }
    lk_log_configure(s->running.log_level, s->running.log_format);
    if (lk_config_write(&s->running, s->worker_config, &err)) {
        LK_ERROR("SIGHUP: %s; workers keep their settings", err.msg);
        return;
    }
    signal_reload(s, NULL);
    LK_INFO("SIGHUP: reloaded %s", applied);
}

/* One line for systemd's STATUS= (shown by systemctl status): what runs,
   the committed rows/s over the last 5 s or more, the batches in flight
   (ingest's backlog) and the last committed batch. */
static void notify_status(sup *s)
{
    if (!lk_notify_enabled(s->notify))
        return;
    child *cm = find_role(s, "committer", 0), *in = find_role(s, "ingest", 0);
    int64_t now = lk_time_mono_ms();
    int64_t rows = cm ? lk_msg_event_get_int(&cm->progress, "rows_in", 0) : 0;
    if (!s->rate.at_ms || rows < s->rate.rows) { /* first sample, or a restarted committer */
        s->rate.rows = rows;
        s->rate.at_ms = now;
    } else if (now - s->rate.at_ms >= 5000) {
        s->rate.rate = (double)(rows - s->rate.rows) * 1000.0 / (double)(now - s->rate.at_ms);
        s->rate.rows = rows;
        s->rate.at_ms = now;
    }
    char line[256];
    snprintf(line, sizeof line, "running: %d workers, %.0f rows/s, %lld batch(es) in flight, last batch %lld",
             s->nkids, s->rate.rate, (long long)(in ? lk_msg_event_get_int(&in->progress, "inflight", 0) : 0),
             (long long)(cm ? lk_msg_event_get_int(&cm->progress, "last_batch", -1) : -1));
    for (int i = 0; i < s->nkids; i++) {
        const char *why = paused_reason(&s->kids[i]);
        if (why) {
            snprintf(line, sizeof line, "paused: %s[%d]: %.200s", s->kids[i].role, s->kids[i].index,
                     why);
            break;
        }
        if (s->kids[i].state == CHILD_DOWN)
            snprintf(line, sizeof line, "restarting %s[%d] after %s", s->kids[i].role,
                     s->kids[i].index, s->kids[i].last_exit);
    }
    lk_notify_status(s->notify, line);
}

static int self_exe(char *out, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", out, cap - 1);
    if (n <= 0)
        return -1;
    out[n] = '\0';
    return 0;
}

int lk_supervisor_run(const lk_config *cfg)
{
    lk_log_init("supervisor", 0);
    lk_log_configure(cfg->log_level, cfg->log_format);
    lk_error err;
    /* zero-initialised once (run once per process); no memset: writing
       zeros would make every page of MAX_CHILDREN slots (2.4 MiB) resident */
    static sup S;
    sup *s = &S;
    s->running = *cfg;
    s->cfg = &s->running;
    snprintf(s->config_file, sizeof s->config_file, "%s", cfg->file);
    s->pid = getpid();
    s->started_ms = lk_time_mono_ms();
    s->notify = lk_notify_new();
    srand((unsigned)(s->pid ^ lk_time_now_us()));
    if (self_exe(s->exe, sizeof s->exe)) {
        LK_ERROR("cannot find my own executable: %s", strerror(errno));
        return LK_EXIT_FAILURE;
    }

    pid_t holder = 0;
    int lock_fd = lk_rundir_lock(cfg, &holder, &err);
    if (lock_fd < 0) {
        LK_ERROR("%s", err.msg);
        return lock_fd == LK_ECONFLICT ? LK_EXIT_FAILURE : LK_EXIT_TEMPFAIL;
    }
    if (lk_rundir_path(cfg, 1, s->run_dir, sizeof s->run_dir, &err) ||
        lk_rundir_prepare(s->run_dir, &err)) {
        LK_ERROR("%s", err.msg);
        return LK_EXIT_TEMPFAIL;
    }
    /* a missing source or warehouse directory is created, and said so */
    const char *dirs[] = {cfg->source_path, cfg->warehouse_path};
    const char *keys[] = {"source_path", "warehouse_path"};
    for (int i = 0; i < 2; i++) {
        if (!lk_fs_exists(dirs[i]))
            LK_INFO("creating missing directory %s", dirs[i]);
        if (lk_fs_mkdirs(dirs[i], &err)) {
            LK_ERROR("configuration error: key '%s': %s", keys[i], err.msg);
            return LK_EXIT_CONFIG;
        }
    }
    /* workers read the running configuration, not the user's file: a file
       edited while the pipeline runs changes nothing until SIGHUP (live
       keys) or a restart (the rest) */
    snprintf(s->worker_config, sizeof s->worker_config, "%s/config.yml", s->run_dir);
    if (lk_config_write(s->cfg, s->worker_config, &err)) {
        LK_ERROR("%s", err.msg);
        return LK_EXIT_TEMPFAIL;
    }
    /* state.db is created (and migrated) once here, before any worker */
    char state_path[2048];
    lk_config_state_path(cfg, state_path, sizeof state_path);
    lk_state *st = NULL;
    if (lk_state_open(state_path, &st, &err)) {
        if (err.code == LK_ESTATE) {
            /* not temporary: a restart would fail the same way */
            LK_ERROR("%s; `lakesupd fsck%s%s` explains what it finds, `lakesupd fsck --repair` "
                     "rebuilds state.db from the tables",
                     err.msg, cfg->file[0] ? " -c " : "", cfg->file);
            return LK_EXIT_FAILURE;
        }
        LK_ERROR("%s", err.msg);
        return LK_EXIT_TEMPFAIL;
    }
    /* the transforms compile before any worker starts: against the stored
       raw_events schema (or the declared one); on a first start, before
       inference, every expression parses and names known functions */
    if (check_transforms(cfg, st, &err)) {
        lk_state_close(&st);
        LK_ERROR("configuration error: %s", err.msg);
        return LK_EXIT_CONFIG;
    }
    warn_hints_not_applied(cfg, st);
    lk_state_close(&st);

    zsys_handler_set(NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    if (pipe2(g_chld_pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
        sa.sa_handler = on_chld;
        sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
        sigaction(SIGCHLD, &sa, NULL);
        sa.sa_flags = 0;
    }
    signal(SIGPIPE, SIG_IGN);
    /* orphans of our workers come back to us, not to init */
    prctl(PR_SET_CHILD_SUBREAPER, 1);

    char ep[1200];
    lk_endpoint(s->run_dir, LK_EP_SUPERVISOR, -1, ep, sizeof ep);
    s->events = zsock_new(ZMQ_PULL);
    zsock_set_rcvhwm(s->events, 10000);
    if (!s->events || zsock_bind(s->events, "%s", ep) < 0) {
        LK_ERROR("cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
        return LK_EXIT_TEMPFAIL;
    }
    lk_endpoint(s->run_dir, LK_EP_CONTROL, -1, ep, sizeof ep);
    s->control = zsock_new(ZMQ_REP);
    if (!s->control || zsock_bind(s->control, "%s", ep) < 0) {
        LK_ERROR("cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
        return LK_EXIT_TEMPFAIL;
    }
    lk_endpoint(s->run_dir, LK_EP_INGEST, -1, ep, sizeof ep);
    s->ingest = zsock_new(ZMQ_PUSH);
    zsock_set_linger(s->ingest, 0);
    /* ingest binds after we connect: retry after 5 ms, not ZeroMQ's 100 (its "go") */
    zsock_set_reconnect_ivl(s->ingest, 5);
    zsock_set_reconnect_ivl_max(s->ingest, 100);
    zsock_connect(s->ingest, "%s", ep);

    s->target[0] = cfg->workers.transform;
    s->target[1] = cfg->workers.writer;
    s->autoscale = cfg->workers.transform_auto;
    s->file_workers.transform = cfg->workers.transform;
    s->file_workers.writer = cfg->workers.writer;
    s->file_workers.transform_auto = cfg->workers.transform_auto;
    if (s->autoscale) {
        s->auto_ = lk_autoscale_new();
        LK_INFO("workers.transform: auto — from %d up to %d transform(s)", cfg->workers.transform,
                max_transform(s));
    }
    add_child(s, "monitor", 0, 0);
    add_child(s, "committer", 0, 1);
    for (int i = 0; i < cfg->workers.writer; i++)
        add_child(s, "writer", i, 2);
    for (int i = 0; i < cfg->workers.transform; i++)
        add_child(s, "transform", i, 3);
    add_child(s, "ingest", 0, 4);
    /* the gateway of remote transforms (workers.remote): not a scaled role */
    if (cfg->workers.remote.bind[0])
        add_child(s, "remote", 0, 4);

    char src[2048];
    snprintf(src, sizeof src, "%s", cfg->source_path);
    LK_INFO("starting pipeline=%s trigger=%s source=%s checkpoint=%s warehouse=%s transforms=%d "
            "writers=%d",
            cfg->pipeline, lk_config_trigger_name(cfg->trigger), src, cfg->checkpoint_path,
            cfg->warehouse_path, cfg->workers.transform, cfg->workers.writer);
    int64_t t0 = lk_time_mono_ms();
    for (int g = 0; g <= 4; g++) {
        /* once the monitor is up, ingest starts too: it lists the source and infers the first
           schema while the others start, and plans nothing before "go" below (it stays in the
           last group for the order of stops and of the worker table) */
        child *ing = g == 0 ? find_role(s, "ingest", 0) : NULL;
        if (start_group(s, g) || (ing && ing->state == CHILD_NEW && spawn(s, ing))) {
            shutdown_all(s, lk_time_mono_ms() + 5000);
            /* a stop asked for during the start (a signal, `lakesupd stop`) is a clean exit; a
               configuration error found meanwhile (ingest's first schema and the transforms)
               is exit 100, as once the pipeline runs */
            return g_sig_stop || (s->draining && !s->failed) ? LK_EXIT_OK
                   : s->config_error                         ? LK_EXIT_CONFIG
                                                             : LK_EXIT_FAILURE;
        }
    }
    LK_INFO("all %d workers ready in %lld ms", s->nkids, (long long)(lk_time_mono_ms() - t0));
    send_ingest(s, "go", NULL);
    s->started = 1;
    char ready[160];
    snprintf(ready, sizeof ready, "running: %d workers ready in %lld ms", s->nkids,
             (long long)(lk_time_mono_ms() - t0));
    lk_notify_ready(s->notify, ready);

    int stopping_said = 0;
    while (!s->done) {
        if (g_sig_stop && !s->draining) {
            LK_INFO("signal received: draining (a second signal stops at once)");
            s->draining = 1;
            s->drain_deadline_ms = lk_time_mono_ms() + s->cfg->stop_timeout_ms;
            send_ingest(s, "stop", "signal");
        }
        if (g_sig_stop > 1 || (s->draining && lk_time_mono_ms() > s->drain_deadline_ms)) {
            LK_WARN("stopping without waiting for the drain");
            break;
        }
        if (g_sig_hup) {
            g_sig_hup = 0;
            reload(s, NULL);
        }
        poll_once(s, 50);
        reap(s, 0);
        if (!s->done) {
            check_liveness(s);
            restart_due(s);
            autoscale_tick(s);
            scale_reconcile(s);
        }
        if (s->draining && !stopping_said) {
            lk_notify_stopping(s->notify, s->failed ? "draining after a failure" : "draining");
            stopping_said = 1;
        } else if (!s->draining) {
            notify_status(s);
        }
        lk_notify_watchdog(s->notify, lk_time_mono_ms());
    }
    if (!stopping_said)
        lk_notify_stopping(s->notify, s->failed ? "stopping after a failure" : "stopping");
    shutdown_all(s, lk_time_mono_ms() + s->cfg->stop_timeout_ms);
    zsock_destroy(&s->ingest);
    zsock_destroy(&s->control);
    zsock_destroy(&s->events);
    lk_buf_free(&s->buf);
    for (int i = 0; i < s->nkids; i++)
        lk_restart_destroy(&s->kids[i].policy);
    lk_notify_destroy(&s->notify);
    lk_autoscale_destroy(&s->auto_);
    LK_INFO("stopped %s", s->failed ? "after a failure" : "cleanly");
    close(lock_fd);
    return s->config_error ? LK_EXIT_CONFIG : s->failed ? LK_EXIT_FAILURE : LK_EXIT_OK;
}
