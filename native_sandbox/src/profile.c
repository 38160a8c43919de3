/* Per-profile policy: one row per --profile.  Everything that differs between the languages is
 * a field here; the rest of the helper reads the fields and never asks which profile it runs.
 * A new profile is a new row (plus, if none of the existing ones fits, a seccomp policy in
 * seccomp_policy.c). */
#include "sandbox.h"

#include <string.h>

/* The java profile's memory cgroup limit is --memory-mb (the heap, -Xmx) + this, for the
 * JVM's non-heap: metaspace, code cache, thread stacks, GC structures. */
#define JAVA_HEADROOM_MB 256

/* The javascript profile's memory cgroup limit is --memory-mb (V8's old space,
 * --max-old-space-size) + this, for the rest of Node: the young generation, code space, the
 * binary's own pages and native memory (~90 MB at the heap limit, measured). */
#define NODE_HEADROOM_MB 128

/* The go profile's RLIMIT_AS: this + 4 x --memory-mb (the runtime's start-up mappings, the heap,
 * the GC's room to grow it and the arenas' metadata, with room to spare). */
#define GO_AS_CEILING_MB 2048
extern const struct seccomp_policy seccomp_nosocket;     /* seccomp_policy.c */

/* Threads come on top of --procs: the pids cgroup counts threads, and the JVM starts a dozen. */
#define NATIVE_THREADS 63
#define RUNTIME_THREADS 255

static const struct profile profiles[] = {
    { .name = "c", .seccomp = &seccomp_native, .default_procs = 1, .threads = NATIVE_THREADS,
      .nofile = 64, .rlimit_as = true },
    { .name = "cpp", .seccomp = &seccomp_native, .default_procs = 1, .threads = NATIVE_THREADS,
      .nofile = 64, .rlimit_as = true },
    /* no RLIMIT_AS: the JVM reserves far more virtual memory than it uses; -Xmx is its limit */
    { .name = "java", .seccomp = &seccomp_runtime, .default_procs = 1, .threads = RUNTIME_THREADS,
      .nofile = 1024, .headroom_mb = JAVA_HEADROOM_MB, .rlimit_as = false,
      .oom_marker = OOM_MARKER_ANYWHERE, .oom_text = "java.lang.OutOfMemoryError" },
    /* an uncaught MemoryError: the traceback's last line */
    { .name = "python", .seccomp = &seccomp_runtime, .default_procs = 1, .threads = RUNTIME_THREADS,
      .nofile = 1024, .rlimit_as = true,
      .oom_marker = OOM_MARKER_LAST_LINE, .oom_text = "MemoryError" },
    /* Go: native code, so the native allow-list (the runtime's syscalls are all in it); its
     * threads come from the runtime (GOMAXPROCS = --procs, plus threads blocked in syscalls).
     * No RLIMIT_AS at --memory-mb: the runtime has ~700 MB of address space mapped at start.
     * But a ceiling far above that: without one, make([]byte, 1<<45) makes the runtime map
     * 2 MiB of arena metadata per 64 MiB of heap, 524,288 mmaps and over a second of kernel
     * time before it gives up, so the verdict raced between TLE and MLE; with it, the
     * reservation fails at once ("fatal error: out of memory"). */
    { .name = "go", .seccomp = &seccomp_native, .default_procs = 1, .threads = RUNTIME_THREADS,
      .nofile = 64, .rlimit_as = false, .as_ceiling_mb = GO_AS_CEILING_MB,
      .oom_marker = OOM_MARKER_ANYWHERE, .oom_text = "fatal error: runtime: out of memory",
      .oom_text_alt = "fatal error: out of memory" },
    /* Node.js: libuv's pool and V8's platform workers are threads; no sockets at all; no
     * RLIMIT_AS (V8 reserves far more than it uses); V8's fatal heap-limit message -> MLE */
    { .name = "javascript", .seccomp = &seccomp_nosocket, .default_procs = 1, .threads = RUNTIME_THREADS,
      .nofile = 1024, .headroom_mb = NODE_HEADROOM_MB, .rlimit_as = false,
      .oom_marker = OOM_MARKER_ANYWHERE, .oom_text = "JavaScript heap out of memory" },
    /* compilers: several processes (gcc runs cc1/as/ld), the real workdir for their output,
     * and files as large as a binary */
    { .name = "compile", .seccomp = &seccomp_compiler, .default_procs = 64, .threads = RUNTIME_THREADS,
      .nofile = 1024, .min_fsize_mb = 256, .rlimit_as = true, .workdir_rw = true },
    /* checkers and interactors (SPEC §7): untrusted judge programs, C/C++ binaries or Python
     * scripts: one process, Python's thread allowance and nofile, no sockets.  No MemoryError
     * marker: their caller judges an MLE like any other failure of theirs (JUDGE_ERROR), and a
     * C checker's message may well end in that word. */
    { .name = "checker", .seccomp = &seccomp_judge, .default_procs = 1, .threads = RUNTIME_THREADS,
      .nofile = 1024, .rlimit_as = true },
    { .name = "interactor", .seccomp = &seccomp_judge, .default_procs = 1, .threads = RUNTIME_THREADS,
      .nofile = 1024, .rlimit_as = true },
};

#define NPROFILES (sizeof(profiles) / sizeof(profiles[0]))

const struct profile *profile_find(const char *name)
{
    for (size_t i = 0; i < NPROFILES; i++)
        if (!strcmp(profiles[i].name, name)) return &profiles[i];
    return NULL;
}

/* "c|cpp|..." for the usage text, "c, cpp, ..." for the error message. */
const char *profile_names(const char *sep)
{
    static char buf[256];
    size_t n = 0;
    buf[0] = 0;
    for (size_t i = 0; i < NPROFILES && n < sizeof(buf); i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? sep : "", profiles[i].name);
    return buf;
}
