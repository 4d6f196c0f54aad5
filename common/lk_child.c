/* lk_child — a child process of ours; see lk_child.h. */
#include "lk_child.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

/* Whether entry ("NAME=value") is the variable name (NAME, or NAME= up to the '='). */
static int names(const char *entry, const char *name)
{
    size_t n = strcspn(name, "=");
    return !strncmp(entry, name, n) && entry[n] == '=';
}

const char **lk_child_environ(const char *const *set, int nset, const char *const *drop,
                              int ndrop)
{
    size_t ne = 0;
    while (environ && environ[ne])
        ne++;
    const char **envp = malloc(sizeof *envp * (ne + (size_t)nset + 1));
    if (!envp)
        abort();
    size_t k = 0;
    for (size_t i = 0; i < ne; i++) {
        int skip = 0;
        for (int j = 0; j < nset && !skip; j++)
            skip = names(environ[i], set[j]);
        for (int j = 0; j < ndrop && !skip; j++)
            skip = names(environ[i], drop[j]);
        if (!skip)
            envp[k++] = environ[i];
    }
    for (int j = 0; j < nset; j++)
        envp[k++] = set[j];
    envp[k] = NULL;
    return envp;
}

void lk_child_exec_self(const char *path, const char *const *argv, const char *const *envp)
{
    char *const *e = envp ? (char *const *)envp : environ;
    execve("/proc/self/exe", (char *const *)argv, e);
    execve(path, (char *const *)argv, e);
}
