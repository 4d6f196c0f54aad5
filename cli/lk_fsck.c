/* lk_fsck — consistency check and repair of state.db vs the tables; see lk_fsck.h. */
#include "lk_fsck.h"

#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lk_buf.h"
#include "lk_delta.h"
#include "lk_source_cfg.h"
#include "lk_exit.h"
#include "lk_fs.h"
#include "lk_parquet_reader.h"
#include "lk_raw.h"
#include "lk_rundir.h"
#include "lk_state.h"
#include "lk_tables.h"


typedef struct fsck {
    const lk_config *cfg;
    int repair;
    int problems; /* found and not repaired */
    int repaired;
    char state_path[2048];
    lk_state *st;
    int state_bad; /* missing, unreadable or corrupt */
    char state_why[1200];
    int ntables; /* lk_tables_names */
    const char *names[LK_TABLES_MAX];
    lk_delta_table *tables[LK_TABLES_MAX];
    char app_id[128];
} fsck;

static void say(const char *kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const char *kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%-9s ", kind);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

#define PROBLEM(f, ...)                                                                            \
    do {                                                                                           \
        (f)->problems++;                                                                           \
        say("PROBLEM", __VA_ARGS__);                                                               \
    } while (0)

static void open_tables(fsck *f)
{
    lk_error err;
    for (int t = 0; t < f->ntables; t++) {
        char path[2048];
        lk_config_table_path(f->cfg, f->names[t], path, sizeof path);
        if (lk_delta_open(path, &f->tables[t], &err)) {
            PROBLEM(f, "table %s: %s", f->names[t], err.msg);
            continue;
        }
        lk_delta_table *dt = f->tables[t];
        int64_t bytes = 0;
        for (int i = 0; i < lk_delta_nfiles(dt); i++)
            bytes += lk_delta_file_at(dt, i)->size;
        say("ok", "table %s: version %lld, %d files, %lld bytes, %lld rows", f->names[t],
            (long long)lk_delta_version(dt), lk_delta_nfiles(dt), (long long)bytes,
            (long long)lk_delta_num_records(dt));
    }
}

static void open_state(fsck *f)
{
    lk_error err;
    lk_config_state_path(f->cfg, f->state_path, sizeof f->state_path);
    if (!lk_fs_exists(f->state_path)) {
        f->state_bad = 1;
        snprintf(f->state_why, sizeof f->state_why, "%s does not exist", f->state_path);
        return;
    }
    if (lk_state_open(f->state_path, &f->st, &err)) {
        f->state_bad = 1;
        snprintf(f->state_why, sizeof f->state_why, "%s", err.msg);
        return;
    }
    char res[1024];
    if (lk_state_integrity(f->st, res, sizeof res, &err) || strcmp(res, "ok")) {
        f->state_bad = 1;
        snprintf(f->state_why, sizeof f->state_why, "state.db %s: integrity_check: %s",
                 f->state_path, res[0] ? res : err.msg);
        lk_state_close(&f->st);
        return;
    }
    int found = 0;
    lk_state_meta_get(f->st, "query_id", f->app_id, sizeof f->app_id, &found, &err);
    say("ok", "state.db %s: integrity_check ok, query id %s", f->state_path,
        found ? f->app_id : "(none yet)");
}

/* The one appId of the tables' txn actions, or "" (none); -1 if several. */
static int tables_app_id(fsck *f, char *out, size_t cap, int64_t version[LK_TABLES_MAX])
{
    out[0] = '\0';
    for (int t = 0; t < f->ntables; t++) {
        version[t] = -1;
        if (!f->tables[t])
            continue;
        for (int i = 0; i < lk_delta_ntxns(f->tables[t]); i++) {
            int64_t v;
            const char *app = lk_delta_txn_at(f->tables[t], i, &v);
            if (out[0] && strcmp(out, app))
                return -1;
            snprintf(out, cap, "%s", app);
            version[t] = v;
        }
    }
    return 0;
}

/* Batches, files and commits against the tables, with a readable state. */
static void check_consistency(fsck *f)
{
    lk_error err;
    int64_t last = -1;
    if (lk_state_last_committed_batch(f->st, &last, &err)) {
        PROBLEM(f, "%s", err.msg);
        return;
    }
    int64_t lowest = INT64_MAX;
    for (int t = 0; t < f->ntables; t++) {
        if (!f->tables[t])
            continue;
        int64_t tv = f->app_id[0] ? lk_delta_txn_version(f->tables[t], f->app_id) : -1;
        for (int i = 0; i < lk_delta_ntxns(f->tables[t]); i++) {
            int64_t v;
            const char *app = lk_delta_txn_at(f->tables[t], i, &v);
            if (strcmp(app, f->app_id))
                say("note", "table %s also has commits of another query (appId %s, up to batch "
                    "%lld): not this pipeline's state", f->names[t], app, (long long)v);
        }
        if (tv > last)
            say("note", "table %s has batch %lld committed, state.db records up to %lld: the "
                "committer records it at the next start", f->names[t], (long long)tv,
                (long long)last);
        if (tv < lowest)
            lowest = tv;
        if (tv < last) {
            PROBLEM(f, "state.db records batches up to %lld as committed but table %s has them "
                    "only up to %lld (a table restored from an older copy?)%s",
                    (long long)last, f->names[t], (long long)tv,
                    f->repair ? "" : ": --repair replays them");
        }
    }
    if (f->repair && lowest < last && lowest != INT64_MAX) {
        if (lk_state_uncommit_after(f->st, lowest, &err)) {
            PROBLEM(f, "%s", err.msg);
        } else {
            f->problems--;
            f->repaired++;
            say("REPAIRED", "batches %lld..%lld go back to planned: they are replayed at the "
                "next start (tables that have them skip them by txn)",
                (long long)lowest + 1, (long long)last);
        }
    }
    /* uncommitted batches: can their bytes still be read? */
    int64_t *ids = NULL;
    int n = 0;
    if (lk_state_batches_uncommitted(f->st, &ids, &n, &err) == 0) {
        if (n)
            say("note", "%d batch(es) not committed yet (from %lld): replayed at the next start", n,
                (long long)ids[0]);
        for (int i = 0; i < n; i++) {
            lk_state_range *rg = NULL;
            int nr = 0;
            if (lk_state_batch_ranges(f->st, ids[i], &rg, &nr, &err))
                continue;
            for (int r = 0; r < nr; r++) {
                struct stat sb;
                if (!strncmp(rg[r].path, "kafka://", 8))
                    continue; /* a Kafka offset range: checked by ingest at replay */
                if (stat(rg[r].path, &sb) != 0)
                    PROBLEM(f, "batch %lld: source file %s is gone (%s): its bytes [%lld, %lld) "
                            "cannot be replayed", (long long)ids[i], rg[r].path, strerror(errno),
                            (long long)rg[r].start, (long long)rg[r].end);
                else if (sb.st_size < rg[r].end)
                    PROBLEM(f, "batch %lld: source file %s is now %lld bytes, the batch needs "
                            "[%lld, %lld)", (long long)ids[i], rg[r].path, (long long)sb.st_size,
                            (long long)rg[r].start, (long long)rg[r].end);
            }
            free(rg);
        }
        free(ids);
    }
    lk_state_file *files = NULL;
    int nf = 0;
    if (lk_state_files_all(f->st, &files, &nf, &err) == 0) {
        int counts[4] = {0, 0, 0, 0};
        for (int i = 0; i < nf; i++)
            counts[files[i].state & 3]++;
        say("ok", "source files: %d committed, %d in batches, %d pending, %d skipped", counts[2],
            counts[1], counts[0], counts[3]);
        for (int i = 0; i < nf; i++)
            if (files[i].state == LK_FILE_SKIPPED)
                say("note", "skipped %s: %s", files[i].path, files[i].error);
        free(files);
    }
}

/* Data files in a table's directory that its snapshot does not reference. */
static void count_orphans(fsck *f, int t, const char *dir, const char *rel, zhash_t *live,
                          int64_t *n, int64_t *bytes)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
            !strcmp(e->d_name, "_delta_log"))
            continue;
        char path[4096], r[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        struct stat sb;
        if (stat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            count_orphans(f, t, path, r, live, n, bytes);
            continue;
        }
        size_t len = strlen(e->d_name);
        if (len > 8 && !strcmp(e->d_name + len - 8, ".parquet") && !zhash_lookup(live, r)) {
            (*n)++;
            *bytes += sb.st_size;
        }
    }
    closedir(d);
}

