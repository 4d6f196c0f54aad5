/* lk_sql_parse — recursive-descent parser of Spark SQL expressions; see lk_sql_parse.h. */
#include "lk_sql_parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lk_sql_cast.h"
#include "lk_sql_lex.h"

#define MAX_DEPTH 200 /* nesting bound: a hostile expression cannot exhaust the stack */

typedef struct block {
    struct block *next;
} block;

struct lk_sql_ast {
    char *text;
    block *blocks;
    lk_sql_node *root;
    char *alias;
};

typedef struct parser {
    lk_sql_ast *ast;
    const char *text;
    lk_sql_token *t;
    int n, i, depth;
    lk_error *err;
} parser;

static void *arena(lk_sql_ast *a, size_t n)
{
    block *b = calloc(1, sizeof(block) + n);
    if (!b) abort();
    b->next = a->blocks;
    a->blocks = b;
    return b + 1;
}

lk_sql_node *lk_sql_ast_node(lk_sql_ast *a, lk_sql_node_kind kind, int pos)
{
    lk_sql_node *n = arena(a, sizeof *n);
    n->kind = kind;
    n->pos = pos;
    return n;
}

char *lk_sql_ast_strdup(lk_sql_ast *a, const char *s)
{
    size_t n = strlen(s);
    char *r = arena(a, n + 1);
    memcpy(r, s, n + 1);
    return r;
}

lk_sql_node **lk_sql_ast_args(lk_sql_ast *a, int n)
{
    return arena(a, sizeof(lk_sql_node *) * (size_t)(n ? n : 1));
}

const lk_sql_node *lk_sql_node_value(const lk_sql_node *n)
{
    while (n->kind == LK_SQL_CAST && !n->name)
        n = n->args[0];
    return n;
}

int lk_sql_column_of(const char *text, int pos)
{
    int col = 1;
    for (int i = 0; i < pos && text[i]; i++)
        col += ((unsigned char)text[i] & 0xC0) != 0x80;
    return col;
}

