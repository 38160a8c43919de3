/* codepipe sandbox helper: the steps of one invocation.
 *
 *   helper ──clone(NEWPID|NEWNS)──> keeper (PID 1) ──clone(VM|VFORK)──> program
 *
 * The helper prepares everything once (net ns, mount tree, cgroups, seccomp BPF), then runs up
 * to --parallel keepers at a time (scheduler.c).  A keeper mounts /proc, /tmp and (run
 * profiles) the copy-on-write workdir, starts the program, enforces CPU/wall/output limits by
 * polling, reaps everything in its namespace, and reports the program's wait status and rusage
 * back through a pipe (keeper.c). */
#include "sandbox.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

struct sandbox G;

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

static long long t_setup;

static void trace_setup(const char *what)
{
    if (G.cfg.trace) fprintf(stderr, "trace setup: %-22s %6lld us\n", what, now_us() - t_setup);
}

/* Never outlive the caller: if it dies (even SIGKILLed), we get SIGTERM and stop our runs.
 * Set here rather than by the caller between fork and exec, which would cost the caller its
 * fast vfork spawn; a caller that died before this call left us reparented. */
static void follow_caller(void)
{
    pid_t caller = getppid();
    prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
    if (getppid() != caller) die("the calling process has exited");
}

static void own_limits(struct sandbox *sb)
{
    /* many slots hold many cgroup fds: lift our own soft fd limit */
    struct rlimit nf;
    if (getrlimit(RLIMIT_NOFILE, &nf) == 0 && nf.rlim_cur < nf.rlim_max) {
        nf.rlim_cur = nf.rlim_max > 65536 ? 65536 : nf.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nf);
    }
    FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
    sb->cap_last = 40;
    if (f) { if (fscanf(f, "%d", &sb->cap_last) != 1) sb->cap_last = 40; fclose(f); }
}

/* The layers that are set up once per invocation, in this order. */
static void set_up_layers(struct sandbox *sb)
{
    t_setup = now_us();
    if (geteuid() == 0 || !sb->cfg.no_cgroup) cgroup_setup(sb);
    trace_setup("cgroups");
    isolation_setup_once(sb);
    trace_setup("namespaces+mount tree");
    if (sb->cfg.trace) fprintf(stderr, "trace setup: workdir %s\n", sb->side[SIDE_PROGRAM].workdir_rw ? "read-write" : workdir_mode_name(sb->caps.workdir));
    /* Not dumpable: processes of the same uid (the program, when we cannot switch uid) cannot
     * ptrace us or read our /proc/PID/environ, mem, fds. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    isolation_probe_run_ns(sb);
    trace_setup("pid ns probe");
    child_stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (child_stack == MAP_FAILED) die("mmap: %s", strerror(errno));
    sb->caps.seccomp = true;
    for (int i = 0; i < sb->nsides && sb->caps.seccomp; i++) {
        if (seccomp_build(sb, &sb->side[i]) < 0) {
            warnx_("warning: seccomp unavailable (%s): running without a system call filter", strerror(errno));
            sb->caps.seccomp = false;
        }
    }
    trace_setup("seccomp");
    if (isolation_drop_bounding_once(sb) < 0) die("cannot drop the capability bounding set: %s", strerror(errno));
}

/* Interactive mode: each side's box must not see the other's workdir (its keeper takes the
 * other's mount away), which only works when neither contains the other. */
static void check_workdirs_apart(struct sandbox *sb)
{
    const char *a = sb->side[SIDE_PROGRAM].workdir_real, *b = sb->side[SIDE_INTERACTOR].workdir_real;
    size_t la = strlen(a), lb = strlen(b);
    if (!strcmp(a, b) || (!strncmp(a, b, lb) && a[lb] == '/') || (!strncmp(b, a, la) && b[la] == '/'))
        die("the workdir %s and the interactor's workdir %s must be separate directories (neither inside the other)", a, b);
}

/* Each side's workdir, program and limits. */
static void prepare_sides(struct sandbox *sb)
{
    sb->nsides = sb->cfg.interactive ? 2 : 1;
    for (int i = 0; i < sb->nsides; i++) {
        sb->side[i].opt = &sb->cfg.side[i];
        prepare_workdir(&sb->side[i]);
    }
    if (sb->nsides > 1) check_workdirs_apart(sb);
    for (int i = 0; i < sb->nsides; i++) {
        struct side *sd = &sb->side[i];
        sd->output_limit = sd->opt->output_kb * 1024LL;
        prepare_program(sb, sd);
        sd->pids_max = sd->opt->procs + sd->opt->profile->threads;
    }
}

static struct run_result *new_results(struct sandbox *sb, int ntests)
{
    size_t n = (size_t)(ntests > 0 ? ntests : 1);
    struct run_result *res = calloc(n, sizeof(*res));
    struct run_result *ires = sb->nsides > 1 ? calloc(n, sizeof(*ires)) : NULL;
    if (!res || (sb->nsides > 1 && !ires)) die("out of memory");
    for (int i = 0; i < ntests; i++) {
        res[i].test = i + 1;
        res[i].status = ST_IE;
        if (!ires) continue;
        ires[i].test = i + 1;
        ires[i].status = ST_IE;
        res[i].interactor = &ires[i];
    }
    return res;
}

static void trace_helper_cpu(void)
{
    if (!G.cfg.trace) return;
    struct rusage self;
    getrusage(RUSAGE_SELF, &self);
    fprintf(stderr, "trace helper cpu: user %ld us sys %ld us\n",
            self.ru_utime.tv_sec * 1000000L + self.ru_utime.tv_usec, self.ru_stime.tv_sec * 1000000L + self.ru_stime.tv_usec);
}

int main(int argc, char **argv)
{
    struct sandbox *sb = &G;
    memset(sb, 0, sizeof(*sb));
    sb->tests_fd = sb->test_files_fd = -1;
    if (parse_config(argc, argv, &sb->cfg) < 0) { usage(); return 2; }
    sb->uid = sb->gid = sb->cfg.sandbox_uid;
    if (sb->cfg.probe) {
        probe_host(&sb->caps, &sb->cfg);
        print_probe(&sb->caps);
        return 0;
    }
    scheduler_catch_signals();
    follow_caller();
    own_limits(sb);

    prepare_sides(sb);
    struct run_files single;
    int ntests = prepare_files(sb, &single);
    scheduler_plan(sb, ntests);
    hand_over_workdir(sb);
    set_up_layers(sb);

    struct run_result *res = new_results(sb, ntests);
    scheduler_run(sb, res, ntests, &single);
    /* Every run has reported, and each keeper reaped everything in its PID namespace before
     * it did: the results are final.  Hand them over and close stdout now, so a caller that
     * reads to EOF need not wait for the keepers' namespace teardown and our cgroup removal
     * (a few ms per invocation), which follow. */
    trace_setup("runs done");
    print_results(res, ntests, sb->cfg.tests != NULL);
    fflush(stdout);
    close(STDOUT_FILENO);
    scheduler_wait_keepers();
    trace_setup("keepers gone");
    trace_helper_cpu();
    cgroup_cleanup(sb);
    trace_setup("cgroups removed");
    return 0;
}
