/* lk_sql — programs of Spark SQL expressions; see lk_sql.h. */
#include "lk_sql.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lk_sql_check.h"
#include "lk_sql_eval.h"
#include "lk_sql_plan.h"

struct lk_sql_program {
    lk_sql_plan *plan;
};

lk_sql_program *lk_sql_program_new(const lk_schema *input)
{
    lk_sql_program *p = calloc(1, sizeof *p);
    if (!p) abort();
    p->plan = lk_sql_plan_new(input);
    return p;
}

void lk_sql_program_destroy(lk_sql_program **pp)
{
    if (!pp || !*pp) return;
    lk_sql_plan_destroy(&(*pp)->plan);
    free(*pp);
    *pp = NULL;
}

const lk_schema *lk_sql_program_input(const lk_sql_program *p)
{
    return p->plan->input;
}

int lk_sql_program_column(lk_sql_program *p, int i)
{
    return lk_sql_plan_input(p->plan, i);
}

int lk_sql_program_child(lk_sql_program *p, int reg, int k)
{
    return lk_sql_plan_child(p->plan, reg, k);
}

/* ---- the binder the checker sees: the scope, and the plan's registers ---- */

typedef struct bind_ctx {
    lk_sql_program *p;
    const lk_sql_scope *scope;
} bind_ctx;

static int input_find(lk_sql_program *p, const char *name)
{
    const lk_schema *s = p->plan->input;
    int i = lk_schema_find(s, name);
    for (int k = 0; i < 0 && k < lk_schema_nfields(s); k++)
        if (!strcasecmp(lk_schema_field(s, k)->name, name)) i = k;
    return i < 0 ? -1 : lk_sql_plan_input(p->plan, i);
}

static int b_find(void *ctx, const char *name)
{
    bind_ctx *b = ctx;
    if (b->scope) return b->scope->find(b->scope->ctx, name);
    return input_find(b->p, name);
}

static void b_names(void *ctx, lk_buf *out)
{
    bind_ctx *b = ctx;
    if (b->scope) {
        b->scope->names(b->scope->ctx, out);
        return;
    }
    const lk_schema *s = b->p->plan->input;
    for (int i = 0; i < lk_schema_nfields(s); i++)
        lk_buf_printf(out, "%s%s", i ? ", " : "", lk_schema_field(s, i)->name);
}

static const lk_field *b_type(void *ctx, int reg)
{
    bind_ctx *b = ctx;
    return b->p->plan->regs[reg].type;
}

static int b_child(void *ctx, int reg, int k)
{
    bind_ctx *b = ctx;
    return lk_sql_plan_child(b->p->plan, reg, k);
}

static const lk_field *b_keep(void *ctx, lk_schema *owned)
{
    bind_ctx *b = ctx;
    return lk_sql_plan_keep(b->p->plan, owned);
}

int lk_sql_program_compile_node(lk_sql_program *p, lk_sql_ast *ast, lk_sql_node *node,
                                const lk_sql_scope *scope, int *reg, lk_error *err)
{
    lk_sql_plan_keep_ast(p->plan, ast);
    bind_ctx ctx = {p, scope};
    lk_sql_binder b = {&ctx, b_find, b_names, b_type, b_child, b_keep};
    lk_sql_node *root = lk_sql_ast_root(ast);
    if (node && node != root) {
        /* check the sub-tree alone: swap it in as the root for the checker */
        int rc;
        lk_sql_node saved = *root;
        *root = *node;
        rc = lk_sql_check(ast, &b, err);
        *node = *root;
        *root = saved;
        if (rc) return rc;
    } else {
        node = root;
        if (lk_sql_check(ast, &b, err)) return LK_EFORMAT;
    }
    return lk_sql_plan_compile(p->plan, node, lk_sql_ast_text(ast), reg, err);
}

int lk_sql_program_compile(lk_sql_program *p, const char *text, const lk_sql_scope *scope, int *reg,
                           char **alias, lk_error *err)
{
    lk_sql_ast *ast = NULL;
    if (alias) *alias = NULL;
    if (lk_sql_parse(text, alias != NULL, &ast, err)) return LK_EFORMAT;
    if (alias && lk_sql_ast_alias(ast)) {
        *alias = strdup(lk_sql_ast_alias(ast));
        if (!*alias) abort();
    }
    int rc = lk_sql_program_compile_node(p, ast, NULL, scope, reg, err);
    if (rc && alias) {
        free(*alias);
        *alias = NULL;
    }
    return rc;
}

const lk_field *lk_sql_program_type(const lk_sql_program *p, int reg)
{
    return p->plan->regs[reg].type;
}

int lk_sql_program_run(lk_sql_program *p, const lk_batch *in, int64_t now_us, lk_error *err)
{
    return lk_sql_eval_run(p->plan, in, now_us, err);
}

const lk_col *lk_sql_program_result(const lk_sql_program *p, int reg)
{
    return p->plan->regs[reg].cur;
}

const uint8_t *lk_sql_program_failed(const lk_sql_program *p, int reg)
{
    const lk_sql_reg *r = &p->plan->regs[reg];
    return r->kind == LK_REG_TEMP && r->has_err ? r->err : NULL;
}

int lk_sql_program_input_of(const lk_sql_program *p, int reg, int *whole)
{
    const lk_sql_reg *r = &p->plan->regs[reg];
    if (whole) *whole = r->kind == LK_REG_INPUT;
    while (r->kind == LK_REG_CHILD)
        r = &p->plan->regs[r->index];
    return r->kind == LK_REG_INPUT ? r->index : -1;
}

int lk_sql_program_reads(const lk_sql_program *p, int col)
{
    for (int c = 0; c < p->plan->ncode; c++)
        for (int j = 0; j < p->plan->code[c].nargs; j++)
            if (lk_sql_program_input_of(p, p->plan->code[c].args[j], NULL) == col) return 1;
    return 0;
}

int lk_sql_program_size(const lk_sql_program *p)
{
    return p->plan->ncode;
}