static int fail(parser *p, int pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(parser *p, int pos, const char *fmt, ...)
{
    char what[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (p->err && p->err->code == 0)
        lk_error_set(p->err, LK_EFORMAT, "position %d: %s", lk_sql_column_of(p->text, pos), what);
    return -1;
}

static const lk_sql_token *peek(parser *p)
{
    return &p->t[p->i];
}

static int is_kw(parser *p, const lk_sql_token *t, const char *kw)
{
    return t->kind == LK_TOK_IDENT && (int)strlen(kw) == t->len &&
           !strncasecmp(p->text + t->pos, kw, (size_t)t->len);
}

static int accept_kw(parser *p, const char *kw)
{
    if (is_kw(p, peek(p), kw)) {
        p->i++;
        return 1;
    }
    return 0;
}

static int is_op(const lk_sql_token *t, const char *op)
{
    return t->kind == LK_TOK_OP && !strcmp(t->op, op);
}

static int accept_op(parser *p, const char *op)
{
    if (is_op(peek(p), op)) {
        p->i++;
        return 1;
    }
    return 0;
}

/* A description of the token for "expected X, got Y". */
static void tok_text(parser *p, const lk_sql_token *t, char *out, size_t cap)
{
    if (t->kind == LK_TOK_EOF)
        snprintf(out, cap, "the end of the expression");
    else
        snprintf(out, cap, "'%.*s'", t->len > 40 ? 40 : t->len, p->text + t->pos);
}

static int expect_op(parser *p, const char *op)
{
    if (accept_op(p, op)) return 0;
    char got[64];
    tok_text(p, peek(p), got, sizeof got);
    return fail(p, peek(p)->pos, "expected '%s', got %s", op, got);
}

/* The keyword kw next, or an error "expected WHAT, got ..." (what: "FROM in TRIM"). */
static int expect_kw(parser *p, const char *kw, const char *what)
{
    if (accept_kw(p, kw)) return 0;
    char got[64];
    tok_text(p, peek(p), got, sizeof got);
    return fail(p, peek(p)->pos, "expected %s, got %s", what, got);
}

static lk_sql_node *call(parser *p, const char *name, int pos, int nargs)
{
    lk_sql_node *n = lk_sql_ast_node(p->ast, LK_SQL_CALL, pos);
    n->name = lk_sql_ast_strdup(p->ast, name);
    n->nargs = nargs;
    n->args = lk_sql_ast_args(p->ast, nargs);
    return n;
}

static lk_sql_node *call1(parser *p, const char *name, int pos, lk_sql_node *a)
{
    lk_sql_node *n = call(p, name, pos, 1);
    n->args[0] = a;
    return n;
}

static lk_sql_node *call2(parser *p, const char *name, int pos, lk_sql_node *a, lk_sql_node *b)
{
    lk_sql_node *n = call(p, name, pos, 2);
    n->args[0] = a;
    n->args[1] = b;
    return n;
}

static lk_sql_node *expr(parser *p);

/* The arguments of name(...) after its '(' up to and with the ')' (first: one already parsed,
   IN's left side; distinct_ok: f(DISTINCT x)): a call node, or NULL. */
static lk_sql_node *call_args(parser *p, const char *name, int pos, lk_sql_node *first,
                              int distinct_ok)
{
    int cap = 8, n = 0, distinct = 0;
    lk_sql_node **args = malloc(sizeof *args * (size_t)cap);
    if (!args) abort();
    if (first) args[n++] = first;
    if (first || !is_op(peek(p), ")")) {
        if (distinct_ok && accept_kw(p, "distinct")) distinct = 1;
        do {
            lk_sql_node *e = expr(p);
            if (!e) {
                free(args);
                return NULL;
            }
            if (n == cap) {
                cap *= 2;
                args = realloc(args, sizeof *args * (size_t)cap);
                if (!args) abort();
            }
            args[n++] = e;
        } while (accept_op(p, ","));
    }
    if (expect_op(p, ")")) {
        free(args);
        return NULL;
    }
    lk_sql_node *c = call(p, name, pos, n);
    memcpy(c->args, args, sizeof *args * (size_t)n);
    c->distinct = distinct;
    free(args);
    return c;
}

/* Words that end an expression or are operators: never a column name here. */
static int reserved(parser *p, const lk_sql_token *t)
{
    static const char *const kw[] = {"and",  "or",    "not",    "is",   "in",   "between",
                                     "like", "rlike", "regexp", "case", "when", "then",
                                     "else", "end",   "as",     "div",  "from", "ilike"};
    for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
        if (is_kw(p, t, kw[i])) return 1;
    return 0;
}

static lk_sql_node *literal_number(parser *p, const lk_sql_token *t)
{
    char buf[128];
    int len = t->len;
    if (len >= (int)sizeof buf) {
        fail(p, t->pos, "number too long");
        return NULL;
    }
    memcpy(buf, p->text + t->pos, (size_t)len);
    buf[len] = 0;
    char suffix = t->suffix;
    if (suffix == 'B')
        buf[len - 2] = 0;
    else if (suffix && suffix != 'E')
        buf[len - 1] = 0;
    lk_sql_node *n = lk_sql_ast_node(p->ast, LK_SQL_LIT, t->pos);
    if (t->kind == LK_TOK_INT && suffix != 'B') {
        errno = 0;
        char *end;
        long long v = strtoll(buf, &end, 10);
        if (errno == ERANGE) {
            /* Spark: an integral literal beyond bigint is a decimal */
            n->lit_type = LK_TYPE_DECIMAL;
            n->d = strtod(buf, NULL);
            n->precision = (int)strlen(buf) > 38 ? 38 : (int)strlen(buf);
            n->scale = 0;
            if (strlen(buf) > 38) {
                fail(p, t->pos, "integer literal %s is out of range", buf);
                return NULL;
            }
            n->s = lk_sql_ast_strdup(p->ast, buf); /* the exact value (lk_sql_eval) */
            n->slen = strlen(buf);
            return n;
        }
        n->i = v;
        if (suffix == 'L')
            n->lit_type = LK_TYPE_LONG;
        else if (suffix == 'S') {
            if (v < -32768 || v > 32767) {
                fail(p, t->pos, "%s is out of range for a SMALLINT literal", buf);
                return NULL;
            }
            n->lit_type = LK_TYPE_SHORT;
        } else if (suffix == 'Y') {
            if (v < -128 || v > 127) {
                fail(p, t->pos, "%s is out of range for a TINYINT literal", buf);
                return NULL;
            }
            n->lit_type = LK_TYPE_BYTE;
        } else
            n->lit_type = v >= INT32_MIN && v <= INT32_MAX ? LK_TYPE_INTEGER : LK_TYPE_LONG;
        return n;
    }
    n->d = strtod(buf, NULL);
    if (suffix == 'D' || suffix == 'E' || suffix == 'F') {
        n->lit_type = suffix == 'F' ? LK_TYPE_FLOAT : LK_TYPE_DOUBLE;
        if (!isfinite(n->d)) {
            fail(p, t->pos, "%s is out of range for a DOUBLE literal", buf);
            return NULL;
        }
        return n;
    }
    /* a decimal literal: precision and scale from its digits, as Spark */
    int digits = 0, scale = 0, seen_dot = 0, lead = 1;
    for (const char *c = buf; *c; c++) {
        if (*c == '.') {
            seen_dot = 1;
            continue;
        }
        if (lead && *c == '0' && !seen_dot) continue;
        lead = 0;
        digits++;
        scale += seen_dot;
    }
    if (digits < scale) digits = scale;
    if (digits == 0) digits = 1;
    if (digits > 38) {
        fail(p, t->pos, "decimal literal %s has more than 38 digits", buf);
        return NULL;
    }
    n->lit_type = LK_TYPE_DECIMAL;
    n->d = strtod(buf, NULL);
    n->precision = digits;
    n->scale = scale;
    n->s = lk_sql_ast_strdup(p->ast, buf); /* the exact value (lk_sql_eval) */
    n->slen = strlen(buf);
    return n;
}

static lk_sql_node *primary_(parser *p);

/* The function that extract(field FROM x) and date_part('field', x) call for a field (Spark's
   names and abbreviations), or NULL. */
static const char *field_fn(const char *f)
{
    static const struct {
        const char *fn, *names;
    } map[] = {
        {"year", " year y years yr yrs "},
        {"quarter", " quarter qtr "},
        {"month", " month mon mons months "},
        {"weekofyear", " week w weeks "},
        {"day", " day d days "},
        {"dayofweek", " dayofweek dow "},
        {"extract(dayofweek_iso)", " dayofweek_iso dow_iso "},
        {"dayofyear", " doy "},
        {"hour", " hour h hours hr hrs "},
        {"minute", " minute m min mins minutes "},
        {"extract(second)", " second s sec seconds secs "},
        {"extract(yearofweek)", " yearofweek "},
    };
    char key[40];
    size_t n = strlen(f);
    if (n == 0 || n > 30 || strchr(f, ' ')) return NULL; /* one alias, whole */
    key[0] = ' ';
    for (size_t i = 0; i < n; i++)
        key[i + 1] = (char)tolower((unsigned char)f[i]);
    key[n + 1] = ' ';
    key[n + 2] = 0;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strstr(map[i].names, key)) return map[i].fn;
    return NULL;
}

/* Calls that are other nodes in Spark: a type's name as a function is a cast (`int(x)`,
   `string(x)`: Spark's function-style casts), nvl2(a, b, c) is if(a IS NOT NULL, b, c) (so that,
   as in if, a failure in the branch not taken is no failure). */
static lk_sql_node *rewrite_call(parser *p, lk_sql_node *c)
{
    static const char *const types[] = {"boolean", "tinyint", "smallint", "int",    "bigint",
                                        "float",   "double",  "decimal",  "string", "binary",
                                        "date",    "timestamp"};
    if (c->nargs == 1)
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (!strcmp(c->name, types[i])) {
                lk_sql_node *k = lk_sql_ast_node(p->ast, LK_SQL_CAST, c->pos);
                k->name = c->name;
                k->i = c->pos;
                k->nargs = 1;
                k->args = c->args;
                return k;
            }
    if ((!strcmp(c->name, "date_part") || !strcmp(c->name, "datepart")) &&
        (c->nargs != 2 || c->args[0]->kind != LK_SQL_LIT ||
         c->args[0]->lit_type != LK_TYPE_STRING)) {
        fail(p, c->nargs == 2 ? c->args[0]->pos : c->pos,
             "%s takes a field name as a string literal and a date or timestamp", c->name);
        return NULL;
    }
    if (!strcmp(c->name, "nvl2") && c->nargs != 3) {
        fail(p, c->pos, "nvl2 takes 3 arguments, not %d", c->nargs);
        return NULL;
    }
    if (!strcmp(c->name, "date_part") || !strcmp(c->name, "datepart")) {
        const char *fn = field_fn(c->args[0]->s ? c->args[0]->s : "");
        if (!fn) {
            fail(p, c->args[0]->pos, "%s: unknown field '%s'", c->name, c->args[0]->s);
            return NULL;
        }
        return call1(p, fn, c->pos, c->args[1]);
    }
    if (!strcmp(c->name, "nvl2") && c->nargs == 3) {
        lk_sql_node *f = call(p, "if", c->pos, 3);
        f->args[0] = call1(p, "isnotnull", c->args[0]->pos, c->args[0]);
        f->args[1] = c->args[1];
        f->args[2] = c->args[2];
        return f;
    }
    return c;
}

/* A primary, then any .field of its (struct) value (from_json(j, 'a INT').a) and any [index] of
   its array or [key] of its map value (split(email, '@')[1], tags[0].name). */
static lk_sql_node *primary(parser *p)
{
    lk_sql_node *n = primary_(p);
    int chain = 0; /* each link nests the tree one level deeper: bounded as nesting is */
    while (n && (is_op(peek(p), "[") || (n->kind != LK_SQL_COL && is_op(peek(p), ".")))) {
        if (p->depth + ++chain > MAX_DEPTH) {
            fail(p, peek(p)->pos, "expression nested too deeply");
            return NULL;
        }
        if (is_op(peek(p), "[")) {
            int pos = peek(p)->pos;
            p->i++;
            if (++p->depth > MAX_DEPTH) {
                fail(p, pos, "expression nested too deeply");
                return NULL;
            }
            lk_sql_node *k = expr(p);
            p->depth--;
            if (!k || expect_op(p, "]")) return NULL;
            n = call2(p, "[]", pos, n, k);
            continue;
        }
        const lk_sql_token *f = &p->t[p->i + 1];
        if (f->kind != LK_TOK_IDENT && f->kind != LK_TOK_QIDENT) {
            char got[64];
            tok_text(p, f, got, sizeof got);
            fail(p, f->pos, "expected a field name after '.', got %s", got);
            return NULL;
        }
        p->i += 2;
        char *name = lk_sql_lex_ident(p->text, f);
        lk_sql_node *g = call1(p, ".", f->pos, n);
        g->s = lk_sql_ast_strdup(p->ast, name);
        free(name);
        n = g;
    }
    return n;
}

static lk_sql_node *unary(parser *p)
{
    const lk_sql_token *t = peek(p);
    if (is_op(t, "-") || is_op(t, "+") || is_op(t, "~")) {
        p->i++;
        if (++p->depth > MAX_DEPTH) {
            fail(p, t->pos, "expression nested too deeply");
            return NULL;
        }
        lk_sql_node *a = unary(p);
        p->depth--;
        if (!a) return NULL;
        if (is_op(t, "+")) return a;
        if (is_op(t, "~")) return call1(p, "~", t->pos, a);
        if (a->kind == LK_SQL_INTERVAL) { /* -INTERVAL 1 DAY (values are within +-INT_MAX) */
            a->iv_months = -a->iv_months;
            a->iv_us = -a->iv_us;
            a->pos = t->pos;
            return a;
        }
        /* fold -literal so that -2147483648 is an INT as in Spark */
        if (a->kind == LK_SQL_LIT && a->pos == t->pos + 1 && a->lit_type &&
            a->lit_type != LK_TYPE_STRING && a->lit_type != LK_TYPE_BOOLEAN &&
            a->lit_type != LK_TYPE_DATE && a->lit_type != LK_TYPE_TIMESTAMP) {
            a->pos = t->pos;
            a->d = -a->d;
            if (a->lit_type == LK_TYPE_DECIMAL && a->scale == 0 && a->s &&
                !strcmp(a->s, "9223372036854775808")) {
                /* Spark reads -9223372036854775808 as a BIGINT */
                a->lit_type = LK_TYPE_LONG;
                a->i = INT64_MIN;
                a->s = NULL;
                a->slen = 0;
                return a;
            }
            if (a->lit_type == LK_TYPE_DECIMAL && a->s) { /* its exact text, negated */
                size_t len = strlen(a->s) + 2;
                char *neg = malloc(len);
                if (!neg) abort();
                snprintf(neg, len, "%s%s", a->s[0] == '-' ? "" : "-",
                         a->s[0] == '-' ? a->s + 1 : a->s);
                a->s = lk_sql_ast_strdup(p->ast, neg);
                a->slen = strlen(neg);
                free(neg);
            }
            if (a->lit_type == LK_TYPE_LONG && a->i == (int64_t)INT32_MAX + 1) {
                a->i = INT32_MIN;
                a->lit_type = LK_TYPE_INTEGER;
            } else {
                a->i = -a->i;
            }
            return a;
        }
        return call1(p, "negative", t->pos, a);
    }
    return primary(p);
}

static lk_sql_node *mul(parser *p)
{
    lk_sql_node *l = unary(p);
    while (l) {
        const lk_sql_token *t = peek(p);
        const char *name = NULL;
        if (is_op(t, "*") || is_op(t, "/") || is_op(t, "%"))
            name = t->op;
        else if (is_kw(p, t, "div"))
            name = "div";
        if (!name) break;
        p->i++;
        lk_sql_node *r = unary(p);
        if (!r) return NULL;
        l = call2(p, name, t->pos, l, r);
    }
    return l;
}

static lk_sql_node *add(parser *p)
{
    lk_sql_node *l = mul(p);
    while (l) {
        const lk_sql_token *t = peek(p);
        if (!is_op(t, "+") && !is_op(t, "-") && !is_op(t, "||")) break;
        p->i++;
        lk_sql_node *r = mul(p);
        if (!r) return NULL;
        l = call2(p, is_op(t, "||") ? "concat" : t->op, t->pos, l, r);
    }
    return l;
}

/* One left-associative level: operands of next joined by op (the bitwise levels). */
static lk_sql_node *left_assoc(parser *p, lk_sql_node *(*next)(parser *), const char *op)
{
    lk_sql_node *l = next(p);
    while (l && is_op(peek(p), op)) {
        int pos = peek(p)->pos;
        p->i++;
        lk_sql_node *r = next(p);
        if (!r) return NULL;
        l = call2(p, op, pos, l, r);
    }
    return l;
}

static lk_sql_node *bitand_(parser *p)
{
    return left_assoc(p, add, "&");
}

static lk_sql_node *bitxor_(parser *p)
{
    return left_assoc(p, bitand_, "^");
}

static lk_sql_node *bitor_(parser *p)
{
    return left_assoc(p, bitxor_, "|");
}

static lk_sql_node *predicate(parser *p)
{
    lk_sql_node *l = bitor_(p);
    while (l) {
        const lk_sql_token *t = peek(p);
        static const char *const cmp[] = {"=", "==", "<>", "!=", "<", "<=", ">", ">=", "<=>"};
        int k = -1;
        for (int i = 0; i < 9; i++)
            if (is_op(t, cmp[i])) k = i;
        if (k >= 0) {
            p->i++;
            lk_sql_node *r = bitor_(p);
            if (!r) return NULL;
            const char *name = k <= 1 ? "=" : k <= 3 ? "<>" : cmp[k];
            l = call2(p, name, t->pos, l, r);
            continue;
        }
        if (is_kw(p, t, "is")) {
            p->i++;
            int neg = accept_kw(p, "not");
            if (accept_kw(p, "null")) {
                l = call1(p, neg ? "isnotnull" : "isnull", t->pos, l);
                continue;
            }
            if (accept_kw(p, "true") || accept_kw(p, "false")) {
                /* x IS TRUE: never null */
                int truth = is_kw(p, &p->t[p->i - 1], "true");
                lk_sql_node *c = call1(p, truth ? "istrue" : "isfalse", t->pos, l);
                l = neg ? call1(p, "not", t->pos, c) : c;
                continue;
            }
            if (accept_kw(p, "distinct")) {
                if (!accept_kw(p, "from")) {
                    fail(p, peek(p)->pos, "expected FROM after IS %sDISTINCT", neg ? "NOT " : "");
                    return NULL;
                }
                lk_sql_node *r = bitor_(p);
                if (!r) return NULL;
                lk_sql_node *c = call2(p, "<=>", t->pos, l, r);
                l = neg ? c : call1(p, "not", t->pos, c);
                continue;
            }
            char got[64];
            tok_text(p, peek(p), got, sizeof got);
            fail(p, peek(p)->pos, "expected NULL, TRUE, FALSE or DISTINCT FROM after IS, got %s",
                 got);
            return NULL;
        }
        int save = p->i, neg = 0;
        if (is_kw(p, t, "not")) {
            neg = 1;
            p->i++;
        }
        const lk_sql_token *w = peek(p);
        if (is_kw(p, w, "in")) {
            p->i++;
            if (expect_op(p, "(")) return NULL;
            lk_sql_node *c = call_args(p, "in", w->pos, l, 0);
            if (!c) return NULL;
            l = neg ? call1(p, "not", t->pos, c) : c;
            continue;
        }
        if (is_kw(p, w, "between")) {
            p->i++;
            lk_sql_node *lo = bitor_(p);
            if (!lo) return NULL;
            if (!accept_kw(p, "and")) {
                fail(p, peek(p)->pos, "expected AND in BETWEEN");
                return NULL;
            }
            lk_sql_node *hi = bitor_(p);
            if (!hi) return NULL;
            lk_sql_node *c = call2(p, "and", w->pos, call2(p, ">=", w->pos, l, lo),
                                   call2(p, "<=", w->pos, l, hi));
            l = neg ? call1(p, "not", t->pos, c) : c;
            continue;
        }
        if (is_kw(p, w, "like") || is_kw(p, w, "ilike") || is_kw(p, w, "rlike") ||
            is_kw(p, w, "regexp")) {
            p->i++;
            const char *name = is_kw(p, w, "like")    ? "like"
                               : is_kw(p, w, "ilike") ? "ilike"
                                                      : "rlike";
            lk_sql_node *r = bitor_(p);
            if (!r) return NULL;
            lk_sql_node *c = call2(p, name, w->pos, l, r);
            if (!strcmp(name, "like") && accept_kw(p, "escape")) {
                lk_sql_node *e = bitor_(p);
                if (!e) return NULL;
                lk_sql_node *c3 = call(p, "like", w->pos, 3);
                c3->args[0] = l;
                c3->args[1] = r;
                c3->args[2] = e;
                c = c3;
            }
            l = neg ? call1(p, "not", t->pos, c) : c;
            continue;
        }
        p->i = save;
        break;
    }
    return l;
}

static lk_sql_node *not_(parser *p)
{
    const lk_sql_token *t = peek(p);
    if (is_kw(p, t, "not") || is_op(t, "!")) {
        p->i++;
        if (++p->depth > MAX_DEPTH) {
            fail(p, t->pos, "expression nested too deeply");
            return NULL;
        }
        lk_sql_node *a = not_(p);
        p->depth--;
        return a ? call1(p, "not", t->pos, a) : NULL;
    }
    return predicate(p);
}

static lk_sql_node *and_(parser *p)
{
    lk_sql_node *l = not_(p);
    while (l) {
        const lk_sql_token *t = peek(p);
        if (!is_kw(p, t, "and") && !is_op(t, "&&")) break;
        p->i++;
        lk_sql_node *r = not_(p);
        if (!r) return NULL;
        l = call2(p, "and", t->pos, l, r);
    }
    return l;
}

static lk_sql_node *expr(parser *p)
{
    if (++p->depth > MAX_DEPTH) {
        fail(p, peek(p)->pos, "expression nested too deeply");
        return NULL;
    }
    lk_sql_node *l = and_(p);
    while (l) {
        const lk_sql_token *t = peek(p);
        if (!is_kw(p, t, "or") && !is_op(t, "||")) break;
        if (is_op(t, "||")) break; /* || is concat, handled in add() */
        p->i++;
        lk_sql_node *r = and_(p);
        if (!r) return NULL;
        l = call2(p, "or", t->pos, l, r);
    }
    p->depth--;
    return l;
}

/* The text of a type up to the matching ')' of CAST: "decimal(10, 2)", "array<string>". */
static char *type_text(parser *p, int *pos)
{
    const lk_sql_token *t = peek(p);
    *pos = t->pos;
    int depth = 0, start = t->pos, end = start;
    while (peek(p)->kind != LK_TOK_EOF) {
        const lk_sql_token *k = peek(p);
        if (depth == 0 && is_op(k, ")")) break;
        if (is_op(k, "(") || is_op(k, "<")) depth++;
        if (is_op(k, ")") || is_op(k, ">")) depth--;
        end = k->pos + k->len;
        p->i++;
    }
    if (end == start) {
        fail(p, start, "expected a type after AS");
        return NULL;
    }
    char *s = arena(p->ast, (size_t)(end - start) + 1);
    memcpy(s, p->text + start, (size_t)(end - start));
    return s;
}

static lk_sql_node *case_(parser *p, int pos)
{
    lk_sql_node *subject = NULL;
    if (!is_kw(p, peek(p), "when")) {
        subject = expr(p);
        if (!subject) return NULL;
    }
    int cap = 8, n = 0;
    lk_sql_node **args = malloc(sizeof *args * (size_t)cap);
    if (!args) abort();
    int has_else = 0;
    while (accept_kw(p, "when")) {
        int wpos = p->t[p->i - 1].pos;
        lk_sql_node *c = expr(p);
        if (!c) goto bad;
        if (!accept_kw(p, "then")) {
            fail(p, peek(p)->pos, "expected THEN");
            goto bad;
        }
        lk_sql_node *v = expr(p);
        if (!v) goto bad;
        if (subject) c = call2(p, "=", wpos, subject, c);
        if (n + 3 > cap) {
            cap *= 2;
            args = realloc(args, sizeof *args * (size_t)cap);
            if (!args) abort();
        }
        args[n++] = c;
        args[n++] = v;
    }
    if (n == 0) {
        fail(p, peek(p)->pos, "CASE needs at least one WHEN");
        goto bad;
    }
    if (accept_kw(p, "else")) {
        lk_sql_node *e = expr(p);
        if (!e) goto bad;
        args[n++] = e;
        has_else = 1;
    }
    if (expect_kw(p, "end", "END of CASE")) goto bad;
    lk_sql_node *c = lk_sql_ast_node(p->ast, LK_SQL_CASE, pos);
    c->nargs = n;
    c->args = lk_sql_ast_args(p->ast, n);
    memcpy(c->args, args, sizeof *args * (size_t)n);
    c->has_else = has_else;
    free(args);
    return c;
bad:
    free(args);
    return NULL;
}

static lk_sql_node *bitor_(parser *p);

/* At f(: whether keyword kw stands at its parentheses' own level (TRIM(x FROM s),
   SUBSTRING(s FROM 2), POSITION(sub IN s)). */
static int kw_in_parens(parser *p, const char *kw)
{
    int depth = 0;
    for (size_t i = p->i + 1; p->t[i].kind != LK_TOK_EOF; i++) {
        const lk_sql_token *t = &p->t[i];
        if (is_op(t, "(") || is_op(t, "[")) {
            depth++;
        } else if (is_op(t, ")") || is_op(t, "]")) {
            if (--depth == 0) return 0;
        } else if (depth == 1 && is_kw(p, t, kw)) {
            return 1;
        }
    }
    return 0;
}

/* The units of an INTERVAL literal, as Spark's grammar names them (singular or plural, any case) */
enum { IV_YEAR, IV_MONTH, IV_WEEK, IV_DAY, IV_HOUR, IV_MINUTE, IV_SECOND, IV_MILLI, IV_MICRO };

/* The unit w names (IV_*), or -1. */
static int iv_unit(const char *w)
{
    static const char *const names[] = {"year",   "month",  "week",        "day",        "hour",
                                        "minute", "second", "millisecond", "microsecond"};
    size_t n = strlen(w);
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++) {
        size_t k = strlen(names[i]);
        if (!strncasecmp(w, names[i], k) && (n == k || (n == k + 1 && (w[k] | 32) == 's')))
            return i;
    }
    return -1;
}

