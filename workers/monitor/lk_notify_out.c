/* lk_notify_out — alert notices to webhooks, programs and the log; see lk_notify_out.h. */
#include "lk_notify_out.h"

/* the calls go through a table (below): curl.h's GCC type-checking macros would hide them */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lk_buf.h"
#include "lk_dl.h"
#include "lk_child.h"
#include "lk_log.h"
#include "lk_time.h"


#define RETRY_FIRST_MS 1000
#define RETRY_MAX_MS 60000
#define WEBHOOK_TIMEOUT_MS 10000
#define EXEC_TIMEOUT_MS 30000

typedef struct item {
    char *body; /* the payload (JSON) */
    char name[64], status[16];
} item;

typedef struct receiver {
    lk_notify_target t;
    item q[LK_NOTIFY_QUEUE];
    int head, n;
    int attempts;    /* of the head */
    int64_t next_ms; /* no attempt before */
    int delay_ms;
    /* webhook in flight */
    CURL *easy;
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];
    /* exec in flight */
    pid_t pid;
    int fd; /* stdin of the child, -1 when written */
    size_t written;
    int64_t deadline_ms;
    /* its "not delivered" lines: withdrawn from the last error once a delivery succeeds */
    lk_log_cond said;
} receiver;

struct lk_notify_out {
    char pipeline[128];
    char generator_url[300];
    receiver r[LK_MAX_NOTIFY];
    int n;
    CURLM *multi;
    long long sent, failed, dropped;
    lk_buf tmp;
};

/*
 * libcurl is loaded (dlopen) by the first webhook, not linked: every process
 * of the tree is the same binary, and a linked libcurl brings OpenSSL, LDAP,
 * SASL, SSH and HTTP/2 with it, 12 of the binary's 59 shared libraries, that
 * each of the 8 processes mapped and relocated at every start (~5 ms each:
 * docs/decisions.md, "Libraries"), where only the monitor posts webhooks.
 * The types and constants still come from curl.h.
 */
