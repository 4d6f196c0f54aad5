/* lk_liveness — see lk_liveness.h. */
#include "lk_liveness.h"

#include <stdio.h>
#include <string.h>

void lk_liveness_report(lk_liveness *l, int pid, const char *state, int64_t now_ms)
{
    if (!state) state = "?";
    if (!l->seen || pid != l->pid) l->pid_since_ms = now_ms;
    if (!l->seen || strcmp(state, l->state)) l->state_since_ms = now_ms;
    l->pid = pid;
    snprintf(l->state, sizeof l->state, "%s", state);
    l->seen = 1;
}

/* A worker whose pid changed (or was first reported) within the window is not down: the
   pipeline is starting or restarting it (every start, and a 1 ms restart, paged as "workers
   down"). Nor one that became "restarting" within it: the supervisor's status can be taken
   between a worker's exit and its restart, the old pid still named (a monitor e2e test paged
   so under ASan, where the restart took 8 ms); a restart held back longer than the window
   (a crash loop's backoff) is down. */
int lk_liveness_starting(const lk_liveness *l, int64_t now_ms, int64_t window_ms)
{
    if (strcmp(l->state, "starting") && strcmp(l->state, "not started") &&
        strcmp(l->state, "restarting"))
        return 0;
    return lk_liveness_new_pid(l, now_ms, window_ms) || now_ms - l->state_since_ms < window_ms;
}

int lk_liveness_new_pid(const lk_liveness *l, int64_t now_ms, int64_t window_ms)
{
    return now_ms - l->pid_since_ms < window_ms;
}
