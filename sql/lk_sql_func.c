/*
 * lk_sql_func — the kernels of operators, conditionals, strings and math,
 * and the table that gives each checked node its kernel (the casts, time,
 * regular expression, JSON and hash kernels live in their own modules).
 * See lk_sql_func.h for the kernel contract.
 */
#include "lk_sql_func.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unistr.h>

#include "lk_bytes.h"
#include "lk_decimal.h"
#include "lk_sql_cast.h"
#include "lk_sql_hash.h"
#include "lk_sql_json.h"
#include "lk_sql_lex.h"
#include "lk_sql_regex.h"
#include "lk_sql_time.h"

/* ---- helpers ---- */

void lk_sql_out_fixed(lk_col *out, uint32_t n)
{
    lk_col_reserve(out, n, 0);
    out->len = n;
    out->null_count = 0;
}

void lk_sql_out_and_validity(lk_col *out, const lk_col *const *a, int na, uint32_t n)
{
    int first = 1;
    uint32_t nb = (n + 7) / 8;
    for (int j = 0; j < na; j++) {
        if (!a[j]->validity) continue;
        if (first) {
            lk_col_ensure_validity(out);
            memcpy(out->validity, a[j]->validity, nb);
            first = 0;
        } else {
            for (uint32_t k = 0; k < nb; k++)
                out->validity[k] &= a[j]->validity[k];
        }
    }
}

void lk_sql_out_null(lk_col *out, uint32_t i)
{
    if (!out->validity) lk_col_ensure_validity(out);
    out->validity[i >> 3] &= (uint8_t) ~(1u << (i & 7));
}

void lk_sql_out_done(lk_col *out)
{
    if (!out->validity) {
        out->null_count = 0;
        return;
    }
    uint32_t nulls = 0, n = out->len, full = n / 8;
    for (uint32_t k = 0; k < full; k++)
        nulls += 8 - (uint32_t)__builtin_popcount(out->validity[k]);
    for (uint32_t i = full * 8; i < n; i++)
        nulls += lk_col_is_null(out, i);
    out->null_count = nulls;
}

/* ---- arithmetic ---- */

static double d2(double x)
{
    return x;
}

/* Java's double → long: NaN 0, saturating. */
int64_t lk_sql_d2l(double x)
{
    if (isnan(x)) return 0;
    if (x >= 9.2233720368547758e18) return INT64_MAX;
    if (x <= -9.2233720368547758e18) return INT64_MIN;
    return (int64_t)x;
}

#define ARITH(NAME, EXPR_I, EXPR_L, EXPR_D)                                                        \
    static void NAME(lk_sql_kctx *k)                                                               \
    {                                                                                              \
        uint32_t n = k->n;                                                                         \
        lk_sql_out_fixed(k->out, n);                                                               \
        lk_sql_out_and_validity(k->out, k->a, 2, n);                                               \
        switch (k->out->field->type) {                                                             \
        case LK_TYPE_INTEGER: {                                                                    \
            const int32_t *x = k->a[0]->values, *y = k->a[1]->values;                              \
            int32_t *o = k->out->values;                                                           \
            for (uint32_t i = 0; i < n; i++)                                                       \
                o[i] = EXPR_I;                                                                     \
            break;                                                                                 \
        }                                                                                          \
        case LK_TYPE_LONG: {                                                                       \
            const int64_t *x = k->a[0]->values, *y = k->a[1]->values;                              \
            int64_t *o = k->out->values;                                                           \
            for (uint32_t i = 0; i < n; i++)                                                       \
                o[i] = EXPR_L;                                                                     \
            break;                                                                                 \
        }                                                                                          \
        default: {                                                                                 \
            const double *x = k->a[0]->values, *y = k->a[1]->values;                               \
            double *o = k->out->values;                                                            \
            for (uint32_t i = 0; i < n; i++)                                                       \
                o[i] = EXPR_D;                                                                     \
            break;                                                                                 \
        }                                                                                          \
        }                                                                                          \
        lk_sql_out_done(k->out);                                                                   \
    }

/* two's complement wrap-around, as Java (and Spark without ANSI) */
ARITH(k_add, (int32_t)((uint32_t)x[i] + (uint32_t)y[i]), (int64_t)((uint64_t)x[i] + (uint64_t)y[i]),
      x[i] + y[i])
ARITH(k_sub, (int32_t)((uint32_t)x[i] - (uint32_t)y[i]), (int64_t)((uint64_t)x[i] - (uint64_t)y[i]),
      x[i] - y[i])
ARITH(k_mul, (int32_t)((uint32_t)x[i] * (uint32_t)y[i]), (int64_t)((uint64_t)x[i] * (uint64_t)y[i]),
      d2(x[i] * y[i]))
ARITH(k_bitand, x[i] & y[i], x[i] & y[i], x[i] * 0 + y[i] * 0)
ARITH(k_bitor, x[i] | y[i], x[i] | y[i], x[i] * 0 + y[i] * 0)
ARITH(k_bitxor, x[i] ^ y[i], x[i] ^ y[i], x[i] * 0 + y[i] * 0)

/* x / 0 is null (and a failure): Spark without ANSI. */
static void k_div(lk_sql_kctx *k)
{
    uint32_t n = k->n;
    lk_sql_out_fixed(k->out, n);
    lk_sql_out_and_validity(k->out, k->a, 2, n);
    const double *x = k->a[0]->values, *y = k->a[1]->values;
    double *o = k->out->values;
    for (uint32_t i = 0; i < n; i++)
        o[i] = x[i] / (y[i] == 0 ? 1 : y[i]);
    for (uint32_t i = 0; i < n; i++)
        if (y[i] == 0 && !lk_col_is_null(k->out, i)) {
            lk_sql_out_null(k->out, i);
            lk_sql_fail(k, i);
        }
    lk_sql_out_done(k->out);
}

static void k_idiv(lk_sql_kctx *k)
{
    uint32_t n = k->n;
    lk_sql_out_fixed(k->out, n);
    lk_sql_out_and_validity(k->out, k->a, 2, n);
    const int64_t *x = k->a[0]->values, *y = k->a[1]->values;
    int64_t *o = k->out->values;
    for (uint32_t i = 0; i < n; i++) {
        if (y[i] == 0) {
            o[i] = 0;
            if (!lk_col_is_null(k->out, i)) {
                lk_sql_out_null(k->out, i);
                lk_sql_fail(k, i);
            }
        } else if (y[i] == -1) {
            o[i] = (int64_t)(0 - (uint64_t)x[i]);
        } else {
            o[i] = x[i] / y[i];
        }
    }
    lk_sql_out_done(k->out);
}

static void k_mod(lk_sql_kctx *k)
{
    uint32_t n = k->n;
    lk_sql_out_fixed(k->out, n);
    lk_sql_out_and_validity(k->out, k->a, 2, n);
    lk_type t = k->out->field->type;
    for (uint32_t i = 0; i < n; i++) {
        int zero;
        if (t == LK_TYPE_INTEGER) {
            int32_t x = ((const int32_t *)k->a[0]->values)[i],
                    y = ((const int32_t *)k->a[1]->values)[i];
            zero = y == 0;
            ((int32_t *)k->out->values)[i] = zero || y == -1 ? 0 : x % y;
        } else if (t == LK_TYPE_LONG) {
            int64_t x = ((const int64_t *)k->a[0]->values)[i],
                    y = ((const int64_t *)k->a[1]->values)[i];
            zero = y == 0;
            ((int64_t *)k->out->values)[i] = zero || y == -1 ? 0 : x % y;
        } else {
            double x = ((const double *)k->a[0]->values)[i],
                   y = ((const double *)k->a[1]->values)[i];
            zero = y == 0;
            ((double *)k->out->values)[i] = zero ? 0 : fmod(x, y);
        }
        if (zero && !lk_col_is_null(k->out, i)) {
            lk_sql_out_null(k->out, i);
            lk_sql_fail(k, i);
        }
    }
    lk_sql_out_done(k->out);
}

