/*
 * lk_delta — Delta Lake transaction log: log replay and optimistic commits.
 *
 * Replay follows PROTOCOL.md: the latest protocol and metaData win; files
 * are keyed by (URL-decoded path, deletion-vector id), a later remove
 * cancels an add and a later add re-adds; the latest txn per appId wins;
 * versions must be contiguous. Every action, whatever its source (a JSON
 * commit now, a Parquet checkpoint once the reader lands), goes through
 * apply_action(), so conflict checking during a commit retry is the same
 * code path as a refresh.
 *
 * File entries are never freed during the life of a full handle: a removed
 * file is marked dead and stays in the hash, so a re-add revives it in place.
 * The live view (lk_delta_file_at) is rebuilt lazily after replay. A
 * log-only handle (lk_delta_open_log) holds entries only for the files
 * touched since its base checkpoint and drops them when it writes the next
 * one (rebase); its checkpoints stream the base (stream_snapshot).
 */
#include "lk_delta.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "lk_bytes.h"
#include "lk_delta_checkpoint.h"
#include "lk_fault.h"
#include "lk_fs.h"
#include "lk_json.h"
#include "lk_log.h"
#include "lk_time.h"

#define LOG_MAX_BYTES ((size_t)1 << 30)
/* Reader features whose rows need lk_delta_scan's help: physical column
   names, deletion vectors. */
#define LK_DELTA_SCAN_FEATURES "columnMapping", "deletionVectors"
#define COMMIT_ATTEMPTS 64

typedef struct file_ent {
    lk_delta_file f; /* public view; strings owned below */
    char *key;       /* decoded path + '\x1f' + dv id */
    char *path;
    char *pv_json;
    char *stats;
    char *dv; /* deletionVector JSON or NULL */
    int live;
    int64_t deletion_ts; /* of the remove that made it dead (ms), 0 if unknown */
    int64_t rm_size;     /* size the remove gave, -1 if none */
    /* log-only handles (the entry is a change since the base checkpoint): */
    int has_add;      /* an add was applied since the base */
    int64_t seq;      /* order of that first add (the checkpoint's order) */
    int pre_rm;       /* a remove came first: kills the base's live file */
    int64_t pre_ts;   /* its deletionTimestamp */
    int64_t pre_size; /* its size, -1 if none */
    int placed;       /* streaming: written at the base row's position */
} file_ent;

/* A checkpoint found by listing: classic (parts 1), multi-part or v2. */
typedef struct cp_cand {
    int64_t v;
    int parts, seen;
    char name[128]; /* classic/v2: the file; multi-part: any part */
} cp_cand;

typedef struct txn_ent {
    char *app_id;
    int64_t version;
} txn_ent;

struct lk_delta_table {
    char *path;
    char *log_dir;
    int64_t version;
    int min_reader, min_writer;
    lk_schema *schema;
    char *table_id;
    char *metadata_json;        /* latest metaData action (compact JSON), or NULL */
    char *protocol_json;        /* latest protocol action, or NULL */
    yajl_val metadata;          /* metadata_json parsed: configuration lookups */
    int64_t checkpoint_version; /* the checkpoint replay started from, -1: none */
    file_ent *files;
    int nfiles, capfiles;
    int *hash; /* open addressing, index into files or -1 */
    size_t hcap;
    const lk_delta_file **live; /* rebuilt when live_dirty */
    int nlive, caplive, live_dirty;
    txn_ent *txns;
    int ntxns, captxns;
    lk_buf line, scratch, key;
    int64_t as_of; /* time travel: replay stops here (INT64_MAX: latest) */
    /* Log-only handles (lk_delta_open_log): files holds only the changes
       since base (the checkpoint replay started from or the last one this
       handle wrote; base.v -1: none, the changes since version 0). */
    int log_only;
    cp_cand base;
    int64_t add_seq;
    int64_t rows;   /* sum of numRecords of the live files */
    int rows_exact; /* 0: a remove of a base file made rows unknown */
};

/* What a commit being retried looks for in the versions that beat it. */
typedef struct conflict_ctx {
    const lk_delta_commit *c;
    int64_t version; /* version being applied */
    int dry;         /* check only: the snapshot already holds these versions */
    int code;
    char msg[512];
} conflict_ctx;

typedef struct commit_file {
    char *path; /* add: raw path (encoded at build); remove: path as in the log */
    int64_t size, mtime;
    char *stats;
    char *pv; /* add: partitionValues JSON, or NULL for {} */
    int data_change;
} commit_file;

struct lk_delta_commit {
    lk_delta_table *t;
    char *operation;
    int64_t read_version;
    lk_schema *schema;
    commit_file *adds, *removes;
    int nadds, capadds, nremoves, capremoves;
    char *txn_app;
    int64_t txn_version;
    lk_buf params; /* "k":v,... */
    char **props;  /* key, value, key, value...: metaData.configuration changes */
    char *pcols;   /* partitionColumns JSON array set by the commit, or NULL */
    int nprops;
    lk_buf body;
};

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p) abort();
    return p;
}

/* ---------- small helpers ---------- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void lk_delta_url_decode(const char *s, lk_buf *out)
{
    for (; *s; s++) {
        int h, l;
        if (*s == '%' && (h = hexval(s[1])) >= 0 && (l = hexval(s[2])) >= 0) {
            lk_buf_putc(out, (char)(h * 16 + l));
            s += 2;
        } else {
            lk_buf_putc(out, *s);
        }
    }
}

/* Hadoop Path.toUri().toString(): ASCII characters that RFC 2396 does not
   allow in a path are %XX-encoded; non-ASCII bytes are left as they are. */
static void url_encode(const char *s, lk_buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int ok = c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || strchr("-_.!~*'()/;:@&=+$,", c) != NULL;
        if (ok && c != 0) {
            lk_buf_putc(out, (char)c);
        } else {
            lk_buf_putc(out, '%');
            lk_buf_putc(out, hex[c >> 4]);
            lk_buf_putc(out, hex[c & 15]);
        }
    }
}

static void uuid_v4(char out[37])
{
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t r = getrandom(b + got, sizeof b - got, 0);
        if (r > 0)
            got += (size_t)r;
        else if (errno != EINTR)
            abort();
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static void version_path(const lk_delta_table *t, int64_t v, const char *suffix, char *out,
                         size_t cap)
{
    snprintf(out, cap, "%s/%020" PRId64 "%s", t->log_dir, v, suffix);
}

static const char *obj_str(yajl_val o, const char *key)
{
    yajl_val v = lk_json_get(o, key);
    return v && YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
}

static int64_t obj_int(yajl_val o, const char *key, int64_t dflt)
{
    yajl_val v = lk_json_get(o, key);
    return v && YAJL_IS_INTEGER(v) ? (int64_t)YAJL_GET_INTEGER(v) : dflt;
}

/* ---------- snapshot state ---------- */

static void hash_insert(lk_delta_table *t, int idx)
{
    size_t m = t->hcap - 1;
    size_t h = (size_t)hash_str(t->files[idx].key) & m;
    while (t->hash[h] >= 0)
        h = (h + 1) & m;
    t->hash[h] = idx;
}

static int hash_find(const lk_delta_table *t, const char *key)
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
    t->hash = xrealloc(t->hash, t->hcap * sizeof *t->hash);
    for (size_t i = 0; i < t->hcap; i++)
        t->hash[i] = -1;
    for (int i = 0; i < t->nfiles; i++)
        hash_insert(t, i);
}

/* Builds the reconciliation key of a file action into t->key. */
static const char *file_key(lk_delta_table *t, const char *path, yajl_val dv)
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

static void txn_set(lk_delta_table *t, const char *app, int64_t v)
{
    for (int i = 0; i < t->ntxns; i++)
        if (strcmp(t->txns[i].app_id, app) == 0) {
            t->txns[i].version = v;
            return;
        }
    if (t->ntxns == t->captxns) {
        t->captxns = t->captxns ? t->captxns * 2 : 8;
        t->txns = xrealloc(t->txns, (size_t)t->captxns * sizeof *t->txns);
    }
    t->txns[t->ntxns].app_id = lk_strdup(app);
    t->txns[t->ntxns++].version = v;
}

