/* lk_sql_json — JSON kernels; see lk_sql_json.h. */
#include "lk_sql_json.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lk_decimal.h"
#include "lk_sql_cast.h"
#include "lk_sql_lex.h"

#define MAX_DEPTH 128

static const char *ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* A string starts here: '"', or '\'' (Spark reads JSON with Jackson's ALLOW_SINGLE_QUOTES). */
static int is_quote(char c)
{
    return c == '"' || c == '\'';
}

/* End of the string starting at p (its quote, '"' or '\''), or NULL. */
static const char *str_end(const char *p, const char *e)
{
    char quote = *p;
    for (p++; p < e; p++) {
        if (*p == '\\') {
            p++;
            continue;
        }
        if (*p == quote) return p + 1;
        if ((unsigned char)*p < 0x20) return NULL;
    }
    return NULL;
}

/* End of the value at p, or NULL when malformed. */
static const char *skip(const char *p, const char *e, int depth)
{
    p = ws(p, e);
    if (p >= e || depth > MAX_DEPTH) return NULL;
    if (is_quote(*p)) return str_end(p, e);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        int obj = *p == '{';
        p = ws(p + 1, e);
        if (p < e && *p == close) return p + 1;
        for (;;) {
            if (obj) {
                p = ws(p, e);
                if (p >= e || !is_quote(*p) || !(p = str_end(p, e))) return NULL;
                p = ws(p, e);
                if (p >= e || *p != ':') return NULL;
                p++;
            }
            if (!(p = skip(p, e, depth + 1))) return NULL;
            p = ws(p, e);
            if (p >= e) return NULL;
            if (*p == close) return p + 1;
            if (*p != ',') return NULL;
            p++;
        }
    }
    const char *s = p;
    if (*p == '-') p++;
    while (p < e && (isalnum((unsigned char)*p) || *p == '.' || *p == '+' || *p == '-'))
        p++;
    if (p == s) return NULL;
    /* literals and numbers */
    size_t n = (size_t)(p - s);
    if ((n == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "null", 4))) ||
        (n == 5 && !memcmp(s, "false", 5)))
        return p;
    char *end;
    char buf[64];
    if (n >= sizeof buf) return NULL;
    memcpy(buf, s, n);
    buf[n] = 0;
    strtod(buf, &end);
    return *end || !(isdigit((unsigned char)buf[buf[0] == '-'])) ? NULL : p;
}

static unsigned hex4(const char *p)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        v |= (unsigned)(c <= '9' ? c - '0' : (c | 32) - 'a' + 10);
    }
    return v;
}

/* The string [p, q) (quotes included) unescaped into b. */
static void unescape(const char *p, const char *q, lk_buf *b)
{
    lk_buf_reset(b);
    for (p++, q--; p < q; p++) {
        if (*p != '\\') {
            lk_buf_putc(b, *p);
            continue;
        }
        p++;
        switch (*p) {
        case 'n':
            lk_buf_putc(b, '\n');
            break;
        case 't':
            lk_buf_putc(b, '\t');
            break;
        case 'r':
            lk_buf_putc(b, '\r');
            break;
        case 'b':
            lk_buf_putc(b, '\b');
            break;
        case 'f':
            lk_buf_putc(b, '\f');
            break;
        case 'u':
            if (q - p >= 5) {
                unsigned cp = hex4(p + 1);
                p += 4;
                if (cp >= 0xD800 && cp < 0xDC00 && q - p >= 7 && p[1] == '\\' && p[2] == 'u') {
                    unsigned lo = hex4(p + 3);
                    if (lo >= 0xDC00 && lo < 0xE000) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        p += 6;
                    }
                }
                char u[4];
                lk_buf_append(b, u, lk_sql_utf8_put(u, cp));
            }
            break;
        default:
            lk_buf_putc(b, *p);
            break;
        }
    }
}

/* c as Jackson's generator writes it in a string: '"', '\\' and the control characters escaped
   (\b \t \n \f \r, else \u00XX), everything else as it is. */
