/* lk_ctl — control-socket client for status and stop; see lk_ctl.h. */
#include "lk_ctl.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
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
    lk_msg_event e;
    lk_msg_event_init(&e, command);
    lk_buf b = LK_BUF_INIT;
    lk_msg_event_encode(&e, &b);
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
    printf("pipeline %s  supervisor pid %lld  state %s  trigger %s  up %.1f s\n",
           gets_(root, "pipeline"), geti(root, "supervisor_pid"), gets_(root, "state"),
           gets_(root, "trigger"), (double)geti(root, "uptime_ms") / 1000.0);
    long long every = geti(root, "trigger_interval_ms"), next = geti(root, "next_trigger_at_ms");
    if (every > 0) {
        char at[64] = "not yet known";
        if (next > 0)
            lk_time_format_iso_ms(next * 1000, at, sizeof at);
        long long in_ms = next > 0 ? next - lk_time_now_us() / 1000 : 0;
        printf("trigger every %.3g s; next micro-batch at %s (in %.1f s)\n", (double)every / 1000,
               at, in_ms > 0 ? (double)in_ms / 1000 : 0.0);
    }
    printf("\n%-10s %5s %8s %-11s %8s %12s %12s %8s\n", "ROLE", "INDEX", "PID", "STATE",
           "RESTARTS", "ROWS_IN", "ROWS_OUT", "BATCHES");
    yajl_val workers = lk_json_get(root, "workers");
    for (size_t i = 0; workers && YAJL_IS_ARRAY(workers) && i < workers->u.array.len; i++) {
        yajl_val w = workers->u.array.values[i];
        yajl_val p = lk_json_get(w, "progress");
        printf("%-10s %5lld %8lld %-11s %8lld %12lld %12lld %8lld\n", gets_(w, "role"),
               geti(w, "index"), geti(w, "pid"), gets_(w, "state"), geti(w, "restarts"),
               geti(p, "rows_in"), geti(p, "rows_out"), geti(p, "batches"));
    }
    yajl_val paused = lk_json_get(root, "paused");
    for (size_t i = 0; paused && YAJL_IS_ARRAY(paused) && i < paused->u.array.len; i++) {
        yajl_val pz = paused->u.array.values[i];
        printf("%sPAUSED %s[%lld]: %s\n", i ? "" : "\n", gets_(pz, "role"), geti(pz, "index"),
               gets_(pz, "reason"));
    }
    yajl_val mon = lk_json_get(root, "monitor");
    if (mon && YAJL_IS_OBJECT(mon))
        printf("\nmonitor: %lld rows committed, %lld corrupt, %lld rescued, %lld batches, "
               "%lld errors\n",
               geti(mon, "rows_in"), geti(mon, "corrupt"), geti(mon, "rescued"),
               geti(mon, "batches"), geti(mon, "errors"));
    printf("\n%-18s %8s %12s  %s\n", "TABLE", "VERSION", "ROWS", "PATH");
    yajl_val tables = lk_json_get(root, "tables");
    for (size_t i = 0; tables && YAJL_IS_ARRAY(tables) && i < tables->u.array.len; i++) {
        yajl_val t = tables->u.array.values[i];
        printf("%-18s %8lld %12lld  %s\n", gets_(t, "name"), geti(t, "version"), geti(t, "rows"),
               gets_(t, "path"));
    }
    yajl_tree_free(root);
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
