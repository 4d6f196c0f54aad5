/* lk_kafka_record — Kafka messages as JSON lines, both ways; see lk_kafka_record.h. */
#include "lk_kafka_record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_bytes.h"
#include "lk_time.h"

lk_schema *lk_kafka_record_schema(const lk_schema *inferred)
{
    static const struct {
        const char *name;
        lk_type type;
    } cols[] = {
        {"key", LK_TYPE_STRING},  {"topic", LK_TYPE_STRING},        {"partition", LK_TYPE_LONG},
        {"offset", LK_TYPE_LONG}, {"timestamp", LK_TYPE_TIMESTAMP},
    };
    lk_schema *s = lk_schema_new();
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        lk_schema_add(s, cols[i].name, cols[i].type, 1);
    for (int i = 0; inferred && i < lk_schema_nfields(inferred); i++) {
        const lk_field *f = lk_schema_field(inferred, i);
        if (lk_schema_find(s, f->name) < 0) lk_schema_add_copy(s, f);
    }
    return s;
}

int lk_kafka_record_path_parse(const char *path, char *topic, size_t cap, int32_t *partition)
{
    size_t pl = strlen(LK_KAFKA_PREFIX);
    if (strncmp(path, LK_KAFKA_PREFIX, pl)) return LK_EFORMAT;
    const char *slash = strrchr(path + pl, '/');
    if (!slash || slash == path + pl || (size_t)(slash - path - pl) >= cap) return LK_EFORMAT;
    char *e;
    long v = strtol(slash + 1, &e, 10);
    if (*e || e == slash + 1 || v < 0 || v > INT32_MAX) return LK_EFORMAT;
    snprintf(topic, cap, "%.*s", (int)(slash - path - pl), path + pl);
    *partition = (int32_t)v;
    return 0;
}

/* Length of the well-formed UTF-8 prefix of s. */
static size_t utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t k = s[i] < 0x80 ? 1 : lk_utf8_len(s + i, s + n);
        if (!k) return i;
        i += k;
    }
    return i;
}

/* Appends v[0..n) with newlines as spaces (one message is one line). */
static void append_one_line(lk_buf *out, const char *v, size_t n)
{
    size_t at = out->len;
    lk_buf_append(out, v, n);
    for (size_t q = at; q < out->len; q++)
        if (out->data[q] == '\n' || out->data[q] == '\r') out->data[q] = ' ';
}