static struct curl_api {
    void *lib;
    CURLcode (*global_init)(long);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_perform)(CURLM *, int *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
    CURLMcode (*multi_cleanup)(CURLM *);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    const char *(*easy_strerror)(CURLcode);
    void (*easy_cleanup)(CURL *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} g_curl;
static char g_curl_error[256]; /* why libcurl could not be loaded, once it was tried */

/* Loads libcurl and resolves the table once: 0, or -1 with g_curl_error. */
static int curl_load(void)
{
    if (g_curl.lib)
        return 0;
    if (g_curl_error[0])
        return -1;
    const lk_dl_fn fns[] = {
#define CURL_FN(f) {"curl_" #f, &g_curl.f}
        CURL_FN(global_init), CURL_FN(multi_init), CURL_FN(multi_add_handle),
        CURL_FN(multi_remove_handle), CURL_FN(multi_perform), CURL_FN(multi_info_read),
        CURL_FN(multi_cleanup), CURL_FN(easy_init), CURL_FN(easy_setopt), CURL_FN(easy_getinfo),
        CURL_FN(easy_strerror), CURL_FN(easy_cleanup), CURL_FN(slist_append),
        CURL_FN(slist_free_all),
#undef CURL_FN
    };
    lk_error err;
    void *h = lk_dl_load("libcurl.so.4", "libcurl4", fns, sizeof fns / sizeof fns[0], &err);
    if (h && g_curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        lk_error_set(&err, LK_EUNSUPPORTED, "curl_global_init failed");
        dlclose(h);
        h = NULL;
    }
    if (!h) {
        snprintf(g_curl_error, sizeof g_curl_error, "webhooks need libcurl: %s", err.msg);
        LK_ERROR("%s", g_curl_error);
        return -1;
    }
    g_curl.lib = h; /* kept loaded for the life of the process */
    return 0;
}

#define curl_multi_init() g_curl.multi_init()
#define curl_multi_add_handle(...) g_curl.multi_add_handle(__VA_ARGS__)
#define curl_multi_remove_handle(...) g_curl.multi_remove_handle(__VA_ARGS__)
#define curl_multi_perform(...) g_curl.multi_perform(__VA_ARGS__)
#define curl_multi_info_read(...) g_curl.multi_info_read(__VA_ARGS__)
#define curl_multi_cleanup(...) g_curl.multi_cleanup(__VA_ARGS__)
#define curl_easy_init() g_curl.easy_init()
#undef curl_easy_setopt  /* curl.h's check that the calls have three arguments */
#undef curl_easy_getinfo
#define curl_easy_setopt(...) g_curl.easy_setopt(__VA_ARGS__)
#define curl_easy_getinfo(...) g_curl.easy_getinfo(__VA_ARGS__)
#define curl_easy_strerror(...) g_curl.easy_strerror(__VA_ARGS__)
#define curl_easy_cleanup(...) g_curl.easy_cleanup(__VA_ARGS__)
#define curl_slist_append(...) g_curl.slist_append(__VA_ARGS__)
#define curl_slist_free_all(...) g_curl.slist_free_all(__VA_ARGS__)

void lk_notify_out_set_generator(lk_notify_out *n, const char *generator_url)
{
    snprintf(n->generator_url, sizeof n->generator_url, "%s", generator_url);
}

/* A webhook's answer: read and dropped (without a write callback libcurl wrote it to stdout,
   into the daemon's log stream). */
static size_t discard_body(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

lk_notify_out *lk_notify_out_new(const char *pipeline, const char *generator_url)
{
    lk_notify_out *n = calloc(1, sizeof *n);
    if (!n) abort();
    snprintf(n->pipeline, sizeof n->pipeline, "%s", pipeline);
    snprintf(n->generator_url, sizeof n->generator_url, "%s", generator_url);
    /* a program that exits before reading all of its stdin must not kill
       the process writing it: EPIPE is a failed delivery, not a signal */
    signal(SIGPIPE, SIG_IGN);
    return n; /* libcurl and the multi handle come with the first webhook */
}

static void drop_head(receiver *r)
{
    free(r->q[r->head].body);
    r->q[r->head].body = NULL;
    r->head = (r->head + 1) % LK_NOTIFY_QUEUE;
    r->n--;
    r->attempts = 0;
    r->delay_ms = 0;
}

static void abort_flight(lk_notify_out *n, receiver *r)
{
    if (r->easy) {
        curl_multi_remove_handle(n->multi, r->easy);
        curl_easy_cleanup(r->easy);
        curl_slist_free_all(r->headers);
        r->easy = NULL;
        r->headers = NULL;
    }
    if (r->pid > 0) {
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
    if (r->fd >= 0) {
        close(r->fd);
        r->fd = -1;
    }
}

static void clear_receiver(lk_notify_out *n, receiver *r)
{
    lk_log_over(&r->said); /* a receiver removed from notify: no longer failing */
    abort_flight(n, r);
    while (r->n)
        drop_head(r);
}

void lk_notify_out_destroy(lk_notify_out **np)
{
    if (!np || !*np) return;
    lk_notify_out *n = *np;
    for (int i = 0; i < n->n; i++)
        clear_receiver(n, &n->r[i]);
    if (n->multi)
        curl_multi_cleanup(n->multi);
    lk_buf_free(&n->tmp);
    free(n);
    *np = NULL;
}

void lk_notify_out_set_targets(lk_notify_out *n, const lk_notify_target *t, int count)
{
    receiver old[LK_MAX_NOTIFY];
    int nold = n->n;
    memcpy(old, n->r, sizeof old);
    memset(n->r, 0, sizeof n->r);
    n->n = 0;
    for (int i = 0; i < count && i < LK_MAX_NOTIFY; i++) {
        receiver *r = &n->r[n->n++];
        int k = 0;
        for (; k < nold; k++)
            if (old[k].t.kind == t[i].kind && !strcmp(old[k].t.target, t[i].target)) break;
        if (k < nold) {
            *r = old[k]; /* keeps its queue and what is in flight */
            old[k].t.kind = 0;
        } else {
            r->t = t[i];
            r->fd = -1;
        }
    }
    for (int k = 0; k < nold; k++)
        if (old[k].t.kind) clear_receiver(n, &old[k]);
    /* the curl handles' private pointers moved with the receivers */
    for (int i = 0; i < n->n; i++)
        if (n->r[i].easy) curl_easy_setopt(n->r[i].easy, CURLOPT_PRIVATE, &n->r[i]);
}

static void iso(int64_t us, char *out, size_t cap)
{
    lk_time_format_iso_ms(us, out, cap);
}

void lk_notify_out_alert_json(const char *pipeline, const char *generator_url,
                              const lk_alert_notice *a, lk_buf *b)
{
    char t[64];
    lk_buf_puts(b, "{\"labels\":{\"alertname\":");
    lk_buf_json_string(b, a->name, strlen(a->name));
    lk_buf_puts(b, ",\"severity\":");
    lk_buf_json_string(b, a->severity, strlen(a->severity));
    lk_buf_puts(b, ",\"pipeline\":");
    lk_buf_json_string(b, pipeline, strlen(pipeline));
    lk_buf_puts(b, ",\"job\":\"lakesupd\"");
    if (a->role[0]) {
        lk_buf_puts(b, ",\"role\":");
        lk_buf_json_string(b, a->role, strlen(a->role));
        lk_buf_printf(b, ",\"index\":\"%d\"", a->index);
    }
    lk_buf_puts(b, "},\"annotations\":{\"summary\":");
    lk_buf_json_string(b, a->summary, strlen(a->summary));
    lk_buf_puts(b, ",\"description\":");
    lk_buf_json_string(b, a->description, strlen(a->description));
    char v[64];
    snprintf(v, sizeof v, "%g", a->value);
    lk_buf_puts(b, ",\"value\":");
    lk_buf_json_string(b, v, strlen(v));
    if (a->when[0]) {
        lk_buf_puts(b, ",\"condition\":");
        lk_buf_json_string(b, a->when, strlen(a->when));
    }
    iso(a->starts_us, t, sizeof t);
    lk_buf_printf(b, "},\"startsAt\":\"%s\"", t);
    /* resolved: endsAt now; an event is active 5 minutes in Alertmanager */
    int64_t ends = a->ends_us ? a->ends_us : a->event ? a->starts_us + 300000000LL : 0;
    if (ends) {
        iso(ends, t, sizeof t);
        lk_buf_printf(b, ",\"endsAt\":\"%s\"", t);
    }
    lk_buf_puts(b, ",\"generatorURL\":");
    lk_buf_json_string(b, generator_url, strlen(generator_url));
    lk_buf_putc(b, '}');
}

static void enqueue(lk_notify_out *n, receiver *r, const lk_alert_notice *a)
{
    if (r->n == LK_NOTIFY_QUEUE) {
        LK_WARN("notify %s %s: %d notices wait; dropping the oldest (alert=%s %s)",
                r->t.kind == LK_NOTIFY_WEBHOOK ? "webhook" : "exec", r->t.target, r->n,
                r->q[r->head].name, r->q[r->head].status);
        n->dropped++;
        if (r->easy || r->pid > 0) abort_flight(n, r);
        drop_head(r);
    }
    lk_buf_reset(&n->tmp);
    if (r->t.kind == LK_NOTIFY_WEBHOOK) lk_buf_putc(&n->tmp, '[');
    lk_notify_out_alert_json(n->pipeline, n->generator_url, a, &n->tmp);
    if (r->t.kind == LK_NOTIFY_WEBHOOK)
        lk_buf_putc(&n->tmp, ']');
    else {            /* exec: the status too */
        n->tmp.len--; /* the closing brace */
        lk_buf_printf(&n->tmp, ",\"status\":\"%s\"}", a->event ? "event" : a->status);
    }
    item *it = &r->q[(r->head + r->n) % LK_NOTIFY_QUEUE];
    it->body = strdup(n->tmp.data);
    if (!it->body) abort();
    snprintf(it->name, sizeof it->name, "%s", a->name);
    snprintf(it->status, sizeof it->status, "%s", a->event ? "event" : a->status);
    r->n++;
}

void lk_notify_out_send(lk_notify_out *n, const lk_alert_notice *a)
{
    for (int i = 0; i < n->n; i++) {
        receiver *r = &n->r[i];
        if (r->t.kind == LK_NOTIFY_LOG) {
            /* the firing line is the monitor's last error (status) while the alert fires, not
               after: its resolution withdraws it */
            if (!strcmp(a->status, "firing")) {
                char who[40] = "";
                if (a->role[0]) /* worker_crash_loop: which one, as log lines name it */
                    snprintf(who, sizeof who, " worker=%s[%d]", a->role, a->index);
                LK_WARN("alert %s: %s severity=%s value=%g%s: %s", a->event ? "event" : "firing",
                        a->name, a->severity, a->value, who, a->summary);
                if (a->said) lk_log_note(a->said);
            } else {
                LK_INFO("alert resolved: %s severity=%s value=%g: %s", a->name, a->severity,
                        a->value, a->summary);
            }
            n->sent++;
            continue;
        }
        enqueue(n, r, a);
    }
    if (a->said && !strcmp(a->status, "resolved")) lk_log_over(a->said);
}

void lk_notify_out_refresh(lk_notify_out *n, const lk_alert_notice *a)
{
    for (int i = 0; i < n->n; i++)
        if (n->r[i].t.kind == LK_NOTIFY_WEBHOOK && n->r[i].n == 0) enqueue(n, &n->r[i], a);
}

static void failed(lk_notify_out *n, receiver *r, int64_t now_ms, const char *why)
{
    r->attempts++;
    r->delay_ms = r->delay_ms ? (r->delay_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : r->delay_ms * 2)
                              : RETRY_FIRST_MS;
    r->next_ms = now_ms + r->delay_ms;
    n->failed++;
    LK_WARN("notify %s %s: alert=%s %s not delivered (attempt %d): %s; retrying in %d ms",
            r->t.kind == LK_NOTIFY_WEBHOOK ? "webhook" : "exec", r->t.target, r->q[r->head].name,
            r->q[r->head].status, r->attempts, why, r->delay_ms);
    lk_log_note(&r->said);
}

static void delivered(lk_notify_out *n, receiver *r)
{
    if (r->attempts)
        LK_INFO("notify %s %s: alert=%s %s delivered after %d failed attempt(s)",
                r->t.kind == LK_NOTIFY_WEBHOOK ? "webhook" : "exec", r->t.target,
                r->q[r->head].name, r->q[r->head].status, r->attempts);
    lk_log_over(&r->said); /* the receiver takes notices again */
    n->sent++;
    drop_head(r);
}

static void start_webhook(lk_notify_out *n, receiver *r, int64_t now_ms)
{
    if (curl_load() < 0) {
        failed(n, r, now_ms, g_curl_error);
        return;
    }
    if (!n->multi && !(n->multi = curl_multi_init())) {
        failed(n, r, now_ms, "curl_multi_init failed");
        return;
    }
    r->easy = curl_easy_init();
    if (!r->easy) return;
    r->headers = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(r->easy, CURLOPT_URL, r->t.target);
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->q[r->head].body);
    curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)WEBHOOK_TIMEOUT_MS);
    curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)5000);
    curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
    curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "lakesupd/" LK_VERSION);
    curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, discard_body);
    r->errbuf[0] = 0;
    curl_multi_add_handle(n->multi, r->easy);
}

