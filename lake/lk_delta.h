/*
 * lk_delta — the Delta Lake transaction log: read (log replay) and write
 * (atomic, optimistic-concurrency commits). Hand-written: no packaged C
 * library implements the Delta protocol (PROTOCOL.md of delta-io/delta).
 *
 * A table handle holds the snapshot of one table directory: the latest
 * protocol, metaData, live files and per-appId txn versions, replayed from
 * the newest checkpoint (via _last_checkpoint, or listing) and the JSON
 * commits after it. lk_delta_refresh() catches up incrementally.
 *
 * Commits are created put-if-absent: a fully written, fsynced temp file is
 * link()ed to _delta_log/<version:020>.json, then the directory is fsynced.
 * EEXIST means a concurrent writer won: the commit re-reads the newer
 * versions, checks them for conflicts by the protocol's rules (a newer
 * protocol/metaData change, or a txn for the same appId, is a conflict;
 * other blind appends are not) and retries at the next version.
 */
#ifndef LK_DELTA_H
#define LK_DELTA_H

#include <stdint.h>

#include "lk_buf.h"
#include "lk_error.h"
#include "lk_parquet_writer.h"
#include "lk_schema.h"

typedef struct lk_delta_table lk_delta_table;

/* One live data file of the snapshot. */
typedef struct lk_delta_file {
    const char *path; /* as in the log: relative to the table root, URL-encoded */
    int64_t size;
    int64_t modification_time;         /* ms */
    int64_t num_records;               /* from stats, -1 if absent */
    const char *partition_values_json; /* {"col":"value",...} or "{}" */
    const char *stats_json;            /* or NULL */
    const char *deletion_vector_json;  /* the add's deletionVector object, or NULL */
} lk_delta_file;

/* Opens the table at table_path (the directory holding _delta_log) and
   replays its log. A directory without a log is a table at version -1. */
int lk_delta_open(const char *table_path, lk_delta_table **out, lk_error *err);
/*
 * Opens the table for appending (the committer's long-lived handle): the
 * handle keeps protocol, metaData, the txns, the version and only the file
 * actions since the newest checkpoint, not the file list, so its memory
 * does not grow with the table. Commits (conflict checks, txn idempotency)
 * and refresh work as on a full handle; lk_delta_checkpoint() streams the
 * previous checkpoint a row group at a time with the later changes applied
 * and writes the same actions a full handle would. lk_delta_nfiles() is 0,
 * lk_delta_file_at() NULL and lk_delta_foreach_retained() sees only the
 * changes: readers open full handles. lk_delta_num_records() is exact (it
 * re-reads the checkpoint after a remove of a file older than it). A remove
 * committed through it carries no size (extendedFileMetadata false) unless
 * the file was added since the checkpoint.
 */
int lk_delta_open_log(const char *table_path, lk_delta_table **out, lk_error *err);
/* Time travel: the snapshot as of version (read-only; refresh keeps it
   there, commits are refused). LK_ENOTFOUND names the latest or the oldest
   retained version when version is outside them. */
int lk_delta_open_version(const char *table_path, int64_t version, lk_delta_table **out,
                          lk_error *err);
/* Time travel by timestamp (ms since the epoch): the latest version
   committed at or before ts_ms (commit timestamps as lk_delta_history.h
   describes). LK_ENOTFOUND names the earliest or latest version when ts_ms
   is before the first retained commit or after the latest. */
int lk_delta_open_timestamp(const char *table_path, int64_t ts_ms, lk_delta_table **out,
                            lk_error *err);
void lk_delta_destroy(lk_delta_table **t);
/* Reads versions committed since the last replay. */
int lk_delta_refresh(lk_delta_table *t, lk_error *err);

const char *lk_delta_path(const lk_delta_table *t);
int64_t lk_delta_version(const lk_delta_table *t); /* -1: no commit yet */
/* The table's schema (latest metaData), or NULL before the first commit. */
const lk_schema *lk_delta_schema(const lk_delta_table *t);
/* Latest txn version for app_id, or -1. */
int64_t lk_delta_txn_version(const lk_delta_table *t, const char *app_id);
int lk_delta_nfiles(const lk_delta_table *t);
const lk_delta_file *lk_delta_file_at(const lk_delta_table *t, int i);
/* Appends the local form of a log path (percent-decoded) to out. */
void lk_delta_url_decode(const char *path, lk_buf *out);
/* Sum of numRecords over live files (files without stats count 0). */
int64_t lk_delta_num_records(const lk_delta_table *t);

/* A table property (metaData.configuration), or NULL. */
const char *lk_delta_property(const lk_delta_table *t, const char *key);
/* Milliseconds of a Delta interval property ("interval 7 days", "1 week",
   "168 hours"); dflt when s is NULL or unparseable. */
int64_t lk_delta_interval_ms(const char *s, int64_t dflt);
/* The latest metaData / protocol action as compact JSON, or NULL. */
const char *lk_delta_metadata_json(const lk_delta_table *t);
const char *lk_delta_protocol_json(const lk_delta_table *t);
/* The checkpoint version the snapshot was replayed from, or -1. */
int64_t lk_delta_checkpoint_version(const lk_delta_table *t);

