/*
 * lk_parser — one chunk of whole records → raw_events rows, whatever the
 * source's format: the one entry point the transform calls.
 *
 * It holds a reader per format (lk_json_reader, lk_csv_reader,
 * lk_text_reader) and picks by the format given at creation:
 *   json        JSON lines; with multi_line each whole-file document (or
 *               each element of a top-level array) is one record;
 *   csv         records mapped to columns by the file's header names, when
 *               the chunk carries the header, else by position;
 *   text        one row per line, in `value`;
 *   kafka       JSON lines framed by lk_kafka_record: corrupt values keep
 *               their Kafka columns.
 * A chunk that ingest cut at max_record_size (no record end in it) is one
 * corrupt row holding its first max_record_size bytes, in every format.
 */
#ifndef LK_PARSER_H
#define LK_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "lk_batch.h"
#include "lk_csv_reader.h"
#include "lk_error.h"
#include "lk_json_reader.h"
#include "lk_raw.h"
#include "lk_source_reader.h"

typedef struct lk_parser_options {
    lk_source_format format;
    int multi_line;         /* json: whole-file documents */
    int kafka;              /* records are Kafka lines (lk_kafka_record) */
    size_t max_record_size; /* a longer record is corrupt */
    lk_json_options json;
    lk_csv_options csv;
} lk_parser_options;

/* One chunk: data[0, len) holds whole records, data[0] at offset `offset`
   of the (decompressed) file; file_start: data begins the file (its first
   record is a CSV header); header: the CSV header record of the file, or
   NULL (columns by position). */
typedef struct lk_parser_chunk {
    const char *data;
    size_t len;
    int64_t offset;
    int file_start;
    const char *header;
    size_t header_len;
} lk_parser_chunk;

typedef struct lk_parser lk_parser;

lk_parser *lk_parser_new(const lk_parser_options *o);
void lk_parser_destroy(lk_parser **p);

/* Appends the rows of c to *out (a raw_events batch of the chunk's schema
   version; *out may be swapped for a batch the parser owns, which the
   caller then uses and resets as its own until lk_parser_schema_changed).
   Stats are added to st. Returns 0 (malformed records are data), or a
   negative error: FAILFAST's first malformed record (st->failed_line
   names it), or a batch that is not a raw_events batch. */
int lk_parser_parse(lk_parser *p, const lk_parser_chunk *c, const lk_source_meta *meta,
                    lk_batch **out, lk_raw_stats *st, lk_error *err);

/* The caller's raw_events batch was rebuilt with another schema: the
   parser drops the batches it holds of the old one. */
void lk_parser_schema_changed(lk_parser *p);

#endif
