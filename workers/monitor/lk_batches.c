/* lk_batches — progress records assembled from the roles' reports; see lk_batches.h. */
#include "lk_batches.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_log.h"
#include "lk_metrics.h"

typedef struct partition {
    char path[256];
    int64_t latest, committed;
} partition;

struct lk_batches {
    lk_batch_rec b[LK_BATCHES_MAX];
    partition parts[LK_BATCHES_PARTITIONS];
    int nparts;
};

static lk_batch_rec *find_batch(lk_batches *bs, int64_t b)
{
    lk_batch_rec *free_slot = NULL, *oldest = NULL;
    for (int i = 0; i < LK_BATCHES_MAX; i++) {
        lk_batch_rec *r = &bs->b[i];
        if (r->used && r->batch == b) return r;
        if (!r->used && !free_slot) free_slot = r;
        if (r->used && (!oldest || r->batch < oldest->batch)) oldest = r;
    }
    if (!free_slot) { /* a batch that never committed (a replay re-plans it) */
        LK_DEBUG("progress of batch=%lld dropped: never committed while %d later batches were",
                 (long long)oldest->batch, LK_BATCHES_MAX);
        free_slot = oldest;
    }
    memset(free_slot, 0, sizeof *free_slot);
    free_slot->used = 1;
    free_slot->batch = b;
    return free_slot;
}

static partition *find_partition(lk_batches *bs, const char *path)
{
    for (int i = 0; i < bs->nparts; i++)
        if (!strcmp(bs->parts[i].path, path)) return &bs->parts[i];
    if (bs->nparts == LK_BATCHES_PARTITIONS) return NULL;
    partition *p = &bs->parts[bs->nparts++];
    memset(p, 0, sizeof *p);
    snprintf(p->path, sizeof p->path, "%s", path);
    return p;
}

lk_batches *lk_batches_new(void)
{
    lk_batches *bs = calloc(1, sizeof *bs);
    if (!bs) abort();
    return bs;
}

void lk_batches_destroy(lk_batches **bs)
{
    if (bs && *bs) {
        free(*bs);
        *bs = NULL;
    }
}

int64_t lk_batches_start_us(const lk_batch_rec *r)
{
    return r->have_plan ? r->plan_start_us : r->commit_us - r->phase_us[LK_PHASE_COMMIT];
}

const lk_batch_rec *lk_batches_ready(const lk_batches *bs, int64_t now_ms, int64_t grace_ms)
{
    const lk_batch_rec *next = NULL;
    for (int i = 0; i < LK_BATCHES_MAX; i++) {
        const lk_batch_rec *r = &bs->b[i];
        if (r->used && r->have_commit && now_ms - r->commit_seen_ms >= grace_ms &&
            (!next || r->batch < next->batch))
            next = r;
    }
    return next;
}

void lk_batches_committed(lk_batches *bs, const lk_batch_rec *r)
{
    for (int i = 0; i < r->n_sources; i++) {
        if (strncmp(r->sources[i].path, "kafka://", 8)) continue;
        partition *pt = find_partition(bs, r->sources[i].path);
        if (pt && r->sources[i].end > pt->committed) pt->committed = r->sources[i].end;
    }
}

void lk_batches_done(lk_batches *bs, const lk_batch_rec *r)
{
    lk_batch_rec *w = &bs->b[r - bs->b];
    w->used = 0;
}

const char *lk_batches_partition(const lk_batches *bs, int i, int64_t *lag)
{
    if (i < 0 || i >= bs->nparts) return NULL;
    int64_t l = bs->parts[i].latest - bs->parts[i].committed;
    *lag = l < 0 ? 0 : l;
    return bs->parts[i].path;
}

void lk_batches_add(lk_batches *bs, const lk_msg_progress *p, int64_t now_ms)
{
    if (p->batch_id < 0 || p->phase < 0 || p->phase >= LK_PHASE_N) return;
    lk_batch_rec *r = find_batch(bs, p->batch_id);
    r->phase_us[p->phase] += p->duration_us;
    switch (p->phase) {
    case LK_PHASE_PLAN:
        r->have_plan = 1;
        r->plan_start_us = p->ts_us - p->duration_us;
        r->n_ranges = p->files;
        r->n_sources = p->n_sources;
        memcpy(r->sources, p->sources, (size_t)p->n_sources * sizeof p->sources[0]);
        for (int i = 0; i < p->n_sources; i++) {
            if (strncmp(p->sources[i].path, "kafka://", 8)) continue;
            partition *pt = find_partition(bs, p->sources[i].path);
            if (pt && p->sources[i].latest > pt->latest) pt->latest = p->sources[i].latest;
        }
        break;
    case LK_PHASE_READ:
        r->bytes_read += p->bytes;
        break;
    case LK_PHASE_PARSE:
        r->rows_parsed += p->rows;
        if (p->event_n) {
            if (!r->ev_n || p->event_min_us < r->ev_min) r->ev_min = p->event_min_us;
            if (!r->ev_n || p->event_max_us > r->ev_max) r->ev_max = p->event_max_us;
            r->ev_n += p->event_n;
            r->ev_sum += p->event_sum_s;
        }
        break;
    case LK_PHASE_WRITE:
        r->bytes_written += p->bytes;
        r->files_written += p->files;
        break;
    case LK_PHASE_COMMIT:
        r->have_commit = 1;
        r->commit_us = p->ts_us;
        r->commit_seen_ms = now_ms;
        r->rows = p->rows;
        r->corrupt = p->corrupt;
        r->rescued = p->rescued;
        r->late = p->late;
        r->no_event_time = p->no_event_time;
        r->duplicates = p->duplicates;
        r->watermark_us = p->watermark_us;
        r->n_tables = p->n_tables;
        memcpy(r->tables, p->tables, (size_t)p->n_tables * sizeof p->tables[0]);
        break;
    }
}

