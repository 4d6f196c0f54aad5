/* lk_tables — the pipeline's tables and bronze → silver; see lk_tables.h. */
#include "lk_tables.h"

#include <stdio.h>
#include <string.h>

#include "lk_raw.h"
#include "lk_time.h"

const char *const lk_tables_pipeline[LK_TABLES_N] = {LK_TABLE_RAW, LK_TABLE_PROCESSED};

/* ts as a string (cast here) or already a TIMESTAMP (a schema hint) */
static int is_ts(const lk_field *f)
{
    return !strcmp(f->name, "ts") && (f->type == LK_TYPE_STRING || f->type == LK_TYPE_TIMESTAMP);
}

lk_schema *lk_tables_processed_schema(const lk_schema *raw)
{
    lk_schema *s = lk_schema_new();
    int n = lk_raw_ndata(raw);
    for (int i = 0; i < n; i++) {
        const lk_field *f = lk_schema_field(raw, i);
        if (is_ts(f)) {
            lk_schema_add(s, "ts", LK_TYPE_TIMESTAMP, 1);
            if (lk_schema_find(raw, "event_date") < 0)
                lk_schema_add(s, "event_date", LK_TYPE_DATE, 1);
        } else if (f->type == LK_TYPE_STRUCT) {
            for (int k = 0; k < f->n_children; k++) {
                char name[512];
                snprintf(name, sizeof name, "%s_%s", f->name, f->children[k].name);
                if (lk_schema_find(s, name) >= 0 || lk_schema_find(raw, name) >= 0)
                    continue; /* a top-level column of that name wins */
                lk_field_copy_children(lk_schema_add(s, name, f->children[k].type, 1), &f->children[k]);
            }
        } else {
            lk_field_copy_children(lk_schema_add(s, f->name, f->type, 1), f);
        }
    }
    int rc = lk_raw_rescued_index(raw);
    if (rc >= 0)
        lk_schema_add_copy(s, lk_schema_field(raw, rc));
    lk_schema_add(s, "processed_at", LK_TYPE_TIMESTAMP, 1);
    return s;
}

/* Appends the rescued JSON for row i plus {"ts": text} when ts failed. */
static void rescued_with_ts(const lk_col *rescued, uint32_t i, const char *ts, size_t tsn,
                            lk_col *out, lk_buf *tmp)
{
    lk_buf_reset(tmp);
    if (!lk_col_is_null(rescued, i)) {
        size_t n;
        const char *p = lk_col_bytes(rescued, i, &n);
        if (n >= 2 && p[n - 1] == '}') {
            lk_buf_append(tmp, p, n - 1);
            lk_buf_puts(tmp, ",\"ts\":");
        } else {
            lk_buf_puts(tmp, "{\"ts\":");
        }
    } else {
        lk_buf_puts(tmp, "{\"ts\":");
    }
    lk_buf_json_string(tmp, ts, tsn);
    lk_buf_putc(tmp, '}');
    lk_col_append_bytes(out, tmp->data, tmp->len);
}

