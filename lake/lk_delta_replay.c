/*
 * lk_delta_replay — log replay: builds a handle's snapshot from the newest
 * usable checkpoint and the JSON commits after it, and catches up on the
 * versions committed since (lk_delta_refresh, and a commit after it wrote
 * or lost a version).
 *
 * Replay follows PROTOCOL.md: the latest protocol and metaData win; files
 * are keyed by (URL-decoded path, deletion-vector id), a later remove
 * cancels an add and a later add re-adds; the latest txn per appId wins;
 * versions must be contiguous. Every action, whether a JSON commit line or a
 * checkpoint row (lk_delta_checkpoint_read), goes through apply_kind(), so
 * what a commit being retried sees of the versions that beat it is the same
 * code path as a refresh; the commit watches those actions through an
 * lk_delta_watch (lk_delta_internal.h) without replay knowing about commits.
 *
 * A full handle keeps every file it has seen in one hash (dead ones too,
 * for vacuum's tombstones and in-place re-adds). A log-only handle keeps,
 * per file touched since its base checkpoint, only what those commits did
 * to it (log_add/log_remove); lk_delta_snapshot.c combines that with the
 * base when it writes the next checkpoint.
 */
#include "lk_delta_internal.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "lk_bytes.h"
#include "lk_delta_checkpoint.h"
#include "lk_fs.h"
#include "lk_json.h"
#include "lk_log.h"

#define LOG_MAX_BYTES ((size_t)1 << 30)
/* Reader features whose rows need lk_delta_scan's help: physical column
   names, deletion vectors. */
#define LK_DELTA_SCAN_FEATURES "columnMapping", "deletionVectors"

/* ---------- the file index ---------- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void hash_insert(lk_delta_table *t, int idx)
{
    size_t m = t->hcap - 1;
    size_t h = (size_t)hash_str(t->files[idx].key) & m;
    while (t->hash[h] >= 0)
        h = (h + 1) & m;
    t->hash[h] = idx;
}

int lk_delta_hash_find(const lk_delta_table *t, const char *key)
{
    if (!t->hcap) return -1;
    size_t m = t->hcap - 1;
    for (size_t h = (size_t)hash_str(key) & m; t->hash[h] >= 0; h = (h + 1) & m)
        if (strcmp(t->files[t->hash[h]].key, key) == 0) return t->hash[h];
    return -1;
}

static void hash_grow(lk_delta_table *t)
{
    if ((size_t)(t->nfiles + 1) * 2 <= t->hcap) return;
    t->hcap = t->hcap ? t->hcap * 2 : 64;
    t->hash = lk_xrealloc(t->hash, t->hcap * sizeof *t->hash);
    for (size_t i = 0; i < t->hcap; i++)
        t->hash[i] = -1;
    for (int i = 0; i < t->nfiles; i++)
        hash_insert(t, i);
}

/* Builds the reconciliation key of a file action into t->key. */
const char *lk_delta_file_key(lk_delta_table *t, const char *path, yajl_val dv)
{
    lk_buf_reset(&t->key);
    lk_delta_url_decode(path, &t->key);
    lk_buf_putc(&t->key, '\x1f');
    if (dv && YAJL_IS_OBJECT(dv)) {
        /* uniqueId = storageType + pathOrInlineDv (+ "@" + offset) */
        const char *st = obj_str(dv, "storageType");
        const char *pd = obj_str(dv, "pathOrInlineDv");
        lk_buf_puts(&t->key, st ? st : "");
        lk_buf_puts(&t->key, pd ? pd : "");
        yajl_val off = lk_json_get(dv, "offset");
        if (off && YAJL_IS_INTEGER(off)) lk_buf_printf(&t->key, "@%lld", YAJL_GET_INTEGER(off));
    }
    return t->key.data;
}

/* ---------- applying actions ---------- */

static void txn_set(lk_delta_table *t, const char *app, int64_t v)
{
    for (int i = 0; i < t->ntxns; i++)
        if (strcmp(t->txns[i].app_id, app) == 0) {
            t->txns[i].version = v;
            return;
        }
    if (t->ntxns == t->captxns) {
        t->captxns = t->captxns ? t->captxns * 2 : 8;
        t->txns = lk_xrealloc(t->txns, (size_t)t->captxns * sizeof *t->txns);
    }
    t->txns[t->ntxns].app_id = lk_strdup(app);
    t->txns[t->ntxns++].version = v;
}

