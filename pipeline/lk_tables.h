/*
 * lk_tables — the pipeline's tables, and the bronze → silver step.
 *
 * raw_events (bronze) holds every input row as the readers of formats/
 * produce it (lk_raw: the data columns, then _rescued_data,
 * _corrupt_record, _metadata).
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

/* The tables the committer commits every batch to, in commit order
   (bronze first): what the committer, fsck and status walk. */
#define LK_TABLES_N 2
extern const char *const lk_tables_pipeline[LK_TABLES_N];

/* processed_events schema from a raw_events schema (new object). */
lk_schema *lk_tables_processed_schema(const lk_schema *raw);
/* Appends the silver rows of raw to out (schema = lk_tables_processed_schema
   of raw's schema). */
int lk_tables_to_processed(const lk_batch *raw, int64_t processed_at_us, lk_batch *out,
                           lk_error *err);

#endif