/* The source's description and offsets as Spark writes them: Kafka
   {"topic":{"partition":offset}}, files {"path":byte}. */
static void offsets_json(lk_buf *b, const lk_batch_rec *r, int which)
{
    lk_buf_putc(b, '{');
    int kafka = r->n_sources && !strncmp(r->sources[0].path, "kafka://", 8);
    if (kafka) {
        /* grouped by topic (ranges are planned partition by partition, a topic's together) */
        char topic[256] = "";
        for (int i = 0; i < r->n_sources; i++) {
            const char *t = r->sources[i].path + 8, *slash = strrchr(t, '/');
            if (!slash) continue;
            if (strlen(topic) != (size_t)(slash - t) || strncmp(topic, t, (size_t)(slash - t))) {
                if (topic[0]) lk_buf_puts(b, "},");
                snprintf(topic, sizeof topic, "%.*s", (int)(slash - t), t);
                lk_buf_json_string(b, topic, strlen(topic));
                lk_buf_puts(b, ":{");
            } else {
                lk_buf_putc(b, ',');
            }
            int64_t v = which == 0   ? r->sources[i].start
                        : which == 1 ? r->sources[i].end
                                     : r->sources[i].latest;
            lk_buf_printf(b, "\"%s\":%lld", slash + 1, (long long)v);
        }
        if (topic[0]) lk_buf_putc(b, '}');
    } else {
        for (int i = 0; i < r->n_sources; i++) {
            if (i) lk_buf_putc(b, ',');
            lk_buf_json_string(b, r->sources[i].path, strlen(r->sources[i].path));
            int64_t v = which == 0   ? r->sources[i].start
                        : which == 1 ? r->sources[i].end
                                     : r->sources[i].latest;
            lk_buf_printf(b, ":%lld", (long long)v);
        }
    }
    lk_buf_putc(b, '}');
}

int64_t lk_batches_kafka_lag(const lk_batches *bs, int64_t *minp, int64_t *maxp, int *n)
{
    int64_t sum = 0, mn = 0, mx = 0;
    int k = 0;
    for (int i = 0; i < bs->nparts; i++) {
        int64_t lag = bs->parts[i].latest - bs->parts[i].committed;
        if (lag < 0) lag = 0;
        if (!k || lag < mn) mn = lag;
        if (!k || lag > mx) mx = lag;
        sum += lag;
        k++;
    }
    if (minp) *minp = mn;
    if (maxp) *maxp = mx;
    if (n) *n = k;
    return sum;
}

/* The record of a committed batch, with Spark's StreamingQueryProgress
   names where Spark has one (docs/operations.md lists every field). */
