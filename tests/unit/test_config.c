/* Unit tests for pipeline/lk_config: defaults, keys, and errors that name
   file, line and key. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_config.h"

static char g_path[256];

static int load_text(const char *text, lk_config *cfg, lk_error *err)
{
    lk_check_write_file(g_path, sizeof g_path, "cfg", text);
    int rc = lk_config_load(g_path, cfg, err);
    unlink(g_path);
    return rc;
}

START_TEST(defaults_and_full_file)
{
    lk_config c;
    lk_error err;
    ck_assert_int_eq(lk_config_load(NULL, &c, &err), 0);
    ck_assert_str_eq(c.source_path, "./incoming");
    ck_assert_int_eq(c.workers.transform, 2);
    ck_assert_int_eq(c.trigger, LK_TRIGGER_CONTINUOUS);
    char tp[256];
    lk_config_table_path(&c, "raw_events", tp, sizeof tp);
    ck_assert_str_eq(tp, "./lakehouse/main/streaming/raw_events");
    ck_assert_int_eq(load_text("", &c, &err), 0); /* empty file: defaults */
    ck_assert_int_eq(load_text("pipeline: p1\ncatalog: cat\nschema: sch\nsource_path: /s\n"
                               "checkpoint_path: /c\nwarehouse_path: /w\ntrigger: available_now\n"
                               "log_level: debug\nworkers: {transform: 4, writer: 3}\n"
                               "source:\n  format: json\n  max_files_per_trigger: 10\n"
                               "  max_bytes_per_trigger: 1000\n  chunk_bytes: 1048576\n"
                               "  include_existing_files: false\n"
                               "tables:\n  compression: snappy\n  zstd_level: 9\n",
                               &c, &err),
                     0);
    ck_assert_str_eq(c.pipeline, "p1");
    ck_assert_int_eq(c.trigger, LK_TRIGGER_AVAILABLE_NOW);
    ck_assert_int_eq(c.workers.transform, 4);
    ck_assert_int_eq(c.workers.writer, 3);
    ck_assert_int_eq(c.source.max_files_per_trigger, 10);
    ck_assert_int_eq(c.source.include_existing_files, 0);
    ck_assert_str_eq(c.tables.compression, "snappy");
    ck_assert_int_eq(c.worker_timeout_ms, 30000); /* defaults */
    ck_assert_int_eq(c.stop_timeout_ms, 30000);
    ck_assert_int_eq(load_text("worker_timeout: 2s\nstop_timeout: 1 minute\n", &c, &err), 0);
    ck_assert_int_eq(c.worker_timeout_ms, 2000);
    ck_assert_int_eq(c.stop_timeout_ms, 60000);
    ck_assert_int_eq(load_text("trigger:\n  processing_time: \"5 minutes\"\n", &c, &err), 0);
    ck_assert_int_eq(c.trigger, LK_TRIGGER_PROCESSING_TIME);
    ck_assert_int_eq(c.processing_time_ms, 300000);
    /* the shipped example loads */
    ck_assert_msg(lk_config_load(LK_SOURCE_DIR "/deploy/lakesup.example.yml", &c, &err) == 0, "%s",
                  err.msg);
}
END_TEST

static void expect_error(const char *text, const char *line, const char *key, const char *what)
{
    lk_config c;
    lk_error err;
    ck_assert_int_eq(load_text(text, &c, &err), LK_ECONFIG);
    char want[512];
    snprintf(want, sizeof want, "%s:%s: key '%s'", g_path, line, key);
    ck_assert_msg(strstr(err.msg, want) != NULL, "'%s' lacks '%s'", err.msg, want);
    (void)what; /* the wording is free; file, line and key are the contract */
}

