/*
 * lk_csv_reader — CSV records → raw_events columns; see lk_csv_reader.h.
 *
 * One pass per record: field values are unescaped back to back into one
 * reused buffer (vals) with their offsets, so nothing is allocated per row.
 * The record boundaries found here must match lk_source_reader's csv
 * scanner, which cuts the chunks (the same quote rules).
 */
#include "lk_csv_reader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lk_decimal.h"
#include "lk_raw.h"
#include "lk_time.h"

typedef struct field {
    size_t off, len;
    int quoted;
} field;

struct lk_csv_reader {
    int sep, quote, escape, comment, header;
    int drop_unknown; /* schema_evolution_mode none: unknown header columns dropped */
    char null_value[64];
    size_t null_len;
    size_t max_record;
    lk_buf vals;
    field *f;
    int nf, capf;
    lk_buf rescue, tmp, obj;
    lk_buf hdr; /* inference: the current file's header names, NUL-separated */
    int nhdr, have_hdr;
    /* inference: per column name, whether every sampled value was a
       timestamp (lk_infer has no timestamp type: applied to its result) */
    struct ts_col {
        char name[128];
        int seen, all;
    } * ts;
    int nts, capts;
    /* parse: the current file's header names (NUL-separated, an empty name
       as _c<i>) and, per header column, its data column (-1: none) */
    lk_buf map_hdr;
    int nmap, capmap, capoff;
    int *map;
    size_t *name_off; /* offset of header name i in map_hdr */
    uint8_t *seen; /* per data column: already mapped by an earlier header name */
    int capseen;
};

enum { REC_END = 0, REC_ROW = 1, REC_SKIP = 2 };

lk_csv_reader *lk_csv_reader_new(const lk_csv_options *o)
{
    lk_csv_reader *r = calloc(1, sizeof *r);
    if (!r) abort();
    r->sep = o->sep;
    r->quote = o->quote;
    r->escape = o->escape;
    r->comment = o->comment;
    r->header = o->header;
    snprintf(r->null_value, sizeof r->null_value, "%s", o->null_value);
    r->null_len = strlen(r->null_value);
    r->max_record = o->max_record_size;
    r->drop_unknown = o->drop_unknown;
    lk_buf_grow(&r->vals, 4096); /* never NULL: fields point into it */
    return r;
}

void lk_csv_reader_destroy(lk_csv_reader **pr)
{
    lk_csv_reader *r = *pr;
    if (!r) return;
    lk_buf_free(&r->vals);
    lk_buf_free(&r->rescue);
    lk_buf_free(&r->tmp);
    lk_buf_free(&r->obj);
    lk_buf_free(&r->hdr);
    lk_buf_free(&r->map_hdr);
    free(r->map);
    free(r->name_off);
    free(r->seen);
    free(r->ts);
    free(r->f);
    free(r);
    *pr = NULL;
}

static void end_field(lk_csv_reader *r, size_t start, int quoted)
{
    if (r->nf == r->capf) {
        r->capf = r->capf ? r->capf * 2 : 32;
        r->f = realloc(r->f, (size_t)r->capf * sizeof *r->f);
        if (!r->f) abort();
    }
    r->f[r->nf++] = (field){start, r->vals.len - start, quoted};
}

/* Parses the record at d[*pos]: REC_ROW (fields in r->f, *bad set when it
   is malformed), REC_SKIP (blank or comment line), REC_END. [*rs, *re) is
   the record without its line end. */
