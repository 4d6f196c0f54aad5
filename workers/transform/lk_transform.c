/*
 * lk_transform — Structured Streaming's per-record stage (stateless, ×N).
 *
 * It pulls chunks of raw lines from ingest, parses them into a columnar
 * raw_events batch with the table schema of the chunk's schema version
 * (malformed lines → _corrupt_record, mismatches → _rescued_data), derives
 * every other table of the pipeline from it (lk_tables: processed_events
 * through the configured transforms, the derived tables, quarantine), and
 * pushes them all, as one RECORDS message, to a writer. The transforms are
 * compiled once per schema version; batches and buffers are reused across
 * chunks.
 */
#include "lk_transform.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_exit.h"
#include "lk_fault.h"
#include "lk_flow.h"
#include "lk_log.h"
#include "lk_parser.h"
#include "lk_sendbuf.h"
#include "lk_source_cfg.h"
#include "lk_source_reader.h"
#include "lk_state.h"
#include "lk_time.h"
#include "lk_raw.h"
#include "lk_dedupe.h"
#include "lk_tables.h"

typedef struct transform {
    lk_worker *w;
    lk_state *st;
    lk_flow_in *in;   /* ← ingest: chunks, asked for one at a time (lk_flow) */
    lk_flow_out *out; /* → writers: records, to a writer that asked */
    int schema_version;
    lk_batch *raw;
    lk_tables *tables; /* compiled for schema_version */
    lk_parser *parser; /* the chunk's records → raw rows, by source.format */
    lk_msg_records rec;
    lk_buf msg;
    lk_sendbuf *pool; /* msg goes to ZeroMQ without a copy; buffers recycled */
    char cwd[2048];   /* relative source paths are made absolute against it */
    lk_buf fpath;     /* the chunk's _metadata.file_path (lk_raw_file_path) */
    lk_buf fbytes;    /* a chunk sent by reference: its bytes, read from the file */
    lk_msg_progress report; /* the monitor's parse report */
    int64_t wm_batch, wm_us; /* the watermark in force for batch wm_batch */
    struct {
        int64_t batch;
        int32_t gen;
        const char *why;
        int expected; /* a new key's re-read: how evolution works, not a failure */
    } ask[8]; /* replays to ask for (batch, generation): a queue the supervisor had no room for */
    int nask;
    int notes_keys;    /* the parser notes keys no column has (lk_source_cfg_scans_keys) */
    int64_t reread[8]; /* batches whose first reading this transform asked to be read again */
    int nreread;
    int32_t *drops;          /* transform.dedupe: the rows of this chunk to drop */
    int ndrops, drops_cap;
    lk_error err;
} transform;

/* transform.dedupe: the rows of chunk k of batch b that the committer found
   duplicated (state.db, stored before it had the batch replayed), read at
   every chunk: a replay sees the list its committer stored before asking
   for it. Entries for another identity of the chunk (src: the batch was
   re-planned because a file changed) are not applied. */
static int drops_for(transform *t, int64_t b, int32_t k, int64_t src)
{
    t->ndrops = 0;
    if (!lk_tables_dedupe_keys(t->tables)) return 0;
    int64_t found, n;
    void *data = NULL;
    size_t len = 0;
    if (lk_state_dedupe_get(t->st, b, 1, LK_DEDUPE_DROPS, &found, &n, &data, &len, &t->err))
        return -1;
    const lk_dedupe_drop *d = data;
    size_t nd = found == b ? len / sizeof *d : 0, stale = 0;
    for (size_t i = 0; i < nd; i++) {
        if (d[i].chunk != k) continue;
        if (d[i].src != src) { /* the batch was re-planned: these name other rows */
            stale++;
            continue;
        }
        if (t->ndrops == t->drops_cap) {
            t->drops_cap = t->drops_cap ? t->drops_cap * 2 : 64;
            t->drops = realloc(t->drops, sizeof *t->drops * (size_t)t->drops_cap);
            if (!t->drops) abort();
        }
        t->drops[t->ndrops++] = d[i].row;
    }
    free(data);
    if (stale)
        LK_WARN("batch=%lld chunk=%d: %zu entr(ies) of its dedupe drop list are for another "
                "reading of the batch (re-planned): not applied, the committer judges it again",
                (long long)b, k, stale);
    lk_tables_set_drops(t->tables, t->drops, t->ndrops, src);
    return 0;
}

