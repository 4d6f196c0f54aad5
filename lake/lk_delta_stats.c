/*
 * lk_delta_stats — the `stats` JSON string of an add action: written from a
 * Parquet file's statistics (lk_delta_stats_json, for the writer and
 * OPTIMIZE) and read back for its numRecords (replay, commitInfo metrics,
 * checkpoints).
 *
 * The format is Spark's, so that data skipping in other engines reads our
 * stats as its own: {"numRecords":N,"minValues":{..},"maxValues":{..},
 * "nullCount":{..}}, nested for structs, no min/max for booleans, binaries
 * or values inside lists and maps, dates and timestamps as text, strings cut
 * to 32 code points (a cut max gets U+10FFFF appended to stay an upper
 * bound). It needs nothing of the table handle.
 */
#include "lk_delta_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_time.h"

/* ---------- reading ---------- */

int64_t lk_delta_stats_num_records(const char *stats)
{
    if (!stats) return -1;
    /* Cheap path: Spark writes numRecords first. */
    const char *p = strstr(stats, "\"numRecords\":");
    if (p) return strtoll(p + 13, NULL, 10);
    return -1;
}

/* ---------- writing: lk_delta_stats_json ---------- */

/* Shortest decimal text that reads back as the same value (as Java prints). */
static void put_decimal(lk_buf *b, const lk_field *f, const lk_value *v)
{
    if (f->precision <= 18)
        lk_buf_decimal_i64(b, v->i, f->scale);
    else
        lk_buf_decimal_be(b, (const unsigned char *)v->p, v->n, f->scale);
}

#define STATS_STRING_PREFIX 32

/* Appends the stats value of leaf l (is_max selects max); 0 if omitted. */
static int put_value(lk_buf *b, const lk_pq_leaf_stats *l, int is_max)
{
    const lk_value *v = is_max ? &l->max : &l->min;
    const lk_field *f = l->field;
    char s[64];
    if (!v->is_set || !f) return 0;
    switch (f->type) {
    case LK_TYPE_BYTE:
    case LK_TYPE_SHORT:
    case LK_TYPE_INTEGER:
    case LK_TYPE_LONG:
        lk_buf_printf(b, "%" PRId64, v->i);
        return 1;
    case LK_TYPE_FLOAT:
    case LK_TYPE_DOUBLE:
        if (!isfinite(v->d)) return 0;
        lk_buf_number(b, v->d, f->type == LK_TYPE_FLOAT);
        return 1;
    case LK_TYPE_DATE: {
        int64_t y;
        unsigned m, d;
        lk_time_civil_from_days(v->i, &y, &m, &d);
        lk_buf_printf(b, "\"%04" PRId64 "-%02u-%02u\"", y, m, d);
        return 1;
    }
    case LK_TYPE_TIMESTAMP:
    case LK_TYPE_TIMESTAMP_NTZ: {
        lk_time_format_iso_ms(v->i, s, sizeof s);
        if (f->type == LK_TYPE_TIMESTAMP_NTZ) {
            size_t n = strlen(s);
            if (n && s[n - 1] == 'Z') s[n - 1] = 0;
        }
        lk_buf_printf(b, "\"%s\"", s);
        return 1;
    }
    case LK_TYPE_DECIMAL:
        put_decimal(b, f, v);
        return 1;
    case LK_TYPE_STRING: {
        /* cut after STATS_STRING_PREFIX code points (continuation bytes 10xxxxxx) */
        size_t n = 0, cps = 0;
        while (n < v->n && cps < STATS_STRING_PREFIX) {
            n++;
            while (n < v->n && ((unsigned char)v->p[n] & 0xC0) == 0x80)
                n++;
            cps++;
        }
        if (n < v->n && is_max) {
            /* The max must stay an upper bound: append U+10FFFF, the largest
               code point, as current delta-spark does (older releases used
               U+FFFD/U+FFFF, which a supplementary character after the prefix
               exceeds). If that next character is itself in plane 16 (lead
               byte F4) no short bound is provable: omit the stat. */
            if ((unsigned char)v->p[n] == 0xF4) return 0;
            lk_buf tmp = LK_BUF_INIT;
            lk_buf_append(&tmp, v->p, n);
            lk_buf_append(&tmp, "\xF4\x8F\xBF\xBF", 4);
            lk_buf_json_string(b, tmp.data, tmp.len);
            lk_buf_free(&tmp);
        } else {
            lk_buf_json_string(b, v->p ? v->p : "", n);
        }
        return 1;
    }
    default: /* boolean and binary: Spark keeps no min/max */
        return 0;
    }
}

/* Writes {"a":..,"s":{"x":..}} for the leaves, opening struct levels lazily. */
static void put_section(lk_buf *b, const lk_pq_file_info *info, int which)
{
    const char *open[32]; /* names of the open struct levels */
    size_t open_len[32];
    int depth = 0;
    int first[33];
    first[0] = 1;
    lk_buf_putc(b, '{');
    lk_buf val = LK_BUF_INIT;
    for (int i = 0; i < info->n_leaves; i++) {
        const lk_pq_leaf_stats *l = &info->leaves[i];
        if (l->in_list || !l->path) continue;
        lk_buf_reset(&val);
        if (which == 2)
            lk_buf_printf(&val, "%" PRId64, l->null_count);
        else if (!put_value(&val, l, which == 1))
            continue;
        /* split the dotted path into components */
        const char *comp[33];
        size_t clen[33];
        int nc = 0;
        const char *p = l->path;
        while (nc < 33) {
            const char *dot = strchr(p, '.');
            comp[nc] = p;
            clen[nc++] = dot ? (size_t)(dot - p) : strlen(p);
            if (!dot) break;
            p = dot + 1;
        }
        int common = 0;
        while (common < depth && common < nc - 1 && open_len[common] == clen[common] &&
               memcmp(open[common], comp[common], clen[common]) == 0)
            common++;
        for (; depth > common; depth--)
            lk_buf_putc(b, '}');
        for (; depth < nc - 1 && depth < 32; depth++) {
            if (!first[depth]) lk_buf_putc(b, ',');
            first[depth] = 0;
            lk_buf_json_string(b, comp[depth], clen[depth]);
            lk_buf_puts(b, ":{");
            open[depth] = comp[depth];
            open_len[depth] = clen[depth];
            first[depth + 1] = 1;
        }
        if (!first[depth]) lk_buf_putc(b, ',');
        first[depth] = 0;
        lk_buf_json_string(b, comp[nc - 1], clen[nc - 1]);
        lk_buf_putc(b, ':');
        lk_buf_append(b, val.data, val.len);
    }
    for (; depth > 0; depth--)
        lk_buf_putc(b, '}');
    lk_buf_putc(b, '}');
    lk_buf_free(&val);
}

void lk_delta_stats_json(const lk_pq_file_info *info, lk_buf *out)
{
    lk_buf_printf(out, "{\"numRecords\":%" PRId64 ",\"minValues\":", info->num_rows);
    put_section(out, info, 0);
    lk_buf_puts(out, ",\"maxValues\":");
    put_section(out, info, 1);
    lk_buf_puts(out, ",\"nullCount\":");
    put_section(out, info, 2);
    lk_buf_putc(out, '}');
}
