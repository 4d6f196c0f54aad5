/*
 * lk_environ — a child's environment, made before fork.
 *
 * A child of a process with threads (every lakesupd process has ZeroMQ's)
 * may only make async-signal-safe calls between fork and exec: setenv
 * allocates, and a lock another thread held at the fork stays held in the
 * child. So the environment is built in the parent and handed to execve.
 *
 *   const char *set[] = {"LAKESUP_SUPERVISOR_PID=42"};
 *   const char **envp = lk_environ_with(set, 1, NULL, 0);
 *   pid_t pid = fork();
 *   if (pid == 0) { ...; execve(path, argv, (char *const *)envp); _exit(127); }
 *   free(envp);
 */
#ifndef LK_ENVIRON_H
#define LK_ENVIRON_H

/* This process's environment with the nset "NAME=value" entries of set in place of (or added
   to) the variables of those names, and without the variables named in drop. A malloc'ed,
   NULL-terminated array of pointers to environ's and set's strings: free the array only, after
   the fork. */
const char **lk_environ_with(const char *const *set, int nset, const char *const *drop,
                             int ndrop);

#endif