/* event_metrics: the watermark in force for batch b is the one stored
   with the state of the batch before it (the committer wrote it before
   committing that batch; with metrics ingest plans b only once b - 1 is
   committed), so that a replay of b judges lateness exactly as the first
   run did. */
static int watermark_for(transform *t, int64_t b)
{
    if (lk_tables_metrics_index(t->tables) < 0) return 0;
    if (t->wm_batch != b) {
        int64_t found;
        if (lk_state_windows_get(t->st, b - 1, &found, &t->wm_us, NULL, NULL, NULL, 0, &t->err))
            return -1;
        t->wm_batch = b;
        LK_DEBUG("batch=%lld watermark_us=%lld (state of batch %lld)", (long long)b,
                 (long long)t->wm_us, (long long)found);
    }
    lk_tables_set_watermark(t->tables, t->wm_us);
    return 0;
}

/* Event time of the chunk for the monitor: min, max and sum of the
   processed rows' `ts` (a timestamp column), one pass over the column. */
static void event_time(transform *t, lk_msg_progress *p)
{
    const lk_batch *processed = lk_tables_batch(t->tables, 1);
    int k = lk_schema_find(lk_batch_schema(processed), "ts");
    if (k < 0)
        return;
    const lk_col *c = lk_batch_col_const(processed, k);
    if (c->field->type != LK_TYPE_TIMESTAMP && c->field->type != LK_TYPE_TIMESTAMP_NTZ)
        return;
    for (uint32_t i = 0; i < c->len; i++) {
        if (lk_col_is_null(c, i))
            continue;
        int64_t v = lk_col_i64(c, i);
        if (!p->event_n || v < p->event_min_us)
            p->event_min_us = v;
        if (!p->event_n || v > p->event_max_us)
            p->event_max_us = v;
        p->event_sum_s += (double)v / 1e6;
        p->event_n++;
    }
}

/* Loads the raw_events schema of version v and (re)builds the batches. */
static int use_schema(transform *t, int v)
{
    if (t->raw && v == t->schema_version)
        return 0;
    lk_schema *raw = NULL;
    if (lk_state_schema_at(t->st, LK_TABLE_RAW, v, &raw, &t->err))
        return -1;
    lk_tables *tables = NULL;
    if (lk_tables_new(lk_worker_config(t->w), raw, &tables, &t->err)) {
        lk_schema_destroy(&raw);
        t->err.code = LK_ECONFIG;
        return -1;
    }
    /* columns only the message reads are sent as references, not gathered here first */
    lk_tables_defer(tables, 1);
    lk_tables_destroy(&t->tables);
    t->tables = tables;
    lk_batch_destroy(&t->raw);
    lk_parser_schema_changed(t->parser);
    t->raw = lk_batch_new(raw);
    lk_schema_destroy(&raw);
    t->schema_version = v;
    LK_INFO("using raw_events schema version=%d", v);
    return 0;
}

/* Stops the pipeline: what is logged and sent to the supervisor as a fatal event; config: a
   configuration error (the run ends with 100, and the supervisor checks the user's file again
   to name its line). */
static int fatal(transform *t, const char *what, int config)
{
    LK_ERROR("%s: the pipeline stops", what);
    lk_worker_add(t->w, "errors", 1);
    lk_msg_event e;
    lk_msg_event_init(&e, "fatal");
    lk_msg_event_set_str(&e, "role", "transform");
    lk_msg_event_set_str(&e, "error", what);
    if (config) lk_msg_event_set_int(&e, "config", 1);
    lk_worker_notify(t->w, &e);
    return 0;
}

/* mode FAILFAST: the pipeline stops at the first malformed line; the chunk
   is not sent, so its batch (and every later one) is never committed. */
static int failfast(transform *t, const lk_msg_chunk *c, const lk_raw_stats *st)
{
    char what[1400];
    snprintf(what, sizeof what, "%s line=%lld batch=%lld", t->err.msg,
             (long long)(c->first_line + st->failed_line - 1), (long long)c->batch_id);
    return fatal(t, what, 0);
}

/* Asks the supervisor for the queued batches again (it tells ingest); what cannot be queued now
   waits for the next turn. */
