/*
 * lk_monitor — stream health: collects the progress every worker pushes
 * (rows in/out, bytes, batches, errors, table versions), derives rates,
 * logs one throughput line every LOG_INTERVAL_MS while data flows, and
 * answers "stats" requests on <run>/monitor-rep.ipc with a JSON snapshot
 * (the seed of `/metrics`, alerts and the dashboard that come later).
 */
#include "lk_monitor.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_exit.h"
#include "lk_log.h"
#include "lk_time.h"

#define MAX_WORKERS 160
#define LOG_INTERVAL_MS 10000

typedef struct seen {
    char role[16];
    int index;
    lk_msg_event last;
} seen;

typedef struct monitor {
    lk_worker *w;
    zsock_t *in, *rep;
    seen workers[MAX_WORKERS];
    int n;
    int64_t last_log_ms, last_rows;
    lk_buf buf;
} monitor;

static int64_t total(monitor *m, const char *role, const char *key)
{
    int64_t sum = 0;
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->workers[i].role, role))
            sum += lk_msg_event_get_int(&m->workers[i].last, key, 0);
    return sum;
}

static void on_progress(monitor *m, const lk_msg_event *e)
{
    const char *role = lk_msg_event_get_str(e, "role");
    if (!role)
        return;
    int index = (int)lk_msg_event_get_int(e, "index", 0);
    for (int i = 0; i < m->n; i++) {
        if (!strcmp(m->workers[i].role, role) && m->workers[i].index == index) {
            /* a restarted worker starts its counters at zero: keep totals
               monotonic by carrying the previous incarnation's */
            seen *s = &m->workers[i];
            if (lk_msg_event_get_int(&s->last, "pid", 0) != lk_msg_event_get_int(e, "pid", 0)) {
                lk_msg_event merged = *e;
                for (int k = 0; k < s->last.n; k++) {
                    const lk_msg_kv *kv = &s->last.kv[k];
                    if (kv->is_str || !strcmp(kv->key, "pid") || !strcmp(kv->key, "index") ||
                        !strcmp(kv->key, "ts_ms") || strchr(kv->key, '.') ||
                        !strcmp(kv->key, "inflight"))
                        continue;
                    lk_msg_event_set_int(&merged, kv->key,
                                         kv->i + lk_msg_event_get_int(e, kv->key, 0));
                }
                lk_msg_event_set_int(&merged, "_base_pid", lk_msg_event_get_int(e, "pid", 0));
                s->last = merged;
            } else {
                s->last = *e;
            }
            return;
        }
    }
    if (m->n == MAX_WORKERS)
        return;
    seen *s = &m->workers[m->n++];
    snprintf(s->role, sizeof s->role, "%s", role);
    s->index = index;
    s->last = *e;
}

static void stats_json(monitor *m, lk_buf *b)
{
    lk_buf_printf(b,
                  "{\"rows_in\":%lld,\"corrupt\":%lld,\"rescued\":%lld,\"batches\":%lld,"
                  "\"bytes_in\":%lld,\"files\":%lld,\"errors\":%lld,\"workers\":[",
                  (long long)total(m, "committer", "rows_in"),
                  (long long)total(m, "committer", "corrupt"),
                  (long long)total(m, "committer", "rescued"),
                  (long long)total(m, "committer", "batches"),
                  (long long)total(m, "ingest", "bytes_in"), (long long)total(m, "writer", "files"),
                  (long long)(total(m, "ingest", "errors") + total(m, "transform", "errors") +
                              total(m, "writer", "errors") + total(m, "committer", "errors")));
    for (int i = 0; i < m->n; i++) {
        lk_buf_printf(b, "%s{\"role\":\"%s\",\"index\":%d", i ? "," : "", m->workers[i].role,
                      m->workers[i].index);
        const lk_msg_event *e = &m->workers[i].last;
        for (int k = 0; k < e->n; k++) {
            if (!strcmp(e->kv[k].key, "role") || !strcmp(e->kv[k].key, "index"))
                continue;
            lk_buf_putc(b, ',');
            lk_buf_json_string(b, e->kv[k].key, strlen(e->kv[k].key));
            lk_buf_putc(b, ':');
            if (e->kv[k].is_str)
                lk_buf_json_string(b, e->kv[k].s, strlen(e->kv[k].s));
            else
                lk_buf_printf(b, "%lld", (long long)e->kv[k].i);
        }
        lk_buf_putc(b, '}');
    }
    lk_buf_puts(b, "]}");
}

