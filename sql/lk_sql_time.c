/* lk_sql_time — date and time kernels; see lk_sql_time.h. */
#include "lk_sql_time.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lk_decimal.h"
#include "lk_sql_cast.h"
#include "lk_time.h"

#define DAY_US 86400000000LL

/* ---- datetime patterns ---- */

typedef struct pat_tok {
    char letter; /* 0 = literal */
    int count;
    char lit[32];
    int litlen;
} pat_tok;

typedef struct pattern {
    pat_tok t[48];
    int n;
    int unit; /* date_trunc */
} pattern;

static const char *const months[12] = {"January",   "February", "March",    "April",
                                       "May",       "June",     "July",     "August",
                                       "September", "October",  "November", "December"};
static const char *const wdays[7] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                     "Friday", "Saturday", "Sunday"};

static int compile_pattern(const char *f, pattern *p, int pos, const char *text, lk_error *err)
{
    memset(p, 0, sizeof *p);
    size_t n = strlen(f);
    for (size_t i = 0; i < n;) {
        if (p->n == 48)
            return lk_error_set(err, LK_EFORMAT, "position %d: datetime pattern too long",
                                lk_sql_column_of(text, pos));
        pat_tok *t = &p->t[p->n];
        char c = f[i];
        if (c == '\'') {
            i++;
            if (i < n && f[i] == '\'') { /* '' is a quote */
                t->lit[t->litlen++] = '\'';
                i++;
                p->n++;
                continue;
            }
            while (i < n && !(f[i] == '\'' && !(i + 1 < n && f[i + 1] == '\''))) {
                if (f[i] == '\'') i++;
                if (t->litlen < 31) t->lit[t->litlen++] = f[i];
                i++;
            }
            if (i >= n)
                return lk_error_set(err, LK_EFORMAT,
                                    "position %d: unterminated quote in datetime pattern '%s'",
                                    lk_sql_column_of(text, pos), f);
            i++;
            p->n++;
            continue;
        }
        if (isalpha((unsigned char)c)) {
            if (!strchr("yuMdDHhkKmsSaEXxZ", c))
                return lk_error_set(err, LK_EFORMAT,
                                    "position %d: datetime pattern '%s': unsupported letter '%c'",
                                    lk_sql_column_of(text, pos), f, c);
            size_t j = i;
            while (j < n && f[j] == c)
                j++;
            t->letter = c == 'u' ? 'y' : c;
            t->count = (int)(j - i);
            i = j;
            p->n++;
            continue;
        }
        while (i < n && !isalpha((unsigned char)f[i]) && f[i] != '\'' && t->litlen < 31)
            t->lit[t->litlen++] = f[i++];
        p->n++;
    }
    return 0;
}

