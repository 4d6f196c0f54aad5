/*
 * lk_writer — encodes record batches into Parquet data files (×N).
 *
 * It pulls RECORDS (one columnar batch per table for one chunk) from every
 * transform, writes one Parquet file per non-empty table part under the
 * table's directory, and reports the files with their Delta statistics to
 * the committer (FILES). It never touches the Delta log: a file becomes
 * part of a table only when the committer commits it, so a writer killed
 * mid-file leaves an unreferenced file (garbage for vacuum), never a
 * visible partial one. File names carry batch and chunk plus a random
 * UUID, so a replayed chunk never overwrites a file a table references.
 */
#include "lk_writer.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "lk_delta.h"
#include "lk_fs.h"
#include "lk_exit.h"
#include "lk_log.h"
#include "lk_parquet_writer.h"
#include "lk_partition.h"
#include "lk_tables.h"
#include "lk_time.h"

#define MAX_TABLES LK_MSG_MAX_PARTS

typedef struct table_writer {
    char table[64];
    char path[2048];
    lk_schema *schema;
    lk_partitioner *part; /* partition_by, or NULL */
    lk_pq_writer *pq;     /* for the data schema (without partition columns) */
} table_writer;

typedef struct writer {
    lk_worker *w;
    const lk_config *cfg;
    zsock_t *in, *out;
    lk_pq_options opt;
    table_writer tw[MAX_TABLES];
    int ntw;
    lk_msg_records rec;
    lk_msg_files files;
    lk_buf msg, stats;
    lk_error err;
} writer;

/* (Re)creates t's partitioner and Parquet writer for schema. */
static int setup_table(writer *wr, table_writer *t, const lk_schema *schema)
{
    lk_pq_writer_destroy(&t->pq);
    lk_partitioner_destroy(&t->part);
    lk_schema_destroy(&t->schema);
    t->schema = lk_schema_clone(schema);
    lk_name_list pbl;
    lk_tables_partition_by(wr->cfg, t->table, schema, &pbl);
    const lk_name_list *pb = &pbl;
    if (pb->n) {
        const char *cols[LK_MAX_PARTITION_COLS];
        for (int k = 0; k < pb->n; k++)
            cols[k] = pb->name[k];
        if (lk_partitioner_new(schema, cols, pb->n, &t->part, &wr->err)) {
            lk_error_prefix(&wr->err, "tables.%s.partition_by", t->table);
            return -1;
        }
        t->pq = lk_pq_writer_new(lk_partitioner_data_schema(t->part), &wr->opt);
    } else {
        t->pq = lk_pq_writer_new(schema, &wr->opt);
    }
    return 0;
}

static table_writer *get_table(writer *wr, const char *table, const lk_schema *schema)
{
    for (int i = 0; i < wr->ntw; i++) {
        table_writer *t = &wr->tw[i];
        if (strcmp(t->table, table))
            continue;
        if (!lk_schema_equal(t->schema, schema) && setup_table(wr, t, schema))
            return NULL;
        return t;
    }
    if (wr->ntw == MAX_TABLES) {
        lk_error_set(&wr->err, LK_ELIMIT, "too many tables");
        return NULL;
    }
    table_writer *t = &wr->tw[wr->ntw++];
    memset(t, 0, sizeof *t);
    snprintf(t->table, sizeof t->table, "%s", table);
    lk_config_table_path(wr->cfg, table, t->path, sizeof t->path);
    if (setup_table(wr, t, schema)) {
        wr->ntw--;
        return NULL;
    }
    return t;
}


/* Writes one Parquet file of rows b under the table's dir (a partition's
   subdirectory when dir is not NULL) and records it in wr->files. */
