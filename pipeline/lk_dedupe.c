/* lk_dedupe — transform.dedupe's per-chunk half; see lk_dedupe.h. */
#include "lk_dedupe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_dedupe_state.h"
#include "lk_gold.h"
#include "lk_sql.h"

struct lk_dedupe {
    const lk_config *cfg;
    lk_sql_program *prog; /* the event time */
    int et;
    lk_type et_type;
    int ncols;
    int col[LK_MAX_PARTITION_COLS]; /* the key columns in processed_events */
    lk_schema *keys;
};

static int scalar_type(lk_type t)
{
    return t != LK_TYPE_STRUCT && t != LK_TYPE_ARRAY && t != LK_TYPE_MAP;
}

int lk_dedupe_new(const lk_config *cfg, const lk_schema *processed, lk_dedupe **out, lk_error *err)
{
    *out = NULL;
    lk_dedupe *d = calloc(1, sizeof *d);
    if (!d) abort();
    d->cfg = cfg;
    d->prog = lk_sql_program_new(processed);
    for (int i = 0; i < cfg->event.dedupe.keys.n; i++) {
        const char *name = cfg->event.dedupe.keys.name[i];
        int k = lk_schema_find(processed, name);
        if (k < 0 || !scalar_type(lk_schema_field(processed, k)->type)) {
            char cols[1024] = "";
            for (int j = 0; j < lk_schema_nfields(processed); j++) {
                size_t n = strlen(cols);
                snprintf(cols + n, sizeof cols - n, "%s%s", j ? ", " : "",
                         lk_schema_field(processed, j)->name);
            }
            lk_error_set(err, LK_ECONFIG,
                         k < 0 ? "%s:%d: key 'transform.dedupe.keys[%d]': column '%s' is not in "
                                 "processed_events (its columns: %s)"
                               : "%s:%d: key 'transform.dedupe.keys[%d]': column '%s' is not a "
                                 "scalar column (processed_events: %s)",
                         lk_config_file_name(cfg), cfg->event.dedupe.key_line[i], i, name, cols);
            lk_dedupe_destroy(&d);
            return LK_ECONFIG;
        }
        d->col[d->ncols++] = k;
    }
    if (lk_gold_compile_event_time(d->prog, cfg, &d->et, &d->et_type, err)) {
        lk_dedupe_destroy(&d);
        return LK_ECONFIG;
    }
    d->keys = lk_schema_new();
    lk_schema_add(d->keys, "hi", LK_TYPE_LONG, 0);
    lk_schema_add(d->keys, "lo", LK_TYPE_LONG, 0);
    lk_schema_add(d->keys, "t", LK_TYPE_LONG, 0);
    lk_schema_add(d->keys, "row", LK_TYPE_INTEGER, 0);
    *out = d;
    return 0;
}

void lk_dedupe_destroy(lk_dedupe **dp)
{
    if (!dp || !*dp) return;
    lk_sql_program_destroy(&(*dp)->prog);
    lk_schema_destroy(&(*dp)->keys);
    free(*dp);
    *dp = NULL;
}

const lk_schema *lk_dedupe_keys_schema(const lk_dedupe *d)
{
    return d->keys;
}

void lk_dedupe_row_hash(const lk_col *const *cols, int n, uint32_t i, uint64_t *hi, uint64_t *lo)
{
    lk_dedupe_hash h;
    lk_dedupe_hash_init(&h);
    for (int k = 0; k < n; k++) {
        const lk_col *c = cols[k];
        unsigned char tag = lk_col_is_null(c, i) ? 0 : 1;
        lk_dedupe_hash_add(&h, &tag, 1);
        if (!tag) continue;
        int64_t x;
        double f;
        switch (c->field->type) {
        case LK_TYPE_STRING:
        case LK_TYPE_BINARY: {
            size_t len;
            const char *p = lk_col_bytes(c, i, &len);
            lk_dedupe_hash_add(&h, p, len);
            break;
        }
        case LK_TYPE_BOOLEAN:
        case LK_TYPE_BYTE:
            x = ((const int8_t *)c->values)[i];
            goto integral;
        case LK_TYPE_SHORT:
            x = ((const int16_t *)c->values)[i];
            goto integral;
        case LK_TYPE_INTEGER:
        case LK_TYPE_DATE:
            x = lk_col_i32(c, i);
            goto integral;
        case LK_TYPE_LONG:
        case LK_TYPE_TIMESTAMP:
        case LK_TYPE_TIMESTAMP_NTZ:
            x = lk_col_i64(c, i);
        integral:
            lk_dedupe_hash_add(&h, &x, sizeof x);
            break;
        case LK_TYPE_FLOAT:
            f = ((const float *)c->values)[i];
            goto floating;
        case LK_TYPE_DOUBLE:
            f = lk_col_f64(c, i);
        floating:
            if (f == 0) f = 0;     /* -0.0 and 0.0: one key, as Spark normalizes */
            if (isnan(f)) f = NAN; /* every NaN: one key */
            lk_dedupe_hash_add(&h, &f, sizeof f);
            break;
        default: /* decimals: the unscaled value's bytes */
            lk_dedupe_hash_add(&h, (const char *)c->values + (size_t)i * c->elem_size,
                               c->elem_size);
            break;
        }
    }
    lk_dedupe_hash_final(&h, hi, lo);
}

