/*
 * lk_schema — Spark/Delta table schema model; see lk_schema.h.
 *
 * Fields are kept in plain arrays grown by realloc: schemas are small and
 * built rarely, so simplicity beats cleverness here. JSON parsing uses
 * yajl's tree API (the same library the transform uses for records).
 */
#include "lk_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yajl/yajl_tree.h>

#include "lk_bytes.h"
#include "lk_json.h"

struct lk_schema {
    int n;
    lk_field *fields;
};

static void field_free(lk_field *f)
{
    for (int i = 0; i < f->n_children; i++)
        field_free(&f->children[i]);
    free(f->children);
    free(f->name);
    free(f->metadata_json);
}

/* src without its children (none in dst). */
static void field_copy_head(lk_field *dst, const lk_field *src)
{
    *dst = *src;
    dst->name = lk_strdup(src->name);
    dst->metadata_json = src->metadata_json ? lk_strdup(src->metadata_json) : NULL;
    dst->n_children = 0;
    dst->children = NULL;
}

static void field_copy(lk_field *dst, const lk_field *src)
{
    field_copy_head(dst, src);
    dst->n_children = src->n_children;
    if (src->n_children) {
        dst->children = calloc((size_t)src->n_children, sizeof(lk_field));
        if (!dst->children) abort();
        for (int i = 0; i < src->n_children; i++)
            field_copy(&dst->children[i], &src->children[i]);
    }
}

lk_schema *lk_schema_new(void)
{
    lk_schema *s = calloc(1, sizeof *s);
    if (!s) abort();
    return s;
}

void lk_schema_destroy(lk_schema **sp)
{
    if (!sp || !*sp) return;
    lk_schema *s = *sp;
    for (int i = 0; i < s->n; i++)
        field_free(&s->fields[i]);
    free(s->fields);
    free(s);
    *sp = NULL;
}

lk_schema *lk_schema_clone(const lk_schema *s)
{
    lk_schema *c = lk_schema_new();
    if (s->n) {
        c->fields = calloc((size_t)s->n, sizeof(lk_field));
        if (!c->fields) abort();
        for (int i = 0; i < s->n; i++)
            field_copy(&c->fields[i], &s->fields[i]);
        c->n = s->n;
    }
    return c;
}

int lk_schema_nfields(const lk_schema *s)
{
    return s->n;
}

static int field_depth(const lk_field *f)
{
    int d = 0;
    for (int i = 0; i < f->n_children; i++) {
        int k = field_depth(&f->children[i]);
        if (k > d) d = k;
    }
    return d + 1;
}

int lk_schema_depth(const lk_schema *s, const char **name)
{
    int d = 0;
    for (int i = 0; i < s->n; i++) {
        int k = field_depth(&s->fields[i]);
        if (k > d) {
            d = k;
            if (name) *name = s->fields[i].name;
        }
    }
    return d;
}

const lk_field *lk_schema_field(const lk_schema *s, int i)
{
    return i >= 0 && i < s->n ? &s->fields[i] : NULL;
}

lk_field *lk_schema_field_mut(lk_schema *s, int i)
{
    return i >= 0 && i < s->n ? &s->fields[i] : NULL;
}

int lk_schema_find(const lk_schema *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->fields[i].name, name)) return i;
    return -1;
}

const lk_field *lk_schema_find_path(const lk_schema *s, const char *path)
{
    const lk_field *fields = s->fields;
    int n = s->n;
    const lk_field *hit = NULL;
    while (*path) {
        const char *dot = strchr(path, '.');
        size_t len = dot ? (size_t)(dot - path) : strlen(path);
        hit = NULL;
        for (int i = 0; i < n; i++) {
            if (strlen(fields[i].name) == len && !memcmp(fields[i].name, path, len)) {
                hit = &fields[i];
                break;
            }
        }
        if (!hit) return NULL;
        if (!dot) break;
        if (hit->type != LK_TYPE_STRUCT) return NULL;
        fields = hit->children;
        n = hit->n_children;
        path = dot + 1;
    }
    return hit;
}

