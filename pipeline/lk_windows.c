/* lk_windows — window state of event_metrics; see lk_windows.h. */
#include "lk_windows.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_buf.h"
#include "lk_decimal.h"
#include "lk_hll.h"
#include "lk_sql_cast.h"
#include "lk_sql_decimal.h"
#include "lk_tdigest.h"

typedef struct acc {
    lk_dec q;  /* decimal running value (SUM, AVG: the exact sum; MIN, MAX), unscaled */
    int64_t i; /* integral running value (SUM, MIN, MAX of integral input) */
    double d;  /* floating running value (SUM, AVG, MIN, MAX of floating input) */
    int64_t n; /* non-null inputs (COUNT_STAR: rows) */
    void *sk;  /* APPROX_DISTINCT: HLL registers; PERCENTILE: an lk_tdigest; MIN/MAX of
                  bytes: a bytes_val (NULL while no value is seen); or NULL */
    int ovf;   /* decimal SUM, AVG: the sum overflowed its precision (the result is null) */
} acc;

/* The running min/max of a string or binary aggregate. */
typedef struct bytes_val {
    uint32_t len, cap;
    char data[];
} bytes_val;

struct lk_windows {
    int nkeys, nagg;
    lk_agg_spec *aggs;
    char **agg_names;
    lk_schema *key_schema, *partial, *output;
    /* groups */
    uint32_t n, cap;
    int64_t *ws, *we;
    acc *acc;               /* n * nagg */
    lk_batch *keys;         /* row g: group g's key values */
    uint32_t *koff, *klen;  /* group g's key bytes in arena (hashing, ordering) */
    uint64_t *hash;
    lk_buf arena;
    /* open addressing: slot = group + 1, 0 = empty */
    uint32_t *slots;
    uint32_t nslots;
    lk_buf tmp;
    int64_t late, no_et, max_event;
    /* session windows: a key's sessions are chained (next: group + 1, 0 =
       end) from the slot of the key; a session merged into another is dead
       until the next compaction */
    int session;
    uint32_t *next;
    uint8_t *dead;
    uint32_t ndead;
};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) abort();
    return q;
}

static int is_sketch(const lk_agg_spec *a)
{
    return a->kind == LK_AGG_APPROX_DISTINCT || a->kind == LK_AGG_PERCENTILE;
}

/* The aggregate's running value lives behind acc.sk (freed with the group). */
static int is_boxed(const lk_agg_spec *a)
{
    return is_sketch(a) || a->is_bytes;
}

/* SUM, AVG, MIN or MAX of a DECIMAL input: the running value is an exact lk_dec (acc.q). */
static int is_dec(const lk_agg_spec *a)
{
    return a->in_type == LK_TYPE_DECIMAL && !is_sketch(a) && !a->is_bytes &&
           (a->kind == LK_AGG_SUM || a->kind == LK_AGG_AVG || a->kind == LK_AGG_MIN ||
            a->kind == LK_AGG_MAX);
}

static int min38(int x)
{
    return x < 38 ? x : 38;
}

/* The precision of a decimal SUM's (and AVG's) running sum: Spark's DecimalType.bounded(p + 10, s). */
static int sum_precision(const lk_agg_spec *a)
{
    return min38(a->dec_p + 10);
}

static lk_type value_type(const lk_agg_spec *a)
{
    return is_sketch(a)   ? LK_TYPE_BINARY
           : a->is_bytes  ? a->in_type
           : is_dec(a)    ? LK_TYPE_DECIMAL
           : a->is_double ? LK_TYPE_DOUBLE
                          : LK_TYPE_LONG;
}

/* f (just added) becomes DECIMAL(p, s). */
static lk_field *as_decimal(lk_field *f, int p, int s)
{
    f->precision = p;
    f->scale = s;
    return f;
}

/* Spark's order of strings and binaries: unsigned bytes, then length. */
static int bytes_cmp(const char *a, size_t na, const char *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    return c ? c : (na > nb) - (na < nb);
}

/* Folds the value p[0, n) into the min/max of bytes x (n itself is not
   counted: fold() does). */
static void fold_bytes(const lk_agg_spec *a, acc *x, const char *p, size_t n)
{
    bytes_val *v = x->sk;
    if (v) {
        int c = bytes_cmp(p, n, v->data, v->len);
        if (a->kind == LK_AGG_MIN ? c >= 0 : c <= 0) return;
    }
    if (!v || v->cap < n) {
        uint32_t cap = n < 16 ? 16 : (uint32_t)n;
        v = xrealloc(v, sizeof *v + cap);
        v->cap = cap;
        x->sk = v;
    }
    if (n) memcpy(v->data, p, n);
    v->len = (uint32_t)n;
}

/* The sketch of x, made on first use. */
static void *sketch(const lk_agg_spec *a, acc *x)
{
    if (!x->sk) {
        if (a->kind == LK_AGG_APPROX_DISTINCT) {
            x->sk = calloc(1, lk_hll_size(a->hll_p));
            if (!x->sk) abort();
        } else {
            x->sk = lk_tdigest_new(a->accuracy);
        }
    }
    return x->sk;
}

static void free_sketch(const lk_agg_spec *a, acc *x)
{
    if (!x->sk) return;
    if (a->kind == LK_AGG_PERCENTILE) {
        lk_tdigest *t = x->sk;
        lk_tdigest_destroy(&t);
    } else {
        free(x->sk);
    }
    x->sk = NULL;
}

