/*
 * lk_writer — encodes record batches into Parquet data files (×N).
 *
 * It pulls RECORDS (one columnar batch per table for one chunk) from every
 * transform and appends each table part to the file this writer has open
 * for that table (and partition value) of the chunk's batch: a batch makes
 * at most one file per writer per table per partition value, filled with
 * row groups from many chunks, and a second one only past
 * tables.target_file_size. Each chunk is reported to the committer at once
 * as held (FILES kind HOLD); when the committer holds every chunk of the
 * batch it publishes "flush", and the writer closes the batch's files and
 * reports them with their Delta statistics and the chunks they hold (FILES
 * kind CLOSE). Nothing waits to fill a file: a small batch is closed as soon
 * as it is complete.
 *
 * It never touches the Delta log: a file becomes part of a table only when
 * the committer commits it, so a writer killed mid-batch leaves unreferenced
 * files (garbage for vacuum), never visible partial ones, and the replay
 * that follows is a new generation of the batch, written to new files (file
 * names carry batch, generation and a random UUID). A set of files whose
 * generation is superseded, or whose batch the committer is past, is
 * deleted unreported.
 */
#include "lk_writer.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <zmq.h>
#include <unistd.h>

#include "lk_dedupe.h"
#include "lk_delta.h"
#include "lk_fs.h"
#include "lk_exit.h"
#include "lk_flow.h"
#include "lk_fault.h"
#include "lk_log.h"
#include "lk_parquet_writer.h"
#include "lk_partition.h"
#include "lk_tables.h"
#include "lk_time.h"

#define MAX_TABLES LK_MSG_MAX_PARTS

#define MAX_SETS 8       /* batches open at once (ingest keeps at most 3 in flight) */
#define MAX_OPEN_FILES 64 /* open files of one batch (tables × partition values) */
#define DRAIN_MS 1000     /* how long a stopping writer still closes batches on request */

#define POOL 4 /* idle Parquet writers kept per table: a warm writer opens a file without allocating */

typedef struct table_writer {
    char table[64];
    char path[2048];
    lk_schema *schema;
    lk_partitioner *part; /* partition_by, or NULL */
    lk_pq_writer *idle[POOL];
    lk_schema *idle_schema[POOL]; /* the table schema each idle writer was made for */
} table_writer;

/* One open data file of a batch: a table (and partition value). */
typedef struct open_file {
    int table;           /* index in wr->tw */
    char dir[1024];      /* partition directory, "" when unpartitioned */
    char *values_json;   /* partition values, NULL when unpartitioned */
    lk_schema *schema;   /* the table schema its rows have */
    lk_pq_writer *pq;
    char rel[512];       /* path relative to the table root */
    int64_t rows;
} open_file;

/* What this writer holds of one generation of one batch. */
typedef struct wset {
    int used;
    int closed;          /* reported (CLOSE): the files are the committer's now */
    int64_t batch;
    int32_t gen;
    open_file of[MAX_OPEN_FILES];
    int nof;
    lk_msg_files out;    /* closed files and the chunks they hold: the CLOSE report */
    lk_buf sent;         /* the encoded CLOSE, re-sent when "flush" is repeated */
    int64_t t0_us, rows;
    int src_ti;          /* the table whose column chunks others reuse, or -1 */
} wset;

typedef struct writer {
    lk_worker *w;
    const lk_config *cfg;
    lk_flow_in *in; /* ← every transform's records-<i>, asked for (lk_flow) */
    zsock_t *out, *sub;
    int links_for;  /* the workers.transform the links were made for */
    int64_t remote_check_ms; /* next look for remote transforms' records-<i> */
    int reloads;    /* lk_worker_reloads when they were */
    lk_pq_options opt;
    size_t row_group_bytes;
    int64_t session;
    table_writer tw[MAX_TABLES];
    int ntw;
    wset sets[MAX_SETS];
    lk_msg_records rec;
    lk_msg_files hold;
    int first_ti;     /* the table of the chunk's first part when unpartitioned, else -1 */
    int close_failed; /* paused by a batch whose files could not be closed */
    int64_t probe_at; /* while close_failed and idle: when to try the disk again (monotonic ms) */
    lk_buf msg, stats;
    lk_error err;
} writer;

