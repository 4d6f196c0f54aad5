/*
 * lk_ingest — the ingest worker: Auto Loader's planning side of the
 * pipeline, over one source (lk_source: files or Kafka).
 *
 * It PLANS a batch — the set of source ranges (file bytes, or Kafka
 * offsets) its source proposes — durably in state.db BEFORE any byte of it
 * moves ("planned before it moves", docs/architecture.md). Then it reads the
 * ranges through the source and pushes chunks of whole records (about
 * chunk_bytes each) to the transforms, and finally tells the committer how
 * many chunks the batch has ("sealed").
 *
 * It parses nothing on the hot path. Delivery downstream is at least once:
 * when a transform, writer or the committer dies (the supervisor says
 * "replay"), when ingest itself restarts, or when a batch misses its
 * deadline, every uncommitted batch is sent again — chunking is
 * deterministic, so a replayed chunk has the same (batch, chunk) identity
 * and the committer drops the duplicate. A replay that finds a range
 * changed or gone re-plans the batch as its next generation, so a batch is
 * never committed from two different readings. At most MAX_INFLIGHT
 * batches are uncommitted at once, which with ZeroMQ's high-water marks
 * bounds memory.
 *
 * When a batch is planned is the trigger's business:
 *   continuous       as soon as there is input and room in flight;
 *   available_now    the same, and once the source was looked at in full
 *                    and every batch is committed, ingest reports "done";
 *   processing_time  as Spark's ProcessingTime trigger: one micro-batch at
 *                    each tick of the interval with what arrived since the
 *                    last one, after the previous batch committed; a batch
 *                    that outlasts the interval is followed at once by the
 *                    next (docs/decisions.md: ticks are anchored at the
 *                    first batch, not at the epoch);
 *   freshness        the same with an interval of its own choosing: as
 *                    long as the objective (file close → commit) allows,
 *                    given how long the recent batches took, so that
 *                    batches and files are as few and as large as the
 *                    objective permits (docs/decisions.md).
 */
#include "lk_ingest.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_evolve.h"
#include "lk_exit.h"
#include "lk_log.h"
#include "lk_flow.h"
#include "lk_sendbuf.h"
#include "lk_source.h"
#include "lk_source_reader.h"
#include "lk_state.h"
#include "lk_time.h"

#define MAX_INFLIGHT 3
#define BATCH_TIMEOUT_MS (5 * 60 * 1000)

typedef struct inflight {
    int64_t batch_id;
    int64_t sent_ms;
} inflight;

typedef enum run_state {
    RUNNING = 0,
    DRAINING, /* no new batches; in-flight ones commit (stop, SIGTERM) */
    ABORTED,  /* a fatal error (here or reported): stop without draining */
} run_state;

typedef struct ingest {
    lk_worker *w;
    const lk_config *cfg;
    lk_state *st;
    lk_evolve *ev; /* schema_evolution_mode: new columns in chunks */
    lk_source *src;
    lk_flow_out *chunks; /* → transforms, each asking for work (lk_flow) */
    zsock_t *inbox;     /* PULL ← supervisor, committer */
    zsock_t *committer; /* PUSH → committer (sealed) */
    inflight fl[MAX_INFLIGHT * 4];
    int nfl;
    run_state state;
    int replay;              /* replay every uncommitted batch when not paused */
    int64_t replay_one;      /* replay this in-flight batch only (-1: none; the committer's
                                transform.dedupe asks for the batch it found duplicates in) */
    int64_t pause_until_ms;  /* planning and replays wait (a resource error) until then */
    int poll_failed;         /* the last poll of the source failed (it retries) */
    int64_t next_trigger_ms; /* processing_time, freshness: the next tick (monotonic) */
    int64_t fresh_iv_ms;     /* freshness: the interval chosen now */
    int64_t took_ms[8];      /* freshness: the last batches' plan → commit times */
    int ntook;
    int schema_version;
    int32_t reading_gen; /* the generation of the batch being read (lk_source_env.gen) */
    lk_buf msg;       /* encoded message */
    lk_sendbuf *pool; /* chunks go to ZeroMQ without a copy; buffers recycled */
    lk_msg_progress report; /* the monitor's plan and read reports */
    int hold; /* started ahead of the other workers: nothing planned before "go" (or a stop) */
    lk_error err;
} ingest;

/* ---- in-flight batches ---- */

static void track(ingest *in, int64_t batch_id)
{
    for (int i = 0; i < in->nfl; i++) {
        if (in->fl[i].batch_id == batch_id) {
            in->fl[i].sent_ms = lk_time_mono_ms();
            return;
        }
    }
    if (in->nfl < (int)(sizeof in->fl / sizeof in->fl[0]))
        in->fl[in->nfl++] = (inflight){batch_id, lk_time_mono_ms()};
}

