/* The helper's configuration: its command line (SPEC §6) and its own environment.  The
 * command line is strict: unknown flags, missing values, out-of-range numbers are errors
 * (exit 2). */
#include "sandbox.h"
#include "ranges.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void usage(void)
{
    fprintf(stderr,
        "usage: sandbox --profile %s --time-ms MS --wall-ms MS\n"
        "               --memory-mb MB --output-kb KB [--procs N] [--parallel N]\n"
        "               [--workdir DIR] [--env K=V ...] [--progress]\n"
        "               [--tests DIR [--test-files DIR] | --stdin FILE --stdout FILE --stderr FILE]\n"
        "               [--interactor ARG ... --interactor-workdir DIR [--interactor-time-ms MS]\n"
        "                [--interactor-memory-mb MB] [--interactor-env K=V ...]]   (with --tests)\n"
        "               -- PROGRAM [ARGS...]\n"
        "       sandbox --probe\n", profile_names("|"));
}

static int parse_long(const char *name, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "sandbox: %s: invalid value '%s' (allowed %ld..%ld)\n", name, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* The environment is read here, once; the rest of the helper only looks at the config. */
static void read_env(struct config *cfg)
{
    const char *u = getenv("CODEPIPE_SANDBOX_UID");
    cfg->sandbox_uid = u ? (uid_t)strtoul(u, NULL, 10) : DEFAULT_SANDBOX_UID;
    if (cfg->sandbox_uid == 0) cfg->sandbox_uid = DEFAULT_SANDBOX_UID;
    cfg->trace = getenv("CODEPIPE_SANDBOX_TRACE") != NULL;
    cfg->no_ns = getenv("CODEPIPE_SANDBOX_NO_NS") != NULL;
    cfg->no_cgroup = getenv("CODEPIPE_SANDBOX_NO_CGROUP") != NULL;
    cfg->no_userns = getenv("CODEPIPE_SANDBOX_NO_USERNS") != NULL;
    cfg->no_overlay = getenv("CODEPIPE_SANDBOX_NO_OVERLAY") != NULL;
    cfg->no_pivot = getenv("CODEPIPE_SANDBOX_NO_PIVOT") != NULL;
    cfg->no_run_ns = getenv("CODEPIPE_SANDBOX_NO_RUN_NS") != NULL;
    cfg->no_clone_into_cgroup = getenv("CODEPIPE_SANDBOX_NO_CLONE_INTO_CGROUP") != NULL;
    /* opt-in: a reused set still carries what its last holder left charged (README) */
    cfg->no_cgroup_pool = getenv("CODEPIPE_SANDBOX_CGROUP_POOL") == NULL;
}

/* --env K=V: an explicit PATH replaces the fixed one. */
static int parse_env_option(struct side_opts *so, const char *v)
{
    const char *eq = strchr(v, '=');
    if (!eq || eq == v) {
        fprintf(stderr, "sandbox: --env: expected K=V, got '%s'\n", v);
        return -1;
    }
    if (!strncmp(v, "PATH=", 5)) so->envv[0] = (char *)v;
    else so->envv[so->envc++] = (char *)v;
    return 0;
}

/* One option that takes a value. */
static int parse_option(struct config *cfg, const char *a, const char *v)
{
    struct side_opts *p = &cfg->side[SIDE_PROGRAM], *it = &cfg->side[SIDE_INTERACTOR];
    const struct { const char *name; long lo, hi; long *dst; } nums[] = {
        { "--time-ms", RANGE_TIME_MS_MIN, RANGE_TIME_MS_MAX, &p->time_ms },
        { "--wall-ms", RANGE_WALL_MS_MIN, RANGE_WALL_MS_MAX, &p->wall_ms },
        { "--memory-mb", RANGE_MEMORY_MB_MIN, RANGE_MEMORY_MB_MAX, &p->memory_mb },
        { "--output-kb", RANGE_OUTPUT_KB_MIN, RANGE_OUTPUT_KB_MAX, &p->output_kb },
        { "--procs", RANGE_PROCS_MIN, RANGE_PROCS_MAX, &p->procs },
        { "--parallel", RANGE_PARALLEL_MIN, RANGE_PARALLEL_MAX, &cfg->parallel },
        { "--interactor-time-ms", RANGE_TIME_MS_MIN, RANGE_TIME_MS_MAX, &it->time_ms },
        { "--interactor-memory-mb", RANGE_MEMORY_MB_MIN, RANGE_MEMORY_MB_MAX, &it->memory_mb },
    };
    const struct { const char *name; const char **dst; } paths[] = {
        { "--workdir", &p->workdir }, { "--tests", &cfg->tests }, { "--stdin", &cfg->stdin_path },
        { "--stdout", &cfg->stdout_path }, { "--stderr", &cfg->stderr_path },
        { "--test-files", &cfg->test_files }, { "--interactor-workdir", &it->workdir },
    };
    if (!strcmp(a, "--profile")) {
        p->profile = profile_find(v);
        if (p->profile) return 0;
        fprintf(stderr, "sandbox: --profile: unknown profile '%s' (%s)\n", v, profile_names(", "));
        return -1;
    }
    for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]); k++)
        if (!strcmp(a, nums[k].name)) return parse_long(a, v, nums[k].lo, nums[k].hi, nums[k].dst);
    for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++)
        if (!strcmp(a, paths[k].name)) { *paths[k].dst = v; return 0; }
    if (!strcmp(a, "--env")) return parse_env_option(p, v);
    if (!strcmp(a, "--interactor-env")) return parse_env_option(it, v);
    if (!strcmp(a, "--interactor")) { it->argv[it->argc++] = (char *)v; cfg->interactive = true; return 0; }
    fprintf(stderr, "sandbox: unknown option '%s'\n", a);
    return -1;
}

