/*
 * lk_kafka_mock — a Kafka "broker" for e2e tests: librdkafka's built-in
 * mock cluster (rdkafka_mock.h) in a process of its own, fed by a producer.
 *
 *   lk_kafka_mock --topic T --partitions P --messages N [--corrupt-every K]
 *                 [--report FILE]
 *
 * prints "BOOTSTRAP host:port", produces N messages round-robin over the
 * partitions (value {"event_id":"e<i>","n":i,"user":"u<i%7>"}, key "k<i>";
 * every K-th value is "not json <i>"), writes each delivery as a JSON line
 * {"partition":p,"offset":o,"key":..,"value":..} to FILE, prints
 * "PRODUCED <delivered> FAILED <failed>" once all are delivered, then reads
 * commands from stdin:
 *   produce N [T]   N more messages (ids continue), to topic T (default --topic,
 *                   partitions of T: as created)
 *   topic NAME P    creates topic NAME with P partitions
 *   down / up       takes the (only) broker down / up again
 *   hostile [BYTES] four hostile messages to partition 0 of --topic (issue 17): a null
 *                   value (key "h-null"), a JSON value of BYTES bytes (default 10 MB; the
 *                   mock broker drops older messages from a partition whose log passes
 *                   about 1 MB, so tests send less), a
 *                   value that is not JSON (with a NUL and an 0xff byte), and a binary key
 *                   (00 ff fe 80) with a good value (event_id "h-kafka-binkey")
 * and exits at EOF. The cluster lives as long as the process.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static FILE *g_report;
static long g_total, g_failed, g_delivered;

static void json_str(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    if (m->err) {
        fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
        g_failed++;
        return;
    }
    g_delivered++;
    if (g_report) {
        fprintf(g_report, "{\"topic\":\"%s\",\"partition\":%d,\"offset\":%lld,\"key\":",
                rd_kafka_topic_name(m->rkt), m->partition, (long long)m->offset);
        json_str(g_report, m->key, m->key_len);
        fputs(",\"value\":", g_report);
        if (m->payload)
            json_str(g_report, m->payload, m->len);
        else
            fputs("null", g_report);
        fputs("}\n", g_report);
    }
}

static struct {
    char name[200];
    int parts;
} g_topics[16];
static int g_ntopics;

static int topic_parts(const char *name, const char *main_topic, int main_parts)
{
    for (int i = 0; i < g_ntopics; i++)
        if (!strcmp(g_topics[i].name, name))
            return g_topics[i].parts;
    return strcmp(name, main_topic) ? 1 : main_parts;
}

static void produce(rd_kafka_t *rk, const char *topic, int parts, long n, long corrupt_every)
{
    for (long j = 0; j < n; j++, g_total++) {
        long i = g_total;
        char v[128], k[32];
        if (corrupt_every > 0 && i % corrupt_every == corrupt_every - 1)
            /* two kinds: not an object at all, and an object cut short */
            snprintf(v, sizeof v, (i / corrupt_every) % 2 ? "{\"event_id\":\"e%ld\", broken"
                                                          : "not json %ld",
                     i);
        else
            snprintf(v, sizeof v, "{\"event_id\":\"e%ld\",\"n\":%ld,\"user\":\"u%ld\"}", i, i, i % 7);
        snprintf(k, sizeof k, "k%ld", i);
        while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION((int)(i % parts)),
                                 RD_KAFKA_V_VALUE(v, strlen(v)), RD_KAFKA_V_KEY(k, strlen(k)),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 10);
        rd_kafka_poll(rk, 0);
    }
    while (rd_kafka_outq_len(rk) > 0) /* every message delivered (or failed) */
        rd_kafka_poll(rk, 100);
    if (g_report)
        fflush(g_report);
    printf("PRODUCED %ld FAILED %ld\n", g_delivered, g_failed);
    fflush(stdout);
}

