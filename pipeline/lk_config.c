/*
 * lk_config — loads lakesup.yml (libyaml document API) over built-in
 * defaults (see lk_config.h for every key).
 *
 * Keys are described once, in the table below (dotted name, kind, where it
 * goes, bounds); the loader walks the YAML mappings, looks each key up and
 * checks it. Every error names "<file>:<line>: key '<dotted.key>': ...".
 */
#include "lk_config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "lk_log.h"
#include "lk_ddl.h"
#include "lk_msg.h"
#include "lk_time.h"

typedef enum {
    K_SECTION, /* a nested mapping */
    K_NAME,    /* non-empty string without '/' (used in paths) */
    K_PATH,    /* non-empty string */
    K_INT,
    K_INT64,
    K_BOOL,
    K_TRIGGER,
    K_LOG_LEVEL,
    K_ENUM,     /* string from a list (choices) */
    K_DURATION, /* "30s", "5 minutes": int64 milliseconds within [min, max] */
    K_NAME_LIST, /* a sequence of column names (or one name) into an lk_name_list */
    K_TEXT,      /* any string, may be empty; false = "" (CSV options, rescued column) */
    K_DDL,       /* a Spark DDL column list (checked by lk_schema_from_ddl) */
    K_STR,       /* a string, may be empty ("" = not set) */
    K_PROPS,     /* source.kafka: a mapping of librdkafka properties, "k=v\n" lines */
    K_TRANSFORMS, /* a sequence of transform steps */
    K_RETENTION, /* monitor.progress_retention: "7 days or 10000 batches" (either, or both) */
    K_ALERTS,    /* alerts: a sequence of rule mappings */
    K_NOTIFY,    /* notify: a sequence of {webhook|exec|log: ...} */
    K_WORKERS,   /* workers.transform: a count, or "auto" (transform_auto) */
    K_METRICS,   /* metrics: the gold table event_metrics (window, group_by, aggregates, ...) */
    K_DEDUPE,    /* transform.dedupe: {keys: [columns], within: duration} */
} key_kind;

typedef struct key_spec {
    const char *name; /* dotted */
    key_kind kind;
    size_t off, cap;
    int64_t min, max;
    const char *choices; /* K_ENUM: "a|b|c" */
} key_spec;

#define OFF(f) offsetof(lk_config, f), sizeof(((lk_config *)0)->f)
#define KIB 1024LL
#define MIB (1024LL * 1024)

static const key_spec keys[] = {
    {"pipeline", K_NAME, OFF(pipeline), 0, 0, NULL},
    {"catalog", K_NAME, OFF(catalog), 0, 0, NULL},
    {"schema", K_NAME, OFF(schema), 0, 0, NULL},
    {"source_path", K_PATH, OFF(source_path), 0, 0, NULL},
    {"checkpoint_path", K_PATH, OFF(checkpoint_path), 0, 0, NULL},
    {"warehouse_path", K_PATH, OFF(warehouse_path), 0, 0, NULL},
    {"trigger", K_TRIGGER, 0, 0, 0, 0, NULL},
    {"log_level", K_LOG_LEVEL, OFF(log_level), 0, 0, NULL},
    {"log_format", K_ENUM, OFF(log_format), 0, 0, "text|json"},
    {"worker_timeout", K_DURATION, OFF(worker_timeout_ms), 100, 86400000, NULL},
    {"stop_timeout", K_DURATION, OFF(stop_timeout_ms), 100, 86400000, NULL},
    {"workers", K_SECTION, 0, 0, 0, 0, NULL},
    {"workers.transform", K_WORKERS, OFF(workers.transform), 1, 64, NULL},
    {"workers.writer", K_INT, OFF(workers.writer), 1, 64, NULL},
    {"workers.max_transform", K_INT, OFF(workers.max_transform), 0, 64, NULL},
    {"workers.shared_memory", K_BOOL, OFF(workers.shared_memory), 0, 1, NULL},
    {"workers.remote", K_SECTION, 0, 0, 0, 0, NULL},
    {"workers.remote.bind", K_STR, OFF(workers.remote.bind), 0, 0, NULL},
    {"workers.remote.allowed_keys", K_STR, OFF(workers.remote.allowed_keys), 0, 0, NULL},
    {"workers.remote.key", K_STR, OFF(workers.remote.key), 0, 0, NULL},
    {"source", K_SECTION, 0, 0, 0, 0, NULL},
    {"source.format", K_ENUM, OFF(source.format), 0, 0, "json|csv|text|kafka"},
    {"source.multi_line", K_BOOL, OFF(source.multi_line), 0, 1, NULL},
    {"source.header", K_BOOL, OFF(source.header), 0, 1, NULL},
    {"source.sep", K_TEXT, OFF(source.sep), 0, 0, NULL},
    {"source.quote", K_TEXT, OFF(source.quote), 0, 0, NULL},
    {"source.escape", K_TEXT, OFF(source.escape), 0, 0, NULL},
    {"source.null_value", K_TEXT, OFF(source.null_value), 0, 0, NULL},
    {"source.comment", K_TEXT, OFF(source.comment), 0, 0, NULL},
    {"source.max_record_bytes", K_INT64, OFF(source.max_record_size), 64, 1024 * MIB, NULL},
    /* its older name (ALIAS_OF below): accepted, never written */
    {"source.max_record_size", K_INT64, OFF(source.max_record_size), 64, 1024 * MIB, NULL},
    {"source.max_files_per_trigger", K_INT, OFF(source.max_files_per_trigger), 1, 0x7fffffff, NULL},
    {"source.max_bytes_per_trigger", K_INT64, OFF(source.max_bytes_per_trigger), 0, INT64_MAX,
     NULL},
    {"source.chunk_bytes", K_INT64, OFF(source.chunk_bytes), 64 * KIB, 256 * MIB, NULL},
    {"source.include_existing_files", K_BOOL, OFF(source.include_existing_files), 0, 1, NULL},
    {"source.chunks_by_reference", K_BOOL, OFF(source.chunks_by_reference), 0, 1, NULL},
    {"source.schema_inference_sample_bytes", K_INT64, OFF(source.schema_inference_sample_bytes), 1,
     INT64_MAX, NULL},
    {"source.schema_inference_sample_size", K_INT, OFF(source.schema_inference_sample_size), 1,
     0x7fffffff, NULL},
    {"source.infer_column_types", K_BOOL, OFF(source.infer_column_types), 0, 1, NULL},
    {"source.schema_evolution_mode", K_ENUM, OFF(source.schema_evolution_mode), 0, 0,
     "add_new_columns|rescue|fail_on_new_columns|none"},
    {"source.schema_hints", K_DDL, OFF(source.schema_hints), 0, 0, NULL},
    {"source.schema", K_DDL, OFF(source.schema_ddl), 0, 0, NULL},
    {"source.rescued_data_column", K_TEXT, OFF(source.rescued_data_column), 0, 0, NULL},
    {"source.mode", K_ENUM, OFF(source.mode), 0, 0, "PERMISSIVE|DROPMALFORMED|FAILFAST"},
    {"source.bootstrap_servers", K_STR, OFF(source.bootstrap_servers), 0, 0, NULL},
    {"source.subscribe", K_NAME_LIST, OFF(source.subscribe), 0, 0, NULL},
    {"source.subscribe_pattern", K_STR, OFF(source.subscribe_pattern), 0, 0, NULL},
    {"source.starting_offsets", K_STR, OFF(source.starting_offsets), 0, 0, NULL},
    {"source.max_offsets_per_trigger", K_INT64, OFF(source.max_offsets_per_trigger), 0, INT64_MAX,
     NULL},
    {"source.value_format", K_ENUM, OFF(source.value_format), 0, 0, "json"},
    {"source.fail_on_data_loss", K_BOOL, OFF(source.fail_on_data_loss), 0, 1, NULL},
    {"source.kafka", K_PROPS, OFF(source.kafka_props), 0, 0, NULL},
    {"source.group_id", K_STR, OFF(source.group_id), 0, 0, NULL},
    {"source.shard", K_SECTION, 0, 0, 0, 0, NULL},
    {"source.shard.index", K_INT, OFF(source.shard.index), 0, 1023, NULL},
    {"source.shard.count", K_INT, OFF(source.shard.count), 1, 1024, NULL},
    /* discovery (docs/sources.md "Discovery") */
    {"source.use_notifications", K_BOOL, OFF(source.use_notifications), 0, 1, NULL},
    {"source.backfill_interval", K_DURATION, OFF(source.backfill_interval_ms), 100, 86400000LL * 7,
     NULL},
    {"source.file_ready_delay", K_DURATION, OFF(source.file_ready_delay_ms), 0, 86400000, NULL},
    {"source.path_glob_filter", K_STR, OFF(source.path_glob_filter), 0, 0, NULL},
    {"source.modified_after", K_STR, OFF(source.modified_after), 0, 0, NULL},
    {"source.modified_before", K_STR, OFF(source.modified_before), 0, 0, NULL},
    {"source.max_file_age", K_DURATION, OFF(source.max_file_age_ms), 0, INT64_MAX, NULL},
    {"source.allow_overwrites", K_BOOL, OFF(source.allow_overwrites), 0, 1, NULL},
    {"source.clean_source", K_ENUM, OFF(source.clean_source), 0, 0, "off|delete|move"},
    {"source.clean_source_move_destination", K_STR, OFF(source.clean_source_move_destination),
     0, 0, NULL},
    {"source.clean_source_retention_duration", K_DURATION,
     OFF(source.clean_source_retention_duration_ms), 0, INT64_MAX, NULL},
    {"monitor", K_SECTION, 0, 0, 0, 0, NULL},
    {"monitor.http", K_STR, OFF(monitor.http), 0, 0, NULL},
    {"monitor.auth_token", K_STR, OFF(monitor.auth_token), 0, 0, NULL},
    {"monitor.progress_retention", K_RETENTION, OFF(monitor.progress_retention), 0, 0, NULL},
    {"monitor.batch_deadline", K_DURATION, OFF(monitor.batch_deadline_ms), 1000, 86400000LL * 7,
     NULL},
    {"alerts", K_ALERTS, OFF(alerts), 0, 0, NULL},
    {"notify", K_NOTIFY, OFF(notify), 0, 0, NULL},
    {"tables", K_SECTION, 0, 0, 0, 0, NULL},
    {"tables.compression", K_ENUM, OFF(tables.compression), 0, 0, "zstd|snappy|gzip|uncompressed"},
    {"tables.zstd_level", K_INT, OFF(tables.zstd_level), 1, 22, NULL},
    {"tables.zstd_adaptive", K_BOOL, OFF(tables.zstd_adaptive), 0, 1, NULL},
    {"tables.target_file_size", K_INT64, OFF(tables.target_file_size), 1 * MIB, INT64_MAX, NULL},
    {"tables.row_group_bytes", K_INT64, OFF(tables.row_group_bytes), 64 * 1024, 1024 * MIB, NULL},
    {"tables.compaction", K_SECTION, 0, 0, 0, 0, NULL},
    {"tables.compaction.min_files", K_INT, OFF(tables.compaction.min_files), 0, 1000000, NULL},
    {"tables.raw_events", K_SECTION, 0, 0, 0, 0, NULL},
    {"tables.raw_events.partition_by", K_NAME_LIST, OFF(tables.raw_events.partition_by), 0, 0,
     NULL},
    {"tables.processed_events", K_SECTION, 0, 0, 0, 0, NULL},
    {"tables.processed_events.partition_by", K_NAME_LIST,
     OFF(tables.processed_events.partition_by), 0, 0, NULL},
    {"transforms", K_TRANSFORMS, 0, 0, 0, 0, NULL},
    {"transform", K_SECTION, 0, 0, 0, 0, NULL},
    {"transform.event_time", K_STR, OFF(event.event_time), 0, 0, NULL},
    {"transform.watermark", K_DURATION, OFF(event.watermark_ms), 0, 86400000LL * 366, NULL},
    {"transform.dedupe", K_DEDUPE, OFF(event.dedupe), 0, 0, NULL},
    {"metrics", K_METRICS, OFF(metrics), 0, 0, NULL},
};
#define NKEYS ((int)(sizeof keys / sizeof keys[0]))

/* ---- the transforms' storage: steps, items and text in cfg->xf ---- */

static int xf_text(lk_config *c, const char *s, size_t n)
{
    if (c->xf.text_len + n + 1 > sizeof c->xf.text)
        return -1;
    int off = (int)c->xf.text_len;
    memcpy(c->xf.text + off, s, n);
    c->xf.text[off + n] = 0;
    c->xf.text_len += n + 1;
    return off;
}

const char *lk_config_xf_text(const lk_config *cfg, int off)
{
    return off < 0 ? "" : cfg->xf.text + off;
}

static lk_step *xf_step(lk_config *c, lk_step_kind kind, int line)
{
    if (c->xf.nsteps == LK_MAX_STEPS)
        return NULL;
    lk_step *st = &c->xf.step[c->xf.nsteps++];
    memset(st, 0, sizeof *st);
    st->kind = kind;
    st->line = line;
    st->after = -1;
    st->item0 = c->xf.nitems;
    return st;
}

