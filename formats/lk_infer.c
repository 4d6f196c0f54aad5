/*
 * lk_infer — Spark-style schema inference from JSON lines (see lk_infer.h).
 *
 * Inference runs on a sample, not on the hot path, so each line is parsed
 * with yajl's tree API and folded into an accumulated schema. While
 * accumulating, a field seen only as null (or an empty array's element) has
 * the internal type NULLTYPE (0); lk_infer_result() turns it into string.
 */
#include "lk_infer.h"
#include "lk_json_reader.h"

#include "lk_bytes.h"

#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#define NULLTYPE ((lk_type)0)

/* How often each kind of value was seen for one top-level key. */
typedef struct key_votes {
    char *name;
    long n_long, n_double, n_bool, n_string, n_other;
} key_votes;

/* A line's shape: its keys at every level with the kind of each value, in
   order (what schema_of and the votes read of it). */
#define KNOWN_SHAPES 16
typedef struct shape {
    unsigned char *b;
    size_t len, cap;
} shape;

struct lk_infer {
    lk_schema *acc; /* NULL until the first object */
    key_votes *votes;
    int nvotes, capvotes;
    /* the shapes of lines the tree path found to widen nothing since the
       accumulated schema last changed: a line of one of these shapes widens
       nothing either (its schema is the same), so only its votes count (see
       shape_scan); a line's null and non-null values make a few shapes */
    shape known[KNOWN_SHAPES], cur;
    int nknown;
    int no_fast; /* tests: every line through the tree path */
    long shortcuts; /* lines that took a known shape */
};

/* A column widened to string by a few odd values keeps the type of the
   rest when they are at least this share of at least MIN_VOTES values. */
#define MAJORITY 0.90
#define MIN_VOTES 20

lk_infer *lk_infer_new(void)
{
    lk_infer *inf = calloc(1, sizeof *inf);
    if (!inf)
        abort();
    return inf;
}

void lk_infer_destroy(lk_infer **inf)
{
    if (!inf || !*inf)
        return;
    lk_schema_destroy(&(*inf)->acc);
    for (int i = 0; i < KNOWN_SHAPES; i++)
        free((*inf)->known[i].b);
    free((*inf)->cur.b);
    for (int i = 0; i < (*inf)->nvotes; i++)
        free((*inf)->votes[i].name);
    free((*inf)->votes);
    free(*inf);
    *inf = NULL;
}

/* The kinds of value a vote counts ('n' null counts for nothing). */
enum { K_NULL = 'n', K_BOOL = 'b', K_LONG = 'l', K_DOUBLE = 'd', K_STRING = 's', K_OBJECT = 'o' };

static void vote_kind(lk_infer *inf, const char *name, size_t len, int kind)
{
    if (kind == K_NULL)
        return;
    key_votes *kv = NULL;
    for (int i = 0; i < inf->nvotes && !kv; i++)
        if (!strncmp(inf->votes[i].name, name, len) && inf->votes[i].name[len] == '\0')
            kv = &inf->votes[i];
    if (!kv) {
        if (inf->nvotes == inf->capvotes) {
            inf->capvotes = inf->capvotes ? inf->capvotes * 2 : 16;
            inf->votes = realloc(inf->votes, (size_t)inf->capvotes * sizeof *inf->votes);
            if (!inf->votes)
                abort();
        }
        kv = &inf->votes[inf->nvotes++];
        memset(kv, 0, sizeof *kv);
        kv->name = strndup(name, len);
        if (!kv->name)
            abort();
    }
    switch (kind) {
    case K_BOOL: kv->n_bool++; break;
    case K_LONG: kv->n_long++; break;
    case K_DOUBLE: kv->n_double++; break;
    case K_STRING: kv->n_string++; break;
    default: kv->n_other++; break;
    }
}

static void vote(lk_infer *inf, const char *name, yajl_val v)
{
    int kind = !v || YAJL_IS_NULL(v)             ? K_NULL
               : YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v) ? K_BOOL
               : YAJL_IS_NUMBER(v)               ? (YAJL_IS_INTEGER(v) ? K_LONG : K_DOUBLE)
               : YAJL_IS_STRING(v)               ? K_STRING
                                                 : K_OBJECT;
    vote_kind(inf, name, strlen(name), kind);
}

/* Adds a field of the type of v under parent (or top-level of s). */
static lk_field *add_field(lk_schema *s, lk_field *parent, const char *name, lk_type t)
{
    return parent ? lk_field_add_child(parent, name, t, 1) : lk_schema_add(s, name, t, 1);
}

