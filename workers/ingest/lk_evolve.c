/* lk_evolve — schema evolution on the ingest side; see lk_evolve.h. */
#include "lk_evolve.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lk_ddl.h"
#include "lk_infer.h"
#include "lk_log.h"
#include "lk_raw.h"
#include "lk_tables.h"

struct lk_evolve {
    const lk_config *cfg;
    lk_state *st;
    lk_evolve_mode mode;
    lk_schema *hints; /* schema_hints (maybe empty) */
    lk_schema *user;  /* `schema:`, or NULL */
    lk_schema *data;  /* data columns of the current raw_events version */
    int version;
    char rescued[128]; /* the rescued data column: the stored schema's, once there is one */
};

lk_evolve *lk_evolve_new(const lk_config *cfg, lk_state *st)
{
    lk_evolve *ev = calloc(1, sizeof *ev);
    if (!ev)
        abort();
    ev->cfg = cfg;
    ev->st = st;
    ev->mode = lk_source_cfg_evolve_mode(cfg);
    snprintf(ev->rescued, sizeof ev->rescued, "%s", cfg->source.rescued_data_column);
    lk_error e;
    /* both were checked when the config was loaded */
    if (lk_ddl_parse(cfg->source.schema_hints, &ev->hints, &e))
        ev->hints = lk_schema_new();
    if (cfg->source.schema_ddl[0] && lk_ddl_parse(cfg->source.schema_ddl, &ev->user, &e))
        ev->user = NULL;
    return ev;
}

void lk_evolve_destroy(lk_evolve **pev)
{
    lk_evolve *ev = *pev;
    if (!ev)
        return;
    lk_schema_destroy(&ev->hints);
    lk_schema_destroy(&ev->user);
    lk_schema_destroy(&ev->data);
    free(ev);
    *pev = NULL;
}

int lk_evolve_has_user_schema(const lk_evolve *ev)
{
    return ev->user != NULL;
}

void lk_evolve_ddl(const lk_evolve *ev, lk_buf *out)
{
    if (ev->data)
        lk_schema_to_ddl(ev->data, out);
}

/* f (NUL-terminated) equals name[0..len): inline, as the key scan calls it for every key */
static inline int name_is(const char *f, const char *name, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (f[i] != name[i] || f[i] == '\0')
            return 0;
    return f[len] == '\0';
}

/* The field named name (exactly, else but for case), or -1. Keys usually
   come in schema order: the field after *hint is tried first. */
static int find_ci_hint(const lk_field *fields, int n, const char *name, size_t len, int *hint)
{
    int g = hint ? *hint + 1 : n;
    if (g < n && name_is(fields[g].name, name, len)) {
        *hint = g;
        return g;
    }
    if (memchr(name, '\0', len))
        return -1; /* no field's name holds a NUL (and strncasecmp would stop at it) */
    int ci = -1;
    for (int i = 0; i < n; i++) {
        const char *f = fields[i].name;
        if (name_is(f, name, len)) {
            if (hint)
                *hint = i;
            return i;
        }
        if (ci < 0 && !strncasecmp(f, name, len) && f[len] == '\0')
            ci = i;
    }
    return ci;
}

static int find_ci(const lk_field *fields, int n, const char *name, size_t len)
{
    return find_ci_hint(fields, n, name, len, NULL);
}

static void copy_into(lk_field *dst, const lk_field *src)
{
    dst->precision = src->precision;
    dst->scale = src->scale;
    for (int i = 0; i < src->n_children; i++)
        copy_into(lk_field_add_child(dst, src->children[i].name, src->children[i].type, 1),
                  &src->children[i]);
}

static void note(lk_buf *added, const char *prefix, const lk_field *f)
{
    if (!added)
        return;
    lk_buf_printf(added, "%s%s%s%s %s", added->len ? ", " : "", prefix, prefix[0] ? "." : "",
                  f->name, f->type == LK_TYPE_DECIMAL ? "DECIMAL" : lk_type_name(f->type));
}

