/* lk_alerts — alert rules and their states; see lk_alerts.h. */
#include "lk_alerts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SLOTS (LK_MAX_ALERTS + 64)

typedef struct slot {
    int used, configured; /* configured: a rule of `alerts:`; else built-in */
    lk_alert_rule rule;   /* configured rules; built-ins fill name, severity, summary */
    char role[16];
    int index;
    lk_alert_state state;
    int64_t active_since_us; /* condition true since (pending/firing) */
    int64_t fired_us;
    double value;
    lk_log_cond said; /* lk_alert_notice.said while it fires */
} slot;

struct lk_alerts {
    slot s[MAX_SLOTS];
};

lk_alerts *lk_alerts_new(void)
{
    lk_alerts *a = calloc(1, sizeof *a);
    if (!a) abort();
    return a;
}

void lk_alerts_destroy(lk_alerts **a)
{
    if (a && *a) {
        free(*a);
        *a = NULL;
    }
}

static const char *op_text(lk_alert_op op)
{
    static const char *const t[] = {">", ">=", "<", "<=", "==", "!="};
    return op >= 0 && op <= LK_OP_NE ? t[op] : "?";
}

static int holds(lk_alert_op op, double v, double th)
{
    switch (op) {
    case LK_OP_GT:
        return v > th;
    case LK_OP_GE:
        return v >= th;
    case LK_OP_LT:
        return v < th;
    case LK_OP_LE:
        return v <= th;
    case LK_OP_EQ:
        return v == th;
    case LK_OP_NE:
        return v != th;
    }
    return 0;
}

static void notice_of(const slot *s, const char *status, int64_t now_us, lk_alert_notice *n)
{
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", s->rule.name);
    snprintf(n->status, sizeof n->status, "%s", status);
    snprintf(n->severity, sizeof n->severity, "%s",
             s->rule.severity[0] ? s->rule.severity : "warning");
    snprintf(n->when, sizeof n->when, "%s", s->rule.when);
    snprintf(n->role, sizeof n->role, "%s", s->role);
    n->index = s->index;
    n->value = s->value;
    n->starts_us = s->fired_us ? s->fired_us : now_us;
    n->ends_us = !strcmp(status, "resolved") ? now_us : 0;
    if (s->rule.summary[0])
        snprintf(n->summary, sizeof n->summary, "%s", s->rule.summary);
    else
        snprintf(n->summary, sizeof n->summary, "%s: %s (now %g)", s->rule.name, s->rule.when,
                 s->value);
    if (s->configured)
        snprintf(n->description, sizeof n->description,
                 "%s %s %g has held for %lld s (for: %lld s)", s->rule.metric, op_text(s->rule.op),
                 s->rule.threshold, (long long)((now_us - s->active_since_us) / 1000000),
                 (long long)(s->rule.for_ms / 1000));
    else
        snprintf(n->description, sizeof n->description, "%s", n->summary);
}

/* Moves s to active (condition true) or not at now; notifies on changes. */
static void step(slot *s, int active, int64_t now_us, lk_alert_cb cb, void *ctx)
{
    lk_alert_notice n;
    if (!active) {
        if (s->state == LK_ALERT_FIRING) {
            notice_of(s, "resolved", now_us, &n);
            n.said = &s->said;
            cb(ctx, &n);
        }
        s->state = LK_ALERT_INACTIVE;
        s->active_since_us = 0;
        s->fired_us = 0;
        return;
    }
    if (s->state == LK_ALERT_INACTIVE) {
        s->state = LK_ALERT_PENDING;
        s->active_since_us = now_us;
    }
    if (s->state == LK_ALERT_PENDING && now_us - s->active_since_us >= s->rule.for_ms * 1000) {
        s->state = LK_ALERT_FIRING;
        s->fired_us = now_us;
        notice_of(s, "firing", now_us, &n);
        n.said = &s->said;
        cb(ctx, &n);
    }
}

static int same_rule(const lk_alert_rule *a, const lk_alert_rule *b)
{
    return !strcmp(a->name, b->name) && !strcmp(a->when, b->when) && a->for_ms == b->for_ms;
}

void lk_alerts_set_rules(lk_alerts *a, const lk_alert_rule *rules, int n, int64_t now_us,
                         lk_alert_cb cb, void *cb_ctx)
{
    for (int i = 0; i < MAX_SLOTS; i++) {
        slot *s = &a->s[i];
        if (!s->used || !s->configured) continue;
        int keep = 0;
        for (int k = 0; k < n && !keep; k++)
            if (same_rule(&s->rule, &rules[k])) {
                s->rule = rules[k]; /* severity, summary may change */
                keep = 1;
            }
        if (!keep) {
            step(s, 0, now_us, cb, cb_ctx);
            memset(s, 0, sizeof *s);
        }
    }
    for (int k = 0; k < n; k++) {
        int have = 0;
        for (int i = 0; i < MAX_SLOTS && !have; i++)
            have = a->s[i].used && a->s[i].configured && same_rule(&a->s[i].rule, &rules[k]);
        for (int i = 0; i < MAX_SLOTS && !have; i++) {
            if (a->s[i].used) continue;
            memset(&a->s[i], 0, sizeof a->s[i]);
            a->s[i].used = a->s[i].configured = 1;
            a->s[i].rule = rules[k];
            have = 1;
        }
    }
}

