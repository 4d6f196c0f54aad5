/*
 * lk_delta_checkpoint — Parquet (and v2 JSON) checkpoints; see the header.
 *
 * Writing maps each action's JSON object onto the checkpoint schema field by
 * field (put_json), so the same JSON text lk_delta writes in commits is what
 * ends up in the checkpoint: no second serialisation of actions to keep in
 * step. Reading goes the other way through lk_rowjson: a row is rendered as
 * one JSON object {"txn":null,"add":{...},...} and every non-null column is
 * handed to the caller as an action, exactly as a JSON commit line would be.
 * Extra columns Spark writes (stats_parsed, partitionValues_parsed, tags...)
 * simply ride along; replay ignores keys it does not know.
 */
#include "lk_delta_checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_batch.h"
#include "lk_buf.h"
#include "lk_fault.h"
#include "lk_fs.h"
#include "lk_json.h"
#include "lk_parquet_reader.h"
#include "lk_parquet_writer.h"
#include "lk_rowjson.h"

#define CHECKPOINT_BATCH_ROWS 8192
#define V2_JSON_MAX_BYTES ((size_t)1 << 30)
/* Row groups of a checkpoint we write: small enough that writing one (and
   a later streaming checkpoint reading it back a row group at a time) holds
   a bounded amount, whatever the number of files. */
#define CHECKPOINT_ROW_GROUP_BYTES ((size_t)16 << 20)

/* Columns worth reading from a checkpoint (others, like commitInfo or
   domainMetadata, do not change the snapshot we keep). */
static const char *const k_read_cols[] = {
    "txn", "add", "remove", "metaData", "protocol", "sidecar", "checkpointMetadata"};

/* ---------- schema ---------- */

static void add_string_map(lk_field *parent_or_null, lk_schema *s, const char *name)
{
    lk_field *m = parent_or_null ? lk_field_add_child(parent_or_null, name, LK_TYPE_MAP, 1)
                                 : lk_schema_add(s, name, LK_TYPE_MAP, 1);
    lk_field_add_child(m, "key", LK_TYPE_STRING, 0);
    lk_field_add_child(m, "value", LK_TYPE_STRING, 1);
}

static lk_field *top(lk_schema *s, const char *name)
{
    lk_schema_add(s, name, LK_TYPE_STRUCT, 1);
    return lk_schema_field_mut(s, lk_schema_nfields(s) - 1);
}

/* The classic checkpoint schema of PROTOCOL.md, for the actions we keep. */
static lk_schema *checkpoint_schema(void)
{
    lk_schema *s = lk_schema_new();
    lk_field *f = top(s, "txn");
    lk_field_add_child(f, "appId", LK_TYPE_STRING, 1);
    lk_field_add_child(f, "version", LK_TYPE_LONG, 1);
    lk_field_add_child(f, "lastUpdated", LK_TYPE_LONG, 1);

    f = top(s, "add");
    lk_field_add_child(f, "path", LK_TYPE_STRING, 1);
    add_string_map(f, NULL, "partitionValues");
    lk_field_add_child(f, "size", LK_TYPE_LONG, 1);
    lk_field_add_child(f, "modificationTime", LK_TYPE_LONG, 1);
    lk_field_add_child(f, "dataChange", LK_TYPE_BOOLEAN, 1);
    lk_field_add_child(f, "stats", LK_TYPE_STRING, 1);
    add_string_map(f, NULL, "tags");

    f = top(s, "remove");
    lk_field_add_child(f, "path", LK_TYPE_STRING, 1);
    lk_field_add_child(f, "deletionTimestamp", LK_TYPE_LONG, 1);
    lk_field_add_child(f, "dataChange", LK_TYPE_BOOLEAN, 1);
    lk_field_add_child(f, "extendedFileMetadata", LK_TYPE_BOOLEAN, 1);
    add_string_map(f, NULL, "partitionValues");
    lk_field_add_child(f, "size", LK_TYPE_LONG, 1);

    f = top(s, "metaData");
    lk_field_add_child(f, "id", LK_TYPE_STRING, 1);
    lk_field_add_child(f, "name", LK_TYPE_STRING, 1);
    lk_field_add_child(f, "description", LK_TYPE_STRING, 1);
    lk_field *fmt = lk_field_add_child(f, "format", LK_TYPE_STRUCT, 1);
    lk_field_add_child(fmt, "provider", LK_TYPE_STRING, 1);
    add_string_map(&f->children[3], NULL, "options");
    lk_field_add_child(f, "schemaString", LK_TYPE_STRING, 1);
    lk_field *pc = lk_field_add_child(f, "partitionColumns", LK_TYPE_ARRAY, 1);
    lk_field_add_child(pc, "element", LK_TYPE_STRING, 1);
    add_string_map(f, NULL, "configuration");
    lk_field_add_child(f, "createdTime", LK_TYPE_LONG, 1);

    f = top(s, "protocol");
    lk_field_add_child(f, "minReaderVersion", LK_TYPE_INTEGER, 1);
    lk_field_add_child(f, "minWriterVersion", LK_TYPE_INTEGER, 1);
    lk_field *rf = lk_field_add_child(f, "readerFeatures", LK_TYPE_ARRAY, 1);
    lk_field_add_child(rf, "element", LK_TYPE_STRING, 1);
    rf = lk_field_add_child(f, "writerFeatures", LK_TYPE_ARRAY, 1);
    lk_field_add_child(rf, "element", LK_TYPE_STRING, 1);
    return s;
}

