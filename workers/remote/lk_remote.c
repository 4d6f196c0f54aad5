/*
 * lk_remote — the gateway that lets transforms of other hosts join a
 * running pipeline (workers.remote). It is a worker of the pipeline host
 * (role "remote", started by the supervisor when workers.remote.bind is
 * set) and binds one ROUTER on TCP with CURVE: its server key is
 * lk_keys_server's, and its own ZAP handler lets in only the public keys
 * of workers.remote.allowed_keys (czmq's zcertstore, re-read when the
 * directory changes), logging every refusal with the key and the peer's
 * address.
 *
 * Each worker host (`lakesupd worker-host`, lk_worker_host.c) runs local
 * transform processes in a run directory of its own and carries their
 * links over this one connection. Here each remote link becomes a local
 * one of the same kind, so that ingest, the writers and the monitor see
 * remote transforms exactly as local ones:
 *   - a remote transform's chunks link → a DEALER of ours connected to
 *     ingest's chunks ROUTER (one per remote link: its credits stay its own);
 *   - remote transform i → a ROUTER of ours bound at records-<i> (i in
 *     LK_EP_REMOTE_FIRST..LAST), which the writers follow like a local
 *     transform's: each writer's link travels to the host and back;
 *   - what the transform tells the monitor → our PUSH to the monitor.
 * Transforms read a chunk's raw_events schema version from state.db: the
 * host keeps a copy, and before a chunk of a version it has not seen, the
 * gateway sends it the versions it lacks on the same connection (so they
 * arrive first).
 *
 * A host that stays silent for LK_REMOTE_TIMEOUT_MS (killed, its network
 * gone) or says one of its transforms died is handled as a local transform
 * death: its links are closed and ingest replays every uncommitted batch
 * (generations drop what the lost transforms had sent). Remote transforms
 * are not local workers: the supervisor's scale targets do not count them;
 * this worker's progress (remote_hosts, remote_transforms, hosts) shows them
 * in `lakesupd status`.
 */
#include "lk_remote.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_endpoint.h"
#include "lk_exit.h"
#include "lk_fs.h"
#include "lk_keys.h"
#include "lk_log.h"
#include "lk_msg.h"
#include "lk_state.h"
#include "lk_tables.h"
#include "lk_time.h"

#define MAX_HOSTS 16
#define MAX_LINKS 64
#define NSLOTS (LK_EP_REMOTE_LAST - LK_EP_REMOTE_FIRST + 1)

typedef struct link {
    unsigned char id[64]; /* the host's routing id of the transform's chunks link */
    size_t len;
    zsock_t *dealer; /* → ingest's chunks ROUTER */
} link_t;

typedef struct host {
    int used;
    unsigned char rid[256]; /* our ROUTER's routing id of the host */
    size_t rid_len;
    char name[128], peer[80], key[LK_KEY_TXT];
    char nonce[24]; /* of the HELLO it was welcomed for */
    long pid;
    int welcomed;
    int n, idx[NSLOTS];       /* its transforms' indexes */
    zsock_t *records[NSLOTS]; /* ROUTER bound at records-<idx[k]> */
    link_t links[MAX_LINKS];
    int nlinks;
    int schema_sent; /* raw_events versions the host has */
    int64_t last_ms, chunks, records_msgs;
} host_t;

#define NREFUSALS 16
#define REFUSAL_LOG_MS 60000
typedef struct refusal { /* a refused key and address, for refusal_due */
    char key[LK_KEY_TXT], address[64];
    int64_t at_ms; /* last logged; 0 = free */
    long unlogged;
} refusal;

typedef struct gw {
    lk_worker *w;
    const lk_config *cfg;
    zsock_t *front, *zap, *monitor, *ingest;
    zcertstore_t *allowed;
    lk_state *st;
    host_t hosts[MAX_HOSTS];
    int slot_used[NSLOTS];
    char chunks_ep[1200];
    int64_t beat_ms;
    lk_buf buf;
    lk_error err;
    refusal refusals[NREFUSALS];
} gw_t;

/* A message that cannot be sent, to a peer gone (ROUTER_MANDATORY) or in an interrupted call,
   is dropped whole (the links' replay covers it). */
