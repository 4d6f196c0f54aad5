/* lk_rowjson — rows as JSON objects; see lk_rowjson.h. */
#include "lk_rowjson.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_time.h"

static void value(const lk_col *c, uint32_t i, lk_buf *out);

static void base64(const unsigned char *p, size_t n, lk_buf *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    lk_buf_putc(out, '"');
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        lk_buf_putc(out, t[v >> 18 & 63]);
        lk_buf_putc(out, t[v >> 12 & 63]);
        lk_buf_putc(out, i + 1 < n ? t[v >> 6 & 63] : '=');
        lk_buf_putc(out, i + 2 < n ? t[v & 63] : '=');
    }
    lk_buf_putc(out, '"');
}

static void dbl(double d, lk_buf *out)
{
    if (isnan(d))
        lk_buf_puts(out, "\"NaN\"");
    else if (isinf(d))
        lk_buf_puts(out, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    else
        lk_buf_number(out, d, 0);
}

static void value(const lk_col *c, uint32_t i, lk_buf *out)
{
    if (lk_col_is_null(c, i)) {
        lk_buf_puts(out, "null");
        return;
    }
    const lk_field *f = c->field;
    switch (f->type) {
    case LK_TYPE_BOOLEAN: lk_buf_puts(out, ((const uint8_t *)c->values)[i] ? "true" : "false"); break;
    case LK_TYPE_BYTE: lk_buf_printf(out, "%d", ((const int8_t *)c->values)[i]); break;
    case LK_TYPE_SHORT: lk_buf_printf(out, "%d", ((const int16_t *)c->values)[i]); break;
    case LK_TYPE_INTEGER: lk_buf_printf(out, "%d", lk_col_i32(c, i)); break;
    case LK_TYPE_LONG: lk_buf_printf(out, "%lld", (long long)lk_col_i64(c, i)); break;
    case LK_TYPE_FLOAT: dbl(((const float *)c->values)[i], out); break;
    case LK_TYPE_DOUBLE: dbl(lk_col_f64(c, i), out); break;
    case LK_TYPE_STRING: {
        size_t n;
        const char *s = lk_col_bytes(c, i, &n);
        lk_buf_json_string(out, s, n);
        break;
    }
    case LK_TYPE_BINARY: {
        size_t n;
        const char *s = lk_col_bytes(c, i, &n);
        base64((const unsigned char *)s, n, out);
        break;
    }
    case LK_TYPE_DATE: {
        char t[40];
        lk_time_format_spark((int64_t)lk_col_i32(c, i) * 86400 * 1000000, t, sizeof t);
        t[10] = '\0';
        lk_buf_printf(out, "\"%s\"", t);
        break;
    }
    case LK_TYPE_TIMESTAMP:
    case LK_TYPE_TIMESTAMP_NTZ: {
        char t[40];
        lk_time_format_spark(lk_col_i64(c, i), t, sizeof t);
        t[10] = 'T';
        lk_buf_printf(out, "\"%s%s\"", t, f->type == LK_TYPE_TIMESTAMP ? "Z" : "");
        break;
    }
    case LK_TYPE_DECIMAL:
        if (f->precision <= 18)
            lk_buf_decimal_i64(out, lk_col_i64(c, i), f->scale);
        else
            lk_buf_decimal_be(out, (const unsigned char *)c->values + (size_t)i * 16, 16,
                              f->scale);
        break;
    case LK_TYPE_STRUCT:
        lk_buf_putc(out, '{');
        for (int k = 0; k < c->n_children; k++) {
            if (k)
                lk_buf_putc(out, ',');
            const char *name = c->children[k].field->name;
            lk_buf_json_string(out, name, strlen(name));
            lk_buf_putc(out, ':');
            value(&c->children[k], i, out);
        }
        lk_buf_putc(out, '}');
        break;
    case LK_TYPE_ARRAY:
        lk_buf_putc(out, '[');
        for (uint32_t k = c->offsets[i]; k < c->offsets[i + 1]; k++) {
            if (k > c->offsets[i])
                lk_buf_putc(out, ',');
            value(&c->children[0], k, out);
        }
        lk_buf_putc(out, ']');
        break;
    case LK_TYPE_MAP: {
        int str_keys = c->children[0].field->type == LK_TYPE_STRING;
        lk_buf_putc(out, str_keys ? '{' : '[');
        for (uint32_t k = c->offsets[i]; k < c->offsets[i + 1]; k++) {
            if (k > c->offsets[i])
                lk_buf_putc(out, ',');
            if (str_keys) {
                value(&c->children[0], k, out);
                lk_buf_putc(out, ':');
                value(&c->children[1], k, out);
            } else {
                lk_buf_puts(out, "{\"key\":");
                value(&c->children[0], k, out);
                lk_buf_puts(out, ",\"value\":");
                value(&c->children[1], k, out);
                lk_buf_putc(out, '}');
            }
        }
        lk_buf_putc(out, str_keys ? '}' : ']');
        break;
    }
    }
}

void lk_rowjson_append(const lk_batch *b, uint32_t row, lk_buf *out)
{
    lk_buf_putc(out, '{');
    for (int k = 0; k < lk_batch_ncols(b); k++) {
        const lk_col *c = lk_batch_col_const(b, k);
        if (k)
            lk_buf_putc(out, ',');
        lk_buf_json_string(out, c->field->name, strlen(c->field->name));
        lk_buf_putc(out, ':');
        value(c, row, out);
    }
    lk_buf_putc(out, '}');
}

void lk_rowjson_value(const lk_col *c, uint32_t i, lk_buf *out)
{
    value(c, i, out);
}
