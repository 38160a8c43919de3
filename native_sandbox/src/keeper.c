/* The keeper: PID 1 of one run's PID + mount namespace.  It mounts the run's /proc, /tmp and
 * (run profiles) the copy-on-write overlay of the workdir,
 * starts the program child (which prepares itself and waits for the helper's "go"), enforces
 * CPU / wall / output limits by polling, kills and reaps everything in its namespace, and
 * reports the program's wait status and rusage to the helper through a pipe. */
#define _GNU_SOURCE
#include <sched.h>
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


static long long proc_cpu_us(pid_t pid)
{
    clockid_t cid;
    struct timespec ts;
    if (clock_getcpuclockid(pid, &cid) != 0 || clock_gettime(cid, &ts) != 0) return 0;
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static long long children_cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static long long fsize(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 ? st.st_size : 0;
}

static void kill_all(struct sandbox *sb, int slot, pid_t prog)
{
    if (sb->caps.ns_pid) kill(-1, SIGKILL);          /* we are PID 1: only our namespace */
    else { kill(-prog, SIGKILL); kill(prog, SIGKILL); }
    cgroup_kill_slot(sb, slot);
}

void *child_stack;                  /* mapped once by the helper; each keeper has its own copy */

static int child_fn(void *arg)
{
    isolation_enter_child(&G, arg);
}

/* Tests mode: the keeper opens test idx's files itself (through the helper's tests dir fd,
 * never following links), in parallel with the helper's other work. */
static int open_test_files(struct sandbox *sb, int idx, int *in_fd, int *out_fd, int *err_fd, int *stage)
{
    char name[32];
    snprintf(name, sizeof(name), "%d.in", idx + 1);
    *stage = STAGE_OPEN_IN;
    *in_fd = openat(sb->tests_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (*in_fd < 0) return -1;
    *stage = STAGE_OPEN_OUT;
    snprintf(name, sizeof(name), "%d.out", idx + 1);
    *out_fd = open_output_at(sb->tests_fd, name);
    if (*out_fd < 0) return -1;
    *stage = STAGE_OPEN_ERR;
    snprintf(name, sizeof(name), "%d.err", idx + 1);
    *err_fd = open_output_at(sb->tests_fd, name);
    if (*err_fd < 0) return -1;
    return 0;
}

/* Interactive mode: stdin and stdout are the relay's pipes (given); the keeper opens the
 * side's stderr file (N.err, or N.ierr for the interactor) and, for the interactor, removes a
 * stale N.tout (pair_copy_tout writes it afresh after the run). */
static int open_pair_files(struct sandbox *sb, const struct keeper_job *j, int *err_fd, int *stage)
{
    char name[32];
    *stage = STAGE_OPEN_ERR;
    snprintf(name, sizeof(name), "%d.%s", j->idx + 1, j->side == SIDE_PROGRAM ? "err" : "ierr");
    *err_fd = open_output_at(sb->tests_fd, name);
    if (*err_fd < 0) return -1;
    if (j->side != SIDE_INTERACTOR) return 0;
    snprintf(name, sizeof(name), "%d.tout", j->idx + 1);
    return unlinkat(sb->tests_fd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
}

/* After the run: sizes, truncation to the limit, OutOfMemoryError / MemoryError markers. */
static void measure_outputs(struct sandbox *sb, const struct side *sd, int out_fd, int err_fd, struct keeper_report *rep)
{
    long long limit = sd->output_limit;
    long long o = fsize(out_fd), e = sb->same_out_err ? 0 : fsize(err_fd);
    rep->total_bytes = o + e;
    if (o > limit && ftruncate(out_fd, limit) == 0) o = limit;
    if (e > limit && ftruncate(err_fd, limit) == 0) e = limit;
    rep->stdout_bytes = o;
    rep->stderr_bytes = e;
    bool abnormal = !WIFEXITED(rep->wstatus) || WEXITSTATUS(rep->wstatus) != 0;
    if (abnormal && !sb->same_out_err) rep->oom_marker = stderr_oom_marker(sd, err_fd, e);
}

/* One run, as its keeper sees it. */
struct keeper {
    struct sandbox *sb;
    const struct side *sd;   /* what runs: the job's side */
    struct keeper_job job;
    struct slot_shared *shp;
    struct keeper_report rep;
    sigset_t chld;
    pid_t prog;            /* the program child */
    long long t0, t_end;   /* the program's start ("go") and end */
    bool done;             /* the program was reaped: status is its wait status */
    int status;
};

static void keeper_init(struct keeper *k)
{
    memset(&k->rep, 0, sizeof(k->rep));
    k->rep.magic = KEEPER_MAGIC;
    k->rep.mem_sampled = -1;
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (!k->sb->caps.ns_pid) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    /* the supervisor must get the CPU when a limit is due, even on a loaded host (the program
     * child goes back to nice 0) */
    if (setpriority(PRIO_PROCESS, 0, -10) < 0) { /* not root: keep the default */ }

    /* as PID 1 with default dispositions, signals from inside the namespace are ignored */
    int hsigs[] = { SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT };
    for (size_t i = 0; i < sizeof(hsigs) / sizeof(hsigs[0]); i++) signal(hsigs[i], SIG_DFL);
    sigemptyset(&k->chld);
    sigaddset(&k->chld, SIGCHLD);
    sigaddset(&k->chld, PAIR_STOP_SIGNAL);   /* blocked already by the pair: never lost, never fatal */
    sigprocmask(SIG_BLOCK, &k->chld, NULL);
    k->shp = &k->sb->shared[k->job.sh];
    STAGE(k->shp, STAGE_KEEPER_START);
}

/* The run's files (tests mode) and mounts.  On failure the report says where (setup_stage). */
static int keeper_setup(struct keeper *k)
{
    struct keeper_job *j = &k->job;
    int stage = STAGE_RUN_MOUNTS;
    errno = 0;
    int setup = j->paired ? open_pair_files(k->sb, j, &j->files.err, &stage)
              : j->files.in < 0 ? open_test_files(k->sb, j->idx, &j->files.in, &j->files.out, &j->files.err, &stage) : 0;
    /* a pair: first take the other side's workdir out of this side's tree */
    if (setup == 0 && j->paired) { stage = STAGE_RUN_MOUNTS; setup = isolation_hide_other_workdirs(k->sb, k->sd); }
    if (setup == 0) { stage = STAGE_RUN_MOUNTS; setup = isolation_setup_run(k->sb, k->sd, k->shp); }
    if (setup == 0 && k->sd->judge_files) { stage = STAGE_JUDGE_FILES; setup = isolation_mount_judge(k->sb, j->idx + 1); }
    if (setup < 0) {
        k->rep.setup_errno = errno ? errno : EINVAL;
        k->rep.setup_stage = stage;
    }
    return setup;
}

/* The runs of a slot take turns (scheduler.c): a run's child starts when it reads the token
 * of its half of the slot, and its keeper passes the token to the other half as soon as the
 * run is over.  A keeper whose child never took the token (set-up failed, or the child died
 * before "go") first waits for its turn, so that a run never starts before the one before. */
static void take_turn(struct keeper *k)
{
    if (k->shp->t_go || k->shp->turn_taken) return;
    char go;
    ssize_t gn;
    while ((gn = read(k->job.go_fd, &go, 1)) < 0 && errno == EINTR) {}
    if (gn != 1) _exit(0);                  /* the helper gave up on this test */
    k->shp->turn_taken = 1;
}

static void pass_turn(struct keeper *k)
{
    take_turn(k);
    if (k->job.go_wr < 0) return;           /* a side of a pair: the pair passes the slot's turn */
    if (write(k->job.go_wr, "g", 1) != 1) { /* cannot happen: the pipe has room */ }
    k->shp->turn_passed = 1;
}

/* Set-up failed: still take the slot's token in turn and pass it on, then report. */
static void __attribute__((noreturn)) report_setup_failure(struct keeper *k)
{
    pass_turn(k);
    write_full(k->job.rep_fd, &k->rep, sizeof(k->rep));
    _exit(0);
}

/* Where the cgroup has no resettable peak: the highest usage seen so far. */
static void sample_memory(struct keeper *k)
{
    long long usage = cgroup_usage_sample(k->sb, k->job.cg);
    if (usage > k->rep.mem_sampled) k->rep.mem_sampled = usage;
}

/* Poll every 10 ms until the program exits or a limit is hit (rep.killed_for). */
static void watch_program(struct keeper *k)
{
    struct sandbox *sb = k->sb;
    long long wall_limit_us = k->sd->opt->wall_ms * 1000LL;
    long long cpu_limit_us = k->sd->opt->time_ms * 1000LL;
    int out_fd = k->job.files.out, err_fd = k->job.files.err;
    for (;;) {
        struct timespec tick = { 0, 10 * 1000 * 1000 };
        sigtimedwait(&k->chld, NULL, &tick);
        pid_t w;
        int st;
        while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
            if (w == k->prog) { k->done = true; k->status = st; k->t_end = now_us(); }
        }
        if (k->done) break;
        /* interactive: the pair asks us to end the run (its stdout over the limit, or the
         * other side ended badly); a program that already ended on its own is not "stopped" */
        if (k->shp->stop_request) { k->rep.killed_for = k->shp->stop_request; break; }
        sample_memory(k);
        long long now = now_us();
        if (now - k->t0 > wall_limit_us) { k->rep.killed_for = KILL_WALL; break; }
        long long cpu = cgroup_cpu_ns(sb, k->job.cg);
        cpu = cpu >= 0 ? cpu / 1000 : proc_cpu_us(k->prog) + children_cpu_us();
        if (cpu > cpu_limit_us) { k->rep.killed_for = KILL_CPU; k->rep.cpu_us_polled = cpu; break; }
        if (fsize(out_fd) + (sb->same_out_err ? 0 : fsize(err_fd)) > k->sd->output_limit) { k->rep.killed_for = KILL_OUTPUT; break; }
    }
}

/* Kill and reap everything that is left. */
static void reap_all(struct keeper *k)
{
    struct sandbox *sb = k->sb;
    kill_all(sb, k->job.cg, k->prog);
    if (!k->t_end) k->t_end = now_us();
    for (int rounds = 0;; rounds++) {
        int st;
        pid_t w = waitpid(-1, &st, sb->caps.ns_pid ? 0 : WNOHANG);
        if (w > 0) {
            if (w == k->prog && !k->done) { k->done = true; k->status = st; }
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) break;                                    /* ECHILD: all gone */
        if (rounds > 200) break;                             /* degraded mode: give up */
        kill_all(sb, k->job.cg, k->prog);
        usleep(1000);
    }
}

/* Data pages left in our tmpfs mounts stay charged to the run's cgroup until our mount
 * namespace is gone: the helper then waits for our exit before reusing the cgroup set.
 * (statfs of the overlay reports its upper layer, i.e. our tmpfs.) */
static bool tmpfs_used(struct sandbox *sb, const struct side *sd)
{
    struct statfs fs;
    return statfs("/tmp", &fs) < 0 || fs.f_bfree != fs.f_blocks ||
           (sb->run_overlay && (statfs(sd->workdir_real, &fs) < 0 || fs.f_bfree != fs.f_blocks));
}

static void __attribute__((noreturn)) report(struct keeper *k)
{
    struct keeper_report *rep = &k->rep;
    rep->wstatus = k->status;
    rep->wall_us = k->t_end - k->t0;
    rep->exec_errno = k->shp->exec_errno;
    rep->setup_stage = k->shp->setup_stage;
    /* our run is over: hand the slot's turn to its next run right away */
    pass_turn(k);
    getrusage(RUSAGE_CHILDREN, &rep->ru);
    measure_outputs(k->sb, k->sd, k->job.files.out, k->job.files.err, rep);
    if (k->job.paired && k->job.side == SIDE_INTERACTOR) pair_copy_tout(k->sb, k->job.idx + 1);
    if (k->sb->caps.ns_mount) rep->tmpfs_used = tmpfs_used(k->sb, k->sd);
    rep->end_us = k->t_end;
    STAGE(k->shp, STAGE_REPORT_READY);
    write_full(k->job.rep_fd, rep, sizeof(*rep));
    _exit(0);
}

void keeper_main(struct sandbox *sb, const struct keeper_job *job)
{
    struct keeper k;
    memset(&k, 0, sizeof(k));
    k.sb = sb;
    k.sd = &sb->side[job->side];
    k.job = *job;
    keeper_init(&k);
    int setup = keeper_setup(&k);
    k.shp->exec_errno = 0;
    k.shp->t_go = 0;
    STAGE(k.shp, STAGE_MOUNTS_DONE);
    if (setup < 0) report_setup_failure(&k);

    /* returns once the child has exec'ed the program (after "go") or died */
    struct child_job cj = { k.sd, job->cg, job->sh, k.job.files.in, k.job.files.out, k.job.files.err, job->go_fd };
    k.prog = cgroup_spawn_child(sb, job->cg, child_fn, (char *)child_stack + CHILD_STACK, &cj);
    STAGE(k.shp, STAGE_EXECED);
    k.t0 = k.shp->t_go ? k.shp->t_go : now_us();
    close(job->go_fd);
    if (k.prog < 0) {
        k.rep.setup_errno = errno;
        k.rep.setup_stage = STAGE_CLONE;
        report_setup_failure(&k);
    }
    close(k.job.files.in);
    if (job->paired) {
        /* the relay must see EOF when the program's side closes its stdout or ends */
        close(k.job.files.out);
        k.job.files.out = -1;
    }
    watch_program(&k);
    STAGE(k.shp, STAGE_PROGRAM_DONE);
    reap_all(&k);
    /* stopped: only when our kill is what ended it (it may have died on its own just before) */
    if (k.rep.killed_for == KILL_STOP && !(WIFSIGNALED(k.status) && WTERMSIG(k.status) == SIGKILL))
        k.rep.killed_for = KILL_NONE;
    sample_memory(&k);           /* the run's files are still in its tmpfs mounts */
    if (job->ns_flags & CLONE_NEWIPC) isolation_clear_run_ipc();
    report(&k);
}
