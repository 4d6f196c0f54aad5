/* lk_metrics — histograms, windows and the Prometheus text format; see lk_metrics.h. */
#include "lk_metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_time.h"

void lk_hist_init_seconds(lk_hist *h)
{
    static const double le[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,    2.5,
                                5,     10,   30,    60,   120, 300,  600, 1800, 3600};
    memset(h, 0, sizeof *h);
    h->n = (int)(sizeof le / sizeof le[0]);
    memcpy(h->le, le, sizeof le);
}

void lk_hist_observe(lk_hist *h, double v)
{
    if (v != v) return;
    int i = 0;
    while (i < h->n && v > h->le[i])
        i++;
    if (i < h->n) h->count[i]++;
    h->total++;
    h->sum += v;
}

void lk_window_add(lk_window *w, double v)
{
    w->v[w->next] = v;
    w->next = (w->next + 1) % LK_WINDOW_N;
    if (w->n < LK_WINDOW_N) w->n++;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double lk_window_share_le(const lk_window *w, double x)
{
    if (!w->n) return -1;
    int k = 0;
    for (int i = 0; i < w->n; i++)
        k += w->v[i] <= x;
    return (double)k / w->n;
}

double lk_window_quantile(const lk_window *w, double q)
{
    if (!w->n) return -1;
    double tmp[LK_WINDOW_N];
    memcpy(tmp, w->v, (size_t)w->n * sizeof tmp[0]);
    qsort(tmp, (size_t)w->n, sizeof tmp[0], cmp_double);
    int k = (int)ceil(q * w->n) - 1;
    return tmp[k < 0 ? 0 : k >= w->n ? w->n - 1 : k];
}

void lk_prom_family(lk_buf *b, const char *name, const char *type, const char *help)
{
    lk_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void number(lk_buf *b, double v)
{
    if (v != v)
        lk_buf_puts(b, "NaN");
    else if (isinf(v))
        lk_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
    else if (v == (double)(int64_t)v && fabs(v) < 9e15)
        lk_buf_printf(b, "%lld", (long long)v);
    else {
        /* the shortest of %.15g and %.17g that reads back as v */
        char t[40];
        snprintf(t, sizeof t, "%.15g", v);
        if (strtod(t, NULL) != v) snprintf(t, sizeof t, "%.17g", v);
        lk_buf_puts(b, t);
    }
}

void lk_prom_sample(lk_buf *b, const char *name, const char *labels, double v)
{
    lk_buf_puts(b, name);
    if (labels && *labels) lk_buf_printf(b, "{%s}", labels);
    lk_buf_putc(b, ' ');
    number(b, v);
    lk_buf_putc(b, '\n');
}

void lk_prom_one(lk_buf *b, const char *name, const char *type, const char *help, double v)
{
    lk_prom_family(b, name, type, help);
    lk_prom_sample(b, name, "", v);
}

void lk_prom_label(lk_buf *labels, const char *key, const char *value)
{
    if (labels->len) lk_buf_putc(labels, ',');
    lk_buf_printf(labels, "%s=\"", key);
    for (const char *p = value; *p; p++) {
        if (*p == '\\' || *p == '"') lk_buf_putc(labels, '\\');
        if (*p == '\n')
            lk_buf_puts(labels, "\\n");
        else
            lk_buf_putc(labels, *p);
    }
    lk_buf_putc(labels, '"');
}

void lk_prom_hist(lk_buf *b, const char *name, const char *labels, const lk_hist *h)
{
    uint64_t cum = 0;
    const char *sep = labels && *labels ? "," : "";
    for (int i = 0; i < h->n; i++) {
        cum += h->count[i];
        lk_buf_printf(b, "%s_bucket{%s%sle=\"", name, labels ? labels : "", sep);
        number(b, h->le[i]);
        lk_buf_printf(b, "\"} %llu\n", (unsigned long long)cum);
    }
    lk_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels ? labels : "", sep,
                  (unsigned long long)h->total);
    lk_buf_printf(b, "%s_sum", name);
    if (labels && *labels) lk_buf_printf(b, "{%s}", labels);
    lk_buf_putc(b, ' ');
    number(b, h->sum);
    lk_buf_printf(b, "\n%s_count", name);
    if (labels && *labels) lk_buf_printf(b, "{%s}", labels);
    lk_buf_printf(b, " %llu\n", (unsigned long long)h->total);
}

void lk_json_num(lk_buf *b, const char *key, double v)
{
    lk_buf_printf(b, "\"%s\":", key);
    if (isfinite(v))
        lk_buf_number(b, v, 0);
    else
        lk_buf_puts(b, "null");
}

void lk_json_more_num(lk_buf *b, const char *key, double v)
{
    lk_buf_putc(b, ',');
    lk_json_num(b, key, v);
}

void lk_json_time(lk_buf *b, const char *key, int64_t us)
{
    char t[64];
    lk_time_format_iso_ms(us, t, sizeof t);
    lk_buf_printf(b, "\"%s\":\"%s\"", key, t);
}
