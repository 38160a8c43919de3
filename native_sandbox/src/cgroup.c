/* Per-slot cgroups: detection of the hierarchies, the calls the rest of the helper makes
 * (sandbox.h), dispatched to the v1 or v2 backend (cgroup.h), and what both backends share. */
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const cg_ctl_names[C_N] = { "memory", "pids", "cpuacct" };
struct cg_hier cg_hier[C_N];
static struct cg_set sets[2 * MAX_SLOTS * NSIDES];   /* two per parallel slot (ping-pong) and side */
static const struct cg_backend *backend;

bool cg_has_word(const char *list, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = list; (p = strstr(p, w)); p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == 0 || p[n] == ' ')) return true;
    return false;
}

/* The cgroup mounts, from /proc/self/mountinfo: v1 hierarchies into cg_hier, the first
 * cgroup2 mount into v2mount/v2root. */
static bool read_mounts(char mroot[C_N][512], char *v2mount, char *v2root)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f) return false;
    char line[4096];
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
                if (!cg_hier[k].mount[0] && cg_has_word(opts, cg_ctl_names[k])) {
                    strcpy(cg_hier[k].mount, mnt);
                    strcpy(mroot[k], root);
                }
        }
    }
    fclose(f);
    return true;
}

/* Our own cgroups, from /proc/self/cgroup: v1 ones into cg_hier, the v2 one into v2own. */
static bool read_own(char *v2own, size_t v2own_size)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f) return false;
    char line[4096];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':');
        if (!c1) continue;
        char *c2 = strchr(c1 + 1, ':');
        if (!c2) continue;
        *c2 = 0;
        const char *ctls = c1 + 1, *path = c2 + 1;
        if (!*ctls) { snprintf(v2own, v2own_size, "%s", path); continue; }
        for (int k = 0; k < C_N; k++)
            if (cg_has_word(ctls, cg_ctl_names[k])) snprintf(cg_hier[k].own, sizeof(cg_hier[k].own), "%s", path);
    }
    fclose(f);
    return true;
}

/* Make our path relative to the mount's root (containers mount a sub-tree). */
static void strip_root(char *own, const char *mroot)
{
    size_t rl = strlen(mroot);
    if (rl > 1 && !strncmp(own, mroot, rl)) memmove(own, own + rl, strlen(own + rl) + 1);
    if (!strcmp(own, "/")) own[0] = 0;
}

/* Find the cgroup mounts and our own cgroup: 1 (v1, memory controller mounted), 2, or 0. */
static int cg_detect(void)
{
    char v2mount[512] = "", v2root[512] = "", v2own[512] = "";
    char mroot[C_N][512];
    memset(mroot, 0, sizeof(mroot));
    /* idempotent: --probe detects twice, and a v2 result must not read as v1 mounts */
    for (int k = 0; k < C_N; k++) cg_hier[k].mount[0] = cg_hier[k].own[0] = 0;
    if (!read_mounts(mroot, v2mount, v2root) || !read_own(v2own, sizeof(v2own))) return 0;
    for (int k = 0; k < C_N; k++)
        if (cg_hier[k].mount[0]) strip_root(cg_hier[k].own, mroot[k]);
    if (cg_hier[C_MEM].mount[0]) return 1;

    if (v2mount[0]) {
        char p[700];
        snprintf(p, sizeof(p), "%s/cgroup.controllers", v2mount);
        FILE *cf = fopen(p, "re");
        char buf[512] = "";
        if (cf) { if (!fgets(buf, sizeof(buf), cf)) buf[0] = 0; fclose(cf); }
        if (!cg_has_word(buf, "memory") && !strstr(buf, "memory")) return 0;
        strip_root(v2own, v2root);
        for (int k = 0; k < C_N; k++) { strcpy(cg_hier[k].mount, v2mount); strcpy(cg_hier[k].own, v2own); }
        return 2;
    }
    return 0;
}

int cg_open_in(int dfd, const char *name, int flags)
{
    return openat(dfd, name, flags | O_CLOEXEC | O_NOFOLLOW);
}

