/* lk_sql_decimal — exact DECIMAL arithmetic; see lk_sql_decimal.h. */
#include "lk_sql_decimal.h"

#include <stdlib.h>
#include <string.h>

typedef lk_udec u128;

/* v / 10^k rounded HALF_UP (k >= 0) */
static lk_dec div_pow10_half_up(lk_dec v, int k)
{
    lk_dec r;
    lk_dec_rescale(v, k, 0, &r);
    return r;
}

/* v / 10^k (k >= 0) rounded toward -infinity (mode < 0), +infinity (mode > 0) or HALF_UP (0) */
static lk_dec div_pow10_mode(lk_dec v, int k, int mode)
{
    if (!mode) return div_pow10_half_up(v, k);
    lk_dec q = 0, rem = v; /* beyond 38 digits the quotient is 0: |v| < 10^38 */
    if (k <= 38) {
        lk_dec p10 = (lk_dec)lk_dec_pow10(k);
        q = v / p10;
        rem = v % p10;
    }
    if (mode < 0 && rem < 0) q--;
    if (mode > 0 && rem > 0) q++;
    return q;
}

/* v * 10^k; -1 on overflow of 128 bits */
static int mul_pow10(lk_dec v, int k, lk_dec *out)
{
    return lk_dec_rescale(v, 0, k, out);
}

/* ---- 256-bit magnitudes, for what 128 bits cannot hold: a product of two 38-digit values, an
   operand brought to a larger scale before a division ---- */

typedef struct u256 {
    uint64_t w[4]; /* least significant first */
} u256;

static u256 u256_of(u128 x)
{
    u256 r = {{(uint64_t)x, (uint64_t)(x >> 64), 0, 0}};
    return r;
}

static int u256_fits128(const u256 *x)
{
    return !x->w[2] && !x->w[3];
}

static u128 u256_low(const u256 *x)
{
    return (u128)x->w[1] << 64 | x->w[0];
}

/* x *= m; 1 on overflow */
static int u256_mul64(u256 *x, uint64_t m)
{
    u128 carry = 0;
    for (int i = 0; i < 4; i++) {
        u128 t = (u128)x->w[i] * m + carry;
        x->w[i] = (uint64_t)t;
        carry = t >> 64;
    }
    return carry != 0;
}

static u256 u256_mul128(u128 a, u128 b)
{
    uint64_t x[2] = {(uint64_t)a, (uint64_t)(a >> 64)}, y[2] = {(uint64_t)b, (uint64_t)(b >> 64)};
    u256 r = {{0, 0, 0, 0}};
    for (int i = 0; i < 2; i++) {
        u128 carry = 0;
        for (int j = 0; j < 2; j++) {
            u128 t = (u128)x[i] * y[j] + r.w[i + j] + carry;
            r.w[i + j] = (uint64_t)t;
            carry = t >> 64;
        }
        r.w[i + 2] = (uint64_t)carry;
    }
    return r;
}

/* x *= 10^k; 1 on overflow */
static int u256_mul_pow10(u256 *x, int k)
{
    while (k > 0) {
        int step = k > 19 ? 19 : k;
        if (u256_mul64(x, (uint64_t)lk_dec_pow10(step))) return 1;
        k -= step;
    }
    return 0;
}

/* x /= d; the remainder */
static uint64_t u256_div64(u256 *x, uint64_t d)
{
    u128 r = 0;
    for (int i = 3; i >= 0; i--) {
        u128 t = r << 64 | x->w[i];
        x->w[i] = (uint64_t)(t / d);
        r = t % d;
    }
    return (uint64_t)r;
}

/* x / 10^k rounded HALF_UP (the first dropped digit decides) */
static void u256_div_pow10_half_up(u256 *x, int k)
{
    if (k <= 0) return;
    int rest = k - 1;
    while (rest > 0) {
        int step = rest > 19 ? 19 : rest;
        u256_div64(x, (uint64_t)lk_dec_pow10(step));
        rest -= step;
    }
    uint64_t digit = u256_div64(x, 10);
    if (digit >= 5) {
        for (int i = 0; i < 4; i++)
            if (++x->w[i]) break;
    }
}

static int u256_cmp(const u256 *a, const u256 *b)
{
    for (int i = 3; i >= 0; i--)
        if (a->w[i] != b->w[i]) return a->w[i] < b->w[i] ? -1 : 1;
    return 0;
}

static void u256_sub(u256 *a, const u256 *b) /* a >= b */
{
    uint64_t borrow = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t bi = b->w[i] + borrow;
        uint64_t nb = (bi < borrow) || (a->w[i] < bi);
        a->w[i] -= bi;
        borrow = nb;
    }
}