static void apply_add(lk_delta_table *t, yajl_val a)
{
    const char *path = obj_str(a, "path");
    const char *key = lk_delta_file_key(t, path, lk_json_get(a, "deletionVector"));
    int idx = lk_delta_hash_find(t, key);
    file_ent *e;
    if (idx < 0) {
        hash_grow(t);
        if (t->nfiles == t->capfiles) {
            t->capfiles = t->capfiles ? t->capfiles * 2 : 64;
            t->files = lk_xrealloc(t->files, (size_t)t->capfiles * sizeof *t->files);
        }
        idx = t->nfiles++;
        e = &t->files[idx];
        memset(e, 0, sizeof *e);
        e->key = lk_strdup(key);
        e->rm_size = -1;
        hash_insert(t, idx);
    } else {
        e = &t->files[idx];
        free(e->path);
        free(e->pv_json);
        free(e->stats);
        free(e->dv);
    }
    e->path = lk_strdup(path);
    lk_buf_reset(&t->scratch);
    pv_json(a, &t->scratch);
    e->pv_json = lk_strdup(t->scratch.data);
    const char *st = obj_str(a, "stats");
    e->stats = st ? lk_strdup(st) : NULL;
    e->f.path = e->path;
    e->f.partition_values_json = e->pv_json;
    e->f.stats_json = e->stats;
    yajl_val dv = lk_json_get(a, "deletionVector");
    e->dv = NULL;
    if (dv && YAJL_IS_OBJECT(dv)) {
        lk_buf_reset(&t->scratch);
        lk_json_text(dv, &t->scratch);
        e->dv = lk_strdup(t->scratch.data);
    }
    e->f.deletion_vector_json = e->dv;
    e->f.size = obj_int(a, "size", 0);
    e->f.modification_time = obj_int(a, "modificationTime", 0);
    e->f.num_records = lk_delta_stats_num_records(e->stats);
    e->live = 1;
    t->live_dirty = 1;
}

static int check_protocol(yajl_val p, const char *where, lk_error *err)
{
    int64_t rv = obj_int(p, "minReaderVersion", 1);
    if (rv > 3)
        return lk_error_set(err, LK_EUNSUPPORTED, "%s: unsupported minReaderVersion %" PRId64,
                            where, rv);
    /* Reader features this reader implements. timestampNtz is a type;
       v2Checkpoint is read by lk_delta_checkpoint; vacuumProtocolCheck only
       binds vacuum (which refuses tables with writer features it lacks). */
    static const char *const supported[] = {"timestampNtz", "v2Checkpoint", "vacuumProtocolCheck",
                                            LK_DELTA_SCAN_FEATURES};
    yajl_val rf = lk_json_get(p, "readerFeatures");
    for (size_t i = 0; rf && YAJL_IS_ARRAY(rf) && i < rf->u.array.len; i++) {
        yajl_val f = rf->u.array.values[i];
        const char *name = YAJL_IS_STRING(f) ? YAJL_GET_STRING(f) : "?";
        int ok = 0;
        for (size_t k = 0; k < sizeof supported / sizeof supported[0] && !ok; k++)
            ok = supported[k] && strcmp(supported[k], name) == 0;
        if (!ok)
            return lk_error_set(err, LK_EUNSUPPORTED, "%s: unsupported reader feature '%s'", where,
                                name);
    }
    return 0;
}

static int apply_metadata(lk_delta_table *t, yajl_val m, const char *where, lk_error *err)
{
    yajl_val conf = lk_json_get(m, "configuration");
    const char *cm = obj_str(conf, "delta.columnMapping.mode");
    if (cm && strcmp(cm, "none") != 0 && strcmp(cm, "name") != 0 && strcmp(cm, "id") != 0)
        return lk_error_set(err, LK_EUNSUPPORTED,
                            "%s: unsupported reader feature 'columnMapping' (mode %s)", where, cm);
    const char *ss = obj_str(m, "schemaString");
    if (!ss) {
        /* Invalid by the protocol, but some of Delta's own test tables carry
           one: the file list stays readable, the table has no columns. */
        LK_WARN("delta: %s: metaData without schemaString; the table has no columns", where);
        ss = "{\"type\":\"struct\",\"fields\":[]}";
    }
    lk_schema *s = NULL;
    int rc = lk_schema_from_json(ss, strlen(ss), &s, err);
    if (rc) {
        lk_error_prefix(err, "%s: metaData.schemaString", where);
        return rc;
    }
    lk_schema_destroy(&t->schema);
    t->schema = s;
    free(t->table_id);
    t->table_id = lk_strdup(obj_str(m, "id"));
    lk_buf_reset(&t->scratch);
    lk_json_text(m, &t->scratch);
    free(t->metadata_json);
    t->metadata_json = lk_strdup(t->scratch.data);
    yajl_tree_free(t->metadata);
    t->metadata = yajl_tree_parse(t->metadata_json, NULL, 0);
    return 0;
}

