/*
 * lk_delta — Delta Lake transaction log; see lk_delta.h and PROTOCOL.md.
 *
 * Replay: the handle keeps the snapshot — latest protocol and metaData,
 * live files (a dense array indexed by a path hash, so add/remove
 * reconciliation is O(1)), latest txn version per appId. JSON commits are
 * parsed with yajl's tree API, one action per line. Reading Parquet
 * checkpoints is not wired yet: a table whose JSON history was cleaned up
 * behind a checkpoint is refused with an error naming the checkpoint.
 *
 * Commit: the actions are written as one JSON-lines file created with
 * lk_fs_put_if_absent at <version>.json. EEXIST means a concurrent writer
 * won that version: the new versions are replayed and checked for logical
 * conflicts (protocol/metaData changes, a txn of the same appId, removal
 * of a file we remove); a blind append is retried on top.
 */
#include "lk_delta.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "lk_fs.h"
#include "lk_time.h"

#define MAX_COMMIT_ATTEMPTS 100
#define MAX_LOG_FILE (256 << 20)

typedef struct dfile {
    char *path, *pv, *stats;
    int64_t size, mtime, nrec;
} dfile;

typedef struct txn {
    char *app;
    int64_t version;
} txn;

struct lk_delta_table {
    char path[4096];
    char log[4200];
    int64_t version;
    int min_reader, min_writer;
    lk_schema *schema;
    char *meta_id;
    char *meta_config; /* configuration object as JSON text */
    int64_t meta_created;
    dfile *files;
    int nfiles, capfiles;
    int32_t *hash; /* path → index+1; 0 empty, -1 tombstone */
    uint32_t hcap;
    int hused;
    txn *txns;
    int ntxns;
    int64_t nrec;
    lk_delta_file view;
    lk_buf line;
};

/* ---- the path hash ---- */