/* Appends JSON value v to column c, shaped by c's field. A value of the
   wrong JSON type is stored as null (checkpoints keep what the log says,
   and the log's writer owns its types). */
static void put_json(lk_col *c, yajl_val v, lk_buf *tmp)
{
    if (!v || YAJL_IS_NULL(v)) {
        lk_col_append_null(c);
        return;
    }
    switch (c->field->type) {
    case LK_TYPE_STRING:
        if (YAJL_IS_STRING(v)) {
            const char *s = YAJL_GET_STRING(v);
            lk_col_append_bytes(c, s, strlen(s));
        } else {
            lk_buf_reset(tmp);
            lk_json_text(v, tmp);
            lk_col_append_bytes(c, tmp->data, tmp->len);
        }
        return;
    case LK_TYPE_LONG:
        if (YAJL_IS_INTEGER(v))
            lk_col_append_i64(c, (int64_t)YAJL_GET_INTEGER(v));
        else
            lk_col_append_null(c);
        return;
    case LK_TYPE_INTEGER:
        if (YAJL_IS_INTEGER(v))
            lk_col_append_i32(c, (int32_t)YAJL_GET_INTEGER(v));
        else
            lk_col_append_null(c);
        return;
    case LK_TYPE_BOOLEAN:
        if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
            lk_col_append_bool(c, YAJL_IS_TRUE(v));
        else
            lk_col_append_null(c);
        return;
    case LK_TYPE_STRUCT:
        if (!YAJL_IS_OBJECT(v)) break;
        lk_col_append_struct(c);
        for (int i = 0; i < c->n_children; i++)
            put_json(&c->children[i], lk_json_get(v, c->children[i].field->name), tmp);
        return;
    case LK_TYPE_ARRAY:
        if (!YAJL_IS_ARRAY(v)) break;
        for (size_t i = 0; i < v->u.array.len; i++)
            put_json(&c->children[0], v->u.array.values[i], tmp);
        lk_col_append_list(c);
        return;
    case LK_TYPE_MAP:
        if (!YAJL_IS_OBJECT(v)) break;
        for (size_t i = 0; i < v->u.object.len; i++) {
            const char *k = v->u.object.keys[i];
            lk_col_append_bytes(&c->children[0], k, strlen(k));
            put_json(&c->children[1], v->u.object.values[i], tmp);
        }
        lk_col_append_list(c);
        return;
    default:
        break;
    }
    lk_col_append_null(c);
}

struct lk_delta_checkpoint_writer {
    char path[4200], tmp_path[4200];
    lk_schema *schema;
    lk_batch *batch;
    lk_pq_writer *w;
    lk_buf line, tmp;
    lk_delta_checkpoint_info info;
    size_t lineno;
    int opened;
};

void lk_delta_checkpoint_writer_abort(lk_delta_checkpoint_writer **wp)
{
    lk_delta_checkpoint_writer *cw = wp ? *wp : NULL;
    if (!cw) return;
    if (cw->opened) lk_pq_writer_abort(cw->w);
    lk_buf_free(&cw->line);
    lk_buf_free(&cw->tmp);
    lk_pq_writer_destroy(&cw->w);
    lk_batch_destroy(&cw->batch);
    lk_schema_destroy(&cw->schema);
    free(cw);
    *wp = NULL;
}

int lk_delta_checkpoint_writer_open(const char *path, lk_delta_checkpoint_writer **out,
                                    lk_error *err)
{
    *out = NULL;
    lk_delta_checkpoint_writer *cw = calloc(1, sizeof *cw);
    if (!cw) abort();
    snprintf(cw->path, sizeof cw->path, "%s", path);
    cw->schema = checkpoint_schema();
    cw->batch = lk_batch_new(cw->schema);
    lk_pq_options opt;
    lk_pq_options_default(&opt);
    opt.row_group_bytes = CHECKPOINT_ROW_GROUP_BYTES;
    cw->w = lk_pq_writer_new(cw->schema, &opt);
    lk_fs_temp_name(path, cw->tmp_path, sizeof cw->tmp_path);
    int rc = lk_pq_writer_open(cw->w, cw->tmp_path, err);
    if (rc) {
        lk_delta_checkpoint_writer_abort(&cw);
        return rc;
    }
    cw->opened = 1;
    *out = cw;
    return 0;
}

