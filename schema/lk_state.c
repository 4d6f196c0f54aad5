/*
 * lk_state — state.db on SQLite: DDL, migrations and every query of the
 * pipeline's durable state (see lk_state.h).
 *
 * Several processes open the same file at once (ingest writes files and
 * batches, the committer writes commits). That works because the database is
 * in WAL mode (readers never block the writer), every connection waits up to
 * busy_timeout for the write lock, and every write runs inside BEGIN
 * IMMEDIATE: taking the write lock up front means a transaction never has to
 * upgrade a read snapshot, the one case where SQLite returns SQLITE_BUSY
 * without calling the busy handler.
 *
 * Statements are prepared once, on first use, and cached in the lk_state
 * object; each use ends with reset + clear_bindings.
 */
#include "lk_state.h"

#include <errno.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_buf.h"
#include "lk_fault.h"
#include "lk_log.h"
#include "lk_time.h"

#define LK_STATE_BUSY_MS 10000

/* Migration i brings user_version from i to i + 1. Append, never edit. */
static const char *const lk_state_migrations[] = {
    /* v1 */
    "CREATE TABLE batches ("
    "  id INTEGER PRIMARY KEY,"
    "  state INTEGER NOT NULL DEFAULT 0,"
    "  n_chunks INTEGER NOT NULL DEFAULT -1,"
    "  planned_at_us INTEGER NOT NULL,"
    "  committed_at_us INTEGER NOT NULL DEFAULT 0,"
    "  bytes INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX batches_state ON batches(state, id);"
    "CREATE TABLE files ("
    "  id INTEGER PRIMARY KEY,"
    "  path TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  mtime_us INTEGER NOT NULL,"
    "  inode INTEGER NOT NULL DEFAULT 0,"
    "  device INTEGER NOT NULL DEFAULT 0,"
    "  state INTEGER NOT NULL DEFAULT 0,"
    "  batch_id INTEGER REFERENCES batches(id),"
    "  discovered_at_us INTEGER NOT NULL,"
    "  error TEXT NOT NULL DEFAULT '',"
    "  UNIQUE(path, size, mtime_us));"
    "CREATE INDEX files_pending ON files(state, discovered_at_us, path);"
    "CREATE INDEX files_path ON files(path);"
    "CREATE INDEX files_batch ON files(batch_id);"
    "CREATE TABLE batch_ranges ("
    "  batch_id INTEGER NOT NULL REFERENCES batches(id),"
    "  seq INTEGER NOT NULL,"
    "  file_id INTEGER NOT NULL REFERENCES files(id),"
    "  start INTEGER NOT NULL,"
    "  end INTEGER NOT NULL,"
    "  PRIMARY KEY(batch_id, seq));"
    "CREATE INDEX batch_ranges_file ON batch_ranges(file_id);"
    "CREATE TABLE commits ("
    "  batch_id INTEGER NOT NULL REFERENCES batches(id),"
    "  table_name TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  rows INTEGER NOT NULL,"
    "  files INTEGER NOT NULL,"
    "  committed_at_us INTEGER NOT NULL,"
    "  PRIMARY KEY(batch_id, table_name));"
    "CREATE INDEX commits_table ON commits(table_name, version);"
    "CREATE TABLE schemas ("
    "  table_name TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  schema_json TEXT NOT NULL,"
    "  created_at_us INTEGER NOT NULL,"
    "  PRIMARY KEY(table_name, version));"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    /* v2: a batch replayed after one of its files changed or vanished is
       re-planned as a new generation, with new chunk indices */
    "ALTER TABLE batches ADD COLUMN gen INTEGER NOT NULL DEFAULT 0;",
    /* v(discovery): a file's identity adds a hash of its first 4 KiB; clean_source
       remembers what it did to a file; per-file row counts per batch (the
       committer writes them, `source list` shows them) */
    "ALTER TABLE files ADD COLUMN head_hash INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE files ADD COLUMN cleaned_at_us INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE files ADD COLUMN clean_note TEXT NOT NULL DEFAULT '';"
    "CREATE INDEX files_identity ON files(inode, size, mtime_us);"
    "CREATE TABLE file_counts ("
    "  file_id INTEGER NOT NULL REFERENCES files(id),"
    "  batch_id INTEGER NOT NULL,"
    "  rows INTEGER NOT NULL,"
    "  corrupt INTEGER NOT NULL,"
    "  rescued INTEGER NOT NULL,"
    "  PRIMARY KEY(file_id, batch_id));"
    "CREATE TABLE file_spans ("
    "  batch_id INTEGER NOT NULL,"
    "  gen INTEGER NOT NULL,"
    "  file_id INTEGER NOT NULL,"
    "  first_chunk INTEGER NOT NULL,"
    "  n_chunks INTEGER NOT NULL,"
    "  PRIMARY KEY(batch_id, gen, file_id));",
    /* v(monitor): one progress record per committed batch (the monitor
       writes it, `lakesupd progress` and /progress read it; bounded by
       monitor.progress_retention) */
    "CREATE TABLE progress ("
    "  batch_id INTEGER PRIMARY KEY,"
    "  ts_us INTEGER NOT NULL,"
    "  json TEXT NOT NULL);"
    "CREATE INDEX progress_ts ON progress(ts_us);",
    /* v(replay): `lakesupd replay` plans a batch of its own (no ranges,
       sealed with 0 chunks) with what it re-injects: the quarantine files
       and the filter, so that a replay killed half-way resumes with exactly
       the same rows (lk_state_replay_*) */
    "CREATE TABLE replays ("
    "  batch_id INTEGER PRIMARY KEY,"
    "  params TEXT NOT NULL,"
    "  state INTEGER NOT NULL DEFAULT 0,"
    "  rows INTEGER NOT NULL DEFAULT 0,"
    "  created_at_us INTEGER NOT NULL,"
    "  done_at_us INTEGER NOT NULL DEFAULT 0);",
    /* v(windows): event_metrics' open windows and watermark after each
       batch (issue 12), written by the committer before the batch's gold
       commit; the latest two are kept (lk_state_windows_*) */
    "CREATE TABLE windows ("
    "  batch_id INTEGER PRIMARY KEY,"
    "  watermark_us INTEGER,"
    "  state BLOB NOT NULL,"
    "  open_file TEXT,"
    "  written_at_us INTEGER NOT NULL);",
    /* v(dedupe): transform.dedupe's state after each batch (kind 0, written
       by the committer before the batch's commits; the latest two kept) and
       the rows of a batch found duplicated (kind 1: written before the
       batch is replayed without them; kept while the batch may be replayed) */
    "CREATE TABLE dedupe ("
    "  batch_id INTEGER NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  n INTEGER NOT NULL,"
    "  data BLOB NOT NULL,"
    "  written_at_us INTEGER NOT NULL,"
    "  PRIMARY KEY(batch_id, kind));",
};
#define LK_STATE_NMIGRATIONS ((int)(sizeof lk_state_migrations / sizeof lk_state_migrations[0]))

enum {
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_FILE_INSERT,
    Q_FILE_ID,
    Q_FILES_PENDING,
    Q_FILES_ALL,
    Q_FILE_KNOWN,
    Q_FILE_SKIP,
    Q_FILE_NOTE,
    Q_BATCH_NEXT_ID,
    Q_BATCH_INSERT,
    Q_RANGE_INSERT,
    Q_FILE_PLAN,
    Q_RANGES,
    Q_BATCH_GET,
    Q_BATCH_SEAL,
    Q_UNCOMMITTED,
    Q_LAST_COMMITTED,
    Q_COMMIT_INSERT,
    Q_COMMIT_VERSION,
    Q_BATCH_MARK,
    Q_FILES_MARK,
    Q_SCHEMA_LATEST,
    Q_SCHEMA_AT,
    Q_SCHEMA_INSERT,
    Q_SCHEMA_ALL,
    Q_META_GET,
    Q_META_SET,
    Q_FILE_PLANNED_END,
    Q_WINDOWS_PUT,
    Q_WINDOWS_PRUNE,
    Q_WINDOWS_GET,
    Q_DEDUPE_PUT,
    Q_DEDUPE_PRUNE,
    Q_DEDUPE_GET,
    Q_COUNT
};

static const char *const lk_state_sql[Q_COUNT] = {
    [Q_FILE_PLANNED_END] = "SELECT max(end) FROM batch_ranges WHERE file_id = ?1",
    [Q_WINDOWS_PUT] = "INSERT OR REPLACE INTO windows(batch_id, watermark_us, state, written_at_us,"
                      " open_file) VALUES(?1, ?2, ?3, ?4, ?5)",
    [Q_WINDOWS_PRUNE] = "DELETE FROM windows WHERE batch_id < ?1",
    [Q_WINDOWS_GET] = "SELECT batch_id, watermark_us, state, open_file FROM windows WHERE batch_id <= ?1"
                      " ORDER BY batch_id DESC LIMIT 1",
    [Q_DEDUPE_PUT] = "INSERT OR REPLACE INTO dedupe(batch_id, kind, n, data, written_at_us)"
                     " VALUES(?1, ?2, ?3, ?4, ?5)",
    [Q_DEDUPE_PRUNE] = "DELETE FROM dedupe WHERE batch_id < ?1",
    [Q_DEDUPE_GET] = "SELECT batch_id, n, data FROM dedupe WHERE batch_id <= ?1 AND"
                     " batch_id >= ?2 AND kind = ?3 ORDER BY batch_id DESC LIMIT 1",
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_FILE_INSERT] = "INSERT OR IGNORE INTO files(path, size, mtime_us, inode, device, state,"
                      " discovered_at_us) VALUES(?1, ?2, ?3, ?4, ?5, 0, ?6)",
    [Q_FILE_ID] = "SELECT id FROM files WHERE path = ?1 AND size = ?2 AND mtime_us = ?3",
