/*
 * lk_batches — the monitor's batches in the making: each role's PROGRESS
 * report of its share of a batch (plan, read, parse, write, commit) is
 * added to the batch's record; once the commit report is in (and a short
 * grace for the other roles' reports, sent on other sockets) the record is
 * ready, and its JSON is the progress record kept in state.db, with
 * Spark's StreamingQueryProgress names. Kafka partitions' latest and
 * committed offsets are kept here too (the lag metrics).
 *
 * Bounded: LK_BATCHES_MAX batches at once (a batch that never commits is
 * dropped for a newer one), LK_BATCHES_PARTITIONS partitions.
 */
#ifndef LK_BATCHES_H
#define LK_BATCHES_H

#include <stdint.h>

#include "lk_buf.h"
#include "lk_config.h"
#include "lk_msg.h"

#define LK_BATCHES_MAX 16
#define LK_BATCHES_PARTITIONS 256

typedef struct lk_batch_rec {
    int used;
    int64_t batch;
    int64_t phase_us[LK_PHASE_N]; /* parse, write: summed over the chunks */
    int64_t plan_start_us, commit_us, commit_seen_ms;
    int have_plan, have_commit;
    int64_t rows_parsed, bytes_read, bytes_written, files_written, n_ranges;
    int64_t rows, corrupt, rescued;
    int64_t late, no_event_time, watermark_us; /* event_metrics (watermark 0 = none) */
    int64_t duplicates; /* rows transform.dedupe dropped */
    int64_t ev_min, ev_max, ev_n; /* event time (us) of the rows parsed */
    double ev_sum;
    int n_sources;
    lk_msg_source sources[LK_MSG_MAX_SOURCES];
    int n_tables;
    lk_msg_table_out tables[LK_MSG_MAX_PARTS];
} lk_batch_rec;

typedef struct lk_batches lk_batches;

lk_batches *lk_batches_new(void);
void lk_batches_destroy(lk_batches **bs);
/* Adds one role's report (now_ms: monotonic, when it arrived). */
void lk_batches_add(lk_batches *bs, const lk_msg_progress *p, int64_t now_ms);
/* The lowest batch whose commit report came at least grace_ms ago, or NULL;
   the caller takes its offsets (lk_batches_committed), records it, then
   forgets it (lk_batches_done). */
const lk_batch_rec *lk_batches_ready(const lk_batches *bs, int64_t now_ms, int64_t grace_ms);
/* Takes r's Kafka ranges as committed: the lag after the batch. */
void lk_batches_committed(lk_batches *bs, const lk_batch_rec *r);
/* Forgets r. */
void lk_batches_done(lk_batches *bs, const lk_batch_rec *r);
/* When the batch started: the start of its planning (or of its commit without a plan report). */
int64_t lk_batches_start_us(const lk_batch_rec *r);

/* Records behind the latest offset, summed over the Kafka partitions (min, max, count may be NULL).
 */
int64_t lk_batches_kafka_lag(const lk_batches *bs, int64_t *min, int64_t *max, int *n);
/* Partition i's "kafka://topic/partition" and lag; NULL past the last. */
const char *lk_batches_partition(const lk_batches *bs, int i, int64_t *lag);

/* What a record says that the batch does not know. */
typedef struct lk_record_ctx {
    const lk_config *cfg;
    const char *query_id;
    int64_t watermark_us;  /* after this batch */
    int64_t prev_start_us; /* the previous batch's start (input rate), 0 if none */
    int64_t backlog_files, backlog_bytes;
} lk_record_ctx;

/* The progress record of r as JSON (one object). */
void lk_batches_record_json(const lk_batches *bs, const lk_batch_rec *r, const lk_record_ctx *c,
                            lk_buf *b);

#endif
