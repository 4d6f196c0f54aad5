/*
 * lk_gold — the gold table event_metrics as the configuration defines
 * it (transform.event_time, transform.watermark, metrics.*), compiled for
 * one input schema (processed_events'), and its per-chunk half: the rows
 * of a chunk folded into partial window aggregates (lk_windows).
 *
 * The event time is an expression (usually a column): a TIMESTAMP, an
 * ISO-8601 string (cast as CAST(x AS TIMESTAMP): offsets and Z honoured),
 * epoch seconds, or epoch milliseconds (a number of magnitude >= 1e11 is
 * read as milliseconds: 1e11 s is the year 5138). group_by entries and
 * aggregate arguments are Spark SQL expressions compiled by sql/ into one
 * program; aggregates are count(*), count(x), sum, avg (mean), min, max
 * (numbers, dates, timestamps, booleans; strings and binaries by their
 * bytes), approx_count_distinct and approx_percentile(x, p | array(p, ...)).
 *
 * A row is turned away, and not aggregated, when its event time is null or
 * does not parse (reason no_event_time) or is older than the watermark in
 * force for its batch (reason late); lk_tables writes those rows to
 * quarantine. Window assignment is Spark's, aligned to the epoch:
 * tumbling [floor(t / size) * size, + size); sliding: every window of
 * length size starting at a multiple of slide that contains t; session
 * (Spark's session_window): [t, t + gap), merged with every session of the
 * key it overlaps, so a session is [first event, last event + gap).
 */
#ifndef LK_GOLD_H
#define LK_GOLD_H

#include <stdint.h>

#include "lk_batch.h"
#include "lk_config.h"
#include "lk_error.h"
#include "lk_schema.h"
#include "lk_sql.h"
#include "lk_windows.h"

#define LK_REASON_LATE "late"
#define LK_REASON_NO_EVENT_TIME "no_event_time"

typedef struct lk_gold lk_gold;

/* Compiles cfg's metrics over input. Errors name the file, line and key
   (metrics.group_by[1], metrics.aggregates.amount_sum, transform.event_time)
   and the position in the expression. */
int lk_gold_new(const lk_config *cfg, const lk_schema *input, lk_gold **out, lk_error *err);
void lk_gold_destroy(lk_gold **m);
/* What can be checked without a schema (the first start infers it): every
   expression parses, every aggregate is a known one and every function a
   known function. 0 or LK_ECONFIG naming file, line and key. */
int lk_gold_check(const lk_config *cfg, lk_error *err);
const lk_schema *lk_gold_partial_schema(const lk_gold *m);
const lk_schema *lk_gold_output_schema(const lk_gold *m);
/* An empty window state for this configuration (the committer's). */
lk_windows *lk_gold_windows_new(const lk_gold *m);
/* Window [start, end) containing event time t for window index k (0, 1, ...
   while it returns 1): tumbling has one, sliding size/slide. */
int lk_gold_window(const lk_config *cfg, int64_t t_us, int k, int64_t *start, int64_t *end);

/* Folds the rows of in (the input schema) with an event time at or after
   watermark_us into a fresh partial, and notes the others. */
int lk_gold_run(lk_gold *m, const lk_batch *in, int64_t watermark_us, int64_t now_us,
                   lk_error *err);
/* After a run: the partial (appended to out, lk_gold_partial_schema). */
void lk_gold_partial(const lk_gold *m, lk_batch *out);
/* After a run: the rows turned away: their indices in the input and
   their reasons (LK_REASON_LATE or LK_REASON_NO_EVENT_TIME). */
uint32_t lk_gold_turned_away(const lk_gold *m, const uint32_t **rows,
                                const char *const **reasons);

/* Event time (micros) from a value of the event-time column's kinds: an
   epoch number (seconds, or milliseconds from 1e11), for tests. */
int64_t lk_gold_epoch_us(double v);
/* The event time of row i of c (a column of the given type) in micros:
   1, or 0 when it has none (null, not a number, or outside Spark's
   TIMESTAMP range 0001..9999). Used by event_metrics and transform.dedupe. */
int lk_gold_event_time_us(lk_type type, const lk_col *c, uint32_t i, int64_t *us);
/* transform.event_time compiled into p, a string read as a TIMESTAMP and a decimal as a DOUBLE:
   *reg its register, *type the type lk_gold_event_time_us reads. 0, or LK_ECONFIG naming the
   file, line and key. Used by event_metrics and transform.dedupe. */
int lk_gold_compile_event_time(lk_sql_program *p, const lk_config *cfg, int *reg, lk_type *type,
                               lk_error *err);

#endif
