/*
 * lk_restart — the restart policy of one supervised child, with no clock
 * and no process of its own, so that it is unit-tested with a fake clock.
 *
 * Backoff: the first death, and the first after a healthy run of
 * healthy_reset_ms, restart at once (a sporadic crash costs nothing); a
 * death after that waits backoff_min_ms, each further one twice as long up
 * to backoff_max_ms, plus a jitter of up to a quarter (so that several
 * children killed together do not restart in step). Intensity (as in Erlang/OTP supervisors): more than
 * intensity_max restarts within intensity_period_ms is a crash loop, and
 * the supervisor escalates instead of restarting.
 *
 * It also keeps the child's death tally: how many times it died, and the
 * last few deaths with their time, cause and last reported error.
 */
#ifndef LK_RESTART_H
#define LK_RESTART_H

#include <stdint.h>

#include "lk_buf.h"

typedef struct lk_restart_policy {
    int64_t backoff_min_ms;      /* 100 */
    int64_t backoff_max_ms;      /* 30000 */
    int64_t healthy_reset_ms;    /* 10000 */
    int intensity_max;           /* 5 */
    int64_t intensity_period_ms; /* 30000 */
} lk_restart_policy;

#define LK_RESTART_POLICY_DEFAULT {100, 30000, 10000, 5, 30000}
#define LK_RESTART_TALLY 8 /* deaths kept in detail */

typedef struct lk_restart lk_restart;

/* seed makes the jitter repeatable in tests. */
lk_restart *lk_restart_new(const lk_restart_policy *p, uint32_t seed);
void lk_restart_destroy(lk_restart **r);

/* The child was started at now_ms (monotonic). */
void lk_restart_started(lk_restart *r, int64_t now_ms);

/* The child died at now_ms (monotonic; wall_ms is the wall clock for the
   tally) because of cause ("exit code 3", "killed by signal 9 (Killed)"),
   last_error being its last reported error or NULL. Returns 0 and the
   delay before the restart in *delay_ms, or 1 when this death makes a
   crash loop (no restart: escalate). */
int lk_restart_died(lk_restart *r, int64_t now_ms, int64_t wall_ms, const char *cause,
                    const char *last_error, int64_t *delay_ms);

/* Restarts within the intensity period before now_ms. */
int lk_restart_recent(const lk_restart *r, int64_t now_ms);
/* Total deaths so far. */
int lk_restart_count(const lk_restart *r);
/* The backoff the next death would start from (without jitter). */
int64_t lk_restart_backoff(const lk_restart *r);
/* The cause of the latest death, or "" if none. */
const char *lk_restart_last_cause(const lk_restart *r);

/* The tally as a JSON array, newest first:
   [{"at_ms":wall,"cause":"...","last_error":"..."},...] */
void lk_restart_tally_json(const lk_restart *r, lk_buf *out);

#endif
