/*
 * lk_monitor — stream health: the monitor worker.
 *
 * It receives every worker's heartbeat (the progress counters, EVENT
 * "progress") and every role's typed report of its share of a batch
 * (PROGRESS: plan, read, parse, write, commit) on <run>/monitor.ipc, and
 * asks the supervisor for the process tree once a second. From these it
 *
 *  - assembles one progress record per committed batch (Spark's
 *    StreamingQueryProgress fields, lk_batches) and keeps it in state.db
 *    (table progress, bounded by monitor.progress_retention);
 *  - keeps the metrics: counters, histograms of phase durations and of the
 *    end-to-end latency (input file closed → commit), backlog, watermark,
 *    Kafka lag, restarts, a one-hour series for the dashboard;
 *  - evaluates the alert rules (lk_alerts) once a second and hands state
 *    changes to the receivers (lk_notify_out), never blocking;
 *  - serves them (monitor.http): /metrics (Prometheus text), /status (the
 *    JSON of `lakesupd status --json`), /progress, /series, /healthz,
 *    /readyz and the dashboard at / (lk_http, lk_dashboard);
 *  - answers the supervisor's "stats" request (monitor-rep.ipc) with its
 *    part of `status`.
 *
 * Everything runs in this one loop (the HTTP daemon is polled through its
 * epoll descriptor, libcurl through its multi handle), so nothing needs a
 * lock and nothing here can hold up the data path: workers send to the
 * monitor without waiting.
 */
#include "lk_monitor.h"

#include <czmq.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "lk_alerts.h"
#include "lk_batches.h"
#include "lk_dashboard.h"
#include "lk_exit.h"
#include "lk_http.h"
#include "lk_json.h"
#include "lk_liveness.h"
#include "lk_log.h"
#include "lk_metrics.h"
#include "lk_notify_out.h"
#include "lk_state.h"
#include "lk_tables.h"
#include "lk_time.h"

#define MAX_WORKERS 160
#define LOG_INTERVAL_MS 10000
#define EVAL_INTERVAL_MS 1000
#define SERIES_INTERVAL_MS 5000
#define SERIES_N 720          /* one hour of 5 s points */
#define REFRESH_MS 60000      /* firing alerts are told to webhooks again this often */
#define FINALIZE_GRACE_MS 300 /* reports of other roles that raced the commit's */
#define SUP_TIMEOUT_MS 2000
#define CRASH_LOOP_WINDOW_MS 60000
#define CRASH_LOOP_RESTARTS 3

/* A worker's heartbeats: the last one, and what earlier incarnations
   (before a restart: another pid) had counted, so totals stay monotonic. */
typedef struct seen {
    char role[16];
    int index;
    int64_t pid;
    int64_t seen_ms; /* monotonic, last heartbeat */
    lk_msg_event last, base;
} seen;

/* What the supervisor says of one worker. */
typedef struct sup_worker {
    char role[16];
    int index;
    lk_liveness live; /* pid and state, and since when */
    int restarts;
    int64_t restart_ms[8]; /* when the last restarts were seen (monotonic), newest first */
} sup_worker;

typedef struct point {
    int64_t ts_ms;
    double in_rate, out_rate, p50, p99, backlog_files, wm_lag;
} point;

typedef struct monitor {
    lk_worker *w;
    const lk_config *cfg;
    zsock_t *in, *rep, *sup;
    int sup_waiting;
    int64_t sup_sent_ms;
    seen workers[MAX_WORKERS];
    int n;
    lk_batches *batches; /* records in the making, Kafka offsets */
    lk_msg_progress rep_msg;
    lk_state *st;
    int64_t st_retry_ms;
    char query_id[64];
    /* the supervisor's view */
    char *sup_json; /* its last status reply, "monitor":null */
    int sup_ok;
    char sup_state[24];
    sup_worker sw[MAX_WORKERS];
    int nsw;
    int64_t restart_events_ms[256]; /* every restart seen, for worker_restarts_15m */
    int nrestart_events;
    /* metrics */
    lk_hist phase_hist[LK_PHASE_N + 1]; /* + total */
    lk_hist latency;
    lk_window latency_recent;
    double interval_lat[256];
    int n_interval_lat;
    int64_t batches_committed, rows_committed_input, corrupt_total, rescued_total;
    int64_t schema_changes_seen;
    int64_t watermark_us; /* max event time committed; with metrics: event_metrics' watermark */
    int64_t late_total, no_event_time_total;
    int64_t last_commit_wall_us, last_batch;
    int64_t prev_plan_start_us;
    double last_corrupt_ratio, last_rescued_ratio;
    int have_batch;
    lk_state_backlog backlog;
    int backlog_ok;
    int64_t started_us, started_ms;
    /* series */
    point series[SERIES_N];
    int nseries, series_next;
    int64_t last_series_ms, series_in_rows, series_out_rows;
    /* alerts */
    lk_alerts *alerts;
    lk_notify_out *notify;
    lk_alert_rule rules_applied[LK_MAX_ALERTS];
    int nrules_applied;
    lk_notify_target targets_applied[LK_MAX_NOTIFY];
    int ntargets_applied;
    int64_t last_refresh_ms;
    /* http */
    lk_http *http;
    char http_addr[300];
    int64_t http_retry_ms;
    int http_failures;
    int64_t last_log_ms, last_rows, last_eval_ms;
    lk_buf buf, tmp;
} monitor;

/* ---- heartbeats ---- */

/* Counters that are gauges (not summed over a worker's incarnations). */
static int gauge_key(const char *k)
{
    static const char *const g[] = {"pid",  "index",      "ts_ms",          "inflight",
                                    "busy", "last_batch", "last_commit_ms", "next_trigger_at_ms",
                                    "trigger_interval_ms", "_"};
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++)
        if (!strcmp(k, g[i])) return 1;
    return strchr(k, '.') != NULL; /* table.version, table.rows: the committer's own totals */
}

static seen *find_seen(monitor *m, const char *role, int index)
{
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->workers[i].role, role) && m->workers[i].index == index)
            return &m->workers[i];
    return NULL;
}

static int64_t total(monitor *m, const char *role, const char *key)
{
    int64_t sum = 0;
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->workers[i].role, role))
            sum += lk_msg_event_get_int(&m->workers[i].base, key, 0) +
                   lk_msg_event_get_int(&m->workers[i].last, key, 0);
    return sum;
}

static void on_heartbeat(monitor *m, const lk_msg_event *e)
{
    const char *role = lk_msg_event_get_str(e, "role");
    if (!role) return;
    int index = (int)lk_msg_event_get_int(e, "index", 0);
    int64_t pid = lk_msg_event_get_int(e, "pid", 0);
    seen *s = find_seen(m, role, index);
    if (!s) {
        if (m->n == MAX_WORKERS) return;
        s = &m->workers[m->n++];
        snprintf(s->role, sizeof s->role, "%s", role);
        s->index = index;
        lk_msg_event_init(&s->base, "base");
        s->pid = pid;
    }
    if (s->pid != pid) {
        /* a restarted worker counts from zero again: carry what the previous
           incarnation had counted into the base */
        for (int k = 0; k < s->last.n; k++) {
            const lk_msg_kv *kv = &s->last.kv[k];
            if (kv->is_str || gauge_key(kv->key)) continue;
            lk_msg_event_set_int(&s->base, kv->key,
                                 lk_msg_event_get_int(&s->base, kv->key, 0) + kv->i);
        }
        s->pid = pid;
    }
    s->last = *e;
    s->seen_ms = lk_time_mono_ms();
}

