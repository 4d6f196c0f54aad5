/*
 * lk_delta_snapshot — writes a handle's snapshot as a checkpoint
 * (lk_delta_checkpoint of lk_delta.h) and decides when a commit is followed
 * by one (lk_delta_maybe_checkpoint, every delta.checkpointInterval
 * versions, then log cleanup).
 *
 * The snapshot becomes action lines (protocol, metaData, txns, live adds,
 * tombstones still inside delta.deletedFileRetentionDuration) that
 * lk_delta_checkpoint.c turns into the Parquet checkpoint; that file knows
 * the checkpoint's columns, this one knows the handle.
 *
 * A full handle has every file in memory and writes them in one piece. A
 * log-only handle (the committer's) holds only the changes since its base
 * checkpoint, so its checkpoint is streamed: the base is read a row group
 * at a time, each add/remove row written as the later commits left it,
 * then the files first added since, in the order of their adds; that is
 * action for action what a full handle replayed from the same base writes
 * (test_delta_logstate). The same stream recounts a log-only handle's rows
 * when they became unknown (lk_delta_count_rows). After its checkpoint the
 * log-only handle drops its changes and takes the new checkpoint as base.
 */
#include "lk_delta_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "lk_delta_checkpoint.h"
#include "lk_fault.h"
#include "lk_fs.h"
#include "lk_json.h"
#include "lk_log.h"
#include "lk_time.h"

/* ---------- the snapshot as checkpoint actions ---------- */

#define WEEK_MS ((int64_t)7 * 86400000)

/* One file of the snapshot as the checkpoint writes it. */
typedef struct snap_file {
    const char *path, *pv_json, *stats;
    int64_t size, mtime, num_records;
    int live;
    int64_t deletion_ts, rm_size;
} snap_file;

static void entry_view(const file_ent *e, snap_file *f)
{
    f->path = e->path;
    f->pv_json = e->pv_json;
    f->stats = e->stats;
    f->size = e->f.size;
    f->mtime = e->f.modification_time;
    f->num_records = e->f.num_records;
    f->live = e->live;
    f->deletion_ts = e->deletion_ts;
    f->rm_size = e->rm_size;
}

/* protocol, metaData and the txns: the head of every checkpoint. */
static void snapshot_head(const lk_delta_table *t, lk_buf *out)
{
    lk_buf_puts(out, "{\"protocol\":");
    lk_buf_puts(out, t->protocol_json ? t->protocol_json
                                      : "{\"minReaderVersion\":1,\"minWriterVersion\":2}");
    lk_buf_puts(out, "}\n{\"metaData\":");
    lk_buf_puts(out, t->metadata_json);
    lk_buf_puts(out, "}\n");
    for (int i = 0; i < t->ntxns; i++) {
        lk_buf_puts(out, "{\"txn\":{\"appId\":");
        lk_buf_json_string(out, t->txns[i].app_id, strlen(t->txns[i].app_id));
        lk_buf_printf(out, ",\"version\":%" PRId64 "}}\n", t->txns[i].version);
    }
}

/* A live file as an add, a tombstone inside the retention (deletion after
   min_ts) as a remove; expired tombstones are dropped. */
static void snapshot_file(const snap_file *e, int64_t min_ts, lk_buf *out)
{
    if (e->live) {
        lk_buf_puts(out, "{\"add\":{\"path\":");
        lk_buf_json_string(out, e->path, strlen(e->path));
        lk_buf_printf(out,
                      ",\"partitionValues\":%s,\"size\":%" PRId64 ",\"modificationTime\":%" PRId64
                      ",\"dataChange\":false",
                      e->pv_json, e->size, e->mtime);
        if (e->stats) {
            lk_buf_puts(out, ",\"stats\":");
            lk_buf_json_string(out, e->stats, strlen(e->stats));
        }
        lk_buf_puts(out, "}}\n");
    } else if (e->deletion_ts > min_ts) {
        /* a remove without deletionTimestamp counts as expired, as in
           Spark: it would otherwise ride along in every checkpoint */
        lk_buf_puts(out, "{\"remove\":{\"path\":");
        lk_buf_json_string(out, e->path, strlen(e->path));
        lk_buf_printf(out, ",\"deletionTimestamp\":%" PRId64 ",\"dataChange\":false",
                      e->deletion_ts);
        if (e->rm_size >= 0)
            lk_buf_printf(out,
                          ",\"extendedFileMetadata\":true,\"partitionValues\":%s,"
                          "\"size\":%" PRId64,
                          e->pv_json, e->rm_size);
        lk_buf_puts(out, "}}\n");
    }
}

