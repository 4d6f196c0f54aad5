/* Unit tests for pipeline/lk_rundir: the checkpoint lock and endpoints. */
#include <check.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_config.h"
#include "lk_endpoint.h"
#include "lk_rundir.h"

static void tmp_config(lk_config *cfg, char *dir)
{
    lk_check_mkdtemp(dir, 256, "rundir");
    lk_config_defaults(cfg);
    snprintf(cfg->checkpoint_path, sizeof cfg->checkpoint_path, "%s/cp", dir);
}

START_TEST(lock_is_exclusive_and_names_the_holder)
{
    lk_config cfg;
    char dir[256];
    tmp_config(&cfg, dir);
    int pipefd[2];
    ck_assert_int_eq(pipe(pipefd), 0);
    pid_t child = fork();
    if (child == 0) {
        pid_t h;
        int fd = lk_rundir_lock(&cfg, &h, NULL);
        char c = fd >= 0 ? 'y' : 'n';
        ssize_t w = write(pipefd[1], &c, 1);
        (void)w;
        pause();
        _exit(0);
    }
    char c = 0;
    ck_assert_int_eq(read(pipefd[0], &c, 1), 1);
    ck_assert_int_eq(c, 'y');
    pid_t holder = 0;
    lk_error err;
    ck_assert_int_eq(lk_rundir_lock(&cfg, &holder, &err), LK_ECONFLICT);
    ck_assert_int_eq(holder, child);
    ck_assert_ptr_nonnull(strstr(err.msg, "another lakesupd"));
    ck_assert_int_eq(lk_rundir_lock_holder(&cfg), child);
    /* a kill -9 of the holder frees the lock: nothing stale is left */
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    ck_assert_int_eq(lk_rundir_lock_holder(&cfg), 0);
    int fd = lk_rundir_lock(&cfg, &holder, &err);
    ck_assert_int_ge(fd, 0);
    close(fd);
    lk_check_rm_rf(dir);
}
END_TEST

START_TEST(long_paths_fall_back_to_tmp)
{
    lk_config cfg;
    char dir[256], run[1024], ep[1200];
    tmp_config(&cfg, dir);
    lk_error err;
    ck_assert_int_eq(lk_rundir_path(&cfg, 1, run, sizeof run, &err), 0);
    /* below the checkpoint directory while its endpoints fit a socket path
       (they do under the default TMPDIR, /tmp) */
    char real[PATH_MAX];
    ck_assert_ptr_nonnull(realpath(dir, real));
    if (strlen(real) + strlen("/cp/run/records-99.ipc") < 100)
        ck_assert_msg(strstr(run, "/cp/run") != NULL, "%s", run);
    else
        ck_assert_msg(!strncmp(run, "/tmp/lakesupd-", 14), "%s", run);
    lk_endpoint(run, LK_EP_CHUNKS, -1, ep, sizeof ep);
    char want[1200];
    snprintf(want, sizeof want, "ipc://%s/chunks.ipc", run);
    ck_assert_str_eq(ep, want);
    lk_endpoint(run, LK_EP_RECORDS, 3, ep, sizeof ep);
    snprintf(want, sizeof want, "ipc://%s/records-3.ipc", run);
    ck_assert_str_eq(ep, want);
    char longp[1024];
    int n = snprintf(longp, sizeof longp, "%s/", dir);
    for (int i = 0; i < 10; i++)
        n += snprintf(longp + n, sizeof longp - (size_t)n, "a-rather-long-directory-name/");
    snprintf(cfg.checkpoint_path, sizeof cfg.checkpoint_path, "%s", longp);
    ck_assert_int_eq(lk_rundir_path(&cfg, 1, run, sizeof run, &err), 0);
    ck_assert(!strncmp(run, "/tmp/lakesupd-", 14));
    char again[1024];
    ck_assert_int_eq(lk_rundir_path(&cfg, 0, again, sizeof again, &err), 0);
    ck_assert_str_eq(run, again); /* the CLI finds the same directory */
    /* the longest endpoint fits a Unix socket address (108 bytes with its NUL) */
    lk_endpoint(run, LK_EP_RECORDS, 99, ep, sizeof ep);
    ck_assert_uint_lt(strlen(ep) - strlen("ipc://"), 108);
    lk_check_rm_rf(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rundir");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, lock_is_exclusive_and_names_the_holder);
    tcase_add_test(tc, long_paths_fall_back_to_tmp);
    suite_add_tcase(s, tc);
    return lk_check_run_mode(s, CK_NOFORK);
}