static int write_file(writer *wr, table_writer *t, const lk_batch *b, const char *dir,
                      const char *values_json)
{
    lk_msg_file *f = lk_msg_files_add(&wr->files);
    if (!f)
        return lk_error_set(&wr->err, LK_ELIMIT,
                            "a chunk of table %s makes more than %d data files (partitions)",
                            t->table, LK_MSG_MAX_FILES);
    char uuid[40], full[3200];
    lk_fs_uuid4(uuid, sizeof uuid);
    snprintf(f->table, sizeof f->table, "%s", t->table);
    int n = snprintf(f->path, sizeof f->path, "%s%spart-%05lld-%05d-%s.c000.%s.parquet",
                     dir ? dir : "", dir ? "/" : "", (long long)wr->rec.batch_id,
                     wr->rec.chunk_idx, uuid,
                     wr->opt.codec == LK_PQ_UNCOMPRESSED ? "uncompressed"
                                                         : lk_pq_codec_name(wr->opt.codec));
    if (n >= (int)sizeof f->path) {
        wr->files.n_files--;
        return lk_error_set(&wr->err, LK_ELIMIT, "partition path too long: %s", dir);
    }
    if (dir) {
        snprintf(full, sizeof full, "%s/%s", t->path, dir);
        if (lk_fs_mkdirs(full, &wr->err)) {
            wr->files.n_files--;
            return -1;
        }
    }
    snprintf(full, sizeof full, "%s/%s", t->path, f->path);
    lk_pq_file_info info;
    int rc = lk_pq_writer_open(t->pq, full, &wr->err);
    if (rc == 0)
        rc = lk_pq_writer_write(t->pq, b, &wr->err);
    if (rc == 0)
        rc = lk_pq_writer_close(t->pq, &info, &wr->err);
    if (rc) {
        lk_pq_writer_abort(t->pq);
        wr->files.n_files--;
        return rc;
    }
    lk_buf_reset(&wr->stats);
    lk_delta_stats_json(&info, &wr->stats);
    f->size = info.file_size;
    f->rows = info.num_rows;
    f->mtime_ms = lk_time_now_ms();
    f->stats_json = strdup(wr->stats.data ? wr->stats.data : "");
    f->partition_values_json = values_json ? strdup(values_json) : NULL;
    lk_worker_add(wr->w, "files", 1);
    lk_worker_add(wr->w, "bytes_out", info.file_size);
    return 0;
}

/* Writes one table part of a chunk. first: the table writer of the chunk's
   first part when this is a later one: processed_events holds most of
   raw_events' columns with the same values, and a column chunk identical
   to one the first table's writer just encoded takes its pages
   (lk_pq_writer_reuse_from). *used: the table writer (NULL for an empty
   part). 0 or -1. */
static int write_part(writer *wr, const lk_msg_part *part, table_writer *first,
                      table_writer **used)
{
    *used = NULL;
    uint32_t rows = lk_batch_nrows(part->batch);
    if (rows == 0)
        return 0;
    table_writer *t = get_table(wr, part->table, lk_batch_schema(part->batch));
    if (!t)
        return -1;
    if (lk_fs_mkdirs(t->path, &wr->err))
        return -1;
    *used = t;
    lk_pq_writer_reuse_from(t->pq, first && first != t ? first->pq : NULL);
    int rc = 0;
    if (!t->part) {
        rc = write_file(wr, t, part->batch, NULL, NULL);
    } else {
        int n = lk_partitioner_split(t->part, part->batch);
        for (int i = 0; i < n && !rc; i++)
            rc = write_file(wr, t, lk_partitioner_part(t->part, i), lk_partitioner_dir(t->part, i),
                            lk_partitioner_values_json(t->part, i));
    }
    lk_pq_writer_reuse_from(t->pq, NULL);
    return rc;
}

