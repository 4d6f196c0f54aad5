/* lk_hll — HyperLogLog++ registers; see lk_hll.h. */
#include "lk_hll.h"

#include <math.h>

int lk_hll_precision(double rsd)
{
    if (!(rsd > 0)) rsd = 0.05;
    int p = (int)ceil(2.0 * log2(1.106 / rsd));
    return p < 4 ? 4 : p > 16 ? 16 : p;
}

static uint64_t fmix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

uint64_t lk_hll_hash(const void *data, size_t n)
{
    const unsigned char *s = data;
    uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)n;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    return fmix64(h);
}

void lk_hll_add(uint8_t *reg, int p, uint64_t hash)
{
    uint32_t idx = (uint32_t)(hash >> (64 - p));
    uint64_t rest = (hash << p) | ((uint64_t)1 << (p - 1)); /* a sentinel bounds the rank */
    uint8_t rank = (uint8_t)(__builtin_clzll(rest) + 1);
    if (rank > reg[idx]) reg[idx] = rank;
}

void lk_hll_merge(uint8_t *dst, const uint8_t *src, int p)
{
    size_t m = lk_hll_size(p);
    for (size_t i = 0; i < m; i++)
        if (src[i] > dst[i]) dst[i] = src[i];
}

/* HLL++'s linear counting thresholds for p = 4..18 (Heule et al., 2013). */
static const double thresholds[] = {10,   20,   40,    80,    220,   400,   900,  1800,
                                    3100, 6500, 11500, 20000, 50000, 120000, 350000};

double lk_hll_estimate(const uint8_t *reg, int p)
{
    size_t m = lk_hll_size(p);
    double sum = 0;
    size_t zeros = 0;
    for (size_t i = 0; i < m; i++) {
        sum += ldexp(1.0, -reg[i]);
        zeros += reg[i] == 0;
    }
    double md = (double)m;
    double alpha = m == 16 ? 0.673 : m == 32 ? 0.697 : m == 64 ? 0.709 : 0.7213 / (1 + 1.079 / md);
    double e = alpha * md * md / sum;
    if (zeros) {
        double lc = md * log(md / (double)zeros);
        if (lc <= thresholds[p - 4]) return lc;
    }
    return e;
}