START_TEST(errors_name_file_line_key)
{
    expect_error("pipeline: x\nworkers_typo: 3\n", "2", "workers_typo", "unknown key");
    expect_error("workers:\n  transform: abc\n", "2", "workers.transform", "expected an integer");
    expect_error("workers:\n  writer: 0\n", "2", "workers.writer", "out of range");
    expect_error("source:\n  format: parquet\n", "2", "source.format", "unsupported format");
    expect_error("trigger: sometimes\n", "1", "trigger", "expected continuous");
    expect_error("trigger: {processing_time: soon}\n", "1", "trigger.processing_time",
                 "expected a duration");
    expect_error("trigger: {freshness: 0s}\n", "1", "trigger.freshness", "must be positive");
    expect_error("trigger: {processing_time: 1s, freshness: 5s}\n", "1", "trigger.freshness",
                 "not both");
    expect_error("trigger: {latency: 5s}\n", "1", "trigger.latency", "processing_time or freshness");
    expect_error("catalog: [a, b]\n", "1", "catalog", "expected a single value");
    expect_error("source:\n  include_existing_files: maybe\n", "2",
                 "source.include_existing_files", "expected true or false");
    expect_error("tables:\n  compression: lz77\n", "2", "tables.compression", "expected zstd");
    expect_error("pipeline: p\nworker_timeout: soon\n", "2", "worker_timeout", "duration");
    expect_error("stop_timeout: 5ms\n", "1", "stop_timeout", "out of range");
    lk_config c;
    lk_error err;
    ck_assert_int_eq(load_text("a: [\n", &c, &err), LK_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "YAML syntax error"));
    ck_assert_int_eq(lk_config_load("/nonexistent/lakesup.yml", &c, &err), LK_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/lakesup.yml"));
}
END_TEST

START_TEST(durations)
{
    int64_t ms;
    ck_assert_int_eq(lk_config_parse_duration("5 minutes", &ms), 0);
    ck_assert_int_eq(ms, 300000);
    ck_assert_int_eq(lk_config_parse_duration("30s", &ms), 0);
    ck_assert_int_eq(ms, 30000);
    ck_assert_int_eq(lk_config_parse_duration("100 ms", &ms), 0);
    ck_assert_int_eq(ms, 100);
    ck_assert_int_eq(lk_config_parse_duration("2 hours", &ms), 0);
    ck_assert_int_eq(ms, 7200000);
    ck_assert_int_eq(lk_config_parse_duration("soon", &ms), LK_ECONFIG);
    ck_assert_int_eq(lk_config_parse_duration("5 fortnights", &ms), LK_ECONFIG);
}
END_TEST

/* --trigger on the command line: every trigger, and what the worker command line used to
   crash-loop on (a bare processing_time, whose interval is the running configuration's). */
START_TEST(command_line_trigger)
{
    lk_config c;
    lk_error err;
    lk_config_defaults(&c);
    ck_assert_int_eq(lk_config_set_trigger(&c, "available-now", &err), 0);
    ck_assert_int_eq(c.trigger, LK_TRIGGER_AVAILABLE_NOW);
    ck_assert_int_eq(lk_config_set_trigger(&c, "processing-time=2s", &err), 0);
    ck_assert_int_eq(c.trigger, LK_TRIGGER_PROCESSING_TIME);
    ck_assert_int_eq(c.processing_time_ms, 2000);
    ck_assert_int_eq(lk_config_set_trigger(&c, "processing_time", &err), 0); /* keeps 2 s */
    ck_assert_int_eq(c.processing_time_ms, 2000);
    ck_assert_int_eq(lk_config_set_trigger(&c, "processing_time:5 minutes", &err), 0);
    ck_assert_int_eq(c.processing_time_ms, 300000);
    ck_assert_int_eq(lk_config_set_trigger(&c, "continuous", &err), 0);
    ck_assert_int_eq(c.trigger, LK_TRIGGER_CONTINUOUS);
    ck_assert_int_eq(c.processing_time_ms, 0);
    ck_assert_int_eq(lk_config_set_trigger(&c, "processing-time", &err), LK_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "no interval"));
    ck_assert_int_eq(lk_config_set_trigger(&c, "processing-time=0s", &err), LK_ECONFIG);
    ck_assert_int_eq(lk_config_set_trigger(&c, "processing-time=soon", &err), LK_ECONFIG);
    ck_assert_int_eq(lk_config_set_trigger(&c, "sometimes", &err), LK_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "'sometimes'"));
    ck_assert_int_eq(c.trigger, LK_TRIGGER_CONTINUOUS); /* a refused argument changes nothing */
    /* the running configuration the supervisor writes carries the interval to every worker */
    char path[256];
    close(lk_check_mkstemp(path, sizeof path, "trigger"));
    ck_assert_int_eq(lk_config_set_trigger(&c, "processing-time=1500ms", &err), 0);
    ck_assert_int_eq(lk_config_write(&c, path, &err), 0);
    lk_config back;
    ck_assert_msg(lk_config_load(path, &back, &err) == 0, "%s", err.msg);
    unlink(path);
    ck_assert_int_eq(back.trigger, LK_TRIGGER_PROCESSING_TIME);
    ck_assert_int_eq(back.processing_time_ms, 1500);

    /* freshness: the same forms; the two timed triggers never hold both durations */
    ck_assert_int_eq(lk_config_set_trigger(&c, "freshness", &err), LK_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "no objective"));
    ck_assert_int_eq(lk_config_set_trigger(&c, "freshness=5s", &err), 0);
    ck_assert_int_eq(c.trigger, LK_TRIGGER_FRESHNESS);
    ck_assert_int_eq(c.freshness_ms, 5000);
    ck_assert_int_eq(c.processing_time_ms, 0);
    ck_assert_str_eq(lk_config_trigger_name(c.trigger), "freshness");
    ck_assert_int_eq(lk_config_set_trigger(&c, "freshness=later", &err), LK_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "expected freshness=<duration>"));
    ck_assert_int_eq(lk_config_write(&c, path, &err), 0);
    ck_assert_msg(lk_config_load(path, &back, &err) == 0, "%s", err.msg);
    unlink(path);
    ck_assert_int_eq(back.trigger, LK_TRIGGER_FRESHNESS);
    ck_assert_int_eq(back.freshness_ms, 5000);
    ck_assert_int_eq(load_text("trigger:\n  freshness: \"2 seconds\"\n", &back, &err), 0);
    ck_assert_int_eq(back.trigger, LK_TRIGGER_FRESHNESS);
    ck_assert_int_eq(back.freshness_ms, 2000);
}
END_TEST