#define FILE_COLS                                                                                  \
    "SELECT id, path, size, mtime_us, inode, device, state, COALESCE(batch_id, -1),"               \
    " discovered_at_us, error FROM files "
    [Q_FILES_PENDING] = FILE_COLS "WHERE state = 0 ORDER BY discovered_at_us, path LIMIT ?1",
    [Q_FILES_ALL] = FILE_COLS "ORDER BY id",
    [Q_FILE_KNOWN] = "SELECT 1 FROM files WHERE path = ?1 LIMIT 1",
    [Q_FILE_SKIP] = "UPDATE files SET state = 3, error = ?2 WHERE id = ?1",
    [Q_FILE_NOTE] = "UPDATE files SET error = ?2 WHERE id = ?1 AND state <> 3",
    [Q_BATCH_NEXT_ID] = "SELECT COALESCE(MAX(id), -1) + 1 FROM batches",
    [Q_BATCH_INSERT] = "INSERT INTO batches(id, state, n_chunks, planned_at_us, bytes)"
                       " VALUES(?1, 0, -1, ?2, ?3)",
    [Q_RANGE_INSERT] = "INSERT INTO batch_ranges(batch_id, seq, file_id, start, end)"
                       " VALUES(?1, ?2, ?3, ?4, ?5)",
    /* a file split over several batches belongs to the last one planned, so
       it turns committed only when its last range is */
    [Q_FILE_PLAN] = "UPDATE files SET state = 1, batch_id = ?2 WHERE id = ?1 AND state <> 2",
    [Q_RANGES] = "SELECT r.file_id, f.path, r.start, r.end, f.size, f.mtime_us, f.inode, f.head_hash"
                 " FROM batch_ranges r JOIN files f ON f.id = r.file_id"
                 " WHERE r.batch_id = ?1 ORDER BY r.seq",
    [Q_BATCH_GET] = "SELECT id, state, n_chunks, planned_at_us, committed_at_us, bytes, gen"
                    " FROM batches WHERE id = ?1",
    [Q_BATCH_SEAL] = "UPDATE batches SET state = 1, n_chunks = ?2 WHERE id = ?1 AND state = 0",
    [Q_UNCOMMITTED] = "SELECT id FROM batches WHERE state <> 2 ORDER BY id",
    [Q_LAST_COMMITTED] = "SELECT COALESCE(MAX(id), -1) FROM batches WHERE state = 2",
    [Q_COMMIT_INSERT] = "INSERT OR IGNORE INTO commits(batch_id, table_name, version, rows, files,"
                        " committed_at_us) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
    [Q_COMMIT_VERSION] = "SELECT version FROM commits WHERE batch_id = ?1 AND table_name = ?2",
    [Q_BATCH_MARK] = "UPDATE batches SET state = 2, committed_at_us = ?2 WHERE id = ?1",
    [Q_FILES_MARK] = "UPDATE files SET state = 2 WHERE batch_id = ?1 AND state = 1",
    [Q_SCHEMA_LATEST] = "SELECT version, schema_json FROM schemas WHERE table_name = ?1"
                        " ORDER BY version DESC LIMIT 1",
    [Q_SCHEMA_AT] = "SELECT schema_json FROM schemas WHERE table_name = ?1 AND version = ?2",
    [Q_SCHEMA_INSERT] = "INSERT INTO schemas(table_name, version, schema_json, created_at_us)"
                        " VALUES(?1, ?2, ?3, ?4)",
    [Q_SCHEMA_ALL] = "SELECT version, created_at_us, schema_json FROM schemas WHERE table_name = ?1"
                     " ORDER BY version",
    [Q_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [Q_META_SET] = "INSERT INTO meta(key, value) VALUES(?1, ?2)"
                   " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
};

struct lk_state {
    sqlite3 *db;
    char path[1024];
    sqlite3_stmt *stmt[Q_COUNT];
    lk_buf json; /* reused for schema JSON */
};

/* Maps a SQLite result code to a project code: disk-full and I/O errors keep
   their errno meaning; everything else is a state.db failure. */
static int lk_state_code(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_IOERR:
        return -EIO;
    case SQLITE_NOMEM:
        return -ENOMEM;
    default:
        return LK_ESTATE;
    }
}

static int sq_fail(lk_state *s, int rc, const char *op, lk_error *err)
{
    const char *what = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)
        return lk_error_set(err, LK_ESTATE, "state.db %s is corrupt (%s): %s", s->path, op, what);
    return lk_error_set(err, lk_state_code(rc), "state.db %s: %s: %s (sqlite %d)", s->path, op,
                        what, rc);
}

/* The cached statement q, prepared on first use. */
static sqlite3_stmt *st(lk_state *s, int q, lk_error *err, int *rc_out)
{
    if (!s->stmt[q]) {
        int rc = sqlite3_prepare_v3(s->db, lk_state_sql[q], -1, SQLITE_PREPARE_PERSISTENT,
                                    &s->stmt[q], NULL);
        if (rc != SQLITE_OK) {
            *rc_out = sq_fail(s, rc, "prepare", err);
            s->stmt[q] = NULL;
            return NULL;
        }
    }
    return s->stmt[q];
}

static void done(sqlite3_stmt *q)
{
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
}

/* Steps a statement expected to finish with SQLITE_DONE, then resets it. */
static int run(lk_state *s, sqlite3_stmt *q, const char *op, lk_error *err)
{
    int rc = sqlite3_step(q);
    int r = 0;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) r = sq_fail(s, rc, op, err);
    done(q);
    return r;
}

#define GET(var, q)                                                                                \
    do {                                                                                           \
        int grc_ = 0;                                                                              \
        var = st(s, q, err, &grc_);                                                                \
        if (!var) return grc_;                                                                     \
    } while (0)

static int tx_begin(lk_state *s, const char *op, lk_error *err)
{
    sqlite3_stmt *q;
    GET(q, Q_BEGIN);
    int r = run(s, q, "BEGIN IMMEDIATE", err);
    if (r < 0) lk_error_prefix(err, "%s", op);
    return r;
}

static void tx_rollback(lk_state *s)
{
    if (sqlite3_get_autocommit(s->db))
        return; /* SQLite already rolled back (e.g. after SQLITE_FULL) */
    lk_error ignored;
    int rc = 0;
    sqlite3_stmt *q = st(s, Q_ROLLBACK, &ignored, &rc);
    if (!q || run(s, q, "ROLLBACK", &ignored) < 0)
        LK_ERROR("state.db %s: rollback failed: %s", s->path, sqlite3_errmsg(s->db));
}

/* COMMIT, or (on failure, injected or real) roll back and return the error. */
static int tx_commit(lk_state *s, const char *op, lk_error *err)
{
    int f = lk_fault_check("state.commit");
    if (f != 0) {
        tx_rollback(s);
        if (f > 0) f = -EIO;
        return lk_error_errno(err, f, "state.db %s: %s: commit (injected fault)", s->path, op);
    }
    sqlite3_stmt *q;
    int rc = 0;
    q = st(s, Q_COMMIT, err, &rc);
    if (!q) {
        tx_rollback(s);
        return rc;
    }
    int r = run(s, q, "COMMIT", err);
    if (r < 0) {
        lk_error_prefix(err, "%s", op);
        tx_rollback(s);
    }
    return r;
}

/* Ends a transaction: commit if r is 0, roll back otherwise. */
static int tx_end(lk_state *s, int r, const char *op, lk_error *err)
{
    if (r < 0) {
        tx_rollback(s);
        return r;
    }
    return tx_commit(s, op, err);
}

static int pragma_text(lk_state *s, const char *sql, char *out, size_t cap, lk_error *err)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
    if (rc != SQLITE_OK) return sq_fail(s, rc, sql, err);
    out[0] = 0;
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(q, 0);
        snprintf(out, cap, "%s", t ? (const char *)t : "");
        rc = SQLITE_DONE;
    }
    int r = rc == SQLITE_DONE ? 0 : sq_fail(s, rc, sql, err);
    sqlite3_finalize(q);
    return r;
}

