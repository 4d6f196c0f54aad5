/* lk_progress_cli — `lakesupd progress`; see lk_progress_cli.h. */
#include "lk_progress_cli.h"

#include <stdio.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "lk_exit.h"
#include "lk_fs.h"
#include "lk_json.h"
#include "lk_state.h"

static double num(yajl_val o, const char *key)
{
    yajl_val v = lk_json_get(o, key);
    return v && YAJL_IS_NUMBER(v) ? YAJL_GET_DOUBLE(v) : 0;
}

static const char *str(yajl_val o, const char *key)
{
    yajl_val v = lk_json_get(o, key);
    return v && YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : "";
}

int lk_progress_cli(const lk_config *cfg, int last, int json)
{
    char path[2048];
    lk_config_state_path(cfg, path, sizeof path);
    if (!lk_fs_exists(path)) {
        fprintf(stderr, "lakesupd: no state.db at %s: the pipeline has not run there\n", path);
        return LK_EXIT_FAILURE;
    }
    lk_state *st = NULL;
    lk_error err;
    char **v = NULL;
    int n = 0;
    if (lk_state_open(path, &st, &err) || lk_state_progress_last(st, last, &v, &n, &err)) {
        fprintf(stderr, "lakesupd: %s\n", err.msg);
        lk_state_close(&st);
        return LK_EXIT_FAILURE;
    }
    lk_state_close(&st);
    if (json) {
        fputs("[", stdout);
        for (int i = 0; i < n; i++)
            printf("%s%s", i ? ",\n" : "\n", v[i]);
        fputs(n ? "\n]\n" : "]\n", stdout);
        lk_state_progress_free(&v, n);
        return LK_EXIT_OK;
    }
    if (!n)
        printf(
            "no progress recorded yet (one record per committed batch, written by the monitor)\n");
    else
        printf("%7s  %-24s %10s %11s %11s %9s %7s %7s %7s %7s %7s %8s %8s %-24s\n", "BATCH",
               "STARTED", "ROWS", "INPUT/S", "PROCESS/S", "TOTAL_MS", "PLAN", "READ", "PARSE",
               "WRITE", "COMMIT", "CORRUPT", "BACKLOG", "WATERMARK");
    for (int i = 0; i < n; i++) {
        char ebuf[128];
        yajl_val r = yajl_tree_parse(v[i], ebuf, sizeof ebuf);
        if (!r) {
            printf("(unreadable record: %s)\n", ebuf);
            continue;
        }
        yajl_val d = lk_json_get(r, "durationMs"), et = lk_json_get(r, "eventTime"),
                 bl = lk_json_get(r, "backlog");
        printf("%7.0f  %-24s %10.0f %11.1f %11.1f %9.0f %7.0f %7.0f %7.0f %7.0f %7.0f %8.0f %8.0f "
               "%-24s\n",
               num(r, "batchId"), str(r, "timestamp"), num(r, "numInputRows"),
               num(r, "inputRowsPerSecond"), num(r, "processedRowsPerSecond"),
               num(d, "triggerExecution"), num(d, "plan"), num(d, "read"), num(d, "parse"),
               num(d, "write"), num(d, "commit"), num(r, "numCorruptRows"), num(bl, "files"),
               *str(et, "watermark") ? str(et, "watermark") : "-");
        yajl_tree_free(r);
    }
    lk_state_progress_free(&v, n);
    return LK_EXIT_OK;
}
