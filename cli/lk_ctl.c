/* lk_ctl — control-socket client for status and stop; see lk_ctl.h. */
#include "lk_ctl.h"

#include <czmq.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "lk_endpoint.h"
#include "lk_json.h"
#include "lk_msg.h"
#include "lk_rundir.h"
#include "lk_exit.h"
#include "lk_time.h"

int lk_ctl_request(const lk_config *cfg, const char *command, lk_buf *reply, int timeout_ms,
                   lk_error *err)
{
    lk_msg_event e;
    lk_msg_event_init(&e, command);
    return lk_ctl_send(cfg, &e, reply, timeout_ms, err);
}

int lk_ctl_send(const lk_config *cfg, const lk_msg_event *e, lk_buf *reply, int timeout_ms,
                lk_error *err)
{
    pid_t holder = lk_rundir_lock_holder(cfg);
    if (!holder)
        return lk_error_set(err, -ECONNREFUSED, "lakesupd is not running on checkpoint_path '%s'",
                            cfg->checkpoint_path);
    char run_dir[1024], ep[1200];
    int rc = lk_rundir_path(cfg, 0, run_dir, sizeof run_dir, err);
    if (rc)
        return rc;
    lk_endpoint(run_dir, LK_EP_CONTROL, -1, ep, sizeof ep);
    zsys_handler_set(NULL);
    zsock_t *req = zsock_new(ZMQ_REQ);
    zsock_set_linger(req, 0);
    zsock_set_rcvtimeo(req, timeout_ms);
    zsock_set_sndtimeo(req, timeout_ms);
    if (zsock_connect(req, "%s", ep) != 0) {
        zsock_destroy(&req);
        return lk_error_set(err, -ECONNREFUSED, "cannot connect to %s", ep);
    }
    lk_buf b = LK_BUF_INIT;
    lk_msg_event_encode(e, &b);
    rc = 0;
    if (zmq_send(zsock_resolve(req), b.data, b.len, 0) < 0) {
        rc = lk_error_set(err, -errno, "cannot send to the supervisor (pid %d)", (int)holder);
    } else {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, zsock_resolve(req), 0) < 0)
            rc = lk_error_set(err, -ETIMEDOUT, "the supervisor (pid %d) did not answer in %d ms",
                              (int)holder, timeout_ms);
        else
            lk_buf_append(reply, zmq_msg_data(&msg), zmq_msg_size(&msg));
        zmq_msg_close(&msg);
    }
    lk_buf_free(&b);
    zsock_destroy(&req);
    return rc;
}

static long long geti(yajl_val v, const char *key)
{
    yajl_val x = lk_json_get(v, key);
    return x && YAJL_IS_INTEGER(x) ? YAJL_GET_INTEGER(x) : 0;
}

static const char *gets_(yajl_val v, const char *key)
{
    yajl_val x = lk_json_get(v, key);
    return x && YAJL_IS_STRING(x) ? YAJL_GET_STRING(x) : "";
}

static double getd(yajl_val v, const char *key, double dflt)
{
    yajl_val x = lk_json_get(v, key);
    return x && YAJL_IS_NUMBER(x) ? YAJL_GET_DOUBLE(x) : dflt;
}

static void fmt_secs(double s, char *out, size_t cap)
{
    if (s < 0 || s != s)
        snprintf(out, cap, "-");
    else if (s < 1)
        snprintf(out, cap, "%.0f ms", s * 1000);
    else if (s < 120)
        snprintf(out, cap, "%.1f s", s);
    else
        snprintf(out, cap, "%.1f min", s / 60);
}

