#!/usr/bin/env bash
# AtRest's main job in one command: builds (debug), starts the identity
# service, the key vault, the front door and two crypto workers on loopback
# with CURVE on every link, then walks through an account's life with the
# `atrest` CLI: upload and read back a file, show that nothing readable is on
# disk, switch to a customer key, disable it (reads fail with the key error),
# enable it (reads work, bytes match), switch back to managed.
#
#   scripts/run.sh [--clean] [--keep-running] [--release] [--backend local|rados]
#
#   --clean         wipe the data directory (.atrest-demo/) first
#   --keep-running  leave the cluster up at the end and print how to use it
#   --release       build and run the release binaries (swift build -c release;
#                   what scripts/compare-peers.sh measures)
#   --backend       where the workers store objects and the front door its
#                   account registry: local (default: .atrest-demo/objects)
#                   or rados (a throwaway Ceph cluster started with
#                   scripts/ceph-dev.sh in .atrest-demo/ceph, pool atrest)
#
# Env: ATREST_DEMO_PORT_BASE (default 7400): front door base, workers +1,
# vault +10, vault events +11, identity +20. ATREST_DEMO_DIR (default
# .atrest-demo/): the data directory. ATREST_BIN_DIR: run the executables
# already built there instead of installing packages and building (what
# RunScriptTests does with the test build).
#
# CURVE: every server key pair is generated at first start into
# .atrest-demo/curve/ (0600) with `atrest curve keygen`; each server has an
# allow file of the client keys that may connect:
#   identity  <- vault, front door, workers
#   vault     <- front door, workers (RPC and the key-event socket)
#   front door clients <- the CLI;  front door workers <- the two workers
# The CLI talks only to the front door (which forwards identity and vault calls).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${ATREST_DEMO_DIR:-$ROOT/.atrest-demo}"
KEEP=0
CLEAN=0
CONFIG=debug
BACKEND=local
while [ $# -gt 0 ]; do
  case "$1" in
    --keep-running) KEEP=1 ;;
    --clean) CLEAN=1 ;;
    --release) CONFIG=release ;;
    --backend) BACKEND="${2:-}"; shift ;;
    --backend=*) BACKEND="${1#--backend=}" ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown flag '$1' (use --clean, --keep-running, --release, --backend local|rados)" >&2; exit 2 ;;
  esac
  shift
done
case "$BACKEND" in
  local|rados) ;;
  *) echo "run.sh: --backend must be local or rados, got '$BACKEND'" >&2; exit 2 ;;
esac

BASE="${ATREST_DEMO_PORT_BASE:-7400}"
FD_EP="tcp://127.0.0.1:$BASE"
WK_EP="tcp://127.0.0.1:$((BASE + 1))"
VAULT_EP="tcp://127.0.0.1:$((BASE + 10))"
EVENTS_EP="tcp://127.0.0.1:$((BASE + 11))"
ID_EP="tcp://127.0.0.1:$((BASE + 20))"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() { echo "run.sh: FAILED: $*" >&2; exit 1; }