static int64_t tombstone_min_ts(const lk_delta_table *t, int64_t now)
{
    return now - lk_delta_interval_ms(lk_delta_property(t, "delta.deletedFileRetentionDuration"),
                                      WEEK_MS);
}

/* The snapshot as action lines: protocol, metaData, txns, live adds and the
   tombstones still inside delta.deletedFileRetentionDuration. */
static void snapshot_jsonl(lk_delta_table *t, lk_buf *out, int64_t now)
{
    int64_t min_ts = tombstone_min_ts(t, now);
    snapshot_head(t, out);
    snap_file f;
    for (int i = 0; i < t->nfiles; i++) {
        entry_view(&t->files[i], &f);
        snapshot_file(&f, min_ts, out);
    }
}

/* ---------- streaming the snapshot of a log-only handle ---------- */

/* Called for every file of the snapshot (live or dead) in checkpoint
   order; a non-zero return stops. */
typedef int (*snap_fn)(void *ctx, const snap_file *f, lk_error *err);

typedef struct stream_ctx {
    lk_delta_table *t;
    snap_fn fn;
    void *ctx;
    lk_buf pv;
} stream_ctx;

/* One row of the base checkpoint: as it was, or as the changes since made it. */
static int stream_base_row(void *ctx, const char *kind, yajl_val a, const char *where,
                           lk_error *err)
{
    stream_ctx *sc = ctx;
    lk_delta_table *t = sc->t;
    int is_add = strcmp(kind, "add") == 0;
    if ((!is_add && strcmp(kind, "remove") != 0) || !YAJL_IS_OBJECT(a)) return 0;
    const char *path = obj_str(a, "path");
    if (!path) return lk_error_set(err, LK_EFORMAT, "%s: %s without path", where, kind);
    int idx = lk_delta_hash_find(t, lk_delta_file_key(t, path, lk_json_get(a, "deletionVector")));
    file_ent *e = idx >= 0 ? &t->files[idx] : NULL;
    snap_file f;
    if (e && e->placed) return 0; /* a duplicate row: the first one placed it */
    if (e) e->placed = 1;
    if (e && e->has_add) {
        entry_view(e, &f);
        return sc->fn(sc->ctx, &f, err);
    }
    lk_buf_reset(&sc->pv);
    pv_json(a, &sc->pv);
    f.path = path;
    f.pv_json = sc->pv.data;
    f.stats = is_add ? obj_str(a, "stats") : NULL;
    f.size = obj_int(a, "size", 0);
    f.mtime = obj_int(a, "modificationTime", 0);
    f.num_records = lk_delta_stats_num_records(f.stats);
    f.live = is_add;
    f.deletion_ts = obj_int(a, "deletionTimestamp", 0);
    f.rm_size = obj_int(a, "size", -1);
    if (is_add && e) { /* pre_rm: removed before any re-add */
        f.live = 0;
        f.deletion_ts = e->pre_ts;
        f.rm_size = e->pre_size;
    }
    return sc->fn(sc->ctx, &f, err);
}

static int cmp_seq(const void *a, const void *b)
{
    const file_ent *x = *(const file_ent *const *)a, *y = *(const file_ent *const *)b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * The files of a log-only handle's snapshot, in the order a full handle
 * replayed from the same base holds them: the base checkpoint's rows (read
 * a row group at a time) with the changes since applied in place, then the
 * files first added since, in the order of those adds.
 */