static void put_num(lk_buf *b, int64_t v, int width)
{
    char t[24];
    int neg = v < 0;
    uint64_t u = neg ? 0 - (uint64_t)v : (uint64_t)v;
    int n = 0;
    do {
        t[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while (n < width)
        t[n++] = '0';
    if (neg) lk_buf_putc(b, '-');
    while (n)
        lk_buf_putc(b, t[--n]);
}

static void format_ts(const pattern *p, int64_t us, lk_buf *b)
{
    int32_t days = lk_sql_us_to_days(us);
    int64_t rem = lk_sql_us_of_day(us);
    int64_t y;
    unsigned mo, d;
    lk_time_civil_from_days(days, &y, &mo, &d);
    int h = (int)(rem / 3600000000LL), mi = (int)(rem / 60000000 % 60),
        s = (int)(rem / 1000000 % 60);
    int frac = (int)(rem % 1000000);
    for (int i = 0; i < p->n; i++) {
        const pat_tok *t = &p->t[i];
        switch (t->letter) {
        case 0:
            lk_buf_append(b, t->lit, (size_t)t->litlen);
            break;
        case 'y':
            if (t->count == 2) {
                put_num(b, ((y % 100) + 100) % 100, 2);
            } else {
                /* 'yyyy' and wider: a year with more digits than letters is signed (EXCEEDS_PAD) */
                int64_t wide = 1;
                for (int k = 0; k < t->count && wide <= y; k++)
                    wide *= 10;
                if (t->count >= 4 && y >= wide) lk_buf_putc(b, '+');
                put_num(b, y, t->count);
            }
            break;
        case 'M':
            if (t->count >= 4)
                lk_buf_puts(b, months[mo - 1]);
            else if (t->count == 3)
                lk_buf_append(b, months[mo - 1], 3);
            else
                put_num(b, mo, t->count);
            break;
        case 'd':
            put_num(b, d, t->count);
            break;
        case 'D':
            put_num(b, days - lk_time_days_from_civil(y, 1, 1) + 1, t->count);
            break;
        case 'H':
            put_num(b, h, t->count);
            break;
        case 'k':
            put_num(b, h == 0 ? 24 : h, t->count);
            break;
        case 'K':
            put_num(b, h % 12, t->count);
            break;
        case 'h':
            put_num(b, h % 12 == 0 ? 12 : h % 12, t->count);
            break;
        case 'm':
            put_num(b, mi, t->count);
            break;
        case 's':
            put_num(b, s, t->count);
            break;
        case 'S': {
            char f[8];
            snprintf(f, sizeof f, "%06d", frac);
            for (int k = 0; k < t->count; k++)
                lk_buf_putc(b, k < 6 ? f[k] : '0');
            break;
        }
        case 'a':
            lk_buf_puts(b, h < 12 ? "AM" : "PM");
            break;
        case 'E': {
            int wd = (int)((((int64_t)days % 7) + 7 + 3) % 7); /* 1970-01-01 was a Thursday */
            if (t->count >= 4)
                lk_buf_puts(b, wdays[wd]);
            else
                lk_buf_append(b, wdays[wd], 3);
            break;
        }
        case 'X': /* java.time prints a zero offset as Z for X, as +00[00][:00] for x */
            lk_buf_putc(b, 'Z');
            break;
        case 'x': {
            static const char *const x[] = {"+00", "+0000", "+00:00", "+0000", "+00:00"};
            lk_buf_puts(b, x[(t->count > 5 ? 5 : t->count) - 1]);
            break;
        }
        case 'Z': /* ZZZZ: the localized offset, "GMT" at zero; ZZZZZ: as XXXXX */
            lk_buf_puts(b, t->count <= 3 ? "+0000" : t->count == 4 ? "GMT" : "Z");
            break;
        }
    }
}

static int is_num_letter(char c)
{
    return c && strchr("yMdDHhkKmsS", c);
}

/* Parses s with the pattern into micros (UTC); 0 or -1. */
static int parse_ts(const pattern *p, const char *s, size_t n, int64_t *out)
{
    int64_t y = 1970;
    int mo = 1, d = 1, h = 0, mi = 0, sec = 0, doy = -1, pm = -1, h12 = 0;
    int64_t frac = 0, off = 0;
    size_t i = 0;
    for (int k = 0; k < p->n; k++) {
        const pat_tok *t = &p->t[k];
        if (!t->letter) {
            if (i + (size_t)t->litlen > n || memcmp(s + i, t->lit, (size_t)t->litlen)) return -1;
            i += (size_t)t->litlen;
            continue;
        }
        if ((t->letter == 'M' && t->count >= 3) || t->letter == 'E') {
            const char *const *names = t->letter == 'M' ? months : wdays;
            int nn = t->letter == 'M' ? 12 : 7, found = -1;
            for (int j = 0; j < nn && found < 0; j++) {
                size_t l = t->count >= 4 ? strlen(names[j]) : 3;
                if (i + l <= n && !strncasecmp(s + i, names[j], l)) {
                    found = j;
                    i += l;
                }
            }
            if (found < 0) return -1;
            if (t->letter == 'M') mo = found + 1;
            continue;
        }
        if (t->letter == 'a') {
            if (i + 2 > n) return -1;
            if (!strncasecmp(s + i, "AM", 2))
                pm = 0;
            else if (!strncasecmp(s + i, "PM", 2))
                pm = 1;
            else
                return -1;
            i += 2;
            continue;
        }
        if (t->letter == 'X' || t->letter == 'x' || t->letter == 'Z') {
            if (i < n && s[i] == 'Z' && t->letter != 'x') {
                i++;
                continue;
            }
            if (i >= n || (s[i] != '+' && s[i] != '-')) return -1;
            int sign = s[i] == '-' ? -1 : 1, hh = 0, mm = 0;
            i++;
            if (i + 2 > n || !isdigit((unsigned char)s[i]) || !isdigit((unsigned char)s[i + 1]))
                return -1;
            hh = (s[i] - '0') * 10 + (s[i + 1] - '0');
            i += 2;
            if (i < n && s[i] == ':') i++;
            if (i + 2 <= n && isdigit((unsigned char)s[i]) && isdigit((unsigned char)s[i + 1])) {
                mm = (s[i] - '0') * 10 + (s[i + 1] - '0');
                i += 2;
            }
            off = sign * ((int64_t)hh * 3600 + mm * 60) * 1000000;
            continue;
        }
        /* a number: exactly count digits when the next token is a number too */
        int adjacent = k + 1 < p->n && is_num_letter(p->t[k + 1].letter);
        int maxw = t->letter == 'y'   ? (t->count == 2 ? 2 : 9)
                   : t->letter == 'S' ? 9
                   : t->letter == 'D' ? 3
                                      : 2;
        int minw = t->count > 1 && t->letter != 'y' ? t->count : 1;
        if (t->letter == 'y' && t->count == 4) minw = 4;
        if (adjacent) maxw = minw = t->count;
        if (t->letter == 'S') maxw = adjacent ? t->count : 9, minw = adjacent ? t->count : 1;
        int64_t v = 0;
        int w = 0, neg = 0;
        if (t->letter == 'y' && i < n && (s[i] == '-' || s[i] == '+') && !adjacent) {
            neg = s[i] == '-';
            i++;
        }
        while (i < n && w < maxw && isdigit((unsigned char)s[i])) {
            v = v * 10 + (s[i++] - '0');
            w++;
        }
        if (w < minw) return -1;
        switch (t->letter) {
        case 'y':
            y = t->count == 2 ? 2000 + v : (neg ? -v : v);
            break;
        case 'M':
            mo = (int)v;
            break;
        case 'd':
            d = (int)v;
            break;
        case 'D':
            doy = (int)v;
            break;
        case 'H':
        case 'k':
            h = (int)(v == 24 && t->letter == 'k' ? 0 : v);
            break;
        case 'h':
        case 'K':
            h = (int)v;
            h12 = 1;
            break;
        case 'm':
            mi = (int)v;
            break;
        case 's':
            sec = (int)v;
            break;
        case 'S':
            frac = v;
            for (int j = w; j < 6; j++)
                frac *= 10;
            for (int j = 6; j < w; j++)
                frac /= 10;
            break;
        }
    }
    if (i != n) return -1;
    if (pm >= 0 || h12) {
        if (h > 12 || (h12 && h == 0 && pm >= 0 && 0)) return -1;
        h = h % 12 + (pm == 1 ? 12 : 0);
    }
    if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) return -1;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap)) return -1;
    int64_t days = doy > 0 ? lk_time_days_from_civil(y, 1, 1) + doy - 1
                           : lk_time_days_from_civil(y, (unsigned)mo, (unsigned)d);
    *out = days * DAY_US + ((int64_t)h * 3600 + mi * 60 + sec) * 1000000 + frac - off;
    return 0;
}

