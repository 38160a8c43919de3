/* codepipe sandbox helper: orchestration.
 *
 *   helper ──clone(NEWPID|NEWNS|NEWIPC|NEWUTS)──> keeper (PID 1) ──fork──> program
 *
 * The helper prepares everything once (net ns, mount tree, cgroups, seccomp BPF), then runs up
 * to --parallel keepers at a time.  A keeper mounts /proc, /tmp and (run profiles) the
 * copy-on-write workdir, forks the program, enforces
 * CPU/wall/output limits by polling, reaps everything in its namespace, and reports the
 * program's wait status and rusage back through a pipe. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct sandbox G;

static volatile sig_atomic_t got_signal;
static void on_signal(int s) { got_signal = s; }

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sandbox: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    cgroup_cleanup(&G);
    exit(1);
}


struct running {
    int state;             /* R_FREE, R_PREPARED (keeper waits for "go"), R_RUNNING */
    pid_t keeper;
    int rep_fd;
    int idx;               /* index into results */
    int sh;                /* index into G.shared */
    int cg;                /* cgroup set */
    long long deadline_us; /* backstop */
    long long t_go;
    long long t_prepared;  /* from here until collected, the run owns its cgroup set and page */
};
enum { R_FREE, R_PREPARED, R_RUNNING };

static pid_t zombies[4096];
static int nzombies;

static void reap_zombies(bool block)
{
    int j = 0;
    for (int i = 0; i < nzombies; i++) {
        int st;
        pid_t r = waitpid(zombies[i], &st, block ? 0 : WNOHANG);
        if (r == 0 || (r < 0 && errno == EINTR)) zombies[j++] = zombies[i];
    }
    nzombies = j;
}

static void add_zombie(pid_t p)
{
    int st;
    if (waitpid(p, &st, WNOHANG) != 0) return;
    if (nzombies < (int)(sizeof(zombies) / sizeof(zombies[0]))) zombies[nzombies++] = p;
    else waitpid(p, &st, 0);
}

/* The keeper that last used each cgroup set.  Its run's tmpfs pages (/tmp and the workdir's
 * upper layer) stay charged to that cgroup until its mount namespace is gone, i.e. until the
 * keeper has exited; the set's next run must not start with them in its baseline. */
static pid_t cg_last_keeper[2 * MAX_SLOTS];

static void wait_keeper_gone(pid_t p)
{
    for (int i = 0; i < nzombies; i++) {
        if (zombies[i] != p) continue;
        int st;
        while (waitpid(p, &st, 0) < 0 && errno == EINTR) {}
        zombies[i] = zombies[--nzombies];
        return;
    }
}

static int clone_flags(struct sandbox *sb)
{
    int f = 0;
    if (sb->caps.ns_pid) f |= CLONE_NEWPID;
    if (sb->caps.ns_mount) f |= CLONE_NEWNS;
    return f;
}

/* Find out once whether the kernel gives us per-run PID namespaces. */
static void probe_run_namespaces(struct sandbox *sb)
{
    if (sb->cfg.no_ns || (!sb->caps.root && !sb->caps.userns_used)) return;
    pid_t p = (pid_t)syscall(SYS_clone, CLONE_NEWPID | (sb->caps.ns_mount ? CLONE_NEWNS : 0) | SIGCHLD, 0, 0, 0, 0);
    if (p == 0) _exit(0);
    if (p > 0) {
        int st;
        while (waitpid(p, &st, 0) < 0 && errno == EINTR) {}
        sb->caps.ns_pid = true;
    }
    if (!sb->caps.ns_pid) warnx_("warning: no PID namespace: processes are tracked by group/cgroup only");
}

/* Spawn the keeper for one test; it sets up its namespaces and waits for "go".  Spawning the
 * next test's keeper while the current test runs hides the namespace/mount set-up. */
/* One "go" token pipe per slot: the helper puts the first token in; from then on each keeper
 * passes the token to the slot's next (prepared) program child the moment its own run is over,
 * without waiting for the helper to wake up. */
static int slot_go[MAX_SLOTS][2];
static bool slot_started[MAX_SLOTS];

static void give_token(int s)
{
    if (write(slot_go[s][1], "g", 1) != 1) { /* cannot happen: the pipe has room */ }
}