/* Frees the sketches of group g. */
static void free_group(lk_windows *w, uint32_t g)
{
    for (int a = 0; a < w->nagg; a++)
        if (is_boxed(&w->aggs[a])) free_sketch(&w->aggs[a], &w->acc[(size_t)g * w->nagg + a]);
}

/* Folds the sketch of o into x (same aggregate). */
static void fold_sketch(const lk_agg_spec *a, acc *x, const acc *o)
{
    if (!o->sk) return;
    if (a->is_bytes) {
        const bytes_val *v = o->sk;
        fold_bytes(a, x, v->data, v->len);
    } else if (a->kind == LK_AGG_APPROX_DISTINCT)
        lk_hll_merge(sketch(a, x), o->sk, a->hll_p);
    else
        lk_tdigest_merge(sketch(a, x), o->sk);
}

lk_windows *lk_windows_new(const lk_field *keys, int nkeys, const lk_agg_spec *aggs, int nagg)
{
    lk_windows *w = calloc(1, sizeof *w);
    if (!w) abort();
    w->nkeys = nkeys;
    w->nagg = nagg;
    w->aggs = xrealloc(NULL, sizeof *w->aggs * (size_t)nagg);
    w->agg_names = xrealloc(NULL, sizeof *w->agg_names * (size_t)nagg);
    w->key_schema = lk_schema_new();
    w->partial = lk_schema_new();
    w->output = lk_schema_new();
    lk_schema_add(w->partial, "window_start", LK_TYPE_TIMESTAMP, 1);
    lk_schema_add(w->partial, "window_end", LK_TYPE_TIMESTAMP, 1);
    lk_schema_add(w->output, "window_start", LK_TYPE_TIMESTAMP, 0);
    lk_schema_add(w->output, "window_end", LK_TYPE_TIMESTAMP, 0);
    for (int k = 0; k < nkeys; k++) {
        lk_schema_add_copy(w->key_schema, &keys[k]);
        lk_schema_add_copy(w->partial, &keys[k]);
        lk_schema_add_copy(w->output, &keys[k]);
    }
    char name[300];
    for (int a = 0; a < nagg; a++) {
        w->aggs[a] = aggs[a];
        w->agg_names[a] = strdup(aggs[a].name);
        w->aggs[a].name = w->agg_names[a];
        lk_field *pv = lk_schema_add(w->partial, aggs[a].name, value_type(&aggs[a]), 1);
        if (is_dec(&aggs[a])) /* sum and avg: the running sum; min and max: a value */
            as_decimal(pv, aggs[a].kind == LK_AGG_SUM || aggs[a].kind == LK_AGG_AVG ? 38
                                                                                    : aggs[a].dec_p,
                       aggs[a].dec_s);
        snprintf(name, sizeof name, "%s__n", aggs[a].name);
        lk_schema_add(w->partial, name, LK_TYPE_LONG, 1);
        switch (aggs[a].kind) {
        case LK_AGG_COUNT_STAR:
        case LK_AGG_COUNT: lk_schema_add(w->output, aggs[a].name, LK_TYPE_LONG, 0); break;
        case LK_AGG_SUM:
            if (is_dec(&aggs[a]))
                as_decimal(lk_schema_add(w->output, aggs[a].name, LK_TYPE_DECIMAL, 1),
                           sum_precision(&aggs[a]), aggs[a].dec_s);
            else
                lk_schema_add(w->output, aggs[a].name,
                              aggs[a].is_double ? LK_TYPE_DOUBLE : LK_TYPE_LONG, 1);
            break;
        case LK_AGG_APPROX_DISTINCT: lk_schema_add(w->output, aggs[a].name, LK_TYPE_LONG, 0); break;
        case LK_AGG_AVG:
            if (is_dec(&aggs[a])) /* Spark's DecimalType.bounded(p + 4, s + 4) */
                as_decimal(lk_schema_add(w->output, aggs[a].name, LK_TYPE_DECIMAL, 1),
                           min38(aggs[a].dec_p + 4), min38(aggs[a].dec_s + 4));
            else
                lk_schema_add(w->output, aggs[a].name, LK_TYPE_DOUBLE, 1);
            break;
        case LK_AGG_PERCENTILE:
            if (aggs[a].q_array) { /* Spark's ArrayType(input, containsNull = false) */
                lk_field *f = lk_schema_add(w->output, aggs[a].name, LK_TYPE_ARRAY, 1);
                lk_field *e = lk_field_add_child(f, "element", aggs[a].in_type, 0);
                if (aggs[a].in_type == LK_TYPE_DECIMAL)
                    as_decimal(e, aggs[a].dec_p, aggs[a].dec_s);
                break;
            }
            __attribute__((fallthrough)); /* the input's type */
        default: {
            lk_field *f = lk_schema_add(w->output, aggs[a].name, aggs[a].in_type, 1);
            if (aggs[a].in_type == LK_TYPE_DECIMAL) as_decimal(f, aggs[a].dec_p, aggs[a].dec_s);
            break;
        }
        }
    }
    lk_schema_add(w->partial, "_late", LK_TYPE_LONG, 1);
    lk_schema_add(w->partial, "_no_event_time", LK_TYPE_LONG, 1);
    lk_schema_add(w->partial, "_max_event_time", LK_TYPE_LONG, 1);
    w->keys = lk_batch_new(w->key_schema);
    w->max_event = INT64_MIN;
    return w;
}

