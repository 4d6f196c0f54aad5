/*
 * lk_csv_reader — format: csv, a chunk of whole records → raw_events rows.
 *
 * Hand-written (not libcsv: docs/decisions.md): RFC 4180 with Spark's
 * options — sep, quote (a quote opens a quoted field only at the start of a
 * field; "" inside it is a literal quote), escape (escape+quote or
 * escape+escape inside a quoted field is the literal byte), comment (a
 * record starting with it is skipped), null_value (an UNQUOTED field equal
 * to it is null; default "": empty fields are null, "" quoted is an empty
 * string), header (the first record of a file names the columns and is
 * not a row; an empty unquoted field of a non-string column is null too).
 * Quoted fields may hold newlines; CRLF and blank lines are
 * accepted (blank lines are skipped).
 *
 * With header on, columns map by the file's header names (each file may
 * order, lack or add columns): a data column the file has no name for is
 * null; a name the schema lacks (schema_evolution_mode rescue, or a
 * duplicate name) goes to _rescued_data, or is dropped under `none` (under
 * add_new_columns ingest has added it to the schema before the chunk was
 * sent). Names match exactly (a name equal to a column but for case is
 * rescued, as a JSON key). Without a header, columns map by position.
 * A value that does not parse as its column's type (long, int, double,
 * float, boolean, timestamp) leaves the column null and goes to
 * _rescued_data as {"col":"text",...,"_file_path":...}. A record with a
 * number of fields other than its header's (without header: the data
 * columns'), an unterminated quote, a byte after a closing
 * quote, or max_record_size bytes or more is a corrupt row: the whole
 * record (its first max_record_size bytes) in _corrupt_record.
 */
#ifndef LK_CSV_READER_H
#define LK_CSV_READER_H

#include <stddef.h>
#include <stdint.h>

#include "lk_batch.h"
#include "lk_error.h"
#include "lk_infer.h"
#include "lk_raw.h"

typedef struct lk_csv_reader lk_csv_reader;

/* The CSV dialect and options (the source.* keys of the same names). */
typedef struct lk_csv_options {
    int sep;                /* the separator byte (',') */
    int quote, escape;      /* the bytes, or -1 for none */
    int comment;            /* a record starting with this byte is skipped, or -1 */
    int header;             /* the first record of a file names the columns */
    char null_value[64];    /* an unquoted field equal to it is null */
    size_t max_record_size; /* longer records are corrupt */
    int drop_unknown;       /* header names the schema lacks are dropped, not rescued */
} lk_csv_options;

lk_csv_reader *lk_csv_reader_new(const lk_csv_options *o);
void lk_csv_reader_destroy(lk_csv_reader **r);

/* The header record of a file: the first record of data (the head of the
   file) that is not blank or a comment, as [*start, *end) in data without
   its line end. 1 if found, 0 if data has no record. */
int lk_csv_reader_header(lk_csv_reader *r, const char *data, size_t len, size_t *start,
                         size_t *end);
/* Sets the header record (raw bytes, as found by lk_csv_reader_header)
   of the file the next chunks come from: lk_csv_reader_parse then maps
   columns by these names. len 0: by position. Returns the number of names. */
int lk_csv_reader_set_header(lk_csv_reader *r, const char *rec, size_t len);
/* The names of the header set, NUL-separated (an empty name as _c<i>); *n
   of them. */
const char *lk_csv_reader_header_names(const lk_csv_reader *r, int *n);

/* Appends the rows of data (whole records) to out (a raw_events batch).
   file_start: data begins the file (its first record is the header when
   header is on). base_offset is the decompressed offset of data[0]. */
int lk_csv_reader_parse(lk_csv_reader *r, const char *data, size_t len, int file_start,
                        const lk_source_meta *meta, int64_t base_offset, lk_batch *out,
                        lk_raw_stats *st, lk_error *err);

/* Schema inference: feeds every well-formed record of data (the head of a
   file when file_start) to inf as an object whose keys are the header's
   names (or _c0, _c1, ... as Spark) and whose values are typed the way
   Spark's CSV inference does: an integer → long, another number → double,
   true/false → boolean, null_value → null, anything else → string
   (lk_infer's widening then gives "every sampled value parses, else
   string"). Returns the number of records fed. */
long lk_csv_reader_infer(lk_csv_reader *r, lk_infer *inf, const char *data, size_t len,
                         int file_start);

/* lk_infer_result(inf) with the string columns whose every sampled value
   (fed by lk_csv_reader_infer) is an ISO 8601 timestamp with a time part
   made TIMESTAMP — except `ts`, which stays a string so that the silver
   rule (lk_tables: ts → TIMESTAMP plus event_date) is the same for CSV and
   JSON. New object, or NULL if nothing was fed. */
lk_schema *lk_csv_reader_infer_result(const lk_csv_reader *r, const lk_infer *inf);

#endif