/* Appends an item to the last step. 0 or -1 (full). */
static int xf_item(lk_config *c, lk_step *st, const char *name, const char *text, int line)
{
    if (c->xf.nitems == LK_MAX_STEP_ITEMS)
        return -1;
    lk_step_item *it = &c->xf.item[c->xf.nitems];
    it->name = name ? xf_text(c, name, strlen(name)) : -1;
    it->text = xf_text(c, text, strlen(text));
    it->line = line;
    if ((name && it->name < 0) || it->text < 0)
        return -1;
    c->xf.nitems++;
    st->nitems++;
    return 0;
}

/* Today's silver as a transforms list (docs/decisions.md, "Silver as the
   default transforms list"): ts as a TIMESTAMP (a value that does not
   parse is null and its text kept in _rescued_data) followed by its UTC
   day, structs flattened one level. Around any list, processed_events
   takes only the rows without a _corrupt_record, leaves _corrupt_record
   and _metadata out after the list and adds processed_at (lk_transforms).
   The ts steps are optional: without a ts column of string or timestamp
   type they do nothing, as before. */
static void default_transforms(lk_config *c)
{
    c->transforms.first = c->xf.nsteps;
    lk_step *st = xf_step(c, LK_STEP_DERIVE, 0);
    st->on_error = LK_ON_ERROR_RESCUE;
    st->optional = 1;
    xf_item(c, st, "ts", "to_timestamp(ts)", 0);
    st = xf_step(c, LK_STEP_DERIVE, 0);
    st->optional = 1;
    st->after = xf_text(c, "ts", 2);
    xf_item(c, st, "event_date", "to_date(ts)", 0);
    st = xf_step(c, LK_STEP_FLATTEN, 0);
    xf_item(c, st, NULL, "*", 0);
    c->transforms.n = c->xf.nsteps - c->transforms.first;
}

void lk_config_defaults(lk_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->pipeline, sizeof c->pipeline, "lakesupd");
    snprintf(c->catalog, sizeof c->catalog, "main");
    snprintf(c->schema, sizeof c->schema, "streaming");
    c->worker_timeout_ms = 30000;
    c->stop_timeout_ms = 30000;
    snprintf(c->source_path, sizeof c->source_path, "./incoming");
    snprintf(c->checkpoint_path, sizeof c->checkpoint_path, "./checkpoints");
    snprintf(c->warehouse_path, sizeof c->warehouse_path, "./lakehouse");
    c->trigger = LK_TRIGGER_CONTINUOUS;
    c->processing_time_ms = 0;
    snprintf(c->metrics.output_mode, sizeof c->metrics.output_mode, "append");
    c->freshness_ms = 0;
    snprintf(c->log_level, sizeof c->log_level, "info");
    snprintf(c->log_format, sizeof c->log_format, "text");
    c->source.shard.count = 1;
    c->workers.transform = 2;
    c->workers.writer = 2;
    snprintf(c->source.format, sizeof c->source.format, "json");
    c->source.max_files_per_trigger = 1000;
    /* soft: bounds what a batch holds in flight (the committer keeps every
       chunk's file report until the batch commits; one Delta commit lists
       them all), so memory stays flat however large the backlog */
    c->source.max_bytes_per_trigger = 256 * MIB;
    c->source.chunk_bytes = 2 * MIB;
    c->source.include_existing_files = 1;
    c->source.chunks_by_reference = 1;
    c->workers.shared_memory = 1;
    c->source.schema_inference_sample_bytes = 64 * MIB;
    c->source.schema_inference_sample_size = 1000;
    c->source.infer_column_types = 1;
    snprintf(c->source.schema_evolution_mode, sizeof c->source.schema_evolution_mode,
             "add_new_columns");
    snprintf(c->source.rescued_data_column, sizeof c->source.rescued_data_column, "_rescued_data");
    snprintf(c->source.mode, sizeof c->source.mode, "PERMISSIVE");
    snprintf(c->source.sep, sizeof c->source.sep, ",");
    snprintf(c->source.quote, sizeof c->source.quote, "\"");
    snprintf(c->source.escape, sizeof c->source.escape, "\\");
    c->source.max_record_size = 16 * MIB;
    snprintf(c->source.starting_offsets, sizeof c->source.starting_offsets, "earliest");
    snprintf(c->source.value_format, sizeof c->source.value_format, "json");
    c->source.fail_on_data_loss = 1;
#ifdef __linux__
    c->source.use_notifications = 1;
#endif
    c->source.backfill_interval_ms = 60000;
    c->source.file_ready_delay_ms = 100;
    snprintf(c->source.clean_source, sizeof c->source.clean_source, "off");
    c->source.clean_source_retention_duration_ms = 30LL * 86400000;
    c->monitor.progress_retention.ms = 7LL * 86400000;
    c->monitor.progress_retention.batches = 10000;
    c->monitor.batch_deadline_ms = 5LL * 60000;
    snprintf(c->tables.compression, sizeof c->tables.compression, "zstd");
    c->tables.zstd_level = 3;
    c->tables.zstd_adaptive = 1;
    c->tables.target_file_size = 128 * MIB;
    c->tables.row_group_bytes = 8 * MIB;
    c->tables.compaction.min_files = 50;
    default_transforms(c);
}

int lk_config_parse_trigger(const char *s, lk_trigger *out)
{
    if (!s) return LK_ECONFIG;
    if (!strcmp(s, "continuous")) {
        *out = LK_TRIGGER_CONTINUOUS;
        return 0;
    }
    if (!strcmp(s, "available_now") || !strcmp(s, "available-now")) {
        *out = LK_TRIGGER_AVAILABLE_NOW;
        return 0;
    }
    return LK_ECONFIG;
}

int lk_config_set_trigger(lk_config *cfg, const char *arg, lk_error *err)
{
    lk_trigger t;
    if (arg && lk_config_parse_trigger(arg, &t) == 0) {
        cfg->trigger = t;
        cfg->processing_time_ms = cfg->freshness_ms = 0;
        return 0;
    }
    /* the timed triggers: NAME=<duration>, or NAME alone with the file's duration */
    static const struct {
        const char *name, *dash, *what;
        lk_trigger t;
        size_t off;
    } timed[] = {
        {"processing_time", "processing-time", "interval", LK_TRIGGER_PROCESSING_TIME,
         offsetof(lk_config, processing_time_ms)},
        {"freshness", "freshness", "objective", LK_TRIGGER_FRESHNESS,
         offsetof(lk_config, freshness_ms)},
    };
    for (size_t i = 0; arg && i < sizeof timed / sizeof timed[0]; i++) {
        const char *name = timed[i].name;
        size_t n = strlen(name);
        if (strncmp(arg, name, n) != 0) {
            name = timed[i].dash;
            if (strncmp(arg, name, n = strlen(name)) != 0) continue;
        }
        int64_t *dur = (int64_t *)((char *)cfg + timed[i].off);
        if (arg[n] == '\0') { /* the duration of the configuration file */
            if (*dur <= 0)
                return lk_error_set(err, LK_ECONFIG,
                                    "--trigger %s: no %s (%s=5s, or trigger: {%s: \"5 "
                                    "seconds\"} in the file)",
                                    arg, timed[i].what, timed[i].dash, timed[i].name);
            cfg->trigger = timed[i].t;
            return 0;
        }
        int64_t ms;
        if ((arg[n] != '=' && arg[n] != ':') || lk_config_parse_duration(arg + n + 1, &ms) ||
            ms <= 0)
            return lk_error_set(err, LK_ECONFIG,
                                "--trigger '%s': expected %s=<duration> such as %s=5s or "
                                "\"%s=5 minutes\"",
                                arg, timed[i].dash, timed[i].dash, timed[i].dash);
        cfg->processing_time_ms = cfg->freshness_ms = 0;
        cfg->trigger = timed[i].t;
        *dur = ms;
        return 0;
    }
    return lk_error_set(err, LK_ECONFIG,
                        "--trigger '%s': expected continuous, available-now, "
                        "processing-time=<duration> or freshness=<duration>",
                        arg ? arg : "");
}

const char *lk_config_trigger_name(lk_trigger t)
{
    switch (t) {
    case LK_TRIGGER_CONTINUOUS:
        return "continuous";
    case LK_TRIGGER_AVAILABLE_NOW:
        return "available_now";
    case LK_TRIGGER_PROCESSING_TIME:
        return "processing_time";
    case LK_TRIGGER_FRESHNESS:
        return "freshness";
    }
    return "?";
}

int lk_config_parse_duration(const char *s, int64_t *ms)
{
    static const struct {
        const char *unit;
        double ms;
    } units[] = {
        {"ms", 1},         {"msec", 1},        {"millisecond", 1}, {"milliseconds", 1},
        {"s", 1000},       {"sec", 1000},      {"secs", 1000},     {"second", 1000},
        {"seconds", 1000}, {"m", 60000},       {"min", 60000},     {"mins", 60000},
        {"minute", 60000}, {"minutes", 60000}, {"h", 3600000},     {"hr", 3600000},
        {"hrs", 3600000},  {"hour", 3600000},  {"hours", 3600000}, {"d", 86400000},
        {"day", 86400000}, {"days", 86400000},
    };
    if (!s) return LK_ECONFIG;
    while (isspace((unsigned char)*s))
        s++;
    if (!isdigit((unsigned char)*s) && *s != '.')
        return LK_ECONFIG; /* no sign: a duration is never negative */
    if (!strcmp(s, "0")) { /* zero needs no unit */
        *ms = 0;
        return 0;
    }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno) return LK_ECONFIG;
    while (isspace((unsigned char)*end))
        end++;
    size_t n = strlen(end);
    while (n && isspace((unsigned char)end[n - 1]))
        n--;
    if (n == 0) return LK_ECONFIG; /* a bare number is ambiguous */
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strlen(units[i].unit) == n && !strncasecmp(end, units[i].unit, n)) {
            double r = v * units[i].ms;
            if (r > 9.0e15) return LK_ECONFIG;
            *ms = (int64_t)(r + 0.5);
            return 0;
        }
    }
    return LK_ECONFIG;
}

void lk_config_format_duration(int64_t ms, char *out, size_t cap)
{
    static const struct {
        int64_t ms;
        const char *one, *many;
    } u[] = {{86400000, "day", "days"}, {3600000, "hour", "hours"}, {60000, "minute", "minutes"},
             {1000, "second", "seconds"}};
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
        if (ms >= u[i].ms && ms % u[i].ms == 0) {
            snprintf(out, cap, "%lld %s", (long long)(ms / u[i].ms),
                     ms == u[i].ms ? u[i].one : u[i].many);
            return;
        }
    snprintf(out, cap, "%lld ms", (long long)ms);
}

void lk_config_table_path(const lk_config *cfg, const char *table, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s/%s/%s", cfg->warehouse_path, cfg->catalog, cfg->schema, table);
}

void lk_config_state_path(const lk_config *cfg, char *out, size_t cap)
{
    snprintf(out, cap, "%s/state.db", cfg->checkpoint_path);
}

/* ---- loading ---- */

typedef struct loader {
    lk_config *cfg;
    yaml_document_t *doc;
    lk_error *err;
    unsigned char seen[NKEYS];
    /* _origin (a running configuration): the user's file and its lines, put back after the walk */
    int origin;
    char origin_file[1024];
    int *origin_lines, norigin;
} loader;

static const char *node_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a sequence";
    default:
        return "a scalar";
    }
}

