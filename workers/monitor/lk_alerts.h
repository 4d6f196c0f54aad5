/*
 * lk_alerts — alert rules evaluated by the monitor on its own clock, as
 * Databricks Jobs health rules and Prometheus alerting rules do it.
 *
 * Each rule (`alerts:` in the configuration: name, when "metric op
 * number", for, severity, summary) is inactive, pending (its condition
 * holds, `for` not yet elapsed) or firing. Only state changes are
 * notified: firing once when `for` has elapsed, resolved once when the
 * condition stops holding. Built-in alerts (worker_crash_loop per worker)
 * and one-shot events (schema_change) go through the same notices.
 * Nothing here blocks or does I/O: notices are handed to a callback (the
 * monitor queues them on its receivers, lk_notify_out).
 */
#ifndef LK_ALERTS_H
#define LK_ALERTS_H

#include <stdint.h>

#include "lk_buf.h"
#include "lk_config.h"
#include "lk_log.h"

typedef enum lk_alert_state {
    LK_ALERT_INACTIVE = 0,
    LK_ALERT_PENDING = 1,
    LK_ALERT_FIRING = 2,
} lk_alert_state;

/* One state change, as receivers get it. */
typedef struct lk_alert_notice {
    char name[64];
    char status[16]; /* "firing" or "resolved" */
    char severity[16];
    char summary[256];
    char description[512];
    char when[160]; /* the condition, "" for built-ins */
    char role[16];  /* worker_crash_loop: the worker; "" otherwise */
    int index;
    double value;               /* the metric when the state changed */
    int64_t starts_us, ends_us; /* ends_us 0 while firing */
    int event; /* 1: a one-shot event (schema_change): firing and resolved at once */
    /* the log lines about this alert while it fires (the `log: true` receiver's): noted when it
       fires, withdrawn from the process's last error when it resolves (lk_log_over); the
       alert's own, in its slot. NULL for events and refreshes. */
    lk_log_cond *said;
} lk_alert_notice;

typedef void (*lk_alert_cb)(void *ctx, const lk_alert_notice *n);
/* The value of a metric named in a rule; *ok = 0 when it is not known yet
   (the rule then keeps its state). */
typedef double (*lk_alert_metric_fn)(void *ctx, const char *metric, int *ok);

typedef struct lk_alerts lk_alerts;

lk_alerts *lk_alerts_new(void);
void lk_alerts_destroy(lk_alerts **a);

/* (Re)sets the configured rules; a rule whose name, condition and `for`
   are unchanged keeps its state (a reload does not re-fire it). A removed
   rule that was firing is resolved through cb. */
void lk_alerts_set_rules(lk_alerts *a, const lk_alert_rule *rules, int n, int64_t now_us,
                         lk_alert_cb cb, void *cb_ctx);
/* Evaluates every configured rule at now_us. */
void lk_alerts_eval(lk_alerts *a, lk_alert_metric_fn metric, void *metric_ctx, int64_t now_us,
                    lk_alert_cb cb, void *cb_ctx);
/* A built-in alert for one worker (worker_crash_loop): active or not now. */
void lk_alerts_builtin(lk_alerts *a, const char *name, const char *role, int index, int active,
                       double value, const char *severity, const char *summary, int64_t now_us,
                       lk_alert_cb cb, void *cb_ctx);
/* A one-shot event (schema_change): notified once, as firing and resolved together. */
void lk_alerts_event(lk_alerts *a, const char *name, const char *severity, const char *summary,
                     double value, int64_t now_us, lk_alert_cb cb, void *cb_ctx);

/* Pending and firing alerts as a JSON array of {name, state, severity,
   value, since, summary, role?, index?}. */
void lk_alerts_json(const lk_alerts *a, lk_buf *b);
/* How many alerts fire now. */
int lk_alerts_firing(const lk_alerts *a);
/* Calls cb with a firing notice of every alert that fires now (webhook receivers must be told
   again while an alert lasts: Alertmanager resolves what it stops hearing about). */
void lk_alerts_each_firing(const lk_alerts *a, lk_alert_cb cb, void *cb_ctx);

#endif
