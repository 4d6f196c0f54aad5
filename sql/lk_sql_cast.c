/* lk_sql_cast — Spark's non-ANSI casts; see lk_sql_cast.h. */
#include "lk_sql_cast.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lk_decimal.h"
#include "lk_time.h"
#include "lk_tz.h"

/* ---- text of values ---- */

size_t lk_sql_format_double(double x, char *out)
{
    if (isnan(x)) return (size_t)sprintf(out, "NaN");
    if (isinf(x)) return (size_t)sprintf(out, x > 0 ? "Infinity" : "-Infinity");
    if (x == 0) return (size_t)sprintf(out, signbit(x) ? "-0.0" : "0.0");
    char buf[40];
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, x);
        if (strtod(buf, NULL) == x) break;
    }
    if (prec == 17) snprintf(buf, sizeof buf, "%.16e", x);
    /* digits and exponent */
    char dig[24];
    int nd = 0, neg = x < 0;
    char *e = strchr(buf, 'e');
    int exp10 = atoi(e + 1);
    for (char *c = buf; c < e; c++)
        if (isdigit((unsigned char)*c)) dig[nd++] = *c;
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    size_t o = 0;
    if (neg) out[o++] = '-';
    if (exp10 >= -3 && exp10 < 7) {
        if (exp10 < 0) {
            out[o++] = '0';
            out[o++] = '.';
            for (int i = 0; i < -exp10 - 1; i++)
                out[o++] = '0';
            for (int i = 0; i < nd; i++)
                out[o++] = dig[i];
        } else {
            for (int i = 0; i <= exp10; i++)
                out[o++] = i < nd ? dig[i] : '0';
            out[o++] = '.';
            if (nd > exp10 + 1)
                for (int i = exp10 + 1; i < nd; i++)
                    out[o++] = dig[i];
            else
                out[o++] = '0';
        }
    } else {
        out[o++] = dig[0];
        out[o++] = '.';
        if (nd > 1)
            for (int i = 1; i < nd; i++)
                out[o++] = dig[i];
        else
            out[o++] = '0';
        o += (size_t)sprintf(out + o, "E%d", exp10);
    }
    out[o] = 0;
    return o;
}

static size_t format_float(float x, char *out)
{
    if (isnan(x) || isinf(x) || x == 0) return lk_sql_format_double((double)x, out);
    /* the shortest text that reads back as the same float */
    char buf[40];
    int prec = 1;
    for (; prec < 9; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, (double)x);
        if (strtof(buf, NULL) == x) break;
    }
    return lk_sql_format_double(strtod(buf, NULL), out);
}

size_t lk_sql_format_date(int32_t days, char *out)
{
    int64_t y;
    unsigned m, d;
    lk_time_civil_from_days(days, &y, &m, &d);
    if (y >= 0 && y <= 9999) return (size_t)sprintf(out, "%04lld-%02u-%02u", (long long)y, m, d);
    return (size_t)sprintf(out, "%s%04lld-%02u-%02u", y < 0 ? "-" : "+",
                           (long long)(y < 0 ? -y : y), m, d);
}

size_t lk_sql_format_timestamp(int64_t us, char *out)
{
    int32_t days = lk_sql_us_to_days(us);
    int64_t rem = lk_sql_us_of_day(us);
    size_t o = lk_sql_format_date(days, out);
    int64_t secs = rem / 1000000, frac = rem % 1000000;
    o += (size_t)sprintf(out + o, " %02d:%02d:%02d", (int)(secs / 3600), (int)(secs / 60 % 60),
                         (int)(secs % 60));
    if (frac) {
        char f[8];
        sprintf(f, "%06d", (int)frac);
        int l = 6;
        while (l > 0 && f[l - 1] == '0')
            l--;
        out[o++] = '.';
        memcpy(out + o, f, (size_t)l);
        o += (size_t)l;
    }
    out[o] = 0;
    return o;
}

/* ---- parsing ---- */