#define UNARY(NAME, EXPR_I, EXPR_L, EXPR_D)                                                        \
    static void NAME(lk_sql_kctx *k)                                                               \
    {                                                                                              \
        uint32_t n = k->n;                                                                         \
        lk_sql_out_fixed(k->out, n);                                                               \
        lk_sql_out_and_validity(k->out, k->a, 1, n);                                               \
        switch (k->a[0]->field->type) {                                                            \
        case LK_TYPE_INTEGER: {                                                                    \
            const int32_t *x = k->a[0]->values;                                                    \
            int32_t *o = k->out->values;                                                           \
            for (uint32_t i = 0; i < n; i++)                                                       \
                o[i] = EXPR_I;                                                                     \
            break;                                                                                 \
        }                                                                                          \
        case LK_TYPE_LONG: {                                                                       \
            const int64_t *x = k->a[0]->values;                                                    \
            int64_t *o = k->out->values;                                                           \
            for (uint32_t i = 0; i < n; i++)                                                       \
                o[i] = EXPR_L;                                                                     \
            break;                                                                                 \
        }                                                                                          \
        default: {                                                                                 \
            const double *x = k->a[0]->values;                                                     \
            double *o = k->out->values;                                                            \
            for (uint32_t i = 0; i < n; i++)                                                       \
                o[i] = EXPR_D;                                                                     \
            break;                                                                                 \
        }                                                                                          \
        }                                                                                          \
        lk_sql_out_done(k->out);                                                                   \
    }

UNARY(k_neg, (int32_t)(0u - (uint32_t)x[i]), (int64_t)(0 - (uint64_t)x[i]), -x[i])
UNARY(k_abs, x[i] < 0 ? (int32_t)(0u - (uint32_t)x[i]) : x[i],
      x[i] < 0 ? (int64_t)(0 - (uint64_t)x[i]) : x[i], fabs(x[i]))
UNARY(k_bitnot, ~x[i], ~x[i], x[i] * 0)

/* ---- comparisons (Spark: NaN equals NaN and is above every number; strings by UTF-8 bytes) ----
 */

static inline int dcmp(double x, double y)
{
    if (x < y) return -1;
    if (x > y) return 1;
    if (x == y) return 0;
    return isnan(x) ? (isnan(y) ? 0 : 1) : -1;
}

static inline int scmp(const lk_col *a, const lk_col *b, uint32_t i)
{
    size_t la, lb;
    const char *x = lk_col_bytes(a, i, &la), *y = lk_col_bytes(b, i, &lb);
    int c = memcmp(x, y, la < lb ? la : lb);
    return c ? (c < 0 ? -1 : 1) : (la < lb ? -1 : la > lb);
}

/* Compares row i of a and row j of b (same type): -1, 0, 1; 0 is Spark's equality (NaN equals
   NaN, -0.0 equals 0.0). */
static inline int cmp_row(const lk_col *a, const lk_col *b, uint32_t i, uint32_t j)
{
    switch (a->field->type) {
    case LK_TYPE_BOOLEAN: {
        int x = ((const uint8_t *)a->values)[i], y = ((const uint8_t *)b->values)[j];
        return (x > y) - (x < y);
    }
    case LK_TYPE_BYTE: {
        int x = ((const int8_t *)a->values)[i], y = ((const int8_t *)b->values)[j];
        return (x > y) - (x < y);
    }
    case LK_TYPE_SHORT: {
        int x = ((const int16_t *)a->values)[i], y = ((const int16_t *)b->values)[j];
        return (x > y) - (x < y);
    }
    case LK_TYPE_FLOAT:
        return dcmp(((const float *)a->values)[i], ((const float *)b->values)[j]);
    case LK_TYPE_INTEGER:
    case LK_TYPE_DATE: {
        int32_t x = ((const int32_t *)a->values)[i], y = ((const int32_t *)b->values)[j];
        return (x > y) - (x < y);
    }
    case LK_TYPE_LONG:
    case LK_TYPE_TIMESTAMP:
    case LK_TYPE_TIMESTAMP_NTZ: {
        int64_t x = ((const int64_t *)a->values)[i], y = ((const int64_t *)b->values)[j];
        return (x > y) - (x < y);
    }
    case LK_TYPE_DOUBLE:
        return dcmp(((const double *)a->values)[i], ((const double *)b->values)[j]);
    case LK_TYPE_DECIMAL: { /* the checker gave both the same scale */
        lk_dec x = lk_dec_read(a, i), y = lk_dec_read(b, j);
        return (x > y) - (x < y);
    }
    default: {
        size_t la, lb;
        const char *x = lk_col_bytes(a, i, &la), *y = lk_col_bytes(b, j, &lb);
        int c = memcmp(x, y, la < lb ? la : lb);
        return c ? (c < 0 ? -1 : 1) : (la < lb ? -1 : la > lb);
    }
    }
}

#define CMP_LOOP(T, GET, TEST)                                                                     \
    do {                                                                                           \
        const T *x = k->a[0]->values, *y = k->a[1]->values;                                        \
        (void)x;                                                                                   \
        (void)y;                                                                                   \
        for (uint32_t i = 0; i < n; i++) {                                                         \
            int c = GET;                                                                           \
            o[i] = (uint8_t)(TEST);                                                                \
        }                                                                                          \
    } while (0)

#define CMP_KERNEL(NAME, TEST)                                                                     \
    static void NAME(lk_sql_kctx *k)                                                               \
    {                                                                                              \
        uint32_t n = k->n;                                                                         \
        lk_sql_out_fixed(k->out, n);                                                               \
        lk_sql_out_and_validity(k->out, k->a, 2, n);                                               \
        uint8_t *o = k->out->values;                                                               \
        switch (k->a[0]->field->type) {                                                            \
        case LK_TYPE_BOOLEAN:                                                                      \
            CMP_LOOP(uint8_t, (x[i] > y[i]) - (x[i] < y[i]), TEST);                                \
            break;                                                                                 \
        case LK_TYPE_INTEGER:                                                                      \
        case LK_TYPE_DATE:                                                                         \
            CMP_LOOP(int32_t, (x[i] > y[i]) - (x[i] < y[i]), TEST);                                \
            break;                                                                                 \
        case LK_TYPE_LONG:                                                                         \
        case LK_TYPE_TIMESTAMP:                                                                    \
        case LK_TYPE_TIMESTAMP_NTZ:                                                                \
            CMP_LOOP(int64_t, (x[i] > y[i]) - (x[i] < y[i]), TEST);                                \
            break;                                                                                 \
        case LK_TYPE_DOUBLE:                                                                       \
            CMP_LOOP(double, dcmp(x[i], y[i]), TEST);                                              \
            break;                                                                                 \
        case LK_TYPE_DECIMAL:                                                                      \
            CMP_LOOP(char, cmp_row(k->a[0], k->a[1], i, i), TEST);                                 \
            break;                                                                                 \
        default:                                                                                   \
            CMP_LOOP(char, scmp(k->a[0], k->a[1], i), TEST);                                       \
            break;                                                                                 \
        }                                                                                          \
        lk_sql_out_done(k->out);                                                                   \
    }

CMP_KERNEL(k_eq, c == 0)
CMP_KERNEL(k_ne, c != 0)
CMP_KERNEL(k_lt, c < 0)
CMP_KERNEL(k_le, c <= 0)
CMP_KERNEL(k_gt, c > 0)
CMP_KERNEL(k_ge, c >= 0)

static void k_nseq(lk_sql_kctx *k)
{
    uint32_t n = k->n;
    lk_sql_out_fixed(k->out, n);
    uint8_t *o = k->out->values;
    for (uint32_t i = 0; i < n; i++) {
        int na = lk_col_is_null(k->a[0], i), nb = lk_col_is_null(k->a[1], i);
        o[i] = (uint8_t)(na || nb ? na && nb : cmp_row(k->a[0], k->a[1], i, i) == 0);
    }
    lk_sql_out_done(k->out);
}

/* ---- logic (three-valued) ---- */

static void k_and_or(lk_sql_kctx *k, int is_and)
{
    uint32_t n = k->n;
    lk_sql_out_fixed(k->out, n);
    const lk_col *a = k->a[0], *b = k->a[1];
    const uint8_t *x = a->values, *y = b->values;
    uint8_t *o = k->out->values;
    if (!a->validity && !b->validity) {
        if (is_and)
            for (uint32_t i = 0; i < n; i++)
                o[i] = x[i] & y[i];
        else
            for (uint32_t i = 0; i < n; i++)
                o[i] = x[i] | y[i];
        lk_sql_out_done(k->out);
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        int na = lk_col_is_null(a, i), nb = lk_col_is_null(b, i);
        int decisive = is_and ? 0 : 1;
        if ((!na && x[i] == decisive) || (!nb && y[i] == decisive))
            o[i] = (uint8_t)decisive;
        else if (na || nb) {
            o[i] = 0;
            lk_sql_out_null(k->out, i);
        } else
            o[i] = (uint8_t)!decisive;
    }
    lk_sql_out_done(k->out);
}