static uint32_t fnv(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void hash_rebuild(lk_delta_table *t, uint32_t cap)
{
    free(t->hash);
    t->hcap = cap;
    t->hash = calloc(cap, sizeof(int32_t));
    if (!t->hash)
        abort();
    t->hused = 0;
    for (int i = 0; i < t->nfiles; i++) {
        uint32_t h = fnv(t->files[i].path) & (cap - 1);
        while (t->hash[h] > 0)
            h = (h + 1) & (cap - 1);
        t->hash[h] = i + 1;
        t->hused++;
    }
}

/* Slot of path in the hash, or of where it would go (*found = 0). */
static uint32_t hash_slot(const lk_delta_table *t, const char *path, int *found)
{
    uint32_t h = fnv(path) & (t->hcap - 1), tomb = UINT32_MAX;
    for (;;) {
        int32_t v = t->hash[h];
        if (v == 0) {
            *found = 0;
            return tomb != UINT32_MAX ? tomb : h;
        }
        if (v < 0) {
            if (tomb == UINT32_MAX)
                tomb = h;
        } else if (!strcmp(t->files[v - 1].path, path)) {
            *found = 1;
            return h;
        }
        h = (h + 1) & (t->hcap - 1);
    }
}

static void file_free(dfile *f)
{
    free(f->path);
    free(f->pv);
    free(f->stats);
}

static void remove_file(lk_delta_table *t, const char *path)
{
    int found;
    uint32_t h = hash_slot(t, path, &found);
    if (!found)
        return;
    int idx = t->hash[h] - 1;
    t->hash[h] = -1;
    if (t->files[idx].nrec > 0)
        t->nrec -= t->files[idx].nrec;
    file_free(&t->files[idx]);
    int last = t->nfiles - 1;
    if (idx != last) {
        t->files[idx] = t->files[last];
        int f2;
        uint32_t h2 = hash_slot(t, t->files[idx].path, &f2);
        t->hash[h2] = idx + 1;
    }
    t->nfiles--;
}

static void add_file(lk_delta_table *t, dfile *f)
{
    if ((uint32_t)(t->hused + 1) * 2 > t->hcap)
        hash_rebuild(t, t->hcap ? t->hcap * 2 : 64);
    int found;
    uint32_t h = hash_slot(t, f->path, &found);
    if (found) { /* a re-add replaces */
        int idx = t->hash[h] - 1;
        if (t->files[idx].nrec > 0)
            t->nrec -= t->files[idx].nrec;
        file_free(&t->files[idx]);
        t->files[idx] = *f;
    } else {
        if (t->nfiles == t->capfiles) {
            t->capfiles = t->capfiles ? t->capfiles * 2 : 64;
            t->files = realloc(t->files, sizeof(dfile) * (size_t)t->capfiles);
            if (!t->files)
                abort();
        }
        t->files[t->nfiles++] = *f;
        if (t->hash[h] == 0)
            t->hused++;
        t->hash[h] = t->nfiles;
    }
    if (f->nrec > 0)
        t->nrec += f->nrec;
}

/* ---- replay ---- */

static yajl_val get(yajl_val o, const char *k)
{
    if (!YAJL_IS_OBJECT(o))
        return NULL;
    for (size_t i = 0; i < o->u.object.len; i++)
        if (!strcmp(o->u.object.keys[i], k))
            return o->u.object.values[i];
    return NULL;
}

static const char *gstr(yajl_val o, const char *k)
{
    yajl_val v = get(o, k);
    return v && YAJL_IS_STRING(v) ? v->u.string : NULL;
}

static int64_t gint(yajl_val o, const char *k, int64_t d)
{
    yajl_val v = get(o, k);
    return v && YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : d;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");
    if (!p)
        abort();
    return p;
}

static void json_text(yajl_val v, lk_buf *out);

static void json_text(yajl_val v, lk_buf *out)
{
    if (YAJL_IS_OBJECT(v)) {
        lk_buf_putc(out, '{');
        for (size_t i = 0; i < v->u.object.len; i++) {
            if (i)
                lk_buf_putc(out, ',');
            lk_buf_json_string(out, v->u.object.keys[i], strlen(v->u.object.keys[i]));
            lk_buf_putc(out, ':');
            json_text(v->u.object.values[i], out);
        }
        lk_buf_putc(out, '}');
    } else if (YAJL_IS_ARRAY(v)) {
        lk_buf_putc(out, '[');
        for (size_t i = 0; i < v->u.array.len; i++) {
            if (i)
                lk_buf_putc(out, ',');
            json_text(v->u.array.values[i], out);
        }
        lk_buf_putc(out, ']');
    } else if (YAJL_IS_STRING(v)) {
        lk_buf_json_string(out, v->u.string, strlen(v->u.string));
    } else if (YAJL_IS_NUMBER(v)) {
        lk_buf_puts(out, v->u.number.r);
    } else if (YAJL_IS_TRUE(v)) {
        lk_buf_puts(out, "true");
    } else if (YAJL_IS_FALSE(v)) {
        lk_buf_puts(out, "false");
    } else {
        lk_buf_puts(out, "null");
    }
}

static int64_t stats_num_records(const char *stats)
{
    if (!stats)
        return -1;
    const char *p = strstr(stats, "\"numRecords\":");
    return p ? strtoll(p + 13, NULL, 10) : -1;
}

/* What a replayed commit did, for conflict checks. */
typedef struct seen_actions {
    int meta_or_protocol;
    const char *app_id; /* in: our appId; out: set if seen */
    int app_seen;
} seen_actions;

static int apply_protocol(lk_delta_table *t, yajl_val p, const char *where, lk_error *err)
{
    int r = (int)gint(p, "minReaderVersion", 1), w = (int)gint(p, "minWriterVersion", 2);
    if (r > 3)
        return lk_error_set(err, LK_EUNSUPPORTED, "%s: reader version %d is not supported", where,
                            r);
    if (r == 2)
        return lk_error_set(err, LK_EUNSUPPORTED,
                            "%s: reader version 2 (columnMapping) is not supported yet", where);
    yajl_val feats = get(p, "readerFeatures");
    if (r == 3 && feats && YAJL_IS_ARRAY(feats)) {
        for (size_t i = 0; i < feats->u.array.len; i++) {
            yajl_val f = feats->u.array.values[i];
            const char *name = YAJL_IS_STRING(f) ? f->u.string : "?";
            if (strcmp(name, "timestampNtz"))
                return lk_error_set(err, LK_EUNSUPPORTED,
                                    "%s: reader feature '%s' is not supported", where, name);
        }
    }
    t->min_reader = r;
    t->min_writer = w;
    return 0;
}

static int apply_line(lk_delta_table *t, char *line, const char *where, seen_actions *seen,
                      lk_error *err)
{
    char ebuf[256];
    yajl_val root = yajl_tree_parse(line, ebuf, sizeof ebuf);
    if (!root || !YAJL_IS_OBJECT(root)) {
        yajl_tree_free(root);
        return lk_error_set(err, LK_EFORMAT, "%s: not a JSON action: %s", where, ebuf);
    }
    int rc = 0;
    yajl_val a;
    if ((a = get(root, "add"))) {
        const char *p = gstr(a, "path");
        if (!p) {
            rc = lk_error_set(err, LK_EFORMAT, "%s: add without path", where);
        } else {
            dfile f;
            memset(&f, 0, sizeof f);
            f.path = xstrdup(p);
            f.size = gint(a, "size", 0);
            f.mtime = gint(a, "modificationTime", 0);
            yajl_val pv = get(a, "partitionValues");
            lk_buf b = LK_BUF_INIT;
            if (pv)
                json_text(pv, &b);
            else
                lk_buf_puts(&b, "{}");
            f.pv = lk_buf_detach(&b, NULL);
            const char *st = gstr(a, "stats");
            f.stats = st ? xstrdup(st) : NULL;
            f.nrec = stats_num_records(st);
            if (get(a, "deletionVector") && !YAJL_IS_NULL(get(a, "deletionVector"))) {
                file_free(&f);
                rc = lk_error_set(err, LK_EUNSUPPORTED,
                                  "%s: file '%s' has a deletion vector (not supported yet)",
                                  where, p);
            } else {
                add_file(t, &f);
            }
        }
    } else if ((a = get(root, "remove"))) {
        const char *p = gstr(a, "path");
        if (p && t->hcap)
            remove_file(t, p);
    } else if ((a = get(root, "metaData"))) {
        const char *ss = gstr(a, "schemaString");
        lk_schema *s = NULL;
        if (!ss || (rc = lk_schema_from_json(ss, strlen(ss), &s, err)) != 0) {
            if (!ss)
                rc = lk_error_set(err, LK_EFORMAT, "%s: metaData without schemaString", where);
            else
                lk_error_prefix(err, "%s: metaData", where);
        } else {
            yajl_val pc = get(a, "partitionColumns");
            if (pc && YAJL_IS_ARRAY(pc) && pc->u.array.len > 0) {
                lk_schema_destroy(&s);
                rc = lk_error_set(err, LK_EUNSUPPORTED,
                                  "%s: partitioned tables are not supported yet", where);
            } else {
                lk_schema_destroy(&t->schema);
                t->schema = s;
                free(t->meta_id);
                t->meta_id = xstrdup(gstr(a, "id"));
                free(t->meta_config);
                lk_buf b = LK_BUF_INIT;
                yajl_val cfg = get(a, "configuration");
                if (cfg)
                    json_text(cfg, &b);
                else
                    lk_buf_puts(&b, "{}");
                t->meta_config = lk_buf_detach(&b, NULL);
                t->meta_created = gint(a, "createdTime", 0);
            }
        }
        if (seen)
            seen->meta_or_protocol = 1;
    } else if ((a = get(root, "protocol"))) {
        rc = apply_protocol(t, a, where, err);
        if (seen)
            seen->meta_or_protocol = 1;
    } else if ((a = get(root, "txn"))) {
        const char *app = gstr(a, "appId");
        int64_t v = gint(a, "version", -1);
        if (app) {
            int k;
            for (k = 0; k < t->ntxns; k++)
                if (!strcmp(t->txns[k].app, app))
                    break;
            if (k == t->ntxns) {
                t->txns = realloc(t->txns, sizeof(txn) * (size_t)(t->ntxns + 1));
                if (!t->txns)
                    abort();
                t->txns[t->ntxns++].app = xstrdup(app);
            }
            t->txns[k].version = v;
            if (seen && seen->app_id && !strcmp(seen->app_id, app))
                seen->app_seen = 1;
        }
    }
    /* commitInfo, cdc, domainMetadata and others change no snapshot state here */
    yajl_tree_free(root);
    return rc;
}

static void version_path(const lk_delta_table *t, int64_t v, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%020lld.json", t->log, (long long)v);
}

/* Replays one JSON commit file. -ENOENT if it does not exist. */
static int replay_version(lk_delta_table *t, int64_t v, seen_actions *seen, lk_error *err)
{
    char path[4300];
    version_path(t, v, path, sizeof path);
    lk_buf_reset(&t->line);
    lk_error e2;
    int rc = lk_fs_read_file(path, &t->line, MAX_LOG_FILE, &e2);
    if (rc == -ENOENT)
        return rc;
    if (rc)
        return lk_error_set(err, rc, "%s", e2.msg);
    if (!t->hcap)
        hash_rebuild(t, 64);
    char *p = t->line.data, *end = t->line.data + t->line.len;
    int lineno = 0;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl)
            *nl = '\0';
        lineno++;
        if (*p) {
            char where[4400];
            snprintf(where, sizeof where, "%s:%d", path, lineno);
            if ((rc = apply_line(t, p, where, seen, err)))
                return rc;
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    t->version = v;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Lists the JSON versions and checkpoints of the log. */
static int list_log(lk_delta_table *t, int64_t **vers, int *nv, int64_t *last_cp, lk_error *err)
{
    DIR *d = opendir(t->log);
    *vers = NULL;
    *nv = 0;
    *last_cp = -1;
    if (!d) {
        if (errno == ENOENT)
            return 0;
        return lk_error_errno(err, -errno, "cannot list '%s'", t->log);
    }
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        size_t len = strlen(n);
        if (len == 25 && !strcmp(n + 20, ".json") && strspn(n, "0123456789") == 20) {
            if (*nv == cap) {
                cap = cap ? cap * 2 : 64;
                *vers = realloc(*vers, sizeof(int64_t) * (size_t)cap);
                if (!*vers)
                    abort();
            }
            (*vers)[(*nv)++] = strtoll(n, NULL, 10);
        } else if (len > 20 && strspn(n, "0123456789") == 20 && strstr(n, ".checkpoint")) {
            int64_t v = strtoll(n, NULL, 10);
            if (v > *last_cp)
                *last_cp = v;
        }
    }
    closedir(d);
    if (*nv)
        qsort(*vers, (size_t)*nv, sizeof(int64_t), cmp_i64);
    return 0;
}

int lk_delta_open(const char *table_path, lk_delta_table **out, lk_error *err)
{
    lk_delta_table *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    snprintf(t->path, sizeof t->path, "%s", table_path);
    snprintf(t->log, sizeof t->log, "%s/_delta_log", table_path);
    t->version = -1;
    hash_rebuild(t, 64);
    int64_t *vers = NULL, last_cp = -1;
    int nv = 0;
    int rc = list_log(t, &vers, &nv, &last_cp, err);
    if (rc == 0 && nv > 0) {
        if (vers[0] != 0) {
            rc = last_cp >= 0
                     ? lk_error_set(err, LK_EUNSUPPORTED,
                                    "%s: the log starts at version %lld after checkpoint %lld; "
                                    "reading Parquet checkpoints is not supported yet",
                                    t->log, (long long)vers[0], (long long)last_cp)
                     : lk_error_set(err, LK_EFORMAT, "%s: version 0 is missing", t->log);
        }
        for (int i = 1; rc == 0 && i < nv; i++)
            if (vers[i] != vers[i - 1] + 1)
                rc = lk_error_set(err, LK_EFORMAT,
                                  "%s: versions are not contiguous: %lld is followed by %lld",
                                  t->log, (long long)vers[i - 1], (long long)vers[i]);
        for (int i = 0; rc == 0 && i < nv; i++)
            rc = replay_version(t, vers[i], NULL, err);
    } else if (rc == 0 && last_cp >= 0) {
        rc = lk_error_set(err, LK_EUNSUPPORTED,
                          "%s: only checkpoint files; reading Parquet checkpoints is not "
                          "supported yet",
                          t->log);
    }
    free(vers);
    if (rc == 0 && t->version >= 0 && !t->schema)
        rc = lk_error_set(err, LK_EFORMAT, "%s: no metaData action in the log", t->log);
    if (rc) {
        lk_delta_destroy(&t);
        return rc;
    }
    *out = t;
    return 0;
}

int lk_delta_refresh(lk_delta_table *t, lk_error *err)
{
    for (;;) {
        int rc = replay_version(t, t->version + 1, NULL, err);
        if (rc == -ENOENT)
            return 0;
        if (rc)
            return rc;
    }
}

void lk_delta_destroy(lk_delta_table **tp)
{
    if (!tp || !*tp)
        return;
    lk_delta_table *t = *tp;
    for (int i = 0; i < t->nfiles; i++)
        file_free(&t->files[i]);
    free(t->files);
    free(t->hash);
    for (int i = 0; i < t->ntxns; i++)
        free(t->txns[i].app);
    free(t->txns);
    lk_schema_destroy(&t->schema);
    free(t->meta_id);
    free(t->meta_config);
    lk_buf_free(&t->line);
    free(t);
    *tp = NULL;
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
        if (!strcmp(t->txns[i].app, app_id))
            return t->txns[i].version;
    return -1;
}

int lk_delta_nfiles(const lk_delta_table *t)
{
    return t->nfiles;
}

const lk_delta_file *lk_delta_file_at(const lk_delta_table *t, int i)
{
    lk_delta_table *m = (lk_delta_table *)t;
    const dfile *f = &t->files[i];
    m->view.path = f->path;
    m->view.size = f->size;
    m->view.modification_time = f->mtime;
    m->view.num_records = f->nrec;
    m->view.partition_values_json = f->pv;
    m->view.stats_json = f->stats;
    return &m->view;
}

int64_t lk_delta_num_records(const lk_delta_table *t)
{
    return t->nrec;
}

/* ---- commits ---- */

typedef struct pending_file {
    char *path;
    int64_t size, mtime;
    char *stats;
    int data_change;
    int remove;
} pending_file;

typedef struct param {
    char *key, *json;
} param;

struct lk_delta_commit {
    lk_delta_table *t;
    char operation[64];
    lk_schema *schema;
    pending_file *files;
    int nfiles, capfiles;
    char *app_id;
    int64_t txn_version;
    param *params;
    int nparams;
};

lk_delta_commit *lk_delta_commit_new(lk_delta_table *t, const char *operation)
{
    lk_delta_commit *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->t = t;
    snprintf(c->operation, sizeof c->operation, "%s", operation);
    c->txn_version = -1;
    return c;
}

void lk_delta_commit_destroy(lk_delta_commit **cp)
{
    if (!cp || !*cp)
        return;
    lk_delta_commit *c = *cp;
    for (int i = 0; i < c->nfiles; i++) {
        free(c->files[i].path);
        free(c->files[i].stats);
    }
    free(c->files);
    for (int i = 0; i < c->nparams; i++) {
        free(c->params[i].key);
        free(c->params[i].json);
    }
    free(c->params);
    free(c->app_id);
    lk_schema_destroy(&c->schema);
    free(c);
    *cp = NULL;
}

void lk_delta_commit_set_schema(lk_delta_commit *c, const lk_schema *s)
{
    lk_schema_destroy(&c->schema);
    c->schema = lk_schema_clone(s);
}

static pending_file *new_pending(lk_delta_commit *c)
{
    if (c->nfiles == c->capfiles) {
        c->capfiles = c->capfiles ? c->capfiles * 2 : 16;
        c->files = realloc(c->files, sizeof(pending_file) * (size_t)c->capfiles);
        if (!c->files)
            abort();
    }
    pending_file *f = &c->files[c->nfiles++];
    memset(f, 0, sizeof *f);
    return f;
}

/* Percent-encodes a relative path as Delta writers do (a URI path). */
static char *encode_path(const char *p)
{
    lk_buf b = LK_BUF_INIT;
    static const char hex[] = "0123456789ABCDEF";
    for (; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            strchr("-._~/=:@!$&'()*+,;", ch)) {
            lk_buf_putc(&b, (char)ch);
        } else {
            lk_buf_putc(&b, '%');
            lk_buf_putc(&b, hex[ch >> 4]);
            lk_buf_putc(&b, hex[ch & 15]);
        }
    }
    return lk_buf_detach(&b, NULL);
}

