/*
 * lk_tables — the pipeline's tables, as the configuration defines them.
 *
 * raw_events (bronze) holds every input row as the readers of formats/
 * produce it (lk_raw: the data columns, then _rescued_data,
 * _corrupt_record, _metadata).
 * processed_events (silver) = raw_events through the `transforms:` list
 *     (lk_transforms), then processed_at. Without the key the list is the
 *     default one (lk_config_defaults, shown by `lakesupd config show`),
 *     which is what silver always was: the rows without a _corrupt_record,
 *     ts cast to TIMESTAMP (unparseable → null, its text kept in
 *     _rescued_data) followed by event_date (its UTC day), the system
 *     columns dropped, every top-level struct flattened one level
 *     (device {os, version} → device_os, device_version), then
 *     _rescued_data and processed_at.
 * Each entry of `tables:` besides those two is a derived table fed from
 * its `from` table (raw_events, processed_events or another derived
 * table) through its own transforms, within the same batch.
 * event_metrics (the gold table, with `metrics:`) holds windowed
 * aggregates of processed_events (lk_gold, lk_windows): the transform's
 * share is a partial per chunk, the committer merges and writes it.
 * quarantine holds the rows a step with `on_error: quarantine` turned away
 * (lk_transforms_quarantine_schema) and, with metrics, the rows late for
 * the watermark or without an event time; it is a table of the pipeline
 * only when some step quarantines or metrics is configured.
 *
 * Every table here is committed once per batch with txn(appId, batch), in
 * the order of lk_tables_names.
 */
#ifndef LK_TABLES_H
#define LK_TABLES_H

#include <stdint.h>

#include "lk_batch.h"
#include "lk_config.h"
#include "lk_error.h"
#include "lk_schema.h"

#define LK_TABLE_RAW "raw_events"
#define LK_TABLE_PROCESSED "processed_events"
#define LK_TABLE_METRICS "event_metrics"
#define LK_TABLE_QUARANTINE "quarantine"

/* raw_events, processed_events, the derived tables, event_metrics, quarantine */
#define LK_TABLES_MAX (4 + LK_MAX_DERIVED)

/* The tables the committer commits every batch to, in commit order
   (bronze first, each derived table after the table it is fed from,
   quarantine last): what the committer, fsck and status walk. Returns
   their number. */
int lk_tables_names(const lk_config *cfg, const char *names[LK_TABLES_MAX]);

/* The first of table's partition_by columns that schema lacks, or NULL (none, or no
   partition_by). */
const char *lk_tables_partition_missing(const lk_config *cfg, const char *table,
                                        const lk_schema *schema);

/* The pipeline's tables compiled for one raw_events schema version. */
typedef struct lk_tables lk_tables;

/* Compiles every table's transforms for raw (errors name file, line, key
   and the position in the expression). */
int lk_tables_new(const lk_config *cfg, const lk_schema *raw, lk_tables **out, lk_error *err);
void lk_tables_destroy(lk_tables **t);
/* The tables in lk_tables_names order; table 0 is raw_events. */
int lk_tables_count(const lk_tables *t);
const char *lk_tables_name(const lk_tables *t, int i);
const lk_schema *lk_tables_schema(const lk_tables *t, int i);
/* The batch of table i (i >= 1) after lk_tables_run. */
lk_batch *lk_tables_batch(lk_tables *t, int i);
/* After lk_tables_run: where table i's rows came from. Returns the table they were taken from
   (0 is raw_events), or -1 (event_metrics, quarantine: rows of their own). *keep: byte r is 1 when
   row r of that table is one of i's rows (in order); *cols: per column of i, the column of that
   table whose values it holds at those rows, or -1 (computed). What lk_msg sends as a reference
   instead of the values. */
int lk_tables_lineage(const lk_tables *t, int i, const uint8_t **keep, const int **cols);
/* Lets each table that no other table, event_metrics or transform.dedupe reads leave its
   unchanged columns empty when a run drops rows (lk_transforms_defer; processed_events keeps
   "ts", which the transform worker reads): for the transform worker, whose message sends them
   as references. */
