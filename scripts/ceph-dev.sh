#!/usr/bin/env bash
# A throwaway single-host Ceph cluster for development and tests (issue 14).
#
#   scripts/ceph-dev.sh start DIR [--osds N] [--store memstore|bluestore] [--pool NAME] [--host ADDR]
#   scripts/ceph-dev.sh stop DIR
#   scripts/ceph-dev.sh status DIR
#   scripts/ceph-dev.sh user DIR NAME CAPS...      e.g. user DIR reader mon 'allow r' osd 'allow r pool=atrest'
#   scripts/ceph-dev.sh stop-osd DIR N
#   scripts/ceph-dev.sh start-osd DIR N
#
# start: installs the Ceph packages when missing, then runs one monitor and N
# OSDs (default 1, memstore) on 127.0.0.1 only (or on --host ADDR, one local
# address, e.g. a veth end other network namespaces reach), with cephx, every path under
# DIR (nothing under /var). It creates the pool (default `atrest`, replicated
# size min(N, 3), min_size 1) and the least-privilege user client.atrest
# (mon 'allow r', osd 'allow rw pool=POOL'), writes DIR/ceph.conf and
# DIR/client.atrest.keyring, and prints one line
#   ceph-dev ready conf=DIR/ceph.conf user=client.atrest pool=POOL
# once a write as client.atrest has worked. The monitor port is picked free,
# so clusters in different DIRs run side by side. On failure: a message and
# the tail of the daemon's log on stderr, the daemons started are stopped,
# exit 1.
# stop: stops the daemons recorded in DIR/pids and waits until they are gone.
# status: one line per daemon (running / gone); exit 1 unless all run.
# user: creates cephx user client.NAME with CAPS (pairs: service, capability)
# on the running cluster, writes its key to DIR/client.NAME.keyring (mode 0600)
# and prints that path.
# stop-osd: stops osd.N (SIGTERM: it tells the monitor, which marks it down)
# and returns once it is gone and marked down. start-osd: starts it again and
# returns once the monitor has it up.
set -euo pipefail

usage() {
  echo "usage: $0 start|stop|status DIR [--osds N] [--store memstore|bluestore] [--pool NAME] [--host ADDR]" >&2
  echo "       $0 user DIR NAME CAPS...  |  $0 stop-osd|start-osd DIR N" >&2
  exit 2
}
fail() { echo "ceph-dev: $*" >&2; exit 1; }

[ $# -ge 2 ] || usage
cmd=$1; dir=$2; shift 2
osds=1; store=memstore; pool=atrest; host=127.0.0.1
case "$cmd" in
  user)
    [ $# -ge 3 ] && [ $(( ($# - 1) % 2 )) -eq 0 ] || usage
    user=${1#client.}; shift
    [[ "$user" =~ ^[A-Za-z0-9_.-]+$ ]] || fail "user NAME: letters, digits, '_', '.', '-' only"
    caps=("$@") ;;
  stop-osd|start-osd)
    [ $# -eq 1 ] || usage
    osd=$1
    [[ "$osd" =~ ^[0-9]{1,2}$ ]] || fail "$cmd: N must be an OSD id (0..99), not '$osd'" ;;
  *)
    while [ $# -gt 0 ]; do
      case "$1" in
        --osds) osds=${2:?}; shift 2 ;;
        --store) store=${2:?}; shift 2 ;;
        --pool) pool=${2:?}; shift 2 ;;
        --host) host=${2:?}; shift 2 ;;
        *) usage ;;
      esac
    done ;;
