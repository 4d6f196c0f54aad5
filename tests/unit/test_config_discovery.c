/* Unit tests for the discovery keys of pipeline/lk_config (source.*):
   defaults, values, cross-key errors naming the key, and a write/reload
   round trip of the running configuration. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_config.h"
#include "lk_source_cfg.h"

static int load_text(const char *text, lk_config *cfg, lk_error *err)
{
    char path[512];
    int fd = lk_check_mkstemp(path, sizeof path, "cfgd");
    ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    int rc = lk_config_load(path, cfg, err);
    unlink(path);
    return rc;
}

/* SIGHUP: the discovery timings and rates change live; the keys that decide
   which files exist do not */
START_TEST(live_discovery_keys)
{
    lk_config run, fresh;
    lk_config_defaults(&run);
    lk_config_defaults(&fresh);
    fresh.source.backfill_interval_ms = 2000;
    fresh.source.file_ready_delay_ms = 50;
    fresh.source.max_file_age_ms = 3600000;
    fresh.source.max_files_per_trigger = 7;
    fresh.source.max_bytes_per_trigger = 1 << 20;
    snprintf(fresh.source.path_glob_filter, sizeof fresh.source.path_glob_filter, "*.jsonl");
    snprintf(fresh.source.modified_after, sizeof fresh.source.modified_after, "2026-01-01");
    fresh.source.use_notifications = !run.source.use_notifications;
    char applied[512], refused[512];
    ck_assert_int_eq(lk_config_apply_live(&run, &fresh, applied, sizeof applied, refused,
                                          sizeof refused),
                     5);
    ck_assert_str_eq(applied, "source.max_files_per_trigger, source.max_bytes_per_trigger, "
                              "source.backfill_interval, source.file_ready_delay, "
                              "source.max_file_age");
    ck_assert_ptr_nonnull(strstr(refused, "source.path_glob_filter"));
    ck_assert_ptr_nonnull(strstr(refused, "source.modified_after"));
    ck_assert_ptr_nonnull(strstr(refused, "source.use_notifications"));
    ck_assert_int_eq(run.source.backfill_interval_ms, 2000);
    ck_assert_int_eq(run.source.file_ready_delay_ms, 50);
    ck_assert_int_eq(run.source.max_file_age_ms, 3600000);
    ck_assert_int_eq(run.source.max_files_per_trigger, 7);
    ck_assert_str_eq(run.source.path_glob_filter, "");
}
END_TEST

START_TEST(defaults)
{
    lk_config c;
    lk_config_defaults(&c);
#ifdef __linux__
    ck_assert_int_eq(c.source.use_notifications, 1);
#endif
    ck_assert_int_eq(c.source.backfill_interval_ms, 60000);
    ck_assert_int_eq(c.source.file_ready_delay_ms, 100);
    ck_assert_str_eq(c.source.path_glob_filter, "");
    ck_assert_str_eq(c.source.modified_after, "");
    ck_assert_int_eq(c.source.max_file_age_ms, 0);
    ck_assert_int_eq(c.source.allow_overwrites, 0);
    ck_assert_str_eq(c.source.clean_source, "off");
    ck_assert(c.source.clean_source_retention_duration_ms == 30LL * 86400 * 1000);
    ck_assert_int_eq(c.source.max_files_per_trigger, 1000);
}
END_TEST

START_TEST(values_and_round_trip)
{
    lk_config c, back;
    lk_error err;
    ck_assert_int_eq(load_text("source:\n"
                               "  use_notifications: false\n"
                               "  backfill_interval: 5 minutes\n"
                               "  file_ready_delay: 2s\n"
                               "  path_glob_filter: \"*.jsonl\"\n"
                               "  modified_after: \"2026-01-01T00:00:00Z\"\n"
                               "  modified_before: \"2027-01-01\"\n"
                               "  max_file_age: 7 days\n"
                               "  allow_overwrites: true\n"
                               "  clean_source: move\n"
                               "  clean_source_move_destination: /archive\n"
                               "  clean_source_retention_duration: 0\n"
                               "  max_bytes_per_trigger: 1048576\n",
                               &c, &err),
                     0);
    ck_assert_int_eq(c.source.use_notifications, 0);
    ck_assert_int_eq(c.source.backfill_interval_ms, 300000);
    ck_assert_int_eq(c.source.file_ready_delay_ms, 2000);
    ck_assert_str_eq(c.source.path_glob_filter, "*.jsonl");
    ck_assert_str_eq(c.source.modified_before, "2027-01-01");
    ck_assert(c.source.max_file_age_ms == 7LL * 86400 * 1000);
    ck_assert_int_eq(c.source.allow_overwrites, 1);
    ck_assert_str_eq(c.source.clean_source, "move");
    ck_assert_str_eq(c.source.clean_source_move_destination, "/archive");
    ck_assert_int_eq(c.source.clean_source_retention_duration_ms, 0);
    char path[512];
    close(lk_check_mkstemp(path, sizeof path, "cfgd_w"));
    ck_assert_int_eq(lk_config_write(&c, path, &err), 0);
    ck_assert_int_eq(lk_config_load(path, &back, &err), 0);
    unlink(path);
    ck_assert_str_eq(back.source.path_glob_filter, "*.jsonl");
    ck_assert_str_eq(back.source.modified_after, "2026-01-01T00:00:00Z");
    ck_assert_int_eq(back.source.file_ready_delay_ms, 2000);
    ck_assert_int_eq(back.source.clean_source_retention_duration_ms, 0);
    ck_assert_str_eq(back.source.clean_source, "move");
    /* defaults (empty strings) survive the round trip too */
    lk_config_defaults(&c);
    close(lk_check_mkstemp(path, sizeof path, "cfgd_w"));
    ck_assert_int_eq(lk_config_write(&c, path, &err), 0);
    ck_assert_int_eq(lk_config_load(path, &back, &err), 0);
    unlink(path);
    ck_assert_str_eq(back.source.path_glob_filter, "");
    ck_assert_str_eq(back.source.clean_source, "off");
}
END_TEST