static void fill_from_value(lk_field *f, yajl_val v, int depth);

static lk_type value_type(yajl_val v)
{
    if (!v || YAJL_IS_NULL(v))
        return NULLTYPE;
    if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
        return LK_TYPE_BOOLEAN;
    if (YAJL_IS_NUMBER(v))
        return YAJL_IS_INTEGER(v) ? LK_TYPE_LONG : LK_TYPE_DOUBLE;
    if (YAJL_IS_STRING(v))
        return LK_TYPE_STRING;
    if (YAJL_IS_OBJECT(v))
        return LK_TYPE_STRUCT;
    return LK_TYPE_ARRAY;
}

/* The type of v as a field at nesting level depth (a top-level column is
   1): an object or array too deep to be a nested type is its JSON text. */
static lk_type value_type_at(yajl_val v, int depth)
{
    lk_type t = value_type(v);
    if (depth > LK_INFER_MAX_NESTING && (t == LK_TYPE_STRUCT || t == LK_TYPE_ARRAY))
        return LK_TYPE_STRING;
    return t;
}

/* Copies src (a field, recursively) as a new child of dst / top-level of s
   (inferred fields are all nullable and have no precision: as they were). */
static void copy_field(lk_schema *s, lk_field *dst, const lk_field *src)
{
    lk_field_copy_children(add_field(s, dst, src->name, src->type), src);
}

static lk_field *find_child(const lk_field *p, const char *name)
{
    for (int i = 0; i < p->n_children; i++)
        if (!strcmp(p->children[i].name, name))
            return &p->children[i];
    return NULL;
}

/* Merges a and b (same name) into a new field under dst / top-level of s. */
static void merge_field(lk_schema *s, lk_field *dst, const lk_field *a, const lk_field *b)
{
    if (a->type == NULLTYPE) {
        copy_field(s, dst, b);
        return;
    }
    if (b->type == NULLTYPE || lk_field_equal(a, b)) {
        copy_field(s, dst, a);
        return;
    }
    if (a->type == LK_TYPE_STRUCT && b->type == LK_TYPE_STRUCT) {
        lk_field *f = add_field(s, dst, a->name, LK_TYPE_STRUCT);
        for (int i = 0; i < a->n_children; i++) {
            const lk_field *bc = find_child(b, a->children[i].name);
            if (bc)
                merge_field(NULL, f, &a->children[i], bc);
            else
                copy_field(NULL, f, &a->children[i]);
        }
        for (int i = 0; i < b->n_children; i++)
            if (!find_child(a, b->children[i].name))
                copy_field(NULL, f, &b->children[i]);
        return;
    }
    if (a->type == LK_TYPE_ARRAY && b->type == LK_TYPE_ARRAY) {
        lk_field *f = add_field(s, dst, a->name, LK_TYPE_ARRAY);
        merge_field(NULL, f, &a->children[0], &b->children[0]);
        return;
    }
    lk_type t = LK_TYPE_STRING;
    if ((a->type == LK_TYPE_LONG || a->type == LK_TYPE_DOUBLE) &&
        (b->type == LK_TYPE_LONG || b->type == LK_TYPE_DOUBLE))
        t = LK_TYPE_DOUBLE;
    add_field(s, dst, a->name, t);
}

/* Fills f (already typed from v, at nesting level depth) with v's children. */
static void fill_from_value(lk_field *f, yajl_val v, int depth)
{
    if (f->type == LK_TYPE_STRUCT) {
        for (size_t i = 0; i < v->u.object.len; i++) {
            const char *k = v->u.object.keys[i];
            yajl_val cv = v->u.object.values[i];
            /* a duplicate key: the first occurrence wins, as in the reader */
            if (find_child(f, k))
                continue;
            lk_field *c = lk_field_add_child(f, k, value_type_at(cv, depth + 1), 1);
            fill_from_value(c, cv, depth + 1);
        }
    } else if (f->type == LK_TYPE_ARRAY) {
        lk_field acc = {0};
        acc.type = LK_TYPE_STRUCT;
        lk_field *e = lk_field_add_child(&acc, "element", NULLTYPE, 1);
        (void)e;
        for (size_t i = 0; i < v->u.array.len; i++) {
            yajl_val ev = v->u.array.values[i];
            lk_field one = {0};
            one.type = LK_TYPE_STRUCT;
            lk_field *oc = lk_field_add_child(&one, "element", value_type_at(ev, depth + 1), 1);
            fill_from_value(oc, ev, depth + 1);
            lk_field next = {0};
            next.type = LK_TYPE_STRUCT;
            merge_field(NULL, &next, &acc.children[0], &one.children[0]);
            /* free acc and one by handing them to a throwaway schema */
            lk_schema *junk = lk_schema_new();
            lk_field *h1 = lk_schema_add(junk, "a", LK_TYPE_STRUCT, 1);
            h1->children = acc.children;
            h1->n_children = acc.n_children;
            lk_field *h2 = lk_schema_add(junk, "b", LK_TYPE_STRUCT, 1);
            h2->children = one.children;
            h2->n_children = one.n_children;
            lk_schema_destroy(&junk);
            acc = next;
        }
        f->children = acc.children;
        f->n_children = acc.n_children;
    }
}