static void k_and(lk_sql_kctx *k)
{
    k_and_or(k, 1);
}

static void k_or(lk_sql_kctx *k)
{
    k_and_or(k, 0);
}

static void k_not(lk_sql_kctx *k)
{
    uint32_t n = k->n;
    lk_sql_out_fixed(k->out, n);
    lk_sql_out_and_validity(k->out, k->a, 1, n);
    const uint8_t *x = k->a[0]->values;
    uint8_t *o = k->out->values;
    for (uint32_t i = 0; i < n; i++)
        o[i] = !x[i];
    lk_sql_out_done(k->out);
}

static void k_isnull_(lk_sql_kctx *k, int want_null)
{
    uint32_t n = k->n;
    lk_sql_out_fixed(k->out, n);
    uint8_t *o = k->out->values;
    for (uint32_t i = 0; i < n; i++)
        o[i] = (uint8_t)(lk_col_is_null(k->a[0], i) == want_null);
    lk_sql_out_done(k->out);
}

static void k_isnull(lk_sql_kctx *k)
{
    k_isnull_(k, 1);
}

static void k_isnotnull(lk_sql_kctx *k)
{
    k_isnull_(k, 0);
}

static void k_istrue_(lk_sql_kctx *k, int want)
{
    uint32_t n = k->n;
    lk_sql_out_fixed(k->out, n);
    uint8_t *o = k->out->values;
    const uint8_t *x = k->a[0]->values;
    for (uint32_t i = 0; i < n; i++)
        o[i] = (uint8_t)(!lk_col_is_null(k->a[0], i) && x[i] == want);
    lk_sql_out_done(k->out);
}

static void k_istrue(lk_sql_kctx *k)
{
    k_istrue_(k, 1);
}

static void k_isfalse(lk_sql_kctx *k)
{
    k_istrue_(k, 0);
}

/* x IN (v1, ...): true on a match; else null when x or any v is null; else false. */
static void k_in(lk_sql_kctx *k)
{
    uint32_t n = k->n;
    lk_sql_out_fixed(k->out, n);
    uint8_t *o = k->out->values;
    const lk_col *x = k->a[0];
    for (uint32_t i = 0; i < n; i++) {
        if (lk_col_is_null(x, i)) {
            o[i] = 0;
            lk_sql_out_null(k->out, i);
            continue;
        }
        int found = 0, nul = 0;
        for (int j = 1; j < k->na && !found; j++) {
            if (lk_col_is_null(k->a[j], i))
                nul = 1;
            else if (cmp_row(x, k->a[j], i, i) == 0)
                found = 1;
        }
        o[i] = (uint8_t)found;
        if (!found && nul) lk_sql_out_null(k->out, i);
    }
    lk_sql_out_done(k->out);
}

/* ---- conditionals: copy row i of src into out (same type) ---- */

static inline void put_row(lk_col *out, const lk_col *src, uint32_t i)
{
    if (lk_col_is_null(src, i)) {
        lk_col_append_null(out);
        return;
    }
    switch (out->field->type) {
    case LK_TYPE_BOOLEAN:
        lk_col_append_bool(out, ((const uint8_t *)src->values)[i]);
        break;
    case LK_TYPE_INTEGER:
    case LK_TYPE_DATE:
        lk_col_append_i32(out, ((const int32_t *)src->values)[i]);
        break;
    case LK_TYPE_LONG:
    case LK_TYPE_TIMESTAMP:
    case LK_TYPE_TIMESTAMP_NTZ:
        lk_col_append_i64(out, ((const int64_t *)src->values)[i]);
        break;
    case LK_TYPE_DOUBLE:
        lk_col_append_f64(out, ((const double *)src->values)[i]);
        break;
    case LK_TYPE_STRING:
    case LK_TYPE_BINARY: {
        size_t len;
        const char *p = lk_col_bytes(src, i, &len);
        lk_col_append_bytes(out, p, len);
        break;
    }
    default:
        lk_col_append_range(out, src, i, 1);
        break;
    }
}

static void k_case(lk_sql_kctx *k)
{
    int nb = k->na / 2, has_else = k->na % 2;
    for (uint32_t i = 0; i < k->n; i++) {
        int taken = -1;
        for (int w = 0; w < nb && taken < 0; w++) {
            const lk_col *c = k->a[2 * w];
            if (!lk_col_is_null(c, i) && ((const uint8_t *)c->values)[i]) taken = 2 * w + 1;
        }
        if (taken < 0 && has_else) taken = k->na - 1;
        if (taken < 0)
            lk_col_append_null(k->out);
        else
            put_row(k->out, k->a[taken], i);
    }
}

static void k_if(lk_sql_kctx *k)
{
    const lk_col *c = k->a[0];
    for (uint32_t i = 0; i < k->n; i++) {
        int t = !lk_col_is_null(c, i) && ((const uint8_t *)c->values)[i];
        put_row(k->out, k->a[t ? 1 : 2], i);
    }
}

static void k_coalesce(lk_sql_kctx *k)
{
    for (uint32_t i = 0; i < k->n; i++) {
        int j = 0;
        while (j < k->na - 1 && lk_col_is_null(k->a[j], i))
            j++;
        put_row(k->out, k->a[j], i);
    }
}

/* nullif(a, b): a's row, or null where a = b; with three arguments (the checker's, when a's type
   is not the comparison's) a's row where the other two differ. */
static void k_nullif(lk_sql_kctx *k)
{
    const lk_col *x = k->a[k->na - 2], *y = k->a[k->na - 1];
    for (uint32_t i = 0; i < k->n; i++) {
        if (!lk_col_is_null(x, i) && !lk_col_is_null(y, i) && cmp_row(x, y, i, i) == 0)
            lk_col_append_null(k->out);
        else
            put_row(k->out, k->a[0], i);
    }
}

static void k_greatest_(lk_sql_kctx *k, int sign)
{
    for (uint32_t i = 0; i < k->n; i++) {
        int best = -1;
        for (int j = 0; j < k->na; j++) {
            if (lk_col_is_null(k->a[j], i)) continue;
            if (best < 0 || cmp_row(k->a[j], k->a[best], i, i) * sign > 0) best = j;
        }
        if (best < 0)
            lk_col_append_null(k->out);
        else
            put_row(k->out, k->a[best], i);
    }
}

static void k_greatest(lk_sql_kctx *k)
{
    k_greatest_(k, 1);
}

static void k_least(lk_sql_kctx *k)
{
    k_greatest_(k, -1);
}

/* ---- strings ---- */

static int all_ascii(const unsigned char *s, size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (s[j] >= 0x80) return 0;
    return 1;
}

void lk_sql_case_full(const char *s, size_t n, int upper, lk_buf *out)
{
    const uint8_t *p = (const uint8_t *)s, *e = p + n;
    lk_buf_reset(out);
    while (p < e) {
        const uint8_t *bad = u8_check(p, (size_t)(e - p)), *end = bad ? bad : e;
        if (end > p) { /* a valid run: mapped as a whole, so that a final sigma sees its word */
            size_t cap = (size_t)(end - p) * 3 + 16, len = cap;
            lk_buf_grow(out, cap);
            uint8_t *dst = (uint8_t *)out->data + out->len;
            uint8_t *r = upper ? u8_toupper(p, (size_t)(end - p), NULL, NULL, dst, &len)
                               : u8_tolower(p, (size_t)(end - p), NULL, NULL, dst, &len);
            if (!r) /* out of memory: unmapped rather than lost */
                lk_buf_append(out, p, (size_t)(end - p));
            else if (r == dst)
                out->len += len;
            else {
                lk_buf_append(out, r, len);
                free(r);
            }
        }
        if (!bad) break;
        lk_buf_putc(out, (char)*bad); /* an invalid byte is kept as it is */
        p = bad + 1;
    }
}

