/* Unit tests for transform.dedupe (issue 12, dropDuplicatesWithinWatermark):
   pipeline/lk_dedupe_state (a row within `within` of its key's first row is
   a duplicate, outside it is kept and becomes the key's entry; entries
   expire when the watermark passes first + within, so the state stays
   bounded; save/load round trip), the key hash of several columns with
   nulls, pipeline/lk_dedupe (the key list of a chunk, the drop of listed
   rows), state.db's dedupe rows, and configuration errors with file, line
   and key. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_config.h"
#include "lk_ddl.h"
#include "lk_dedupe.h"
#include "lk_dedupe_commit.h"
#include "lk_dedupe_state.h"
#include "lk_msg.h"
#include "lk_state.h"

#define S_US 1000000LL
#define MIN_US (60 * S_US)


static const char *const CFG = "transform:\n  event_time: ts\n  watermark: \"30 seconds\"\n"
                               "  dedupe: {keys: [event_id, user], within: \"10 minutes\"}\n";

START_TEST(within_and_outside)
{
    lk_dedupe_state *s = lk_dedupe_state_new(10 * MIN_US);
    int64_t t0 = 1000 * MIN_US;
    ck_assert_int_eq(lk_dedupe_state_offer(s, 1, 2, t0), 0);                   /* first: kept */
    ck_assert_int_eq(lk_dedupe_state_offer(s, 1, 2, t0), 1);                   /* same time */
    ck_assert_int_eq(lk_dedupe_state_offer(s, 1, 2, t0 + 10 * MIN_US - 1), 1); /* just within */
    ck_assert_int_eq(lk_dedupe_state_offer(s, 1, 2, t0 - 10 * MIN_US + 1), 1); /* earlier, within */
    ck_assert_int_eq(lk_dedupe_state_offer(s, 2, 2, t0), 0); /* another key (hi differs) */
    ck_assert_int_eq(lk_dedupe_state_offer(s, 1, 3, t0), 0); /* another key (lo differs) */
    ck_assert_int_eq(lk_dedupe_state_count(s), 3);
    /* exactly `within` later: outside, kept, and now the key's entry */
    ck_assert_int_eq(lk_dedupe_state_offer(s, 1, 2, t0 + 10 * MIN_US), 0);
    ck_assert_int_eq(lk_dedupe_state_offer(s, 1, 2, t0 + 15 * MIN_US), 1); /* within the new one */
    ck_assert_int_eq(lk_dedupe_state_offer(s, 1, 2, t0), 0); /* 10 min before it: outside */
    ck_assert_int_eq(lk_dedupe_state_count(s), 3);
    /* the largest event time follows the kept rows only */
    ck_assert(lk_dedupe_state_max_event(s) == t0 + 10 * MIN_US);
    lk_dedupe_state_destroy(&s);
    ck_assert_ptr_null(s);
}
END_TEST

START_TEST(expiry_keeps_the_state_bounded)
{
    lk_dedupe_state *s = lk_dedupe_state_new(10 * MIN_US);
    /* entries expire once first + within is older than the watermark */
    ck_assert_int_eq(lk_dedupe_state_offer(s, 7, 7, 100 * MIN_US), 0);
    ck_assert_int_eq(lk_dedupe_state_expire(s, 110 * MIN_US), 0); /* first + within == wm: kept */
    ck_assert_int_eq(lk_dedupe_state_offer(s, 7, 7, 105 * MIN_US), 1);
    ck_assert_int_eq(lk_dedupe_state_expire(s, 110 * MIN_US + 1), 1);
    ck_assert_int_eq(lk_dedupe_state_count(s), 0);
    /* then the key is new again */
    ck_assert_int_eq(lk_dedupe_state_offer(s, 7, 7, 105 * MIN_US), 0);
    ck_assert_int_eq(lk_dedupe_state_expire(s, INT64_MIN), 0); /* no watermark yet: nothing */
    lk_dedupe_state_reset(s);
    /* a stream of 200,000 distinct keys, 100 a second, in batches of 1,000
       rows each followed by the expiry at max - 30 s: the state never holds
       more than the keys of within + watermark (10.5 min = 63,000 keys) */
    int64_t most = 0;
    for (int64_t i = 0; i < 200000; i++) {
        int64_t t = i * (S_US / 100);
        ck_assert_int_eq(
            lk_dedupe_state_offer(s, (uint64_t)i * 0x9e3779b97f4a7c15ull, (uint64_t)i, t), 0);
        if (i % 1000 == 999) {
            lk_dedupe_state_expire(s, lk_dedupe_state_max_event(s) - 30 * S_US);
            if (lk_dedupe_state_count(s) > most) most = lk_dedupe_state_count(s);
        }
    }
    ck_assert_msg(most <= 63000 + 1000 && most >= 60000, "state peaked at %lld keys",
                  (long long)most);
    lk_dedupe_state_destroy(&s);
}
END_TEST