void lk_windows_destroy(lk_windows **wp)
{
    if (!wp || !*wp) return;
    lk_windows *w = *wp;
    for (uint32_t g = 0; g < w->n; g++)
        free_group(w, g);
    for (int a = 0; a < w->nagg; a++)
        free(w->agg_names[a]);
    free(w->agg_names);
    free(w->aggs);
    lk_schema_destroy(&w->key_schema);
    lk_schema_destroy(&w->partial);
    lk_schema_destroy(&w->output);
    lk_batch_destroy(&w->keys);
    free(w->ws);
    free(w->we);
    free(w->acc);
    free(w->koff);
    free(w->klen);
    free(w->hash);
    free(w->slots);
    free(w->next);
    free(w->dead);
    lk_buf_free(&w->arena);
    lk_buf_free(&w->tmp);
    free(w);
    *wp = NULL;
}

void lk_windows_set_sessions(lk_windows *w)
{
    w->session = 1;
}

void lk_windows_reset(lk_windows *w)
{
    for (uint32_t g = 0; g < w->n; g++)
        free_group(w, g);
    w->n = w->ndead = 0;
    lk_batch_reset(w->keys);
    lk_buf_reset(&w->arena);
    if (w->slots) memset(w->slots, 0, sizeof *w->slots * w->nslots);
    w->late = w->no_et = 0;
    w->max_event = INT64_MIN;
}

const lk_schema *lk_windows_partial_schema(const lk_windows *w)
{
    return w->partial;
}

const lk_schema *lk_windows_output_schema(const lk_windows *w)
{
    return w->output;
}

uint32_t lk_windows_ngroups(const lk_windows *w)
{
    return w->n - w->ndead;
}

/* The bytes that identify (start, key values of row): hashed and compared. */
static void key_bytes(lk_buf *b, int64_t start, const lk_col *const *keys, int nkeys, uint32_t row)
{
    lk_buf_reset(b);
    lk_buf_append(b, &start, sizeof start);
    for (int k = 0; k < nkeys; k++) {
        const lk_col *c = keys[k];
        if (lk_col_is_null(c, row)) {
            lk_buf_putc(b, 0);
            continue;
        }
        lk_buf_putc(b, 1);
        if (c->offsets) {
            size_t n;
            const char *p = lk_col_bytes(c, row, &n);
            uint32_t len = (uint32_t)n;
            lk_buf_append(b, &len, sizeof len);
            lk_buf_append(b, p, n);
        } else {
            uint32_t es = c->elem_size ? c->elem_size : lk_col_elem_size(c->field);
            lk_buf_append(b, (const char *)c->values + (size_t)row * es, es);
        }
    }
}

static uint64_t hash_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static int same_key(const lk_windows *w, uint32_t a, uint32_t b)
{
    return w->hash[a] == w->hash[b] && w->klen[a] == w->klen[b] &&
           !memcmp(w->arena.data + w->koff[a], w->arena.data + w->koff[b], w->klen[a]);
}

static void rehash(lk_windows *w, uint32_t want)
{
    uint32_t ns = 64;
    while (ns < want * 2)
        ns *= 2;
    if (ns != w->nslots) {
        w->slots = xrealloc(w->slots, sizeof *w->slots * ns);
        w->nslots = ns;
    }
    memset(w->slots, 0, sizeof *w->slots * ns);
    for (uint32_t g = 0; g < w->n; g++) {
        uint32_t s = (uint32_t)w->hash[g] & (ns - 1);
        if (w->session) {
            /* a key's sessions share its slot: chained behind the first */
            w->next[g] = 0;
            while (w->slots[s] && !same_key(w, w->slots[s] - 1, g))
                s = (s + 1) & (ns - 1);
            if (w->slots[s]) {
                uint32_t h = w->slots[s] - 1;
                w->next[g] = w->next[h];
                w->next[h] = g + 1;
                continue;
            }
        } else {
            while (w->slots[s])
                s = (s + 1) & (ns - 1);
        }
        w->slots[s] = g + 1;
    }
}

static void grow(lk_windows *w)
{
    if (w->n < w->cap) return;
    w->cap = w->cap ? w->cap * 2 : 256;
    w->ws = xrealloc(w->ws, sizeof *w->ws * w->cap);
    w->we = xrealloc(w->we, sizeof *w->we * w->cap);
    w->acc = xrealloc(w->acc, sizeof *w->acc * w->cap * (size_t)(w->nagg ? w->nagg : 1));
    w->koff = xrealloc(w->koff, sizeof *w->koff * w->cap);
    w->klen = xrealloc(w->klen, sizeof *w->klen * w->cap);
    w->hash = xrealloc(w->hash, sizeof *w->hash * w->cap);
    w->next = xrealloc(w->next, sizeof *w->next * w->cap);
    w->dead = xrealloc(w->dead, w->cap);
}