/*
 * Log-only handles keep, per file key touched since the base checkpoint,
 * what those commits did to it, so that the state at the current version
 * follows from the base's row (absent, live or a tombstone) without holding
 * the base: after an add the entry is the whole truth (live, or dead after
 * a later remove, exactly as apply_add/remove make it); a remove before any
 * add (pre_rm) turns a live base file into a tombstone and leaves anything
 * else as it was.
 */
static void log_add(lk_delta_table *t, yajl_val a)
{
    const char *key = lk_delta_file_key(t, obj_str(a, "path"), lk_json_get(a, "deletionVector"));
    int idx = lk_delta_hash_find(t, key);
    int was_live = idx >= 0 && t->files[idx].live;
    int pre = idx >= 0 && t->files[idx].pre_rm && !t->files[idx].has_add;
    apply_add(t, a);
    file_ent *e = &t->files[lk_delta_hash_find(t, t->key.data)];
    if (!e->has_add) {
        e->has_add = 1;
        e->seq = t->add_seq++;
    }
    if (e->f.num_records > 0) t->rows += e->f.num_records;
    if (was_live || pre) t->rows_exact = 0; /* replaced a file whose rows we lost */
}

static void log_remove(lk_delta_table *t, yajl_val a)
{
    const char *key = lk_delta_file_key(t, obj_str(a, "path"), lk_json_get(a, "deletionVector"));
    int idx = lk_delta_hash_find(t, key);
    if (idx < 0) {
        apply_add(t, a); /* an entry keyed like the base file it removes */
        file_ent *e = &t->files[lk_delta_hash_find(t, t->key.data)];
        e->live = 0;
        e->pre_rm = 1;
        e->pre_ts = obj_int(a, "deletionTimestamp", 0);
        e->pre_size = obj_int(a, "size", -1);
        if (t->base.v >= 0) t->rows_exact = 0; /* the base file's rows are gone */
        return;
    }
    file_ent *e = &t->files[idx];
    if (!e->has_add || !e->live) return;
    e->live = 0;
    e->deletion_ts = obj_int(a, "deletionTimestamp", 0);
    e->rm_size = obj_int(a, "size", -1);
    if (e->f.num_records > 0) t->rows -= e->f.num_records;
    t->live_dirty = 1;
}

/*
 * Applies one action (a top-level JSON object of one log line, or one row of
 * a checkpoint) to the snapshot.
 */
static int apply_kind(lk_delta_table *t, const char *kind, yajl_val a, const char *where,
                      lk_error *err)
{
    if (!YAJL_IS_OBJECT(a)) return 0;
    int rc = 0;
    if (strcmp(kind, "add") == 0) {
        if (!obj_str(a, "path"))
            return lk_error_set(err, LK_EFORMAT, "%s: add without path", where);
        if (t->log_only)
            log_add(t, a);
        else
            apply_add(t, a);
    } else if (strcmp(kind, "remove") == 0) {
        const char *path = obj_str(a, "path");
        if (!path) return lk_error_set(err, LK_EFORMAT, "%s: remove without path", where);
        if (t->log_only) {
            log_remove(t, a);
            return 0;
        }
        const char *key = lk_delta_file_key(t, path, lk_json_get(a, "deletionVector"));
        int idx = lk_delta_hash_find(t, key);
        if (idx >= 0 && t->files[idx].live) {
            t->files[idx].live = 0;
            t->files[idx].deletion_ts = obj_int(a, "deletionTimestamp", 0);
            t->files[idx].rm_size = obj_int(a, "size", -1);
            t->live_dirty = 1;
        }
    } else if (strcmp(kind, "txn") == 0) {
        const char *app = obj_str(a, "appId");
        if (!app) return lk_error_set(err, LK_EFORMAT, "%s: txn without appId", where);
        int64_t v = obj_int(a, "version", -1);
        txn_set(t, app, v);
    } else if (strcmp(kind, "protocol") == 0) {
        if ((rc = check_protocol(a, where, err))) return rc;
        t->min_reader = (int)obj_int(a, "minReaderVersion", 1);
        t->min_writer = (int)obj_int(a, "minWriterVersion", 2);
        lk_buf_reset(&t->scratch);
        lk_json_text(a, &t->scratch);
        free(t->protocol_json);
        t->protocol_json = lk_strdup(t->scratch.data);
    } else if (strcmp(kind, "metaData") == 0) {
        if ((rc = apply_metadata(t, a, where, err))) return rc;
    }
    /* commitInfo, cdc, domainMetadata, unknown actions: nothing to replay. */
    return 0;
}

