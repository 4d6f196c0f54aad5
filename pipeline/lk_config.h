/*
 * lk_config — lakesup.yml: one YAML file (libyaml) with a default for every
 * key, so `lakesupd start` with no file runs on ./incoming.
 *
 * An unknown key, a wrong type or a bad value fails with the file, line and
 * key named, before any worker starts. lk_config is a plain data struct:
 * read it freely; only lk_config_load() fills it.
 *
 *   pipeline: lakesupd            # name; also the appId prefix of txn actions
 *   catalog: main
 *   schema: streaming
 *   source_path: ./incoming
 *   checkpoint_path: ./checkpoints
 *   warehouse_path: ./lakehouse
 *   trigger: continuous           # | available_now | {processing_time: "5 minutes"} | {freshness: "5s"}
 *   log_level: info
 *   worker_timeout: 30s           # a worker silent this long is killed and restarted
 *   stop_timeout: 30s             # a graceful stop ends with SIGKILL after this
 *   workers: {transform: 2, writer: 2}
 *   source:
 *     format: json
 *     max_files_per_trigger: 1000
 *     max_bytes_per_trigger: 0    # 0 = no limit (soft)
 *     chunk_bytes: 2097152
 *     include_existing_files: true
 *     schema_inference_sample_bytes: 67108864
 *     schema_inference_sample_size: 1000   # files
 *     infer_column_types: true
 *     schema_evolution_mode: add_new_columns  # (rescue when `schema` is given)
 *     schema_hints: ""              # "ts TIMESTAMP, amount DECIMAL(10,2)"
 *     schema: ""                    # a full user schema in DDL (no inference)
 *     rescued_data_column: _rescued_data   # "" or false: none
 *     mode: PERMISSIVE              # | DROPMALFORMED | FAILFAST
 *     # format: kafka only (docs/sources.md):
 *     bootstrap_servers: ""        # host:port,...
 *     subscribe: []                # topics, or subscribe_pattern: "^events-.*"
 *     starting_offsets: earliest   # | latest | '{"topic":{"0":23,"1":-2}}'
 *     max_offsets_per_trigger: 0   # 0 = no limit
 *     value_format: json
 *     fail_on_data_loss: true
 *     kafka: {security.protocol: SASL_SSL}  # or kafka.security.protocol: ...
 *     use_notifications: true     # discovery: see docs/sources.md "Discovery"
 *     backfill_interval: 1 minute
 *     file_ready_delay: 100ms
 *     path_glob_filter: ""        # fnmatch on the name; "" = *.json, *.jsonl, *.ndjson
 *     modified_after: ""          # / modified_before: ISO timestamps
 *     max_file_age: 0             # 0 = no limit
 *     allow_overwrites: false
 *     clean_source: off           # | delete | move (clean_source_move_destination)
 *     clean_source_retention_duration: 30 days
 *   monitor:
 *     http: ""                    # "127.0.0.1:9187": the HTTP endpoint (off when empty)
 *     auth_token: ""              # bearer token; required for a non-loopback address
 *     progress_retention: 7 days or 10000 batches
 *     batch_deadline: 5 minutes   # /healthz: uncommitted input older than this is unhealthy
 *   alerts:                       # rules the monitor evaluates (docs/operations.md)
 *     - {name: backlog, when: "backlog_seconds > 300", for: 2 minutes, severity: warning}
 *   notify:                       # where alert state changes go
 *     - webhook: "http://127.0.0.1:9093/api/v2/alerts"
 *     - exec: /usr/local/bin/page-oncall
 *     - log: true
 *   tables:
 *     compression: zstd
 *     zstd_level: 3
 *     zstd_adaptive: true         # a column's pages may go at zstd_level - 1 or - 2 where no larger
 *     target_file_size: 134217728
 *     row_group_bytes: 8388608    # row groups cut at this many buffered (uncompressed) bytes
 *     compaction:
 *       min_files: 50             # auto-compaction once a table has more small files (0 = off)
 *     processed_events:
 *       partition_by: [event_date]  # Hive-style partitions (raw_events: too)
 *     purchases:                    # a derived table (any other name)
 *       from: processed_events      # raw_events, processed_events or another derived table
 *       transforms: [...]           # as below
 *       partition_by: [event_date]
 *   transforms:                     # raw_events → processed_events (README, "Transforms")
 *     - filter: "event_type <> 'heartbeat'"
 *     - derive: {amount_eur: "round(amount * 0.92, 2)"}
 *       on_error: quarantine        # null (default) | quarantine | rescue
 *     - select: [event_id, "amount_eur AS eur"]
 *     - drop: [message]
 *     - rename: {country: country_code}
 *     - cast: {user_id: string}
 *     - flatten: "*"                # every struct column one level (a_b), or [cols]
 *   Without `transforms:` the default list below (lk_config_defaults) is
 *   today's silver; `lakesupd config show` prints it.
 */
