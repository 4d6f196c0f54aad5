/* lk_remote — the gateway of remote transforms on the pipeline host (the
   "remote" worker; see lk_remote.c). */
#ifndef LK_REMOTE_H
#define LK_REMOTE_H

#include "lk_worker.h"

/* Wire of the CURVE link between a worker host (DEALER) and the gateway
   (ROUTER), one message = frames, the first naming what it is:
     host → gateway  HELLO nonce host pid n | H | C link data | R index writer data
                     | M data | D index why | BYE why
     gateway → host  WELCOME nonce indexes cwd config | H | C link data | R index writer data
                     | S table version schema-json | BYE why
   C carries a remote transform's chunks link (its DEALER to ingest's
   ROUTER), R one writer's link to a remote transform's records ROUTER, M
   what the transform tells the monitor, D a transform that died. */
#define LK_REMOTE_HEARTBEAT_MS 1000
#define LK_REMOTE_TIMEOUT_MS 5000

/* Runs the gateway until the worker is told to stop; a process exit code. */
int lk_remote_run(lk_worker *w);

#endif