static bool prepare_run(struct sandbox *sb, struct running *r, int s, int cg, int sh, int idx,
                        struct run_result *res, int in_fd, int out_fd, int err_fd)
{
    int p[2];
    res[idx].status = ST_IE;
    r->t_prepared = now_us();
    if (cg_last_keeper[cg] > 0) wait_keeper_gone(cg_last_keeper[cg]);   /* reported: exiting */
    cgroup_reset_slot(sb, cg);        /* idle: its previous run was collected */
    if (pipe2(p, O_CLOEXEC) < 0) {
        set_ie(&res[idx], "pipe: %s", strerror(errno));
        return false;
    }
    pid_t pid = (pid_t)syscall(SYS_clone, clone_flags(sb) | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
        close(p[0]);
        keeper_main(sb, cg, sh, idx, in_fd, out_fd, err_fd, p[1], slot_go[s][0], slot_go[s][1]);
    }
    int e = errno;
    close(p[1]);
    if (in_fd >= 0) { close(in_fd); close(out_fd); close(err_fd); }   /* single mode: the keeper has them */
    if (pid < 0) {
        set_ie(&res[idx], "clone: %s", strerror(e));
        close(p[0]);
        return false;
    }
    r->state = R_PREPARED;
    cg_last_keeper[cg] = pid;
    r->keeper = pid;
    r->rep_fd = p[0];
    r->idx = idx;
    r->sh = sh;
    r->cg = cg;
    return true;
}

/* The prepared run becomes the slot's current one.  It starts with the slot's token: the first
 * one comes from us, later ones from the previous keeper (written before its report). */
static void go_run(struct sandbox *sb, struct running *r, int s)
{
    r->t_go = now_us();
    if (!slot_started[s]) {
        slot_started[s] = true;
        give_token(s);
    }
    r->state = R_RUNNING;
    r->deadline_us = r->t_go + sb->cfg.wall_ms * 1000LL + 3000000LL;
}

/* CODEPIPE_SANDBOX_TRACE: what the run held, and where its time went. */
static void trace_run(struct sandbox *sb, const struct running *r, int test)
{
    volatile long long *ts = sb->shared[r->sh].ts;
    long long now = now_us();
#define SPAN(from, to) (ts[STAGE_##to] - ts[STAGE_##from])
    /* what the tests check: no two runs ever hold one cgroup set or shared page at once */
    fprintf(stderr, "trace run: test %d slot %d cgroup-set %d page %d held %lld..%lld us\n",
            test, r->sh / 2, r->cg, r->sh, r->t_prepared, now);
    fprintf(stderr, "trace test %d: prepared [keeper mounts %lld (workdir %lld) fork %lld cgroup %lld fds %lld privs %lld "
            "nnp %lld seccomp %lld, ready %+lld vs go] go->child %lld exec %lld | exec..reaped %lld | teardown %lld report %lld | go..collected %lld us\n",
            test, SPAN(KEEPER_START, MOUNTS_DONE), ts[STAGE_BASE_MOUNTS] ? SPAN(BASE_MOUNTS, MOUNTS_DONE) : 0,
            SPAN(MOUNTS_DONE, CHILD_START), SPAN(CHILD_START, CGROUP_JOINED), SPAN(CGROUP_JOINED, FDS_SET),
            SPAN(FDS_SET, PRIVS_DROPPED), SPAN(PRIVS_DROPPED, NNP_SET), SPAN(NNP_SET, SECCOMP_LOADED),
            ts[STAGE_SECCOMP_LOADED] - r->t_go, ts[STAGE_GO] - r->t_go, SPAN(GO, EXECED), SPAN(EXECED, PROGRAM_DONE),
            SPAN(PROGRAM_DONE, REPORT_READY), now - ts[STAGE_REPORT_READY], now - r->t_go);
#undef SPAN
}

/* Read the keeper's report; take the cgroup snapshot (before the slot is reused). */
static void collect_run(struct sandbox *sb, struct running *r, struct run_result *res,
                        bool killed, struct keeper_report *rep, bool *ok, struct cg_snapshot *snap)
{
    ssize_t n = killed ? 0 : read(r->rep_fd, rep, sizeof(*rep));
    *ok = n == (ssize_t)sizeof(*rep) && rep->magic == KEEPER_MAGIC;
    if (!*ok) {
        kill(r->keeper, SIGKILL);
        cgroup_kill_slot(sb, r->cg);
        set_ie(&res[r->idx], "the run's keeper died without a report%s",
               killed ? " (helper backstop deadline)" : "");
    }
    cgroup_snapshot(sb, r->cg, snap);
    if (sb->cfg.trace) trace_run(sb, r, res[r->idx].test);
}