int lk_delta_checkpoint_writer_put(lk_delta_checkpoint_writer *cw, const char *jsonl, size_t len,
                                   lk_error *err)
{
    int rc = 0;
    size_t off = 0;
    lk_batch *b = cw->batch;
    while (rc == 0 && off < len) {
        const char *p = jsonl + off;
        const char *nl = memchr(p, '\n', len - off);
        size_t n = nl ? (size_t)(nl - p) : len - off;
        off += n + (nl ? 1 : 0);
        cw->lineno++;
        if (n == 0) continue;
        lk_buf_reset(&cw->line);
        lk_buf_append(&cw->line, p, n);
        char ebuf[128] = "";
        yajl_val act = yajl_tree_parse(cw->line.data, ebuf, sizeof ebuf);
        if (!act || !YAJL_IS_OBJECT(act) || act->u.object.len == 0) {
            rc = lk_error_set(err, LK_EFORMAT, "%s: action %zu is not a JSON object", cw->path,
                              cw->lineno);
            yajl_tree_free(act);
            break;
        }
        int col = lk_schema_find(cw->schema, act->u.object.keys[0]);
        if (col >= 0) {
            put_json(lk_batch_col(b, col), act->u.object.values[0], &cw->tmp);
            lk_batch_end_row(b);
            cw->info.size++;
            if (strcmp(act->u.object.keys[0], "add") == 0) cw->info.num_add_files++;
        }
        yajl_tree_free(act);
        if (lk_batch_nrows(b) >= CHECKPOINT_BATCH_ROWS) {
            rc = lk_pq_writer_write(cw->w, b, err);
            lk_batch_reset(b);
        }
    }
    return rc;
}

int lk_delta_checkpoint_writer_finish(lk_delta_checkpoint_writer **wp,
                                      lk_delta_checkpoint_info *info, lk_error *err)
{
    lk_delta_checkpoint_writer *cw = *wp;
    memset(info, 0, sizeof *info);
    int rc = 0;
    if (lk_batch_nrows(cw->batch) > 0) rc = lk_pq_writer_write(cw->w, cw->batch, err);
    lk_pq_file_info fi;
    if (rc == 0) {
        rc = lk_pq_writer_close(cw->w, &fi, err);
        cw->opened = 0;
        if (rc) unlink(cw->tmp_path);
    }
    if (rc == 0) {
        *info = cw->info;
        info->size_in_bytes = fi.file_size;
        /* A crash here leaves only the temp file: the checkpoint never appears. */
        int f = lk_fault_check("delta.checkpoint");
        if (f < 0 || f == LK_FAULT_SHORT_WRITE) {
            rc = lk_error_errno(err, f < 0 ? f : -ENOSPC, "%s: fault injected", cw->path);
        } else if (link(cw->tmp_path, cw->path) != 0 && errno != EEXIST) {
            rc = lk_error_errno(err, -errno, "cannot link '%s' to '%s'", cw->tmp_path, cw->path);
        }
        unlink(cw->tmp_path);
        if (rc == 0) rc = lk_fs_fsync_dir(cw->path, err);
    }
    lk_delta_checkpoint_writer_abort(wp);
    return rc;
}

int lk_delta_checkpoint_write(const char *path, const char *jsonl, size_t len,
                              lk_delta_checkpoint_info *info, lk_error *err)
{
    memset(info, 0, sizeof *info);
    lk_delta_checkpoint_writer *cw = NULL;
    int rc = lk_delta_checkpoint_writer_open(path, &cw, err);
    if (rc == 0) rc = lk_delta_checkpoint_writer_put(cw, jsonl, len, err);
    if (rc == 0) return lk_delta_checkpoint_writer_finish(&cw, info, err);
    lk_delta_checkpoint_writer_abort(&cw);
    return rc;
}

/* ---------- reading ---------- */

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Hands every non-null member of the row object to fn (with sidecars read
   in place when log_dir is set). */
static int dispatch(yajl_val row, const char *where, const char *log_dir, lk_delta_action_fn fn,
                    void *ctx, lk_error *err);

