/*
 * The reference spawner: the least a supervisor's start and end cost.
 *
 *     spawn COMMAND [ARG]...
 *
 * Starts COMMAND with posix_spawnp(3), waits for it, and exits with its status (128+S for a
 * death by signal S; 127 when it cannot start). The benchmark's start-up figure compares
 * `agentpipe -- true` with `spawn true`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: spawn COMMAND [ARG]...\n");
        return 125;
    }
    pid_t pid;
    int error = posix_spawnp(&pid, argv[1], NULL, NULL, argv + 1, environ);
    if (error) {
        fprintf(stderr, "spawn: %s: %s\n", argv[1], strerror(error));
        return 127;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return 125;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
