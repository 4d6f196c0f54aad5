/* lk_tz — region time zones from TZif files (RFC 8536); see lk_tz.h. */
#include "lk_tz.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_time.h"

/* java.time's ZoneOffset bound; real zones stay within +-16 h (Manila's LMT, -15:56:08). A file or
   a rule beyond it is not a zone, and the local-time search relies on it. */
#define MAX_OFF (18 * 3600)
/* The instants and local times the lookups are exact for (+-4.4 million years, beyond Spark's
   6-digit years); past them they are clamped, never overflow. */
#define RANGE ((int64_t)1 << 47)

/* One day of a POSIX rule ("M3.5.0/3", "J60", "59") and the local time of its change. */
typedef struct rule_day {
    char kind; /* 'M' month.week.weekday, 'J' 1..365 without Feb 29, 'n' 0..365 */
    int m, w, d;
    int32_t time;
} rule_day;

struct lk_tz {
    char name[128];
    int64_t *at;  /* transitions, seconds since the epoch, ascending */
    int32_t *off; /* the offset from at[k] on */
    uint32_t n;
    int32_t first; /* before at[0]: time type 0 */
    int has_rule;  /* the footer governs what follows the last transition */
    int has_dst;
    int32_t std_off, dst_off;
    rule_day start, end;
    struct lk_tz *next;
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static lk_tz *cache; /* zones found; never freed: the database bounds their number */
/* names that are no zone, so that a stream of them (text from data) costs a lookup per row, not
   a file opened; bounded, as data chooses them */
enum { MAX_MISSES = 1024 };
typedef struct miss {
    struct miss *next;
    char name[128];
} miss;
static miss *misses;
static int nmisses;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* [+-]h[hh][:mm[:ss]] of a POSIX TZ string, in seconds; NULL if malformed */
static const char *posix_hms(const char *s, int32_t *out)
{
    int sign = 1;
    if (*s == '+' || *s == '-') sign = *s++ == '-' ? -1 : 1;
    int32_t v[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        if (*s < '0' || *s > '9') return NULL;
        int nd = 0;
        while (*s >= '0' && *s <= '9' && nd < 3) {
            v[k] = v[k] * 10 + (*s++ - '0');
            nd++;
        }
        if (*s != ':' || k == 2) break;
        s++;
    }
    *out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
    return s;
}

static const char *posix_name(const char *s)
{
    if (*s == '<') {
        const char *e = strchr(s, '>');
        return e ? e + 1 : NULL;
    }
    const char *b = s;
    while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
        s++;
    return s - b >= 3 ? s : NULL;
}

/* 1 to 3 digits, in *out; NULL if none (strtol would take a sign and wrap "4294967297" to 1) */
static const char *posix_num(const char *s, int *out)
{
    int v = 0, nd = 0;
    while (*s >= '0' && *s <= '9' && nd < 3) {
        v = v * 10 + (*s++ - '0');
        nd++;
    }
    *out = v;
    return nd ? s : NULL;
}

static const char *posix_day(const char *s, rule_day *r)
{
    r->time = 7200; /* 02:00 unless said */
    if (*s == 'M') {
        r->kind = 'M';
        if (!(s = posix_num(s + 1, &r->m)) || *s != '.' || !(s = posix_num(s + 1, &r->w)) ||
            *s != '.' || !(s = posix_num(s + 1, &r->d)))
            return NULL;
        if (r->m < 1 || r->m > 12 || r->w < 1 || r->w > 5 || r->d < 0 || r->d > 6) return NULL;
    } else {
        r->kind = *s == 'J' ? 'J' : 'n';
        if (*s == 'J') s++;
        if (!(s = posix_num(s, &r->d))) return NULL;
        if (r->d > 365 || (r->kind == 'J' && r->d < 1)) return NULL;
    }
    if (*s == '/') s = posix_hms(s + 1, &r->time);
    /* RFC 8536's extension: -167 to 167 hours */
    return s && r->time >= -167 * 3600 && r->time <= 167 * 3600 ? s : NULL;
}

/* The footer "CET-1CEST,M3.5.0,M10.5.0/3": 0, or -1 for a form not understood. */
static int parse_rule(lk_tz *z, const char *s)
{
    int32_t v;
    if (!(s = posix_name(s)) || !(s = posix_hms(s, &v))) return -1;
    z->std_off = -v; /* POSIX counts west of Greenwich positive */
    if (z->std_off < -MAX_OFF || z->std_off > MAX_OFF) return -1;
    if (!*s) return 0;
    if (!(s = posix_name(s))) return -1;
    z->dst_off = z->std_off + 3600;
    if (*s && *s != ',') {
        if (!(s = posix_hms(s, &v))) return -1;
        z->dst_off = -v;
    }
    if (z->dst_off < -MAX_OFF || z->dst_off > MAX_OFF) return -1;
    if (*s != ',' || !(s = posix_day(s + 1, &z->start)) || *s != ',' ||
        !(s = posix_day(s + 1, &z->end)) || *s)
        return -1;
    z->has_dst = 1;
    return 0;
}

/* The local seconds at which the rule day r falls in year y. */
static int64_t rule_local(const rule_day *r, int64_t y)
{
    int64_t days;
    if (r->kind == 'M') {
        int64_t first = lk_time_days_from_civil(y, (unsigned)r->m, 1);
        int wd = (int)(((first + 4) % 7 + 7) % 7); /* 0 = Sunday; 1970-01-01 was a Thursday */
        int day = 1 + (r->d - wd + 7) % 7 + (r->w - 1) * 7;
        while (day > lk_time_days_in_month(y, (unsigned)r->m))
            day -= 7;
        days = first + day - 1;
    } else {
        days = lk_time_days_from_civil(y, 1, 1) + r->d;
        if (r->kind == 'J') days += -1 + (r->d >= 60 && lk_time_days_in_month(y, 2) == 29);
    }
    return days * 86400 + r->time;
}

static int64_t clamp(int64_t s)
{
    return s < -RANGE ? -RANGE : s > RANGE ? RANGE : s;
}

/* The year (of local standard time) that decides the rule at utc_s. */
static int64_t rule_year(const lk_tz *z, int64_t utc_s)
{
    int64_t local = utc_s + z->std_off, y;
    unsigned m, d;
    lk_time_civil_from_days(local >= 0 ? local / 86400 : -((-local + 86399) / 86400), &y, &m, &d);
    return y;
}

static int32_t rule_offset(const lk_tz *z, int64_t utc_s)
{
    if (!z->has_dst) return z->std_off;
    utc_s = clamp(utc_s);
    int64_t y = rule_year(z, utc_s);
    int64_t start = rule_local(&z->start, y) - z->std_off,
            end = rule_local(&z->end, y) - z->dst_off;
    int dst = start < end ? utc_s >= start && utc_s < end : !(utc_s >= end && utc_s < start);
    return dst ? z->dst_off : z->std_off;
}

/* The first instant after utc_s at which the rule's offset may change: its start or end in the
   year of utc_s, else the next year's first second, where the year rule_offset looks at turns. */
static int64_t rule_next(const lk_tz *z, int64_t utc_s)
{
    if (!z->has_dst) return INT64_MAX;
    int64_t y = rule_year(z, utc_s);
    int64_t next = lk_time_days_from_civil(y + 1, 1, 1) * 86400 - z->std_off,
            start = rule_local(&z->start, y) - z->std_off,
            end = rule_local(&z->end, y) - z->dst_off;
    if (start > utc_s && start < next) next = start;
    if (end > utc_s && end < next) next = end;
    return next;
}

/* Reads a TZif file into z: 0, or -1 if it is not one. */
static int load(lk_tz *z, const unsigned char *p, size_t n)
{
    if (n < 44 || memcmp(p, "TZif", 4)) return -1;
    int v2 = p[4] >= '2';
    size_t tsize = 4;
    for (int pass = 0; pass < 2; pass++) {
        if (n < 44 || memcmp(p, "TZif", 4)) return -1;
        uint32_t isut = be32(p + 20), isstd = be32(p + 24), leap = be32(p + 28),
                 timecnt = be32(p + 32), typecnt = be32(p + 36), charcnt = be32(p + 40);
        size_t body = (size_t)timecnt * (tsize + 1) + (size_t)typecnt * 6 + charcnt +
                      (size_t)leap * (tsize + 4) + isstd + isut;
        if (typecnt == 0 || body > n - 44) return -1;
        if (pass == 1 || !v2) {
            const unsigned char *t = p + 44, *idx = t + (size_t)timecnt * tsize,
                                *types = idx + timecnt;
            z->at = malloc(sizeof *z->at * (timecnt ? timecnt : 1));
            z->off = malloc(sizeof *z->off * (timecnt ? timecnt : 1));
            if (!z->at || !z->off) return -1;
            for (uint32_t k = 0; k < typecnt; k++) {
                int32_t o = (int32_t)be32(types + k * 6);
                if (o < -MAX_OFF || o > MAX_OFF) return -1;
            }
            for (uint32_t k = 0; k < timecnt; k++) {
                if (idx[k] >= typecnt) return -1;
                z->at[k] = tsize == 8 ? be64(t + k * 8) : (int32_t)be32(t + k * 4);
                z->off[k] = (int32_t)be32(types + idx[k] * 6);
                if (k > 0 && z->at[k] <= z->at[k - 1]) return -1; /* RFC 8536: ascending */
            }
            z->n = timecnt;
            z->first = (int32_t)be32(types);
            p += 44 + body;
            n -= 44 + body;
            /* the footer: "\nTZ\n" */
            if (v2 && n > 2 && p[0] == '\n') {
                const unsigned char *e = memchr(p + 1, '\n', n - 1);
                char rule[128];
                if (e && (size_t)(e - p - 1) < sizeof rule && e > p + 1) {
                    memcpy(rule, p + 1, (size_t)(e - p - 1));
                    rule[e - p - 1] = 0;
                    z->has_rule = parse_rule(z, rule) == 0;
                }
            }
            return 0;
        }
        p += 44 + body;
        n -= 44 + body;
        tsize = 8;
    }
    return -1;
}

/* java.time's ZoneRegion.ofId: [A-Za-z][A-Za-z0-9~/._+-]+, and only zones of its database (not
   the files zoneinfo keeps beside them, nor a path out of it). */
static int valid_name(const char *s, size_t n)
{
    if (n < 2 || n >= sizeof((lk_tz *)0)->name ||
        !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr("~/._+-", c)))
            return 0;
        if (c == '.' && i + 1 < n && s[i + 1] == '.') return 0;
        /* no empty or '.' segment: Europe//Paris and Europe/./Paris are no zone ids */
        if (c == '/' && (i + 1 == n || s[i + 1] == '/')) return 0;
        if (c == '.' && s[i - 1] == '/' && (i + 1 == n || s[i + 1] == '/')) return 0;
    }
    static const char *const not_zones[] = {"posix/", "right/", "posixrules", "localtime",
                                            "Factory"};
    for (size_t k = 0; k < sizeof not_zones / sizeof *not_zones; k++) {
        size_t l = strlen(not_zones[k]);
        if (n >= l && !memcmp(s, not_zones[k], l)) return 0;
    }
    return 1;
}