/* Against a plain model (an array by key): random offers of keys from a
   small space (so that the table's clusters collide and wrap), random
   expiries: every decision and every count the same. */
START_TEST(model_check)
{
    enum { KEYS = 3000 };
    static int64_t model[KEYS];
    static int in[KEYS];
    memset(in, 0, sizeof in);
    lk_dedupe_state *s = lk_dedupe_state_new(50);
    srand(42);
    int64_t n = 0, now = 0;
    for (int step = 0; step < 300000; step++) {
        if (rand() % 1000 == 0) {
            int64_t wm = now - rand() % 100;
            int64_t gone = 0;
            for (int k = 0; k < KEYS; k++)
                if (in[k] && model[k] + 50 < wm) in[k] = 0, gone++, n--;
            ck_assert_int_eq(lk_dedupe_state_expire(s, wm), gone);
            ck_assert_int_eq(lk_dedupe_state_count(s), n);
            continue;
        }
        int k = rand() % KEYS;
        now += rand() % 3;
        int64_t t = now - rand() % 80;
        /* keys whose halves differ little: the slot hash must spread them */
        int want = in[k] && llabs(t - model[k]) < 50;
        ck_assert_int_eq(lk_dedupe_state_offer(s, (uint64_t)k >> 3, (uint64_t)k, t), want);
        if (!want) {
            n += !in[k];
            in[k] = 1;
            model[k] = t;
        }
        ck_assert_int_eq(lk_dedupe_state_count(s), n);
    }
    lk_dedupe_state_destroy(&s);
}
END_TEST

START_TEST(save_load_round_trip)
{
    lk_dedupe_state *a = lk_dedupe_state_new(MIN_US), *b = lk_dedupe_state_new(MIN_US);
    for (int i = 0; i < 5000; i++)
        lk_dedupe_state_offer(a, (uint64_t)i * 31, (uint64_t)i * 17, (int64_t)i * S_US);
    lk_buf x, y;
    lk_buf_init(&x);
    lk_buf_init(&y);
    lk_dedupe_state_save(a, &x);
    lk_error err = {0};
    ck_assert_int_eq(lk_dedupe_state_load(b, x.data, x.len, &err), 0);
    ck_assert_int_eq(lk_dedupe_state_count(b), 5000);
    ck_assert(lk_dedupe_state_max_event(b) == 4999 * S_US);
    lk_dedupe_state_save(b, &y);
    ck_assert(x.len == y.len && !memcmp(x.data, y.data, x.len)); /* the same bytes */
    ck_assert_int_eq(lk_dedupe_state_offer(b, 31 * 10, 17 * 10, 10 * S_US + 1), 1);
    ck_assert_int_eq(lk_dedupe_state_offer(b, 31 * 10, 17 * 11, 10 * S_US), 0);
    /* a blob cut short or with a bad header is refused */
    ck_assert_int_eq(lk_dedupe_state_load(b, x.data, x.len - 1, &err), LK_EFORMAT);
    ck_assert_int_eq(lk_dedupe_state_load(b, x.data, 4, &err), LK_EFORMAT);
    x.data[0] ^= 1;
    ck_assert_int_eq(lk_dedupe_state_load(b, x.data, x.len, &err), LK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "dedupe state"), "%s", err.msg);
    lk_buf_free(&x);
    lk_buf_free(&y);
    lk_dedupe_state_destroy(&a);
    lk_dedupe_state_destroy(&b);
}
END_TEST

/* The hash of row i of a batch of (a STRING, b STRING, n INT, l LONG, d DOUBLE). */
static void hash_row(lk_batch *bt, const int *cols, int n, uint32_t i, uint64_t h[2])
{
    const lk_col *c[8];
    for (int k = 0; k < n; k++)
        c[k] = lk_batch_col_const(bt, cols[k]);
    lk_dedupe_row_hash(c, n, i, &h[0], &h[1]);
}