/* The text of `status` (and of each `status --watch` screen) from the status JSON. */
static void render(yajl_val root, int watch, lk_buf *o)
{
    lk_buf_printf(o, "pipeline %s  supervisor pid %lld  state %s  trigger %s  up %.1f s\n",
                  gets_(root, "pipeline"), geti(root, "supervisor_pid"), gets_(root, "state"),
                  gets_(root, "trigger"), (double)geti(root, "uptime_ms") / 1000.0);
    long long every = geti(root, "trigger_interval_ms"), next = geti(root, "next_trigger_at_ms");
    long long fresh = geti(root, "freshness_ms");
    if (fresh > 0)
        lk_buf_printf(o, "freshness objective %.3g s (input file close to commit); interval chosen "
                         "now %.3g s\n",
                      (double)fresh / 1000, every >= 0 ? (double)every / 1000 : 0.0);
    if (every > 0) {
        char at[64] = "not yet known";
        if (next > 0)
            lk_time_format_iso_ms(next * 1000, at, sizeof at);
        long long in_ms = next > 0 ? next - lk_time_now_us() / 1000 : 0;
        lk_buf_printf(o, "trigger every %.3g s; next micro-batch at %s (in %.1f s)\n",
                      (double)every / 1000, at, in_ms > 0 ? (double)in_ms / 1000 : 0.0);
    }
    yajl_val sc = lk_json_get(root, "scale");
    if (sc && YAJL_IS_OBJECT(sc)) {
        yajl_val t = lk_json_get(sc, "transform"), w = lk_json_get(sc, "writer");
        yajl_val au = lk_json_get(t, "auto");
        char how[48] = "";
        if (au && YAJL_IS_TRUE(au))
            snprintf(how, sizeof how, " (auto, at most %lld)", geti(t, "max"));
        lk_buf_printf(o, "workers  transform %lld of %lld running%s  writer %lld of %lld running\n",
                      geti(t, "actual"), geti(t, "target"), how, geti(w, "actual"),
                      geti(w, "target"));
    }
    /* transforms of other hosts (workers.remote): the gateway's counters */
    yajl_val all = lk_json_get(root, "workers");
    for (size_t i = 0; all && YAJL_IS_ARRAY(all) && i < all->u.array.len; i++) {
        yajl_val w = all->u.array.values[i];
        if (strcmp(gets_(w, "role"), "remote"))
            continue;
        yajl_val p = lk_json_get(w, "progress");
        const char *list = gets_(p, "hosts");
        lk_buf_printf(o, "remote   %lld transform(s) on %lld host(s)%s%s (not counted above)\n",
                      geti(p, "remote_transforms"), geti(p, "remote_hosts"), *list ? ": " : "",
                      list);
    }
    yajl_val mon = lk_json_get(root, "monitor");
    if (watch && mon && YAJL_IS_OBJECT(mon)) {
        yajl_val bl = lk_json_get(mon, "backlog");
        char p50[32], p99[32], age[32], lag[32], last_batch[32] = "-";
        if (lk_json_get(mon, "last_batch"))
            snprintf(last_batch, sizeof last_batch, "%lld", geti(mon, "last_batch"));
        fmt_secs(getd(mon, "latency_p50_seconds", -1), p50, sizeof p50);
        fmt_secs(getd(mon, "latency_p99_seconds", -1), p99, sizeof p99);
        fmt_secs(getd(bl, "seconds", -1), age, sizeof age);
        fmt_secs(getd(mon, "watermark_lag_seconds", -1), lag, sizeof lag);
        lk_buf_printf(o,
                      "\nrate     input %.1f rows/s  processed %.1f rows/s  batches %lld  last batch "
                      "%s\n"
                      "backlog  %lld files  %lld bytes  %lld batches  oldest %s  kafka %lld records\n"
                      "latency  p50 %s  p99 %s (input file closed -> commit)\n"
                      "watermark %s  lag %s\n",
                      getd(mon, "input_rows_per_second", 0), getd(mon, "processed_rows_per_second", 0),
                      geti(mon, "batches"), last_batch,
                      geti(bl, "files"), geti(bl, "bytes"), geti(bl, "batches"), age,
                      geti(bl, "records"), p50, p99,
                      *gets_(mon, "watermark") ? gets_(mon, "watermark") : "-", lag);
    }
    lk_buf_printf(o, "\n%-10s %5s %8s %-11s %8s %12s %12s %8s\n", "ROLE", "INDEX", "PID", "STATE",
                  "RESTARTS", "ROWS_IN", "ROWS_OUT", "BATCHES");
    yajl_val workers = lk_json_get(root, "workers");
    for (size_t i = 0; workers && YAJL_IS_ARRAY(workers) && i < workers->u.array.len; i++) {
        yajl_val w = workers->u.array.values[i];
        yajl_val p = lk_json_get(w, "progress");
        lk_buf_printf(o, "%-10s %5lld %8lld %-11s %8lld %12lld %12lld %8lld\n", gets_(w, "role"),
                      geti(w, "index"), geti(w, "pid"), gets_(w, "state"), geti(w, "restarts"),
                      geti(p, "rows_in"), geti(p, "rows_out"), geti(p, "batches"));
    }
    yajl_val paused = lk_json_get(root, "paused");
    for (size_t i = 0; paused && YAJL_IS_ARRAY(paused) && i < paused->u.array.len; i++) {
        yajl_val pz = paused->u.array.values[i];
        lk_buf_printf(o, "%sPAUSED %s[%lld]: %s\n", i ? "" : "\n", gets_(pz, "role"),
                      geti(pz, "index"), gets_(pz, "reason"));
    }
    if (mon && YAJL_IS_OBJECT(mon)) {
        lk_buf_printf(o, "\nmonitor: %lld rows committed, %lld corrupt, %lld rescued, %lld batches, "
                         "%lld errors%s%s\n",
                      geti(mon, "rows_in"), geti(mon, "corrupt"), geti(mon, "rescued"),
                      geti(mon, "batches"), geti(mon, "errors"), *gets_(mon, "http") ? ", http://" : "",
                      gets_(mon, "http"));
        yajl_val al = lk_json_get(mon, "alerts");
        for (size_t i = 0; al && YAJL_IS_ARRAY(al) && i < al->u.array.len; i++) {
            yajl_val a = al->u.array.values[i];
            lk_buf_printf(o, "ALERT %s %s (%s): %s\n", gets_(a, "state"), gets_(a, "name"),
                          gets_(a, "severity"), gets_(a, "summary"));
        }
    }
    if (watch) {
        /* the last error any worker reported */
        const char *last = NULL, *who = NULL;
        long long idx = 0;
        for (size_t i = 0; workers && YAJL_IS_ARRAY(workers) && i < workers->u.array.len; i++) {
            yajl_val w = workers->u.array.values[i];
            const char *e = gets_(lk_json_get(w, "progress"), "last_error");
            if (*e) {
                last = e;
                who = gets_(w, "role");
                idx = geti(w, "index");
            }
        }
        if (last)
            lk_buf_printf(o, "\nlast error: %s[%lld] %s\n", who, idx, last);
        else
            lk_buf_puts(o, "\nlast error: none\n");
    }
    lk_buf_printf(o, "\n%-18s %8s %12s  %s\n", "TABLE", "VERSION", "ROWS", "PATH");
    yajl_val tables = lk_json_get(root, "tables");
    for (size_t i = 0; tables && YAJL_IS_ARRAY(tables) && i < tables->u.array.len; i++) {
        yajl_val t = tables->u.array.values[i];
        lk_buf_printf(o, "%-18s %8lld %12lld  %s\n", gets_(t, "name"), geti(t, "version"),
                      geti(t, "rows"), gets_(t, "path"));
    }
}

