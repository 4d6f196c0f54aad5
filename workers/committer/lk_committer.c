/*
 * lk_committer — the one process that commits to the Delta tables.
 *
 * Writers report each chunk they hold in the open files of its batch
 * (FILES kind HOLD); ingest reports how many chunks a batch has (sealed).
 * When every chunk of the next batch is held, the committer publishes
 * "flush" to the writers, which close the batch's files and report them
 * with the chunks they hold (kind CLOSE); once every holder has, it commits
 * each table once for that batch, in batch order, with txn(appId = the
 * pipeline's query id, version = batch), then records the commit in
 * state.db, publishes "done" and tells ingest.
 *
 * Exactly once rests here (docs/architecture.md, "Exactly once"):
 *  - a duplicate chunk report (a replay) is dropped and its files deleted:
 *    no commit references them;
 *  - a batch is committed from the files of one generation whose CLOSE
 *    reports cover every chunk exactly once, each by the writer session
 *    that held it; otherwise (a writer lost its files) they are deleted and
 *    ingest replays the batch as a new generation. Files of a CLOSE for a
 *    batch already committed are never deleted here (a repeated report of
 *    committed files): vacuum removes what no version references;
 *  - before committing table T for batch b it checks T's latest txn for
 *    the appId: if it is >= b the batch is already in T (we died after the
 *    Delta commit) and is not committed again — the table, not state.db,
 *    is the truth;
 *  - batches are committed strictly in order, because a txn version says
 *    "everything up to here is in".
 * At start it reconciles state.db with the tables' txns.
 */
#include "lk_committer.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lk_delta.h"
#include "lk_delta_optimize.h"
#include "lk_exit.h"
#include "lk_child.h"
#include "lk_fault.h"
#include "lk_fs.h"
#include "lk_dedupe_commit.h"
#include "lk_gold.h"
#include "lk_gold_commit.h"
#include "lk_log.h"
#include "lk_state.h"
#include "lk_tables.h"
#include "lk_json.h"
#include "lk_kafka_record.h"
#include <yajl/yajl_tree.h>
#include "lk_time.h"

#define MAX_PENDING 64
#define RETRY_MS 1000
#define MAX_DEFERRED 1024 /* reports about the batch being committed, held until it is */
#define FLUSH_MS 250 /* "flush" is published again while a holder has not reported */


typedef struct pending {
    int64_t batch_id;
    int32_t n_chunks; /* -1 until sealed */
    int32_t gen;      /* the generation held: chunks of older ones are dropped */
    int32_t cap, have;
    lk_msg_files *chunks; /* by chunk index (HOLD reports); batch_id < 0 = not reported */
    int64_t first_seen_ms;
    int n_closes;
    lk_msg_files *closes; /* CLOSE reports of this generation, one per writer session */
    int64_t flush_ms;     /* when "flush" was last published, 0 = never */
    int failed;           /* the CLOSE reports lost chunks: waiting for the replay */
    int dedupe_replays;   /* transform.dedupe replays of this batch (each must make progress) */
} pending;

typedef struct committer {
    lk_worker *w;
    const lk_config *cfg;
    lk_state *st;
    zsock_t *in, *to_ingest, *pub;
    char app_id[64];
    int ntables; /* lk_tables_names: raw, processed, derived tables, quarantine */
    const char *names[LK_TABLES_MAX];
    lk_delta_table *tables[LK_TABLES_MAX];
    char table_path[LK_TABLES_MAX][2048];
    pending pend[MAX_PENDING];
    int npend;
    int64_t next_batch;
    int64_t retry_at_ms;
    int group;    /* source.group_id: several instances share Kafka partitions */
    int shared;   /* other instances write these tables too (a group, or shards) */
    int conflict; /* the last commit attempt found its offsets taken: tell ingest */
    lk_msg_files files;
    lk_buf deferred[MAX_DEFERRED];
    int ndeferred;
    lk_msg_progress report; /* the monitor's commit report of the batch */
    int small_files[LK_TABLES_MAX]; /* small files committed since the table's last compaction */
    int recount[LK_TABLES_MAX];     /* at start: count the table's small files (a child) */
    pid_t compact_pid;              /* the running compaction (a child), 0 when none */
    char exe[4096];                 /* this program (the compaction's) */
    int compact_out;                /* the running compaction's standard output, or -1 */
    int compact_table;
    int64_t compact_t0_ms;
    lk_buf buf;
    int metrics_t;         /* event_metrics' index in names, or -1 */
    lk_gold_commit *gold;  /* its window state */
    lk_dedupe_commit *dedupe; /* transform.dedupe's decisions and state, or NULL */
    lk_tables *compiled;   /* the tables for raw_events' schema compiled_v (chunk partials) */
    int compiled_v;
    int config_error; /* a commit found the configuration unusable (reported fatal) */
    lk_error err;
} committer;

static int table_index(const committer *c, const char *name)
{
    for (int i = 0; i < c->ntables; i++)
        if (!strcmp(c->names[i], name))
            return i;
    return -1;
}

/* A file auto-compaction counts as small: below half the target size. */
static int small_file(const lk_config *cfg, int64_t size)
{
    return size < cfg->tables.target_file_size / 2;
}

/* Deletes f's files, except (b >= 0) those of a table that already holds
   batch b (its txn): they may be the ones that table references. */
static void delete_files_except(committer *c, const lk_msg_files *f, const char *why, int64_t b)
{
    for (int i = 0; i < f->n_files; i++) {
        int t = table_index(c, f->files[i].table);
        if (t < 0)
            continue;
        if (b >= 0 && lk_delta_txn_version(c->tables[t], c->app_id) >= b) {
            LK_INFO("batch=%lld: kept %s of a %s: table %s already holds the batch", (long long)b,
                    f->files[i].path, why, c->names[t]);
            continue;
        }
        char p[2600];
        snprintf(p, sizeof p, "%s/%s", c->table_path[t], f->files[i].path);
        if (unlink(p) == 0)
            LK_DEBUG("deleted %s file=%s", why, p);
    }
}

static void delete_files(committer *c, const lk_msg_files *f, const char *why)
{
    delete_files_except(c, f, why, -1);
}

static pending *find_pending(committer *c, int64_t b, int create)
{
    for (int i = 0; i < c->npend; i++)
        if (c->pend[i].batch_id == b)
            return &c->pend[i];
    if (!create || c->npend == MAX_PENDING)
        return NULL;
    pending *p = &c->pend[c->npend++];
    memset(p, 0, sizeof *p);
    p->batch_id = b;
    p->n_chunks = -1;
    p->first_seen_ms = lk_time_mono_ms();
    /* the batch may have been sealed before we (re)started */
    lk_state_batch sb;
    if (lk_state_batch_get(c->st, b, &sb, &c->err) == 0) {
        p->gen = sb.gen;
        if (sb.n_chunks >= 0)
            p->n_chunks = sb.n_chunks;
    }
    return p;
}

static void drop_closes(committer *c, pending *p, const char *why)
{
    for (int i = 0; i < p->n_closes; i++) {
        if (why)
            delete_files(c, &p->closes[i], why);
        lk_msg_files_clear(&p->closes[i]);
    }
    free(p->closes);
    p->closes = NULL;
    p->n_closes = 0;
    p->flush_ms = 0;
}

/* A newer generation of the batch supersedes everything held of it, but a
   batch committed to some tables when a replay arrives (the committer paused
   between two tables, or before recording the commit in state.db) keeps the
   files those tables reference; the other tables commit the new generation's
   copies of the same rows. */
static void new_generation(committer *c, pending *p, int32_t gen)
{
    int dropped = 0;
    for (int i = 0; i < p->n_closes; i++)
        delete_files_except(c, &p->closes[i], "superseded generation", p->batch_id);
    drop_closes(c, p, NULL);
    p->failed = 0;
    for (int i = 0; i < p->cap; i++) {
        if (p->chunks[i].batch_id >= 0) {
            delete_files_except(c, &p->chunks[i], "superseded generation", p->batch_id);
            dropped++;
        }
        lk_msg_files_clear(&p->chunks[i]);
        p->chunks[i].batch_id = -1;
    }
    LK_WARN("batch=%lld re-planned as generation %d: %d chunk(s) of generation %d dropped",
            (long long)p->batch_id, gen, dropped, p->gen);
    p->gen = gen;
    p->have = 0;
    p->n_chunks = -1;
    if (c->gold) lk_gold_commit_forget(c->gold);
}

