/*
 * lk_source — what ingest reads: one interface, two implementations.
 *
 *   lk_file_source   files in source_path (Auto Loader's discovery, the
 *                    file readers of formats/, schema evolution per chunk,
 *                    clean_source);
 *   lk_kafka_source  topics of a Kafka cluster (offset ranges planned per
 *                    partition).
 *
 * Ingest owns what is the same for both: the batch life cycle in state.db
 * (plan before any byte moves, seal, replay, generations), the chunk
 * messages and their counters, in-flight tracking and the trigger. A
 * source answers four questions — what is new (poll), what goes into the
 * next batch (plan), can a planned range still be read as planned (check),
 * and what are its chunks (read) — and hears when a batch is committed
 * (ack). A range is a state.db file row's [start, end): bytes of a file,
 * or offsets of a topic-partition (kafka://topic/partition).
 *
 * Sources are created with the environment they share with ingest (the
 * worker, the configuration, state.db, schema evolution and the current
 * schema version); they borrow it.
 */
#ifndef LK_SOURCE_H
#define LK_SOURCE_H

#include <stdint.h>

#include "lk_config.h"
#include "lk_error.h"
#include "lk_evolve.h"
#include "lk_msg.h"
#include "lk_state.h"
#include "lk_worker.h"

/* What ingest lends its source (borrowed; outlives the source). */
typedef struct lk_source_env {
    lk_worker *w;
    const lk_config *cfg;
    lk_state *st;
    lk_evolve *ev;
    int *schema_version; /* raw_events' current version: 0 until the first schema */
    const int32_t *gen;  /* the generation of the batch being read (0: its first reading) */
} lk_source_env;

/* lk_source_check's answers. */
typedef enum lk_range_status {
    LK_RANGE_OK = 0,      /* readable as planned */
    LK_RANGE_CHANGED = 1, /* readable, but not the bytes first read (a file rewritten) */
    LK_RANGE_GONE = 2,    /* cannot be read (logged, counted): missing from the batch */
    LK_RANGE_MOVED = 3,   /* another instance committed these offsets (a Kafka consumer
                             group): dropped from the batch, nothing is lost */
} lk_range_status;

/* Receives each chunk of a range, in order, with the source's fields set
   (file_id, file_path, file_size, file_mtime_us, offset, first_line, data,
   len, header); ingest adds batch, index and schema version and sends it.
   Returns 0, 1 when the batch can take no more chunks (stop reading), or a
   negative error (stop; fatal). */
typedef int (*lk_source_emit_fn)(void *ctx, lk_msg_chunk *m);

typedef struct lk_source lk_source;

typedef struct lk_source_ops {
    const char *range_noun; /* what a range is, in logs: "files", "partitions" */
    const char *unit_noun;  /* what it counts: "bytes", "offsets" */
    /* Does housekeeping and, with discover, looks for new input: 0, or a
       negative error (err; nothing is lost, the next poll retries). */
    int (*poll)(lk_source *s, int64_t now_ms, int discover, lk_error *err);
    /* 1 once the source has been looked at in full (available-now ends
       when nothing more is planned then). */
    int (*caught_up)(const lk_source *s);
    /* A descriptor whose readability means new input (inotify), or -1. */
    int (*fd)(const lk_source *s);
    /* The ranges of the next batch, not yet stored (at most max_*_per_
       trigger), after inferring the first schema when there is none:
       1 and *ranges (malloc'ed, the caller frees) / *n, 0 when nothing is
       new, or a negative error (err). */
    int (*plan)(lk_source *s, lk_state_range **ranges, int *n, lk_error *err);
    /* Whether the planned range rg of batch can be read as planned (an
       lk_range_status), or a negative error (fatal; err). */
    int (*check)(lk_source *s, int64_t batch, const lk_state_range *rg, lk_error *err);
    /* Reads rg as chunks handed to emit(ctx, chunk). 0 — damage the
       source can skip (an unreadable file) is logged and counted, its
       rows missing — or a negative error (fatal or retryable; err). */
    int (*read)(lk_source *s, int64_t batch, const lk_state_range *rg, lk_source_emit_fn emit,
                void *ctx, lk_error *err);
    /* Batch batch_id is committed in every table. */
    void (*ack)(lk_source *s, int64_t batch_id);
    /* Every planned batch is committed (available-now is done, or the
       pipeline drained): finish what waits for commits. */
    void (*drained)(lk_source *s, int64_t now_ms);
    /* 1 if err is worth retrying later (a broker away): ingest pauses. */
    int (*retryable)(const lk_source *s, const lk_error *err);
    void (*destroy)(lk_source *s);
    /* While the other workers start (before the first plan), what can be done ahead: files
       infer the first schema from the pending files of the first listing. 0, or a negative
       error (err; LK_ECONFIG: the transforms do not fit the inferred schema). NULL: nothing. */
    int (*prepare)(lk_source *s, lk_error *err);
} lk_source_ops;

/* The base of every source (its first member). */
struct lk_source {
    const lk_source_ops *ops;
    lk_source_env env;
};

/* The source of cfg: files or Kafka (by source.format). NULL and err on
   failure; err->code LK_ECONFIG for a configuration the source refuses. */
lk_source *lk_source_new(const lk_source_env *env, lk_error *err);
void lk_source_destroy(lk_source **s);

static inline int lk_source_poll(lk_source *s, int64_t now_ms, int discover, lk_error *err)
{
    return s->ops->poll(s, now_ms, discover, err);
}
static inline int lk_source_caught_up(const lk_source *s)
{
    return s->ops->caught_up(s);
}
static inline int lk_source_fd(const lk_source *s)
{
    return s->ops->fd(s);
}
static inline int lk_source_plan(lk_source *s, lk_state_range **ranges, int *n, lk_error *err)
{
    return s->ops->plan(s, ranges, n, err);
}
static inline int lk_source_check(lk_source *s, int64_t batch, const lk_state_range *rg,
                                  lk_error *err)
{
    return s->ops->check(s, batch, rg, err);
}
static inline int lk_source_read(lk_source *s, int64_t batch, const lk_state_range *rg,
                                 lk_source_emit_fn emit, void *ctx, lk_error *err)
{
    return s->ops->read(s, batch, rg, emit, ctx, err);
}
static inline void lk_source_ack(lk_source *s, int64_t batch_id)
{
    s->ops->ack(s, batch_id);
}
static inline void lk_source_drained(lk_source *s, int64_t now_ms)
{
    s->ops->drained(s, now_ms);
}
static inline int lk_source_retryable(const lk_source *s, const lk_error *err)
{
    return s->ops->retryable(s, err);
}
static inline int lk_source_prepare(lk_source *s, lk_error *err)
{
    return s->ops->prepare ? s->ops->prepare(s, err) : 0;
}

#endif