void lk_delta_commit_add_file(lk_delta_commit *c, const char *path, int64_t size,
                              int64_t modification_time_ms, const char *stats_json,
                              int data_change)
{
    pending_file *f = new_pending(c);
    f->path = encode_path(path);
    f->size = size;
    f->mtime = modification_time_ms;
    f->stats = stats_json && *stats_json ? xstrdup(stats_json) : NULL;
    f->data_change = data_change;
}

void lk_delta_commit_remove_file(lk_delta_commit *c, const char *path, int data_change)
{
    pending_file *f = new_pending(c);
    f->path = xstrdup(path);
    f->remove = 1;
    f->data_change = data_change;
    int found = 0;
    if (c->t->hcap) {
        uint32_t h = hash_slot(c->t, path, &found);
        if (found)
            f->size = c->t->files[c->t->hash[h] - 1].size;
    }
}

void lk_delta_commit_set_txn(lk_delta_commit *c, const char *app_id, int64_t version)
{
    free(c->app_id);
    c->app_id = xstrdup(app_id);
    c->txn_version = version;
}

void lk_delta_commit_set_param(lk_delta_commit *c, const char *key, const char *json_value)
{
    c->params = realloc(c->params, sizeof(param) * (size_t)(c->nparams + 1));
    if (!c->params)
        abort();
    c->params[c->nparams].key = xstrdup(key);
    c->params[c->nparams].json = xstrdup(json_value);
    c->nparams++;
}