/*
 * Writes a classic Parquet checkpoint of the current snapshot at its
 * version (_delta_log/<v:020>.checkpoint.parquet, atomically), then
 * _last_checkpoint if it names an older version. Commits call it every
 * delta.checkpointInterval versions (default 10) and only log a failure.
 */
int lk_delta_checkpoint(lk_delta_table *t, lk_error *err);

/*
 * Log cleanup per delta.logRetentionDuration (default 30 days; off when
 * delta.enableExpiredLogCleanup is false): deletes the commit files,
 * checkpoints and .crc files of versions before the newest checkpoint that
 * has only expired commits (mtime < now_ms - retention) before it, so every
 * version left stays reconstructable. Runs after each automatic checkpoint.
 */
int lk_delta_cleanup_log(lk_delta_table *t, int64_t now_ms, int *removed, lk_error *err);

/* Calls fn for every file vacuum must keep: the live files and the files
   removed at or after min_deletion_ts (tombstones inside the retention),
   with the path as in the log and the deletionVector JSON (or NULL). */
void lk_delta_foreach_retained(const lk_delta_table *t, int64_t min_deletion_ts,
                               void (*fn)(void *ctx, const char *path, const char *dv_json),
                               void *ctx);

/* ---- commits ---- */
typedef struct lk_delta_commit lk_delta_commit;

/* A commit on top of t's current snapshot; operation as in commitInfo
   ("STREAMING UPDATE", "WRITE", "OPTIMIZE", ...). */
lk_delta_commit *lk_delta_commit_new(lk_delta_table *t, const char *operation);
void lk_delta_commit_destroy(lk_delta_commit **c);
/* Adds a metaData action with schema s (and protocol 1/2 on the first
   commit). Required on the first commit of a table; later, evolution. */
void lk_delta_commit_set_schema(lk_delta_commit *c, const lk_schema *s);
/* add action; path relative to the table root (not yet URL-encoded);
   stats_json may be NULL. */
void lk_delta_commit_add_file(lk_delta_commit *c, const char *path, int64_t size,
                              int64_t modification_time_ms, const char *stats_json,
                              int data_change);
/* add action for a file of a partitioned table: partition_values_json is
   {"col":"value" or null,...} with the values as the protocol serialises
   them (strings; dates "2026-11-24", timestamps "2026-11-24 09:30:00"). */
void lk_delta_commit_add_file_partitioned(lk_delta_commit *c, const char *path,
                                          const char *partition_values_json, int64_t size,
                                          int64_t modification_time_ms, const char *stats_json,
                                          int data_change);
/* metaData.partitionColumns (with set_schema, on the table's first commit). */
void lk_delta_commit_set_partition_columns(lk_delta_commit *c, const char *const *cols, int n);
/* Appends the Hive-style directory of one partition value, "col=value",
   escaped as Spark does (%XX for control characters, NUL among them, and
   each of " # % ' * / : = ? \ { [ ] ^): a value can never name another
   folder ("../x" is "col=..%2Fx"); a NULL or empty value is
   __HIVE_DEFAULT_PARTITION__. A name longer than max bytes (at least 40)
   is shortened stably: its first max - 17 bytes, '~' and 16 hex digits of
   a hash of the value. The add path that contains it is then URL-encoded by
   the commit as for any path. value is len bytes (it may hold NUL). */
#define LK_DELTA_PARTITION_DIR_MAX 200 /* below NAME_MAX (255) with room to spare */
void lk_delta_partition_dir_n(const char *col, const char *value, size_t len, size_t max,
                              lk_buf *out);
/* The same for a NUL-terminated value, at most LK_DELTA_PARTITION_DIR_MAX bytes. */
void lk_delta_partition_dir(const char *col, const char *value, lk_buf *out);
/* remove action for a live file (path as in the log). */
void lk_delta_commit_remove_file(lk_delta_commit *c, const char *path, int data_change);
/* Sets (value NULL: removes) a table property in metaData.configuration,
   e.g. "delta.checkpointInterval" = "10"; the commit then carries a
   metaData action (the current schema unless set_schema gave another) that
   keeps the other properties. */
void lk_delta_commit_set_property(lk_delta_commit *c, const char *key, const char *value);
/* txn action: idempotent streaming writes (appId, version). */
void lk_delta_commit_set_txn(lk_delta_commit *c, const char *app_id, int64_t version);
/* commitInfo.operationParameters entry (value is JSON text). */
void lk_delta_commit_set_param(lk_delta_commit *c, const char *key, const char *json_value);
/*
 * Writes the commit at the next version, retrying on top of concurrent
 * blind appends. Returns 0 and the version, LK_ECONFLICT (message names both
 * versions) on a logical conflict, or an I/O error. On success t is
 * refreshed to include the commit.
 */
int lk_delta_commit_run(lk_delta_commit *c, int64_t *version, lk_error *err);

/* Delta `stats` JSON for an add action from a Parquet file's statistics:
   {"numRecords":N,"minValues":{..},"maxValues":{..},"nullCount":{..}},
   nested for structs; strings truncated to 32 characters as Spark does. */
void lk_delta_stats_json(const lk_pq_file_info *info, lk_buf *out);

/* The snapshot's txn entries (latest version per appId), for fsck. */
int lk_delta_ntxns(const lk_delta_table *t);
const char *lk_delta_txn_at(const lk_delta_table *t, int i, int64_t *version);

#endif