lk_tz *lk_tz_parse(const unsigned char *p, size_t n)
{
    lk_tz *z = calloc(1, sizeof *z);
    if (z && load(z, p, n)) {
        lk_tz_free(z);
        z = NULL;
    }
    return z;
}

void lk_tz_free(lk_tz *z)
{
    if (!z) return;
    free(z->at);
    free(z->off);
    free(z);
}

static lk_tz *open_zone(const char *name)
{
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = malloc(1 << 17);
    size_t n = buf ? fread(buf, 1, 1 << 17, f) : 0;
    fclose(f);
    lk_tz *z = buf ? lk_tz_parse(buf, n) : NULL;
    if (z) snprintf(z->name, sizeof z->name, "%s", name);
    free(buf);
    return z;
}

const lk_tz *lk_tz_find(const char *name, size_t n)
{
    if (!valid_name(name, n)) return NULL;
    char key[sizeof((lk_tz *)0)->name];
    memcpy(key, name, n);
    key[n] = 0;
    pthread_mutex_lock(&cache_mu);
    lk_tz *z = cache;
    while (z && strcmp(z->name, key))
        z = z->next;
    const miss *m = misses;
    while (!z && m && strcmp(m->name, key))
        m = m->next;
    pthread_mutex_unlock(&cache_mu);
    if (z || m) return z;
    lk_tz *found = open_zone(key); /* the file read outside the lock */
    pthread_mutex_lock(&cache_mu);
    for (z = cache; z && strcmp(z->name, key);) /* another thread's, meanwhile */
        z = z->next;
    if (z) {
        lk_tz_free(found);
    } else if (found) {
        found->next = cache;
        cache = z = found;
    } else if (nmisses < MAX_MISSES) {
        miss *nm = calloc(1, sizeof *nm);
        if (nm) {
            snprintf(nm->name, sizeof nm->name, "%s", key);
            nm->next = misses;
            misses = nm;
            nmisses++;
        }
    }
    pthread_mutex_unlock(&cache_mu);
    return z;
}

