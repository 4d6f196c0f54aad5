/* lk_replay_cli — `lakesupd replay`; see lk_replay_cli.h. */
#include "lk_replay_cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "lk_bytes.h"
#include "lk_delta.h"
#include "lk_exit.h"
#include "lk_fault.h"
#include "lk_fs.h"
#include "lk_gold.h"
#include "lk_json.h"
#include "lk_parquet_reader.h"
#include "lk_parquet_writer.h"
#include "lk_parser.h"
#include "lk_partition.h"
#include "lk_raw.h"
#include "lk_rundir.h"
#include "lk_source_cfg.h"
#include "lk_sql.h"
#include "lk_state.h"
#include "lk_tables.h"
#include "lk_time.h"
#include "lk_transforms.h"

typedef struct replay {
    const lk_config *cfg;
    lk_state *st;
    char app_id[64];
    char qpath[2048];
    /* what is replayed (the params stored with the batch) */
    char reason[128];
    int64_t since_us; /* INT64_MIN: none */
    char *where;
    char **files; /* quarantine data files (relative) that hold selected rows */
    int nfiles;
    lk_sql_program *prog; /* the where condition over quarantine rows */
    int where_reg;
    /* the tables whose quarantined rows can be replayed: those with transforms of their own
       (processed_events and the tables of tables:) */
    const char *names[LK_TABLES_MAX];
    int nnames;
    /* open rows the selection matched but no table of this configuration can take (plan) */
    char left_table[LK_TABLES_MAX][128];
    int64_t left_rows[LK_TABLES_MAX];
    int nleft, tally;
    lk_error err;
} replay;

/* The table of quarantine row i is one whose rows can be replayed: its index in r->names, or -1. */
static int replayable(const replay *r, const char *t, size_t len)
{
    for (int k = 0; k < r->nnames; k++)
        if (strlen(r->names[k]) == len && !memcmp(r->names[k], t, len)) return k;
    return -1;
}

/* Counts an open row the selection matched whose table cannot take it (what plan reports). */
static void tally_left(replay *r, const char *t, size_t len)
{
    int k = 0;
    while (k < r->nleft && (strlen(r->left_table[k]) != len || memcmp(r->left_table[k], t, len)))
        k++;
    if (k == r->nleft) {
        if (r->nleft == LK_TABLES_MAX)
            k--; /* more tables than any configuration: the last */
        else
            snprintf(r->left_table[r->nleft++], sizeof r->left_table[0], "%.*s", (int)len, t);
    }
    r->left_rows[k]++;
}

static void free_files(replay *r)
{
    for (int i = 0; i < r->nfiles; i++)
        free(r->files[i]);
    free(r->files);
    r->files = NULL;
    r->nfiles = 0;
}

/* Rows of a quarantine batch to replay: mask[i] = 1. Returns their number, or -1. */
static int64_t select_rows(replay *r, const lk_batch *q, uint8_t *mask)
{
    uint32_t n = lk_batch_nrows(q);
    const lk_schema *s = lk_batch_schema(q);
    int c_rep = lk_schema_find(s, "replayed_in_batch"), c_table = lk_schema_find(s, "table"),
        c_reason = lk_schema_find(s, "reason"), c_at = lk_schema_find(s, "quarantined_at"),
        c_rec = lk_schema_find(s, "record");
    if (c_rep < 0 || c_table < 0 || c_reason < 0 || c_rec < 0) {
        lk_error_set(&r->err, LK_EFORMAT, "the quarantine table lacks the columns of this version");
        return -1;
    }
    if (r->where && !r->prog) {
        r->prog = lk_sql_program_new(s);
        if (lk_sql_program_compile(r->prog, r->where, NULL, &r->where_reg, NULL, &r->err)) {
            lk_error_prefix(&r->err, "--where");
            return -1;
        }
        if (lk_sql_program_type(r->prog, r->where_reg)->type != LK_TYPE_BOOLEAN) {
            lk_error_set(&r->err, LK_EFORMAT, "--where: a condition must be boolean");
            return -1;
        }
    }
    const lk_col *w = NULL;
    if (r->prog) {
        if (lk_sql_program_run(r->prog, q, lk_time_now_us(), &r->err)) return -1;
        w = lk_sql_program_result(r->prog, r->where_reg);
    }
    int64_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        size_t len, tlen;
        const char *t = lk_col_bytes(lk_batch_col_const(q, c_table), i, &tlen);
        int ok = lk_col_is_null(lk_batch_col_const(q, c_rep), i) &&
                 !lk_col_is_null(lk_batch_col_const(q, c_rec), i) &&
                 !lk_col_is_null(lk_batch_col_const(q, c_table), i);
        if (ok && r->reason[0]) {
            const char *re = lk_col_bytes(lk_batch_col_const(q, c_reason), i, &len);
            ok = len == strlen(r->reason) && !memcmp(re, r->reason, len);
        }
        if (ok && r->since_us != INT64_MIN && c_at >= 0)
            ok = !lk_col_is_null(lk_batch_col_const(q, c_at), i) &&
                 lk_col_i64(lk_batch_col_const(q, c_at), i) >= r->since_us;
        if (ok && w) ok = !lk_col_is_null(w, i) && ((const uint8_t *)w->values)[i];
        if (ok && replayable(r, t, tlen) < 0) {
            if (r->tally) tally_left(r, t, tlen);
            ok = 0;
        }
        mask[i] = (uint8_t)ok;
        k += ok;
    }
    return k;
}

