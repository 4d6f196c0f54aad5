/* lk_partition — splitting batches by partition values; see lk_partition.h. */
#include "lk_partition.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_buf.h"
#include "lk_delta.h"
#include "lk_time.h"

#define MAX_PCOLS 8

typedef struct part {
    lk_buf key;  /* the partitionValues JSON, NUL-terminated */
    lk_buf dir;  /* the Hive directory, NUL-terminated */
    lk_batch *batch;
} part;

struct lk_partitioner {
    lk_schema *data_schema;
    int npcols;
    int pcol[MAX_PCOLS];  /* index in the input schema */
    int ndata;
    int *data_col;        /* input column of each data column */
    part *parts;
    int nparts, capparts; /* nparts in use by the last split; capparts allocated */
    lk_buf key, text;     /* scratch */
};

static int primitive(lk_type t)
{
    return !lk_type_is_nested(t);
}

int lk_partitioner_new(const lk_schema *schema, const char *const *cols, int n,
                       lk_partitioner **out, lk_error *err)
{
    *out = NULL;
    if (n < 1 || n > MAX_PCOLS)
        return lk_error_set(err, LK_ECONFIG, "partition_by: 1 to %d columns", MAX_PCOLS);
    lk_partitioner *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    p->npcols = n;
    for (int k = 0; k < n; k++) {
        int i = lk_schema_find(schema, cols[k]);
        if (i < 0 || !primitive(lk_schema_field(schema, i)->type)) {
            lk_buf names = LK_BUF_INIT;
            lk_schema_to_ddl(schema, &names);
            int rc = lk_error_set(err, LK_ECONFIG,
                                  i < 0 ? "partition column '%s' is not a column of the table "
                                          "(%s)"
                                        : "partition column '%s' is not a primitive column (%s)",
                                  cols[k], names.data ? names.data : "");
            lk_buf_free(&names);
            free(p);
            return rc;
        }
        p->pcol[k] = i;
    }
    p->data_schema = lk_schema_new();
    p->data_col = calloc((size_t)lk_schema_nfields(schema) + 1, sizeof *p->data_col);
    for (int i = 0; i < lk_schema_nfields(schema); i++) {
        int is_p = 0;
        for (int k = 0; k < n; k++)
            is_p |= p->pcol[k] == i;
        if (is_p)
            continue;
        lk_schema_add_copy(p->data_schema, lk_schema_field(schema, i));
        p->data_col[p->ndata++] = i;
    }
    *out = p;
    return 0;
}

void lk_partitioner_destroy(lk_partitioner **pp)
{
    lk_partitioner *p = *pp;
    if (!p)
        return;
    for (int i = 0; i < p->capparts; i++) {
        lk_buf_free(&p->parts[i].key);
        lk_buf_free(&p->parts[i].dir);
        lk_batch_destroy(&p->parts[i].batch);
    }
    free(p->parts);
    free(p->data_col);
    lk_schema_destroy(&p->data_schema);
    lk_buf_free(&p->key);
    lk_buf_free(&p->text);
    free(p);
    *pp = NULL;
}

const lk_schema *lk_partitioner_data_schema(const lk_partitioner *p)
{
    return p->data_schema;
}

int lk_partition_value_text(const lk_col *c, uint32_t i, lk_buf *out)
{
    if (lk_col_is_null(c, i))
        return -1;
    char tmp[64];
    switch (c->field->type) {
    case LK_TYPE_BOOLEAN: lk_buf_puts(out, ((const uint8_t *)c->values)[i] ? "true" : "false"); break;
    case LK_TYPE_BYTE: lk_buf_printf(out, "%d", ((const int8_t *)c->values)[i]); break;
    case LK_TYPE_SHORT: lk_buf_printf(out, "%d", ((const int16_t *)c->values)[i]); break;
    case LK_TYPE_INTEGER: lk_buf_printf(out, "%d", lk_col_i32(c, i)); break;
    case LK_TYPE_LONG: lk_buf_printf(out, "%lld", (long long)lk_col_i64(c, i)); break;
    case LK_TYPE_FLOAT: lk_buf_number(out, ((const float *)c->values)[i], 1); break;
    case LK_TYPE_DOUBLE: lk_buf_number(out, lk_col_f64(c, i), 0); break;
    case LK_TYPE_DATE:
        lk_time_format_spark((int64_t)lk_col_i32(c, i) * 86400000000LL, tmp, sizeof tmp);
        lk_buf_append(out, tmp, 10);
        break;
    case LK_TYPE_TIMESTAMP:
        /* adjusted to UTC in ISO 8601 (the protocol's unambiguous form; the
           form without a zone means the writer's local time) */
        lk_time_format_spark(lk_col_i64(c, i), tmp, sizeof tmp);
        tmp[10] = 'T';
        lk_buf_puts(out, tmp);
        lk_buf_putc(out, 'Z');
        break;
    case LK_TYPE_TIMESTAMP_NTZ:
        lk_time_format_spark(lk_col_i64(c, i), tmp, sizeof tmp);
        lk_buf_puts(out, tmp);
        break;
    case LK_TYPE_DECIMAL:
        if (c->field->precision <= 18)
            lk_buf_decimal_i64(out, lk_col_i64(c, i), c->field->scale);
        else
            lk_buf_decimal_be(out, (const unsigned char *)c->values + (size_t)i * 16, 16,
                              c->field->scale);
        break;
    default: {
        size_t n;
        const char *s = lk_col_bytes(c, i, &n);
        lk_buf_append(out, s, n);
    }
    }
    return 0;
}

