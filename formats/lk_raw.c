/* lk_raw — the raw_events row shape; see lk_raw.h. */
#include "lk_raw.h"

#include <errno.h>
#include <string.h>

#include "lk_bytes.h"

#define RESCUED_MARK "lakesupd rescued data"

lk_schema *lk_raw_schema(const lk_schema *data)
{
    return lk_raw_schema_opt(data, LK_RAW_RESCUED);
}

lk_schema *lk_raw_schema_opt(const lk_schema *data, const char *rescued)
{
    lk_schema *s = lk_schema_new();
    for (int i = 0; data && i < lk_schema_nfields(data); i++) {
        const lk_field *f = lk_schema_field(data, i);
        if (lk_raw_reserved(f->name) || (rescued && !strcmp(f->name, rescued)))
            continue; /* reserved: such input keys are rescued */
        lk_field_copy_children(lk_schema_add(s, f->name, f->type, 1), f);
    }
    if (rescued && rescued[0]) {
        lk_field *r = lk_schema_add(s, rescued, LK_TYPE_STRING, 1);
        if (strcmp(rescued, LK_RAW_RESCUED)) /* a renamed one is known by its comment */
            r->metadata_json = strdup("{\"comment\":\"" RESCUED_MARK "\"}");
    }
    lk_schema_add(s, LK_RAW_CORRUPT, LK_TYPE_STRING, 1);
    lk_field *m = lk_schema_add(s, LK_RAW_METADATA, LK_TYPE_STRUCT, 1);
    lk_field_add_child(m, "file_path", LK_TYPE_STRING, 1);
    lk_field_add_child(m, "file_name", LK_TYPE_STRING, 1);
    lk_field_add_child(m, "file_size", LK_TYPE_LONG, 1);
    lk_field_add_child(m, "file_modification_time", LK_TYPE_TIMESTAMP, 1);
    lk_field_add_child(m, "file_offset", LK_TYPE_LONG, 1);
    return s;
}

int lk_raw_rescued_index(const lk_schema *raw)
{
    int c = lk_schema_find(raw, LK_RAW_CORRUPT);
    if (c <= 0) return lk_schema_find(raw, LK_RAW_RESCUED);
    const lk_field *f = lk_schema_field(raw, c - 1);
    if (f->type == LK_TYPE_STRING && (!strcmp(f->name, LK_RAW_RESCUED) ||
                                      (f->metadata_json && strstr(f->metadata_json, RESCUED_MARK))))
        return c - 1;
    return -1;
}

int lk_raw_ndata(const lk_schema *raw)
{
    int k = lk_raw_rescued_index(raw);
    if (k >= 0) return k;
    k = lk_schema_find(raw, LK_RAW_CORRUPT);
    return k < 0 ? lk_schema_nfields(raw) : k;
}

int lk_raw_reserved(const char *name)
{
    return name[0] == '_' && (!strcmp(name, LK_RAW_RESCUED) || !strcmp(name, LK_RAW_CORRUPT) ||
                              !strcmp(name, LK_RAW_METADATA));
}

lk_schema *lk_raw_data_schema(const lk_schema *raw)
{
    lk_schema *s = lk_schema_new();
    int n = lk_raw_ndata(raw);
    for (int i = 0; i < n; i++)
        lk_schema_add_copy(s, lk_schema_field(raw, i));
    return s;
}

int lk_raw_batch_ndata(lk_batch *out, lk_error *err)
{
    int n = lk_batch_ncols(out);
    if (n < 3 || strcmp(lk_batch_col(out, n - 1)->field->name, LK_RAW_METADATA) ||
        strcmp(lk_batch_col(out, n - 2)->field->name, LK_RAW_CORRUPT) ||
        strcmp(lk_batch_col(out, n - 3)->field->name, LK_RAW_RESCUED))
        return lk_error_set(err, -EINVAL, "the batch is not a raw_events batch");
    return n - 3;
}

void lk_raw_append_meta(lk_col *m, const lk_source_meta *meta, int64_t offset)
{
    lk_col_append_struct(m);
    lk_col_append_bytes(&m->children[0], meta->file_path, strlen(meta->file_path));
    lk_col_append_bytes(&m->children[1], meta->file_name, strlen(meta->file_name));
    lk_col_append_i64(&m->children[2], meta->file_size);
    lk_col_append_i64(&m->children[3], meta->file_mtime_us);
    lk_col_append_i64(&m->children[4], offset);
}

void lk_raw_append_corrupt(lk_batch *out, int ndata, lk_buf *tmp, const char *rec, size_t n,
                           const lk_source_meta *meta, int64_t offset)
{
    for (int c = 0; c < ndata; c++)
        lk_col_append_null(lk_batch_col(out, c));
    lk_col_append_null(lk_batch_col(out, ndata));
    lk_col_append_utf8(lk_batch_col(out, ndata + 1), rec, n, tmp);
    lk_raw_append_meta(lk_batch_col(out, ndata + 2), meta, offset);
    lk_batch_end_row(out);
}

/* Appends n bytes of s percent-encoding what lk_raw_file_path says. */
static void encode_path(const char *s, size_t n, lk_buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        size_t len = *p >= 0x80 ? lk_utf8_len(p, end) : 1;
        if (len > 1) {
            lk_buf_append(out, p, len);
            p += len;
            continue;
        }
        if (*p < 0x20 || *p >= 0x7F || *p == '%') {
            lk_buf_putc(out, '%');
            lk_buf_putc(out, hex[*p >> 4]);
            lk_buf_putc(out, hex[*p & 15]);
        } else {
            lk_buf_putc(out, (char)*p);
        }
        p++;
    }
}

void lk_raw_file_path(const char *cwd, const char *path, lk_buf *out)
{
    lk_buf_reset(out);
    if (path[0] == '/' || strstr(path, "://") || !cwd || !cwd[0]) {
        encode_path(path, strlen(path), out);
    } else {
        encode_path(cwd, strlen(cwd), out);
        /* the relative part, segment by segment: "" and "." dropped */
        for (const char *seg = path; *seg;) {
            const char *slash = strchr(seg, '/');
            size_t n = slash ? (size_t)(slash - seg) : strlen(seg);
            if (n && !(n == 1 && seg[0] == '.')) {
                if (!out->len || out->data[out->len - 1] != '/') lk_buf_putc(out, '/');
                encode_path(seg, n, out);
            }
            seg += n + (slash ? 1 : 0);
        }
    }
    lk_buf_append(out, "", 0);
}
