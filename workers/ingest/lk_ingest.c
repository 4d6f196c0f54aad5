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
#include "lk_clean_source.h"
#include "lk_discovery.h"
#include "lk_infer.h"
#include "lk_kafka_source.h"
#include "lk_log.h"
#include "lk_sendbuf.h"
#include "lk_source_reader.h"
#include "lk_csv_reader.h"
#include "lk_text_reader.h"
#include "lk_state.h"
#include "lk_tables.h"
#include "lk_time.h"

#define MAX_INFLIGHT 3
#define BATCH_TIMEOUT_MS (5 * 60 * 1000)
#define SAMPLE_PER_FILE (256 << 10) /* bytes of each file for inference (JSON) */

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
    int aborted; /* a fatal error (here or reported): stop without draining */
    int listed_once;
    int skip_existing; /* first listing ever with include_existing_files: false */
    int list_errors;        /* files the last poll could not record */
    int64_t retry_at_ms;    /* paused on a resource error until then */
    int replay_at_retry;    /* the failure left a batch unsealed: replay it */
    int schema_version;
    lk_evolve *ev; /* schema_evolution_mode: new columns in chunks */
    lk_buf io;  /* read buffer */
    lk_buf msg; /* encoded message */
    lk_sendbuf *pool; /* chunks go to ZeroMQ without a copy; buffers recycled */
    lk_source_opts src; /* format, compression, chunking */
    lk_csv_reader *csv; /* format: csv (schema inference) */
    lk_buf csv_hdr;     /* csv with header: the header record of the file being sent */
    lk_error err;
    lk_kafka_source *kafka;  /* format: kafka, else NULL */
    int64_t kafka_next_ms;   /* next partition listing when nothing was pending */
    int kafka_npart;         /* partitions seen (new ones are logged) */
} ingest;

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
            else {
                /* JSON lines: at most SAMPLE_PER_FILE of the file, whole lines */
                size_t len = c.len;
                if ((int64_t)len > SAMPLE_PER_FILE - took) {
                    len = (size_t)(SAMPLE_PER_FILE - took);
                    while (len > 0 && c.data[len - 1] != '\n')
                        len--;
                    if (len == 0)
                        len = c.len; /* one long line: take it whole */
                }
                objects += lk_infer_lines(inf, c.data, len);
                took += (int64_t)len;
                budget -= (int64_t)len;
                if (len < c.len)
                    break;
                continue;
            }
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

static void track(ingest *in, int64_t batch_id);
static int send_batch(ingest *in, int64_t batch_id, int replay);

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

/* csv with header, the first chunk of a file: keeps the header record for
   every chunk of the file (transforms map columns by its names) and, when
   it names columns the schema lacks, evolves the schema by
   schema_evolution_mode with their types inferred from this chunk. */
static int csv_file_header(ingest *in, const lk_source_chunk *sc, const char *path)
{
    size_t hs, he;
    lk_buf_reset(&in->csv_hdr);
    if (!lk_csv_reader_header(in->csv, sc->data, sc->len, &hs, &he))
        return 0;
    lk_buf_append(&in->csv_hdr, sc->data + hs, he - hs);
    int n;
    lk_csv_reader_set_header(in->csv, in->csv_hdr.data, in->csv_hdr.len);
    const char *names = lk_csv_reader_header_names(in->csv, &n);
    char first[256];
    if (lk_evolve_new_names(in->ev, names, n, first, sizeof first) == 0)
        return 0;
    lk_infer *inf = lk_infer_new();
    lk_csv_reader_infer(in->csv, inf, sc->data, sc->len, 1);
    lk_schema *found = lk_csv_reader_infer_result(in->csv, inf);
    if (!found) { /* a file with a header and no row: its new columns are strings */
        found = lk_schema_new();
        const char *nm = names;
        for (int i = 0; i < n; i++, nm += strlen(nm) + 1)
            lk_schema_add(found, nm, LK_TYPE_STRING, 1);
    }
    int rc = lk_evolve_columns(in->ev, found, path, 1, &in->schema_version, &in->err);
    lk_schema_destroy(&found);
    lk_infer_destroy(&inf);
    return rc;
}

/* ---- format: kafka (lk_kafka_source): planning and reading offset ranges ---- */

typedef struct kafka_chunker {
    ingest *in;
    const lk_state_range *rg;
    int64_t batch_id;
    int32_t gen, *idx;
    int64_t *bytes;
    int64_t first; /* offset of the chunk's first message */
} kafka_chunker;

