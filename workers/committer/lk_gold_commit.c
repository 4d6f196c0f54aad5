/* lk_gold_commit — event_metrics' merge, close and state; see lk_gold_commit.h. */
#include "lk_gold_commit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_delta.h"
#include "lk_fault.h"
#include "lk_fs.h"
#include "lk_log.h"
#include "lk_parquet_writer.h"
#include "lk_time.h"
#include "lk_windows.h"

struct lk_gold_commit {
    const lk_config *cfg;
    lk_state *st;
    char path[2048];
    lk_pq_options opt;
    lk_windows *win;
    lk_schema *partial; /* the schema win was made for */
    int64_t win_batch;  /* win holds the state after this batch; -2 = load first */
    int64_t wm;         /* the watermark after win_batch */
    lk_msg_records rec; /* decoding partials and states */
    lk_batch *closed, *saved, *open;
    lk_buf buf, stats;
    int update;            /* output_mode update */
    lk_msg_file files[2];  /* the closed windows; update: the open ones */
    int nfiles;
    char open_file[512];   /* update: the open windows' file in the table after win_batch */
    char next_open[512];   /* ... after the batch being prepared */
    int64_t late, no_et, nclosed, next_wm;
    /* the batch being received: its chunks' partials merged in chunk order
       as they arrive (a partial waits in held until the ones before it are
       in), so the committer holds one batch-sized state, not every partial */
    lk_windows *acc;
    lk_schema *acc_schema;
    int64_t acc_batch;
    int32_t acc_gen, acc_next, held_cap;
    lk_msg_files *held; /* by chunk index: .partial owned, NULL when not here */
    lk_batch *acc_saved;
};

lk_gold_commit *lk_gold_commit_new(const lk_config *cfg, lk_state *st, const char *table_path)
{
    lk_gold_commit *g = calloc(1, sizeof *g);
    if (!g) abort();
    g->cfg = cfg;
    g->st = st;
    snprintf(g->path, sizeof g->path, "%s", table_path);
    lk_pq_options_default(&g->opt);
    if (lk_pq_codec_parse(cfg->tables.compression, &g->opt.codec))
        g->opt.codec = LK_PQ_ZSTD;
    g->opt.zstd_level = cfg->tables.zstd_level;
    g->opt.zstd_adaptive = cfg->tables.zstd_adaptive;
    g->win_batch = -2;
    g->wm = INT64_MIN;
    g->update = !strcmp(cfg->metrics.output_mode, "update");
    g->acc_batch = -1;
    return g;
}

/* Forgets the batch being received (a new generation, a commit done). */
static void acc_reset(lk_gold_commit *g)
{
    for (int32_t i = 0; i < g->held_cap; i++) {
        free(g->held[i].partial);
        g->held[i].partial = NULL;
        g->held[i].partial_len = 0;
        g->held[i].batch_id = -1;
    }
    if (g->acc) lk_windows_reset(g->acc);
    g->acc_batch = -1;
    g->acc_next = 0;
}

static void clear_file(lk_gold_commit *g)
{
    for (int i = 0; i < 2; i++) {
        free(g->files[i].stats_json);
        g->files[i].stats_json = NULL;
    }
    g->nfiles = 0;
}

void lk_gold_commit_destroy(lk_gold_commit **gp)
{
    if (!gp || !*gp) return;
    lk_gold_commit *g = *gp;
    lk_windows_destroy(&g->win);
    lk_schema_destroy(&g->partial);
    lk_msg_records_clear(&g->rec);
    lk_batch_destroy(&g->closed);
    lk_batch_destroy(&g->saved);
    lk_batch_destroy(&g->open);
    acc_reset(g);
    free(g->held);
    lk_windows_destroy(&g->acc);
    lk_schema_destroy(&g->acc_schema);
    lk_batch_destroy(&g->acc_saved);
    lk_buf_free(&g->buf);
    lk_buf_free(&g->stats);
    clear_file(g);
    free(g);
    *gp = NULL;
}

