/* lk_rundir — run directory, endpoints and the checkpoint lock; see lk_rundir.h. */
#include "lk_rundir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lk_endpoint.h"
#include "lk_fs.h"

#define MAX_IPC_PATH 100

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static int abs_checkpoint(const lk_config *cfg, int create, char *out, size_t cap, lk_error *err)
{
    if (create) {
        int rc = lk_fs_mkdirs(cfg->checkpoint_path, err);
        if (rc)
            return rc;
    }
    char real[PATH_MAX];
    if (!realpath(cfg->checkpoint_path, real))
        return lk_error_errno(err, -errno, "checkpoint_path '%s'", cfg->checkpoint_path);
    snprintf(out, cap, "%s", real);
    return 0;
}

int lk_rundir_path(const lk_config *cfg, int create, char *out, size_t cap, lk_error *err)
{
    char cp[PATH_MAX];
    int rc = abs_checkpoint(cfg, create, cp, sizeof cp, err);
    if (rc)
        return rc;
    if (strlen(cp) + strlen("/run/" LK_EP_LONGEST ".ipc") < MAX_IPC_PATH)
        snprintf(out, cap, "%s/run", cp);
    else
        snprintf(out, cap, "/tmp/lakesupd-%d-%016llx", (int)getuid(),
                 (unsigned long long)fnv1a(cp));
    return 0;
}

int lk_rundir_prepare(const char *run_dir, lk_error *err)
{
    int rc = lk_fs_mkdirs(run_dir, err);
    if (rc)
        return rc;
    DIR *d = opendir(run_dir);
    if (!d)
        return lk_error_errno(err, -errno, "cannot open run directory '%s'", run_dir);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n > 4 && !strcmp(e->d_name + n - 4, ".ipc")) {
            char p[PATH_MAX];
            snprintf(p, sizeof p, "%s/%s", run_dir, e->d_name);
            unlink(p); /* stale socket of a killed instance: we hold the lock */
        }
    }
    closedir(d);
    return 0;
}

static void lock_path(const lk_config *cfg, char *out, size_t cap)
{
    snprintf(out, cap, "%s/lakesupd.lock", cfg->checkpoint_path);
}

int lk_rundir_lock(const lk_config *cfg, pid_t *holder, lk_error *err)
{
    char path[PATH_MAX];
    int rc = lk_fs_mkdirs(cfg->checkpoint_path, err);
    if (rc)
        return rc;
    lock_path(cfg, path, sizeof path);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return lk_error_errno(err, -errno, "cannot open lock file '%s'", path);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char buf[32] = "";
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        close(fd);
        if (e != EWOULDBLOCK)
            return lk_error_errno(err, -e, "cannot lock '%s'", path);
        *holder = n > 0 ? (pid_t)atoi(buf) : 0;
        return lk_error_set(err, LK_ECONFLICT,
                            "another lakesupd (pid %d) is running on checkpoint_path '%s'",
                            (int)*holder, cfg->checkpoint_path);
    }
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%d\n", (int)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
        rc = -errno;
        close(fd);
        return lk_error_errno(err, rc, "cannot write lock file '%s'", path);
    }
    return fd;
}

pid_t lk_rundir_lock_holder(const lk_config *cfg)
{
    char path[PATH_MAX];
    lock_path(cfg, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    pid_t pid = 0;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
        char buf[32] = "";
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        if (n > 0)
            pid = (pid_t)atoi(buf);
    }
    close(fd);
    return pid;
}
