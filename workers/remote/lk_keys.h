/*
 * lk_keys — the CURVE key pairs of remote workers (czmq's zcert files):
 * `lakesupd keygen` writes one, the pipeline host loads its server key and
 * the directory of the worker hosts' public keys it lets in, a worker host
 * loads its own key pair and the pipeline host's public key. A key file is
 * czmq's certificate format: FILE holds the public key, FILE_secret (mode
 * 0600) the pair.
 */
#ifndef LK_KEYS_H
#define LK_KEYS_H

#include <czmq.h>

#include "lk_config.h"
#include "lk_error.h"

#define LK_KEY_TXT 41 /* a Z85 key and its NUL */

/* Writes a new key pair: prefix (public) and prefix_secret (0600); pub
   gets the public key. Refuses to overwrite either file. 0 or -1 (err). */
int lk_keys_generate(const char *prefix, char pub[LK_KEY_TXT], lk_error *err);

/* Loads the key pair written at path (path or path_secret may be named):
   its secret must be there. *out owned (zcert_destroy). 0 or -1 (err). */
int lk_keys_load_pair(const char *path, zcert_t **out, lk_error *err);

/* Loads the public key written at path (a public or a secret file). */
int lk_keys_load_public(const char *path, char pub[LK_KEY_TXT], lk_error *err);

/* The pipeline host's server key: workers.remote.key if set, else
   <checkpoint_path>/remote/server.key, made on first use. path gets the
   public file a worker host pins (--server-key). 0 or -1 (err). */
int lk_keys_server(const lk_config *cfg, zcert_t **out, char *path, size_t cap, lk_error *err);

/* The directory of allowed public keys: it must exist; *n gets the key
   files it holds now (0 is allowed: keys may be added while it runs). */
int lk_keys_allowed(const char *dir, int *n, lk_error *err);

#endif