/* A new group for the key bytes in tmp (hash h) and row's key values. */
static uint32_t new_group(lk_windows *w, int64_t start, int64_t end, uint64_t h,
                          const lk_col *const *keys, uint32_t row)
{
    grow(w);
    uint32_t g = w->n++;
    w->ws[g] = start;
    w->we[g] = end;
    w->hash[g] = h;
    w->next[g] = 0;
    w->dead[g] = 0;
    w->koff[g] = (uint32_t)w->arena.len;
    w->klen[g] = (uint32_t)w->tmp.len;
    lk_buf_append(&w->arena, w->tmp.data, w->tmp.len);
    for (int k = 0; k < w->nkeys; k++)
        lk_col_append_range(lk_batch_col(w->keys, k), keys[k], row, 1);
    lk_batch_set_nrows(w->keys, w->n);
    memset(&w->acc[(size_t)g * w->nagg], 0, sizeof *w->acc * (size_t)w->nagg);
    return g;
}

static void fold(const lk_agg_spec *a, acc *x, int64_t i, double d, int64_t n);
static void fold_dec(const lk_agg_spec *a, acc *x, lk_dec q, int ovf, int64_t n);

/* The slot of the key bytes in tmp (hash h): the one holding them, or the
   empty one where they go (the table grown first when it must). */
static uint32_t find_slot(lk_windows *w, uint64_t h)
{
    if ((uint64_t)(w->n + 1) * 2 > w->nslots) rehash(w, w->n + 1);
    uint32_t s = (uint32_t)h & (w->nslots - 1);
    while (w->slots[s]) {
        uint32_t g = w->slots[s] - 1;
        if (w->hash[g] == h && w->klen[g] == w->tmp.len &&
            !memcmp(w->arena.data + w->koff[g], w->tmp.data, w->tmp.len))
            break;
        s = (s + 1) & (w->nslots - 1);
    }
    return s;
}

/* Session windows: the session of row's key that [start, end) overlaps,
   grown to hold it and merged with every other session it now overlaps;
   or a new session. */
static uint32_t session_group(lk_windows *w, int64_t start, int64_t end,
                              const lk_col *const *keys, uint32_t row)
{
    key_bytes(&w->tmp, 0, keys, w->nkeys, row);
    uint64_t h = hash_bytes(w->tmp.data, w->tmp.len);
    uint32_t s = find_slot(w, h);
    if (!w->slots[s]) {
        uint32_t g = new_group(w, start, end, h, keys, row);
        w->slots[s] = g + 1;
        return g;
    }
    uint32_t head = w->slots[s] - 1, x = UINT32_MAX;
    for (uint32_t g = head + 1; g; g = w->next[g - 1]) {
        uint32_t y = g - 1;
        if (!w->dead[y] && w->ws[y] < end && start < w->we[y]) {
            x = y;
            break;
        }
    }
    if (x == UINT32_MAX) {
        uint32_t g = new_group(w, start, end, h, keys, row);
        w->next[g] = w->next[head];
        w->next[head] = g + 1;
        return g;
    }
    if (start < w->ws[x]) w->ws[x] = start;
    if (end > w->we[x]) w->we[x] = end;
    for (int changed = 1; changed;) {
        changed = 0;
        for (uint32_t g = head + 1; g; g = w->next[g - 1]) {
            uint32_t y = g - 1;
            if (y == x || w->dead[y] || !(w->ws[y] < w->we[x] && w->ws[x] < w->we[y])) continue;
            for (int a = 0; a < w->nagg; a++) {
                const acc *o = &w->acc[(size_t)y * w->nagg + a];
                acc *into = &w->acc[(size_t)x * w->nagg + a];
                fold_sketch(&w->aggs[a], into, o);
                if (is_dec(&w->aggs[a]))
                    fold_dec(&w->aggs[a], into, o->q, o->ovf, o->n);
                else
                    fold(&w->aggs[a], into, o->i, o->d, o->n);
            }
            free_group(w, y);
            if (w->ws[y] < w->ws[x]) w->ws[x] = w->ws[y];
            if (w->we[y] > w->we[x]) w->we[x] = w->we[y];
            w->dead[y] = 1;
            w->ndead++;
            changed = 1;
        }
    }
    return x;
}

uint32_t lk_windows_group(lk_windows *w, int64_t start, int64_t end, const lk_col *const *keys,
                          uint32_t row)
{
    if (w->session) return session_group(w, start, end, keys, row);
    key_bytes(&w->tmp, start, keys, w->nkeys, row);
    uint64_t h = hash_bytes(w->tmp.data, w->tmp.len);
    uint32_t s = find_slot(w, h);
    if (w->slots[s]) return w->slots[s] - 1;
    uint32_t g = new_group(w, start, end, h, keys, row);
    w->slots[s] = g + 1;
    return g;
}

static int64_t read_int(const lk_col *c, uint32_t i)
{
    switch (c->field->type) {
    case LK_TYPE_BOOLEAN:
    case LK_TYPE_BYTE: return ((const int8_t *)c->values)[i];
    case LK_TYPE_SHORT: return ((const int16_t *)c->values)[i];
    case LK_TYPE_INTEGER:
    case LK_TYPE_DATE: return lk_col_i32(c, i);
    default: return lk_col_i64(c, i);
    }
}

static double read_double(const lk_col *c, uint32_t i)
{
    if (c->field->type == LK_TYPE_FLOAT) return ((const float *)c->values)[i];
    if (c->field->type == LK_TYPE_DOUBLE) return lk_col_f64(c, i);
    if (c->field->type == LK_TYPE_DECIMAL) return lk_dec_to_double(lk_dec_read(c, i), c->field->scale);
    return (double)read_int(c, i);
}

