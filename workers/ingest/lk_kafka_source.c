/* lk_kafka_source — ingest's source of Kafka topics; see lk_kafka_source.h. */
#include "lk_kafka_source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_config.h"
#include "lk_delta.h"
#include "lk_infer.h"
#include "lk_kafka_client.h"
#include "lk_kafka_record.h"
#include "lk_log.h"
#include "lk_raw.h"
#include "lk_tables.h"
#include "lk_tables.h"
#include "lk_time.h"

#define INFER_OFFSETS 10000 /* messages of each partition sampled for the first schema */

/* A partition assigned to this instance (consumer group) and where its
   next batch starts (-1: not known yet: read from the tables). */
typedef struct owned {
    char path[300]; /* kafka://topic/partition */
    int64_t next;
} owned;

typedef struct kafka_source {
    lk_source base;
    lk_kafka_client *client;
    lk_buf io;       /* the chunk being filled */
    int64_t next_ms; /* next partition listing when nothing was new */
    int npart;       /* partitions seen (new ones are logged) */
    /* source.group_id: the assigned partitions, and the tables whose txns say
       how far each partition is (lk_kafka_record_txn_app) */
    int group;
    owned *own;
    int nown;
    int ntables; /* lk_tables_names: every table a batch is committed to */
    const char *names[LK_TABLES_MAX];
    lk_delta_table *tables[LK_TABLES_MAX];
} kafka_source;

/* ---- consumer groups: offsets live in the tables ---- */

/* How far partition path is in each table (its txn version: the next
   offset; -1 when the table has none). 0, or a negative error. */
static int table_offsets(kafka_source *ks, const char *path, int64_t off[LK_TABLES_MAX],
                         lk_error *err)
{
    char app[400];
    lk_kafka_record_txn_app(path, app, sizeof app);
    for (int t = 0; t < ks->ntables; t++) {
        if (!ks->tables[t]) {
            char tp[2048];
            lk_config_table_path(ks->base.env.cfg, ks->names[t], tp, sizeof tp);
            if (lk_delta_open_log(tp, &ks->tables[t], err))
                return -EAGAIN;
        } else if (lk_delta_refresh(ks->tables[t], err)) {
            return -EAGAIN;
        }
        off[t] = lk_delta_txn_version(ks->tables[t], app);
    }
    return 0;
}

static owned *find_owned(kafka_source *ks, const char *path)
{
    for (int i = 0; i < ks->nown; i++)
        if (!strcmp(ks->own[i].path, path))
            return &ks->own[i];
    return NULL;
}

/* The group's assignment changed: keep where the partitions we still own
   are (our in-flight batches continue them), forget the others. */
static void reassigned(kafka_source *ks)
{
    const lk_kafka_tp *tps = NULL;
    int n = lk_kafka_client_owned(ks->client, &tps);
    if (n < 0)
        return;
    owned *nw = calloc((size_t)n + 1, sizeof *nw);
    if (!nw)
        abort();
    lk_buf list = LK_BUF_INIT;
    for (int i = 0; i < n; i++) {
        snprintf(nw[i].path, sizeof nw[i].path, LK_KAFKA_PREFIX "%s/%d", tps[i].topic,
                 tps[i].partition);
        owned *o = find_owned(ks, nw[i].path);
        nw[i].next = o ? o->next : -1;
        lk_buf_printf(&list, "%s%s/%d", i ? "," : "", tps[i].topic, tps[i].partition);
    }
    LK_INFO("Kafka group %s assigned %d partition(s) to this instance: %s",
            ks->base.env.cfg->source.group_id, n, n ? list.data : "none");
    lk_buf_free(&list);
    free(ks->own);
    ks->own = nw;
    ks->nown = n;
    lk_worker_set(ks->base.env.w, "kafka_partitions_owned", n);
}

/* Parses a planned range's kafka://topic/partition. */
static int range_partition(const lk_state_range *rg, int64_t batch, char topic[256], int32_t *part,
                           lk_error *err)
{
    if (lk_kafka_record_path_parse(rg->path, topic, 256, part))
        return lk_error_set(err, LK_ESTATE,
                            "batch=%lld: range %s is not a Kafka partition (a checkpoint of a "
                            "file source?)",
                            (long long)batch, rg->path);
    return 0;
}

