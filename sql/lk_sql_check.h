/*
 * lk_sql_check — names, functions and types of a parsed expression.
 *
 * Resolves every column (and nested field: device.os) through a binder
 * (the caller's scope of names → registers), looks every call up in the
 * function list with its arity, and types the tree bottom-up with Spark's
 * coercion rules (non-ANSI), inserting implicit casts where Spark does:
 * numeric widening (byte, short → int → bigint → double; decimal and float
 * compute as double), strings in arithmetic as double, a string compared
 * with a number, date or timestamp cast to that type, date vs timestamp as
 * timestamp, the branches of CASE/IF/COALESCE to their common type.
 * Errors name the 1-based character position in the expression.
 */
#ifndef LK_SQL_CHECK_H
#define LK_SQL_CHECK_H

#include "lk_buf.h"
#include "lk_error.h"
#include "lk_schema.h"
#include "lk_sql_parse.h"

typedef struct lk_sql_binder {
    void *ctx;
    /* the register of a name in scope (case-insensitive as Spark), or -1 */
    int (*find)(void *ctx, const char *name);
    /* the names in scope, comma-separated, for messages */
    void (*names)(void *ctx, lk_buf *out);
    /* the type of a register */
    const lk_field *(*type)(void *ctx, int reg);
    /* the register of field k of a struct register */
    int (*child)(void *ctx, int reg, int k);
    /* takes ownership of a one-field schema describing a nested result type;
       returns that field (valid as long as the binder's owner) */
    const lk_field *(*keep)(void *ctx, lk_schema *owned);
} lk_sql_binder;

/* Checks and types the tree of ast in place. 0, or LK_EFORMAT with
   "position N: ..." in err. */
int lk_sql_check(lk_sql_ast *ast, const lk_sql_binder *b, lk_error *err);

/* The name of a function id (for messages), and whether a name is a known
   function (issue 12 tells its aggregates apart with it). */
const char *lk_sql_check_fn_name(int fn);
int lk_sql_check_is_function(const char *name);
/* The first call in the tree under n that names no known function, or
   NULL (the check a start can make before the schema is known). */
const lk_sql_node *lk_sql_check_unknown_call(const lk_sql_node *n);

/* Parses a type name as CAST and cast: take it ("string", "int", "bigint",
   "double", "decimal(10,2)", "date", "timestamp", "array<string>", ...).
   Returns a one-field schema (the caller owns it) or NULL with err. */
lk_schema *lk_sql_type_parse(const char *text, lk_error *err);

#endif