static void add_children(lk_field *dst, const lk_field *src, const char *prefix, lk_buf *added);

/* dst and src are the same field (path prefix): a struct gains the
   fields of src it lacks; an array (of arrays ...) of structs, those of its
   element struct — the element type evolves, nothing is rescued. */
static void merge_field(lk_field *dst, const lk_field *src, const char *prefix, lk_buf *added)
{
    if (dst->type == LK_TYPE_STRUCT && src->type == LK_TYPE_STRUCT)
        add_children(dst, src, prefix, added);
    else if (dst->type == LK_TYPE_ARRAY && src->type == LK_TYPE_ARRAY && dst->n_children == 1 &&
             src->n_children == 1)
        merge_field(&dst->children[0], &src->children[0], prefix, added);
}

/* Appends to dst (a struct) the children of src it lacks, recursively. */
static void add_children(lk_field *dst, const lk_field *src, const char *prefix, lk_buf *added)
{
    for (int i = 0; i < src->n_children; i++) {
        const lk_field *c = &src->children[i];
        int k = find_ci(dst->children, dst->n_children, c->name, strlen(c->name));
        if (k < 0) {
            copy_into(lk_field_add_child(dst, c->name, c->type, 1), c);
            note(added, prefix, c);
        } else {
            char p[512];
            snprintf(p, sizeof p, "%s.%s", prefix, dst->children[k].name);
            merge_field(&dst->children[k], c, p, added);
        }
    }
}

lk_schema *lk_evolve_add_missing(const lk_schema *cur, const lk_schema *add, lk_buf *added)
{
    lk_schema *out = lk_schema_clone(cur);
    for (int i = 0; i < lk_schema_nfields(add); i++) {
        const lk_field *a = lk_schema_field(add, i);
        if (lk_raw_reserved(a->name))
            continue;
        int k = -1, n = lk_schema_nfields(out);
        for (int j = 0; j < n && k < 0; j++)
            if (!strcasecmp(lk_schema_field(out, j)->name, a->name))
                k = j;
        if (k < 0) {
            lk_schema_add_copy(out, a);
            note(added, "", a);
        } else {
            lk_field *f = lk_schema_field_mut(out, k);
            merge_field(f, a, f->name, added);
        }
    }
    return out;
}

lk_schema *lk_evolve_apply_hints(const lk_schema *data, const lk_schema *hints, int all_strings)
{
    lk_schema *out = lk_schema_new();
    int nd = data ? lk_schema_nfields(data) : 0;
    for (int i = 0; i < nd; i++) {
        const lk_field *f = lk_schema_field(data, i);
        const lk_field *h = NULL;
        for (int j = 0; hints && j < lk_schema_nfields(hints) && !h; j++)
            if (!strcasecmp(lk_schema_field(hints, j)->name, f->name))
                h = lk_schema_field(hints, j);
        if (h)
            copy_into(lk_schema_add(out, f->name, h->type, 1), h);
        else if (all_strings)
            lk_schema_add(out, f->name, LK_TYPE_STRING, 1);
        else
            lk_schema_add_copy(out, f);
    }
    lk_schema *res = hints ? lk_evolve_add_missing(out, hints, NULL) : lk_schema_clone(out);
    lk_schema_destroy(&out);
    return res;
}

/* ---- the key scan: tokenises keys, skips values ----

   It runs over every line ingest sends (docs/decisions.md, "Schema evolution happens in ingest"),
   so it is written for speed: a string's first 16 bytes are tested a word at a time (skip_string),
   and the dotted name of a key is only built for the rare new one (the path of enclosing struct
   columns is a chain on the stack until then). */

typedef struct scan_path {
    const char *name; /* the struct column this object is the value of */
    const struct scan_path *up;
} scan_path;

typedef struct scan_out {
    char *key;
    size_t cap;
} scan_out;

