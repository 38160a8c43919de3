/* The slot scheduler: up to --parallel slots, each running one test at a time and preparing
 * its next one (a keeper that has set everything up and waits for the slot's token) while the
 * current one runs.  Also the helper's terminating signals and its zombie keepers.
 *
 * Each slot has two halves (a cgroup set and a shared page each): the prepared run always
 * gets the half that the slot's current run does not hold. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

/* One invocation's schedule. */
struct sched {
    struct sandbox *sb;
    struct run_result *res;
    int ntests, next, active;
    const struct run_files *single;   /* single-run mode: its files (all -1 in tests mode) */
    struct running rs[MAX_SLOTS][2];  /* [slot][0] running, [slot][1] prepared */
    int gen[MAX_SLOTS];
    int finished;                     /* --progress */
};
static struct sched S;

static volatile sig_atomic_t got_signal;
static void on_signal(int s) { got_signal = s; }

/* Block the terminating signals; the scheduler's ppoll unblocks them atomically. */
void scheduler_catch_signals(void)
{
    sigset_t block;
    sigemptyset(&block);
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
}

/* How many slots, how many cgroup sets, and the slots' shared pages. */
void scheduler_plan(struct sandbox *sb, int ntests)
{
    sb->nslots = (int)(sb->cfg.parallel < ntests ? sb->cfg.parallel : (ntests > 0 ? ntests : 1));
    /* two cgroup sets per slot (and side) when a slot runs several tests: the next test's
     * child joins the idle one ahead of time (interactive mode: the next pair's two) */
    sb->ncg_side = ntests > sb->nslots ? 2 * sb->nslots : sb->nslots;
    sb->ncg = sb->ncg_side * sb->nsides;
    for (int i = 0; i < sb->nsides; i++) sb->side[i].cg_first = i * sb->ncg_side;
    sb->shared = mmap(NULL, sizeof(struct slot_shared) * HALVES * NSIDES + sizeof(int), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sb->shared == MAP_FAILED) die("mmap: %s", strerror(errno));
    /* the slots' pages are followed by one int shared by every keeper: the overlay was refused */
    sb->overlay_broken = (volatile int *)(sb->shared + HALVES * NSIDES);
}

/* ---------------------------------------------------------------- keepers that reported */

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

void scheduler_wait_keepers(void)
{
    reap_zombies(true);
}

/* ---------------------------------------------------------------- one run */

/* One "go" token pipe per half of a slot (indexed like the shared pages): the helper puts the
 * slot's first token into its first run's half; from then on each keeper passes the token to
 * the other half, where the slot's next (prepared) program child waits, the moment its own run
 * is over, without waiting for the helper to wake up.  One pipe per half, not per slot: two
 * children reading one pipe would take the token in any order, and a prepared run could start
 * before the slot's current one (whose backstop deadline would then run out while it waits). */
static int half_go[2 * MAX_SLOTS][2];
static bool slot_started[MAX_SLOTS];

static void give_token(int half)
{
    if (write(half_go[half][1], "g", 1) != 1) { /* cannot happen: the pipe has room */ }
}

/* A keeper died without a report: pass its run's turn on in its stead, after taking the token
 * out of the run's half if its child never did (the run was current: the token is there). */
static void pass_dead_turn(struct sandbox *sb, const struct running *r)
{
    int st;
    while (waitpid(r->keeper, &st, 0) < 0 && errno == EINTR) {}   /* killed: it writes no more */
    volatile struct slot_shared *sh = &sb->shared[r->sh];
    if (sh->turn_passed) return;
    char go;
    if (!sh->t_go && !sh->turn_taken && read(half_go[r->sh][0], &go, 1) != 1) { /* it is there */ }
    give_token(r->sh ^ 1);
}

/* The namespaces of a run's keeper (and so of its program).  IPC: per run, because SysV
 * objects outlive their creator, so with one namespace per invocation a test found what an
 * earlier or a parallel test had left.  Network: per run only where the program can make a
 * socket at all (abstract unix socket names are per network namespace): a network namespace
 * costs far more than the rest of a run's namespaces (README, Performance), and c/cpp
 * programs have no socket call.  That holds for each side of an interactive pair too: a side
 * that can make no socket (c/cpp, the interactor's judge policy) has no network channel to
 * the other, and one that can gets a namespace of its own. */