static int migrate(lk_state *s, lk_error *err)
{
    char v[32];
    int r = pragma_text(s, "PRAGMA user_version", v, sizeof v, err);
    if (r < 0) return r;
    if (atoi(v) == LK_STATE_NMIGRATIONS) return 0;
    /* Re-read under the write lock: another process may have migrated. */
    if ((r = tx_begin(s, "migrate", err)) < 0) return r;
    if ((r = pragma_text(s, "PRAGMA user_version", v, sizeof v, err)) < 0)
        return tx_end(s, r, "migrate", err);
    int ver = atoi(v);
    if (ver > LK_STATE_NMIGRATIONS) {
        r = lk_error_set(err, LK_ESTATE,
                         "state.db %s: schema version %d is newer than this binary (%d)", s->path,
                         ver, LK_STATE_NMIGRATIONS);
        return tx_end(s, r, "migrate", err);
    }
    for (; ver < LK_STATE_NMIGRATIONS && r == 0; ver++) {
        char *msg = NULL;
        int rc = sqlite3_exec(s->db, lk_state_migrations[ver], NULL, NULL, &msg);
        if (rc == SQLITE_OK) {
            char sql[64];
            snprintf(sql, sizeof sql, "PRAGMA user_version = %d", ver + 1);
            rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
        }
        if (rc != SQLITE_OK)
            r = lk_error_set(err, lk_state_code(rc), "state.db %s: migration to v%d: %s", s->path,
                             ver + 1, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        if (r == 0) LK_INFO("state.db migrated path=%s version=%d", s->path, ver + 1);
    }
    return tx_end(s, r, "migrate", err);
}

/* One attempt; *busy = 1 when it failed because another connection held a
   lock SQLite does not wait for (a first WAL switch, a concurrent creation). */
static int open_once(const char *path, lk_state **out, lk_error *err, int *busy)
{
    *out = NULL;
    *busy = 0;
    lk_state *s = calloc(1, sizeof *s);
    if (!s) return lk_error_errno(err, -ENOMEM, "state.db %s: open", path);
    snprintf(s->path, sizeof s->path, "%s", path);
    lk_buf_init(&s->json);
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    int r = 0;
    char v[256];
    if (rc != SQLITE_OK) {
        r = sq_fail(s, rc, "open", err);
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, LK_STATE_BUSY_MS);
    if ((r = pragma_text(s, "PRAGMA journal_mode = WAL", v, sizeof v, err)) < 0) goto fail;
    if (strcmp(v, "wal") != 0) {
        r = lk_error_set(err, LK_ESTATE, "state.db %s: cannot enable WAL (journal_mode=%s)", path,
                         v);
        goto fail;
    }
    if ((r = pragma_text(s, "PRAGMA synchronous = FULL", v, sizeof v, err)) < 0 ||
        (r = pragma_text(s, "PRAGMA foreign_keys = ON", v, sizeof v, err)) < 0)
        goto fail;
    if ((r = pragma_text(s, "PRAGMA quick_check", v, sizeof v, err)) < 0) goto fail;
    if (strcmp(v, "ok") != 0) {
        r = lk_error_set(err, LK_ESTATE, "state.db %s is corrupt: quick_check: %s", path, v);
        goto fail;
    }
    if ((r = migrate(s, err)) < 0) goto fail;
    *out = s;
    return 0;
fail:
    if (s->db) {
        int ec = sqlite3_extended_errcode(s->db) & 0xff;
        *busy = ec == SQLITE_BUSY || ec == SQLITE_LOCKED;
    }
    lk_state_close(&s);
    return r;
}

int lk_state_open(const char *path, lk_state **out, lk_error *err)
{
    int busy = 0;
    for (int attempt = 0;; attempt++) {
        int r = open_once(path, out, err, &busy);
        if (r == 0 || !busy || attempt == 100)
            return r;
        usleep(10000); /* several processes opening a new state.db at once */
    }
}

void lk_state_close(lk_state **sp)
{
    lk_state *s = *sp;
    if (!s) return;
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    if (s->db && sqlite3_close(s->db) != SQLITE_OK)
        LK_ERROR("state.db %s: close: %s", s->path, sqlite3_errmsg(s->db));
    lk_buf_free(&s->json);
    free(s);
    *sp = NULL;
}

static void col_text(sqlite3_stmt *q, int i, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

/* A files row selected by FILE_COLS into f. */
static void file_from_row(sqlite3_stmt *q, lk_state_file *f)
{
    memset(f, 0, sizeof *f);
    f->id = sqlite3_column_int64(q, 0);
    col_text(q, 1, f->path, sizeof f->path);
    f->size = sqlite3_column_int64(q, 2);
    f->mtime_us = sqlite3_column_int64(q, 3);
    f->inode = sqlite3_column_int64(q, 4);
    f->device = sqlite3_column_int64(q, 5);
    f->state = (lk_file_state)sqlite3_column_int(q, 6);
    f->batch_id = sqlite3_column_int64(q, 7);
    f->discovered_at_us = sqlite3_column_int64(q, 8);
    col_text(q, 9, f->error, sizeof f->error);
}

/* ---- files ---- */

int lk_state_file_add(lk_state *s, lk_state_file *f, int *is_new, lk_error *err)
{
    sqlite3_stmt *ins, *sel;
    GET(ins, Q_FILE_INSERT);
    GET(sel, Q_FILE_ID);
    int r = tx_begin(s, "file add", err);
    if (r < 0) return r;
    if (f->discovered_at_us == 0) f->discovered_at_us = lk_time_now_us();
    sqlite3_bind_text(ins, 1, f->path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 2, f->size);
    sqlite3_bind_int64(ins, 3, f->mtime_us);
    sqlite3_bind_int64(ins, 4, f->inode);
    sqlite3_bind_int64(ins, 5, f->device);
    sqlite3_bind_int64(ins, 6, f->discovered_at_us);
    r = run(s, ins, "file add: insert", err);
    if (r == 0) {
        *is_new = sqlite3_changes(s->db) > 0;
        sqlite3_bind_text(sel, 1, f->path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(sel, 2, f->size);
        sqlite3_bind_int64(sel, 3, f->mtime_us);
        int rc = sqlite3_step(sel);
        if (rc == SQLITE_ROW)
            f->id = sqlite3_column_int64(sel, 0);
        else
            r = rc == SQLITE_DONE
                    ? lk_error_set(err, LK_ESTATE, "state.db %s: file add: %s vanished", s->path,
                                   f->path)
                    : sq_fail(s, rc, "file add: select id", err);
        done(sel);
    }
    return tx_end(s, r, "file add", err);
}

static int read_files(lk_state *s, sqlite3_stmt *q, const char *op, lk_state_file **out, int *n,
                      lk_error *err)
{
    *out = NULL;
    *n = 0;
    int cap = 0, rc;
    lk_state_file *v = NULL;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            lk_state_file *nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv) {
                free(v);
                done(q);
                return lk_error_errno(err, -ENOMEM, "state.db %s: %s", s->path, op);
            }
            v = nv;
        }
        file_from_row(q, &v[(*n)++]);
    }
    done(q);
    if (rc != SQLITE_DONE) {
        free(v);
        *n = 0;
        return sq_fail(s, rc, op, err);
    }
    *out = v;
    return 0;
}

int lk_state_files_pending(lk_state *s, int limit, lk_state_file **out, int *n, lk_error *err)
{
    sqlite3_stmt *q;
    GET(q, Q_FILES_PENDING);
    sqlite3_bind_int(q, 1, limit);
    return read_files(s, q, "files pending", out, n, err);
}

int lk_state_files_all(lk_state *s, lk_state_file **out, int *n, lk_error *err)
{
    sqlite3_stmt *q;
    GET(q, Q_FILES_ALL);
    return read_files(s, q, "files all", out, n, err);
}

