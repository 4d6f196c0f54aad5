/*
 * lk_http — the monitor's HTTP endpoint (libmicrohttpd), read-only.
 *
 * It runs inside the monitor's own loop, not in threads of its own: the
 * daemon uses epoll, lk_http_fd() is that epoll descriptor (readable when
 * a connection has something to do) and lk_http_run() serves what is
 * ready without blocking. So a handler reads the monitor's state with no
 * lock, and a scrape sees the numbers of the moment it is served.
 *
 * Only GET and HEAD are served (405 otherwise): nothing served can change
 * the pipeline. With a token every request needs "Authorization: Bearer
 * <token>" (401 otherwise; compared in constant time).
 */
#ifndef LK_HTTP_H
#define LK_HTTP_H

#include "lk_buf.h"
#include "lk_error.h"

typedef struct lk_http lk_http;

/* Fills body and *content_type (a static string) for path and the query
   string ("" if none); returns the HTTP status. */
typedef int (*lk_http_handler)(void *ctx, const char *path, const char *query, lk_buf *body,
                               const char **content_type);

/* Listens on host:port (host "" = every address); token "" = no auth. */
int lk_http_new(const char *host, int port, const char *token, lk_http_handler fn, void *ctx,
                lk_http **out, lk_error *err);
void lk_http_destroy(lk_http **h);
/* The port really bound (port 0 asks the kernel for a free one). */
int lk_http_port(const lk_http *h);
/* A descriptor to poll for reading; lk_http_run() when it is readable. */
int lk_http_fd(const lk_http *h);
/* Serves what is ready; never blocks. */
void lk_http_run(lk_http *h);
/* Requests served since start. */
long long lk_http_requests(const lk_http *h);

#endif
