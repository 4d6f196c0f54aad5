/*
 * lakesupd — one binary, sub-commands (usage() lists their options):
 *   start    the supervisor and its process tree (foreground)
 *   stop     ask a running pipeline to drain and stop
 *   scale    change the worker counts of a running pipeline
 *   reload   re-read the configuration file (as SIGHUP)
 *   status   the process tree, counters and tables of a running pipeline (--watch: live)
 *   progress the progress records of the last committed batches (state.db)
 *   fsck     check state.db against the tables (and repair it)
 *   table    list, describe, read, history, optimize, vacuum Delta tables
 *   schema   the pipeline's table schemas and their history
 *   source   the files discovery knows
 *   config   show: the effective configuration, every default included
 *   replay   re-inject quarantined rows as a new batch (lk_replay_cli)
 *   keygen   a CURVE key pair for remote workers
 *   worker-host  transforms on this host for a pipeline on another
 *   version, help
 *   worker   (internal) one worker process, exec'd by the supervisor; `worker compaction
 *            TABLE`: an auto-compaction, exec'd by the committer
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_config.h"
#include "lk_ctl.h"
#include "lk_exit.h"
#include "lk_fsck.h"
#include "lk_progress_cli.h"
#include "lk_replay_cli.h"
#include "lk_roles.h"
#include "lk_schema_cli.h"
#include "lk_source_cli.h"
#include "lk_supervisor.h"
#include "lk_table_cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "lakesupd %s — a streaming lakehouse daemon: files in a directory become Delta tables\n"
            "\n"
            "Usage:\n"
            "  lakesupd start  [-c lakesup.yml]\n"
            "                  [--trigger continuous|available-now|processing-time=DURATION|\n"
            "                             freshness=DURATION]\n"
            "  lakesupd stop   [-c lakesup.yml] [--timeout SECONDS]\n"
            "  lakesupd scale  [-c lakesup.yml] [transform=N|auto] [writer=N] [--timeout SECONDS]\n"
            "                  change the worker counts of the running pipeline; waits until\n"
            "                  new workers are ready and removed ones have drained\n"
            "  lakesupd reload [-c lakesup.yml]   re-read the file (as SIGHUP): live keys and\n"
            "                  workers.* apply, others are named as needing a restart\n"
            "  lakesupd status [-c lakesup.yml] [--json | --watch [--interval S]]\n"
            "  lakesupd keygen [--out PREFIX]   a CURVE key pair for remote workers: PREFIX\n"
            "                  (public, default ./lakesupd.key) and PREFIX_secret (mode 0600)\n"
            "  lakesupd worker-host --connect tcp://HOST:PORT --key FILE --server-key FILE\n"
            "                  [--dir DIR] [--log-level L] transform=N   N transforms on this host\n"
            "                  for the pipeline whose workers.remote.bind is HOST:PORT\n"
            "  lakesupd progress [-c lakesup.yml] [--last N] [--json]   the last batches'\n"
            "                  progress records (Spark StreamingQueryProgress names with --json)\n"
            "  lakesupd fsck   [-c lakesup.yml] [--repair]   check (and rebuild) state.db\n"
            "                  against the tables; the pipeline must be stopped to repair\n"
            "  lakesupd schema show [--table T] [-c lakesup.yml] [--json]\n"
            "  lakesupd schema history [--table T] [-c lakesup.yml] [--json]\n"
            "  lakesupd table list [-c lakesup.yml]\n"
            "  lakesupd table describe TABLE|--path DIR [--json]\n"
            "  lakesupd table read TABLE|--path DIR [--version N | --timestamp TS | --batch N] [--limit N]\n"
            "                      [--columns a,b] [--format jsonl|csv]\n"
            "  lakesupd table history TABLE|--path DIR [--limit N] [--json]\n"
            "  lakesupd table optimize TABLE|--path DIR [--target-size BYTES]\n"
            "  lakesupd table vacuum TABLE|--path DIR [--retain HOURS] [--dry-run] [--force]\n"
            "  lakesupd source list [-c lakesup.yml] [--pending] [--json]   discovered files\n"
            "  lakesupd config show [-c lakesup.yml]   the effective configuration (every default,\n"
            "                  the transforms lists included)\n"
            "  lakesupd replay [-c lakesup.yml] [--reason R] [--since TS] [--where EXPR]\n"
            "                  re-inject quarantined rows as a new batch, exactly once\n"
            "  lakesupd version\n"
            "\n"
            "Without -c, built-in defaults are used: source ./incoming, checkpoints\n"
            "./checkpoints, tables under ./lakehouse/main/streaming/.\n"
            "\n"
            "Exit codes: 0 done, 1 runtime failure, 2 usage, 100 configuration error\n"
            "(do not restart), 111 temporary failure (restart later).\n",
            LK_VERSION);
}

typedef struct args {
    const char *config;
    const char *trigger;
    const char *run_dir;
    int json;
    int repair;
    int timeout_s;
    int watch;
    double interval_s;
    int last;
} args;

static int parse_args(int argc, char **argv, args *a)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},  {"trigger", required_argument, 0, 't'},
        {"run-dir", required_argument, 0, 'r'}, {"json", no_argument, 0, 'j'},
        {"timeout", required_argument, 0, 'T'}, {"help", no_argument, 0, 'h'},
        {"repair", no_argument, 0, 'R'},     {"watch", no_argument, 0, 'w'},
        {"interval", required_argument, 0, 'i'}, {"last", required_argument, 0, 'l'},
        {0, 0, 0, 0}};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': a->config = optarg; break;
        case 't': a->trigger = optarg; break;
        case 'r': a->run_dir = optarg; break;
        case 'j': a->json = 1; break;
        case 'R': a->repair = 1; break;
        case 'T': {
            /* whole seconds; atoi took "abc" or "-5" as 0 (no wait) and overflowed ms */
            char *end = NULL;
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || v < 1 || v > INT_MAX / 1000) {
                fprintf(stderr, "lakesupd: --timeout '%s': expected whole seconds, 1 to %d\n",
                        optarg, INT_MAX / 1000);
                return -1;
            }
            a->timeout_s = (int)v;
            break;
        }
        case 'w': a->watch = 1; break;
        case 'i': {
            char *end = NULL;
            errno = 0;
            double v = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(v >= 0.1 && v <= 3600)) {
                fprintf(stderr, "lakesupd: --interval '%s': expected seconds, 0.1 to 3600\n",
                        optarg);
                return -1;
            }
            a->interval_s = v;
            break;
        }
        case 'l': {
            char *end = NULL;
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || v < 1 || v > 1000000) {
                fprintf(stderr, "lakesupd: --last '%s': expected a count, 1 to 1000000\n", optarg);
                return -1;
            }
            a->last = (int)v;
            break;
        }
        case 'h': usage(stdout); exit(0);
        default: return -1;
        }
    }
    return 0;
}

