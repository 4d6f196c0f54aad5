/*
 * lk_autoscale — when to add or remove a transform (workers.transform: auto).
 *
 * The supervisor feeds it, about once a second, what the heartbeats carry:
 * the transforms' summed parse time (busy_us: work, not the wait for a
 * writer), ingest's time spent waiting for a transform to ask for a chunk
 * (send_wait_us), and the host's idle CPU (/proc/stat). Over a window of
 * LK_AUTOSCALE_WINDOW_MS it decides:
 *   +1  the transforms are the bottleneck — busy >= 80 % of the time each and
 *       ingest waited for them >= 20 % of the time — and the host has at
 *       least half a core idle, below workers.max_transform;
 *   -1  they are idle — busy < 30 % each, so that one fewer would still be
 *       below ~45 % — above one transform;
 *    0  otherwise, or within LK_AUTOSCALE_COOLDOWN_MS of the last change (a new
 *       worker must warm up before it is judged).
 * Every decision comes with its reason in words, which the supervisor logs.
 */
#ifndef LK_AUTOSCALE_H
#define LK_AUTOSCALE_H

#include <stddef.h>
#include <stdint.h>

#define LK_AUTOSCALE_WINDOW_MS 5000
#define LK_AUTOSCALE_COOLDOWN_MS 10000

typedef struct lk_autoscale_sample {
    int64_t now_ms;
    int transforms;       /* running now */
    int64_t busy_us;      /* cumulative over the running transforms */
    int64_t send_wait_us; /* ingest's, cumulative */
    double idle_cores;    /* cumulative idle CPU seconds of the host (lk_autoscale_host_idle) */
} lk_autoscale_sample;

typedef struct lk_autoscale lk_autoscale;

lk_autoscale *lk_autoscale_new(void);
void lk_autoscale_destroy(lk_autoscale **a);
/* Feeds a sample; returns +1, -1 or 0 and, when not 0 (or when the reason
   to hold changed), a sentence in why. max: the upper bound. */
int lk_autoscale_decide(lk_autoscale *a, const lk_autoscale_sample *s, int max, char *why,
                        size_t cap);
/* Tells it a change happened now (by it or by an operator): cooldown. */
void lk_autoscale_changed(lk_autoscale *a, int64_t now_ms);
/* The host's cumulative idle CPU time in seconds (idle + iowait of every
   core), or -1 when /proc/stat cannot be read. LAKESUP_AUTOSCALE_IDLE_CORES=N
   (tests on a shared machine) states N idle cores instead. */
double lk_autoscale_host_idle(void);
/* The host's cores (online CPUs). */
int lk_autoscale_cores(void);

#endif