/* The interval an INTERVAL literal's text adds up to, as Spark's CalendarInterval (months, days,
   microseconds), and the fields its units named: Spark 3.5 types the literal by them (year and
   month a year-month interval; day, hour, minute, second a day-time one, WEEK counting as a day
   and MILLISECOND, MICROSECOND as a second; both kinds together are refused). */
typedef struct iv_acc {
    int32_t months, days;
    int64_t us;
    int ym;             /* a year or month unit was read */
    int dt_min, dt_max; /* the day-time fields read: 0 day .. 3 second; dt_max -1 for none */
} iv_acc;

/* Character.isWhitespace of a byte, as Spark's interval parser asks it. */
static int iv_ws(unsigned char c)
{
    return c == ' ' || (c >= 9 && c <= 13) || (c >= 28 && c <= 31);
}

/* The word of s at byte i, or the one before it at a space or the end (the word Spark's messages
   quote). */
static void iv_word(const char *s, size_t n, size_t i, char *out, size_t cap)
{
    if (i > n) i = n;
    while (i > 0 && (i == n || iv_ws((unsigned char)s[i])))
        i--;
    size_t b = i, e = i;
    while (b > 0 && !iv_ws((unsigned char)s[b - 1]))
        b--;
    while (e < n && !iv_ws((unsigned char)s[e]))
        e++;
    snprintf(out, cap, "%.*s", (int)(e - b > 40 ? 40 : e - b), s + b);
}

