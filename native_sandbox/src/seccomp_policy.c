/* seccomp-bpf policies; each profile names one (profile.c).  The filter is built and exported
 * to BPF ONCE per invocation; each program child only has to load the prepared program (cheap).
 *
 *   native    (c, cpp, go) default KILL_PROCESS, tight allowlist (what glibc/libstdc++ programs use).
 *   runtime   (java, python) default ALLOW, denylist: new processes, exec after the first,
 *             non-AF_UNIX sockets, ptrace, mounts, namespaces, keys, bpf, perf, module/kexec,
 *             io_uring, ...
 *   nosocket  (javascript) runtime, and no AF_UNIX sockets either.
 *   compiler  (compile) default ALLOW; processes and exec allowed (gcc runs cc1/as/ld), but the
 *             same wall on network, namespaces, ptrace, mounts, kernel interfaces.
 *   judge     (checker, interactor) the runtime policy and no sockets at all: an AF_UNIX one
 *             fails (EACCES), any other is a kill.
 * Threads are allowed everywhere (clone with CLONE_THREAD); clone3 fails with ENOSYS so that
 * glibc falls back to clone, whose flags we can inspect.  A denied call kills the whole process
 * with SIGSYS, which the helper reports as SV. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/seccomp.h>

#define KILL SCMP_ACT_KILL_PROCESS

static const char *const c_allow[] = {
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
    "pwritev2", "lseek", "close", "fstat", "stat", "lstat", "newfstatat", "statx", "fstatfs",
    "statfs", "access", "faccessat", "faccessat2", "open", "openat", "getdents64", "getdents",
    "getcwd", "readlink", "readlinkat", "brk", "mmap", "munmap", "mremap", "mprotect", "madvise",
    "msync", "mincore", "exit", "exit_group", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
    "rt_sigpending", "rt_sigtimedwait", "rt_sigsuspend", "sigaltstack", "arch_prctl",
    "set_tid_address", "set_robust_list", "get_robust_list", "rseq", "prlimit64", "getrlimit",
    "futex", "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday",
    "time", "getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getresuid",
    "getresgid", "getpgrp", "getpgid", "getsid", "getgroups", "uname", "ioctl", "fcntl", "dup",
    "dup2", "dup3", "pipe", "pipe2", "poll", "ppoll", "select", "pselect6", "getrandom",
    "sched_yield", "sched_getaffinity", "sched_getparam", "sched_getscheduler",
    "sched_get_priority_max", "sched_get_priority_min", "sysinfo", "getrusage", "times",
    "tgkill", "tkill", "mkdir", "mkdirat", "unlink", "unlinkat", "rename", "renameat",
    "renameat2", "rmdir", "ftruncate", "truncate", "fsync", "fdatasync", "fallocate", "umask",
    "chmod", "fchmod", "fchmodat", "alarm", "setitimer", "getitimer", "timer_create",
    "timer_settime", "timer_gettime", "timer_getoverrun", "timer_delete", "pause",
    "restart_syscall", "membarrier", "getcpu", "sched_setaffinity", "copy_file_range",
    "sendfile", "splice", "tee", "eventfd2", "epoll_create1", "epoll_ctl", "epoll_wait",
    "epoll_pwait", "epoll_pwait2", "memfd_create", "mlock", "munlock", "futex_waitv",
    "fadvise64", "readahead", "flock", "utimensat", "futimesat", "link", "linkat", "symlink",
    "symlinkat", "close_range", "chdir", "fchdir", "timerfd_create", "timerfd_settime",
    "timerfd_gettime", "signalfd4", "wait4", "waitid", "sched_setscheduler", "sched_setparam", "setpriority", "getpriority", NULL,
};

/* Dangerous everywhere (java, python, compile). */
static const char *const deny_all[] = {
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root",
    "chroot", "keyctl", "add_key", "request_key", "bpf", "unshare", "setns", "perf_event_open",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
    "swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "iopl", "ioperm", "syslog",
    "userfaultfd", "fanotify_init", "open_by_handle_at", "name_to_handle_at", "lookup_dcookie",
    "move_mount", "open_tree", "fsopen", "fsmount", "fsconfig", "fspick", "mount_setattr",
    "settimeofday", "clock_settime", "adjtimex", "sethostname", "setdomainname", "kcmp",
    "pidfd_getfd", "io_uring_setup", "io_uring_enter", "io_uring_register", "vhangup",
    "uselib", "nfsservctl", "landlock_create_ruleset", "landlock_add_rule",
    "landlock_restrict_self", "seccomp" /* no stacking surprises */, "personality",
    "mbind", "migrate_pages", "move_pages", "set_mempolicy", "get_mempolicy", "vm86", "vm86old",
    "modify_ldt", "process_madvise", "process_mrelease", "pidfd_send_signal", NULL,
};