int lk_ctl_status(const lk_config *cfg, int json)
{
    lk_buf reply = LK_BUF_INIT;
    lk_error err;
    int rc = lk_ctl_request(cfg, "status", &reply, 5000, &err);
    if (rc) {
        if (json)
            printf("{\"running\":false,\"error\":\"%s\",\"workers\":[]}\n", err.msg);
        else
            fprintf(stderr, "lakesupd: %s\n", err.msg);
        lk_buf_free(&reply);
        return LK_EXIT_FAILURE;
    }
    if (json) {
        printf("%s\n", reply.data);
        lk_buf_free(&reply);
        return LK_EXIT_OK;
    }
    char ebuf[256];
    yajl_val root = yajl_tree_parse(reply.data, ebuf, sizeof ebuf);
    if (!root) {
        fprintf(stderr, "lakesupd: unreadable status reply: %s\n", ebuf);
        lk_buf_free(&reply);
        return LK_EXIT_FAILURE;
    }
    lk_buf out = LK_BUF_INIT;
    render(root, 0, &out);
    fputs(out.data, stdout);
    lk_buf_free(&out);
    yajl_tree_free(root);
    lk_buf_free(&reply);
    return LK_EXIT_OK;
}

static volatile sig_atomic_t g_watch_stop;

static void on_watch_signal(int sig)
{
    (void)sig;
    g_watch_stop = 1;
}

