/*
 * lk_kafka_source — ingest's source of Kafka topics (lk_source;
 * source.format: kafka).
 *
 * Offsets belong to the pipeline, not to a consumer group: each
 * topic-partition is a row of state.db's files table with the path
 * kafka://<topic>/<partition>, and a batch plans per-partition offset
 * ranges [start, end) as that file's byte ranges, so batches, sealing,
 * replay and the committer work unchanged (docs/decisions.md). A plan
 * lists the subscribed partitions with their watermarks (new partitions
 * start at starting_offsets) and takes what is new, at most
 * max_offsets_per_trigger spread evenly; the first plan infers the value
 * columns from the planned messages (the Kafka columns come first). read
 * fetches a range again, message by message, as JSON lines
 * (formats/lk_kafka_record) cut into chunks of chunk_bytes — a function
 * of the messages only, so a replay cuts the same chunks. Offsets gone from
 * the log (retention) are data loss: fatal with fail_on_data_loss, else
 * logged and missing from the batch. A committed batch's offsets are also
 * committed to the consumer group lakesupd-<pipeline> for lag tools; the
 * pipeline never reads them back. A broker that cannot be reached pauses
 * ingest (retried) rather than failing it.
 */
#ifndef LK_KAFKA_SOURCE_H
#define LK_KAFKA_SOURCE_H

#include "lk_source.h"

lk_source *lk_kafka_source_new(const lk_source_env *env, lk_error *err);

#endif