static void uuid4(char *out)
{
    unsigned char r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        uint64_t x = (uint64_t)lk_time_now_us() * 6364136223846793005ULL ^ (uint64_t)getpid();
        for (int i = 0; i < 16; i++, x = x * 6364136223846793005ULL + 1)
            r[i] = (unsigned char)(x >> 56);
    }
    r[6] = (unsigned char)((r[6] & 15) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    sprintf(out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0],
            r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
            r[15]);
}

static void build(lk_delta_commit *c, int64_t version, lk_buf *out)
{
    lk_delta_table *t = c->t;
    int64_t now = lk_time_now_ms();
    char uuid[40];
    uuid4(uuid);
    int64_t rows = 0, nadd = 0, bytes = 0, nrem = 0;
    for (int i = 0; i < c->nfiles; i++) {
        if (c->files[i].remove) {
            nrem++;
            continue;
        }
        nadd++;
        bytes += c->files[i].size;
        int64_t n = stats_num_records(c->files[i].stats);
        rows += n > 0 ? n : 0;
    }
    lk_buf_printf(out, "{\"commitInfo\":{\"timestamp\":%lld,\"operation\":", (long long)now);
    lk_buf_json_string(out, c->operation, strlen(c->operation));
    lk_buf_puts(out, ",\"operationParameters\":{");
    for (int i = 0; i < c->nparams; i++) {
        if (i)
            lk_buf_putc(out, ',');
        lk_buf_json_string(out, c->params[i].key, strlen(c->params[i].key));
        lk_buf_putc(out, ':');
        lk_buf_puts(out, c->params[i].json);
    }
    lk_buf_putc(out, '}');
    if (t->version >= 0)
        lk_buf_printf(out, ",\"readVersion\":%lld", (long long)t->version);
    lk_buf_printf(out,
                  ",\"isolationLevel\":\"Serializable\",\"isBlindAppend\":%s,"
                  "\"operationMetrics\":{\"numFiles\":\"%lld\",\"numOutputRows\":\"%lld\","
                  "\"numOutputBytes\":\"%lld\",\"numRemovedFiles\":\"%lld\"},"
                  "\"engineInfo\":\"lakesupd/%s\",\"txnId\":\"%s\"}}\n",
                  nrem ? "false" : "true", (long long)nadd, (long long)rows, (long long)bytes,
                  (long long)nrem, LK_VERSION, uuid);
    if (version == 0 || !t->schema)
        lk_buf_puts(out, "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n");
    if (c->schema) {
        char id[40];
        if (t->meta_id && *t->meta_id)
            snprintf(id, sizeof id, "%s", t->meta_id);
        else
            uuid4(id);
        lk_buf json = LK_BUF_INIT;
        lk_schema_to_json(c->schema, &json);
        lk_buf_printf(out, "{\"metaData\":{\"id\":\"%s\",\"format\":{\"provider\":\"parquet\","
                           "\"options\":{}},\"schemaString\":",
                      id);
        lk_buf_json_string(out, json.data, json.len);
        lk_buf_printf(out, ",\"partitionColumns\":[],\"configuration\":%s,\"createdTime\":%lld}}\n",
                      t->meta_config ? t->meta_config : "{}",
                      (long long)(t->meta_created ? t->meta_created : now));
        lk_buf_free(&json);
    }
    if (c->app_id) {
        lk_buf_puts(out, "{\"txn\":{\"appId\":");
        lk_buf_json_string(out, c->app_id, strlen(c->app_id));
        lk_buf_printf(out, ",\"version\":%lld,\"lastUpdated\":%lld}}\n",
                      (long long)c->txn_version, (long long)now);
    }
    for (int i = 0; i < c->nfiles; i++) {
        pending_file *f = &c->files[i];
        if (f->remove) {
            lk_buf_puts(out, "{\"remove\":{\"path\":");
            lk_buf_json_string(out, f->path, strlen(f->path));
            lk_buf_printf(out,
                          ",\"deletionTimestamp\":%lld,\"dataChange\":%s,"
                          "\"extendedFileMetadata\":true,\"partitionValues\":{},\"size\":%lld}}\n",
                          (long long)now, f->data_change ? "true" : "false", (long long)f->size);
            continue;
        }
        lk_buf_puts(out, "{\"add\":{\"path\":");
        lk_buf_json_string(out, f->path, strlen(f->path));
        lk_buf_printf(out,
                      ",\"partitionValues\":{},\"size\":%lld,\"modificationTime\":%lld,"
                      "\"dataChange\":%s",
                      (long long)f->size, (long long)f->mtime, f->data_change ? "true" : "false");
        if (f->stats) {
            lk_buf_puts(out, ",\"stats\":");
            lk_buf_json_string(out, f->stats, strlen(f->stats));
        }
        lk_buf_puts(out, "}}\n");
    }
}

