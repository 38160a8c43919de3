/* Host-side preparation, before any isolation: the workdir, the program, the tests dir or the
 * single run's files.  Anything wrong here is the caller's mistake: a message and exit 1. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static bool path_under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return !strncmp(path, dir, n) && path[n] == '/';
}

void prepare_workdir(struct side *sd)
{
    const struct side_opts *c = sd->opt;
    char real[PATH_MAX];
    if (!realpath(c->workdir ? c->workdir : ".", real)) die("workdir %s: %s", c->workdir ? c->workdir : ".", strerror(errno));
    struct stat st;
    if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) die("workdir %s: not a directory", real);
    static const char *const forbidden[] = { "/", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc", "/proc",
                                             "/sys", "/dev", "/boot", "/root", "/tmp", "/var", "/home", NULL };
    for (int i = 0; forbidden[i]; i++)
        if (!strcmp(real, forbidden[i])) die("workdir %s: refusing a system directory", real);
    if (!strncmp(real, "/proc/", 6) || !strncmp(real, "/sys/", 5) || !strncmp(real, "/dev/", 5))
        die("workdir %s: refusing a kernel file system", real);
    sd->workdir_real = strdup(real);
    sd->workdir_under_tmp = !strncmp(real, "/tmp/", 5);
    sd->workdir_rw = c->profile->workdir_rw;
}

/* The seccomp policies allow execve only with this exact pathname pointer.  Put the string at
 * an unguessable address (randomised mmap base + random offset in the page) so that a program
 * cannot fabricate the same pointer for a second execve. */
static char *hide_exec_path(char *path)
{
    size_t len = strlen(path) + 1;
    char *m = mmap(NULL, 8192 + len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) die("mmap: %s", strerror(errno));
    unsigned short rnd = 0;
    if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd)) rnd = (unsigned short)getpid();
    char *at = m + ((rnd % 8192) & ~7u);
    memcpy(at, path, len);
    free(path);
    return at;
}

void prepare_program(struct sandbox *sb, struct side *sd)
{
    const struct side_opts *c = sd->opt;
    const char *real = sd->workdir_real;
    char *path = resolve_program(c->argv[0], real, c->envv);
    if (!path)
        die("program %s: %s", c->argv[0], errno == EACCES ? "not executable" :
            errno == EPERM ? "a symlink inside the workdir (refused)" : "not found");
    sd->exec_path = hide_exec_path(path);
    if (path_under(sd->exec_path, real)) return;
    /* it must be visible inside the sandbox: in the workdir or the read-only system dirs */
    char rp[PATH_MAX];
    static const char *const vis[] = { "/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/", "/etc/", NULL };
    bool ok = realpath(sd->exec_path, rp) != NULL;
    bool in_box = ok && path_under(rp, real);
    bool in_sys = false;
    for (int i = 0; ok && vis[i]; i++) if (!strncmp(rp, vis[i], strlen(vis[i]))) in_sys = true;
    if (ok && !in_box && !in_sys && !sb->cfg.no_ns && (geteuid() == 0))
        die("program %s (%s) would not be visible inside the sandbox: put it in the workdir or /usr", c->argv[0], rp);
}

/* --tests DIR: held as an fd; its tests are 1.in, 2.in, ... up to the first missing one. */
static int open_tests_dir(struct sandbox *sb)
{
    const struct config *c = &sb->cfg;
    char treal[PATH_MAX];
    if (!realpath(c->tests, treal)) die("tests dir %s: %s", c->tests, strerror(errno));
    sb->tests_fd = open(treal, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sb->tests_fd < 0) die("tests dir %s: %s", c->tests, strerror(errno));
    for (int i = 0; i < sb->nsides; i++) {
        const char *real = sb->side[i].workdir_real;
        if (!strcmp(treal, real) || path_under(treal, real))
            die("tests dir %s must not be inside the workdir %s", treal, real);
    }
    if (faccessat(sb->tests_fd, ".", W_OK, AT_EACCESS) < 0) die("tests dir %s: not writable", treal);
    int ntests = 0;
    for (;;) {
        char name[32];
        snprintf(name, sizeof(name), "%d.in", ntests + 1);
        struct stat ts;
        if (fstatat(sb->tests_fd, name, &ts, AT_SYMLINK_NOFOLLOW) < 0) break;
        ntests++;
    }
    return ntests;
}

