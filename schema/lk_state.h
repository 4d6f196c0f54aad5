/*
 * lk_state — state.db, the durable memory of a pipeline (SQLite, WAL).
 *
 * It holds what exactly-once rests on (docs/architecture.md, "Exactly
 * once"): discovered source files,
 * planned batches and their byte ranges (written before any data moves),
 * per-table commits, and table schemas with their history. Each piece of
 * state has one writer process: ingest writes files and batches, the
 * committer writes commits and marks batches committed; any process reads.
 * The DDL and its migrations live in lk_state.c (PRAGMA user_version).
 *
 * Every function returns 0 or a negative code and fills err; a failure to
 * persist is never ignored (the caller stops loudly).
 */
#ifndef LK_STATE_H
#define LK_STATE_H

#include <stdint.h>

#include "lk_error.h"
#include "lk_schema.h"

typedef struct lk_state lk_state;

typedef enum lk_file_state {
    LK_FILE_PENDING = 0,   /* discovered, not in a batch yet */
    LK_FILE_PLANNED = 1,   /* in a planned batch */
    LK_FILE_COMMITTED = 2, /* its batch is committed */
    LK_FILE_SKIPPED = 3,   /* unreadable or rejected; error says why */
} lk_file_state;

typedef struct lk_state_file {
    int64_t id;
    char path[1024];
    int64_t size;
    int64_t mtime_us;
    int64_t inode;
    int64_t device;
    lk_file_state state;
    int64_t batch_id; /* -1 if none */
    int64_t discovered_at_us;
    char error[256];
} lk_state_file;

/* One range of a planned batch: bytes [start, end) of a file. */
typedef struct lk_state_range {
    int64_t file_id;
    char path[1024];
    int64_t start, end;
    int64_t file_size, mtime_us;
    int64_t inode, head_hash; /* of the file when it was found (0: not known) */
} lk_state_range;

typedef enum lk_batch_state {
    LK_BATCH_PLANNED = 0,
    LK_BATCH_SEALED = 1, /* every chunk sent; n_chunks known */
    LK_BATCH_COMMITTED = 2,
} lk_batch_state;

typedef struct lk_state_batch {
    int64_t id;
    lk_batch_state state;
    int32_t n_chunks; /* -1 until sealed */
    int64_t planned_at_us, committed_at_us;
    int64_t bytes;
    int32_t gen; /* 0; +1 each time a replay re-plans it (a file changed or vanished) */
} lk_state_batch;

/* Opens (creating and migrating) the database at path; WAL mode,
   busy_timeout, synchronous=FULL; runs a quick integrity check. */
int lk_state_open(const char *path, lk_state **out, lk_error *err);
void lk_state_close(lk_state **s);

/* ---- files (ingest) ---- */
/* Records a discovered file; *is_new = 0 if the same (path, size, mtime)
   was known already. f->id is filled. */
int lk_state_file_add(lk_state *s, lk_state_file *f, int *is_new, lk_error *err);
/* Up to limit pending files, oldest first (by discovery, then path).
   *out is malloc'ed (caller frees). */
int lk_state_files_pending(lk_state *s, int limit, lk_state_file **out, int *n, lk_error *err);
/* Every known file (for `source list`), by id; *out malloc'ed. */
int lk_state_files_all(lk_state *s, lk_state_file **out, int *n, lk_error *err);
/* True (1) if the path is known (any state). */
int lk_state_file_known(lk_state *s, const char *path, int *known, lk_error *err);
int lk_state_file_skip(lk_state *s, int64_t file_id, const char *why, lk_error *err);
/* Notes why part of a file that is read anyway is missing from its rows (a damaged compressed
   stream, a file gone or shortened before its batch read it): `lakesupd source list` shows it
   beside the file's state. A skipped file keeps its reason. */
int lk_state_file_note(lk_state *s, int64_t file_id, const char *why, lk_error *err);
/* The end of the last range ever planned of file_id, or -1 (a Kafka
   partition's next offset to plan). */
