/* JSON output and small I/O utilities. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const status_names[] = { "OK", "TLE", "MLE", "OLE", "RE", "SV", "IE" };

const char *status_name(status_t s) { return status_names[s]; }

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

/* One side's fields (the program's, or the interactor's object), without the braces. */
static void print_side(FILE *f, const struct run_result *r)
{
    fprintf(f,
        "\"status\": \"%s\", \"exit_code\": %d, \"signal\": %d, "
        "\"cpu_ms\": %ld, \"wall_ms\": %ld, \"memory_kb\": %ld, "
        "\"stdout_bytes\": %lld, \"stderr_bytes\": %lld",
        status_name(r->status), r->exit_code, r->signal, r->cpu_ms, r->wall_ms,
        r->memory_kb, r->stdout_bytes, r->stderr_bytes);
    if (r->status == ST_IE && r->msg[0]) {
        fputs(", \"message\": ", f);
        json_string(f, r->msg);
    }
}

void print_result(FILE *f, const struct run_result *r)
{
    fprintf(f, "{\"test\": %d, ", r->test);
    print_side(f, r);
    const struct run_result *it = r->interactor;
    if (it) {
        fprintf(f, ", \"stopped\": %s, \"interactor_first\": %s, \"bytes_to_interactor\": %lld, "
                "\"bytes_from_interactor\": %lld, \"interactor\": {",
                r->stopped ? "true" : "false", r->interactor_first ? "true" : "false",
                r->bytes_to_interactor, r->bytes_from_interactor);
        print_side(f, it);
        fprintf(f, ", \"stopped\": %s}", it->stopped ? "true" : "false");
    }
    fputc('}', f);
}

void set_ie(struct run_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
    va_end(ap);
    r->status = ST_IE;
    fprintf(stderr, "sandbox: test %d: %s\n", r->test, r->msg);
}

void print_results(const struct run_result *rs, int n, bool array)
{
    if (!array) {
        print_result(stdout, &rs[0]);
        fputc('\n', stdout);
    } else {
        fputc('[', stdout);
        for (int i = 0; i < n; i++) {
            fputs(i ? ",\n " : "", stdout);
            print_result(stdout, &rs[i]);
        }
        fputs("]\n", stdout);
    }
    fflush(stdout);
}

void warnx_(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sandbox: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

ssize_t write_full(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, p + done, n - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        done += (size_t)w;
    }
    return (ssize_t)done;
}

int write_str_fd(int fd, const char *s)
{
    size_t n = strlen(s);
    ssize_t w;
    do { w = pwrite(fd, s, n, 0); } while (w < 0 && errno == EINTR);
    return w == (ssize_t)n ? 0 : -1;
}

int write_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    /* plain write(): some /proc files (uid_map) refuse pwrite */
    int r = write_full(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

long long read_ll_fd(int fd)
{
    char buf[64];
    if (fd < 0) return -1;
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0) return -1;
    buf[n] = 0;
    if (!strncmp(buf, "max", 3)) return -1;
    return strtoll(buf, NULL, 10);
}
