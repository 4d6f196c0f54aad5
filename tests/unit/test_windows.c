/* Unit tests for pipeline/lk_gold and lk_windows (issue 12): window
   assignment at boundaries (tumbling, sliding, negative times), the merge
   of partials (associative, order-independent: any split of the rows into
   chunks and any merge order give the answer of one pass, which equals a
   brute-force computation), late and time-less rows, event time from
   ISO strings with zones and epoch seconds/milliseconds, close emitting a
   window once, the saved state round trip, min/max of strings (byte order),
   binaries, dates, booleans and timestamps, approx_percentile's array form
   (and a small digest's exact percentile_disc), and configuration errors
   with file, line and key. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_config.h"
#include "lk_ddl.h"
#include "lk_decimal.h"
#include "lk_gold.h"
#include "lk_hll.h"
#include "lk_tdigest.h"
#include "lk_time.h"
#include "lk_windows.h"

#define MIN_US 60000000LL


static lk_config *load_ok(const char *text)
{
    lk_error err;
    int rc;
    lk_config *cfg = lk_check_load_config(text, &err, &rc);
    ck_assert_msg(rc == 0, "%s", err.msg);
    return cfg;
}

#define AGGS                                                                                       \
    "  aggregates: {n: \"count(*)\", np: \"count(price)\", s: \"sum(amount)\", sp: "             \
    "\"sum(price)\", lo: \"min(amount)\", hi: \"max(price)\", av: \"avg(amount)\"}\n"

static const char *const CFG_TUMBLING = "transform:\n  event_time: ts\n  watermark: 30s\n"
                                        "metrics:\n  window: \"1 minute\"\n  group_by: [k]\n" AGGS;

START_TEST(window_assignment)
{
    lk_config *c = load_ok(CFG_TUMBLING);
    int64_t s, e;
    ck_assert(lk_gold_window(c, 0, 0, &s, &e) && s == 0 && e == MIN_US);
    ck_assert(!lk_gold_window(c, 0, 1, &s, &e)); /* tumbling: one window */
    ck_assert(lk_gold_window(c, MIN_US - 1, 0, &s, &e) && s == 0);
    ck_assert(lk_gold_window(c, MIN_US, 0, &s, &e) && s == MIN_US && e == 2 * MIN_US);
    ck_assert(lk_gold_window(c, -1, 0, &s, &e) && s == -MIN_US && e == 0);
    free(c);
    c = load_ok("transform:\n  event_time: ts\nmetrics:\n  window: {size: \"10 minutes\", slide: "
                "\"5 minutes\"}\n  aggregates: {n: \"count(*)\"}\n");
    ck_assert_int_eq(c->metrics.window, LK_WINDOW_SLIDING);
    int64_t t = 7 * MIN_US, starts[4];
    int n = 0;
    while (lk_gold_window(c, t, n, &s, &e))
        starts[n++] = s;
    ck_assert_int_eq(n, 2);
    ck_assert(starts[0] == 5 * MIN_US && starts[1] == 0);
    n = 0; /* at a boundary: [10, 20) and [5, 15), not [0, 10) */
    while (lk_gold_window(c, 10 * MIN_US, n, &s, &e))
        starts[n++] = s;
    ck_assert_int_eq(n, 2);
    ck_assert(starts[0] == 10 * MIN_US && starts[1] == 5 * MIN_US);
    free(c);
}
END_TEST

/* rows of (k, ts, amount, price): random, some nulls */
static lk_batch *random_rows(const lk_schema *s, int n, unsigned seed, int from, int count)
{
    lk_batch *b = lk_batch_new(s);
    srand(seed);
    static const char *const keys[] = {"a", "b", "c"};
    for (int i = 0; i < n; i++) {
        int k = rand() % 3;
        int64_t ts = (int64_t)(rand() % 600) * 1000000 + rand() % 1000000;
        int64_t amount = rand() % 2001 - 1000;
        double price = (rand() % 100000) / 100.0;
        int null_price = rand() % 10 == 0, null_k = rand() % 20 == 0;
        if (i < from || i >= from + count) continue;
        if (null_k)
            lk_col_append_null(lk_batch_col(b, 0));
        else
            lk_col_append_bytes(lk_batch_col(b, 0), keys[k], 1);
        lk_col_append_i64(lk_batch_col(b, 1), ts);
        lk_col_append_i64(lk_batch_col(b, 2), amount);
        if (null_price)
            lk_col_append_null(lk_batch_col(b, 3));
        else
            lk_col_append_f64(lk_batch_col(b, 3), price);
        lk_batch_set_nrows(b, lk_batch_nrows(b) + 1);
    }
    return b;
}

/* The rows windows_of folds: random_rows unless a test sets another. */
static lk_batch *(*g_rows)(const lk_schema *, int, unsigned, int, int) = random_rows;

/* The rows split at cuts (ascending, ending with n), merged in order
   (reverse: last chunk first), closed at +inf. */
static lk_batch *windows_of(const lk_config *c, const lk_schema *s, int n, const int *cuts,
                            int ncuts, int reverse)
{
    lk_error err;
    lk_gold *g = NULL;
    ck_assert_msg(lk_gold_new(c, s, &g, &err) == 0, "%s", err.msg);
    lk_windows *w = lk_gold_windows_new(g);
    lk_batch *part = lk_batch_new(lk_gold_partial_schema(g));
    for (int j = 0; j < ncuts; j++) {
        int i = reverse ? ncuts - 1 - j : j;
        int from = i ? cuts[i - 1] : 0;
        lk_batch *b = g_rows(s, n, 42, from, cuts[i] - from);
        ck_assert_int_eq(lk_gold_run(g, b, INT64_MIN, 0, &err), 0);
        lk_batch_reset(part);
        lk_gold_partial(g, part);
        ck_assert_int_eq(lk_windows_merge(w, part, &err), 0);
        lk_batch_destroy(&b);
    }
    lk_batch *out = lk_batch_new(lk_gold_output_schema(g));
    lk_windows_close(w, INT64_MAX, out);
    ck_assert_int_eq(lk_windows_ngroups(w), 0);
    lk_batch_destroy(&part);
    lk_windows_destroy(&w);
    lk_gold_destroy(&g);
    return out;
}

static void assert_same(const lk_batch *a, const lk_batch *b)
{
    ck_assert_uint_eq(lk_batch_nrows(a), lk_batch_nrows(b));
    for (int c = 0; c < lk_batch_ncols(a); c++) {
        const lk_col *x = lk_batch_col_const(a, c), *y = lk_batch_col_const(b, c);
        for (uint32_t r = 0; r < lk_batch_nrows(a); r++) {
            ck_assert_int_eq(lk_col_is_null(x, r), lk_col_is_null(y, r));
            if (lk_col_is_null(x, r)) continue;
            if (x->field->type == LK_TYPE_DOUBLE) {
                double p = lk_col_f64(x, r), q = lk_col_f64(y, r);
                ck_assert_msg(fabs(p - q) <= 1e-9 * fmax(1, fabs(q)), "col %d row %u: %f vs %f", c,
                              r, p, q);
            } else if (x->field->type == LK_TYPE_STRING || x->field->type == LK_TYPE_BINARY) {
                size_t n1, n2;
                const char *s1 = lk_col_bytes(x, r, &n1), *s2 = lk_col_bytes(y, r, &n2);
                ck_assert(n1 == n2 && !memcmp(s1, s2, n1));
            } else { /* fixed width: its bytes (dates 4, booleans 1, longs 8) */
                uint32_t es = lk_col_elem_size(x->field);
                ck_assert_msg(!memcmp((const char *)x->values + (size_t)r * es,
                                      (const char *)y->values + (size_t)r * es, es),
                              "col %d row %u", c, r);
            }
        }
    }
}

/* The end of a test of windows_of's answers: the reference rows, up to
   three answers (x3 may be NULL), the schema and the configuration. */
static void teardown(lk_config *c, lk_schema **s, lk_batch **all, lk_batch **x1, lk_batch **x2,
                     lk_batch **x3)
{
    lk_batch_destroy(all);
    lk_batch_destroy(x1);
    lk_batch_destroy(x2);
    if (x3) lk_batch_destroy(x3);
    lk_schema_destroy(s);
    free(c);
}

/* Row i of random_rows' columns is in the 1-minute window starting at ws with key k (NULL: a null
   key) of kn bytes. */
static int in_window(const lk_batch *all, uint32_t i, int64_t ws, const char *k, size_t kn)
{
    const lk_col *ak = lk_batch_col_const(all, 0);
    int64_t t = lk_col_i64(lk_batch_col_const(all, 1), i);
    if (t - t % MIN_US != ws) return 0;
    size_t an = 0;
    const char *akv = lk_col_is_null(ak, i) ? NULL : lk_col_bytes(ak, i, &an);
    return (k == NULL) == (akv == NULL) && (!k || (kn == an && !memcmp(k, akv, kn)));
}

