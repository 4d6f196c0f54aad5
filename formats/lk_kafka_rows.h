/*
 * lk_kafka_rows — format: kafka, the transform's side of corrupt messages.
 *
 * Ingest turns each Kafka message into one JSON line with the Kafka columns
 * first (lk_kafka_line). When the value is not a valid JSON object, the
 * JSON reader makes the whole line a corrupt row: every column null and the
 * line — Kafka columns included — in _corrupt_record. This module rewrites
 * those rows after the reader: the Kafka columns (key, topic, partition,
 * offset, timestamp) are parsed by the same reader from the line's Kafka
 * part, and _corrupt_record holds the message value as received
 * (lk_kafka_line_split). Rows stay in order; valid rows are copied as they
 * are. Only chunks with corrupt rows pay for it.
 */
#ifndef LK_KAFKA_ROWS_H
#define LK_KAFKA_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "lk_batch.h"
#include "lk_buf.h"
#include "lk_error.h"
#include "lk_json_reader.h"

/* data: the chunk (base: the file_offset of data[0]) whose rows are *raw
   (a raw_events batch). Corrupt rows get their Kafka columns and value;
   the result is built in *scratch (created on first use with *raw's
   schema; NULL it whenever *raw's schema changes) and the two pointers
   are swapped. tmp is scratch. Returns the number of rows rewritten, or a
   negative error. */
int lk_kafka_rows_fix(lk_json_reader *reader, const char *data, size_t len, int64_t base,
                      const lk_source_meta *meta, lk_batch **raw, lk_batch **scratch,
                      lk_buf *tmp, lk_error *err);

#endif
