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

/* What a reader accepts beyond strict JSON, as Spark configures Jackson: get_json_object's
   factory allows raw control characters in strings (ALLOW_UNESCAPED_CONTROL_CHARS), from_json's
   allows NaN, Infinity, +Infinity, -Infinity, +INF, -INF as numbers (allowNonNumericNumbers). */
enum { JF_CTRL = 1, JF_NONNUM = 2 };

/* Jackson's StreamReadConstraints.maxNumberLength: a longer number fails. */
#define MAX_NUM_LEN 1000

/* A string starts here: '"', or '\'' (Spark reads JSON with Jackson's ALLOW_SINGLE_QUOTES). */
static int is_quote(char c)
{
    return c == '"' || c == '\'';
}

/* End of the string starting at p (its quote, '"' or '\''), or NULL. */
static const char *str_end(const char *p, const char *e, int fl)
{
    char quote = *p;
    for (p++; p < e; p++) {
        if (*p == '\\') {
            p++;
            continue;
        }
        if (*p == quote) return p + 1;
        if ((unsigned char)*p < 0x20 && !(fl & JF_CTRL)) return NULL;
    }
    return NULL;
}

static int is_digit(const char *p, const char *e)
{
    return p < e && *p >= '0' && *p <= '9';
}

/* End of the number at p in JSON's grammar, as Jackson reads it: no leading zeros ('01'), no '+',
   digits after '.' and in an exponent ('1.', '1e' fail); NULL when it is not one. */
static const char *num_end(const char *p, const char *e)
{
    const char *s = p;
    if (p < e && *p == '-') p++;
    if (!is_digit(p, e)) return NULL;
    if (*p++ != '0')
        while (is_digit(p, e))
            p++;
    if (p < e && *p == '.') {
        if (!is_digit(++p, e)) return NULL;
        while (is_digit(p, e))
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (!is_digit(p, e)) return NULL;
        while (is_digit(p, e))
            p++;
    }
    /* '01', '1x', '1.5.2': Jackson fails on what follows a number in a token */
    if (p < e && (isalnum((unsigned char)*p) || *p == '.' || *p == '_')) return NULL;
    return p - s > MAX_NUM_LEN ? NULL : p;
}

/* The length of the non-numeric number at p (NaN, Infinity, +Infinity, -Infinity, +INF, -INF), or
   0; *neg is set for the negative ones. */
static size_t nonnum_len(const char *p, const char *e, int *neg)
{
    static const char *const tok[] = {"NaN", "Infinity", "+Infinity", "-Infinity", "+INF", "-INF"};
    for (size_t i = 0; i < sizeof tok / sizeof tok[0]; i++) {
        size_t n = strlen(tok[i]);
        if ((size_t)(e - p) >= n && !memcmp(p, tok[i], n) &&
            !(p + n < e && (isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == '$'))) {
            *neg = *p == '-';
            return n;
        }
    }
    return 0;
}

/* End of the value at p, or NULL when malformed (fl: JF_*). */
static const char *skip(const char *p, const char *e, int depth, int fl)
{
    p = ws(p, e);
    if (p >= e || depth > MAX_DEPTH) return NULL;
    if (is_quote(*p)) return str_end(p, e, fl);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        int obj = *p == '{';
        p = ws(p + 1, e);
        if (p < e && *p == close) return p + 1;
        for (;;) {
            if (obj) {
                p = ws(p, e);
                if (p >= e || !is_quote(*p) || !(p = str_end(p, e, fl))) return NULL;
                p = ws(p, e);
                if (p >= e || *p != ':') return NULL;
                p++;
            }
            if (!(p = skip(p, e, depth + 1, fl))) return NULL;
            p = ws(p, e);
            if (p >= e) return NULL;
            if (*p == close) return p + 1;
            if (*p != ',') return NULL;
            p++;
        }
    }
    int neg;
    size_t n;
    if ((fl & JF_NONNUM) && (n = nonnum_len(p, e, &neg))) return p + n;
    if (*p == '-' || isdigit((unsigned char)*p)) return num_end(p, e);
    static const char *const lit[] = {"true", "false", "null"};
    for (size_t i = 0; i < 3; i++) {
        n = strlen(lit[i]);
        if ((size_t)(e - p) >= n && !memcmp(p, lit[i], n) &&
            !(p + n < e && (isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == '$')))
            return p + n;
    }
    return NULL;
}