static void k_case_(lk_sql_kctx *k, int upper)
{
    const lk_col *a = k->a[0];
    lk_col *out = k->out;
    size_t total = a->offsets[k->n] - a->offsets[0];
    lk_col_reserve(out, k->n, total + 16);
    for (uint32_t i = 0; i < k->n; i++) {
        if (lk_col_is_null(a, i)) {
            lk_col_append_null(out);
            continue;
        }
        size_t len;
        const unsigned char *s = (const unsigned char *)lk_col_bytes(a, i, &len);
        if (!all_ascii(s, len)) {
            lk_sql_case_full((const char *)s, len, upper, k->tmp);
            lk_col_append_bytes(out, k->tmp->len ? k->tmp->data : "", k->tmp->len);
            continue;
        }
        lk_col_reserve(out, 1, len);
        char *o = out->data + out->data_len;
        for (size_t j = 0; j < len; j++) {
            unsigned char c = s[j];
            o[j] = (char)(upper ? (c >= 'a' && c <= 'z' ? c - 32 : c)
                                : (c >= 'A' && c <= 'Z' ? c + 32 : c));
        }
        out->data_len += len;
        out->offsets[out->len + 1] = (uint32_t)out->data_len;
        if (out->validity) out->validity[out->len >> 3] |= (uint8_t)(1u << (out->len & 7));
        out->len++;
    }
}

static void k_lower(lk_sql_kctx *k)
{
    k_case_(k, 0);
}

static void k_upper(lk_sql_kctx *k)
{
    k_case_(k, 1);
}

static inline size_t ch_len(unsigned char b);

/* Whether the character of n bytes at c is one of set's characters. */
static int in_set(const char *c, size_t n, const char *set, size_t slen)
{
    for (size_t j = 0; j < slen;) {
        size_t m = ch_len((unsigned char)set[j]);
        if (m > slen - j) m = slen - j;
        if (m == n && !memcmp(set + j, c, n)) return 1;
        j += m;
    }
    return 0;
}

/* trim, ltrim, rtrim: spaces; with a second argument (TRIM(... chars FROM s)), any of its
   characters (Spark's UTF8String.trim(trimString); a null set is a null result). */
static void k_trim_(lk_sql_kctx *k, int left, int right)
{
    const lk_col *a = k->a[0];
    for (uint32_t i = 0; i < k->n; i++) {
        if (!lk_sql_valid(k->a, k->na, i)) {
            lk_col_append_null(k->out);
            continue;
        }
        size_t len, slen = 1;
        const char *s = lk_col_bytes(a, i, &len), *set = " ";
        if (k->na == 2) set = lk_col_bytes(k->a[1], i, &slen);
        size_t b = 0, e = len;
        while (left && b < e) {
            size_t m = ch_len((unsigned char)s[b]);
            if (m > e - b) m = e - b;
            if (!in_set(s + b, m, set, slen)) break;
            b += m;
        }
        while (right && e > b) { /* the last character: back over continuation bytes */
            size_t c = e - 1;
            while (c > b && e - c < 4 && ((unsigned char)s[c] & 0xC0) == 0x80)
                c--;
            if (ch_len((unsigned char)s[c]) != e - c) c = e - 1; /* not one whole character */
            if (!in_set(s + c, e - c, set, slen)) break;
            e = c;
        }
        lk_col_append_bytes(k->out, s + b, e - b);
    }
}

static void k_trim(lk_sql_kctx *k)
{
    k_trim_(k, 1, 1);
}

static void k_ltrim(lk_sql_kctx *k)
{
    k_trim_(k, 1, 0);
}

static void k_rtrim(lk_sql_kctx *k)
{
    k_trim_(k, 0, 1);
}

/* The bytes of the character that starts with byte b, as Spark's UTF8String steps
   (numBytesForFirstByte): its lead byte decides; a byte that cannot start a sequence (a stray
   continuation byte, 0xC0, 0xC1, 0xF5..0xFF) is a character of its own. */
static inline size_t ch_len(unsigned char b)
{
    return b < 0xC2 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : b < 0xF5 ? 4 : 1;
}

/* Characters of s, as Spark counts them (a sequence cut short by the end counts as one). */
static int64_t nchars(const char *s, size_t len)
{
    int64_t c = 0;
    for (size_t i = 0; i < len; i += ch_len((unsigned char)s[i]))
        c++;
    return c;
}

/* Byte offset of character ch (clamped to len). */
static size_t char_off(const char *s, size_t len, int64_t ch)
{
    size_t i = 0;
    for (int64_t c = 0; i < len && c < ch; c++)
        i += ch_len((unsigned char)s[i]);
    return i < len ? i : len;
}

/* Spark's UTF8String.substringSQL(pos, length) of s: appended to out. */
static void append_substring(lk_col *out, const char *s, size_t len, int64_t pos, int64_t length)
{
    int64_t nc = nchars(s, len);
    int64_t start = pos > 0 ? pos - 1 : pos < 0 ? nc + pos : 0;
    int64_t end = (INT32_MAX - start) < length ? INT32_MAX : start + length;
    if (end <= start || start >= (int64_t)len) {
        lk_col_append_bytes(out, "", 0);
        return;
    }
    if (start < 0) start = 0;
    if (end <= 0) {
        lk_col_append_bytes(out, "", 0);
        return;
    }
    size_t b = char_off(s, len, start), e = end >= nc ? len : char_off(s, len, end);
    lk_col_append_bytes(out, s + b, e > b ? e - b : 0);
}

static void k_substring(lk_sql_kctx *k)
{
    for (uint32_t i = 0; i < k->n; i++) {
        if (!lk_sql_valid(k->a, k->na, i)) {
            lk_col_append_null(k->out);
            continue;
        }
        size_t len;
        const char *s = lk_col_bytes(k->a[0], i, &len);
        int64_t pos = ((const int32_t *)k->a[1]->values)[i];
        int64_t length = k->na > 2 ? ((const int32_t *)k->a[2]->values)[i] : INT32_MAX;
        append_substring(k->out, s, len, pos, length);
    }
}

/* left(s, n) is substring(s, 1, n); right(s, n) is '' for n <= 0, else substring(s, -n, n). */
static void k_left_right(lk_sql_kctx *k)
{
    int right = k->node->fn == LK_FN_RIGHT;
    for (uint32_t i = 0; i < k->n; i++) {
        if (!lk_sql_valid(k->a, 2, i)) {
            lk_col_append_null(k->out);
            continue;
        }
        size_t len;
        const char *s = lk_col_bytes(k->a[0], i, &len);
        int64_t n = ((const int32_t *)k->a[1]->values)[i];
        if (right && n <= 0)
            lk_col_append_bytes(k->out, "", 0);
        else
            append_substring(k->out, s, len, right ? -n : 1, n);
    }
}

/* The longest string value lpad, rpad, repeat and replace make, and the most bytes one of them
   makes in a batch: past either the value is null and a failure for on_error (Spark would fail
   the task or run out of memory; a column's offsets are 32 bits). */
#define LK_SQL_MAX_MADE (16u << 20)
#define LK_SQL_MAX_MADE_BATCH (1u << 30)

/* 1 (the row's value null and failed) when a value of n bytes is too long for out. */
static int too_long(lk_sql_kctx *k, uint32_t i, uint64_t n)
{
    if (n <= LK_SQL_MAX_MADE && k->out->data_len + n <= LK_SQL_MAX_MADE_BATCH) return 0;
    lk_col_append_null(k->out);
    lk_sql_fail(k, i);
    return 1;
}

/* lpad/rpad(s, len[, pad]) as Spark's UTF8String.lpad/rpad: s cut to len characters, or padded
   to len with pad repeated (the last copy cut); an empty pad pads nothing. */
static void k_pad(lk_sql_kctx *k)
{
    int left = k->node->fn == LK_FN_LPAD;
    lk_buf *t = k->tmp;
    for (uint32_t i = 0; i < k->n; i++) {
        if (!lk_sql_valid(k->a, k->na, i)) {
            lk_col_append_null(k->out);
            continue;
        }
        size_t len, plen = 1;
        const char *s = lk_col_bytes(k->a[0], i, &len), *pad = " ";
        if (k->na > 2) pad = lk_col_bytes(k->a[2], i, &plen);
        int64_t want = ((const int32_t *)k->a[1]->values)[i], nc = nchars(s, len);
        int64_t spaces = want - nc;
        if (spaces <= 0 || plen == 0) {
            append_substring(k->out, s, len, 1, want);
            continue;
        }
        int64_t pc = nchars(pad, plen), count = spaces / pc, rem = spaces % pc;
        size_t rb = char_off(pad, plen, rem);
        if (too_long(k, i, (uint64_t)count * plen + rb + len)) continue;
        lk_buf_reset(t);
        if (!left) lk_buf_append(t, s, len);
        for (int64_t j = 0; j < count; j++)
            lk_buf_append(t, pad, plen);
        lk_buf_append(t, pad, rb);
        if (left) lk_buf_append(t, s, len);
        lk_col_append_bytes(k->out, t->data, t->len);
    }
}

