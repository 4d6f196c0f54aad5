/* lk_check.h — what every Check suite's main() shares.

   Temporary files: every directory and file a suite makes (lk_check_mkdtemp,
   lk_check_mkstemp) is below one directory of its own,
   ${TMPDIR:-/tmp}/lk_<program>_XXXXXX, made by lk_check_run before the first
   test. lk_check_run removes it when every test passed; when one failed it
   keeps it for inspection and says where on stderr. Unix sockets
   (lk_check_sock_mkdtemp, lk_check_sock_path) go there too unless their paths
   would not fit a sockaddr_un (108 bytes) under a long TMPDIR: then below a
   second directory, /tmp/lk_sock_XXXXXX, removed or kept the same way (the
   daemon's run directory falls back to /tmp for the same reason). */
#ifndef LK_CHECK_H
#define LK_CHECK_H

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_config.h"
#include "lk_ddl.h"

/* The suite's directory ("" before lk_check_root made it). */
static inline char *lk_check_root_buf(void)
{
    static char root[1024];
    return root;
}

/* The directory for unix sockets: the suite's own, or /tmp/lk_sock_XXXXXX. */
static inline char *lk_check_sockdir_buf(void)
{
    static char dir[1024];
    return dir;
}

/* Room a test needs below the socket directory: "/name_XXXXXX/supervisor.ipc" */
#define LK_CHECK_SOCK_ROOM 48

/* The suite's directory, made on first use: lk_check_run makes it before any
   test runs, so that the forked test processes share it. */
static inline const char *lk_check_root(void)
{
    char *root = lk_check_root_buf();
    if (!root[0]) {
        const char *tmp = getenv("TMPDIR");
        if (!tmp || !*tmp) tmp = "/tmp";
        int n = snprintf(root, 1024, "%s/lk_%s_XXXXXX", tmp, program_invocation_short_name);
        if (n <= 0 || n >= 1024 - 200 || !mkdtemp(root)) {
            fprintf(stderr, "lk_check: cannot make a directory in %s (TMPDIR): %s\n", tmp,
                    n > 0 && n < 1024 - 200 ? strerror(errno) : "path too long");
            exit(EXIT_FAILURE);
        }
        char *sock = lk_check_sockdir_buf();
        if (strlen(root) + LK_CHECK_SOCK_ROOM < 108) {
            snprintf(sock, 1024, "%s", root);
        } else {
            snprintf(sock, 1024, "/tmp/lk_sock_XXXXXX");
            if (!mkdtemp(sock)) {
                fprintf(stderr, "lk_check: cannot make a directory in /tmp: %s\n", strerror(errno));
                exit(EXIT_FAILURE);
            }
        }
    }
    return root;
}

/* A fresh directory for unix sockets (a worker's run directory) into dir. */
static inline void lk_check_sock_mkdtemp(char *dir, size_t cap, const char *name)
{
    lk_check_root();
    const char *sock = lk_check_sockdir_buf();
    int n = snprintf(dir, cap, "%s/%s_XXXXXX", sock, name);
    ck_assert_msg(n > 0 && (size_t)n < cap && strlen(sock) + LK_CHECK_SOCK_ROOM < 108,
                  "lk_check_sock_mkdtemp: %s: too long", name);
    ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s: %s", dir, strerror(errno));
}

/* The path of a unix socket name in the socket directory into path. */
static inline void lk_check_sock_path(char *path, size_t cap, const char *name)
{
    lk_check_root();
    int n = snprintf(path, cap, "%s/%s", lk_check_sockdir_buf(), name);
    ck_assert_msg(n > 0 && (size_t)n < cap && n < 108, "lk_check_sock_path: %s: too long", name);
}

/* A fresh directory root/name_XXXXXX (name: a short tag such as "vac") into dir. */
static inline void lk_check_mkdtemp(char *dir, size_t cap, const char *name)
{
    int n = snprintf(dir, cap, "%s/%s_XXXXXX", lk_check_root(), name);
    ck_assert_msg(n > 0 && (size_t)n < cap, "lk_check_mkdtemp: %s: buffer of %zu too small", name,
                  cap);
    ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s: %s", dir, strerror(errno));
}

/* A fresh empty file root/name_XXXXXX into path; its descriptor (open for writing). */
static inline int lk_check_mkstemp(char *path, size_t cap, const char *name)
{
    int n = snprintf(path, cap, "%s/%s_XXXXXX", lk_check_root(), name);
    ck_assert_msg(n > 0 && (size_t)n < cap, "lk_check_mkstemp: %s: buffer of %zu too small", name,
                  cap);
    int fd = mkstemp(path);
    ck_assert_msg(fd >= 0, "mkstemp %s: %s", path, strerror(errno));
    return fd;
}

/* A fresh file root/name_XXXXXX into path holding text (a configuration, an input). */
static inline void lk_check_write_file(char *path, size_t cap, const char *name, const char *text)
{
    int fd = lk_check_mkstemp(path, cap, name);
    ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
}

static inline int lk_check_rm_one(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    (void)type;
    if (remove(p) != 0 && errno != ENOENT) {
        fprintf(stderr, "lk_check: cannot remove %s: %s\n", p, strerror(errno));
        return -1;
    }
    return 0;
}

