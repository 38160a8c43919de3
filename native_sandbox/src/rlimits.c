/* The program child's rlimits: always set, whatever the cgroups do (and the only walls for
 * memory and processes without them). */
#include "sandbox.h"

#include <sys/resource.h>

static void setrl(int res, rlim_t soft, rlim_t hard)
{
    struct rlimit r = { soft, hard };
    setrlimit(res, &r);
}

/* Called in the program child, before dropping privileges. */
void apply_rlimits(const struct side *sd)
{
    const struct side_opts *c = sd->opt;
    rlim_t cpu_s = (rlim_t)((c->time_ms + 999) / 1000) + 1;
    setrl(RLIMIT_CPU, cpu_s, cpu_s + 1);
    rlim_t mem = (rlim_t)c->memory_mb << 20;
    setrl(RLIMIT_STACK, mem, mem);
    setrl(RLIMIT_CORE, 0, 0);
    rlim_t fsize = (rlim_t)sd->output_limit + 1;
    rlim_t min_fsize = (rlim_t)c->profile->min_fsize_mb << 20;
    if (fsize < min_fsize) fsize = min_fsize;
    setrl(RLIMIT_FSIZE, fsize, fsize);
    setrl(RLIMIT_NOFILE, (rlim_t)c->profile->nofile, (rlim_t)c->profile->nofile);
    setrl(RLIMIT_MSGQUEUE, 0, 0);
    setrl(RLIMIT_MEMLOCK, 64 << 10, 64 << 10);
    setrl(RLIMIT_RTPRIO, 0, 0);
    setrl(RLIMIT_NICE, 0, 0);
    /* Without a pids cgroup, RLIMIT_NPROC is the process cap (counted per uid). */
    if (!sd->pids_cg) setrl(RLIMIT_NPROC, (rlim_t)sd->pids_max, (rlim_t)sd->pids_max);
    /* Without a memory cgroup, the address space is the only memory wall (not for the JVM,
     * which reserves far more virtual memory than it uses; -Xmx is its limit then). */
    if (sd->mem_limit_bytes <= 0 && c->profile->rlimit_as) {
        rlim_t as = mem + (64ULL << 20);
        setrl(RLIMIT_AS, as, as);
    } else if (c->profile->as_ceiling_mb > 0) {
        /* not a memory wall (the cgroup is): a stop for absurd reservations, which cost the
         * runtime seconds of kernel time before it fails on its own */
        rlim_t as = ((rlim_t)c->profile->as_ceiling_mb << 20) + 4 * mem;
        setrl(RLIMIT_AS, as, as);
    }
}