/* Reads a whole quarantine data file into *out (created, or reset and reused). */
static int read_file(replay *r, const char *rel, lk_batch **out)
{
    char full[4200];
    lk_buf dec = LK_BUF_INIT;
    lk_delta_url_decode(rel, &dec);
    snprintf(full, sizeof full, "%s/%s", r->qpath, dec.data ? dec.data : rel);
    lk_buf_free(&dec);
    lk_pq_reader *pr = NULL;
    if (lk_pq_reader_open(full, &pr, &r->err)) return -1;
    lk_batch *part = NULL;
    int rc = 0;
    if (*out) lk_batch_reset(*out);
    for (int g = 0; g < lk_pq_reader_num_row_groups(pr) && rc == 0; g++) {
        rc = lk_pq_reader_read_row_group(pr, g, NULL, 0, &part, &r->err);
        if (rc) break;
        if (!*out) *out = lk_batch_new(lk_batch_schema(part));
        for (int c = 0; c < lk_batch_ncols(part); c++)
            lk_col_append_range(lk_batch_col(*out, c), lk_batch_col_const(part, c), 0,
                                lk_batch_nrows(part));
        lk_batch_set_nrows(*out, lk_batch_nrows(*out) + lk_batch_nrows(part));
    }
    if (rc == 0 && !*out) { /* a file of no row groups */
        lk_schema *qs = lk_transforms_quarantine_schema();
        *out = lk_batch_new(qs);
        lk_schema_destroy(&qs);
    }
    lk_batch_destroy(&part);
    lk_pq_reader_destroy(&pr);
    return rc;
}

/* Reads quarantine file rel into *q and marks its rows to replay in *mask
   (grown as needed). Returns their number, or -1. */
static int64_t read_selected(replay *r, const char *rel, lk_batch **q, uint8_t **mask)
{
    if (read_file(r, rel, q)) return -1;
    uint32_t n = lk_batch_nrows(*q);
    *mask = realloc(*mask, n ? n : 1);
    if (!*mask) abort();
    return select_rows(r, *q, *mask);
}

/* ---- params (stored with the batch) ---- */

static char *params_json(const replay *r)
{
    lk_buf b = LK_BUF_INIT;
    lk_buf_puts(&b, "{\"reason\":");
    lk_buf_json_string(&b, r->reason, strlen(r->reason));
    if (r->since_us != INT64_MIN) lk_buf_printf(&b, ",\"since_us\":%lld", (long long)r->since_us);
    if (r->where) {
        lk_buf_puts(&b, ",\"where\":");
        lk_buf_json_string(&b, r->where, strlen(r->where));
    }
    lk_buf_puts(&b, ",\"files\":[");
    for (int i = 0; i < r->nfiles; i++) {
        if (i) lk_buf_putc(&b, ',');
        lk_buf_json_string(&b, r->files[i], strlen(r->files[i]));
    }
    lk_buf_puts(&b, "]}");
    return lk_buf_detach(&b, NULL);
}

static int params_load(replay *r, const char *json)
{
    char ebuf[256];
    yajl_val root = yajl_tree_parse(json, ebuf, sizeof ebuf);
    if (!root) return lk_error_set(&r->err, LK_ESTATE, "replay params in state.db: %s", ebuf);
    yajl_val v = lk_json_get(root, "reason");
    snprintf(r->reason, sizeof r->reason, "%s", v && YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : "");
    v = lk_json_get(root, "since_us");
    r->since_us = v && YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : INT64_MIN;
    v = lk_json_get(root, "where");
    free(r->where);
    r->where = v && YAJL_IS_STRING(v) ? lk_strdup(YAJL_GET_STRING(v)) : NULL;
    v = lk_json_get(root, "files");
    free_files(r);
    for (size_t i = 0; v && YAJL_IS_ARRAY(v) && i < v->u.array.len; i++) {
        r->files = realloc(r->files, sizeof *r->files * (size_t)(r->nfiles + 1));
        if (!r->files) abort();
        r->files[r->nfiles++] = lk_strdup(YAJL_GET_STRING(v->u.array.values[i]));
    }
    yajl_tree_free(root);
    return 0;
}

/* ---- writing a table's rows of the batch ---- */

typedef struct written {
    char path[600];
    int64_t size, rows;
    char *stats, *pv;
} written;