/* repeat(s, n): '' for n <= 0. */
static void k_repeat(lk_sql_kctx *k)
{
    lk_buf *t = k->tmp;
    for (uint32_t i = 0; i < k->n; i++) {
        if (!lk_sql_valid(k->a, 2, i)) {
            lk_col_append_null(k->out);
            continue;
        }
        size_t len;
        const char *s = lk_col_bytes(k->a[0], i, &len);
        int64_t n = ((const int32_t *)k->a[1]->values)[i];
        if (n <= 0 || len == 0) {
            lk_col_append_bytes(k->out, "", 0);
            continue;
        }
        if (too_long(k, i, (uint64_t)n * len)) continue;
        lk_buf_reset(t);
        for (int64_t j = 0; j < n; j++)
            lk_buf_append(t, s, len);
        lk_col_append_bytes(k->out, t->data, t->len);
    }
}

/* replace(s, search[, replacement]): every occurrence, left to right; an empty search replaces
   nothing (Spark's UTF8String.replace). */
static void k_replace(lk_sql_kctx *k)
{
    lk_buf *t = k->tmp;
    for (uint32_t i = 0; i < k->n; i++) {
        if (!lk_sql_valid(k->a, k->na, i)) {
            lk_col_append_null(k->out);
            continue;
        }
        size_t len, sl, rl = 0;
        const char *s = lk_col_bytes(k->a[0], i, &len), *se = lk_col_bytes(k->a[1], i, &sl);
        const char *re = k->na > 2 ? lk_col_bytes(k->a[2], i, &rl) : "";
        if (sl == 0 || sl > len) {
            lk_col_append_bytes(k->out, s, len);
            continue;
        }
        lk_buf_reset(t);
        size_t at = 0;
        int bad = 0;
        for (;;) {
            const char *f = memmem(s + at, len - at, se, sl);
            if (!f) break;
            lk_buf_append(t, s + at, (size_t)(f - (s + at)));
            lk_buf_append(t, re, rl);
            at = (size_t)(f - s) + sl;
            if (rl > sl && (bad = too_long(k, i, t->len + (len - at)))) break;
        }
        if (bad) continue;
        lk_buf_append(t, s + at, len - at);
        lk_col_append_bytes(k->out, t->data ? t->data : "", t->len);
    }
}

/* Spark's UTF8String.indexOf(v, start): the character position of the first v at or after
   character start, matched at character starts; 0 for an empty v (whatever start); -1 if none. */
static int64_t index_of(const char *s, size_t len, const char *v, size_t vl, int64_t start)
{
    if (vl == 0) return 0;
    size_t i = 0;
    int64_t c = 0;
    while (i < len && c < start) {
        i += ch_len((unsigned char)s[i]);
        c++;
    }
    do {
        if (i + vl > len) return -1;
        if (!memcmp(s + i, v, vl)) return c;
        i += ch_len((unsigned char)s[i]);
        c++;
    } while (i < len);
    return -1;
}

/* instr(s, sub): 1-based position of sub in s, 0 if absent; locate(sub, s[, pos]): the same
   from character pos (1-based), 0 for pos < 1 and, as Spark (and Hive), for a null pos. */
static void k_instr_locate(lk_sql_kctx *k)
{
    int locate = k->node->fn == LK_FN_LOCATE;
    const lk_col *str = k->a[locate ? 1 : 0], *sub = k->a[locate ? 0 : 1];
    for (uint32_t i = 0; i < k->n; i++) {
        int64_t pos = 1;
        if (locate && k->na > 2) {
            if (lk_col_is_null(k->a[2], i)) {
                lk_col_append_i32(k->out, 0);
                continue;
            }
            pos = ((const int32_t *)k->a[2]->values)[i];
        }
        if (lk_col_is_null(str, i) || lk_col_is_null(sub, i)) {
            lk_col_append_null(k->out);
            continue;
        }
        if (pos < 1) {
            lk_col_append_i32(k->out, 0);
            continue;
        }
        size_t len, vl;
        const char *s = lk_col_bytes(str, i, &len), *v = lk_col_bytes(sub, i, &vl);
        lk_col_append_i32(k->out, (int32_t)(index_of(s, len, v, vl, pos - 1) + 1));
    }
}

/* startswith, endswith, contains: by bytes; an empty pattern is found everywhere. */
static void k_starts_ends_contains(lk_sql_kctx *k)
{
    int fn = k->node->fn;
    for (uint32_t i = 0; i < k->n; i++) {
        if (!lk_sql_valid(k->a, 2, i)) {
            lk_col_append_null(k->out);
            continue;
        }
        size_t len, pl;
        const char *s = lk_col_bytes(k->a[0], i, &len), *p = lk_col_bytes(k->a[1], i, &pl);
        int r = pl <= len && (pl == 0 || (fn == LK_FN_STARTSWITH ? !memcmp(s, p, pl)
                                          : fn == LK_FN_ENDSWITH ? !memcmp(s + len - pl, p, pl)
                                                                 : memmem(s, len, p, pl) != NULL));
        lk_col_append_bool(k->out, r);
    }
}

/* substring_index(s, delim, count) as Spark's UTF8String.subStringIndex: what is left of the
   count-th delimiter from the left (count > 0) or right of it from the right (count < 0), by
   bytes, overlapping delimiters counted; the whole string when there are fewer. */
static void k_substring_index(lk_sql_kctx *k)
{
    for (uint32_t i = 0; i < k->n; i++) {
        if (!lk_sql_valid(k->a, 3, i)) {
            lk_col_append_null(k->out);
            continue;
        }
        size_t len, dl;
        const char *s = lk_col_bytes(k->a[0], i, &len), *d = lk_col_bytes(k->a[1], i, &dl);
        int64_t count = ((const int32_t *)k->a[2]->values)[i];
        if (dl == 0 || count == 0) {
            lk_col_append_bytes(k->out, "", 0);
            continue;
        }
        /* from the left (count > 0: idx starts before the string) or the right */
        int64_t dir = count > 0 ? 1 : -1, left = count > 0 ? count : -count;
        int64_t idx = count > 0 ? -1 : (int64_t)len - (int64_t)dl + 1;
        while (left > 0) {
            int64_t at = -1;
            for (int64_t st = idx + dir; st >= 0 && st + (int64_t)dl <= (int64_t)len; st += dir)
                if (!memcmp(s + st, d, dl)) {
                    at = st;
                    break;
                }
            if (at < 0) break;
            idx = at;
            left--;
        }
        if (left) /* fewer delimiters than asked: the whole string */
            lk_col_append_bytes(k->out, s, len);
        else if (count > 0)
            lk_col_append_bytes(k->out, s, (size_t)idx);
        else
            lk_col_append_bytes(k->out, s + idx + (int64_t)dl, len - (size_t)idx - dl);
    }
}

/* Each row's string made by f into the scratch buffer t, then appended; null stays null. */
static void map_strings(lk_sql_kctx *k, void (*f)(const unsigned char *s, size_t len, lk_buf *t))
{
    lk_buf *t = k->tmp;
    for (uint32_t i = 0; i < k->n; i++) {
        if (lk_col_is_null(k->a[0], i)) {
            lk_col_append_null(k->out);
            continue;
        }
        size_t len;
        const unsigned char *s = (const unsigned char *)lk_col_bytes(k->a[0], i, &len);
        lk_buf_reset(t);
        lk_buf_grow(t, len);
        f(s, len, t);
        lk_col_append_bytes(k->out, t->len ? t->data : "", t->len);
    }
}

/* initcap(s) as Spark's InitCap, toLowerCase().toTitleCase(): the full lower case (Java's
   String.toLowerCase), then the first character of the text and each one after a space in title
   case, one UTF-16 unit each (Java's Character.toTitleCase(char): a simple mapping, a character
   beyond the BMP unchanged). An invalid byte is kept. */
