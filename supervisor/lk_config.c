/*
 * lk_config — lakesup.yml; see lk_config.h for the keys and defaults.
 *
 * The file is loaded with libyaml's document API and walked against a
 * table of known keys. Every error names "<file>:<line>: key '<dotted
 * key>'" and what is wrong, so a user fixes it without guessing.
 */
#include "lk_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

void lk_config_defaults(lk_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->pipeline, sizeof c->pipeline, "lakesupd");
    snprintf(c->catalog, sizeof c->catalog, "main");
    snprintf(c->schema, sizeof c->schema, "streaming");
    snprintf(c->source_path, sizeof c->source_path, "./incoming");
    snprintf(c->checkpoint_path, sizeof c->checkpoint_path, "./checkpoints");
    snprintf(c->warehouse_path, sizeof c->warehouse_path, "./lakehouse");
    c->trigger = LK_TRIGGER_CONTINUOUS;
    snprintf(c->log_level, sizeof c->log_level, "info");
    c->workers.transform = 2;
    c->workers.writer = 2;
    snprintf(c->source.format, sizeof c->source.format, "json");
    c->source.max_files_per_trigger = 1000;
    c->source.max_bytes_per_trigger = 0;
    c->source.chunk_bytes = 4 << 20;
    c->source.include_existing_files = 1;
    c->source.schema_inference_sample_bytes = 64 << 20;
    snprintf(c->tables.compression, sizeof c->tables.compression, "zstd");
    c->tables.zstd_level = 3;
    c->tables.target_file_size = 128 << 20;
}

int lk_config_parse_trigger(const char *s, lk_trigger *out)
{
    if (!strcmp(s, "continuous"))
        *out = LK_TRIGGER_CONTINUOUS;
    else if (!strcmp(s, "available_now") || !strcmp(s, "available-now") ||
             !strcmp(s, "availableNow"))
        *out = LK_TRIGGER_AVAILABLE_NOW;
    else
        return LK_ECONFIG;
    return 0;
}

const char *lk_config_trigger_name(lk_trigger t)
{
    switch (t) {
    case LK_TRIGGER_AVAILABLE_NOW: return "available_now";
    case LK_TRIGGER_PROCESSING_TIME: return "processing_time";
    default: return "continuous";
    }
}

int lk_config_parse_duration(const char *s, int64_t *ms)
{
    char *end;
    while (isspace((unsigned char)*s))
        s++;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0)
        return LK_ECONFIG;
    while (isspace((unsigned char)*end))
        end++;
    static const struct {
        const char *unit;
        double ms;
    } units[] = {{"ms", 1},           {"millisecond", 1}, {"milliseconds", 1}, {"s", 1000},
                 {"sec", 1000},       {"second", 1000},   {"seconds", 1000},   {"m", 60000},
                 {"min", 60000},      {"minute", 60000},  {"minutes", 60000},  {"h", 3600000},
                 {"hour", 3600000},   {"hours", 3600000}, {"d", 86400000},     {"day", 86400000},
                 {"days", 86400000}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (!strcasecmp(end, units[i].unit)) {
            *ms = (int64_t)(v * units[i].ms);
            return 0;
        }
    }
    return LK_ECONFIG;
}

void lk_config_table_path(const lk_config *c, const char *table, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s/%s/%s", c->warehouse_path, c->catalog, c->schema, table);
}

void lk_config_state_path(const lk_config *c, char *out, size_t cap)
{
    snprintf(out, cap, "%s/state.db", c->checkpoint_path);
}

/* ---- the YAML walk ---- */

typedef enum kind { K_STR, K_INT, K_BOOL, K_MAP, K_TRIGGER, K_LEVEL, K_CODEC } kind;

typedef struct key {
    const char *path; /* dotted */
    kind k;
    size_t off;  /* offsetof in lk_config */
    size_t size; /* for strings: buffer size; ints: 4 or 8 */
    int64_t min, max;
} key;

#define S(p, f) {p, K_STR, offsetof(lk_config, f), sizeof(((lk_config *)0)->f), 0, 0}
#define I(p, f, lo, hi) {p, K_INT, offsetof(lk_config, f), sizeof(((lk_config *)0)->f), lo, hi}