static int next_record(lk_csv_reader *r, const char *d, size_t len, size_t *pos, size_t *rs,
                       size_t *re, int *bad)
{
    size_t i = *pos;
    if (i >= len) return REC_END;
    *rs = i;
    *bad = 0;
    r->nf = 0;
    lk_buf_reset(&r->vals);
    if (r->comment >= 0 && (unsigned char)d[i] == r->comment) {
        const char *nl = memchr(d + i, '\n', len - i);
        *re = nl ? (size_t)(nl - d) : len;
        *pos = nl ? *re + 1 : len;
        return REC_SKIP;
    }
    size_t fstart = 0;
    int in_q = 0, quoted = 0, closed = 0, ended = 0;
    while (i < len) {
        int ch = (unsigned char)d[i];
        if (in_q) {
            if (ch == r->escape && r->escape != r->quote && i + 1 < len) {
                int nx = (unsigned char)d[i + 1];
                if (nx != r->quote && nx != r->escape) lk_buf_putc(&r->vals, (char)ch);
                lk_buf_putc(&r->vals, (char)nx);
                i += 2;
                continue;
            }
            if (ch == r->quote) {
                if (i + 1 < len && (unsigned char)d[i + 1] == r->quote) {
                    lk_buf_putc(&r->vals, (char)ch); /* "" */
                    i += 2;
                    continue;
                }
                in_q = 0;
                closed = 1;
                i++;
                continue;
            }
            size_t j = i + 1; /* a run of plain bytes inside quotes */
            while (j < len && (unsigned char)d[j] != r->quote && (unsigned char)d[j] != r->escape)
                j++;
            lk_buf_append(&r->vals, d + i, j - i);
            i = j;
            continue;
        }
        if (ch == '\n') {
            ended = 1;
            break;
        }
        if (ch == '\r' && (i + 1 == len || d[i + 1] == '\n')) {
            i++;
            continue;
        }
        if (ch == r->sep) {
            end_field(r, fstart, quoted);
            fstart = r->vals.len;
            quoted = closed = 0;
            i++;
            continue;
        }
        if (closed) {
            *bad = 1; /* a byte after a closing quote */
        } else if (ch == r->quote && r->vals.len == fstart && !quoted) {
            in_q = quoted = 1;
            i++;
            continue;
        }
        /* a run of plain bytes: a quote past the start of a field is one */
        size_t j = i + 1;
        while (j < len && d[j] != '\n' && d[j] != '\r' && (unsigned char)d[j] != r->sep)
            j++;
        lk_buf_append(&r->vals, d + i, j - i);
        i = j;
    }
    if (in_q) *bad = 1; /* unterminated quote */
    end_field(r, fstart, quoted);
    *re = i;
    if (*re > *rs && d[*re - 1] == '\r') (*re)--;
    *pos = ended ? i + 1 : i;
    if (*re - *rs >= r->max_record) {
        *bad = 1;
        *re = *rs + r->max_record;
    }
    if (!*bad && r->nf == 1 && r->f[0].len == 0 && !r->f[0].quoted)
        return REC_SKIP; /* a blank line */
    return REC_ROW;
}

static int is_null(const lk_csv_reader *r, const field *f)
{
    return !f->quoted && f->len == r->null_len &&
           !memcmp(r->vals.data + f->off, r->null_value, f->len);
}

/* JSON number grammar; *is_int when it has no fraction or exponent. */
static int json_number(const char *s, size_t n, int *is_int)
{
    size_t i = 0;
    *is_int = 1;
    if (i < n && s[i] == '-') i++;
    if (i == n) return 0;
    if (s[i] == '0')
        i++;
    else if (s[i] >= '1' && s[i] <= '9')
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    else
        return 0;
    if (i < n && s[i] == '.') {
        *is_int = 0;
        i++;
        size_t d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d) return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        *is_int = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d) return 0;
    }
    return i == n;
}

