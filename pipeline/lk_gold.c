/* lk_gold — event_metrics' configuration compiled; see lk_gold.h. */
#include "lk_gold.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lk_hll.h"
#include "lk_sql.h"
#include "lk_sql_check.h"
#include "lk_sql_parse.h"

struct lk_gold {
    const lk_config *cfg;
    lk_sql_program *prog;
    int et;                  /* the event time's register */
    lk_type et_type;
    int ngroup, nagg;
    int group[LK_MAX_GROUP_BY];
    int arg[LK_MAX_AGGREGATES]; /* -1: count(*) */
    lk_agg_spec spec[LK_MAX_AGGREGATES];
    lk_windows *chunk;       /* the partial of the last run */
    uint32_t *away;          /* rows turned away */
    const char **why;
    uint32_t naway, cap;
};

/* The aggregate functions, by name. */
static const struct {
    const char *name;
    lk_agg_kind kind;
} fns[] = {{"count", LK_AGG_COUNT},
           {"sum", LK_AGG_SUM},
           {"avg", LK_AGG_AVG},
           {"mean", LK_AGG_AVG},
           {"min", LK_AGG_MIN},
           {"max", LK_AGG_MAX},
           {"approx_count_distinct", LK_AGG_APPROX_DISTINCT},
           {"approx_percentile", LK_AGG_PERCENTILE},
           {"percentile_approx", LK_AGG_PERCENTILE}};

/* The aggregate function root calls (an index of fns), or -1. */
static int aggregate_of(const lk_sql_node *root)
{
    for (int i = 0; root->kind == LK_SQL_CALL && i < (int)(sizeof fns / sizeof fns[0]); i++)
        if (!strcmp(root->name, fns[i].name)) return i;
    return -1;
}

/* An aggregate's text that calls no aggregate function (ast destroyed). */
static int not_an_aggregate(lk_sql_ast **ast, const char *file, int line, const char *key,
                            const char *text, lk_error *err)
{
    lk_sql_ast_destroy(ast);
    return lk_error_set(err, LK_ECONFIG,
                        "%s:%d: key '%s': '%s' is not an aggregate: unknown function (count(*), "
                        "count, sum, avg, min, max, approx_count_distinct, approx_percentile)",
                        file, line, key, text);
}

/* Prefixes err with where it is (file, line, key): a configuration error. */
static int fail(lk_error *err, const char *file, int line, const char *key)
{
    lk_error_prefix(err, "%s:%d: key '%s'", file, line, key);
    err->code = LK_ECONFIG;
    return LK_ECONFIG;
}

static int is_numeric(lk_type t)
{
    return t == LK_TYPE_BYTE || t == LK_TYPE_SHORT || t == LK_TYPE_INTEGER || t == LK_TYPE_LONG ||
           t == LK_TYPE_FLOAT || t == LK_TYPE_DOUBLE || t == LK_TYPE_DECIMAL;
}

static int is_integral(lk_type t)
{
    return t == LK_TYPE_BYTE || t == LK_TYPE_SHORT || t == LK_TYPE_INTEGER || t == LK_TYPE_LONG;
}

static int is_scalar(lk_type t)
{
    return t != LK_TYPE_STRUCT && t != LK_TYPE_ARRAY && t != LK_TYPE_MAP;
}

/* text wrapped as CAST((text) AS type), compiled: a register of that type */
static int compile_cast(lk_sql_program *p, const char *text, const char *type, int *reg,
                        lk_error *err)
{
    size_t n = strlen(text) + strlen(type) + 16;
    char *s = malloc(n);
    if (!s) abort();
    snprintf(s, n, "CAST((%s) AS %s)", text, type);
    int rc = lk_sql_program_compile(p, s, NULL, reg, NULL, err);
    free(s);
    return rc;
}