static void start_exec(lk_notify_out *n, receiver *r, int64_t now_ms)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC)) {
        failed(n, r, now_ms, strerror(errno));
        return;
    }
    /* the environment is made before the fork: the child only makes async-signal-safe calls
       until exec (lk_child.h) */
    lk_buf ea = LK_BUF_INIT, es = LK_BUF_INIT;
    lk_buf_printf(&ea, "LAKESUP_ALERT=%s", r->q[r->head].name);
    lk_buf_printf(&es, "LAKESUP_ALERT_STATUS=%s", r->q[r->head].status);
    const char *set[] = {ea.data, es.data};
    const char **envp = lk_child_environ(set, 2, NULL, 0);
    const char *argv[2] = {r->t.target, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        if (p[0] == 0) /* pipe2 gave fd 0 itself: dup2 would leave it close-on-exec */
            fcntl(0, F_SETFD, 0);
        else
            dup2(p[0], 0);
        setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        execve(r->t.target, (char *const *)argv, (char *const *)envp);
        _exit(127);
    }
    int fe = errno;
    free(envp);
    lk_buf_free(&ea);
    lk_buf_free(&es);
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        failed(n, r, now_ms, strerror(fe));
        return;
    }
    close(p[0]);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    r->pid = pid;
    r->fd = p[1];
    r->written = 0;
    r->deadline_ms = now_ms + EXEC_TIMEOUT_MS;
}