static void check_orphans(fsck *f)
{
    for (int t = 0; t < f->ntables; t++) {
        if (!f->tables[t])
            continue;
        zhash_t *live = zhash_new();
        lk_buf rel = LK_BUF_INIT;
        for (int i = 0; i < lk_delta_nfiles(f->tables[t]); i++) {
            lk_buf_reset(&rel);
            lk_delta_url_decode(lk_delta_file_at(f->tables[t], i)->path, &rel);
            lk_buf_putc(&rel, '\0');
            zhash_insert(live, rel.data, (void *)1);
        }
        lk_buf_free(&rel);
        int64_t n = 0, bytes = 0;
        count_orphans(f, t, lk_delta_path(f->tables[t]), "", live, &n, &bytes);
        zhash_destroy(&live);
        if (n)
            say("note", "table %s: %lld data file(s), %lld bytes, that no commit references (from "
                "replays or killed writers; never visible to readers): `lakesupd table vacuum "
                "%s` removes them", f->names[t], (long long)n, (long long)bytes, f->names[t]);
    }
}

/* Opens live file i of dt; rel holds its path (NUL-terminated) for messages. */
static int open_live_file(lk_delta_table *dt, int i, lk_buf *rel, lk_pq_reader **r, lk_error *err)
{
    lk_buf_reset(rel);
    lk_buf_printf(rel, "%s/", lk_delta_path(dt));
    lk_delta_url_decode(lk_delta_file_at(dt, i)->path, rel);
    lk_buf_putc(rel, '\0');
    return lk_pq_reader_open(rel->data, r, err);
}