static int load_config(const args *a, lk_config *cfg)
{
    lk_error err;
    if (lk_config_load(a->config, cfg, &err)) {
        fprintf(stderr, "lakesupd: configuration error: %s\n", err.msg);
        return LK_EXIT_CONFIG;
    }
    if (a->trigger && lk_config_set_trigger(cfg, a->trigger, &err)) {
        fprintf(stderr, "lakesupd: %s\n", err.msg);
        return LK_EXIT_USAGE;
    }
    return 0;
}

static int run_keygen(int argc, char **argv)
{
    const char *out = "lakesupd.key";
    for (int i = 2; i < argc; i++) {
        if ((!strcmp(argv[i], "--out") || !strcmp(argv[i], "-o")) && i + 1 < argc) {
            out = argv[++i];
        } else {
            fprintf(stderr, "lakesupd keygen: usage: keygen [--out PREFIX] (unknown '%s')\n",
                    argv[i]);
            return LK_EXIT_USAGE;
        }
    }
    char pub[64];
    lk_error err;
    if (lk_roles_keygen(out, pub, sizeof pub, &err)) {
        fprintf(stderr, "lakesupd keygen: %s\n", err.msg);
        return err.code == -EEXIST ? LK_EXIT_USAGE : LK_EXIT_FAILURE;
    }
    printf("public key: %s\npublic file: %s (copy it to the pipeline host's "
           "workers.remote.allowed_keys directory)\nsecret file: %s_secret (mode 0600; keep it on "
           "this host)\n",
           pub, out, out);
    return LK_EXIT_OK;
}

static int run_worker_host(int argc, char **argv)
{
    const char *connect = NULL, *key = NULL, *server = NULL, *dir = NULL, *level = "info";
    int n = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--connect") && v)
            connect = v, i++;
        else if (!strcmp(a, "--key") && v)
            key = v, i++;
        else if (!strcmp(a, "--server-key") && v)
            server = v, i++;
        else if (!strcmp(a, "--dir") && v)
            dir = v, i++;
        else if (!strcmp(a, "--log-level") && v)
            level = v, i++;
        else if (!strncmp(a, "transform=", 10) && atoi(a + 10) > 0)
            n = atoi(a + 10);
        else {
            fprintf(stderr,
                    "lakesupd worker-host: usage: worker-host --connect tcp://HOST:PORT --key FILE "
                    "--server-key FILE [--dir DIR] transform=N (unknown or incomplete '%s')\n",
                    a);
            return LK_EXIT_USAGE;
        }
    }
    if (!connect || !key || !server || n < 1) {
        fprintf(stderr, "lakesupd worker-host: --connect, --key, --server-key and transform=N are "
                        "required\n");
        return LK_EXIT_USAGE;
    }
    return lk_roles_worker_host(connect, key, server, dir, n, level);
}

