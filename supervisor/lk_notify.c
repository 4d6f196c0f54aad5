/* lk_notify — sd_notify for the supervisor; see lk_notify.h. */
#include "lk_notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "lk_log.h"

struct lk_notify {
    int enabled;
    int64_t watchdog_ms; /* 0: no watchdog */
    int64_t last_watchdog_ms;
    char status[256];
};

lk_notify *lk_notify_new(void)
{
    lk_notify *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    const char *sock = getenv("NOTIFY_SOCKET");
    n->enabled = sock && *sock;
    uint64_t usec = 0;
    if (n->enabled && sd_watchdog_enabled(0, &usec) > 0)
        n->watchdog_ms = (int64_t)(usec / 1000);
    if (n->enabled)
        LK_INFO("systemd notification socket %s%s", sock,
                n->watchdog_ms ? ", watchdog enabled" : "");
    return n;
}

void lk_notify_destroy(lk_notify **n)
{
    if (n && *n) {
        free(*n);
        *n = NULL;
    }
}

int lk_notify_enabled(const lk_notify *n)
{
    return n && n->enabled;
}

static void notify_send(lk_notify *n, const char *what, const char *status)
{
    if (!lk_notify_enabled(n))
        return;
    int rc = status ? sd_notifyf(0, "%s%sSTATUS=%s", what, *what ? "\n" : "", status)
                    : sd_notify(0, what);
    if (rc < 0)
        LK_WARN("sd_notify(%s) failed: %s", what, strerror(-rc));
    if (status)
        snprintf(n->status, sizeof n->status, "%s", status);
}

void lk_notify_ready(lk_notify *n, const char *status)
{
    notify_send(n, "READY=1", status);
}

void lk_notify_status(lk_notify *n, const char *status)
{
    if (lk_notify_enabled(n) && strcmp(n->status, status))
        notify_send(n, "", status);
}

void lk_notify_stopping(lk_notify *n, const char *status)
{
    notify_send(n, "STOPPING=1", status);
}

void lk_notify_watchdog(lk_notify *n, int64_t now_ms)
{
    if (!lk_notify_enabled(n) || !n->watchdog_ms || now_ms - n->last_watchdog_ms < n->watchdog_ms / 2)
        return;
    n->last_watchdog_ms = now_ms;
    notify_send(n, "WATCHDOG=1", NULL);
}
