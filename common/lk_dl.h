/*
 * lk_dl — a shared library loaded when first needed (dlopen) instead of linked, with a table of
 * the functions the caller calls. Every process of the tree is the same binary: a linked library
 * is mapped and relocated by all of them at every start, and librdkafka (the Kafka source) and
 * libcurl (the monitor's webhooks) are each used by one (docs/decisions.md, "Libraries").
 */
#ifndef LK_DL_H
#define LK_DL_H

#include <stddef.h>

#include "lk_error.h"

typedef struct lk_dl_fn {
    const char *name; /* the symbol */
    void *slot;       /* where its address goes: a pointer to a function pointer */
} lk_dl_fn;

/* dlopen(soname, RTLD_NOW | RTLD_LOCAL) and every function of fns into its slot. The handle
   (kept for the life of the process), or NULL with err (LK_EUNSUPPORTED) naming package, the
   Debian package that holds the library, or the function it lacks. */
void *lk_dl_load(const char *soname, const char *package, const lk_dl_fn *fns, size_t n,
                 lk_error *err);

#endif
