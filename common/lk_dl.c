/* lk_dl — a library loaded when first needed; see lk_dl.h. */
#include "lk_dl.h"

#include <dlfcn.h>
#include <string.h>

void *lk_dl_load(const char *soname, const char *package, const lk_dl_fn *fns, size_t n,
                 lk_error *err)
{
    void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        lk_error_set(err, LK_EUNSUPPORTED, "%s is not installed (Debian package %s): %s", soname,
                     package, dlerror());
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        void *f = dlsym(h, fns[i].name);
        if (!f) {
            lk_error_set(err, LK_EUNSUPPORTED, "%s lacks %s", soname, fns[i].name);
            dlclose(h);
            return NULL;
        }
        /* POSIX: a dlsym result converts to a function pointer of its type */
        memcpy(fns[i].slot, &f, sizeof f);
    }
    return h;
}