/* Interactive mode: the interactor's options, and its limits where they default to the
 * program's (memory, output; wall = the pair's + INTERACTOR_GRACE_MS). */
static int check_interactor(struct config *cfg)
{
    const struct side_opts *p = &cfg->side[SIDE_PROGRAM];
    struct side_opts *it = &cfg->side[SIDE_INTERACTOR];
    if (!cfg->interactive) {
        if (it->workdir || it->time_ms >= 0 || it->memory_mb >= 0 || it->envc > 1) {
            fprintf(stderr, "sandbox: --interactor-* options need --interactor\n");
            return -1;
        }
        return 0;
    }
    if (!cfg->tests) { fprintf(stderr, "sandbox: --interactor needs --tests (no single-run interactive mode)\n"); return -1; }
    if (p->profile->workdir_rw) {
        fprintf(stderr, "sandbox: --interactor cannot be used with --profile %s\n", p->profile->name);
        return -1;
    }
    if (!it->workdir) { fprintf(stderr, "sandbox: --interactor needs --interactor-workdir\n"); return -1; }
    if (!it->argv[0][0]) { fprintf(stderr, "sandbox: empty interactor program name\n"); return -1; }
    it->argv[it->argc] = NULL;
    it->profile = profile_find("interactor");
    if (it->time_ms < 0) it->time_ms = p->time_ms;
    if (it->memory_mb < 0) it->memory_mb = p->memory_mb;
    it->wall_ms = p->wall_ms + INTERACTOR_GRACE_MS;
    it->output_kb = p->output_kb;
    it->procs = it->profile->default_procs;
    return 0;
}

/* What a run needs and what does not go together. */
static int check_options(struct config *cfg)
{
    struct side_opts *p = &cfg->side[SIDE_PROGRAM];
    if (!p->profile) { fprintf(stderr, "sandbox: --profile is required\n"); return -1; }
    if (p->time_ms < 0) { fprintf(stderr, "sandbox: --time-ms is required\n"); return -1; }
    if (p->wall_ms < 0) { fprintf(stderr, "sandbox: --wall-ms is required\n"); return -1; }
    if (p->memory_mb < 0) { fprintf(stderr, "sandbox: --memory-mb is required\n"); return -1; }
    if (p->output_kb < 0) { fprintf(stderr, "sandbox: --output-kb is required\n"); return -1; }
    if (p->procs < 0) p->procs = p->profile->default_procs;
    if (cfg->tests && (cfg->stdin_path || cfg->stdout_path || cfg->stderr_path)) {
        fprintf(stderr, "sandbox: --tests cannot be combined with --stdin/--stdout/--stderr\n");
        return -1;
    }
    if (cfg->test_files && !cfg->tests) { fprintf(stderr, "sandbox: --test-files needs --tests\n"); return -1; }
    return check_interactor(cfg);
}

static int parse_args(int argc, char **argv, struct config *cfg)
{
    cfg->parallel = 1;
    for (int k = 0; k < NSIDES; k++) {
        struct side_opts *so = &cfg->side[k];
        so->time_ms = so->wall_ms = so->memory_mb = so->output_kb = -1;
        so->procs = -1;
        so->envv = calloc((size_t)argc + 2, sizeof(char *));
        if (!so->envv) return -1;
        so->envv[so->envc++] = SANDBOX_PATH_ENV;
    }
    struct side_opts *p = &cfg->side[SIDE_PROGRAM], *it = &cfg->side[SIDE_INTERACTOR];
    it->argv = calloc((size_t)argc + 1, sizeof(char *));
    if (!it->argv) return -1;

    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) { i++; break; }
        if (!strcmp(a, "--probe")) { cfg->probe = true; continue; }
        if (!strcmp(a, "--progress")) { cfg->progress = true; continue; }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(); exit(0); }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "sandbox: unexpected argument '%s' (the program goes after '--')\n", a);
            return -1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "sandbox: %s needs a value\n", a);
            return -1;
        }
        if (parse_option(cfg, a, argv[++i]) < 0) return -1;
    }
    p->envv[p->envc] = NULL;
    it->envv[it->envc] = NULL;

    if (cfg->probe) return 0;
    if (check_options(cfg) < 0) return -1;
    if (i >= argc) {
        fprintf(stderr, "sandbox: no program given (put it after '--')\n");
        return -1;
    }
    if (!argv[i][0]) { fprintf(stderr, "sandbox: empty program name\n"); return -1; }
    p->argv = &argv[i];
    p->argc = argc - i;
    return 0;
}

int parse_config(int argc, char **argv, struct config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    read_env(cfg);
    return parse_args(argc, argv, cfg);
}