int lk_state_file_known(lk_state *s, const char *path, int *known, lk_error *err)
{
    sqlite3_stmt *q;
    GET(q, Q_FILE_KNOWN);
    sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    done(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sq_fail(s, rc, "file known", err);
    *known = rc == SQLITE_ROW;
    return 0;
}

int lk_state_file_planned_end(lk_state *s, int64_t file_id, int64_t *end, lk_error *err)
{
    sqlite3_stmt *q;
    GET(q, Q_FILE_PLANNED_END);
    sqlite3_bind_int64(q, 1, file_id);
    int rc = sqlite3_step(q);
    *end = -1;
    if (rc == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL)
        *end = sqlite3_column_int64(q, 0);
    done(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sq_fail(s, rc, "file planned end", err);
    return 0;
}

/* Sets a file's error text by statement q (skip: and its state; note: alone), in a transaction;
   a skip of an unknown id is an error (a note of a skipped file changes nothing). */
static int file_set_error(lk_state *s, int q_id, const char *what, int must_change,
                          int64_t file_id, const char *why, lk_error *err)
{
    sqlite3_stmt *q;
    GET(q, q_id);
    int r = tx_begin(s, what, err);
    if (r < 0) return r;
    sqlite3_bind_int64(q, 1, file_id);
    sqlite3_bind_text(q, 2, why ? why : "", -1, SQLITE_STATIC);
    r = run(s, q, what, err);
    if (r == 0 && must_change && sqlite3_changes(s->db) == 0)
        r = lk_error_set(err, LK_ENOTFOUND, "state.db %s: %s: no file id %lld", s->path, what,
                         (long long)file_id);
    return tx_end(s, r, what, err);
}

int lk_state_file_skip(lk_state *s, int64_t file_id, const char *why, lk_error *err)
{
    return file_set_error(s, Q_FILE_SKIP, "file skip", 1, file_id, why, err);
}

int lk_state_file_note(lk_state *s, int64_t file_id, const char *why, lk_error *err)
{
    return file_set_error(s, Q_FILE_NOTE, "file note", 0, file_id, why, err);
}

/* ---- batches ---- */

int lk_state_plan_batch(lk_state *s, const lk_state_range *ranges, int n, int64_t *batch_id,
                        lk_error *err)
{
    sqlite3_stmt *next, *ins, *rng, *plan;
    GET(next, Q_BATCH_NEXT_ID);
    GET(ins, Q_BATCH_INSERT);
    GET(rng, Q_RANGE_INSERT);
    GET(plan, Q_FILE_PLAN);
    int r = tx_begin(s, "plan batch", err);
    if (r < 0) return r;
    int64_t id = 0, bytes = 0;
    int rc = sqlite3_step(next);
    if (rc == SQLITE_ROW)
        id = sqlite3_column_int64(next, 0);
    else
        r = sq_fail(s, rc, "plan batch: next id", err);
    done(next);
    for (int i = 0; i < n; i++)
        bytes += ranges[i].end - ranges[i].start;
    if (r == 0) {
        sqlite3_bind_int64(ins, 1, id);
        sqlite3_bind_int64(ins, 2, lk_time_now_us());
        sqlite3_bind_int64(ins, 3, bytes);
        r = run(s, ins, "plan batch: insert batch", err);
    }
    for (int i = 0; i < n && r == 0; i++) {
        sqlite3_bind_int64(rng, 1, id);
        sqlite3_bind_int(rng, 2, i);
        sqlite3_bind_int64(rng, 3, ranges[i].file_id);
        sqlite3_bind_int64(rng, 4, ranges[i].start);
        sqlite3_bind_int64(rng, 5, ranges[i].end);
        r = run(s, rng, "plan batch: insert range", err);
        if (r == 0) {
            sqlite3_bind_int64(plan, 1, ranges[i].file_id);
            sqlite3_bind_int64(plan, 2, id);
            r = run(s, plan, "plan batch: mark file planned", err);
        }
    }
    r = tx_end(s, r, "plan batch", err);
    if (r == 0) *batch_id = id;
    return r;
}

int lk_state_batch_ranges(lk_state *s, int64_t batch_id, lk_state_range **out, int *n,
                          lk_error *err)
{
    sqlite3_stmt *q;
    GET(q, Q_RANGES);
    *out = NULL;
    *n = 0;
    sqlite3_bind_int64(q, 1, batch_id);
    int cap = 0, rc;
    lk_state_range *v = NULL;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            lk_state_range *nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv) {
                free(v);
                done(q);
                *n = 0;
                return lk_error_errno(err, -ENOMEM, "state.db %s: batch ranges", s->path);
            }
            v = nv;
        }
        lk_state_range *g = &v[(*n)++];
        g->file_id = sqlite3_column_int64(q, 0);
        col_text(q, 1, g->path, sizeof g->path);
        g->start = sqlite3_column_int64(q, 2);
        g->end = sqlite3_column_int64(q, 3);
        g->file_size = sqlite3_column_int64(q, 4);
        g->mtime_us = sqlite3_column_int64(q, 5);
        g->inode = sqlite3_column_int64(q, 6);
        g->head_hash = sqlite3_column_int64(q, 7);
    }
    done(q);
    if (rc != SQLITE_DONE) {
        free(v);
        *n = 0;
        return sq_fail(s, rc, "batch ranges", err);
    }
    *out = v;
    return 0;
}

int lk_state_batch_get(lk_state *s, int64_t batch_id, lk_state_batch *out, lk_error *err)
{
    sqlite3_stmt *q;
    GET(q, Q_BATCH_GET);
    sqlite3_bind_int64(q, 1, batch_id);
    int rc = sqlite3_step(q), r = 0;
    if (rc == SQLITE_ROW) {
        out->id = sqlite3_column_int64(q, 0);
        out->state = (lk_batch_state)sqlite3_column_int(q, 1);
        out->n_chunks = sqlite3_column_int(q, 2);
        out->planned_at_us = sqlite3_column_int64(q, 3);
        out->committed_at_us = sqlite3_column_int64(q, 4);
        out->bytes = sqlite3_column_int64(q, 5);
        out->gen = sqlite3_column_int(q, 6);
    } else if (rc == SQLITE_DONE) {
        r = lk_error_set(err, LK_ENOTFOUND, "state.db %s: no batch %lld", s->path,
                         (long long)batch_id);
    } else {
        r = sq_fail(s, rc, "batch get", err);
    }
    done(q);
    return r;
}

int lk_state_seal_batch(lk_state *s, int64_t batch_id, int32_t n_chunks, lk_error *err)
{
    sqlite3_stmt *q;
    GET(q, Q_BATCH_SEAL);
    int r = tx_begin(s, "seal batch", err);
    if (r < 0) return r;
    sqlite3_bind_int64(q, 1, batch_id);
    sqlite3_bind_int(q, 2, n_chunks);
    r = run(s, q, "seal batch", err);
    if (r == 0 && sqlite3_changes(s->db) == 0)
        r = lk_error_set(err, LK_ESTATE, "state.db %s: seal batch %lld: not a planned batch",
                         s->path, (long long)batch_id);
    return tx_end(s, r, "seal batch", err);
}

int lk_state_batches_uncommitted(lk_state *s, int64_t **out, int *n, lk_error *err)
{
    sqlite3_stmt *q;
    GET(q, Q_UNCOMMITTED);
    *out = NULL;
    *n = 0;
    int cap = 0, rc;
    int64_t *v = NULL;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            int64_t *nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv) {
                free(v);
                done(q);
                *n = 0;
                return lk_error_errno(err, -ENOMEM, "state.db %s: batches uncommitted", s->path);
            }
            v = nv;
        }
        v[(*n)++] = sqlite3_column_int64(q, 0);
    }
    done(q);
    if (rc != SQLITE_DONE) {
        free(v);
        *n = 0;
        return sq_fail(s, rc, "batches uncommitted", err);
    }
    *out = v;
    return 0;
}

int lk_state_last_committed_batch(lk_state *s, int64_t *id, lk_error *err)
{
    sqlite3_stmt *q;
    GET(q, Q_LAST_COMMITTED);
    int rc = sqlite3_step(q), r = 0;
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(q, 0);
    else
        r = sq_fail(s, rc, "last committed batch", err);
    done(q);
    return r;
}

/* ---- commits ---- */

int lk_state_record_commit(lk_state *s, int64_t batch_id, const char *table, int64_t version,
                           int64_t rows, int64_t files, lk_error *err)
{
    sqlite3_stmt *ins, *sel;
    GET(ins, Q_COMMIT_INSERT);
    GET(sel, Q_COMMIT_VERSION);
    int r = tx_begin(s, "record commit", err);
    if (r < 0) return r;
    sqlite3_bind_int64(ins, 1, batch_id);
    sqlite3_bind_text(ins, 2, table, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 3, version);
    sqlite3_bind_int64(ins, 4, rows);
    sqlite3_bind_int64(ins, 5, files);
    sqlite3_bind_int64(ins, 6, lk_time_now_us());
    r = run(s, ins, "record commit", err);
    if (r == 0 && sqlite3_changes(s->db) == 0) {
        /* idempotent replay: fine if it names the same version */
        sqlite3_bind_int64(sel, 1, batch_id);
        sqlite3_bind_text(sel, 2, table, -1, SQLITE_STATIC);
        int rc = sqlite3_step(sel);
        if (rc == SQLITE_ROW && sqlite3_column_int64(sel, 0) != version)
            r = lk_error_set(err, LK_ESTATE,
                             "state.db %s: record commit: batch %lld in table '%s' already at "
                             "version %lld, not %lld",
                             s->path, (long long)batch_id, table,
                             (long long)sqlite3_column_int64(sel, 0), (long long)version);
        else if (rc != SQLITE_ROW)
            r = sq_fail(s, rc, "record commit: read back", err);
        done(sel);
    }
    return tx_end(s, r, "record commit", err);
}

int lk_state_mark_committed(lk_state *s, int64_t batch_id, lk_error *err)
{
    sqlite3_stmt *b, *f;
    GET(b, Q_BATCH_MARK);
    GET(f, Q_FILES_MARK);
    int r = tx_begin(s, "mark committed", err);
    if (r < 0) return r;
    sqlite3_bind_int64(b, 1, batch_id);
    sqlite3_bind_int64(b, 2, lk_time_now_us());
    r = run(s, b, "mark committed: batch", err);
    if (r == 0 && sqlite3_changes(s->db) == 0)
        r = lk_error_set(err, LK_ENOTFOUND, "state.db %s: mark committed: no batch %lld", s->path,
                         (long long)batch_id);
    if (r == 0) {
        sqlite3_bind_int64(f, 1, batch_id);
        r = run(s, f, "mark committed: files", err);
    }
    return tx_end(s, r, "mark committed", err);
}

/* ---- schemas ---- */

