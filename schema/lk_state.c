/*
 * lk_state — state.db (SQLite, WAL); see lk_state.h.
 *
 * The schema is versioned with PRAGMA user_version: g_migrations[i] takes
 * the database from version i to i+1, each in one transaction. Statements
 * are prepared once and cached per handle (keyed by their SQL text's
 * address). Multi-statement changes run in BEGIN IMMEDIATE transactions so
 * that two processes writing (ingest and committer) serialise on the
 * database lock instead of failing half-way; busy_timeout absorbs the wait.
 */
#include "lk_state.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_fault.h"
#include "lk_time.h"

#define MAX_STMTS 48

struct lk_state {
    sqlite3 *db;
    char path[1024];
    const char *sql[MAX_STMTS];
    sqlite3_stmt *stmt[MAX_STMTS];
    int nstmt;
};

static const char *g_migrations[] = {
    /* 0 → 1 */
    "CREATE TABLE files ("
    "  id INTEGER PRIMARY KEY,"
    "  path TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  mtime_us INTEGER NOT NULL,"
    "  inode INTEGER NOT NULL DEFAULT 0,"
    "  device INTEGER NOT NULL DEFAULT 0,"
    "  state INTEGER NOT NULL DEFAULT 0,"
    "  batch_id INTEGER,"
    "  discovered_at_us INTEGER NOT NULL,"
    "  error TEXT,"
    "  UNIQUE (path, size, mtime_us));"
    "CREATE INDEX files_state ON files(state, id);"
    "CREATE TABLE batches ("
    "  id INTEGER PRIMARY KEY,"
    "  state INTEGER NOT NULL DEFAULT 0,"
    "  n_chunks INTEGER NOT NULL DEFAULT -1,"
    "  bytes INTEGER NOT NULL DEFAULT 0,"
    "  planned_at_us INTEGER NOT NULL,"
    "  committed_at_us INTEGER);"
    "CREATE INDEX batches_state ON batches(state, id);"
    "CREATE TABLE batch_ranges ("
    "  batch_id INTEGER NOT NULL REFERENCES batches(id),"
    "  seq INTEGER NOT NULL,"
    "  file_id INTEGER NOT NULL REFERENCES files(id),"
    "  start_offset INTEGER NOT NULL,"
    "  end_offset INTEGER NOT NULL,"
    "  PRIMARY KEY (batch_id, seq));"
    "CREATE TABLE commits ("
    "  batch_id INTEGER NOT NULL,"
    "  table_name TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  rows INTEGER NOT NULL,"
    "  files INTEGER NOT NULL,"
    "  committed_at_us INTEGER NOT NULL,"
    "  PRIMARY KEY (batch_id, table_name));"
    "CREATE TABLE schemas ("
    "  table_name TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  schema_json TEXT NOT NULL,"
    "  created_at_us INTEGER NOT NULL,"
    "  PRIMARY KEY (table_name, version));"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
};

#define NMIGRATIONS (int)(sizeof g_migrations / sizeof g_migrations[0])

static int db_err(lk_state *s, lk_error *err, const char *what)
{
    int code = sqlite3_errcode(s->db);
    return lk_error_set(err, code == SQLITE_FULL ? -28 /* ENOSPC */ : LK_ESTATE,
                        "state.db %s (%s): %s", what, s->path, sqlite3_errmsg(s->db));
}

/* The cached prepared statement for sql (reset, bindings cleared). */
static sqlite3_stmt *stmt(lk_state *s, const char *sql, lk_error *err)
{
    for (int i = 0; i < s->nstmt; i++) {
        if (s->sql[i] == sql) {
            sqlite3_reset(s->stmt[i]);
            sqlite3_clear_bindings(s->stmt[i]);
            return s->stmt[i];
        }
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        db_err(s, err, "prepare");
        return NULL;
    }
    if (s->nstmt < MAX_STMTS) {
        s->sql[s->nstmt] = sql;
        s->stmt[s->nstmt++] = st;
    }
    return st;
}

