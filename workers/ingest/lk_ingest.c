/*
 * lk_ingest — Auto Loader's discovery and planning side of the pipeline.
 *
 * It lists source_path for new JSON-lines files (each file once: state.db
 * remembers every file), infers the raw_events schema from a sample of the
 * first files when none exists yet, and PLANS a batch — the set of file
 * byte ranges — durably in state.db BEFORE any byte of it moves (DESIGN §2
 * invariant 1). Then it reads the ranges and pushes chunks of whole lines
 * (about chunk_bytes each) to the transforms, and finally tells the
 * committer how many chunks the batch has ("sealed").
 *
 * It parses nothing on the hot path. Delivery downstream is at least once:
 * when a transform, writer or the committer dies (the supervisor says
 * "replay"), when ingest itself restarts, or when a batch misses its
 * deadline, every uncommitted batch is sent again — chunking is
 * deterministic, so a replayed chunk has the same (batch, chunk) identity
 * and the committer drops the duplicate. At most max_inflight batches are
 * uncommitted at once, which with ZeroMQ's high-water marks bounds memory.
 */
#include "lk_ingest.h"

#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lk_evolve.h"
#include "lk_infer.h"
#include "lk_log.h"
#include "lk_source_reader.h"
#include "lk_csv_reader.h"
#include "lk_text_reader.h"
#include "lk_state.h"
#include "lk_tables.h"
#include "lk_time.h"

#define MAX_INFLIGHT 3
#define LIST_INTERVAL_MS 100
#define BATCH_TIMEOUT_MS (5 * 60 * 1000)
#define SAMPLE_PER_FILE (1 << 20)

typedef struct inflight {
    int64_t batch_id;
    int64_t sent_ms;
} inflight;

typedef struct ingest {
    lk_worker *w;
    const lk_config *cfg;
    lk_state *st;
    zsock_t *chunks;    /* PUSH → transforms */
    zsock_t *inbox;     /* PULL ← supervisor, committer */
    zsock_t *committer; /* PUSH → committer (sealed) */
    zhash_t *seen;      /* path → "size:mtime" already recorded (or refused) */
    zhash_t *settling;  /* path → "size:mtime" at the last listing, not yet taken */
    inflight fl[MAX_INFLIGHT * 4];
    int nfl;
    int replay_all;
    int draining;
    int aborted; /* a fatal error (here or reported): stop without draining */
    int listed_once;
    int skip_existing; /* first listing ever with include_existing_files: false */
    int64_t next_list_ms;
    int list_errors;        /* files the last listing could not record */
    int64_t retry_at_ms;    /* paused on a resource error until then */
    int replay_at_retry;    /* the failure left a batch unsealed: replay it */
    int schema_version;
    lk_evolve *ev; /* schema_evolution_mode: new columns in chunks */
    lk_buf io;  /* read buffer */
    lk_buf msg; /* encoded message */
    lk_source_opts src; /* format, compression, chunking */
    lk_csv_reader *csv; /* format: csv (schema inference) */
    lk_error err;
} ingest;

static int is_candidate(const ingest *in, const char *name)
{
    return lk_source_format_accepts(name, in->cfg); /* format and compression */
}