esac
[[ "$osds" =~ ^[1-9][0-9]?$ ]] || fail "--osds must be 1..99, not '$osds'"
[[ "$store" == memstore || "$store" == bluestore ]] || fail "--store must be memstore or bluestore, not '$store'"
[[ "$pool" =~ ^[A-Za-z0-9_.-]+$ ]] || fail "--pool: letters, digits, '_', '.', '-' only"
[[ "$host" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || fail "--host must be an IPv4 address of this machine, not '$host'"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
conf=$dir/ceph.conf
admin=(ceph -c "$conf" -n client.admin -k "$dir/client.admin.keyring" --connect-timeout 10)

# --- Daemon bookkeeping: DIR/pids holds "name pid" lines. ---

# A pid counts as running while /proc shows it in a state other than zombie
# or dead, and its command line is a Ceph daemon of this DIR (a reused pid is not ours).
running() {
  local pid=$1 state
  [ -r "/proc/$pid/stat" ] || return 1
  state=$(sed -e 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [[ "$state" != Z && "$state" != X && -n "$state" ]] || return 1
  # No `| grep -q` here: with pipefail, grep quitting early can fail the pipeline (SIGPIPE) on a match.
  local cmdline
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ "$cmdline" == *"$conf"* ]]
}

# Sends SIGTERM to the recorded daemons named by the arguments (all when none),
# SIGKILL after 5 s, and waits until each is gone (at most 10 s).
stop_daemons() {
  local name pid left i
  while read -r name pid; do [[ $# -eq 0 || " $* " == *" $name "* ]] && running "$pid" && kill -TERM "$pid" 2>/dev/null || true; done <"$dir/pids"
  for i in $(seq 1 100); do
    left=0
    while read -r name pid; do [[ $# -eq 0 || " $* " == *" $name "* ]] && running "$pid" && left=1 || true; done <"$dir/pids"
    [ $left -eq 0 ] && return 0
    [ "$i" -eq 50 ] && while read -r name pid; do
      [[ $# -eq 0 || " $* " == *" $name "* ]] && running "$pid" && kill -KILL "$pid" 2>/dev/null || true
    done <"$dir/pids"
    sleep 0.1
  done
  fail "still running after SIGKILL: $(cat "$dir/pids")"
}

stop_all() {
  [ -f "$dir/pids" ] || return 0
  stop_daemons
  rm -f "$dir/pids"
}

# The recorded pid of daemon $1, empty when none.
pid_of() { [ ! -f "$dir/pids" ] || awk -v n="$1" '$1 == n { p = $2 } END { print p }' "$dir/pids"; }

# Starts a daemon in its own session, detached from every descriptor of the
# caller (a test harness's pipe inherited past fd 2 would never see EOF), and
# records its pid (replacing an earlier record of the same name). A background
# subshell is no group leader, so setsid does not fork.
detach() {
  local name=$1; shift
  (
    for fd in /proc/self/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
    exec setsid "$@" </dev/null >>"$dir/log/$name.out" 2>&1
  ) &
  local pid=$!
  [ -f "$dir/pids" ] && sed -i "/^$name /d" "$dir/pids"
  echo "$name $pid" >>"$dir/pids"
}

# Waits (up to $2 s) until the monitor reports osd.$1 in state $3 (up or down);
# fails early when the daemon should be up but has exited.
wait_osd_state() {
  local id=$1 seconds=$2 want=$3 i
  for i in $(seq 1 $((seconds * 5))); do
    [[ "$("${admin[@]}" osd dump 2>/dev/null)" == *$'\n'"osd.$id $want "* ]] && return 0
    if [ "$want" = up ] && ! running "$(pid_of "osd.$id")"; then
      tail -n 15 "$dir/log/osd.$id.log" >&2 2>/dev/null || true
      fail "osd.$id exited while starting (log: $dir/log/osd.$id.log)"
    fi
    sleep 0.2
  done
  fail "the monitor does not report osd.$id $want after $seconds s"
}

case "$cmd" in
  stop) stop_all; echo "ceph-dev stopped $dir"; exit 0 ;;
  status)
    [ -f "$dir/pids" ] || fail "no cluster recorded in $dir"
    all=0
    while read -r name pid; do
      if running "$pid"; then echo "$name pid=$pid running"; else echo "$name pid=$pid gone"; all=1; fi
    done <"$dir/pids"
    exit $all ;;
  user)
    running "$(pid_of mon.a)" || fail "no running cluster in $dir"
    keyring=$dir/client.$user.keyring
    (umask 077; "${admin[@]}" auth get-or-create "client.$user" "${caps[@]}" -o "$keyring" 2>"$dir/log/user.err") \
      || fail "could not create client.$user: $(tail -n 3 "$dir/log/user.err")"
    chmod 600 "$keyring"
    echo "$keyring"
    exit 0 ;;
  stop-osd)
    pid=$(pid_of "osd.$osd")
    [ -n "$pid" ] || fail "no osd.$osd recorded in $dir/pids"
    running "$pid" || fail "osd.$osd (pid $pid) is not running"
    stop_daemons "osd.$osd"
    wait_osd_state "$osd" 30 down
    echo "ceph-dev osd.$osd stopped"
    exit 0 ;;
  start-osd)
    pid=$(pid_of "osd.$osd")
    [ -n "$pid" ] || fail "no osd.$osd recorded in $dir/pids"
    running "$pid" && fail "osd.$osd (pid $pid) is already running"
    running "$(pid_of mon.a)" || fail "the monitor of $dir is not running"
    detach "osd.$osd" ceph-osd -c "$conf" -i "$osd" -f
    wait_osd_state "$osd" 60 up
    echo "ceph-dev osd.$osd up"
    exit 0 ;;
  start) ;;
  *) usage ;;