static const key g_keys[] = {
    S("pipeline", pipeline),
    S("catalog", catalog),
    S("schema", schema),
    S("source_path", source_path),
    S("checkpoint_path", checkpoint_path),
    S("warehouse_path", warehouse_path),
    {"trigger", K_TRIGGER, 0, 0, 0, 0},
    {"log_level", K_LEVEL, offsetof(lk_config, log_level), sizeof(((lk_config *)0)->log_level),
     0, 0},
    {"workers", K_MAP, 0, 0, 0, 0},
    I("workers.transform", workers.transform, 1, 64),
    I("workers.writer", workers.writer, 1, 64),
    {"source", K_MAP, 0, 0, 0, 0},
    S("source.format", source.format),
    I("source.max_files_per_trigger", source.max_files_per_trigger, 1, 10000000),
    I("source.max_bytes_per_trigger", source.max_bytes_per_trigger, 0, INT64_MAX),
    I("source.chunk_bytes", source.chunk_bytes, 64 << 10, 256 << 20),
    {"source.include_existing_files", K_BOOL, offsetof(lk_config, source.include_existing_files),
     sizeof(int), 0, 0},
    I("source.schema_inference_sample_bytes", source.schema_inference_sample_bytes, 1024,
      INT64_MAX),
    {"tables", K_MAP, 0, 0, 0, 0},
    {"tables.compression", K_CODEC, offsetof(lk_config, tables.compression),
     sizeof(((lk_config *)0)->tables.compression), 0, 0},
    I("tables.zstd_level", tables.zstd_level, 1, 22),
    I("tables.target_file_size", tables.target_file_size, 1 << 20, INT64_MAX),
};

typedef struct walk {
    yaml_document_t *doc;
    const char *file;
    lk_config *cfg;
    lk_error *err;
} walk;

static int fail(walk *w, const yaml_node_t *n, const char *path, const char *fmt, const char *a)
{
    char what[512];
    snprintf(what, sizeof what, fmt, a);
    return lk_error_set(w->err, LK_ECONFIG, "%s:%lu: key '%s': %s", w->file,
                        (unsigned long)n->start_mark.line + 1, path, what);
}

