#!/usr/bin/env bash
# AtRest side by side with the tools a user would pick instead (issue 19):
# the same COUNT x 1 MiB random files written, each run made durable, with
#   plain   cp -r, then sync -f (no encryption: the ceiling)
#   rclone  rclone copy to a crypt remote over a local directory, then sync -f
#   restic  restic backup to a local repository, then sync -f
#   age     age -r <recipient> per file (4 in parallel), each output fsynced
#   atrest  `atrest blob put-files` (one process, 4 puts in flight) on a
#           release cluster started with scripts/run.sh --release
#           --keep-running; a put returns once it is durable
#   atrest-1 `atrest blob put` per file, 4 processes at a time (a process
#           start, CURVE handshake and config read per file)
# and prints MiB/s per tool and AtRest's ratio to rclone crypt (target
# >= 2.5x). Not run in CI. Installs rclone, restic and age from Debian when
# missing. Every target directory is under this checkout (one file system);
# everything it makes is removed on exit, the cluster stopped.
#
#   scripts/compare-peers.sh            (env: COUNT=256, PARALLEL=4,
#                                        ATREST_DEMO_PORT_BASE=17400)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COUNT="${COUNT:-256}"
PARALLEL="${PARALLEL:-4}"
export ATREST_DEMO_PORT_BASE="${ATREST_DEMO_PORT_BASE:-17400}"

missing=()
for tool in rclone restic age; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get install -y "${missing[@]}" >/dev/null || { apt-get update >/dev/null && apt-get install -y "${missing[@]}" >/dev/null; }
fi

WORK="$(mktemp -d "$ROOT/.compare-peers.XXXXXX")"
CLUSTER_PIDS=""
cleanup() {
  local pid
  for pid in $CLUSTER_PIDS; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in $CLUSTER_PIDS; do while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "compare-peers: $(date -u '+%F %H:%M UTC'), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"\
     "$(uname -r), $(df -h "$ROOT" | awk 'NR == 2 {print $1}') ($(stat -f -c %T "$ROOT")); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "versions: rclone $(rclone version | head -1 | cut -d' ' -f2), restic $(restic version | cut -d' ' -f2), age $(age --version)"

mkdir "$WORK/src"
for i in $(seq -w 1 "$COUNT"); do head -c 1048576 /dev/urandom >"$WORK/src/file-$i.bin"; done
sync -f "$WORK/src"

declare -A RATE
# measure NAME COMMAND...: runs it, prints and keeps NAME's MiB/s.
measure() {
  local name="$1" start end
  shift
  sync -f "$WORK"
  start=$(date +%s.%N)
  "$@"
  end=$(date +%s.%N)
  RATE[$name]=$(awk -v n="$COUNT" -v a="$start" -v b="$end" 'BEGIN {print n / (b - a)}')
  printf '  %-8s %8.1f MiB/s  (%.2f s)\n' "$name" "${RATE[$name]}" "$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}')"
}

# ---- the peers' set-up (not timed) ----
RCLONE_CONF="$WORK/rclone.conf"
cat >"$RCLONE_CONF" <<EOF
[crypt]
type = crypt
remote = $WORK/rclone-crypt
password = $(rclone obscure "$(head -c 24 /dev/urandom | base64)")
password2 = $(rclone obscure "$(head -c 24 /dev/urandom | base64)")
EOF
export RESTIC_PASSWORD="compare-peers-$RANDOM-$RANDOM" RESTIC_REPOSITORY="$WORK/restic"
restic init --quiet >/dev/null
age-keygen -o "$WORK/age.key" 2>/dev/null
RECIPIENT="$(age-keygen -y "$WORK/age.key")"
mkdir "$WORK/age"

plain() { cp -r "$WORK/src" "$WORK/plain" && sync -f "$WORK/plain"; }
crypt() { rclone --config "$RCLONE_CONF" copy --transfers "$PARALLEL" "$WORK/src" crypt: && sync -f "$WORK/rclone-crypt"; }
backup() { (cd "$WORK" && restic backup --quiet src) && sync -f "$RESTIC_REPOSITORY"; }
encrypt() {
  export RECIPIENT WORK
  (cd "$WORK/src" && ls) | xargs -P "$PARALLEL" -I{} sh -c 'age -r "$RECIPIENT" -o "$WORK/age/{}.age" "$WORK/src/{}" && sync "$WORK/age/{}.age"'
}

# ---- AtRest: a release cluster on loopback ----
echo "starting a release cluster (scripts/run.sh --release --clean --keep-running; the build may take a while)..."
RUN_LOG="$WORK/run.log"
"$ROOT/scripts/run.sh" --release --clean --keep-running >"$RUN_LOG" 2>&1 || { tail -30 "$RUN_LOG" >&2; exit 1; }
CLUSTER_PIDS="$(sed -n 's/.*cluster left running (stop: kill \(.*\)).*/\1/p' "$RUN_LOG")"
eval "$(grep '^export ATREST_CONFIG=' "$RUN_LOG")"
[ -n "$CLUSTER_PIDS" ] && [ -n "${ATREST_ACCOUNT:-}" ] || { tail -30 "$RUN_LOG" >&2; echo "compare-peers: the cluster did not start" >&2; exit 1; }
for c in peers peers-each; do atrest container create "$c" --account "$ATREST_ACCOUNT" >/dev/null; done
put() { atrest blob put-files peers "$WORK"/src/* --parallelism "$PARALLEL" --account "$ATREST_ACCOUNT" >/dev/null; }
# The same with one CLI process per file (start-up, CURVE handshake and config per file: not the data path).
put_each() {
  (cd "$WORK/src" && ls) | xargs -P "$PARALLEL" -I{} atrest blob put peers-each {} "$WORK/src/{}" --account "$ATREST_ACCOUNT" >/dev/null
}

echo "writing $COUNT x 1 MiB ($PARALLEL in parallel where the tool allows it):"
measure plain plain
measure rclone crypt
measure restic backup
measure age encrypt
measure atrest put
measure atrest-1 put_each
[ "$(atrest blob ls peers --account "$ATREST_ACCOUNT" | grep -c 'file-')" -eq "$COUNT" ] || { echo "compare-peers: not every blob is listed" >&2; exit 1; }
printf 'atrest / rclone crypt: %.2fx (target >= 2.5x); load average after: %s\n' \
  "$(awk -v a="${RATE[atrest]}" -v r="${RATE[rclone]}" 'BEGIN {print a / r}')" "$(cut -d' ' -f1-3 /proc/loadavg)"