static void fresh_adapt(ingest *in, int64_t took);

static void untrack(ingest *in, int64_t batch_id)
{
    for (int i = 0; i < in->nfl; i++) {
        if (in->fl[i].batch_id == batch_id) {
            int64_t took = lk_time_mono_ms() - in->fl[i].sent_ms;
            if (in->cfg->trigger == LK_TRIGGER_FRESHNESS) fresh_adapt(in, took);
            if (in->cfg->trigger == LK_TRIGGER_PROCESSING_TIME &&
                took > in->cfg->processing_time_ms)
                LK_WARN("batch=%lld took %lld ms, longer than the trigger interval of %lld ms: "
                        "the next batch starts at once (falling behind)",
                        (long long)batch_id, (long long)took,
                        (long long)in->cfg->processing_time_ms);
            in->fl[i] = in->fl[--in->nfl];
            return;
        }
    }
}

/* Forgets in-flight batches that state.db says are committed. */
static void refresh_inflight(ingest *in)
{
    for (int i = in->nfl - 1; i >= 0; i--) {
        lk_state_batch b;
        if (lk_state_batch_get(in->st, in->fl[i].batch_id, &b, &in->err) == 0 &&
            b.state == LK_BATCH_COMMITTED) {
            int64_t id = in->fl[i].batch_id;
            untrack(in, id);
            lk_source_ack(in->src, id); /* its "committed" notice was lost: what it holds goes */
        }
    }
}

/* ---- sending a batch ---- */

/* What one batch's chunks are sent with (lk_source_emit_fn's context). */
typedef struct sender {
    ingest *in;
    int64_t batch_id;
    int32_t gen;
    int32_t idx; /* chunks sent so far */
    int64_t bytes;
    lk_state_file_span *span; /* of the range being read */
} sender;

/* The chunk's message for the transform it goes to: by reference to one of this host that
   reads files ("l") when its bytes are the file's (docs/decisions.md, "Chunks by
   reference"), with its bytes otherwise. */
typedef struct chunk_out {
    lk_msg_chunk *m;
    int digested;
} chunk_out;

static void encode_chunk(void *ctx, int local, lk_buf *b)
{
    chunk_out *co = ctx;
    lk_msg_chunk *m = co->m;
    m->by_ref = local && m->file_bytes && m->len > 0;
    if (m->by_ref && !co->digested) {
        m->digest = lk_source_digest(m->data, m->len);
        co->digested = 1;
    }
    lk_buf_reset(b);
    lk_msg_chunk_encode(m, b);
}

static int emit_chunk(void *ctx, lk_msg_chunk *m)
{
    sender *s = ctx;
    ingest *in = s->in;
    m->batch_id = s->batch_id;
    m->chunk_idx = LK_CHUNK_IDX(s->gen, s->idx);
    m->schema_version = in->schema_version;
    chunk_out co = {m, 0};
    int rc = lk_flow_out_send_for(in->chunks, in->pool, &in->msg, encode_chunk, &co);
    if (rc) return rc < 0 ? rc : -ECANCELED;
    if (m->by_ref) lk_worker_add(in->w, "chunks_by_ref", 1);
    s->span->n_chunks++;
    s->bytes += (int64_t)m->len;
    s->idx++;
    lk_worker_add(in->w, "chunks_out", 1);
    lk_worker_add(in->w, "bytes_in", (int64_t)m->len);
    return s->idx > LK_CHUNK_K_MASK; /* the batch can take no more */
}

static void send_sealed(ingest *in, int64_t batch_id, int32_t gen, int32_t n_chunks, int64_t bytes)
{
    lk_msg_event e;
    lk_msg_event_init(&e, "sealed");
    lk_msg_event_set_int(&e, "batch", batch_id);
    lk_msg_event_set_int(&e, "gen", gen);
    lk_msg_event_set_int(&e, "chunks", n_chunks);
    lk_msg_event_set_int(&e, "bytes", bytes);
    lk_buf_reset(&in->msg);
    lk_msg_event_encode(&e, &in->msg);
    lk_zmq_send_blocking(in->w, in->committer, in->msg.data, in->msg.len);
}

/* Checks the planned ranges: a replay that finds one changed or gone
   re-plans the batch as the next generation (the committer then drops
   every chunk of earlier attempts, so the batch is committed from one
   consistent reading, never a mix). Gone ranges are marked in gone[].
   Returns the generation to send, or -1 (in->err). */
