/* lk_dedupe_commit — transform.dedupe's decisions and state; see lk_dedupe_commit.h. */
#include "lk_dedupe_commit.h"

#include <stdlib.h>
#include <string.h>

#include "lk_buf.h"
#include "lk_dedupe.h"
#include "lk_dedupe_state.h"
#include "lk_fault.h"
#include "lk_log.h"

struct lk_dedupe_commit {
    const lk_config *cfg;
    lk_state *st;
    lk_dedupe_state *s;
    int64_t s_batch; /* s holds the state after this batch; -2 = load first */
    lk_msg_records rec;
    lk_buf buf;
    lk_dedupe_drop *pairs; /* found in this prepare (then b's whole list) */
    int64_t npairs, cap;
    int64_t *src; /* by chunk: its identity in the generation judged */
    int src_cap;
    int64_t dropped, found, wm;
};

lk_dedupe_commit *lk_dedupe_commit_new(const lk_config *cfg, lk_state *st)
{
    lk_dedupe_commit *g = calloc(1, sizeof *g);
    if (!g) abort();
    g->cfg = cfg;
    g->st = st;
    g->s = lk_dedupe_state_new(cfg->event.dedupe.within_ms * 1000);
    g->s_batch = -2;
    g->wm = INT64_MIN;
    return g;
}

void lk_dedupe_commit_destroy(lk_dedupe_commit **gp)
{
    if (!gp || !*gp) return;
    lk_dedupe_commit *g = *gp;
    lk_dedupe_state_destroy(&g->s);
    lk_msg_records_clear(&g->rec);
    lk_buf_free(&g->buf);
    free(g->pairs);
    free(g->src);
    free(g);
    *gp = NULL;
}

/* The state after the batch before b (the latest stored at or before it). */
static int load(lk_dedupe_commit *g, int64_t b, lk_error *err)
{
    int64_t found, n;
    void *data = NULL;
    size_t len = 0;
    if (lk_state_dedupe_get(g->st, b - 1, 0, LK_DEDUPE_STATE, &found, &n, &data, &len, err))
        return -1;
    int rc = 0;
    if (found >= 0)
        rc = lk_dedupe_state_load(g->s, data, len, err);
    else
        lk_dedupe_state_reset(g->s);
    free(data);
    if (rc) {
        lk_error_prefix(err, "transform.dedupe: the state of batch %lld", (long long)found);
        return -1;
    }
    LK_INFO("dedupe: state of batch %lld loaded: %lld key(s)", (long long)found,
            (long long)lk_dedupe_state_count(g->s));
    g->s_batch = b - 1;
    return 0;
}

static void add_pair(lk_dedupe_commit *g, int32_t k, int32_t row, int64_t src)
{
    if (g->npairs == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 256;
        g->pairs = realloc(g->pairs, sizeof *g->pairs * (size_t)g->cap);
        if (!g->pairs) abort();
    }
    g->pairs[g->npairs++] = (lk_dedupe_drop){k, row, src};
}

static int by_pair(const void *x, const void *y)
{
    const lk_dedupe_drop *a = x, *b = y;
    if (a->chunk != b->chunk) return a->chunk < b->chunk ? -1 : 1;
    return a->row < b->row ? -1 : a->row > b->row;
}

/* b's drop list in state.db becomes what it held plus the rows found;
   entries of the list for another identity of their chunk (the batch was
   re-planned from other bytes) are dropped: they name other rows. */
static int store_drops(lk_dedupe_commit *g, int64_t b, int n_chunks, lk_error *err)
{
    int64_t found, n;
    void *data = NULL;
    size_t len = 0;
    if (lk_state_dedupe_get(g->st, b, 1, LK_DEDUPE_DROPS, &found, &n, &data, &len, err)) return -1;
    const lk_dedupe_drop *old = data;
    for (size_t i = 0; found == b && i < len / sizeof *old; i++)
        if (old[i].chunk >= 0 && old[i].chunk < n_chunks && old[i].src == g->src[old[i].chunk])
            add_pair(g, old[i].chunk, old[i].row, old[i].src);
    free(data);
    qsort(g->pairs, (size_t)g->npairs, sizeof *g->pairs, by_pair);
    int64_t u = 0;
    for (int64_t i = 0; i < g->npairs; i++)
        if (!u || by_pair(&g->pairs[i], &g->pairs[u - 1])) g->pairs[u++] = g->pairs[i];
    g->npairs = u;
    g->dropped = u;
    return lk_state_dedupe_put(g->st, b, LK_DEDUPE_DROPS, u, g->pairs, (size_t)u * sizeof *g->pairs,
                               err);
}