#ifndef LK_CONFIG_H
#define LK_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "lk_error.h"

typedef enum lk_trigger {
    LK_TRIGGER_CONTINUOUS = 0,
    LK_TRIGGER_AVAILABLE_NOW = 1,
    LK_TRIGGER_PROCESSING_TIME = 2,
    LK_TRIGGER_FRESHNESS = 3, /* {freshness: D}: batches as large as the objective allows */
} lk_trigger;

#define LK_MAX_PARTITION_COLS 4
#define LK_MAX_ALERTS 32
#define LK_MAX_NOTIFY 8

/* What an alert rule's `when` compares: "metric op number". */
typedef enum lk_alert_op {
    LK_OP_GT = 0,
    LK_OP_GE,
    LK_OP_LT,
    LK_OP_LE,
    LK_OP_EQ,
    LK_OP_NE,
} lk_alert_op;

/* The metrics an alert rule may name (docs/operations.md, "Alerts"); the
   monitor computes each of them on its own clock. */
#define LK_ALERT_METRICS                                                                           \
    "backlog_seconds|backlog_bytes|backlog_files|backlog_records|seconds_since_last_commit|"      \
    "corrupt_ratio|rescued_ratio|worker_restarts_15m|workers_down|latency_p99_seconds|"           \
    "watermark_lag_seconds"

typedef struct lk_alert_rule {
    char name[64];
    char when[160];   /* as written */
    char metric[40];  /* parsed from when: one of LK_ALERT_METRICS */
    lk_alert_op op;
    double threshold;
    int64_t for_ms;   /* true this long before it fires (0: at once) */
    char severity[16]; /* default "warning" */
    char summary[256]; /* annotation; "" = generated */
} lk_alert_rule;

typedef enum lk_notify_kind {
    LK_NOTIFY_WEBHOOK = 1, /* Alertmanager API v2 (POST a JSON array of alerts) */
    LK_NOTIFY_EXEC = 2,    /* a program that gets the notice as JSON on stdin */
    LK_NOTIFY_LOG = 3,     /* one log line per notice */
} lk_notify_kind;

typedef struct lk_notify_target {
    lk_notify_kind kind;
    char target[1024]; /* URL or program path ("" for log) */
} lk_notify_target;
/* A list of column names (partition_by). */
typedef struct lk_name_list {
    int n;
    char name[LK_MAX_PARTITION_COLS][128];
    int line; /* of the list in the file, 0 when not given there */
} lk_name_list;

/* ---- transforms (README "Transforms"): steps over a table's rows ---- */
#define LK_MAX_STEPS 128       /* steps in all lists */
#define LK_MAX_STEP_ITEMS 512  /* derive/select/... entries in all lists */
#define LK_XF_TEXT 65536       /* bytes of names and expressions in all lists */
#define LK_MAX_DERIVED 8       /* tables: entries besides raw_events/processed_events */

typedef enum lk_step_kind {
    LK_STEP_FILTER = 1,
    LK_STEP_DERIVE,
    LK_STEP_SELECT,
    LK_STEP_DROP,
    LK_STEP_RENAME,
    LK_STEP_CAST,
    LK_STEP_FLATTEN,
} lk_step_kind;

typedef enum lk_on_error {
    LK_ON_ERROR_NULL = 0,   /* Spark without ANSI: a failed value is null */
    LK_ON_ERROR_QUARANTINE, /* the row goes to the quarantine table instead */
    LK_ON_ERROR_RESCUE,     /* null, and the old value kept in _rescued_data */
} lk_on_error;

/* One entry of a step: derive name: expr, rename name: text (the new
   name), cast name: text (the type), select/drop/flatten/filter: text. */
typedef struct lk_step_item {
    int name;  /* offset in lk_config.xf.text, or -1 */
    int text;  /* offset in lk_config.xf.text */
    int line;  /* 1-based YAML line, 0 for a built-in default */
} lk_step_item;