static void refresh_backlog(monitor *m);

static void open_state(monitor *m)
{
    if (m->st || lk_time_mono_ms() < m->st_retry_ms) return;
    char path[2048];
    lk_error err;
    lk_config_state_path(m->cfg, path, sizeof path);
    if (lk_state_open(path, &m->st, &err)) {
        LK_WARN("progress history unavailable (retrying in 10 s): %s", err.msg);
        m->st_retry_ms = lk_time_mono_ms() + 10000;
        return;
    }
    int found = 0;
    if (lk_state_meta_get(m->st, "query_id", m->query_id, sizeof m->query_id, &found, &err) ||
        !found)
        m->query_id[0] = 0; /* the committer creates it; read again at the next record */
    /* a restarted monitor goes on from the last record: batch, watermark, last commit */
    char **v = NULL;
    int n = 0;
    if (lk_state_progress_last(m->st, 1, &v, &n, &err) == 0 && n == 1) {
        yajl_val r = yajl_tree_parse(v[0], NULL, 0);
        yajl_val b = lk_json_get(r, "batchId"), et = lk_json_get(r, "eventTime");
        yajl_val wm = lk_json_get(et, "watermark"), at = lk_json_get(r, "committedAt");
        if (b && YAJL_IS_INTEGER(b)) {
            m->last_batch = YAJL_GET_INTEGER(b);
            m->have_batch = 1;
        }
        const char *ws = wm && YAJL_IS_STRING(wm) ? YAJL_GET_STRING(wm) : NULL;
        const char *as = at && YAJL_IS_STRING(at) ? YAJL_GET_STRING(at) : NULL;
        if (ws) lk_time_parse_iso(ws, strlen(ws), &m->watermark_us);
        if (as) lk_time_parse_iso(as, strlen(as), &m->last_commit_wall_us);
        yajl_tree_free(r);
    }
    lk_state_progress_free(&v, n);
}

/* A committed batch: its record goes to state.db, its numbers to the metrics. */
static void finalize(monitor *m, const lk_batch_rec *r)
{
    open_state(m);
    if (m->st && !m->query_id[0]) {
        int found = 0;
        lk_error err;
        lk_state_meta_get(m->st, "query_id", m->query_id, sizeof m->query_id, &found, &err);
    }
    lk_batches_committed(m->batches, r);
    refresh_backlog(m);
    if (m->cfg->metrics.set) {
        if (r->watermark_us > m->watermark_us) m->watermark_us = r->watermark_us;
    } else if (r->ev_n && r->ev_max > m->watermark_us) {
        m->watermark_us = r->ev_max;
    }
    m->late_total += r->late;
    m->no_event_time_total += r->no_event_time;
    int64_t start = lk_batches_start_us(r);
    lk_record_ctx ctx = {m->cfg,           m->query_id,     m->watermark_us, m->prev_plan_start_us,
                         m->backlog.files, m->backlog.bytes};
    lk_buf_reset(&m->tmp);
    lk_batches_record_json(m->batches, r, &ctx, &m->tmp);
    m->prev_plan_start_us = start;
    if (m->st) {
        lk_error err;
        const lk_config *c = m->cfg;
        int64_t since = c->monitor.progress_retention.ms > 0
                            ? lk_time_now_us() - c->monitor.progress_retention.ms * 1000
                            : 0;
        if (lk_state_progress_put(m->st, r->batch, r->commit_us, m->tmp.data,
                                  c->monitor.progress_retention.batches, since, &err))
            LK_WARN("progress of batch=%lld not recorded: %s", (long long)r->batch, err.msg);
    }
    /* metrics */
    for (int i = 0; i < LK_PHASE_N; i++)
        if (i != LK_PHASE_PLAN || r->have_plan)
            lk_hist_observe(&m->phase_hist[i], (double)r->phase_us[i] / 1e6);
    lk_hist_observe(&m->phase_hist[LK_PHASE_N], (double)(r->commit_us - start) / 1e6);
    for (int i = 0; i < r->n_sources; i++) {
        if (r->sources[i].input_time_us <= 0) continue;
        double lat = (double)(r->commit_us - r->sources[i].input_time_us) / 1e6;
        if (lat < 0) lat = 0;
        lk_hist_observe(&m->latency, lat);
        lk_window_add(&m->latency_recent, lat);
        if (m->n_interval_lat < (int)(sizeof m->interval_lat / sizeof m->interval_lat[0]))
            m->interval_lat[m->n_interval_lat++] = lat;
    }
    m->batches_committed++;
    m->rows_committed_input += r->rows;
    m->corrupt_total += r->corrupt;
    m->rescued_total += r->rescued;
    m->last_corrupt_ratio = r->rows ? (double)r->corrupt / (double)r->rows : 0;
    m->last_rescued_ratio = r->rows ? (double)r->rescued / (double)r->rows : 0;
    m->last_commit_wall_us = r->commit_us;
    m->last_batch = r->batch;
    m->have_batch = 1;
    LK_DEBUG("progress batch=%lld rows=%lld total_ms=%lld", (long long)r->batch, (long long)r->rows,
             (long long)((r->commit_us - start) / 1000));
    lk_batches_done(m->batches, r); /* r is gone */
}

static void finalize_due(monitor *m)
{
    int64_t now = lk_time_mono_ms();
    const lk_batch_rec *r;
    while ((r = lk_batches_ready(m->batches, now, FINALIZE_GRACE_MS))) /* in batch order */
        finalize(m, r);
}

/* ---- the supervisor's view ---- */