static void add_row(lk_batch *bt, const char *a, const char *b, int n, double d)
{
    if (a)
        lk_col_append_bytes(lk_batch_col(bt, 0), a, strlen(a));
    else
        lk_col_append_null(lk_batch_col(bt, 0));
    if (b)
        lk_col_append_bytes(lk_batch_col(bt, 1), b, strlen(b));
    else
        lk_col_append_null(lk_batch_col(bt, 1));
    lk_col_append_i32(lk_batch_col(bt, 2), n);
    lk_col_append_i64(lk_batch_col(bt, 3), n);
    lk_col_append_f64(lk_batch_col(bt, 4), d);
    lk_batch_set_nrows(bt, lk_batch_nrows(bt) + 1);
}

START_TEST(hash_of_several_columns_with_nulls)
{
    lk_schema *s = lk_check_schema_of("a STRING, b STRING, n INT, l BIGINT, d DOUBLE");
    lk_batch *bt = lk_batch_new(s);
    add_row(bt, NULL, "a", 1, 0.0);   /* 0 */
    add_row(bt, "", "a", 1, -0.0);    /* 1 */
    add_row(bt, "a", NULL, 1, NAN);   /* 2 */
    add_row(bt, "ab", "c", 2, 1.5);   /* 3 */
    add_row(bt, "a", "bc", 2, 1.5);   /* 4 */
    add_row(bt, "ab", "c", 2, 1.5);   /* 5: row 3 again */
    add_row(bt, NULL, NULL, 3, -NAN); /* 6 */
    add_row(bt, NULL, NULL, 3, 2.5);  /* 7 */
    int ab[] = {0, 1}, all[] = {0, 1, 2, 4}, n[] = {2}, l[] = {3}, d[] = {4};
    uint64_t h[8][2];
    for (uint32_t i = 0; i < 8; i++)
        hash_row(bt, ab, 2, i, h[i]);
    /* a null is no value: not "", and which column is null matters */
    ck_assert(memcmp(h[0], h[1], 16) && memcmp(h[0], h[2], 16) && memcmp(h[1], h[2], 16));
    /* values do not run into each other: ("ab", "c") is not ("a", "bc") */
    ck_assert(memcmp(h[3], h[4], 16));
    /* the same values: the same key; both null: one key */
    ck_assert(!memcmp(h[3], h[5], 16));
    ck_assert(!memcmp(h[6], h[7], 16));
    /* an INT and a BIGINT of one value hash alike (a widened column keeps its keys) */
    uint64_t hn[2], hl[2];
    hash_row(bt, n, 1, 3, hn);
    hash_row(bt, l, 1, 3, hl);
    ck_assert(!memcmp(hn, hl, 16));
    /* -0.0 and 0.0 are one key, every NaN one key */
    uint64_t z0[2], z1[2], n0[2], n1[2];
    hash_row(bt, d, 1, 0, z0);
    hash_row(bt, d, 1, 1, z1);
    hash_row(bt, d, 1, 2, n0);
    hash_row(bt, d, 1, 6, n1);
    ck_assert(!memcmp(z0, z1, 16) && !memcmp(n0, n1, 16) && memcmp(z0, n0, 16));
    /* rows 6 and 7 differ in d: with d among the keys they differ */
    uint64_t r6[2], r7[2];
    hash_row(bt, all, 4, 6, r6);
    hash_row(bt, all, 4, 7, r7);
    ck_assert(memcmp(r6, r7, 16));
    /* no collision over many distinct keys */
    lk_batch *many = lk_batch_new(s);
    char a[32], b[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(a, sizeof a, "k%d", i % 200);
        snprintf(b, sizeof b, "%d", i / 200);
        add_row(many, a, b, i, i);
    }
    lk_dedupe_state *st = lk_dedupe_state_new(MIN_US);
    for (uint32_t i = 0; i < 20000; i++) {
        uint64_t x[2];
        hash_row(many, ab, 2, i, x);
        ck_assert_int_eq(lk_dedupe_state_offer(st, x[0], x[1], 0), 0);
    }
    lk_dedupe_state_destroy(&st);
    lk_batch_destroy(&many);
    lk_batch_destroy(&bt);
    lk_schema_destroy(&s);
}
END_TEST