START_TEST(schema_keys)
{
    lk_config c;
    lk_error err;
    ck_assert_int_eq(lk_config_load(NULL, &c, &err), 0);
    ck_assert_str_eq(c.source.schema_evolution_mode, "add_new_columns");
    ck_assert_str_eq(c.source.rescued_data_column, "_rescued_data");
    ck_assert_str_eq(c.source.mode, "PERMISSIVE");
    ck_assert_int_eq(c.source.infer_column_types, 1);
    ck_assert_int_eq(c.source.schema_inference_sample_size, 1000);
    ck_assert_str_eq(c.source.schema_hints, "");
    ck_assert_int_eq(load_text("source:\n  schema_hints: \"ts TIMESTAMP, tags ARRAY<STRING>\"\n"
                               "  infer_column_types: false\n  schema_inference_sample_size: 5\n"
                               "  rescued_data_column: false\n  mode: FAILFAST\n",
                               &c, &err),
                     0);
    ck_assert_str_eq(c.source.schema_hints, "ts TIMESTAMP, tags ARRAY<STRING>");
    ck_assert_str_eq(c.source.schema_evolution_mode, "add_new_columns");
    ck_assert_str_eq(c.source.rescued_data_column, "");
    ck_assert_str_eq(c.source.mode, "FAILFAST");
    ck_assert_int_eq(c.source.infer_column_types, 0);
    ck_assert_int_eq(c.source.schema_inference_sample_size, 5);
    /* a user schema makes rescue the default; an explicit mode wins */
    ck_assert_int_eq(load_text("source:\n  schema: \"a LONG\"\n  rescued_data_column: _bad\n", &c,
                               &err),
                     0);
    ck_assert_str_eq(c.source.schema_evolution_mode, "rescue");
    ck_assert_str_eq(c.source.rescued_data_column, "_bad");
    ck_assert_int_eq(load_text("source:\n  schema: \"a LONG\"\n  schema_evolution_mode: none\n", &c,
                               &err),
                     0);
    ck_assert_str_eq(c.source.schema_evolution_mode, "none");
    /* the running configuration written for workers reads back the same */
    char out[256];
    close(lk_check_mkstemp(out, sizeof out, "cfgw"));
    ck_assert_int_eq(load_text("source:\n  schema_hints: \"a DECIMAL(10,2)\"\n  rescued_data_column: "
                               "\"\"\n",
                               &c, &err),
                     0);
    ck_assert_int_eq(lk_config_write(&c, out, &err), 0);
    lk_config c2;
    ck_assert_msg(lk_config_load(out, &c2, &err) == 0, "%s", err.msg);
    unlink(out);
    ck_assert_str_eq(c2.source.schema_hints, "a DECIMAL(10,2)");
    ck_assert_str_eq(c2.source.rescued_data_column, "");
    ck_assert_str_eq(c2.source.schema_evolution_mode, "add_new_columns");
    expect_error("source:\n  schema_evolution_mode: sometimes\n", "2", "source.schema_evolution_mode",
                 "");
    expect_error("source:\n  mode: LENIENT\n", "2", "source.mode", "");
    expect_error("source:\n  schema_hints: \"a LONG, b\"\n", "2", "source.schema_hints", "");
    ck_assert_int_eq(load_text("source:\n  schema: \"a MAP<STRING>\"\n", &c, &err), LK_ECONFIG);
    ck_assert_msg(strstr(err.msg, "position 13"), "%s", err.msg);
}
END_TEST

