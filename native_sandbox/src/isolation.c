/* Isolation: namespaces, the read-only mount tree, credentials, capabilities, fds, env.
 *
 * Once per invocation (helper):  [user ns if not root] -> net ns (a down loopback, shared by
 *   the runs that cannot make sockets) -> IPC + UTS ns -> mount ns with a private tree: tmpfs
 *   root + read-only binds of /usr /bin /lib* /sbin /etc (shadow files hidden), minimal /dev,
 *   the workdir at its own path, then pivot_root into it.  The host tree is gone from the helper's view after this; everything
 *   it still needs (tests dir, output files, cgroup files) is held as file descriptors.
 * Per run (keeper = PID 1 of fresh PID + mount + IPC [+ net] namespaces): fresh /proc, private
 *   tmpfs /tmp, and for the run profiles a copy-on-write overlay of the workdir (upper layer on
 *   its own size-limited tmpfs; read-only bind as the fallback, re-bound if under /tmp).
 * Per program child: cgroups, fds 0-2, rlimits, cwd, signals, caps/uid drop, fds > 2 closed,
 *   no_new_privs, seccomp, execve with a clean env. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE 2
#endif

static const char *root_dir;    /* where the new root was assembled before pivot_root */

static int mkdir_p(const char *path, mode_t mode)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, mode) < 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST) return -1;
    return 0;
}

/* MS_* flags of a read-only bind as mount_setattr attributes */
static unsigned long long mount_attrs(unsigned long ms)
{
    return MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | (ms & MS_NODEV ? MOUNT_ATTR_NODEV : 0) |
           (ms & MS_NOEXEC ? MOUNT_ATTR_NOEXEC : 0);
}

static int bind_ro(const char *src, const char *dst, unsigned long extra)
{
    if (mount(src, dst, NULL, MS_BIND, NULL) < 0) {
        /* In a user namespace the kernel refuses a non-recursive bind of a directory with
         * mounts under it (they are locked: the bind would uncover what they hide; hosts bind
         * files under /etc, e.g. resolv.conf in containers and VMs).  Bind the whole tree and
         * make every mount of it read-only (each keeps its own locked flags otherwise). */
        if (errno != EINVAL || mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0) return -1;
        struct mount_attr attr = { .attr_set = mount_attrs(extra) };
        return (int)syscall(SYS_mount_setattr, AT_FDCWD, dst, AT_RECURSIVE, &attr, sizeof(attr));
    }
    unsigned long fl = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | extra;
    if (mount(NULL, dst, NULL, fl, NULL) < 0) {
        /* in a user namespace, locked flags (nodev/noexec of the source) must be kept */
        if (mount(NULL, dst, NULL, fl | MS_NODEV, NULL) < 0) return -1;
    }
    return 0;
}

static int enter_userns(void)
{
    uid_t u = geteuid();
    gid_t g = getegid();
    char buf[64];
    /* a process that changed uid is not dumpable: its uid_map/gid_map files would belong to root */
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    if (unshare(CLONE_NEWUSER) < 0) return -1;
    snprintf(buf, sizeof(buf), "%u %u 1\n", u, u);
    if (write_file("/proc/self/uid_map", buf) < 0) return -1;
    write_file("/proc/self/setgroups", "deny");
    snprintf(buf, sizeof(buf), "%u %u 1\n", g, g);
    if (write_file("/proc/self/gid_map", buf) < 0) return -1;
    return 0;
}

/* The new root: a small tmpfs on the first usable candidate mount point. */
static int mount_root_tmpfs(void)
{
    static const char *const candidates[] = { "/tmp", "/mnt", "/media", "/srv", "/opt", "/var/tmp", NULL };
    struct stat st;
    for (int i = 0; candidates[i]; i++) {
        if (lstat(candidates[i], &st) == 0 && S_ISDIR(st.st_mode) &&
            mount("codepipe-root", candidates[i], "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755") == 0) {
            root_dir = candidates[i];
            return 0;
        }
    }
    return -1;
}

