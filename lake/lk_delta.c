/*
 * lk_delta — the Delta table handle of lk_delta.h: opening a table (latest,
 * at a version, log-only), refreshing it, and reading the snapshot it holds
 * (schema, files, txns, properties).
 *
 * The handle is one struct (lk_delta_internal.h) worked on by several files,
 * each with one job; this one is the entry point and the read side:
 *
 *   lk_delta_replay.c    builds the snapshot: checkpoint + JSON commits;
 *                        every open and refresh goes through it
 *   lk_delta_commit.c    writes commits (put-if-absent, conflict checks)
 *   lk_delta_stats.c     the add action's stats JSON
 *   lk_delta_snapshot.c  writes the snapshot as a checkpoint
 *   lk_delta_cleanup.c   log cleanup after a checkpoint
 *   lk_delta_props.c     table properties, URL-decoding, version digits
 *
 * Time travel by timestamp (lk_delta_open_timestamp) is lk_delta_history.c:
 * history uses this handle, never the other way round.
 *
 * File entries are never freed during the life of a full handle: a removed
 * file is marked dead and stays in the hash, so a re-add revives it in place.
 * The live view (lk_delta_file_at) is rebuilt lazily after replay. A
 * log-only handle (lk_delta_open_log) holds entries only for the files
 * touched since its base checkpoint; its row count is kept incrementally
 * and recounted by streaming only when a base file was removed.
 */
#include "lk_delta.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "lk_bytes.h"
#include "lk_delta_internal.h"
#include "lk_json.h"
#include "lk_log.h"

/* ---------- opening and refreshing ---------- */

/* Opens the table and replays its log up to as_of (INT64_MAX: the latest). */
static int open_at(const char *table_path, int64_t as_of, int log_only, lk_delta_table **out,
                   lk_error *err)
{
    *out = NULL;
    lk_delta_table *t = calloc(1, sizeof *t);
    if (!t) abort();
    t->path = lk_strdup(table_path);
    size_t n = strlen(t->path);
    while (n > 1 && t->path[n - 1] == '/')
        t->path[--n] = 0;
    t->log_dir = lk_xrealloc(NULL, n + 16);
    snprintf(t->log_dir, n + 16, "%s/_delta_log", t->path);
    t->version = -1;
    t->min_reader = 1;
    t->min_writer = 2;
    t->as_of = as_of;
    t->checkpoint_version = -1;
    t->log_only = log_only;
    t->base.v = -1;
    t->rows_exact = 1;
    int rc = lk_delta_load_full(t, err);
    if (rc == 0 && as_of != INT64_MAX && t->version != as_of)
        rc = lk_error_set(err, LK_ENOTFOUND, "%s: no version %" PRId64 " (the table has none yet)",
                          t->path, as_of);
    if (rc) {
        lk_delta_destroy(&t);
        return rc;
    }
    *out = t;
    return 0;
}

int lk_delta_open(const char *table_path, lk_delta_table **out, lk_error *err)
{
    return open_at(table_path, INT64_MAX, 0, out, err);
}

int lk_delta_open_log(const char *table_path, lk_delta_table **out, lk_error *err)
{
    return open_at(table_path, INT64_MAX, 1, out, err);
}

int lk_delta_open_version(const char *table_path, int64_t version, lk_delta_table **out,
                          lk_error *err)
{
    *out = NULL;
    if (version < 0)
        return lk_error_set(err, -EINVAL, "%s: no version %" PRId64, table_path, version);
    return open_at(table_path, version, 0, out, err);
}

void lk_delta_destroy(lk_delta_table **tp)
{
    lk_delta_table *t = tp ? *tp : NULL;
    if (!t) return;
    lk_delta_forget_files(t);
    for (int i = 0; i < t->ntxns; i++)
        free(t->txns[i].app_id);
    free(t->files);
    free(t->hash);
    free(t->live);
    free(t->txns);
    free(t->path);
    free(t->log_dir);
    free(t->table_id);
    lk_schema_destroy(&t->schema);
    free(t->metadata_json);
    free(t->protocol_json);
    yajl_tree_free(t->metadata);
    lk_buf_free(&t->line);
    lk_buf_free(&t->scratch);
    lk_buf_free(&t->key);
    free(t);
    *tp = NULL;
}

int lk_delta_refresh(lk_delta_table *t, lk_error *err)
{
    if (t->as_of != INT64_MAX) return 0; /* a snapshot at a version does not move */
    return lk_delta_catch_up(t, NULL, err);
}

/* ---------- accessors ---------- */

const char *lk_delta_path(const lk_delta_table *t)
{
    return t->path;
}
int64_t lk_delta_version(const lk_delta_table *t)
{
    return t->version;
}
const lk_schema *lk_delta_schema(const lk_delta_table *t)
{
    return t->schema;
}

int64_t lk_delta_txn_version(const lk_delta_table *t, const char *app_id)
{
    for (int i = 0; i < t->ntxns; i++)
        if (strcmp(t->txns[i].app_id, app_id) == 0) return t->txns[i].version;
    return -1;
}

static void rebuild_live(lk_delta_table *t)
{
    if (!t->live_dirty) return;
    t->nlive = 0;
    for (int i = 0; i < t->nfiles; i++) {
        if (!t->files[i].live) continue;
        if (t->nlive == t->caplive) {
            t->caplive = t->caplive ? t->caplive * 2 : 64;
            t->live = lk_xrealloc(t->live, (size_t)t->caplive * sizeof *t->live);
        }
        t->live[t->nlive++] = &t->files[i].f;
    }
    t->live_dirty = 0;
}

int lk_delta_nfiles(const lk_delta_table *t)
{
    if (t->log_only) return 0;
    rebuild_live((lk_delta_table *)t); /* a cache: logically const */
    return t->nlive;
}

const lk_delta_file *lk_delta_file_at(const lk_delta_table *t, int i)
{
    if (t->log_only) return NULL;
    rebuild_live((lk_delta_table *)t);
    return i >= 0 && i < t->nlive ? t->live[i] : NULL;
}

int64_t lk_delta_num_records(const lk_delta_table *t)
{
    if (t->log_only) {
        lk_error e;
        if (!t->rows_exact &&
            lk_delta_count_rows((lk_delta_table *)t, &e)) /* a cache: logically const */
            LK_WARN("delta: %s: cannot count rows: %s", t->path, e.msg);
        return t->rows;
    }
    int64_t n = 0;
    for (int i = 0; i < t->nfiles; i++)
        if (t->files[i].live && t->files[i].f.num_records > 0) n += t->files[i].f.num_records;
    return n;
}

const char *lk_delta_metadata_json(const lk_delta_table *t)
{
    return t->metadata_json;
}

const char *lk_delta_protocol_json(const lk_delta_table *t)
{
    return t->protocol_json;
}

/* ---------- the snapshot for fsck, vacuum and table describe ---------- */

int64_t lk_delta_checkpoint_version(const lk_delta_table *t)
{
    return t->checkpoint_version;
}

void lk_delta_foreach_retained(const lk_delta_table *t, int64_t min_deletion_ts,
                               void (*fn)(void *ctx, const char *path, const char *dv_json),
                               void *ctx)
{
    for (int i = 0; i < t->nfiles; i++) {
        const file_ent *e = &t->files[i];
        if (e->live || e->deletion_ts >= min_deletion_ts) fn(ctx, e->path, e->dv);
    }
}

int lk_delta_ntxns(const lk_delta_table *t)
{
    return t->ntxns;
}

const char *lk_delta_txn_at(const lk_delta_table *t, int i, int64_t *version)
{
    *version = t->txns[i].version;
    return t->txns[i].app_id;
}