/* ---- kernels ---- */

/* Row i of a to_date (days), unix_timestamp (seconds, floor) or to_timestamp (us) result. */
static inline void put_time(lk_col *out, uint32_t i, int64_t us, int to_date, int unix_)
{
    if (to_date)
        ((int32_t *)out->values)[i] = lk_sql_us_to_days(us);
    else if (unix_)
        ((int64_t *)out->values)[i] = us >= 0 ? us / 1000000 : -((-(us + 1)) / 1000000) - 1;
    else
        ((int64_t *)out->values)[i] = us;
}

static void k_to_ts_fmt(lk_sql_kctx *k)
{
    const pattern *p = k->aux;
    int to_date = k->out->field->type == LK_TYPE_DATE;
    int unix_ = k->node->fn == LK_FN_UNIX_TIMESTAMP;
    lk_sql_out_fixed(k->out, k->n);
    lk_sql_out_and_validity(k->out, k->a, 1, k->n);
    for (uint32_t i = 0; i < k->n; i++) {
        int64_t us = 0;
        if (!lk_col_is_null(k->a[0], i)) {
            size_t n;
            const char *s = lk_col_bytes(k->a[0], i, &n);
            if (parse_ts(p, s, n, &us)) {
                us = 0;
                lk_sql_out_null(k->out, i);
                lk_sql_fail(k, i);
            }
        }
        put_time(k->out, i, us, to_date, unix_);
    }
    lk_sql_out_done(k->out);
}

/* to_timestamp / to_date / unix_timestamp without a format: as a cast */
static void k_to_ts(lk_sql_kctx *k)
{
    const lk_col *a = k->a[0];
    lk_type from = a->field->type, to = k->out->field->type;
    int unix_ = k->node->fn == LK_FN_UNIX_TIMESTAMP;
    lk_sql_out_fixed(k->out, k->n);
    lk_sql_out_and_validity(k->out, k->a, 1, k->n);
    for (uint32_t i = 0; i < k->n; i++) {
        int64_t us = 0;
        int bad = 0;
        if (lk_col_is_null(a, i)) {
        } else if (from == LK_TYPE_STRING) {
            size_t n;
            const char *s = lk_col_bytes(a, i, &n);
            if (to == LK_TYPE_DATE) {
                int32_t d;
                bad = lk_sql_parse_date(s, n, &d) || __builtin_mul_overflow((int64_t)d, DAY_US, &us);
            } else {
                bad = lk_sql_parse_timestamp(s, n, &us);
            }
        } else if (from == LK_TYPE_DATE) {
            bad = __builtin_mul_overflow((int64_t)((const int32_t *)a->values)[i], DAY_US, &us);
        } else {
            us = ((const int64_t *)a->values)[i];
        }
        if (bad) {
            us = 0;
            lk_sql_out_null(k->out, i);
            lk_sql_fail(k, i);
        }
        put_time(k->out, i, us, to == LK_TYPE_DATE, unix_);
    }
    lk_sql_out_done(k->out);
}

static void k_unix_now(lk_sql_kctx *k)
{
    lk_sql_out_fixed(k->out, k->n);
    int64_t s = k->now_us / 1000000;
    for (uint32_t i = 0; i < k->n; i++)
        ((int64_t *)k->out->values)[i] = s;
    lk_sql_out_done(k->out);
}

static void k_format(lk_sql_kctx *k)
{
    const pattern *p = k->aux;
    int from_unix = k->node->fn == LK_FN_FROM_UNIXTIME;
    lk_buf *b = k->tmp;
    for (uint32_t i = 0; i < k->n; i++) {
        if (lk_col_is_null(k->a[0], i)) {
            lk_col_append_null(k->out);
            continue;
        }
        int64_t v = ((const int64_t *)k->a[0]->values)[i];
        if (from_unix)
            v = v > INT64_MAX / 1000000   ? INT64_MAX
                : v < INT64_MIN / 1000000 ? INT64_MIN
                                          : v * 1000000;
        lk_buf_reset(b);
        format_ts(p, v, b);
        lk_col_append_bytes(k->out, b->data ? b->data : "", b->len);
    }
}

enum { U_YEAR = 1, U_QUARTER, U_MONTH, U_WEEK, U_DAY, U_HOUR, U_MINUTE, U_SECOND, U_MS, U_US };