static int write_table(replay *r, const char *table, const char *tpath, const lk_batch *b,
                       int64_t batch, written **w, int *nw)
{
    lk_pq_options opt;
    lk_pq_options_default(&opt);
    if (lk_pq_codec_parse(r->cfg->tables.compression, &opt.codec))
        return lk_error_set(&r->err, LK_ECONFIG, "unknown compression");
    opt.zstd_level = r->cfg->tables.zstd_level;
    opt.zstd_adaptive = r->cfg->tables.zstd_adaptive;
    const char *cols[LK_MAX_PARTITION_COLS];
    int npb = lk_config_partition_cols(r->cfg, table, cols);
    lk_partitioner *part = NULL;
    lk_pq_writer *pq = NULL;
    int nparts = 1, rc = 0;
    if (npb) {
        if (lk_partitioner_new(lk_batch_schema(b), cols, npb, &part, &r->err)) return -1;
        pq = lk_pq_writer_new(lk_partitioner_data_schema(part), &opt);
        nparts = lk_partitioner_split(part, b);
    } else {
        pq = lk_pq_writer_new(lk_batch_schema(b), &opt);
    }
    for (int i = 0; i < nparts && rc == 0; i++) {
        const lk_batch *pb_batch = part ? lk_partitioner_part(part, i) : b;
        const char *dir = part ? lk_partitioner_dir(part, i) : NULL;
        if (!lk_batch_nrows(pb_batch)) continue;
        *w = realloc(*w, sizeof **w * (size_t)(*nw + 1));
        if (!*w) abort();
        written *f = &(*w)[*nw];
        memset(f, 0, sizeof *f);
        char uuid[40], full[3300];
        lk_fs_uuid4(uuid, sizeof uuid);
        snprintf(f->path, sizeof f->path, "%s%spart-%05lld-replay-%s.c000.%s.parquet",
                 dir ? dir : "", dir ? "/" : "", (long long)batch, uuid,
                 opt.codec == LK_PQ_UNCOMPRESSED ? "uncompressed" : lk_pq_codec_name(opt.codec));
        snprintf(full, sizeof full, "%s/%s", tpath, dir ? dir : "");
        if (lk_fs_mkdirs(full, &r->err)) {
            rc = -1;
            break;
        }
        snprintf(full, sizeof full, "%s/%s", tpath, f->path);
        lk_pq_file_info info;
        rc = lk_pq_writer_open(pq, full, &r->err);
        if (rc == 0) rc = lk_pq_writer_write(pq, pb_batch, &r->err);
        if (rc == 0) rc = lk_pq_writer_close(pq, &info, &r->err);
        if (rc) {
            lk_pq_writer_abort(pq);
            break;
        }
        lk_buf st = LK_BUF_INIT;
        lk_delta_stats_json(&info, &st);
        f->stats = lk_buf_detach(&st, NULL);
        f->size = info.file_size;
        f->rows = info.num_rows;
        f->pv = part ? strdup(lk_partitioner_values_json(part, i)) : NULL;
        (*nw)++;
    }
    lk_pq_writer_destroy(&pq);
    lk_partitioner_destroy(&part);
    return rc;
}

static void free_written(written *w, int n)
{
    for (int i = 0; i < n; i++) {
        free(w[i].stats);
        free(w[i].pv);
    }
    free(w);
}

/* One table's commit of the replay batch: adds (and removes), txn(appId, b). */
static int commit_table(replay *r, const char *table, const char *tpath, const lk_schema *schema,
                        int64_t b, const written *w, int nw, char **removes, int nrm)
{
    lk_delta_table *dt = NULL;
    if (lk_fs_mkdirs(tpath, &r->err) || lk_delta_open_log(tpath, &dt, &r->err)) return -1;
    int rc = 0;
    if (lk_delta_txn_version(dt, r->app_id) >= b) {
        printf("  %s: batch %lld is in the table already\n", table, (long long)b);
        lk_delta_destroy(&dt);
        return 0;
    }
    lk_delta_commit *dc = lk_delta_commit_new(dt, "STREAMING UPDATE");
    const lk_schema *cur = lk_delta_schema(dt);
    if (!cur) {
        lk_delta_commit_set_schema(dc, schema);
    } else { /* the table keeps the columns (and struct children) the replayed rows lack */
        lk_schema *u = lk_schema_union(cur, schema, &r->err);
        if (!u) {
            lk_error_prefix(&r->err, "%s", table);
            lk_delta_commit_destroy(&dc);
            lk_delta_destroy(&dt);
            return -1;
        }
        if (!lk_schema_equal(cur, u)) lk_delta_commit_set_schema(dc, u);
        lk_schema_destroy(&u);
    }
    const char *cols[LK_MAX_PARTITION_COLS];
    int npb = lk_config_partition_cols(r->cfg, table, cols);
    if (!cur && npb) lk_delta_commit_set_partition_columns(dc, cols, npb);
    int64_t rows = 0, mtime = lk_time_now_ms();
    for (int i = 0; i < nw; i++) {
        if (w[i].pv)
            lk_delta_commit_add_file_partitioned(dc, w[i].path, w[i].pv, w[i].size, mtime,
                                                 w[i].stats, 1);
        else
            lk_delta_commit_add_file(dc, w[i].path, w[i].size, mtime, w[i].stats, 1);
        rows += w[i].rows;
    }
    for (int i = 0; i < nrm; i++)
        lk_delta_commit_remove_file(dc, removes[i], 1);
    lk_delta_commit_set_txn(dc, r->app_id, b);
    char epoch[32], qid[96];
    snprintf(epoch, sizeof epoch, "%lld", (long long)b);
    snprintf(qid, sizeof qid, "\"%s\"", r->app_id);
    lk_delta_commit_set_param(dc, "outputMode", "\"Append\"");
    lk_delta_commit_set_param(dc, "epochId", epoch);
    lk_delta_commit_set_param(dc, "queryId", qid);
    lk_delta_commit_set_param(dc, "replay", "true");
    int64_t version = -1;
    rc = lk_delta_commit_run(dc, &version, &r->err);
    lk_delta_commit_destroy(&dc);
    lk_delta_destroy(&dt);
    if (rc) {
        lk_error_prefix(&r->err, "commit of replay batch %lld to %s", (long long)b, table);
        return rc;
    }
    printf("  %s: version %lld, %lld row(s), %d file(s) added, %d removed\n", table,
           (long long)version, (long long)rows, nw, nrm);
    fflush(stdout);
    int fault = lk_fault_check("replay.after_commit"); /* tests: killed between two tables */
    if (fault < 0)
        return lk_error_errno(&r->err, fault, "replay of batch %lld (injected fault)",
                              (long long)b);
    return lk_state_record_commit(r->st, b, table, version, rows, nw, &r->err);
}

