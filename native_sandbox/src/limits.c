/* Resource limits: rlimits (always) and per-slot cgroups (v1, v2, or none). */
#include "sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- rlimits */

static void setrl(int res, rlim_t soft, rlim_t hard)
{
    struct rlimit r = { soft, hard };
    setrlimit(res, &r);
}

/* Called in the program child, before dropping privileges. */
void apply_rlimits(struct sandbox *sb)
{
    const struct config *c = &sb->cfg;
    rlim_t cpu_s = (rlim_t)((c->time_ms + 999) / 1000) + 1;
    setrl(RLIMIT_CPU, cpu_s, cpu_s + 1);
    rlim_t mem = (rlim_t)c->memory_mb << 20;
    setrl(RLIMIT_STACK, mem, mem);
    setrl(RLIMIT_CORE, 0, 0);
    rlim_t fsize = (rlim_t)sb->output_limit + 1;
    rlim_t min_fsize = (rlim_t)c->profile->min_fsize_mb << 20;
    if (fsize < min_fsize) fsize = min_fsize;
    setrl(RLIMIT_FSIZE, fsize, fsize);
    setrl(RLIMIT_NOFILE, (rlim_t)c->profile->nofile, (rlim_t)c->profile->nofile);
    setrl(RLIMIT_MSGQUEUE, 0, 0);
    setrl(RLIMIT_MEMLOCK, 64 << 10, 64 << 10);
    setrl(RLIMIT_RTPRIO, 0, 0);
    setrl(RLIMIT_NICE, 0, 0);
    /* Without a pids cgroup, RLIMIT_NPROC is the process cap (counted per uid). */
    if (!sb->pids_cg) setrl(RLIMIT_NPROC, (rlim_t)sb->pids_max, (rlim_t)sb->pids_max);
    /* Without a memory cgroup, the address space is the only memory wall (not for the JVM,
     * which reserves far more virtual memory than it uses; -Xmx is its limit then). */
    if (sb->mem_limit_bytes <= 0 && c->profile->rlimit_as) {
        rlim_t as = mem + (64ULL << 20);
        setrl(RLIMIT_AS, as, as);
    }
}

/* ---------------------------------------------------------------- cgroups */

enum { C_MEM, C_PIDS, C_CPU, C_N };
static const char *const ctl_names[C_N] = { "memory", "pids", "cpuacct" };

struct cg_ctl {
    char mount[512];      /* where this hierarchy is mounted */
    char own[512];        /* our cgroup in it, relative to the mount */
    char parent[1100];    /* .../codepipe */
    int parent_fd;        /* O_DIRECTORY fd of parent, for rmdir after pivot_root */
    bool ok;
};
static struct cg_ctl ctl[C_N];
static bool v2;
static char slot_names[2 * MAX_SLOTS][48];

static bool has_word(const char *list, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = list; (p = strstr(p, w)); p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == 0 || p[n] == ' ')) return true;
    return false;
}