int lk_state_file_planned_end(lk_state *s, int64_t file_id, int64_t *end, lk_error *err);

/* ---- batches (ingest plans, committer commits) ---- */
/* In one transaction: a new batch (id = last + 1, from 0) with ranges, its
   files marked planned. */
int lk_state_plan_batch(lk_state *s, const lk_state_range *ranges, int n, int64_t *batch_id,
                        lk_error *err);
/* The ranges of a batch, in plan order; *out malloc'ed. */
int lk_state_batch_ranges(lk_state *s, int64_t batch_id, lk_state_range **out, int *n,
                          lk_error *err);
int lk_state_batch_get(lk_state *s, int64_t batch_id, lk_state_batch *out, lk_error *err);
int lk_state_seal_batch(lk_state *s, int64_t batch_id, int32_t n_chunks, lk_error *err);
/* A replay that could not reproduce the batch (a file changed or vanished)
   seals it again as generation gen with n_chunks chunks. */
int lk_state_reseal_batch(lk_state *s, int64_t batch_id, int32_t gen, int32_t n_chunks,
                          lk_error *err);
/* Removes the range of file_id from an uncommitted batch (a Kafka partition
   another instance of the consumer group has committed past: the batch is
   re-planned without it, as the next generation). */
int lk_state_batch_drop_range(lk_state *s, int64_t batch_id, int64_t file_id, lk_error *err);
/* *found 1 if an uncommitted batch before before_batch has a range of
   file_id that ends at end (the range just before one that starts there). */
int lk_state_range_pending_to(lk_state *s, int64_t file_id, int64_t end, int64_t before_batch,
                              int *found, lk_error *err);
/* Ids of batches not committed, ascending; *out malloc'ed. */
int lk_state_batches_uncommitted(lk_state *s, int64_t **out, int *n, lk_error *err);
/* Highest committed batch id, or -1. */
int lk_state_last_committed_batch(lk_state *s, int64_t *id, lk_error *err);

/* ---- commits (committer) ---- */
/* Records that batch_id is in table at version (idempotent). */
int lk_state_record_commit(lk_state *s, int64_t batch_id, const char *table, int64_t version,
                           int64_t rows, int64_t files, lk_error *err);
/* Marks the batch and its files committed (after every table's commit). */
int lk_state_mark_committed(lk_state *s, int64_t batch_id, lk_error *err);

/* ---- schemas ---- */
/* The latest schema of table (*out NULL and *version 0 if none). */
int lk_state_schema_get(lk_state *s, const char *table, lk_schema **out, int *version,
                        lk_error *err);
/* Stores schema as the next version of table unless it equals the latest;
   *version gets the resulting latest version. */
int lk_state_schema_put(lk_state *s, const char *table, const lk_schema *schema, int *version,
                        lk_error *err);
/* Every version of table, oldest first (*out owned: free with
   lk_state_schema_history_free). */
typedef struct lk_state_schema_rev {
    int version;
    int64_t created_at_us;
    lk_schema *schema;
} lk_state_schema_rev;
int lk_state_schema_history(lk_state *s, const char *table, lk_state_schema_rev **out, int *n,
                            lk_error *err);
void lk_state_schema_history_free(lk_state_schema_rev **revs, int n);
/* A specific version. */
int lk_state_schema_at(lk_state *s, const char *table, int version, lk_schema **out,
                       lk_error *err);

/* ---- generic key/value (small settings, markers) ---- */
int lk_state_meta_get(lk_state *s, const char *key, char *out, size_t cap, int *found,
                      lk_error *err);
int lk_state_meta_set(lk_state *s, const char *key, const char *value, lk_error *err);

/* ---- fsck ---- */
/* PRAGMA integrity_check: "ok" or the first problems, into out. */
int lk_state_integrity(lk_state *s, char *out, size_t cap, lk_error *err);
/* Repair: records batch_id as committed without ranges, so that the next
   batch planned is batch_id + 1 (state rebuilt from the tables' txn). */