static void trim(const char **s, size_t *n)
{
    while (*n && isspace((unsigned char)**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

static int digits(const char *s, size_t n, size_t *i, int min, int max, int *v)
{
    int k = 0, x = 0;
    while (*i < n && k < max && isdigit((unsigned char)s[*i])) {
        x = x * 10 + (s[(*i)++] - '0');
        k++;
    }
    if (k < min) return -1;
    *v = x;
    return 0;
}

int lk_sql_parse_date(const char *s, size_t n, int32_t *days)
{
    trim(&s, &n);
    size_t i = 0;
    int y, m = 1, d = 1, sign = 1;
    if (n && (s[0] == '+' || s[0] == '-')) sign = s[i++] == '-' ? -1 : 1;
    if (digits(s, n, &i, 4, 7, &y)) return -1;
    y *= sign;
    if (i < n && s[i] == '-') {
        i++;
        if (digits(s, n, &i, 1, 2, &m)) return -1;
        if (i < n && s[i] == '-') {
            i++;
            if (digits(s, n, &i, 1, 2, &d)) return -1;
            if (i < n && s[i] != ' ' && s[i] != 'T') return -1;
            i = n;
        }
    }
    if (i != n || m < 1 || m > 12 || d < 1 || d > lk_time_days_in_month(y, (unsigned)m)) return -1;
    int64_t dn = lk_time_days_from_civil(y, (unsigned)m, (unsigned)d);
    if (dn < INT32_MIN || dn > INT32_MAX) return -1; /* Spark's toIntExact: null, not wrapped */
    *days = (int32_t)dn;
    return 0;
}

/* Two digits at s. */
static int two(const char *s, int *v)
{
    if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1])) return -1;
    *v = (s[0] - '0') * 10 + (s[1] - '0');
    return 0;
}

/* java.time's ZoneOffset.of: Z, +h, +hh, +hhmm, +hh:mm, +hhmmss, +hh:mm:ss, within +-18:00. */
static int zone_offset(const char *s, size_t n, int32_t *off)
{
    if (n == 1 && s[0] == 'Z') {
        *off = 0;
        return 0;
    }
    if (n < 2 || (s[0] != '+' && s[0] != '-')) return -1;
    int h = 0, m = 0, sec = 0, bad;
    switch (n) {
    case 2:
        bad = !isdigit((unsigned char)s[1]);
        h = s[1] - '0';
        break;
    case 3:
        bad = two(s + 1, &h);
        break;
    case 5:
        bad = two(s + 1, &h) || two(s + 3, &m);
        break;
    case 6:
        bad = two(s + 1, &h) || s[3] != ':' || two(s + 4, &m);
        break;
    case 7:
        bad = two(s + 1, &h) || two(s + 3, &m) || two(s + 5, &sec);
        break;
    case 9:
        bad = two(s + 1, &h) || s[3] != ':' || two(s + 4, &m) || s[6] != ':' || two(s + 7, &sec);
        break;
    default:
        return -1;
    }
    if (bad || h > 18 || m > 59 || sec > 59 || (h == 18 && (m || sec))) return -1;
    *off = (s[0] == '-' ? -1 : 1) * (h * 3600 + m * 60 + sec);
    return 0;
}

/*
 * The zone of a timestamp text as Spark's getZoneId reads it: '+h:mm' and '+hh:m' widened, then
 * ZoneId.of(id, SHORT_IDS): an offset, UTC/GMT/UT with or without an offset, a short id ('PST'),
 * or a region of the tz database. A fixed zone sets *off, a region *region; 0 or -1.
 */
