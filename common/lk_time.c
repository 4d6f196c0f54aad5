/* lk_time — clocks, ISO-8601 parse/format; see lk_time.h. */
#include "lk_time.h"

#include <stdio.h>
#include <time.h>

int64_t lk_time_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t lk_time_now_ms(void)
{
    return lk_time_now_us() / 1000;
}

int64_t lk_time_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double lk_time_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Howard Hinnant's days_from_civil: exact for the proleptic Gregorian calendar. */
int64_t lk_time_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Its inverse, H. Hinnant's civil_from_days. */
void lk_time_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static void split(int64_t us, int64_t *y, unsigned *mo, unsigned *d, int *h, int *mi, int *s,
                  int64_t *frac_us)
{
    int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    *frac_us = us - secs * 1000000;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t rem = secs - days * 86400;
    lk_time_civil_from_days(days, y, mo, d);
    *h = (int)(rem / 3600);
    *mi = (int)(rem % 3600 / 60);
    *s = (int)(rem % 60);
}

void lk_time_format_iso_ms(int64_t us, char *out, size_t cap)
{
    int64_t y, f;
    unsigned mo, d;
    int h, mi, s;
    split(us, &y, &mo, &d, &h, &mi, &s, &f);
    snprintf(out, cap, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", (long long)y, mo, d, h, mi, s,
             (int)(f / 1000));
}

void lk_time_format_spark(int64_t us, char *out, size_t cap)
{
    int64_t y, f;
    unsigned mo, d;
    int h, mi, s;
    split(us, &y, &mo, &d, &h, &mi, &s, &f);
    /* as Spark's cast: a year beyond 9999 carries its sign ('+10000-01-01') */
    snprintf(out, cap, "%s%04lld-%02u-%02u %02d:%02d:%02d.%06d", y > 9999 ? "+" : "", (long long)y,
             mo, d, h, mi, s, (int)f);
}

static int digits(const char *s, size_t n, size_t *i, int count, int *out)
{
    int v = 0;
    for (int k = 0; k < count; k++) {
        if (*i >= n || s[*i] < '0' || s[*i] > '9') return -1;
        v = v * 10 + (s[(*i)++] - '0');
    }
    *out = v;
    return 0;
}

int lk_time_parse_iso(const char *s, size_t n, int64_t *out_us)
{
    size_t i = 0;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    int64_t frac = 0;
    if (digits(s, n, &i, 4, &y) || i >= n || s[i++] != '-' || digits(s, n, &i, 2, &mo) || i >= n ||
        s[i++] != '-' || digits(s, n, &i, 2, &d))
        return -1;
    /* an impossible date (April 31st, February 29th of a common year) is not a timestamp: java.time
       refuses it too, where rolling it over would put a row on the wrong day */
    if (mo < 1 || mo > 12 || d < 1 || (d > 28 && d > lk_time_days_in_month(y, (unsigned)mo)))
        return -1;
    int64_t offset_s = 0;
    if (i < n) {
        if (s[i] != 'T' && s[i] != ' ' && s[i] != 't') return -1;
        i++;
        if (digits(s, n, &i, 2, &h) || i >= n || s[i++] != ':' || digits(s, n, &i, 2, &mi))
            return -1;
        if (i < n && s[i] == ':') {
            i++;
            if (digits(s, n, &i, 2, &sec)) return -1;
            if (i < n && (s[i] == '.' || s[i] == ',')) {
                i++;
                int nd = 0;
                while (i < n && s[i] >= '0' && s[i] <= '9') {
                    if (nd < 6) frac = frac * 10 + (s[i] - '0');
                    nd++;
                    i++;
                }
                if (nd == 0 || nd > 9) return -1;
                for (int k = nd; k < 6; k++)
                    frac *= 10;
            }
        }
        if (h > 23 || mi > 59 || sec > 59) return -1; /* no leap second, as java.time */
        if (i < n) {
            if (s[i] == 'Z' || s[i] == 'z') {
                i++;
            } else if (s[i] == '+' || s[i] == '-') {
                int sign = s[i++] == '-' ? -1 : 1, oh, om = 0;
                if (digits(s, n, &i, 2, &oh)) return -1;
                if (i < n && s[i] == ':') i++;
                if (i < n && digits(s, n, &i, 2, &om)) return -1;
                if (om > 59 || oh * 60 + om > 18 * 60) return -1; /* ZoneOffset's range */
                offset_s = sign * (oh * 3600 + om * 60);
            } else {
                return -1;
            }
        }
        if (i != n) return -1;
    }
    int64_t days = lk_time_days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
    *out_us = secs * 1000000 + frac;
    return 0;
}

int lk_time_days_in_month(int64_t y, unsigned m)
{
    static const unsigned char dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return dm[m - 1] + (m == 2 && leap);
}
