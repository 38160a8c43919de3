/* cgroup v2 backend: one unified hierarchy, one directory per set with memory, pids and cpu
 * enabled.  Written to the documented kernel interface; the tested machine is v1. */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

static bool file_has_word(int dfd, const char *name, const char *w)
{
    char buf[512];
    int fd = cg_open_in(dfd, name, O_RDONLY);
    if (fd < 0) return false;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) return false;
    buf[n] = 0;
    buf[strcspn(buf, "\n")] = 0;
    for (char *p = buf; *p; p++) if (*p == ' ') *p = ',';
    return cg_has_word(buf, w);
}

static void enable_controllers(int dfd)
{
    static const char *const want[] = { "+memory", "+pids", "+cpu" };
    for (int i = 0; i < 3; i++) cg_write_at(dfd, "cgroup.subtree_control", want[i]);
}

static int mkparent(struct cg_hier *c)
{
    /* Controllers must be enabled in the base's subtree_control, which the kernel refuses
     * when the base itself has processes (no-internal-processes rule, except the root). */
    char base[1100];
    snprintf(base, sizeof(base), "%s%s", c->mount, c->own);
    int bfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (bfd < 0) return -1;
    enable_controllers(bfd);
    bool ok = file_has_word(bfd, "cgroup.subtree_control", "memory");
    close(bfd);
    if (!ok) return -1;
    if (cg_open_parent(c) < 0) return -1;
    enable_controllers(c->parent_fd);
    if (!file_has_word(c->parent_fd, "cgroup.subtree_control", "memory")) {
        close(c->parent_fd);
        c->parent_fd = -1;
        errno = EOPNOTSUPP;
        return -1;
    }
    c->ok = true;
    return 0;
}

/* cgroup v2 inside a container with a private cgroup namespace: our cgroup is the namespace
 * root and holds the container's processes (the executor, us), so the kernel refuses to enable
 * controllers for children ("no internal processes").  Move those processes into a leaf,
 * <root>/codepipe-procs, as container entrypoints commonly do; then codepipe/ can be created
 * beside it.  Only done as root and only at a namespace root (never in a host's tree). */
static int v2_evacuate_root(const char *mount)
{
    char p[700];
    snprintf(p, sizeof(p), "%s/codepipe-procs", mount);
    if (mkdir(p, 0755) < 0 && errno != EEXIST) return -1;
    snprintf(p, sizeof(p), "%s/codepipe-procs/cgroup.procs", mount);
    int dst = open(p, O_WRONLY | O_CLOEXEC);
    if (dst < 0) return -1;
    snprintf(p, sizeof(p), "%s/cgroup.procs", mount);
    for (int round = 0; round < 5; round++) {
        FILE *f = fopen(p, "re");
        if (!f) break;
        int pid, moved = 0;
        while (fscanf(f, "%d", &pid) == 1) {
            char buf[32];
            snprintf(buf, sizeof(buf), "%d", pid);
            if (write(dst, buf, strlen(buf)) > 0) moved++;
        }
        fclose(f);
        if (!moved) break;
    }
    close(dst);
    return 0;
}

static int v2_create_parents(void)
{
    struct cg_hier *mem = &cg_hier[C_MEM];
    /* candidates: under our own cgroup, beside it (own is a leaf with the executor in
     * it: systemd Delegate=yes style), at the root */
    char own[512];
    snprintf(own, sizeof(own), "%s", mem->own);
    int rc = mkparent(mem);
    if (rc < 0 && own[0]) {
        char *slash = strrchr(mem->own, '/');
        if (slash) *slash = 0;
        rc = mkparent(mem);
    }
    if (rc < 0 && mem->own[0]) {
        mem->own[0] = 0;
        rc = mkparent(mem);
    }
    if (rc < 0 && !own[0] && geteuid() == 0 && v2_evacuate_root(mem->mount) == 0)
        rc = mkparent(mem);
    if (rc < 0) return -1;
    for (int k = 1; k < C_N; k++) cg_hier[k] = *mem;
    cg_remove_stale(mem->parent_fd, true);
    return 0;
}

static int v2_create_set(struct cg_set *set, long long limit, long pids_max)
{
    int dfd = cg_make_set_dir(&cg_hier[C_MEM], set->name);
    if (dfd < 0) return -1;
    char buf[64];
    snprintf(buf, sizeof(buf), "%lld", limit);
    if (cg_write_at(dfd, "memory.max", buf) < 0) { close(dfd); return -1; }
    cg_write_at(dfd, "memory.swap.max", "0");
    set->peak_fd = cg_open_in(dfd, "memory.peak", O_RDWR);
    set->peak_lifetime = set->peak_fd < 0;         /* read-only: no per-fd reset (< 6.12) */
    if (set->peak_fd < 0) set->peak_fd = cg_open_in(dfd, "memory.peak", O_RDONLY);
    set->usage_fd = cg_open_in(dfd, "memory.current", O_RDONLY);
    set->oom_fd = cg_open_in(dfd, "memory.events", O_RDONLY);
    set->cpu_fd = cg_open_in(dfd, "cpu.stat", O_RDONLY);
    set->kill_fd = cg_open_in(dfd, "cgroup.kill", O_WRONLY);
    snprintf(buf, sizeof(buf), "%ld", pids_max);
    set->pids_limited = cg_write_at(dfd, "pids.max", buf) == 0;
    int pfd = cg_open_in(dfd, "cgroup.procs", O_WRONLY);
    if (pfd >= 0) set->join_fd[set->njoin++] = pfd;
    set->procs_list_fd = cg_open_in(dfd, "cgroup.procs", O_RDONLY);
    if (!G.cfg.no_clone_into_cgroup) set->dir_fd = dfd;
    else close(dfd);
    return 0;
}

