/*
 * lk_delta_internal.h — PRIVATE to lake/lk_delta*.c. Not an API: nothing
 * outside lake/ includes it (callers use lk_delta.h), and inside lake/ only
 * the files that make up the table handle and its log do (and
 * lk_delta_history.c, for the two helpers it shares with log replay).
 *
 * lk_delta.h's table handle is implemented by several files, one job each:
 *
 *   lk_delta.c           the handle: open, refresh, accessors
 *   lk_delta_replay.c    log replay: the snapshot built from a checkpoint
 *                        and the JSON commits after it, incremental catch-up
 *   lk_delta_commit.c    commits: put-if-absent writes and optimistic
 *                        concurrency (conflict checks on retry)
 *   lk_delta_stats.c     the add action's stats JSON
 *   lk_delta_snapshot.c  writing the snapshot as a checkpoint (in memory,
 *                        or streamed for a log-only handle)
 *   lk_delta_cleanup.c   log cleanup (delta.logRetentionDuration)
 *   lk_delta_props.c     table properties and the log's text helpers
 *                        (URL-decoding, intervals, version digits): used
 *                        by all of the above, using none of them
 *
 * They share the handle's struct and the few functions below. The flow runs
 * one way: the handle opens and refreshes through replay; a commit writes,
 * then replays what it (and any concurrent writer) committed, then asks for
 * a checkpoint; the checkpoint writer reads the snapshot replay built.
 * Replay knows nothing of commits: a commit being retried watches the
 * actions replay applies through an lk_delta_watch. The Parquet checkpoint
 * format itself (actions <-> rows) is lk_delta_checkpoint.c, which knows
 * nothing of the handle.
 */
#ifndef LK_DELTA_INTERNAL_H
#define LK_DELTA_INTERNAL_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <yajl/yajl_tree.h>

#include "lk_buf.h"
#include "lk_bytes.h"
#include "lk_delta.h"
#include "lk_error.h"
#include "lk_json.h"

/* ---------- the handle ---------- */

typedef struct file_ent {
    lk_delta_file f; /* public view; strings owned below */
    char *key;       /* decoded path + '\x1f' + dv id */
    char *path;
    char *pv_json;
    char *stats;
    char *dv; /* deletionVector JSON or NULL */
    int live;
    int64_t deletion_ts; /* of the remove that made it dead (ms), 0 if unknown */
    int64_t rm_size;     /* size the remove gave, -1 if none */
    /* log-only handles (the entry is a change since the base checkpoint): */
    int has_add;      /* an add was applied since the base */
    int64_t seq;      /* order of that first add (the checkpoint's order) */
    int pre_rm;       /* a remove came first: kills the base's live file */
    int64_t pre_ts;   /* its deletionTimestamp */
    int64_t pre_size; /* its size, -1 if none */
    int placed;       /* streaming: written at the base row's position */
} file_ent;

/* A checkpoint found by listing: classic (parts 1), multi-part or v2. */
typedef struct cp_cand {
    int64_t v;
    int parts, seen;
    char name[128]; /* classic/v2: the file; multi-part: any part */
} cp_cand;

typedef struct txn_ent {
    char *app_id;
    int64_t version;
} txn_ent;

struct lk_delta_table {
    char *path;
    char *log_dir;
    int64_t version;
    int min_reader, min_writer;
    lk_schema *schema;
    char *table_id;
    char *metadata_json;        /* latest metaData action (compact JSON), or NULL */
    char *protocol_json;        /* latest protocol action, or NULL */
    yajl_val metadata;          /* metadata_json parsed: configuration lookups */
    int64_t checkpoint_version; /* the checkpoint replay started from, -1: none */
    file_ent *files;
    int nfiles, capfiles;
    int *hash; /* open addressing, index into files or -1 */
    size_t hcap;
    const lk_delta_file **live; /* rebuilt when live_dirty */
    int nlive, caplive, live_dirty;
    txn_ent *txns;
    int ntxns, captxns;
    lk_buf line, scratch, key;
    int64_t as_of; /* time travel: replay stops here (INT64_MAX: latest) */
    /* Log-only handles (lk_delta_open_log): files holds only the changes
       since base (the checkpoint replay started from or the last one this
       handle wrote; base.v -1: none, the changes since version 0). */
    int log_only;
    cp_cand base;
    int64_t add_seq;
    int64_t rows;   /* sum of numRecords of the live files */
    int rows_exact; /* 0: a remove of a base file made rows unknown */
};