/* Infers the value columns from the messages of the first planned ranges. */
static int infer_schema(kafka_source *ks, const lk_state_range *ranges, int n, lk_error *err)
{
    const lk_source_env *env = &ks->base.env;
    lk_infer *inf = lk_infer_new();
    long objects = 0;
    int64_t budget = env->cfg->source.schema_inference_sample_bytes;
    int rc = 0;
    for (int i = 0; i < n && budget > 0 && rc == 0; i++) {
        char topic[256];
        int32_t part;
        if (lk_kafka_record_path_parse(ranges[i].path, topic, sizeof topic, &part)) continue;
        int64_t end = ranges[i].end;
        if (end - ranges[i].start > INFER_OFFSETS) end = ranges[i].start + INFER_OFFSETS;
        lk_buf_reset(&ks->io);
        rc = lk_kafka_client_read(ks->client, topic, part, ranges[i].start, end, &ks->io, NULL,
                                  NULL, err);
        if (rc == 0) {
            objects += lk_infer_lines(inf, ks->io.data, ks->io.len);
            budget -= (int64_t)ks->io.len;
        }
    }
    lk_buf_reset(&ks->io);
    lk_schema *data = rc ? NULL : lk_infer_result(inf);
    lk_infer_destroy(&inf);
    if (rc) return rc;
    lk_schema *kd = lk_kafka_record_schema(data);
    lk_schema *raw = lk_raw_schema(kd);
    rc = lk_state_schema_put(env->st, LK_TABLE_RAW, raw, env->schema_version, err);
    if (rc == 0 && lk_tables_check(env->cfg, raw, err)) {
        err->code = LK_ECONFIG;
        LK_ERROR("the transforms do not fit the inferred schema: %s", err->msg);
        rc = -1;
    } else if (rc == 0) {
        lk_buf ddl = LK_BUF_INIT;
        lk_schema_to_ddl(kd, &ddl);
        LK_INFO("inferred schema version=%d from %ld Kafka messages: %s", *env->schema_version,
                objects, ddl.data ? ddl.data : "(no columns)");
        lk_buf_free(&ddl);
    }
    lk_schema_destroy(&data);
    lk_schema_destroy(&kd);
    lk_schema_destroy(&raw);
    return rc;
}

/* ---- lk_source ---- */

static int ks_poll(lk_source *s, int64_t now_ms, int discover, lk_error *err)
{
    (void)now_ms, (void)discover, (void)err;
    kafka_source *ks = (kafka_source *)s;
    /* a plan lists the partitions itself; a group member serves the group
       protocol here (rebalances) */
    if (ks->group && lk_kafka_client_group_poll(ks->client))
        reassigned(ks);
    return 0;
}

static int ks_caught_up(const lk_source *s)
{
    (void)s;
    return 1; /* no directory: available-now ends when Kafka has nothing new */
}

static int ks_fd(const lk_source *s)
{
    (void)s;
    return -1;
}

/*
 * Group mode: keeps only the partitions assigned to this instance (p and *n
 * are filtered in place) and sets where each starts: where this instance's
 * last plan of it ended while it kept owning it, else where the tables say
 * it is (their txn for the partition, whichever instance wrote it), else
 * starting_offsets. When the tables disagree (an instance died between two
 * tables' commits) the partition's gap is planned first, alone, as a batch
 * of its own: it commits only to the tables that lack it. Returns 0 (plan
 * the rest as usual), 1 with *out a catch-up range, or a negative error.
 */
