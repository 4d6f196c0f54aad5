/*
 * lk_dedupe_state — the state of transform.dedupe (Spark's
 * dropDuplicatesWithinWatermark): for every key kept recently, the event
 * time of its first row, and the largest event time seen (from which the
 * dedupe's own watermark follows).
 *
 * Rows are judged one at a time, in the pipeline's one order (batch, chunk,
 * row): a row whose key has an entry and whose event time is within
 * `within` of that entry's (|t - first| < within) is a duplicate and
 * changes nothing; any other row is kept and becomes its key's entry. An
 * entry is dropped once the watermark passes first + within (expire): a row
 * it would still match is then older than the watermark (late), so the
 * state is bounded by the watermark, as Spark's.
 *
 * Keys are 128-bit hashes of the key columns (lk_dedupe_hash_*): two rows
 * with different keys collide with probability ~n^2 / 2^129.
 */
#ifndef LK_DEDUPE_STATE_H
#define LK_DEDUPE_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "lk_buf.h"
#include "lk_error.h"

typedef struct lk_dedupe_state lk_dedupe_state;

lk_dedupe_state *lk_dedupe_state_new(int64_t within_us);
void lk_dedupe_state_destroy(lk_dedupe_state **s);
/* Forgets every entry and the largest event time. */
void lk_dedupe_state_reset(lk_dedupe_state *s);
/* Judges one row (key hi:lo, event time t_us): 1 = a duplicate (nothing
   changes), 0 = kept (its key's entry is now t_us; the largest event time
   follows). */
int lk_dedupe_state_offer(lk_dedupe_state *s, uint64_t hi, uint64_t lo, int64_t t_us);
/* Drops the entries whose first + within is older than watermark_us;
   returns how many. */
int64_t lk_dedupe_state_expire(lk_dedupe_state *s, int64_t watermark_us);
/* Entries, and the largest event time kept (INT64_MIN = none). */
int64_t lk_dedupe_state_count(const lk_dedupe_state *s);
int64_t lk_dedupe_state_max_event(const lk_dedupe_state *s);
/* Appends the state's bytes to out (entries sorted: the same state gives
   the same bytes), and reads them back (0 or LK_EFORMAT). */
void lk_dedupe_state_save(const lk_dedupe_state *s, lk_buf *out);
int lk_dedupe_state_load(lk_dedupe_state *s, const void *data, size_t len, lk_error *err);

/* A 128-bit hash, fed by parts: init, then add (a marker byte and bytes
   per value), then the two halves. */
typedef struct lk_dedupe_hash {
    uint64_t a, b;
    uint64_t n;
} lk_dedupe_hash;
void lk_dedupe_hash_init(lk_dedupe_hash *h);
void lk_dedupe_hash_add(lk_dedupe_hash *h, const void *p, size_t n);
void lk_dedupe_hash_final(const lk_dedupe_hash *h, uint64_t *hi, uint64_t *lo);

#endif