static int zone_id(const char *s, size_t n, int32_t *off, const lk_tz **region)
{
    static const char *const short_ids[][2] = {{"ACT", "Australia/Darwin"},
                                               {"AET", "Australia/Sydney"},
                                               {"AGT", "America/Argentina/Buenos_Aires"},
                                               {"ART", "Africa/Cairo"},
                                               {"AST", "America/Anchorage"},
                                               {"BET", "America/Sao_Paulo"},
                                               {"BST", "Asia/Dhaka"},
                                               {"CAT", "Africa/Harare"},
                                               {"CNT", "America/St_Johns"},
                                               {"CST", "America/Chicago"},
                                               {"CTT", "Asia/Shanghai"},
                                               {"EAT", "Africa/Addis_Ababa"},
                                               {"ECT", "Europe/Paris"},
                                               {"IET", "America/Indiana/Indianapolis"},
                                               {"IST", "Asia/Kolkata"},
                                               {"JST", "Asia/Tokyo"},
                                               {"MIT", "Pacific/Apia"},
                                               {"NET", "Asia/Yerevan"},
                                               {"NST", "Pacific/Auckland"},
                                               {"PLT", "Asia/Karachi"},
                                               {"PNT", "America/Phoenix"},
                                               {"PRT", "America/Puerto_Rico"},
                                               {"PST", "America/Los_Angeles"},
                                               {"SST", "Pacific/Guadalcanal"},
                                               {"VST", "Asia/Ho_Chi_Minh"},
                                               {"EST", "-05:00"},
                                               {"MST", "-07:00"},
                                               {"HST", "-10:00"}};
    while (n && (unsigned char)*s <= ' ') { /* String.trim */
        s++;
        n--;
    }
    while (n && (unsigned char)s[n - 1] <= ' ')
        n--;
    char id[72];
    if (n + 2 >= sizeof id) return -1;
    memcpy(id, s, n);
    id[n] = 0;
    /* Spark before 3.0 took '+h:mm' and '+hh:m': the first "[+-]d:" and a final "[+-]dd:d" */
    for (size_t i = 0; i + 2 < n; i++)
        if ((id[i] == '+' || id[i] == '-') && isdigit((unsigned char)id[i + 1]) &&
            id[i + 2] == ':') {
            memmove(id + i + 2, id + i + 1, n - i);
            id[i + 1] = '0';
            n++;
            break;
        }
    if (n >= 5 && (id[n - 5] == '+' || id[n - 5] == '-') && isdigit((unsigned char)id[n - 4]) &&
        isdigit((unsigned char)id[n - 3]) && id[n - 2] == ':' &&
        isdigit((unsigned char)id[n - 1])) {
        id[n] = id[n - 1];
        id[n - 1] = '0';
        id[++n] = 0;
    }
    const char *z = id;
    for (size_t k = 0; n == 3 && k < sizeof short_ids / sizeof *short_ids; k++)
        if (!strcmp(id, short_ids[k][0])) {
            z = short_ids[k][1];
            n = strlen(z);
            break;
        }
    if (n <= 1 || z[0] == '+' || z[0] == '-') return zone_offset(z, n, off);
    if (!strcmp(z, "UTC") || !strcmp(z, "GMT") || !strcmp(z, "UT")) {
        *off = 0;
        return 0;
    }
    if ((!strncmp(z, "UTC", 3) || !strncmp(z, "GMT", 3)) && (z[3] == '+' || z[3] == '-'))
        return zone_offset(z + 3, n - 3, off);
    if (!strncmp(z, "UT", 2) && (z[2] == '+' || z[2] == '-')) return zone_offset(z + 2, n - 2, off);
    *region = lk_tz_find(z, n);
    return *region ? 0 : -1;
}

/* SparkDateTimeUtils.parseTimestampString's digit counts: a year of 4 to 6 digits, a fraction of
   any (beyond 6 truncated), a zone's segment none, the others 1 or 2. */
static int seg_digits_ok(int seg, int digits)
{
    return seg == 6 || (seg == 0 && digits >= 4 && digits <= 6) || (seg == 7 && digits <= 2) ||
           (seg != 0 && seg != 7 && digits >= 1 && digits <= 2);
}

/*
 * Spark's stringToTimestamp (non-ANSI), read from its segment grammar: '[+-]yyyy*[-[m]m[-[d]d]]',
 * then ' ' or 'T' and '[h]h[:[m]m[:[s]s[.fraction]]]', then a zone id (after optional spaces); a
 * time alone ('[h]h:[m]m...', 'T[h]h...') is today's. Impossible dates and times are null, as
 * LocalDate.of and LocalTime.of refuse them. Text without a zone is UTC, the session's zone.
 */
/* The form nearly every timestamp text has, 'yyyy-mm-ddThh:mm:ss[.f{1,9}][Z]', read straight
   (the grammar below costs four times as much per value, and the default list parses every
   row's ts): 0 with *us, -1 for an impossible date or time, 1 when s has another form. */
