/* lk_schema_cli — `lakesupd schema show|history`; see lk_schema_cli.h. */
#include "lk_schema_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_buf.h"
#include "lk_state.h"
#include "lk_tables.h"
#include "lk_time.h"

static lk_schema *for_table(const lk_schema *raw, int processed)
{
    return processed ? lk_tables_processed_schema(raw) : lk_schema_clone(raw);
}

/* "added: a LONG, b STRING; changed: c" between two versions. */
static void diff(const lk_schema *prev, const lk_schema *cur, lk_buf *out)
{
    int n = 0;
    for (int i = 0; i < lk_schema_nfields(cur); i++) {
        const lk_field *f = lk_schema_field(cur, i);
        if (prev && lk_schema_find(prev, f->name) >= 0)
            continue;
        lk_buf_printf(out, "%s%s %s", n++ ? ", " : "added: ", f->name,
                      f->type == LK_TYPE_DECIMAL ? "DECIMAL" : lk_type_name(f->type));
    }
    int m = 0;
    for (int i = 0; prev && i < lk_schema_nfields(cur); i++) {
        const lk_field *f = lk_schema_field(cur, i);
        int k = lk_schema_find(prev, f->name);
        if (k >= 0 && !lk_field_equal(lk_schema_field(prev, k), f))
            lk_buf_printf(out, "%s%s", m++ ? ", " : (n ? "; changed: " : "changed: "), f->name);
    }
    if (!n && !m)
        lk_buf_puts(out, "no change");
}

int lk_schema_cli(const lk_config *cfg, int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : "";
    const char *table = LK_TABLE_RAW;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--table") && i + 1 < argc)
            table = argv[++i];
        else if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
            i++;
        else {
            fprintf(stderr, "lakesupd schema: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    if (strcmp(sub, "show") && strcmp(sub, "history")) {
        fprintf(stderr, "usage: lakesupd schema show|history [--table T] [-c FILE] [--json]\n");
        return 2;
    }
    int processed = !strcmp(table, LK_TABLE_PROCESSED);
    if (!processed && strcmp(table, LK_TABLE_RAW)) {
        fprintf(stderr, "lakesupd schema: unknown table '%s' (raw_events or processed_events)\n",
                table);
        return 2;
    }
    char path[2048];
    lk_config_state_path(cfg, path, sizeof path);
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "lakesupd schema: no state.db at %s (the pipeline has not run)\n", path);
        return 1;
    }
    lk_state *st = NULL;
    lk_error err = {0};
    if (lk_state_open(path, &st, &err)) {
        fprintf(stderr, "lakesupd schema: %s\n", err.msg);
        return 1;
    }
    lk_state_schema_rev *revs = NULL;
    int n = 0;
    if (lk_state_schema_history(st, LK_TABLE_RAW, &revs, &n, &err)) {
        fprintf(stderr, "lakesupd schema: %s\n", err.msg);
        lk_state_close(&st);
        return 1;
    }
    lk_state_close(&st);
    if (n == 0) {
        fprintf(stderr, "lakesupd schema: no schema yet for %s (no file ingested)\n", table);
        lk_state_schema_history_free(&revs, n);
        return 1;
    }
    lk_buf out = LK_BUF_INIT, tmp = LK_BUF_INIT;
    if (!strcmp(sub, "show")) {
        lk_schema *s = for_table(revs[n - 1].schema, processed);
        lk_schema_to_ddl(s, &tmp);
        if (json) {
            lk_buf_printf(&out, "{\"table\":\"%s\",\"version\":%d,\"ddl\":", table,
                          revs[n - 1].version);
            lk_buf_json_string(&out, tmp.data ? tmp.data : "", tmp.len);
            lk_buf_puts(&out, ",\"schema\":");
            lk_schema_to_json(s, &out);
            lk_buf_puts(&out, "}\n");
        } else {
            lk_buf_printf(&out, "table: %s\nversion: %d\n%s\n", table, revs[n - 1].version,
                          tmp.data ? tmp.data : "");
        }
        lk_schema_destroy(&s);
    } else {
        lk_schema *prev = NULL;
        if (json)
            lk_buf_puts(&out, "[");
        for (int i = 0; i < n; i++) {
            lk_schema *s = for_table(revs[i].schema, processed);
            char when[64];
            lk_time_format_iso_ms(revs[i].created_at_us, when, sizeof when);
            lk_buf_reset(&tmp);
            diff(prev, s, &tmp);
            if (json) {
                lk_buf_printf(&out, "%s{\"version\":%d,\"created_at\":\"%s\",\"change\":",
                              i ? "," : "", revs[i].version, when);
                lk_buf_json_string(&out, tmp.data, tmp.len);
                lk_buf_puts(&out, ",\"ddl\":");
                lk_buf ddl = LK_BUF_INIT;
                lk_schema_to_ddl(s, &ddl);
                lk_buf_json_string(&out, ddl.data ? ddl.data : "", ddl.len);
                lk_buf_free(&ddl);
                lk_buf_puts(&out, "}");
            } else {
                lk_buf_printf(&out, "%s version=%d %s  %s\n", table, revs[i].version, when,
                              i ? tmp.data : "initial schema");
            }
            lk_schema_destroy(&prev);
            prev = s;
        }
        lk_schema_destroy(&prev);
        if (json)
            lk_buf_puts(&out, "]\n");
    }
    fwrite(out.data, 1, out.len, stdout);
    lk_buf_free(&out);
    lk_buf_free(&tmp);
    lk_state_schema_history_free(&revs, n);
    return 0;
}