/* event_metrics' configuration compiled for the latest raw_events schema
   (cached by version), or NULL (logged). */
static const lk_gold *current_gold(committer *c)
{
    int v = 0;
    lk_schema *raw = NULL;
    if (lk_state_schema_get(c->st, LK_TABLE_RAW, &raw, &v, &c->err) || !raw) {
        LK_WARN("event_metrics: no raw_events schema to read a partial with: %s", c->err.msg);
        return NULL;
    }
    if (!c->compiled || v != c->compiled_v) {
        lk_tables_destroy(&c->compiled);
        if (lk_tables_new(c->cfg, raw, &c->compiled, &c->err)) {
            LK_ERROR("event_metrics: %s", c->err.msg);
            lk_schema_destroy(&raw);
            return NULL;
        }
        c->compiled_v = v;
    }
    lk_schema_destroy(&raw);
    return lk_tables_metrics(c->compiled);
}

static void drop_pending(committer *c, pending *p)
{
    for (int i = 0; i < p->cap; i++)
        lk_msg_files_clear(&p->chunks[i]);
    free(p->chunks);
    drop_closes(c, p, NULL);
    *p = c->pend[--c->npend];
}

static void publish(committer *c, const char *name, int64_t b, int32_t gen)
{
    lk_msg_event e;
    lk_msg_event_init(&e, name);
    lk_msg_event_set_int(&e, "batch", b);
    lk_msg_event_set_int(&e, "gen", gen);
    lk_buf_reset(&c->buf);
    lk_msg_event_encode(&e, &c->buf);
    lk_zmq_send(c->pub, c->buf.data, c->buf.len, ZMQ_DONTWAIT);
}

/* Asks the writers for p's files as soon as every chunk of it is held,
   whether or not it is the next batch to commit: they close them while the
   committer commits the batches before (closes_ready asks again). */
static void maybe_flush(committer *c, pending *p)
{
    if (p->n_chunks < 0 || p->have < p->n_chunks || p->flush_ms || p->failed)
        return;
    lk_fault_check("committer.flush"); /* sleep<MS>: files wait longer for it, for the tests */
    publish(c, "flush", p->batch_id, p->gen);
    p->flush_ms = lk_time_mono_ms();
}

/* A writer's CLOSE: the files of its session for one generation of a batch. */
static void on_close(committer *c)
{
    lk_msg_files *f = &c->files;
    if (f->batch_id < c->next_batch)
        return; /* a repeated report of committed files, or a superseded attempt: vacuum's */
    pending *p = find_pending(c, f->batch_id, 1);
    if (!p) {
        delete_files(c, f, "unaccepted");
        return;
    }
    int32_t gen = f->chunk_idx >> LK_CHUNK_GEN_SHIFT;
    if (gen < p->gen) {
        delete_files(c, f, "earlier generation");
        return;
    }
    if (gen > p->gen)
        new_generation(c, p, gen);
    for (int i = 0; i < p->n_closes; i++)
        if (p->closes[i].session == f->session)
            return; /* the same report again (the flush was repeated) */
    lk_msg_files *nc = realloc(p->closes, (size_t)(p->n_closes + 1) * sizeof *nc);
    if (!nc)
        abort();
    p->closes = nc;
    p->closes[p->n_closes++] = *f;
    memset(f, 0, sizeof *f);
}

static void on_files(committer *c)
{
    lk_msg_files *f = &c->files;
    if (f->kind == LK_FILES_CLOSE) {
        on_close(c);
        return;
    }
    if (f->kind != LK_FILES_HOLD) {
        LK_WARN("dropped a files report of an older writer (batch=%lld chunk=%d): it is replayed",
                (long long)f->batch_id, f->chunk_idx);
        delete_files(c, f, "old-style report");
        return;
    }
    if (f->batch_id < c->next_batch) {
        delete_files(c, f, "late duplicate");
        lk_worker_add(c->w, "duplicates", 1);
        return;
    }
    pending *p = find_pending(c, f->batch_id, 1);
    if (!p) {
        LK_WARN("too many batches pending; dropping chunk report batch=%lld chunk=%d "
                "(it is replayed)",
                (long long)f->batch_id, f->chunk_idx);
        delete_files(c, f, "unaccepted");
        return;
    }
    if (f->chunk_idx < 0)
        return;
    int32_t gen = f->chunk_idx >> LK_CHUNK_GEN_SHIFT, k = f->chunk_idx & LK_CHUNK_K_MASK;
    if (gen < p->gen) {
        delete_files(c, f, "earlier generation");
        lk_worker_add(c->w, "duplicates", 1);
        return;
    }
    if (gen > p->gen)
        new_generation(c, p, gen);
    if (k >= p->cap) {
        int32_t cap = p->cap ? p->cap : 16;
        while (cap <= k)
            cap *= 2;
        p->chunks = realloc(p->chunks, (size_t)cap * sizeof *p->chunks);
        if (!p->chunks)
            abort();
        for (int32_t i = p->cap; i < cap; i++) {
            memset(&p->chunks[i], 0, sizeof p->chunks[i]);
            p->chunks[i].batch_id = -1;
        }
        p->cap = cap;
    }
    if (p->chunks[k].batch_id >= 0) {
        if (p->chunks[k].session != f->session)
            LK_WARN("batch=%lld chunk=%d generation=%d held by two writers: the batch will be "
                    "replayed if both report it", (long long)f->batch_id, k, gen);
        delete_files(c, f, "duplicate chunk");
        lk_worker_add(c->w, "duplicates", 1);
        return;
    }
    /* take ownership of the decoded struct (its stats strings) */
    p->chunks[k] = *f;
    memset(f, 0, sizeof *f);
    p->have++;
    if (c->metrics_t >= 0 && p->batch_id == c->next_batch) {
        /* the partial goes to the window state's accumulator (merged in chunk
           order); a later batch's waits here until it is the next (commit_batch) */
        lk_msg_files *m = &p->chunks[k];
        const lk_gold *g = current_gold(c);
        if (g && lk_gold_commit_offer(c->gold, g, p->batch_id, gen, k, m->partial, m->partial_len,
                                      &c->err))
            LK_ERROR("batch=%lld chunk=%d: %s", (long long)p->batch_id, k, c->err.msg);
        if (g) {
            m->partial = NULL;
            m->partial_len = 0;
        }
    }
    maybe_flush(c, p);
}

static void notify_ingest(committer *c, int64_t b)
{
    lk_msg_event e;
    lk_msg_event_init(&e, "committed");
    lk_msg_event_set_int(&e, "batch", b);
    lk_buf_reset(&c->buf);
    lk_msg_event_encode(&e, &c->buf);
    lk_zmq_send(c->to_ingest, c->buf.data, c->buf.len, ZMQ_DONTWAIT);
}

static void publish_tables(committer *c)
{
    char key[64];
    for (int t = 0; t < c->ntables; t++) {
        snprintf(key, sizeof key, "%s.version", c->names[t]);
        lk_worker_set(c->w, key, lk_delta_version(c->tables[t]));
        snprintf(key, sizeof key, "%s.rows", c->names[t]);
        lk_worker_set(c->w, key, lk_delta_num_records(c->tables[t]));
    }
}

/* The schema each table should have now: raw_events' latest in state.db,
   the others compiled from it through their transforms. */
static int table_schemas(committer *c, lk_schema **schemas, lk_tables **keep)
{
    int v = 0;
    lk_schema *raw = NULL;
    if (lk_state_schema_get(c->st, LK_TABLE_RAW, &raw, &v, &c->err))
        return -1;
    if (!raw)
        return lk_error_set(&c->err, LK_ESTATE, "no raw_events schema in state.db");
    lk_tables *t = NULL;
    int rc = lk_tables_new(c->cfg, raw, &t, &c->err);
    lk_schema_destroy(&raw);
    if (rc)
        return rc;
    for (int i = 0; i < c->ntables; i++)
        schemas[i] = lk_schema_clone(lk_tables_schema(t, i));
    if (keep)
        *keep = t;
    else
        lk_tables_destroy(&t);
    return 0;
}

/* One line per table whose schema a commit changes (metaData action):
   the columns added, and the schema_changes counter. */