static void parse_sup(monitor *m, const char *json)
{
    char ebuf[128];
    yajl_val root = yajl_tree_parse(json, ebuf, sizeof ebuf);
    if (!root) {
        LK_WARN("unreadable status from the supervisor: %s", ebuf);
        return;
    }
    free(m->sup_json);
    m->sup_json = strdup(json);
    m->sup_ok = 1;
    yajl_val st = lk_json_get(root, "state");
    snprintf(m->sup_state, sizeof m->sup_state, "%s",
             st && YAJL_IS_STRING(st) ? YAJL_GET_STRING(st) : "?");
    yajl_val ws = lk_json_get(root, "workers");
    int64_t now = lk_time_mono_ms();
    for (size_t i = 0; ws && YAJL_IS_ARRAY(ws) && i < ws->u.array.len && i < MAX_WORKERS; i++) {
        yajl_val w = ws->u.array.values[i];
        yajl_val role = lk_json_get(w, "role"), index = lk_json_get(w, "index"),
                 pid = lk_json_get(w, "pid"), state = lk_json_get(w, "state"),
                 restarts = lk_json_get(w, "restarts");
        const char *rname = role && YAJL_IS_STRING(role) ? YAJL_GET_STRING(role) : NULL;
        if (!rname) continue;
        sup_worker *sw = NULL;
        int idx = index && YAJL_IS_INTEGER(index) ? (int)YAJL_GET_INTEGER(index) : 0;
        for (int k = 0; k < m->nsw && !sw; k++)
            if (!strcmp(m->sw[k].role, rname) && m->sw[k].index == idx) sw = &m->sw[k];
        int r = restarts && YAJL_IS_INTEGER(restarts) ? (int)YAJL_GET_INTEGER(restarts) : 0;
        if (!sw) {
            sw = &m->sw[m->nsw++];
            memset(sw, 0, sizeof *sw);
            snprintf(sw->role, sizeof sw->role, "%s", rname);
            sw->index = idx;
            sw->restarts = r; /* restarts before the monitor started are not "recent" */
        }
        for (int d = sw->restarts; d < r; d++) {
            memmove(&sw->restart_ms[1], &sw->restart_ms[0],
                    sizeof sw->restart_ms - sizeof sw->restart_ms[0]);
            sw->restart_ms[0] = now;
            if (m->nrestart_events ==
                (int)(sizeof m->restart_events_ms / sizeof m->restart_events_ms[0]))
                memmove(&m->restart_events_ms[0], &m->restart_events_ms[1],
                        sizeof m->restart_events_ms - sizeof m->restart_events_ms[0]),
                    m->nrestart_events--;
            m->restart_events_ms[m->nrestart_events++] = now;
        }
        sw->restarts = r;
        lk_liveness_report(&sw->live, pid && YAJL_IS_INTEGER(pid) ? (int)YAJL_GET_INTEGER(pid) : 0,
                           state && YAJL_IS_STRING(state) ? YAJL_GET_STRING(state) : "?", now);
    }
    yajl_tree_free(root);
}

static void answer_stats(monitor *m);

/* Sends "status" (without the monitor's part: we add it) to the
   supervisor; the reply is read by poll_sup. */
static void ask_sup(monitor *m)
{
    int64_t now = lk_time_mono_ms();
    if (m->sup_waiting) {
        if (now - m->sup_sent_ms < SUP_TIMEOUT_MS) return;
        LK_WARN("the supervisor did not answer a status request in %d ms", SUP_TIMEOUT_MS);
        zsock_destroy(&m->sup); /* a REQ socket stuck waiting: start over */
        m->sup_waiting = 0;
        m->sup_ok = 0;
    }
    if (!m->sup) {
        char ep[1200];
        lk_worker_endpoint(m->w, LK_EP_CONTROL, -1, ep, sizeof ep);
        m->sup = zsock_new(ZMQ_REQ);
        zsock_set_linger(m->sup, 0);
        if (zsock_connect(m->sup, "%s", ep) != 0) {
            zsock_destroy(&m->sup);
            return;
        }
    }
    lk_msg_event e;
    lk_msg_event_init(&e, "status");
    lk_msg_event_set_int(&e, "monitor", 0);
    lk_buf_reset(&m->buf);
    lk_msg_event_encode(&e, &m->buf);
    if (zmq_send(zsock_resolve(m->sup), m->buf.data, m->buf.len, ZMQ_DONTWAIT) >= 0) {
        m->sup_waiting = 1;
        m->sup_sent_ms = now;
    }
}

static int read_sup(monitor *m)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    int got = zmq_msg_recv(&msg, zsock_resolve(m->sup), ZMQ_DONTWAIT) >= 0;
    if (got) {
        lk_buf_reset(&m->buf);
        lk_buf_append(&m->buf, zmq_msg_data(&msg), zmq_msg_size(&msg));
        m->sup_waiting = 0;
        parse_sup(m, m->buf.data);
    }
    zmq_msg_close(&msg);
    return got;
}

/* Asks the supervisor now and waits for the answer (at most
   SUP_TIMEOUT_MS), answering the supervisor's own stats requests in the
   meantime (it may be asking us while we ask it). */
static int sup_now(monitor *m)
{
    if (!m->sup_waiting) ask_sup(m);
    if (!m->sup) return -1;
    int64_t deadline = m->sup_sent_ms + SUP_TIMEOUT_MS;
    while (m->sup_waiting && lk_time_mono_ms() < deadline) {
        zmq_pollitem_t items[2] = {{zsock_resolve(m->sup), 0, ZMQ_POLLIN, 0},
                                   {zsock_resolve(m->rep), 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, 50) <= 0) continue;
        if (items[1].revents & ZMQ_POLLIN) answer_stats(m);
        if (items[0].revents & ZMQ_POLLIN) read_sup(m);
    }
    return m->sup_waiting ? -1 : 0;
}

/* ---- what the alerts, health and pages compute ---- */

static int64_t stale_ms(const monitor *m)
{
    int64_t t = m->cfg->worker_timeout_ms / 2;
    if (t > 5000) t = 5000;
    return t < 2000 ? 2000 : t;
}

/* 1 if the supervisor runs the worker and its heartbeats are fresh; why says otherwise
   (lk_liveness_up). */
static int worker_up(monitor *m, const sup_worker *sw, char *why, size_t cap)
{
    int64_t now = lk_time_mono_ms();
    const seen *s = find_seen(m, sw->role, sw->index);
    return lk_liveness_up(&sw->live, sw->role, sw->index, s ? (int)s->pid : 0,
                          s ? s->seen_ms : 0, now, stale_ms(m),
                          now - m->started_ms < stale_ms(m), why, cap);
}

static int workers_down(monitor *m, char *why, size_t cap)
{
    int down = 0;
    why[0] = 0;
    for (int i = 0; i < m->nsw; i++) {
        char w[200];
        if (!worker_up(m, &m->sw[i], w, sizeof w)) {
            if (!down) snprintf(why, cap, "%s", w);
            down++;
        }
    }
    return down;
}

static void refresh_backlog(monitor *m)
{
    open_state(m);
    if (!m->st) return;
    lk_error err;
    if (lk_state_backlog_get(m->st, &m->backlog, &err)) {
        if (m->backlog_ok) LK_WARN("backlog unknown: %s", err.msg);
        m->backlog_ok = 0;
        return;
    }
    m->backlog_ok = 1;
}

static double backlog_seconds(const monitor *m)
{
    if (!m->backlog.oldest_us) return 0;
    double s = (double)(lk_time_now_us() - m->backlog.oldest_us) / 1e6;
    return s < 0 ? 0 : s;
}

static double since_last_commit(const monitor *m)
{
    if (!m->backlog.files && !m->backlog.batches &&
        !lk_batches_kafka_lag(m->batches, NULL, NULL, NULL))
        return 0; /* nothing waits to be committed: not a stall */
    int64_t since = m->last_commit_wall_us > m->backlog.oldest_us ? m->last_commit_wall_us
                                                                  : m->backlog.oldest_us;
    if (!since) since = m->started_us;
    double s = (double)(lk_time_now_us() - since) / 1e6;
    return s < 0 ? 0 : s;
}

