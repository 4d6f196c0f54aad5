/* lk_roles — role name → entry point; see lk_roles.h. */
#include "lk_roles.h"

#include <stdio.h>
#include <string.h>

#include "lk_committer.h"
#include "lk_exit.h"
#include "lk_ingest.h"
#include "lk_log.h"
#include "lk_keys.h"
#include "lk_monitor.h"
#include "lk_remote.h"
#include "lk_transform.h"
#include "lk_worker.h"
#include "lk_worker_host.h"
#include "lk_writer.h"

static const struct {
    const char *name;
    int (*run)(lk_worker *w);
} g_roles[] = {
    {"ingest", lk_ingest_run},       {"transform", lk_transform_run}, {"writer", lk_writer_run},
    {"committer", lk_committer_run}, {"monitor", lk_monitor_run},   {"remote", lk_remote_run},
};

static int (*find(const char *role))(lk_worker *)
{
    for (size_t i = 0; i < sizeof g_roles / sizeof g_roles[0]; i++)
        if (!strcmp(g_roles[i].name, role)) return g_roles[i].run;
    return NULL;
}

int lk_roles_known(const char *role)
{
    return find(role) != NULL;
}

int lk_roles_run(const char *role, int index, const lk_config *cfg, const char *run_dir)
{
    int (*run)(lk_worker *) = find(role);
    if (!run) return LK_EXIT_USAGE;
    lk_worker *w = NULL;
    lk_error err;
    if (lk_worker_new(role, index, cfg, run_dir, &w, &err)) {
        LK_ERROR("cannot start: %s", err.msg);
        return LK_EXIT_TEMPFAIL;
    }
    int rc = run(w);
    LK_INFO("exiting code=%d", rc);
    lk_worker_destroy(&w);
    return rc;
}

int lk_roles_compaction(const char *table, int check, const lk_config *cfg)
{
    lk_log_init("compaction", 0);
    lk_log_configure(cfg->log_level, cfg->log_format);
    return lk_committer_compact(cfg, table, check);
}

int lk_roles_keygen(const char *prefix, char *pub, size_t cap, lk_error *err)
{
    char k[LK_KEY_TXT];
    if (lk_keys_generate(prefix, k, err)) return -1;
    snprintf(pub, cap, "%s", k);
    return 0;
}

int lk_roles_worker_host(const char *connect, const char *key, const char *server_key,
                         const char *dir, int transforms, const char *log_level)
{
    lk_worker_host_opts o = {connect, key, server_key, dir, transforms, log_level};
    return lk_worker_host_run(&o);
}
