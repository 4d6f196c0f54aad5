/* lk_worker_host — `lakesupd worker-host`: transforms on this host for a
   pipeline that runs on another (see lk_worker_host.c). */
#ifndef LK_WORKER_HOST_H
#define LK_WORKER_HOST_H

typedef struct lk_worker_host_opts {
    const char *connect;    /* tcp://HOST:PORT of the pipeline host's workers.remote.bind */
    const char *key;        /* this host's key pair (lakesupd keygen) */
    const char *server_key; /* the pipeline host's public server key */
    const char *dir;        /* work directory (NULL: a temporary one) */
    int transforms;         /* transform=N */
    const char *log_level;
} lk_worker_host_opts;

/* Runs until SIGTERM/SIGINT, or until the pipeline host refuses this
   host's key (LK_EXIT_CONFIG); returns a process exit code. */
int lk_worker_host_run(const lk_worker_host_opts *o);

#endif