static int bad(loader *L, const yaml_node_t *n, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Keys with two names: issue 17 named it source.max_record_bytes; source.max_record_size is
   the name it had, still accepted. The index of the other name of key i, or -1. */
static int key_index(const char *name);
static int alias_twin(int i)
{
    static const char *const pairs[][2] = {{"source.max_record_bytes", "source.max_record_size"}};
    for (size_t p = 0; p < sizeof pairs / sizeof *pairs; p++)
        for (int k = 0; k < 2; k++)
            if (!strcmp(keys[i].name, pairs[p][k])) return key_index(pairs[p][!k]);
    return -1;
}
static int is_older_name(const char *name)
{
    return !strcmp(name, "source.max_record_size");
}
static int key_index(const char *name)
{
    for (int i = 0; i < NKEYS; i++)
        if (!strcmp(keys[i].name, name)) return i;
    return -1;
}

static int bad(loader *L, const yaml_node_t *n, const char *key, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return lk_error_set(L->err, LK_ECONFIG, "%s:%zu: key '%s': %s", L->cfg->file,
                        n->start_mark.line + 1, key, what);
}

static const char *scalar(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* A key given twice in one mapping: YAML 1.2 forbids it, libyaml keeps both, and the walk would
   take the last silently (`derive: {a: "1", a: "2"}`). Refused with both lines and the key's
   path (transforms[0].derive.a). depth bounds an alias loop. */
static int duplicate_keys(loader *L, yaml_node_t *n, const char *path, int depth)
{
    if (!n || depth > 64) return 0;
    char sub[600];
    if (n->type == YAML_SEQUENCE_NODE) {
        int i = 0;
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++, i++) {
            snprintf(sub, sizeof sub, "%s[%d]", path, i);
            int r = duplicate_keys(L, yaml_document_get_node(L->doc, *it), sub, depth + 1);
            if (r) return r;
        }
        return 0;
    }
    if (n->type != YAML_MAPPING_NODE) return 0;
    for (yaml_node_pair_t *a = n->data.mapping.pairs.start; a < n->data.mapping.pairs.top; a++) {
        yaml_node_t *ka = yaml_document_get_node(L->doc, a->key);
        if (!ka || ka->type != YAML_SCALAR_NODE) continue;
        snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", scalar(ka));
        for (yaml_node_pair_t *b = n->data.mapping.pairs.start; b < a; b++) {
            yaml_node_t *kb = yaml_document_get_node(L->doc, b->key);
            if (kb && kb->type == YAML_SCALAR_NODE && !strcmp(scalar(ka), scalar(kb)))
                return bad(L, ka, sub, "duplicate key (first at line %zu)",
                           kb->start_mark.line + 1);
        }
        int r = duplicate_keys(L, yaml_document_get_node(L->doc, a->value), sub, depth + 1);
        if (r) return r;
    }
    return 0;
}

static int parse_int64(const char *s, int64_t *out)
{
    if (!*s || isspace((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

static int set_trigger(loader *L, const key_spec *k, yaml_node_t *v)
{
    lk_config *c = L->cfg;
    if (v->type == YAML_SCALAR_NODE) {
        if (lk_config_parse_trigger(scalar(v), &c->trigger) < 0)
            return bad(L, v, k->name,
                       "unknown trigger '%s' (continuous, available_now, "
                       "{processing_time: \"<duration>\"} or {freshness: \"<duration>\"})",
                       scalar(v));
        c->processing_time_ms = c->freshness_ms = 0;
        return 0;
    }
    if (v->type != YAML_MAPPING_NODE)
        return bad(L, v, k->name, "expected a scalar or a mapping, got %s", node_kind(v));
    int have = 0;
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(L->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(L->doc, p->value);
        if (kn->type != YAML_SCALAR_NODE)
            return bad(L, kn, "trigger", "a key must be a scalar, got %s", node_kind(kn));
        char name[160];
        snprintf(name, sizeof name, "trigger.%s", scalar(kn));
        int fresh = !strcmp(scalar(kn), "freshness");
        if (!fresh && strcmp(scalar(kn), "processing_time") != 0)
            return bad(L, kn, name,
                       "unknown key (a trigger mapping has processing_time or freshness)");
        if (have) return bad(L, kn, name, "one of processing_time and freshness, not both");
        if (vn->type != YAML_SCALAR_NODE)
            return bad(L, vn, name, "expected a duration, got %s", node_kind(vn));
        int64_t ms;
        if (lk_config_parse_duration(scalar(vn), &ms) < 0)
            return bad(L, vn, name,
                       "bad duration '%s' (e.g. \"5 minutes\", \"30s\", \"100 ms\", \"1h\")",
                       scalar(vn));
        if (ms <= 0) return bad(L, vn, name, "must be positive");
        c->trigger = fresh ? LK_TRIGGER_FRESHNESS : LK_TRIGGER_PROCESSING_TIME;
        c->processing_time_ms = fresh ? 0 : ms;
        c->freshness_ms = fresh ? ms : 0;
        have = 1;
    }
    if (!have) return bad(L, v, k->name, "mapping needs processing_time or freshness");
    return 0;
}

static int set_value(loader *L, const key_spec *k, yaml_node_t *v);

static int add_name(loader *L, const key_spec *k, yaml_node_t *v, lk_name_list *l)
{
    if (v->type != YAML_SCALAR_NODE)
        return bad(L, v, k->name, "expected a column name, got %s", node_kind(v));
    const char *s = scalar(v);
    if (!*s || strlen(s) >= sizeof l->name[0])
        return bad(L, v, k->name, "a column name must have 1 to %zu bytes", sizeof l->name[0] - 1);
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->name[i], s))
            return bad(L, v, k->name, "column '%s' is listed twice", s);
    if (l->n == LK_MAX_PARTITION_COLS)
        return bad(L, v, k->name, "at most %d columns", LK_MAX_PARTITION_COLS);
    snprintf(l->name[l->n++], sizeof l->name[0], "%s", s);
    return 0;
}

static int set_name_list(loader *L, const key_spec *k, yaml_node_t *v)
{
    lk_name_list *l = (lk_name_list *)((char *)L->cfg + k->off);
    l->n = 0;
    l->line = (int)v->start_mark.line + 1;
    if (v->type == YAML_SCALAR_NODE)
        return add_name(L, k, v, l);
    if (v->type != YAML_SEQUENCE_NODE)
        return bad(L, v, k->name, "expected a list of column names, got %s", node_kind(v));
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        int r = add_name(L, k, yaml_document_get_node(L->doc, *it), l);
        if (r < 0) return r;
    }
    return 0;
}

int lk_config_prop_next(const char **cursor, char name[256], char val[1024])
{
    const char *line = *cursor;
    const char *eq = strchr(line, '='), *nl = strchr(line, '\n');
    if (!*line || !eq || !nl || eq > nl)
        return 0;
    snprintf(name, 256, "%.*s", (int)(eq - line), line);
    snprintf(val, 1024, "%.*s", (int)(nl - eq - 1), eq + 1);
    *cursor = nl + 1;
    return 1;
}

/* One librdkafka property (kafka.<name>: value) appended to source.kafka_props. */
static int add_prop(loader *L, yaml_node_t *kn, yaml_node_t *vn, const char *prop)
{
    char *props = L->cfg->source.kafka_props;
    size_t cap = sizeof L->cfg->source.kafka_props, n = strlen(props);
    char full[300];
    snprintf(full, sizeof full, "source.kafka.%s", prop);
    if (vn->type != YAML_SCALAR_NODE)
        return bad(L, vn, full, "expected a scalar, got %s", node_kind(vn));
    const char *v = scalar(vn);
    if (!*prop || strpbrk(prop, "=\n") || strchr(v, '\n'))
        return bad(L, kn, full, "a librdkafka property needs a name without '=' and a one-line value");
    if (n + strlen(prop) + strlen(v) + 3 > cap)
        return bad(L, kn, full, "kafka.* properties too long (at most %zu bytes in all)", cap - 1);
    snprintf(props + n, cap - n, "%s=%s\n", prop, v);
    return 0;
}

static int set_props(loader *L, const key_spec *k, yaml_node_t *v)
{
    if (v->type != YAML_MAPPING_NODE)
        return bad(L, v, k->name, "expected a mapping of librdkafka properties, got %s",
                   node_kind(v));
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(L->doc, p->key);
        if (kn->type != YAML_SCALAR_NODE)
            return bad(L, kn, k->name, "a key must be a scalar, got %s", node_kind(kn));
        int r = add_prop(L, kn, yaml_document_get_node(L->doc, p->value), scalar(kn));
        if (r < 0) return r;
    }
    return 0;
}

/* ---- transforms and derived tables ---- */

static const char *const step_names[] = {NULL,   "filter", "derive", "select",
                                         "drop", "rename", "cast",   "flatten"};

static int full(loader *L, yaml_node_t *n, const char *key)
{
    return bad(L, n, key,
               "the transforms are too large (at most %d steps, %d entries and %d bytes of text in "
               "all)",
               LK_MAX_STEPS, LK_MAX_STEP_ITEMS, LK_XF_TEXT);
}

/* One entry of a step: a non-empty scalar. */
static int step_scalar(loader *L, yaml_node_t *n, const char *key, const char *what)
{
    if (n->type != YAML_SCALAR_NODE)
        return bad(L, n, key, "expected %s, got %s", what, node_kind(n));
    if (!*scalar(n))
        return bad(L, n, key, "%s must not be empty", what);
    return 0;
}

/* A transforms list (`transforms:`, `tables.<name>.transforms`) into out. */
static int parse_steps(loader *L, const char *key, yaml_node_t *v, lk_step_list *out)
{
    lk_config *c = L->cfg;
    if (v->type != YAML_SEQUENCE_NODE)
        return bad(L, v, key,
                   "expected a list of steps (- filter: \"...\", - derive: {name: \"...\"}), got %s",
                   node_kind(v));
    out->first = c->xf.nsteps;
    out->n = 0;
    int idx = 0;
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++, idx++) {
        yaml_node_t *sn = yaml_document_get_node(L->doc, *it);
        char sk[300];
        snprintf(sk, sizeof sk, "%s[%d]", key, idx);
        if (sn->type != YAML_MAPPING_NODE)
            return bad(L, sn, sk, "a step is a mapping such as {filter: \"...\"}, got %s",
                       node_kind(sn));
        int kind = 0, on_error = LK_ON_ERROR_NULL, optional = 0;
        yaml_node_t *body = NULL;
        const char *after = NULL;
        for (yaml_node_pair_t *p = sn->data.mapping.pairs.start; p < sn->data.mapping.pairs.top; p++) {
            yaml_node_t *kn = yaml_document_get_node(L->doc, p->key);
            yaml_node_t *vn = yaml_document_get_node(L->doc, p->value);
            if (kn->type != YAML_SCALAR_NODE)
                return bad(L, kn, sk, "a key must be a scalar, got %s", node_kind(kn));
            const char *name = scalar(kn);
            char fk[400];
            snprintf(fk, sizeof fk, "%s.%s", sk, name);
            int k = 1;
            while (k <= LK_STEP_FLATTEN && strcmp(step_names[k], name))
                k++;
            if (k <= LK_STEP_FLATTEN) {
                if (kind)
                    return bad(L, kn, fk, "one step per entry (this one is already %s)",
                               step_names[kind]);
                kind = k;
                body = vn;
            } else if (!strcmp(name, "on_error")) {
                if (vn->type != YAML_SCALAR_NODE)
                    return bad(L, vn, fk, "expected null, quarantine or rescue, got %s", node_kind(vn));
                const char *e = scalar(vn);
                if (!strcmp(e, "null") || (!*e && vn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE))
                    on_error = LK_ON_ERROR_NULL;
                else if (!strcmp(e, "quarantine"))
                    on_error = LK_ON_ERROR_QUARANTINE;
                else if (!strcmp(e, "rescue"))
                    on_error = LK_ON_ERROR_RESCUE;
                else
                    return bad(L, vn, fk, "'%s' is not one of null|quarantine|rescue", e);
            } else if (!strcmp(name, "optional")) {
                const char *b = vn->type == YAML_SCALAR_NODE ? scalar(vn) : "";
                if (!strcmp(b, "true"))
                    optional = 1;
                else if (!strcmp(b, "false"))
                    optional = 0;
                else
                    return bad(L, vn, fk, "expected true or false");
            } else if (!strcmp(name, "after")) {
                if (step_scalar(L, vn, fk, "a column name"))
                    return -1;
                after = scalar(vn);
            } else {
                return bad(L, kn, fk,
                           "unknown key (a step is one of filter, derive, select, drop, rename, "
                           "cast, flatten, with on_error, optional or after)");
            }
        }
        if (!kind)
            return bad(L, sn, sk,
                       "no step in this entry (filter, derive, select, drop, rename, cast or "
                       "flatten)");
        lk_step *st = xf_step(c, (lk_step_kind)kind, (int)sn->start_mark.line + 1);
        if (!st)
            return full(L, sn, sk);
        st->on_error = (lk_on_error)on_error;
        st->optional = optional;
        char ik[400];
        snprintf(ik, sizeof ik, "%s.%s", sk, step_names[kind]);
        if (after) {
            if (kind != LK_STEP_DERIVE)
                return bad(L, sn, sk, "after applies to derive steps only");
            st->after = xf_text(c, after, strlen(after));
            if (st->after < 0)
                return full(L, sn, sk);
        }
        if (on_error != LK_ON_ERROR_NULL && kind != LK_STEP_DERIVE && kind != LK_STEP_CAST &&
            kind != LK_STEP_FILTER && kind != LK_STEP_SELECT)
            return bad(L, sn, sk, "on_error applies to filter, derive, select and cast steps");
        switch (kind) {
        case LK_STEP_FILTER:
            if (step_scalar(L, body, ik, "a condition (a SQL expression)"))
                return -1;
            if (xf_item(c, st, NULL, scalar(body), (int)body->start_mark.line + 1))
                return full(L, body, ik);
            break;
        case LK_STEP_DERIVE:
        case LK_STEP_RENAME:
        case LK_STEP_CAST: {
            static const char *const what[] = {"", "", "an expression", "", "", "a new name", "a type"};
            if (body->type != YAML_MAPPING_NODE)
                return bad(L, body, ik, "expected a mapping {column: %s, ...}, got %s", what[kind],
                           node_kind(body));
            for (yaml_node_pair_t *p = body->data.mapping.pairs.start;
                 p < body->data.mapping.pairs.top; p++) {
                yaml_node_t *kn = yaml_document_get_node(L->doc, p->key);
                yaml_node_t *vn = yaml_document_get_node(L->doc, p->value);
                if (step_scalar(L, kn, ik, "a column name"))
                    return -1;
                char ek[600];
                snprintf(ek, sizeof ek, "%s.%s", ik, scalar(kn));
                if (step_scalar(L, vn, ek, what[kind]))
                    return -1;
                if (xf_item(c, st, scalar(kn), scalar(vn), (int)vn->start_mark.line + 1))
                    return full(L, vn, ek);
            }
            if (!st->nitems)
                return bad(L, body, ik, "an empty mapping");
            break;
        }
        default: { /* select, drop, flatten: a list of names (select: expressions) */
            if (body->type == YAML_SCALAR_NODE) {
                if (step_scalar(L, body, ik, "a column"))
                    return -1;
                if (xf_item(c, st, NULL, scalar(body), (int)body->start_mark.line + 1))
                    return full(L, body, ik);
                break;
            }
            if (body->type != YAML_SEQUENCE_NODE)
                return bad(L, body, ik, "expected a list of columns, got %s", node_kind(body));
            int j = 0;
            for (yaml_node_item_t *e = body->data.sequence.items.start;
                 e < body->data.sequence.items.top; e++, j++) {
                yaml_node_t *en = yaml_document_get_node(L->doc, *e);
                char ek[500];
                snprintf(ek, sizeof ek, "%s[%d]", ik, j);
                if (step_scalar(L, en, ek, kind == LK_STEP_SELECT ? "a column or expression" : "a column name"))
                    return -1;
                if (xf_item(c, st, NULL, scalar(en), (int)en->start_mark.line + 1))
                    return full(L, en, ek);
            }
            if (!st->nitems)
                return bad(L, body, ik, "an empty list");
            break;
        }
        }
        out->n++;
    }
    return 0;
}

