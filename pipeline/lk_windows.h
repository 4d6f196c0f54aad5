/*
 * lk_windows — window state of the gold table event_metrics: one group per
 * (window, group key) with the partial aggregates of its rows.
 *
 * The same structure serves three places (docs/decisions.md, "Windowed
 * aggregates"): the transform folds the rows of one chunk into a fresh
 * state and saves it as a *partial* batch; the committer merges the
 * partials of each batch, in batch and chunk order, into the pipeline's
 * state, closes the windows the watermark passed (event_metrics rows) and
 * saves what stays open in state.db with the batch. Partial aggregates are
 * merged, never recomputed: count and sum add, min/max compare, avg keeps
 * sum and count. Merge is associative and order-independent except for the
 * rounding of floating-point sums, which is why every merge runs in one
 * fixed order (batch, then chunk).
 *
 * The partial batch (lk_windows_partial_schema) is
 *   window_start TIMESTAMP, window_end TIMESTAMP, the group keys,
 *   per aggregate: <name> (LONG or DOUBLE, the running value; BINARY for
 *   a sketch; the input's STRING or BINARY for min/max of those; for a
 *   DECIMAL(p,s) input, DECIMAL(38,s) holding sum and avg's exact running
 *   sum, null once it overflowed, and DECIMAL(p,s) for min/max) and
 *   <name>__n LONG (non-null inputs), then _late, _no_event_time and
 *   _max_event_time (LONG): set only on a meta row whose window_start is
 *   null (counts of the rows turned away, the largest event time seen).
 */
#ifndef LK_WINDOWS_H
#define LK_WINDOWS_H

#include <stdint.h>

#include "lk_batch.h"
#include "lk_error.h"
#include "lk_schema.h"

typedef enum {
    LK_AGG_COUNT_STAR = 1,
    LK_AGG_COUNT,
    LK_AGG_SUM, /* integral input: LONG; DECIMAL(p,s): DECIMAL(min(38, p+10), s), exact, null on
                   overflow (Spark's non-ANSI sum); else DOUBLE */
    LK_AGG_AVG, /* DOUBLE; DECIMAL(p,s): DECIMAL(min(38, p+4), min(38, s+4)), Spark's division
                   of the exact sum by the count */
    LK_AGG_MIN, /* the input's type; strings and binaries by their bytes (Spark's order) */
    LK_AGG_MAX,
    LK_AGG_APPROX_DISTINCT, /* approx_count_distinct: HLL++ (lk_hll), LONG */
    LK_AGG_PERCENTILE,      /* approx_percentile: t-digest (lk_tdigest), the input's type, or an
                               array of it for array(p1, p2, ...) */
} lk_agg_kind;

/* The most percentiles of one approx_percentile(col, array(...)). */
#define LK_AGG_MAX_PERCENTILES 32

typedef struct lk_agg_spec {
    const char *name;  /* the output column */
    lk_agg_kind kind;
    lk_type in_type;   /* the argument's type (COUNT_STAR: LONG) */
    int dec_p, dec_s;  /* in_type DECIMAL: its precision and scale */
    int is_double;     /* the running value is a double (else int64) */
    int is_bytes;      /* MIN/MAX: the running value is a string or binary (its bytes) */
    int hll_p;         /* APPROX_DISTINCT: the precision */
    double q[LK_AGG_MAX_PERCENTILES]; /* PERCENTILE: the quantiles, nq of them */
    int nq;
    int q_array;       /* PERCENTILE: array(...) given: the output is array<in_type> */
    double accuracy;   /* PERCENTILE: the t-digest's compression */
} lk_agg_spec;

/* The state of (window, key) groups. */
typedef struct lk_windows lk_windows;

/* keys: the group-key fields (names and types, copied); aggs: the
   aggregates (copied). */
lk_windows *lk_windows_new(const lk_field *keys, int nkeys, const lk_agg_spec *aggs, int nagg);
void lk_windows_destroy(lk_windows **w);
/* Session windows (Spark's session_window): lk_windows_group's [start,
   end) is a session of the key; overlapping sessions of a key merge
   (their aggregates folded, start the least, end the greatest), so any
   order of rows and partials gives the same sessions. */
void lk_windows_set_sessions(lk_windows *w);
/* Forgets every group and the counters. */
void lk_windows_reset(lk_windows *w);

/* The partial batch's schema and event_metrics' (window_start, window_end,
   the keys, the aggregates' final values); owned by w. */
const lk_schema *lk_windows_partial_schema(const lk_windows *w);
const lk_schema *lk_windows_output_schema(const lk_windows *w);

/* The group of window [start, end) and the key values of row i of keys
   (nkeys columns of the key types), created when new. Returns its index. */
uint32_t lk_windows_group(lk_windows *w, int64_t start, int64_t end, const lk_col *const *keys,
                          uint32_t row);
/* Folds one input value of aggregate a into group g: v is read as int64 or
   double by the aggregate's input; null values count nothing. COUNT_STAR
   takes NULL. */
void lk_windows_add(lk_windows *w, uint32_t g, int a, const lk_col *v, uint32_t row);
/* Counters of rows turned away, and the largest event time (micros) seen. */
void lk_windows_count(lk_windows *w, int64_t late, int64_t no_event_time, int64_t max_event_us);
int64_t lk_windows_late(const lk_windows *w);
int64_t lk_windows_no_event_time(const lk_windows *w);
/* INT64_MIN when no event time was seen */
int64_t lk_windows_max_event(const lk_windows *w);
uint32_t lk_windows_ngroups(const lk_windows *w);

/* Merges a partial batch (lk_windows_partial_schema) into w: its groups
   and its meta row's counters. 0, or LK_EFORMAT when the batch does not
   have the partial schema. */
int lk_windows_merge(lk_windows *w, const lk_batch *partial, lk_error *err);
/* Appends every group (and the meta row) to out (partial schema). */
void lk_windows_save(const lk_windows *w, lk_batch *out);
/* Appends the groups whose window_end <= watermark to out (output schema),
   ordered by window_start then key, and removes them from w. Returns the
   number of rows appended. */
uint32_t lk_windows_close(lk_windows *w, int64_t watermark_us, lk_batch *out);
/* Appends every group to out (output schema, same order), removing none. */
uint32_t lk_windows_emit_all(const lk_windows *w, lk_batch *out);

#endif