static int kafka_send_chunk(kafka_chunker *kc, int64_t next)
{
    ingest *in = kc->in;
    if (in->io.len == 0)
        return 0;
    if (*kc->idx > LK_CHUNK_K_MASK)
        return lk_error_set(&in->err, LK_ELIMIT, "batch=%lld has more than %d chunks",
                            (long long)kc->batch_id, LK_CHUNK_K_MASK);
    lk_msg_chunk m;
    memset(&m, 0, sizeof m);
    m.batch_id = kc->batch_id;
    m.chunk_idx = LK_CHUNK_IDX(kc->gen, *kc->idx);
    m.schema_version = in->schema_version;
    m.file_id = kc->rg->file_id;
    snprintf(m.file_path, sizeof m.file_path, "%s", kc->rg->path);
    m.file_size = kc->rg->end;
    m.offset = 0;
    m.first_line = kc->first; /* the Kafka offset of the first message */
    m.data = in->io.data;
    m.len = in->io.len;
    lk_buf_reset(&in->msg);
    lk_msg_chunk_encode(&m, &in->msg);
    if (lk_sendbuf_send(in->pool, in->w, in->chunks, &in->msg))
        return lk_error_set(&in->err, -ECANCELED, "chunk send interrupted");
    *kc->bytes += (int64_t)in->io.len;
    (*kc->idx)++;
    lk_worker_add(in->w, "chunks_out", 1);
    lk_worker_add(in->w, "bytes_in", (int64_t)in->io.len);
    lk_buf_reset(&in->io);
    kc->first = next;
    return 0;
}

/* Cuts a chunk once it holds chunk_bytes: a function of the messages of
   the range only, so a replay cuts the same chunks. */
static int kafka_on_line(void *ctx, lk_buf *out, int64_t next)
{
    kafka_chunker *kc = ctx;
    if ((int64_t)out->len < kc->in->cfg->source.chunk_bytes)
        return 0;
    return kafka_send_chunk(kc, next) ? -1 : 0;
}

/* Reads offsets [rg->start, rg->end) of a kafka:// range into chunks. */
static int kafka_send_range(ingest *in, int64_t batch_id, int32_t gen, const lk_state_range *rg,
                            int32_t *idx, int64_t *bytes)
{
    char topic[256];
    int32_t part;
    if (lk_kafka_path_parse(rg->path, topic, sizeof topic, &part))
        return lk_error_set(&in->err, LK_ESTATE, "batch=%lld: bad Kafka range path %s",
                            (long long)batch_id, rg->path);
    kafka_chunker kc = {in, rg, batch_id, gen, idx, bytes, rg->start};
    lk_buf_reset(&in->io);
    int rc = lk_kafka_source_read(in->kafka, topic, part, rg->start, rg->end, &in->io,
                                  kafka_on_line, &kc, &in->err);
    if (rc == 0)
        rc = kafka_send_chunk(&kc, rg->end);
    if (rc == 0)
        lk_worker_add(in->w, "kafka_offsets", rg->end - rg->start);
    return rc;
}

/* Whether the log still holds a planned range: 0 yes, 1 no (data loss,
   reported; fail_on_data_loss: false), -1 stop (in->err). */
static int kafka_range_gone(ingest *in, int64_t batch_id, const lk_state_range *rg)
{
    char topic[256];
    int32_t part;
    if (lk_kafka_path_parse(rg->path, topic, sizeof topic, &part))
        return lk_error_set(&in->err, LK_ESTATE, "batch=%lld: bad Kafka range path %s",
                            (long long)batch_id, rg->path), -1;
    int rc = lk_kafka_source_check(in->kafka, topic, part, rg->start, rg->end, &in->err);
    if (rc == 0)
        return 0;
    if (rc != LK_KAFKA_EDATALOSS || in->cfg->source.fail_on_data_loss) {
        LK_ERROR("batch=%lld: %s", (long long)batch_id, in->err.msg);
        return -1;
    }
    LK_ERROR("batch=%lld: %s; the range is missing from the batch (fail_on_data_loss: false)",
             (long long)batch_id, in->err.msg);
    lk_worker_add(in->w, "errors", 1);
    lk_worker_add(in->w, "lost_ranges", 1);
    return 1;
}