static void initcap_row(const unsigned char *s, size_t len, lk_buf *t)
{
    if (all_ascii(s, len)) {
        for (size_t j = 0; j < len; j++) {
            unsigned c = s[j];
            int up = j == 0 || s[j - 1] == ' ';
            lk_buf_putc(t, (char)(up ? (c >= 'a' && c <= 'z' ? c - 32 : c)
                                     : (c >= 'A' && c <= 'Z' ? c + 32 : c)));
        }
        return;
    }
    static _Thread_local lk_buf low; /* kept across rows: no allocation per row */
    lk_buf_reset(&low);
    lk_sql_case_full((const char *)s, len, 0, &low);
    const uint8_t *l = (const uint8_t *)low.data;
    for (size_t j = 0; j < low.len;) {
        ucs4_t cp;
        int n = u8_mbtoucr(&cp, l + j, low.len - j);
        if (n <= 0) { /* an invalid byte */
            lk_buf_putc(t, (char)l[j++]);
            continue;
        }
        if ((j == 0 || l[j - 1] == ' ') && cp < 0x10000) {
            uint8_t o[6];
            int m = u8_uctomb(o, uc_totitle(cp), sizeof o);
            if (m > 0) {
                lk_buf_append(t, o, (size_t)m);
                j += (size_t)n;
                continue;
            }
        }
        lk_buf_append(t, l + j, (size_t)n);
        j += (size_t)n;
    }
}

/* reverse(s): its characters in reverse order (a stray byte is a character). */
static void reverse_row(const unsigned char *s, size_t len, lk_buf *t)
{
    t->len = len;
    for (size_t j = 0; j < len;) {
        size_t l = ch_len(s[j]);
        if (l > len - j) l = len - j;
        memcpy(t->data + len - j - l, s + j, l);
        j += l;
    }
}

static void k_initcap(lk_sql_kctx *k)
{
    map_strings(k, initcap_row);
}

static void k_reverse(lk_sql_kctx *k)
{
    map_strings(k, reverse_row);
}

/* One character of s at j (l bytes): its code point, or for bytes that are no well-formed UTF-8
   a value above Unicode's that stands for that byte alone (only the same byte equals it). */
static unsigned cp_at(const unsigned char *s, size_t len, size_t j, size_t *l)
{
    size_t n = lk_utf8_len(s + j, s + len);
    if (!n) {
        *l = 1;
        return 0x110000u + s[j];
    }
    *l = n;
    if (n == 1) return s[j];
    unsigned cp = s[j] & (0x7F >> n);
    for (size_t k = 1; k < n; k++)
        cp = (cp << 6) | (s[j + k] & 0x3F);
    return cp;
}

/* translate(s, from, to) as Spark's StringTranslate: each character of from becomes the character
   at the same place in to (the first mapping of a character wins), or is deleted where to is
   shorter; other characters stay. */
static void k_translate(lk_sql_kctx *k)
{
    lk_buf *t = k->tmp;
    unsigned from[256], to[256]; /* to: UINT32_MAX deletes */
    for (uint32_t i = 0; i < k->n; i++) {
        if (!lk_sql_valid(k->a, 3, i)) {
            lk_col_append_null(k->out);
            continue;
        }
        size_t len, fl, tl, l;
        const unsigned char *s = (const unsigned char *)lk_col_bytes(k->a[0], i, &len);
        const unsigned char *f = (const unsigned char *)lk_col_bytes(k->a[1], i, &fl);
        const unsigned char *r = (const unsigned char *)lk_col_bytes(k->a[2], i, &tl);
        int nmap = 0;
        size_t fj = 0, tj = 0;
        while (fj < fl && nmap < 256) {
            unsigned fc = cp_at(f, fl, fj, &l), tc = UINT32_MAX;
            fj += l;
            if (tj < tl) {
                tc = cp_at(r, tl, tj, &l);
                tj += l;
                if (tc == 0) tc = UINT32_MAX; /* Spark's "\u0000" marks a deletion */
            }
            int seen = 0;
            for (int m = 0; m < nmap && !seen; m++)
                seen = from[m] == fc;
            if (!seen) {
                from[nmap] = fc;
                to[nmap++] = tc;
            }
        }
        lk_buf_reset(t);
        lk_buf_grow(t, len);
        for (size_t j = 0; j < len; j += l) {
            unsigned c = cp_at(s, len, j, &l);
            int m = 0;
            while (m < nmap && from[m] != c)
                m++;
            if (m == nmap) {
                lk_buf_append(t, s + j, l);
            } else if (to[m] != UINT32_MAX) {
                char o[4];
                if (to[m] >= 0x110000u)
                    lk_buf_putc(t, (char)(to[m] - 0x110000u));
                else
                    lk_buf_append(t, o, lk_sql_utf8_put(o, to[m]));
            }
        }
        lk_col_append_bytes(k->out, t->len ? t->data : "", t->len);
    }
}

static void k_octet_length(lk_sql_kctx *k)
{
    for (uint32_t i = 0; i < k->n; i++) {
        if (lk_col_is_null(k->a[0], i)) {
            lk_col_append_null(k->out);
            continue;
        }
        size_t len;
        lk_col_bytes(k->a[0], i, &len);
        lk_col_append_i32(k->out, (int32_t)len);
    }
}

static void k_concat(lk_sql_kctx *k)
{
    lk_col *out = k->out;
    for (uint32_t i = 0; i < k->n; i++) {
        if (!lk_sql_valid(k->a, k->na, i)) {
            lk_col_append_null(out);
            continue;
        }
        size_t total = 0;
        for (int j = 0; j < k->na; j++)
            total += k->a[j]->offsets[i + 1] - k->a[j]->offsets[i];
        lk_col_reserve(out, 1, total);
        for (int j = 0; j < k->na; j++) {
            size_t len;
            const char *s = lk_col_bytes(k->a[j], i, &len);
            if (len) memcpy(out->data + out->data_len, s, len);
            out->data_len += len;
        }
        if (out->validity) out->validity[out->len >> 3] |= (uint8_t)(1u << (out->len & 7));
        out->offsets[++out->len] = (uint32_t)out->data_len;
    }
}

static void k_concat_ws(lk_sql_kctx *k)
{
    lk_col *out = k->out;
    for (uint32_t i = 0; i < k->n; i++) {
        if (lk_col_is_null(k->a[0], i)) {
            lk_col_append_null(out);
            continue;
        }
        size_t sl;
        const char *sep = lk_col_bytes(k->a[0], i, &sl);
        lk_buf *t = k->tmp;
        lk_buf_reset(t);
        int first = 1;
        for (int j = 1; j < k->na; j++) {
            if (lk_col_is_null(k->a[j], i)) continue;
            size_t len;
            const char *s = lk_col_bytes(k->a[j], i, &len);
            if (!first) lk_buf_append(t, sep, sl);
            lk_buf_append(t, s, len);
            first = 0;
        }
        lk_col_append_bytes(out, t->data ? t->data : "", t->len);
    }
}

static void k_length(lk_sql_kctx *k)
{
    uint32_t n = k->n;
    lk_sql_out_fixed(k->out, n);
    lk_sql_out_and_validity(k->out, k->a, 1, n);
    int32_t *o = k->out->values;
    for (uint32_t i = 0; i < n; i++) {
        size_t len;
        const char *s = lk_col_bytes(k->a[0], i, &len);
        o[i] = (int32_t)nchars(s, len);
    }
    lk_sql_out_done(k->out);
}

/* ---- math ---- */

/* Spark's round(double, d): HALF_UP on the shortest decimal text of x (Scala's
   BigDecimal(x)), so round(2.675, 2) = 2.68 where x*100 rounds down. */
static double round_half_up_p(double x, int d, double p);

double lk_sql_round_half_up(double x, int d)
{
    if (!isfinite(x)) return x;
    if (d > 300 || d < -300) return d > 0 ? x : 0.0 * x;
    return round_half_up_p(x, d, pow(10.0, d));
}

/* The same with p = 10^d computed by the caller (once per batch in the kernel). */
static double round_half_up_p(double x, int d, double p)
{
    if (!isfinite(x)) return x;
    double y = fabs(x) * p;
    if (!isfinite(y) || y >= 4503599627370496.0)
        return x; /* beyond 2^52: already an integer at that scale */
    double fl = floor(y), fr = y - fl;
    if (fabs(fr - 0.5) > 1e-6) {
        double r = (fr > 0.5 ? fl + 1 : fl) / p;
        return x < 0 ? -r : r;
    }
    /* near a tie: decide on the shortest decimal text, as Java's BigDecimal */
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, fabs(x));
        if (strtod(buf, NULL) == fabs(x)) break;
    }
    /* buf = d.ddddde±XX: digits and exponent */
    char digits[40];
    int nd = 0, exp10 = atoi(strchr(buf, 'e') + 1);
    for (char *c = buf; *c && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9') digits[nd++] = *c;
    /* the digit at decimal position d (after the point) decides */
    int keep = exp10 + 1 + d; /* digits kept */
    double r;
    if (keep <= 0) {
        r = (keep == 0 && digits[0] >= '5') ? 1.0 / p : 0.0;
    } else if (keep >= nd) {
        r = fabs(x);
    } else {
        char t[64];
        int o = 0;
        for (int i = 0; i < keep; i++)
            t[o++] = digits[i];
        t[o] = 0;
        double m = strtod(t, NULL);
        if (digits[keep] >= '5') m += 1;
        r = m * pow(10.0, exp10 + 1 - keep);
        /* back to the scale exactly: m / 10^d */
        snprintf(t, sizeof t, "%.0fe%d", m, exp10 + 1 - keep);
        r = strtod(t, NULL);
    }
    return x < 0 ? -r : r;
}