int lk_gold_compile_event_time(lk_sql_program *p, const lk_config *cfg, int *reg, lk_type *type,
                               lk_error *err)
{
    const char *text = cfg->event.event_time;
    int line = cfg->event.event_time_line;
    if (lk_sql_program_compile(p, text, NULL, reg, NULL, err))
        return fail(err, lk_config_file_name(cfg), line, "transform.event_time");
    lk_type t = lk_sql_program_type(p, *reg)->type;
    if (t == LK_TYPE_STRING) {
        if (compile_cast(p, text, "TIMESTAMP", reg, err))
            return fail(err, lk_config_file_name(cfg), line, "transform.event_time");
        t = LK_TYPE_TIMESTAMP;
    } else if (t == LK_TYPE_DECIMAL) {
        if (compile_cast(p, text, "DOUBLE", reg, err))
            return fail(err, lk_config_file_name(cfg), line, "transform.event_time");
        t = LK_TYPE_DOUBLE;
    } else if (t != LK_TYPE_TIMESTAMP && t != LK_TYPE_TIMESTAMP_NTZ && t != LK_TYPE_DATE &&
               !is_numeric(t)) {
        return lk_error_set(err, LK_ECONFIG,
                            "%s:%d: key 'transform.event_time': '%s' is %s: an event time is a "
                            "timestamp, an ISO-8601 string or epoch seconds/milliseconds",
                            lk_config_file_name(cfg), line, text, lk_type_name(t));
    }
    *type = t;
    return 0;
}

/* The output column name of a group_by entry: its alias, a column's last
   part (device.os → os, as Spark names it), else the text. */
static void group_name(const lk_sql_ast *ast, const char *alias, const char *text, char *out,
                       size_t cap)
{
    const lk_sql_node *r = lk_sql_ast_root(ast);
    if (alias)
        snprintf(out, cap, "%s", alias);
    else if (r->kind == LK_SQL_COL && r->nparts > 0)
        snprintf(out, cap, "%s", r->parts[r->nparts - 1]);
    else
        snprintf(out, cap, "%s", text);
}

static int compile_groups(lk_gold *m, lk_field *keys, char names[][256], lk_error *err)
{
    const lk_config *cfg = m->cfg;
    const lk_metrics_cfg *mc = &cfg->metrics;
    for (int k = 0; k < mc->ngroup; k++) {
        char key[64];
        snprintf(key, sizeof key, "metrics.group_by[%d]", k);
        lk_sql_ast *ast = NULL;
        if (lk_sql_parse(mc->group_by[k], 1, &ast, err))
            return fail(err, lk_config_file_name(cfg), mc->group_line[k], key);
        group_name(ast, lk_sql_ast_alias(ast), mc->group_by[k], names[k], sizeof names[k]);
        if (lk_sql_program_compile_node(m->prog, ast, NULL, NULL, &m->group[k], err))
            return fail(err, lk_config_file_name(cfg), mc->group_line[k], key);
        const lk_field *f = lk_sql_program_type(m->prog, m->group[k]);
        if (!is_scalar(f->type))
            return lk_error_set(err, LK_ECONFIG, "%s:%d: key '%s': '%s' is %s: group by a "
                                "scalar (a column, a struct field, an expression)",
                                lk_config_file_name(cfg), mc->group_line[k], key, mc->group_by[k],
                                lk_type_name(f->type));
        for (int j = 0; j < k; j++)
            if (!strcasecmp(names[j], names[k]))
                return lk_error_set(err, LK_ECONFIG, "%s:%d: key '%s': a second group key "
                                    "named '%s' (name it with AS)",
                                    lk_config_file_name(cfg), mc->group_line[k], key, names[k]);
        keys[k] = *f;
        keys[k].name = names[k];
        keys[k].nullable = 1;
    }
    return 0;
}

/* The value of a number literal (integer, decimal or double) in *v; 0
   when lit is not one. */
static int number_literal(const lk_sql_node *lit, double *v)
{
    if (lit->kind != LK_SQL_LIT) return 0;
    if (lit->lit_type == LK_TYPE_DOUBLE || lit->lit_type == LK_TYPE_DECIMAL)
        *v = lit->d;
    else if (lit->lit_type == LK_TYPE_INTEGER || lit->lit_type == LK_TYPE_LONG)
        *v = (double)lit->i;
    else
        return 0;
    return 1;
}

