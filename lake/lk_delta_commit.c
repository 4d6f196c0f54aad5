/*
 * lk_delta_commit — writing a Delta commit (lk_delta_commit_* of lk_delta.h):
 * the actions a commit collects, their JSON lines, and the atomic,
 * optimistic-concurrency write of the next version.
 *
 * A commit is created put-if-absent: a fully written, fsynced temp file is
 * link()ed to _delta_log/<version:020>.json, then the directory is fsynced
 * (lk_fs_put_if_absent). EEXIST means a concurrent writer won: the commit
 * re-reads the newer versions through replay (lk_delta_catch_up, watching
 * their actions with check_conflict), fails on a logical conflict by the
 * protocol's rules (a protocol/metaData change, a txn for the same appId, a
 * remove of a file this commit removes) and otherwise retries at the next
 * version. After a successful write the handle catches up on its own commit
 * and lk_delta_snapshot.c decides whether a checkpoint is due.
 *
 * The commit struct is private to this file: replay never sees a commit,
 * only the lk_delta_watch inside conflict_ctx.
 */
#include "lk_delta_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <yajl/yajl_tree.h>

#include "lk_bytes.h"
#include "lk_fs.h"
#include "lk_json.h"
#include "lk_time.h"

#define COMMIT_ATTEMPTS 64

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
    char **txn_app; /* txn actions: appId and version each (set_txn, add_txn) */
    int64_t *txn_version;
    int ntxn;
    lk_buf params; /* "k":v,... */
    char **props;  /* key, value, key, value...: metaData.configuration changes */
    char *pcols;   /* partitionColumns JSON array set by the commit, or NULL */
    int nprops;
    lk_buf body;
};

/* What a commit being retried looks for in the versions that beat it:
   replay hands it every action of those versions (w.on_action). */
typedef struct conflict_ctx {
    lk_delta_watch w; /* first: replay's view of it */
    const lk_delta_commit *c;
    int code;
    char msg[512];
} conflict_ctx;

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

/* ---------- building a commit ---------- */

lk_delta_commit *lk_delta_commit_new(lk_delta_table *t, const char *operation)
{
    lk_delta_commit *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->t = t;
    c->operation = lk_strdup(operation);
    c->read_version = t->version;
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
    for (int i = 0; i < c->ntxn; i++)
        free(c->txn_app[i]);
    free(c->txn_app);
    free(c->txn_version);
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
        *arr = lk_xrealloc(*arr, (size_t)*cap * sizeof **arr);
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

/* Spark's ExternalCatalogUtils.escapePathName of n bytes of s: these characters (and
   controls, NUL among them) become %XX. */
static void escape_path_name(const char *s, size_t n, lk_buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7F || (ch && strchr("\"#%'*/:=?\\{[]^", ch))) {
            lk_buf_putc(out, '%');
            lk_buf_putc(out, hex[ch >> 4]);
            lk_buf_putc(out, hex[ch & 15]);
        } else {
            lk_buf_putc(out, (char)ch);
        }
    }
}

void lk_delta_partition_dir_n(const char *col, const char *value, size_t len, size_t max,
                              lk_buf *out)
{
    size_t at = out->len;
    escape_path_name(col, strlen(col), out);
    lk_buf_putc(out, '=');
    if (!value || !len)
        lk_buf_puts(out, "__HIVE_DEFAULT_PARTITION__");
    else
        escape_path_name(value, len, out);
    if (max < 40)
        max = 40;
    if (out->len - at <= max)
        return;
    /* Too long for a file name (or for its share of the path): a stable shortened form,
       the escaped text cut at max - 17 bytes (never inside a %XX or a UTF-8 character),
       then '~' and the FNV-1a 64 hash of the whole value. Readers take the value from
       partitionValues in the log, never from the folder's name, so the name need only be
       stable (a replay writes to the same folder) and distinct per value. */
    size_t cut = at + max - 17;
    const unsigned char *d = (const unsigned char *)out->data;
    if (cut >= at + 2 && d[cut - 1] == '%') cut -= 1;
    else if (cut >= at + 2 && d[cut - 2] == '%') cut -= 2;
    while (cut > at && (d[cut] & 0xC0) == 0x80) /* d[cut] continues a character: back off */
        cut--;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)value[i]) * 0x100000001b3ULL;
    out->len = cut;
    lk_buf_printf(out, "~%016llx", (unsigned long long)h);
}

void lk_delta_partition_dir(const char *col, const char *value, lk_buf *out)
{
    lk_delta_partition_dir_n(col, value, value ? strlen(value) : 0, LK_DELTA_PARTITION_DIR_MAX,
                             out);
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
    c->props = lk_xrealloc(c->props, (size_t)(c->nprops + 1) * 2 * sizeof *c->props);
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
    for (int i = 0; i < c->ntxn; i++)
        if (!strcmp(c->txn_app[i], app_id)) {
            c->txn_version[i] = version;
            return;
        }
    c->txn_app = realloc(c->txn_app, (size_t)(c->ntxn + 1) * sizeof *c->txn_app);
    c->txn_version = realloc(c->txn_version, (size_t)(c->ntxn + 1) * sizeof *c->txn_version);
    if (!c->txn_app || !c->txn_version) abort();
    c->txn_app[c->ntxn] = lk_strdup(app_id);
    c->txn_version[c->ntxn++] = version;
}

