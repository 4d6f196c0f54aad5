/* lk_dedupe_state — transform.dedupe's keys and first event times; see lk_dedupe_state.h. */
#include "lk_dedupe_state.h"

#include <stdlib.h>
#include <string.h>

typedef struct entry {
    uint64_t hi, lo;
    int64_t t; /* the event time of the key's kept row */
} entry;

struct lk_dedupe_state {
    int64_t within;
    entry *slot;
    uint8_t *used;
    uint64_t cap, n; /* cap: a power of two, n <= 0.7 cap */
    int64_t max_event;
};

#define MAGIC 0x4444454bu /* "KEDD" */

lk_dedupe_state *lk_dedupe_state_new(int64_t within_us)
{
    lk_dedupe_state *s = calloc(1, sizeof *s);
    if (!s) abort();
    s->within = within_us;
    s->max_event = INT64_MIN;
    return s;
}

void lk_dedupe_state_destroy(lk_dedupe_state **sp)
{
    if (!sp || !*sp) return;
    free((*sp)->slot);
    free((*sp)->used);
    free(*sp);
    *sp = NULL;
}

void lk_dedupe_state_reset(lk_dedupe_state *s)
{
    if (s->used) memset(s->used, 0, s->cap);
    s->n = 0;
    s->max_event = INT64_MIN;
}

static uint64_t slot_of(const lk_dedupe_state *s, uint64_t hi, uint64_t lo)
{
    uint64_t x = hi ^ (lo + 0x9e3779b97f4a7c15ull + (hi << 6) + (hi >> 2));
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 32;
    return x & (s->cap - 1);
}

/* The slot holding hi:lo, or the empty one where it goes. */
static uint64_t find(const lk_dedupe_state *s, uint64_t hi, uint64_t lo)
{
    uint64_t i = slot_of(s, hi, lo);
    while (s->used[i] && (s->slot[i].hi != hi || s->slot[i].lo != lo))
        i = (i + 1) & (s->cap - 1);
    return i;
}

static void rehash(lk_dedupe_state *s, uint64_t cap)
{
    entry *old = s->slot;
    uint8_t *oldu = s->used;
    uint64_t oldcap = s->cap;
    s->slot = malloc(sizeof *s->slot * cap);
    s->used = calloc(cap, 1);
    if (!s->slot || !s->used) abort();
    s->cap = cap;
    for (uint64_t i = 0; i < oldcap; i++) {
        if (!oldu[i]) continue;
        uint64_t j = find(s, old[i].hi, old[i].lo);
        s->slot[j] = old[i];
        s->used[j] = 1;
    }
    free(old);
    free(oldu);
}

static void put(lk_dedupe_state *s, uint64_t hi, uint64_t lo, int64_t t)
{
    if (!s->cap || (s->n + 1) * 10 > s->cap * 7) rehash(s, s->cap ? s->cap * 2 : 1024);
    uint64_t i = find(s, hi, lo);
    if (!s->used[i]) {
        s->used[i] = 1;
        s->n++;
    }
    s->slot[i] = (entry){hi, lo, t};
}

int lk_dedupe_state_offer(lk_dedupe_state *s, uint64_t hi, uint64_t lo, int64_t t_us)
{
    if (s->cap) {
        uint64_t i = find(s, hi, lo);
        if (s->used[i]) {
            int64_t d = t_us - s->slot[i].t;
            if (d < 0) d = -d;
            if (d < s->within) return 1;
        }
    }
    put(s, hi, lo, t_us);
    if (t_us > s->max_event) s->max_event = t_us;
    return 0;
}

/* Empties slot i and moves the entries after it in its cluster back into
   the hole where their probe sequence allows (linear probing's deletion
   without tombstones). */
static void remove_at(lk_dedupe_state *s, uint64_t i)
{
    uint64_t mask = s->cap - 1, j = i;
    for (;;) {
        s->used[i] = 0;
        uint64_t k;
        for (;;) {
            j = (j + 1) & mask;
            if (!s->used[j]) return;
            k = slot_of(s, s->slot[j].hi, s->slot[j].lo);
            /* j's entry stays when its home k lies cyclically in (i, j] */
            if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) continue;
            break;
        }
        s->slot[i] = s->slot[j];
        s->used[i] = 1;
        i = j;
    }
}

