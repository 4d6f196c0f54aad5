/*
 * lk_kafka_client — librdkafka client for ingest: partition discovery with
 * watermarks, offset-range planning, and exact re-reads by assign + seek.
 * See lk_kafka_client.h for how offsets map onto state.db's batches.
 */
#include "lk_kafka_client.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_dl.h"
#include "lk_json.h"
#include "lk_log.h"
#include "lk_time.h"

/*
 * librdkafka is loaded (dlopen) by the first Kafka source, not linked: every
 * process of the tree is the same binary, and a linked librdkafka brings
 * OpenSSL and SASL with it, ~2 MiB of resident relocated library pages in
 * each of the 8 processes (the supervisor, monitor, committer, writers and
 * transforms never talk to Kafka). The calls below go through this table;
 * the types and constants still come from rdkafka.h.
 */
static struct rk_api {
    void *lib;
    rd_kafka_conf_t *(*conf_new)(void);
    void (*conf_destroy)(rd_kafka_conf_t *);
    rd_kafka_conf_res_t (*conf_set)(rd_kafka_conf_t *, const char *, const char *, char *, size_t);
    void (*conf_set_log_cb)(rd_kafka_conf_t *,
                            void (*)(const rd_kafka_t *, int, const char *, const char *));
    void (*conf_set_error_cb)(rd_kafka_conf_t *, void (*)(rd_kafka_t *, int, const char *, void *));
    rd_kafka_t *(*new_)(rd_kafka_type_t, rd_kafka_conf_t *, char *, size_t);
    void (*destroy)(rd_kafka_t *);
    rd_kafka_resp_err_t (*set_log_queue)(rd_kafka_t *, rd_kafka_queue_t *);
    rd_kafka_resp_err_t (*poll_set_consumer)(rd_kafka_t *);
    rd_kafka_message_t *(*consumer_poll)(rd_kafka_t *, int);
    rd_kafka_resp_err_t (*consumer_close)(rd_kafka_t *);
    void (*message_destroy)(rd_kafka_message_t *);
    const char *(*message_errstr)(const rd_kafka_message_t *);
    int64_t (*message_timestamp)(const rd_kafka_message_t *, rd_kafka_timestamp_type_t *);
    const char *(*err2str)(rd_kafka_resp_err_t);
    const char *(*err2name)(rd_kafka_resp_err_t);
    rd_kafka_resp_err_t (*assign)(rd_kafka_t *, const rd_kafka_topic_partition_list_t *);
    rd_kafka_resp_err_t (*commit)(rd_kafka_t *, const rd_kafka_topic_partition_list_t *, int);
    rd_kafka_topic_partition_list_t *(*topic_partition_list_new)(int);
    void (*topic_partition_list_destroy)(rd_kafka_topic_partition_list_t *);
    rd_kafka_topic_partition_t *(*topic_partition_list_add)(rd_kafka_topic_partition_list_t *,
                                                            const char *, int32_t);
    rd_kafka_resp_err_t (*query_watermark_offsets)(rd_kafka_t *, const char *, int32_t, int64_t *,
                                                   int64_t *, int);
    rd_kafka_resp_err_t (*metadata)(rd_kafka_t *, int, rd_kafka_topic_t *,
                                    const struct rd_kafka_metadata **, int);
    void (*metadata_destroy)(const struct rd_kafka_metadata *);
    /* consumer groups (source.group_id) */
    rd_kafka_resp_err_t (*subscribe)(rd_kafka_t *, const rd_kafka_topic_partition_list_t *);
    void (*conf_set_rebalance_cb)(rd_kafka_conf_t *,
                                  void (*)(rd_kafka_t *, rd_kafka_resp_err_t,
                                           rd_kafka_topic_partition_list_t *, void *));
    void (*conf_set_opaque)(rd_kafka_conf_t *, void *);
    rd_kafka_resp_err_t (*pause_partitions)(rd_kafka_t *, rd_kafka_topic_partition_list_t *);
    rd_kafka_resp_err_t (*last_error)(void);
} g_rk;

