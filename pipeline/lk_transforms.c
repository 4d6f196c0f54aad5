/* lk_transforms — transforms lists compiled and run; see lk_transforms.h. */
#include "lk_transforms.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lk_raw.h"
#include "lk_rowjson.h"
#include "lk_sql.h"

#define PROCESSED_AT (-2) /* the register of processed_at: filled with the run's clock */

typedef struct entry {
    char *name;
    int reg;
} entry;

typedef struct scope {
    entry *e;
    int n, cap;
} scope;

/* A rescue of one derive item: rows where reg failed keep old's value in _rescued_data. */
typedef struct rescue {
    int reg, old;
    char *name;
} rescue;

typedef struct step_rt {
    int kind;
    lk_on_error on_error;
    int filter;  /* register of the condition, or -1 */
    int *regs;   /* registers whose failures count for on_error */
    char **what; /* for each: the entry it computes ("amount_eur", "[2]"), or NULL */
    int nregs;
    rescue *rescues;
    int nrescues;
    char key[512]; /* for the quarantine's error column */
    int line;      /* of the step in the file */
} step_rt;

struct lk_transforms {
    /* The list's leading filters (and silver's corrupt-record filter) are compiled apart, in
       pre, and run first over every row; prog, the rest of the list, then runs over the rows
       they kept only (docs/decisions.md, "Filters first"). */
    lk_sql_program *pre; /* steps [0, npre) (none: npre 0) */
    int npre;
    lk_sql_program *prog; /* steps [npre, nsteps) */
    int compact;          /* prog may run over the kept rows gathered (no rescue after pre) */
    uint8_t *need;        /* per input column: prog or its steps read it (gathered into view) */
    lk_batch *view;       /* the input's rows pre kept: the needed columns gathered */
    uint32_t *map;        /* view row → input row */
    uint8_t *valive;      /* per view row: still kept */
    uint32_t map_cap;
    lk_schema *out_schema;
    entry *out; /* the final scope */
    int nout;
    step_rt *steps;
    int nsteps, cap_steps;
    int rescued_out; /* the output column of _rescued_data, or -1 */
    int meta_in;     /* the input's _metadata, or -1 */
    char table[128];
    /* run state, reused */
    uint8_t *alive;
    uint32_t cap;
    uint32_t *sel; /* the surviving rows of a run, when not all survive */
    uint32_t sel_cap;
    uint8_t *rescued_rows;
    int *src; /* after a run: per output column, the input column it is unchanged, or -1 */
    int defer;          /* lk_transforms_defer */
    int defer_keep;     /* the output column filled all the same, or -1 */
    int deferred;       /* the last run left the src columns empty */
    lk_batch *datarow; /* the input's data columns, for quarantine records */
    lk_buf json, tmp;
    int64_t quarantined, rescued;
};

/* ---- scope ---- */

static int sc_find(const scope *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->e[i].name, name)) return i;
    for (int i = 0; i < s->n; i++)
        if (!strcasecmp(s->e[i].name, name)) return i;
    return -1;
}

static void sc_insert(scope *s, int at, const char *name, int reg)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 32;
        s->e = realloc(s->e, sizeof *s->e * (size_t)s->cap);
        if (!s->e) abort();
    }
    memmove(&s->e[at + 1], &s->e[at], sizeof *s->e * (size_t)(s->n - at));
    s->e[at].name = strdup(name);
    if (!s->e[at].name) abort();
    s->e[at].reg = reg;
    s->n++;
}

static void sc_remove(scope *s, int i)
{
    free(s->e[i].name);
    memmove(&s->e[i], &s->e[i + 1], sizeof *s->e * (size_t)(s->n - i - 1));
    s->n--;
}

static void sc_free(scope *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->e[i].name);
    free(s->e);
    memset(s, 0, sizeof *s);
}

static void sc_copy(scope *dst, const scope *src)
{
    memset(dst, 0, sizeof *dst);
    for (int i = 0; i < src->n; i++)
        sc_insert(dst, i, src->e[i].name, src->e[i].reg);
}

static int scope_find(void *ctx, const char *name)
{
    scope *s = ctx;
    int i = sc_find(s, name);
    return i < 0 ? -1 : s->e[i].reg;
}

static void scope_names(void *ctx, lk_buf *out)
{
    scope *s = ctx;
    for (int i = 0; i < s->n; i++)
        lk_buf_printf(out, "%s%s", i ? ", " : "", s->e[i].name);
}

static int is_system(const char *name, const char *rescued)
{
    return !strcmp(name, LK_RAW_CORRUPT) || !strcmp(name, LK_RAW_METADATA) ||
           !strcmp(name, LK_RAW_RESCUED) || (rescued && !strcmp(name, rescued));
}

/* ---- compiling ---- */

typedef struct cc {
    const lk_config *cfg;
    const lk_transforms_opts *o;
    lk_transforms *t;
    lk_sql_program *prog; /* the program steps compile into (t->pre, then t->prog) */
    scope sc;
    lk_error *err;
} cc;

