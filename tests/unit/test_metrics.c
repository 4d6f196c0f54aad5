/* Unit tests for workers/monitor/lk_metrics: histogram buckets (cumulative,
   +Inf, sum, count), quantiles of the recent window, and the exposition
   format's escaping and numbers. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "lk_check.h"
#include "lk_metrics.h"

START_TEST(histogram_is_cumulative)
{
    lk_hist h;
    lk_hist_init_seconds(&h);
    lk_hist_observe(&h, 0.001);
    lk_hist_observe(&h, 0.005); /* le is inclusive */
    lk_hist_observe(&h, 0.3);
    lk_hist_observe(&h, 7200); /* above every bound: only +Inf */
    lk_hist_observe(&h, NAN);  /* ignored */
    lk_buf b = LK_BUF_INIT;
    lk_prom_hist(&b, "x_seconds", "phase=\"read\"", &h);
    ck_assert_ptr_nonnull(strstr(b.data, "x_seconds_bucket{phase=\"read\",le=\"0.005\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "x_seconds_bucket{phase=\"read\",le=\"0.25\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "x_seconds_bucket{phase=\"read\",le=\"0.5\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "x_seconds_bucket{phase=\"read\",le=\"3600\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "x_seconds_bucket{phase=\"read\",le=\"+Inf\"} 4\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "x_seconds_sum{phase=\"read\"} 7200.306\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "x_seconds_count{phase=\"read\"} 4\n"));
    lk_buf_reset(&b);
    lk_prom_hist(&b, "y", "", &h);
    ck_assert_ptr_nonnull(strstr(b.data, "y_bucket{le=\"+Inf\"} 4\ny_sum 7200.306\ny_count 4\n"));
    lk_buf_free(&b);
}
END_TEST

START_TEST(labels_and_numbers)
{
    lk_buf lab = LK_BUF_INIT, b = LK_BUF_INIT;
    lk_prom_label(&lab, "table", "raw_events");
    lk_prom_label(&lab, "path", "a\"b\\c\nd");
    ck_assert_str_eq(lab.data, "table=\"raw_events\",path=\"a\\\"b\\\\c\\nd\"");
    lk_prom_family(&b, "m_total", "counter", "Things.");
    lk_prom_sample(&b, "m_total", lab.data, 12345678901.0);
    lk_prom_sample(&b, "g", "", 0.1);
    lk_prom_sample(&b, "g", "", INFINITY);
    lk_prom_sample(&b, "g", "", NAN);
    lk_prom_sample(&b, "g", "", 1796545741.88501);
    ck_assert_str_eq(b.data, "# HELP m_total Things.\n# TYPE m_total counter\n"
                             "m_total{table=\"raw_events\",path=\"a\\\"b\\\\c\\nd\"} 12345678901\n"
                             "g 0.1\ng +Inf\ng NaN\ng 1796545741.88501\n");
    lk_buf_free(&lab);
    lk_buf_free(&b);
}
END_TEST

START_TEST(window_quantiles)
{
    lk_window *w = calloc(1, sizeof *w);
    ck_assert(lk_window_quantile(w, 0.5) == -1);
    for (int i = 1; i <= 100; i++)
        lk_window_add(w, i);
    ck_assert(lk_window_quantile(w, 0.5) == 50);
    ck_assert(lk_window_quantile(w, 0.99) == 99);
    ck_assert(lk_window_quantile(w, 1) == 100);
    /* only the last LK_WINDOW_N count */
    for (int i = 0; i < LK_WINDOW_N; i++)
        lk_window_add(w, 1000);
    ck_assert(lk_window_quantile(w, 0.01) == 1000);
    free(w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, histogram_is_cumulative);
    tcase_add_test(tc, labels_and_numbers);
    tcase_add_test(tc, window_quantiles);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