static int add_names(scmp_filter_ctx ctx, uint32_t action, const char *const *names)
{
    for (; *names; names++) {
        int nr = seccomp_syscall_resolve_name(*names);
        if (nr == __NR_SCMP_ERROR) continue;     /* not on this arch */
        int rc = seccomp_rule_add(ctx, action, nr, 0);
        if (rc < 0 && rc != -EEXIST) return rc;
    }
    return 0;
}

#define NS_FLAGS (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | \
                  CLONE_NEWUTS | CLONE_NEWCGROUP | CLONE_NEWTIME)

#define R(x) do { int rc_ = (x); if (rc_ < 0 && rc_ != -EEXIST) return rc_; } while (0)

/* The one execve the helper itself does: the policies allow only this pathname pointer. */
static uint64_t exec_ptr(const struct side *sd)
{
    return (uint64_t)(uintptr_t)sd->exec_path;
}

static int native_rules(scmp_filter_ctx ctx, const struct sandbox *sb, const struct side *sd)
{
    R(add_names(ctx, SCMP_ACT_ALLOW, c_allow));
    /* threads only */
    R(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                       SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD | NS_FLAGS, CLONE_THREAD)));
    R(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0));
    R(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(execve), 1, SCMP_A0(SCMP_CMP_EQ, exec_ptr(sd))));
    /* prctl: only harmless queries/settings glibc uses */
    R(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1, SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME)));
    R(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1, SCMP_A0(SCMP_CMP_EQ, PR_GET_NAME)));
    R(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1, SCMP_A0(SCMP_CMP_EQ, PR_SET_VMA)));
    /* kill(-1, ...) is harmless inside our PID namespace but not without one. */
    if (sb->caps.ns_pid)
        R(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 0));
    else    /* only pid >= 0 */
        R(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
                           SCMP_A0(SCMP_CMP_MASKED_EQ, 0x80000000u, 0)));
    return 0;
}

/* The wall of every denylist policy.  sock_act: what a non-AF_UNIX socket gets. */
static int deny_common(scmp_filter_ctx ctx, uint32_t sock_act)
{
    R(add_names(ctx, KILL, deny_all));
    R(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0));
    /* no namespaces through clone either */
    unsigned long flags[] = { CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWPID,
                              CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWCGROUP, CLONE_NEWTIME };
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        R(seccomp_rule_add(ctx, KILL, SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, flags[i], flags[i])));
    /* sockets: AF_UNIX only (no network namespace escape needed for that: it's empty anyway) */
    R(seccomp_rule_add(ctx, sock_act, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_NE, AF_UNIX)));
    R(seccomp_rule_add(ctx, sock_act, SCMP_SYS(socketpair), 1, SCMP_A0(SCMP_CMP_NE, AF_UNIX)));
    return 0;
}

/* kill(-1, ...) is harmless inside our PID namespace but not without one. */
static int deny_kill_all(scmp_filter_ctx ctx, const struct sandbox *sb)
{
    if (!sb->caps.ns_pid)
        R(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(kill), 1,
                           SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, 0xffffffffu)));
    return 0;
}

static int runtime_rules(scmp_filter_ctx ctx, const struct sandbox *sb, const struct side *sd)
{
    R(deny_common(ctx, KILL));
    /* no new processes, no exec after the first */
    R(seccomp_rule_add(ctx, KILL, SCMP_SYS(fork), 0));
    R(seccomp_rule_add(ctx, KILL, SCMP_SYS(vfork), 0));
    R(seccomp_rule_add(ctx, KILL, SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0)));
    R(seccomp_rule_add(ctx, KILL, SCMP_SYS(execve), 1, SCMP_A0(SCMP_CMP_NE, exec_ptr(sd))));
    R(seccomp_rule_add(ctx, KILL, SCMP_SYS(execveat), 0));
    return deny_kill_all(ctx, sb);
}

