/* lk_keys — CURVE key files (czmq zcert); see lk_keys.h. */
#include "lk_keys.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lk_fs.h"
#include "lk_log.h"

static const char *base_of(const char *path, char *buf, size_t cap)
{
    size_t n = strlen(path);
    if (n > 7 && !strcmp(path + n - 7, "_secret") && n - 7 < cap) {
        memcpy(buf, path, n - 7);
        buf[n - 7] = '\0';
        return buf;
    }
    snprintf(buf, cap, "%s", path);
    return buf;
}

static int zero_key(const byte *k)
{
    for (int i = 0; i < 32; i++)
        if (k[i]) return 0;
    return 1;
}

int lk_keys_generate(const char *prefix, char pub[LK_KEY_TXT], lk_error *err)
{
    char secret[1100];
    if (!prefix || !prefix[0] || strlen(prefix) > 1000)
        return lk_error_set(err, -EINVAL, "a key file name is required (at most 1000 bytes)");
    snprintf(secret, sizeof secret, "%s_secret", prefix);
    if (lk_fs_exists(prefix) || lk_fs_exists(secret))
        return lk_error_set(err, -EEXIST, "%s: a key is already there (not overwritten)",
                            lk_fs_exists(prefix) ? prefix : secret);
    zcert_t *c = zcert_new();
    if (!c) return lk_error_set(err, -ENOTSUP, "cannot make a key pair (no CURVE in libzmq?)");
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    zcert_set_meta(c, "host", "%s", host);
    zcert_set_meta(c, "made-by", "lakesupd keygen");
    /* the secret file is private from its first byte: no window with 0644 */
    mode_t old = umask(077);
    int rc = zcert_save_secret(c, secret);
    umask(old);
    if (rc == 0) rc = zcert_save_public(c, prefix);
    if (rc != 0) {
        int e = errno ? errno : EIO;
        unlink(secret);
        zcert_destroy(&c);
        return lk_error_set(err, -e, "%s: cannot write the key pair: %s", prefix, strerror(e));
    }
    chmod(prefix, 0644);
    snprintf(pub, LK_KEY_TXT, "%s", zcert_public_txt(c));
    zcert_destroy(&c);
    return 0;
}

int lk_keys_load_pair(const char *path, zcert_t **out, lk_error *err)
{
    char base[1100], secret[1110];
    base_of(path, base, sizeof base);
    snprintf(secret, sizeof secret, "%s_secret", base);
    *out = NULL;
    if (!lk_fs_exists(secret))
        return lk_error_set(err, -ENOENT,
                            "%s: no secret key (expected %s, written by `lakesupd keygen --out %s`)",
                            path, secret, base);
    struct stat sb;
    if (stat(secret, &sb) == 0 && (sb.st_mode & 077))
        LK_WARN("%s: the secret key is readable by others (mode %03o; chmod 600 it)", secret,
                (unsigned)(sb.st_mode & 0777));
    zcert_t *c = zcert_load(base);
    if (!c || zero_key(zcert_public_key(c)) || zero_key(zcert_secret_key(c))) {
        zcert_destroy(&c);
        return lk_error_set(err, LK_EFORMAT, "%s: not a key pair written by `lakesupd keygen`",
                            secret);
    }
    *out = c;
    return 0;
}

int lk_keys_load_public(const char *path, char pub[LK_KEY_TXT], lk_error *err)
{
    char base[1100];
    base_of(path, base, sizeof base);
    if (!lk_fs_exists(base) && !lk_fs_exists(path))
        return lk_error_set(err, -ENOENT, "%s: no such key file", path);
    zcert_t *c = zcert_load(lk_fs_exists(base) ? base : path);
    if (!c || zero_key(zcert_public_key(c))) {
        zcert_destroy(&c);
        return lk_error_set(err, LK_EFORMAT, "%s: not a public key written by `lakesupd keygen`",
                            path);
    }
    snprintf(pub, LK_KEY_TXT, "%s", zcert_public_txt(c));
    zcert_destroy(&c);
    return 0;
}

int lk_keys_server(const lk_config *cfg, zcert_t **out, char *path, size_t cap, lk_error *err)
{
    *out = NULL;
    if (cfg->workers.remote.key[0]) {
        base_of(cfg->workers.remote.key, path, cap);
        if (lk_keys_load_pair(path, out, err)) {
            lk_error_prefix(err, "key 'workers.remote.key'");
            return -1;
        }
        return 0;
    }
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/remote", cfg->checkpoint_path);
    if (lk_fs_mkdirs(dir, err)) return -1;
    snprintf(path, cap, "%s/server.key", dir);
    if (!lk_fs_exists(path)) {
        char pub[LK_KEY_TXT];
        if (lk_keys_generate(path, pub, err)) return -1;
        LK_INFO("made the server key of remote workers: %s (public key %s; give this file to "
                "worker hosts as --server-key)",
                path, pub);
    }
    return lk_keys_load_pair(path, out, err);
}

int lk_keys_allowed(const char *dir, int *n, lk_error *err)
{
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return lk_error_set(err, -errno, "key 'workers.remote.allowed_keys': %s: %s", dir,
                            strerror(errno));
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && !strstr(e->d_name, "_secret")) (*n)++;
    closedir(d);
    return 0;
}