/* 1 when the table at path has batch b of this pipeline (its txn), else 0. */
static int has_batch(replay *r, const char *path, int64_t b)
{
    lk_delta_table *dt = NULL;
    int have = lk_delta_open(path, &dt, &r->err) == 0 && lk_delta_txn_version(dt, r->app_id) >= b;
    lk_delta_destroy(&dt);
    return have;
}

/* Whether every table's schema merges with the one this replay writes (lk_schema_union: a struct
   child of another type does not), checked before any table is written so that a refusal leaves
   none half done. 0, or -1 with r->err. */
static int schemas_merge(replay *r, lk_tables *t, const char *const *names, char (*paths)[2048],
                         int ntables)
{
    int rc = 0;
    for (int i = 0; i < ntables && rc == 0; i++) {
        lk_delta_table *dt = NULL;
        lk_error e = {0};
        if (!strcmp(names[i], LK_TABLE_QUARANTINE) || !lk_tables_schema(t, i)) continue;
        if (lk_delta_open_log(paths[i], &dt, &e)) continue; /* no table yet */
        const lk_schema *cur = lk_delta_schema(dt);
        lk_schema *u = cur ? lk_schema_union(cur, lk_tables_schema(t, i), &r->err) : NULL;
        if (cur && !u) {
            lk_error_prefix(&r->err, "%s", names[i]);
            rc = -1;
        }
        lk_schema_destroy(&u);
        lk_delta_destroy(&dt);
    }
    return rc;
}

/* ---- the replay of batch b ---- */

/* The rescued data a record carries (lk_transforms' quarantine_row: the input's rescued column,
   under its name, as a JSON string), as a new string, or NULL (nothing rescued, or a record of a
   version that did not carry it). */
static char *carried_rescued(const char *rec, size_t len, const char *name)
{
    char *z = malloc(len + 1);
    if (!z) abort();
    memcpy(z, rec, len);
    z[len] = '\0';
    yajl_val root = yajl_tree_parse(z, NULL, 0);
    free(z);
    yajl_val v = root ? lk_json_get(root, name) : NULL;
    char *out = v && YAJL_IS_STRING(v) ? lk_strdup(YAJL_GET_STRING(v)) : NULL;
    yajl_tree_free(root);
    return out;
}

/* The input of table ti for its selected quarantine rows: each record (the row of ti's from table
   as ti's step saw it) parsed again as a JSON line with the from table's current schema, its
   _metadata from the quarantine row, its rescued data put back as it was. Into *in (created, of
   the from table's schema); *n counts the rows. */