void lk_alerts_eval(lk_alerts *a, lk_alert_metric_fn metric, void *metric_ctx, int64_t now_us,
                    lk_alert_cb cb, void *cb_ctx)
{
    for (int i = 0; i < MAX_SLOTS; i++) {
        slot *s = &a->s[i];
        if (!s->used || !s->configured) continue;
        int ok = 0;
        double v = metric(metric_ctx, s->rule.metric, &ok);
        if (!ok) continue;
        s->value = v;
        step(s, holds(s->rule.op, v, s->rule.threshold), now_us, cb, cb_ctx);
    }
}

void lk_alerts_builtin(lk_alerts *a, const char *name, const char *role, int index, int active,
                       double value, const char *severity, const char *summary, int64_t now_us,
                       lk_alert_cb cb, void *cb_ctx)
{
    slot *s = NULL, *free_slot = NULL;
    for (int i = 0; i < MAX_SLOTS && !s; i++) {
        slot *x = &a->s[i];
        if (x->used && !x->configured && !strcmp(x->rule.name, name) && !strcmp(x->role, role) &&
            x->index == index)
            s = x;
        else if (!x->used && !free_slot)
            free_slot = x;
    }
    if (!s) {
        if (!active || !free_slot) return;
        s = free_slot;
        memset(s, 0, sizeof *s);
        s->used = 1;
        snprintf(s->rule.name, sizeof s->rule.name, "%s", name);
        snprintf(s->role, sizeof s->role, "%s", role);
        s->index = index;
    }
    snprintf(s->rule.severity, sizeof s->rule.severity, "%s", severity);
    snprintf(s->rule.summary, sizeof s->rule.summary, "%s", summary);
    s->value = value;
    step(s, active, now_us, cb, cb_ctx);
    if (s->state == LK_ALERT_INACTIVE) memset(s, 0, sizeof *s);
}

void lk_alerts_event(lk_alerts *a, const char *name, const char *severity, const char *summary,
                     double value, int64_t now_us, lk_alert_cb cb, void *cb_ctx)
{
    (void)a;
    lk_alert_notice n;
    memset(&n, 0, sizeof n);
    snprintf(n.name, sizeof n.name, "%s", name);
    snprintf(n.status, sizeof n.status, "firing");
    snprintf(n.severity, sizeof n.severity, "%s", severity);
    snprintf(n.summary, sizeof n.summary, "%s", summary);
    snprintf(n.description, sizeof n.description, "%s", summary);
    n.value = value;
    n.starts_us = now_us;
    n.event = 1;
    cb(cb_ctx, &n);
}

void lk_alerts_json(const lk_alerts *a, lk_buf *b)
{
    lk_buf_putc(b, '[');
    int k = 0;
    for (int i = 0; i < MAX_SLOTS; i++) {
        const slot *s = &a->s[i];
        if (!s->used || s->state == LK_ALERT_INACTIVE) continue;
        char since[40];
        int64_t t = s->state == LK_ALERT_FIRING ? s->fired_us : s->active_since_us;
        snprintf(since, sizeof since, "%lld", (long long)(t / 1000));
        lk_buf_printf(b, "%s{\"name\":", k++ ? "," : "");
        lk_buf_json_string(b, s->rule.name, strlen(s->rule.name));
        lk_buf_printf(b, ",\"state\":\"%s\",\"severity\":",
                      s->state == LK_ALERT_FIRING ? "firing" : "pending");
        const char *sev = s->rule.severity[0] ? s->rule.severity : "warning";
        lk_buf_json_string(b, sev, strlen(sev));
        lk_buf_puts(b, ",\"value\":");
        lk_buf_number(b, s->value, 0);
        lk_buf_printf(b, ",\"since_ms\":%s,\"when\":", since);
        lk_buf_json_string(b, s->rule.when, strlen(s->rule.when));
        lk_buf_puts(b, ",\"summary\":");
        char sum[300];
        if (s->rule.summary[0])
            snprintf(sum, sizeof sum, "%s", s->rule.summary);
        else
            snprintf(sum, sizeof sum, "%s: %s (now %g)", s->rule.name, s->rule.when, s->value);
        lk_buf_json_string(b, sum, strlen(sum));
        if (s->role[0]) {
            lk_buf_puts(b, ",\"role\":");
            lk_buf_json_string(b, s->role, strlen(s->role));
            lk_buf_printf(b, ",\"index\":%d", s->index);
        }
        lk_buf_putc(b, '}');
    }
    lk_buf_putc(b, ']');
}

int lk_alerts_firing(const lk_alerts *a)
{
    int n = 0;
    for (int i = 0; i < MAX_SLOTS; i++)
        n += a->s[i].used && a->s[i].state == LK_ALERT_FIRING;
    return n;
}

void lk_alerts_each_firing(const lk_alerts *a, lk_alert_cb cb, void *cb_ctx)
{
    for (int i = 0; i < MAX_SLOTS; i++) {
        if (!a->s[i].used || a->s[i].state != LK_ALERT_FIRING) continue;
        lk_alert_notice n;
        notice_of(&a->s[i], "firing", a->s[i].fired_us, &n);
        cb(cb_ctx, &n);
    }
}