static void maybe_log(monitor *m)
{
    int64_t now = lk_time_mono_ms();
    if (now - m->last_log_ms < LOG_INTERVAL_MS)
        return;
    int64_t rows = total(m, "committer", "rows_in");
    if (rows != m->last_rows)
        LK_INFO("throughput rows_committed=%lld rate=%.0f rows/s batches=%lld corrupt=%lld",
                (long long)rows, (double)(rows - m->last_rows) * 1000.0 / (double)(now - m->last_log_ms),
                (long long)total(m, "committer", "batches"),
                (long long)total(m, "committer", "corrupt"));
    m->last_rows = rows;
    m->last_log_ms = now;
}

int lk_monitor_run(lk_worker *w)
{
    /* on the heap, not the stack: calloc's zero pages stay untouched (not
       resident) for the workers that never report; a memset stack copy
       made all 2.4 MiB of MAX_WORKERS slots resident */
    monitor *m = calloc(1, sizeof *m);
    if (!m)
        abort();
    m->w = w;
    m->last_log_ms = lk_time_mono_ms();
    char ep[1200];
    m->in = zsock_new(ZMQ_PULL);
    zsock_set_rcvhwm(m->in, 100000);
    lk_worker_endpoint(w, LK_EP_MONITOR, -1, ep, sizeof ep);
    if (zsock_bind(m->in, "%s", ep) < 0) {
        LK_ERROR("cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
        free(m);
        return LK_EXIT_TEMPFAIL;
    }
    m->rep = zsock_new(ZMQ_REP);
    lk_worker_endpoint(w, LK_EP_MONITOR_REP, -1, ep, sizeof ep);
    if (zsock_bind(m->rep, "%s", ep) < 0) {
        LK_ERROR("cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
        free(m);
        return LK_EXIT_TEMPFAIL;
    }
    lk_worker_ready(w);
    lk_error err;
    while (!lk_worker_stopping(w)) {
        lk_worker_tick(w);
        zmq_pollitem_t items[2] = {{zsock_resolve(m->in), 0, ZMQ_POLLIN, 0},
                                   {zsock_resolve(m->rep), 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, 200) > 0) {
            zmq_msg_t msg;
            if (items[0].revents & ZMQ_POLLIN) {
                zmq_msg_init(&msg);
                while (zmq_msg_recv(&msg, zsock_resolve(m->in), ZMQ_DONTWAIT) >= 0) {
                    lk_msg_event e;
                    if (lk_msg_event_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &e, &err) ==
                            0 &&
                        !strcmp(e.name, "progress"))
                        on_progress(m, &e);
                }
                zmq_msg_close(&msg);
            }
            if (items[1].revents & ZMQ_POLLIN) {
                zmq_msg_init(&msg);
                if (zmq_msg_recv(&msg, zsock_resolve(m->rep), ZMQ_DONTWAIT) >= 0) {
                    lk_buf_reset(&m->buf);
                    stats_json(m, &m->buf);
                    zmq_send(zsock_resolve(m->rep), m->buf.data, m->buf.len, 0);
                }
                zmq_msg_close(&msg);
            }
        }
        maybe_log(m);
    }
    zsock_destroy(&m->in);
    zsock_destroy(&m->rep);
    lk_buf_free(&m->buf);
    free(m);
    return 0;
}
