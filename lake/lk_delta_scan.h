/*
 * lk_delta_scan — the rows of a Delta snapshot, as the table defines them:
 * every live file read with lk_parquet_reader, partition columns filled in
 * from partitionValues (typed by the schema), column mapping (name and id
 * modes: Parquet columns carry physical names) mapped back to the logical
 * names, rows deleted by a deletion vector skipped, and columns a file
 * lacks (added later by schema evolution) read as null.
 *
 * Rows come out as JSON objects (lk_rowjson's value formats, logical column
 * names as keys, in schema or requested order): what `lakesupd table read`
 * prints and what tests compare with Spark's expected rows.
 */
#ifndef LK_DELTA_SCAN_H
#define LK_DELTA_SCAN_H

#include "lk_buf.h"
#include "lk_delta.h"
#include "lk_error.h"

typedef struct lk_delta_scan lk_delta_scan;

/* A scan of t's snapshot (t must outlive it). columns: comma-separated
   top-level column names, or NULL for all; an unknown name is LK_ENOTFOUND
   naming it. */
int lk_delta_scan_new(const lk_delta_table *t, const char *columns, lk_delta_scan **out,
                      lk_error *err);
void lk_delta_scan_destroy(lk_delta_scan **s);

/* The output columns, in order. */
int lk_delta_scan_ncols(const lk_delta_scan *s);
const lk_field *lk_delta_scan_col(const lk_delta_scan *s, int i);

/* Appends the next row as a JSON object to out. Returns 1 (a row), 0 (no
   more rows) or a negative error naming the data file. */
int lk_delta_scan_next(lk_delta_scan *s, lk_buf *out, lk_error *err);

/* Appends the next row's values to vals[0..ncols) as JSON texts (each in
   its own buffer, reset first). Same returns as lk_delta_scan_next. */
int lk_delta_scan_next_values(lk_delta_scan *s, lk_buf *vals, lk_error *err);

#endif