static int group_plan(kafka_source *ks, lk_kafka_partition *p, int *n, lk_state_range **out,
                      int *nout, lk_error *err)
{
    const lk_source_env *env = &ks->base.env;
    int k = 0;
    for (int i = 0; i < *n; i++) {
        char path[300];
        snprintf(path, sizeof path, LK_KAFKA_PREFIX "%s/%d", p[i].topic, p[i].partition);
        owned *o = find_owned(ks, path);
        if (!o)
            continue;
        if (o->next < 0) {
            int64_t off[LK_TABLES_MAX], lo = INT64_MAX, hi = -1;
            int rc = table_offsets(ks, path, off, err);
            if (rc)
                return rc;
            for (int t = 0; t < ks->ntables; t++) {
                lo = off[t] < lo ? off[t] : lo;
                hi = off[t] > hi ? off[t] : hi;
            }
            int64_t start = 0;
            if (lo < 0 && (rc = lk_kafka_client_start_offset(ks->client, &p[i], &start, err)))
                return rc;
            if (hi < 0) {
                o->next = start;
                LK_INFO("Kafka topic=%s partition=%d: no table has it yet, starts at offset=%lld",
                        p[i].topic, p[i].partition, (long long)start);
            } else if (lo == hi) {
                o->next = hi;
                LK_INFO("Kafka topic=%s partition=%d resumes at offset=%lld (the tables' txn)",
                        p[i].topic, p[i].partition, (long long)hi);
            } else {
                int64_t from = lo < 0 ? start : lo;
                LK_WARN("Kafka topic=%s partition=%d: the tables disagree (from offset %lld to "
                        "%lld in one, not in another: an instance stopped between two commits); "
                        "that range is planned alone, for the tables that lack it",
                        p[i].topic, p[i].partition, (long long)from, (long long)hi);
                lk_state_file f;
                memset(&f, 0, sizeof f);
                snprintf(f.path, sizeof f.path, "%s", path);
                f.batch_id = -1;
                int is_new = 0;
                if ((rc = lk_state_file_add(env->st, &f, &is_new, err)))
                    return rc;
                lk_state_range *r = calloc(1, sizeof *r);
                if (!r)
                    abort();
                r->file_id = f.id;
                snprintf(r->path, sizeof r->path, "%s", path);
                r->start = from;
                r->end = hi;
                r->file_size = p[i].high;
                o->next = hi;
                *out = r;
                *nout = 1;
                return 1;
            }
        }
        p[i].next = o->next;
        p[k++] = p[i];
    }
    *n = k;
    return 0;
}

static int ks_plan(lk_source *s, lk_state_range **out, int *nout, lk_error *err)
{
    kafka_source *ks = (kafka_source *)s;
    const lk_source_env *env = &s->env;
    int64_t now = lk_time_mono_ms();
    if (now < ks->next_ms) return 0;
    lk_kafka_partition *p = NULL;
    int n = 0;
    if (lk_kafka_client_partitions(ks->client, &p, &n, err)) {
        LK_WARN("cannot list Kafka partitions (retrying): %s", err->msg);
        lk_worker_add(env->w, "errors", 1);
        ks->next_ms = now + 1000;
        return 0;
    }
    if (n != ks->npart) {
        LK_INFO("Kafka subscription has %d partition(s) (was %d)", n, ks->npart);
        ks->npart = n;
    }
    if (ks->group) {
        int rc = group_plan(ks, p, &n, out, nout, err);
        if (rc < 0) {
            free(p);
            LK_WARN("Kafka group planning (retrying): %s", err->msg);
            ks->next_ms = now + 1000;
            return 0;
        }
        if (rc == 1) {
            free(p);
            return 1; /* a catch-up range alone */
        }
    }
    lk_state_range *ranges = calloc((size_t)n + 1, sizeof *ranges);
    int64_t *end = calloc((size_t)n + 1, sizeof *end);
    if (!ranges || !end) abort();
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        lk_state_file f;
        memset(&f, 0, sizeof f);
        snprintf(f.path, sizeof f.path, LK_KAFKA_PREFIX "%s/%d", p[i].topic, p[i].partition);
        f.batch_id = -1;
        int is_new = 0;
        rc = lk_state_file_add(env->st, &f, &is_new, err);
        if (rc == 0 && !ks->group) rc = lk_state_file_planned_end(env->st, f.id, &p[i].next, err);
        if (rc == 0 && p[i].next < 0) {
            rc = lk_kafka_client_start_offset(ks->client, &p[i], &p[i].next, err);
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
        total = lk_kafka_plan(p, n, env->cfg->source.max_offsets_per_trigger,
                              env->cfg->source.fail_on_data_loss, end, err);
        if (total < 0) rc = (int)total;
    }
    int k = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (end[i] <= p[i].next) continue;
        ranges[k] = ranges[i];
        ranges[k].start = p[i].next;
        ranges[k].end = end[i];
        ranges[k].file_size = p[i].high;
        owned *o = ks->group ? find_owned(ks, ranges[k].path) : NULL;
        if (o)
            o->next = end[i]; /* the next plan continues here (while we own it) */
        k++;
    }
    free(p);
    free(end);
    if (rc || k == 0) {
        free(ranges);
        if (rc) {
            LK_ERROR("Kafka planning failed (nothing was sent): %s", err->msg);
            return rc;
        }
        ks->next_ms = now + 100; /* nothing new: ask again soon */
        return 0;
    }
    if (*env->schema_version == 0 && (rc = infer_schema(ks, ranges, k, err)) != 0) {
        LK_ERROR("cannot infer the schema from Kafka: %s", err->msg);
        free(ranges);
        return rc;
    }
    *out = ranges;
    *nout = k;
    return 1;
}

