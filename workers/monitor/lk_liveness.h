/*
 * lk_liveness — what the supervisor last said of one worker (its pid and state) and since when,
 * for the monitor's "is this worker down": a worker the pipeline is starting or restarting is
 * not down while that is recent (within the heartbeat window). A value type, embedded in the
 * monitor's per-worker record.
 */
#ifndef LK_LIVENESS_H
#define LK_LIVENESS_H

#include <stdint.h>

typedef struct lk_liveness {
    int pid;
    char state[24];         /* the supervisor's word: "running", "starting", "restarting", ... */
    int64_t pid_since_ms;   /* when this pid was first reported (monotonic) */
    int64_t state_since_ms; /* when this state was first reported (monotonic) */
    int seen;               /* anything reported yet */
} lk_liveness;

/* The supervisor reports pid and state at now_ms. */
void lk_liveness_report(lk_liveness *l, int pid, const char *state, int64_t now_ms);
/* 1 when the worker is being started or restarted ("not started", "starting", "restarting")
   and its pid or its state is younger than window_ms: not down yet. */
int lk_liveness_starting(const lk_liveness *l, int64_t now_ms, int64_t window_ms);
/* 1 when its pid is younger than window_ms (its first heartbeat may still be on its way). */
int lk_liveness_new_pid(const lk_liveness *l, int64_t now_ms, int64_t window_ms);

#endif
