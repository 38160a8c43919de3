/* Guess-the-number solutions for test_interactive.py and bench/interactive.py: `guesser MODE
 * [ARGS]` searches 1..1000000 through "? x" queries answered '<', '>' or '='.
 *   binary          binary search (accepted)
 *   linear          1, 2, 3, ... (too many queries for any sensible limit)
 *   noflush         a query left in stdio's buffer, then waits for the answer (wall TLE)
 *   early           exits at once
 *   flood           writes queries forever without reading the answers
 *   crash           two queries, then abort()
 *   bench K         K queries "? 1" first (each answered), then binary search
 *   signals         kill(-1) and kill() of every pid up to 32768, then binary search
 *   proc            looks for the interactor in /proc (stderr), then binary search
 *   tmpfile PATH    writes PATH (in its /tmp), then binary search
 *   socket          an AF_UNIX socket (not in the c profile's allow-list)
 *   peek PATH...    can it open these (stderr), then binary search
 * What it found out goes to stderr. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char ask(long x)
{
    char c;
    printf("? %ld\n", x);
    fflush(stdout);
    if (scanf(" %c", &c) != 1) { fprintf(stderr, "no answer to %ld\n", x); exit(2); }
    return c;
}

static int binary(void)
{
    long lo = 1, hi = 1000000;
    while (lo <= hi) {
        long mid = lo + (hi - lo) / 2;
        char c = ask(mid);
        if (c == '=') return 0;
        if (c == '>') lo = mid + 1; else hi = mid - 1;
    }
    return 1;
}

static void signals(void)
{
    int hit = 0, perm = 0;
    if (kill(-1, SIGKILL) == 0) hit++;
    for (pid_t p = 1; p <= 32768; p++) {
        if (p == getpid()) continue;
        if (kill(p, SIGKILL) == 0) hit++;
        else if (errno == EPERM) perm++;
    }
    fprintf(stderr, "signals: delivered %d, EPERM %d\n", hit, perm);
}

static void proc(void)
{
    DIR *d = opendir("/proc");
    int pids = 0, found = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        pids++;
        char path[300], buf[512] = "";
        snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
        int fd = open(path, O_RDONLY);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
        if (fd >= 0) close(fd);
        for (ssize_t i = 0; i < n; i++) if (!buf[i]) buf[i] = ' ';
        if (n > 0 && strstr(buf, "interactor")) found++;
    }
    if (d) closedir(d);
    fprintf(stderr, "proc: %d pids, interactor seen %d\n", pids, found);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "binary";
    if (!strcmp(mode, "binary")) return binary();
    if (!strcmp(mode, "linear")) {
        for (long x = 1; x <= 1000000; x++) if (ask(x) == '=') return 0;
        return 1;
    }
    if (!strcmp(mode, "noflush")) {
        printf("? 500000\n");            /* a pipe: fully buffered, never sent */
        char c;
        return scanf(" %c", &c) == 1 ? 0 : 1;
    }
    if (!strcmp(mode, "early")) return 0;
    if (!strcmp(mode, "flood")) {
        static char buf[65536];
        for (size_t i = 0; i + 4 <= sizeof(buf); i += 4) memcpy(buf + i, "? 1\n", 4);
        for (;;) if (write(1, buf, sizeof(buf)) < 0) return 3;
    }
    if (!strcmp(mode, "crash")) { ask(1); ask(2); abort(); }
    if (!strcmp(mode, "bench")) {
        long k = argc > 2 ? atol(argv[2]) : 1000;
        for (long i = 0; i < k; i++) ask(1);
        return binary();
    }
    if (!strcmp(mode, "signals")) { signals(); return binary(); }
    if (!strcmp(mode, "proc")) { proc(); return binary(); }
    if (!strcmp(mode, "tmpfile") && argc > 2) {
        FILE *f = fopen(argv[2], "w");
        fprintf(stderr, "tmpfile %s: %s\n", argv[2], f ? "written" : strerror(errno));
        if (f) { fputs("a note for the interactor\n", f); fclose(f); }
        return binary();
    }
    if (!strcmp(mode, "peek")) {
        for (int i = 2; i < argc; i++) {
            int fd = open(argv[i], O_RDONLY);
            fprintf(stderr, "peek %s: %s\n", argv[i], fd < 0 ? strerror(errno) : "readable");
            if (fd >= 0) close(fd);
        }
        return binary();
    }
    if (!strcmp(mode, "socket")) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        fprintf(stderr, "socket: %d\n", s);
        return binary();
    }
    fprintf(stderr, "unknown mode %s\n", mode);
    return 3;
}
