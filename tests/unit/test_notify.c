/* sd_notify through libsystemd to a datagram socket of the test's own, as
   systemd would listen: READY with STATUS, status only when it changes,
   STOPPING, watchdog keep-alives at half the interval; no socket, no-op. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_notify.h"

static int g_fd = -1;
static char g_path[108];

static void listen_socket(void)
{
    lk_check_sock_path(g_path, sizeof g_path, "notify.sock");
    unlink(g_path);
    g_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(g_fd, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", g_path);
    ck_assert_int_eq(bind(g_fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
    setsockopt(g_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setenv("NOTIFY_SOCKET", g_path, 1);
}

static void close_socket(void)
{
    close(g_fd);
    unlink(g_path);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
}

/* The next datagram, or "" when none arrives within 200 ms. */
static const char *next_msg(void)
{
    static char buf[512];
    ssize_t n = recv(g_fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

START_TEST(ready_status_stopping_reach_the_service_manager)
{
    listen_socket();
    lk_notify *n = lk_notify_new();
    ck_assert(lk_notify_enabled(n));
    lk_notify_ready(n, "running: 7 workers");
    ck_assert_str_eq(next_msg(), "READY=1\nSTATUS=running: 7 workers");
    lk_notify_status(n, "running: 7 workers"); /* unchanged: nothing sent */
    lk_notify_status(n, "paused: writer[0]: disk full");
    ck_assert_str_eq(next_msg(), "STATUS=paused: writer[0]: disk full");
    lk_notify_stopping(n, "draining");
    ck_assert_str_eq(next_msg(), "STOPPING=1\nSTATUS=draining");
    ck_assert_str_eq(next_msg(), "");
    lk_notify_destroy(&n);
    close_socket();
}
END_TEST

START_TEST(watchdog_keepalives_at_half_the_interval)
{
    listen_socket();
    char pid[16];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    setenv("WATCHDOG_USEC", "2000000", 1); /* 2 s */
    setenv("WATCHDOG_PID", pid, 1);
    lk_notify *n = lk_notify_new();
    lk_notify_watchdog(n, 10000);
    ck_assert_str_eq(next_msg(), "WATCHDOG=1");
    lk_notify_watchdog(n, 10900); /* < 1 s later: not yet */
    ck_assert_str_eq(next_msg(), "");
    lk_notify_watchdog(n, 11000);
    ck_assert_str_eq(next_msg(), "WATCHDOG=1");
    lk_notify_destroy(&n);
    close_socket();
}
END_TEST

START_TEST(without_a_socket_nothing_happens)
{
    unsetenv("NOTIFY_SOCKET");
    lk_notify *n = lk_notify_new();
    ck_assert(!lk_notify_enabled(n));
    lk_notify_ready(n, "x");
    lk_notify_watchdog(n, 1000000);
    lk_notify_destroy(&n);
    ck_assert_ptr_null(n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("notify");
    TCase *tc = tcase_create("sd_notify");
    tcase_add_test(tc, ready_status_stopping_reach_the_service_manager);
    tcase_add_test(tc, watchdog_keepalives_at_half_the_interval);
    tcase_add_test(tc, without_a_socket_nothing_happens);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