static void log_schema_change(committer *c, const char *table, int64_t b, const lk_schema *cur,
                              const lk_schema *next)
{
    lk_buf added = LK_BUF_INIT;
    for (int i = 0; i < lk_schema_nfields(next); i++) {
        const lk_field *f = lk_schema_field(next, i);
        int k = lk_schema_find(cur, f->name);
        if (k < 0)
            lk_buf_printf(&added, "%s%s %s", added.len ? ", " : "", f->name,
                          lk_type_name(f->type));
        else if (!lk_field_equal(lk_schema_field(cur, k), f))
            lk_buf_printf(&added, "%s%s (changed)", added.len ? ", " : "", f->name);
    }
    LK_INFO("schema change: table=%s batch=%lld commits a new metaData: %s", table, (long long)b,
            added.len ? added.data : "(column order or metadata)");
    lk_buf_free(&added);
    lk_worker_add(c->w, "schema_changes", 1);
}

/* Per-file rows / corrupt / rescued of a committed batch, for `source list`
   (informational: a failure is a warning). */
static void record_file_counts(committer *c, const pending *p)
{
    lk_state_file_span *sp = NULL;
    int n = 0;
    lk_error err = {0};
    int rc = lk_state_file_spans_get(c->st, p->batch_id, p->gen, &sp, &n, &err);
    lk_state_file_count *v = rc == 0 && n ? calloc((size_t)n, sizeof *v) : NULL;
    for (int i = 0; v && i < n; i++) {
        v[i].file_id = sp[i].file_id;
        for (int k = sp[i].first_chunk; k < sp[i].first_chunk + sp[i].n_chunks; k++) {
            if (k < 0 || k >= p->n_chunks)
                continue;
            v[i].rows += p->chunks[k].rows_in;
            v[i].corrupt += p->chunks[k].corrupt_rows;
            v[i].rescued += p->chunks[k].rescued_rows;
        }
    }
    if (v)
        rc = lk_state_file_counts_put(c->st, p->batch_id, v, n, &err);
    if (rc)
        LK_WARN("batch=%lld: per-file counts not recorded: %s", (long long)p->batch_id, err.msg);
    free(v);
    free(sp);
}

/*
 * Consumer groups (docs/decisions.md, "Kafka consumer groups"): each table
 * holds, per partition, a txn whose version is the next offset of that
 * partition in that table. A batch may add its range [s, e) of partition p
 * to table T only if T's txn for p is exactly s (or T has none: p was never
 * committed), and the commit moves it to e in the same atomic log entry:
 * so the ranges committed of p form one chain without gap or overlap,
 * whichever instance commits each, and two instances that both planned from
 * s cannot both succeed (the loser's commit sees the winner's txn for the
 * same appId as a conflict and re-reads). Returns for table t: 0 commit
 * (every range starts where T is), 1 nothing to add (T is past every range:
 * another instance committed them), -1 a conflict (why says which).
 */
static int partitions_in(committer *c, int t, const lk_state_range *r, int n, char *why,
                         size_t cap)
{
    int at = 0, past = 0;
    for (int i = 0; i < n; i++) {
        char app[400];
        lk_kafka_record_txn_app(r[i].path, app, sizeof app);
        int64_t v = lk_delta_txn_version(c->tables[t], app);
        if (v == r[i].start || (v < 0 && !past))
            at++;
        else if (v >= r[i].end)
            past++;
        else {
            snprintf(why, cap, "%s offsets [%lld, %lld) but table %s is at %lld", r[i].path,
                     (long long)r[i].start, (long long)r[i].end, c->names[t],
                     (long long)v);
            return -1;
        }
    }
    if (past && at) {
        snprintf(why, cap, "some of its partitions are already in table %s, others not",
                 c->names[t]);
        return -1;
    }
    return past ? 1 : 0;
}

/* The Kafka ranges of batch b (group mode), malloc'ed. */
static int kafka_ranges(committer *c, int64_t b, lk_state_range **out, int *n)
{
    *out = NULL;
    *n = 0;
    if (!c->group)
        return 0;
    if (lk_state_batch_ranges(c->st, b, out, n, &c->err))
        return -1;
    int k = 0;
    for (int i = 0; i < *n; i++)
        if (!strncmp((*out)[i].path, LK_KAFKA_PREFIX, strlen(LK_KAFKA_PREFIX)))
            (*out)[k++] = (*out)[i];
    *n = k;
    return 0;
}

/* Shared tables: our schema is committed only when it has a column, or a struct child, the
   table lacks (another instance may have widened it further: never narrow it, nor reorder it). */
static int schema_covers(const lk_schema *table, const lk_schema *ours)
{
    for (int i = 0; i < lk_schema_nfields(ours); i++) {
        const lk_field *f = lk_schema_field(ours, i);
        int k = lk_schema_find(table, f->name);
        if (k < 0 || !lk_field_covers(lk_schema_field(table, k), f))
            return 0;
    }
    return 1;
}

/* event_metrics' line and counters of a committed batch. */
static void log_gold(committer *c, int64_t b)
{
    lk_gold_commit *g = c->gold;
    char wm[40] = "none";
    int64_t w = lk_gold_commit_watermark(g);
    if (w != INT64_MIN) lk_time_format_iso_ms(w, wm, sizeof wm);
    LK_INFO("event_metrics batch=%lld watermark=%s windows_closed=%lld windows_open=%lld "
            "late=%lld no_event_time=%lld state_bytes=%lld",
            (long long)b, wm, (long long)lk_gold_commit_closed(g),
            (long long)lk_gold_commit_open(g), (long long)lk_gold_commit_late(g),
            (long long)lk_gold_commit_no_event_time(g), (long long)lk_gold_commit_state_bytes(g));
    lk_worker_set(c->w, "window_state_bytes", lk_gold_commit_state_bytes(g));
    lk_worker_add(c->w, "late_rows", lk_gold_commit_late(g));
    lk_worker_add(c->w, "no_event_time_rows", lk_gold_commit_no_event_time(g));
    lk_worker_add(c->w, "windows_closed", lk_gold_commit_closed(g));
    lk_worker_set(c->w, "windows_open", lk_gold_commit_open(g));
    if (w != INT64_MIN) lk_worker_set(c->w, "watermark_ms", w / 1000);
}

static void on_event(committer *c, const void *data, size_t len);

/* One message on the committer's socket. While batch busy is being
   committed (busy >= 0), a message about it waits (deferred) until the
   commit is over; the others are handled at once. */
static void handle_message(committer *c, const void *d, size_t n, int64_t busy)
{
    lk_msg_type type;
    if (lk_msg_peek(d, n, &type, &c->err)) {
        LK_WARN("dropped a malformed message: %s", c->err.msg);
        return;
    }
    int64_t b = -1;
    if (type == LK_MSG_FILES) {
        if (lk_msg_files_decode(d, n, &c->files, &c->err)) {
            LK_WARN("dropped a malformed files message: %s", c->err.msg);
            return;
        }
        b = c->files.batch_id;
        if (busy < 0 || b != busy)
            on_files(c);
        lk_msg_files_clear(&c->files);
    } else if (type == LK_MSG_EVENT) {
        lk_msg_event e;
        if (busy >= 0 && lk_msg_event_decode(d, n, &e, &c->err) == 0)
            b = lk_msg_event_get_int(&e, "batch", -1);
        if (busy < 0 || b != busy)
            on_event(c, d, n);
    }
    if (busy >= 0 && b == busy) {
        if (c->ndeferred == MAX_DEFERRED) {
            LK_WARN("batch=%lld: more than %d reports arrived during its commit: one is dropped "
                    "(the batch's deadline replays it if it was needed)",
                    (long long)busy, MAX_DEFERRED);
            return;
        }
        lk_buf *q = &c->deferred[c->ndeferred++];
        lk_buf_reset(q);
        lk_buf_append(q, d, n);
    }
}

/* The messages that waited for a commit to end. */
static void run_deferred(committer *c)
{
    for (int i = 0; i < c->ndeferred; i++)
        handle_message(c, c->deferred[i].data, c->deferred[i].len, -1);
    c->ndeferred = 0;
}

/* Takes what arrived while batch busy is being committed: a later batch
   whose chunks are all held gets its "flush" now, so that its files are
   written while this one commits (the pipeline keeps writing and
   committing in parallel). */
static void drain_inbox(committer *c, int64_t busy)
{
    while (c->ndeferred < MAX_DEFERRED) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        int r = lk_zmq_recv(c->in, &msg, 0);
        if (r == 0)
            handle_message(c, zmq_msg_data(&msg), zmq_msg_size(&msg), busy);
        zmq_msg_close(&msg);
        if (r)
            return;
    }
}