static void field_init(lk_field *f, const char *name, lk_type type, int nullable)
{
    memset(f, 0, sizeof *f);
    f->name = lk_strdup(name);
    f->type = type;
    f->nullable = nullable;
    if (type == LK_TYPE_DECIMAL) {
        f->precision = 10;
        f->scale = 0;
    }
}

/* A new last field of s, zeroed. */
static lk_field *field_new(lk_schema *s)
{
    lk_field *nf = realloc(s->fields, (size_t)(s->n + 1) * sizeof(lk_field));
    if (!nf) abort();
    s->fields = nf;
    memset(&s->fields[s->n], 0, sizeof(lk_field));
    return &s->fields[s->n++];
}

lk_field *lk_schema_add(lk_schema *s, const char *name, lk_type type, int nullable)
{
    lk_field *f = field_new(s);
    field_init(f, name, type, nullable);
    return f;
}

lk_field *lk_schema_add_copy(lk_schema *s, const lk_field *f)
{
    lk_field *nf = field_new(s);
    field_copy(nf, f);
    return nf;
}

/* Index of the field of s named name in any case, or -1 (Delta's column names are
   case-insensitive: `amount` and `Amount` are one column). */
static int find_nocase(const lk_schema *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (!strcasecmp(s->fields[i].name, name)) return i;
    return -1;
}

/* The index of the child of f named name in any case, or -1. */
static int child_nocase(const lk_field *f, const char *name)
{
    for (int i = 0; i < f->n_children; i++)
        if (!strcasecmp(f->children[i].name, name)) return i;
    return -1;
}

int lk_field_same_type(const lk_field *a, const lk_field *b)
{
    return a->type == b->type &&
           (a->type != LK_TYPE_DECIMAL || (a->precision == b->precision && a->scale == b->scale));
}

/* path (a column's dotted path, "device.version", "items.element.price") and the length it had
   before this level, to put back */
static size_t path_push(lk_buf *path, const char *name)
{
    size_t was = path->len;
    if (was) lk_buf_putc(path, '.');
    lk_buf_puts(path, name);
    return was;
}

/* Into out (zeroed): t (the table's field) and b (the batch's, of the same name in any case)
   as one field whose type holds both: a struct's children in t's order, each of both merged,
   each t has alone kept (nullable: the batch's files lack it, so it reads as null there), each
   b has alone appended in b's order; an array's element and a map's key and value merged.
   top: a top-level column, whose name, nullability and metadata are the batch's and whose own
   type, when it differs, is the batch's as it always was (lk_tables_kept_types refuses that
   before, where it can: docs/decisions.md); below it a type that differs cannot be merged: -1
   with err naming the path. A child keeps the table's name (the one the first writer gave it)
   and is nullable when either side's is. */
static int merge_field(lk_field *out, const lk_field *t, const lk_field *b, int top, lk_buf *path,
                       lk_error *err)
{
    size_t was = path_push(path, top ? b->name : t->name);
    int same = lk_field_same_type(t, b) && t->n_children == b->n_children;
    if (t->type == LK_TYPE_STRUCT && b->type == LK_TYPE_STRUCT) same = 1;
    if (!same) {
        if (top) {
            field_copy(out, b);
            path->len = was;
            return 0;
        }
        lk_buf tt = LK_BUF_INIT, bt = LK_BUF_INIT;
        lk_field_type_ddl(t, &tt);
        lk_field_type_ddl(b, &bt);
        lk_error_set(err, LK_ECONFIG,
                     "column '%s' is %s in the table and %s in the batch: a column's type does "
                     "not change (the table's files could not be read as the other type)",
                     path->data, tt.data, bt.data);
        lk_buf_free(&tt);
        lk_buf_free(&bt);
        return -1;
    }
    field_copy_head(out, top ? b : t); /* whose name and metadata */
    out->nullable = top ? b->nullable : t->nullable || b->nullable;
    int rc = 0;
    if (t->type == LK_TYPE_STRUCT) {
        int n = t->n_children;
        for (int j = 0; j < b->n_children; j++)
            n += child_nocase(t, b->children[j].name) < 0;
        out->children = calloc((size_t)n + 1, sizeof(lk_field));
        if (!out->children) abort();
        for (int i = 0; i < t->n_children && rc == 0; i++) {
            int j = child_nocase(b, t->children[i].name);
            lk_field *c = &out->children[out->n_children++];
            if (j >= 0) {
                rc = merge_field(c, &t->children[i], &b->children[j], 0, path, err);
            } else {
                field_copy(c, &t->children[i]);
                c->nullable = 1;
            }
        }
        for (int j = 0; j < b->n_children && rc == 0; j++)
            if (child_nocase(t, b->children[j].name) < 0)
                field_copy(&out->children[out->n_children++], &b->children[j]);
    } else if (t->n_children) { /* an array's element, a map's key and value */
        out->children = calloc((size_t)t->n_children, sizeof(lk_field));
        if (!out->children) abort();
        for (int i = 0; i < t->n_children && rc == 0; i++)
            rc = merge_field(&out->children[out->n_children++], &t->children[i], &b->children[i], 0,
                             path, err);
    }
    path->len = was;
    return rc;
}

