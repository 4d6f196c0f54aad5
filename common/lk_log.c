/* lk_log — line-per-event logging; see lk_log.h. */
#include "lk_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char g_role[32] = "lakesupd";
static int g_index = 0;
static lk_log_level g_level = LK_LOG_INFO;
static int g_json = 0;
static int g_journal = 0; /* stderr is journald's stream: lines start with <priority> */
/* The last WARN/ERROR lines, for lk_log_last_error: a ring of LK_LOG_KEPT, each with its id
   (1, 2, ... in the order logged; 0 once withdrawn by lk_log_over). g_just is the id of the
   line the last lk_log call kept, 0 when it kept none (INFO, or below the level), so that
   lk_log_note never marks an older line. */
static struct {
    unsigned long id;
    char msg[512];
} g_kept[LK_LOG_KEPT];
static unsigned long g_last_id, g_just;

int lk_log_level_parse(const char *s)
{
    if (!s)
        return -1;
    if (!strcasecmp(s, "debug"))
        return LK_LOG_DEBUG;
    if (!strcasecmp(s, "info"))
        return LK_LOG_INFO;
    if (!strcasecmp(s, "warn") || !strcasecmp(s, "warning"))
        return LK_LOG_WARN;
    if (!strcasecmp(s, "error"))
        return LK_LOG_ERROR;
    return -1;
}

void lk_log_init(const char *role, int index)
{
    snprintf(g_role, sizeof g_role, "%s", role);
    g_index = index;
    int lvl = lk_log_level_parse(getenv("LAKESUP_LOG_LEVEL"));
    if (lvl >= 0)
        g_level = (lk_log_level)lvl;
    const char *fmt = getenv("LAKESUP_LOG_FORMAT");
    if (fmt && !strcmp(fmt, "json"))
        g_json = 1;
    /* systemd sets JOURNAL_STREAM=<dev>:<inode> of the stream it connected
       to stderr (systemd.exec(5)); a child that inherits both finds the same */
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev = 0, ino = 0;
    struct stat st;
    g_journal = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
                (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void lk_log_configure(const char *level, const char *format)
{
    int lvl = lk_log_level_parse(level);
    if (lvl >= 0 && !getenv("LAKESUP_LOG_LEVEL"))
        g_level = (lk_log_level)lvl;
    if (format && *format && !getenv("LAKESUP_LOG_FORMAT"))
        g_json = !strcmp(format, "json");
}

void lk_log_set_level(lk_log_level level)
{
    g_level = level;
}

lk_log_level lk_log_get_level(void)
{
    return g_level;
}

void lk_log_set_json(int on)
{
    g_json = on;
}

const char *lk_log_last_error(void)
{
    for (unsigned long k = 0; k < LK_LOG_KEPT && k < g_last_id; k++) {
        unsigned long id = g_last_id - k;
        if (g_kept[id % LK_LOG_KEPT].id == id) return g_kept[id % LK_LOG_KEPT].msg;
    }
    return "";
}

void lk_log_note(lk_log_cond *c)
{
    if (g_just) c->id[c->n++ % LK_LOG_KEPT] = g_just;
}

void lk_log_over(lk_log_cond *c)
{
    for (int i = 0; i < c->n && i < LK_LOG_KEPT; i++)
        if (c->id[i] && g_kept[c->id[i] % LK_LOG_KEPT].id == c->id[i])
            g_kept[c->id[i] % LK_LOG_KEPT].id = 0;
    c->n = 0;
}

static const char *level_name(lk_log_level l)
{
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    return names[l];
}

/* Appends s to out as a JSON string body (no quotes). */
static size_t json_escape(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    for (; *s && n + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
    return n;
}

void lk_log(lk_log_level level, const char *fmt, ...)
{
    g_just = 0;
    if (level < g_level)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (level >= LK_LOG_WARN) {
        g_just = ++g_last_id;
        g_kept[g_just % LK_LOG_KEPT].id = g_just;
        snprintf(g_kept[g_just % LK_LOG_KEPT].msg, sizeof g_kept[0].msg, "%s", msg);
    }

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[40];
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));

    char line[4608];
    int n;
    /* journald reads a leading <N> as the line's syslog priority (and strips it) */
    static const int prio[] = {7, 6, 4, 3};
    char pfx[8] = "";
    if (g_journal)
        snprintf(pfx, sizeof pfx, "<%d>", prio[level]);
    if (g_json) {
        char esc[4200];
        json_escape(esc, sizeof esc, msg);
        n = snprintf(line, sizeof line,
                     "%s{\"ts\":\"%s\",\"level\":\"%s\",\"role\":\"%s\",\"index\":%d,\"pid\":%d,"
                     "\"msg\":\"%s\"}\n",
                     pfx, ts, level_name(level), g_role, g_index, (int)getpid(), esc);
    } else {
        n = snprintf(line, sizeof line, "%s%s %s %s[%d] %d: %s\n", pfx, ts, level_name(level),
                     g_role, g_index, (int)getpid(), msg);
    }
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line) {
        n = (int)sizeof line - 1;
        line[n - 1] = '\n';
    }
    /* One write so that concurrent processes' lines never interleave. */
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}
