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

#include "lk_clean_source.h"
#include "lk_discovery.h"
#include "lk_infer.h"
#include "lk_log.h"
#include "lk_state.h"
#include "lk_tables.h"
#include "lk_time.h"

#define MAX_INFLIGHT 3
#define BATCH_TIMEOUT_MS (5 * 60 * 1000)
#define MAX_RECORD_BYTES (16 << 20)
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
    lk_discovery *disc; /* finds files, records them in state.db */
    lk_clean_source *clean;
    inflight fl[MAX_INFLIGHT * 4];
    int nfl;
    int replay_all;
    int draining;
    int listed_once;
    int skip_existing; /* first listing ever with include_existing_files: false */
    int list_errors;        /* files the last poll could not record */
    int64_t retry_at_ms;    /* paused on a resource error until then */
    int replay_at_retry;    /* the failure left a batch unsealed: replay it */
    int schema_version;
    lk_buf io;  /* read buffer */
    lk_buf msg; /* encoded message */
    lk_error err;
} ingest;

/* Reads up to max bytes of path from off into in->io (appended). */
static int read_range(ingest *in, int fd, int64_t off, size_t max, size_t *got)
{
    lk_buf_grow(&in->io, max);
    size_t n = 0;
    while (n < max) {
        ssize_t r = pread(fd, in->io.data + in->io.len + n, max - n, off + (int64_t)n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    in->io.len += n;
    *got = n;
    return 0;
}

/* Infers and stores the raw_events schema from the heads of files. */
static int infer_schema(ingest *in, const lk_state_file *files, int n)
{
    lk_infer *inf = lk_infer_new();
    int64_t budget = in->cfg->source.schema_inference_sample_bytes;
    long objects = 0;
    for (int i = 0; i < n && budget > 0; i++) {
        int fd = open(files[i].path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        size_t want = (size_t)(budget < SAMPLE_PER_FILE ? budget : SAMPLE_PER_FILE), got = 0;
        lk_buf_reset(&in->io);
        if (read_range(in, fd, 0, want, &got) == 0 && got > 0) {
            size_t len = got;
            if ((int64_t)got < files[i].size) { /* cut at the last whole line */
                while (len > 0 && in->io.data[len - 1] != '\n')
                    len--;
            }
            objects += lk_infer_lines(inf, in->io.data, len);
            budget -= (int64_t)len;
        }
        close(fd);
    }
    lk_schema *data = lk_infer_result(inf);
    lk_infer_destroy(&inf);
    if (!data)
        data = lk_schema_new();
    lk_schema *raw = lk_tables_raw_schema(data);
    int rc = lk_state_schema_put(in->st, LK_TABLE_RAW, raw, &in->schema_version, &in->err);
    if (rc == 0) {
        lk_buf ddl = LK_BUF_INIT;
        lk_schema_to_ddl(data, &ddl);
        LK_INFO("inferred schema version=%d from %ld records: %s", in->schema_version, objects,
                ddl.data ? ddl.data : "(no columns)");
        lk_buf_free(&ddl);
    }
    lk_schema_destroy(&data);
    lk_schema_destroy(&raw);
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
    int64_t chunk_bytes = in->cfg->source.chunk_bytes, bytes = 0;
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
        memset(&sb, 0, sizeof sb); /* read below even when stat fails */
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
        int64_t mt = (int64_t)sb.st_mtim.tv_sec * 1000000 + sb.st_mtim.tv_nsec / 1000;
        if (replay && (gone[r] || mt != rg->mtime_us))
            regenerate = 1;
    }
    if (regenerate) {
        gen++;
        LK_WARN("batch=%lld: a file changed or vanished since the batch was planned: it is "
                "re-planned as generation %d (earlier chunks are dropped)",
                (long long)batch_id, gen);
    }
    lk_state_file_span *spans = calloc((size_t)n + 1, sizeof *spans); /* per-file counts */
    if (!spans)
        abort();
    for (int r = 0; r < n && !lk_worker_orphaned(in->w); r++) {
        const lk_state_range *rg = &ranges[r];
        spans[r] = (lk_state_file_span){rg->file_id, idx, 0};
        if (gone[r])
            continue;
        if (idx > LK_CHUNK_K_MASK) {
            LK_ERROR("batch=%lld has more than %d chunks: file=%s and the rest are not sent",
                     (long long)batch_id, LK_CHUNK_K_MASK, rg->path);
            break;
        }
        int fd = open(rg->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            LK_ERROR("cannot read file=%s of batch=%lld: %s; its rows are missing from the batch",
                     rg->path, (long long)batch_id, strerror(errno));
            lk_worker_add(in->w, "errors", 1);
            continue;
        }
        int64_t off = rg->start, line = 1;
        while (off < rg->end) {
            lk_buf_reset(&in->io);
            size_t want = (size_t)(rg->end - off < chunk_bytes ? rg->end - off : chunk_bytes);
            size_t got = 0, len;
            int rc = read_range(in, fd, off, want, &got);
            if (rc == 0 && got == 0)
                rc = -ENODATA; /* truncated since discovery */
            if (rc) {
                LK_ERROR("read error file=%s offset=%lld batch=%lld: %s", rg->path,
                         (long long)off, (long long)batch_id, strerror(-rc));
                lk_worker_add(in->w, "errors", 1);
                break;
            }
            len = in->io.len;
            if (off + (int64_t)len < rg->end) {
                /* cut after the last newline; a line longer than the chunk
                   grows the chunk up to MAX_RECORD_BYTES */
                char *nl = memrchr(in->io.data, '\n', len);
                while (!nl && len < MAX_RECORD_BYTES && off + (int64_t)len < rg->end) {
                    size_t more = (size_t)(rg->end - off - (int64_t)len);
                    if (more > (size_t)chunk_bytes)
                        more = (size_t)chunk_bytes;
                    if (read_range(in, fd, off + (int64_t)len, more, &got) || got == 0)
                        break;
                    nl = memrchr(in->io.data + len, '\n', got);
                    len = in->io.len;
                }
                if (nl)
                    len = (size_t)(nl - in->io.data) + 1;
                else
                    LK_WARN("line longer than %d bytes file=%s offset=%lld: split",
                            MAX_RECORD_BYTES, rg->path, (long long)off);
            }
            lk_msg_chunk m;
            memset(&m, 0, sizeof m);
            m.batch_id = batch_id;
            m.chunk_idx = LK_CHUNK_IDX(gen, idx);
            m.schema_version = in->schema_version;
            m.file_id = rg->file_id;
            snprintf(m.file_path, sizeof m.file_path, "%s", rg->path);
            m.file_size = rg->file_size;
            m.file_mtime_us = rg->mtime_us;
            m.offset = off;
            m.first_line = line;
            m.data = in->io.data;
            m.len = len;
            lk_buf_reset(&in->msg);
            lk_msg_chunk_encode(&m, &in->msg);
            if (lk_zmq_send_blocking(in->w, in->chunks, in->msg.data, in->msg.len)) {
                close(fd);
                free(ranges);
                free(gone);
                free(spans);
                return -1;
            }
            spans[r].n_chunks++;
            for (const char *p = in->io.data, *e = in->io.data + len;
                 (p = memchr(p, '\n', (size_t)(e - p))); p++)
                line++;
            off += (int64_t)len;
            bytes += (int64_t)len;
            idx++;
            lk_worker_add(in->w, "chunks_out", 1);
            lk_worker_add(in->w, "bytes_in", (int64_t)len);
        }
        close(fd);
    }
    if (lk_state_file_spans_put(in->st, batch_id, gen, spans, n, &in->err))
        LK_WARN("batch=%lld: cannot record its chunks per file (per-file counts of `source "
                "list` stay unknown): %s",
                (long long)batch_id, in->err.msg);
    free(spans);
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
        /* max_bytes_per_trigger is soft: files are added until the batch
           is over it (the first file always goes, however large) */
        if (cap > 0 && bytes >= cap)
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
            lk_clean_source_nudge(in->clean);
        } else if (!strcmp(e.name, "replay")) {
            const char *why = lk_msg_event_get_str(&e, "reason");
            LK_INFO("replay requested reason=%s", why ? why : "?");
            in->replay_all = 1;
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
    char path[2048];
    lk_config_state_path(in->cfg, path, sizeof path);
    if (lk_state_open(path, &in->st, &in->err)) {
        LK_ERROR("%s", in->err.msg);
        return 111;
    }
    lk_schema *raw = NULL;
    if (lk_state_schema_get(in->st, LK_TABLE_RAW, &raw, &in->schema_version, &in->err)) {
        LK_ERROR("%s", in->err.msg);
        return 111;
    }
    lk_schema_destroy(&raw);
    char flag[8];
    int found = 0;
    if (lk_state_meta_get(in->st, "initial_listing_done", flag, sizeof flag, &found, &in->err) == 0 &&
        !found) {
        if (in->cfg->source.include_existing_files)
            lk_state_meta_set(in->st, "initial_listing_done", "1", &in->err);
        else
            in->skip_existing = 1;
    }

    if (lk_discovery_new(in->cfg, in->st, in->cfg->trigger == LK_TRIGGER_AVAILABLE_NOW,
                         in->skip_existing, &in->disc, &in->err) ||
        lk_clean_source_new(in->cfg, in->st, &in->clean, &in->err)) {
        LK_ERROR("%s", in->err.msg);
        return 100;
    }

    char ep[1200];
    in->chunks = zsock_new(ZMQ_PUSH);
    zsock_set_sndhwm(in->chunks, 2);
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
                    rc = fatal(in, "replay failed: state.db unreadable");
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
        if (!in->draining && (!available_now || !in->listed_once)) {
            in->list_errors = lk_discovery_poll(in->disc, now, &in->err) < 0;
            if (in->skip_existing && lk_discovery_listed_once(in->disc)) {
                in->skip_existing = 0;
                lk_state_meta_set(in->st, "initial_listing_done", "1", &in->err);
            }
            /* available-now lists once, unless a file could not be recorded */
            in->listed_once = lk_discovery_listed_once(in->disc);
            int64_t taken, skipped, errors;
            lk_discovery_stats(in->disc, &taken, &skipped, &errors);
            lk_worker_set(w, "files_discovered", taken);
            lk_worker_set(w, "files_skipped", skipped);
            lk_worker_set(w, "discovery_errors", errors);
            if (in->list_errors && lk_worker_resource_error(in->err.code))
                lk_worker_pause(w, in->err.msg);
        }
        lk_clean_source_poll(in->clean, now);
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
                in->draining = 1;
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
        if (in->nfl == 0 &&
            (in->draining || (available_now && in->listed_once && !planned && !lk_worker_paused(w)))) {
            int64_t *ids = NULL;
            int n = 0;
            lk_state_batches_uncommitted(in->st, &ids, &n, &in->err);
            free(ids);
            if (n == 0) {
                lk_clean_source_nudge(in->clean); /* what became due with the last commit */
                lk_clean_source_poll(in->clean, lk_time_mono_ms());
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
    lk_discovery_destroy(&in->disc);
    lk_clean_source_destroy(&in->clean);
    lk_state_close(&in->st);
    lk_buf_free(&in->io);
    lk_buf_free(&in->msg);
    return rc;
}
