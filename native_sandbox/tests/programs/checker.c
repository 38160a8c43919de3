/* A testlib-style checker: `checker INPUT OUTPUT ANSWER` compares the whitespace-separated
 * tokens of OUTPUT and ANSWER; exit 0 (accepted) or 1 (wrong answer, a message on stderr).
 * `checker --probe FILE...` instead reports, for each FILE, whether it can be read and
 * written (used by test_test_files.py to look at /judge). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void probe(const char *path)
{
    char buf[256] = "";
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    printf("%s read: %s", path, fd < 0 ? strerror(errno) : n < 0 ? "read error" : "ok");
    if (n > 0) { buf[n] = 0; buf[strcspn(buf, "\n")] = 0; printf(" [%s]", buf); }
    if (fd >= 0) close(fd);
    fd = open(path, O_WRONLY | O_APPEND);
    printf(", write: %s\n", fd < 0 ? strerror(errno) : "ok");
    if (fd >= 0) close(fd);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--probe")) {
        for (int i = 2; i < argc; i++) probe(argv[i]);
        return 0;
    }
    if (argc != 4) { fprintf(stderr, "usage: checker INPUT OUTPUT ANSWER\n"); return 3; }
    FILE *in = fopen(argv[1], "r"), *out = fopen(argv[2], "r"), *ans = fopen(argv[3], "r");
    if (!in || !out || !ans) { fprintf(stderr, "cannot open: %s\n", strerror(errno)); return 3; }
    char a[256], b[256];
    for (int tok = 1;; tok++) {
        int ra = fscanf(out, "%255s", a), rb = fscanf(ans, "%255s", b);
        if (ra != 1 && rb != 1) { fprintf(stderr, "ok %d tokens\n", tok - 1); return 0; }
        if (ra != 1 || rb != 1 || strcmp(a, b)) {
            fprintf(stderr, "wrong answer: token %d: expected '%s', found '%s'\n", tok, rb == 1 ? b : "EOF", ra == 1 ? a : "EOF");
            return 1;
        }
    }
}
