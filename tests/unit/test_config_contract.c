/* Unit tests for pipeline/lk_config: defaults, a full file, every error
   kind (file, line and key named), trigger forms, durations, the example. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_config.h"

static char dir[256];

static void setup(void)
{
    lk_check_mkdtemp(dir, sizeof dir, "config");
}

static void teardown(void)
{
    lk_check_rm_rf(dir);
}

/* Writes text to <dir>/<name> and returns the path (static buffer). */
static const char *put(const char *name, const char *text)
{
    static char path[160];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void check_defaults(const lk_config *c)
{
    ck_assert_str_eq(c->pipeline, "lakesupd");
    ck_assert_str_eq(c->catalog, "main");
    ck_assert_str_eq(c->schema, "streaming");
    ck_assert_str_eq(c->source_path, "./incoming");
    ck_assert_str_eq(c->checkpoint_path, "./checkpoints");
    ck_assert_str_eq(c->warehouse_path, "./lakehouse");
    ck_assert_int_eq(c->trigger, LK_TRIGGER_CONTINUOUS);
    ck_assert_str_eq(c->log_level, "info");
    ck_assert_int_eq(c->workers.transform, 2);
    ck_assert_int_eq(c->workers.writer, 2);
    ck_assert_str_eq(c->source.format, "json");
    ck_assert_int_eq(c->source.max_files_per_trigger, 1000);
    ck_assert_int_eq(c->source.max_bytes_per_trigger, 268435456);
    ck_assert_int_eq(c->source.chunk_bytes, 2097152);
    ck_assert_int_eq(c->source.include_existing_files, 1);
    ck_assert_int_eq(c->source.schema_inference_sample_bytes, 67108864);
    ck_assert_str_eq(c->tables.compression, "zstd");
    ck_assert_int_eq(c->tables.zstd_level, 3);
    ck_assert_int_eq(c->tables.zstd_adaptive, 1);
    ck_assert_int_eq(c->tables.target_file_size, 134217728);
}

START_TEST(defaults)
{
    lk_config c;
    lk_error err;
    ck_assert_int_eq(lk_config_load(NULL, &c, &err), 0);
    check_defaults(&c);
    ck_assert_str_eq(c.file, "");
    ck_assert_int_eq(lk_config_load(put("empty.yml", ""), &c, &err), 0);
    check_defaults(&c);
    ck_assert_int_eq(lk_config_load(put("comments.yml", "# nothing\n\n"), &c, &err), 0);
    check_defaults(&c);
    char p[1024];
    lk_config_table_path(&c, "raw_events", p, sizeof p);
    ck_assert_str_eq(p, "./lakehouse/main/streaming/raw_events");
    lk_config_state_path(&c, p, sizeof p);
    ck_assert_str_eq(p, "./checkpoints/state.db");
}
END_TEST

START_TEST(full_file)
{
    const char *path = put("full.yml", "pipeline: orders\n"
                                       "catalog: cat\n"
                                       "schema: sch\n"
                                       "source_path: /data/in\n"
                                       "checkpoint_path: /data/ck\n"
                                       "warehouse_path: /data/wh\n"
                                       "trigger: {processing_time: \"5 minutes\"}\n"
                                       "log_level: debug\n"
                                       "workers: {transform: 4, writer: 3}\n"
                                       "source:\n"
                                       "  format: json\n"
                                       "  max_files_per_trigger: 10\n"
                                       "  max_bytes_per_trigger: 1000000\n"
                                       "  chunk_bytes: 65536\n"
                                       "  include_existing_files: false\n"
                                       "  schema_inference_sample_bytes: 1024\n"
                                       "tables:\n"
                                       "  compression: snappy\n"
                                       "  zstd_level: 22\n"
                                       "  zstd_adaptive: false\n"
                                       "  target_file_size: 2097152\n");
    lk_config c;
    lk_error err;
    ck_assert_msg(lk_config_load(path, &c, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(c.file, path);
    ck_assert_str_eq(c.pipeline, "orders");
    ck_assert_str_eq(c.catalog, "cat");
    ck_assert_str_eq(c.schema, "sch");
    ck_assert_str_eq(c.source_path, "/data/in");
    ck_assert_str_eq(c.checkpoint_path, "/data/ck");
    ck_assert_str_eq(c.warehouse_path, "/data/wh");
    ck_assert_int_eq(c.trigger, LK_TRIGGER_PROCESSING_TIME);
    ck_assert_int_eq(c.processing_time_ms, 300000);
    ck_assert_str_eq(c.log_level, "debug");
    ck_assert_int_eq(c.workers.transform, 4);
    ck_assert_int_eq(c.workers.writer, 3);
    ck_assert_int_eq(c.source.max_files_per_trigger, 10);
    ck_assert_int_eq(c.source.max_bytes_per_trigger, 1000000);
    ck_assert_int_eq(c.source.chunk_bytes, 65536);
    ck_assert_int_eq(c.source.include_existing_files, 0);
    ck_assert_int_eq(c.source.schema_inference_sample_bytes, 1024);
    ck_assert_str_eq(c.tables.compression, "snappy");
    ck_assert_int_eq(c.tables.zstd_level, 22);
    ck_assert_int_eq(c.tables.zstd_adaptive, 0);
    ck_assert_int_eq(c.tables.target_file_size, 2097152);
    /* a partial section keeps the other defaults */
    ck_assert_int_eq(lk_config_load(put("part.yml", "workers:\n  writer: 5\n"), &c, &err), 0);
    ck_assert_int_eq(c.workers.transform, 2);
    ck_assert_int_eq(c.workers.writer, 5);
}
END_TEST

/* Loads text, expects LK_ECONFIG and a message with "<file>:<line>: key '<key>'"
   and the fragment what. */
static void expect_error(const char *text, int line, const char *key, const char *what)
{
    const char *path = put("bad.yml", text);
    lk_config c;
    lk_error err;
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(lk_config_load(path, &c, &err), LK_ECONFIG);
    char want[300];
    snprintf(want, sizeof want, "%s:%d: key '%s'", path, line, key);
    ck_assert_msg(strstr(err.msg, want) != NULL, "want '%s' in '%s'", want, err.msg);
    ck_assert_msg(strstr(err.msg, what) != NULL, "want '%s' in '%s'", what, err.msg);
    check_defaults(&c); /* never half a file */
}

START_TEST(errors)
{
    expect_error("pipeline: x\nbogus: 1\n", 2, "bogus", "unknown key");
    expect_error("source:\n  format: json\n  chunk_size: 5\n", 3, "source.chunk_size",
                 "unknown key");
    expect_error("workers:\n  transform: abc\n", 2, "workers.transform", "not an integer");
    expect_error("workers:\n  transform: 65\n", 2, "workers.transform", "out of range");
    expect_error("workers:\n  writer: 0\n", 2, "workers.writer", "out of range");
    expect_error("workers: 3\n", 1, "workers", "expected a mapping");
    expect_error("pipeline:\n  a: b\n", 2, "pipeline", "expected a scalar, got a mapping");
    expect_error("catalog: [a, b]\n", 1, "catalog", "expected a scalar, got a sequence");
    expect_error("\n\nsource:\n  max_files_per_trigger: 0\n", 4, "source.max_files_per_trigger",
                 "out of range");
    expect_error("source:\n  chunk_bytes: 1000\n", 2, "source.chunk_bytes", "out of range");
    expect_error("source:\n  chunk_bytes: 268435457\n", 2, "source.chunk_bytes", "out of range");
    expect_error("source:\n  chunk_bytes: 12abc\n", 2, "source.chunk_bytes", "not an integer");
    expect_error("source:\n  include_existing_files: maybe\n", 2, "source.include_existing_files",
                 "not a boolean");
    expect_error("tables:\n  zstd_level: 23\n", 2, "tables.zstd_level", "out of range");
    expect_error("tables:\n  compression: lz4\n", 2, "tables.compression", "not one of");
    expect_error("log_level: loud\n", 1, "log_level", "not one of");
    expect_error("trigger: sometimes\n", 1, "trigger", "unknown trigger");
    expect_error("trigger: {processing_time: soon}\n", 1, "trigger.processing_time",
                 "bad duration");
    expect_error("trigger:\n  every: 5s\n", 2, "trigger.every", "unknown key");
    expect_error("trigger: [1]\n", 1, "trigger", "got a sequence");
    expect_error("catalog: a/b\n", 1, "catalog", "must not contain");
    /* names that would leave the warehouse or hide there (issue 17) */
    expect_error("catalog: ..\n", 1, "catalog", "must not start with '.'");
    /* a schema deeper than a record batch carries (issue 17: every message undecodable) */
    expect_error("source:\n  schema_hints: \"d ARRAY<ARRAY<ARRAY<ARRAY<ARRAY<ARRAY<ARRAY<ARRAY<"
                 "ARRAY<ARRAY<ARRAY<ARRAY<ARRAY<ARRAY<LONG>>>>>>>>>>>>>>\"\n",
                 2, "source.schema_hints", "column 'd' nests 15 levels of types, more than the 14");
    expect_error("schema: .hidden\n", 1, "schema", "must not start with '.'");
    expect_error("schema: \"a\\tb\"\n", 1, "schema", "holds 0x09");
    expect_error("pipeline: \"a b\"\n", 1, "pipeline", "holds 0x20");
    expect_error("catalog: \"x\\\\y\"\n", 1, "catalog", "holds 0x5C");
    expect_error("source_path: \"\"\n", 1, "source_path", "must not be empty");
    expect_error("pipeline: a\npipeline: b\n", 2, "pipeline", "duplicate key");
    /* in any mapping, not only of the registered keys */
    expect_error("transforms:\n  - derive: {a: \"1\",\n      a: \"2\"}\n", 3,
                 "transforms[0].derive.a", "duplicate key (first at line 2)");
    expect_error("source:\n  mode: PERMISSIVE\n  mode: FAILFAST\n", 3, "source.mode",
                 "duplicate key (first at line 2)");

    /* not key errors, but still clear and LK_ECONFIG */
    lk_config c;
    lk_error err;
    char missing[160];
    snprintf(missing, sizeof missing, "%s/nope.yml", dir);
    ck_assert_int_eq(lk_config_load(missing, &c, &err), LK_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, missing));
    ck_assert_ptr_nonnull(strstr(err.msg, "No such file"));
    const char *p = put("syntax.yml", "a: b\n  c: [\n");
    ck_assert_int_eq(lk_config_load(p, &c, &err), LK_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, p));
    ck_assert_ptr_nonnull(strstr(err.msg, "YAML"));
    p = put("list.yml", "- a\n- b\n");
    ck_assert_int_eq(lk_config_load(p, &c, &err), LK_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "top level"));
}
END_TEST