/* approx_percentile's array(p1, p2, ...) into s: 1..LK_AGG_MAX_PERCENTILES
   number literals in [0, 1]. */
static int percentile_array(lk_agg_spec *s, const lk_sql_node *arr, const char *file, int line,
                            const char *key, lk_error *err)
{
    if (arr->nargs < 1 || arr->nargs > LK_AGG_MAX_PERCENTILES)
        return lk_error_set(err, LK_ECONFIG,
                            "%s:%d: key '%s': approx_percentile takes 1 to %d percentages in "
                            "array(...), not %d",
                            file, line, key, LK_AGG_MAX_PERCENTILES, arr->nargs);
    for (int j = 0; j < arr->nargs; j++) {
        double v;
        if (!number_literal(arr->args[j], &v))
            return lk_error_set(err, LK_ECONFIG,
                                "%s:%d: key '%s': element %d of array(...) must be a number "
                                "literal",
                                file, line, key, j + 1);
        if (!(v >= 0 && v <= 1))
            return lk_error_set(err, LK_ECONFIG,
                                "%s:%d: key '%s': percentage %g (element %d of array(...)) is not "
                                "in [0, 1]",
                                file, line, key, v, j + 1);
        s->q[j] = v;
    }
    s->nq = arr->nargs;
    s->q_array = 1;
    return 0;
}

/* The literal arguments of call (aggregate fns[f]) into s:
   approx_count_distinct(x, rsd), approx_percentile(x, p | array(p, ...)[,
   accuracy]). 0 or LK_ECONFIG naming file, line and key. */
static int agg_literals(lk_agg_spec *s, const lk_sql_node *call, int f, const char *file, int line,
                        const char *key, lk_error *err)
{
    s->hll_p = lk_hll_precision(0.05);
    s->accuracy = 200;
    int extra = s->kind == LK_AGG_APPROX_DISTINCT || s->kind == LK_AGG_PERCENTILE;
    for (int i = 1; extra && i < call->nargs && i < 3; i++) {
        const lk_sql_node *lit = call->args[i];
        if (s->kind == LK_AGG_PERCENTILE && i == 1 && lit->kind == LK_SQL_CALL &&
            !strcmp(lit->name, "array")) {
            /* approx_percentile(col, array(p1, p2, ...)): Spark's array form */
            if (percentile_array(s, lit, file, line, key, err)) return LK_ECONFIG;
            continue;
        }
        double v;
        if (!number_literal(lit, &v))
            return lk_error_set(
                err, LK_ECONFIG, "%s:%d: key '%s': argument %d of %s must be a number literal%s",
                file, line, key, i + 1, fns[f].name,
                s->kind == LK_AGG_PERCENTILE && i == 1 ? " or array(p1, p2, ...) of number literals"
                                                       : "");
        if (s->kind == LK_AGG_APPROX_DISTINCT) {
            if (!(v > 0 && v < 1))
                return lk_error_set(err, LK_ECONFIG,
                                    "%s:%d: key '%s': relativeSD %g is not in (0, 1)", file, line,
                                    key, v);
            s->hll_p = lk_hll_precision(v);
        } else if (i == 1) {
            if (!(v >= 0 && v <= 1))
                return lk_error_set(err, LK_ECONFIG,
                                    "%s:%d: key '%s': percentage %g is not in [0, 1]", file, line,
                                    key, v);
            s->q[0] = v;
            s->nq = 1;
        } else {
            s->accuracy = v / 50 < 50 ? 50 : v / 50 > 1000 ? 1000 : v / 50;
        }
    }
    return 0;
}