static int32_t check_ranges(ingest *in, int64_t batch_id, const lk_state_range *ranges, int n,
                            int32_t gen, int replay, unsigned char *gone)
{
    int regenerate = 0, moved = 0;
    for (int r = 0; r < n; r++) {
        int st = lk_source_check(in->src, batch_id, &ranges[r], &in->err);
        if (st < 0) return -1;
        gone[r] = st == LK_RANGE_GONE || st == LK_RANGE_MOVED;
        if (st == LK_RANGE_MOVED) {
            /* another instance has these offsets: the batch no longer holds
               them (the committer checks the rest against the tables) */
            if (lk_state_batch_drop_range(in->st, batch_id, ranges[r].file_id, &in->err))
                return -1;
            moved++;
        }
        regenerate |= (replay || st == LK_RANGE_MOVED) && st != LK_RANGE_OK;
    }
    if (!regenerate) return gen;
    if (moved) {
        LK_INFO("batch=%lld: re-planned as generation %d without %d range(s) another instance "
                "committed",
                (long long)batch_id, gen + 1, moved);
        return gen + 1;
    }
    LK_WARN("batch=%lld: a file changed or vanished since the batch was planned: it is "
            "re-planned as generation %d (earlier chunks are dropped)",
            (long long)batch_id, gen + 1);
    return gen + 1;
}

/* Reads and pushes every chunk of a planned batch, then seals it. 0, or
   -1 with in->err (logged). */
static int send_batch(ingest *in, int64_t batch_id, int replay)
{
    lk_state_range *ranges = NULL;
    lk_state_batch b;
    int n = 0;
    if (lk_state_batch_ranges(in->st, batch_id, &ranges, &n, &in->err) ||
        lk_state_batch_get(in->st, batch_id, &b, &in->err)) {
        LK_ERROR("cannot read the plan of batch %lld: %s", (long long)batch_id, in->err.msg);
        free(ranges);
        return -1;
    }
    int64_t t0 = lk_time_now_us();
    unsigned char *gone = calloc((size_t)n + 1, 1);
    lk_state_file_span *spans = calloc((size_t)n + 1, sizeof *spans); /* per-file counts */
    if (!gone || !spans) abort();
    int rc = 0;
    int32_t gen = check_ranges(in, batch_id, ranges, n, b.gen, replay, gone);
    /* Every replay is a new generation, stored before its first chunk moves:
       a writer fills one file with the rows of many chunks of a batch, so the
       committer takes a batch's chunks from one sending only, never a mix of
       what a dead writer held and what the replay re-sent. */
    if (gen >= 0 && replay && gen == b.gen) {
        if (gen + 1 > (INT32_MAX >> LK_CHUNK_GEN_SHIFT))
            LK_ERROR("batch=%lld: replayed %d times, no generation left: replayed as generation %d",
                     (long long)batch_id, gen, gen);
        else
            gen++;
    }
    if (gen >= 0 && gen != b.gen && lk_state_reseal_batch(in->st, batch_id, gen, -1, &in->err))
        rc = -1;
    sender s = {in, batch_id, gen, 0, 0, NULL};
    in->reading_gen = gen;
    if (gen < 0) rc = -1;
    for (int r = 0; r < n && rc == 0 && !lk_worker_orphaned(in->w); r++) {
        spans[r] = (lk_state_file_span){ranges[r].file_id, s.idx, 0};
        if (gone[r]) continue;
        if (s.idx > LK_CHUNK_K_MASK) {
            LK_ERROR("batch=%lld has more than %d chunks: %s and the rest are not sent",
                     (long long)batch_id, LK_CHUNK_K_MASK, ranges[r].path);
            lk_worker_add(in->w, "errors", 1);
            break;
        }
        s.span = &spans[r];
        if (lk_source_read(in->src, batch_id, &ranges[r], emit_chunk, &s, &in->err) < 0) rc = -1;
    }
    if (rc == 0 && lk_state_file_spans_put(in->st, batch_id, gen, spans, n, &in->err))
        LK_WARN("batch=%lld: cannot record its chunks per file (per-file counts of `source "
                "list` stay unknown): %s",
                (long long)batch_id, in->err.msg);
    free(spans);
    free(gone);
    free(ranges);
    if (rc == 0 && gen != b.gen)
        rc = lk_state_reseal_batch(in->st, batch_id, gen, s.idx, &in->err) ? -1 : 0;
    else if (rc == 0 && b.state == LK_BATCH_PLANNED)
        rc = lk_state_seal_batch(in->st, batch_id, s.idx, &in->err) ? -1 : 0;
    else if (rc == 0 && b.n_chunks >= 0 && b.n_chunks != s.idx)
        LK_WARN("batch=%lld replayed with %d chunks, planned with %d (a source file changed)",
                (long long)batch_id, s.idx, b.n_chunks);
    if (rc) {
        LK_ERROR("batch=%lld (generation %d) not sealed: %s", (long long)batch_id, gen,
                 in->err.msg);
        return -1;
    }
    send_sealed(in, batch_id, gen, s.idx, s.bytes);
    memset(&in->report, 0, sizeof in->report);
    in->report.phase = LK_PHASE_READ;
    in->report.batch_id = batch_id;
    in->report.ts_us = lk_time_now_us();
    in->report.duration_us = in->report.ts_us - t0;
    in->report.bytes = s.bytes;
    in->report.files = n;
    lk_worker_report(in->w, &in->report);
    LK_INFO("%s batch=%lld %s=%d chunks=%d bytes=%lld", replay ? "replayed" : "sent",
            (long long)batch_id, in->src->ops->range_noun, n, s.idx, (long long)s.bytes);
    lk_worker_add(in->w, "batches", replay ? 0 : 1);
    return 0;
}

