/* lk_table_cli — `lakesupd table` sub-commands; see lk_table_cli.h. */
#include "lk_table_cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "lk_delta.h"
#include "lk_delta_history.h"
#include "lk_delta_scan.h"
#include "lk_delta_optimize.h"
#include "lk_delta_vacuum.h"
#include "lk_fs.h"
#include "lk_json.h"
#include "lk_time.h"
#include "lk_parquet_reader.h"
#include "lk_rowjson.h"
#include "lk_exit.h"
#include "lk_tables.h"

static int cmd_list(const lk_config *cfg)
{
    /* the pipeline's tables, then the ones that may exist without being in it now */
    const char *g_tables[LK_TABLES_MAX + 2];
    size_t nt = (size_t)lk_tables_names(cfg, g_tables);
    if (strcmp(g_tables[nt - 1], LK_TABLE_QUARANTINE))
        g_tables[nt++] = LK_TABLE_QUARANTINE;
    g_tables[nt++] = LK_TABLE_METRICS;
    printf("%-18s %8s %6s %12s %12s  %s\n", "TABLE", "VERSION", "FILES", "ROWS", "BYTES", "PATH");
    for (size_t t = 0; t < nt; t++) {
        char path[2048];
        lk_config_table_path(cfg, g_tables[t], path, sizeof path);
        lk_delta_table *dt = NULL;
        lk_error err;
        if (lk_delta_open(path, &dt, &err)) {
            printf("%-18s %s\n", g_tables[t], err.msg);
            continue;
        }
        int64_t bytes = 0;
        for (int i = 0; i < lk_delta_nfiles(dt); i++)
            bytes += lk_delta_file_at(dt, i)->size;
        if (lk_delta_version(dt) >= 0)
            printf("%-18s %8lld %6d %12lld %12lld  %s\n", g_tables[t],
                   (long long)lk_delta_version(dt), lk_delta_nfiles(dt),
                   (long long)lk_delta_num_records(dt), (long long)bytes, path);
        lk_delta_destroy(&dt);
    }
    return LK_EXIT_OK;
}

/* Resolves the table of a sub-command: --path DIR, or a pipeline table name. */
static int table_arg(const lk_config *cfg, const char *path, int argc, char **argv,
                     const char *cmd, char *out, size_t cap)
{
    if (path)
        snprintf(out, cap, "%s", path);
    else if (optind < argc)
        lk_config_table_path(cfg, argv[optind], out, cap);
    else {
        fprintf(stderr, "lakesupd table %s: name a table or --path DIR (see --help)\n", cmd);
        return -1;
    }
    return 0;
}

/* table_arg, then the table opened: LK_EXIT_OK, or the exit code with the
   error said. */
static int open_table_arg(const lk_config *cfg, const char *path, int argc, char **argv,
                          const char *cmd, lk_delta_table **dt)
{
    char table_path[2048];
    if (table_arg(cfg, path, argc, argv, cmd, table_path, sizeof table_path))
        return LK_EXIT_USAGE;
    lk_error err;
    if (lk_delta_open(table_path, dt, &err)) {
        fprintf(stderr, "lakesupd: %s\n", err.msg);
        return LK_EXIT_FAILURE;
    }
    return LK_EXIT_OK;
}

/* The bytes of JSON string text j (n bytes, quotes included) as lk_buf_json_string wrote them:
   escapes undone, \u0000 a NUL byte like any other (yajl's tree ends a string there). */