static int compile_aggregate(lk_gold *m, int a, lk_error *err)
{
    const lk_config *cfg = m->cfg;
    const lk_metrics_cfg *mc = &cfg->metrics;
    const char *text = mc->agg_expr[a];
    char key[300];
    snprintf(key, sizeof key, "metrics.aggregates.%s", mc->agg_name[a]);
    int line = mc->agg_line[a];
    lk_sql_ast *ast = NULL;
    if (lk_sql_parse(text, 0, &ast, err))
        return fail(err, lk_config_file_name(cfg), line, key);
    lk_sql_node *call = lk_sql_ast_root(ast);
    int f = aggregate_of(call);
    if (f < 0) return not_an_aggregate(&ast, lk_config_file_name(cfg), line, key, text, err);
    lk_agg_spec *s = &m->spec[a];
    s->name = mc->agg_name[a];
    s->kind = fns[f].kind;
    m->arg[a] = -1;
    if (agg_literals(s, call, f, lk_config_file_name(cfg), line, key, err)) {
        lk_sql_ast_destroy(&ast);
        return LK_ECONFIG;
    }
    int nargs_ok = s->kind == LK_AGG_PERCENTILE ? (call->nargs == 2 || call->nargs == 3)
                   : s->kind == LK_AGG_APPROX_DISTINCT ? (call->nargs == 1 || call->nargs == 2)
                                                       : call->nargs == 1;
    if (!nargs_ok && s->kind != LK_AGG_COUNT) {
        lk_sql_ast_destroy(&ast);
        return lk_error_set(err, LK_ECONFIG, "%s:%d: key '%s': %s takes %s",
                            lk_config_file_name(cfg), line, key, fns[f].name,
                            s->kind == LK_AGG_PERCENTILE ? "(col, percentage[, accuracy])"
                            : s->kind == LK_AGG_APPROX_DISTINCT ? "(col[, relativeSD])"
                                                                : "one argument");
    }
    if ((call->nargs != 1 && s->kind == LK_AGG_COUNT) || call->distinct) {
        int distinct = call->distinct;
        lk_sql_ast_destroy(&ast);
        return lk_error_set(err, LK_ECONFIG, "%s:%d: key '%s': %s takes one argument%s",
                            lk_config_file_name(cfg), line, key, fns[f].name,
                            distinct ? " (DISTINCT is not supported)" : "");
    }
    if (call->args[0]->kind == LK_SQL_STAR) {
        lk_sql_ast_destroy(&ast);
        if (s->kind != LK_AGG_COUNT)
            return lk_error_set(err, LK_ECONFIG, "%s:%d: key '%s': only count takes *",
                                lk_config_file_name(cfg), line, key);
        s->kind = LK_AGG_COUNT_STAR;
        s->in_type = LK_TYPE_LONG;
        return 0;
    }
    lk_sql_node *arg = call->args[0];
    if (lk_sql_program_compile_node(m->prog, ast, arg, NULL, &m->arg[a], err))
        return fail(err, lk_config_file_name(cfg), line, key);
    lk_type t = lk_sql_program_type(m->prog, m->arg[a])->type;
    if (s->kind == LK_AGG_COUNT || s->kind == LK_AGG_APPROX_DISTINCT) {
        if (s->kind == LK_AGG_APPROX_DISTINCT && !is_scalar(t))
            return lk_error_set(err, LK_ECONFIG, "%s:%d: key '%s': approx_count_distinct of %s is "
                                "not supported (a scalar)",
                                lk_config_file_name(cfg), line, key, lk_type_name(t));
        s->in_type = t;
        return 0;
    }
    int ok = s->kind == LK_AGG_SUM || s->kind == LK_AGG_AVG || s->kind == LK_AGG_PERCENTILE
                 ? is_numeric(t)
                 : is_numeric(t) || t == LK_TYPE_DATE || t == LK_TYPE_TIMESTAMP ||
                       t == LK_TYPE_TIMESTAMP_NTZ || t == LK_TYPE_BOOLEAN || t == LK_TYPE_STRING ||
                       t == LK_TYPE_BINARY;
    if (!ok)
        return lk_error_set(err, LK_ECONFIG,
                            "%s:%d: key '%s': %s of %s is not supported "
                            "(a number%s)",
                            lk_config_file_name(cfg), line, key, fns[f].name, lk_type_name(t),
                            s->kind == LK_AGG_MIN || s->kind == LK_AGG_MAX
                                ? ", a string, a binary, a date, a timestamp or a boolean"
                                : "");
    if (t == LK_TYPE_STRING || t == LK_TYPE_BINARY) { /* min/max: by their bytes, as Spark */
        s->in_type = t;
        s->is_bytes = 1;
        return 0;
    }
    s->in_type = t;
    if (t == LK_TYPE_DECIMAL) { /* exact, with Spark's result types (lk_windows.h) */
        const lk_field *ft = lk_sql_program_type(m->prog, m->arg[a]);
        s->dec_p = ft->precision;
        s->dec_s = ft->scale;
    }
    s->is_double = t != LK_TYPE_DECIMAL &&
                   (s->kind == LK_AGG_AVG || t == LK_TYPE_FLOAT || t == LK_TYPE_DOUBLE);
    (void)is_integral;
    return 0;
}