static int u256_add(u256 *a, const u256 *b)
{
    uint64_t carry = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t s = a->w[i] + carry;
        uint64_t c1 = s < carry;
        a->w[i] = s + b->w[i];
        carry = c1 | (a->w[i] < s);
    }
    return carry != 0;
}

static void u256_shl1(u256 *a)
{
    for (int i = 3; i > 0; i--)
        a->w[i] = a->w[i] << 1 | a->w[i - 1] >> 63;
    a->w[0] <<= 1;
}

/* q = n / d, *rem = n % d (d != 0), bit by bit */
static u256 u256_divmod(const u256 *n, const u256 *d, u256 *rem)
{
    u256 q = {{0, 0, 0, 0}}, r = {{0, 0, 0, 0}};
    for (int bit = 255; bit >= 0; bit--) {
        u256_shl1(&r);
        r.w[0] |= (n->w[bit / 64] >> (bit % 64)) & 1;
        if (u256_cmp(&r, d) >= 0) {
            u256_sub(&r, d);
            q.w[bit / 64] |= (uint64_t)1 << (bit % 64);
        }
    }
    *rem = r;
    return q;
}

/* a signed 256-bit magnitude into lk_dec; -1 when it does not fit */
static int to_dec(int neg, const u256 *m, lk_dec *out)
{
    if (!u256_fits128(m)) return -1;
    u128 x = u256_low(m);
    if (x >> 127) return -1;
    *out = neg ? -(lk_dec)x : (lk_dec)x;
    return 0;
}

int lk_sql_dec_avg(lk_dec v, int s, int64_t n, int to, lk_dec *out)
{
    if (n <= 0 || s < 0 || s > 38 || to < 0 || to > 38) return -1;
    u256 x = u256_of(lk_dec_abs(v)); /* |v| < 2^127 times 10^(38 - s) <= 10^38: under 2^254 */
    if (u256_mul_pow10(&x, 38 - s)) return -1;
    uint64_t r = u256_div64(&x, (uint64_t)n);
    if (r >= (uint64_t)n - r) { /* HALF_UP at scale 38 */
        const u256 one = {{1, 0, 0, 0}};
        if (u256_add(&x, &one)) return -1;
    }
    u256_div_pow10_half_up(&x, 38 - to);
    return to_dec(v < 0, &x, out);
}

/* ---- the operations; 0, or -1 when the result does not fit (null) ---- */

static int dec_addsub(lk_dec a, int sa, lk_dec b, int sb, int sub, int s, lk_dec *r)
{
    int S = sa > sb ? sa : sb;
    lk_dec x, y, t;
    if (!mul_pow10(a, S - sa, &x) && !mul_pow10(b, S - sb, &y) &&
        !(sub ? __builtin_sub_overflow(x, y, &t) : __builtin_add_overflow(x, y, &t)))
        return lk_dec_rescale(t, S, s, r);
    /* the operands at scale S need more than 128 bits (a result whose precision was cut to 38) */
    u256 X = u256_of(lk_dec_abs(a)), Y = u256_of(lk_dec_abs(b));
    if (u256_mul_pow10(&X, S - sa) || u256_mul_pow10(&Y, S - sb)) return -1;
    int na = a < 0, nb = (b < 0) != sub, neg;
    if (na == nb) {
        if (u256_add(&X, &Y)) return -1;
        neg = na;
    } else if (u256_cmp(&X, &Y) >= 0) {
        u256_sub(&X, &Y);
        neg = na;
    } else {
        u256_sub(&Y, &X);
        X = Y;
        neg = nb;
    }
    u256_div_pow10_half_up(&X, S - s);
    return to_dec(neg, &X, r);
}

static int dec_mul(lk_dec a, int sa, lk_dec b, int sb, int s, lk_dec *r)
{
    lk_dec t;
    if (!__builtin_mul_overflow(a, b, &t)) return lk_dec_rescale(t, sa + sb, s, r);
    u256 m = u256_mul128(lk_dec_abs(a), lk_dec_abs(b));
    u256_div_pow10_half_up(&m, sa + sb - s);
    return to_dec((a < 0) != (b < 0), &m, r);
}

/* |a| * 10^ea and |b| * 10^eb as 256-bit numerator and divisor; -1 on overflow */
static int operands(lk_dec a, int ea, lk_dec b, int eb, u256 *N, u256 *D)
{
    *N = u256_of(lk_dec_abs(a));
    *D = u256_of(lk_dec_abs(b));
    return u256_mul_pow10(N, ea) || u256_mul_pow10(D, eb) ? -1 : 0;
}