esac

# --- start ---

[ -f "$dir/pids" ] && fail "$dir already has a cluster (stop it first)"

# No ceph-mgr: nothing here starts a manager (librados I/O and pool creation
# need none), and Debian's ceph-mon and ceph-osd do not depend on it.
packages=(ceph-mon ceph-osd librados-dev)
missing=()
for p in "${packages[@]}"; do
  [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == "install ok installed" ]] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
    >"$dir/apt.log" 2>&1 || { tail -n 20 "$dir/apt.log" >&2; fail "could not install ${missing[*]} (see $dir/apt.log)"; }
fi

current=""   # the step under way, for the log tail on failure
tail_log() { [ -f "$1" ] && [ -s "$1" ] && { echo "--- tail of $1 ---" >&2; tail -n "$2" "$1" >&2; }; return 0; }
on_error() {
  local rc=$? name pid dead=""
  if [ -f "$dir/pids" ]; then
    while read -r name pid; do running "$pid" || dead="$dead $name"; done <"$dir/pids"
  fi
  echo "ceph-dev: start failed in $dir${current:+ at $current}${dead:+; exited:$dead}" >&2
  for name in $dead; do tail_log "$dir/log/$name.out" 10; tail_log "$dir/log/$name.log" 15; done
  [ -z "$dead" ] && [ -n "$current" ] && tail_log "$dir/log/$current.log" 15
  tail_log "$dir/log/commands.log" 8
  stop_all || true
  exit "$rc"
}
trap on_error ERR

# A port pair nothing listens on (v2, v1), from /proc/net/tcp{,6}; random start so parallel starts rarely collide.
port_listening() {
  local hex; hex=$(printf '%04X' "$1")
  awk -v p=":$hex" 'NR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
# Below the kernel's ephemeral range (ip_local_port_range, 32768 here): a port
# in it can be taken by any outgoing connection between this check and the
# monitor's bind (seen: "unable to bind monitor ... Address already in use").
free_port() {
  local port low=32768 span
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  span=$(( low > 21000 ? low - 1 - 20000 : 20000 ))
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % span))
    port_listening "$port" || port_listening $((port + 1)) || { echo "$port"; return 0; }
  done
  return 1
}

rm -rf "$dir/mon" "$dir/osd" "$dir/run" "$dir/log" "$dir/crash" "$dir/monmap"  # a DIR may be reused after stop
mkdir -p "$dir/mon" "$dir/osd" "$dir/run" "$dir/log" "$dir/crash"
fsid=$(cat /proc/sys/kernel/random/uuid)
port=$(free_port) || fail "no free port for the monitor"
size=$(( osds < 3 ? osds : 3 ))
# Read leases (issue 14): a PG's primary serves reads under a lease
# (osd_pool_default_read_lease_ratio x osd_heartbeat_grace = 16 s), renewed
# every 8 s and acknowledged by the replicas, so that no new primary serves
# reads while a cut-off old one still might. Ceph 16.2 wedges a PG whose acting
# set is one OSD when that OSD is paused past the lease (SIGSTOP, a VM or
# container pause, a long stall): an op that reaches the PG before the first
# renewal after the pause marks it laggy, and it stays laggy, every op to it
# parked without an error for every client, until the PG re-peers (e.g. the
# OSD restarts). With a single OSD no other OSD can ever take over, so the
# lease guards nothing: it is made a day long, longer than any pause.
lease=""
if [ "$osds" -eq 1 ]; then lease="osd pool default read lease ratio = 4320"; fi

cat >"$conf" <<EOF
# Written by scripts/ceph-dev.sh: a throwaway development cluster.
[global]
fsid = $fsid
mon host = [v2:$host:$port,v1:$host:$((port + 1))]
mon initial members = a
public addr = $host
cluster addr = $host
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $dir/\$name.keyring
run dir = $dir/run
crash dir = $dir/crash
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
mon cluster log file = $dir/log/cluster.log
osd pool default size = $size
osd pool default min size = 1
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
auth allow insecure global id reclaim = false
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
paxos propose interval = 0.05
paxos min wait = 0.01
[mon]
mon data = $dir/mon/\$id
keyring = $dir/mon/\$id/keyring
[mgr]
mgr data = $dir/mgr/\$id
[osd]
osd data = $dir/osd/\$id
osd journal = $dir/osd/\$id/journal
keyring = $dir/osd/\$id/keyring
osd objectstore = $store
memstore device bytes = 1073741824
bluestore block create = true
bluestore block size = 2147483648
bluestore fsck on mount = false
$lease
EOF