/* ISO day of the week of days since the epoch (a Thursday): Monday 1 .. Sunday 7 */
static int iso_wday(int64_t days)
{
    return (int)(((days % 7) + 7 + 3) % 7) + 1;
}

static void k_trunc(lk_sql_kctx *k)
{
    const pattern *p = k->aux;
    lk_sql_out_fixed(k->out, k->n);
    lk_sql_out_and_validity(k->out, k->a + 1, 1, k->n);
    const int64_t *x = k->a[1]->values;
    int64_t *o = k->out->values;
    for (uint32_t i = 0; i < k->n; i++) {
        int64_t us = x[i];
        int32_t days = lk_sql_us_to_days(us);
        int64_t rem = lk_sql_us_of_day(us), r = us;
        int64_t y;
        unsigned m, d;
        int bad = 0; /* the start of the unit is before the first timestamp */
        switch (p->unit) {
        case U_YEAR:
        case U_QUARTER:
        case U_MONTH:
            lk_time_civil_from_days(days, &y, &m, &d);
            if (p->unit == U_YEAR)
                m = 1;
            else if (p->unit == U_QUARTER)
                m = (m - 1) / 3 * 3 + 1;
            bad = __builtin_mul_overflow(lk_time_days_from_civil(y, m, 1), DAY_US, &r);
            break;
        case U_WEEK: /* Monday */
            bad = __builtin_mul_overflow((int64_t)days - (iso_wday(days) - 1), DAY_US, &r);
            break;
        case U_DAY:
            bad = __builtin_sub_overflow(us, rem, &r);
            break;
        case U_HOUR:
            bad = __builtin_sub_overflow(us, rem % 3600000000LL, &r);
            break;
        case U_MINUTE:
            bad = __builtin_sub_overflow(us, rem % 60000000, &r);
            break;
        case U_SECOND:
            bad = __builtin_sub_overflow(us, rem % 1000000, &r);
            break;
        case U_MS:
            bad = __builtin_sub_overflow(us, rem % 1000, &r);
            break;
        default:
            break;
        }
        o[i] = bad ? 0 : r;
        if (bad) lk_sql_out_null(k->out, i);
    }
    lk_sql_out_done(k->out);
}

static void k_field(lk_sql_kctx *k)
{
    lk_sql_out_fixed(k->out, k->n);
    lk_sql_out_and_validity(k->out, k->a, 1, k->n);
    int32_t *o = k->out->values;
    int fn = k->node->fn;
    for (uint32_t i = 0; i < k->n; i++) {
        if (fn == LK_FN_HOUR || fn == LK_FN_MINUTE || fn == LK_FN_SECOND) {
            int64_t us = ((const int64_t *)k->a[0]->values)[i];
            int64_t rem = lk_sql_us_of_day(us);
            o[i] = (int32_t)(fn == LK_FN_HOUR     ? rem / 3600000000LL
                             : fn == LK_FN_MINUTE ? rem / 60000000 % 60
                                                  : rem / 1000000 % 60);
            continue;
        }
        int32_t days = ((const int32_t *)k->a[0]->values)[i];
        int64_t y;
        unsigned m, d;
        lk_time_civil_from_days(days, &y, &m, &d);
        switch (fn) {
        case LK_FN_YEAR:
            o[i] = (int32_t)y;
            break;
        case LK_FN_QUARTER:
            o[i] = (int32_t)((m - 1) / 3 + 1);
            break;
        case LK_FN_MONTH:
            o[i] = (int32_t)m;
            break;
        case LK_FN_DAY:
            o[i] = (int32_t)d;
            break;
        case LK_FN_DAYOFWEEK:
            o[i] = (int32_t)((((int64_t)days % 7) + 7 + 4) % 7 + 1);
            break; /* Sunday = 1 */
        case LK_FN_DAYOFYEAR:
            o[i] = (int32_t)(days - lk_time_days_from_civil(y, 1, 1) + 1);
            break;
        }
    }
    lk_sql_out_done(k->out);
}

static void k_now(lk_sql_kctx *k)
{
    lk_sql_out_fixed(k->out, k->n);
    for (uint32_t i = 0; i < k->n; i++) {
        if (k->out->field->type == LK_TYPE_DATE)
            ((int32_t *)k->out->values)[i] = lk_sql_us_to_days(k->now_us);
        else
            ((int64_t *)k->out->values)[i] = k->now_us;
    }
    lk_sql_out_done(k->out);
}

static void k_date_add(lk_sql_kctx *k)
{
    lk_sql_out_fixed(k->out, k->n);
    lk_sql_out_and_validity(k->out, k->a, 2, k->n);
    const int32_t *d = k->a[0]->values, *n = k->a[1]->values;
    int32_t *o = k->out->values;
    int sign = k->node->fn == LK_FN_DATE_SUB ? -1 : 1;
    for (uint32_t i = 0; i < k->n; i++)
        o[i] = (int32_t)((uint32_t)d[i] + (sign > 0 ? (uint32_t)n[i] : 0u - (uint32_t)n[i]));
    lk_sql_out_done(k->out);
}

