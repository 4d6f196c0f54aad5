/*
 * lk_endpoint — the names of the process tree's ZeroMQ sockets: every
 * endpoint is an ipc:// socket in the run directory, named after what it
 * carries (docs/architecture.md draws the topology). The fan-out side of
 * each PUSH/PULL pair binds, so that any number of peers can connect.
 */
#ifndef LK_ENDPOINT_H
#define LK_ENDPOINT_H

#include <stddef.h>

#define LK_EP_SUPERVISOR "supervisor" /* PULL, supervisor: every worker's events and heartbeats */
#define LK_EP_CONTROL "control"       /* REP, supervisor: the CLI's status / stop */
#define LK_EP_INGEST "ingest"         /* PULL, ingest: replay, stop, committed */
#define LK_EP_CHUNKS "chunks"         /* PUSH, ingest → transforms: CHUNK messages */
#define LK_EP_RECORDS "records"       /* PUSH, transform i (records-<i>) → writers: RECORDS */
#define LK_EP_COMMITTER "committer"   /* PULL, committer: FILES from writers, sealed from ingest */
#define LK_EP_FLUSH "flush"           /* PUB, committer → writers: flush (close a batch's files), done */
#define LK_EP_MONITOR "monitor"       /* PULL, monitor: every worker's progress */
#define LK_EP_MONITOR_REP "monitor-rep" /* REP, monitor: the supervisor's stats request */

/* Transforms of other hosts (workers.remote): the gateway on the pipeline
   host binds records-<i> for each, i in [FIRST, LAST], beside the local
   transforms' 0..workers.transform-1; writers follow the ones bound. */
#define LK_EP_REMOTE_FIRST 64
#define LK_EP_REMOTE_LAST 99

/* The longest name with an index: what a run directory must leave room for. */
#define LK_EP_LONGEST "records-99"

/* "ipc://<run_dir>/<name>.ipc", or with index >= 0 "ipc://<run_dir>/<name>-<index>.ipc". */
void lk_endpoint(const char *run_dir, const char *name, int index, char *out, size_t cap);

#endif
