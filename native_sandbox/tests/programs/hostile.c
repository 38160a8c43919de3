/* One binary, many behaviours: `hostile MODE [ARGS]`.  Used by test_hostile.py. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void cat(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) { printf("open %s: %s\n", path, strerror(errno)); return; }
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) fwrite(buf, 1, (size_t)n, stdout);
    if (n < 0) printf("read %s: %s\n", path, strerror(errno));
    close(fd);
}

static int depth(int n) { volatile char pad[64]; pad[0] = (char)n; return n == 0 ? 0 : 1 + depth(n - 1) + pad[0] * 0; }

static void *thr(void *a) { return a; }

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "id";
    setvbuf(stdout, NULL, _IONBF, 0);
    if (!strcmp(m, "id")) {
        printf("uid=%d euid=%d gid=%d pid=%d ppid=%d\n", getuid(), geteuid(), getgid(), getpid(), getppid());
        return 0;
    }
    if (!strcmp(m, "echo")) {           /* a+b from stdin */
        long a, b;
        if (scanf("%ld %ld", &a, &b) == 2) printf("%ld\n", a + b);
        return 0;
    }
    if (!strcmp(m, "forkbomb")) {
        for (;;) fork();
    }
    if (!strcmp(m, "fork1")) {          /* fork once; report */
        pid_t p = fork();
        if (p == 0) _exit(0);
        printf("fork=%d errno=%s\n", p, strerror(errno));
        return 0;
    }
    if (!strcmp(m, "system")) {         /* system("... > marker") */
        char cmd[4200];
        snprintf(cmd, sizeof(cmd), "echo pwned > %s", argv[2]);
        int r = system(cmd);
        printf("system=%d\n", r);
        return 0;
    }
    if (!strcmp(m, "execsh")) {
        char *args[] = { "/bin/sh", "-c", "echo pwned > \"$0\"", argv[2], NULL };
        execv("/bin/sh", args);
        printf("execv: %s\n", strerror(errno));
        return 1;
    }
    if (!strcmp(m, "connect")) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0) { printf("socket: %s\n", strerror(errno)); return 1; }
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2])) };
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        int r = connect(s, (struct sockaddr *)&a, sizeof(a));
        printf("connect=%d %s\n", r, strerror(errno));
        return r == 0 ? 0 : 1;
    }
    if (!strcmp(m, "cat")) {
        for (int i = 2; i < argc; i++) cat(argv[i]);
        return 0;
    }
    if (!strcmp(m, "environ")) {
        for (char **e = environ; *e; e++) printf("ENV %s\n", *e);
        /* everything readable under /proc/<pid>/environ */
        for (int pid = 1; pid < 70000; pid++) {
            char p[64];
            snprintf(p, sizeof(p), "/proc/%d/environ", pid);
            int fd = open(p, O_RDONLY);
            if (fd < 0) continue;
            char buf[8192];
            ssize_t n = read(fd, buf, sizeof(buf) - 1);
            close(fd);
            if (n <= 0) continue;
            for (ssize_t i = 0; i < n; i++) if (!buf[i]) buf[i] = '\n';
            buf[n] = 0;
            printf("PROC %d: %s\n", pid, buf);
        }
        if (argc > 2) cat(argv[2]);
        return 0;
    }
    if (!strcmp(m, "write")) {          /* try to create each path */
        for (int i = 2; i < argc; i++) {
            int fd = open(argv[i], O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd < 0) { printf("%s: %s\n", argv[i], strerror(errno)); continue; }
            if (write(fd, "escaped\n", 8) < 0) printf("write %s: %s\n", argv[i], strerror(errno));
            close(fd);
            printf("%s: created\n", argv[i]);
        }
        return 0;
    }
    if (!strcmp(m, "killall")) {
        int r = kill(-1, SIGKILL);
        printf("kill=%d %s\n", r, strerror(errno));
        return 0;
    }
    if (!strcmp(m, "ptrace")) {
        long r = ptrace(PTRACE_TRACEME, 0, 0, 0);
        printf("ptrace=%ld\n", r);
        return 0;
    }
    if (!strcmp(m, "spin")) { for (volatile unsigned long i = 0;; i++) {} }
    if (!strcmp(m, "busy")) {          /* burn argv[2] ms of CPU */
        double until = cpu_now() + atoi(argv[2]) / 1000.0;
        volatile unsigned long x = 0;
        while (cpu_now() < until) for (int i = 0; i < 10000; i++) x += (unsigned long)i;
        return 0;
    }
    if (!strcmp(m, "spin_threads")) {
        pthread_t t[4];
        for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, (void *(*)(void *))(void *)main, NULL);
        for (volatile unsigned long i = 0;; i++) {}
    }
    if (!strcmp(m, "threads")) {
        pthread_t t[8];
        for (int i = 0; i < 8; i++) if (pthread_create(&t[i], NULL, thr, NULL)) { printf("pthread_create failed\n"); return 1; }
        for (int i = 0; i < 8; i++) pthread_join(t[i], NULL);
        printf("threads ok\n");
        return 0;
    }
    if (!strcmp(m, "sleep")) { for (;;) sleep(1000); }
    if (!strcmp(m, "clock")) {         /* when did I start (CLOCK_MONOTONIC ns)? then sleep argv[2] ms */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        printf("start %lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
        usleep((useconds_t)atoi(argv[2]) * 1000);
        return 0;
    }
    if (!strcmp(m, "membomb")) {
        for (;;) {
            char *p = malloc(1 << 20);
            if (!p) { fprintf(stderr, "malloc failed\n"); return 1; }
            memset(p, 1, 1 << 20);
        }
    }
    if (!strcmp(m, "touch")) {         /* touch argv[2] MB, exit 0 */
        size_t n = (size_t)atoi(argv[2]) << 20;
        char *p = malloc(n);
        if (!p) return 1;
        for (size_t i = 0; i < n; i += 4096) p[i] = 1;
        printf("%d\n", p[n / 2]);
        return 0;
    }
    if (!strcmp(m, "burnalloc")) {     /* touch argv[2] MB, use argv[3] ms CPU in all, say my cgroups */
        size_t n = (size_t)atoi(argv[2]) << 20;
        char *p = malloc(n);
        if (!p) return 1;
        for (size_t i = 0; i < n; i += 4096) p[i] = 1;
        double until = atoi(argv[3]) / 1000.0;       /* the touching counts too */
        volatile unsigned long x = 0;
        while (cpu_now() < until) for (int i = 0; i < 10000; i++) x += (unsigned long)i;
        printf("%d\n", p[n / 2]);
        cat("/proc/self/cgroup");
        return 0;
    }
    if (!strcmp(m, "trail")) {         /* what did an earlier run leave? then leave a trail */
        static const char *const spots[] = { "/tmp/trail", "trail", "/dev/shm/trail", NULL };
        char in[64] = "";
        if (!fgets(in, sizeof(in), stdin)) in[0] = 0;
        in[strcspn(in, "\n")] = 0;
        printf("test %s\n", in);
        for (int i = 0; spots[i]; i++) {
            struct stat st;
            printf("%s %s\n", spots[i], stat(spots[i], &st) == 0 ? "FOUND" : "absent");
            int fd = open(spots[i], O_WRONLY | O_CREAT | O_TRUNC, 0666);
            if (fd >= 0) { if (write(fd, in, strlen(in)) < 0) {} close(fd); }
        }
        fprintf(stderr, "err of test %s\n", in);
        usleep(50000);
        return 0;
    }
    if (!strcmp(m, "flood")) {
        static char buf[65536];
        memset(buf, 'x', sizeof(buf));
        for (;;) if (write(1, buf, sizeof(buf)) < 0) return 1;
    }
    if (!strcmp(m, "flood_err")) {      /* half to each stream */
        static char buf[4096];
        memset(buf, 'y', sizeof(buf));
        for (;;) { if (write(1, buf, sizeof(buf)) < 0 || write(2, buf, sizeof(buf)) < 0) return 1; }
    }
    if (!strcmp(m, "recurse")) { printf("%d\n", depth(1000000)); return 0; }
    if (!strcmp(m, "segv")) { volatile int *p = NULL; *p = 1; return 0; }
    if (!strcmp(m, "fpe")) {            /* INT_MIN / -1 traps everywhere (some VMs don't trap 1/0) */
        volatile int z = 0, a = -2147483647 - 1, b = -1;
        printf("%d %d\n", 1 / z, a / b);
        return 0;
    }
    if (!strcmp(m, "abort")) { abort(); }
    if (!strcmp(m, "exit3")) { return 3; }
    if (!strcmp(m, "sigpipe")) {        /* dispositions are default in the sandbox */
        int p[2];
        if (pipe(p) < 0) return 1;
        close(p[0]);
        if (write(p[1], "x", 1) < 0) printf("write: %s\n", strerror(errno));
        return 0;
    }
    if (!strcmp(m, "symlinks")) {       /* plant links in cwd to argv[2] */
        const char *names[] = { "1.out", "1.err", "out", "err", "main.out" };
        for (int i = 0; i < 5; i++) {
            unlink(names[i]);
            int r = symlink(argv[2], names[i]);
            printf("symlink %s -> %s: %s\n", names[i], argv[2], r ? strerror(errno) : "ok");
        }
        return 0;
    }
    if (!strcmp(m, "cow")) {            /* writable workdir: what do I see, then vandalise it */
        const char *prog = argc > 2 ? argv[2] : "main";
        char line[64] = "";
        if (!fgets(line, sizeof(line), stdin)) line[0] = 0;
        line[strcspn(line, "\n")] = 0;
        /* 1. what is here (sorted by the test), and the program's bytes */
        DIR *d = opendir(".");
        struct dirent *de;
        printf("ls:");
        while (d && (de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            struct stat st;
            lstat(de->d_name, &st);
            printf(" %s:%c", de->d_name, S_ISLNK(st.st_mode) ? 'l' : S_ISDIR(st.st_mode) ? 'd' : 'f');
        }
        printf("\n");
        if (d) closedir(d);
        unsigned long long h = 1469598103934665603ULL, size = 0;
        int fd = open(prog, O_RDONLY | O_NOFOLLOW);
        unsigned char buf[4096];
        ssize_t n;
        while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
            for (ssize_t i = 0; i < n; i++, size++) h = (h ^ buf[i]) * 1099511628211ULL;
        if (fd >= 0) close(fd);
        printf("prog: %llu %016llx\n", size, h);
        /* 2. a file in the cwd, read back */
        FILE *f = fopen("out.txt", "w");
        if (!f) { printf("out.txt: %s\n", strerror(errno)); return 1; }
        fprintf(f, "run %s\n", line);
        fclose(f);
        printf("readback: ");
        cat("out.txt");
        /* 3. overwrite the program in place, replace it, plant links */
        fd = open(prog, O_WRONLY | O_TRUNC);
        printf("overwrite %s: %s\n", prog, fd < 0 ? strerror(errno) : (write(fd, "garbage\n", 8) == 8 ? "ok" : strerror(errno)));
        if (fd >= 0) close(fd);
        for (int i = 3; i < argc; i++) {     /* more files to overwrite in place (copy-up) */
            fd = open(argv[i], O_WRONLY | O_TRUNC);
            printf("overwrite %s: %s\n", argv[i], fd < 0 ? strerror(errno) : (write(fd, "garbage\n", 8) == 8 ? "ok" : strerror(errno)));
            if (fd >= 0) close(fd);
        }
        fd = open("newprog", O_WRONLY | O_CREAT | O_EXCL, 0755);
        if (fd >= 0) { if (write(fd, "#!/bin/sh\n", 10) < 0) {} close(fd); }
        printf("rename over %s: %s\n", prog, rename("newprog", prog) ? strerror(errno) : "ok");
        printf("unlink %s: %s\n", prog, unlink(prog) ? strerror(errno) : "ok");
        const char *links[][2] = { { "/etc/passwd", "x" }, { "/etc/passwd", "1.out" }, { "/etc/passwd", prog } };
        for (int i = 0; i < 3; i++)
            printf("symlink %s -> %s: %s\n", links[i][1], links[i][0], symlink(links[i][0], links[i][1]) ? strerror(errno) : "ok");
        printf("mkdir sub: %s\n", mkdir("sub", 0755) ? strerror(errno) : "ok");
        printf("chmod .: %s\n", chmod(".", 0777) ? strerror(errno) : "ok");
        return 0;
    }
    if (!strcmp(m, "fill")) {           /* fill the cwd with files of argv[2] KB until an error */
        long kb = argc > 2 ? atol(argv[2]) : 512, max_mb = argc > 3 ? atol(argv[3]) : 4096;
        char *chunk = calloc(1, 64 * 1024);
        long total = 0;
        for (int i = 0; total < max_mb * 1024; i++) {
            char name[32];
            snprintf(name, sizeof(name), "fill%d", i);
            int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd < 0) { printf("fill: %ld KB: open: %s\n", total, strerror(errno)); return 1; }
            for (long k = 0; k < kb; k += 64) {
                if (write(fd, chunk, 64 * 1024) != 64 * 1024) {
                    printf("fill: %ld KB: write: %s\n", total, strerror(errno));
                    return 1;
                }
                total += 64;
            }
            close(fd);
        }
        printf("fill: %ld KB: no error\n", total);
        return 0;
    }
    if (!strcmp(m, "unshare")) {
        printf("%d\n", unshare(CLONE_NEWUSER));
        return 0;
    }
    if (!strcmp(m, "mount")) {
        printf("%d\n", mount("none", "/tmp", "tmpfs", 0, NULL));
        return 0;
    }
    fprintf(stderr, "unknown mode %s\n", m);
    return 100;
}