static int commit_batch(committer *c, pending *p)
{
    int64_t b = p->batch_id, t0 = lk_time_mono_ms(), t0_us = lk_time_now_us();
    lk_schema *schemas[LK_TABLES_MAX] = {NULL};
    lk_msg_progress *rep = &c->report;
    memset(rep, 0, sizeof *rep);
    int fault = lk_fault_check("committer.commit");
    if (fault < 0)
        return lk_error_errno(&c->err, fault, "commit of batch %lld (injected fault)", (long long)b);
    lk_tables *compiled = NULL;
    int rc = table_schemas(c, schemas, &compiled);
    if (rc == 0 && c->metrics_t >= 0) {
        /* partials that arrived before their batch was the next one */
        const lk_gold *g = current_gold(c);
        for (int i = 0; g && i < p->n_chunks && rc == 0; i++) {
            lk_msg_files *m = &p->chunks[i];
            if (!m->partial) continue;
            rc = lk_gold_commit_offer(c->gold, g, b, p->gen, i, m->partial, m->partial_len, &c->err);
            m->partial = NULL;
            m->partial_len = 0;
        }
    }
    if (rc == 0 && c->metrics_t >= 0) {
        int have = lk_delta_txn_version(c->tables[c->metrics_t], c->app_id) >= b;
        rc = lk_gold_commit_prepare(c->gold, lk_tables_metrics(compiled), b, p->chunks,
                                    p->n_chunks, !have, &c->err);
    }
    lk_tables_destroy(&compiled);
    int64_t rows_in = 0, corrupt = 0, rescued = 0;
    for (int i = 0; i < p->n_chunks; i++) {
        rows_in += p->chunks[i].rows_in;
        corrupt += p->chunks[i].corrupt_rows;
        rescued += p->chunks[i].rescued_rows;
    }
    char epoch[32];
    snprintf(epoch, sizeof epoch, "%lld", (long long)b);
    lk_state_range *kr = NULL;
    int nkr = 0, skip[LK_TABLES_MAX] = {0};
    /* other instances commit too: see their versions before deciding */
    for (int t = 0; t < c->ntables && rc == 0 && c->shared; t++)
        rc = lk_delta_refresh(c->tables[t], &c->err);
    if (rc == 0)
        rc = kafka_ranges(c, b, &kr, &nkr);
    /* every table is checked before any is committed: a batch whose offsets
       another instance took is re-planned whole, not half committed */
    for (int t = 0; t < c->ntables && rc == 0 && c->group; t++) {
        char why[600];
        if (lk_delta_txn_version(c->tables[t], c->app_id) >= b)
            continue;
        int pc = partitions_in(c, t, kr, nkr, why, sizeof why);
        if (pc < 0) {
            c->conflict = 1;
            rc = lk_error_set(&c->err, LK_ECONFLICT,
                              "batch=%lld: %s (another instance of the consumer group committed "
                              "them): it is re-planned",
                              (long long)b, why);
        }
        skip[t] = pc == 1;
    }
    /* no column of a table the transforms make changes type (its files could not be read as
       the new one): checked, where this batch would commit a new schema, for every table before
       any is committed; the batch stays pending and the pipeline stops with the configuration
       error, as start's check (lk_tables_check_types) would have. raw_events' types come from
       inference, not from the configuration, and instances that share tables (a group, shards)
       infer their own: those are left as they were (docs/decisions.md) */
    for (int t = 0; t < c->ntables && rc == 0 && !c->shared; t++) {
        const lk_schema *cur = lk_delta_schema(c->tables[t]);
        if (cur && strcmp(c->names[t], LK_TABLE_RAW) && strcmp(c->names[t], LK_TABLE_QUARANTINE) &&
            lk_delta_txn_version(c->tables[t], c->app_id) < b && !lk_schema_equal(cur, schemas[t]))
            rc = lk_tables_kept_types(c->cfg, c->names[t], t == c->metrics_t, cur, schemas[t],
                                      &c->err);
    }
    /* a table is created with its partition columns among its columns, or not at all: a first
       batch without data columns (a first file of corrupt lines only) gave the writer no row to
       find the missing one in (pipeline/lk_tables.c checks at start what it can) */
    for (int t = 0; t < c->ntables && rc == 0; t++) {
        const char *missing = lk_delta_schema(c->tables[t])
                                  ? NULL
                                  : lk_tables_partition_missing(c->cfg, c->names[t], schemas[t]);
        char at[1100]; /* a file name (at most 1,023 bytes), ":" and a line */
        if (missing)
            rc = lk_error_set(
                &c->err, LK_ECONFIG,
                "%s: key 'tables.%s.partition_by': column '%s' is not a column of %s's first "
                "batch: the table is not created",
                lk_config_at(c->cfg, lk_config_partition_by(c->cfg, c->names[t])->line, at,
                             sizeof at),
                c->names[t], missing, c->names[t]);
    }
    /* each table's schema after the batch, for every table before any is committed: a struct
       child whose type differs from the table's (instances that infer their own raw types, a
       restart over tables another configuration wrote) refuses the batch as a configuration
       error, as a changed column does above; it stays pending */
    lk_schema *merged[LK_TABLES_MAX] = {NULL};
    for (int t = 0; t < c->ntables && rc == 0; t++) {
        const lk_schema *cur = lk_delta_schema(c->tables[t]);
        if (!cur || skip[t] || lk_delta_txn_version(c->tables[t], c->app_id) >= b ||
            (c->shared && schema_covers(cur, schemas[t])))
            continue;
        lk_error e = {0};
        merged[t] = lk_schema_union(cur, schemas[t], &e);
        if (!merged[t])
            rc = lk_error_set(&c->err, e.code, "%s: %s. Give it the table's type: %s", c->names[t],
                              e.msg,
                              strcmp(c->names[t], LK_TABLE_RAW)
                                  ? "a cast in the table's transforms"
                                  : "declare it in source.schema_hints (each instance infers the "
                                    "types of its own data)");
    }
    for (int t = 0; t < c->ntables && rc == 0; t++) {
        drain_inbox(c, b);
        lk_msg_table_out *out = &rep->tables[rep->n_tables++];
        snprintf(out->table, sizeof out->table, "%s", c->names[t]);
        out->version = lk_delta_version(c->tables[t]);
        if (lk_delta_txn_version(c->tables[t], c->app_id) >= b) {
            /* Its files here are either the ones committed (a retry in this
               process) or a replay's unreferenced copies: never delete them
               here; vacuum removes what no version references. */
            LK_INFO("batch=%lld already in table=%s (txn): not committed again", (long long)b,
                    c->names[t]);
            continue;
        }
        if (skip[t]) {
            LK_INFO("batch=%lld: its Kafka offsets are already in table=%s (another instance "
                    "committed them): nothing to add",
                    (long long)b, c->names[t]);
            continue;
        }
        lk_delta_commit *dc = lk_delta_commit_new(c->tables[t], "STREAMING UPDATE");
        const lk_schema *cur = lk_delta_schema(c->tables[t]);
        if (!cur) {
            lk_delta_commit_set_schema(dc, schemas[t]);
        } else if (merged[t] && !lk_schema_equal(cur, merged[t])) {
            /* the table keeps the columns and struct children this batch lacks (a list that
               selects fewer since a restart, another host's data); with other hosts, the order
               of the one that wrote first stands where the batch adds nothing (schema_covers) */
            lk_delta_commit_set_schema(dc, merged[t]);
            log_schema_change(c, c->names[t], b, cur, merged[t]);
        }
        const char *cols[LK_MAX_PARTITION_COLS];
        int npb = lk_config_partition_cols(c->cfg, c->names[t], cols);
        if (!cur && npb) lk_delta_commit_set_partition_columns(dc, cols, npb);
        int64_t rows = 0, nfiles = 0;
        if (t == c->metrics_t) {
            int ng = 0;
            const lk_msg_file *gf = lk_gold_commit_files(c->gold, &ng);
            for (int k = 0; k < ng; k++) {
                lk_delta_commit_add_file(dc, gf[k].path, gf[k].size, gf[k].mtime_ms,
                                         gf[k].stats_json, 1);
                rows += gf[k].rows;
                nfiles++;
            }
            const char *rm = lk_gold_commit_removed(c->gold);
            if (rm) lk_delta_commit_remove_file(dc, rm, 1);
        }
        for (int i = 0; i < p->n_closes; i++) {
            for (int k = 0; k < p->closes[i].n_files; k++) {
                const lk_msg_file *f = &p->closes[i].files[k];
                if (strcmp(f->table, c->names[t]))
                    continue;
                if (f->partition_values_json)
                    lk_delta_commit_add_file_partitioned(dc, f->path, f->partition_values_json,
                                                         f->size, f->mtime_ms, f->stats_json, 1);
                else
                    lk_delta_commit_add_file(dc, f->path, f->size, f->mtime_ms, f->stats_json, 1);
                rows += f->rows;
                nfiles++;
            }
        }
        lk_delta_commit_set_txn(dc, c->app_id, b);
        for (int i = 0; i < nkr; i++) { /* how far each partition now is in this table */
            char app[400];
            lk_kafka_record_txn_app(kr[i].path, app, sizeof app);
            lk_delta_commit_set_txn(dc, app, kr[i].end);
        }
        lk_delta_commit_set_param(dc, "outputMode",
                                  t == c->metrics_t && !strcmp(c->cfg->metrics.output_mode, "update")
                                      ? "\"Update\""
                                      : "\"Append\"");
        lk_delta_commit_set_param(dc, "epochId", epoch);
        char qid[80];
        snprintf(qid, sizeof qid, "\"%s\"", c->app_id);
        lk_delta_commit_set_param(dc, "queryId", qid);
        int64_t version = -1;
        rc = lk_delta_commit_run(dc, &version, &c->err);
        lk_delta_commit_destroy(&dc);
        if (rc) {
            lk_error_prefix(&c->err, "commit of batch %lld to %s", (long long)b, c->names[t]);
            break;
        }
        if (lk_fault_check("committer.after_delta_commit") < 0) {
            rc = lk_error_set(&c->err, -EIO, "injected fault after the Delta commit");
            break;
        }
        for (int i = 0; i < p->n_closes; i++)
            for (int k = 0; k < p->closes[i].n_files; k++)
                if (!strcmp(p->closes[i].files[k].table, c->names[t]) &&
                    small_file(c->cfg, p->closes[i].files[k].size))
                    c->small_files[t]++;
        rc = lk_state_record_commit(c->st, b, c->names[t], version, rows, nfiles, &c->err);
        LK_INFO("committed batch=%lld table=%s version=%lld files=%lld rows=%lld", (long long)b,
                c->names[t], (long long)version, (long long)nfiles, (long long)rows);
        out->rows = rows;
        out->version = version;
        lk_worker_add(c->w, "rows_out", rows);
    }
    free(kr);
    if (rc == 0)
        rc = lk_state_mark_committed(c->st, b, &c->err);
    if (c->metrics_t >= 0) {
        lk_gold_commit_done(c->gold, b, rc == 0);
        if (rc == 0) log_gold(c, b);
    }
    if (rc == 0)
        record_file_counts(c, p);
    for (int t = 0; t < c->ntables; t++) {
        lk_schema_destroy(&schemas[t]);
        lk_schema_destroy(&merged[t]);
    }
    if (rc)
        return rc;
    lk_worker_add(c->w, "batches", 1);
    lk_worker_add(c->w, "rows_in", rows_in);
    lk_worker_add(c->w, "corrupt", corrupt);
    lk_worker_add(c->w, "rescued", rescued);
    lk_worker_set(c->w, "last_batch", b);
    lk_worker_set(c->w, "last_commit_ms", lk_time_mono_ms() - t0);
    publish_tables(c);
    rep->phase = LK_PHASE_COMMIT;
    rep->batch_id = b;
    rep->ts_us = lk_time_now_us();
    rep->duration_us = rep->ts_us - t0_us;
    rep->rows = rows_in;
    rep->corrupt = corrupt;
    rep->rescued = rescued;
    if (c->dedupe) {
        int64_t dup = lk_dedupe_commit_dropped(c->dedupe);
        rep->duplicates = dup;
        lk_worker_add(c->w, "duplicate_rows", dup);
        lk_worker_set(c->w, "dedupe_keys", lk_dedupe_commit_keys(c->dedupe));
        lk_worker_set(c->w, "dedupe_state_bytes", lk_dedupe_commit_state_bytes(c->dedupe));
        if (dup)
            LK_INFO("batch=%lld: %lld duplicate row(s) dropped (transform.dedupe); %lld key(s) "
                    "in the state, state_bytes=%lld",
                    (long long)b, (long long)dup, (long long)lk_dedupe_commit_keys(c->dedupe),
                    (long long)lk_dedupe_commit_state_bytes(c->dedupe));
    }
    if (c->metrics_t >= 0) {
        int64_t wm = lk_gold_commit_watermark(c->gold);
        rep->late = lk_gold_commit_late(c->gold);
        rep->no_event_time = lk_gold_commit_no_event_time(c->gold);
        rep->watermark_us = wm == INT64_MIN ? 0 : wm;
    }
    lk_worker_report(c->w, rep);
    notify_ingest(c, b);
    return 0;
}


