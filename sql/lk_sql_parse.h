/*
 * lk_sql_parse — Spark SQL expressions into a syntax tree.
 *
 * The grammar and precedence are Spark's (lowest first): OR; AND; NOT;
 * comparisons and predicates (= == <> != < <= > >= <=>, IS [NOT] NULL,
 * [NOT] IN (...), [NOT] BETWEEN .. AND .., [NOT] LIKE, [NOT] RLIKE/REGEXP);
 * + - ||; * / % DIV; unary - +; primaries: literals (NULL, TRUE, FALSE,
 * numbers, strings, DATE '..', TIMESTAMP '..'), columns and nested fields
 * (a.b.c, `quoted`), function calls, CASE, CAST(x AS type), (..).
 * Operators become calls of internal names ("+", "and", "isnull", "in",
 * "like", ...); BETWEEN and the NOT forms are rewritten into them, and
 * CASE x WHEN v becomes CASE WHEN x = v. Every node keeps the byte offset
 * of its text for error messages.
 *
 * The tree is the input of the checker (lk_sql_check); issue 12's
 * aggregates walk it to find `sum(amount)`'s argument and compile that.
 */
#ifndef LK_SQL_PARSE_H
#define LK_SQL_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "lk_error.h"
#include "lk_schema.h"

typedef enum lk_sql_node_kind {
    LK_SQL_LIT = 1,
    LK_SQL_COL,  /* parts[0].parts[1]... */
    LK_SQL_CALL, /* name(args) */
    LK_SQL_CASE, /* args: cond1, val1, cond2, val2, ... [, else] */
    LK_SQL_CAST, /* args[0] AS type_text */
    LK_SQL_STAR, /* * (select lists and count(*)) */
    LK_SQL_INTERVAL, /* INTERVAL 1 DAY: iv_*; only an operand of + or - (the checker rewrites it) */
} lk_sql_node_kind;

typedef struct lk_sql_node {
    lk_sql_node_kind kind;
    int pos; /* byte offset of the node's first token */
    /* COL */
    int nparts;
    char **parts;
    /* CALL: lower-case name; CAST: the target type's text */
    char *name;
    struct lk_sql_node **args;
    int nargs;
    int has_else; /* CASE */
    int distinct; /* CALL: f(DISTINCT x), for aggregates */
    /* LIT: lit_type 0 = NULL */
    lk_type lit_type;
    int64_t i;            /* BOOLEAN, INTEGER, LONG, DATE (days), TIMESTAMP (us) */
    double d;             /* DOUBLE, DECIMAL (value) */
    int precision, scale; /* DECIMAL literal */
    char *s;              /* STRING */
    size_t slen;
    /* INTERVAL: Spark 3.5's type (1 year-month, 2 day-time; a literal is never a calendar
       interval), whether a day-time one is of days alone (INTERVAL 2 DAY, INTERVAL 1 WEEK: a date
       stays a date), and its value: months (year-month) or microseconds (day-time) */
    int iv_kind, iv_days_only;
    int32_t iv_months;
    int64_t iv_us;
    /* set by the checker (lk_sql_check) */
    lk_type ty;                 /* the value's type; 0 = NULL (untyped null) */
    int ty_precision, ty_scale; /* DECIMAL */
    const lk_field *ty_field;   /* STRUCT/ARRAY/MAP: the field that describes it */
    int fn;                     /* CALL: the function (lk_sql_fn) */
    int reg;                    /* COL: the register of the column or field */
} lk_sql_node;

typedef struct lk_sql_ast lk_sql_ast;

/* Parses text (NUL-terminated). With allow_alias, a trailing `AS name` or
   `name` names the expression (select lists). 0 or LK_EFORMAT with
   "position N: ..." (1-based character column). */
int lk_sql_parse(const char *text, int allow_alias, lk_sql_ast **ast, lk_error *err);
void lk_sql_ast_destroy(lk_sql_ast **ast);
lk_sql_node *lk_sql_ast_root(const lk_sql_ast *ast);
const char *lk_sql_ast_text(const lk_sql_ast *ast);
/* The alias given with allow_alias, or NULL. */
const char *lk_sql_ast_alias(const lk_sql_ast *ast);
/* A new node owned by ast (for rewrites: implicit casts). */
lk_sql_node *lk_sql_ast_node(lk_sql_ast *ast, lk_sql_node_kind kind, int pos);
/* A copy of s owned by ast. */
char *lk_sql_ast_strdup(lk_sql_ast *ast, const char *s);
/* A new node args array of n owned by ast. */
lk_sql_node **lk_sql_ast_args(lk_sql_ast *ast, int n);

/* n without the implicit casts the checker wrapped it in (a literal argument). */
const lk_sql_node *lk_sql_node_value(const lk_sql_node *n);

/* 1-based character column of byte offset pos in text (UTF-8 aware). */
int lk_sql_column_of(const char *text, int pos);

#endif