static void json_unquote(const char *j, size_t n, lk_buf *out)
{
    for (size_t i = 1; i + 1 < n; i++) {
        if (j[i] != '\\' || i + 2 >= n) {
            lk_buf_putc(out, j[i]);
            continue;
        }
        char e = j[++i];
        switch (e) {
        case 'n': lk_buf_putc(out, '\n'); break;
        case 'r': lk_buf_putc(out, '\r'); break;
        case 't': lk_buf_putc(out, '\t'); break;
        case 'b': lk_buf_putc(out, '\b'); break;
        case 'f': lk_buf_putc(out, '\f'); break;
        case 'u': {
            unsigned cp = 0;
            for (int k = 0; k < 4 && i + 1 < n - 1; k++) {
                char h = j[++i];
                cp = cp * 16 + (unsigned)(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
            }
            if (cp < 0x80) {
                lk_buf_putc(out, (char)cp);
            } else if (cp < 0x800) {
                lk_buf_putc(out, (char)(0xc0 | cp >> 6));
                lk_buf_putc(out, (char)(0x80 | (cp & 63)));
            } else {
                lk_buf_putc(out, (char)(0xe0 | cp >> 12));
                lk_buf_putc(out, (char)(0x80 | ((cp >> 6) & 63)));
                lk_buf_putc(out, (char)(0x80 | (cp & 63)));
            }
            break;
        }
        default: lk_buf_putc(out, e); /* \" \\ \/ */
        }
    }
}

/* A CSV field (RFC 4180) from a JSON value text (n bytes): strings unquoted from JSON
   and quoted when needed, null empty, anything else (numbers, objects) as
   its JSON text. */
static void csv_field(const char *json, size_t n, lk_buf *out)
{
    if (n == 4 && !memcmp(json, "null", 4)) return;
    lk_buf text = LK_BUF_INIT;
    if (n >= 2 && json[0] == '"')
        json_unquote(json, n, &text);
    else
        lk_buf_append(&text, json, n);
    if (text.len && (memchr(text.data, ',', text.len) || memchr(text.data, '"', text.len) ||
                     memchr(text.data, '\r', text.len) || memchr(text.data, '\n', text.len))) {
        lk_buf_putc(out, '"');
        for (size_t i = 0; i < text.len; i++) {
            if (text.data[i] == '"') lk_buf_putc(out, '"');
            lk_buf_putc(out, text.data[i]);
        }
        lk_buf_putc(out, '"');
    } else {
        lk_buf_append(out, text.data, text.len);
    }
    lk_buf_free(&text);
}

/* A non-negative whole number option; atoll took "abc" as 0 (version 0, no rows) and "-1"
   as the "not given" sentinel. */
static int parse_count(const char *cmd, const char *opt, const char *text, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < 0) {
        fprintf(stderr, "lakesupd table %s: bad --%s '%s' (a whole number, 0 or more)\n", cmd,
                opt, text);
        return -1;
    }
    *out = v;
    return 0;
}

/* The micro-batch a commit holds (commitInfo.operationParameters.epochId of
   the pipeline's and replay's commits), or -1. */
static int64_t commit_batch(yajl_val info)
{
    yajl_val e = lk_json_get(lk_json_get(info, "operationParameters"), "epochId");
    if (e && YAJL_IS_INTEGER(e)) return YAJL_GET_INTEGER(e);
    const char *str = e && YAJL_IS_STRING(e) ? YAJL_GET_STRING(e) : NULL;
    if (str && *str) {
        char *end;
        long long v = strtoll(str, &end, 10);
        if (!*end) return v;
    }
    return -1;
}

/* The version of the table at table_path whose commit holds batch b
   (--batch): 0, or LK_ENOTFOUND naming the batches the table has. */
static int version_of_batch(const char *table_path, int64_t b, int64_t *version, lk_error *err)
{
    lk_delta_history *h = NULL;
    if (lk_delta_history_open(table_path, &h, err)) return -1;
    int64_t lo = -1, hi = -1;
    int rc = LK_ENOTFOUND;
    for (int i = 0; i < lk_delta_history_count(h); i++) {
        const lk_delta_history_entry *e = lk_delta_history_at(h, i);
        yajl_val info = e->commit_info_json ? yajl_tree_parse(e->commit_info_json, NULL, 0) : NULL;
        int64_t eb = commit_batch(info);
        yajl_tree_free(info);
        if (eb < 0) continue;
        if (lo < 0 || eb < lo) lo = eb;
        if (eb > hi) hi = eb;
        if (eb == b) {
            *version = e->version;
            rc = 0;
        }
    }
    lk_delta_history_destroy(&h);
    if (rc)
        lk_error_set(err, LK_ENOTFOUND, "batch %lld is in no retained version of %s (batches %lld..%lld)",
                     (long long)b, table_path, (long long)lo, (long long)hi);
    return rc;
}