/* End of the top-level value at p, as Jackson reads one: what follows it is never read (Spark
   ignores '{"a":1} x'), except that a number at the top level must be followed by whitespace or
   the end ('1x' fails). NULL when malformed. */
static const char *root_end(const char *p, const char *e, int fl)
{
    p = ws(p, e);
    const char *q = skip(p, e, 0, fl);
    if (q && q < e && p < e && (*p == '-' || isdigit((unsigned char)*p)) &&
        !(*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
        return NULL;
    return q;
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

/* The character of the escape whose letter is at *pp (after the backslash) in a string ending
   before q: its code point (a \uXXXX pair of surrogates as one), *pp left at its last byte;
   NO_CHAR for a \u cut short. */
#define NO_CHAR 0xFFFFFFFFu
static unsigned escape_at(const char **pp, const char *q)
{
    const char *p = *pp;
    unsigned cp = (unsigned char)*p;
    switch (*p) {
    case 'n': cp = '\n'; break;
    case 't': cp = '\t'; break;
    case 'r': cp = '\r'; break;
    case 'b': cp = '\b'; break;
    case 'f': cp = '\f'; break;
    case 'u':
        if (q - p < 5) return NO_CHAR;
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
    default: break; /* \" \\ \/ and the rest: the character itself */
    }
    *pp = p;
    return cp;
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
        char letter = *p;
        unsigned cp = escape_at(&p, q);
        if (cp == NO_CHAR) continue;
        if (letter != 'u') { /* the byte itself (or its control character) */
            lk_buf_putc(b, (char)cp);
            continue;
        }
        char u[4];
        lk_buf_append(b, u, lk_sql_utf8_put(u, cp));
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
        unsigned cp = escape_at(&p, q);
        if (cp == NO_CHAR) continue;
        if (cp < 0x80) {
            put_escaped(b, cp);
        } else {
            char u[4];
            lk_buf_append(b, u, lk_sql_utf8_put(u, cp));
        }
    }
    lk_buf_putc(b, '"');
}

/* The number [p, q) as Jackson's generator copies it (copyCurrentEvent): an integer through
   int/long/BigInteger (as written, but '-0' is 0), any other one through getDoubleValue and
   writeNumber(double), which is Java's Double.toString (10.50 is 10.5, 1e3 1000.0, 0.0001 1.0E-4)
   and a quoted string when not finite (1e400 and Infinity are "Infinity", NaN "NaN"). */
static void put_number(const char *p, const char *q, lk_buf *b)
{
    char buf[MAX_NUM_LEN + 1], out[40];
    size_t n = (size_t)(q - p);
    if (n > MAX_NUM_LEN) n = MAX_NUM_LEN;
    memcpy(buf, p, n);
    buf[n] = 0;
    int neg;
    if (!nonnum_len(p, q, &neg) && !strpbrk(buf, ".eE")) {
        if (!strcmp(buf, "-0"))
            lk_buf_putc(b, '0');
        else
            lk_buf_append(b, p, n);
        return;
    }
    double d = strtod(buf, NULL);
    if (buf[0] == 'N')
        d = NAN;
    else if (buf[0] == 'I' || buf[0] == '+' || (buf[0] == '-' && buf[1] == 'I'))
        d = buf[0] == '-' ? -INFINITY : INFINITY;
    size_t len = lk_sql_format_double(d, out);
    int finite = isfinite(d);
    if (!finite) lk_buf_putc(b, '"');
    lk_buf_append(b, out, len);
    if (!finite) lk_buf_putc(b, '"');
}

/* JSON text of the (valid) value [p, q) as Spark's Jackson generator copies it
   (copyCurrentStructure): whitespace outside strings removed, every string and key in double
   quotes with Jackson's escaping, numbers written again as put_number does. */
static void compact_into(const char *p, const char *q, lk_buf *b)
{
    while (p < q) {
        if (is_quote(*p)) {
            const char *e = str_end(p, q, JF_CTRL);
            int plain = *p == '"';
            for (const char *c = p + 1; plain && c < e - 1; c++)
                plain = *c != '\\' && (unsigned char)*c >= 0x20;
            if (plain)
                lk_buf_append(b, p, (size_t)(e - p)); /* nothing to decode or escape */
            else
                reescape(p, e, b);
            p = e;
        } else if (*p == '-' || *p == '+' || isdigit((unsigned char)*p) || *p == 'N' || *p == 'I') {
            const char *e = p + 1;
            while (e < q && (isalnum((unsigned char)*e) || *e == '.' || *e == '+' || *e == '-'))
                e++;
            put_number(p, e, b);
            p = e;
        } else {
            if (!(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) lk_buf_putc(b, *p);
            p++;
        }
    }
}

/* compact() into b emptied first. */
static void compact(const char *p, const char *q, lk_buf *b)
{
    lk_buf_reset(b);
    compact_into(p, q, b);
}

/* Flags for walking text root_end already checked: anything it let through. */
#define JF_CHECKED (JF_CTRL | JF_NONNUM)

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
        const char *ke = str_end(p, e, JF_CHECKED);
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
        if (!(p = skip(p, e, 1, JF_CHECKED))) return NULL;
        p = ws(p, e);
        if (p >= e || *p != ',') return NULL;
        p++;
    }
}

/* The scratch of an unescaped key or string (put_struct, put_list, get_json_object), kept across
   rows: no allocation per row. A key is used up before any nested value is read, so the levels can
   share it. */
static _Thread_local lk_buf key_scratch;

/* ---- get_json_object ---- */

/* A step of a path, as Spark's JsonPathParser makes PathInstructions of it: `.name` and
   `['name']` (Key, Named), `[n]` (Subscript, Index) and `[*]` (Subscript, Wildcard). */
enum { JS_NAMED, JS_INDEX, JS_ALL };

#define MAX_STEPS 32

typedef struct jpath {
    int n;
    struct {
        int kind;
        char name[128];
        size_t len;
        int64_t idx;
    } step[MAX_STEPS];
} jpath;

/* Java's \s, which Spark's RegexParsers skip before every token of a path. */
static const char *path_ws(const char *s)
{
    while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
        s++;
    return s;
}

/* Compiles s as Spark 3.5's JsonPathParser reads it: `$`, then `.name` (up to the next '.' or
   '['), `['name']` (no ' or ?), `[n]` or `[*]`, whitespace allowed before each token. 0; -1 for a
   path Spark does not parse (null in every row there); -2 for one with `.*` or `['*']`, which
   Spark parses into a bare Wildcard that no JSON value matches (null in every row too). */
static int compile_path(const char *s, jpath *jp)
{
    memset(jp, 0, sizeof *jp);
    s = path_ws(s);
    if (*s++ != '$') return -1;
    for (;;) {
        const char *t = path_ws(s), *name = NULL;
        size_t len = 0;
        if (!*t) return 0;
        if (jp->n == MAX_STEPS) return -1;
        if (!strncmp(t, ".*", 2) || !strncmp(t, "['*']", 5)) return -2;
        if (*t == '.') {
            name = path_ws(t + 1);
            len = strcspn(name, ".[");
            s = name + len;
        } else if (!strncmp(t, "['", 2)) {
            name = path_ws(t + 2);
            len = strcspn(name, "'?");
            const char *q = path_ws(name + len);
            if (strncmp(q, "']", 2)) return -1;
            s = q + 2;
        } else if (*t == '[') {
            t = path_ws(t + 1);
            if (*t == '*') {
                jp->step[jp->n].kind = JS_ALL;
                t++;
            } else {
                int64_t v = 0;
                if (!isdigit((unsigned char)*t)) return -1;
                for (; isdigit((unsigned char)*t); t++) /* Scala's toLong: past it, no path */
                    if (__builtin_mul_overflow(v, 10, &v) ||
                        __builtin_add_overflow(v, *t - '0', &v))
                        return -1;
                jp->step[jp->n].kind = JS_INDEX;
                jp->step[jp->n].idx = v;
            }
            t = path_ws(t);
            if (*t != ']') return -1;
            s = t + 1;
            jp->n++;
            continue;
        } else {
            return -1;
        }
        if (!len || len >= sizeof jp->step[0].name) return -1;
        jp->step[jp->n].kind = JS_NAMED;
        memcpy(jp->step[jp->n].name, name, len);
        jp->step[jp->n++].len = len;
    }
}

/* Where get_json_object writes, as Spark's Jackson JsonGenerator: a value after another at the
   same level is separated by ',' in an array and by ' ' at the root (Jackson's root value
   separator: a path can write twice at the root, see jeval), raw text with no separator. */
typedef struct jgen {
    lk_buf *b;
    int depth;                /* open arrays */
    int count[MAX_STEPS + 2]; /* values written at the root and in each open array */
} jgen;

static void g_value(jgen *g)
{
    if (g->count[g->depth]++) lk_buf_putc(g->b, g->depth ? ',' : ' ');
}

static void g_start(jgen *g)
{
    g_value(g);
    lk_buf_putc(g->b, '[');
    g->count[++g->depth] = 0;
}

static void g_end(jgen *g)
{
    lk_buf_putc(g->b, ']');
    g->depth--;
}

/* Spark's WriteStyle: a string at the end of a path with no [*] above it is written unquoted
   (RAW); below a [*] every value is JSON (QUOTED); below [*][*] arrays are spliced (FLATTEN). */
enum { ST_RAW, ST_QUOTED, ST_FLATTEN };

/* A walk of one document: the path, the end of the (checked) text, and the buffers of the [*]
   levels, which keep their memory across rows and batches in each thread. */
typedef struct jctx {
    const jpath *jp;
    const char *e;
    int nbuf;
} jctx;

static _Thread_local lk_buf gj_bufs[MAX_STEPS + 1];

/* The first element of the array (or member of the object) at v, or NULL when it is empty. */
static const char *first_in(const char *v, const char *e)
{
    const char *p = ws(v + 1, e);
    return *p == ']' || *p == '}' ? NULL : p;
}

/* After an element (or member) ending at q: the next one, or NULL at the end. */
static const char *next_in(const char *q, const char *e)
{
    const char *p = ws(q, e);
    return *p == ',' ? ws(p + 1, e) : NULL;
}

/* The key at p (a string) equals step's name: its end in *ke. */
static int key_is(const char *p, const char *e, const char *name, size_t n, const char **ke)
{
    const char *q = str_end(p, e, JF_CHECKED);
    *ke = q;
    if (memchr(p, '\\', (size_t)(q - p))) {
        unescape(p, q, &key_scratch);
        return key_scratch.len == n && !memcmp(key_scratch.data, name, n);
    }
    return (size_t)(q - p - 2) == n && !memcmp(p + 1, name, n);
}

/* Spark's GetJsonObject.evaluatePath over the value at v (valid JSON, as root_end checked) with
   the path's steps from st: writes what matches into g and says whether anything did. Its cases,
   in its order:
   - the path ends: a string in RAW style unquoted; an array in FLATTEN style spliced element by
     element; anything else copied as JSON (a null too: "null", as Spark's copyCurrentStructure);
   - an object and a name: the first member of that name whose value is not null and matches the
     rest (a member "a":null, or one that does not match, and a later "a" is tried);
   - an array and [*][*]: an array of the elements each matched in FLATTEN style against the
     rest (the second [*] is the splicing, as Hive's double wildcard);
   - an array and [*], not QUOTED: the elements matched in QUOTED style (FLATTEN stays) into a
     buffer; two or more matches written as the array, one without its brackets (a single string
     keeps its quotes), none not at all;
   - an array and [*], QUOTED (below another [*], or after [n]): always an array, even of one or
     none (an empty one is written though nothing matched);
   - an array and [n]: element n against the rest, QUOTED when the rest starts with [*];
   - anything else: no match. */
static int jeval(jctx *c, const char *v, int style, int st, jgen *g)
{
    const char *e = c->e;
    if (st == c->jp->n) {
        const char *q = skip(v, e, 0, JF_CHECKED);
        if (is_quote(*v) && style == ST_RAW) { /* writeRaw: no separator */
            unescape(v, q, &key_scratch);
            lk_buf_append(g->b, key_scratch.data ? key_scratch.data : "", key_scratch.len);
            return 1;
        }
        if (*v == '[' && style == ST_FLATTEN) {
            int dirty = 0;
            for (const char *el = first_in(v, e); el; el = next_in(skip(el, e, 1, JF_CHECKED), e))
                dirty |= jeval(c, el, style, st, g);
            return dirty;
        }
        g_value(g);
        compact_into(v, q, g->b);
        return 1;
    }
    int kind = c->jp->step[st].kind;
    if (*v == '{' && kind == JS_NAMED) {
        const char *name = c->jp->step[st].name;
        size_t len = c->jp->step[st].len;
        for (const char *m = first_in(v, e); m;) {
            const char *ke;
            int eq = key_is(m, e, name, len, &ke);
            const char *val = ws(ws(ke, e) + 1, e); /* past ':' */
            if (eq && !(e - val >= 4 && !memcmp(val, "null", 4)) && jeval(c, val, style, st + 1, g))
                return 1;
            m = next_in(skip(val, e, 1, JF_CHECKED), e);
        }
        return 0;
    }
    if (*v != '[' || kind == JS_NAMED) return 0;
    int next_all = st + 1 < c->jp->n && c->jp->step[st + 1].kind == JS_ALL;
    if (kind == JS_INDEX) {
        const char *el = first_in(v, e);
        for (int64_t i = 0; el && i < c->jp->step[st].idx; i++)
            el = next_in(skip(el, e, 1, JF_CHECKED), e);
        return el ? jeval(c, el, next_all ? ST_QUOTED : style, st + 1, g) : 0;
    }
    if (next_all || style == ST_QUOTED) { /* [*][*], or [*] below a [*] or an index */
        int dirty = 0, inner = next_all ? ST_FLATTEN : ST_QUOTED;
        g_start(g);
        for (const char *el = first_in(v, e); el; el = next_in(skip(el, e, 1, JF_CHECKED), e))
            dirty |= jeval(c, el, inner, st + (next_all ? 2 : 1), g);
        g_end(g);
        return dirty;
    }
    /* [*] in RAW or FLATTEN style: the matches buffered, the brackets kept for two or more */
    if (c->nbuf > MAX_STEPS) return 0; /* not reached: a [*] per level at most */
    jgen sub = {&gj_bufs[c->nbuf++], 0, {0}};
    lk_buf_reset(sub.b);
    g_start(&sub);
    int matched = 0;
    for (const char *el = first_in(v, e); el; el = next_in(skip(el, e, 1, JF_CHECKED), e))
        matched += jeval(c, el, style == ST_RAW ? ST_QUOTED : ST_FLATTEN, st + 1, &sub);
    g_end(&sub);
    c->nbuf--;
    if (matched) {
        g_value(g);
        if (matched > 1)
            lk_buf_append(g->b, sub.b->data, sub.b->len);
        else
            lk_buf_append(g->b, sub.b->data + 1, sub.b->len - 2);
    }
    return matched > 0;
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
        const char *end = root_end(s, e, JF_CTRL);
        if (!end) { /* Jackson fails on it: null, and a failure for on_error */
            lk_col_append_null(k->out);
            lk_sql_fail(k, i);
            continue;
        }
        jctx c = {jp, end, 0};
        jgen g = {b, 0, {0}};
        lk_buf_reset(b);
        if (jeval(&c, ws(s, end), ST_RAW, 0, &g))
            lk_col_append_bytes(k->out, b->data ? b->data : "", b->len);
        else
            lk_col_append_null(k->out);
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
    lk_buf *key = &key_scratch;
    lk_col_append_struct(c);
    for (int f = 0; f < c->n_children; f++) {
        const lk_field *fd = c->children[f].field;
        const char *v = member(p, e, fd->name, strlen(fd->name), key);
        put_value(k, &c->children[f], v, e, depth + 1);
    }
    return 0;
}

/* The array (or, for a map, the object) at p into c: a null when an element does not fit its
   type (Spark's parser fails the whole array, which its partial result then makes null). */
static int put_list(lk_sql_kctx *k, lk_col *c, const char *p, const char *e, int depth)
{
    int is_map = c->field->type == LK_TYPE_MAP;
    lk_col *el = &c->children[is_map ? 1 : 0];
    uint32_t start = el->len;
    lk_buf *key = &key_scratch;
    p = ws(p + 1, e);
    int bad = 0;
    if (*p != (is_map ? '}' : ']'))
        for (;;) {
            p = ws(p, e);
            if (is_map) {
                const char *ke = str_end(p, e, JF_CHECKED);
                unescape(p, ke, key);
                lk_col_append_bytes(&c->children[0], key->data ? key->data : "", key->len);
                p = ws(ke, e) + 1;
                p = ws(p, e);
            }
            bad |= put_value(k, el, p, e, depth + 1);
            p = ws(skip(p, e, depth + 1, JF_CHECKED), e);
            if (*p != ',') break;
            p++;
        }
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
    const char *q = p ? skip(p, e, 0, JF_CHECKED) : NULL;
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
        if (!is_str && c->field->type == LK_TYPE_TIMESTAMP &&
            (*p == '-' || isdigit((unsigned char)*p))) {
            /* Spark's JacksonParser: an integer is epoch seconds (getLongValue * 1000000, which
               wraps as Java's long); a float, or an integer beyond a long, fails. A DATE takes only
               a string. */
            char buf[32];
            size_t n = (size_t)(q - p);
            if (n >= sizeof buf || memchr(p, '.', n) || memchr(p, 'e', n) || memchr(p, 'E', n))
                return misfit(c);
            memcpy(buf, p, n);
            buf[n] = 0;
            errno = 0;
            long long v = strtoll(buf, NULL, 10);
            if (errno) return misfit(c);
            lk_col_append_i64(c, (int64_t)((uint64_t)v * 1000000u));
            return 0;
        }
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
            } special[] = {{"NaN", NAN},       {"Infinity", INFINITY},   {"+Infinity", INFINITY},
                           {"+INF", INFINITY}, {"-Infinity", -INFINITY}, {"-INF", -INFINITY}};
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
        const char *end = root_end(s, e, JF_NONNUM), *p = ws(s, e);
        if (p == e) { /* empty or blank: no record */
            lk_col_append_null(out);
            continue;
        }
        if (!end || *p != '{') {
            /* Spark 3's PERMISSIVE mode: a struct of nulls, and a failure for on_error */
            put_struct(k, out, "", "", 0);
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
    /* a path Spark cannot parse, or one that matches nothing, is null in every row there: a
       typo to report at start, not a column of nulls */
    int bad = compile_path(a->s, jp);
    if (bad) {
        free(jp);
        if (bad == -2)
            return lk_error_set(err, LK_EFORMAT,
                                "position %d: get_json_object: path '%s': '.*' and ['*'] match "
                                "nothing in Spark (every row null); the elements of an array are "
                                "[*], as in '$.items[*].price'",
                                lk_sql_column_of(text, a->pos), a->s);
        return lk_error_set(err, LK_EFORMAT,
                            "position %d: get_json_object: bad path '%s' (e.g. '$.a.b[0]', "
                            "\"$['key']\", '$.items[*].price')",
                            lk_sql_column_of(text, a->pos), a->s);
    }
    *aux = jp;
    *aux_free = free;
    return 0;
}