static void ask_replays(transform *t)
{
    while (t->nask) {
        lk_msg_event e;
        lk_msg_event_init(&e, "replay");
        lk_msg_event_set_str(&e, "role", "transform");
        lk_msg_event_set_str(&e, "reason", t->ask[0].why);
        lk_msg_event_set_int(&e, "batch", t->ask[0].batch);
        lk_msg_event_set_int(&e, "gen", t->ask[0].gen);
        lk_msg_event_set_int(&e, "expected", t->ask[0].expected);
        if (lk_worker_notify(t->w, &e) != 0) return;
        memmove(&t->ask[0], &t->ask[1], sizeof t->ask[0] * (size_t)--t->nask);
    }
}

static void ask_replay(transform *t, int64_t batch, int32_t gen, const char *why, int expected)
{
    for (int i = 0; i < t->nask; i++)
        if (t->ask[i].batch == batch && t->ask[i].gen == gen) return;
    if (t->nask == (int)(sizeof t->ask / sizeof t->ask[0])) {
        /* full: the oldest request goes; its batch is replayed at its deadline (logged) */
        LK_WARN("batch=%lld: the replay request cannot be queued; ingest replays the batch once "
                "it is 5 minutes without a commit",
                (long long)t->ask[0].batch);
        memmove(&t->ask[0], &t->ask[1], sizeof t->ask[0] * (size_t)--t->nask);
    }
    t->ask[t->nask].batch = batch;
    t->ask[t->nask].why = why;
    t->ask[t->nask].expected = expected;
    t->ask[t->nask++].gen = gen;
    ask_replays(t);
}

/* A chunk sent by reference: its bytes read from the file (through ingest's open descriptor)
   and checked against the digest of the bytes ingest read (docs/decisions.md, "Chunks by
   reference"). When they cannot be: a chunk of a reading that is over (the batch committed, or
   replayed as a later generation, while the chunk waited here: its descriptor may be closed,
   or another file's by now) is dropped quietly; otherwise (the file changed in place since)
   the chunk is not parsed, its batch is asked for again at once (ingest checks the file and
   re-plans when it changed), and this transform takes chunks with their bytes from then on.
   0, or -1 with the chunk left alone. */
static int read_by_ref(transform *t, lk_msg_chunk *c)
{
    lk_fault_check("transform.read_ref"); /* hold, sleep: the file can change meanwhile (tests) */
    if (lk_source_read_range(c->file_path, c->ref_pid, c->ref_fd, c->offset, c->len, c->digest,
                             &t->fbytes, &t->err) == 0) {
        c->data = t->fbytes.data;
        lk_worker_add(t->w, "chunks_by_ref", 1);
        return 0;
    }
    int32_t gen = c->chunk_idx >> LK_CHUNK_GEN_SHIFT;
    lk_state_batch b;
    lk_error e;
    if (lk_state_batch_get(t->st, c->batch_id, &b, &e) == 0 &&
        (b.state == LK_BATCH_COMMITTED || b.gen > gen)) {
        LK_INFO("batch=%lld chunk=%d generation=%d: not parsed, %s (%s)", (long long)c->batch_id,
                c->chunk_idx & LK_CHUNK_K_MASK, gen,
                b.state == LK_BATCH_COMMITTED ? "the batch is committed"
                                              : "the batch was replayed as a later generation",
                t->err.msg);
        lk_worker_add(t->w, "stale_chunks", 1);
        return -1;
    }
    LK_ERROR("batch=%lld chunk=%d: %s; the chunk is not parsed: its batch is asked for again, "
             "and this transform takes chunks with their bytes from now on",
             (long long)c->batch_id, c->chunk_idx & LK_CHUNK_K_MASK, t->err.msg);
    lk_worker_add(t->w, "errors", 1);
    lk_flow_in_set_local(t->in, 0);
    ask_replay(t, c->batch_id, gen, "a transform could not read a chunk from its file", 0);
    return -1;
}

/* Keys no column has, in a chunk of JSON lines (lk_source_cfg_scans_keys; docs/decisions.md,
   "New keys found by the transforms"). In a batch's first reading (generation 0) ingest scans only
   each chunk's first and last lines: a key the reader notes (by the scan's rule) makes this
   transform ask for the batch again, and not send the chunk; ingest reads it again as generation
   1 with every line scanned, adds the new columns before the chunks go out, and the committer
   takes that reading only (as Auto Loader restarts its stream on a new column). A later reading
   never asks. The batch is remembered, so that its first reading's other chunks are dropped
   unparsed. 1: the chunk is not sent. */