static const char k_read_help[] =
    "usage: lakesupd table read TABLE|--path DIR [-c FILE] [--version N | --timestamp TS |\n"
    "                           --batch N] [--columns a,b] [--limit N] [--format jsonl|csv]\n"
    "Prints the rows of a Delta table (latest version, or as of a version or a timestamp:\n"
    "milliseconds since the epoch or ISO-8601) as JSON lines or CSV with a header.\n"
    "--batch N reads the version whose commit holds micro-batch N (its txn): bronze, silver\n"
    "and gold read with the same --batch give the rows of the same input.\n"
    "Partition columns, column mapping and deletion vectors are applied; --path reads\n"
    "any Delta table directory.\n";

static int cmd_read(const lk_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {{"limit", required_argument, 0, 'l'},
                                         {"version", required_argument, 0, 'v'},
                                         {"timestamp", required_argument, 0, 't'},
                                         {"batch", required_argument, 0, 'b'},
                                         {"columns", required_argument, 0, 'C'},
                                         {"format", required_argument, 0, 'f'},
                                         {"path", required_argument, 0, 'p'},
                                         {"config", required_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    long long limit = -1, version = -1, batch = -1;
    const char *columns = NULL, *path = NULL, *timestamp = NULL, *format = "jsonl";
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'l':
            if (parse_count("read", "limit", optarg, &limit)) return LK_EXIT_USAGE;
            break;
        case 'v':
            if (parse_count("read", "version", optarg, &version)) return LK_EXIT_USAGE;
            break;
        case 't': timestamp = optarg; break;
        case 'b':
            if (parse_count("read", "batch", optarg, &batch)) return LK_EXIT_USAGE;
            break;
        case 'C': columns = optarg; break;
        case 'f': format = optarg; break;
        case 'p': path = optarg; break;
        case 'c': break;
        case 'h': fputs(k_read_help, stdout); return LK_EXIT_OK;
        default: fputs(k_read_help, stderr); return LK_EXIT_USAGE;
        }
    }
    int csv = strcmp(format, "csv") == 0;
    if (!csv && strcmp(format, "jsonl") != 0 && strcmp(format, "json") != 0) {
        fprintf(stderr, "lakesupd table read: unknown --format '%s' (jsonl or csv)\n", format);
        return LK_EXIT_USAGE;
    }
    char table_path[2048];
    if (table_arg(cfg, path, argc, argv, "read", table_path, sizeof table_path))
        return LK_EXIT_USAGE;
    lk_error err;
    lk_delta_table *dt = NULL;
    int64_t ts_ms = 0;
    if ((timestamp != NULL) + (version >= 0) + (batch >= 0) > 1) {
        fprintf(stderr, "lakesupd table read: --version, --timestamp and --batch exclude each other\n");
        return LK_EXIT_USAGE;
    }
    if (batch >= 0) {
        int64_t v = -1;
        if (version_of_batch(table_path, batch, &v, &err)) {
            fprintf(stderr, "lakesupd: %s\n", err.msg);
            return LK_EXIT_FAILURE;
        }
        version = v;
    }
    if (timestamp && lk_delta_parse_timestamp(timestamp, &ts_ms, &err)) {
        fprintf(stderr, "lakesupd table read: %s\n", err.msg);
        return LK_EXIT_USAGE;
    }
    if ((timestamp        ? lk_delta_open_timestamp(table_path, ts_ms, &dt, &err)
         : version >= 0 ? lk_delta_open_version(table_path, version, &dt, &err)
                        : lk_delta_open(table_path, &dt, &err))) {
        fprintf(stderr, "lakesupd: %s\n", err.msg);
        return LK_EXIT_FAILURE;
    }
    if (lk_delta_version(dt) < 0) {
        fprintf(stderr, "lakesupd: no Delta table at %s\n", table_path);
        lk_delta_destroy(&dt);
        return LK_EXIT_FAILURE;
    }
    lk_delta_scan *sc = NULL;
    int rc = lk_delta_scan_new(dt, columns, &sc, &err);
    if (rc) {
        fprintf(stderr, "lakesupd: %s\n", err.msg);
        lk_delta_destroy(&dt);
        return rc == LK_ENOTFOUND ? LK_EXIT_USAGE : LK_EXIT_FAILURE;
    }
    int ncols = lk_delta_scan_ncols(sc);
    lk_buf out = LK_BUF_INIT;
    lk_buf *vals = calloc((size_t)ncols + 1, sizeof *vals);
    if (csv) {
        for (int c = 0; c < ncols; c++) {
            if (c) lk_buf_putc(&out, ',');
            csv_field(lk_delta_scan_col(sc, c)->name, strlen(lk_delta_scan_col(sc, c)->name),
                      &out);
        }
        lk_buf_putc(&out, '\n');
        fwrite(out.data, 1, out.len, stdout);
    }
    long long printed = 0;
    int exit_code = LK_EXIT_OK;
    while (limit < 0 || printed < limit) {
        lk_buf_reset(&out);
        if (csv) {
            rc = lk_delta_scan_next_values(sc, vals, &err);
            for (int c = 0; rc == 1 && c < ncols; c++) {
                if (c) lk_buf_putc(&out, ',');
                csv_field(vals[c].data ? vals[c].data : "", vals[c].len, &out);
            }
        } else {
            rc = lk_delta_scan_next(sc, &out, &err);
        }
        if (rc < 0) {
            fprintf(stderr, "lakesupd: %s\n", err.msg);
            exit_code = LK_EXIT_FAILURE;
            break;
        }
        if (rc == 0) break;
        lk_buf_putc(&out, '\n');
        fwrite(out.data, 1, out.len, stdout);
        printed++;
    }
    for (int c = 0; c < ncols; c++)
        lk_buf_free(&vals[c]);
    free(vals);
    lk_buf_free(&out);
    lk_delta_scan_destroy(&sc);
    lk_delta_destroy(&dt);
    return exit_code;
}