/* Merges a RECORDS message of one part (a partial or a saved state). */
static int merge_into(lk_gold_commit *g, lk_windows *w, const void *data, size_t len,
                      const char *what, lk_error *err)
{
    if (lk_msg_records_decode(data, len, &g->rec, err) || g->rec.n_parts != 1) {
        if (!err->code) lk_error_set(err, LK_EFORMAT, "not one part");
        lk_error_prefix(err, "event_metrics: %s", what);
        return -1;
    }
    if (lk_windows_merge(w, g->rec.parts[0].batch, err)) {
        lk_error_prefix(err, "event_metrics: %s", what);
        return -1;
    }
    return 0;
}

static int merge_blob(lk_gold_commit *g, const void *data, size_t len, const char *what,
                      lk_error *err)
{
    int rc = merge_into(g, g->win, data, len, what, err);
    if (rc && err->code == LK_ECONFIG) {
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof err->msg - n, "%s",
                 " since it was saved; revert `metrics:`, or run the new definition with a new "
                 "checkpoint_path and event_metrics table");
    }
    return rc;
}

int lk_gold_commit_offer(lk_gold_commit *g, const lk_gold *gold, int64_t b, int32_t gen, int32_t k,
                         void *partial, size_t len, lk_error *err)
{
    const lk_schema *ps = lk_gold_partial_schema(gold);
    if (!g->acc || !lk_schema_equal(g->acc_schema, ps)) {
        acc_reset(g);
        lk_windows_destroy(&g->acc);
        lk_schema_destroy(&g->acc_schema);
        lk_batch_destroy(&g->acc_saved);
        g->acc = lk_gold_windows_new(gold);
        g->acc_schema = lk_schema_clone(ps);
        g->acc_saved = lk_batch_new(ps);
    }
    if (g->acc_batch != b || g->acc_gen != gen) {
        acc_reset(g);
        g->acc_batch = b;
        g->acc_gen = gen;
    }
    if (k >= g->held_cap) {
        int32_t cap = g->held_cap ? g->held_cap : 16;
        while (cap <= k)
            cap *= 2;
        g->held = realloc(g->held, sizeof *g->held * (size_t)cap);
        if (!g->held) abort();
        for (int32_t i = g->held_cap; i < cap; i++) {
            memset(&g->held[i], 0, sizeof g->held[i]);
            g->held[i].batch_id = -1;
        }
        g->held_cap = cap;
    }
    g->held[k].partial = partial;
    g->held[k].partial_len = len;
    g->held[k].batch_id = b; /* here (a chunk without a partial too) */
    while (g->acc_next < g->held_cap && g->held[g->acc_next].batch_id >= 0) {
        lk_msg_files *h = &g->held[g->acc_next];
        int rc = 0;
        if (h->partial) {
            char what[64];
            snprintf(what, sizeof what, "the partial of batch %lld chunk %d", (long long)b,
                     g->acc_next);
            rc = merge_into(g, g->acc, h->partial, h->partial_len, what, err);
        }
        free(h->partial);
        h->partial = NULL;
        h->batch_id = -2; /* merged */
        g->acc_next++;
        if (rc) {
            /* the batch cannot be merged: forget it, so that its commit fails
               and the batch is replayed rather than committed without it */
            acc_reset(g);
            g->acc_batch = -3;
            return rc;
        }
    }
    return 0;
}

void lk_gold_commit_forget(lk_gold_commit *g)
{
    acc_reset(g);
}

/* (Re)builds the state for gold's partial schema and loads the state
   stored for the batch before b. */