int lk_state_seed_committed(lk_state *s, int64_t batch_id, lk_error *err);
/* Repair: records the range [start, end) of file_id as part of batch_id
   (seeded committed): a Kafka partition's next offset is then end. */
int lk_state_seed_range(lk_state *s, int64_t batch_id, int64_t file_id, int64_t start, int64_t end,
                        lk_error *err);
/* Repair: marks file_id committed as part of batch_id. */
int lk_state_file_committed(lk_state *s, int64_t file_id, int64_t batch_id, lk_error *err);
/* Repair: batches after batch_id go back to planned (replayed at the next
   start), their files to planned, their commit records are dropped. */
int lk_state_uncommit_after(lk_state *s, int64_t batch_id, lk_error *err);

/* ---- replay (lakesupd replay) ---- */
/* In one transaction: the next batch id as a batch of no ranges, sealed
   with 0 chunks, and a pending replay of it with params (JSON: what it
   re-injects). */
int lk_state_replay_plan(lk_state *s, const char *params, int64_t *batch_id, lk_error *err);
/* The oldest replay not done: its batch and params (malloc'ed); *found 0 if none. */
int lk_state_replay_pending(lk_state *s, int64_t *batch_id, char **params, int *found,
                            lk_error *err);
/* The replay of batch_id is done (rows re-injected). */
int lk_state_replay_done(lk_state *s, int64_t batch_id, int64_t rows, lk_error *err);

/* ---- discovery, clean_source and `source list` ---- */
/* The row of exactly (path, size, mtime), any state; *found 0 if none. */
int lk_state_file_lookup(lk_state *s, const char *path, int64_t size, int64_t mtime_us,
                         lk_state_file *out, int *found, lk_error *err);
/* The latest row of path that was taken (not skipped); *found 0 if none. */
int lk_state_file_taken(lk_state *s, const char *path, lk_state_file *out, int *found,
                        lk_error *err);
/* A taken file with this identity (device, inode, size, mtime, head hash)
   under any path: the same file renamed or moved. */
int lk_state_file_same(lk_state *s, int64_t device, int64_t inode, int64_t size,
                       int64_t mtime_us, int64_t head_hash, lk_state_file *out, int *found,
                       lk_error *err);
/* Records n discovered files in one transaction: each pending, or skipped
   with why (when why is not empty), with its head hash. v[i].is_new = 0 if
   the same (path, size, mtime) was known already; v[i].file.id is filled. */
typedef struct lk_state_file_rec {
    lk_state_file file;
    int64_t head_hash;
    char why[512];
    int is_new;
} lk_state_file_rec;
int lk_state_files_record(lk_state *s, lk_state_file_rec *v, int n, lk_error *err);
/* Up to limit committed, not yet cleaned files whose batch committed at or
   before committed_before_us; *out malloc'ed. */
int lk_state_files_to_clean(lk_state *s, int64_t committed_before_us, int limit,
                            lk_state_file **out, int *n, lk_error *err);
/* *committed 1 if the file and its batch are committed (checked just before
   clean_source touches the file). */
int lk_state_file_committed_check(lk_state *s, int64_t file_id, int *committed, lk_error *err);
/* Records that clean_source handled the file (note: "deleted", "moved to …"). */
int lk_state_file_cleaned(lk_state *s, int64_t file_id, const char *note, lk_error *err);
/* Per-file counts of one batch, in one transaction (idempotent: a replayed
   commit overwrites). */
typedef struct lk_state_file_count {
    int64_t file_id;
    int64_t rows, corrupt, rescued;
} lk_state_file_count;
int lk_state_file_counts_put(lk_state *s, int64_t batch_id, const lk_state_file_count *v, int n,
                             lk_error *err);

/* The chunks [first_chunk, first_chunk + n_chunks) of a batch generation
   that came from one file (ingest writes them when it sends a batch; the
   committer turns per-chunk counts into per-file counts). */
typedef struct lk_state_file_span {
    int64_t file_id;
    int32_t first_chunk, n_chunks;
} lk_state_file_span;
int lk_state_file_spans_put(lk_state *s, int64_t batch_id, int32_t gen,
                            const lk_state_file_span *spans, int n, lk_error *err);
