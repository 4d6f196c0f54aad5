/*
 * lk_exit — the process exit codes of every lakesupd process (the CLI, the
 * supervisor and each worker), in one place because the supervisor acts on
 * a worker's code and systemd on the supervisor's (deploy/lakesupd.service:
 * RestartPreventExitStatus). Documented in `lakesupd --help` and
 * docs/operations.md; the values follow sysexits-like conventions that
 * service managers know (100: permanent, 111: temporary, as daemontools).
 */
#ifndef LK_EXIT_H
#define LK_EXIT_H

enum {
    LK_EXIT_OK = 0,
    LK_EXIT_FAILURE = 1,   /* a runtime failure (a worker: restarted with backoff) */
    LK_EXIT_USAGE = 2,     /* bad command line */
    LK_EXIT_CONFIG = 100,  /* configuration error: restarting would fail the same way */
    LK_EXIT_TEMPFAIL = 111 /* temporary failure (a socket, state.db busy): restart later */
};

#endif