int64_t lk_dedupe_state_expire(lk_dedupe_state *s, int64_t watermark_us)
{
    if (!s->n || watermark_us == INT64_MIN) return 0;
    /* in place: a deletion may pull a later entry into slot i, so slot i is
       looked at again before moving on; entries only move towards the hole,
       so none escapes the scan */
    int64_t gone = 0;
    for (uint64_t i = 0; i < s->cap;) {
        if (s->used[i] && s->slot[i].t + s->within < watermark_us) {
            remove_at(s, i);
            s->n--;
            gone++;
        } else {
            i++;
        }
    }
    if (s->cap > 1024 && s->n * 8 < s->cap) { /* far too large: shrink */
        uint64_t cap = 1024;
        while ((s->n + 1) * 10 > cap * 5)
            cap *= 2;
        rehash(s, cap);
    }
    return gone;
}

int64_t lk_dedupe_state_count(const lk_dedupe_state *s)
{
    return (int64_t)s->n;
}

int64_t lk_dedupe_state_max_event(const lk_dedupe_state *s)
{
    return s->max_event;
}

static int by_key(const void *x, const void *y)
{
    const entry *a = x, *b = y;
    if (a->hi != b->hi) return a->hi < b->hi ? -1 : 1;
    if (a->lo != b->lo) return a->lo < b->lo ? -1 : 1;
    return 0;
}

void lk_dedupe_state_save(const lk_dedupe_state *s, lk_buf *out)
{
    uint32_t head[2] = {MAGIC, 1};
    uint64_t n = s->n;
    lk_buf_append(out, head, sizeof head);
    lk_buf_append(out, &s->max_event, sizeof s->max_event);
    lk_buf_append(out, &n, sizeof n);
    entry *e = malloc(sizeof *e * (n ? n : 1));
    if (!e) abort();
    uint64_t k = 0;
    for (uint64_t i = 0; i < s->cap; i++)
        if (s->used[i]) e[k++] = s->slot[i];
    qsort(e, n, sizeof *e, by_key);
    lk_buf_append(out, e, sizeof *e * n);
    free(e);
}

int lk_dedupe_state_load(lk_dedupe_state *s, const void *data, size_t len, lk_error *err)
{
    lk_dedupe_state_reset(s);
    const unsigned char *p = data;
    uint32_t head[2];
    uint64_t n;
    int64_t mx;
    size_t hl = sizeof head + sizeof mx + sizeof n;
    if (len < hl) return lk_error_set(err, LK_EFORMAT, "dedupe state: %zu bytes, not a state", len);
    memcpy(head, p, sizeof head);
    memcpy(&mx, p + sizeof head, sizeof mx);
    memcpy(&n, p + sizeof head + sizeof mx, sizeof n);
    if (head[0] != MAGIC || head[1] != 1 || n > (len - hl) / sizeof(entry) ||
        len != hl + n * sizeof(entry))
        return lk_error_set(err, LK_EFORMAT, "dedupe state: bad header or length (%zu bytes)", len);
    for (uint64_t i = 0; i < n; i++) {
        entry e;
        memcpy(&e, p + hl + i * sizeof e, sizeof e);
        put(s, e.hi, e.lo, e.t);
    }
    s->max_event = mx;
    return 0;
}

/* ---- the 128-bit hash: two 64-bit multiply-rotate lanes over 8-byte
   words (a tail zero-padded, the length mixed in), then murmur3's fmix64
   finalizer across both; not cryptographic (dedupe keys are the
   pipeline's own data, not an adversary's) ---- */

static uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t fmix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return k;
}

void lk_dedupe_hash_init(lk_dedupe_hash *h)
{
    h->a = 0x243f6a8885a308d3ull;
    h->b = 0x13198a2e03707344ull;
    h->n = 0;
}

static void word(lk_dedupe_hash *h, uint64_t w)
{
    h->a = rotl(h->a ^ (w * 0x87c37b91114253d5ull), 31) * 0x4cf5ad432745937full + h->b;
    h->b = rotl(h->b ^ (w * 0x4cf5ad432745937full), 33) * 0x87c37b91114253d5ull + h->a;
}

void lk_dedupe_hash_add(lk_dedupe_hash *h, const void *p, size_t n)
{
    const unsigned char *c = p;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, c + i, 8);
        word(h, w);
    }
    uint64_t w = 0;
    memcpy(&w, c + i, n - i);
    word(h, w ^ ((uint64_t)(n - i) << 59));
    word(h, (uint64_t)n); /* the part's length: "ab"+"c" is not "a"+"bc" */
    h->n += n;
}

void lk_dedupe_hash_final(const lk_dedupe_hash *h, uint64_t *hi, uint64_t *lo)
{
    uint64_t a = h->a ^ h->n, b = h->b;
    a += b;
    b += a;
    a = fmix(a);
    b = fmix(b);
    a += b;
    b += a;
    *hi = a;
    *lo = b;
}
