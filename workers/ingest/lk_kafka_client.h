/*
 * lk_kafka_client — librdkafka for ingest's Kafka source (lk_kafka_source):
 * partitions with their watermarks, offset-range planning, exact re-reads
 * and informational group commits. librdkafka is dlopen()ed on first use,
 * so that only the ingest process of a Kafka pipeline loads it.
 *
 * Offsets belong to the pipeline, not to a consumer group (see
 * lk_kafka_source.h). Reading a range assigns the partition and seeks to
 * its start (no group rebalancing), so a replay fetches exactly the same
 * messages again.
 *
 * Each message is read as one JSON line (formats/lk_kafka_record), so the
 * transform parses it with the same inference and rescue rules as files.
 */
#ifndef LK_KAFKA_CLIENT_H
#define LK_KAFKA_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "lk_buf.h"
#include "lk_config.h"
#include "lk_error.h"
#include "lk_kafka_record.h"

/* data loss: planned or wanted offsets are gone from the log */
#define LK_KAFKA_EDATALOSS LK_ENOTFOUND

typedef struct lk_kafka_client lk_kafka_client;

/* One topic-partition and what the pipeline plans of it. */
typedef struct lk_kafka_partition {
    char topic[256];
    int32_t partition;
    int64_t low, high; /* the broker's watermarks: messages [low, high) exist */
    int64_t next;      /* first offset not planned yet (-1: never planned) */
} lk_kafka_partition;

/* Connects a client for cfg's source (bootstrap_servers, kafka.*); no
   message moves. */
int lk_kafka_client_new(const lk_config *cfg, lk_kafka_client **out, lk_error *err);
void lk_kafka_client_destroy(lk_kafka_client **k);

/* Every partition of the subscribed topics (subscribe or
   subscribe_pattern) with its watermarks; next = -1. *out malloc'ed. */
int lk_kafka_client_partitions(lk_kafka_client *k, lk_kafka_partition **out, int *n,
                               lk_error *err);

/* Where a partition never planned before starts, by starting_offsets
   (earliest, latest, or {"topic":{"0":23,"1":-2}} with -2 = earliest,
   -1 = latest; a partition the JSON does not name starts at earliest). */
int lk_kafka_client_start_offset(const lk_kafka_client *k, const lk_kafka_partition *p,
                                 int64_t *start, lk_error *err);

/* Plans ranges: for partition i, [p[i].next, end[i]) with at most
   max_offsets (0 = no limit) offsets over all partitions, spread evenly.
   A partition whose next is below low lost data: LK_KAFKA_EDATALOSS naming it
   when fail_on_data_loss, else next moves up to low (logged). Returns the
   number of offsets planned. */
int64_t lk_kafka_plan(lk_kafka_partition *p, int n, int64_t max_offsets, int fail_on_data_loss,
                      int64_t *end, lk_error *err);

/* Reads offsets [start, end) of topic/partition: each message is appended to
   out as one JSON line (see above), then on_line(ctx, out) may cut a chunk
   (it returns < 0 to stop). Offsets missing inside the range (compaction,
   transaction markers) are skipped. Data loss (the log starts after start)
   is LK_KAFKA_EDATALOSS naming topic, partition and offsets. */
typedef int (*lk_kafka_line_fn)(void *ctx, lk_buf *out, int64_t offset);
int lk_kafka_client_read(lk_kafka_client *k, const char *topic, int32_t partition, int64_t start,
                         int64_t end, lk_buf *out, lk_kafka_line_fn on_line, void *ctx,
                         lk_error *err);

/* 0 if the log still holds [start, end) of topic/partition, else
   LK_KAFKA_EDATALOSS naming what is gone (or -EAGAIN: broker unreachable). */
int lk_kafka_client_check(lk_kafka_client *k, const char *topic, int32_t partition, int64_t start,
                          int64_t end, lk_error *err);

/* ---- consumer groups (source.group_id) ----
   This instance joins the group as a member that only takes part in the
   group protocol: Kafka assigns and rebalances partitions between the
   instances; the member never fetches (its partitions stay paused) and its
   group offsets are informational. Where a partition resumes is read from
   the tables (lk_kafka_source). */
typedef struct lk_kafka_tp {
    char topic[256];
    int32_t partition;
} lk_kafka_tp;
/* Joins the group (subscribes to the source's topics or pattern). */
int lk_kafka_client_join(lk_kafka_client *k, lk_error *err);
/* Serves the group protocol (rebalances run here); call often. 1 when the
   assignment changed since the last call. */
int lk_kafka_client_group_poll(lk_kafka_client *k);
/* The partitions assigned now (*tps borrowed), or -1 before the first
   assignment. */
int lk_kafka_client_owned(const lk_kafka_client *k, const lk_kafka_tp **tps);
/* 1 if this instance plans topic/partition: assigned to it (always 1 outside a group). */
int lk_kafka_client_owns(const lk_kafka_client *k, const char *topic, int32_t partition);

/* Informational: commits next_offset of topic/partition to the consumer
   group lakesupd-<pipeline> (asynchronously; lag tools see progress).
   The pipeline never reads it back. */
int lk_kafka_client_commit(lk_kafka_client *k, const char *topic, int32_t partition,
                           int64_t next_offset, lk_error *err);

#endif