static int exec(lk_state *s, const char *sql, lk_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = lk_error_set(err, sqlite3_errcode(s->db) == SQLITE_FULL ? -28 : LK_ESTATE,
                              "state.db (%s): %s: %s", s->path, msg ? msg : "?", sql);
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

static int begin(lk_state *s, lk_error *err)
{
    return exec(s, "BEGIN IMMEDIATE", err);
}

static int commit(lk_state *s, lk_error *err)
{
    int f = lk_fault_check("state.commit");
    if (f < 0) {
        exec(s, "ROLLBACK", NULL);
        return lk_error_set(err, f, "state.db commit (%s): injected fault", s->path);
    }
    int rc = exec(s, "COMMIT", err);
    if (rc)
        exec(s, "ROLLBACK", NULL);
    return rc;
}

static int rollback(lk_state *s, int rc)
{
    exec(s, "ROLLBACK", NULL);
    return rc;
}

int lk_state_open(const char *path, lk_state **out, lk_error *err)
{
    lk_state *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    snprintf(s->path, sizeof s->path, "%s", path);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        int rc = lk_error_set(err, LK_ESTATE, "cannot open state.db '%s': %s", path,
                              s->db ? sqlite3_errmsg(s->db) : "out of memory");
        lk_state_close(&s);
        return rc;
    }
    sqlite3_busy_timeout(s->db, 10000);
    int rc = exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
                  err);
    if (rc == 0) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(s->db, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_ROW ||
            strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
            rc = lk_error_set(err, LK_ESTATE,
                              "state.db '%s' is corrupt or not a database (%s); `lakesupd "
                              "fsck` explains, a backup or --repair restores it",
                              path, sqlite3_errmsg(s->db));
        sqlite3_finalize(st);
    } else {
        rc = lk_error_set(err, LK_ESTATE, "state.db '%s' is corrupt or not a database: %s", path,
                          err ? err->msg : "");
    }
    /* migrations */
    while (rc == 0) {
        sqlite3_stmt *st = NULL;
        int version = 0;
        if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            version = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        if (version >= NMIGRATIONS) {
            if (version > NMIGRATIONS)
                rc = lk_error_set(err, LK_ESTATE,
                                  "state.db '%s' has schema version %d, newer than this build "
                                  "(%d)",
                                  path, version, NMIGRATIONS);
            break;
        }
        if ((rc = begin(s, err)))
            break;
        /* another process may have migrated meanwhile: re-check inside */
        int now = 0;
        if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            now = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        if (now != version) {
            exec(s, "ROLLBACK", NULL);
            continue;
        }
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", version + 1);
        if ((rc = exec(s, g_migrations[version], err)) || (rc = exec(s, pragma, err))) {
            exec(s, "ROLLBACK", NULL);
            break;
        }
        rc = commit(s, err);
    }
    if (rc) {
        lk_state_close(&s);
        return rc;
    }
    *out = s;
    return 0;
}

void lk_state_close(lk_state **sp)
{
    if (!sp || !*sp)
        return;
    lk_state *s = *sp;
    for (int i = 0; i < s->nstmt; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->db);
    free(s);
    *sp = NULL;
}

/* ---- files ---- */

static void row_file(sqlite3_stmt *st, lk_state_file *f)
{
    memset(f, 0, sizeof *f);
    f->id = sqlite3_column_int64(st, 0);
    snprintf(f->path, sizeof f->path, "%s", (const char *)sqlite3_column_text(st, 1));
    f->size = sqlite3_column_int64(st, 2);
    f->mtime_us = sqlite3_column_int64(st, 3);
    f->inode = sqlite3_column_int64(st, 4);
    f->device = sqlite3_column_int64(st, 5);
    f->state = (lk_file_state)sqlite3_column_int(st, 6);
    f->batch_id = sqlite3_column_type(st, 7) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 7);
    f->discovered_at_us = sqlite3_column_int64(st, 8);
    const unsigned char *e = sqlite3_column_text(st, 9);
    snprintf(f->error, sizeof f->error, "%s", e ? (const char *)e : "");
}

#define FILE_COLS "id, path, size, mtime_us, inode, device, state, batch_id, discovered_at_us, error"

static const char SQL_FILE_FIND[] =
    "SELECT " FILE_COLS " FROM files WHERE path = ? AND size = ? AND mtime_us = ?";
static const char SQL_FILE_INSERT[] =
    "INSERT INTO files (path, size, mtime_us, inode, device, state, discovered_at_us)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)";