int lk_tables_to_processed(const lk_batch *raw, int64_t processed_at_us, lk_batch *out,
                           lk_error *err)
{
    const lk_schema *rs = lk_batch_schema(raw);
    int n = lk_raw_ndata(rs);
    int c_resc = lk_raw_rescued_index(rs), c_corr = lk_schema_find(rs, LK_RAW_CORRUPT);
    if (c_corr < 0)
        return lk_error_set(err, -22, "not a raw_events batch");
    const lk_col *corrupt = lk_batch_col_const(raw, c_corr);
    const lk_col *rescued = c_resc >= 0 ? lk_batch_col_const(raw, c_resc) : NULL;
    uint32_t rows = lk_batch_nrows(raw);
    int ts_in = -1, ts_out = lk_schema_find(lk_batch_schema(out), "ts");
    int date_out = lk_schema_find(rs, "event_date") < 0 ? lk_schema_find(lk_batch_schema(out), "event_date") : -1;
    for (int i = 0; i < n; i++)
        if (is_ts(lk_schema_field(rs, i)))
            ts_in = i;
    int o_resc = rescued ? lk_schema_find(lk_batch_schema(out), lk_schema_field(rs, c_resc)->name)
                         : -1;
    int o_proc = lk_schema_find(lk_batch_schema(out), "processed_at");
    lk_buf tmp = LK_BUF_INIT;
    uint32_t base = lk_batch_nrows(out);
    /* copy runs of valid (non-corrupt) rows column by column */
    uint32_t r = 0;
    while (r < rows) {
        while (r < rows && !lk_col_is_null(corrupt, r))
            r++;
        uint32_t start = r;
        while (r < rows && lk_col_is_null(corrupt, r))
            r++;
        uint32_t count = r - start;
        if (!count)
            continue;
        int o = 0;
        for (int i = 0; i < n; i++) {
            const lk_field *f = lk_schema_field(rs, i);
            const lk_col *src = lk_batch_col_const(raw, i);
            if (i == ts_in) {
                o++;
                continue; /* row by row below */
            }
            if (f->type == LK_TYPE_STRUCT) {
                for (int k = 0; k < f->n_children; k++) {
                    char name[512];
                    snprintf(name, sizeof name, "%s_%s", f->name, f->children[k].name);
                    int oi = lk_schema_find(lk_batch_schema(out), name);
                    if (oi < 0 || lk_schema_find(rs, name) >= 0)
                        continue;
                    /* a null struct already holds nulls in every child */
                    lk_col_append_range(lk_batch_col(out, oi), &src->children[k], start, count);
                    o++;
                }
                continue;
            }
            int oi = lk_schema_find(lk_batch_schema(out), f->name);
            if (oi >= 0)
                lk_col_append_range(lk_batch_col(out, oi), src, start, count);
            o++;
        }
        (void)o;
        lk_col *od = o_resc >= 0 ? lk_batch_col(out, o_resc) : NULL;
        uint32_t pend = start; /* rescued values [pend, j) still to copy in one range */
        for (uint32_t j = start; j < start + count; j++) {
            int ts_failed = 0;
            const char *tsp = NULL;
            size_t tsn = 0;
            if (ts_in >= 0 && ts_out >= 0) {
                const lk_col *src = lk_batch_col_const(raw, ts_in);
                lk_col *dst = lk_batch_col(out, ts_out);
                int64_t us;
                lk_col *dd = date_out >= 0 ? lk_batch_col(out, date_out) : NULL;
                if (lk_col_is_null(src, j)) {
                    lk_col_append_null(dst);
                    if (dd)
                        lk_col_append_null(dd);
                } else if (src->field->type == LK_TYPE_TIMESTAMP) {
                    us = lk_col_i64(src, j);
                    lk_col_append_i64(dst, us);
                    if (dd)
                        lk_col_append_i32(dd, (int32_t)(us >= 0 ? us / 86400000000LL
                                                                : (us + 1) / 86400000000LL - 1));
                } else {
                    tsp = lk_col_bytes(src, j, &tsn);
                    if (lk_time_parse_iso(tsp, tsn, &us) == 0) {
                        lk_col_append_i64(dst, us);
                        if (dd) /* the UTC day of ts */
                            lk_col_append_i32(dd, (int32_t)(us >= 0 ? us / 86400000000LL
                                                                    : (us + 1) / 86400000000LL - 1));
                    } else {
                        lk_col_append_null(dst);
                        if (dd)
                            lk_col_append_null(dd);
                        ts_failed = 1;
                    }
                }
            }
            /* without a rescued data column the ts text stays in raw_events */
            if (od && ts_failed) {
                lk_col_append_range(od, rescued, pend, j - pend);
                rescued_with_ts(rescued, j, tsp, tsn, od, &tmp);
                pend = j + 1;
            }
            lk_col_append_i64(lk_batch_col(out, o_proc), processed_at_us);
        }
        if (od)
            lk_col_append_range(od, rescued, pend, start + count - pend);
    }
    uint32_t total = base;
    for (uint32_t j = 0; j < rows; j++)
        total += lk_col_is_null(corrupt, j);
    lk_batch_set_nrows(out, total);
    for (int i = 0; i < lk_batch_ncols(out); i++)
        lk_col_pad(lk_batch_col(out, i), total);
    lk_buf_free(&tmp);
    return 0;
}