int lk_ctl_watch(const lk_config *cfg, double interval_s)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_watch_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int tty = isatty(1);
    lk_buf out = LK_BUF_INIT, reply = LK_BUF_INIT;
    while (!g_watch_stop) {
        lk_buf_reset(&out);
        lk_buf_reset(&reply);
        lk_error err;
        char now[64];
        lk_time_format_iso_ms(lk_time_now_us(), now, sizeof now);
        /* home and clear to the end of each line: a redraw in place that
           does not flicker, over SSH as on a console */
        if (tty)
            lk_buf_puts(&out, "\033[H");
        lk_buf_printf(&out, "lakesupd status --watch  every %.1f s  %s  (Ctrl-C to quit)\n\n",
                      interval_s, now);
        if (lk_ctl_request(cfg, "status", &reply, 5000, &err)) {
            lk_buf_printf(&out, "%s (retrying)\n", err.msg);
        } else {
            char ebuf[256];
            yajl_val root = yajl_tree_parse(reply.data, ebuf, sizeof ebuf);
            if (root)
                render(root, 1, &out);
            else
                lk_buf_printf(&out, "unreadable status reply: %s\n", ebuf);
            yajl_tree_free(root);
        }
        if (tty) {
            lk_buf scr = LK_BUF_INIT;
            for (const char *p = out.data; *p; p++) {
                if (*p == '\n')
                    lk_buf_puts(&scr, "\033[K");
                lk_buf_putc(&scr, *p);
            }
            lk_buf_puts(&scr, "\033[J");
            fwrite(scr.data, 1, scr.len, stdout);
            lk_buf_free(&scr);
        } else {
            fwrite(out.data, 1, out.len, stdout);
            fputs("\n", stdout);
        }
        fflush(stdout);
        for (int64_t end = lk_time_mono_ms() + (int64_t)(interval_s * 1000);
             !g_watch_stop && lk_time_mono_ms() < end;)
            usleep(20000);
    }
    lk_buf_free(&out);
    lk_buf_free(&reply);
    return LK_EXIT_OK;
}

int lk_ctl_stop(const lk_config *cfg, int timeout_ms)
{
    lk_buf reply = LK_BUF_INIT;
    lk_error err;
    pid_t pid = lk_rundir_lock_holder(cfg);
    int rc = lk_ctl_request(cfg, "stop", &reply, 5000, &err);
    lk_buf_free(&reply);
    if (rc) {
        fprintf(stderr, "lakesupd: %s\n", err.msg);
        return LK_EXIT_FAILURE;
    }
    int64_t deadline = lk_time_mono_ms() + timeout_ms;
    while (lk_rundir_lock_holder(cfg) && lk_time_mono_ms() < deadline)
        usleep(20000);
    if (lk_rundir_lock_holder(cfg)) {
        fprintf(stderr, "lakesupd: the supervisor (pid %d) is still draining after %d ms\n",
                (int)pid, timeout_ms);
        return LK_EXIT_FAILURE;
    }
    printf("lakesupd (pid %d) stopped\n", (int)pid);
    return LK_EXIT_OK;
}

/* The status JSON's counts: 1 when every scaled role runs its target and no
   worker is draining (the process tree follows what was asked). */
