/* --probe: which isolation layers does this host allow?  Each layer is tried in a throw-away
 * child so that the probe itself changes nothing. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/seccomp.h>

/* Run fn in a forked child; true when it exits 0. */
static bool try_child(int (*fn)(void *), void *arg)
{
    pid_t p = fork();
    if (p < 0) return false;
    if (p == 0) _exit(fn(arg) == 0 ? 0 : 1);
    int st;
    while (waitpid(p, &st, 0) < 0 && errno == EINTR) {}
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int enter_userns_if_needed(void)
{
    if (geteuid() == 0) return 0;
    uid_t u = geteuid();
    gid_t g = getegid();
    if (unshare(CLONE_NEWUSER) < 0) return -1;
    char buf[64];
    snprintf(buf, sizeof(buf), "%u %u 1\n", u, u);
    if (write_file("/proc/self/uid_map", buf) < 0) return -1;
    write_file("/proc/self/setgroups", "deny");
    snprintf(buf, sizeof(buf), "%u %u 1\n", g, g);
    if (write_file("/proc/self/gid_map", buf) < 0) return -1;
    return 0;
}

static int try_unshare(void *arg)
{
    if (enter_userns_if_needed() < 0) return 1;
    return unshare((int)(intptr_t)arg) == 0 ? 0 : 1;
}

static int try_user(void *arg)
{
    (void)arg;
    return unshare(CLONE_NEWUSER) == 0 ? 0 : 1;
}

static int try_setuid(void *arg)
{
    (void)arg;
    if (setgroups(0, NULL) < 0) return 1;
    if (setresgid(DEFAULT_SANDBOX_UID, DEFAULT_SANDBOX_UID, DEFAULT_SANDBOX_UID) < 0) return 1;
    if (setresuid(DEFAULT_SANDBOX_UID, DEFAULT_SANDBOX_UID, DEFAULT_SANDBOX_UID) < 0) return 1;
    return 0;
}

static int try_seccomp(void *arg)
{
    (void)arg;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return 1;
    unsigned action = SECCOMP_RET_KILL_PROCESS;
    if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) < 0) return 1;
    struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog prog = { 1, &allow };
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0 ? 0 : 1;
}

/* A throw-away overlay (tmpfs upper, like a run's workdir) in a private mount namespace. */
static int try_overlay(void *arg)
{
    (void)arg;
    if (enter_userns_if_needed() < 0 || unshare(CLONE_NEWNS) < 0) return 1;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) return 1;
    if (mount("codepipe-probe", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=700") < 0) return 1;
    static const char *const dirs[] = { "/tmp/l", "/tmp/u", "/tmp/w", "/tmp/m", NULL };
    for (int i = 0; dirs[i]; i++) if (mkdir(dirs[i], 0700) < 0) return 1;
    const char *base = "lowerdir=/tmp/l,upperdir=/tmp/u,workdir=/tmp/w";
    char opts[128];
    static const char *const extra[] = { ",index=off,metacopy=off", "", NULL };
    static const char *const userns_extra[] = { ",userxattr,index=off,metacopy=off", ",index=off,metacopy=off", "", NULL };
    const char *const *ex = geteuid() == 0 ? extra : userns_extra;
    int r = -1;
    for (int i = 0; ex[i] && r < 0; i++) {
        snprintf(opts, sizeof(opts), "%s%s", base, ex[i]);
        r = mount("codepipe-probe", "/tmp/m", "overlay", MS_NOSUID | MS_NODEV, opts);
    }
    if (r < 0) return 1;
    int fd = open("/tmp/m/f", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return 1;
    close(fd);
    return 0;
}

void probe_host(struct host_caps *c, const struct config *cfg)
{
    memset(c, 0, sizeof(*c));
    c->root = geteuid() == 0;
    c->ns_user = try_child(try_user, NULL);
    c->ns_net = try_child(try_unshare, (void *)(intptr_t)CLONE_NEWNET);
    c->ns_pid = try_child(try_unshare, (void *)(intptr_t)CLONE_NEWPID);
    c->ns_mount = try_child(try_unshare, (void *)(intptr_t)CLONE_NEWNS);
    c->ns_ipc = try_child(try_unshare, (void *)(intptr_t)CLONE_NEWIPC);
    c->ns_uts = try_child(try_unshare, (void *)(intptr_t)CLONE_NEWUTS);
    c->userns_used = !c->root && c->ns_mount;
    c->seccomp = try_child(try_seccomp, NULL);
    c->uid_switch = c->root && try_child(try_setuid, NULL);
    c->workdir = !c->ns_mount ? WORKDIR_HOST :
                 !cfg->no_overlay && try_child(try_overlay, NULL) ? WORKDIR_OVERLAY : WORKDIR_READONLY;
    c->cgroup = 0;
    if (!cfg->no_cgroup) {
        int v = cgroup_detect_version();
        if (v && (c->root || access("/sys/fs/cgroup", W_OK) == 0)) c->cgroup = v;
    }
}

const char *probe_level(const struct host_caps *c)
{
    bool ns = c->ns_net && c->ns_pid && c->ns_mount && c->ns_ipc && c->ns_uts;
    if (ns && c->cgroup && c->seccomp && c->uid_switch) return "full";
    if (c->seccomp && (ns || c->cgroup)) return "partial";
    return "minimal";
}

static const char *b(bool v) { return v ? "true" : "false"; }

void print_probe(const struct host_caps *c)
{
    printf("{\"root\": %s, \"namespaces\": {\"net\": %s, \"pid\": %s, \"mount\": %s, \"ipc\": %s, "
           "\"uts\": %s, \"user\": %s}, \"userns_for_layers\": %s, \"cgroup\": \"%s\", "
           "\"cgroup_parents\": ",
           b(c->root), b(c->ns_net), b(c->ns_pid), b(c->ns_mount), b(c->ns_ipc), b(c->ns_uts),
           b(c->ns_user), b(c->userns_used),
           c->cgroup == 1 ? "v1" : c->cgroup == 2 ? "v2" : "none");
    if (c->cgroup) cgroup_describe(stdout); else fputs("[]", stdout);
    printf(", \"seccomp\": %s, \"uid_switch\": %s, \"sandbox_uid\": %d, \"workdir\": \"%s\", \"level\": \"%s\"}\n",
           b(c->seccomp), b(c->uid_switch), c->uid_switch ? (int)G.uid : (int)geteuid(),
           workdir_mode_name(c->workdir), probe_level(c));
    fflush(stdout);
}
