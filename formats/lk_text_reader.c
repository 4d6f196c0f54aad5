/*
 * lk_text_reader — format: text, and the splitting of
 * multi_line JSON documents; see lk_text_reader.h.
 */
#include "lk_text_reader.h"

#include <errno.h>
#include <string.h>

int lk_text_reader_parse(const char *data, size_t len, const lk_source_meta *meta,
                         int64_t base_offset, size_t max_record_size, lk_batch *out,
                         lk_raw_stats *st, lk_buf *tmp, lk_error *err)
{
    int ndata = lk_raw_batch_ndata(out, err);
    if (ndata < 0) return ndata;
    size_t i = 0;
    while (i < len) {
        int64_t offset = base_offset + (int64_t)i;
        size_t ln;
        const char *line = lk_raw_next_line(data, len, &i, &ln);
        if (ln >= max_record_size) {
            lk_raw_append_corrupt(out, ndata, tmp, line, max_record_size, meta, offset);
            st->rows++;
            st->corrupt++;
            continue;
        }
        for (int c = 0; c < ndata; c++) {
            lk_col *col = lk_batch_col(out, c);
            if (c == 0 && col->field->type == LK_TYPE_STRING)
                lk_col_append_utf8(col, line, ln, tmp);
            else
                lk_col_append_null(col);
        }
        lk_col_append_null(lk_batch_col(out, ndata));
        lk_col_append_null(lk_batch_col(out, ndata + 1));
        lk_raw_append_meta(lk_batch_col(out, ndata + 2), meta, offset);
        lk_batch_end_row(out);
        st->rows++;
    }
    return 0;
}

static int ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The end of the JSON value starting at d[i] (strings and nesting
   followed; no validation: the JSON reader judges the record). */
static size_t value_end(const char *d, size_t len, size_t i)
{
    int depth = 0, in_s = 0;
    for (; i < len; i++) {
        char c = d[i];
        if (in_s) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_s = 0;
            continue;
        }
        if (c == '"')
            in_s = 1;
        else if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']') {
            if (depth == 0) return i; /* the end of the enclosing array */
            depth--;
        } else if (c == ',' && depth == 0)
            return i;
    }
    return len;
}

static void emit(const char *d, size_t from, size_t to, lk_buf *tmp, lk_text_doc_fn fn, void *ctx)
{
    while (to > from && ws(d[to - 1]))
        to--;
    lk_buf_reset(tmp);
    lk_buf_append(tmp, d + from, to - from);
    for (size_t k = 0; k < tmp->len; k++)
        if (tmp->data[k] == '\n' || tmp->data[k] == '\r') tmp->data[k] = ' ';
    fn(ctx, tmp->data, tmp->len, from);
}

long lk_text_json_doc(const char *data, size_t len, lk_buf *tmp, lk_text_doc_fn fn, void *ctx)
{
    size_t i = 0;
    while (i < len && ws(data[i]))
        i++;
    if (i == len) return 0;
    if (data[i] != '[') {
        emit(data, i, len, tmp, fn, ctx);
        return 1;
    }
    long n = 0;
    i++;
    for (;;) {
        while (i < len && ws(data[i]))
            i++;
        if (i >= len || data[i] == ']') break;
        size_t e = value_end(data, len, i);
        emit(data, i, e, tmp, fn, ctx);
        n++;
        if (e >= len || data[e] == ']') break;
        i = e + 1; /* past the comma */
    }
    return n;
}
