/*
 * lk_dedupe_commit — the committer's half of transform.dedupe (Spark's
 * dropDuplicatesWithinWatermark): the one place where rows are judged
 * duplicates, in the pipeline's one order (batch, chunk, row), against the
 * state of the batches committed before (pipeline/lk_dedupe_state).
 *
 * Exactly once (docs/decisions.md, "Dedupe: one decision in the committer,
 * drops by replay"):
 *  - batch b is judged only when it is the next to commit: the state of
 *    b - 1 is final (batches commit in order);
 *  - a batch whose key lists hold a duplicate is not committed: the rows
 *    found are added to b's drop list in state.db (durable before anything
 *    else happens) and the batch is replayed; the replay's transforms drop
 *    those rows before processed_events feeds anything, so its key lists
 *    hold no duplicate any more and it commits. Chunks are a function of the
 *    planned bytes, so a row's (chunk, raw row) names the same row in every
 *    generation;
 *  - the state after b (keys kept, those the watermark passed dropped) is
 *    stored in state.db *before* b's commits, the state of b - 1 kept: a
 *    restart judges b again from b - 1's state and decides the same.
 */
#ifndef LK_DEDUPE_COMMIT_H
#define LK_DEDUPE_COMMIT_H

#include <stdint.h>

#include "lk_config.h"
#include "lk_error.h"
#include "lk_msg.h"
#include "lk_state.h"

typedef struct lk_dedupe_commit lk_dedupe_commit;

/* st is borrowed. */
lk_dedupe_commit *lk_dedupe_commit_new(const lk_config *cfg, lk_state *st);
void lk_dedupe_commit_destroy(lk_dedupe_commit **g);

/* Judges batch b from its chunks' key lists (chunks[k].dedupe, k in
   [0, n_chunks)). 0: no duplicate left: the state after b is stored;
   1: duplicates found: b's drop list in state.db now names them, and the
   batch must be replayed; < 0: an error (a key list missing or malformed,
   state.db), err set. */
int lk_dedupe_commit_prepare(lk_dedupe_commit *g, int64_t b, const lk_msg_files *chunks,
                             int n_chunks, lk_error *err);
/* After prepare: the rows of b dropped as duplicates (returned 0: by its
   replays; 1: found so far), the new ones of this prepare, the keys in the
   state and the dedupe watermark (INT64_MIN = none). */
int64_t lk_dedupe_commit_dropped(const lk_dedupe_commit *g);
int64_t lk_dedupe_commit_found(const lk_dedupe_commit *g);
int64_t lk_dedupe_commit_keys(const lk_dedupe_commit *g);
int64_t lk_dedupe_commit_watermark(const lk_dedupe_commit *g);
int64_t lk_dedupe_commit_state_bytes(const lk_dedupe_commit *g);
/* Batch b committed (ok) or not (the state is reloaded before the next
   prepare). */
void lk_dedupe_commit_done(lk_dedupe_commit *g, int64_t b, int ok);

#endif