/* Every _metadata.file_path value in the live files of raw_events. */
static int raw_file_paths(fsck *f, zhash_t *out, lk_error *err)
{
    lk_delta_table *dt = f->tables[0];
    lk_buf rel = LK_BUF_INIT;
    lk_batch *b = NULL;
    int rc = 0;
    for (int i = 0; i < lk_delta_nfiles(dt) && rc == 0; i++) {
        lk_pq_reader *r = NULL;
        if ((rc = open_live_file(dt, i, &rel, &r, err)))
            break;
        int col = lk_schema_find(lk_pq_reader_schema(r), "_metadata");
        if (col < 0) {
            rc = lk_error_set(err, LK_EFORMAT, "%s has no _metadata column", rel.data);
            lk_pq_reader_destroy(&r);
            break;
        }
        for (int g = 0; g < lk_pq_reader_num_row_groups(r) && rc == 0; g++) {
            if ((rc = lk_pq_reader_read_row_group(r, g, &col, 1, &b, err)))
                break;
            const lk_col *meta = lk_batch_col_const(b, 0);
            const lk_col *fp = NULL;
            for (int k = 0; k < meta->n_children; k++)
                if (!strcmp(meta->children[k].field->name, "file_path"))
                    fp = &meta->children[k];
            if (!fp) {
                rc = lk_error_set(err, LK_EFORMAT, "%s: _metadata has no file_path", rel.data);
                break;
            }
            char prev[1100] = "";
            for (uint32_t row = 0; row < fp->len; row++) {
                if (lk_col_is_null(fp, row))
                    continue;
                size_t len;
                const char *p = lk_col_bytes(fp, row, &len);
                char path[1100];
                snprintf(path, sizeof path, "%.*s", (int)(len < 1099 ? len : 1099), p);
                if (strcmp(path, prev) && !zhash_lookup(out, path))
                    zhash_insert(out, path, (void *)1);
                snprintf(prev, sizeof prev, "%s", path);
            }
        }
        lk_batch_destroy(&b);
        lk_pq_reader_destroy(&r);
    }
    lk_buf_free(&rel);
    return rc;
}