static void send1(rd_kafka_t *rk, const char *topic, const void *k, size_t kn, const void *v,
                  size_t vn)
{
    while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
                             RD_KAFKA_V_VALUE((void *)v, vn), RD_KAFKA_V_KEY(k, kn),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(rk, 10);
    g_total++;
}

static void hostile(rd_kafka_t *rk, const char *topic, size_t n)
{
    send1(rk, topic, "h-null", 6, NULL, 0);
    char *big = malloc(n + 64);
    if (!big)
        abort();
    int at = snprintf(big, 64, "{\"event_id\":\"h-kafka-10mb\",\"message\":\"");
    memset(big + at, 'x', n);
    memcpy(big + at + n, "\"}", 2);
    send1(rk, topic, "h-big", 5, big, (size_t)at + n + 2);
    free(big);
    static const char notjson[] = "not json \0 at all \xff";
    send1(rk, topic, "h-notjson", 9, notjson, sizeof notjson - 1);
    static const char binkey[] = {0, (char)0xff, (char)0xfe, (char)0x80};
    static const char good[] = "{\"event_id\":\"h-kafka-binkey\",\"n\":1}";
    send1(rk, topic, binkey, sizeof binkey, good, sizeof good - 1);
    while (rd_kafka_outq_len(rk) > 0)
        rd_kafka_poll(rk, 100);
    if (g_report)
        fflush(g_report);
    printf("PRODUCED %ld FAILED %ld\n", g_delivered, g_failed);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *topic = "events", *report = NULL;
    int parts = 3;
    long n = 1000, corrupt_every = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--topic")) topic = argv[i + 1];
        else if (!strcmp(argv[i], "--partitions")) parts = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--messages")) n = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--corrupt-every")) corrupt_every = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--report")) report = argv[i + 1];
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (report && !(g_report = fopen(report, "w"))) {
        perror(report);
        return 1;
    }
    char es[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", es, sizeof es) ||
        rd_kafka_conf_set(conf, "message.max.bytes", "20000000", es, sizeof es) ||
        rd_kafka_conf_set(conf, "log_level", "3", es, sizeof es)) {
        fprintf(stderr, "%s\n", es);
        return 1;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, es, sizeof es);
    if (!rk) {
        fprintf(stderr, "%s\n", es);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(rk);
    if (rd_kafka_mock_topic_create(mc, topic, parts, 1)) {
        fprintf(stderr, "cannot create topic %s\n", topic);
        return 1;
    }
    printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    produce(rk, topic, parts, n, corrupt_every);
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
        long more;
        char name[200];
        int p;
        if (sscanf(line, "produce %ld %199s", &more, name) == 2) {
            produce(rk, name, topic_parts(name, topic, parts), more, corrupt_every);
        } else if (sscanf(line, "produce %ld", &more) == 1) {
            produce(rk, topic, parts, more, corrupt_every);
        } else if (!strncmp(line, "hostile", 7)) {
            long bytes = atol(line + 7);
            hostile(rk, topic, bytes > 0 ? (size_t)bytes : 10 * 1000 * 1000);
        } else if (!strncmp(line, "down", 4) || !strncmp(line, "up", 2)) {
            int down = line[0] == 'd';
            int rc = down ? rd_kafka_mock_broker_set_down(mc, 1) : rd_kafka_mock_broker_set_up(mc, 1);
            printf("BROKER %s %d\n", down ? "DOWN" : "UP", rc);
            fflush(stdout);
        } else if (sscanf(line, "topic %199s %d", name, &p) == 2) {
            int rc = rd_kafka_mock_topic_create(mc, name, p, 1);
            if (rc == 0 && g_ntopics < 16) {
                snprintf(g_topics[g_ntopics].name, sizeof g_topics[0].name, "%s", name);
                g_topics[g_ntopics++].parts = p;
            }
            printf("TOPIC %s %d\n", name, rc);
            fflush(stdout);
        }
    }
    rd_kafka_flush(rk, 10000);
    rd_kafka_destroy(rk);
    if (g_report)
        fclose(g_report);
    return 0;
}
