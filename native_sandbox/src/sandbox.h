/* codepipe sandbox helper — shared declarations.  See README.md for the design. */
#ifndef CODEPIPE_SANDBOX_H
#define CODEPIPE_SANDBOX_H

#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <linux/filter.h>

#define SANDBOX_PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define DEFAULT_SANDBOX_UID 64000
#include "ranges.h"
#define MAX_SLOTS RANGE_PARALLEL_MAX
/* The shared pages: one per half of a slot (2 * MAX_SLOTS) and side; side k of the run in half
 * h uses page h + k * HALVES. */
#define HALVES (2 * MAX_SLOTS)

/* How a runtime says on stderr that it ran out of memory (with a non-zero exit: MLE). */
enum oom_marker { OOM_MARKER_NONE, OOM_MARKER_ANYWHERE, OOM_MARKER_LAST_LINE };

struct seccomp_policy;            /* seccomp_policy.c */
extern const struct seccomp_policy seccomp_native, seccomp_runtime, seccomp_compiler, seccomp_judge;

/* One --profile: the table in profile.c. */
struct profile {
    const char *name;
    const struct seccomp_policy *seccomp;
    long default_procs;           /* --procs when not given */
    long threads;                 /* pids allowance on top of --procs */
    long nofile;                  /* RLIMIT_NOFILE */
    long min_fsize_mb;            /* RLIMIT_FSIZE at least this (else output limit + 1) */
    long headroom_mb;             /* memory cgroup limit = --memory-mb + this */
    bool rlimit_as;               /* without a memory cgroup, RLIMIT_AS is the memory wall */
    long as_ceiling_mb;           /* else, when set: RLIMIT_AS = this + 4 x --memory-mb, always */
    bool workdir_rw;              /* the real workdir, writable (and handed to the sandbox uid) */
    enum oom_marker oom_marker;
    const char *oom_text;         /* what the marker looks for */
    const char *oom_text_alt;     /* or this (NULL: nothing else) */
};
const struct profile *profile_find(const char *name);
const char *profile_names(const char *sep);

typedef enum {
    ST_OK, ST_TLE, ST_MLE, ST_OLE, ST_RE, ST_SV, ST_IE
} status_t;

/* One sandboxed program of a run as the command line gives it.  A run has one side (the
 * program); everything that may differ between two sides of a run is here. */
struct side_opts {
    const struct profile *profile;
    long time_ms, wall_ms, memory_mb, output_kb, procs;
    const char *workdir;
    char **envv;          /* NULL-terminated, PATH first */
    int envc;
    char **argv;          /* program + args, NULL-terminated */
    int argc;
};
/* Interactive mode (--interactor) adds a second side: the interactor, cross-connected to the
 * program through pipes the helper relays (pair.c). */
enum { SIDE_PROGRAM = 0, SIDE_INTERACTOR = 1, NSIDES = 2 };

struct config {
    struct side_opts side[NSIDES];
    long parallel;
    const char *tests, *stdin_path, *stdout_path, *stderr_path;
    const char *test_files;   /* --test-files DIR: DIR/N at /judge in test N's runs */
    bool interactive;     /* --interactor given: side[SIDE_INTERACTOR] is set */
    bool probe;
    bool progress;        /* --progress: a stderr line per finished run */
    /* The helper's own environment, read once at start (config.c); nothing else reads it. */
    uid_t sandbox_uid;    /* CODEPIPE_SANDBOX_UID (unset or 0: DEFAULT_SANDBOX_UID) */
    bool trace;           /* CODEPIPE_SANDBOX_TRACE: per-stage timings on stderr */
    /* testing knobs that switch a layer off to exercise the degraded paths */
    bool no_ns, no_cgroup, no_userns, no_overlay, no_pivot;
    bool no_run_ns;       /* the runs share the invocation's IPC and network namespaces */
    bool no_clone_into_cgroup;   /* v2: join through cgroup.procs (the A/B switch of the bench) */
    bool no_cgroup_pool;  /* a cgroup set per invocation (mkdir/rmdir); the pool: CODEPIPE_SANDBOX_CGROUP_POOL=1 */
};