START_TEST(merge_is_associative_and_order_independent)
{
    lk_config *c = load_ok(CFG_TUMBLING);
    lk_schema *s = lk_check_schema_of("k STRING, ts TIMESTAMP, amount BIGINT, price DOUBLE");
    const int n = 3000;
    int one[] = {n}, three[] = {700, 1900, n}, many[] = {1, 2, 500, 501, 1200, 2999, n};
    lk_batch *a = windows_of(c, s, n, one, 1, 0);
    lk_batch *b = windows_of(c, s, n, three, 3, 0);
    lk_batch *d = windows_of(c, s, n, many, 7, 1);
    assert_same(a, b);
    assert_same(a, d);
    /* brute force: every window's count(*), sum(amount), min(amount), max(price), count(price) */
    lk_batch *all = random_rows(s, n, 42, 0, n);
    const lk_schema *os = lk_batch_schema(a);
    ck_assert_str_eq(lk_schema_field(os, 0)->name, "window_start");
    ck_assert_str_eq(lk_schema_field(os, 2)->name, "k");
    ck_assert_str_eq(lk_schema_field(os, 3)->name, "n");
    int64_t total = 0;
    for (uint32_t r = 0; r < lk_batch_nrows(a); r++) {
        int64_t ws = lk_col_i64(lk_batch_col_const(a, 0), r);
        const lk_col *kc = lk_batch_col_const(a, 2);
        size_t kn = 0;
        const char *k = lk_col_is_null(kc, r) ? NULL : lk_col_bytes(kc, r, &kn);
        int64_t cnt = 0, sum = 0, lo = INT64_MAX, np = 0;
        double hi = -1;
        for (uint32_t i = 0; i < lk_batch_nrows(all); i++) {
            if (!in_window(all, i, ws, k, kn)) continue;
            int64_t v = lk_col_i64(lk_batch_col_const(all, 2), i);
            cnt++;
            sum += v;
            if (v < lo) lo = v;
            const lk_col *pc = lk_batch_col_const(all, 3);
            if (!lk_col_is_null(pc, i)) {
                np++;
                if (lk_col_f64(pc, i) > hi) hi = lk_col_f64(pc, i);
            }
        }
        ck_assert_int_eq(lk_col_i64(lk_batch_col_const(a, 3), r), cnt);
        ck_assert_int_eq(lk_col_i64(lk_batch_col_const(a, 4), r), np);
        ck_assert_int_eq(lk_col_i64(lk_batch_col_const(a, 5), r), sum);
        ck_assert_int_eq(lk_col_i64(lk_batch_col_const(a, 7), r), lo);
        ck_assert(lk_col_f64(lk_batch_col_const(a, 8), r) == hi);
        ck_assert(fabs(lk_col_f64(lk_batch_col_const(a, 9), r) - (double)sum / (double)cnt) < 1e-9);
        total += cnt;
    }
    ck_assert_int_eq(total, n);
    /* output types: counts LONG, sum of a BIGINT LONG, of a DOUBLE DOUBLE, min the input's */
    ck_assert_int_eq(lk_schema_field(os, 5)->type, LK_TYPE_LONG);
    ck_assert_int_eq(lk_schema_field(os, 6)->type, LK_TYPE_DOUBLE);
    ck_assert_int_eq(lk_schema_field(os, 9)->type, LK_TYPE_DOUBLE);
    teardown(c, &s, &all, &a, &b, &d);
}
END_TEST

/* value * 10^k / n, HALF_UP (the test's own arithmetic for Spark's avg of a decimal) */
static __int128 half_up_div(__int128 v, __int128 n)
{
    __int128 m = v < 0 ? -v : v, q = m / n, r = m % n;
    if (2 * r >= n) q++;
    return v < 0 ? -q : q;
}

static __int128 dec_at(const lk_col *c, uint32_t r)
{
    if (c->field->precision <= 18) return lk_col_i64(c, r);
    const unsigned char *be = (const unsigned char *)c->values + (size_t)r * 16;
    unsigned __int128 x = 0;
    for (int k = 0; k < 16; k++)
        x = (x << 8) | be[k];
    return (__int128)x;
}

/* Aggregates over decimals are exact, with Spark's result types: sum(DECIMAL(p,s)) is
   DECIMAL(p+10, s), avg DECIMAL(p+4, s+4) (Spark 3.4+ rounds the quotient HALF_UP at scale 38,
   then at 6; for counts below 10^32 that is one HALF_UP at 6, which the check computes), min/max and approx_percentile the input's type; any split of the
   rows into chunks gives the same windows; the argument's text may start with an operator or
   parentheses, or hold a string with a comma. */
START_TEST(aggregates_of_decimal_expressions)
{
    lk_config *dec = load_ok("transform:\n  event_time: ts\nmetrics:\n  window: \"1 minute\"\n"
                             "  group_by: [k]\n  aggregates: {s: \"sum(amount * 0.5)\", "
                             "m: \"max((amount + 1) * 1.5)\", lo: \"min(CAST(price AS DECIMAL(10,2)))\", "
                             "a: \"avg(CAST(price AS DECIMAL(10,2)))\", "
                             "p: \"approx_percentile(amount * 0.5, 0.5)\", "
                             "c: \"sum(if(k = ',)', 0.5, 1.5))\"}\n");
    lk_config *dbl = load_ok("transform:\n  event_time: ts\nmetrics:\n  window: \"1 minute\"\n"
                             "  group_by: [k]\n  aggregates: {p: \"approx_percentile(amount * 0.5D, 0.5)\"}\n");
    lk_schema *s = lk_check_schema_of("k STRING, ts TIMESTAMP, amount BIGINT, price DOUBLE");
    const int n = 3000;
    int one[] = {n}, three[] = {700, 1900, n};
    lk_batch *a = windows_of(dec, s, n, one, 1, 0);
    lk_batch *b = windows_of(dec, s, n, three, 3, 1);
    lk_batch *d = windows_of(dbl, s, n, one, 1, 0);
    assert_same(a, b);
    const lk_schema *os = lk_batch_schema(a);
    static const struct {
        int col, p, s;
    } types[] = {{3, 32, 1}, {4, 23, 1}, {5, 10, 2}, {6, 14, 6}, {7, 22, 1}, {8, 12, 1}};
    for (int i = 0; i < 6; i++) {
        const lk_field *f = lk_schema_field(os, types[i].col);
        ck_assert_msg(f->type == LK_TYPE_DECIMAL && f->precision == types[i].p &&
                          f->scale == types[i].s,
                      "%s: %s(%d,%d)", f->name, lk_type_name(f->type), f->precision, f->scale);
    }
    ck_assert_uint_eq(lk_batch_nrows(a), lk_batch_nrows(d));
    lk_batch *all = random_rows(s, n, 42, 0, n);
    for (uint32_t r = 0; r < lk_batch_nrows(a); r++) {
        int64_t ws = lk_col_i64(lk_batch_col_const(a, 0), r);
        const lk_col *kc = lk_batch_col_const(a, 2);
        size_t kn = 0;
        const char *k = lk_col_is_null(kc, r) ? NULL : lk_col_bytes(kc, r, &kn);
        int64_t cnt = 0, sum = 0, hi = INT64_MIN, np = 0, lo = INT64_MAX;
        __int128 cents = 0;
        for (uint32_t i = 0; i < lk_batch_nrows(all); i++) {
            if (!in_window(all, i, ws, k, kn)) continue;
            int64_t v = lk_col_i64(lk_batch_col_const(all, 2), i);
            cnt++;
            sum += v;
            if (v > hi) hi = v;
            const lk_col *pc = lk_batch_col_const(all, 3);
            if (!lk_col_is_null(pc, i)) {
                int64_t c = llround(lk_col_f64(pc, i) * 100);
                np++;
                cents += c;
                if (c < lo) lo = c;
            }
        }
        ck_assert(dec_at(lk_batch_col_const(a, 3), r) == (__int128)sum * 5);
        ck_assert(dec_at(lk_batch_col_const(a, 4), r) == (__int128)(hi + 1) * 15);
        if (np) {
            ck_assert(dec_at(lk_batch_col_const(a, 5), r) == lo);
            ck_assert(dec_at(lk_batch_col_const(a, 6), r) == half_up_div(cents * 10000, np));
        }
        ck_assert(dec_at(lk_batch_col_const(a, 8), r) == (__int128)cnt * 15);
        /* the percentile: the double version's value, at scale 1 */
        ck_assert(lk_col_i64(lk_batch_col_const(d, 0), r) == ws);
        ck_assert(dec_at(lk_batch_col_const(a, 7), r) ==
                  llround(lk_col_f64(lk_batch_col_const(d, 3), r) * 10));
    }
    lk_batch_destroy(&a);
    lk_batch_destroy(&b);
    lk_batch_destroy(&d);
    lk_batch_destroy(&all);
    lk_schema_destroy(&s);
    free(dec);
    free(dbl);
}
END_TEST

/* One value per row of a DECIMAL(p,s) column, unscaled. */
static lk_batch *dec_rows(lk_schema **in, int p, int s, const lk_dec *v, int n)
{
    char ddl[64];
    snprintf(ddl, sizeof ddl, "v DECIMAL(%d,%d)", p, s);
    *in = lk_check_schema_of(ddl);
    lk_batch *b = lk_batch_new(*in);
    for (int i = 0; i < n; i++) {
        lk_dec_append(lk_batch_col(b, 0), v[i]);
        lk_batch_end_row(b);
    }
    return b;
}

/* avg of decimals as Spark 3.4+ (the quotient at scale 38 HALF_UP, then HALF_UP to s + 4: the
   two roundings differ from one where the digit after s + 4 is a 4 followed by a 5), also past 25
   digits; session windows that merge carry their exact sums and counts. */