int lk_dedupe_commit_prepare(lk_dedupe_commit *g, int64_t b, const lk_msg_files *chunks,
                             int n_chunks, lk_error *err)
{
    g->npairs = g->found = g->dropped = 0;
    if (g->s_batch != b - 1 && load(g, b, err)) {
        g->s_batch = -2;
        return -1;
    }
    g->s_batch = -2; /* from here on s is ahead: any failure reloads it */
    if (n_chunks > g->src_cap) {
        g->src_cap = n_chunks;
        g->src = realloc(g->src, sizeof *g->src * (size_t)n_chunks);
        if (!g->src) abort();
    }
    for (int k = 0; k < n_chunks; k++) {
        const lk_msg_files *c = &chunks[k];
        if (!c->dedupe)
            return lk_error_set(err, LK_ESTATE,
                                "transform.dedupe: batch %lld chunk %d came without its key list",
                                (long long)b, k);
        if (lk_msg_records_decode(c->dedupe, c->dedupe_len, &g->rec, err) || g->rec.n_parts != 1 ||
            lk_batch_ncols(g->rec.parts[0].batch) != 4) {
            if (!err->code) lk_error_set(err, LK_EFORMAT, "not one part of 4 columns");
            lk_error_prefix(err, "transform.dedupe: the key list of batch %lld chunk %d",
                            (long long)b, k);
            return -1;
        }
        const lk_batch *kb = g->rec.parts[0].batch;
        const lk_col *hi = lk_batch_col_const(kb, 0), *lo = lk_batch_col_const(kb, 1),
                     *t = lk_batch_col_const(kb, 2), *row = lk_batch_col_const(kb, 3);
        if (!lk_batch_nrows(kb) || lk_col_i32(row, 0) != -1)
            return lk_error_set(err, LK_EFORMAT,
                                "transform.dedupe: the key list of batch %lld chunk %d has no "
                                "header row",
                                (long long)b, k);
        g->src[k] = lk_col_i64(hi, 0); /* row 0: the chunk's identity */
        for (uint32_t i = 1; i < lk_batch_nrows(kb); i++)
            if (lk_dedupe_state_offer(g->s, (uint64_t)lk_col_i64(hi, i),
                                      (uint64_t)lk_col_i64(lo, i), lk_col_i64(t, i)))
                add_pair(g, k, lk_col_i32(row, i), g->src[k]);
    }
    g->found = g->npairs;
    if (g->npairs) {
        if (store_drops(g, b, n_chunks, err)) {
            lk_error_prefix(err, "transform.dedupe: storing the drop list of batch %lld",
                            (long long)b);
            return -1;
        }
        return 1;
    }
    /* the rows b's replays dropped: its drop list's entries for this reading */
    int64_t found, n;
    void *data = NULL;
    size_t len = 0;
    if (lk_state_dedupe_get(g->st, b, 1, LK_DEDUPE_DROPS, &found, &n, &data, &len, err)) return -1;
    const lk_dedupe_drop *d = data;
    for (size_t i = 0; found == b && i < len / sizeof *d; i++)
        g->dropped += d[i].chunk >= 0 && d[i].chunk < n_chunks && d[i].src == g->src[d[i].chunk];
    free(data);
    int64_t mx = lk_dedupe_state_max_event(g->s);
    g->wm = mx == INT64_MIN ? INT64_MIN : mx - g->cfg->event.watermark_ms * 1000;
    lk_dedupe_state_expire(g->s, g->wm);
    if (lk_fault_check("committer.dedupe_before_state") < 0)
        return lk_error_set(err, -5, "injected fault before the dedupe state is stored");
    lk_buf_reset(&g->buf);
    lk_dedupe_state_save(g->s, &g->buf);
    if (lk_state_dedupe_put(g->st, b, LK_DEDUPE_STATE, lk_dedupe_state_count(g->s), g->buf.data,
                            g->buf.len, err)) {
        lk_error_prefix(err, "transform.dedupe: storing the state of batch %lld", (long long)b);
        return -1;
    }
    return 0;
}

int64_t lk_dedupe_commit_dropped(const lk_dedupe_commit *g)
{
    return g->dropped;
}

int64_t lk_dedupe_commit_found(const lk_dedupe_commit *g)
{
    return g->found;
}

int64_t lk_dedupe_commit_keys(const lk_dedupe_commit *g)
{
    return lk_dedupe_state_count(g->s);
}

int64_t lk_dedupe_commit_watermark(const lk_dedupe_commit *g)
{
    return g->wm;
}

int64_t lk_dedupe_commit_state_bytes(const lk_dedupe_commit *g)
{
    return (int64_t)g->buf.len;
}

void lk_dedupe_commit_done(lk_dedupe_commit *g, int64_t b, int ok)
{
    g->s_batch = ok ? b : -2;
}