/* The schema of one object. */
static lk_schema *schema_of(yajl_val obj)
{
    lk_schema *s = lk_schema_new();
    lk_field holder = {0};
    holder.type = LK_TYPE_STRUCT;
    fill_from_value(&holder, obj, 0);
    for (int i = 0; i < holder.n_children; i++)
        copy_field(s, NULL, &holder.children[i]);
    lk_schema *junk = lk_schema_new();
    lk_field *h = lk_schema_add(junk, "h", LK_TYPE_STRUCT, 1);
    h->children = holder.children;
    h->n_children = holder.n_children;
    lk_schema_destroy(&junk);
    return s;
}

static lk_schema *merge_schemas(const lk_schema *a, const lk_schema *b)
{
    lk_schema *s = lk_schema_new();
    int na = lk_schema_nfields(a), nb = lk_schema_nfields(b);
    for (int i = 0; i < na; i++) {
        const lk_field *fa = lk_schema_field(a, i);
        int j = lk_schema_find(b, fa->name);
        if (j >= 0)
            merge_field(s, NULL, fa, lk_schema_field(b, j));
        else
            copy_field(s, NULL, fa);
    }
    for (int j = 0; j < nb; j++) {
        const lk_field *fb = lk_schema_field(b, j);
        if (lk_schema_find(a, fb->name) < 0)
            copy_field(s, NULL, fb);
    }
    return s;
}

/* The keys of every object in v, counting stops past LK_INFER_MAX_KEYS. */
static size_t count_keys(yajl_val v, size_t n)
{
    if (YAJL_IS_OBJECT(v)) {
        n += v->u.object.len;
        for (size_t i = 0; i < v->u.object.len && n <= LK_INFER_MAX_KEYS; i++)
            n = count_keys(v->u.object.values[i], n);
    } else if (YAJL_IS_ARRAY(v)) {
        for (size_t i = 0; i < v->u.array.len && n <= LK_INFER_MAX_KEYS; i++)
            n = count_keys(v->u.array.values[i], n);
    }
    return n;
}

/* The streaming pass of keys_ok: keys and values counted, a key with a NUL noticed; it stops
   (returns 0) as soon as the answer is no. */
typedef struct keyscan {
    size_t keys, values;
    int nul;
} keyscan;

static int scan_stop(const keyscan *k)
{
    return k->nul || k->keys > LK_INFER_MAX_KEYS || k->values > LK_INFER_MAX_VALUES;
}

static int scan_key(void *ctx, const unsigned char *key, size_t len)
{
    keyscan *k = ctx;
    if (memchr(key, 0, len)) k->nul = 1;
    k->keys++;
    return !scan_stop(k);
}

static int scan_value(void *ctx)
{
    keyscan *k = ctx;
    k->values++;
    return !scan_stop(k);
}

static int scan_bool(void *ctx, int b)
{
    (void)b;
    return scan_value(ctx);
}

static int scan_num(void *ctx, const char *s, size_t len)
{
    (void)s, (void)len;
    return scan_value(ctx);
}

static int scan_str(void *ctx, const unsigned char *s, size_t len)
{
    (void)s, (void)len;
    return scan_value(ctx);
}

/* 0 when no key of the line may become a column:
   - more than LK_INFER_MAX_KEYS keys or LK_INFER_MAX_VALUES values at all levels: yajl_tree
     grows an object's or array's arrays one element at a time, quadratic wherever realloc
     copies (100,000 keys took ingest past worker_timeout under ASan, killed again and again);
     the reader rescues such keys, nothing is lost;
   - a key holding a NUL ("a\u0000b"): yajl_tree cuts it at the NUL ("a"), a column the reader,
     which rescues the whole key, would never fill.
   One streaming pass (linear), only when the text could hold that many (':' and ',') or a NUL. */
