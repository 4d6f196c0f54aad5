/*
 * lk_child — a child process of ours: its environment, made before fork, and its program.
 *
 * A child of a process with threads (every lakesupd process has ZeroMQ's)
 * may only make async-signal-safe calls between fork and exec: setenv
 * allocates, and a lock another thread held at the fork stays held in the
 * child. So the environment is built in the parent and handed to execve.
 *
 *   const char *set[] = {"LAKESUP_SUPERVISOR_PID=42"};
 *   const char **envp = lk_child_environ(set, 1, NULL, 0);
 *   pid_t pid = fork();
 *   if (pid == 0) { ...; lk_child_exec_self(exe, argv, envp); _exit(127); }
 *   free(envp);
 */
#ifndef LK_CHILD_H
#define LK_CHILD_H

/* This process's environment with the nset "NAME=value" entries of set in place of (or added
   to) the variables of those names, and without the variables named in drop. A malloc'ed,
   NULL-terminated array of pointers to environ's and set's strings: free the array only, after
   the fork. */
const char **lk_child_environ(const char *const *set, int nset, const char *const *drop,
                              int ndrop);

/* In a child, between fork and exec: execs this very program (/proc/self/exe), even when its
   file was moved or replaced by an upgrade since it started, so that every process of the tree
   is one version; path (the program's path at its start) where /proc is not mounted. envp NULL:
   this process's environment. Returns only when both fail. Async-signal-safe. */
void lk_child_exec_self(const char *path, const char *const *argv, const char *const *envp);

#endif
