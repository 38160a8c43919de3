/* Measurement and classification of one run. */
#include "sandbox.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* Does the last non-empty line of stderr start with prefix (python: an uncaught `MemoryError`)? */
static bool stderr_last_line_starts(int fd, long long size, const char *prefix)
{
    char buf[4097];
    off_t off = size > 4096 ? size - 4096 : 0;
    ssize_t n = pread(fd, buf, 4096, off);
    if (n <= 0) return false;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) n--;
    buf[n] = 0;
    char *line = buf;
    for (ssize_t i = n - 1; i >= 0; i--) if (buf[i] == '\n') { line = buf + i + 1; break; }
    return !strncmp(line, prefix, strlen(prefix));
}

/* Does the (helper-opened) stderr file mention `needle`?  Looks at its head and tail. */
static bool stderr_mentions(int fd, long long size, const char *needle)
{
    static char buf[65536 + 1];
    off_t offs[2] = { 0, size > 65536 ? size - 65536 : 0 };
    for (int i = 0; i < (size > 65536 ? 2 : 1); i++) {
        ssize_t n = pread(fd, buf, 65536, offs[i]);
        if (n <= 0) continue;
        buf[n] = 0;
        for (ssize_t k = 0; k < n; k++) if (!buf[k]) buf[k] = ' ';
        if (strstr(buf, needle)) return true;
    }
    return false;
}

/* Did the runtime say it ran out of memory (java: OutOfMemoryError anywhere; python: an
 * uncaught MemoryError, i.e. the traceback's last line)?  The profile says what to look for. */
bool stderr_oom_marker(const struct side *sd, int err_fd, long long size)
{
    const struct profile *p = sd->opt->profile;
    switch (p->oom_marker) {
    case OOM_MARKER_ANYWHERE:
        return stderr_mentions(err_fd, size, p->oom_text) ||
               (p->oom_text_alt && stderr_mentions(err_fd, size, p->oom_text_alt));
    case OOM_MARKER_LAST_LINE: return stderr_last_line_starts(err_fd, size, p->oom_text);
    case OOM_MARKER_NONE: break;
    }
    return false;
}

void cgroup_snapshot(struct sandbox *sb, int slot, struct cg_snapshot *snap)
{
    snap->cpu_ns = cgroup_cpu_ns(sb, slot);
    snap->peak = cgroup_peak_bytes(sb, slot);
    snap->oom = cgroup_oom_happened(sb, slot, &snap->hit_limit);
}

/* The run never started: why (test files, the program's execve, the keeper's set-up). */
static void setup_failure(const struct keeper_report *rep, struct run_result *r)
{
    if (rep->setup_stage == STAGE_OPEN_IN)
        set_ie(r, "%d.in: %s", r->test, rep->setup_errno == ELOOP ? "is a symlink (refused)" : strerror(rep->setup_errno));
    else if (rep->setup_stage == STAGE_OPEN_OUT || rep->setup_stage == STAGE_OPEN_ERR)
        set_ie(r, "cannot create %d.%s: %s", r->test, rep->setup_stage == STAGE_OPEN_OUT ? "out" : "err",
               strerror(rep->setup_errno));
    else if (rep->setup_stage == STAGE_JUDGE_FILES)
        set_ie(r, "test files %d: %s", r->test, rep->setup_errno == ENOTDIR || rep->setup_errno == ELOOP ?
               "not a directory, or a symlink (refused)" : rep->setup_errno == ENOTSUP ?
               "needs a mount namespace" : strerror(rep->setup_errno));
    else if (rep->exec_errno)
        set_ie(r, "could not start the program: %s", strerror(rep->exec_errno));
    else
        set_ie(r, "sandbox set-up failed (stage %d): %s", rep->setup_stage, strerror(rep->setup_errno));
}

/* cpu_ms (the cgroup's, else rusage; at least what the keeper polled) and memory_kb. */
static void measure(const struct cg_snapshot *snap, const struct keeper_report *rep, struct run_result *r)
{
    long long cg_cpu = snap->cpu_ns;
    long long ru_cpu_us = (long long)rep->ru.ru_utime.tv_sec * 1000000 + rep->ru.ru_utime.tv_usec +
                          (long long)rep->ru.ru_stime.tv_sec * 1000000 + rep->ru.ru_stime.tv_usec;
    long long cpu_us = cg_cpu >= 0 ? cg_cpu / 1000 : ru_cpu_us;
    if (rep->cpu_us_polled > cpu_us) cpu_us = rep->cpu_us_polled;
    r->cpu_ms = (long)(cpu_us / 1000);

    long long mem_kb = rep->ru.ru_maxrss;
    long long peak = snap->peak > rep->mem_sampled ? snap->peak : rep->mem_sampled;
    if (peak >= 0) {
        /* v1 charges the page cache of the output files we just wrote to the run */
        long long anon = peak - rep->total_bytes;
        if (anon / 1024 > mem_kb) mem_kb = anon / 1024;
    }
    r->memory_kb = (long)mem_kb;
}

/* The verdict, in the documented order: OLE, TLE (killed), SV, MLE, TLE (cpu), RE, OK. */
static status_t verdict(const struct side *sd, const struct cg_snapshot *snap, const struct keeper_report *rep,
                        struct run_result *r)
{
    const struct side_opts *c = sd->opt;
    bool abnormal = r->exit_code != 0 || r->signal != 0;
    long long mem_kb = r->memory_kb;
    long long limit_kb = (long long)c->memory_mb * 1024;
    /* what the program may really use: the cgroup limit (java: + JVM headroom) */
    long long eff_limit_kb = sd->mem_limit_bytes > 0 ? sd->mem_limit_bytes / 1024
                           : limit_kb + c->profile->headroom_mb * 1024LL;

    if (rep->killed_for == KILL_OUTPUT || r->signal == SIGXFSZ || rep->total_bytes > sd->output_limit)
        return ST_OLE;
    if (rep->killed_for == KILL_CPU || rep->killed_for == KILL_WALL || r->signal == SIGXCPU) {
        if (rep->killed_for == KILL_CPU && r->cpu_ms < c->time_ms) r->cpu_ms = c->time_ms;
        return ST_TLE;
    }
    if (r->signal == SIGSYS) return ST_SV;
    if (snap->oom || mem_kb > eff_limit_kb || (abnormal && rep->oom_marker) ||
        (abnormal && (snap->hit_limit || mem_kb * 10 >= eff_limit_kb * 9)))
        return ST_MLE;
    if (r->cpu_ms > c->time_ms) return ST_TLE;
    return abnormal ? ST_RE : ST_OK;
}

void classify(const struct side *sd, const struct cg_snapshot *snap, const struct keeper_report *rep,
              struct run_result *r)
{
    r->exit_code = r->signal = 0;
    r->cpu_ms = r->wall_ms = r->memory_kb = 0;
    r->stdout_bytes = r->stderr_bytes = 0;
    if (!rep) { r->status = ST_IE; return; }   /* message set by the caller */
    /* sizes measured (and files truncated to the limit) by the keeper */
    r->stdout_bytes = rep->stdout_bytes;
    r->stderr_bytes = rep->stderr_bytes;
    if (rep->setup_errno || rep->exec_errno) { setup_failure(rep, r); return; }
    int st = rep->wstatus;
    if (WIFEXITED(st)) r->exit_code = WEXITSTATUS(st);
    else if (WIFSIGNALED(st)) r->signal = WTERMSIG(st);
    r->wall_ms = (long)(rep->wall_us / 1000);
    measure(snap, rep, r);
    r->status = verdict(sd, snap, rep, r);
}
