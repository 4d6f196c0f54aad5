/* lk_delta_optimize — bin-packing compaction; see lk_delta_optimize.h. */
#include "lk_delta_optimize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_buf.h"
#include "lk_fs.h"
#include "lk_parquet_reader.h"
#include "lk_time.h"

typedef struct cand {
    const lk_delta_file *f;
    char full[4200];
    lk_schema *schema; /* the file's schema (from its footer) */
    int bin;
} cand;

static int by_partition_then_size(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    int c = strcmp(x->f->partition_values_json ? x->f->partition_values_json : "{}",
                   y->f->partition_values_json ? y->f->partition_values_json : "{}");
    if (c)
        return c;
    return x->f->size < y->f->size ? -1 : x->f->size > y->f->size;
}

/* The directory part of a log path (decoded), with a trailing '/', or "". */
static void dir_of(const char *log_path, lk_buf *out)
{
    lk_buf tmp = LK_BUF_INIT;
    lk_delta_url_decode(log_path, &tmp);
    lk_buf_putc(&tmp, '\0');
    const char *slash = strrchr(tmp.data, '/');
    if (slash)
        lk_buf_append(out, tmp.data, (size_t)(slash - tmp.data) + 1);
    lk_buf_free(&tmp);
}

/* Writes the files of bin b into one new file; fills path/size/stats. */
static int write_bin(lk_delta_table *t, cand *c, int n, int b, const lk_pq_options *opt,
                     lk_buf *rel, lk_pq_file_info *info, lk_pq_writer **wp, lk_error *err)
{
    const cand *first = NULL;
    for (int i = 0; i < n && !first; i++)
        if (c[i].bin == b)
            first = &c[i];
    char uuid[40];
    lk_fs_uuid4(uuid, sizeof uuid);
    lk_buf_reset(rel);
    dir_of(first->f->path, rel);
    lk_buf_printf(rel, "part-00000-%s.c000.%s.parquet", uuid,
                  opt->codec == LK_PQ_UNCOMPRESSED ? "uncompressed" : lk_pq_codec_name(opt->codec));
    lk_buf_putc(rel, '\0');
    char full[4400];
    snprintf(full, sizeof full, "%s/%s", lk_delta_path(t), rel->data);
    *wp = lk_pq_writer_new(first->schema, opt);
    int rc = lk_pq_writer_open(*wp, full, err);
    lk_batch *batch = NULL;
    for (int i = 0; i < n && rc == 0; i++) {
        if (c[i].bin != b)
            continue;
        lk_pq_reader *r = NULL;
        if ((rc = lk_pq_reader_open(c[i].full, &r, err)))
            break;
        for (int g = 0; g < lk_pq_reader_num_row_groups(r) && rc == 0; g++) {
            rc = lk_pq_reader_read_row_group(r, g, NULL, 0, &batch, err);
            if (rc == 0)
                rc = lk_pq_writer_write(*wp, batch, err);
        }
        lk_batch_destroy(&batch);
        lk_pq_reader_destroy(&r);
    }
    if (rc == 0)
        rc = lk_pq_writer_close(*wp, info, err);
    if (rc)
        lk_pq_writer_abort(*wp);
    return rc;
}