/* yajl's whitespace, \v and \f included (the reader parses what yajl accepts) */
static inline int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static inline const char *skip_ws(const char *p, const char *e)
{
    while (p < e && is_ws(*p))
        p++;
    return p;
}

/* The first of the 8 bytes at p that is '"' or '\\', or 8 when neither is (the lowest flagged
   byte is exact: borrows only run upwards; little-endian loads, as lk_json_reader's plain8). */
static inline int quote_or_backslash8(const char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    uint64_t m = (((q - ones) & ~q) | ((b - ones) & ~b)) & high;
    return m ? __builtin_ctzll(m) >> 3 : 8;
}

/* Past the closing quote of the string whose opening quote is at p, or NULL when it is not
   closed before e. *escaped is set when the string holds a backslash. Keys and most values are
   short: their first 16 bytes are tested a word at a time, with no call; a longer string goes
   on with memchr for the quote (libc's vector code wins past a few words) and counts the
   backslashes before it (an odd number escapes it). */
static const char *skip_string(const char *p, const char *e, int *escaped)
{
    p++;
    for (int w = 0; w < 2 && e - p >= 8; w++) {
        int k = quote_or_backslash8(p);
        if (k == 8) {
            p += 8;
            continue;
        }
        p += k;
        if (*p == '"')
            return p + 1;
        break; /* a backslash: the long way from here */
    }
    while (p < e) {
        const char *q = memchr(p, '"', (size_t)(e - p));
        if (!q)
            return NULL;
        const char *b = q;
        while (b > p && b[-1] == '\\')
            b--;
        if (b != q || memchr(p, '\\', (size_t)(b - p)))
            *escaped = 1;
        if (((q - b) & 1) == 0)
            return q + 1;
        p = q + 1;
    }
    return NULL;
}

static const char *skip_value(const char *p, const char *e)
{
    int esc = 0;
    if (p >= e)
        return NULL;
    if (*p == '"')
        return skip_string(p, e, &esc);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (p < e) {
            if (*p == '"') {
                if (!(p = skip_string(p, e, &esc)))
                    return NULL;
                continue;
            }
            if (*p == '{' || *p == '[')
                depth++;
            else if ((*p == '}' || *p == ']') && --depth == 0)
                return p + 1;
            p++;
        }
        return NULL;
    }
    while (p < e && *p != ',' && *p != '}' && *p != ']' && !is_ws(*p))
        p++;
    return p;
}

static int reserved_n(const char *k, size_t n, const char *rescued)
{
    if (rescued && strlen(rescued) == n && !memcmp(rescued, k, n))
        return 1;
    char nm[32];
    if (n >= sizeof nm)
        return 0;
    memcpy(nm, k, n);
    nm[n] = '\0';
    return lk_raw_reserved(nm);
}

/* out->key = the dotted path of the struct columns above, then the key k. */
static void name_key(scan_out *out, const scan_path *path, const char *k, size_t kn)
{
    const char *names[64];
    int depth = 0;
    for (const scan_path *s = path; s && depth < 64; s = s->up)
        names[depth++] = s->name;
    size_t at = 0;
    out->key[0] = '\0';
    while (depth-- > 0)
        at += (size_t)snprintf(out->key + at, at < out->cap ? out->cap - at : 0, "%s.", names[depth]);
    if (at < out->cap)
        snprintf(out->key + at, out->cap - at, "%.*s", (int)kn, k);
}

static int scan_obj(const lk_field *fields, int n, const char *top, const char **pp, const char *e,
                    const scan_path *path, scan_out *out);

/* The fields an object has named so far: a bit each for the first 64, a short list for the
   rest (past it a repeat goes unnoticed: its value is scanned, as before this set). */
typedef struct seen_set {
    uint64_t lo;
    int nhi;
    int hi[16];
} seen_set;

