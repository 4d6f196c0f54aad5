/*
 * lk_dedupe — transform.dedupe (Spark's dropDuplicatesWithinWatermark)
 * compiled for processed_events' schema, and its per-chunk half.
 *
 * The decision "is this row a duplicate" needs one order over the whole
 * stream, and chunks are transformed in parallel: the transform cannot
 * take it. So, per chunk, the transform lists the key hash, event time and
 * row (lk_tables names it by its index among the chunk's raw rows) of
 * every processed_events row that has an event time (lk_dedupe_run: the
 * key list, one more RECORDS part, LK_DEDUPE_PART, that the writer forwards
 * in the chunk's HOLD report); the committer judges them in (batch, chunk,
 * row) order against the durable state (workers/committer/lk_dedupe_commit).
 * When a batch holds duplicates the committer stores their (chunk, row)
 * in state.db and has the batch replayed; the transform of the replay
 * removes those rows from processed_events (lk_dedupe_filter) before the
 * derived tables, event_metrics and the key list are made from it
 * (docs/decisions.md, "Dedupe: one decision in the committer, drops by
 * replay").
 *
 * The keys and the event time refer to processed_events' columns (as
 * metrics.group_by does); the event time is transform.event_time, read as
 * event_metrics reads it (a timestamp, an ISO-8601 string, epoch seconds or
 * milliseconds). Rows without an event time are never duplicates.
 */
#ifndef LK_DEDUPE_H
#define LK_DEDUPE_H

#include <stdint.h>

#include "lk_batch.h"
#include "lk_config.h"
#include "lk_error.h"
#include "lk_schema.h"

/* The RECORDS part of a chunk's key list (not a table: never written). */
#define LK_DEDUPE_PART "_dedupe"

typedef struct lk_dedupe lk_dedupe;

/* An entry of a batch's drop list (state.db, LK_DEDUPE_DROPS: an array of
   them sorted by chunk, row): row `row` of chunk `chunk`'s processed_events,
   valid while the chunk's identity is src (lk_dedupe_chunk_src). */
typedef struct lk_dedupe_drop {
    int32_t chunk, row;
    int64_t src;
} lk_dedupe_drop;

/* Compiles cfg's transform.dedupe over processed (processed_events'
   schema). Errors name file, line and key (transform.dedupe.keys[1]: no
   such column, not a scalar column; transform.event_time). */
int lk_dedupe_new(const lk_config *cfg, const lk_schema *processed, lk_dedupe **out, lk_error *err);
void lk_dedupe_destroy(lk_dedupe **d);
/* The key list's schema: hi LONG, lo LONG (the key's 128-bit hash),
   t LONG (event time, micros), row INTEGER (ordinal). */
const lk_schema *lk_dedupe_keys_schema(const lk_dedupe *d);
/* Appends to keys (reset first) a header row (row -1, hi = src: the
   chunk's identity, which a drop list is checked against: a batch
   re-planned from other bytes has other chunks), then one entry per row of
   in (the chunk's processed_events before any drop: ordinal = index) that
   has an event time and is not in skip (ascending ordinals: the rows to
   drop). */
int lk_dedupe_run(lk_dedupe *d, const lk_batch *in, const int32_t *skip, int nskip, int64_t src,
                  int64_t now_us, lk_batch *keys, lk_error *err);
/* A chunk's identity: its file, offset and length. */
int64_t lk_dedupe_chunk_src(const char *file, int64_t offset, int64_t len);
/* Copies the rows of in whose ordinal is not in drop (ascending) to out
   (reset first, in's schema); marks kept[i] (in's row i) 1 or 0. Returns
   the rows dropped. */
uint32_t lk_dedupe_filter(const lk_batch *in, const int32_t *drop, int ndrop, lk_batch *out,
                          uint8_t *kept);
/* The hash of row i of the columns cols[0..n) (a null differs from every
   value, and from an empty string; integers hash as 64-bit, floats as
   doubles, so a widened column keeps its keys). */
void lk_dedupe_row_hash(const lk_col *const *cols, int n, uint32_t i, uint64_t *hi, uint64_t *lo);

#endif
