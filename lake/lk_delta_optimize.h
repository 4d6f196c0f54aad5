/*
 * lk_delta_optimize — OPTIMIZE (bin-packing) of a Delta table: small files
 * of one partition are rewritten into files of about target_size bytes,
 * in one commit that removes the old files and adds the new ones with
 * dataChange=false (readers of the change feed and streaming readers skip
 * it). Files of different schemas (before and after a schema change) are
 * never mixed in one output file. The commit goes through the table's
 * optimistic concurrency: concurrent blind appends (the streaming job) do
 * not conflict; a concurrent commit that removed one of the same files
 * does, and nothing is committed (the new files are then removed).
 * Tables with deletion vectors enabled are refused.
 */
#ifndef LK_DELTA_OPTIMIZE_H
#define LK_DELTA_OPTIMIZE_H

#include <stdint.h>

#include "lk_delta.h"
#include "lk_parquet_writer.h"

typedef struct lk_delta_optimize_result {
    int files_removed, files_added;
    int64_t bytes_removed, bytes_added, rows;
    int64_t version; /* the OPTIMIZE commit, or -1 when there was nothing to do */
} lk_delta_optimize_result;

/* opt: codec and level of the new files (NULL: defaults). */
int lk_delta_optimize(lk_delta_table *t, int64_t target_size, const lk_pq_options *opt,
                      lk_delta_optimize_result *res, lk_error *err);

#endif