/* Records files not seen before; recursive, bounded depth. */
static int list_dir(ingest *in, const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (depth == 0) {
            LK_WARN("cannot list source_path %s: %s", dir, strerror(errno));
            lk_worker_add(in->w, "errors", 1);
        }
        return 0;
    }
    int added = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[1024];
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path) {
            LK_WARN("path too long, skipped: %s/%s", dir, e->d_name);
            continue;
        }
        struct stat sb;
        if (stat(path, &sb) != 0)
            continue; /* vanished between readdir and stat */
        if (S_ISDIR(sb.st_mode)) {
            if (depth < 16 && e->d_name[0] != '.' && e->d_name[0] != '_')
                added += list_dir(in, path, depth + 1);
            continue;
        }
        if (!S_ISREG(sb.st_mode) || !is_candidate(in, e->d_name))
            continue;
        char sig[64];
        int64_t mtime_us = (int64_t)sb.st_mtim.tv_sec * 1000000 + sb.st_mtim.tv_nsec / 1000;
        snprintf(sig, sizeof sig, "%lld:%lld", (long long)sb.st_size, (long long)mtime_us);
        const char *known = zhash_lookup(in->seen, path);
        if (known && !strcmp(known, sig))
            continue;
        /* A file is taken once it is complete: in continuous mode, when it
           is unchanged across two listings (a writer that renames into place
           passes at once on the next listing); in available-now mode, as
           found. */
        if (in->cfg->trigger != LK_TRIGGER_AVAILABLE_NOW && !in->skip_existing) {
            const char *prev = zhash_lookup(in->settling, path);
            if (!prev || strcmp(prev, sig)) {
                zhash_update(in->settling, path, strdup(sig));
                zhash_freefn(in->settling, path, free);
                continue;
            }
            zhash_delete(in->settling, path);
        }
        int any_version = 0;
        if (!known && lk_state_file_known(in->st, path, &any_version, &in->err)) {
            LK_ERROR("cannot look up discovered file %s: %s", path, in->err.msg);
            lk_worker_add(in->w, "errors", 1);
            in->list_errors++;
            continue;
        }
        lk_state_file f;
        memset(&f, 0, sizeof f);
        snprintf(f.path, sizeof f.path, "%s", path);
        f.size = sb.st_size;
        f.mtime_us = mtime_us;
        f.inode = (int64_t)sb.st_ino;
        f.device = (int64_t)sb.st_dev;
        f.batch_id = -1;
        int is_new = 0;
        if (known || any_version) {
            /* the same path with another size or mtime: a file changed after
               it was taken. Taking it again would duplicate what was read
               (Auto Loader's allowOverwrites=false): it is recorded as
               skipped, with the reason, and said once. */
            if (lk_state_file_add(in->st, &f, &is_new, &in->err) == 0 && is_new) {
                lk_state_file_skip(in->st, f.id,
                                   "changed after it was ingested (overwrites are not taken)",
                                   &in->err);
                LK_WARN("file changed after it was ingested; the new content is not taken "
                        "(overwrites are not ingested again) file=%s size=%lld",
                        path, (long long)sb.st_size);
                lk_worker_add(in->w, "skipped", 1);
            }
            zhash_update(in->seen, path, strdup(sig));
            zhash_freefn(in->seen, path, free);
            continue;
        }
        if (lk_state_file_add(in->st, &f, &is_new, &in->err) ||
            (is_new && in->skip_existing &&
             lk_state_file_skip(in->st, f.id,
                                "present before the first start (include_existing_files: false)",
                                &in->err))) {
            LK_ERROR("cannot record discovered file %s: %s", path, in->err.msg);
            lk_worker_add(in->w, "errors", 1);
            in->list_errors++;
            continue; /* retried at the next listing: nothing is lost */
        }
        zhash_update(in->seen, path, strdup(sig));
        zhash_freefn(in->seen, path, free);
        if (is_new) {
            added++;
            LK_DEBUG("discovered file=%s size=%lld", path, (long long)sb.st_size);
        }
    }
    closedir(d);
    return added;
}

static void infer_doc(void *ctx, const char *rec, size_t n, size_t offset)
{
    (void)offset;
    lk_infer_line(ctx, rec, n);
}

/* Feeds the (decompressed) heads of files to inf by the source format. */
static long sample_records(ingest *in, lk_infer *inf, const lk_state_file *files, int n,
                           int64_t budget)
{
    if (in->src.format == LK_SOURCE_TEXT) {
        static const char value[] = "{\"value\":\"\"}";
        lk_infer_line(inf, value, sizeof value - 1); /* text: one value column */
        return 1;
    }
    lk_csv_reader *csv = in->csv;
    long objects = 0;
    lk_source_opts quiet = in->src;
    quiet.quiet = 1; /* oversized records are logged when the batch is sent */
    for (int i = 0; i < n && budget > 0; i++) {
        lk_source_reader *sr = lk_source_reader_open(files[i].path, 0, files[i].size, &quiet,
                                                     &in->err);
        if (!sr)
            continue;
        lk_source_chunk c;
        int64_t took = 0;
        while (took < SAMPLE_PER_FILE && budget > 0 &&
               lk_source_reader_next(sr, &c, &in->err) == 1) {
            if (csv)
                objects += lk_csv_reader_infer(csv, inf, c.data, c.len, took == 0);
            else if (in->src.multi_line)
                objects += lk_text_json_doc(c.data, c.len, &in->io, infer_doc, inf);
            else
                objects += lk_infer_lines(inf, c.data, c.len);
            took += (int64_t)c.len;
            budget -= (int64_t)c.len;
        }
        lk_source_reader_destroy(&sr);
    }
    return objects;
}