/* 1 if the commit writes a txn for app. */
static int commit_has_txn(const lk_delta_commit *c, const char *app)
{
    for (int i = 0; i < c->ntxn; i++)
        if (!strcmp(c->txn_app[i], app)) return 1;
    return 0;
}

void lk_delta_commit_set_param(lk_delta_commit *c, const char *key, const char *json_value)
{
    if (c->params.len) lk_buf_putc(&c->params, ',');
    lk_buf_json_string(&c->params, key, strlen(key));
    lk_buf_putc(&c->params, ':');
    lk_buf_puts(&c->params, json_value);
}

/* ---------- writing it ---------- */

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

/* Checks one action of a version that beat the commit cc->c; records the
   first conflict by the protocol's rules (blind appends never conflict). */
static void check_conflict(lk_delta_watch *w, lk_delta_table *t, int64_t version, yajl_val act)
{
    conflict_ctx *cc = (conflict_ctx *)w;
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
                     path, version);
        else
            return;
    } else if (strcmp(kind, "txn") == 0 && app) {
        if (!commit_has_txn(cc->c, app)) return;
        snprintf(cc->msg, sizeof cc->msg, "concurrent transaction for appId %s at version %" PRId64,
                 app, version);
    } else if (strcmp(kind, "protocol") == 0 || strcmp(kind, "metaData") == 0) {
        snprintf(cc->msg, sizeof cc->msg, "%s changed concurrently at version %" PRId64, kind,
                 version);
    } else {
        return;
    }
    cc->code = LK_ECONFLICT;
}

/* The commitInfo.timestamp of version v's commit file, or -1. */
static int64_t commit_file_timestamp(const lk_delta_table *t, int64_t v)
{
    char path[4200];
    version_path(t, v, ".json", path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char head[4096];
    size_t n = fread(head, 1, sizeof head - 1, f);
    fclose(f);
    head[n] = 0;
    const char *p = strstr(head, "{\"commitInfo\":{");
    const char *ts = p ? strstr(p, "\"timestamp\":") : NULL;
    const char *nl = p ? strchr(p, '\n') : NULL;
    if (!ts || (nl && ts > nl)) return -1;
    return strtoll(ts + 12, NULL, 10);
}

/* The timestamp of the commit of version: now, but never below the previous commit's
   (Delta's in-commit timestamps are monotonic; a clock that jumps back an hour must not
   make the history go back). */
static int64_t commit_timestamp(lk_delta_table *t, int64_t version)
{
    int64_t now = lk_time_now_ms();
    if (t->last_ts < 0 && version > 0) /* replay started at a checkpoint: read the last commit */
        t->last_ts = commit_file_timestamp(t, version - 1);
    return t->last_ts >= 0 && now <= t->last_ts ? t->last_ts + 1 : now;
}

static void build_body(lk_delta_commit *c, int64_t version)
{
    lk_delta_table *t = c->t;
    lk_buf *b = &c->body;
    lk_buf_reset(b);
    char uuid[37];
    int64_t now = commit_timestamp(t, version);
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
        int64_t n = lk_delta_stats_num_records(c->adds[i].stats);
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
    for (int i = 0; i < c->ntxn; i++) {
        lk_buf_puts(b, "{\"txn\":{\"appId\":");
        lk_buf_json_string(b, c->txn_app[i], strlen(c->txn_app[i]));
        lk_buf_printf(b, ",\"version\":%" PRId64 ",\"lastUpdated\":%" PRId64 "}}\n",
                      c->txn_version[i], now);
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
        int idx = lk_delta_hash_find(t, t->key.data);
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
    conflict_ctx cc = {.w = {.on_action = check_conflict}, .c = c, .code = 0};
    /* Versions the handle already read after the commit was begun (another
       refresh) are checked without being applied again. */
    cc.w.dry = 1;
    for (int64_t v = c->read_version + 1; c->read_version >= 0 && v <= t->version && !cc.code; v++)
        if ((rc = lk_delta_replay_json(t, v, &cc.w, err))) return rc;
    cc.w.dry = 0;
    if (!cc.code && (rc = lk_delta_catch_up(t, t->version >= 0 ? &cc.w : NULL, err))) return rc;
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
            if ((rc = lk_delta_catch_up(t, NULL, err))) return rc;
            if (version) *version = v;
            lk_delta_maybe_checkpoint(t, v);
            return 0;
        }
        if (rc != -EEXIST) return rc;
        /* A concurrent writer won version v: check what it (and others) did. */
        cc.code = 0;
        if (v == 0) {
            rc = lk_delta_load_full(t, err);
            if (rc == 0 && t->version >= 0) {
                cc.code = LK_ECONFLICT;
                snprintf(cc.msg, sizeof cc.msg, "table created concurrently at version 0");
            }
        } else {
            rc = lk_delta_catch_up(t, &cc.w, err);
        }
        if (rc) return rc;
        if (cc.code)
            return lk_error_set(err, cc.code, "%s: %s (our commit lost version %" PRId64 ")",
                                t->path, cc.msg, v);
    }
    return lk_error_set(err, LK_ECONFLICT, "%s: gave up after %d concurrent commits", t->path,
                        COMMIT_ATTEMPTS);
}