static int parse_schema(lk_state *s, const char *table, int version, const unsigned char *json,
                        int len, lk_schema **out, lk_error *err)
{
    int r = lk_schema_from_json((const char *)json, (size_t)len, out, err);
    if (r < 0) lk_error_prefix(err, "state.db %s: schema of '%s' v%d", s->path, table, version);
    return r;
}

int lk_state_schema_get(lk_state *s, const char *table, lk_schema **out, int *version,
                        lk_error *err)
{
    sqlite3_stmt *q;
    GET(q, Q_SCHEMA_LATEST);
    *out = NULL;
    *version = 0;
    sqlite3_bind_text(q, 1, table, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q), r = 0;
    if (rc == SQLITE_ROW) {
        *version = sqlite3_column_int(q, 0);
        r = parse_schema(s, table, *version, sqlite3_column_text(q, 1), sqlite3_column_bytes(q, 1),
                         out, err);
    } else if (rc != SQLITE_DONE) {
        r = sq_fail(s, rc, "schema get", err);
    }
    done(q);
    if (r < 0) *version = 0;
    return r;
}

int lk_state_schema_at(lk_state *s, const char *table, int version, lk_schema **out, lk_error *err)
{
    sqlite3_stmt *q;
    GET(q, Q_SCHEMA_AT);
    *out = NULL;
    sqlite3_bind_text(q, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, version);
    int rc = sqlite3_step(q), r = 0;
    if (rc == SQLITE_ROW)
        r = parse_schema(s, table, version, sqlite3_column_text(q, 0), sqlite3_column_bytes(q, 0),
                         out, err);
    else if (rc == SQLITE_DONE)
        r = lk_error_set(err, LK_ENOTFOUND, "state.db %s: no schema version %d of table '%s'",
                         s->path, version, table);
    else
        r = sq_fail(s, rc, "schema at", err);
    done(q);
    return r;
}

int lk_state_schema_history(lk_state *s, const char *table, lk_state_schema_rev **out, int *n,
                            lk_error *err)
{
    sqlite3_stmt *q;
    GET(q, Q_SCHEMA_ALL);
    *out = NULL;
    *n = 0;
    int cap = 0, rc, r = 0;
    sqlite3_bind_text(q, 1, table, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            lk_state_schema_rev *g = realloc(*out, (size_t)cap * sizeof **out);
            if (!g)
                abort();
            *out = g;
        }
        lk_state_schema_rev *v = &(*out)[*n];
        v->version = sqlite3_column_int(q, 0);
        v->created_at_us = sqlite3_column_int64(q, 1);
        v->schema = NULL;
        r = parse_schema(s, table, v->version, sqlite3_column_text(q, 2),
                         sqlite3_column_bytes(q, 2), &v->schema, err);
        if (r < 0)
            break;
        (*n)++;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = sq_fail(s, rc, "schema history", err);
    done(q);
    if (r < 0) {
        lk_state_schema_history_free(out, *n);
        *n = 0;
    }
    return r;
}

void lk_state_schema_history_free(lk_state_schema_rev **revs, int n)
{
    for (int i = 0; *revs && i < n; i++)
        lk_schema_destroy(&(*revs)[i].schema);
    free(*revs);
    *revs = NULL;
}

int lk_state_schema_put(lk_state *s, const char *table, const lk_schema *schema, int *version,
                        lk_error *err)
{
    sqlite3_stmt *latest, *ins;
    GET(latest, Q_SCHEMA_LATEST);
    GET(ins, Q_SCHEMA_INSERT);
    lk_buf_reset(&s->json);
    lk_schema_to_json(schema, &s->json);
    int r = tx_begin(s, "schema put", err);
    if (r < 0) return r;
    int cur = 0, same = 0;
    sqlite3_bind_text(latest, 1, table, -1, SQLITE_STATIC);
    int rc = sqlite3_step(latest);
    if (rc == SQLITE_ROW) {
        cur = sqlite3_column_int(latest, 0);
        /* the stored text came from lk_schema_to_json too, so equal schemas
           have equal text */
        same = (size_t)sqlite3_column_bytes(latest, 1) == s->json.len &&
               memcmp(sqlite3_column_text(latest, 1), s->json.data, s->json.len) == 0;
    } else if (rc != SQLITE_DONE) {
        r = sq_fail(s, rc, "schema put: latest", err);
    }
    done(latest);
    if (r == 0 && !same) {
        sqlite3_bind_text(ins, 1, table, -1, SQLITE_STATIC);
        sqlite3_bind_int(ins, 2, cur + 1);
        sqlite3_bind_text(ins, 3, s->json.data, (int)s->json.len, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 4, lk_time_now_us());
        r = run(s, ins, "schema put: insert", err);
        cur++;
    }
    r = tx_end(s, r, "schema put", err);
    if (r == 0) *version = cur;
    return r;
}

/* ---- meta ---- */

int lk_state_meta_get(lk_state *s, const char *key, char *out, size_t cap, int *found,
                      lk_error *err)
{
    sqlite3_stmt *q;
    GET(q, Q_META_GET);
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q), r = 0;
    *found = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW)
        col_text(q, 0, out, cap);
    else if (rc == SQLITE_DONE && cap)
        out[0] = 0;
    else if (rc != SQLITE_DONE)
        r = sq_fail(s, rc, "meta get", err);
    done(q);
    return r;
}

int lk_state_meta_set(lk_state *s, const char *key, const char *value, lk_error *err)
{
    sqlite3_stmt *q;
    GET(q, Q_META_SET);
    int r = tx_begin(s, "meta set", err);
    if (r < 0) return r;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, value, -1, SQLITE_STATIC);
    r = run(s, q, "meta set", err);
    return tx_end(s, r, "meta set", err);
}

/* ---- event_metrics' window state ---- */

int lk_state_windows_put(lk_state *s, int64_t batch, int64_t watermark_us, const void *state,
                         size_t len, const char *open_file, lk_error *err)
{
    sqlite3_stmt *q, *d;
    GET(q, Q_WINDOWS_PUT);
    GET(d, Q_WINDOWS_PRUNE);
    int r = tx_begin(s, "windows put", err);
    if (r < 0) return r;
    sqlite3_bind_int64(q, 1, batch);
    if (watermark_us == INT64_MIN)
        sqlite3_bind_null(q, 2);
    else
        sqlite3_bind_int64(q, 2, watermark_us);
    sqlite3_bind_blob64(q, 3, len ? state : "", (sqlite3_uint64)len, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, lk_time_now_us());
    if (open_file && open_file[0])
        sqlite3_bind_text(q, 5, open_file, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, 5);
    r = run(s, q, "windows put", err);
    if (r == 0) {
        sqlite3_bind_int64(d, 1, batch - 1); /* the one before stays: a restart may need it */
        r = run(s, d, "windows prune", err);
    }
    return tx_end(s, r, "windows put", err);
}

int lk_state_windows_get(lk_state *s, int64_t batch, int64_t *found_batch, int64_t *watermark_us,
                         void **state, size_t *len, char *open_file, size_t open_cap,
                         lk_error *err)
{
    sqlite3_stmt *q;
    GET(q, Q_WINDOWS_GET);
    sqlite3_bind_int64(q, 1, batch);
    *found_batch = -1;
    *watermark_us = INT64_MIN;
    if (state) *state = NULL;
    if (len) *len = 0;
    if (open_file && open_cap) open_file[0] = 0;
    int rc = sqlite3_step(q), r = 0;
    if (rc == SQLITE_ROW) {
        *found_batch = sqlite3_column_int64(q, 0);
        if (sqlite3_column_type(q, 1) != SQLITE_NULL) *watermark_us = sqlite3_column_int64(q, 1);
        if (state) {
            const void *b = sqlite3_column_blob(q, 2);
            size_t n = (size_t)sqlite3_column_bytes(q, 2);
            *state = malloc(n ? n : 1);
            if (!*state) abort();
            if (n) memcpy(*state, b, n);
            *len = n;
        }
        if (open_file && open_cap && sqlite3_column_type(q, 3) != SQLITE_NULL)
            col_text(q, 3, open_file, open_cap);
    } else if (rc != SQLITE_DONE) {
        r = sq_fail(s, rc, "windows get", err);
    }
    done(q);
    return r;
}

/* ---- transform.dedupe's state and drop lists ---- */

int lk_state_dedupe_put(lk_state *s, int64_t batch, int kind, int64_t n, const void *data,
                        size_t len, lk_error *err)
{
    sqlite3_stmt *q, *d;
    GET(q, Q_DEDUPE_PUT);
    GET(d, Q_DEDUPE_PRUNE);
    int r = tx_begin(s, "dedupe put", err);
    if (r < 0) return r;
    sqlite3_bind_int64(q, 1, batch);
    sqlite3_bind_int(q, 2, kind);
    sqlite3_bind_int64(q, 3, n);
    sqlite3_bind_blob64(q, 4, len ? data : "", (sqlite3_uint64)len, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, lk_time_now_us());
    r = run(s, q, "dedupe put", err);
    if (r == 0 && kind == LK_DEDUPE_STATE) {
        /* the state of batch - 1 stays (a restart may need it), and so do
           the drop lists of batch - 1 and later */
        sqlite3_bind_int64(d, 1, batch - 1);
        r = run(s, d, "dedupe prune", err);
    }
    return tx_end(s, r, "dedupe put", err);
}