/* --test-files DIR: held as an fd (its test dirs are opened by name in it, never following a
 * link); like the tests dir, never inside a workdir, whose contents a program controls. */
static void open_test_files_dir(struct sandbox *sb)
{
    const char *dir = sb->cfg.test_files;
    char real[PATH_MAX];
    if (!realpath(dir, real)) die("test files dir %s: %s", dir, strerror(errno));
    sb->test_files_fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sb->test_files_fd < 0) die("test files dir %s: %s", dir, strerror(errno));
    sb->test_files_real = strdup(real);
    for (int i = 0; i < sb->nsides; i++) {
        const char *wd = sb->side[i].workdir_real;
        if (!strcmp(real, wd) || path_under(real, wd)) die("test files dir %s must not be inside the workdir %s", real, wd);
    }
    /* the checker's (or, interactive, the interactor's) runs get them; never the program's */
    sb->side[sb->nsides - 1].judge_files = true;
}

/* One run: --stdin (default /dev/null), --stdout, --stderr; a missing output is a memfd
 * (counted and limited, then discarded). */
static void open_single_files(struct sandbox *sb, struct run_files *f)
{
    const struct config *c = &sb->cfg;
    const char *paths[] = { c->stdin_path, c->stdout_path, c->stderr_path };
    const char *wd = sb->side[SIDE_PROGRAM].workdir_real;
    for (int i = 0; i < 3; i++)
        if (paths[i] && path_in_workdir(paths[i], wd))
            die("%s must not be inside the workdir %s (the program controls its contents)", paths[i], wd);
    f->in = open(c->stdin_path ? c->stdin_path : "/dev/null", O_RDONLY | O_CLOEXEC | (c->stdin_path ? O_NOFOLLOW : 0));
    if (f->in < 0) die("stdin %s: %s", c->stdin_path, strerror(errno));
    if (c->stdout_path) {
        f->out = open_output_path(c->stdout_path);
        if (f->out < 0) die("stdout %s: %s", c->stdout_path, strerror(errno));
    } else if ((f->out = memfd_create("stdout", MFD_CLOEXEC)) < 0) die("memfd: %s", strerror(errno));
    if (c->stderr_path && c->stdout_path && !strcmp(c->stderr_path, c->stdout_path)) {
        f->err = fcntl(f->out, F_DUPFD_CLOEXEC, 3);
        sb->same_out_err = true;
    } else if (c->stderr_path) {
        f->err = open_output_path(c->stderr_path);
        if (f->err < 0) die("stderr %s: %s", c->stderr_path, strerror(errno));
    } else if ((f->err = memfd_create("stderr", MFD_CLOEXEC)) < 0) die("memfd: %s", strerror(errno));
}

/* The number of runs.  single: the single run's files, or all -1 in tests mode. */
int prepare_files(struct sandbox *sb, struct run_files *single)
{
    single->in = single->out = single->err = -1;
    if (sb->cfg.test_files) open_test_files_dir(sb);
    if (sb->cfg.tests) return open_tests_dir(sb);
    open_single_files(sb, single);
    return 1;
}

/* compile: the compiler writes its output into the workdir: hand it to the sandbox uid,
 * through an fd (no path following) */
void hand_over_workdir(struct sandbox *sb)
{
    const struct side *sd = &sb->side[SIDE_PROGRAM];
    if (!sd->workdir_rw || geteuid() != 0 || !sd->opt->workdir) return;   /* never an implicit cwd */
    int wfd = open(sd->workdir_real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (wfd < 0 || fchown(wfd, sb->uid, sb->gid) < 0) die("workdir %s: %s", sd->workdir_real, strerror(errno));
    close(wfd);
}
