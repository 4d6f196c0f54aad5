/*
 * lk_kafka_source — the Kafka side of ingest (format: kafka, librdkafka).
 *
 * Offsets belong to the pipeline, not to a consumer group: each
 * topic-partition is a row of state.db's files table with the path
 * kafka://<topic>/<partition>, and a batch plans per-partition offset
 * ranges [start, end) as that file's byte ranges, so batches, sealing,
 * replay and the committer work unchanged (docs/decisions.md). Reading a
 * range assigns the partition and seeks to its start (no group
 * rebalancing), so a replay fetches exactly the same messages again.
 *
 * A message becomes one JSON line: the value object with the Kafka columns
 * (topic, partition, offset, timestamp, key) put first, so the transform's
 * JSON reader parses it with the same inference and rescue rules as files.
 * The line keeps every byte of the value: when it is not a valid object
 * (a corrupt record), lk_kafka_line_split gives the transform the Kafka
 * columns and the value back, so the row keeps its Kafka columns and
 * _corrupt_record holds the value as received.
 */
#ifndef LK_KAFKA_SOURCE_H
#define LK_KAFKA_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "lk_buf.h"
#include "lk_config.h"
#include "lk_error.h"

#define LK_KAFKA_PREFIX "kafka://"
/* data loss: planned or wanted offsets are gone from the log */
#define LK_KAFKA_EDATALOSS LK_ENOTFOUND

typedef struct lk_kafka_source lk_kafka_source;

/* One topic-partition and what the pipeline plans of it. */
typedef struct lk_kafka_partition {
    char topic[256];
    int32_t partition;
    int64_t low, high; /* the broker's watermarks: messages [low, high) exist */
    int64_t next;      /* first offset not planned yet (-1: never planned) */
} lk_kafka_partition;

/* Connects a client for cfg's source (bootstrap_servers, kafka.*); no
   message moves. */
int lk_kafka_source_new(const lk_config *cfg, lk_kafka_source **out, lk_error *err);
void lk_kafka_source_destroy(lk_kafka_source **k);

/* Every partition of the subscribed topics (subscribe or
   subscribe_pattern) with its watermarks; next = -1. *out malloc'ed. */
int lk_kafka_source_partitions(lk_kafka_source *k, lk_kafka_partition **out, int *n,
                               lk_error *err);

/* Where a partition never planned before starts, by starting_offsets
   (earliest, latest, or {"topic":{"0":23,"1":-2}} with -2 = earliest,
   -1 = latest; a partition the JSON does not name starts at earliest). */
int lk_kafka_source_start_offset(const lk_kafka_source *k, const lk_kafka_partition *p,
                                 int64_t *start, lk_error *err);

/* Plans ranges: for partition i, [p[i].next, end[i]) with at most
   max_offsets (0 = no limit) offsets over all partitions, spread evenly.
   A partition whose next is below low lost data: LK_KAFKA_EDATALOSS naming it
   when fail_on_data_loss, else next moves up to low (logged). Returns the
   number of offsets planned. */
int64_t lk_kafka_plan(lk_kafka_partition *p, int n, int64_t max_offsets, int fail_on_data_loss,
                      int64_t *end, lk_error *err);

/* "kafka://topic/3" → topic, 3; 0 or LK_EFORMAT. */
int lk_kafka_path_parse(const char *path, char *topic, size_t cap, int32_t *partition);

/* Reads offsets [start, end) of topic/partition: each message is appended to
   out as one JSON line (see above), then on_line(ctx, out) may cut a chunk
   (it returns < 0 to stop). Offsets missing inside the range (compaction,
   transaction markers) are skipped. Data loss (the log starts after start)
   is LK_KAFKA_EDATALOSS naming topic, partition and offsets. */
typedef int (*lk_kafka_line_fn)(void *ctx, lk_buf *out, int64_t offset);
int lk_kafka_source_read(lk_kafka_source *k, const char *topic, int32_t partition, int64_t start,
                         int64_t end, lk_buf *out, lk_kafka_line_fn on_line, void *ctx,
                         lk_error *err);

/* 0 if the log still holds [start, end) of topic/partition, else
   LK_KAFKA_EDATALOSS naming what is gone (or -EAGAIN: broker unreachable). */
int lk_kafka_source_check(lk_kafka_source *k, const char *topic, int32_t partition, int64_t start,
                          int64_t end, lk_error *err);

/* Informational: commits next_offset of topic/partition to the consumer
   group lakesupd-<pipeline> (asynchronously; lag tools see progress).
   The pipeline never reads it back. */
int lk_kafka_source_commit(lk_kafka_source *k, const char *topic, int32_t partition,
                           int64_t next_offset, lk_error *err);

/* The JSON line of one message (exposed for tests). */
void lk_kafka_line(lk_buf *out, const char *topic, int32_t partition, int64_t offset,
                   int64_t timestamp_ms, const void *key, size_t key_len, const void *value,
                   size_t value_len);
/* The inverse for a line of lk_kafka_line (without its '\n'): the Kafka
   columns are line[*cols_start, *cols_end) followed by "}" (a JSON object
   of them alone), and the message value (newlines as spaces) is put into
   value. Returns 1, or 0 if line is not such a line. */
int lk_kafka_line_split(const char *line, size_t n, size_t *cols_start, size_t *cols_end,
                        lk_buf *value);

#endif