static int canonical_timestamp(const char *s, size_t n, int64_t *us)
{
    if (n < 19) return 1;
#define DG(k) ((unsigned)(s[k] - '0') <= 9)
    if (!(DG(0) && DG(1) && DG(2) && DG(3) && s[4] == '-' && DG(5) && DG(6) && s[7] == '-' &&
          DG(8) && DG(9) && s[10] == 'T' && DG(11) && DG(12) && s[13] == ':' && DG(14) &&
          DG(15) && s[16] == ':' && DG(17) && DG(18)))
        return 1;
#undef DG
    size_t j = 19;
    int64_t frac = 0;
    if (j < n && s[j] == '.') {
        int fd = 0;
        for (j++; j < n && (unsigned)(s[j] - '0') <= 9; j++, fd++)
            if (fd < 6) frac = frac * 10 + (s[j] - '0');
        if (fd < 1 || fd > 9) return 1;
        for (; fd < 6; fd++)
            frac *= 10;
    }
    if (j < n && s[j] == 'Z') j++;
    if (j != n) return 1;
#define D2(p) ((s[p] - '0') * 10 + (s[(p) + 1] - '0'))
    int64_t y = D2(0) * 100 + D2(2);
    int mo = D2(5), d = D2(8), h = D2(11), mi = D2(14), sec = D2(17);
#undef D2
    if (mo < 1 || mo > 12 || d < 1 || (d > 28 && d > lk_time_days_in_month(y, (unsigned)mo)) ||
        h > 23 || mi > 59 || sec > 59)
        return -1;
    int64_t days = lk_time_days_from_civil(y, (unsigned)mo, (unsigned)d);
    *us = (days * 86400 + h * 3600 + mi * 60 + sec) * 1000000 + frac;
    return 0;
}

int lk_sql_parse_timestamp(const char *s, size_t n, int64_t *us)
{
    while (n && ((unsigned char)*s <= ' ' || *s == 0x7f)) { /* isWhitespaceOrISOControl */
        s++;
        n--;
    }
    while (n && ((unsigned char)s[n - 1] <= ' ' || s[n - 1] == 0x7f))
        n--;
    if (!n) return -1;
    int fast = canonical_timestamp(s, n, us);
    if (fast <= 0) return fast;
    int64_t seg[9] = {1, 1, 1, 0, 0, 0, 0, 0, 0}, v = 0;
    int i = 0, digits = 0, frac_digits = 0, just_time = 0, sign = 0;
    const char *tz = NULL;
    size_t tzn = 0, j = 0;
    if (s[0] == '-' || s[0] == '+') {
        sign = s[0] == '-' ? -1 : 1;
        j = 1;
    }
    for (; j < n && !tz; j++) {
        char b = s[j];
        if (b >= '0' && b <= '9') {
            if (i == 6) frac_digits++;
            if ((i != 6 || digits < 6) && digits < 9) v = v * 10 + (b - '0');
            digits++;
            continue;
        }
        if (j == 0 && b == 'T') {
            just_time = 1;
            i += 3;
            continue;
        }
        int next = i + 1;
        if (i < 2 && b == ':' && i == 0 && !sign) { /* a time alone: this was the hour */
            just_time = 1;
            i = 3;
            next = 4;
        } else if (i < 2 ? b != '-' : i == 2 ? b != ' ' && b != 'T' : i < 5 ? b != ':' : i > 6)
            return -1;
        else if (i >= 5 && !(b == '.' && i == 5)) { /* the zone is the rest */
            tz = s + j;
            tzn = n - j;
            next = 7;
        }
        if (!seg_digits_ok(i, digits)) return -1;
        seg[i] = v;
        v = 0;
        digits = 0;
        i = next;
    }
    if (!seg_digits_ok(i, digits)) return -1;
    seg[i] = v;
    for (; frac_digits < 6; frac_digits++)
        seg[6] *= 10;
    int32_t off = 0;
    const lk_tz *region = NULL;
    if (tz && zone_id(tz, tzn, &off, &region)) return -1;
    if (sign) seg[0] *= sign;
    if (seg[3] > 23 || seg[4] > 59 || seg[5] > 59) return -1;
    int64_t days;
    if (just_time) { /* LocalDate.now(zone) */
        int64_t now = lk_time_now_us() / 1000000;
        now += region ? lk_tz_offset_at(region, now) : off;
        days = now >= 0 ? now / 86400 : -((-now + 86399) / 86400);
    } else {
        if (seg[1] < 1 || seg[1] > 12 || seg[2] < 1 ||
            seg[2] > lk_time_days_in_month(seg[0], (unsigned)seg[1]))
            return -1;
        days = lk_time_days_from_civil(seg[0], (unsigned)seg[1], (unsigned)seg[2]);
    }
    int64_t local = days * 86400 + seg[3] * 3600 + seg[4] * 60 + seg[5];
    int64_t utc = region ? lk_tz_utc_of_local(region, local) : local - off;
    /* Instant to micros overflows past +-294,000 years: Spark's multiplyExact fails, null */
    if (__builtin_mul_overflow(utc, 1000000, us) || __builtin_add_overflow(*us, seg[6], us))
        return -1;
    return 0;
}