static void send_msg(zmsg_t **m, zsock_t *to)
{
    lk_zmsg_send(m, to, 0);
}

/* ---- ZAP: who may connect ---- */

/* A peer refused keeps reconnecting (ZeroMQ retries every few hundred ms):
   its refusal is logged once a minute per key and address, with how many
   went unlogged; 0 = do not log this one. */
static int refusal_due(gw_t *g, const char *key, const char *address, long *more)
{
    int64_t now = lk_time_mono_ms();
    refusal *oldest = &g->refusals[0];
    for (int i = 0; i < NREFUSALS; i++) {
        refusal *r = &g->refusals[i];
        if (r->at_ms && !strcmp(r->key, key) && !strcmp(r->address, address)) {
            if (now - r->at_ms < REFUSAL_LOG_MS) {
                r->unlogged++;
                return 0;
            }
            *more = r->unlogged;
            r->unlogged = 0;
            r->at_ms = now;
            return 1;
        }
        if (r->at_ms < oldest->at_ms) oldest = r;
    }
    snprintf(oldest->key, sizeof oldest->key, "%s", key);
    snprintf(oldest->address, sizeof oldest->address, "%s", address);
    oldest->unlogged = 0;
    oldest->at_ms = now;
    return 1;
}

/* One ZAP request (RFC 27): version, id, domain, address, identity,
   mechanism, then the client's 32-byte public key for CURVE. */
static void zap_serve(gw_t *g)
{
    zmsg_t *req = zmsg_recv(g->zap);
    if (!req) return;
    char *version = zmsg_popstr(req), *id = zmsg_popstr(req), *domain = zmsg_popstr(req),
         *address = zmsg_popstr(req), *identity = zmsg_popstr(req), *mech = zmsg_popstr(req);
    zframe_t *cred = zmsg_pop(req);
    char key[LK_KEY_TXT] = "";
    int ok = 0;
    if (mech && !strcmp(mech, "CURVE") && cred && zframe_size(cred) == 32) {
        zmq_z85_encode(key, zframe_data(cred), 32);
        ok = zcertstore_lookup(g->allowed, key) != NULL;
    }
    if (!ok) {
        long more = 0;
        char unlogged[96] = "";
        if (refusal_due(g, key, address ? address : "?", &more)) {
            if (more)
                snprintf(unlogged, sizeof unlogged,
                         "; %ld refusal(s) of it not logged in the last minute", more);
            LK_WARN("refused a worker host: key %s from %s is not in workers.remote.allowed_keys "
                    "(%s)%s",
                    key[0] ? key : "(no CURVE key)", address ? address : "?",
                    g->cfg->workers.remote.allowed_keys, unlogged);
        }
    } else
        LK_INFO("worker host key %s from %s accepted", key, address ? address : "?");
    zmsg_t *rep = zmsg_new();
    zmsg_addstr(rep, "1.0");
    zmsg_addstr(rep, id ? id : "");
    zmsg_addstr(rep, ok ? "200" : "400");
    zmsg_addstr(rep, ok ? "OK" : "key not allowed");
    zmsg_addstr(rep, ok ? key : "");
    zmsg_addmem(rep, NULL, 0);
    send_msg(&rep, g->zap);
    free(version), free(id), free(domain), free(address), free(identity), free(mech);
    zframe_destroy(&cred);
    zmsg_destroy(&req);
}

/* ---- hosts ---- */

static void send_ingest(gw_t *g, const char *name, const char *reason)
{
    lk_msg_event e;
    lk_msg_event_init(&e, name);
    lk_msg_event_set_str(&e, "reason", reason);
    lk_buf_reset(&g->buf);
    lk_msg_event_encode(&e, &g->buf);
    if (zmq_send(zsock_resolve(g->ingest), g->buf.data, g->buf.len, ZMQ_DONTWAIT) < 0)
        LK_WARN("cannot tell ingest '%s': %s", name, strerror(errno));
}

