/*
 * lk_delta_props — what the Delta log says in text, without a table handle's
 * log machinery: table properties (metaData.configuration) and their
 * interval values, URL-encoded paths, version digits. Every file of the
 * handle uses these; they use nothing of the other files, so the handle's
 * files depend on each other one way (lk_delta_internal.h).
 */
#include "lk_delta_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lk_json.h"

/* ---------- small helpers ---------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void lk_delta_url_decode(const char *s, lk_buf *out)
{
    for (; *s; s++) {
        int h, l;
        if (*s == '%' && (h = hexval(s[1])) >= 0 && (l = hexval(s[2])) >= 0) {
            lk_buf_putc(out, (char)(h * 16 + l));
            s += 2;
        } else {
            lk_buf_putc(out, *s);
        }
    }
}

int lk_delta_all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

int lk_delta_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* ---------- table properties ---------- */

const char *lk_delta_property(const lk_delta_table *t, const char *key)
{
    return obj_str(lk_json_get(t->metadata, "configuration"), key);
}

int64_t lk_delta_interval_ms(const char *s, int64_t dflt)
{
    /* Delta's CalendarInterval text: "interval <n> <unit>" (also "<n> <unit>") */
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"millisecond", 1}, {"second", 1000},    {"minute", 60000},  {"hour", 3600000},
                 {"day", 86400000},  {"week", 604800000}, {"microsecond", 0}, {"nanosecond", 0}};
    if (!s) return dflt;
    while (*s == ' ')
        s++;
    if (strncasecmp(s, "interval", 8) == 0) s += 8;
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (end == s || errno || n < 0) return dflt;
    while (*end == ' ')
        end++;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        size_t m = strlen(units[i].unit);
        if (strncasecmp(end, units[i].unit, m) == 0 &&
            (end[m] == 0 || ((end[m] == 's' || end[m] == 'S') && end[m + 1] == 0)))
            return n > INT64_MAX / (units[i].ms ? units[i].ms : 1) ? dflt : n * units[i].ms;
    }
    return dflt;
}
