/* lk_dashboard — the dashboard page the monitor serves at `/` (see lk_dashboard.c). */
#ifndef LK_DASHBOARD_H
#define LK_DASHBOARD_H

#include <stddef.h>

/* The page (UTF-8 HTML) and its length. */
const char *lk_dashboard_html(size_t *len);

#endif
