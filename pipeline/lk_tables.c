/* lk_tables — table schemas and bronze → silver; see lk_tables.h. */
#include "lk_tables.h"

#include <stdio.h>
#include <string.h>

#include "lk_time.h"

static void copy_field(lk_field *dst, const lk_field *src)
{
    dst->precision = src->precision;
    dst->scale = src->scale;
    for (int i = 0; i < src->n_children; i++) {
        const lk_field *c = &src->children[i];
        copy_field(lk_field_add_child(dst, c->name, c->type, c->nullable), c);
    }
}

#define RESCUED_MARK "lakesupd rescued data"

lk_schema *lk_tables_raw_schema(const lk_schema *data)
{
    return lk_tables_raw_schema_opt(data, "_rescued_data");
}

lk_schema *lk_tables_raw_schema_opt(const lk_schema *data, const char *rescued)
{
    lk_schema *s = lk_schema_new();
    for (int i = 0; data && i < lk_schema_nfields(data); i++) {
        const lk_field *f = lk_schema_field(data, i);
        if (lk_tables_reserved(f->name) || (rescued && !strcmp(f->name, rescued)))
            continue; /* reserved: such input keys are rescued */
        copy_field(lk_schema_add(s, f->name, f->type, 1), f);
    }
    if (rescued && rescued[0]) {
        lk_field *r = lk_schema_add(s, rescued, LK_TYPE_STRING, 1);
        if (strcmp(rescued, "_rescued_data")) /* a renamed one is known by its comment */
            r->metadata_json = strdup("{\"comment\":\"" RESCUED_MARK "\"}");
    }
    lk_schema_add(s, "_corrupt_record", LK_TYPE_STRING, 1);
    lk_field *m = lk_schema_add(s, "_metadata", LK_TYPE_STRUCT, 1);
    lk_field_add_child(m, "file_path", LK_TYPE_STRING, 1);
    lk_field_add_child(m, "file_name", LK_TYPE_STRING, 1);
    lk_field_add_child(m, "file_size", LK_TYPE_LONG, 1);
    lk_field_add_child(m, "file_modification_time", LK_TYPE_TIMESTAMP, 1);
    lk_field_add_child(m, "file_offset", LK_TYPE_LONG, 1);
    return s;
}

int lk_tables_rescued_index(const lk_schema *raw)
{
    int c = lk_schema_find(raw, "_corrupt_record");
    if (c <= 0)
        return lk_schema_find(raw, "_rescued_data");
    const lk_field *f = lk_schema_field(raw, c - 1);
    if (f->type == LK_TYPE_STRING &&
        (!strcmp(f->name, "_rescued_data") ||
         (f->metadata_json && strstr(f->metadata_json, RESCUED_MARK))))
        return c - 1;
    return -1;
}

/* Number of data columns of a raw schema (those before the rescued data
   column and _corrupt_record). */
static int ndata(const lk_schema *raw)
{
    int k = lk_tables_rescued_index(raw);
    if (k >= 0)
        return k;
    k = lk_schema_find(raw, "_corrupt_record");
    return k < 0 ? lk_schema_nfields(raw) : k;
}

int lk_tables_reserved(const char *name)
{
    return name[0] == '_' && (!strcmp(name, "_rescued_data") || !strcmp(name, "_corrupt_record") ||
                              !strcmp(name, "_metadata"));
}

lk_schema *lk_tables_data_schema(const lk_schema *raw)
{
    lk_schema *s = lk_schema_new();
    int n = ndata(raw);
    for (int i = 0; i < n; i++)
        lk_schema_add_copy(s, lk_schema_field(raw, i));
    return s;
}

/* ts as a string (cast here) or already a TIMESTAMP (a schema hint) */
static int is_ts(const lk_field *f)
{
    return !strcmp(f->name, "ts") && (f->type == LK_TYPE_STRING || f->type == LK_TYPE_TIMESTAMP);
}

lk_schema *lk_tables_processed_schema(const lk_schema *raw)
{
    lk_schema *s = lk_schema_new();
    int n = ndata(raw);
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
                copy_field(lk_schema_add(s, name, f->children[k].type, 1), &f->children[k]);
            }
        } else {
            copy_field(lk_schema_add(s, f->name, f->type, 1), f);
        }
    }
    int rc = lk_tables_rescued_index(raw);
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
    int n = ndata(rs);
    int c_resc = lk_tables_rescued_index(rs), c_corr = lk_schema_find(rs, "_corrupt_record");
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