static int restarts_within(const monitor *m, int64_t window_ms)
{
    int64_t now = lk_time_mono_ms();
    int n = 0;
    for (int i = 0; i < m->nrestart_events; i++)
        n += now - m->restart_events_ms[i] <= window_ms;
    return n;
}

static double metric_value(void *ctx, const char *name, int *ok)
{
    monitor *m = ctx;
    *ok = 1;
    if (!strcmp(name, "backlog_seconds")) return *ok = m->backlog_ok, backlog_seconds(m);
    if (!strcmp(name, "backlog_bytes")) return *ok = m->backlog_ok, (double)m->backlog.bytes;
    if (!strcmp(name, "backlog_files")) return *ok = m->backlog_ok, (double)m->backlog.files;
    if (!strcmp(name, "backlog_records"))
        return (double)lk_batches_kafka_lag(m->batches, NULL, NULL, NULL);
    if (!strcmp(name, "seconds_since_last_commit"))
        return *ok = m->backlog_ok, since_last_commit(m);
    if (!strcmp(name, "corrupt_ratio")) return *ok = m->have_batch, m->last_corrupt_ratio;
    if (!strcmp(name, "rescued_ratio")) return *ok = m->have_batch, m->last_rescued_ratio;
    if (!strcmp(name, "worker_restarts_15m"))
        return *ok = m->sup_ok, (double)restarts_within(m, 15 * 60000);
    if (!strcmp(name, "workers_down")) {
        char why[256];
        return *ok = m->sup_ok, (double)workers_down(m, why, sizeof why);
    }
    if (!strcmp(name, "latency_p99_seconds")) {
        double q = lk_window_quantile(&m->latency_recent, 0.99);
        *ok = q >= 0;
        return q;
    }
    if (!strcmp(name, "watermark_lag_seconds")) {
        *ok = m->watermark_us > 0;
        return (double)(lk_time_now_us() - m->watermark_us) / 1e6;
    }
    *ok = 0;
    return 0;
}

/* ---- alerts ---- */

static void on_notice(void *ctx, const lk_alert_notice *n)
{
    monitor *m = ctx;
    int logged = 0; /* a `log: true` receiver says it; otherwise one line here */
    for (int i = 0; i < m->cfg->notify.n; i++)
        logged |= m->cfg->notify.to[i].kind == LK_NOTIFY_LOG;
    if (!logged)
        LK_INFO("alert %s name=%s severity=%s value=%g: %s", n->event ? "event" : n->status,
                n->name, n->severity, n->value, n->summary);
    lk_notify_out_send(m->notify, n);
}

static void on_refresh(void *ctx, const lk_alert_notice *n)
{
    monitor *m = ctx;
    lk_notify_out_refresh(m->notify, n);
}

static void apply_config(monitor *m)
{
    const lk_config *c = m->cfg;
    int64_t now = lk_time_now_us();
    if (c->alerts.n != m->nrules_applied ||
        memcmp(c->alerts.rule, m->rules_applied, (size_t)c->alerts.n * sizeof c->alerts.rule[0])) {
        lk_alerts_set_rules(m->alerts, c->alerts.rule, c->alerts.n, now, on_notice, m);
        memcpy(m->rules_applied, c->alerts.rule, sizeof m->rules_applied);
        if (m->nrules_applied || c->alerts.n)
            LK_INFO("alert rules: %d configured (+ built-in worker_crash_loop, schema_change)",
                    c->alerts.n);
        m->nrules_applied = c->alerts.n;
    }
    if (c->notify.n != m->ntargets_applied ||
        memcmp(c->notify.to, m->targets_applied, (size_t)c->notify.n * sizeof c->notify.to[0])) {
        lk_notify_out_set_targets(m->notify, c->notify.to, c->notify.n);
        memcpy(m->targets_applied, c->notify.to, sizeof m->targets_applied);
        m->ntargets_applied = c->notify.n;
        for (int i = 0; i < c->notify.n; i++)
            LK_INFO("notify receiver %d: %s %s", i,
                    c->notify.to[i].kind == LK_NOTIFY_WEBHOOK ? "webhook"
                    : c->notify.to[i].kind == LK_NOTIFY_EXEC  ? "exec"
                                                              : "log",
                    c->notify.to[i].target);
    }
}

static void evaluate(monitor *m)
{
    int64_t now_us = lk_time_now_us(), now = lk_time_mono_ms();
    apply_config(m);
    refresh_backlog(m);
    lk_alerts_eval(m->alerts, metric_value, m, now_us, on_notice, m);
    for (int i = 0; i < m->nsw; i++) {
        const sup_worker *sw = &m->sw[i];
        int recent = 0;
        for (int k = 0; k < (int)(sizeof sw->restart_ms / sizeof sw->restart_ms[0]); k++)
            recent += sw->restart_ms[k] && now - sw->restart_ms[k] <= CRASH_LOOP_WINDOW_MS;
        char summary[200];
        snprintf(summary, sizeof summary, "%s[%d] restarted %d times in the last %d s", sw->role,
                 sw->index, recent, CRASH_LOOP_WINDOW_MS / 1000);
        lk_alerts_builtin(m->alerts, "worker_crash_loop", sw->role, sw->index,
                          recent >= CRASH_LOOP_RESTARTS, recent, "critical", summary, now_us,
                          on_notice, m);
    }
    int64_t sc = total(m, "committer", "schema_changes");
    if (sc > m->schema_changes_seen) {
        char summary[200];
        snprintf(summary, sizeof summary,
                 "%lld table schema change(s) committed (new columns; `lakesupd schema history`)",
                 (long long)(sc - m->schema_changes_seen));
        lk_alerts_event(m->alerts, "schema_change", "info", summary, (double)sc, now_us, on_notice,
                        m);
        m->schema_changes_seen = sc;
    }
    if (now - m->last_refresh_ms >= REFRESH_MS) {
        lk_alerts_each_firing(m->alerts, on_refresh, m);
        m->last_refresh_ms = now;
    }
}