static int keys_ok(const char *line, size_t len)
{
    size_t seps = 0;
    for (size_t i = 0; i < len; i++)
        seps += line[i] == ':' || line[i] == ',';
    if (seps <= LK_INFER_MAX_KEYS && !memmem(line, len, "\\u0000", 6))
        return 1;
    static const yajl_callbacks cb = {.yajl_null = scan_value,
                                      .yajl_boolean = scan_bool,
                                      .yajl_number = scan_num,
                                      .yajl_string = scan_str,
                                      .yajl_start_map = scan_value,
                                      .yajl_map_key = scan_key,
                                      .yajl_start_array = scan_value};
    keyscan k = {0, 0, 0};
    yajl_handle h = yajl_alloc(&cb, NULL, &k);
    if (!h)
        abort();
    yajl_parse(h, (const unsigned char *)line, len);
    yajl_free(h);
    return !scan_stop(&k);
}

/* ---- a line's shape without a tree ----
   Most lines of a sample have the shape of the line before: the same keys
   with the same kinds of values. shape_scan is a strict scanner for the
   common line — objects (nested up to FAST_MAX_DEPTH levels), no arrays,
   keys without escapes, strings, numbers and literals exactly as JSON's
   grammar has them, space/tab/CR/LF between tokens — that records the shape
   and the top-level keys' kinds. On anything else it gives up and the line
   takes the tree path, which decides (rejects, or widens). A number is a
   long as yajl_tree makes it one: '-' and digits that fit a long long;
   19 digits or more give up (yajl's overflow check has a gap there). */

#define FAST_MAX_DEPTH 8
#define FAST_MAX_TOP 256

typedef struct topkey {
    const char *name;
    size_t len;
    int kind;
} topkey;

static void shape_put(shape *sh, const void *p, size_t n)
{
    if (sh->len + n > sh->cap) {
        sh->cap = (sh->len + n) * 2 + 64;
        sh->b = realloc(sh->b, sh->cap);
        if (!sh->b)
            abort();
    }
    memcpy(sh->b + sh->len, p, n);
    sh->len += n;
}

static const char *skip_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string's body from after its opening quote: its closing quote, or NULL;
   *esc: it holds an escape. */