/* What the host lets us do; filled by probe_host() / setup. */
struct host_caps {
    bool root;
    bool userns_used;     /* we entered a user namespace to get the other layers */
    bool ns_net, ns_pid, ns_mount, ns_ipc, ns_uts, ns_user;
    bool ipc_per_run, net_per_run;   /* runs get their own IPC / network namespaces (scheduler.c) */
    int cgroup;           /* 0 none, 1 v1, 2 v2 */
    bool seccomp;
    bool uid_switch;
    int workdir;          /* what run profiles get: WORKDIR_HOST / _READONLY / _OVERLAY */
};
enum { WORKDIR_HOST = 0, WORKDIR_READONLY = 1, WORKDIR_OVERLAY = 2 };
const char *workdir_mode_name(int mode);

/* Result of one run (one test). */
struct run_result {
    int test;
    status_t status;
    int exit_code, signal;
    long cpu_ms, wall_ms, memory_kb;
    long long stdout_bytes, stderr_bytes;
    char msg[240];         /* why, for IE (printed as "message") */
    /* interactive mode only (interactor != NULL): the pair's relay and the other side */
    bool stopped;          /* this side was killed by the helper because the other ended badly */
    bool interactor_first; /* the interactor ended before the program */
    long long bytes_to_interactor, bytes_from_interactor;   /* delivered by the relay */
    struct run_result *interactor;
};

/* What the keeper (PID 1 of the run's namespace) reports to the helper. */
struct keeper_report {
    int magic;
    int wstatus;           /* wait status of the program */
    int exec_errno;        /* != 0: the program could not be started */
    int setup_errno;       /* != 0: keeper-side setup failed */
    int setup_stage;
    int killed_for;        /* 0 none, 1 cpu, 2 wall, 3 output */
    long long wall_us;
    long long cpu_us_polled;
    long long mem_sampled; /* highest cgroup usage sampled (no resettable peak), -1 none */
    struct rusage ru;      /* RUSAGE_CHILDREN of the keeper: all reaped descendants */
    long long stdout_bytes, stderr_bytes;   /* after truncation to the limit */
    long long total_bytes;                  /* stdout + stderr before truncation */
    bool oom_marker;       /* java OutOfMemoryError / python MemoryError on stderr */
    bool tmpfs_used;       /* the run left data in /tmp or the workdir overlay (charged pages) */
    long long end_us;      /* when the program ended (now_us clock; 0: it never started) */
};
/* Where a keeper's own set-up failed (setup_stage with setup_errno; the IE message says it). */
enum { STAGE_RUN_MOUNTS = -1, STAGE_CLONE = -2, STAGE_OPEN_IN = -10, STAGE_OPEN_OUT = -11, STAGE_OPEN_ERR = -12,
       STAGE_JUDGE_FILES = -13 };
#define JUDGE_DIR "/judge"        /* where a run sees its --test-files DIR/N */
/* In the sandbox tree, what keepers bind from and their programs must never reach: a directory
 * of mode 0000 on the read-only root (no sandboxed uid has the capabilities to enter it). */
#define STAGING_DIR "/.codepipe"
#define STAGED_TEST_FILES STAGING_DIR "/test-files"
#define KEEPER_MAGIC 0x6b656570
/* KILL_STOP: interactive mode, the other side of the pair ended badly (pair.c asked) */
enum { KILL_NONE = 0, KILL_CPU = 1, KILL_WALL = 2, KILL_OUTPUT = 3, KILL_STOP = 4 };

/* Cgroup measurements of one run, taken before its slot is reused. */
struct cg_snapshot {
    long long cpu_ns;      /* -1 unknown */
    long long peak;        /* bytes, -1 unknown */
    bool oom, hit_limit;
};

/* The stages of one run, in the order they happen (timestamps for CODEPIPE_SANDBOX_TRACE). */
enum stage {
    STAGE_KEEPER_START,      /* keeper: running, signals set up */
    STAGE_BASE_MOUNTS,       /* keeper: /proc and /tmp mounted; the workdir next */
    STAGE_MOUNTS_DONE,       /* keeper: test files open, per-run mounts done */
    STAGE_CHILD_START,       /* program child: running (on the keeper's memory) */
    STAGE_CGROUP_JOINED,
    STAGE_FDS_SET,           /* fds 0-2, rlimits, cwd */
    STAGE_PRIVS_DROPPED,
    STAGE_NNP_SET,
    STAGE_SECCOMP_LOADED,    /* prepared: waits for the slot's token */
    STAGE_GO,                /* program child: got the token */
    STAGE_EXECED,            /* keeper: its child has exec'ed the program (or died) */
    STAGE_PROGRAM_DONE,      /* keeper: the program exited, or a limit was hit */
    STAGE_REPORT_READY,      /* keeper: all reaped, outputs measured */
    STAGE_N
};