/* ---- the one-hour series ---- */

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void sample(monitor *m)
{
    int64_t now = lk_time_mono_ms();
    int64_t in = total(m, "transform", "rows_in"), out = total(m, "committer", "rows_in");
    if (!m->last_series_ms) {
        m->last_series_ms = now;
        m->series_in_rows = in;
        m->series_out_rows = out;
        return;
    }
    if (now - m->last_series_ms < SERIES_INTERVAL_MS) return;
    double dt = (double)(now - m->last_series_ms) / 1000.0;
    point *p = &m->series[m->series_next];
    p->ts_ms = lk_time_now_ms();
    p->in_rate = in >= m->series_in_rows ? (double)(in - m->series_in_rows) / dt : 0;
    p->out_rate = out >= m->series_out_rows ? (double)(out - m->series_out_rows) / dt : 0;
    p->p50 = p->p99 = NAN;
    if (m->n_interval_lat) {
        qsort(m->interval_lat, (size_t)m->n_interval_lat, sizeof m->interval_lat[0], cmp_d);
        int n = m->n_interval_lat;
        p->p50 = m->interval_lat[(int)ceil(0.5 * n) - 1];
        p->p99 = m->interval_lat[(int)ceil(0.99 * n) - 1];
    }
    p->backlog_files = m->backlog_ok ? (double)m->backlog.files : NAN;
    p->wm_lag = m->watermark_us ? (double)(lk_time_now_us() - m->watermark_us) / 1e6 : NAN;
    m->series_next = (m->series_next + 1) % SERIES_N;
    if (m->nseries < SERIES_N) m->nseries++;
    m->n_interval_lat = 0;
    m->last_series_ms = now;
    m->series_in_rows = in;
    m->series_out_rows = out;
}

static const point *last_point(const monitor *m)
{
    return m->nseries ? &m->series[(m->series_next + SERIES_N - 1) % SERIES_N] : NULL;
}

static void series_json(monitor *m, lk_buf *b)
{
    lk_buf_printf(b, "{\"interval_s\":%d,\"points\":[", SERIES_INTERVAL_MS / 1000);
    for (int k = 0; k < m->nseries; k++) {
        const point *p = &m->series[(m->series_next + SERIES_N - m->nseries + k) % SERIES_N];
        lk_buf_printf(b, "%s{\"ts_ms\":%lld,", k ? "," : "", (long long)p->ts_ms);
        lk_json_num(b, "input_rows_per_second", p->in_rate);
        lk_json_more_num(b, "processed_rows_per_second", p->out_rate);
        lk_json_more_num(b, "latency_p50_seconds", p->p50);
        lk_json_more_num(b, "latency_p99_seconds", p->p99);
        lk_json_more_num(b, "backlog_files", p->backlog_files);
        lk_json_more_num(b, "watermark_lag_seconds", p->wm_lag);
        lk_buf_putc(b, '}');
    }
    lk_buf_puts(b, "]}");
}

/* ---- the monitor's part of `status` ---- */

static void stats_json(monitor *m, lk_buf *b)
{
    lk_buf_printf(
        b,
        "{\"rows_in\":%lld,\"corrupt\":%lld,\"rescued\":%lld,\"batches\":%lld,"
        "\"bytes_in\":%lld,\"files\":%lld,\"errors\":%lld",
        (long long)total(m, "committer", "rows_in"), (long long)total(m, "committer", "corrupt"),
        (long long)total(m, "committer", "rescued"), (long long)total(m, "committer", "batches"),
        (long long)total(m, "ingest", "bytes_in"), (long long)total(m, "writer", "files"),
        (long long)(total(m, "ingest", "errors") + total(m, "transform", "errors") +
                    total(m, "writer", "errors") + total(m, "committer", "errors")));
    lk_buf_puts(b, ",\"http\":");
    lk_buf_json_string(b, m->http_addr, strlen(m->http_addr));
    if (m->have_batch) lk_buf_printf(b, ",\"last_batch\":%lld", (long long)m->last_batch);
    lk_buf_puts(b, ",");
    lk_json_num(b, "seconds_since_last_commit", since_last_commit(m));
    lk_buf_printf(b, ",\"backlog\":{\"files\":%lld,\"bytes\":%lld,\"batches\":%lld,",
                  (long long)m->backlog.files, (long long)m->backlog.bytes,
                  (long long)m->backlog.batches);
    lk_json_num(b, "seconds", backlog_seconds(m));
    lk_buf_printf(b, ",\"records\":%lld}",
                  (long long)lk_batches_kafka_lag(m->batches, NULL, NULL, NULL));
    const point *p = last_point(m);
    lk_json_more_num(b, "input_rows_per_second", p ? p->in_rate : NAN);
    lk_json_more_num(b, "processed_rows_per_second", p ? p->out_rate : NAN);
    lk_json_more_num(b, "latency_p50_seconds",
                     lk_window_quantile(&m->latency_recent, 0.5) >= 0
                         ? lk_window_quantile(&m->latency_recent, 0.5)
                         : NAN);
    lk_json_more_num(b, "latency_p99_seconds",
                     lk_window_quantile(&m->latency_recent, 0.99) >= 0
                         ? lk_window_quantile(&m->latency_recent, 0.99)
                         : NAN);
    if (m->cfg->trigger == LK_TRIGGER_FRESHNESS) {
        double share = lk_window_share_le(&m->latency_recent, (double)m->cfg->freshness_ms / 1000);
        lk_json_more_num(b, "freshness_slo_ratio", share < 0 ? NAN : share);
    }
    if (m->watermark_us) {
        lk_buf_putc(b, ',');
        lk_json_time(b, "watermark", m->watermark_us);
    }
    lk_json_more_num(b, "watermark_lag_seconds",
                     m->watermark_us ? (double)(lk_time_now_us() - m->watermark_us) / 1e6 : NAN);
    lk_buf_puts(b, ",\"alerts\":");
    lk_alerts_json(m->alerts, b);
    long long sent, failed, dropped, queued;
    lk_notify_out_counts(m->notify, &sent, &failed, &dropped, &queued);
    lk_buf_printf(b, ",\"notify\":{\"sent\":%lld,\"failed\":%lld,\"dropped\":%lld,\"queued\":%lld}",
                  sent, failed, dropped, queued);
    lk_buf_puts(b, ",\"workers\":[");
    for (int i = 0; i < m->n; i++) {
        lk_buf_printf(b, "%s{\"role\":\"%s\",\"index\":%d", i ? "," : "", m->workers[i].role,
                      m->workers[i].index);
        const lk_msg_event *e = &m->workers[i].last;
        for (int k = 0; k < e->n; k++) {
            const lk_msg_kv *kv = &e->kv[k];
            if (!strcmp(kv->key, "role") || !strcmp(kv->key, "index")) continue;
            lk_buf_putc(b, ',');
            lk_buf_json_string(b, kv->key, strlen(kv->key));
            lk_buf_putc(b, ':');
            if (kv->is_str)
                lk_buf_json_string(b, kv->s, strlen(kv->s));
            else if (gauge_key(kv->key))
                lk_buf_printf(b, "%lld", (long long)kv->i);
            else
                lk_buf_printf(
                    b, "%lld",
                    (long long)(kv->i + lk_msg_event_get_int(&m->workers[i].base, kv->key, 0)));
        }
        lk_buf_putc(b, '}');
    }
    lk_buf_puts(b, "]}");
}