static int new_keys(transform *t, const lk_msg_chunk *c, const lk_raw_stats *st, const char *why)
{
    if (!t->notes_keys || (c->chunk_idx >> LK_CHUNK_GEN_SHIFT) > 0)
        return 0;
    if (why)
        LK_INFO("batch=%lld chunk=%d: %s in its first reading: the batch is read again with its "
                "keys scanned",
                (long long)c->batch_id, c->chunk_idx & LK_CHUNK_K_MASK, why);
    else
        LK_INFO("batch=%lld chunk=%d: key %s has no column (file=%s line=%lld): the batch is read "
                "again with its keys scanned",
                (long long)c->batch_id, c->chunk_idx & LK_CHUNK_K_MASK, st->new_key_names[0],
                c->file_path, (long long)(c->first_line + st->new_key_line - 1));
    lk_worker_add(t->w, "new_key_replays", 1);
    ask_replay(t, c->batch_id, 0,
               why ? "a malformed record (FAILFAST) before the batch's keys were scanned"
                   : "a transform found a key no column has",
               1);
    t->reread[t->nreread++ % 8] = c->batch_id;
    return 1;
}

static int process(void *ctx, const void *data, size_t len)
{
    transform *t = ctx;
    lk_msg_chunk c;
    if (lk_msg_chunk_decode(data, len, &c, &t->err)) {
        LK_ERROR("dropped a malformed chunk: %s", t->err.msg);
        lk_worker_add(t->w, "errors", 1);
        return 0; /* ingest replays the batch when it is not committed */
    }
    if (!(c.chunk_idx >> LK_CHUNK_GEN_SHIFT))
        for (int i = 0; i < (t->nreread < 8 ? t->nreread : 8); i++)
            if (t->reread[i] == c.batch_id) {
                /* its batch is read again (a new key): this reading is never committed */
                lk_worker_add(t->w, "stale_chunks", 1);
                return 0;
            }
    if (c.by_ref && read_by_ref(t, &c))
        return 0;
    if (use_schema(t, c.schema_version)) {
        if (t->err.code == LK_ECONFIG) {
            /* the transforms do not compile for this schema (a column they
               name changed type): a configuration error, not worth restarts */
            char what[1400];
            snprintf(what, sizeof what, "raw_events schema version %d: %s", c.schema_version,
                     t->err.msg);
            return fatal(t, what, 1);
        }
        LK_ERROR("batch=%lld chunk=%d: no raw_events schema version %d: %s",
                 (long long)c.batch_id, c.chunk_idx, c.schema_version, t->err.msg);
        return -1;
    }
    int64_t t0 = lk_time_now_us();
    lk_fault_check("transform.chunk"); /* sleep<MS>: a slow transform, for the autoscaler's tests */
    lk_batch_reset(t->raw);
    /* absolute, and valid UTF-8 whatever the file's name (it goes into the Delta log's
       stats): percent-encoded as lk_raw_file_path says */
    lk_raw_file_path(t->cwd, c.file_path, &t->fpath);
    const char *slash = strrchr(t->fpath.data, '/');
    lk_source_meta meta = {t->fpath.data, slash ? slash + 1 : t->fpath.data, c.file_size,
                           c.file_mtime_us};
    lk_raw_stats st = {0};
    lk_parser_chunk pc = {c.data, c.len, c.offset, c.first_line == 1, c.header, c.header_len};
    int prc = lk_parser_parse(t->parser, &pc, &meta, &t->raw, &st, &t->err);
    /* FAILFAST: a new key on a line before the malformed one must be found first (it is, by
       ingest's scan, in the batch's next reading), as it was when ingest scanned every line */
    if (prc && st.failed_line)
        return new_keys(t, &c, &st, "a malformed record (mode: FAILFAST)") ? 0
                                                                          : failfast(t, &c, &st);
    if (st.new_keys && new_keys(t, &c, &st, NULL))
        return 0;
    if (prc || watermark_for(t, c.batch_id) ||
        drops_for(t, c.batch_id, c.chunk_idx & LK_CHUNK_K_MASK,
                  lk_dedupe_chunk_src(c.file_path, c.offset, (int64_t)c.len)) ||
        lk_tables_run(t->tables, t->raw, lk_time_now_us(), c.batch_id, &t->err)) {
        LK_ERROR("batch=%lld chunk=%d file=%s offset=%lld: %s", (long long)c.batch_id,
                 c.chunk_idx, c.file_path, (long long)c.offset, t->err.msg);
        return -1;
    }
    if (st.dropped) {
        LK_WARN("file=%s offset=%lld lines_from=%lld: %lld malformed record(s) dropped "
                "(mode: DROPMALFORMED)",
                c.file_path, (long long)c.offset, (long long)c.first_line, (long long)st.dropped);
        lk_worker_add(t->w, "dropped_malformed", st.dropped);
    }
    if (st.corrupt)
        LK_INFO("file=%s offset=%lld lines_from=%lld: %lld corrupt record(s) kept in "
                "_corrupt_record",
                c.file_path, (long long)c.offset, (long long)c.first_line, (long long)st.corrupt);
    t->rec.batch_id = c.batch_id;
    t->rec.chunk_idx = c.chunk_idx;
    t->rec.rows_in = st.rows;
    t->rec.corrupt_rows = st.corrupt;
    t->rec.rescued_rows = st.rescued;
    int ntables = lk_tables_count(t->tables);
    t->rec.n_parts = ntables;
    for (int i = 0; i < ntables; i++) {
        snprintf(t->rec.parts[i].table, sizeof t->rec.parts[i].table, "%s",
                 lk_tables_name(t->tables, i));
        t->rec.parts[i].batch = i ? lk_tables_batch(t->tables, i) : t->raw;
        /* a filtered table's columns taken unchanged from its source travel as references */
        t->rec.parts[i].from = lk_tables_lineage(t->tables, i, &t->rec.parts[i].keep,
                                                 &t->rec.parts[i].cols);
        t->rec.parts[i].deferred = lk_tables_deferred(t->tables, i);
    }
    lk_batch *keys = lk_tables_dedupe_keys(t->tables);
    if (keys) { /* transform.dedupe's key list: forwarded to the committer */
        snprintf(t->rec.parts[ntables].table, sizeof t->rec.parts[ntables].table, "%s",
                 LK_DEDUPE_PART);
        t->rec.parts[ntables].batch = keys;
        t->rec.parts[ntables].keep = NULL;
        t->rec.n_parts = ++ntables;
    }
    lk_buf_reset(&t->msg);
    lk_msg_records_encode(&t->rec, &t->msg);
    if (lk_fault_check("transform.records") == LK_FAULT_CORRUPT && t->msg.len > 16)
        t->msg.len /= 2; /* a message cut short: it no longer decodes */
    /* reported before the send: the batch cannot commit before the writer
       has it, so the monitor has the parse share before the commit */
    lk_msg_progress *p = &t->report;
    memset(p, 0, sizeof *p);
    p->phase = LK_PHASE_PARSE;
    p->batch_id = c.batch_id;
    p->ts_us = lk_time_now_us();
    p->duration_us = p->ts_us - t0;
    p->rows = st.rows;
    p->bytes = (int64_t)c.len;
    p->corrupt = st.corrupt;
    p->rescued = st.rescued;
    event_time(t, p);
    lk_worker_report(t->w, p);
    int64_t busy = lk_time_now_us() - t0;
    if (lk_flow_out_send(t->out, t->pool, &t->msg))
        return -1;
    /* the autoscaler's measure: time parsing, not waiting for a writer */
    lk_worker_add(t->w, "busy_us", busy);
    lk_worker_add(t->w, "chunks", 1);
    lk_worker_add(t->w, "rows_in", st.rows);
    lk_worker_add(t->w, "rows_out", lk_batch_nrows(lk_tables_batch(t->tables, 1)));
    if (lk_tables_quarantined(t->tables))
        lk_worker_add(t->w, "quarantined", lk_tables_quarantined(t->tables));
    if (lk_tables_late(t->tables) || lk_tables_no_event_time(t->tables)) {
        LK_INFO("batch=%lld chunk=%d file=%s offset=%lld: %lld late row(s), %lld without an "
                "event time: to quarantine (watermark_us=%lld)",
                (long long)c.batch_id, c.chunk_idx, c.file_path, (long long)c.offset,
                (long long)lk_tables_late(t->tables), (long long)lk_tables_no_event_time(t->tables),
                (long long)t->wm_us);
        lk_worker_add(t->w, "late_rows", lk_tables_late(t->tables));
        lk_worker_add(t->w, "no_event_time_rows", lk_tables_no_event_time(t->tables));
    }
    if (lk_tables_dropped(t->tables)) {
        LK_INFO("batch=%lld chunk=%d file=%s offset=%lld: %lld duplicate row(s) dropped "
                "(transform.dedupe)",
                (long long)c.batch_id, c.chunk_idx & LK_CHUNK_K_MASK, c.file_path,
                (long long)c.offset, (long long)lk_tables_dropped(t->tables));
        lk_worker_add(t->w, "dedupe_dropped", lk_tables_dropped(t->tables));
    }
    lk_worker_add(t->w, "corrupt", st.corrupt);
    lk_worker_add(t->w, "rescued", st.rescued);
    lk_worker_add(t->w, "bytes_in", (int64_t)c.len);
    return 0;
}