/* /usr /bin /lib* /sbin /etc: read-only binds (symlinked ones, as on merged-/usr systems,
 * become the same symlinks). */
static int bind_system_dirs(void)
{
    static const char *const sys_dirs[] = { "usr", "bin", "lib", "lib64", "lib32", "libx32", "sbin", "etc", NULL };
    char p[4200];
    struct stat st;
    for (int i = 0; sys_dirs[i]; i++) {
        char src[64];
        snprintf(src, sizeof(src), "/%s", sys_dirs[i]);
        snprintf(p, sizeof(p), "%s/%s", root_dir, sys_dirs[i]);
        if (lstat(src, &st) < 0) continue;
        if (S_ISLNK(st.st_mode)) {
            char target[512];
            ssize_t n = readlink(src, target, sizeof(target) - 1);
            if (n <= 0) continue;
            target[n] = 0;
            if (symlink(target, p) < 0) return -1;
        } else if (S_ISDIR(st.st_mode)) {
            if (mkdir(p, 0755) < 0) return -1;
            if (bind_ro(src, p, MS_NODEV) < 0) return -1;
        }
    }
    return 0;
}

/* Hide secrets in /etc behind an unreadable empty file (so #include "/etc/shadow" fails). */
static int hide_secrets(void)
{
    char p[4200];
    struct stat st;
    snprintf(p, sizeof(p), "%s/.hidden", root_dir);
    int hfd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0000);
    if (hfd < 0) return -1;
    close(hfd);
    static const char *const secrets[] = { "shadow", "gshadow", "shadow-", "gshadow-", "sudoers",
                                           "security/opasswd", "ssh/ssh_host_rsa_key",
                                           "ssh/ssh_host_ecdsa_key", "ssh/ssh_host_ed25519_key", NULL };
    for (int i = 0; secrets[i]; i++) {
        char dst[4300];
        snprintf(dst, sizeof(dst), "%s/etc/%s", root_dir, secrets[i]);
        if (lstat(dst, &st) < 0 || !S_ISREG(st.st_mode)) continue;
        if (bind_ro(p, dst, MS_NODEV | MS_NOEXEC) < 0) return -1;
    }
    return 0;
}

/* minimal /dev */
static int build_dev(void)
{
    char p[4200];
    snprintf(p, sizeof(p), "%s/dev", root_dir);
    if (mkdir(p, 0755) < 0) return -1;
    static const char *const devs[] = { "null", "zero", "random", "urandom", "full", NULL };
    for (int i = 0; devs[i]; i++) {
        char src[64], dst[4300];
        snprintf(src, sizeof(src), "/dev/%s", devs[i]);
        snprintf(dst, sizeof(dst), "%s/dev/%s", root_dir, devs[i]);
        int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0) return -1;
        close(fd);
        if (mount(src, dst, NULL, MS_BIND, NULL) < 0) return -1;
        mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NOEXEC, NULL);
    }
    static const char *const links[][2] = { { "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
                                            { "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" } };
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        snprintf(p, sizeof(p), "%s/dev/%s", root_dir, links[i][0]);
        if (symlink(links[i][1], p) < 0) return -1;
    }
    snprintf(p, sizeof(p), "%s/dev/shm", root_dir);
    mkdir(p, 01777);
    return 0;
}

/* Mount points for the per-run /proc and /tmp. */
static int make_run_mount_points(struct sandbox *sb)
{
    char p[4200];
    snprintf(p, sizeof(p), "%s/proc", root_dir);
    if (mkdir(p, 0555) < 0) return -1;
    if (sb->caps.userns_used) {
        /* the kernel only lets a user namespace mount a fresh proc where a full one is visible */
        if (mount("/proc", p, NULL, MS_BIND | MS_REC, NULL) < 0) return -1;
    }
    snprintf(p, sizeof(p), "%s/tmp", root_dir);
    if (mkdir(p, 01777) < 0) return -1;
    chmod(p, 01777);
    /* --test-files: the empty mount point of a run's /judge (absent without the option) */
    snprintf(p, sizeof(p), "%s%s", root_dir, JUDGE_DIR);
    if (sb->cfg.test_files && mkdir(p, 0555) < 0) return -1;
    return 0;
}

