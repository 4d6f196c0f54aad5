/*
 * lk_delta_checkpoint — Delta checkpoints: converts a snapshot's actions
 * (as JSON lines, one action object per line) into a Parquet checkpoint and
 * reads checkpoints (classic single-file, one part of a multi-part one, v2
 * JSON or Parquet with sidecars) back into actions.
 *
 * It knows the checkpoint's Parquet layout (PROTOCOL.md "Checkpoint Schema":
 * one nullable struct column per action type, exactly one set per row) and
 * nothing of log replay: lk_delta owns the snapshot and feeds/consumes
 * actions through these two functions. Internal to lake/.
 */
#ifndef LK_DELTA_CHECKPOINT_H
#define LK_DELTA_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>

#include "lk_error.h"

/* Called once per action read: kind is "add", "remove", "metaData", ...;
   action is that action's object (valid during the call); where names the
   file and row for error messages. A non-zero return stops the read. */
typedef int (*lk_delta_action_fn)(void *ctx, const char *kind, yajl_val action, const char *where,
                                  lk_error *err);

/*
 * Reads one checkpoint file (".parquet" or a v2 ".json") and calls fn for
 * each action in it. A v2 sidecar action makes it read
 * log_dir/_sidecars/<path> in place. checkpointMetadata actions are passed
 * on like the others.
 */
int lk_delta_checkpoint_read(const char *path, const char *log_dir, lk_delta_action_fn fn,
                             void *ctx, lk_error *err);

typedef struct lk_delta_checkpoint_info {
    int64_t size;          /* number of actions (rows) */
    int64_t size_in_bytes; /* of the Parquet file */
    int64_t num_add_files;
} lk_delta_checkpoint_info;

/*
 * Writes the actions in jsonl (one action object per line: protocol,
 * metaData, txn, add, remove) as a classic Parquet checkpoint at path:
 * written under a temp name, fsynced, then link()ed to path and the
 * directory fsynced, so a reader sees the whole checkpoint or none. An
 * existing path (a concurrent writer's checkpoint of the same version) is
 * success. Fault point "delta.checkpoint" is checked after the temp file is
 * written and before it is linked.
 */
int lk_delta_checkpoint_write(const char *path, const char *jsonl, size_t len,
                              lk_delta_checkpoint_info *info, lk_error *err);

/*
 * The same, streamed: open, put action lines in any number of pieces (each
 * piece whole lines), finish. Rows go to the Parquet writer in batches of
 * CHECKPOINT_BATCH_ROWS, so memory does not grow with the number of
 * actions beyond the writer's row group. finish() does what
 * lk_delta_checkpoint_write() does after the last line (fault point, link,
 * directory fsync) and frees the writer, as abort() does without linking.
 */
typedef struct lk_delta_checkpoint_writer lk_delta_checkpoint_writer;
int lk_delta_checkpoint_writer_open(const char *path, lk_delta_checkpoint_writer **out,
                                    lk_error *err);
int lk_delta_checkpoint_writer_put(lk_delta_checkpoint_writer *w, const char *jsonl, size_t len,
                                   lk_error *err);
int lk_delta_checkpoint_writer_finish(lk_delta_checkpoint_writer **w,
                                      lk_delta_checkpoint_info *info, lk_error *err);
void lk_delta_checkpoint_writer_abort(lk_delta_checkpoint_writer **w);

#endif
