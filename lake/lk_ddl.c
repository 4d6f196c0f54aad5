/*
 * lk_ddl — a recursive-descent parser for Spark DDL column lists; see
 * lk_ddl.h. Positions in errors are 1-based character offsets into the
 * text, so that a config error can point at the spot.
 */
#include "lk_ddl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct parser {
    const char *s;
    size_t i;
    lk_error *err;
} parser;

static void ws(parser *p)
{
    while (isspace((unsigned char)p->s[p->i]))
        p->i++;
}

static int fail(parser *p, const char *what)
{
    const char *at = p->s + p->i;
    int n = 0;
    while (at[n] && n < 16 && !isspace((unsigned char)at[n]))
        n++;
    if (!*at)
        return lk_error_set(p->err, LK_EFORMAT, "DDL at position %zu: expected %s, got the end",
                            p->i + 1, what);
    return lk_error_set(p->err, LK_EFORMAT, "DDL at position %zu: expected %s, got '%.*s'",
                        p->i + 1, what, n, at);
}

static int accept(parser *p, char c)
{
    ws(p);
    if (p->s[p->i] == c) {
        p->i++;
        return 1;
    }
    return 0;
}

/* An identifier or a `quoted` name into out. */
static int name(parser *p, char *out, size_t cap, const char *what)
{
    ws(p);
    size_t n = 0;
    if (p->s[p->i] == '`') {
        size_t j = p->i + 1;
        for (;;) {
            if (!p->s[j])
                return fail(p, "a closing `");
            if (p->s[j] == '`') {
                if (p->s[j + 1] != '`')
                    break;
                j++; /* `` is a literal back-quote */
            }
            if (n + 1 >= cap)
                return fail(p, "a shorter name");
            out[n++] = p->s[j++];
        }
        if (n == 0)
            return fail(p, what);
        out[n] = '\0';
        p->i = j + 1;
        return 0;
    }
    while (isalnum((unsigned char)p->s[p->i + n]) || p->s[p->i + n] == '_') {
        if (n + 1 >= cap)
            return fail(p, "a shorter name");
        out[n] = p->s[p->i + n];
        n++;
    }
    if (n == 0)
        return fail(p, what);
    out[n] = '\0';
    p->i += n;
    return 0;
}

static int keyword(parser *p, const char *kw)
{
    ws(p);
    size_t n = strlen(kw);
    if (!strncasecmp(p->s + p->i, kw, n) && !isalnum((unsigned char)p->s[p->i + n]) &&
        p->s[p->i + n] != '_') {
        p->i += n;
        return 1;
    }
    return 0;
}

static int integer(parser *p, int *v)
{
    ws(p);
    if (!isdigit((unsigned char)p->s[p->i]))
        return fail(p, "a number");
    long x = 0;
    while (isdigit((unsigned char)p->s[p->i]) && x < 100000)
        x = x * 10 + (p->s[p->i++] - '0');
    *v = (int)x;
    return 0;
}

static const struct {
    const char *name;
    lk_type t;
} g_prims[] = {
    {"string", LK_TYPE_STRING},   {"boolean", LK_TYPE_BOOLEAN}, {"bool", LK_TYPE_BOOLEAN},
    {"tinyint", LK_TYPE_BYTE},    {"byte", LK_TYPE_BYTE},       {"smallint", LK_TYPE_SHORT},
    {"short", LK_TYPE_SHORT},     {"int", LK_TYPE_INTEGER},     {"integer", LK_TYPE_INTEGER},
    {"bigint", LK_TYPE_LONG},     {"long", LK_TYPE_LONG},       {"float", LK_TYPE_FLOAT},
    {"real", LK_TYPE_FLOAT},      {"double", LK_TYPE_DOUBLE},   {"date", LK_TYPE_DATE},
    {"timestamp_ntz", LK_TYPE_TIMESTAMP_NTZ}, {"timestamp_ltz", LK_TYPE_TIMESTAMP},
    {"timestamp", LK_TYPE_TIMESTAMP}, {"binary", LK_TYPE_BINARY},
};

static int column(parser *p, lk_schema *s, lk_field *parent, int in_struct);