static void put_escaped(lk_buf *b, unsigned c)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *short_esc = c == '"'    ? "\\\""
                            : c == '\\' ? "\\\\"
                            : c == '\b' ? "\\b"
                            : c == '\t' ? "\\t"
                            : c == '\n' ? "\\n"
                            : c == '\f' ? "\\f"
                            : c == '\r' ? "\\r"
                                        : NULL;
    if (short_esc) {
        lk_buf_puts(b, short_esc);
    } else if (c < 0x20) {
        char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        lk_buf_append(b, u, 6);
    } else {
        lk_buf_putc(b, (char)c);
    }
}

/* The string [p, q) (quotes included, '"' or '\'') written again as Jackson writes it: in double
   quotes, its escapes decoded (\u00e9 is é, \/ is /) and only what must be escaped escaped. */
static void reescape(const char *p, const char *q, lk_buf *b)
{
    lk_buf_putc(b, '"');
    for (p++, q--; p < q; p++) {
        if (*p != '\\') {
            if ((unsigned char)*p < 0x80)
                put_escaped(b, (unsigned char)*p);
            else
                lk_buf_putc(b, *p);
            continue;
        }
        p++;
        unsigned cp = (unsigned char)*p;
        switch (*p) {
        case 'n': cp = '\n'; break;
        case 't': cp = '\t'; break;
        case 'r': cp = '\r'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'u':
            if (q - p < 5) continue;
            cp = hex4(p + 1);
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && q - p >= 7 && p[1] == '\\' && p[2] == 'u') {
                unsigned lo = hex4(p + 3);
                if (lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                }
            }
            break;
        default: break;
        }
        if (cp < 0x80) {
            put_escaped(b, cp);
        } else {
            char u[4];
            lk_buf_append(b, u, lk_sql_utf8_put(u, cp));
        }
    }
    lk_buf_putc(b, '"');
}

/* JSON text of [p, q) as Spark's Jackson generator copies it (copyCurrentStructure): whitespace
   outside strings removed, every string and key in double quotes with Jackson's escaping. Numbers
   stay as written. */
