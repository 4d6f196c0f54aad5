/* lk_sql_hash — digest kernels over Nettle; see lk_sql_hash.h. */
#include "lk_sql_hash.h"

#include <nettle/md5.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <stdlib.h>

typedef struct hash_kind {
    int bits; /* 0 md5, 1 sha1, else the sha2 size; -1 = always null */
} hash_kind;

static void hex(const uint8_t *d, size_t n, char *out)
{
    static const char h[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = h[d[i] >> 4];
        out[2 * i + 1] = h[d[i] & 15];
    }
}

static void k_hash(lk_sql_kctx *k)
{
    const hash_kind *h = k->aux;
    uint8_t dig[64];
    char txt[128];
    for (uint32_t i = 0; i < k->n; i++) {
        if (lk_col_is_null(k->a[0], i) || h->bits < 0) {
            lk_col_append_null(k->out);
            continue;
        }
        size_t n;
        const uint8_t *s = (const uint8_t *)lk_col_bytes(k->a[0], i, &n);
        size_t dn;
        switch (h->bits) {
        case 0: {
            struct md5_ctx c;
            md5_init(&c);
            md5_update(&c, n, s);
            md5_digest(&c, MD5_DIGEST_SIZE, dig);
            dn = MD5_DIGEST_SIZE;
            break;
        }
        case 1: {
            struct sha1_ctx c;
            sha1_init(&c);
            sha1_update(&c, n, s);
            sha1_digest(&c, SHA1_DIGEST_SIZE, dig);
            dn = SHA1_DIGEST_SIZE;
            break;
        }
        case 224: {
            struct sha224_ctx c;
            sha224_init(&c);
            sha224_update(&c, n, s);
            sha224_digest(&c, SHA224_DIGEST_SIZE, dig);
            dn = SHA224_DIGEST_SIZE;
            break;
        }
        case 384: {
            struct sha384_ctx c;
            sha384_init(&c);
            sha384_update(&c, n, s);
            sha384_digest(&c, SHA384_DIGEST_SIZE, dig);
            dn = SHA384_DIGEST_SIZE;
            break;
        }
        case 512: {
            struct sha512_ctx c;
            sha512_init(&c);
            sha512_update(&c, n, s);
            sha512_digest(&c, SHA512_DIGEST_SIZE, dig);
            dn = SHA512_DIGEST_SIZE;
            break;
        }
        default: {
            struct sha256_ctx c;
            sha256_init(&c);
            sha256_update(&c, n, s);
            sha256_digest(&c, SHA256_DIGEST_SIZE, dig);
            dn = SHA256_DIGEST_SIZE;
            break;
        }
        }
        hex(dig, dn, txt);
        lk_col_append_bytes(k->out, txt, dn * 2);
    }
}

int lk_sql_hash_kernel(const lk_sql_node *node, const char *text, lk_sql_kernel *kp, void **aux,
                       void (**aux_free)(void *), lk_error *err)
{
    (void)text;
    (void)err;
    hash_kind *h = calloc(1, sizeof *h);
    if (!h) abort();
    if (node->fn == LK_FN_MD5)
        h->bits = 0;
    else if (node->fn == LK_FN_SHA1)
        h->bits = 1;
    else {
        const lk_sql_node *b = node->args[1];
        b = lk_sql_node_value(b);
        int64_t v = b->i;
        h->bits = v == 0 ? 256 : (v == 224 || v == 256 || v == 384 || v == 512) ? (int)v : -1;
    }
    *aux = h;
    *aux_free = free;
    *kp = k_hash;
    return 0;
}