/* Shared page between a slot's keeper and its program child (exec errno). */
struct slot_shared {
    volatile int exec_errno;
    volatile int setup_stage;
    volatile long long ts[STAGE_N];   /* stage timestamps (CODEPIPE_SANDBOX_TRACE) */
    volatile long long t_go;          /* when the program child got "go" (wall clock start) */
    volatile int turn_taken;          /* the keeper took the slot's token itself (its child did not) */
    volatile int turn_passed;         /* the keeper passed the token to the slot's next run */
    volatile int stop_request;        /* interactive: KILL_OUTPUT / KILL_STOP asked by the pair (+ SIGUSR1) */
};
#define STAGE(sh, n) do { (sh)->setup_stage = (n); if (G.cfg.trace) (sh)->ts[n] = now_us(); } while (0)

/* The files of a single run (without --tests); all -1 in tests mode. */
struct run_files { int in, out, err; };

/* What the helper derived for one side: its resolved paths, filter and limits. */
struct side {
    const struct side_opts *opt;
    char *exec_path;               /* resolved program path (the execve pointer) */
    char *workdir_real;            /* absolute workdir path (same path inside the sandbox) */
    bool workdir_under_tmp;
    bool workdir_rw;
    struct sock_fprog bpf;         /* compiled seccomp filter */
    bool have_bpf;
    long long mem_limit_bytes;     /* cgroup memory limit actually set */
    long long output_limit;        /* bytes */
    long pids_max;
    bool pids_cg;                  /* a pids cgroup enforces pids_max */
    int cg_first;                  /* its cgroup sets: cg_first .. cg_first + ncg_side - 1 */
    bool judge_files;              /* its runs get --test-files DIR/N at /judge */
};

/* Global state of one invocation. */
struct sandbox {
    struct config cfg;
    struct host_caps caps;
    uid_t uid; gid_t gid;          /* the program's credentials */
    struct side side[NSIDES];
    int nsides;                    /* sides per run */
    bool run_overlay;              /* keeper: this run's workdir overlay is mounted */
    volatile int *overlay_broken;  /* MAP_SHARED: a keeper's overlay mount was refused (errno) */
    int tests_fd;                  /* --tests DIR */
    int test_files_fd;             /* --test-files DIR (the host's mount: for files, not for binds) */
    char *test_files_real;         /* its absolute path */
    int ncg;                       /* cgroup sets (cgroup.c): two per parallel slot (ping-pong) per side */
    int ncg_side;                  /* ... of which each side has this many */
    int nslots;
    struct slot_shared *shared;    /* MAP_SHARED array, one per slot */
    int cap_last;
    bool same_out_err;             /* --stdout and --stderr are one file: count it once */
};

extern struct sandbox G;

/* prepare.c */
void prepare_workdir(struct side *sd);
void prepare_program(struct sandbox *sb, struct side *sd);
int prepare_files(struct sandbox *sb, struct run_files *single);
void hand_over_workdir(struct sandbox *sb);

/* scheduler.c */
void scheduler_catch_signals(void);
void scheduler_plan(struct sandbox *sb, int ntests);
void scheduler_run(struct sandbox *sb, struct run_result *res, int ntests, const struct run_files *single);
void scheduler_wait_keepers(void);

/* files.c */
int open_output_at(int dfd, const char *name);
int open_output_path(const char *path);
bool path_in_workdir(const char *path, const char *workdir);
char *resolve_program(const char *prog, const char *workdir, char *const *envv);

