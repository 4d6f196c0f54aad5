/*
 * lk_notify — the supervisor's side of systemd's service notification
 * protocol (sd_notify(3), from Debian's libsystemd): READY=1 once every
 * worker is ready (Type=notify units start their dependants only then),
 * STATUS= lines with what the pipeline does, STOPPING=1 when it drains,
 * and WATCHDOG=1 keep-alives when the unit sets WatchdogSec=. Without
 * NOTIFY_SOCKET (not under systemd) every call is a no-op.
 */
#ifndef LK_NOTIFY_H
#define LK_NOTIFY_H

#include <stdint.h>

typedef struct lk_notify lk_notify;

lk_notify *lk_notify_new(void);
void lk_notify_destroy(lk_notify **n);

/* 1 when running under a service manager that listens (NOTIFY_SOCKET). */
int lk_notify_enabled(const lk_notify *n);
/* READY=1 with a STATUS line. */
void lk_notify_ready(lk_notify *n, const char *status);
/* STATUS=<status>, sent only when it changed. */
void lk_notify_status(lk_notify *n, const char *status);
/* STOPPING=1 with a STATUS line. */
void lk_notify_stopping(lk_notify *n, const char *status);
/* WATCHDOG=1 when half the watchdog interval has passed since the last. */
void lk_notify_watchdog(lk_notify *n, int64_t now_ms);

#endif