/* Infers and stores the raw_events schema from the heads of files. */
static int infer_schema(ingest *in, const lk_state_file *files, int n)
{
    lk_infer *inf = lk_infer_new();
    int64_t budget = in->cfg->source.schema_inference_sample_bytes;
    if (lk_evolve_has_user_schema(in->ev) || n > in->cfg->source.schema_inference_sample_size)
        n = lk_evolve_has_user_schema(in->ev) ? 0 : in->cfg->source.schema_inference_sample_size;
    long objects = sample_records(in, inf, files, n, budget);
    lk_schema *data = in->csv ? lk_csv_reader_infer_result(in->csv, inf) : lk_infer_result(inf);
    lk_infer_destroy(&inf);
    int rc = lk_evolve_initial(in->ev, data, &in->schema_version, &in->err);
    if (rc == 0) {
        lk_buf ddl = LK_BUF_INIT;
        lk_evolve_ddl(in->ev, &ddl);
        LK_INFO("%s schema version=%d from %ld records: %s",
                lk_evolve_has_user_schema(in->ev) ? "user" : "inferred", in->schema_version,
                objects, ddl.data ? ddl.data : "(no columns)");
        lk_buf_free(&ddl);
    }
    lk_schema_destroy(&data);
    return rc;
}

static void send_sealed(ingest *in, int64_t batch_id, int32_t gen, int32_t n_chunks, int64_t bytes)
{
    lk_msg_event e;
    lk_msg_event_init(&e, "sealed");
    lk_msg_event_set_int(&e, "batch", batch_id);
    lk_msg_event_set_int(&e, "gen", gen);
    lk_msg_event_set_int(&e, "chunks", n_chunks);
    lk_msg_event_set_int(&e, "bytes", bytes);
    lk_buf_reset(&in->msg);
    lk_msg_event_encode(&e, &in->msg);
    lk_zmq_send_blocking(in->w, in->committer, in->msg.data, in->msg.len);
}