int lk_field_covers(const lk_field *t, const lk_field *o)
{
    if (o->nullable && !t->nullable) return 0;
    if (t->type == LK_TYPE_STRUCT && o->type == LK_TYPE_STRUCT) {
        for (int j = 0; j < o->n_children; j++) {
            int i = child_nocase(t, o->children[j].name);
            if (i < 0 || !lk_field_covers(&t->children[i], &o->children[j])) return 0;
        }
        /* one ours lacks reads as null in our files */
        for (int i = 0; i < t->n_children; i++)
            if (!t->children[i].nullable && child_nocase(o, t->children[i].name) < 0) return 0;
        return 1;
    }
    if (!lk_field_same_type(t, o) || t->n_children != o->n_children) return 0;
    for (int i = 0; i < t->n_children; i++)
        if (!lk_field_covers(&t->children[i], &o->children[i])) return 0;
    return 1;
}

lk_schema *lk_schema_union(const lk_schema *table, const lk_schema *batch, lk_error *err)
{
    if (lk_schema_equal(table, batch)) return lk_schema_clone(batch);
    /* each field of table the batch lacks goes after the batch's field matching the nearest
       field table had before it (-1: first) */
    int *anchor = malloc(sizeof *anchor * (size_t)(table->n + 1));
    if (!anchor) abort();
    int last = -1;
    for (int i = 0; i < table->n; i++) {
        int k = find_nocase(batch, table->fields[i].name);
        anchor[i] = k >= 0 ? -2 : last; /* -2: the batch has it */
        if (k >= 0) last = k;
    }
    lk_schema *out = lk_schema_new();
    lk_buf path = LK_BUF_INIT;
    int rc = 0;
    for (int k = -1; k < batch->n && rc == 0; k++) {
        if (k >= 0) {
            /* a column of both: its children too (a batch whose struct lacks one, or has a new
               one, keeps the table's and adds its own) */
            int i = find_nocase(table, batch->fields[k].name);
            if (i < 0) {
                lk_schema_add_copy(out, &batch->fields[k]);
            } else {
                rc = merge_field(field_new(out), &table->fields[i], &batch->fields[k], 1, &path,
                                 err);
            }
        }
        for (int i = 0; i < table->n && rc == 0; i++)
            if (anchor[i] == k) lk_schema_add_copy(out, &table->fields[i]);
    }
    free(anchor);
    lk_buf_free(&path);
    if (rc) lk_schema_destroy(&out);
    return out;
}

lk_field *lk_field_add_child(lk_field *p, const char *name, lk_type type, int nullable)
{
    lk_field *nf = realloc(p->children, (size_t)(p->n_children + 1) * sizeof(lk_field));
    if (!nf) abort();
    p->children = nf;
    field_init(&p->children[p->n_children], name, type, nullable);
    return &p->children[p->n_children++];
}

void lk_field_copy_children(lk_field *dst, const lk_field *src)
{
    dst->precision = src->precision;
    dst->scale = src->scale;
    for (int i = 0; i < src->n_children; i++) {
        const lk_field *c = &src->children[i];
        lk_field_copy_children(lk_field_add_child(dst, c->name, c->type, c->nullable), c);
    }
}