static void answer_stats(monitor *m)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, zsock_resolve(m->rep), ZMQ_DONTWAIT) >= 0) {
        /* a request is an EVENT "stats" (the supervisor's, for `status`) */
        lk_msg_event e;
        lk_error err = {0};
        lk_buf_reset(&m->buf);
        if (lk_msg_event_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &e, &err) == 0 &&
            !strcmp(e.name, "stats")) {
            stats_json(m, &m->buf);
        } else {
            LK_WARN("monitor-rep: not a stats request (%s): answered with an error",
                    err.msg[0] ? err.msg : e.name);
            lk_buf_puts(&m->buf, "{\"error\":\"unknown request\"}");
        }
        zmq_send(zsock_resolve(m->rep), m->buf.data, m->buf.len, 0);
    }
    zmq_msg_close(&msg);
}

/* ---- /metrics ---- */

static void metrics_text(monitor *m, lk_buf *b)
{
    lk_buf lab = LK_BUF_INIT;
    const char *tables[LK_TABLES_MAX];
    int ntables = lk_tables_names(lk_worker_config(m->w), tables);
    seen *cm = find_seen(m, "committer", 0);
    char key[96];
    lk_prom_family(b, "lakesup_rows_total", "counter",
                   "Rows committed to each Delta table (the table's row count).");
    for (int t = 0; t < ntables; t++) {
        snprintf(key, sizeof key, "%s.rows", tables[t]);
        lk_buf_reset(&lab);
        lk_prom_label(&lab, "table", tables[t]);
        lk_prom_sample(b, "lakesup_rows_total", lab.data,
                       cm ? (double)lk_msg_event_get_int(&cm->last, key, 0) : 0);
    }
    lk_prom_family(b, "lakesup_table_version", "gauge", "The latest Delta version of each table.");
    for (int t = 0; t < ntables; t++) {
        snprintf(key, sizeof key, "%s.version", tables[t]);
        lk_buf_reset(&lab);
        lk_prom_label(&lab, "table", tables[t]);
        lk_prom_sample(b, "lakesup_table_version", lab.data,
                       cm ? (double)lk_msg_event_get_int(&cm->last, key, -1) : -1);
    }
    /* the committer's counters, summed over its incarnations */
    static const struct {
        const char *name, *help, *key;
    } counters[] = {
        {"lakesup_input_rows_total",
         "Input rows committed (corrupt ones included), summed over batches.", "rows_in"},
        {"lakesup_batches_committed_total", "Micro-batches committed to every table.", "batches"},
        {"lakesup_corrupt_records_total", "Input records kept in _corrupt_record.", "corrupt"},
        {"lakesup_rescued_records_total", "Rows with a value kept in _rescued_data.", "rescued"},
        {"lakesup_schema_changes_total",
         "Table schema changes committed (a metaData action after the first).", "schema_changes"},
        {"lakesup_duplicate_rows_total",
         "Rows transform.dedupe dropped as duplicates (dropDuplicatesWithinWatermark), summed over "
         "the committed batches.",
         "duplicate_rows"},
    };
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        lk_prom_one(b, counters[i].name, "counter", counters[i].help,
                    (double)total(m, "committer", counters[i].key));
    lk_prom_family(b, "lakesup_batch_duration_seconds", "histogram",
                   "Time per batch by phase (parse and write: summed over the batch's chunks).");
    for (int i = 0; i <= LK_PHASE_N; i++) {
        lk_buf_reset(&lab);
        lk_prom_label(&lab, "phase", i < LK_PHASE_N ? lk_phase_name(i) : "total");
        lk_prom_hist(b, "lakesup_batch_duration_seconds", lab.data, &m->phase_hist[i]);
    }
    lk_prom_family(b, "lakesup_end_to_end_latency_seconds", "histogram",
                   "From an input file's close (mtime) to the commit of its rows.");
    lk_prom_hist(b, "lakesup_end_to_end_latency_seconds", "", &m->latency);
    if (m->cfg->trigger == LK_TRIGGER_FRESHNESS) {
        double objective = (double)m->cfg->freshness_ms / 1000;
        lk_prom_one(b, "lakesup_freshness_objective_seconds", "gauge",
                    "The trigger's freshness objective: input file close to commit.", objective);
        double share = lk_window_share_le(&m->latency_recent, objective);
        lk_prom_one(b, "lakesup_freshness_slo_ratio", "gauge",
                    "Share of the last 1024 committed input files within the freshness objective "
                    "(1 before any).",
                    share < 0 ? 1 : share);
    }
    lk_prom_one(b, "lakesup_backlog_files", "gauge", "Input files not committed yet.",
                (double)m->backlog.files);
    lk_prom_one(b, "lakesup_backlog_bytes", "gauge", "Bytes of input files not committed yet.",
                (double)m->backlog.bytes);
    lk_prom_one(b, "lakesup_backlog_seconds", "gauge",
                "Age of the oldest uncommitted input (0 when nothing waits).", backlog_seconds(m));
    lk_prom_one(b, "lakesup_seconds_since_last_commit", "gauge",
                "Seconds since the last commit while input waits (0 when nothing waits).",
                since_last_commit(m));
    lk_prom_one(b, "lakesup_last_commit_timestamp_seconds", "gauge",
                "When the last batch committed (Unix time; 0 before the first).",
                (double)m->last_commit_wall_us / 1e6);
    lk_prom_family(b, "lakesup_worker_restarts_total", "counter",
                   "Restarts of the workers of each role since the supervisor started.");
    {
        const char *roles[] = {"monitor", "committer", "writer", "transform", "ingest"};
        for (size_t r = 0; r < sizeof roles / sizeof roles[0]; r++) {
            int n = 0;
            for (int i = 0; i < m->nsw; i++)
                if (!strcmp(m->sw[i].role, roles[r])) n += m->sw[i].restarts;
            lk_buf_reset(&lab);
            lk_prom_label(&lab, "role", roles[r]);
            lk_prom_sample(b, "lakesup_worker_restarts_total", lab.data, n);
        }
    }
    lk_prom_family(b, "lakesup_worker_up", "gauge",
                   "1 when the worker runs and its heartbeats are fresh, else 0.");
    for (int i = 0; i < m->nsw; i++) {
        char why[256], idx[16];
        snprintf(idx, sizeof idx, "%d", m->sw[i].index);
        lk_buf_reset(&lab);
        lk_prom_label(&lab, "role", m->sw[i].role);
        lk_prom_label(&lab, "index", idx);
        lk_prom_sample(b, "lakesup_worker_up", lab.data, worker_up(m, &m->sw[i], why, sizeof why));
    }
    lk_prom_one(b, "lakesup_watermark_seconds", "gauge",
                "The event-time watermark (Unix time): with metrics, event_metrics' (the latest "
                "event time committed minus transform.watermark); else the latest event time "
                "committed.",
                (double)m->watermark_us / 1e6);
    lk_prom_one(b, "lakesup_late_rows_total", "counter",
                "Rows older than the watermark: to quarantine, in no window.",
                (double)m->late_total);
    lk_prom_one(b, "lakesup_no_event_time_rows_total", "counter",
                "Rows without an event time (null or unparsable): to quarantine, in no window.",
                (double)m->no_event_time_total);
    int64_t lag;
    if (lk_batches_partition(m->batches, 0, &lag)) {
        lk_prom_family(
            b, "lakesup_kafka_lag_records", "gauge",
            "Records of a Kafka partition behind its latest offset (as of the last plan).");
        const char *path;
        for (int i = 0; (path = lk_batches_partition(m->batches, i, &lag)); i++) {
            const char *t = path + 8, *slash = strrchr(t, '/');
            if (!slash) continue;
            char topic[256];
            snprintf(topic, sizeof topic, "%.*s", (int)(slash - t), t);
            lk_buf_reset(&lab);
            lk_prom_label(&lab, "topic", topic);
            lk_prom_label(&lab, "partition", slash + 1);
            lk_prom_sample(b, "lakesup_kafka_lag_records", lab.data, (double)lag);
        }
    }
    lk_prom_one(b, "lakesup_alerts_firing", "gauge", "Alerts firing now.",
                lk_alerts_firing(m->alerts));
    long long sent, failed, dropped, queued;
    lk_notify_out_counts(m->notify, &sent, &failed, &dropped, &queued);
    lk_prom_one(b, "lakesup_notifications_total", "counter",
                "Alert notices delivered to a receiver.", (double)sent);
    lk_prom_one(b, "lakesup_notification_failures_total", "counter",
                "Failed deliveries of alert notices (each is retried).", (double)failed);
    lk_prom_family(b, "lakesup_build_info", "gauge", "The lakesupd build: always 1.");
    lk_buf_reset(&lab);
    lk_prom_label(&lab, "version", LK_VERSION);
    lk_prom_label(&lab, "pipeline", m->cfg->pipeline);
    lk_prom_sample(b, "lakesup_build_info", lab.data, 1);
    lk_buf_free(&lab);
}