/* format kafka: per topic-partition (_metadata.file_path kafka://topic/p),
   the lowest and highest offset raw_events has a row of. */
typedef struct kafka_part {
    char path[300];
    int64_t lo, hi;
} kafka_part;

static int raw_kafka_offsets(fsck *f, kafka_part **parts, int *n, lk_error *err)
{
    lk_delta_table *dt = f->tables[0];
    lk_buf rel = LK_BUF_INIT;
    lk_batch *b = NULL;
    int rc = 0, cap = 0;
    *parts = NULL;
    *n = 0;
    for (int i = 0; i < lk_delta_nfiles(dt) && rc == 0; i++) {
        lk_pq_reader *r = NULL;
        if ((rc = open_live_file(dt, i, &rel, &r, err)))
            break;
        int cols[2] = {lk_schema_find(lk_pq_reader_schema(r), "_metadata"),
                       lk_schema_find(lk_pq_reader_schema(r), "offset")};
        if (cols[0] < 0 || cols[1] < 0) {
            rc = lk_error_set(err, LK_EFORMAT, "%s has no _metadata or offset column (not a "
                              "Kafka table?)", rel.data);
            lk_pq_reader_destroy(&r);
            break;
        }
        for (int g = 0; g < lk_pq_reader_num_row_groups(r) && rc == 0; g++) {
            if ((rc = lk_pq_reader_read_row_group(r, g, cols, 2, &b, err)))
                break;
            const lk_col *meta = lk_batch_col_const(b, 0), *off = lk_batch_col_const(b, 1);
            const lk_col *fp = NULL;
            for (int k = 0; k < meta->n_children; k++)
                if (!strcmp(meta->children[k].field->name, "file_path"))
                    fp = &meta->children[k];
            if (!fp || (off->field->type != LK_TYPE_LONG)) {
                rc = lk_error_set(err, LK_EFORMAT, "%s: no _metadata.file_path or offset is not "
                                  "a long", rel.data);
                break;
            }
            int at = -1;
            for (uint32_t row = 0; row < fp->len; row++) {
                if (lk_col_is_null(fp, row) || lk_col_is_null(off, row))
                    continue; /* (a corrupt row written before they kept their offset) */
                size_t len;
                const char *p = lk_col_bytes(fp, row, &len);
                if (len >= sizeof (*parts)[0].path || len < 8 || memcmp(p, "kafka://", 8))
                    continue;
                if (at < 0 || strlen((*parts)[at].path) != len || memcmp((*parts)[at].path, p, len)) {
                    for (at = 0; at < *n; at++)
                        if (strlen((*parts)[at].path) == len && !memcmp((*parts)[at].path, p, len))
                            break;
                    if (at == *n) {
                        if (*n == cap) {
                            cap = cap ? cap * 2 : 16;
                            *parts = realloc(*parts, (size_t)cap * sizeof **parts);
                            if (!*parts)
                                abort();
                        }
                        snprintf((*parts)[at].path, sizeof (*parts)[at].path, "%.*s", (int)len, p);
                        (*parts)[at].lo = INT64_MAX;
                        (*parts)[at].hi = -1;
                        (*n)++;
                    }
                }
                int64_t o = lk_col_i64(off, row);
                if (o < (*parts)[at].lo)
                    (*parts)[at].lo = o;
                if (o > (*parts)[at].hi)
                    (*parts)[at].hi = o;
            }
        }
        lk_batch_destroy(&b);
        lk_pq_reader_destroy(&r);
    }
    lk_buf_free(&rel);
    return rc;
}

/* format kafka: each topic-partition raw_events has rows of becomes a
   files row with the range [lowest, highest + 1) in batch, so that ingest
   plans it from highest + 1 on (never reading a committed offset again). */