START_TEST(decimal_avg_and_sessions)
{
    lk_agg_spec sp[3] = {{.name = "s", .kind = LK_AGG_SUM, .in_type = LK_TYPE_DECIMAL},
                         {.name = "a", .kind = LK_AGG_AVG, .in_type = LK_TYPE_DECIMAL},
                         {.name = "lo", .kind = LK_AGG_MIN, .in_type = LK_TYPE_DECIMAL}};
    static const struct {
        int p, s, n;
        lk_dec v[11];
        lk_dec avg; /* unscaled at min(38, s + 4) */
    } cases[] = {
        /* 5E-33 / 11 = 4.5454...E-34: 45455E-38, then 4546E-37 (one rounding: 4545E-37) */
        {38, 33, 11, {5}, 4546},
        /* (1 + 2 + 2) / 3 in DECIMAL(30,10): 1.66666666666667 as DECIMAL(34,14) */
        {30, 10, 3, {10000000000LL, 20000000000LL, 20000000000LL}, 166666666666667LL},
        /* -1 / 2 at scale 4 in DECIMAL(5,0): -0.5000 */
        {5, 0, 2, {-1, 0}, -5000},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        for (int k = 0; k < 3; k++) {
            sp[k].dec_p = cases[t].p;
            sp[k].dec_s = cases[t].s;
        }
        lk_windows *w = lk_windows_new(NULL, 0, sp, 3);
        lk_schema *in = NULL;
        lk_batch *b = dec_rows(&in, cases[t].p, cases[t].s, cases[t].v, cases[t].n);
        for (uint32_t i = 0; i < (uint32_t)cases[t].n; i++) {
            uint32_t g = lk_windows_group(w, 0, MIN_US, NULL, i);
            for (int k = 0; k < 3; k++)
                lk_windows_add(w, g, k, lk_batch_col(b, 0), i);
        }
        lk_batch *out = lk_batch_new(lk_windows_output_schema(w));
        ck_assert_uint_eq(lk_windows_close(w, INT64_MAX, out), 1);
        ck_assert_msg(dec_at(lk_batch_col_const(out, 3), 0) == cases[t].avg, "case %zu: avg %lld",
                      t, (long long)dec_at(lk_batch_col_const(out, 3), 0));
        lk_batch_destroy(&out);
        lk_batch_destroy(&b);
        lk_schema_destroy(&in);
        lk_windows_destroy(&w);
    }
    /* sessions of gap G: 1.00 in [0, G), 2.00 in [G, 2G), then 3.00 in [G - 1, 2G - 1) bridges
       them: one session, sum 6.00, avg 2.000000, min 1.00 */
    for (int k = 0; k < 3; k++) {
        sp[k].dec_p = 10;
        sp[k].dec_s = 2;
    }
    const int64_t G = 5000000;
    lk_windows *w = lk_windows_new(NULL, 0, sp, 3);
    lk_windows_set_sessions(w);
    lk_schema *in = NULL;
    lk_dec v[] = {100, 200, 300};
    lk_batch *b = dec_rows(&in, 10, 2, v, 3);
    const int64_t st[] = {0, G, G - 1};
    for (uint32_t i = 0; i < 3; i++) {
        uint32_t g = lk_windows_group(w, st[i], st[i] + G, NULL, i);
        for (int k = 0; k < 3; k++)
            lk_windows_add(w, g, k, lk_batch_col(b, 0), i);
    }
    lk_batch *out = lk_batch_new(lk_windows_output_schema(w));
    ck_assert_uint_eq(lk_windows_close(w, INT64_MAX, out), 1);
    ck_assert(dec_at(lk_batch_col_const(out, 2), 0) == 600);
    ck_assert(dec_at(lk_batch_col_const(out, 3), 0) == 2000000);
    ck_assert(dec_at(lk_batch_col_const(out, 4), 0) == 100);
    /* a group key of a state saved as DOUBLE is not read as a DECIMAL key (only the running
       values of decimal aggregates are) */
    lk_field key = {.name = "k", .type = LK_TYPE_DECIMAL, .nullable = 1, .precision = 20, .scale = 2};
    lk_windows *wk = lk_windows_new(&key, 1, sp, 1);
    lk_schema *old = lk_check_schema_of("window_start TIMESTAMP, window_end TIMESTAMP, k DOUBLE, "
                                        "s DECIMAL(38,2), s__n BIGINT, _late BIGINT, "
                                        "_no_event_time BIGINT, _max_event_time BIGINT");
    lk_batch *ob = lk_batch_new(old);
    lk_error err;
    ck_assert_int_eq(lk_windows_merge(wk, ob, &err), LK_ECONFIG);
    lk_batch_destroy(&ob);
    lk_schema_destroy(&old);
    lk_windows_destroy(&wk);
    lk_batch_destroy(&out);
    lk_batch_destroy(&b);
    lk_schema_destroy(&in);
    lk_windows_destroy(&w);
}
END_TEST

/* A decimal sum past its precision is null, as Spark's non-ANSI sum, and stays null through a
   saved partial and its merge; avg of it too. A state saved when these sums were doubles merges
   into the exact sum. */
START_TEST(decimal_sum_overflow_and_saved_state)
{
    lk_agg_spec sp[2] = {{.name = "s", .kind = LK_AGG_SUM, .in_type = LK_TYPE_DECIMAL, .dec_p = 38},
                         {.name = "a", .kind = LK_AGG_AVG, .in_type = LK_TYPE_DECIMAL, .dec_p = 38}};
    lk_windows *w = lk_windows_new(NULL, 0, sp, 2);
    const lk_schema *os = lk_windows_output_schema(w);
    ck_assert_int_eq(lk_schema_field(os, 2)->precision, 38);
    ck_assert_int_eq(lk_schema_field(os, 3)->scale, 4);
    lk_schema *in = lk_check_schema_of("v DECIMAL(38,0)");
    lk_batch *b = lk_batch_new(in);
    lk_col *v = lk_batch_col(b, 0);
    /* window 0: 6e37 twice overflows 38 digits; window 1: 7 and 8 */
    lk_dec big = (lk_dec)6000000000000000000LL * (lk_dec)10000000000000000000ULL;
    lk_dec vals[] = {big, big, 7, 8};
    for (int i = 0; i < 4; i++) {
        lk_dec_append(v, vals[i]);
        lk_batch_end_row(b);
    }
    for (uint32_t i = 0; i < 4; i++) {
        uint32_t g = lk_windows_group(w, i < 2 ? 0 : MIN_US, i < 2 ? MIN_US : 2 * MIN_US, NULL, i);
        lk_windows_add(w, g, 0, v, i);
        lk_windows_add(w, g, 1, v, i);
    }
    lk_batch *part = lk_batch_new(lk_windows_partial_schema(w));
    lk_windows_save(w, part);
    lk_windows *w2 = lk_windows_new(NULL, 0, sp, 2);
    lk_error err;
    ck_assert_msg(lk_windows_merge(w2, part, &err) == 0, "%s", err.msg);
    lk_batch *out = lk_batch_new(os);
    ck_assert_uint_eq(lk_windows_close(w2, INT64_MAX, out), 2);
    ck_assert(lk_col_is_null(lk_batch_col_const(out, 2), 0));
    ck_assert(lk_col_is_null(lk_batch_col_const(out, 3), 0));
    ck_assert(dec_at(lk_batch_col_const(out, 2), 1) == 15);
    ck_assert(dec_at(lk_batch_col_const(out, 3), 1) == 75000); /* 7.5000 */
    /* a partial of the former format: the running sums as doubles */
    lk_schema *old = lk_check_schema_of("window_start TIMESTAMP, window_end TIMESTAMP, s DOUBLE, "
                                        "s__n BIGINT, a DOUBLE, a__n BIGINT, _late BIGINT, "
                                        "_no_event_time BIGINT, _max_event_time BIGINT");
    lk_batch *ob = lk_batch_new(old);
    lk_col_append_i64(lk_batch_col(ob, 0), 0);
    lk_col_append_i64(lk_batch_col(ob, 1), MIN_US);
    lk_col_append_f64(lk_batch_col(ob, 2), 12.0);
    lk_col_append_i64(lk_batch_col(ob, 3), 3);
    lk_col_append_f64(lk_batch_col(ob, 4), 12.0);
    lk_col_append_i64(lk_batch_col(ob, 5), 3);
    for (int c = 6; c < 9; c++)
        lk_col_append_null(lk_batch_col(ob, c));
    lk_batch_end_row(ob);
    lk_windows *w3 = lk_windows_new(NULL, 0, sp, 2);
    ck_assert_msg(lk_windows_merge(w3, ob, &err) == 0, "%s", err.msg);
    uint32_t g = lk_windows_group(w3, 0, MIN_US, NULL, 3);
    lk_windows_add(w3, g, 0, v, 3); /* + 8 */
    lk_windows_add(w3, g, 1, v, 3);
    lk_batch_reset(out);
    ck_assert_uint_eq(lk_windows_close(w3, INT64_MAX, out), 1);
    ck_assert(dec_at(lk_batch_col_const(out, 2), 0) == 20);
    ck_assert(dec_at(lk_batch_col_const(out, 3), 0) == 50000); /* 20 / 4 */
    lk_batch_destroy(&ob);
    lk_schema_destroy(&old);
    lk_batch_destroy(&out);
    lk_batch_destroy(&part);
    lk_batch_destroy(&b);
    lk_schema_destroy(&in);
    lk_windows_destroy(&w);
    lk_windows_destroy(&w2);
    lk_windows_destroy(&w3);
}
END_TEST

