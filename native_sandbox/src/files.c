/* Host-side file handling: output files created without following links, the program path
 * resolved without following links inside the workdir. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


/* Create/replace `name` in dir `dfd` without following links: unlink first, then O_EXCL.
 * O_RDWR: the helper reads stderr back (OutOfMemoryError / MemoryError detection). */
int open_output_at(int dfd, const char *name)
{
    if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT) return -1;
    return openat(dfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
}

/* --stdout/--stderr (and --stdin): never inside the workdir, whose contents (links included)
 * the program controls. */
bool path_in_workdir(const char *path, const char *workdir)
{
    char dir[PATH_MAX], real[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) { if (slash == dir) slash[1] = 0; else *slash = 0; } else strcpy(dir, ".");
    if (!realpath(dir, real)) return false;
    size_t wl = strlen(workdir);
    return !strcmp(real, workdir) || (!strncmp(real, workdir, wl) && real[wl] == '/');
}

int open_output_path(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!*base) { errno = EISDIR; return -1; }
    if (slash) {
        size_t n = (size_t)(slash - path);
        if (n == 0) n = 1;
        if (n >= sizeof(dir)) { errno = ENAMETOOLONG; return -1; }
        memcpy(dir, path, n);
        dir[n] = 0;
    } else {
        strcpy(dir, ".");
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return -1;
    int fd = open_output_at(dfd, base);
    int e = errno;
    close(dfd);
    errno = e;
    return fd;
}

/* stat a path inside the workdir without following any symlink (the program controls the
 * workdir's contents): openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), else O_NOFOLLOW on the
 * last component. */
static int stat_in_workdir(const char *workdir, const char *rel, struct stat *st)
{
    int dfd = open(workdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return -1;
    struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS };
    int fd = (int)syscall(SYS_openat2, dfd, rel, &how, sizeof(how));
    if (fd < 0 && errno == ENOSYS) fd = openat(dfd, rel, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(dfd);
    if (fd < 0) { errno = e == ELOOP || e == EXDEV ? EPERM : e; return -1; }
    int r = fstat(fd, st);
    close(fd);
    if (r == 0 && S_ISLNK(st->st_mode)) { errno = EPERM; return -1; }
    return r;
}

char *resolve_program(const char *prog, const char *workdir, char *const *envv)
{
    char buf[PATH_MAX];
    if (strchr(prog, '/')) {
        if (prog[0] == '/') snprintf(buf, sizeof(buf), "%s", prog);
        else snprintf(buf, sizeof(buf), "%s/%s", workdir, prog);
        struct stat st;
        size_t wl = strlen(workdir);
        if (!strncmp(buf, workdir, wl) && buf[wl] == '/') {
            if (stat_in_workdir(workdir, buf + wl + 1, &st) < 0) return NULL;
        } else if (stat(buf, &st) < 0) {
            return NULL;
        }
        if (!S_ISREG(st.st_mode)) { errno = ENOENT; return NULL; }
        if (!(st.st_mode & 0111)) { errno = EACCES; return NULL; }
        return strdup(buf);
    }
    const char *path = strchr(SANDBOX_PATH_ENV, '=') + 1;
    for (char *const *e = envv; *e; e++) if (!strncmp(*e, "PATH=", 5)) path = *e + 5;
    const char *p = path;
    while (*p) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        if (n > 0 && n < sizeof(buf) - strlen(prog) - 2) {
            snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, p, prog);
            struct stat st;
            if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) return strdup(buf);
        }
        if (!colon) break;
        p = colon + 1;
    }
    errno = ENOENT;
    return NULL;
}

