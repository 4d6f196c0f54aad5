/* lk_sql_plan — checked trees into registers and instructions; see lk_sql_plan.h. */
#include "lk_sql_plan.h"

#include <stdlib.h>
#include <string.h>

#include "lk_sql_check.h"
#include "lk_sql_decimal.h"

#define GROW(arr, n, cap)                                                                          \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            (cap) = (cap) ? (cap)*2 : 16;                                                          \
            (arr) = realloc((arr), sizeof *(arr) * (size_t)(cap));                                 \
            if (!(arr)) abort();                                                                   \
        }                                                                                          \
    } while (0)

lk_sql_plan *lk_sql_plan_new(const lk_schema *input)
{
    lk_sql_plan *p = calloc(1, sizeof *p);
    if (!p) abort();
    p->input = lk_schema_clone(input);
    return p;
}

void lk_sql_plan_destroy(lk_sql_plan **pp)
{
    if (!pp || !*pp) return;
    lk_sql_plan *p = *pp;
    for (int i = 0; i < p->ncode; i++) {
        if (p->code[i].aux_free) p->code[i].aux_free(p->code[i].aux);
        free(p->code[i].args);
    }
    for (int i = 0; i < p->nregs; i++)
        free(p->regs[i].err);
    for (int i = 0; i < p->nkept; i++)
        lk_schema_destroy(&p->kept[i]);
    for (int i = 0; i < p->nasts; i++)
        lk_sql_ast_destroy(&p->asts[i]);
    free(p->asts);
    free(p->kept);
    free(p->code);
    free(p->regs);
    lk_batch_destroy(&p->temps);
    lk_batch_destroy(&p->consts);
    lk_schema_destroy(&p->input);
    lk_buf_free(&p->tmp);
    free(p);
    *pp = NULL;
}

static int new_reg(lk_sql_plan *p, int kind, const lk_field *type)
{
    GROW(p->regs, p->nregs, p->cap_regs);
    lk_sql_reg *r = &p->regs[p->nregs];
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->type = type;
    p->temps_built = 0;
    return p->nregs++;
}

int lk_sql_plan_input(lk_sql_plan *p, int i)
{
    for (int r = 0; r < p->nregs; r++)
        if (p->regs[r].kind == LK_REG_INPUT && p->regs[r].index == i) return r;
    int r = new_reg(p, LK_REG_INPUT, lk_schema_field(p->input, i));
    p->regs[r].index = i;
    return r;
}

int lk_sql_plan_child(lk_sql_plan *p, int parent, int k)
{
    for (int r = 0; r < p->nregs; r++)
        if (p->regs[r].kind == LK_REG_CHILD && p->regs[r].index == parent && p->regs[r].child == k)
            return r;
    int r = new_reg(p, LK_REG_CHILD, &p->regs[parent].type->children[k]);
    p->regs[r].index = parent;
    p->regs[r].child = k;
    return r;
}

const lk_field *lk_sql_plan_keep(lk_sql_plan *p, lk_schema *owned)
{
    GROW(p->kept, p->nkept, p->cap_kept);
    p->kept[p->nkept++] = owned;
    return lk_schema_field(owned, 0);
}

void lk_sql_plan_keep_ast(lk_sql_plan *p, lk_sql_ast *ast)
{
    GROW(p->asts, p->nasts, p->cap_asts);
    p->asts[p->nasts++] = ast;
}