int lk_gold_new(const lk_config *cfg, const lk_schema *input, lk_gold **out, lk_error *err)
{
    *out = NULL;
    const lk_metrics_cfg *mc = &cfg->metrics;
    lk_gold *m = calloc(1, sizeof *m);
    if (!m) abort();
    m->cfg = cfg;
    m->prog = lk_sql_program_new(input);
    m->ngroup = mc->ngroup;
    m->nagg = mc->nagg;
    lk_field keys[LK_MAX_GROUP_BY];
    char names[LK_MAX_GROUP_BY][256];
    int rc = lk_gold_compile_event_time(m->prog, cfg, &m->et, &m->et_type, err);
    if (rc == 0) rc = compile_groups(m, keys, names, err);
    for (int a = 0; rc == 0 && a < m->nagg; a++) {
        rc = compile_aggregate(m, a, err);
        for (int k = 0; rc == 0 && k < m->ngroup; k++)
            if (!strcasecmp(names[k], mc->agg_name[a]))
                rc = lk_error_set(err, LK_ECONFIG,
                                  "%s:%d: key 'metrics.aggregates.%s': a group key has that name",
                                  lk_config_file_name(cfg), mc->agg_line[a], mc->agg_name[a]);
        if (rc == 0 && (!strcasecmp(mc->agg_name[a], "window_start") ||
                        !strcasecmp(mc->agg_name[a], "window_end")))
            rc = lk_error_set(err, LK_ECONFIG,
                              "%s:%d: key 'metrics.aggregates.%s': the name is event_metrics' own",
                              lk_config_file_name(cfg), mc->agg_line[a], mc->agg_name[a]);
    }
    if (rc) {
        lk_gold_destroy(&m);
        return LK_ECONFIG;
    }
    m->chunk = lk_windows_new(keys, m->ngroup, m->spec, m->nagg);
    if (mc->window == LK_WINDOW_SESSION) lk_windows_set_sessions(m->chunk);
    *out = m;
    return 0;
}

static int check_text(const lk_config *cfg, const char *text, int aggregate, int line,
                      const char *key, lk_error *err)
{
    lk_sql_ast *ast = NULL;
    int rc = lk_sql_parse(text, !aggregate, &ast, err);
    if (rc) return fail(err, lk_config_file_name(cfg), line, key);
    const lk_sql_node *r = lk_sql_ast_root(ast), *u = NULL;
    if (aggregate) {
        int f = aggregate_of(r);
        if (f < 0) return not_an_aggregate(&ast, lk_config_file_name(cfg), line, key, text, err);
        lk_agg_spec scratch = {.kind = fns[f].kind};
        if (agg_literals(&scratch, r, f, lk_config_file_name(cfg), line, key, err)) {
            lk_sql_ast_destroy(&ast);
            return LK_ECONFIG;
        }
        for (int i = 0; i < r->nargs && !u; i++) /* approx_percentile's array(...): its own */
            if (i == 0 || r->args[i]->kind != LK_SQL_CALL || strcmp(r->args[i]->name, "array"))
                u = lk_sql_check_unknown_call(r->args[i]);
    } else {
        u = lk_sql_check_unknown_call(r);
    }
    if (u) {
        lk_error_set(err, LK_ECONFIG, "%s:%d: key '%s': position %d: unknown function '%s'",
                     lk_config_file_name(cfg), line, key, lk_sql_column_of(text, u->pos), u->name);
        lk_sql_ast_destroy(&ast);
        return LK_ECONFIG;
    }
    lk_sql_ast_destroy(&ast);
    return 0;
}

