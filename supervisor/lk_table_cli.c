/* lk_table_cli — `lakesupd table` sub-commands; see lk_table_cli.h. */
#include "lk_table_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "lk_delta.h"
#include "lk_delta_history.h"
#include "lk_delta_scan.h"
#include "lk_fs.h"
#include "lk_json.h"
#include "lk_time.h"
#include "lk_parquet_reader.h"
#include "lk_rowjson.h"
#include "lk_supervisor.h"
#include "lk_tables.h"

static const char *g_tables[] = {LK_TABLE_RAW, LK_TABLE_PROCESSED, LK_TABLE_METRICS};

static int cmd_list(const lk_config *cfg)
{
    printf("%-18s %8s %6s %12s %12s  %s\n", "TABLE", "VERSION", "FILES", "ROWS", "BYTES", "PATH");
    for (size_t t = 0; t < sizeof g_tables / sizeof g_tables[0]; t++) {
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

/* A CSV field (RFC 4180) from a JSON value text: strings unquoted from JSON
   and quoted when needed, null empty, anything else (numbers, objects) as
   its JSON text. */
static void csv_field(const char *json, lk_buf *out)
{
    if (strcmp(json, "null") == 0) return;
    const char *text = json;
    yajl_val v = NULL;
    if (json[0] == '"') {
        v = yajl_tree_parse(json, NULL, 0);
        if (v && YAJL_IS_STRING(v)) text = YAJL_GET_STRING(v);
    }
    if (strpbrk(text, ",\"\r\n")) {
        lk_buf_putc(out, '"');
        for (const char *p = text; *p; p++) {
            if (*p == '"') lk_buf_putc(out, '"');
            lk_buf_putc(out, *p);
        }
        lk_buf_putc(out, '"');
    } else {
        lk_buf_puts(out, text);
    }
    yajl_tree_free(v);
}

static const char k_read_help[] =
    "usage: lakesupd table read TABLE|--path DIR [-c FILE] [--version N | --timestamp TS]\n"
    "                           [--columns a,b] [--limit N] [--format jsonl|csv]\n"
    "Prints the rows of a Delta table (latest version, or as of a version or a timestamp:\n"
    "milliseconds since the epoch or ISO-8601) as JSON lines or CSV with a header.\n"
    "Partition columns, column mapping and deletion vectors are applied; --path reads\n"
    "any Delta table directory.\n";

static int cmd_read(const lk_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {{"limit", required_argument, 0, 'l'},
                                         {"version", required_argument, 0, 'v'},
                                         {"timestamp", required_argument, 0, 't'},
                                         {"columns", required_argument, 0, 'C'},
                                         {"format", required_argument, 0, 'f'},
                                         {"path", required_argument, 0, 'p'},
                                         {"config", required_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    long long limit = -1, version = -1;
    const char *columns = NULL, *path = NULL, *timestamp = NULL, *format = "jsonl";
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'l': limit = atoll(optarg); break;
        case 'v': version = atoll(optarg); break;
        case 't': timestamp = optarg; break;
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
    if (timestamp && version >= 0) {
        fprintf(stderr, "lakesupd table read: --version and --timestamp exclude each other\n");
        return LK_EXIT_USAGE;
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
            csv_field(lk_delta_scan_col(sc, c)->name, &out);
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
                lk_buf_append(&vals[c], "", 0);
                csv_field(vals[c].data, &out);
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

/* One line per version, newest first, from each commit's commitInfo (like
   DESCRIBE HISTORY). */
static int cmd_history(const lk_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {{"limit", required_argument, 0, 'l'},
                                         {"json", no_argument, 0, 'j'},
                                         {"path", required_argument, 0, 'p'},
                                         {"config", required_argument, 0, 'c'},
                                         {0, 0, 0, 0}};
    long long limit = -1;
    int json = 0;
    const char *path = NULL;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (ch) {
        case 'l': limit = atoll(optarg); break;
        case 'j': json = 1; break;
        case 'p': path = optarg; break;
        case 'c': break;
        default: return LK_EXIT_USAGE;
        }
    }
    char table_path[2048];
    if (path)
        snprintf(table_path, sizeof table_path, "%s", path);
    else if (optind < argc)
        lk_config_table_path(cfg, argv[optind], table_path, sizeof table_path);
    else {
        fprintf(stderr, "lakesupd table history: name a table or --path DIR\n");
        return LK_EXIT_USAGE;
    }
    lk_error err;
    lk_delta_table *dt = NULL;
    if (lk_delta_open(table_path, &dt, &err)) {
        fprintf(stderr, "lakesupd: %s\n", err.msg);
        return LK_EXIT_FAILURE;
    }
    int64_t latest = lk_delta_version(dt);
    lk_delta_destroy(&dt);
    if (latest < 0) {
        fprintf(stderr, "lakesupd: no Delta table at %s\n", table_path);
        return LK_EXIT_FAILURE;
    }
    if (!json)
        printf("%8s  %-24s  %-18s %12s %6s  %s\n", "VERSION", "TIMESTAMP", "OPERATION", "ROWS",
               "FILES", "PARAMETERS");
    lk_buf text = LK_BUF_INIT, line = LK_BUF_INIT;
    long long shown = 0;
    for (int64_t v = latest; v >= 0 && (limit < 0 || shown < limit); v--) {
        char file[2200];
        snprintf(file, sizeof file, "%s/_delta_log/%020lld.json", table_path, (long long)v);
        lk_buf_reset(&text);
        if (lk_fs_read_file(file, &text, 256 << 20, &err))
            break; /* cleaned up before a checkpoint: older history is gone */
        const char *ci = strstr(text.data, "{\"commitInfo\"");
        yajl_val root = NULL;
        if (ci) {
            const char *end = strchr(ci, '\n');
            lk_buf_reset(&line);
            lk_buf_append(&line, ci, end ? (size_t)(end - ci) : strlen(ci));
            root = yajl_tree_parse(line.data, NULL, 0);
        }
        yajl_val info = lk_json_get(root, "commitInfo");
        yajl_val ts = lk_json_get(info, "timestamp"), op = lk_json_get(info, "operation");
        yajl_val metrics = lk_json_get(info, "operationMetrics");
        yajl_val rows = lk_json_get(metrics, "numOutputRows"), files = lk_json_get(metrics, "numFiles");
        long long t_ms = ts && YAJL_IS_INTEGER(ts) ? YAJL_GET_INTEGER(ts) : 0;
        char when[40] = "";
        if (t_ms)
            lk_time_format_iso_ms(t_ms * 1000, when, sizeof when);
        const char *opn = op && YAJL_IS_STRING(op) ? op->u.string : "";
        const char *r = rows && YAJL_IS_STRING(rows) ? rows->u.string : "";
        const char *f = files && YAJL_IS_STRING(files) ? files->u.string : "";
        lk_buf params = LK_BUF_INIT;
        lk_json_text(lk_json_get(info, "operationParameters"), &params);
        if (json) {
            lk_buf out = LK_BUF_INIT;
            lk_buf_printf(&out, "{\"version\":%lld,\"timestamp\":%lld,\"operation\":", (long long)v,
                          t_ms);
            lk_buf_json_string(&out, opn, strlen(opn));
            lk_buf_printf(&out, ",\"numOutputRows\":%s,\"numFiles\":%s,\"operationParameters\":%s}",
                          *r ? r : "null", *f ? f : "null", params.data);
            printf("%s\n", out.data);
            lk_buf_free(&out);
        } else {
            printf("%8lld  %-24s  %-18s %12s %6s  %s\n", (long long)v, when, opn, r, f, params.data);
        }
        lk_buf_free(&params);
        yajl_tree_free(root);
        shown++;
    }
    lk_buf_free(&text);
    lk_buf_free(&line);
    return LK_EXIT_OK;
}

int lk_table_cli(const lk_config *cfg, int argc, char **argv)
{
    if (argc < 1) {
        fprintf(stderr, "usage: lakesupd table list | read T [--version N] [--limit N] "
                        "[--columns a,b] [--path DIR] | history T [--limit N] [--json]\n");
        return LK_EXIT_USAGE;
    }
    if (!strcmp(argv[0], "list"))
        return cmd_list(cfg);
    if (!strcmp(argv[0], "read"))
        return cmd_read(cfg, argc, argv);
    if (!strcmp(argv[0], "history"))
        return cmd_history(cfg, argc, argv);
    fprintf(stderr, "lakesupd table: unknown sub-command '%s'\n", argv[0]);
    return LK_EXIT_USAGE;
}