/* Appends the typed value of f to c; 0 if it does not parse. */
static int append_value(lk_csv_reader *r, lk_col *c, const field *f)
{
    const char *s = r->vals.data + f->off;
    char num[64];
    int is_int;
    switch (c->field->type) {
    case LK_TYPE_STRING:
        lk_col_append_utf8(c, s, f->len, &r->tmp);
        return 1;
    case LK_TYPE_LONG:
    case LK_TYPE_INTEGER: {
        if (f->len == 0 || f->len >= sizeof num || !json_number(s, f->len, &is_int) || !is_int)
            return 0;
        memcpy(num, s, f->len);
        num[f->len] = 0;
        errno = 0;
        long long v = strtoll(num, NULL, 10);
        if (errno) return 0;
        if (c->field->type == LK_TYPE_INTEGER) {
            if (v < INT32_MIN || v > INT32_MAX) return 0;
            lk_col_append_i32(c, (int32_t)v);
        } else {
            lk_col_append_i64(c, v);
        }
        return 1;
    }
    case LK_TYPE_DOUBLE:
    case LK_TYPE_FLOAT: {
        if (f->len == 0 || f->len >= sizeof num) return 0;
        memcpy(num, s, f->len);
        num[f->len] = 0;
        char *end;
        double v = strtod(num, &end);
        if (*end || end == num) return 0;
        if (c->field->type == LK_TYPE_FLOAT)
            lk_col_append_f32(c, (float)v);
        else
            lk_col_append_f64(c, v);
        return 1;
    }
    case LK_TYPE_BOOLEAN:
        if (f->len == 4 && !strncasecmp(s, "true", 4))
            lk_col_append_bool(c, 1);
        else if (f->len == 5 && !strncasecmp(s, "false", 5))
            lk_col_append_bool(c, 0);
        else
            return 0;
        return 1;
    case LK_TYPE_TIMESTAMP:
    case LK_TYPE_TIMESTAMP_NTZ: {
        int64_t us;
        if (lk_time_parse_iso(s, f->len, &us)) return 0;
        lk_col_append_i64(c, us);
        return 1;
    }
    case LK_TYPE_DECIMAL: { /* exact, up to DECIMAL(38, s) */
        int64_t v;
        unsigned char be[16];
        if (lk_decimal_parse(s, f->len, c->field->precision, c->field->scale, &v, be)) return 0;
        if (c->field->precision <= 18)
            lk_col_append_i64(c, v);
        else
            lk_col_append_fixed(c, be);
        return 1;
    }
    default:
        return 0;
    }
}

int lk_csv_reader_header(lk_csv_reader *r, const char *data, size_t len, size_t *start,
                         size_t *end)
{
    size_t pos = 0, rs = 0, re = 0;
    int bad, k;
    while ((k = next_record(r, data, len, &pos, &rs, &re, &bad)) == REC_SKIP)
        ;
    if (k != REC_ROW)
        return 0;
    *start = rs;
    *end = re;
    return 1;
}

int lk_csv_reader_set_header(lk_csv_reader *r, const char *rec, size_t len)
{
    lk_buf_reset(&r->map_hdr);
    r->nmap = 0;
    if (!len)
        return 0;
    size_t pos = 0, rs, re;
    int bad;
    if (next_record(r, rec, len, &pos, &rs, &re, &bad) != REC_ROW)
        return 0;
    if (r->nf > r->capoff) {
        r->capoff = r->nf;
        r->name_off = realloc(r->name_off, (size_t)r->capoff * sizeof *r->name_off);
        if (!r->name_off) abort();
    }
    for (int i = 0; i < r->nf; i++) {
        r->name_off[i] = r->map_hdr.len;
        if (r->f[i].len)
            lk_buf_append(&r->map_hdr, r->vals.data + r->f[i].off, r->f[i].len);
        else
            lk_buf_printf(&r->map_hdr, "_c%d", i); /* as Spark names a nameless column */
        lk_buf_putc(&r->map_hdr, 0);
    }
    r->nmap = r->nf;
    return r->nmap;
}

const char *lk_csv_reader_header_names(const lk_csv_reader *r, int *n)
{
    *n = r->nmap;
    return r->nmap ? r->map_hdr.data : "";
}

/* map[i] = the data column header name i fills: the column of that exact
   name, unless an earlier header name already took it (a duplicate, like a
   duplicate JSON key, is rescued); -1 for a name the schema lacks. */
static void build_map(lk_csv_reader *r, lk_batch *out, int ndata)
{
    if (r->nmap > r->capmap) {
        r->capmap = r->nmap;
        r->map = realloc(r->map, (size_t)r->capmap * sizeof *r->map);
        if (!r->map) abort();
    }
    if (ndata > r->capseen) {
        r->capseen = ndata;
        r->seen = realloc(r->seen, (size_t)r->capseen);
        if (!r->seen) abort();
    }
    memset(r->seen, 0, (size_t)ndata);
    const char *nm = r->map_hdr.data;
    for (int i = 0; i < r->nmap; i++, nm += strlen(nm) + 1) {
        int k = -1;
        for (int c = 0; c < ndata && k < 0; c++)
            if (!r->seen[c] && !strcmp(lk_batch_col(out, c)->field->name, nm))
                k = c;
        if (k >= 0)
            r->seen[k] = 1;
        r->map[i] = k;
    }
}