/* 1 when field k was named before in this object; else notes it and returns 0. */
static int seen_before(seen_set *s, int k)
{
    if (k < 64) {
        uint64_t bit = 1ull << k;
        int was = (s->lo & bit) != 0;
        s->lo |= bit;
        return was;
    }
    for (int i = 0; i < s->nhi; i++)
        if (s->hi[i] == k)
            return 1;
    if (s->nhi < (int)(sizeof s->hi / sizeof *s->hi))
        s->hi[s->nhi++] = k;
    return 0;
}

/* Scans the array at *pp whose elements are elem: the objects of an
   array of structs (or of arrays of them) are scanned like a struct's. */
static int scan_arr(const lk_field *elem, const char **pp, const char *e, const scan_path *path,
                    scan_out *out)
{
    const char *p = skip_ws(*pp, e);
    if (p >= e || *p != '[')
        return -1;
    p = skip_ws(p + 1, e);
    if (p < e && *p == ']') {
        *pp = p + 1;
        return 0;
    }
    for (;;) {
        p = skip_ws(p, e);
        int r = 0;
        if (p < e && *p == '{' && elem->type == LK_TYPE_STRUCT)
            r = scan_obj(elem->children, elem->n_children, NULL, &p, e, path, out);
        else if (p < e && *p == '[' && elem->type == LK_TYPE_ARRAY && elem->n_children == 1)
            r = scan_arr(&elem->children[0], &p, e, path, out);
        else if (!(p = skip_value(p, e)))
            return -1;
        if (r)
            return r;
        p = skip_ws(p, e);
        if (p < e && *p == ',') {
            p++;
            continue;
        }
        if (p < e && *p == ']') {
            *pp = p + 1;
            return 0;
        }
        return -1;
    }
}

/* Scans the object at *pp against fields (n of them; top = top level).
   1: a new key (its dotted name in out->key); 0: none; -1: not well-formed. */
static int scan_obj(const lk_field *fields, int n, const char *top, const char **pp, const char *e,
                    const scan_path *path, scan_out *out)
{
    const char *p = skip_ws(*pp, e);
    if (p >= e || *p != '{')
        return -1;
    p = skip_ws(p + 1, e);
    if (p < e && *p == '}') {
        *pp = p + 1;
        return 0;
    }
    int hint = -1;
    seen_set seen = {0, 0, {0}};
    for (;;) {
        p = skip_ws(p, e);
        if (p >= e || *p != '"')
            return -1;
        int escaped = 0; /* such keys are rescued, never columns */
        const char *k0 = p + 1, *k1 = skip_string(p, e, &escaped);
        if (!k1)
            return -1;
        size_t kn = (size_t)(k1 - 1 - k0);
        p = skip_ws(k1, e);
        if (p >= e || *p != ':')
            return -1;
        p = skip_ws(p + 1, e);
        int k = escaped ? -2 : find_ci_hint(fields, n, k0, kn, &hint);
        if (k == -1 && !(top && reserved_n(k0, kn, top))) {
            name_key(out, path, k0, kn);
            return 1;
        }
        /* The reader fills a column from the first key that names it exactly; a key equal
           but for case, and a repeated key, are rescued whole: nothing inside them is a new
           column. find_ci_hint moves the hint only on an exact match. */
        if (k >= 0 && (hint != k || seen_before(&seen, k)))
            k = -2;
        if (k >= 0 && fields[k].type == LK_TYPE_STRUCT && p < e && *p == '{') {
            scan_path sub = {fields[k].name, path};
            int r = scan_obj(fields[k].children, fields[k].n_children, NULL, &p, e, &sub, out);
            if (r)
                return r;
        } else if (k >= 0 && fields[k].type == LK_TYPE_ARRAY && fields[k].n_children == 1 &&
                   p < e && *p == '[') {
            scan_path sub = {fields[k].name, path};
            int r = scan_arr(&fields[k].children[0], &p, e, &sub, out);
            if (r)
                return r;
        } else if (!(p = skip_value(p, e))) {
            return -1;
        }
        p = skip_ws(p, e);
        if (p < e && *p == ',') {
            p++;
            continue;
        }
        if (p < e && *p == '}') {
            *pp = p + 1;
            return 0;
        }
        return -1;
    }
}

