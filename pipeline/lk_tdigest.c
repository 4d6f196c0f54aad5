/* lk_tdigest — a merging t-digest; see lk_tdigest.h. */
#include "lk_tdigest.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct centroid {
    double mean, w;
} centroid;

struct lk_tdigest {
    double compression;
    centroid *c;
    size_t n, cap, merged; /* c[0, merged) is compressed and sorted */
    double total, min, max;
};

lk_tdigest *lk_tdigest_new(double compression)
{
    lk_tdigest *t = calloc(1, sizeof *t);
    if (!t) abort();
    t->compression = compression > 10 ? compression : 10;
    t->min = INFINITY;
    t->max = -INFINITY;
    return t;
}

void lk_tdigest_destroy(lk_tdigest **tp)
{
    if (!tp || !*tp) return;
    free((*tp)->c);
    free(*tp);
    *tp = NULL;
}

static int by_mean(const void *a, const void *b)
{
    double x = ((const centroid *)a)->mean, y = ((const centroid *)b)->mean;
    return x < y ? -1 : x > y;
}

static void compress(lk_tdigest *t)
{
    if (t->n <= 1 || t->merged == t->n) {
        t->merged = t->n;
        return;
    }
    qsort(t->c, t->n, sizeof *t->c, by_mean);
    size_t out = 0;
    double so_far = 0, N = t->total;
    for (size_t i = 1; i < t->n; i++) {
        centroid *cur = &t->c[out];
        double w = cur->w + t->c[i].w;
        double q = (so_far + w / 2) / N;
        double limit = 4 * N * q * (1 - q) / t->compression;
        if (w <= limit) {
            cur->mean += (t->c[i].mean - cur->mean) * t->c[i].w / w;
            cur->w = w;
        } else {
            so_far += cur->w;
            t->c[++out] = t->c[i];
        }
    }
    t->n = out + 1;
    t->merged = t->n;
}

static void push(lk_tdigest *t, double mean, double w)
{
    if (t->n == t->cap) {
        /* small first: a window group of a high-cardinality key holds a few values */
        t->cap = t->cap ? t->cap * 2 : 4;
        t->c = realloc(t->c, sizeof *t->c * t->cap);
        if (!t->c) abort();
    }
    t->c[t->n].mean = mean;
    t->c[t->n].w = w;
    t->n++;
    t->total += w;
    if (t->n >= (size_t)(6 * t->compression)) compress(t);
}

void lk_tdigest_add(lk_tdigest *t, double x, double w)
{
    if (isnan(x) || !(w > 0)) return;
    if (x < t->min) t->min = x;
    if (x > t->max) t->max = x;
    push(t, x, w);
}

void lk_tdigest_merge(lk_tdigest *dst, const lk_tdigest *src)
{
    if (src->min < dst->min) dst->min = src->min;
    if (src->max > dst->max) dst->max = src->max;
    for (size_t i = 0; i < src->n; i++)
        push(dst, src->c[i].mean, src->c[i].w);
}

double lk_tdigest_count(const lk_tdigest *t)
{
    return t->total;
}

double lk_tdigest_quantile(lk_tdigest *t, double q)
{
    if (t->n == 0) return NAN;
    compress(t);
    if (q <= 0) return t->min;
    if (q >= 1) return t->max;
    if (t->n == 1) return t->c[0].mean;
    if (t->total == (double)t->n) {
        /* every centroid one value (fewer than 2 * compression values): the
           exact answer of Spark's approx_percentile and SQL's
           percentile_disc, the value at 1-based rank ceil(q n) */
        double r = ceil(q * t->total);
        size_t i = r < 1 ? 0 : (size_t)r - 1;
        return t->c[i < t->n ? i : t->n - 1].mean;
    }
    double target = q * t->total, cum = 0;
    /* centre of centroid i at cum + w_i / 2: interpolate between centres,
       the first half-centroid from min, the last to max */
    for (size_t i = 0; i < t->n; i++) {
        double mid = cum + t->c[i].w / 2;
        if (target < mid) {
            if (i == 0) {
                double f = t->c[0].w > 1 ? target / (t->c[0].w / 2) : 1;
                return t->min + (t->c[0].mean - t->min) * f;
            }
            double prev_mid = cum - t->c[i - 1].w / 2;
            double f = (target - prev_mid) / (mid - prev_mid);
            return t->c[i - 1].mean + (t->c[i].mean - t->c[i - 1].mean) * f;
        }
        cum += t->c[i].w;
    }
    size_t l = t->n - 1;
    double mid = t->total - t->c[l].w / 2;
    double f = t->c[l].w > 1 ? (target - mid) / (t->c[l].w / 2) : 0;
    return t->c[l].mean + (t->max - t->c[l].mean) * (f > 1 ? 1 : f);
}

void lk_tdigest_save(lk_tdigest *t, lk_buf *out)
{
    compress(t);
    uint32_t n = (uint32_t)t->n;
    lk_buf_append(out, &n, sizeof n);
    lk_buf_append(out, &t->min, sizeof t->min);
    lk_buf_append(out, &t->max, sizeof t->max);
    lk_buf_append(out, t->c, sizeof *t->c * t->n);
}

int lk_tdigest_load(lk_tdigest *t, const void *data, size_t len)
{
    uint32_t n;
    if (len < sizeof n + 2 * sizeof(double)) return -1;
    memcpy(&n, data, sizeof n);
    if (len != sizeof n + 2 * sizeof(double) + (size_t)n * sizeof(centroid)) return -1;
    const char *p = (const char *)data + sizeof n;
    double mn, mx;
    memcpy(&mn, p, sizeof mn);
    memcpy(&mx, p + sizeof mn, sizeof mx);
    if (mn < t->min) t->min = mn;
    if (mx > t->max) t->max = mx;
    p += 2 * sizeof(double);
    for (uint32_t i = 0; i < n; i++) {
        centroid c;
        memcpy(&c, p + (size_t)i * sizeof c, sizeof c);
        push(t, c.mean, c.w);
    }
    return 0;
}
