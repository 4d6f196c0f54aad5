/*
 * lk_clean_source — deletes or moves committed source files (see the header).
 *
 * Failures (permission denied, a full destination disk, a file busy) are
 * retried with a growing delay per poll, never in a tight loop. Moves across
 * filesystems copy, fsync, rename into place, then remove the source.
 */
#include "lk_clean_source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lk_fs.h"
#include "lk_log.h"
#include "lk_time.h"

#define LK_CLEAN_BATCH 256
#define LK_CLEAN_POLL_MS 1000
#define LK_CLEAN_RETRY_MAX_MS 60000

enum { CLEAN_OFF, CLEAN_DELETE, CLEAN_MOVE };

struct lk_clean_source {
    const lk_config *cfg;
    lk_state *st;
    int mode;
    int64_t next_ms;
    int64_t retry_ms; /* delay after a failure, doubled up to a minute */
    lk_error err;
};

int lk_clean_source_new(const lk_config *cfg, lk_state *st, lk_clean_source **out, lk_error *err)
{
    lk_clean_source *c = calloc(1, sizeof *c);
    if (!c) return lk_error_errno(err, -ENOMEM, "clean_source");
    c->cfg = cfg;
    c->st = st;
    c->mode = !strcmp(cfg->source.clean_source, "delete") ? CLEAN_DELETE
              : !strcmp(cfg->source.clean_source, "move") ? CLEAN_MOVE
                                                          : CLEAN_OFF;
    if (c->mode != CLEAN_OFF)
        LK_INFO("clean_source=%s retention_ms=%lld%s%s", cfg->source.clean_source,
                (long long)cfg->source.clean_source_retention_duration_ms,
                c->mode == CLEAN_MOVE ? " destination=" : "",
                c->mode == CLEAN_MOVE ? cfg->source.clean_source_move_destination : "");
    *out = c;
    return 0;
}

void lk_clean_source_destroy(lk_clean_source **cp)
{
    free(*cp);
    *cp = NULL;
}

void lk_clean_source_nudge(lk_clean_source *c)
{
    if (c && c->retry_ms == 0) c->next_ms = 0;
}

/* mkdir -p of the directories above path. */
static int make_parents(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        int r = mkdir(path, 0755);
        int e = errno;
        *p = '/';
        if (r != 0 && e != EEXIST) return -e;
    }
    return 0;
}

/* A move across filesystems: copy to dst.tmp, fsync, rename over dst, then
   remove src. A crash before the unlink leaves src in place and its clean
   not recorded: the next attempt copies again (same content). */
static int copy_move(const char *src, const char *dst)
{
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.lakesupd-tmp", dst);
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) return -errno;
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        int e = errno;
        close(in);
        return -e;
    }
    char buf[65536];
    int r = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            r = -errno;
            break;
        }
        if (n == 0) break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) {
                r = -errno;
                break;
            }
            off += w;
        }
        if (r) break;
    }
    if (r == 0 && fsync(out) != 0) r = -errno;
    close(in);
    if (close(out) != 0 && r == 0) r = -errno;
    if (r == 0 && rename(tmp, dst) != 0) r = -errno;
    if (r == 0 && unlink(src) != 0) r = -errno;
    if (r) unlink(tmp);
    return r;
}

/* The path under the destination: the file's path relative to source_path. */
static int move_target(const lk_clean_source *c, const char *path, char *out, size_t cap)
{
    const char *src = c->cfg->source_path;
    size_t n = strlen(src);
    while (n > 1 && src[n - 1] == '/')
        n--;
    const char *rel = path;
    if (!strncmp(path, src, n) && path[n] == '/')
        rel = path + n + 1;
    else if ((rel = strrchr(path, '/')))
        rel++;
    else
        rel = path;
    if (snprintf(out, cap, "%s/%s", c->cfg->source.clean_source_move_destination, rel) >= (int)cap)
        return -ENAMETOOLONG;
    return 0;
}

/* Cleans one file; 1 done (or nothing to do any more), <0 failed (retry). */
static int clean_one(lk_clean_source *c, const lk_state_file *f)
{
    int committed = 0;
    if (lk_state_file_committed_check(c->st, f->id, &committed, &c->err) < 0) {
        LK_WARN("clean_source: cannot check file=%s: %s (retried)", f->path, c->err.msg);
        return -EIO;
    }
    if (!committed) return 0; /* should not happen: the query said so; look again later */
    struct stat sb;
    char note[1200];
    if (lstat(f->path, &sb) != 0) {
        snprintf(note, sizeof note, "already gone");
        LK_INFO("clean_source: file=%s is already gone", f->path);
    } else if (!S_ISREG(sb.st_mode) || sb.st_size != f->size ||
               lk_fs_mtime_us(&sb) != f->mtime_us) {
        snprintf(note, sizeof note, "left alone: changed since it was ingested");
        LK_WARN("clean_source: file=%s changed since it was ingested: left alone", f->path);
    } else if (c->mode == CLEAN_DELETE) {
        if (unlink(f->path) != 0) {
            int e = errno;
            LK_WARN("clean_source: cannot delete file=%s: %s (retried)", f->path, strerror(e));
            return -e;
        }
        snprintf(note, sizeof note, "deleted");
        LK_INFO("clean_source: deleted file=%s batch=%lld", f->path, (long long)f->batch_id);
    } else {
        char dst[1100];
        int r = move_target(c, f->path, dst, sizeof dst);
        if (r == 0) r = make_parents(dst);
        if (r == 0 && rename(f->path, dst) != 0)
            r = errno == EXDEV ? copy_move(f->path, dst) : -errno;
        if (r < 0) {
            LK_WARN("clean_source: cannot move file=%s to %s: %s (retried)", f->path, dst,
                    strerror(-r));
            return r;
        }
        snprintf(note, sizeof note, "moved to %s", dst);
        LK_INFO("clean_source: moved file=%s to=%s batch=%lld", f->path, dst,
                (long long)f->batch_id);
    }
    if (lk_state_file_cleaned(c->st, f->id, note, &c->err) < 0) {
        LK_WARN("clean_source: cannot record file=%s: %s (retried)", f->path, c->err.msg);
        return -EIO;
    }
    return 1;
}

int lk_clean_source_poll(lk_clean_source *c, int64_t now_ms)
{
    if (!c || c->mode == CLEAN_OFF || now_ms < c->next_ms) return 0;
    c->next_ms = now_ms + LK_CLEAN_POLL_MS;
    int64_t before = lk_time_now_us() - c->cfg->source.clean_source_retention_duration_ms * 1000;
    lk_state_file *files = NULL;
    int n = 0;
    if (lk_state_files_to_clean(c->st, before, LK_CLEAN_BATCH, &files, &n, &c->err) < 0) {
        LK_WARN("clean_source: cannot list committed files: %s (retried)", c->err.msg);
        return 0;
    }
    int cleaned = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        int r = clean_one(c, &files[i]);
        if (r > 0)
            cleaned++;
        else if (r < 0)
            failed++;
    }
    free(files);
    if (failed) {
        c->retry_ms = c->retry_ms ? c->retry_ms * 2 : LK_CLEAN_POLL_MS;
        if (c->retry_ms > LK_CLEAN_RETRY_MAX_MS) c->retry_ms = LK_CLEAN_RETRY_MAX_MS;
        c->next_ms = now_ms + c->retry_ms;
    } else {
        c->retry_ms = 0;
        if (n == LK_CLEAN_BATCH) c->next_ms = 0; /* more are due */
    }
    return cleaned;
}