int lk_delta_commit_run(lk_delta_commit *c, int64_t *version, lk_error *err)
{
    lk_delta_table *t = c->t;
    if (!t->schema && !c->schema)
        return lk_error_set(err, -EINVAL, "%s: the first commit of a table needs a schema",
                            t->path);
    if (t->min_writer > 2 && !c->schema)
        return lk_error_set(err, LK_EUNSUPPORTED,
                            "%s: writer version %d is not supported for writing", t->path,
                            t->min_writer);
    int rc = lk_fs_mkdirs(t->log, err);
    if (rc)
        return rc;
    lk_buf text = LK_BUF_INIT;
    int64_t read_version = t->version;
    for (int attempt = 0; attempt < MAX_COMMIT_ATTEMPTS; attempt++) {
        int64_t v = t->version + 1;
        lk_buf_reset(&text);
        build(c, v, &text);
        char path[4300];
        version_path(t, v, path, sizeof path);
        rc = lk_fs_put_if_absent(path, text.data, text.len, err);
        if (rc == 0) {
            /* replay our own commit so that the handle includes it */
            rc = replay_version(t, v, NULL, err);
            lk_buf_free(&text);
            if (rc == 0)
                *version = v;
            return rc;
        }
        if (rc != -EEXIST)
            break;
        /* a concurrent writer won version v: catch up and check conflicts */
        seen_actions seen = {0, c->app_id, 0};
        rc = replay_version(t, v, &seen, err);
        if (rc)
            break;
        if (seen.meta_or_protocol && (c->schema || t->version == 0)) {
            rc = lk_error_set(err, LK_ECONFLICT,
                              "%s: concurrent metadata change at version %lld (this commit "
                              "read version %lld)",
                              t->path, (long long)v, (long long)read_version);
            break;
        }
        if (seen.app_seen) {
            rc = lk_error_set(err, LK_ECONFLICT,
                              "%s: concurrent transaction for appId %s at version %lld (this "
                              "commit read version %lld)",
                              t->path, c->app_id, (long long)v, (long long)read_version);
            break;
        }
        for (int i = 0; i < c->nfiles && rc == 0; i++) {
            int found = 1;
            if (c->files[i].remove && t->hcap)
                hash_slot(t, c->files[i].path, &found);
            if (!found)
                rc = lk_error_set(err, LK_ECONFLICT,
                                  "%s: file %s was removed concurrently at version %lld (this "
                                  "commit read version %lld)",
                                  t->path, c->files[i].path, (long long)v,
                                  (long long)read_version);
        }
        if (rc)
            break;
    }
    lk_buf_free(&text);
    if (rc == -EEXIST)
        rc = lk_error_set(err, LK_ECONFLICT, "%s: gave up after %d concurrent commits", t->path,
                          MAX_COMMIT_ATTEMPTS);
    return rc;
}