static int ks_check(lk_source *s, int64_t batch, const lk_state_range *rg, lk_error *err)
{
    kafka_source *ks = (kafka_source *)s;
    char topic[256];
    int32_t part;
    int rc = range_partition(rg, batch, topic, &part, err);
    if (rc) return rc;
    if (ks->group) {
        /* another instance may have committed these offsets since we planned
           them (the partition moved to it and back, or it took over while
           we were slow): dropped from the batch when a table is past its
           start, nothing lost (that instance has them) */
        int64_t off[LK_TABLES_MAX];
        if ((rc = table_offsets(ks, rg->path, off, err)))
            return rc;
        int past = 0, all_done = 1, behind = 0;
        for (int t = 0; t < ks->ntables; t++) {
            past |= off[t] > rg->start && off[t] < rg->end;
            all_done &= off[t] >= rg->end;
            behind |= off[t] >= 0 && off[t] < rg->start;
        }
        if (behind && !past && !all_done) {
            /* a table is before this range: fine while one of our earlier
               batches still brings it there; a gap otherwise (that batch lost
               its range to another instance, which stopped short of here) */
            int pending = 0;
            if ((rc = lk_state_range_pending_to(s->env.st, rg->file_id, rg->start, batch, &pending,
                                                err)))
                return rc;
            past = !pending;
        }
        if (past || all_done) {
            owned *o = find_owned(ks, rg->path);
            if (o)
                o->next = -1; /* resume from the tables */
            LK_INFO("batch=%lld: %s offsets [%lld, %lld) are committed by another instance of "
                    "group %s: dropped from the batch",
                    (long long)batch, rg->path, (long long)rg->start, (long long)rg->end,
                    s->env.cfg->source.group_id);
            lk_worker_add(s->env.w, "kafka_ranges_moved", 1);
            return LK_RANGE_MOVED;
        }
    }
    rc = lk_kafka_client_check(ks->client, topic, part, rg->start, rg->end, err);
    if (rc == 0) return LK_RANGE_OK;
    if (rc != LK_KAFKA_EDATALOSS || s->env.cfg->source.fail_on_data_loss) {
        LK_ERROR("batch=%lld: %s", (long long)batch, err->msg);
        return rc;
    }
    LK_ERROR("batch=%lld: %s; the range is missing from the batch (fail_on_data_loss: false)",
             (long long)batch, err->msg);
    lk_worker_add(s->env.w, "errors", 1);
    lk_worker_add(s->env.w, "lost_ranges", 1);
    return LK_RANGE_GONE;
}

typedef struct chunker {
    kafka_source *ks;
    const lk_state_range *rg;
    lk_source_emit_fn emit;
    void *ctx;
    int64_t first; /* offset of the chunk's first message */
    int stop;      /* the batch is full */
    int failed;    /* emit's error */
} chunker;

/* Hands the messages gathered in io to emit as one chunk. */
static int emit_chunk(chunker *c, int64_t next)
{
    lk_buf *io = &c->ks->io;
    if (io->len == 0) return 0;
    lk_msg_chunk m;
    memset(&m, 0, sizeof m);
    m.file_id = c->rg->file_id;
    snprintf(m.file_path, sizeof m.file_path, "%s", c->rg->path);
    m.file_size = c->rg->end;
    m.offset = 0;
    m.first_line = c->first; /* the Kafka offset of the first message */
    m.data = io->data;
    m.len = io->len;
    int rc = c->emit(c->ctx, &m);
    lk_buf_reset(io);
    c->first = next;
    if (rc > 0) c->stop = 1;
    if (rc < 0) c->failed = rc;
    return rc < 0 ? rc : 0;
}

/* Cuts a chunk once it holds chunk_bytes: a function of the messages of
   the range only, so a replay cuts the same chunks. */
