/* lk_monitor — the monitor worker's main loop (see lk_monitor.c for what it does). */
#ifndef LK_MONITOR_H
#define LK_MONITOR_H

#include "lk_worker.h"

/* Runs until the worker is told to stop; returns a process exit code. */
int lk_monitor_run(lk_worker *w);

#endif