static const char *scan_string(const char *p, const char *e, int *esc)
{
    *esc = 0;
    while (p < e) {
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p;
        if (c < 0x20)
            return NULL;
        if (c != '\\') {
            p++;
            continue;
        }
        *esc = 1;
        if (e - p < 2)
            return NULL;
        char x = p[1];
        if (x == 'u') {
            if (e - p < 6 || !is_hex(p[2]) || !is_hex(p[3]) || !is_hex(p[4]) || !is_hex(p[5]))
                return NULL;
            p += 6;
        } else if (x == '"' || x == '\\' || x == '/' || x == 'b' || x == 'f' || x == 'n' ||
                   x == 'r' || x == 't') {
            p += 2;
        } else {
            return NULL;
        }
    }
    return NULL;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* One or more digits at p: past them, or NULL. */
static const char *digits(const char *p, const char *e)
{
    if (p >= e || !is_digit(*p))
        return NULL;
    while (p < e && is_digit(*p))
        p++;
    return p;
}

/* A number: past its end, or NULL; *kind K_LONG or K_DOUBLE. */
static const char *scan_number(const char *p, const char *e, int *kind)
{
    if (p < e && *p == '-')
        p++;
    const char *d0 = p;
    if (p < e && *p == '0')
        p++;
    else if (p < e && *p >= '1' && *p <= '9')
        while (p < e && is_digit(*p))
            p++;
    else
        return NULL;
    size_t ndig = (size_t)(p - d0);
    int integer = 1;
    if (p < e && *p == '.') {
        if (!(p = digits(p + 1, e)))
            return NULL;
        integer = 0;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (!(p = digits(p, e)))
            return NULL;
        integer = 0;
    }
    if (integer && ndig >= 19)
        return NULL;
    *kind = integer ? K_LONG : K_DOUBLE;
    return p;
}

/* The literal word at p: past it, or NULL. */
static const char *literal(const char *p, const char *e, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(e - p) >= n && !memcmp(p, word, n) ? p + n : NULL;
}

/* 1: the line's shape is in inf->cur and its top-level keys in top[0..*ntop);
   0: not a line this scanner knows (the tree path decides). */
static int shape_scan(lk_infer *inf, const char *p, const char *e, topkey *top, int *ntop)
{
    shape *sh = &inf->cur;
    sh->len = 0;
    *ntop = 0;
    p = skip_ws(p, e);
    if (p >= e || *p != '{')
        return 0;
    p++;
    int depth = 1, state = 0; /* 0: a key or '}', 1: a key, 2: ',' or '}' */
    for (;;) {
        p = skip_ws(p, e);
        if (p >= e)
            return 0;
        if (state == 2 || (state == 0 && *p == '}')) {
            if (state == 2 && *p == ',') {
                p++;
                state = 1;
                continue;
            }
            if (*p != '}')
                return 0;
            shape_put(sh, "}", 1);
            p++;
            if (--depth == 0)
                return skip_ws(p, e) == e;
            state = 2;
            continue;
        }
        if (*p != '"')
            return 0;
        int esc, kind;
        const char *k = p + 1, *q = scan_string(k, e, &esc);
        if (!q || esc || q - k > 0xffff)
            return 0;
        size_t klen = (size_t)(q - k);
        p = skip_ws(q + 1, e);
        if (p >= e || *p != ':')
            return 0;
        p = skip_ws(p + 1, e);
        if (p >= e)
            return 0;
        switch (*p) {
        case '"':
            q = scan_string(p + 1, e, &esc);
            p = q ? q + 1 : NULL;
            kind = K_STRING;
            break;
        case 't': p = literal(p, e, "true"), kind = K_BOOL; break;
        case 'f': p = literal(p, e, "false"), kind = K_BOOL; break;
        case 'n': p = literal(p, e, "null"), kind = K_NULL; break;
        case '{': kind = K_OBJECT; break;
        default: p = scan_number(p, e, &kind);
        }
        if (!p)
            return 0;
        unsigned char head[4] = {(unsigned char)depth, (unsigned char)(klen >> 8),
                                 (unsigned char)klen, (unsigned char)kind};
        shape_put(sh, head, 3);
        shape_put(sh, k, klen);
        shape_put(sh, head + 3, 1);
        if (depth == 1) {
            if (*ntop == FAST_MAX_TOP)
                return 0;
            top[(*ntop)++] = (topkey){k, klen, kind};
        }
        if (kind == K_OBJECT) {
            if (depth == FAST_MAX_DEPTH)
                return 0;
            depth++;
            p++;
            state = 0;
        } else {
            state = 2;
        }
    }
}

/* After the tree path found that the line whose shape inf->cur holds leaves
   the accumulated schema as it is: that shape is one a line may have to
   skip the tree. */
static void remember_shape(lk_infer *inf)
{
    if (inf->nknown == KNOWN_SHAPES)
        return;
    shape t = inf->known[inf->nknown];
    inf->known[inf->nknown++] = inf->cur;
    inf->cur = t;
}

/* 1 when inf->cur is a known shape. */
static int known_shape(const lk_infer *inf)
{
    for (int i = 0; i < inf->nknown; i++)
        if (inf->known[i].len == inf->cur.len && !memcmp(inf->known[i].b, inf->cur.b, inf->cur.len))
            return 1;
    return 0;
}

long lk_infer_shortcuts(const lk_infer *inf)
{
    return inf->shortcuts;
}

void lk_infer_tree_only(lk_infer *inf, int on)
{
    inf->no_fast = on;
    inf->nknown = 0;
}

/* 1 when the line nests objects and arrays deeper than max (strings skipped): the reader makes
   it a corrupt record, so none of its keys may become a column. */
static int nests_deeper(const char *p, size_t n, int max)
{
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (in_str) {
            if (ch == '\\') i++;
            else if (ch == '"') in_str = 0;
        } else if (ch == '"') {
            in_str = 1;
        } else if (ch == '{' || ch == '[') {
            if (++depth > max) return 1;
        } else if (ch == '}' || ch == ']') {
            depth--;
        }
    }
    return 0;
}