static const char k_history_help[] =
    "usage: lakesupd table history TABLE|--path DIR [-c FILE] [--limit N] [--json]\n"
    "One line per retained version, newest first (like DESCRIBE HISTORY): version, the\n"
    "micro-batch its commit holds (its txn; - for other commits), commit\n"
    "timestamp (In-Commit Timestamp or file time, as time travel uses it), operation, rows\n"
    "and files added, files removed, operation parameters. --json: one object per line.\n";

static const char *metric(yajl_val info, const char *key)
{
    yajl_val v = lk_json_get(lk_json_get(info, "operationMetrics"), key);
    return v && YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : "";
}

/* One line per version, newest first, from each commit's commitInfo. */
static int cmd_history(const lk_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {{"limit", required_argument, 0, 'l'},
                                         {"json", no_argument, 0, 'j'},
                                         {"path", required_argument, 0, 'p'},
                                         {"config", required_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    long long limit = -1;
    int json = 0;
    const char *path = NULL;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'l':
            if (parse_count("history", "limit", optarg, &limit)) return LK_EXIT_USAGE;
            break;
        case 'j': json = 1; break;
        case 'p': path = optarg; break;
        case 'c': break;
        case 'h': fputs(k_history_help, stdout); return LK_EXIT_OK;
        default: fputs(k_history_help, stderr); return LK_EXIT_USAGE;
        }
    }
    char table_path[2048];
    if (table_arg(cfg, path, argc, argv, "history", table_path, sizeof table_path))
        return LK_EXIT_USAGE;
    lk_error err;
    lk_delta_history *h = NULL;
    if (lk_delta_history_open(table_path, &h, &err)) {
        fprintf(stderr, "lakesupd: %s\n", err.msg);
        return LK_EXIT_FAILURE;
    }
    if (!json)
        printf("%8s  %6s  %-24s  %-18s %12s %6s %7s  %s\n", "VERSION", "BATCH", "TIMESTAMP",
               "OPERATION", "ROWS", "FILES", "REMOVED", "PARAMETERS");
    lk_buf out = LK_BUF_INIT, params = LK_BUF_INIT;
    long long shown = 0;
    for (int i = lk_delta_history_count(h) - 1; i >= 0 && (limit < 0 || shown < limit); i--) {
        const lk_delta_history_entry *e = lk_delta_history_at(h, i);
        yajl_val info = e->commit_info_json ? yajl_tree_parse(e->commit_info_json, NULL, 0) : NULL;
        yajl_val op = lk_json_get(info, "operation");
        const char *opn = op && YAJL_IS_STRING(op) ? YAJL_GET_STRING(op) : "";
        const char *rows = metric(info, "numOutputRows"), *files = metric(info, "numFiles");
        const char *removed = metric(info, "numRemovedFiles");
        char when[40];
        lk_time_format_iso_ms(e->timestamp * 1000, when, sizeof when);
        lk_buf_reset(&params);
        lk_json_text(lk_json_get(info, "operationParameters"), &params);
        lk_buf_reset(&out);
        int64_t b = commit_batch(info);
        char bs[24] = "-";
        if (b >= 0) snprintf(bs, sizeof bs, "%lld", (long long)b);
        if (json) {
            lk_buf_printf(&out, "{\"version\":%lld,\"timestamp\":%lld,\"batch\":%s,\"operation\":",
                          (long long)e->version, (long long)e->timestamp, b >= 0 ? bs : "null");
            lk_buf_json_string(&out, opn, strlen(opn));
            lk_buf_printf(&out,
                          ",\"numOutputRows\":%s,\"numFiles\":%s,\"numRemovedFiles\":%s,"
                          "\"operationParameters\":%s,\"commitInfo\":%s}",
                          *rows ? rows : "null", *files ? files : "null",
                          *removed ? removed : "null", params.data,
                          e->commit_info_json ? e->commit_info_json : "null");
        } else {
            lk_buf_printf(&out, "%8lld  %6s  %-24s  %-18s %12s %6s %7s  %s", (long long)e->version,
                          bs, when, opn, rows, files, removed, params.data);
        }
        puts(out.data);
        yajl_tree_free(info);
        shown++;
    }
    lk_buf_free(&out);
    lk_buf_free(&params);
    lk_delta_history_destroy(&h);
    return LK_EXIT_OK;
}