/* *out malloc'ed, by first_chunk. */
int lk_state_file_spans_get(lk_state *s, int64_t batch_id, int32_t gen, lk_state_file_span **out,
                            int *n, lk_error *err);

typedef struct lk_state_file_info {
    lk_state_file file;
    int64_t head_hash;
    int64_t rows, corrupt, rescued; /* -1 when not known (not committed yet) */
    int64_t cleaned_at_us;          /* 0 if clean_source has not touched it */
    char clean_note[256];
} lk_state_file_info;

/* Every file (or, pending_only, those pending or in a batch not committed),
   by id, with counts; *out malloc'ed. */
int lk_state_files_report(lk_state *s, int pending_only, lk_state_file_info **out, int *n,
                          lk_error *err);

/* ---- progress history (the monitor writes, `lakesupd progress` reads) ---- */
/* Stores the progress record (JSON) of a committed batch and, in the same
   transaction, drops records more than keep_batches batches old (> 0) and
   records older than keep_since_us (> 0). */
int lk_state_progress_put(lk_state *s, int64_t batch_id, int64_t ts_us, const char *json,
                          int64_t keep_batches, int64_t keep_since_us, lk_error *err);
/* The newest n records, oldest first: *out (n strings) freed with lk_state_progress_free. */
int lk_state_progress_last(lk_state *s, int n, char ***out, int *count, lk_error *err);
void lk_state_progress_free(char ***v, int n);

/* What is not committed yet: files pending or in an uncommitted batch
   (count, bytes), uncommitted batches, and since when the oldest of them
   waits (discovery of a file, planning of a batch; 0 = nothing waits). */
typedef struct lk_state_backlog {
    int64_t files, bytes, batches;
    int64_t oldest_us;       /* the oldest uncommitted input (file discovered / batch planned) */
    int64_t oldest_batch_us; /* the oldest uncommitted batch's planning, 0 if none */
} lk_state_backlog;
int lk_state_backlog_get(lk_state *s, lk_state_backlog *b, lk_error *err);

/* ---- event_metrics' window state (issue 12) ---- */
/* Stores the window state (an opaque blob: lk_windows' saved partial as a
   RECORDS message), the watermark (INT64_MIN = none) and update mode's file
   of open windows (NULL = none) after batch, and
   drops the states of batches before batch - 1. Written before the batch's
   gold commit: a restart resumes from the state of the last committed
   batch. */
int lk_state_windows_put(lk_state *s, int64_t batch, int64_t watermark_us, const void *state,
                         size_t len, const char *open_file, lk_error *err);
/* The latest state at or before batch: *found_batch (-1 = none), its
   watermark, (state not NULL) a malloc'ed copy of the blob, and (open_file
   not NULL) update mode's file of open windows in the table ("" = none). */
int lk_state_windows_get(lk_state *s, int64_t batch, int64_t *found_batch, int64_t *watermark_us,
                         void **state, size_t *len, char *open_file, size_t open_cap,
                         lk_error *err);

/* ---- transform.dedupe (issue 12) ---- */
#define LK_DEDUPE_STATE 0 /* the state after a batch (lk_dedupe_state's bytes) */
#define LK_DEDUPE_DROPS 1 /* a batch's rows found duplicated: (chunk, row) int32 pairs */
/* Stores data (n: entries) of kind for batch; storing a state also drops
   every row of batches before batch - 1. */
int lk_state_dedupe_put(lk_state *s, int64_t batch, int kind, int64_t n, const void *data,
                        size_t len, lk_error *err);
/* The entry of kind for batch (exact) or the latest at or before it:
   *found_batch (-1 = none), its n and (data not NULL) a malloc'ed copy. */
int lk_state_dedupe_get(lk_state *s, int64_t batch, int exact, int kind, int64_t *found_batch,
                        int64_t *n, void **data, size_t *len, lk_error *err);

#endif