/* Folds (q, ovf, n) of a decimal aggregate into x: sums add exactly and overflow past the sum's
   precision for good (Spark's non-ANSI sum is then null), min/max compare. */
static void fold_dec(const lk_agg_spec *a, acc *x, lk_dec q, int ovf, int64_t n)
{
    if (n <= 0) return;
    if (a->kind == LK_AGG_SUM || a->kind == LK_AGG_AVG) {
        if (!x->ovf && (ovf || __builtin_add_overflow(x->q, q, &x->q) ||
                        !lk_dec_fits(x->q, sum_precision(a))))
            x->ovf = 1;
    } else if (!x->n || (a->kind == LK_AGG_MIN ? q < x->q : q > x->q)) {
        x->q = q;
    }
    x->n += n;
}

/* Folds (i, d, n) of another partial into x: the one merge of every kind. */
static void fold(const lk_agg_spec *a, acc *x, int64_t i, double d, int64_t n)
{
    if (n <= 0) return;
    switch (a->kind) {
    case LK_AGG_COUNT_STAR:
    case LK_AGG_COUNT:
    case LK_AGG_APPROX_DISTINCT:
    case LK_AGG_PERCENTILE: break;
    case LK_AGG_SUM:
    case LK_AGG_AVG:
        x->i += i;
        x->d += d;
        break;
    case LK_AGG_MIN:
        if (a->is_bytes) break; /* the value: fold_bytes */
        if (!x->n || (a->is_double ? d < x->d : i < x->i)) {
            x->i = i;
            x->d = d;
        }
        break;
    case LK_AGG_MAX:
        if (a->is_bytes) break;
        if (!x->n || (a->is_double ? d > x->d : i > x->i)) {
            x->i = i;
            x->d = d;
        }
        break;
    }
    x->n += n;
}

void lk_windows_add(lk_windows *w, uint32_t g, int a, const lk_col *v, uint32_t row)
{
    acc *x = &w->acc[(size_t)g * w->nagg + a];
    const lk_agg_spec *s = &w->aggs[a];
    if (s->kind == LK_AGG_COUNT_STAR || !v) {
        x->n++;
        return;
    }
    if (lk_col_is_null(v, row)) return;
    if (s->kind == LK_AGG_COUNT) {
        x->n++;
        return;
    }
    if (s->kind == LK_AGG_APPROX_DISTINCT) {
        uint64_t h;
        if (v->offsets) {
            size_t n;
            const char *p = lk_col_bytes(v, row, &n);
            h = lk_hll_hash(p, n);
        } else {
            uint32_t es = v->elem_size ? v->elem_size : lk_col_elem_size(v->field);
            h = lk_hll_hash((const char *)v->values + (size_t)row * es, es);
        }
        lk_hll_add(sketch(s, x), s->hll_p, h);
        x->n++;
        return;
    }
    if (s->kind == LK_AGG_PERCENTILE) {
        lk_tdigest_add(sketch(s, x), read_double(v, row), 1);
        x->n++;
        return;
    }
    if (s->is_bytes) {
        size_t n;
        const char *p = lk_col_bytes(v, row, &n);
        fold_bytes(s, x, p, n);
        x->n++;
        return;
    }
    if (is_dec(s))
        fold_dec(s, x, lk_dec_read(v, row), 0, 1);
    else if (s->is_double)
        fold(s, x, 0, read_double(v, row), 1);
    else
        fold(s, x, read_int(v, row), 0, 1);
}

void lk_windows_count(lk_windows *w, int64_t late, int64_t no_event_time, int64_t max_event_us)
{
    w->late += late;
    w->no_et += no_event_time;
    if (max_event_us > w->max_event) w->max_event = max_event_us;
}

int64_t lk_windows_late(const lk_windows *w)
{
    return w->late;
}

int64_t lk_windows_no_event_time(const lk_windows *w)
{
    return w->no_et;
}

int64_t lk_windows_max_event(const lk_windows *w)
{
    return w->max_event;
}

