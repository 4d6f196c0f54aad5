/*
 * lk_sql_func — the function library: one kernel per function, each
 * evaluating a whole column at a time.
 *
 * A kernel reads its argument columns (lk_col: values, offsets/data, a
 * validity bitmap) over rows [0, n) and writes n rows into its output
 * column, which the evaluator hands it empty. It switches on the argument
 * types once per call, never per row, and allocates nothing per row (the
 * output column's buffers and the context's scratch grow and are kept).
 * A row whose value fails (a cast that does not parse, a division by zero,
 * malformed JSON) is null and is marked in the context's error bitmap:
 * `on_error` decides what becomes of such rows.
 *
 * The checker (lk_sql_check) has already coerced the arguments to the
 * types each kernel expects (arithmetic on INTEGER, LONG or DOUBLE; string
 * functions on STRING; ...).
 */
#ifndef LK_SQL_FUNC_H
#define LK_SQL_FUNC_H

#include <stdint.h>

#include "lk_batch.h"
#include "lk_buf.h"
#include "lk_sql_parse.h"

typedef enum lk_sql_fn {
    LK_FN_NONE = 0,
    /* operators */
    LK_FN_ADD,
    LK_FN_SUB,
    LK_FN_MUL,
    LK_FN_DIV,
    LK_FN_IDIV,
    LK_FN_MOD,
    LK_FN_NEG,
    LK_FN_BITAND,
    LK_FN_BITOR,
    LK_FN_BITXOR,
    LK_FN_BITNOT,
    LK_FN_EQ,
    LK_FN_NE,
    LK_FN_LT,
    LK_FN_LE,
    LK_FN_GT,
    LK_FN_GE,
    LK_FN_NSEQ,
    LK_FN_AND,
    LK_FN_OR,
    LK_FN_NOT,
    LK_FN_ISNULL,
    LK_FN_ISNOTNULL,
    LK_FN_ISTRUE,
    LK_FN_ISFALSE,
    LK_FN_IN,
    LK_FN_LIKE,
    LK_FN_ILIKE,
    LK_FN_RLIKE,
    /* conditionals */
    LK_FN_CASE,
    LK_FN_IF,
    LK_FN_COALESCE,
    LK_FN_NULLIF,
    /* strings */
    LK_FN_LOWER,
    LK_FN_UPPER,
    LK_FN_TRIM,
    LK_FN_LTRIM,
    LK_FN_RTRIM,
    LK_FN_SUBSTRING,
    LK_FN_CONCAT,
    LK_FN_CONCAT_WS,
    LK_FN_SPLIT,
    LK_FN_REGEXP_EXTRACT,
    LK_FN_REGEXP_REPLACE,
    LK_FN_LENGTH,
    LK_FN_SHA2,
    LK_FN_MD5,
    LK_FN_SHA1,
    /* time */
    LK_FN_TO_TIMESTAMP,
    LK_FN_TO_DATE,
    LK_FN_DATE_TRUNC,
    LK_FN_DATE_FORMAT,
    LK_FN_YEAR,
    LK_FN_QUARTER,
    LK_FN_MONTH,
    LK_FN_DAY,
    LK_FN_DAYOFWEEK,
    LK_FN_DAYOFYEAR,
    LK_FN_HOUR,
    LK_FN_MINUTE,
    LK_FN_SECOND,
    LK_FN_UNIX_TIMESTAMP,
    LK_FN_FROM_UNIXTIME,
    LK_FN_CURRENT_TIMESTAMP,
    LK_FN_CURRENT_DATE,
    LK_FN_DATE_ADD,
    LK_FN_DATE_SUB,
    LK_FN_DATEDIFF,
    LK_FN_WEEKOFYEAR,
    LK_FN_DAYOFWEEK_ISO,
    LK_FN_LAST_DAY,
    LK_FN_ADD_MONTHS,
    LK_FN_TRUNC,
    LK_FN_NEXT_DAY,
    LK_FN_MAKE_DATE,
    LK_FN_TIMESTAMP_SECONDS,
    LK_FN_TIMESTAMP_MILLIS,
    LK_FN_TIMESTAMP_MICROS,
    LK_FN_UNIX_SECONDS,
    LK_FN_UNIX_MILLIS,
    LK_FN_UNIX_MICROS,
    LK_FN_UNIX_DATE,
    LK_FN_DATE_FROM_UNIX_DATE,
    LK_FN_SECOND_FRACTION, /* extract(SECOND FROM ts): DECIMAL(8,6) */
    LK_FN_YEAROFWEEK,      /* extract(YEAROFWEEK FROM d): the ISO week's year */
    LK_FN_MONTHS_BETWEEN,
    LK_FN_TRANSLATE,
    /* math */
    LK_FN_ABS,
    LK_FN_ROUND,
    LK_FN_FLOOR,
    LK_FN_CEIL,
    LK_FN_POW,
    LK_FN_GREATEST,
    LK_FN_LEAST,
    LK_FN_SQRT,
    LK_FN_EXP,
    LK_FN_LN,
    LK_FN_SIGN,
    /* JSON */
    LK_FN_GET_JSON_OBJECT,
    LK_FN_FROM_JSON,
    /* (expr).field */
    LK_FN_GETFIELD,
    /* strings, more */
    LK_FN_LPAD,
    LK_FN_RPAD,
    LK_FN_REPLACE,
    LK_FN_INSTR,
    LK_FN_LOCATE,
    LK_FN_LEFT,
    LK_FN_RIGHT,
    LK_FN_INITCAP,
    LK_FN_REVERSE,
    LK_FN_STARTSWITH,
    LK_FN_ENDSWITH,
    LK_FN_CONTAINS,
    LK_FN_SUBSTRING_INDEX,
    LK_FN_REPEAT,
    LK_FN_OCTET_LENGTH,
    /* math, more */
    LK_FN_LOG10,
    LK_FN_LOG2,
    LK_FN_LOG,
    LK_FN_CBRT,
    LK_FN_ISNAN,
    LK_FN_NANVL,
    /* arrays and maps */
    LK_FN_SUBSCRIPT,      /* a[i] (0-based), m[k] */
    LK_FN_ELEMENT_AT,     /* element_at(a, i) (1-based, negative from the end), element_at(m, k) */
    LK_FN_SIZE,           /* size/cardinality */
    LK_FN_ARRAY_CONTAINS,
    /* ts + INTERVAL (the interval's months and microseconds on the node, iv_*) */
    LK_FN_TS_INTERVAL,
    /* CAST (a node of its own) */
    LK_FN_CAST,
    LK_FN_COUNT_
} lk_sql_fn;