static const char *scalar(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static int set_scalar(walk *w, const key *k, const yaml_node_t *n, const char *path)
{
    if (n->type != YAML_SCALAR_NODE)
        return fail(w, n, path, "expected a single value, found a %s",
                    n->type == YAML_MAPPING_NODE ? "mapping" : "list");
    const char *v = scalar(n);
    char *dst = (char *)w->cfg + k->off;
    switch (k->k) {
    case K_STR:
        if (!*v)
            return fail(w, n, path, "must not be empty%s", "");
        if (strlen(v) >= k->size)
            return fail(w, n, path, "value is too long ('%s')", v);
        snprintf(dst, k->size, "%s", v);
        if (!strcmp(k->path, "source.format") && strcmp(v, "json"))
            return fail(w, n, path, "unsupported format '%s' (this version reads: json)", v);
        return 0;
    case K_INT: {
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (end == v || *end || errno)
            return fail(w, n, path, "expected an integer, found '%s'", v);
        if (x < k->min || x > k->max) {
            char range[128];
            snprintf(range, sizeof range, "%lld is out of range [%lld, %lld]", x,
                     (long long)k->min, (long long)k->max);
            return fail(w, n, path, "%s", range);
        }
        if (k->size == sizeof(int))
            *(int *)dst = (int)x;
        else
            *(int64_t *)dst = x;
        return 0;
    }
    case K_BOOL:
        if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on"))
            *(int *)dst = 1;
        else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off"))
            *(int *)dst = 0;
        else
            return fail(w, n, path, "expected true or false, found '%s'", v);
        return 0;
    case K_LEVEL:
        if (strcmp(v, "debug") && strcmp(v, "info") && strcmp(v, "warn") && strcmp(v, "error"))
            return fail(w, n, path, "expected debug, info, warn or error, found '%s'", v);
        snprintf(dst, k->size, "%s", v);
        return 0;
    case K_CODEC:
        if (strcmp(v, "zstd") && strcmp(v, "snappy") && strcmp(v, "gzip") &&
            strcmp(v, "uncompressed") && strcmp(v, "none"))
            return fail(w, n, path, "expected zstd, snappy, gzip or uncompressed, found '%s'", v);
        snprintf(dst, k->size, "%s", v);
        return 0;
    default: return 0;
    }
}

static int set_trigger(walk *w, const yaml_node_t *n)
{
    if (n->type == YAML_SCALAR_NODE) {
        if (lk_config_parse_trigger(scalar(n), &w->cfg->trigger))
            return fail(w, n, "trigger",
                        "expected continuous, available_now or {processing_time: \"5 "
                        "minutes\"}, found '%s'",
                        scalar(n));
        return 0;
    }
    if (n->type != YAML_MAPPING_NODE || n->data.mapping.pairs.top - n->data.mapping.pairs.start != 1)
        return fail(w, n, "trigger", "expected continuous, available_now or {processing_time: "
                                     "\"5 minutes\"}%s", "");
    yaml_node_pair_t *p = n->data.mapping.pairs.start;
    yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
    yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
    if (k->type != YAML_SCALAR_NODE || strcmp(scalar(k), "processing_time"))
        return fail(w, k, "trigger", "unknown trigger '%s' (expected processing_time)",
                    k->type == YAML_SCALAR_NODE ? scalar(k) : "?");
    if (v->type != YAML_SCALAR_NODE ||
        lk_config_parse_duration(scalar(v), &w->cfg->processing_time_ms) ||
        w->cfg->processing_time_ms <= 0)
        return fail(w, v, "trigger.processing_time",
                    "expected a duration such as \"5 minutes\" or \"30s\", found '%s'",
                    v->type == YAML_SCALAR_NODE ? scalar(v) : "?");
    w->cfg->trigger = LK_TRIGGER_PROCESSING_TIME;
    return 0;
}

static int walk_map(walk *w, const yaml_node_t *n, const char *prefix)
{
    if (n->type != YAML_MAPPING_NODE)
        return fail(w, n, *prefix ? prefix : "(top level)", "expected a mapping of keys%s", "");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
        if (k->type != YAML_SCALAR_NODE)
            return fail(w, k, prefix, "a key must be a plain name%s", "");
        char path[256];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", scalar(k));
        const key *found = NULL;
        for (size_t i = 0; i < sizeof g_keys / sizeof g_keys[0]; i++)
            if (!strcmp(g_keys[i].path, path))
                found = &g_keys[i];
        if (!found)
            return fail(w, k, path, "unknown key (see deploy/lakesup.example.yml)%s", "");
        int rc;
        if (found->k == K_MAP)
            rc = v->type == YAML_SCALAR_NODE && !*scalar(v) ? 0 : walk_map(w, v, path);
        else if (found->k == K_TRIGGER)
            rc = set_trigger(w, v);
        else
            rc = set_scalar(w, found, v, path);
        if (rc)
            return rc;
    }
    return 0;
}

int lk_config_load(const char *path, lk_config *cfg, lk_error *err)
{
    lk_config_defaults(cfg);
    if (!path)
        return 0;
    snprintf(cfg->file, sizeof cfg->file, "%s", path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return lk_error_set(err, LK_ECONFIG, "cannot read configuration file '%s': %s", path,
                            strerror(errno));
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    int rc = 0;
    if (!yaml_parser_load(&parser, &doc)) {
        rc = lk_error_set(err, LK_ECONFIG, "%s:%lu: YAML syntax error: %s", path,
                          (unsigned long)parser.problem_mark.line + 1,
                          parser.problem ? parser.problem : "unknown");
        yaml_parser_delete(&parser);
        fclose(f);
        return rc;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && !(root->type == YAML_SCALAR_NODE && !*scalar(root))) {
        walk w = {&doc, path, cfg, err};
        rc = walk_map(&w, root, "");
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}
