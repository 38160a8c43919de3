/* cgroup v1 backend: one hierarchy per controller (memory, pids, cpuacct), a directory per set
 * in each. */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static int v1_create_parents(void)
{
    for (int k = 0; k < C_N; k++) {
        struct cg_hier *h = &cg_hier[k];
        if (!h->mount[0]) continue;
        if (cg_open_parent(h) < 0) {
            if (k == C_MEM) return -1;
            continue;
        }
        h->ok = true;
        cg_remove_stale(h->parent_fd, false);
    }
    return 0;
}

static int v1_memory(struct cg_set *set, int dfd, long long limit)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%lld", limit);
    cg_write_at(dfd, "memory.swappiness", "0");
    /* a reused (pool) set had another invocation's limits: memsw must never be below the
     * limit, so lift it first.  What the last holder left charged (page cache) stays and is
     * reclaimed as needed: the runs' peaks are measured over the usage at their start. */
    if (set->pooled) cg_write_at(dfd, "memory.memsw.limit_in_bytes", "-1");
    if (cg_write_at(dfd, "memory.limit_in_bytes", buf) < 0) return -1;
    cg_write_at(dfd, "memory.memsw.limit_in_bytes", buf);
    set->peak_fd = cg_open_in(dfd, "memory.max_usage_in_bytes", O_RDWR);
    set->usage_fd = cg_open_in(dfd, "memory.usage_in_bytes", O_RDONLY);
    set->failcnt_fd = cg_open_in(dfd, "memory.failcnt", O_RDWR);
    set->oom_fd = cg_open_in(dfd, "memory.oom_control", O_RDONLY);
    return 0;
}

static int v1_create_set(struct cg_set *set, long long limit, long pids_max)
{
    for (int k = 0; k < C_N; k++) {
        if (!cg_hier[k].ok) continue;
        int dfd = cg_make_set_dir(&cg_hier[k], set->name);
        if (dfd < 0) { if (k == C_MEM) return -1; continue; }
        if (k == C_MEM) {
            if (v1_memory(set, dfd, limit) < 0) { close(dfd); return -1; }
        } else if (k == C_PIDS) {
            char buf[64];
            snprintf(buf, sizeof(buf), "%ld", pids_max);
            cg_write_at(dfd, "pids.max", buf);
        } else if (k == C_CPU) {
            set->cpu_fd = cg_open_in(dfd, "cpuacct.usage", O_RDWR);
        }
        /* Joining: the program child writes "0" to `tasks`, which moves just the calling
         * thread and so skips the global threadgroup rwsem; writing cgroup.procs takes it for
         * writing, an RCU grace period (~10 ms) on every run. The child is single-threaded,
         * so moving the thread moves the process. */
        int pfd = cg_open_in(dfd, "tasks", O_WRONLY);
        if (pfd >= 0) set->join_fd[set->njoin++] = pfd;
        if (set->procs_list_fd < 0) set->procs_list_fd = cg_open_in(dfd, "cgroup.procs", O_RDONLY);
        close(dfd);
    }
    set->pids_limited = cg_hier[C_PIDS].ok;
    return 0;
}

static void v1_remove_set(struct cg_set *set)
{
    for (int k = 0; k < C_N; k++)
        if (cg_hier[k].ok && cg_hier[k].parent_fd >= 0) cg_remove_dir(cg_hier[k].parent_fd, set->name, false);
}

static void v1_reset(struct cg_set *set)
{
    cg_reset_peak(set, "0");
    set->base_oom = cg_keyed_value(set->oom_fd, "oom_kill");
    if (set->failcnt_fd >= 0) write_str_fd(set->failcnt_fd, "0");
    set->base_failcnt = 0;
    if (set->cpu_fd >= 0) write_str_fd(set->cpu_fd, "0");
    set->base_cpu_ns = 0;
}

static long long v1_cpu_ns(struct cg_set *set)
{
    if (set->cpu_fd < 0) return -1;
    long long v = read_ll_fd(set->cpu_fd);
    if (v < 0) return -1;
    return v - set->base_cpu_ns;
}

static bool v1_oom(struct cg_set *set, bool *hit_limit)
{
    long long oom = cg_keyed_value(set->oom_fd, "oom_kill");
    if (read_ll_fd(set->failcnt_fd) > 0) *hit_limit = true;
    return oom >= 0 && set->base_oom >= 0 && oom > set->base_oom;
}

const struct cg_backend cg_v1 = {
    .version = 1,
    .create_parents = v1_create_parents,
    .create_set = v1_create_set,
    .remove_set = v1_remove_set,
    .reset = v1_reset,
    .join = cg_join_fds,
    .cpu_ns = v1_cpu_ns,
    .peak_bytes = cg_peak_since_reset,
    .oom = v1_oom,
    .kill = cg_kill_listed,
};
