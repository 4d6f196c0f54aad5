/* lk_committer — the committer worker's main loop (see lk_committer.c for what it does). */
#ifndef LK_COMMITTER_H
#define LK_COMMITTER_H

#include "lk_worker.h"

/* Runs until the worker is told to stop; returns a process exit code. */
int lk_committer_run(lk_worker *w);

#endif
