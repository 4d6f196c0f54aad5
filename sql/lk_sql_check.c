/* lk_sql_check — names, functions and types; see lk_sql_check.h. */
#include "lk_sql_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lk_ddl.h"
#include "lk_sql_func.h"

typedef struct fn_spec {
    const char *name;
    int fn;
    int min, max; /* arity; max -1 = any */
} fn_spec;

static const fn_spec fns[] = {
    {"+", LK_FN_ADD, 2, 2},
    {"-", LK_FN_SUB, 2, 2},
    {"*", LK_FN_MUL, 2, 2},
    {"/", LK_FN_DIV, 2, 2},
    {"div", LK_FN_IDIV, 2, 2},
    {"%", LK_FN_MOD, 2, 2},
    {"mod", LK_FN_MOD, 2, 2},
    {"negative", LK_FN_NEG, 1, 1},
    {"&", LK_FN_BITAND, 2, 2},
    {"|", LK_FN_BITOR, 2, 2},
    {"^", LK_FN_BITXOR, 2, 2},
    {"~", LK_FN_BITNOT, 1, 1},
    {"=", LK_FN_EQ, 2, 2},
    {"<>", LK_FN_NE, 2, 2},
    {"<", LK_FN_LT, 2, 2},
    {"<=", LK_FN_LE, 2, 2},
    {">", LK_FN_GT, 2, 2},
    {">=", LK_FN_GE, 2, 2},
    {"<=>", LK_FN_NSEQ, 2, 2},
    {"and", LK_FN_AND, 2, 2},
    {"or", LK_FN_OR, 2, 2},
    {"not", LK_FN_NOT, 1, 1},
    {"isnull", LK_FN_ISNULL, 1, 1},
    {"isnotnull", LK_FN_ISNOTNULL, 1, 1},
    {"istrue", LK_FN_ISTRUE, 1, 1},
    {"isfalse", LK_FN_ISFALSE, 1, 1},
    {"in", LK_FN_IN, 2, -1},
    {"like", LK_FN_LIKE, 2, 3},
    {"ilike", LK_FN_ILIKE, 2, 2},
    {"rlike", LK_FN_RLIKE, 2, 2},
    {"regexp", LK_FN_RLIKE, 2, 2},
    {"regexp_like", LK_FN_RLIKE, 2, 2},
    {"if", LK_FN_IF, 3, 3},
    {"iff", LK_FN_IF, 3, 3},
    {"coalesce", LK_FN_COALESCE, 1, -1},
    {"nvl", LK_FN_COALESCE, 2, 2},
    {"ifnull", LK_FN_COALESCE, 2, 2},
    {"nullif", LK_FN_NULLIF, 2, 2},
    {"lower", LK_FN_LOWER, 1, 1},
    {"lcase", LK_FN_LOWER, 1, 1},
    {"upper", LK_FN_UPPER, 1, 1},
    {"ucase", LK_FN_UPPER, 1, 1},
    {"trim", LK_FN_TRIM, 1, 1},
    {"ltrim", LK_FN_LTRIM, 1, 1},
    {"rtrim", LK_FN_RTRIM, 1, 1},
    {"substring", LK_FN_SUBSTRING, 2, 3},
    {"substr", LK_FN_SUBSTRING, 2, 3},
    {"concat", LK_FN_CONCAT, 0, -1},
    {"concat_ws", LK_FN_CONCAT_WS, 1, -1},
    {"split", LK_FN_SPLIT, 2, 3},
    {"regexp_extract", LK_FN_REGEXP_EXTRACT, 2, 3},
    {"regexp_replace", LK_FN_REGEXP_REPLACE, 3, 4},
    {"length", LK_FN_LENGTH, 1, 1},
    {"char_length", LK_FN_LENGTH, 1, 1},
    {"character_length", LK_FN_LENGTH, 1, 1},
    {"sha2", LK_FN_SHA2, 2, 2},
    {"md5", LK_FN_MD5, 1, 1},
    {"sha1", LK_FN_SHA1, 1, 1},
    {"sha", LK_FN_SHA1, 1, 1},
    {"to_timestamp", LK_FN_TO_TIMESTAMP, 1, 2},
    {"to_date", LK_FN_TO_DATE, 1, 2},
    {"date_trunc", LK_FN_DATE_TRUNC, 2, 2},
    {"date_format", LK_FN_DATE_FORMAT, 2, 2},
    {"year", LK_FN_YEAR, 1, 1},
    {"quarter", LK_FN_QUARTER, 1, 1},
    {"month", LK_FN_MONTH, 1, 1},
    {"day", LK_FN_DAY, 1, 1},
    {"dayofmonth", LK_FN_DAY, 1, 1},
    {"dayofweek", LK_FN_DAYOFWEEK, 1, 1},
    {"dayofyear", LK_FN_DAYOFYEAR, 1, 1},
    {"hour", LK_FN_HOUR, 1, 1},
    {"minute", LK_FN_MINUTE, 1, 1},
    {"second", LK_FN_SECOND, 1, 1},
    {"unix_timestamp", LK_FN_UNIX_TIMESTAMP, 0, 2},
    {"to_unix_timestamp", LK_FN_UNIX_TIMESTAMP, 1, 2},
    {"from_unixtime", LK_FN_FROM_UNIXTIME, 1, 2},
    {"current_timestamp", LK_FN_CURRENT_TIMESTAMP, 0, 0},
    {"now", LK_FN_CURRENT_TIMESTAMP, 0, 0},
    {"current_date", LK_FN_CURRENT_DATE, 0, 0},
    {"curdate", LK_FN_CURRENT_DATE, 0, 0},
    {"date_add", LK_FN_DATE_ADD, 2, 2},
    {"date_sub", LK_FN_DATE_SUB, 2, 2},
    {"datediff", LK_FN_DATEDIFF, 2, 2},
    {"abs", LK_FN_ABS, 1, 1},
    {"round", LK_FN_ROUND, 1, 2},
    {"floor", LK_FN_FLOOR, 1, 2},
    {"ceil", LK_FN_CEIL, 1, 2},
    {"ceiling", LK_FN_CEIL, 1, 2},
    {"pow", LK_FN_POW, 2, 2},
    {"power", LK_FN_POW, 2, 2},
    {"greatest", LK_FN_GREATEST, 2, -1},
    {"least", LK_FN_LEAST, 2, -1},
    {"sqrt", LK_FN_SQRT, 1, 1},
    {"exp", LK_FN_EXP, 1, 1},
    {"ln", LK_FN_LN, 1, 1},
    {"sign", LK_FN_SIGN, 1, 1},
    {"signum", LK_FN_SIGN, 1, 1},
    {"get_json_object", LK_FN_GET_JSON_OBJECT, 2, 2},
    {"from_json", LK_FN_FROM_JSON, 2, 2},
    {".", LK_FN_GETFIELD, 1, 1},
    {"weekofyear", LK_FN_WEEKOFYEAR, 1, 1},
    {"months_between", LK_FN_MONTHS_BETWEEN, 2, 3},
    {"translate", LK_FN_TRANSLATE, 3, 3},
    {"last_day", LK_FN_LAST_DAY, 1, 1},
    {"add_months", LK_FN_ADD_MONTHS, 2, 2},
    {"trunc", LK_FN_TRUNC, 2, 2},
    {"next_day", LK_FN_NEXT_DAY, 2, 2},
    {"make_date", LK_FN_MAKE_DATE, 3, 3},
    {"timestamp_seconds", LK_FN_TIMESTAMP_SECONDS, 1, 1},
    {"timestamp_millis", LK_FN_TIMESTAMP_MILLIS, 1, 1},
    {"timestamp_micros", LK_FN_TIMESTAMP_MICROS, 1, 1},
    {"unix_seconds", LK_FN_UNIX_SECONDS, 1, 1},
    {"unix_millis", LK_FN_UNIX_MILLIS, 1, 1},
    {"unix_micros", LK_FN_UNIX_MICROS, 1, 1},
    {"unix_date", LK_FN_UNIX_DATE, 1, 1},
    {"date_from_unix_date", LK_FN_DATE_FROM_UNIX_DATE, 1, 1},
    {"extract(dayofweek_iso)", LK_FN_DAYOFWEEK_ISO, 1, 1},
    {"extract(second)", LK_FN_SECOND_FRACTION, 1, 1},
    {"extract(yearofweek)", LK_FN_YEAROFWEEK, 1, 1},
    {"lpad", LK_FN_LPAD, 2, 3},
    {"rpad", LK_FN_RPAD, 2, 3},
    {"replace", LK_FN_REPLACE, 2, 3},
    {"instr", LK_FN_INSTR, 2, 2},
    {"locate", LK_FN_LOCATE, 2, 3},
    {"position", LK_FN_LOCATE, 2, 3},
    {"left", LK_FN_LEFT, 2, 2},
    {"right", LK_FN_RIGHT, 2, 2},
    {"initcap", LK_FN_INITCAP, 1, 1},
    {"reverse", LK_FN_REVERSE, 1, 1},
    {"startswith", LK_FN_STARTSWITH, 2, 2},
    {"endswith", LK_FN_ENDSWITH, 2, 2},
    {"contains", LK_FN_CONTAINS, 2, 2},
    {"substring_index", LK_FN_SUBSTRING_INDEX, 3, 3},
    {"repeat", LK_FN_REPEAT, 2, 2},
    {"octet_length", LK_FN_OCTET_LENGTH, 1, 1},
    {"log10", LK_FN_LOG10, 1, 1},
    {"log2", LK_FN_LOG2, 1, 1},
    {"log", LK_FN_LOG, 1, 2},
    {"cbrt", LK_FN_CBRT, 1, 1},
    {"isnan", LK_FN_ISNAN, 1, 1},
    {"nanvl", LK_FN_NANVL, 2, 2},
    {"[]", LK_FN_SUBSCRIPT, 2, 2},
    {"element_at", LK_FN_ELEMENT_AT, 2, 2},
    {"size", LK_FN_SIZE, 1, 1},
    {"cardinality", LK_FN_SIZE, 1, 1},
    {"array_contains", LK_FN_ARRAY_CONTAINS, 2, 2},
    {"+ interval", LK_FN_TS_INTERVAL, 1, 1}, /* the checker's: no text calls it */
    /* TRIM([BOTH|LEADING|TRAILING] chars FROM s): the parser's (s, chars) */
    {"trim from", LK_FN_TRIM, 2, 2},
    {"ltrim from", LK_FN_LTRIM, 2, 2},
    {"rtrim from", LK_FN_RTRIM, 2, 2},
};
#define NFNS ((int)(sizeof fns / sizeof fns[0]))

