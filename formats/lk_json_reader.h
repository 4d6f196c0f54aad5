/*
 * lk_json_reader — parses a chunk of JSON lines into a raw_events batch.
 *
 * The batch's schema is the raw_events schema (lk_raw_schema): the
 * data columns, then _rescued_data, _corrupt_record and _metadata. Per
 * non-empty line it appends exactly one row:
 *   - a JSON object: each key goes to its column with Spark's PERMISSIVE
 *     coercions (integer → long/double columns; any scalar → string column
 *     as its JSON text; object → struct, recursively). A value that does not
 *     fit its column (e.g. "abc" for a long), and a key the schema does not
 *     have, go into _rescued_data as a JSON object {"key": value, ...,
 *     "_file_path": "..."}; the column stays null. Nothing is lost.
 *   - anything else (syntax error, array, scalar, trailing garbage, invalid
 *     UTF-8): every column null, the whole line in _corrupt_record.
 * _metadata is filled from meta on every row (file_offset = offset of line).
 * Empty (or whitespace-only) lines produce no row. CRLF is accepted.
 * The rescued data column is the one lk_raw_rescued_index finds (it may
 * be renamed, or absent: then what does not fit is not kept). Options:
 * mode DROPMALFORMED drops malformed lines, FAILFAST makes the first one an
 * error; drop_unknown drops keys no column has (case-mismatched keys are
 * still rescued). A DECIMAL column takes numbers and numeric strings that
 * fit exactly.
 * The parser is yajl's event API (chosen by measurement: docs/decisions.md).
 */
#ifndef LK_JSON_READER_H
#define LK_JSON_READER_H

#include <stddef.h>

/* The deepest nesting a line may have (objects and arrays, the line's own object counted): a
   deeper line is a corrupt record, and schema inference skips it. */
#define LK_JSON_MAX_NESTING 64
#include <stdint.h>

#include "lk_batch.h"
#include "lk_error.h"
#include "lk_raw.h"

typedef enum lk_json_mode {
    LK_JSON_PERMISSIVE = 0, /* malformed lines → _corrupt_record */
    LK_JSON_DROPMALFORMED,  /* malformed lines dropped (counted) */
    LK_JSON_FAILFAST,       /* the first malformed line is an error */
} lk_json_mode;

typedef struct lk_json_options {
    lk_json_mode mode;
    int drop_unknown; /* schema_evolution_mode none: unknown keys dropped, not rescued */
    int note_new_keys; /* keys no column has (nor but for case) are noted in the stats'
                          new_keys (lk_raw_stats), for schema evolution */
} lk_json_options;

typedef struct lk_json_reader lk_json_reader;

lk_json_reader *lk_json_reader_new(void);
void lk_json_reader_destroy(lk_json_reader **r);
/* Defaults: PERMISSIVE, unknown keys rescued. */
void lk_json_reader_set_options(lk_json_reader *r, const lk_json_options *opt);

/* on = 1 (default): lines go through a strict scanner first and only the
   lines it gives up on through yajl; 0: every line through yajl. The
   output is the same either way (tests compare the two). */
void lk_json_reader_set_fast(lk_json_reader *r, int on);

/* Appends the rows of data (whole lines) to out, whose schema must be a
   raw_events schema. base_offset is the file offset of data[0]. Stats are
   added to st. Returns 0 (malformed lines are data, not errors). */
int lk_json_reader_parse(lk_json_reader *r, const char *data, size_t len,
                         const lk_source_meta *meta, int64_t base_offset, lk_batch *out,
                         lk_raw_stats *st, lk_error *err);

#endif