/* ---- monitor, alerts, notify ---- */

int lk_config_parse_alert(const char *when, lk_alert_rule *r, lk_error *err)
{
    static const struct {
        const char *tok;
        lk_alert_op op;
    } ops[] = {{">=", LK_OP_GE}, {"<=", LK_OP_LE}, {"==", LK_OP_EQ}, {"!=", LK_OP_NE},
               {">", LK_OP_GT},  {"<", LK_OP_LT}};
    const char *p = when;
    while (isspace((unsigned char)*p))
        p++;
    const char *m = p;
    while (isalnum((unsigned char)*p) || *p == '_')
        p++;
    size_t mlen = (size_t)(p - m);
    int known = 0;
    for (const char *c = LK_ALERT_METRICS; *c && mlen;) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        known |= len == mlen && !strncmp(c, m, mlen);
        c += len + (bar ? 1 : 0);
    }
    if (!known)
        return lk_error_set(err, LK_ECONFIG,
                            "'%s': expected \"<metric> <op> <number>\" with a metric of %s", when,
                            LK_ALERT_METRICS);
    snprintf(r->metric, sizeof r->metric, "%.*s", (int)mlen, m);
    while (isspace((unsigned char)*p))
        p++;
    size_t k = 0;
    for (; k < sizeof ops / sizeof ops[0]; k++)
        if (!strncmp(p, ops[k].tok, strlen(ops[k].tok)))
            break;
    if (k == sizeof ops / sizeof ops[0])
        return lk_error_set(err, LK_ECONFIG, "'%s': expected an operator (>, >=, <, <=, ==, !=) after %s",
                            when, r->metric);
    r->op = ops[k].op;
    p += strlen(ops[k].tok);
    char *end;
    errno = 0;
    double v = strtod(p, &end);
    while (end && isspace((unsigned char)*end))
        end++;
    if (end == p || errno || *end || v != v)
        return lk_error_set(err, LK_ECONFIG, "'%s': expected a number after the operator", when);
    r->threshold = v;
    return 0;
}

int lk_config_host_loopback(const char *host)
{
    return !strcmp(host, "localhost") || !strncmp(host, "127.", 4) || !strcmp(host, "::1") ||
           !strcmp(host, "[::1]");
}

int lk_config_http_addr(const char *http, char *host, size_t cap, int *port)
{
    const char *colon = strrchr(http, ':');
    if (!colon)
        return LK_ECONFIG;
    size_t hl = (size_t)(colon - http);
    if (hl >= cap)
        return LK_ECONFIG;
    memcpy(host, http, hl);
    host[hl] = 0;
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') { /* [::1]:9187 */
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = 0;
    }
    int64_t p;
    if (parse_int64(colon + 1, &p) || p < 0 || p > 65535)
        return LK_ECONFIG;
    *port = (int)p;
    return 0;
}

/* "7 days or 10000 batches", "3 days", "5000 batches": either bound, or both
   (joined by "or" or a comma). */
static int set_retention(loader *L, const key_spec *k, yaml_node_t *v)
{
    if (v->type != YAML_SCALAR_NODE)
        return bad(L, v, k->name, "expected \"<duration> or <N> batches\", got %s", node_kind(v));
    char text[256];
    snprintf(text, sizeof text, "%s", scalar(v));
    for (char *or = strstr(text, " or "); or; or = strstr(or, " or "))
        memcpy(or, " ,  ", 4);
    int64_t ms = 0, batches = 0;
    for (char *save = NULL, *p = strtok_r(text, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*p))
            p++;
        char *end;
        errno = 0;
        long long n = strtoll(p, &end, 10);
        while (isspace((unsigned char)*end))
            end++;
        size_t tl = strlen(end);
        while (tl && isspace((unsigned char)end[tl - 1]))
            end[--tl] = 0;
        if (end != p && !errno && n >= 0 && (!strcmp(end, "batches") || !strcmp(end, "batch")))
            batches = n;
        else if (lk_config_parse_duration(p, &ms))
            return bad(L, v, k->name,
                       "'%s': expected \"<duration> or <N> batches\" such as \"7 days or 10000 "
                       "batches\"",
                       scalar(v));
    }
    if (ms <= 0 && batches <= 0)
        return bad(L, v, k->name, "'%s': keeps nothing (a positive duration or batch count)",
                   scalar(v));
    L->cfg->monitor.progress_retention.ms = ms;
    L->cfg->monitor.progress_retention.batches = batches;
    return 0;
}

/* The items of a sequence key (alerts, notify), each handed to fn; an
   empty value is an empty list. */
static int each_item(loader *L, const key_spec *k, yaml_node_t *v, const char *expected,
                     int (*fn)(loader *L, yaml_node_t *item))
{
    if (v->type == YAML_SCALAR_NODE && !v->data.scalar.length)
        return 0;
    if (v->type != YAML_SEQUENCE_NODE)
        return bad(L, v, k->name, "expected a list of %s, got %s", expected, node_kind(v));
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        int r = fn(L, yaml_document_get_node(L->doc, *it));
        if (r < 0)
            return r;
    }
    return 0;
}

/* Table names compare without case, as Databricks' catalog names do (two tables whose names
   differ in case only would also share a folder on a case-insensitive file system). */
static int is_builtin_table(const char *name)
{
    return !strcasecmp(name, "raw_events") || !strcasecmp(name, "processed_events") ||
           !strcasecmp(name, "quarantine") || !strcasecmp(name, "event_metrics");
}

/* tables.<name>: {from, transforms, partition_by}: a derived table. */
static int parse_derived(loader *L, yaml_node_t *kn, yaml_node_t *vn)
{
    lk_config *c = L->cfg;
    const char *name = scalar(kn);
    char key[300];
    snprintf(key, sizeof key, "tables.%s", name);
    if (vn->type != YAML_MAPPING_NODE)
        return bad(L, kn, key,
                   "unknown key (a derived table is a mapping with from:, transforms: and "
                   "partition_by:)");
    size_t n = strlen(name);
    if (!n || n >= sizeof c->tables.derived[0].name)
        return bad(L, kn, key, "a table name has 1 to 127 characters");
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return bad(L, kn, key, "a table name is letters, digits and _ only");
    if (is_builtin_table(name))
        return bad(L, kn, key, "%s is a table of the pipeline itself (names are case-insensitive)",
                   name);
    for (int i = 0; i < c->tables.nderived; i++)
        if (!strcasecmp(c->tables.derived[i].name, name))
            return bad(L, kn, key, "duplicate table (names are case-insensitive: %s)",
                       c->tables.derived[i].name);
    if (c->tables.nderived == LK_MAX_DERIVED)
        return bad(L, kn, key, "at most %d derived tables", LK_MAX_DERIVED);
    lk_derived_table *t = &c->tables.derived[c->tables.nderived];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->line = (int)kn->start_mark.line + 1;
    for (yaml_node_pair_t *p = vn->data.mapping.pairs.start; p < vn->data.mapping.pairs.top; p++) {
        yaml_node_t *k2 = yaml_document_get_node(L->doc, p->key);
        yaml_node_t *v2 = yaml_document_get_node(L->doc, p->value);
        if (k2->type != YAML_SCALAR_NODE)
            return bad(L, k2, key, "a key must be a scalar, got %s", node_kind(k2));
        char fk[400];
        snprintf(fk, sizeof fk, "%s.%s", key, scalar(k2));
        if (!strcmp(scalar(k2), "from")) {
            if (step_scalar(L, v2, fk, "a table name"))
                return -1;
            snprintf(t->from, sizeof t->from, "%s", scalar(v2));
            t->from_line = (int)v2->start_mark.line + 1;
        } else if (!strcmp(scalar(k2), "transforms")) {
            int r = parse_steps(L, fk, v2, &t->transforms);
            if (r < 0)
                return r;
        } else if (!strcmp(scalar(k2), "partition_by")) {
            key_spec ks = {fk, K_NAME_LIST, 0, 0, 0, 0, NULL};
            t->partition_by.n = 0;
            t->partition_by.line = (int)v2->start_mark.line + 1;
            if (v2->type == YAML_SCALAR_NODE) {
                if (add_name(L, &ks, v2, &t->partition_by) < 0)
                    return -1;
            } else if (v2->type != YAML_SEQUENCE_NODE) {
                return bad(L, v2, fk, "expected a list of column names, got %s", node_kind(v2));
            } else {
                for (yaml_node_item_t *it = v2->data.sequence.items.start;
                     it < v2->data.sequence.items.top; it++)
                    if (add_name(L, &ks, yaml_document_get_node(L->doc, *it), &t->partition_by) < 0)
                        return -1;
            }
        } else {
            return bad(L, k2, fk, "unknown key (a derived table has from, transforms, partition_by)");
        }
    }
    if (!t->from[0])
        return bad(L, kn, key, "needs from: (raw_events, processed_events or another table of tables:)");
    c->tables.nderived++;
    return 0;
}

/* Every from names a table of the pipeline, and no table is fed by itself. */
static int check_derived(const lk_config *c, const char *path, lk_error *err)
{
    for (int i = 0; i < c->tables.nderived; i++) {
        const lk_derived_table *t = &c->tables.derived[i];
        if (!strcmp(t->from, "raw_events") || !strcmp(t->from, "processed_events"))
            continue;
        if (!lk_config_derived(c, t->from))
            return lk_error_set(err, LK_ECONFIG,
                                "%s:%d: key 'tables.%s.from': no table '%s' (raw_events, "
                                "processed_events or a table of tables:)",
                                path, t->from_line, t->name, t->from);
        /* follow from until a built-in table: more steps than tables is a cycle */
        const lk_derived_table *x = t;
        for (int steps = 0; x; steps++) {
            if (steps > c->tables.nderived)
                return lk_error_set(err, LK_ECONFIG,
                                    "%s:%d: key 'tables.%s.from': the tables' from make a cycle "
                                    "(%s is fed by itself)",
                                    path, t->from_line, t->name, t->name);
            x = lk_config_derived(c, x->from);
        }
    }
    return 0;
}

const lk_derived_table *lk_config_derived(const lk_config *cfg, const char *name)
{
    for (int i = 0; i < cfg->tables.nderived; i++)
        if (!strcmp(cfg->tables.derived[i].name, name))
            return &cfg->tables.derived[i];
    return NULL;
}