/* Feeds the child's stdin, reaps it; a non-zero exit is a failure. */
static void run_exec(lk_notify_out *n, receiver *r, int64_t now_ms)
{
    const char *body = r->q[r->head].body;
    size_t len = strlen(body);
    if (r->fd >= 0) {
        while (r->written < len) {
            ssize_t w = write(r->fd, body + r->written, len - r->written);
            if (w > 0)
                r->written += (size_t)w;
            else
                break; /* EAGAIN: later; EPIPE: the program did not read it all */
        }
        if (r->written >= len || (errno != EAGAIN && errno != EINTR)) {
            close(r->fd);
            r->fd = -1;
        }
    }
    int status;
    pid_t got = waitpid(r->pid, &status, WNOHANG);
    if (got == r->pid) {
        r->pid = 0;
        if (r->fd >= 0) {
            close(r->fd);
            r->fd = -1;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            delivered(n, r);
        } else {
            char why[96];
            if (WIFEXITED(status))
                snprintf(why, sizeof why, "exit code %d%s", WEXITSTATUS(status),
                         WEXITSTATUS(status) == 127 ? " (cannot run it?)" : "");
            else
                snprintf(why, sizeof why, "killed by signal %d", WTERMSIG(status));
            failed(n, r, now_ms, why);
        }
    } else if (now_ms > r->deadline_ms) {
        abort_flight(n, r);
        failed(n, r, now_ms, "still running after 30 s: killed");
    }
}