static void k_datediff(lk_sql_kctx *k)
{
    lk_sql_out_fixed(k->out, k->n);
    lk_sql_out_and_validity(k->out, k->a, 2, k->n);
    const int32_t *a = k->a[0]->values, *b = k->a[1]->values;
    int32_t *o = k->out->values;
    for (uint32_t i = 0; i < k->n; i++)
        o[i] = (int32_t)((uint32_t)a[i] - (uint32_t)b[i]);
    lk_sql_out_done(k->out);
}

/* weekofyear (ISO 8601: weeks start on Monday, week 1 holds the year's first Thursday),
   extract(DAYOFWEEK_ISO), unix_date, last_day: a date in, an int or a date out. */
static void k_date_more(lk_sql_kctx *k)
{
    lk_sql_out_fixed(k->out, k->n);
    lk_sql_out_and_validity(k->out, k->a, 1, k->n);
    const int32_t *x = k->a[0]->values;
    int32_t *o = k->out->values;
    int fn = k->node->fn;
    for (uint32_t i = 0; i < k->n; i++) {
        int64_t days = x[i], y;
        unsigned m, d;
        switch (fn) {
        case LK_FN_WEEKOFYEAR: {
            int64_t th = days - iso_wday(days) + 4; /* the Thursday of its week */
            lk_time_civil_from_days(th, &y, &m, &d);
            o[i] = (int32_t)((th - lk_time_days_from_civil(y, 1, 1)) / 7 + 1);
            break;
        }
        case LK_FN_DAYOFWEEK_ISO:
            o[i] = iso_wday(days);
            break;
        case LK_FN_YEAROFWEEK: /* the year of its week's Thursday */
            lk_time_civil_from_days(days - iso_wday(days) + 4, &y, &m, &d);
            o[i] = (int32_t)y;
            break;
        case LK_FN_LAST_DAY:
            lk_time_civil_from_days(days, &y, &m, &d);
            o[i] = (int32_t)lk_time_days_from_civil(y, m, (unsigned)lk_time_days_in_month(y, m));
            break;
        default: /* unix_date */
            o[i] = (int32_t)days;
            break;
        }
    }
    lk_sql_out_done(k->out);
}

/* add_months(d, n): the same day n months later, the month's last day where it has fewer
   (Spark 3's LocalDate.plusMonths: 2019-01-31 + 1 is 2019-02-28, 2019-02-28 + 1 is 2019-03-28). */
static void k_add_months(lk_sql_kctx *k)
{
    lk_sql_out_fixed(k->out, k->n);
    lk_sql_out_and_validity(k->out, k->a, 2, k->n);
    const int32_t *x = k->a[0]->values, *n = k->a[1]->values;
    int32_t *o = k->out->values;
    for (uint32_t i = 0; i < k->n; i++) {
        int64_t y;
        unsigned m, d;
        lk_time_civil_from_days(x[i], &y, &m, &d);
        int64_t t = y * 12 + (m - 1) + n[i], ny = t >= 0 ? t / 12 : -((-t + 11) / 12);
        unsigned nm = (unsigned)(t - ny * 12) + 1;
        int dim = lk_time_days_in_month(ny, nm);
        int64_t r = ny < -6000000 || ny > 6000000
                        ? INT64_MAX
                        : lk_time_days_from_civil(ny, nm, d > (unsigned)dim ? (unsigned)dim : d);
        if (r < INT32_MIN || r > INT32_MAX) { /* past a date's 32 bits: Spark fails too */
            o[i] = 0;
            lk_sql_out_null(k->out, i);
            lk_sql_fail(k, i);
            continue;
        }
        o[i] = (int32_t)r;
    }
    lk_sql_out_done(k->out);
}

/* ts + INTERVAL: its months first (the same day and time of day that many months later, the
   month's last day where it has fewer: Spark's timestampAddMonths in the UTC session), then its
   microseconds; past the range of a timestamp a failure (Spark's addExact raises). */
static void k_ts_interval(lk_sql_kctx *k)
{
    lk_sql_out_fixed(k->out, k->n);
    lk_sql_out_and_validity(k->out, k->a, 1, k->n);
    const int64_t *x = k->a[0]->values;
    int64_t *o = k->out->values;
    int32_t nmonths = k->node->iv_months;
    int64_t us = k->node->iv_us;
    for (uint32_t i = 0; i < k->n; i++) {
        int64_t t = x[i], r;
        int bad = 0;
        if (!lk_sql_valid(k->a, 1, i)) { /* a null row's value is no value: never a failure */
            o[i] = 0;
            continue;
        }
        if (nmonths) {
            int64_t days = t >= 0 ? t / 86400000000LL : -((-(t + 1)) / 86400000000LL) - 1;
            int64_t tod = t - days * 86400000000LL, y;
            unsigned m, d;
            lk_time_civil_from_days(days, &y, &m, &d);
            int64_t mm = y * 12 + (m - 1) + nmonths, ny = mm >= 0 ? mm / 12 : -((-mm + 11) / 12);
            unsigned nm = (unsigned)(mm - ny * 12) + 1;
            int dim = lk_time_days_in_month(ny, nm);
            int64_t nd = lk_time_days_from_civil(ny, nm, d > (unsigned)dim ? (unsigned)dim : d);
            bad = ny < -300000 || ny > 300000 || __builtin_mul_overflow(nd, 86400000000LL, &t) ||
                  __builtin_add_overflow(t, tod, &t);
        }
        if (bad || __builtin_add_overflow(t, us, &r)) {
            o[i] = 0;
            lk_sql_out_null(k->out, i);
            lk_sql_fail(k, i);
            continue;
        }
        o[i] = r;
    }
    lk_sql_out_done(k->out);
}