int lk_evolve_scan_line(const lk_schema *data, const char *rescued, const char *line, size_t len,
                        char *key, size_t cap)
{
    const char *p = line;
    int n = lk_schema_nfields(data);
    const lk_field *fields = n ? lk_schema_field(data, 0) : NULL;
    scan_out out = {key, cap};
    return scan_obj(fields, n, rescued ? rescued : "", &p, line + len, NULL, &out) == 1;
}

/* ---- state ---- */

static int store(lk_evolve *ev, lk_schema *data, int *version, lk_error *err)
{
    lk_schema *raw = lk_raw_schema_opt(data, ev->rescued);
    int rc = lk_state_schema_put(ev->st, LK_TABLE_RAW, raw, version, err);
    if (rc) {
        lk_schema_destroy(&raw);
        lk_schema_destroy(&data);
        return rc;
    }
    /* what was stored, without reserved names the input may have used */
    lk_schema_destroy(&ev->data);
    ev->data = lk_raw_data_schema(raw);
    lk_schema_destroy(&raw);
    lk_schema_destroy(&data);
    ev->version = *version;
    return 0;
}

int lk_evolve_load(lk_evolve *ev, int *version, lk_error *err)
{
    lk_schema *raw = NULL;
    if (lk_state_schema_get(ev->st, LK_TABLE_RAW, &raw, version, err))
        return -1;
    ev->version = *version;
    if (!raw)
        return 0;
    lk_schema_destroy(&ev->data);
    ev->data = lk_raw_data_schema(raw);
    /* renaming the column later would drop it from the table: the stored name stays */
    int ri = lk_raw_rescued_index(raw);
    const char *stored = ri >= 0 ? lk_schema_field(raw, ri)->name : "";
    if (strcmp(stored, ev->rescued))
        LK_WARN("rescued_data_column is '%s' but raw_events has '%s' since its first version: "
                "the table keeps '%s'",
                ev->rescued, stored, stored);
    snprintf(ev->rescued, sizeof ev->rescued, "%s", stored);
    lk_schema_destroy(&raw);
    /* a hint retyping a column raw_events has is not applied (add_missing adds only the ones it
       lacks); the supervisor says so, once at each start (lk_source_cfg_hints_not_applied):
       ingest may run more than once in a start (a restart after a crash or a kill) */
    lk_buf added = LK_BUF_INIT;
    lk_schema *d = lk_evolve_add_missing(ev->data, ev->hints, &added);
    if (ev->user) {
        lk_schema *d2 = lk_evolve_add_missing(d, ev->user, &added);
        lk_schema_destroy(&d);
        d = d2;
    }
    int rc = 0;
    if (added.len) {
        rc = store(ev, d, version, err);
        if (rc == 0)
            LK_INFO("schema_hints/schema add column(s) to raw_events: version=%d added: %s",
                    *version, added.data);
    } else {
        lk_schema_destroy(&d);
    }
    lk_buf_free(&added);
    return rc;
}

int lk_evolve_initial(lk_evolve *ev, const lk_schema *inferred, int *version, lk_error *err)
{
    lk_schema *d;
    if (ev->user)
        d = lk_evolve_apply_hints(ev->user, ev->hints, 0);
    else {
        /* keys equal but for case: the first seen is the column, the
           others are rescued (Delta column names are case-insensitive) */
        lk_schema *empty = lk_schema_new();
        lk_schema *dedup = inferred ? lk_evolve_add_missing(empty, inferred, NULL) : NULL;
        d = lk_evolve_apply_hints(dedup, ev->hints, !ev->cfg->source.infer_column_types);
        lk_schema_destroy(&dedup);
        lk_schema_destroy(&empty);
    }
    int rc = store(ev, d, version, err);
    if (rc == 0) {
        /* the transforms are compiled against the first schema before any
           batch is planned (as Auto Loader infers before the stream starts) */
        lk_schema *raw = lk_raw_schema_opt(ev->data, ev->rescued);
        rc = lk_tables_check(ev->cfg, raw, err);
        lk_schema_destroy(&raw);
        if (rc) err->code = LK_ECONFIG;
    }
    return rc;
}