static const char *const aggregates[] = {"count",
                                         "sum",
                                         "avg",
                                         "mean",
                                         "min",
                                         "max",
                                         "approx_count_distinct",
                                         "approx_percentile",
                                         "first",
                                         "last",
                                         "collect_list",
                                         "collect_set"};

const char *lk_sql_check_fn_name(int fn)
{
    if (fn == LK_FN_CAST) return "cast";
    if (fn == LK_FN_CASE) return "case";
    for (int i = 0; i < NFNS; i++)
        if (fns[i].fn == fn) return fns[i].name;
    return "?";
}

const lk_sql_node *lk_sql_check_unknown_call(const lk_sql_node *n)
{
    if (n->kind == LK_SQL_CALL && n->name && !lk_sql_check_is_function(n->name)) return n;
    for (int i = 0; i < n->nargs; i++) {
        const lk_sql_node *u = lk_sql_check_unknown_call(n->args[i]);
        if (u) return u;
    }
    return NULL;
}

int lk_sql_check_is_function(const char *name)
{
    for (int i = 0; i < NFNS; i++)
        if (!strcasecmp(fns[i].name, name)) return 1;
    return 0;
}

typedef struct ck {
    lk_sql_ast *ast;
    const lk_sql_binder *b;
    lk_error *err;
    const char *text;
} ck;