/* Writers asking for records or leaving, while we wait for a chunk. */
static int service_out(void *ctx)
{
    transform *t = ctx;
    lk_flow_out_service(t->out);
    return 0;
}

/* Every turn of the receive loop: a replay request that could not be queued goes now. */
static void on_turn(void *ctx)
{
    ask_replays(ctx);
}

int lk_transform_run(lk_worker *w)
{
    transform T, *t = &T;
    memset(t, 0, sizeof *t);
    t->w = w;
    t->wm_batch = -1;
    const lk_config *cfg = lk_worker_config(w);
    char path[2048], ep[1200];
    lk_config_state_path(cfg, path, sizeof path);
    if (lk_state_open(path, &t->st, &t->err)) {
        LK_ERROR("%s", t->err.msg);
        return LK_EXIT_TEMPFAIL;
    }
    /* a transform of another host (lakesupd worker-host) resolves them against the
       pipeline host's directory, as the local transforms do */
    const char *pcwd = getenv("LAKESUPD_PIPELINE_CWD");
    if (pcwd && pcwd[0] == '/')
        snprintf(t->cwd, sizeof t->cwd, "%s", pcwd);
    else if (!getcwd(t->cwd, sizeof t->cwd))
        t->cwd[0] = '\0'; /* then relative paths stay relative (and say so by their look) */
    lk_parser_options po;
    lk_source_cfg_parser(cfg, &po);
    /* a transform of another host cannot ask this host's ingest for a batch again: ingest
       scans every batch's keys when transforms of other hosts may join */
    po.json.note_new_keys = po.json.note_new_keys && pcwd == NULL;
    t->notes_keys = po.json.note_new_keys;
    t->parser = lk_parser_new(&po);
    lk_worker_endpoint(w, LK_EP_RECORDS, lk_worker_index(w), ep, sizeof ep);
    if (lk_flow_out_new(w, ep, &t->out, &t->err)) {
        LK_ERROR("%s", t->err.msg);
        return LK_EXIT_TEMPFAIL;
    }
    t->pool = lk_sendbuf_new();
    lk_worker_ready(w);
    /* ingest binds "chunks" and may start after us (the link retries after
       5 ms); the first credit goes out once we are ready: a new transform
       receives chunks only when it is up */
    t->in = lk_flow_in_new(w, 1);
    /* chunks by reference: a transform of this host reads the files ingest reads (one of
       another host gets every chunk's bytes: the gateway does not pass the "l" on) */
    lk_flow_in_set_local(t->in, pcwd == NULL);
    /* and a chunk that carries its bytes (a compressed file, Kafka) comes through a slab */
    lk_flow_in_set_slabs(t->in, pcwd == NULL && cfg->workers.shared_memory);
    lk_worker_endpoint(w, LK_EP_CHUNKS, -1, ep, sizeof ep);
    lk_flow_in_connect(t->in, ep);
    lk_flow_handlers h = {process, lk_flow_out_sock(t->out), service_out, on_turn};
    int rc = lk_flow_in_loop(t->in, &h, t);
    for (int i = 0; i < LK_MSG_MAX_PARTS; i++)
        t->rec.parts[i].batch = NULL;
    t->rec.n_parts = 0;
    lk_flow_in_destroy(&t->in);
    lk_flow_out_destroy(&t->out); /* the writers hear the end of our stream */
    lk_batch_destroy(&t->raw);
    lk_tables_destroy(&t->tables);
    lk_parser_destroy(&t->parser);
    lk_state_close(&t->st);
    lk_buf_free(&t->msg);
    lk_buf_free(&t->fpath);
    lk_buf_free(&t->fbytes);
    free(t->drops);
    lk_sendbuf_destroy(&t->pool);
    return rc;
}
