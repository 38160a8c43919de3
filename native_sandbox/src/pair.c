/* Interactive mode (--interactor, SPEC §8): one pair supervisor per test.
 *
 *   helper ──fork──> pair ──clone(NEWPID|NEWNS|NEWIPC|NEWUTS[|NEWNET])──> keeper P ── program
 *                         └─clone(NEWPID|NEWNS|NEWIPC|NEWUTS[|NEWNET])──> keeper I ── interactor
 *
 * The pair creates four pipes: the program's stdin and stdout, the interactor's stdin and
 * stdout.  It holds the far end of each and relays (poll, nonblocking writes, no timers in the
 * data path): what the program writes goes to the interactor and into N.out, what the
 * interactor writes goes to the program and into N.iout.  So the two sides share no object at
 * all (each has its own namespaces, cgroup set, /tmp and workdir), and every byte is counted.
 * Each side's stdout is limited to the output limit here (over it: that side is OLE); stderr
 * is limited by the side's keeper as usual.  When a side ends badly (a limit, a signal, its
 * set-up failed) the pair asks the other side's keeper to stop its run (KILL_STOP).  When the
 * interactor ends, what the program still writes is read and dropped until the interactor's
 * keeper has reported, then the program's stdout is closed (its next write: SIGPIPE / EPIPE,
 * always after the interactor's end); when the program ends, what the interactor still writes
 * is read and dropped.  After both keepers reported, the pair sends one report (both keeper
 * reports, both cgroup snapshots, the relay's counts) to the helper, which classifies each
 * side (pair_collect). */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAIR_MAGIC 0x70616972
#define RELAY_CHUNK (64 * 1024)      /* one read from a side's stdout (a pipe holds 64 KiB) */
#define LOG_BUFFER (64 * 1024)       /* N.out / N.iout are written in blocks of this */
#define TOUT_NAME "/tmp/output"      /* in the interactor's tree: copied out as N.tout */

/* What the pair sends the helper. */
struct pair_report {
    int magic;
    bool ok[NSIDES];                 /* the side's keeper reported */
    struct keeper_report rep[NSIDES];
    struct cg_snapshot snap[NSIDES];
    bool over_limit[NSIDES];         /* its stdout went over the output limit */
    long long written[NSIDES];       /* bytes of its stdout (in its log, up to the limit) */
    long long delivered[NSIDES];     /* bytes delivered to its stdin */
    long long eof_us[NSIDES];        /* when we saw its stdout close (0: never) */
};

/* One direction: a side's stdout to the other side's stdin, and its log. */
struct relay {
    int from, to;            /* our ends of the writer's stdout and of the reader's stdin; -1: closed */
    int writer, reader;      /* sides */
    int log_fd;
    long long limit;
    char buf[RELAY_CHUNK];   /* read, not yet delivered */
    size_t off, len;
    char log[LOG_BUFFER];
    size_t log_len;
    bool eof;                /* the writer's stdout is closed (or we closed it) */
};

struct pair {
    struct sandbox *sb;
    int idx;
    int cg[NSIDES], sh[NSIDES];
    pid_t keeper[NSIDES];
    int rep_rd[NSIDES];      /* the keepers' report pipes */
    int go_fd, go_wr;        /* the token pipe of the pair's half of the slot, of the other half */
    bool reported[NSIDES];
    struct relay dir[NSIDES];   /* dir[s]: side s's stdout */
    struct pair_report pr;
};

