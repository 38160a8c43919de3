# syntax=docker/dockerfile:1
#
# codepipe executor image, one per language: `python -m executor_<LANGUAGE>` (the shared
# executor loop with that language's spec), the native sandbox helper, and that language's
# toolchain - nothing else.
#
# Build from the repository root (the build context must be the whole repo), once per language:
#     docker build -f executor.Dockerfile --build-arg LANGUAGE=java -t codepipe-executor-java .
# docker-compose.yml does this for you (services `executor-<language>`).
#
# Build arguments:
#   LANGUAGE            required: a name of shared/languages.py. Picks the executor package and
#                       the toolchain from the table in the runtime stage.
#   TOOLCHAIN_PACKAGES  optional: Debian packages to install instead of the table's (e.g. another
#                       JDK with another DEBIAN_IMAGE); they must provide the same /usr/bin paths.
#   DEBIAN_IMAGE        the base of every stage.
#
# Base image: Debian bookworm, because the executors run the toolchain by absolute path
# (/usr/bin/gcc, /usr/bin/javac, /usr/bin/python3, ...) and the sandbox runs programs against
# the image's own system files; python:*-slim images put python in /usr/local/bin instead.

ARG DEBIAN_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------------------
# Stage 1: build the sandbox helper (SPEC section 6). Build tools stay in this stage.
# ---------------------------------------------------------------------------------------
FROM ${DEBIAN_IMAGE} AS sandbox-build
# Unpinned apt packages on purpose (DL3008): bookworm is a stable release, so the versions
# only move with security fixes, and exact pins would break the build when they do.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev make pkg-config libseccomp-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# .dockerignore keeps any host-built native_sandbox/build/ out of the context, so this is a
# clean build for the image's own libc/libseccomp.
COPY native_sandbox/ native_sandbox/
RUN make -C native_sandbox \
 && test -x native_sandbox/build/sandbox

# ---------------------------------------------------------------------------------------
# Stage 2: the service's Python dependencies in a venv (copied whole into the runtime).
# The runtime subset is requirements.txt minus moto: moto is only the embedded emulator that
# `make run` / `make test` start; in containers LocalStack or real AWS plays that part.
# Filtering the file (instead of a second hand-kept list) keeps one place for versions.
# All runtime deps ship manylinux wheels, so no compiler is needed here.
# ---------------------------------------------------------------------------------------
FROM ${DEBIAN_IMAGE} AS python-deps
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
COPY requirements.txt /tmp/requirements.txt
RUN grep -viE '^[[:space:]]*moto([[:space:]]|\[|[<>=!~;]|$)' /tmp/requirements.txt > /tmp/requirements-runtime.txt \
 && python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check -r /tmp/requirements-runtime.txt \
 && /opt/venv/bin/pip uninstall -y --disable-pip-version-check pip setuptools