static int clone_flags(struct sandbox *sb, const struct side *sd)
{
    int f = 0;
    if (sb->caps.ns_pid) f |= CLONE_NEWPID;
    if (sb->caps.ns_mount) f |= CLONE_NEWNS;
    if (sb->caps.ipc_per_run) f |= CLONE_NEWIPC;
    if (sb->caps.net_per_run && seccomp_policy_sockets(sd->opt->profile->seccomp))
        f |= CLONE_NEWNET;
    /* the two sides of a pair share nothing, not even the (read-only) host name */
    if (sb->nsides > 1 && sb->caps.ns_uts) f |= CLONE_NEWUTS;
    return f;
}

/* clone() for a keeper (fork-like: 0 in the child).  Where the kernel refuses the per-run
 * IPC/network namespaces (a namespace limit), the runs share the helper's, with a warning. */
static pid_t clone_keeper(struct sandbox *sb, int *flags)
{
    pid_t pid = (pid_t)syscall(SYS_clone, *flags | SIGCHLD, 0, 0, 0, 0);
    if (pid >= 0 || !(*flags & (CLONE_NEWIPC | CLONE_NEWNET)) || errno == EAGAIN || errno == ENOMEM) return pid;
    warnx_("warning: no per-run IPC/network namespaces (%s): the runs share the invocation's", strerror(errno));
    sb->caps.ipc_per_run = sb->caps.net_per_run = false;
    *flags &= ~(CLONE_NEWIPC | CLONE_NEWNET);
    return (pid_t)syscall(SYS_clone, *flags | SIGCHLD, 0, 0, 0, 0);
}

/* Interactive mode: the pair supervisor (pair.c) clones each side's keeper through here. */
pid_t scheduler_clone_keeper(struct sandbox *sb, const struct side *sd, int *flags)
{
    *flags = clone_flags(sb, sd);
    return clone_keeper(sb, flags);
}

/* Interactive mode: a plain child of ours (in the helper's namespaces) supervises the test's
 * pair: it relays between the two sides' keepers, which it clones itself.  It takes the
 * slot's turns like a keeper (its sides start when it has the token of its half; it passes
 * the token on when both have ended), so the slot's next pair is prepared ahead too. */
static pid_t spawn_pair(struct sandbox *sb, int cg, int sh, int idx, int rep_rd, int rep_wr)
{
    struct side *it = &sb->side[SIDE_INTERACTOR];
    cgroup_reset_slot(sb, it->cg_first + (cg - sb->side[SIDE_PROGRAM].cg_first));
    struct slot_shared *page = &sb->shared[sh + HALVES];
    page->t_go = 0;
    page->turn_taken = page->turn_passed = 0;
    pid_t pid = fork();
    if (pid == 0) {
        close(rep_rd);
        pair_main(sb, cg, sh, idx, rep_wr, half_go[sh][0], half_go[sh ^ 1][1]);
    }
    return pid;
}

/* Spawn the keeper for one test; it sets up its namespaces and waits for "go".  Spawning the
 * next test's keeper while the current test runs hides the namespace/mount set-up. */