/* processed_events of (event_id, user, ts, n): the key list of a chunk and
   the drop of the rows the committer listed */
START_TEST(key_list_and_drops)
{
    lk_error err = {0};
    int rc;
    lk_config *c = lk_check_load_config(CFG, &err, &rc);
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert(c->event.dedupe.set && c->event.dedupe.keys.n == 2 &&
              c->event.dedupe.within_ms == 600000);
    lk_schema *s = lk_check_schema_of("event_id STRING, user STRING, ts STRING, n INT");
    lk_dedupe *d = NULL;
    ck_assert_msg(lk_dedupe_new(c, s, &d, &err) == 0, "%s", err.msg);
    lk_batch *in = lk_batch_new(s), *keys = lk_batch_new(lk_dedupe_keys_schema(d)),
             *out = lk_batch_new(s);
    static const char *const rows[][3] = {
        {"e1", "u1", "2026-11-24T09:00:00Z"},
        {"e1", NULL, "2026-11-24T09:00:01Z"},
        {"e2", "u1", NULL},
        {"e1", "u1", "2026-11-24T11:00:00+02:00"},
        {"e3", "u2", "not a time"},
        {"e1", "u1", "2026-11-24T09:05:00Z"},
    };
    for (int i = 0; i < 6; i++) {
        for (int k = 0; k < 3; k++)
            if (rows[i][k])
                lk_col_append_bytes(lk_batch_col(in, k), rows[i][k], strlen(rows[i][k]));
            else
                lk_col_append_null(lk_batch_col(in, k));
        lk_col_append_i32(lk_batch_col(in, 3), i);
        lk_batch_set_nrows(in, (uint32_t)i + 1);
    }
    /* rows without an event time (2: null, 4: unparsable) are not listed */
    int64_t src = lk_dedupe_chunk_src("/in/a.jsonl", 0, 1000);
    ck_assert(src != lk_dedupe_chunk_src("/in/a.jsonl", 1000, 1000) &&
              src != lk_dedupe_chunk_src("/in/b.jsonl", 0, 1000) &&
              src != lk_dedupe_chunk_src("/in/a.jsonl", 0, 999));
    ck_assert_int_eq(lk_dedupe_run(d, in, NULL, 0, src, 0, keys, &err), 0);
    ck_assert_int_eq(lk_batch_nrows(keys), 5);
    const lk_col *row = lk_batch_col_const(keys, 3), *t = lk_batch_col_const(keys, 2),
                 *hi = lk_batch_col_const(keys, 0), *lo = lk_batch_col_const(keys, 1);
    /* row 0: the header, the chunk's identity */
    ck_assert(lk_col_i32(row, 0) == -1 && lk_col_i64(hi, 0) == src);
    int want[] = {0, 1, 3, 5};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(lk_col_i32(row, (uint32_t)i + 1), want[i]);
    /* 11:00+02:00 is 09:00Z: the same instant and the same key as row 0 */
    ck_assert(lk_col_i64(t, 1) == lk_col_i64(t, 3));
    ck_assert(lk_col_i64(hi, 1) == lk_col_i64(hi, 3) && lk_col_i64(lo, 1) == lk_col_i64(lo, 3));
    /* (e1, null) is another key */
    ck_assert(lk_col_i64(hi, 1) != lk_col_i64(hi, 2) || lk_col_i64(lo, 1) != lk_col_i64(lo, 2));
    /* the drops: listed rows are neither in the key list nor in the output */
    int32_t drop[] = {1, 3};
    ck_assert_int_eq(lk_dedupe_run(d, in, drop, 2, src, 0, keys, &err), 0);
    ck_assert_int_eq(lk_batch_nrows(keys), 3);
    ck_assert(lk_col_i32(row, 1) == 0 && lk_col_i32(row, 2) == 5);
    uint8_t kept[6];
    ck_assert_int_eq(lk_dedupe_filter(in, drop, 2, out, kept), 2);
    ck_assert_int_eq(lk_batch_nrows(out), 4);
    int wantn[] = {0, 2, 4, 5};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(lk_col_i32(lk_batch_col_const(out, 3), (uint32_t)i), wantn[i]);
    ck_assert(kept[0] && !kept[1] && kept[2] && !kept[3] && kept[4] && kept[5]);
    size_t len;
    const char *p = lk_col_bytes(lk_batch_col_const(out, 0), 2, &len);
    ck_assert(len == 2 && !memcmp(p, "e3", 2));
    ck_assert(lk_col_is_null(lk_batch_col_const(out, 2), 1));
    /* dropping the last rows, and every row */
    int32_t last[] = {5}, every[] = {0, 1, 2, 3, 4, 5};
    ck_assert_int_eq(lk_dedupe_filter(in, last, 1, out, kept), 1);
    ck_assert_int_eq(lk_batch_nrows(out), 5);
    ck_assert_int_eq(lk_dedupe_filter(in, every, 6, out, kept), 6);
    ck_assert_int_eq(lk_batch_nrows(out), 0);
    lk_batch_destroy(&in);
    lk_batch_destroy(&keys);
    lk_batch_destroy(&out);
    lk_dedupe_destroy(&d);
    lk_schema_destroy(&s);
    free(c);
}
END_TEST