static int apply_action(lk_delta_table *t, yajl_val act, const char *where, lk_error *err)
{
    if (!YAJL_IS_OBJECT(act) || act->u.object.len == 0)
        return lk_error_set(err, LK_EFORMAT, "%s: action is not a JSON object", where);
    return apply_kind(t, act->u.object.keys[0], act->u.object.values[0], where, err);
}

/* ---------- reading the log ---------- */

/* Replays one JSON commit file. Returns -ENOENT (without message) if absent. */
int lk_delta_replay_json(lk_delta_table *t, int64_t v, lk_delta_watch *w, lk_error *err)
{
    char path[4096];
    version_path(t, v, ".json", path, sizeof path);
    lk_buf content = LK_BUF_INIT;
    int rc = lk_fs_read_file(path, &content, LOG_MAX_BYTES, err);
    if (rc) {
        lk_buf_free(&content);
        return rc;
    }
    char ebuf[256];
    size_t lineno = 0;
    char *p = content.data ? content.data : (char *)"";
    while (*p && rc == 0) {
        char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        lk_buf_reset(&t->line);
        lk_buf_append(&t->line, p, n);
        p += n + (nl ? 1 : 0);
        size_t k = 0;
        while (k < n &&
               (t->line.data[k] == ' ' || t->line.data[k] == '\r' || t->line.data[k] == '\t'))
            k++;
        if (k == n) continue;
        ebuf[0] = 0;
        yajl_val act = yajl_tree_parse(t->line.data, ebuf, sizeof ebuf);
        char where[4200];
        snprintf(where, sizeof where, "%s line %zu", path, lineno);
        if (!act) {
            char *q = strchr(ebuf, '\n');
            if (q) *q = 0;
            rc = lk_error_set(err, LK_EFORMAT, "%s: bad JSON: %s", where, ebuf);
            break;
        }
        if (!w || !w->dry) rc = apply_action(t, act, where, err);
        if (rc == 0 && w) w->on_action(w, t, v, act);
        yajl_tree_free(act);
    }
    lk_buf_free(&content);
    if (rc == 0 && (!w || !w->dry)) t->version = v;
    return rc;
}

/* Forgets every file the handle holds (and their path index). */
void lk_delta_forget_files(lk_delta_table *t)
{
    for (int i = 0; i < t->nfiles; i++) {
        free(t->files[i].key);
        free(t->files[i].path);
        free(t->files[i].pv_json);
        free(t->files[i].stats);
        free(t->files[i].dv);
    }
    t->nfiles = 0;
    for (size_t i = 0; i < t->hcap; i++)
        t->hash[i] = -1;
}

/* Forgets the replayed snapshot (a checkpoint that failed half-way). */
void lk_delta_reset_state(lk_delta_table *t)
{
    lk_delta_forget_files(t);
    for (int i = 0; i < t->ntxns; i++)
        free(t->txns[i].app_id);
    t->ntxns = 0;
    t->live_dirty = 1;
    lk_schema_destroy(&t->schema);
    free(t->table_id);
    free(t->metadata_json);
    free(t->protocol_json);
    yajl_tree_free(t->metadata);
    t->table_id = t->metadata_json = t->protocol_json = NULL;
    t->metadata = NULL;
    t->min_reader = 1;
    t->min_writer = 2;
    t->version = -1;
    t->checkpoint_version = -1;
    t->base.v = -1;
    t->rows = 0;
    t->rows_exact = 1;
}

