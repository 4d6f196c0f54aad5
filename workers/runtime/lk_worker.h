/*
 * lk_worker — what every worker process shares: its identity (role, index),
 * the configuration, the run directory, readiness, heartbeats with progress
 * counters, and leaving when told to or when the supervisor is gone.
 *
 * A worker is a separate program image (`lakesupd worker ROLE INDEX ...`)
 * exec'd by the supervisor. It dies with its supervisor: PR_SET_PDEATHSIG
 * is set by the supervisor between fork and exec, and lk_worker_tick()
 * also checks that the parent is still the supervisor (the signal is lost
 * when the parent dies between fork and prctl).
 *
 * Counters live in one "progress" event that is sent, every 500 ms and on
 * lk_worker_flush(), to the supervisor (liveness) and to the monitor
 * (metrics). SIGTERM/SIGINT set the stopping flag; each role's loop drains
 * and returns.
 */
#ifndef LK_WORKER_H
#define LK_WORKER_H

#include <czmq.h>
#include <stdint.h>

#include "lk_buf.h"
#include "lk_config.h"
#include "lk_error.h"
#include "lk_endpoint.h"
#include "lk_msg.h"

typedef struct lk_worker lk_worker;

/* Sets up logging, signals, the heartbeat and progress sockets. */
int lk_worker_new(const char *role, int index, const lk_config *cfg, const char *run_dir,
                  lk_worker **out, lk_error *err);
void lk_worker_destroy(lk_worker **w);

const lk_config *lk_worker_config(const lk_worker *w);
const char *lk_worker_role(const lk_worker *w);
int lk_worker_index(const lk_worker *w);
const char *lk_worker_run_dir(const lk_worker *w);
/* The endpoint name[-index] (lk_endpoint.h; index -1: none) in this pipeline's run directory. */
void lk_worker_endpoint(const lk_worker *w, const char *name, int index, char *out, size_t cap);

/* 1 once SIGTERM/SIGINT arrived or the supervisor is gone. */
int lk_worker_stopping(const lk_worker *w);
/* 1 once SIGUSR1 arrived: the supervisor scales this worker in. A data
   worker then finishes and hands on everything on its way to it (lk_flow)
   before it exits 0; a stop (SIGTERM) still stops at once. */
int lk_worker_retiring(const lk_worker *w);
/* How many times the running configuration was re-read (SIGHUP): a worker
   whose links follow workers.* compares it with the count it last saw. */
int lk_worker_reloads(const lk_worker *w);
/* 1 if the supervisor is gone (the worker must exit at once). */
int lk_worker_orphaned(lk_worker *w);

/* Tells the supervisor this worker is up (sockets bound/connected). */
void lk_worker_ready(lk_worker *w);
/* Sends a named event to the supervisor. */
int lk_worker_notify(lk_worker *w, const lk_msg_event *e);

/* Progress counters (sent with heartbeats). Two of them feed liveness:
   "work_done" (units of work finished) and "busy" (1 while the worker holds
   work it should finish); a busy worker whose work_done stays still for
   worker_timeout is killed and restarted (unless it is paused). */
void lk_worker_add(lk_worker *w, const char *key, int64_t delta);
void lk_worker_set(lk_worker *w, const char *key, int64_t v);
void lk_worker_set_str(lk_worker *w, const char *key, const char *v);
/* Sends heartbeat/progress if due and checks the parent. Call often. */
void lk_worker_tick(lk_worker *w);
/* Sends progress now. */
void lk_worker_flush(lk_worker *w);
/* Reports this worker's share of one batch (a phase) to the monitor, which
   assembles the batch's progress record: role, index and ts_us are filled
   here. Never blocks (a monitor that is down or behind loses the report). */
void lk_worker_report(lk_worker *w, lk_msg_progress *p);

/* ---- pausing on resource problems ---- */
/* 1 for errors that pass by themselves once an operator frees space or the
   device recovers (ENOSPC, EDQUOT, EIO, EROFS): the worker pauses and
   retries what it holds instead of failing; nothing is lost or doubled. */
int lk_worker_resource_error(int code);
/* why != NULL: the worker is paused for that reason (logged once, reported
   as progress "paused" and counted in "pauses"); NULL: resumed (logged
   with the pause's duration). Repeated calls with the same state are free. */
void lk_worker_pause(lk_worker *w, const char *why);
int lk_worker_paused(const lk_worker *w);
/* The retry delay of a pause: 100 ms doubling to 5 s. */
int lk_worker_pause_delay_ms(const lk_worker *w);
/* Sleeps up to ms while sending heartbeats; returns early when stopping. */
void lk_worker_sleep(lk_worker *w, int ms);

/* Receives messages on in and hands each to fn until the worker is told to
   stop. Returns 0 then, or 1 as soon as fn fails (the process exits; the
   supervisor restarts it and ingest replays what it held). */
int lk_worker_pull_loop(lk_worker *w, zsock_t *in,
                        int (*fn)(void *ctx, const void *data, size_t len), void *ctx);

/* ---- ZeroMQ helpers shared by the roles ---- */
/* Sends b as one message; flags as zmq_send (ZMQ_DONTWAIT). 0 or -errno. */
int lk_zmq_send(zsock_t *s, const void *data, size_t len, int flags);
/* Sends every frame of *m (flags: 0 or ZFRAME_DONTWAIT; the socket's send timeout applies) and
   destroys it, sent or not (czmq's zmsg_send keeps the frame it failed to send out of the
   message, which the caller's zmsg_destroy then misses). 0 or -errno. */
int lk_zmsg_send(zmsg_t **m, zsock_t *to, int flags);
/* Receives one message into msg (initialised by the caller), waiting up to
   timeout_ms (-1 forever). 0, -EAGAIN on timeout, -EINTR, or -errno. */
int lk_zmq_recv(zsock_t *s, zmq_msg_t *msg, int timeout_ms);
/* Sends with a bounded wait, retrying while the worker is not stopping;
   keeps memory bounded by ZeroMQ's high-water marks. 0 or -errno. */
int lk_zmq_send_blocking(lk_worker *w, zsock_t *s, const void *data, size_t len);

#endif
