/*
 * lk_delta_cleanup — log cleanup (lk_delta_cleanup_log of lk_delta.h):
 * deletes the commit files, checkpoints and .crc files that
 * delta.logRetentionDuration (default 30 days) lets go.
 *
 * It cuts only at a checkpoint, and only where every commit before it has
 * expired, so every version left stays reconstructable (time travel and
 * history need exactly that). It runs after each automatic checkpoint
 * (lk_delta_snapshot.c). Data files are vacuum's business
 * (lk_delta_vacuum.c), not this one's.
 */
#include "lk_delta_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lk_fs.h"

/*
 * Log cleanup (delta.logRetentionDuration, default 30 days): removes commit
 * files, checkpoints and .crc files of versions before C, where C is the
 * newest complete checkpoint such that every commit file before it is
 * older than the retention. Cutting only at a checkpoint keeps every
 * retained version reconstructable, which is what time travel needs.
 */
int lk_delta_cleanup_log(lk_delta_table *t, int64_t now_ms, int *removed, lk_error *err)
{
    if (removed) *removed = 0;
    const char *on = lk_delta_property(t, "delta.enableExpiredLogCleanup");
    if (on && strcmp(on, "false") == 0) return 0;
    int64_t keep = lk_delta_interval_ms(lk_delta_property(t, "delta.logRetentionDuration"),
                                        (int64_t)30 * 86400000);
    int64_t cutoff = now_ms - keep;
    DIR *d = opendir(t->log_dir);
    if (!d) return lk_error_errno(err, -errno, "cannot list '%s'", t->log_dir);
    int64_t first_kept = INT64_MAX; /* the oldest commit not yet expired */
    cp_cand *cps = NULL;
    int ncp = 0, capcp = 0;
    struct dirent *de;
    char path[4400];
    while ((de = readdir(d))) {
        int64_t v;
        int part, parts;
        int kind = lk_delta_parse_log_name(de->d_name, &v, &part, &parts);
        if (kind == 1) {
            struct stat st;
            snprintf(path, sizeof path, "%s/%s", t->log_dir, de->d_name);
            if (stat(path, &st) == 0 &&
                (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000 >= cutoff &&
                v < first_kept)
                first_kept = v;
        } else if (kind == 2) {
            int k = 0;
            for (; k < ncp; k++)
                if (cps[k].v == v && cps[k].parts == parts) break;
            if (k == ncp) {
                if (ncp == capcp) {
                    capcp = capcp ? capcp * 2 : 16;
                    cps = lk_xrealloc(cps, (size_t)capcp * sizeof *cps);
                }
                ncp++;
                cps[k].v = v;
                cps[k].parts = parts;
                cps[k].seen = 0;
            }
            cps[k].seen++;
        }
    }
    int64_t cut = -1;
    for (int k = 0; k < ncp; k++)
        if (cps[k].seen == cps[k].parts && cps[k].v <= first_kept && cps[k].v <= t->version &&
            cps[k].v > cut)
            cut = cps[k].v;
    free(cps);
    if (cut <= 0) {
        closedir(d);
        return 0;
    }
    rewinddir(d);
    int rc = 0, n = 0;
    while ((de = readdir(d))) {
        const char *nm = de->d_name;
        int64_t v;
        int part, parts;
        int kind = lk_delta_parse_log_name(nm, &v, &part, &parts);
        int crc = !kind && strlen(nm) == 24 && lk_delta_all_digits(nm, 20) &&
                  strcmp(nm + 20, ".crc") == 0;
        if (crc) v = strtoll(nm, NULL, 10);
        if ((!kind && !crc) || v >= cut) continue;
        snprintf(path, sizeof path, "%s/%s", t->log_dir, nm);
        if (unlink(path) != 0 && errno != ENOENT) {
            rc = lk_error_errno(err, -errno, "cannot remove '%s'", path);
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == 0 && n) rc = lk_fs_fsync_dir(t->log_dir, err);
    if (removed) *removed = n;
    return rc;
}