int lk_gold_check(const lk_config *cfg, lk_error *err)
{
    const lk_metrics_cfg *mc = &cfg->metrics;
    char key[300];
    if (check_text(cfg, cfg->event.event_time, 0, cfg->event.event_time_line,
                   "transform.event_time", err))
        return LK_ECONFIG;
    for (int k = 0; k < mc->ngroup; k++) {
        snprintf(key, sizeof key, "metrics.group_by[%d]", k);
        if (check_text(cfg, mc->group_by[k], 0, mc->group_line[k], key, err)) return LK_ECONFIG;
    }
    for (int a = 0; a < mc->nagg; a++) {
        snprintf(key, sizeof key, "metrics.aggregates.%s", mc->agg_name[a]);
        if (check_text(cfg, mc->agg_expr[a], 1, mc->agg_line[a], key, err)) return LK_ECONFIG;
    }
    return 0;
}

void lk_gold_destroy(lk_gold **mp)
{
    if (!mp || !*mp) return;
    lk_gold *m = *mp;
    lk_sql_program_destroy(&m->prog);
    lk_windows_destroy(&m->chunk);
    free(m->away);
    free(m->why);
    free(m);
    *mp = NULL;
}

const lk_schema *lk_gold_partial_schema(const lk_gold *m)
{
    return lk_windows_partial_schema(m->chunk);
}

const lk_schema *lk_gold_output_schema(const lk_gold *m)
{
    return lk_windows_output_schema(m->chunk);
}