static int cerr(ck *c, int pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int cerr(ck *c, int pos, const char *fmt, ...)
{
    char what[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    lk_error_set(c->err, LK_EFORMAT, "position %d: %s", lk_sql_column_of(c->text, pos), what);
    return -1;
}

static const char *tname(const lk_sql_node *n)
{
    return n->ty ? lk_type_name(n->ty) : "null";
}

static int is_intlike(lk_type t)
{
    return t == LK_TYPE_BYTE || t == LK_TYPE_SHORT || t == LK_TYPE_INTEGER || t == LK_TYPE_LONG;
}

static int is_numeric(lk_type t)
{
    return is_intlike(t) || t == LK_TYPE_FLOAT || t == LK_TYPE_DOUBLE || t == LK_TYPE_DECIMAL;
}

/* The type arithmetic computes in: INTEGER, LONG or DOUBLE (strings as double). */
static lk_type canon(lk_type t)
{
    switch (t) {
    case LK_TYPE_BYTE:
    case LK_TYPE_SHORT:
    case LK_TYPE_INTEGER:
        return LK_TYPE_INTEGER;
    case LK_TYPE_LONG:
        return LK_TYPE_LONG;
    case LK_TYPE_FLOAT:
    case LK_TYPE_DOUBLE:
    case LK_TYPE_DECIMAL:
    case LK_TYPE_STRING:
        return LK_TYPE_DOUBLE;
    default:
        return t;
    }
}

static int rank(lk_type t)
{
    return t == LK_TYPE_INTEGER ? 1 : t == LK_TYPE_LONG ? 2 : 3;
}

/* a wrapped in an implicit cast to t (a itself when it has that type; an
   untyped NULL literal just takes it). */
static lk_sql_node *cast_to(ck *c, lk_sql_node *a, lk_type t)
{
    if (a->ty == t && t != LK_TYPE_DECIMAL) return a;
    if (a->kind == LK_SQL_LIT && a->lit_type == 0) {
        lk_sql_node *n = lk_sql_ast_node(c->ast, LK_SQL_LIT, a->pos);
        n->ty = t;
        return n;
    }
    if (a->kind == LK_SQL_LIT && a->lit_type == LK_TYPE_DECIMAL && t == LK_TYPE_DOUBLE) {
        /* a decimal literal among doubles (amount * 0.92) is the double nearest to its text (the
           parser's strtod, as Spark's decimal-to-double), not a cast per row */
        lk_sql_node *n = lk_sql_ast_node(c->ast, LK_SQL_LIT, a->pos);
        n->lit_type = LK_TYPE_DOUBLE;
        n->d = a->d;
        n->ty = t;
        return n;
    }
    lk_sql_node *n = lk_sql_ast_node(c->ast, LK_SQL_CAST, a->pos);
    n->nargs = 1;
    n->args = lk_sql_ast_args(c->ast, 1);
    n->args[0] = a;
    n->ty = t;
    n->fn = LK_FN_CAST;
    return n;
}

/* ---- DECIMAL types: Spark's DecimalPrecision rules (allowPrecisionLoss, the default) ---- */

/* The decimal type a value takes among decimals: its own; an integer's (3, 5, 10, 20 digits);
   with lit_min, an integer literal's own digits (Spark picks a literal's minimum precision in
   arithmetic and comparisons, not in IN, CASE, coalesce, ...). 0 when it has none (double, float,
   string, ...). */
static int dec_of(const lk_sql_node *a, int lit_min, int *p, int *s)
{
    if (a->ty == LK_TYPE_DECIMAL) {
        *p = a->ty_precision;
        *s = a->ty_scale;
        return 1;
    }
    if (!is_intlike(a->ty)) return 0;
    *s = 0;
    const lk_sql_node *v = lk_sql_node_value(a);
    if (lit_min && v->kind == LK_SQL_LIT && is_intlike(v->lit_type)) {
        uint64_t m = v->i < 0 ? 0 - (uint64_t)v->i : (uint64_t)v->i;
        int d = 1;
        while (m >= 10) {
            m /= 10;
            d++;
        }
        *p = d;
        return 1;
    }
    *p = a->ty == LK_TYPE_BYTE ? 3 : a->ty == LK_TYPE_SHORT ? 5 : a->ty == LK_TYPE_INTEGER ? 10 : 20;
    return 1;
}

/* An arithmetic result beyond 38 digits keeps its integer digits and gives up scale, down to 6
   (DecimalType.adjustPrecisionScale). */
static void dec_adjust(int *p, int *s)
{
    if (*p <= 38) return;
    int intd = *p - *s, mins = *s < 6 ? *s : 6;
    *s = 38 - intd > mins ? 38 - intd : mins;
    *p = 38;
}

/* The common decimal type of values when one is a decimal and every other one is a decimal, an
   integer or null: the widest integer part and scale, bounded at 38 (Spark's widerDecimalType).
   Values are folded one at a time (dec_fold), then dec_result says whether decimals apply. */
typedef struct dec_acc {
    int lit_min; /* comparisons: integer literals at their own digits */
    int any, other, intd, sc;
} dec_acc;

static void dec_fold(dec_acc *d, const lk_sql_node *a)
{
    int ap, as;
    if (!a->ty) return;
    if (!dec_of(a, d->lit_min, &ap, &as)) {
        d->other = 1;
        return;
    }
    d->any |= a->ty == LK_TYPE_DECIMAL;
    if (ap - as > d->intd) d->intd = ap - as;
    if (as > d->sc) d->sc = as;
}

static int dec_result(const dec_acc *d, int *p, int *s)
{
    if (!d->any || d->other) return 0;
    *p = d->intd + d->sc > 38 ? 38 : d->intd + d->sc;
    *s = d->sc > 38 ? 38 : d->sc;
    return 1;
}

/* dec_fold over args[0..n), then dec_result. */
static int dec_common(lk_sql_node *const *args, int n, int lit_min, int *p, int *s)
{
    dec_acc d = {lit_min, 0, 0, 0, 0};
    for (int k = 0; k < n; k++)
        dec_fold(&d, args[k]);
    return dec_result(&d, p, s);
}

/* a as DECIMAL(p, s) (a itself when it is one). */
static lk_sql_node *cast_dec(ck *c, lk_sql_node *a, int p, int s)
{
    if (a->ty == LK_TYPE_DECIMAL && a->ty_precision == p && a->ty_scale == s) return a;
    lk_sql_node *n = cast_to(c, a, LK_TYPE_DECIMAL);
    n->ty_precision = p;
    n->ty_scale = s;
    return n;
}

static void set_dec(lk_sql_node *n, int p, int s)
{
    n->ty = LK_TYPE_DECIMAL;
    n->ty_precision = p;
    n->ty_scale = s;
}

/* + - * / % div over decimals and integers (at least one decimal, no double, float or string):
   the arguments as their decimal types, the result's type set. 1 done, 0 not decimal. */
static int dec_arith(ck *c, lk_sql_node *n)
{
    lk_sql_node **a = n->args;
    if (a[0]->ty != LK_TYPE_DECIMAL && a[1]->ty != LK_TYPE_DECIMAL) return 0;
    int p1 = 0, s1 = 0, p2 = 0, s2 = 0;
    if ((a[0]->ty && !dec_of(a[0], 1, &p1, &s1)) || (a[1]->ty && !dec_of(a[1], 1, &p2, &s2)))
        return 0;
    if (!a[0]->ty) p1 = p2, s1 = s2; /* NULL takes the other side's type */
    if (!a[1]->ty) p2 = p1, s2 = s1;
    int p, s;
    switch (n->fn) {
    case LK_FN_ADD:
    case LK_FN_SUB:
        s = s1 > s2 ? s1 : s2;
        p = (p1 - s1 > p2 - s2 ? p1 - s1 : p2 - s2) + s + 1;
        break;
    case LK_FN_MUL:
        p = p1 + p2 + 1;
        s = s1 + s2;
        break;
    case LK_FN_DIV:
        s = 6 > s1 + p2 + 1 ? 6 : s1 + p2 + 1;
        p = p1 - s1 + s2 + s;
        break;
    case LK_FN_MOD:
        s = s1 > s2 ? s1 : s2;
        p = (p1 - s1 < p2 - s2 ? p1 - s1 : p2 - s2) + s;
        break;
    default: /* div: a long */
        p = s = 0;
        break;
    }
    a[0] = cast_dec(c, a[0], p1, s1);
    a[1] = cast_dec(c, a[1], p2, s2);
    if (n->fn == LK_FN_IDIV) {
        n->ty = LK_TYPE_LONG;
        return 1;
    }
    dec_adjust(&p, &s);
    set_dec(n, p, s);
    return 1;
}

static int scalar(lk_type t)
{
    return t == 0 || !lk_type_is_nested(t);
}

/* The common type two values are compared in, or -1. */
static int cmp_type(lk_type a, lk_type b)
{
    if (!a) return b ? (int)(is_numeric(b) ? canon(b) : b) : LK_TYPE_INTEGER;
    if (!b) return is_numeric(a) ? (int)canon(a) : (int)a;
    if (!scalar(a) || !scalar(b) || a == LK_TYPE_BINARY || b == LK_TYPE_BINARY) return -1;
    if (a == b) return is_numeric(a) ? (int)canon(a) : (int)a;
    if (is_numeric(a) && is_numeric(b))
        return rank(canon(a)) >= rank(canon(b)) ? (int)canon(a) : (int)canon(b);
    if (a == LK_TYPE_STRING) return is_numeric(b) ? (int)canon(b) : (int)b;
    if (b == LK_TYPE_STRING) return is_numeric(a) ? (int)canon(a) : (int)a;
    if ((a == LK_TYPE_DATE && b == LK_TYPE_TIMESTAMP) ||
        (b == LK_TYPE_DATE && a == LK_TYPE_TIMESTAMP))
        return LK_TYPE_TIMESTAMP;
    return -1;
}

/* Spark's numeric precedence (TypeCoercion.numericPrecedence: TINYINT, SMALLINT, INT, BIGINT,
   FLOAT, DOUBLE): the wider of two numbers that are not decimals is the later one; a decimal met
   here (the decimal rules did not take it: with a float or double) makes a double. */
static lk_type num_wider(lk_type a, lk_type b)
{
    static const lk_type order[] = {LK_TYPE_BYTE, LK_TYPE_SHORT, LK_TYPE_INTEGER,
                                    LK_TYPE_LONG, LK_TYPE_FLOAT, LK_TYPE_DOUBLE};
    if (a == LK_TYPE_DECIMAL || b == LK_TYPE_DECIMAL) return LK_TYPE_DOUBLE;
    int ia = 0, ib = 0;
    for (int k = 0; k < 6; k++) {
        if (order[k] == a) ia = k;
        if (order[k] == b) ib = k;
    }
    return order[ia > ib ? ia : ib];
}

/* The wider type of two branches (CASE, COALESCE, ...), or -1: numbers by Spark's precedence,
   so that TINYINT, SMALLINT and FLOAT branches stay what they are. */
static int wide_type(lk_type a, lk_type b)
{
    if (!a) return b;
    if (!b) return a;
    if (a == b) return a == LK_TYPE_DECIMAL ? LK_TYPE_DOUBLE : (int)a;
    if (!scalar(a) || !scalar(b)) return -1;
    if (is_numeric(a) && is_numeric(b)) return num_wider(a, b);
    if (a == LK_TYPE_STRING || b == LK_TYPE_STRING) return LK_TYPE_STRING;
    if ((a == LK_TYPE_DATE && b == LK_TYPE_TIMESTAMP) ||
        (b == LK_TYPE_DATE && a == LK_TYPE_TIMESTAMP))
        return LK_TYPE_TIMESTAMP;
    return -1;
}

static int check(ck *c, lk_sql_node *n);

static int is_const(const lk_sql_node *n)
{
    n = lk_sql_node_value(n);
    return n->kind == LK_SQL_LIT;
}

/* A constant string argument (format, pattern, schema, unit). */
/* What from_json cannot read in f's type tree (a BINARY, a MAP whose key is not a STRING):
   1 with the field's path and the reason in out, else 0. */
static int json_unsupported(const lk_field *f, char *out, size_t cap)
{
    for (int i = 0; i < f->n_children; i++) {
        const lk_field *ch = &f->children[i];
        const char *why = ch->type == LK_TYPE_BINARY ? "BINARY is not read from JSON"
                          : ch->type == LK_TYPE_MAP && ch->children[0].type != LK_TYPE_STRING
                              ? "a MAP's key must be STRING (JSON keys are strings)"
                              : NULL;
        if (why) {
            snprintf(out, cap, "%s: %s", ch->name, why);
            return 1;
        }
        if (json_unsupported(ch, out, cap)) {
            if (f->type == LK_TYPE_STRUCT && strlen(ch->name) + 1 + strlen(out) < cap) {
                memmove(out + strlen(ch->name) + 1, out, strlen(out) + 1);
                memcpy(out, ch->name, strlen(ch->name));
                out[strlen(ch->name)] = '.';
            }
            return 1;
        }
    }
    return 0;
}

static int need_string_lit(ck *c, lk_sql_node *call, int i, const char *what)
{
    lk_sql_node *a = call->args[i];
    if (a->kind != LK_SQL_LIT || (a->lit_type != LK_TYPE_STRING && a->lit_type != 0))
        return cerr(c, a->pos, "the %s of %s must be a string literal", what, call->name);
    return 0;
}

static int need_int_lit(ck *c, lk_sql_node *call, int i, const char *what)
{
    lk_sql_node *a = call->args[i];
    if (a->kind != LK_SQL_LIT || (a->lit_type != LK_TYPE_INTEGER && a->lit_type != LK_TYPE_LONG &&
                                  a->lit_type != LK_TYPE_SHORT && a->lit_type != LK_TYPE_BYTE))
        return cerr(c, a->pos, "the %s of %s must be an integer literal", what, call->name);
    return 0;
}

static int arg_as(ck *c, lk_sql_node *n, int i, lk_type t, const char *what)
{
    lk_sql_node *a = n->args[i];
    if (!scalar(a->ty) || a->ty == LK_TYPE_BINARY)
        return cerr(c, a->pos, "%s of %s must be %s, not %s", what, n->name, lk_type_name(t),
                    tname(a));
    if (t == LK_TYPE_BOOLEAN && a->ty && a->ty != LK_TYPE_BOOLEAN)
        return cerr(c, a->pos, "%s of %s must be boolean, not %s", what, n->name, tname(a));
    if ((is_numeric(t) || t == LK_TYPE_DOUBLE) && a->ty && !is_numeric(a->ty) &&
        a->ty != LK_TYPE_STRING)
        return cerr(c, a->pos, "%s of %s must be numeric, not %s", what, n->name, tname(a));
    if ((t == LK_TYPE_DATE || t == LK_TYPE_TIMESTAMP) && a->ty && a->ty != LK_TYPE_DATE &&
        a->ty != LK_TYPE_TIMESTAMP && a->ty != LK_TYPE_STRING && a->ty != LK_TYPE_TIMESTAMP_NTZ)
        return cerr(c, a->pos, "%s of %s must be a date or timestamp, not %s", what, n->name,
                    tname(a));
    n->args[i] = cast_to(c, a, t);
    return 0;
}

static int all_as(ck *c, lk_sql_node *n, int from, lk_type t)
{
    for (int i = from; i < n->nargs; i++)
        if (arg_as(c, n, i, t, "an argument")) return -1;
    return 0;
}

static int numeric_arg(ck *c, lk_sql_node *n, int i)
{
    lk_sql_node *a = n->args[i];
    if (a->ty && !is_numeric(a->ty) && a->ty != LK_TYPE_STRING)
        return cerr(c, a->pos, "%s needs a number, not %s", n->name, tname(a));
    return 0;
}

/* NULLIF once its two arguments are in their common type: its value and type are those of the
   first argument as written (orig); when the common type changed it, the node takes three
   arguments: orig, then the two to compare (lk_sql_func's k_nullif). */
static int nullif_args(ck *c, lk_sql_node *n, lk_sql_node *orig)
{
    lk_sql_node *cmp0 = n->args[0], *cmp1 = n->args[1];
    if (!orig->ty) orig = cmp0; /* a NULL: the common type */
    n->ty = orig->ty;
    n->ty_precision = orig->ty_precision;
    n->ty_scale = orig->ty_scale;
    n->ty_field = orig->ty_field;
    if (orig == cmp0) return 0;
    n->args = lk_sql_ast_args(c->ast, 3);
    n->args[0] = orig;
    n->args[1] = cmp0;
    n->args[2] = cmp1;
    n->nargs = 3;
    return 0;
}

/* 1 when IN's values mix a string with another scalar type Spark promotes to a string (a number,
   a date, a timestamp; not a boolean or binary). */
static int in_as_strings(lk_sql_node *const *a, int n)
{
    int str = 0, other = 0;
    for (int i = 0; i < n; i++) {
        lk_type t = a[i]->ty;
        if (!t) continue; /* an untyped NULL */
        if (t == LK_TYPE_STRING)
            str = 1;
        else if (!scalar(t) || t == LK_TYPE_BOOLEAN || t == LK_TYPE_BINARY)
            return 0;
        else
            other = 1;
    }
    return str && other;
}

static int type_call(ck *c, lk_sql_node *n, const fn_spec *f);

/* A node that calls fn over one argument a, of type ty. */
static lk_sql_node *call_of(ck *c, int fn, const char *name, lk_sql_node *a, lk_type ty, int pos)
{
    lk_sql_node *k = lk_sql_ast_node(c->ast, LK_SQL_CALL, pos);
    k->name = lk_sql_ast_strdup(c->ast, name);
    k->fn = fn;
    k->nargs = 1;
    k->args = lk_sql_ast_args(c->ast, 1);
    k->args[0] = a;
    k->ty = ty;
    return k;
}

/* n becomes CAST(a AS ty). */
static void become_cast(ck *c, lk_sql_node *n, lk_sql_node *a, lk_type ty)
{
    n->kind = LK_SQL_CAST;
    n->name = NULL;
    n->fn = LK_FN_CAST;
    n->nargs = 1;
    n->args = lk_sql_ast_args(c->ast, 1);
    n->args[0] = a;
    n->ty = ty;
}

/* The type Spark's +, -, *, % (and unary -, abs) give two operands of types a and b that are not
   decimals: the wider by numeric precedence (a string counts as a double, an untyped null as
   the other operand); TINYINT + TINYINT is a TINYINT, FLOAT * INT a FLOAT. */
static lk_type spark_arith_type(lk_type a, lk_type b)
{
    if (a == LK_TYPE_STRING) a = LK_TYPE_DOUBLE;
    if (b == LK_TYPE_STRING) b = LK_TYPE_DOUBLE;
    if (!a) a = b;
    if (!b) b = a;
    if (!a) return LK_TYPE_INTEGER;
    return num_wider(a, b);
}

/* Arithmetic n, computed in INTEGER or DOUBLE (the kernels' types), gives Spark's TINYINT,
   SMALLINT or FLOAT st: n becomes a cast of its value to st. Spark computes a byte or short
   operation in an int and narrows it (Java's (byte), wrapping), which is that cast; a float
   operation's +, -, * and % computed in double and rounded once to float are the float
   operation's result (53 bits of significand hold what two 24-bit ones need: double rounding
   is innocuous, Figueroa 1995). docs/decisions.md, "TINYINT, SMALLINT and FLOAT keep their
   type". */
static int narrow(ck *c, lk_sql_node *n, lk_type st)
{
    if (st != LK_TYPE_BYTE && st != LK_TYPE_SHORT && st != LK_TYPE_FLOAT) return 0;
    lk_sql_node *in = lk_sql_ast_node(c->ast, n->kind, n->pos);
    *in = *n;
    become_cast(c, n, in, st);
    return 0;
}

/* x + INTERVAL, x - INTERVAL, INTERVAL + x, as Spark's ResolveBinaryArithmetic: a date plus a
   day-time interval of days alone (DayTimeIntervalType(DAY, DAY)) is date_add, plus months
   add_months, plus any other day-time interval a TIMESTAMP (TimeAdd over the date cast); a
   timestamp stays one; a string is read as a timestamp and the result written back as a string.
   (Spark 3.5 makes no CalendarIntervalType of a literal, so its DateAddInterval does not arise.)
   An interval is never a value of its own: only here. */
static int interval_arith(ck *c, lk_sql_node *n)
{
    lk_sql_node **a = n->args;
    int sub = n->fn == LK_FN_SUB;
    if (a[0]->kind == LK_SQL_INTERVAL && a[1]->kind == LK_SQL_INTERVAL)
        return cerr(c, a[1]->pos,
                    "an INTERVAL plus or minus an INTERVAL is not supported: write one INTERVAL "
                    "(INTERVAL 1 DAY 2 HOURS)");
    if (a[0]->kind == LK_SQL_INTERVAL) {
        if (sub)
            return cerr(c, n->pos, "cannot subtract a value from an INTERVAL (write x - INTERVAL ...)");
        lk_sql_node *t = a[0];
        a[0] = a[1];
        a[1] = t;
    }
    lk_sql_node *iv = a[1];
    if (check(c, a[0])) return -1;
    lk_sql_node *x = a[0];
    int64_t us = sub ? -iv->iv_us : iv->iv_us;
    int32_t months = sub ? -iv->iv_months : iv->iv_months;
    lk_type t = x->ty;
    if (t == LK_TYPE_STRING && iv->iv_kind == 1)
        return cerr(c, x->pos,
                    "a string plus a year-month INTERVAL is not supported: read it as a date or "
                    "timestamp first (to_timestamp(x) + INTERVAL ...)");
    if (t != LK_TYPE_DATE && t != LK_TYPE_TIMESTAMP && t != LK_TYPE_TIMESTAMP_NTZ &&
        t != LK_TYPE_STRING)
        return cerr(c, x->pos, "an INTERVAL is added to a date or timestamp, not to %s", tname(x));
    if (t == LK_TYPE_DATE && (iv->iv_kind == 1 || iv->iv_days_only)) {
        /* date_add(x, days) or add_months(x, months): a DATE */
        lk_sql_node *k = lk_sql_ast_node(c->ast, LK_SQL_LIT, iv->pos);
        k->lit_type = k->ty = LK_TYPE_INTEGER;
        k->i = iv->iv_kind == 1 ? months : us / 86400000000LL;
        k->d = (double)k->i;
        n->name = lk_sql_ast_strdup(c->ast, iv->iv_kind == 1 ? "add_months" : "date_add");
        n->fn = iv->iv_kind == 1 ? LK_FN_ADD_MONTHS : LK_FN_DATE_ADD;
        a[1] = k;
        n->ty = LK_TYPE_DATE;
        return 0;
    }
    lk_type tt = t == LK_TYPE_TIMESTAMP_NTZ ? t : LK_TYPE_TIMESTAMP;
    lk_sql_node *k = call_of(c, LK_FN_TS_INTERVAL, "+ interval", cast_to(c, x, tt), tt, n->pos);
    k->iv_kind = iv->iv_kind;
    k->iv_months = months;
    k->iv_us = us;
    if (t == LK_TYPE_STRING) /* Cast(TimeAdd(l, r), l.dataType) */
        become_cast(c, n, k, LK_TYPE_STRING);
    else
        *n = *k;
    return 0;
}

static int check_call(ck *c, lk_sql_node *n)
{
    int k = 0;
    while (k < NFNS && strcmp(fns[k].name, n->name))
        k++;
    if (k == NFNS) {
        for (size_t i = 0; i < sizeof aggregates / sizeof aggregates[0]; i++)
            if (!strcmp(aggregates[i], n->name))
                return cerr(c, n->pos,
                            "aggregate function '%s' is not allowed here (a transform works row by "
                            "row)",
                            n->name);
        return cerr(c, n->pos, "unknown function '%s'", n->name);
    }
    const fn_spec *f = &fns[k];
    if (n->nargs < f->min || (f->max >= 0 && n->nargs > f->max)) {
        if (f->min == f->max)
            return cerr(c, n->pos, "%s takes %d argument%s, not %d", n->name, f->min,
                        f->min == 1 ? "" : "s", n->nargs);
        if (f->max < 0)
            return cerr(c, n->pos, "%s takes at least %d argument%s, not %d", n->name, f->min,
                        f->min == 1 ? "" : "s", n->nargs);
        return cerr(c, n->pos, "%s takes %d to %d arguments, not %d", n->name, f->min, f->max,
                    n->nargs);
    }
    n->fn = f->fn;
    if ((f->fn == LK_FN_ADD || f->fn == LK_FN_SUB) &&
        (n->args[0]->kind == LK_SQL_INTERVAL || n->args[1]->kind == LK_SQL_INTERVAL))
        return interval_arith(c, n);
    for (int i = 0; i < n->nargs; i++) {
        if (n->args[i]->kind == LK_SQL_STAR)
            return cerr(c, n->args[i]->pos, "'*' is not an argument of %s", n->name);
        if (check(c, n->args[i])) return -1;
    }
    return type_call(c, n, f);
}

/* The type rule of call n (its arguments checked): apart from check_call so that its frame, large
   in a build without optimisation (every case's locals, with ASan their red zones: ~30 KiB), is
   not on the stack of the recursion over the arguments (a 200-deep expression overflowed the
   fuzzer's 8 MiB stack). */
static __attribute__((noinline)) int type_call(ck *c, lk_sql_node *n, const fn_spec *f)
{
    lk_sql_node **a = n->args;
    switch (f->fn) {
    case LK_FN_ADD:
    case LK_FN_SUB:
        if ((a[0]->ty == LK_TYPE_DATE && (is_intlike(a[1]->ty) || !a[1]->ty))) {
            n->fn = f->fn == LK_FN_ADD ? LK_FN_DATE_ADD : LK_FN_DATE_SUB;
            n->ty = LK_TYPE_DATE;
            return arg_as(c, n, 1, LK_TYPE_INTEGER, "the days");
        }
        if (f->fn == LK_FN_ADD && is_intlike(a[0]->ty) && a[1]->ty == LK_TYPE_DATE) {
            lk_sql_node *t = a[0];
            a[0] = a[1];
            a[1] = t;
            n->fn = LK_FN_DATE_ADD;
            n->ty = LK_TYPE_DATE;
            return arg_as(c, n, 1, LK_TYPE_INTEGER, "the days");
        }
        if (f->fn == LK_FN_SUB && a[0]->ty == LK_TYPE_DATE && a[1]->ty == LK_TYPE_DATE) {
            n->fn = LK_FN_DATEDIFF;
            n->ty = LK_TYPE_INTEGER;
            return 0;
        }
        /* fall through */
    case LK_FN_MUL:
    case LK_FN_MOD: {
        if (numeric_arg(c, n, 0) || numeric_arg(c, n, 1)) return -1;
        if (dec_arith(c, n)) return 0;
        lk_type st = spark_arith_type(a[0]->ty, a[1]->ty);
        if (st == LK_TYPE_FLOAT) /* each operand made a float first, as Spark's cast does */
            for (int i = 0; i < 2; i++)
                a[i] = cast_to(c, a[i], LK_TYPE_FLOAT);
        int t = wide_type(a[0]->ty ? canon(a[0]->ty) : 0, a[1]->ty ? canon(a[1]->ty) : 0);
        if (t <= 0) t = LK_TYPE_INTEGER;
        n->ty = (lk_type)t;
        if (all_as(c, n, 0, n->ty)) return -1;
        return narrow(c, n, st);
    }
    case LK_FN_DIV:
        if (numeric_arg(c, n, 0) || numeric_arg(c, n, 1)) return -1;
        if (dec_arith(c, n)) return 0;
        n->ty = LK_TYPE_DOUBLE;
        return all_as(c, n, 0, LK_TYPE_DOUBLE);
    case LK_FN_IDIV:
        if (numeric_arg(c, n, 0) || numeric_arg(c, n, 1)) return -1;
        if (dec_arith(c, n)) return 0;
        n->ty = LK_TYPE_LONG;
        return all_as(c, n, 0, LK_TYPE_LONG);
    case LK_FN_NEG:
    case LK_FN_ABS:
        if (numeric_arg(c, n, 0)) return -1;
        if (a[0]->ty == LK_TYPE_DECIMAL) {
            set_dec(n, a[0]->ty_precision, a[0]->ty_scale);
            return 0;
        }
        lk_type st = spark_arith_type(a[0]->ty, a[0]->ty); /* before the cast below */
        n->ty = a[0]->ty ? canon(a[0]->ty) : LK_TYPE_INTEGER;
        if (all_as(c, n, 0, n->ty)) return -1;
        return narrow(c, n, st);
    case LK_FN_BITAND:
    case LK_FN_BITOR:
    case LK_FN_BITXOR:
    case LK_FN_BITNOT: {
        int t = LK_TYPE_INTEGER;
        for (int i = 0; i < n->nargs; i++) {
            if (a[i]->ty && !is_intlike(a[i]->ty))
                return cerr(c, a[i]->pos, "%s needs integers, not %s", n->name, tname(a[i]));
            if (a[i]->ty == LK_TYPE_LONG) t = LK_TYPE_LONG;
        }
        n->ty = (lk_type)t;
        return all_as(c, n, 0, n->ty);
    }
    case LK_FN_EQ:
    case LK_FN_NE:
    case LK_FN_LT:
    case LK_FN_LE:
    case LK_FN_GT:
    case LK_FN_GE:
    case LK_FN_NSEQ:
    case LK_FN_NULLIF:
    case LK_FN_IN: {
        /* nullif(a, b) is if(a = b, null, a) in Spark: a's own value and type; the comparison
           in the common type (the arguments become a, a as that type, b as that type) */
        lk_sql_node *orig = a[0];
        int dp, ds;
        if (f->fn == LK_FN_IN && in_as_strings(a, n->nargs)) {
            /* Spark's InConversion: the wider common type of a string and a number, date or
               timestamp is a string (stringPromotion), so 1 IN ('1.0') compares texts; = casts
               the string instead (PromoteStrings) */
            for (int i = 0; i < n->nargs; i++)
                a[i] = cast_to(c, a[i], LK_TYPE_STRING);
            n->ty = LK_TYPE_BOOLEAN;
            return 0;
        }
        if (dec_common(a, n->nargs, f->fn != LK_FN_IN, &dp, &ds)) {
            for (int i = 0; i < n->nargs; i++)
                a[i] = cast_dec(c, a[i], dp, ds);
            n->ty = LK_TYPE_BOOLEAN;
            if (f->fn == LK_FN_NULLIF) return nullif_args(c, n, orig);
            return 0;
        }
        int t = a[0]->ty;
        for (int i = 1; i < n->nargs; i++) {
            int u = cmp_type((lk_type)t, a[i]->ty);
            if (u < 0)
                return cerr(c, a[i]->pos, "cannot compare %s with %s", lk_type_name((lk_type)t),
                            tname(a[i]));
            t = u;
        }
        if (t == 0) t = LK_TYPE_INTEGER;
        if (!scalar((lk_type)t))
            return cerr(c, n->pos, "cannot compare %s values", lk_type_name((lk_type)t));
        for (int i = 0; i < n->nargs; i++)
            a[i] = cast_to(c, a[i], (lk_type)t);
        n->ty = LK_TYPE_BOOLEAN;
        if (f->fn == LK_FN_NULLIF) return nullif_args(c, n, orig);
        return 0;
    }
    case LK_FN_AND:
    case LK_FN_OR:
    case LK_FN_NOT:
    case LK_FN_ISTRUE:
    case LK_FN_ISFALSE:
        n->ty = LK_TYPE_BOOLEAN;
        for (int i = 0; i < n->nargs; i++)
            if (a[i]->ty && a[i]->ty != LK_TYPE_BOOLEAN)
                return cerr(c, a[i]->pos, "%s needs a boolean, not %s",
                            f->fn == LK_FN_NOT   ? "NOT"
                            : f->fn == LK_FN_AND ? "AND"
                            : f->fn == LK_FN_OR  ? "OR"
                                                 : "IS TRUE/FALSE",
                            tname(a[i]));
        return all_as(c, n, 0, LK_TYPE_BOOLEAN);
    case LK_FN_ISNULL:
    case LK_FN_ISNOTNULL:
        n->ty = LK_TYPE_BOOLEAN;
        return 0;
    case LK_FN_LIKE:
    case LK_FN_ILIKE:
    case LK_FN_RLIKE:
        n->ty = LK_TYPE_BOOLEAN;
        if (n->nargs == 3 && need_string_lit(c, n, 2, "escape character")) return -1;
        if (f->fn == LK_FN_RLIKE && !is_const(a[1]))
            return cerr(c, a[1]->pos, "the pattern of RLIKE must be a constant");
        return all_as(c, n, 0, LK_TYPE_STRING);
    case LK_FN_IF: {
        if (arg_as(c, n, 0, LK_TYPE_BOOLEAN, "the condition")) return -1;
        int dp, ds;
        if (dec_common(a + 1, 2, 0, &dp, &ds)) {
            a[1] = cast_dec(c, a[1], dp, ds);
            a[2] = cast_dec(c, a[2], dp, ds);
            set_dec(n, dp, ds);
            return 0;
        }
        int t = wide_type(a[1]->ty, a[2]->ty);
        if (t < 0)
            return cerr(c, n->pos,
                        "the branches of if have types %s and %s, which have no common type",
                        tname(a[1]), tname(a[2]));
        if (!scalar((lk_type)t) &&
            !(a[1]->ty_field && a[2]->ty_field && lk_field_equal(a[1]->ty_field, a[2]->ty_field)))
            return cerr(c, n->pos, "if over %s values is not supported", lk_type_name((lk_type)t));
        n->ty = t ? (lk_type)t : LK_TYPE_STRING;
        n->ty_field = a[1]->ty_field ? a[1]->ty_field : a[2]->ty_field;
        if (scalar(n->ty)) return all_as(c, n, 1, n->ty);
        return 0;
    }
    case LK_FN_COALESCE:
    case LK_FN_GREATEST:
    case LK_FN_LEAST: {
        int dp, ds;
        if (dec_common(a, n->nargs, 0, &dp, &ds)) {
            for (int i = 0; i < n->nargs; i++)
                a[i] = cast_dec(c, a[i], dp, ds);
            set_dec(n, dp, ds);
            return 0;
        }
        int t = 0;
        for (int i = 0; i < n->nargs; i++) {
            int u = wide_type((lk_type)t, a[i]->ty);
            /* Spark: greatest and least widen without string promotion
               (findWiderTypeWithoutStringPromotion): a string with another type is refused */
            if (f->fn != LK_FN_COALESCE && t && a[i]->ty && t != (int)a[i]->ty &&
                (t == LK_TYPE_STRING || a[i]->ty == LK_TYPE_STRING))
                u = -1;
            if (u < 0 || !scalar((lk_type)(u)))
                return cerr(c, a[i]->pos, "the arguments of %s have no common type (%s and %s)",
                            n->name, t ? lk_type_name((lk_type)t) : "null", tname(a[i]));
            t = u;
        }
        if (f->fn != LK_FN_COALESCE && t == LK_TYPE_BOOLEAN)
            return cerr(c, n->pos, "%s does not order booleans", n->name);
        n->ty = t ? (lk_type)t : LK_TYPE_STRING;
        return all_as(c, n, 0, n->ty);
    }
    case LK_FN_LOWER:
    case LK_FN_UPPER:
    case LK_FN_TRIM:
    case LK_FN_LTRIM:
    case LK_FN_RTRIM:
    case LK_FN_CONCAT:
    case LK_FN_CONCAT_WS:
    case LK_FN_MD5:
    case LK_FN_SHA1:
        n->ty = LK_TYPE_STRING;
        for (int i = 0; i < n->nargs; i++)
            if (!scalar(a[i]->ty))
                return cerr(c, a[i]->pos, "%s needs strings, not %s", n->name, tname(a[i]));
        return all_as(c, n, 0, LK_TYPE_STRING);
    case LK_FN_LENGTH:
    case LK_FN_OCTET_LENGTH:
        n->ty = LK_TYPE_INTEGER;
        return all_as(c, n, 0, LK_TYPE_STRING);
    case LK_FN_INITCAP:
    case LK_FN_REVERSE:
        n->ty = LK_TYPE_STRING;
        return all_as(c, n, 0, LK_TYPE_STRING);
    case LK_FN_LPAD:
    case LK_FN_RPAD:
    case LK_FN_LEFT:
    case LK_FN_RIGHT:
    case LK_FN_REPEAT:
        n->ty = LK_TYPE_STRING;
        if (arg_as(c, n, 0, LK_TYPE_STRING, "the string") ||
            arg_as(c, n, 1, LK_TYPE_INTEGER, f->fn == LK_FN_REPEAT ? "the count" : "the length"))
            return -1;
        return n->nargs == 3 ? arg_as(c, n, 2, LK_TYPE_STRING, "the pad") : 0;
    case LK_FN_REPLACE:
        n->ty = LK_TYPE_STRING;
        return all_as(c, n, 0, LK_TYPE_STRING);
    case LK_FN_INSTR:
        n->ty = LK_TYPE_INTEGER;
        return all_as(c, n, 0, LK_TYPE_STRING);
    case LK_FN_LOCATE: /* locate(substr, str[, pos]) */
        n->ty = LK_TYPE_INTEGER;
        if (arg_as(c, n, 0, LK_TYPE_STRING, "the substring") ||
            arg_as(c, n, 1, LK_TYPE_STRING, "the string"))
            return -1;
        return n->nargs == 3 ? arg_as(c, n, 2, LK_TYPE_INTEGER, "the position") : 0;
    case LK_FN_STARTSWITH:
    case LK_FN_ENDSWITH:
    case LK_FN_CONTAINS:
        n->ty = LK_TYPE_BOOLEAN;
        return all_as(c, n, 0, LK_TYPE_STRING);
    case LK_FN_SUBSTRING_INDEX:
        n->ty = LK_TYPE_STRING;
        if (arg_as(c, n, 0, LK_TYPE_STRING, "the string") ||
            arg_as(c, n, 1, LK_TYPE_STRING, "the delimiter"))
            return -1;
        return arg_as(c, n, 2, LK_TYPE_INTEGER, "the count");
    case LK_FN_LOG10:
    case LK_FN_LOG2:
    case LK_FN_LOG:
    case LK_FN_CBRT:
    case LK_FN_NANVL:
        for (int i = 0; i < n->nargs; i++)
            if (numeric_arg(c, n, i)) return -1;
        /* nanvl of two floats is a float (Spark's NaNvl takes its left side's type) */
        n->ty = f->fn == LK_FN_NANVL && a[0]->ty == LK_TYPE_FLOAT && a[1]->ty == LK_TYPE_FLOAT
                    ? LK_TYPE_FLOAT
                    : LK_TYPE_DOUBLE;
        return all_as(c, n, 0, n->ty);
    case LK_FN_ISNAN:
        if (numeric_arg(c, n, 0)) return -1;
        n->ty = LK_TYPE_BOOLEAN;
        return all_as(c, n, 0, a[0]->ty == LK_TYPE_FLOAT ? LK_TYPE_FLOAT : LK_TYPE_DOUBLE);
    case LK_FN_SUBSTRING:
        n->ty = LK_TYPE_STRING;
        if (arg_as(c, n, 0, LK_TYPE_STRING, "the string")) return -1;
        return all_as(c, n, 1, LK_TYPE_INTEGER);
    case LK_FN_SPLIT: {
        if (!is_const(a[1])) return cerr(c, a[1]->pos, "the pattern of split must be a constant");
        lk_schema *s = lk_sql_type_parse("array<string>", c->err);
        n->ty = LK_TYPE_ARRAY;
        n->ty_field = c->b->keep(c->b->ctx, s);
        if (arg_as(c, n, 0, LK_TYPE_STRING, "the string") ||
            arg_as(c, n, 1, LK_TYPE_STRING, "the pattern"))
            return -1;
        return n->nargs == 3 ? arg_as(c, n, 2, LK_TYPE_INTEGER, "the limit") : 0;
    }
    case LK_FN_REGEXP_EXTRACT:
    case LK_FN_REGEXP_REPLACE:
        if (!is_const(a[1]))
            return cerr(c, a[1]->pos, "the pattern of %s must be a constant", n->name);
        n->ty = LK_TYPE_STRING;
        if (arg_as(c, n, 0, LK_TYPE_STRING, "the string") ||
            arg_as(c, n, 1, LK_TYPE_STRING, "the pattern"))
            return -1;
        if (f->fn == LK_FN_REGEXP_EXTRACT)
            return n->nargs == 3 ? arg_as(c, n, 2, LK_TYPE_INTEGER, "the group") : 0;
        if (arg_as(c, n, 2, LK_TYPE_STRING, "the replacement")) return -1;
        if (n->nargs == 4) { /* the position: a constant (Spark: foldable), 1 or more, or null */
            lk_sql_node *pos = a[3];
            if (pos->kind != LK_SQL_LIT ||
                (pos->lit_type && (!is_intlike(pos->lit_type) || pos->i > INT32_MAX)))
                return cerr(c, pos->pos,
                            "the position of regexp_replace must be an INT literal (1-based)");
            if (pos->lit_type && pos->i < 1)
                return cerr(c, pos->pos,
                            "the position of regexp_replace must be 1 or more (1-based), not %lld",
                            (long long)pos->i);
            return arg_as(c, n, 3, LK_TYPE_INTEGER, "the position");
        }
        return 0;
    case LK_FN_SHA2:
        if (need_int_lit(c, n, 1, "bit length")) return -1;
        n->ty = LK_TYPE_STRING;
        return arg_as(c, n, 0, LK_TYPE_STRING, "the value");
    case LK_FN_TO_TIMESTAMP:
    case LK_FN_TO_DATE: {
        lk_type t0 = a[0]->ty;
        if (t0 && t0 != LK_TYPE_STRING && t0 != LK_TYPE_DATE && t0 != LK_TYPE_TIMESTAMP &&
            t0 != LK_TYPE_TIMESTAMP_NTZ)
            return cerr(c, a[0]->pos, "%s needs a string, date or timestamp, not %s", n->name,
                        tname(a[0]));
        n->ty = f->fn == LK_FN_TO_DATE ? LK_TYPE_DATE : LK_TYPE_TIMESTAMP;
        if (n->nargs == 2) {
            if (need_string_lit(c, n, 1, "format")) return -1;
            return arg_as(c, n, 0, LK_TYPE_STRING, "the value");
        }
        if (!t0) a[0] = cast_to(c, a[0], LK_TYPE_STRING);
        return 0;
    }
    case LK_FN_DATE_TRUNC:
        if (need_string_lit(c, n, 0, "unit")) return -1;
        n->ty = LK_TYPE_TIMESTAMP;
        return arg_as(c, n, 1, LK_TYPE_TIMESTAMP, "the timestamp");
    case LK_FN_DATE_FORMAT:
        if (need_string_lit(c, n, 1, "format")) return -1;
        n->ty = LK_TYPE_STRING;
        return arg_as(c, n, 0, LK_TYPE_TIMESTAMP, "the timestamp");
    case LK_FN_YEAR:
    case LK_FN_QUARTER:
    case LK_FN_MONTH:
    case LK_FN_DAY:
    case LK_FN_DAYOFWEEK:
    case LK_FN_DAYOFYEAR:
    case LK_FN_WEEKOFYEAR:
    case LK_FN_DAYOFWEEK_ISO:
    case LK_FN_YEAROFWEEK:
        n->ty = LK_TYPE_INTEGER;
        return arg_as(c, n, 0, LK_TYPE_DATE, "the date");
    case LK_FN_UNIX_DATE: /* a date only, as Spark (no implicit cast) */
        if (a[0]->ty && a[0]->ty != LK_TYPE_DATE)
            return cerr(c, a[0]->pos, "unix_date needs a date, not %s", tname(a[0]));
        n->ty = LK_TYPE_INTEGER;
        return arg_as(c, n, 0, LK_TYPE_DATE, "the date");
    case LK_FN_LAST_DAY:
        n->ty = LK_TYPE_DATE;
        return arg_as(c, n, 0, LK_TYPE_DATE, "the date");
    case LK_FN_ADD_MONTHS:
        n->ty = LK_TYPE_DATE;
        if (arg_as(c, n, 0, LK_TYPE_DATE, "the date")) return -1;
        if (a[1]->ty && !is_numeric(a[1]->ty) && a[1]->ty != LK_TYPE_STRING)
            return cerr(c, a[1]->pos, "the months of add_months must be a number, not %s",
                        tname(a[1]));
        return arg_as(c, n, 1, LK_TYPE_INTEGER, "the months"); /* 1.5 is 1, as Spark's cast */
    case LK_FN_TRUNC:
        if (need_string_lit(c, n, 1, "format")) return -1;
        n->ty = LK_TYPE_DATE;
        return arg_as(c, n, 0, LK_TYPE_DATE, "the date");
    case LK_FN_NEXT_DAY:
        n->ty = LK_TYPE_DATE;
        if (arg_as(c, n, 0, LK_TYPE_DATE, "the date")) return -1;
        return arg_as(c, n, 1, LK_TYPE_STRING, "the day of the week");
    case LK_FN_MAKE_DATE:
        n->ty = LK_TYPE_DATE;
        return all_as(c, n, 0, LK_TYPE_INTEGER);
    case LK_FN_TIMESTAMP_SECONDS: /* a number (Spark casts no string); a decimal stays exact */
        if (a[0]->ty && !is_numeric(a[0]->ty))
            return cerr(c, a[0]->pos, "timestamp_seconds needs a number, not %s", tname(a[0]));
        n->ty = LK_TYPE_TIMESTAMP;
        if (a[0]->ty == LK_TYPE_DECIMAL) return 0;
        return arg_as(c, n, 0, a[0]->ty && is_intlike(a[0]->ty) ? LK_TYPE_LONG : LK_TYPE_DOUBLE,
                      "the seconds");
    case LK_FN_TIMESTAMP_MILLIS:
    case LK_FN_TIMESTAMP_MICROS:
        if (a[0]->ty && !is_intlike(a[0]->ty))
            return cerr(c, a[0]->pos, "%s needs an integer, not %s", n->name, tname(a[0]));
        n->ty = LK_TYPE_TIMESTAMP;
        return arg_as(c, n, 0, LK_TYPE_LONG, "the value");
    case LK_FN_UNIX_SECONDS:
    case LK_FN_UNIX_MILLIS:
    case LK_FN_UNIX_MICROS: /* a timestamp only, as Spark (no implicit cast) */
        if (a[0]->ty && a[0]->ty != LK_TYPE_TIMESTAMP && a[0]->ty != LK_TYPE_TIMESTAMP_NTZ)
            return cerr(c, a[0]->pos, "%s needs a timestamp, not %s", n->name, tname(a[0]));
        n->ty = LK_TYPE_LONG;
        return arg_as(c, n, 0, LK_TYPE_TIMESTAMP, "the timestamp");
    case LK_FN_DATE_FROM_UNIX_DATE:
        n->ty = LK_TYPE_DATE;
        return arg_as(c, n, 0, LK_TYPE_INTEGER, "the days");
    case LK_FN_SECOND_FRACTION:
        set_dec(n, 8, 6);
        return arg_as(c, n, 0, LK_TYPE_TIMESTAMP, "the timestamp");
    case LK_FN_HOUR:
    case LK_FN_MINUTE:
    case LK_FN_SECOND:
        n->ty = LK_TYPE_INTEGER;
        return arg_as(c, n, 0, LK_TYPE_TIMESTAMP, "the timestamp");
    case LK_FN_UNIX_TIMESTAMP:
        n->ty = LK_TYPE_LONG;
        if (n->nargs == 2) {
            if (need_string_lit(c, n, 1, "format")) return -1;
            return arg_as(c, n, 0, LK_TYPE_STRING, "the value");
        }
        if (n->nargs == 1 && a[0]->ty != LK_TYPE_STRING)
            return arg_as(c, n, 0, LK_TYPE_TIMESTAMP, "the value");
        return 0;
    case LK_FN_FROM_UNIXTIME:
        n->ty = LK_TYPE_STRING;
        if (n->nargs == 2 && need_string_lit(c, n, 1, "format")) return -1;
        if (numeric_arg(c, n, 0)) return -1;
        return arg_as(c, n, 0, LK_TYPE_LONG, "the seconds");
    case LK_FN_CURRENT_TIMESTAMP:
        n->ty = LK_TYPE_TIMESTAMP;
        return 0;
    case LK_FN_CURRENT_DATE:
        n->ty = LK_TYPE_DATE;
        return 0;
    case LK_FN_DATE_ADD:
    case LK_FN_DATE_SUB:
        n->ty = LK_TYPE_DATE;
        if (arg_as(c, n, 0, LK_TYPE_DATE, "the date")) return -1;
        if (a[1]->ty && !is_intlike(a[1]->ty) && a[1]->ty != LK_TYPE_STRING)
            return cerr(c, a[1]->pos, "the days of %s must be an integer, not %s", n->name,
                        tname(a[1]));
        return arg_as(c, n, 1, LK_TYPE_INTEGER, "the days");
    case LK_FN_MONTHS_BETWEEN: /* (ts1, ts2[, roundOff]): a double */
        n->ty = LK_TYPE_DOUBLE;
        if (arg_as(c, n, 0, LK_TYPE_TIMESTAMP, "the first timestamp") ||
            arg_as(c, n, 1, LK_TYPE_TIMESTAMP, "the second timestamp"))
            return -1;
        return n->nargs == 3 ? arg_as(c, n, 2, LK_TYPE_BOOLEAN, "roundOff") : 0;
    case LK_FN_TRANSLATE:
        n->ty = LK_TYPE_STRING;
        return all_as(c, n, 0, LK_TYPE_STRING);
    case LK_FN_DATEDIFF:
        n->ty = LK_TYPE_INTEGER;
        return all_as(c, n, 0, LK_TYPE_DATE);
    case LK_FN_ROUND:
        if (numeric_arg(c, n, 0)) return -1;
        if (n->nargs == 2 && need_int_lit(c, n, 1, "scale")) return -1;
        if (n->nargs == 2 && (lk_sql_node_value(a[1])->i > INT32_MAX ||
                              lk_sql_node_value(a[1])->i < INT32_MIN))
            return cerr(c, a[1]->pos, "the scale of round must be an INT, not %lld",
                        (long long)lk_sql_node_value(a[1])->i);
        if (a[0]->ty == LK_TYPE_DECIMAL) {
            /* Spark 3.4: one more integer digit (9.95 rounds to 10.0); a negative scale rounds to
               tens, hundreds, ... at scale 0 */
            int p = a[0]->ty_precision, s = a[0]->ty_scale, intd = p - s + 1;
            int64_t d = n->nargs == 2 ? lk_sql_node_value(a[1])->i : 0;
            if (d < 0) { /* DECIMAL(max(p - s + 1, 1 - d), 0), bounded */
                int64_t np = intd > 1 - d ? intd : 1 - d;
                set_dec(n, np > 38 ? 38 : (int)np, 0);
            } else {
                int ns = s < d ? s : (int)d;
                set_dec(n, intd + ns > 38 ? 38 : intd + ns, ns);
            }
            return n->nargs == 2 ? arg_as(c, n, 1, LK_TYPE_INTEGER, "the scale") : 0;
        }
        n->ty = a[0]->ty ? canon(a[0]->ty) : LK_TYPE_DOUBLE;
        if (arg_as(c, n, 0, n->ty, "the value")) return -1;
        return n->nargs == 2 ? arg_as(c, n, 1, LK_TYPE_INTEGER, "the scale") : 0;
    case LK_FN_FLOOR:
    case LK_FN_CEIL:
        if (numeric_arg(c, n, 0)) return -1;
        if (n->nargs == 2) {
            /* Spark 3.3's RoundFloor/RoundCeil: the scale a foldable INT, the value as a decimal
               (DecimalType.forType: integers at their digits, FLOAT (14,7), DOUBLE (30,15), a
               string or NULL SYSTEM_DEFAULT (38,18)), the result typed as round's */
            if (a[1]->kind != LK_SQL_LIT || a[1]->lit_type != LK_TYPE_INTEGER)
                return cerr(c, a[1]->pos, "the scale of %s must be an INT literal", n->name);
            int p, s;
            if (!dec_of(a[0], 0, &p, &s)) {
                int fl = a[0]->ty == LK_TYPE_FLOAT, db = a[0]->ty == LK_TYPE_DOUBLE;
                p = fl ? 14 : db ? 30 : 38;
                s = fl ? 7 : db ? 15 : 18;
            }
            a[0] = cast_dec(c, a[0], p, s);
            int64_t d = a[1]->i, intd = p - s + 1;
            if (d < 0) { /* DECIMAL(max(p - s + 1, 1 - d), 0), bounded */
                int64_t np = intd > 1 - d ? intd : 1 - d;
                set_dec(n, np > 38 ? 38 : (int)np, 0);
            } else {
                int ns = s < d ? s : (int)d;
                set_dec(n, intd + ns > 38 ? 38 : (int)intd + ns, ns);
            }
            return 0;
        }
        if (a[0]->ty == LK_TYPE_DECIMAL) { /* Spark: DECIMAL(p - s + 1, 0) */
            int p = a[0]->ty_precision, s = a[0]->ty_scale;
            set_dec(n, s == 0 ? p : (p - s + 1 > 38 ? 38 : p - s + 1), 0);
            return 0;
        }
        n->ty = LK_TYPE_LONG;
        return arg_as(c, n, 0, a[0]->ty && is_intlike(a[0]->ty) ? LK_TYPE_LONG : LK_TYPE_DOUBLE,
                      "the value");
    case LK_FN_POW:
    case LK_FN_SQRT:
    case LK_FN_EXP:
    case LK_FN_LN:
    case LK_FN_SIGN:
        for (int i = 0; i < n->nargs; i++)
            if (numeric_arg(c, n, i)) return -1;
        n->ty = LK_TYPE_DOUBLE;
        return all_as(c, n, 0, LK_TYPE_DOUBLE);
    case LK_FN_GET_JSON_OBJECT:
        if (need_string_lit(c, n, 1, "path")) return -1;
        n->ty = LK_TYPE_STRING;
        return arg_as(c, n, 0, LK_TYPE_STRING, "the JSON");
    case LK_FN_FROM_JSON: {
        if (need_string_lit(c, n, 1, "schema")) return -1;
        lk_error e = {0};
        lk_schema *s = lk_schema_new();
        lk_field *sf = lk_schema_add(s, "from_json", LK_TYPE_STRUCT, 1);
        if (lk_ddl_parse_struct(a[1]->s ? a[1]->s : "", sf, &e)) {
            lk_schema_destroy(&s);
            return cerr(c, a[1]->pos, "from_json schema: %s", e.msg);
        }
        char bad[512];
        if (json_unsupported(sf, bad, sizeof bad)) {
            lk_schema_destroy(&s);
            return cerr(c, a[1]->pos, "from_json: field %s", bad);
        }
        n->ty = LK_TYPE_STRUCT;
        n->ty_field = c->b->keep(c->b->ctx, s);
        return arg_as(c, n, 0, LK_TYPE_STRING, "the JSON");
    }
    case LK_FN_SUBSCRIPT:
    case LK_FN_ELEMENT_AT: {
        /* an array's element (Spark's GetArrayItem: 0-based; element_at: 1-based, negative
           from the end) or a map's value (GetMapValue) */
        const lk_field *cf = a[0]->ty_field, *vf;
        const char *what = f->fn == LK_FN_SUBSCRIPT ? "[...]" : "element_at";
        if (f->fn == LK_FN_SUBSCRIPT && a[0]->ty == LK_TYPE_STRUCT && cf) {
            /* s['name']: a struct's field (Spark's ExtractValue), the name a constant string */
            if (a[1]->kind != LK_SQL_LIT || a[1]->lit_type != LK_TYPE_STRING)
                return cerr(c, a[1]->pos, "a struct's field is named by a string literal");
            int fk = -1; /* the exact name first, then one equal but for case (as s.name) */
            for (int j = 0; j < cf->n_children && fk < 0; j++)
                if (!strcmp(cf->children[j].name, a[1]->s)) fk = j;
            for (int j = 0; j < cf->n_children && fk < 0; j++)
                if (!strcasecmp(cf->children[j].name, a[1]->s)) fk = j;
            if (fk < 0) return cerr(c, a[1]->pos, "the struct has no field '%s'", a[1]->s);
            n->fn = LK_FN_GETFIELD;
            n->i = fk;
            n->ty = cf->children[fk].type;
            n->ty_precision = cf->children[fk].precision;
            n->ty_scale = cf->children[fk].scale;
            n->ty_field = &cf->children[fk];
            return 0;
        }
        if ((a[0]->ty != LK_TYPE_ARRAY && a[0]->ty != LK_TYPE_MAP) || !cf)
            return cerr(c, a[0]->pos, "%s needs an array or a map, not %s", what, tname(a[0]));
        if (a[0]->ty == LK_TYPE_ARRAY) {
            /* Spark: an integral index for [...] (GetArrayItem), an int for element_at; no
               string or fractional index is cast */
            vf = &cf->children[0];
            lk_type it = a[1]->ty;
            if (it && !(f->fn == LK_FN_SUBSCRIPT ? is_intlike(it) : it != LK_TYPE_LONG && is_intlike(it)))
                return cerr(c, a[1]->pos, "the index of %s must be %s, not %s%s", what,
                            f->fn == LK_FN_SUBSCRIPT ? "an integer" : "an int", tname(a[1]),
                            it == LK_TYPE_STRING && vf->type == LK_TYPE_STRUCT
                                ? " (a field of an array's structs: a[i].field)"
                                : "");
            if (arg_as(c, n, 1, LK_TYPE_INTEGER, "the index")) return -1;
        } else {
            const lk_field *kf = &cf->children[0];
            vf = &cf->children[1];
            if (lk_type_is_nested(kf->type))
                return cerr(c, n->pos, "a map keyed by %s cannot be looked up",
                            lk_type_name(kf->type));
            if (kf->type == LK_TYPE_DECIMAL)
                n->args[1] = cast_dec(c, a[1], kf->precision, kf->scale);
            else if (arg_as(c, n, 1, kf->type, "the key"))
                return -1;
        }
        n->ty = vf->type;
        n->ty_precision = vf->precision;
        n->ty_scale = vf->scale;
        n->ty_field = vf;
        return 0;
    }
    case LK_FN_SIZE:
        if (a[0]->ty && a[0]->ty != LK_TYPE_ARRAY && a[0]->ty != LK_TYPE_MAP)
            return cerr(c, a[0]->pos, "%s needs an array or a map, not %s", n->name, tname(a[0]));
        n->ty = LK_TYPE_INTEGER;
        return 0;
    case LK_FN_ARRAY_CONTAINS: {
        const lk_field *af = a[0]->ty_field;
        if (a[0]->ty != LK_TYPE_ARRAY || !af)
            return cerr(c, a[0]->pos, "array_contains needs an array, not %s", tname(a[0]));
        const lk_field *ef = &af->children[0];
        if (lk_type_is_nested(ef->type))
            return cerr(c, n->pos, "array_contains of an array of %s is not supported",
                        lk_type_name(ef->type));
        n->ty = LK_TYPE_BOOLEAN;
        /* Spark compares in the wider type of the two (no string promotion): here the value
           is cast to the element type where that loses nothing, and the rest refused */
        lk_type vt = a[1]->ty, et = ef->type;
        int ok;
        if (!vt)
            return cerr(c, a[1]->pos, "array_contains cannot look for an untyped NULL");
        if (et == LK_TYPE_DECIMAL) {
            int p, s;
            ok = dec_of(a[1], 1, &p, &s) && s <= ef->scale && p - s <= ef->precision - ef->scale;
        } else if (is_intlike(et) && is_intlike(vt)) {
            static const lk_type order[] = {LK_TYPE_BYTE, LK_TYPE_SHORT, LK_TYPE_INTEGER,
                                            LK_TYPE_LONG};
            int re = 0, rv = 0;
            for (int j = 0; j < 4; j++) {
                if (order[j] == et) re = j;
                if (order[j] == vt) rv = j;
            }
            ok = rv <= re;
        } else if (et == LK_TYPE_FLOAT) {
            ok = vt == LK_TYPE_FLOAT || is_intlike(vt);
        } else if (et == LK_TYPE_DOUBLE) {
            ok = is_numeric(vt);
        } else if (et == LK_TYPE_TIMESTAMP) {
            ok = vt == LK_TYPE_TIMESTAMP || vt == LK_TYPE_DATE;
        } else {
            ok = vt == et;
        }
        if (!ok)
            return cerr(c, a[1]->pos,
                        "array_contains of array<%s> and %s: Spark compares them in a wider type; "
                        "cast the value to %s (or the array) first",
                        lk_type_name(et), tname(a[1]), lk_type_name(et));
        if (et == LK_TYPE_DECIMAL) {
            n->args[1] = cast_dec(c, a[1], ef->precision, ef->scale);
            return 0;
        }
        return arg_as(c, n, 1, et, "the value");
    }
    case LK_FN_GETFIELD: {
        const lk_field *sf = a[0]->ty_field;
        if (a[0]->ty != LK_TYPE_STRUCT || !sf)
            return cerr(c, n->pos, "%s is not a struct: it has no field '%s'", tname(a[0]), n->s);
        int fk = -1;
        for (int j = 0; j < sf->n_children && fk < 0; j++)
            if (!strcasecmp(sf->children[j].name, n->s)) fk = j;
        if (fk < 0) return cerr(c, n->pos, "the struct has no field '%s'", n->s);
        n->i = fk;
        n->ty = sf->children[fk].type;
        n->ty_precision = sf->children[fk].precision;
        n->ty_scale = sf->children[fk].scale;
        n->ty_field = &sf->children[fk];
        return 0;
    }
    default:
        return cerr(c, n->pos, "internal: function %s has no type rule", n->name);
    }
}

lk_schema *lk_sql_type_parse(const char *text, lk_error *err)
{
    lk_buf t = LK_BUF_INIT;
    lk_buf_printf(&t, "x %s", text);
    lk_schema *s = NULL;
    int rc = lk_ddl_parse(t.data, &s, err);
    lk_buf_free(&t);
    if (rc) return NULL;
    if (lk_schema_nfields(s) != 1) {
        lk_schema_destroy(&s);
        lk_error_set(err, LK_EFORMAT, "'%s' is not a type", text);
        return NULL;
    }
    return s;
}

static int castable(lk_type from, lk_type to)
{
    if (!from || from == to) return 1;
    if (lk_type_is_nested(from) || lk_type_is_nested(to)) return 0;
    if (to == LK_TYPE_STRING) return 1;
    if (from == LK_TYPE_BINARY || to == LK_TYPE_BINARY)
        return from == LK_TYPE_STRING && to == LK_TYPE_BINARY;
    if ((from == LK_TYPE_DATE) && (is_numeric(to)))
        return 0; /* Spark: a date does not cast to a number */
    if (is_numeric(from) && to == LK_TYPE_DATE) return 0;
    if (from == LK_TYPE_BOOLEAN && (to == LK_TYPE_DATE || to == LK_TYPE_TIMESTAMP)) return 0;
    if ((from == LK_TYPE_DATE || from == LK_TYPE_TIMESTAMP) && to == LK_TYPE_BOOLEAN) return 0;
    return 1;
}

static int check(ck *c, lk_sql_node *n)
{
    switch (n->kind) {
    case LK_SQL_LIT:
        if (!n->ty) {
            n->ty = n->lit_type;
            if (n->lit_type == LK_TYPE_DECIMAL) {
                /* a decimal literal keeps its digits (Spark: 0.92 is DECIMAL(2,2)) */
                n->ty_precision = n->precision;
                n->ty_scale = n->scale;
            } else if (n->lit_type == LK_TYPE_FLOAT)
                n->ty = LK_TYPE_DOUBLE;
            else if (n->lit_type == LK_TYPE_BYTE || n->lit_type == LK_TYPE_SHORT)
                n->ty = LK_TYPE_INTEGER;
        }
        return 0;
    case LK_SQL_STAR:
        return cerr(c, n->pos, "'*' is only allowed in a select list");
    case LK_SQL_INTERVAL:
        return cerr(c, n->pos,
                    "an INTERVAL is only added to or subtracted from a date or timestamp (ts + "
                    "INTERVAL 1 DAY); it is not a value of its own (a column cannot hold one)");
    case LK_SQL_COL: {
        int reg = c->b->find(c->b->ctx, n->parts[0]);
        if (reg < 0) {
            if (n->nparts == 1 && (!strcasecmp(n->parts[0], "current_timestamp") ||
                                   !strcasecmp(n->parts[0], "current_date"))) {
                n->kind = LK_SQL_CALL;
                n->name = lk_sql_ast_strdup(c->ast, !strcasecmp(n->parts[0], "current_date")
                                                        ? "current_date"
                                                        : "current_timestamp");
                n->nargs = 0;
                return check_call(c, n);
            }
            lk_buf names = LK_BUF_INIT;
            c->b->names(c->b->ctx, &names);
            cerr(c, n->pos, "unknown column '%s' (columns: %s)", n->parts[0],
                 names.len ? names.data : "none");
            lk_buf_free(&names);
            return -1;
        }
        const lk_field *f = c->b->type(c->b->ctx, reg);
        for (int i = 1; i < n->nparts; i++) {
            if (f->type != LK_TYPE_STRUCT)
                return cerr(c, n->pos, "'%s' is %s, not a struct: it has no field '%s'",
                            n->parts[i - 1], lk_type_name(f->type), n->parts[i]);
            int k = -1;
            for (int j = 0; j < f->n_children && k < 0; j++)
                if (!strcmp(f->children[j].name, n->parts[i])) k = j;
            for (int j = 0; j < f->n_children && k < 0; j++)
                if (!strcasecmp(f->children[j].name, n->parts[i])) k = j;
            if (k < 0) {
                lk_buf names = LK_BUF_INIT;
                for (int j = 0; j < f->n_children; j++)
                    lk_buf_printf(&names, "%s%s", j ? ", " : "", f->children[j].name);
                cerr(c, n->pos, "struct '%s' has no field '%s' (fields: %s)", n->parts[i - 1],
                     n->parts[i], names.len ? names.data : "none");
                lk_buf_free(&names);
                return -1;
            }
            reg = c->b->child(c->b->ctx, reg, k);
            f = c->b->type(c->b->ctx, reg);
        }
        n->reg = reg;
        n->ty = f->type;
        n->ty_precision = f->precision;
        n->ty_scale = f->scale;
        n->ty_field = f;
        return 0;
    }
    case LK_SQL_CAST: {
        if (check(c, n->args[0])) return -1;
        if (!n->name) /* an implicit cast: already typed */
            return 0;
        lk_error e = {0};
        lk_schema *s = lk_sql_type_parse(n->name, &e);
        if (!s) {
            const char *m = strstr(e.msg, ": ");
            return cerr(c, (int)n->i, "CAST to '%s': %s", n->name, m ? m + 2 : e.msg);
        }
        const lk_field *t = c->b->keep(c->b->ctx, s);
        lk_type from = n->args[0]->ty;
        if (!castable(from, t->type) ||
            (lk_type_is_nested(t->type) &&
             !(n->args[0]->ty_field && lk_field_equal(n->args[0]->ty_field, t))))
            return cerr(c, n->pos, "cannot cast %s to %s", tname(n->args[0]),
                        lk_type_name(t->type));
        n->fn = LK_FN_CAST;
        n->ty = t->type;
        n->ty_precision = t->precision;
        n->ty_scale = t->scale;
        n->ty_field = t;
        return 0;
    }
    case LK_SQL_CASE: {
        int t = 0, nb = n->nargs / 2;
        for (int i = 0; i < n->nargs; i++)
            if (check(c, n->args[i])) return -1;
        for (int i = 0; i < nb; i++) {
            lk_sql_node *cond = n->args[2 * i];
            if (cond->ty && cond->ty != LK_TYPE_BOOLEAN)
                return cerr(c, cond->pos, "a WHEN condition must be boolean, not %s", tname(cond));
            n->args[2 * i] = cast_to(c, cond, LK_TYPE_BOOLEAN);
        }
        dec_acc d = {0, 0, 0, 0, 0};
        for (int i = 0; i < nb; i++)
            dec_fold(&d, n->args[2 * i + 1]);
        if (n->has_else) dec_fold(&d, n->args[n->nargs - 1]);
        int dp, ds;
        if (dec_result(&d, &dp, &ds)) {
            n->fn = LK_FN_CASE;
            set_dec(n, dp, ds);
            for (int i = 0; i < nb; i++)
                n->args[2 * i + 1] = cast_dec(c, n->args[2 * i + 1], dp, ds);
            if (n->has_else) n->args[n->nargs - 1] = cast_dec(c, n->args[n->nargs - 1], dp, ds);
            return 0;
        }
        for (int i = 0; i <= nb; i++) {
            if (i == nb && !n->has_else) break;
            lk_sql_node *v = n->args[i == nb ? 2 * nb : 2 * i + 1];
            int u = wide_type((lk_type)t, v->ty);
            if (u < 0 || !scalar((lk_type)u))
                return cerr(c, v->pos, "the values of CASE have no common type (%s and %s)",
                            t ? lk_type_name((lk_type)t) : "null", tname(v));
            t = u;
        }
        n->fn = LK_FN_CASE;
        n->ty = t ? (lk_type)t : LK_TYPE_STRING;
        for (int i = 0; i < nb; i++)
            n->args[2 * i + 1] = cast_to(c, n->args[2 * i + 1], n->ty);
        if (n->has_else) n->args[n->nargs - 1] = cast_to(c, n->args[n->nargs - 1], n->ty);
        return 0;
    }
    case LK_SQL_CALL:
        return check_call(c, n);
    }
    return cerr(c, n->pos, "internal: unknown node");
}

int lk_sql_check(lk_sql_ast *ast, const lk_sql_binder *b, lk_error *err)
{
    ck c = {.ast = ast, .b = b, .err = err, .text = lk_sql_ast_text(ast)};
    return check(&c, lk_sql_ast_root(ast)) ? LK_EFORMAT : 0;
}