typedef struct lk_step {
    lk_step_kind kind;
    lk_on_error on_error;
    int optional; /* a step that does not compile against the schema is skipped */
    int after;    /* derive: offset of the column new ones follow, or -1 */
    int line;
    int item0, nitems;
} lk_step;

/* A list of steps: lk_config.xf.step[first .. first+n). */
typedef struct lk_step_list {
    int first, n;
} lk_step_list;

typedef struct lk_derived_table {
    char name[128];
    char from[128];
    lk_step_list transforms;
    lk_name_list partition_by;
    int line, from_line; /* of the table's key, of its from: */
} lk_derived_table;

/* ---- event time and the gold table event_metrics (issue 12) ---- */
#define LK_MAX_GROUP_BY 16
#define LK_MAX_AGGREGATES 32
typedef enum { LK_WINDOW_TUMBLING = 0, LK_WINDOW_SLIDING, LK_WINDOW_SESSION } lk_window_kind;
typedef struct lk_metrics_cfg {
    int set;                 /* the file has a metrics: key */
    int line;                /* of metrics: */
    lk_window_kind window;
    int64_t size_ms, slide_ms, gap_ms; /* tumbling: size = slide */
    int window_line;
    int ngroup;
    char group_by[LK_MAX_GROUP_BY][256]; /* expressions */
    int group_line[LK_MAX_GROUP_BY];
    int nagg;
    char agg_name[LK_MAX_AGGREGATES][128];
    char agg_expr[LK_MAX_AGGREGATES][256];
    int agg_line[LK_MAX_AGGREGATES];
    char output_mode[16]; /* append | update */
} lk_metrics_cfg;

