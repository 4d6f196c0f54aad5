/* lk_endpoint — endpoint names of the process tree; see lk_endpoint.h. */
#include "lk_endpoint.h"

#include <stdio.h>

void lk_endpoint(const char *run_dir, const char *name, int index, char *out, size_t cap)
{
    if (index >= 0)
        snprintf(out, cap, "ipc://%s/%s-%d.ipc", run_dir, name, index);
    else
        snprintf(out, cap, "ipc://%s/%s.ipc", run_dir, name);
}
