/*
 * lk_source_cli — `lakesupd source list` (see the header). It opens
 * state.db like any reader (WAL: safe while the pipeline runs) and never
 * creates one.
 */
#include "lk_source_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lk_buf.h"
#include "lk_state.h"
#include "lk_exit.h"
#include "lk_time.h"

static const char k_source_help[] =
    "usage: lakesupd source list [-c FILE] [--pending] [--json]\n"
    "Every source file discovery recorded, with its state (pending, in batch N,\n"
    "committed, skipped: reason), size, discovery time and, once committed, its\n"
    "rows, corrupt and rescued counts; a file read but not whole says why (damaged:\n"
    "a compressed stream that stops decoding; gone: deleted or shortened before its\n"
    "batch read it; JSON: \"damaged\"). --pending: only files not committed yet.\n";

/* "pending", "in batch 3", "committed", "skipped: why". */
static void state_text(const lk_state_file *f, char *out, size_t cap)
{
    switch (f->state) {
    case LK_FILE_PENDING:
        snprintf(out, cap, "pending");
        break;
    case LK_FILE_PLANNED:
        snprintf(out, cap, "in batch %lld", (long long)f->batch_id);
        break;
    case LK_FILE_COMMITTED:
        snprintf(out, cap, "committed in batch %lld", (long long)f->batch_id);
        break;
    case LK_FILE_SKIPPED:
        snprintf(out, cap, "skipped: %s", f->error);
        break;
    default:
        snprintf(out, cap, "unknown (%d)", (int)f->state);
        break;
    }
}

static const char *state_name(lk_file_state s)
{
    switch (s) {
    case LK_FILE_PENDING:
        return "pending";
    case LK_FILE_PLANNED:
        return "in_batch";
    case LK_FILE_COMMITTED:
        return "committed";
    case LK_FILE_SKIPPED:
        return "skipped";
    }
    return "unknown";
}

static void count_text(int64_t v, char *out, size_t cap)
{
    if (v < 0)
        snprintf(out, cap, "-");
    else
        snprintf(out, cap, "%lld", (long long)v);
}

static void print_json(const lk_state_file_info *v, int n)
{
    lk_buf b = LK_BUF_INIT;
    lk_buf_puts(&b, "[");
    for (int i = 0; i < n; i++) {
        const lk_state_file *f = &v[i].file;
        char t[40];
        lk_buf_puts(&b, i ? ",\n " : "\n ");
        lk_buf_printf(&b, "{\"id\":%lld,\"path\":", (long long)f->id);
        lk_buf_json_string(&b, f->path, strlen(f->path));
        lk_buf_printf(&b, ",\"state\":\"%s\",\"batch\":", state_name(f->state));
        if (f->batch_id >= 0)
            lk_buf_printf(&b, "%lld", (long long)f->batch_id);
        else
            lk_buf_puts(&b, "null");
        lk_buf_puts(&b, ",\"reason\":");
        if (f->state == LK_FILE_SKIPPED)
            lk_buf_json_string(&b, f->error, strlen(f->error));
        else
            lk_buf_puts(&b, "null");
        /* read, but not whole: why (a damaged compressed stream, a file gone before its batch) */
        lk_buf_puts(&b, ",\"damaged\":");
        if (f->state != LK_FILE_SKIPPED && f->error[0])
            lk_buf_json_string(&b, f->error, strlen(f->error));
        else
            lk_buf_puts(&b, "null");
        lk_buf_printf(&b, ",\"size\":%lld", (long long)f->size);
        lk_time_format_iso_ms(f->mtime_us, t, sizeof t);
        lk_buf_printf(&b, ",\"modification_time\":\"%s\"", t);
        lk_time_format_iso_ms(f->discovered_at_us, t, sizeof t);
        lk_buf_printf(&b, ",\"discovered_at\":\"%s\"", t);
        lk_buf_printf(&b, ",\"device\":%lld,\"inode\":%lld,\"head_hash\":\"%016llx\"",
                      (long long)f->device, (long long)f->inode,
                      (unsigned long long)v[i].head_hash);
        if (v[i].rows >= 0)
            lk_buf_printf(&b, ",\"rows\":%lld,\"corrupt\":%lld,\"rescued\":%lld",
                          (long long)v[i].rows, (long long)v[i].corrupt, (long long)v[i].rescued);
        else
            lk_buf_puts(&b, ",\"rows\":null,\"corrupt\":null,\"rescued\":null");
        lk_buf_puts(&b, ",\"clean_source\":");
        if (v[i].cleaned_at_us)
            lk_buf_json_string(&b, v[i].clean_note, strlen(v[i].clean_note));
        else
            lk_buf_puts(&b, "null");
        lk_buf_puts(&b, "}");
    }
    lk_buf_puts(&b, n ? "\n]\n" : "]\n");
    fwrite(b.data, 1, b.len, stdout);
    lk_buf_free(&b);
}