/* The monitor's share of writing: one chunk's data files. */
static void report_write(writer *wr, int64_t rows, int64_t t0_us)
{
    lk_msg_progress p;
    memset(&p, 0, sizeof p);
    p.phase = LK_PHASE_WRITE;
    p.batch_id = wr->files.batch_id;
    p.ts_us = lk_time_now_us();
    p.duration_us = p.ts_us - t0_us;
    p.rows = rows;
    p.files = wr->files.n_files;
    for (int i = 0; i < wr->files.n_files; i++)
        p.bytes += wr->files.files[i].size;
    lk_worker_report(wr->w, &p);
}

/* Removes the data files of a chunk whose writing failed part-way. */
static void remove_written(writer *wr)
{
    for (int i = 0; i < wr->files.n_files; i++) {
        const lk_msg_file *f = &wr->files.files[i];
        char path[2048], full[4200];
        lk_config_table_path(wr->cfg, f->table, path, sizeof path);
        snprintf(full, sizeof full, "%s/%s", path, f->path);
        if (unlink(full) != 0 && errno != ENOENT)
            LK_WARN("cannot remove %s: %s (vacuum will)", full, strerror(errno));
    }
}

/* event_metrics' part is no data file: the chunk's partial window
   aggregates go to the committer inside FILES, as a RECORDS message of
   that one part (docs/decisions.md, "Windowed aggregates"). */
static void forward_partial(writer *wr, const lk_msg_part *part)
{
    lk_msg_records one;
    memset(&one, 0, sizeof one);
    one.batch_id = wr->rec.batch_id;
    one.chunk_idx = wr->rec.chunk_idx;
    one.n_parts = 1;
    one.parts[0] = *part;
    lk_buf_reset(&wr->stats);
    lk_msg_records_encode(&one, &wr->stats);
    free(wr->files.partial);
    wr->files.partial = malloc(wr->stats.len);
    if (!wr->files.partial) abort();
    memcpy(wr->files.partial, wr->stats.data, wr->stats.len);
    wr->files.partial_len = wr->stats.len;
    lk_buf_reset(&wr->stats);
}

static int process(void *ctx, const void *data, size_t len)
{
    writer *wr = ctx;
    if (lk_msg_records_decode(data, len, &wr->rec, &wr->err)) {
        /* Records come from our own transforms and are a function of the planned bytes: a
           message that does not decode would not decode on a replay either. Dropping it left
           its batch uncommitted forever (the pipeline hung in silence); stop loudly instead. */
        char why[sizeof wr->err.msg + 64];
        snprintf(why, sizeof why, "a records message (%zu bytes) does not decode: %s", len,
                 wr->err.msg);
        LK_ERROR("%s", why);
        lk_worker_add(wr->w, "errors", 1);
        lk_msg_event e;
        lk_msg_event_init(&e, "fatal");
        lk_msg_event_set_str(&e, "role", "writer");
        lk_msg_event_set_str(&e, "error", why);
        lk_worker_notify(wr->w, &e);
        return -1;
    }
    int64_t rows = 0, t0 = lk_time_now_us();
    /* A disk that fills (or fails) pauses the writer on this chunk: it
       removes what it wrote of it, waits and writes it again, so that the
       chunk is neither lost nor doubled when space returns. */
    for (;;) {
        lk_msg_files_clear(&wr->files);
        wr->files.batch_id = wr->rec.batch_id;
        wr->files.chunk_idx = wr->rec.chunk_idx;
        wr->files.rows_in = wr->rec.rows_in;
        wr->files.corrupt_rows = wr->rec.corrupt_rows;
        wr->files.rescued_rows = wr->rec.rescued_rows;
        rows = 0;
        int failed = -1;
        table_writer *first = NULL;
        for (int i = 0; i < wr->rec.n_parts && failed < 0; i++) {
            table_writer *t = NULL;
            if (!strcmp(wr->rec.parts[i].table, LK_TABLE_METRICS)) {
                /* partial window aggregates: the committer merges them */
                forward_partial(wr, &wr->rec.parts[i]);
                continue;
            }
            if (write_part(wr, &wr->rec.parts[i], first, &t))
                failed = i;
            else
                rows += lk_batch_nrows(wr->rec.parts[i].batch);
            if (i == 0)
                first = t;
        }
        if (failed < 0)
            break;
        remove_written(wr);
        char why[1200];
        snprintf(why, sizeof why, "batch=%lld chunk=%d table=%s: cannot write a data file: %s",
                 (long long)wr->rec.batch_id, wr->rec.chunk_idx, wr->rec.parts[failed].table,
                 wr->err.msg);
        if (wr->err.code == LK_ECONFIG) {
            /* a partition column that is not in the table: not worth a restart */
            LK_ERROR("%s", why);
            lk_msg_event e;
            lk_msg_event_init(&e, "fatal");
            lk_msg_event_set_str(&e, "role", "writer");
            lk_msg_event_set_str(&e, "error", wr->err.msg);
            lk_worker_notify(wr->w, &e);
            return -1;
        }
        if (!lk_worker_resource_error(wr->err.code) || lk_worker_stopping(wr->w)) {
            LK_ERROR("%s", why);
            return -1;
        }
        lk_worker_pause(wr->w, why);
        lk_worker_sleep(wr->w, lk_worker_pause_delay_ms(wr->w));
    }
    lk_worker_pause(wr->w, NULL);
    report_write(wr, rows, t0);
    lk_buf_reset(&wr->msg);
    lk_msg_files_encode(&wr->files, &wr->msg);
    if (lk_zmq_send_blocking(wr->w, wr->out, wr->msg.data, wr->msg.len))
        return -1;
    lk_worker_add(wr->w, "chunks", 1);
    lk_worker_add(wr->w, "rows_in", rows);
    lk_worker_add(wr->w, "rows_out", rows);
    return 0;
}