/* ---- statistics ---- */

static int stats_kind(const lk_field *f)
{
    switch (f->type) {
    case LK_TYPE_BYTE:
    case LK_TYPE_SHORT:
    case LK_TYPE_INTEGER:
    case LK_TYPE_LONG:
    case LK_TYPE_FLOAT:
    case LK_TYPE_DOUBLE:
    case LK_TYPE_DATE:
    case LK_TYPE_TIMESTAMP:
    case LK_TYPE_TIMESTAMP_NTZ:
    case LK_TYPE_STRING: return 1;
    case LK_TYPE_DECIMAL: return f->precision <= 18;
    default: return 0;
    }
}

/* Appends the JSON value of a statistic, or returns 0 to omit it. */
static int stat_value(const lk_field *f, const lk_value *v, int is_max, lk_buf *out)
{
    char tmp[64];
    switch (f->type) {
    case LK_TYPE_FLOAT:
    case LK_TYPE_DOUBLE:
        if (isnan(v->d) || isinf(v->d))
            return 0;
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(tmp, sizeof tmp, "%.*g", prec, v->d);
            if (strtod(tmp, NULL) == v->d)
                break;
        }
        lk_buf_puts(out, tmp);
        return 1;
    case LK_TYPE_DATE:
        lk_time_format_spark(v->i * 86400 * 1000000, tmp, sizeof tmp);
        tmp[10] = '\0';
        lk_buf_printf(out, "\"%s\"", tmp);
        return 1;
    case LK_TYPE_TIMESTAMP:
    case LK_TYPE_TIMESTAMP_NTZ:
        lk_time_format_iso_ms(v->i, tmp, sizeof tmp);
        if (f->type == LK_TYPE_TIMESTAMP_NTZ)
            tmp[strlen(tmp) - 1] = '\0';
        lk_buf_printf(out, "\"%s\"", tmp);
        return 1;
    case LK_TYPE_DECIMAL: {
        int64_t u = v->i;
        char digits[32];
        uint64_t a = u < 0 ? (uint64_t)0 - (uint64_t)u : (uint64_t)u;
        int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)a);
        if (u < 0)
            lk_buf_putc(out, '-');
        if (f->scale == 0) {
            lk_buf_append(out, digits, (size_t)n);
        } else if (n <= f->scale) {
            lk_buf_puts(out, "0.");
            for (int k = n; k < f->scale; k++)
                lk_buf_putc(out, '0');
            lk_buf_append(out, digits, (size_t)n);
        } else {
            lk_buf_append(out, digits, (size_t)(n - f->scale));
            lk_buf_putc(out, '.');
            lk_buf_append(out, digits + n - f->scale, (size_t)f->scale);
        }
        return 1;
    }
    case LK_TYPE_STRING: {
        /* at most 32 characters; a cut max would no longer bound the
           values, so it is omitted (no skipping rather than wrong skipping) */
        size_t cut = 0, chars = 0;
        while (cut < v->n && chars < 32) {
            unsigned char b = (unsigned char)v->p[cut];
            cut += b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : 4;
            chars++;
        }
        if (cut > v->n)
            cut = v->n;
        if (cut < v->n && is_max)
            return 0;
        lk_buf_json_string(out, v->p, cut);
        return 1;
    }
    default: lk_buf_printf(out, "%lld", (long long)v->i); return 1;
    }
}

