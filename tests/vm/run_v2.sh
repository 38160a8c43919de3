#!/usr/bin/env bash
# The sandbox helper's whole suite (hostile programs included) inside a VM whose kernel has
# cgroup v1 switched off: the cgroup v2 path every production host takes (Amazon Linux 2023,
# Ubuntu 24.04, Debian 12 defaults) is tested on every run, not just written.
#
#   tests/vm/run_v2.sh [pytest args...]     (make test-v2)
#
# How: virtme-ng boots the distribution kernel under QEMU (TCG: nested KVM does not work on
# these machines) with the host root shared read-only, `cgroup_no_v1=all`, and a writable copy
# of the checkout. Emulation is ~6-10x slower, so the helper's limits in the tests are scaled
# by CODEPIPE_TEST_TIME_SCALE inside the VM (never on the host). Exit status: the suite's.
# CODEPIPE_VM_REQUIRED=1: a machine that cannot boot the VM is an error, not a skip.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
VENV=${VENV:-$ROOT/.venv}
SCALE=${CODEPIPE_VM_TIME_SCALE:-8}
MEM=${CODEPIPE_VM_MEMORY:-2G}
CPUS=${CODEPIPE_VM_CPUS:-$(nproc)}

cannot() {
  echo "=================================================================="
  echo "  test-v2: CANNOT BOOT THE cgroup-v2 VM HERE: $*"
  echo "  the sandbox's cgroup v2 path was NOT tested on this machine."
  echo "=================================================================="
  [ "${CODEPIPE_VM_REQUIRED:-0}" = 1 ] && exit 1
  exit 0
}

install_missing() {
  local missing=""
  command -v qemu-system-x86_64 >/dev/null || missing="$missing qemu-system-x86"
  compgen -G "/boot/vmlinuz-*" >/dev/null || missing="$missing linux-image-amd64"
  command -v busybox >/dev/null || [ -x /bin/busybox ] || missing="$missing busybox-static"
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "test-v2: installing$missing"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null || cannot "apt-get install$missing failed"
    else
      cannot "missing$missing (install them as root)"
    fi
  fi
  [ -x "$VENV/bin/vng" ] || cannot "no virtme-ng in $VENV (requirements-dev.txt)"
}

if [ "${CODEPIPE_VM:-1}" = 0 ]; then
  echo "test-v2: skipped (CODEPIPE_VM=0): the sandbox's cgroup v2 path was NOT tested"
  exit 0
fi
[ "$(uname -m)" = x86_64 ] || cannot "not an x86_64 host"
install_missing
KERNEL=$(ls -1 /boot/vmlinuz-* | sort -V | tail -n 1)
make -s -C native_sandbox

# Not under /tmp: the VM mounts its own tmpfs there.  No "codepipe" in the name: the tests look
# for leftover mounts of theirs by that word, and this one (the VM's 9p share) is not theirs.
COPY=$(mktemp -d /var/tmp/cp-vm.XXXXXX)
trap 'rm -rf "$COPY"' EXIT
# A writable copy: the suite writes its build and temp files there; the host tree stays as is.
tar -C "$ROOT" --exclude=./.git --exclude=./.venv --exclude='./.venv-*' --exclude='*/__pycache__' -cf - . \
  | tar -C "$COPY" -xf -
# The Go toolchain's build cache of the test programs (conftest.py GO_TEST_CACHE): built here,
# where compiling the standard library takes seconds, not the many minutes it takes emulated.
GOCACHE_DIR=/tmp/codepipe-test-cache/native-gocache
if [ -x /usr/bin/go ]; then
  GO111MODULE=off GOPROXY=off GOFLAGS= GOENV=off CGO_ENABLED=0 GOPATH=/go HOME="$COPY" GOCACHE="$GOCACHE_DIR" \
    /usr/bin/go build -trimpath -o /dev/null native_sandbox/tests/programs/hostile.go \
    || echo "test-v2: warning: go build on the host failed (the VM builds it, slowly)"
  [ -d "$GOCACHE_DIR" ] && cp -a "$GOCACHE_DIR" "$COPY/.vm-gocache"