START_TEST(triggers)
{
    lk_trigger t;
    ck_assert_int_eq(lk_config_parse_trigger("continuous", &t), 0);
    ck_assert_int_eq(t, LK_TRIGGER_CONTINUOUS);
    ck_assert_int_eq(lk_config_parse_trigger("available_now", &t), 0);
    ck_assert_int_eq(t, LK_TRIGGER_AVAILABLE_NOW);
    ck_assert_int_eq(lk_config_parse_trigger("available-now", &t), 0);
    ck_assert_int_eq(t, LK_TRIGGER_AVAILABLE_NOW);
    ck_assert_int_eq(lk_config_parse_trigger("now", &t), LK_ECONFIG);
    ck_assert_int_eq(lk_config_parse_trigger(NULL, &t), LK_ECONFIG);
    ck_assert_str_eq(lk_config_trigger_name(LK_TRIGGER_PROCESSING_TIME), "processing_time");
    ck_assert_str_eq(lk_config_trigger_name(LK_TRIGGER_AVAILABLE_NOW), "available_now");

    lk_config c;
    lk_error err;
    ck_assert_int_eq(lk_config_load(put("t1.yml", "trigger: available-now\n"), &c, &err), 0);
    ck_assert_int_eq(c.trigger, LK_TRIGGER_AVAILABLE_NOW);
    ck_assert_int_eq(lk_config_load(put("t2.yml", "trigger: available_now\n"), &c, &err), 0);
    ck_assert_int_eq(c.trigger, LK_TRIGGER_AVAILABLE_NOW);
    ck_assert_int_eq(lk_config_load(put("t3.yml", "trigger:\n  processing_time: 30s\n"), &c, &err),
                     0);
    ck_assert_int_eq(c.trigger, LK_TRIGGER_PROCESSING_TIME);
    ck_assert_int_eq(c.processing_time_ms, 30000);
    ck_assert_int_eq(lk_config_load(put("t4.yml", "trigger: continuous\n"), &c, &err), 0);
    ck_assert_int_eq(c.trigger, LK_TRIGGER_CONTINUOUS);
}
END_TEST

