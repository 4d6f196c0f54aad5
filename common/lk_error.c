/* lk_error — error codes and messages; see lk_error.h. */
#include "lk_error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int lk_error_set(lk_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int lk_error_errno(lk_error *err, int code, const char *fmt, ...)
{
    if (err) {
        char what[768];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        snprintf(err->msg, sizeof err->msg, "%s: %s", what,
                 code < 0 && code > -4096 ? strerror(-code) : lk_error_name(code));
        err->code = code;
    }
    return code;
}

void lk_error_prefix(lk_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char pre[512], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", pre, old);
}

void lk_error_clear(lk_error *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

const char *lk_error_name(int code)
{
    switch (code) {
    case 0: return "OK";
    case LK_EFORMAT: return "LK_EFORMAT";
    case LK_ECONFIG: return "LK_ECONFIG";
    case LK_ECONFLICT: return "LK_ECONFLICT";
    case LK_EUNSUPPORTED: return "LK_EUNSUPPORTED";
    case LK_ESTATE: return "LK_ESTATE";
    case LK_ENOTFOUND: return "LK_ENOTFOUND";
    case LK_ELIMIT: return "LK_ELIMIT";
    case -ENOSPC: return "ENOSPC";
    case -EIO: return "EIO";
    case -ENOENT: return "ENOENT";
    case -EEXIST: return "EEXIST";
    case -EACCES: return "EACCES";
    case -ENOMEM: return "ENOMEM";
    case -EINVAL: return "EINVAL";
    default: return code < 0 && code > -4096 ? strerror(-code) : "unknown error";
    }
}