static int replay_uncommitted(ingest *in)
{
    int64_t *ids = NULL;
    int n = 0;
    if (lk_state_batches_uncommitted(in->st, &ids, &n, &in->err)) {
        LK_ERROR("cannot list uncommitted batches: %s", in->err.msg);
        return -1;
    }
    if (n) LK_INFO("replaying %d uncommitted batch(es) from batch=%lld", n, (long long)ids[0]);
    for (int i = 0; i < n && !lk_worker_orphaned(in->w); i++) {
        if (send_batch(in, ids[i], 1)) {
            free(ids);
            return -1;
        }
        track(in, ids[i]);
        lk_worker_add(in->w, "replays", 1);
    }
    free(ids);
    return 0;
}

/* The monitor's share of planning: how long it took and the batch's
   ranges (the first LK_MSG_MAX_SOURCES; files counts them all). */
static void report_plan(ingest *in, int64_t batch_id, const lk_state_range *ranges, int n,
                        int64_t t0_us)
{
    lk_msg_progress *p = &in->report;
    memset(p, 0, sizeof *p);
    p->phase = LK_PHASE_PLAN;
    p->batch_id = batch_id;
    p->ts_us = lk_time_now_us();
    p->duration_us = p->ts_us - t0_us;
    p->files = n;
    for (int i = 0; i < n; i++) {
        p->bytes += ranges[i].end - ranges[i].start;
        if (i >= LK_MSG_MAX_SOURCES)
            continue;
        lk_msg_source *src = &p->sources[p->n_sources++];
        snprintf(src->path, sizeof src->path, "%s", ranges[i].path);
        src->start = ranges[i].start;
        src->end = ranges[i].end;
        src->latest = ranges[i].file_size;
        src->input_time_us = ranges[i].mtime_us;
    }
    lk_worker_report(in->w, p);
}

/* Plans one batch from what the source proposes. Returns 1 if a batch was
   planned and sent, 0 if nothing is new, -1 on error (in->err). */
static int plan_next(ingest *in)
{
    lk_state_range *ranges = NULL;
    int n = 0;
    int64_t t0 = lk_time_now_us();
    int p = lk_source_plan(in->src, &ranges, &n, &in->err); /* logs its errors */
    if (p <= 0) return p < 0 ? -1 : 0;
    int64_t batch_id, units = 0;
    for (int i = 0; i < n; i++)
        units += ranges[i].end - ranges[i].start;
    int rc = lk_state_plan_batch(in->st, ranges, n, &batch_id, &in->err);
    if (rc == 0)
        for (int i = 0; i < n; i++)
            LK_DEBUG("batch=%lld %s [%lld, %lld)", (long long)batch_id, ranges[i].path,
                     (long long)ranges[i].start, (long long)ranges[i].end);
    if (rc == 0)
        report_plan(in, batch_id, ranges, n, t0);
    free(ranges);
    if (rc) {
        LK_ERROR("cannot plan a batch (nothing was sent): %s", in->err.msg);
        return -1;
    }
    LK_INFO("planned batch=%lld %s=%d %s=%lld", (long long)batch_id, in->src->ops->range_noun, n,
            in->src->ops->unit_noun, (long long)units);
    track(in, batch_id);
    return send_batch(in, batch_id, 0) ? -1 : 1;
}

/* ---- the trigger ---- */

static int timed_trigger(const ingest *in)
{
    return in->cfg->trigger == LK_TRIGGER_PROCESSING_TIME ||
           in->cfg->trigger == LK_TRIGGER_FRESHNESS;
}

/* The interval between two micro-batches of a timed trigger. */
static int64_t trigger_interval(const ingest *in)
{
    return in->cfg->trigger == LK_TRIGGER_FRESHNESS ? in->fresh_iv_ms : in->cfg->processing_time_ms;
}