int lk_state_file_add(lk_state *s, lk_state_file *f, int *is_new, lk_error *err)
{
    sqlite3_stmt *st = stmt(s, SQL_FILE_FIND, err);
    if (!st)
        return LK_ESTATE;
    sqlite3_bind_text(st, 1, f->path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, f->size);
    sqlite3_bind_int64(st, 3, f->mtime_us);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        row_file(st, f);
        *is_new = 0;
        sqlite3_reset(st);
        return 0;
    }
    sqlite3_reset(st);
    if (r != SQLITE_DONE)
        return db_err(s, err, "file lookup");
    st = stmt(s, SQL_FILE_INSERT, err);
    if (!st)
        return LK_ESTATE;
    f->discovered_at_us = lk_time_now_us();
    sqlite3_bind_text(st, 1, f->path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, f->size);
    sqlite3_bind_int64(st, 3, f->mtime_us);
    sqlite3_bind_int64(st, 4, f->inode);
    sqlite3_bind_int64(st, 5, f->device);
    sqlite3_bind_int(st, 6, (int)f->state);
    sqlite3_bind_int64(st, 7, f->discovered_at_us);
    r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_DONE)
        return db_err(s, err, "file insert");
    f->id = sqlite3_last_insert_rowid(s->db);
    f->batch_id = -1;
    *is_new = 1;
    return 0;
}

static int list_files(lk_state *s, const char *sql, int limit, lk_state_file **out, int *n,
                      lk_error *err)
{
    sqlite3_stmt *st = stmt(s, sql, err);
    if (!st)
        return LK_ESTATE;
    if (limit > 0)
        sqlite3_bind_int(st, 1, limit);
    int cap = 16, cnt = 0, r;
    lk_state_file *v = malloc(sizeof *v * (size_t)cap);
    if (!v)
        abort();
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (cnt == cap) {
            cap *= 2;
            v = realloc(v, sizeof *v * (size_t)cap);
            if (!v)
                abort();
        }
        row_file(st, &v[cnt++]);
    }
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        free(v);
        return db_err(s, err, "file listing");
    }
    *out = v;
    *n = cnt;
    return 0;
}

static const char SQL_FILES_PENDING[] =
    "SELECT " FILE_COLS " FROM files WHERE state = 0 ORDER BY id LIMIT ?";
static const char SQL_FILES_ALL[] = "SELECT " FILE_COLS " FROM files ORDER BY id";

int lk_state_files_pending(lk_state *s, int limit, lk_state_file **out, int *n, lk_error *err)
{
    return list_files(s, SQL_FILES_PENDING, limit > 0 ? limit : 1000000, out, n, err);
}

int lk_state_files_all(lk_state *s, lk_state_file **out, int *n, lk_error *err)
{
    return list_files(s, SQL_FILES_ALL, 0, out, n, err);
}

static const char SQL_FILE_KNOWN[] = "SELECT 1 FROM files WHERE path = ? LIMIT 1";

int lk_state_file_known(lk_state *s, const char *path, int *known, lk_error *err)
{
    sqlite3_stmt *st = stmt(s, SQL_FILE_KNOWN, err);
    if (!st)
        return LK_ESTATE;
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return db_err(s, err, "file lookup");
    *known = r == SQLITE_ROW;
    return 0;
}

static const char SQL_FILE_SKIP[] = "UPDATE files SET state = 3, error = ? WHERE id = ?";

int lk_state_file_skip(lk_state *s, int64_t file_id, const char *why, lk_error *err)
{
    sqlite3_stmt *st = stmt(s, SQL_FILE_SKIP, err);
    if (!st)
        return LK_ESTATE;
    sqlite3_bind_text(st, 1, why, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, file_id);
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    return r == SQLITE_DONE ? 0 : db_err(s, err, "file skip");
}

/* ---- batches ---- */

static const char SQL_BATCH_NEXT[] = "SELECT COALESCE(MAX(id) + 1, 0) FROM batches";
static const char SQL_BATCH_INSERT[] =
    "INSERT INTO batches (id, state, n_chunks, bytes, planned_at_us) VALUES (?, 0, -1, ?, ?)";
static const char SQL_RANGE_INSERT[] =
    "INSERT INTO batch_ranges (batch_id, seq, file_id, start_offset, end_offset)"
    " VALUES (?, ?, ?, ?, ?)";