static int group_input(replay *r, lk_tables *t, int ti, lk_parser *parser, lk_batch **in,
                       int64_t *n)
{
    int fi = lk_tables_from(t, ti), rc = 0;
    const lk_schema *fs = lk_tables_schema(t, fi);
    int f_resc = lk_raw_rescued_index(fs);
    const char *rname = f_resc >= 0 ? lk_schema_field(fs, f_resc)->name : NULL;
    /* what the reader fills: fs itself for raw_events, else fs's columns as data columns */
    lk_schema *ps;
    if (fi == 0) {
        ps = lk_schema_clone(fs);
    } else {
        lk_schema *data = lk_schema_new();
        for (int c = 0; c < lk_schema_nfields(fs); c++)
            if (c != f_resc) lk_schema_add_copy(data, lk_schema_field(fs, c));
        ps = lk_raw_schema_opt(data, rname);
        lk_schema_destroy(&data);
    }
    lk_batch *pb = lk_batch_new(ps), *q = NULL;
    uint8_t *mask = NULL;
    char **carried = NULL;
    size_t ncarried = 0;
    lk_buf line = LK_BUF_INIT;
    const char *tname = lk_tables_name(t, ti);
    for (int f = 0; f < r->nfiles && rc == 0; f++) {
        if (read_selected(r, r->files[f], &q, &mask) < 0) {
            rc = -1;
            break;
        }
        uint32_t nq = lk_batch_nrows(q);
        const lk_schema *qs = lk_batch_schema(q);
        const lk_col *rec = lk_batch_col_const(q, lk_schema_find(qs, "record"));
        const lk_col *meta = lk_batch_col_const(q, lk_schema_find(qs, "_metadata"));
        const lk_col *tab = lk_batch_col_const(q, lk_schema_find(qs, "table"));
        for (uint32_t i = 0; i < nq && rc == 0; i++) {
            size_t len;
            const char *tn = mask[i] ? lk_col_bytes(tab, i, &len) : NULL;
            if (!tn || len != strlen(tname) || memcmp(tn, tname, len)) continue;
            const char *s = lk_col_bytes(rec, i, &len);
            lk_buf_reset(&line);
            lk_buf_append(&line, s, len);
            lk_buf_putc(&line, '\n');
            carried = realloc(carried, sizeof *carried * (ncarried + 1));
            if (!carried) abort();
            carried[ncarried++] = rname ? carried_rescued(s, len, rname) : NULL;
            lk_source_meta sm = {"", "", 0, 0};
            int64_t off = 0;
            char fp[1024] = "", fn[512] = "";
            if (!lk_col_is_null(meta, i)) {
                size_t l2;
                const char *p = lk_col_bytes(&meta->children[0], i, &l2);
                snprintf(fp, sizeof fp, "%.*s", (int)l2, p);
                p = lk_col_bytes(&meta->children[1], i, &l2);
                snprintf(fn, sizeof fn, "%.*s", (int)l2, p);
                sm.file_size = lk_col_i64(&meta->children[2], i);
                sm.file_mtime_us = lk_col_i64(&meta->children[3], i);
                off = lk_col_i64(&meta->children[4], i);
            }
            sm.file_path = fp;
            sm.file_name = fn;
            lk_parser_chunk pc = {line.data, line.len, off, 0, NULL, 0};
            lk_raw_stats rs = {0};
            if (lk_parser_parse(parser, &pc, &sm, &pb, &rs, &r->err))
                rc = -1;
            else if (lk_batch_nrows(pb) != ncarried)
                rc = lk_error_set(&r->err, LK_EFORMAT,
                                  "quarantine %s: a record of table %s is not one JSON object",
                                  r->files[f], tname);
        }
    }
    lk_buf_free(&line);
    /* the from table's row: its columns by name, the rescued column as the record carried it
       (a record without it: what the reader rescued now, as before) */
    if (rc == 0) {
        *in = lk_batch_new(fs);
        const lk_schema *pbs = lk_batch_schema(pb);
        uint32_t np = lk_batch_nrows(pb);
        for (int c = 0; c < lk_schema_nfields(fs); c++) {
            lk_col *dst = lk_batch_col(*in, c);
            int k = lk_schema_find(pbs, lk_schema_field(fs, c)->name);
            const lk_col *src = k >= 0 ? lk_batch_col_const(pb, k) : NULL;
            if (src && !lk_field_equal(src->field, dst->field) && c != f_resc) src = NULL;
            for (uint32_t i = 0; c == f_resc && i < np; i++) {
                if (carried[i])
                    lk_col_append_bytes(dst, carried[i], strlen(carried[i]));
                else if (src && src->field->type == LK_TYPE_STRING)
                    lk_col_append_range(dst, src, i, 1);
                else
                    lk_col_append_null(dst);
            }
            if (c == f_resc) continue;
            if (src)
                lk_col_append_range(dst, src, 0, np);
            else
                lk_col_pad(dst, np);
        }
        lk_batch_set_nrows(*in, np);
        *n = np;
    }
    for (size_t i = 0; i < ncarried; i++)
        free(carried[i]);
    free(carried);
    free(mask);
    lk_batch_destroy(&q);
    lk_batch_destroy(&pb);
    lk_schema_destroy(&ps);
    return rc;
}