/* Loads librdkafka and resolves the table once; 0 or LK_EUNSUPPORTED. */
static int rk_load(lk_error *err)
{
    if (g_rk.lib)
        return 0;
    const lk_dl_fn fns[] = {
#define RK_FN(f) {"rd_kafka_" #f, &g_rk.f}
        RK_FN(conf_new), RK_FN(conf_destroy), RK_FN(conf_set), RK_FN(conf_set_log_cb),
        RK_FN(conf_set_error_cb), {"rd_kafka_new", &g_rk.new_}, RK_FN(destroy),
        RK_FN(set_log_queue), RK_FN(poll_set_consumer), RK_FN(consumer_poll),
        RK_FN(consumer_close), RK_FN(message_destroy), RK_FN(message_errstr),
        RK_FN(message_timestamp), RK_FN(err2str), RK_FN(err2name), RK_FN(assign), RK_FN(commit),
        RK_FN(topic_partition_list_new), RK_FN(topic_partition_list_destroy),
        RK_FN(topic_partition_list_add), RK_FN(query_watermark_offsets), RK_FN(metadata),
        RK_FN(metadata_destroy), RK_FN(subscribe), RK_FN(conf_set_rebalance_cb),
        RK_FN(conf_set_opaque), RK_FN(pause_partitions), RK_FN(last_error),
#undef RK_FN
    };
    void *h = lk_dl_load("librdkafka.so.1", "librdkafka1", fns, sizeof fns / sizeof fns[0], err);
    if (!h) {
        lk_error_prefix(err, "format: kafka");
        return LK_EUNSUPPORTED;
    }
    g_rk.lib = h; /* kept loaded for the life of the process */
    return 0;
}

/* function-like, so that "struct rd_kafka_metadata" keeps its name */
#define rd_kafka_conf_new() g_rk.conf_new()
#define rd_kafka_conf_destroy(...) g_rk.conf_destroy(__VA_ARGS__)
#define rd_kafka_conf_set(...) g_rk.conf_set(__VA_ARGS__)
#define rd_kafka_conf_set_log_cb(...) g_rk.conf_set_log_cb(__VA_ARGS__)
#define rd_kafka_conf_set_error_cb(...) g_rk.conf_set_error_cb(__VA_ARGS__)
#define rd_kafka_new(...) g_rk.new_(__VA_ARGS__)
#define rd_kafka_last_error() g_rk.last_error()
#define rd_kafka_destroy(...) g_rk.destroy(__VA_ARGS__)
#define rd_kafka_set_log_queue(...) g_rk.set_log_queue(__VA_ARGS__)
#define rd_kafka_poll_set_consumer(...) g_rk.poll_set_consumer(__VA_ARGS__)
#define rd_kafka_consumer_poll(...) g_rk.consumer_poll(__VA_ARGS__)
#define rd_kafka_consumer_close(...) g_rk.consumer_close(__VA_ARGS__)
#define rd_kafka_message_destroy(...) g_rk.message_destroy(__VA_ARGS__)
#define rd_kafka_message_errstr(...) g_rk.message_errstr(__VA_ARGS__)
#define rd_kafka_message_timestamp(...) g_rk.message_timestamp(__VA_ARGS__)
#define rd_kafka_err2str(...) g_rk.err2str(__VA_ARGS__)
#define rd_kafka_err2name(...) g_rk.err2name(__VA_ARGS__)
#define rd_kafka_assign(...) g_rk.assign(__VA_ARGS__)
#define rd_kafka_commit(...) g_rk.commit(__VA_ARGS__)
#define rd_kafka_topic_partition_list_new(...) g_rk.topic_partition_list_new(__VA_ARGS__)
#define rd_kafka_topic_partition_list_destroy(...) g_rk.topic_partition_list_destroy(__VA_ARGS__)
#define rd_kafka_topic_partition_list_add(...) g_rk.topic_partition_list_add(__VA_ARGS__)
#define rd_kafka_query_watermark_offsets(...) g_rk.query_watermark_offsets(__VA_ARGS__)
#define rd_kafka_metadata(...) g_rk.metadata(__VA_ARGS__)
#define rd_kafka_metadata_destroy(...) g_rk.metadata_destroy(__VA_ARGS__)
#define rd_kafka_subscribe(...) g_rk.subscribe(__VA_ARGS__)
#define rd_kafka_conf_set_rebalance_cb(...) g_rk.conf_set_rebalance_cb(__VA_ARGS__)
#define rd_kafka_conf_set_opaque(...) g_rk.conf_set_opaque(__VA_ARGS__)
#define rd_kafka_pause_partitions(...) g_rk.pause_partitions(__VA_ARGS__)

#define META_TIMEOUT_MS 5000
#define IDLE_TIMEOUT_MS 30000 /* no message while offsets are still owed: broker gone */