/* freshness: a row waits at most for the next tick (the interval, or the
   batch in flight when that is longer) and then for its own batch, after
   the file-ready delay: interval = 90 % of the objective - 2 x the slowest
   of the last 8 batches - file_ready_delay - 50 ms of polling, never below
   0 (a batch right after the previous one: the objective is tight) nor
   above the objective. The 10 % and the doubling are the margin for a
   batch slower than the recent ones (a burst, a loaded machine). A batch
   grows with the interval and takes longer, which shortens the next
   interval: the loop settles where the largest batches still arrive in
   time. */
static void fresh_adapt(ingest *in, int64_t took)
{
    in->took_ms[in->ntook++ % 8] = took;
    int64_t slowest = 0;
    for (int i = 0; i < (in->ntook < 8 ? in->ntook : 8); i++)
        if (in->took_ms[i] > slowest) slowest = in->took_ms[i];
    int64_t f = in->cfg->freshness_ms;
    int64_t iv = f * 9 / 10 - slowest * 2 - in->cfg->source.file_ready_delay_ms - 50;
    if (iv < 0) iv = 0;
    if (iv > f) iv = f;
    if (took > f)
        LK_WARN("batch took %lld ms, longer than the freshness objective of %lld ms: batches "
                "follow each other at once until they are fast enough",
                (long long)took, (long long)f);
    /* one line for the first measured choice and when it moves by a quarter
       or more (not one per batch) */
    int64_t old = in->fresh_iv_ms;
    if (in->ntook == 1 || iv > old + old / 4 + 10 || iv < old - old / 4 - 10)
        LK_INFO("freshness %lld ms: interval %lld ms (was %lld ms; slowest of the last %d "
                "batches %lld ms)",
                (long long)f, (long long)iv, (long long)old, in->ntook < 8 ? in->ntook : 8,
                (long long)slowest);
    in->fresh_iv_ms = iv;
    lk_worker_set(in->w, "trigger_interval_ms", iv);
}

/* processing_time: publishes the next tick (wall clock) for `status`. */
static void set_next_trigger(ingest *in, int64_t at_mono_ms)
{
    in->next_trigger_ms = at_mono_ms;
    lk_worker_set(in->w, "next_trigger_at_ms",
                  lk_time_now_us() / 1000 + (at_mono_ms - lk_time_mono_ms()));
}

/* 1 if a batch may be planned now by the trigger. */
static int trigger_due(ingest *in, int64_t now)
{
    /* with event_metrics one batch at a time, as Spark's micro-batches: the
       watermark a batch's rows are judged by is the one its predecessor's
       commit stored (docs/decisions.md, "Windowed aggregates") */
    int max = in->cfg->metrics.set ? 1 : MAX_INFLIGHT;
    if (!timed_trigger(in)) return in->nfl < max;
    return in->nfl == 0 && now >= in->next_trigger_ms;
}

/* processing_time, after a tick was used: planned (a batch started at
   now) → the next tick is an interval later; nothing new → the next tick
   of the grid after now. */
static void trigger_fired(ingest *in, int64_t now, int planned)
{
    if (!timed_trigger(in)) return;
    int64_t iv = trigger_interval(in);
    if (planned)
        set_next_trigger(in, now + iv);
    else if (now >= in->next_trigger_ms && iv <= 0)
        set_next_trigger(in, now); /* no interval: the next batch when input comes */
    else if (now >= in->next_trigger_ms)
        set_next_trigger(in, in->next_trigger_ms + ((now - in->next_trigger_ms) / iv + 1) * iv);
}

/* ---- messages from the supervisor and the committer ---- */