int lk_field_equal(const lk_field *a, const lk_field *b)
{
    if (strcmp(a->name, b->name) || !lk_field_same_type(a, b) || !a->nullable != !b->nullable ||
        a->n_children != b->n_children)
        return 0;
    for (int i = 0; i < a->n_children; i++)
        if (!lk_field_equal(&a->children[i], &b->children[i])) return 0;
    return 1;
}

int lk_schema_equal(const lk_schema *a, const lk_schema *b)
{
    if (a->n != b->n) return 0;
    for (int i = 0; i < a->n; i++)
        if (!lk_field_equal(&a->fields[i], &b->fields[i])) return 0;
    return 1;
}

static const struct {
    lk_type t;
    const char *name;
} g_names[] = {
    {LK_TYPE_BOOLEAN, "boolean"},     {LK_TYPE_BYTE, "byte"},
    {LK_TYPE_SHORT, "short"},         {LK_TYPE_INTEGER, "integer"},
    {LK_TYPE_LONG, "long"},           {LK_TYPE_FLOAT, "float"},
    {LK_TYPE_DOUBLE, "double"},       {LK_TYPE_STRING, "string"},
    {LK_TYPE_BINARY, "binary"},       {LK_TYPE_DATE, "date"},
    {LK_TYPE_TIMESTAMP, "timestamp"}, {LK_TYPE_TIMESTAMP_NTZ, "timestamp_ntz"},
    {LK_TYPE_DECIMAL, "decimal"},     {LK_TYPE_STRUCT, "struct"},
    {LK_TYPE_ARRAY, "array"},         {LK_TYPE_MAP, "map"},
};

const char *lk_type_name(lk_type t)
{
    for (size_t i = 0; i < sizeof g_names / sizeof g_names[0]; i++)
        if (g_names[i].t == t) return g_names[i].name;
    return "unknown";
}

int lk_type_is_nested(lk_type t)
{
    return t == LK_TYPE_STRUCT || t == LK_TYPE_ARRAY || t == LK_TYPE_MAP;
}

int lk_type_parse(const char *name, lk_type *t, int *precision, int *scale)
{
    int p = 10, s = 0;
    if (!strncmp(name, "decimal", 7)) {
        if (name[7] == '(' && sscanf(name + 8, "%d,%d", &p, &s) != 2) return LK_EFORMAT;
        if (name[7] != '(' && name[7] != '\0') return LK_EFORMAT;
        if (p < 1 || p > 38 || s < 0 || s > p) return LK_EFORMAT;
        *t = LK_TYPE_DECIMAL;
        if (precision) *precision = p;
        if (scale) *scale = s;
        return 0;
    }
    for (size_t i = 0; i < sizeof g_names / sizeof g_names[0]; i++) {
        if (!strcmp(g_names[i].name, name) && !lk_type_is_nested(g_names[i].t) &&
            g_names[i].t != LK_TYPE_DECIMAL) {
            *t = g_names[i].t;
            return 0;
        }
    }
    if (!strcmp(name, "timestamp_ltz")) {
        *t = LK_TYPE_TIMESTAMP;
        return 0;
    }
    return LK_EFORMAT;
}

/* Writes the Spark JSON "type" value of f (a string or a nested object). */
static void type_json(const lk_field *f, lk_buf *out);

static void field_json(const lk_field *f, lk_buf *out)
{
    lk_buf_puts(out, "{\"name\":");
    lk_buf_json_string(out, f->name, strlen(f->name));
    lk_buf_puts(out, ",\"type\":");
    type_json(f, out);
    lk_buf_printf(out, ",\"nullable\":%s,\"metadata\":%s}", f->nullable ? "true" : "false",
                  f->metadata_json ? f->metadata_json : "{}");
}