# ---- processes: started in order, stopped in reverse (SIGTERM, then SIGKILL) ----
PIDS=()
NAMES=()
stop_all() {
  local i pid waited
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    pid="${PIDS[$i]}"
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null || true
    waited=0
    while kill -0 "$pid" 2>/dev/null && [ $waited -lt 50 ]; do sleep 0.1; waited=$((waited + 1)); done
    if kill -0 "$pid" 2>/dev/null; then
      echo "run.sh: ${NAMES[$i]} (pid $pid) ignored SIGTERM for 5 s; SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
on_exit() {
  local status=$?
  if [ $KEEP -eq 1 ] && [ $status -eq 0 ]; then return; fi
  [ ${#PIDS[@]} -gt 0 ] && { echo; echo "stopping ${#PIDS[@]} processes..."; stop_all; echo "stopped."; }
  if [ "$BACKEND" = rados ] && [ -f "$DATA/ceph/ceph.conf" ]; then
    "$ROOT/scripts/ceph-dev.sh" stop "$DATA/ceph" >/dev/null 2>&1 || true
  fi
  exit $status
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Closes every descriptor above 2 this (sub)shell inherited.
close_inherited_fds() {
  local fd
  for fd in /proc/$BASHPID/fd/*; do
    fd="${fd##*/}"
    [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null
  done
  return 0
}

# start NAME LOG -- command...; waits for "ready NAME" in LOG (60 s).
start() {
  local name="$1" log="$2"
  shift 3
  # A long-running service gets stdin from /dev/null and none of this script's
  # other open files: whoever started the script (a terminal, a test harness
  # waiting for it to end) must not see them held open by the cluster.
  (close_inherited_fds; exec "$@") </dev/null >"$log" 2>&1 &
  PIDS+=($!)
  NAMES+=("$name")
  local pid=$! tries=0
  until grep -q "^ready $name " "$log" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { tail -20 "$log" >&2; fail "$name exited before it was ready (log: $log)"; }
    tries=$((tries + 1))
    [ $tries -gt 600 ] && { tail -20 "$log" >&2; fail "$name not ready after 60 s (log: $log)"; }
    sleep 0.1
  done
  echo "  $(grep -m1 "^ready $name " "$log")  (pid $pid)"
}

# ---- build ----
if [ -n "${ATREST_BIN_DIR:-}" ]; then
  step "executables already built in $ATREST_BIN_DIR (ATREST_BIN_DIR: no setup, no build)"
  BIN="$ATREST_BIN_DIR"
else
  step "setup and build ($CONFIG build: swift build -c $CONFIG)"
  "$ROOT/scripts/setup.sh"
  (cd "$ROOT" && swift build -c "$CONFIG" 2>&1 | grep -E "error|Compiling|Build complete" | tail -3)
  BIN="$(cd "$ROOT" && swift build -c "$CONFIG" --show-bin-path)"
fi
for tool in atrest atrest-identity atrest-keyvault atrest-frontdoor atrest-worker; do
  [ -x "$BIN/$tool" ] || fail "$BIN/$tool is missing after the build"
done
export ATREST_BIN_DIR="$BIN"

# ---- data directory ----
if [ $CLEAN -eq 1 ]; then rm -rf "$DATA"; fi
mkdir -p "$DATA"/{curve,logs,cli,tmp}
chmod 700 "$DATA" "$DATA/curve" "$DATA/cli"
rm -f "$DATA"/tmp/*

# ---- CURVE keys (first start only) and allow files ----
step "CURVE key pairs (generated once into $DATA/curve, mode 0600)"
key() { "$BIN/atrest" curve keygen "$DATA/curve/$1.key"; }
ID_PUB=$(key identity); VAULT_PUB=$(key vault); FD_PUB=$(key frontdoor)
VAULT_C=$(key vault-client); FD_C=$(key frontdoor-client); W0_C=$(key worker0); W1_C=$(key worker1); CLI_C=$(key cli)
printf '%s\n' "$VAULT_C" "$FD_C" "$W0_C" "$W1_C" >"$DATA/curve/identity.allow"
printf '%s\n' "$FD_C" "$W0_C" "$W1_C" >"$DATA/curve/vault.allow"
printf '%s\n' "$CLI_C" >"$DATA/curve/frontdoor-clients.allow"
printf '%s\n' "$W0_C" "$W1_C" >"$DATA/curve/frontdoor-workers.allow"
ls -l "$DATA/curve" | sed 's/^/  /'

# ---- storage ----
if [ "$BACKEND" = rados ]; then
  step "start a throwaway Ceph cluster (scripts/ceph-dev.sh: one monitor, one memstore OSD, pool atrest, cephx user client.atrest)"
  "$ROOT/scripts/ceph-dev.sh" stop "$DATA/ceph" >/dev/null 2>&1 || true
  rm -rf "$DATA/ceph"
  "$ROOT/scripts/ceph-dev.sh" start "$DATA/ceph" --pool atrest | tail -1
  STORAGE_ARGS=(--backend rados --ceph-conf "$DATA/ceph/ceph.conf" --ceph-user client.atrest
                --ceph-keyring "$DATA/ceph/client.atrest.keyring" --pool atrest)
  FRONTDOOR_STORAGE=("${STORAGE_ARGS[@]}")
else
  STORAGE_ARGS=(--backend local --data-dir "$DATA/objects")
  FRONTDOOR_STORAGE=()
fi

# ---- services ----
step "start identity, vault, front door, two workers (storage: $BACKEND)"
CRED="$DATA/identity/credentials"
start atrest-identity "$DATA/logs/identity.log" -- "$BIN/atrest-identity" --endpoint "$ID_EP" --data-dir "$DATA/identity" \
  --service-principal frontdoor --service-principal worker --service-principal keyvault --log-level warning \
  --curve-secret-key-file "$DATA/curve/identity.key" --curve-allow-file "$DATA/curve/identity.allow"
start atrest-keyvault "$DATA/logs/vault.log" -- "$BIN/atrest-keyvault" --endpoint "$VAULT_EP" --events-endpoint "$EVENTS_EP" \
  --data-dir "$DATA/vault" --provider managed --provider customer --provider revoked-test \
  --identity-endpoint "$ID_EP" --credentials-file "$CRED/keyvault.secret" --log-level warning \
  --curve-secret-key-file "$DATA/curve/vault.key" --curve-allow-file "$DATA/curve/vault.allow" \
  --curve-key-file "$DATA/curve/vault-client.key" --identity-server-key="$ID_PUB"
start atrest-frontdoor "$DATA/logs/frontdoor.log" -- "$BIN/atrest-frontdoor" --endpoint "$FD_EP" --workers "$WK_EP" \
  --identity "$ID_EP" --vault "$VAULT_EP" --vault-events "$EVENTS_EP" --data-dir "$DATA/frontdoor" \
  --credentials-file "$CRED/frontdoor.secret" --log-level warning \
  --curve-secret-key-file "$DATA/curve/frontdoor.key" --curve-allow-file "$DATA/curve/frontdoor-clients.allow" \
  --workers-curve-allow-file "$DATA/curve/frontdoor-workers.allow" \
  --curve-key-file "$DATA/curve/frontdoor-client.key" --identity-server-key="$ID_PUB" --vault-server-key="$VAULT_PUB" \
  ${FRONTDOOR_STORAGE[@]+"${FRONTDOOR_STORAGE[@]}"}
for i in 0 1; do
  start atrest-worker "$DATA/logs/worker$i.log" -- "$BIN/atrest-worker" --frontdoor "$WK_EP" --identity "$ID_EP" \
    --vault "$VAULT_EP" --vault-events "$EVENTS_EP" "${STORAGE_ARGS[@]}" --credentials-file "$CRED/worker.secret" \
    --name "w$i" --log-level notice --curve-key-file "$DATA/curve/worker$i.key" --frontdoor-server-key="$FD_PUB" \
    --identity-server-key="$ID_PUB" --vault-server-key="$VAULT_PUB"
done

# ---- the CLI: one config per person, CURVE to the front door ----
# `atrest login` saves the endpoint, the front door's CURVE key and the client
# key file with the token, so every later command needs no connection flags.
CURVE_ARGS=(--endpoint "$FD_EP" --curve-server-key="$FD_PUB" --curve-key-file "$DATA/curve/cli.key")
as_admin() { ATREST_CONFIG="$DATA/cli/admin.json" "$BIN/atrest" "$@"; }
as_user() { ATREST_CONFIG="$DATA/cli/user.json" "$BIN/atrest" "$@"; }
show() { echo "\$ atrest $*"; }

RUN="$(date +%H%M%S)$((RANDOM % 100))"
USER_NAME="alice-$RUN"
ACCOUNT="demo-$RUN"
CONTAINER="photos"
BLOB="holiday-$RUN.bin"
CKEY="demo-key-$RUN"

step "log in as admin (secret from $CRED/admin.secret)"
show login --user admin --secret-file "$CRED/admin.secret" --endpoint "$FD_EP" --curve-server-key=… --curve-key-file "$DATA/curve/cli.key"
as_admin login --user admin --secret-file "$CRED/admin.secret" "${CURVE_ARGS[@]}"

step "create tenant 'demo' and user '$USER_NAME' (key administrator in 'demo'), log in as them"
show tenant create demo
as_admin tenant create demo --display-name "Demo tenant" 2>/dev/null || echo "  (tenant demo exists from an earlier run)"
head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$DATA/tmp/user.secret"
chmod 600 "$DATA/tmp/user.secret"
show user create "$USER_NAME" --tenant demo --secret-file ...
as_admin user create "$USER_NAME" --tenant demo --secret-file "$DATA/tmp/user.secret"
show role grant keyAdministrator --tenant demo --name "$USER_NAME"
as_admin role grant keyAdministrator --tenant demo --name "$USER_NAME" >/dev/null
show login --tenant demo --user "$USER_NAME" --secret-file ...
as_user login --tenant demo --user "$USER_NAME" --secret-file "$DATA/tmp/user.secret" "${CURVE_ARGS[@]}"

step "create account '$ACCOUNT' (managed key, encryption always on)"
show account create "$ACCOUNT"
as_user account create "$ACCOUNT"

step "its encryption settings"
show encryption show "$ACCOUNT"
as_user encryption show "$ACCOUNT"

step "create container '$CONTAINER'"
show container create "$CONTAINER" --account "$ACCOUNT"
as_user container create "$CONTAINER" --account "$ACCOUNT"

step "upload a 12 MiB random file (staged blocks in parallel over both workers) and read it back"
SRC="$DATA/tmp/source.bin"
OUT="$DATA/tmp/readback.bin"
MARKER="ATREST-DEMO-PLAINTEXT-$RUN"
{ printf '%s' "$MARKER"; head -c $((12 * 1024 * 1024)) /dev/urandom; } >"$SRC"
show blob put "$CONTAINER" "$BLOB" "$SRC" --account "$ACCOUNT" --metadata owner=alice
as_user blob put "$CONTAINER" "$BLOB" "$SRC" --account "$ACCOUNT" --metadata owner=alice --content-type application/octet-stream
show blob ls "$CONTAINER" --account "$ACCOUNT"
as_user blob ls "$CONTAINER" --account "$ACCOUNT"
show blob get "$CONTAINER" "$BLOB" "$OUT" --account "$ACCOUNT"
as_user blob get "$CONTAINER" "$BLOB" "$OUT" --account "$ACCOUNT" >/dev/null
SRC_HASH=$(sha256sum <"$SRC" | cut -d' ' -f1)
OUT_HASH=$(sha256sum <"$OUT" | cut -d' ' -f1)
echo "  sha256 uploaded:  $SRC_HASH"
echo "  sha256 read back: $OUT_HASH"
[ "$SRC_HASH" = "$OUT_HASH" ] || fail "the read-back bytes differ from the upload"
echo "  identical."

SCANNED=("$DATA/identity" "$DATA/vault" "$DATA/frontdoor")
if [ "$BACKEND" = rados ]; then
  # Every object of the pool, with its name, xattrs and omap, as RADOS keeps them.
  rm -rf "$DATA/tmp/rados-export"
  mkdir -p "$DATA/tmp/rados-export"
  rados -c "$DATA/ceph/ceph.conf" -n client.admin -k "$DATA/ceph/client.admin.keyring" -p atrest export "$DATA/tmp/rados-export/atrest.export" >/dev/null 2>&1 \
    || fail "could not export pool atrest for the scan"
  echo "  pool atrest: $(rados -c "$DATA/ceph/ceph.conf" -n client.admin -k "$DATA/ceph/client.admin.keyring" -p atrest ls | wc -l) RADOS objects, exported to $(du -h "$DATA/tmp/rados-export/atrest.export" | cut -f1)"
  SCANNED+=("$DATA/tmp/rados-export")
else
  SCANNED+=("$DATA/objects")
fi
step "the stored data holds no plaintext, blob name or metadata value (grep)"
for needle in "$MARKER" "$BLOB" "owner" "alice"; do
  # Logs and the CLI's own files are not data at rest; everything the services persist is.
  if grep -rlaF -- "$needle" "${SCANNED[@]}" 2>/dev/null \
       | grep -v -e '/credentials/' ; then
    fail "'$needle' found in clear on disk"
  fi
  echo "  '$needle': not found in $(find "${SCANNED[@]}" -type f | wc -l) files"
done
rm -rf "$DATA/tmp/rados-export"

step "create customer key '$CKEY', grant it to the account's managed identity, switch the account to it"
show key create "customer/$CKEY"
as_user key create "customer/$CKEY" | grep -E "^(key|state|currentVersion) "
show key grant "customer/$CKEY" --account "$ACCOUNT" --operations wrap,unwrap
as_user key grant "customer/$CKEY" --account "$ACCOUNT" --operations wrap,unwrap
show encryption set "$ACCOUNT" --key-source customer --key "$CKEY"
as_user encryption set "$ACCOUNT" --key-source customer --key "$CKEY"

step "disable the customer key: reads fail with the key error"
show key disable "customer/$CKEY"
as_user key disable "customer/$CKEY" | grep -E "^(key|state) "
started=$(date +%s%N)
while true; do
  set +e
  err=$(as_user blob get "$CONTAINER" "$BLOB" "$OUT" --account "$ACCOUNT" 2>&1 >/dev/null)
  code=$?
  set -e
  [ $code -ne 0 ] && break
  [ $(( ($(date +%s%N) - started) / 1000000 )) -gt 5000 ] && fail "reads still work 5 s after disabling the key"
  sleep 0.1
done
echo "\$ atrest blob get $CONTAINER $BLOB ... -> exit $code after $(( ($(date +%s%N) - started) / 1000000 )) ms"
echo "$err" | sed 's/^/  /'
[ $code -eq 6 ] || [ $code -eq 4 ] || fail "expected exit 6 (precondition) or 4 (permission), got $code"
echo "$err" | grep -q "not accessible" || fail "the error does not say the key is not accessible"

step "enable the key: reads work again, bytes match"
show key enable "customer/$CKEY"
as_user key enable "customer/$CKEY" | grep -E "^(key|state) "
started=$(date +%s%N)
until as_user blob get "$CONTAINER" "$BLOB" "$OUT" --account "$ACCOUNT" >/dev/null 2>&1; do
  [ $(( ($(date +%s%N) - started) / 1000000 )) -gt 5000 ] && fail "reads still fail 5 s after enabling the key"
  sleep 0.1
done
OUT_HASH=$(sha256sum <"$OUT" | cut -d' ' -f1)
echo "  read back after $(( ($(date +%s%N) - started) / 1000000 )) ms, sha256 $OUT_HASH"
[ "$SRC_HASH" = "$OUT_HASH" ] || fail "bytes differ after re-enabling the key"
echo "  identical."

step "switch back to the managed key"
show encryption set "$ACCOUNT" --key-source managed
as_user encryption set "$ACCOUNT" --key-source managed
as_user blob get "$CONTAINER" "$BLOB" "$OUT" --account "$ACCOUNT" >/dev/null
[ "$(sha256sum <"$OUT" | cut -d' ' -f1)" = "$SRC_HASH" ] || fail "bytes differ after switching back"
echo "  read back under the managed key: identical."
rm -f "$SRC" "$OUT"

if [ $KEEP -eq 1 ]; then
  step "cluster left running (stop: kill ${PIDS[*]})"
  cat <<EOF
  front door  $FD_EP (CURVE public key $FD_PUB)
  workers     $WK_EP
  vault       $VAULT_EP (events $EVENTS_EP)
  identity    $ID_EP
  logs        $DATA/logs/
Use the CLI as $USER_NAME (the login saved endpoint and CURVE settings):
export ATREST_CONFIG=$DATA/cli/user.json ATREST_ACCOUNT=$ACCOUNT PATH=$BIN:\$PATH
  atrest blob ls $CONTAINER
  atrest blob props $CONTAINER $BLOB
  atrest config show
EOF
  exit 0
fi
step "done: every step passed"
