/*
 * lk_sql — Spark SQL expressions over record batches: the public face of
 * the expression layer (sql/).
 *
 * A program is compiled once for one input schema (a schema version of a
 * table) from any number of expressions; each gives a register (a result
 * column). Running it evaluates every expression over a whole batch,
 * column at a time (lk_sql_eval): vectors plus null bitmaps, no per-row
 * interpretation, no per-row allocation. Names resolve through a scope,
 * the caller's view of which name is which register (the transform steps
 * rename, replace and drop columns); without one, the input's columns.
 *
 *   lk_sql_program *p = lk_sql_program_new(schema);
 *   int keep, amount;
 *   lk_sql_program_compile(p, "event_type <> 'heartbeat'", NULL, &keep, &err);
 *   lk_sql_program_compile(p, "round(amount * 0.92, 2)", NULL, &amount, &err);
 *   lk_sql_program_run(p, batch, now_us, &err);
 *   const lk_col *k = lk_sql_program_result(p, keep);
 *
 * Issue 12 compiles group_by expressions and aggregate arguments the same
 * way: lk_sql_parse the aggregate's text, find the call (sum, count...) in
 * the tree, and compile its argument node with lk_sql_program_compile_node.
 */
#ifndef LK_SQL_H
#define LK_SQL_H

#include <stdint.h>

#include "lk_batch.h"
#include "lk_buf.h"
#include "lk_error.h"
#include "lk_schema.h"
#include "lk_sql_parse.h"

typedef struct lk_sql_program lk_sql_program;

typedef struct lk_sql_scope {
    void *ctx;
    /* the register named name (Spark resolves names case-insensitively), or -1 */
    int (*find)(void *ctx, const char *name);
    /* the names in scope, comma-separated, for "unknown column" messages */
    void (*names)(void *ctx, lk_buf *out);
} lk_sql_scope;

lk_sql_program *lk_sql_program_new(const lk_schema *input);
void lk_sql_program_destroy(lk_sql_program **p);
const lk_schema *lk_sql_program_input(const lk_sql_program *p);
/* The register of input column i. */
int lk_sql_program_column(lk_sql_program *p, int i);
/* The register of field k of struct register reg. */
int lk_sql_program_child(lk_sql_program *p, int reg, int k);
/* Parses, checks and compiles text; *reg its result. scope NULL: the input
   columns. With alias not NULL, a trailing `AS name` is allowed and
   returned (malloc'ed, or NULL). 0, or LK_EFORMAT with "position N: ...". */
int lk_sql_program_compile(lk_sql_program *p, const char *text, const lk_sql_scope *scope, int *reg,
                           char **alias, lk_error *err);
/* Compiles node (a node of ast, NULL = its root); the program takes ast. */
int lk_sql_program_compile_node(lk_sql_program *p, lk_sql_ast *ast, lk_sql_node *node,
                                const lk_sql_scope *scope, int *reg, lk_error *err);
/* The type of a register's values. */
const lk_field *lk_sql_program_type(const lk_sql_program *p, int reg);
/* Evaluates every compiled expression over in (the input schema). */
int lk_sql_program_run(lk_sql_program *p, const lk_batch *in, int64_t now_us, lk_error *err);
/* After a run: a register's column (at least nrows rows; read rows [0, nrows)). */
const lk_col *lk_sql_program_result(const lk_sql_program *p, int reg);
/* After a run: the rows of reg that failed (bit i set), or NULL when none did. */
const uint8_t *lk_sql_program_failed(const lk_sql_program *p, int reg);
/* The input column register reg views (itself, or a field of it at any depth), or -1 for a
   computed one; *whole (may be NULL): reg is the input column itself. */
int lk_sql_program_input_of(const lk_sql_program *p, int reg, int *whole);
/* Whether an instruction reads input column col (or a field of it). */
int lk_sql_program_reads(const lk_sql_program *p, int col);
/* Instructions in the program (for tests and benchmarks). */
int lk_sql_program_size(const lk_sql_program *p);

#endif