static void close_fd(int *fd)
{
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

static void log_flush(struct relay *d)
{
    if (d->log_len && d->log_fd >= 0) write_full(d->log_fd, d->log, d->log_len);
    d->log_len = 0;
}

static void log_add(struct relay *d, const char *p, size_t n)
{
    if (d->log_len + n > sizeof(d->log)) log_flush(d);
    if (n > sizeof(d->log)) { write_full(d->log_fd, p, n); return; }
    memcpy(d->log + d->log_len, p, n);
    d->log_len += n;
}

/* Ask side s's keeper to end its run (why: KILL_STOP or KILL_OUTPUT).  The flag is what
 * counts (the keeper looks at it on every tick); the signal only wakes it up now. */
static void request_stop(struct pair *pp, int s, int why)
{
    if (pp->reported[s] || pp->keeper[s] <= 0) return;
    volatile struct slot_shared *sh = &pp->sb->shared[pp->sh[s]];
    if (!sh->stop_request) sh->stop_request = why;
    kill(pp->keeper[s], PAIR_STOP_SIGNAL);
}

/* Did side s end badly (so that the other side must be stopped)? */
static bool ended_badly(const struct pair *pp, int s)
{
    const struct keeper_report *r = &pp->pr.rep[s];
    return !pp->pr.ok[s] || r->setup_errno || r->exec_errno || r->killed_for || pp->pr.over_limit[s] ||
           WIFSIGNALED(r->wstatus);
}

/* The writer's stdout is closed and all of it delivered: the reader sees EOF, but only once
 * the writer's keeper has reported that it ended well.  A writer that ended badly gets its
 * partner stopped instead, which must not race with the partner's own reaction to an EOF. */
static void pass_eof(struct pair *pp, struct relay *d)
{
    if (d->eof && !d->len && d->to >= 0 && pp->reported[d->writer] && !ended_badly(pp, d->writer))
        close_fd(&d->to);
}

/* Deliver what is buffered; the reader gone (EPIPE): drop it, and from now on drop what the
 * writer still sends. */
static void relay_deliver(struct pair *pp, struct relay *d)
{
    while (d->len && d->to >= 0) {
        ssize_t w = write(d->to, d->buf + d->off, d->len);
        if (w > 0) {
            d->off += (size_t)w;
            d->len -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) return;
        close_fd(&d->to);                     /* EPIPE: the reader's side has closed its stdin */
    }
    if (d->to < 0) d->len = 0;
    if (!d->len) d->off = 0;
    pass_eof(pp, d);
}

/* One read from the writer's stdout (only with nothing buffered: the pipe is the buffer, so a
 * flooding writer blocks in its own write and never makes us hold more than one chunk). */
static void relay_read(struct pair *pp, struct relay *d)
{
    if (d->from < 0 || d->len) return;
    ssize_t n = read(d->from, d->buf, sizeof(d->buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
        if (n == 0 && !pp->pr.eof_us[d->writer]) pp->pr.eof_us[d->writer] = now_us();
        d->eof = true;
        close_fd(&d->from);
        relay_deliver(pp, d);
        return;
    }
    long long room = d->limit - pp->pr.written[d->writer];
    if (n > room) {
        n = (ssize_t)room;
        pp->pr.over_limit[d->writer] = true;
        request_stop(pp, d->writer, KILL_OUTPUT);
        d->eof = true;
        close_fd(&d->from);
    }
    log_add(d, d->buf, (size_t)n);
    pp->pr.written[d->writer] += n;
    d->len = d->to >= 0 ? (size_t)n : 0;
    d->off = 0;
    size_t before = d->len;
    relay_deliver(pp, d);
    pp->pr.delivered[d->reader] += (long long)(before - d->len);
}

/* relay_deliver with the count (the buffered part, delivered later). */
static void relay_flush(struct pair *pp, struct relay *d)
{
    size_t before = d->len;
    relay_deliver(pp, d);
    pp->pr.delivered[d->reader] += (long long)(before - d->len);
}

static void read_report(struct pair *pp, int s)
{
    ssize_t n;
    while ((n = read(pp->rep_rd[s], &pp->pr.rep[s], sizeof(pp->pr.rep[s]))) < 0 && errno == EINTR) {}
    pp->pr.ok[s] = n == (ssize_t)sizeof(pp->pr.rep[s]) && pp->pr.rep[s].magic == KEEPER_MAGIC;
    pp->reported[s] = true;
    close_fd(&pp->rep_rd[s]);
    if (ended_badly(pp, s)) request_stop(pp, !s, KILL_STOP);
    else pass_eof(pp, &pp->dir[s]);
    /* the interactor has ended: what the program still writes has nowhere to go and is
     * dropped; after what is readable now, its stdout is closed (SIGPIPE / EPIPE from here
     * on) -- unless the interactor ended badly: then the program is being stopped, and must
     * not die of our SIGPIPE first */
    if (s == SIDE_INTERACTOR) {
        struct relay *d = &pp->dir[SIDE_PROGRAM];
        close_fd(&d->to);
        d->len = 0;
        if (ended_badly(pp, s)) return;
        for (long long before = -1; d->from >= 0 && before != pp->pr.written[SIDE_PROGRAM];) {
            before = pp->pr.written[SIDE_PROGRAM];
            relay_read(pp, d);                 /* logged and dropped */
        }
        close_fd(&d->from);
        d->eof = true;
    }
}

/* The data path: poll both stdouts (when nothing of theirs is buffered), both stdins (when
 * something is), both report pipes.  Until both keepers have reported. */
static void relay_loop(struct pair *pp)
{
    while (!pp->reported[SIDE_PROGRAM] || !pp->reported[SIDE_INTERACTOR]) {
        struct pollfd pf[3 * NSIDES];
        int what[3 * NSIDES], n = 0;      /* 0..NSIDES-1: read dir s; +NSIDES: write dir s; +2N: report s */
        for (int s = 0; s < NSIDES; s++) {
            struct relay *d = &pp->dir[s];
            if (d->from >= 0 && !d->len) { pf[n] = (struct pollfd){ d->from, POLLIN, 0 }; what[n++] = s; }
            if (d->to >= 0 && d->len) { pf[n] = (struct pollfd){ d->to, POLLOUT, 0 }; what[n++] = NSIDES + s; }
            if (!pp->reported[s]) { pf[n] = (struct pollfd){ pp->rep_rd[s], POLLIN, 0 }; what[n++] = 2 * NSIDES + s; }
        }
        if (poll(pf, (nfds_t)n, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        /* data first: a side's last words are relayed before its end is acted upon */
        for (int i = 0; i < n; i++) {
            if (!pf[i].revents || what[i] >= 2 * NSIDES) continue;
            struct relay *d = &pp->dir[what[i] % NSIDES];
            if (what[i] < NSIDES) relay_read(pp, d);
            else relay_flush(pp, d);
        }
        for (int i = 0; i < n; i++)
            if (pf[i].revents && what[i] >= 2 * NSIDES) read_report(pp, what[i] - 2 * NSIDES);
    }
    /* everything of both sides is reaped: what is still in the pipes, then EOF */
    for (int s = 0; s < NSIDES; s++) {
        struct relay *d = &pp->dir[s];
        while (d->from >= 0) {
            relay_read(pp, d);
            if (d->len) { relay_flush(pp, d); d->len = 0; }
            if (d->from >= 0 && !d->eof) {
                struct pollfd p1 = { d->from, POLLIN, 0 };
                if (poll(&p1, 1, 0) <= 0) break;        /* a writer left in degraded mode */
            }
        }
        close_fd(&d->from);
        close_fd(&d->to);
        log_flush(d);
        close_fd(&d->log_fd);
    }
}

/* The slot's turns (scheduler.c): the pair's sides start once it has the token of its half
 * of the slot, and it passes the token to the other half (the slot's next, prepared pair) as
 * soon as both have ended.  The flags are on the program side's page, where the helper looks
 * when a pair died without passing it (pass_dead_turn). */
static void take_turn(struct pair *pp)
{
    char go;
    ssize_t n;
    while ((n = read(pp->go_fd, &go, 1)) < 0 && errno == EINTR) {}
    if (n != 1) _exit(0);                     /* the helper gave up on this test */
    pp->sb->shared[pp->sh[SIDE_PROGRAM]].turn_taken = 1;
}

static void pass_turn(struct pair *pp)
{
    if (write(pp->go_wr, "g", 1) != 1) { /* cannot happen: the pipe has room */ }
    pp->sb->shared[pp->sh[SIDE_PROGRAM]].turn_passed = 1;
}

/* Both sides fail the same way before anything ran (test files, pipes). */
static void __attribute__((noreturn)) pair_setup_failure(struct pair *pp, int stage, int rep_fd)
{
    int e = errno ? errno : EINVAL;
    take_turn(pp);
    pass_turn(pp);
    for (int s = 0; s < NSIDES; s++) {
        pp->pr.ok[s] = true;
        pp->pr.rep[s].magic = KEEPER_MAGIC;
        pp->pr.rep[s].setup_errno = e;
        pp->pr.rep[s].setup_stage = stage;
        pp->pr.snap[s] = (struct cg_snapshot){ -1, -1, false, false };
    }
    write_full(rep_fd, &pp->pr, sizeof(pp->pr));
    _exit(0);
}

static struct pair P;

void pair_main(struct sandbox *sb, int cg, int sh, int idx, int rep_fd, int go_fd, int go_wr)
{
    struct pair *pp = &P;
    memset(pp, 0, sizeof(*pp));
    pp->sb = sb;
    pp->idx = idx;
    pp->go_fd = go_fd;
    pp->go_wr = go_wr;
    pp->pr.magic = PAIR_MAGIC;
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    /* every message of the pair passes through us: like the keepers, we must get the CPU the
     * moment a side writes, also on a loaded host (the keepers' own nice is set by themselves,
     * the programs go back to nice 0) */
    if (setpriority(PRIO_PROCESS, 0, -10) < 0) { /* not root: keep the default */ }
    /* the keepers inherit the mask: the stop signal waits for their sigtimedwait */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, PAIR_STOP_SIGNAL);
    sigprocmask(SIG_BLOCK, &stop, NULL);
    pp->cg[SIDE_PROGRAM] = cg;
    pp->cg[SIDE_INTERACTOR] = sb->side[SIDE_INTERACTOR].cg_first + (cg - sb->side[SIDE_PROGRAM].cg_first);
    pp->sh[SIDE_PROGRAM] = sh;
    pp->sh[SIDE_INTERACTOR] = sh + HALVES;

    /* N.in only numbers the tests (the interactor reads its input from /judge); as in the
     * other modes, a symlink there is refused */
    char name[32];
    errno = 0;
    snprintf(name, sizeof(name), "%d.in", idx + 1);
    int in = openat(sb->tests_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0) pair_setup_failure(pp, STAGE_OPEN_IN, rep_fd);
    close(in);
    static const char *const logs[NSIDES] = { "out", "iout" };
    for (int s = 0; s < NSIDES; s++) {
        snprintf(name, sizeof(name), "%d.%s", idx + 1, logs[s]);
        pp->dir[s].log_fd = open_output_at(sb->tests_fd, name);
        if (pp->dir[s].log_fd < 0) pair_setup_failure(pp, STAGE_OPEN_OUT, rep_fd);
    }

    /* stdin[s], stdout[s], go[s], report[s]: [0] read end, [1] write end */
    int fds[4][NSIDES][2];
    for (int k = 0; k < 4; k++)
        for (int s = 0; s < NSIDES; s++)
            if (pipe2(fds[k][s], O_CLOEXEC) < 0) pair_setup_failure(pp, STAGE_CLONE, rep_fd);
    enum { STDIN, STDOUT, GO, REPORT };
    for (int s = 0; s < NSIDES; s++) {
        struct relay *d = &pp->dir[s];
        d->writer = s;
        d->reader = !s;
        d->from = fds[STDOUT][s][0];
        d->to = fds[STDIN][!s][1];
        d->limit = sb->side[s].output_limit;
        fcntl(d->from, F_SETFL, O_NONBLOCK);
        fcntl(d->to, F_SETFL, O_NONBLOCK);
        pp->rep_rd[s] = fds[REPORT][s][0];
        sb->shared[pp->sh[s]].stop_request = 0;
    }

    for (int s = 0; s < NSIDES; s++) {
        int flags;
        pid_t pid = scheduler_clone_keeper(sb, &sb->side[s], &flags);
        if (pid == 0) {
            /* the keeper holds its own side's ends only: the relay must see EOF and EPIPE */
            int keep[4] = { fds[STDIN][s][0], fds[STDOUT][s][1], fds[GO][s][0], fds[REPORT][s][1] };
            for (int k = 0; k < 4; k++)
                for (int t = 0; t < NSIDES; t++)
                    for (int e = 0; e < 2; e++) {
                        int fd = fds[k][t][e];
                        if (fd != keep[0] && fd != keep[1] && fd != keep[2] && fd != keep[3]) close(fd);
                    }
            for (int t = 0; t < NSIDES; t++) close(pp->dir[t].log_fd);
            close(rep_fd);
            struct keeper_job job = { s, flags, pp->cg[s], pp->sh[s], idx,
                                      { fds[STDIN][s][0], fds[STDOUT][s][1], -1 },
                                      fds[REPORT][s][1], fds[GO][s][0], -1, true };
            keeper_main(sb, &job);
        }
        pp->keeper[s] = pid;
        if (pid < 0) {
            pp->pr.ok[s] = pp->reported[s] = true;
            pp->pr.rep[s].magic = KEEPER_MAGIC;
            pp->pr.rep[s].setup_errno = errno;
            pp->pr.rep[s].setup_stage = STAGE_CLONE;
            close_fd(&pp->rep_rd[s]);
        }
    }
    for (int s = 0; s < NSIDES; s++) {
        close(fds[STDIN][s][0]);
        close(fds[STDOUT][s][1]);
        close(fds[GO][s][0]);
        close(fds[REPORT][s][1]);
    }
    /* prepared: both sides wait for their tokens; ours comes when the slot's previous pair is
     * over.  Then both start as soon as they are ready (the program's wall time runs from its
     * own start) */
    take_turn(pp);
    for (int s = 0; s < NSIDES; s++)
        if (pp->keeper[s] > 0 && write(fds[GO][s][1], "g", 1) != 1) { /* the pipe has room */ }
    for (int s = 0; s < NSIDES; s++)
        if (pp->keeper[s] < 0) request_stop(pp, !s, KILL_STOP);

    relay_loop(pp);
    pass_turn(pp);
    /* both runs are reaped: their cgroup sets hold what they used */
    for (int s = 0; s < NSIDES; s++) cgroup_snapshot(sb, pp->cg[s], &pp->pr.snap[s]);
    write_full(rep_fd, &pp->pr, sizeof(pp->pr));
    close(rep_fd);
    for (int s = 0; s < NSIDES; s++) {
        close(fds[GO][s][1]);
        int st;
        while (pp->keeper[s] > 0 && waitpid(pp->keeper[s], &st, 0) < 0 && errno == EINTR) {}
    }
    _exit(0);
}

/* When side s ended, on one clock: its keeper reaps it some wake-ups after its exit, while its
 * stdout closes at the exit itself (before the parent hears of it), and what the other side
 * does in answer to that EOF comes after it: so the earlier of the two.  (A side that closes
 * its stdout and runs on counts as ended there.)  0: it never ran. */
static long long side_end(const struct pair_report *pr, int s)
{
    long long end = pr->ok[s] ? pr->rep[s].end_us : 0;
    if (end && pr->eof_us[s] && pr->eof_us[s] < end) end = pr->eof_us[s];
    return end;
}

/* Helper: the pair's report -> the test's two results (r and r->interactor).  false: the pair
 * itself died without a report (both IE). */
bool pair_collect(struct sandbox *sb, int rep_fd, bool killed, struct run_result *r, bool *tmpfs_used)
{
    struct pair_report pr;
    ssize_t n = killed ? 0 : read(rep_fd, &pr, sizeof(pr));
    struct run_result *res[NSIDES] = { r, r->interactor };
    if (n != (ssize_t)sizeof(pr) || pr.magic != PAIR_MAGIC) {
        for (int s = 0; s < NSIDES; s++)
            set_ie(res[s], "the pair's supervisor died without a report%s", killed ? " (helper backstop deadline)" : "");
        return false;
    }
    for (int s = 0; s < NSIDES; s++) {
        struct keeper_report rep = pr.rep[s];
        if (!pr.ok[s]) {
            classify(&sb->side[s], &pr.snap[s], NULL, res[s]);
            set_ie(res[s], "the run's keeper died without a report");
            continue;
        }
        res[s]->stopped = rep.killed_for == KILL_STOP;
        if (pr.over_limit[s]) rep.killed_for = KILL_OUTPUT;
        rep.stdout_bytes = pr.written[s];     /* its stdout is the relay's pipe */
        classify(&sb->side[s], &pr.snap[s], &rep, res[s]);
        if (rep.tmpfs_used) *tmpfs_used = true;
    }
    r->interactor_first = side_end(&pr, SIDE_INTERACTOR) < side_end(&pr, SIDE_PROGRAM);
    r->bytes_to_interactor = pr.delivered[SIDE_INTERACTOR];
    r->bytes_from_interactor = pr.delivered[SIDE_PROGRAM];
    return true;
}

/* The interactor's keeper, after its run was reaped: its /tmp/output (a regular file of its
 * own tmpfs, never through a link) becomes N.tout, at most the output limit. */
void pair_copy_tout(struct sandbox *sb, int test)
{
    if (!sb->caps.ns_mount) return;             /* degraded: /tmp would be the host's */
    int src = open(TOUT_NAME, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (src < 0) return;
    struct stat st;
    if (fstat(src, &st) < 0 || !S_ISREG(st.st_mode)) { close(src); return; }
    char name[32];
    snprintf(name, sizeof(name), "%d.tout", test);
    int dst = open_output_at(sb->tests_fd, name);
    if (dst >= 0) {
        static char buf[RELAY_CHUNK];
        long long left = sb->side[SIDE_INTERACTOR].output_limit;
        ssize_t n;
        while (left > 0 && (n = read(src, buf, left < (long long)sizeof(buf) ? (size_t)left : sizeof(buf))) > 0) {
            if (write_full(dst, buf, (size_t)n) < 0) break;
            left -= n;
        }
        close(dst);
    }
    close(src);
    /* copied: its pages need not keep the interactor's cgroup set (and so the slot's next
     * pair) waiting for our namespace to go (tmpfs_used) */
    unlink(TOUT_NAME);
}