int lk_state_dedupe_get(lk_state *s, int64_t batch, int exact, int kind, int64_t *found_batch,
                        int64_t *n, void **data, size_t *len, lk_error *err)
{
    sqlite3_stmt *q;
    GET(q, Q_DEDUPE_GET);
    sqlite3_bind_int64(q, 1, batch);
    sqlite3_bind_int64(q, 2, exact ? batch : INT64_MIN);
    sqlite3_bind_int(q, 3, kind);
    *found_batch = -1;
    *n = 0;
    if (data) *data = NULL;
    if (len) *len = 0;
    int rc = sqlite3_step(q), r = 0;
    if (rc == SQLITE_ROW) {
        *found_batch = sqlite3_column_int64(q, 0);
        *n = sqlite3_column_int64(q, 1);
        if (data) {
            const void *b = sqlite3_column_blob(q, 2);
            size_t k = (size_t)sqlite3_column_bytes(q, 2);
            *data = malloc(k ? k : 1);
            if (!*data) abort();
            if (k) memcpy(*data, b, k);
            *len = k;
        }
    } else if (rc != SQLITE_DONE) {
        r = sq_fail(s, rc, "dedupe get", err);
    }
    done(q);
    return r;
}

/* ---- fsck ---- */

int lk_state_integrity(lk_state *s, char *out, size_t cap, lk_error *err)
{
    return pragma_text(s, "PRAGMA integrity_check(20)", out, cap, err);
}

/* Runs the statements of sql (printf-formatted by SQLite) in one write
   transaction. */
static int exec_tx(lk_state *s, const char *op, lk_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *sql = sqlite3_vmprintf(fmt, ap);
    va_end(ap);
    if (!sql) return lk_error_errno(err, -ENOMEM, "state.db %s: %s", s->path, op);
    int r = tx_begin(s, op, err);
    if (r == 0) {
        int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
        if (rc != SQLITE_OK) r = sq_fail(s, rc, op, err);
        r = tx_end(s, r, op, err);
    }
    sqlite3_free(sql);
    return r;
}

int lk_state_seed_committed(lk_state *s, int64_t batch_id, lk_error *err)
{
    int64_t now = lk_time_now_us();
    return exec_tx(s, "seed committed batch", err,
                   "INSERT INTO batches(id, state, n_chunks, planned_at_us, committed_at_us, bytes)"
                   " VALUES(%lld, 2, 0, %lld, %lld, 0)",
                   (long long)batch_id, (long long)now, (long long)now);
}

int lk_state_seed_range(lk_state *s, int64_t batch_id, int64_t file_id, int64_t start, int64_t end,
                        lk_error *err)
{
    return exec_tx(s, "seed committed range", err,
                   "INSERT INTO batch_ranges(batch_id, seq, file_id, start, end)"
                   " SELECT %lld, COALESCE(MAX(seq) + 1, 0), %lld, %lld, %lld FROM batch_ranges"
                   " WHERE batch_id = %lld",
                   (long long)batch_id, (long long)file_id, (long long)start, (long long)end,
                   (long long)batch_id);
}

int lk_state_file_committed(lk_state *s, int64_t file_id, int64_t batch_id, lk_error *err)
{
    return exec_tx(s, "mark file committed", err,
                   "UPDATE files SET state = 2, batch_id = %lld WHERE id = %lld",
                   (long long)batch_id, (long long)file_id);
}

int lk_state_uncommit_after(lk_state *s, int64_t batch_id, lk_error *err)
{
    return exec_tx(s, "uncommit batches", err,
                   "DELETE FROM commits WHERE batch_id > %lld;"
                   "UPDATE files SET state = 1 WHERE batch_id > %lld AND state = 2;"
                   "UPDATE batches SET state = 0, n_chunks = -1, committed_at_us = 0"
                   " WHERE id > %lld",
                   (long long)batch_id, (long long)batch_id, (long long)batch_id);
}

int lk_state_reseal_batch(lk_state *s, int64_t batch_id, int32_t gen, int32_t n_chunks,
                          lk_error *err)
{
    return exec_tx(s, "reseal batch", err,
                   "UPDATE batches SET state = 1, gen = %d, n_chunks = %d"
                   " WHERE id = %lld AND state <> 2",
                   (int)gen, (int)n_chunks, (long long)batch_id);
}

int lk_state_batch_drop_range(lk_state *s, int64_t batch_id, int64_t file_id, lk_error *err)
{
    return exec_tx(s, "drop a range of a batch", err,
                   "DELETE FROM batch_ranges WHERE batch_id = %lld AND file_id = %lld"
                   " AND batch_id NOT IN (SELECT id FROM batches WHERE state = 2)",
                   (long long)batch_id, (long long)file_id);
}

/* ---- discovery, clean_source and `source list` ----
   These run at discovery rate (a few per file), not per row: statements are
   prepared per call, which keeps them out of the shared statement cache. */

static int dq_prepare(lk_state *s, const char *sql, sqlite3_stmt **q, const char *op,
                      lk_error *err)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, q, NULL);
    if (rc != SQLITE_OK) {
        *q = NULL;
        return sq_fail(s, rc, op, err);
    }
    return 0;
}

/* Reads one file row (FILE_COLS + head_hash) from q; *found 0 if none. */
static int dq_one_file(lk_state *s, sqlite3_stmt *q, const char *op, lk_state_file *out,
                       int64_t *head_hash, int *found, lk_error *err)
{
    int rc = sqlite3_step(q);
    *found = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW && out) {
        file_from_row(q, out);
        if (head_hash)
            *head_hash = sqlite3_column_int64(q, 10);
    }
    int r = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_fail(s, rc, op, err);
    sqlite3_finalize(q);
    return r;
}

#define DQ_FILE_COLS                                                                               \
    "SELECT id, path, size, mtime_us, inode, device, state, COALESCE(batch_id, -1),"               \
    " discovered_at_us, error, head_hash FROM files "

int lk_state_file_lookup(lk_state *s, const char *path, int64_t size, int64_t mtime_us,
                         lk_state_file *out, int *found, lk_error *err)
{
    sqlite3_stmt *q;
    int r = dq_prepare(s, DQ_FILE_COLS "WHERE path = ?1 AND size = ?2 AND mtime_us = ?3", &q,
                       "file lookup", err);
    if (r < 0) return r;
    sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, size);
    sqlite3_bind_int64(q, 3, mtime_us);
    return dq_one_file(s, q, "file lookup", out, NULL, found, err);
}

int lk_state_file_taken(lk_state *s, const char *path, lk_state_file *out, int *found,
                        lk_error *err)
{
    sqlite3_stmt *q;
    int r = dq_prepare(s, DQ_FILE_COLS "WHERE path = ?1 AND state <> 3 ORDER BY id DESC LIMIT 1",
                       &q, "file taken", err);
    if (r < 0) return r;
    sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
    return dq_one_file(s, q, "file taken", out, NULL, found, err);
}

int lk_state_file_same(lk_state *s, int64_t device, int64_t inode, int64_t size,
                       int64_t mtime_us, int64_t head_hash, lk_state_file *out, int *found,
                       lk_error *err)
{
    sqlite3_stmt *q;
    int r = dq_prepare(s,
                       DQ_FILE_COLS "WHERE inode = ?2 AND size = ?3 AND mtime_us = ?4"
                                    " AND device = ?1 AND head_hash = ?5 AND state <> 3"
                                    " ORDER BY id DESC LIMIT 1",
                       &q, "file identity", err);
    if (r < 0) return r;
    sqlite3_bind_int64(q, 1, device);
    sqlite3_bind_int64(q, 2, inode);
    sqlite3_bind_int64(q, 3, size);
    sqlite3_bind_int64(q, 4, mtime_us);
    sqlite3_bind_int64(q, 5, head_hash);
    return dq_one_file(s, q, "file identity", out, NULL, found, err);
}

int lk_state_files_to_clean(lk_state *s, int64_t committed_before_us, int limit,
                            lk_state_file **out, int *n, lk_error *err)
{
    sqlite3_stmt *q;
    int r = dq_prepare(s,
                       "SELECT f.id, f.path, f.size, f.mtime_us, f.inode, f.device, f.state,"
                       " COALESCE(f.batch_id, -1), f.discovered_at_us, f.error FROM files f"
                       " JOIN batches b ON b.id = f.batch_id"
                       " WHERE f.state = 2 AND f.cleaned_at_us = 0 AND b.state = 2"
                       " AND b.committed_at_us <= ?1 ORDER BY f.id LIMIT ?2",
                       &q, "files to clean", err);
    if (r < 0) return r;
    sqlite3_bind_int64(q, 1, committed_before_us);
    sqlite3_bind_int(q, 2, limit);
    r = read_files(s, q, "files to clean", out, n, err);
    sqlite3_finalize(q);
    return r;
}