struct lk_kafka_client {
    const lk_config *cfg;
    rd_kafka_t *rk;
    /* source.group_id: a second handle, a member of the consumer group that
       only takes part in the group protocol (its partitions are paused: it
       never fetches); its assignment is what this instance plans */
    rd_kafka_t *member;
    lk_kafka_tp *owned;
    int nowned, owned_cap;
    int changed;  /* the assignment changed since lk_kafka_client_group_poll said so */
    int assigned; /* an assignment was received at least once */
    char errstr[512];
};

static int set_prop(rd_kafka_conf_t *conf, const char *name, const char *val, lk_error *err)
{
    char es[256];
    if (rd_kafka_conf_set(conf, name, val, es, sizeof es) != RD_KAFKA_CONF_OK)
        return lk_error_set(err, LK_ECONFIG, "source.kafka.%s: %s", name, es);
    return 0;
}

/* librdkafka's log lines in ours. With log.queue they arrive on the
   consumer queue, i.e. in this thread while it polls (never concurrently). */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    if (level <= 4)
        LK_WARN("librdkafka %s: %s", fac, buf);
    else
        LK_DEBUG("librdkafka %s: %s", fac, buf);
}

/* Client-level errors (broker down, ...) repeat what the log already said. */
static void on_error(rd_kafka_t *rk, int e, const char *reason, void *opaque)
{
    LK_DEBUG("librdkafka error %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)e), reason);
}

/* Serves queued events (logs, errors) between reads. */
static void drain_events(lk_kafka_client *k)
{
    rd_kafka_message_t *m;
    while ((m = rd_kafka_consumer_poll(k->rk, 0)))
        rd_kafka_message_destroy(m);
}

/* A client configuration: the brokers, group.id, no automatic offset
   commit or store (offsets are the pipeline's), librdkafka's log through our
   queue; then extra (name, value pairs, NULL-terminated) and the user's
   source.kafka properties last, so that they win. 0, or an error. */
static int new_conf(const lk_config *cfg, const char *group, const char *const *extra,
                    rd_kafka_conf_t **out, lk_error *err)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int rc = set_prop(conf, "bootstrap.servers", cfg->source.bootstrap_servers, err);
    if (!rc) rc = set_prop(conf, "group.id", group, err);
    if (!rc) rc = set_prop(conf, "enable.auto.commit", "false", err);
    if (!rc) rc = set_prop(conf, "enable.auto.offset.store", "false", err);
    for (int i = 0; !rc && extra && extra[i]; i += 2)
        rc = set_prop(conf, extra[i], extra[i + 1], err);
    if (!rc) rc = set_prop(conf, "log.queue", "true", err);
    char name[256], val[1024];
    for (const char *line = cfg->source.kafka_props; !rc && lk_config_prop_next(&line, name, val);)
        rc = set_prop(conf, name, val, err);
    if (rc) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_error_cb(conf, on_error);
    *out = conf;
    return 0;
}

/* rd_kafka_new failed: a property librdkafka refuses only as a whole (a missing CA file, a SASL
   mechanism it lacks) is the configuration's fault, no restart helps (exit 100, which a service
   manager does not restart). Anything else (its threads not starting in time on a loaded machine
   or across a clock jump, no memory) is transient: the supervisor restarts ingest with its backoff
   instead of stopping the pipeline. */
static int new_failed(const char *what, const char *errstr, lk_error *err)
{
    rd_kafka_resp_err_t why = rd_kafka_last_error();
    int code = why == RD_KAFKA_RESP_ERR__INVALID_ARG || why == RD_KAFKA_RESP_ERR__NOT_IMPLEMENTED
                   ? LK_ECONFIG
                   : -EAGAIN;
    return lk_error_set(err, code, "cannot create the Kafka %s (%s): %s", what,
                        rd_kafka_err2name(why), errstr);
}