/* trunc(date, fmt): the first day of its year, quarter, month or week (Monday). */
static void k_trunc_date(lk_sql_kctx *k)
{
    const pattern *p = k->aux;
    lk_sql_out_fixed(k->out, k->n);
    lk_sql_out_and_validity(k->out, k->a, 1, k->n);
    const int32_t *x = k->a[0]->values;
    int32_t *o = k->out->values;
    for (uint32_t i = 0; i < k->n; i++) {
        int64_t y, days = x[i];
        unsigned m, d;
        if (p->unit == U_WEEK) {
            o[i] = (int32_t)(days - iso_wday(days) + 1);
            continue;
        }
        lk_time_civil_from_days(days, &y, &m, &d);
        m = p->unit == U_YEAR ? 1 : p->unit == U_QUARTER ? (m - 1) / 3 * 3 + 1 : m;
        o[i] = (int32_t)lk_time_days_from_civil(y, m, 1);
    }
    lk_sql_out_done(k->out);
}

/* next_day(d, 'MON'): the first such day after d; null for a name Spark does not know (two or
   three letters or the whole English name, any case). */
static void k_next_day(lk_sql_kctx *k)
{
    static const char *const names[7][3] = {{"MO", "MON", "MONDAY"},    {"TU", "TUE", "TUESDAY"},
                                            {"WE", "WED", "WEDNESDAY"}, {"TH", "THU", "THURSDAY"},
                                            {"FR", "FRI", "FRIDAY"},    {"SA", "SAT", "SATURDAY"},
                                            {"SU", "SUN", "SUNDAY"}};
    for (uint32_t i = 0; i < k->n; i++) {
        int want = 0;
        if (lk_sql_valid(k->a, 2, i)) {
            size_t n;
            const char *s = lk_col_bytes(k->a[1], i, &n);
            for (int w = 0; w < 7 && !want; w++)
                for (int j = 0; j < 3; j++)
                    if (strlen(names[w][j]) == n && !strncasecmp(names[w][j], s, n)) want = w + 1;
            if (!want) lk_sql_fail(k, i);
        }
        if (!want) {
            lk_col_append_null(k->out);
            continue;
        }
        int64_t days = ((const int32_t *)k->a[0]->values)[i];
        int step = (want - iso_wday(days) + 7) % 7;
        lk_col_append_i32(k->out, (int32_t)(days + (step ? step : 7)));
    }
}

/* make_date(y, m, d): null (and a failure) for a date that does not exist. */
static void k_make_date(lk_sql_kctx *k)
{
    for (uint32_t i = 0; i < k->n; i++) {
        if (!lk_sql_valid(k->a, 3, i)) {
            lk_col_append_null(k->out);
            continue;
        }
        int32_t y = ((const int32_t *)k->a[0]->values)[i], m = ((const int32_t *)k->a[1]->values)[i],
                d = ((const int32_t *)k->a[2]->values)[i];
        int64_t r = m < 1 || m > 12 || d < 1 || d > lk_time_days_in_month(y, (unsigned)m)
                        ? INT64_MAX
                        : lk_time_days_from_civil(y, (unsigned)m, (unsigned)d);
        if (r < INT32_MIN || r > INT32_MAX) {
            lk_col_append_null(k->out);
            lk_sql_fail(k, i);
            continue;
        }
        lk_col_append_i32(k->out, (int32_t)r);
    }
}

/* timestamp_seconds/millis/micros(x): x times 10^6, 10^3, 1 microseconds (Spark's multiplyExact:
   an overflow is null and a failure; a fractional number of seconds is truncated toward zero, a
   NaN or infinity is null) */