static bool prepare_run(struct sandbox *sb, struct running *r, int cg, int sh, int idx,
                        struct run_result *res, const struct run_files *f)
{
    int p[2];
    res[idx].status = ST_IE;
    r->t_prepared = now_us();
    if (cg_last_keeper[cg] > 0) wait_keeper_gone(cg_last_keeper[cg]);   /* reported: exiting */
    cgroup_reset_slot(sb, cg);        /* idle: its previous run was collected */
    struct slot_shared *page = &sb->shared[sh];   /* idle too: its turn flags start over */
    page->t_go = 0;
    page->turn_taken = page->turn_passed = 0;
    if (pipe2(p, O_CLOEXEC) < 0) {
        set_ie(&res[idx], "pipe: %s", strerror(errno));
        return false;
    }
    const struct side *sd = &sb->side[SIDE_PROGRAM];
    int flags = 0;
    pid_t pid = sb->nsides > 1 ? spawn_pair(sb, cg, sh, idx, p[0], p[1]) : clone_keeper(sb, (flags = clone_flags(sb, sd), &flags));
    if (pid == 0) {
        close(p[0]);
        struct keeper_job job = { SIDE_PROGRAM, flags, cg, sh, idx, *f, p[1], half_go[sh][0], half_go[sh ^ 1][1], false };
        keeper_main(sb, &job);
    }
    int e = errno;
    close(p[1]);
    if (f->in >= 0) { close(f->in); close(f->out); close(f->err); }   /* single mode: the keeper has them */
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
 * one comes from us, later ones from the previous keeper (written before its report) or, when
 * that one died, from pass_dead_turn. */
static void go_run(struct sched *q, int s)
{
    struct running *cur = &q->rs[s][0], *pre = &q->rs[s][1];
    *cur = *pre;
    pre->state = R_FREE;
    cur->t_go = now_us();
    if (!slot_started[s]) {
        slot_started[s] = true;
        give_token(cur->sh);
    }
    cur->state = R_RUNNING;
    /* the backstop: the longest wall limit of the run's sides (the interactor's has a grace) */
    long wall_ms = q->sb->side[q->sb->nsides - 1].opt->wall_ms;
    if (q->sb->side[SIDE_PROGRAM].opt->wall_ms > wall_ms) wall_ms = q->sb->side[SIDE_PROGRAM].opt->wall_ms;
    cur->deadline_us = cur->t_go + wall_ms * 1000LL + 3000000LL;
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

/* The run's result is final (res[r->idx]). */
static void finish_run(struct sched *q, struct running *r, bool ok, bool tmpfs_used)
{
    if (q->sb->cfg.progress) fprintf(stderr, "sandbox: progress %d/%d\n", ++q->finished, q->ntests);
    /* nothing left in its tmpfs mounts: its cgroup set can be reset without waiting */
    if (ok && !tmpfs_used && cg_last_keeper[r->cg] == r->keeper) cg_last_keeper[r->cg] = 0;
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

static void terminate(struct sched *q)
{
    struct sandbox *sb = q->sb;
    for (int s = 0; s < sb->nslots; s++) {
        for (int k = 0; k < 2; k++) {
            struct running *r = &q->rs[s][k];
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

/* ---------------------------------------------------------------- the slots */

/* Prepare test idx on slot s (into its "prepared" place).  The run gets the half of the slot
 * (cgroup set and shared page) that the slot's current run does not use: two runs must never
 * share a cgroup set, or each is charged the other's CPU time and memory. */
static bool start_next(struct sched *q, int s, int idx)
{
    struct sandbox *sb = q->sb;
    struct running *cur = &q->rs[s][0], *pre = &q->rs[s][1];
    int par = cur->state == R_FREE ? (q->gen[s] & 1) : !(cur->sh & 1);
    int sh = s * 2 + par;
    int cg = sb->ncg_side == 2 * sb->nslots ? s * 2 + par : s;
    if (cur->state != R_FREE && cg == cur->cg) {   /* cannot happen: see the callers */
        set_ie(&q->res[idx], "no free cgroup set for test %d", idx + 1);
        return false;
    }
    /* tests mode: the keeper opens the test's files itself (q->single is all -1) */
    if (!prepare_run(sb, pre, cg, sh, idx, q->res, q->single)) return false;
    /* the halves alternate; a half whose run could not be prepared keeps the slot's turn */
    q->gen[s] = par + 1;
    return true;
}

/* First give every idle slot a run, then prepare the next tests ahead: filling one slot
 * completely before the next would put two tests on one slot while another sits idle. */
static void start_idle_slots(struct sched *q)
{
    for (int s = 0; s < q->sb->nslots; s++) {
        struct running *cur = &q->rs[s][0], *pre = &q->rs[s][1];
        if (cur->state == R_FREE && pre->state == R_PREPARED) go_run(q, s);
        while (cur->state == R_FREE && q->next < q->ntests) {
            if (!start_next(q, s, q->next++)) continue;
            q->active++;
            go_run(q, s);
        }
    }
}

/* Prepared-ahead runs need the slot's second cgroup set; with no more tests than slots
 * (ncg_side == nslots) every slot runs at most one test at a time. */
static void prepare_ahead(struct sched *q)
{
    if (q->sb->ncg_side != 2 * q->sb->nslots) return;
    for (int s = 0; s < q->sb->nslots; s++) {
        struct running *cur = &q->rs[s][0], *pre = &q->rs[s][1];
        while (cur->state != R_FREE && pre->state == R_FREE && q->next < q->ntests)
            if (start_next(q, s, q->next++)) q->active++;
    }
}

/* Interactive mode: slot s's pair has reported (or is late). */
static void complete_pair(struct sched *q, int s, bool late)
{
    struct sandbox *sb = q->sb;
    struct running *cur = &q->rs[s][0], *pre = &q->rs[s][1];
    if (late) kill(cur->keeper, SIGKILL);
    bool tmpfs_used = false;
    bool ok = pair_collect(sb, cur->rep_fd, late, &q->res[cur->idx], &tmpfs_used);
    if (!ok) {
        kill(cur->keeper, SIGKILL);     /* its keepers die with it (PDEATHSIG) */
        cgroup_kill_slot(sb, cur->cg);
        cgroup_kill_slot(sb, sb->side[SIDE_INTERACTOR].cg_first + (cur->cg - sb->side[SIDE_PROGRAM].cg_first));
        pass_dead_turn(sb, cur);
    }
    if (sb->cfg.trace) trace_run(sb, cur, q->res[cur->idx].test);
    struct running fin = *cur;
    cur->state = R_FREE;
    if (pre->state == R_PREPARED) go_run(q, s);
    finish_run(q, &fin, ok, tmpfs_used);
    q->active--;
}

/* Slot s's current run has reported (or is past the backstop deadline: late). */
static void complete_run(struct sched *q, int s, bool late)
{
    struct running *cur = &q->rs[s][0], *pre = &q->rs[s][1];
    if (q->sb->nsides > 1) { complete_pair(q, s, late); return; }
    if (late) kill(cur->keeper, SIGKILL);
    struct keeper_report rep;
    struct cg_snapshot snap;
    bool ok;
    collect_run(q->sb, cur, q->res, late, &rep, &ok, &snap);
    /* a keeper that died without a report may not have passed the turn on */
    if (!ok) pass_dead_turn(q->sb, cur);
    /* the prepared run has started (or will, with the token); then the bookkeeping */
    struct running fin = *cur;
    cur->state = R_FREE;
    if (pre->state == R_PREPARED) go_run(q, s);
    classify(&q->sb->side[SIDE_PROGRAM], &snap, ok ? &rep : NULL, &q->res[fin.idx]);
    finish_run(q, &fin, ok, ok && rep.tmpfs_used);
    q->active--;
}

/* Wait for a report, the next backstop deadline or a signal; then complete what is done. */
static void wait_for_reports(struct sched *q)
{
    struct pollfd pf[MAX_SLOTS];
    int map[MAX_SLOTS], n = 0;
    long long now = now_us(), next_deadline = LLONG_MAX;
    for (int s = 0; s < q->sb->nslots; s++) {
        struct running *cur = &q->rs[s][0];
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
    sigset_t empty;
    sigemptyset(&empty);
    int r = ppoll(pf, (nfds_t)n, &ts, &empty);
    if (r < 0 && errno != EINTR) die("ppoll: %s", strerror(errno));
    if (got_signal) terminate(q);
    now = now_us();
    for (int i = 0; i < n; i++) {
        bool done = r > 0 && pf[i].revents;
        bool late = !done && now > q->rs[map[i]][0].deadline_us;
        if (done || late) complete_run(q, map[i], late);
    }
}

/* Run every test; res[i] is test i+1's result when this returns.  single: the files of a
 * single run (all -1 in tests mode, where each keeper opens its test's files). */
void scheduler_run(struct sandbox *sb, struct run_result *res, int ntests, const struct run_files *single)
{
    struct sched *q = &S;
    q->sb = sb;
    q->res = res;
    q->ntests = ntests;
    q->single = single;
    for (int s = 0; s < sb->nslots; s++)
        for (int h = 2 * s; h < 2 * s + 2; h++)
            if (pipe2(half_go[h], O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
    for (;;) {
        if (got_signal) terminate(q);
        start_idle_slots(q);
        prepare_ahead(q);
        if (!q->active) break;
        wait_for_reports(q);
        reap_zombies(false);
    }
    for (int s = 0; s < sb->nslots; s++) abandon_prepared(&q->rs[s][1]);
}