static int stream_snapshot(lk_delta_table *t, snap_fn fn, void *ctx, lk_error *err)
{
    stream_ctx sc = {.t = t, .fn = fn, .ctx = ctx, .pv = LK_BUF_INIT};
    int rc = 0;
    char path[4400];
    for (int part = 1; t->base.v >= 0 && part <= t->base.parts && rc == 0; part++) {
        if (t->base.parts == 1)
            snprintf(path, sizeof path, "%s/%s", t->log_dir, t->base.name);
        else
            snprintf(path, sizeof path, "%s/%020" PRId64 ".checkpoint.%010d.%010d.parquet",
                     t->log_dir, t->base.v, part, t->base.parts);
        rc = lk_delta_checkpoint_read(path, t->log_dir, stream_base_row, &sc, err);
    }
    lk_buf_free(&sc.pv);
    const file_ent **later = NULL;
    int n = 0;
    if (rc == 0 && t->nfiles) {
        later = lk_xrealloc(NULL, (size_t)t->nfiles * sizeof *later);
        for (int i = 0; i < t->nfiles; i++)
            if (t->files[i].has_add && !t->files[i].placed) later[n++] = &t->files[i];
        qsort(later, (size_t)n, sizeof *later, cmp_seq);
    }
    snap_file f;
    for (int i = 0; i < n && rc == 0; i++) {
        entry_view(later[i], &f);
        rc = fn(ctx, &f, err);
    }
    free(later);
    for (int i = 0; i < t->nfiles; i++)
        t->files[i].placed = 0;
    return rc;
}

static int count_fn(void *ctx, const snap_file *f, lk_error *err)
{
    (void)err;
    if (f->live && f->num_records > 0) *(int64_t *)ctx += f->num_records;
    return 0;
}

int lk_delta_count_rows(lk_delta_table *t, lk_error *err)
{
    int64_t n = 0;
    int rc = stream_snapshot(t, count_fn, &n, err);
    if (rc == 0) {
        t->rows = n;
        t->rows_exact = 1;
    }
    return rc;
}

/* ---------- writing the checkpoint ---------- */

#define STREAM_FLUSH_BYTES ((size_t)1 << 20)

typedef struct write_ctx {
    lk_delta_checkpoint_writer *w;
    lk_buf buf;
    int64_t min_ts, rows;
} write_ctx;

static int write_fn(void *ctx, const snap_file *f, lk_error *err)
{
    write_ctx *wc = ctx;
    if (f->live && f->num_records > 0) wc->rows += f->num_records;
    snapshot_file(f, wc->min_ts, &wc->buf);
    if (wc->buf.len < STREAM_FLUSH_BYTES) return 0;
    int rc = lk_delta_checkpoint_writer_put(wc->w, wc->buf.data, wc->buf.len, err);
    lk_buf_reset(&wc->buf);
    return rc;
}

/* Forgets the changes since the base: the checkpoint at t->version holds them. */
static void rebase(lk_delta_table *t, int64_t rows)
{
    lk_delta_forget_files(t);
    t->live_dirty = 1;
    t->base.v = t->version;
    t->base.parts = t->base.seen = 1;
    snprintf(t->base.name, sizeof t->base.name, "%020" PRId64 ".checkpoint.parquet", t->version);
    t->rows = rows;
    t->rows_exact = 1;
}

/* The checkpoint of a log-only handle, streamed: memory stays bounded by a
   row group and the changes since the base, whatever the number of files. */
static int checkpoint_stream(lk_delta_table *t, const char *path, lk_delta_checkpoint_info *info,
                             lk_error *err)
{
    write_ctx wc = {.buf = LK_BUF_INIT, .min_ts = tombstone_min_ts(t, lk_time_now_ms())};
    int rc = lk_delta_checkpoint_writer_open(path, &wc.w, err);
    if (rc) return rc;
    snapshot_head(t, &wc.buf);
    rc = stream_snapshot(t, write_fn, &wc, err);
    if (rc == 0 && wc.buf.len)
        rc = lk_delta_checkpoint_writer_put(wc.w, wc.buf.data, wc.buf.len, err);
    lk_buf_free(&wc.buf);
    if (rc) {
        lk_delta_checkpoint_writer_abort(&wc.w);
        return rc;
    }
    rc = lk_delta_checkpoint_writer_finish(&wc.w, info, err);
    if (rc == 0) rebase(t, wc.rows);
    return rc;
}