/* Adds the interval text in[0, n) to a, reading it as Spark 3.5's IntervalUtils.stringToInterval
   does (a port of its state machine, so that what it accepts and refuses is Spark's): after an
   optional 'interval', pairs of a signed number and a unit (plural or not), any case, any
   Java whitespace between; each pair's sign is its own ('-1 hour 30 minutes' is -30 minutes); a
   fraction only of seconds, up to nine digits, cut to microseconds; every sum checked as Spark's
   addExact, multiplyExact and toIntExact check it. 0, or -1 with Spark's reason in why (-2 when
   the reason is an overflow). */
static int iv_parse(const char *in, size_t n, iv_acc *a, char *why, size_t wn)
{
    enum { PREFIX, TRIM_SIGN, SIGN, TRIM_VALUE, VALUE, FRACTION, TRIM_UNIT, UNIT, SUFFIX, END };
    static const char *const unit[] = {"year",   "month",  "week",        "day",        "hour",
                                       "minute", "second", "millisecond", "microsecond"};
    static const int64_t unit_us[] = {0, 0, 0, 0, 3600000000LL, 60000000LL, 1000000, 1000, 1};
    static const int dt_field[] = {-1, -1, 0, 0, 1, 2, 3, 3, 3};
    const int frac0 = 100000000; /* NANOS_PER_SECOND / 10 */
    size_t b = 0, e = n;
    while (b < e && iv_ws((unsigned char)in[b])) /* trimAll */
        b++;
    while (e > b && iv_ws((unsigned char)in[e - 1]))
        e--;
    if (b == e) {
        snprintf(why, wn, "the interval string is empty");
        return -1;
    }
    size_t len = e - b, i = 0;
    char *s = malloc(len + 1), word[48];
    if (!s) abort();
    for (size_t k = 0; k < len; k++)
        s[k] = (char)tolower((unsigned char)in[b + k]);
    s[len] = 0;
    int state = PREFIX, neg = 0, scale = 0, frac = 0, point = 0, rc = 0;
    int64_t cur = 0;
#define IV_FAIL(...)                                                                               \
    do {                                                                                           \
        iv_word(s, len, i, word, sizeof word);                                                     \
        snprintf(why, wn, __VA_ARGS__);                                                            \
        rc = -1;                                                                                   \
        goto done;                                                                                 \
    } while (0)
#define IV_OVERFLOW(...)                                                                           \
    do {                                                                                           \
        snprintf(why, wn, __VA_ARGS__);                                                            \
        rc = -2;                                                                                   \
        goto done;                                                                                 \
    } while (0)
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        switch (state) {
        case PREFIX:
            if (len >= 8 && !memcmp(s, "interval", 8)) {
                if (len == 8) IV_FAIL("the interval string is empty");
                if (!iv_ws((unsigned char)s[8])) IV_FAIL("invalid interval prefix %s", word);
                i += 9;
            }
            state = TRIM_SIGN;
            break;
        case TRIM_SIGN:
        case TRIM_VALUE:
        case TRIM_UNIT:
            if (iv_ws(c))
                i++;
            else
                state = state == TRIM_SIGN ? SIGN : state == TRIM_VALUE ? VALUE : UNIT;
            break;
        case SIGN:
            cur = 0, frac = 0, scale = -1, point = 0, neg = 0;
            state = TRIM_VALUE;
            if (c == '-' || c == '+') {
                neg = c == '-';
                i++;
            } else if (c == '.') { /* '.5 seconds' */
                scale = frac0, point = 1, state = FRACTION;
                i++;
            } else if (!isdigit(c)) {
                IV_FAIL("unrecognized number '%s'", word);
            }
            break;
        case VALUE:
            if (isdigit(c)) {
                if (__builtin_mul_overflow(cur, 10, &cur) ||
                    __builtin_add_overflow(cur, c - '0', &cur))
                    IV_OVERFLOW("long overflow");
            } else if (iv_ws(c)) {
                state = TRIM_UNIT;
            } else if (c == '.') {
                scale = frac0, state = FRACTION;
            } else {
                IV_FAIL("invalid value '%s'", word);
            }
            i++;
            break;
        case FRACTION:
            if (isdigit(c) && scale > 0) {
                frac += (c - '0') * scale;
                scale /= 10;
            } else if (iv_ws(c) && (!point || scale < frac0)) {
                frac /= 1000; /* nanoseconds cut to microseconds */
                state = TRIM_UNIT;
            } else if (isdigit(c)) {
                IV_FAIL("interval can only support nanosecond precision, '%s' is out of range",
                        word);
            } else {
                IV_FAIL("invalid value '%s'", word);
            }
            i++;
            break;
        case UNIT: {
            if (c != 's' && scale >= 0) IV_FAIL("'%s' cannot have fractional part", word);
            if (neg) cur = -cur, frac = -frac;
            /* the first unit the text starts with, in Spark's order of matching (month before
               minute before millisecond before microsecond) */
            int u = -1;
            for (int k = 0; k < 9 && u < 0; k++)
                if (!strncmp(s + i, unit[k], strlen(unit[k]))) u = k;
            if (u < 0) IV_FAIL("invalid unit '%s'", word);
            int64_t v, t;
            int bad = 0;
            if (u == IV_YEAR || u == IV_MONTH) {
                bad = (u == IV_YEAR && __builtin_mul_overflow(cur, 12, &cur)) ||
                      (u == IV_MONTH && (cur < INT32_MIN || cur > INT32_MAX)) ||
                      __builtin_add_overflow((int64_t)a->months, cur, &t) || t < INT32_MIN ||
                      t > INT32_MAX;
                if (!bad) a->months = (int32_t)t;
                a->ym = 1;
            } else if (u == IV_WEEK || u == IV_DAY) {
                bad = (u == IV_WEEK && __builtin_mul_overflow(cur, 7, &cur)) ||
                      (u == IV_DAY && (cur < INT32_MIN || cur > INT32_MAX)) ||
                      __builtin_add_overflow((int64_t)a->days, cur, &t) || t < INT32_MIN ||
                      t > INT32_MAX;
                if (!bad) a->days = (int32_t)t;
            } else {
                bad = __builtin_mul_overflow(cur, unit_us[u], &v) ||
                      __builtin_add_overflow(a->us, v, &t) ||
                      (u == IV_SECOND && __builtin_add_overflow(t, (int64_t)frac, &t));
                if (!bad) a->us = t;
            }
            if (bad) IV_OVERFLOW("%s overflow", u <= IV_DAY ? "integer" : "long");
            if (dt_field[u] >= 0) {
                if (dt_field[u] < a->dt_min) a->dt_min = dt_field[u];
                if (dt_field[u] > a->dt_max) a->dt_max = dt_field[u];
            }
            i += strlen(unit[u]);
            state = SUFFIX;
            break;
        }
        case SUFFIX: /* 's', or the end of the unit */
        case END:
            if (state == SUFFIX && c == 's')
                state = END;
            else if (iv_ws(c))
                state = TRIM_SIGN;
            else
                IV_FAIL("invalid unit '%s'", word);
            i++;
            break;
        }
    }
    if (state == TRIM_VALUE) IV_FAIL("expect a number after '%s' but hit EOL", word);
    if (state == VALUE || state == FRACTION)
        IV_FAIL("expect a unit name after '%s' but hit EOL", word);
    if (state != SUFFIX && state != END && state != TRIM_SIGN)
        IV_FAIL("unknown error when parsing '%s'", word);
