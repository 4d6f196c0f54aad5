/*
 * lk_partition — Hive-style partitioning of record batches for Delta
 * tables (`partition_by` in the configuration).
 *
 * A partitioner splits a batch by the values of its partition columns into
 * one batch per distinct value tuple, without the partition columns (Delta
 * keeps them out of the data files: readers fill them from the add
 * action's partitionValues). For each part it gives the partitionValues
 * JSON, serialised as the Delta protocol says ({"event_date":"2026-11-24"};
 * null for a null value), and the Hive directory ("event_date=2026-11-24",
 * escaped by lk_delta_partition_dir). Part batches are reused across splits.
 * Partition columns must be top-level primitive columns.
 */
#ifndef LK_PARTITION_H
#define LK_PARTITION_H

#include "lk_batch.h"
#include "lk_error.h"
#include "lk_schema.h"

typedef struct lk_partitioner lk_partitioner;

/* For batches of schema, partitioned by cols (n >= 1). LK_ECONFIG names a
   column that is missing or not primitive. */
int lk_partitioner_new(const lk_schema *schema, const char *const *cols, int n,
                       lk_partitioner **out, lk_error *err);
void lk_partitioner_destroy(lk_partitioner **p);

/* The schema of the data files: schema without the partition columns. */
const lk_schema *lk_partitioner_data_schema(const lk_partitioner *p);

/* Splits b (of the partitioner's schema); returns the number of parts. */
int lk_partitioner_split(lk_partitioner *p, const lk_batch *b);
const lk_batch *lk_partitioner_part(const lk_partitioner *p, int i);
const char *lk_partitioner_values_json(const lk_partitioner *p, int i);
/* The partition's folder below the table: "col=value[/col2=value2...]", each value
   escaped (lk_delta_partition_dir_n) and the whole at most LK_PARTITION_PATH_MAX bytes
   however long or hostile the values are. */
#define LK_PARTITION_PATH_MAX 400
const char *lk_partitioner_dir(const lk_partitioner *p, int i);

/* The protocol's text of a partition value (row i of c): dates
   "2026-11-24", timestamps "2026-11-24T09:30:00.123456Z" (UTC; without a
   zone for timestamp_ntz), numbers in
   decimal, booleans "true"/"false", strings as they are. 0, or -1 when
   the value is null. */
int lk_partition_value_text(const lk_col *c, uint32_t i, lk_buf *out);

#endif