int lk_kafka_client_new(const lk_config *cfg, lk_kafka_client **out, lk_error *err)
{
    *out = NULL;
    int lrc = rk_load(err);
    if (lrc)
        return lrc;
    if (!cfg->source.bootstrap_servers[0])
        return lk_error_set(err, LK_ECONFIG, "source.bootstrap_servers is required for format: kafka");
    if (!cfg->source.subscribe.n && !cfg->source.subscribe_pattern[0])
        return lk_error_set(err, LK_ECONFIG,
                            "format: kafka needs source.subscribe (topics) or source.subscribe_pattern");
    char group[200];
    snprintf(group, sizeof group, "lakesupd-%s", cfg->pipeline);
    /* offsets are the pipeline's: the group only names the client, nothing
       is committed automatically and a missing offset is an error, not a
       silent jump (auto.offset.reset=error); a range is read by assign +
       fetch: a long fetch wait would be paid once per range (500 ms by
       default), not once per idle poll */
    static const char *const fetcher[] = {"auto.offset.reset", "error", "enable.partition.eof",
                                          "true", "fetch.wait.max.ms", "10", NULL};
    rd_kafka_conf_t *conf = NULL;
    int rc = new_conf(cfg, group, fetcher, &conf, err);
    if (rc)
        return rc;
    lk_kafka_client *k = calloc(1, sizeof *k);
    if (!k)
        abort();
    k->cfg = cfg;
    k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, k->errstr, sizeof k->errstr);
    if (!k->rk) {
        rc = new_failed("client", k->errstr, err); /* before anything else resets the error */
        rd_kafka_conf_destroy(conf);
        free(k);
        return rc;
    }
    rd_kafka_set_log_queue(k->rk, NULL); /* the main queue, */
    rd_kafka_poll_set_consumer(k->rk);   /* forwarded to the consumer queue */
    *out = k;
    return 0;
}

/* The group protocol's callback (in lk_kafka_client_group_poll's thread): the
   assignment is kept and the partitions paused, so that the member never
   fetches a message; offsets are the tables' (docs/decisions.md). */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t e,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    lk_kafka_client *k = opaque;
    k->nowned = 0;
    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int i = 0; parts && i < parts->cnt; i++) {
            if (k->nowned == k->owned_cap) {
                k->owned_cap = k->owned_cap ? k->owned_cap * 2 : 16;
                k->owned = realloc(k->owned, (size_t)k->owned_cap * sizeof *k->owned);
                if (!k->owned)
                    abort();
            }
            lk_kafka_tp *tp = &k->owned[k->nowned++];
            snprintf(tp->topic, sizeof tp->topic, "%s", parts->elems[i].topic);
            tp->partition = parts->elems[i].partition;
        }
        rd_kafka_assign(rk, parts);
        if (parts)
            rd_kafka_pause_partitions(rk, parts);
        k->assigned = 1;
    } else {
        rd_kafka_assign(rk, NULL);
    }
    k->changed = 1;
}