/* Tells Kafka's consumer group how far a committed batch got (informational:
   lag tools; the pipeline's offsets stay in state.db). */
static void kafka_commit_group(ingest *in, int64_t batch_id)
{
    lk_state_range *ranges = NULL;
    int n = 0;
    lk_error e;
    if (batch_id < 0 || lk_state_batch_ranges(in->st, batch_id, &ranges, &n, &e))
        return;
    for (int i = 0; i < n; i++) {
        char topic[256];
        int32_t part;
        if (lk_kafka_path_parse(ranges[i].path, topic, sizeof topic, &part) == 0 &&
            lk_kafka_source_commit(in->kafka, topic, part, ranges[i].end, &e))
            LK_WARN("%s (informational only)", e.msg);
    }
    free(ranges);
}

/* A Kafka error worth retrying (broker unreachable, timeout). */
static int kafka_retryable(const ingest *in)
{
    return in->kafka && (in->err.code == -EAGAIN || in->err.code == -ETIMEDOUT ||
                         in->err.code == -ECANCELED);
}

/* The raw data schema of a Kafka source: the Kafka columns first, then
   the value's inferred columns (a value key named like a Kafka column is
   shadowed by it). */
static lk_schema *kafka_data_schema(const lk_schema *inferred)
{
    static const struct { const char *name; lk_type type; } cols[] = {
        {"key", LK_TYPE_STRING},   {"topic", LK_TYPE_STRING},        {"partition", LK_TYPE_LONG},
        {"offset", LK_TYPE_LONG}, {"timestamp", LK_TYPE_TIMESTAMP},
    };
    lk_schema *s = lk_schema_new();
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        lk_schema_add(s, cols[i].name, cols[i].type, 1);
    for (int i = 0; inferred && i < lk_schema_nfields(inferred); i++) {
        const lk_field *f = lk_schema_field(inferred, i);
        if (lk_schema_find(s, f->name) < 0)
            lk_schema_add_copy(s, f);
    }
    return s;
}

/* Infers the value columns from the messages of the first planned ranges. */
static int kafka_infer_schema(ingest *in, const lk_state_range *ranges, int n)
{
    lk_infer *inf = lk_infer_new();
    long objects = 0;
    int64_t budget = in->cfg->source.schema_inference_sample_bytes;
    int rc = 0;
    for (int i = 0; i < n && budget > 0 && rc == 0; i++) {
        char topic[256];
        int32_t part;
        if (lk_kafka_path_parse(ranges[i].path, topic, sizeof topic, &part))
            continue;
        int64_t end = ranges[i].end;
        if (end - ranges[i].start > 10000)
            end = ranges[i].start + 10000;
        lk_buf_reset(&in->io);
        rc = lk_kafka_source_read(in->kafka, topic, part, ranges[i].start, end, &in->io, NULL,
                                  NULL, &in->err);
        if (rc == 0) {
            objects += lk_infer_lines(inf, in->io.data, in->io.len);
            budget -= (int64_t)in->io.len;
        }
    }
    lk_schema *data = rc ? NULL : lk_infer_result(inf);
    lk_infer_destroy(&inf);
    if (rc)
        return rc;
    lk_schema *kd = kafka_data_schema(data);
    lk_schema *raw = lk_tables_raw_schema(kd);
    rc = lk_state_schema_put(in->st, LK_TABLE_RAW, raw, &in->schema_version, &in->err);
    if (rc == 0) {
        lk_buf ddl = LK_BUF_INIT;
        lk_schema_to_ddl(kd, &ddl);
        LK_INFO("inferred schema version=%d from %ld Kafka messages: %s", in->schema_version,
                objects, ddl.data ? ddl.data : "(no columns)");
        lk_buf_free(&ddl);
    }
    lk_schema_destroy(&data);
    lk_schema_destroy(&kd);
    lk_schema_destroy(&raw);
    return rc;
}

/* Plans the next batch of offset ranges: 1 planned and sent, 0 nothing new,
   -1 error (in->err; LK_KAFKA_EDATALOSS with fail_on_data_loss stops). */