/* Whether every writer session that holds chunks of p has reported its
   files (asking again every FLUSH_MS), and the reports cover each chunk
   exactly once by its holder. 1 = ready to commit, 0 = not yet; a cover
   that fails deletes the files and asks ingest for a replay. */
static int closes_ready(committer *c, pending *p)
{
    if (p->failed)
        return 0;
    int missing = 0;
    for (int k = 0; k < p->n_chunks && !missing; k++) {
        int found = 0;
        for (int i = 0; i < p->n_closes && !found; i++)
            found = p->closes[i].session == p->chunks[k].session;
        missing = !found;
    }
    if (missing) {
        int64_t now = lk_time_mono_ms();
        if (!p->flush_ms || now - p->flush_ms >= FLUSH_MS) {
            publish(c, "flush", p->batch_id, p->gen);
            p->flush_ms = now;
        }
        return 0;
    }
    /* each listed chunk is held by the session listing it, and listed once */
    unsigned char *seen = calloc((size_t)p->n_chunks + 1, 1);
    if (!seen)
        abort();
    const char *bad = NULL;
    int32_t bad_k = -1;
    for (int i = 0; i < p->n_closes && !bad; i++) {
        const lk_msg_files *cl = &p->closes[i];
        for (int j = 0; j < cl->n_chunks && !bad; j++) {
            int32_t k = cl->chunks[j];
            bad_k = k;
            if (k < 0 || k >= p->n_chunks)
                bad = "hold a chunk the batch does not have";
            else if (p->chunks[k].session != cl->session)
                bad = "hold a chunk another writer held";
            else if (seen[k]++)
                bad = "hold a chunk twice";
        }
    }
    for (int k = 0; k < p->n_chunks && !bad; k++)
        if (!seen[k]) {
            bad = "lack a chunk their writer reported held (the writer lost its files)";
            bad_k = k;
        }
    free(seen);
    if (!bad)
        return 1;
    LK_WARN("batch=%lld generation=%d: the writers' files %s (chunk %d): their files are "
            "dropped and the batch is replayed",
            (long long)p->batch_id, p->gen, bad, bad_k);
    drop_closes(c, p, "lost chunks");
    p->failed = 1;
    lk_worker_add(c->w, "errors", 1);
    lk_msg_event e;
    lk_msg_event_init(&e, "replay");
    lk_msg_event_set_str(&e, "reason", "a writer lost chunks of a batch");
    lk_buf_reset(&c->buf);
    lk_msg_event_encode(&e, &c->buf);
    lk_zmq_send(c->to_ingest, c->buf.data, c->buf.len, ZMQ_DONTWAIT);
    return 0;
}

/* transform.dedupe found duplicates in p (their rows are in p's drop list
   in state.db now): its files are dropped and the batch replayed; the
   replay's transforms leave those rows out. */