int32_t lk_tz_offset_at(const lk_tz *z, int64_t utc_s)
{
    if (z->n == 0 || utc_s < z->at[0])
        return z->n == 0 && z->has_rule ? rule_offset(z, utc_s) : z->first;
    uint32_t lo = 0, hi = z->n; /* the last transition at or before utc_s */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (z->at[mid] <= utc_s)
            lo = mid;
        else
            hi = mid;
    }
    return lo == z->n - 1 && z->has_rule ? rule_offset(z, utc_s) : z->off[lo];
}

/* The first instant after utc_s at which the offset may change (a transition of the file, or
   of the rule past them); INT64_MAX if none. Between utc_s and it the offset is utc_s's. */
static int64_t next_change(const lk_tz *z, int64_t utc_s)
{
    if (z->n > 0 && utc_s < z->at[z->n - 1]) {
        uint32_t lo = 0, hi = z->n - 1; /* the first transition after utc_s */
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (z->at[mid] > utc_s)
                hi = mid;
            else
                lo = mid + 1;
        }
        return z->at[lo];
    }
    return z->has_rule ? rule_next(z, utc_s) : INT64_MAX;
}

int64_t lk_tz_utc_of_local(const lk_tz *z, int64_t local_s)
{
    /* Every instant of local_s is within MAX_OFF of it: walk the stretches of one offset there,
       in order. The first whose offset puts local_s inside it is the answer (in an overlap, the
       earlier offset). If none does, local_s is in a gap: the first change of offset that jumps
       over it gives the instant local_s - the offset before the gap, the wall time moved forward
       by the gap's length. (Zones change offset days apart, but a file may say anything.) */
    local_s = clamp(local_s);
    int64_t a = local_s - MAX_OFF, gap = INT64_MIN;
    int32_t prev = 0;
    for (int first = 1; a <= local_s + MAX_OFF; first = 0) {
        int32_t o = lk_tz_offset_at(z, a);
        int64_t b = next_change(z, a), u = local_s - o;
        if (u >= a && u < b) return u;
        if (!first && gap == INT64_MIN && a + prev <= local_s && local_s < a + o)
            gap = local_s - prev;
        prev = o;
        a = b;
    }
    return gap != INT64_MIN ? gap : local_s - prev; /* the last: offsets are within MAX_OFF */
}