static void handle_inbox(ingest *in, int timeout_ms)
{
    /* transforms asking for work or leaving (scaled in) are answered here
       too while no chunk is being sent */
    if (in->chunks) lk_flow_out_service(in->chunks);
    /* new input (inotify) wakes the wait as much as a message does, while
       the loop polls the source (else a readable fd would spin the loop) */
    int polled = !in->hold && in->state == RUNNING &&
                 (in->cfg->trigger != LK_TRIGGER_AVAILABLE_NOW || !lk_source_caught_up(in->src));
    int dfd = polled ? lk_source_fd(in->src) : -1;
    if (timeout_ms > 0 && dfd >= 0) {
        zmq_pollitem_t it[2] = {{zsock_resolve(in->inbox), 0, ZMQ_POLLIN, 0},
                                {NULL, dfd, ZMQ_POLLIN, 0}};
        if (zmq_poll(it, 2, timeout_ms) > 0 && !(it[0].revents & ZMQ_POLLIN))
            return; /* only the source's fd: back to the loop, which polls it */
        timeout_ms = 0;
    }
    for (;;) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        int rc = lk_zmq_recv(in->inbox, &msg, timeout_ms);
        if (rc) {
            zmq_msg_close(&msg);
            return;
        }
        timeout_ms = 0;
        lk_msg_event e;
        if (lk_msg_event_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &e, &in->err)) {
            LK_WARN("dropped a malformed message: %s", in->err.msg);
        } else if (!strcmp(e.name, "committed")) {
            int64_t b = lk_msg_event_get_int(&e, "batch", -1);
            untrack(in, b);
            lk_source_ack(in->src, b);
        } else if (!strcmp(e.name, "conflict")) {
            /* the committer found a batch's Kafka offsets taken by another
               instance of the consumer group: replaying re-checks its ranges */
            LK_INFO("batch=%lld conflicts with another instance's commit: replaying",
                    (long long)lk_msg_event_get_int(&e, "batch", -1));
            in->replay = 1;
        } else if (!strcmp(e.name, "replay")) {
            const char *why = lk_msg_event_get_str(&e, "reason");
            int64_t one = lk_msg_event_get_int(&e, "batch", -1);
            int64_t gen = lk_msg_event_get_int(&e, "gen", -1);
            LK_INFO("replay requested reason=%s batch=%lld", why ? why : "?", (long long)one);
            lk_state_batch b;
            if (one >= 0 && gen >= 0 && lk_state_batch_get(in->st, one, &b, &in->err) == 0 &&
                (b.state == LK_BATCH_COMMITTED || b.gen > gen)) {
                /* a request about a reading of the batch that is over (two transforms asking
                   for the same one, or one asking after the commit) */
                LK_INFO("batch=%lld generation=%lld: %s: not replayed again", (long long)one,
                        (long long)gen,
                        b.state == LK_BATCH_COMMITTED ? "committed already"
                                                      : "replayed since as a later generation");
            } else if (one < 0 || (in->replay_one >= 0 && in->replay_one != one))
                in->replay = 1;
            else
                in->replay_one = one;
        } else if (!strcmp(e.name, "go")) {
            if (in->hold) LK_INFO("every worker is ready: planning starts");
            in->hold = 0;
        } else if (!strcmp(e.name, "abort")) {
            LK_INFO("the pipeline stops after a fatal error: not draining %d batch(es) in flight "
                    "(they replay at the next start)",
                    in->nfl);
            in->state = ABORTED;
        } else if (!strcmp(e.name, "stop")) {
            if (in->state == RUNNING) {
                LK_INFO("stop requested: no new batches; draining %d in flight", in->nfl);
                in->state = DRAINING;
            }
        }
        zmq_msg_close(&msg);
    }
}

static void notify(ingest *in, const char *name, const char *key, const char *value)
{
    lk_msg_event e;
    lk_msg_event_init(&e, name);
    lk_msg_event_set_str(&e, key, value);
    if (!strcmp(name, "fatal")) {
        lk_msg_event_set_str(&e, "role", "ingest");
        /* a configuration error (the transforms against the first schema):
           the supervisor names the user's file and exits LK_EXIT_CONFIG */
        lk_msg_event_set_int(&e, "config", in->err.code == LK_ECONFIG);
    }
    lk_worker_notify(in->w, &e);
}

/* A fatal error: the supervisor stops the pipeline. */
static int fatal(ingest *in, const char *what)
{
    notify(in, "fatal", "error", what[0] ? what : "ingest failed");
    in->state = ABORTED;
    return in->err.code == LK_ECONFIG ? LK_EXIT_CONFIG : LK_EXIT_FAILURE;
}

/* A failure that passes by itself (a full disk, a broker away) pauses
   planning and replays; a batch planned but not sealed is replayed then. */
static int pause_or_fail(ingest *in, int replay)
{
    if (!lk_worker_resource_error(in->err.code) && !lk_source_retryable(in->src, &in->err))
        return 0;
    lk_worker_pause(in->w, in->err.msg);
    in->pause_until_ms = lk_time_mono_ms() + lk_worker_pause_delay_ms(in->w);
    in->replay |= replay;
    return 1;
}

/* ---- the loop ---- */

/* One turn of planning: as many batches as the trigger allows. Returns the
   number planned, or -1 after a fatal error. */
static int plan_batches(ingest *in)
{
    int planned = 0;
    while (in->state == RUNNING && !lk_worker_orphaned(in->w)) {
        int64_t now = lk_time_mono_ms();
        if (now < in->pause_until_ms || !trigger_due(in, now)) break;
        int nfl = in->nfl;
        int p = plan_next(in);
        trigger_fired(in, now, p > 0);
        if (p < 0) {
            if (pause_or_fail(in, in->nfl > nfl)) break;
            return -1;
        }
        if (p == 0) {
            if (!in->poll_failed && !in->replay) lk_worker_pause(in->w, NULL);
            break;
        }
        lk_worker_pause(in->w, NULL);
        planned++;
        handle_inbox(in, 0);
    }
    return planned;
}