static int scale_settled(const char *status_json, char *line, size_t cap)
{
    yajl_val root = yajl_tree_parse(status_json, NULL, 0);
    if (!root)
        return 0;
    yajl_val sc = lk_json_get(root, "scale");
    yajl_val t = lk_json_get(sc, "transform"), w = lk_json_get(sc, "writer");
    int retiring = 0;
    yajl_val workers = lk_json_get(root, "workers");
    for (size_t i = 0; workers && YAJL_IS_ARRAY(workers) && i < workers->u.array.len; i++)
        retiring += !strcmp(gets_(workers->u.array.values[i], "state"), "retiring");
    int ok = geti(t, "actual") == geti(t, "target") && geti(w, "actual") == geti(w, "target") &&
             !retiring;
    snprintf(line, cap, "transform %lld of %lld running, writer %lld of %lld running%s",
             geti(t, "actual"), geti(t, "target"), geti(w, "actual"), geti(w, "target"),
             retiring ? ", some draining" : "");
    yajl_tree_free(root);
    return ok;
}

int lk_ctl_scale(const lk_config *cfg, const char *transform, int writer, int wait_ms)
{
    lk_msg_event e;
    lk_msg_event_init(&e, "scale");
    if (transform && !strcmp(transform, "auto"))
        lk_msg_event_set_str(&e, "transform", "auto");
    else if (transform)
        lk_msg_event_set_int(&e, "transform", atoi(transform));
    if (writer > 0)
        lk_msg_event_set_int(&e, "writer", writer);
    lk_buf reply = LK_BUF_INIT;
    lk_error err;
    int rc = lk_ctl_send(cfg, &e, &reply, 5000, &err);
    if (rc == 0 && strstr(reply.data ? reply.data : "", "\"error\"")) {
        yajl_val root = yajl_tree_parse(reply.data, NULL, 0);
        fprintf(stderr, "lakesupd: scale: %s\n", root ? gets_(root, "error") : reply.data);
        yajl_tree_free(root);
        lk_buf_free(&reply);
        return LK_EXIT_FAILURE;
    }
    lk_buf_free(&reply);
    if (rc) {
        fprintf(stderr, "lakesupd: %s\n", err.msg);
        return LK_EXIT_FAILURE;
    }
    /* wait until the process tree follows: new workers ready, old ones drained */
    int64_t deadline = lk_time_mono_ms() + wait_ms;
    char line[256] = "";
    for (;;) {
        lk_buf st = LK_BUF_INIT;
        int settled = lk_ctl_request(cfg, "status", &st, 5000, &err) == 0 && st.data &&
                      scale_settled(st.data, line, sizeof line);
        lk_buf_free(&st);
        if (settled) {
            printf("%s\n", line);
            return LK_EXIT_OK;
        }
        if (lk_time_mono_ms() > deadline) {
            fprintf(stderr, "lakesupd: scale: not settled after %d s: %s\n", wait_ms / 1000,
                    line[0] ? line : "no status");
            return LK_EXIT_FAILURE;
        }
        usleep(50000);
    }
}

int lk_ctl_reload(const lk_config *cfg)
{
    lk_buf reply = LK_BUF_INIT;
    lk_error err;
    int rc = lk_ctl_request(cfg, "reload", &reply, 10000, &err);
    if (rc) {
        fprintf(stderr, "lakesupd: %s\n", err.msg);
        lk_buf_free(&reply);
        return LK_EXIT_FAILURE;
    }
    yajl_val root = yajl_tree_parse(reply.data ? reply.data : "", NULL, 0);
    int ok = root && !lk_json_get(root, "error");
    if (!ok)
        fprintf(stderr, "lakesupd: reload: %s\n", root ? gets_(root, "error") : "bad reply");
    else {
        const char *a = gets_(root, "applied"), *r = gets_(root, "refused");
        printf("reloaded: %s\n", *a ? a : "nothing that can change live has changed");
        if (*r)
            printf("not applied (restart to apply): %s\n", r);
    }
    yajl_tree_free(root);
    lk_buf_free(&reply);
    return ok ? LK_EXIT_OK : LK_EXIT_CONFIG;
}
