/* lk_ingest — the ingest worker's main loop (see lk_ingest.c for what it does). */
#ifndef LK_INGEST_H
#define LK_INGEST_H

#include "lk_worker.h"

/* Runs until the worker is told to stop; returns a process exit code. */
int lk_ingest_run(lk_worker *w);

#endif