static zmsg_t *to_host(const host_t *h, const char *kind)
{
    zmsg_t *m = zmsg_new();
    zmsg_addmem(m, h->rid, h->rid_len);
    zmsg_addstr(m, kind);
    return m;
}

static void publish(gw_t *g)
{
    int nh = 0, nt = 0;
    char list[1024] = "";
    size_t at = 0;
    for (int i = 0; i < MAX_HOSTS; i++) {
        host_t *h = &g->hosts[i];
        if (!h->used || !h->welcomed) continue;
        nh++;
        nt += h->n;
        int k = snprintf(list + at, sizeof list - at, "%s%s@%s transforms=%d chunks=%lld",
                         at ? "; " : "", h->name, h->peer, h->n, (long long)h->chunks);
        if (k > 0 && (size_t)k < sizeof list - at) at += (size_t)k;
    }
    lk_worker_set(g->w, "remote_hosts", nh);
    lk_worker_set(g->w, "remote_transforms", nt);
    lk_worker_set_str(g->w, "hosts", list);
}

/* The host is gone or lost a transform: what its transforms held is
   replayed, as for a local transform that died. */
static void drop_host(gw_t *g, host_t *h, const char *why, int say_bye)
{
    LK_WARN("worker host %s (%s, key %s, %d transform(s), %lld chunks) leaves: %s; replaying what "
            "it held",
            h->name, h->peer, h->key, h->n, (long long)h->chunks, why);
    if (say_bye) {
        zmsg_t *m = to_host(h, "BYE");
        zmsg_addstr(m, why);
        send_msg(&m, g->front);
    }
    for (int i = 0; i < h->nlinks; i++)
        zsock_destroy(&h->links[i].dealer);
    for (int k = 0; k < h->n; k++) {
        zsock_destroy(&h->records[k]);
        g->slot_used[h->idx[k] - LK_EP_REMOTE_FIRST] = 0;
    }
    int had = h->welcomed;
    memset(h, 0, sizeof *h);
    if (had) send_ingest(g, "replay", "remote");
    publish(g);
}

static host_t *find_host(gw_t *g, const unsigned char *rid, size_t len)
{
    for (int i = 0; i < MAX_HOSTS; i++)
        if (g->hosts[i].used && g->hosts[i].rid_len == len && !memcmp(g->hosts[i].rid, rid, len))
            return &g->hosts[i];
    return NULL;
}