/* What the keepers bind from, in the tree (a bind's source must be a mount of the keeper's own
 * namespace: the host's mounts, held by fd, were detached with the old root).  tfd: DIR,
 * opened before the root tmpfs could cover it. */
static int stage_mounts(int tfd)
{
    if (tfd < 0) return 0;
    char p[4200], src[64];
    snprintf(p, sizeof(p), "%s%s", root_dir, STAGING_DIR);
    if (mkdir(p, 0) < 0 || chmod(p, 0) < 0) return -1;
    snprintf(p, sizeof(p), "%s%s", root_dir, STAGED_TEST_FILES);
    if (mkdir(p, 0) < 0) return -1;
    snprintf(src, sizeof(src), "/proc/self/fd/%d", tfd);
    return bind_ro(src, p, MS_NODEV | MS_NOEXEC);
}

/* a workdir, at the same absolute path (wfd: opened before the root tmpfs could cover it) */
static int bind_workdir(const struct side *sd, int wfd)
{
    char p[4200];
    snprintf(p, sizeof(p), "%s%s", root_dir, sd->workdir_real);
    if (mkdir_p(p, 0755) < 0) return -1;
    char src[64];
    snprintf(src, sizeof(src), "/proc/self/fd/%d", wfd);
    if (mount(src, p, NULL, MS_BIND, NULL) < 0) return -1;
    unsigned long fl = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | (sd->workdir_rw ? 0 : MS_RDONLY);
    return mount(NULL, p, NULL, fl, NULL);
}

/* pivot_root into the new tree and drop the host's */
static int enter_root(struct sandbox *sb)
{
    if (chdir(root_dir) < 0) return -1;
    errno = ENOSYS;   /* (when disabled by CODEPIPE_SANDBOX_NO_PIVOT) */
    if (!sb->cfg.no_pivot && syscall(SYS_pivot_root, ".", ".") == 0) {
        if (umount2(".", MNT_DETACH) < 0) return -1;
    } else {
        /* pivot_root is refused on an initramfs root (and in some containers): move the tree
         * over / and chroot into it, like switch_root.  The host's mounts stay underneath in
         * our private namespace; the program, without capabilities, cannot leave the chroot. */
        warnx_("warning: pivot_root unavailable (%s): using chroot", strerror(errno));
        if (mount(".", "/", NULL, MS_MOVE, NULL) < 0) return -1;
        if (chroot(".") < 0) return -1;
    }
    if (chdir("/") < 0) return -1;
    mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL);
    return 0;
}