int lk_windows_merge(lk_windows *w, const lk_batch *p, lk_error *err)
{
    const lk_schema *s = lk_batch_schema(p);
    /* a partial made for other group keys or aggregates: `metrics:` changed
       since the state was saved (as Spark, which refuses a state schema that
       is not compatible, a configuration error, not a retry) */
    if (lk_schema_nfields(s) != lk_schema_nfields(w->partial))
        return lk_error_set(err, LK_ECONFIG,
                            "window partial has %d columns, the metrics configuration %d: "
                            "metrics.group_by or metrics.aggregates changed",
                            lk_schema_nfields(s), lk_schema_nfields(w->partial));
    for (int c = 0; c < lk_schema_nfields(s); c++) {
        const lk_field *a = lk_schema_field(s, c), *b = lk_schema_field(w->partial, c);
        /* a state saved before decimal aggregates were exact holds their running values as
           doubles: read as decimals below (an aggregate's value column only, never a key) */
        int vc = c - 2 - w->nkeys, legacy = 0;
        if (vc >= 0 && vc < 2 * w->nagg && vc % 2 == 0 && is_dec(&w->aggs[vc / 2]))
            legacy = a->type == LK_TYPE_DOUBLE && b->type == LK_TYPE_DECIMAL;
        if ((!lk_field_same_type(a, b) && !legacy) || strcmp(a->name, b->name))
            return lk_error_set(err, LK_ECONFIG,
                                "window partial column %d is %s %s, the metrics configuration "
                                "makes it %s %s: metrics.group_by or metrics.aggregates changed",
                                c, a->name, lk_type_name(a->type), b->name, lk_type_name(b->type));
    }
    const lk_col *ws = lk_batch_col_const(p, 0), *we = lk_batch_col_const(p, 1);
    const lk_col *keys[64];
    for (int k = 0; k < w->nkeys && k < 64; k++)
        keys[k] = lk_batch_col_const(p, 2 + k);
    int base = 2 + w->nkeys, meta = base + 2 * w->nagg;
    uint32_t n = lk_batch_nrows(p);
    for (uint32_t r = 0; r < n; r++) {
        if (lk_col_is_null(ws, r)) {
            const lk_col *l = lk_batch_col_const(p, meta), *ne = lk_batch_col_const(p, meta + 1),
                         *mx = lk_batch_col_const(p, meta + 2);
            lk_windows_count(w, lk_col_is_null(l, r) ? 0 : lk_col_i64(l, r),
                             lk_col_is_null(ne, r) ? 0 : lk_col_i64(ne, r),
                             lk_col_is_null(mx, r) ? INT64_MIN : lk_col_i64(mx, r));
            continue;
        }
        uint32_t g = lk_windows_group(w, lk_col_i64(ws, r), lk_col_i64(we, r), keys, r);
        for (int a = 0; a < w->nagg; a++) {
            const lk_col *v = lk_batch_col_const(p, base + 2 * a),
                         *cn = lk_batch_col_const(p, base + 2 * a + 1);
            int64_t cnt = lk_col_is_null(cn, r) ? 0 : lk_col_i64(cn, r);
            int null = lk_col_is_null(v, r);
            acc *x = &w->acc[(size_t)g * w->nagg + a];
            const lk_agg_spec *sa = &w->aggs[a];
            if (sa->is_bytes) {
                if (!null && cnt > 0) {
                    size_t blen;
                    const char *bytes = lk_col_bytes(v, r, &blen);
                    fold_bytes(sa, x, bytes, blen);
                }
                fold(sa, x, 0, 0, cnt);
                continue;
            }
            if (is_sketch(sa)) {
                if (!null && cnt > 0) {
                    size_t blen;
                    const char *bytes = lk_col_bytes(v, r, &blen);
                    if (sa->kind == LK_AGG_APPROX_DISTINCT) {
                        if (blen != lk_hll_size(sa->hll_p))
                            return lk_error_set(err, LK_EFORMAT, "%s: an HLL sketch of %zu bytes",
                                                sa->name, blen);
                        lk_hll_merge(sketch(sa, x), (const uint8_t *)bytes, sa->hll_p);
                    } else if (lk_tdigest_load(sketch(sa, x), bytes, blen)) {
                        return lk_error_set(err, LK_EFORMAT, "%s: a malformed t-digest", sa->name);
                    }
                }
                fold(sa, x, 0, 0, cnt);
                continue;
            }
            if (is_dec(sa)) {
                /* null with values counted: the sum overflowed */
                lk_dec q = 0;
                int ovf = null && cnt > 0;
                if (!null && v->field->type == LK_TYPE_DOUBLE) {
                    ovf = lk_sql_dec_from_double(lk_col_f64(v, r), sa->dec_s, &q) != 0;
                    /* a min/max of p >= 16 digits may have rounded past 10^p as a double */
                    lk_dec top = (lk_dec)lk_dec_pow10(sa->dec_p) - 1;
                    if (sa->kind == LK_AGG_MIN || sa->kind == LK_AGG_MAX)
                        q = ovf ? 0 : q > top ? top : q < -top ? -top : q;
                } else if (!null) {
                    q = lk_dec_read(v, r);
                }
                fold_dec(sa, x, q, ovf, cnt);
            } else if (w->aggs[a].is_double)
                fold(&w->aggs[a], &w->acc[(size_t)g * w->nagg + a], 0,
                     null ? 0 : lk_col_f64(v, r), cnt);
            else
                fold(&w->aggs[a], &w->acc[(size_t)g * w->nagg + a], null ? 0 : lk_col_i64(v, r),
                     0, cnt);
        }
    }
    return 0;
}