/* The partitionValues JSON of row i into p->key (NUL-terminated). */
static void row_key(lk_partitioner *p, const lk_batch *b, uint32_t i)
{
    lk_buf_reset(&p->key);
    lk_buf_putc(&p->key, '{');
    for (int k = 0; k < p->npcols; k++) {
        const lk_col *c = lk_batch_col_const(b, p->pcol[k]);
        if (k)
            lk_buf_putc(&p->key, ',');
        lk_buf_json_string(&p->key, c->field->name, strlen(c->field->name));
        lk_buf_putc(&p->key, ':');
        lk_buf_reset(&p->text);
        if (lk_partition_value_text(c, i, &p->text) < 0)
            lk_buf_puts(&p->key, "null");
        else
            lk_buf_json_string(&p->key, p->text.data ? p->text.data : "", p->text.len);
    }
    lk_buf_putc(&p->key, '}');
    lk_buf_putc(&p->key, '\0');
}

static int find_or_add(lk_partitioner *p, const lk_batch *b, uint32_t row)
{
    for (int g = 0; g < p->nparts; g++)
        if (!strcmp(p->parts[g].key.data, p->key.data))
            return g;
    if (p->nparts == p->capparts) {
        int cap = p->capparts ? p->capparts * 2 : 4;
        p->parts = realloc(p->parts, (size_t)cap * sizeof *p->parts);
        if (!p->parts)
            abort();
        memset(p->parts + p->capparts, 0, (size_t)(cap - p->capparts) * sizeof *p->parts);
        p->capparts = cap;
    }
    part *g = &p->parts[p->nparts];
    lk_buf_reset(&g->key);
    lk_buf_append(&g->key, p->key.data, p->key.len);
    lk_buf_reset(&g->dir);
    /* each column's share of the path: the whole stays within LK_PARTITION_PATH_MAX, so
       that any value of any column fits a data file's path (lk_msg_file.path) */
    size_t share = LK_PARTITION_PATH_MAX / (size_t)p->npcols - 1;
    if (share > LK_DELTA_PARTITION_DIR_MAX)
        share = LK_DELTA_PARTITION_DIR_MAX;
    for (int k = 0; k < p->npcols; k++) {
        const lk_col *c = lk_batch_col_const(b, p->pcol[k]);
        lk_buf_reset(&p->text);
        int null = lk_partition_value_text(c, row, &p->text) < 0;
        if (k)
            lk_buf_putc(&g->dir, '/');
        lk_delta_partition_dir_n(c->field->name, null ? NULL : p->text.data ? p->text.data : "",
                                 p->text.len, share, &g->dir);
    }
    lk_buf_putc(&g->dir, '\0');
    if (!g->batch)
        g->batch = lk_batch_new(p->data_schema);
    else
        lk_batch_reset(g->batch);
    return p->nparts++;
}

static void copy_run(lk_partitioner *p, const lk_batch *b, int g, uint32_t start, uint32_t count)
{
    lk_batch *dst = p->parts[g].batch;
    for (int k = 0; k < p->ndata; k++)
        lk_col_append_range(lk_batch_col(dst, k), lk_batch_col_const(b, p->data_col[k]), start,
                            count);
    lk_batch_set_nrows(dst, lk_batch_nrows(dst) + count);
}

int lk_partitioner_split(lk_partitioner *p, const lk_batch *b)
{
    p->nparts = 0;
    uint32_t rows = lk_batch_nrows(b), start = 0;
    int cur = -1;
    lk_buf prev = LK_BUF_INIT;
    for (uint32_t i = 0; i < rows; i++) {
        row_key(p, b, i);
        if (cur >= 0 && prev.len == p->key.len && !memcmp(prev.data, p->key.data, p->key.len))
            continue; /* the run goes on */
        if (cur >= 0)
            copy_run(p, b, cur, start, i - start);
        cur = find_or_add(p, b, i);
        start = i;
        lk_buf_reset(&prev);
        lk_buf_append(&prev, p->key.data, p->key.len);
    }
    if (cur >= 0)
        copy_run(p, b, cur, start, rows - start);
    lk_buf_free(&prev);
    return p->nparts;
}

const lk_batch *lk_partitioner_part(const lk_partitioner *p, int i)
{
    return p->parts[i].batch;
}

const char *lk_partitioner_values_json(const lk_partitioner *p, int i)
{
    return p->parts[i].key.data;
}

const char *lk_partitioner_dir(const lk_partitioner *p, int i)
{
    return p->parts[i].dir.data;
}