typedef struct lk_config {
    char file[1024]; /* the file read, or "" for built-in defaults */
    /* a running configuration (lk_config_write) names the user's file it was made from, and
       its lines are put back to that file's: messages name where the user wrote a key
       (lk_config_file_name, lk_config_at), not the copy the workers read */
    int has_origin;
    char origin[1024]; /* the user's file, "" for built-in defaults */
    char pipeline[128];
    char catalog[128];
    char schema[128];
    char source_path[1024];
    char checkpoint_path[1024];
    char warehouse_path[1024];
    lk_trigger trigger;
    int64_t processing_time_ms;
    int64_t freshness_ms; /* trigger {freshness}: the objective, input file close -> commit */
    char log_level[16];
    int64_t worker_timeout_ms; /* no heartbeat for this long: killed and restarted */
    int64_t stop_timeout_ms;   /* graceful stop: SIGKILL after this long */
    char log_format[8]; /* text | json (journald gets each line's level as its priority) */
    struct {
        int transform;      /* the count now (auto: where it starts, and the running count) */
        int writer;
        int transform_auto; /* workers.transform: auto (the supervisor scales between 1 and max) */
        int max_transform;  /* auto's upper bound; 0 = the host's cores */
        int shared_memory;  /* large messages between workers of this host go through slabs */
        struct {
            char bind[256];          /* "tcp://0.0.0.0:7700": remote transforms join here; "" = off */
            char allowed_keys[1024]; /* directory of the public keys (lakesupd keygen) let in */
            char key[1024];          /* the server's key pair ("" = <checkpoint>/remote/server.key) */
        } remote;
    } workers;
    struct {
        char format[16];
        int max_files_per_trigger;
        int64_t max_bytes_per_trigger;
        int64_t chunk_bytes;
        int include_existing_files;
        int chunks_by_reference; /* a local transform reads a chunk's bytes from the file */
        int64_t schema_inference_sample_bytes;
        int schema_inference_sample_size; /* files sampled for inference */
        int infer_column_types;           /* false: every inferred column STRING */
        char schema_evolution_mode[32];   /* add_new_columns|rescue|fail_on_new_columns|none */
        char schema_hints[4096];          /* Spark DDL: "ts TIMESTAMP, amount DECIMAL(10,2)" */
        char schema_ddl[8192];            /* `schema:` a full user schema in DDL, or "" */
        char rescued_data_column[128];    /* "" = no rescued data column */
        char mode[16];                    /* PERMISSIVE|DROPMALFORMED|FAILFAST */
        /* formats (docs/sources.md "Formats"): CSV options are one byte */
        int multi_line;          /* json: whole-file documents / arrays */
        int header;              /* csv: the first line names the columns */
        char sep[2], quote[2], escape[2]; /* csv; "" quote = no quoting */
        char null_value[64];     /* csv: this text is null (default "") */
        char comment[2];         /* csv: lines starting with it are skipped ("" = none) */
        int64_t max_record_size; /* longer records → _corrupt_record */
        /* format: kafka (docs/sources.md "## Kafka") */
        char bootstrap_servers[512];
        lk_name_list subscribe;        /* topics; or subscribe_pattern */
        char subscribe_pattern[256];   /* a regex (librdkafka "^..." subscription) */
        char starting_offsets[1024];   /* earliest | latest | {"topic":{"0":23,"1":-2}} */
        int64_t max_offsets_per_trigger; /* 0 = no limit */
        char value_format[16];         /* json */
        int fail_on_data_loss;
        char kafka_props[2048];        /* kafka.* keys: "name=value\n" lines for librdkafka */
        char group_id[256];            /* Kafka consumer group: instances share the partitions */
        struct {
            int index, count;          /* this instance takes files whose path hashes to index */
        } shard;
        /* discovery (lk_discovery, docs/sources.md) */
        int use_notifications;           /* inotify; default true on Linux */
        int64_t backfill_interval_ms;    /* full listing this often with notifications */
        int64_t file_ready_delay_ms;     /* listing: unchanged this long before taken */
        char path_glob_filter[256];      /* fnmatch on the file name; "" = known extensions */
        char modified_after[64];         /* ISO timestamp or "" */
        char modified_before[64];        /* ISO timestamp or "" */
        int64_t max_file_age_ms;         /* 0 = no limit */
        int allow_overwrites;            /* a rewritten file is ingested again */
        char clean_source[16];           /* off | delete | move */
        char clean_source_move_destination[1024];
        int64_t clean_source_retention_duration_ms; /* default 30 days; 0 = at once */
    } source;
    struct {
        char http[256];       /* host:port, "" = no HTTP endpoint */
        char auth_token[256]; /* bearer token, "" = none (loopback only) */
        struct {
            int64_t ms, batches; /* 0 = no bound of that kind */
        } progress_retention;
        int64_t batch_deadline_ms;
    } monitor;
    struct {
        int n;
        lk_alert_rule rule[LK_MAX_ALERTS];
    } alerts;
    struct {
        int n;
        lk_notify_target to[LK_MAX_NOTIFY];
    } notify;
    struct {
        char compression[16];
        int zstd_level;
        int zstd_adaptive; /* a column's pages may go at zstd_level - 1 or - 2 where no larger */
        int64_t target_file_size;
        int64_t row_group_bytes;
        struct {
            int min_files;
        } compaction;
        struct {
            lk_name_list partition_by;
        } raw_events, processed_events;
        int nderived;
        lk_derived_table derived[LK_MAX_DERIVED]; /* in the file's order */
    } tables;
    /* `transforms:` (processed_events; the default list unless the file
       has the key) and the steps of every derived table */
    lk_step_list transforms;
    int transforms_set; /* the file gave `transforms:` */
    struct {
        char event_time[256]; /* transform.event_time: the event-time column, "" = none */
        int event_time_line;
        int64_t watermark_ms; /* transform.watermark: allowed lateness */
        /* transform.dedupe: {keys: [cols], within: duration}
           (dropDuplicatesWithinWatermark, pipeline/lk_dedupe) */
        int watermark_line; /* 0 = the file has no transform.watermark */
        struct {
            int set, line;
            lk_name_list keys; /* processed_events columns */
            int key_line[LK_MAX_PARTITION_COLS];
            int64_t within_ms;
        } dedupe;
    } event;
    lk_metrics_cfg metrics;
    struct {
        int nsteps, nitems;
        size_t text_len;
        lk_step step[LK_MAX_STEPS];
        lk_step_item item[LK_MAX_STEP_ITEMS];
        char text[LK_XF_TEXT];
    } xf;
} lk_config;

/* Fills cfg with defaults, then (path not NULL) the YAML file. Relative
   paths in the file are kept as written (relative to the working dir). A
   running configuration's _origin (lk_config_write) sets has_origin and
   origin and puts the lines back to the user's file's. */