static int cp_apply(void *ctx, const char *kind, yajl_val a, const char *where, lk_error *err)
{
    lk_delta_table *t = ctx;
    if (t->log_only && (strcmp(kind, "add") == 0 || strcmp(kind, "remove") == 0)) {
        /* the base's files stay on disk; only their rows are counted */
        if (strcmp(kind, "add") == 0 && YAJL_IS_OBJECT(a)) {
            int64_t n = lk_delta_stats_num_records(obj_str(a, "stats"));
            if (n > 0) t->rows += n;
        }
        return 0;
    }
    if (strcmp(kind, "add") == 0 && YAJL_IS_OBJECT(a) && obj_str(a, "path")) {
        apply_add(t, a);
        return 0;
    }
    if (strcmp(kind, "remove") == 0) {
        /* A tombstone: the file is dead at this version but vacuum must still
           keep it until deletionTimestamp + retention. */
        const char *path = obj_str(a, "path");
        if (!path) return lk_error_set(err, LK_EFORMAT, "%s: remove without path", where);
        const char *key = lk_delta_file_key(t, path, lk_json_get(a, "deletionVector"));
        if (lk_delta_hash_find(t, key) < 0) {
            apply_add(t, a);
            int idx = lk_delta_hash_find(t, t->key.data);
            t->files[idx].live = 0;
            t->files[idx].deletion_ts = obj_int(a, "deletionTimestamp", 0);
            t->files[idx].rm_size = obj_int(a, "size", -1);
        }
        return 0;
    }
    return apply_kind(t, kind, a, where, err);
}

/*
 * Replays checkpoint cp (every part of a multi-part one) into an empty
 * snapshot. A checkpoint holds the whole state at its version, so it must
 * carry protocol and metaData: without them the table is refused rather
 * than read with a guessed schema.
 */
static int replay_checkpoint(lk_delta_table *t, const cp_cand *cp, lk_error *err)
{
    char path[4400];
    int rc = 0;
    for (int part = 1; part <= cp->parts && rc == 0; part++) {
        if (cp->parts == 1)
            snprintf(path, sizeof path, "%s/%s", t->log_dir, cp->name);
        else
            snprintf(path, sizeof path, "%s/%020" PRId64 ".checkpoint.%010d.%010d.parquet",
                     t->log_dir, cp->v, part, cp->parts);
        rc = lk_delta_checkpoint_read(path, t->log_dir, cp_apply, t, err);
    }
    if (rc) return rc;
    if (!t->protocol_json || !t->metadata_json)
        return lk_error_set(err, LK_EFORMAT,
                            "%s/%s: checkpoint of version %" PRId64 " has no %s action", t->log_dir,
                            cp->name, cp->v, t->protocol_json ? "metaData" : "protocol");
    t->version = cp->v;
    t->checkpoint_version = cp->v;
    t->base = *cp;
    return 0;
}

/* Parses a log file name: 1 for "<v:020>.json", 2 for a checkpoint (part
   and parts set: 1/1 for classic and v2), 0 for anything else. */
int lk_delta_parse_log_name(const char *name, int64_t *v, int *part, int *parts)
{
    if (!lk_delta_all_digits(name, 20) || name[20] != '.') return 0;
    *v = strtoll(name, NULL, 10);
    const char *rest = name + 20;
    if (strcmp(rest, ".json") == 0) return 1;
    if (strncmp(rest, ".checkpoint.", 12) != 0) return 0;
    rest += 12;
    *part = *parts = 1;
    if (strcmp(rest, "parquet") == 0) return 2;
    /* multi-part: <part:010>.<parts:010>.parquet */
    if (strlen(rest) == 29 && lk_delta_all_digits(rest, 10) && rest[10] == '.' &&
        lk_delta_all_digits(rest + 11, 10) && strcmp(rest + 21, ".parquet") == 0) {
        *part = atoi(rest);
        *parts = atoi(rest + 11);
        return *part >= 1 && *part <= *parts ? 2 : 0;
    }
    /* v2: <uuid>.json or <uuid>.parquet */
    const char *dot = strchr(rest, '.');
    if (dot && dot - rest == 36 && (strcmp(dot, ".json") == 0 || strcmp(dot, ".parquet") == 0))
        return 2;
    return 0;
}