void lk_batches_record_json(const lk_batches *bs, const lk_batch_rec *r, const lk_record_ctx *c,
                            lk_buf *b)
{
    int64_t start = lk_batches_start_us(r);
    double total_ms = (double)(r->commit_us - start) / 1000.0;
    double in_rate = 0, proc_rate = total_ms > 0 ? (double)r->rows * 1000.0 / total_ms : 0;
    if (c->prev_start_us && start > c->prev_start_us)
        in_rate = (double)r->rows * 1e6 / (double)(start - c->prev_start_us);
    else
        in_rate = proc_rate;
    lk_buf_puts(b, "{\"id\":");
    lk_buf_json_string(b, c->query_id, strlen(c->query_id));
    lk_buf_puts(b, ",\"name\":");
    lk_buf_json_string(b, c->cfg->pipeline, strlen(c->cfg->pipeline));
    lk_buf_putc(b, ',');
    lk_json_time(b, "timestamp", start);
    lk_buf_printf(b, ",\"batchId\":%lld,\"numInputRows\":%lld,", (long long)r->batch,
                  (long long)r->rows);
    lk_json_num(b, "inputRowsPerSecond", in_rate);
    lk_json_more_num(b, "processedRowsPerSecond", proc_rate);
    lk_buf_printf(b, ",\"batchDuration\":%lld,\"durationMs\":{", (long long)llround(total_ms));
    for (int i = 0; i < LK_PHASE_N; i++)
        lk_buf_printf(b, "\"%s\":%lld,", lk_phase_name(i),
                      (long long)llround((double)r->phase_us[i] / 1000.0));
    lk_buf_printf(b, "\"total\":%lld,\"triggerExecution\":%lld}", (long long)llround(total_ms),
                  (long long)llround(total_ms));
    lk_buf_puts(b, ",\"eventTime\":{");
    if (r->ev_n) {
        lk_json_time(b, "min", r->ev_min);
        lk_buf_putc(b, ',');
        lk_json_time(b, "max", r->ev_max);
        lk_buf_putc(b, ',');
        lk_json_time(b, "avg", (int64_t)(r->ev_sum / (double)r->ev_n * 1e6));
        lk_buf_putc(b, ',');
        lk_json_time(b, "watermark", r->watermark_us ? r->watermark_us : c->watermark_us);
    }
    lk_buf_printf(b,
                  "},\"numRowsDroppedByWatermark\":%lld,\"numRowsWithoutEventTime\":%lld,"
                  "\"numDuplicateRowsDropped\":%lld,"
                  "\"numCorruptRows\":%lld,\"numRescuedRows\":%lld,\"stateOperators\":[]",
                  (long long)r->late, (long long)r->no_event_time, (long long)r->duplicates,
                  (long long)r->corrupt, (long long)r->rescued);
    /* sources: one (the pipeline's), with Auto Loader's backlog metrics */
    int kafka = r->n_sources && !strncmp(r->sources[0].path, "kafka://", 8);
    lk_buf_puts(b, ",\"sources\":[{\"description\":");
    char desc[1200];
    if (kafka)
        snprintf(desc, sizeof desc, "KafkaV2[%s]", c->cfg->source.bootstrap_servers);
    else
        snprintf(desc, sizeof desc, "FileStreamSource[%s]", c->cfg->source_path);
    lk_buf_json_string(b, desc, strlen(desc));
    lk_buf_puts(b, ",\"startOffset\":");
    offsets_json(b, r, 0);
    lk_buf_puts(b, ",\"endOffset\":");
    offsets_json(b, r, 1);
    lk_buf_puts(b, ",\"latestOffset\":");
    offsets_json(b, r, 2);
    lk_buf_printf(b, ",\"numInputRows\":%lld,", (long long)r->rows);
    lk_json_num(b, "inputRowsPerSecond", in_rate);
    lk_json_more_num(b, "processedRowsPerSecond", proc_rate);
    lk_buf_printf(b, ",\"numRanges\":%lld,\"bytesRead\":%lld,\"metrics\":{", (long long)r->n_ranges,
                  (long long)r->bytes_read);
    lk_buf_printf(b, "\"numFilesOutstanding\":\"%lld\",\"numBytesOutstanding\":\"%lld\"",
                  (long long)c->backlog_files, (long long)c->backlog_bytes);
    if (kafka) {
        int64_t mn, mx;
        int np;
        int64_t sum = lk_batches_kafka_lag(bs, &mn, &mx, &np);
        lk_buf_printf(b,
                      ",\"minOffsetsBehindLatest\":\"%lld\",\"maxOffsetsBehindLatest\":\"%lld\","
                      "\"avgOffsetsBehindLatest\":\"%.1f\",\"numRecordsBehindLatest\":\"%lld\"",
                      (long long)mn, (long long)mx, np ? (double)sum / np : 0.0, (long long)sum);
    }
    lk_buf_puts(b, "}}]");
    /* the sink: Spark has one; the pipeline writes a table per layer */
    int64_t out_rows = 0;
    for (int i = 0; i < r->n_tables; i++)
        out_rows += r->tables[i].rows;
    lk_buf_puts(b, ",\"sink\":{\"description\":\"DeltaSink[");
    for (int i = 0; i < r->n_tables; i++)
        lk_buf_printf(b, "%s%s", i ? "," : "", r->tables[i].table);
    lk_buf_printf(b, "]\",\"numOutputRows\":%lld,\"tables\":[", (long long)out_rows);
    for (int i = 0; i < r->n_tables; i++) {
        char path[2048];
        lk_config_table_path(c->cfg, r->tables[i].table, path, sizeof path);
        lk_buf_printf(b, "%s{\"table\":", i ? "," : "");
        lk_buf_json_string(b, r->tables[i].table, strlen(r->tables[i].table));
        lk_buf_puts(b, ",\"path\":");
        lk_buf_json_string(b, path, strlen(path));
        lk_buf_printf(b, ",\"version\":%lld,\"numOutputRows\":%lld}",
                      (long long)r->tables[i].version, (long long)r->tables[i].rows);
    }
    lk_buf_printf(b, "]},\"backlog\":{\"files\":%lld,\"bytes\":%lld,\"records\":%lld},",
                  (long long)c->backlog_files, (long long)c->backlog_bytes,
                  (long long)lk_batches_kafka_lag(bs, NULL, NULL, NULL));
    lk_json_time(b, "committedAt", r->commit_us);
    lk_buf_putc(b, '}');
}