/* One row per ts text; returns the gold run's turned-away reasons joined. */
START_TEST(late_no_event_time_and_event_time_kinds)
{
    lk_config *c = load_ok(CFG_TUMBLING);
    lk_schema *s = lk_check_schema_of("k STRING, ts STRING, amount BIGINT, price DOUBLE");
    lk_error err;
    lk_gold *g = NULL;
    ck_assert_msg(lk_gold_new(c, s, &g, &err) == 0, "%s", err.msg);
    lk_batch *b = lk_batch_new(s);
    const char *ts[] = {"2026-11-24T10:00:10+02:00", "2026-11-24T08:00:50Z", "not a time", NULL,
                        "2026-11-24T07:59:59.999Z", "2026-11-24T03:30:30-04:30"};
    for (int i = 0; i < 6; i++) {
        lk_col_append_bytes(lk_batch_col(b, 0), "a", 1);
        if (ts[i])
            lk_col_append_bytes(lk_batch_col(b, 1), ts[i], strlen(ts[i]));
        else
            lk_col_append_null(lk_batch_col(b, 1));
        lk_col_append_i64(lk_batch_col(b, 2), i);
        lk_col_append_f64(lk_batch_col(b, 3), i);
        lk_batch_set_nrows(b, lk_batch_nrows(b) + 1);
    }
    int64_t w8 = 0; /* 2026-11-24T08:00:00Z */
    ck_assert_int_eq(lk_time_parse_iso("2026-11-24T08:00:00Z", 20, &w8), 0);
    ck_assert_int_eq(lk_gold_run(g, b, w8, 0, &err), 0);
    const uint32_t *rows;
    const char *const *why;
    ck_assert_uint_eq(lk_gold_turned_away(g, &rows, &why), 3);
    ck_assert(rows[0] == 2 && !strcmp(why[0], "no_event_time"));
    ck_assert(rows[1] == 3 && !strcmp(why[1], "no_event_time"));
    ck_assert(rows[2] == 4 && !strcmp(why[2], "late")); /* 1 ms before the watermark */
    lk_batch *part = lk_batch_new(lk_gold_partial_schema(g));
    lk_gold_partial(g, part);
    lk_windows *w = lk_gold_windows_new(g);
    ck_assert_int_eq(lk_windows_merge(w, part, &err), 0);
    ck_assert_int_eq(lk_windows_late(w), 1);
    ck_assert_int_eq(lk_windows_no_event_time(w), 2);
    lk_batch *out = lk_batch_new(lk_gold_output_schema(g));
    /* rows 0, 1 and 5 are all in 08:00Z-08:01Z, whatever their zone */
    ck_assert_uint_eq(lk_windows_close(w, w8 + MIN_US, out), 1);
    ck_assert_int_eq(lk_col_i64(lk_batch_col_const(out, 0), 0), w8);
    ck_assert_int_eq(lk_col_i64(lk_batch_col_const(out, 3), 0), 3);
    ck_assert_int_eq(lk_col_i64(lk_batch_col_const(out, 5), 0), 0 + 1 + 5);
    ck_assert_int_eq(lk_windows_max_event(w), w8 + 50000000);
    /* closed once: a second close at the same watermark emits nothing */
    lk_batch_reset(out);
    ck_assert_uint_eq(lk_windows_close(w, w8 + MIN_US, out), 0);
    lk_batch_destroy(&out);
    lk_batch_destroy(&part);
    lk_windows_destroy(&w);
    lk_batch_destroy(&b);
    lk_gold_destroy(&g);
    lk_schema_destroy(&s);
    /* epoch seconds, milliseconds (>= 1e11) and doubles: the same instant */
    ck_assert_int_eq(lk_gold_epoch_us(1795507200.0), 1795507200000000LL);
    ck_assert_int_eq(lk_gold_epoch_us(1795507200000.0), 1795507200000000LL);
    ck_assert_int_eq(lk_gold_epoch_us(1795507200.5), 1795507200500000LL);
    s = lk_check_schema_of("k STRING, ts BIGINT, amount BIGINT, price DOUBLE");
    ck_assert_msg(lk_gold_new(c, s, &g, &err) == 0, "%s", err.msg);
    b = lk_batch_new(s);
    int64_t e[] = {1795507200LL, 1795507259999LL, 1795507260LL};
    for (int i = 0; i < 3; i++) {
        lk_col_append_bytes(lk_batch_col(b, 0), "a", 1);
        lk_col_append_i64(lk_batch_col(b, 1), e[i]);
        lk_col_append_i64(lk_batch_col(b, 2), 1);
        lk_col_append_f64(lk_batch_col(b, 3), 1);
        lk_batch_set_nrows(b, lk_batch_nrows(b) + 1);
    }
    ck_assert_int_eq(lk_gold_run(g, b, INT64_MIN, 0, &err), 0);
    w = lk_gold_windows_new(g);
    part = lk_batch_new(lk_gold_partial_schema(g));
    lk_gold_partial(g, part);
    ck_assert_int_eq(lk_windows_merge(w, part, &err), 0);
    ck_assert_uint_eq(lk_windows_ngroups(w), 2); /* [..200, ..260) holds two, [..260, ..) one */
    lk_batch_destroy(&part);
    lk_windows_destroy(&w);
    lk_batch_destroy(&b);
    lk_gold_destroy(&g);
    lk_schema_destroy(&s);
    free(c);
}
END_TEST

START_TEST(saved_state_round_trip)
{
    lk_config *c = load_ok(CFG_TUMBLING);
    lk_schema *s = lk_check_schema_of("k STRING, ts TIMESTAMP, amount BIGINT, price DOUBLE");
    int cuts[] = {1000};
    lk_batch *want = windows_of(c, s, 1000, cuts, 1, 0);
    lk_error err;
    lk_gold *g = NULL;
    ck_assert_int_eq(lk_gold_new(c, s, &g, &err), 0);
    lk_batch *rows = random_rows(s, 1000, 42, 0, 1000);
    ck_assert_int_eq(lk_gold_run(g, rows, INT64_MIN, 0, &err), 0);
    lk_batch *part = lk_batch_new(lk_gold_partial_schema(g)), *saved = lk_batch_new(lk_gold_partial_schema(g));
    lk_gold_partial(g, part);
    lk_windows *w = lk_gold_windows_new(g), *back = lk_gold_windows_new(g);
    ck_assert_int_eq(lk_windows_merge(w, part, &err), 0);
    /* close half, save the rest, reload it: the closed half plus the reloaded rest = all */
    lk_batch *out = lk_batch_new(lk_gold_output_schema(g));
    uint32_t first = lk_windows_close(w, 300 * 1000000LL, out);
    ck_assert(first > 0 && first < lk_batch_nrows(want));
    lk_windows_save(w, saved);
    ck_assert_int_eq(lk_windows_merge(back, saved, &err), 0);
    ck_assert_uint_eq(lk_windows_ngroups(back), lk_windows_ngroups(w));
    ck_assert_int_eq(lk_windows_max_event(back), lk_windows_max_event(w));
    lk_windows_close(back, INT64_MAX, out);
    assert_same(out, want);
    /* a partial of another configuration does not merge */
    lk_config *c2 = load_ok("transform:\n  event_time: ts\nmetrics:\n  window: 1m\n  aggregates: "
                            "{n: \"count(*)\"}\n");
    lk_gold *g2 = NULL;
    ck_assert_int_eq(lk_gold_new(c2, s, &g2, &err), 0);
    lk_windows *w2 = lk_gold_windows_new(g2);
    /* a configuration error (metrics: changed since the state was saved), not a retry */
    ck_assert_int_eq(lk_windows_merge(w2, saved, &err), LK_ECONFIG);
    ck_assert_msg(strstr(err.msg, "metrics.group_by or metrics.aggregates changed"), "%s", err.msg);
    lk_windows_destroy(&w2);
    lk_gold_destroy(&g2);
    free(c2);
    lk_batch_destroy(&out);
    lk_batch_destroy(&part);
    lk_batch_destroy(&saved);
    lk_batch_destroy(&rows);
    lk_batch_destroy(&want);
    lk_windows_destroy(&w);
    lk_windows_destroy(&back);
    lk_gold_destroy(&g);
    lk_schema_destroy(&s);
    free(c);
}
END_TEST

/* Session windows: any split and order of the rows gives the sessions of
   one sorted pass (brute force: a key's sorted times split where the next
   is gap or more after the last); a row exactly gap after the last starts a
   new session, one less joins it; a row between two sessions merges them. */
START_TEST(session_windows)
{
    lk_config *c = load_ok("transform:\n  event_time: ts\nmetrics:\n  window: {session_gap: 3s}\n"
                           "  group_by: [k]\n" AGGS);
    ck_assert_int_eq(c->metrics.window, LK_WINDOW_SESSION);
    lk_schema *s = lk_check_schema_of("k STRING, ts TIMESTAMP, amount BIGINT, price DOUBLE");
    const int n = 2000;
    int one[] = {n}, split[] = {3, 400, 401, 1500, n};
    lk_batch *a = windows_of(c, s, n, one, 1, 0);
    lk_batch *b = windows_of(c, s, n, split, 5, 1);
    assert_same(a, b);
    /* brute force over key "a" (rows are random in 600 s: ~220 rows per key, gaps of ~3 s) */
    lk_batch *all = random_rows(s, n, 42, 0, n);
    int64_t t[2000];
    int m = 0;
    for (uint32_t i = 0; i < lk_batch_nrows(all); i++) {
        const lk_col *kc = lk_batch_col_const(all, 0);
        size_t kn;
        if (lk_col_is_null(kc, i) || *lk_col_bytes(kc, i, &kn) != 'a') continue;
        t[m++] = lk_col_i64(lk_batch_col_const(all, 1), i);
    }
    for (int i = 1; i < m; i++) /* insertion sort */
        for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
            int64_t x = t[j];
            t[j] = t[j - 1];
            t[j - 1] = x;
        }
    int sessions = 0, rowsa = 0;
    for (uint32_t r = 0; r < lk_batch_nrows(a); r++) {
        size_t kn;
        const lk_col *kc = lk_batch_col_const(a, 2);
        if (lk_col_is_null(kc, r) || *lk_col_bytes(kc, r, &kn) != 'a') continue;
        int64_t ws = lk_col_i64(lk_batch_col_const(a, 0), r), we = lk_col_i64(lk_batch_col_const(a, 1), r);
        /* the session starts at a row, ends gap after its last, no row of it is gap from the next */
        int64_t cnt = lk_col_i64(lk_batch_col_const(a, 3), r);
        int first = -1;
        for (int i = 0; i < m; i++)
            if (t[i] == ws) { first = i; break; }
        ck_assert_int_ge(first, 0);
        ck_assert(first == 0 || t[first] - t[first - 1] >= 3000000);
        int last = first + (int)cnt - 1;
        ck_assert_int_lt(last, m);
        ck_assert_int_eq(we, t[last] + 3000000);
        for (int i = first + 1; i <= last; i++)
            ck_assert(t[i] - t[i - 1] < 3000000);
        ck_assert(last == m - 1 || t[last + 1] - t[last] >= 3000000);
        sessions++;
        rowsa += (int)cnt;
    }
    ck_assert_int_eq(rowsa, m);
    ck_assert_int_gt(sessions, 3);
    lk_batch_destroy(&all);
    lk_batch_destroy(&a);
    lk_batch_destroy(&b);
    /* boundaries: 0 and 10 s are two sessions, 9.999999 s joins; a row between two merges them */
    lk_field kf = {.name = "k", .type = LK_TYPE_STRING, .nullable = 1};
    lk_agg_spec cnt = {.name = "n", .kind = LK_AGG_COUNT_STAR, .in_type = LK_TYPE_LONG};
    lk_windows *w = lk_windows_new(&kf, 1, &cnt, 1);
    lk_windows_set_sessions(w);
    lk_schema *ks = lk_check_schema_of("k STRING");
    lk_batch *keys = lk_batch_new(ks);
    lk_col_append_bytes(lk_batch_col(keys, 0), "x", 1);
    lk_batch_set_nrows(keys, 1);
    const lk_col *kc[1] = {lk_batch_col_const(keys, 0)};
    const int64_t G = 10000000;
    lk_windows_add(w, lk_windows_group(w, 0, G, kc, 0), 0, NULL, 0);
    lk_windows_add(w, lk_windows_group(w, G, 2 * G, kc, 0), 0, NULL, 0);
    ck_assert_uint_eq(lk_windows_ngroups(w), 2);
    lk_windows_add(w, lk_windows_group(w, G - 1, 2 * G - 1, kc, 0), 0, NULL, 0); /* bridges both */
    ck_assert_uint_eq(lk_windows_ngroups(w), 1);
    lk_batch *out = lk_batch_new(lk_windows_output_schema(w));
    ck_assert_uint_eq(lk_windows_close(w, 2 * G - 1, out), 0); /* ends at 2G: still open */
    ck_assert_uint_eq(lk_windows_close(w, 2 * G, out), 1);
    ck_assert_int_eq(lk_col_i64(lk_batch_col_const(out, 0), 0), 0);
    ck_assert_int_eq(lk_col_i64(lk_batch_col_const(out, 1), 0), 2 * G);
    ck_assert_int_eq(lk_col_i64(lk_batch_col_const(out, 3), 0), 3);
    ck_assert_uint_eq(lk_windows_ngroups(w), 0);
    lk_batch_destroy(&out);
    lk_batch_destroy(&keys);
    lk_schema_destroy(&ks);
    lk_windows_destroy(&w);
    lk_schema_destroy(&s);
    free(c);
}
END_TEST