int cg_write_at(int dfd, const char *name, const char *val)
{
    int fd = cg_open_in(dfd, name, O_WRONLY);
    if (fd < 0) return -1;
    int r = write_str_fd(fd, val);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

long long cg_keyed_value(int fd, const char *key)
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

/* <mount><own>/codepipe, created if needed and held open. */
int cg_open_parent(struct cg_hier *h)
{
    snprintf(h->parent, sizeof(h->parent), "%s%s/codepipe", h->mount, h->own);
    if (mkdir(h->parent, 0755) < 0 && errno != EEXIST) return -1;
    h->parent_fd = open(h->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    return h->parent_fd < 0 ? -1 : 0;
}

/* Remove <parent>/<name> after killing whatever is left in it (kill_file: v2's cgroup.kill). */
void cg_remove_dir(int parent_fd, const char *name, bool kill_file)
{
    for (int attempt = 0; attempt < 200; attempt++) {
        if (unlinkat(parent_fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT) return;
        if (errno != EBUSY) return;
        int dfd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd >= 0) {
            if (kill_file) cg_write_at(dfd, "cgroup.kill", "1");
            int pf = cg_open_in(dfd, "cgroup.procs", O_RDONLY);
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
void cg_remove_stale(int parent_fd, bool kill_file)
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
    for (int i = 0; i < n; i++) cg_remove_dir(parent_fd, names[i], kill_file);
}

/* A set's directory in one hierarchy (created if needed), as an O_DIRECTORY fd. */
int cg_make_set_dir(const struct cg_hier *h, const char *name)
{
    if (mkdirat(h->parent_fd, name, 0755) < 0 && errno != EEXIST) return -1;
    return openat(h->parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

void cg_join_fds(struct cg_set *set)
{
    for (int i = 0; i < set->njoin; i++) write_str_fd(set->join_fd[i], "0");
}

/* reset: what the peak file takes to start over.  Where it refuses (v2 before 6.12: EIO, or a
 * read-only memory.peak) the file is the set's peak since its creation: the run's own peak is
 * then exact only when the run exceeds every earlier one, and otherwise the keeper's samples
 * of the usage (cg_usage_since_reset) stand in, so that tmpfs pages always count. */
void cg_reset_peak(struct cg_set *set, const char *reset)
{
    if (set->peak_fd >= 0 && !set->peak_lifetime && write_str_fd(set->peak_fd, reset) < 0)
        set->peak_lifetime = true;
    set->base_usage = read_ll_fd(set->usage_fd);
    if (set->base_usage < 0) set->base_usage = 0;
    set->peak_at_reset = set->peak_lifetime ? read_ll_fd(set->peak_fd) : -1;
}

long long cg_peak_since_reset(struct cg_set *set)
{
    if (set->peak_fd < 0) return -1;
    long long peak = read_ll_fd(set->peak_fd);
    if (peak < 0) return -1;
    if (set->peak_lifetime && peak <= set->peak_at_reset) return -1;   /* an earlier run's */
    peak -= set->base_usage;
    return peak < 0 ? 0 : peak;
}

/* The usage now, over the run's start; -1 where the peak file is exact (no sampling needed). */
long long cg_usage_since_reset(struct cg_set *set)
{
    if (set->usage_fd < 0 || (set->peak_fd >= 0 && !set->peak_lifetime)) return -1;
    long long usage = read_ll_fd(set->usage_fd);
    if (usage < 0) return -1;
    usage -= set->base_usage;
    return usage < 0 ? 0 : usage;
}

/* SIGKILL every process the set's cgroup.procs lists. */
void cg_kill_listed(struct cg_set *set)
{
    if (set->procs_list_fd < 0) return;
    char buf[4096];
    ssize_t n = pread(set->procs_list_fd, buf, sizeof(buf) - 1, 0);
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

/* ---------------------------------------------------------------- the pool of sets */

/* The sets are a pool kept under the parents (one per executor: a parent is under the caller's
 * own cgroup), pool-0, pool-1, ...: an invocation holds the ones it uses by flock on their
 * directory in every hierarchy (released by the kernel however the helper ends, SIGKILL
 * included) and leaves them empty at exit.  Every hierarchy, not only the memory one: on v1
 * two callers in different memory cgroups (two containers, two shells) may share the pids and
 * cpuacct parents, and the second one's claim emptied, i.e. SIGKILLed, the first one's running
 * set there.  Removing a memory cgroup that is still charged with page cache (the runs' output
 * files, the program's binary) leaves a dying "zombie" memcg that the kernel frees only when
 * those pages are reclaimed: with a directory per invocation they piled up by the hundreds.
 * More concurrent holders than POOL_MAX: per-invocation sets. */
#define POOL_MAX 64

/* Kill whatever a set's directory still holds (a holder that was SIGKILLed mid-run) and wait
 * until it is empty. */
static void cg_empty_dir(int dfd, bool kill_file)
{
    for (int attempt = 0; attempt < 200; attempt++) {
        char buf[64];
        int pf = cg_open_in(dfd, "cgroup.procs", O_RDONLY);
        ssize_t n = pf >= 0 ? read(pf, buf, sizeof(buf)) : 0;
        if (pf >= 0) close(pf);
        if (n <= 0) return;
        if (kill_file) cg_write_at(dfd, "cgroup.kill", "1");
        struct cg_set tmp = { .procs_list_fd = cg_open_in(dfd, "cgroup.procs", O_RDONLY) };
        cg_kill_listed(&tmp);
        if (tmp.procs_list_fd >= 0) close(tmp.procs_list_fd);
        usleep(5000);
    }
}

/* The hierarchies with a parent of their own (v2, or co-mounted v1 controllers: one). */
static bool own_parent(int h)
{
    if (!cg_hier[h].ok || cg_hier[h].parent_fd < 0) return false;
    for (int e = 0; e < h; e++)
        if (cg_hier[e].ok && cg_hier[e].parent_fd == cg_hier[h].parent_fd) return false;
    return true;
}

static void release_locks(struct cg_set *set)
{
    for (int h = 0; h < C_N; h++)
        if (set->lock_fd[h] >= 0) { close(set->lock_fd[h]); set->lock_fd[h] = -1; }
}

/* Hold pool-<k> in every hierarchy, or in none (false). */
static bool lock_pooled(struct cg_set *set, const char *name)
{
    for (int h = 0; h < C_N; h++) {
        if (!own_parent(h)) continue;
        int pfd = cg_hier[h].parent_fd;
        int dfd = -1;
        if (mkdirat(pfd, name, 0755) == 0 || errno == EEXIST)
            dfd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd >= 0 && flock(dfd, LOCK_EX | LOCK_NB) == 0) { set->lock_fd[h] = dfd; continue; }
        if (dfd >= 0) close(dfd);
        release_locks(set);
        return false;
    }
    return true;
}

/* Take a free pool set: its name into set->name, its locks into set->lock_fd. */
static bool claim_pooled(struct cg_set *set)
{
    for (int k = 0; k < POOL_MAX; k++) {
        char name[32];
        snprintf(name, sizeof(name), "pool-%d", k);
        if (!lock_pooled(set, name)) continue;
        snprintf(set->name, sizeof(set->name), "%s", name);
        set->pooled = true;
        for (int h = 0; h < C_N; h++)
            if (set->lock_fd[h] >= 0) cg_empty_dir(set->lock_fd[h], backend->version == 2);
        return true;
    }
    return false;
}

/* ---------------------------------------------------------------- what sandbox.h offers */

static struct cg_set *active_set(struct sandbox *sb, int slot)
{
    struct cg_set *set = &sets[slot];
    return sb->caps.cgroup && set->active ? set : NULL;
}

/* The sets of one side, with its limits; false when one could not be made. */
static bool create_sets(struct sandbox *sb, struct side *sd)
{
    const struct side_opts *o = sd->opt;
    long long limit = ((long long)o->memory_mb + o->profile->headroom_mb) << 20;
    bool pids_limited = false;
    for (int s = sd->cg_first; s < sd->cg_first + sb->ncg_side; s++) {
        struct cg_set *set = &sets[s];
        if (sb->cfg.no_cgroup_pool || !claim_pooled(set))
            snprintf(set->name, sizeof(set->name), "%d-%d", (int)getpid(), s);
        if (backend->create_set(set, limit, sd->pids_max) < 0) return false;
        set->active = true;
        pids_limited = pids_limited || set->pids_limited;
    }
    sd->mem_limit_bytes = limit;
    sd->pids_cg = pids_limited;
    return true;
}

int cgroup_setup(struct sandbox *sb)
{
    const struct config *cfg = &sb->cfg;
    for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
        struct cg_set *set = &sets[s];
        set->join_fd[0] = set->join_fd[1] = set->join_fd[2] = -1;
        set->peak_fd = set->usage_fd = set->failcnt_fd = set->oom_fd = -1;
        set->cpu_fd = set->kill_fd = set->procs_list_fd = set->dir_fd = -1;
        for (int h = 0; h < C_N; h++) set->lock_fd[h] = -1;
    }
    for (int k = 0; k < C_N; k++) cg_hier[k].parent_fd = -1;

    int ver = cfg->no_cgroup ? 0 : cg_detect();
    if (ver == 0) {
        warnx_("warning: no usable cgroups: memory by RLIMIT_AS, processes by RLIMIT_NPROC, CPU by rusage");
        sb->caps.cgroup = 0;
        return 0;
    }
    backend = ver == 2 ? &cg_v2 : &cg_v1;
    if (backend->create_parents() < 0) {
        warnx_("warning: cannot create cgroups (%s): falling back to rlimits", strerror(errno));
        sb->caps.cgroup = 0;
        return 0;
    }
    for (int i = 0; i < sb->nsides; i++) {
        if (create_sets(sb, &sb->side[i])) continue;
        warnx_("warning: could not create cgroups (%s); falling back to rlimits", strerror(errno));
        cgroup_cleanup(sb);
        for (int j = 0; j < sb->nsides; j++) { sb->side[j].mem_limit_bytes = 0; sb->side[j].pids_cg = false; }
        sb->caps.cgroup = 0;
        return 0;
    }
    sb->caps.cgroup = backend->version;
    return 0;
}

void cgroup_cleanup(struct sandbox *sb)
{
    for (int s = 0; s < sb->ncg; s++) {
        struct cg_set *set = &sets[s];
        if (!set->name[0]) continue;                /* never created */
        if (set->pooled && set->active) backend->kill(set);   /* normally empty already */
        int *fds[] = { &set->join_fd[0], &set->join_fd[1], &set->join_fd[2], &set->peak_fd,
                       &set->usage_fd, &set->failcnt_fd, &set->oom_fd, &set->cpu_fd,
                       &set->kill_fd, &set->procs_list_fd, &set->dir_fd };
        for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
            if (*fds[i] >= 0) { close(*fds[i]); *fds[i] = -1; }
        set->active = false;
        if (!set->pooled) backend->remove_set(set);
        release_locks(set);                                    /* free for the next */
        set->pooled = false;
        set->name[0] = 0;
    }
}

/* Before each run of a slot: reset peaks and counters (helper side). */
void cgroup_reset_slot(struct sandbox *sb, int slot)
{
    struct cg_set *set = active_set(sb, slot);
    if (set) backend->reset(set);
}

/* The keeper starts the program child through here, so that the backend decides how the child
 * gets into its cgroups. */
pid_t cgroup_spawn_child(struct sandbox *sb, int slot, int (*fn)(void *), void *stack_top, void *arg)
{
    struct cg_set *set = active_set(sb, slot);
    if (set && backend->spawn) return backend->spawn(set, fn, stack_top, arg);
    return clone(fn, stack_top, CLONE_VM | CLONE_VFORK | SIGCHLD, arg);
}

/* In the program child: move ourselves into the slot's cgroups. */
void cgroup_join_slot(struct sandbox *sb, int slot)
{
    struct cg_set *set = active_set(sb, slot);
    if (set) backend->join(set);
}

long long cgroup_cpu_ns(struct sandbox *sb, int slot)
{
    struct cg_set *set = active_set(sb, slot);
    return set ? backend->cpu_ns(set) : -1;
}

/* Keeper: the slot's memory usage over the run's start, where the cgroup keeps no resettable
 * peak (else -1): sampled while the run goes and once after it, tmpfs files still there. */
long long cgroup_usage_sample(struct sandbox *sb, int slot)
{
    struct cg_set *set = active_set(sb, slot);
    return set ? cg_usage_since_reset(set) : -1;
}

/* Peak memory of this run according to the cgroup, -1 if unknown. */
long long cgroup_peak_bytes(struct sandbox *sb, int slot)
{
    struct cg_set *set = active_set(sb, slot);
    return set ? backend->peak_bytes(set) : -1;
}

bool cgroup_oom_happened(struct sandbox *sb, int slot, bool *hit_limit)
{
    struct cg_set *set = active_set(sb, slot);
    *hit_limit = false;
    return set ? backend->oom(set, hit_limit) : false;
}

void cgroup_kill_slot(struct sandbox *sb, int slot)
{
    struct cg_set *set = active_set(sb, slot);
    if (set) backend->kill(set);
}

/* For --probe: the codepipe parents we would use. */
void cgroup_describe(FILE *f)
{
    int ver = cg_detect();
    fputs("[", f);
    bool first = true;
    for (int k = 0; k < C_N && ver; k++) {
        if (!cg_hier[k].mount[0]) continue;
        if (ver == 2 && k > 0) break;
        fprintf(f, "%s\"%s%s/codepipe\"", first ? "" : ", ", cg_hier[k].mount, cg_hier[k].own);
        first = false;
    }
    fputs("]", f);
}

int cgroup_detect_version(void)
{
    return cg_detect();
}