int lk_config_load(const char *path, lk_config *cfg, lk_error *err);
/* Fills cfg with defaults only. */
void lk_config_defaults(lk_config *cfg);
/* Parses "continuous", "available_now"/"available-now"; 0 or LK_ECONFIG. */
int lk_config_parse_trigger(const char *s, lk_trigger *out);
/* The command line's --trigger: continuous, available-now (available_now),
   processing-time=<duration> (processing_time=, or ':'), freshness=<duration>,
   or a bare processing-time / freshness with the duration the file set. 0,
   or LK_ECONFIG naming what is wrong. */
int lk_config_set_trigger(lk_config *cfg, const char *arg, lk_error *err);
const char *lk_config_trigger_name(lk_trigger t);
/* Parses durations like "5 minutes", "30s", "100 ms", "1h" into ms; 0 or LK_ECONFIG. */
int lk_config_parse_duration(const char *s, int64_t *ms);
/* ms as "7 days", "5 minutes", "30 seconds" or "250 ms" (the largest unit that divides it). */
void lk_config_format_duration(int64_t ms, char *out, size_t cap);
/* <warehouse_path>/<catalog>/<schema>/<table> into out. */
void lk_config_table_path(const lk_config *cfg, const char *table, char *out, size_t cap);
/* Writes every key of cfg as YAML to path (atomically: temp file + rename),
   so that a process reading it gets exactly cfg. The supervisor writes the
   running configuration for its workers: a restarted worker then sees what
   the pipeline runs with, not a file edited since. The copy is written anew,
   not copied, so its lines are not the user's: its last key, _origin, names
   the user's file and carries the lines cfg has from it, which
   lk_config_load puts back. */
int lk_config_write(const lk_config *cfg, const char *path, lk_error *err);
/* SIGHUP reload: copies into running the keys that may change while the
   pipeline runs (log_level, worker_timeout, stop_timeout,
   source.max_files_per_trigger, source.max_bytes_per_trigger,
   source.max_offsets_per_trigger) where fresh
   differs, naming them comma-separated in applied; names in refused every
   other key that differs (it takes a restart). Returns the number applied. */
int lk_config_apply_live(lk_config *running, const lk_config *fresh, char *applied,
                         size_t applied_cap, char *refused, size_t refused_cap);
/* The partition columns of table (raw_events, processed_events), or NULL. */
const lk_name_list *lk_config_partition_by(const lk_config *cfg, const char *table);
/* The same list as C strings (pointing into cfg) into cols, LK_MAX_PARTITION_COLS of room, for
   the partitioner and the Delta log; their number, 0 when the table has none. */
int lk_config_partition_cols(const lk_config *cfg, const char *table, const char **cols);
/* The file an error names: the configuration's path (the user's file for a running
   configuration), or "(built-in default)" without -c. */
const char *lk_config_file_name(const lk_config *cfg);
/* Where a key is, for an error: "FILE:LINE", or "FILE" when line is 0; written to buf. */
const char *lk_config_at(const lk_config *cfg, int line, char *buf, size_t cap);
/* Parses an alert condition "metric op number" (metric one of
   LK_ALERT_METRICS; op >, >=, <, <=, ==, !=) into r's metric, op and
   threshold. 0, or LK_ECONFIG with what is wrong in err. */
int lk_config_parse_alert(const char *when, lk_alert_rule *r, lk_error *err);
/* monitor.http as host and port (host "" for all addresses). 0, or LK_ECONFIG. */
int lk_config_http_addr(const char *http, char *host, size_t cap, int *port);
/* 1 if host is a loopback address or localhost. */
int lk_config_host_loopback(const char *host);
/* The text at offset off of cfg->xf.text ("" for -1). */
const char *lk_config_xf_text(const lk_config *cfg, int off);
/* Writes cfg as YAML to f: every key with its value, the transforms and
   the derived tables (what `lakesupd config show` prints). */
int lk_config_print(const lk_config *cfg, FILE *f);
/* A derived table by name, or NULL. */
const lk_derived_table *lk_config_derived(const lk_config *cfg, const char *name);

/* <checkpoint_path>/state.db into out. */
void lk_config_state_path(const lk_config *cfg, char *out, size_t cap);

/* Walks a "name=value\n" property list (source.kafka_props): copies the entry at *cursor into
   name/val, advances *cursor past it and returns 1; 0 at the end (or at a malformed entry). */
int lk_config_prop_next(const char **cursor, char name[256], char val[1024]);

#endif