static uint64_t xs(uint64_t *st)
{
    uint64_t x = *st;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *st = x;
}

/* HLL++ at Spark's default rsd 0.05 (p = 9): relative error against the
   exact count over 5 cardinalities x 8 seeds: mean within the rsd, each
   within 3 rsd; a sketch split in three and merged in any order equals
   the sketch of the whole, register for register. */
START_TEST(hll_error_against_exact)
{
    int p = lk_hll_precision(0.05);
    ck_assert_int_eq(p, 9);
    ck_assert_int_eq(lk_hll_precision(0.01), 14);
    const int cards[] = {10, 300, 2000, 20000, 200000};
    double sum_err = 0;
    int trials = 0;
    for (int c = 0; c < 5; c++)
        for (uint64_t seed = 1; seed <= 8; seed++) {
            uint8_t *whole = calloc(1, lk_hll_size(p)), *parts[3];
            for (int k = 0; k < 3; k++)
                parts[k] = calloc(1, lk_hll_size(p));
            uint64_t st = seed * 7919 + (uint64_t)c;
            for (int i = 0; i < cards[c]; i++) {
                uint64_t v = xs(&st); /* distinct (xorshift has no repeats within its period) */
                for (int rep = 0; rep < 1 + i % 3; rep++) { /* duplicates count once */
                    uint64_t h = lk_hll_hash(&v, sizeof v);
                    lk_hll_add(whole, p, h);
                    lk_hll_add(parts[(i + rep) % 3], p, h);
                }
            }
            double est = lk_hll_estimate(whole, p), err = fabs(est - cards[c]) / cards[c];
            ck_assert_msg(err <= 0.15, "cardinality %d seed %llu: estimate %.0f", cards[c],
                          (unsigned long long)seed, est);
            sum_err += err;
            trials++;
            uint8_t *m1 = calloc(1, lk_hll_size(p)), *m2 = calloc(1, lk_hll_size(p));
            lk_hll_merge(m1, parts[0], p);
            lk_hll_merge(m1, parts[1], p);
            lk_hll_merge(m1, parts[2], p);
            lk_hll_merge(m2, parts[2], p);
            lk_hll_merge(m2, parts[0], p);
            lk_hll_merge(m2, parts[1], p);
            ck_assert(!memcmp(m1, whole, lk_hll_size(p)) && !memcmp(m2, whole, lk_hll_size(p)));
            free(m1);
            free(m2);
            free(whole);
            for (int k = 0; k < 3; k++)
                free(parts[k]);
        }
    ck_assert_msg(sum_err / trials <= 0.05, "mean relative error %.4f", sum_err / trials);
}
END_TEST

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* t-digest: the rank of each estimated quantile within 1 % of the wanted
   one (0.5 % at the tails), for uniform and skewed data, whole and merged
   from 7 digests in two orders; a saved digest reads back the same. */
START_TEST(tdigest_error_against_exact)
{
    const int n = 100000;
    double *v = malloc(sizeof *v * n);
    for (int dist = 0; dist < 2; dist++) {
        uint64_t st = 12345 + (uint64_t)dist;
        lk_tdigest *whole = lk_tdigest_new(200), *parts[7];
        for (int k = 0; k < 7; k++)
            parts[k] = lk_tdigest_new(200);
        for (int i = 0; i < n; i++) {
            double u = (double)(xs(&st) >> 11) / 9007199254740992.0;
            v[i] = dist ? -log(1 - u) * 100 : u * 1000; /* uniform, exponential */
            lk_tdigest_add(whole, v[i], 1);
            lk_tdigest_add(parts[i % 7], v[i], 1);
        }
        lk_tdigest *m1 = lk_tdigest_new(200), *m2 = lk_tdigest_new(200);
        for (int k = 0; k < 7; k++) {
            lk_tdigest_merge(m1, parts[k]);
            lk_tdigest_merge(m2, parts[6 - k]);
        }
        lk_buf buf = LK_BUF_INIT;
        lk_tdigest_save(m1, &buf);
        lk_tdigest *back = lk_tdigest_new(200);
        ck_assert_int_eq(lk_tdigest_load(back, buf.data, buf.len), 0);
        ck_assert_int_eq(lk_tdigest_load(back, buf.data, buf.len - 1), -1);
        lk_buf_free(&buf);
        qsort(v, n, sizeof *v, cmp_double);
        const double qs[] = {0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999};
        lk_tdigest *all[] = {whole, m1, m2, back};
        for (int d = 0; d < 4; d++) {
            ck_assert(lk_tdigest_count(all[d]) == n);
            for (int k = 0; k < 9; k++) {
                double est = lk_tdigest_quantile(all[d], qs[k]);
                /* the rank of est among the exact values */
                int lo = 0, hi = n;
                while (lo < hi) {
                    int mid = (lo + hi) / 2;
                    if (v[mid] < est) lo = mid + 1; else hi = mid;
                }
                double rank = (double)lo / n, tol = qs[k] < 0.05 || qs[k] > 0.95 ? 0.005 : 0.01;
                ck_assert_msg(fabs(rank - qs[k]) <= tol, "dist %d digest %d q %.3f: rank %.4f", dist,
                              d, qs[k], rank);
            }
            ck_assert(lk_tdigest_quantile(all[d], 0) == v[0]);
            ck_assert(lk_tdigest_quantile(all[d], 1) == v[n - 1]);
        }
        for (int d = 0; d < 4; d++)
            lk_tdigest_destroy(&all[d]);
        for (int k = 0; k < 7; k++)
            lk_tdigest_destroy(&parts[k]);
    }
    free(v);
}
END_TEST

/* A digest of fewer than 2 * compression values merges none of them: its
   quantile is exact and one of the values, SQL's percentile_disc (rank
   ceil(q n), Spark's approx_percentile), whatever the split and merge
   order; past that it interpolates (tdigest_error_against_exact). */
START_TEST(tdigest_small_is_percentile_disc)
{
    srand(7);
    const int n = 333;
    double v[333];
    lk_tdigest *whole = lk_tdigest_new(200), *m = lk_tdigest_new(200), *parts[5];
    for (int k = 0; k < 5; k++)
        parts[k] = lk_tdigest_new(200);
    for (int i = 0; i < n; i++) {
        v[i] = (rand() % 100000) / 3.0;
        lk_tdigest_add(whole, v[i], 1);
        lk_tdigest_add(parts[i % 5], v[i], 1);
    }
    for (int k = 4; k >= 0; k--) { /* through a saved state, as the committer does */
        lk_buf buf = LK_BUF_INIT;
        lk_tdigest_save(parts[k], &buf);
        ck_assert_int_eq(lk_tdigest_load(m, buf.data, buf.len), 0);
        lk_buf_free(&buf);
    }
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    const double qs[] = {0, 0.001, 0.1, 0.25, 0.5, 0.6, 0.9, 0.999, 1};
    for (int k = 0; k < 9; k++) {
        double r = ceil(qs[k] * n);
        double want = v[r < 1 ? 0 : (int)r - 1];
        ck_assert_msg(lk_tdigest_quantile(whole, qs[k]) == want, "q %g: %f, not %f", qs[k],
                      lk_tdigest_quantile(whole, qs[k]), want);
        ck_assert_msg(lk_tdigest_quantile(m, qs[k]) == want, "merged, q %g", qs[k]);
    }
    lk_tdigest_destroy(&whole);
    lk_tdigest_destroy(&m);
    for (int k = 0; k < 5; k++)
        lk_tdigest_destroy(&parts[k]);
}
END_TEST

/* The approximate aggregates through lk_gold and lk_windows: any split of
   the rows gives the same distinct estimate (registers merge by max), a
   median within the digest's error, a saved state that reads back. */
START_TEST(approximate_aggregates_in_windows)
{
    lk_config *c = load_ok("transform:\n  event_time: ts\nmetrics:\n  window: 10m\n"
                           "  aggregates: {n: \"count(*)\", users: \"approx_count_distinct(amount)\", "
                           "med: \"approx_percentile(price, 0.5)\", p90: \"percentile_approx(price, 0.9, 10000)\"}\n");
    lk_schema *s = lk_check_schema_of("k STRING, ts TIMESTAMP, amount BIGINT, price DOUBLE");
    const int n = 3000;
    int one[] = {n}, split[] = {10, 1000, 2500, n};
    lk_batch *a = windows_of(c, s, n, one, 1, 0), *b = windows_of(c, s, n, split, 4, 1);
    ck_assert_uint_eq(lk_batch_nrows(a), 1); /* one 10-minute window */
    ck_assert_int_eq(lk_col_i64(lk_batch_col_const(a, 3), 0), lk_col_i64(lk_batch_col_const(b, 3), 0));
    /* amount is in [-1000, 1000]: 2001 values, nearly all seen in 3000 rows */
    lk_batch *all = random_rows(s, n, 42, 0, n);
    uint8_t seen[2001] = {0};
    double prices[3000];
    int np = 0, distinct = 0;
    for (uint32_t i = 0; i < lk_batch_nrows(all); i++) {
        int64_t v = lk_col_i64(lk_batch_col_const(all, 2), i);
        distinct += !seen[v + 1000];
        seen[v + 1000] = 1;
        if (!lk_col_is_null(lk_batch_col_const(all, 3), i)) prices[np++] = lk_col_f64(lk_batch_col_const(all, 3), i);
    }
    qsort(prices, (size_t)np, sizeof *prices, cmp_double);
    int64_t est = lk_col_i64(lk_batch_col_const(a, 3), 0);
    ck_assert_msg(fabs((double)(est - distinct)) / distinct <= 0.15, "estimate %lld of %d",
                  (long long)est, distinct);
    double med = lk_col_f64(lk_batch_col_const(a, 4), 0), med2 = lk_col_f64(lk_batch_col_const(b, 4), 0);
    double p90 = lk_col_f64(lk_batch_col_const(a, 5), 0);
    ck_assert_msg(med >= prices[(int)(np * 0.49)] && med <= prices[(int)(np * 0.51)], "median %f", med);
    ck_assert_msg(med2 >= prices[(int)(np * 0.49)] && med2 <= prices[(int)(np * 0.51)], "median %f", med2);
    ck_assert_msg(p90 >= prices[(int)(np * 0.89)] && p90 <= prices[(int)(np * 0.91)], "p90 %f", p90);
    const lk_schema *os = lk_batch_schema(a);
    ck_assert_int_eq(lk_schema_field(os, 3)->type, LK_TYPE_LONG);
    ck_assert_int_eq(lk_schema_field(os, 4)->type, LK_TYPE_DOUBLE);
    lk_batch_destroy(&all);
    lk_batch_destroy(&a);
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
    free(c);
}
END_TEST