/* Under add_new_columns: stores the next version with the columns of found
   (inferred types; hinted types win) that the schema lacks, if any. */
/* Fields of s, nested ones included. */
static int count_fields(const lk_field *f, int n)
{
    int k = n;
    for (int i = 0; i < n; i++)
        k += count_fields(f[i].children, f[i].n_children);
    return k;
}

static int add_found(lk_evolve *ev, const lk_schema *found, const char *file, int64_t first_line,
                     int64_t last_line, int *version, lk_error *err)
{
    lk_schema *typed = lk_evolve_apply_hints(found, NULL, !ev->cfg->source.infer_column_types);
    /* hinted types win for new columns too */
    lk_schema *hinted = lk_schema_new();
    for (int i = 0; i < lk_schema_nfields(typed); i++) {
        const lk_field *f = lk_schema_field(typed, i);
        if (!strcmp(f->name, ev->rescued))
            continue; /* never a data column */
        int h = -1;
        for (int j = 0; j < lk_schema_nfields(ev->hints) && h < 0; j++)
            if (!strcasecmp(lk_schema_field(ev->hints, j)->name, f->name))
                h = j;
        lk_schema_add_copy(hinted, h >= 0 ? lk_schema_field(ev->hints, h) : f);
    }
    lk_schema_destroy(&typed);
    lk_buf added = LK_BUF_INIT;
    lk_schema *d = lk_evolve_add_missing(ev->data, hinted, &added);
    lk_schema_destroy(&hinted);
    int rc = 0;
    int width = lk_schema_nfields(d) ? count_fields(lk_schema_field(d, 0), lk_schema_nfields(d)) : 0;
    if (added.len && width > LK_EVOLVE_MAX_FIELDS) {
        /* a producer that sends ever new keys would grow every batch, file and checkpoint
           without bound: past the limit new keys stay in _rescued_data (nothing is lost) */
        LK_WARN("schema change refused: raw_events would have %d fields, more than %d; the new "
                "keys (%.200s) stay in _rescued_data (file=%s lines %lld-%lld)",
                width, LK_EVOLVE_MAX_FIELDS, added.data, file, (long long)first_line,
                (long long)last_line);
        lk_buf_reset(&added);
    }
    if (added.len) {
        rc = store(ev, d, version, err);
        if (rc == 0)
            LK_INFO("schema change: raw_events version=%d adds %s (first seen in file=%s "
                    "lines %lld-%lld)",
                    *version, added.data, file, (long long)first_line, (long long)last_line);
    } else {
        lk_schema_destroy(&d);
    }
    lk_buf_free(&added);
    return rc;
}