/* runtime, and no sockets of any family either (javascript: Node needs none; an AF_UNIX
 * socket could only reach another run of the same invocation or a host socket file) */
static int nosocket_rules(scmp_filter_ctx ctx, const struct sandbox *sb, const struct side *sd)
{
    R(runtime_rules(ctx, sb, sd));
    R(seccomp_rule_add(ctx, KILL, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX)));
    R(seccomp_rule_add(ctx, KILL, SCMP_SYS(socketpair), 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX)));
    return 0;
}

/* Checkers and interactors, C/C++ binaries or Python scripts: the runtime policy (they may be
 * either), and no socket of any family: they need none, and without sockets they can reach no
 * other run (nor the interactive program) and need no network namespace of their own.
 * AF_UNIX fails instead of killing: glibc asks nscd over one when Python looks up its uid's
 * home directory at start-up, and goes on without it. */
static int judge_rules(scmp_filter_ctx ctx, const struct sandbox *sb, const struct side *sd)
{
    R(runtime_rules(ctx, sb, sd));
    R(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX)));
    R(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socketpair), 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX)));
    return 0;
}

static int compiler_rules(scmp_filter_ctx ctx, const struct sandbox *sb, const struct side *sd)
{
    (void)sd;
    /* the compilers probe for IPv6 support; they just get an error there, the network
     * namespace is empty anyway */
    R(deny_common(ctx, SCMP_ACT_ERRNO(EACCES)));
    return deny_kill_all(ctx, sb);
}
#undef R

struct seccomp_policy {
    uint32_t default_action;
    int (*rules)(scmp_filter_ctx ctx, const struct sandbox *sb, const struct side *sd);
    bool sockets;         /* the program can create (AF_UNIX) sockets */
};
const struct seccomp_policy seccomp_native = { KILL, native_rules, false };
const struct seccomp_policy seccomp_runtime = { SCMP_ACT_ALLOW, runtime_rules, true };
const struct seccomp_policy seccomp_nosocket = { SCMP_ACT_ALLOW, nosocket_rules, false };
const struct seccomp_policy seccomp_compiler = { SCMP_ACT_ALLOW, compiler_rules, true };
const struct seccomp_policy seccomp_judge = { SCMP_ACT_ALLOW, judge_rules, false };

/* Whether a program under this policy can make a socket at all (and so bind an abstract unix
 * socket name, which is per network namespace): such runs get their own network namespace. */
bool seccomp_policy_sockets(const struct seccomp_policy *policy)
{
    return policy->sockets;
}

/* Export the compiled filter to BPF in memory (through a memfd: libseccomp writes to an fd). */
static int export_bpf(scmp_filter_ctx ctx, struct sock_fprog *out)
{
    int mfd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
    if (mfd < 0) return -errno;
    int rc = seccomp_export_bpf(ctx, mfd);
    if (rc < 0) { close(mfd); return rc; }
    off_t len = lseek(mfd, 0, SEEK_END);
    if (len <= 0 || len % sizeof(struct sock_filter)) { close(mfd); return -EINVAL; }
    struct sock_filter *insns = malloc((size_t)len);
    if (!insns || pread(mfd, insns, (size_t)len, 0) != len) { close(mfd); return -EIO; }
    close(mfd);
    out->len = (unsigned short)(len / sizeof(struct sock_filter));
    out->filter = insns;
    return 0;
}

int seccomp_build(struct sandbox *sb, struct side *sd)
{
    const struct seccomp_policy *policy = sd->opt->profile->seccomp;
    scmp_filter_ctx ctx = seccomp_init(policy->default_action);
    if (!ctx) return -1;
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);          /* we set no_new_privs ourselves */
    seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, KILL);    /* i386/x32 entry points */
    /* binary-tree dispatch: fewer instructions per syscall, and a much cheaper attach (the
     * kernel evaluates the filter for every syscall number to build its allow cache) */
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    int rc = policy->rules(ctx, sb, sd);
    if (rc == 0) rc = export_bpf(ctx, &sd->bpf);
    seccomp_release(ctx);
    if (rc < 0) { errno = -rc; return -1; }
    sd->have_bpf = true;
    return 0;
}

/* In the program child, right before execve. */
int seccomp_load_prepared(const struct sock_fprog *prog)
{
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog);
}