static void k_round(lk_sql_kctx *k)
{
    uint32_t n = k->n;
    int d = k->na > 1 ? (int)k->node->args[1]->i : 0;
    lk_sql_out_fixed(k->out, n);
    lk_sql_out_and_validity(k->out, k->a, 1, n);
    switch (k->out->field->type) {
    case LK_TYPE_DOUBLE: {
        const double *x = k->a[0]->values;
        double *o = k->out->values;
        if (d > 300 || d < -300) {
            for (uint32_t i = 0; i < n; i++)
                o[i] = lk_sql_round_half_up(x[i], d);
            break;
        }
        double p = pow(10.0, d);
        for (uint32_t i = 0; i < n; i++)
            o[i] = round_half_up_p(x[i], d, p);
        break;
    }
    default: {
        int is64 = k->out->field->type == LK_TYPE_LONG;
        for (uint32_t i = 0; i < n; i++) {
            int64_t v = is64 ? ((const int64_t *)k->a[0]->values)[i]
                             : ((const int32_t *)k->a[0]->values)[i];
            if (d < 0 && d > -19) {
                int64_t p = 1;
                for (int j = 0; j < -d; j++)
                    p *= 10;
                int64_t q = v / p, r = v % p;
                if (r >= (p + 1) / 2)
                    q++;
                else if (r <= -((p + 1) / 2))
                    q--;
                v = (int64_t)((uint64_t)q * (uint64_t)p);
            } else if (d <= -19) {
                v = 0;
            }
            if (is64)
                ((int64_t *)k->out->values)[i] = v;
            else
                ((int32_t *)k->out->values)[i] = (int32_t)v;
        }
    }
    }
    lk_sql_out_done(k->out);
}

static void k_floor_ceil(lk_sql_kctx *k, int ceil_)
{
    uint32_t n = k->n;
    lk_sql_out_fixed(k->out, n);
    lk_sql_out_and_validity(k->out, k->a, 1, n);
    int64_t *o = k->out->values;
    if (k->a[0]->field->type == LK_TYPE_LONG) {
        memcpy(o, k->a[0]->values, sizeof(int64_t) * n);
    } else {
        const double *x = k->a[0]->values;
        for (uint32_t i = 0; i < n; i++)
            o[i] = lk_sql_d2l(ceil_ ? ceil(x[i]) : floor(x[i]));
    }
    lk_sql_out_done(k->out);
}

static void k_floor(lk_sql_kctx *k)
{
    k_floor_ceil(k, 0);
}

static void k_ceil(lk_sql_kctx *k)
{
    k_floor_ceil(k, 1);
}

/* The cube root of x correctly rounded (from long double): exact on exact cubes, as Java's
   (fdlibm, within 0.667 ulp), where glibc's cbrt can be several ulps off (cbrt(27) is
   3.0000000000000004, cbrt(52734375) 375.00000000000011). The last bit can still differ from
   Java's where fdlibm does not round correctly. */
static double cbrt_near(double x)
{
    return (double)cbrtl((long double)x);
}

static void k_math(lk_sql_kctx *k)
{
    uint32_t n = k->n;
    lk_sql_out_fixed(k->out, n);
    lk_sql_out_and_validity(k->out, k->a, k->na, n);
    const double *x = k->a[0]->values, *y = k->na > 1 ? k->a[1]->values : NULL;
    double *o = k->out->values;
    switch (k->node->fn) {
    case LK_FN_POW:
        for (uint32_t i = 0; i < n; i++)
            o[i] = pow(x[i], y[i]);
        break;
    case LK_FN_SQRT:
        for (uint32_t i = 0; i < n; i++)
            o[i] = sqrt(x[i]);
        break;
    case LK_FN_EXP:
        for (uint32_t i = 0; i < n; i++)
            o[i] = exp(x[i]);
        break;
    case LK_FN_LN: /* Spark: the log of a non-positive number is null (of NaN, NaN) */
        for (uint32_t i = 0; i < n; i++) {
            o[i] = x[i] <= 0 ? 0 : log(x[i]);
            if (x[i] <= 0) lk_sql_out_null(k->out, i);
        }
        break;
    case LK_FN_SIGN:
        for (uint32_t i = 0; i < n; i++)
            o[i] = isnan(x[i]) ? x[i] : x[i] > 0 ? 1.0 : x[i] < 0 ? -1.0 : 0.0;
        break;
    case LK_FN_LOG10: /* null for x <= 0, as ln */
    case LK_FN_LOG2:
        for (uint32_t i = 0; i < n; i++) {
            o[i] = x[i] <= 0 ? 0 : k->node->fn == LK_FN_LOG10 ? log10(x[i]) : log(x[i]) / log(2.0);
            if (x[i] <= 0) lk_sql_out_null(k->out, i);
        }
        break;
    case LK_FN_LOG: /* log(x) is ln; log(base, x): null for base <= 0 or x <= 0 */
        for (uint32_t i = 0; i < n; i++) {
            double b = y ? x[i] : M_E, v = y ? y[i] : x[i];
            int null = b <= 0 || v <= 0; /* NaN is no null: NaN */
            o[i] = null ? 0 : y ? log(v) / log(b) : log(v);
            if (null) lk_sql_out_null(k->out, i);
        }
        break;
    case LK_FN_CBRT:
        for (uint32_t i = 0; i < n; i++)
            o[i] = cbrt_near(x[i]);
        break;
    default:
        break;
    }
    lk_sql_out_done(k->out);
}

/* isnan(x): false for null (Spark's IsNaN); nanvl(a, b): a unless a is NaN, then b. */
static int nan_at(const lk_col *c, uint32_t i)
{
    return !lk_col_is_null(c, i) && (c->field->type == LK_TYPE_FLOAT
                                         ? isnan(((const float *)c->values)[i])
                                         : isnan(((const double *)c->values)[i]));
}

static void k_isnan(lk_sql_kctx *k)
{
    for (uint32_t i = 0; i < k->n; i++)
        lk_col_append_bool(k->out, nan_at(k->a[0], i));
}

static void k_nanvl(lk_sql_kctx *k)
{
    for (uint32_t i = 0; i < k->n; i++)
        put_row(k->out, k->a[nan_at(k->a[0], i) ? 1 : 0], i);
}

/* (struct).field: the field's column */
static void k_getfield(lk_sql_kctx *k)
{
    lk_col_append_range(k->out, &k->a[0]->children[k->node->i], 0, k->n);
}

/* ---- arrays and maps ---- */

/* a[i] (Spark's GetArrayItem: 0-based, null out of range), element_at(a, i) (1-based, negative
   from the end, null out of range; 0 is an error in Spark: null and failed here), m[k] and
   element_at(m, k) (the value of the first equal key, null when there is none). An index out of
   range and element_at's missing key are what ANSI mode raises: marked failed (on_error). */
