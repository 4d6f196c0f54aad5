/* lk_sql_hash — digest kernels over Nettle; see lk_sql_hash.h. */
#include "lk_sql_hash.h"

#include <nettle/md5.h>
#include <nettle/nettle-meta.h>
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

/* Room for any of the digests' contexts (SHA-224 uses SHA-256's, SHA-384 SHA-512's). */
typedef union hash_ctx {
    struct md5_ctx md5;
    struct sha1_ctx sha1;
    struct sha256_ctx sha256;
    struct sha512_ctx sha512;
} hash_ctx;

/* The digest of s[0..n) by h as lower-case hex into txt; its length. */
static size_t digest_hex(const struct nettle_hash *h, const uint8_t *s, size_t n, char *txt)
{
    hash_ctx c;
    uint8_t dig[64];
    h->init(&c);
    h->update(&c, n, s);
    h->digest(&c, h->digest_size, dig);
    hex(dig, h->digest_size, txt);
    return 2 * (size_t)h->digest_size;
}

typedef struct hash_kind {
    const struct nettle_hash *h; /* NULL: always null (sha2 of another bit length) */
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
    const struct nettle_hash *h = ((const hash_kind *)k->aux)->h;
    char txt[128];
    size_t hl = h ? 2 * (size_t)h->digest_size : 0;
    lk_col_reserve(k->out, k->n, (size_t)k->n * hl);
    const lk_col *in = k->a[0];
    size_t nslots = 256;
    while (nslots < MEMO_SLOTS && nslots < 2 * (size_t)k->n)
        nslots *= 2;
    size_t mask = nslots - 1, used = 0;
    uint32_t tried = 0, hits = 0;
    int memo = h && k->n >= 64;
    if (memo && !memo_slots && !(memo_slots = malloc(MEMO_SLOTS * sizeof *memo_slots)))
        abort();
    if (memo)
        memset(memo_slots, 0, nslots * sizeof *memo_slots);
    for (uint32_t i = 0; i < k->n; i++) {
        if (lk_col_is_null(in, i) || !h) {
            lk_col_append_null(k->out);
            continue;
        }
        size_t n;
        const uint8_t *s = (const uint8_t *)lk_col_bytes(in, i, &n);
        if (!memo) {
            lk_col_append_bytes(k->out, txt, digest_hex(h, s, n, txt));
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
            lk_col_append_bytes(k->out, txt, digest_hex(h, s, n, txt));
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
        h->h = &nettle_md5;
    else if (node->fn == LK_FN_SHA1)
        h->h = &nettle_sha1;
    else {
        int64_t v = lk_sql_node_value(node->args[1])->i;
        h->h = v == 0 || v == 256 ? &nettle_sha256
               : v == 224         ? &nettle_sha224
               : v == 384         ? &nettle_sha384
               : v == 512         ? &nettle_sha512
                                  : NULL;
    }
    *aux = h;
    *aux_free = free;
    *kp = k_hash;
    return 0;
}
