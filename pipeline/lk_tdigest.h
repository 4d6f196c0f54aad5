/*
 * lk_tdigest — a merging t-digest (Dunning) for approx_percentile
 * (issue 12): a mergeable quantile sketch of at most ~2 * compression
 * centroids (mean, weight).
 *
 * Values are buffered as centroids of weight 1; when the buffer is full
 * the centroids are sorted by mean and merged left to right while a
 * centroid's weight stays within the scale function's bound
 * 4 N q (1 - q) / compression, so the tails keep small centroids and the
 * quantiles near 0 and 1 stay accurate. Two digests merge by concatenating
 * their centroids and compressing: deterministic for a given order (the
 * committer merges in batch and chunk order), and within the sketch's
 * error in any order. Quantiles interpolate between centroid centres, as
 * the reference implementation; min and max are kept exactly. While
 * every centroid still holds one value (below 2 * compression values)
 * the answer is exact and one of the values: Spark's approx_percentile,
 * i.e. SQL's percentile_disc (the value at 1-based rank ceil(q n)).
 */
#ifndef LK_TDIGEST_H
#define LK_TDIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "lk_buf.h"

typedef struct lk_tdigest lk_tdigest;

lk_tdigest *lk_tdigest_new(double compression);
void lk_tdigest_destroy(lk_tdigest **t);
void lk_tdigest_add(lk_tdigest *t, double x, double w);
/* Adds every centroid of src to dst. */
void lk_tdigest_merge(lk_tdigest *dst, const lk_tdigest *src);
/* The value at quantile q in [0, 1] (NaN when empty). */
double lk_tdigest_quantile(lk_tdigest *t, double q);
double lk_tdigest_count(const lk_tdigest *t);
/* Serialised (compressed first): appended to out; read back by
   lk_tdigest_load (0, or -1 on a malformed buffer). */
void lk_tdigest_save(lk_tdigest *t, lk_buf *out);
int lk_tdigest_load(lk_tdigest *t, const void *data, size_t n);

#endif