/* ---- HTTP ---- */

static int query_int(const char *query, const char *key, int dflt)
{
    size_t kl = strlen(key);
    for (const char *p = query; p && *p;) {
        if (!strncmp(p, key, kl) && p[kl] == '=') return atoi(p + kl + 1);
        p = strchr(p, '&');
        if (p) p++;
    }
    return dflt;
}

/* The JSON of `lakesupd status --json`: the supervisor's, with our part. */
static int status_body(monitor *m, lk_buf *b)
{
    if (sup_now(m) || !m->sup_json) {
        lk_buf_puts(
            b, "{\"running\":false,\"error\":\"the supervisor does not answer\",\"workers\":[]}");
        return 503;
    }
    const char *hole = strstr(m->sup_json, "\"monitor\":null");
    if (!hole) {
        lk_buf_puts(b, m->sup_json);
        return 200;
    }
    lk_buf_append(b, m->sup_json, (size_t)(hole - m->sup_json));
    lk_buf_puts(b, "\"monitor\":");
    stats_json(m, b);
    lk_buf_puts(b, hole + strlen("\"monitor\":null"));
    return 200;
}

static int handle(void *ctx, const char *path, const char *query, lk_buf *body, const char **type)
{
    monitor *m = ctx;
    if (!strcmp(path, "/metrics")) {
        sup_now(m); /* up and restarts as of now */
        refresh_backlog(m);
        metrics_text(m, body);
        *type = "text/plain; version=0.0.4; charset=utf-8";
        return 200;
    }
    if (!strcmp(path, "/status")) {
        *type = "application/json";
        refresh_backlog(m);
        return status_body(m, body);
    }
    if (!strcmp(path, "/progress")) {
        *type = "application/json";
        int last = query_int(query, "last", 20);
        if (last < 1) last = 1;
        if (last > 10000) last = 10000;
        open_state(m);
        char **v = NULL;
        int n = 0;
        lk_error err;
        if (!m->st || lk_state_progress_last(m->st, last, &v, &n, &err)) {
            lk_buf_puts(body, "{\"error\":\"progress history unavailable\"}");
            return 503;
        }
        lk_buf_putc(body, '[');
        for (int i = 0; i < n; i++) {
            if (i) lk_buf_putc(body, ',');
            lk_buf_puts(body, v[i]);
        }
        lk_buf_putc(body, ']');
        lk_state_progress_free(&v, n);
        return 200;
    }
    if (!strcmp(path, "/series")) {
        *type = "application/json";
        series_json(m, body);
        return 200;
    }
    if (!strcmp(path, "/healthz")) {
        /* every reason, one line each: a stopped committer is both a worker
           down and a batch past its deadline */
        int bad = 0;
        if (sup_now(m)) {
            lk_buf_puts(body, "the supervisor does not answer\n");
            bad++;
        } else {
            char w[300];
            int down = workers_down(m, w, sizeof w);
            if (down) {
                lk_buf_printf(body, "%d worker(s) down: %s\n", down, w);
                bad++;
            }
        }
        refresh_backlog(m);
        int64_t age_us =
            m->backlog.oldest_batch_us ? lk_time_now_us() - m->backlog.oldest_batch_us : 0;
        if (age_us > m->cfg->monitor.batch_deadline_ms * 1000) {
            lk_buf_printf(
                body,
                "the oldest uncommitted batch was planned %.0f s ago (monitor.batch_deadline "
                "%lld s)\n",
                (double)age_us / 1e6, (long long)(m->cfg->monitor.batch_deadline_ms / 1000));
            bad++;
        }
        if (!bad) lk_buf_puts(body, "ok\n");
        return bad ? 503 : 200;
    }
    if (!strcmp(path, "/readyz")) {
        int ok = sup_now(m) == 0 &&
                 (!strcmp(m->sup_state, "running") || !strcmp(m->sup_state, "paused"));
        for (int i = 0; ok && i < m->nsw; i++)
            ok = !strcmp(m->sw[i].live.state, "running");
        lk_buf_printf(body, "%s\n", ok ? "ready" : m->sup_ok ? m->sup_state : "no supervisor");
        return ok ? 200 : 503;
    }
    if (!strcmp(path, "/") || !strcmp(path, "/index.html")) {
        size_t len;
        const char *html = lk_dashboard_html(&len);
        lk_buf_append(body, html, len);
        *type = "text/html; charset=utf-8";
        return 200;
    }
    lk_buf_printf(body,
                  "not found: %s (/metrics, /status, /progress, /series, /healthz, /readyz, /)\n",
                  path);
    return 404;
}

static void start_http(monitor *m)
{
    const lk_config *c = m->cfg;
    if (!c->monitor.http[0] || m->http || lk_time_mono_ms() < m->http_retry_ms) return;
    char host[256];
    int port = 0;
    lk_error err;
    if (lk_config_http_addr(c->monitor.http, host, sizeof host, &port))
        return; /* checked at load */
    if (lk_http_new(host, port, c->monitor.auth_token, handle, m, &m->http, &err)) {
        if (m->http_failures++ % 12 == 0)
            LK_ERROR("%s; retrying every 5 s (the pipeline runs on)", err.msg);
        m->http_retry_ms = lk_time_mono_ms() + 5000;
        return;
    }
    int v6 = strchr(host, ':') != NULL;
    snprintf(m->http_addr, sizeof m->http_addr, "%s%s%s:%d", v6 ? "[" : "",
             host[0] ? host : "0.0.0.0", v6 ? "]" : "", lk_http_port(m->http));
    LK_INFO("http: serving http://%s/ (metrics, status, progress, series, healthz, readyz, "
            "dashboard)%s",
            m->http_addr, c->monitor.auth_token[0] ? " with a bearer token" : "");
    char url[400];
    snprintf(url, sizeof url, "http://%s/", m->http_addr);
    if (m->notify) { /* its queued notices, retries and counters stay */
        lk_notify_out_set_generator(m->notify, url);
    } else {
        m->notify = lk_notify_out_new(c->pipeline, url);
        m->ntargets_applied = -1; /* set the receivers */
    }
}