/* Reads and pushes every chunk of a planned batch, then seals it. */
static int send_batch(ingest *in, int64_t batch_id, int replay)
{
    lk_state_range *ranges = NULL;
    int n = 0;
    if (lk_state_batch_ranges(in->st, batch_id, &ranges, &n, &in->err)) {
        LK_ERROR("cannot read the plan of batch %lld: %s", (long long)batch_id, in->err.msg);
        return -1;
    }
    int64_t bytes = 0;
    int32_t idx = 0;
    lk_state_batch b;
    if (lk_state_batch_get(in->st, batch_id, &b, &in->err)) {
        LK_ERROR("cannot read batch %lld: %s", (long long)batch_id, in->err.msg);
        free(ranges);
        return -1;
    }
    /* A replay reproduces the first attempt's chunks only from files that
       are unchanged. When one vanished, shrank or was modified, the batch
       is re-planned as the next generation: the committer then drops every
       chunk of earlier attempts, so the batch is committed from one
       consistent reading, never a mix. */
    int32_t gen = b.gen;
    unsigned char *gone = calloc((size_t)n + 1, 1);
    int regenerate = 0;
    for (int r = 0; r < n; r++) {
        const lk_state_range *rg = &ranges[r];
        struct stat sb;
        memset(&sb, 0, sizeof sb);
        const char *why = NULL;
        if (stat(rg->path, &sb) != 0)
            why = strerror(errno);
        else if (sb.st_size < rg->end)
            why = "it is shorter than when planned";
        if (why) {
            gone[r] = 1;
            LK_ERROR("file=%s of batch=%lld cannot be read (%s): its bytes [%lld, %lld) are "
                     "missing from the batch",
                     rg->path, (long long)batch_id, why, (long long)rg->start, (long long)rg->end);
            lk_worker_add(in->w, "errors", 1);
            lk_worker_add(in->w, "lost_files", 1);
        }
        if (replay && (gone[r] || (int64_t)sb.st_mtim.tv_sec * 1000000 +
                                             sb.st_mtim.tv_nsec / 1000 != rg->mtime_us))
            regenerate = 1; /* (sb is only read when stat succeeded) */
    }
    if (regenerate) {
        gen++;
        LK_WARN("batch=%lld: a file changed or vanished since the batch was planned: it is "
                "re-planned as generation %d (earlier chunks are dropped)",
                (long long)batch_id, gen);
    }
    for (int r = 0; r < n && !lk_worker_orphaned(in->w); r++) {
        const lk_state_range *rg = &ranges[r];
        if (gone[r])
            continue;
        if (idx > LK_CHUNK_K_MASK) {
            LK_ERROR("batch=%lld has more than %d chunks: file=%s and the rest are not sent",
                     (long long)batch_id, LK_CHUNK_K_MASK, rg->path);
            break;
        }
        /* decompression and record-aligned cuts: lk_source_reader */
        lk_source_reader *sr =
            lk_source_reader_open(rg->path, rg->start, rg->end, &in->src, &in->err);
        if (!sr) {
            LK_ERROR("cannot read file=%s of batch=%lld: %s; its rows are missing from the batch",
                     rg->path, (long long)batch_id, in->err.msg);
            lk_worker_add(in->w, "errors", 1);
            continue;
        }
        lk_source_chunk sc;
        int rc;
        int scan = !strcmp(in->cfg->source.format, "json") && !in->cfg->source.multi_line;
        while ((rc = lk_source_reader_next(sr, &sc, &in->err)) == 1) {
            /* new columns: schema evolution before the chunk goes out (JSON lines) */
            int v0 = in->schema_version;
            if (scan && lk_evolve_chunk(in->ev, sc.data, sc.len, rg->path, sc.first_line,
                                        &in->schema_version, &in->err)) {
                LK_ERROR("batch=%lld: %s", (long long)batch_id, in->err.msg);
                lk_source_reader_destroy(&sr);
                free(ranges);
                free(gone);
                return -1;
            }
            if (in->schema_version != v0)
                lk_worker_add(in->w, "schema_changes", 1);
            lk_msg_chunk m;
            memset(&m, 0, sizeof m);
            m.batch_id = batch_id;
            m.chunk_idx = LK_CHUNK_IDX(gen, idx);
            m.schema_version = in->schema_version;
            m.file_id = rg->file_id;
            snprintf(m.file_path, sizeof m.file_path, "%s", rg->path);
            m.file_size = rg->file_size;
            m.file_mtime_us = rg->mtime_us;
            m.offset = sc.offset;
            m.first_line = sc.first_line;
            m.data = sc.data;
            m.len = sc.len;
            lk_buf_reset(&in->msg);
            lk_msg_chunk_encode(&m, &in->msg);
            if (lk_zmq_send_blocking(in->w, in->chunks, in->msg.data, in->msg.len)) {
                lk_source_reader_destroy(&sr);
                free(ranges);
                free(gone);
                return -1;
            }
            bytes += (int64_t)sc.len;
            idx++;
            lk_worker_add(in->w, "chunks_out", 1);
            lk_worker_add(in->w, "bytes_in", (int64_t)sc.len);
            if (idx > LK_CHUNK_K_MASK)
                break;
        }
        if (rc < 0) {
            /* what was read before the damage is in the batch */
            LK_ERROR("%s batch=%lld: the rest of this file is missing from the batch",
                     in->err.msg, (long long)batch_id);
            lk_worker_add(in->w, "errors", 1);
        }
        lk_worker_add(in->w, "oversized_records", lk_source_reader_oversized(sr));
        lk_source_reader_destroy(&sr);
    }
    free(ranges);
    free(gone);
    if (regenerate) {
        if (lk_state_reseal_batch(in->st, batch_id, gen, idx, &in->err)) {
            LK_ERROR("cannot seal batch %lld (generation %d): %s", (long long)batch_id, gen,
                     in->err.msg);
            return -1;
        }
    } else if (b.state == LK_BATCH_PLANNED) {
        if (lk_state_seal_batch(in->st, batch_id, idx, &in->err)) {
            LK_ERROR("cannot seal batch %lld: %s", (long long)batch_id, in->err.msg);
            return -1;
        }
    } else if (b.n_chunks >= 0 && b.n_chunks != idx) {
        LK_WARN("batch=%lld replayed with %d chunks, planned with %d (a source file changed)",
                (long long)batch_id, idx, b.n_chunks);
    }
    send_sealed(in, batch_id, gen, idx, bytes);
    LK_INFO("%s batch=%lld files=%d chunks=%d bytes=%lld", replay ? "replayed" : "sent",
            (long long)batch_id, n, idx, (long long)bytes);
    lk_worker_add(in->w, "batches", replay ? 0 : 1);
    return 0;
}