/* Find the cgroup mounts from /proc/self/mountinfo and our own cgroup from /proc/self/cgroup. */
static int cg_detect(void)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f) return 0;
    char line[4096];
    char v2mount[512] = "", v2root[512] = "";
    char mroot[C_N][512];
    memset(mroot, 0, sizeof(mroot));
    while (fgets(line, sizeof(line), f)) {
        char root[512], mnt[512], fstype[64], opts[1024];
        char *sep = strstr(line, " - ");
        if (!sep) continue;
        if (sscanf(line, "%*s %*s %*s %511s %511s", root, mnt) != 2) continue;
        if (sscanf(sep + 3, "%63s %*s %1023s", fstype, opts) != 2) continue;
        if (!strcmp(fstype, "cgroup2")) {
            if (!v2mount[0]) { strcpy(v2mount, mnt); strcpy(v2root, root); }
        } else if (!strcmp(fstype, "cgroup")) {
            for (int k = 0; k < C_N; k++)
                if (!ctl[k].mount[0] && has_word(opts, ctl_names[k])) {
                    strcpy(ctl[k].mount, mnt);
                    strcpy(mroot[k], root);
                }
        }
    }
    fclose(f);

    f = fopen("/proc/self/cgroup", "re");
    if (!f) return 0;
    char v2own[512] = "";
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':');
        if (!c1) continue;
        char *c2 = strchr(c1 + 1, ':');
        if (!c2) continue;
        *c2 = 0;
        const char *ctls = c1 + 1, *path = c2 + 1;
        if (!*ctls) { snprintf(v2own, sizeof(v2own), "%s", path); continue; }
        for (int k = 0; k < C_N; k++)
            if (has_word(ctls, ctl_names[k])) snprintf(ctl[k].own, sizeof(ctl[k].own), "%s", path);
    }
    fclose(f);

    /* Make our path relative to the mount's root (containers mount a sub-tree). */
    for (int k = 0; k < C_N; k++) {
        if (!ctl[k].mount[0]) continue;
        size_t rl = strlen(mroot[k]);
        if (rl > 1 && !strncmp(ctl[k].own, mroot[k], rl)) memmove(ctl[k].own, ctl[k].own + rl, strlen(ctl[k].own + rl) + 1);
        if (!strcmp(ctl[k].own, "/")) ctl[k].own[0] = 0;
    }
    if (ctl[C_MEM].mount[0]) return 1;

    if (v2mount[0]) {
        char p[700];
        snprintf(p, sizeof(p), "%s/cgroup.controllers", v2mount);
        FILE *cf = fopen(p, "re");
        char buf[512] = "";
        if (cf) { if (!fgets(buf, sizeof(buf), cf)) buf[0] = 0; fclose(cf); }
        if (!has_word(buf, "memory") && !strstr(buf, "memory")) return 0;
        size_t rl = strlen(v2root);
        if (rl > 1 && !strncmp(v2own, v2root, rl)) memmove(v2own, v2own + rl, strlen(v2own + rl) + 1);
        if (!strcmp(v2own, "/")) v2own[0] = 0;
        for (int k = 0; k < C_N; k++) { strcpy(ctl[k].mount, v2mount); strcpy(ctl[k].own, v2own); }
        return 2;
    }
    return 0;
}

static int open_in(int dfd, const char *name, int flags)
{
    return openat(dfd, name, flags | O_CLOEXEC | O_NOFOLLOW);
}

static int write_at(int dfd, const char *name, const char *val)
{
    int fd = open_in(dfd, name, O_WRONLY);
    if (fd < 0) return -1;
    int r = write_str_fd(fd, val);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

/* Remove <parent>/<name> after killing whatever is left in it. */
static void cg_remove_dir(int parent_fd, const char *name)
{
    for (int attempt = 0; attempt < 200; attempt++) {
        if (unlinkat(parent_fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT) return;
        if (errno != EBUSY) return;
        int dfd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd >= 0) {
            if (v2) write_at(dfd, "cgroup.kill", "1");
            int pf = open_in(dfd, "cgroup.procs", O_RDONLY);
            if (pf >= 0) {
                FILE *f = fdopen(pf, "r");
                int pid;
                if (f) {
                    while (fscanf(f, "%d", &pid) == 1)
                        if (pid > 1 && pid != getpid()) kill(pid, SIGKILL);
                    fclose(f);
                } else close(pf);
            }
            close(dfd);
        }
        usleep(5000);
    }
}

/* Remove slot cgroups left by helpers that died without cleaning up (SIGKILL). */
static void cg_remove_stale(int parent_fd)
{
    int dfd = dup(parent_fd);
    if (dfd < 0) return;
    DIR *d = fdopendir(dfd);
    if (!d) { close(dfd); return; }
    struct dirent *de;
    char names[64][64];
    int n = 0;
    while ((de = readdir(d)) && n < 64) {
        int pid, slot;
        char tail;
        if (de->d_type != DT_DIR) continue;
        if (sscanf(de->d_name, "%d-%d%c", &pid, &slot, &tail) != 2) continue;
        if (pid <= 0 || pid == getpid()) continue;
        if (kill(pid, 0) == 0 || errno != ESRCH) continue;
        snprintf(names[n++], sizeof(names[0]), "%d-%d", pid, slot);
    }
    closedir(d);
    for (int i = 0; i < n; i++) cg_remove_dir(parent_fd, names[i]);
}

static bool file_has_word(int dfd, const char *name, const char *w)
{
    char buf[512];
    int fd = open_in(dfd, name, O_RDONLY);
    if (fd < 0) return false;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) return false;
    buf[n] = 0;
    buf[strcspn(buf, "\n")] = 0;
    for (char *p = buf; *p; p++) if (*p == ' ') *p = ',';
    return has_word(buf, w);
}

static void enable_controllers(int dfd)
{
    static const char *const want[] = { "+memory", "+pids", "+cpu" };
    for (int i = 0; i < 3; i++) write_at(dfd, "cgroup.subtree_control", want[i]);
}