START_TEST(state_db_rows)
{
    char dir[256], db[512];
    lk_check_mkdtemp(dir, sizeof dir, "dedupe");
    snprintf(db, sizeof db, "%s/state.db", dir);
    lk_state *st = NULL;
    lk_error err = {0};
    ck_assert_int_eq(lk_state_open(db, &st, &err), 0);
    int64_t found, n;
    void *data;
    size_t len;
    ck_assert_int_eq(lk_state_dedupe_get(st, 5, 0, LK_DEDUPE_STATE, &found, &n, &data, &len, &err),
                     0);
    ck_assert(found == -1 && data == NULL);
    lk_dedupe_drop pairs[] = {{0, 3, 11}, {1, 7, 12}};
    ck_assert_int_eq(lk_state_dedupe_put(st, 4, LK_DEDUPE_DROPS, 2, pairs, sizeof pairs, &err), 0);
    for (int64_t b = 0; b < 6; b++)
        ck_assert_int_eq(lk_state_dedupe_put(st, b, LK_DEDUPE_STATE, b * 10, "xy", 2, &err), 0);
    /* the latest state at or before a batch; the one before the last kept */
    ck_assert_int_eq(
        lk_state_dedupe_get(st, 100, 0, LK_DEDUPE_STATE, &found, &n, &data, &len, &err), 0);
    ck_assert(found == 5 && n == 50 && len == 2 && !memcmp(data, "xy", 2));
    free(data);
    ck_assert_int_eq(lk_state_dedupe_get(st, 4, 0, LK_DEDUPE_STATE, &found, &n, NULL, NULL, &err),
                     0);
    ck_assert(found == 4);
    ck_assert_int_eq(lk_state_dedupe_get(st, 3, 0, LK_DEDUPE_STATE, &found, &n, NULL, NULL, &err),
                     0);
    ck_assert(found == -1); /* pruned */
    /* a drop list: exact batch only; kept while batch >= last state - 1 */
    ck_assert_int_eq(lk_state_dedupe_get(st, 4, 1, LK_DEDUPE_DROPS, &found, &n, &data, &len, &err),
                     0);
    ck_assert(found == 4 && n == 2 && len == sizeof pairs && !memcmp(data, pairs, len));
    free(data);
    ck_assert_int_eq(lk_state_dedupe_get(st, 5, 1, LK_DEDUPE_DROPS, &found, &n, NULL, NULL, &err),
                     0);
    ck_assert(found == -1);
    lk_state_close(&st);
    lk_check_rm_rf(dir);
}
END_TEST

/* A chunk's HOLD report with its key list: rows (id, ts seconds) of
   processed_events (event_id STRING, ts TIMESTAMP), the rows of drop left
   out, the chunk's identity src. */