int lk_evolve_chunk(lk_evolve *ev, const char *data, size_t len, const char *file,
                    int64_t first_line, int *version, lk_error *err)
{
    if (!ev->data || ev->mode == LK_EVOLVE_RESCUE || ev->mode == LK_EVOLVE_NONE)
        return 0;
    lk_infer *inf = NULL;
    int64_t line = first_line;
    char key[512];
    for (size_t i = 0; i < len; line++) {
        const char *s = data + i;
        const char *nl = memchr(s, '\n', len - i);
        size_t n = nl ? (size_t)(nl - s) : len - i;
        i += n + (nl ? 1 : 0);
        if (!lk_evolve_scan_line(ev->data, ev->rescued, s, n, key,
                                 sizeof key))
            continue;
        if (ev->mode == LK_EVOLVE_FAIL_ON_NEW_COLUMNS) {
            lk_infer_destroy(&inf);
            return lk_error_set(err, LK_EFORMAT,
                                "new column '%s' at file=%s line=%lld "
                                "(schema_evolution_mode: fail_on_new_columns; add it to "
                                "schema_hints and restart to go on from the same batch)",
                                key, file, (long long)line);
        }
        if (!inf)
            inf = lk_infer_new();
        lk_infer_line(inf, s, n);
    }
    if (!inf)
        return 0;
    lk_schema *found = lk_infer_result(inf);
    lk_infer_destroy(&inf);
    if (!found)
        return 0;
    int rc = add_found(ev, found, file, first_line, line - 1, version, err);
    lk_schema_destroy(&found);
    return rc;
}

int lk_evolve_sample(const lk_evolve *ev, const char *data, size_t len, int lines)
{
    if (!ev->data || ev->mode == LK_EVOLVE_RESCUE || ev->mode == LK_EVOLVE_NONE || !len)
        return 0;
    char key[512];
    size_t i = 0;
    for (int k = 0; k < lines && i < len; k++) { /* the head */
        const char *s = data + i, *nl = memchr(s, '\n', len - i);
        size_t n = nl ? (size_t)(nl - s) : len - i;
        i += n + (nl ? 1 : 0);
        if (lk_evolve_scan_line(ev->data, ev->rescued, s, n, key, sizeof key))
            return 1;
    }
    size_t end = len; /* the tail, from the last line back, down to where the head ended */
    if (data[end - 1] == '\n')
        end--;
    for (int k = 0; k < lines && end > i; k++) {
        const char *s = memrchr(data + i, '\n', end - i);
        size_t from = s ? (size_t)(s - data) + 1 : i;
        if (lk_evolve_scan_line(ev->data, ev->rescued, data + from, end - from, key, sizeof key))
            return 1;
        end = from ? from - 1 : 0;
    }
    return 0;
}

int lk_evolve_new_names(const lk_evolve *ev, const char *names, int n, char *first, size_t cap)
{
    if (!ev->data || ev->mode == LK_EVOLVE_RESCUE || ev->mode == LK_EVOLVE_NONE)
        return 0;
    int nd = lk_schema_nfields(ev->data), k = 0;
    const lk_field *fields = nd ? lk_schema_field(ev->data, 0) : NULL;
    for (int i = 0; i < n; i++, names += strlen(names) + 1) {
        size_t len = strlen(names);
        if (reserved_n(names, len, ev->rescued) || find_ci(fields, nd, names, len) >= 0)
            continue;
        if (!k++ && first)
            snprintf(first, cap, "%s", names);
    }
    return k;
}

int lk_evolve_columns(lk_evolve *ev, const lk_schema *found, const char *file, int64_t line,
                      int *version, lk_error *err)
{
    if (!ev->data || !found || ev->mode == LK_EVOLVE_RESCUE || ev->mode == LK_EVOLVE_NONE)
        return 0;
    if (ev->mode == LK_EVOLVE_FAIL_ON_NEW_COLUMNS) {
        lk_buf added = LK_BUF_INIT;
        lk_schema *d = lk_evolve_add_missing(ev->data, found, &added);
        lk_schema_destroy(&d);
        int rc = 0;
        if (added.len) {
            char *sp = strchr(added.data, ' '); /* "name TYPE, ...": the first name */
            rc = lk_error_set(err, LK_EFORMAT,
                              "new column '%.*s' at file=%s line=%lld "
                              "(schema_evolution_mode: fail_on_new_columns; add it to "
                              "schema_hints and restart to go on from the same batch)",
                              sp ? (int)(sp - added.data) : (int)added.len, added.data, file,
                              (long long)line);
        }
        lk_buf_free(&added);
        return rc;
    }
    return add_found(ev, found, file, line, line, version, err);
}
