/* lk_fs — durable file operations; see lk_fs.h. */
#include "lk_fs.h"

#include <stdint.h>

#include <time.h>

#include <sys/random.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lk_fault.h"
#include "lk_time.h"

int lk_fs_mkdirs(const char *path, lk_error *err)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp)
        return lk_error_set(err, -ENAMETOOLONG, "bad directory path '%s'", path);
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return lk_error_errno(err, -errno, "cannot create directory '%s'", tmp);
            tmp[i] = c;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return lk_error_set(err, -ENOTDIR, "'%s' exists and is not a directory", path);
    return 0;
}

int lk_fs_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    int f = lk_fault_check("fs.write");
    if (f == LK_FAULT_SHORT_WRITE && n > 1) {
        ssize_t w = write(fd, c, n / 2);
        (void)w;
        return -ENOSPC;
    }
    if (f < 0)
        return f;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int lk_fs_fsync_dir(const char *path, lk_error *err)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    struct stat st;
    const char *dir = tmp;
    if (stat(tmp, &st) != 0 || !S_ISDIR(st.st_mode))
        dir = dirname(tmp);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return lk_error_errno(err, -errno, "cannot open directory '%s'", dir);
    int rc = fsync(fd) != 0 ? -errno : 0;
    close(fd);
    if (rc)
        return lk_error_errno(err, rc, "fsync of directory '%s'", dir);
    return 0;
}

void lk_fs_temp_name(const char *path, char *out, size_t cap)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    char *slash = strrchr(tmp, '/');
    const char *base = slash ? slash + 1 : tmp;
    if (slash)
        *slash = '\0';
    static unsigned seq;
    snprintf(out, cap, "%s/.%s.%d.%llx.%u.tmp", slash ? tmp : ".", base, (int)getpid(),
             (unsigned long long)lk_time_now_us(), seq++);
}

/* Writes data into a fresh temp file beside path and fsyncs it. */
static int write_temp(const char *path, const void *data, size_t n, char *tmp, size_t cap,
                      lk_error *err)
{
    lk_fs_temp_name(path, tmp, cap);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return lk_error_errno(err, -errno, "cannot create '%s'", tmp);
    int rc = lk_fs_write_all(fd, data, n);
    if (rc == 0) {
        rc = lk_fault_check("fs.fsync");
        if (rc == 0 && fsync(fd) != 0)
            rc = -errno;
    }
    close(fd);
    if (rc) {
        unlink(tmp);
        return lk_error_errno(err, rc, "cannot write '%s'", tmp);
    }
    return 0;
}

int lk_fs_put_if_absent(const char *path, const void *data, size_t n, lk_error *err)
{
    char tmp[4200];
    int rc = write_temp(path, data, n, tmp, sizeof tmp, err);
    if (rc)
        return rc;
    rc = lk_fault_check("fs.link");
    if (rc == 0 && link(tmp, path) != 0)
        rc = -errno;
    unlink(tmp);
    if (rc == -EEXIST)
        return lk_error_set(err, -EEXIST, "'%s' already exists", path);
    if (rc)
        return lk_error_errno(err, rc, "cannot link '%s'", path);
    return lk_fs_fsync_dir(path, err);
}

int lk_fs_replace(const char *path, const void *data, size_t n, lk_error *err)
{
    char tmp[4200];
    int rc = write_temp(path, data, n, tmp, sizeof tmp, err);
    if (rc)
        return rc;
    if (rename(tmp, path) != 0) {
        rc = -errno;
        unlink(tmp);
        return lk_error_errno(err, rc, "cannot rename '%s' to '%s'", tmp, path);
    }
    return lk_fs_fsync_dir(path, err);
}

int lk_fs_read_file(const char *path, lk_buf *out, size_t max, lk_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lk_error_errno(err, -errno, "cannot open '%s'", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = -errno;
        close(fd);
        return lk_error_errno(err, rc, "cannot stat '%s'", path);
    }
    if ((size_t)st.st_size > max) {
        close(fd);
        return lk_error_set(err, LK_ELIMIT, "'%s' is %lld bytes, more than the %zu allowed", path,
                            (long long)st.st_size, max);
    }
    lk_buf_grow(out, (size_t)st.st_size);
    size_t got = 0;
    for (;;) {
        lk_buf_grow(out, 4096);
        ssize_t r = read(fd, out->data + out->len, out->cap - out->len - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int rc = -errno;
            close(fd);
            return lk_error_errno(err, rc, "cannot read '%s'", path);
        }
        if (r == 0)
            break;
        out->len += (size_t)r;
        got += (size_t)r;
        if (got > max) {
            close(fd);
            return lk_error_set(err, LK_ELIMIT, "'%s' grew past the %zu bytes allowed", path, max);
        }
    }
    out->data[out->len] = '\0';
    close(fd);
    return 0;
}

int lk_fs_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

void lk_fs_uuid4(char *out, size_t cap)
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40);
        for (int i = 0; i < 16; i++, x = x * 6364136223846793005ULL + 1442695040888963407ULL)
            b[i] = (unsigned char)(x >> 56);
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, cap,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}
