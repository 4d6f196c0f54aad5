/*
 * lk_raw — the shape of a raw_events (bronze) row, which every reader of
 * formats/ produces: the data columns (inferred, hinted or given), then the
 * system columns
 *     _rescued_data STRING (may be renamed by rescued_data_column, or absent),
 *     _corrupt_record STRING,
 *     _metadata STRUCT<file_path STRING, file_name STRING, file_size LONG,
 *                      file_modification_time TIMESTAMP, file_offset LONG>
 * and the helpers the readers share to fill them. It is the one place that
 * knows the layout: ingest (schema evolution), the transform (silver), the
 * committer and the CLI find the system columns through it.
 */
#ifndef LK_RAW_H
#define LK_RAW_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lk_batch.h"
#include "lk_buf.h"
#include "lk_error.h"
#include "lk_schema.h"

#define LK_RAW_RESCUED "_rescued_data"
#define LK_RAW_CORRUPT "_corrupt_record"
#define LK_RAW_METADATA "_metadata"
#define LK_RAW_NEW_KEYS 8 /* new key names a lk_raw_stats keeps */

/* Where a chunk's rows come from: the _metadata of each row. */
typedef struct lk_source_meta {
    const char *file_path;
    const char *file_name;
    int64_t file_size;
    int64_t file_mtime_us;
} lk_source_meta;

/* _metadata.file_path of a source path: absolute (a relative path is joined to cwd, its
   "." segments and doubled slashes dropped; a URI such as kafka://t/0 is kept as it is),
   every byte that is not part of well-formed UTF-8, every control byte and '%' itself
   percent-encoded (%XX, upper case). The result is valid UTF-8 whatever the file name's
   bytes, so the Delta log that holds it in stats stays valid JSON, and percent-decoding
   gives the exact name back (as Auto Loader's URIs). NUL-terminated in out (reset). */
void lk_raw_file_path(const char *cwd, const char *path, lk_buf *out);

/* What a reader did with a chunk (added to by every parse call). */
typedef struct lk_raw_stats {
    int64_t rows;        /* rows appended (valid + corrupt) */
    int64_t corrupt;     /* rows with _corrupt_record */
    int64_t rescued;     /* rows with _rescued_data */
    int64_t empty_lines; /* skipped */
    int64_t dropped;     /* malformed lines dropped (DROPMALFORMED) */
    int64_t failed_line; /* FAILFAST: 1-based line in the chunk of the error */
    /* With lk_json_options.note_new_keys: keys that ingest's scan would find new — no column of
       their object has them, not even but for case; not escaped; not below a repeated key; at
       the top level not a system column's or the rescued column's name; in lines that parse —
       as dotted paths without array indices (the first LK_RAW_NEW_KEYS distinct ones, for the
       log), and their count (repeats included). new_key_line: the chunk's 1-based line of the
       first. */
    int64_t new_keys;
    int64_t new_key_line;
    int n_new_key_names;
    char new_key_names[LK_RAW_NEW_KEYS][128];
} lk_raw_stats;

/* raw_events schema from the data columns (new object), with the rescued
   data column _rescued_data. */
lk_schema *lk_raw_schema(const lk_schema *data);
/* The same with the rescued data column named rescued (rescued_data_column;
   NULL or "" = none). A renamed column carries the field comment
   "lakesupd rescued data", by which every stage finds it. Data columns
   named like a system column (or like rescued) are left out: such input
   keys are rescued. */
lk_schema *lk_raw_schema_opt(const lk_schema *data, const char *rescued);
/* Index of the rescued data column of a raw_events schema, or -1. */
int lk_raw_rescued_index(const lk_schema *raw);
/* The number of data columns of a raw_events schema (those before the
   rescued data column and _corrupt_record). */
int lk_raw_ndata(const lk_schema *raw);
/* The data columns of a raw_events schema, as a new schema. */
lk_schema *lk_raw_data_schema(const lk_schema *raw);
/* 1 if name is one of raw_events' own columns (_rescued_data,
   _corrupt_record, _metadata): such input keys are never data columns. */
int lk_raw_reserved(const char *name);

/* ---- filling rows (the CSV and text readers, the transform) ---- */
/* The number of data columns of a raw_events batch that ends with
   _rescued_data, _corrupt_record, _metadata, or a negative error. */
int lk_raw_batch_ndata(lk_batch *out, lk_error *err);
/* Appends one _metadata value. */
void lk_raw_append_meta(lk_col *meta_col, const lk_source_meta *meta, int64_t offset);
/* Appends a corrupt row (data columns and _rescued_data null, rec in
   _corrupt_record with invalid UTF-8 replaced) and ends it. */
void lk_raw_append_corrupt(lk_batch *out, int ndata, lk_buf *tmp, const char *rec, size_t n,
                           const lk_source_meta *meta, int64_t offset);

/* The line of data[*pos, len) that starts at *pos, without its "\n" or "\r\n": returns its
   start and sets *n; *pos moves past the newline. The record-per-line readers' one loop. */
static inline const char *lk_raw_next_line(const char *data, size_t len, size_t *pos, size_t *n)
{
    const char *line = data + *pos;
    const char *nl = memchr(line, '\n', len - *pos);
    size_t ln = nl ? (size_t)(nl - line) : len - *pos;
    *pos += ln + (nl ? 1 : 0);
    if (ln && line[ln - 1] == '\r') ln--;
    *n = ln;
    return line;
}

#endif