static int run_batch(replay *r, int64_t b)
{
    const lk_config *cfg = r->cfg;
    const char *names[LK_TABLES_MAX];
    int ntables = lk_tables_names(cfg, names), rc = 0;
    /* done in every table already (killed before state.db knew)? */
    int all = 1;
    char paths[LK_TABLES_MAX + 1][2048];
    for (int i = 0; i < ntables; i++) {
        lk_config_table_path(cfg, names[i], paths[i], sizeof paths[i]);
        all &= has_batch(r, paths[i], b);
    }
    all &= !lk_fs_exists(r->qpath) || has_batch(r, r->qpath, b);
    int64_t replayed = 0;
    lk_schema *raw_s = NULL;
    lk_tables *t = NULL;
    lk_batch *in = NULL, *q = NULL, *qout = NULL, *acc[LK_TABLES_MAX] = {0};
    lk_parser *parser = NULL;
    uint8_t *mask = NULL;
    written *w = NULL;
    int nw = 0;
    if (all) {
        printf("replay batch %lld: in every table already\n", (long long)b);
        goto done;
    }
    int v = 0;
    if (lk_state_schema_get(r->st, LK_TABLE_RAW, &raw_s, &v, &r->err) || !raw_s) {
        if (!raw_s) lk_error_set(&r->err, LK_ESTATE, "no raw_events schema in state.db");
        rc = -1;
        goto done;
    }
    if (lk_tables_new(cfg, raw_s, &t, &r->err)) {
        rc = -1;
        goto done;
    }
    if (ntables != lk_tables_count(t)) {
        rc = lk_error_set(&r->err, LK_ESTATE, "the tables of the configuration changed");
        goto done;
    }
    /* event_metrics: replayed rows are judged by the watermark in force
       (late ones fail again, back to quarantine) and change no window: its
       commit of the batch is empty (docs/decisions.md, "Windowed
       aggregates") */
    if (lk_tables_metrics_index(t) >= 0) {
        int64_t found, wm;
        if (lk_state_windows_get(r->st, b - 1, &found, &wm, NULL, NULL, NULL, 0, &r->err)) rc = -1;
        lk_tables_set_watermark(t, wm);
    }
    /* the records, parsed again as JSON lines */
    lk_parser_options po;
    lk_source_cfg_parser(cfg, &po);
    po.format = LK_SOURCE_JSON;
    po.kafka = 0;
    po.multi_line = 0;
    parser = lk_parser_new(&po);
    for (int i = 1; i < ntables; i++)
        if (i != lk_tables_metrics_index(t))
            acc[i] = lk_batch_new(lk_batch_schema(lk_tables_batch(t, i)));
    /* each table's rows go back into that table and the tables fed from it (lk_tables_run_from),
       not into the tables above it or beside it, which hold them already; table by table in
       commit order, the outputs gathered */
    int64_t now = lk_time_now_us();
    for (int ti = 1; ti < ntables && rc == 0; ti++) {
        if (lk_tables_from(t, ti) < 0) continue;
        int64_t n = 0;
        lk_batch_destroy(&in);
        if (group_input(r, t, ti, parser, &in, &n)) {
            rc = -1;
            break;
        }
        if (!n) continue;
        if (lk_tables_run_from(t, ti, in, now, b, &r->err)) {
            rc = -1;
            break;
        }
        for (int i = 1; i < ntables; i++)
            if (acc[i]) lk_batch_append(acc[i], lk_tables_batch(t, i));
        if (ti != 1) printf("  %lld row(s) quarantined by %s\n", (long long)n, names[ti]);
        replayed += n;
    }
    printf("replay batch %lld: %lld row(s) from %d quarantine file(s)\n", (long long)b,
           (long long)replayed, r->nfiles);
    if (rc == 0 && schemas_merge(r, t, names, paths, ntables)) rc = -1;
    /* every table of the pipeline but quarantine, in commit order */
    int qi = -1;
    for (int i = 0; i < ntables && rc == 0; i++) {
        if (!strcmp(names[i], LK_TABLE_QUARANTINE)) {
            qi = i;
            continue;
        }
        free_written(w, nw);
        w = NULL;
        nw = 0;
        if (has_batch(r, paths[i], b)) {
            printf("  %s: batch %lld is in the table already\n", names[i], (long long)b);
            continue;
        }
        if (i > 0 && i != lk_tables_metrics_index(t) &&
            write_table(r, names[i], paths[i], acc[i], b, &w, &nw)) {
            rc = -1;
            break;
        }
        rc = commit_table(r, names[i], paths[i], lk_tables_schema(t, i), b, w, nw, NULL, 0);
    }
    /* quarantine last: its files rewritten with replayed_in_batch = b, and the rows that failed
     * again */
    if (rc == 0) {
        lk_schema *qs = lk_transforms_quarantine_schema();
        qout = lk_batch_new(qs);
        for (int f = 0; f < r->nfiles && rc == 0; f++) {
            if (read_selected(r, r->files[f], &q, &mask) < 0) {
                rc = -1;
                break;
            }
            uint32_t n = lk_batch_nrows(q);
            const lk_schema *fs = lk_batch_schema(q);
            for (int c = 0; c < lk_schema_nfields(qs); c++) {
                int k = lk_schema_find(fs, lk_schema_field(qs, c)->name);
                lk_col *dst = lk_batch_col(qout, c);
                if (c == LK_Q_REPLAYED) {
                    for (uint32_t i = 0; i < n; i++) {
                        if (mask[i])
                            lk_col_append_i64(dst, b);
                        else if (k >= 0)
                            lk_col_append_range(dst, lk_batch_col_const(q, k), i, 1);
                        else
                            lk_col_append_null(dst);
                    }
                } else if (k >= 0 && lk_field_equal(lk_batch_col_const(q, k)->field, dst->field)) {
                    lk_col_append_range(dst, lk_batch_col_const(q, k), 0, n);
                } else {
                    lk_col_pad(dst, dst->len + n);
                }
            }
            lk_batch_set_nrows(qout, lk_batch_nrows(qout) + n);
        }
        if (rc == 0 && qi >= 0) lk_batch_append(qout, acc[qi]); /* the rows quarantined again */
        free_written(w, nw);
        w = NULL;
        nw = 0;
        if (has_batch(r, r->qpath, b))
            printf("  %s: batch %lld is in the table already\n", LK_TABLE_QUARANTINE, (long long)b);
        else if (rc == 0 && write_table(r, LK_TABLE_QUARANTINE, r->qpath, qout, b, &w, &nw) == 0)
            rc = commit_table(r, LK_TABLE_QUARANTINE, r->qpath, qs, b, w, nw, r->files, r->nfiles);
        else
            rc = -1;
        lk_schema_destroy(&qs);
    }
done:
    if (rc == 0) rc = lk_state_mark_committed(r->st, b, &r->err);
    if (rc == 0) rc = lk_state_replay_done(r->st, b, replayed, &r->err);
    free_written(w, nw);
    free(mask);
    lk_batch_destroy(&in);
    for (int i = 0; i < LK_TABLES_MAX; i++)
        lk_batch_destroy(&acc[i]);
    lk_batch_destroy(&q);
    lk_batch_destroy(&qout);
    lk_parser_destroy(&parser);
    lk_tables_destroy(&t);
    lk_schema_destroy(&raw_s);
    return rc;
}