#undef IV_FAIL
#undef IV_OVERFLOW
done:
    free(s);
    return rc;
}

/* 'text' FROM TO TO (unit ranks, year-month when from is -1): "[-]y-m", "[-]d h:m:s.f" and its
   sub-ranges; the fields after the first within their range, as Spark. 0 or -1. */
static int iv_range(const char *s, int from, int to, int64_t *us, int32_t *months)
{
    while (*s == ' ')
        s++;
    int neg = *s == '-';
    if (*s == '-' || *s == '+') s++;
    if (from < 0) { /* YEAR TO MONTH */
        char *end;
        errno = 0;
        if (!isdigit((unsigned char)*s)) return -1; /* one sign only ('--5-3' is no interval) */
        long long y = strtoll(s, &end, 10), m;
        if (end == s || *end != '-' || errno || y > 178956970) return -1;
        s = end + 1;
        m = strtoll(s, &end, 10);
        if (end == s || m > 11 || !isdigit((unsigned char)*s)) return -1;
        while (*end == ' ')
            end++;
        if (*end) return -1;
        /* Spark's toIntExact: a month count past INT_MAX is no interval (and -INT_MIN none) */
        if (y * 12 + m > INT32_MAX) return -1;
        *months = (int32_t)((y * 12 + m) * (neg ? -1 : 1));
        return 0;
    }
    static const int64_t unit[] = {86400000000LL, 3600000000LL, 60000000LL, 1000000};
    static const int64_t max[] = {0, 23, 59, 59};
    int64_t total = 0;
    for (int r = from; r <= to; r++) {
        if (!isdigit((unsigned char)*s)) return -1;
        int64_t v = 0;
        for (; isdigit((unsigned char)*s); s++)
            if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *s - '0', &v))
                return -1;
        if (r > from && v > max[r]) return -1;
        if (__builtin_mul_overflow(v, unit[r], &v) || __builtin_add_overflow(total, v, &total))
            return -1;
        if (r == 3 && *s == '.') { /* up to 9 digits; below a microsecond dropped */
            int64_t scale = 100000;
            int digits = 0;
            for (s++; isdigit((unsigned char)*s); s++, digits++) {
                if (digits >= 9) return -1;
                if (digits < 6) total += (*s - '0') * scale;
                scale /= 10;
            }
        }
        if (r < to) {
            if (*s != (r == 0 ? ' ' : ':')) return -1;
            s++;
        }
    }
    while (*s == ' ')
        s++;
    if (*s) return -1;
    *us = neg ? -total : total;
    return 0;
}