int lk_infer_line(lk_infer *inf, const char *line, size_t len)
{
    /* the reader makes such a line a corrupt record: none of its keys may become a column
       (a key 'k\xc0\xaf' did, its name written to the schema's JSON as 'k\ufffd' like
       other such keys: two columns of one name, and no record batch decoded any more) */
    if (!lk_utf8_valid(line, len) || !keys_ok(line, len))
        return LK_EFORMAT;
    /* the line's shape, scanned once: for the shortcut, or to be remembered */
    topkey top[FAST_MAX_TOP];
    int ntop;
    int shaped = !inf->no_fast && shape_scan(inf, line, line + len, top, &ntop);
    if (shaped && known_shape(inf)) {
        /* the shape of a line that widened nothing: only its votes count */
        for (int i = 0; i < ntop; i++)
            vote_kind(inf, top[i].name, top[i].len, top[i].kind);
        inf->shortcuts++;
        return 0;
    }
    /* a shaped line nests FAST_MAX_DEPTH levels at most: only the tree path needs the bound */
    if (nests_deeper(line, len, LK_JSON_MAX_NESTING))
        return LK_EFORMAT;
    char stackbuf[4096];
    char *tmp = len < sizeof stackbuf ? stackbuf : malloc(len + 1);
    if (!tmp)
        abort();
    memcpy(tmp, line, len);
    tmp[len] = '\0';
    yajl_val v = yajl_tree_parse(tmp, NULL, 0);
    if (tmp != stackbuf)
        free(tmp);
    if (!v || !YAJL_IS_OBJECT(v) || count_keys(v, 0) > LK_INFER_MAX_KEYS) {
        yajl_tree_free(v);
        return LK_EFORMAT;
    }
    for (size_t i = 0; i < v->u.object.len; i++)
        vote(inf, v->u.object.keys[i], v->u.object.values[i]);
    lk_schema *one = schema_of(v);
    yajl_tree_free(v);
    if (!inf->acc) {
        inf->acc = one;
    } else if (lk_schema_equal(inf->acc, one)) { /* the common case: nothing to widen */
        lk_schema_destroy(&one);
    } else {
        lk_schema *m = merge_schemas(inf->acc, one);
        lk_schema_destroy(&one);
        if (!lk_schema_equal(m, inf->acc)) {
            inf->nknown = 0; /* the accumulated schema changes: the known shapes may widen it */
            lk_schema_destroy(&inf->acc);
            inf->acc = m;
            return 0;
        }
        /* nothing widened (a null where the schema has a type): a line of
           this shape leaves the schema as it is, too */
        lk_schema_destroy(&m);
    }
    if (shaped)
        remember_shape(inf);
    return 0;
}

long lk_infer_lines(lk_infer *inf, const char *buf, size_t len)
{
    long n = 0;
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - buf) : len;
        size_t e = end;
        if (e > i && buf[e - 1] == '\r')
            e--;
        size_t s = i;
        while (s < e && (buf[s] == ' ' || buf[s] == '\t'))
            s++;
        if (s < e && lk_infer_line(inf, buf + s, e - s) == 0)
            n++;
        i = end + 1;
    }
    return n;
}

/* NULLTYPE → string, recursively. */
static void finalize(lk_field *f)
{
    if (f->type == NULLTYPE)
        f->type = LK_TYPE_STRING;
    for (int i = 0; i < f->n_children; i++)
        finalize(&f->children[i]);
}

lk_schema *lk_infer_result(const lk_infer *inf)
{
    if (!inf->acc)
        return NULL;
    lk_schema *s = lk_schema_clone(inf->acc);
    for (int i = 0; i < lk_schema_nfields(s); i++) {
        lk_field *f = lk_schema_field_mut(s, i);
        finalize(f);
        if (f->type != LK_TYPE_STRING)
            continue;
        /* a numeric or boolean column with a few odd strings: the column
           keeps its type and the odd values are rescued, not the whole
           column turned into text (Spark would say string) */
        for (int k = 0; k < inf->nvotes; k++) {
            const key_votes *kv = &inf->votes[k];
            if (strcmp(kv->name, f->name))
                continue;
            long total = kv->n_long + kv->n_double + kv->n_bool + kv->n_string + kv->n_other;
            long num = kv->n_long + kv->n_double;
            if (total < MIN_VOTES)
                break;
            if (num >= MAJORITY * (double)total)
                f->type = kv->n_double ? LK_TYPE_DOUBLE : LK_TYPE_LONG;
            else if (kv->n_bool >= MAJORITY * (double)total)
                f->type = LK_TYPE_BOOLEAN;
            break;
        }
    }
    return s;
}

lk_schema *lk_infer_merge(const lk_schema *a, const lk_schema *b)
{
    lk_schema *s = merge_schemas(a, b);
    for (int i = 0; i < lk_schema_nfields(s); i++)
        finalize(lk_schema_field_mut(s, i));
    return s;
}