/* Plans a new replay: the quarantine files with rows to replay. 0 (b set,
   or -1 when there is nothing to replay) or an error. */
static int plan(replay *r, int64_t *b)
{
    *b = -1;
    lk_delta_table *qt = NULL;
    if (lk_delta_open(r->qpath, &qt, &r->err)) return -1;
    lk_batch *q = NULL;
    uint8_t *mask = NULL;
    int rc = 0;
    int64_t rows = 0;
    for (int i = 0; i < lk_delta_nfiles(qt) && rc == 0; i++) {
        const char *rel = lk_delta_file_at(qt, i)->path;
        int64_t k = read_selected(r, rel, &q, &mask);
        if (k < 0) {
            rc = -1;
            break;
        }
        if (!k) continue;
        rows += k;
        r->files = realloc(r->files, sizeof *r->files * (size_t)(r->nfiles + 1));
        if (!r->files) abort();
        r->files[r->nfiles++] = strdup(rel);
    }
    lk_batch_destroy(&q);
    free(mask);
    lk_delta_destroy(&qt);
    if (rc || !r->nfiles) return rc;
    char *params = params_json(r);
    rc = lk_state_replay_plan(r->st, params, b, &r->err);
    free(params);
    if (rc == 0)
        printf("replay: %lld quarantined row(s) in %d file(s) planned as batch %lld\n",
               (long long)rows, r->nfiles, (long long)*b);
    return rc;
}

/* 1 when the transforms keep the type of every column the tables have (lk_tables_check_types, as
   `start` checks), else 0 with r->err set: a replay writes processed_events and the tables of
   tables: with the configuration it is given. */
static int types_kept(replay *r)
{
    lk_schema *raw = NULL;
    int v = 0;
    if (lk_state_schema_get(r->st, LK_TABLE_RAW, &raw, &v, &r->err)) lk_error_clear(&r->err);
    int bad = raw && lk_tables_check_types(r->cfg, raw, &r->err);
    lk_schema_destroy(&raw);
    return !bad;
}

/* Opens state.db (lock held) and the query id; then finishes a pending
   replay (resume), or plans and runs a new one. */
static int go(replay *r, int new_one)
{
    char path[2048];
    lk_config_state_path(r->cfg, path, sizeof path);
    lk_config_table_path(r->cfg, LK_TABLE_QUARANTINE, r->qpath, sizeof r->qpath);
    const char *all[LK_TABLES_MAX];
    int nall = lk_tables_names(r->cfg, all);
    for (int i = 0; i < nall; i++)
        if (strcmp(all[i], LK_TABLE_RAW) && strcmp(all[i], LK_TABLE_QUARANTINE) &&
            strcmp(all[i], LK_TABLE_METRICS))
            r->names[r->nnames++] = all[i];
    /* before start (new_one 0), a state.db that does not open is the supervisor's to report */
    if (lk_state_open(path, &r->st, &r->err)) return new_one ? LK_EXIT_FAILURE : LK_EXIT_OK;
    int found = 0;
    if (lk_state_meta_get(r->st, "query_id", r->app_id, sizeof r->app_id, &found, &r->err))
        return new_one ? LK_EXIT_FAILURE : LK_EXIT_OK;
    if (!found) {
        if (new_one)
            printf("replay: the pipeline has not committed anything yet: nothing to replay\n");
        return LK_EXIT_OK;
    }
    int64_t b;
    char *params = NULL;
    if (lk_state_replay_pending(r->st, &b, &params, &found, &r->err)) return LK_EXIT_FAILURE;
    if (found) {
        printf("replay: finishing replay batch %lld (interrupted)%s\n", (long long)b,
               new_one ? "; run replay again for new rows" : "");
        /* the stored params, not the command line's, decide what it re-injects */
        free(r->where);
        r->where = NULL;
        int rc = params_load(r, params);
        free(params);
        lk_sql_program_destroy(&r->prog);
        if (rc == 0 && !types_kept(r)) return LK_EXIT_CONFIG;
        if (rc == 0) rc = run_batch(r, b);
        if (rc) return LK_EXIT_FAILURE;
        return LK_EXIT_OK;
    }
    if (!new_one) return LK_EXIT_OK;
    if (!types_kept(r)) return LK_EXIT_CONFIG;
    if (!lk_fs_exists(r->qpath)) {
        printf("replay: no quarantine table (%s): nothing to replay\n", r->qpath);
        return LK_EXIT_OK;
    }
    r->tally = 1;
    if (plan(r, &b)) return LK_EXIT_FAILURE;
    r->tally = 0;
    /* rows the selection matched that no table here can take: said, never passed over */
    for (int k = 0; k < r->nleft; k++)
        printf("replay: %lld quarantined row(s) of table %s left in quarantine: %s\n",
               (long long)r->left_rows[k], r->left_table[k],
               !strcmp(r->left_table[k], LK_TABLE_METRICS)
                   ? "event_metrics turned them away after processed_events took them (it holds "
                     "them); a replay would write them twice"
                   : "this configuration has no such table with transforms (put it back to "
                     "replay them)");
    if (b < 0) {
        if (r->nleft)
            printf("replay: no quarantined row matches a table that can take it: nothing to "
                   "replay\n");
        else
            printf("replay: no quarantined row matches: nothing to replay\n");
        return LK_EXIT_OK;
    }
    if (run_batch(r, b)) return LK_EXIT_FAILURE;
    printf("replay: batch %lld committed\n", (long long)b);
    return LK_EXIT_OK;
}