void lk_windows_save(const lk_windows *w, lk_batch *out)
{
    int base = 2 + w->nkeys;
    uint32_t saved = 0;
    for (uint32_t g = 0; g < w->n; g++) {
        if (w->dead[g]) continue;
        saved++;
        lk_col_append_i64(lk_batch_col(out, 0), w->ws[g]);
        lk_col_append_i64(lk_batch_col(out, 1), w->we[g]);
        for (int k = 0; k < w->nkeys; k++)
            lk_col_append_range(lk_batch_col(out, 2 + k), lk_batch_col_const(w->keys, k), g, 1);
        for (int a = 0; a < w->nagg; a++) {
            const acc *x = &w->acc[(size_t)g * w->nagg + a];
            if (w->aggs[a].is_bytes) {
                const bytes_val *bv = x->sk;
                if (bv)
                    lk_col_append_bytes(lk_batch_col(out, base + 2 * a), bv->data, bv->len);
                else
                    lk_col_append_null(lk_batch_col(out, base + 2 * a));
            } else if (is_sketch(&w->aggs[a])) {
                lk_buf *t = (lk_buf *)&w->tmp;
                lk_buf_reset(t);
                if (x->sk && w->aggs[a].kind == LK_AGG_APPROX_DISTINCT)
                    lk_buf_append(t, x->sk, lk_hll_size(w->aggs[a].hll_p));
                else if (x->sk)
                    lk_tdigest_save(x->sk, t);
                if (x->sk)
                    lk_col_append_bytes(lk_batch_col(out, base + 2 * a), t->data, t->len);
                else
                    lk_col_append_null(lk_batch_col(out, base + 2 * a));
            } else if (is_dec(&w->aggs[a])) {
                if (x->ovf)
                    lk_col_append_null(lk_batch_col(out, base + 2 * a));
                else
                    lk_dec_append(lk_batch_col(out, base + 2 * a), x->q);
            } else if (w->aggs[a].is_double)
                lk_col_append_f64(lk_batch_col(out, base + 2 * a), x->d);
            else
                lk_col_append_i64(lk_batch_col(out, base + 2 * a), x->i);
            lk_col_append_i64(lk_batch_col(out, base + 2 * a + 1), x->n);
        }
        for (int m = 0; m < 3; m++)
            lk_col_append_null(lk_batch_col(out, base + 2 * w->nagg + m));
    }
    lk_col_append_null(lk_batch_col(out, 0));
    lk_col_append_null(lk_batch_col(out, 1));
    for (int c = 2; c < base + 2 * w->nagg; c++)
        lk_col_append_null(lk_batch_col(out, c));
    lk_col_append_i64(lk_batch_col(out, base + 2 * w->nagg), w->late);
    lk_col_append_i64(lk_batch_col(out, base + 2 * w->nagg + 1), w->no_et);
    if (w->max_event == INT64_MIN)
        lk_col_append_null(lk_batch_col(out, base + 2 * w->nagg + 2));
    else
        lk_col_append_i64(lk_batch_col(out, base + 2 * w->nagg + 2), w->max_event);
    lk_batch_set_nrows(out, lk_batch_nrows(out) + saved + 1);
}

static void put_int(lk_col *c, int64_t v)
{
    switch (c->field->type) {
    case LK_TYPE_BOOLEAN: lk_col_append_bool(c, v != 0); break;
    case LK_TYPE_BYTE: {
        int8_t x = (int8_t)v;
        lk_col_append_fixed(c, &x);
        break;
    }
    case LK_TYPE_SHORT: {
        int16_t x = (int16_t)v;
        lk_col_append_fixed(c, &x);
        break;
    }
    case LK_TYPE_INTEGER:
    case LK_TYPE_DATE: lk_col_append_i32(c, (int32_t)v); break;
    default: lk_col_append_i64(c, v); break;
    }
}

/* A number of the aggregate's input type (percentiles). */
static void put_number(const lk_agg_spec *a, lk_col *c, double v)
{
    if (c->field->type == LK_TYPE_DECIMAL) { /* Spark's Decimal(double), at the input's scale */
        lk_dec q = 0, top = (lk_dec)lk_dec_pow10(c->field->precision) - 1;
        int bad = lk_sql_dec_from_double(v, c->field->scale, &q) != 0;
        if (!bad && lk_dec_fits(q, c->field->precision)) {
            lk_dec_append(c, q);
        } else if (c->field->nullable) { /* a value of p >= 16 digits rounded past 10^p as a
                                            double: null, as Spark's changePrecision */
            lk_col_append_null(c);
        } else { /* an element of array(...) (containsNull false): the nearest that fits */
            lk_dec_append(c, bad ? 0 : q > 0 ? top : -top);
        }
    } else if (a->is_double && c->field->type == LK_TYPE_FLOAT)
        lk_col_append_f32(c, (float)v);
    else if (a->is_double)
        lk_col_append_f64(c, v);
    else
        put_int(c, llround(v));
}

/* Spark's avg of a DECIMAL(p, s) (3.4 and later, DecimalDivideWithOverflowCheck): the exact sum
   divided by the count at scale 38, HALF_UP (Decimal./), then brought to the result type
   DECIMAL(min(38, p + 4), min(38, s + 4)), HALF_UP (toPrecision). -1 where Spark gives null. */
static int dec_avg(const lk_agg_spec *a, lk_dec sum, int64_t n, const lk_field *to, lk_dec *out)
{
    return lk_sql_dec_avg(sum, a->dec_s, n, to->scale, out) || !lk_dec_fits(*out, to->precision) ? -1
                                                                                            : 0;
}

