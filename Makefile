# codepipe — `make run` starts everything locally, `make test` runs the whole suite.
SHELL := /bin/bash
# The newest Python 3.11+ on PATH creates the venv (StrEnum, datetime.UTC need 3.11).
PY_SYS ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && echo $$p && break; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements.stamp
SANDBOX_DIR := native_sandbox
APT_PACKAGES := python3-venv gcc g++ make pkg-config libseccomp-dev openjdk-17-jdk-headless python3 golang-go nodejs
PYTEST_ARGS ?=

.PHONY: run test test-v2 lint sandbox clean bench setup deps venv test-localstack

run: setup
	exec $(PY) -m infra.stack

# Lint and tests both run (a style error must not hide test results); either failing fails.
test: setup
	@rc=0; \
	echo "$(VENV)/bin/ruff check ."; $(VENV)/bin/ruff check . || rc=1; \
	dirs="tests"; if [ -d $(SANDBOX_DIR)/tests ]; then dirs="$(SANDBOX_DIR)/tests tests"; fi; \
	echo "$(PY) -m pytest -q $$dirs $(PYTEST_ARGS)"; \
	$(PY) -m pytest -q $$dirs $(PYTEST_ARGS) || rc=1; \
	$(MAKE) --no-print-directory test-localstack LOCALSTACK_RUN_ARGS=--part-of-make-test || rc=1; \
	CODEPIPE_VM_QUICK=$${CODEPIPE_VM_QUICK:-1} $(MAKE) --no-print-directory test-v2 PYTEST_ARGS= || rc=1; \
	exit $$rc

# The helper's suite inside a VM booted with cgroup v1 off (QEMU/TCG via virtme-ng): the
# cgroup v2 path of every production host. Prints the probe JSON from inside the VM and the
# number of tests run. `make test` runs it last; where the machine cannot boot the VM it says
# so loudly and goes on (CODEPIPE_VM_REQUIRED=1: an error; CODEPIPE_VM=0: skipped on purpose).
# `make test` runs the quick selection (CODEPIPE_VM_QUICK=1, ~10 min); `make test-v2` all of it.
# Knobs: CODEPIPE_VM_CPUS, CODEPIPE_VM_MEMORY, CODEPIPE_VM_TIME_SCALE (tests/vm/run_v2.sh).
test-v2: setup
	tests/vm/run_v2.sh $(PYTEST_ARGS)

# The integration suite against a real LocalStack on this host, no Docker (tests/localstack/README.md).
# Its venv (.venv-localstack/, Python 3.12+) is built once. LOCALSTACK_PYTEST_ARGS go to pytest.
# `make test` runs it last: CODEPIPE_LOCALSTACK=0 skips it there, =1 requires it; by default it
# runs when that venv can be built and says so loudly when it cannot.
LOCALSTACK_RUN_ARGS ?=
test-localstack: setup
	$(PY) tests/localstack/run.py $(LOCALSTACK_RUN_ARGS) $(LOCALSTACK_PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

setup: deps venv sandbox

# Debian build packages, only when running as root and something is missing.
deps:
	@if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	  missing=""; \
	  dpkg -s libseccomp-dev >/dev/null 2>&1 || missing="$$missing libseccomp-dev"; \
	  dpkg -s pkg-config >/dev/null 2>&1 || command -v pkg-config >/dev/null || missing="$$missing pkg-config"; \
	  command -v gcc >/dev/null || missing="$$missing gcc"; \
	  command -v g++ >/dev/null || missing="$$missing g++"; \
	  command -v javac >/dev/null || missing="$$missing openjdk-17-jdk-headless"; \
	  [ -x /usr/bin/go ] || missing="$$missing golang-go"; \
	  [ -x /usr/bin/node ] || missing="$$missing nodejs"; \
	  $(PY_SYS) -c 'import venv, ensurepip' 2>/dev/null || [ -x $(PY) ] || missing="$$missing python3-venv"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  fi; \
	fi

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@[ -n "$(PY_SYS)" ] || [ -x $(PY) ] || { echo "need Python 3.11+ (python3.11 or newer on PATH)"; exit 1; }
	@[ -x $(PY) ] || $(PY_SYS) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	@touch $@

sandbox:
	@if [ -f $(SANDBOX_DIR)/Makefile ]; then $(MAKE) -C $(SANDBOX_DIR); \
	else echo "($(SANDBOX_DIR)/Makefile not there yet: no sandbox helper)"; fi

# End-to-end latency per language (starts its own stack), the sandbox helper's overhead and its interactive pairs.
bench: setup
	@ran=0; \
	if [ -f bench/latency.py ]; then $(PY) bench/latency.py $(BENCH_ARGS) || exit 1; ran=1; fi; \
	if [ -f bench/sandbox_overhead.py ]; then $(PY) bench/sandbox_overhead.py || exit 1; ran=1; fi; \
	if [ -f bench/interactive.py ]; then $(PY) bench/interactive.py || exit 1; ran=1; fi; \
	[ $$ran = 1 ] || echo "no benchmarks yet (bench/*.py)"

clean:
	@if [ -f $(SANDBOX_DIR)/Makefile ]; then $(MAKE) -C $(SANDBOX_DIR) clean; fi
	rm -rf .pytest_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