static int with_lock(const lk_config *cfg, replay *r, int new_one)
{
    pid_t holder = 0;
    lk_error err = {0};
    int fd = lk_rundir_lock(cfg, &holder, &err);
    if (fd < 0 && !new_one) /* before start: the supervisor reports a running pipeline */
        return LK_EXIT_OK;
    if (fd < 0) {
        if (holder)
            fprintf(stderr,
                    "lakesupd replay: the pipeline is running (supervisor pid %d): stop it "
                    "first (lakesupd stop)\n",
                    (int)holder);
        else
            fprintf(stderr, "lakesupd replay: %s\n", err.msg);
        return LK_EXIT_TEMPFAIL;
    }
    int rc = go(r, new_one);
    if (rc) fprintf(stderr, "lakesupd replay: %s\n", r->err.msg);
    lk_sql_program_destroy(&r->prog);
    free(r->where);
    free_files(r);
    lk_state_close(&r->st);
    close(fd);
    return rc;
}

int lk_replay_resume(const lk_config *cfg)
{
    char path[2048];
    lk_config_state_path(cfg, path, sizeof path);
    if (!lk_fs_exists(path)) return LK_EXIT_OK;
    replay r = {.cfg = cfg, .since_us = INT64_MIN};
    return with_lock(cfg, &r, 0);
}

int lk_replay_cli(const lk_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"reason", required_argument, 0, 'r'}, {"since", required_argument, 0, 's'},
        {"where", required_argument, 0, 'w'},  {"config", required_argument, 0, 'c'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    replay r = {.cfg = cfg, .since_us = INT64_MIN};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (strcmp(optarg, "transform_error") && strcmp(optarg, LK_REASON_LATE) &&
                strcmp(optarg, LK_REASON_NO_EVENT_TIME)) {
                fprintf(stderr,
                        "lakesupd replay: --reason '%s' is not a reason of the quarantine "
                        "(transform_error, %s, %s)\n",
                        optarg, LK_REASON_LATE, LK_REASON_NO_EVENT_TIME);
                free(r.where);
                return LK_EXIT_USAGE;
            }
            snprintf(r.reason, sizeof r.reason, "%s", optarg);
            break;
        case 's':
            if (lk_time_parse_iso(optarg, strlen(optarg), &r.since_us)) {
                fprintf(stderr,
                        "lakesupd replay: --since '%s' is not an ISO timestamp such as "
                        "2026-11-24T09:30:00Z\n",
                        optarg);
                return LK_EXIT_USAGE;
            }
            break;
        case 'w':
            free(r.where);
            r.where = strdup(optarg);
            break;
        case 'c':
            break;
        case 'h':
            printf(
                "lakesupd replay [-c lakesup.yml] [--reason R] [--since TS] [--where EXPR]\n"
                "  re-injects quarantined rows (not replayed yet) into the table whose step\n"
                "  quarantined them and the tables fed from it, as a new batch, exactly once; the\n"
                "  pipeline must be stopped. --reason: only that reason (transform_error); "
                "--since: quarantined\n"
                "  at or after TS; --where: a SQL condition over the quarantine's columns\n"
                "  (record, reason, error, table, batch, quarantined_at, ...).\n");
            free(r.where);
            return LK_EXIT_OK;
        default:
            free(r.where);
            return LK_EXIT_USAGE;
        }
    }
    if (r.where) { /* refuse a bad condition before planning anything */
        lk_schema *qs = lk_transforms_quarantine_schema();
        lk_sql_program *p = lk_sql_program_new(qs);
        int reg;
        lk_error e = {0};
        int bad = lk_sql_program_compile(p, r.where, NULL, &reg, NULL, &e);
        lk_sql_program_destroy(&p);
        lk_schema_destroy(&qs);
        if (bad) {
            fprintf(stderr, "lakesupd replay: --where: %s\n", e.msg);
            free(r.where);
            return LK_EXIT_USAGE;
        }
    }
    return with_lock(cfg, &r, 1);
}