/* --progress: runs finished so far, out of all. */
static int runs_finished, runs_total;

static void finish_run(struct sandbox *sb, struct running *r, struct run_result *res,
                       const struct keeper_report *rep, bool ok, const struct cg_snapshot *snap)
{
    classify(sb, snap, ok ? rep : NULL, &res[r->idx]);
    if (sb->cfg.progress) fprintf(stderr, "sandbox: progress %d/%d\n", ++runs_finished, runs_total);
    /* nothing left in its tmpfs mounts: its cgroup set can be reset without waiting */
    if (ok && !rep->tmpfs_used && cg_last_keeper[r->cg] == r->keeper) cg_last_keeper[r->cg] = 0;
    close(r->rep_fd);
    add_zombie(r->keeper);
    r->state = R_FREE;
}

static void abandon_prepared(struct running *r)
{
    if (r->state != R_PREPARED) return;
    close(r->rep_fd);
    kill(r->keeper, SIGKILL);
    add_zombie(r->keeper);
    r->state = R_FREE;
}

static void terminate(struct sandbox *sb, struct running (*rs)[2])
{
    for (int s = 0; s < sb->nslots; s++) {
        for (int k = 0; k < 2; k++) {
            struct running *r = &rs[s][k];
            if (r->state == R_FREE) continue;
            kill(r->keeper, SIGKILL);
            int st;
            waitpid(r->keeper, &st, 0);
        }
    }
    for (int i = 0; i < sb->ncg; i++) cgroup_kill_slot(sb, i);
    for (int i = 0; i < nzombies; i++) kill(zombies[i], SIGKILL);
    reap_zombies(true);
    cgroup_cleanup(sb);
    warnx_("terminated by signal %d", (int)got_signal);
    _exit(128 + (int)got_signal);
}

/* Prepare test idx on slot s (into its "prepared" place).  The run gets the half of the slot
 * (cgroup set and shared page) that the slot's current run does not use: two runs must never
 * share a cgroup set, or each is charged the other's CPU time and memory. */
static bool start_next(struct sandbox *sb, struct running rs[2], int s, int *gen, int idx,
                       struct run_result *res, int single_in, int single_out, int single_err)
{
    struct running *cur = &rs[0], *pre = &rs[1];
    int par = cur->state == R_FREE ? (*gen & 1) : !(cur->sh & 1);
    *gen = par + 1;
    int sh = s * 2 + par;
    int cg = sb->ncg == 2 * sb->nslots ? s * 2 + par : s;
    if (cur->state != R_FREE && cg == cur->cg) {   /* cannot happen: see the callers */
        set_ie(&res[idx], "no free cgroup set for test %d", idx + 1);
        return false;
    }
    /* tests mode: the keeper opens the test's files itself */
    bool single = !sb->cfg.tests;
    return prepare_run(sb, pre, s, cg, sh, idx, res, single ? single_in : -1, single ? single_out : -1,
                       single ? single_err : -1);
}