static int record_kafka(fsck *f, int64_t batch, int *nparts, lk_error *err)
{
    kafka_part *parts = NULL;
    int n = 0;
    int rc = raw_kafka_offsets(f, &parts, &n, err);
    for (int i = 0; i < n && rc == 0; i++) {
        lk_state_file sf;
        memset(&sf, 0, sizeof sf);
        snprintf(sf.path, sizeof sf.path, "%s", parts[i].path);
        sf.batch_id = -1;
        int is_new = 0;
        rc = lk_state_file_add(f->st, &sf, &is_new, err);
        if (rc == 0)
            rc = lk_state_seed_range(f->st, batch, sf.id, parts[i].lo, parts[i].hi + 1, err);
        if (rc == 0)
            rc = lk_state_file_committed(f->st, sf.id, batch, err);
        if (rc == 0)
            say("REPAIRED", "Kafka %s resumes at offset %lld (raw_events has offsets %lld..%lld)",
                parts[i].path, (long long)parts[i].hi + 1, (long long)parts[i].lo,
                (long long)parts[i].hi);
    }
    *nparts = n;
    free(parts);
    return rc;
}

/* Records every source file raw_events has rows of as committed in batch. */
static int record_ingested(fsck *f, const char *dir, int depth, zhash_t *ingested, int64_t batch,
                           int *taken, int *left, lk_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return lk_error_errno(err, -errno, "cannot list %s", dir);
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue;
        struct stat sb;
        if (stat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            if (depth < 16 && lk_source_cfg_lists_dir(e->d_name))
                rc = record_ingested(f, path, depth + 1, ingested, batch, taken, left, err);
            continue;
        }
        if (!S_ISREG(sb.st_mode) || !lk_source_cfg_accepts(f->cfg, e->d_name))
            continue;
        /* raw_events holds the absolute, percent-encoded path (lk_raw_file_path); tables
           written before that hold the path as configured */
        char cwd[2048];
        lk_buf enc = LK_BUF_INIT;
        lk_raw_file_path(getcwd(cwd, sizeof cwd) ? cwd : "", path, &enc);
        int in_raw = zhash_lookup(ingested, enc.data) || zhash_lookup(ingested, path);
        lk_buf_free(&enc);
        if (!in_raw) {
            (*left)++;
            continue;
        }
        lk_state_file sf;
        memset(&sf, 0, sizeof sf);
        snprintf(sf.path, sizeof sf.path, "%s", path);
        sf.size = sb.st_size;
        sf.mtime_us = lk_fs_mtime_us(&sb);
        sf.inode = (int64_t)sb.st_ino;
        sf.device = (int64_t)sb.st_dev;
        sf.batch_id = -1;
        int is_new = 0;
        rc = lk_state_file_add(f->st, &sf, &is_new, err);
        if (rc == 0)
            rc = lk_state_file_committed(f->st, sf.id, batch, err);
        if (rc == 0)
            (*taken)++;
    }
    closedir(d);
    return rc;
}