static int cmp_cand_desc(const void *a, const void *b)
{
    const cp_cand *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? 1 : -1;
    return 0;
}

/* _last_checkpoint's version (and parts), or -1 if absent or unreadable. */
int64_t lk_delta_last_checkpoint_version(const lk_delta_table *t, int *parts)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/_last_checkpoint", t->log_dir);
    *parts = 1;
    if (!lk_fs_exists(path)) return -1;
    lk_buf b = LK_BUF_INIT;
    lk_error e;
    int64_t v = -1;
    if (lk_fs_read_file(path, &b, 1 << 20, &e) == 0 && b.data) {
        yajl_val root = yajl_tree_parse(b.data, NULL, 0);
        if (root) {
            v = obj_int(root, "version", -1);
            *parts = (int)obj_int(root, "parts", 1);
            yajl_tree_free(root);
        }
    }
    if (v < 0) LK_WARN("delta: %s is unreadable, falling back to listing", path);
    lk_buf_free(&b);
    return v;
}

/*
 * Full load: the newest complete checkpoint at or before the wanted version
 * (the one _last_checkpoint names, or a newer one the listing shows, or,
 * when _last_checkpoint is missing or corrupt, the newest listed), then the
 * JSON commits after it. A checkpoint that cannot be read is skipped for an
 * older one (or the JSON commits from version 0) with a warning.
 */
int lk_delta_load_full(lk_delta_table *t, lk_error *err)
{
    DIR *d = opendir(t->log_dir);
    if (!d) {
        if (errno == ENOENT) return 0; /* no table yet */
        return lk_error_errno(err, -errno, "cannot list '%s'", t->log_dir);
    }
    int64_t *jv = NULL;
    int nj = 0, capj = 0;
    cp_cand *cps = NULL;
    int ncp = 0, capcp = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        int64_t v;
        int part, parts;
        int kind = lk_delta_parse_log_name(de->d_name, &v, &part, &parts);
        if (kind == 1) {
            if (nj == capj) {
                capj = capj ? capj * 2 : 64;
                jv = lk_xrealloc(jv, (size_t)capj * sizeof *jv);
            }
            jv[nj++] = v;
        } else if (kind == 2) {
            int k = 0;
            if (parts > 1)
                for (; k < ncp; k++)
                    if (cps[k].v == v && cps[k].parts == parts) break;
            if (parts == 1 || k == ncp) {
                if (ncp == capcp) {
                    capcp = capcp ? capcp * 2 : 16;
                    cps = lk_xrealloc(cps, (size_t)capcp * sizeof *cps);
                }
                k = ncp++;
                cps[k].v = v;
                cps[k].parts = parts;
                cps[k].seen = 0;
                snprintf(cps[k].name, sizeof cps[k].name, "%s", de->d_name);
            }
            cps[k].seen++;
        }
    }
    closedir(d);
    int rc = 0;
    if (nj == 0 && ncp == 0) goto out; /* empty log: no commit yet */
    if (nj) qsort(jv, (size_t)nj, sizeof *jv, lk_delta_cmp_i64);
    if (ncp) qsort(cps, (size_t)ncp, sizeof *cps, cmp_cand_desc);
    int lc_parts;
    int64_t lc = lk_delta_last_checkpoint_version(t, &lc_parts);
    if (lc >= 0) {
        int found = 0;
        for (int k = 0; k < ncp && !found; k++)
            found = cps[k].v == lc && cps[k].parts == lc_parts && cps[k].seen == lc_parts;
        if (!found)
            LK_WARN("delta: %s/_last_checkpoint names version %" PRId64
                    " whose checkpoint is missing or incomplete; using the listing",
                    t->log_dir, lc);
    }
    int64_t start = 0;
    int used = 0;
    lk_error cperr = {0};
    for (int k = 0; k < ncp && !used; k++) {
        if (cps[k].seen != cps[k].parts) continue; /* an incomplete multi-part */
        if (t->as_of != INT64_MAX && cps[k].v > t->as_of) continue;
        lk_delta_reset_state(t);
        rc = replay_checkpoint(t, &cps[k], &cperr);
        if (rc == LK_EUNSUPPORTED || (rc == LK_EFORMAT && strstr(cperr.msg, "has no "))) {
            /* the checkpoint is fine, the table is not: no fallback */
            if (err) *err = cperr;
            goto out;
        }
        if (rc) {
            LK_WARN("delta: cannot read checkpoint %s/%s (%s); trying an older one", t->log_dir,
                    cps[k].name, cperr.msg);
            lk_delta_reset_state(t);
            rc = 0;
            continue;
        }
        used = 1;
        start = cps[k].v + 1;
    }
    if (!used && (nj == 0 || jv[0] != 0)) {
        int64_t oldest = nj ? jv[0] : INT64_MAX;
        for (int k = 0; k < ncp; k++)
            if (cps[k].seen == cps[k].parts && cps[k].v < oldest) oldest = cps[k].v;
        if (t->as_of != INT64_MAX && oldest != INT64_MAX && t->as_of < oldest)
            rc = lk_error_set(err, LK_ENOTFOUND,
                              "%s: version %" PRId64
                              " is before the oldest retained version %" PRId64,
                              t->path, t->as_of, oldest);
        else if (cperr.msg[0])
            rc = lk_error_set(err, LK_EFORMAT,
                              "%s: log starts at version %" PRId64
                              " and no checkpoint is readable: %s",
                              t->log_dir, nj ? jv[0] : 0, cperr.msg);
        else
            rc = lk_error_set(err, LK_EFORMAT,
                              "%s: log starts at version %" PRId64
                              " and has no checkpoint; missing version 0",
                              t->log_dir, nj ? jv[0] : 0);
        goto out;
    }
    /* JSON versions from start must be contiguous up to the newest. */
    int64_t expect = start;
    for (int i = 0; i < nj; i++) {
        if (jv[i] < start) continue;
        if (jv[i] != expect) {
            rc = lk_error_set(err, LK_EFORMAT,
                              "%s: versions not contiguous: missing version %" PRId64
                              " (next present is %" PRId64 ")",
                              t->log_dir, expect, jv[i]);
            goto out;
        }
        expect++;
    }
    if (t->as_of != INT64_MAX) {
        if (t->as_of >= expect) {
            rc = lk_error_set(err, LK_ENOTFOUND,
                              "%s: version %" PRId64 " does not exist (the latest is %" PRId64 ")",
                              t->path, t->as_of, expect - 1);
            goto out;
        }
        if (t->as_of < start && !used) {
            rc = lk_error_set(err, LK_ENOTFOUND,
                              "%s: version %" PRId64
                              " is before the oldest retained version %" PRId64,
                              t->path, t->as_of, start);
            goto out;
        }
        expect = t->as_of + 1;
    }
    for (int64_t v = start; v < expect; v++)
        if ((rc = lk_delta_replay_json(t, v, NULL, err))) goto out;
    if (t->version >= 0 && (!t->protocol_json || !t->metadata_json))
        rc = lk_error_set(err, LK_EFORMAT, "%s: no %s action in versions 0 to %" PRId64, t->log_dir,
                          t->protocol_json ? "metaData" : "protocol", t->version);