static void maybe_log(monitor *m)
{
    int64_t now = lk_time_mono_ms();
    if (now - m->last_log_ms < LOG_INTERVAL_MS) return;
    int64_t rows = total(m, "committer", "rows_in");
    if (rows != m->last_rows)
        LK_INFO("throughput rows_committed=%lld rate=%.0f rows/s batches=%lld corrupt=%lld "
                "backlog_files=%lld",
                (long long)rows,
                (double)(rows - m->last_rows) * 1000.0 / (double)(now - m->last_log_ms),
                (long long)total(m, "committer", "batches"),
                (long long)total(m, "committer", "corrupt"), (long long)m->backlog.files);
    m->last_rows = rows;
    m->last_log_ms = now;
}

static void on_message(monitor *m, const void *data, size_t len)
{
    lk_msg_type type;
    lk_error err;
    if (lk_msg_peek(data, len, &type, &err)) return;
    if (type == LK_MSG_PROGRESS) {
        /* batches commit in order: a report of a batch at or below the last one
           recorded is a replay's (its record is written already) */
        if (lk_msg_progress_decode(data, len, &m->rep_msg, &err) != 0)
            LK_WARN("dropped a malformed progress report: %s", err.msg);
        else if (!m->have_batch || m->rep_msg.batch_id > m->last_batch)
            lk_batches_add(m->batches, &m->rep_msg, lk_time_mono_ms());
    } else if (type == LK_MSG_EVENT) {
        lk_msg_event e;
        if (lk_msg_event_decode(data, len, &e, &err) == 0 && !strcmp(e.name, "progress"))
            on_heartbeat(m, &e);
    }
}

static int release(monitor *m, int rc)
{
    lk_http_destroy(&m->http);
    lk_notify_out_destroy(&m->notify);
    lk_alerts_destroy(&m->alerts);
    lk_batches_destroy(&m->batches);
    zsock_destroy(&m->in);
    zsock_destroy(&m->rep);
    zsock_destroy(&m->sup);
    lk_state_close(&m->st);
    free(m->sup_json);
    lk_buf_free(&m->buf);
    lk_buf_free(&m->tmp);
    free(m);
    return rc;
}

int lk_monitor_run(lk_worker *w)
{
    /* on the heap, not the stack: calloc's zero pages stay untouched (not
       resident) for the workers that never report; a memset stack copy
       made all MAX_WORKERS slots resident */
    monitor *m = calloc(1, sizeof *m);
    if (!m) abort();
    m->w = w;
    m->cfg = lk_worker_config(w);
    m->started_us = lk_time_now_us();
    m->started_ms = lk_time_mono_ms();
    m->last_log_ms = lk_time_mono_ms();
    for (int i = 0; i <= LK_PHASE_N; i++)
        lk_hist_init_seconds(&m->phase_hist[i]);
    lk_hist_init_seconds(&m->latency);
    m->alerts = lk_alerts_new();
    m->batches = lk_batches_new();
    m->notify = lk_notify_out_new(m->cfg->pipeline, "");
    char ep[1200];
    m->in = zsock_new(ZMQ_PULL);
    zsock_set_rcvhwm(m->in, 100000);
    lk_worker_endpoint(w, LK_EP_MONITOR, -1, ep, sizeof ep);
    if (zsock_bind(m->in, "%s", ep) < 0) {
        LK_ERROR("cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
        return release(m, LK_EXIT_TEMPFAIL);
    }
    m->rep = zsock_new(ZMQ_REP);
    lk_worker_endpoint(w, LK_EP_MONITOR_REP, -1, ep, sizeof ep);
    if (zsock_bind(m->rep, "%s", ep) < 0) {
        LK_ERROR("cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
        return release(m, LK_EXIT_TEMPFAIL);
    }
    start_http(m);
    open_state(m);
    lk_worker_ready(w);
    while (!lk_worker_stopping(w)) {
        lk_worker_tick(w);
        int64_t now = lk_time_mono_ms();
        if (now - m->last_eval_ms >= EVAL_INTERVAL_MS) {
            m->last_eval_ms = now;
            start_http(m);
            if (!m->sup_waiting) ask_sup(m);
            evaluate(m);
            sample(m);
        }
        int busy = lk_notify_out_run(m->notify, now);
        zmq_pollitem_t items[4] = {{zsock_resolve(m->in), 0, ZMQ_POLLIN, 0},
                                   {zsock_resolve(m->rep), 0, ZMQ_POLLIN, 0},
                                   {m->sup ? zsock_resolve(m->sup) : NULL, 0, ZMQ_POLLIN, 0},
                                   {NULL, m->http ? lk_http_fd(m->http) : -1, ZMQ_POLLIN, 0}};
        int nitems = m->http ? 4 : 3;
        if (!m->sup) { /* no REQ socket: poll nothing in its slot */
            items[2] = items[3];
            nitems--;
        }
        if (zmq_poll(items, nitems, busy ? 20 : 200) > 0) {
            if (items[0].revents & ZMQ_POLLIN) {
                zmq_msg_t msg;
                zmq_msg_init(&msg);
                for (int k = 0;
                     k < 10000 && zmq_msg_recv(&msg, zsock_resolve(m->in), ZMQ_DONTWAIT) >= 0; k++)
                    on_message(m, zmq_msg_data(&msg), zmq_msg_size(&msg));
                zmq_msg_close(&msg);
            }
            if (items[1].revents & ZMQ_POLLIN) answer_stats(m);
            if (m->sup && nitems >= 3 && items[2].socket && (items[2].revents & ZMQ_POLLIN))
                read_sup(m);
        }
        if (m->http) lk_http_run(m->http);
        finalize_due(m);
        maybe_log(m);
    }
    /* stopped last: every committed batch's report is in; records of the
       ones still in their grace period are written now, not lost (an
       available-now run exits right after its last commit) */
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    for (int k = 0; k < 10000 && zmq_msg_recv(&msg, zsock_resolve(m->in), ZMQ_DONTWAIT) >= 0; k++)
        on_message(m, zmq_msg_data(&msg), zmq_msg_size(&msg));
    zmq_msg_close(&msg);
    const lk_batch_rec *r;
    while ((r = lk_batches_ready(m->batches, INT64_MAX / 2, 0)))
        finalize(m, r);
    return release(m, 0);
}