static int add_alert(loader *L, yaml_node_t *rn)
{
    lk_config *c = L->cfg;
    char key[96];
    snprintf(key, sizeof key, "alerts[%d]", c->alerts.n);
    if (rn->type != YAML_MAPPING_NODE)
        return bad(L, rn, key, "expected a mapping with name and when, got %s",
                   node_kind(rn));
    if (c->alerts.n == LK_MAX_ALERTS)
        return bad(L, rn, key, "at most %d rules", LK_MAX_ALERTS);
    lk_alert_rule *r = &c->alerts.rule[c->alerts.n];
    memset(r, 0, sizeof *r);
    snprintf(r->severity, sizeof r->severity, "warning");
    for (yaml_node_pair_t *p = rn->data.mapping.pairs.start; p < rn->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = yaml_document_get_node(L->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(L->doc, p->value);
        const char *name = kn->type == YAML_SCALAR_NODE ? scalar(kn) : "?";
        snprintf(key, sizeof key, "alerts[%d].%s", c->alerts.n, name);
        if (vn->type != YAML_SCALAR_NODE)
            return bad(L, vn, key, "expected a scalar, got %s", node_kind(vn));
        const char *val = scalar(vn);
        if (!strcmp(name, "name")) {
            if (!*val || strlen(val) >= sizeof r->name)
                return bad(L, vn, key, "a rule name has 1 to %zu bytes", sizeof r->name - 1);
            for (const char *q = val; *q; q++)
                if (!isalnum((unsigned char)*q) && *q != '_' && *q != '-' && *q != '.')
                    return bad(L, vn, key, "'%s': letters, digits, '_', '-' and '.' only",
                               val);
            snprintf(r->name, sizeof r->name, "%s", val);
        } else if (!strcmp(name, "when")) {
            lk_error e = {0};
            if (strlen(val) >= sizeof r->when)
                return bad(L, vn, key, "too long (at most %zu bytes)", sizeof r->when - 1);
            if (lk_config_parse_alert(val, r, &e))
                return bad(L, vn, key, "%s", e.msg);
            snprintf(r->when, sizeof r->when, "%s", val);
        } else if (!strcmp(name, "for")) {
            if (lk_config_parse_duration(val, &r->for_ms))
                return bad(L, vn, key, "'%s' is not a duration such as \"2 minutes\"", val);
        } else if (!strcmp(name, "severity")) {
            if (!*val || strlen(val) >= sizeof r->severity)
                return bad(L, vn, key, "a severity has 1 to %zu bytes", sizeof r->severity - 1);
            snprintf(r->severity, sizeof r->severity, "%s", val);
        } else if (!strcmp(name, "summary")) {
            if (strlen(val) >= sizeof r->summary)
                return bad(L, vn, key, "too long (at most %zu bytes)", sizeof r->summary - 1);
            snprintf(r->summary, sizeof r->summary, "%s", val);
        } else {
            return bad(L, kn, key, "unknown key (a rule has name, when, for, severity, summary)");
        }
    }
    snprintf(key, sizeof key, "alerts[%d]", c->alerts.n);
    if (!r->name[0] || !r->when[0])
        return bad(L, rn, key, "a rule needs name and when");
    for (int i = 0; i < c->alerts.n; i++)
        if (!strcmp(c->alerts.rule[i].name, r->name))
            return bad(L, rn, key, "rule name '%s' is used twice", r->name);
    if (!strcmp(r->name, "worker_crash_loop") || !strcmp(r->name, "schema_change"))
        return bad(L, rn, key, "'%s' is built in", r->name);
    c->alerts.n++;
    return 0;
}

static int set_alerts(loader *L, const key_spec *k, yaml_node_t *v)
{
    L->cfg->alerts.n = 0;
    return each_item(L, k, v, "rules ({name, when, for, severity})", add_alert);
}

static int add_receiver(loader *L, yaml_node_t *rn)
{
    lk_config *c = L->cfg;
    char key[96];
    snprintf(key, sizeof key, "notify[%d]", c->notify.n);
    if (rn->type != YAML_MAPPING_NODE ||
        rn->data.mapping.pairs.top - rn->data.mapping.pairs.start != 1)
        return bad(L, rn, key, "expected one of webhook: URL, exec: PATH, log: true");
    if (c->notify.n == LK_MAX_NOTIFY)
        return bad(L, rn, key, "at most %d receivers", LK_MAX_NOTIFY);
    yaml_node_t *kn = yaml_document_get_node(L->doc, rn->data.mapping.pairs.start->key);
    yaml_node_t *vn = yaml_document_get_node(L->doc, rn->data.mapping.pairs.start->value);
    const char *name = kn->type == YAML_SCALAR_NODE ? scalar(kn) : "?";
    snprintf(key, sizeof key, "notify[%d].%s", c->notify.n, name);
    if (vn->type != YAML_SCALAR_NODE)
        return bad(L, vn, key, "expected a scalar, got %s", node_kind(vn));
    const char *val = scalar(vn);
    lk_notify_target *t = &c->notify.to[c->notify.n];
    memset(t, 0, sizeof *t);
    if (strlen(val) >= sizeof t->target)
        return bad(L, vn, key, "too long (at most %zu bytes)", sizeof t->target - 1);
    if (!strcmp(name, "webhook")) {
        if (strncmp(val, "http://", 7) && strncmp(val, "https://", 8))
            return bad(L, vn, key, "'%s' is not an http:// or https:// URL", val);
        t->kind = LK_NOTIFY_WEBHOOK;
    } else if (!strcmp(name, "exec")) {
        if (val[0] != '/')
            return bad(L, vn, key, "'%s': give the program's absolute path", val);
        t->kind = LK_NOTIFY_EXEC;
    } else if (!strcmp(name, "log")) {
        if (strcasecmp(val, "true") && strcasecmp(val, "false"))
            return bad(L, vn, key, "'%s' is not a boolean (true or false)", val);
        if (!strcasecmp(val, "false"))
            return 0; /* no log receiver */
        t->kind = LK_NOTIFY_LOG;
        val = "";
    } else {
        return bad(L, kn, key, "unknown receiver (webhook, exec or log)");
    }
    snprintf(t->target, sizeof t->target, "%s", val);
    c->notify.n++;
    return 0;
}

static int set_notify(loader *L, const key_spec *k, yaml_node_t *v)
{
    L->cfg->notify.n = 0;
    return each_item(L, k, v, "{webhook: URL}, {exec: PATH}, {log: true}", add_receiver);
}

/* metrics.window: "1 minute" (tumbling), {size, slide} (sliding) or
   {session_gap} (session). */
static int set_window(loader *L, yaml_node_t *v)
{
    lk_metrics_cfg *m = &L->cfg->metrics;
    m->window_line = (int)v->start_mark.line + 1;
    if (v->type == YAML_SCALAR_NODE) {
        if (lk_config_parse_duration(scalar(v), &m->size_ms) || m->size_ms <= 0)
            return bad(L, v, "metrics.window",
                       "'%s' is not a positive duration such as \"1 minute\"", scalar(v));
        m->window = LK_WINDOW_TUMBLING;
        m->slide_ms = m->size_ms;
        return 0;
    }
    if (v->type != YAML_MAPPING_NODE)
        return bad(L, v, "metrics.window",
                   "expected a duration, {size, slide} or {session_gap}, got %s", node_kind(v));
    int64_t size = 0, slide = 0, gap = 0;
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(L->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(L->doc, p->value);
        const char *name = kn->type == YAML_SCALAR_NODE ? scalar(kn) : "";
        char key[64];
        snprintf(key, sizeof key, "metrics.window.%s", name);
        int64_t *dst = !strcmp(name, "size") ? &size : !strcmp(name, "slide") ? &slide
                     : !strcmp(name, "session_gap") ? &gap : NULL;
        if (!dst) return bad(L, kn, key, "unknown key (size, slide or session_gap)");
        if (vn->type != YAML_SCALAR_NODE || lk_config_parse_duration(scalar(vn), dst) || *dst <= 0)
            return bad(L, vn, key, "expected a positive duration such as \"5 minutes\"");
    }
    if (gap) {
        if (size || slide)
            return bad(L, v, "metrics.window", "session_gap cannot be combined with size/slide");
        m->window = LK_WINDOW_SESSION;
        m->gap_ms = gap;
        return 0;
    }
    if (!size) return bad(L, v, "metrics.window", "size is missing");
    if (!slide) slide = size;
    if (slide > size || size % slide)
        return bad(L, v, "metrics.window",
                   "slide must divide size (size %lld ms, slide %lld ms)", (long long)size,
                   (long long)slide);
    m->window = slide == size ? LK_WINDOW_TUMBLING : LK_WINDOW_SLIDING;
    m->size_ms = size;
    m->slide_ms = slide;
    return 0;
}

/* metrics: {window, group_by, aggregates, output_mode}; the expressions are
   checked against the schema by lk_tables_check / lk_gold. */
static int set_metrics(loader *L, const key_spec *k, yaml_node_t *v)
{
    lk_metrics_cfg *m = &L->cfg->metrics;
    memset(m, 0, sizeof *m);
    snprintf(m->output_mode, sizeof m->output_mode, "append");
    m->line = (int)v->start_mark.line + 1;
    if (v->type != YAML_MAPPING_NODE)
        return bad(L, v, k->name, "expected a mapping {window, group_by, aggregates, "
                   "output_mode}, got %s", node_kind(v));
    m->set = 1;
    int have_window = 0;
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(L->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(L->doc, p->value);
        const char *name = kn->type == YAML_SCALAR_NODE ? scalar(kn) : "";
        char key[64];
        snprintf(key, sizeof key, "metrics.%s", name);
        if (!strcmp(name, "window")) {
            int r = set_window(L, vn);
            if (r < 0) return r;
            have_window = 1;
        } else if (!strcmp(name, "group_by")) {
            m->ngroup = 0;
            if (vn->type == YAML_SCALAR_NODE && vn->data.scalar.length) {
                snprintf(m->group_by[0], sizeof m->group_by[0], "%s", scalar(vn));
                m->group_line[m->ngroup++] = (int)vn->start_mark.line + 1;
                continue;
            }
            if (vn->type != YAML_SEQUENCE_NODE)
                return bad(L, vn, key, "expected a list of columns or expressions, got %s",
                           node_kind(vn));
            for (yaml_node_item_t *it = vn->data.sequence.items.start;
                 it < vn->data.sequence.items.top; it++) {
                yaml_node_t *e = yaml_document_get_node(L->doc, *it);
                if (e->type != YAML_SCALAR_NODE || !e->data.scalar.length)
                    return bad(L, e, key, "expected a column or an expression");
                if (m->ngroup == LK_MAX_GROUP_BY)
                    return bad(L, e, key, "more than %d entries", LK_MAX_GROUP_BY);
                if (strlen(scalar(e)) >= sizeof m->group_by[0])
                    return bad(L, e, key, "expression too long");
                snprintf(m->group_by[m->ngroup], sizeof m->group_by[0], "%s", scalar(e));
                m->group_line[m->ngroup++] = (int)e->start_mark.line + 1;
            }
        } else if (!strcmp(name, "aggregates")) {
            if (vn->type != YAML_MAPPING_NODE)
                return bad(L, vn, key, "expected a mapping {name: \"count(*)\", ...}, got %s",
                           node_kind(vn));
            m->nagg = 0;
            for (yaml_node_pair_t *a = vn->data.mapping.pairs.start;
                 a < vn->data.mapping.pairs.top; a++) {
                yaml_node_t *an = yaml_document_get_node(L->doc, a->key);
                yaml_node_t *av = yaml_document_get_node(L->doc, a->value);
                const char *col = an->type == YAML_SCALAR_NODE ? scalar(an) : "";
                char akey[300];
                snprintf(akey, sizeof akey, "metrics.aggregates.%s", col);
                if (!*col || strlen(col) >= sizeof m->agg_name[0])
                    return bad(L, an, key, "an aggregate needs a column name");
                if (av->type != YAML_SCALAR_NODE || !av->data.scalar.length ||
                    strlen(scalar(av)) >= sizeof m->agg_expr[0])
                    return bad(L, av, akey, "expected an aggregate such as \"count(*)\"");
                if (m->nagg == LK_MAX_AGGREGATES)
                    return bad(L, an, akey, "more than %d aggregates", LK_MAX_AGGREGATES);
                for (int i = 0; i < m->nagg; i++)
                    if (!strcasecmp(m->agg_name[i], col))
                        return bad(L, an, akey, "duplicate aggregate name");
                snprintf(m->agg_name[m->nagg], sizeof m->agg_name[0], "%s", col);
                snprintf(m->agg_expr[m->nagg], sizeof m->agg_expr[0], "%s", scalar(av));
                m->agg_line[m->nagg++] = (int)av->start_mark.line + 1;
            }
        } else if (!strcmp(name, "output_mode")) {
            if (vn->type != YAML_SCALAR_NODE ||
                (strcmp(scalar(vn), "append") && strcmp(scalar(vn), "update")))
                return bad(L, vn, key, "expected append or update");
            snprintf(m->output_mode, sizeof m->output_mode, "%s", scalar(vn));
        } else {
            return bad(L, kn, key,
                       "unknown key (window, group_by, aggregates or output_mode)");
        }
    }
    if (!have_window) return bad(L, v, "metrics.window", "missing: metrics needs a window");
    if (!m->nagg) return bad(L, v, "metrics.aggregates", "missing: metrics needs aggregates");
    return 0;
}

/* transform.dedupe: {keys: [columns], within: "10 minutes"}; the columns are
   checked against processed_events' schema by lk_dedupe. */
static int set_dedupe(loader *L, const key_spec *k, yaml_node_t *v)
{
    lk_config *c = L->cfg;
    c->event.dedupe.set = 0;
    c->event.dedupe.keys.n = 0;
    c->event.dedupe.within_ms = 0;
    c->event.dedupe.line = (int)v->start_mark.line + 1;
    if (v->type != YAML_MAPPING_NODE)
        return bad(L, v, k->name, "expected a mapping {keys: [columns], within: duration}, got %s",
                   node_kind(v));
    int have_keys = 0, have_within = 0;
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(L->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(L->doc, p->value);
        const char *name = kn->type == YAML_SCALAR_NODE ? scalar(kn) : "";
        char key[300];
        snprintf(key, sizeof key, "transform.dedupe.%s", name);
        if (!strcmp(name, "keys")) {
            if (vn->type != YAML_SEQUENCE_NODE ||
                vn->data.sequence.items.top == vn->data.sequence.items.start)
                return bad(L, vn, key, "expected a non-empty list of columns, got %s",
                           vn->type == YAML_SEQUENCE_NODE ? "an empty list" : node_kind(vn));
            for (yaml_node_item_t *it = vn->data.sequence.items.start;
                 it < vn->data.sequence.items.top; it++) {
                yaml_node_t *e = yaml_document_get_node(L->doc, *it);
                lk_name_list *l = &c->event.dedupe.keys;
                if (e->type != YAML_SCALAR_NODE || !e->data.scalar.length)
                    return bad(L, e, key, "expected a column name");
                if (l->n == LK_MAX_PARTITION_COLS)
                    return bad(L, e, key, "more than %d columns", LK_MAX_PARTITION_COLS);
                if (strlen(scalar(e)) >= sizeof l->name[0])
                    return bad(L, e, key, "column name too long");
                snprintf(l->name[l->n], sizeof l->name[0], "%s", scalar(e));
                c->event.dedupe.key_line[l->n++] = (int)e->start_mark.line + 1;
            }
            have_keys = 1;
        } else if (!strcmp(name, "within")) {
            if (vn->type != YAML_SCALAR_NODE ||
                lk_config_parse_duration(scalar(vn), &c->event.dedupe.within_ms) ||
                c->event.dedupe.within_ms <= 0 || c->event.dedupe.within_ms > 86400000LL * 366)
                return bad(L, vn, key, "'%s' is not a positive duration such as \"10 minutes\"",
                           vn->type == YAML_SCALAR_NODE ? scalar(vn) : node_kind(vn));
            have_within = 1;
        } else {
            return bad(L, kn, key, "unknown key (keys or within)");
        }
    }
    if (!have_keys) return bad(L, v, "transform.dedupe.keys", "missing: dedupe needs keys");
    if (!have_within) return bad(L, v, "transform.dedupe.within", "missing: dedupe needs within");
    c->event.dedupe.set = 1;
    return 0;
}

/* ---- a running configuration's _origin: the user's file and its lines ---- */

/* Where line fields of a configuration are, in an order that depends on what it holds (its
   lists, tables, steps and items) and not on the layout of its file: the same for a
   configuration and for the running configuration written from it. */
typedef struct line_slots {
    int **at; /* NULL: only count */
    int n;
} line_slots;

static void slot(line_slots *l, int *line)
{
    if (l->at) l->at[l->n] = line;
    l->n++;
}

static void step_slots(line_slots *l, lk_config *c, lk_step_list list)
{
    for (int s = 0; s < list.n; s++) {
        lk_step *st = &c->xf.step[list.first + s];
        slot(l, &st->line);
        for (int i = 0; i < st->nitems; i++)
            slot(l, &c->xf.item[st->item0 + i].line);
    }
}

/* Every line field of c (lk_config.h: the name lists, event time and watermark, dedupe,
   metrics, derived tables, steps and their items). */
static void config_slots(line_slots *l, lk_config *c)
{
    for (int i = 0; i < NKEYS; i++)
        if (keys[i].kind == K_NAME_LIST)
            slot(l, &((lk_name_list *)((char *)c + keys[i].off))->line);
    slot(l, &c->event.event_time_line);
    slot(l, &c->event.watermark_line);
    slot(l, &c->event.dedupe.line);
    slot(l, &c->event.dedupe.keys.line);
    for (int i = 0; i < c->event.dedupe.keys.n; i++)
        slot(l, &c->event.dedupe.key_line[i]);
    slot(l, &c->metrics.line);
    slot(l, &c->metrics.window_line);
    for (int i = 0; i < c->metrics.ngroup; i++)
        slot(l, &c->metrics.group_line[i]);
    for (int i = 0; i < c->metrics.nagg; i++)
        slot(l, &c->metrics.agg_line[i]);
    for (int t = 0; t < c->tables.nderived; t++) {
        lk_derived_table *d = &c->tables.derived[t];
        slot(l, &d->line);
        slot(l, &d->from_line);
        slot(l, &d->partition_by.line);
        step_slots(l, c, d->transforms);
    }
    step_slots(l, c, c->transforms);
}

/* The line fields of c, allocated (*n of them); NULL when out of memory. */
static int **line_fields(lk_config *c, int *n)
{
    line_slots count = {NULL, 0};
    config_slots(&count, c);
    line_slots l = {calloc((size_t)count.n + 1, sizeof(int *)), 0};
    if (l.at) config_slots(&l, c);
    *n = l.n;
    return l.at;
}

/* _origin: {file: "the user's file", lines: [n, ...]} (lk_config_write). */
static int set_origin(loader *L, yaml_node_t *kn, yaml_node_t *v)
{
    if (v->type != YAML_MAPPING_NODE)
        return bad(L, v, "_origin", "expected a mapping, got %s", node_kind(v));
    int have_file = 0;
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(L->doc, p->key);
        yaml_node_t *x = yaml_document_get_node(L->doc, p->value);
        const char *name = k->type == YAML_SCALAR_NODE ? scalar(k) : "";
        if (!strcmp(name, "file") && x->type == YAML_SCALAR_NODE &&
            strlen(scalar(x)) < sizeof L->origin_file) {
            snprintf(L->origin_file, sizeof L->origin_file, "%s", scalar(x));
            have_file = 1;
        } else if (!strcmp(name, "lines") && x->type == YAML_SEQUENCE_NODE) {
            size_t n = (size_t)(x->data.sequence.items.top - x->data.sequence.items.start);
            free(L->origin_lines);
            L->origin_lines = calloc(n + 1, sizeof(int));
            if (!L->origin_lines) return lk_error_set(L->err, -ENOMEM, "out of memory");
            L->norigin = 0;
            for (yaml_node_item_t *it = x->data.sequence.items.start;
                 it < x->data.sequence.items.top; it++) {
                yaml_node_t *e = yaml_document_get_node(L->doc, *it);
                char *end = NULL;
                long line = e->type == YAML_SCALAR_NODE ? strtol(scalar(e), &end, 10) : -1;
                if (!end || *end || line < 0 || line > INT_MAX)
                    return bad(L, e, "_origin.lines", "expected a line number");
                L->origin_lines[L->norigin++] = (int)line;
            }
        } else {
            return bad(L, k, "_origin", "expected file: and lines: (written by the supervisor)");
        }
    }
    if (!have_file) return bad(L, kn, "_origin", "has no file:");
    L->origin = 1;
    return 0;
}