/* ---------- small helpers (header only: replay calls them per action) ---------- */

static inline void version_path(const lk_delta_table *t, int64_t v, const char *suffix, char *out,
                                size_t cap)
{
    snprintf(out, cap, "%s/%020" PRId64 "%s", t->log_dir, v, suffix);
}

static inline const char *obj_str(yajl_val o, const char *key)
{
    yajl_val v = lk_json_get(o, key);
    return v && YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
}

static inline int64_t obj_int(yajl_val o, const char *key, int64_t dflt)
{
    yajl_val v = lk_json_get(o, key);
    return v && YAJL_IS_INTEGER(v) ? (int64_t)YAJL_GET_INTEGER(v) : dflt;
}

/* Appends the partitionValues of an add or remove as compact JSON, "{}"
   when it has none. */
static inline void pv_json(yajl_val action, lk_buf *out)
{
    yajl_val pv = lk_json_get(action, "partitionValues");
    if (pv && YAJL_IS_OBJECT(pv))
        lk_json_text(pv, out);
    else
        lk_buf_puts(out, "{}");
}

/* ---------- shared between the lk_delta files ---------- */

/* lk_delta.c: s[0..n) is all ASCII digits (log file names, --timestamp);
   used by replay, cleanup and lk_delta_history.c. */
int lk_delta_all_digits(const char *s, size_t n);
/* lk_delta.c: qsort order of int64_t values (versions). */
int lk_delta_cmp_i64(const void *a, const void *b);

/* lk_delta_replay.c: the entry of a file key (lk_delta_file_key), or -1. */
int lk_delta_hash_find(const lk_delta_table *t, const char *key);
/* lk_delta_replay.c: the reconciliation key of a file action, built into
   t->key: URL-decoded path, '\x1f', the deletion vector's unique id. */
const char *lk_delta_file_key(lk_delta_table *t, const char *path, yajl_val dv);
/* lk_delta_replay.c: forgets every file the handle holds (and their path
   index) / the whole replayed snapshot (back to an empty table). */
void lk_delta_forget_files(lk_delta_table *t);
void lk_delta_reset_state(lk_delta_table *t);
/* lk_delta_replay.c: parses a log file name: 1 for "<v:020>.json", 2 for a
   checkpoint (part and parts set: 1/1 for classic and v2), 0 otherwise. */
int lk_delta_parse_log_name(const char *name, int64_t *v, int *part, int *parts);
/* lk_delta_replay.c: _last_checkpoint's version (and parts), or -1. */
int64_t lk_delta_last_checkpoint_version(const lk_delta_table *t, int *parts);
/* lk_delta_replay.c: replays the whole log (t must be empty) up to t->as_of. */
int lk_delta_load_full(lk_delta_table *t, lk_error *err);

/*
 * A commit being retried (lk_delta_commit.c) watches the actions of the
 * versions that beat it: replay calls on_action for each action of each
 * version it reads, after applying it, or without applying it when dry
 * (the snapshot already holds that version).
 */
typedef struct lk_delta_watch lk_delta_watch;
struct lk_delta_watch {
    int dry;
    void (*on_action)(lk_delta_watch *w, lk_delta_table *t, int64_t version, yajl_val act);
};
/* lk_delta_replay.c: replays JSON commit v (w may be NULL). -ENOENT
   (without message) if the commit file does not exist. */
int lk_delta_replay_json(lk_delta_table *t, int64_t v, lk_delta_watch *w, lk_error *err);
/* lk_delta_replay.c: reads the versions committed since t->version (w: as
   for lk_delta_replay_json; a version lost to log cleanup is then a
   conflict rather than a reason to re-read the log). */
int lk_delta_catch_up(lk_delta_table *t, lk_delta_watch *w, lk_error *err);

/* lk_delta_stats.c: numRecords of an add's stats JSON, -1 if absent. */
int64_t lk_delta_stats_num_records(const char *stats);

/* lk_delta_snapshot.c: a log-only handle's exact row count, by streaming
   its snapshot (after a remove of a file older than its base). */
int lk_delta_count_rows(lk_delta_table *t, lk_error *err);
/* lk_delta_snapshot.c: after a commit at version v: the automatic
   checkpoint and log cleanup (failures only logged). */
void lk_delta_maybe_checkpoint(lk_delta_table *t, int64_t v);

#endif
