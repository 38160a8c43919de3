/* Channels between the runs of one invocation (and between an interactive pair's two sides).
 *
 *   channels trail ID N LOOK_MS HOLD_MS
 *   channels shm MB | touch MB
 *   channels stdin                           (one of the above on the test's stdin)
 *
 * Run ID creates one of everything a run could leave behind or hold for another run: a SysV
 * shm segment (1 MiB, touched), semaphore set and message queue (keyed by ID), a POSIX shm
 * object and message queue, a listening abstract unix socket (named by ID), and takes flock()s
 * on /tmp/lockme and ./lockme (a file of the workdir's lower layer); it checks that it can see
 * its own objects ("self ... FOUND").  Then it looks for those of the other runs 1..N for up
 * to LOOK_MS ms (again and again, to catch a run that is still going on) and says FOUND or
 * absent for each kind, and holds its own for HOLD_MS ms before exiting (without removing
 * anything).  A lock kind is FOUND when another run held the file while this one tried to
 * take it (it keeps trying during LOOK_MS); of two runs sharing the file, one sees that.
 * `shm MB` leaves a touched SysV shm segment of MB MiB behind; `touch MB` uses MB MiB.  Used by test_channels.py and test_interactive.py. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define KEY_BASE 0x636f6400
#define NKINDS 8

static const char *const kinds[NKINDS] = { "shm", "sem", "msg", "posix-shm", "posix-mq", "abstract",
                                           "lock-tmp", "lock-workdir" };
static const char *const lock_files[] = { "/tmp/lockme", "lockme" };
static int lock_fd[2] = { -1, -1 }, lock_held[2];

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static socklen_t abstract_addr(int id, struct sockaddr_un *a)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    int n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "codepipe-channel-%d", id);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static void posix_name(int id, char *buf, size_t n) { snprintf(buf, n, "/codepipe-channel-%d", id); }

static void say(const char *what, int ok)
{
    printf("create %s: %s%s\n", what, ok ? "ok" : "failed: ", ok ? "" : strerror(errno));
}

static void leave(int id)
{
    char name[64];
    int shm = shmget(KEY_BASE + id, 1 << 20, IPC_CREAT | 0666);
    say("shm", shm >= 0);
    if (shm >= 0) { char *p = shmat(shm, NULL, 0); if (p != (void *)-1) memset(p, 1, 1 << 20); }
    say("sem", semget(KEY_BASE + id, 1, IPC_CREAT | 0666) >= 0);
    int q = msgget(KEY_BASE + id, IPC_CREAT | 0666);
    say("msg", q >= 0);
    if (q >= 0) { struct { long t; char b[8]; } m = { 1, "hello" }; msgsnd(q, &m, 8, IPC_NOWAIT); }
    posix_name(id, name, sizeof(name));
    say("posix-shm", shm_open(name, O_CREAT | O_RDWR, 0666) >= 0);
    say("posix-mq", mq_open(name, O_CREAT | O_RDWR, 0666, NULL) != (mqd_t)-1);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a;
    socklen_t len = abstract_addr(id, &a);
    say("abstract", s >= 0 && bind(s, (struct sockaddr *)&a, len) == 0 && listen(s, 8) == 0);
    for (int i = 0; i < 2; i++) {
        lock_fd[i] = open(lock_files[i], O_RDONLY | O_CREAT, 0644);
        if (lock_fd[i] < 0) lock_fd[i] = open(lock_files[i], O_RDONLY);
        say(kinds[6 + i], lock_fd[i] >= 0);
    }
}

/* Try to take the locks we do not hold yet: bit 6 + i when file i was held by another run. */
static int try_locks(void)
{
    int contended = 0;
    for (int i = 0; i < 2; i++) {
        if (lock_fd[i] < 0 || lock_held[i]) continue;
        if (flock(lock_fd[i], LOCK_EX | LOCK_NB) == 0) lock_held[i] = 1;
        else if (errno == EWOULDBLOCK) contended |= 1 << (6 + i);
    }
    return contended;
}

/* Is the object of kind k of run id there (for the lock kinds: held by another run)? */
static int present(int k, int id)
{
    char name[64];
    posix_name(id, name, sizeof(name));
    switch (k) {
    case 0: return shmget(KEY_BASE + id, 0, 0) >= 0;
    case 1: return semget(KEY_BASE + id, 0, 0) >= 0;
    case 2: return msgget(KEY_BASE + id, 0) >= 0;
    case 3: { int fd = shm_open(name, O_RDONLY, 0); if (fd >= 0) close(fd); return fd >= 0; }
    case 4: { mqd_t q = mq_open(name, O_RDONLY); if (q != (mqd_t)-1) mq_close(q); return q != (mqd_t)-1; }
    case 5: {
        struct sockaddr_un a;
        socklen_t len = abstract_addr(id, &a);
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        int ok = s >= 0 && connect(s, (struct sockaddr *)&a, len) == 0;
        if (s >= 0) close(s);
        return ok;
    }
    default: return 0;   /* locks: try_locks() */
    }
}

/* Which kinds of the other runs' objects are there (a bit per kind). */
static int look_others(int id, int n)
{
    int found = try_locks();
    for (int k = 0; k < 6; k++)
        for (int other = 1; other <= n; other++)
            if (other != id && present(k, other)) found |= 1 << k;
    return found;
}

/* shm MB: leave a touched SysV shm segment of MB MiB behind; touch MB: use MB MiB of memory. */
static int memory_mode(const char *mode, long mb)
{
    size_t n = (size_t)mb << 20;
    char *p;
    if (!strcmp(mode, "shm")) {
        int id = shmget(IPC_PRIVATE, n, IPC_CREAT | 0600);
        p = id >= 0 ? shmat(id, NULL, 0) : (void *)-1;
        if (p == (void *)-1) { printf("shm: %s\n", strerror(errno)); return 1; }
    } else if (!(p = malloc(n))) {
        return 1;
    }
    for (size_t i = 0; i < n; i += 4096) p[i] = 1;
    printf("%s %ld MB: ok\n", mode, mb);
    return 0;
}

int main(int argc, char **argv)
{
    char line[256], *words[8];
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 2 && !strcmp(argv[1], "stdin")) {   /* the command comes from the test's input */
        argc = 1;
        words[0] = argv[0];
        if (fgets(line, sizeof(line), stdin))
            for (char *w = strtok(line, " \n"); w && argc < 8; w = strtok(NULL, " \n")) words[argc++] = w;
        argv = words;
    }
    if (argc == 3 && (!strcmp(argv[1], "shm") || !strcmp(argv[1], "touch"))) return memory_mode(argv[1], atol(argv[2]));
    if (argc != 6 || strcmp(argv[1], "trail")) {
        fprintf(stderr, "usage: channels trail ID N LOOK_MS HOLD_MS | shm MB | touch MB | stdin\n");
        return 2;
    }
    int id = atoi(argv[2]), n = atoi(argv[3]);
    long look_ms = atol(argv[4]), hold_ms = atol(argv[5]);
    leave(id);
    for (int k = 0; k < 6; k++) printf("self %s %s\n", kinds[k], present(k, id) ? "FOUND" : "absent");
    long long end = now_ms() + look_ms;
    int found = 0;
    while (!(found |= look_others(id, n)) && now_ms() < end) usleep(10000);
    for (int k = 0; k < NKINDS; k++) printf("other %s %s\n", kinds[k], found & (1 << k) ? "FOUND" : "absent");
    usleep((useconds_t)hold_ms * 1000);
    return 0;
}
