/*
 * lk_gold_commit — the committer's half of event_metrics: merging the
 * partial window aggregates of a batch into the window state, advancing
 * the watermark, closing windows, writing their rows as one Parquet file
 * and storing the state with the batch.
 *
 * Exactly once (docs/decisions.md, "Windowed aggregates"):
 *  - the state after batch b (open windows, watermark, counters) is
 *    written to state.db (windows table) *before* event_metrics' commit of
 *    b, and the state of b - 1 is kept: whatever the instant of a kill, a
 *    restart resumes from the state of the last batch the table has (the
 *    table's txn is the truth) and recomputes b from the same partials;
 *  - partials are merged in chunk order, so a recomputation gives the same
 *    state and the same rows, bit for bit;
 *  - a window is written only in the commit of the batch whose watermark
 *    passes its end, and then dropped from the state: never twice.
 */
#ifndef LK_GOLD_COMMIT_H
#define LK_GOLD_COMMIT_H

#include <stdint.h>

#include "lk_config.h"
#include "lk_error.h"
#include "lk_gold.h"
#include "lk_msg.h"
#include "lk_state.h"

typedef struct lk_gold_commit lk_gold_commit;

/* table_path: event_metrics' directory. st is borrowed. */
lk_gold_commit *lk_gold_commit_new(const lk_config *cfg, lk_state *st, const char *table_path);
void lk_gold_commit_destroy(lk_gold_commit **g);

/* Chunk k of batch b (generation gen) arrived: its partial (owned from
   here; NULL when none) is merged into the batch's accumulated partial as
   soon as chunks 0..k-1 are, so the committer holds one batch-sized state
   instead of every chunk's partial. Another batch or generation starts
   over. 0, or an error (the partial does not decode or merge). */
int lk_gold_commit_offer(lk_gold_commit *g, const lk_gold *gold, int64_t b, int32_t gen, int32_t k,
                         void *partial, size_t len, lk_error *err);
/* Drops what was offered (the batch is re-planned as a new generation). */
void lk_gold_commit_forget(lk_gold_commit *g);

/* Batch b of chunks[0..n): merges, closes, writes the closed windows'
   file (unless write_file is 0: the table has b already) and stores the
   state of b. gold: the configuration compiled for the current schema. */
int lk_gold_commit_prepare(lk_gold_commit *g, const lk_gold *gold, int64_t b,
                           const lk_msg_files *chunks, int n_chunks, int write_file,
                           lk_error *err);
/* After prepare: the files to add (*n of them: the closed windows; in
   update mode the open windows' too), and update mode's file of open
   windows of the batch before, to remove in the same commit (or NULL). */
const lk_msg_file *lk_gold_commit_files(const lk_gold_commit *g, int *n);
const char *lk_gold_commit_removed(const lk_gold_commit *g);
/* After prepare: the batch's rows turned away, the watermark after it
   (INT64_MIN = none), windows closed and still open. */
int64_t lk_gold_commit_late(const lk_gold_commit *g);
int64_t lk_gold_commit_no_event_time(const lk_gold_commit *g);
int64_t lk_gold_commit_watermark(const lk_gold_commit *g);
int64_t lk_gold_commit_closed(const lk_gold_commit *g);
int64_t lk_gold_commit_open(const lk_gold_commit *g);
/* The bytes of the window state stored with the last prepared batch. */
int64_t lk_gold_commit_state_bytes(const lk_gold_commit *g);
/* The batch is committed (ok) or not: in the latter case the state is
   reloaded from state.db before the next prepare. */
void lk_gold_commit_done(lk_gold_commit *g, int64_t b, int ok);

#endif