int lk_writer_run(lk_worker *w)
{
    writer WR, *wr = &WR;
    memset(wr, 0, sizeof *wr);
    wr->w = w;
    wr->cfg = lk_worker_config(w);
    lk_pq_options_default(&wr->opt);
    if (lk_pq_codec_parse(wr->cfg->tables.compression, &wr->opt.codec)) {
        LK_ERROR("unknown compression '%s'", wr->cfg->tables.compression);
        return LK_EXIT_CONFIG;
    }
    wr->opt.zstd_level = wr->cfg->tables.zstd_level;
    char ep[1200];
    wr->in = zsock_new(ZMQ_PULL);
    zsock_set_rcvhwm(wr->in, 1);
    /* the transforms bind "records-N" and start after us: retry a failed
       connect after 5 ms instead of ZMQ's 100 ms (as in lk_transform.c) */
    zsock_set_reconnect_ivl(wr->in, 5);
    zsock_set_reconnect_ivl_max(wr->in, 100);
    for (int i = 0; i < wr->cfg->workers.transform; i++) {
        lk_worker_endpoint(w, LK_EP_RECORDS, i, ep, sizeof ep);
        zsock_connect(wr->in, "%s", ep);
    }
    wr->out = zsock_new(ZMQ_PUSH);
    zsock_set_sndhwm(wr->out, 1000);
    zsock_set_linger(wr->out, 2000);
    lk_worker_endpoint(w, LK_EP_COMMITTER, -1, ep, sizeof ep);
    zsock_connect(wr->out, "%s", ep);
    lk_worker_ready(w);
    int rc = lk_worker_pull_loop(w, wr->in, process, wr);
    for (int i = 0; i < wr->ntw; i++) {
        lk_pq_writer_destroy(&wr->tw[i].pq);
        lk_partitioner_destroy(&wr->tw[i].part);
        lk_schema_destroy(&wr->tw[i].schema);
    }
    lk_msg_records_clear(&wr->rec);
    lk_msg_files_clear(&wr->files);
    zsock_destroy(&wr->in);
    zsock_destroy(&wr->out);
    lk_buf_free(&wr->msg);
    lk_buf_free(&wr->stats);
    return rc;
}