/* 1 when every batch is committed (available-now done, or drained). */
static int all_committed(ingest *in)
{
    int64_t *ids = NULL;
    int n = 0;
    lk_state_batches_uncommitted(in->st, &ids, &n, &in->err);
    free(ids);
    return n == 0;
}

static int run_loop(ingest *in)
{
    int available_now = in->cfg->trigger == LK_TRIGGER_AVAILABLE_NOW;
    in->replay = 1; /* whatever was in flight before this process started */
    int prepared = 0;
    while (!lk_worker_orphaned(in->w)) {
        lk_worker_tick(in->w);
        if (lk_worker_stopping(in->w) && in->state == RUNNING) {
            LK_INFO("SIGTERM: draining");
            in->state = DRAINING;
        }
        handle_inbox(in, 0);
        int64_t now = lk_time_mono_ms();
        if (in->hold && in->state != RUNNING) {
            /* stopped (or aborted) before the pipeline was up: this incarnation sent nothing,
               so there is nothing to drain; what an earlier run left uncommitted replays at
               the next start (a replay now would wait for transforms that may never come) */
            if (in->state == DRAINING) {
                LK_INFO("stopped during the start: nothing was planned; uncommitted batches "
                        "of an earlier run replay at the next start");
                notify(in, "done", "reason", "stop");
            }
            return LK_EXIT_OK;
        }
        if (in->hold) {
            /* started ahead of the others (docs/decisions.md, "Ingest lists and infers while
               the other workers start"): the first listing and schema, nothing planned or
               replayed, no end of the run decided, until the supervisor's "go" */
            if (!prepared) {
                prepared = 1;
                if (lk_source_poll(in->src, now, 1, &in->err) < 0)
                    LK_WARN("first listing: %s (retried once planning starts)", in->err.msg);
                else if (lk_source_prepare(in->src, &in->err) < 0 && in->err.code == LK_ECONFIG)
                    return fatal(in, in->err.msg);
            }
            handle_inbox(in, 10);
            continue;
        }
        if (in->replay_one >= 0 && !in->replay && now >= in->pause_until_ms) {
            /* one batch: only if it is still in flight (a later commit may have passed it) */
            int64_t b = in->replay_one;
            in->replay_one = -1;
            for (int i = 0; i < in->nfl; i++) {
                if (in->fl[i].batch_id != b) continue;
                if (send_batch(in, b, 1) == 0) {
                    track(in, b);
                    lk_worker_add(in->w, "replays", 1);
                } else {
                    in->replay = 1; /* the whole replay, as for any failed one */
                }
                break;
            }
        }
        if (in->replay && now >= in->pause_until_ms) {
            in->replay = 0;
            in->replay_one = -1;
            if (replay_uncommitted(in) == 0)
                lk_worker_pause(in->w, NULL);
            else if (!pause_or_fail(in, 1))
                return fatal(in, in->err.msg);
        }
        if (in->nfl) refresh_inflight(in);
        now = lk_time_mono_ms();
        for (int i = 0; i < in->nfl; i++) {
            if (now - in->fl[i].sent_ms > BATCH_TIMEOUT_MS) {
                LK_WARN("batch=%lld not committed after %d s: replaying",
                        (long long)in->fl[i].batch_id, BATCH_TIMEOUT_MS / 1000);
                in->replay = 1;
                break;
            }
        }
        /* new input (available-now: until the source was looked at in full) */
        int discover = in->state == RUNNING && (!available_now || !lk_source_caught_up(in->src));
        in->poll_failed = lk_source_poll(in->src, now, discover, &in->err) < 0;
        if (in->poll_failed && lk_worker_resource_error(in->err.code))
            lk_worker_pause(in->w, in->err.msg);
        int planned = plan_batches(in);
        lk_worker_set(in->w, "inflight", in->nfl);
        if (planned < 0) return fatal(in, in->err.msg);
        if (in->state == ABORTED) return LK_EXIT_OK;
        if (in->nfl == 0 &&
            (in->state == DRAINING || (available_now && lk_source_caught_up(in->src) && !planned &&
                                       !lk_worker_paused(in->w)))) {
            if (all_committed(in)) {
                lk_source_drained(in->src, lk_time_mono_ms());
                LK_INFO("%s: every planned batch is committed",
                        in->state == DRAINING ? "drained" : "available-now backlog done");
                notify(in, "done", "reason", in->state == DRAINING ? "stop" : "available_now");
                return LK_EXIT_OK;
            }
            in->replay = 1;
        }
        int wait = planned ? 0 : 50;
        if (timed_trigger(in) && in->state == RUNNING) {
            int64_t until = in->next_trigger_ms - lk_time_mono_ms();
            if (until < wait) wait = until > 0 ? (int)until : 0;
        }
        handle_inbox(in, wait);
    }
    return LK_EXIT_OK;
}

