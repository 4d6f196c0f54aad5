/* lk_sql_eval — the column-at-a-time evaluator; see lk_sql_eval.h. */
#include "lk_sql_eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_decimal.h"

static void add_fields(lk_sql_plan *p, lk_schema *s, int kind)
{
    int n = kind == LK_REG_TEMP ? p->ntemps : p->nconsts;
    /* the register of each index, in one pass (a search per index was quadratic) */
    int *at = malloc(sizeof(int) * (size_t)(n ? n : 1));
    if (!at) abort();
    for (int k = 0; k < n; k++)
        at[k] = -1;
    for (int r = 0; r < p->nregs; r++)
        if (p->regs[r].kind == kind && p->regs[r].index >= 0 && p->regs[r].index < n &&
            at[p->regs[r].index] < 0)
            at[p->regs[r].index] = r;
    for (int k = 0; k < n; k++) {
        int r = at[k];
        if (r < 0) continue;
        char name[32];
        snprintf(name, sizeof name, "r%d", r);
        const lk_field *t = p->regs[r].type;
        lk_field_copy_children(lk_schema_add(s, name, t->type, 1), t);
    }
    free(at);
}

static void build(lk_sql_plan *p)
{
    lk_schema *ts = lk_schema_new(), *cs = lk_schema_new();
    add_fields(p, ts, LK_REG_TEMP);
    add_fields(p, cs, LK_REG_CONST);
    lk_batch_destroy(&p->temps);
    lk_batch_destroy(&p->consts);
    p->temps = lk_batch_new(ts);
    p->consts = lk_batch_new(cs);
    lk_schema_destroy(&ts);
    lk_schema_destroy(&cs);
    p->const_rows = 0;
    p->temps_built = 1;
}

/* Fills every constant column to rows rows. */
static void fill_consts(lk_sql_plan *p, uint32_t rows)
{
    lk_batch_reset(p->consts);
    for (int r = 0; r < p->nregs; r++) {
        lk_sql_reg *g = &p->regs[r];
        if (g->kind != LK_REG_CONST) continue;
        lk_col *c = lk_batch_col(p->consts, g->index);
        const lk_sql_node *l = g->lit;
        if (!l->lit_type) {
            lk_col_pad(c, rows);
            continue;
        }
        switch (g->type->type) {
        case LK_TYPE_BOOLEAN:
            for (uint32_t i = 0; i < rows; i++)
                lk_col_append_bool(c, (int)l->i);
            break;
        case LK_TYPE_INTEGER:
        case LK_TYPE_DATE:
            for (uint32_t i = 0; i < rows; i++)
                lk_col_append_i32(c, (int32_t)l->i);
            break;
        case LK_TYPE_LONG:
        case LK_TYPE_TIMESTAMP:
            for (uint32_t i = 0; i < rows; i++)
                lk_col_append_i64(c, l->i);
            break;
        case LK_TYPE_DOUBLE: {
            double d = l->lit_type == LK_TYPE_DOUBLE || l->lit_type == LK_TYPE_DECIMAL ||
                               l->lit_type == LK_TYPE_FLOAT
                           ? l->d
                           : (double)l->i;
            for (uint32_t i = 0; i < rows; i++)
                lk_col_append_f64(c, d);
            break;
        }
        case LK_TYPE_DECIMAL: {
            /* the literal's digits, exactly (lk_sql_parse keeps its text) */
            lk_dec v = 0;
            if (l->lit_type == LK_TYPE_DECIMAL && l->s)
                lk_dec_parse(l->s, l->slen, g->type->scale, &v);
            else /* (other literals reach a decimal through a cast node) */
                lk_dec_rescale(l->i, 0, g->type->scale, &v);
            for (uint32_t i = 0; i < rows; i++)
                lk_dec_append(c, v);
            break;
        }
        case LK_TYPE_STRING:
            lk_col_reserve(c, rows, (size_t)rows * l->slen);
            for (uint32_t i = 0; i < rows; i++)
                lk_col_append_bytes(c, l->s, l->slen);
            break;
        default:
            lk_col_pad(c, rows);
            break;
        }
    }
    lk_batch_set_nrows(p->consts, rows);
    p->const_rows = rows;
}

static inline int bit(const uint8_t *b, uint32_t i)
{
    return (b[i >> 3] >> (i & 7)) & 1;
}

static inline int is_true(const lk_col *c, uint32_t i)
{
    return !lk_col_is_null(c, i) && ((const uint8_t *)c->values)[i];
}

static inline int is_false(const lk_col *c, uint32_t i)
{
    return !lk_col_is_null(c, i) && !((const uint8_t *)c->values)[i];
}