lk_windows *lk_gold_windows_new(const lk_gold *m)
{
    const lk_schema *ps = lk_windows_partial_schema(m->chunk);
    lk_field keys[LK_MAX_GROUP_BY];
    for (int k = 0; k < m->ngroup; k++)
        keys[k] = *lk_schema_field(ps, 2 + k);
    lk_windows *w = lk_windows_new(keys, m->ngroup, m->spec, m->nagg);
    if (m->cfg->metrics.window == LK_WINDOW_SESSION) lk_windows_set_sessions(w);
    return w;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int lk_gold_window(const lk_config *cfg, int64_t t, int k, int64_t *start, int64_t *end)
{
    if (cfg->metrics.window == LK_WINDOW_SESSION) {
        /* a session of its own, [t, t + gap): lk_windows merges overlapping ones */
        if (k) return 0;
        *start = t;
        *end = t + cfg->metrics.gap_ms * 1000;
        return 1;
    }
    int64_t size = cfg->metrics.size_ms * 1000, slide = cfg->metrics.slide_ms * 1000;
    if (slide <= 0 || size <= 0) return 0;
    /* the last window starting at or before t, then k slides back */
    int64_t last = floor_div(t, slide) * slide;
    int64_t s = last - (int64_t)k * slide;
    if (s + size <= t) return 0;
    *start = s;
    *end = s + size;
    return 1;
}

int64_t lk_gold_epoch_us(double v)
{
    if (fabs(v) >= 1e11) return (int64_t)llround(v * 1000.0);
    return (int64_t)llround(v * 1e6);
}

static void turn_away(lk_gold *m, uint32_t row, const char *why)
{
    if (m->naway == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 256;
        m->away = realloc(m->away, sizeof *m->away * m->cap);
        m->why = realloc(m->why, sizeof *m->why * m->cap);
        if (!m->away || !m->why) abort();
    }
    m->away[m->naway] = row;
    m->why[m->naway++] = why;
}

/* Spark's TIMESTAMP range, 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z:
   an event time outside it is none (as Spark's cast of such a value gives
   null), which also keeps the windows' arithmetic (t + size, t * 1000) away
   from int64's ends */
#define ET_MIN_US (-62135596800000000LL)
#define ET_MAX_US 253402300799999999LL

static int in_range(int64_t us)
{
    return us >= ET_MIN_US && us <= ET_MAX_US;
}

int lk_gold_event_time_us(lk_type type, const lk_col *c, uint32_t i, int64_t *us)
{
    if (lk_col_is_null(c, i)) return 0;
    double v;
    switch (type) {
    case LK_TYPE_TIMESTAMP:
    case LK_TYPE_TIMESTAMP_NTZ: *us = lk_col_i64(c, i); return in_range(*us);
    case LK_TYPE_DATE: {
        int64_t days = lk_col_i32(c, i); /* checked before the product: 2^31 days overflow it */
        if (days < ET_MIN_US / 86400000000LL || days > ET_MAX_US / 86400000000LL) return 0;
        *us = days * 86400000000LL;
        return 1;
    }
    case LK_TYPE_BYTE: v = ((const int8_t *)c->values)[i]; break;
    case LK_TYPE_SHORT: v = ((const int16_t *)c->values)[i]; break;
    case LK_TYPE_INTEGER: v = lk_col_i32(c, i); break;
    case LK_TYPE_LONG: {
        int64_t x = lk_col_i64(c, i);
        /* seconds below 1e11, milliseconds from there: both within the range
           only below 2.6e14 (ms), so no product below can overflow */
        if (x > ET_MAX_US / 1000 || x < ET_MIN_US / 1000) return 0;
        *us = (x >= 100000000000LL || x <= -100000000000LL) ? x * 1000 : x * 1000000;
        return in_range(*us);
    }
    case LK_TYPE_FLOAT: v = ((const float *)c->values)[i]; break;
    case LK_TYPE_DOUBLE: v = lk_col_f64(c, i); break;
    default: return 0;
    }
    if (!isfinite(v) || fabs(v) > 9e15) return 0;
    *us = lk_gold_epoch_us(v);
    return in_range(*us);
}

int lk_gold_run(lk_gold *m, const lk_batch *in, int64_t watermark_us, int64_t now_us,
                   lk_error *err)
{
    lk_windows_reset(m->chunk);
    m->naway = 0;
    uint32_t n = lk_batch_nrows(in);
    if (!n) return 0;
    if (lk_sql_program_run(m->prog, in, now_us, err)) return -1;
    const lk_col *et = lk_sql_program_result(m->prog, m->et);
    const lk_col *keys[LK_MAX_GROUP_BY], *args[LK_MAX_AGGREGATES];
    for (int k = 0; k < m->ngroup; k++)
        keys[k] = lk_sql_program_result(m->prog, m->group[k]);
    for (int a = 0; a < m->nagg; a++)
        args[a] = m->arg[a] < 0 ? NULL : lk_sql_program_result(m->prog, m->arg[a]);
    int64_t late = 0, none = 0, max_et = INT64_MIN;
    for (uint32_t i = 0; i < n; i++) {
        int64_t t;
        if (!lk_gold_event_time_us(m->et_type, et, i, &t)) {
            none++;
            turn_away(m, i, LK_REASON_NO_EVENT_TIME);
            continue;
        }
        if (t > max_et) max_et = t;
        if (t < watermark_us) {
            late++;
            turn_away(m, i, LK_REASON_LATE);
            continue;
        }
        int64_t s, e;
        for (int k = 0; lk_gold_window(m->cfg, t, k, &s, &e); k++) {
            uint32_t g = lk_windows_group(m->chunk, s, e, keys, i);
            for (int a = 0; a < m->nagg; a++)
                lk_windows_add(m->chunk, g, a, args[a], i);
        }
    }
    lk_windows_count(m->chunk, late, none, max_et);
    return 0;
}

void lk_gold_partial(const lk_gold *m, lk_batch *out)
{
    lk_windows_save(m->chunk, out);
}

uint32_t lk_gold_turned_away(const lk_gold *m, const uint32_t **rows,
                                const char *const **reasons)
{
    *rows = m->away;
    *reasons = m->why;
    return m->naway;
}
