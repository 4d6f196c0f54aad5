/*
 * lk_infer — schema inference from JSON lines with Spark's rules; see
 * lk_infer.h. Inference runs once, on a bounded sample, so clarity wins
 * over speed here: each line is parsed with yajl's tree API and merged
 * into a tree of inferred nodes.
 */
#include "lk_infer.h"

#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "lk_buf.h"

typedef enum ikind { I_NULL = 0, I_BOOL, I_LONG, I_DOUBLE, I_STRING, I_STRUCT, I_ARRAY } ikind;

typedef struct inode {
    char *name;
    ikind kind;
    int n, cap;
    struct inode *kids; /* struct fields, or [element] for arrays */
} inode;

struct lk_infer {
    inode root; /* I_STRUCT once an object was seen */
    int seen;
    lk_buf line;
};

static void node_free(inode *n)
{
    for (int i = 0; i < n->n; i++)
        node_free(&n->kids[i]);
    free(n->kids);
    free(n->name);
    memset(n, 0, sizeof *n);
}

static inode *add_kid(inode *p, const char *name)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->kids = realloc(p->kids, sizeof(inode) * (size_t)p->cap);
        if (!p->kids)
            abort();
    }
    inode *k = &p->kids[p->n++];
    memset(k, 0, sizeof *k);
    k->name = strdup(name ? name : "element");
    return k;
}

static ikind kind_of(yajl_val v)
{
    if (YAJL_IS_OBJECT(v))
        return I_STRUCT;
    if (YAJL_IS_ARRAY(v))
        return I_ARRAY;
    if (YAJL_IS_STRING(v))
        return I_STRING;
    if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
        return I_BOOL;
    if (YAJL_IS_INTEGER(v))
        return I_LONG;
    if (YAJL_IS_NUMBER(v))
        return I_DOUBLE;
    return I_NULL;
}

/* Widens n by the value v (Spark's compatible-type rules). */
static void merge_value(inode *n, yajl_val v);

static void to_string(inode *n)
{
    for (int i = 0; i < n->n; i++)
        node_free(&n->kids[i]);
    free(n->kids);
    n->kids = NULL;
    n->n = n->cap = 0;
    n->kind = I_STRING;
}

static void merge_value(inode *n, yajl_val v)
{
    ikind k = kind_of(v);
    if (k == I_NULL || n->kind == I_STRING)
        return;
    if (n->kind == I_NULL) {
        n->kind = k;
    } else if (n->kind != k) {
        if ((n->kind == I_LONG && k == I_DOUBLE) || (n->kind == I_DOUBLE && k == I_LONG))
            n->kind = I_DOUBLE;
        else
            to_string(n);
        return;
    }
    if (k == I_STRUCT) {
        for (size_t i = 0; i < v->u.object.len; i++) {
            const char *key = v->u.object.keys[i];
            inode *kid = NULL;
            for (int j = 0; j < n->n; j++)
                if (!strcmp(n->kids[j].name, key))
                    kid = &n->kids[j];
            if (!kid)
                kid = add_kid(n, key);
            merge_value(kid, v->u.object.values[i]);
        }
    } else if (k == I_ARRAY) {
        if (n->n == 0)
            add_kid(n, "element");
        for (size_t i = 0; i < v->u.array.len; i++)
            merge_value(&n->kids[0], v->u.array.values[i]);
    }
}

lk_infer *lk_infer_new(void)
{
    lk_infer *inf = calloc(1, sizeof *inf);
    if (!inf)
        abort();
    inf->root.kind = I_STRUCT;
    return inf;
}

void lk_infer_destroy(lk_infer **p)
{
    if (!p || !*p)
        return;
    node_free(&(*p)->root);
    lk_buf_free(&(*p)->line);
    free(*p);
    *p = NULL;
}

int lk_infer_line(lk_infer *inf, const char *line, size_t len)
{
    lk_buf_reset(&inf->line);
    lk_buf_append(&inf->line, line, len);
    yajl_val v = yajl_tree_parse(inf->line.data, NULL, 0);
    if (!v || !YAJL_IS_OBJECT(v)) {
        yajl_tree_free(v);
        return LK_EFORMAT;
    }
    merge_value(&inf->root, v);
    inf->seen = 1;
    yajl_tree_free(v);
    return 0;
}

long lk_infer_lines(lk_infer *inf, const char *buf, size_t len)
{
    long objects = 0;
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - buf) : len, n = end - i;
        if (n && buf[i + n - 1] == '\r')
            n--;
        size_t k = 0;
        while (k < n && (buf[i + k] == ' ' || buf[i + k] == '\t'))
            k++;
        if (k < n && lk_infer_line(inf, buf + i, n) == 0)
            objects++;
        i = end + 1;
    }
    return objects;
}

static void to_field(const inode *n, lk_field *parent, lk_schema *root)
{
    static const lk_type map[] = {LK_TYPE_STRING, LK_TYPE_BOOLEAN, LK_TYPE_LONG, LK_TYPE_DOUBLE,
                                  LK_TYPE_STRING, LK_TYPE_STRUCT, LK_TYPE_ARRAY};
    lk_type t = map[n->kind];
    lk_field *f = parent ? lk_field_add_child(parent, n->name, t, 1) : lk_schema_add(root, n->name, t, 1);
    if (n->kind == I_STRUCT) {
        for (int i = 0; i < n->n; i++)
            to_field(&n->kids[i], f, NULL);
    } else if (n->kind == I_ARRAY) {
        if (n->n)
            to_field(&n->kids[0], f, NULL);
        else
            lk_field_add_child(f, "element", LK_TYPE_STRING, 1);
    }
}

lk_schema *lk_infer_result(const lk_infer *inf)
{
    if (!inf->seen)
        return NULL;
    lk_schema *s = lk_schema_new();
    for (int i = 0; i < inf->root.n; i++)
        to_field(&inf->root.kids[i], NULL, s);
    return s;
}
