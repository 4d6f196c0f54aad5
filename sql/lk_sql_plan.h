/*
 * lk_sql_plan — a compiled program: registers and instructions.
 *
 * A checked expression tree compiles to a flat list of instructions, each a
 * kernel (lk_sql_func) applied to argument registers into a result register.
 * A register is a column: an input column of the batch (or a field of a
 * struct column) viewed in place, a constant filled once, or a temporary
 * column of the program's scratch batch, whose memory is kept from batch to
 * batch. Several expressions share one program (and its input registers);
 * the evaluator (lk_sql_eval) runs every instruction once per batch, in
 * order, over all rows: no tree walk and no allocation per row.
 */
#ifndef LK_SQL_PLAN_H
#define LK_SQL_PLAN_H

#include <stdint.h>

#include "lk_batch.h"
#include "lk_error.h"
#include "lk_schema.h"
#include "lk_sql_func.h"
#include "lk_sql_parse.h"

enum { LK_REG_INPUT = 1, LK_REG_CHILD, LK_REG_TEMP, LK_REG_CONST };

/* How a failure in an argument reaches the result (lk_sql_eval). */
enum { LK_PROP_ALL = 0, LK_PROP_AND, LK_PROP_OR, LK_PROP_IF, LK_PROP_CASE, LK_PROP_COALESCE };

typedef struct lk_sql_reg {
    int kind;
    int index; /* INPUT: input column; CHILD: parent register; TEMP/CONST: scratch column */
    int child; /* CHILD: field index in the parent struct */
    const lk_field *type;
    const lk_sql_node *lit; /* CONST: the literal */
    /* at run time */
    lk_col *cur;
    uint8_t *err; /* rows that failed (has_err) */
    uint32_t err_cap;
    int has_err;
} lk_sql_reg;

typedef struct lk_sql_ins {
    lk_sql_kernel kernel;
    const lk_sql_node *node;
    int dst;
    int *args;
    int nargs;
    int prop;
    void *aux;
    void (*aux_free)(void *);
} lk_sql_ins;

typedef struct lk_sql_plan {
    lk_schema *input;
    lk_sql_reg *regs;
    int nregs, cap_regs;
    lk_sql_ins *code;
    int ncode, cap_code;
    lk_schema **kept; /* types of casts and nested results */
    int nkept, cap_kept;
    lk_sql_ast **asts; /* kept alive: instructions point into them */
    int nasts, cap_asts;
    int ntemps, nconsts;
    /* evaluation state (lk_sql_eval) */
    lk_batch *temps, *consts;
    int temps_built; /* temps/consts match the registers */
    uint32_t const_rows;
    lk_buf tmp;
    uint32_t nrows;
} lk_sql_plan;

lk_sql_plan *lk_sql_plan_new(const lk_schema *input);
void lk_sql_plan_destroy(lk_sql_plan **p);
/* The register viewing input column i (one per column). */
int lk_sql_plan_input(lk_sql_plan *p, int i);
/* The register of field k of struct register r. */
int lk_sql_plan_child(lk_sql_plan *p, int r, int k);
/* Keeps a one-field type schema; returns its field. */
const lk_field *lk_sql_plan_keep(lk_sql_plan *p, lk_schema *owned);
/* Keeps an AST alive as long as the plan (its nodes are the instructions'). */
void lk_sql_plan_keep_ast(lk_sql_plan *p, lk_sql_ast *ast);
/* Compiles checked node into instructions; *reg its result. */
int lk_sql_plan_compile(lk_sql_plan *p, const lk_sql_node *node, const char *text, int *reg,
                        lk_error *err);

#endif