/* s has a letter (Java's Character.isLetter: any byte of a non-ASCII character counts). */
static int iv_has_letter(const char *s)
{
    for (; *s; s++)
        if (isalpha((unsigned char)*s) || (unsigned char)*s >= 0x80) return 1;
    return 0;
}

/* After INTERVAL (at pos), Spark 3.5's three forms: a unit list `value unit [value unit ...]` (a
   value: a number or a string of one, signed), `'text' unit TO unit`, and `'text'` alone (the
   units inside: INTERVAL '1 day 2 hours'). A unit list is read as Spark's AstBuilder does: the
   pairs written out as one text (" -1 day 30 minutes") for stringToInterval (iv_parse); the
   quoted form is that text as it is. Both are typed by their units (iv_acc); Spark 3.5 makes no
   CalendarIntervalType of a literal (spark.sql.legacy.interval.enabled is off). */
static lk_sql_node *interval_(parser *p, int pos)
{
    lk_sql_node *n = lk_sql_ast_node(p->ast, LK_SQL_INTERVAL, pos);
    iv_acc a = {0, 0, 0, 0, 4, -1};
    int npairs = 0;
    char got[64], why[200];
    for (;;) {
        const lk_sql_token *v = peek(p);
        int sign = 0, vpos = v->pos;
        if (npairs) { /* another pair only where a value and a unit follow: - x is a minus */
            const lk_sql_token *w = is_op(v, "-") || is_op(v, "+") ? v + 1 : v;
            int more = 0;
            if ((w->kind == LK_TOK_INT || w->kind == LK_TOK_NUMBER || w->kind == LK_TOK_STRING) &&
                w[1].kind == LK_TOK_IDENT) {
                char *un = lk_sql_lex_ident(p->text, &w[1]);
                more = iv_unit(un) >= 0;
                free(un);
            }
            if (!more) break;
        }
        if (is_op(v, "-") || is_op(v, "+")) {
            sign = is_op(v, "-") ? -1 : 1;
            p->i++;
            v = peek(p);
        }
        char *text;
        if (v->kind == LK_TOK_STRING) {
            size_t len;
            text = lk_sql_lex_string(p->text, v, &len);
        } else if ((v->kind == LK_TOK_INT || v->kind == LK_TOK_NUMBER) && !v->suffix) {
            text = malloc((size_t)v->len + 1);
            if (!text) abort();
            memcpy(text, p->text + v->pos, (size_t)v->len);
            text[v->len] = 0;
        } else {
            tok_text(p, v, got, sizeof got);
            fail(p, v->pos, "expected a number or a string after INTERVAL, got %s", got);
            return NULL;
        }
        p->i++;
        const lk_sql_token *u = peek(p);
        char *uname = u->kind == LK_TOK_IDENT ? lk_sql_lex_ident(p->text, u) : NULL;
        int unit = uname ? iv_unit(uname) : -1;
        free(uname);
        if (unit < 0 && npairs == 0 && v->kind == LK_TOK_STRING && !sign) {
            /* INTERVAL '1 day 2 hours': Spark's typed literal, the text read as it is */
            int bad = iv_parse(text, strlen(text), &a, why, sizeof why);
            free(text);
            if (bad) {
                fail(p, vpos, bad == -2 ? "INTERVAL out of range (%s)" : "not a valid INTERVAL: %s",
                     why);
                return NULL;
            }
            break;
        }
        if (unit < 0) {
            free(text);
            tok_text(p, u, got, sizeof got);
            if (npairs == 0 && v->kind == LK_TOK_STRING)
                fail(
                    p, u->pos,
                    "expected an interval unit after a signed INTERVAL -'...' (INTERVAL -'1' DAY), "
                    "got %s; without a unit the sign goes inside the text (INTERVAL '-1 day')",
                    got);
            else
                fail(p, u->pos,
                     "expected an interval unit (YEAR, MONTH, WEEK, DAY, HOUR, MINUTE, SECOND, "
                     "MILLISECOND, MICROSECOND), got %s",
                     got);
            return NULL;
        }
        p->i++;
        if (npairs == 0 && v->kind == LK_TOK_STRING && accept_kw(p, "to")) {
            const lk_sql_token *t2 = peek(p);
            char *n2 = t2->kind == LK_TOK_IDENT ? lk_sql_lex_ident(p->text, t2) : NULL;
            int to = n2 ? iv_unit(n2) : -1;
            free(n2);
            /* YEAR TO MONTH, or a range of DAY, HOUR, MINUTE, SECOND from the larger */
            int ok = unit == IV_YEAR
                         ? to == IV_MONTH
                         : unit >= IV_DAY && unit <= IV_MINUTE && to > unit && to <= IV_SECOND;
            if (!ok) {
                free(text);
                tok_text(p, t2, got, sizeof got);
                fail(
                    p, t2->pos,
                    "expected YEAR TO MONTH or a range of DAY, HOUR, MINUTE, SECOND, got ... TO %s",
                    got);
                return NULL;
            }
            p->i++;
            int32_t m32 = 0;
            int64_t us = 0;
            int bad = iv_range(text, unit == IV_YEAR ? -1 : unit - IV_DAY, to - IV_DAY, &us, &m32);
            free(text);
            if (bad) {
                static const char *const up[] = {"YEAR", "MONTH",  "WEEK",  "DAY",
                                                 "HOUR", "MINUTE", "SECOND"};
                fail(p, vpos, "not a valid INTERVAL ... %s TO %s value", up[unit], up[to]);
                return NULL;
            }
            if (sign < 0) us = -us, m32 = -m32;
            n->iv_kind = unit == IV_YEAR ? 1 : 2;
            n->iv_days_only = 0;
            n->iv_months = m32;
            n->iv_us = us;
            return n;
        }
        /* one pair of the list, written out as Spark's visitMultiUnitsInterval writes it: a
           quoted value has no letters ('1 day' before DAY is refused, not read as two units), and
           a minus before it flips its own sign */
        if (v->kind == LK_TOK_STRING && iv_has_letter(text)) {
            fail(p, vpos,
                 "not a valid INTERVAL value before a unit: '%.40s' (a quoted value before a unit "
                 "is a number; INTERVAL '1 day' goes without the unit)",
                 text);
            free(text);
            return NULL;
        }
        const char *val = text, *pre = sign < 0 ? "-" : sign > 0 ? "+" : "";
        if (v->kind == LK_TOK_STRING && sign > 0) pre = "";
        if (v->kind == LK_TOK_STRING && sign < 0 && text[0] == '-') val = text + 1, pre = "";
        size_t cap = strlen(val) + (size_t)u->len + 8;
        char *pair = malloc(cap);
        if (!pair) abort();
        snprintf(pair, cap, " %s%s %.*s", pre, val, u->len, p->text + u->pos);
        free(text);
        int bad = iv_parse(pair, strlen(pair), &a, why, sizeof why);
        free(pair);
        if (bad) {
            fail(p, vpos,
                 bad == -2 ? "INTERVAL out of range (%s)" : "not a valid INTERVAL value: %s", why);
            return NULL;
        }
        npairs++;
    }
    if (a.ym && a.dt_max >= 0) {
        fail(p, pos,
             "an INTERVAL cannot mix year-month units (YEAR, MONTH) with day-time ones (WEEK, "
             "DAY, HOUR, MINUTE, SECOND, ...), as in Spark 3.5: write two, ts + INTERVAL 1 MONTH "
             "+ INTERVAL 1 DAY");
        return NULL;
    }
    int64_t us = 0;
    if (!a.ym && (__builtin_mul_overflow((int64_t)a.days, 86400000000LL, &us) ||
                  __builtin_add_overflow(us, a.us, &us) || us == INT64_MIN)) {
        fail(p, pos, "INTERVAL out of range");
        return NULL;
    }
    if (a.months == INT32_MIN) { /* its negation would overflow */
        fail(p, pos, "INTERVAL out of range");
        return NULL;
    }
    n->iv_kind = a.ym ? 1 : 2;
    n->iv_days_only = !a.ym && a.dt_min == 0 && a.dt_max == 0;
    n->iv_months = a.months;
    n->iv_us = us;
    return n;
}