static const char k_describe_help[] =
    "usage: lakesupd table describe TABLE|--path DIR [-c FILE] [--json]\n"
    "The table's latest version: schema, partitioning, properties, protocol, version,\n"
    "checkpoint, number of live files, bytes and rows.\n";

static int cmd_describe(const lk_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                         {"path", required_argument, 0, 'p'},
                                         {"config", required_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int json = 0;
    const char *path = NULL;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'j': json = 1; break;
        case 'p': path = optarg; break;
        case 'c': break;
        case 'h': fputs(k_describe_help, stdout); return LK_EXIT_OK;
        default: fputs(k_describe_help, stderr); return LK_EXIT_USAGE;
        }
    }
    lk_delta_table *dt = NULL;
    int orc = open_table_arg(cfg, path, argc, argv, "describe", &dt);
    if (orc)
        return orc;
    const char *table_path = lk_delta_path(dt);
    if (lk_delta_version(dt) < 0) {
        fprintf(stderr, "lakesupd: no Delta table at %s\n", table_path);
        lk_delta_destroy(&dt);
        return LK_EXIT_FAILURE;
    }
    int64_t bytes = 0;
    for (int i = 0; i < lk_delta_nfiles(dt); i++)
        bytes += lk_delta_file_at(dt, i)->size;
    yajl_val md = yajl_tree_parse(lk_delta_metadata_json(dt), NULL, 0);
    lk_buf pc = LK_BUF_INIT, conf = LK_BUF_INIT, schema = LK_BUF_INIT, out = LK_BUF_INIT;
    lk_json_text(lk_json_get(md, "partitionColumns"), &pc);
    lk_json_text(lk_json_get(md, "configuration"), &conf);
    yajl_val id = lk_json_get(md, "id"), ct = lk_json_get(md, "createdTime");
    const char *proto = lk_delta_protocol_json(dt) ? lk_delta_protocol_json(dt) : "null";
    if (json) {
        lk_schema_to_json(lk_delta_schema(dt), &schema);
        lk_buf_puts(&out, "{\"path\":");
        lk_buf_json_string(&out, table_path, strlen(table_path));
        lk_buf_printf(&out,
                      ",\"version\":%lld,\"checkpointVersion\":%lld,\"numFiles\":%d,"
                      "\"sizeInBytes\":%lld,\"numRecords\":%lld,\"partitionColumns\":%s,"
                      "\"properties\":%s,\"protocol\":%s,\"id\":",
                      (long long)lk_delta_version(dt), (long long)lk_delta_checkpoint_version(dt),
                      lk_delta_nfiles(dt), (long long)bytes, (long long)lk_delta_num_records(dt),
                      pc.data, conf.data, proto);
        lk_json_text(id, &out);
        lk_buf_puts(&out, ",\"createdTime\":");
        lk_json_text(ct, &out);
        lk_buf_puts(&out, ",\"schema\":");
        lk_buf_append(&out, schema.data, schema.len);
        lk_buf_putc(&out, '}');
        puts(out.data);
    } else {
        lk_schema_to_ddl(lk_delta_schema(dt), &schema);
        lk_buf_append(&schema, "", 0);
        char when[40] = "";
        if (ct && YAJL_IS_INTEGER(ct))
            lk_time_format_iso_ms((int64_t)YAJL_GET_INTEGER(ct) * 1000, when, sizeof when);
        printf("path          %s\n", table_path);
        printf("version       %lld\n", (long long)lk_delta_version(dt));
        if (lk_delta_checkpoint_version(dt) >= 0)
            printf("checkpoint    %lld\n", (long long)lk_delta_checkpoint_version(dt));
        printf("id            %s\n", id && YAJL_IS_STRING(id) ? YAJL_GET_STRING(id) : "");
        printf("created       %s\n", when);
        printf("protocol      %s\n", proto);
        printf("partitioning  %s\n", pc.data);
        printf("properties    %s\n", conf.data);
        printf("files         %d\n", lk_delta_nfiles(dt));
        printf("bytes         %lld\n", (long long)bytes);
        printf("rows          %lld\n", (long long)lk_delta_num_records(dt));
        printf("schema        %s\n", schema.data);
    }
    yajl_tree_free(md);
    lk_buf_free(&pc);
    lk_buf_free(&conf);
    lk_buf_free(&schema);
    lk_buf_free(&out);
    lk_delta_destroy(&dt);
    return LK_EXIT_OK;
}