# ---------------------------------------------------------------------------------------
# Stage 3: runtime.
# ---------------------------------------------------------------------------------------
FROM ${DEBIAN_IMAGE} AS runtime
ARG LANGUAGE
ARG TOOLCHAIN_PACKAGES=""
# Every image: python3 (runs the service; the venv links to /usr/bin/python3), libseccomp2
# (the sandbox helper's only shared library besides libc), tini (PID 1: forwards SIGTERM to
# the executor, so `docker stop` / ECS let it finish or release its job, and reaps any orphan
# the sandbox leaves behind), ca-certificates (TLS to the real AWS endpoints).
#
# The toolchain table: one line per language, its Debian packages and the command that
# proves the /usr/bin paths its spec calls are there.
#   c       gcc + libc6-dev: the C compiler and the headers/crt files it links against.
#   cpp     g++ (pulls gcc, libstdc++-12-dev and libc6-dev).
#   java    openjdk-17-jdk-headless: javac + java (alternatives in /usr/bin); no GUI libraries.
#   python  nothing more: submissions run on the same Debian /usr/bin/python3 (3.11), outside
#           the service's venv, so they see only the standard library.
#   go      golang-go: /usr/bin/go (Go 1.19 in bookworm) with the standard library's sources
#           (the executor compiles them once, with -trimpath, into its warm GOCACHE) and its
#           precompiled copy in GOROOT/pkg (what builds use until that cache is ready).
#   javascript  nodejs: /usr/bin/node (Node.js 18 in bookworm); nothing from npm.
# Every image also gets the judge-program toolchain: a problem's checker or interactor may be
# C, C++ or Python (SPEC §7) whatever the submission's language, and is compiled by the
# executor that judges the job (g++ pulls gcc and libc6-dev).
# The mkdir: a JDK's postinst registers man pages with update-alternatives, which fails on
# some JDK builds where slim images lack /usr/share/man/man1.
# hadolint ignore=DL3008
RUN set -eu; \
    case "${LANGUAGE}" in \
      c)      packages="gcc libc6-dev";           check="/usr/bin/gcc --version" ;; \
      cpp)    packages="g++";                     check="/usr/bin/g++ --version" ;; \
      java)   packages="openjdk-17-jdk-headless"; check="/usr/bin/javac -version && /usr/bin/java -version" ;; \
      python) packages="";                        check="/usr/bin/python3 --version" ;; \
      go)     packages="golang-go";               check="/usr/bin/go version" ;; \
      javascript) packages="nodejs";              check="/usr/bin/node --version" ;; \
      *) echo "LANGUAGE='${LANGUAGE}': not in the toolchain table of executor.Dockerfile" >&2; exit 1 ;; \
    esac; \
    mkdir -p /usr/share/man/man1; \
    apt-get update; \
    apt-get install -y --no-install-recommends python3 libseccomp2 tini ca-certificates g++ \
      ${TOOLCHAIN_PACKAGES:-$packages}; \
    rm -rf /var/lib/apt/lists/*; \
    sh -c "$check" >/dev/null

COPY --from=python-deps /opt/venv /opt/venv
COPY --from=sandbox-build /src/native_sandbox/build/sandbox /app/native_sandbox/build/sandbox

WORKDIR /app
COPY shared/ shared/
COPY executor_${LANGUAGE}/ executor_${LANGUAGE}/
# The judge programs' languages: their specs compile checkers and interactors.
COPY executor_c/ executor_c/
COPY executor_cpp/ executor_cpp/
COPY executor_python/ executor_python/

# CODEPIPE_SANDBOX is where settings look by default too (REPO_ROOT/native_sandbox/build);
# set explicitly so a moved WORKDIR cannot silently break it. Per-job work directories stay
# at the default CODEPIPE_WORK_ROOT (/tmp/codepipe-work, created 0700 by the executor).
# EXECUTOR_MODULE: what CMD runs (an ARG is gone at run time).
ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CODEPIPE_SANDBOX=/app/native_sandbox/build/sandbox \
    EXECUTOR_MODULE=executor_${LANGUAGE}
LABEL org.opencontainers.image.title="codepipe-executor-${LANGUAGE}"

# Byte-compile now (nothing is written under /app at run time) and fail the build if the
# helper misses a shared library in this stage.
RUN python -m compileall -q /app/shared "/app/${EXECUTOR_MODULE}" /app/executor_c /app/executor_cpp /app/executor_python \
 && (ldd /app/native_sandbox/build/sandbox || true) > /tmp/ldd.txt \
 && ! grep -q 'not found' /tmp/ldd.txt \
 && rm -f /tmp/ldd.txt

# Runs as root, deliberately: the sandbox helper needs root (in the container) to create the
# PID/mount/network/IPC/UTS namespaces, write its cgroups and then drop the user's program
# to its own unprivileged uid (64000) before exec. The executor's Python code never runs
# submitted code itself. Without the privileges listed in docker-compose.yml the helper
# degrades (rlimits + seccomp + uid switch) rather than failing; `sandbox --probe` says which.
# hadolint ignore=DL3002
USER 0:0

# Healthy = the helper binary loads (libseccomp present) and can describe this host's
# isolation; a dead executor process ends the container (PID 1 via tini) and the restart
# policy / ECS replaces it.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
    CMD ["/app/native_sandbox/build/sandbox", "--probe"]

# `exec`: the shell is replaced by python, which stays tini's direct child (signals reach it).
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["sh", "-c", "exec python -m \"$EXECUTOR_MODULE\""]