static void k_subscript(lk_sql_kctx *k)
{
    const lk_col *c = k->a[0], *x = k->a[1];
    int one_based = k->node->fn == LK_FN_ELEMENT_AT, map = c->field->type == LK_TYPE_MAP;
    for (uint32_t i = 0; i < k->n; i++) {
        if (!lk_sql_valid(k->a, 2, i)) {
            lk_col_append_null(k->out);
            continue;
        }
        uint32_t b = c->offsets[i], len = c->offsets[i + 1] - b;
        int64_t at = -1;
        if (map) {
            const lk_col *keys = &c->children[0];
            for (uint32_t j = 0; j < len && at < 0; j++)
                if (!lk_col_is_null(keys, b + j) && !cmp_row(keys, x, b + j, i)) at = j;
            if (at >= 0) {
                lk_col_append_range(k->out, &c->children[1], b + (uint32_t)at, 1);
                continue;
            }
            if (one_based) lk_sql_fail(k, i);
        } else {
            int64_t ix = ((const int32_t *)x->values)[i];
            if (!one_based)
                at = ix >= 0 && ix < (int64_t)len ? ix : -1;
            else if (ix > 0)
                at = ix <= (int64_t)len ? ix - 1 : -1;
            else if (ix < 0)
                at = (int64_t)len + ix >= 0 ? (int64_t)len + ix : -1;
            if (at >= 0) {
                lk_col_append_range(k->out, &c->children[0], b + (uint32_t)at, 1);
                continue;
            }
            lk_sql_fail(k, i); /* out of range; 0: SQL array indices start at 1 */
        }
        lk_col_append_null(k->out);
    }
}

/* size(x): the number of elements (entries), -1 for null (Spark's default,
   spark.sql.legacy.sizeOfNull). */
static void k_size(lk_sql_kctx *k)
{
    const lk_col *c = k->a[0];
    for (uint32_t i = 0; i < k->n; i++)
        lk_col_append_i32(k->out, lk_col_is_null(c, i) ? -1
                                                       : (int32_t)(c->offsets[i + 1] - c->offsets[i]));
}

/* array_contains(a, v): true when an element equals v; else null when an element is null, false
   otherwise; null for a null array or value (Spark's ArrayContains). */
static void k_array_contains(lk_sql_kctx *k)
{
    const lk_col *c = k->a[0], *x = k->a[1], *el = &c->children[0];
    for (uint32_t i = 0; i < k->n; i++) {
        if (!lk_sql_valid(k->a, 2, i)) {
            lk_col_append_null(k->out);
            continue;
        }
        int found = 0, nulls = 0;
        for (uint32_t j = c->offsets[i]; j < c->offsets[i + 1] && !found; j++) {
            if (lk_col_is_null(el, j))
                nulls = 1;
            else
                found = !cmp_row(el, x, j, i);
        }
        if (!found && nulls)
            lk_col_append_null(k->out);
        else
            lk_col_append_bool(k->out, found);
    }
}

/* ---- the table ---- */

int lk_sql_func_kernel(const lk_sql_node *node, const char *text, lk_sql_kernel *kp, void **aux,
                       void (**aux_free)(void *), lk_error *err)
{
    *aux = NULL;
    *aux_free = NULL;
    lk_sql_kernel k = NULL;
    if (node->kind == LK_SQL_CAST) return lk_sql_cast_kernel(node, kp, err);
    if (node->kind == LK_SQL_CASE) {
        *kp = k_case;
        return 0;
    }
    switch (node->fn) {
    case LK_FN_ADD:
        k = k_add;
        break;
    case LK_FN_SUB:
        k = k_sub;
        break;
    case LK_FN_MUL:
        k = k_mul;
        break;
    case LK_FN_DIV:
        k = k_div;
        break;
    case LK_FN_IDIV:
        k = k_idiv;
        break;
    case LK_FN_MOD:
        k = k_mod;
        break;
    case LK_FN_NEG:
        k = k_neg;
        break;
    case LK_FN_ABS:
        k = k_abs;
        break;
    case LK_FN_BITAND:
        k = k_bitand;
        break;
    case LK_FN_BITOR:
        k = k_bitor;
        break;
    case LK_FN_BITXOR:
        k = k_bitxor;
        break;
    case LK_FN_BITNOT:
        k = k_bitnot;
        break;
    case LK_FN_EQ:
        k = k_eq;
        break;
    case LK_FN_NE:
        k = k_ne;
        break;
    case LK_FN_LT:
        k = k_lt;
        break;
    case LK_FN_LE:
        k = k_le;
        break;
    case LK_FN_GT:
        k = k_gt;
        break;
    case LK_FN_GE:
        k = k_ge;
        break;
    case LK_FN_NSEQ:
        k = k_nseq;
        break;
    case LK_FN_AND:
        k = k_and;
        break;
    case LK_FN_OR:
        k = k_or;
        break;
    case LK_FN_NOT:
        k = k_not;
        break;
    case LK_FN_ISNULL:
        k = k_isnull;
        break;
    case LK_FN_ISNOTNULL:
        k = k_isnotnull;
        break;
    case LK_FN_ISTRUE:
        k = k_istrue;
        break;
    case LK_FN_ISFALSE:
        k = k_isfalse;
        break;
    case LK_FN_IN:
        k = k_in;
        break;
    case LK_FN_IF:
        k = k_if;
        break;
    case LK_FN_COALESCE:
        k = k_coalesce;
        break;
    case LK_FN_NULLIF:
        k = k_nullif;
        break;
    case LK_FN_GREATEST:
        k = k_greatest;
        break;
    case LK_FN_LEAST:
        k = k_least;
        break;
    case LK_FN_LOWER:
        k = k_lower;
        break;
    case LK_FN_UPPER:
        k = k_upper;
        break;
    case LK_FN_TRIM:
        k = k_trim;
        break;
    case LK_FN_LTRIM:
        k = k_ltrim;
        break;
    case LK_FN_RTRIM:
        k = k_rtrim;
        break;
    case LK_FN_SUBSTRING:
        k = k_substring;
        break;
    case LK_FN_CONCAT:
        k = k_concat;
        break;
    case LK_FN_CONCAT_WS:
        k = k_concat_ws;
        break;
    case LK_FN_LENGTH:
        k = k_length;
        break;
    case LK_FN_ROUND:
        k = k_round;
        break;
    case LK_FN_GETFIELD:
        k = k_getfield;
        break;
    case LK_FN_SUBSCRIPT:
    case LK_FN_ELEMENT_AT:
        k = k_subscript;
        break;
    case LK_FN_LPAD:
    case LK_FN_RPAD:
        k = k_pad;
        break;
    case LK_FN_REPEAT:
        k = k_repeat;
        break;
    case LK_FN_REPLACE:
        k = k_replace;
        break;
    case LK_FN_INSTR:
    case LK_FN_LOCATE:
        k = k_instr_locate;
        break;
    case LK_FN_LEFT:
    case LK_FN_RIGHT:
        k = k_left_right;
        break;
    case LK_FN_STARTSWITH:
    case LK_FN_ENDSWITH:
    case LK_FN_CONTAINS:
        k = k_starts_ends_contains;
        break;
    case LK_FN_SUBSTRING_INDEX:
        k = k_substring_index;
        break;
    case LK_FN_INITCAP:
        k = k_initcap;
        break;
    case LK_FN_REVERSE:
        k = k_reverse;
        break;
    case LK_FN_OCTET_LENGTH:
        k = k_octet_length;
        break;
    case LK_FN_TRANSLATE:
        k = k_translate;
        break;
    case LK_FN_LOG10:
    case LK_FN_LOG2:
    case LK_FN_LOG:
    case LK_FN_CBRT:
        k = k_math;
        break;
    case LK_FN_ISNAN:
        k = k_isnan;
        break;
    case LK_FN_NANVL:
        k = k_nanvl;
        break;
    case LK_FN_SIZE:
        k = k_size;
        break;
    case LK_FN_ARRAY_CONTAINS:
        k = k_array_contains;
        break;
    case LK_FN_FLOOR:
        k = k_floor;
        break;
    case LK_FN_CEIL:
        k = k_ceil;
        break;
    case LK_FN_POW:
    case LK_FN_SQRT:
    case LK_FN_EXP:
    case LK_FN_LN:
    case LK_FN_SIGN:
        k = k_math;
        break;
    case LK_FN_LIKE:
    case LK_FN_ILIKE:
    case LK_FN_RLIKE:
    case LK_FN_SPLIT:
    case LK_FN_REGEXP_EXTRACT:
    case LK_FN_REGEXP_REPLACE:
        return lk_sql_regex_kernel(node, text, kp, aux, aux_free, err);
    case LK_FN_SHA2:
    case LK_FN_MD5:
    case LK_FN_SHA1:
        return lk_sql_hash_kernel(node, text, kp, aux, aux_free, err);
    case LK_FN_GET_JSON_OBJECT:
    case LK_FN_FROM_JSON:
        return lk_sql_json_kernel(node, text, kp, aux, aux_free, err);
    default:
        return lk_sql_time_kernel(node, text, kp, aux, aux_free, err);
    }
    *kp = k;
    return 0;
}
