/* tidemark hack/pause/pause.c — the pod sandbox's init process for the test node (what
 * Kubernetes' build/pause/linux/pause.c does): hold the pod's namespaces open, reap the children
 * that get re-parented to it, and exit on SIGINT or SIGTERM. Built statically by hack/image.sh
 * into localhost/tidemark/pause:1, since the upstream image cannot be pulled here. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig)
{
    (void)sig;
    _exit(0);
}

static void on_child(int sig)
{
    (void)sig;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

int main(void)
{
    if (getpid() != 1)
        fprintf(stderr, "pause: warning: not PID 1, so orphans are not re-parented to me\n");

    struct sigaction stop = {.sa_handler = on_stop};
    struct sigaction child = {.sa_handler = on_child, .sa_flags = SA_NOCLDSTOP};
    sigemptyset(&stop.sa_mask);
    sigemptyset(&child.sa_mask);
    if (sigaction(SIGINT, &stop, NULL) != 0 || sigaction(SIGTERM, &stop, NULL) != 0 ||
        sigaction(SIGCHLD, &child, NULL) != 0) {
        perror("pause: sigaction");
        return 1;
    }
    for (;;)
        pause();
}