/* Column col of b for the row's value, or NULL after appending a null
   there (null: the row has none). */
static lk_col *value_slot(lk_batch *b, int col, int null)
{
    if (!null) return lk_batch_col(b, col);
    lk_col_append_null(lk_batch_col(b, col));
    return NULL;
}

/* rows of (k, ts, s, b, x, i): s a UTF-8 string of 0-3 pieces where byte
   order and UTF-16 order disagree (U+FF5E sorts before an emoji in UTF-16,
   after it in UTF-8), b raw bytes incl. 0x00 and 0xff, x a double, i a
   long; about one in eight of s, b, x, i null */
static lk_batch *text_rows(const lk_schema *sc, int n, unsigned seed, int from, int count)
{
    static const char *const piece[] = {
        "a", "ab", "Z", "\xc3\xa9", "\xf0\x9f\x98\x80", "\xef\xbd\x9e", "~", " ", ""};
    lk_batch *b = lk_batch_new(sc);
    lk_col *c;
    srand(seed);
    for (int r = 0; r < n; r++) {
        int k = rand() % 2;
        int64_t ts = (int64_t)(rand() % 300) * 1000000 + rand() % 1000000;
        char str[64] = "", bin[8];
        int np = rand() % 4, nb = rand() % 5;
        for (int j = 0; j < np; j++)
            strcat(str, piece[rand() % 9]);
        for (int j = 0; j < nb; j++)
            bin[j] = (char)(rand() % 3 == 0 ? 0xff : rand() % 3 == 0 ? 0 : rand() % 256);
        double x = (rand() % 100000) / 7.0;
        int64_t iv = rand() % 5000 - 2500;
        int nulls = rand() % 16; /* bit j: column j + 2 is null, when < 4 */
        if (r < from || r >= from + count) continue;
        lk_col_append_bytes(lk_batch_col(b, 0), k ? "p" : "q", 1);
        lk_col_append_i64(lk_batch_col(b, 1), ts);
        if ((c = value_slot(b, 2, nulls == 1)))
            lk_col_append_bytes(c, str, strlen(str));
        if ((c = value_slot(b, 3, nulls == 2)))
            lk_col_append_bytes(c, bin, (size_t)nb);
        if ((c = value_slot(b, 4, nulls == 3)))
            lk_col_append_f64(c, x);
        if ((c = value_slot(b, 5, nulls == 4)))
            lk_col_append_i64(c, iv);
        lk_batch_set_nrows(b, lk_batch_nrows(b) + 1);
    }
    return b;
}

static int bytes_order(const char *a, size_t na, const char *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    return c ? c : (na > nb) - (na < nb);
}

#define TEXT_AGGS                                                                                  \
    "  aggregates: {n: \"count(*)\", lo: \"min(s)\", hi: \"max(s)\", blo: \"min(b)\", bhi: "       \
    "\"max(b)\", px: \"approx_percentile(x, array(0.1, 0.5, 0.9))\", pi: "                         \
    "\"percentile_approx(i, array(0, 0.25, 1), 5000)\", one: \"approx_percentile(x, "              \
    "array(0.5))\"}\n"

/* The brute-force check of text_rows' windows in out (tumbling 1 minute by
   k): min/max of s and b by unsigned bytes, every percentile of the arrays
   within the digest's rank error of the window's sorted values. */
static void check_text_windows(const lk_batch *out, const lk_batch *all)
{
    const lk_col *ak = lk_batch_col_const(all, 0), *at = lk_batch_col_const(all, 1);
    int64_t total = 0;
    for (uint32_t r = 0; r < lk_batch_nrows(out); r++) {
        int64_t ws = lk_col_i64(lk_batch_col_const(out, 0), r);
        size_t kn, n1, n2;
        char key = *lk_col_bytes(lk_batch_col_const(out, 2), r, &kn);
        const char *lo[2] = {NULL, NULL}, *hi[2] = {NULL, NULL};
        size_t lon[2] = {0, 0}, hin[2] = {0, 0};
        double xs[3000];
        int64_t is[3000];
        int nx = 0, ni = 0, cnt = 0;
        for (uint32_t i = 0; i < lk_batch_nrows(all); i++) {
            int64_t t = lk_col_i64(at, i);
            if (t - t % MIN_US != ws || *lk_col_bytes(ak, i, &kn) != key) continue;
            cnt++;
            for (int c = 0; c < 2; c++) {
                const lk_col *v = lk_batch_col_const(all, 2 + c);
                if (lk_col_is_null(v, i)) continue;
                const char *p = lk_col_bytes(v, i, &n1);
                if (!lo[c] || bytes_order(p, n1, lo[c], lon[c]) < 0) lo[c] = p, lon[c] = n1;
                if (!hi[c] || bytes_order(p, n1, hi[c], hin[c]) > 0) hi[c] = p, hin[c] = n1;
            }
            if (!lk_col_is_null(lk_batch_col_const(all, 4), i))
                xs[nx++] = lk_col_f64(lk_batch_col_const(all, 4), i);
            if (!lk_col_is_null(lk_batch_col_const(all, 5), i))
                is[ni++] = lk_col_i64(lk_batch_col_const(all, 5), i);
        }
        ck_assert_int_eq(lk_col_i64(lk_batch_col_const(out, 3), r), cnt);
        total += cnt;
        for (int c = 0; c < 2; c++) {
            const lk_col *mn = lk_batch_col_const(out, 4 + 2 * c),
                         *mx = lk_batch_col_const(out, 5 + 2 * c);
            ck_assert(lo[c] && !lk_col_is_null(mn, r) && !lk_col_is_null(mx, r));
            const char *p = lk_col_bytes(mn, r, &n1), *q = lk_col_bytes(mx, r, &n2);
            ck_assert_msg(n1 == lon[c] && !memcmp(p, lo[c], n1), "window %u col %d: min", r, c);
            ck_assert_msg(n2 == hin[c] && !memcmp(q, hi[c], n2), "window %u col %d: max", r, c);
        }
        /* px: array(0.1, 0.5, 0.9) of doubles; rank error of the digest */
        qsort(xs, (size_t)nx, sizeof *xs, cmp_double);
        const lk_col *px = lk_batch_col_const(out, 8), *pxe = &px->children[0];
        ck_assert_uint_eq(px->offsets[r + 1] - px->offsets[r], 3);
        const double qs[] = {0.1, 0.5, 0.9};
        for (int j = 0; j < 3; j++) {
            double v = lk_col_f64(pxe, px->offsets[r] + (uint32_t)j);
            int below = 0, upto = 0;
            for (int m = 0; m < nx; m++)
                below += xs[m] < v, upto += xs[m] <= v;
            /* v's rank range [below, upto] within 2% (and one value) of q */
            ck_assert_msg((double)below / nx <= qs[j] + 0.02 + 1.0 / nx &&
                              (double)upto / nx >= qs[j] - 0.02 - 1.0 / nx,
                          "window %u: q %.2f = %f at ranks [%d, %d] of %d", r, qs[j], v, below,
                          upto, nx);
        }
        /* pi: array(0, 0.25, 1) of a long: longs, the ends exact */
        const lk_col *pi = lk_batch_col_const(out, 9), *pie = &pi->children[0];
        ck_assert_uint_eq(pi->offsets[r + 1] - pi->offsets[r], 3);
        int64_t imin = INT64_MAX, imax = INT64_MIN;
        for (int m = 0; m < ni; m++) {
            if (is[m] < imin) imin = is[m];
            if (is[m] > imax) imax = is[m];
        }
        ck_assert_int_eq(lk_col_i64(pie, pi->offsets[r]), imin);
        ck_assert_int_eq(lk_col_i64(pie, pi->offsets[r] + 2), imax);
        /* one: array(0.5) is an array of one */
        const lk_col *one = lk_batch_col_const(out, 10);
        ck_assert_uint_eq(one->offsets[r + 1] - one->offsets[r], 1);
    }
    ck_assert_int_eq(total, lk_batch_nrows(all));
}

/* min/max of strings and binaries (Spark's byte order) and
   approx_percentile(col, array(...)) through lk_gold and lk_windows: any
   split and merge order gives the same min/max and percentiles within
   the digest's error; the output types are Spark's (the input's; array of
   the input's, containsNull false); the saved state (state.db) round trips
   the strings and sketches; session windows merge them too. */