static void expect_error(const char *text, const char *key, const char *what)
{
    lk_config c;
    lk_error err;
    ck_assert_int_eq(load_text(text, &c, &err), LK_ECONFIG);
    ck_assert_msg(strstr(err.msg, key) && strstr(err.msg, what), "message: %s", err.msg);
}

START_TEST(errors_name_the_key)
{
    expect_error("source:\n  clean_source: archive\n", "source.clean_source", "off|delete|move");
    expect_error("source:\n  clean_source: move\n", "clean_source_move_destination", "not set");
    expect_error("source_path: /data/in\nsource:\n  clean_source: move\n"
                 "  clean_source_move_destination: /data/in/done\n",
                 "clean_source_move_destination", "inside source_path");
    expect_error("source:\n  modified_after: yesterday\n", "source.modified_after",
                 "ISO timestamp");
    expect_error("source:\n  modified_before: 2026-13-45\n", "source.modified_before",
                 "ISO timestamp");
    expect_error("source:\n  backfill_interval: often\n", "source.backfill_interval", "duration");
    expect_error("source:\n  use_notifications: sometimes\n", "source.use_notifications",
                 "boolean");
    /* remote workers: a tcp:// endpoint with its allowed keys */
    expect_error("workers:\n  remote:\n    bind: \"ipc:///x\"\n    allowed_keys: /k\n",
                 "workers.remote.bind", "not a tcp:// endpoint");
    expect_error("workers:\n  remote:\n    bind: \"tcp://0.0.0.0:7700\"\n",
                 "workers.remote.allowed_keys", "is required");
    /* what remote transforms cannot do: their batch's watermark and drop list are in
       the pipeline host's state.db */
    expect_error("workers:\n  remote:\n    bind: \"tcp://0.0.0.0:7700\"\n    allowed_keys: /k\n"
                 "transform:\n  event_time: ts\n  watermark: \"30 seconds\"\n"
                 "metrics:\n  window: \"1 minute\"\n  group_by: [event_type]\n"
                 "  aggregates: {n: \"count(*)\"}\n",
                 "workers.remote.bind", "cannot compute metrics");
    expect_error("workers:\n  remote:\n    bind: \"tcp://0.0.0.0:7700\"\n    allowed_keys: /k\n"
                 "transform:\n  event_time: ts\n  watermark: \"30 seconds\"\n"
                 "  dedupe: {keys: [event_id], within: \"10 minutes\"}\n",
                 "transform.dedupe", "cannot drop duplicates");
    expect_error("source:\n  shard: {index: 2, count: 2}\n", "source.shard.index",
                 "not below source.shard.count");
}
END_TEST

/* source.shard: every file in exactly one shard, the shards about even,
   the hash of the path relative to source_path (hosts mounting the shared
   directory elsewhere agree), stable across versions (a golden value) */
START_TEST(shard_split)
{
    lk_config cfg[3];
    for (int i = 0; i < 3; i++) {
        lk_config_defaults(&cfg[i]);
        snprintf(cfg[i].source_path, sizeof cfg[i].source_path, "/mnt/shared/in/");
        cfg[i].source.shard.count = 3;
        cfg[i].source.shard.index = i;
    }
    int per[3] = {0};
    char path[256];
    for (int f = 0; f < 3000; f++) {
        snprintf(path, sizeof path, "/mnt/shared/in/day-%d/events-%05d.jsonl", f % 7, f);
        int owners = 0;
        for (int i = 0; i < 3; i++)
            if (lk_source_cfg_in_shard(&cfg[i], path)) {
                owners++;
                per[i]++;
            }
        ck_assert_int_eq(owners, 1);
    }
    for (int i = 0; i < 3; i++)
        ck_assert_msg(per[i] > 850 && per[i] < 1150, "shard %d has %d of 3000", i, per[i]);
    /* the same file under another mount point: the same shard */
    lk_config other = cfg[0];
    snprintf(other.source_path, sizeof other.source_path, "/data/nfs");
    for (int f = 0; f < 50; f++) {
        char a[256], b[256];
        snprintf(a, sizeof a, "/mnt/shared/in/x/%d.json", f);
        snprintf(b, sizeof b, "/data/nfs/x/%d.json", f);
        ck_assert_int_eq(lk_source_cfg_in_shard(&cfg[0], a), lk_source_cfg_in_shard(&other, b));
    }
    /* FNV-1a 64: a published test vector */
    ck_assert(lk_source_cfg_shard_hash("a") == 0xaf63dc4c8601ec8cULL);
    ck_assert(lk_source_cfg_shard_hash("") == 0xcbf29ce484222325ULL);
    /* one shard: every file */
    lk_config one;
    lk_config_defaults(&one);
    ck_assert(lk_source_cfg_in_shard(&one, "/anything"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config_discovery");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, values_and_round_trip);
    tcase_add_test(tc, errors_name_the_key);
    tcase_add_test(tc, live_discovery_keys);
    tcase_add_test(tc, shard_split);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