static const char SQL_FILE_PLANNED[] = "UPDATE files SET state = 1, batch_id = ? WHERE id = ?";

static int step_done(lk_state *s, sqlite3_stmt *st, lk_error *err, const char *what)
{
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    return r == SQLITE_DONE ? 0 : db_err(s, err, what);
}

int lk_state_plan_batch(lk_state *s, const lk_state_range *ranges, int n, int64_t *batch_id,
                        lk_error *err)
{
    int rc = begin(s, err);
    if (rc)
        return rc;
    sqlite3_stmt *st = stmt(s, SQL_BATCH_NEXT, err);
    if (!st)
        return rollback(s, LK_ESTATE);
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = db_err(s, err, "next batch id");
        sqlite3_reset(st);
        return rollback(s, rc);
    }
    int64_t id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    int64_t bytes = 0;
    for (int i = 0; i < n; i++)
        bytes += ranges[i].end - ranges[i].start;
    st = stmt(s, SQL_BATCH_INSERT, err);
    if (!st)
        return rollback(s, LK_ESTATE);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, bytes);
    sqlite3_bind_int64(st, 3, lk_time_now_us());
    if ((rc = step_done(s, st, err, "batch insert")))
        return rollback(s, rc);
    for (int i = 0; i < n; i++) {
        st = stmt(s, SQL_RANGE_INSERT, err);
        if (!st)
            return rollback(s, LK_ESTATE);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int(st, 2, i);
        sqlite3_bind_int64(st, 3, ranges[i].file_id);
        sqlite3_bind_int64(st, 4, ranges[i].start);
        sqlite3_bind_int64(st, 5, ranges[i].end);
        if ((rc = step_done(s, st, err, "range insert")))
            return rollback(s, rc);
        st = stmt(s, SQL_FILE_PLANNED, err);
        if (!st)
            return rollback(s, LK_ESTATE);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, ranges[i].file_id);
        if ((rc = step_done(s, st, err, "file planned")))
            return rollback(s, rc);
    }
    if ((rc = commit(s, err)))
        return rc;
    *batch_id = id;
    return 0;
}

static const char SQL_RANGES[] =
    "SELECT r.file_id, f.path, r.start_offset, r.end_offset, f.size, f.mtime_us"
    " FROM batch_ranges r JOIN files f ON f.id = r.file_id WHERE r.batch_id = ? ORDER BY r.seq";

int lk_state_batch_ranges(lk_state *s, int64_t batch_id, lk_state_range **out, int *n,
                          lk_error *err)
{
    sqlite3_stmt *st = stmt(s, SQL_RANGES, err);
    if (!st)
        return LK_ESTATE;
    sqlite3_bind_int64(st, 1, batch_id);
    int cap = 8, cnt = 0, r;
    lk_state_range *v = malloc(sizeof *v * (size_t)cap);
    if (!v)
        abort();
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (cnt == cap) {
            cap *= 2;
            v = realloc(v, sizeof *v * (size_t)cap);
            if (!v)
                abort();
        }
        lk_state_range *g = &v[cnt++];
        g->file_id = sqlite3_column_int64(st, 0);
        snprintf(g->path, sizeof g->path, "%s", (const char *)sqlite3_column_text(st, 1));
        g->start = sqlite3_column_int64(st, 2);
        g->end = sqlite3_column_int64(st, 3);
        g->file_size = sqlite3_column_int64(st, 4);
        g->mtime_us = sqlite3_column_int64(st, 5);
    }
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        free(v);
        return db_err(s, err, "batch ranges");
    }
    *out = v;
    *n = cnt;
    return 0;
}

static const char SQL_BATCH_GET[] =
    "SELECT id, state, n_chunks, planned_at_us, COALESCE(committed_at_us, 0), bytes"
    " FROM batches WHERE id = ?";