static void k_ts_from(lk_sql_kctx *k)
{
    int fn = k->node->fn;
    int64_t mul = fn == LK_FN_TIMESTAMP_SECONDS ? 1000000 : fn == LK_FN_TIMESTAMP_MILLIS ? 1000 : 1;
    int dbl = k->a[0]->field->type == LK_TYPE_DOUBLE, dec = k->a[0]->field->type == LK_TYPE_DECIMAL;
    int sc = k->a[0]->field->scale;
    for (uint32_t i = 0; i < k->n; i++) {
        if (lk_col_is_null(k->a[0], i)) {
            lk_col_append_null(k->out);
            continue;
        }
        int64_t us;
        if (dec) { /* exact: x * 10^6 must be a whole number of microseconds in a long (Spark's
                      longValueExact raises otherwise) */
            lk_dec v = lk_dec_read(k->a[0], i), q;
            lk_udec p = lk_dec_pow10(sc > 6 ? sc - 6 : 0);
            int bad = sc > 6 ? lk_dec_abs(v) % p != 0 : lk_dec_rescale(v, sc, 6, &q) != 0;
            if (!bad && sc > 6) q = v / (lk_dec)p;
            if (bad || q > INT64_MAX || q < INT64_MIN) {
                lk_col_append_null(k->out);
                lk_sql_fail(k, i);
                continue;
            }
            us = (int64_t)q;
        } else if (dbl) {
            double v = ((const double *)k->a[0]->values)[i] * 1e6;
            if (!isfinite(v)) {
                lk_col_append_null(k->out);
                continue;
            }
            us = v >= 9223372036854775807.0 ? INT64_MAX : v <= -9223372036854775808.0 ? INT64_MIN
                                                                                      : (int64_t)v;
        } else if (__builtin_mul_overflow(((const int64_t *)k->a[0]->values)[i], mul, &us)) {
            lk_col_append_null(k->out);
            lk_sql_fail(k, i);
            continue;
        }
        lk_col_append_i64(k->out, us);
    }
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* unix_seconds/millis/micros(ts) (floor division, as Spark's) and date_from_unix_date(n). */
static void k_unix_of(lk_sql_kctx *k)
{
    lk_sql_out_fixed(k->out, k->n);
    lk_sql_out_and_validity(k->out, k->a, 1, k->n);
    int fn = k->node->fn;
    for (uint32_t i = 0; i < k->n; i++) {
        if (fn == LK_FN_DATE_FROM_UNIX_DATE) {
            ((int32_t *)k->out->values)[i] = ((const int32_t *)k->a[0]->values)[i];
            continue;
        }
        int64_t us = ((const int64_t *)k->a[0]->values)[i];
        ((int64_t *)k->out->values)[i] = fn == LK_FN_UNIX_SECONDS  ? floor_div(us, 1000000)
                                         : fn == LK_FN_UNIX_MILLIS ? floor_div(us, 1000)
                                                                   : us;
    }
    lk_sql_out_done(k->out);
}

/* months_between(t1, t2[, roundOff = true]) as Spark's DateTimeUtils.monthsBetween (UTC): whole
   months when both days of the month are the same or both are their month's last; else the months
   plus the difference of day and time of day over a 31-day month, in seconds, rounded to 8
   decimals unless roundOff is false. */
static void k_months_between(lk_sql_kctx *k)
{
    lk_sql_out_fixed(k->out, k->n);
    lk_sql_out_and_validity(k->out, k->a, k->na, k->n);
    const int64_t *t1 = k->a[0]->values, *t2 = k->a[1]->values;
    double *o = k->out->values;
    for (uint32_t i = 0; i < k->n; i++) {
        int32_t d1 = lk_sql_us_to_days(t1[i]), d2 = lk_sql_us_to_days(t2[i]);
        int64_t y1, y2;
        unsigned m1, m2, dd1, dd2;
        lk_time_civil_from_days(d1, &y1, &m1, &dd1);
        lk_time_civil_from_days(d2, &y2, &m2, &dd2);
        double mdiff = (double)((y1 * 12 + m1) - (y2 * 12 + m2));
        int last1 = dd1 == (unsigned)lk_time_days_in_month(y1, m1), last2 = dd2 == (unsigned)lk_time_days_in_month(y2, m2);
        if (dd1 == dd2 || (last1 && last2)) {
            o[i] = mdiff;
            continue;
        }
        int64_t s1 = lk_sql_us_of_day(t1[i]) / 1000000, s2 = lk_sql_us_of_day(t2[i]) / 1000000;
        int64_t secs = ((int64_t)dd1 - (int64_t)dd2) * 86400 + s1 - s2;
        double diff = mdiff + (double)secs / (31.0 * 86400);
        int round_off = k->na < 3 || ((const uint8_t *)k->a[2]->values)[i];
        o[i] = round_off ? (double)lk_sql_d2l(floor(diff * 1e8 + 0.5)) / 1e8 : diff;
    }
    lk_sql_out_done(k->out);
}

/* extract(SECOND FROM ts): the seconds with their fraction, DECIMAL(8,6) as Spark 3's. */
static void k_second_fraction(lk_sql_kctx *k)
{
    lk_sql_out_fixed(k->out, k->n);
    lk_sql_out_and_validity(k->out, k->a, 1, k->n);
    for (uint32_t i = 0; i < k->n; i++) {
        int64_t us = ((const int64_t *)k->a[0]->values)[i];
        int64_t rem = lk_sql_us_of_day(us);
        ((int64_t *)k->out->values)[i] = rem % 60000000;
    }
    lk_sql_out_done(k->out);
}

static const lk_sql_node *lit_arg(const lk_sql_node *n, int i)
{
    const lk_sql_node *a = n->args[i];
    a = lk_sql_node_value(a);
    return a;
}

/* The unit of date_trunc(unit, ts) (the node's argument 0) or trunc(date, unit) (argument 1: a
   date's units only, year to week) into *aux; 0, or LK_EFORMAT naming the unknown unit. */
static int trunc_unit(const lk_sql_node *node, int date_only, const char *text, void **aux,
                      void (**aux_free)(void *), lk_error *err)
{
    const lk_sql_node *u = lit_arg(node, date_only ? 1 : 0);
    static const struct {
        const char *name;
        int unit;
    } units[] = {{"year", U_YEAR},       {"yyyy", U_YEAR},      {"yy", U_YEAR},
                 {"quarter", U_QUARTER}, {"month", U_MONTH},    {"mm", U_MONTH},
                 {"mon", U_MONTH},       {"week", U_WEEK},      {"day", U_DAY},
                 {"dd", U_DAY},          {"hour", U_HOUR},      {"minute", U_MINUTE},
                 {"second", U_SECOND},   {"millisecond", U_MS}, {"microsecond", U_US}};
    int unit = 0;
    for (size_t i = 0; u->s && i < sizeof units / sizeof units[0]; i++)
        if (!strcasecmp(u->s, units[i].name) && (!date_only || units[i].unit <= U_WEEK))
            unit = units[i].unit;
    if (!unit)
        return lk_error_set(err, LK_EFORMAT,
                            date_only ? "position %d: trunc: unknown format '%s' (year, quarter, "
                                        "month, week)"
                                      : "position %d: date_trunc: unknown unit '%s' (year, quarter, "
                                        "month, week, day, hour, minute, second, millisecond, "
                                        "microsecond)",
                            lk_sql_column_of(text, u->pos), u->s ? u->s : "null");
    pattern *p = calloc(1, sizeof *p);
    if (!p) abort();
    p->unit = unit;
    *aux = p;
    *aux_free = free;
    return 0;
}

int lk_sql_time_kernel(const lk_sql_node *node, const char *text, lk_sql_kernel *kp, void **aux,
                       void (**aux_free)(void *), lk_error *err)
{
    int fn = node->fn;
    int fmt_arg = -1;
    switch (fn) {
    case LK_FN_TO_TIMESTAMP:
    case LK_FN_TO_DATE:
    case LK_FN_UNIX_TIMESTAMP:
        if (fn == LK_FN_UNIX_TIMESTAMP && node->nargs == 0) {
            *kp = k_unix_now;
            return 0;
        }
        if (node->nargs == 2)
            fmt_arg = 1;
        else if (fn == LK_FN_UNIX_TIMESTAMP && node->args[0]->ty == LK_TYPE_STRING)
            fmt_arg = -2; /* unix_timestamp(str): 'yyyy-MM-dd HH:mm:ss' */
        *kp = fmt_arg != -1 ? k_to_ts_fmt : k_to_ts;
        break;
    case LK_FN_DATE_FORMAT:
        fmt_arg = 1;
        *kp = k_format;
        break;
    case LK_FN_FROM_UNIXTIME:
        fmt_arg = node->nargs == 2 ? 1 : -2;
        *kp = k_format;
        break;
    case LK_FN_DATE_TRUNC:
        return trunc_unit(node, 0, text, aux, aux_free, err) ? err->code : (*kp = k_trunc, 0);
    case LK_FN_YEAR:
    case LK_FN_QUARTER:
    case LK_FN_MONTH:
    case LK_FN_DAY:
    case LK_FN_DAYOFWEEK:
    case LK_FN_DAYOFYEAR:
    case LK_FN_HOUR:
    case LK_FN_MINUTE:
    case LK_FN_SECOND:
        *kp = k_field;
        return 0;
    case LK_FN_CURRENT_TIMESTAMP:
    case LK_FN_CURRENT_DATE:
        *kp = k_now;
        return 0;
    case LK_FN_DATE_ADD:
    case LK_FN_DATE_SUB:
        *kp = k_date_add;
        return 0;
    case LK_FN_DATEDIFF:
        *kp = k_datediff;
        return 0;
    case LK_FN_WEEKOFYEAR:
    case LK_FN_DAYOFWEEK_ISO:
    case LK_FN_YEAROFWEEK:
    case LK_FN_LAST_DAY:
    case LK_FN_UNIX_DATE:
        *kp = k_date_more;
        return 0;
    case LK_FN_ADD_MONTHS:
        *kp = k_add_months;
        return 0;
    case LK_FN_TS_INTERVAL:
        *kp = k_ts_interval;
        return 0;
    case LK_FN_TRUNC:
        return trunc_unit(node, 1, text, aux, aux_free, err) ? err->code : (*kp = k_trunc_date, 0);
    case LK_FN_NEXT_DAY:
        *kp = k_next_day;
        return 0;
    case LK_FN_MAKE_DATE:
        *kp = k_make_date;
        return 0;
    case LK_FN_TIMESTAMP_SECONDS:
    case LK_FN_TIMESTAMP_MILLIS:
    case LK_FN_TIMESTAMP_MICROS:
        *kp = k_ts_from;
        return 0;
    case LK_FN_UNIX_SECONDS:
    case LK_FN_UNIX_MILLIS:
    case LK_FN_UNIX_MICROS:
    case LK_FN_DATE_FROM_UNIX_DATE:
        *kp = k_unix_of;
        return 0;
    case LK_FN_SECOND_FRACTION:
        *kp = k_second_fraction;
        return 0;
    case LK_FN_MONTHS_BETWEEN:
        *kp = k_months_between;
        return 0;
    default:
        return lk_error_set(err, LK_EFORMAT, "position %d: internal: no kernel for %s",
                            lk_sql_column_of(text, node->pos), node->name ? node->name : "?");
    }
    if (fmt_arg == -1) return 0;
    pattern *p = calloc(1, sizeof *p);
    if (!p) abort();
    const char *f = "yyyy-MM-dd HH:mm:ss";
    int pos = node->pos;
    if (fmt_arg >= 0) {
        const lk_sql_node *a = lit_arg(node, fmt_arg);
        f = a->s ? a->s : "";
        pos = a->pos;
    }
    if (compile_pattern(f, p, pos, text, err)) {
        free(p);
        return err->code;
    }
    *aux = p;
    *aux_free = free;
    return 0;
}