/* After the walk of a running configuration: its lines are the copy's; the user's go back
   in, and messages name the user's file. Lines of another shape (a copy written by another
   version of lakesupd, on a worker host) are not put back on entries they may not be of:
   messages then name the copy and its own lines, which are right for it (zeroing them would
   also lose watermark_line's "the file has transform.watermark"). */
static int apply_origin(loader *L)
{
    lk_config *c = L->cfg;
    int n = 0;
    int **at = line_fields(c, &n);
    if (!at) return lk_error_set(L->err, -ENOMEM, "out of memory");
    if (n == L->norigin) {
        for (int i = 0; i < n; i++)
            *at[i] = L->origin_lines[i];
        c->has_origin = 1;
        snprintf(c->origin, sizeof c->origin, "%s", L->origin_file);
    }
    free(at);
    return 0;
}

static int walk(loader *L, yaml_node_t *map, const char *prefix)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = yaml_document_get_node(L->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(L->doc, p->value);
        if (kn->type != YAML_SCALAR_NODE)
            return bad(L, kn, prefix[0] ? prefix : "(top)", "a key must be a scalar, got %s",
                       node_kind(kn));
        char name[256];
        snprintf(name, sizeof name, "%s%s%s", prefix, prefix[0] ? "." : "", scalar(kn));
        if (!strcmp(name, "_origin")) {
            int r = set_origin(L, kn, vn);
            if (r < 0) return r;
            continue;
        }
        int i = 0;
        while (i < NKEYS && strcmp(keys[i].name, name) != 0)
            i++;
        if (i == NKEYS && !strncmp(name, "source.kafka.", 13)) {
            int r = add_prop(L, kn, vn, name + 13); /* Auto Loader's flat kafka.* spelling */
            if (r < 0) return r;
            continue;
        }
        if (i == NKEYS && !strcmp(prefix, "tables") && vn->type == YAML_MAPPING_NODE) {
            int r = parse_derived(L, kn, vn);
            if (r < 0) return r;
            continue;
        }
        if (i == NKEYS) return bad(L, kn, name, "unknown key");
        if (L->seen[i]) return bad(L, kn, name, "duplicate key");
        L->seen[i] = 1;
        int twin = alias_twin(i);
        if (twin >= 0 && L->seen[twin])
            return bad(L, kn, name, "is %s by another name (%s is the older one): give one",
                       keys[twin].name, "source.max_record_size");
        int r;
        if (keys[i].kind == K_SECTION) {
            if (vn->type == YAML_SCALAR_NODE && vn->data.scalar.length == 0 &&
                vn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
                continue; /* "source:" with nothing under it: defaults */
            if (vn->type != YAML_MAPPING_NODE)
                return bad(L, vn, name, "expected a mapping, got %s", node_kind(vn));
            r = walk(L, vn, name);
        } else {
            r = set_value(L, &keys[i], vn);
        }
        if (r < 0) return r;
    }
    return 0;
}