static void print_text(const lk_state_file_info *v, int n)
{
    printf("%-6s %-28s %12s %10s %8s %8s %-24s %s\n", "ID", "STATE", "SIZE", "ROWS", "CORRUPT",
           "RESCUED", "DISCOVERED", "PATH");
    int by_state[4] = {0, 0, 0, 0};
    for (int i = 0; i < n; i++) {
        const lk_state_file *f = &v[i].file;
        char st[512], rows[24], corrupt[24], rescued[24], t[40];
        state_text(f, st, sizeof st);
        count_text(v[i].rows, rows, sizeof rows);
        count_text(v[i].corrupt, corrupt, sizeof corrupt);
        count_text(v[i].rescued, rescued, sizeof rescued);
        lk_time_format_iso_ms(f->discovered_at_us, t, sizeof t);
        /* a long reason goes last, so the columns stay aligned */
        int skipped = f->state == LK_FILE_SKIPPED;
        printf("%-6lld %-28s %12lld %10s %8s %8s %-24s %s", (long long)f->id,
               skipped ? "skipped" : st, (long long)f->size, rows, corrupt, rescued, t, f->path);
        if (skipped) printf("  (%s)", st);
        else if (f->error[0]) printf("  (%s)", f->error);
        if (v[i].cleaned_at_us) printf("  [clean_source: %s]", v[i].clean_note);
        putchar('\n');
        if (f->state >= 0 && f->state < 4) by_state[f->state]++;
    }
    printf("%d file(s): %d pending, %d in batches, %d committed, %d skipped\n", n, by_state[0],
           by_state[1], by_state[2], by_state[3]);
}

static int cmd_list(const lk_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {{"pending", no_argument, 0, 'p'},
                                         {"json", no_argument, 0, 'j'},
                                         {"config", required_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int pending = 0, json = 0, ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'p':
            pending = 1;
            break;
        case 'j':
            json = 1;
            break;
        case 'c':
            break;
        case 'h':
            fputs(k_source_help, stdout);
            return LK_EXIT_OK;
        default:
            fputs(k_source_help, stderr);
            return LK_EXIT_USAGE;
        }
    }
    char path[2048];
    lk_config_state_path(cfg, path, sizeof path);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "lakesupd source list: no state.db at %s (the pipeline never ran here)\n",
                path);
        return LK_EXIT_FAILURE;
    }
    lk_state *st = NULL;
    lk_error err;
    if (lk_state_open(path, &st, &err)) {
        fprintf(stderr, "lakesupd source list: %s\n", err.msg);
        return LK_EXIT_FAILURE;
    }
    lk_state_file_info *v = NULL;
    int n = 0;
    int rc = lk_state_files_report(st, pending, &v, &n, &err);
    lk_state_close(&st);
    if (rc) {
        fprintf(stderr, "lakesupd source list: %s\n", err.msg);
        return LK_EXIT_FAILURE;
    }
    if (json)
        print_json(v, n);
    else
        print_text(v, n);
    free(v);
    return LK_EXIT_OK;
}

int lk_source_cli(const lk_config *cfg, int argc, char **argv)
{
    if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h") ||
        !strcmp(argv[0], "help")) {
        fputs(k_source_help, argc < 1 ? stderr : stdout);
        return argc < 1 ? LK_EXIT_USAGE : LK_EXIT_OK;
    }
    if (!strcmp(argv[0], "list")) return cmd_list(cfg, argc, argv);
    fprintf(stderr, "lakesupd source: unknown sub-command '%s'\n%s", argv[0], k_source_help);
    return LK_EXIT_USAGE;
}