/* The running configuration the supervisor writes for its workers is a new file, not a copy: a
   worker's message must still name the user's file and the line there. Every line the
   configuration keeps reads back as the user's (lines differ in the copy), lk_config_at names
   the user's file, and lines of another shape are never put on the wrong entries. */
START_TEST(running_configuration_names_the_users_file_and_lines)
{
    const char *text = "pipeline: p\n"                                          /* 1 */
                       "# a comment the copy does not have\n"                   /* 2 */
                       "transforms:\n"                                          /* 3 */
                       "  - filter: \"amount > 0\"\n"                           /* 4 */
                       "  - derive:\n"                                          /* 5 */
                       "      a: \"1\"\n"                                       /* 6 */
                       "\n"                                                     /* 7 */
                       "      b: \"2\"\n"                                       /* 8 */
                       "tables:\n"                                              /* 9 */
                       "  raw_events:\n"                                        /* 10 */
                       "    partition_by: [event_date]\n"                       /* 11 */
                       "  d1:\n"                                                /* 12 */
                       "    from: processed_events\n"                           /* 13 */
                       "    partition_by: [a]\n"                                /* 14 */
                       "    transforms:\n"                                      /* 15 */
                       "      - select: [a,\n"                                  /* 16 */
                       "                 b]\n"                                  /* 17 */
                       "transform:\n"                                           /* 18 */
                       "  event_time: ts\n"                                     /* 19 */
                       "  watermark: \"30 seconds\"\n"                          /* 20 */
                       "  dedupe: {keys: [event_id], within: \"10 minutes\"}\n" /* 21 */
                       "metrics:\n"                                             /* 22 */
                       "  window: \"1 minute\"\n"                               /* 23 */
                       "  group_by: [event_type]\n"                             /* 24 */
                       "  aggregates: {n: \"count(*)\"}\n";                     /* 25 */
    char user[256], run[256];
    lk_check_write_file(user, sizeof user, "user", text);
    lk_config c, w;
    lk_error err;
    ck_assert_msg(lk_config_load(user, &c, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(c.has_origin, 0);
    close(lk_check_mkstemp(run, sizeof run, "run"));
    ck_assert_int_eq(lk_config_write(&c, run, &err), 0);
    ck_assert_msg(lk_config_load(run, &w, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(w.file, run); /* what a worker re-reads on SIGHUP */
    ck_assert_str_eq(lk_config_file_name(&w), user);
    char at[1100], want[300];
    snprintf(want, sizeof want, "%s:4", user);
    ck_assert_str_eq(lk_config_at(&w, 4, at, sizeof at), want);
    /* the lines, one by one: the user's, and each one a line of the user's file */
    const lk_step *f = &w.xf.step[w.transforms.first], *dv = f + 1;
    ck_assert_int_eq(w.transforms.n, 2);
    ck_assert_int_eq(f->line, 4);
    ck_assert_int_eq(w.xf.item[f->item0].line, 4);
    ck_assert_int_eq(dv->line, 5);
    ck_assert_int_eq(w.xf.item[dv->item0].line, 6);
    ck_assert_int_eq(w.xf.item[dv->item0 + 1].line, 8);
    ck_assert_int_eq(w.tables.raw_events.partition_by.line, 11);
    ck_assert_int_eq(w.tables.processed_events.partition_by.line, 0); /* a default: no line */
    const lk_derived_table *d = lk_config_derived(&w, "d1");
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(d->line, 12);
    ck_assert_int_eq(d->from_line, 13);
    ck_assert_int_eq(d->partition_by.line, 14);
    const lk_step *sel = &w.xf.step[d->transforms.first];
    ck_assert_int_eq(sel->line, 16);
    ck_assert_int_eq(w.xf.item[sel->item0].line, 16);
    ck_assert_int_eq(w.xf.item[sel->item0 + 1].line, 17);
    ck_assert_int_eq(w.event.event_time_line, 19);
    ck_assert_int_eq(w.event.watermark_line, 20);
    ck_assert_int_eq(w.event.dedupe.line, 21);
    ck_assert_int_eq(w.event.dedupe.key_line[0], 21);
    ck_assert_int_eq(w.metrics.line, 23); /* where its mapping begins */
    ck_assert_int_eq(w.metrics.window_line, 23);
    ck_assert_int_eq(w.metrics.group_line[0], 24);
    ck_assert_int_eq(w.metrics.agg_line[0], 25);
    /* a worker host writes the copy it got again: still the user's file and lines */
    char again[256];
    close(lk_check_mkstemp(again, sizeof again, "again"));
    ck_assert_int_eq(lk_config_write(&w, again, &err), 0);
    lk_config w2;
    ck_assert_msg(lk_config_load(again, &w2, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(lk_config_file_name(&w2), user);
    ck_assert_int_eq(w2.xf.item[w2.xf.step[w2.transforms.first + 1].item0 + 1].line, 8);
    /* without -c: the built-in defaults, named so */
    lk_config def;
    ck_assert_int_eq(lk_config_load(NULL, &def, &err), 0);
    ck_assert_int_eq(lk_config_write(&def, again, &err), 0);
    ck_assert_msg(lk_config_load(again, &w2, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(lk_config_file_name(&w2), "(built-in default)");
    ck_assert_int_eq(w2.xf.step[w2.transforms.first].line, 0);
    /* lines of another shape (one too few): never put on entries they may not be of; the
       messages name the copy and its own lines */
    FILE *fp = fopen(run, "r");
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = 0;
    char *lines = strstr(buf, "  lines: [0, ");
    ck_assert_ptr_nonnull(lines);
    memmove(lines + 10, lines + 13, strlen(lines + 13) + 1); /* the first "0, " */
    fp = fopen(again, "w");
    fputs(buf, fp);
    fclose(fp);
    ck_assert_msg(lk_config_load(again, &w2, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(lk_config_file_name(&w2), again);
    ck_assert_int_eq(w2.has_origin, 0);
    int filter_at = 1; /* the filter's line in the copy */
    for (const char *p = buf; p < strstr(buf, "- {filter: "); p++)
        filter_at += *p == '\n';
    ck_assert_int_eq(w2.xf.step[w2.transforms.first].line, filter_at);
    ck_assert_int_ne(filter_at, 4);
    /* `config show` prints the configuration, not where it came from */
    char *shown = NULL;
    size_t shown_len = 0;
    FILE *ms = open_memstream(&shown, &shown_len);
    lk_config_print(&w, ms);
    fclose(ms);
    ck_assert_ptr_null(strstr(shown, "_origin"));
    free(shown);
    /* a malformed _origin is an error of the file that has it */
    fp = fopen(again, "w");
    fputs("_origin: {file: x, lines: [1, two]}\n", fp);
    fclose(fp);
    ck_assert_int_eq(lk_config_load(again, &w2, &err), LK_ECONFIG);
    ck_assert_msg(strstr(err.msg, ":1: key '_origin.lines': expected a line number"), "%s",
                  err.msg);
    unlink(again);
    unlink(run);
    unlink(user);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, defaults_and_full_file);
    tcase_add_test(tc, schema_keys);
    tcase_add_test(tc, errors_name_file_line_key);
    tcase_add_test(tc, durations);
    tcase_add_test(tc, command_line_trigger);
    tcase_add_test(tc, running_configuration_names_the_users_file_and_lines);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