static void track(ingest *in, int64_t batch_id)
{
    for (int i = 0; i < in->nfl; i++) {
        if (in->fl[i].batch_id == batch_id) {
            in->fl[i].sent_ms = lk_time_mono_ms();
            return;
        }
    }
    if (in->nfl < (int)(sizeof in->fl / sizeof in->fl[0]))
        in->fl[in->nfl++] = (inflight){batch_id, lk_time_mono_ms()};
}

static void untrack(ingest *in, int64_t batch_id)
{
    for (int i = 0; i < in->nfl; i++) {
        if (in->fl[i].batch_id == batch_id) {
            in->fl[i] = in->fl[--in->nfl];
            return;
        }
    }
}

/* Forgets in-flight batches that state.db says are committed. */
static void refresh_inflight(ingest *in)
{
    for (int i = in->nfl - 1; i >= 0; i--) {
        lk_state_batch b;
        if (lk_state_batch_get(in->st, in->fl[i].batch_id, &b, &in->err) == 0 &&
            b.state == LK_BATCH_COMMITTED)
            untrack(in, in->fl[i].batch_id);
    }
}

static int replay_uncommitted(ingest *in)
{
    int64_t *ids = NULL;
    int n = 0;
    if (lk_state_batches_uncommitted(in->st, &ids, &n, &in->err)) {
        LK_ERROR("cannot list uncommitted batches: %s", in->err.msg);
        return -1;
    }
    if (n)
        LK_INFO("replaying %d uncommitted batch(es) from batch=%lld", n, (long long)ids[0]);
    for (int i = 0; i < n && !lk_worker_orphaned(in->w); i++) {
        if (send_batch(in, ids[i], 1)) {
            free(ids);
            return -1;
        }
        track(in, ids[i]);
        lk_worker_add(in->w, "replays", 1);
    }
    free(ids);
    return 0;
}

/* Plans one batch from pending files (inferring the schema first if none
   exists). Returns 1 if a batch was planned and sent, 0 if nothing is
   pending, -1 on error. */
static int plan_next(ingest *in)
{
    lk_state_file *files = NULL;
    int n = 0;
    if (lk_state_files_pending(in->st, in->cfg->source.max_files_per_trigger, &files, &n,
                               &in->err)) {
        LK_ERROR("cannot list pending files: %s", in->err.msg);
        return -1;
    }
    if (n == 0) {
        free(files);
        return 0;
    }
    if (in->schema_version == 0 && infer_schema(in, files, n)) {
        LK_ERROR("cannot store the inferred schema: %s", in->err.msg);
        free(files);
        return -1;
    }
    lk_state_range *ranges = calloc((size_t)n, sizeof *ranges);
    if (!ranges)
        abort();
    int64_t bytes = 0, cap = in->cfg->source.max_bytes_per_trigger;
    int k = 0;
    for (int i = 0; i < n; i++) {
        /* max_bytes_per_trigger is soft: a batch takes at least one file */
        if (cap > 0 && k > 0 && bytes + files[i].size > cap)
            break;
        ranges[k].file_id = files[i].id;
        snprintf(ranges[k].path, sizeof ranges[k].path, "%s", files[i].path);
        ranges[k].start = 0;
        ranges[k].end = files[i].size;
        ranges[k].file_size = files[i].size;
        ranges[k].mtime_us = files[i].mtime_us;
        bytes += files[i].size;
        k++;
    }
    free(files);
    int64_t batch_id;
    int rc = lk_state_plan_batch(in->st, ranges, k, &batch_id, &in->err);
    free(ranges);
    if (rc) {
        LK_ERROR("cannot plan a batch (nothing was sent): %s", in->err.msg);
        return -1;
    }
    LK_INFO("planned batch=%lld files=%d bytes=%lld", (long long)batch_id, k, (long long)bytes);
    track(in, batch_id);
    if (send_batch(in, batch_id, 0))
        return -1;
    return 1;
}