static void dedupe_replay(committer *c, pending *p)
{
    LK_INFO("batch=%lld generation=%d: %lld duplicate row(s) found (transform.dedupe, %lld in "
            "the batch's drop list): the batch is replayed without them",
            (long long)p->batch_id, p->gen, (long long)lk_dedupe_commit_found(c->dedupe),
            (long long)lk_dedupe_commit_dropped(c->dedupe));
    lk_dedupe_commit_done(c->dedupe, p->batch_id, 0);
    if (++p->dedupe_replays > 4)
        /* a replay leaves out every row the list names, so another one finds new rows
           only when replays race; never ending means the drops are not applied */
        LK_ERROR("batch=%lld: replayed %d times for duplicates and still holds some: are the "
                 "transforms applying the drop list (state.db dedupe)?",
                 (long long)p->batch_id, p->dedupe_replays);
    drop_closes(c, p, "duplicates found");
    p->failed = 1;
    lk_worker_set(c->w, "busy", 0);
    lk_worker_add(c->w, "dedupe_replays", 1);
    if (lk_fault_check("committer.dedupe_before_replay") < 0) return; /* the deadline replays */
    lk_msg_event e;
    lk_msg_event_init(&e, "replay");
    lk_msg_event_set_str(&e, "reason", "transform.dedupe found duplicate rows in a batch");
    lk_msg_event_set_int(&e, "batch", p->batch_id); /* that batch only: the others are fine */
    lk_buf_reset(&c->buf);
    lk_msg_event_encode(&e, &c->buf);
    lk_zmq_send(c->to_ingest, c->buf.data, c->buf.len, ZMQ_DONTWAIT);
}

static void try_commit(committer *c)
{
    if (lk_time_mono_ms() < c->retry_at_ms)
        return;
    for (;;) {
        pending *p = find_pending(c, c->next_batch, 0);
        if (!p || p->n_chunks < 0 || p->have < p->n_chunks || !closes_ready(c, p))
            return;
        lk_worker_set(c->w, "busy", 1);
        int dd = c->dedupe ? lk_dedupe_commit_prepare(c->dedupe, p->batch_id, p->chunks,
                                                      p->n_chunks, &c->err)
                           : 0;
        if (dd == 1) {
            dedupe_replay(c, p);
            return;
        }
        if (dd < 0 || commit_batch(c, p)) {
            if (c->dedupe) lk_dedupe_commit_done(c->dedupe, p->batch_id, 0);
            int delay = RETRY_MS;
            if (lk_worker_resource_error(c->err.code)) {
                /* a full or failing disk: pause, retry with a growing delay */
                lk_worker_pause(c->w, c->err.msg);
                delay = lk_worker_pause_delay_ms(c->w);
            } else if (c->shared && c->err.code == LK_ECONFLICT && !c->conflict) {
                /* another instance committed between our read and our write: the
                   next attempt re-reads the log and decides again */
                LK_INFO("%s; re-reading the log (another instance committed first)", c->err.msg);
                delay = 50;
            } else if (c->conflict) {
                LK_WARN("%s", c->err.msg);
                c->conflict = 0;
                lk_msg_event e;
                lk_msg_event_init(&e, "conflict");
                lk_msg_event_set_int(&e, "batch", p->batch_id);
                lk_buf_reset(&c->buf);
                lk_msg_event_encode(&e, &c->buf);
                lk_zmq_send(c->to_ingest, c->buf.data, c->buf.len, ZMQ_DONTWAIT);
            } else if (c->err.code == LK_ECONFIG) {
                /* retrying cannot help (the saved state does not fit `metrics:`):
                   the supervisor stops the pipeline (exit 100), the batch stays
                   pending for the next start */
                LK_ERROR("batch=%lld: %s: the pipeline stops (a configuration error)",
                         (long long)p->batch_id, c->err.msg);
                c->config_error = 1;
                lk_msg_event e;
                lk_msg_event_init(&e, "fatal");
                lk_msg_event_set_str(&e, "role", "committer");
                lk_msg_event_set_str(&e, "error", c->err.msg);
                lk_msg_event_set_int(&e, "config", 1);
                lk_worker_notify(c->w, &e);
            } else {
                LK_ERROR("%s; retrying in %d ms (nothing is lost: the batch stays pending)",
                         c->err.msg, RETRY_MS);
            }
            lk_worker_add(c->w, "errors", 1);
            c->retry_at_ms = lk_time_mono_ms() + delay;
            /* the table handles may be behind a partial success: re-read them */
            for (int t = 0; t < c->ntables; t++)
                lk_delta_refresh(c->tables[t], &c->err);
            return;
        }
        /* busy and work_done change together in the one progress message
           sent at once: the supervisor's liveness check must never see
           "busy" with a work_done that predates a long batch's commit (it
           killed the committer right after committing a 40 s batch) */
        if (c->dedupe) lk_dedupe_commit_done(c->dedupe, p->batch_id, 1);
        lk_worker_set(c->w, "busy", 0);
        lk_worker_add(c->w, "work_done", 1);
        lk_worker_pause(c->w, NULL);
        lk_worker_flush(c->w);
        publish(c, "done", p->batch_id, p->gen);
        drop_pending(c, p);
        c->next_batch++;
    }
}

/* ---- auto-compaction ----
   Continuous streaming makes a file per writer per table per batch, small
   when batches are. Once more than tables.compaction.min_files files below
   half the target size were committed to a table since its last compaction,
   a child process compacts it (lk_delta_optimize: bin-packing into
   target-size files, one OPTIMIZE commit with dataChange=false) while the
   committer goes on: the two meet only through the Delta log's optimistic
   concurrency (streaming commits are blind appends and never conflict with
   it; a compaction that loses to another remover gives up and removes its
   new files). The child dies with the committer (PDEATHSIG); a killed
   compaction leaves unreferenced files for vacuum, never a partial commit.
   With check (the first child of each table after the committer starts:
   the count of before was in memory), the child first counts the table's
   small files and compacts only if they are more than min_files; else it
   writes "counted N" on its standard output (a pipe to the committer) and
   exits 0, and the committer adds N to the table's count. Any exit but 0
   (1 gave up; 100 a configuration error, 127 no program to exec...) is a
   failed compaction. */

int lk_committer_compact(const lk_config *cfg, const char *table, int check)
{
    lk_fault_check("committer.compaction"); /* sleep<MS>: a long compaction, for the tests */
    char path[2048];
    lk_config_table_path(cfg, table, path, sizeof path);
    lk_error err = {0};
    lk_delta_table *dt = NULL;
    lk_pq_options opt;
    lk_pq_options_default(&opt);
    lk_pq_codec_parse(cfg->tables.compression, &opt.codec);
    opt.zstd_level = cfg->tables.zstd_level;
    opt.zstd_adaptive = cfg->tables.zstd_adaptive;
    opt.row_group_bytes = (size_t)cfg->tables.row_group_bytes;
    lk_delta_optimize_result res;
    memset(&res, 0, sizeof res);
    int64_t t0 = lk_time_mono_ms();
    int rc = lk_delta_open(path, &dt, &err);
    if (rc == 0 && check) {
        int n = 0, min = cfg->tables.compaction.min_files;
        for (int i = 0; i < lk_delta_nfiles(dt); i++)
            n += small_file(cfg, lk_delta_file_at(dt, i)->size);
        if (n <= min) {
            LK_INFO("auto-compaction of table=%s: %d small file(s) at start, not more than "
                    "tables.compaction.min_files=%d: counted, not compacted",
                    table, n, min);
            lk_delta_destroy(&dt);
            printf("counted %d\n", n);
            if (fflush(stdout) == 0)
                return 0;
            LK_WARN("auto-compaction of table=%s: cannot report its count to the committer: %s",
                    table, strerror(errno));
            return 1;
        }
        LK_INFO("auto-compaction of table=%s: %d small file(s) at start: compacting", table, n);
    }
    if (rc == 0)
        rc = lk_delta_optimize(dt, cfg->tables.target_file_size, &opt, &res, &err);
    if (rc)
        LK_WARN("auto-compaction of table=%s gave up (nothing committed, the table is unchanged): "
                "%s", table, err.msg);
    else if (res.version < 0)
        LK_INFO("auto-compaction of table=%s: nothing to compact", table);
    else
        LK_INFO("auto-compaction: table=%s version=%lld OPTIMIZE: %d files (%lld bytes) into %d "
                "files (%lld bytes) in %lld ms",
                table, (long long)res.version, res.files_removed, (long long)res.bytes_removed,
                res.files_added, (long long)res.bytes_added, (long long)(lk_time_mono_ms() - t0));
    lk_delta_destroy(&dt);
    return rc ? 1 : 0;
}

/* Starts the compaction of table t as a process of its own: `lakesupd worker compaction TABLE`,
   exec'd (lk_committer_compact). Between fork and exec the child only makes async-signal-safe
   calls: the committer has threads (ZeroMQ's), and a lock one of them held at the fork (an
   allocator's, under AddressSanitizer) would be held for ever in a child that went on in the
   committer's image (docs/decisions.md, "Compaction in a process of its own"). The pid, or -1
   (errno). */
