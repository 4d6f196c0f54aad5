/* lk_transform — the transform worker's main loop (see lk_transform.c for what it does). */
#ifndef LK_TRANSFORM_H
#define LK_TRANSFORM_H

#include "lk_worker.h"

/* Runs until the worker is told to stop; returns a process exit code. */
int lk_transform_run(lk_worker *w);

#endif