static void handle_inbox(ingest *in, int timeout_ms)
{
    for (;;) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        int rc = lk_zmq_recv(in->inbox, &msg, timeout_ms);
        if (rc) {
            zmq_msg_close(&msg);
            return;
        }
        timeout_ms = 0;
        lk_msg_event e;
        if (lk_msg_event_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &e, &in->err)) {
            LK_WARN("dropped a malformed message: %s", in->err.msg);
        } else if (!strcmp(e.name, "committed")) {
            untrack(in, lk_msg_event_get_int(&e, "batch", -1));
        } else if (!strcmp(e.name, "replay")) {
            const char *why = lk_msg_event_get_str(&e, "reason");
            LK_INFO("replay requested reason=%s", why ? why : "?");
            in->replay_all = 1;
        } else if (!strcmp(e.name, "abort")) {
            LK_INFO("the pipeline stops after a fatal error: not draining %d batch(es) in flight "
                    "(they replay at the next start)",
                    in->nfl);
            in->aborted = in->draining = 1;
        } else if (!strcmp(e.name, "stop")) {
            if (!in->draining)
                LK_INFO("stop requested: no new batches; draining %d in flight", in->nfl);
            in->draining = 1;
        }
        zmq_msg_close(&msg);
    }
}

static void notify_done(ingest *in, const char *reason)
{
    lk_msg_event e;
    lk_msg_event_init(&e, "done");
    lk_msg_event_set_str(&e, "reason", reason);
    lk_worker_notify(in->w, &e);
}

/* A resource error (state.db on a full disk): planning pauses and retries;
   a batch planned but not sealed is replayed when the retry comes. */
static void pause_ingest(ingest *in, int replay)
{
    lk_worker_pause(in->w, in->err.msg);
    in->retry_at_ms = lk_time_mono_ms() + lk_worker_pause_delay_ms(in->w);
    if (replay)
        in->replay_at_retry = 1;
}

static int fatal(ingest *in, const char *what)
{
    lk_msg_event e;
    lk_msg_event_init(&e, "fatal");
    lk_msg_event_set_str(&e, "role", "ingest");
    lk_msg_event_set_str(&e, "error", what);
    lk_worker_notify(in->w, &e);
    return 1;
}