fi
# pytest arguments: the whole helper suite unless some name its own test paths
# CODEPIPE_VM_QUICK=1 (what `make test` uses, to stay within ~10 minutes): the files whose
# subject differs between cgroup versions (limits, measurement, slots, channels, cleanup,
# degraded modes, the copy-on-write workdir, the pool); the language-runtime files (JVM, node,
# go, javac under emulation: most of the full run's time) only in the full `make test-v2`.
QUICK_FILES="test_accuracy test_args test_channels test_cgroup_pool test_degraded test_hostile test_slots
  test_turns test_workdir test_zz_cleanup"
TARGETS="$*"
case " $* " in
  *" native_sandbox/"*) ;;
  *) if [ "${CODEPIPE_VM_QUICK:-0}" = 1 ]; then
       TARGETS="$(for f in $QUICK_FILES; do printf 'native_sandbox/tests/%s.py ' "$f"; done) $*"
     else
       TARGETS="native_sandbox/tests $*"
     fi ;;
esac
# The venv, read-only at a fixed path: the VM's /var/tmp is its own tmpfs and its /tmp gets one
# (in-vm.sh), so a checkout under either would not be visible there at its host path.
VM_VENV=/var/tmp/cp-venv
cat > "$COPY/in-vm.sh" <<EOF
#!/bin/sh
# Work on the VM's own tmpfs: the shared directory is a 9p/virtiofs mount, whose ownership and
# mode mapping is not what the sandbox's files get on a real host's disk.
grep -q ' /tmp tmpfs ' /proc/mounts || mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p /tmp/codepipe && cp -a "$COPY/." /tmp/codepipe/ && cd /tmp/codepipe
if [ -d .vm-gocache ]; then mkdir -p /tmp/codepipe-test-cache && mv .vm-gocache $GOCACHE_DIR; fi
echo "--- probe inside the VM (kernel \$(uname -r)):"
./native_sandbox/build/sandbox --probe
echo
export CODEPIPE_TEST_TIME_SCALE=$SCALE
# the plugins the helper's suite does not use cost a minute of emulated imports
exec $VM_VENV/bin/python -m pytest -p no:cacheprovider -p no:hypothesispytest -p no:schemathesis -p no:anyio \
  -o addopts="" --timeout 900 --durations=25 $TARGETS
EOF
chmod +x "$COPY/in-vm.sh"

echo "test-v2: booting $KERNEL with cgroup v1 off (TCG, $CPUS vCPUs, $MEM), limits x$SCALE inside"
start=$(date +%s)
set +e
PATH="$VENV/bin:$PATH" timeout "${CODEPIPE_VM_TIMEOUT_S:-1800}" vng --disable-kvm -r "$KERNEL" --user root \
  -m "$MEM" -p "$CPUS" --rwdir "$COPY" --rodir="$VM_VENV=$(realpath "$VENV")" \
  --append "cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1" -- "$COPY/in-vm.sh" 2>&1 | tee "$COPY/vm.log"
rc=${PIPESTATUS[0]}
set -e
echo "test-v2: VM run took $(( $(date +%s) - start )) s, exit $rc"
grep -q '"cgroup": "v2"' "$COPY/vm.log" || { echo "test-v2: the VM did not report cgroup v2"; exit 1; }
# pytest's last line, e.g. "==== 2 failed, 119 passed, 1 skipped in 250.1s ===="
summary=$(grep -E '^=+ .*[0-9]+ (passed|failed|error).* in [0-9.]+s' "$COPY/vm.log" | tail -n 1)
[ -n "$summary" ] || { echo "test-v2: no test summary from the VM"; exit 1; }
ran=$(echo "$summary" | grep -oE '[0-9]+ (passed|failed|errors?)' | awk '{n += $1} END {print n + 0}')
echo "test-v2: $ran tests run inside the cgroup-v2 VM: $(echo "$summary" | sed -E 's/^=+ | =+$//g')"
exit "$rc"