/* (Re)creates t's partitioner for schema. */
static int setup_table(writer *wr, table_writer *t, const lk_schema *schema)
{
    lk_partitioner_destroy(&t->part);
    lk_schema_destroy(&t->schema);
    t->schema = lk_schema_clone(schema);
    const char *cols[LK_MAX_PARTITION_COLS];
    int npb = lk_config_partition_cols(wr->cfg, t->table, cols);
    if (npb) {
        if (lk_partitioner_new(schema, cols, npb, &t->part, &wr->err)) {
            /* the table's first batch lacks it (nothing was known at start to check it
               against: pipeline/lk_tables.c): a configuration error, reported as the start's */
            char at[1100]; /* a file name (at most 1,023 bytes), ":" and a line */
            lk_error_prefix(&wr->err, "%s: key 'tables.%s.partition_by'",
                            lk_config_at(wr->cfg, lk_config_partition_by(wr->cfg, t->table)->line,
                                         at, sizeof at),
                            t->table);
            return -1;
        }
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


/* ---- the files of one batch (a set) ---- */

static void full_path(const writer *wr, const char *table, const char *rel, char *out, size_t cap)
{
    char path[2048];
    lk_config_table_path(wr->cfg, table, path, sizeof path);
    snprintf(out, cap, "%s/%s", path, rel);
}

/* Forgets open file i of s (after close, or removing its partial file);
   its Parquet writer goes back to the table's pool. */
static void file_drop(writer *wr, wset *s, int i, int remove)
{
    open_file *f = &s->of[i];
    if (remove)
        lk_pq_writer_abort(f->pq);
    table_writer *t = &wr->tw[f->table];
    for (int k = 0; k < POOL && f->pq; k++)
        if (!t->idle[k]) {
            /* an idle writer keeps its options and schema, not a row group's worth of buffers
               (its file is closed or aborted: there is nothing left to write) */
            lk_error ignored;
            lk_pq_writer_trim(f->pq, &ignored);
            t->idle[k] = f->pq;
            t->idle_schema[k] = f->schema;
            f->pq = NULL;
            f->schema = NULL;
        }
    lk_pq_writer_destroy(&f->pq);
    lk_schema_destroy(&f->schema);
    free(f->values_json);
    s->of[i] = s->of[--s->nof];
    memset(&s->of[s->nof], 0, sizeof s->of[s->nof]);
}

/* Unsets every column-chunk reuse link of s (before a linked writer goes). */
static void unlink_reuse(wset *s)
{
    for (int i = 0; i < s->nof; i++)
        lk_pq_writer_reuse_from(s->of[i].pq, NULL);
}

/* Closes open file i of s into s->out (the files the CLOSE report lists). */
static int file_close(writer *wr, wset *s, int i)
{
    open_file *f = &s->of[i];
    unlink_reuse(s);
    lk_msg_file *m = lk_msg_files_add(&s->out);
    if (!m) {
        file_drop(wr, s, i, 1);
        return lk_error_set(&wr->err, LK_ELIMIT, "batch %lld makes more than %d data files",
                            (long long)s->batch, LK_MSG_MAX_FILES);
    }
    lk_pq_file_info info;
    if (lk_pq_writer_close(f->pq, &info, &wr->err)) {
        s->out.n_files--;
        file_drop(wr, s, i, 1);
        return -1;
    }
    lk_buf_reset(&wr->stats);
    lk_delta_stats_json(&info, &wr->stats);
    snprintf(m->table, sizeof m->table, "%s", wr->tw[f->table].table);
    snprintf(m->path, sizeof m->path, "%s", f->rel);
    m->size = info.file_size;
    m->rows = info.num_rows;
    m->mtime_ms = lk_time_now_ms();
    m->stats_json = strdup(wr->stats.data ? wr->stats.data : "");
    m->partition_values_json = f->values_json ? strdup(f->values_json) : NULL;
    lk_worker_add(wr->w, "files", 1);
    lk_worker_add(wr->w, "bytes_out", info.file_size);
    file_drop(wr, s, i, 0);
    return 0;
}

/* Removes every file of s (open ones and those already closed into s->out,
   none of them reported yet) and forgets the chunks it held. */
static void set_reset(writer *wr, wset *s)
{
    unlink_reuse(s);
    while (s->nof)
        file_drop(wr, s, s->nof - 1, 1);
    for (int i = 0; i < s->out.n_files; i++) {
        char full[4200];
        full_path(wr, s->out.files[i].table, s->out.files[i].path, full, sizeof full);
        if (unlink(full) != 0 && errno != ENOENT)
            LK_WARN("cannot remove %s: %s (vacuum will)", full, strerror(errno));
    }
    lk_msg_files_clear(&s->out);
    s->rows = 0;
}

/* Forgets s; an unreported set's files are removed (no commit can name them). */
static void set_free(writer *wr, wset *s, const char *why)
{
    if (!s->closed) {
        if (why && (s->nof || s->out.n_files))
            LK_INFO("batch=%lld generation=%d: %d data file(s) dropped unreported: %s",
                    (long long)s->batch, s->gen, s->nof + s->out.n_files, why);
        set_reset(wr, s);
    }
    lk_msg_files_clear(&s->out);
    lk_buf_free(&s->sent);
    memset(s, 0, sizeof *s);
}

/* The set for (b, gen), created when needed. NULL when the chunk is stale:
   a later generation of b is held, or (b, gen) was already closed. */
static wset *set_for(writer *wr, int64_t b, int32_t gen)
{
    wset *found = NULL, *slot = NULL;
    for (int i = 0; i < MAX_SETS; i++) {
        wset *s = &wr->sets[i];
        if (!s->used) {
            if (!slot)
                slot = s;
            continue;
        }
        if (s->batch != b)
            continue;
        if (s->gen < gen) {
            set_free(wr, s, "a later generation of the batch arrived");
            if (!slot)
                slot = s;
        } else if (s->gen > gen || s->closed) {
            return NULL;
        } else {
            found = s;
        }
    }
    if (found)
        return found;
    if (!slot) {
        /* more batches than ever in flight: give up the oldest (its chunks are
           missing from its CLOSE report, so the committer has it replayed) */
        slot = &wr->sets[0];
        for (int i = 1; i < MAX_SETS; i++)
            if (wr->sets[i].batch < slot->batch)
                slot = &wr->sets[i];
        set_free(wr, slot, "too many batches open in this writer");
    }
    memset(slot, 0, sizeof *slot);
    slot->used = 1;
    slot->src_ti = -1;
    slot->batch = b;
    slot->gen = gen;
    slot->t0_us = lk_time_now_us();
    return slot;
}

/* The open file of s for table ti and partition dir whose rows have schema,
   opened when needed (a file of an older schema of the table is closed
   first). link: the file may take column chunks from the set's first
   table's (lk_pq_writer_reuse_from). NULL on error. */
static open_file *file_get(writer *wr, wset *s, int ti, const lk_schema *schema,
                           const lk_schema *data_schema, const char *dir, const char *values_json,
                           int32_t chunk_idx, int first_part)
{
    for (int i = 0; i < s->nof; i++) {
        open_file *f = &s->of[i];
        /* the values too, not the folder alone: "" and null share __HIVE_DEFAULT_PARTITION__
           (and two over-long values could share a shortened name), and a file has one
           partitionValues: one file would have given its rows the first value */
        if (f->table != ti || strcmp(f->dir, dir) ||
            strcmp(f->values_json ? f->values_json : "", values_json ? values_json : ""))
            continue;
        if (lk_schema_equal(f->schema, schema))
            return f;
        if (file_close(wr, s, i))
            return NULL;
        break;
    }
    if (s->nof == MAX_OPEN_FILES && file_close(wr, s, 0))
        return NULL;
    table_writer *t = &wr->tw[ti];
    open_file *f = &s->of[s->nof];
    memset(f, 0, sizeof *f);
    char uuid[40], full[4200];
    lk_fs_uuid4(uuid, sizeof uuid);
    int n = snprintf(f->rel, sizeof f->rel, "%s%spart-%05lld-%05d-%s.c000.%s.parquet", dir,
                     *dir ? "/" : "", (long long)s->batch, chunk_idx, uuid,
                     wr->opt.codec == LK_PQ_UNCOMPRESSED ? "uncompressed"
                                                         : lk_pq_codec_name(wr->opt.codec));
    if (n >= (int)sizeof f->rel || strlen(dir) >= sizeof f->dir) {
        lk_error_set(&wr->err, LK_ELIMIT, "partition path too long: %s", dir);
        return NULL;
    }
    if (*dir) {
        snprintf(full, sizeof full, "%s/%s", t->path, dir);
        if (lk_fs_mkdirs(full, &wr->err))
            return NULL;
    }
    snprintf(full, sizeof full, "%s/%s", t->path, f->rel);
    for (int k = 0; k < POOL && !f->pq; k++)
        if (t->idle[k] && lk_schema_equal(t->idle_schema[k], schema)) {
            f->pq = t->idle[k];
            t->idle[k] = NULL;
            lk_schema_destroy(&t->idle_schema[k]);
        }
    if (!f->pq)
        f->pq = lk_pq_writer_new(data_schema, &wr->opt);
    if (lk_pq_writer_open(f->pq, full, &wr->err)) {
        lk_pq_writer_destroy(&f->pq);
        return NULL;
    }
    f->table = ti;
    snprintf(f->dir, sizeof f->dir, "%s", dir);
    f->values_json = values_json ? strdup(values_json) : NULL;
    f->schema = lk_schema_clone(schema);
    s->nof++;
    /* processed_events holds most of raw_events' columns with the same
       values: its column chunks cut with raw_events' take the pages
       already encoded (lk_pq_writer_reuse_from); row groups are cut
       together (cut_row_groups) */
    if (!*dir && !first_part && wr->first_ti >= 0 && wr->first_ti != ti) {
        for (int i = 0; i < s->nof - 1; i++)
            if (s->of[i].table == wr->first_ti && !s->of[i].dir[0]) {
                lk_pq_writer_reuse_from(f->pq, s->of[i].pq);
                s->src_ti = wr->first_ti;
                break;
            }
    }
    return f;
}

/* Appends rows b to the open file of (table ti, dir) in s, rolling it at
   tables.target_file_size. */
static int append(writer *wr, wset *s, int ti, const lk_schema *schema, const lk_batch *b,
                  const char *dir, const char *values_json, int32_t chunk_idx, int first_part)
{
    open_file *f = file_get(wr, s, ti, schema, lk_batch_schema(b), dir, values_json, chunk_idx,
                            first_part);
    if (!f)
        return -1;
    if (lk_pq_writer_write(f->pq, b, &wr->err))
        return -1;
    f->rows += lk_batch_nrows(b);
    if (lk_pq_writer_full(f->pq))
        return file_close(wr, s, (int)(f - s->of));
    return 0;
}

/* Appends one table part of a chunk to the batch's files. */
static int write_part(writer *wr, wset *s, const lk_msg_part *part, int first_part)
{
    if (lk_batch_nrows(part->batch) == 0)
        return 0;
    table_writer *t = get_table(wr, part->table, lk_batch_schema(part->batch));
    if (!t)
        return -1;
    if (lk_fs_mkdirs(t->path, &wr->err))
        return -1;
    int ti = (int)(t - wr->tw), rc = 0;
    const lk_schema *schema = lk_batch_schema(part->batch);
    if (!t->part)
        return append(wr, s, ti, schema, part->batch, "", NULL, wr->rec.chunk_idx, first_part);
    int n = lk_partitioner_split(t->part, part->batch);
    for (int i = 0; i < n && !rc; i++)
        rc = append(wr, s, ti, schema, lk_partitioner_part(t->part, i),
                    lk_partitioner_dir(t->part, i), lk_partitioner_values_json(t->part, i),
                    wr->rec.chunk_idx, 0);
    return rc;
}

/* Cuts row groups of s at tables.row_group_bytes; all of them when force.
   The unpartitioned files of one set hold the same chunks: they are cut
   together, so that processed_events finds raw_events' column chunks. */
static int cut_row_groups(writer *wr, wset *s, int force)
{
    int together = 0;
    for (int i = 0; i < s->nof && !force; i++)
        if (!s->of[i].dir[0] && lk_pq_writer_buffered(s->of[i].pq) >= wr->row_group_bytes)
            together = 1;
    /* the source of reused column chunks first */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < s->nof; i++) {
            open_file *f = &s->of[i];
            if ((f->table == s->src_ti && !f->dir[0]) != (pass == 0))
                continue;
            if (force ||
                (f->dir[0] ? lk_pq_writer_buffered(f->pq) >= wr->row_group_bytes : together))
                if (lk_pq_writer_flush(f->pq, &wr->err))
                    return -1;
        }
    /* the linked files took what they could: the source's kept row group
       is no longer needed, and its buffers take the source's next one */
    if (together || force)
        for (int i = 0; i < s->nof; i++)
            if (s->of[i].table == s->src_ti && !s->of[i].dir[0])
                lk_pq_writer_release_kept(s->of[i].pq);
    return 0;
}

/* Sets of batches older than cur: their chunks have stopped coming (cur's came), and their
   files wait for the committer's "flush" (a round trip, or a commit of the batch before).
   Their row groups go to the files now and their buffers are given back, so that a writer
   holds the row groups of one batch at a time, not of every batch in flight (at 10 M rows of
   backlog three were, +32 MiB over the two writers). A late chunk of an older batch still
   goes to its files, as a row group of its own. A set that cannot be written (a full disk)
   is dropped: its chunks are missing from its CLOSE report and the committer has the batch
   replayed, as for any lost file. */
static void park_older(writer *wr, const wset *cur)
{
    for (int i = 0; i < MAX_SETS; i++) {
        wset *o = &wr->sets[i];
        if (!o->used || o->closed || o == cur || o->batch >= cur->batch || !o->nof)
            continue;
        int rc = lk_fault_check("writer.park"); /* EIO, ENOSPC: for the tests */
        if (rc < 0)
            lk_error_errno(&wr->err, rc, "batch=%lld (injected fault)", (long long)o->batch);
        else
            rc = cut_row_groups(wr, o, 1);
        for (int k = 0; k < o->nof && !rc; k++)
            rc = lk_pq_writer_trim(o->of[k].pq, &wr->err);
        if (!rc) {
            LK_DEBUG("batch=%lld generation=%d: row groups written, buffers given back (batch=%lld "
                     "is here)", (long long)o->batch, o->gen, (long long)cur->batch);
        } else {
            LK_WARN("batch=%lld generation=%d: cannot write its row groups while it waits for "
                    "its commit: %s; its %d chunk(s) here are dropped and the batch will be "
                    "replayed",
                    (long long)o->batch, o->gen, wr->err.msg, o->out.n_chunks);
            set_reset(wr, o);
        }
    }
}

/* The monitor's share of writing: the data files of one batch. */
static void report_write(writer *wr, const wset *s)
{
    lk_msg_progress p;
    memset(&p, 0, sizeof p);
    p.phase = LK_PHASE_WRITE;
    p.batch_id = s->batch;
    p.ts_us = lk_time_now_us();
    p.duration_us = p.ts_us - s->t0_us;
    p.rows = s->rows;
    p.files = s->out.n_files;
    for (int i = 0; i < s->out.n_files; i++)
        p.bytes += s->out.files[i].size;
    lk_worker_report(wr->w, &p);
}

static int send_msg(writer *wr, const lk_buf *b)
{
    return lk_zmq_send_blocking(wr->w, wr->out, b->data, b->len);
}

/* Closes every file of s and reports them (CLOSE). A set that cannot be
   closed is reported with no files and no chunks: the committer finds its
   chunks missing and has the batch replayed. */
static int close_set(writer *wr, wset *s)
{
    int rc = cut_row_groups(wr, s, 1);
    unlink_reuse(s);
    while (rc == 0 && s->nof)
        rc = file_close(wr, s, s->nof - 1);
    if (rc) {
        char why[1200];
        snprintf(why, sizeof why, "batch=%lld generation=%d: cannot write its data files: %s",
                 (long long)s->batch, s->gen, wr->err.msg);
        LK_ERROR("%s (the batch is replayed)", why);
        lk_worker_add(wr->w, "errors", 1);
        set_reset(wr, s);
        if (lk_worker_resource_error(wr->err.code)) {
            lk_worker_pause(wr->w, why);
            wr->close_failed = 1;
        }
    } else if (wr->close_failed) {
        wr->close_failed = 0;
        lk_worker_pause(wr->w, NULL);
    }
    s->out.batch_id = s->batch;
    s->out.chunk_idx = LK_CHUNK_IDX(s->gen, 0);
    s->out.kind = LK_FILES_CLOSE;
    s->out.session = wr->session;
    lk_buf_reset(&s->sent);
    lk_msg_files_encode(&s->out, &s->sent);
    if (rc == 0)
        report_write(wr, s);
    LK_DEBUG("closed batch=%lld generation=%d files=%d chunks=%d rows=%lld", (long long)s->batch,
             s->gen, s->out.n_files, s->out.n_chunks, (long long)s->rows);
    s->closed = 1;
    lk_msg_files_clear(&s->out);
    if (send_msg(wr, &s->sent))
        return -1;
    if (rc && wr->close_failed)
        lk_worker_sleep(wr->w, lk_worker_pause_delay_ms(wr->w));
    return 0;
}

/* "flush" {batch, gen}: the committer holds every chunk of the batch (any
   batch, not only the next to commit: files are closed while the batch
   before is being committed). "done" {batch}: everything up to batch is
   committed. */
static int on_control(writer *wr, const void *data, size_t len)
{
    lk_msg_event e;
    if (lk_msg_event_decode(data, len, &e, &wr->err)) {
        LK_WARN("dropped a malformed event from the committer: %s", wr->err.msg);
        return 0;
    }
    int flush = !strcmp(e.name, "flush");
    if (!flush && strcmp(e.name, "done"))
        return 0;
    int64_t b = lk_msg_event_get_int(&e, "batch", -1);
    int32_t gen = (int32_t)lk_msg_event_get_int(&e, "gen", 0);
    for (int i = 0; i < MAX_SETS; i++) {
        wset *s = &wr->sets[i];
        if (!s->used)
            continue;
        /* "done": the committer is past these (it commits batches in order) */
        if (!flush && s->batch <= b)
            set_free(wr, s, "the committer is past the batch");
        else if (flush && s->batch == b && s->gen == gen) {
            if (s->closed) {
                if (send_msg(wr, &s->sent))
                    return -1;
            } else if (close_set(wr, s)) {
                return -1;
            }
        }
    }
    return 0;
}

/* event_metrics' part is no data file: the chunk's partial window
   aggregates go to the committer inside the chunk's HOLD report, as a
   RECORDS message of that one part (docs/decisions.md, "Windowed
   aggregates"); transform.dedupe's key list travels the same way. */
static void forward_partial(writer *wr, const lk_msg_part *part, void **dst, size_t *dst_len)
{
    lk_msg_records one;
    memset(&one, 0, sizeof one);
    one.batch_id = wr->rec.batch_id;
    one.chunk_idx = wr->rec.chunk_idx;
    one.n_parts = 1;
    one.parts[0] = *part;
    lk_buf_reset(&wr->stats);
    lk_msg_records_encode(&one, &wr->stats);
    free(*dst);
    *dst = malloc(wr->stats.len);
    if (!*dst) abort();
    memcpy(*dst, wr->stats.data, wr->stats.len);
    *dst_len = wr->stats.len;
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
    int32_t gen = wr->rec.chunk_idx >> LK_CHUNK_GEN_SHIFT, k = wr->rec.chunk_idx & LK_CHUNK_K_MASK;
    wset *s = set_for(wr, wr->rec.batch_id, gen);
    if (!s) {
        LK_DEBUG("dropped chunk batch=%lld chunk=%d generation=%d: a later generation is held or "
                 "the batch is already closed",
                 (long long)wr->rec.batch_id, k, gen);
        lk_worker_add(wr->w, "stale_chunks", 1);
        return 0;
    }
    int64_t rows = 0;
    wr->first_ti = -1;
    if (wr->rec.n_parts && lk_batch_nrows(wr->rec.parts[0].batch)) {
        table_writer *t0 = get_table(wr, wr->rec.parts[0].table,
                                     lk_batch_schema(wr->rec.parts[0].batch));
        if (t0 && !t0->part)
            wr->first_ti = (int)(t0 - wr->tw);
    }
    /* A disk that fills (or fails) pauses the writer on this chunk. What the
       batch's files held is lost with them (set_reset): the CLOSE report
       then lacks those chunks and the committer has the batch replayed. */
    for (;;) {
        rows = 0;
        int failed = -1;
        for (int i = 0; i < wr->rec.n_parts && failed < 0; i++) {
            if (!strcmp(wr->rec.parts[i].table, LK_TABLE_METRICS)) {
                /* partial window aggregates: the committer merges them */
                forward_partial(wr, &wr->rec.parts[i], &wr->hold.partial, &wr->hold.partial_len);
                continue;
            }
            if (!strcmp(wr->rec.parts[i].table, LK_DEDUPE_PART)) {
                /* transform.dedupe's key list: the committer judges it */
                forward_partial(wr, &wr->rec.parts[i], &wr->hold.dedupe, &wr->hold.dedupe_len);
                continue;
            }
            if (write_part(wr, s, &wr->rec.parts[i], i == 0))
                failed = i;
            else
                rows += lk_batch_nrows(wr->rec.parts[i].batch);
        }
        if (failed < 0 && cut_row_groups(wr, s, 0))
            failed = 0;
        if (failed < 0)
            break;
        char why[1200];
        snprintf(why, sizeof why, "batch=%lld chunk=%d table=%s: cannot write a data file: %s",
                 (long long)wr->rec.batch_id, wr->rec.chunk_idx, wr->rec.parts[failed].table,
                 wr->err.msg);
        if (s->out.n_chunks)
            LK_WARN("batch=%lld generation=%d: %d chunk(s) this writer held are lost with its "
                    "files: the batch will be replayed",
                    (long long)s->batch, s->gen, s->out.n_chunks);
        set_reset(wr, s);
        if (wr->err.code == LK_ECONFIG) {
            /* a partition column that is not in the table: not worth a restart */
            LK_ERROR("%s", why);
            lk_msg_event e;
            lk_msg_event_init(&e, "fatal");
            lk_msg_event_set_str(&e, "role", "writer");
            lk_msg_event_set_str(&e, "error", wr->err.msg);
            lk_msg_event_set_int(&e, "config", 1);
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
    if (!wr->close_failed)
        lk_worker_pause(wr->w, NULL);
    park_older(wr, s);
    lk_msg_files_add_chunk(&s->out, k);
    s->rows += rows;
    lk_msg_files *h = &wr->hold;
    h->batch_id = wr->rec.batch_id;
    h->chunk_idx = wr->rec.chunk_idx;
    h->rows_in = wr->rec.rows_in;
    h->corrupt_rows = wr->rec.corrupt_rows;
    h->rescued_rows = wr->rec.rescued_rows;
    h->kind = LK_FILES_HOLD;
    h->session = wr->session;
    lk_buf_reset(&wr->msg);
    lk_msg_files_encode(h, &wr->msg);
    free(h->partial); /* encoded: the next chunk brings its own */
    h->partial = NULL;
    h->partial_len = 0;
    free(h->dedupe);
    h->dedupe = NULL;
    h->dedupe_len = 0;
    if (send_msg(wr, &wr->msg))
        return -1;
    lk_worker_add(wr->w, "chunks", 1);
    lk_worker_add(wr->w, "rows_in", rows);
    lk_worker_add(wr->w, "rows_out", rows);
    return 0;
}

/* One link per transform of the running configuration (workers.transform:
   the supervisor raises it before it starts new transforms, and lowers it
   once the ones scaled in have exited, so a link never misses a record). */
static void follow_transforms(writer *wr)
{
    char ep[1200];
    int n = wr->cfg->workers.transform;
    for (int i = 0; i < n; i++) {
        lk_worker_endpoint(wr->w, LK_EP_RECORDS, i, ep, sizeof ep);
        if (!lk_flow_in_has(wr->in, ep))
            lk_flow_in_connect(wr->in, ep);
    }
    for (int i = n; i < wr->links_for; i++) {
        lk_worker_endpoint(wr->w, LK_EP_RECORDS, i, ep, sizeof ep);
        lk_flow_in_close(wr->in, ep);
    }
    if (wr->links_for && n != wr->links_for)
        LK_INFO("following %d transform(s) (were %d)", n, wr->links_for);
    wr->links_for = n;
    wr->reloads = lk_worker_reloads(wr->w);
}

/* Remote transforms (workers.remote): the gateway binds records-<i>, i in
   LK_EP_REMOTE_FIRST..LAST, for each; a link follows each socket file that
   is there, and closes when it is gone (the host left: its batches replay). */
static void follow_remote(writer *wr)
{
    int64_t now = lk_time_mono_ms();
    if (now < wr->remote_check_ms)
        return;
    wr->remote_check_ms = now + 250;
    char ep[1200];
    for (int i = LK_EP_REMOTE_FIRST; i <= LK_EP_REMOTE_LAST; i++) {
        lk_worker_endpoint(wr->w, LK_EP_RECORDS, i, ep, sizeof ep);
        int there = lk_fs_exists(ep + 6); /* past "ipc://" */
        int linked = lk_flow_in_has(wr->in, ep);
        if (there && !linked) {
            LK_INFO("following remote transform %d", i);
            lk_flow_in_connect(wr->in, ep);
        } else if (!there && linked) {
            LK_INFO("remote transform %d is gone", i);
            lk_flow_in_close(wr->in, ep);
        }
    }
}

/* Paused by a close that failed, the writer resumes at its next successful
   close. When its batches were replayed to other writers it may hold nothing
   to close: it would stay paused although the disk is back. So, idle and
   paused, it tries the disk itself now and then: a small file written,
   fsynced and removed in raw_events' folder. */
static void probe_disk(writer *wr)
{
    for (int i = 0; i < MAX_SETS; i++)
        if (wr->sets[i].used && !wr->sets[i].closed)
            return; /* a set to close: its close decides */
    int64_t now = lk_time_mono_ms();
    if (now < wr->probe_at)
        return;
    wr->probe_at = now + lk_worker_pause_delay_ms(wr->w);
    char dir[2048], path[2200];
    lk_config_table_path(wr->cfg, LK_TABLE_RAW, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/.lakesupd-probe-%d.tmp", dir, (int)getpid());
    static const char block[4096];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int ok = fd >= 0 && lk_fs_write_all(fd, block, sizeof block) == 0 && fsync(fd) == 0;
    int e = errno;
    if (fd >= 0)
        close(fd);
    unlink(path);
    if (!ok) {
        LK_DEBUG("still paused: a probe write to %s failed: %s", dir, strerror(e));
        return;
    }
    wr->close_failed = 0;
    lk_worker_pause(wr->w, NULL);
}

static void on_turn(void *ctx)
{
    writer *wr = ctx;
    if (lk_worker_reloads(wr->w) != wr->reloads)
        follow_transforms(wr);
    if (wr->cfg->workers.remote.bind[0])
        follow_remote(wr);
    if (wr->close_failed)
        probe_disk(wr);
}

/* The committer's requests (flush, done) that arrived, without waiting. */
static int on_flush(void *ctx)
{
    writer *wr = ctx;
    int rc = 0;
    for (;;) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        int got = lk_zmq_recv(wr->sub, &msg, 0) == 0;
        if (got)
            rc = on_control(wr, zmq_msg_data(&msg), zmq_msg_size(&msg));
        zmq_msg_close(&msg);
        if (!got || rc)
            return rc ? 1 : 0;
    }
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
    wr->opt.zstd_adaptive = wr->cfg->tables.zstd_adaptive;
    wr->opt.target_file_bytes = (size_t)wr->cfg->tables.target_file_size;
    wr->row_group_bytes = (size_t)wr->cfg->tables.row_group_bytes;
    /* row groups are cut by cut_row_groups; the writer's own cut is a bound */
    wr->opt.row_group_bytes = 2 * wr->row_group_bytes;
    while (getrandom(&wr->session, sizeof wr->session, 0) != (ssize_t)sizeof wr->session ||
           wr->session == 0)
        ;
    char ep[1200];
    /* the transforms bind "records-N" and start after us (the links retry) */
    wr->in = lk_flow_in_new(w, 1);
    lk_flow_in_set_slabs(wr->in, wr->cfg->workers.shared_memory);
    wr->links_for = 0;
    follow_transforms(wr);
    wr->out = zsock_new(ZMQ_PUSH);
    zsock_set_sndhwm(wr->out, 1000);
    zsock_set_linger(wr->out, 2000);
    lk_worker_endpoint(w, LK_EP_COMMITTER, -1, ep, sizeof ep);
    zsock_connect(wr->out, "%s", ep);
    /* the committer's "flush" and "done" (it starts before the writers) */
    wr->sub = zsock_new(ZMQ_SUB);
    zsock_set_subscribe(wr->sub, "");
    zsock_set_rcvhwm(wr->sub, 10000);
    lk_worker_endpoint(w, LK_EP_FLUSH, -1, ep, sizeof ep);
    zsock_connect(wr->sub, "%s", ep);
    lk_worker_ready(w);
    /* the committer's "flush" is polled with the links: a batch it waits for
       is closed before the next chunk is taken */
    lk_flow_handlers h = {process, wr->sub, on_flush, on_turn};
    int rc = lk_flow_in_loop(wr->in, &h, wr);
    /* Stopping: the committer (stopped after us) may still ask for a batch
       this writer holds; serve its "flush" for a moment, then give up what
       is open (the batch is replayed at the next start). A writer scaled in
       while the pipeline runs waits for its batches to complete (up to
       stop_timeout), so that they commit without a replay. */
    int64_t window = lk_worker_retiring(w) ? wr->cfg->stop_timeout_ms : DRAIN_MS;
    for (int64_t until = lk_time_mono_ms() + window; rc == 0 && lk_time_mono_ms() < until;) {
        int open = 0;
        for (int i = 0; i < MAX_SETS; i++)
            open |= wr->sets[i].used && !wr->sets[i].closed;
        if (!open)
            break;
        lk_worker_tick(w);
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (lk_zmq_recv(wr->sub, &msg, 50) == 0)
            rc = on_control(wr, zmq_msg_data(&msg), zmq_msg_size(&msg)) ? 1 : 0;
        zmq_msg_close(&msg);
    }
    for (int i = 0; i < MAX_SETS; i++)
        if (wr->sets[i].used)
            set_free(wr, &wr->sets[i], "the writer stops");
    for (int i = 0; i < wr->ntw; i++) {
        lk_partitioner_destroy(&wr->tw[i].part);
        lk_schema_destroy(&wr->tw[i].schema);
        for (int k = 0; k < POOL; k++) {
            lk_pq_writer_destroy(&wr->tw[i].idle[k]);
            lk_schema_destroy(&wr->tw[i].idle_schema[k]);
        }
    }
    lk_msg_records_clear(&wr->rec);
    lk_msg_files_clear(&wr->hold);
    lk_flow_in_destroy(&wr->in);
    zsock_destroy(&wr->out);
    zsock_destroy(&wr->sub);
    lk_buf_free(&wr->msg);
    lk_buf_free(&wr->stats);
    return rc;
}