static void put_final(const lk_agg_spec *a, const acc *x, lk_col *c)
{
    if (is_dec(a)) {
        lk_dec v = x->q;
        if (!x->n || x->ovf || (a->kind == LK_AGG_AVG && dec_avg(a, x->q, x->n, c->field, &v)))
            lk_col_append_null(c);
        else
            lk_dec_append(c, v);
        return;
    }
    if (a->is_bytes) { /* min/max of strings or binaries */
        const bytes_val *v = x->sk;
        if (x->n && v)
            lk_col_append_bytes(c, v->data, v->len);
        else
            lk_col_append_null(c);
        return;
    }
    switch (a->kind) {
    case LK_AGG_APPROX_DISTINCT:
        lk_col_append_i64(c, x->sk ? llround(lk_hll_estimate(x->sk, a->hll_p)) : 0);
        return;
    case LK_AGG_PERCENTILE:
        if (!x->n || !x->sk) {
            lk_col_append_null(c);
            return;
        }
        if (!a->q_array) {
            put_number(a, c, lk_tdigest_quantile(x->sk, a->q[0]));
            return;
        }
        /* one digest serves every percentile of the array */
        for (int i = 0; i < a->nq; i++)
            put_number(a, &c->children[0], lk_tdigest_quantile(x->sk, a->q[i]));
        lk_col_append_list(c);
        return;
    case LK_AGG_COUNT_STAR:
    case LK_AGG_COUNT: lk_col_append_i64(c, x->n); return;
    case LK_AGG_AVG:
        if (!x->n)
            lk_col_append_null(c);
        else
            lk_col_append_f64(c, x->d / (double)x->n);
        return;
    default:
        if (!x->n)
            lk_col_append_null(c);
        else if (!a->is_double)
            put_int(c, x->i);
        else if (c->field->type == LK_TYPE_FLOAT)
            lk_col_append_f32(c, (float)x->d);
        else
            lk_col_append_f64(c, x->d);
    }
}

static const lk_windows *sort_w;

static int by_start_key(const void *pa, const void *pb)
{
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    const lk_windows *w = sort_w;
    if (w->ws[a] != w->ws[b]) return w->ws[a] < w->ws[b] ? -1 : 1;
    uint32_t n = w->klen[a] < w->klen[b] ? w->klen[a] : w->klen[b];
    int c = memcmp(w->arena.data + w->koff[a], w->arena.data + w->koff[b], n);
    if (c) return c;
    return w->klen[a] < w->klen[b] ? -1 : w->klen[a] > w->klen[b];
}

static void emit_rows(const lk_windows *w, const uint32_t *sel, uint32_t n, lk_batch *out)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t g = sel[i];
        lk_col_append_i64(lk_batch_col(out, 0), w->ws[g]);
        lk_col_append_i64(lk_batch_col(out, 1), w->we[g]);
        for (int k = 0; k < w->nkeys; k++)
            lk_col_append_range(lk_batch_col(out, 2 + k), lk_batch_col_const(w->keys, k), g, 1);
        for (int a = 0; a < w->nagg; a++)
            put_final(&w->aggs[a], &w->acc[(size_t)g * w->nagg + a],
                      lk_batch_col(out, 2 + w->nkeys + a));
    }
    lk_batch_set_nrows(out, lk_batch_nrows(out) + n);
}

static uint32_t *sorted(const lk_windows *w, int64_t watermark, int all, uint32_t *count)
{
    uint32_t *sel = xrealloc(NULL, sizeof *sel * (w->n ? w->n : 1)), n = 0;
    for (uint32_t g = 0; g < w->n; g++)
        if (!w->dead[g] && (all || w->we[g] <= watermark)) sel[n++] = g;
    sort_w = w;
    qsort(sel, n, sizeof *sel, by_start_key);
    *count = n;
    return sel;
}

uint32_t lk_windows_emit_all(const lk_windows *w, lk_batch *out)
{
    uint32_t n;
    uint32_t *sel = sorted(w, 0, 1, &n);
    emit_rows(w, sel, n, out);
    free(sel);
    return n;
}

uint32_t lk_windows_close(lk_windows *w, int64_t watermark, lk_batch *out)
{
    uint32_t n;
    uint32_t *sel = sorted(w, watermark, 0, &n);
    emit_rows(w, sel, n, out);
    for (uint32_t i = 0; i < n; i++)
        free_group(w, sel[i]);
    free(sel);
    if (!n && !w->ndead) return 0;
    /* keep the open groups, in their order: arrays, keys and arena compacted */
    lk_batch *keys = lk_batch_new(w->key_schema);
    lk_buf arena = LK_BUF_INIT;
    uint32_t k = 0;
    for (uint32_t g = 0; g < w->n; g++) {
        if (w->dead[g] || w->we[g] <= watermark) continue;
        for (int c = 0; c < w->nkeys; c++)
            lk_col_append_range(lk_batch_col(keys, c), lk_batch_col_const(w->keys, c), g, 1);
        w->ws[k] = w->ws[g];
        w->we[k] = w->we[g];
        w->hash[k] = w->hash[g];
        memmove(&w->acc[(size_t)k * w->nagg], &w->acc[(size_t)g * w->nagg],
                sizeof *w->acc * (size_t)w->nagg);
        uint32_t off = (uint32_t)arena.len;
        lk_buf_append(&arena, w->arena.data + w->koff[g], w->klen[g]);
        w->koff[k] = off;
        w->klen[k] = w->klen[g];
        w->dead[k] = 0;
        k++;
    }
    lk_batch_set_nrows(keys, k);
    lk_batch_destroy(&w->keys);
    w->keys = keys;
    lk_buf_free(&w->arena);
    w->arena = arena;
    w->n = k;
    w->ndead = 0;
    rehash(w, k + 1);
    return n;
}