static const char k_vacuum_help[] =
    "usage: lakesupd table vacuum TABLE|--path DIR [-c FILE] [--retain HOURS] [--dry-run]\n"
    "                             [--force]\n"
    "Deletes the files no retained version references (removed longer ago than the\n"
    "retention) and orphans of killed writers, when older than the retention. The\n"
    "retention defaults to the table's delta.deletedFileRetentionDuration (7 days); a\n"
    "shorter --retain needs --force. --dry-run lists what would be deleted.\n";

static void vacuum_print(void *ctx, const char *rel, int64_t size)
{
    printf("%s %s %lld\n", *(int *)ctx ? "would delete" : "deleted", rel, (long long)size);
}

static int cmd_vacuum(const lk_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {{"retain", required_argument, 0, 'r'},
                                         {"dry-run", no_argument, 0, 'n'},
                                         {"force", no_argument, 0, 'f'},
                                         {"path", required_argument, 0, 'p'},
                                         {"config", required_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *retain = NULL, *path = NULL;
    int dry = 0, force = 0;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'r': retain = optarg; break;
        case 'n': dry = 1; break;
        case 'f': force = 1; break;
        case 'p': path = optarg; break;
        case 'c': break;
        case 'h': fputs(k_vacuum_help, stdout); return LK_EXIT_OK;
        default: fputs(k_vacuum_help, stderr); return LK_EXIT_USAGE;
        }
    }
    lk_delta_table *dt = NULL;
    int orc = open_table_arg(cfg, path, argc, argv, "vacuum", &dt);
    if (orc)
        return orc;
    lk_error err;
    int64_t table_ms = lk_delta_interval_ms(
        lk_delta_property(dt, "delta.deletedFileRetentionDuration"), (int64_t)7 * 86400000);
    int64_t retain_ms = table_ms;
    if (retain) {
        char *end;
        double hours = strtod(retain, &end);
        if (end == retain || (*end && strcmp(end, "h") != 0) || hours < 0) {
            fprintf(stderr, "lakesupd table vacuum: bad --retain '%s' (hours, e.g. 168)\n",
                    retain);
            lk_delta_destroy(&dt);
            return LK_EXIT_USAGE;
        }
        retain_ms = (int64_t)(hours * 3600000.0);
    }
    if (retain_ms < table_ms && !force) {
        fprintf(stderr,
                "lakesupd table vacuum: --retain %s is shorter than the table's "
                "delta.deletedFileRetentionDuration (%lld hours): readers of older versions "
                "could lose files; add --force to do it anyway\n",
                retain, (long long)(table_ms / 3600000));
        lk_delta_destroy(&dt);
        return LK_EXIT_USAGE;
    }
    lk_delta_vacuum_stats st;
    int rc = lk_delta_vacuum(dt, retain_ms, lk_time_now_ms(), dry, vacuum_print, &dry, &st, &err);
    lk_delta_destroy(&dt);
    if (rc) {
        fprintf(stderr, "lakesupd: %s\n", err.msg);
        return LK_EXIT_FAILURE;
    }
    fprintf(stderr, "%s %lld files (%lld bytes); kept %lld referenced, %lld recent\n",
            dry ? "would delete" : "deleted", (long long)st.files, (long long)st.bytes,
            (long long)st.retained, (long long)st.recent);
    return LK_EXIT_OK;
}