out:
    free(jv);
    free(cps);
    return rc;
}

/* Catches up from t->version by probing the next versions; w for retries. */
int lk_delta_catch_up(lk_delta_table *t, lk_delta_watch *w, lk_error *err)
{
    if (t->version < 0) return lk_delta_load_full(t, err);
    for (;;) {
        lk_error e;
        int rc = lk_delta_replay_json(t, t->version + 1, w, &e);
        if (rc == -ENOENT) {
            /* Either nothing new, or a handle so far behind that log cleanup
               removed the next commit: then a newer checkpoint exists and
               the snapshot is rebuilt from it (a commit being retried cannot
               check the lost versions for conflicts: it fails instead). */
            int parts;
            int64_t lc = lk_delta_last_checkpoint_version(t, &parts);
            if (lc <= t->version) return 0;
            char next[4200];
            version_path(t, t->version + 1, ".json", next, sizeof next);
            if (lk_fs_exists(next)) continue; /* it appeared meanwhile */
            if (w)
                return lk_error_set(err, LK_ECONFLICT,
                                    "%s: version %" PRId64 " was cleaned up before this "
                                    "handle read it (checkpoint %" PRId64 ")",
                                    t->path, t->version + 1, lc);
            lk_delta_reset_state(t);
            return lk_delta_load_full(t, err);
        }
        if (rc) {
            if (err) *err = e;
            return rc;
        }
    }
}