/* Parses a type into f (whose name is set; children appended). */
static int type(parser *p, lk_field *f)
{
    ws(p);
    size_t at = p->i;
    char word[64];
    if (name(p, word, sizeof word, "a type name"))
        return -1;
    if (!strcasecmp(word, "struct")) {
        f->type = LK_TYPE_STRUCT;
        if (!accept(p, '<'))
            return fail(p, "'<' after STRUCT");
        if (accept(p, '>'))
            return 0;
        do {
            if (column(p, NULL, f, 1))
                return -1;
        } while (accept(p, ','));
        if (!accept(p, '>'))
            return fail(p, "',' or '>' in STRUCT<...>");
        return 0;
    }
    if (!strcasecmp(word, "array")) {
        f->type = LK_TYPE_ARRAY;
        if (!accept(p, '<'))
            return fail(p, "'<' after ARRAY");
        lk_field *e = lk_field_add_child(f, "element", LK_TYPE_STRING, 1);
        if (type(p, e))
            return -1;
        if (!accept(p, '>'))
            return fail(p, "'>' closing ARRAY<...>");
        return 0;
    }
    if (!strcasecmp(word, "map")) {
        f->type = LK_TYPE_MAP;
        if (!accept(p, '<'))
            return fail(p, "'<' after MAP");
        lk_field *k = lk_field_add_child(f, "key", LK_TYPE_STRING, 0);
        if (type(p, k))
            return -1;
        if (!accept(p, ','))
            return fail(p, "',' between MAP's key and value types");
        lk_field *v = lk_field_add_child(f, "value", LK_TYPE_STRING, 1);
        if (type(p, v))
            return -1;
        if (!accept(p, '>'))
            return fail(p, "'>' closing MAP<...>");
        return 0;
    }
    if (!strcasecmp(word, "decimal") || !strcasecmp(word, "dec") || !strcasecmp(word, "numeric")) {
        int prec = 10, scale = 0;
        if (accept(p, '(')) {
            if (integer(p, &prec))
                return -1;
            if (accept(p, ',') && integer(p, &scale))
                return -1;
            if (!accept(p, ')'))
                return fail(p, "')' closing DECIMAL(p,s)");
        }
        if (prec < 1 || prec > 38 || scale > prec) {
            p->i = at;
            return lk_error_set(p->err, LK_EFORMAT,
                                "DDL at position %zu: DECIMAL(%d,%d) is out of range "
                                "(1 <= precision <= 38, scale <= precision)",
                                at + 1, prec, scale);
        }
        f->type = LK_TYPE_DECIMAL;
        f->precision = prec;
        f->scale = scale;
        return 0;
    }
    if (!strcasecmp(word, "varchar") || !strcasecmp(word, "char")) {
        int n;
        if (!accept(p, '(') || integer(p, &n) || !accept(p, ')'))
            return fail(p, "(length) after VARCHAR/CHAR");
        f->type = LK_TYPE_STRING;
        return 0;
    }
    for (size_t i = 0; i < sizeof g_prims / sizeof g_prims[0]; i++) {
        if (!strcasecmp(word, g_prims[i].name)) {
            f->type = g_prims[i].t;
            return 0;
        }
    }
    p->i = at;
    return fail(p, "a type name (STRING, LONG, DOUBLE, DECIMAL(p,s), TIMESTAMP, STRUCT<..>, ...)");
}

/* name [:] type [NOT NULL] [COMMENT '...'], appended to s or parent. */
static int column(parser *p, lk_schema *s, lk_field *parent, int in_struct)
{
    char nm[256];
    if (name(p, nm, sizeof nm, "a column name"))
        return -1;
    if (in_struct)
        accept(p, ':');
    lk_field *f = parent ? lk_field_add_child(parent, nm, LK_TYPE_STRING, 1)
                         : lk_schema_add(s, nm, LK_TYPE_STRING, 1);
    if (type(p, f))
        return -1;
    if (keyword(p, "not")) {
        if (!keyword(p, "null"))
            return fail(p, "NULL after NOT");
        f->nullable = 0;
    }
    if (keyword(p, "comment")) {
        ws(p);
        char q = p->s[p->i];
        if (q != '\'' && q != '"')
            return fail(p, "a quoted comment");
        const char *end = strchr(p->s + p->i + 1, q);
        if (!end)
            return fail(p, "the comment's closing quote");
        p->i = (size_t)(end - p->s) + 1;
    }
    return 0;
}

int lk_ddl_parse(const char *text, lk_schema **out, lk_error *err)
{
    parser P = {text ? text : "", 0, err}, *p = &P;
    lk_schema *s = lk_schema_new();
    *out = NULL;
    ws(p);
    if (p->s[p->i]) {
        do {
            if (column(p, s, NULL, 0)) {
                lk_schema_destroy(&s);
                return LK_EFORMAT;
            }
            char *dup = NULL;
            int n = lk_schema_nfields(s);
            const char *last = lk_schema_field(s, n - 1)->name;
            for (int i = 0; i < n - 1 && !dup; i++)
                if (!strcasecmp(lk_schema_field(s, i)->name, last))
                    dup = (char *)last;
            if (dup) {
                lk_error_set(err, LK_EFORMAT, "DDL at position %zu: column '%s' appears twice",
                             p->i, dup);
                lk_schema_destroy(&s);
                return LK_EFORMAT;
            }
        } while (accept(p, ','));
        ws(p);
        if (p->s[p->i]) {
            fail(p, "',' or the end");
            lk_schema_destroy(&s);
            return LK_EFORMAT;
        }
    }
    *out = s;
    return 0;
}

int lk_ddl_parse_struct(const char *text, lk_field *f, lk_error *err)
{
    parser P = {text ? text : "", 0, err}, *p = &P;
    f->type = LK_TYPE_STRUCT;
    ws(p);
    size_t at = p->i;
    if (keyword(p, "struct") && accept(p, '<')) {
        p->i = at;
        if (type(p, f))
            return LK_EFORMAT;
    } else {
        p->i = at;
        if (p->s[p->i]) {
            do {
                if (column(p, NULL, f, 1))
                    return LK_EFORMAT;
            } while (accept(p, ','));
        }
    }
    ws(p);
    if (p->s[p->i])
        return fail(p, "',' or the end");
    return 0;
}