static const char k_optimize_help[] =
    "usage: lakesupd table optimize TABLE|--path DIR [-c FILE] [--target-size BYTES]\n"
    "Bin-packs the small files of each partition into files of about --target-size\n"
    "(default tables.target_file_size, 128 MiB) in one OPTIMIZE commit whose adds and\n"
    "removes have dataChange=false. Safe while the pipeline appends: blind appends do\n"
    "not conflict; the removed files stay until `table vacuum`.\n";

static int cmd_optimize(const lk_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {{"target-size", required_argument, 0, 's'},
                                         {"path", required_argument, 0, 'p'},
                                         {"config", required_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *path = NULL;
    int64_t target = cfg->tables.target_file_size;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 's': {
            char *end;
            long long v = strtoll(optarg, &end, 10);
            if (end == optarg || *end || v < 1024) {
                fprintf(stderr, "lakesupd table optimize: bad --target-size '%s' (bytes, at "
                                "least 1024)\n", optarg);
                return LK_EXIT_USAGE;
            }
            target = v;
            break;
        }
        case 'p': path = optarg; break;
        case 'c': break;
        case 'h': fputs(k_optimize_help, stdout); return LK_EXIT_OK;
        default: fputs(k_optimize_help, stderr); return LK_EXIT_USAGE;
        }
    }
    lk_delta_table *dt = NULL;
    int orc = open_table_arg(cfg, path, argc, argv, "optimize", &dt);
    if (orc)
        return orc;
    lk_error err;
    char table_path[2048];
    snprintf(table_path, sizeof table_path, "%s", lk_delta_path(dt));
    lk_pq_options opt;
    lk_pq_options_default(&opt);
    if (lk_pq_codec_parse(cfg->tables.compression, &opt.codec) == 0) {
        opt.zstd_level = cfg->tables.zstd_level;
        opt.zstd_adaptive = cfg->tables.zstd_adaptive;
    }
    lk_delta_optimize_result res;
    int rc = lk_delta_optimize(dt, target, &opt, &res, &err);
    lk_delta_destroy(&dt);
    if (rc) {
        fprintf(stderr, "lakesupd: optimize of %s: %s\n", table_path, err.msg);
        return LK_EXIT_FAILURE;
    }
    if (res.version < 0)
        printf("nothing to optimize in %s (no partition has two files below %lld bytes)\n",
               table_path, (long long)target);
    else
        printf("optimized %s at version %lld: %d files (%lld bytes) into %d files (%lld bytes), "
               "%lld rows\n",
               table_path, (long long)res.version, res.files_removed, (long long)res.bytes_removed,
               res.files_added, (long long)res.bytes_added, (long long)res.rows);
    return LK_EXIT_OK;
}

