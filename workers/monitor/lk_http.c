/* lk_http — the monitor's read-only HTTP endpoint; see lk_http.h. */
#include "lk_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lk_dl.h"
#include "lk_log.h"

/* libmicrohttpd is loaded by lk_http_new (dlopen), not linked: linked, it and the 8 libraries
   it brings (GnuTLS and 7 of GnuTLS's) were mapped and relocated by every process of the tree at
   every start, ~5 ms each, for the monitor alone (docs/decisions.md, "Libraries"). Its header still
   gives the types and constants; each call goes through this table. */
static struct {
    void *lib;
    __typeof__(MHD_start_daemon) *start_daemon;
    __typeof__(MHD_stop_daemon) *stop_daemon;
    __typeof__(MHD_run) *run;
    __typeof__(MHD_get_daemon_info) *get_daemon_info;
    __typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
    __typeof__(MHD_add_response_header) *add_response_header;
    __typeof__(MHD_queue_response) *queue_response;
    __typeof__(MHD_destroy_response) *destroy_response;
    __typeof__(MHD_lookup_connection_value) *lookup_connection_value;
    __typeof__(MHD_get_connection_values) *get_connection_values;
} g_mhd;

/* Loads libmicrohttpd and fills g_mhd, once: 0, or -1 with err. */
static int mhd_load(lk_error *err)
{
    if (g_mhd.lib) return 0;
    const lk_dl_fn fns[] = {
#define MHD_FN(f) {"MHD_" #f, &g_mhd.f}
        MHD_FN(start_daemon), MHD_FN(stop_daemon), MHD_FN(run), MHD_FN(get_daemon_info),
        MHD_FN(create_response_from_buffer), MHD_FN(add_response_header), MHD_FN(queue_response),
        MHD_FN(destroy_response), MHD_FN(lookup_connection_value), MHD_FN(get_connection_values),
#undef MHD_FN
    };
    g_mhd.lib = lk_dl_load("libmicrohttpd.so.12", "libmicrohttpd12", fns, sizeof fns / sizeof fns[0],
                           err);
    if (!g_mhd.lib) {
        lk_error_prefix(err, "monitor.http");
        return -1;
    }
    return 0;
}

#define MHD_start_daemon g_mhd.start_daemon
#define MHD_stop_daemon g_mhd.stop_daemon
#define MHD_run g_mhd.run
#define MHD_get_daemon_info g_mhd.get_daemon_info
#define MHD_create_response_from_buffer g_mhd.create_response_from_buffer
#define MHD_add_response_header g_mhd.add_response_header
#define MHD_queue_response g_mhd.queue_response
#define MHD_destroy_response g_mhd.destroy_response
#define MHD_lookup_connection_value g_mhd.lookup_connection_value
#define MHD_get_connection_values g_mhd.get_connection_values

struct lk_http {
    struct MHD_Daemon *d;
    lk_http_handler fn;
    void *ctx;
    char token[256];
    int port;
    long long requests;
    lk_buf body;
};

/* Equal strings, in time independent of where they differ. */
static int same_secret(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++)
        diff |= (unsigned char)(a[i] ^ b[i < lb ? i : 0]);
    return diff == 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, int status, const char *type,
                             const void *data, size_t len, const char *extra_header,
                             const char *extra_value)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (extra_header) MHD_add_response_header(r, extra_header, extra_value);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind;
    lk_buf *q = cls;
    if (q->len) lk_buf_putc(q, '&');
    lk_buf_printf(q, "%s=%s", key, value ? value : "");
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
    (void)version;
    (void)upload;
    lk_http *h = cls;
    if (!*state) { /* first call: headers only */
        *state = h;
        return MHD_YES;
    }
    h->requests++;
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        static const char msg[] = "method not allowed: this endpoint is read-only\n";
        *upload_size = 0;
        return reply(c, 405, "text/plain; charset=utf-8", msg, sizeof msg - 1, "Allow",
                     "GET, HEAD");
    }
    if (h->token[0]) {
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        if (!auth || strncmp(auth, "Bearer ", 7) || !same_secret(auth + 7, h->token)) {
            static const char msg[] =
                "unauthorized: send Authorization: Bearer <monitor.auth_token>\n";
            return reply(c, 401, "text/plain; charset=utf-8", msg, sizeof msg - 1,
                         "WWW-Authenticate", "Bearer realm=\"lakesupd\"");
        }
    }
    lk_buf query = LK_BUF_INIT;
    lk_buf_puts(&query, "");
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_arg, &query);
    lk_buf_reset(&h->body);
    const char *type = "text/plain; charset=utf-8";
    int status = h->fn(h->ctx, url, query.data ? query.data : "", &h->body, &type);
    lk_buf_free(&query);
    return reply(c, status, type, h->body.data ? h->body.data : "", h->body.len, NULL, NULL);
}

/* libmicrohttpd's own messages, through our log (it printed them bare on stderr, without time,
   level, role or pid, breaking log_format: json); DEBUG, as the caller logs what matters (a
   port in use: once, then a retry every 5 s) */
static void mhd_log(void *ctx, const char *fmt, va_list ap)
{
    (void)ctx;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = 0;
    LK_DEBUG("http: %s", msg);
}

int lk_http_new(const char *host, int port, const char *token, lk_http_handler fn, void *ctx,
                lk_http **out, lk_error *err)
{
    struct sockaddr_storage sa;
    memset(&sa, 0, sizeof sa);
    int v6 = 0;
    if (host[0]) {
        struct addrinfo hints, *ai = NULL;
        memset(&hints, 0, sizeof hints);
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV;
        int rc = getaddrinfo(host, "0", &hints, &ai);
        if (rc || !ai)
            return lk_error_set(err, LK_ECONFIG, "monitor.http: cannot resolve '%s': %s", host,
                                gai_strerror(rc));
        memcpy(&sa, ai->ai_addr, ai->ai_addrlen);
        v6 = ai->ai_family == AF_INET6;
        freeaddrinfo(ai);
    } else {
        sa.ss_family = AF_INET;
    }
    if (v6)
        ((struct sockaddr_in6 *)&sa)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)&sa)->sin_port = htons((uint16_t)port);
    if (mhd_load(err)) return err->code;
    lk_http *h = calloc(1, sizeof *h);
    if (!h) abort();
    h->fn = fn;
    h->ctx = ctx;
    snprintf(h->token, sizeof h->token, "%s", token ? token : "");
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
    h->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
    if (!h->d) {
        int e = errno;
        free(h);
        return lk_error_set(err, e == EADDRINUSE ? -EADDRINUSE : -EIO,
                            "monitor.http: cannot listen on %s:%d: %s", host, port,
                            strerror(e ? e : EIO));
    }
    const union MHD_DaemonInfo *pi = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = pi ? pi->port : port;
    *out = h;
    return 0;
}

void lk_http_destroy(lk_http **hp)
{
    if (!hp || !*hp) return;
    lk_http *h = *hp;
    MHD_stop_daemon(h->d);
    lk_buf_free(&h->body);
    free(h);
    *hp = NULL;
}

int lk_http_port(const lk_http *h)
{
    return h->port;
}

int lk_http_fd(const lk_http *h)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
    return i ? i->epoll_fd : -1;
}

void lk_http_run(lk_http *h)
{
    MHD_run(h->d);
}

long long lk_http_requests(const lk_http *h)
{
    return h->requests;
}