static void type_json(const lk_field *f, lk_buf *out)
{
    switch (f->type) {
    case LK_TYPE_STRUCT:
        lk_buf_puts(out, "{\"type\":\"struct\",\"fields\":[");
        for (int i = 0; i < f->n_children; i++) {
            if (i) lk_buf_putc(out, ',');
            field_json(&f->children[i], out);
        }
        lk_buf_puts(out, "]}");
        break;
    case LK_TYPE_ARRAY:
        lk_buf_puts(out, "{\"type\":\"array\",\"elementType\":");
        type_json(&f->children[0], out);
        lk_buf_printf(out, ",\"containsNull\":%s}", f->children[0].nullable ? "true" : "false");
        break;
    case LK_TYPE_MAP:
        lk_buf_puts(out, "{\"type\":\"map\",\"keyType\":");
        type_json(&f->children[0], out);
        lk_buf_puts(out, ",\"valueType\":");
        type_json(&f->children[1], out);
        lk_buf_printf(out, ",\"valueContainsNull\":%s}",
                      f->children[1].nullable ? "true" : "false");
        break;
    case LK_TYPE_DECIMAL:
        lk_buf_printf(out, "\"decimal(%d,%d)\"", f->precision, f->scale);
        break;
    default:
        lk_buf_printf(out, "\"%s\"", lk_type_name(f->type));
    }
}

void lk_schema_to_json(const lk_schema *s, lk_buf *out)
{
    lk_buf_puts(out, "{\"type\":\"struct\",\"fields\":[");
    for (int i = 0; i < s->n; i++) {
        if (i) lk_buf_putc(out, ',');
        field_json(&s->fields[i], out);
    }
    lk_buf_puts(out, "]}");
}

static void type_ddl(const lk_field *f, lk_buf *out)
{
    switch (f->type) {
    case LK_TYPE_STRUCT:
        lk_buf_puts(out, "STRUCT<");
        for (int i = 0; i < f->n_children; i++) {
            lk_buf_printf(out, "%s%s: ", i ? ", " : "", f->children[i].name);
            type_ddl(&f->children[i], out);
        }
        lk_buf_putc(out, '>');
        break;
    case LK_TYPE_ARRAY:
        lk_buf_puts(out, "ARRAY<");
        type_ddl(&f->children[0], out);
        lk_buf_putc(out, '>');
        break;
    case LK_TYPE_MAP:
        lk_buf_puts(out, "MAP<");
        type_ddl(&f->children[0], out);
        lk_buf_puts(out, ", ");
        type_ddl(&f->children[1], out);
        lk_buf_putc(out, '>');
        break;
    case LK_TYPE_DECIMAL:
        lk_buf_printf(out, "DECIMAL(%d,%d)", f->precision, f->scale);
        break;
    default: {
        const char *n = lk_type_name(f->type);
        for (; *n; n++)
            lk_buf_putc(out, (char)(*n >= 'a' && *n <= 'z' ? *n - 32 : *n));
    }
    }
}

void lk_field_type_ddl(const lk_field *f, lk_buf *out)
{
    type_ddl(f, out);
}

void lk_schema_to_ddl(const lk_schema *s, lk_buf *out)
{
    for (int i = 0; i < s->n; i++) {
        lk_buf_printf(out, "%s%s ", i ? ", " : "", s->fields[i].name);
        type_ddl(&s->fields[i], out);
    }
}

/* ---- parsing ---- */

static int parse_type(yajl_val v, lk_field *f, lk_error *err);

static int parse_field(yajl_val v, lk_field *f, lk_error *err)
{
    yajl_val name = lk_json_get(v, "name"), type = lk_json_get(v, "type"),
             nullable = lk_json_get(v, "nullable"), md = lk_json_get(v, "metadata");
    if (!YAJL_IS_STRING(name) || !type)
        return lk_error_set(err, LK_EFORMAT, "schema field without name or type");
    memset(f, 0, sizeof *f);
    f->name = lk_strdup(YAJL_GET_STRING(name));
    f->nullable = nullable ? YAJL_IS_TRUE(nullable) : 1;
    if (md && YAJL_IS_OBJECT(md) && md->u.object.len > 0) {
        lk_buf b = LK_BUF_INIT;
        lk_json_text(md, &b);
        f->metadata_json = lk_buf_detach(&b, NULL);
    }
    int rc = parse_type(type, f, err);
    if (rc) lk_error_prefix(err, "field '%s'", f->name);
    return rc;
}