int64_t lk_dedupe_chunk_src(const char *file, int64_t offset, int64_t len)
{
    lk_dedupe_hash h;
    lk_dedupe_hash_init(&h);
    lk_dedupe_hash_add(&h, file, strlen(file));
    lk_dedupe_hash_add(&h, &offset, sizeof offset);
    lk_dedupe_hash_add(&h, &len, sizeof len);
    uint64_t hi, lo;
    lk_dedupe_hash_final(&h, &hi, &lo);
    return (int64_t)(hi ^ lo);
}

int lk_dedupe_run(lk_dedupe *d, const lk_batch *in, const int32_t *skip, int nskip, int64_t src,
                  int64_t now_us, lk_batch *keys, lk_error *err)
{
    lk_batch_reset(keys);
    lk_col_append_i64(lk_batch_col(keys, 0), src);
    lk_col_append_i64(lk_batch_col(keys, 1), 0);
    lk_col_append_i64(lk_batch_col(keys, 2), 0);
    lk_col_append_i32(lk_batch_col(keys, 3), -1);
    lk_batch_set_nrows(keys, 1);
    uint32_t n = lk_batch_nrows(in);
    if (!n) return 0;
    if (lk_sql_program_run(d->prog, in, now_us, err)) {
        lk_error_prefix(err, "transform.dedupe: the event time");
        return -1;
    }
    const lk_col *et = lk_sql_program_result(d->prog, d->et);
    const lk_col *cols[LK_MAX_PARTITION_COLS];
    for (int k = 0; k < d->ncols; k++)
        cols[k] = lk_batch_col_const(in, d->col[k]);
    lk_col *hi = lk_batch_col(keys, 0), *lo = lk_batch_col(keys, 1), *t = lk_batch_col(keys, 2),
           *row = lk_batch_col(keys, 3);
    uint32_t out = 1;
    int s = 0;
    for (uint32_t i = 0; i < n; i++) {
        while (s < nskip && skip[s] < (int32_t)i)
            s++;
        if (s < nskip && skip[s] == (int32_t)i) continue;
        int64_t us;
        if (!lk_gold_event_time_us(d->et_type, et, i, &us)) continue;
        uint64_t h, l;
        lk_dedupe_row_hash(cols, d->ncols, i, &h, &l);
        lk_col_append_i64(hi, (int64_t)h);
        lk_col_append_i64(lo, (int64_t)l);
        lk_col_append_i64(t, us);
        lk_col_append_i32(row, (int32_t)i);
        out++;
    }
    lk_batch_set_nrows(keys, out);
    return 0;
}

uint32_t lk_dedupe_filter(const lk_batch *in, const int32_t *drop, int ndrop, lk_batch *out,
                          uint8_t *kept)
{
    lk_batch_reset(out);
    uint32_t n = lk_batch_nrows(in), from = 0, gone = 0;
    int ncols = lk_batch_ncols(in), s = 0;
    for (uint32_t i = 0; i <= n; i++) {
        while (s < ndrop && drop[s] < (int32_t)i)
            s++;
        int d = i < n && s < ndrop && drop[s] == (int32_t)i;
        if (i < n) kept[i] = !d;
        if (!d && i < n) continue;
        /* rows [from, i) are kept */
        if (i > from)
            for (int c = 0; c < ncols; c++)
                lk_col_append_range(lk_batch_col(out, c), lk_batch_col_const(in, c), from,
                                    i - from);
        from = i + 1;
        gone += d;
    }
    lk_batch_set_nrows(out, n - gone);
    return gone;
}