/* After TRIM(: [BOTH|LEADING|TRAILING] [chars] FROM s) -> trim/ltrim/rtrim(s[, chars]). */
static lk_sql_node *trim_from(parser *p, int pos)
{
    const char *fn = "trim";
    if (accept_kw(p, "leading"))
        fn = "ltrim";
    else if (accept_kw(p, "trailing"))
        fn = "rtrim";
    else
        accept_kw(p, "both");
    lk_sql_node *chars = NULL;
    if (!is_kw(p, peek(p), "from") && !(chars = bitor_(p))) return NULL;
    if (expect_kw(p, "from", "FROM in TRIM")) return NULL;
    lk_sql_node *str = bitor_(p);
    if (!str || expect_op(p, ")")) return NULL;
    if (!chars) return call1(p, fn, pos, str);
    char name[16];
    snprintf(name, sizeof name, "%s from", fn);
    return call2(p, name, pos, str, chars);
}

/* After SUBSTRING(: s FROM pos [FOR len]) -> substring(s, pos[, len]). */
static lk_sql_node *substring_from(parser *p, int pos)
{
    lk_sql_node *str = bitor_(p);
    if (!str) return NULL;
    if (expect_kw(p, "from", "FROM in SUBSTRING")) return NULL;
    lk_sql_node *start = bitor_(p);
    if (!start) return NULL;
    lk_sql_node *len = NULL;
    if (accept_kw(p, "for") && !(len = bitor_(p))) return NULL;
    if (expect_op(p, ")")) return NULL;
    if (!len) return call2(p, "substring", pos, str, start);
    lk_sql_node *c = call(p, "substring", pos, 3);
    c->args[0] = str;
    c->args[1] = start;
    c->args[2] = len;
    return c;
}