# Keys: the admin, every OSD and client.atrest go into the monitor's initial
# keyring, so `ceph-mon --mkfs` creates their auth entries (no `auth add` round trips).
log=$dir/log/commands.log
: >"$log"
current=keys
ceph-authtool --create-keyring "$dir/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >>"$log"
ceph-authtool --create-keyring "$dir/client.admin.keyring" --gen-key -n client.admin \
  --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >>"$log"
ceph-authtool --create-keyring "$dir/client.atrest.keyring" --gen-key -n client.atrest \
  --cap mon 'allow r' --cap osd "allow rw pool=$pool" >>"$log"
ceph-authtool "$dir/mon.keyring" --import-keyring "$dir/client.admin.keyring" >>"$log"
ceph-authtool "$dir/mon.keyring" --import-keyring "$dir/client.atrest.keyring" >>"$log"
uuids=()
for i in $(seq 0 $((osds - 1))); do
  uuids+=("$(cat /proc/sys/kernel/random/uuid)")
  mkdir -p "$dir/osd/$i"
  ceph-authtool --create-keyring "$dir/osd/$i/keyring" --gen-key -n "osd.$i" \
    --cap mon 'allow profile osd' --cap mgr 'allow profile osd' --cap osd 'allow *' >>"$log"
  ceph-authtool "$dir/mon.keyring" --import-keyring "$dir/osd/$i/keyring" >>"$log"
done
chmod 600 "$dir"/*.keyring "$dir"/osd/*/keyring

current=mon.a
monmaptool --create --fsid "$fsid" --addv a "[v2:$host:$port,v1:$host:$((port + 1))]" "$dir/monmap" >>"$log"
ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/mon.keyring" >>"$log" 2>&1
detach mon.a ceph-mon -c "$conf" -i a -f

# OSD file systems meanwhile (they need no monitor with --no-mon-config).
for i in $(seq 0 $((osds - 1))); do
  current=osd.$i
  ceph-osd -c "$conf" -i "$i" --mkfs --osd-uuid "${uuids[$i]}" --no-mon-config >>"$log" 2>&1
done

# One `ceph` process for every monitor command (its interactive mode reads
# them from stdin): the CLI's start-up is most of the cost of each call.
current=mon.a
{
  for i in $(seq 0 $((osds - 1))); do echo "osd new ${uuids[$i]} $i"; done
  echo "osd pool create $pool 8 8"
  echo "osd pool application enable $pool atrest"
  echo "osd dump"
} | "${admin[@]}" >"$dir/log/setup.out" 2>&1
cat "$dir/log/setup.out" >>"$log"
for i in $(seq 0 $((osds - 1))); do
  grep -q "^osd\.$i " "$dir/log/setup.out" || { echo "osd.$i not created" >>"$log"; false; }
done
grep -q "^pool [0-9]* '$pool' " "$dir/log/setup.out" || { echo "pool $pool not created" >>"$log"; false; }

for i in $(seq 0 $((osds - 1))); do
  detach "osd.$i" ceph-osd -c "$conf" -i "$i" -f
done

# Ready once client.atrest can write (PGs active); the probe object is removed.
current=osd.0
probe=(rados -c "$conf" -n client.atrest -k "$dir/client.atrest.keyring" -p "$pool" --rados-osd-op-timeout 60 --objecter-tick-interval 0.1)
echo ready >"$dir/run/probe"
"${probe[@]}" put ceph-dev-probe "$dir/run/probe" >>"$log" 2>&1 &
probe_pid=$!
while kill -0 "$probe_pid" 2>/dev/null; do   # a daemon that dies fails the start now, not at the probe's timeout
  while read -r name pid; do
    running "$pid" || { kill -KILL "$probe_pid" 2>/dev/null; wait "$probe_pid" || true; current=$name; false; }
  done <"$dir/pids"
  sleep 0.05
done
wait "$probe_pid"
"${probe[@]}" rm ceph-dev-probe >>"$log" 2>&1
trap - ERR
echo "ceph-dev ready conf=$conf user=client.atrest pool=$pool"
