#!/usr/bin/env bash
# Installs the system packages AtRest builds and tests with, when missing.
# Safe to run repeatedly; needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  libzmq3-dev          # ZeroMQ (libzmq 4.3)
  libprotobuf-c-dev    # protobuf-c runtime
  protobuf-c-compiler  # protoc-c, for scripts/gen-proto.sh and its staleness check
  libssl-dev           # OpenSSL 3 libcrypto
  pkg-config
  librados-dev         # librados (Ceph), for the CRados target
  libsqlite3-dev       # SQLite, the local backend's record maps (CSQLite)
  sqlite3              # scripts/backup.sh: online copies of record maps
  fuse3                # fusermount3: mounting and unmounting the FUSE file systems (atrest-fuse-passthrough)
  libfuse3-dev         # libfuse3, for the CFuse3 target
)
# Extra packages for the test suite (other-language clients, tooling).
if [ "${1:-}" = "--test" ]; then
  # gcc/libc6-dev: `cc` for the C client example; python3-yaml: the compose file check;
  # python3-cryptography: the independent decoder of the data at rest (clients/python/atrest_decode.py)
  # python3-prometheus-client: an independent parser of /metrics (MetricsEndpointTests)
  # python3-venv: `pip install clients/python` into a fresh virtual environment (ClientsInteropTests)
  # mypy: the Python client's type hints, checked strictly (PythonClientTypeTests)
  packages+=(python3 python3-zmq python3-protobuf python3-cryptography protobuf-compiler gcc libc6-dev python3-yaml python3-prometheus-client python3-venv mypy)
  # ceph-mon/osd: the throwaway cluster of scripts/ceph-dev.sh (RadosTests); it starts no manager,
  # and Debian's ceph-mon and ceph-osd do not depend on ceph-mgr (with its Python web stack)
  packages+=(ceph-mon ceph-osd)
  # Real NBD clients for the NBD gateway's tests (AtRestNBDTests, NBDDiskTests): qemu-img/qemu-io,
  # nbdinfo/nbdcopy (libnbd-bin), nbdsh (python3-libnbd), nbdkit, and fio
  # (load against an export by hand: fio --ioengine=nbd --uri=nbd://127.0.0.1:10809/ACCOUNT/DISK)
  packages+=(qemu-utils libnbd-bin python3-libnbd nbdkit fio)
  # The FUSE tests (AtRestFUSETests) copy trees in and out of a real mount with rsync and cp -a
  packages+=(rsync)
  # The share mount's tests (FileMountTests) run git, tar and sqlite3 on a mounted share
  packages+=(git tar sqlite3)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } \
    || { echo "setup: could not install ${missing[*]}: the build and tests need them (is apt reachable? run as root or with sudo)" >&2; exit 1; }
fi
# FUSE mounts need the kernel's device (a container needs --device /dev/fuse); the FUSE tests skip without it.
[ -e /dev/fuse ] || echo "setup: no /dev/fuse here: FUSE mounts (atrest-fuse-passthrough, AtRestFUSETests) cannot work" >&2
command -v swift >/dev/null || { echo "setup: the Swift toolchain (6.x) must be on PATH" >&2; exit 1; }
