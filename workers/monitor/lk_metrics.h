/*
 * lk_metrics — the monitor's instruments and the Prometheus text exposition
 * format (version 0.0.4) they are written in.
 *
 * A histogram has fixed upper bounds (seconds) and cumulative counts as
 * Prometheus wants them; a window keeps the last observations for exact
 * recent quantiles (the dashboard's p50/p99, the latency alert). The
 * writers escape label values and print numbers the way promtool accepts
 * them (+Inf, NaN, no locale).
 */
#ifndef LK_METRICS_H
#define LK_METRICS_H

#include <stdint.h>

#include "lk_buf.h"

#define LK_HIST_MAX_BUCKETS 24

typedef struct lk_hist {
    int n;                               /* finite bounds */
    double le[LK_HIST_MAX_BUCKETS];      /* ascending */
    uint64_t count[LK_HIST_MAX_BUCKETS]; /* not cumulative: observations <= le[i] and > le[i-1] */
    uint64_t total;
    double sum;
} lk_hist;

/* Bounds for durations and latencies, 5 ms to 1 hour. */
void lk_hist_init_seconds(lk_hist *h);
void lk_hist_observe(lk_hist *h, double v);

/* The last LK_WINDOW_N observations, for quantiles of what is recent. */
#define LK_WINDOW_N 1024
typedef struct lk_window {
    double v[LK_WINDOW_N];
    int n, next;
} lk_window;

void lk_window_add(lk_window *w, double v);
/* The share (0..1) of the window's observations at most x, or -1 when it is empty. */
double lk_window_share_le(const lk_window *w, double x);
/* The q-quantile (0..1, nearest rank) of the window, or -1 when it is empty. */
double lk_window_quantile(const lk_window *w, double q);

/* ---- the text format ---- */
/* "# HELP name help\n# TYPE name type\n" */
void lk_prom_family(lk_buf *b, const char *name, const char *type, const char *help);
/* A family of one unlabelled sample: HELP, TYPE and `name value`. */
void lk_prom_one(lk_buf *b, const char *name, const char *type, const char *help, double v);
/* name{labels} value\n, labels already rendered as `a="x",b="y"` (or ""). */
void lk_prom_sample(lk_buf *b, const char *name, const char *labels, double v);
/* Appends `key="value"` (with a leading comma when b's labels are not empty) with the value
   escaped (backslash, quote, newline) into a label buffer. */
void lk_prom_label(lk_buf *labels, const char *key, const char *value);
/* The _bucket/_sum/_count lines of h with the extra labels (may be ""). */
void lk_prom_hist(lk_buf *b, const char *name, const char *labels, const lk_hist *h);

/* ---- JSON numbers and times (the monitor's JSON pages) ---- */
/* "key":v, or "key":null when v is not finite. */
void lk_json_num(lk_buf *b, const char *key, double v);
/* ,"key":v (as lk_json_num, after a comma) */
void lk_json_more_num(lk_buf *b, const char *key, double v);
/* "key":"2026-11-24T09:30:00.123Z" for us since the epoch. */
void lk_json_time(lk_buf *b, const char *key, int64_t us);

#endif