int lk_state_batch_get(lk_state *s, int64_t batch_id, lk_state_batch *out, lk_error *err)
{
    sqlite3_stmt *st = stmt(s, SQL_BATCH_GET, err);
    if (!st)
        return LK_ESTATE;
    sqlite3_bind_int64(st, 1, batch_id);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        out->id = sqlite3_column_int64(st, 0);
        out->state = (lk_batch_state)sqlite3_column_int(st, 1);
        out->n_chunks = sqlite3_column_int(st, 2);
        out->planned_at_us = sqlite3_column_int64(st, 3);
        out->committed_at_us = sqlite3_column_int64(st, 4);
        out->bytes = sqlite3_column_int64(st, 5);
    }
    sqlite3_reset(st);
    if (r == SQLITE_DONE)
        return lk_error_set(err, LK_ENOTFOUND, "no batch %lld in state.db", (long long)batch_id);
    return r == SQLITE_ROW ? 0 : db_err(s, err, "batch lookup");
}

static const char SQL_SEAL[] = "UPDATE batches SET n_chunks = ?, state = 1 WHERE id = ? AND state = 0";

int lk_state_seal_batch(lk_state *s, int64_t batch_id, int32_t n_chunks, lk_error *err)
{
    sqlite3_stmt *st = stmt(s, SQL_SEAL, err);
    if (!st)
        return LK_ESTATE;
    sqlite3_bind_int(st, 1, n_chunks);
    sqlite3_bind_int64(st, 2, batch_id);
    return step_done(s, st, err, "seal batch");
}

static const char SQL_UNCOMMITTED[] = "SELECT id FROM batches WHERE state < 2 ORDER BY id";

int lk_state_batches_uncommitted(lk_state *s, int64_t **out, int *n, lk_error *err)
{
    sqlite3_stmt *st = stmt(s, SQL_UNCOMMITTED, err);
    if (!st)
        return LK_ESTATE;
    int cap = 8, cnt = 0, r;
    int64_t *v = malloc(sizeof *v * (size_t)cap);
    if (!v)
        abort();
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (cnt == cap) {
            cap *= 2;
            v = realloc(v, sizeof *v * (size_t)cap);
            if (!v)
                abort();
        }
        v[cnt++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        free(v);
        return db_err(s, err, "uncommitted batches");
    }
    *out = v;
    *n = cnt;
    return 0;
}

static const char SQL_LAST_COMMITTED[] = "SELECT COALESCE(MAX(id), -1) FROM batches WHERE state = 2";

int lk_state_last_committed_batch(lk_state *s, int64_t *id, lk_error *err)
{
    sqlite3_stmt *st = stmt(s, SQL_LAST_COMMITTED, err);
    if (!st)
        return LK_ESTATE;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return r == SQLITE_ROW ? 0 : db_err(s, err, "last committed batch");
}

/* ---- commits ---- */

static const char SQL_COMMIT_INSERT[] =
    "INSERT OR IGNORE INTO commits (batch_id, table_name, version, rows, files, committed_at_us)"
    " VALUES (?, ?, ?, ?, ?, ?)";

int lk_state_record_commit(lk_state *s, int64_t batch_id, const char *table, int64_t version,
                           int64_t rows, int64_t files, lk_error *err)
{
    sqlite3_stmt *st = stmt(s, SQL_COMMIT_INSERT, err);
    if (!st)
        return LK_ESTATE;
    sqlite3_bind_int64(st, 1, batch_id);
    sqlite3_bind_text(st, 2, table, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, version);
    sqlite3_bind_int64(st, 4, rows);
    sqlite3_bind_int64(st, 5, files);
    sqlite3_bind_int64(st, 6, lk_time_now_us());
    return step_done(s, st, err, "record commit");
}

static const char SQL_MARK_BATCH[] =
    "UPDATE batches SET state = 2, committed_at_us = ? WHERE id = ?";
static const char SQL_MARK_FILES[] = "UPDATE files SET state = 2 WHERE batch_id = ?";

int lk_state_mark_committed(lk_state *s, int64_t batch_id, lk_error *err)
{
    int rc = begin(s, err);
    if (rc)
        return rc;
    sqlite3_stmt *st = stmt(s, SQL_MARK_BATCH, err);
    if (!st)
        return rollback(s, LK_ESTATE);
    sqlite3_bind_int64(st, 1, lk_time_now_us());
    sqlite3_bind_int64(st, 2, batch_id);
    if ((rc = step_done(s, st, err, "mark batch committed")))
        return rollback(s, rc);
    st = stmt(s, SQL_MARK_FILES, err);
    if (!st)
        return rollback(s, LK_ESTATE);
    sqlite3_bind_int64(st, 1, batch_id);
    if ((rc = step_done(s, st, err, "mark files committed")))
        return rollback(s, rc);
    return commit(s, err);
}

