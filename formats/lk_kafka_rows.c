/* lk_kafka_rows — corrupt Kafka messages keep their Kafka columns; see lk_kafka_rows.h. */
#include "lk_kafka_rows.h"

#include <errno.h>
#include <string.h>

#include "lk_kafka_source.h"
#include "lk_text_reader.h"

/* Appends rows [from, to) of src to dst, column by column. */
static void copy_rows(lk_batch *dst, const lk_batch *src, uint32_t from, uint32_t to)
{
    if (to <= from)
        return;
    for (int c = 0; c < lk_batch_ncols(dst); c++)
        lk_col_append_range(lk_batch_col(dst, c), lk_batch_col_const(src, c), from, to - from);
    lk_batch_set_nrows(dst, lk_batch_nrows(dst) + (to - from));
}

int lk_kafka_rows_fix(lk_json_reader *reader, const char *data, size_t len, int64_t base,
                      const lk_source_meta *meta, lk_batch **raw, lk_batch **scratch,
                      lk_buf *tmp, lk_error *err)
{
    lk_batch *src = *raw;
    int n = lk_batch_ncols(src);
    if (n < 2)
        return 0;
    const lk_col *corrupt = lk_batch_col_const(src, n - 2), *mcol = lk_batch_col_const(src, n - 1);
    if (strcmp(corrupt->field->name, "_corrupt_record") || strcmp(mcol->field->name, "_metadata"))
        return lk_error_set(err, -EINVAL, "lk_kafka_rows: the batch is not a raw_events batch");
    const lk_col *off = NULL;
    for (int i = 0; i < mcol->n_children; i++)
        if (!strcmp(mcol->children[i].field->name, "file_offset"))
            off = &mcol->children[i];
    uint32_t rows = lk_batch_nrows(src);
    if (!off || corrupt->null_count == rows)
        return 0;
    if (!*scratch)
        *scratch = lk_batch_new(lk_batch_schema(src));
    lk_batch *dst = *scratch;
    lk_batch_reset(dst);
    lk_buf value = LK_BUF_INIT, obj = LK_BUF_INIT;
    uint32_t run = 0;
    int fixed = 0;
    for (uint32_t r = 0; r < rows; r++) {
        if (lk_col_is_null(corrupt, r))
            continue;
        int64_t at = lk_col_i64(off, r) - base;
        if (at < 0 || (uint64_t)at >= len)
            continue; /* not a line of this chunk: kept as it is */
        const char *line = data + at;
        const char *nl = memchr(line, '\n', len - (size_t)at);
        size_t ln = nl ? (size_t)(nl - line) : len - (size_t)at;
        size_t cs, ce;
        if (!lk_kafka_line_split(line, ln, &cs, &ce, &value))
            continue;
        lk_buf_reset(&obj);
        lk_buf_append(&obj, line + cs, ce - cs);
        lk_buf_putc(&obj, '}');
        copy_rows(dst, src, run, r);
        uint32_t before = lk_batch_nrows(dst);
        lk_json_stats st = {0};
        if (lk_json_reader_parse(reader, obj.data, obj.len, meta, base + at, dst, &st, err) ||
            lk_batch_nrows(dst) != before + 1 || st.corrupt) {
            /* cannot happen for a line lk_kafka_line wrote; keep the row as it was */
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
    if (!fixed)
        return 0;
    copy_rows(dst, src, run, rows);
    *scratch = src;
    *raw = dst;
    return fixed;
}