static pid_t spawn_compaction(committer *c, int t, int check)
{
    const char *argv[12];
    int a = 0;
    argv[a++] = c->exe;
    argv[a++] = "worker";
    argv[a++] = "compaction";
    argv[a++] = c->names[t];
    if (check)
        argv[a++] = "--check";
    argv[a++] = "--run-dir";
    argv[a++] = lk_worker_run_dir(c->w);
    if (c->cfg->file[0]) {
        argv[a++] = "-c";
        argv[a++] = c->cfg->file;
    }
    argv[a] = NULL;
    int p[2]; /* its standard output: "counted N" */
    if (pipe2(p, O_CLOEXEC))
        return -1;
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* the compaction dies with the committer */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* the pipe onto fd 1 (when pipe2 gave fd 1 itself, dup2 would leave it close-on-exec) */
        if (getppid() != parent ||
            (p[1] == 1 ? fcntl(1, F_SETFD, 0) : dup2(p[1], 1)) < 0)
            _exit(126);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* the committer's own program, even when its file was moved or replaced since (an
           upgrade in place): the compaction is the same version as the committer */
        lk_child_exec_self(c->exe, argv, NULL);
        _exit(127);
    }
    int e = errno;
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        errno = e;
        return -1;
    }
    fcntl(p[0], F_SETFL, O_NONBLOCK); /* read once it has exited: never waits */
    c->compact_out = p[0];
    return pid;
}

/* Reaps the running compaction if it has finished: 1 none runs (any
   more), 0 it still runs. */