static void rescue_value(lk_csv_reader *r, const char *name, const field *f)
{
    lk_buf_putc(&r->rescue, r->rescue.len ? ',' : '{');
    lk_buf_json_string(&r->rescue, name, strlen(name));
    lk_buf_putc(&r->rescue, ':');
    lk_buf_json_string(&r->rescue, r->vals.data + f->off, f->len);
}

int lk_csv_reader_parse(lk_csv_reader *r, const char *data, size_t len, int file_start,
                        const lk_source_meta *meta, int64_t base_offset, lk_batch *out,
                        lk_raw_stats *st, lk_error *err)
{
    int ndata = lk_raw_batch_ndata(out, err);
    if (ndata < 0) return ndata;
    int by_name = r->nmap > 0; /* header on: columns by the file's header names */
    if (by_name)
        build_map(r, out, ndata);
    int nfields = by_name ? r->nmap : ndata;
    int skip_header = r->header && file_start;
    size_t pos = 0, rs = 0, re = 0;
    int bad, k;
    while ((k = next_record(r, data, len, &pos, &rs, &re, &bad)) != REC_END) {
        if (k == REC_SKIP) {
            st->empty_lines++;
            continue;
        }
        if (skip_header) {
            skip_header = 0;
            continue;
        }
        int64_t offset = base_offset + (int64_t)rs;
        st->rows++;
        if (bad || r->nf != nfields) {
            lk_raw_append_corrupt(out, ndata, &r->tmp, data + rs, re - rs, meta, offset);
            st->corrupt++;
            continue;
        }
        lk_buf_reset(&r->rescue);
        for (int i = 0; i < nfields; i++) {
            const field *f = &r->f[i];
            int c = by_name ? r->map[i] : i;
            if (c < 0) { /* a column the schema lacks (rescue, none) */
                if (!r->drop_unknown && !is_null(r, f) && (f->quoted || f->len))
                    rescue_value(r, r->map_hdr.data + r->name_off[i], f);
                continue;
            }
            lk_col *col = lk_batch_col(out, c);
            if (is_null(r, f) ||
                (!f->quoted && f->len == 0 && col->field->type != LK_TYPE_STRING)) {
                lk_col_append_null(col);
            } else if (!append_value(r, col, f)) {
                lk_col_append_null(col);
                rescue_value(r, col->field->name, f);
            }
        }
        /* data columns this file has no header name for stay null (end_row) */
        lk_col *c_rescued = lk_batch_col(out, ndata);
        if (r->rescue.len) {
            lk_buf_puts(&r->rescue, ",\"_file_path\":");
            lk_buf_json_string(&r->rescue, meta->file_path, strlen(meta->file_path));
            lk_buf_putc(&r->rescue, '}');
            lk_col_append_utf8(c_rescued, r->rescue.data, r->rescue.len, &r->tmp);
            st->rescued++;
        } else {
            lk_col_append_null(c_rescued);
        }
        lk_col_append_null(lk_batch_col(out, ndata + 1));
        lk_raw_append_meta(lk_batch_col(out, ndata + 2), meta, offset);
        lk_batch_end_row(out);
    }
    return 0;
}

/* A timestamp with a time part (a bare date is not taken for one). */
static int is_timestamp(const char *s, size_t n)
{
    int64_t us;
    return n > 10 && lk_time_parse_iso(s, n, &us) == 0;
}