START_TEST(durations)
{
    int64_t ms = -1;
    ck_assert_int_eq(lk_config_parse_duration("5 minutes", &ms), 0);
    ck_assert_int_eq(ms, 300000);
    ck_assert_int_eq(lk_config_parse_duration("30s", &ms), 0);
    ck_assert_int_eq(ms, 30000);
    ck_assert_int_eq(lk_config_parse_duration("100 ms", &ms), 0);
    ck_assert_int_eq(ms, 100);
    ck_assert_int_eq(lk_config_parse_duration("1h", &ms), 0);
    ck_assert_int_eq(ms, 3600000);
    ck_assert_int_eq(lk_config_parse_duration("2 hours", &ms), 0);
    ck_assert_int_eq(ms, 7200000);
    ck_assert_int_eq(lk_config_parse_duration("1 minute", &ms), 0);
    ck_assert_int_eq(ms, 60000);
    ck_assert_int_eq(lk_config_parse_duration("1.5 seconds", &ms), 0);
    ck_assert_int_eq(ms, 1500);
    ck_assert_int_eq(lk_config_parse_duration(" 10 sec ", &ms), 0);
    ck_assert_int_eq(ms, 10000);
    ck_assert_int_eq(lk_config_parse_duration("1 day", &ms), 0);
    ck_assert_int_eq(ms, 86400000);
    ck_assert_int_eq(lk_config_parse_duration("5", &ms), LK_ECONFIG);
    ck_assert_int_eq(lk_config_parse_duration("minutes", &ms), LK_ECONFIG);
    ck_assert_int_eq(lk_config_parse_duration("-5s", &ms), LK_ECONFIG);
    ck_assert_int_eq(lk_config_parse_duration("5 fortnights", &ms), LK_ECONFIG);
    ck_assert_int_eq(lk_config_parse_duration("", &ms), LK_ECONFIG);
    ck_assert_int_eq(lk_config_parse_duration(NULL, &ms), LK_ECONFIG);
}
END_TEST

START_TEST(example_file_loads)
{
    lk_config c;
    lk_error err;
    const char *path = LK_SOURCE_DIR "/deploy/lakesup.example.yml";
    ck_assert_msg(lk_config_load(path, &c, &err) == 0, "%s", err.msg);
    /* it documents the defaults, so it loads to exactly them */
    check_defaults(&c);
    ck_assert_str_eq(c.file, path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config_contract");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, full_file);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, triggers);
    tcase_add_test(tc, durations);
    tcase_add_test(tc, example_file_loads);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