int main(int argc, char **argv)
{
    struct sandbox *sb = &G;
    memset(sb, 0, sizeof(*sb));
    sb->tests_fd = -1;
    if (parse_config(argc, argv, &sb->cfg) < 0) { usage(); return 2; }
    struct config *c = &sb->cfg;
    sb->uid = sb->gid = c->sandbox_uid;

    if (c->probe) {
        probe_host(&sb->caps, c);
        print_probe(&sb->caps);
        return 0;
    }

    /* Signals: block the terminating ones; ppoll unblocks them atomically. */
    sigset_t block, empty;
    sigemptyset(&block);
    sigemptyset(&empty);
    int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };
    /* a keeper that died before "go" must not kill us through SIGPIPE: EPIPE is enough (the
     * keepers and the program get SIGPIPE back to default) */
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        sigaddset(&block, sigs[i]);
        sigaction(sigs[i], &sa, NULL);
    }
    sigprocmask(SIG_BLOCK, &block, NULL);

    /* Never outlive the caller: if it dies (even SIGKILLed), we get SIGTERM and stop our runs.
     * Set here rather than by the caller between fork and exec, which would cost the caller
     * its fast vfork spawn; a caller that died before this line left us reparented. */
    pid_t caller = getppid();
    prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
    if (getppid() != caller) die("the calling process has exited");

    {
        /* many slots hold many cgroup fds: lift our own soft fd limit */
        struct rlimit nf;
        if (getrlimit(RLIMIT_NOFILE, &nf) == 0 && nf.rlim_cur < nf.rlim_max) {
            nf.rlim_cur = nf.rlim_max > 65536 ? 65536 : nf.rlim_max;
            setrlimit(RLIMIT_NOFILE, &nf);
        }
    }
    {
        FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
        sb->cap_last = 40;
        if (f) { if (fscanf(f, "%d", &sb->cap_last) != 1) sb->cap_last = 40; fclose(f); }
    }

    /* workdir */
    char real[PATH_MAX];
    if (!realpath(c->workdir ? c->workdir : ".", real)) die("workdir %s: %s", c->workdir ? c->workdir : ".", strerror(errno));
    struct stat st;
    if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) die("workdir %s: not a directory", real);
    static const char *const forbidden[] = { "/", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc", "/proc",
                                             "/sys", "/dev", "/boot", "/root", "/tmp", "/var", "/home", NULL };
    for (int i = 0; forbidden[i]; i++)
        if (!strcmp(real, forbidden[i])) die("workdir %s: refusing a system directory", real);
    if (!strncmp(real, "/proc/", 6) || !strncmp(real, "/sys/", 5) || !strncmp(real, "/dev/", 5))
        die("workdir %s: refusing a kernel file system", real);
    sb->workdir_real = strdup(real);
    sb->workdir_under_tmp = !strncmp(real, "/tmp/", 5);
    sb->workdir_rw = c->profile->workdir_rw;
    sb->output_limit = c->output_kb * 1024LL;

    /* program */
    sb->exec_path = resolve_program(c->argv[0], sb->workdir_real);
    if (!sb->exec_path)
        die("program %s: %s", c->argv[0], errno == EACCES ? "not executable" :
            errno == EPERM ? "a symlink inside the workdir (refused)" : "not found");
    {
        /* The seccomp policies allow execve only with this exact pathname pointer.  Put the
         * string at an unguessable address (randomised mmap base + random offset in the page)
         * so that a program cannot fabricate the same pointer for a second execve. */
        size_t len = strlen(sb->exec_path) + 1;
        char *m = mmap(NULL, 8192 + len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) die("mmap: %s", strerror(errno));
        unsigned short rnd = 0;
        if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd)) rnd = (unsigned short)getpid();
        char *at = m + ((rnd % 8192) & ~7u);
        memcpy(at, sb->exec_path, len);
        free(sb->exec_path);
        sb->exec_path = at;
    }
    if (strncmp(sb->exec_path, real, strlen(real)) || sb->exec_path[strlen(real)] != '/') {
        /* it must be visible inside the sandbox: in the workdir or the read-only system dirs */
        char rp[PATH_MAX];
        static const char *const vis[] = { "/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/", "/etc/", NULL };
        bool ok = realpath(sb->exec_path, rp) != NULL;
        size_t wl = strlen(real);
        bool in_box = ok && !strncmp(rp, real, wl) && rp[wl] == '/';
        bool in_sys = false;
        for (int i = 0; ok && vis[i]; i++) if (!strncmp(rp, vis[i], strlen(vis[i]))) in_sys = true;
        if (ok && !in_box && !in_sys && !c->no_ns && (geteuid() == 0))
            die("program %s (%s) would not be visible inside the sandbox: put it in the workdir or /usr", c->argv[0], rp);
    }

    /* tests / single-run files */
    int ntests = 1;
    int single_in = -1, single_out = -1, single_err = -1;
    if (c->tests) {
        char treal[PATH_MAX];
        if (!realpath(c->tests, treal)) die("tests dir %s: %s", c->tests, strerror(errno));
        sb->tests_fd = open(treal, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sb->tests_fd < 0) die("tests dir %s: %s", c->tests, strerror(errno));
        size_t wl = strlen(real);
        if (!strcmp(treal, real) || (!strncmp(treal, real, wl) && treal[wl] == '/'))
            die("tests dir %s must not be inside the workdir %s", treal, real);
        if (faccessat(sb->tests_fd, ".", W_OK, AT_EACCESS) < 0) die("tests dir %s: not writable", treal);
        ntests = 0;
        for (;;) {
            char name[32];
            snprintf(name, sizeof(name), "%d.in", ntests + 1);
            struct stat ts;
            if (fstatat(sb->tests_fd, name, &ts, AT_SYMLINK_NOFOLLOW) < 0) break;
            ntests++;
        }
    } else {
        const char *paths[] = { c->stdin_path, c->stdout_path, c->stderr_path };
        for (int i = 0; i < 3; i++)
            if (paths[i] && path_in_workdir(paths[i], real))
                die("%s must not be inside the workdir %s (the program controls its contents)", paths[i], real);
        single_in = open(c->stdin_path ? c->stdin_path : "/dev/null", O_RDONLY | O_CLOEXEC | (c->stdin_path ? O_NOFOLLOW : 0));
        if (single_in < 0) die("stdin %s: %s", c->stdin_path, strerror(errno));
        if (c->stdout_path) {
            single_out = open_output_path(c->stdout_path);
            if (single_out < 0) die("stdout %s: %s", c->stdout_path, strerror(errno));
        } else if ((single_out = memfd_create("stdout", MFD_CLOEXEC)) < 0) die("memfd: %s", strerror(errno));
        if (c->stderr_path && c->stdout_path && !strcmp(c->stderr_path, c->stdout_path)) {
            single_err = fcntl(single_out, F_DUPFD_CLOEXEC, 3);
            sb->same_out_err = true;
        } else if (c->stderr_path) {
            single_err = open_output_path(c->stderr_path);
            if (single_err < 0) die("stderr %s: %s", c->stderr_path, strerror(errno));
        } else if ((single_err = memfd_create("stderr", MFD_CLOEXEC)) < 0) die("memfd: %s", strerror(errno));
    }

    /* limits */
    sb->pids_max = c->procs + c->profile->threads;
    sb->nslots = (int)(c->parallel < ntests ? c->parallel : (ntests > 0 ? ntests : 1));
    /* two cgroup sets per slot when a slot runs several tests: the next test's child joins
     * the idle one ahead of time */
    sb->ncg = ntests > sb->nslots ? 2 * sb->nslots : sb->nslots;
    sb->shared = mmap(NULL, sizeof(struct slot_shared) * MAX_SLOTS * 2 + sizeof(int), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sb->shared == MAP_FAILED) die("mmap: %s", strerror(errno));
    /* the slots' pages are followed by one int shared by every keeper: the overlay was refused */
    sb->overlay_broken = (volatile int *)(sb->shared + MAX_SLOTS * 2);

    if (sb->workdir_rw && geteuid() == 0 && c->workdir) {   /* never an implicit cwd */
        /* the compiler writes its output into the workdir: hand it to the sandbox uid, through
         * an fd (no path following) */
        int wfd = open(real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (wfd < 0 || fchown(wfd, sb->uid, sb->gid) < 0) die("workdir %s: %s", real, strerror(errno));
        close(wfd);
    }

#define TR(what) do { if (c->trace) fprintf(stderr, "trace setup: %-22s %6lld us\n", what, now_us() - t_setup); } while (0)
    long long t_setup = now_us();
    if (geteuid() == 0 || !c->no_cgroup) cgroup_setup(sb);
    TR("cgroups");
    isolation_setup_once(sb);
    TR("namespaces+mount tree");
    if (c->trace) fprintf(stderr, "trace setup: workdir %s\n", sb->workdir_rw ? "read-write" : workdir_mode_name(sb->caps.workdir));
    /* Not dumpable: processes of the same uid (the program, when we cannot switch uid) cannot
     * ptrace us or read our /proc/PID/environ, mem, fds. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    probe_run_namespaces(sb);
    TR("pid ns probe");
    child_stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (child_stack == MAP_FAILED) die("mmap: %s", strerror(errno));
    if (seccomp_build(sb) < 0) {
        warnx_("warning: seccomp unavailable (%s): running without a system call filter", strerror(errno));
    } else {
        sb->caps.seccomp = true;
    }
    TR("seccomp");
    if (isolation_drop_bounding_once(sb) < 0) die("cannot drop the capability bounding set: %s", strerror(errno));

    struct run_result *res = calloc((size_t)(ntests > 0 ? ntests : 1), sizeof(*res));
    static struct running rs[MAX_SLOTS][2];        /* [slot][0] running, [slot][1] prepared */
    int gen[MAX_SLOTS] = { 0 };
    for (int i = 0; i < ntests; i++) { res[i].test = i + 1; res[i].status = ST_IE; }
    runs_total = ntests;

    for (int s = 0; s < sb->nslots; s++)
        if (pipe2(slot_go[s], O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
    int next = 0, active = 0;
    /* Prepared-ahead runs need the slot's second cgroup set; with no more tests than slots
     * (ncg == nslots) every slot runs at most one test at a time. */
    bool ahead = sb->ncg == 2 * sb->nslots;
    for (;;) {
        if (got_signal) terminate(sb, rs);
        /* First give every idle slot a run, then prepare the next tests ahead: filling one slot
         * completely before the next would put two tests on one slot while another sits idle. */
        for (int s = 0; s < sb->nslots; s++) {
            struct running *cur = &rs[s][0], *pre = &rs[s][1];
            if (cur->state == R_FREE && pre->state == R_PREPARED) {
                *cur = *pre;
                pre->state = R_FREE;
                go_run(sb, cur, s);
            }
            while (cur->state == R_FREE && next < ntests) {
                if (!start_next(sb, rs[s], s, &gen[s], next++, res, single_in, single_out, single_err)) continue;
                active++;
                *cur = *pre;
                pre->state = R_FREE;
                go_run(sb, cur, s);
            }
        }
        for (int s = 0; ahead && s < sb->nslots; s++) {
            struct running *cur = &rs[s][0], *pre = &rs[s][1];
            while (cur->state != R_FREE && pre->state == R_FREE && next < ntests)
                if (start_next(sb, rs[s], s, &gen[s], next++, res, single_in, single_out, single_err)) active++;
        }
        if (!active) break;

        struct pollfd pf[MAX_SLOTS];
        int map[MAX_SLOTS], n = 0;
        long long now = now_us(), next_deadline = LLONG_MAX;
        for (int s = 0; s < sb->nslots; s++) {
            struct running *cur = &rs[s][0];
            if (cur->state != R_RUNNING) continue;
            pf[n].fd = cur->rep_fd;
            pf[n].events = POLLIN;
            pf[n].revents = 0;
            map[n++] = s;
            if (cur->deadline_us < next_deadline) next_deadline = cur->deadline_us;
        }
        long long wait_us = next_deadline - now;
        if (wait_us < 0) wait_us = 0;
        if (nzombies && wait_us > 50000) wait_us = 50000;
        struct timespec ts = { wait_us / 1000000, (wait_us % 1000000) * 1000 };
        int r = ppoll(pf, (nfds_t)n, &ts, &empty);
        if (r < 0 && errno != EINTR) die("ppoll: %s", strerror(errno));
        if (got_signal) terminate(sb, rs);
        now = now_us();
        for (int i = 0; i < n; i++) {
            int s = map[i];
            struct running *cur = &rs[s][0], *pre = &rs[s][1];
            bool done = r > 0 && pf[i].revents;
            bool late = !done && now > cur->deadline_us;
            if (!done && !late) continue;
            if (late) kill(cur->keeper, SIGKILL);
            struct keeper_report rep;
            struct cg_snapshot snap;
            bool ok;
            collect_run(sb, cur, res, late, &rep, &ok, &snap);
            /* a keeper that died without a report did not pass the token on */
            if (!ok) give_token(s);
            /* the prepared run has started (or will, with the token); then the bookkeeping */
            struct running fin = *cur;
            cur->state = R_FREE;
            if (pre->state == R_PREPARED) {
                *cur = *pre;
                pre->state = R_FREE;
                go_run(sb, cur, s);
            }
            finish_run(sb, &fin, res, &rep, ok, &snap);
            active--;
        }
        reap_zombies(false);
    }
    for (int s = 0; s < sb->nslots; s++) abandon_prepared(&rs[s][1]);

    /* Every run has reported, and each keeper reaped everything in its PID namespace before
     * it did: the results are final.  Hand them over and close stdout now, so a caller that
     * reads to EOF need not wait for the keepers' namespace teardown and our cgroup removal
     * (a few ms per invocation), which follow. */
    TR("runs done");
    print_results(res, ntests, c->tests != NULL);
    fflush(stdout);
    close(STDOUT_FILENO);
    reap_zombies(true);
    TR("keepers gone");
    if (c->trace) {
        struct rusage self;
        getrusage(RUSAGE_SELF, &self);
        fprintf(stderr, "trace helper cpu: user %ld us sys %ld us\n",
                self.ru_utime.tv_sec * 1000000L + self.ru_utime.tv_usec, self.ru_stime.tv_sec * 1000000L + self.ru_stime.tv_usec);
    }
    cgroup_cleanup(sb);
    TR("cgroups removed");
    return 0;
}