static lk_sql_node *primary_(parser *p)
{
    const lk_sql_token *t = peek(p);
    char got[64];
    switch (t->kind) {
    case LK_TOK_INT:
    case LK_TOK_NUMBER:
        p->i++;
        return literal_number(p, t);
    case LK_TOK_STRING: {
        p->i++;
        size_t len;
        char *s = lk_sql_lex_string(p->text, t, &len);
        /* adjacent string literals concatenate, as in Spark */
        while (peek(p)->kind == LK_TOK_STRING) {
            size_t l2;
            char *s2 = lk_sql_lex_string(p->text, peek(p), &l2);
            s = realloc(s, len + l2 + 1);
            if (!s) abort();
            memcpy(s + len, s2, l2 + 1);
            len += l2;
            free(s2);
            p->i++;
        }
        lk_sql_node *n = lk_sql_ast_node(p->ast, LK_SQL_LIT, t->pos);
        n->lit_type = LK_TYPE_STRING;
        n->s = arena(p->ast, len + 1);
        memcpy(n->s, s, len + 1);
        n->slen = len;
        free(s);
        return n;
    }
    case LK_TOK_OP:
        if (is_op(t, "(")) {
            p->i++;
            lk_sql_node *e = expr(p);
            if (!e || expect_op(p, ")")) return NULL;
            return e;
        }
        if (is_op(t, "*")) {
            p->i++;
            return lk_sql_ast_node(p->ast, LK_SQL_STAR, t->pos);
        }
        tok_text(p, t, got, sizeof got);
        fail(p, t->pos, "expected an expression, got %s", got);
        return NULL;
    case LK_TOK_EOF:
        fail(p, t->pos, "expected an expression, got the end of the expression");
        return NULL;
    case LK_TOK_IDENT:
    case LK_TOK_QIDENT:
        break;
    }
    if (t->kind == LK_TOK_IDENT) {
        if (is_kw(p, t, "null") || is_kw(p, t, "true") || is_kw(p, t, "false")) {
            p->i++;
            lk_sql_node *n = lk_sql_ast_node(p->ast, LK_SQL_LIT, t->pos);
            if (!is_kw(p, t, "null")) {
                n->lit_type = LK_TYPE_BOOLEAN;
                n->i = is_kw(p, t, "true");
            }
            return n;
        }
        if ((is_kw(p, t, "date") || is_kw(p, t, "timestamp") || is_kw(p, t, "timestamp_ntz")) &&
            p->t[p->i + 1].kind == LK_TOK_STRING) {
            int is_date = is_kw(p, t, "date");
            p->i++;
            size_t len;
            char *s = lk_sql_lex_string(p->text, peek(p), &len);
            /* Spark reads the literals as it casts text: TIMESTAMP '2024-04-31' is refused */
            int64_t us = 0;
            int32_t days = 0;
            int bad =
                is_date ? lk_sql_parse_date(s, len, &days) : lk_sql_parse_timestamp(s, len, &us);
            free(s);
            if (bad) {
                fail(p, peek(p)->pos, "not a valid %s literal", is_date ? "DATE" : "TIMESTAMP");
                return NULL;
            }
            p->i++;
            lk_sql_node *n = lk_sql_ast_node(p->ast, LK_SQL_LIT, t->pos);
            n->lit_type = is_date ? LK_TYPE_DATE : LK_TYPE_TIMESTAMP;
            n->i = is_date ? days : us;
            return n;
        }
        if (is_kw(p, t, "case")) {
            p->i++;
            return case_(p, t->pos);
        }
        if (is_kw(p, t, "interval")) {
            const lk_sql_token *v = &p->t[p->i + 1];
            if (v->kind == LK_TOK_INT || v->kind == LK_TOK_NUMBER || v->kind == LK_TOK_STRING ||
                ((is_op(v, "-") || is_op(v, "+")) &&
                 (v[1].kind == LK_TOK_INT || v[1].kind == LK_TOK_NUMBER ||
                  v[1].kind == LK_TOK_STRING))) {
                p->i++;
                return interval_(p, t->pos);
            }
        }
        if (is_kw(p, t, "position") && is_op(&p->t[p->i + 1], "(") && kw_in_parens(p, "in")) {
            /* position(sub IN str): SQL's form of locate(sub, str) */
            p->i += 2;
            lk_sql_node *sub = bitor_(p);
            if (!sub || !accept_kw(p, "in")) {
                if (sub) fail(p, peek(p)->pos, "expected IN in POSITION");
                return NULL;
            }
            lk_sql_node *str = bitor_(p);
            if (!str || expect_op(p, ")")) return NULL;
            return call2(p, "locate", t->pos, sub, str);
        }
        if (is_kw(p, t, "trim") && is_op(&p->t[p->i + 1], "(") && kw_in_parens(p, "from")) {
            p->i += 2;
            return trim_from(p, t->pos);
        }
        if ((is_kw(p, t, "substring") || is_kw(p, t, "substr")) && is_op(&p->t[p->i + 1], "(") &&
            kw_in_parens(p, "from")) {
            p->i += 2;
            return substring_from(p, t->pos);
        }
        if (is_kw(p, t, "extract") && is_op(&p->t[p->i + 1], "(") &&
            p->t[p->i + 2].kind == LK_TOK_IDENT) { /* extract(field FROM x) */
            const lk_sql_token *ft = &p->t[p->i + 2];
            p->i += 3;
            char *fname = lk_sql_lex_ident(p->text, ft);
            const char *fn = field_fn(fname);
            if (!fn) {
                fail(p, ft->pos, "extract: unknown field '%s'", fname);
                free(fname);
                return NULL;
            }
            free(fname);
            if (expect_kw(p, "from", "FROM in EXTRACT")) return NULL;
            lk_sql_node *a = expr(p);
            if (!a || expect_op(p, ")")) return NULL;
            return call1(p, fn, t->pos, a);
        }
        if ((is_kw(p, t, "cast") || is_kw(p, t, "try_cast")) && is_op(&p->t[p->i + 1], "(")) {
            p->i += 2;
            lk_sql_node *a = expr(p);
            if (!a) return NULL;
            if (expect_kw(p, "as", "AS in CAST")) return NULL;
            lk_sql_node *c = lk_sql_ast_node(p->ast, LK_SQL_CAST, t->pos);
            int tpos;
            c->name = type_text(p, &tpos);
            if (!c->name || expect_op(p, ")")) return NULL;
            c->i = tpos; /* where the type starts, for its errors */
            c->nargs = 1;
            c->args = lk_sql_ast_args(p->ast, 1);
            c->args[0] = a;
            return c;
        }
        if (reserved(p, t)) {
            tok_text(p, t, got, sizeof got);
            fail(p, t->pos, "expected an expression, got %s", got);
            return NULL;
        }
    }
    /* a function call or a column path */
    p->i++;
    char *first = lk_sql_lex_ident(p->text, t);
    if (t->kind == LK_TOK_IDENT && is_op(peek(p), "(")) {
        p->i++;
        for (char *c = first; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        lk_sql_node *c = call_args(p, first, t->pos, NULL, 1);
        free(first);
        return c ? rewrite_call(p, c) : NULL;
    }
    lk_sql_node *c = lk_sql_ast_node(p->ast, LK_SQL_COL, t->pos);
    int cap = 4;
    c->parts = arena(p->ast, sizeof(char *) * 64);
    (void)cap;
    c->parts[c->nparts++] = lk_sql_ast_strdup(p->ast, first);
    free(first);
    while (is_op(peek(p), ".")) {
        p->i++;
        const lk_sql_token *f = peek(p);
        if (f->kind != LK_TOK_IDENT && f->kind != LK_TOK_QIDENT) {
            if (is_op(f, "*")) { /* s.* */
                p->i++;
                lk_sql_node *s = lk_sql_ast_node(p->ast, LK_SQL_STAR, c->pos);
                s->parts = c->parts;
                s->nparts = c->nparts;
                return s;
            }
            tok_text(p, f, got, sizeof got);
            fail(p, f->pos, "expected a field name after '.', got %s", got);
            return NULL;
        }
        if (c->nparts == 64) {
            fail(p, f->pos, "field path too deep");
            return NULL;
        }
        p->i++;
        char *name = lk_sql_lex_ident(p->text, f);
        c->parts[c->nparts++] = lk_sql_ast_strdup(p->ast, name);
        free(name);
    }
    return c;
}

/* The depth of the tree under n, counted up to limit + 1 (the walk never goes deeper). */
static int tree_depth(const lk_sql_node *n, int limit)
{
    if (limit < 0) return 1;
    int d = 0;
    for (int i = 0; i < n->nargs && d <= limit; i++) {
        int c = n->args[i] ? tree_depth(n->args[i], limit - 1) : 0;
        if (c > d) d = c;
    }
    return 1 + d;
}

int lk_sql_parse(const char *text, int allow_alias, lk_sql_ast **out, lk_error *err)
{
    *out = NULL;
    lk_sql_ast *a = calloc(1, sizeof *a);
    if (!a) abort();
    a->text = strdup(text);
    if (!a->text) abort();
    parser P = {.ast = a, .text = a->text, .err = err};
    if (err) lk_error_clear(err);
    if (lk_sql_lex(a->text, strlen(a->text), &P.t, &P.n, err)) {
        lk_sql_ast_destroy(&a);
        return LK_EFORMAT;
    }
    a->root = expr(&P);
    if (a->root && allow_alias) {
        const lk_sql_token *t = peek(&P);
        int as = accept_kw(&P, "as");
        t = peek(&P);
        if ((t->kind == LK_TOK_IDENT && !reserved(&P, t)) || t->kind == LK_TOK_QIDENT) {
            char *name = lk_sql_lex_ident(a->text, t);
            a->alias = lk_sql_ast_strdup(a, name);
            free(name);
            P.i++;
        } else if (as) {
            fail(&P, t->pos, "expected a name after AS");
            a->root = NULL;
        }
    }
    /* MAX_DEPTH bounds nesting (parentheses, unary operators); a chain of binary operators
       ("a - b - c - ...", parsed in a loop) makes as deep a tree, which the checker and the
       planner walk recursively: fuzz_sql overflowed the stack with 1,793 bytes of it */
    if (a->root && tree_depth(a->root, MAX_DEPTH) > MAX_DEPTH) {
        fail(&P, a->root->pos, "expression nested too deeply (more than %d levels of operators)",
             MAX_DEPTH);
        a->root = NULL;
    }
    if (a->root && peek(&P)->kind != LK_TOK_EOF) {
        char got[64];
        tok_text(&P, peek(&P), got, sizeof got);
        fail(&P, peek(&P)->pos, "unexpected %s after the expression", got);
        a->root = NULL;
    }
    free(P.t);
    if (!a->root) {
        lk_sql_ast_destroy(&a);
        return LK_EFORMAT;
    }
    *out = a;
    return 0;
}

void lk_sql_ast_destroy(lk_sql_ast **ap)
{
    if (!ap || !*ap) return;
    lk_sql_ast *a = *ap;
    while (a->blocks) {
        block *b = a->blocks;
        a->blocks = b->next;
        free(b);
    }
    free(a->text);
    free(a);
    *ap = NULL;
}

lk_sql_node *lk_sql_ast_root(const lk_sql_ast *a)
{
    return a->root;
}

const char *lk_sql_ast_text(const lk_sql_ast *a)
{
    return a->text;
}

const char *lk_sql_ast_alias(const lk_sql_ast *a)
{
    return a->alias;
}