static int read_sidecar(yajl_val sc, const char *where, const char *log_dir, lk_delta_action_fn fn,
                        void *ctx, lk_error *err)
{
    yajl_val p = lk_json_get(sc, "path");
    if (!p || !YAJL_IS_STRING(p))
        return lk_error_set(err, LK_EFORMAT, "%s: sidecar without path", where);
    const char *name = YAJL_GET_STRING(p);
    if (!log_dir)
        return lk_error_set(err, LK_EFORMAT, "%s: sidecar '%s' inside a sidecar", where, name);
    if (strstr(name, "://") || name[0] == '/' || strstr(name, ".."))
        return lk_error_set(err, LK_EUNSUPPORTED,
                            "%s: sidecar path '%s' outside _delta_log/_sidecars", where, name);
    char full[4200];
    snprintf(full, sizeof full, "%s/_sidecars/%s", log_dir, name);
    return lk_delta_checkpoint_read(full, NULL, fn, ctx, err);
}

static int dispatch(yajl_val row, const char *where, const char *log_dir, lk_delta_action_fn fn,
                    void *ctx, lk_error *err)
{
    if (!YAJL_IS_OBJECT(row))
        return lk_error_set(err, LK_EFORMAT, "%s: action is not a JSON object", where);
    for (size_t k = 0; k < row->u.object.len; k++) {
        yajl_val a = row->u.object.values[k];
        if (!a || YAJL_IS_NULL(a)) continue;
        const char *kind = row->u.object.keys[k];
        int rc = strcmp(kind, "sidecar") == 0 ? read_sidecar(a, where, log_dir, fn, ctx, err)
                                              : fn(ctx, kind, a, where, err);
        if (rc) return rc;
    }
    return 0;
}

static int read_json_checkpoint(const char *path, const char *log_dir, lk_delta_action_fn fn,
                                void *ctx, lk_error *err)
{
    lk_buf text = LK_BUF_INIT, line = LK_BUF_INIT;
    int rc = lk_fs_read_file(path, &text, V2_JSON_MAX_BYTES, err);
    size_t lineno = 0;
    const char *p = text.data ? text.data : "";
    while (rc == 0 && *p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        lk_buf_reset(&line);
        lk_buf_append(&line, p, n);
        p += n + (nl ? 1 : 0);
        if (strspn(line.data, " \t\r") == n) continue;
        char where[4300], ebuf[128] = "";
        snprintf(where, sizeof where, "%s line %zu", path, lineno);
        yajl_val act = yajl_tree_parse(line.data, ebuf, sizeof ebuf);
        if (!act) {
            char *q = strchr(ebuf, '\n');
            if (q) *q = 0;
            rc = lk_error_set(err, LK_EFORMAT, "%s: bad JSON: %s", where, ebuf);
            break;
        }
        rc = dispatch(act, where, log_dir, fn, ctx, err);
        yajl_tree_free(act);
    }
    lk_buf_free(&text);
    lk_buf_free(&line);
    return rc;
}

int lk_delta_checkpoint_read(const char *path, const char *log_dir, lk_delta_action_fn fn,
                             void *ctx, lk_error *err)
{
    if (ends_with(path, ".json")) return read_json_checkpoint(path, log_dir, fn, ctx, err);
    lk_pq_reader *r = NULL;
    int rc = lk_pq_reader_open(path, &r, err);
    if (rc) return rc;
    const lk_schema *fs = lk_pq_reader_schema(r);
    int cols[sizeof k_read_cols / sizeof k_read_cols[0]], ncols = 0;
    for (size_t i = 0; i < sizeof k_read_cols / sizeof k_read_cols[0]; i++) {
        int k = lk_schema_find(fs, k_read_cols[i]);
        if (k >= 0) cols[ncols++] = k;
    }
    if (ncols == 0) {
        lk_pq_reader_destroy(&r);
        return lk_error_set(err, LK_EFORMAT, "%s: not a Delta checkpoint (no action columns)",
                            path);
    }
    lk_batch *b = NULL;
    lk_buf text = LK_BUF_INIT;
    int64_t rowno = 0;
    for (int g = 0; rc == 0 && g < lk_pq_reader_num_row_groups(r); g++) {
        rc = lk_pq_reader_read_row_group(r, g, cols, ncols, &b, err);
        for (uint32_t i = 0; rc == 0 && i < lk_batch_nrows(b); i++, rowno++) {
            lk_buf_reset(&text);
            lk_rowjson_append(b, i, &text);
            char where[4300], ebuf[128] = "";
            snprintf(where, sizeof where, "%s row %" PRId64, path, rowno);
            yajl_val row = yajl_tree_parse(text.data, ebuf, sizeof ebuf);
            if (!row) {
                rc = lk_error_set(err, LK_EFORMAT, "%s: cannot decode: %s", where, ebuf);
                break;
            }
            rc = dispatch(row, where, log_dir, fn, ctx, err);
            yajl_tree_free(row);
        }
    }
    lk_buf_free(&text);
    lk_batch_destroy(&b);
    lk_pq_reader_destroy(&r);
    return rc;
}