static int mkparent(struct cg_ctl *c)
{
    snprintf(c->parent, sizeof(c->parent), "%s%s/codepipe", c->mount, c->own);
    if (v2) {
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
    }
    if (mkdir(c->parent, 0755) < 0 && errno != EEXIST) return -1;
    c->parent_fd = open(c->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (c->parent_fd < 0) return -1;
    if (v2) {
        enable_controllers(c->parent_fd);
        if (!file_has_word(c->parent_fd, "cgroup.subtree_control", "memory")) {
            close(c->parent_fd);
            c->parent_fd = -1;
            errno = EOPNOTSUPP;
            return -1;
        }
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

int cgroup_setup(struct sandbox *sb)
{
    const struct config *cfg = &sb->cfg;
    for (int s = 0; s < 2 * MAX_SLOTS; s++) {
        struct cg_slot *sl = &sb->slots[s];
        sl->procs_fd[0] = sl->procs_fd[1] = sl->procs_fd[2] = -1;
        sl->mem_max_usage_fd = sl->mem_usage_fd = sl->mem_failcnt_fd = sl->mem_oom_fd = -1;
        sl->cpu_usage_fd = sl->kill_fd = sl->procs_list_fd = -1;
    }
    for (int k = 0; k < C_N; k++) ctl[k].parent_fd = -1;

    long long limit = ((long long)cfg->memory_mb + cfg->profile->headroom_mb) << 20;

    int ver = cfg->no_cgroup ? 0 : cg_detect();
    if (ver == 0) {
        warnx_("warning: no usable cgroups: memory by RLIMIT_AS, processes by RLIMIT_NPROC, CPU by rusage");
        sb->caps.cgroup = 0;
        return 0;
    }
    v2 = ver == 2;

    if (v2) {
        /* candidates: under our own cgroup, beside it (own is a leaf with the executor in
         * it: systemd Delegate=yes style), at the root */
        char own[512];
        snprintf(own, sizeof(own), "%s", ctl[C_MEM].own);
        int rc = mkparent(&ctl[C_MEM]);
        if (rc < 0 && own[0]) {
            char *slash = strrchr(ctl[C_MEM].own, '/');
            if (slash) *slash = 0;
            rc = mkparent(&ctl[C_MEM]);
        }
        if (rc < 0 && ctl[C_MEM].own[0]) {
            ctl[C_MEM].own[0] = 0;
            rc = mkparent(&ctl[C_MEM]);
        }
        if (rc < 0 && !own[0] && geteuid() == 0 && v2_evacuate_root(ctl[C_MEM].mount) == 0)
            rc = mkparent(&ctl[C_MEM]);
        {
            if (rc < 0) {
                warnx_("warning: cannot create cgroups (%s): falling back to rlimits", strerror(errno));
                sb->caps.cgroup = 0;
                return 0;
            }
        }
        for (int k = 1; k < C_N; k++) ctl[k] = ctl[C_MEM];
        cg_remove_stale(ctl[C_MEM].parent_fd);
    } else {
        for (int k = 0; k < C_N; k++) {
            if (!ctl[k].mount[0]) continue;
            if (mkparent(&ctl[k]) < 0) {
                if (k == C_MEM) {
                    warnx_("warning: cannot create cgroups (%s): falling back to rlimits", strerror(errno));
                    sb->caps.cgroup = 0;
                    return 0;
                }
                continue;
            }
            cg_remove_stale(ctl[k].parent_fd);
        }
    }

    int made = 0;
    bool v2_pids_ok = false;
    for (int s = 0; s < sb->ncg; s++) {
        struct cg_slot *sl = &sb->slots[s];
        snprintf(slot_names[s], sizeof(slot_names[s]), "%d-%d", (int)getpid(), s);
        int nproc = 0;
        bool fail = false;
        for (int k = 0; k < C_N; k++) {
            if (!ctl[k].ok) continue;
            if (v2 && k > 0) break;                 /* one directory in v2 */
            if (mkdirat(ctl[k].parent_fd, slot_names[s], 0755) < 0 && errno != EEXIST) {
                if (k == C_MEM) { fail = true; break; }
                continue;
            }
            int dfd = openat(ctl[k].parent_fd, slot_names[s], O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
            if (dfd < 0) { if (k == C_MEM) { fail = true; break; } continue; }
            char buf[64];
            if (k == C_MEM) {
                snprintf(buf, sizeof(buf), "%lld", limit);
                if (v2) {
                    if (write_at(dfd, "memory.max", buf) < 0) { close(dfd); fail = true; break; }
                    write_at(dfd, "memory.swap.max", "0");
                    sl->mem_max_usage_fd = open_in(dfd, "memory.peak", O_RDWR);
                    sl->mem_usage_fd = open_in(dfd, "memory.current", O_RDONLY);
                    sl->mem_oom_fd = open_in(dfd, "memory.events", O_RDONLY);
                    sl->cpu_usage_fd = open_in(dfd, "cpu.stat", O_RDONLY);
                    sl->kill_fd = open_in(dfd, "cgroup.kill", O_WRONLY);
                    snprintf(buf, sizeof(buf), "%ld", sb->pids_max);
                    if (write_at(dfd, "pids.max", buf) == 0) v2_pids_ok = true;
                } else {
                    write_at(dfd, "memory.swappiness", "0");
                    if (write_at(dfd, "memory.limit_in_bytes", buf) < 0) { close(dfd); fail = true; break; }
                    write_at(dfd, "memory.memsw.limit_in_bytes", buf);
                    sl->mem_max_usage_fd = open_in(dfd, "memory.max_usage_in_bytes", O_RDWR);
                    sl->mem_usage_fd = open_in(dfd, "memory.usage_in_bytes", O_RDONLY);
                    sl->mem_failcnt_fd = open_in(dfd, "memory.failcnt", O_RDWR);
                    sl->mem_oom_fd = open_in(dfd, "memory.oom_control", O_RDONLY);
                }
            } else if (k == C_PIDS) {
                snprintf(buf, sizeof(buf), "%ld", sb->pids_max);
                write_at(dfd, "pids.max", buf);
            } else if (k == C_CPU) {
                sl->cpu_usage_fd = open_in(dfd, "cpuacct.usage", O_RDWR);
            }
            /* Joining: in v1 the program child writes "0" to `tasks`, which moves just the
             * calling thread and so skips the global threadgroup rwsem; writing cgroup.procs
             * takes it for writing, an RCU grace period (~10 ms) on every run. The child is
             * single-threaded, so moving the thread moves the process. */
            int pfd = open_in(dfd, v2 ? "cgroup.procs" : "tasks", O_WRONLY);
            if (pfd >= 0) sl->procs_fd[nproc++] = pfd;
            if (sl->procs_list_fd < 0) sl->procs_list_fd = open_in(dfd, "cgroup.procs", O_RDONLY);
            close(dfd);
        }
        if (fail) break;
        sl->nprocs_fd = nproc;
        sl->active = true;
        made++;
    }
    if (made < sb->ncg) {
        warnx_("warning: could not create cgroups (%s); falling back to rlimits", strerror(errno));
        cgroup_cleanup(sb);
        sb->caps.cgroup = 0;
        return 0;
    }
    sb->caps.cgroup = ver;
    sb->mem_limit_bytes = limit;
    sb->pids_cg = v2 ? v2_pids_ok : ctl[C_PIDS].ok;
    return 0;
}

void cgroup_cleanup(struct sandbox *sb)
{
    for (int s = 0; s < sb->ncg; s++) {
        struct cg_slot *sl = &sb->slots[s];
        int *fds[] = { &sl->procs_fd[0], &sl->procs_fd[1], &sl->procs_fd[2], &sl->mem_max_usage_fd,
                       &sl->mem_usage_fd, &sl->mem_failcnt_fd, &sl->mem_oom_fd, &sl->cpu_usage_fd,
                       &sl->kill_fd, &sl->procs_list_fd };
        for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
            if (*fds[i] >= 0) { close(*fds[i]); *fds[i] = -1; }
        sl->active = false;
        if (!slot_names[s][0]) continue;
        for (int k = 0; k < C_N; k++) {
            if (!ctl[k].ok || ctl[k].parent_fd < 0) continue;
            if (v2 && k > 0) break;
            cg_remove_dir(ctl[k].parent_fd, slot_names[s]);
        }
        slot_names[s][0] = 0;
    }
}

static long long keyed_value(int fd, const char *key)
{
    char buf[1024];
    if (fd < 0) return -1;
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0) return -1;
    buf[n] = 0;
    size_t kl = strlen(key);
    for (char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (!strncmp(p, key, kl) && p[kl] == ' ') return strtoll(p + kl + 1, NULL, 10);
    }
    return -1;
}

/* Before each run of a slot: reset peaks and counters (helper side). */
void cgroup_reset_slot(struct sandbox *sb, int slot)
{
    struct cg_slot *sl = &sb->slots[slot];
    if (!sb->caps.cgroup || !sl->active) return;
    if (sl->mem_max_usage_fd >= 0 && write_str_fd(sl->mem_max_usage_fd, v2 ? "reset\n" : "0") < 0) {
        /* v2 before 6.12: memory.peak cannot be reset per run; use rusage only */
        close(sl->mem_max_usage_fd);
        sl->mem_max_usage_fd = -1;
    }
    sl->base_usage = read_ll_fd(sl->mem_usage_fd);
    if (sl->base_usage < 0) sl->base_usage = 0;
    if (v2) {
        sl->base_oom = keyed_value(sl->mem_oom_fd, "oom_kill");
        sl->base_failcnt = keyed_value(sl->mem_oom_fd, "max");
        sl->base_cpu_ns = keyed_value(sl->cpu_usage_fd, "usage_usec") * 1000;
    } else {
        sl->base_oom = keyed_value(sl->mem_oom_fd, "oom_kill");
        if (sl->mem_failcnt_fd >= 0) write_str_fd(sl->mem_failcnt_fd, "0");
        sl->base_failcnt = 0;
        if (sl->cpu_usage_fd >= 0) write_str_fd(sl->cpu_usage_fd, "0");
        sl->base_cpu_ns = 0;
    }
}

/* In the program child: move ourselves into the slot's cgroups. */
void cgroup_join_slot(struct sandbox *sb, int slot)
{
    struct cg_slot *sl = &sb->slots[slot];
    if (!sb->caps.cgroup || !sl->active) return;
    for (int i = 0; i < sl->nprocs_fd; i++) write_str_fd(sl->procs_fd[i], "0");
}

long long cgroup_cpu_ns(struct sandbox *sb, int slot)
{
    struct cg_slot *sl = &sb->slots[slot];
    if (!sb->caps.cgroup || !sl->active || sl->cpu_usage_fd < 0) return -1;
    long long v;
    if (v2) {
        v = keyed_value(sl->cpu_usage_fd, "usage_usec");
        if (v < 0) return -1;
        v *= 1000;
    } else {
        v = read_ll_fd(sl->cpu_usage_fd);
        if (v < 0) return -1;
    }
    return v - sl->base_cpu_ns;
}

/* Peak memory of this run according to the cgroup, -1 if unknown. */
long long cgroup_peak_bytes(struct sandbox *sb, int slot)
{
    struct cg_slot *sl = &sb->slots[slot];
    if (!sb->caps.cgroup || !sl->active || sl->mem_max_usage_fd < 0) return -1;
    long long peak = read_ll_fd(sl->mem_max_usage_fd);
    if (peak < 0) return -1;
    peak -= sl->base_usage;
    return peak < 0 ? 0 : peak;
}

bool cgroup_oom_happened(struct sandbox *sb, int slot, bool *hit_limit)
{
    struct cg_slot *sl = &sb->slots[slot];
    *hit_limit = false;
    if (!sb->caps.cgroup || !sl->active) return false;
    long long oom = keyed_value(sl->mem_oom_fd, "oom_kill");
    if (v2) {
        long long mx = keyed_value(sl->mem_oom_fd, "max");
        if (mx > sl->base_failcnt) *hit_limit = true;
    } else {
        long long fc = read_ll_fd(sl->mem_failcnt_fd);
        if (fc > 0) *hit_limit = true;
    }
    return oom >= 0 && sl->base_oom >= 0 && oom > sl->base_oom;
}

void cgroup_kill_slot(struct sandbox *sb, int slot)
{
    struct cg_slot *sl = &sb->slots[slot];
    if (!sb->caps.cgroup || !sl->active) return;
    if (sl->kill_fd >= 0 && write_str_fd(sl->kill_fd, "1") == 0) return;
    if (sl->procs_list_fd < 0) return;
    char buf[4096];
    ssize_t n = pread(sl->procs_list_fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0) return;
    buf[n] = 0;
    for (char *p = buf; *p;) {
        char *end;
        long pid = strtol(p, &end, 10);
        if (end == p) break;
        if (pid > 1 && pid != getpid()) kill((pid_t)pid, SIGKILL);
        p = end;
        while (*p == '\n') p++;
    }
}

/* For --probe: the codepipe parents we would use. */
void cgroup_describe(FILE *f)
{
    int ver = cg_detect();
    fputs("[", f);
    bool first = true;
    for (int k = 0; k < C_N && ver; k++) {
        if (!ctl[k].mount[0]) continue;
        if (ver == 2 && k > 0) break;
        fprintf(f, "%s\"%s%s/codepipe\"", first ? "" : ", ", ctl[k].mount, ctl[k].own);
        first = false;
    }
    fputs("]", f);
}

int cgroup_detect_version(void)
{
    return cg_detect();
}
