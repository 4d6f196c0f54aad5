/* lk_writer — the writer worker's main loop (see lk_writer.c for what it does). */
#ifndef LK_WRITER_H
#define LK_WRITER_H

#include "lk_worker.h"

/* Runs until the worker is told to stop; returns a process exit code. */
int lk_writer_run(lk_worker *w);

#endif