/* Moves a bad state.db aside and rebuilds it from the tables. */
static void rebuild_state(fsck *f)
{
    lk_error err;
    int64_t tv[LK_TABLES_MAX];
    char app[128];
    if (!f->tables[0] || !f->tables[1]) {
        PROBLEM(f, "cannot rebuild state.db: a table is unreadable");
        return;
    }
    if (tables_app_id(f, app, sizeof app, tv) < 0) {
        PROBLEM(f, "cannot rebuild state.db: the tables carry commits of several queries");
        return;
    }
    if (tv[0] != tv[1]) {
        PROBLEM(f, "cannot rebuild state.db safely: raw_events has batches up to %lld and "
                "processed_events up to %lld; the missing batch's byte ranges were only in the "
                "lost state.db", (long long)tv[0], (long long)tv[1]);
        return;
    }
    char aside[2200];
    snprintf(aside, sizeof aside, "%s.corrupt-%lld", f->state_path, (long long)time(NULL));
    if (lk_fs_exists(f->state_path)) {
        const char *sfx[] = {"", "-wal", "-shm"};
        for (int i = 0; i < 3; i++) {
            char from[2100], to[2300];
            snprintf(from, sizeof from, "%s%s", f->state_path, sfx[i]);
            snprintf(to, sizeof to, "%s%s", aside, sfx[i]);
            if (lk_fs_exists(from) && rename(from, to) != 0) {
                PROBLEM(f, "cannot move %s aside: %s", from, strerror(errno));
                return;
            }
        }
        say("REPAIRED", "the damaged state.db is kept as %s", aside);
    }
    if (lk_state_open(f->state_path, &f->st, &err)) {
        PROBLEM(f, "cannot create a new state.db: %s", err.msg);
        return;
    }
    int taken = 0, left = 0, rc = 0, parts = 0;
    int kafka = !strcmp(f->cfg->source.format, "kafka");
    if (app[0]) {
        int sv = 0;
        rc = lk_state_meta_set(f->st, "query_id", app, &err);
        if (rc == 0 && lk_delta_schema(f->tables[0]))
            rc = lk_state_schema_put(f->st, LK_TABLE_RAW, lk_delta_schema(f->tables[0]), &sv, &err);
        if (rc == 0)
            rc = lk_state_seed_committed(f->st, tv[0], &err);
        if (kafka) {
            if (rc == 0)
                rc = record_kafka(f, tv[0], &parts, &err);
        } else {
            zhash_t *ingested = zhash_new();
            if (rc == 0)
                rc = raw_file_paths(f, ingested, &err);
            if (rc == 0)
                rc = record_ingested(f, f->cfg->source_path, 0, ingested, tv[0], &taken, &left,
                                     &err);
            zhash_destroy(&ingested);
        }
    }
    if (rc == 0)
        rc = lk_state_meta_set(f->st, "initial_listing_done", "1", &err);
    if (rc) {
        PROBLEM(f, "rebuilding state.db failed: %s (the damaged copy is %s)", err.msg, aside);
        return;
    }
    f->problems--; /* the state problem counted before */
    f->repaired++;
    if (kafka) {
        say("REPAIRED", "state.db rebuilt from the tables: query id %s, batches up to %lld "
            "committed, %d Kafka partition(s) resume after the highest offset raw_events has "
            "(partitions without rows start at starting_offsets)",
            app[0] ? app : "(new)", (long long)tv[0], parts);
        return;
    }
    say("REPAIRED", "state.db rebuilt from the tables: query id %s, batches up to %lld committed, "
        "%d source file(s) with rows in raw_events recorded as committed, %d other file(s) are "
        "ingested at the next start", app[0] ? app : "(new)", (long long)tv[0], taken, left);
}

int lk_fsck_main(const lk_config *cfg, int repair)
{
    fsck F, *f = &F;
    memset(f, 0, sizeof *f);
    f->cfg = cfg;
    f->repair = repair;
    printf("fsck of pipeline %s\n", cfg->pipeline);
    pid_t holder = lk_rundir_lock_holder(cfg);
    if (holder) {
        if (repair) {
            fprintf(stderr, "lakesupd fsck: the pipeline is running (supervisor pid %d): stop it "
                            "before --repair\n", (int)holder);
            return LK_EXIT_TEMPFAIL;
        }
        say("note", "the pipeline is running (supervisor pid %d): what is in flight may show as "
            "uncommitted", (int)holder);
    }
    f->ntables = lk_tables_names(f->cfg, f->names);
    open_tables(f);
    open_state(f);
    if (f->state_bad) {
        int any = 0;
        for (int t = 0; t < f->ntables; t++)
            any |= f->tables[t] && lk_delta_version(f->tables[t]) >= 0;
        if (!any && !lk_fs_exists(f->state_path)) {
            say("ok", "no state.db and no table commits: the pipeline has not run yet");
        } else {
            PROBLEM(f, "%s%s", f->state_why,
                    repair ? "" : ": `lakesupd fsck --repair` rebuilds it from the tables");
            if (repair)
                rebuild_state(f);
        }
    } else {
        check_consistency(f);
    }
    check_orphans(f);
    for (int t = 0; t < f->ntables; t++)
        lk_delta_destroy(&f->tables[t]);
    lk_state_close(&f->st);
    printf("%s: %d problem(s)%s", f->problems ? "NOT CONSISTENT" : "consistent", f->problems,
           f->repaired ? "" : "\n");
    if (f->repaired)
        printf(", %d repaired\n", f->repaired);
    return f->problems ? LK_EXIT_FAILURE : LK_EXIT_OK;
}