int lk_kafka_client_join(lk_kafka_client *k, lk_error *err)
{
    const lk_config *cfg = k->cfg;
    rd_kafka_conf_t *conf = NULL;
    int rc = new_conf(cfg, cfg->source.group_id, NULL, &conf, err);
    if (rc)
        return rc;
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_opaque(conf, k);
    k->member = rd_kafka_new(RD_KAFKA_CONSUMER, conf, k->errstr, sizeof k->errstr);
    if (!k->member) {
        rc = new_failed("group member", k->errstr, err);
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    rd_kafka_set_log_queue(k->member, NULL);
    rd_kafka_poll_set_consumer(k->member);
    /* the same topics as the plan lists: names, and the pattern as a regex */
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(8);
    const lk_name_list *l = &cfg->source.subscribe;
    for (int i = 0; i < l->n; i++)
        for (const char *c = l->name[i]; *c;) {
            size_t len = strcspn(c, ",");
            char t[256];
            snprintf(t, sizeof t, "%.*s", (int)len, c);
            for (size_t e2 = strlen(t); e2 && t[e2 - 1] == ' ';)
                t[--e2] = '\0';
            if (t[0])
                rd_kafka_topic_partition_list_add(subs, t, RD_KAFKA_PARTITION_UA);
            c += len;
            c += *c == ',';
            while (*c == ' ')
                c++;
        }
    if (cfg->source.subscribe_pattern[0]) {
        char pat[300];
        snprintf(pat, sizeof pat, "%s%s", cfg->source.subscribe_pattern[0] == '^' ? "" : "^",
                 cfg->source.subscribe_pattern);
        rd_kafka_topic_partition_list_add(subs, pat, RD_KAFKA_PARTITION_UA);
    }
    rd_kafka_resp_err_t e = rd_kafka_subscribe(k->member, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (e)
        return lk_error_set(err, -EAGAIN, "Kafka subscribe (group %s): %s", cfg->source.group_id,
                            rd_kafka_err2str(e));
    return 0;
}

int lk_kafka_client_group_poll(lk_kafka_client *k)
{
    if (!k->member)
        return 0;
    rd_kafka_message_t *m;
    while ((m = rd_kafka_consumer_poll(k->member, 0)))
        rd_kafka_message_destroy(m); /* paused: events only */
    int c = k->changed;
    k->changed = 0;
    return c;
}

int lk_kafka_client_owned(const lk_kafka_client *k, const lk_kafka_tp **tps)
{
    *tps = k->owned;
    return k->assigned ? k->nowned : -1;
}

int lk_kafka_client_owns(const lk_kafka_client *k, const char *topic, int32_t partition)
{
    if (!k->member)
        return 1;
    for (int i = 0; i < k->nowned; i++)
        if (k->owned[i].partition == partition && !strcmp(k->owned[i].topic, topic))
            return 1;
    return 0;
}

void lk_kafka_client_destroy(lk_kafka_client **pk)
{
    lk_kafka_client *k = *pk;
    if (!k)
        return;
    if (k->member) {
        /* leave the group at once: the others get our partitions without
           waiting for the session timeout */
        rd_kafka_consumer_close(k->member);
        rd_kafka_destroy(k->member);
    }
    free(k->owned);
    rd_kafka_assign(k->rk, NULL);
    rd_kafka_consumer_close(k->rk);
    rd_kafka_destroy(k->rk);
    free(k);
    *pk = NULL;
}

static int wanted(const lk_kafka_client *k, const char *topic, const regex_t *re)
{
    const lk_name_list *l = &k->cfg->source.subscribe;
    size_t tn = strlen(topic);
    for (int i = 0; i < l->n; i++) /* an entry may be Spark's "t1,t2,t3" */
        for (const char *c = l->name[i]; *c;) {
            size_t len = strcspn(c, ",");
            while (len && c[len - 1] == ' ')
                len--;
            if (len == tn && !strncmp(c, topic, tn))
                return 1;
            c += strcspn(c, ",");
            c += *c == ',';
            while (*c == ' ')
                c++;
        }
    return re && regexec(re, topic, 0, NULL, 0) == 0;
}

static int cmp_part(const void *a, const void *b)
{
    const lk_kafka_partition *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

int lk_kafka_client_partitions(lk_kafka_client *k, lk_kafka_partition **out, int *n, lk_error *err)
{
    *out = NULL;
    *n = 0;
    regex_t re, *rep = NULL;
    if (k->cfg->source.subscribe_pattern[0]) {
        if (regcomp(&re, k->cfg->source.subscribe_pattern, REG_EXTENDED | REG_NOSUB))
            return lk_error_set(err, LK_ECONFIG, "source.subscribe_pattern: bad regex '%s'",
                                k->cfg->source.subscribe_pattern);
        rep = &re;
    }
    drain_events(k);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(k->rk, 1, NULL, &md, META_TIMEOUT_MS);
    if (e) {
        if (rep)
            regfree(rep);
        return lk_error_set(err, -EAGAIN, "Kafka metadata from %s: %s",
                            k->cfg->source.bootstrap_servers, rd_kafka_err2str(e));
    }
    int cap = 0, rc = 0;
    lk_kafka_partition *v = NULL;
    for (int t = 0; t < md->topic_cnt && rc == 0; t++) {
        const rd_kafka_metadata_topic_t *mt = &md->topics[t];
        if (mt->err || !wanted(k, mt->topic, rep) || !strncmp(mt->topic, "__", 2))
            continue;
        for (int p = 0; p < mt->partition_cnt; p++) {
            if (*n == cap) {
                cap = cap ? cap * 2 : 16;
                v = realloc(v, (size_t)cap * sizeof *v);
                if (!v)
                    abort();
            }
            lk_kafka_partition *kp = &v[*n];
            memset(kp, 0, sizeof *kp);
            snprintf(kp->topic, sizeof kp->topic, "%s", mt->topic);
            kp->partition = mt->partitions[p].id;
            kp->next = -1;
            e = rd_kafka_query_watermark_offsets(k->rk, kp->topic, kp->partition, &kp->low,
                                                 &kp->high, META_TIMEOUT_MS);
            if (e) {
                rc = lk_error_set(err, -EAGAIN, "Kafka watermarks of topic=%s partition=%d: %s",
                                  kp->topic, kp->partition, rd_kafka_err2str(e));
                break;
            }
            (*n)++;
        }
    }
    rd_kafka_metadata_destroy(md);
    if (rep)
        regfree(rep);
    if (rc) {
        free(v);
        *n = 0;
        return rc;
    }
    if (*n)
        qsort(v, (size_t)*n, sizeof *v, cmp_part);
    *out = v;
    return 0;
}

int lk_kafka_client_start_offset(const lk_kafka_client *k, const lk_kafka_partition *p,
                                 int64_t *start, lk_error *err)
{
    const char *so = k->cfg->source.starting_offsets;
    if (!*so || !strcmp(so, "earliest")) {
        *start = p->low;
        return 0;
    }
    if (!strcmp(so, "latest")) {
        *start = p->high;
        return 0;
    }
    char es[256];
    yajl_val doc = yajl_tree_parse(so, es, sizeof es);
    if (!doc || !YAJL_IS_OBJECT(doc)) {
        if (doc)
            yajl_tree_free(doc);
        return lk_error_set(err, LK_ECONFIG,
                            "source.starting_offsets: neither earliest, latest nor JSON like "
                            "{\"topic\":{\"0\":23,\"1\":-2}}: %s",
                            so);
    }
    char pn[16];
    snprintf(pn, sizeof pn, "%d", p->partition);
    yajl_val t = lk_json_get(doc, p->topic);
    yajl_val o = t ? lk_json_get(t, pn) : NULL;
    int64_t v = -2;
    if (o && !YAJL_IS_INTEGER(o)) {
        yajl_tree_free(doc);
        return lk_error_set(err, LK_ECONFIG, "source.starting_offsets: %s/%s is not an integer",
                            p->topic, pn);
    }
    if (o)
        v = YAJL_GET_INTEGER(o);
    yajl_tree_free(doc);
    if (v == -2)
        *start = p->low;
    else if (v == -1)
        *start = p->high;
    else if (v < p->low || v > p->high)
        return lk_error_set(err, LK_KAFKA_EDATALOSS,
                            "source.starting_offsets: topic=%s partition=%d offset=%lld is outside "
                            "the log [%lld, %lld)",
                            p->topic, p->partition, (long long)v, (long long)p->low,
                            (long long)p->high);
    else
        *start = v;
    return 0;
}

int64_t lk_kafka_plan(lk_kafka_partition *p, int n, int64_t max_offsets, int fail_on_data_loss,
                      int64_t *end, lk_error *err)
{
    for (int i = 0; i < n; i++) {
        if (p[i].next < p[i].low) {
            if (fail_on_data_loss)
                return lk_error_set(err, LK_KAFKA_EDATALOSS,
                                    "data loss: topic=%s partition=%d offsets [%lld, %lld) were "
                                    "deleted before they were read (fail_on_data_loss: true)",
                                    p[i].topic, p[i].partition, (long long)p[i].next,
                                    (long long)p[i].low);
            LK_WARN("data loss: topic=%s partition=%d offsets [%lld, %lld) were deleted before "
                    "they were read; continuing at %lld (fail_on_data_loss: false)",
                    p[i].topic, p[i].partition, (long long)p[i].next, (long long)p[i].low,
                    (long long)p[i].low);
            p[i].next = p[i].low;
        }
        end[i] = p[i].next;
    }
    /* spread the budget evenly: rounds of an equal share over the
       partitions that still have offsets, until the budget or the data ends */
    int64_t budget = max_offsets > 0 ? max_offsets : INT64_MAX, total = 0;
    for (;;) {
        int open = 0;
        for (int i = 0; i < n; i++)
            open += end[i] < p[i].high;
        if (!open || budget <= 0)
            break;
        int64_t share = budget == INT64_MAX ? INT64_MAX : (budget + open - 1) / open;
        for (int i = 0; i < n && budget > 0; i++) {
            int64_t take = p[i].high - end[i];
            if (take <= 0)
                continue;
            if (take > share)
                take = share;
            if (take > budget)
                take = budget;
            end[i] += take;
            total += take;
            if (budget != INT64_MAX)
                budget -= take;
        }
    }
    return total;
}

int lk_kafka_client_check(lk_kafka_client *k, const char *topic, int32_t partition, int64_t start,
                          int64_t end, lk_error *err)
{
    int64_t low = 0, high = 0;
    rd_kafka_resp_err_t e =
        rd_kafka_query_watermark_offsets(k->rk, topic, partition, &low, &high, META_TIMEOUT_MS);
    if (e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || e == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
        e == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION)
        return lk_error_set(err, LK_KAFKA_EDATALOSS,
                            "data loss: topic=%s partition=%d no longer exists; planned offsets "
                            "[%lld, %lld) cannot be read: %s",
                            topic, partition, (long long)start, (long long)end,
                            rd_kafka_err2str(e));
    if (e)
        return lk_error_set(err, -EAGAIN, "Kafka watermarks of topic=%s partition=%d: %s", topic,
                            partition, rd_kafka_err2str(e));
    if (low > start || high < end)
        return lk_error_set(err, LK_KAFKA_EDATALOSS,
                            "data loss: topic=%s partition=%d planned offsets [%lld, %lld) but the "
                            "log holds [%lld, %lld)",
                            topic, partition, (long long)start, (long long)end, (long long)low,
                            (long long)high);
    return 0;
}

int lk_kafka_client_commit(lk_kafka_client *k, const char *topic, int32_t partition,
                           int64_t next_offset, lk_error *err)
{
    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(tp, topic, partition)->offset = next_offset;
    rd_kafka_resp_err_t e = rd_kafka_commit(k->member ? k->member : k->rk, tp, 1);
    rd_kafka_topic_partition_list_destroy(tp);
    if (e)
        return lk_error_set(err, -EAGAIN, "Kafka offset commit topic=%s partition=%d offset=%lld: %s",
                            topic, partition, (long long)next_offset, rd_kafka_err2str(e));
    return 0;
}

int lk_kafka_client_read(lk_kafka_client *k, const char *topic, int32_t partition, int64_t start,
                         int64_t end, lk_buf *out, lk_kafka_line_fn on_line, void *ctx,
                         lk_error *err)
{
    if (start >= end)
        return 0;
    int rc = lk_kafka_client_check(k, topic, partition, start, end, err);
    if (rc)
        return rc;
    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(tp, topic, partition)->offset = start;
    rd_kafka_resp_err_t e = rd_kafka_assign(k->rk, tp);
    rd_kafka_topic_partition_list_destroy(tp);
    if (e)
        return lk_error_set(err, -EAGAIN, "Kafka assign topic=%s partition=%d offset=%lld: %s",
                            topic, partition, (long long)start, rd_kafka_err2str(e));
    int64_t at = start, idle_since = lk_time_mono_ms();
    while (at < end && rc == 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(k->rk, 200);
        if (!m) {
            if (lk_time_mono_ms() - idle_since > IDLE_TIMEOUT_MS)
                rc = lk_error_set(err, -ETIMEDOUT,
                                  "Kafka topic=%s partition=%d: no message for %d s at offset=%lld "
                                  "(planned up to %lld)",
                                  topic, partition, IDLE_TIMEOUT_MS / 1000, (long long)at,
                                  (long long)end);
            continue;
        }
        idle_since = lk_time_mono_ms();
        if (m->err) {
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                /* the log ends before the planned end: the rest is
                   transaction markers or was removed */
                int past = m->offset >= end;
                rd_kafka_message_destroy(m);
                if (past)
                    break;
                continue;
            }
            if (m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE ||
                m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET)
                rc = lk_error_set(err, LK_KAFKA_EDATALOSS,
                                  "data loss: topic=%s partition=%d offset=%lld is out of range "
                                  "(planned [%lld, %lld)): %s",
                                  topic, partition, (long long)at, (long long)start,
                                  (long long)end, rd_kafka_message_errstr(m));
            else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                LK_WARN("Kafka topic=%s partition=%d: %s", topic, partition,
                        rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->offset < at || m->offset < start) { /* a stale fetch of an earlier read */
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->offset >= end) {
            rd_kafka_message_destroy(m);
            break;
        }
        rd_kafka_timestamp_type_t tt;
        int64_t ts = rd_kafka_message_timestamp(m, &tt);
        lk_kafka_record_line(out, topic, partition, m->offset, ts, m->key, m->key_len, m->payload,
                      m->len);
        at = m->offset + 1;
        rd_kafka_message_destroy(m);
        if (on_line && on_line(ctx, out, at) < 0)
            rc = -ECANCELED;
    }
    rd_kafka_assign(k->rk, NULL);
    return rc;
}