static int on_line(void *ctx, lk_buf *out, int64_t next)
{
    chunker *c = ctx;
    if (c->stop) return -1;
    if ((int64_t)out->len < c->ks->base.env.cfg->source.chunk_bytes) return 0;
    return emit_chunk(c, next) || c->stop ? -1 : 0;
}

static int ks_read(lk_source *s, int64_t batch, const lk_state_range *rg, lk_source_emit_fn emit,
                   void *ctx, lk_error *err)
{
    kafka_source *ks = (kafka_source *)s;
    char topic[256];
    int32_t part;
    int rc = range_partition(rg, batch, topic, &part, err);
    if (rc) return rc;
    chunker c = {ks, rg, emit, ctx, rg->start, 0, 0};
    lk_buf_reset(&ks->io);
    rc = lk_kafka_client_read(ks->client, topic, part, rg->start, rg->end, &ks->io, on_line, &c,
                              err);
    if (c.stop) /* the batch is full: the rest of the range is not sent (logged by ingest) */
        return 0;
    if (rc == 0) rc = emit_chunk(&c, rg->end);
    if (c.failed) rc = lk_error_set(err, c.failed, "chunk send interrupted");
    if (rc == 0) {
        lk_worker_add(s->env.w, "kafka_offsets", rg->end - rg->start);
        return 0;
    }
    LK_ERROR("batch=%lld %s offsets [%lld, %lld): %s", (long long)batch, rg->path,
             (long long)rg->start, (long long)rg->end, err->msg);
    lk_worker_add(s->env.w, "errors", 1);
    return rc;
}

/* Tells Kafka's consumer group how far a committed batch got (informational:
   lag tools; the pipeline's offsets stay in state.db). */
static void ks_ack(lk_source *s, int64_t batch_id)
{
    kafka_source *ks = (kafka_source *)s;
    lk_state_range *ranges = NULL;
    int n = 0;
    lk_error e;
    if (batch_id < 0 || lk_state_batch_ranges(s->env.st, batch_id, &ranges, &n, &e)) return;
    for (int i = 0; i < n; i++) {
        char topic[256];
        int32_t part;
        if (lk_kafka_record_path_parse(ranges[i].path, topic, sizeof topic, &part) == 0 &&
            lk_kafka_client_owns(ks->client, topic, part) &&
            lk_kafka_client_commit(ks->client, topic, part, ranges[i].end, &e))
            LK_WARN("%s (informational only)", e.msg);
    }
    free(ranges);
}

static void ks_drained(lk_source *s, int64_t now_ms)
{
    (void)s, (void)now_ms;
}

/* A broker unreachable, a timeout, an interrupted fetch: retried later. */
static int ks_retryable(const lk_source *s, const lk_error *err)
{
    (void)s;
    return err->code == -EAGAIN || err->code == -ETIMEDOUT || err->code == -ECANCELED;
}

static void ks_destroy(lk_source *s)
{
    kafka_source *ks = (kafka_source *)s;
    lk_kafka_client_destroy(&ks->client);
    for (int t = 0; t < ks->ntables; t++)
        lk_delta_destroy(&ks->tables[t]);
    free(ks->own);
    lk_buf_free(&ks->io);
    free(ks);
}

static const lk_source_ops g_kafka_ops = {
    "partitions", "offsets", ks_poll, ks_caught_up, ks_fd,        ks_plan,
    ks_check,     ks_read,   ks_ack,  ks_drained,   ks_retryable, ks_destroy,
    NULL,
};

lk_source *lk_kafka_source_new(const lk_source_env *env, lk_error *err)
{
    kafka_source *ks = calloc(1, sizeof *ks);
    if (!ks) abort();
    ks->base.ops = &g_kafka_ops;
    ks->base.env = *env;
    if (lk_kafka_client_new(env->cfg, &ks->client, err)) {
        ks_destroy(&ks->base);
        return NULL;
    }
    ks->group = env->cfg->source.group_id[0] != '\0';
    ks->ntables = lk_tables_names(env->cfg, ks->names);
    if (ks->group && lk_kafka_client_join(ks->client, err)) {
        ks_destroy(&ks->base);
        return NULL;
    }
    LK_INFO("Kafka source bootstrap_servers=%s%s%s", env->cfg->source.bootstrap_servers,
            ks->group ? " group_id=" : "", ks->group ? env->cfg->source.group_id : "");
    return &ks->base;
}