static int reap_compaction(committer *c)
{
    if (c->compact_pid <= 0)
        return 1;
    int status = 0;
    pid_t r = waitpid(c->compact_pid, &status, WNOHANG);
    if (r == 0)
        return 0;
    /* what it wrote, all of it before it exited (a few bytes: one write) */
    char out[64];
    ssize_t k = c->compact_out >= 0 ? read(c->compact_out, out, sizeof out - 1) : -1;
    out[k > 0 ? k : 0] = '\0';
    if (c->compact_out >= 0)
        close(c->compact_out);
    c->compact_out = -1;
    int counted = -1;
    if (r != c->compact_pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        sscanf(out, "counted %d", &counted) != 1)
        counted = -1;
    if (counted >= 0) {
        /* a count at start: those files wait for more */
        c->small_files[c->compact_table] += counted;
    } else if (r == c->compact_pid) {
        int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        lk_worker_add(c->w, ok ? "compactions" : "compaction_failures", 1);
        lk_worker_set(c->w, "last_compaction_ms", lk_time_mono_ms() - c->compact_t0_ms);
        if (!WIFEXITED(status))
            LK_WARN("auto-compaction of table=%s (pid %d) was killed by signal %d: nothing "
                    "committed", c->names[c->compact_table], (int)c->compact_pid,
                    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        else if (!ok && WEXITSTATUS(status) != 1) /* 1: it said why */
            LK_WARN("auto-compaction of table=%s (pid %d) exited with code %d%s: nothing "
                    "committed", c->names[c->compact_table], (int)c->compact_pid,
                    WEXITSTATUS(status),
                    WEXITSTATUS(status) == 127 ? " (cannot exec this program)" : "");
    }
    c->compact_pid = 0;
    return 1;
}

/* Reaps a finished compaction; starts one for a table that needs it. */
static void compaction_tick(committer *c)
{
    if (!reap_compaction(c))
        return;
    int min = c->cfg->tables.compaction.min_files;
    if (min <= 0)
        return;
    for (int t = 0; t < c->ntables; t++) {
        int check = c->recount[t] && c->small_files[t] <= min;
        if (!check && c->small_files[t] <= min)
            continue;
        pid_t pid = spawn_compaction(c, t, check);
        if (pid < 0) {
            LK_WARN("auto-compaction of table=%s not started: fork: %s", c->names[t],
                    strerror(errno));
            return;
        }
        if (check)
            LK_INFO("auto-compaction of table=%s: counting its small files (pid %d)", c->names[t],
                    (int)pid);
        else
            LK_INFO("auto-compaction of table=%s started (pid %d): %d small files committed "
                    "since the last one",
                    c->names[t], (int)pid, c->small_files[t]);
        c->recount[t] = 0;
        c->small_files[t] = 0;
        c->compact_pid = pid;
        c->compact_table = t;
        c->compact_t0_ms = lk_time_mono_ms();
        return;
    }
}

static void on_event(committer *c, const void *data, size_t len)
{
    lk_msg_event e;
    if (lk_msg_event_decode(data, len, &e, &c->err)) {
        LK_WARN("dropped a malformed event: %s", c->err.msg);
        return;
    }
    if (strcmp(e.name, "sealed"))
        return;
    int64_t b = lk_msg_event_get_int(&e, "batch", -1);
    if (b < c->next_batch) {
        notify_ingest(c, b); /* a replay of a committed batch: say so again */
        return;
    }
    pending *p = find_pending(c, b, 1);
    if (!p)
        return;
    int32_t gen = (int32_t)lk_msg_event_get_int(&e, "gen", 0);
    if (gen < p->gen)
        return; /* the seal of an attempt a later generation superseded */
    if (gen > p->gen)
        new_generation(c, p, gen);
    p->n_chunks = (int32_t)lk_msg_event_get_int(&e, "chunks", 0);
    maybe_flush(c, p);
}

/* The pipeline's query id (stored once in state.db): the txn appId. */
/* A table's partitioning cannot change: partition_by must match the table's
   partitionColumns once it has a first commit. 0, or LK_ECONFIG. */
static int check_partitioning(committer *c, int t)
{
    const char *md = lk_delta_metadata_json(c->tables[t]);
    if (!md || lk_delta_version(c->tables[t]) < 0)
        return 0;
    const lk_name_list *pb = lk_config_partition_by(c->cfg, c->names[t]);
    lk_buf want = LK_BUF_INIT, have = LK_BUF_INIT;
    lk_buf_putc(&want, '[');
    for (int k = 0; pb && k < pb->n; k++) {
        if (k)
            lk_buf_putc(&want, ',');
        lk_buf_json_string(&want, pb->name[k], strlen(pb->name[k]));
    }
    lk_buf_putc(&want, ']');
    yajl_val root = yajl_tree_parse(md, NULL, 0);
    yajl_val pc = lk_json_get(root, "partitionColumns");
    lk_buf_putc(&have, '[');
    for (size_t k = 0; pc && YAJL_IS_ARRAY(pc) && k < pc->u.array.len; k++) {
        const char *name = YAJL_GET_STRING(pc->u.array.values[k]);
        if (k)
            lk_buf_putc(&have, ',');
        lk_buf_json_string(&have, name ? name : "", name ? strlen(name) : 0);
    }
    lk_buf_putc(&have, ']');
    yajl_tree_free(root);
    int rc = 0;
    int lacked = have.len == 2 && pb && pb->n; /* unpartitioned: did it lack the columns? */
    for (int k = 0; lacked && k < pb->n; k++)
        lacked = lk_schema_find(lk_delta_schema(c->tables[t]), pb->name[k]) < 0;
    if (want.len != have.len || memcmp(want.data, have.data, want.len))
        rc = lk_error_set(&c->err, LK_ECONFIG,
                          "tables.%s.partition_by is %.*s but the table at %s is partitioned by "
                          "%.*s: a table's partitioning cannot change (write to a new table)%s",
                          c->names[t], (int)want.len, want.data, c->table_path[t],
                          (int)have.len, have.data,
                          lacked ? "; the table was made without them because it lacked the "
                                   "columns (lakesupd before 2026-12-07 left such a partition_by "
                                   "out silently): remove partition_by to go on writing it "
                                   "unpartitioned"
                                 : "");
    lk_buf_free(&want);
    lk_buf_free(&have);
    return rc;
}

static int load_app_id(committer *c)
{
    int found = 0;
    if (lk_state_meta_get(c->st, "query_id", c->app_id, sizeof c->app_id, &found, &c->err))
        return -1;
    if (found)
        return 0;
    unsigned char r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return lk_error_set(&c->err, -EIO, "getrandom failed");
    snprintf(c->app_id, sizeof c->app_id,
             "%02x%02x%02x%02x-%02x%02x-4%x%02x-%x%x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1],
             r[2], r[3], r[4], r[5], r[6] & 15, r[7], 8 | (r[8] & 3), r[8] >> 4, r[9], r[10],
             r[11], r[12], r[13], r[14], r[15]);
    return lk_state_meta_set(c->st, "query_id", c->app_id, &c->err);
}

/* Brings state.db in line with the tables: a batch whose txn is in every
   table is committed, whatever state.db says. */
static int reconcile(committer *c)
{
    int64_t last = -1;
    if (lk_state_last_committed_batch(c->st, &last, &c->err))
        return -1;
    int64_t *ids = NULL;
    int n = 0;
    if (lk_state_batches_uncommitted(c->st, &ids, &n, &c->err))
        return -1;
    c->next_batch = n ? ids[0] : last + 1;
    for (int i = 0; i < n; i++) {
        int64_t b = ids[i];
        int all = 1;
        for (int t = 0; t < c->ntables; t++)
            all &= lk_delta_txn_version(c->tables[t], c->app_id) >= b;
        if (!all)
            break;
        LK_INFO("reconciled batch=%lld: in every table, not yet marked in state.db", (long long)b);
        for (int t = 0; t < c->ntables; t++)
            if (lk_state_record_commit(c->st, b, c->names[t], lk_delta_version(c->tables[t]), 0,
                                       0, &c->err))
                break;
        if (lk_state_mark_committed(c->st, b, &c->err)) {
            free(ids);
            return -1;
        }
        c->next_batch = b + 1;
    }
    free(ids);
    return 0;
}

/* Frees everything lk_committer_run holds and returns rc: on an error exit
   too, so that a leak check (the ASan build) does not turn exit 100 (a
   configuration error, not restarted) into exit 23 (a crash, restarted). */
static int release(committer *c, int rc)
{
    if (rc == LK_EXIT_OK && c->compact_pid > 0) {
        /* a graceful stop (an available-now run's end, too) lets a running
           auto-compaction finish, as Databricks' synchronous auto compaction
           would, within half of stop_timeout (the supervisor's SIGKILL comes
           at its end) */
        int64_t wait_ms = c->cfg->stop_timeout_ms / 2, t0 = lk_time_mono_ms();
        LK_INFO("stopping: waiting up to %lld ms for the auto-compaction of table=%s (pid %d)",
                (long long)wait_ms, c->names[c->compact_table], (int)c->compact_pid);
        while (!reap_compaction(c) && lk_time_mono_ms() - t0 < wait_ms)
            usleep(20000);
        if (c->compact_pid > 0)
            LK_WARN("stopping: the auto-compaction of table=%s (pid %d) did not finish within %lld "
                    "ms: killed, nothing of it committed (its files are garbage for vacuum)",
                    c->names[c->compact_table], (int)c->compact_pid, (long long)wait_ms);
    }
    if (c->compact_pid > 0) {
        kill(c->compact_pid, SIGKILL);
        waitpid(c->compact_pid, NULL, 0);
        c->compact_pid = 0;
    }
    if (c->compact_out >= 0)
        close(c->compact_out);
    c->compact_out = -1;
    while (c->npend)
        drop_pending(c, &c->pend[0]);
    for (int t = 0; t < c->ntables; t++)
        lk_delta_destroy(&c->tables[t]);
    zsock_destroy(&c->in);
    zsock_destroy(&c->to_ingest);
    lk_gold_commit_destroy(&c->gold);
    lk_dedupe_commit_destroy(&c->dedupe);
    lk_tables_destroy(&c->compiled);
    zsock_destroy(&c->pub);
    lk_state_close(&c->st);
    lk_buf_free(&c->buf);
    for (int i = 0; i < MAX_DEFERRED; i++)
        lk_buf_free(&c->deferred[i]);
    return rc;
}

int lk_committer_run(lk_worker *w)
{
    committer C, *c = &C;
    memset(c, 0, sizeof *c);
    c->w = w;
    c->cfg = lk_worker_config(w);
    c->compact_out = -1;
    ssize_t xl = readlink("/proc/self/exe", c->exe, sizeof c->exe - 1);
    c->exe[xl > 0 ? xl : 0] = '\0';
    if (xl <= 0)
        LK_WARN("cannot read /proc/self/exe (%s): auto-compaction cannot start", strerror(errno));
    c->group = c->cfg->source.group_id[0] != '\0';
    c->shared = c->group || c->cfg->source.shard.count > 1;
    char path[2048], ep[1200];
    c->ntables = lk_tables_names(c->cfg, c->names);
    c->metrics_t = -1;
    lk_config_state_path(c->cfg, path, sizeof path);
    if (lk_state_open(path, &c->st, &c->err) || load_app_id(c)) {
        LK_ERROR("%s", c->err.msg);
        return release(c, LK_EXIT_TEMPFAIL);
    }
    for (int t = 0; t < c->ntables; t++) {
        lk_config_table_path(c->cfg, c->names[t], c->table_path[t], sizeof c->table_path[t]);
        if (lk_fs_mkdirs(c->table_path[t], &c->err) ||
            lk_delta_open_log(c->table_path[t], &c->tables[t], &c->err)) {
            LK_ERROR("table %s: %s", c->names[t], c->err.msg);
            return release(c, LK_EXIT_TEMPFAIL);
        }
        if (check_partitioning(c, t)) {
            LK_ERROR("%s", c->err.msg);
            return release(c, LK_EXIT_CONFIG); /* the supervisor does not restart */
        }
        /* the small files an earlier run committed count too (the count was
           in memory): a child counts them before the first compaction */
        c->recount[t] = lk_delta_version(c->tables[t]) >= 0;
    }
    for (int t = 0; t < c->ntables; t++)
        if (!strcmp(c->names[t], LK_TABLE_METRICS)) {
            c->metrics_t = t;
            c->gold = lk_gold_commit_new(c->cfg, c->st, c->table_path[t]);
        }
    if (c->cfg->event.dedupe.set)
        c->dedupe = lk_dedupe_commit_new(c->cfg, c->st);
    if (reconcile(c)) {
        LK_ERROR("cannot reconcile state.db with the tables: %s", c->err.msg);
        return release(c, LK_EXIT_TEMPFAIL);
    }
    publish_tables(c);
    c->in = zsock_new(ZMQ_PULL);
    zsock_set_rcvhwm(c->in, 100000);
    lk_worker_endpoint(w, LK_EP_COMMITTER, -1, ep, sizeof ep);
    if (zsock_bind(c->in, "%s", ep) < 0) {
        LK_ERROR("cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
        return release(c, LK_EXIT_TEMPFAIL);
    }
    c->pub = zsock_new(ZMQ_PUB);
    zsock_set_sndhwm(c->pub, 10000);
    zsock_set_linger(c->pub, 0);
    lk_worker_endpoint(w, LK_EP_FLUSH, -1, ep, sizeof ep);
    if (zsock_bind(c->pub, "%s", ep) < 0) {
        LK_ERROR("cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
        return release(c, LK_EXIT_TEMPFAIL);
    }
    c->to_ingest = zsock_new(ZMQ_PUSH);
    zsock_set_sndhwm(c->to_ingest, 100000);
    zsock_set_linger(c->to_ingest, 0);
    /* ingest binds "ingest" and starts after us (as in lk_transform.c) */
    zsock_set_reconnect_ivl(c->to_ingest, 5);
    zsock_set_reconnect_ivl_max(c->to_ingest, 100);
    lk_worker_endpoint(w, LK_EP_INGEST, -1, ep, sizeof ep);
    zsock_connect(c->to_ingest, "%s", ep);
    LK_INFO("app_id=%s next_batch=%lld tables=%d raw_events.version=%lld "
            "processed_events.version=%lld",
            c->app_id, (long long)c->next_batch, c->ntables, (long long)lk_delta_version(c->tables[0]),
            (long long)lk_delta_version(c->tables[1]));
    lk_worker_ready(w);
    while (!lk_worker_stopping(w)) {
        lk_worker_tick(w);
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        int r = lk_zmq_recv(c->in, &msg, c->retry_at_ms ? 50 : 100);
        if (r == 0) {
            handle_message(c, zmq_msg_data(&msg), zmq_msg_size(&msg), -1);
        }
        zmq_msg_close(&msg);
        if (!c->config_error) /* after one, nothing more is committed: the pipeline stops */
            try_commit(c);
        run_deferred(c);
        compaction_tick(c);
    }
    return release(c, LK_EXIT_OK);
}
