/*
 * The reference relay: the least a stdio relay has to do, as a yardstick for agentpipe's own.
 *
 *     relay [-c] [-p BYTES] -- COMMAND [ARG]...
 *
 * COMMAND runs with a pipe as its stdin and another as its stdout; the relay copies its own stdin
 * into the first and the second to its own stdout, with splice(2) where the kernel allows it and
 * through a buffer otherwise, waiting with poll(2) over the two descriptors it reads. -c never
 * splices: every byte goes through the buffer with read(2) and write(2), the mode a minimal relay
 * would use for small messages (the benchmark's round trip compares with the faster mode). -p grows
 * both of its own pipes, and its stdin and stdout when they are pipes, to BYTES. It closes the
 * command's stdin at the end of its own, stops at the end of the command's stdout, and exits
 * with the command's status (128+S for a death by signal S). There is no close sequence, no
 * drain limit and no signal handling: what agentpipe adds to this is what the benchmark prices.
 *
 * Built by benches/relay.rs with `cc -O2`; Linux only (splice, F_SETPIPE_SZ).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* One direction: bytes from `from` to `to`. It waits either for input or, after the kernel said
 * the destination was full, for room there. */
struct direction {
    int from, to;
    int open;
    int wants_room;
    int copying; /* splice was refused: copy through buf from now on */
    char buf[1 << 16];
    size_t held, done; /* bytes in buf, and how many of them are written */
};

static void fail(const char *what) {
    fprintf(stderr, "relay: %s: %s\n", what, strerror(errno));
    exit(125);
}

/* Writes what the buffer holds; 0 once it is empty, 1 when the destination is full. */
static int flush(struct direction *d) {
    while (d->done < d->held) {
        ssize_t n = write(d->to, d->buf + d->done, d->held - d->done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return 1;
            return -1;
        }
        d->done += (size_t)n;
    }
    d->held = d->done = 0;
    return 0;
}

/* One move: >0 bytes moved, 0 at the end of input, -1 with errno (EAGAIN: nothing to do now). */
static ssize_t move(struct direction *d) {
    if (d->held) {
        int full = flush(d);
        if (full) {
            if (full > 0)
                errno = EAGAIN;
            return -1;
        }
    }
    if (!d->copying) {
        ssize_t n = splice(d->from, NULL, d->to, NULL, 1 << 20, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n >= 0 || errno != EINVAL)
            return n;
        d->copying = 1;
    }
    ssize_t n = read(d->from, d->buf, sizeof d->buf);
    if (n <= 0)
        return n;
    d->held = (size_t)n;
    if (flush(d) < 0)
        return -1;
    return n;
}

/* Takes one move after poll(2) reported the descriptor the direction waited for. */
static void step(struct direction *d) {
    ssize_t n = move(d);
    if (n > 0) {
        d->wants_room = 0;
    } else if (n < 0 && errno == EAGAIN) {
        /* Input was there, so the destination is full; or room was there, so the input is
         * empty: wait for the other one. */
        d->wants_room = !d->wants_room;
    } else if (n < 0 && errno == EINTR) {
        return;
    } else {
        d->open = 0;
    }
}

static void grow(int fd, int bytes) {
    (void)fcntl(fd, F_SETPIPE_SZ, bytes); /* not a pipe, or over the user's budget: as it is */
}

int main(int argc, char **argv) {
    int pipe_size = 0, copy = 0, first = 1;
    for (;;) {
        if (first + 1 < argc && strcmp(argv[first], "-p") == 0) {
            pipe_size = atoi(argv[first + 1]);
            first += 2;
        } else if (first < argc && strcmp(argv[first], "-c") == 0) {
            copy = 1;
            first++;
        } else {
            break;
        }
    }
    if (first < argc && strcmp(argv[first], "--") == 0)
        first++;
    if (first >= argc) {
        fprintf(stderr, "usage: relay [-c] [-p BYTES] -- COMMAND [ARG]...\n");
        return 125;
    }

    int to_child[2], from_child[2];
    if (pipe2(to_child, O_CLOEXEC) < 0 || pipe2(from_child, O_CLOEXEC) < 0)
        fail("pipe2");
    if (pipe_size > 0) {
        grow(to_child[1], pipe_size);
        grow(from_child[0], pipe_size);
        grow(STDIN_FILENO, pipe_size);
        grow(STDOUT_FILENO, pipe_size);
    }
    /* A reader gone is EPIPE here, not a death by SIGPIPE; the command gets the default back. */
    signal(SIGPIPE, SIG_IGN);
    posix_spawnattr_t attributes;
    sigset_t pipe_signal;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setsigdefault(&attributes, &pipe_signal);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], STDOUT_FILENO);
    pid_t pid;
    int error = posix_spawnp(&pid, argv[first], &actions, &attributes, argv + first, environ);
    if (error) {
        errno = error;
        fail(argv[first]);
    }
    close(to_child[0]);
    close(from_child[1]);
    /* The relay's own ends never block; its stdin and stdout are left as inherited. */
    fcntl(to_child[1], F_SETFL, O_NONBLOCK);
    fcntl(from_child[0], F_SETFL, O_NONBLOCK);

    static struct direction in, out;
    in.from = STDIN_FILENO, in.to = to_child[1], in.open = 1, in.copying = copy;
    out.from = from_child[0], out.to = STDOUT_FILENO, out.open = 1, out.copying = copy;
    while (out.open) {
        struct pollfd fds[2];
        struct direction *owner[2];
        int count = 0;
        struct direction *all[2] = {&in, &out};
        for (int i = 0; i < 2; i++) {
            struct direction *d = all[i];
            if (!d->open)
                continue;
            fds[count].fd = d->wants_room ? d->to : d->from;
            fds[count].events = d->wants_room ? POLLOUT : POLLIN;
            owner[count++] = d;
        }
        if (poll(fds, (nfds_t)count, -1) < 0) {
            if (errno == EINTR)
                continue;
            fail("poll");
        }
        for (int i = 0; i < count; i++) {
            if (!fds[i].revents)
                continue;
            step(owner[i]);
            if (owner[i] == &in && !in.open)
                close(to_child[1]); /* the end of input, passed on */
        }
    }

    /* The end of the command's stdout, or of its reader: a command still writing sees EPIPE. */
    close(from_child[0]);
    if (in.open)
        close(to_child[1]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            fail("waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