static int build_root(struct sandbox *sb)
{
    int wfd[NSIDES] = { [0 ... NSIDES - 1] = -1 };
    for (int i = 0; i < sb->nsides; i++) {
        wfd[i] = open(sb->side[i].workdir_real, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (wfd[i] < 0) return -1;
    }
    int tfd = sb->test_files_real ? open(sb->test_files_real, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
    if (sb->test_files_real && tfd < 0) return -1;
    if (mount_root_tmpfs() < 0) return -1;
    if (bind_system_dirs() < 0 || hide_secrets() < 0 || build_dev() < 0 || make_run_mount_points(sb) < 0 ||
        stage_mounts(tfd) < 0)
        return -1;
    if (tfd >= 0) close(tfd);
    for (int i = 0; i < sb->nsides; i++) {
        if (bind_workdir(&sb->side[i], wfd[i]) < 0) return -1;
        close(wfd[i]);
    }
    return enter_root(sb);
}

int isolation_setup_once(struct sandbox *sb)
{
    struct host_caps *c = &sb->caps;
    c->root = geteuid() == 0;
    c->uid_switch = c->root;
    if (!c->root) {
        if (sb->cfg.no_userns || enter_userns() < 0) {
            warnx_("warning: not root and no user namespaces: running with rlimits + seccomp only");
            return 0;
        }
        c->userns_used = c->ns_user = true;
    }

    if (sb->cfg.no_ns) {
        warnx_("warning: namespaces disabled by CODEPIPE_SANDBOX_NO_NS");
        return 0;
    }
    long long t = now_us();
#define TRI(what) do { if (sb->cfg.trace) { fprintf(stderr, "trace setup:   %-20s %6lld us\n", what, now_us() - t); t = now_us(); } } while (0)
    if (unshare(CLONE_NEWNET) == 0) c->ns_net = true;
    else warnx_("warning: no network namespace (%s)", strerror(errno));
    TRI("net ns");

    /* IPC and UTS namespaces for the helper, once; each run then gets its own IPC namespace
     * (and, where its program can make sockets, its own network namespace: scheduler.c).
     * UTS stays shared: nothing in it can be changed (sethostname needs CAP_SYS_ADMIN). */
    if (unshare(CLONE_NEWIPC) == 0) c->ns_ipc = true;
    else warnx_("warning: no IPC namespace (%s)", strerror(errno));
    c->ipc_per_run = c->ns_ipc && !sb->cfg.no_run_ns;
    c->net_per_run = c->ns_net && !sb->cfg.no_run_ns;
    if (unshare(CLONE_NEWUTS) == 0 && sethostname("codepipe", 8) == 0) c->ns_uts = true;
    else warnx_("warning: no UTS namespace (%s)", strerror(errno));
    TRI("ipc+uts ns");

    if (unshare(CLONE_NEWNS) < 0) {
        warnx_("warning: no mount namespace (%s): the program sees the host file system", strerror(errno));
        return 0;
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        warnx_("warning: cannot make mounts private (%s)", strerror(errno));
        return 0;
    }
    TRI("mount ns");
    if (build_root(sb) < 0) {
        /* A half-built tree in our own mount namespace is harmless to the host, but the program
         * must not run in it: give up on the helper entirely. */
        die("cannot build the sandbox file system (%s)", strerror(errno));
    }
    TRI("mount tree + pivot");
    c->ns_mount = true;
    /* run profiles: a per-run copy-on-write workdir (each keeper falls back to the read-only
     * bind if the kernel refuses the overlay) */
    c->workdir = sb->side[SIDE_PROGRAM].workdir_rw || sb->cfg.no_overlay ? WORKDIR_READONLY : WORKDIR_OVERLAY;
    return 0;
}

/* Find out once whether the kernel gives us per-run PID namespaces. */
void isolation_probe_run_ns(struct sandbox *sb)
{
    if (sb->cfg.no_ns || (!sb->caps.root && !sb->caps.userns_used)) return;
    pid_t p = (pid_t)syscall(SYS_clone, CLONE_NEWPID | (sb->caps.ns_mount ? CLONE_NEWNS : 0) | SIGCHLD, 0, 0, 0, 0);
    if (p == 0) _exit(0);
    if (p > 0) {
        int st;
        while (waitpid(p, &st, 0) < 0 && errno == EINTR) {}
        sb->caps.ns_pid = true;
    }
    if (!sb->caps.ns_pid) warnx_("warning: no PID namespace: processes are tracked by group/cgroup only");
}

/* Keeper, after its run was reaped, in the run's own IPC namespace: remove the SysV objects the
 * run left.  They would go with the namespace anyway, but only after our exit and an RCU grace
 * period in a kernel worker; until then a shm segment's pages (and queued messages) stay
 * charged to the run's cgroup set, into its next run's baseline and limit. */
void isolation_clear_run_ipc(void)
{
    union semun { int val; struct semid_ds *buf; unsigned short *array; struct seminfo *__buf; } su;
    struct shm_info shi;
    struct seminfo sei;
    struct msginfo msi;
    int max = shmctl(0, SHM_INFO, (struct shmid_ds *)(void *)&shi);
    for (int i = 0; max >= 0 && shi.used_ids && i <= max; i++) {
        struct shmid_ds ds;
        int id = shmctl(i, SHM_STAT, &ds);
        if (id >= 0) shmctl(id, IPC_RMID, NULL);
    }
    su.__buf = &sei;
    max = semctl(0, 0, SEM_INFO, su);
    for (int i = 0; max >= 0 && sei.semusz && i <= max; i++) {
        struct semid_ds ds;
        su.buf = &ds;
        int id = semctl(i, 0, SEM_STAT, su);
        if (id >= 0) semctl(id, 0, IPC_RMID);
    }
    max = msgctl(0, MSG_INFO, (struct msqid_ds *)(void *)&msi);
    for (int i = 0; max >= 0 && msi.msgpool && i <= max; i++) {
        struct msqid_ds ds;
        int id = msgctl(i, MSG_STAT, &ds);
        if (id >= 0) msgctl(id, IPC_RMID, NULL);
    }
}

const char *workdir_mode_name(int mode)
{
    return mode == WORKDIR_OVERLAY ? "overlay" : mode == WORKDIR_READONLY ? "readonly" : "host";
}

/* The run's copy-on-write workdir.  lower_fd: an O_PATH fd (opened in this mount namespace) of
 * the read-only bind of the real workdir.  A tmpfs is mounted on the workdir's own path and
 * holds the overlay's upper and work dirs; the overlay (lower = the real workdir, through
 * /proc/self/fd so no path needs escaping) is then mounted on top of it at the same path, so
 * the tmpfs is covered and unreachable.  Both die with the run's mount namespace: nothing to
 * clean up, nothing written to the host.  The tmpfs is size-limited like /tmp (= the memory
 * limit) and its pages are charged to the writer's memory cgroup.  On failure the tmpfs is
 * taken off again and the read-only bind is what the program gets. */
static int mount_workdir_overlay(struct sandbox *sb, const struct side *sd, int lower_fd)
{
    const char *wd = sd->workdir_real;
    struct stat lst;
    char opts[320];
    int tfd = -1, ufd = -1, kfd = -1, e;
    if (fstat(lower_fd, &lst) < 0) return -1;
    snprintf(opts, sizeof(opts), "size=%ldm,mode=700,nr_inodes=4096", sd->opt->memory_mb);
    if (mount("codepipe-cow", wd, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) return -1;
    tfd = open(wd, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (tfd < 0) goto fail;
    /* the upper root dir gives the merged workdir its owner and mode: the program's uid owns
     * its cwd (as after the compile step's fchown); files and subdirs keep their own */
    if (mkdirat(tfd, "u", 0700) < 0 || mkdirat(tfd, "w", 0700) < 0) goto fail;
    if (sb->caps.uid_switch && fchownat(tfd, "u", sb->uid, sb->gid, AT_SYMLINK_NOFOLLOW) < 0) goto fail;
    if (fchmodat(tfd, "u", (lst.st_mode & 0755) | 0700, 0) < 0) goto fail;
    ufd = openat(tfd, "u", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    kfd = openat(tfd, "w", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (ufd < 0 || kfd < 0) goto fail;
    int n = snprintf(opts, sizeof(opts), "lowerdir=/proc/self/fd/%d,upperdir=/proc/self/fd/%d,workdir=/proc/self/fd/%d",
                     lower_fd, ufd, kfd);
    /* no index / metacopy: nothing persists, and a plain upper layer is the simplest to reason
     * about; in a user namespace the overlay's own xattrs must be user.* ones */
    static const char *const root_extra[] = { ",index=off,metacopy=off", "", NULL };
    static const char *const userns_extra[] = { ",userxattr,index=off,metacopy=off", ",index=off,metacopy=off", "", NULL };
    const char *const *extra = sb->caps.userns_used ? userns_extra : root_extra;
    int r = -1;
    for (int i = 0; extra[i] && r < 0; i++) {
        snprintf(opts + n, sizeof(opts) - (size_t)n, "%s", extra[i]);
        r = mount("codepipe-workdir", wd, "overlay", MS_NOSUID | MS_NODEV, opts);
    }
    if (r < 0) goto fail;
    close(tfd); close(ufd); close(kfd);
    return 0;
fail:
    e = errno;
    if (tfd >= 0) close(tfd);
    if (ufd >= 0) close(ufd);
    if (kfd >= 0) close(kfd);
    umount2(wd, MNT_DETACH);
    errno = e;
    return -1;
}

/* Keeper (PID 1 of the run's namespaces): per-run mounts. */
int isolation_setup_run(struct sandbox *sb, const struct side *sd, struct slot_shared *sh)
{
    if (!sb->caps.ns_mount) return 0;
    /* hidepid: the program (another uid) does not even see the keeper, PID 1 */
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible") < 0 &&
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") < 0 &&
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) return -1;
    bool cow = sb->caps.workdir == WORKDIR_OVERLAY && !sd->workdir_rw && !*sb->overlay_broken;
    int wfd = -1;
    if (sd->workdir_under_tmp || cow) {
        /* this namespace's copy of the read-only bind (overlay wants a mount of our namespace) */
        wfd = open(sd->workdir_real, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (wfd < 0) return -1;
    }
    char opts[64];
    snprintf(opts, sizeof(opts), "size=%ldm,mode=1777,nr_inodes=4096", sd->opt->memory_mb);
    if (mount("tmp", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) return -1;
    if (sd->workdir_under_tmp && mkdir_p(sd->workdir_real, 0755) < 0) return -1;
    STAGE(sh, STAGE_BASE_MOUNTS);
    if (cow && mount_workdir_overlay(sb, sd, wfd) < 0) {
        int e = errno;
        if (__sync_bool_compare_and_swap(sb->overlay_broken, 0, e ? e : EINVAL))
            warnx_("warning: overlayfs refused for the workdir (%s): the workdir is read-only", strerror(e));
        cow = false;
    }
    sb->run_overlay = cow;
    if (!cow && sd->workdir_under_tmp) {
        char src[64];
        snprintf(src, sizeof(src), "/proc/self/fd/%d", wfd);
        if (mount(src, sd->workdir_real, NULL, MS_BIND, NULL) < 0) return -1;
    }
    if (wfd >= 0) close(wfd);
    return 0;
}

/* Keeper, --test-files: the test's own directory DIR/N (by name in the staged DIR, in this
 * mount namespace, never through a symlink) bound at /judge, read-only, nosuid, nodev, noexec.
 * Links inside it resolve in the sandbox's tree, where the host's is not. */
int isolation_mount_judge(struct sandbox *sb, int test)
{
    if (!sb->caps.ns_mount) { errno = ENOTSUP; return -1; }
    char name[32], src[64];
    snprintf(name, sizeof(name), "%d", test);
    int sfd = open(STAGED_TEST_FILES, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sfd < 0) return -1;
    int dfd = openat(sfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(sfd);
    if (dfd < 0) { errno = e; return -1; }
    snprintf(src, sizeof(src), "/proc/self/fd/%d", dfd);
    int r = bind_ro(src, JUDGE_DIR, MS_NODEV | MS_NOEXEC);
    e = errno;
    close(dfd);
    errno = e;
    return r;
}

/* Helper, once, after its own set-up: empty the capability bounding set, the ambient and the
 * inheritable sets.  The helper keeps its effective capabilities (it never execs), but no
 * process it starts can ever regain a capability through execve. */
int isolation_drop_bounding_once(struct sandbox *sb)
{
    if (!sb->caps.root && !sb->caps.userns_used) return 0;
    for (int cap = 0; cap <= sb->cap_last; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) return -1;
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) < 0) return -1;
    d[0].inheritable = d[1].inheritable = 0;
    if (syscall(SYS_capset, &h, d) < 0) return -1;
    return 0;
}

static int drop_privileges(struct sandbox *sb)
{
    bool have_caps = sb->caps.root || sb->caps.userns_used;
    if (sb->caps.uid_switch) {
        /* root -> non-root clears the permitted and effective sets (no SECBIT_KEEP_CAPS);
         * bounding/ambient/inheritable were emptied once by the helper */
        if (setgroups(0, NULL) < 0) return -1;
        if (setresgid(sb->gid, sb->gid, sb->gid) < 0) return -1;
        if (setresuid(sb->uid, sb->uid, sb->uid) < 0) return -1;
        if (getuid() == 0 || geteuid() == 0) { errno = EPERM; return -1; }
    }
    if (have_caps && !sb->caps.uid_switch) {
        struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
        struct __user_cap_data_struct d[2];
        memset(d, 0, sizeof(d));
        if (syscall(SYS_capset, &h, d) < 0) return -1;
    }
    return 0;
}

/* The program child, forked while the previous test still runs.  It runs on its own stack in
 * the keeper's address space (clone with CLONE_VM|CLONE_VFORK: no page-table copy; the keeper
 * sleeps until our execve), with its own fd table, fs info, signal state, rlimits and
 * credentials.  It does all of its set-up, joins its (idle, already reset) cgroup, loads the
 * seccomp filter, and only then waits for the helper's "go": the per-test critical path is
 * just a wake-up, closing fds and execve. */
void isolation_enter_child(struct sandbox *sb, const struct child_job *cj)
{
    const struct side *sd = cj->sd;
    struct slot_shared *sh = &sb->shared[cj->sh];
    STAGE(sh, STAGE_CHILD_START);
    if (setpriority(PRIO_PROCESS, 0, 0) < 0) { /* raising nice always works; ignore */ }
    cgroup_join_slot(sb, cj->cg);
    STAGE(sh, STAGE_CGROUP_JOINED);
    setsid();
    if (dup2(cj->in_fd, 0) < 0 || dup2(cj->out_fd, 1) < 0 || dup2(cj->err_fd, 2) < 0) goto fail;
    apply_rlimits(sd);
    if (chdir(sd->workdir_real) < 0) goto fail;
    STAGE(sh, STAGE_FDS_SET);

    /* Handlers are reset by execve; only the mask (and ignored signals: we ignore none)
     * would survive it. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    if (drop_privileges(sb) < 0) goto fail;
    if (!sb->caps.ns_pid) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);   /* after the uid change */
    STAGE(sh, STAGE_PRIVS_DROPPED);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) goto fail;
    STAGE(sh, STAGE_NNP_SET);
    if (sd->have_bpf && seccomp_load_prepared(&sd->bpf) < 0) goto fail;
    STAGE(sh, STAGE_SECCOMP_LOADED);

    char go;
    ssize_t n;
    while ((n = read(cj->go_fd, &go, 1)) < 0 && errno == EINTR) {}
    if (n != 1) _exit(0);                      /* the helper gave up on this test */
    sh->t_go = now_us();
    STAGE(sh, STAGE_GO);
    if (syscall(SYS_close_range, 3, ~0U, 0) < 0) {
        for (int fd = 3; fd < 65536; fd++) close(fd);   /* kernels < 5.9 */
    }
    execve(sd->exec_path, sd->opt->argv, sd->opt->envv);
fail:
    sh->exec_errno = errno ? errno : EINVAL;
    _exit(127);
}

/* Keeper of one side of an interactive pair, in its own mount namespace, before its per-run
 * mounts: take the other sides' workdirs (bound into the tree once, for their keepers) out of
 * this side's tree.  Their (empty) mount points stay on the read-only root. */
int isolation_hide_other_workdirs(struct sandbox *sb, const struct side *sd)
{
    if (!sb->caps.ns_mount) return 0;          /* degraded: there is no private tree to hide in */
    for (int i = 0; i < sb->nsides; i++) {
        const struct side *other = &sb->side[i];
        if (other != sd && umount2(other->workdir_real, MNT_DETACH) < 0) return -1;
    }
    return 0;
}
