/* lk_fault — named fault points for tests; see lk_fault.h. */
#include "lk_fault.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_log.h"

#define MAX_RULES 16

typedef struct rule {
    char point[96];
    int action; /* negative errno, LK_FAULT_SHORT_WRITE, LK_FAULT_CORRUPT, 2 = abort, 3 = exit,
                   4 = sleep, 6 = hold */
    int sleep_ms; /* action 4: "sleep<MS>", a slow step (not a failure) */
    int at;     /* 0 = every time */
    char gate[256]; /* "@while:PATH": only while PATH exists */
    int hits;
} rule;

static rule g_rules[MAX_RULES];
static int g_nrules = -1;

void lk_fault_reload(void)
{
    g_nrules = 0;
    const char *env = getenv("LAKESUP_FAULT");
    if (!env || !*env)
        return;
    char copy[2048];
    snprintf(copy, sizeof copy, "%s", env);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && g_nrules < MAX_RULES;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            continue;
        *eq = '\0';
        rule *r = &g_rules[g_nrules];
        memset(r, 0, sizeof *r);
        snprintf(r->point, sizeof r->point, "%s", tok);
        char *act = eq + 1, *at = strchr(act, '@');
        while (at) { /* "@N", "@while:PATH", or both: "@2@while:PATH" */
            *at = '\0';
            char *next = strchr(at + 1, '@');
            if (!strncmp(at + 1, "while:", 6)) {
                snprintf(r->gate, sizeof r->gate, "%s", at + 7);
                next = NULL; /* the path is the rest */
            } else {
                r->at = atoi(at + 1);
            }
            at = next;
        }
        if (!strcmp(act, "ENOSPC"))
            r->action = -ENOSPC;
        else if (!strcmp(act, "EIO"))
            r->action = -EIO;
        else if (!strcmp(act, "EACCES"))
            r->action = -EACCES;
        else if (!strcmp(act, "short"))
            r->action = LK_FAULT_SHORT_WRITE;
        else if (!strcmp(act, "corrupt"))
            r->action = LK_FAULT_CORRUPT;
        else if (!strcmp(act, "abort"))
            r->action = 2;
        else if (!strcmp(act, "exit"))
            r->action = 3;
        else if (!strcmp(act, "hold") && r->gate[0])
            r->action = 6;
        else if (!strncmp(act, "sleep", 5) && atoi(act + 5) > 0) {
            r->action = 4;
            r->sleep_ms = atoi(act + 5);
        } else
            continue;
        g_nrules++;
    }
}

int lk_fault_check(const char *point)
{
    if (g_nrules < 0)
        lk_fault_reload();
    if (g_nrules == 0)
        return 0;
    for (int i = 0; i < g_nrules; i++) {
        rule *r = &g_rules[i];
        if (strcmp(r->point, point) != 0)
            continue;
        if (r->gate[0] && access(r->gate, F_OK) != 0)
            continue;
        r->hits++;
        if (r->at && r->hits != r->at)
            continue;
        if (r->action == 4) {
            if (r->hits == 1)
                LK_WARN("fault injected point=%s: each pass sleeps %d ms", point, r->sleep_ms);
            usleep((useconds_t)r->sleep_ms * 1000);
            return 0;
        }
        if (r->action == 6) {
            LK_WARN("fault injected point=%s: holding while %s exists", point, r->gate);
            for (int k = 0; k < 12000 && access(r->gate, F_OK) == 0; k++) /* 120 s at most */
                usleep(10000);
            return 0;
        }
        LK_WARN("fault injected point=%s action=%d hit=%d", point, r->action, r->hits);
        if (r->action == 2)
            abort();
        if (r->action == 3)
            _exit(99);
        return r->action;
    }
    return 0;
}
