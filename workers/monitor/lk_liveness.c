/* lk_liveness — see lk_liveness.h. */
#include "lk_liveness.h"

#include <stdio.h>
#include <string.h>

void lk_liveness_report(lk_liveness *l, int pid, const char *state, int64_t now_ms)
{
    if (!l->seen || pid != l->pid) l->pid_since_ms = now_ms;
    l->pid = pid;
    snprintf(l->state, sizeof l->state, "%s", state ? state : "?");
    l->seen = 1;
}

int lk_liveness_up(const lk_liveness *l, const char *role, int index, int hb_pid, int64_t hb_ms,
                   int64_t now_ms, int64_t window_ms, int booting, char *why, size_t cap)
{
    /* a worker whose pid changed (or was first reported) within the window is not down: the
       pipeline is starting or restarting it, or its first heartbeat is on its way (every start,
       and a 1 ms restart, paged as "workers down") */
    int fresh = now_ms - l->pid_since_ms < window_ms;
    if (fresh && (!strcmp(l->state, "starting") || !strcmp(l->state, "not started") ||
                  !strcmp(l->state, "restarting")))
        return 1;
    /* a heartbeat from another pid, recent: an incarnation newer than the supervisor's status
       the monitor holds (asked before a restart, its answer read after the new worker's first
       heartbeat). It was counted down, "sends no heartbeat", under ASan, where a restart
       takes long enough for the two to cross. */
    if (hb_pid > 0 && hb_pid != l->pid && now_ms - hb_ms <= window_ms) return 1;
    if (strcmp(l->state, "running") || l->pid <= 0) {
        snprintf(why, cap, "%s[%d] is %s", role, index, l->state);
        return 0;
    }
    int64_t age = hb_pid > 0 && hb_pid == l->pid ? now_ms - hb_ms : -1;
    if (age < 0 && (booting || fresh))
        return 1; /* the monitor or the worker just started: heartbeats are coming */
    if (age < 0) {
        snprintf(why, cap, "%s[%d] (pid %d) sends no heartbeat", role, index, l->pid);
        return 0;
    }
    if (age > window_ms) {
        snprintf(why, cap, "%s[%d] (pid %d) sent no heartbeat for %.1f s", role, index, l->pid,
                 (double)age / 1000.0);
        return 0;
    }
    return 1;
}