int lk_state_file_committed_check(lk_state *s, int64_t file_id, int *committed, lk_error *err)
{
    sqlite3_stmt *q;
    int r = dq_prepare(s,
                       "SELECT 1 FROM files f JOIN batches b ON b.id = f.batch_id"
                       " WHERE f.id = ?1 AND f.state = 2 AND b.state = 2",
                       &q, "file committed check", err);
    if (r < 0) return r;
    sqlite3_bind_int64(q, 1, file_id);
    int rc = sqlite3_step(q);
    *committed = rc == SQLITE_ROW;
    r = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "file committed check", err);
    sqlite3_finalize(q);
    return r;
}

int lk_state_file_cleaned(lk_state *s, int64_t file_id, const char *note, lk_error *err)
{
    sqlite3_stmt *q;
    int r = dq_prepare(s, "UPDATE files SET cleaned_at_us = ?2, clean_note = ?3 WHERE id = ?1", &q,
                       "file cleaned", err);
    if (r < 0) return r;
    if ((r = tx_begin(s, "file cleaned", err)) < 0) {
        sqlite3_finalize(q);
        return r;
    }
    sqlite3_bind_int64(q, 1, file_id);
    sqlite3_bind_int64(q, 2, lk_time_now_us());
    sqlite3_bind_text(q, 3, note ? note : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc != SQLITE_DONE) r = sq_fail(s, rc, "file cleaned", err);
    sqlite3_finalize(q);
    return tx_end(s, r, "file cleaned", err);
}

int lk_state_file_counts_put(lk_state *s, int64_t batch_id, const lk_state_file_count *v, int n,
                             lk_error *err)
{
    sqlite3_stmt *q;
    int r = dq_prepare(s,
                       "INSERT INTO file_counts(file_id, batch_id, rows, corrupt, rescued)"
                       " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(file_id, batch_id)"
                       " DO UPDATE SET rows = excluded.rows, corrupt = excluded.corrupt,"
                       " rescued = excluded.rescued",
                       &q, "file counts", err);
    if (r < 0) return r;
    if ((r = tx_begin(s, "file counts", err)) < 0) {
        sqlite3_finalize(q);
        return r;
    }
    for (int i = 0; i < n && r == 0; i++) {
        sqlite3_bind_int64(q, 1, v[i].file_id);
        sqlite3_bind_int64(q, 2, batch_id);
        sqlite3_bind_int64(q, 3, v[i].rows);
        sqlite3_bind_int64(q, 4, v[i].corrupt);
        sqlite3_bind_int64(q, 5, v[i].rescued);
        int rc = sqlite3_step(q);
        if (rc != SQLITE_DONE) r = sq_fail(s, rc, "file counts", err);
        sqlite3_reset(q);
    }
    sqlite3_finalize(q);
    return tx_end(s, r, "file counts", err);
}

int lk_state_files_report(lk_state *s, int pending_only, lk_state_file_info **out, int *n,
                          lk_error *err)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *q;
    int r = dq_prepare(
        s,
        "SELECT f.id, f.path, f.size, f.mtime_us, f.inode, f.device, f.state,"
        " COALESCE(f.batch_id, -1), f.discovered_at_us, f.error, f.head_hash, f.cleaned_at_us,"
        " f.clean_note, (SELECT SUM(rows) FROM file_counts c WHERE c.file_id = f.id),"
        " (SELECT SUM(corrupt) FROM file_counts c WHERE c.file_id = f.id),"
        " (SELECT SUM(rescued) FROM file_counts c WHERE c.file_id = f.id)"
        " FROM files f WHERE ?1 = 0 OR f.state IN (0, 1) ORDER BY f.id",
        &q, "files report", err);
    if (r < 0) return r;
    sqlite3_bind_int(q, 1, pending_only);
    int cap = 0, rc;
    lk_state_file_info *v = NULL;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            lk_state_file_info *nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv) abort();
            v = nv;
        }
        lk_state_file_info *i = &v[(*n)++];
        memset(i, 0, sizeof *i);
        file_from_row(q, &i->file);
        i->head_hash = sqlite3_column_int64(q, 10);
        i->cleaned_at_us = sqlite3_column_int64(q, 11);
        col_text(q, 12, i->clean_note, sizeof i->clean_note);
        int known = sqlite3_column_type(q, 13) != SQLITE_NULL;
        i->rows = known ? sqlite3_column_int64(q, 13) : -1;
        i->corrupt = known ? sqlite3_column_int64(q, 14) : -1;
        i->rescued = known ? sqlite3_column_int64(q, 15) : -1;
    }
    r = rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "files report", err);
    sqlite3_finalize(q);
    if (r < 0) {
        free(v);
        *n = 0;
        return r;
    }
    *out = v;
    return 0;
}

int lk_state_file_spans_put(lk_state *s, int64_t batch_id, int32_t gen,
                            const lk_state_file_span *spans, int n, lk_error *err)
{
    sqlite3_stmt *q;
    int r = dq_prepare(s,
                       "INSERT OR REPLACE INTO file_spans(batch_id, gen, file_id, first_chunk,"
                       " n_chunks) VALUES(?1, ?2, ?3, ?4, ?5)",
                       &q, "file spans", err);
    if (r < 0) return r;
    if ((r = tx_begin(s, "file spans", err)) < 0) {
        sqlite3_finalize(q);
        return r;
    }
    for (int i = 0; i < n && r == 0; i++) {
        if (spans[i].n_chunks <= 0) continue; /* a file that sent nothing */
        sqlite3_bind_int64(q, 1, batch_id);
        sqlite3_bind_int(q, 2, gen);
        sqlite3_bind_int64(q, 3, spans[i].file_id);
        sqlite3_bind_int(q, 4, spans[i].first_chunk);
        sqlite3_bind_int(q, 5, spans[i].n_chunks);
        int rc = sqlite3_step(q);
        if (rc != SQLITE_DONE) r = sq_fail(s, rc, "file spans", err);
        sqlite3_reset(q);
    }
    sqlite3_finalize(q);
    return tx_end(s, r, "file spans", err);
}

int lk_state_file_spans_get(lk_state *s, int64_t batch_id, int32_t gen, lk_state_file_span **out,
                            int *n, lk_error *err)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *q;
    int r = dq_prepare(s,
                       "SELECT file_id, first_chunk, n_chunks FROM file_spans"
                       " WHERE batch_id = ?1 AND gen = ?2 ORDER BY first_chunk",
                       &q, "file spans", err);
    if (r < 0) return r;
    sqlite3_bind_int64(q, 1, batch_id);
    sqlite3_bind_int(q, 2, gen);
    int cap = 0, rc;
    lk_state_file_span *v = NULL;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            lk_state_file_span *nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv) abort();
            v = nv;
        }
        v[*n].file_id = sqlite3_column_int64(q, 0);
        v[*n].first_chunk = sqlite3_column_int(q, 1);
        v[*n].n_chunks = sqlite3_column_int(q, 2);
        (*n)++;
    }
    r = rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "file spans", err);
    sqlite3_finalize(q);
    if (r < 0) {
        free(v);
        *n = 0;
        return r;
    }
    *out = v;
    return 0;
}

int lk_state_files_record(lk_state *s, lk_state_file_rec *v, int n, lk_error *err)
{
    if (n == 0) return 0;
    sqlite3_stmt *ins = NULL, *sel = NULL;
    int r = dq_prepare(s,
                       "INSERT OR IGNORE INTO files(path, size, mtime_us, inode, device, state,"
                       " discovered_at_us, head_hash, error) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                       " ?9)",
                       &ins, "files record", err);
    if (r == 0)
        r = dq_prepare(s, "SELECT id FROM files WHERE path = ?1 AND size = ?2 AND mtime_us = ?3",
                       &sel, "files record", err);
    if (r == 0) r = tx_begin(s, "files record", err);
    if (r < 0) {
        sqlite3_finalize(ins);
        sqlite3_finalize(sel);
        return r;
    }
    int64_t now = lk_time_now_us();
    for (int i = 0; i < n && r == 0; i++) {
        lk_state_file *f = &v[i].file;
        if (f->discovered_at_us == 0) f->discovered_at_us = now;
        sqlite3_bind_text(ins, 1, f->path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 2, f->size);
        sqlite3_bind_int64(ins, 3, f->mtime_us);
        sqlite3_bind_int64(ins, 4, f->inode);
        sqlite3_bind_int64(ins, 5, f->device);
        sqlite3_bind_int(ins, 6, v[i].why[0] ? LK_FILE_SKIPPED : LK_FILE_PENDING);
        sqlite3_bind_int64(ins, 7, f->discovered_at_us);
        sqlite3_bind_int64(ins, 8, v[i].head_hash);
        sqlite3_bind_text(ins, 9, v[i].why, -1, SQLITE_STATIC);
        int rc = sqlite3_step(ins);
        sqlite3_reset(ins);
        if (rc != SQLITE_DONE) {
            r = sq_fail(s, rc, "files record: insert", err);
            break;
        }
        v[i].is_new = sqlite3_changes(s->db) > 0;
        sqlite3_bind_text(sel, 1, f->path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(sel, 2, f->size);
        sqlite3_bind_int64(sel, 3, f->mtime_us);
        rc = sqlite3_step(sel);
        if (rc == SQLITE_ROW)
            f->id = sqlite3_column_int64(sel, 0);
        else
            r = sq_fail(s, rc, "files record: select id", err);
        sqlite3_reset(sel);
    }
    sqlite3_finalize(ins);
    sqlite3_finalize(sel);
    return tx_end(s, r, "files record", err);
}