int lk_ingest_run(lk_worker *w)
{
    ingest IN, *in = &IN;
    memset(in, 0, sizeof *in);
    in->w = w;
    in->cfg = lk_worker_config(w);
    lk_source_opts_from_config(in->cfg, &in->src);
    if (in->src.format == LK_SOURCE_CSV)
        in->csv = lk_csv_reader_new(in->cfg);
    in->seen = zhash_new();
    in->settling = zhash_new();
    char path[2048];
    lk_config_state_path(in->cfg, path, sizeof path);
    if (lk_state_open(path, &in->st, &in->err)) {
        LK_ERROR("%s", in->err.msg);
        return 111;
    }
    in->ev = lk_evolve_new(in->cfg, in->st);
    if (lk_evolve_load(in->ev, &in->schema_version, &in->err)) {
        LK_ERROR("%s", in->err.msg);
        return 111;
    }
    char flag[8];
    int found = 0;
    if (lk_state_meta_get(in->st, "initial_listing_done", flag, sizeof flag, &found, &in->err) == 0 &&
        !found) {
        if (in->cfg->source.include_existing_files)
            lk_state_meta_set(in->st, "initial_listing_done", "1", &in->err);
        else
            in->skip_existing = 1;
    }

    char ep[1200];
    in->chunks = zsock_new(ZMQ_PUSH);
    zsock_set_sndhwm(in->chunks, 1);
    zsock_set_linger(in->chunks, 1000);
    lk_worker_endpoint(w, "chunks", ep, sizeof ep);
    if (zsock_bind(in->chunks, "%s", ep) < 0) {
        LK_ERROR("cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
        return 111;
    }
    in->inbox = zsock_new(ZMQ_PULL);
    zsock_set_rcvhwm(in->inbox, 100000);
    lk_worker_endpoint(w, "ingest", ep, sizeof ep);
    if (zsock_bind(in->inbox, "%s", ep) < 0) {
        LK_ERROR("cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
        return 111;
    }
    in->committer = zsock_new(ZMQ_PUSH);
    zsock_set_linger(in->committer, 1000);
    lk_worker_endpoint(w, "committer", ep, sizeof ep);
    zsock_connect(in->committer, "%s", ep);
    lk_worker_ready(w);

    int available_now = in->cfg->trigger == LK_TRIGGER_AVAILABLE_NOW;
    in->replay_all = 1; /* whatever was in flight before this process started */
    int rc = 0;
    while (!lk_worker_orphaned(w)) {
        lk_worker_tick(w);
        if (lk_worker_stopping(w) && !in->draining) {
            LK_INFO("SIGTERM: draining");
            in->draining = 1;
        }
        handle_inbox(in, 0);
        int64_t now = lk_time_mono_ms();
        if (in->replay_at_retry && now >= in->retry_at_ms) {
            in->replay_at_retry = 0;
            in->replay_all = 1;
        }
        if (in->replay_all && now >= in->retry_at_ms) {
            in->replay_all = 0;
            if (replay_uncommitted(in)) {
                if (!lk_worker_resource_error(in->err.code)) {
                    rc = fatal(in, in->err.msg[0] ? in->err.msg : "replay failed");
                    break;
                }
                pause_ingest(in, 1);
            } else {
                lk_worker_pause(w, NULL);
            }
        }
        if (in->nfl)
            refresh_inflight(in);
        now = lk_time_mono_ms();
        for (int i = 0; i < in->nfl; i++) {
            if (now - in->fl[i].sent_ms > BATCH_TIMEOUT_MS) {
                LK_WARN("batch=%lld not committed after %d s: replaying",
                        (long long)in->fl[i].batch_id, BATCH_TIMEOUT_MS / 1000);
                in->replay_all = 1;
                break;
            }
        }
        if (!in->draining && now >= in->next_list_ms && (!available_now || !in->listed_once)) {
            in->list_errors = 0;
            int skipped = list_dir(in, in->cfg->source_path, 0);
            if (in->skip_existing) {
                LK_INFO("include_existing_files is false: %d file(s) present at the first start "
                        "are skipped",
                        skipped);
                in->skip_existing = 0;
                lk_state_meta_set(in->st, "initial_listing_done", "1", &in->err);
            }
            /* available-now lists once, unless a file could not be recorded */
            in->listed_once = in->list_errors == 0;
            if (in->list_errors && lk_worker_resource_error(in->err.code))
                lk_worker_pause(w, in->err.msg);
            in->next_list_ms = now + (in->list_errors ? 1000 : LIST_INTERVAL_MS);
        }
        int planned = 0;
        while (!in->draining && in->nfl < MAX_INFLIGHT && !lk_worker_orphaned(w) &&
               lk_time_mono_ms() >= in->retry_at_ms) {
            int nfl = in->nfl;
            int p = plan_next(in);
            if (p < 0) {
                if (lk_worker_resource_error(in->err.code)) {
                    pause_ingest(in, in->nfl > nfl);
                    break;
                }
                rc = fatal(in, in->err.msg);
                in->aborted = in->draining = 1;
                break;
            }
            if (p == 0) {
                if (!in->list_errors && !in->replay_at_retry)
                    lk_worker_pause(w, NULL);
                break;
            }
            lk_worker_pause(w, NULL);
            planned++;
            handle_inbox(in, 0);
        }
        lk_worker_set(w, "inflight", in->nfl);
        if (in->aborted)
            break;
        if (in->nfl == 0 &&
            (in->draining || (available_now && in->listed_once && !planned && !lk_worker_paused(w)))) {
            int64_t *ids = NULL;
            int n = 0;
            lk_state_batches_uncommitted(in->st, &ids, &n, &in->err);
            free(ids);
            if (n == 0) {
                LK_INFO("%s: every planned batch is committed",
                        in->draining ? "drained" : "available-now backlog done");
                notify_done(in, in->draining ? "stop" : "available_now");
                break;
            }
            in->replay_all = 1;
        }
        handle_inbox(in, planned ? 0 : 50);
    }
    /* wait for the supervisor's SIGTERM so that "done" is not mistaken
       for a crash: the supervisor stops us in order */
    while (!lk_worker_stopping(w))
        handle_inbox(in, 100);
    zsock_destroy(&in->chunks);
    zsock_destroy(&in->inbox);
    zsock_destroy(&in->committer);
    zhash_destroy(&in->seen);
    zhash_destroy(&in->settling);
    lk_evolve_destroy(&in->ev);
    lk_state_close(&in->st);
    lk_buf_free(&in->io);
    lk_buf_free(&in->msg);
    lk_csv_reader_destroy(&in->csv);
    return rc;
}