/* ---- schemas ---- */

static const char SQL_SCHEMA_LATEST[] =
    "SELECT version, schema_json FROM schemas WHERE table_name = ? ORDER BY version DESC LIMIT 1";
static const char SQL_SCHEMA_AT[] =
    "SELECT version, schema_json FROM schemas WHERE table_name = ? AND version = ?";
static const char SQL_SCHEMA_INSERT[] =
    "INSERT INTO schemas (table_name, version, schema_json, created_at_us) VALUES (?, ?, ?, ?)";

static int schema_row(lk_state *s, sqlite3_stmt *st, lk_schema **out, int *version,
                      lk_error *err)
{
    int r = sqlite3_step(st);
    *out = NULL;
    if (version)
        *version = 0;
    int rc = 0;
    if (r == SQLITE_ROW) {
        if (version)
            *version = sqlite3_column_int(st, 0);
        const char *j = (const char *)sqlite3_column_text(st, 1);
        rc = lk_schema_from_json(j, strlen(j), out, err);
        if (rc)
            lk_error_prefix(err, "state.db schema");
    } else if (r != SQLITE_DONE) {
        rc = db_err(s, err, "schema lookup");
    }
    sqlite3_reset(st);
    return rc;
}

int lk_state_schema_get(lk_state *s, const char *table, lk_schema **out, int *version,
                        lk_error *err)
{
    sqlite3_stmt *st = stmt(s, SQL_SCHEMA_LATEST, err);
    if (!st)
        return LK_ESTATE;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    return schema_row(s, st, out, version, err);
}

int lk_state_schema_at(lk_state *s, const char *table, int version, lk_schema **out,
                       lk_error *err)
{
    sqlite3_stmt *st = stmt(s, SQL_SCHEMA_AT, err);
    if (!st)
        return LK_ESTATE;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, version);
    int rc = schema_row(s, st, out, NULL, err);
    if (rc == 0 && !*out)
        return lk_error_set(err, LK_ENOTFOUND, "no schema version %d for table %s", version,
                            table);
    return rc;
}

int lk_state_schema_put(lk_state *s, const char *table, const lk_schema *schema, int *version,
                        lk_error *err)
{
    int rc = begin(s, err);
    if (rc)
        return rc;
    lk_schema *cur = NULL;
    int v = 0;
    if ((rc = lk_state_schema_get(s, table, &cur, &v, err)))
        return rollback(s, rc);
    if (cur && lk_schema_equal(cur, schema)) {
        lk_schema_destroy(&cur);
        *version = v;
        return rollback(s, 0);
    }
    lk_schema_destroy(&cur);
    lk_buf j = LK_BUF_INIT;
    lk_schema_to_json(schema, &j);
    sqlite3_stmt *st = stmt(s, SQL_SCHEMA_INSERT, err);
    if (!st) {
        lk_buf_free(&j);
        return rollback(s, LK_ESTATE);
    }
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, v + 1);
    sqlite3_bind_text(st, 3, j.data, (int)j.len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, lk_time_now_us());
    rc = step_done(s, st, err, "schema insert");
    lk_buf_free(&j);
    if (rc)
        return rollback(s, rc);
    if ((rc = commit(s, err)))
        return rc;
    *version = v + 1;
    return 0;
}

/* ---- meta ---- */

static const char SQL_META_GET[] = "SELECT value FROM meta WHERE key = ?";
static const char SQL_META_SET[] = "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)";

int lk_state_meta_get(lk_state *s, const char *key, char *out, size_t cap, int *found,
                      lk_error *err)
{
    sqlite3_stmt *st = stmt(s, SQL_META_GET, err);
    if (!st)
        return LK_ESTATE;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    *found = r == SQLITE_ROW;
    if (*found)
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : db_err(s, err, "meta lookup");
}

int lk_state_meta_set(lk_state *s, const char *key, const char *value, lk_error *err)
{
    sqlite3_stmt *st = stmt(s, SQL_META_SET, err);
    if (!st)
        return LK_ESTATE;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    return step_done(s, st, err, "meta update");
}
