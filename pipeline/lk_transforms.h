/*
 * lk_transforms — a transforms list (lakesup.yml `transforms:`, or a
 * derived table's) compiled for one input schema, and run over batches.
 *
 * Compiling walks the steps with a scope (the columns as they stand after
 * each step: name → register of one lk_sql program) so that every
 * expression of the list, over whatever columns earlier steps made, is one
 * instruction list over the input batch:
 *   filter   a boolean expression; rows where it is not true are dropped
 *   derive   name: expression, in order (each sees the ones before it); a
 *            name in scope is replaced in place, a new one goes after
 *            `after:` or before the system columns (_rescued_data, ...)
 *   select   expressions (`expr AS name`, a column, `*`): the new scope
 *   drop     names (a missing name is no error: schemas evolve)
 *   rename   old: new
 *   cast     name: type, as CAST(name AS type)
 *   flatten  "*" or names: each struct column → its fields as name_field
 *            (a name already in scope wins), one level
 * Running evaluates the program once over the batch (column at a time),
 * then walks the steps' masks: rows failing a step whose on_error is
 * quarantine leave for the quarantine batch, rows failing under rescue keep
 * the column null and gain {"name": old value} in _rescued_data, then the
 * filters drop rows. Surviving rows are copied in runs to the output. The
 * list's leading filters are a program of their own, run first: the rest
 * runs over the rows they kept only (a gathered view of the columns it
 * reads), as Spark runs a projection above a filter.
 * An error names the file, line and key of the step and the position in
 * the expression: lakesup.yml:7: key 'transforms[1].derive.amount_eur':
 * position 7: unknown column 'amout' (columns: ...).
 */
#ifndef LK_TRANSFORMS_H
#define LK_TRANSFORMS_H

#include <stdint.h>

#include "lk_batch.h"
#include "lk_config.h"
#include "lk_error.h"
#include "lk_schema.h"

typedef struct lk_transforms lk_transforms;

typedef struct lk_transforms_opts {
    const char *table;        /* the table the list builds (messages, quarantine rows) */
    const char *key;          /* "transforms", "tables.purchases.transforms" */
    const char *rescued;      /* the rescued data column's name, or NULL */
    int silver; /* processed_events: the rows without _corrupt_record, the list, then
                   _corrupt_record and _metadata left out and processed_at added */
    const lk_name_list *keep; /* partition columns: kept from the input when a select drops them */
} lk_transforms_opts;

int lk_transforms_compile(const lk_config *cfg, lk_step_list list, const lk_schema *input,
                          const lk_transforms_opts *o, lk_transforms **out, lk_error *err);
void lk_transforms_destroy(lk_transforms **t);
/* The output schema. */
const lk_schema *lk_transforms_schema(const lk_transforms *t);
/* Evaluates the list over in and appends the surviving rows to out (the
   output schema) and the quarantined ones to q (lk_transforms_quarantine_schema;
   NULL when no step quarantines). batch: the micro-batch id written with
   quarantined rows. 0 or an error. */
int lk_transforms_run(lk_transforms *t, const lk_batch *in, int64_t now_us, int64_t batch,
                      lk_batch *out, lk_batch *q, lk_error *err);
/* After a run: byte i is 1 when input row i reached the output (the
   output's rows are those rows, in order). */
const uint8_t *lk_transforms_kept(const lk_transforms *t);
/* After a run into an empty out: per output column, the input column whose values it holds at
   the kept rows (a column the list named, renamed or selected unchanged), or -1 (computed). */
const int *lk_transforms_sources(const lk_transforms *t);
/* Lets a run that drops rows leave empty the output columns lk_transforms_sources names (an
   input column unchanged), when nothing but the message encoder reads them: it sends them as
   references to the input's kept rows, and the writer gathers them (lk_msg_part.deferred). keep:
   an output column's name filled all the same (the transform worker reads processed_events'
   "ts"), or NULL. Off by default: replay and the committer read every column. */
void lk_transforms_defer(lk_transforms *t, int on, const char *keep);
/* After a run: 1 when it left such columns empty (their length 0, the batch's rows set). */
int lk_transforms_deferred(const lk_transforms *t);
/* Rows the last run quarantined, and rows it rescued. */
int64_t lk_transforms_quarantined(const lk_transforms *t);
int64_t lk_transforms_rescued(const lk_transforms *t);

/* The quarantine table's schema (issue 12's columns, and ours):
     record STRING       the row's data columns as JSON
     reason STRING       transform_error (issue 12 adds late, no_event_time)
     error STRING        the step that failed: "transforms[1].derive.amount_eur"
     table STRING        the table the row did not reach
     _metadata STRUCT    the row's source (raw_events' _metadata), if it has one
     watermark TIMESTAMP null until watermarks exist
     batch LONG          the micro-batch that quarantined it
     quarantined_at TIMESTAMP  when (the transform's clock; replay --since)
     replayed_in_batch LONG  the batch `lakesupd replay` re-injected it in, or null */
lk_schema *lk_transforms_quarantine_schema(void);
#define LK_Q_RECORD 0
#define LK_Q_REASON 1
#define LK_Q_ERROR 2
#define LK_Q_TABLE 3
#define LK_Q_METADATA 4
#define LK_Q_WATERMARK 5
#define LK_Q_BATCH 6
#define LK_Q_AT 7
#define LK_Q_REPLAYED 8

#endif