static void hello(gw_t *g, const unsigned char *rid, size_t rid_len, const char *key,
                  const char *peer, zmsg_t *m)
{
    char *nonce = zmsg_popstr(m);
    host_t *old = find_host(g, rid, rid_len);
    if (old && nonce && !strcmp(old->nonce, nonce)) {
        free(nonce); /* the same HELLO again (queued twice): already welcomed */
        return;
    }
    if (old) drop_host(g, old, "it said hello again (a new session)", 0);
    char *name = zmsg_popstr(m), *pid = zmsg_popstr(m), *n = zmsg_popstr(m);
    int want = n ? atoi(n) : 0;
    host_t *h = NULL;
    for (int i = 0; i < MAX_HOSTS && !h; i++)
        if (!g->hosts[i].used) h = &g->hosts[i];
    int free_slots = 0;
    for (int s = 0; s < NSLOTS; s++)
        free_slots += !g->slot_used[s];
    const char *refuse = !h                ? "too many worker hosts (16)"
                         : want < 1         ? "it asks for no transform"
                         : want > free_slots ? "no room for that many remote transforms"
                                            : NULL;
    if (refuse) {
        LK_WARN("worker host %s (%s, key %s) asking for %d transform(s) refused: %s",
                name ? name : "?", peer, key, want, refuse);
        zmsg_t *r = zmsg_new();
        zmsg_addmem(r, rid, rid_len);
        zmsg_addstr(r, "BYE");
        zmsg_addstr(r, refuse);
        send_msg(&r, g->front);
        free(name), free(pid), free(n), free(nonce);
        return;
    }
    memset(h, 0, sizeof *h);
    snprintf(h->nonce, sizeof h->nonce, "%s", nonce ? nonce : "");
    h->used = 1;
    memcpy(h->rid, rid, rid_len);
    h->rid_len = rid_len;
    snprintf(h->name, sizeof h->name, "%s", name ? name : "?");
    snprintf(h->peer, sizeof h->peer, "%s", peer);
    snprintf(h->key, sizeof h->key, "%s", key);
    h->pid = pid ? atol(pid) : 0;
    h->last_ms = lk_time_mono_ms();
    char idx[512] = "";
    size_t at = 0;
    for (int s = 0; s < NSLOTS && h->n < want; s++) {
        if (g->slot_used[s]) continue;
        int i = LK_EP_REMOTE_FIRST + s;
        char ep[1200];
        lk_worker_endpoint(g->w, LK_EP_RECORDS, i, ep, sizeof ep);
        zsock_t *r = zsock_new(ZMQ_ROUTER);
        zsock_set_router_mandatory(r, 1);
        zsock_set_linger(r, 0);
        if (!r || zsock_bind(r, "%s", ep) < 0) {
            LK_WARN("cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
            zsock_destroy(&r);
            continue;
        }
        g->slot_used[s] = 1;
        h->records[h->n] = r;
        h->idx[h->n++] = i;
        at += (size_t)snprintf(idx + at, sizeof idx - at, "%s%d", at ? "," : "", i);
    }
    char cfgpath[1200];
    snprintf(cfgpath, sizeof cfgpath, "%s/config.yml", lk_worker_run_dir(g->w));
    lk_buf yml = LK_BUF_INIT;
    if (lk_fs_read_file(cfgpath, &yml, 16u << 20, &g->err)) {
        LK_ERROR("cannot read the running configuration: %s", g->err.msg);
        lk_buf_free(&yml);
        drop_host(g, h, "the gateway cannot read the running configuration", 1);
        free(name), free(pid), free(n), free(nonce);
        return;
    }
    zmsg_t *r = to_host(h, "WELCOME");
    zmsg_addstr(r, h->nonce);
    zmsg_addstr(r, idx);
    /* relative source paths are resolved against the pipeline's directory */
    char cwd[2048];
    zmsg_addstr(r, getcwd(cwd, sizeof cwd) ? cwd : "");
    zmsg_addmem(r, yml.data, yml.len);
    send_msg(&r, g->front);
    lk_buf_free(&yml);
    h->welcomed = 1;
    LK_INFO("worker host %s (pid %ld) joins from %s with key %s: transforms %s", h->name, h->pid,
            h->peer, h->key, idx);
    publish(g);
    free(name), free(pid), free(n), free(nonce);
}

static int slot_of(const host_t *h, int idx)
{
    for (int k = 0; k < h->n; k++)
        if (h->idx[k] == idx) return k;
    return -1;
}

static link_t *find_link(gw_t *g, host_t *h, const void *id, size_t len, int make)
{
    for (int i = 0; i < h->nlinks; i++)
        if (h->links[i].len == len && !memcmp(h->links[i].id, id, len)) return &h->links[i];
    if (!make || h->nlinks == MAX_LINKS || len > sizeof h->links[0].id) return NULL;
    link_t *l = &h->links[h->nlinks];
    l->dealer = zsock_new(ZMQ_DEALER);
    if (!l->dealer) return NULL;
    zsock_set_linger(l->dealer, 0);
    zsock_set_rcvhwm(l->dealer, 4);
    zsock_connect(l->dealer, "%s", g->chunks_ep);
    memcpy(l->id, id, len);
    l->len = len;
    h->nlinks++;
    return l;
}

/* Before a chunk of schema version v: the versions the host lacks. */
static int send_schemas(gw_t *g, host_t *h, int v)
{
    if (v <= h->schema_sent) return 0;
    lk_state_schema_rev *revs = NULL;
    int n = 0;
    if (lk_state_schema_history(g->st, LK_TABLE_RAW, &revs, &n, &g->err)) {
        LK_ERROR("cannot read the raw_events schemas for %s: %s", h->name, g->err.msg);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (revs[i].version <= h->schema_sent) continue;
        lk_buf_reset(&g->buf);
        lk_schema_to_json(revs[i].schema, &g->buf);
        zmsg_t *m = to_host(h, "S");
        zmsg_addstr(m, LK_TABLE_RAW);
        zmsg_addstrf(m, "%d", revs[i].version);
        zmsg_addmem(m, g->buf.data, g->buf.len);
        send_msg(&m, g->front);
        h->schema_sent = revs[i].version;
    }
    lk_state_schema_history_free(&revs, n);
    return 0;
}

/* A flow control a receiver sent through us ("C1f", "R2lf"): kind and count only. Without
   its "f", since the frames of a message sent in frames would reach this gateway, which passes
   on one frame per message; without its "l", since a transform of another host cannot read
   the pipeline host's files: it gets every chunk's bytes (lk_flow.h). */
static void plain_control(zframe_t **data)
{
    size_t n = zframe_size(*data);
    const char *d = (const char *)zframe_data(*data);
    if (n > 1 && (d[0] == 'C' || d[0] == 'R')) {
        size_t k = 1;
        while (k < n && d[k] >= '0' && d[k] <= '9')
            k++;
        if (k == n) return;
        zframe_t *plain = zframe_new(d, k);
        zframe_destroy(data);
        *data = plain;
    }
}

/* What a host sent: routing id, kind, ... */
static void from_host(gw_t *g)
{
    zmq_msg_t first;
    zmq_msg_init(&first);
    if (zmq_msg_recv(&first, zsock_resolve(g->front), ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&first);
        return;
    }
    unsigned char rid[256];
    size_t rid_len = zmq_msg_size(&first) < sizeof rid ? zmq_msg_size(&first) : sizeof rid;
    memcpy(rid, zmq_msg_data(&first), rid_len);
    int more = zmq_msg_more(&first);
    zmq_msg_close(&first);
    /* the peer's properties ride on the frames it sent (not on the routing
       id our ROUTER put in front): its key (the ZAP user id) and address */
    char key[LK_KEY_TXT] = "?", peer[80] = "?";
    zmsg_t *m = zmsg_new();
    for (int k = 0; more; k++) {
        zmq_msg_t f;
        zmq_msg_init(&f);
        if (zmq_msg_recv(&f, zsock_resolve(g->front), 0) < 0) {
            zmq_msg_close(&f);
            break;
        }
        if (k == 0) {
            const char *user = zmq_msg_gets(&f, "User-Id");
            const char *addr = zmq_msg_gets(&f, "Peer-Address");
            if (user) snprintf(key, sizeof key, "%s", user);
            if (addr) snprintf(peer, sizeof peer, "%s", addr);
        }
        more = zmq_msg_more(&f);
        zmsg_addmem(m, zmq_msg_data(&f), zmq_msg_size(&f));
        zmq_msg_close(&f);
    }
    char *kind = zmsg_popstr(m);
    host_t *h = find_host(g, rid, rid_len);
    if (!kind) {
    } else if (!strcmp(kind, "HELLO")) {
        hello(g, rid, rid_len, key, peer, m);
    } else if (!h) {
        /* a host we dropped (it was silent too long) that comes back: it
           starts over */
        zmsg_t *r = zmsg_new();
        zmsg_addmem(r, rid, rid_len);
        zmsg_addstr(r, "BYE");
        zmsg_addstr(r, "unknown session (the gateway dropped it): say hello again");
        send_msg(&r, g->front);
    } else {
        h->last_ms = lk_time_mono_ms();
        if (!strcmp(kind, "C")) {
            zframe_t *id = zmsg_pop(m), *data = zmsg_pop(m);
            link_t *l = id && data ? find_link(g, h, zframe_data(id), zframe_size(id), 1) : NULL;
            if (l) {
                plain_control(&data);
                zframe_send(&data, l->dealer, ZFRAME_DONTWAIT);
            }
            else if (id && data)
                LK_WARN("worker host %s (%s): no room for another chunks link (%d): dropped",
                        h->name, h->peer, h->nlinks);
            zframe_destroy(&id);
            zframe_destroy(&data);
        } else if (!strcmp(kind, "R")) {
            char *idx = zmsg_popstr(m);
            zframe_t *wid = zmsg_pop(m), *data = zmsg_pop(m);
            int k = idx ? slot_of(h, atoi(idx)) : -1;
            if (k >= 0 && wid && data) {
                h->records_msgs++;
                if (zframe_send(&wid, h->records[k], ZFRAME_MORE | ZFRAME_DONTWAIT) == 0)
                    zframe_send(&data, h->records[k], ZFRAME_DONTWAIT);
            }
            free(idx);
            zframe_destroy(&wid);
            zframe_destroy(&data);
        } else if (!strcmp(kind, "M")) {
            zframe_t *data = zmsg_pop(m);
            if (data) zframe_send(&data, g->monitor, ZFRAME_DONTWAIT);
            zframe_destroy(&data);
        } else if (!strcmp(kind, "D")) {
            char *idx = zmsg_popstr(m), *why = zmsg_popstr(m);
            LK_WARN("remote transform %s of worker host %s (%s) died: %s; replaying what it held",
                    idx ? idx : "?", h->name, h->peer, why ? why : "?");
            /* its chunks link is dead: close every link of the host (the
               living transforms ask again: lk_flow re-synchronises) */
            for (int i = 0; i < h->nlinks; i++)
                zsock_destroy(&h->links[i].dealer);
            h->nlinks = 0;
            send_ingest(g, "replay", "remote transform");
            free(idx), free(why);
        } else if (!strcmp(kind, "BYE")) {
            char *why = zmsg_popstr(m);
            char said[160];
            snprintf(said, sizeof said, "it stops (%s)", why ? why : "?");
            free(why);
            drop_host(g, h, said, 0);
        } else if (!strcmp(kind, "H")) {
        } else {
            LK_WARN("worker host %s (%s) sent an unknown message '%s'", h->name, h->peer, kind);
        }
    }
    free(kind);
    zmsg_destroy(&m);
}

/* A frame from ingest on one of a host's chunks links. */
static void from_ingest(gw_t *g, host_t *h, link_t *l)
{
    zframe_t *data = zframe_recv(l->dealer);
    if (!data) return;
    if (zframe_size(data)) {
        lk_msg_chunk c;
        if (lk_msg_chunk_decode(zframe_data(data), zframe_size(data), &c, &g->err) == 0) {
            if (send_schemas(g, h, c.schema_version)) {
                zframe_destroy(&data);
                drop_host(g, h, "its schemas cannot be sent", 1);
                return;
            }
            h->chunks++;
            lk_worker_add(g->w, "chunks", 1);
        }
    }
    zmsg_t *m = to_host(h, "C");
    zmsg_addmem(m, l->id, l->len);
    zmsg_append(m, &data);
    send_msg(&m, g->front);
}

/* A writer's frame on records-<idx[k]>: to the host. */
static void from_writer(gw_t *g, host_t *h, int k)
{
    zmsg_t *in = zmsg_recv(h->records[k]);
    if (!in) return;
    zframe_t *wid = zmsg_pop(in), *data = zmsg_pop(in);
    if (wid && data) {
        plain_control(&data);
        zmsg_t *m = to_host(h, "R");
        zmsg_addstrf(m, "%d", h->idx[k]);
        zmsg_append(m, &wid);
        zmsg_append(m, &data);
        send_msg(&m, g->front);
    }
    zframe_destroy(&wid);
    zframe_destroy(&data);
    zmsg_destroy(&in);
}

/* The keys could not be read or made: the configuration's fault (a missing folder or file, no
   permission, a file that is not a key: exit 100, which a service manager does not restart), or
   the machine's for now (what pauses every other worker, lk_worker_resource_error, or no
   descriptors or memory: 111, restarted with backoff). */
static int keys_failed(const lk_error *err)
{
    int e = -err->code;
    int now = lk_worker_resource_error(err->code) || e == EMFILE || e == ENFILE || e == ENOMEM ||
              e == EAGAIN || e == EINTR || e == EBUSY;
    LK_ERROR("%s: %s", now ? "cannot set up the remote workers' keys" : "configuration error",
             err->msg);
    return now ? LK_EXIT_TEMPFAIL : LK_EXIT_CONFIG;
}

static int setup(gw_t *g)
{
    const lk_config *cfg = g->cfg;
    int n = 0;
    if (lk_keys_allowed(cfg->workers.remote.allowed_keys, &n, &g->err))
        return keys_failed(&g->err);
    zcert_t *server = NULL;
    char keypath[1200];
    if (lk_keys_server(cfg, &server, keypath, sizeof keypath, &g->err))
        return keys_failed(&g->err);
    g->allowed = zcertstore_new(cfg->workers.remote.allowed_keys);
    /* the ZAP handler is bound before the CURVE socket: libzmq asks it for
       every handshake (and refuses all without it) */
    g->zap = zsock_new(ZMQ_REP);
    if (!g->zap || zsock_bind(g->zap, "inproc://zeromq.zap.01") < 0) {
        LK_ERROR("cannot bind the ZAP handler: %s", zmq_strerror(zmq_errno()));
        zcert_destroy(&server);
        return LK_EXIT_TEMPFAIL;
    }
    g->front = zsock_new(ZMQ_ROUTER);
    zcert_apply(server, g->front);
    zsock_set_curve_server(g->front, 1);
    zsock_set_zap_domain(g->front, "lakesupd");
    zsock_set_router_mandatory(g->front, 1);
    zsock_set_linger(g->front, 0);
    zsock_set_sndhwm(g->front, 1000);
    zsock_set_heartbeat_ivl(g->front, LK_REMOTE_HEARTBEAT_MS);
    zsock_set_heartbeat_timeout(g->front, LK_REMOTE_TIMEOUT_MS);
    char pub[LK_KEY_TXT];
    snprintf(pub, sizeof pub, "%s", zcert_public_txt(server));
    zcert_destroy(&server);
    if (zsock_bind(g->front, "%s", cfg->workers.remote.bind) < 0) {
        LK_ERROR("cannot bind workers.remote.bind %s: %s", cfg->workers.remote.bind,
                 zmq_strerror(zmq_errno()));
        return LK_EXIT_TEMPFAIL;
    }
    char ep[1200];
    lk_worker_endpoint(g->w, LK_EP_MONITOR, -1, ep, sizeof ep);
    g->monitor = zsock_new(ZMQ_PUSH);
    zsock_set_linger(g->monitor, 0);
    zsock_set_sndhwm(g->monitor, 10000);
    zsock_connect(g->monitor, "%s", ep);
    lk_worker_endpoint(g->w, LK_EP_INGEST, -1, ep, sizeof ep);
    g->ingest = zsock_new(ZMQ_PUSH);
    zsock_set_linger(g->ingest, 1000);
    zsock_connect(g->ingest, "%s", ep);
    lk_worker_endpoint(g->w, LK_EP_CHUNKS, -1, g->chunks_ep, sizeof g->chunks_ep);
    /* records endpoints of a gateway killed before: nobody serves them */
    for (int i = LK_EP_REMOTE_FIRST; i <= LK_EP_REMOTE_LAST; i++) {
        lk_worker_endpoint(g->w, LK_EP_RECORDS, i, ep, sizeof ep);
        unlink(ep + 6);
    }
    char path[2048];
    lk_config_state_path(cfg, path, sizeof path);
    if (lk_state_open(path, &g->st, &g->err)) {
        LK_ERROR("%s", g->err.msg);
        return LK_EXIT_TEMPFAIL;
    }
    LK_INFO("remote transforms join at %s (CURVE server key %s, public file %s; %d allowed "
            "key(s) in %s)",
            cfg->workers.remote.bind, pub, keypath, n, cfg->workers.remote.allowed_keys);
    return 0;
}

int lk_remote_run(lk_worker *w)
{
    static gw_t G;
    gw_t *g = &G;
    memset(g, 0, sizeof *g);
    g->w = w;
    g->cfg = lk_worker_config(w);
    int rc = setup(g);
    if (rc == 0) {
        publish(g);
        lk_worker_ready(w);
    }
    while (rc == 0 && !lk_worker_stopping(w)) {
        lk_worker_tick(w);
        zmq_pollitem_t items[2 + MAX_HOSTS * (MAX_LINKS + NSLOTS)];
        struct {
            host_t *h;
            int link, slot;
        } who[2 + MAX_HOSTS * (MAX_LINKS + NSLOTS)];
        int n = 0;
        items[n++] = (zmq_pollitem_t){zsock_resolve(g->front), 0, ZMQ_POLLIN, 0};
        items[n++] = (zmq_pollitem_t){zsock_resolve(g->zap), 0, ZMQ_POLLIN, 0};
        for (int i = 0; i < MAX_HOSTS; i++) {
            host_t *h = &g->hosts[i];
            if (!h->used) continue;
            for (int k = 0; k < h->nlinks; k++) {
                who[n].h = h, who[n].link = k, who[n].slot = -1;
                items[n++] = (zmq_pollitem_t){zsock_resolve(h->links[k].dealer), 0, ZMQ_POLLIN, 0};
            }
            for (int k = 0; k < h->n; k++) {
                who[n].h = h, who[n].link = -1, who[n].slot = k;
                items[n++] = (zmq_pollitem_t){zsock_resolve(h->records[k]), 0, ZMQ_POLLIN, 0};
            }
        }
        if (zmq_poll(items, n, 100) < 0 && errno != EINTR) break;
        if (items[1].revents & ZMQ_POLLIN) zap_serve(g);
        /* the socket's own sources first, then the host's messages (which
           may close links: the items are not used after that) */
        for (int i = 2; i < n; i++) {
            if (!(items[i].revents & ZMQ_POLLIN)) continue;
            host_t *h = who[i].h;
            if (!h->used) continue;
            if (who[i].link >= 0 && who[i].link < h->nlinks && h->links[who[i].link].dealer)
                for (int k = 0; k < 64 && (zsock_events(h->links[who[i].link].dealer) & ZMQ_POLLIN);
                     k++) {
                    from_ingest(g, h, &h->links[who[i].link]);
                    if (!h->used) break;
                }
            else if (who[i].slot >= 0 && h->records[who[i].slot])
                for (int k = 0;
                     k < 64 && (zsock_events(h->records[who[i].slot]) & ZMQ_POLLIN); k++)
                    from_writer(g, h, who[i].slot);
        }
        if (items[0].revents & ZMQ_POLLIN)
            for (int k = 0; k < 256 && (zsock_events(g->front) & ZMQ_POLLIN); k++)
                from_host(g);
        int64_t now = lk_time_mono_ms();
        for (int i = 0; i < MAX_HOSTS; i++) {
            host_t *h = &g->hosts[i];
            if (h->used && now - h->last_ms > LK_REMOTE_TIMEOUT_MS)
                drop_host(g, h, "silent for 5 s", 0);
        }
        if (now - g->beat_ms >= LK_REMOTE_HEARTBEAT_MS) {
            g->beat_ms = now;
            for (int i = 0; i < MAX_HOSTS; i++)
                if (g->hosts[i].used) {
                    zmsg_t *m = to_host(&g->hosts[i], "H");
                    send_msg(&m, g->front);
                }
            publish(g);
        }
    }
    for (int i = 0; i < MAX_HOSTS; i++)
        if (g->hosts[i].used) {
            LK_INFO("worker host %s (%s): its %d transform(s) took %lld chunks; the pipeline stops",
                    g->hosts[i].name, g->hosts[i].peer, g->hosts[i].n, (long long)g->hosts[i].chunks);
            zmsg_t *m = to_host(&g->hosts[i], "BYE");
            zmsg_addstr(m, "the pipeline stops");
            send_msg(&m, g->front);
            host_t *h = &g->hosts[i];
            for (int k = 0; k < h->nlinks; k++)
                zsock_destroy(&h->links[k].dealer);
            for (int k = 0; k < h->n; k++)
                zsock_destroy(&h->records[k]);
        }
    zsock_destroy(&g->front);
    zsock_destroy(&g->zap);
    zsock_destroy(&g->monitor);
    zsock_destroy(&g->ingest);
    zcertstore_destroy(&g->allowed);
    lk_state_close(&g->st);
    lk_buf_free(&g->buf);
    return rc;
}