void lk_tables_defer(lk_tables *t, int on);
/* After lk_tables_run: 1 when table i's columns lk_tables_lineage names were left empty. */
int lk_tables_deferred(const lk_tables *t, int i);
/* Derives every table's rows of this chunk from raw (reset first). */
int lk_tables_run(lk_tables *t, const lk_batch *raw, int64_t now_us, int64_t batch, lk_error *err);
/* The table table i is fed from (0 is raw_events; processed_events, 1, is fed from it), or -1
   (raw_events, event_metrics, quarantine: no transforms of their own). */
int lk_tables_from(const lk_tables *t, int i);
/* lk_tables_run for the rows of one table's input only: in (a batch of the schema of entry's from
   table) through table entry's transforms and then the tables fed from it, and from those, in
   order; every other table's batch is empty. event_metrics runs when entry is processed_events.
   What `lakesupd replay` runs for rows a step of table entry quarantined: the tables above entry
   and beside it hold those rows already. */
int lk_tables_run_from(lk_tables *t, int entry, const lk_batch *in, int64_t now_us, int64_t batch,
                       lk_error *err);
/* event_metrics (metrics: configured): its index, or -1. Its batch after
   lk_tables_run is the chunk's partial window aggregates (lk_windows'
   partial schema); its schema is the table's. */
int lk_tables_metrics_index(const lk_tables *t);
struct lk_gold *lk_tables_metrics(lk_tables *t);
/* The watermark in force for the batch the next runs belong to (rows with
   an older event time are late); INT64_MIN = none yet. */
void lk_tables_set_watermark(lk_tables *t, int64_t watermark_us);
/* Rows of the last run turned away from event_metrics: late, no event time
   (both also counted by lk_tables_quarantined). */
int64_t lk_tables_late(const lk_tables *t);
int64_t lk_tables_no_event_time(const lk_tables *t);
/* transform.dedupe (lk_dedupe): the rows the next runs drop as duplicates
   before processed_events feeds anything (their indices among the chunk's
   raw rows, ascending; borrowed until the next call) and the chunk's
   identity (lk_dedupe_chunk_src); after a run, the chunk's key list (NULL
   without dedupe; its rows named by raw row index) and the rows dropped. */
void lk_tables_set_drops(lk_tables *t, const int32_t *rows, int n, int64_t src);
lk_batch *lk_tables_dedupe_keys(lk_tables *t);
int64_t lk_tables_dropped(const lk_tables *t);
/* Rows of the last run that went to quarantine, and that were rescued. */
int64_t lk_tables_quarantined(const lk_tables *t);
int64_t lk_tables_rescued(const lk_tables *t);

/* The check `lakesupd start` makes before any worker: with raw (the
   stored or declared raw_events schema) every table compiles; without one
   (the first start infers it from the data) every expression parses and
   names only known functions. 0, or LK_ECONFIG naming file, line, key and
   position. */
int lk_tables_check(const lk_config *cfg, const lk_schema *raw, lk_error *err);
/* With raw known: lk_tables_check's compile (the same errors), then each table the transforms make
   (processed_events, the tables of tables:, and event_metrics from metrics:) whose Delta table
   exists keeps the type of every column it already has. A transform edited into
   another type (a cast, or an expression that computes differently) would commit a schema whose
   old files no Delta reader can read as the new type: refused, naming the table, the column, both
   types and the transforms (or metrics) key. 0, or LK_ECONFIG. A table that does not open is left to the
   committer, which reports it. */
int lk_tables_check_types(const lk_config *cfg, const lk_schema *raw, lk_error *err);
/* The same test for one table: every column of ours that cur (the table's schema) has keeps its
   type (structs field by field by name; nullability aside). metrics: the table is event_metrics
   (the message names metrics.* keys). 0, or LK_ECONFIG with the message above. The committer
   runs it before it commits a batch, for what start cannot see (a new checkpoint_path over
   existing tables, a step that compiles only once a new column arrives). */
int lk_tables_kept_types(const lk_config *cfg, const char *name, int metrics,
                         const lk_schema *cur, const lk_schema *ours, lk_error *err);

/* processed_events' schema for a raw_events schema under the default
   transforms (new object); and its rows (for tests and tools). */
lk_schema *lk_tables_processed_schema(const lk_schema *raw);
int lk_tables_to_processed(const lk_batch *raw, int64_t processed_at_us, lk_batch *out,
                           lk_error *err);

#endif