static int run_worker(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "lakesupd worker: usage: worker ROLE INDEX --run-dir DIR [-c FILE]\n");
        return LK_EXIT_USAGE;
    }
    const char *role = argv[2];
    int index = atoi(argv[3]);
    /* worker compaction TABLE [--check] --run-dir DIR -c FILE: the committer's auto-compaction
       of TABLE (lk_roles_compaction); the options follow --check (parse_args skips its first) */
    int compaction = !strcmp(role, "compaction");
    int check = compaction && argc > 4 && !strcmp(argv[4], "--check");
    args a = {0};
    if (parse_args(argc - 3 - check, argv + 3 + check, &a) || !a.run_dir)
        return LK_EXIT_USAGE;
    lk_config cfg;
    int rc = load_config(&a, &cfg);
    if (rc)
        return rc;
    if (compaction)
        return lk_roles_compaction(argv[3], check, &cfg);
    if (!lk_roles_known(role)) {
        fprintf(stderr, "lakesupd worker: unknown role '%s'\n", role);
        return LK_EXIT_USAGE;
    }
    return lk_roles_run(role, index, &cfg, a.run_dir);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return LK_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "worker"))
        return run_worker(argc, argv);
    if (!strcmp(cmd, "keygen"))
        return run_keygen(argc, argv);
    if (!strcmp(cmd, "worker-host"))
        return run_worker_host(argc, argv);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("lakesupd %s\n", LK_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "table") || !strcmp(cmd, "schema") || !strcmp(cmd, "source") ||
        !strcmp(cmd, "config") || !strcmp(cmd, "replay")) {
        /* table sub-commands parse their own options; -c is found here */
        const char *config = NULL;
        for (int i = 2; i + 1 < argc; i++)
            if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config"))
                config = argv[i + 1];
        args ta = {0};
        ta.config = config;
        lk_config tcfg;
        int trc = load_config(&ta, &tcfg);
        if (trc)
            return trc;
        if (!strcmp(cmd, "schema"))
            return lk_schema_cli(&tcfg, argc - 2, argv + 2);
        if (!strcmp(cmd, "source"))
            return lk_source_cli(&tcfg, argc - 2, argv + 2);
        if (!strcmp(cmd, "replay"))
            return lk_replay_cli(&tcfg, argc - 1, argv + 1);
        if (!strcmp(cmd, "config")) {
            if (argc < 3 || strcmp(argv[2], "show")) {
                fprintf(stderr, "lakesupd config: usage: config show [-c lakesup.yml]\n");
                return LK_EXIT_USAGE;
            }
            return lk_config_print(&tcfg, stdout) ? LK_EXIT_FAILURE : LK_EXIT_OK;
        }
        return lk_table_cli(&tcfg, argc - 2, argv + 2);
    }
    args a = {0};
    a.timeout_s = 60;
    a.interval_s = 2;
    a.last = 20;
    if (parse_args(argc - 1, argv + 1, &a)) {
        usage(stderr);
        return LK_EXIT_USAGE;
    }
    lk_config cfg;
    int rc = load_config(&a, &cfg);
    if (rc)
        return rc;
    if (!strcmp(cmd, "start")) {
        /* a replay a kill interrupted is finished first: its batch id is
           planned, the pipeline's next batches come after it */
        rc = lk_replay_resume(&cfg);
        return rc ? rc : lk_supervisor_run(&cfg);
    }
    if (!strcmp(cmd, "status")) {
        if (a.watch && a.json) {
            fprintf(stderr, "lakesupd: status: --watch and --json do not go together\n");
            return LK_EXIT_USAGE;
        }
        return a.watch ? lk_ctl_watch(&cfg, a.interval_s) : lk_ctl_status(&cfg, a.json);
    }
    if (!strcmp(cmd, "progress"))
        return lk_progress_cli(&cfg, a.last, a.json);
    if (!strcmp(cmd, "fsck"))
        return lk_fsck_main(&cfg, a.repair);
    if (!strcmp(cmd, "stop"))
        return lk_ctl_stop(&cfg, a.timeout_s * 1000);
    if (!strcmp(cmd, "reload"))
        return lk_ctl_reload(&cfg);
    if (!strcmp(cmd, "scale")) {
        const char *transform = NULL;
        int writer = 0;
        for (int i = optind + 1; i < argc; i++) {
            char *end = NULL;
            if (!strncmp(argv[i], "transform=", 10) && !strcmp(argv[i] + 10, "auto")) {
                transform = "auto";
                continue;
            }
            const char *eq = strchr(argv[i], '=');
            long v = eq ? strtol(eq + 1, &end, 10) : 0;
            if (!eq || !end || *end || end == eq + 1 || v < 1 || v > 64) {
                fprintf(stderr, "lakesupd: scale: '%s': expected transform=N (or auto) or "
                        "writer=N, N from 1 to 64\n", argv[i]);
                return LK_EXIT_USAGE;
            }
            if (!strncmp(argv[i], "transform=", 10))
                transform = argv[i] + 10;
            else if (!strncmp(argv[i], "writer=", 7))
                writer = (int)v;
            else {
                fprintf(stderr, "lakesupd: scale: '%s': only transform and writer scale\n",
                        argv[i]);
                return LK_EXIT_USAGE;
            }
        }
        if (!transform && !writer) {
            fprintf(stderr, "lakesupd: scale: say transform=N and/or writer=N\n");
            return LK_EXIT_USAGE;
        }
        return lk_ctl_scale(&cfg, transform, writer, a.timeout_s * 1000);
    }
    fprintf(stderr, "lakesupd: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return LK_EXIT_USAGE;
}