int lk_notify_out_run(lk_notify_out *n, int64_t now_ms)
{
    int busy = 0;
    for (int i = 0; i < n->n; i++) {
        receiver *r = &n->r[i];
        if (!r->n || r->t.kind == LK_NOTIFY_LOG) continue;
        if (r->t.kind == LK_NOTIFY_EXEC && r->pid > 0) {
            run_exec(n, r, now_ms);
        } else if (!r->easy && r->pid <= 0 && now_ms >= r->next_ms) {
            if (r->t.kind == LK_NOTIFY_WEBHOOK)
                start_webhook(n, r, now_ms);
            else
                start_exec(n, r, now_ms);
        }
        busy |= r->easy != NULL || r->pid > 0;
    }
    int running = 0;
    if (!n->multi) /* no webhook yet */
        return busy;
    curl_multi_perform(n->multi, &running);
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(n->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        receiver *r = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        long code = 0;
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
        char why[CURL_ERROR_SIZE + 64];
        int ok = m->data.result == CURLE_OK && code >= 200 && code < 300;
        if (m->data.result != CURLE_OK)
            snprintf(why, sizeof why, "%s",
                     r && r->errbuf[0] ? r->errbuf : curl_easy_strerror(m->data.result));
        else
            snprintf(why, sizeof why, "HTTP %ld", code);
        curl_multi_remove_handle(n->multi, m->easy_handle);
        curl_easy_cleanup(m->easy_handle);
        if (!r) continue;
        curl_slist_free_all(r->headers);
        r->headers = NULL;
        r->easy = NULL;
        if (ok)
            delivered(n, r);
        else
            failed(n, r, now_ms, why);
    }
    return busy || running > 0;
}

void lk_notify_out_counts(const lk_notify_out *n, long long *sent, long long *failed_,
                          long long *dropped, long long *queued)
{
    *sent = n->sent;
    *failed_ = n->failed;
    *dropped = n->dropped;
    long long q = 0;
    for (int i = 0; i < n->n; i++)
        q += n->r[i].n;
    *queued = q;
}
