/*
 * lk_text_reader — format: text, and the records of multi_line JSON
 * documents.
 *
 * Text: one row per line (LF or CRLF; an empty line is a row with an empty
 * value, as Spark's text source), the line in the `value` STRING column
 * (the first data column of the raw_events schema; invalid UTF-8 replaced
 * by U+FFFD), plus the system columns. A line of max_record_size bytes or
 * more is a corrupt record: value null, its first max_record_size bytes in
 * _corrupt_record.
 */
#ifndef LK_TEXT_READER_H
#define LK_TEXT_READER_H

#include <stddef.h>
#include <stdint.h>

#include "lk_batch.h"
#include "lk_buf.h"
#include "lk_error.h"
#include "lk_raw.h"

/* Appends one row per line of data (whole lines; base_offset is the
   offset of data[0]). Returns 0. */
int lk_text_reader_parse(const char *data, size_t len, const lk_source_meta *meta,
                         int64_t base_offset, size_t max_record_size, lk_batch *out,
                         lk_raw_stats *st, lk_buf *tmp, lk_error *err);

/* multi_line json: calls fn for every record of a whole-file document —
   the document itself, or each element of a top-level array — with the
   record's text on one line (raw newlines, legal only as whitespace in
   JSON, become spaces; copied into tmp) and its offset in data. Returns
   the number of records. */
typedef void (*lk_text_doc_fn)(void *ctx, const char *rec, size_t n, size_t offset);
long lk_text_json_doc(const char *data, size_t len, lk_buf *tmp, lk_text_doc_fn fn, void *ctx);

#endif
