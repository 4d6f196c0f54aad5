/*
 * lk_restart — restart backoff, intensity and death tally; see lk_restart.h.
 */
#include "lk_restart.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct death {
    int64_t at_ms; /* wall clock */
    char cause[96];
    char last_error[224];
} death;

struct lk_restart {
    lk_restart_policy p;
    uint32_t rng;
    int64_t started_ms;
    int64_t backoff_ms;
    int deaths;
    int64_t *restart_ms; /* ring of intensity_max + 1 monotonic restart times */
    death tally[LK_RESTART_TALLY];
};

lk_restart *lk_restart_new(const lk_restart_policy *p, uint32_t seed)
{
    lk_restart *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->p = *p;
    if (r->p.intensity_max < 1)
        r->p.intensity_max = 1;
    r->restart_ms = calloc((size_t)r->p.intensity_max + 1, sizeof *r->restart_ms);
    if (!r->restart_ms) {
        free(r);
        return NULL;
    }
    r->rng = seed ? seed : 0x9e3779b9u;
    r->backoff_ms = r->p.backoff_min_ms;
    return r;
}

void lk_restart_destroy(lk_restart **r)
{
    if (!r || !*r)
        return;
    free((*r)->restart_ms);
    free(*r);
    *r = NULL;
}

void lk_restart_started(lk_restart *r, int64_t now_ms)
{
    r->started_ms = now_ms;
}

static uint32_t next_rand(lk_restart *r)
{
    /* xorshift32 */
    uint32_t x = r->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return r->rng = x;
}

int lk_restart_recent(const lk_restart *r, int64_t now_ms)
{
    int n = 0;
    int ring = r->p.intensity_max + 1;
    for (int k = 0; k < ring && k < r->deaths; k++)
        n += now_ms - r->restart_ms[k] <= r->p.intensity_period_ms;
    return n;
}

int lk_restart_died(lk_restart *r, int64_t now_ms, int64_t wall_ms, const char *cause,
                    const char *last_error, int64_t *delay_ms)
{
    death *d = &r->tally[r->deaths % LK_RESTART_TALLY];
    d->at_ms = wall_ms;
    snprintf(d->cause, sizeof d->cause, "%s", cause ? cause : "");
    snprintf(d->last_error, sizeof d->last_error, "%s", last_error ? last_error : "");
    r->restart_ms[r->deaths % (r->p.intensity_max + 1)] = now_ms;
    r->deaths++;

    if (now_ms - r->started_ms >= r->p.healthy_reset_ms || r->deaths == 1) {
        /* the first death, or the first after a healthy run: restart at
           once (a sporadic kill costs no backoff); the backoff starts
           with the next one */
        r->backoff_ms = r->p.backoff_min_ms;
        *delay_ms = 0;
        return lk_restart_recent(r, now_ms) > r->p.intensity_max;
    }
    int64_t jitter = r->backoff_ms >= 4 ? (int64_t)(next_rand(r) % (uint32_t)(r->backoff_ms / 4)) : 0;
    *delay_ms = r->backoff_ms + jitter;
    r->backoff_ms = r->backoff_ms * 2 > r->p.backoff_max_ms ? r->p.backoff_max_ms : r->backoff_ms * 2;
    return lk_restart_recent(r, now_ms) > r->p.intensity_max;
}

int lk_restart_count(const lk_restart *r)
{
    return r->deaths;
}

int64_t lk_restart_backoff(const lk_restart *r)
{
    return r->backoff_ms;
}

const char *lk_restart_last_cause(const lk_restart *r)
{
    return r->deaths ? r->tally[(r->deaths - 1) % LK_RESTART_TALLY].cause : "";
}

void lk_restart_tally_json(const lk_restart *r, lk_buf *out)
{
    lk_buf_putc(out, '[');
    int n = r->deaths < LK_RESTART_TALLY ? r->deaths : LK_RESTART_TALLY;
    for (int k = 0; k < n; k++) {
        const death *d = &r->tally[(r->deaths - 1 - k) % LK_RESTART_TALLY];
        lk_buf_printf(out, "%s{\"at_ms\":%lld,\"cause\":", k ? "," : "", (long long)d->at_ms);
        lk_buf_json_string(out, d->cause, strlen(d->cause));
        lk_buf_puts(out, ",\"last_error\":");
        lk_buf_json_string(out, d->last_error, strlen(d->last_error));
        lk_buf_putc(out, '}');
    }
    lk_buf_putc(out, ']');
}