static int load(lk_gold_commit *g, const lk_gold *gold, int64_t b, lk_error *err)
{
    const lk_schema *ps = lk_gold_partial_schema(gold);
    if (!g->win || !lk_schema_equal(g->partial, ps)) {
        lk_windows_destroy(&g->win);
        lk_schema_destroy(&g->partial);
        lk_batch_destroy(&g->closed);
        lk_batch_destroy(&g->saved);
        lk_batch_destroy(&g->open);
        g->win = lk_gold_windows_new(gold);
        g->partial = lk_schema_clone(ps);
        g->closed = lk_batch_new(lk_gold_output_schema(gold));
        g->open = lk_batch_new(lk_gold_output_schema(gold));
        g->saved = lk_batch_new(ps);
    }
    lk_windows_reset(g->win);
    int64_t found = -1;
    void *blob = NULL;
    size_t len = 0;
    if (lk_state_windows_get(g->st, b - 1, &found, &g->wm, &blob, &len, g->open_file,
                             sizeof g->open_file, err))
        return -1;
    int rc = 0;
    if (found >= 0 && len) {
        char what[64];
        snprintf(what, sizeof what, "the state of batch %lld", (long long)found);
        rc = merge_blob(g, blob, len, what, err);
    }
    free(blob);
    if (rc) return rc;
    LK_INFO("event_metrics: state of batch %lld loaded: %u open window group(s), watermark_us=%lld",
            (long long)found, lk_windows_ngroups(g->win), (long long)g->wm);
    g->win_batch = b - 1;
    return 0;
}

/* Writes rows as one Parquet file of the table (kind: "windows" closed, "open" update
   mode's open ones) and appends it to files. */
static int write_rows(lk_gold_commit *g, int64_t b, const lk_batch *rows, const char *kind,
                      lk_error *err)
{
    char uuid[40], full[2600];
    lk_fs_uuid4(uuid, sizeof uuid);
    lk_msg_file *f = &g->files[g->nfiles];
    memset(f, 0, sizeof *f);
    snprintf(f->table, sizeof f->table, "%s", "event_metrics");
    snprintf(f->path, sizeof f->path, "part-%05lld-%s-%s.c000.%s.parquet", (long long)b, kind, uuid,
             g->opt.codec == LK_PQ_UNCOMPRESSED ? "uncompressed" : lk_pq_codec_name(g->opt.codec));
    if (lk_fs_mkdirs(g->path, err)) return -1;
    snprintf(full, sizeof full, "%s/%s", g->path, f->path);
    lk_pq_writer *pq = lk_pq_writer_new(lk_batch_schema(rows), &g->opt);
    lk_pq_file_info info;
    int rc = lk_pq_writer_open(pq, full, err);
    if (rc == 0) rc = lk_pq_writer_write(pq, rows, err);
    if (rc == 0) rc = lk_pq_writer_close(pq, &info, err);
    if (rc) lk_pq_writer_abort(pq);
    if (rc == 0) {
        lk_buf_reset(&g->stats);
        lk_delta_stats_json(&info, &g->stats);
        f->size = info.file_size;
        f->rows = info.num_rows;
        f->mtime_ms = lk_time_now_ms();
        f->stats_json = strdup(g->stats.data ? g->stats.data : "");
        g->nfiles++;
    }
    lk_pq_writer_destroy(&pq);
    return rc;
}