static int kafka_plan_next(ingest *in)
{
    int64_t now = lk_time_mono_ms();
    if (now < in->kafka_next_ms)
        return 0;
    lk_kafka_partition *p = NULL;
    int n = 0;
    if (lk_kafka_source_partitions(in->kafka, &p, &n, &in->err)) {
        LK_WARN("cannot list Kafka partitions (retrying): %s", in->err.msg);
        lk_worker_add(in->w, "errors", 1);
        in->kafka_next_ms = now + 1000;
        return 0;
    }
    if (n != in->kafka_npart) {
        LK_INFO("Kafka subscription has %d partition(s) (was %d)", n, in->kafka_npart);
        in->kafka_npart = n;
    }
    lk_state_range *ranges = calloc((size_t)n + 1, sizeof *ranges);
    int64_t *end = calloc((size_t)n + 1, sizeof *end);
    if (!ranges || !end)
        abort();
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        lk_state_file f;
        memset(&f, 0, sizeof f);
        snprintf(f.path, sizeof f.path, LK_KAFKA_PREFIX "%s/%d", p[i].topic, p[i].partition);
        f.batch_id = -1;
        int is_new = 0;
        rc = lk_state_file_add(in->st, &f, &is_new, &in->err);
        if (rc == 0)
            rc = lk_state_file_planned_end(in->st, f.id, &p[i].next, &in->err);
        if (rc == 0 && p[i].next < 0) {
            rc = lk_kafka_source_start_offset(in->kafka, &p[i], &p[i].next, &in->err);
            if (rc == 0)
                LK_INFO("Kafka topic=%s partition=%d starts at offset=%lld (log [%lld, %lld))",
                        p[i].topic, p[i].partition, (long long)p[i].next, (long long)p[i].low,
                        (long long)p[i].high);
        }
        ranges[i].file_id = f.id;
        snprintf(ranges[i].path, sizeof ranges[i].path, "%s", f.path);
    }
    int64_t total = 0;
    if (rc == 0) {
        total = lk_kafka_plan(p, n, in->cfg->source.max_offsets_per_trigger,
                              in->cfg->source.fail_on_data_loss, end, &in->err);
        if (total < 0)
            rc = (int)total;
    }
    int k = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (end[i] <= p[i].next)
            continue;
        ranges[k] = ranges[i];
        ranges[k].start = p[i].next;
        ranges[k].end = end[i];
        ranges[k].file_size = p[i].high;
        k++;
    }
    free(p);
    free(end);
    if (rc || k == 0) {
        free(ranges);
        if (rc)
            LK_ERROR("Kafka planning failed (nothing was sent): %s", in->err.msg);
        else
            in->kafka_next_ms = now + 100; /* nothing new: ask again soon */
        return rc ? -1 : 0;
    }
    if (in->schema_version == 0 && kafka_infer_schema(in, ranges, k)) {
        LK_ERROR("cannot infer the schema from Kafka: %s", in->err.msg);
        free(ranges);
        return -1;
    }
    int64_t batch_id;
    rc = lk_state_plan_batch(in->st, ranges, k, &batch_id, &in->err);
    if (rc) {
        free(ranges);
        LK_ERROR("cannot plan a batch (nothing was sent): %s", in->err.msg);
        return -1;
    }
    for (int i = 0; i < k; i++)
        LK_DEBUG("batch=%lld %s offsets [%lld, %lld)", (long long)batch_id, ranges[i].path,
                 (long long)ranges[i].start, (long long)ranges[i].end);
    free(ranges);
    LK_INFO("planned batch=%lld kafka partitions=%d offsets=%lld", (long long)batch_id, k,
            (long long)total);
    track(in, batch_id);
    if (send_batch(in, batch_id, 0))
        return -1;
    return 1;
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
        memset(&sb, 0, sizeof sb); /* read below even when stat fails */
        const char *why = NULL;
        if (in->kafka && !strncmp(rg->path, LK_KAFKA_PREFIX, strlen(LK_KAFKA_PREFIX))) {
            int g = kafka_range_gone(in, batch_id, rg);
            if (g < 0) {
                free(ranges);
                free(gone);
                return -1;
            }
            gone[r] = (unsigned char)g;
            regenerate |= replay && g;
            continue;
        }
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
        if (in->kafka && !strncmp(rg->path, LK_KAFKA_PREFIX, strlen(LK_KAFKA_PREFIX))) {
            if (kafka_send_range(in, batch_id, gen, rg, &idx, &bytes)) {
                LK_ERROR("batch=%lld %s offsets [%lld, %lld): %s", (long long)batch_id, rg->path,
                         (long long)rg->start, (long long)rg->end, in->err.msg);
                lk_worker_add(in->w, "errors", 1);
                free(ranges);
                free(gone);
                free(spans);
                return -1;
            }
            continue;
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
        int csv_header = in->csv && in->cfg->source.header, first = 1;
        lk_buf_reset(&in->csv_hdr);
        while ((rc = lk_source_reader_next(sr, &sc, &in->err)) == 1) {
            /* new columns: schema evolution before the chunk goes out (JSON
               lines; CSV: the header names of the file, in its first chunk) */
            int v0 = in->schema_version;
            if ((scan && lk_evolve_chunk(in->ev, sc.data, sc.len, rg->path, sc.first_line,
                                         &in->schema_version, &in->err)) ||
                (csv_header && first && csv_file_header(in, &sc, rg->path))) {
                LK_ERROR("batch=%lld: %s", (long long)batch_id, in->err.msg);
                lk_source_reader_destroy(&sr);
                free(ranges);
                free(gone);
                free(spans);
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
            m.header = in->csv_hdr.data;
            m.header_len = in->csv_hdr.len;
            first = 0;
            lk_buf_reset(&in->msg);
            lk_msg_chunk_encode(&m, &in->msg);
            if (lk_sendbuf_send(in->pool, in->w, in->chunks, &in->msg)) {
                lk_source_reader_destroy(&sr);
                free(ranges);
                free(gone);
                free(spans);
                return -1;
            }
            spans[r].n_chunks++;
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
    /* a new file (inotify) wakes the wait as much as a message does, while
       the loop polls discovery (else a readable fd would spin the loop) */
    int polled = !in->kafka && !in->draining &&
                 (in->cfg->trigger != LK_TRIGGER_AVAILABLE_NOW || !in->listed_once);
    int dfd = in->disc && polled ? lk_discovery_fd(in->disc) : -1;
    if (timeout_ms > 0 && dfd >= 0) {
        zmq_pollitem_t it[2] = {{zsock_resolve(in->inbox), 0, ZMQ_POLLIN, 0},
                                {NULL, dfd, ZMQ_POLLIN, 0}};
        if (zmq_poll(it, 2, timeout_ms) > 0 && !(it[0].revents & ZMQ_POLLIN))
            return; /* only the discovery fd: back to the loop, which polls it */
        timeout_ms = 0;
    }
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
            if (in->kafka)
                kafka_commit_group(in, lk_msg_event_get_int(&e, "batch", -1));
            lk_clean_source_nudge(in->clean);
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

    if (lk_discovery_new(in->cfg, in->st, in->cfg->trigger == LK_TRIGGER_AVAILABLE_NOW,
                         in->skip_existing, &in->disc, &in->err) ||
        lk_clean_source_new(in->cfg, in->st, &in->clean, &in->err)) {
        LK_ERROR("%s", in->err.msg);
        return 100;
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
    if (!strcmp(in->cfg->source.format, "kafka")) {
        if (lk_kafka_source_new(in->cfg, &in->kafka, &in->err)) {
            LK_ERROR("%s", in->err.msg);
            return 111;
        }
        in->listed_once = 1; /* no directory: available-now ends when Kafka has nothing new */
        LK_INFO("Kafka source bootstrap_servers=%s", in->cfg->source.bootstrap_servers);
    }
    in->pool = lk_sendbuf_new();
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
                if (in->kafka && !kafka_retryable(in) &&
                    !lk_worker_resource_error(in->err.code)) {
                    rc = fatal(in, in->err.msg);
                    break;
                }
                if (!lk_worker_resource_error(in->err.code) && !kafka_retryable(in)) {
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
        if (!in->kafka && !in->draining && (!available_now || !in->listed_once)) {
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
            int p = in->kafka ? kafka_plan_next(in) : plan_next(in);
            if (p < 0) {
                if (lk_worker_resource_error(in->err.code) || kafka_retryable(in)) {
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
    lk_evolve_destroy(&in->ev);
    lk_kafka_source_destroy(&in->kafka);
    lk_discovery_destroy(&in->disc);
    lk_clean_source_destroy(&in->clean);
    lk_state_close(&in->st);
    lk_buf_free(&in->io);
    lk_buf_free(&in->msg);
    lk_sendbuf_destroy(&in->pool);
    lk_csv_reader_destroy(&in->csv);
    lk_buf_free(&in->csv_hdr);
    return rc;
}
