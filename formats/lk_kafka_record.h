/*
 * lk_kafka_record — Kafka messages as JSON lines: how ingest frames them
 * and how the transform reads them back (format: kafka).
 *
 * A message becomes one JSON line: the value object with the Kafka columns
 * (topic, partition, offset, timestamp, key) put first, so the transform's
 * JSON reader parses it with the same inference and rescue rules as files.
 * The line keeps every byte of the value: when it is not a valid JSON
 * object (a corrupt record), the JSON reader makes the whole line a corrupt
 * row; lk_kafka_record_fix_rows then gives such rows their Kafka columns
 * back (parsed from the line's Kafka part) and puts the message value as
 * received in _corrupt_record. Rows stay in order; only chunks with corrupt
 * rows pay for it.
 *
 * Each topic-partition is known by the path kafka://<topic>/<partition>:
 * state.db's file row of its offset ranges, and _metadata.file_path of its
 * rows in raw_events.
 */
#ifndef LK_KAFKA_RECORD_H
#define LK_KAFKA_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "lk_batch.h"
#include "lk_buf.h"
#include "lk_error.h"
#include "lk_json_reader.h"
#include "lk_raw.h"
#include "lk_schema.h"

#define LK_KAFKA_PREFIX "kafka://"

/* "kafka://topic/3" → topic, 3; 0 or LK_EFORMAT. */
int lk_kafka_record_path_parse(const char *path, char *topic, size_t cap, int32_t *partition);
/* The Delta txn appId under which a consumer group's instances record how far
   partition `path` (kafka://topic/partition) is in a table: version = the
   next offset (docs/decisions.md, "Kafka consumer groups"). */
#define LK_KAFKA_TXN_PREFIX "lakesupd.kafka:"
void lk_kafka_record_txn_app(const char *path, char *out, size_t cap);

/* The raw data schema of a Kafka source: the Kafka columns (key, topic,
   partition, offset, timestamp) first, then the value's inferred columns
   (a value key named like a Kafka column is shadowed by it). New object. */
lk_schema *lk_kafka_record_schema(const lk_schema *inferred);

/* Appends the JSON line of one message (with its '\n') to out; key and
   value may be NULL (a tombstone has no value). */
void lk_kafka_record_line(lk_buf *out, const char *topic, int32_t partition, int64_t offset,
                          int64_t timestamp_ms, const void *key, size_t key_len, const void *value,
                          size_t value_len);
/* The inverse for a line of lk_kafka_record_line (without its '\n'): the
   Kafka columns are line[*cols_start, *cols_end) followed by "}" (a JSON
   object of them alone), and the message value (newlines as spaces) is put
   into value. Returns 1, or 0 if line is not such a line. */
int lk_kafka_record_split(const char *line, size_t n, size_t *cols_start, size_t *cols_end,
                          lk_buf *value);

/* data: the chunk (base: the file_offset of data[0]) whose rows are *raw
   (a raw_events batch). Corrupt rows get their Kafka columns and value;
   the result is built in *scratch (created on first use with *raw's
   schema; NULL it whenever *raw's schema changes) and the two pointers
   are swapped. tmp is scratch. Returns the number of rows rewritten, or a
   negative error. */
int lk_kafka_record_fix_rows(lk_json_reader *reader, const char *data, size_t len, int64_t base,
                             const lk_source_meta *meta, lk_batch **raw, lk_batch **scratch,
                             lk_buf *tmp, lk_error *err);

#endif