int lk_gold_commit_prepare(lk_gold_commit *g, const lk_gold *gold, int64_t b,
                           const lk_msg_files *chunks, int n_chunks, int write_file,
                           lk_error *err)
{
    clear_file(g);
    g->late = g->no_et = g->nclosed = 0;
    if (g->win_batch != b - 1 || !g->win || !lk_schema_equal(g->partial, lk_gold_partial_schema(gold)))
        if (load(g, gold, b, err)) {
            g->win_batch = -2;
            return -1;
        }
    /* from here on win is ahead of win_batch: any failure reloads it */
    g->win_batch = -2;
    int64_t late0 = lk_windows_late(g->win), none0 = lk_windows_no_event_time(g->win);
    /* the batch's chunks, merged as they came (lk_gold_commit_offer) */
    if (g->acc_batch != b || g->acc_next < n_chunks)
        return lk_error_set(err, LK_ESTATE,
                            "event_metrics: batch %lld: %d of its %d chunk partial(s) merged",
                            (long long)b, g->acc_batch == b ? g->acc_next : 0, n_chunks);
    (void)chunks;
    lk_batch_reset(g->acc_saved);
    lk_windows_save(g->acc, g->acc_saved);
    if (lk_windows_merge(g->win, g->acc_saved, err)) return -1;
    g->late = lk_windows_late(g->win) - late0;
    g->no_et = lk_windows_no_event_time(g->win) - none0;
    int64_t wm = g->wm, mx = lk_windows_max_event(g->win);
    if (mx != INT64_MIN && mx - g->cfg->event.watermark_ms * 1000 > wm)
        wm = mx - g->cfg->event.watermark_ms * 1000;
    g->next_wm = wm;
    lk_batch_reset(g->closed);
    if (wm != INT64_MIN) g->nclosed = lk_windows_close(g->win, wm, g->closed);
    if (!write_file) {
        /* the table has b: its state was stored before that commit and
           stays as it is (update mode's file name in it included) */
        int64_t found, w2;
        if (lk_state_windows_get(g->st, b, &found, &w2, NULL, NULL, g->next_open,
                                 sizeof g->next_open, err))
            return -1;
        return 0;
    }
    if (g->nclosed && write_rows(g, b, g->closed, "windows", err)) {
        lk_error_prefix(err, "event_metrics: batch %lld", (long long)b);
        return -1;
    }
    g->next_open[0] = 0;
    if (g->update) {
        /* update mode: the open windows' current values replace the
           previous batch's file of them (lk_gold_commit_removed) */
        lk_batch_reset(g->open);
        if (lk_windows_emit_all(g->win, g->open)) {
            if (write_rows(g, b, g->open, "open", err)) {
                lk_error_prefix(err, "event_metrics: batch %lld", (long long)b);
                return -1;
            }
            snprintf(g->next_open, sizeof g->next_open, "%s", g->files[g->nfiles - 1].path);
        }
    }
    if (lk_fault_check("committer.gold_before_state") < 0)
        return lk_error_set(err, -5, "injected fault before the window state is stored");
    lk_batch_reset(g->saved);
    lk_windows_save(g->win, g->saved);
    lk_msg_records one;
    memset(&one, 0, sizeof one);
    one.batch_id = b;
    one.n_parts = 1;
    snprintf(one.parts[0].table, sizeof one.parts[0].table, "event_metrics");
    one.parts[0].batch = g->saved;
    lk_buf_reset(&g->buf);
    lk_msg_records_encode(&one, &g->buf);
    if (lk_state_windows_put(g->st, b, wm, g->buf.data, g->buf.len, g->next_open, err)) {
        lk_error_prefix(err, "event_metrics: storing the window state of batch %lld",
                        (long long)b);
        return -1;
    }
    return 0;
}

const lk_msg_file *lk_gold_commit_files(const lk_gold_commit *g, int *n)
{
    *n = g->nfiles;
    return g->files;
}

const char *lk_gold_commit_removed(const lk_gold_commit *g)
{
    return g->update && g->open_file[0] ? g->open_file : NULL;
}

int64_t lk_gold_commit_late(const lk_gold_commit *g)
{
    return g->late;
}

int64_t lk_gold_commit_no_event_time(const lk_gold_commit *g)
{
    return g->no_et;
}

int64_t lk_gold_commit_watermark(const lk_gold_commit *g)
{
    return g->next_wm;
}

int64_t lk_gold_commit_closed(const lk_gold_commit *g)
{
    return g->nclosed;
}

int64_t lk_gold_commit_state_bytes(const lk_gold_commit *g)
{
    return (int64_t)g->buf.len;
}

int64_t lk_gold_commit_open(const lk_gold_commit *g)
{
    return g->win ? lk_windows_ngroups(g->win) : 0;
}

void lk_gold_commit_done(lk_gold_commit *g, int64_t b, int ok)
{
    if (ok) {
        g->win_batch = b;
        g->wm = g->next_wm;
        snprintf(g->open_file, sizeof g->open_file, "%s", g->next_open);
        acc_reset(g);
    } else {
        g->win_batch = -2;
    }
}
