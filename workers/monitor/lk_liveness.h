/*
 * lk_liveness — whether a worker is down, from what the supervisor last said of it (its pid and
 * state, and since when) and its last heartbeat: the monitor's `workers_down` and `/healthz`.
 * A value type, embedded in the monitor's per-worker record; the decision is a pure function.
 */
#ifndef LK_LIVENESS_H
#define LK_LIVENESS_H

#include <stddef.h>
#include <stdint.h>

typedef struct lk_liveness {
    int pid;                /* as the supervisor said: 0 while it is not running */
    char state[24];         /* the supervisor's word: "running", "starting", "restarting", ... */
    int64_t pid_since_ms;   /* when this pid was first reported (monotonic) */
    int seen;               /* anything reported yet */
} lk_liveness;

/* The supervisor reports pid and state at now_ms. */
void lk_liveness_report(lk_liveness *l, int pid, const char *state, int64_t now_ms);

/* 1 if the worker is up at now_ms, else 0 with why ("transform[0] (pid 12) sends no
   heartbeat"): hb_pid and hb_ms are its last heartbeat's pid and time (hb_pid 0: none yet),
   window_ms how old a heartbeat may be, booting 1 while the monitor itself has just started. */
int lk_liveness_up(const lk_liveness *l, const char *role, int index, int hb_pid, int64_t hb_ms,
                   int64_t now_ms, int64_t window_ms, int booting, char *why, size_t cap);

#endif