/* The field describing a node's value type (scalars get a kept field). */
static const lk_field *node_field(lk_sql_plan *p, const lk_sql_node *n)
{
    if (n->ty_field && n->ty_field->type == n->ty &&
        (n->ty != LK_TYPE_DECIMAL ||
         (n->ty_field->precision == n->ty_precision && n->ty_field->scale == n->ty_scale)))
        return n->ty_field;
    /* one kept schema per scalar type */
    lk_type t = n->ty ? n->ty : LK_TYPE_STRING;
    for (int i = 0; i < p->nkept; i++) {
        const lk_field *f = lk_schema_field(p->kept[i], 0);
        if (f->type == t && !f->n_children && !strcmp(f->name, "v") &&
            (t != LK_TYPE_DECIMAL || (f->precision == n->ty_precision && f->scale == n->ty_scale)))
            return f;
    }
    lk_schema *s = lk_schema_new();
    lk_field *f = lk_schema_add(s, "v", t, 1);
    if (t == LK_TYPE_DECIMAL) {
        f->precision = n->ty_precision;
        f->scale = n->ty_scale;
    }
    return lk_sql_plan_keep(p, s);
}

static int compile(lk_sql_plan *p, const lk_sql_node *n, const char *text, int *reg, lk_error *err)
{
    int first = -1; /* args[0]'s register when already compiled (a cast's operand) */
    switch (n->kind) {
    case LK_SQL_COL:
        *reg = n->reg;
        return 0;
    case LK_SQL_LIT: {
        int r = new_reg(p, LK_REG_CONST, node_field(p, n));
        p->regs[r].lit = n;
        p->regs[r].index = p->nconsts++;
        *reg = r;
        return 0;
    }
    case LK_SQL_CAST: {
        const lk_sql_node *a = n->args[0];
        int ar;
        if (compile(p, a, text, &ar, err)) return -1;
        const lk_field *at = p->regs[ar].type;
        if (at->type == n->ty && (n->ty != LK_TYPE_DECIMAL ||
                                  (at->precision == n->ty_precision && at->scale == n->ty_scale))) {
            *reg = ar; /* a cast to the same type does nothing */
            return 0;
        }
        /* compiled once: compiling it again below made every nested cast double its operand's
           code (fuzz_sql: "1+2||3+4||...||4+5", 14 implicit casts deep, made 46,976 registers
           and took minutes) */
        first = ar;
        break;
    }
    case LK_SQL_CALL:
    case LK_SQL_CASE:
        break;
    default:
        return lk_error_set(err, LK_EFORMAT, "internal: cannot compile node");
    }
    int *args = malloc(sizeof(int) * (size_t)(n->nargs ? n->nargs : 1));
    if (!args) abort();
    for (int i = 0; i < n->nargs; i++)
        if (i == 0 && first >= 0)
            args[0] = first;
        else if (compile(p, n->args[i], text, &args[i], err)) {
            free(args);
            return -1;
        }
    lk_sql_ins ins = {0};
    ins.node = n;
    ins.args = args;
    ins.nargs = n->nargs;
    /* decimals have kernels of their own; the others' would read them as doubles */
    if (lk_sql_decimal_kernel(n, &ins.kernel, err) ||
        (!ins.kernel && lk_sql_func_kernel(n, text, &ins.kernel, &ins.aux, &ins.aux_free, err))) {
        free(args);
        return -1;
    }
    switch (n->kind == LK_SQL_CASE ? LK_FN_CASE : n->fn) {
    case LK_FN_AND:
        ins.prop = LK_PROP_AND;
        break;
    case LK_FN_OR:
        ins.prop = LK_PROP_OR;
        break;
    case LK_FN_IF:
        ins.prop = LK_PROP_IF;
        break;
    case LK_FN_CASE:
        ins.prop = LK_PROP_CASE;
        break;
    case LK_FN_COALESCE:
        ins.prop = LK_PROP_COALESCE;
        break;
    default:
        ins.prop = LK_PROP_ALL;
        break;
    }
    ins.dst = new_reg(p, LK_REG_TEMP, node_field(p, n));
    p->regs[ins.dst].index = p->ntemps++;
    GROW(p->code, p->ncode, p->cap_code);
    p->code[p->ncode++] = ins;
    *reg = ins.dst;
    return 0;
}

int lk_sql_plan_compile(lk_sql_plan *p, const lk_sql_node *node, const char *text, int *reg,
                        lk_error *err)
{
    return compile(p, node, text, reg, err);
}
