/*
 * lk_tables — the pipeline's table schemas and the bronze → silver step.
 *
 * raw_events (bronze) = the inferred data columns, then
 *     _rescued_data STRING, _corrupt_record STRING,
 *     _metadata STRUCT<file_path STRING, file_name STRING, file_size LONG,
 *                      file_modification_time TIMESTAMP, file_offset LONG>
 * processed_events (silver) = the rows of raw_events without a
 *     _corrupt_record: the data columns, with
 *       ts (a string column) cast to TIMESTAMP (unparseable → null, and the
 *         original text kept in _rescued_data), followed by event_date DATE
 *         (the UTC day of ts: the natural partition column),
 *       every top-level struct column flattened one level
 *         (device {os, version} → device_os, device_version),
 *     then _rescued_data and processed_at TIMESTAMP (the transform's clock).
 * This is the one place the silver rules live; configurable transforms
 * replace it later.
 */
#ifndef LK_TABLES_H
#define LK_TABLES_H

#include <stdint.h>

#include "lk_batch.h"
#include "lk_error.h"
#include "lk_schema.h"

#define LK_TABLE_RAW "raw_events"
#define LK_TABLE_PROCESSED "processed_events"
#define LK_TABLE_METRICS "event_metrics"

/* raw_events schema from the inferred data schema (new object). */
lk_schema *lk_tables_raw_schema(const lk_schema *data);
/* The same with the rescued data column named rescued (rescued_data_column;
   NULL or "" = none). A renamed column carries the field comment
   "lakesupd rescued data", by which every stage finds it. */
lk_schema *lk_tables_raw_schema_opt(const lk_schema *data, const char *rescued);
/* Index of the rescued data column of a raw_events schema, or -1. */
int lk_tables_rescued_index(const lk_schema *raw);
/* The data columns of a raw_events schema (those before _rescued_data /
   _corrupt_record), as a new schema. */
lk_schema *lk_tables_data_schema(const lk_schema *raw);
/* 1 if name is one of raw_events' own columns (_rescued_data,
   _corrupt_record, _metadata): such input keys are never data columns. */
int lk_tables_reserved(const char *name);
/* processed_events schema from a raw_events schema (new object). */
lk_schema *lk_tables_processed_schema(const lk_schema *raw);
/* Appends the silver rows of raw to out (schema = lk_tables_processed_schema
   of raw's schema). */
int lk_tables_to_processed(const lk_batch *raw, int64_t processed_at_us, lk_batch *out,
                           lk_error *err);

#endif