static int64_t stats_num_records(const char *stats)
{
    if (!stats) return -1;
    /* Cheap path: Spark writes numRecords first. */
    const char *p = strstr(stats, "\"numRecords\":");
    if (p) return strtoll(p + 13, NULL, 10);
    return -1;
}

static void apply_add(lk_delta_table *t, yajl_val a)
{
    const char *path = obj_str(a, "path");
    const char *key = file_key(t, path, lk_json_get(a, "deletionVector"));
    int idx = hash_find(t, key);
    file_ent *e;
    if (idx < 0) {
        hash_grow(t);
        if (t->nfiles == t->capfiles) {
            t->capfiles = t->capfiles ? t->capfiles * 2 : 64;
            t->files = xrealloc(t->files, (size_t)t->capfiles * sizeof *t->files);
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
    yajl_val pv = lk_json_get(a, "partitionValues");
    if (pv && YAJL_IS_OBJECT(pv))
        lk_json_text(pv, &t->scratch);
    else
        lk_buf_puts(&t->scratch, "{}");
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
    e->f.num_records = stats_num_records(e->stats);
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

static int commit_removes(const lk_delta_commit *c, const char *decoded_path);
static void maybe_checkpoint(lk_delta_table *t, int64_t v);

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
    const char *key = file_key(t, obj_str(a, "path"), lk_json_get(a, "deletionVector"));
    int idx = hash_find(t, key);
    int was_live = idx >= 0 && t->files[idx].live;
    int pre = idx >= 0 && t->files[idx].pre_rm && !t->files[idx].has_add;
    apply_add(t, a);
    file_ent *e = &t->files[hash_find(t, t->key.data)];
    if (!e->has_add) {
        e->has_add = 1;
        e->seq = t->add_seq++;
    }
    if (e->f.num_records > 0) t->rows += e->f.num_records;
    if (was_live || pre) t->rows_exact = 0; /* replaced a file whose rows we lost */
}

static void log_remove(lk_delta_table *t, yajl_val a)
{
    const char *key = file_key(t, obj_str(a, "path"), lk_json_get(a, "deletionVector"));
    int idx = hash_find(t, key);
    if (idx < 0) {
        apply_add(t, a); /* an entry keyed like the base file it removes */
        file_ent *e = &t->files[hash_find(t, t->key.data)];
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
        const char *key = file_key(t, path, lk_json_get(a, "deletionVector"));
        int idx = hash_find(t, key);
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

/* Checks one action of a version that beat the commit cc->c; records the
   first conflict by the protocol's rules (blind appends never conflict). */
static void check_conflict(lk_delta_table *t, yajl_val act, conflict_ctx *cc)
{
    if (cc->code || !YAJL_IS_OBJECT(act) || act->u.object.len == 0) return;
    const char *kind = act->u.object.keys[0];
    yajl_val a = act->u.object.values[0];
    const char *path = obj_str(a, "path");
    const char *app = obj_str(a, "appId");
    if (strcmp(kind, "remove") == 0 && path) {
        lk_buf_reset(&t->scratch);
        lk_delta_url_decode(path, &t->scratch);
        if (commit_removes(cc->c, t->scratch.data))
            snprintf(cc->msg, sizeof cc->msg, "file '%s' removed concurrently at version %" PRId64,
                     path, cc->version);
        else
            return;
    } else if (strcmp(kind, "txn") == 0 && app) {
        if (!cc->c->txn_app || strcmp(cc->c->txn_app, app) != 0) return;
        snprintf(cc->msg, sizeof cc->msg, "concurrent transaction for appId %s at version %" PRId64,
                 app, cc->version);
    } else if (strcmp(kind, "protocol") == 0 || strcmp(kind, "metaData") == 0) {
        snprintf(cc->msg, sizeof cc->msg, "%s changed concurrently at version %" PRId64, kind,
                 cc->version);
    } else {
        return;
    }
    cc->code = LK_ECONFLICT;
}

/* Replays one JSON commit file. Returns -ENOENT (without message) if absent. */
static int replay_json(lk_delta_table *t, int64_t v, conflict_ctx *cc, lk_error *err)
{
    char path[4096];
    version_path(t, v, ".json", path, sizeof path);
    lk_buf content = LK_BUF_INIT;
    int rc = lk_fs_read_file(path, &content, LOG_MAX_BYTES, err);
    if (rc) {
        lk_buf_free(&content);
        return rc;
    }
    if (cc) cc->version = v;
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
        if (!cc || !cc->dry) rc = apply_action(t, act, where, err);
        if (rc == 0 && cc) check_conflict(t, act, cc);
        yajl_tree_free(act);
    }
    lk_buf_free(&content);
    if (rc == 0 && (!cc || !cc->dry)) t->version = v;
    return rc;
}

/* Forgets every file the handle holds (and their path index). */
static void forget_files(lk_delta_table *t)
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
static void reset_state(lk_delta_table *t)
{
    forget_files(t);
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
            int64_t n = stats_num_records(obj_str(a, "stats"));
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
        const char *key = file_key(t, path, lk_json_get(a, "deletionVector"));
        if (hash_find(t, key) < 0) {
            apply_add(t, a);
            int idx = hash_find(t, t->key.data);
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

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

/* Parses a log file name: 1 for "<v:020>.json", 2 for a checkpoint (part
   and parts set: 1/1 for classic and v2), 0 for anything else. */
static int parse_log_name(const char *name, int64_t *v, int *part, int *parts)
{
    if (!all_digits(name, 20) || name[20] != '.') return 0;
    *v = strtoll(name, NULL, 10);
    const char *rest = name + 20;
    if (strcmp(rest, ".json") == 0) return 1;
    if (strncmp(rest, ".checkpoint.", 12) != 0) return 0;
    rest += 12;
    *part = *parts = 1;
    if (strcmp(rest, "parquet") == 0) return 2;
    /* multi-part: <part:010>.<parts:010>.parquet */
    if (strlen(rest) == 29 && all_digits(rest, 10) && rest[10] == '.' &&
        all_digits(rest + 11, 10) && strcmp(rest + 21, ".parquet") == 0) {
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

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_cand_desc(const void *a, const void *b)
{
    const cp_cand *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? 1 : -1;
    return 0;
}

/* _last_checkpoint's version (and parts), or -1 if absent or unreadable. */
static int64_t last_checkpoint_version(const lk_delta_table *t, int *parts)
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
static int load_full(lk_delta_table *t, lk_error *err)
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
        int kind = parse_log_name(de->d_name, &v, &part, &parts);
        if (kind == 1) {
            if (nj == capj) {
                capj = capj ? capj * 2 : 64;
                jv = xrealloc(jv, (size_t)capj * sizeof *jv);
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
                    cps = xrealloc(cps, (size_t)capcp * sizeof *cps);
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
    if (nj) qsort(jv, (size_t)nj, sizeof *jv, cmp_i64);
    if (ncp) qsort(cps, (size_t)ncp, sizeof *cps, cmp_cand_desc);
    int lc_parts;
    int64_t lc = last_checkpoint_version(t, &lc_parts);
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
        reset_state(t);
        rc = replay_checkpoint(t, &cps[k], &cperr);
        if (rc == LK_EUNSUPPORTED || (rc == LK_EFORMAT && strstr(cperr.msg, "has no "))) {
            /* the checkpoint is fine, the table is not: no fallback */
            if (err) *err = cperr;
            goto out;
        }
        if (rc) {
            LK_WARN("delta: cannot read checkpoint %s/%s (%s); trying an older one", t->log_dir,
                    cps[k].name, cperr.msg);
            reset_state(t);
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
        if ((rc = replay_json(t, v, NULL, err))) goto out;
    if (t->version >= 0 && (!t->protocol_json || !t->metadata_json))
        rc = lk_error_set(err, LK_EFORMAT, "%s: no %s action in versions 0 to %" PRId64, t->log_dir,
                          t->protocol_json ? "metaData" : "protocol", t->version);
out:
    free(jv);
    free(cps);
    return rc;
}

/* Catches up from t->version by probing the next versions; cc for retries. */
static int catch_up(lk_delta_table *t, conflict_ctx *cc, lk_error *err)
{
    if (t->version < 0) return load_full(t, err);
    for (;;) {
        lk_error e;
        int rc = replay_json(t, t->version + 1, cc, &e);
        if (rc == -ENOENT) {
            /* Either nothing new, or a handle so far behind that log cleanup
               removed the next commit: then a newer checkpoint exists and
               the snapshot is rebuilt from it (a commit being retried cannot
               check the lost versions for conflicts: it fails instead). */
            int parts;
            int64_t lc = last_checkpoint_version(t, &parts);
            if (lc <= t->version) return 0;
            char next[4200];
            version_path(t, t->version + 1, ".json", next, sizeof next);
            if (lk_fs_exists(next)) continue; /* it appeared meanwhile */
            if (cc)
                return lk_error_set(err, LK_ECONFLICT,
                                    "%s: version %" PRId64 " was cleaned up before this "
                                    "handle read it (checkpoint %" PRId64 ")",
                                    t->path, t->version + 1, lc);
            reset_state(t);
            return load_full(t, err);
        }
        if (rc) {
            if (err) *err = e;
            return rc;
        }
    }
}

/* Opens the table and replays its log up to as_of (INT64_MAX: the latest). */
static int open_at(const char *table_path, int64_t as_of, int log_only, lk_delta_table **out,
                   lk_error *err)
{
    *out = NULL;
    lk_delta_table *t = calloc(1, sizeof *t);
    if (!t) abort();
    t->path = lk_strdup(table_path);
    size_t n = strlen(t->path);
    while (n > 1 && t->path[n - 1] == '/')
        t->path[--n] = 0;
    t->log_dir = xrealloc(NULL, n + 16);
    snprintf(t->log_dir, n + 16, "%s/_delta_log", t->path);
    t->version = -1;
    t->min_reader = 1;
    t->min_writer = 2;
    t->as_of = as_of;
    t->checkpoint_version = -1;
    t->log_only = log_only;
    t->base.v = -1;
    t->rows_exact = 1;
    int rc = load_full(t, err);
    if (rc == 0 && as_of != INT64_MAX && t->version != as_of)
        rc = lk_error_set(err, LK_ENOTFOUND, "%s: no version %" PRId64 " (the table has none yet)",
                          t->path, as_of);
    if (rc) {
        lk_delta_destroy(&t);
        return rc;
    }
    *out = t;
    return 0;
}

int lk_delta_open(const char *table_path, lk_delta_table **out, lk_error *err)
{
    return open_at(table_path, INT64_MAX, 0, out, err);
}

int lk_delta_open_log(const char *table_path, lk_delta_table **out, lk_error *err)
{
    return open_at(table_path, INT64_MAX, 1, out, err);
}

int lk_delta_open_version(const char *table_path, int64_t version, lk_delta_table **out,
                          lk_error *err)
{
    *out = NULL;
    if (version < 0)
        return lk_error_set(err, -EINVAL, "%s: no version %" PRId64, table_path, version);
    return open_at(table_path, version, 0, out, err);
}

void lk_delta_destroy(lk_delta_table **tp)
{
    lk_delta_table *t = tp ? *tp : NULL;
    if (!t) return;
    for (int i = 0; i < t->nfiles; i++) {
        free(t->files[i].key);
        free(t->files[i].path);
        free(t->files[i].pv_json);
        free(t->files[i].stats);
        free(t->files[i].dv);
    }
    for (int i = 0; i < t->ntxns; i++)
        free(t->txns[i].app_id);
    free(t->files);
    free(t->hash);
    free(t->live);
    free(t->txns);
    free(t->path);
    free(t->log_dir);
    free(t->table_id);
    lk_schema_destroy(&t->schema);
    free(t->metadata_json);
    free(t->protocol_json);
    yajl_tree_free(t->metadata);
    lk_buf_free(&t->line);
    lk_buf_free(&t->scratch);
    lk_buf_free(&t->key);
    free(t);
    *tp = NULL;
}

int lk_delta_refresh(lk_delta_table *t, lk_error *err)
{
    if (t->as_of != INT64_MAX) return 0; /* a snapshot at a version does not move */
    return catch_up(t, NULL, err);
}

const char *lk_delta_path(const lk_delta_table *t)
{
    return t->path;
}
int64_t lk_delta_version(const lk_delta_table *t)
{
    return t->version;
}
const lk_schema *lk_delta_schema(const lk_delta_table *t)
{
    return t->schema;
}

int64_t lk_delta_txn_version(const lk_delta_table *t, const char *app_id)
{
    for (int i = 0; i < t->ntxns; i++)
        if (strcmp(t->txns[i].app_id, app_id) == 0) return t->txns[i].version;
    return -1;
}

static void rebuild_live(lk_delta_table *t)
{
    if (!t->live_dirty) return;
    t->nlive = 0;
    for (int i = 0; i < t->nfiles; i++) {
        if (!t->files[i].live) continue;
        if (t->nlive == t->caplive) {
            t->caplive = t->caplive ? t->caplive * 2 : 64;
            t->live = xrealloc(t->live, (size_t)t->caplive * sizeof *t->live);
        }
        t->live[t->nlive++] = &t->files[i].f;
    }
    t->live_dirty = 0;
}

int lk_delta_nfiles(const lk_delta_table *t)
{
    if (t->log_only) return 0;
    rebuild_live((lk_delta_table *)t); /* a cache: logically const */
    return t->nlive;
}

const lk_delta_file *lk_delta_file_at(const lk_delta_table *t, int i)
{
    if (t->log_only) return NULL;
    rebuild_live((lk_delta_table *)t);
    return i >= 0 && i < t->nlive ? t->live[i] : NULL;
}

static int count_rows(lk_delta_table *t, lk_error *err);

int64_t lk_delta_num_records(const lk_delta_table *t)
{
    if (t->log_only) {
        lk_error e;
        if (!t->rows_exact && count_rows((lk_delta_table *)t, &e)) /* a cache: logically const */
            LK_WARN("delta: %s: cannot count rows: %s", t->path, e.msg);
        return t->rows;
    }
    int64_t n = 0;
    for (int i = 0; i < t->nfiles; i++)
        if (t->files[i].live && t->files[i].f.num_records > 0) n += t->files[i].f.num_records;
    return n;
}

/* ---------- commits ---------- */

lk_delta_commit *lk_delta_commit_new(lk_delta_table *t, const char *operation)
{
    lk_delta_commit *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->t = t;
    c->operation = lk_strdup(operation);
    c->read_version = t->version;
    c->txn_version = -1;
    return c;
}

static void free_files(commit_file *f, int n)
{
    for (int i = 0; i < n; i++) {
        free(f[i].pv);
        free(f[i].path);
        free(f[i].stats);
    }
    free(f);
}

void lk_delta_commit_destroy(lk_delta_commit **cp)
{
    lk_delta_commit *c = cp ? *cp : NULL;
    if (!c) return;
    free(c->operation);
    lk_schema_destroy(&c->schema);
    free_files(c->adds, c->nadds);
    free_files(c->removes, c->nremoves);
    free(c->txn_app);
    lk_buf_free(&c->params);
    lk_buf_free(&c->body);
    for (int i = 0; i < c->nprops * 2; i++)
        free(c->props[i]);
    free(c->props);
    free(c->pcols);
    free(c);
    *cp = NULL;
}

void lk_delta_commit_set_schema(lk_delta_commit *c, const lk_schema *s)
{
    lk_schema_destroy(&c->schema);
    c->schema = lk_schema_clone(s);
}

static commit_file *push_file(commit_file **arr, int *n, int *cap)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        *arr = xrealloc(*arr, (size_t)*cap * sizeof **arr);
    }
    commit_file *f = &(*arr)[(*n)++];
    memset(f, 0, sizeof *f);
    return f;
}

void lk_delta_commit_add_file(lk_delta_commit *c, const char *path, int64_t size,
                              int64_t modification_time_ms, const char *stats_json, int data_change)
{
    commit_file *f = push_file(&c->adds, &c->nadds, &c->capadds);
    f->path = lk_strdup(path);
    f->size = size;
    f->mtime = modification_time_ms;
    f->stats = stats_json ? lk_strdup(stats_json) : NULL;
    f->data_change = data_change;
}

void lk_delta_commit_add_file_partitioned(lk_delta_commit *c, const char *path,
                                          const char *partition_values_json, int64_t size,
                                          int64_t modification_time_ms, const char *stats_json,
                                          int data_change)
{
    lk_delta_commit_add_file(c, path, size, modification_time_ms, stats_json, data_change);
    c->adds[c->nadds - 1].pv = partition_values_json ? lk_strdup(partition_values_json) : NULL;
}

void lk_delta_commit_set_partition_columns(lk_delta_commit *c, const char *const *cols, int n)
{
    lk_buf b = LK_BUF_INIT;
    lk_buf_putc(&b, '[');
    for (int i = 0; i < n; i++) {
        if (i) lk_buf_putc(&b, ',');
        lk_buf_json_string(&b, cols[i], strlen(cols[i]));
    }
    lk_buf_putc(&b, ']');
    free(c->pcols);
    c->pcols = lk_strdup(b.data);
    lk_buf_free(&b);
}

void lk_delta_partition_dir(const char *col, const char *value, lk_buf *out)
{
    /* Spark's ExternalCatalogUtils.escapePathName: these characters (and
       controls) become %XX; null is Hive's default partition. */
    static const char hex[] = "0123456789ABCDEF";
    const char *parts[2] = {col, value ? value : NULL};
    for (int k = 0; k < 2; k++) {
        if (k) lk_buf_putc(out, '=');
        if (k && (!value || !*value)) {
            lk_buf_puts(out, "__HIVE_DEFAULT_PARTITION__");
            break;
        }
        for (const char *p = parts[k]; *p; p++) {
            unsigned char ch = (unsigned char)*p;
            if (ch < 0x20 || ch == 0x7F || strchr("\"#%'*/:=?\\{[]^", ch)) {
                lk_buf_putc(out, '%');
                lk_buf_putc(out, hex[ch >> 4]);
                lk_buf_putc(out, hex[ch & 15]);
            } else {
                lk_buf_putc(out, (char)ch);
            }
        }
    }
}

void lk_delta_commit_remove_file(lk_delta_commit *c, const char *path, int data_change)
{
    commit_file *f = push_file(&c->removes, &c->nremoves, &c->capremoves);
    f->path = lk_strdup(path);
    f->data_change = data_change;
    f->size = -1;
}

void lk_delta_commit_set_property(lk_delta_commit *c, const char *key, const char *value)
{
    c->props = xrealloc(c->props, (size_t)(c->nprops + 1) * 2 * sizeof *c->props);
    c->props[c->nprops * 2] = lk_strdup(key);
    c->props[c->nprops * 2 + 1] = value ? lk_strdup(value) : NULL;
    c->nprops++;
}

/* metaData.configuration: the table's current one with c's changes on top
   (a NULL value removes the key). */
static void put_configuration(const lk_delta_commit *c, int64_t version, lk_buf *b)
{
    yajl_val conf = version > 0 ? lk_json_get(c->t->metadata, "configuration") : NULL;
    int first = 1;
    lk_buf_putc(b, '{');
    if (conf && YAJL_IS_OBJECT(conf))
        for (size_t i = 0; i < conf->u.object.len; i++) {
            const char *k = conf->u.object.keys[i];
            yajl_val v = conf->u.object.values[i];
            int overridden = 0;
            for (int j = 0; j < c->nprops && !overridden; j++)
                overridden = strcmp(c->props[j * 2], k) == 0;
            if (overridden || !YAJL_IS_STRING(v)) continue;
            if (!first) lk_buf_putc(b, ',');
            first = 0;
            lk_buf_json_string(b, k, strlen(k));
            lk_buf_putc(b, ':');
            const char *sv = YAJL_GET_STRING(v);
            lk_buf_json_string(b, sv, strlen(sv ? sv : ""));
        }
    for (int j = 0; j < c->nprops; j++) {
        const char *k = c->props[j * 2], *v = c->props[j * 2 + 1];
        int later = 0; /* the last setting of a key wins */
        for (int m = j + 1; m < c->nprops && !later; m++)
            later = strcmp(c->props[m * 2], k) == 0;
        if (later || !v) continue;
        if (!first) lk_buf_putc(b, ',');
        first = 0;
        lk_buf_json_string(b, k, strlen(k));
        lk_buf_putc(b, ':');
        lk_buf_json_string(b, v, strlen(v));
    }
    lk_buf_putc(b, '}');
}

void lk_delta_commit_set_txn(lk_delta_commit *c, const char *app_id, int64_t version)
{
    free(c->txn_app);
    c->txn_app = lk_strdup(app_id);
    c->txn_version = version;
}

void lk_delta_commit_set_param(lk_delta_commit *c, const char *key, const char *json_value)
{
    if (c->params.len) lk_buf_putc(&c->params, ',');
    lk_buf_json_string(&c->params, key, strlen(key));
    lk_buf_putc(&c->params, ':');
    lk_buf_puts(&c->params, json_value);
}

/* Does c remove the file whose decoded path is decoded_path? */
static int commit_removes(const lk_delta_commit *c, const char *decoded_path)
{
    lk_buf b = LK_BUF_INIT;
    int hit = 0;
    for (int i = 0; i < c->nremoves && !hit; i++) {
        lk_buf_reset(&b);
        lk_delta_url_decode(c->removes[i].path, &b);
        hit = strcmp(b.data, decoded_path) == 0;
    }
    lk_buf_free(&b);
    return hit;
}

static void build_body(lk_delta_commit *c, int64_t version)
{
    lk_delta_table *t = c->t;
    lk_buf *b = &c->body;
    lk_buf_reset(b);
    char uuid[37];
    int64_t now = lk_time_now_ms();
    int blind = c->nremoves == 0; /* only adds: as Spark marks an append */

    uuid_v4(uuid);
    lk_buf_printf(b, "{\"commitInfo\":{\"timestamp\":%" PRId64 ",\"operation\":", now);
    lk_buf_json_string(b, c->operation, strlen(c->operation));
    lk_buf_puts(b, ",\"operationParameters\":{");
    if (c->params.len) lk_buf_append(b, c->params.data, c->params.len);
    lk_buf_puts(b, "}");
    if (c->read_version >= 0) lk_buf_printf(b, ",\"readVersion\":%" PRId64, c->read_version);
    /* operationMetrics as Spark writes them (strings), for DESCRIBE HISTORY */
    int64_t rows = 0, bytes = 0;
    for (int i = 0; i < c->nadds; i++) {
        int64_t n = stats_num_records(c->adds[i].stats);
        rows += n > 0 ? n : 0;
        bytes += c->adds[i].size;
    }
    lk_buf_printf(b,
                  ",\"operationMetrics\":{\"numFiles\":\"%d\",\"numOutputRows\":\"%" PRId64
                  "\",\"numOutputBytes\":\"%" PRId64 "\",\"numRemovedFiles\":\"%d\"}",
                  c->nadds, rows, bytes, c->nremoves);
    lk_buf_printf(
        b, ",\"isBlindAppend\":%s,\"engineInfo\":\"lakesupd/" LK_VERSION "\",\"txnId\":\"%s\"}}\n",
        blind ? "true" : "false", uuid);

    if (version == 0)
        lk_buf_puts(b, "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n");
    if (!c->schema && c->nprops && t->schema) c->schema = lk_schema_clone(t->schema);
    if (c->schema) {
        const char *id = t->table_id && version > 0 ? t->table_id : NULL;
        if (!id) {
            uuid_v4(uuid);
            id = uuid;
        }
        lk_buf_puts(b, "{\"metaData\":{\"id\":");
        lk_buf_json_string(b, id, strlen(id));
        lk_buf_puts(b, ",\"format\":{\"provider\":\"parquet\",\"options\":{}},\"schemaString\":");
        lk_buf schema = LK_BUF_INIT;
        lk_schema_to_json(c->schema, &schema);
        lk_buf_json_string(b, schema.data ? schema.data : "", schema.len);
        lk_buf_free(&schema);
        lk_buf_puts(b, ",\"partitionColumns\":");
        yajl_val pc = version > 0 ? lk_json_get(t->metadata, "partitionColumns") : NULL;
        if (c->pcols)
            lk_buf_puts(b, c->pcols);
        else if (pc && YAJL_IS_ARRAY(pc))
            lk_json_text(pc, b);
        else
            lk_buf_puts(b, "[]");
        lk_buf_puts(b, ",\"configuration\":");
        put_configuration(c, version, b);
        yajl_val ct = version > 0 ? lk_json_get(t->metadata, "createdTime") : NULL;
        lk_buf_printf(b, ",\"createdTime\":%" PRId64 "}}\n",
                      ct && YAJL_IS_INTEGER(ct) ? (int64_t)YAJL_GET_INTEGER(ct) : now);
    }
    if (c->txn_app) {
        lk_buf_puts(b, "{\"txn\":{\"appId\":");
        lk_buf_json_string(b, c->txn_app, strlen(c->txn_app));
        lk_buf_printf(b, ",\"version\":%" PRId64 ",\"lastUpdated\":%" PRId64 "}}\n", c->txn_version,
                      now);
    }
    lk_buf enc = LK_BUF_INIT;
    for (int i = 0; i < c->nadds; i++) {
        commit_file *f = &c->adds[i];
        lk_buf_reset(&enc);
        url_encode(f->path, &enc);
        lk_buf_puts(b, "{\"add\":{\"path\":");
        lk_buf_json_string(b, enc.data, enc.len);
        lk_buf_printf(b,
                      ",\"partitionValues\":%s,\"size\":%" PRId64 ",\"modificationTime\":%" PRId64
                      ",\"dataChange\":%s",
                      f->pv ? f->pv : "{}", f->size, f->mtime, f->data_change ? "true" : "false");
        if (f->stats) {
            lk_buf_puts(b, ",\"stats\":");
            lk_buf_json_string(b, f->stats, strlen(f->stats));
        }
        lk_buf_puts(b, "}}\n");
    }
    lk_buf_free(&enc);
    for (int i = 0; i < c->nremoves; i++) {
        commit_file *f = &c->removes[i];
        /* size of the removed file, from the snapshot when it is live there */
        int64_t size = -1;
        const char *pv = "{}";
        lk_buf_reset(&t->key);
        lk_delta_url_decode(f->path, &t->key);
        lk_buf_putc(&t->key, '\x1f');
        int idx = hash_find(t, t->key.data);
        if (idx >= 0) {
            size = t->files[idx].f.size;
            pv = t->files[idx].pv_json;
        }
        lk_buf_puts(b, "{\"remove\":{\"path\":");
        lk_buf_json_string(b, f->path, strlen(f->path));
        lk_buf_printf(b, ",\"deletionTimestamp\":%" PRId64 ",\"dataChange\":%s", now,
                      f->data_change ? "true" : "false");
        /* extendedFileMetadata promises partitionValues and size: only when known */
        if (size >= 0)
            lk_buf_printf(b,
                          ",\"extendedFileMetadata\":true,\"partitionValues\":%s,\"size\":%" PRId64,
                          pv, size);
        else
            lk_buf_puts(b, ",\"extendedFileMetadata\":false");
        lk_buf_puts(b, "}}\n");
    }
}

/*
 * Writers must honour every writer feature of the table's protocol. This
 * writer implements the minWriterVersion 2 set minus invariants: appendOnly
 * is enforced here; a schema with invariants, any writer version above 2
 * (constraints, CDF, generated/identity columns, column mapping) and any
 * table feature (version 7) are refused by name rather than written wrong.
 */
static int check_writable(const lk_delta_commit *c, lk_error *err)
{
    const lk_delta_table *t = c->t;
    static const char *const by_version[] = {"",
                                             "",
                                             "",
                                             "checkConstraints",
                                             "changeDataFeed, generatedColumns",
                                             "columnMapping",
                                             "identityColumns"};
    if (t->min_writer > 2) {
        lk_buf feats = LK_BUF_INIT;
        if (t->min_writer >= 7) {
            yajl_val p = yajl_tree_parse(t->protocol_json ? t->protocol_json : "{}", NULL, 0);
            lk_json_text(lk_json_get(p, "writerFeatures"), &feats);
            yajl_tree_free(p);
        } else {
            lk_buf_puts(&feats, by_version[t->min_writer]);
        }
        int rc = lk_error_set(err, LK_EUNSUPPORTED,
                              "%s: cannot write a table with minWriterVersion %d (writer "
                              "features %s are not implemented by lakesupd)",
                              t->path, t->min_writer, feats.data);
        lk_buf_free(&feats);
        return rc;
    }
    if (t->metadata_json && strstr(t->metadata_json, "delta.invariants"))
        return lk_error_set(err, LK_EUNSUPPORTED,
                            "%s: cannot write a table with column invariants "
                            "(delta.invariants is not enforced by lakesupd)",
                            t->path);
    const char *ao = lk_delta_property(t, "delta.appendOnly");
    if (ao && strcmp(ao, "true") == 0)
        for (int i = 0; i < c->nremoves; i++)
            if (c->removes[i].data_change)
                return lk_error_set(err, LK_EUNSUPPORTED,
                                    "%s: delta.appendOnly is true: cannot remove '%s'", t->path,
                                    c->removes[i].path);
    return 0;
}

int lk_delta_commit_run(lk_delta_commit *c, int64_t *version, lk_error *err)
{
    lk_delta_table *t = c->t;
    int rc;
    if (version) *version = -1;
    if (t->as_of != INT64_MAX)
        return lk_error_set(err, -EINVAL, "%s: a snapshot opened at a version is read-only",
                            t->path);
    /* Start from the newest version we can see (blind appends on top are fine). */
    conflict_ctx cc = {.c = c, .code = 0};
    /* Versions the handle already read after the commit was begun (another
       refresh) are checked without being applied again. */
    cc.dry = 1;
    for (int64_t v = c->read_version + 1; c->read_version >= 0 && v <= t->version && !cc.code; v++)
        if ((rc = replay_json(t, v, &cc, err))) return rc;
    cc.dry = 0;
    if (!cc.code && (rc = catch_up(t, t->version >= 0 ? &cc : NULL, err))) return rc;
    if (cc.code)
        return lk_error_set(err, cc.code, "%s: %s (read version %" PRId64 ")", t->path, cc.msg,
                            c->read_version);
    if ((rc = check_writable(c, err))) return rc;
    if ((rc = lk_fs_mkdirs(t->log_dir, err))) return rc;
    for (int attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
        int64_t v = t->version + 1;
        if (v == 0 && !c->schema)
            return lk_error_set(err, LK_ESTATE, "%s: the first commit needs a schema", t->path);
        build_body(c, v);
        char path[4096];
        version_path(t, v, ".json", path, sizeof path);
        rc = lk_fs_put_if_absent(path, c->body.data, c->body.len, err);
        if (rc == 0) {
            if ((rc = catch_up(t, NULL, err))) return rc;
            if (version) *version = v;
            maybe_checkpoint(t, v);
            return 0;
        }
        if (rc != -EEXIST) return rc;
        /* A concurrent writer won version v: check what it (and others) did. */
        cc.code = 0;
        if (v == 0) {
            rc = load_full(t, err);
            if (rc == 0 && t->version >= 0) {
                cc.code = LK_ECONFLICT;
                snprintf(cc.msg, sizeof cc.msg, "table created concurrently at version 0");
            }
        } else {
            rc = catch_up(t, &cc, err);
        }
        if (rc) return rc;
        if (cc.code)
            return lk_error_set(err, cc.code, "%s: %s (our commit lost version %" PRId64 ")",
                                t->path, cc.msg, v);
    }
    return lk_error_set(err, LK_ECONFLICT, "%s: gave up after %d concurrent commits", t->path,
                        COMMIT_ATTEMPTS);
}

/* ---------- stats ---------- */

/* Shortest decimal text that reads back as the same value (as Java prints). */
static void put_decimal(lk_buf *b, const lk_field *f, const lk_value *v)
{
    if (f->precision <= 18)
        lk_buf_decimal_i64(b, v->i, f->scale);
    else
        lk_buf_decimal_be(b, (const unsigned char *)v->p, v->n, f->scale);
}

#define STATS_STRING_PREFIX 32

/* Appends the stats value of leaf l (is_max selects max); 0 if omitted. */
static int put_value(lk_buf *b, const lk_pq_leaf_stats *l, int is_max)
{
    const lk_value *v = is_max ? &l->max : &l->min;
    const lk_field *f = l->field;
    char s[64];
    if (!v->is_set || !f) return 0;
    switch (f->type) {
    case LK_TYPE_BYTE:
    case LK_TYPE_SHORT:
    case LK_TYPE_INTEGER:
    case LK_TYPE_LONG:
        lk_buf_printf(b, "%" PRId64, v->i);
        return 1;
    case LK_TYPE_FLOAT:
    case LK_TYPE_DOUBLE:
        if (!isfinite(v->d)) return 0;
        lk_buf_number(b, v->d, f->type == LK_TYPE_FLOAT);
        return 1;
    case LK_TYPE_DATE: {
        int64_t y;
        unsigned m, d;
        lk_time_civil_from_days(v->i, &y, &m, &d);
        lk_buf_printf(b, "\"%04" PRId64 "-%02u-%02u\"", y, m, d);
        return 1;
    }
    case LK_TYPE_TIMESTAMP:
    case LK_TYPE_TIMESTAMP_NTZ: {
        lk_time_format_iso_ms(v->i, s, sizeof s);
        if (f->type == LK_TYPE_TIMESTAMP_NTZ) {
            size_t n = strlen(s);
            if (n && s[n - 1] == 'Z') s[n - 1] = 0;
        }
        lk_buf_printf(b, "\"%s\"", s);
        return 1;
    }
    case LK_TYPE_DECIMAL:
        put_decimal(b, f, v);
        return 1;
    case LK_TYPE_STRING: {
        /* cut after STATS_STRING_PREFIX code points (continuation bytes 10xxxxxx) */
        size_t n = 0, cps = 0;
        while (n < v->n && cps < STATS_STRING_PREFIX) {
            n++;
            while (n < v->n && ((unsigned char)v->p[n] & 0xC0) == 0x80)
                n++;
            cps++;
        }
        if (n < v->n && is_max) {
            /* The max must stay an upper bound: append U+10FFFF, the largest
               code point, as current delta-spark does (older releases used
               U+FFFD/U+FFFF, which a supplementary character after the prefix
               exceeds). If that next character is itself in plane 16 (lead
               byte F4) no short bound is provable: omit the stat. */
            if ((unsigned char)v->p[n] == 0xF4) return 0;
            lk_buf tmp = LK_BUF_INIT;
            lk_buf_append(&tmp, v->p, n);
            lk_buf_append(&tmp, "\xF4\x8F\xBF\xBF", 4);
            lk_buf_json_string(b, tmp.data, tmp.len);
            lk_buf_free(&tmp);
        } else {
            lk_buf_json_string(b, v->p ? v->p : "", n);
        }
        return 1;
    }
    default: /* boolean and binary: Spark keeps no min/max */
        return 0;
    }
}

/* Writes {"a":..,"s":{"x":..}} for the leaves, opening struct levels lazily. */
static void put_section(lk_buf *b, const lk_pq_file_info *info, int which)
{
    const char *open[32]; /* names of the open struct levels */
    size_t open_len[32];
    int depth = 0;
    int first[33];
    first[0] = 1;
    lk_buf_putc(b, '{');
    lk_buf val = LK_BUF_INIT;
    for (int i = 0; i < info->n_leaves; i++) {
        const lk_pq_leaf_stats *l = &info->leaves[i];
        if (l->in_list || !l->path) continue;
        lk_buf_reset(&val);
        if (which == 2)
            lk_buf_printf(&val, "%" PRId64, l->null_count);
        else if (!put_value(&val, l, which == 1))
            continue;
        /* split the dotted path into components */
        const char *comp[33];
        size_t clen[33];
        int nc = 0;
        const char *p = l->path;
        while (nc < 33) {
            const char *dot = strchr(p, '.');
            comp[nc] = p;
            clen[nc++] = dot ? (size_t)(dot - p) : strlen(p);
            if (!dot) break;
            p = dot + 1;
        }
        int common = 0;
        while (common < depth && common < nc - 1 && open_len[common] == clen[common] &&
               memcmp(open[common], comp[common], clen[common]) == 0)
            common++;
        for (; depth > common; depth--)
            lk_buf_putc(b, '}');
        for (; depth < nc - 1 && depth < 32; depth++) {
            if (!first[depth]) lk_buf_putc(b, ',');
            first[depth] = 0;
            lk_buf_json_string(b, comp[depth], clen[depth]);
            lk_buf_puts(b, ":{");
            open[depth] = comp[depth];
            open_len[depth] = clen[depth];
            first[depth + 1] = 1;
        }
        if (!first[depth]) lk_buf_putc(b, ',');
        first[depth] = 0;
        lk_buf_json_string(b, comp[nc - 1], clen[nc - 1]);
        lk_buf_putc(b, ':');
        lk_buf_append(b, val.data, val.len);
    }
    for (; depth > 0; depth--)
        lk_buf_putc(b, '}');
    lk_buf_putc(b, '}');
    lk_buf_free(&val);
}

void lk_delta_stats_json(const lk_pq_file_info *info, lk_buf *out)
{
    lk_buf_printf(out, "{\"numRecords\":%" PRId64 ",\"minValues\":", info->num_rows);
    put_section(out, info, 0);
    lk_buf_puts(out, ",\"maxValues\":");
    put_section(out, info, 1);
    lk_buf_puts(out, ",\"nullCount\":");
    put_section(out, info, 2);
    lk_buf_putc(out, '}');
}

/* ---------- table properties ---------- */

const char *lk_delta_property(const lk_delta_table *t, const char *key)
{
    return obj_str(lk_json_get(t->metadata, "configuration"), key);
}

int64_t lk_delta_interval_ms(const char *s, int64_t dflt)
{
    /* Delta's CalendarInterval text: "interval <n> <unit>" (also "<n> <unit>") */
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"millisecond", 1}, {"second", 1000},    {"minute", 60000},  {"hour", 3600000},
                 {"day", 86400000},  {"week", 604800000}, {"microsecond", 0}, {"nanosecond", 0}};
    if (!s) return dflt;
    while (*s == ' ')
        s++;
    if (strncasecmp(s, "interval", 8) == 0) s += 8;
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (end == s || errno || n < 0) return dflt;
    while (*end == ' ')
        end++;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        size_t m = strlen(units[i].unit);
        if (strncasecmp(end, units[i].unit, m) == 0 &&
            (end[m] == 0 || ((end[m] == 's' || end[m] == 'S') && end[m + 1] == 0)))
            return n > INT64_MAX / (units[i].ms ? units[i].ms : 1) ? dflt : n * units[i].ms;
    }
    return dflt;
}

static int64_t property_int(const lk_delta_table *t, const char *key, int64_t dflt)
{
    const char *v = lk_delta_property(t, key);
    if (!v) return dflt;
    char *end;
    long long n = strtoll(v, &end, 10);
    return end != v && *end == 0 ? n : dflt;
}

const char *lk_delta_metadata_json(const lk_delta_table *t)
{
    return t->metadata_json;
}

const char *lk_delta_protocol_json(const lk_delta_table *t)
{
    return t->protocol_json;
}

int64_t lk_delta_checkpoint_version(const lk_delta_table *t)
{
    return t->checkpoint_version;
}

void lk_delta_foreach_retained(const lk_delta_table *t, int64_t min_deletion_ts,
                               void (*fn)(void *ctx, const char *path, const char *dv_json),
                               void *ctx)
{
    for (int i = 0; i < t->nfiles; i++) {
        const file_ent *e = &t->files[i];
        if (e->live || e->deletion_ts >= min_deletion_ts) fn(ctx, e->path, e->dv);
    }
}

/* ---------- checkpoint writing ---------- */

#define WEEK_MS ((int64_t)7 * 86400000)

/* One file of the snapshot as the checkpoint writes it. */
typedef struct snap_file {
    const char *path, *pv_json, *stats;
    int64_t size, mtime, num_records;
    int live;
    int64_t deletion_ts, rm_size;
} snap_file;

static void entry_view(const file_ent *e, snap_file *f)
{
    f->path = e->path;
    f->pv_json = e->pv_json;
    f->stats = e->stats;
    f->size = e->f.size;
    f->mtime = e->f.modification_time;
    f->num_records = e->f.num_records;
    f->live = e->live;
    f->deletion_ts = e->deletion_ts;
    f->rm_size = e->rm_size;
}

/* protocol, metaData and the txns: the head of every checkpoint. */
static void snapshot_head(const lk_delta_table *t, lk_buf *out)
{
    lk_buf_puts(out, "{\"protocol\":");
    lk_buf_puts(out, t->protocol_json ? t->protocol_json
                                      : "{\"minReaderVersion\":1,\"minWriterVersion\":2}");
    lk_buf_puts(out, "}\n{\"metaData\":");
    lk_buf_puts(out, t->metadata_json);
    lk_buf_puts(out, "}\n");
    for (int i = 0; i < t->ntxns; i++) {
        lk_buf_puts(out, "{\"txn\":{\"appId\":");
        lk_buf_json_string(out, t->txns[i].app_id, strlen(t->txns[i].app_id));
        lk_buf_printf(out, ",\"version\":%" PRId64 "}}\n", t->txns[i].version);
    }
}

/* A live file as an add, a tombstone inside the retention (deletion after
   min_ts) as a remove; expired tombstones are dropped. */
static void snapshot_file(const snap_file *e, int64_t min_ts, lk_buf *out)
{
    if (e->live) {
        lk_buf_puts(out, "{\"add\":{\"path\":");
        lk_buf_json_string(out, e->path, strlen(e->path));
        lk_buf_printf(out,
                      ",\"partitionValues\":%s,\"size\":%" PRId64 ",\"modificationTime\":%" PRId64
                      ",\"dataChange\":false",
                      e->pv_json, e->size, e->mtime);
        if (e->stats) {
            lk_buf_puts(out, ",\"stats\":");
            lk_buf_json_string(out, e->stats, strlen(e->stats));
        }
        lk_buf_puts(out, "}}\n");
    } else if (e->deletion_ts > min_ts) {
        /* a remove without deletionTimestamp counts as expired, as in
           Spark: it would otherwise ride along in every checkpoint */
        lk_buf_puts(out, "{\"remove\":{\"path\":");
        lk_buf_json_string(out, e->path, strlen(e->path));
        lk_buf_printf(out, ",\"deletionTimestamp\":%" PRId64 ",\"dataChange\":false",
                      e->deletion_ts);
        if (e->rm_size >= 0)
            lk_buf_printf(out,
                          ",\"extendedFileMetadata\":true,\"partitionValues\":%s,"
                          "\"size\":%" PRId64,
                          e->pv_json, e->rm_size);
        lk_buf_puts(out, "}}\n");
    }
}

static int64_t tombstone_min_ts(const lk_delta_table *t, int64_t now)
{
    return now - lk_delta_interval_ms(lk_delta_property(t, "delta.deletedFileRetentionDuration"),
                                      WEEK_MS);
}

/* The snapshot as action lines: protocol, metaData, txns, live adds and the
   tombstones still inside delta.deletedFileRetentionDuration. */
static void snapshot_jsonl(lk_delta_table *t, lk_buf *out, int64_t now)
{
    int64_t min_ts = tombstone_min_ts(t, now);
    snapshot_head(t, out);
    snap_file f;
    for (int i = 0; i < t->nfiles; i++) {
        entry_view(&t->files[i], &f);
        snapshot_file(&f, min_ts, out);
    }
}

/* ---------- streaming the snapshot of a log-only handle ---------- */

/* Called for every file of the snapshot (live or dead) in checkpoint
   order; a non-zero return stops. */
typedef int (*snap_fn)(void *ctx, const snap_file *f, lk_error *err);

typedef struct stream_ctx {
    lk_delta_table *t;
    snap_fn fn;
    void *ctx;
    lk_buf pv;
} stream_ctx;

/* One row of the base checkpoint: as it was, or as the changes since made it. */
static int stream_base_row(void *ctx, const char *kind, yajl_val a, const char *where,
                           lk_error *err)
{
    stream_ctx *sc = ctx;
    lk_delta_table *t = sc->t;
    int is_add = strcmp(kind, "add") == 0;
    if ((!is_add && strcmp(kind, "remove") != 0) || !YAJL_IS_OBJECT(a)) return 0;
    const char *path = obj_str(a, "path");
    if (!path) return lk_error_set(err, LK_EFORMAT, "%s: %s without path", where, kind);
    int idx = hash_find(t, file_key(t, path, lk_json_get(a, "deletionVector")));
    file_ent *e = idx >= 0 ? &t->files[idx] : NULL;
    snap_file f;
    if (e && e->placed) return 0; /* a duplicate row: the first one placed it */
    if (e) e->placed = 1;
    if (e && e->has_add) {
        entry_view(e, &f);
        return sc->fn(sc->ctx, &f, err);
    }
    lk_buf_reset(&sc->pv);
    yajl_val pv = lk_json_get(a, "partitionValues");
    if (pv && YAJL_IS_OBJECT(pv))
        lk_json_text(pv, &sc->pv);
    else
        lk_buf_puts(&sc->pv, "{}");
    f.path = path;
    f.pv_json = sc->pv.data;
    f.stats = is_add ? obj_str(a, "stats") : NULL;
    f.size = obj_int(a, "size", 0);
    f.mtime = obj_int(a, "modificationTime", 0);
    f.num_records = stats_num_records(f.stats);
    f.live = is_add;
    f.deletion_ts = obj_int(a, "deletionTimestamp", 0);
    f.rm_size = obj_int(a, "size", -1);
    if (is_add && e) { /* pre_rm: removed before any re-add */
        f.live = 0;
        f.deletion_ts = e->pre_ts;
        f.rm_size = e->pre_size;
    }
    return sc->fn(sc->ctx, &f, err);
}

static int cmp_seq(const void *a, const void *b)
{
    const file_ent *x = *(const file_ent *const *)a, *y = *(const file_ent *const *)b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * The files of a log-only handle's snapshot, in the order a full handle
 * replayed from the same base holds them: the base checkpoint's rows (read
 * a row group at a time) with the changes since applied in place, then the
 * files first added since, in the order of those adds.
 */
static int stream_snapshot(lk_delta_table *t, snap_fn fn, void *ctx, lk_error *err)
{
    stream_ctx sc = {.t = t, .fn = fn, .ctx = ctx, .pv = LK_BUF_INIT};
    int rc = 0;
    char path[4400];
    for (int part = 1; t->base.v >= 0 && part <= t->base.parts && rc == 0; part++) {
        if (t->base.parts == 1)
            snprintf(path, sizeof path, "%s/%s", t->log_dir, t->base.name);
        else
            snprintf(path, sizeof path, "%s/%020" PRId64 ".checkpoint.%010d.%010d.parquet",
                     t->log_dir, t->base.v, part, t->base.parts);
        rc = lk_delta_checkpoint_read(path, t->log_dir, stream_base_row, &sc, err);
    }
    lk_buf_free(&sc.pv);
    const file_ent **later = NULL;
    int n = 0;
    if (rc == 0 && t->nfiles) {
        later = xrealloc(NULL, (size_t)t->nfiles * sizeof *later);
        for (int i = 0; i < t->nfiles; i++)
            if (t->files[i].has_add && !t->files[i].placed) later[n++] = &t->files[i];
        qsort(later, (size_t)n, sizeof *later, cmp_seq);
    }
    snap_file f;
    for (int i = 0; i < n && rc == 0; i++) {
        entry_view(later[i], &f);
        rc = fn(ctx, &f, err);
    }
    free(later);
    for (int i = 0; i < t->nfiles; i++)
        t->files[i].placed = 0;
    return rc;
}

static int count_fn(void *ctx, const snap_file *f, lk_error *err)
{
    (void)err;
    if (f->live && f->num_records > 0) *(int64_t *)ctx += f->num_records;
    return 0;
}

static int count_rows(lk_delta_table *t, lk_error *err)
{
    int64_t n = 0;
    int rc = stream_snapshot(t, count_fn, &n, err);
    if (rc == 0) {
        t->rows = n;
        t->rows_exact = 1;
    }
    return rc;
}

#define STREAM_FLUSH_BYTES ((size_t)1 << 20)

typedef struct write_ctx {
    lk_delta_checkpoint_writer *w;
    lk_buf buf;
    int64_t min_ts, rows;
} write_ctx;

static int write_fn(void *ctx, const snap_file *f, lk_error *err)
{
    write_ctx *wc = ctx;
    if (f->live && f->num_records > 0) wc->rows += f->num_records;
    snapshot_file(f, wc->min_ts, &wc->buf);
    if (wc->buf.len < STREAM_FLUSH_BYTES) return 0;
    int rc = lk_delta_checkpoint_writer_put(wc->w, wc->buf.data, wc->buf.len, err);
    lk_buf_reset(&wc->buf);
    return rc;
}

/* Forgets the changes since the base: the checkpoint at t->version holds them. */
static void rebase(lk_delta_table *t, int64_t rows)
{
    forget_files(t);
    t->live_dirty = 1;
    t->base.v = t->version;
    t->base.parts = t->base.seen = 1;
    snprintf(t->base.name, sizeof t->base.name, "%020" PRId64 ".checkpoint.parquet", t->version);
    t->rows = rows;
    t->rows_exact = 1;
}

/* The checkpoint of a log-only handle, streamed: memory stays bounded by a
   row group and the changes since the base, whatever the number of files. */
static int checkpoint_stream(lk_delta_table *t, const char *path, lk_delta_checkpoint_info *info,
                             lk_error *err)
{
    write_ctx wc = {.buf = LK_BUF_INIT, .min_ts = tombstone_min_ts(t, lk_time_now_ms())};
    int rc = lk_delta_checkpoint_writer_open(path, &wc.w, err);
    if (rc) return rc;
    snapshot_head(t, &wc.buf);
    rc = stream_snapshot(t, write_fn, &wc, err);
    if (rc == 0 && wc.buf.len)
        rc = lk_delta_checkpoint_writer_put(wc.w, wc.buf.data, wc.buf.len, err);
    lk_buf_free(&wc.buf);
    if (rc) {
        lk_delta_checkpoint_writer_abort(&wc.w);
        return rc;
    }
    rc = lk_delta_checkpoint_writer_finish(&wc.w, info, err);
    if (rc == 0) rebase(t, wc.rows);
    return rc;
}

int lk_delta_checkpoint(lk_delta_table *t, lk_error *err)
{
    if (t->version < 0 || !t->metadata_json)
        return lk_error_set(err, LK_ESTATE, "%s: no commit to checkpoint", t->path);
    if (t->as_of != INT64_MAX)
        return lk_error_set(err, -EINVAL, "%s: a snapshot opened at a version is read-only",
                            t->path);
    char path[4200];
    lk_delta_checkpoint_info info;
    int rc;
    if (t->log_only) {
        if (t->base.v >= 0) {
            /* the base may be gone (log cleanup after a newer checkpoint by
               another writer): then replay from what is there now */
            snprintf(path, sizeof path, "%s/%s", t->log_dir, t->base.name);
            if (!lk_fs_exists(path)) {
                LK_INFO("delta: %s: checkpoint %" PRId64 " is gone; re-reading the log", t->path,
                        t->base.v);
                reset_state(t);
                if ((rc = load_full(t, err))) return rc;
            }
        }
        version_path(t, t->version, ".checkpoint.parquet", path, sizeof path);
        rc = checkpoint_stream(t, path, &info, err);
    } else {
        version_path(t, t->version, ".checkpoint.parquet", path, sizeof path);
        lk_buf body = LK_BUF_INIT;
        snapshot_jsonl(t, &body, lk_time_now_ms());
        rc = lk_delta_checkpoint_write(path, body.data, body.len, &info, err);
        lk_buf_free(&body);
    }
    if (rc) return rc;
    /* _last_checkpoint only moves forward: a slower writer of an older
       checkpoint must not hide a newer one. */
    int parts;
    if (last_checkpoint_version(t, &parts) >= t->version) return 0;
    int f = lk_fault_check("delta.last_checkpoint");
    if (f < 0) return lk_error_errno(err, f, "%s/_last_checkpoint: fault injected", t->log_dir);
    lk_buf lc = LK_BUF_INIT;
    lk_buf_printf(&lc,
                  "{\"version\":%" PRId64 ",\"size\":%" PRId64 ",\"sizeInBytes\":%" PRId64
                  ",\"numOfAddFiles\":%" PRId64 "}",
                  t->version, info.size, info.size_in_bytes, info.num_add_files);
    char lpath[4200];
    snprintf(lpath, sizeof lpath, "%s/_last_checkpoint", t->log_dir);
    rc = lk_fs_replace(lpath, lc.data, lc.len, err);
    lk_buf_free(&lc);
    return rc;
}

/*
 * Log cleanup (delta.logRetentionDuration, default 30 days): removes commit
 * files, checkpoints and .crc files of versions before C, where C is the
 * newest complete checkpoint such that every commit file before it is
 * older than the retention. Cutting only at a checkpoint keeps every
 * retained version reconstructable, which is what time travel needs.
 */
int lk_delta_cleanup_log(lk_delta_table *t, int64_t now_ms, int *removed, lk_error *err)
{
    if (removed) *removed = 0;
    const char *on = lk_delta_property(t, "delta.enableExpiredLogCleanup");
    if (on && strcmp(on, "false") == 0) return 0;
    int64_t keep = lk_delta_interval_ms(lk_delta_property(t, "delta.logRetentionDuration"),
                                        (int64_t)30 * 86400000);
    int64_t cutoff = now_ms - keep;
    DIR *d = opendir(t->log_dir);
    if (!d) return lk_error_errno(err, -errno, "cannot list '%s'", t->log_dir);
    int64_t first_kept = INT64_MAX; /* the oldest commit not yet expired */
    cp_cand *cps = NULL;
    int ncp = 0, capcp = 0;
    struct dirent *de;
    char path[4400];
    while ((de = readdir(d))) {
        int64_t v;
        int part, parts;
        int kind = parse_log_name(de->d_name, &v, &part, &parts);
        if (kind == 1) {
            struct stat st;
            snprintf(path, sizeof path, "%s/%s", t->log_dir, de->d_name);
            if (stat(path, &st) == 0 &&
                (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000 >= cutoff &&
                v < first_kept)
                first_kept = v;
        } else if (kind == 2) {
            int k = 0;
            for (; k < ncp; k++)
                if (cps[k].v == v && cps[k].parts == parts) break;
            if (k == ncp) {
                if (ncp == capcp) {
                    capcp = capcp ? capcp * 2 : 16;
                    cps = xrealloc(cps, (size_t)capcp * sizeof *cps);
                }
                ncp++;
                cps[k].v = v;
                cps[k].parts = parts;
                cps[k].seen = 0;
            }
            cps[k].seen++;
        }
    }
    int64_t cut = -1;
    for (int k = 0; k < ncp; k++)
        if (cps[k].seen == cps[k].parts && cps[k].v <= first_kept && cps[k].v <= t->version &&
            cps[k].v > cut)
            cut = cps[k].v;
    free(cps);
    if (cut <= 0) {
        closedir(d);
        return 0;
    }
    rewinddir(d);
    int rc = 0, n = 0;
    while ((de = readdir(d))) {
        const char *nm = de->d_name;
        int64_t v;
        int part, parts;
        int kind = parse_log_name(nm, &v, &part, &parts);
        int crc = !kind && strlen(nm) == 24 && all_digits(nm, 20) && strcmp(nm + 20, ".crc") == 0;
        if (crc) v = strtoll(nm, NULL, 10);
        if ((!kind && !crc) || v >= cut) continue;
        snprintf(path, sizeof path, "%s/%s", t->log_dir, nm);
        if (unlink(path) != 0 && errno != ENOENT) {
            rc = lk_error_errno(err, -errno, "cannot remove '%s'", path);
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == 0 && n) rc = lk_fs_fsync_dir(t->log_dir, err);
    if (removed) *removed = n;
    return rc;
}

/* After a commit at version v: a checkpoint every delta.checkpointInterval
   versions. Its failure is only logged: the commit is already durable and
   a checkpoint is an optimisation readers can do without. */
static void maybe_checkpoint(lk_delta_table *t, int64_t v)
{
    int64_t interval = property_int(t, "delta.checkpointInterval", 10);
    if (interval <= 0 || v <= 0 || v % interval != 0) return;
    lk_error e;
    int removed = 0;
    if (lk_delta_checkpoint(t, &e))
        LK_WARN("delta: checkpoint of %s at version %" PRId64 " failed: %s", t->path, t->version,
                e.msg);
    else if (lk_delta_cleanup_log(t, lk_time_now_ms(), &removed, &e))
        LK_WARN("delta: log cleanup of %s failed: %s", t->path, e.msg);
    else if (removed)
        LK_INFO("delta: log cleanup of %s removed %d expired files", t->path, removed);
}

int lk_delta_ntxns(const lk_delta_table *t)
{
    return t->ntxns;
}

const char *lk_delta_txn_at(const lk_delta_table *t, int i, int64_t *version)
{
    *version = t->txns[i].version;
    return t->txns[i].app_id;
}
