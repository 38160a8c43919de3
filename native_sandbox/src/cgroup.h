/* The cgroup backends' interface: cgroup.c (detection, the cgroup_* calls of sandbox.h, what
 * the backends share) dispatches to cgroup_v1.c or cgroup_v2.c.  A backend owns how a set of
 * cgroups is created and removed, how a program child gets into it, and how its CPU time,
 * peak memory and OOM kills are read. */
#ifndef CODEPIPE_CGROUP_H
#define CODEPIPE_CGROUP_H

#include "sandbox.h"

enum { C_MEM, C_PIDS, C_CPU, C_N };
extern const char *const cg_ctl_names[C_N];

/* One controller's hierarchy (v1: one per controller; v2: the three entries are the same). */
struct cg_hier {
    char mount[512];      /* where this hierarchy is mounted */
    char own[512];        /* our cgroup in it, relative to the mount */
    char parent[1100];    /* .../codepipe */
    int parent_fd;        /* O_DIRECTORY fd of parent, for rmdir after pivot_root */
    bool ok;
};
extern struct cg_hier cg_hier[C_N];

/* One cgroup set: what one run is charged to (two per parallel slot). */
struct cg_set {
    char name[48];         /* <pid>-<n>, the set's directory in each parent */
    bool active;
    bool pids_limited;     /* a pids cgroup enforces pids_max */
    int join_fd[3];        /* to join: v1 `tasks` of memory, pids, cpuacct / v2 cgroup.procs */
    int njoin;
    int peak_fd;           /* v1 memory.max_usage_in_bytes / v2 memory.peak (may be -1) */
    int usage_fd;          /* v1 memory.usage_in_bytes / v2 memory.current */
    int failcnt_fd;        /* v1 memory.failcnt */
    int oom_fd;            /* v1 memory.oom_control / v2 memory.events */
    int cpu_fd;            /* v1 cpuacct.usage / v2 cpu.stat */
    int kill_fd;           /* v2 cgroup.kill, or -1 */
    int procs_list_fd;     /* a cgroup.procs (own fd) to enumerate members (for killing) */
    int dir_fd;            /* v2: the set's directory, for clone3(CLONE_INTO_CGROUP); or -1 */
    int lock_fd[C_N];      /* pooled: its directory in each hierarchy, flock()ed while held */
    bool pooled;           /* a pool-<k> set: emptied and kept at exit, not removed */
    long long base_usage;  /* memory usage when the run started */
    long long base_oom, base_failcnt;
    long long base_cpu_ns; /* v2 has no reset: base value */
    /* v2 before 6.12: memory.peak cannot be reset, it is the set's peak since its creation */
    bool peak_lifetime;
    long long peak_at_reset; /* that lifetime peak when the run started */
};

struct cg_backend {
    int version;
    /* helper, once: the codepipe parent(s); stale sets of dead helpers removed */
    int (*create_parents)(void);
    /* helper, once per set: its directories, limits and open files (set->name is given) */
    int (*create_set)(struct cg_set *set, long long mem_limit, long pids_max);
    void (*remove_set)(struct cg_set *set);
    /* helper, before each run of the set: peaks, counters, baselines */
    void (*reset)(struct cg_set *set);
    /* keeper: start the program child in the set; NULL: a CLONE_VM|CLONE_VFORK clone, after
     * which the child calls join itself */
    pid_t (*spawn)(struct cg_set *set, int (*fn)(void *), void *stack_top, void *arg);
    void (*join)(struct cg_set *set);               /* program child: move itself in */
    long long (*cpu_ns)(struct cg_set *set);        /* since the reset, -1 unknown */
    long long (*peak_bytes)(struct cg_set *set);    /* since the reset, -1 unknown */
    bool (*oom)(struct cg_set *set, bool *hit_limit);
    void (*kill)(struct cg_set *set);
};
extern const struct cg_backend cg_v1, cg_v2;

/* cgroup.c: shared by the backends */
bool cg_has_word(const char *list, const char *w);
int cg_open_in(int dfd, const char *name, int flags);
int cg_write_at(int dfd, const char *name, const char *val);
long long cg_keyed_value(int fd, const char *key);
int cg_open_parent(struct cg_hier *h);
void cg_remove_dir(int parent_fd, const char *name, bool kill_file);
void cg_remove_stale(int parent_fd, bool kill_file);
int cg_make_set_dir(const struct cg_hier *h, const char *name);
void cg_join_fds(struct cg_set *set);
void cg_reset_peak(struct cg_set *set, const char *reset);
long long cg_peak_since_reset(struct cg_set *set);
long long cg_usage_since_reset(struct cg_set *set);
void cg_kill_listed(struct cg_set *set);

#endif