static void hold(lk_dedupe *d, const lk_schema *s, lk_msg_files *f, const char *const *ids,
                 const int *secs, int n, const int32_t *drop, int ndrop, int64_t src)
{
    lk_batch *in = lk_batch_new(s), *keys = lk_batch_new(lk_dedupe_keys_schema(d));
    for (int i = 0; i < n; i++) {
        lk_col_append_bytes(lk_batch_col(in, 0), ids[i], strlen(ids[i]));
        lk_col_append_i64(lk_batch_col(in, 1), (int64_t)secs[i] * S_US);
        lk_batch_set_nrows(in, (uint32_t)i + 1);
    }
    lk_error err = {0};
    ck_assert_int_eq(lk_dedupe_run(d, in, drop, ndrop, src, 0, keys, &err), 0);
    lk_msg_records one;
    memset(&one, 0, sizeof one);
    one.n_parts = 1;
    snprintf(one.parts[0].table, sizeof one.parts[0].table, "%s", LK_DEDUPE_PART);
    one.parts[0].batch = keys;
    lk_buf b;
    lk_buf_init(&b);
    lk_msg_records_encode(&one, &b);
    lk_msg_files_clear(f);
    memset(f, 0, sizeof *f);
    f->dedupe = malloc(b.len);
    memcpy(f->dedupe, b.data, b.len);
    f->dedupe_len = b.len;
    lk_buf_free(&b);
    lk_batch_destroy(&in);
    lk_batch_destroy(&keys);
}

/* The committer's half: a batch with duplicates is refused and its drop
   list stored (durably, merged with the earlier list), the replay without
   them commits and stores the state, a later batch is judged against it,
   and a drop list made for another reading of a chunk is not used. */