START_TEST(string_min_max_and_percentile_arrays)
{
    lk_config *c = load_ok(
        "transform:\n  event_time: ts\nmetrics:\n  window: 1m\n  group_by: [k]\n" TEXT_AGGS);
    lk_schema *s = lk_check_schema_of("k STRING, ts TIMESTAMP, s STRING, b BINARY, x DOUBLE, i BIGINT");
    g_rows = text_rows;
    const int n = 2500;
    int one[] = {n}, three[] = {700, 1900, n}, many[] = {1, 2, 500, 501, 1200, 2499, n};
    lk_batch *a = windows_of(c, s, n, one, 1, 0);
    lk_batch *b = windows_of(c, s, n, three, 3, 0);
    lk_batch *d = windows_of(c, s, n, many, 7, 1);
    ck_assert_uint_eq(lk_batch_nrows(a), 10); /* 5 minutes, 2 keys */
    lk_batch *all = text_rows(s, n, 42, 0, n);
    check_text_windows(a, all);
    check_text_windows(b, all);
    check_text_windows(d, all);
    for (uint32_t r = 0; r < lk_batch_nrows(a); r++)
        for (int col = 4; col < 8; col++) { /* min/max: the same bytes whatever the split */
            size_t n1, n2;
            const char *p = lk_col_bytes(lk_batch_col_const(a, col), r, &n1);
            const char *q = lk_col_bytes(lk_batch_col_const(d, col), r, &n2);
            ck_assert(n1 == n2 && !memcmp(p, q, n1));
        }
    /* Spark's types: min(string) string, min(binary) binary, array<double>, array<bigint> */
    const lk_schema *os = lk_batch_schema(a);
    ck_assert_int_eq(lk_schema_field(os, 4)->type, LK_TYPE_STRING);
    ck_assert_int_eq(lk_schema_field(os, 6)->type, LK_TYPE_BINARY);
    ck_assert_int_eq(lk_schema_field(os, 8)->type, LK_TYPE_ARRAY);
    lk_buf json = LK_BUF_INIT;
    lk_schema_to_json(os, &json);
    lk_buf_putc(&json, 0);
    ck_assert_msg(strstr(json.data, "\"name\":\"px\",\"type\":{\"type\":\"array\",\"elementType\":"
                                    "\"double\",\"containsNull\":false}"),
                  "%s", json.data);
    ck_assert_msg(strstr(json.data, "\"name\":\"pi\",\"type\":{\"type\":\"array\",\"elementType\":"
                                    "\"long\",\"containsNull\":false}"),
                  "%s", json.data);
    ck_assert_msg(strstr(json.data, "\"name\":\"lo\",\"type\":\"string\""), "%s", json.data);
    lk_buf_free(&json);

    /* the state saved after half the rows, reloaded, and the rest merged: the same windows */
    lk_error err;
    lk_gold *g = NULL;
    ck_assert_int_eq(lk_gold_new(c, s, &g, &err), 0);
    lk_windows *w = lk_gold_windows_new(g), *back = lk_gold_windows_new(g);
    lk_batch *part = lk_batch_new(lk_gold_partial_schema(g)),
             *saved = lk_batch_new(lk_gold_partial_schema(g));
    lk_batch *h1 = text_rows(s, n, 42, 0, n / 2), *h2 = text_rows(s, n, 42, n / 2, n - n / 2);
    ck_assert_int_eq(lk_gold_run(g, h1, INT64_MIN, 0, &err), 0);
    lk_gold_partial(g, part);
    ck_assert_int_eq(lk_windows_merge(w, part, &err), 0);
    lk_windows_save(w, saved);
    ck_assert_int_eq(lk_windows_merge(back, saved, &err), 0);
    lk_batch_reset(part);
    ck_assert_int_eq(lk_gold_run(g, h2, INT64_MIN, 0, &err), 0);
    lk_gold_partial(g, part);
    ck_assert_int_eq(lk_windows_merge(back, part, &err), 0);
    lk_batch *out = lk_batch_new(lk_gold_output_schema(g));
    ck_assert_uint_eq(lk_windows_close(back, INT64_MAX, out), 10);
    check_text_windows(out, all);
    lk_batch_destroy(&out);
    lk_batch_destroy(&h1);
    lk_batch_destroy(&h2);
    lk_batch_destroy(&part);
    lk_batch_destroy(&saved);
    lk_windows_destroy(&w);
    lk_windows_destroy(&back);
    lk_gold_destroy(&g);

    /* session windows: sessions merged in any order keep the least and greatest bytes */
    lk_config *cs = load_ok("transform:\n  event_time: ts\nmetrics:\n  window: {session_gap: 1s}\n"
                            "  group_by: [k]\n" TEXT_AGGS);
    int split[] = {3, 400, 401, 1500, n};
    lk_batch *sa = windows_of(cs, s, n, one, 1, 0), *sb = windows_of(cs, s, n, split, 5, 1);
    ck_assert_uint_eq(lk_batch_nrows(sa), lk_batch_nrows(sb));
    ck_assert_uint_gt(lk_batch_nrows(sa), 20);
    for (uint32_t r = 0; r < lk_batch_nrows(sa); r++)
        for (int col = 3; col < 8; col++) {
            const lk_col *x = lk_batch_col_const(sa, col), *y = lk_batch_col_const(sb, col);
            ck_assert_int_eq(lk_col_is_null(x, r), lk_col_is_null(y, r));
            if (col == 3) {
                ck_assert_int_eq(lk_col_i64(x, r), lk_col_i64(y, r));
            } else if (!lk_col_is_null(x, r)) {
                size_t n1, n2;
                const char *p = lk_col_bytes(x, r, &n1), *q = lk_col_bytes(y, r, &n2);
                ck_assert_msg(n1 == n2 && !memcmp(p, q, n1), "session %u col %d", r, col);
            }
        }
    lk_batch_destroy(&sa);
    lk_batch_destroy(&sb);
    free(cs);
    g_rows = random_rows;
    teardown(c, &s, &all, &a, &b, &d);
}
END_TEST

/* rows of (k, ts, d, f, n): a date (days, negative too), a boolean and a
   timestamp_ntz, about one in eight null each */
static lk_batch *typed_rows(const lk_schema *sc, int n, unsigned seed, int from, int count)
{
    lk_batch *b = lk_batch_new(sc);
    lk_col *c;
    srand(seed);
    for (int r = 0; r < n; r++) {
        int64_t ts = (int64_t)(rand() % 300) * 1000000 + rand() % 1000000;
        int32_t d = rand() % 40000 - 20000;
        int f = rand() % 2, nulls = rand() % 8;
        int64_t ntz = ((int64_t)rand() << 20) - ((int64_t)1 << 40);
        if (r < from || r >= from + count) continue;
        lk_col_append_bytes(lk_batch_col(b, 0), "k", 1);
        lk_col_append_i64(lk_batch_col(b, 1), ts);
        if ((c = value_slot(b, 2, nulls == 1)))
            lk_col_append_i32(c, d);
        if ((c = value_slot(b, 3, nulls == 2)))
            lk_col_append_bool(c, f);
        if ((c = value_slot(b, 4, nulls == 3)))
            lk_col_append_i64(c, ntz);
        lk_batch_set_nrows(b, lk_batch_nrows(b) + 1);
    }
    return b;
}

/* min/max of dates, booleans, timestamps and timestamp_ntz: the input's
   type (Spark's), the brute-force answer, for any split and order. */
START_TEST(min_max_of_dates_booleans_timestamps)
{
    lk_config *c = load_ok("transform:\n  event_time: ts\nmetrics:\n  window: 1m\n  group_by: [k]\n"
                           "  aggregates: {dlo: \"min(d)\", dhi: \"max(d)\", flo: \"min(f)\", fhi: "
                           "\"max(f)\", tlo: \"min(ts)\", nhi: \"max(n)\"}\n");
    lk_schema *s = lk_check_schema_of("k STRING, ts TIMESTAMP, d DATE, f BOOLEAN, n TIMESTAMP_NTZ");
    g_rows = typed_rows;
    const int n = 600;
    int one[] = {n}, many[] = {1, 90, 91, 400, n};
    lk_batch *a = windows_of(c, s, n, one, 1, 0), *b = windows_of(c, s, n, many, 5, 1);
    assert_same(a, b);
    const lk_schema *os = lk_batch_schema(a);
    const lk_type want[] = {LK_TYPE_DATE,    LK_TYPE_DATE,      LK_TYPE_BOOLEAN,
                            LK_TYPE_BOOLEAN, LK_TYPE_TIMESTAMP, LK_TYPE_TIMESTAMP_NTZ};
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(lk_schema_field(os, 3 + i)->type, want[i]);
    lk_batch *all = typed_rows(s, n, 42, 0, n);
    ck_assert_uint_eq(lk_batch_nrows(a), 5);
    for (uint32_t r = 0; r < lk_batch_nrows(a); r++) {
        int64_t ws = lk_col_i64(lk_batch_col_const(a, 0), r);
        int32_t dlo = INT32_MAX, dhi = INT32_MIN;
        int flo = 1, fhi = 0;
        int64_t tlo = INT64_MAX, nhi = INT64_MIN;
        for (uint32_t i = 0; i < lk_batch_nrows(all); i++) {
            int64_t t = lk_col_i64(lk_batch_col_const(all, 1), i);
            if (t - t % MIN_US != ws) continue;
            if (t < tlo) tlo = t;
            const lk_col *d = lk_batch_col_const(all, 2), *f = lk_batch_col_const(all, 3),
                         *nz = lk_batch_col_const(all, 4);
            if (!lk_col_is_null(d, i)) {
                if (lk_col_i32(d, i) < dlo) dlo = lk_col_i32(d, i);
                if (lk_col_i32(d, i) > dhi) dhi = lk_col_i32(d, i);
            }
            if (!lk_col_is_null(f, i)) {
                int v = ((const uint8_t *)f->values)[i];
                if (v < flo) flo = v;
                if (v > fhi) fhi = v;
            }
            if (!lk_col_is_null(nz, i) && lk_col_i64(nz, i) > nhi) nhi = lk_col_i64(nz, i);
        }
        ck_assert_int_eq(lk_col_i32(lk_batch_col_const(a, 3), r), dlo);
        ck_assert_int_eq(lk_col_i32(lk_batch_col_const(a, 4), r), dhi);
        ck_assert_int_eq(((const uint8_t *)lk_batch_col_const(a, 5)->values)[r], flo);
        ck_assert_int_eq(((const uint8_t *)lk_batch_col_const(a, 6)->values)[r], fhi);
        ck_assert_int_eq(lk_col_i64(lk_batch_col_const(a, 7), r), tlo);
        ck_assert_int_eq(lk_col_i64(lk_batch_col_const(a, 8), r), nhi);
        ck_assert(dlo < 0 && dhi > 0 && flo == 0 && fhi == 1);
    }
    g_rows = random_rows;
    teardown(c, &s, &all, &a, &b, NULL);
}
END_TEST