static void compact(const char *p, const char *q, lk_buf *b)
{
    lk_buf_reset(b);
    while (p < q) {
        if (is_quote(*p)) {
            const char *e = str_end(p, q);
            if (*p == '"' && !memchr(p, '\\', (size_t)(e - p)))
                lk_buf_append(b, p, (size_t)(e - p)); /* nothing to decode or escape */
            else
                reescape(p, e, b);
            p = e;
        } else {
            if (!(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) lk_buf_putc(b, *p);
            p++;
        }
    }
}

/* The member key (len n) of the object at p: its value's start, or NULL. */
static const char *member(const char *p, const char *e, const char *key, size_t n, lk_buf *tmp)
{
    p = ws(p, e);
    if (p >= e || *p != '{') return NULL;
    p = ws(p + 1, e);
    if (p < e && *p == '}') return NULL;
    for (;;) {
        p = ws(p, e);
        if (p >= e || !is_quote(*p)) return NULL;
        const char *ke = str_end(p, e);
        if (!ke) return NULL;
        int eq;
        if (memchr(p, '\\', (size_t)(ke - p))) {
            unescape(p, ke, tmp);
            eq = tmp->len == n && !memcmp(tmp->data, key, n);
        } else {
            eq = (size_t)(ke - p - 2) == n && !memcmp(p + 1, key, n);
        }
        p = ws(ke, e);
        if (p >= e || *p != ':') return NULL;
        p = ws(p + 1, e);
        if (eq) return p;
        if (!(p = skip(p, e, 1))) return NULL;
        p = ws(p, e);
        if (p >= e || *p != ',') return NULL;
        p++;
    }
}

static const char *element(const char *p, const char *e, int64_t idx)
{
    p = ws(p, e);
    if (p >= e || *p != '[') return NULL;
    p = ws(p + 1, e);
    if (p < e && *p == ']') return NULL;
    for (int64_t i = 0;; i++) {
        p = ws(p, e);
        if (i == idx) return p;
        if (!(p = skip(p, e, 1))) return NULL;
        p = ws(p, e);
        if (p >= e || *p != ',') return NULL;
        p++;
    }
}

/* ---- get_json_object ---- */

typedef struct jpath {
    int n;
    struct {
        char name[128];
        size_t len;
        int64_t idx; /* -1 for a name */
    } step[32];
} jpath;

static int compile_path(const char *s, jpath *jp)
{
    memset(jp, 0, sizeof *jp);
    if (*s != '$') return -1;
    s++;
    while (*s) {
        if (jp->n == 32) return -1;
        if (*s == '.') {
            s++;
            size_t l = 0;
            while (s[l] && s[l] != '.' && s[l] != '[')
                l++;
            if (!l || l >= 128 || (l == 1 && *s == '*')) return -1;
            memcpy(jp->step[jp->n].name, s, l);
            jp->step[jp->n].len = l;
            jp->step[jp->n++].idx = -1;
            s += l;
        } else if (*s == '[') {
            s++;
            if (*s == '\'') {
                const char *q = strchr(s + 1, '\'');
                if (!q || q[1] != ']' || q - s - 1 >= 128) return -1;
                memcpy(jp->step[jp->n].name, s + 1, (size_t)(q - s - 1));
                jp->step[jp->n].len = (size_t)(q - s - 1);
                jp->step[jp->n++].idx = -1;
                s = q + 2;
            } else {
                char *end;
                long long v = strtoll(s, &end, 10);
                if (end == s || *end != ']' || v < 0) return -1;
                jp->step[jp->n++].idx = v;
                s = end + 1;
            }
        } else {
            return -1;
        }
    }
    return 0;
}

static void k_get(lk_sql_kctx *k)
{
    const jpath *jp = k->aux;
    lk_buf *b = k->tmp;
    for (uint32_t i = 0; i < k->n; i++) {
        if (lk_col_is_null(k->a[0], i) || !jp) {
            lk_col_append_null(k->out);
            continue;
        }
        size_t n;
        const char *s = lk_col_bytes(k->a[0], i, &n), *e = s + n;
        const char *end = skip(s, e, 0);
        if (!end || ws(end, e) != e) {
            lk_col_append_null(k->out);
            lk_sql_fail(k, i);
            continue;
        }
        const char *p = ws(s, e);
        for (int st = 0; st < jp->n && p; st++)
            p = jp->step[st].idx < 0 ? member(p, e, jp->step[st].name, jp->step[st].len, b)
                                     : element(p, e, jp->step[st].idx);
        if (!p || (e - p >= 4 && !memcmp(p, "null", 4))) {
            lk_col_append_null(k->out);
            continue;
        }
        const char *q = skip(p, e, 0);
        if (is_quote(*p))
            unescape(p, q, b);
        else
            compact(p, q, b);
        lk_col_append_bytes(k->out, b->data ? b->data : "", b->len);
    }
}

/* ---- from_json ---- */

static int put_value(lk_sql_kctx *k, lk_col *c, const char *p, const char *e, int depth);

/* A null for a value that does not fit its field: 1. */
static int misfit(lk_col *c)
{
    lk_col_append_null(c);
    return 1;
}

/* The object at p (its members by the struct's field names) into the struct column c. */
static int put_struct(lk_sql_kctx *k, lk_col *c, const char *p, const char *e, int depth)
{
    lk_buf key = LK_BUF_INIT;
    lk_col_append_struct(c);
    for (int f = 0; f < c->n_children; f++) {
        const lk_field *fd = c->children[f].field;
        const char *v = member(p, e, fd->name, strlen(fd->name), &key);
        put_value(k, &c->children[f], v, e, depth + 1);
    }
    lk_buf_free(&key);
    return 0;
}

/* The array (or, for a map, the object) at p into c: a null when an element does not fit its
   type (Spark's parser fails the whole array, which its partial result then makes null). */
static int put_list(lk_sql_kctx *k, lk_col *c, const char *p, const char *e, int depth)
{
    int is_map = c->field->type == LK_TYPE_MAP;
    lk_col *el = &c->children[is_map ? 1 : 0];
    uint32_t start = el->len;
    lk_buf key = LK_BUF_INIT;
    p = ws(p + 1, e);
    int bad = 0;
    if (*p != (is_map ? '}' : ']'))
        for (;;) {
            p = ws(p, e);
            if (is_map) {
                const char *ke = str_end(p, e);
                unescape(p, ke, &key);
                lk_col_append_bytes(&c->children[0], key.data ? key.data : "", key.len);
                p = ws(ke, e) + 1;
                p = ws(p, e);
            }
            bad |= put_value(k, el, p, e, depth + 1);
            p = ws(skip(p, e, depth + 1), e);
            if (*p != ',') break;
            p++;
        }
    lk_buf_free(&key);
    if (bad) {
        lk_col_truncate(el, start);
        if (is_map) lk_col_truncate(&c->children[0], start);
        return misfit(c);
    }
    lk_col_append_list(c);
    return 0;
}

/* The JSON value at p (NULL: absent) into c; 1 when it does not fit c's type (c gets a null). */
static int put_value(lk_sql_kctx *k, lk_col *c, const char *p, const char *e, int depth)
{
    lk_buf *b = k->tmp;
    const char *q = p ? skip(p, e, 0) : NULL;
    if (!p || !q || (q - p == 4 && !memcmp(p, "null", 4))) {
        lk_col_append_null(c);
        return 0;
    }
    switch (c->field->type) {
    case LK_TYPE_STRUCT:
        return *p == '{' ? put_struct(k, c, p, q, depth) : misfit(c);
    case LK_TYPE_ARRAY:
        return *p == '[' ? put_list(k, c, p, q, depth) : misfit(c);
    case LK_TYPE_MAP:
        return *p == '{' ? put_list(k, c, p, q, depth) : misfit(c);
    default:
        break;
    }
    int is_str = is_quote(*p);
    if (is_str) unescape(p, q, b);
    switch (c->field->type) {
    case LK_TYPE_STRING:
        if (!is_str) compact(p, q, b);
        lk_col_append_bytes(c, b->data ? b->data : "", b->len);
        return 0;
    case LK_TYPE_BOOLEAN:
        if (q - p == 4 && !memcmp(p, "true", 4))
            lk_col_append_bool(c, 1);
        else if (q - p == 5 && !memcmp(p, "false", 5))
            lk_col_append_bool(c, 0);
        else
            return misfit(c);
        return 0;
    case LK_TYPE_DATE:
    case LK_TYPE_TIMESTAMP: {
        int64_t us;
        int32_t d;
        if (!is_str) return misfit(c);
        if (c->field->type == LK_TYPE_DATE) {
            if (lk_sql_parse_date(b->data, b->len, &d)) return misfit(c);
            lk_col_append_i32(c, d);
        } else {
            if (lk_sql_parse_timestamp(b->data, b->len, &us)) return misfit(c);
            lk_col_append_i64(c, us);
        }
        return 0;
    }
    case LK_TYPE_FLOAT:
    case LK_TYPE_DOUBLE:
        if (is_str) { /* Spark's JSON reader: these exact strings, any other one fails */
            static const struct {
                const char *s;
                double v;
            } special[] = {{"NaN", NAN},        {"Infinity", INFINITY},   {"+Infinity", INFINITY},
                           {"+INF", INFINITY},  {"-Infinity", -INFINITY}, {"-INF", -INFINITY}};
            for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
                if (b->len == strlen(special[i].s) && !memcmp(b->data, special[i].s, b->len)) {
                    if (c->field->type == LK_TYPE_FLOAT)
                        lk_col_append_f32(c, (float)special[i].v);
                    else
                        lk_col_append_f64(c, special[i].v);
                    return 0;
                }
            return misfit(c);
        }
        break;
    default:
        break;
    }
    if (is_str || *p == 't' || *p == 'f' || *p == '{' || *p == '[') return misfit(c);
    char buf[64];
    size_t n = (size_t)(q - p);
    if (n >= sizeof buf) return misfit(c);
    memcpy(buf, p, n);
    buf[n] = 0;
    int integral = !strpbrk(buf, ".eE");
    char *end;
    errno = 0;
    switch (c->field->type) {
    case LK_TYPE_BYTE:
    case LK_TYPE_SHORT:
    case LK_TYPE_INTEGER:
    case LK_TYPE_LONG: {
        long long v = strtoll(buf, &end, 10);
        int64_t lo = c->field->type == LK_TYPE_LONG      ? INT64_MIN
                     : c->field->type == LK_TYPE_INTEGER ? INT32_MIN
                     : c->field->type == LK_TYPE_SHORT   ? -32768
                                                         : -128;
        int64_t hi = c->field->type == LK_TYPE_LONG      ? INT64_MAX
                     : c->field->type == LK_TYPE_INTEGER ? INT32_MAX
                     : c->field->type == LK_TYPE_SHORT   ? 32767
                                                         : 127;
        if (!integral || errno || *end || v < lo || v > hi) return misfit(c);
        if (c->field->type == LK_TYPE_LONG)
            lk_col_append_i64(c, v);
        else if (c->field->type == LK_TYPE_INTEGER)
            lk_col_append_i32(c, (int32_t)v);
        else if (c->field->type == LK_TYPE_SHORT) {
            int16_t x = (int16_t)v;
            lk_col_append_fixed(c, &x);
        } else {
            int8_t x = (int8_t)v;
            lk_col_append_fixed(c, &x);
        }
        return 0;
    }
    case LK_TYPE_FLOAT:
        lk_col_append_f32(c, (float)strtod(buf, NULL));
        return 0;
    case LK_TYPE_DOUBLE:
        lk_col_append_f64(c, strtod(buf, NULL));
        return 0;
    case LK_TYPE_DECIMAL: { /* the number's text, exactly: HALF_UP to the scale, as Spark */
        lk_dec v;
        if (lk_dec_parse(buf, n, c->field->scale, &v) || !lk_dec_fits(v, c->field->precision))
            return misfit(c);
        lk_dec_append(c, v);
        return 0;
    }
    default:
        return misfit(c);
    }
}

static void k_from(lk_sql_kctx *k)
{
    lk_col *out = k->out;
    for (uint32_t i = 0; i < k->n; i++) {
        if (lk_col_is_null(k->a[0], i)) {
            lk_col_append_null(out);
            continue;
        }
        size_t n;
        const char *s = lk_col_bytes(k->a[0], i, &n), *e = s + n;
        const char *end = skip(s, e, 0), *p = ws(s, e);
        if (!end || ws(end, e) != e || *p != '{') {
            lk_col_append_null(out);
            lk_sql_fail(k, i);
            continue;
        }
        put_struct(k, out, p, end, 0);
    }
}

int lk_sql_json_kernel(const lk_sql_node *node, const char *text, lk_sql_kernel *kp, void **aux,
                       void (**aux_free)(void *), lk_error *err)
{
    if (node->fn == LK_FN_FROM_JSON) {
        *kp = k_from;
        return 0;
    }
    const lk_sql_node *a = node->args[1];
    a = lk_sql_node_value(a);
    *kp = k_get;
    if (!a->lit_type) /* a NULL path: null */
        return 0;
    jpath *jp = calloc(1, sizeof *jp);
    if (!jp) abort();
    if (compile_path(a->s, jp)) {
        free(jp);
        return lk_error_set(err, LK_EFORMAT,
                            "position %d: get_json_object: bad path '%s' (e.g. '$.a.b[0]', "
                            "\"$['key']\")",
                            lk_sql_column_of(text, a->pos), a->s);
    }
    *aux = jp;
    *aux_free = free;
    return 0;
}