/* The failures of the arguments that reach the result (lk_sql_eval.h). */
static void propagate(lk_sql_plan *p, const lk_sql_ins *ins, lk_sql_reg *d, uint32_t n)
{
    int any = 0;
    for (int j = 0; j < ins->nargs; j++)
        any |= p->regs[ins->args[j]].has_err;
    if (!any) return;
    uint32_t nb = (n + 7) / 8;
    const lk_sql_reg *a0 = &p->regs[ins->args[0]];
    switch (ins->prop) {
    case LK_PROP_ALL:
        for (int j = 0; j < ins->nargs; j++) {
            const lk_sql_reg *a = &p->regs[ins->args[j]];
            if (a->has_err)
                for (uint32_t k = 0; k < nb; k++)
                    d->err[k] |= a->err[k];
        }
        break;
    case LK_PROP_AND:
    case LK_PROP_OR: {
        const lk_sql_reg *b = &p->regs[ins->args[1]];
        if (a0->has_err)
            for (uint32_t k = 0; k < nb; k++)
                d->err[k] |= a0->err[k];
        if (b->has_err)
            for (uint32_t i = 0; i < n; i++)
                if (bit(b->err, i) &&
                    !(ins->prop == LK_PROP_AND ? is_false(a0->cur, i) : is_true(a0->cur, i)))
                    d->err[i >> 3] |= (uint8_t)(1u << (i & 7));
        break;
    }
    case LK_PROP_IF:
        for (uint32_t i = 0; i < n; i++) {
            int e = a0->has_err && bit(a0->err, i);
            const lk_sql_reg *t = &p->regs[ins->args[is_true(a0->cur, i) ? 1 : 2]];
            e |= t->has_err && bit(t->err, i);
            if (e) d->err[i >> 3] |= (uint8_t)(1u << (i & 7));
        }
        break;
    case LK_PROP_CASE: {
        int nb2 = ins->nargs / 2, has_else = ins->nargs % 2;
        for (uint32_t i = 0; i < n; i++) {
            int e = 0, taken = -1;
            for (int w = 0; w < nb2 && taken < 0; w++) {
                const lk_sql_reg *c = &p->regs[ins->args[2 * w]];
                e |= c->has_err && bit(c->err, i);
                if (is_true(c->cur, i)) taken = 2 * w + 1;
            }
            if (taken < 0 && has_else) taken = ins->nargs - 1;
            if (taken >= 0) {
                const lk_sql_reg *v = &p->regs[ins->args[taken]];
                e |= v->has_err && bit(v->err, i);
            }
            if (e) d->err[i >> 3] |= (uint8_t)(1u << (i & 7));
        }
        break;
    }
    case LK_PROP_COALESCE:
        for (uint32_t i = 0; i < n; i++) {
            int e = 0;
            for (int j = 0; j < ins->nargs; j++) {
                const lk_sql_reg *a = &p->regs[ins->args[j]];
                e |= a->has_err && bit(a->err, i);
                if (!lk_col_is_null(a->cur, i)) break;
            }
            if (e) d->err[i >> 3] |= (uint8_t)(1u << (i & 7));
        }
        break;
    }
    d->has_err = 0;
    for (uint32_t k = 0; k < nb && !d->has_err; k++)
        d->has_err = d->err[k] != 0;
}

int lk_sql_eval_run(lk_sql_plan *p, const lk_batch *in, int64_t now_us, lk_error *err)
{
    uint32_t n = lk_batch_nrows(in);
    p->nrows = n;
    if (!p->temps_built) build(p);
    lk_batch_reset(p->temps);
    if (n > p->const_rows || !p->const_rows) fill_consts(p, n > 1024 ? n : 1024);
    uint32_t nb = (n + 7) / 8;
    for (int r = 0; r < p->nregs; r++) {
        lk_sql_reg *g = &p->regs[r];
        g->has_err = 0;
        switch (g->kind) {
        case LK_REG_INPUT:
            g->cur = (lk_col *)lk_batch_col_const(in, g->index);
            break;
        case LK_REG_CHILD:
            g->cur = &p->regs[g->index].cur->children[g->child];
            break;
        case LK_REG_TEMP:
            g->cur = lk_batch_col(p->temps, g->index);
            break;
        case LK_REG_CONST:
            g->cur = lk_batch_col(p->consts, g->index);
            break;
        }
        if (g->kind == LK_REG_TEMP && g->err_cap < nb) {
            g->err_cap = nb + 64;
            g->err = realloc(g->err, g->err_cap);
            if (!g->err) abort();
        }
    }
    const lk_col *argv_small[16];
    const lk_col **argv = argv_small;
    int argcap = 16;
    for (int c = 0; c < p->ncode; c++) {
        const lk_sql_ins *ins = &p->code[c];
        lk_sql_reg *d = &p->regs[ins->dst];
        if (ins->nargs > argcap) {
            argcap = ins->nargs;
            argv = realloc(argv == argv_small ? NULL : argv, sizeof *argv * (size_t)argcap);
            if (!argv) abort();
        }
        for (int j = 0; j < ins->nargs; j++)
            argv[j] = p->regs[ins->args[j]].cur;
        if (nb) /* err is not allocated before a first run with rows */
            memset(d->err, 0, nb);
        lk_sql_kctx k = {.n = n,
                         .out = d->cur,
                         .a = argv,
                         .na = ins->nargs,
                         .node = ins->node,
                         .aux = ins->aux,
                         .err = d->err,
                         .now_us = now_us,
                         .tmp = &p->tmp};
        ins->kernel(&k);
        d->has_err = k.nerr > 0;
        propagate(p, ins, d, n);
        if (d->cur->len != n) {
            if (argv != argv_small) free(argv);
            return lk_error_set(err, LK_EFORMAT, "internal: %s made %u rows of %u",
                                ins->node->name ? ins->node->name : "an instruction", d->cur->len,
                                n);
        }
    }
    if (argv != argv_small) free(argv);
    lk_batch_set_nrows(p->temps, n);
    return 0;
}