START_TEST(committer_decides_in_order)
{
    char dir[256], db[512];
    lk_check_mkdtemp(dir, sizeof dir, "dcommit");
    snprintf(db, sizeof db, "%s/state.db", dir);
    lk_state *st = NULL;
    lk_error err = {0};
    ck_assert_int_eq(lk_state_open(db, &st, &err), 0);
    int rc;
    lk_config *c = lk_check_load_config("transform:\n  event_time: ts\n  watermark: 30s\n"
                        "  dedupe: {keys: [event_id], within: 10m}\n",
                        &err, &rc);
    ck_assert_int_eq(rc, 0);
    lk_schema *s = lk_check_schema_of("event_id STRING, ts TIMESTAMP");
    lk_dedupe *d = NULL;
    ck_assert_int_eq(lk_dedupe_new(c, s, &d, &err), 0);
    lk_dedupe_commit *g = lk_dedupe_commit_new(c, st);
    lk_msg_files ch[2];
    memset(ch, 0, sizeof ch);
    /* batch 0: chunk 0 (a, b, a), chunk 1 (b, c): a dup in a chunk, one across chunks */
    const char *i0[] = {"a", "b", "a"}, *i1[] = {"b", "c"};
    int t0[] = {1000, 1001, 1002}, t1[] = {1003, 1004};
    hold(d, s, &ch[0], i0, t0, 3, NULL, 0, 100);
    hold(d, s, &ch[1], i1, t1, 2, NULL, 0, 101);
    ck_assert_int_eq(lk_dedupe_commit_prepare(g, 0, ch, 2, &err), 1);
    ck_assert_int_eq(lk_dedupe_commit_found(g), 2);
    int64_t found, n;
    void *data;
    size_t len;
    ck_assert_int_eq(lk_state_dedupe_get(st, 0, 1, LK_DEDUPE_DROPS, &found, &n, &data, &len, &err),
                     0);
    const lk_dedupe_drop *dl = data;
    ck_assert(found == 0 && n == 2 && len == 2 * sizeof *dl);
    ck_assert(dl[0].chunk == 0 && dl[0].row == 2 && dl[0].src == 100);
    ck_assert(dl[1].chunk == 1 && dl[1].row == 0 && dl[1].src == 101);
    free(data);
    lk_dedupe_commit_done(g, 0, 0);
    /* a replay where only chunk 0 applied its drops: the rest found again, the list merged */
    int32_t d0[] = {2};
    hold(d, s, &ch[0], i0, t0, 3, d0, 1, 100);
    ck_assert_int_eq(lk_dedupe_commit_prepare(g, 0, ch, 2, &err), 1);
    ck_assert_int_eq(lk_dedupe_commit_found(g), 1);
    ck_assert_int_eq(lk_dedupe_commit_dropped(g), 2);
    lk_dedupe_commit_done(g, 0, 0);
    /* the replay without both: no duplicate left, the state after batch 0 is stored */
    int32_t d1[] = {0};
    hold(d, s, &ch[1], i1, t1, 2, d1, 1, 101);
    ck_assert_int_eq(lk_dedupe_commit_prepare(g, 0, ch, 2, &err), 0);
    ck_assert_int_eq(lk_dedupe_commit_dropped(g), 2);
    ck_assert_int_eq(lk_dedupe_commit_keys(g), 3);
    ck_assert(lk_dedupe_commit_watermark(g) == (1004 - 30) * S_US);
    lk_dedupe_commit_done(g, 0, 1);
    ck_assert_int_eq(lk_state_dedupe_get(st, 0, 1, LK_DEDUPE_STATE, &found, &n, NULL, NULL, &err),
                     0);
    ck_assert(found == 0 && n == 3);
    /* batch 1: a again 5 min later (dup of batch 0's), c 11 min later (kept), d new */
    const char *i2[] = {"a", "c", "d"};
    int t2[] = {1300, 1004 + 660, 1310};
    hold(d, s, &ch[0], i2, t2, 3, NULL, 0, 200);
    /* a new committer (a restart): the state of batch 0 is loaded from state.db */
    lk_dedupe_commit_destroy(&g);
    g = lk_dedupe_commit_new(c, st);
    ck_assert_int_eq(lk_dedupe_commit_prepare(g, 1, ch, 1, &err), 1);
    ck_assert_int_eq(lk_dedupe_commit_found(g), 1);
    lk_dedupe_commit_done(g, 1, 0);
    /* the batch re-planned from other bytes (chunk 0's identity changed): the old
       list is not applied by the transform, and the committer replaces it */
    const char *i3[] = {"d", "a"};
    int t3[] = {1310, 1300};
    hold(d, s, &ch[0], i3, t3, 2, NULL, 0, 201);
    ck_assert_int_eq(lk_dedupe_commit_prepare(g, 1, ch, 1, &err), 1);
    ck_assert_int_eq(lk_state_dedupe_get(st, 1, 1, LK_DEDUPE_DROPS, &found, &n, &data, &len, &err),
                     0);
    dl = data;
    ck_assert(n == 1 && dl[0].chunk == 0 && dl[0].row == 1 && dl[0].src == 201);
    free(data);
    lk_dedupe_commit_done(g, 1, 0);
    int32_t d3[] = {1};
    hold(d, s, &ch[0], i3, t3, 2, d3, 1, 201);
    ck_assert_int_eq(lk_dedupe_commit_prepare(g, 1, ch, 1, &err), 0);
    ck_assert_int_eq(lk_dedupe_commit_dropped(g), 1);
    lk_dedupe_commit_done(g, 1, 1);
    /* a chunk without its key list is an error, not a silent pass */
    lk_msg_files_clear(&ch[0]);
    ck_assert_int_lt(lk_dedupe_commit_prepare(g, 2, ch, 1, &err), 0);
    ck_assert_msg(strstr(err.msg, "without its key list"), "%s", err.msg);
    for (int i = 0; i < 2; i++)
        lk_msg_files_clear(&ch[i]);
    lk_dedupe_commit_destroy(&g);
    lk_dedupe_destroy(&d);
    lk_schema_destroy(&s);
    free(c);
    lk_state_close(&st);
    lk_check_rm_rf(dir);
}
END_TEST

static void expect_error(const char *yml, const char *ddl, const char *want)
{
    lk_error err = {0};
    int rc;
    lk_config *c = lk_check_load_config(yml, &err, &rc);
    if (rc == 0) {
        ck_assert_msg(ddl, "%s: loaded", yml);
        lk_schema *s = lk_check_schema_of(ddl);
        lk_dedupe *d = NULL;
        rc = lk_dedupe_new(c, s, &d, &err);
        ck_assert_msg(rc == LK_ECONFIG, "%s: compiled", yml);
        lk_schema_destroy(&s);
    } else {
        ck_assert_int_eq(rc, LK_ECONFIG);
    }
    ck_assert_msg(strstr(err.msg, want), "'%s' not in '%s'", want, err.msg);
    free(c);
}