/* Removes dir and everything below it (no error when it is gone); 0 or -1. */
static inline int lk_check_remove_tree(const char *dir)
{
    if (access(dir, F_OK) != 0) return 0;
    return nftw(dir, lk_check_rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

/* Removes dir and everything below it (in a test: fails the test when it cannot). */
static inline void lk_check_rm_rf(const char *dir)
{
    ck_assert_msg(lk_check_remove_tree(dir) == 0, "cannot remove %s", dir);
}

/* Fails the test, naming the command and its Debian package, when cmd (run by the
   test through system() or popen()) is not an executable on PATH: not the shell's
   or tar's cryptic error later. */
static inline void lk_check_need_command(const char *cmd, const char *debian_package)
{
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, ":");
        char full[4200];
        snprintf(full, sizeof full, "%.*s/%s", (int)n, n ? p : ".", cmd);
        if (access(full, X_OK) == 0) return;
        p += n + (p[n] == ':');
    }
    ck_abort_msg("this test runs the command '%s', which is not on PATH (%s): install the Debian "
                 "package %s (deploy/install-deps.sh --test does)",
                 cmd, path, debian_package);
}

/* Extracts the .tar.zst archive into dir with tar --zstd (tar runs zstd). */
static inline void lk_check_untar_zstd(const char *archive, const char *dir)
{
    lk_check_need_command("tar", "tar");
    lk_check_need_command("zstd", "zstd");
    char cmd[8800];
    int n = snprintf(cmd, sizeof cmd, "tar --zstd -xf '%s' -C '%s'", archive, dir);
    ck_assert(n > 0 && (size_t)n < sizeof cmd);
    ck_assert_msg(system(cmd) == 0, "%s: failed", cmd);
}

/* The number of entries of dir (not . and ..) whose name contains `contains` and
   ends with `ends_with` (NULL: any); -1 when dir cannot be listed. */
static inline int lk_check_count_names(const char *dir, const char *contains, const char *ends_with)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *nm = de->d_name;
        size_t len = strlen(nm), el = ends_with ? strlen(ends_with) : 0;
        if (!strcmp(nm, ".") || !strcmp(nm, "..")) continue;
        if (contains && !strstr(nm, contains)) continue;
        if (ends_with && (len < el || strcmp(nm + len - el, ends_with))) continue;
        n++;
    }
    closedir(d);
    return n;
}

static inline int lk_check_cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts the lines of text (each ended by '\n') in place, byte order: a listing
   whose order is the file system's (readdir) compared as a set. */
static inline void lk_check_sort_lines(char *text)
{
    size_t len = strlen(text), n = 0;
    for (size_t i = 0; i < len; i++)
        n += text[i] == '\n';
    if (n < 2) return;
    char *copy = malloc(len + 1);
    char **v = malloc(n * sizeof *v);
    ck_assert(copy && v);
    memcpy(copy, text, len + 1);
    size_t k = 0;
    for (char *p = copy, *nl; k < n && (nl = strchr(p, '\n')); p = nl + 1) {
        *nl = 0;
        v[k++] = p;
    }
    qsort(v, k, sizeof *v, lk_check_cmp_line);
    char *out = text;
    for (size_t i = 0; i < k; i++) {
        size_t m = strlen(v[i]);
        memcpy(out, v[i], m);
        out[m] = '\n';
        out += m + 1;
    }
    /* text after the last '\n' (none in a listing) stays where it was */
    free(v);
    free(copy);
}

/* Runs every test of s (CK_NORMAL output) with the fork mode fork (CK_FORK_GETENV:
   Check's default, CK_FORK=no turns it off); the process exit status. */
static inline int lk_check_run_mode(Suite *s, enum fork_status fork)
{
    const char *root = lk_check_root(), *sock = lk_check_sockdir_buf();
    int own_sock = strcmp(sock, root) != 0;
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, fork);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed)
        fprintf(stderr, "lk_check: %d test(s) failed; their files are kept for inspection in %s%s%s\n",
                failed, root, own_sock ? " and " : "", own_sock ? sock : "");
    else if (lk_check_remove_tree(root) != 0 || (own_sock && lk_check_remove_tree(sock) != 0))
        return EXIT_FAILURE;
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Runs every test of s (CK_NORMAL output); the process exit status. */
static inline int lk_check_run(Suite *s)
{
    return lk_check_run_mode(s, CK_FORK_GETENV);
}

/* A configuration loaded from text: written to a file of the suite's
   directory, loaded (lk_config_load's return code in *rc), removed. The path
   lives in a static buffer, as the configuration may name it in errors.
   The caller frees the result. */
static inline lk_config *lk_check_load_config(const char *text, lk_error *err, int *rc)
{
    static char path[256];
    lk_config *cfg = malloc(sizeof *cfg);
    ck_assert_ptr_nonnull(cfg);
    lk_check_write_file(path, sizeof path, "cfg", text);
    *rc = lk_config_load(path, cfg, err);
    unlink(path);
    return cfg;
}

/* A schema from its DDL ("a INT, b STRING"), which must parse. */
static inline lk_schema *lk_check_schema_of(const char *ddl)
{
    lk_schema *s = NULL;
    lk_error err;
    ck_assert_int_eq(lk_ddl_parse(ddl, &s, &err), 0);
    return s;
}

#endif
