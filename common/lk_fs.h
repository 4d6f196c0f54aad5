/*
 * lk_fs — durable file operations: everything lakesupd writes that must
 * survive a crash goes through here (Delta log entries, checkpoints,
 * _last_checkpoint, Parquet files).
 *
 * Every write path consults lk_fault so that tests can make a named I/O
 * point fail (ENOSPC, EIO, short write) the way SQLite's tests do.
 */
#ifndef LK_FS_H
#define LK_FS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "lk_buf.h"
#include "lk_error.h"

/* A file's modification time in microseconds, as state.db records a source file's. */
static inline int64_t lk_fs_mtime_us(const struct stat *sb)
{
    return (int64_t)sb->st_mtim.tv_sec * 1000000 + sb->st_mtim.tv_nsec / 1000;
}

/* mkdir -p with mode 0755. */
int lk_fs_mkdirs(const char *path, lk_error *err);

/* write(2) until done; retries EINTR. Returns 0 or -errno. */
int lk_fs_write_all(int fd, const void *p, size_t n);

/* fsync of the directory holding path (or of path itself if it is a directory). */
int lk_fs_fsync_dir(const char *dir, lk_error *err);

/*
 * Creates path with content only if it does not exist yet, atomically:
 * writes a temp file beside it, fsyncs, link()s it to path, unlinks the temp,
 * fsyncs the directory. Readers never see a partial file. Returns 0,
 * -EEXIST if path already exists (a concurrent writer won), or another error.
 */
int lk_fs_put_if_absent(const char *path, const void *data, size_t n, lk_error *err);

/* Replaces path atomically (temp + fsync + rename + fsync dir). */
int lk_fs_replace(const char *path, const void *data, size_t n, lk_error *err);

/* Reads a whole file into out (appended), failing with LK_ELIMIT past max bytes. */
int lk_fs_read_file(const char *path, lk_buf *out, size_t max, lk_error *err);

/* True if path exists. */
int lk_fs_exists(const char *path);

/* Writes a unique temp-name for path into out: "<dir>/.<base>.<pid>.<rand>.tmp". */
void lk_fs_temp_name(const char *path, char *out, size_t cap);

/* A random (version 4) UUID as text, for unique data file names. */
void lk_fs_uuid4(char *out, size_t cap);

#endif