/* Spark's UTF8String.toLong: optional sign, digits, an ignored fraction of digits; no digit at
   all before or after the point is 0 ('.', '.5', '-.' are 0; '' and '-' are not numbers). */
static int parse_long(const char *s, size_t n, int64_t *out)
{
    trim(&s, &n);
    if (!n) return -1;
    size_t i = 0;
    int neg = 0;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i++;
    }
    if (i == n) return -1;
    uint64_t v = 0;
    for (; i < n && s[i] != '.'; i++) {
        if (!isdigit((unsigned char)s[i])) return -1;
        uint64_t nv = v * 10 + (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - 9) / 10 || nv > (uint64_t)INT64_MAX + (uint64_t)neg) return -1;
        v = nv;
    }
    if (i < n) { /* the fraction: digits, ignored */
        i++;
        for (; i < n; i++)
            if (!isdigit((unsigned char)s[i])) return -1;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static int parse_double(const char *s, size_t n, double *out)
{
    trim(&s, &n);
    char buf[128];
    if (!n || n >= sizeof buf) return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    const char *b = buf[0] == '+' || buf[0] == '-' ? buf + 1 : buf;
    /* Spark: Java's Double.parseDouble ([+-]NaN, [+-]Infinity), then, case-insensitive,
       processFloatingPointSpecialLiterals (nan, inf, +inf, -infinity, ...; no signed nan) */
    if (!strcmp(b, "NaN") || !strcasecmp(buf, "nan")) {
        *out = NAN;
        return 0;
    }
    if (!strcasecmp(b, "inf") || !strcasecmp(b, "infinity")) {
        *out = buf[0] == '-' ? -INFINITY : INFINITY;
        return 0;
    }
    /* Java's parseDouble: a decimal number may end with a type suffix, d, D, f or F */
    if (n > 1 && strchr("dDfF", buf[n - 1])) buf[--n] = 0;
    for (const char *c = b; *c; c++)
        if (!(isdigit((unsigned char)*c) || *c == '.' || *c == 'e' || *c == 'E' || *c == '+' ||
              *c == '-'))
            return -1;
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (end == buf || *end) return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, size_t n, int *out)
{
    trim(&s, &n);
    static const char *const t[] = {"t", "true", "y", "yes", "1"}, *const f[] = {"f", "false", "n",
                                                                                 "no", "0"};
    for (int i = 0; i < 5; i++) {
        if (strlen(t[i]) == n && !strncasecmp(s, t[i], n)) {
            *out = 1;
            return 0;
        }
        if (strlen(f[i]) == n && !strncasecmp(s, f[i], n)) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* ---- the kernel ---- */

typedef struct val {
    int kind; /* 'i' integer, 'd' double, 's' string, 'b' boolean, 'D' date, 'T' timestamp, 'x'
                 decimal */
    int64_t i;
    double d;
    const char *s;
    size_t n;
    int scale;
    lk_dec x; /* decimal: the unscaled value (its double only when a cast needs it) */
} val;

static void read(const lk_col *c, uint32_t i, val *v)
{
    memset(v, 0, sizeof *v);
    switch (c->field->type) {
    case LK_TYPE_BOOLEAN:
        v->kind = 'b';
        v->i = ((const uint8_t *)c->values)[i];
        break;
    case LK_TYPE_BYTE:
        v->kind = 'i';
        v->i = ((const int8_t *)c->values)[i];
        break;
    case LK_TYPE_SHORT:
        v->kind = 'i';
        v->i = ((const int16_t *)c->values)[i];
        break;
    case LK_TYPE_INTEGER:
        v->kind = 'i';
        v->i = ((const int32_t *)c->values)[i];
        break;
    case LK_TYPE_LONG:
        v->kind = 'i';
        v->i = ((const int64_t *)c->values)[i];
        break;
    case LK_TYPE_FLOAT:
        v->kind = 'f';
        v->d = ((const float *)c->values)[i];
        break;
    case LK_TYPE_DOUBLE:
        v->kind = 'd';
        v->d = ((const double *)c->values)[i];
        break;
    case LK_TYPE_DATE:
        v->kind = 'D';
        v->i = ((const int32_t *)c->values)[i];
        break;
    case LK_TYPE_TIMESTAMP:
    case LK_TYPE_TIMESTAMP_NTZ:
        v->kind = 'T';
        v->i = ((const int64_t *)c->values)[i];
        break;
    case LK_TYPE_DECIMAL:
        v->kind = 'x';
        v->scale = c->field->scale;
        v->x = lk_dec_read(c, i);
        break;
    default:
        v->kind = 's';
        v->s = lk_col_bytes(c, i, &v->n);
        break;
    }
}

static size_t int_text(int64_t x, char *out)
{
    char t[24];
    int n = 0;
    uint64_t u = x < 0 ? 0 - (uint64_t)x : (uint64_t)x;
    do {
        t[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t o = 0;
    if (x < 0) out[o++] = '-';
    while (n)
        out[o++] = t[--n];
    out[o] = 0;
    return o;
}

/* Writes v as a string into out; 0 or -1. */
static int to_string(lk_sql_kctx *k, const val *v, lk_col *out)
{
    char b[64];
    size_t n;
    switch (v->kind) {
    case 'b':
        lk_col_append_bytes(out, v->i ? "true" : "false", v->i ? 4 : 5);
        return 0;
    case 'i':
        n = int_text(v->i, b);
        break;
    case 'f':
        n = format_float((float)v->d, b);
        break;
    case 'd':
        n = lk_sql_format_double(v->d, b);
        break;
    case 'D':
        n = lk_sql_format_date((int32_t)v->i, b);
        break;
    case 'T':
        n = lk_sql_format_timestamp(v->i, b);
        break;
    case 'x': /* Java's BigDecimal.toString, as Spark: 1E-8 for 0.00000001 */
        n = lk_dec_format_java(v->x, v->scale, b);
        break;
    default:
        lk_col_append_bytes(out, v->s, v->n);
        return 0;
    }
    lk_col_append_bytes(out, b, n);
    return 0;
}

/* The value as a long (Java narrowing from double); 0 or -1 (does not convert). */
static int to_long(const val *v, int64_t *out)
{
    switch (v->kind) {
    case 'b':
    case 'i':
        *out = v->i;
        return 0;
    case 'f':
    case 'd':
        *out = lk_sql_d2l(v->d);
        return 0;
    case 'x': { /* truncated toward zero, as Spark's Decimal.toLong */
        lk_dec x = v->x;
        for (int s = 0; s < v->scale; s++)
            x /= 10;
        *out = (int64_t)x;
        return 0;
    }
    case 'T':
        *out = v->i >= 0 ? v->i / 1000000 : -((-(v->i + 1)) / 1000000) - 1;
        return 0;
    case 's':
        return parse_long(v->s, v->n, out);
    default:
        return -1;
    }
}

static int to_double(const val *v, double *out)
{
    switch (v->kind) {
    case 'b':
    case 'i':
        *out = (double)v->i;
        return 0;
    case 'f':
    case 'd':
        *out = v->d;
        return 0;
    case 'x':
        *out = lk_dec_to_double(v->x, v->scale);
        return 0;
    case 'T':
        *out = (double)v->i / 1e6;
        return 0;
    case 's':
        return parse_double(v->s, v->n, out);
    default:
        return -1;
    }
}

int lk_sql_dec_from_double(double d, int scale, lk_dec *out)
{
    if (!isfinite(d)) return -1;
    char b[64];
    size_t n = lk_sql_format_double(d, b);
    return lk_dec_parse(b, n, scale, out);
}

static void k_cast(lk_sql_kctx *k)
{
    const lk_col *a = k->a[0];
    lk_col *out = k->out;
    const lk_field *to = out->field;
    int fixed = to->type != LK_TYPE_STRING && to->type != LK_TYPE_BINARY;
    if (fixed) {
        lk_sql_out_fixed(out, k->n);
        lk_sql_out_and_validity(out, k->a, 1, k->n);
    }
    val v;
    for (uint32_t i = 0; i < k->n; i++) {
        if (lk_col_is_null(a, i)) {
            if (!fixed)
                lk_col_append_null(out);
            else
                memset((char *)out->values + (size_t)i * out->elem_size, 0, out->elem_size);
            continue;
        }
        read(a, i, &v);
        int bad = 0;
        int64_t l = 0;
        double d = 0;
        char *slot = fixed ? (char *)out->values + (size_t)i * out->elem_size : NULL;
        switch (to->type) {
        case LK_TYPE_STRING:
        case LK_TYPE_BINARY:
            to_string(k, &v, out);
            break;
        case LK_TYPE_BOOLEAN: {
            int b = 0;
            if (v.kind == 's')
                bad = parse_bool(v.s, v.n, &b);
            else if (v.kind == 'd' || v.kind == 'f')
                b = v.d != 0;
            else if (v.kind == 'x')
                b = v.x != 0;
            else
                b = v.i != 0;
            *(uint8_t *)slot = (uint8_t)b;
            break;
        }
        case LK_TYPE_BYTE:
        case LK_TYPE_SHORT:
        case LK_TYPE_INTEGER:
        case LK_TYPE_LONG:
            if (v.kind == 'd' || v.kind == 'f') {
                /* Java: (int) of a double saturates at int, then narrows */
                l = lk_sql_d2l(v.d);
                if (to->type != LK_TYPE_LONG)
                    l = l > INT32_MAX ? INT32_MAX : l < INT32_MIN ? INT32_MIN : l;
            } else {
                bad = to_long(&v, &l);
                if (!bad && v.kind == 's') {
                    /* a string out of the target's range is null, not wrapped */
                    int64_t lo = to->type == LK_TYPE_BYTE      ? -128
                                 : to->type == LK_TYPE_SHORT   ? -32768
                                 : to->type == LK_TYPE_INTEGER ? INT32_MIN
                                                               : INT64_MIN;
                    int64_t hi = to->type == LK_TYPE_BYTE      ? 127
                                 : to->type == LK_TYPE_SHORT   ? 32767
                                 : to->type == LK_TYPE_INTEGER ? INT32_MAX
                                                               : INT64_MAX;
                    bad = l < lo || l > hi;
                }
            }
            switch (to->type) {
            case LK_TYPE_BYTE:
                *(int8_t *)slot = (int8_t)l;
                break;
            case LK_TYPE_SHORT:
                *(int16_t *)slot = (int16_t)l;
                break;
            case LK_TYPE_INTEGER:
                *(int32_t *)slot = (int32_t)l;
                break;
            default:
                *(int64_t *)slot = l;
                break;
            }
            break;
        case LK_TYPE_FLOAT:
        case LK_TYPE_DOUBLE:
            bad = to_double(&v, &d);
            if (to->type == LK_TYPE_FLOAT)
                *(float *)slot = (float)d;
            else
                *(double *)slot = d;
            break;
        case LK_TYPE_DECIMAL: {
            /* exact, HALF_UP to the scale, null beyond the precision (Spark); a double through
               its shortest text, as Spark's Decimal(double) */
            lk_dec x = 0;
            int sc = to->scale;
            switch (v.kind) {
            case 'x':
                bad = lk_dec_rescale(v.x, v.scale, sc, &x);
                break;
            case 'i':
            case 'b':
                bad = lk_dec_rescale(v.i, 0, sc, &x);
                break;
            case 's':
                bad = lk_dec_parse(v.s, v.n, sc, &x);
                break;
            case 'd':
            case 'f':
                bad = lk_sql_dec_from_double(v.d, sc, &x);
                break;
            case 'T': /* seconds, to the microsecond */
                bad = lk_dec_rescale(v.i, 6, sc, &x);
                break;
            default:
                bad = 1;
                break;
            }
            if (!bad && !lk_dec_fits(x, to->precision)) bad = 1;
            lk_dec_write(out, i, bad ? 0 : x);
            break;
        }
        case LK_TYPE_DATE: {
            int32_t days = 0;
            if (v.kind == 's')
                bad = lk_sql_parse_date(v.s, v.n, &days);
            else if (v.kind == 'T')
                days = lk_sql_us_to_days(v.i);
            else if (v.kind == 'D')
                days = (int32_t)v.i;
            else
                bad = 1;
            *(int32_t *)slot = days;
            break;
        }
        case LK_TYPE_TIMESTAMP:
        case LK_TYPE_TIMESTAMP_NTZ: {
            int64_t us = 0;
            if (v.kind == 's')
                bad = lk_sql_parse_timestamp(v.s, v.n, &us);
            else if (v.kind == 'D') /* a date beyond +-292,000 years has no timestamp */
                bad = __builtin_mul_overflow(v.i, 86400000000LL, &us);
            else if (v.kind == 'T')
                us = v.i;
            else if (v.kind == 'i') {
                if (v.i > INT64_MAX / 1000000 || v.i < INT64_MIN / 1000000)
                    us = v.i < 0 ? INT64_MIN : INT64_MAX; /* Spark saturates */
                else
                    us = v.i * 1000000;
            } else if (v.kind == 'x') { /* seconds, exactly: the microseconds truncated */
                lk_dec x = v.x;
                if (v.scale <= 6)
                    bad = lk_dec_rescale(x, v.scale, 6, &x);
                else
                    for (int sc = 6; sc < v.scale; sc++)
                        x /= 10;
                if (!bad && (x > INT64_MAX || x < INT64_MIN)) bad = 1;
                us = bad ? 0 : (int64_t)x;
            } else if (v.kind == 'd' || v.kind == 'f') {
                if (!isfinite(v.d))
                    bad = 1;
                else
                    us = lk_sql_d2l(v.d * 1e6);
            } else
                bad = 1;
            *(int64_t *)slot = us;
            break;
        }
        default:
            bad = 1;
            break;
        }
        if (bad) {
            if (fixed) lk_sql_out_null(out, i);
            lk_sql_fail(k, i);
        }
    }
    if (fixed) lk_sql_out_done(out);
}

/* Same-kind fast path: INTEGER/LONG → STRING (cast {user_id: string}). */
static void k_cast_int_string(lk_sql_kctx *k)
{
    const lk_col *a = k->a[0];
    lk_col *out = k->out;
    int is64 = a->field->type == LK_TYPE_LONG;
    lk_col_reserve(out, k->n, (size_t)k->n * 8);
    char b[24];
    for (uint32_t i = 0; i < k->n; i++) {
        if (lk_col_is_null(a, i)) {
            lk_col_append_null(out);
            continue;
        }
        int64_t x = is64 ? ((const int64_t *)a->values)[i] : ((const int32_t *)a->values)[i];
        size_t n = int_text(x, b);
        lk_col_append_bytes(out, b, n);
    }
}

/* STRING → TIMESTAMP (the default silver's to_timestamp(ts)). */
static void k_cast_string_ts(lk_sql_kctx *k)
{
    const lk_col *a = k->a[0];
    lk_col *out = k->out;
    lk_sql_out_fixed(out, k->n);
    lk_sql_out_and_validity(out, k->a, 1, k->n);
    int64_t *o = out->values;
    for (uint32_t i = 0; i < k->n; i++) {
        if (lk_col_is_null(a, i)) {
            o[i] = 0;
            continue;
        }
        size_t n;
        const char *s = lk_col_bytes(a, i, &n);
        if (lk_sql_parse_timestamp(s, n, &o[i])) {
            o[i] = 0;
            lk_sql_out_null(out, i);
            lk_sql_fail(k, i);
        }
    }
    lk_sql_out_done(out);
}

int lk_sql_cast_kernel(const lk_sql_node *node, lk_sql_kernel *k, lk_error *err)
{
    (void)err;
    lk_type from = node->args[0]->ty, to = node->ty;
    if ((from == LK_TYPE_INTEGER || from == LK_TYPE_LONG) && to == LK_TYPE_STRING)
        *k = k_cast_int_string;
    else if (from == LK_TYPE_STRING && to == LK_TYPE_TIMESTAMP)
        *k = k_cast_string_ts;
    else
        *k = k_cast;
    return 0;
}