/* keeper.c */
#define CHILD_STACK (256 * 1024)
extern void *child_stack;
/* What the scheduler hands a run's keeper. */
struct keeper_job {
    int side;                /* which side of the run (SIDE_PROGRAM) */
    int ns_flags;            /* the namespaces the keeper was cloned with */
    int cg;                  /* the cgroup set the run uses */
    int sh;                  /* its shared page */
    int idx;                 /* the test (index into the results) */
    struct run_files files;  /* single mode: the run's files; tests mode: -1, the keeper opens them */
    int rep_fd;              /* the report pipe */
    int go_fd, go_wr;        /* the token pipe of the run's half of the slot, of the other half (-1: none) */
    bool paired;             /* interactive: files.in/out are the relay's pipes, stderr opened here */
};
void keeper_main(struct sandbox *sb, const struct keeper_job *job) __attribute__((noreturn));

/* pair.c: interactive mode (--interactor), one pair supervisor per test */
#define PAIR_STOP_SIGNAL SIGUSR1  /* pair -> keeper: look at stop_request */
void pair_main(struct sandbox *sb, int cg, int sh, int idx, int rep_fd, int go_fd, int go_wr) __attribute__((noreturn));
bool pair_collect(struct sandbox *sb, int rep_fd, bool killed, struct run_result *r, bool *tmpfs_used);
void pair_copy_tout(struct sandbox *sb, int test);
pid_t scheduler_clone_keeper(struct sandbox *sb, const struct side *sd, int *flags);

/* config.c */
int parse_config(int argc, char **argv, struct config *cfg);
void usage(void);

/* probe.c */
void probe_host(struct host_caps *c, const struct config *cfg);
void print_probe(const struct host_caps *c);
const char *probe_level(const struct host_caps *c);

/* isolation.c */
int isolation_setup_once(struct sandbox *sb);      /* helper: net ns, mount tree, pivot */
int isolation_setup_run(struct sandbox *sb, const struct side *sd, struct slot_shared *sh);   /* keeper: /proc, /tmp, workdir */
int isolation_drop_bounding_once(struct sandbox *sb);
void isolation_probe_run_ns(struct sandbox *sb);
void isolation_clear_run_ipc(void);
int isolation_mount_judge(struct sandbox *sb, int test);
int isolation_hide_other_workdirs(struct sandbox *sb, const struct side *sd);
/* What the keeper hands its program child. */
struct child_job { const struct side *sd; int cg, sh, in_fd, out_fd, err_fd, go_fd; };
void isolation_enter_child(struct sandbox *sb, const struct child_job *cj) __attribute__((noreturn));

/* rlimits.c */
void apply_rlimits(const struct side *sd);

/* cgroup.c (backends: cgroup.h, cgroup_v1.c, cgroup_v2.c); slot = a cgroup set */
int cgroup_setup(struct sandbox *sb);
void cgroup_cleanup(struct sandbox *sb);
void cgroup_reset_slot(struct sandbox *sb, int slot);
pid_t cgroup_spawn_child(struct sandbox *sb, int slot, int (*fn)(void *), void *stack_top, void *arg);
void cgroup_join_slot(struct sandbox *sb, int slot);
long long cgroup_cpu_ns(struct sandbox *sb, int slot);
long long cgroup_peak_bytes(struct sandbox *sb, int slot);
long long cgroup_usage_sample(struct sandbox *sb, int slot);
bool cgroup_oom_happened(struct sandbox *sb, int slot, bool *hit_limit);
void cgroup_kill_slot(struct sandbox *sb, int slot);
void cgroup_describe(FILE *f);
int cgroup_detect_version(void);

/* seccomp_policy.c */
int seccomp_build(struct sandbox *sb, struct side *sd);
bool seccomp_policy_sockets(const struct seccomp_policy *policy);
int seccomp_load_prepared(const struct sock_fprog *prog);

/* measure.c */
long long now_us(void);
void cgroup_snapshot(struct sandbox *sb, int slot, struct cg_snapshot *snap);
void classify(const struct side *sd, const struct cg_snapshot *snap, const struct keeper_report *rep,
              struct run_result *r);
bool stderr_oom_marker(const struct side *sd, int err_fd, long long size);

/* output.c */
void print_result(FILE *f, const struct run_result *r);
void set_ie(struct run_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void print_results(const struct run_result *rs, int n, bool array);
const char *status_name(status_t s);

/* util */
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
ssize_t write_full(int fd, const void *buf, size_t n);
int write_str_fd(int fd, const char *s);
int write_file(const char *path, const char *s);
long long read_ll_fd(int fd);

#endif
