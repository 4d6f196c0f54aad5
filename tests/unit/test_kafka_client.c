/* Unit tests for workers/ingest/lk_kafka_client against librdkafka's mock
   cluster (rdkafka_mock.h: real client protocol, no broker): partition
   discovery with watermarks, planning with max_offsets_per_trigger, exact
   re-reads of a range (replay), starting_offsets, data loss, message lines,
   and the kafka keys of lk_config. */
#include <check.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_config.h"
#include "lk_kafka_record.h"
#include "lk_kafka_client.h"
#include "lk_rowjson.h"
#include "lk_raw.h"

static rd_kafka_t *g_prod;
static rd_kafka_mock_cluster_t *g_mock;

/* A mock cluster with topic t (2 partitions): partition p gets n messages
   {"i":<p*1000+j>,"s":"v<j>"} with key "k<j>". */
static void cluster_up(int n)
{
    char es[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ck_assert_int_eq(rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", es, sizeof es), 0);
    g_prod = rd_kafka_new(RD_KAFKA_PRODUCER, conf, es, sizeof es);
    ck_assert_ptr_nonnull(g_prod);
    g_mock = rd_kafka_handle_mock_cluster(g_prod);
    ck_assert_ptr_nonnull(g_mock);
    ck_assert_int_eq(rd_kafka_mock_topic_create(g_mock, "t", 2, 1), 0);
    for (int p = 0; p < 2; p++)
        for (int j = 0; j < n; j++) {
            char v[64], k[16];
            snprintf(v, sizeof v, "{\"i\":%d,\"s\":\"v%d\"}", p * 1000 + j, j);
            snprintf(k, sizeof k, "k%d", j);
            ck_assert_int_eq(rd_kafka_producev(g_prod, RD_KAFKA_V_TOPIC("t"),
                                               RD_KAFKA_V_PARTITION(p),
                                               RD_KAFKA_V_VALUE(v, strlen(v)),
                                               RD_KAFKA_V_KEY(k, strlen(k)),
                                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                               RD_KAFKA_V_END),
                             0);
        }
    ck_assert_int_eq(rd_kafka_flush(g_prod, 10000), 0);
}

static void cluster_down(void)
{
    rd_kafka_destroy(g_prod); /* destroys its mock cluster */
    g_prod = NULL;
    g_mock = NULL;
}

static void kafka_config(lk_config *c, const char *starting)
{
    lk_config_defaults(c);
    snprintf(c->source.format, sizeof c->source.format, "kafka");
    snprintf(c->source.bootstrap_servers, sizeof c->source.bootstrap_servers, "%s",
             rd_kafka_mock_cluster_bootstraps(g_mock));
    c->source.subscribe.n = 1;
    snprintf(c->source.subscribe.name[0], sizeof c->source.subscribe.name[0], "t");
    snprintf(c->source.starting_offsets, sizeof c->source.starting_offsets, "%s", starting);
}

static int count_lines(const lk_buf *b)
{
    int n = 0;
    for (size_t i = 0; i < b->len; i++)
        n += b->data[i] == '\n';
    return n;
}

static int g_calls;
static int on_line(void *ctx, lk_buf *out, int64_t next)
{
    int64_t *last = ctx;
    ck_assert_int_eq(next, *last + 1); /* offsets in order, none twice */
    *last = next;
    g_calls++;
    return 0;
}

START_TEST(partitions_plan_read_replay)
{
    cluster_up(50);
    lk_config c;
    kafka_config(&c, "earliest");
    lk_kafka_client *k = NULL;
    lk_error err;
    ck_assert_int_eq(lk_kafka_client_new(&c, &k, &err), 0);
    lk_kafka_partition *p = NULL;
    int n = 0;
    ck_assert_int_eq(lk_kafka_client_partitions(k, &p, &n, &err), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(p[0].topic, "t");
    ck_assert_int_eq(p[0].partition, 0);
    ck_assert_int_eq(p[1].partition, 1);
    ck_assert_int_eq(p[0].low, 0);
    ck_assert_int_eq(p[0].high, 50);
    ck_assert_int_eq(p[1].high, 50);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(lk_kafka_client_start_offset(k, &p[i], &p[i].next, &err), 0);
    ck_assert_int_eq(p[0].next, 0);

    /* max_offsets_per_trigger 30: 15 per partition */
    int64_t end[2];
    ck_assert_int_eq(lk_kafka_plan(p, n, 30, 1, end, &err), 30);
    ck_assert_int_eq(end[0], 15);
    ck_assert_int_eq(end[1], 15);

    /* read partition 1 [0, 15): 15 lines, offsets 0..14, the Kafka columns first */
    lk_buf a = LK_BUF_INIT, b = LK_BUF_INIT;
    int64_t last = 0; /* next offset after each line */
    g_calls = 0;
    ck_assert_int_eq(lk_kafka_client_read(k, "t", 1, 0, 15, &a, on_line, &last, &err), 0);
    ck_assert_int_eq(g_calls, 15);
    ck_assert_int_eq(last, 15);
    ck_assert_int_eq(count_lines(&a), 15);
    ck_assert_ptr_nonnull(strstr(a.data, "{\"topic\":\"t\",\"partition\":1,\"offset\":0,\"timestamp\":\""));
    ck_assert_ptr_nonnull(strstr(a.data, "\"key\":\"k0\",\"i\":1000,\"s\":\"v0\"}\n"));
    ck_assert_ptr_nonnull(strstr(a.data, "\"offset\":14,"));
    ck_assert_ptr_null(strstr(a.data, "\"offset\":15,"));
    /* a replay reads exactly the same bytes, also after other reads */
    ck_assert_int_eq(lk_kafka_client_read(k, "t", 0, 10, 20, &b, NULL, NULL, &err), 0);
    ck_assert_int_eq(count_lines(&b), 10);
    lk_buf_reset(&b);
    ck_assert_int_eq(lk_kafka_client_read(k, "t", 1, 0, 15, &b, NULL, NULL, &err), 0);
    ck_assert_uint_eq(a.len, b.len);
    ck_assert_int_eq(memcmp(a.data, b.data, a.len), 0);
    /* a range in the middle */
    lk_buf_reset(&b);
    ck_assert_int_eq(lk_kafka_client_read(k, "t", 0, 40, 50, &b, NULL, NULL, &err), 0);
    ck_assert_int_eq(count_lines(&b), 10);
    ck_assert_ptr_nonnull(strstr(b.data, "\"offset\":40,"));
    ck_assert_ptr_nonnull(strstr(b.data, "\"i\":49,"));

    /* the next plan continues where the last ended; the rest fits */
    p[0].next = end[0];
    p[1].next = end[1];
    ck_assert_int_eq(lk_kafka_plan(p, n, 0, 1, end, &err), 70);
    ck_assert_int_eq(end[0], 50);
    ck_assert_int_eq(end[1], 50);

    /* a range beyond the log is data loss naming topic, partition, offsets */
    lk_buf_reset(&b);
    ck_assert_int_eq(lk_kafka_client_read(k, "t", 0, 45, 60, &b, NULL, NULL, &err),
                     LK_KAFKA_EDATALOSS);
    ck_assert_ptr_nonnull(strstr(err.msg, "topic=t partition=0"));
    ck_assert_ptr_nonnull(strstr(err.msg, "[45, 60)"));
    ck_assert_uint_eq(b.len, 0);

    /* the informational group commit is visible to Kafka tools */
    ck_assert_int_eq(lk_kafka_client_commit(k, "t", 1, 15, &err), 0);
    {
        char es[256];
        rd_kafka_conf_t *cc = rd_kafka_conf_new();
        rd_kafka_conf_set(cc, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(g_mock), es,
                          sizeof es);
        rd_kafka_conf_set(cc, "group.id", "lakesupd-lakesupd", es, sizeof es);
        rd_kafka_t *rc = rd_kafka_new(RD_KAFKA_CONSUMER, cc, es, sizeof es);
        rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(tp, "t", 1);
        int64_t got = -1;
        for (int tries = 0; tries < 50 && got != 15; tries++) {
            if (rd_kafka_committed(rc, tp, 5000) == 0)
                got = tp->elems[0].offset;
            if (got != 15)
                usleep(100000);
        }
        ck_assert_int_eq(got, 15);
        rd_kafka_topic_partition_list_destroy(tp);
        rd_kafka_consumer_close(rc);
        rd_kafka_destroy(rc);
    }

    /* Spark's comma-separated subscribe string */
    ck_assert_int_eq(rd_kafka_mock_topic_create(g_mock, "u", 1, 1), 0);
    snprintf(c.source.subscribe.name[0], sizeof c.source.subscribe.name[0], "x, u,t");
    free(p);
    ck_assert_int_eq(lk_kafka_client_partitions(k, &p, &n, &err), 0);
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(p[2].topic, "u");

    /* a topic created at run time and matching subscribe_pattern is found */
    c.source.subscribe.n = 0;
    snprintf(c.source.subscribe_pattern, sizeof c.source.subscribe_pattern, "^t(-new)?$");
    ck_assert_int_eq(rd_kafka_mock_topic_create(g_mock, "t-new", 3, 1), 0);
    free(p);
    ck_assert_int_eq(lk_kafka_client_partitions(k, &p, &n, &err), 0);
    ck_assert_int_eq(n, 5);
    ck_assert_str_eq(p[4].topic, "t-new");
    ck_assert_int_eq(p[4].partition, 2);
    ck_assert_int_eq(p[4].high, 0);
    free(p);
    lk_buf_free(&a);
    lk_buf_free(&b);
    lk_kafka_client_destroy(&k);
    ck_assert_ptr_null(k);
    cluster_down();
}
END_TEST

static void *broker_up_later(void *arg)
{
    usleep(1500 * 1000);
    rd_kafka_mock_broker_set_up(g_mock, 1);
    return NULL;
}

/* A broker that is away when a range is read: the read waits for it and
   then returns exactly the planned messages. */
START_TEST(broker_away_during_read)
{
    cluster_up(30);
    lk_config c;
    kafka_config(&c, "earliest");
    lk_kafka_client *k = NULL;
    lk_error err;
    ck_assert_int_eq(lk_kafka_client_new(&c, &k, &err), 0);
    lk_buf a = LK_BUF_INIT, b = LK_BUF_INIT;
    ck_assert_int_eq(lk_kafka_client_read(k, "t", 0, 5, 25, &a, NULL, NULL, &err), 0);
    ck_assert_int_eq(count_lines(&a), 20);
    ck_assert_int_eq(rd_kafka_mock_broker_set_down(g_mock, 1), 0);
    pthread_t th;
    pthread_create(&th, NULL, broker_up_later, NULL);
    ck_assert_int_eq(lk_kafka_client_read(k, "t", 0, 5, 25, &b, NULL, NULL, &err), 0);
    pthread_join(th, NULL);
    ck_assert_uint_eq(a.len, b.len);
    ck_assert_int_eq(memcmp(a.data, b.data, a.len), 0);
    lk_buf_free(&a);
    lk_buf_free(&b);
    lk_kafka_client_destroy(&k);
    cluster_down();
}
END_TEST

START_TEST(starting_offsets)
{
    cluster_up(20);
    lk_config c;
    lk_error err;
    lk_kafka_client *k = NULL;
    lk_kafka_partition *p = NULL;
    int n = 0;
    kafka_config(&c, "{\"t\":{\"0\":7,\"1\":-1}}");
    ck_assert_int_eq(lk_kafka_client_new(&c, &k, &err), 0);
    ck_assert_int_eq(lk_kafka_client_partitions(k, &p, &n, &err), 0);
    ck_assert_int_eq(n, 2);
    int64_t s0, s1;
    ck_assert_int_eq(lk_kafka_client_start_offset(k, &p[0], &s0, &err), 0);
    ck_assert_int_eq(lk_kafka_client_start_offset(k, &p[1], &s1, &err), 0);
    ck_assert_int_eq(s0, 7);
    ck_assert_int_eq(s1, 20);
    lk_kafka_client_destroy(&k);
    kafka_config(&c, "latest");
    ck_assert_int_eq(lk_kafka_client_new(&c, &k, &err), 0);
    ck_assert_int_eq(lk_kafka_client_start_offset(k, &p[0], &s0, &err), 0);
    ck_assert_int_eq(s0, 20);
    lk_kafka_client_destroy(&k);
    kafka_config(&c, "{\"t\":{\"0\":99}}");
    ck_assert_int_eq(lk_kafka_client_new(&c, &k, &err), 0);
    ck_assert_int_eq(lk_kafka_client_start_offset(k, &p[0], &s0, &err), LK_KAFKA_EDATALOSS);
    ck_assert_ptr_nonnull(strstr(err.msg, "topic=t partition=0 offset=99"));
    lk_kafka_client_destroy(&k);
    kafka_config(&c, "somewhere");
    ck_assert_int_eq(lk_kafka_client_new(&c, &k, &err), 0);
    ck_assert_int_eq(lk_kafka_client_start_offset(k, &p[0], &s0, &err), LK_ECONFIG);
    lk_kafka_client_destroy(&k);
    free(p);
    cluster_down();
}
END_TEST

START_TEST(plan_budget_and_data_loss)
{
    lk_kafka_partition p[3];
    memset(p, 0, sizeof p);
    for (int i = 0; i < 3; i++) {
        snprintf(p[i].topic, sizeof p[i].topic, "x");
        p[i].partition = i;
    }
    p[0].next = 0, p[0].high = 2;    /* 2 left */
    p[1].next = 10, p[1].high = 100; /* 90 left */
    p[2].next = 5, p[2].high = 5;    /* nothing */
    int64_t end[3];
    lk_error err;
    /* 20 spread: partition 0 takes its 2, partition 1 the other 18 */
    ck_assert_int_eq(lk_kafka_plan(p, 3, 20, 1, end, &err), 20);
    ck_assert_int_eq(end[0], 2);
    ck_assert_int_eq(end[1], 28);
    ck_assert_int_eq(end[2], 5);
    /* log start moved past next: fail_on_data_loss names what is gone */
    p[1].low = 15;
    ck_assert_int_eq(lk_kafka_plan(p, 3, 0, 1, end, &err), LK_KAFKA_EDATALOSS);
    ck_assert_ptr_nonnull(strstr(err.msg, "topic=x partition=1 offsets [10, 15)"));
    /* fail_on_data_loss false: continues at the log start */
    ck_assert_int_eq(lk_kafka_plan(p, 3, 0, 0, end, &err), 2 + 85);
    ck_assert_int_eq(p[1].next, 15);
    ck_assert_int_eq(end[1], 100);
}
END_TEST

/* the transform's side: a corrupt value keeps its Kafka columns, and
   _corrupt_record holds the value as received; valid rows are untouched */
START_TEST(corrupt_values_keep_kafka_columns)
{
    lk_schema *data = lk_schema_new();
    lk_schema_add(data, "key", LK_TYPE_STRING, 1);
    lk_schema_add(data, "topic", LK_TYPE_STRING, 1);
    lk_schema_add(data, "partition", LK_TYPE_LONG, 1);
    lk_schema_add(data, "offset", LK_TYPE_LONG, 1);
    lk_schema_add(data, "timestamp", LK_TYPE_TIMESTAMP, 1);
    lk_schema_add(data, "a", LK_TYPE_LONG, 1);
    lk_schema *raw = lk_raw_schema(data);
    lk_batch *b = lk_batch_new(raw), *scratch = NULL;
    static const char *values[] = {"{\"a\":1}", "not\njson", "{\"a\":2,broken", "{\"a\":3}",
                                   "[1]", NULL, "{\"a\":\"x\"}", "\n {\"a\":7} "};
    lk_buf chunk = LK_BUF_INIT, tmp = LK_BUF_INIT, row = LK_BUF_INIT;
    for (int i = 0; i < 8; i++)
        lk_kafka_record_line(&chunk, "ev", 2, 40 + i, 1795512600000LL + i, i == 3 ? NULL : "k", 1,
                      values[i], values[i] ? strlen(values[i]) : 0);
    lk_json_reader *jr = lk_json_reader_new();
    lk_source_meta meta = {"kafka://ev/2", "2", 47, 0};
    lk_raw_stats st = {0};
    lk_error err;
    ck_assert_int_eq(lk_json_reader_parse(jr, chunk.data, chunk.len, &meta, 0, b, &st, &err), 0);
    ck_assert_int_eq(st.corrupt, 3);
    ck_assert_int_eq(lk_kafka_record_fix_rows(jr, chunk.data, chunk.len, 0, &meta, &b, &scratch, &tmp,
                                       &err),
                     3);
    ck_assert_int_eq(lk_batch_nrows(b), 8);
    const char *want[] = {
        "{\"key\":\"k\",\"topic\":\"ev\",\"partition\":2,\"offset\":40,"
        "\"timestamp\":\"2026-11-24T09:30:00.000000Z\",\"a\":1,\"_rescued_data\":null,"
        "\"_corrupt_record\":null",
        "{\"key\":\"k\",\"topic\":\"ev\",\"partition\":2,\"offset\":41,"
        "\"timestamp\":\"2026-11-24T09:30:00.001000Z\",\"a\":null,\"_rescued_data\":null,"
        "\"_corrupt_record\":\"not json\"",
        "{\"key\":\"k\",\"topic\":\"ev\",\"partition\":2,\"offset\":42,"
        "\"timestamp\":\"2026-11-24T09:30:00.002000Z\",\"a\":null,\"_rescued_data\":null,"
        "\"_corrupt_record\":\"{\\\"a\\\":2,broken\"",
        "{\"key\":null,\"topic\":\"ev\",\"partition\":2,\"offset\":43,",
        "\"offset\":44,\"timestamp\":\"2026-11-24T09:30:00.004000Z\",\"a\":null,"
        "\"_rescued_data\":null,\"_corrupt_record\":\"[1]\"",
        "\"offset\":45,\"timestamp\":\"2026-11-24T09:30:00.005000Z\",\"a\":null,"
        "\"_rescued_data\":null,\"_corrupt_record\":null",
        "\"offset\":46,\"timestamp\":\"2026-11-24T09:30:00.006000Z\",\"a\":null,"
        "\"_rescued_data\":\"{\\\"a\\\":\\\"x\\\",\\\"_file_path\\\":\\\"kafka://ev/2\\\"}\","
        "\"_corrupt_record\":null",
        /* whitespace around the value's object: a valid row */
        "\"offset\":47,\"timestamp\":\"2026-11-24T09:30:00.007000Z\",\"a\":7,"
        "\"_rescued_data\":null,\"_corrupt_record\":null"};
    for (uint32_t r = 0; r < 8; r++) {
        lk_buf_reset(&row);
        lk_rowjson_append(b, r, &row);
        ck_assert_msg(strstr(row.data, want[r]), "row %u: %s", r, row.data);
    }
    /* file_offset still points at each message's line */
    lk_buf_reset(&row);
    lk_rowjson_append(b, 2, &row);
    const char *third = strstr(chunk.data, "{\"topic\":\"ev\",\"partition\":2,\"offset\":42");
    char off[64];
    snprintf(off, sizeof off, "\"file_offset\":%td}", third - chunk.data);
    ck_assert_msg(strstr(row.data, off), "%s", row.data);
    /* a chunk without corrupt rows is left alone */
    lk_batch_reset(b);
    lk_buf_reset(&chunk);
    lk_kafka_record_line(&chunk, "ev", 0, 1, -1, NULL, 0, "{\"a\":5}", 7);
    ck_assert_int_eq(lk_json_reader_parse(jr, chunk.data, chunk.len, &meta, 0, b, &st, &err), 0);
    lk_batch *before = b;
    ck_assert_int_eq(lk_kafka_record_fix_rows(jr, chunk.data, chunk.len, 0, &meta, &b, &scratch, &tmp,
                                       &err),
                     0);
    ck_assert_ptr_eq(b, before);
    lk_json_reader_destroy(&jr);
    lk_batch_destroy(&b);
    lk_batch_destroy(&scratch);
    lk_schema_destroy(&raw);
    lk_schema_destroy(&data);
    lk_buf_free(&chunk);
    lk_buf_free(&tmp);
    lk_buf_free(&row);
}
END_TEST

START_TEST(lines_and_paths)
{
    lk_buf b = LK_BUF_INIT;
    lk_kafka_record_line(&b, "t", 3, 42, 0, "k", 1, " {\"a\":1}", 8);
    ck_assert_str_eq(b.data, " {\"topic\":\"t\",\"partition\":3,\"offset\":42,\"timestamp\":"
                             "\"1970-01-01T00:00:00.000Z\",\"key\":\"k\",\"a\":1}\n");
    lk_buf_reset(&b);
    lk_kafka_record_line(&b, "t", 0, 1, -1, NULL, 0, "{ }", 3); /* empty object, no key */
    ck_assert_str_eq(b.data, "{\"topic\":\"t\",\"partition\":0,\"offset\":1,\"timestamp\":null,"
                             "\"key\":null }\n");
    lk_buf_reset(&b);
    lk_kafka_record_line(&b, "t", 0, 2, -1, "\xff\x01", 2, NULL, 0); /* tombstone, binary key */
    ck_assert_str_eq(b.data, "{\"topic\":\"t\",\"partition\":0,\"offset\":2,\"timestamp\":null,"
                             "\"key\":\"\\u00ff\\u0001\"}\n");
    lk_buf_reset(&b);
    lk_kafka_record_line(&b, "t", 0, 3, -1, NULL, 0, "not\njson", 8); /* kept whole, one line */
    ck_assert_str_eq(b.data, "{\"topic\":\"t\",\"partition\":0,\"offset\":3,\"timestamp\":null,"
                             "\"key\":null\x01not json\n");
    /* every kind of line gives its value back whole (newlines as spaces) */
    static const char *values[] = {" {\"a\":1}", "{ }", "not\njson", "{\"a\":1,broken",
                                    "\t{ \"a\" : [1, 2] } trailing", "{", "  {", "", "[1,2]",
                                    "{}{}", "{,\"a\":1}"};
    lk_buf v = LK_BUF_INIT;
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        lk_buf_reset(&b);
        lk_kafka_record_line(&b, "to\"p", 7, 99, 5, "\xffk", 2, values[i], strlen(values[i]));
        ck_assert_int_eq(b.data[b.len - 1], '\n');
        size_t cs, ce;
        ck_assert_int_eq(lk_kafka_record_split(b.data, b.len - 1, &cs, &ce, &v), 1);
        char want[64];
        snprintf(want, sizeof want, "%s", values[i]);
        for (char *q = want; *q; q++)
            if (*q == '\n')
                *q = ' ';
        ck_assert_uint_eq(v.len, strlen(want));
        ck_assert_msg(!memcmp(v.data, want, v.len), "value %zu: %.*s", i, (int)v.len, v.data);
        ck_assert(!memcmp(b.data + cs, "{\"topic\":\"to\\\"p\",\"partition\":7,\"offset\":99,", 41));
        ck_assert(!memcmp(b.data + ce - 15, "\"key\":\"\\u00ffk\"", 15));
    }
    size_t cs, ce;
    ck_assert_int_eq(lk_kafka_record_split("{\"a\":1}", 7, &cs, &ce, &v), 0);
    ck_assert_int_eq(lk_kafka_record_split("{\"topic\":\"t", 11, &cs, &ce, &v), 0);
    lk_buf_free(&v);
    lk_buf_free(&b);

    char topic[256];
    int32_t part;
    ck_assert_int_eq(lk_kafka_record_path_parse("kafka://a/b.c/12", topic, sizeof topic, &part), 0);
    ck_assert_str_eq(topic, "a/b.c");
    ck_assert_int_eq(part, 12);
    ck_assert_int_eq(lk_kafka_record_path_parse("/data/x.json", topic, sizeof topic, &part), LK_EFORMAT);
    ck_assert_int_eq(lk_kafka_record_path_parse("kafka://t/x", topic, sizeof topic, &part), LK_EFORMAT);
    ck_assert_int_eq(lk_kafka_record_path_parse("kafka:///1", topic, sizeof topic, &part), LK_EFORMAT);
}
END_TEST

START_TEST(config_keys)
{
    char path[512];
    int fd = lk_check_mkstemp(path, sizeof path, "kcfg");
    const char *text = "source:\n"
                       "  format: kafka\n"
                       "  bootstrap_servers: \"b1:9092,b2:9092\"\n"
                       "  subscribe: [events, clicks]\n"
                       "  starting_offsets: '{\"events\":{\"0\":23,\"1\":-2}}'\n"
                       "  max_offsets_per_trigger: 1000\n"
                       "  fail_on_data_loss: false\n"
                       "  kafka.security.protocol: SASL_SSL\n"
                       "  kafka:\n"
                       "    sasl.mechanism: PLAIN\n";
    ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    lk_config c, back;
    lk_error err;
    ck_assert_int_eq(lk_config_load(path, &c, &err), 0);
    ck_assert_str_eq(c.source.format, "kafka");
    ck_assert_str_eq(c.source.bootstrap_servers, "b1:9092,b2:9092");
    ck_assert_int_eq(c.source.subscribe.n, 2);
    ck_assert_str_eq(c.source.subscribe.name[1], "clicks");
    ck_assert_str_eq(c.source.starting_offsets, "{\"events\":{\"0\":23,\"1\":-2}}");
    ck_assert_int_eq(c.source.max_offsets_per_trigger, 1000);
    ck_assert_int_eq(c.source.fail_on_data_loss, 0);
    ck_assert_str_eq(c.source.kafka_props, "security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\n");
    /* the running configuration written for workers reads back the same */
    ck_assert_int_eq(lk_config_write(&c, path, &err), 0);
    ck_assert_int_eq(lk_config_load(path, &back, &err), 0);
    ck_assert_str_eq(back.source.kafka_props, c.source.kafka_props);
    ck_assert_str_eq(back.source.starting_offsets, c.source.starting_offsets);
    ck_assert_int_eq(back.source.subscribe.n, 2);
    /* max_offsets_per_trigger reloads live; the servers take a restart */
    back.source.max_offsets_per_trigger = 5;
    snprintf(back.source.bootstrap_servers, sizeof back.source.bootstrap_servers, "other:1");
    char applied[256], refused[256];
    ck_assert_int_eq(lk_config_apply_live(&c, &back, applied, sizeof applied, refused,
                                          sizeof refused), 1);
    ck_assert_str_eq(applied, "source.max_offsets_per_trigger");
    ck_assert_str_eq(refused, "source.bootstrap_servers");
    ck_assert_int_eq(c.source.max_offsets_per_trigger, 5);
    /* defaults */
    lk_config_defaults(&c);
    ck_assert_str_eq(c.source.starting_offsets, "earliest");
    ck_assert_int_eq(c.source.fail_on_data_loss, 1);
    ck_assert_int_eq(c.source.max_offsets_per_trigger, 0);
    ck_assert_str_eq(c.source.value_format, "json");
    /* a bad librdkafka property is named */
    c.source.subscribe.n = 1;
    snprintf(c.source.bootstrap_servers, sizeof c.source.bootstrap_servers, "localhost:1");
    snprintf(c.source.kafka_props, sizeof c.source.kafka_props, "no.such.property=1\n");
    lk_kafka_client *k = NULL;
    ck_assert_int_eq(lk_kafka_client_new(&c, &k, &err), LK_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "source.kafka.no.such.property"));
    c.source.bootstrap_servers[0] = '\0';
    ck_assert_int_eq(lk_kafka_client_new(&c, &k, &err), LK_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "bootstrap_servers"));
    unlink(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kafka_source");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, lines_and_paths);
    tcase_add_test(tc, corrupt_values_keep_kafka_columns);
    tcase_add_test(tc, plan_budget_and_data_loss);
    tcase_add_test(tc, config_keys);
    tcase_add_test(tc, partitions_plan_read_replay);
    tcase_add_test(tc, starting_offsets);
    tcase_add_test(tc, broker_away_during_read);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