static const char k_table_help[] =
    "usage: lakesupd table SUB-COMMAND [-c FILE] [--help]\n"
    "  list                                    tables of the pipeline: version, files, rows, bytes\n"
    "  describe TABLE|--path DIR [--json]      schema, partitioning, properties, protocol, size\n"
    "  history TABLE|--path DIR [--limit N] [--json]\n"
    "  read TABLE|--path DIR [--version N | --timestamp TS | --batch N] [--columns a,b] [--limit N]\n"
    "       [--format jsonl|csv]\n"
    "  optimize TABLE|--path DIR [--target-size BYTES]\n"
    "  vacuum TABLE|--path DIR [--retain HOURS] [--dry-run] [--force]\n";

int lk_table_cli(const lk_config *cfg, int argc, char **argv)
{
    if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h") ||
        !strcmp(argv[0], "help")) {
        fputs(k_table_help, argc < 1 ? stderr : stdout);
        return argc < 1 ? LK_EXIT_USAGE : LK_EXIT_OK;
    }
    if (!strcmp(argv[0], "list")) {
        for (int i = 1; i < argc; i++)
            if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
                puts("usage: lakesupd table list [-c FILE]\n"
                     "The pipeline's tables with version, live files, rows and bytes.");
                return LK_EXIT_OK;
            }
        return cmd_list(cfg);
    }
    if (!strcmp(argv[0], "read"))
        return cmd_read(cfg, argc, argv);
    if (!strcmp(argv[0], "history"))
        return cmd_history(cfg, argc, argv);
    if (!strcmp(argv[0], "describe"))
        return cmd_describe(cfg, argc, argv);
    if (!strcmp(argv[0], "vacuum"))
        return cmd_vacuum(cfg, argc, argv);
    if (!strcmp(argv[0], "optimize"))
        return cmd_optimize(cfg, argc, argv);
    fprintf(stderr, "lakesupd table: unknown sub-command '%s'\n%s", argv[0], k_table_help);
    return LK_EXIT_USAGE;
}
