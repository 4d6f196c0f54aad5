/*
 * lk_hll — HyperLogLog++ registers for approx_count_distinct (issue 12).
 *
 * A sketch is 2^p one-byte registers (p from the relative standard
 * deviation as Spark computes it: p = ceil(2 log2(1.106 / rsd)), 9 for
 * Spark's default 0.05, 512 bytes). A value's 64-bit hash picks a register
 * with its top p bits and stores the rank of the first set bit of the
 * rest; two sketches merge by the maximum of each register (associative,
 * commutative, idempotent). The estimate is HLL++'s: linear counting below
 * the paper's threshold for p (empty registers), else the harmonic-mean
 * estimate, with the paper's small-range correction; no empirical bias
 * table (its few-percent bias between 2.5 m and 5 m stays within the
 * error the tests allow).
 */
#ifndef LK_HLL_H
#define LK_HLL_H

#include <stddef.h>
#include <stdint.h>

/* The precision for a relative standard deviation (4..16). */
int lk_hll_precision(double rsd);
/* Registers of precision p (bytes of a sketch). */
static inline size_t lk_hll_size(int p)
{
    return (size_t)1 << p;
}
/* A 64-bit hash of n bytes (values are hashed by their bytes). */
uint64_t lk_hll_hash(const void *data, size_t n);
void lk_hll_add(uint8_t *reg, int p, uint64_t hash);
void lk_hll_merge(uint8_t *dst, const uint8_t *src, int p);
double lk_hll_estimate(const uint8_t *reg, int p);

#endif
