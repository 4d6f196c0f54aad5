/*
 * lk_infer — Spark-style schema inference from JSON lines (see lk_infer.h).
 *
 * Inference runs on a sample, not on the hot path, so each line is parsed
 * with yajl's tree API and folded into an accumulated schema. While
 * accumulating, a field seen only as null (or an empty array's element) has
 * the internal type NULLTYPE (0); lk_infer_result() turns it into string.
 */
#include "lk_infer.h"

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

struct lk_infer {
    lk_schema *acc; /* NULL until the first object */
    key_votes *votes;
    int nvotes, capvotes;
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
    for (int i = 0; i < (*inf)->nvotes; i++)
        free((*inf)->votes[i].name);
    free((*inf)->votes);
    free(*inf);
    *inf = NULL;
}

static void vote(lk_infer *inf, const char *name, yajl_val v)
{
    if (!v || YAJL_IS_NULL(v))
        return;
    key_votes *kv = NULL;
    for (int i = 0; i < inf->nvotes && !kv; i++)
        if (!strcmp(inf->votes[i].name, name))
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
        kv->name = strdup(name);
    }
    if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
        kv->n_bool++;
    else if (YAJL_IS_NUMBER(v))
        *(YAJL_IS_INTEGER(v) ? &kv->n_long : &kv->n_double) += 1;
    else if (YAJL_IS_STRING(v))
        kv->n_string++;
    else
        kv->n_other++;
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

int lk_infer_line(lk_infer *inf, const char *line, size_t len)
{
    /* the reader makes such a line a corrupt record: none of its keys may become a column
       (a key 'k\xc0\xaf' did, its name written to the schema's JSON as 'k\ufffd' like
       other such keys: two columns of one name, and no record batch decoded any more) */
    if (!lk_utf8_valid(line, len) || !keys_ok(line, len))
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
        return 0;
    }
    if (lk_schema_equal(inf->acc, one)) { /* the common case: nothing to widen */
        lk_schema_destroy(&one);
        return 0;
    }
    lk_schema *m = merge_schemas(inf->acc, one);
    lk_schema_destroy(&inf->acc);
    lk_schema_destroy(&one);
    inf->acc = m;
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