/* What a kernel gets. */
typedef struct lk_sql_kctx {
    uint32_t n;
    lk_col *out;            /* empty; the kernel appends n rows */
    const lk_col *const *a; /* the arguments (each has at least n rows) */
    int na;
    const lk_sql_node *node; /* the call (types, constant arguments) */
    void *aux;               /* per-instruction state built at compile time (regex, format) */
    uint8_t *err;            /* n bits, zeroed: set bit i when row i fails */
    int64_t nerr;            /* failed rows set by the kernel */
    int64_t now_us;          /* current_timestamp() of this evaluation */
    lk_buf *tmp;             /* scratch */
} lk_sql_kctx;

typedef void (*lk_sql_kernel)(lk_sql_kctx *k);

/* The kernel of a checked call or cast node, and its compile-time state
   (*aux, freed with *aux_free); 0, or an error naming the position. Arithmetic over decimals is
   not here: a caller asks lk_sql_decimal_kernel first (lk_sql_plan does), or these kernels would
   read the decimals as doubles. */
int lk_sql_func_kernel(const lk_sql_node *node, const char *text, lk_sql_kernel *k, void **aux,
                       void (**aux_free)(void *), lk_error *err);

/* ---- helpers the kernels share (lk_sql_func.c) ---- */
/* Makes out hold n fixed-width slots (values uninitialised), no nulls. */
void lk_sql_out_fixed(lk_col *out, uint32_t n);
/* out's validity = the AND of the arguments' validity (no bitmap when none has nulls). */
void lk_sql_out_and_validity(lk_col *out, const lk_col *const *a, int na, uint32_t n);
/* Marks row i of a fixed-width output null. */
void lk_sql_out_null(lk_col *out, uint32_t i);
/* Marks row i failed (and null). */
static inline void lk_sql_fail(lk_sql_kctx *k, uint32_t i)
{
    k->err[i >> 3] |= (uint8_t)(1u << (i & 7));
    k->nerr++;
}
/* s (n bytes) in upper (upper = 1) or lower case into out (reset first), as Java's
   String.toUpperCase / toLowerCase: Unicode's full case mapping with SpecialCasing (ß -> SS, a
   word's final Σ -> ς), no language's rules; an invalid UTF-8 byte is kept as it is. */
void lk_sql_case_full(const char *s, size_t n, int upper, lk_buf *out);
/* Fixed-width output done: recount its nulls. */
void lk_sql_out_done(lk_col *out);
/* 1 when every argument is valid at row i. */
static inline int lk_sql_valid(const lk_col *const *a, int na, uint32_t i)
{
    for (int j = 0; j < na; j++)
        if (lk_col_is_null(a[j], i)) return 0;
    return 1;
}

#endif