static void note_ts(lk_csv_reader *r, int hint, const char *name, size_t nl, int is_ts)
{
    int i = 0;
    if (hint < r->nts && nl < sizeof r->ts[0].name && !strncmp(r->ts[hint].name, name, nl) &&
        !r->ts[hint].name[nl])
        i = hint; /* the column of the same position, as a rule */
    else
        while (i < r->nts && (strlen(r->ts[i].name) != nl || memcmp(r->ts[i].name, name, nl)))
            i++;
    if (i == r->nts) {
        if (nl >= sizeof r->ts[0].name) return;
        if (r->nts == r->capts) {
            r->capts = r->capts ? r->capts * 2 : 16;
            r->ts = realloc(r->ts, (size_t)r->capts * sizeof *r->ts);
            if (!r->ts) abort();
        }
        memcpy(r->ts[i].name, name, nl);
        r->ts[i].name[nl] = 0;
        r->ts[i].seen = 0;
        r->ts[i].all = 1;
        r->nts++;
    }
    r->ts[i].seen = 1;
    r->ts[i].all &= is_ts;
}

long lk_csv_reader_infer(lk_csv_reader *r, lk_infer *inf, const char *data, size_t len,
                         int file_start)
{
    size_t pos = 0, rs, re;
    int bad, k;
    long fed = 0;
    if (file_start) { /* later chunks of the file use its header */
        lk_buf_reset(&r->hdr);
        r->nhdr = r->have_hdr = 0;
    }
    while ((k = next_record(r, data, len, &pos, &rs, &re, &bad)) != REC_END) {
        if (k == REC_SKIP) continue;
        if (r->header && file_start && !r->have_hdr) {
            r->have_hdr = 1;
            for (int i = 0; i < r->nf; i++) {
                lk_buf_append(&r->hdr, r->vals.data + r->f[i].off, r->f[i].len);
                lk_buf_putc(&r->hdr, 0);
            }
            r->nhdr = r->nf;
            continue;
        }
        if (bad) continue;
        if (r->have_hdr && r->nf != r->nhdr) continue; /* ragged: corrupt at parse time */
        lk_buf_reset(&r->obj);
        lk_buf_putc(&r->obj, '{');
        const char *name = r->have_hdr ? r->hdr.data : NULL;
        for (int i = 0; i < r->nf; i++) {
            char gen[24];
            const char *nm = name;
            size_t nl = nm ? strlen(nm) : 0;
            if (nm) name += nl + 1;
            if (!nl) {
                snprintf(gen, sizeof gen, "_c%d", i);
                nm = gen;
                nl = strlen(gen);
            }
            if (i) lk_buf_putc(&r->obj, ',');
            lk_buf_json_string(&r->obj, nm, nl);
            lk_buf_putc(&r->obj, ':');
            const field *f = &r->f[i];
            const char *s = r->vals.data + f->off;
            int is_int;
            if (is_null(r, f) || (!f->quoted && f->len == 0))
                lk_buf_puts(&r->obj, "null");
            else if (json_number(s, f->len, &is_int) && f->len < 20)
                lk_buf_append(&r->obj, s, f->len);
            else if (f->len == 4 && !strncasecmp(s, "true", 4))
                lk_buf_puts(&r->obj, "true");
            else if (f->len == 5 && !strncasecmp(s, "false", 5))
                lk_buf_puts(&r->obj, "false");
            else
                lk_buf_json_string(&r->obj, s, f->len);
            if (!is_null(r, f) && (f->quoted || f->len))
                note_ts(r, i, nm, nl, is_timestamp(s, f->len));
        }
        lk_buf_putc(&r->obj, '}');
        if (lk_infer_line(inf, r->obj.data, r->obj.len) == 0) fed++;
    }
    return fed;
}

lk_schema *lk_csv_reader_infer_result(const lk_csv_reader *r, const lk_infer *inf)
{
    lk_schema *s = lk_infer_result(inf);
    for (int i = 0; s && i < lk_schema_nfields(s); i++) {
        lk_field *f = lk_schema_field_mut(s, i);
        if (f->type != LK_TYPE_STRING || !strcmp(f->name, "ts"))
            continue; /* ts: the silver rule casts it and derives event_date */
        for (int k = 0; k < r->nts; k++)
            if (!strcmp(r->ts[k].name, f->name) && r->ts[k].seen && r->ts[k].all)
                f->type = LK_TYPE_TIMESTAMP;
    }
    return s;
}