int lk_delta_checkpoint(lk_delta_table *t, lk_error *err)
{
    if (t->version < 0 || !t->metadata_json)
        return lk_error_set(err, LK_ESTATE, "%s: no commit to checkpoint", t->path);
    if (t->as_of != INT64_MAX)
        return lk_error_set(err, -EINVAL, "%s: a snapshot opened at a version is read-only",
                            t->path);
    char path[4200];
    lk_delta_checkpoint_info info;
    int rc;
    if (t->log_only) {
        if (t->base.v >= 0) {
            /* the base may be gone (log cleanup after a newer checkpoint by
               another writer): then replay from what is there now */
            snprintf(path, sizeof path, "%s/%s", t->log_dir, t->base.name);
            if (!lk_fs_exists(path)) {
                LK_INFO("delta: %s: checkpoint %" PRId64 " is gone; re-reading the log", t->path,
                        t->base.v);
                lk_delta_reset_state(t);
                if ((rc = lk_delta_load_full(t, err))) return rc;
            }
        }
        version_path(t, t->version, ".checkpoint.parquet", path, sizeof path);
        rc = checkpoint_stream(t, path, &info, err);
    } else {
        version_path(t, t->version, ".checkpoint.parquet", path, sizeof path);
        lk_buf body = LK_BUF_INIT;
        snapshot_jsonl(t, &body, lk_time_now_ms());
        rc = lk_delta_checkpoint_write(path, body.data, body.len, &info, err);
        lk_buf_free(&body);
    }
    if (rc) return rc;
    /* _last_checkpoint only moves forward: a slower writer of an older
       checkpoint must not hide a newer one. */
    int parts;
    if (lk_delta_last_checkpoint_version(t, &parts) >= t->version) return 0;
    int f = lk_fault_check("delta.last_checkpoint");
    if (f < 0) return lk_error_errno(err, f, "%s/_last_checkpoint: fault injected", t->log_dir);
    lk_buf lc = LK_BUF_INIT;
    lk_buf_printf(&lc,
                  "{\"version\":%" PRId64 ",\"size\":%" PRId64 ",\"sizeInBytes\":%" PRId64
                  ",\"numOfAddFiles\":%" PRId64 "}",
                  t->version, info.size, info.size_in_bytes, info.num_add_files);
    char lpath[4200];
    snprintf(lpath, sizeof lpath, "%s/_last_checkpoint", t->log_dir);
    rc = lk_fs_replace(lpath, lc.data, lc.len, err);
    lk_buf_free(&lc);
    return rc;
}

/* ---------- the automatic checkpoint after a commit ---------- */

static int64_t property_int(const lk_delta_table *t, const char *key, int64_t dflt)
{
    const char *v = lk_delta_property(t, key);
    if (!v) return dflt;
    char *end;
    long long n = strtoll(v, &end, 10);
    return end != v && *end == 0 ? n : dflt;
}

/* After a commit at version v: a checkpoint every delta.checkpointInterval
   versions. Its failure is only logged: the commit is already durable and
   a checkpoint is an optimisation readers can do without. */
void lk_delta_maybe_checkpoint(lk_delta_table *t, int64_t v)
{
    int64_t interval = property_int(t, "delta.checkpointInterval", 10);
    if (interval <= 0 || v <= 0 || v % interval != 0) return;
    lk_error e;
    int removed = 0;
    if (lk_delta_checkpoint(t, &e))
        LK_WARN("delta: checkpoint of %s at version %" PRId64 " failed: %s", t->path, t->version,
                e.msg);
    else if (lk_delta_cleanup_log(t, lk_time_now_ms(), &removed, &e))
        LK_WARN("delta: log cleanup of %s failed: %s", t->path, e.msg);
    else if (removed)
        LK_INFO("delta: log cleanup of %s removed %d expired files", t->path, removed);
}