static int kws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The line keeps every byte of the value (newlines as spaces), so that
   lk_kafka_record_split can give a corrupt value back whole:
     object value  ws1 {"topic":...,"key":K [,] ws2 members...
                   (ws1/ws2: the whitespace before and after the value's
                   '{'; the ',' only when the object has a member)
     other value   {"topic":...,"key":K \x01 value   (never valid JSON)
     tombstone     {"topic":...,"key":K}                                  */
void lk_kafka_record_line(lk_buf *out, const char *topic, int32_t partition, int64_t offset,
                          int64_t timestamp_ms, const void *key, size_t key_len, const void *value,
                          size_t value_len)
{
    const char *v = value;
    size_t i = 0;
    while (v && i < value_len && kws(v[i]))
        i++;
    int object = v && i < value_len && v[i] == '{';
    if (object) append_one_line(out, v, i); /* ws1: legal before the line's object */
    lk_buf_puts(out, "{\"topic\":");
    lk_buf_json_string(out, topic, strlen(topic));
    lk_buf_printf(out, ",\"partition\":%d,\"offset\":%lld,\"timestamp\":", partition,
                  (long long)offset);
    if (timestamp_ms >= 0) {
        char ts[64];
        lk_time_format_iso_ms(timestamp_ms * 1000, ts, sizeof ts);
        lk_buf_json_string(out, ts, strlen(ts));
    } else {
        lk_buf_puts(out, "null");
    }
    lk_buf_puts(out, ",\"key\":");
    if (!key) {
        lk_buf_puts(out, "null");
    } else if (utf8_valid(key, key_len) == key_len) {
        lk_buf_json_string(out, key, key_len);
    } else { /* binary key: each byte as \u00XX (Latin-1), reversible */
        const unsigned char *kb = key;
        lk_buf_putc(out, '"');
        for (size_t j = 0; j < key_len; j++) {
            if (kb[j] >= 0x20 && kb[j] < 0x7f && kb[j] != '"' && kb[j] != '\\')
                lk_buf_putc(out, (char)kb[j]);
            else
                lk_buf_printf(out, "\\u%04x", kb[j]);
        }
        lk_buf_putc(out, '"');
    }
    if (!v) {
        lk_buf_putc(out, '}'); /* a tombstone: the Kafka columns only */
    } else if (!object) {
        /* not a JSON object: a corrupt record (the \x01 makes sure of it) */
        lk_buf_putc(out, '\x01');
        append_one_line(out, v, value_len);
    } else {
        size_t j = i + 1;
        while (j < value_len && kws(v[j]))
            j++;
        if (j < value_len && v[j] != '}') lk_buf_putc(out, ',');
        append_one_line(out, v + i + 1, value_len - i - 1);
    }
    lk_buf_putc(out, '\n');
}

/* Past the JSON string at line[p] ('"' ... '"'), or 0. */
static size_t skip_jstring(const char *line, size_t n, size_t p)
{
    if (p >= n || line[p] != '"') return 0;
    for (p++; p < n; p++) {
        if (line[p] == '\\')
            p++;
        else if (line[p] == '"')
            return p + 1;
    }
    return 0;
}

/* Past the literal lit at line[p], or 0. */
static size_t skip_lit(const char *line, size_t n, size_t p, const char *lit)
{
    size_t k = strlen(lit);
    return p + k <= n && !memcmp(line + p, lit, k) ? p + k : 0;
}

static size_t skip_int(const char *line, size_t n, size_t p)
{
    size_t s = p;
    if (p < n && line[p] == '-') p++;
    while (p < n && line[p] >= '0' && line[p] <= '9')
        p++;
    return p > s ? p : 0;
}

static size_t skip_str_or_null(const char *line, size_t n, size_t p)
{
    size_t q = skip_lit(line, n, p, "null");
    return q ? q : skip_jstring(line, n, p);
}

int lk_kafka_record_split(const char *line, size_t n, size_t *cols_start, size_t *cols_end,
                          lk_buf *value)
{
    size_t p = 0;
    while (p < n && kws(line[p]))
        p++;
    size_t ws1 = p;
    if (!(p = skip_lit(line, n, p, "{\"topic\":")) || !(p = skip_jstring(line, n, p)) ||
        !(p = skip_lit(line, n, p, ",\"partition\":")) || !(p = skip_int(line, n, p)) ||
        !(p = skip_lit(line, n, p, ",\"offset\":")) || !(p = skip_int(line, n, p)) ||
        !(p = skip_lit(line, n, p, ",\"timestamp\":")) || !(p = skip_str_or_null(line, n, p)) ||
        !(p = skip_lit(line, n, p, ",\"key\":")) || !(p = skip_str_or_null(line, n, p)))
        return 0;
    *cols_start = ws1;
    *cols_end = p;
    lk_buf_reset(value);
    if (p < n && line[p] == '\x01') {
        lk_buf_append(value, line + p + 1, n - p - 1);
        return 1;
    }
    lk_buf_append(value, line, ws1);
    lk_buf_putc(value, '{');
    if (p < n && line[p] == ',') p++;
    lk_buf_append(value, line + p, n - p);
    return 1;
}

/* Appends rows [from, to) of src to dst, column by column. */
static void copy_rows(lk_batch *dst, const lk_batch *src, uint32_t from, uint32_t to)
{
    if (to <= from) return;
    for (int c = 0; c < lk_batch_ncols(dst); c++)
        lk_col_append_range(lk_batch_col(dst, c), lk_batch_col_const(src, c), from, to - from);
    lk_batch_set_nrows(dst, lk_batch_nrows(dst) + (to - from));
}

int lk_kafka_record_fix_rows(lk_json_reader *reader, const char *data, size_t len, int64_t base,
                             const lk_source_meta *meta, lk_batch **raw, lk_batch **scratch,
                             lk_buf *tmp, lk_error *err)
{
    lk_batch *src = *raw;
    int n = lk_batch_ncols(src);
    if (n < 2) return 0;
    const lk_col *corrupt = lk_batch_col_const(src, n - 2), *mcol = lk_batch_col_const(src, n - 1);
    if (strcmp(corrupt->field->name, LK_RAW_CORRUPT) || strcmp(mcol->field->name, LK_RAW_METADATA))
        return lk_error_set(err, -EINVAL, "lk_kafka_record: the batch is not a raw_events batch");
    const lk_col *off = NULL;
    for (int i = 0; i < mcol->n_children; i++)
        if (!strcmp(mcol->children[i].field->name, "file_offset")) off = &mcol->children[i];
    uint32_t rows = lk_batch_nrows(src);
    if (!off || corrupt->null_count == rows) return 0;
    if (!*scratch) *scratch = lk_batch_new(lk_batch_schema(src));
    lk_batch *dst = *scratch;
    lk_batch_reset(dst);
    lk_buf value = LK_BUF_INIT, obj = LK_BUF_INIT;
    uint32_t run = 0;
    int fixed = 0;
    for (uint32_t r = 0; r < rows; r++) {
        if (lk_col_is_null(corrupt, r)) continue;
        int64_t at = lk_col_i64(off, r) - base;
        if (at < 0 || (uint64_t)at >= len) continue; /* not a line of this chunk: kept as it is */
        const char *line = data + at;
        const char *nl = memchr(line, '\n', len - (size_t)at);
        size_t ln = nl ? (size_t)(nl - line) : len - (size_t)at;
        size_t cs, ce;
        if (!lk_kafka_record_split(line, ln, &cs, &ce, &value)) continue;
        lk_buf_reset(&obj);
        lk_buf_append(&obj, line + cs, ce - cs);
        lk_buf_putc(&obj, '}');
        copy_rows(dst, src, run, r);
        uint32_t before = lk_batch_nrows(dst);
        lk_raw_stats st = {0};
        if (lk_json_reader_parse(reader, obj.data, obj.len, meta, base + at, dst, &st, err) ||
            lk_batch_nrows(dst) != before + 1 || st.corrupt) {
            /* cannot happen for a line lk_kafka_record_line wrote; keep the row as it was */
            for (int c = 0; c < n; c++)
                lk_col_truncate(lk_batch_col(dst, c), before);
            lk_batch_set_nrows(dst, before);
            copy_rows(dst, src, r, r + 1);
        } else {
            lk_col *c = lk_batch_col(dst, n - 2);
            lk_col_truncate(c, before);
            lk_col_append_utf8(c, value.data, value.len, tmp);
            fixed++;
        }
        run = r + 1;
    }
    lk_buf_free(&value);
    lk_buf_free(&obj);
    if (!fixed) return 0;
    copy_rows(dst, src, run, rows);
    *scratch = src;
    *raw = dst;
    return fixed;
}

void lk_kafka_record_txn_app(const char *path, char *out, size_t cap)
{
    const char *tp = strncmp(path, LK_KAFKA_PREFIX, strlen(LK_KAFKA_PREFIX)) ? path
                                                                              : path + strlen(LK_KAFKA_PREFIX);
    snprintf(out, cap, LK_KAFKA_TXN_PREFIX "%s", tp);
}
