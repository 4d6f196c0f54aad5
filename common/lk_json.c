/* lk_json — yajl tree helpers; see lk_json.h. */
#include "lk_json.h"

#include <string.h>

yajl_val lk_json_get(yajl_val o, const char *key)
{
    if (!o || !YAJL_IS_OBJECT(o))
        return NULL;
    for (size_t i = 0; i < o->u.object.len; i++)
        if (!strcmp(o->u.object.keys[i], key))
            return o->u.object.values[i];
    return NULL;
}

void lk_json_text(yajl_val v, lk_buf *out)
{
    if (!v || YAJL_IS_NULL(v)) {
        lk_buf_puts(out, "null");
    } else if (YAJL_IS_STRING(v)) {
        const char *s = v->u.string;
        lk_buf_json_string(out, s, strlen(s));
    } else if (YAJL_IS_NUMBER(v)) {
        lk_buf_puts(out, v->u.number.r);
    } else if (YAJL_IS_TRUE(v)) {
        lk_buf_puts(out, "true");
    } else if (YAJL_IS_FALSE(v)) {
        lk_buf_puts(out, "false");
    } else if (YAJL_IS_OBJECT(v)) {
        lk_buf_putc(out, '{');
        for (size_t i = 0; i < v->u.object.len; i++) {
            if (i)
                lk_buf_putc(out, ',');
            lk_buf_json_string(out, v->u.object.keys[i], strlen(v->u.object.keys[i]));
            lk_buf_putc(out, ':');
            lk_json_text(v->u.object.values[i], out);
        }
        lk_buf_putc(out, '}');
    } else if (YAJL_IS_ARRAY(v)) {
        lk_buf_putc(out, '[');
        for (size_t i = 0; i < v->u.array.len; i++) {
            if (i)
                lk_buf_putc(out, ',');
            lk_json_text(v->u.array.values[i], out);
        }
        lk_buf_putc(out, ']');
    }
}