START_TEST(errors_name_file_line_key)
{
    const char *et = "transform:\n  event_time: ts\n  watermark: 30s\n";
    char y[1024];
    expect_error("transform:\n  dedupe: {keys: [id], within: 10m}\n", NULL,
                 ":2: key 'transform.dedupe': dropping duplicates within the watermark needs an "
                 "event time");
    expect_error("transform:\n  event_time: ts\n  dedupe: {keys: [id], within: 10m}\n", NULL,
                 ":3: key 'transform.dedupe': dropping duplicates within the watermark needs one: "
                 "set transform.watermark");
    snprintf(y, sizeof y, "%s  dedupe: {keys: id, within: 10m}\n", et);
    expect_error(y, NULL, ":4: key 'transform.dedupe.keys': expected a non-empty list of columns");
    snprintf(y, sizeof y, "%s  dedupe: {keys: [], within: 10m}\n", et);
    expect_error(y, NULL,
                 ":4: key 'transform.dedupe.keys': expected a non-empty list of columns, "
                 "got an empty list");
    snprintf(y, sizeof y, "%s  dedupe: {keys: [id], within: \"ten minutes\"}\n", et);
    expect_error(y, NULL,
                 ":4: key 'transform.dedupe.within': 'ten minutes' is not a positive "
                 "duration");
    snprintf(y, sizeof y, "%s  dedupe: {keys: [id], within: 0s}\n", et);
    expect_error(y, NULL, "key 'transform.dedupe.within'");
    snprintf(y, sizeof y, "%s  dedupe: {keys: [id]}\n", et);
    expect_error(y, NULL, ":4: key 'transform.dedupe.within': missing");
    snprintf(y, sizeof y, "%s  dedupe: {keys: [id], within: 1m, by: x}\n", et);
    expect_error(y, NULL, ":4: key 'transform.dedupe.by': unknown key (keys or within)");
    snprintf(y, sizeof y, "%s  dedupe: [id]\n", et);
    expect_error(y, NULL, ":4: key 'transform.dedupe': expected a mapping");
    /* against processed_events' schema */
    const char *ddl = "event_id STRING, ts TIMESTAMP, device STRUCT<os: STRING>";
    snprintf(y, sizeof y,
             "%s  dedupe:\n    keys:\n      - event_id\n      - evnt\n    within: 1m\n", et);
    expect_error(y, ddl,
                 ":7: key 'transform.dedupe.keys[1]': column 'evnt' is not in "
                 "processed_events (its columns: event_id, ts, device)");
    snprintf(y, sizeof y, "%s  dedupe: {keys: [device], within: 1m}\n", et);
    expect_error(y, ddl, ":4: key 'transform.dedupe.keys[0]': column 'device' is not a scalar");
    expect_error("transform:\n  event_time: device\n  watermark: 1s\n"
                 "  dedupe: {keys: [event_id], within: 1m}\n",
                 ddl, ":2: key 'transform.event_time'");
    /* config show prints the key; it loads back the same */
    snprintf(y, sizeof y, "%s  dedupe: {keys: [event_id], within: \"10 minutes\"}\n", et);
    lk_error err = {0};
    int rc;
    lk_config *c = lk_check_load_config(y, &err, &rc);
    ck_assert_int_eq(rc, 0);
    char out[256], text[16384];
    lk_check_write_file(out, sizeof out, "cfgout", "");
    ck_assert_int_eq(lk_config_write(c, out, &err), 0);
    FILE *f = fopen(out, "r");
    size_t tlen = fread(text, 1, sizeof text - 1, f);
    text[tlen] = 0;
    fclose(f);
    lk_config *c2 = malloc(sizeof *c2);
    rc = lk_config_load(out, c2, &err);
    unlink(out);
    ck_assert_msg(strstr(text, "  dedupe: {keys: [\"event_id\"], within: \"600000 ms\"}") ||
                      strstr(text, "  dedupe: {keys: [event_id], within: \"600000 ms\"}"),
                  "%s", text);
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert(c2->event.dedupe.set && c2->event.dedupe.within_ms == 600000 &&
              !strcmp(c2->event.dedupe.keys.name[0], "event_id"));
    free(c);
    free(c2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dedupe");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, within_and_outside);
    tcase_add_test(tc, expiry_keeps_the_state_bounded);
    tcase_add_test(tc, model_check);
    tcase_add_test(tc, save_load_round_trip);
    tcase_add_test(tc, hash_of_several_columns_with_nulls);
    tcase_add_test(tc, key_list_and_drops);
    tcase_add_test(tc, state_db_rows);
    tcase_add_test(tc, committer_decides_in_order);
    tcase_add_test(tc, errors_name_file_line_key);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