static int fail_at(cc *c, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_at(cc *c, int line, const char *key, const char *fmt, ...)
{
    char what[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    char at[1100]; /* a file name (at most 1,023 bytes), ":" and a line */
    return lk_error_set(c->err, LK_ECONFIG, "%s: key '%s': %s",
                        lk_config_at(c->cfg, line, at, sizeof at), key, what);
}

static int compile_expr(cc *c, const char *text, int line, const char *key, int *reg, char **alias)
{
    lk_sql_scope s = {&c->sc, scope_find, scope_names};
    lk_error e = {0};
    if (lk_sql_program_compile(c->prog, text, &s, reg, alias, &e))
        return fail_at(c, line, key, "%s", e.msg);
    return 0;
}

/* reg's failures count for the step's on_error; what names the entry (or NULL). */
static void add_failing(step_rt *st, int reg, const char *what)
{
    st->regs = realloc(st->regs, sizeof(int) * (size_t)(st->nregs + 1));
    st->what = realloc(st->what, sizeof(char *) * (size_t)(st->nregs + 1));
    if (!st->regs || !st->what) abort();
    st->what[st->nregs] = what ? strdup(what) : NULL;
    st->regs[st->nregs++] = reg;
}

static void free_step(step_rt *st)
{
    free(st->regs);
    for (int k = 0; k < st->nregs; k++)
        free(st->what[k]);
    free(st->what);
    for (int k = 0; k < st->nrescues; k++)
        free(st->rescues[k].name);
    free(st->rescues);
    memset(st, 0, sizeof *st);
}

/* Where a new derived column goes: after `after`, else before the system columns. */
static int new_pos(cc *c, const lk_step *st, int line, const char *key, int *pos)
{
    if (st->after >= 0) {
        int a = sc_find(&c->sc, lk_config_xf_text(c->cfg, st->after));
        if (a < 0)
            return fail_at(c, line, key, "after: no column '%s'",
                           lk_config_xf_text(c->cfg, st->after));
        *pos = a + 1;
        return 0;
    }
    int p = c->sc.n;
    while (p > 0 && is_system(c->sc.e[p - 1].name, c->o->rescued))
        p--;
    *pos = p;
    return 0;
}

/* A select item `s.*` (Spark's UnresolvedStar with a target): the fields of struct s, each a column
   named by its field, appended to out. 1 done, 0 not such an item, -1 refused. Delta refuses two
   columns of one name (case-insensitively), so a field whose name is selected already is refused
   here, where Spark would make the duplicate and fail only at the write. */
static int select_struct_star(cc *c, const char *text, int line, const char *key, scope *out)
{
    lk_sql_ast *ast = NULL;
    lk_error e = {0};
    if (lk_sql_parse(text, 0, &ast, &e)) return 0; /* compile_expr reports it */
    const lk_sql_node *n = lk_sql_ast_root(ast);
    if (n->kind != LK_SQL_STAR || n->nparts == 0) {
        lk_sql_ast_destroy(&ast);
        return 0;
    }
    lk_buf q = LK_BUF_INIT; /* the struct as a column path, every part quoted */
    for (int k = 0; k < n->nparts; k++) {
        lk_buf_puts(&q, k ? ".`" : "`");
        for (const char *p = n->parts[k]; *p; p++) {
            if (*p == '`') lk_buf_putc(&q, '`');
            lk_buf_putc(&q, *p);
        }
        lk_buf_putc(&q, '`');
    }
    lk_sql_ast_destroy(&ast);
    int reg, rc = compile_expr(c, q.data, line, key, &reg, NULL);
    lk_buf_free(&q);
    if (rc) return -1;
    const lk_field *f = lk_sql_program_type(c->prog, reg);
    if (f->type != LK_TYPE_STRUCT)
        return fail_at(c, line, key, "'%s' expands a struct's fields, and it is %s, not a struct",
                       text, lk_type_name(f->type));
    for (int j = 0; j < f->n_children; j++) {
        const char *name = f->children[j].name;
        int there = sc_find(out, name);
        if (there >= 0)
            return fail_at(c, line, key,
                           "'%s' gives a column '%s', and '%s' is selected already (a Delta table "
                           "cannot have two columns of one name): select the fields by name, "
                           "with AS for the one that clashes",
                           text, name, out->e[there].name);
        sc_insert(out, out->n, name, lk_sql_program_child(c->prog, reg, j));
    }
    return 1;
}

/* A step that would name a column processed_at in processed_events' list: refused (the
   system's column, added last, replaced the user's values). */
static int own_column(cc *c, const char *name, int line, const char *key)
{
    if (!c->o->silver || strcmp(name, "processed_at")) return 0;
    return fail_at(c, line, key,
                   "processed_at is processed_events' own column, added last: name this one "
                   "otherwise");
}

static int compile_step(cc *c, const lk_step *st, int si, step_rt *rt)
{
    static const char *const kinds[] = {"",     "filter", "derive", "select",
                                        "drop", "rename", "cast",   "flatten"};
    const lk_step_item *items = &c->cfg->xf.item[st->item0];
    char key[512];
    snprintf(key, sizeof key, "%s[%d].%s", c->o->key, si, kinds[st->kind]);
    snprintf(rt->key, sizeof rt->key, "%s", key);
    rt->line = st->line;
    rt->kind = st->kind;
    rt->on_error = st->on_error;
    rt->filter = -1;
    switch (st->kind) {
    case LK_STEP_FILTER: {
        int reg;
        if (compile_expr(c, lk_config_xf_text(c->cfg, items[0].text), items[0].line, key, &reg,
                         NULL))
            return -1;
        const lk_field *f = lk_sql_program_type(c->prog, reg);
        if (f->type != LK_TYPE_BOOLEAN)
            return fail_at(c, items[0].line, key, "position 1: a filter must be boolean, not %s",
                           lk_type_name(f->type));
        rt->filter = reg;
        add_failing(rt, reg, NULL);
        return 0;
    }
    case LK_STEP_DERIVE:
    case LK_STEP_CAST: {
        int next = -1; /* where the step's next new column goes: after its previous one */
        for (int i = 0; i < st->nitems; i++) {
            const char *name = lk_config_xf_text(c->cfg, items[i].name);
            const char *text = lk_config_xf_text(c->cfg, items[i].text);
            char ik[700];
            snprintf(ik, sizeof ik, "%s.%s", key, name);
            if (own_column(c, name, items[i].line, ik)) return -1;
            int reg, at = sc_find(&c->sc, name);
            if (st->kind == LK_STEP_CAST) {
                if (at < 0) return fail_at(c, items[i].line, ik, "no column '%s' to cast", name);
                lk_buf q = LK_BUF_INIT;
                lk_buf_puts(&q, "CAST(`");
                for (const char *p = c->sc.e[at].name; *p; p++) {
                    if (*p == '`') lk_buf_putc(&q, '`');
                    lk_buf_putc(&q, *p);
                }
                lk_buf_printf(&q, "` AS %s)", text);
                int rc = compile_expr(c, q.data, items[i].line, ik, &reg, NULL);
                lk_buf_free(&q);
                if (rc) return -1;
            } else if (compile_expr(c, text, items[i].line, ik, &reg, NULL)) {
                return -1;
            }
            add_failing(rt, reg, name);
            if (st->on_error == LK_ON_ERROR_RESCUE) {
                rt->rescues =
                    realloc(rt->rescues, sizeof *rt->rescues * (size_t)(rt->nrescues + 1));
                if (!rt->rescues) abort();
                rescue *r = &rt->rescues[rt->nrescues++];
                r->reg = reg;
                r->old = at >= 0 ? c->sc.e[at].reg : -1;
                r->name = strdup(name);
            }
            if (at >= 0) {
                c->sc.e[at].reg = reg;
            } else {
                int pos = next;
                if (pos < 0 && new_pos(c, st, items[i].line, ik, &pos)) return -1;
                sc_insert(&c->sc, pos, name, reg);
                next = pos + 1;
            }
        }
        return 0;
    }
    case LK_STEP_RENAME:
        for (int i = 0; i < st->nitems; i++) {
            const char *from = lk_config_xf_text(c->cfg, items[i].name);
            const char *to = lk_config_xf_text(c->cfg, items[i].text);
            char ik[700];
            snprintf(ik, sizeof ik, "%s.%s", key, from);
            int at = sc_find(&c->sc, from), there = sc_find(&c->sc, to);
            if (at < 0) return fail_at(c, items[i].line, ik, "no column '%s' to rename", from);
            if (own_column(c, to, items[i].line, ik)) return -1;
            if (there >= 0 && there != at)
                return fail_at(c, items[i].line, ik, "a column '%s' exists already", to);
            free(c->sc.e[at].name);
            c->sc.e[at].name = strdup(to);
            if (!c->sc.e[at].name) abort();
        }
        return 0;
    case LK_STEP_DROP:
        for (int i = 0; i < st->nitems; i++) {
            int at = sc_find(&c->sc, lk_config_xf_text(c->cfg, items[i].text));
            if (at >= 0) /* dropping a column that is not there is no error, as Spark */
                sc_remove(&c->sc, at);
        }
        return 0;
    case LK_STEP_SELECT: {
        scope out = {0};
        for (int i = 0; i < st->nitems; i++) {
            const char *text = lk_config_xf_text(c->cfg, items[i].text);
            char ik[700];
            snprintf(ik, sizeof ik, "%s[%d]", key, i);
            if (!strcmp(text, "*")) {
                for (int k = 0; k < c->sc.n; k++)
                    if (sc_find(&out, c->sc.e[k].name) < 0)
                        sc_insert(&out, out.n, c->sc.e[k].name, c->sc.e[k].reg);
                continue;
            }
            int star = select_struct_star(c, text, items[i].line, ik, &out);
            if (star < 0) {
                sc_free(&out);
                return -1;
            }
            if (star) continue;
            int reg;
            char *alias = NULL;
            if (compile_expr(c, text, items[i].line, ik, &reg, &alias)) {
                sc_free(&out);
                return -1;
            }
            char idx[32];
            snprintf(idx, sizeof idx, "[%d]", i);
            add_failing(rt, reg, idx);
            /* the name: the alias, or the column (the last field of a path) */
            char name[256] = "";
            if (alias) {
                snprintf(name, sizeof name, "%s", alias);
            } else {
                lk_sql_ast *ast = NULL;
                lk_error e = {0};
                if (lk_sql_parse(text, 0, &ast, &e) == 0 &&
                    lk_sql_ast_root(ast)->kind == LK_SQL_COL) {
                    const lk_sql_node *n = lk_sql_ast_root(ast);
                    snprintf(name, sizeof name, "%s", n->parts[n->nparts - 1]);
                    if (n->nparts == 1 && sc_find(&c->sc, name) >= 0)
                        snprintf(name, sizeof name, "%s", c->sc.e[sc_find(&c->sc, name)].name);
                }
                lk_sql_ast_destroy(&ast);
            }
            free(alias);
            if (!name[0]) {
                sc_free(&out);
                return fail_at(c, items[i].line, ik,
                               "name the expression: '%s AS name' (a Delta column needs a name)",
                               text);
            }
            if (sc_find(&out, name) >= 0) {
                sc_free(&out);
                return fail_at(c, items[i].line, ik, "column '%s' is selected twice", name);
            }
            sc_insert(&out, out.n, name, reg);
        }
        sc_free(&c->sc);
        c->sc = out;
        return 0;
    }
    case LK_STEP_FLATTEN:
        for (int i = 0; i < st->nitems; i++) {
            const char *what = lk_config_xf_text(c->cfg, items[i].text);
            int all = !strcmp(what, "*");
            if (!all && sc_find(&c->sc, what) < 0) {
                char ik[700];
                snprintf(ik, sizeof ik, "%s[%d]", key, i);
                return fail_at(c, items[i].line, ik, "no column '%s' to flatten", what);
            }
            for (int k = 0; k < c->sc.n; k++) {
                const lk_field *f = lk_sql_program_type(c->prog, c->sc.e[k].reg);
                if (f->type != LK_TYPE_STRUCT || (!all && strcmp(c->sc.e[k].name, what)) ||
                    is_system(c->sc.e[k].name, c->o->rescued))
                    continue;
                int reg = c->sc.e[k].reg;
                char *base = strdup(c->sc.e[k].name);
                if (!base) abort();
                sc_remove(&c->sc, k);
                int at = k;
                for (int j = 0; j < f->n_children; j++) {
                    char name[512];
                    snprintf(name, sizeof name, "%s_%s", base, f->children[j].name);
                    if (sc_find(&c->sc, name) >= 0) continue; /* a column of that name wins */
                    sc_insert(&c->sc, at++, name, lk_sql_program_child(c->prog, reg, j));
                }
                free(base);
                k = at - 1;
            }
        }
        return 0;
    }
    return fail_at(c, st->line, key, "internal: unknown step");
}

/* The steps compiled so far (t->pre's) were filters: the scope is the input's columns; from
   here on it names t->prog's registers. */
static void to_prog(cc *c, const lk_schema *input)
{
    c->t->npre = c->t->nsteps;
    c->prog = c->t->prog;
    for (int i = 0; i < c->sc.n; i++)
        c->sc.e[i].reg = lk_sql_program_column(c->prog, lk_schema_find(input, c->sc.e[i].name));
}

lk_schema *lk_transforms_quarantine_schema(void)
{
    lk_schema *q = lk_schema_new();
    lk_schema_add(q, "record", LK_TYPE_STRING, 1);
    lk_schema_add(q, "reason", LK_TYPE_STRING, 1);
    lk_schema_add(q, "error", LK_TYPE_STRING, 1);
    lk_schema_add(q, "table", LK_TYPE_STRING, 1);
    lk_schema *data = lk_schema_new(), *raw = lk_raw_schema_opt(data, NULL);
    lk_schema_add_copy(q, lk_schema_field(raw, lk_schema_find(raw, LK_RAW_METADATA)));
    lk_schema_destroy(&raw);
    lk_schema_destroy(&data);
    lk_schema_add(q, "watermark", LK_TYPE_TIMESTAMP, 1);
    lk_schema_add(q, "batch", LK_TYPE_LONG, 1);
    lk_schema_add(q, "quarantined_at", LK_TYPE_TIMESTAMP, 1);
    lk_schema_add(q, "replayed_in_batch", LK_TYPE_LONG, 1);
    return q;
}

int lk_transforms_compile(const lk_config *cfg, lk_step_list list, const lk_schema *input,
                          const lk_transforms_opts *o, lk_transforms **out, lk_error *err)
{
    *out = NULL;
    lk_transforms *t = calloc(1, sizeof *t);
    if (!t) abort();
    t->pre = lk_sql_program_new(input);
    t->prog = lk_sql_program_new(input);
    t->rescued_out = -1;
    snprintf(t->table, sizeof t->table, "%s", o->table);
    /* the leading filters compile into pre, over the input's columns */
    cc c = {.cfg = cfg, .o = o, .t = t, .prog = t->pre, .err = err};
    for (int i = 0; i < lk_schema_nfields(input); i++)
        sc_insert(&c.sc, c.sc.n, lk_schema_field(input, i)->name, lk_sql_program_column(t->pre, i));
    t->meta_in = lk_schema_find(input, LK_RAW_METADATA);
    t->cap_steps = list.n + 1;
    t->steps = calloc((size_t)t->cap_steps, sizeof *t->steps);
    if (!t->steps) abort();
    if (o->silver && sc_find(&c.sc, LK_RAW_CORRUPT) >= 0) {
        /* silver holds the parsed rows only, whatever the list */
        step_rt *rt = &t->steps[t->nsteps++];
        rt->kind = LK_STEP_FILTER;
        snprintf(rt->key, sizeof rt->key, "%s (corrupt records)", o->key);
        lk_sql_scope s = {&c.sc, scope_find, scope_names};
        if (lk_sql_program_compile(c.prog, "_corrupt_record IS NULL", &s, &rt->filter, NULL, err))
            goto bad;
    }
    for (int si = 0; si < list.n; si++) {
        const lk_step *st = &cfg->xf.step[list.first + si];
        if (c.prog == t->pre &&
            (st->kind != LK_STEP_FILTER || st->on_error == LK_ON_ERROR_RESCUE)) {
            /* the first step that is not a plain filter: the rest compiles into prog, over
               the same columns (filters leave the scope as it was) */
            to_prog(&c, input);
        }
        step_rt *rt = &t->steps[t->nsteps];
        if (!st->optional) {
            if (compile_step(&c, st, si, rt)) goto bad;
            t->nsteps++;
            continue;
        }
        /* an optional step that does not compile leaves the scope as it was */
        scope saved;
        sc_copy(&saved, &c.sc);
        lk_error e = {0};
        c.err = &e;
        int rc = compile_step(&c, st, si, rt);
        c.err = err;
        if (rc) {
            sc_free(&c.sc);
            c.sc = saved;
            free_step(rt);
        } else {
            sc_free(&saved);
            t->nsteps++;
        }
    }
    if (c.prog == t->pre) /* a list of filters only: the output is prog's view of the input */
        to_prog(&c, input);
    t->compact = 1;
    for (int si = t->npre; si < t->nsteps; si++)
        if (t->steps[si].on_error == LK_ON_ERROR_RESCUE) t->compact = 0;
    /* partition columns a select left out: kept from the input; event_date, which neither has
       (a list that replaced the default one, as issue 13's example), is derived as the default
       list derives it, from the event time (docs/decisions.md, "A partition column the table
       lacks") */
    for (int k = 0; o->keep && k < o->keep->n; k++) {
        const char *name = o->keep->name[k];
        if (sc_find(&c.sc, name) >= 0) continue;
        int i = lk_schema_find(input, name);
        if (i >= 0) {
            sc_insert(&c.sc, c.sc.n, name, lk_sql_program_column(t->prog, i));
            continue;
        }
        const char *et = cfg->event.event_time[0] ? cfg->event.event_time : "ts";
        if (strcmp(name, "event_date") || sc_find(&c.sc, et) < 0) continue;
        char expr[300];
        snprintf(expr, sizeof expr, "to_date(`%s`)", et);
        lk_sql_scope s = {&c.sc, scope_find, scope_names};
        int reg = -1;
        lk_error e = {0};
        if (lk_sql_program_compile(c.prog, expr, &s, &reg, NULL, &e) == 0)
            sc_insert(&c.sc, c.sc.n, name, reg);
    }
    if (o->silver) {
        int i = sc_find(&c.sc, LK_RAW_CORRUPT);
        if (i >= 0) sc_remove(&c.sc, i);
        i = sc_find(&c.sc, LK_RAW_METADATA);
        if (i >= 0) sc_remove(&c.sc, i);
        i = sc_find(&c.sc, "processed_at");
        if (i >= 0) sc_remove(&c.sc, i);
        sc_insert(&c.sc, c.sc.n, "processed_at", PROCESSED_AT);
    }
    t->out_schema = lk_schema_new();
    for (int i = 0; i < c.sc.n; i++) {
        if (c.sc.e[i].reg == PROCESSED_AT) {
            lk_schema_add(t->out_schema, c.sc.e[i].name, LK_TYPE_TIMESTAMP, 1);
            continue;
        }
        const lk_field *f = lk_sql_program_type(t->prog, c.sc.e[i].reg);
        lk_field *nf = lk_schema_add(t->out_schema, c.sc.e[i].name, f->type, 1);
        lk_field_copy_children(nf, f);
        if (f->metadata_json) { /* the rescued column keeps its comment (a renamed one is found by
                                   it) */
            nf->metadata_json = strdup(f->metadata_json);
            if (!nf->metadata_json) abort();
        }
        if (o->rescued && !strcmp(c.sc.e[i].name, o->rescued) && f->type == LK_TYPE_STRING)
            t->rescued_out = i;
    }
    /* a rescue whose value has nowhere to go because a step removed the rescued column would
       lose it: refused. Without a rescued column at all (source.rescued_data_column: "") a
       rescue is on_error: null, as the user chose; raw_events keeps the value. */
    for (int si = 0; si < t->nsteps && o->rescued && t->rescued_out < 0; si++)
        if (t->steps[si].nrescues) {
            fail_at(&c, t->steps[si].line, t->steps[si].key,
                    "on_error: rescue keeps a failed value in %s, which this list removes (keep "
                    "it in a select, or do not drop it)",
                    o->rescued);
            goto bad;
        }
    t->out = c.sc.e;
    t->nout = c.sc.n;
    /* what prog reads of the input, and the structs whose fields are output columns: the
       columns gathered when prog runs over pre's kept rows (the output's unchanged columns are
       gathered from the input directly) */
    int nin = lk_schema_nfields(input);
    t->need = calloc((size_t)nin + 1, 1);
    if (!t->need) abort();
    for (int i = 0; i < nin; i++)
        t->need[i] = (uint8_t)lk_sql_program_reads(t->prog, i);
    for (int o2 = 0; o2 < t->nout; o2++) {
        int whole, k = t->out[o2].reg == PROCESSED_AT
                           ? -1
                           : lk_sql_program_input_of(t->prog, t->out[o2].reg, &whole);
        if (k >= 0 && !whole) t->need[k] = 1;
    }
    /* a step's own registers may be input columns with no instruction behind them (`filter:
       "flag"`, `filter: "st.ok"`, a cast to the column's type): walk_steps reads them */
    for (int si = t->npre; si < t->nsteps; si++) {
        const step_rt *st = &t->steps[si];
        int k = st->filter >= 0 ? lk_sql_program_input_of(t->prog, st->filter, NULL) : -1;
        if (k >= 0) t->need[k] = 1;
        for (int r = 0; r < st->nregs; r++)
            if ((k = lk_sql_program_input_of(t->prog, st->regs[r], NULL)) >= 0) t->need[k] = 1;
    }
    t->view = lk_batch_new(input);
    *out = t;
    return 0;
bad:
    sc_free(&c.sc);
    lk_transforms_destroy(&t);
    return err->code ? err->code : LK_ECONFIG;
}

void lk_transforms_destroy(lk_transforms **tp)
{
    if (!tp || !*tp) return;
    lk_transforms *t = *tp;
    for (int i = 0; i < t->nout; i++)
        free(t->out[i].name);
    free(t->out);
    for (int s = 0; s < t->cap_steps; s++)
        free_step(&t->steps[s]);
    free(t->steps);
    lk_sql_program_destroy(&t->prog);
    lk_sql_program_destroy(&t->pre);
    free(t->need);
    lk_batch_destroy(&t->view);
    free(t->map);
    free(t->valive);
    lk_schema_destroy(&t->out_schema);
    free(t->alive);
    free(t->sel);
    free(t->rescued_rows);
    free(t->src);
    lk_batch_destroy(&t->datarow);
    lk_buf_free(&t->json);
    lk_buf_free(&t->tmp);
    free(t);
    *tp = NULL;
}

const lk_schema *lk_transforms_schema(const lk_transforms *t)
{
    return t->out_schema;
}

const uint8_t *lk_transforms_kept(const lk_transforms *t)
{
    return t->alive;
}

const int *lk_transforms_sources(const lk_transforms *t)
{
    return t->src;
}

/* t->src after a run: an output column whose register is one of the input's columns (a column
   named, renamed or selected, not computed) holds that column's values at the kept rows; the
   rescued column does not when the run rewrote some of its values. */
static void note_sources(lk_transforms *t, int rewrote_rescued)
{
    if (!t->src) {
        t->src = malloc(sizeof *t->src * (size_t)(t->nout + 1));
        if (!t->src) abort();
    }
    for (int o = 0; o < t->nout; o++) {
        t->src[o] = -1;
        int reg = t->out[o].reg, whole = 0;
        if (reg == PROCESSED_AT || (rewrote_rescued && o == t->rescued_out)) continue;
        int k = lk_sql_program_input_of(t->prog, reg, &whole);
        if (k >= 0 && whole) t->src[o] = k;
    }
}

void lk_transforms_defer(lk_transforms *t, int on, const char *keep)
{
    t->defer = on;
    t->defer_keep = keep ? lk_schema_find(t->out_schema, keep) : -1;
}

int lk_transforms_deferred(const lk_transforms *t)
{
    return t->deferred;
}

/* A filtered run into an empty out may leave output column o empty (lk_transforms_defer). */
static int deferrable(const lk_transforms *t, int o, uint32_t base)
{
    return t->defer && !base && t->src[o] >= 0 && o != t->defer_keep;
}

int64_t lk_transforms_quarantined(const lk_transforms *t)
{
    return t->quarantined;
}

int64_t lk_transforms_rescued(const lk_transforms *t)
{
    return t->rescued;
}

/* ---- running ---- */

static inline int bit(const uint8_t *b, uint32_t i)
{
    return b && ((b[i >> 3] >> (i & 7)) & 1);
}

/* The JSON of one value of a column (for _rescued_data). */
static void value_json(const lk_col *c, uint32_t i, lk_buf *out)
{
    if (lk_col_is_null(c, i)) {
        lk_buf_puts(out, "null");
        return;
    }
    size_t n;
    switch (c->field->type) {
    case LK_TYPE_STRING: {
        const char *s = lk_col_bytes(c, i, &n);
        lk_buf_json_string(out, s, n);
        return;
    }
    case LK_TYPE_BOOLEAN:
        lk_buf_puts(out, ((const uint8_t *)c->values)[i] ? "true" : "false");
        return;
    case LK_TYPE_INTEGER:
        lk_buf_printf(out, "%d", ((const int32_t *)c->values)[i]);
        return;
    case LK_TYPE_LONG:
        lk_buf_printf(out, "%lld", (long long)((const int64_t *)c->values)[i]);
        return;
    case LK_TYPE_DOUBLE:
        lk_buf_number(out, ((const double *)c->values)[i], 0);
        return;
    default:
        lk_buf_puts(out, "null");
        return;
    }
}

/* Appends row i of the rescued column with {"name": old} for each failed rescue. */
static void rescued_value(lk_transforms *t, const lk_col *src, uint32_t i, lk_col *dst)
{
    lk_buf *b = &t->tmp;
    lk_buf_reset(b);
    size_t n = 0;
    const char *p = lk_col_is_null(src, i) ? NULL : lk_col_bytes(src, i, &n);
    if (p && n >= 2 && p[n - 1] == '}') {
        lk_buf_append(b, p, n - 1);
    } else {
        lk_buf_putc(b, '{');
    }
    int first = !(p && n > 2);
    for (int s = 0; s < t->nsteps; s++)
        for (int k = 0; k < t->steps[s].nrescues; k++) {
            const rescue *r = &t->steps[s].rescues[k];
            if (!bit(lk_sql_program_failed(t->prog, r->reg), i)) continue;
            if (!first) lk_buf_putc(b, ',');
            first = 0;
            lk_buf_json_string(b, r->name, strlen(r->name));
            lk_buf_putc(b, ':');
            if (r->old >= 0)
                value_json(lk_sql_program_result(t->prog, r->old), i, b);
            else
                lk_buf_puts(b, "null");
        }
    lk_buf_putc(b, '}');
    lk_col_append_bytes(dst, b->data, b->len);
}

/* One quarantined row: its data columns as JSON and where it failed. The input's rescued data
   column, when the row has a value there, goes into the record too, under the column's name (no
   data column has it) as a JSON string: the values the reader could not place (a nested key, a key
   that names no column, a duplicate) are paths, not a row, so they are carried whole and `lakesupd
   replay` puts the exact text back (docs/decisions.md, "Quarantine records carry
   _rescued_data"). */
static void quarantine_row(lk_transforms *t, const lk_batch *in, uint32_t i, const step_rt *st,
                           const char *what, int64_t batch, int64_t now_us, lk_batch *q)
{
    const lk_schema *is = lk_batch_schema(in);
    if (!t->datarow) {
        lk_schema *d = lk_schema_new();
        for (int c = 0; c < lk_schema_nfields(is); c++)
            if (!is_system(lk_schema_field(is, c)->name, NULL) && lk_raw_rescued_index(is) != c)
                lk_schema_add_copy(d, lk_schema_field(is, c));
        t->datarow = lk_batch_new(d);
        lk_schema_destroy(&d);
    }
    lk_batch_reset(t->datarow);
    const lk_schema *ds = lk_batch_schema(t->datarow);
    for (int c = 0; c < lk_schema_nfields(ds); c++)
        lk_col_append_range(
            lk_batch_col(t->datarow, c),
            lk_batch_col_const(in, lk_schema_find(is, lk_schema_field(ds, c)->name)), i, 1);
    lk_batch_set_nrows(t->datarow, 1);
    lk_buf_reset(&t->json);
    lk_rowjson_append(t->datarow, 0, &t->json);
    int rc = lk_raw_rescued_index(is);
    if (rc >= 0 && !lk_col_is_null(lk_batch_col_const(in, rc), i)) {
        size_t n;
        const char *v = lk_col_bytes(lk_batch_col_const(in, rc), i, &n);
        const char *name = lk_schema_field(is, rc)->name;
        t->json.len--; /* the record's closing brace */
        if (t->json.len > 1) lk_buf_putc(&t->json, ',');
        lk_buf_json_string(&t->json, name, strlen(name));
        lk_buf_putc(&t->json, ':');
        lk_buf_json_string(&t->json, v, n);
        lk_buf_putc(&t->json, '}');
    }
    lk_col_append_bytes(lk_batch_col(q, LK_Q_RECORD), t->json.data, t->json.len);
    lk_col_append_bytes(lk_batch_col(q, LK_Q_REASON), "transform_error", 15);
    lk_buf_reset(&t->tmp);
    lk_buf_printf(&t->tmp, "%s%s%s", st->key, what && what[0] != '[' ? "." : "", what ? what : "");
    lk_col_append_bytes(lk_batch_col(q, LK_Q_ERROR), t->tmp.data, t->tmp.len);
    lk_col_append_bytes(lk_batch_col(q, LK_Q_TABLE), t->table, strlen(t->table));
    lk_col *meta = lk_batch_col(q, LK_Q_METADATA);
    if (t->meta_in >= 0 && lk_field_equal(lk_batch_col_const(in, t->meta_in)->field, meta->field))
        lk_col_append_range(meta, lk_batch_col_const(in, t->meta_in), i, 1);
    else
        lk_col_append_null(meta);
    lk_col_append_null(lk_batch_col(q, LK_Q_WATERMARK));
    lk_col_append_i64(lk_batch_col(q, LK_Q_BATCH), batch);
    lk_col_append_i64(lk_batch_col(q, LK_Q_AT), now_us);
    lk_col_append_null(lk_batch_col(q, LK_Q_REPLAYED));
    lk_batch_set_nrows(q, lk_batch_nrows(q) + 1);
}

/* Steps [s0, s1) of program prog, run over view (m rows; view row i is input row map[i], or i
   without a map), over alive: rows failing a quarantine step leave for q, filters drop rows.
   Whether a rescue step failed on a kept row. */
static int walk_steps(lk_transforms *t, const lk_sql_program *prog, int s0, int s1,
                      const lk_batch *in, const uint32_t *map, uint8_t *alive, uint32_t m,
                      int64_t batch, int64_t now_us, lk_batch *q)
{
    int any_rescue = 0;
    for (int s = s0; s < s1; s++) {
        const step_rt *st = &t->steps[s];
        if (st->on_error != LK_ON_ERROR_NULL)
            for (int k = 0; k < st->nregs; k++) {
                const uint8_t *f = lk_sql_program_failed(prog, st->regs[k]);
                if (!f) continue;
                for (uint32_t i = 0; i < m; i++) {
                    if (!alive[i] || !bit(f, i)) continue;
                    if (st->on_error == LK_ON_ERROR_QUARANTINE) {
                        alive[i] = 0;
                        t->quarantined++;
                        if (q)
                            quarantine_row(t, in, map ? map[i] : i, st, st->what[k], batch, now_us,
                                           q);
                    } else {
                        any_rescue = 1;
                    }
                }
            }
        if (st->filter >= 0) {
            const lk_col *c = lk_sql_program_result(prog, st->filter);
            const uint8_t *v = c->values;
            if (!c->validity)
                for (uint32_t i = 0; i < m; i++)
                    alive[i] &= v[i];
            else
                for (uint32_t i = 0; i < m; i++)
                    alive[i] &= v[i] & !lk_col_is_null(c, i);
        }
    }
    return any_rescue;
}

static void grow_rows(uint8_t **p, uint32_t n)
{
    *p = realloc(*p, n);
    if (!*p) abort();
}

/* pre kept nsel of in's n rows (t->alive): view becomes those rows of the columns prog needs,
   t->map their input rows. */
static void gather_view(lk_transforms *t, const lk_batch *in, uint32_t n, uint32_t nsel)
{
    if (nsel + 1 > t->map_cap) {
        t->map_cap = nsel + 1024;
        t->map = realloc(t->map, sizeof *t->map * t->map_cap);
        if (!t->map) abort();
        grow_rows(&t->valive, t->map_cap);
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        if (t->alive[i]) t->map[k++] = i;
    lk_batch_reset(t->view);
    for (int c = 0; c < lk_batch_ncols(in); c++)
        if (t->need[c])
            lk_col_append_sel(lk_batch_col(t->view, c), lk_batch_col_const(in, c), t->map, nsel);
    /* the other columns stay empty: nothing reads them (the output takes its unchanged
       columns from in) */
    lk_batch_set_nrows(t->view, nsel);
    memset(t->valive, 1, nsel);
}

/* The output of a run whose prog ran over the view (pre dropped rows): the rows t->valive kept,
   computed columns from prog's results, unchanged ones gathered from in. */
static void emit_view(lk_transforms *t, const lk_batch *in, uint32_t n, uint32_t m,
                      int64_t now_us, lk_batch *out)
{
    uint32_t base = lk_batch_nrows(out), kept = 0;
    if (m > t->sel_cap) {
        t->sel_cap = m + 1024;
        t->sel = realloc(t->sel, sizeof *t->sel * t->sel_cap);
        if (!t->sel) abort();
    }
    for (uint32_t j = 0; j < m; j++)
        if (t->valive[j]) t->sel[kept++] = j;
    /* t->alive: the input rows kept; t->map (no longer needed as a map) their numbers */
    memset(t->alive, 0, n);
    for (uint32_t k = 0; k < kept; k++) {
        t->map[k] = t->map[t->sel[k]];
        t->alive[t->map[k]] = 1;
    }
    note_sources(t, 0);
    for (int o = 0; o < t->nout; o++) {
        lk_col *dst = lk_batch_col(out, o);
        int reg = t->out[o].reg;
        if (reg == PROCESSED_AT) {
            for (uint32_t i = 0; i < kept; i++)
                lk_col_append_i64(dst, now_us);
        } else if (deferrable(t, o, base)) { /* a run of the view drops rows */
            t->deferred = 1; /* the encoder sends it as a reference (lk_transforms_defer) */
        } else if (t->src[o] >= 0) {
            lk_col_append_sel(dst, lk_batch_col_const(in, t->src[o]), t->map, kept);
        } else if (kept == m) {
            lk_col_append_range(dst, lk_sql_program_result(t->prog, reg), 0, m);
        } else {
            lk_col_append_sel(dst, lk_sql_program_result(t->prog, reg), t->sel, kept);
        }
    }
    lk_batch_set_nrows(out, base + kept);
}

int lk_transforms_run(lk_transforms *t, const lk_batch *in, int64_t now_us, int64_t batch,
                      lk_batch *out, lk_batch *q, lk_error *err)
{
    uint32_t n = lk_batch_nrows(in);
    t->quarantined = t->rescued = 0;
    t->deferred = 0;
    if (n > t->cap || !t->alive) { /* an empty first chunk too: memset(NULL, 1, 0) is UB */
        t->cap = n + 1024;
        grow_rows(&t->alive, t->cap);
        grow_rows(&t->rescued_rows, t->cap);
    }
    memset(t->alive, 1, n);
    /* the leading filters over every row; the rest of the list over the rows they kept */
    uint32_t nsel = n;
    if (t->npre) {
        if (lk_sql_program_run(t->pre, in, now_us, err)) return -1;
        walk_steps(t, t->pre, 0, t->npre, in, NULL, t->alive, n, batch, now_us, q);
        nsel = 0;
        for (uint32_t i = 0; i < n; i++)
            nsel += t->alive[i];
    }
    if (nsel < n && t->compact) {
        gather_view(t, in, n, nsel);
        if (lk_sql_program_run(t->prog, t->view, now_us, err)) return -1;
        walk_steps(t, t->prog, t->npre, t->nsteps, in, t->map, t->valive, nsel, batch, now_us, q);
        emit_view(t, in, n, nsel, now_us, out);
        return 0;
    }
    if (lk_sql_program_run(t->prog, in, now_us, err)) return -1;
    int any_rescue =
        walk_steps(t, t->prog, t->npre, t->nsteps, in, NULL, t->alive, n, batch, now_us, q);
    /* a row that failed a rescue step and was filtered out later does not count */
    if (any_rescue) {
        memset(t->rescued_rows, 0, n);
        for (int s = 0; s < t->nsteps; s++)
            for (int k = 0; k < t->steps[s].nrescues; k++) {
                const uint8_t *f = lk_sql_program_failed(t->prog, t->steps[s].rescues[k].reg);
                for (uint32_t i = 0; f && i < n; i++)
                    t->rescued_rows[i] |= (uint8_t)(bit(f, i) & t->alive[i]);
            }
        for (uint32_t i = 0; i < n; i++)
            t->rescued += t->rescued_rows[i];
        if (!t->rescued || t->rescued_out < 0) any_rescue = 0;
    }
    /* the surviving rows: every row (one range copy), or a selection (gathered) */
    uint32_t base = lk_batch_nrows(out), kept = 0;
    nsel = 0;
    for (uint32_t i = 0; i < n; i++)
        nsel += t->alive[i];
    if (nsel < n && !any_rescue) {
        if (nsel > t->sel_cap) {
            t->sel_cap = nsel + 1024;
            t->sel = realloc(t->sel, sizeof *t->sel * t->sel_cap);
            if (!t->sel) abort();
        }
        uint32_t k = 0;
        for (uint32_t i = 0; i < n; i++)
            if (t->alive[i]) t->sel[k++] = i;
        note_sources(t, 0);
        for (int o = 0; o < t->nout; o++) {
            lk_col *dst = lk_batch_col(out, o);
            if (t->out[o].reg == PROCESSED_AT) {
                for (uint32_t i = 0; i < nsel; i++)
                    lk_col_append_i64(dst, now_us);
            } else if (deferrable(t, o, base)) {
                t->deferred = 1; /* the encoder sends it as a reference (lk_transforms_defer) */
            } else {
                lk_col_append_sel(dst, lk_sql_program_result(t->prog, t->out[o].reg), t->sel,
                                  nsel);
            }
        }
        lk_batch_set_nrows(out, base + nsel);
        return 0;
    }
    for (int o = 0; o < t->nout; o++) {
        lk_col *dst = lk_batch_col(out, o);
        int reg = t->out[o].reg;
        const lk_col *src = reg == PROCESSED_AT ? NULL : lk_sql_program_result(t->prog, reg);
        int rescue_col = any_rescue && o == t->rescued_out;
        uint32_t r = 0;
        kept = 0;
        while (r < n) {
            while (r < n && !t->alive[r])
                r++;
            uint32_t start = r;
            while (r < n && t->alive[r])
                r++;
            uint32_t count = r - start;
            if (!count) continue;
            kept += count;
            if (!src) {
                for (uint32_t i = 0; i < count; i++)
                    lk_col_append_i64(dst, now_us);
            } else if (!rescue_col) {
                lk_col_append_range(dst, src, start, count);
            } else {
                for (uint32_t i = start; i < start + count; i++) {
                    if (t->rescued_rows[i])
                        rescued_value(t, src, i, dst);
                    else
                        lk_col_append_range(dst, src, i, 1);
                }
            }
        }
    }
    if (!t->nout)
        for (uint32_t i = 0; i < n; i++)
            kept += t->alive[i];
    lk_batch_set_nrows(out, base + kept);
    note_sources(t, any_rescue);
    return 0;
}