static int set_value(loader *L, const key_spec *k, yaml_node_t *v)
{
    char *dst = (char *)L->cfg + k->off;
    if (k->kind == K_TRIGGER) return set_trigger(L, k, v);
    if (k->kind == K_NAME_LIST) return set_name_list(L, k, v);
    if (k->kind == K_PROPS) return set_props(L, k, v);
    if (k->kind == K_TRANSFORMS) {
        int r = parse_steps(L, k->name, v, &L->cfg->transforms);
        if (r == 0)
            L->cfg->transforms_set = 1;
        return r;
    }
    if (k->kind == K_RETENTION) return set_retention(L, k, v);
    if (k->kind == K_ALERTS) return set_alerts(L, k, v);
    if (k->kind == K_NOTIFY) return set_notify(L, k, v);
    if (k->kind == K_METRICS) return set_metrics(L, k, v);
    if (k->kind == K_DEDUPE) return set_dedupe(L, k, v);
    if (!strcmp(k->name, "transform.event_time"))
        L->cfg->event.event_time_line = (int)v->start_mark.line + 1;
    if (!strcmp(k->name, "transform.watermark"))
        L->cfg->event.watermark_line = (int)v->start_mark.line + 1;
    if (v->type != YAML_SCALAR_NODE)
        return bad(L, v, k->name, "expected a scalar, got %s", node_kind(v));
    const char *s = scalar(v);
    switch (k->kind) {
    case K_STR:
        if (strlen(s) >= k->cap)
            return bad(L, v, k->name, "too long (at most %zu bytes)", k->cap - 1);
        memcpy(dst, s, strlen(s) + 1);
        return 0;
    case K_NAME:
    case K_PATH:
        if (!*s) return bad(L, v, k->name, "must not be empty");
        if (k->kind == K_NAME && strchr(s, '/'))
            return bad(L, v, k->name, "'%s' must not contain '/'", s);
        /* catalog, schema and pipeline become folder names (warehouse/catalog/schema):
           nothing that could leave the warehouse or be hidden ("..", ".x") */
        if (k->kind == K_NAME && s[0] == '.')
            return bad(L, v, k->name, "'%s' must not start with '.'", s);
        for (const char *c = s; k->kind == K_NAME && *c; c++)
            if (!isalnum((unsigned char)*c) && !strchr("_-.", *c))
                return bad(L, v, k->name,
                           "'%s' holds 0x%02X: a name is ASCII letters, digits, '_', '-' and '.'",
                           s, (unsigned char)*c);
        if (strlen(s) >= k->cap)
            return bad(L, v, k->name, "too long (at most %zu bytes)", k->cap - 1);
        memcpy(dst, s, strlen(s) + 1);
        return 0;
    case K_ENUM: {
        size_t n = strlen(s);
        for (const char *c = k->choices; *c;) {
            const char *bar = strchr(c, '|');
            size_t len = bar ? (size_t)(bar - c) : strlen(c);
            if (len == n && !strncmp(c, s, n)) {
                memcpy(dst, s, n + 1);
                return 0;
            }
            c += len + (bar ? 1 : 0);
        }
        return bad(L, v, k->name, "'%s' is not one of %s", s, k->choices);
    }
    case K_TEXT:
        if (!strcasecmp(s, "false") && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
            s = "";
        if (!*s && !strcmp(k->name, "source.sep"))
            return bad(L, v, k->name, "must not be empty");
        if (strlen(s) >= k->cap)
            return bad(L, v, k->name, "'%s' is too long (at most %zu byte(s))", s, k->cap - 1);
        memcpy(dst, s, strlen(s) + 1);
        return 0;
    case K_DDL: {
        if (strlen(s) >= k->cap)
            return bad(L, v, k->name, "too long (at most %zu bytes)", k->cap - 1);
        lk_schema *ddl = NULL;
        lk_error e = {0};
        if (lk_ddl_parse(s, &ddl, &e))
            return bad(L, v, k->name, "%s", e.msg);
        const char *deep = NULL;
        int depth = lk_schema_depth(ddl, &deep);
        if (depth > LK_MSG_MAX_SCHEMA_DEPTH) {
            int rc = bad(L, v, k->name,
                         "column '%s' nests %d levels of types, more than the %d a record batch "
                         "carries (a deeper value fits a STRING column as its JSON text)",
                         deep, depth, LK_MSG_MAX_SCHEMA_DEPTH);
            lk_schema_destroy(&ddl);
            return rc;
        }
        lk_schema_destroy(&ddl);
        memcpy(dst, s, strlen(s) + 1);
        return 0;
    }
    case K_LOG_LEVEL:
        if (lk_log_level_parse(s) < 0)
            return bad(L, v, k->name, "'%s' is not one of debug|info|warn|error", s);
        snprintf(dst, k->cap, "%s", s);
        return 0;
    case K_BOOL:
        if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on"))
            *(int *)dst = 1;
        else if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off"))
            *(int *)dst = 0;
        else
            return bad(L, v, k->name, "'%s' is not a boolean (true or false)", s);
        return 0;
    case K_WORKERS:
        if (!strcmp(s, "auto")) {
            /* start with one; the supervisor adds more while they are the bottleneck */
            L->cfg->workers.transform_auto = 1;
            L->cfg->workers.transform = 1;
            return 0;
        }
        L->cfg->workers.transform_auto = 0;
        __attribute__((fallthrough)); /* a count */
    case K_INT:
    case K_INT64: {
        int64_t x;
        if (parse_int64(s, &x) < 0) return bad(L, v, k->name, "'%s' is not an integer", s);
        if (x < k->min || x > k->max)
            return bad(L, v, k->name, "%lld is out of range [%lld, %lld]", (long long)x,
                       (long long)k->min, (long long)k->max);
        if (k->kind == K_INT)
            *(int *)dst = (int)x;
        else
            *(int64_t *)dst = x;
        return 0;
    }
    case K_DURATION: {
        int64_t ms;
        if (lk_config_parse_duration(s, &ms))
            return bad(L, v, k->name, "'%s' is not a duration such as \"30s\" or \"5 minutes\"", s);
        if (ms < k->min || ms > k->max)
            return bad(L, v, k->name, "%lld ms is out of range [%lld, %lld] ms", (long long)ms,
                       (long long)k->min, (long long)k->max);
        *(int64_t *)dst = ms;
        return 0;
    }
    default:
        return bad(L, v, k->name, "internal: unhandled kind");
    }
}

/* Defaults that depend on other keys: schema_evolution_mode is
   add_new_columns without a user schema, rescue with one (Auto Loader). */
static void lk_config_resolve(lk_config *cfg)
{
    if (!cfg->source.schema_evolution_mode[0])
        snprintf(cfg->source.schema_evolution_mode, sizeof cfg->source.schema_evolution_mode,
                 "%s", cfg->source.schema_ddl[0] ? "rescue" : "add_new_columns");
}

/* Discovery keys that depend on each other or need parsing beyond their kind. */
static int check_discovery(const lk_config *c, const char *path, lk_error *err)
{
    int64_t us;
    if (c->source.modified_after[0] &&
        lk_time_parse_iso(c->source.modified_after, strlen(c->source.modified_after), &us))
        return lk_error_set(err, LK_ECONFIG,
                            "%s: source.modified_after: '%s' is not an ISO timestamp such as "
                            "\"2026-11-24T09:30:00Z\"",
                            path, c->source.modified_after);
    if (c->source.modified_before[0] &&
        lk_time_parse_iso(c->source.modified_before, strlen(c->source.modified_before), &us))
        return lk_error_set(err, LK_ECONFIG,
                            "%s: source.modified_before: '%s' is not an ISO timestamp such as "
                            "\"2026-11-24T09:30:00Z\"",
                            path, c->source.modified_before);
    if (!strcmp(c->source.clean_source, "move") && !c->source.clean_source_move_destination[0])
        return lk_error_set(err, LK_ECONFIG,
                            "%s: source.clean_source is move but "
                            "source.clean_source_move_destination is not set",
                            path);
    /* a destination inside the source would be listed again */
    size_t n = strlen(c->source_path);
    while (n > 1 && c->source_path[n - 1] == '/')
        n--;
    const char *dst = c->source.clean_source_move_destination;
    if (!strcmp(c->source.clean_source, "move") && !strncmp(dst, c->source_path, n) &&
        (dst[n] == '/' || dst[n] == 0))
        return lk_error_set(err, LK_ECONFIG,
                            "%s: source.clean_source_move_destination '%s' is inside source_path "
                            "'%s' (moved files would be discovered again)",
                            path, dst, c->source_path);
    return 0;
}

/* monitor.http: host:port; any address but loopback needs auth_token. */
static int check_monitor(const lk_config *c, const char *path, lk_error *err)
{
    if (!c->monitor.http[0])
        return 0;
    char host[256];
    int port;
    if (lk_config_http_addr(c->monitor.http, host, sizeof host, &port))
        return lk_error_set(err, LK_ECONFIG,
                            "%s: monitor.http: '%s' is not host:port such as \"127.0.0.1:9187\"",
                            path, c->monitor.http);
    if (!lk_config_host_loopback(host) && !c->monitor.auth_token[0])
        return lk_error_set(err, LK_ECONFIG,
                            "%s: monitor.http: '%s' is not a loopback address: set "
                            "monitor.auth_token (clients send it as a bearer token)",
                            path, c->monitor.http);
    return 0;
}

int lk_config_load(const char *path, lk_config *cfg, lk_error *err)
{
    lk_config_defaults(cfg);
    if (!path) return 0;
    const char *file = path;                     /* path becomes the user's file past the walk */
    cfg->source.schema_evolution_mode[0] = '\0'; /* set by the file or lk_config_resolve */
    snprintf(cfg->file, sizeof cfg->file, "%s", path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return lk_error_set(err, LK_ECONFIG, "%s: cannot open config file: %s", path,
                            strerror(errno));
    yaml_parser_t parser;
    yaml_document_t doc;
    int r = 0;
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        return lk_error_set(err, -ENOMEM, "%s: cannot initialise the YAML parser", path);
    }
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        r = lk_error_set(err, LK_ECONFIG, "%s:%zu: YAML syntax error: %s%s%s", path,
                         parser.problem_mark.line + 1, parser.problem ? parser.problem : "?",
                         parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        fclose(f);
        return r;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root) {
        loader L = {.cfg = cfg, .doc = &doc, .err = err};
        if (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)
            r = 0; /* a file with only comments */
        else if (root->type != YAML_MAPPING_NODE)
            r = lk_error_set(err, LK_ECONFIG, "%s:%zu: the top level must be a mapping, got %s",
                             path, root->start_mark.line + 1, node_kind(root));
        else if ((r = duplicate_keys(&L, root, "", 0)) == 0)
            r = walk(&L, root, "");
        if (r == 0 && L.origin) r = apply_origin(&L);
        free(L.origin_lines);
    }
    yaml_document_delete(&doc);
    /* a second document is a mistake, not something to ignore */
    if (r == 0) {
        yaml_document_t more;
        if (yaml_parser_load(&parser, &more)) {
            if (yaml_document_get_root_node(&more))
                r = lk_error_set(err, LK_ECONFIG, "%s: more than one YAML document", path);
            yaml_document_delete(&more);
        }
    }
    yaml_parser_delete(&parser);
    fclose(f);
    if (r == 0)
        lk_config_resolve(cfg);
    /* from here on, what is wrong is in what the user wrote: their file and lines (a running
       configuration's _origin), not the copy's */
    if (r == 0) path = lk_config_file_name(cfg);
    if (r == 0)
        r = check_discovery(cfg, path, err);
    if (r == 0)
        r = check_derived(cfg, path, err);
    if (r == 0)
        r = check_monitor(cfg, path, err);
    if (r == 0 && cfg->source.shard.index >= cfg->source.shard.count)
        r = lk_error_set(err, LK_ECONFIG,
                         "%s: key 'source.shard.index': %d is not below source.shard.count (%d)",
                         path, cfg->source.shard.index, cfg->source.shard.count);
    if (r == 0 && cfg->source.group_id[0] && strcmp(cfg->source.format, "kafka"))
        r = lk_error_set(err, LK_ECONFIG, "%s: key 'source.group_id' is for format: kafka", path);
    if (r == 0 && cfg->workers.remote.bind[0] && strncmp(cfg->workers.remote.bind, "tcp://", 6))
        r = lk_error_set(err, LK_ECONFIG,
                         "%s: key 'workers.remote.bind': '%s' is not a tcp:// endpoint", path,
                         cfg->workers.remote.bind);
    if (r == 0 && cfg->workers.remote.bind[0] && !cfg->workers.remote.allowed_keys[0])
        r = lk_error_set(err, LK_ECONFIG,
                         "%s: key 'workers.remote.allowed_keys' is required with "
                         "workers.remote.bind (a directory of public keys from `lakesupd keygen`)",
                         path);
    /* remote transforms have no window state (state.db's `windows`): the
       watermark of a batch is read there (docs/decisions.md, "Remote workers") */
    if (r == 0 && cfg->workers.remote.bind[0] && cfg->metrics.set)
        r = lk_error_set(err, LK_ECONFIG,
                         "%s: key 'workers.remote.bind': remote transforms cannot compute metrics: "
                         "(the windows' state is local to the pipeline host); drop one of them",
                         path);
    /* nor dedupe: a replayed batch's drop list is read from state.db too */
    if (r == 0 && cfg->workers.remote.bind[0] && cfg->event.dedupe.set)
        r = lk_error_set(err, LK_ECONFIG,
                         "%s:%d: key 'transform.dedupe': remote transforms cannot drop duplicates "
                         "(the drop lists are in the pipeline host's state.db) and "
                         "workers.remote.bind is set; drop one of them",
                         path, cfg->event.dedupe.line);
    if (r == 0 && cfg->metrics.set && !cfg->event.event_time[0])
        r = lk_error_set(err, LK_ECONFIG,
                         "%s:%d: key 'metrics': the windows need an event time: set "
                         "transform.event_time (and transform.watermark)",
                         path, cfg->metrics.line);
    if (r == 0 && cfg->event.dedupe.set && !cfg->event.event_time[0])
        r = lk_error_set(err, LK_ECONFIG,
                         "%s:%d: key 'transform.dedupe': dropping duplicates within the watermark "
                         "needs an event time: set transform.event_time (and transform.watermark)",
                         path, cfg->event.dedupe.line);
    if (r == 0 && cfg->event.dedupe.set && !cfg->event.watermark_line)
        r = lk_error_set(err, LK_ECONFIG,
                         "%s:%d: key 'transform.dedupe': dropping duplicates within the watermark "
                         "needs one: set transform.watermark (the allowed lateness, e.g. \"30 "
                         "seconds\")",
                         path, cfg->event.dedupe.line);
    if (r < 0) { /* never half a file: back to defaults */
        lk_config_defaults(cfg);
        snprintf(cfg->file, sizeof cfg->file, "%s", file);
    }
    return r;
}

/* ---- the running configuration: written for workers, reloaded on SIGHUP ---- */

/* Keys workers read at each use (never copied at start), so a new value is
   right from the next poll: rates and discovery timings (docs/operations.md).
   Filters that decide which files exist (path_glob_filter, modified_*),
   formats and paths need a restart. */
static const char *const live_keys[] = {"log_level", "worker_timeout", "stop_timeout",
                                        /* the supervisor scales the tree to them; writers
                                           follow workers.transform (lk_writer) */
                                        "workers.transform", "workers.writer",
                                        "workers.max_transform", "log_format",
                                        "source.max_files_per_trigger",
                                        "source.max_bytes_per_trigger",
                                        "source.max_offsets_per_trigger",
                                        "source.backfill_interval",
                                        "source.file_ready_delay",
                                        "source.max_file_age",
                                        "monitor.progress_retention",
                                        "monitor.batch_deadline",
                                        "alerts",
                                        "notify"};

static int is_live(const char *name)
{
    for (size_t i = 0; i < sizeof live_keys / sizeof live_keys[0]; i++)
        if (!strcmp(live_keys[i], name))
            return 1;
    return 0;
}

static void yaml_quoted(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s < 0x20)
            fprintf(f, "\\x%02x", (unsigned char)*s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

/* One step as a YAML flow mapping on one line. */
static void emit_step(const lk_config *cfg, const lk_step *st, FILE *f, int indent)
{
    fprintf(f, "%*s- {%s: ", indent, "", step_names[st->kind]);
    const lk_step_item *it = &cfg->xf.item[st->item0];
    switch (st->kind) {
    case LK_STEP_FILTER: yaml_quoted(f, lk_config_xf_text(cfg, it[0].text)); break;
    case LK_STEP_DERIVE:
    case LK_STEP_RENAME:
    case LK_STEP_CAST:
        fputc('{', f);
        for (int i = 0; i < st->nitems; i++) {
            fputs(i ? ", " : "", f);
            yaml_quoted(f, lk_config_xf_text(cfg, it[i].name));
            fputs(": ", f);
            yaml_quoted(f, lk_config_xf_text(cfg, it[i].text));
        }
        fputc('}', f);
        break;
    default:
        fputc('[', f);
        for (int i = 0; i < st->nitems; i++) {
            fputs(i ? ", " : "", f);
            yaml_quoted(f, lk_config_xf_text(cfg, it[i].text));
        }
        fputc(']', f);
        break;
    }
    if (st->on_error != LK_ON_ERROR_NULL)
        fprintf(f, ", on_error: %s", st->on_error == LK_ON_ERROR_QUARANTINE ? "quarantine" : "rescue");
    if (st->optional)
        fputs(", optional: true", f);
    if (st->after >= 0) {
        fputs(", after: ", f);
        yaml_quoted(f, lk_config_xf_text(cfg, st->after));
    }
    fputs("}\n", f);
}

static void emit_steps(const lk_config *cfg, lk_step_list l, FILE *f, int indent)
{
    for (int i = 0; i < l.n; i++)
        emit_step(cfg, &cfg->xf.step[l.first + i], f, indent);
}

static void emit_names(FILE *f, const lk_name_list *l)
{
    fputc('[', f);
    for (int j = 0; j < l->n; j++) {
        if (j)
            fputs(", ", f);
        yaml_quoted(f, l->name[j]);
    }
    fputc(']', f);
}

/* The derived tables and the transforms, as emit() writes them. */
static void emit_xf(const lk_config *cfg, FILE *f)
{
    for (int t = 0; t < cfg->tables.nderived; t++) {
        const lk_derived_table *d = &cfg->tables.derived[t];
        fprintf(f, "  %s:\n    from: ", d->name);
        yaml_quoted(f, d->from);
        fputs("\n    partition_by: ", f);
        emit_names(f, &d->partition_by);
        fputs("\n    transforms:", f);
        fputs(d->transforms.n ? "\n" : " []\n", f);
        emit_steps(cfg, d->transforms, f, 6);
    }
    fprintf(f, "transforms:%s\n", cfg->transforms.n ? "" : " []");
    emit_steps(cfg, cfg->transforms, f, 2);
}

/* metrics: as set_metrics reads it (nothing without the key). */
static void emit_metrics(const lk_metrics_cfg *m, FILE *f)
{
    if (!m->set) return;
    fputs("metrics:\n  window: ", f);
    if (m->window == LK_WINDOW_SESSION)
        fprintf(f, "{session_gap: \"%lld ms\"}\n", (long long)m->gap_ms);
    else if (m->window == LK_WINDOW_SLIDING)
        fprintf(f, "{size: \"%lld ms\", slide: \"%lld ms\"}\n", (long long)m->size_ms,
                (long long)m->slide_ms);
    else
        fprintf(f, "\"%lld ms\"\n", (long long)m->size_ms);
    fputs("  group_by: [", f);
    for (int i = 0; i < m->ngroup; i++) {
        fputs(i ? ", " : "", f);
        yaml_quoted(f, m->group_by[i]);
    }
    fputs("]\n  aggregates:\n", f);
    for (int i = 0; i < m->nagg; i++) {
        fputs("    ", f);
        yaml_quoted(f, m->agg_name[i]);
        fputs(": ", f);
        yaml_quoted(f, m->agg_expr[i]);
        fputc('\n', f);
    }
    fprintf(f, "  output_mode: %s\n", m->output_mode);
}

/* Every key of cfg as YAML (the running configuration, `config show`). */
static void emit(const lk_config *cfg, FILE *f)
{
    for (int i = 0; i < NKEYS; i++) {
        const key_spec *k = &keys[i];
        if (is_older_name(k->name))
            continue; /* written under its new name */
        const char *dot = strrchr(k->name, '.');
        const char *leaf = dot ? dot + 1 : k->name;
        int depth = 0;
        for (const char *c = k->name; *c; c++)
            depth += *c == '.';
        const char *src = (const char *)cfg + k->off;
        if (k->kind == K_TRANSFORMS) { /* the derived tables end the tables: section */
            emit_xf(cfg, f);
            continue;
        }
        if (k->kind == K_METRICS) {
            emit_metrics(&cfg->metrics, f);
            continue;
        }
        if (k->kind == K_DEDUPE) {
            if (!cfg->event.dedupe.set) continue;
            fputs("  dedupe: {keys: [", f);
            for (int j = 0; j < cfg->event.dedupe.keys.n; j++) {
                fputs(j ? ", " : "", f);
                yaml_quoted(f, cfg->event.dedupe.keys.name[j]);
            }
            fprintf(f, "], within: \"%lld ms\"}\n", (long long)cfg->event.dedupe.within_ms);
            continue;
        }
        fprintf(f, "%*s%s:", depth * 2, "", leaf);
        if (k->kind == K_SECTION) {
            fputc('\n', f);
            continue;
        }
        fputc(' ', f);
        switch (k->kind) {
        case K_TRIGGER:
            if (cfg->trigger == LK_TRIGGER_PROCESSING_TIME)
                fprintf(f, "{processing_time: \"%lld ms\"}", (long long)cfg->processing_time_ms);
            else if (cfg->trigger == LK_TRIGGER_FRESHNESS)
                fprintf(f, "{freshness: \"%lld ms\"}", (long long)cfg->freshness_ms);
            else
                fprintf(f, "%s", cfg->trigger == LK_TRIGGER_AVAILABLE_NOW ? "available_now"
                                                                         : "continuous");
            break;
        case K_INT: fprintf(f, "%d", *(const int *)src); break;
        case K_WORKERS:
            /* the count running now: workers (a writer's links) need the number,
               the supervisor keeps "auto" to itself */
            fprintf(f, "%d", *(const int *)src);
            break;
        case K_INT64: fprintf(f, "%lld", (long long)*(const int64_t *)src); break;
        case K_DURATION: fprintf(f, "\"%lld ms\"", (long long)*(const int64_t *)src); break;
        case K_BOOL: fprintf(f, "%s", *(const int *)src ? "true" : "false"); break;
        case K_NAME_LIST: emit_names(f, (const lk_name_list *)src); break;
        case K_PROPS: {
            fputc('{', f);
            int first = 1;
            char name[256], val[1024];
            for (const char *line = src; lk_config_prop_next(&line, name, val);) {
                fputs(first ? "" : ", ", f);
                yaml_quoted(f, name);
                fputs(": ", f);
                yaml_quoted(f, val);
                first = 0;
            }
            fputc('}', f);
            break;
        }
        case K_RETENTION: {
            char d[64] = "";
            const lk_config *c = cfg;
            if (c->monitor.progress_retention.ms > 0)
                lk_config_format_duration(c->monitor.progress_retention.ms, d, sizeof d);
            if (c->monitor.progress_retention.batches > 0)
                fprintf(f, "\"%s%s%lld batches\"", d, d[0] ? " or " : "",
                        (long long)c->monitor.progress_retention.batches);
            else
                fprintf(f, "\"%s\"", d);
            break;
        }
        case K_ALERTS: {
            fputc('[', f);
            for (int j = 0; j < cfg->alerts.n; j++) {
                const lk_alert_rule *r = &cfg->alerts.rule[j];
                fputs(j ? ", {name: " : "{name: ", f);
                yaml_quoted(f, r->name);
                fputs(", when: ", f);
                yaml_quoted(f, r->when);
                fprintf(f, ", for: \"%lld ms\", severity: ", (long long)r->for_ms);
                yaml_quoted(f, r->severity);
                fputs(", summary: ", f);
                yaml_quoted(f, r->summary);
                fputc('}', f);
            }
            fputc(']', f);
            break;
        }
        case K_NOTIFY: {
            fputc('[', f);
            for (int j = 0; j < cfg->notify.n; j++) {
                const lk_notify_target *t = &cfg->notify.to[j];
                fputs(j ? ", {" : "{", f);
                if (t->kind == LK_NOTIFY_LOG) {
                    fputs("log: true}", f);
                    continue;
                }
                fputs(t->kind == LK_NOTIFY_WEBHOOK ? "webhook: " : "exec: ", f);
                yaml_quoted(f, t->target);
                fputc('}', f);
            }
            fputc(']', f);
            break;
        }
        default: yaml_quoted(f, src); break;
        }
        fputc('\n', f);
    }
}

int lk_config_print(const lk_config *cfg, FILE *f)
{
    emit(cfg, f);
    return fflush(f) == 0 ? 0 : -errno;
}

int lk_config_write(const lk_config *cfg, const char *path, lk_error *err)
{
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return lk_error_errno(err, -errno, "cannot write %s", tmp);
    fprintf(f, "# the running configuration (written by the supervisor for its workers)\n");
    emit(cfg, f);
    /* the lines here are not the user's: messages name the user's file and its lines */
    int n = 0;
    int **at = line_fields((lk_config *)cfg, &n); /* only read */
    fputs("# where the user wrote each entry, for messages\n_origin:\n  file: ", f);
    yaml_quoted(f, cfg->has_origin ? cfg->origin : cfg->file);
    fputs("\n  lines: [", f);
    for (int i = 0; at && i < n; i++)
        fprintf(f, "%s%d", i ? ", " : "", *at[i]);
    fputs("]\n", f);
    free(at);
    int rc = 0;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        rc = lk_error_errno(err, -errno, "cannot write %s", tmp);
    if (fclose(f) != 0 && rc == 0)
        rc = lk_error_errno(err, -errno, "cannot write %s", tmp);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = lk_error_errno(err, -errno, "cannot rename %s to %s", tmp, path);
    if (rc)
        unlink(tmp);
    return rc;
}

static void name_list(char *out, size_t cap, const char *name)
{
    size_t n = strlen(out);
    snprintf(out + n, cap - n, "%s%s", n ? ", " : "", name);
}

int lk_config_apply_live(lk_config *running, const lk_config *fresh, char *applied,
                         size_t applied_cap, char *refused, size_t refused_cap)
{
    applied[0] = refused[0] = '\0';
    int n = 0;
    for (int i = 0; i < NKEYS; i++) {
        const key_spec *k = &keys[i];
        if (k->kind == K_SECTION)
            continue;
        int differs;
        if (k->kind == K_TRIGGER)
            /* `start --trigger` overrides the file: the trigger is not compared */
            continue;
        if (k->kind == K_TRANSFORMS) {
            /* the steps and the derived tables: compared as the YAML they print as */
            char *a = NULL, *b = NULL;
            size_t an = 0, bn = 0;
            FILE *fa = open_memstream(&a, &an), *fb = open_memstream(&b, &bn);
            if (fa && fb) {
                emit_xf(running, fa);
                emit_xf(fresh, fb);
            }
            if (fa)
                fclose(fa);
            if (fb)
                fclose(fb);
            if (a && b && (an != bn || memcmp(a, b, an)))
                name_list(refused, refused_cap, "transforms/tables");
            free(a);
            free(b);
            continue;
        }
        char *dst = (char *)running + k->off;
        const char *src = (const char *)fresh + k->off;
        int text = k->kind == K_NAME || k->kind == K_PATH || k->kind == K_ENUM ||
                   k->kind == K_LOG_LEVEL || k->kind == K_TEXT || k->kind == K_DDL ||
                   k->kind == K_STR || k->kind == K_PROPS;
        if (k->kind == K_NAME_LIST) { /* the names, not where the file has them */
            const lk_name_list *x = (const lk_name_list *)dst, *y = (const lk_name_list *)src;
            differs = x->n != y->n;
            for (int j = 0; j < x->n && !differs; j++)
                differs = strcmp(x->name[j], y->name[j]) != 0;
        } else {
            differs = text ? strncmp(dst, src, k->cap) != 0 : memcmp(dst, src, k->cap) != 0;
        }
        if (!differs)
            continue;
        if (is_live(k->name)) {
            memcpy(dst, src, k->cap);
            name_list(applied, applied_cap, k->name);
            n++;
        } else {
            name_list(refused, refused_cap, k->name);
        }
    }
    return n;
}

const char *lk_config_file_name(const lk_config *cfg)
{
    const char *f = cfg->has_origin ? cfg->origin : cfg->file;
    return f[0] ? f : "(built-in default)";
}

const char *lk_config_at(const lk_config *cfg, int line, char *buf, size_t cap)
{
    if (line > 0)
        snprintf(buf, cap, "%s:%d", lk_config_file_name(cfg), line);
    else
        snprintf(buf, cap, "%s", lk_config_file_name(cfg));
    return buf;
}

const lk_name_list *lk_config_partition_by(const lk_config *cfg, const char *table)
{
    if (!strcmp(table, "raw_events"))
        return &cfg->tables.raw_events.partition_by;
    if (!strcmp(table, "processed_events"))
        return &cfg->tables.processed_events.partition_by;
    const lk_derived_table *t = lk_config_derived(cfg, table);
    return t ? &t->partition_by : NULL;
}

int lk_config_partition_cols(const lk_config *cfg, const char *table, const char **cols)
{
    const lk_name_list *pb = lk_config_partition_by(cfg, table);
    int n = pb ? pb->n : 0;
    for (int k = 0; k < n; k++)
        cols[k] = pb->name[k];
    return n;
}