/* ---- progress history (the monitor) ---- */

int lk_state_progress_put(lk_state *s, int64_t batch_id, int64_t ts_us, const char *json,
                          int64_t keep_batches, int64_t keep_since_us, lk_error *err)
{
    sqlite3_stmt *ins = NULL, *trim_n = NULL, *trim_t = NULL;
    int r = dq_prepare(s, "INSERT OR REPLACE INTO progress(batch_id, ts_us, json) VALUES(?1, ?2, ?3)",
                       &ins, "progress put", err);
    if (r == 0)
        r = dq_prepare(s, "DELETE FROM progress WHERE batch_id <= ?1 - ?2", &trim_n,
                       "progress trim", err);
    if (r == 0)
        r = dq_prepare(s, "DELETE FROM progress WHERE ts_us < ?1", &trim_t, "progress trim", err);
    if (r == 0)
        r = tx_begin(s, "progress put", err);
    if (r == 0) {
        sqlite3_bind_int64(ins, 1, batch_id);
        sqlite3_bind_int64(ins, 2, ts_us);
        sqlite3_bind_text(ins, 3, json, -1, SQLITE_STATIC);
        int rc = sqlite3_step(ins);
        if (rc != SQLITE_DONE)
            r = sq_fail(s, rc, "progress put", err);
    }
    if (r == 0 && keep_batches > 0) {
        sqlite3_bind_int64(trim_n, 1, batch_id);
        sqlite3_bind_int64(trim_n, 2, keep_batches);
        int rc = sqlite3_step(trim_n);
        if (rc != SQLITE_DONE)
            r = sq_fail(s, rc, "progress trim", err);
    }
    if (r == 0 && keep_since_us > 0) {
        sqlite3_bind_int64(trim_t, 1, keep_since_us);
        int rc = sqlite3_step(trim_t);
        if (rc != SQLITE_DONE)
            r = sq_fail(s, rc, "progress trim", err);
    }
    sqlite3_finalize(ins);
    sqlite3_finalize(trim_n);
    sqlite3_finalize(trim_t);
    if (r < 0 && !sqlite3_get_autocommit(s->db))
        return tx_end(s, r, "progress put", err);
    return r < 0 ? r : tx_end(s, r, "progress put", err);
}

int lk_state_progress_last(lk_state *s, int n, char ***out, int *count, lk_error *err)
{
    *out = NULL;
    *count = 0;
    sqlite3_stmt *q = NULL;
    int r = dq_prepare(s,
                       "SELECT json FROM (SELECT batch_id, json FROM progress ORDER BY batch_id DESC"
                       " LIMIT ?1) ORDER BY batch_id",
                       &q, "progress list", err);
    if (r)
        return r;
    sqlite3_bind_int(q, 1, n);
    char **v = NULL;
    int k = 0, cap = 0, rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (k == cap) {
            cap = cap ? cap * 2 : 16;
            v = realloc(v, (size_t)cap * sizeof *v);
            if (!v)
                abort();
        }
        const char *t = (const char *)sqlite3_column_text(q, 0);
        v[k] = strdup(t ? t : "{}");
        if (!v[k])
            abort();
        k++;
    }
    if (rc != SQLITE_DONE) {
        r = sq_fail(s, rc, "progress list", err);
        lk_state_progress_free(&v, k);
        k = 0;
    }
    sqlite3_finalize(q);
    *out = v;
    *count = k;
    return r;
}

void lk_state_progress_free(char ***v, int n)
{
    if (!v || !*v)
        return;
    for (int i = 0; i < n; i++)
        free((*v)[i]);
    free(*v);
    *v = NULL;
}

int lk_state_backlog_get(lk_state *s, lk_state_backlog *b, lk_error *err)
{
    memset(b, 0, sizeof *b);
    sqlite3_stmt *q = NULL;
    /* files not committed yet: pending (state 0) or in an uncommitted batch
       (state 1); a Kafka partition is a "file" of the source but no input */
    int r = dq_prepare(s,
                       "SELECT count(*), COALESCE(sum(size), 0), COALESCE(min(discovered_at_us), 0)"
                       " FROM files WHERE state IN (0, 1) AND path NOT LIKE 'kafka://%'",
                       &q, "backlog", err);
    if (r)
        return r;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        b->files = sqlite3_column_int64(q, 0);
        b->bytes = sqlite3_column_int64(q, 1);
        b->oldest_us = sqlite3_column_int64(q, 2);
    } else {
        r = sq_fail(s, rc, "backlog", err);
    }
    sqlite3_finalize(q);
    if (r)
        return r;
    r = dq_prepare(s, "SELECT count(*), COALESCE(min(planned_at_us), 0) FROM batches WHERE state <> 2",
                   &q, "backlog", err);
    if (r)
        return r;
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        b->batches = sqlite3_column_int64(q, 0);
        int64_t planned = sqlite3_column_int64(q, 1);
        b->oldest_batch_us = planned;
        if (planned && (!b->oldest_us || planned < b->oldest_us))
            b->oldest_us = planned;
    } else {
        r = sq_fail(s, rc, "backlog", err);
    }
    sqlite3_finalize(q);
    return r;
}

int lk_state_range_pending_to(lk_state *s, int64_t file_id, int64_t end, int64_t before_batch,
                              int *found, lk_error *err)
{
    sqlite3_stmt *q = NULL;
    int rc = dq_prepare(s,
                        "SELECT count(*) FROM batch_ranges r JOIN batches b ON b.id = r.batch_id"
                        " WHERE r.file_id = ?1 AND r.end = ?2 AND r.batch_id < ?3 AND b.state <> 2",
                        &q, "pending range", err);
    if (rc) return rc;
    sqlite3_bind_int64(q, 1, file_id);
    sqlite3_bind_int64(q, 2, end);
    sqlite3_bind_int64(q, 3, before_batch);
    rc = sqlite3_step(q);
    *found = rc == SQLITE_ROW && sqlite3_column_int64(q, 0) > 0;
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW) return sq_fail(s, rc, "pending range", err);
    return 0;
}

/* ---- replay ---- */

static int exec_bound(lk_state *s, const char *sql, const char *op, lk_error *err, int64_t a,
                      int64_t b, const char *text)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(s, rc, op, err);
    sqlite3_bind_int64(q, 1, a);
    sqlite3_bind_int64(q, 2, b);
    if (text)
        sqlite3_bind_text(q, 3, text, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : sq_fail(s, rc, op, err);
}

int lk_state_replay_plan(lk_state *s, const char *params, int64_t *batch_id, lk_error *err)
{
    int r = tx_begin(s, "replay plan", err);
    if (r < 0)
        return r;
    sqlite3_stmt *q = NULL;
    int64_t id = 0;
    int rc = sqlite3_prepare_v2(s->db, "SELECT COALESCE(MAX(id), -1) + 1 FROM batches", -1, &q, NULL);
    if (rc == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        id = sqlite3_column_int64(q, 0);
    else
        r = sq_fail(s, rc, "replay plan: next id", err);
    sqlite3_finalize(q);
    int64_t now = lk_time_now_us();
    if (r == 0)
        r = exec_bound(s, "INSERT INTO batches(id, state, n_chunks, planned_at_us, bytes) "
                          "VALUES(?1, 1, 0, ?2, 0)",
                       "replay plan: batch", err, id, now, NULL);
    if (r == 0)
        r = exec_bound(s, "INSERT INTO replays(batch_id, created_at_us, params) VALUES(?1, ?2, ?3)",
                       "replay plan: replay", err, id, now, params);
    r = tx_end(s, r, "replay plan", err);
    if (r == 0)
        *batch_id = id;
    return r;
}

int lk_state_replay_pending(lk_state *s, int64_t *batch_id, char **params, int *found,
                            lk_error *err)
{
    *found = 0;
    *params = NULL;
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT batch_id, params FROM replays WHERE state = 0 "
                                "ORDER BY batch_id LIMIT 1",
                                -1, &q, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(s, rc, "replay pending", err);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *found = 1;
        *batch_id = sqlite3_column_int64(q, 0);
        *params = strdup((const char *)sqlite3_column_text(q, 1));
        if (!*params)
            abort();
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "replay pending", err);
}

int lk_state_replay_done(lk_state *s, int64_t batch_id, int64_t rows, lk_error *err)
{
    int r = tx_begin(s, "replay done", err);
    if (r < 0)
        return r;
    r = exec_bound(s,
                   "UPDATE replays SET state = 1, rows = ?2, "
                   "done_at_us = CAST(strftime('%s', 'now') AS INTEGER) * 1000000 WHERE batch_id = ?1",
                   "replay done", err, batch_id, rows, NULL);
    return tx_end(s, r, "replay done", err);
}