static int parse_type(yajl_val v, lk_field *f, lk_error *err)
{
    if (YAJL_IS_STRING(v)) {
        if (lk_type_parse(YAJL_GET_STRING(v), &f->type, &f->precision, &f->scale))
            return lk_error_set(err, LK_EUNSUPPORTED, "unsupported type '%s'", YAJL_GET_STRING(v));
        return 0;
    }
    yajl_val t = lk_json_get(v, "type");
    if (!YAJL_IS_STRING(t)) return lk_error_set(err, LK_EFORMAT, "type object without \"type\"");
    const char *tn = YAJL_GET_STRING(t);
    if (!strcmp(tn, "struct")) {
        yajl_val fields = lk_json_get(v, "fields");
        if (!YAJL_IS_ARRAY(fields)) return lk_error_set(err, LK_EFORMAT, "struct without fields");
        f->type = LK_TYPE_STRUCT;
        size_t n = fields->u.array.len;
        f->children = calloc(n ? n : 1, sizeof(lk_field));
        if (!f->children) abort();
        for (size_t i = 0; i < n; i++) {
            int rc = parse_field(fields->u.array.values[i], &f->children[i], err);
            f->n_children = (int)i + 1; /* a failed child is freed too */
            if (rc) return rc;
        }
        return 0;
    }
    if (!strcmp(tn, "array")) {
        yajl_val et = lk_json_get(v, "elementType"), cn = lk_json_get(v, "containsNull");
        if (!et) return lk_error_set(err, LK_EFORMAT, "array without elementType");
        f->type = LK_TYPE_ARRAY;
        f->children = calloc(1, sizeof(lk_field));
        if (!f->children) abort();
        f->n_children = 1;
        f->children[0].name = lk_strdup("element");
        f->children[0].nullable = cn ? YAJL_IS_TRUE(cn) : 1;
        return parse_type(et, &f->children[0], err);
    }
    if (!strcmp(tn, "map")) {
        yajl_val kt = lk_json_get(v, "keyType"), vt = lk_json_get(v, "valueType"),
                 vcn = lk_json_get(v, "valueContainsNull");
        if (!kt || !vt) return lk_error_set(err, LK_EFORMAT, "map without keyType/valueType");
        f->type = LK_TYPE_MAP;
        f->children = calloc(2, sizeof(lk_field));
        if (!f->children) abort();
        f->n_children = 2;
        f->children[0].name = lk_strdup("key");
        f->children[0].nullable = 0;
        f->children[1].name = lk_strdup("value");
        f->children[1].nullable = vcn ? YAJL_IS_TRUE(vcn) : 1;
        int rc = parse_type(kt, &f->children[0], err);
        return rc ? rc : parse_type(vt, &f->children[1], err);
    }
    return lk_error_set(err, LK_EUNSUPPORTED, "unsupported type '%s'", tn);
}

int lk_schema_from_json(const char *json, size_t len, lk_schema **out, lk_error *err)
{
    char *copy = malloc(len + 1);
    if (!copy) abort();
    memcpy(copy, json, len);
    copy[len] = '\0';
    char ebuf[256] = "";
    yajl_val root = yajl_tree_parse(copy, ebuf, sizeof ebuf);
    free(copy);
    if (!root) return lk_error_set(err, LK_EFORMAT, "schema is not valid JSON: %s", ebuf);
    lk_field tmp;
    memset(&tmp, 0, sizeof tmp);
    int rc = parse_type(root, &tmp, err);
    yajl_tree_free(root);
    if (rc == 0 && tmp.type != LK_TYPE_STRUCT)
        rc = lk_error_set(err, LK_EFORMAT, "schema root is not a struct");
    if (rc) {
        field_free(&tmp);
        return rc;
    }
    lk_schema *s = lk_schema_new();
    s->fields = tmp.children;
    s->n = tmp.n_children;
    free(tmp.name);
    free(tmp.metadata_json);
    *out = s;
    return 0;
}