/* One of minValues/maxValues/nullCount, nested by the leaves' dotted paths. */
static void stats_section(const lk_pq_file_info *info, int kind, lk_buf *out)
{
    char open[16][256];
    int nopen = 0, first[17];
    first[0] = 1;
    lk_buf_putc(out, '{');
    for (int i = 0; i < info->n_leaves; i++) {
        const lk_pq_leaf_stats *l = &info->leaves[i];
        if (l->in_list)
            continue;
        if (kind < 2 && (!stats_kind(l->field) || !(kind == 0 ? l->min.is_set : l->max.is_set)))
            continue;
        /* split the path */
        char comps[16][256];
        int nc = 0;
        const char *p = l->path;
        while (*p && nc < 16) {
            const char *dot = strchr(p, '.');
            size_t n = dot ? (size_t)(dot - p) : strlen(p);
            snprintf(comps[nc++], sizeof comps[0], "%.*s", (int)n, p);
            p = dot ? dot + 1 : p + n;
        }
        int common = 0;
        while (common < nopen && common < nc - 1 && !strcmp(open[common], comps[common]))
            common++;
        while (nopen > common) {
            lk_buf_putc(out, '}');
            nopen--;
        }
        size_t mark = out->len;
        int saved_first[17];
        memcpy(saved_first, first, sizeof first);
        for (int k = nopen; k < nc - 1; k++) {
            if (!first[k])
                lk_buf_putc(out, ',');
            first[k] = 0;
            lk_buf_json_string(out, comps[k], strlen(comps[k]));
            lk_buf_puts(out, ":{");
            snprintf(open[k], sizeof open[k], "%s", comps[k]);
            first[k + 1] = 1;
            nopen++;
        }
        int d = nc - 1;
        size_t before = out->len;
        if (!first[d])
            lk_buf_putc(out, ',');
        lk_buf_json_string(out, comps[d], strlen(comps[d]));
        lk_buf_putc(out, ':');
        int ok = 1;
        if (kind == 2)
            lk_buf_printf(out, "%lld", (long long)l->null_count);
        else
            ok = stat_value(l->field, kind == 0 ? &l->min : &l->max, kind == 1, out);
        if (ok) {
            first[d] = 0;
        } else {
            out->len = before;
            if (before == mark + 0 && nopen > common) {
                /* nothing written in freshly opened structs: undo them */
                out->len = mark;
                nopen = common;
                memcpy(first, saved_first, sizeof first);
            }
            out->data[out->len] = '\0';
        }
    }
    while (nopen-- > 0)
        lk_buf_putc(out, '}');
    lk_buf_putc(out, '}');
}

void lk_delta_stats_json(const lk_pq_file_info *info, lk_buf *out)
{
    lk_buf_printf(out, "{\"numRecords\":%lld,\"minValues\":", (long long)info->num_rows);
    stats_section(info, 0, out);
    lk_buf_puts(out, ",\"maxValues\":");
    stats_section(info, 1, out);
    lk_buf_puts(out, ",\"nullCount\":");
    stats_section(info, 2, out);
    lk_buf_putc(out, '}');
}