/* Binds and connects the sockets; 0 or -1 (logged). */
static int open_sockets(ingest *in)
{
    char ep[1200];
    lk_worker_endpoint(in->w, LK_EP_CHUNKS, -1, ep, sizeof ep);
    if (lk_flow_out_new(in->w, ep, &in->chunks, &in->err)) {
        LK_ERROR("%s", in->err.msg);
        return -1;
    }
    in->inbox = zsock_new(ZMQ_PULL);
    zsock_set_rcvhwm(in->inbox, 100000);
    lk_worker_endpoint(in->w, LK_EP_INGEST, -1, ep, sizeof ep);
    if (zsock_bind(in->inbox, "%s", ep) < 0) {
        LK_ERROR("cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
        return -1;
    }
    in->committer = zsock_new(ZMQ_PUSH);
    zsock_set_linger(in->committer, 1000);
    /* started before the committer binds: retry after 5 ms, not ZeroMQ's 100 */
    zsock_set_reconnect_ivl(in->committer, 5);
    zsock_set_reconnect_ivl_max(in->committer, 100);
    lk_worker_endpoint(in->w, LK_EP_COMMITTER, -1, ep, sizeof ep);
    zsock_connect(in->committer, "%s", ep);
    return 0;
}

/* Opens state.db, the schema and the source; an exit code, 0 when ready. */
static int open_ingest(ingest *in)
{
    char path[2048];
    lk_config_state_path(in->cfg, path, sizeof path);
    if (lk_state_open(path, &in->st, &in->err)) {
        LK_ERROR("%s", in->err.msg);
        return LK_EXIT_TEMPFAIL;
    }
    in->ev = lk_evolve_new(in->cfg, in->st);
    if (lk_evolve_load(in->ev, &in->schema_version, &in->err)) {
        LK_ERROR("%s", in->err.msg);
        return LK_EXIT_TEMPFAIL;
    }
    lk_source_env env = {in->w, in->cfg, in->st, in->ev, &in->schema_version, &in->reading_gen};
    in->src = lk_source_new(&env, &in->err);
    if (!in->src) {
        LK_ERROR("%s", in->err.msg);
        return in->err.code == LK_ECONFIG ? LK_EXIT_CONFIG : LK_EXIT_TEMPFAIL;
    }
    if (open_sockets(in)) return LK_EXIT_TEMPFAIL;
    in->pool = lk_sendbuf_new();
    if (in->cfg->trigger == LK_TRIGGER_FRESHNESS) {
        /* until batches are measured: half the objective */
        in->fresh_iv_ms = in->cfg->freshness_ms / 2;
        lk_worker_set(in->w, "trigger_interval_ms", in->fresh_iv_ms);
        LK_INFO("trigger freshness %lld ms: first interval %lld ms, then chosen by how long "
                "batches take",
                (long long)in->cfg->freshness_ms, (long long)in->fresh_iv_ms);
    }
    if (timed_trigger(in)) {
        set_next_trigger(in, lk_time_mono_ms()); /* the first batch at once */
        if (in->cfg->trigger == LK_TRIGGER_PROCESSING_TIME)
            LK_INFO("trigger processing_time every %lld ms", (long long)in->cfg->processing_time_ms);
    }
    return 0;
}

int lk_ingest_run(lk_worker *w)
{
    ingest IN, *in = &IN;
    memset(in, 0, sizeof *in);
    in->replay_one = -1;
    in->w = w;
    in->cfg = lk_worker_config(w);
    /* the supervisor started us ahead of the other workers: hold until it says "go" */
    const char *hold = getenv("LAKESUP_INGEST_HOLD");
    in->hold = hold && !strcmp(hold, "1");
    int rc = open_ingest(in);
    if (rc == 0) {
        lk_worker_ready(w);
        rc = run_loop(in);
        /* wait for the supervisor's SIGTERM so that "done" is not mistaken
           for a crash: the supervisor stops us in order */
        while (!lk_worker_stopping(w))
            handle_inbox(in, 100);
    }
    lk_flow_out_destroy(&in->chunks);
    zsock_destroy(&in->inbox);
    zsock_destroy(&in->committer);
    lk_source_destroy(&in->src);
    lk_evolve_destroy(&in->ev);
    lk_state_close(&in->st);
    lk_buf_free(&in->msg);
    lk_sendbuf_destroy(&in->pool);
    return rc;
}
