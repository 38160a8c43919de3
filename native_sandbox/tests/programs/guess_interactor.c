/* The interactor of guess-the-number (SPEC §8's order: `guess_interactor INPUT OUTPUT ANSWER
 * [MODE [ARGS...]]`).  INPUT holds "n limit": the secret and how many queries the program may
 * ask.  Each query "? x" is answered '<' (the secret is smaller), '>' (larger) or '=' (found:
 * exit 0).  More queries than the limit, a malformed line or EOF before the secret was found:
 * "wrong answer" on stderr, exit 1.  OUTPUT gets one line for the checker: "queries=K".
 *
 * MODE (for test_interactive.py's hostile interactors), acted upon at the first query (the
 * program has done what it does before its first query): crash (abort), loop (burn CPU),
 * socket (an AF_INET socket), peek PATH... (can it read these, do they mention "codepipe-pair"?
 * the answers go to OUTPUT, then it plays), unix NAME (connect to an abstract unix socket; the
 * errno goes to OUTPUT, then it plays); and sink (read everything until EOF, answer nothing),
 * bigout N (N bytes more in OUTPUT), linkout TARGET (OUTPUT becomes a symlink to TARGET). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static FILE *out;

static void peek(const char *path)
{
    static char buf[65536];
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    if (n >= 0) buf[n] = 0;
    fprintf(out, "peek %s: %s%s\n", path, fd < 0 ? strerror(errno) : n < 0 ? strerror(errno) : "readable",
            n > 0 && memmem(buf, (size_t)n, "codepipe-pair", 13) ? ", mentions codepipe-pair" : "");
    if (fd >= 0) close(fd);
}

static void unix_connect(const char *name)
{
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0) { fprintf(out, "unix socket: %s\n", strerror(errno)); return; }
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    memcpy(a.sun_path + 1, name, strlen(name));
    int r = connect(s, (struct sockaddr *)&a, (socklen_t)(sizeof(sa_family_t) + 1 + strlen(name)));
    fprintf(out, "unix connect: %s\n", r < 0 ? strerror(errno) : "connected");
    close(s);
}

int main(int argc, char **argv)
{
    if (argc < 4) { fprintf(stderr, "usage: guess_interactor INPUT OUTPUT ANSWER [MODE...]\n"); return 3; }
    const char *mode = argc > 4 ? argv[4] : "";
    FILE *in = fopen(argv[1], "r");
    long n, limit;
    if (!in || fscanf(in, "%ld %ld", &n, &limit) != 2) { fprintf(stderr, "bad input\n"); return 3; }
    out = fopen(argv[2], "w");
    if (!out) { fprintf(stderr, "cannot write %s: %s\n", argv[2], strerror(errno)); return 3; }
    setvbuf(out, NULL, _IOLBF, 0);
    if (!strcmp(mode, "bigout") && argc > 5)
        for (long i = 0; i < atol(argv[5]); i++) fputc('x', out);
    if (!strcmp(mode, "linkout") && argc > 5 && (unlink(argv[2]) < 0 || symlink(argv[5], argv[2]) < 0))
        fprintf(stderr, "linkout: %s\n", strerror(errno));
    if (!strcmp(mode, "sink")) {
        char buf[65536];
        long long total = 0;
        ssize_t r;
        while ((r = read(0, buf, sizeof(buf))) > 0) total += r;
        fprintf(out, "sank %lld\n", total);
        return 0;
    }
    char line[64];
    long queries = 0;
    while (fgets(line, sizeof(line), stdin)) {
        long x;
        if (sscanf(line, "? %ld", &x) != 1) { fprintf(stderr, "wrong answer: bad query '%.20s'\n", line); return 1; }
        if (++queries > limit) {
            fprintf(out, "queries=%ld\n", queries);
            fprintf(stderr, "wrong answer: more than %ld queries\n", limit);
            return 1;
        }
        if (queries == 1) {
            if (!strcmp(mode, "crash")) abort();
            if (!strcmp(mode, "loop")) for (volatile unsigned long i = 0;; i++) {}
            if (!strcmp(mode, "socket")) fprintf(out, "inet socket: %d\n", socket(AF_INET, SOCK_STREAM, 0));
            if (!strcmp(mode, "peek")) for (int i = 5; i < argc; i++) peek(argv[i]);
            if (!strcmp(mode, "unix") && argc > 5) unix_connect(argv[5]);
        }
        putchar(x == n ? '=' : n < x ? '<' : '>');
        putchar('\n');
        fflush(stdout);
        if (x == n) {
            fprintf(out, "queries=%ld\n", queries);
            fprintf(stderr, "ok: found %ld in %ld queries\n", n, queries);
            return 0;
        }
    }
    fprintf(out, "queries=%ld\n", queries);
    fprintf(stderr, "wrong answer: the program ended without finding the number\n");
    return 1;
}