/* Set by the keeper before it clones the program child, read by that child (CLONE_VM): the
 * kernel put it into its cgroup at birth, there is nothing to join. */
static volatile bool born_in_set;

/* clone3 with CLONE_VM: the child starts on its own stack (stack + stack_size) right after the
 * syscall instruction, so it must not return through our frame; it calls fn(arg) from here and
 * exits with its result (fn normally execs).  x86-64 only; elsewhere -ENOSYS. */
static long clone3_call(struct clone_args *args, int (*fn)(void *), void *arg)
{
#if defined(__x86_64__)
    long ret;
    register int (*r_fn)(void *) __asm__("r12") = fn;
    register void *r_arg __asm__("r13") = arg;
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "xor %%ebp, %%ebp\n\t"
                     "mov %%r13, %%rdi\n\t"
                     "call *%%r12\n\t"
                     "mov %%eax, %%edi\n\t"
                     "mov $60, %%eax\n\t"          /* SYS_exit */
                     "syscall\n\t"
                     "hlt\n"
                     "1:"
                     : "=a"(ret)
                     : "a"((long)SYS_clone3), "D"(args), "S"(sizeof(*args)), "r"(r_fn), "r"(r_arg)
                     : "rcx", "r11", "memory");
    return ret;
#else
    (void)args; (void)fn; (void)arg;
    return -ENOSYS;
#endif
}

/* The program child is born in its set (clone3 CLONE_INTO_CGROUP, kernel >= 5.7): moving a
 * process by writing cgroup.procs takes the global threadgroup rwsem for writing, an RCU grace
 * period per run (v1 avoids it through `tasks`, which v2 has only for threaded cgroups).  Where
 * clone3 is refused, the child joins through cgroup.procs. */
static pid_t v2_spawn(struct cg_set *set, int (*fn)(void *), void *stack_top, void *arg)
{
    if (set->dir_fd >= 0) {
        struct clone_args args;
        memset(&args, 0, sizeof(args));
        args.flags = CLONE_VM | CLONE_VFORK | CLONE_INTO_CGROUP;
        args.exit_signal = SIGCHLD;
        args.stack = (unsigned long long)(uintptr_t)((char *)stack_top - CHILD_STACK);
        args.stack_size = CHILD_STACK;
        args.cgroup = (unsigned long long)set->dir_fd;
        born_in_set = true;
        long pid = clone3_call(&args, fn, arg);
        if (pid > 0) return (pid_t)pid;
        born_in_set = false;
        if (pid != -ENOSYS && pid != -EINVAL && pid != -E2BIG && pid != -EOPNOTSUPP) { errno = (int)-pid; return -1; }
    }
    return clone(fn, stack_top, CLONE_VM | CLONE_VFORK | SIGCHLD, arg);
}

static void v2_join(struct cg_set *set)
{
    if (!born_in_set) cg_join_fds(set);
}

static void v2_remove_set(struct cg_set *set)
{
    if (cg_hier[C_MEM].ok && cg_hier[C_MEM].parent_fd >= 0) cg_remove_dir(cg_hier[C_MEM].parent_fd, set->name, true);
}

static void v2_reset(struct cg_set *set)
{
    cg_reset_peak(set, "reset\n");
    set->base_oom = cg_keyed_value(set->oom_fd, "oom_kill");
    set->base_failcnt = cg_keyed_value(set->oom_fd, "max");
    set->base_cpu_ns = cg_keyed_value(set->cpu_fd, "usage_usec") * 1000;
}

static long long v2_cpu_ns(struct cg_set *set)
{
    if (set->cpu_fd < 0) return -1;
    long long v = cg_keyed_value(set->cpu_fd, "usage_usec");
    if (v < 0) return -1;
    return v * 1000 - set->base_cpu_ns;
}

static bool v2_oom(struct cg_set *set, bool *hit_limit)
{
    long long oom = cg_keyed_value(set->oom_fd, "oom_kill");
    if (cg_keyed_value(set->oom_fd, "max") > set->base_failcnt) *hit_limit = true;
    return oom >= 0 && set->base_oom >= 0 && oom > set->base_oom;
}

static void v2_kill(struct cg_set *set)
{
    if (set->kill_fd >= 0 && write_str_fd(set->kill_fd, "1") == 0) return;
    cg_kill_listed(set);
}

const struct cg_backend cg_v2 = {
    .version = 2,
    .create_parents = v2_create_parents,
    .create_set = v2_create_set,
    .remove_set = v2_remove_set,
    .reset = v2_reset,
    .spawn = v2_spawn,
    .join = v2_join,
    .cpu_ns = v2_cpu_ns,
    .peak_bytes = cg_peak_since_reset,
    .oom = v2_oom,
    .kill = v2_kill,
};