/* a / b at scale s, HALF_UP (b != 0) */
static int dec_div(lk_dec a, int sa, lk_dec b, int sb, int s, lk_dec *r)
{
    int e = s - sa + sb; /* a * 10^e / b has scale s */
    u256 N, D, R;
    if (operands(a, e > 0 ? e : 0, b, e < 0 ? -e : 0, &N, &D)) {
        /* a numerator beyond 256 bits is beyond 38 digits; a divisor beyond, a quotient of 0 */
        if (e > 0) return -1;
        *r = 0;
        return 0;
    }
    u256 Q;
    if (u256_fits128(&N) && u256_fits128(&D)) {
        u128 n = u256_low(&N), d = u256_low(&D);
        Q = u256_of(n / d);
        R = u256_of(n % d);
    } else {
        Q = u256_divmod(&N, &D, &R);
    }
    /* HALF_UP: 2 * rem >= divisor */
    u256 twice = R;
    if (u256_add(&twice, &R) || u256_cmp(&twice, &D) >= 0) {
        u256 one = u256_of(1);
        u256_add(&Q, &one);
    }
    return to_dec((a < 0) != (b < 0), &Q, r);
}

/* a % b at scale s (the sign of a, as Java's BigDecimal.remainder; b != 0) */
static int dec_mod(lk_dec a, int sa, lk_dec b, int sb, int s, lk_dec *r)
{
    int S = sa > sb ? sa : sb;
    u256 N, D, R;
    if (operands(a, S - sa, b, S - sb, &N, &D)) return -1;
    if (u256_fits128(&N) && u256_fits128(&D))
        R = u256_of(u256_low(&N) % u256_low(&D));
    else
        u256_divmod(&N, &D, &R);
    lk_dec t;
    if (to_dec(a < 0, &R, &t)) return -1;
    return lk_dec_rescale(t, S, s, r);
}

/* a div b: the quotient truncated to a long (b != 0); -1 beyond a long */
static int dec_idiv(lk_dec a, int sa, lk_dec b, int sb, int64_t *r)
{
    u256 N, D, R;
    if (operands(a, sb, b, sa, &N, &D)) return -1;
    u256 Q = u256_fits128(&N) && u256_fits128(&D) ? u256_of(u256_low(&N) / u256_low(&D))
                                                   : u256_divmod(&N, &D, &R);
    lk_dec q;
    if (to_dec((a < 0) != (b < 0), &Q, &q) || q > INT64_MAX || q < INT64_MIN) return -1;
    *r = (int64_t)q;
    return 0;
}

/* ---- kernels ---- */

/* Row i of the output: r, or null and failed when the operation failed (bad: a division by zero,
   an intermediate beyond 256 bits) or r is beyond the precision p (ANSI mode raises on both). */
static void put(lk_sql_kctx *k, uint32_t i, int bad, lk_dec r, int p)
{
    if (bad || !lk_dec_fits(r, p)) {
        lk_dec_write(k->out, i, 0);
        lk_sql_out_null(k->out, i);
        lk_sql_fail(k, i);
        return;
    }
    lk_dec_write(k->out, i, r);
}

typedef enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD } bin_op;

static void k_binary(lk_sql_kctx *k, bin_op op)
{
    uint32_t n = k->n;
    lk_col *out = k->out;
    lk_sql_out_fixed(out, n);
    lk_sql_out_and_validity(out, k->a, 2, n);
    const lk_col *x = k->a[0], *y = k->a[1];
    int sa = x->field->scale, sb = y->field->scale, s = out->field->scale,
        p = out->field->precision;
    for (uint32_t i = 0; i < n; i++) {
        lk_dec r = 0;
        if (lk_col_is_null(out, i)) {
            lk_dec_write(out, i, 0);
            continue;
        }
        lk_dec a = lk_dec_read(x, i), b = lk_dec_read(y, i);
        int bad = 0;
        switch (op) {
        case OP_ADD:
        case OP_SUB:
            bad = dec_addsub(a, sa, b, sb, op == OP_SUB, s, &r);
            break;
        case OP_MUL:
            bad = dec_mul(a, sa, b, sb, s, &r);
            break;
        case OP_DIV:
            bad = b == 0 || dec_div(a, sa, b, sb, s, &r);
            break;
        case OP_MOD:
            bad = b == 0 || dec_mod(a, sa, b, sb, s, &r);
            break;
        }
        put(k, i, bad, r, p);
    }
    lk_sql_out_done(out);
}

static void k_dec_add(lk_sql_kctx *k)
{
    k_binary(k, OP_ADD);
}

static void k_dec_sub(lk_sql_kctx *k)
{
    k_binary(k, OP_SUB);
}

static void k_dec_mul(lk_sql_kctx *k)
{
    k_binary(k, OP_MUL);
}

static void k_dec_div(lk_sql_kctx *k)
{
    k_binary(k, OP_DIV);
}

static void k_dec_mod(lk_sql_kctx *k)
{
    k_binary(k, OP_MOD);
}

