/* What the helper accepts on its command line.  This file is the single source of these
 * ranges: shared/limits.py reads it, so the gateway never accepts a limit the helper would
 * refuse (keep the one-`#define`-per-line form; the Python side parses it). */
#ifndef CODEPIPE_RANGES_H
#define CODEPIPE_RANGES_H

#define RANGE_TIME_MS_MIN 1
#define RANGE_TIME_MS_MAX 600000
#define RANGE_WALL_MS_MIN 1
#define RANGE_WALL_MS_MAX 3600000
/* below this no cgroup limit is meaningful: the runtime's own pages do not fit */
#define RANGE_MEMORY_MB_MIN 4
#define RANGE_MEMORY_MB_MAX 65536
#define RANGE_OUTPUT_KB_MIN 1
#define RANGE_OUTPUT_KB_MAX 4194304
#define RANGE_PROCS_MIN 1
#define RANGE_PROCS_MAX 4096
#define RANGE_PARALLEL_MIN 1
#define RANGE_PARALLEL_MAX 64

/* Interactive mode: the interactor's wall limit is the pair's --wall-ms plus this, so that it
 * can still give its verdict after a program that used all of its wall time. */
#define INTERACTOR_GRACE_MS 1000

#endif
