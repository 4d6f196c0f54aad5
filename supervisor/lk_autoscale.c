/* lk_autoscale — transform autoscaling decisions; see lk_autoscale.h. */
#include "lk_autoscale.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HISTORY 64

struct lk_autoscale {
    lk_autoscale_sample hist[HISTORY];
    int n;                /* samples held (oldest first) */
    int64_t changed_ms;   /* last change (cooldown) */
    int last_hold;        /* the last reason to hold that was said */
};

lk_autoscale *lk_autoscale_new(void)
{
    lk_autoscale *a = calloc(1, sizeof *a);
    if (!a)
        abort();
    a->changed_ms = -LK_AUTOSCALE_COOLDOWN_MS;
    a->last_hold = -1;
    return a;
}

void lk_autoscale_destroy(lk_autoscale **a)
{
    if (a && *a) {
        free(*a);
        *a = NULL;
    }
}

void lk_autoscale_changed(lk_autoscale *a, int64_t now_ms)
{
    a->changed_ms = now_ms;
    a->n = 0; /* what was measured with another count says nothing now */
}

enum { HOLD_NONE = 0, HOLD_BALANCED, HOLD_MAX, HOLD_CPU, HOLD_NOT_WAITING };

int lk_autoscale_decide(lk_autoscale *a, const lk_autoscale_sample *s, int max, char *why,
                        size_t cap)
{
    why[0] = '\0';
    if (a->n && s->transforms != a->hist[a->n - 1].transforms)
        a->n = 0; /* the count changed under us (a worker died or was scaled) */
    if (a->n == HISTORY) {
        memmove(a->hist, a->hist + 1, (HISTORY - 1) * sizeof a->hist[0]);
        a->n--;
    }
    a->hist[a->n++] = *s;
    /* the oldest sample at least a window old */
    int k = -1;
    for (int i = a->n - 1; i >= 0; i--)
        if (s->now_ms - a->hist[i].now_ms >= LK_AUTOSCALE_WINDOW_MS) {
            k = i;
            break;
        }
    if (k < 0 || s->now_ms - a->changed_ms < LK_AUTOSCALE_COOLDOWN_MS || s->transforms < 1)
        return 0;
    const lk_autoscale_sample *o = &a->hist[k];
    double dt_us = (double)(s->now_ms - o->now_ms) * 1000.0;
    double busy = (double)(s->busy_us - o->busy_us) / (dt_us * s->transforms);
    double wait = (double)(s->send_wait_us - o->send_wait_us) / dt_us;
    double idle = s->idle_cores >= 0 && o->idle_cores >= 0
                      ? (s->idle_cores - o->idle_cores) / (dt_us / 1e6)
                      : 0;
    if (busy < 0)
        busy = 0;
    if (wait < 0)
        wait = 0;
    int hold = HOLD_BALANCED;
    if (busy >= 0.80 && wait >= 0.20) {
        if (s->transforms >= max) {
            hold = HOLD_MAX;
        } else if (idle < 0.5) {
            hold = HOLD_CPU;
        } else {
            snprintf(why, cap,
                     "transforms busy %.0f %% of the time, ingest waited %.0f %% of the time for "
                     "a free transform, %.1f idle core(s)",
                     busy * 100, wait * 100, idle);
            return +1;
        }
    } else if (busy < 0.30 && s->transforms > 1) {
        snprintf(why, cap, "transforms busy %.0f %% of the time (idle)", busy * 100);
        return -1;
    } else if (busy >= 0.80) {
        hold = HOLD_NOT_WAITING;
    }
    if (hold != a->last_hold) {
        a->last_hold = hold;
        switch (hold) {
        case HOLD_MAX:
            snprintf(why, cap, "transforms are the bottleneck (busy %.0f %%, ingest waited %.0f %%) "
                     "but at workers.max_transform (%d)", busy * 100, wait * 100, max);
            break;
        case HOLD_CPU:
            snprintf(why, cap, "transforms are the bottleneck (busy %.0f %%, ingest waited %.0f %%) "
                     "but the host has %.1f idle core(s)", busy * 100, wait * 100, idle);
            break;
        case HOLD_NOT_WAITING:
            snprintf(why, cap, "transforms busy %.0f %% but ingest does not wait for them (%.0f %%): "
                     "the bottleneck is elsewhere", busy * 100, wait * 100);
            break;
        default: break;
        }
    }
    return 0;
}

double lk_autoscale_host_idle(void)
{
    /* tests on a shared machine cannot count on idle cores: they state them
       (cumulative idle seconds then grow by N per second of monotonic time) */
    const char *fake = getenv("LAKESUP_AUTOSCALE_IDLE_CORES");
    if (fake && *fake) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return atof(fake) * ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
    }
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    unsigned long long user, nice, sys, idle, iowait;
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu", &user, &nice, &sys, &idle, &iowait);
    fclose(f);
    if (n != 5)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    return (double)(idle + iowait) / (double)(hz > 0 ? hz : 100);
}

int lk_autoscale_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
