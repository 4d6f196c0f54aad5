/* lk_sql_hash — digest kernels over Nettle; see lk_sql_hash.h. */
#include "lk_sql_hash.h"

#include <nettle/md5.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* Two hex digits per byte from a table of the 256 pairs (a nibble at a time was a tenth of a
   sha2 column's cost). */
static const char hex_pairs[513] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

static void hex(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        memcpy(out + 2 * i, hex_pairs + 2 * d[i], 2);
}

/* The digest of s[0..n) as lower-case hex into txt; its length. */
static size_t digest_hex(int bits, const uint8_t *s, size_t n, char *txt)
{
    uint8_t dig[64];
    size_t dn;
    switch (bits) {
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
    return dn * 2;
}

typedef struct hash_kind {
    int bits; /* 0 md5, 1 sha1, else the sha2 size; -1 = always null */
} hash_kind;

/* Repeated inputs are digested once per batch: the same e-mail on every event of a user, the
   same text on many events. A table of the rows seen (open addressing on XXH3 of the input, row
   + 1 per slot) finds an earlier row of the batch with the same input, whose digest is copied.
   It holds at most MEMO_SLOTS / 2 inputs, and it is given up for the rest of the batch when the
   first MEMO_TRY inputs found fewer than MEMO_MIN_HITS repeats: nearly unique inputs pay a hash
   and a probe for those rows only. A memo kept across batches (inputs and digests copied to an
   arena) was tried and was slower on our benchmark: 31,000 distinct 70-byte texts make a
   working set of 4 MiB whose cache misses cost what the digests did (docs/decisions.md,
   "Digests of repeated inputs"). */
enum { MEMO_SLOTS = 1 << 16, MEMO_TRY = 2048, MEMO_MIN_HITS = 128 };
static _Thread_local uint32_t *memo_slots; /* MEMO_SLOTS, kept for the thread's life */

static void k_hash(lk_sql_kctx *k)
{
    const hash_kind *h = k->aux;
    char txt[128];
    static const int hexlen[] = {32, 40};
    int hl = h->bits < 0 ? 0 : h->bits < 2 ? hexlen[h->bits] : h->bits / 4;
    lk_col_reserve(k->out, k->n, (size_t)k->n * (size_t)hl);
    const lk_col *in = k->a[0];
    size_t nslots = 256;
    while (nslots < MEMO_SLOTS && nslots < 2 * (size_t)k->n)
        nslots *= 2;
    size_t mask = nslots - 1, used = 0;
    uint32_t tried = 0, hits = 0;
    int memo = h->bits >= 0 && k->n >= 64;
    if (memo && !memo_slots && !(memo_slots = malloc(MEMO_SLOTS * sizeof *memo_slots)))
        abort();
    if (memo)
        memset(memo_slots, 0, nslots * sizeof *memo_slots);
    for (uint32_t i = 0; i < k->n; i++) {
        if (lk_col_is_null(in, i) || h->bits < 0) {
            lk_col_append_null(k->out);
            continue;
        }
        size_t n;
        const uint8_t *s = (const uint8_t *)lk_col_bytes(in, i, &n);
        if (!memo) {
            lk_col_append_bytes(k->out, txt, digest_hex(h->bits, s, n, txt));
            continue;
        }
        size_t at = (size_t)XXH3_64bits(s, n) & mask;
        uint32_t sl;
        while ((sl = memo_slots[at]) != 0) {
            size_t jn;
            const char *js = lk_col_bytes(in, sl - 1, &jn);
            if (jn == n && !memcmp(js, s, n))
                break;
            at = (at + 1) & mask;
        }
        tried++;
        if (sl) {
            size_t dn;
            const char *d = lk_col_bytes(k->out, sl - 1, &dn);
            memcpy(txt, d, dn); /* out's data may move as it grows */
            lk_col_append_bytes(k->out, txt, dn);
            hits++;
        } else {
            lk_col_append_bytes(k->out, txt, digest_hex(h->bits, s, n, txt));
            if (used < nslots / 2) {
                memo_slots[at] = i + 1;
                used++;
            }
        }
        if (tried == MEMO_TRY && hits < MEMO_MIN_HITS)
            memo = 0;
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