static void expect_error(const char *yml, const char *ddl, const char *want)
{
    lk_error err = {0};
    int rc;
    lk_config *c = lk_check_load_config(yml, &err, &rc);
    if (rc == 0) {
        lk_schema *s = lk_check_schema_of(ddl);
        lk_gold *g = NULL;
        rc = lk_gold_new(c, s, &g, &err);
        ck_assert_msg(rc == LK_ECONFIG, "%s: compiled", yml);
        lk_schema_destroy(&s);
    }
    ck_assert_msg(strstr(err.msg, want), "'%s' not in '%s'", want, err.msg);
    free(c);
}

START_TEST(errors_name_file_line_key)
{
    const char *ddl = "k STRING, ts TIMESTAMP, amount BIGINT, st STRUCT<a: INT>";
    const char *head = "transform:\n  event_time: ts\nmetrics:\n  window: 1m\n  group_by: [k]\n";
    char y[1024];
    snprintf(y, sizeof y, "%s  aggregates:\n    n: \"count(*)\"\n    s: \"sum(amout)\"\n", head);
    expect_error(y, ddl, ":8: key 'metrics.aggregates.s': position 5: unknown column 'amout'");
    snprintf(y, sizeof y, "%s  aggregates:\n    m: \"median(amount)\"\n", head);
    expect_error(y, ddl, ":7: key 'metrics.aggregates.m': 'median(amount)' is not an aggregate");
    snprintf(y, sizeof y, "%s  aggregates:\n    s: \"sum(k)\"\n", head);
    expect_error(y, ddl, "key 'metrics.aggregates.s': sum of string is not supported");
    expect_error("transform:\n  event_time: st\nmetrics:\n  window: 1m\n  aggregates: {n: \"count(*)\"}\n",
                 ddl, ":2: key 'transform.event_time': 'st' is struct");
    expect_error("transform:\n  event_time: ts\nmetrics:\n  window: 1m\n  group_by: [nope]\n  "
                 "aggregates: {n: \"count(*)\"}\n",
                 ddl, ":5: key 'metrics.group_by[0]': position 1: unknown column 'nope'");
    expect_error("transform:\n  event_time: ts\nmetrics:\n  window: 1m\n  windw: 2\n", ddl,
                 ":5: key 'metrics.windw': unknown key");
    expect_error("transform:\n  event_time: ts\nmetrics:\n  window: {size: 10m, slide: 3m}\n  "
                 "aggregates: {n: \"count(*)\"}\n",
                 ddl, "key 'metrics.window': slide must divide size");
    snprintf(y, sizeof y, "%s  aggregates:\n    p: \"approx_percentile(amount, 1.5)\"\n", head);
    expect_error(y, ddl, ":7: key 'metrics.aggregates.p': percentage 1.5 is not in [0, 1]");
    snprintf(y, sizeof y,
             "%s  aggregates:\n    p: \"approx_percentile(amount, array(0.5, 1.9))\"\n", head);
    expect_error(y, ddl,
                 ":7: key 'metrics.aggregates.p': percentage 1.9 (element 2 of array(...)) is not "
                 "in [0, 1]");
    snprintf(y, sizeof y,
             "%s  aggregates:\n    p: \"approx_percentile(amount, array(0.5, amount))\"\n", head);
    expect_error(
        y, ddl, ":7: key 'metrics.aggregates.p': element 2 of array(...) must be a number literal");
    snprintf(y, sizeof y, "%s  aggregates:\n    p: \"approx_percentile(amount, array())\"\n", head);
    expect_error(y, ddl,
                 ":7: key 'metrics.aggregates.p': approx_percentile takes 1 to 32 percentages");
    snprintf(y, sizeof y, "%s  aggregates:\n    p: \"approx_percentile(amount, 'x')\"\n", head);
    expect_error(y, ddl,
                 "argument 2 of approx_percentile must be a number literal or array(p1, p2, ...)");
    snprintf(y, sizeof y, "%s  aggregates:\n    p: \"approx_percentile(k, array(0.5))\"\n", head);
    expect_error(y, ddl,
                 ":7: key 'metrics.aggregates.p': approx_percentile of string is not supported");
    snprintf(y, sizeof y, "%s  aggregates:\n    m: \"max(st)\"\n", head);
    expect_error(
        y, ddl,
        ":7: key 'metrics.aggregates.m': max of struct is not supported (a number, a string");
    snprintf(y, sizeof y, "%s  aggregates:\n    d: \"count(DISTINCT amount)\"\n", head);
    expect_error(y, ddl, "key 'metrics.aggregates.d': count takes one argument (DISTINCT is not supported)");
    expect_error("metrics:\n  window: 1m\n  aggregates: {n: \"count(*)\"}\n", ddl,
                 ":2: key 'metrics': the windows need an event time");
    /* without a schema (a first start): what can be checked is */
    lk_error err = {0};
    int rc;
    snprintf(y, sizeof y, "%s  aggregates:\n    m: \"max(nosuchfn(amount))\"\n", head);
    lk_config *c = lk_check_load_config(y, &err, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(lk_gold_check(c, &err), LK_ECONFIG);
    ck_assert_msg(strstr(err.msg, ":7: key 'metrics.aggregates.m': position 5: unknown function "
                                  "'nosuchfn'"),
                  "%s", err.msg);
    free(c);
    /* approx_percentile's array(...) passes the check without a schema */
    snprintf(y, sizeof y,
             "%s  aggregates:\n    p: \"approx_percentile(amount, array(0.5, 0.9), 100)\"\n", head);
    c = lk_check_load_config(y, &err, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(lk_gold_check(c, &err) == 0, "%s", err.msg);
    free(c);
    /* and its percentages are checked there, before any schema */
    snprintf(y, sizeof y,
             "%s  aggregates:\n    p: \"approx_percentile(amount, array(0.5, 1.5))\"\n", head);
    c = lk_check_load_config(y, &err, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(lk_gold_check(c, &err), LK_ECONFIG);
    ck_assert_msg(
        strstr(err.msg, ":7: key 'metrics.aggregates.p': percentage 1.5 (element 2 of array(...))"),
        "%s", err.msg);
    free(c);
}
END_TEST

/* Hostile event times: epoch numbers whose micros overflow int64 (x * 1000
   was undefined behaviour), dates and timestamps outside Spark's range
   0001..9999 are rows without event time, not wrapped instants. */
START_TEST(event_time_out_of_range_is_none)
{
    lk_schema *s = lk_check_schema_of("l BIGINT, d DATE, t TIMESTAMP, f DOUBLE");
    lk_batch *b = lk_batch_new(s);
    const int64_t longs[] = {1795507200LL, 1795507200000LL, INT64_MAX, INT64_MIN,
                             9300000000000000LL, -9300000000000000LL,
                             253402300799999LL, 253402300800000LL};
    const int ok_long[] = {1, 1, 0, 0, 0, 0, 1, 0};
    const int32_t days[] = {20000, INT32_MAX, INT32_MIN, -719162, -719163, 2932896, 2932897,
                            0};
    const int ok_day[] = {1, 0, 0, 1, 0, 1, 0, 1};
    const int64_t ts[] = {0, INT64_MAX, INT64_MIN, 253402300799999999LL,
                          253402300800000000LL, -62135596800000000LL, -62135596800000001LL, 1};
    const int ok_ts[] = {1, 0, 0, 1, 0, 1, 0, 1};
    const double dbl[] = {1795507200.5, 1e300, -1e300, 9.1e15, 1e14, NAN, INFINITY, -1.0};
    const int ok_dbl[] = {1, 0, 0, 0, 1, 0, 0, 1};
    for (int i = 0; i < 8; i++) {
        lk_col_append_i64(lk_batch_col(b, 0), longs[i]);
        lk_col_append_i32(lk_batch_col(b, 1), days[i]);
        lk_col_append_i64(lk_batch_col(b, 2), ts[i]);
        lk_col_append_f64(lk_batch_col(b, 3), dbl[i]);
        lk_batch_set_nrows(b, lk_batch_nrows(b) + 1);
    }
    const int *ok[] = {ok_long, ok_day, ok_ts, ok_dbl};
    const lk_type types[] = {LK_TYPE_LONG, LK_TYPE_DATE, LK_TYPE_TIMESTAMP, LK_TYPE_DOUBLE};
    for (int k = 0; k < 4; k++)
        for (uint32_t i = 0; i < 8; i++) {
            int64_t us = 0;
            int got = lk_gold_event_time_us(types[k], lk_batch_col_const(b, k), i, &us);
            ck_assert_msg(got == ok[k][i], "column %d row %u: %d, want %d (us %lld)", k, i, got,
                          ok[k][i], (long long)us);
        }
    int64_t us;
    ck_assert_int_eq(lk_gold_event_time_us(LK_TYPE_LONG, lk_batch_col_const(b, 0), 1, &us), 1);
    ck_assert_int_eq(us, 1795507200000000LL);
    ck_assert_int_eq(lk_gold_event_time_us(LK_TYPE_LONG, lk_batch_col_const(b, 0), 6, &us), 1);
    ck_assert_int_eq(us, 253402300799999000LL);
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("windows");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, window_assignment);
    tcase_add_test(tc, merge_is_associative_and_order_independent);
    tcase_add_test(tc, late_no_event_time_and_event_time_kinds);
    tcase_add_test(tc, saved_state_round_trip);
    tcase_add_test(tc, errors_name_file_line_key);
    tcase_add_test(tc, session_windows);
    tcase_add_test(tc, hll_error_against_exact);
    tcase_add_test(tc, tdigest_error_against_exact);
    tcase_add_test(tc, approximate_aggregates_in_windows);
    tcase_add_test(tc, string_min_max_and_percentile_arrays);
    tcase_add_test(tc, tdigest_small_is_percentile_disc);
    tcase_add_test(tc, min_max_of_dates_booleans_timestamps);
    tcase_add_test(tc, event_time_out_of_range_is_none);
    tcase_add_test(tc, aggregates_of_decimal_expressions);
    tcase_add_test(tc, decimal_sum_overflow_and_saved_state);
    tcase_add_test(tc, decimal_avg_and_sessions);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