int lk_delta_optimize(lk_delta_table *t, int64_t target_size, const lk_pq_options *opt_in,
                      lk_delta_optimize_result *res, lk_error *err)
{
    memset(res, 0, sizeof *res);
    res->version = -1;
    lk_pq_options opt;
    if (opt_in)
        opt = *opt_in;
    else
        lk_pq_options_default(&opt);
    if (lk_delta_version(t) < 0)
        return lk_error_set(err, LK_ENOTFOUND, "%s: not a Delta table (no commit)", lk_delta_path(t));
    const char *dv = lk_delta_property(t, "delta.enableDeletionVectors");
    if (dv && !strcmp(dv, "true"))
        return lk_error_set(err, LK_EUNSUPPORTED,
                            "%s: OPTIMIZE of a table with deletion vectors is not supported",
                            lk_delta_path(t));
    int nf = lk_delta_nfiles(t), n = 0;
    cand *c = calloc((size_t)nf + 1, sizeof *c);
    if (!c)
        abort();
    lk_buf rel = LK_BUF_INIT;
    int rc = 0;
    /* candidates: files below the target, with their schemas */
    for (int i = 0; i < nf && rc == 0; i++) {
        const lk_delta_file *f = lk_delta_file_at(t, i);
        if (f->size >= target_size || (f->deletion_vector_json && *f->deletion_vector_json))
            continue;
        lk_buf_reset(&rel);
        lk_delta_url_decode(f->path, &rel);
        lk_buf_putc(&rel, '\0');
        cand *k = &c[n];
        k->f = f;
        snprintf(k->full, sizeof k->full, "%s/%s", lk_delta_path(t), rel.data);
        lk_pq_reader *r = NULL;
        if ((rc = lk_pq_reader_open(k->full, &r, err)))
            break;
        k->schema = lk_schema_clone(lk_pq_reader_schema(r));
        lk_pq_reader_destroy(&r);
        n++;
    }
    /* bins: per partition and schema, greedily up to the target size */
    int nbins = 0;
    if (rc == 0) {
        qsort(c, (size_t)n, sizeof *c, by_partition_then_size);
        int bin_start = -1;
        int64_t bin_bytes = 0;
        for (int i = 0; i < n; i++) {
            int same = bin_start >= 0 &&
                       !strcmp(c[i].f->partition_values_json ? c[i].f->partition_values_json : "{}",
                               c[bin_start].f->partition_values_json
                                   ? c[bin_start].f->partition_values_json
                                   : "{}") &&
                       lk_schema_equal(c[i].schema, c[bin_start].schema) &&
                       bin_bytes + c[i].f->size <= target_size;
            if (!same) {
                bin_start = i;
                bin_bytes = 0;
                nbins++;
            }
            c[i].bin = nbins - 1;
            bin_bytes += c[i].f->size;
        }
    }
    /* a bin of one file is left alone */
    int *count = calloc((size_t)nbins + 1, sizeof *count);
    for (int i = 0; i < n; i++)
        count[c[i].bin]++;
    lk_delta_commit *dc = NULL;
    char **written = calloc((size_t)nbins + 1, sizeof *written);
    int nwritten = 0;
    for (int b = 0; b < nbins && rc == 0; b++) {
        if (count[b] < 2)
            continue;
        if (!dc)
            dc = lk_delta_commit_new(t, "OPTIMIZE");
        lk_pq_file_info info;
        lk_pq_writer *w = NULL;
        rc = write_bin(t, c, n, b, &opt, &rel, &info, &w, err);
        if (rc == 0) {
            written[nwritten++] = strdup(rel.data);
            lk_buf stats = LK_BUF_INIT;
            lk_delta_stats_json(&info, &stats);
            lk_buf_putc(&stats, '\0');
            const cand *first = NULL;
            for (int i = 0; i < n && !first; i++)
                if (c[i].bin == b)
                    first = &c[i];
            const char *pv = first->f->partition_values_json;
            if (pv && strcmp(pv, "{}"))
                lk_delta_commit_add_file_partitioned(dc, rel.data, pv, info.file_size,
                                                     lk_time_now_ms(), stats.data, 0);
            else
                lk_delta_commit_add_file(dc, rel.data, info.file_size, lk_time_now_ms(),
                                         stats.data, 0);
            lk_buf_free(&stats);
            res->files_added++;
            res->bytes_added += info.file_size;
            res->rows += info.num_rows;
            for (int i = 0; i < n; i++) {
                if (c[i].bin != b)
                    continue;
                lk_delta_commit_remove_file(dc, c[i].f->path, 0);
                res->files_removed++;
                res->bytes_removed += c[i].f->size;
            }
        }
        lk_pq_writer_destroy(&w);
    }
    if (rc == 0 && dc) {
        char param[64];
        snprintf(param, sizeof param, "%lld", (long long)target_size);
        lk_delta_commit_set_param(dc, "targetSize", param);
        lk_delta_commit_set_param(dc, "predicate", "[]");
        rc = lk_delta_commit_run(dc, &res->version, err);
    }
    if (rc) {
        /* nothing was committed: the new files are garbage, removed now */
        for (int i = 0; i < nwritten; i++) {
            char full[4400];
            snprintf(full, sizeof full, "%s/%s", lk_delta_path(t), written[i]);
            unlink(full);
        }
        res->version = -1;
    }
    for (int i = 0; i < nwritten; i++)
        free(written[i]);
    free(written);
    lk_delta_commit_destroy(&dc);
    free(count);
    for (int i = 0; i < n; i++)
        lk_schema_destroy(&c[i].schema);
    free(c);
    lk_buf_free(&rel);
    return rc;
}