static void k_dec_idiv(lk_sql_kctx *k)
{
    uint32_t n = k->n;
    lk_col *out = k->out;
    lk_sql_out_fixed(out, n);
    lk_sql_out_and_validity(out, k->a, 2, n);
    const lk_col *x = k->a[0], *y = k->a[1];
    int64_t *o = out->values;
    for (uint32_t i = 0; i < n; i++) {
        o[i] = 0;
        if (lk_col_is_null(out, i)) continue;
        lk_dec b = lk_dec_read(y, i);
        if (b == 0 || dec_idiv(lk_dec_read(x, i), x->field->scale, b, y->field->scale, &o[i])) {
            o[i] = 0;
            lk_sql_out_null(out, i);
            lk_sql_fail(k, i);
        }
    }
    lk_sql_out_done(out);
}

/* negative, abs, round, floor, ceil: one argument, the result at the output's scale */
static void k_unary(lk_sql_kctx *k)
{
    uint32_t n = k->n;
    lk_col *out = k->out;
    lk_sql_out_fixed(out, n);
    lk_sql_out_and_validity(out, k->a, 1, n);
    const lk_col *x = k->a[0];
    int fn = k->node->fn, sa = x->field->scale, s = out->field->scale, p = out->field->precision;
    /* round(x, d), floor(x, d) and ceil(x, d) (Spark's RoundBase: HALF_UP, FLOOR, CEILING) with
       d < 0 round to 10^-d at scale 0 */
    int scaled = fn == LK_FN_ROUND || ((fn == LK_FN_FLOOR || fn == LK_FN_CEIL) && k->na > 1);
    int mode = fn == LK_FN_FLOOR ? -1 : fn == LK_FN_CEIL ? 1 : 0;
    int64_t d64 = scaled && k->na > 1 ? lk_sql_node_value(k->node->args[1])->i : s;
    int d = d64 < -39 ? -39 : d64 > 39 ? 39 : (int)d64; /* beyond: 0, or the value unchanged */
    for (uint32_t i = 0; i < n; i++) {
        if (lk_col_is_null(out, i)) {
            lk_dec_write(out, i, 0);
            continue;
        }
        lk_dec a = lk_dec_read(x, i), r = a;
        int bad = 0;
        switch (fn) {
        case LK_FN_NEG:
            r = -a;
            break;
        case LK_FN_ABS:
            r = a < 0 ? -a : a;
            break;
        case LK_FN_ROUND:
        case LK_FN_FLOOR:
        case LK_FN_CEIL:
            if (!scaled) {
                r = div_pow10_mode(a, sa, mode);
            } else if (d >= sa) {
                bad = lk_dec_rescale(a, sa, s, &r);
            } else if (d >= 0) {
                r = div_pow10_mode(a, sa - d, mode);
            } else {
                lk_dec q = div_pow10_mode(a, sa - d, mode);
                bad = mul_pow10(q, -d, &r);
            }
            break;
        default:
            bad = 1;
            break;
        }
        put(k, i, bad, r, p);
    }
    lk_sql_out_done(out);
}

int lk_sql_decimal_kernel(const lk_sql_node *node, lk_sql_kernel *kp, lk_error *err)
{
    *kp = NULL;
    if (node->kind != LK_SQL_CALL) return 0;
    if (node->fn == LK_FN_IDIV) {
        if (node->nargs == 2 && node->args[0]->ty == LK_TYPE_DECIMAL &&
            node->args[1]->ty == LK_TYPE_DECIMAL)
            *kp = k_dec_idiv;
        return 0;
    }
    if (node->ty != LK_TYPE_DECIMAL) return 0;
    lk_sql_kernel k;
    switch (node->fn) {
    case LK_FN_ADD: k = k_dec_add; break;
    case LK_FN_SUB: k = k_dec_sub; break;
    case LK_FN_MUL: k = k_dec_mul; break;
    case LK_FN_DIV: k = k_dec_div; break;
    case LK_FN_MOD: k = k_dec_mod; break;
    case LK_FN_NEG:
    case LK_FN_ABS:
    case LK_FN_ROUND:
    case LK_FN_FLOOR:
    case LK_FN_CEIL: k = k_unary; break;
    default: return 0; /* not arithmetic: a branch, a cast, ... */
    }
    for (int i = 0; i < node->nargs && i < 2; i++)
        if (node->args[i]->ty != LK_TYPE_DECIMAL &&
            !(i == 1 && (node->fn == LK_FN_ROUND || node->fn == LK_FN_FLOOR ||
                         node->fn == LK_FN_CEIL)))
            return lk_error_set(err, LK_EFORMAT, "internal: %s over decimals has no kernel",
                                node->name ? node->name : "?");
    *kp = k;
    return 0;
}
